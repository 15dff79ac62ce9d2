//! C2SP tlog-checkpoint (<https://c2sp.org/tlog-checkpoint>) signed with Ed25519 in a C2SP signed
//! note, and the key text formats of `golang.org/x/mod/sumdb/note`.

use std::fmt::{self, Write as _};
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::note::{self, ALG_ED25519, is_valid_key_name, key_hash};
use crate::{AuditError, Hash};

/// A tree head: which log, how many leaves, and the root over them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
}

impl Checkpoint {
    /// A checkpoint for the log named `origin`; the origin must be non-empty and free of control
    /// characters (newline included), since it is a line of the note.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Result<Self, AuditError> {
        let origin = origin.into();
        if origin.is_empty() || origin.bytes().any(|b| b < 0x20) {
            return Err(AuditError::InvalidOrigin);
        }
        Ok(Self { origin, size, root })
    }

    /// The log's name.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RFC 6962 root of the first [`size`](Self::size) leaves.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The note text: origin, size and base64 root, each followed by a newline.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, self.root.to_base64())
    }

    /// Parses note text. Extension lines are accepted, as the spec allows, and dropped: Legion
    /// writes none and gives no meaning to others'.
    fn parse_body(text: &str) -> Result<Self, AuditError> {
        let missing = |missing| AuditError::MissingCheckpointLine { missing };
        let mut lines = text.strip_suffix('\n').ok_or(missing("origin"))?.split('\n');
        let origin = lines.next().ok_or(missing("origin"))?;
        let size = parse_tree_size(lines.next().ok_or(missing("tree size"))?)?;
        let root =
            Hash::from_base64(lines.next().ok_or(missing("root hash"))?).map_err(|_| AuditError::MalformedRootHash)?;
        if lines.any(str::is_empty) {
            return Err(AuditError::EmptyCheckpointLine);
        }
        Self::new(origin, size, root)
    }
}

/// Decimal digits only: no sign, no spaces, and no leading zero unless the size is 0.
fn parse_tree_size(line: &str) -> Result<u64, AuditError> {
    let canonical =
        !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) && (line.len() == 1 || !line.starts_with('0'));
    if !canonical {
        return Err(AuditError::MalformedTreeSize);
    }
    line.parse().map_err(|_| AuditError::MalformedTreeSize)
}

/// Signs checkpoints with an Ed25519 key used for nothing else.
///
/// The key is wiped from memory when the signer is dropped, and `Debug` shows only its name and
/// key hash.
pub struct CheckpointSigner {
    key_name: String,
    key_hash: u32,
    key: SigningKey,
}

impl CheckpointSigner {
    /// A signer for the key derived from a 32-byte Ed25519 seed, signing under `key_name`.
    ///
    /// The C2SP spec recommends that the key name be the log's origin.
    pub fn from_seed(key_name: &str, seed: &[u8; 32]) -> Result<Self, AuditError> {
        if !is_valid_key_name(key_name) {
            return Err(AuditError::InvalidKeyName);
        }
        let key = SigningKey::from_bytes(seed);
        let key_hash = key_hash(key_name, &typed_public_key(&key.verifying_key()));
        Ok(Self { key_name: key_name.to_owned(), key_hash, key })
    }

