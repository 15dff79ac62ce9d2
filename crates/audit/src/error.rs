//! The one error type of this crate.

use thiserror::Error;

/// Everything that can go wrong when building proofs or checking proofs, keys and checkpoints.
///
/// Messages name the failed check and carry only sizes, indices and key names, never note text, so
/// they are safe to log.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Text meant to hold a hash is not valid hex or base64, or does not decode to 32 bytes.
    #[error("malformed {encoding} hash: expected 32 bytes")]
    MalformedHash {
        /// `"hex"` or `"base64"`.
        encoding: &'static str,
    },

    /// A leaf index at or beyond the tree size.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The size of the tree it was asked of.
        size: u64,
    },

    /// A tree size larger than the tree holds.
    #[error("tree size {requested} exceeds the {available} leaves held")]
    SizeOutOfRange {
        /// The size asked for.
        requested: u64,
        /// The number of leaves actually held.
        available: u64,
    },

    /// A consistency check from a larger tree to a smaller one.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    SizesOutOfOrder {
        /// The size claimed for the older tree.
        old_size: u64,
        /// The size claimed for the newer tree.
        new_size: u64,
    },

    /// A proof with the wrong number of hashes for the sizes and index given.
    #[error("proof has {actual} hashes where {expected} are required")]
    WrongProofLength {
        /// The number the sizes and index call for.
        expected: usize,
        /// The number supplied.
        actual: usize,
    },

    /// An inclusion proof that does not lead from the leaf to the root.
    #[error("inclusion proof does not lead to the expected root")]
    RootMismatch,

    /// A consistency proof that does not reproduce the old root.
    #[error("consistency proof does not reproduce the old root")]
    OldRootMismatch,

    /// A consistency proof that does not reproduce the new root.
    #[error("consistency proof does not reproduce the new root")]
    NewRootMismatch,

    /// A note larger than [`MAX_NOTE_LEN`](crate::MAX_NOTE_LEN).
    #[error("note is {len} bytes, more than the {max} allowed")]
    NoteTooLarge {
        /// The note's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// A note that is not valid UTF-8.
    #[error("note is not valid UTF-8")]
    NoteNotUtf8,

    /// A note with an ASCII control character other than newline.
    #[error("note contains a control character other than newline")]
    NoteControlCharacter,

    /// A note without a blank line followed by newline-terminated signature lines.
    #[error("note has no blank line followed by signature lines")]
    MissingSignatureBlock,

    /// A signature line not of the form `— <key name> <base64>`.
    #[error("malformed signature line {line}")]
    MalformedSignatureLine {
        /// One-based position among the signature lines.
        line: usize,
    },

    /// More signature lines than [`MAX_SIGNATURES`](crate::MAX_SIGNATURES).
    #[error("note has more than {max} signature lines")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },

    /// A signature by the trusted key that does not verify.
    #[error("invalid signature by key {key_name}")]
    InvalidSignature {
        /// The trusted key's name.
        key_name: String,
    },

    /// A note with no signature by the trusted key.
    #[error("note has no signature by key {key_name}")]
    NoTrustedSignature {
        /// The trusted key's name.
        key_name: String,
    },

    /// A checkpoint body with fewer than three lines, or whose last line lacks its newline.
    #[error("checkpoint body lacks its {missing} line")]
    MissingCheckpointLine {
        /// `"origin"`, `"tree size"` or `"root hash"`.
        missing: &'static str,
    },

    /// An origin that is empty or contains a control character.
    #[error("checkpoint origin is empty or contains a control character")]
    InvalidOrigin,

    /// A tree size line that is not a canonical decimal `u64`.
    #[error("checkpoint tree size is not a decimal number without sign or leading zeros that fits in 64 bits")]
    MalformedTreeSize,

    /// A root hash line that is not the padded standard base64 of 32 bytes.
    #[error("checkpoint root hash is not the base64 of 32 bytes")]
    MalformedRootHash,

    /// An empty line inside a checkpoint body.
    #[error("checkpoint body contains an empty line")]
    EmptyCheckpointLine,

    /// A validly signed checkpoint from another log.
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    OriginMismatch {
        /// The origin the caller expects.
        expected: String,
        /// The origin the checkpoint names.
        found: String,
    },

    /// A key name that is empty or contains whitespace or `+`.
    #[error("key name is empty or contains whitespace or '+'")]
    InvalidKeyName,

    /// Verifier key text not of the form `<name>+<8 hex>+<base64>`.
    #[error("malformed verifier key")]
    MalformedVerifierKey,

    /// Signer key text not of the form `PRIVATE+KEY+<name>+<8 hex>+<base64>`.
    #[error("malformed signer key")]
    MalformedSignerKey,

    /// Key text whose key hash does not match its name and key.
    #[error("key hash does not match the key name and key")]
    KeyHashMismatch,

    /// Key text for a signature algorithm other than Ed25519.
    #[error("unsupported key algorithm {0:#04x}")]
    UnsupportedKeyAlgorithm(u8),

    /// An Ed25519 public key that is not a valid point or has small order.
    #[error("invalid Ed25519 public key")]
    InvalidPublicKey,
}
