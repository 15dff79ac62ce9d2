//! The JSON API under `/api/v1`. One file per endpoint group; each handler has its
//! `#[utoipa::path]` so the spec is generated from the code.

pub mod admin;
pub mod applications;
pub mod cases;
pub mod credentials;
pub mod documents;
pub mod session;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use legion_domain::FieldErrors;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::AppError;

/// Most bytes a JSON body may have.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// A JSON body read with our own errors: 413 when too large, 415 when not JSON,
/// 400 when malformed. Field checks come later, in the domain.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
                ct.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(AppError::BadRequest("Send the body as JSON with Content-Type: application/json.".into()));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|_| AppError::PayloadTooLarge)?;
        if bytes.len() > MAX_JSON_BODY {
            return Err(AppError::PayloadTooLarge);
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| AppError::BadRequest(format!("The body is not valid JSON ({e}).")))
    }
}

impl JsonBody {
    /// Reads the body as `T`, reporting a shape error against the field it names.
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, AppError> {
        serde_json::from_value(self.0).map_err(|e| {
            let msg = e.to_string();
            let field = msg.split('`').nth(1).unwrap_or("body").to_owned();
            let mut errors = FieldErrors::new();
            errors.add(field, msg);
            AppError::Validation(errors)
        })
    }
}
