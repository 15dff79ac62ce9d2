//! Staff case work: queues, the case view, one endpoint per transition, and vetting.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, NaiveDate, Utc};
use legion_domain::screening::Flag;
use legion_domain::{
    ApplicationId, Command, CountryCode, MissionId, Recommendation, Reference, StaffId, State as CaseState,
};
use legion_store::{ApplicationRecord, HistoryEntry, QueueQuery, QueueSort, Scope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::JsonBody;
use crate::AppState;
use crate::auth::CurrentStaff;
use crate::error::AppError;
use crate::service;

/// A row of a queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseSummary {
    /// Id.
    pub id: ApplicationId,
    /// Reference.
    pub reference: Reference,
    /// Mission.
    pub mission: MissionId,
    /// State.
    pub state: CaseState,
    /// Name as in the passport.
    pub name: String,
    /// Nationality.
    pub nationality: CountryCode,
    /// Submitted.
    pub submitted_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Number of screening flags.
    pub flags: usize,
}

impl From<&ApplicationRecord> for CaseSummary {
    fn from(r: &ApplicationRecord) -> Self {
        Self {
            id: r.id,
            reference: r.reference.clone(),
            mission: r.mission.clone(),
            state: r.state,
            name: r.details.full_name(),
            nationality: r.details.nationality,
            submitted_at: r.submitted_at,
            updated_at: r.updated_at,
            flags: r.flags.len(),
        }
    }
}

/// A page of a queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuePage {
    /// Rows.
    pub items: Vec<CaseSummary>,
    /// Matching rows in all, counted up to 10,001: a larger queue answers 10001, meaning
    /// "more than 10,000"; page on while pages are full.
    pub total: i64,
    /// Rows skipped.
    pub offset: u32,
    /// Page size.
    pub limit: u32,
}

/// Queue filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// Only this state.
    pub state: Option<String>,
    /// Only this reference.
    pub reference: Option<String>,
    /// `submitted_asc` (default), `submitted_desc`, `updated_desc`.
    pub sort: Option<String>,
    /// Rows to skip.
    pub offset: Option<u32>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
}

impl QueueParams {
    /// Checks the filters; unknown values are field errors, not silently ignored. A lookup's
    /// e-mail address or passport number becomes a blind index here and goes no further.
    pub fn to_query(&self, state: &AppState, lookup: Option<&Lookup>) -> Result<QueueQuery, AppError> {
        let mut e = legion_domain::FieldErrors::new();
        let none = Lookup::default();
        let lookup = lookup.unwrap_or(&none);
        let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let email_index = text(&lookup.email).map(|m| crate::service::email_index(state, &m));
        let nationality = text(&lookup.nationality).and_then(|n| {
            legion_domain::CountryCode::parse(&n.to_ascii_uppercase()).or_else(|| {
                e.add("nationality", "is not a country code like GB");
                None
            })
        });
        let passport = text(&lookup.passport).and_then(|p| {
            legion_domain::PassportNumber::parse(&p).map_err(|_| e.add("passport", "is not a passport number")).ok()
        });
        let passport_index = match (passport, nationality) {
            (Some(p), Some(n)) => Some(crate::service::passport_index_of(state, n, &p)),
            (Some(_), None) if text(&lookup.nationality).is_none() => {
                e.add("nationality", "is needed to find a passport number");
                None
            }
            _ => None,
        };
        let state = match self.state.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => CaseState::parse(s).or_else(|| {
                e.add("state", "is not a known state");
                None
            }),
        };
        let reference = match self.reference.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Reference::parse(s).or_else(|| {
                e.add("reference", "is not a reference like LG-7K4M-2QXP");
                None
            }),
        };
        let sort = match self.sort.as_deref().filter(|s| !s.is_empty()) {
            None | Some("submitted_asc") => QueueSort::SubmittedAsc,
            Some("submitted_desc") => QueueSort::SubmittedDesc,
            Some("updated_desc") => QueueSort::UpdatedDesc,
            Some(_) => {
                e.add("sort", "must be submitted_asc, submitted_desc or updated_desc");
                QueueSort::SubmittedAsc
            }
        };
        let limit = self.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            e.add("limit", "must be 1–200");
        }
        e.into_result(QueueQuery {
            state,
            reference,
            email_index,
            passport_index,
            sort,
            offset: self.offset.unwrap_or(0),
            limit,
            after: None,
        })
        .map_err(AppError::Validation)
    }
}

