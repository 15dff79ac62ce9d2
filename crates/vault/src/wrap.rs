//! Wrapping data keys under the key-encryption key, so the database holds only ciphertext of its own keys.
//!
//! ```text
//! format (1) ‖ KEK version (4) ‖ data-key version (4) ‖ nonce (24) ‖ encrypted key (32) ‖ tag (16)
//! ```
//!
//! AAD: `"legion-dek" ‖ format ‖ lp(mission id) ‖ data-key version ‖ KEK version` (versions u32 big-endian,
//! `lp` a u32 big-endian length prefix), so a wrapped key cannot be moved to another mission or relabelled.

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{Tag, XNonce};
use secrecy::{ExposeSecretMut, SecretBox};

use crate::aad::put_prefixed;
use crate::envelope::{NONCE_LEN, TAG_LEN};
use crate::field::cipher;
use crate::keys::KEY_LEN;
use crate::{DataKey, Kek, KeyVersion, RandomSource, VaultError};

/// The only wrapped-key format this build writes and reads.
pub const WRAP_FORMAT_V1: u8 = 1;
/// Length of every wrapped key.
pub const WRAPPED_KEY_LEN: usize = 1 + 4 + 4 + NONCE_LEN + KEY_LEN + TAG_LEN;

const WHAT: &str = "wrapped key";
const WRAP_DOMAIN: &[u8] = b"legion-dek";

/// A decoded wrapped data key. Its versions are readable before unwrapping, to pick the KEK it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrappedKey {
    kek_version: KeyVersion,
    dek_version: KeyVersion,
    nonce: [u8; NONCE_LEN],
    sealed_key: [u8; KEY_LEN + TAG_LEN],
}

impl WrappedKey {
    /// Parses the fixed-length layout; nothing is authenticated until [`unwrap_key`].
    pub fn decode(bytes: &[u8]) -> Result<Self, VaultError> {
        let Some(&format) = bytes.first() else {
            return Err(VaultError::Truncated { what: WHAT, needed: WRAPPED_KEY_LEN, actual: 0 });
        };
        if format != WRAP_FORMAT_V1 {
            return Err(VaultError::UnknownFormatVersion { what: WHAT, version: format });
        }
        let bytes: &[u8; WRAPPED_KEY_LEN] = bytes.try_into().map_err(|_| {
            if bytes.len() < WRAPPED_KEY_LEN {
                VaultError::Truncated { what: WHAT, needed: WRAPPED_KEY_LEN, actual: bytes.len() }
            } else {
                VaultError::Oversized { what: WHAT, max: WRAPPED_KEY_LEN, actual: bytes.len() }
            }
        })?;
        let (kek, rest) = bytes[1..].split_at(4);
        let (dek, rest) = rest.split_at(4);
        let (nonce, sealed_key) = rest.split_at(NONCE_LEN);
        Ok(Self {
            kek_version: KeyVersion(u32::from_be_bytes(kek.try_into().expect("split at 4"))),
            dek_version: KeyVersion(u32::from_be_bytes(dek.try_into().expect("split at 4"))),
            nonce: nonce.try_into().expect("split at NONCE_LEN"),
            sealed_key: sealed_key.try_into().expect("fixed total length"),
        })
    }

    /// Lays the wrapped key out as bytes; the inverse of [`WrappedKey::decode`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(WRAPPED_KEY_LEN);
        out.push(WRAP_FORMAT_V1);
        out.extend_from_slice(&self.kek_version.to_be_bytes());
        out.extend_from_slice(&self.dek_version.to_be_bytes());
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.sealed_key);
        out
    }

    /// The version of the KEK needed to unwrap this key.
    pub fn kek_version(&self) -> KeyVersion {
        self.kek_version
    }

    /// The version of the data key inside.
    pub fn dek_version(&self) -> KeyVersion {
        self.dek_version
    }
}

fn associated_data(mission: &str, dek_version: KeyVersion, kek_version: KeyVersion) -> Vec<u8> {
    let mut out = Vec::with_capacity(WRAP_DOMAIN.len() + 13 + mission.len());
    out.extend_from_slice(WRAP_DOMAIN);
    out.push(WRAP_FORMAT_V1);
    put_prefixed(&mut out, mission.as_bytes());
    out.extend_from_slice(&dek_version.to_be_bytes());
    out.extend_from_slice(&kek_version.to_be_bytes());
    out
}

/// Encrypts `dek` under `kek` for `mission` (the mission's stable id, e.g. its slug); returns the encoded
/// wrapped key.
pub fn wrap_key<R: RandomSource + ?Sized>(
    dek: &DataKey,
    kek: &Kek,
    mission: &str,
    rng: &mut R,
) -> Result<Vec<u8>, VaultError> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce)?;
    let aad = associated_data(mission, dek.version(), kek.version());
    let mut sealed_key = [0u8; KEY_LEN + TAG_LEN];
    let (body, tag_out) = sealed_key.split_at_mut(KEY_LEN);
    body.copy_from_slice(dek.bytes());
    let tag = cipher(kek.bytes())
        .encrypt_inout_detached(<&XNonce>::from(&nonce), &aad, body.into())
        .expect("a 32-byte message is within XChaCha20-Poly1305 limits");
    tag_out.copy_from_slice(&tag);
    Ok(WrappedKey { kek_version: kek.version(), dek_version: dek.version(), nonce, sealed_key }.encode())
}

