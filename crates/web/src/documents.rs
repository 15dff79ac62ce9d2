//! Documents applicants upload (passport scan, service record, criminal-record certificate):
//! read with a size limit, recognised by their content (PDF, JPEG or PNG, whatever the file
//! is called or claims to be), sealed by the store under the case's mission key, and written
//! to object storage under a name the server chooses (`<mission>/<document id>` in the document
//! store, itself a `documents` directory or prefix of its own).
//! The uploaded file name and declared type are never stored or used.
//!
//! The sealed object is written first and its row (with the audit event) second; if the row
//! cannot be written the object is deleted again, so a row never names a missing object.

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;
use legion_domain::{ApplicationId, DocumentId, DocumentKind, DocumentType, FieldErrors, MissionId};
use legion_store::{ApplicationRecord, AuditEvent, DocumentRecord, NewDocument, Scope, StoreError};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt as _, PutPayload};

use crate::AppState;
use crate::auth::{CurrentStaff, secret_hash};
use crate::error::AppError;
use crate::service::normalise_access_code;

/// Room in a request for the multipart framing and the small fields beside the file.
pub const UPLOAD_OVERHEAD: usize = 64 * 1024;
/// Longest text field an upload form may carry (reference, access code, kind).
const MAX_TEXT_FIELD: usize = 1024;
/// Most text fields an upload form may carry.
const MAX_TEXT_FIELDS: usize = 16;

/// What the public message of a refused file type says.
pub const NOT_A_DOCUMENT: &str = "The file must be a PDF, JPEG or PNG document; its content decides, not its name.";

/// The uploaded file as read from a form.
#[derive(Default)]
pub struct UploadedFile {
    /// Its bytes (empty when it was too large: they were not kept).
    pub bytes: Vec<u8>,
    /// The browser named a chosen file (an empty part without a name means none was chosen).
    pub chosen: bool,
    /// It was larger than the limit.
    pub too_large: bool,
}

/// An upload form: its small text fields and its file, if it had one.
#[derive(Default)]
pub struct UploadForm {
    /// Text fields, in order.
    pub fields: Vec<(String, String)>,
    /// The part named `file`.
    pub file: Option<UploadedFile>,
}

impl UploadForm {
    /// The first text field named `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn multipart_error(e: &MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::BadRequest("The body is not valid multipart/form-data.".into())
    }
}

/// Reads a `multipart/form-data` upload: the part named `file` up to `max` bytes, the other
/// parts as short text. A file over the limit is read to its end without being kept (the
/// request's own limit bounds how far), so that the answer can still say what was wrong.
pub async fn read_upload(multipart: Multipart, max: usize) -> Result<UploadForm, AppError> {
    let (form, ()) = read_upload_checked(multipart, max, async |_: &[(String, String)]| Ok(())).await?;
    Ok(form)
}

/// Reads an upload whose credentials travel in the form, as [`read_upload`] does, but gives
/// `check` the text fields read so far as soon as the part named `file` begins, before any of
/// its bytes are read (or at the end, when there is no file). Forms must therefore put their
/// credentials before the file. An error from `check` ends the read there: a request that
/// cannot upload never makes the server read its file.
pub async fn read_upload_checked<T>(
    mut multipart: Multipart,
    max: usize,
    check: impl AsyncFnOnce(&[(String, String)]) -> Result<T, AppError>,
) -> Result<(UploadForm, T), AppError> {
    let mut form = UploadForm::default();
    let mut check = Some(check);
    let mut passed = None;
    while let Some(mut part) = multipart.next_field().await.map_err(|e| multipart_error(&e))? {
        if part.name() == Some("file") {
            if form.file.is_some() {
                return Err(AppError::BadRequest("Send one file per upload.".into()));
            }
            if let Some(check) = check.take() {
                passed = Some(check(&form.fields).await?);
            }
            // The name is looked at only to tell "no file chosen" from "an empty file".
            let mut file =
                UploadedFile { chosen: part.file_name().is_some_and(|n| !n.is_empty()), ..UploadedFile::default() };
            while let Some(chunk) = part.chunk().await.map_err(|e| multipart_error(&e))? {
                if file.too_large {
                    continue;
                }
                if file.bytes.len() + chunk.len() > max {
                    file.too_large = true;
                    file.bytes = Vec::new();
                } else {
                    file.bytes.extend_from_slice(&chunk);
                }
            }
            form.file = Some(file);
        } else {
            let name = part.name().unwrap_or_default().to_owned();
            let mut text = Vec::new();
            while let Some(chunk) = part.chunk().await.map_err(|e| multipart_error(&e))? {
                text.extend_from_slice(&chunk);
                if text.len() > MAX_TEXT_FIELD {
                    return Err(AppError::BadRequest(format!("The field {name} is too long.")));
                }
            }
            if form.fields.len() >= MAX_TEXT_FIELDS {
                return Err(AppError::BadRequest("The upload has too many fields.".into()));
            }
            let text = String::from_utf8(text)
                .map_err(|_| AppError::BadRequest(format!("The field {name} is not UTF-8 text.")))?;
            form.fields.push((name, text));
        }
    }
    if let Some(check) = check.take() {
        passed = Some(check(&form.fields).await?);
    }
    let passed = passed.ok_or_else(|| AppError::Internal("the upload's check did not run".into()))?;
    Ok((form, passed))
}

