//! What the two backends share: SQL text that reads the same in both dialects, the shapes
//! rows come back in, and the conversions between rows and domain types. Whatever differs
//! between `SQLite` and `PostgreSQL` lives in `sqlite.rs` or `postgres.rs`, not here.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use legion_domain::screening::Flag;
use legion_domain::{
    ApplicantDetails, ApplicationId, CountryCode, Mission, MissionId, Recommendation, Reference, Role, StaffId, State,
    Username,
};

use crate::{
    ApplicationRecord, AuditEvent, HistoryEntry, PassportMatch, QueueQuery, QueueSort, Result, Scope, StaffRecord,
    StateCount, StoreError, StoredAuditEvent,
};

/// The most rows one page of a queue may hold.
pub(crate) const MAX_PAGE: u32 = 200;

/// Milliseconds since the Unix epoch: the one time representation in both schemas.
pub(crate) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn time(ms: i64, column: &str) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt(column, "is out of range"))
}

/// A stored value the domain refuses. Names the column, never the value: it may be personal.
fn corrupt(column: &str, why: &str) -> StoreError {
    StoreError::Internal(format!("stored {column} {why}"))
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Internal(format!("cannot encode {what}: {:?}", e.classify())))
}

/// `serde_json`'s messages quote the offending input, so only its category and position are kept.
fn from_json<T: serde::de::DeserializeOwned>(text: &str, column: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        corrupt(
            column,
            &format!("is not valid JSON for its type ({:?} at line {} column {})", e.classify(), e.line(), e.column()),
        )
    })
}

fn state(s: &str, column: &str) -> Result<State> {
    State::parse(s).ok_or_else(|| corrupt(column, "is not a known state"))
}

fn uuid_id<T>(s: &str, parse: fn(&str) -> Option<T>, column: &str) -> Result<T> {
    parse(s).ok_or_else(|| corrupt(column, "is not a UUID"))
}

fn mission_id(s: &str, column: &str) -> Result<MissionId> {
    MissionId::parse(s).map_err(|_| corrupt(column, "is not a mission id"))
}

pub(crate) fn application_id(s: &str) -> Result<ApplicationId> {
    uuid_id(s, ApplicationId::parse, "applications.id")
}

fn reference(s: &str) -> Result<Reference> {
    Reference::parse(s).ok_or_else(|| corrupt("applications.reference", "is not a reference"))
}

// ---------------------------------------------------------------------------------------
// SQL text identical in both dialects. Both number parameters `$1`, `$2`, …; SQLite binds
// `$N` to the N-th bound value, so a parameter may repeat or appear out of order.
// ---------------------------------------------------------------------------------------

pub(crate) const UPSERT_MISSION: &str = "INSERT INTO missions (id, name, country, covers, regional) \
     VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, country = excluded.country, \
     covers = excluded.covers, regional = excluded.regional";

pub(crate) const SELECT_MISSIONS: &str = "SELECT id, name, country, covers, regional FROM missions ORDER BY id";

pub(crate) const INSERT_STAFF: &str = "INSERT INTO staff \
     (id, username, display_name, password_hash, role, mission_id, disabled, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7)";

pub(crate) const SELECT_STAFF_BY_USERNAME: &str = "SELECT s.id, s.username, s.display_name, s.password_hash, s.role, \
     s.mission_id, s.disabled, s.created_at FROM staff s WHERE s.username = $1";

pub(crate) const SELECT_STAFF_BY_ID: &str = "SELECT s.id, s.username, s.display_name, s.password_hash, s.role, \
     s.mission_id, s.disabled, s.created_at FROM staff s WHERE s.id = $1";

pub(crate) const SELECT_ALL_STAFF: &str = "SELECT s.id, s.username, s.display_name, s.password_hash, s.role, \
     s.mission_id, s.disabled, s.created_at FROM staff s ORDER BY s.username";

pub(crate) const SET_STAFF_DISABLED: &str = "UPDATE staff SET disabled = $1 WHERE username = $2";

pub(crate) const DELETE_SESSIONS_OF_USERNAME: &str =
    "DELETE FROM sessions WHERE staff_id IN (SELECT id FROM staff WHERE username = $1)";

pub(crate) const INSERT_SESSION: &str =
    "INSERT INTO sessions (token_hash, staff_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";

pub(crate) const SELECT_SESSION_STAFF: &str = "SELECT s.id, s.username, s.display_name, s.password_hash, s.role, \
     s.mission_id, s.disabled, s.created_at \
     FROM sessions x JOIN staff s ON s.id = x.staff_id \
     WHERE x.token_hash = $1 AND x.expires_at > $2 AND NOT s.disabled";

