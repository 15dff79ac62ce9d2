//! The C2SP signed-note envelope (<https://c2sp.org/signed-note>), as implemented by
//! `golang.org/x/mod/sumdb/note`: text, a blank line, then `— <key name> <base64>` lines.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

use crate::AuditError;

/// The largest note [`CheckpointVerifier::verify`](crate::CheckpointVerifier::verify) reads.
///
/// A checkpoint with a handful of signatures is well under a kilobyte; the bound only stops a
/// hostile file from making the verifier hold or scan arbitrary amounts of memory.
pub const MAX_NOTE_LEN: usize = 1 << 20;

/// The most signature lines a note may carry, as in Go's `note.Open`; the C2SP spec asks
/// verifiers to accept at least 16.
pub const MAX_SIGNATURES: usize = 100;

/// Signature type byte for Ed25519 keys, used in key hashes and key text.
pub(crate) const ALG_ED25519: u8 = 0x01;

const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// A parsed but not yet verified note.
#[derive(Debug)]
pub(crate) struct Envelope<'a> {
    /// Everything before the blank line, including the text's final newline: the signed bytes.
    pub(crate) text: &'a str,
    pub(crate) signatures: Vec<SignatureLine<'a>>,
}

#[derive(Debug)]
pub(crate) struct SignatureLine<'a> {
    pub(crate) key_name: &'a str,
    pub(crate) key_hash: u32,
    /// The signature proper, after the four key-hash bytes.
    pub(crate) signature: Vec<u8>,
}

/// Key names must be non-empty and free of Unicode whitespace and `+`, which key text uses as a
/// separator.
pub(crate) fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// The C2SP key ID: the first four bytes of `SHA-256(name ‖ "\n" ‖ type ‖ public key)`, big-endian.
pub(crate) fn key_hash(name: &str, typed_public_key: &[u8]) -> u32 {
    let digest = Sha256::new().chain_update(name).chain_update(b"\n").chain_update(typed_public_key).finalize();
    u32::from_be_bytes(digest[..4].try_into().expect("SHA-256 is longer than 4 bytes"))
}

/// One signature line, newline included.
pub(crate) fn signature_line(key_name: &str, key_hash: u32, signature: &[u8]) -> String {
    let mut blob = Vec::with_capacity(4 + signature.len());
    blob.extend_from_slice(&key_hash.to_be_bytes());
    blob.extend_from_slice(signature);
    format!("{SIGNATURE_PREFIX}{key_name} {}\n", STANDARD.encode(blob))
}

/// Splits a note into its text and signature lines and checks their syntax, without verifying
/// anything.
pub(crate) fn parse(note: &[u8]) -> Result<Envelope<'_>, AuditError> {
    if note.len() > MAX_NOTE_LEN {
        return Err(AuditError::NoteTooLarge { len: note.len(), max: MAX_NOTE_LEN });
    }
    let note = std::str::from_utf8(note).map_err(|_| AuditError::NoteNotUtf8)?;
    if note.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(AuditError::NoteControlCharacter);
    }
    // The text may itself contain blank lines, so the signatures start after the last one.
    let split = note.rfind("\n\n").ok_or(AuditError::MissingSignatureBlock)?;
    let (text, block) = (&note[..=split], &note[split + 2..]);
    let Some(block) = block.strip_suffix('\n') else {
        return Err(AuditError::MissingSignatureBlock);
    };
    let mut signatures = Vec::new();
    for (i, line) in block.split('\n').enumerate() {
        if i == MAX_SIGNATURES {
            return Err(AuditError::TooManySignatures { max: MAX_SIGNATURES });
        }
        signatures.push(parse_signature_line(line).ok_or(AuditError::MalformedSignatureLine { line: i + 1 })?);
    }
    Ok(Envelope { text, signatures })
}

