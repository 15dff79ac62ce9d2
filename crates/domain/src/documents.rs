//! Documents an applicant uploads: what kinds there are, which file types are accepted
//! (recognised by their content, never by a name or a declared type), and when a case
//! still takes them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::State;

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// A scan of the passport's photo page.
    PassportScan,
    /// Proof of military or law-enforcement service.
    ServiceRecord,
    /// A criminal-record certificate from the country of residence.
    CriminalRecordCertificate,
}

impl DocumentKind {
    /// Every kind, in the order forms offer them.
    pub const ALL: [DocumentKind; 3] =
        [DocumentKind::PassportScan, DocumentKind::ServiceRecord, DocumentKind::CriminalRecordCertificate];

    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::PassportScan => "passport_scan",
            DocumentKind::ServiceRecord => "service_record",
            DocumentKind::CriminalRecordCertificate => "criminal_record_certificate",
        }
    }

    /// Parses the stored and wire form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The file types accepted, as recognised from the first bytes of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum DocumentType {
    /// `application/pdf`.
    #[serde(rename = "application/pdf")]
    Pdf,
    /// `image/jpeg`.
    #[serde(rename = "image/jpeg")]
    Jpeg,
    /// `image/png`.
    #[serde(rename = "image/png")]
    Png,
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

impl DocumentType {
    /// Every accepted type.
    pub const ALL: [DocumentType; 3] = [DocumentType::Pdf, DocumentType::Jpeg, DocumentType::Png];

    /// Recognises a file by its signature: `%PDF-` (PDF), `FF D8 FF` (JPEG) or the
    /// eight-byte PNG signature. Anything else, whatever it is called, is `None`.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"%PDF-") {
            Some(DocumentType::Pdf)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(DocumentType::Jpeg)
        } else if bytes.starts_with(PNG_SIGNATURE) {
            Some(DocumentType::Png)
        } else {
            None
        }
    }

    /// The media type.
    pub fn mime(self) -> &'static str {
        match self {
            DocumentType::Pdf => "application/pdf",
            DocumentType::Jpeg => "image/jpeg",
            DocumentType::Png => "image/png",
        }
    }

    /// Parses a media type as stored.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.mime() == s)
    }

    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            DocumentType::Pdf => "pdf",
            DocumentType::Jpeg => "jpg",
            DocumentType::Png => "png",
        }
    }
}

impl State {
    /// Whether the applicant may still upload documents: from submission until a decision
    /// is recommended. Once a mission head decides, or the case is closed, the file is
    /// what it was decided on.
    pub fn accepts_documents(self) -> bool {
        matches!(
            self,
            State::Submitted
                | State::Screening
                | State::VettingHold
                | State::MissionReview
                | State::InfoRequested
                | State::InterviewScheduled
                | State::Interviewed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_recognised_by_content_only() {
        assert_eq!(DocumentType::sniff(b"%PDF-1.7\n..."), Some(DocumentType::Pdf));
        assert_eq!(DocumentType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Some(DocumentType::Jpeg));
        assert_eq!(DocumentType::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(DocumentType::Png));
        assert_eq!(DocumentType::sniff(b"This is not a PDF, only named like one."), None);
        assert_eq!(DocumentType::sniff(b"%PDF"), None, "a truncated signature is not enough");
        assert_eq!(DocumentType::sniff(b"GIF89a"), None);
        assert_eq!(DocumentType::sniff(b"<html>%PDF-1.4"), None, "the signature must come first");
        assert_eq!(DocumentType::sniff(b""), None);
    }

    #[test]
    fn names_round_trip() {
        for k in DocumentKind::ALL {
            assert_eq!(DocumentKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for t in DocumentType::ALL {
            assert_eq!(DocumentType::parse(t.mime()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.mime());
        }
        assert_eq!(DocumentKind::parse("selfie"), None);
    }

    #[test]
    fn uploads_stop_at_the_recommendation() {
        let open: Vec<State> = State::ALL.into_iter().filter(|s| s.accepts_documents()).collect();
        assert_eq!(open.first(), Some(&State::Submitted));
        assert_eq!(open.last(), Some(&State::Interviewed));
        for s in [State::Recommended, State::Approved, State::Rejected, State::Withdrawn, State::Authorised] {
            assert!(!s.accepts_documents(), "{s}");
        }
    }
}