pub(crate) const DELETE_SESSION: &str = "DELETE FROM sessions WHERE token_hash = $1";

pub(crate) const INSERT_APPLICATION: &str = "INSERT INTO applications \
     (id, reference, mission_id, state, version, access_hash, passport_index, details, \
      submitted_at, updated_at, policy_version, recommended_by, recommendation, flags) \
     VALUES ($1, $2, $3, 'submitted', 1, $4, $5, $6, $7, $7, $8, NULL, NULL, '[]')";

pub(crate) const INSERT_FIRST_HISTORY: &str = "INSERT INTO application_history \
     (application_id, seq, at, actor, actor_role, command, from_state, to_state, details, policy_version) \
     VALUES ($1, 1, $2, 'applicant', 'applicant', 'submit', 'submitted', 'submitted', '{}', $3)";

const APPLICATION_COLUMNS: &str = "id, reference, mission_id, state, version, details, submitted_at, updated_at, \
     policy_version, recommended_by, recommendation, flags";

pub(crate) const SELECT_APPLICATION_FOR_APPLICANT: &str = "SELECT id, reference, mission_id, state, version, details, \
     submitted_at, updated_at, policy_version, recommended_by, recommendation, flags \
     FROM applications WHERE id = $1 AND access_hash = $2";

pub(crate) const SELECT_APPLICATION_BY_REFERENCE: &str = "SELECT id, reference, mission_id, state, version, details, \
     submitted_at, updated_at, policy_version, recommended_by, recommendation, flags \
     FROM applications WHERE reference = $1 AND access_hash = $2";

/// The version check and the state check make a stale decision change nothing; `flags`
/// keeps its value when no new flags are given.
pub(crate) const UPDATE_FOR_TRANSITION: &str = "UPDATE applications SET state = $1, version = version + 1, \
     updated_at = $2, policy_version = $3, recommended_by = $4, recommendation = $5, flags = COALESCE($6, flags) \
     WHERE id = $7 AND version = $8 AND state = $9 \
     RETURNING version";

pub(crate) const APPLICATION_EXISTS: &str = "SELECT COUNT(*) FROM applications WHERE id = $1";

/// The application row is already updated (and, in `PostgreSQL`, locked) by this transaction,
/// so no other writer can be computing the same `seq`.
pub(crate) const INSERT_NEXT_HISTORY: &str = "INSERT INTO application_history \
     (application_id, seq, at, actor, actor_role, command, from_state, to_state, details, policy_version) \
     SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9 \
     FROM application_history WHERE application_id = $1";

pub(crate) const PENDING_SCREENING: &str =
    "SELECT id FROM applications WHERE state = 'submitted' ORDER BY submitted_at, id LIMIT $1";

pub(crate) const PASSPORT_MATCHES: &str = "SELECT id, reference, mission_id, state FROM applications \
     WHERE passport_index = $1 AND id <> $2 AND state <> 'withdrawn' ORDER BY submitted_at, id";

/// `seq` is MAX + 1, not a sequence or rowid default, so the log has no gaps: a rolled-back
/// append takes its number with it. Callers make sure only one transaction appends at a time.
pub(crate) const INSERT_AUDIT: &str = "INSERT INTO audit_events \
     (seq, at, actor, role, mission, action, object, outcome) \
     SELECT COALESCE(MAX(seq), 0) + 1, $1, $2, $3, $4, $5, $6, $7 FROM audit_events";

pub(crate) const SELECT_AUDIT: &str = "SELECT seq, at, actor, role, mission, action, object, outcome \
     FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2";

pub(crate) const STATE_COUNTS: &str = "SELECT mission_id, state, COUNT(*) AS count FROM applications \
     GROUP BY mission_id, state ORDER BY mission_id, state";

pub(crate) const PING: &str = "SELECT 1";

// ---------------------------------------------------------------------------------------
// Scoped case queries. Built from fixed fragments; every value is a bound parameter.
// ---------------------------------------------------------------------------------------

/// SQL text with the text values to bind to `$1`, `$2`, … in order.
#[derive(Debug)]
pub(crate) struct Built {
    pub sql: String,
    pub binds: Vec<String>,
}

/// A WHERE clause whose parameters are numbered in the order they are added.
struct Where {
    sql: String,
    binds: Vec<String>,
}

impl Where {
    fn new() -> Self {
        Self { sql: String::new(), binds: Vec::new() }
    }

    fn and(&mut self, condition: &str) {
        self.sql.push_str(if self.sql.is_empty() { " WHERE " } else { " AND " });
        self.sql.push_str(condition);
    }