    /// Parses signer key text `PRIVATE+KEY+<name>+<8 hex key hash>+<base64(0x01 ‖ seed)>`, the
    /// form `note.GenerateKey` writes.
    pub fn from_signer_key(text: &str) -> Result<Self, AuditError> {
        let malformed = AuditError::MalformedSignerKey;
        let (private, rest) = text.split_once('+').ok_or(malformed.clone())?;
        let (key_word, rest) = rest.split_once('+').ok_or(malformed.clone())?;
        let (key_name, rest) = rest.split_once('+').ok_or(malformed.clone())?;
        let (hash_hex, encoded) = rest.split_once('+').ok_or(malformed.clone())?;
        if private != "PRIVATE" || key_word != "KEY" || !is_valid_key_name(key_name) {
            return Err(malformed);
        }
        let claimed_hash = parse_key_hash(hash_hex).ok_or(malformed.clone())?;
        // Decoded into a fixed buffer so no reallocation leaves a copy of the seed behind.
        let mut decoded = Zeroizing::new([0u8; 64]);
        let len = STANDARD.decode_slice(encoded, decoded.as_mut_slice()).map_err(|_| malformed.clone())?;
        match decoded[..len] {
            [ALG_ED25519, ..] if len == 33 => {}
            [alg, ..] if alg != ALG_ED25519 => return Err(AuditError::UnsupportedKeyAlgorithm(alg)),
            _ => return Err(malformed),
        }
        let seed: &[u8; 32] = decoded[1..33].try_into().expect("33 bytes decoded");
        let signer = Self::from_seed(key_name, seed)?;
        if signer.key_hash != claimed_hash {
            return Err(AuditError::KeyHashMismatch);
        }
        Ok(signer)
    }

    /// The signer key text, for storing the key where it is kept; handle it as the secret it is.
    pub fn signer_key(&self) -> Zeroizing<String> {
        let mut typed = Zeroizing::new([0u8; 33]);
        typed[0] = ALG_ED25519;
        typed[1..].copy_from_slice(self.key.as_bytes());
        let encoded = Zeroizing::new(STANDARD.encode(typed.as_slice()));
        // Sized up front so the string never reallocates and leaves a copy of the key behind.
        let mut text = Zeroizing::new(String::with_capacity(self.key_name.len() + 22 + encoded.len()));
        write!(text, "PRIVATE+KEY+{}+{:08x}+{}", self.key_name, self.key_hash, encoded.as_str())
            .expect("writing to a String");
        text
    }

    /// The verifier for this signer's public key.
    pub fn verifier(&self) -> CheckpointVerifier {
        CheckpointVerifier { key_name: self.key_name.clone(), key_hash: self.key_hash, key: self.key.verifying_key() }
    }

    /// The name signatures are made under.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The C2SP key ID of the public key.
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// The signed note for `checkpoint`: its body, a blank line and one signature line.
    pub fn sign(&self, checkpoint: &Checkpoint) -> String {
        self.sign_text(&checkpoint.body())
    }

    /// Signs arbitrary note text; kept private so the key signs checkpoints only.
    fn sign_text(&self, text: &str) -> String {
        debug_assert!(text.ends_with('\n'));
        let signature = self.key.sign(text.as_bytes());
        format!("{text}\n{}", note::signature_line(&self.key_name, self.key_hash, &signature.to_bytes()))
    }
}

impl fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckpointSigner")
            .field("key_name", &self.key_name)
            .field("key_hash", &format_args!("{:08x}", self.key_hash))
            .finish_non_exhaustive()
    }
}

impl FromStr for CheckpointSigner {
    type Err = AuditError;

    fn from_str(text: &str) -> Result<Self, AuditError> {
        Self::from_signer_key(text)
    }
}

/// Verifies checkpoints signed by one trusted Ed25519 key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointVerifier {
    key_name: String,
    key_hash: u32,
    key: VerifyingKey,
}

