//! Server-rendered HTML pages (askama), in English and Ukrainian, usable without JavaScript.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::auth::CurrentStaff;
use crate::routes::RouteDef;

/// The page routes.
pub fn routes() -> Vec<RouteDef> {
    Vec::new()
}

/// The page shown when a signed-in person's role does not allow a page.
pub fn forbidden_page(_req: &Request, _staff: &CurrentStaff) -> Response {
    (StatusCode::FORBIDDEN, Html("<!doctype html><title>Forbidden</title><h1>Forbidden</h1>")).into_response()
}

/// Anything unmatched.
pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Html("<!doctype html><title>Not found</title><h1>Not found</h1>")).into_response()
}
