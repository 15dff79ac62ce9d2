//! Field encryption: XChaCha20-Poly1305 with the AAD of an [`AadContext`].
//!
//! The extended 24-byte nonce is long enough to draw at random for every field without tracking counters, which
//! matters because many processes seal under the same mission key.

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox, SecretSlice};

use crate::envelope::{Envelope, HEADER_LEN, MAX_PLAINTEXT_LEN, NONCE_LEN, TAG_LEN};
use crate::{AadContext, DataKey, RandomSource, VaultError};

pub(crate) fn cipher(key: &[u8; 32]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.into())
}

/// Encrypts `plaintext` for `context` under `dek`, with a fresh nonce from `rng`; returns the encoded envelope.
pub fn seal<R: RandomSource + ?Sized>(
    dek: &DataKey,
    context: &AadContext,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, VaultError> {
    if plaintext.len() > MAX_PLAINTEXT_LEN {
        return Err(VaultError::Oversized { what: "plaintext", max: MAX_PLAINTEXT_LEN, actual: plaintext.len() });
    }
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce)?;
    let aad = context.associated_data(dek.version());

    // Encrypting in place inside the output buffer avoids a second heap copy of the plaintext.
    let mut out = Envelope::new(dek.version(), nonce, &[0; TAG_LEN]).encode();
    out.truncate(HEADER_LEN);
    out.extend_from_slice(plaintext);
    let tag = cipher(dek.bytes())
        .encrypt_inout_detached(<&XNonce>::from(&nonce), &aad, (&mut out[HEADER_LEN..]).into())
        .map_err(|_| VaultError::Oversized { what: "plaintext", max: MAX_PLAINTEXT_LEN, actual: plaintext.len() })?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts an envelope sealed by [`seal`] for the same `context` under `dek`.
///
/// Fails with [`VaultError::KeyVersionMismatch`] before any decryption when the envelope names another key
/// version, and with [`VaultError::AuthenticationFailed`] when the key, the context or any byte is wrong.
pub fn open(dek: &DataKey, context: &AadContext, envelope: &[u8]) -> Result<SecretSlice<u8>, VaultError> {
    let envelope = Envelope::decode(envelope)?;
    if envelope.key_version() != dek.version() {
        return Err(VaultError::KeyVersionMismatch { sealed: envelope.key_version(), supplied: dek.version() });
    }
    open_decoded(dek, context, &envelope)
}

pub(crate) fn open_decoded(
    dek: &DataKey,
    context: &AadContext,
    envelope: &Envelope<'_>,
) -> Result<SecretSlice<u8>, VaultError> {
    let aad = context.associated_data(envelope.key_version());
    let (ciphertext, tag) = envelope.ciphertext_and_tag().split_at(envelope.ciphertext_and_tag().len() - TAG_LEN);
    let tag = Tag::try_from(tag).expect("split at TAG_LEN");
    // Decrypted inside the secret box so the plaintext never sits in memory that is freed without zeroizing.
    let mut plaintext: SecretSlice<u8> = SecretBox::new(Box::from(ciphertext));
    cipher(dek.bytes())
        .decrypt_inout_detached(<&XNonce>::from(envelope.nonce()), &aad, plaintext.expose_secret_mut().into(), &tag)
        .map_err(|_| VaultError::AuthenticationFailed)?;
    Ok(plaintext)
}

/// Opens `envelope` under `old_dek` and seals the plaintext again under `new_dek`, for data-key rotation.
///
/// The new envelope carries `new_dek`'s version in its header and AAD, so `old_dek` cannot open it.
pub fn reencrypt<R: RandomSource + ?Sized>(
    envelope: &[u8],
    old_dek: &DataKey,
    new_dek: &DataKey,
    context: &AadContext,
    rng: &mut R,
) -> Result<Vec<u8>, VaultError> {
    let plaintext = open(old_dek, context, envelope)?;
    seal(new_dek, context, plaintext.expose_secret(), rng)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::{Field, KeyVersion};

    const NAME: Field = Field::new("applicant", "family_name");

    fn setup() -> (StdRng, DataKey) {
        let mut rng = StdRng::seed_from_u64(11);
        let dek = DataKey::generate(KeyVersion(1), &mut rng).unwrap();
        (rng, dek)
    }

    #[test]
    fn round_trip_and_layout() {
        let (mut rng, dek) = setup();
        let ctx = NAME.row(7_i64);
        let sealed = seal(&dek, &ctx, b"Kowalski", &mut rng).unwrap();
        assert_eq!(sealed.len(), HEADER_LEN + 8 + TAG_LEN);
        assert_eq!(sealed[0], 1);
        assert_eq!(&sealed[1..5], &[0, 0, 0, 1]);
        assert!(!sealed.windows(8).any(|w| w == b"Kowalski"));
        assert_eq!(open(&dek, &ctx, &sealed).unwrap().expose_secret(), b"Kowalski");
    }

    #[test]
    fn empty_plaintext_round_trips() {
        let (mut rng, dek) = setup();
        let ctx = NAME.row(1_i64);
        let sealed = seal(&dek, &ctx, b"", &mut rng).unwrap();
        assert_eq!(sealed.len(), HEADER_LEN + TAG_LEN);
        assert!(open(&dek, &ctx, &sealed).unwrap().expose_secret().is_empty());
    }

    #[test]
    fn nonces_are_fresh() {
        let (mut rng, dek) = setup();
        let ctx = NAME.row(1_i64);
        let a = seal(&dek, &ctx, b"same", &mut rng).unwrap();
        let b = seal(&dek, &ctx, b"same", &mut rng).unwrap();
        assert_ne!(a[5..29], b[5..29]);
        assert_ne!(a, b);
    }

    #[test]
    fn oversized_plaintext_is_refused() {
        let (mut rng, dek) = setup();
        let big = vec![0u8; MAX_PLAINTEXT_LEN + 1];
        let err = seal(&dek, &NAME.row(1_i64), &big, &mut rng).unwrap_err();
        assert!(matches!(err, VaultError::Oversized { what: "plaintext", .. }));
    }

    #[test]
    fn wrong_version_key_is_named() {
        let (mut rng, dek) = setup();
        let other = DataKey::generate(KeyVersion(2), &mut rng).unwrap();
        let ctx = NAME.row(1_i64);
        let sealed = seal(&dek, &ctx, b"x", &mut rng).unwrap();
        let err = open(&other, &ctx, &sealed).unwrap_err();
        assert!(matches!(err, VaultError::KeyVersionMismatch { sealed: KeyVersion(1), supplied: KeyVersion(2) }));
    }

    #[test]
    fn same_version_different_key_fails_authentication() {
        let (mut rng, dek) = setup();
        let impostor = DataKey::generate(KeyVersion(1), &mut rng).unwrap();
        let ctx = NAME.row(1_i64);
        let sealed = seal(&dek, &ctx, b"x", &mut rng).unwrap();
        assert!(matches!(open(&impostor, &ctx, &sealed), Err(VaultError::AuthenticationFailed)));
    }

    #[test]
    fn error_messages_carry_no_plaintext() {
        let (mut rng, dek) = setup();
        let sealed = seal(&dek, &NAME.row(1_i64), b"SECRET-NAME", &mut rng).unwrap();
        let err = open(&dek, &NAME.row(2_i64), &sealed).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("SECRET"), "{text}");
    }

    #[test]
    fn reencrypt_moves_to_the_new_version() {
        let (mut rng, old) = setup();
        let new = DataKey::generate(KeyVersion(2), &mut rng).unwrap();
        let ctx = NAME.row("row-1");
        let sealed = seal(&old, &ctx, b"Nowak", &mut rng).unwrap();
        let moved = reencrypt(&sealed, &old, &new, &ctx, &mut rng).unwrap();
        assert_eq!(Envelope::decode(&moved).unwrap().key_version(), KeyVersion(2));
        assert_eq!(open(&new, &ctx, &moved).unwrap().expose_secret(), b"Nowak");
        assert!(open(&old, &ctx, &moved).is_err());
    }
}