/// Decrypts a wrapped key made by [`wrap_key`] for the same `mission`.
///
/// Fails with [`VaultError::KeyVersionMismatch`] when `kek` is not the version it was wrapped under, and with
/// [`VaultError::AuthenticationFailed`] for a wrong KEK, another mission, or any altered byte.
pub fn unwrap_key(wrapped: &[u8], kek: &Kek, mission: &str) -> Result<DataKey, VaultError> {
    let wrapped = WrappedKey::decode(wrapped)?;
    if wrapped.kek_version != kek.version() {
        return Err(VaultError::KeyVersionMismatch { sealed: wrapped.kek_version, supplied: kek.version() });
    }
    let aad = associated_data(mission, wrapped.dek_version, wrapped.kek_version);
    let (body, tag) = wrapped.sealed_key.split_at(KEY_LEN);
    let tag = Tag::try_from(tag).expect("split at KEY_LEN");
    let mut key = SecretBox::new(Box::new([0u8; KEY_LEN]));
    key.expose_secret_mut().copy_from_slice(body);
    cipher(kek.bytes())
        .decrypt_inout_detached(
            <&XNonce>::from(&wrapped.nonce),
            &aad,
            key.expose_secret_mut().as_mut_slice().into(),
            &tag,
        )
        .map_err(|_| VaultError::AuthenticationFailed)?;
    Ok(DataKey::from_secret(wrapped.dek_version, key))
}

/// Unwraps under `old_kek` and wraps again under `new_kek`, for KEK rotation; the data key itself is unchanged,
/// so no field needs re-encrypting.
pub fn rewrap<R: RandomSource + ?Sized>(
    wrapped: &[u8],
    old_kek: &Kek,
    new_kek: &Kek,
    mission: &str,
    rng: &mut R,
) -> Result<Vec<u8>, VaultError> {
    let dek = unwrap_key(wrapped, old_kek, mission)?;
    wrap_key(&dek, new_kek, mission, rng)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn setup() -> (StdRng, DataKey, Kek) {
        let mut rng = StdRng::seed_from_u64(5);
        let dek = DataKey::generate(KeyVersion(4), &mut rng).unwrap();
        let kek = Kek::generate(KeyVersion(2), &mut rng).unwrap();
        (rng, dek, kek)
    }

    #[test]
    fn round_trip_keeps_key_and_version() {
        let (mut rng, dek, kek) = setup();
        let wrapped = wrap_key(&dek, &kek, "pl-warsaw", &mut rng).unwrap();
        assert_eq!(wrapped.len(), WRAPPED_KEY_LEN);
        assert!(!wrapped.windows(KEY_LEN).any(|w| w == dek.bytes()));
        let header = WrappedKey::decode(&wrapped).unwrap();
        assert_eq!((header.kek_version(), header.dek_version()), (KeyVersion(2), KeyVersion(4)));
        assert_eq!(header.encode(), wrapped);
        let back = unwrap_key(&wrapped, &kek, "pl-warsaw").unwrap();
        assert_eq!(back.version(), KeyVersion(4));
        assert_eq!(back.bytes(), dek.bytes());
    }

    #[test]
    fn other_mission_fails() {
        let (mut rng, dek, kek) = setup();
        let wrapped = wrap_key(&dek, &kek, "pl-warsaw", &mut rng).unwrap();
        assert!(matches!(unwrap_key(&wrapped, &kek, "pl-krakow"), Err(VaultError::AuthenticationFailed)));
    }

    #[test]
    fn relabelled_versions_fail() {
        let (mut rng, dek, kek) = setup();
        let wrapped = wrap_key(&dek, &kek, "m1", &mut rng).unwrap();
        let mut relabelled = wrapped.clone();
        relabelled[8] ^= 1; // data-key version
        assert!(matches!(unwrap_key(&relabelled, &kek, "m1"), Err(VaultError::AuthenticationFailed)));
        let mut relabelled = wrapped;
        relabelled[4] ^= 1; // KEK version
        assert!(matches!(unwrap_key(&relabelled, &kek, "m1"), Err(VaultError::KeyVersionMismatch { .. })));
    }

    #[test]
    fn decode_reports_sizes() {
        let (mut rng, dek, kek) = setup();
        let mut wrapped = wrap_key(&dek, &kek, "m1", &mut rng).unwrap();
        wrapped.push(0);
        assert!(matches!(WrappedKey::decode(&wrapped), Err(VaultError::Oversized { .. })));
        wrapped.truncate(10);
        assert!(matches!(WrappedKey::decode(&wrapped), Err(VaultError::Truncated { actual: 10, .. })));
        assert!(matches!(WrappedKey::decode(&[]), Err(VaultError::Truncated { actual: 0, .. })));
        assert!(matches!(WrappedKey::decode(&[9; 81]), Err(VaultError::UnknownFormatVersion { version: 9, .. })));
    }

    #[test]
    fn rewrap_changes_kek() {
        let (mut rng, dek, old) = setup();
        let new = Kek::generate(KeyVersion(3), &mut rng).unwrap();
        let wrapped = wrap_key(&dek, &old, "m1", &mut rng).unwrap();
        let rewrapped = rewrap(&wrapped, &old, &new, "m1", &mut rng).unwrap();
        assert_eq!(unwrap_key(&rewrapped, &new, "m1").unwrap().bytes(), dek.bytes());
        assert!(unwrap_key(&rewrapped, &old, "m1").is_err());
    }
}
