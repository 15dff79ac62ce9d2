//! Administration and oversight: missions, staff accounts, the audit log, statistics.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use legion_domain::{CountryCode, FieldErrors, Mission, MissionId, Role, StaffId, Username};
use legion_store::{NewStaff, StateCount, StoredAuditEvent};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::JsonBody;
use crate::AppState;
use crate::auth::{self, CurrentStaff, MIN_PASSWORD_LEN};
use crate::error::AppError;

/// All missions.
#[utoipa::path(get, path = "/api/v1/missions", tag = "admin", responses((status = 200, body = Vec<Mission>)))]
pub async fn missions(State(state): State<AppState>, _staff: CurrentStaff) -> Result<Json<Vec<Mission>>, AppError> {
    Ok(Json(state.store.missions().await?))
}

/// Creates or replaces a mission.
#[utoipa::path(post, path = "/api/v1/missions", tag = "admin", request_body = Mission,
    responses((status = 200, body = Mission), (status = 422, description = "Invalid fields")))]
pub async fn put_mission(
    State(state): State<AppState>,
    staff: CurrentStaff,
    body: JsonBody,
) -> Result<Json<Mission>, AppError> {
    let m: Mission = body.parse()?;
    let mut e = FieldErrors::new();
    if m.name.trim().is_empty() || m.name.chars().count() > 200 {
        e.add("name", "must be 1–200 characters");
    }
    if m.covers.is_empty() && !m.regional {
        e.add("covers", "list at least one country, or make the mission regional");
    }
    let m = e.into_result(m).map_err(AppError::Validation)?;
    let audit = staff.audit(&state, "mission.put", format!("mission:{}", m.id), "ok");
    state.store.put_mission(&m, &audit).await?;
    state.forget_missions();
    // Its issuing key now, so that the next trust list border posts load has it.
    state.keys.credentials.issuer(m.id.as_str())?;
    Ok(Json(m))
}

/// A staff account as listed (never the password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffView {
    /// Id.
    pub id: StaffId,
    /// Sign-in name.
    pub username: Username,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Mission.
    pub mission: Option<MissionId>,
    /// Disabled.
    pub disabled: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// All staff accounts.
#[utoipa::path(get, path = "/api/v1/staff", tag = "admin", responses((status = 200, body = Vec<StaffView>)))]
pub async fn list_staff(State(state): State<AppState>, _staff: CurrentStaff) -> Result<Json<Vec<StaffView>>, AppError> {
    let all = state.store.list_staff().await?;
    Ok(Json(
        all.into_iter()
            .map(|s| StaffView {
                id: s.id,
                username: s.username,
                display_name: s.display_name,
                role: s.role,
                mission: s.mission,
                disabled: s.disabled,
                created_at: s.created_at,
            })
            .collect(),
    ))
}

/// A new staff account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffBody {
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Initial password (at least 12 characters).
    pub password: String,
    /// Role (`mission_officer`, `mission_head`, …).
    pub role: String,
    /// Mission, required for mission officers and heads.
    pub mission: Option<String>,
}

/// Checks and hashes a new account; shared by the API and `legion users add`.
pub async fn new_staff(state: &AppState, b: NewStaffBody) -> Result<NewStaff, AppError> {
    let mut e = FieldErrors::new();
    let username = Username::parse(&b.username).map_err(|m| e.add("username", m)).ok();
    let role = Role::parse(&b.role);
    if role.is_none() {
        e.add("role", "is not a known role");
    }
    let display_name = b.display_name.trim().to_owned();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        e.add("display_name", "must be 1–100 characters");
    }
    if b.password.chars().count() < MIN_PASSWORD_LEN {
        e.add("password", format!("must be at least {MIN_PASSWORD_LEN} characters"));
    }
    let missions = state.store.missions().await?;
    let mission = match (role, b.mission.as_deref().filter(|m| !m.is_empty())) {
        (Some(r), None) if r.is_mission_scoped() => {
            e.add("mission", "is required for this role");
            None
        }
        (Some(r), Some(_)) if !r.is_mission_scoped() => {
            e.add("mission", "must be empty for this role");
            None
        }
        (_, Some(m)) => match MissionId::parse(m) {
            Ok(id) if missions.iter().any(|x| x.id == id) => Some(id),
            _ => {
                e.add("mission", "is not a known mission");
                None
            }
        },
        (_, None) => None,
    };
    let (Some(username), Some(role)) = (username, role) else { return Err(AppError::Validation(e)) };
    if !e.is_empty() {
        return Err(AppError::Validation(e));
    }
    let random = state.random.clone();
    let password = b.password;
    let password_hash = tokio::task::spawn_blocking(move || auth::hash_password(&password, random.as_ref()))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    Ok(NewStaff {
        id: StaffId::from_random(state.random_bytes()),
        username,
        display_name,
        password_hash,
        role,
        mission,
        created_at: state.clock.now(),
    })
}

/// Creates a staff account.
#[utoipa::path(post, path = "/api/v1/staff", tag = "admin", request_body = NewStaffBody,
    responses((status = 201, body = StaffView), (status = 409, description = "Username taken"), (status = 422)))]
