//! The one place where errors become HTTP responses. Clients see a short, safe message;
//! the detail goes to the log (and never carries personal data).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use legion_domain::{DomainError, FieldErrors};
use legion_store::StoreError;
use serde_json::json;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input failed validation; one message per field.
    #[error("invalid input: {0}")]
    Validation(FieldErrors),
    /// Not found, or not visible to the caller (indistinguishable on purpose).
    #[error("not found")]
    NotFound,
    /// Sign-in needed.
    #[error("sign-in required")]
    Unauthenticated,
    /// Signed in, but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The request conflicts with the case's state or a concurrent change.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The body is not what the endpoint reads.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The body is too large.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The body (an uploaded file) is of a type the endpoint does not take.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(&'static str),
    /// Too many attempts; try again later.
    #[error("too many requests: {0}")]
    TooManyRequests(&'static str),
    /// The personal data was destroyed (its mission's data key was shredded for retention).
    #[error("gone")]
    Gone,
    /// The service cannot take the request now.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A watchlist file cannot be read; the lists in use are unchanged.
    #[error("watchlist unreadable: {0}")]
    WatchlistUnreadable(String),
    /// The database cannot take the request now: its disk is full, it is read-only, or the
    /// connection is lost. Clients are told so, to wait rather than to report a bug.
    #[error("storage unavailable: {0}")]
    StorageUnavailable(String),
    /// A bug or an unexpected failure; details only in the log.
    #[error("internal: {0}")]
    Internal(String),
}

impl AppError {
    /// HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation(_) | AppError::WatchlistUnreadable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Gone => StatusCode::GONE,
            AppError::Unavailable(_) | AppError::StorageUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation",
            AppError::NotFound => "not_found",
            AppError::Unauthenticated => "unauthenticated",
            AppError::Forbidden(_) => "forbidden",
            AppError::Conflict(_) => "conflict",
            AppError::BadRequest(_) => "bad_request",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::TooManyRequests(_) => "too_many_requests",
            AppError::Gone => "gone",
            AppError::Unavailable(_) => "unavailable",
            AppError::WatchlistUnreadable(_) => "watchlist_unreadable",
            AppError::StorageUnavailable(_) => "storage_unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// The message a client may see.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Validation(_) => "Some fields are not valid; see `fields`.".into(),
            AppError::NotFound => "Not found.".into(),
            AppError::Unauthenticated => "Sign in first.".into(),
            AppError::Forbidden(m) | AppError::TooManyRequests(m) | AppError::UnsupportedMediaType(m) => (*m).into(),
            AppError::Conflict(m) | AppError::BadRequest(m) => m.clone(),
            AppError::PayloadTooLarge => "The request body is too large.".into(),
            AppError::Gone => "The personal data of this record was destroyed under the retention rules.".into(),
            AppError::Unavailable(_) => "The service cannot take this request right now; try again shortly.".into(),
            AppError::WatchlistUnreadable(m) => {
                format!("The watchlists were not reloaded; the lists in use are unchanged. {m}")
            }
            AppError::StorageUnavailable(_) => {
                "Storage is full or unavailable right now, so this request could not be completed; try again later."
                    .into()
            }
            AppError::Internal(_) => "Something went wrong on our side; it has been logged.".into(),
        }
    }

    fn log(&self) {
        match self {
            AppError::Internal(detail) => tracing::error!(error = %detail, "internal error"),
            AppError::Unavailable(detail) => tracing::warn!(error = %detail, "unavailable"),
            AppError::StorageUnavailable(detail) => tracing::warn!(error = %detail, "storage unavailable"),
            _ => {}
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let mut body = json!({ "error": self.code(), "message": self.public_message() });
        if let AppError::Validation(fields) = &self {
            body["fields"] = serde_json::to_value(fields).unwrap_or_default();
        }
        let mut resp = (self.status(), axum::Json(body)).into_response();
        if matches!(self, AppError::Unavailable(_) | AppError::StorageUnavailable(_)) {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("5"));
        }
        if matches!(self, AppError::TooManyRequests(_)) {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("900"));
        }
        resp
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict => {
                AppError::Conflict("The case was changed by someone else; reload it and try again.".into())
            }
            StoreError::Duplicate(what) => AppError::Conflict(format!("That {what} already exists.")),
            StoreError::Unavailable(m) => AppError::StorageUnavailable(m),
            StoreError::Shredded => AppError::Gone,
            StoreError::Config(m) | StoreError::Internal(m) => AppError::Internal(m),
        }
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(fields) => AppError::Validation(fields),
            DomainError::OutOfScope => AppError::NotFound,
            DomainError::Forbidden => AppError::Forbidden("Your role may not do this."),
            DomainError::FourEyes => {
                AppError::Forbidden("A different mission head must decide on your own recommendation (four eyes).")
            }
            e @ (DomainError::IllegalTransition { .. } | DomainError::RecommendationMismatch) => {
                AppError::Conflict(e.to_string())
            }
        }
    }
}
