//! The crate's one error type.

use std::path::PathBuf;

use crate::KeyVersion;

/// Everything that can go wrong in the vault.
///
/// Messages name sizes, versions and paths, never plaintext or key bytes, so they are safe to log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The input is shorter than the smallest well-formed value of its kind.
    #[error("{what} truncated: need at least {needed} bytes, got {actual}")]
    Truncated {
        /// What was being decoded ("envelope", "wrapped key").
        what: &'static str,
        /// Smallest acceptable length.
        needed: usize,
        /// Length received.
        actual: usize,
    },

    /// The input is longer than any value this crate produces.
    #[error("{what} oversized: at most {max} bytes allowed, got {actual}")]
    Oversized {
        /// What was being decoded or sealed ("envelope", "plaintext", "wrapped key").
        what: &'static str,
        /// Largest acceptable length.
        max: usize,
        /// Length received.
        actual: usize,
    },

    /// The leading format byte is not one this build understands.
    #[error("{what} has unknown format version {version}")]
    UnknownFormatVersion {
        /// What was being decoded.
        what: &'static str,
        /// The format byte found.
        version: u8,
    },

    /// No key with the version named in the envelope is available.
    #[error("no key available for key version {0}")]
    UnknownKeyVersion(KeyVersion),

    /// The caller supplied a key whose version differs from the one the value was sealed under.
    #[error("value was sealed under key version {sealed}, but key version {supplied} was supplied")]
    KeyVersionMismatch {
        /// Version recorded in the envelope or wrapped key.
        sealed: KeyVersion,
        /// Version of the key the caller passed in.
        supplied: KeyVersion,
    },

    /// A keyring already holds a key with this version.
    #[error("key version {0} is already in the keyring")]
    DuplicateKeyVersion(KeyVersion),

    /// The AEAD tag did not verify: wrong key, wrong context (table, column, row, mission, version) or tampering.
    #[error("authentication failed: wrong key, wrong context, or tampered ciphertext")]
    AuthenticationFailed,

    /// The random source could not produce bytes.
    #[error("random source failed")]
    Randomness(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// A key file exists but group or other users have some access to it.
    #[error("key file {path} is accessible to group or others (mode {mode:03o}); run `chmod 600 {path}`", path = .path.display())]
    KeyFilePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// A key file exists but does not hold exactly one key.
    #[error("key file {path} is {actual} bytes long, expected exactly {expected}", path = .path.display())]
    KeyFileSize {
        /// The key file.
        path: PathBuf,
        /// Required size.
        expected: u64,
        /// Size found.
        actual: u64,
    },

    /// The key file path names something other than a regular file.
    #[error("key file {path} is not a regular file", path = .path.display())]
    KeyFileNotRegular {
        /// The path.
        path: PathBuf,
    },

    /// Reading, creating or syncing a key file failed.
    #[error("key file {path}: input/output failed", path = .path.display())]
    KeyFileIo {
        /// The key file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}
