//! Untrusted request bodies: any bytes that parse as JSON go through the application-form
//! parser, which must never panic and must accept only what it can round-trip.
#![no_main]

use legion_domain::ApplicantDetails;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let today = chrono::NaiveDate::from_ymd_opt(2022, 3, 5).unwrap();
    if let Ok(details) = ApplicantDetails::parse(&value, today) {
        let again = serde_json::to_value(&details).unwrap();
        let back: ApplicantDetails = serde_json::from_value(again).unwrap();
        assert_eq!(back, details);
    }
});