    fn eq(&mut self, column: &str, value: String) {
        self.binds.push(value);
        let n = self.binds.len();
        self.and(&format!("{column} = ${n}"));
    }

    /// The scope rule, in SQL, so that nothing outside the scope is ever read.
    fn scope(&mut self, scope: &Scope) {
        match scope {
            Scope::All => {}
            Scope::Mission(m) => self.eq("mission_id", m.as_str().to_owned()),
            Scope::VettingHold => self.and("state = 'vetting_hold'"),
        }
    }
}

pub(crate) fn case_query(id: ApplicationId, scope: &Scope) -> Built {
    let mut w = Where::new();
    w.eq("id", id.to_string());
    w.scope(scope);
    Built { sql: format!("SELECT {APPLICATION_COLUMNS} FROM applications{}", w.sql), binds: w.binds }
}

pub(crate) fn history_query(id: ApplicationId, scope: &Scope) -> Built {
    let mut w = Where::new();
    w.eq("id", id.to_string());
    w.scope(scope);
    Built {
        sql: format!(
            "SELECT seq, at, actor, actor_role, command, from_state, to_state, details, policy_version \
             FROM application_history WHERE application_id IN (SELECT id FROM applications{}) ORDER BY seq",
            w.sql
        ),
        binds: w.binds,
    }
}

/// A page of a queue: the count query, the page query (whose last two parameters, after
/// `binds`, are the limit and the offset), and the clamped limit.
pub(crate) struct CasesQuery {
    pub count: Built,
    pub page: Built,
    pub limit: i64,
    pub offset: i64,
}

pub(crate) fn cases_query(scope: &Scope, query: &QueueQuery) -> CasesQuery {
    let mut w = Where::new();
    w.scope(scope);
    if let Some(s) = query.state {
        w.eq("state", s.as_str().to_owned());
    }
    if let Some(r) = &query.reference {
        w.eq("reference", r.as_str().to_owned());
    }
    // The id breaks ties so that pages neither repeat nor skip rows.
    let order = match query.sort {
        QueueSort::SubmittedAsc => "submitted_at ASC, id ASC",
        QueueSort::SubmittedDesc => "submitted_at DESC, id DESC",
        QueueSort::UpdatedDesc => "updated_at DESC, id DESC",
    };
    let n = w.binds.len();
    let mut page = format!("SELECT {APPLICATION_COLUMNS} FROM applications{} ORDER BY {order}", w.sql);
    write!(page, " LIMIT ${} OFFSET ${}", n + 1, n + 2).expect("writing to a String");
    CasesQuery {
        count: Built { sql: format!("SELECT COUNT(*) FROM applications{}", w.sql), binds: w.binds.clone() },
        page: Built { sql: page, binds: w.binds },
        limit: i64::from(query.limit.clamp(1, MAX_PAGE)),
        offset: i64::from(query.offset),
    }
}

// ---------------------------------------------------------------------------------------
// Rows. `FromRow` is derived generically, so each shape decodes in either backend.
// ---------------------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
pub(crate) struct MissionRow {
    id: String,
    name: String,
    country: String,
    covers: String,
    regional: bool,
}