impl CheckpointVerifier {
    /// Parses verifier key text `<name>+<8 hex key hash>+<base64(0x01 ‖ public key)>`, the form
    /// `note.NewVerifier` reads. Small-order public keys are refused.
    pub fn from_verifier_key(text: &str) -> Result<Self, AuditError> {
        let malformed = AuditError::MalformedVerifierKey;
        let (key_name, rest) = text.split_once('+').ok_or(malformed.clone())?;
        let (hash_hex, encoded) = rest.split_once('+').ok_or(malformed.clone())?;
        if !is_valid_key_name(key_name) {
            return Err(malformed);
        }
        let claimed_hash = parse_key_hash(hash_hex).ok_or(malformed.clone())?;
        let typed = STANDARD.decode(encoded).map_err(|_| malformed.clone())?;
        let Some((&alg, key)) = typed.split_first() else {
            return Err(malformed);
        };
        // Go checks the hash before the algorithm; keeping its order keeps its error for each input.
        if key_hash(key_name, &typed) != claimed_hash {
            return Err(AuditError::KeyHashMismatch);
        }
        if alg != ALG_ED25519 {
            return Err(AuditError::UnsupportedKeyAlgorithm(alg));
        }
        let bytes: &[u8; 32] = key.try_into().map_err(|_| malformed)?;
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| AuditError::InvalidPublicKey)?;
        if key.is_weak() {
            return Err(AuditError::InvalidPublicKey);
        }
        Ok(Self { key_name: key_name.to_owned(), key_hash: claimed_hash, key })
    }

    /// The verifier key text.
    pub fn verifier_key(&self) -> String {
        format!("{}+{:08x}+{}", self.key_name, self.key_hash, STANDARD.encode(typed_public_key(&self.key)))
    }

    /// The name the trusted key signs under.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The C2SP key ID of the trusted key.
    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// Opens a signed checkpoint from the log named `origin`.
    ///
    /// Succeeds only if the note is well formed, every signature line by the trusted key (same
    /// name and key hash) verifies under Ed25519's strict rules, there is at least one such line,
    /// and the checkpoint names `origin`. Signature lines of other keys, such as witnesses', are
    /// ignored as the signed-note spec requires. Freshness is not judged here: an old checkpoint
    /// verifies as long as it was signed.
    pub fn verify(&self, note: &[u8], origin: &str) -> Result<Checkpoint, AuditError> {
        let envelope = note::parse(note)?;
        let checkpoint = Checkpoint::parse_body(envelope.text)?;
        self.check_signatures(&envelope)?;
        if checkpoint.origin != origin {
            return Err(AuditError::OriginMismatch { expected: origin.to_owned(), found: checkpoint.origin });
        }
        Ok(checkpoint)
    }

    /// Requires at least one signature line by the trusted key and that every such line verifies.
    fn check_signatures(&self, envelope: &note::Envelope<'_>) -> Result<(), AuditError> {
        let mut trusted = false;
        for line in &envelope.signatures {
            if line.key_name != self.key_name || line.key_hash != self.key_hash {
                continue;
            }
            let invalid = || AuditError::InvalidSignature { key_name: self.key_name.clone() };
            let bytes: &[u8; 64] = line.signature.as_slice().try_into().map_err(|_| invalid())?;
            self.key.verify_strict(envelope.text.as_bytes(), &Signature::from_bytes(bytes)).map_err(|_| invalid())?;
            trusted = true;
        }
        if trusted { Ok(()) } else { Err(AuditError::NoTrustedSignature { key_name: self.key_name.clone() }) }
    }
}

impl fmt::Display for CheckpointVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.verifier_key())
    }
}

impl FromStr for CheckpointVerifier {
    type Err = AuditError;

    fn from_str(text: &str) -> Result<Self, AuditError> {
        Self::from_verifier_key(text)
    }
}

fn typed_public_key(key: &VerifyingKey) -> [u8; 33] {
    let mut typed = [0u8; 33];
    typed[0] = ALG_ED25519;
    typed[1..].copy_from_slice(key.as_bytes());
    typed
}

