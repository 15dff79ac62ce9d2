//! Entry authorisations and the lists that check them, from untrusted bytes: the decoder
//! answers every input with a verdict and never panics; what it admits was signed by a
//! trusted key, and re-encoding the claims it read signs to a token that verifies too.
#![no_main]

use std::sync::LazyLock;

use legion_credential::corpus::{Fixture, pack};
use legion_credential::{RevocationList, TrustList, Verifier, decode_unverified};
use libfuzzer_sys::fuzz_target;

static FIXTURE: LazyLock<(Fixture, TrustList)> = LazyLock::new(|| {
    let fixture = Fixture::new(1);
    let trust = TrustList::from_json(&fixture.trust_json, None).expect("own list");
    (fixture, trust)
});

fuzz_target!(|data: &[u8]| {
    let (fixture, trust) = &*FIXTURE;
    let verifier = Verifier::new(trust, None);
    let text = String::from_utf8_lossy(data);
    for candidate in [text.to_string(), pack(data)] {
        let _ = decode_unverified(&candidate);
        if let Ok(verified) = verifier.verify(&candidate, fixture.now) {
            let issuer = fixture.issuers.iter().find(|k| k.kid() == verified.kid).expect("a trusted key signed it");
            let again = issuer.issue(&verified.claims);
            assert_eq!(verifier.verify(&again, fixture.now).map(|v| v.claims), Ok(verified.claims));
        }
    }
    let _ = TrustList::from_json(&text, None);
    let _ = RevocationList::from_json(&text, &fixture.root.public_key());
});
