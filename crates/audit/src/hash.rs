//! RFC 6962 / RFC 9162 §2.1.1 hashing with domain separation between leaves and interior nodes.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

use crate::AuditError;

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash(pub [u8; 32]);

/// The root of the empty tree: SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41,
    0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// Hashes one log entry: `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Hash(Sha256::new().chain_update([LEAF_PREFIX]).chain_update(data).finalize().into())
}

/// Hashes two children into their parent: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Hash(Sha256::new().chain_update([NODE_PREFIX]).chain_update(left.0).chain_update(right.0).finalize().into())
}

impl Hash {
    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits, either case.
    pub fn from_hex(text: &str) -> Result<Self, AuditError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| AuditError::MalformedHash { encoding: "hex" })?;
        Ok(Self(bytes))
    }

    /// Standard base64 with padding, as in checkpoints.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Parses standard padded base64 of exactly 32 bytes; non-canonical encodings are refused.
    pub fn from_base64(text: &str) -> Result<Self, AuditError> {
        let err = AuditError::MalformedHash { encoding: "base64" };
        // 44 characters is the only length that can hold 32 bytes; checking first keeps the buffer fixed.
        if text.len() != 44 {
            return Err(err);
        }
        let mut bytes = [0u8; 33];
        match STANDARD.decode_slice(text, &mut bytes) {
            Ok(32) => Ok(Self(bytes[..32].try_into().expect("32 bytes"))),
            _ => Err(err),
        }
    }
}

impl From<[u8; 32]> for Hash {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT.0, <[u8; 32]>::from(Sha256::digest(b"")));
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        // Leaf hash of the empty entry, root of the one-leaf tree in the RFC 6962 test vectors
        // (transparency-dev/merkle proof/verify_test.go, `roots[0]`).
        assert_eq!(leaf_hash(b"").to_hex(), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let mut concatenated = Vec::from(a.0);
        concatenated.extend_from_slice(&b.0);
        assert_ne!(node_hash(&a, &b), leaf_hash(&concatenated));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
    }

    #[test]
    fn hex_round_trip_and_rejects() {
        let h = leaf_hash(b"x");
        assert_eq!(Hash::from_hex(&h.to_hex()), Ok(h));
        assert_eq!(Hash::from_hex(&h.to_hex().to_uppercase()), Ok(h));
        for bad in ["", "00", &h.to_hex()[1..], &format!("{}00", h.to_hex()), &h.to_hex().replace('e', "g")] {
            assert!(Hash::from_hex(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn base64_round_trip_and_rejects() {
        let h = leaf_hash(b"x");
        let text = h.to_base64();
        assert_eq!(text.len(), 44);
        assert_eq!(Hash::from_base64(&text), Ok(h));
        let unpadded = text.trim_end_matches('=');
        let short = STANDARD.encode([7u8; 31]);
        let long = STANDARD.encode([7u8; 33]);
        // The final character before the padding carries two unused bits; setting them is non-canonical.
        let mut noncanonical = text.clone().into_bytes();
        noncanonical[42] = if noncanonical[42] == b'A' { b'B' } else { b'A' };
        let noncanonical = String::from_utf8(noncanonical).unwrap();
        assert_ne!(Hash::from_base64(&noncanonical), Ok(h));
        for bad in ["", unpadded, &short, &long, &text.replace('=', "A"), &format!(" {}", &text[1..])] {
            assert!(Hash::from_base64(bad).is_err(), "{bad}");
        }
        assert!(Hash::from_base64(&STANDARD.encode([0u8; 32]).replace("AAAA=", "AAAB=")).is_err());
    }

    #[test]
    fn debug_and_display_show_hex() {
        let h = Hash([0xab; 32]);
        assert_eq!(h.to_string(), "ab".repeat(32));
        assert_eq!(format!("{h:?}"), format!("Hash({})", "ab".repeat(32)));
    }
}
