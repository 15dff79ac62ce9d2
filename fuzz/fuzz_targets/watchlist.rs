//! Watchlist files: no reader panics on any input, and what they import keeps its promises
//! (an id, at least one name, no repeated names, nationalities as assigned upper-case codes).
#![no_main]

use legion_screening::import::{Country, Format, country_from_code, read};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for format in [Format::FollowTheMoney, Format::UnXml, Format::Csv] {
        let mut last = 0;
        let Ok(imported) = read(format, data, &mut |n| {
            assert!(n >= last);
            last = n;
        }) else {
            continue;
        };
        assert!(last <= data.len() as u64);
        for entry in imported.entries.iter() {
            assert!(!entry.id.is_empty());
            let names = &entry.subject.names;
            assert!(!names.is_empty());
            for (i, name) in names.iter().enumerate() {
                assert!(!name.is_empty() && !names[..i].contains(name));
            }
            for code in &entry.subject.nationalities {
                assert!(matches!(country_from_code(code), Country::Code(c) if c == code));
            }
        }
    }
});