/// A history entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryView {
    /// Position.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (`system`, `applicant`, or a staff id).
    pub actor: String,
    /// Their role.
    pub actor_role: String,
    /// Command.
    pub command: String,
    /// Before.
    pub from_state: CaseState,
    /// After.
    pub to_state: CaseState,
    /// Reasons, notes, times.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// Policy version used.
    pub policy_version: String,
}

impl From<&HistoryEntry> for HistoryView {
    fn from(h: &HistoryEntry) -> Self {
        Self {
            seq: h.seq,
            at: h.at,
            actor: h.actor.clone(),
            actor_role: h.actor_role.clone(),
            command: h.command.clone(),
            from_state: h.from_state,
            to_state: h.to_state,
            details: h.details.clone(),
            policy_version: h.policy_version.clone(),
        }
    }
}

/// The full case, for its mission's staff.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    /// Id.
    pub id: ApplicationId,
    /// Reference.
    pub reference: Reference,
    /// Mission.
    pub mission: MissionId,
    /// State.
    pub state: CaseState,
    /// Version (optimistic lock).
    pub version: i64,
    /// Submitted.
    pub submitted_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Policy version of the last decision.
    pub policy_version: String,
    /// Standing recommendation's author.
    pub recommended_by: Option<StaffId>,
    /// Standing recommendation.
    pub recommendation: Option<Recommendation>,
    /// Screening flags.
    pub flags: Vec<Flag>,
    /// What the applicant submitted.
    #[schema(value_type = Object)]
    pub applicant: serde_json::Value,
    /// History, oldest first.
    pub history: Vec<HistoryView>,
}

/// Loads a case in the staff member's scope with its history, and records the read.
pub async fn load_case(
    state: &AppState,
    staff: &CurrentStaff,
    id: ApplicationId,
) -> Result<(ApplicationRecord, Vec<HistoryEntry>), AppError> {
    let scope = staff.case_scope().ok_or(AppError::NotFound)?;
    let Some(record) = state.store.case(id, &scope).await? else {
        let audit = staff.audit(state, "case.read", format!("application:{id}"), "denied");
        state.store.append_audit(&audit).await?;
        return Err(AppError::NotFound);
    };
    let history = state.store.history(id, &scope).await?;
    state.store.append_audit(&staff.audit(state, "case.read", format!("application:{id}"), "ok")).await?;
    Ok((record, history))
}

/// Builds the JSON case view.
pub fn case_view(record: &ApplicationRecord, history: &[HistoryEntry]) -> CaseView {
    CaseView {
        id: record.id,
        reference: record.reference.clone(),
        mission: record.mission.clone(),
        state: record.state,
        version: record.version,
        submitted_at: record.submitted_at,
        updated_at: record.updated_at,
        policy_version: record.policy_version.clone(),
        recommended_by: record.recommended_by,
        recommendation: record.recommendation,
        flags: record.flags.clone(),
        applicant: serde_json::to_value(&record.details).unwrap_or_default(),
        history: history.iter().map(HistoryView::from).collect(),
    }
}

/// Parses a case id from the path; a malformed id is simply not found.
pub fn parse_id(raw: &str) -> Result<ApplicationId, AppError> {
    ApplicationId::parse(raw).ok_or(AppError::NotFound)
}

/// The mission queue.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(QueueParams),
    responses((status = 200, body = QueuePage), (status = 422, description = "Bad filter")))]
