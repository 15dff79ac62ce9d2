//! The applicant API: submit without sign-in, then read and act on one's own case with
//! the access code.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, NaiveDate, Utc};
use legion_domain::{ApplicationId, Command, MissionId, Reference, State as CaseState};
use legion_store::{ApplicationRecord, HistoryEntry};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::JsonBody;
use crate::AppState;
use crate::error::AppError;
use crate::service;

/// Answer to a successful submission.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmitResponse {
    /// Case id, for the API.
    pub id: ApplicationId,
    /// Short reference, for people.
    pub reference: Reference,
    /// Secret (160 bits) that opens the case; shown once, never stored in clear.
    pub access_code: String,
    /// Mission the application was routed to.
    pub mission: MissionId,
}

/// A request for information addressed to the applicant.
#[derive(Debug, Serialize, ToSchema)]
pub struct InfoRequestView {
    /// When it was asked.
    pub at: DateTime<Utc>,
    /// The question.
    pub message: String,
    /// Whether it is still waiting for an answer.
    pub open: bool,
}

/// The applicant's own view of their case.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicantView {
    /// Case id.
    pub id: ApplicationId,
    /// Reference.
    pub reference: Reference,
    /// Current state.
    pub status: CaseState,
    /// Mission handling the case.
    pub mission: MissionId,
    /// Submission time.
    pub submitted_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Requests addressed to the applicant, oldest first.
    pub requests: Vec<InfoRequestView>,
    /// Scheduled interview, if any.
    pub interview: Option<InterviewView>,
    /// Entry window, once authorised.
    pub entry_window: Option<EntryWindow>,
    /// Whether the applicant may still withdraw.
    pub can_withdraw: bool,
}

/// A scheduled interview.
#[derive(Debug, Serialize, ToSchema)]
pub struct InterviewView {
    /// When.
    pub at: DateTime<Utc>,
    /// Where.
    pub place: String,
}

/// Permitted entry window.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryWindow {
    /// First day.
    pub valid_from: NaiveDate,
    /// Last day.
    pub valid_until: NaiveDate,
}

impl ApplicantView {
    /// Builds the view from a record and its history.
    pub fn new(record: &ApplicationRecord, history: &[HistoryEntry]) -> Self {
        let mut requests: Vec<InfoRequestView> = Vec::new();
        let mut interview = None;
        let mut entry_window = None;
        for h in history {
            match h.command.as_str() {
                "request_info" => requests.push(InfoRequestView {
                    at: h.at,
                    message: h.details["message"].as_str().unwrap_or_default().to_owned(),
                    open: true,
                }),
                "answer_info" | "withdraw" => {
                    for r in &mut requests {
                        r.open = false;
                    }
                }
                "schedule_interview" => {
                    interview = serde_json::from_value(h.details["at"].clone()).ok().map(|at| InterviewView {
                        at,
                        place: h.details["place"].as_str().unwrap_or_default().to_owned(),
                    });
                }
                "record_interview" => interview = None,
                "authorise" | "reissue" => {
                    entry_window = (|| {
                        Some(EntryWindow {
                            valid_from: serde_json::from_value(h.details["valid_from"].clone()).ok()?,
                            valid_until: serde_json::from_value(h.details["valid_until"].clone()).ok()?,
                        })
                    })();
                }
                _ => {}
            }
        }
        if record.state != CaseState::InfoRequested {
            for r in &mut requests {
                r.open = false;
            }
        }
        Self {
            id: record.id,
            reference: record.reference.clone(),
            status: record.state,
            mission: record.mission.clone(),
            submitted_at: record.submitted_at,
            updated_at: record.updated_at,
            requests,
            interview: if record.state == CaseState::InterviewScheduled { interview } else { None },
            entry_window: if record.state == CaseState::Authorised { entry_window } else { None },
            can_withdraw: record.state.can_withdraw(),
        }
    }
}

/// The application form as the API takes it (documentation of the body; the server reads
/// it field by field so that every bad field gets its own message).
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct ApplicationForm {
    /// Given names as in the passport, any script.
    #[schema(example = "Олександр")]
    given_names: String,
    /// Family name as in the passport, any script.
    family_name: String,
    /// Name in the original script.
    native_name: Option<String>,
    /// YYYY-MM-DD.
    #[schema(format = Date)]
    date_of_birth: String,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "GB")]
    nationality: String,
    /// ISO 3166-1 alpha-2; decides the mission.
    country_of_residence: String,
    /// 5–20 letters and digits.
    passport_number: String,
    /// YYYY-MM-DD, in the future.
    #[schema(format = Date)]
    passport_expiry: String,
    /// E-mail address.
    #[schema(format = Email)]
    email: String,
    /// Phone number, 7–15 digits.
    phone: Option<String>,
    /// Prior service.
    military_experience: Option<Vec<ServiceForm>>,
    /// At least one language.
    languages: Vec<String>,
    /// Travel plans.
    travel: TravelForm,
    /// Declarations; consent is required.
    declarations: DeclarationsForm,
}

