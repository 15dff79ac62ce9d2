//! Interoperability with an independent COSE implementation: Python's `pycose` 1.1 (with
//! `cbor2` below 6 and `base45`, from `PyPI`; `.ci/run` installs them) verifies Legion's tokens,
//! and Legion verifies a token pycose signs. Fails, never skips, when the peer is missing.

use std::process::Command;

use legion_credential::corpus::Fixture;
use legion_credential::{IssuerKey, RootKey, TrustList, TrustedKey, Verifier};
use rand::SeedableRng;

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/pycose_peer.py");

fn peer(args: &[&str]) -> std::process::Output {
    let out = Command::new("python3").arg(PEER).args(args).output().expect("python3 runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("ModuleNotFoundError"),
        "the COSE peer needs pycose 1.1, cbor2<6 and base45: python3 -m pip install 'pycose==1.1.*' 'cbor2<6' base45 (.ci/run does)\n{err}"
    );
    out
}

#[test]
fn pycose_verifies_legion_tokens_and_refuses_a_changed_one() {
    let fixture = Fixture::new(21);
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let claims = fixture.claims("de-berlin", &mut rng);
    let token = fixture.issuers[1].issue(&claims);
    let dir = tempfile::tempdir().unwrap();
    let (token_file, trust_file) = (dir.path().join("token.txt"), dir.path().join("trust.json"));
    std::fs::write(&token_file, &token).unwrap();
    std::fs::write(&trust_file, &fixture.trust_json).unwrap();
    let out = peer(&["verify", token_file.to_str().unwrap(), trust_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["alg"], "EdDSA");
    assert_eq!(seen["iss"], "de-berlin");
    assert_eq!(seen["cti"], claims.id.to_string());
    assert_eq!(seen["exp"], claims.expires);
    assert_eq!(seen["purpose"], "entry authorisation v1");
    assert_eq!(seen["family_name"], claims.holder.family_name.as_str());
    assert_eq!(seen["passport_number"], claims.holder.passport_number.as_str());
    assert_eq!(seen["entry_window"][1], claims.entry_until.to_string());

    // A token signed over other claims under the same key id: pycose refuses it too.
    let other = fixture.claims("de-berlin", &mut rng);
    let mut sign1 = <coset::CoseSign1 as coset::TaggedCborSerializable>::from_tagged_slice(
        &fixture.issuers[1].sign_payload(&claims.to_cbor()),
    )
    .unwrap();
    sign1.payload = Some(other.to_cbor());
    let forged = legion_credential::corpus::pack(&coset::TaggedCborSerializable::to_tagged_vec(sign1).unwrap());
    std::fs::write(&token_file, forged).unwrap();
    let out = peer(&["verify", token_file.to_str().unwrap(), trust_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn legion_verifies_a_token_pycose_signs() {
    let seed = [42u8; 32];
    let issuer = IssuerKey::from_seed("nl-hague", &seed);
    let now = 1_800_000_000_i64;
    let hex = "2a".repeat(32);
    let out = peer(&["sign", &hex, "nl-hague", &now.to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let root = RootKey::from_seed(&[1; 32]);
    let list = TrustList { issued_at: now - 10, expires: now + 86_400, keys: vec![TrustedKey::open(&issuer)] };
    let trust = TrustList::from_json(&root.sign_trust_list(&list), Some(&root.public_key())).unwrap();
    let verified = Verifier::new(&trust, None).verify(&token, now).expect("a pycose token verifies");
    assert_eq!(verified.kid, issuer.kid());
    assert_eq!(verified.claims.issuer, "nl-hague");
    assert_eq!(verified.claims.holder.family_name, "PYTHON");
    assert_eq!(verified.claims.holder.passport_number, "NP1234567");
    assert_eq!(verified.claims.id.to_string(), "6b0d8c4e-1f5a-4c9b-9b7e-3d2a1c0f9e8d");
    // Signed by pycose with another key under this kid: refused.
    let out = peer(&["sign", &"07".repeat(32), "nl-hague", &now.to_string()]);
    let stranger = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(Verifier::new(&trust, None).verify(&stranger, now).unwrap_err().code(), "unknown_kid");
}
