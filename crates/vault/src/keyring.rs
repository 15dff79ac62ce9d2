//! A mission's data keys: the current one for sealing, older ones for opening rows not yet re-encrypted.

use std::collections::BTreeMap;

use secrecy::SecretSlice;

use crate::envelope::Envelope;
use crate::field::open_decoded;
use crate::{AadContext, DataKey, KeyVersion, RandomSource, VaultError, reencrypt, seal};

/// The data keys of one mission, by version.
///
/// During data-key rotation both the new (current) and the old keys are present, so every row opens whether
/// or not the background re-encryption has reached it yet.
#[derive(Debug)]
pub struct Keyring {
    current: KeyVersion,
    keys: BTreeMap<KeyVersion, DataKey>,
}

impl Keyring {
    /// A keyring whose only key is `current`.
    pub fn new(current: DataKey) -> Self {
        let version = current.version();
        Self { current: version, keys: BTreeMap::from([(version, current)]) }
    }

    /// Adds an older key, kept only for opening.
    pub fn add_previous(&mut self, key: DataKey) -> Result<(), VaultError> {
        if self.keys.contains_key(&key.version()) {
            return Err(VaultError::DuplicateKeyVersion(key.version()));
        }
        self.keys.insert(key.version(), key);
        Ok(())
    }

    /// Makes `key` the current key; the former current key stays for opening.
    pub fn rotate(&mut self, key: DataKey) -> Result<(), VaultError> {
        let version = key.version();
        self.add_previous(key)?;
        self.current = version;
        Ok(())
    }

    /// Removes an older key once no envelope needs it. The current key cannot be retired; `None` then, as
    /// when the version is absent.
    pub fn retire(&mut self, version: KeyVersion) -> Option<DataKey> {
        if version == self.current {
            return None;
        }
        self.keys.remove(&version)
    }

    /// The key new envelopes are sealed under.
    pub fn current(&self) -> &DataKey {
        &self.keys[&self.current]
    }

    /// The key with `version`, if held.
    pub fn get(&self, version: KeyVersion) -> Option<&DataKey> {
        self.keys.get(&version)
    }

    /// The versions held, oldest first.
    pub fn versions(&self) -> impl Iterator<Item = KeyVersion> + '_ {
        self.keys.keys().copied()
    }

    /// Seals under the current key.
    pub fn seal<R: RandomSource + ?Sized>(
        &self,
        context: &AadContext,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>, VaultError> {
        seal(self.current(), context, plaintext, rng)
    }

    /// Opens with whichever key the envelope names, or fails with [`VaultError::UnknownKeyVersion`].
    pub fn open(&self, context: &AadContext, envelope: &[u8]) -> Result<SecretSlice<u8>, VaultError> {
        let envelope = Envelope::decode(envelope)?;
        let key = self.get(envelope.key_version()).ok_or(VaultError::UnknownKeyVersion(envelope.key_version()))?;
        open_decoded(key, context, &envelope)
    }

    /// Whether `envelope` was sealed under a key other than the current one.
    pub fn needs_reencrypt(&self, envelope: &[u8]) -> Result<bool, VaultError> {
        Ok(Envelope::decode(envelope)?.key_version() != self.current)
    }

    /// Re-seals `envelope` under the current key, or returns `None` if it already is; running it twice over
    /// the same rows is harmless, which is what makes batched rotation resumable.
    pub fn reencrypt_to_current<R: RandomSource + ?Sized>(
        &self,
        envelope: &[u8],
        context: &AadContext,
        rng: &mut R,
    ) -> Result<Option<Vec<u8>>, VaultError> {
        let version = Envelope::decode(envelope)?.key_version();
        if version == self.current {
            return Ok(None);
        }
        let old = self.get(version).ok_or(VaultError::UnknownKeyVersion(version))?;
        reencrypt(envelope, old, self.current(), context, rng).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use secrecy::ExposeSecret;

    use super::*;
    use crate::Field;

    const NOTE: Field = Field::new("application", "notes");

    #[test]
    fn rotation_keeps_old_rows_readable_and_moves_them() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut keyring = Keyring::new(DataKey::generate(KeyVersion(1), &mut rng).unwrap());
        let ctx = NOTE.row(9_i64);
        let old = keyring.seal(&ctx, b"note", &mut rng).unwrap();

        keyring.rotate(DataKey::generate(KeyVersion(2), &mut rng).unwrap()).unwrap();
        assert_eq!(keyring.current().version(), KeyVersion(2));
        assert_eq!(keyring.versions().collect::<Vec<_>>(), [KeyVersion(1), KeyVersion(2)]);
        assert_eq!(keyring.open(&ctx, &old).unwrap().expose_secret(), b"note");
        assert!(keyring.needs_reencrypt(&old).unwrap());

        let new = keyring.reencrypt_to_current(&old, &ctx, &mut rng).unwrap().unwrap();
        assert!(!keyring.needs_reencrypt(&new).unwrap());
        assert!(keyring.reencrypt_to_current(&new, &ctx, &mut rng).unwrap().is_none());

        assert!(keyring.retire(KeyVersion(2)).is_none());
        assert!(keyring.retire(KeyVersion(1)).is_some());
        assert_eq!(keyring.open(&ctx, &new).unwrap().expose_secret(), b"note");
        assert!(matches!(keyring.open(&ctx, &old), Err(VaultError::UnknownKeyVersion(KeyVersion(1)))));
    }

    #[test]
    fn duplicate_versions_are_refused() {
        let mut rng = StdRng::seed_from_u64(4);
        let mut keyring = Keyring::new(DataKey::generate(KeyVersion(1), &mut rng).unwrap());
        let err = keyring.add_previous(DataKey::generate(KeyVersion(1), &mut rng).unwrap()).unwrap_err();
        assert!(matches!(err, VaultError::DuplicateKeyVersion(KeyVersion(1))));
        assert!(keyring.rotate(DataKey::generate(KeyVersion(1), &mut rng).unwrap()).is_err());
        assert_eq!(keyring.current().version(), KeyVersion(1));
    }
}
