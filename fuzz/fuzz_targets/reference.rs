//! Case references typed by people: parsing never panics, and what parses is canonical.
#![no_main]

use legion_domain::{PassportNumber, Reference};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Some(r) = Reference::parse(s) {
        assert_eq!(Reference::parse(r.as_str()), Some(r));
    }
    if let Ok(p) = PassportNumber::parse(s) {
        assert_eq!(PassportNumber::parse(p.as_str()), Ok(p));
    }
});
