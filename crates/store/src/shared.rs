//! What the two backends share: SQL text that reads the same in both dialects, the shapes
//! rows come back in, the conversions between rows and domain types, and (in `impl_store!`)
//! the `Store` methods that run that SQL the same way in both. Whatever differs between
//! `SQLite` and `PostgreSQL` lives in `sqlite.rs` or `postgres.rs`, not here.

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

pub(crate) const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at <= $1";

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

/// [`INSERT_AUDIT`] with `e` bound.
pub(crate) fn insert_audit<'a, DB>(e: &'a AuditEvent) -> sqlx::query::Query<'static, DB, DB::Arguments>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<&'a str>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    sqlx::query(INSERT_AUDIT)
        .bind(millis(e.at))
        .bind(e.actor.as_str())
        .bind(e.role.as_str())
        .bind(e.mission.as_deref())
        .bind(e.action.as_str())
        .bind(e.object.as_str())
        .bind(e.outcome.as_str())
}

pub(crate) const SELECT_AUDIT: &str = "SELECT seq, at, actor, role, mission, action, object, outcome \
     FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2";

pub(crate) const COUNT_RECENT_AUDIT: &str = "SELECT COUNT(*) FROM audit_events \
     WHERE object = $1 AND action = $2 AND outcome = $3 AND at >= $4";

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

