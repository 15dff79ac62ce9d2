//! Legion's protection of personal data at rest: field encryption, key wrapping, blind indexes.
//!
//! - Each personal-data field is sealed with XChaCha20-Poly1305 under its mission's [`DataKey`], into an
//!   [`Envelope`] whose AAD binds table, column, row and key version ([`AadContext`]), so a ciphertext copied
//!   to another row, column or table, or relabelled with another key version, does not open.
//! - Data keys are stored wrapped under the [`Kek`], which lives in a [`KeyFile`] outside the database
//!   ([`wrap_key`], [`unwrap_key`]). Rotating the KEK rewraps data keys ([`rewrap`]); rotating a data key
//!   re-encrypts rows ([`reencrypt`], [`Keyring::reencrypt_to_current`]).
//! - Exact lookups go through [`blind_index`]es keyed with a separate [`IndexKey`].
//! - Large objects (uploaded documents) are sealed under a key of their own, itself sealed like a field under
//!   the mission's keyring ([`seal_key`], [`open_key`]), so rotating a data key never rewrites an object.
//!
//! Randomness is always a parameter ([`RandomSource`]); nothing here calls a global RNG. Key types zeroize on
//! drop and print no key bytes; errors ([`VaultError`]) never contain plaintext or key material.
//!
//! ```
//! use legion_vault::{DataKey, Field, Kek, KeyVersion, open, seal, unwrap_key, wrap_key};
//! use rand::rngs::OsRng;
//! use secrecy::ExposeSecret;
//!
//! const PASSPORT_NUMBER: Field = Field::new("applicant", "passport_number");
//!
//! let kek = Kek::generate(KeyVersion(1), &mut OsRng)?;
//! let dek = DataKey::generate(KeyVersion(1), &mut OsRng)?;
//! let stored_key = wrap_key(&dek, &kek, "pl-warsaw", &mut OsRng)?;
//!
//! let row = PASSPORT_NUMBER.row(42_i64);
//! let stored_value = seal(&dek, &row, b"AB1234567", &mut OsRng)?;
//!
//! let dek = unwrap_key(&stored_key, &kek, "pl-warsaw")?;
//! assert_eq!(open(&dek, &row, &stored_value)?.expose_secret(), b"AB1234567");
//! assert!(open(&dek, &PASSPORT_NUMBER.row(43_i64), &stored_value).is_err());
//! # Ok::<(), legion_vault::VaultError>(())
//! ```

mod aad;
mod blind_index;
mod envelope;
mod error;
mod field;
mod key_file;
mod keyring;
mod keys;
mod object_key;
mod random;
mod wrap;

pub use aad::{AadContext, Field, RowId};
pub use blind_index::{BLIND_INDEX_LEN, BlindIndex, IndexField, blind_index, ct_eq};
pub use envelope::{
    Envelope, FORMAT_V1, HEADER_LEN, MAX_ENVELOPE_LEN, MAX_PLAINTEXT_LEN, MIN_ENVELOPE_LEN, NONCE_LEN, TAG_LEN,
};
pub use error::VaultError;
pub use field::{open, reencrypt, seal};
pub use key_file::KeyFile;
pub use keyring::Keyring;
pub use keys::{DataKey, IndexKey, KEY_LEN, Kek, KeyVersion, SecretKeyBytes};
pub use object_key::{open_key, seal_key};
pub use random::RandomSource;
/// Re-exported because plaintexts and key bytes cross this crate's API inside `secrecy` types.
pub use secrecy;
pub use wrap::{WRAP_FORMAT_V1, WRAPPED_KEY_LEN, WrappedKey, rewrap, unwrap_key, wrap_key};
