//! Signed trust and revocation lists: what loads, what is refused, and the properties of
//! the token format.

use ed25519_dalek::VerifyingKey;
use legion_credential::corpus::Fixture;
use legion_credential::{
    Claims, IssuerKey, ListError, PREFIX, Refusal, RevocationList, RootKey, TrustList, TrustedKey, Verifier, canonical,
    decode_unverified,
};
use proptest::prelude::*;
use rand::SeedableRng;

fn list(keys: Vec<TrustedKey>) -> TrustList {
    TrustList { issued_at: 100, expires: 2_000_000_000, keys }
}

#[test]
fn a_trust_list_round_trips_and_any_change_breaks_its_signature() {
    let root = RootKey::from_seed(&[1; 32]);
    let a = IssuerKey::from_seed("pl-warsaw", &[2; 32]);
    let b = IssuerKey::from_seed("de-berlin", &[3; 32]);
    let original =
        list(vec![TrustedKey::open(&a), TrustedKey { not_after: Some(1_900_000_000), ..TrustedKey::open(&b) }]);
    let json = root.sign_trust_list(&original);
    assert_eq!(TrustList::from_json(&json, Some(&root.public_key())).unwrap(), original);
    // The keys array is a plain JWK Set entry by entry.
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["keys"][0]["kty"], "OKP");
    assert_eq!(v["keys"][0]["crv"], "Ed25519");
    assert_eq!(v["keys"][1]["exp"], 1_900_000_000);
    for (from, to) in [("pl-warsaw", "pl-krakow"), ("\"expires_at\": 2000000000", "\"expires_at\": 2000000001")] {
        assert!(json.contains(from), "{from}");
        let changed = json.replace(from, to);
        assert_eq!(TrustList::from_json(&changed, None), Err(ListError::BadSignature), "{to}");
    }
    // Reordering members or whitespace does not matter: the signature covers the content.
    let mut reordered: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&json).unwrap();
    let keys = reordered.remove("keys").unwrap();
    reordered.insert("keys".into(), keys);
    assert!(TrustList::from_json(&serde_json::to_string(&reordered).unwrap(), Some(&root.public_key())).is_ok());
}

#[test]
fn lists_signed_by_another_root_or_of_another_kind_are_refused() {
    let root = RootKey::from_seed(&[1; 32]);
    let other = RootKey::from_seed(&[9; 32]);
    let a = IssuerKey::from_seed("pl-warsaw", &[2; 32]);
    let json = other.sign_trust_list(&list(vec![TrustedKey::open(&a)]));
    assert_eq!(TrustList::from_json(&json, Some(&root.public_key())), Err(ListError::WrongRoot));
    assert!(TrustList::from_json(&json, None).is_ok());
    let rev = RevocationList { seq: 3, issued_at: 10, expires: 20, revoked: std::collections::BTreeSet::new() };
    let rev_json = other.sign_revocations(&rev);
    assert_eq!(RevocationList::from_json(&rev_json, &root.public_key()), Err(ListError::WrongRoot));
    assert_eq!(RevocationList::from_json(&rev_json, &other.public_key()).unwrap(), rev);
    assert_eq!(TrustList::from_json(&rev_json, None), Err(ListError::WrongType("legion-trust-list")));
    assert_eq!(TrustList::from_json("[1]", None), Err(ListError::Json));
}

#[test]
fn keys_with_a_foreign_kid_or_small_order_are_refused() {
    let root = RootKey::from_seed(&[1; 32]);
    let a = IssuerKey::from_seed("pl-warsaw", &[2; 32]);
    let lying = TrustedKey { kid: [0; 8], ..TrustedKey::open(&a) };
    let json = root.sign_trust_list(&list(vec![lying]));
    assert!(matches!(TrustList::from_json(&json, None), Err(ListError::BadKey(_))));
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = VerifyingKey::from_bytes(&identity).unwrap();
    let weak = TrustedKey { key: weak, kid: legion_credential::kid_of(&weak), ..TrustedKey::open(&a) };
    let json = root.sign_trust_list(&list(vec![weak]));
    assert_eq!(TrustList::from_json(&json, None), Err(ListError::BadKey("x is a small-order point")));
}