/// What to store from a form: the kind (from the form, or `kind_param` when the form has
/// none) and the file. Field errors for a missing or unknown kind and a missing or empty
/// file; 413 for a file over the limit.
pub fn checked_upload(form: UploadForm, kind_param: Option<&str>) -> Result<(DocumentKind, Vec<u8>), AppError> {
    let mut errors = FieldErrors::new();
    let kind = match form.field("kind").or(kind_param).map(str::trim).filter(|k| !k.is_empty()) {
        None => {
            errors.add("kind", "is required");
            None
        }
        Some(k) => DocumentKind::parse(k).or_else(|| {
            errors.add("kind", "must be passport_scan, service_record or criminal_record_certificate");
            None
        }),
    };
    let bytes = match form.file {
        Some(f) if f.too_large => return Err(AppError::PayloadTooLarge),
        Some(f) if !f.bytes.is_empty() => Some(f.bytes),
        Some(f) if f.chosen => {
            errors.add("file", "must not be empty");
            None
        }
        _ => {
            errors.add("file", "is required");
            None
        }
    };
    match (kind, bytes) {
        (Some(kind), Some(bytes)) if errors.is_empty() => Ok((kind, bytes)),
        _ => Err(AppError::Validation(errors)),
    }
}

/// Where a document's sealed object lives: chosen by the server from ids only.
pub fn object_key(mission: &MissionId, id: DocumentId) -> String {
    format!("{mission}/{id}")
}

/// Object storage failures. Their texts name object keys (ids), never content.
fn object_error(e: &object_store::Error) -> AppError {
    match e {
        object_store::Error::NotFound { .. } => AppError::Internal(format!("a document's object is missing: {e}")),
        _ => AppError::Unavailable(format!("object storage: {e}")),
    }
}

/// Refuses uploads to a case that no longer takes documents (see `State::accepts_documents`).
pub fn ensure_open(record: &ApplicationRecord) -> Result<(), AppError> {
    if record.state.accepts_documents() { Ok(()) } else { Err(closed()) }
}

fn closed() -> AppError {
    AppError::Conflict("Documents can no longer be added to this application.".into())
}

fn full() -> AppError {
    AppError::Conflict("This application already holds as many documents as it may.".into())
}

/// The applicant's case by id and access code (wrong code and unknown case look the same).
pub async fn applicant_record(state: &AppState, id: ApplicationId, code: &str) -> Result<ApplicationRecord, AppError> {
    let hash = secret_hash(&normalise_access_code(code));
    state.store.application_for_applicant(id, &hash).await?.ok_or(AppError::NotFound)
}

fn applicant_event(state: &AppState, record: &ApplicationRecord, action: &str, object: String) -> AuditEvent {
    AuditEvent {
        at: state.clock.now(),
        actor: "applicant".into(),
        role: "applicant".into(),
        mission: Some(record.mission.to_string()),
        action: action.into(),
        object,
        outcome: "ok".into(),
    }
}

/// The documents of a case, oldest first (the case is known to be in `scope`'s reach).
async fn documents_of(state: &AppState, record: &ApplicationRecord) -> Result<Vec<DocumentRecord>, AppError> {
    let scope = Scope::Mission(record.mission.clone());
    Ok(state.store.documents(record.id, &scope).await?.unwrap_or_default())
}

