//! Every verifier must refuse each wrong token with its reason: the generated corpus, here
//! through the library itself.

use legion_credential::corpus::{self, Fixture, VALID};
use legion_credential::{RevocationList, TrustList, Verifier};

#[test]
fn ten_thousand_generated_tokens_get_their_verdicts() {
    let mut fixture = Fixture::new(7);
    let cases = corpus::cases(&mut fixture, 12_000, 11);
    let trust = TrustList::from_json(&fixture.trust_json, Some(&fixture.root.public_key())).unwrap();
    let revocations = RevocationList::from_json(&fixture.revocations_json(), &fixture.root.public_key()).unwrap();
    let verifier = Verifier::new(&trust, Some(&revocations));
    let mut by_code = std::collections::BTreeMap::<&str, usize>::new();
    let mut wrong = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let got = match verifier.verify(&case.token, fixture.now) {
            Ok(_) => VALID,
            Err(r) => r.code(),
        };
        *by_code.entry(case.expected).or_default() += 1;
        if got != case.expected {
            wrong.push((i, case.expected, got));
        }
    }
    assert!(wrong.is_empty(), "{} wrong verdicts, first: {:?}", wrong.len(), &wrong[..wrong.len().min(10)]);
    let negatives: usize = by_code.iter().filter(|(c, _)| **c != VALID).map(|(_, n)| n).sum();
    assert!(negatives >= 10_000, "{negatives} negatives");
    for code in [
        "bad_prefix",
        "bad_encoding",
        "bad_compression",
        "oversized",
        "not_cose",
        "wrong_algorithm",
        "missing_kid",
        "unknown_kid",
        "key_not_valid",
        "bad_signature",
        "bad_claims",
        "wrong_issuer",
        "wrong_purpose",
        "not_yet_valid",
        "expired",
        "revoked",
    ] {
        assert!(by_code.get(code).copied().unwrap_or(0) >= 300, "too few {code}: {by_code:?}");
    }
}

#[test]
fn without_the_revocation_list_revoked_tokens_pass_and_nothing_else_changes() {
    let mut fixture = Fixture::new(3);
    let cases = corpus::cases(&mut fixture, 520, 5);
    let trust = TrustList::from_json(&fixture.trust_json, None).unwrap();
    let verifier = Verifier::new(&trust, None);
    for case in &cases {
        let got = verifier.verify(&case.token, fixture.now).map_or_else(|r| r.code(), |_| VALID);
        let expected = if case.expected == "revoked" { VALID } else { case.expected };
        assert_eq!(got, expected, "{}", case.token);
    }
}
