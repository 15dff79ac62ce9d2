//! Property tests of the vault's promises, through the public API only.

use legion_vault::{
    AadContext, DataKey, Envelope, Field, IndexKey, Kek, KeyFile, KeyVersion, Keyring, RowId, VaultError, WrappedKey,
    blind_index, open, reencrypt, rewrap, seal, unwrap_key, wrap_key,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use secrecy::ExposeSecret;

const NAME: Field = Field::new("applicant", "family_name");
const TABLES: &[&str] = &["applicant", "application", "document", "a", "ap"];
const COLUMNS: &[&str] = &["family_name", "passport_number", "notes", "email", "n"];

fn row_id() -> impl Strategy<Value = RowId> {
    prop_oneof![
        any::<i64>().prop_map(RowId::Int),
        any::<[u8; 16]>().prop_map(RowId::Uuid),
        ".{0,40}".prop_map(RowId::Text),
    ]
}

fn context() -> impl Strategy<Value = AadContext> {
    (prop::sample::select(TABLES), prop::sample::select(COLUMNS), row_id())
        .prop_map(|(table, column, row)| AadContext::new(table, column, row))
}

/// The same key bytes for the same seed, under any version: lets a test relabel a key without changing it.
fn dek(seed: u64, version: u32) -> DataKey {
    DataKey::generate(KeyVersion(version), &mut StdRng::seed_from_u64(seed)).unwrap()
}

fn kek(seed: u64, version: u32) -> Kek {
    Kek::generate(KeyVersion(version), &mut StdRng::seed_from_u64(seed)).unwrap()
}

fn opens_to(dek: &DataKey, ctx: &AadContext, envelope: &[u8], plaintext: &[u8]) -> bool {
    open(dek, ctx, envelope).is_ok_and(|p| p.expose_secret() == plaintext)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn seal_open_round_trip(
        plaintext in prop::collection::vec(any::<u8>(), 0..2048),
        ctx in context(),
        seed: u64,
        version: u32,
    ) {
        let mut rng = StdRng::seed_from_u64(seed ^ 1);
        let key = dek(seed, version);
        let sealed = seal(&key, &ctx, &plaintext, &mut rng).unwrap();
        prop_assert_eq!(sealed.len(), legion_vault::MIN_ENVELOPE_LEN + plaintext.len());
        let env = Envelope::decode(&sealed).unwrap();
        prop_assert_eq!(env.key_version(), KeyVersion(version));
        prop_assert_eq!(env.encode(), sealed.clone());
        prop_assert!(opens_to(&key, &ctx, &sealed, &plaintext));
    }

    #[test]
    fn any_flipped_bit_fails(
        plaintext in prop::collection::vec(any::<u8>(), 0..256),
        ctx in context(),
        bit in any::<prop::sample::Index>(),
        seed: u64,
    ) {
        let key = dek(seed, 1);
        let mut sealed = seal(&key, &ctx, &plaintext, &mut StdRng::seed_from_u64(seed)).unwrap();
        let bit = bit.index(sealed.len() * 8);
        sealed[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(open(&key, &ctx, &sealed).is_err());
    }

    #[test]
    fn changing_any_aad_component_fails(
        plaintext in prop::collection::vec(any::<u8>(), 0..64),
        table in prop::sample::select(TABLES),
        other_table in prop::sample::select(TABLES),
        column in prop::sample::select(COLUMNS),
        other_column in prop::sample::select(COLUMNS),
        row in row_id(),
        other_row in row_id(),
        version in 0..u32::MAX,
        seed: u64,
    ) {
        let key = dek(seed, version);
        let ctx = AadContext::new(table, column, row.clone());
        let sealed = seal(&key, &ctx, &plaintext, &mut StdRng::seed_from_u64(seed)).unwrap();
        prop_assert!(opens_to(&key, &ctx, &sealed, &plaintext));

        if other_table != table {
            prop_assert!(open(&key, &AadContext::new(other_table, column, row.clone()), &sealed).is_err());
        }
        if other_column != column {
            prop_assert!(open(&key, &AadContext::new(table, other_column, row.clone()), &sealed).is_err());
        }
        if other_row != row {
            prop_assert!(open(&key, &AadContext::new(table, column, other_row), &sealed).is_err());
        }

        // Relabelling: same key bytes presented as the next version, envelope header edited to match.
        let relabelled_key = dek(seed, version + 1);
        let mut relabelled = sealed.clone();
        relabelled[1..5].copy_from_slice(&(version + 1).to_be_bytes());
        prop_assert!(matches!(open(&relabelled_key, &ctx, &relabelled), Err(VaultError::AuthenticationFailed)));
        prop_assert!(open(&key, &ctx, &relabelled).is_err());
    }

    #[test]
    fn ciphertext_swapped_between_rows_fails(
        a in prop::collection::vec(any::<u8>(), 0..64),
        b in prop::collection::vec(any::<u8>(), 0..64),
        row_a: i64,
        row_b: i64,
        seed: u64,
    ) {
        prop_assume!(row_a != row_b);
        let key = dek(seed, 1);
        let mut rng = StdRng::seed_from_u64(seed);
        let sealed_a = seal(&key, &NAME.row(row_a), &a, &mut rng).unwrap();
        let sealed_b = seal(&key, &NAME.row(row_b), &b, &mut rng).unwrap();
        prop_assert!(open(&key, &NAME.row(row_a), &sealed_b).is_err());
        prop_assert!(open(&key, &NAME.row(row_b), &sealed_a).is_err());
        prop_assert!(opens_to(&key, &NAME.row(row_a), &sealed_a, &a));
        prop_assert!(opens_to(&key, &NAME.row(row_b), &sealed_b, &b));
    }

    #[test]
    fn wrap_unwrap_round_trip_and_wrong_kek_fails(
        mission in "[a-z]{2,10}(-[a-z]{2,10})?",
        other_mission in "[a-z]{2,10}(-[a-z]{2,10})?",
        dek_version: u32,
        kek_version: u32,
        seed: u64,
    ) {
        let data_key = dek(seed, dek_version);
        let right = kek(seed ^ 0xAAAA, kek_version);
        let mut rng = StdRng::seed_from_u64(seed);
        let wrapped = wrap_key(&data_key, &right, &mission, &mut rng).unwrap();
        let header = WrappedKey::decode(&wrapped).unwrap();
        prop_assert_eq!((header.kek_version(), header.dek_version()), (KeyVersion(kek_version), KeyVersion(dek_version)));

        let back = unwrap_key(&wrapped, &right, &mission).unwrap();
        prop_assert_eq!(back.version(), KeyVersion(dek_version));
        let ctx = AadContext::new("t", "c", 1_i64);
        let sealed = seal(&data_key, &ctx, b"value", &mut rng).unwrap();
        prop_assert!(opens_to(&back, &ctx, &sealed, b"value"));

        let wrong = kek(seed ^ 0x5555, kek_version);
        prop_assert!(matches!(unwrap_key(&wrapped, &wrong, &mission), Err(VaultError::AuthenticationFailed)));
        let wrong_version = kek(seed ^ 0xAAAA, kek_version.wrapping_add(1));
        let mismatch = matches!(unwrap_key(&wrapped, &wrong_version, &mission), Err(VaultError::KeyVersionMismatch { .. }));
        prop_assert!(mismatch);
        if other_mission != mission {
            prop_assert!(unwrap_key(&wrapped, &right, &other_mission).is_err());
        }
    }

    #[test]
    fn rewrap_keeps_key_and_old_kek_no_longer_unwraps(seed: u64, old_version in 0..u32::MAX) {
        let data_key = dek(seed, 3);
        let old = kek(seed ^ 1, old_version);
        let new = kek(seed ^ 2, old_version + 1);
        let mut rng = StdRng::seed_from_u64(seed);
        let wrapped = wrap_key(&data_key, &old, "pl-warsaw", &mut rng).unwrap();
        let rewrapped = rewrap(&wrapped, &old, &new, "pl-warsaw", &mut rng).unwrap();
        prop_assert_eq!(WrappedKey::decode(&rewrapped).unwrap().kek_version(), KeyVersion(old_version + 1));

        let ctx = AadContext::new("t", "c", "row");
        let sealed = seal(&data_key, &ctx, b"kept", &mut rng).unwrap();
        prop_assert!(opens_to(&unwrap_key(&rewrapped, &new, "pl-warsaw").unwrap(), &ctx, &sealed, b"kept"));
        prop_assert!(unwrap_key(&rewrapped, &old, "pl-warsaw").is_err());
        // Even the old KEK's bytes relabelled with the new version do not unwrap it.
        prop_assert!(unwrap_key(&rewrapped, &kek(seed ^ 1, old_version + 1), "pl-warsaw").is_err());
    }

    #[test]
    fn reencrypt_keeps_data_and_old_key_no_longer_opens(
        plaintext in prop::collection::vec(any::<u8>(), 0..512),
        ctx in context(),
        seed: u64,
    ) {
        let old = dek(seed, 1);
        let new = dek(seed ^ 0xFFFF, 2);
        let mut rng = StdRng::seed_from_u64(seed);
        let sealed = seal(&old, &ctx, &plaintext, &mut rng).unwrap();
        let moved = reencrypt(&sealed, &old, &new, &ctx, &mut rng).unwrap();
        prop_assert_eq!(Envelope::decode(&moved).unwrap().key_version(), KeyVersion(2));
        prop_assert!(opens_to(&new, &ctx, &moved, &plaintext));
        prop_assert!(open(&old, &ctx, &moved).is_err());
        prop_assert!(open(&dek(seed, 2), &ctx, &moved).is_err(), "old key bytes relabelled as v2 must fail");

        let mut ring = Keyring::new(old);
        ring.rotate(new).unwrap();
        prop_assert!(ring.open(&ctx, &sealed).is_ok_and(|p| p.expose_secret() == plaintext.as_slice()));
        prop_assert!(ring.open(&ctx, &moved).is_ok_and(|p| p.expose_secret() == plaintext.as_slice()));
        prop_assert!(ring.reencrypt_to_current(&moved, &ctx, &mut rng).unwrap().is_none());
    }

    #[test]
    fn decoding_and_opening_arbitrary_bytes_never_panics(
        mut bytes in prop::collection::vec(any::<u8>(), 0..200),
        force_known_format: bool,
    ) {
        // Mostly-random input rarely starts with the format byte; forcing it reaches the deeper paths.
        if let (true, Some(first)) = (force_known_format, bytes.first_mut()) {
            *first = 1;
        }
        let key = dek(0, u32::from_be_bytes([0, 0, 0, 1]));
        let ctx = AadContext::new("t", "c", 1_i64);
        if let Ok(env) = Envelope::decode(&bytes) {
            prop_assert_eq!(env.encode(), bytes.clone());
        }
        prop_assert!(open(&key, &ctx, &bytes).is_err());
        prop_assert!(Keyring::new(dek(0, 1)).open(&ctx, &bytes).is_err());
        if let Ok(w) = WrappedKey::decode(&bytes) {
            prop_assert_eq!(w.encode(), bytes.clone());
        }
        prop_assert!(unwrap_key(&bytes, &kek(0, 1), "m").is_err());
    }

    #[test]
    fn decode_errors_are_precise(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
        match Envelope::decode(&bytes) {
            Ok(_) => prop_assert!(bytes[0] == 1 && bytes.len() >= legion_vault::MIN_ENVELOPE_LEN),
            Err(VaultError::Truncated { actual, .. }) => {
                prop_assert_eq!(actual, bytes.len());
                prop_assert!(bytes.len() < legion_vault::MIN_ENVELOPE_LEN);
            }
            Err(VaultError::UnknownFormatVersion { version, .. }) => prop_assert!(version != 1 && bytes[0] == version),
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    #[test]
    fn blind_index_separates_fields(value in prop::collection::vec(any::<u8>(), 0..64), seed: u64) {
        let key = IndexKey::generate(&mut StdRng::seed_from_u64(seed)).unwrap();
        let passport = legion_vault::IndexField::new("passport");
        let email = legion_vault::IndexField::new("email");
        prop_assert_eq!(blind_index(&key, passport, &value), blind_index(&key, passport, &value));
        prop_assert_ne!(blind_index(&key, passport, &value), blind_index(&key, email, &value));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn key_file_accepts_only_owner_permissions(mode in 0o400u32..0o1000) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.key");
        std::fs::write(&path, [9u8; 32]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let result = KeyFile::load(&path);
        if mode & 0o077 != 0 {
            let refused = matches!(result, Err(VaultError::KeyFilePermissions { mode: m, .. }) if m == mode);
            prop_assert!(refused);
        } else {
            let file = result.unwrap();
            prop_assert_eq!(file.key().expose_secret(), &[9u8; 32]);
        }
    }
}
