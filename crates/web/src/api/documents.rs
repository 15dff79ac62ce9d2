//! Documents: applicants upload and list their own with the access code; the case's mission
//! staff list and download them (every download audited).

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use legion_domain::{DocumentId, DocumentKind, DocumentType};
use legion_store::DocumentRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::applications::{bearer, case_id};
use crate::auth::CurrentStaff;
use crate::error::AppError;
use crate::{AppState, documents};

/// A stored document, as listed (never its content).
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    /// Id.
    pub id: DocumentId,
    /// What it is.
    pub kind: DocumentKind,
    /// Its type, as recognised from its content.
    pub content_type: DocumentType,
    /// Size in bytes.
    pub size: u64,
    /// When it was uploaded.
    pub uploaded_at: DateTime<Utc>,
}

impl From<&DocumentRecord> for DocumentView {
    fn from(d: &DocumentRecord) -> Self {
        Self { id: d.id, kind: d.kind, content_type: d.content_type, size: d.size, uploaded_at: d.uploaded_at }
    }
}

/// The upload form (`multipart/form-data`).
#[derive(Debug, ToSchema)]
#[allow(dead_code, reason = "documents the body; the handler reads the parts one by one")]
pub struct DocumentUpload {
    /// What the document is (or give `?kind=`).
    kind: Option<DocumentKind>,
    /// The file: PDF, JPEG or PNG, recognised by its content; at most 10 MiB by default.
    /// Its name and declared type are ignored.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// A document's bytes, as downloaded.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code, reason = "documents the response body")]
pub struct DocumentBytes(Vec<u8>);

/// Upload parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// `passport_scan`, `service_record` or `criminal_record_certificate` (or the form's
    /// `kind` part).
    pub kind: Option<String>,
}

/// Uploads a document to the applicant's own case.
#[utoipa::path(post, path = "/api/v1/applications/{id}/documents", tag = "applicant",
    params(("id" = String, Path, description = "Case id"), UploadParams),
    request_body(content = DocumentUpload, content_type = "multipart/form-data"),
    security(("access_code" = [])),
    responses((status = 201, body = DocumentView, description = "Stored (sealed) under a server-chosen name"),
              (status = 404, description = "Unknown case or wrong code"),
              (status = 409, description = "The case no longer takes documents, or holds the most it may"),
              (status = 413, description = "The file is over the size limit; nothing stored"),
              (status = 415, description = "Not a PDF, JPEG or PNG by its content, or not multipart; nothing stored"),
              (status = 422, body = super::applications::ValidationError, description = "Missing kind or file"),
              (status = 503, description = "Too many uploads in progress; try again after `Retry-After` seconds")))]
pub async fn upload_document(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<UploadParams>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<DocumentView>), AppError> {
    let code = bearer(&headers)?;
    let record = documents::applicant_record(&state, case_id(&id)?, code).await?;
    // Checked before the body is read, so a closed case costs no upload.
    documents::ensure_open(&record)?;
    let multipart = multipart
        .map_err(|_| AppError::UnsupportedMediaType("Send the file as multipart/form-data, in a part named `file`."))?;
    // Held until the document is stored: the file is in memory until then.
    let _permit = state.upload_permit()?;
    let form = documents::read_upload(multipart, state.config.max_document_bytes).await?;
    let (kind, bytes) = documents::checked_upload(form, params.kind.as_deref())?;
    let stored = documents::upload(&state, &record, kind, &bytes).await?;
    Ok((StatusCode::CREATED, Json(DocumentView::from(&stored))))
}

/// The applicant's own documents, oldest first.
#[utoipa::path(get, path = "/api/v1/applications/{id}/documents", tag = "applicant",
    params(("id" = String, Path, description = "Case id")),
    security(("access_code" = [])),
    responses((status = 200, body = Vec<DocumentView>), (status = 404, description = "Unknown case or wrong code")))]
pub async fn list_documents(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Vec<DocumentView>>, AppError> {
    let code = bearer(&headers)?;
    let record = documents::applicant_record(&state, case_id(&id)?, code).await?;
    let docs = documents::applicant_documents(&state, &record).await?;
    Ok(Json(docs.iter().map(DocumentView::from).collect()))
}

/// A case's documents, oldest first. The listing is audited.
#[utoipa::path(get, path = "/api/v1/cases/{id}/documents", tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    responses((status = 200, body = Vec<DocumentView>), (status = 404, description = "Unknown or outside your mission")))]
pub async fn case_documents(
    State(state): State<AppState>,
    staff: CurrentStaff,
    Path(id): Path<String>,
) -> Result<Json<Vec<DocumentView>>, AppError> {
    let docs = documents::staff_documents(&state, &staff, super::cases::parse_id(&id)?).await?;
    Ok(Json(docs.iter().map(DocumentView::from).collect()))
}

/// Downloads a document, decrypted, as an attachment named after its kind. Every download
/// is audited as `document.read`.
#[utoipa::path(get, path = "/api/v1/cases/{id}/documents/{doc}", tag = "cases",
    params(("id" = String, Path, description = "Case id"), ("doc" = String, Path, description = "Document id")),
    responses((status = 200, description = "The document", content(
                  (DocumentBytes = "application/pdf"), (DocumentBytes = "image/jpeg"), (DocumentBytes = "image/png"))),
              (status = 404, description = "Unknown, or the case is outside your mission"),
              (status = 410, description = "The mission's keys were destroyed under the retention rules")))]
pub async fn download_document(
    State(state): State<AppState>,
    staff: CurrentStaff,
    Path((id, doc)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let id = super::cases::parse_id(&id)?;
    let doc = DocumentId::parse(&doc).ok_or(AppError::NotFound)?;
    let (record, bytes) = documents::staff_download(&state, &staff, id, doc).await?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(record.content_type.mime()));
    if let Ok(v) = HeaderValue::from_str(&documents::attachment_name(&record)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Should a browser render it anyway, it runs nothing and reaches nothing.
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
