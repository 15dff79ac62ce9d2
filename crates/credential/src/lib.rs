//! Legion's entry authorisation (DESIGN §6): what a border officer checks offline.
//!
//! An authorisation is a `COSE_Sign1` (RFC 9052, tag 18) over the CWT claims of
//! [`Claims`] (RFC 8392), signed with Ed25519 (`alg` `EdDSA`, -8) by its mission's key, whose
//! `kid` — the first 8 bytes of SHA-256 of the public key — sits in the protected header.
//! The COSE bytes are zlib-compressed, Base45-encoded and prefixed with [`PREFIX`], and
//! printed as a QR code with error correction Q ([`qr`]).
//!
//! A verifier never takes a key from the token: it looks the `kid` up in a [`TrustList`]
//! signed by the deployment's root key, checks the signature with `verify_strict`, the
//! issuer, the purpose and the validity window, and the [`RevocationList`], also signed by
//! the root. Every refusal says why ([`Refusal`]).
//!
//! ```
//! use legion_credential::{Claims, Holder, IssuerKey, RootKey, TrustList, TrustedKey, Verifier, PURPOSE};
//!
//! let root = RootKey::from_seed(&[1; 32]);
//! let issuer = IssuerKey::from_seed("pl-warsaw", &[2; 32]);
//! let claims = Claims {
//!     issuer: "pl-warsaw".into(),
//!     id: uuid::Uuid::from_bytes([7; 16]),
//!     issued_at: 1_800_000_000,
//!     not_before: 1_800_000_000,
//!     expires: 1_802_000_000,
//!     purpose: PURPOSE.into(),
//!     holder: Holder {
//!         family_name: "KOWALSKI".into(),
//!         given_names: "JAN".into(),
//!         date_of_birth: "1990-04-01".into(),
//!         nationality: "PL".into(),
//!         passport_number: "EA1234567".into(),
//!     },
//!     entry_from: "2027-01-10".parse().unwrap(),
//!     entry_until: "2027-01-31".parse().unwrap(),
//!     group: None,
//! };
//! let token = issuer.issue(&claims);
//! assert!(token.starts_with("LG1:"));
//!
//! let list = TrustList { issued_at: 1_800_000_000, expires: 1_900_000_000, keys: vec![TrustedKey::open(&issuer)] };
//! let json = root.sign_trust_list(&list);
//! let trust = TrustList::from_json(&json, Some(&root.public_key())).unwrap();
//! let verified = Verifier::new(&trust, None).verify(&token, 1_801_000_000).unwrap();
//! assert_eq!(verified.claims, claims);
//! ```

mod claims;
pub mod corpus;
mod keys;
mod lists;
pub mod qr;
mod token;

pub use claims::{Claims, Holder, PURPOSE};
pub use keys::{IssuerKey, Kid, RootKey, kid_of};
pub use lists::{ListError, RevocationList, TrustList, TrustedKey, canonical, root_of};
pub use token::{MAX_COSE_LEN, MAX_TOKEN_LEN, PREFIX, Verified, Verifier, decode_unverified, signature_input};

/// Why a token is refused. [`Refusal::code`] is stable and the same in every verifier
/// (command line, server, offline page).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Longer than any authorisation can be.
    #[error("too long to be an entry authorisation")]
    Oversized,
    /// Does not start with `LG1:`.
    #[error("not an entry authorisation (it must start with LG1:)")]
    BadPrefix,
    /// Not Base45.
    #[error("damaged: not Base45 text")]
    BadEncoding,
    /// Not a complete zlib stream.
    #[error("damaged or truncated: the compressed data does not unpack")]
    BadCompression,
    /// Not a `COSE_Sign1` structure.
    #[error("damaged: not a COSE_Sign1 structure")]
    NotCose,
    /// Signed with something other than `EdDSA`.
    #[error("wrong signature algorithm (only EdDSA/Ed25519 is accepted)")]
    WrongAlgorithm,
    /// No key id in the protected header.
    #[error("no key id in the protected header")]
    MissingKid,
    /// The key id is not in the trust list.
    #[error("signed by a key that is not in the trust list")]
    UnknownKid,
    /// The key is in the trust list but not for this time.
    #[error("the signing key is not valid at this time")]
    KeyNotValid,
    /// The signature does not verify (a changed byte, a non-canonical or small-order
    /// signature, a wrong key).
    #[error("the signature does not verify: the authorisation was altered or forged")]
    BadSignature,
    /// A claim is missing or malformed.
    #[error("malformed claims: {0}")]
    BadClaims(&'static str),
    /// The issuer claim does not name the key's mission.
    #[error("issued under another mission's name than its key's")]
    WrongIssuer,
    /// Not an entry authorisation of this version.
    #[error("wrong purpose: not an entry authorisation v1")]
    WrongPurpose,
    /// Before its validity window.
    #[error("not yet valid")]
    NotYetValid,
    /// After its validity window.
    #[error("expired")]
    Expired,
    /// On the revocation list.
    #[error("revoked")]
    Revoked,
    /// The trust list itself has expired: load a current one.
    #[error("the trust list has expired; load a current one")]
    TrustListExpired,
    /// The revocation list has expired: load a current one.
    #[error("the revocation list has expired; load a current one")]
    RevocationListExpired,
}

impl Refusal {
    /// The stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Oversized => "oversized",
            Refusal::BadPrefix => "bad_prefix",
            Refusal::BadEncoding => "bad_encoding",
            Refusal::BadCompression => "bad_compression",
            Refusal::NotCose => "not_cose",
            Refusal::WrongAlgorithm => "wrong_algorithm",
            Refusal::MissingKid => "missing_kid",
            Refusal::UnknownKid => "unknown_kid",
            Refusal::KeyNotValid => "key_not_valid",
            Refusal::BadSignature => "bad_signature",
            Refusal::BadClaims(_) => "bad_claims",
            Refusal::WrongIssuer => "wrong_issuer",
            Refusal::WrongPurpose => "wrong_purpose",
            Refusal::NotYetValid => "not_yet_valid",
            Refusal::Expired => "expired",
            Refusal::Revoked => "revoked",
            Refusal::TrustListExpired => "trust_list_expired",
            Refusal::RevocationListExpired => "revocation_list_expired",
        }
    }
}