/// A query for `built` with its values bound, ready for more binds or to fetch.
pub(crate) fn query_as<DB, O>(built: &Built) -> sqlx::query::QueryAs<'static, DB, O, DB::Arguments>
where
    DB: sqlx::Database,
    O: for<'r> sqlx::FromRow<'r, DB::Row>,
    String: sqlx::Encode<'static, DB> + sqlx::Type<DB>,
{
    built.binds.iter().fold(sqlx::query_as(sqlx::AssertSqlSafe(built.sql.clone())), |q, b| q.bind(b.clone()))
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

// ---------------------------------------------------------------------------------------
// The `Store` methods that read the same in both dialects.
// ---------------------------------------------------------------------------------------

/// Implements `Store` for a backend: the methods given, then every other method, which runs
/// the SQL above the same way in both dialects. The bodies are one macro rather than generic
/// functions because sqlx's bounds for "any database that can bind these values and decode
/// these rows through a pool and a transaction" would outweigh the bodies themselves.
///
/// Where the dialects differ, the expansion calls on what the backend's module defines:
/// - `self.reader()`: the pool that plain reads go to;
/// - `self.begin()`: a write transaction, already mapped to `StoreError`;
/// - `self.snapshot()`: a read transaction in which every statement sees the same data;
/// - `append(&mut tx, &audit)`: appends an audit event as the last write of `tx`;
/// - `store_error`: turns the dialect's `sqlx::Error`s into `StoreError`s.
///
/// Every write transaction ends with `append` and then commits, so that a change and its
/// audit event are written together or not at all.
macro_rules! impl_store {
    (impl Store for $store:ident { $($own:tt)* }) => {
        // A block, so the names the common methods use need not be imported by the backend.
        const _: () = {
            use chrono::{DateTime, Utc};
            use legion_domain::{ApplicationId, Mission, Reference, StaffId, Username};

            use $crate::shared::{self as sql, query_as};
            use $crate::{
                ApplicationRecord, AuditEvent, HistoryEntry, NewApplication, NewStaff, Page, PassportMatch,
                QueueQuery, Result, Scope, StaffRecord, StateCount, Store, StoreError, StoredAuditEvent,
                TransitionWrite,
            };

            #[async_trait::async_trait]
            impl Store for $store {
                $($own)*

                async fn ping(&self) -> Result<()> {
                    sqlx::query(sql::PING).execute(self.reader()).await.map_err(store_error)?;
                    Ok(())
                }

                async fn put_mission(&self, mission: &Mission, audit: &AuditEvent) -> Result<()> {
                    let mut tx = self.begin().await?;
                    sqlx::query(sql::UPSERT_MISSION)
                        .bind(mission.id.as_str())
                        .bind(&mission.name)
                        .bind(mission.country.as_str())
                        .bind(sql::to_json(&mission.covers, "missions.covers")?)
                        .bind(mission.regional)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    append(&mut tx, audit).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn missions(&self) -> Result<Vec<Mission>> {
                    let rows =
                        sqlx::query_as(sql::SELECT_MISSIONS).fetch_all(self.reader()).await.map_err(store_error)?;
                    sql::collect(rows, sql::MissionRow::into_mission)
                }

                async fn create_staff(&self, staff: &NewStaff, audit: &AuditEvent) -> Result<()> {
                    let mut tx = self.begin().await?;
                    sqlx::query(sql::INSERT_STAFF)
                        .bind(staff.id.to_string())
                        .bind(staff.username.as_str())
                        .bind(&staff.display_name)
                        .bind(&staff.password_hash)
                        .bind(staff.role.as_str())
                        .bind(staff.mission.as_ref().map(legion_domain::MissionId::as_str))
                        .bind(sql::millis(staff.created_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    append(&mut tx, audit).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn staff_by_username(&self, username: &Username) -> Result<Option<StaffRecord>> {
                    let row: Option<sql::StaffRow> = sqlx::query_as(sql::SELECT_STAFF_BY_USERNAME)
                        .bind(username.as_str())
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    row.map(sql::StaffRow::into_record).transpose()
                }

                async fn staff_by_id(&self, id: StaffId) -> Result<Option<StaffRecord>> {
                    let row: Option<sql::StaffRow> = sqlx::query_as(sql::SELECT_STAFF_BY_ID)
                        .bind(id.to_string())
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    row.map(sql::StaffRow::into_record).transpose()
                }

                async fn list_staff(&self) -> Result<Vec<StaffRecord>> {
                    let rows =
                        sqlx::query_as(sql::SELECT_ALL_STAFF).fetch_all(self.reader()).await.map_err(store_error)?;
                    sql::collect(rows, sql::StaffRow::into_record)
                }

                async fn set_staff_disabled(
                    &self,
                    username: &Username,
                    disabled: bool,
                    audit: &AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    let changed = sqlx::query(sql::SET_STAFF_DISABLED)
                        .bind(disabled)
                        .bind(username.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?
                        .rows_affected();
                    if changed == 0 {
                        return Err(StoreError::NotFound);
                    }
                    if disabled {
                        sqlx::query(sql::DELETE_SESSIONS_OF_USERNAME)
                            .bind(username.as_str())
                            .execute(&mut *tx)
                            .await
                            .map_err(store_error)?;
                    }
                    append(&mut tx, audit).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn create_session(
                    &self,
                    token_hash: &str,
                    staff: StaffId,
                    expires_at: DateTime<Utc>,
                    audit: &AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    // Each sign-in sweeps out expired sessions, so the table holds only live ones.
                    sqlx::query(sql::DELETE_EXPIRED_SESSIONS)
                        .bind(sql::millis(audit.at))
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    sqlx::query(sql::INSERT_SESSION)
                        .bind(token_hash)
                        .bind(staff.to_string())
                        .bind(sql::millis(audit.at))
                        .bind(sql::millis(expires_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    append(&mut tx, audit).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn session_staff(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<StaffRecord>> {
                    let row: Option<sql::StaffRow> = sqlx::query_as(sql::SELECT_SESSION_STAFF)
                        .bind(token_hash)
                        .bind(sql::millis(now))
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    row.map(sql::StaffRow::into_record).transpose()
                }

                async fn delete_session(&self, token_hash: &str, audit: &AuditEvent) -> Result<()> {
                    let mut tx = self.begin().await?;
                    sqlx::query(sql::DELETE_SESSION).bind(token_hash).execute(&mut *tx).await.map_err(store_error)?;
                    append(&mut tx, audit).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn insert_application(&self, app: &NewApplication, audit: &AuditEvent) -> Result<()> {
                    let mut tx = self.begin().await?;
                    sqlx::query(sql::INSERT_APPLICATION)
                        .bind(app.id.to_string())
                        .bind(app.reference.as_str())
                        .bind(app.mission.as_str())
                        .bind(&app.access_hash)
                        .bind(&app.passport_index)
                        .bind(sql::to_json(&app.details, "applications.details")?)
                        .bind(sql::millis(app.submitted_at))
                        .bind(&app.policy_version)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    sqlx::query(sql::INSERT_FIRST_HISTORY)
                        .bind(app.id.to_string())
                        .bind(sql::millis(app.submitted_at))
                        .bind(&app.policy_version)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    append(&mut tx, audit).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn application_for_applicant(
                    &self,
                    id: ApplicationId,
                    access_hash: &str,
                ) -> Result<Option<ApplicationRecord>> {
                    let row: Option<sql::ApplicationRow> = sqlx::query_as(sql::SELECT_APPLICATION_FOR_APPLICANT)
                        .bind(id.to_string())
                        .bind(access_hash)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    row.map(sql::ApplicationRow::into_record).transpose()
                }

                async fn application_by_reference(
                    &self,
                    reference: &Reference,
                    access_hash: &str,
                ) -> Result<Option<ApplicationRecord>> {
                    let row: Option<sql::ApplicationRow> = sqlx::query_as(sql::SELECT_APPLICATION_BY_REFERENCE)
                        .bind(reference.as_str())
                        .bind(access_hash)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    row.map(sql::ApplicationRow::into_record).transpose()
                }

                async fn case(&self, id: ApplicationId, scope: &Scope) -> Result<Option<ApplicationRecord>> {
                    let row: Option<sql::ApplicationRow> = query_as(&sql::case_query(id, scope))
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    row.map(sql::ApplicationRow::into_record).transpose()
                }

                async fn cases(&self, scope: &Scope, query: &QueueQuery) -> Result<Page<ApplicationRecord>> {
                    let q = sql::cases_query(scope, query);
                    // One snapshot, so the total and the page agree.
                    let mut tx = self.snapshot().await?;
                    let (total,): (i64,) = query_as(&q.count).fetch_one(&mut *tx).await.map_err(store_error)?;
                    let rows: Vec<sql::ApplicationRow> = query_as(&q.page)
                        .bind(q.limit)
                        .bind(q.offset)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    tx.rollback().await.map_err(store_error)?;
                    Ok(Page { items: sql::collect(rows, sql::ApplicationRow::into_record)?, total })
                }

                async fn history(&self, id: ApplicationId, scope: &Scope) -> Result<Vec<HistoryEntry>> {
                    let rows = query_as(&sql::history_query(id, scope))
                        .fetch_all(self.reader())
                        .await
                        .map_err(store_error)?;
                    sql::collect(rows, sql::HistoryRow::into_entry)
                }

                async fn apply_transition(&self, write: &TransitionWrite<'_>, audit: &AuditEvent) -> Result<i64> {
                    let t = write.transition;
                    let flags = write.flags.map(|f| sql::to_json(f, "applications.flags")).transpose()?;
                    let mut tx = self.begin().await?;
                    let version: Option<i64> = sqlx::query_scalar(sql::UPDATE_FOR_TRANSITION)
                        .bind(t.to.as_str())
                        .bind(sql::millis(write.at))
                        .bind(&t.policy_version)
                        .bind(t.recommendation.map(|(by, _)| by.to_string()))
                        .bind(t.recommendation.map(|(_, r)| r.as_str()))
                        .bind(flags)
                        .bind(write.id.to_string())
                        .bind(write.expected_version)
                        .bind(t.from.as_str())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    let Some(version) = version else {
                        let exists: i64 = sqlx::query_scalar(sql::APPLICATION_EXISTS)
                            .bind(write.id.to_string())
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(store_error)?;
                        return Err(if exists > 0 { StoreError::Conflict } else { StoreError::NotFound });
                    };
                    sqlx::query(sql::INSERT_NEXT_HISTORY)
                        .bind(write.id.to_string())
                        .bind(sql::millis(write.at))
                        .bind(write.actor.audit_id())
                        .bind(write.actor.audit_role())
                        .bind(t.command)
                        .bind(t.from.as_str())
                        .bind(t.to.as_str())
                        .bind(sql::to_json(&t.details, "application_history.details")?)
                        .bind(&t.policy_version)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    append(&mut tx, audit).await?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(version)
                }

                async fn pending_screening(&self, limit: u32) -> Result<Vec<ApplicationId>> {
                    let ids: Vec<String> = sqlx::query_scalar(sql::PENDING_SCREENING)
                        .bind(i64::from(limit))
                        .fetch_all(self.reader())
                        .await
                        .map_err(store_error)?;
                    ids.iter().map(|id| sql::application_id(id)).collect()
                }

                async fn passport_matches(
                    &self,
                    passport_index: &str,
                    except: ApplicationId,
                ) -> Result<Vec<PassportMatch>> {
                    let rows = sqlx::query_as(sql::PASSPORT_MATCHES)
                        .bind(passport_index)
                        .bind(except.to_string())
                        .fetch_all(self.reader())
                        .await
                        .map_err(store_error)?;
                    sql::collect(rows, sql::PassportMatchRow::into_match)
                }

                async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
                    let mut tx = self.begin().await?;
                    append(&mut tx, event).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn audit_events(&self, after: i64, limit: u32) -> Result<Vec<StoredAuditEvent>> {
                    let rows = sqlx::query_as(sql::SELECT_AUDIT)
                        .bind(after)
                        .bind(i64::from(limit))
                        .fetch_all(self.reader())
                        .await
                        .map_err(store_error)?;
                    sql::collect(rows, sql::AuditRow::into_event)
                }

                async fn count_recent_audit(
                    &self,
                    action: &str,
                    object: &str,
                    outcome: &str,
                    since: DateTime<Utc>,
                ) -> Result<i64> {
                    let (n,): (i64,) = sqlx::query_as(sql::COUNT_RECENT_AUDIT)
                        .bind(object)
                        .bind(action)
                        .bind(outcome)
                        .bind(sql::millis(since))
                        .fetch_one(self.reader())
                        .await
                        .map_err(store_error)?;
                    Ok(n)
                }

                async fn state_counts(&self) -> Result<Vec<StateCount>> {
                    let rows =
                        sqlx::query_as(sql::STATE_COUNTS).fetch_all(self.reader()).await.map_err(store_error)?;
                    sql::collect(rows, sql::StateCountRow::into_count)
                }
            }
        };
    };
}

pub(crate) use impl_store;
