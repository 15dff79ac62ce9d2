//! The byte layout of a sealed field.
//!
//! ```text
//! format (1) ‖ key version (4, big-endian) ‖ nonce (24) ‖ ciphertext ‖ tag (16)
//! ```

use crate::{KeyVersion, VaultError};

/// The only envelope format this build writes and reads.
pub const FORMAT_V1: u8 = 1;
/// XChaCha20-Poly1305 nonce length.
pub const NONCE_LEN: usize = 24;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;
/// Bytes before the ciphertext: format, key version, nonce.
pub const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;
/// The smallest envelope: header and tag around an empty plaintext.
pub const MIN_ENVELOPE_LEN: usize = HEADER_LEN + TAG_LEN;
/// The largest plaintext [`seal`](crate::seal) accepts; large enough for a scanned document, small enough that
/// a corrupt length cannot make a reader allocate without bound.
pub const MAX_PLAINTEXT_LEN: usize = 32 * 1024 * 1024;
/// The largest envelope [`Envelope::decode`] accepts.
pub const MAX_ENVELOPE_LEN: usize = MIN_ENVELOPE_LEN + MAX_PLAINTEXT_LEN;

const WHAT: &str = "envelope";

/// A decoded envelope, borrowing its ciphertext from the input.
///
/// Decoding checks only the layout; nothing is authenticated until the envelope is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    key_version: KeyVersion,
    nonce: [u8; NONCE_LEN],
    ciphertext_and_tag: &'a [u8],
}

impl<'a> Envelope<'a> {
    pub(crate) fn new(key_version: KeyVersion, nonce: [u8; NONCE_LEN], ciphertext_and_tag: &'a [u8]) -> Self {
        debug_assert!(ciphertext_and_tag.len() >= TAG_LEN);
        Self { key_version, nonce, ciphertext_and_tag }
    }

    /// Splits `bytes` into its parts, refusing anything this crate could not have written.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, VaultError> {
        let Some((&format, rest)) = bytes.split_first() else {
            return Err(VaultError::Truncated { what: WHAT, needed: MIN_ENVELOPE_LEN, actual: 0 });
        };
        // The format byte is checked first so a future format may have a different minimum length.
        if format != FORMAT_V1 {
            return Err(VaultError::UnknownFormatVersion { what: WHAT, version: format });
        }
        if bytes.len() < MIN_ENVELOPE_LEN {
            return Err(VaultError::Truncated { what: WHAT, needed: MIN_ENVELOPE_LEN, actual: bytes.len() });
        }
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(VaultError::Oversized { what: WHAT, max: MAX_ENVELOPE_LEN, actual: bytes.len() });
        }
        let (version, rest) = rest.split_at(4);
        let (nonce, ciphertext_and_tag) = rest.split_at(NONCE_LEN);
        Ok(Self {
            key_version: KeyVersion(u32::from_be_bytes(version.try_into().expect("split at 4"))),
            nonce: nonce.try_into().expect("split at NONCE_LEN"),
            ciphertext_and_tag,
        })
    }

    /// Lays the envelope out as bytes; the inverse of [`Envelope::decode`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.ciphertext_and_tag.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&self.key_version.to_be_bytes());
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(self.ciphertext_and_tag);
        out
    }

    /// The version of the data key this envelope was sealed under; used to pick the key from a
    /// [`Keyring`](crate::Keyring) and to find rows still awaiting re-encryption.
    pub fn key_version(&self) -> KeyVersion {
        self.key_version
    }

    /// The nonce.
    pub fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }

    /// The ciphertext followed by its 16-byte tag.
    pub fn ciphertext_and_tag(&self) -> &'a [u8] {
        self.ciphertext_and_tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let body = [0xAB; TAG_LEN + 3];
        Envelope::new(KeyVersion(0x0102_0304), [7; NONCE_LEN], &body).encode()
    }

    #[test]
    fn layout_is_format_version_nonce_body() {
        let bytes = sample();
        assert_eq!(bytes.len(), HEADER_LEN + TAG_LEN + 3);
        assert_eq!(bytes[0], 1);
        assert_eq!(&bytes[1..5], &[1, 2, 3, 4]);
        assert_eq!(&bytes[5..29], &[7; NONCE_LEN]);
        let env = Envelope::decode(&bytes).unwrap();
        assert_eq!(env.key_version(), KeyVersion(0x0102_0304));
        assert_eq!(env.encode(), bytes);
    }

    #[test]
    fn empty_and_short_input_is_truncated() {
        for len in [0, 1, 5, HEADER_LEN, MIN_ENVELOPE_LEN - 1] {
            let mut bytes = sample();
            bytes.truncate(len);
            let err = Envelope::decode(&bytes).unwrap_err();
            assert!(
                matches!(err, VaultError::Truncated { needed: MIN_ENVELOPE_LEN, actual, .. } if actual == len),
                "{len}: {err:?}"
            );
        }
    }

    #[test]
    fn unknown_format_is_named() {
        let mut bytes = sample();
        bytes[0] = 2;
        let err = Envelope::decode(&bytes).unwrap_err();
        assert!(matches!(err, VaultError::UnknownFormatVersion { version: 2, .. }));
        assert_eq!(err.to_string(), "envelope has unknown format version 2");
    }

    #[test]
    fn oversized_input_is_refused() {
        let mut bytes = vec![0u8; MAX_ENVELOPE_LEN + 1];
        bytes[0] = FORMAT_V1;
        let err = Envelope::decode(&bytes).unwrap_err();
        assert!(matches!(err, VaultError::Oversized { actual, .. } if actual == MAX_ENVELOPE_LEN + 1));
        bytes.pop();
        assert!(Envelope::decode(&bytes).is_ok());
    }
}