/// Stores an applicant's document on their case: checks its type by content, the case's
/// state and the number of documents, seals it, writes the object, then records it with its
/// `document.upload` audit event. Nothing is kept when any step fails.
pub async fn upload(
    state: &AppState,
    record: &ApplicationRecord,
    kind: DocumentKind,
    bytes: &[u8],
) -> Result<DocumentRecord, AppError> {
    if bytes.len() > state.config.max_document_bytes {
        return Err(AppError::PayloadTooLarge);
    }
    let content_type = DocumentType::sniff(bytes).ok_or(AppError::UnsupportedMediaType(NOT_A_DOCUMENT))?;
    ensure_open(record)?;
    if documents_of(state, record).await?.len() >= state.config.max_documents_per_case {
        return Err(full());
    }
    let id = DocumentId::from_random(state.random_bytes());
    let sealed = state.store.seal_document(&record.mission, id, bytes).await?;
    let key = object_key(&record.mission, id);
    let path = ObjectPath::from(key.as_str());
    // Ids are 122 random bits, so a plain put never meets an existing object; conditional
    // puts are not offered by every S3-compatible store.
    state.documents.put(&path, PutPayload::from(sealed.bytes)).await.map_err(|e| object_error(&e))?;
    let new = NewDocument {
        id,
        application: record.id,
        kind,
        content_type,
        size: bytes.len() as u64,
        object_key: key,
        sealed_sha256: sealed.sha256,
        content_key: sealed.content_key,
        uploaded_at: state.clock.now(),
        max_per_case: u32::try_from(state.config.max_documents_per_case).unwrap_or(u32::MAX),
    };
    let audit = applicant_event(state, record, "document.upload", format!("document:{id}"));
    if let Err(e) = state.store.insert_document(&new, &audit).await {
        if let Err(d) = state.documents.delete(&path).await {
            tracing::warn!(error = %d, document = %id, "could not remove the object of an unrecorded document");
        }
        return Err(match e {
            // The store checks the cap and the state again in its transaction: another upload
            // or a decision got there first.
            StoreError::Conflict if documents_of(state, record).await?.len() >= state.config.max_documents_per_case => {
                full()
            }
            StoreError::Conflict => closed(),
            e => e.into(),
        });
    }
    metrics::counter!("legion_documents_uploaded_total", "kind" => kind.as_str()).increment(1);
    Ok(DocumentRecord {
        id,
        application: record.id,
        mission: record.mission.clone(),
        kind,
        content_type,
        size: new.size,
        object_key: new.object_key,
        sealed_sha256: new.sealed_sha256,
        uploaded_at: new.uploaded_at,
    })
}

/// The applicant's own documents (the listing is audited as `document.list`).
pub async fn applicant_documents(
    state: &AppState,
    record: &ApplicationRecord,
) -> Result<Vec<DocumentRecord>, AppError> {
    let documents = documents_of(state, record).await?;
    let audit = applicant_event(state, record, "document.list", format!("application:{}", record.id));
    state.store.append_audit(&audit).await?;
    Ok(documents)
}

/// A case's documents for its mission's staff; 404 outside their scope. Audited as
/// `document.list`.
pub async fn staff_documents(
    state: &AppState,
    staff: &CurrentStaff,
    id: ApplicationId,
) -> Result<Vec<DocumentRecord>, AppError> {
    let scope = staff.case_scope().ok_or(AppError::NotFound)?;
    let found = state.store.documents(id, &scope).await?;
    let outcome = if found.is_some() { "ok" } else { "denied" };
    state.store.append_audit(&staff.audit(state, "document.list", format!("application:{id}"), outcome)).await?;
    found.ok_or(AppError::NotFound)
}

/// A case's documents for the case page, whose read is already audited as `case.read`.
pub async fn case_page_documents(
    state: &AppState,
    staff: &CurrentStaff,
    id: ApplicationId,
) -> Result<Vec<DocumentRecord>, AppError> {
    let scope = staff.case_scope().ok_or(AppError::NotFound)?;
    state.store.documents(id, &scope).await?.ok_or(AppError::NotFound)
}

