//! Staff sign-in and sign-out.

use axum::Json;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use legion_domain::{MissionId, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::JsonBody;
use crate::AppState;
use crate::auth::{self, CurrentStaff};
use crate::error::AppError;
use axum::extract::State;

/// Sign-in request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// Sign-in name.
    pub username: String,
    /// Password.
    pub password: String,
    /// One-time code, once MFA is enabled for the account. Accounts have no second factor
    /// yet, so it is accepted and not required.
    #[serde(default)]
    #[allow(dead_code)]
    pub totp: Option<String>,
}

/// The signed-in staff member.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Mission, for mission-scoped roles.
    pub mission: Option<MissionId>,
}

impl From<&CurrentStaff> for SessionView {
    fn from(s: &CurrentStaff) -> Self {
        Self {
            username: s.username.to_string(),
            display_name: s.display_name.clone(),
            role: s.role(),
            mission: s.mission().cloned(),
        }
    }
}

/// Signs in; the answer sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "staff", request_body = SignIn,
    responses((status = 200, body = SessionView, description = "Signed in; `Set-Cookie` carries the session"),
              (status = 403, description = "Wrong credentials or disabled account")))]
pub async fn sign_in(State(state): State<AppState>, body: JsonBody) -> Result<Response, AppError> {
    let req: SignIn = body.parse()?;
    let (token, record) = auth::sign_in(&state, &req.username, &req.password).await?;
    let view = SessionView {
        username: record.username.to_string(),
        display_name: record.display_name,
        role: record.role,
        mission: record.mission,
    };
    Ok(([(header::SET_COOKIE, auth::session_cookie(&state, &token))], Json(view)).into_response())
}

/// Who is signed in.
#[utoipa::path(get, path = "/api/v1/session", tag = "staff",
    responses((status = 200, body = SessionView), (status = 401, description = "Not signed in")))]
pub async fn whoami(staff: CurrentStaff) -> Json<SessionView> {
    Json(SessionView::from(&staff))
}

/// Signs out.
#[utoipa::path(delete, path = "/api/v1/session", tag = "staff",
    responses((status = 204, description = "Signed out"), (status = 401, description = "Not signed in")))]
pub async fn sign_out(State(state): State<AppState>, staff: CurrentStaff) -> Result<Response, AppError> {
    let audit = staff.audit(&state, "session.sign_out", format!("staff:{}", staff.id()), "ok");
    state.store.delete_session(&staff.session_hash, &audit).await?;
    Ok(([(header::SET_COOKIE, auth::clear_cookie(&state))], axum::http::StatusCode::NO_CONTENT).into_response())
}
