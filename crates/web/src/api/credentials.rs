//! Entry authorisations: the signed lists border posts load, the applicant's own
//! authorisation, and the border officer's check and crossing record.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::JsonBody;
use super::applications::{bearer, case_id};
use crate::AppState;
use crate::auth::CurrentStaff;
use crate::error::AppError;
use crate::service::{self, Crossing};

fn json_document(text: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// The trust list, signed by the root key: every key that may sign entry authorisations
/// (RFC 8037 JWKs). Border posts load it before they go offline.
#[utoipa::path(get, path = "/api/v1/credentials/trust-list", tag = "credentials",
    responses((status = 200, description = "The signed trust list (JSON)", content_type = "application/json")))]
pub async fn trust_list(State(state): State<AppState>) -> Result<Response, AppError> {
    let now = state.clock.now();
    let list = crate::credentials::trust_list(&state.keys.credentials, &*state.store, now).await?;
    Ok(json_document(state.keys.credentials.root().sign_trust_list(&list)))
}

/// The revocation list, signed by the root key, with its sequence number and issue time.
#[utoipa::path(get, path = "/api/v1/credentials/revocations", tag = "credentials",
    responses((status = 200, description = "The signed revocation list (JSON)", content_type = "application/json")))]
pub async fn revocations(State(state): State<AppState>) -> Result<Response, AppError> {
    let list = crate::credentials::revocation_list(&*state.store, state.clock.now()).await?;
    Ok(json_document(state.keys.credentials.root().sign_revocations(&list)))
}

/// The applicant's entry authorisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorisationView {
    /// The credential id.
    pub id: uuid::Uuid,
    /// The `LG1:` text the QR code holds.
    pub token: String,
    /// First day of the entry window.
    pub valid_from: NaiveDate,
    /// Last day of the entry window.
    pub valid_until: NaiveDate,
}

/// The applicant's own entry authorisation, once issued (the QR code's text).
#[utoipa::path(get, path = "/api/v1/applications/{id}/authorisation", tag = "applicant",
    params(("id" = String, Path, description = "Case id")),
    security(("access_code" = [])),
    responses((status = 200, body = AuthorisationView), (status = 404, description = "Unknown case, wrong code, or none issued")))]
pub async fn applicant_authorisation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<AuthorisationView>, AppError> {
    let code = bearer(&headers)?;
    let (record, history) = service::applicant_case(&state, case_id(&id)?, code).await?;
    let a = service::authorisation_of(&record, &history).ok_or(AppError::NotFound)?;
    Ok(Json(AuthorisationView { id: a.id, token: a.token, valid_from: a.valid_from, valid_until: a.valid_until }))
}

/// The applicant's entry authorisation as a QR code (PNG, error correction Q).
#[utoipa::path(get, path = "/api/v1/applications/{id}/authorisation.png", tag = "applicant",
    params(("id" = String, Path, description = "Case id")),
    security(("access_code" = [])),
    responses((status = 200, description = "The QR code", content_type = "image/png"), (status = 404, description = "Unknown case, wrong code, or none issued")))]
pub async fn applicant_authorisation_png(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let code = bearer(&headers)?;
    let (record, history) = service::applicant_case(&state, case_id(&id)?, code).await?;
    let view = service::authorisation_of(&record, &history).ok_or(AppError::NotFound)?;
    let png = legion_credential::qr::png(&view.token, 8).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

/// An authorisation to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// The `LG1:` text read from the QR code.
    pub token: String,
}

/// A crossing to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CrossingBody {
    /// The `LG1:` text read from the QR code.
    pub token: String,
    /// The crossing point.
    pub crossing_point: String,
}

/// The holder as the authorisation states them: compare with the passport.
#[derive(Debug, Serialize, ToSchema)]
pub struct HolderView {
    /// Family name (MRZ form).
    pub family_name: String,
    /// Given names (MRZ form).
    pub given_names: String,
    /// Date of birth.
    pub date_of_birth: String,
    /// Nationality (ISO 3166-1 alpha-2).
    pub nationality: String,
    /// Passport number.
    pub passport_number: String,
}