/// One period of service.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct ServiceForm {
    /// ISO 3166-1 alpha-2.
    country: String,
    /// Branch.
    branch: String,
    /// YYYY-MM or YYYY-MM-DD.
    from: String,
    /// YYYY-MM or YYYY-MM-DD; absent while serving.
    to: Option<String>,
    /// Role.
    role: String,
}

/// Travel plans.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct TravelForm {
    /// ISO 3166-1 alpha-2.
    departure_country: String,
    /// City.
    departure_city: String,
    /// YYYY-MM-DD, not in the past.
    #[schema(format = Date)]
    earliest_date: String,
    /// Wants to travel with a group.
    group_travel: bool,
}

/// Declarations.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct DeclarationsForm {
    /// Declares no criminal record.
    no_criminal_record: bool,
    /// Consents to a background check (must be true).
    consent_background_check: bool,
}

/// Validation failure: one message per field.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationError {
    /// `validation`.
    pub error: String,
    /// Summary.
    pub message: String,
    /// Field path → message.
    pub fields: std::collections::BTreeMap<String, String>,
}

/// Submits an application. No sign-in. With an `Idempotency-Key`, sending the same request
/// again (after a timeout or a lost answer) returns the first answer and stores nothing more.
#[utoipa::path(post, path = "/api/v1/applications", tag = "applicant", request_body = ApplicationForm,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "16–128 visible ASCII characters chosen by the client, e.g. a random UUID")),
    responses((status = 201, body = SubmitResponse),
              (status = 400, description = "Malformed Idempotency-Key"),
              (status = 409, description = "The Idempotency-Key was used for a different application"),
              (status = 422, body = ValidationError, description = "Invalid fields; nothing stored"),
              (status = 413, description = "Body too large")))]
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<(StatusCode, Json<SubmitResponse>), AppError> {
    let key =
        match headers.get("idempotency-key") {
            None => None,
            Some(v) => Some(v.to_str().map_err(|_| {
                AppError::BadRequest("Idempotency-Key must be 16 to 128 visible ASCII characters.".into())
            })?),
        };
    let s = service::submit(&state, &body.0, key).await?;
    Ok((
        StatusCode::CREATED,
        Json(SubmitResponse { id: s.id, reference: s.reference, access_code: s.access_code, mission: s.mission }),
    ))
}

pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, AppError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or(AppError::Unauthenticated)
}

pub(crate) fn case_id(raw: &str) -> Result<ApplicationId, AppError> {
    ApplicationId::parse(raw).ok_or(AppError::NotFound)
}

/// The applicant's own case.
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "applicant",
    params(("id" = String, Path, description = "Case id")),
    security(("access_code" = [])),
    responses((status = 200, body = ApplicantView), (status = 404, description = "Unknown case or wrong code")))]
pub async fn applicant_view(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<ApplicantView>, AppError> {
    let code = bearer(&headers)?;
    let (record, history) = service::applicant_case(&state, case_id(&id)?, code).await?;
    Ok(Json(ApplicantView::new(&record, &history)))
}

/// Answer to an information request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// The answer.
    pub answer: String,
}

/// Answers the open information request.
#[utoipa::path(post, path = "/api/v1/applications/{id}/answer", tag = "applicant",
    params(("id" = String, Path, description = "Case id")), request_body = AnswerBody,
    security(("access_code" = [])),
    responses((status = 200, body = ApplicantView), (status = 404), (status = 409, description = "No open request")))]
pub async fn answer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Json<ApplicantView>, AppError> {
    let code = bearer(&headers)?;
    let id = case_id(&id)?;
    let b: AnswerBody = body.parse()?;
    let (record, history) =
        service::applicant_command(&state, id, code, Command::AnswerInfo { answer: b.answer }).await?;
    Ok(Json(ApplicantView::new(&record, &history)))
}

/// Withdrawal.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawBody {
    /// Optional reason.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Withdraws the application.
#[utoipa::path(post, path = "/api/v1/applications/{id}/withdraw", tag = "applicant",
    params(("id" = String, Path, description = "Case id")), request_body = WithdrawBody,
    security(("access_code" = [])),
    responses((status = 200, body = ApplicantView), (status = 404), (status = 409, description = "Already final")))]
pub async fn withdraw(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Json<ApplicantView>, AppError> {
    let code = bearer(&headers)?;
    let id = case_id(&id)?;
    let b: WithdrawBody = body.parse()?;
    let reason = b.reason.filter(|r| !r.trim().is_empty());
    let (record, history) = service::applicant_command(&state, id, code, Command::Withdraw { reason }).await?;
    Ok(Json(ApplicantView::new(&record, &history)))
}
