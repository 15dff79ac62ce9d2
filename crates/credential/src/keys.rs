//! The keys: a mission's issuing key, and the root key that signs the lists.

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::claims::Claims;
use crate::lists::{RevocationList, TrustList};

/// A key id: the first 8 bytes of SHA-256 of the raw 32-byte Ed25519 public key.
pub type Kid = [u8; 8];

/// The key id of a public key.
pub fn kid_of(public: &VerifyingKey) -> Kid {
    let digest = Sha256::digest(public.as_bytes());
    let mut kid = [0u8; 8];
    kid.copy_from_slice(&digest[..8]);
    kid
}

/// A mission's issuing key. The seed zeroizes on drop; `Debug` shows only the key id.
#[derive(Clone)]
pub struct IssuerKey {
    issuer: String,
    pub(crate) key: SigningKey,
    kid: Kid,
}

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKey")
            .field("issuer", &self.issuer)
            .field("kid", &hex_kid(self.kid))
            .finish_non_exhaustive()
    }
}

pub(crate) fn hex_kid(kid: Kid) -> String {
    kid.iter().fold(String::with_capacity(16), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl IssuerKey {
    /// The key of `issuer` (a mission id) from its 32-byte seed.
    pub fn from_seed(issuer: &str, seed: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(seed);
        let kid = kid_of(&key.verifying_key());
        IssuerKey { issuer: issuer.to_owned(), key, kid }
    }

    /// The mission it issues for.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Its key id.
    pub fn kid(&self) -> Kid {
        self.kid
    }

    /// Its public key.
    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Signs `claims` into the `LG1:` text.
    ///
    /// # Panics
    /// When the claims name another issuer than this key's: a programming error.
    pub fn issue(&self, claims: &Claims) -> String {
        assert_eq!(claims.issuer, self.issuer, "a mission's key signs only its own authorisations");
        crate::token::encode(&crate::token::sign_cose(&self.key, self.kid, &claims.to_cbor()))
    }

    /// Signs arbitrary bytes as a `COSE_Sign1` payload, for tests of what verifiers refuse.
    pub fn sign_payload(&self, payload: &[u8]) -> Vec<u8> {
        crate::token::sign_cose(&self.key, self.kid, payload)
    }
}

/// The deployment's root key: signs trust lists and revocation lists, nothing else.
pub struct RootKey {
    key: SigningKey,
}

impl std::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootKey").field("kid", &hex_kid(kid_of(&self.key.verifying_key()))).finish_non_exhaustive()
    }
}

impl RootKey {
    /// The root key from its 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        RootKey { key: SigningKey::from_bytes(seed) }
    }

    /// Its public key: what border posts pin.
    pub fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The trust list as signed JSON.
    pub fn sign_trust_list(&self, list: &TrustList) -> String {
        crate::lists::sign_json(list.to_unsigned_json(&self.public_key()), |bytes| self.key.sign(bytes))
    }

    /// The revocation list as signed JSON.
    pub fn sign_revocations(&self, list: &RevocationList) -> String {
        crate::lists::sign_json(list.to_unsigned_json(&self.public_key()), |bytes| self.key.sign(bytes))
    }
}