pub async fn queue(
    State(state): State<AppState>,
    staff: CurrentStaff,
    Query(params): Query<QueueParams>,
) -> Result<Json<QueuePage>, AppError> {
    let scope = staff.case_scope().ok_or(AppError::Forbidden("Your role has no case queue."))?;
    queue_page(&state, &scope, &params, None).await.map(Json)
}

/// An exact lookup in the queue. Sent in a POST body, never in a URL, so that the address or
/// number stays out of browser histories and proxy logs.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// The applicant's e-mail address (exact, ignoring case and surrounding spaces).
    pub email: Option<String>,
    /// A passport number; needs `nationality`.
    pub passport: Option<String>,
    /// The passport's country (ISO 3166-1 alpha-2), with `passport`.
    pub nationality: Option<String>,
}

/// Finds the cases of one applicant in the queue by e-mail address or passport number, through
/// the blind indexes: exact matches only, within the caller's mission, up to 200.
#[utoipa::path(post, path = "/api/v1/cases/lookup", tag = "cases", request_body = Lookup,
    responses((status = 200, body = QueuePage), (status = 422, description = "Bad lookup")))]
pub async fn lookup(
    State(state): State<AppState>,
    staff: CurrentStaff,
    body: JsonBody,
) -> Result<Json<QueuePage>, AppError> {
    let scope = staff.case_scope().ok_or(AppError::Forbidden("Your role has no case queue."))?;
    let lookup: Lookup = body.parse()?;
    if lookup.email.as_deref().is_none_or(|s| s.trim().is_empty())
        && lookup.passport.as_deref().is_none_or(|s| s.trim().is_empty())
    {
        let mut e = legion_domain::FieldErrors::new();
        e.add("email", "give an e-mail address or a passport number");
        return Err(AppError::Validation(e));
    }
    let params = QueueParams { limit: Some(200), ..QueueParams::default() };
    queue_page(&state, &scope, &params, Some(&lookup)).await.map(Json)
}

/// One page of cases within `scope`, narrowed by `lookup` when there is one.
pub async fn queue_page(
    state: &AppState,
    scope: &Scope,
    params: &QueueParams,
    lookup: Option<&Lookup>,
) -> Result<QueuePage, AppError> {
    let q = params.to_query(state, lookup)?;
    let page = state.store.cases(scope, &q).await?;
    Ok(QueuePage {
        items: page.items.iter().map(CaseSummary::from).collect(),
        total: page.total,
        offset: q.offset,
        limit: q.limit.clamp(1, 200),
    })
}

/// A case with its history. The read is audited.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = String, Path, description = "Case id")),
    responses((status = 200, body = CaseView), (status = 404, description = "Unknown or outside your mission")))]
pub async fn case(
    State(state): State<AppState>,
    staff: CurrentStaff,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, AppError> {
    let (record, history) = load_case(&state, &staff, parse_id(&id)?).await?;
    Ok(Json(case_view(&record, &history)))
}

/// A reason for a decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why.
    pub reason: String,
}

/// A question to the applicant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    /// The question.
    pub message: String,
}

/// An interview appointment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// When (RFC 3339).
    pub at: DateTime<Utc>,
    /// Where, or the video link.
    pub place: String,
}

/// An interview record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterviewBody {
    /// Whether the applicant came.
    pub attended: bool,
    /// Notes.
    pub notes: String,
}

/// A recommendation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendBody {
    /// Approve or reject.
    pub recommendation: Recommendation,
    /// Why.
    pub reason: String,
}

/// An approval note.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    /// Optional note.
    #[serde(default)]
    pub note: String,
}

/// The entry window of an authorisation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthoriseBody {
    /// First day (YYYY-MM-DD).
    pub valid_from: NaiveDate,
    /// Last day (YYYY-MM-DD).
    pub valid_until: NaiveDate,
}