impl MissionRow {
    pub(crate) fn into_mission(self) -> Result<Mission> {
        Ok(Mission {
            id: mission_id(&self.id, "missions.id")?,
            name: self.name,
            country: CountryCode::parse(&self.country)
                .ok_or_else(|| corrupt("missions.country", "is not a country"))?,
            covers: from_json(&self.covers, "missions.covers")?,
            regional: self.regional,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct StaffRow {
    id: String,
    username: String,
    display_name: String,
    password_hash: String,
    role: String,
    mission_id: Option<String>,
    disabled: bool,
    created_at: i64,
}

impl StaffRow {
    pub(crate) fn into_record(self) -> Result<StaffRecord> {
        Ok(StaffRecord {
            id: uuid_id(&self.id, StaffId::parse, "staff.id")?,
            username: Username::parse(&self.username).map_err(|_| corrupt("staff.username", "is not a username"))?,
            display_name: self.display_name,
            password_hash: self.password_hash,
            role: Role::parse(&self.role).ok_or_else(|| corrupt("staff.role", "is not a role"))?,
            mission: self.mission_id.as_deref().map(|m| mission_id(m, "staff.mission_id")).transpose()?,
            disabled: self.disabled,
            created_at: time(self.created_at, "staff.created_at")?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ApplicationRow {
    id: String,
    reference: String,
    mission_id: String,
    state: String,
    version: i64,
    details: String,
    submitted_at: i64,
    updated_at: i64,
    policy_version: String,
    recommended_by: Option<String>,
    recommendation: Option<String>,
    flags: String,
}

impl ApplicationRow {
    pub(crate) fn into_record(self) -> Result<ApplicationRecord> {
        Ok(ApplicationRecord {
            id: uuid_id(&self.id, ApplicationId::parse, "applications.id")?,
            reference: reference(&self.reference)?,
            mission: mission_id(&self.mission_id, "applications.mission_id")?,
            state: state(&self.state, "applications.state")?,
            version: self.version,
            details: from_json::<ApplicantDetails>(&self.details, "applications.details")?,
            submitted_at: time(self.submitted_at, "applications.submitted_at")?,
            updated_at: time(self.updated_at, "applications.updated_at")?,
            policy_version: self.policy_version,
            recommended_by: self
                .recommended_by
                .as_deref()
                .map(|s| uuid_id(s, StaffId::parse, "applications.recommended_by"))
                .transpose()?,
            recommendation: self
                .recommendation
                .as_deref()
                .map(|r| {
                    Recommendation::parse(r)
                        .ok_or_else(|| corrupt("applications.recommendation", "is not a recommendation"))
                })
                .transpose()?,
            flags: from_json::<Vec<Flag>>(&self.flags, "applications.flags")?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct HistoryRow {
    seq: i64,
    at: i64,
    actor: String,
    actor_role: String,
    command: String,
    from_state: String,
    to_state: String,
    details: String,
    policy_version: String,
}

impl HistoryRow {
    pub(crate) fn into_entry(self) -> Result<HistoryEntry> {
        Ok(HistoryEntry {
            seq: self.seq,
            at: time(self.at, "application_history.at")?,
            actor: self.actor,
            actor_role: self.actor_role,
            command: self.command,
            from_state: state(&self.from_state, "application_history.from_state")?,
            to_state: state(&self.to_state, "application_history.to_state")?,
            details: from_json(&self.details, "application_history.details")?,
            policy_version: self.policy_version,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PassportMatchRow {
    id: String,
    reference: String,
    mission_id: String,
    state: String,
}

impl PassportMatchRow {
    pub(crate) fn into_match(self) -> Result<PassportMatch> {
        Ok(PassportMatch {
            id: uuid_id(&self.id, ApplicationId::parse, "applications.id")?,
            reference: reference(&self.reference)?,
            mission: mission_id(&self.mission_id, "applications.mission_id")?,
            state: state(&self.state, "applications.state")?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    seq: i64,
    at: i64,
    actor: String,
    role: String,
    mission: Option<String>,
    action: String,
    object: String,
    outcome: String,
}

impl AuditRow {
    pub(crate) fn into_event(self) -> Result<StoredAuditEvent> {
        Ok(StoredAuditEvent {
            seq: self.seq,
            event: AuditEvent {
                at: time(self.at, "audit_events.at")?,
                actor: self.actor,
                role: self.role,
                mission: self.mission,
                action: self.action,
                object: self.object,
                outcome: self.outcome,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct StateCountRow {
    mission_id: String,
    state: String,
    count: i64,
}

impl StateCountRow {
    pub(crate) fn into_count(self) -> Result<StateCount> {
        Ok(StateCount {
            mission: mission_id(&self.mission_id, "applications.mission_id")?,
            state: state(&self.state, "applications.state")?,
            count: self.count,
        })
    }
}

pub(crate) fn collect<R, T>(rows: Vec<R>, convert: fn(R) -> Result<T>) -> Result<Vec<T>> {
    rows.into_iter().map(convert).collect()
}

/// Errors that do not come from the database itself. Their texts carry no bound values.
pub(crate) fn client_error(e: &sqlx::Error) -> StoreError {
    use sqlx::Error as E;
    match e {
        E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => {
            StoreError::Unavailable(e.to_string())
        }
        E::Configuration(_) => StoreError::Config(e.to_string()),
        _ => StoreError::Internal(e.to_string()),
    }
}

/// Applies migrations, turning sqlx's errors into ours with `map` for database errors.
pub(crate) fn migrate_error(e: sqlx::migrate::MigrateError, map: fn(sqlx::Error) -> StoreError) -> StoreError {
    use sqlx::migrate::MigrateError as M;
    match e {
        M::Execute(e) => map(e),
        M::ExecuteMigration(e, version) => match map(e) {
            StoreError::Internal(text) => StoreError::Internal(format!("migration {version}: {text}")),
            other => other,
        },
        M::VersionMissing(_) => StoreError::Config(format!("{e}; this database was written by a newer Legion")),
        other => StoreError::Internal(other.to_string()),
    }
}
