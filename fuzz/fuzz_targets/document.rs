//! Uploaded files: recognising their type never panics, accepts only what starts with the
//! type's own signature, and the names a client sends for kinds and types parse canonically.
#![no_main]

use legion_domain::{DocumentKind, DocumentType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(t) = DocumentType::sniff(data) {
        let signature: &[u8] = match t {
            DocumentType::Pdf => b"%PDF-",
            DocumentType::Jpeg => &[0xFF, 0xD8, 0xFF],
            DocumentType::Png => b"\x89PNG\r\n\x1a\n",
        };
        assert!(data.starts_with(signature));
    }
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Some(k) = DocumentKind::parse(s) {
        assert_eq!(k.as_str(), s);
    }
    if let Some(t) = DocumentType::parse(s) {
        assert_eq!(t.mime(), s);
    }
});