/// A new entry window, and why the authorisation is replaced.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReissueBody {
    /// First day (YYYY-MM-DD).
    pub valid_from: NaiveDate,
    /// Last day (YYYY-MM-DD).
    pub valid_until: NaiveDate,
    /// Why (lost, stolen, a new window).
    pub reason: String,
}

async fn act(state: &AppState, staff: &CurrentStaff, id: &str, command: Command) -> Result<Json<CaseView>, AppError> {
    let id = parse_id(id)?;
    let record = service::staff_command(state, staff, id, command).await?;
    let scope = staff.case_scope().ok_or(AppError::NotFound)?;
    let history = state.store.history(id, &scope).await?;
    Ok(Json(case_view(&record, &history)))
}

/// The outcome of a vetting decision (the vetting officer sees no case file).
#[derive(Debug, Serialize, ToSchema)]
pub struct VettingOutcome {
    /// Case id.
    pub id: ApplicationId,
    /// State after the decision.
    pub state: CaseState,
}

async fn vet(
    state: &AppState,
    staff: &CurrentStaff,
    id: &str,
    command: Command,
) -> Result<Json<VettingOutcome>, AppError> {
    let record = service::staff_command(state, staff, parse_id(id)?, command).await?;
    Ok(Json(VettingOutcome { id: record.id, state: record.state }))
}

