//! Name-variant dictionaries: reading never panics on any input, and every lookup of a
//! spelling of a group read finds that group.
#![no_main]

use legion_screening::variants::Variants;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((variants, _)) = Variants::read(data, |_| true) else { return };
    assert!(variants.spellings() >= 2 * variants.len());
    let Ok(text) = std::str::from_utf8(data) else { return };
    for line in text.lines() {
        let Some((forms, _)) = line.rsplit_once("=>") else { continue };
        for form in forms.split(',') {
            let groups = variants.groups(form.trim());
            assert!(groups.windows(2).all(|w| w[0] < w[1]));
            assert!(groups.iter().all(|&g| (g as usize) < variants.len()));
        }
    }
});