/// The verdict on an authorisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerdictView {
    /// Whether it is valid now.
    pub valid: bool,
    /// `valid`, or the reason code of the refusal (the same codes as `legion credential
    /// verify` and the offline page).
    pub code: String,
    /// The reason, for people.
    pub reason: String,
    /// The credential id, when it verified.
    pub credential: Option<uuid::Uuid>,
    /// The issuing mission, when it verified.
    pub mission: Option<String>,
    /// The holder, when it verified.
    pub holder: Option<HolderView>,
    /// The entry window, when it verified.
    pub entry_window: Option<(NaiveDate, NaiveDate)>,
    /// When its holder already crossed, if they did: a second use.
    pub crossed_at: Option<DateTime<Utc>>,
    /// Where.
    pub crossing_point: Option<String>,
}

impl VerdictView {
    fn new(verdict: &Result<legion_credential::Verified, legion_credential::Refusal>) -> Self {
        match verdict {
            Ok(v) => {
                let h = &v.claims.holder;
                VerdictView {
                    valid: true,
                    code: "valid".into(),
                    reason: "The entry authorisation is valid.".into(),
                    credential: Some(v.claims.id),
                    mission: Some(v.claims.issuer.clone()),
                    holder: Some(HolderView {
                        family_name: h.family_name.clone(),
                        given_names: h.given_names.clone(),
                        date_of_birth: h.date_of_birth.clone(),
                        nationality: h.nationality.clone(),
                        passport_number: h.passport_number.clone(),
                    }),
                    entry_window: Some((v.claims.entry_from, v.claims.entry_until)),
                    crossed_at: None,
                    crossing_point: None,
                }
            }
            Err(r) => VerdictView {
                valid: false,
                code: r.code().into(),
                reason: r.to_string(),
                credential: None,
                mission: None,
                holder: None,
                entry_window: None,
                crossed_at: None,
                crossing_point: None,
            },
        }
    }
}

/// Checks an entry authorisation against this server's trust list and current revocations,
/// and says whether its holder already crossed. Records nothing but the check itself.
#[utoipa::path(post, path = "/api/v1/border/verify", tag = "border", request_body = TokenBody,
    responses((status = 200, body = VerdictView)))]
pub async fn border_verify(
    State(state): State<AppState>,
    staff: CurrentStaff,
    body: JsonBody,
) -> Result<Json<VerdictView>, AppError> {
    let body: TokenBody = body.parse()?;
    let check = service::check_at_border(&state, &staff, &body.token).await?;
    let mut view = VerdictView::new(&check.verdict);
    if let Some((at, point)) = check.crossed {
        view.crossed_at = Some(at);
        view.crossing_point = Some(point);
    }
    Ok(Json(view))
}

/// Verifies an entry authorisation and records the crossing, once per authorisation:
/// `201` recorded; `409` used before (nothing recorded; when and where it was used);
/// `422` refused (nothing recorded; the reason).
#[utoipa::path(post, path = "/api/v1/border/crossings", tag = "border", request_body = CrossingBody,
    responses((status = 201, body = VerdictView), (status = 409, body = VerdictView), (status = 422, body = VerdictView)))]
pub async fn border_crossing(
    State(state): State<AppState>,
    staff: CurrentStaff,
    body: JsonBody,
) -> Result<(StatusCode, Json<VerdictView>), AppError> {
    let body: CrossingBody = body.parse()?;
    let point = body.crossing_point.trim();
    if point.is_empty() || point.chars().count() > 200 {
        let mut e = legion_domain::FieldErrors::new();
        e.add("crossing_point", "is required, at most 200 characters");
        return Err(AppError::Validation(e));
    }
    Ok(match service::record_crossing(&state, &staff, &body.token, point).await? {
        Crossing::Recorded { verified, at } => {
            let mut view = VerdictView::new(&Ok(verified));
            view.crossed_at = Some(at);
            view.crossing_point = Some(point.to_owned());
            view.reason = "Valid; the crossing is recorded.".into();
            (StatusCode::CREATED, Json(view))
        }
        Crossing::AlreadyUsed { verified, at, point } => {
            let mut view = VerdictView::new(&Ok(verified));
            view.code = "already_used".into();
            view.reason =
                format!("Already used: the holder crossed at {point} on {}.", at.format("%Y-%m-%d %H:%M UTC"));
            view.crossed_at = Some(at);
            view.crossing_point = Some(point);
            (StatusCode::CONFLICT, Json(view))
        }
        Crossing::Refused(r) => (StatusCode::UNPROCESSABLE_ENTITY, Json(VerdictView::new(&Err(r)))),
    })
}