macro_rules! transition_endpoint {
    ($(#[$doc:meta])* $name:ident, $path:literal, $body:ty, $tag:literal, |$b:ident| $cmd:expr) => {
        transition_endpoint!($(#[$doc])* $name, $path, $body, $tag, CaseView, act, |$b| $cmd);
    };
    ($(#[$doc:meta])* $name:ident, $path:literal, $body:ty, $tag:literal, $resp:ty, $run:ident, |$b:ident| $cmd:expr) => {
        $(#[$doc])*
        #[utoipa::path(post, path = $path, tag = $tag, params(("id" = String, Path, description = "Case id")),
            request_body = $body,
            responses((status = 200, body = $resp), (status = 403, description = "Role or four-eyes rule"),
                      (status = 404, description = "Unknown or outside your scope"),
                      (status = 409, description = "Not possible in the current state"),
                      (status = 422, description = "Invalid fields")))]
        pub async fn $name(
            State(state): State<AppState>,
            staff: CurrentStaff,
            Path(id): Path<String>,
            body: JsonBody,
        ) -> Result<Json<$resp>, AppError> {
            let $b: $body = body.parse()?;
            $run(&state, &staff, &id, $cmd).await
        }
    };
}

transition_endpoint!(
    /// Asks the applicant for information.
    request_info, "/api/v1/cases/{id}/request-info", MessageBody, "cases", |b| Command::RequestInfo { message: b.message });
transition_endpoint!(
    /// Schedules an interview.
    schedule_interview, "/api/v1/cases/{id}/schedule-interview", ScheduleBody, "cases", |b| Command::ScheduleInterview { at: b.at, place: b.place });
transition_endpoint!(
    /// Records the interview (a no-show returns the case to review).
    record_interview, "/api/v1/cases/{id}/record-interview", InterviewBody, "cases", |b| Command::RecordInterview { attended: b.attended, notes: b.notes });
transition_endpoint!(
    /// Recommends approval (after an interview) or rejection.
    recommend, "/api/v1/cases/{id}/recommend", RecommendBody, "cases", |b| Command::Recommend { recommendation: b.recommendation, reason: b.reason });
transition_endpoint!(
    /// Approves a recommendation to approve (a different mission head than the recommender).
    approve, "/api/v1/cases/{id}/approve", NoteBody, "cases", |b| Command::Approve { note: b.note });
transition_endpoint!(
    /// Rejects a recommended case (a different mission head than the recommender).
    reject, "/api/v1/cases/{id}/reject", ReasonBody, "cases", |b| Command::Reject { reason: b.reason });
transition_endpoint!(
    /// Sends a recommended case back to review.
    return_to_review, "/api/v1/cases/{id}/return", ReasonBody, "cases", |b| Command::ReturnToReview { reason: b.reason });
transition_endpoint!(
    /// Issues the entry authorisation for an approved case.
    authorise, "/api/v1/cases/{id}/authorise", AuthoriseBody, "cases", |b| Command::Authorise { valid_from: b.valid_from, valid_until: b.valid_until });
transition_endpoint!(
    /// Revokes the entry authorisation.
    revoke, "/api/v1/cases/{id}/revoke", ReasonBody, "cases", |b| Command::Revoke { reason: b.reason });
transition_endpoint!(
    /// Replaces the entry authorisation: the old one goes on the revocation list, a new one
    /// is issued for the window given.
    reissue, "/api/v1/cases/{id}/reissue", ReissueBody, "cases", |b| Command::Reissue { valid_from: b.valid_from, valid_until: b.valid_until, reason: b.reason });
transition_endpoint!(
    /// Clears a screening hold: the hits do not apply.
    vetting_clear, "/api/v1/vetting/{id}/clear", ReasonBody, "vetting", VettingOutcome, vet, |b| Command::ClearVetting { reason: b.reason });
transition_endpoint!(
    /// Confirms a screening hit, which rejects the case.
    vetting_confirm, "/api/v1/vetting/{id}/confirm", ReasonBody, "vetting", VettingOutcome, vet, |b| Command::ConfirmVetting { reason: b.reason });

/// What a vetting officer sees: screening data only.
#[derive(Debug, Serialize, ToSchema)]
pub struct VettingView {
    /// Id.
    pub id: ApplicationId,
    /// Reference.
    pub reference: Reference,
    /// Mission.
    pub mission: MissionId,
    /// State.
    pub state: CaseState,
    /// Name as in the passport.
    pub name: String,
    /// Name in the original script.
    pub native_name: Option<String>,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Nationality.
    pub nationality: CountryCode,
    /// Hits with explanations.
    pub flags: Vec<Flag>,
    /// Submitted.
    pub submitted_at: DateTime<Utc>,
}

impl From<&ApplicationRecord> for VettingView {
    fn from(r: &ApplicationRecord) -> Self {
        Self {
            id: r.id,
            reference: r.reference.clone(),
            mission: r.mission.clone(),
            state: r.state,
            name: r.details.full_name(),
            native_name: r.details.native_name.clone(),
            date_of_birth: r.details.date_of_birth,
            nationality: r.details.nationality,
            flags: r.flags.clone(),
            submitted_at: r.submitted_at,
        }
    }
}

/// Cases on vetting hold, across missions.
#[utoipa::path(get, path = "/api/v1/vetting", tag = "vetting", params(QueueParams),
    responses((status = 200, body = QueuePage)))]
pub async fn vetting_queue(
    State(state): State<AppState>,
    _staff: CurrentStaff,
    Query(params): Query<QueueParams>,
) -> Result<Json<QueuePage>, AppError> {
    queue_page(&state, &Scope::VettingHold, &params, None).await.map(Json)
}

/// One case on vetting hold: screening data only. The read is audited.
#[utoipa::path(get, path = "/api/v1/vetting/{id}", tag = "vetting", params(("id" = String, Path, description = "Case id")),
    responses((status = 200, body = VettingView), (status = 404, description = "Not on vetting hold")))]
pub async fn vetting_case(
    State(state): State<AppState>,
    staff: CurrentStaff,
    Path(id): Path<String>,
) -> Result<Json<VettingView>, AppError> {
    let id = parse_id(&id)?;
    let record = state.store.case(id, &Scope::VettingHold).await?.ok_or(AppError::NotFound)?;
    state.store.append_audit(&staff.audit(&state, "vetting.read", format!("application:{id}"), "ok")).await?;
    Ok(Json(VettingView::from(&record)))
}
