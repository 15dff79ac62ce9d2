//! Key types. Each holds its 32 bytes in a zeroizing [`SecretBox`] and redacts them in `Debug`.

use std::fmt;

use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};

use crate::{RandomSource, VaultError};

/// Length in bytes of every symmetric key in this crate.
pub const KEY_LEN: usize = 32;

/// Raw key bytes as they cross API boundaries: boxed, zeroized on drop, never printed.
pub type SecretKeyBytes = SecretBox<[u8; KEY_LEN]>;

/// The version of a data key or key-encryption key, carried in every envelope and wrapped key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyVersion(pub u32);

impl KeyVersion {
    /// The version following this one, or `None` once versions are exhausted.
    #[must_use]
    pub fn next(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }

    pub(crate) fn to_be_bytes(self) -> [u8; 4] {
        self.0.to_be_bytes()
    }
}

impl fmt::Display for KeyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

fn random_key<R: RandomSource + ?Sized>(rng: &mut R) -> Result<SecretKeyBytes, VaultError> {
    // Filled inside the box so a failed or partial fill is still zeroized on drop.
    let mut key = SecretBox::new(Box::new([0u8; KEY_LEN]));
    rng.fill(key.expose_secret_mut())?;
    Ok(key)
}

/// A mission's data-encryption key: encrypts personal-data fields, stored only wrapped under a [`Kek`].
pub struct DataKey {
    version: KeyVersion,
    key: SecretKeyBytes,
}

impl DataKey {
    /// Draws a fresh key from `rng`.
    pub fn generate<R: RandomSource + ?Sized>(version: KeyVersion, rng: &mut R) -> Result<Self, VaultError> {
        Ok(Self { version, key: random_key(rng)? })
    }

    pub(crate) fn from_secret(version: KeyVersion, key: SecretKeyBytes) -> Self {
        Self { version, key }
    }

    /// The version recorded in envelopes sealed under this key.
    pub fn version(&self) -> KeyVersion {
        self.version
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        self.key.expose_secret()
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey").field("version", &self.version).finish_non_exhaustive()
    }
}

/// The key-encryption key: lives in a key file outside the database and only wraps [`DataKey`]s.
pub struct Kek {
    version: KeyVersion,
    key: SecretKeyBytes,
}

impl Kek {
    /// Uses `key` (typically from a [`KeyFile`](crate::KeyFile)) as the KEK with the given version.
    ///
    /// The version is the operator's to choose and must change whenever the key file does, because it is
    /// authenticated into every wrapped key and tells rotation which KEK a wrapped key needs.
    pub fn new(version: KeyVersion, key: SecretKeyBytes) -> Self {
        Self { version, key }
    }

    /// Draws a fresh KEK from `rng`.
    pub fn generate<R: RandomSource + ?Sized>(version: KeyVersion, rng: &mut R) -> Result<Self, VaultError> {
        Ok(Self { version, key: random_key(rng)? })
    }

    /// The version recorded in keys wrapped under this KEK.
    pub fn version(&self) -> KeyVersion {
        self.version
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        self.key.expose_secret()
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kek").field("version", &self.version).finish_non_exhaustive()
    }
}

/// The HMAC key for blind indexes. Kept apart from every encryption key so indexes reveal nothing about them.
pub struct IndexKey {
    key: SecretKeyBytes,
}

impl IndexKey {
    /// Uses `key` (typically from a [`KeyFile`](crate::KeyFile)) as the index key.
    pub fn new(key: SecretKeyBytes) -> Self {
        Self { key }
    }

    /// Draws a fresh index key from `rng`.
    pub fn generate<R: RandomSource + ?Sized>(rng: &mut R) -> Result<Self, VaultError> {
        Ok(Self { key: random_key(rng)? })
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        self.key.expose_secret()
    }
}

impl fmt::Debug for IndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexKey").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn debug_never_shows_key_bytes() {
        let mut rng = StdRng::seed_from_u64(1);
        let dek = DataKey::generate(KeyVersion(3), &mut rng).unwrap();
        let kek = Kek::generate(KeyVersion(9), &mut rng).unwrap();
        let idx = IndexKey::generate(&mut rng).unwrap();
        let hexes = [hex::encode(dek.bytes()), hex::encode(kek.bytes()), hex::encode(idx.bytes())];
        let printed = format!("{dek:?} {kek:?} {idx:?} {dek:#?}");
        assert!(printed.contains("version: KeyVersion(3)"), "{printed}");
        for h in &hexes {
            assert!(!printed.contains(h.as_str()));
        }
        assert!(!printed.contains('['), "{printed}");
    }

    #[test]
    fn generated_keys_differ() {
        let mut rng = StdRng::seed_from_u64(2);
        let a = DataKey::generate(KeyVersion(1), &mut rng).unwrap();
        let b = DataKey::generate(KeyVersion(1), &mut rng).unwrap();
        assert_ne!(a.bytes(), b.bytes());
    }

    #[test]
    fn versions_stop_at_the_top() {
        assert_eq!(KeyVersion(1).next(), Some(KeyVersion(2)));
        assert_eq!(KeyVersion(u32::MAX).next(), None);
    }
}