/// One document, opened, for its case's mission staff. Every attempt is audited as
/// `document.read`: `denied` outside their scope (answered 404), `failed` when the object is
/// missing, altered or its mission's keys were destroyed.
pub async fn staff_download(
    state: &AppState,
    staff: &CurrentStaff,
    id: ApplicationId,
    document: DocumentId,
) -> Result<(DocumentRecord, Vec<u8>), AppError> {
    let object = format!("document:{document}");
    let found = match staff.case_scope() {
        Some(scope) => state.store.document(id, document, &scope).await?,
        None => None,
    };
    let Some(record) = found else {
        state.store.append_audit(&staff.audit(state, "document.read", object, "denied")).await?;
        return Err(AppError::NotFound);
    };
    let bytes = match open_object(state, &record).await {
        Ok(bytes) => bytes,
        Err(e) => {
            // A failed read is an attempt too: audited before the error is answered.
            state.store.append_audit(&staff.audit(state, "document.read", object, "failed")).await?;
            return Err(e);
        }
    };
    // Recorded before a byte leaves: a read that cannot be audited does not happen.
    state.store.append_audit(&staff.audit(state, "document.read", object, "ok")).await?;
    metrics::counter!("legion_documents_read_total").increment(1);
    Ok((record, bytes))
}

/// A document's object fetched from object storage and opened by the store.
async fn open_object(state: &AppState, record: &DocumentRecord) -> Result<Vec<u8>, AppError> {
    let path = ObjectPath::parse(&record.object_key)
        .map_err(|_| AppError::Internal(format!("document {} has a malformed object key", record.id)))?;
    let sealed = state.documents.get(&path).await.map_err(|e| object_error(&e))?;
    let sealed = sealed.bytes().await.map_err(|e| object_error(&e))?;
    Ok(state.store.open_document(record, &sealed).await?)
}

/// `Content-Disposition` for a download: a name made from the kind and the type only.
pub fn attachment_name(record: &DocumentRecord) -> String {
    format!("attachment; filename=\"{}.{}\"", record.kind.as_str(), record.content_type.extension())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)], file: Option<UploadedFile>) -> UploadForm {
        UploadForm { fields: fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(), file }
    }

    fn file(bytes: &[u8]) -> UploadedFile {
        UploadedFile { bytes: bytes.to_vec(), chosen: true, too_large: false }
    }

    #[test]
    fn uploads_need_a_known_kind_and_a_non_empty_file() {
        let (kind, bytes) = checked_upload(form(&[("kind", "service_record")], Some(file(b"%PDF-"))), None).unwrap();
        assert_eq!((kind, bytes.as_slice()), (DocumentKind::ServiceRecord, &b"%PDF-"[..]));
        let (kind, _) = checked_upload(form(&[], Some(file(b"x"))), Some("passport_scan")).unwrap();
        assert_eq!(kind, DocumentKind::PassportScan, "the kind may come from the query");

        let Err(AppError::Validation(e)) = checked_upload(form(&[("kind", "selfie")], None), None) else {
            panic!("expected field errors")
        };
        assert!(e.get("kind").unwrap().starts_with("must be passport_scan"));
        assert_eq!(e.get("file"), Some("is required"));

        let unchosen = Some(UploadedFile { chosen: false, ..UploadedFile::default() });
        let Err(AppError::Validation(e)) = checked_upload(form(&[("kind", "passport_scan")], unchosen), None) else {
            panic!("expected field errors")
        };
        assert_eq!(e.get("file"), Some("is required"), "no file chosen in the browser");
        let Err(AppError::Validation(e)) = checked_upload(form(&[("kind", "")], Some(file(b""))), None) else {
            panic!("expected field errors")
        };
        assert_eq!(e.get("file"), Some("must not be empty"));
        assert_eq!(e.get("kind"), Some("is required"));

        let big = Some(UploadedFile { too_large: true, chosen: true, bytes: Vec::new() });
        assert!(matches!(
            checked_upload(form(&[("kind", "passport_scan")], big), None),
            Err(AppError::PayloadTooLarge)
        ));
    }

    #[test]
    fn object_keys_are_made_of_ids_only() {
        let m = MissionId::parse("gb-london").unwrap();
        let id = DocumentId::from_random([7; 16]);
        assert_eq!(object_key(&m, id), format!("gb-london/{id}"));
        assert_eq!(ObjectPath::from(object_key(&m, id).as_str()).as_ref(), object_key(&m, id));
    }
}