fn parse_signature_line(line: &str) -> Option<SignatureLine<'_>> {
    let (key_name, encoded) = line.strip_prefix(SIGNATURE_PREFIX)?.split_once(' ')?;
    if !is_valid_key_name(key_name) {
        return None;
    }
    let mut blob = STANDARD.decode(encoded).ok()?;
    if blob.len() < 5 {
        return None;
    }
    let signature = blob.split_off(4);
    Some(SignatureLine { key_name, key_hash: u32::from_be_bytes(blob.try_into().ok()?), signature })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names() {
        for good in ["a", "example.com/log", "PeterNeumann", "ünïcode"] {
            assert!(is_valid_key_name(good), "{good}");
        }
        for bad in ["", "a b", "a+b", "a\tb", "a\u{a0}b", "a\u{2003}b", "a\nb"] {
            assert!(!is_valid_key_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn envelope_splits_at_the_last_blank_line() {
        let line = signature_line("k", 7, &[1, 2, 3]);
        let note = format!("a\n\nb\n\n{line}{line}");
        let envelope = parse(note.as_bytes()).unwrap();
        assert_eq!(envelope.text, "a\n\nb\n");
        assert_eq!(envelope.signatures.len(), 2);
        assert_eq!(envelope.signatures[0].key_name, "k");
        assert_eq!(envelope.signatures[0].key_hash, 7);
        assert_eq!(envelope.signatures[0].signature, [1, 2, 3]);
    }

    #[test]
    fn envelope_rejects_malformed_notes() {
        let line = signature_line("k", 7, &[1, 2, 3]);
        let cases: Vec<(String, AuditError)> = vec![
            ("a\n".into(), AuditError::MissingSignatureBlock),
            ("a\n\n".into(), AuditError::MissingSignatureBlock),
            (format!("a\n\n{}", line.trim_end()), AuditError::MissingSignatureBlock),
            (format!("\u{1}a\n\n{line}"), AuditError::NoteControlCharacter),
            (format!("a\r\n\n{line}"), AuditError::NoteControlCharacter),
            (format!("a\n\n{line}Unexpected line.\n"), AuditError::MalformedSignatureLine { line: 2 }),
            // A trailing blank line moves the split past the signatures.
            (format!("a\n\n{line}\n"), AuditError::MissingSignatureBlock),
            ("a\n\n— k\n".into(), AuditError::MalformedSignatureLine { line: 1 }),
            ("a\n\n— k \n".into(), AuditError::MalformedSignatureLine { line: 1 }),
            ("a\n\n— a+b AAAAAAA=\n".into(), AuditError::MalformedSignatureLine { line: 1 }),
            ("a\n\n— k AAAA\n".into(), AuditError::MalformedSignatureLine { line: 1 }),
            ("a\n\n— k AAAAAAA\n".into(), AuditError::MalformedSignatureLine { line: 1 }),
            ("a\n\n— k AAAAAAB=\n".into(), AuditError::MalformedSignatureLine { line: 1 }),
            ("a\n\n— k  AAAAAAA=\n".into(), AuditError::MalformedSignatureLine { line: 1 }),
            ("a\n\n-- k AAAAAAA=\n".into(), AuditError::MalformedSignatureLine { line: 1 }),
            (
                format!("a\n\n{}", line.repeat(MAX_SIGNATURES + 1)),
                AuditError::TooManySignatures { max: MAX_SIGNATURES },
            ),
        ];
        for (note, want) in cases {
            assert_eq!(parse(note.as_bytes()).unwrap_err(), want, "{note:?}");
        }
        assert!(parse(format!("a\n\n{}", line.repeat(MAX_SIGNATURES)).as_bytes()).is_ok());
        assert_eq!(parse(b"\xffa\n\n").unwrap_err(), AuditError::NoteNotUtf8);
        let huge = vec![b'a'; MAX_NOTE_LEN + 1];
        assert_eq!(parse(&huge).unwrap_err(), AuditError::NoteTooLarge { len: MAX_NOTE_LEN + 1, max: MAX_NOTE_LEN });
    }
}
