//! Keys of their own for large objects (uploaded documents). Each object is sealed under a
//! fresh [`DataKey`] of its own, and that key is sealed like any field under the mission's
//! [`Keyring`]. Rotating the mission's data key then re-seals 32 bytes per object, never the
//! object, and destroying the mission's keys still makes every object unreadable.

use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};

use crate::{AadContext, DataKey, KEY_LEN, KeyVersion, Keyring, RandomSource, VaultError};

/// Seals `key` as a field value (an [`crate::Envelope`]) under the keyring's current key,
/// bound to `context`.
pub fn seal_key<R: RandomSource + ?Sized>(
    keyring: &Keyring,
    context: &AadContext,
    key: &DataKey,
    rng: &mut R,
) -> Result<Vec<u8>, VaultError> {
    keyring.seal(context, key.bytes(), rng)
}

/// Opens what [`seal_key`] sealed, as a key of `version` (the version the object's own
/// envelopes name).
pub fn open_key(
    keyring: &Keyring,
    context: &AadContext,
    envelope: &[u8],
    version: KeyVersion,
) -> Result<DataKey, VaultError> {
    let plain = keyring.open(context, envelope)?;
    let bytes = plain.expose_secret();
    if bytes.len() < KEY_LEN {
        return Err(VaultError::Truncated { what: "sealed key", needed: KEY_LEN, actual: bytes.len() });
    }
    if bytes.len() > KEY_LEN {
        return Err(VaultError::Oversized { what: "sealed key", max: KEY_LEN, actual: bytes.len() });
    }
    let mut key = SecretBox::new(Box::new([0u8; KEY_LEN]));
    key.expose_secret_mut().copy_from_slice(bytes);
    Ok(DataKey::from_secret(version, key))
}

#[cfg(test)]
mod tests {
    use rand::rngs::OsRng;

    use super::*;
    use crate::{Field, open, seal};

    const CONTENT: Field = Field::new("documents", "content");
    const CONTENT_KEY: Field = Field::new("documents", "content_key");

    #[test]
    fn an_object_key_opens_under_its_ring_and_context_only() {
        let ring = Keyring::new(DataKey::generate(KeyVersion(3), &mut OsRng).unwrap());
        let object_key = DataKey::generate(KeyVersion(1), &mut OsRng).unwrap();
        let object = seal(&object_key, &CONTENT.row("doc-1"), b"%PDF-1.4 scan", &mut OsRng).unwrap();
        let sealed = seal_key(&ring, &CONTENT_KEY.row("doc-1"), &object_key, &mut OsRng).unwrap();
        assert!(!sealed.windows(KEY_LEN).any(|w| w == object_key.bytes()), "the key is not in the clear");

        let reopened = open_key(&ring, &CONTENT_KEY.row("doc-1"), &sealed, KeyVersion(1)).unwrap();
        assert_eq!(open(&reopened, &CONTENT.row("doc-1"), &object).unwrap().expose_secret(), b"%PDF-1.4 scan");
        assert!(matches!(
            open_key(&ring, &CONTENT_KEY.row("doc-2"), &sealed, KeyVersion(1)),
            Err(VaultError::AuthenticationFailed)
        ));
        let other = Keyring::new(DataKey::generate(KeyVersion(3), &mut OsRng).unwrap());
        assert!(open_key(&other, &CONTENT_KEY.row("doc-1"), &sealed, KeyVersion(1)).is_err());

        // A field that is not a key is refused by length.
        let text = ring.seal(&CONTENT_KEY.row("doc-1"), b"short", &mut OsRng).unwrap();
        assert!(matches!(
            open_key(&ring, &CONTENT_KEY.row("doc-1"), &text, KeyVersion(1)),
            Err(VaultError::Truncated { .. })
        ));
    }
}
