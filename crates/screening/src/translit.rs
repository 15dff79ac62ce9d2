//! Transliteration of names to Latin keys.

/// The Latin spellings of a name, one per applicable scheme, deduplicated; the input's own
/// form first when it is already Latin.
pub fn latin_forms(name: &str) -> Vec<String> {
    vec![any_ascii::any_ascii(name)]
}