pub async fn create_staff(
    State(state): State<AppState>,
    staff: CurrentStaff,
    body: JsonBody,
) -> Result<(StatusCode, Json<StaffView>), AppError> {
    let n = new_staff(&state, body.parse()?).await?;
    let audit = staff.audit(&state, "staff.create", format!("staff:{}", n.id), "ok");
    state.store.create_staff(&n, &audit).await?;
    Ok((
        StatusCode::CREATED,
        Json(StaffView {
            id: n.id,
            username: n.username,
            display_name: n.display_name,
            role: n.role,
            mission: n.mission,
            disabled: false,
            created_at: n.created_at,
        }),
    ))
}

/// Disables a staff account and ends its sessions.
#[utoipa::path(post, path = "/api/v1/staff/{username}/disable", tag = "admin",
    params(("username" = String, Path, description = "Sign-in name")),
    responses((status = 204, description = "Disabled"), (status = 404)))]
pub async fn disable_staff(
    State(state): State<AppState>,
    staff: CurrentStaff,
    Path(username): Path<String>,
) -> Result<StatusCode, AppError> {
    let username = Username::parse(&username).map_err(|_| AppError::NotFound)?;
    let target = state.store.staff_by_username(&username).await?.ok_or(AppError::NotFound)?;
    let audit = staff.audit(&state, "staff.disable", format!("staff:{}", target.id), "ok");
    state.store.set_staff_disabled(&username, true, &audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Audit log paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Events after this sequence number.
    pub after: Option<i64>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<u32>,
}

/// The audit log, oldest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "oversight", params(AuditParams),
    responses((status = 200, body = Vec<StoredAuditEvent>)))]
pub async fn audit_log(
    State(state): State<AppState>,
    _staff: CurrentStaff,
    Query(p): Query<AuditParams>,
) -> Result<Json<Vec<StoredAuditEvent>>, AppError> {
    let limit = p.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(state.store.audit_events(p.after.unwrap_or(0), limit).await?))
}

/// Case counts per mission and state.
#[utoipa::path(get, path = "/api/v1/stats", tag = "oversight", responses((status = 200, body = Vec<StateCount>)))]
pub async fn stats(State(state): State<AppState>, _staff: CurrentStaff) -> Result<Json<Vec<StateCount>>, AppError> {
    Ok(Json(state.store.state_counts().await?))
}

/// The watchlists in use.
#[derive(Debug, Serialize, ToSchema)]
pub struct WatchlistStatus {
    /// When they were loaded; absent before the first load.
    pub loaded_at: Option<DateTime<Utc>>,
    /// Increases with each load.
    pub generation: u64,
    /// Entries in all files.
    pub entries: usize,
    /// Each file: entries, and what was skipped or dropped by reason.
    pub files: Vec<crate::watchlists::ListFile>,
    /// Groups of known spellings names are matched with (0: transliteration rules alone).
    pub known_spellings: usize,
    /// After a reload: open cases sent back to vetting hold by new hits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<usize>,
}

fn watchlist_status(loaded: &crate::watchlists::Loaded, held: Option<usize>) -> WatchlistStatus {
    WatchlistStatus {
        loaded_at: loaded.loaded_at,
        generation: loaded.generation,
        entries: loaded.index.len(),
        files: loaded.files.clone(),
        known_spellings: loaded.index.variants().map_or(0, legion_screening::variants::Variants::len),
        held,
    }
}

/// The watchlists screening uses now.
#[utoipa::path(get, path = "/api/v1/watchlists", tag = "admin", responses((status = 200, body = WatchlistStatus)))]
pub async fn watchlists(State(state): State<AppState>, _staff: CurrentStaff) -> Json<WatchlistStatus> {
    Json(watchlist_status(&state.watchlists.current(), None))
}

/// Reads the watchlist files again, without stopping screening (it uses the previous lists
/// until the new ones are ready), and re-screens open cases against them. On a file that
/// cannot be read, nothing changes and the answer says which file and why.
#[utoipa::path(post, path = "/api/v1/watchlists/reload", tag = "admin",
    responses((status = 200, body = WatchlistStatus),
        (status = 422, description = "A file cannot be read as a watchlist: which, and why; nothing changed")))]
pub async fn reload_watchlists(
    State(state): State<AppState>,
    staff: CurrentStaff,
) -> Result<Json<WatchlistStatus>, AppError> {
    let result = crate::service::reload_watchlists(&state).await;
    let outcome = if result.is_ok() { "ok" } else { "failed" };
    state.store.append_audit(&staff.audit(&state, "watchlists.reload", "watchlists".into(), outcome)).await?;
    let (loaded, held) = result?;
    Ok(Json(watchlist_status(&loaded, Some(held))))
}

/// Parses a country list such as "PL, LT".
pub fn parse_countries(s: &str) -> Result<Vec<CountryCode>, String> {
    s.split([',', ' '])
        .filter(|c| !c.is_empty())
        .map(|c| CountryCode::parse(c).ok_or_else(|| format!("unknown country code '{c}'")))
        .collect()
}