#[test]
fn expired_lists_refuse_every_token() {
    let mut fixture = Fixture::new(1);
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let claims = fixture.claims("pl-warsaw", &mut rng);
    let token = fixture.issuers[0].issue(&claims);
    let trust = TrustList::from_json(&fixture.trust_json, None).unwrap();
    fixture.revocations.expires = fixture.now;
    let rev = RevocationList::from_json(&fixture.revocations_json(), &fixture.root.public_key()).unwrap();
    assert_eq!(Verifier::new(&trust, None).verify(&token, fixture.now).map(|v| v.claims), Ok(claims));
    assert_eq!(Verifier::new(&trust, Some(&rev)).verify(&token, fixture.now), Err(Refusal::RevocationListExpired));
    assert_eq!(Verifier::new(&trust, None).verify(&token, trust.expires), Err(Refusal::TrustListExpired));
}

#[test]
fn canonical_form_sorts_members_and_refuses_fractions() {
    let v: serde_json::Value = serde_json::from_str(r#"{"b": [1, {"z": "é\n", "a": null}], "a": true}"#).unwrap();
    assert_eq!(canonical(&v).unwrap(), r#"{"a":true,"b":[1,{"a":null,"z":"é\n"}]}"#);
    assert_eq!(canonical(&serde_json::json!({"x": 1.5})), None);
}

fn any_claims() -> impl Strategy<Value = Claims> {
    (
        any::<[u8; 16]>(),
        "[A-Z ]{1,40}",
        "[A-Z ]{0,40}",
        0i64..4_000_000_000,
        1i64..100_000_000,
        0u32..3000,
        proptest::option::of("[a-z0-9-]{1,30}"),
    )
        .prop_map(|(id, family, given, nbf, span, day, group)| {
            let from = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(u64::from(day));
            Claims {
                issuer: "pl-warsaw".into(),
                id: uuid::Uuid::from_bytes(id),
                issued_at: nbf,
                not_before: nbf,
                expires: nbf + span,
                purpose: legion_credential::PURPOSE.into(),
                holder: legion_credential::Holder {
                    family_name: family,
                    given_names: given,
                    date_of_birth: "1990-01-01".into(),
                    nationality: "GB".into(),
                    passport_number: "123456789".into(),
                },
                entry_from: from,
                entry_until: from + chrono::Days::new(30),
                group,
            }
        })
}

proptest! {
    #[test]
    fn claims_round_trip_through_a_token(claims in any_claims()) {
        let issuer = IssuerKey::from_seed("pl-warsaw", &[5; 32]);
        let token = issuer.issue(&claims);
        prop_assert!(token.len() < 600, "{} characters", token.len());
        let (kid, back) = decode_unverified(&token).unwrap();
        prop_assert_eq!(kid, issuer.kid());
        prop_assert_eq!(back, claims);
    }

    #[test]
    fn no_changed_character_leaves_a_token_valid(claims in any_claims(), at in any::<prop::sample::Index>(), with in "[0-9A-Z $%*+./:-]") {
        let issuer = IssuerKey::from_seed("pl-warsaw", &[5; 32]);
        let trust = list(vec![TrustedKey::open(&issuer)]);
        let token = issuer.issue(&claims);
        let at = PREFIX.len() + at.index(token.len() - PREFIX.len());
        let mut changed = token.clone();
        changed.replace_range(at..=at, &with);
        prop_assume!(changed != token);
        prop_assert!(Verifier::new(&trust, None).verify(&changed, claims.not_before).is_err());
    }

    #[test]
    fn any_text_is_answered_without_panic(text in ".{0,300}", bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let issuer = IssuerKey::from_seed("pl-warsaw", &[5; 32]);
        let trust = list(vec![TrustedKey::open(&issuer)]);
        let v = Verifier::new(&trust, None);
        prop_assert!(v.verify(&text, 0).is_err());
        let wrapped = format!("{}{}", PREFIX, base45::encode(&bytes));
        prop_assert!(v.verify(&wrapped, 0).is_err());
        let packed = legion_credential::corpus::pack(&bytes);
        prop_assert!(v.verify(&packed, 0).is_err());
    }
}