/// Exactly eight hex digits, as Go's `len(hash16) == 8 && ParseUint(hash16, 16, 32)` accepts.
fn parse_key_hash(text: &str) -> Option<u32> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests {
    use sha2::{Digest as _, Sha256};

    use super::*;
    use crate::{EMPTY_ROOT, MAX_NOTE_LEN, leaf_hash};

    const ORIGIN: &str = "legion.example/audit";

    // Keys, text and signature from golang.org/x/mod sumdb/note/note_test.go (TestNewSigner,
    // TestSign, TestOpen).
    const GO_SIGNER_KEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VERIFIER_KEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_TEXT: &str =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const GO_PETER_SIG: &str =
        "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const GO_ENOCH_SIG: &str =
        "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";
    const GO_ENOCH_VERIFIER_KEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";

    fn signer(seed: u8) -> CheckpointSigner {
        CheckpointSigner::from_seed(ORIGIN, &[seed; 32]).unwrap()
    }

    fn checkpoint(size: u64) -> Checkpoint {
        Checkpoint::new(ORIGIN, size, leaf_hash(&size.to_be_bytes())).unwrap()
    }

    #[test]
    fn sign_then_verify() {
        let signer = signer(1);
        for cp in [checkpoint(0), checkpoint(1), checkpoint(u64::MAX), Checkpoint::new(ORIGIN, 0, EMPTY_ROOT).unwrap()]
        {
            let note = signer.sign(&cp);
            assert!(note.starts_with(&cp.body()));
            assert_eq!(signer.verifier().verify(note.as_bytes(), ORIGIN), Ok(cp));
        }
    }

    #[test]
    fn note_has_the_c2sp_layout() {
        let signer = signer(1);
        let root = Hash([0x0a; 32]);
        let note = signer.sign(&Checkpoint::new(ORIGIN, 20_852_163, root).unwrap());
        let (text, signature) = note.split_once("\n\n").unwrap();
        assert_eq!(text, format!("{ORIGIN}\n20852163\n{}", STANDARD.encode([0x0a; 32])));
        let encoded = signature.strip_prefix(&format!("\u{2014} {ORIGIN} ")).unwrap().strip_suffix('\n').unwrap();
        let blob = STANDARD.decode(encoded).unwrap();
        assert_eq!(blob.len(), 68);
        assert_eq!(blob[..4], signer.key_hash().to_be_bytes());
        let signature = Signature::from_bytes(blob[4..].try_into().unwrap());
        assert!(signer.key.verifying_key().verify_strict(format!("{text}\n").as_bytes(), &signature).is_ok());
    }

    #[test]
    fn key_text_follows_the_go_note_rules() {
        let seed = [0x42u8; 32];
        let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        let mut hashed = Vec::from(format!("{ORIGIN}\n").as_bytes());
        hashed.push(0x01);
        hashed.extend_from_slice(&public);
        let hash = hex::encode(&Sha256::digest(&hashed)[..4]);
        let typed_public = [&[0x01][..], &public].concat();
        let typed_seed = [&[0x01][..], &seed].concat();
        let verifier_key = format!("{ORIGIN}+{hash}+{}", STANDARD.encode(typed_public));
        let signer_key = format!("PRIVATE+KEY+{ORIGIN}+{hash}+{}", STANDARD.encode(typed_seed));

        let signer = CheckpointSigner::from_seed(ORIGIN, &seed).unwrap();
        assert_eq!(signer.verifier().verifier_key(), verifier_key);
        assert_eq!(signer.signer_key().as_str(), signer_key);
        assert_eq!(format!("{:08x}", signer.key_hash()), hash);
        let parsed = CheckpointVerifier::from_verifier_key(&verifier_key).unwrap();
        assert_eq!(parsed, signer.verifier());
        assert_eq!(parsed.to_string(), verifier_key);
        assert_eq!(CheckpointSigner::from_signer_key(&signer_key).unwrap().verifier(), parsed);
    }

    #[test]
    fn go_keys_and_signature_are_reproduced() {
        let signer: CheckpointSigner = GO_SIGNER_KEY.parse().unwrap();
        assert_eq!(signer.key_name(), "PeterNeumann");
        assert_eq!(signer.key_hash(), 0xc74f_20a3);
        assert_eq!(signer.signer_key().as_str(), GO_SIGNER_KEY);
        assert_eq!(signer.verifier().verifier_key(), GO_VERIFIER_KEY);
        assert_eq!(GO_VERIFIER_KEY.parse::<CheckpointVerifier>().unwrap(), signer.verifier());
        // Ed25519 is deterministic, so the same key and text must give Go's exact bytes.
        assert_eq!(signer.sign_text(GO_TEXT), format!("{GO_TEXT}\n{GO_PETER_SIG}"));
    }

    #[test]
    fn go_note_signatures_check_and_unknown_keys_are_ignored() {
        let peter = CheckpointVerifier::from_verifier_key(GO_VERIFIER_KEY).unwrap();
        let enoch = CheckpointVerifier::from_verifier_key(GO_ENOCH_VERIFIER_KEY).unwrap();
        let note = format!("{GO_TEXT}\n{GO_PETER_SIG}{GO_ENOCH_SIG}");
        let envelope = note::parse(note.as_bytes()).unwrap();
        assert_eq!(envelope.text, GO_TEXT);
        assert_eq!(peter.check_signatures(&envelope), Ok(()));
        assert_eq!(enoch.check_signatures(&envelope), Ok(()));
        let only_enoch = format!("{GO_TEXT}\n{GO_ENOCH_SIG}");
        assert_eq!(
            peter.check_signatures(&note::parse(only_enoch.as_bytes()).unwrap()),
            Err(AuditError::NoTrustedSignature { key_name: "PeterNeumann".into() })
        );
        // Go's "invalid signature" case: four characters spliced into the signature.
        let spliced = format!("{GO_TEXT}\n{}ABCD{}", &GO_PETER_SIG[..60], &GO_PETER_SIG[60..]);
        assert_eq!(
            peter.check_signatures(&note::parse(spliced.as_bytes()).unwrap()),
            Err(AuditError::InvalidSignature { key_name: "PeterNeumann".into() })
        );
        // The Go text is not a checkpoint, so the full check refuses it after the envelope.
        assert_eq!(peter.verify(note.as_bytes(), "x"), Err(AuditError::MalformedTreeSize));
    }

    #[test]
    fn checkpoint_matches_an_independent_implementation() {
        // Built outside this crate from the spec rules with Python's `cryptography` (OpenSSL
        // Ed25519): seed 32 × 0x07, key name = origin, size 5, root = leaf hash of the empty entry.
        let expected = "legion.example/audit\n5\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\n\n\
            \u{2014} legion.example/audit AXqA3+BOnU/kwCNrx/8GC8xT86hHJSg47x9LEvKUYauoDC5Bo5MiIDxqI1asEHVBg8bWLHlhI0A0ZtQyxITBDiSSug4=\n";
        let signer = signer(7);
        let cp = Checkpoint::new(ORIGIN, 5, leaf_hash(b"")).unwrap();
        assert_eq!(signer.sign(&cp), expected);
        assert_eq!(signer.verifier().verify(expected.as_bytes(), ORIGIN), Ok(cp));
    }

    #[test]
    fn go_verifier_key_manglings_are_refused() {
        let bytes = GO_VERIFIER_KEY.as_bytes();
        for i in 0..=bytes.len() {
            for j in i + 1..=bytes.len() {
                if (i, j) != (0, bytes.len()) {
                    let part = std::str::from_utf8(&bytes[i..j]).unwrap();
                    assert!(CheckpointVerifier::from_verifier_key(part).is_err(), "{part}");
                }
            }
        }
        for i in 0..bytes.len() {
            let mut changed = bytes.to_vec();
            changed[i] += 1;
            let changed = String::from_utf8(changed).unwrap();
            assert!(CheckpointVerifier::from_verifier_key(&changed).is_err(), "{changed}");
        }
        // Go's wrong-length key and unknown algorithm, each with its key hash adjusted to match.
        assert_eq!(
            CheckpointVerifier::from_verifier_key(
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            ),
            Err(AuditError::MalformedVerifierKey)
        );
        assert_eq!(
            CheckpointVerifier::from_verifier_key("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
            Err(AuditError::UnsupportedKeyAlgorithm(0x65))
        );
        assert_eq!(
            CheckpointVerifier::from_verifier_key("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
            Err(AuditError::KeyHashMismatch)
        );
    }

    #[test]
    fn go_signer_key_manglings_are_refused() {
        let bytes = GO_SIGNER_KEY.as_bytes();
        for i in 0..=bytes.len() {
            for j in i + 1..=bytes.len() {
                if (i, j) != (0, bytes.len()) {
                    let part = std::str::from_utf8(&bytes[i..j]).unwrap();
                    assert!(CheckpointSigner::from_signer_key(part).is_err(), "{part}");
                }
            }
        }
        for i in 0..bytes.len() {
            let mut changed = bytes.to_vec();
            changed[i] += 1;
            let changed = String::from_utf8(changed).unwrap();
            assert!(CheckpointSigner::from_signer_key(&changed).is_err(), "{changed}");
        }
    }

    #[test]
    fn weak_and_invalid_public_keys_are_refused() {
        // The identity point (y = 1) has small order; its key text is otherwise well formed.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let typed = [&[0x01][..], &identity].concat();
        let text = format!("weak+{:08x}+{}", key_hash("weak", &typed), STANDARD.encode(&typed));
        assert_eq!(CheckpointVerifier::from_verifier_key(&text), Err(AuditError::InvalidPublicKey));
    }

    #[test]
    fn signer_debug_hides_the_seed() {
        let seed = [0x5au8; 32];
        let signer = CheckpointSigner::from_seed(ORIGIN, &seed).unwrap();
        let debug = format!("{signer:?}");
        assert!(debug.contains(ORIGIN) && debug.contains(&format!("{:08x}", signer.key_hash())), "{debug}");
        for secret in [hex::encode(seed), STANDARD.encode(seed), STANDARD.encode([&[1][..], &seed].concat())] {
            assert!(!debug.contains(&secret[..16]), "{debug}");
        }
        assert!(!debug.contains("90, 90, 90"), "{debug}");
    }

    #[test]
    fn invalid_names_and_origins_are_refused() {
        for name in ["", "a b", "a+b"] {
            assert_eq!(CheckpointSigner::from_seed(name, &[1; 32]).unwrap_err(), AuditError::InvalidKeyName);
        }
        for origin in ["", "a\nb", "a\tb", "a\rb"] {
            assert_eq!(Checkpoint::new(origin, 1, EMPTY_ROOT), Err(AuditError::InvalidOrigin));
        }
        assert!(Checkpoint::new("an origin with spaces+plus", 1, EMPTY_ROOT).is_ok());
    }

    #[test]
    fn every_changed_byte_is_caught() {
        let signer = signer(3);
        let verifier = signer.verifier();
        let note = signer.sign(&checkpoint(1234));
        for i in 0..note.len() {
            for delta in [0x01, 0x20, 0x80] {
                let mut changed = note.clone().into_bytes();
                changed[i] ^= delta;
                assert!(verifier.verify(&changed, ORIGIN).is_err(), "byte {i} ^ {delta:#x}");
            }
        }
        for cut in 0..note.len() {
            assert!(verifier.verify(&note.as_bytes()[..cut], ORIGIN).is_err(), "truncated at {cut}");
        }
    }

    #[test]
    fn wrong_origin_and_wrong_key_are_refused() {
        let signer = signer(3);
        let note = signer.sign(&checkpoint(5));
        assert_eq!(
            signer.verifier().verify(note.as_bytes(), "legion.example/other"),
            Err(AuditError::OriginMismatch { expected: "legion.example/other".into(), found: ORIGIN.into() })
        );
        assert_eq!(
            self::signer(4).verifier().verify(note.as_bytes(), ORIGIN),
            Err(AuditError::NoTrustedSignature { key_name: ORIGIN.into() })
        );
        // Same name and key hash as the trusted key but another public key: the forged hash gets
        // the line examined, and the signature then fails.
        let impostor = self::signer(4);
        let line = note::signature_line(
            ORIGIN,
            signer.key_hash(),
            &impostor.key.sign(checkpoint(5).body().as_bytes()).to_bytes(),
        );
        let note = format!("{}\n{line}", checkpoint(5).body());
        assert_eq!(
            signer.verifier().verify(note.as_bytes(), ORIGIN),
            Err(AuditError::InvalidSignature { key_name: ORIGIN.into() })
        );
    }

    #[test]
    fn stale_checkpoints_still_verify() {
        let signer = signer(3);
        let old = signer.sign(&checkpoint(10));
        let new = signer.sign(&checkpoint(20));
        assert_eq!(signer.verifier().verify(new.as_bytes(), ORIGIN), Ok(checkpoint(20)));
        assert_eq!(signer.verifier().verify(old.as_bytes(), ORIGIN), Ok(checkpoint(10)));
    }

    #[test]
    fn cosignatures_by_other_keys_are_ignored() {
        let (log, witness) = (signer(3), CheckpointSigner::from_seed("witness.example", &[9; 32]).unwrap());
        let cp = checkpoint(7);
        let log_line = log.sign(&cp).split_once("\n\n").unwrap().1.to_owned();
        let witness_line = witness.sign(&cp).split_once("\n\n").unwrap().1.to_owned();
        // A line whose name matches but whose key hash does not is another key's, whatever it holds.
        let other_hash = note::signature_line(ORIGIN, log.key_hash() ^ 1, &[0; 64]);
        for lines in [
            format!("{log_line}{witness_line}"),
            format!("{witness_line}{log_line}"),
            format!("{other_hash}{log_line}"),
            format!("{log_line}{log_line}"),
        ] {
            let note = format!("{}\n{lines}", cp.body());
            assert_eq!(log.verifier().verify(note.as_bytes(), ORIGIN), Ok(cp.clone()), "{note}");
        }
        let note = format!("{}\n{witness_line}{log_line}", cp.body());
        assert_eq!(witness.verifier().verify(note.as_bytes(), ORIGIN), Ok(cp.clone()));
        let note = format!("{}\n{witness_line}{other_hash}", cp.body());
        assert_eq!(
            log.verifier().verify(note.as_bytes(), ORIGIN),
            Err(AuditError::NoTrustedSignature { key_name: ORIGIN.into() })
        );
        // One bad line by the trusted key spoils the note even beside a good one.
        let bad = note::signature_line(ORIGIN, log.key_hash(), &[0; 64]);
        let short = note::signature_line(ORIGIN, log.key_hash(), &[0; 63]);
        for lines in [format!("{log_line}{bad}"), format!("{short}{log_line}")] {
            let note = format!("{}\n{lines}", cp.body());
            assert_eq!(
                log.verifier().verify(note.as_bytes(), ORIGIN),
                Err(AuditError::InvalidSignature { key_name: ORIGIN.into() })
            );
        }
    }

    #[test]
    fn non_canonical_signatures_are_refused() {
        // The group order. S + L satisfies the verification equation just as S does; only RFC 8032's
        // rule that S < L tells the malleated signature apart.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let signer = signer(3);
        let body = checkpoint(7).body();
        let mut signature = signer.key.sign(body.as_bytes()).to_bytes();
        let mut carry = 0u16;
        for (s, l) in signature[32..].iter_mut().zip(L) {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = sum.to_le_bytes()[0];
            carry = sum >> 8;
        }
        let note = format!("{body}\n{}", note::signature_line(ORIGIN, signer.key_hash(), &signature));
        assert_eq!(
            signer.verifier().verify(note.as_bytes(), ORIGIN),
            Err(AuditError::InvalidSignature { key_name: ORIGIN.into() })
        );
    }

    #[test]
    fn malformed_bodies_are_refused_even_when_signed() {
        let signer = signer(3);
        let root = STANDARD.encode([1u8; 32]);
        let cases: Vec<(String, AuditError)> = vec![
            (format!("\n5\n{root}\n"), AuditError::InvalidOrigin),
            (format!("{ORIGIN}\n"), AuditError::MissingCheckpointLine { missing: "tree size" }),
            (format!("{ORIGIN}\n5\n"), AuditError::MissingCheckpointLine { missing: "root hash" }),
            (format!("{ORIGIN}\n\n{root}\n"), AuditError::MalformedTreeSize),
            (format!("{ORIGIN}\n05\n{root}\n"), AuditError::MalformedTreeSize),
            (format!("{ORIGIN}\n00\n{root}\n"), AuditError::MalformedTreeSize),
            (format!("{ORIGIN}\n+5\n{root}\n"), AuditError::MalformedTreeSize),
            (format!("{ORIGIN}\n-5\n{root}\n"), AuditError::MalformedTreeSize),
            (format!("{ORIGIN}\n 5\n{root}\n"), AuditError::MalformedTreeSize),
            (format!("{ORIGIN}\n5 \n{root}\n"), AuditError::MalformedTreeSize),
            (format!("{ORIGIN}\n0x5\n{root}\n"), AuditError::MalformedTreeSize),
            (format!("{ORIGIN}\n５\n{root}\n"), AuditError::MalformedTreeSize),
            (format!("{ORIGIN}\n18446744073709551616\n{root}\n"), AuditError::MalformedTreeSize),
            (format!("{ORIGIN}\n99999999999999999999999\n{root}\n"), AuditError::MalformedTreeSize),
            (format!("{ORIGIN}\n5\n\n"), AuditError::MalformedRootHash),
            (format!("{ORIGIN}\n5\n{}\n", root.trim_end_matches('=')), AuditError::MalformedRootHash),
            (format!("{ORIGIN}\n5\n{}\n", STANDARD.encode([1u8; 31])), AuditError::MalformedRootHash),
            (format!("{ORIGIN}\n5\n{}\n", STANDARD.encode([1u8; 33])), AuditError::MalformedRootHash),
            (format!("{ORIGIN}\n5\n{}\n", hex::encode([1u8; 32])), AuditError::MalformedRootHash),
            (format!("{ORIGIN}\n5\n{}\n", root.replace('A', "-")), AuditError::MalformedRootHash),
            (format!("{ORIGIN}\n5\n{root}\n\nextension\n"), AuditError::EmptyCheckpointLine),
        ];
        for (text, want) in cases {
            let note = signer.sign_text(&text);
            assert_eq!(signer.verifier().verify(note.as_bytes(), ORIGIN), Err(want), "{text:?}");
        }
    }

    #[test]
    fn extension_lines_and_largest_size_are_accepted() {
        let signer = signer(3);
        let root = Hash([1; 32]);
        let text = format!("{ORIGIN}\n18446744073709551615\n{}\nextension one\nextension two\n", root.to_base64());
        let note = signer.sign_text(&text);
        assert_eq!(
            signer.verifier().verify(note.as_bytes(), ORIGIN),
            Ok(Checkpoint::new(ORIGIN, u64::MAX, root).unwrap())
        );
    }

    #[test]
    fn oversized_notes_are_refused_before_parsing() {
        let signer = signer(3);
        let mut note = signer.sign(&checkpoint(1)).into_bytes();
        note.resize(MAX_NOTE_LEN + 1, b'\n');
        assert_eq!(
            signer.verifier().verify(&note, ORIGIN),
            Err(AuditError::NoteTooLarge { len: MAX_NOTE_LEN + 1, max: MAX_NOTE_LEN })
        );
    }

    #[test]
    fn non_utf8_and_control_characters_are_refused() {
        let signer = signer(3);
        let note = signer.sign(&checkpoint(1));
        let mut bad = note.clone().into_bytes();
        bad.insert(0, 0xff);
        assert_eq!(signer.verifier().verify(&bad, ORIGIN), Err(AuditError::NoteNotUtf8));
        let crlf = note.replace('\n', "\r\n");
        assert_eq!(signer.verifier().verify(crlf.as_bytes(), ORIGIN), Err(AuditError::NoteControlCharacter));
    }
}
