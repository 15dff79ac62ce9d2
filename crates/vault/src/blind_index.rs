//! Blind indexes: keyed hashes that allow exact-match lookups on encrypted fields.

use std::fmt;
use std::hash::{Hash, Hasher};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::IndexKey;
use crate::aad::put_prefixed;

const INDEX_DOMAIN: &[u8] = b"legion-blind-index";

/// Length of a blind index in bytes.
pub const BLIND_INDEX_LEN: usize = 32;

/// The name of an indexed field, fixed at compile time; part of the hashed input for domain separation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndexField(&'static str);

impl IndexField {
    /// Names an indexed field, e.g. `IndexField::new("passport")`.
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// The name.
    pub fn name(&self) -> &'static str {
        self.0
    }
}

/// A blind index value. Equality is constant-time.
#[derive(Clone, Copy)]
pub struct BlindIndex([u8; BLIND_INDEX_LEN]);

impl BlindIndex {
    /// Wraps an index read back from storage.
    pub fn from_bytes(bytes: [u8; BLIND_INDEX_LEN]) -> Self {
        Self(bytes)
    }

    /// Parses the 64-character lower- or upper-case hex form.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; BLIND_INDEX_LEN];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Self(bytes))
    }

    /// The raw bytes, for a binary column.
    pub fn as_bytes(&self) -> &[u8; BLIND_INDEX_LEN] {
        &self.0
    }

    /// Lower-case hex, for a text column.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl PartialEq for BlindIndex {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(&self.0, &other.0)
    }
}

impl Eq for BlindIndex {}

impl Hash for BlindIndex {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindIndex({})", self.to_hex())
    }
}

/// Computes the blind index of an already normalised value.
///
/// `HMAC-SHA256(index key, "legion-blind-index" ‖ lp(field name) ‖ normalised value)`, where `lp` is a u32
/// big-endian length prefix. The field name separates domains, so the same string typed as a passport number
/// and as an e-mail address yields unrelated indexes and one column's index reveals nothing about another's.
///
/// # Normalisation is the caller's job
///
/// The index matches bytes exactly, so the caller must reduce every spelling of a value to one form before
/// hashing, and must never change that form without recomputing every stored index. Legion's forms:
///
/// - passport and document numbers: ASCII letters upper-cased, spaces and hyphens removed (`"ab 123-45"` →
///   `"AB12345"`);
/// - e-mail addresses: surrounding whitespace trimmed, the whole address lower-cased;
/// - names (if ever indexed): Unicode NFC, trimmed, inner whitespace collapsed to one space, lower-cased.
///
/// An index leaks equality (two rows with the same value have the same index) and, for values from a small
/// set, the value itself to anyone holding the index key; index only values with many possibilities.
///
/// ```
/// use legion_vault::{IndexField, IndexKey, blind_index};
/// const PASSPORT: IndexField = IndexField::new("passport");
/// let key = IndexKey::generate(&mut rand::rngs::OsRng)?;
/// let typed = "ab 123-45";
/// let normalised: String = typed.chars().filter(|c| !matches!(c, ' ' | '-')).map(|c| c.to_ascii_uppercase()).collect();
/// assert_eq!(blind_index(&key, PASSPORT, normalised.as_bytes()), blind_index(&key, PASSPORT, b"AB12345"));
/// # Ok::<(), legion_vault::VaultError>(())
/// ```
pub fn blind_index(key: &IndexKey, field: IndexField, normalised: &[u8]) -> BlindIndex {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.bytes()).expect("HMAC accepts keys of any length");
    let mut prefix = Vec::with_capacity(INDEX_DOMAIN.len() + 4 + field.0.len());
    prefix.extend_from_slice(INDEX_DOMAIN);
    put_prefixed(&mut prefix, field.0.as_bytes());
    mac.update(&prefix);
    mac.update(normalised);
    BlindIndex(mac.finalize().into_bytes().into())
}

/// Compares two byte strings in time that depends only on their lengths, not on where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    const PASSPORT: IndexField = IndexField::new("passport");
    const EMAIL: IndexField = IndexField::new("email");

    fn key(seed: u64) -> IndexKey {
        IndexKey::generate(&mut StdRng::seed_from_u64(seed)).unwrap()
    }

    #[test]
    fn deterministic_per_key_field_and_value() {
        let k = key(1);
        let a = blind_index(&k, PASSPORT, b"AB12345");
        assert_eq!(a, blind_index(&k, PASSPORT, b"AB12345"));
        assert_ne!(a, blind_index(&k, PASSPORT, b"AB12346"));
        assert_ne!(a, blind_index(&k, EMAIL, b"AB12345"));
        assert_ne!(a, blind_index(&key(2), PASSPORT, b"AB12345"));
    }

    #[test]
    fn field_and_value_boundary_is_unambiguous() {
        let k = key(1);
        let a = blind_index(&k, IndexField::new("ab"), b"c");
        let b = blind_index(&k, IndexField::new("a"), b"bc");
        assert_ne!(a, b);
    }

    #[test]
    fn matches_a_reference_hmac() {
        let key = IndexKey::new(secrecy::SecretBox::new(Box::new([0x0b; 32])));
        let mut msg = b"legion-blind-index\0\0\0\x08passport".to_vec();
        msg.extend_from_slice(b"X1");
        let mut mac = Hmac::<Sha256>::new_from_slice(&[0x0b; 32]).unwrap();
        mac.update(&msg);
        let want: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(blind_index(&key, PASSPORT, b"X1").as_bytes(), &want);
    }

    #[test]
    fn hex_round_trip() {
        let idx = blind_index(&key(1), EMAIL, b"a@example.org");
        let text = idx.to_hex();
        assert_eq!(text.len(), 64);
        assert_eq!(BlindIndex::from_hex(&text), Some(idx));
        assert_eq!(BlindIndex::from_hex(&text.to_uppercase()), Some(idx));
        assert_eq!(BlindIndex::from_hex(&text[..62]), None);
        assert_eq!(BlindIndex::from_hex("zz"), None);
        assert_eq!(BlindIndex::from_bytes(*idx.as_bytes()), idx);
    }

    #[test]
    fn constant_time_compare() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(ct_eq(b"", b""));
    }
}
