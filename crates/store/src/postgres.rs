//! The `PostgreSQL` backend: a connection pool, plain transactions, and audit appends
//! serialised by a table lock so that sequence numbers have no gaps and commit in order.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use legion_domain::{ApplicationId, Mission, Reference, StaffId, Username};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Postgres, Transaction};

use crate::shared::{self as sql, Built};
use crate::{
    ApplicationRecord, AuditEvent, HistoryEntry, NewApplication, NewStaff, Page, PassportMatch, QueueQuery, Result,
    Scope, StaffRecord, StateCount, Store, StoreError, StoredAuditEvent, TransitionWrite,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

const MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Legion's data in a `PostgreSQL` database, shareable by several Legion processes.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database a `postgres://` URL names. Fails with `Config` if the server
    /// would acknowledge commits before they are durable. Does not migrate.
    pub async fn open(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL: {e}")))?
            .application_name("legion");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        let synchronous_commit: String =
            sqlx::query_scalar("SHOW synchronous_commit").fetch_one(&pool).await.map_err(open_error)?;
        if synchronous_commit == "off" {
            return Err(StoreError::Config(
                "PostgreSQL has synchronous_commit=off, so an acknowledged write could be lost; \
                 set it to on (or local, remote_write, remote_apply) for Legion's database"
                    .into(),
            ));
        }
        Ok(Self { pool })
    }
}

fn open_error(e: sqlx::Error) -> StoreError {
    let code = e.as_database_error().and_then(sqlx::error::DatabaseError::code).unwrap_or_default();
    // Class 28: bad user or password; 3D000: no such database. Both are fixed in the URL.
    if code.starts_with("28") || code == "3D000" {
        let message = e.as_database_error().map_or("", |db| db.message());
        return StoreError::Config(format!("PostgreSQL refused the connection ({code}): {message}"));
    }
    store_error(e)
}

/// The one place `PostgreSQL` errors become `StoreError`s. Only the `SQLSTATE` and the primary
/// message are kept: the detail field may quote row values.
#[allow(clippy::needless_pass_by_value, reason = "shaped for `.map_err(store_error)`")]
fn store_error(e: sqlx::Error) -> StoreError {
    let Some(db) = e.as_database_error() else { return sql::client_error(&e) };
    let code = db.code().unwrap_or_default().into_owned();
    match code.as_str() {
        "23505" => StoreError::Duplicate(duplicate_name(db.constraint()).into()),
        "23503" => StoreError::NotFound,
        // 53: insufficient resources (53100 disk full); 08: connection exceptions;
        // 57P: the server is shutting down or starting; 25006: a read-only standby.
        c if c.starts_with("53") || c.starts_with("08") || c.starts_with("57P") || c == "25006" => {
            StoreError::Unavailable(format!("PostgreSQL error {code}: {}", db.message()))
        }
        _ => StoreError::Internal(format!("PostgreSQL error {code}: {}", db.message())),
    }
}

/// Constraint names as `PostgreSQL` generates them from the schema.
fn duplicate_name(constraint: Option<&str>) -> &str {
    match constraint {
        Some("staff_username_key") => "username",
        Some("staff_pkey") => "staff_id",
        Some("applications_reference_key") => "reference",
        Some("applications_pkey") => "application_id",
        Some("sessions_pkey") => "session",
        Some("missions_pkey") => "mission_id",
        Some("application_history_pkey") => "history_seq",
        Some("audit_events_pkey") => "audit_seq",
        Some(other) => other,
        None => "unknown",
    }
}

/// Appends the audit event as the last statement of a write transaction. The EXCLUSIVE lock
/// (which plain reads do not wait for) makes appends take turns until commit, so MAX(seq) + 1
/// is unique and a reader never sees seq N+1 before N. Taken last, it is held briefly and
/// cannot deadlock: the transaction locks nothing after it.
async fn append(tx: &mut Transaction<'static, Postgres>, e: &AuditEvent) -> Result<()> {
    sqlx::query("LOCK TABLE audit_events IN EXCLUSIVE MODE").execute(&mut **tx).await.map_err(store_error)?;
    sqlx::query(sql::INSERT_AUDIT)
        .bind(sql::millis(e.at))
        .bind(&e.actor)
        .bind(&e.role)
        .bind(e.mission.as_deref())
        .bind(&e.action)
        .bind(&e.object)
        .bind(&e.outcome)
        .execute(&mut **tx)
        .await
        .map_err(store_error)?;
    Ok(())
}

async fn commit(tx: Transaction<'static, Postgres>) -> Result<()> {
    tx.commit().await.map_err(store_error)
}

fn query_as<O>(built: &Built) -> sqlx::query::QueryAs<'static, Postgres, O, sqlx::postgres::PgArguments>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    built.binds.iter().fold(sqlx::query_as(AssertSqlSafe(built.sql.clone())), |q, b| q.bind(b.clone()))
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await.map_err(|e| sql::migrate_error(e, store_error))
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query(sql::PING).execute(&self.pool).await.map_err(store_error)?;
        Ok(())
    }

    async fn put_mission(&self, mission: &Mission, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
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
        commit(tx).await
    }

    async fn missions(&self) -> Result<Vec<Mission>> {
        let rows = sqlx::query_as(sql::SELECT_MISSIONS).fetch_all(&self.pool).await.map_err(store_error)?;
        sql::collect(rows, sql::MissionRow::into_mission)
    }

    async fn create_staff(&self, staff: &NewStaff, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
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
        commit(tx).await
    }

    async fn staff_by_username(&self, username: &Username) -> Result<Option<StaffRecord>> {
        let row: Option<sql::StaffRow> = sqlx::query_as(sql::SELECT_STAFF_BY_USERNAME)
            .bind(username.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(sql::StaffRow::into_record).transpose()
    }

    async fn staff_by_id(&self, id: StaffId) -> Result<Option<StaffRecord>> {
        let row: Option<sql::StaffRow> = sqlx::query_as(sql::SELECT_STAFF_BY_ID)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(sql::StaffRow::into_record).transpose()
    }

    async fn list_staff(&self) -> Result<Vec<StaffRecord>> {
        let rows = sqlx::query_as(sql::SELECT_ALL_STAFF).fetch_all(&self.pool).await.map_err(store_error)?;
        sql::collect(rows, sql::StaffRow::into_record)
    }

    async fn set_staff_disabled(&self, username: &Username, disabled: bool, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
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
        commit(tx).await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        staff: StaffId,
        expires_at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        sqlx::query(sql::INSERT_SESSION)
            .bind(token_hash)
            .bind(staff.to_string())
            .bind(sql::millis(audit.at))
            .bind(sql::millis(expires_at))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn session_staff(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<StaffRecord>> {
        let row: Option<sql::StaffRow> = sqlx::query_as(sql::SELECT_SESSION_STAFF)
            .bind(token_hash)
            .bind(sql::millis(now))
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(sql::StaffRow::into_record).transpose()
    }

    async fn delete_session(&self, token_hash: &str, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        sqlx::query(sql::DELETE_SESSION).bind(token_hash).execute(&mut *tx).await.map_err(store_error)?;
        append(&mut tx, audit).await?;
        commit(tx).await
    }

    async fn insert_application(&self, app: &NewApplication, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
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
        commit(tx).await
    }

    async fn application_for_applicant(
        &self,
        id: ApplicationId,
        access_hash: &str,
    ) -> Result<Option<ApplicationRecord>> {
        let row: Option<sql::ApplicationRow> = sqlx::query_as(sql::SELECT_APPLICATION_FOR_APPLICANT)
            .bind(id.to_string())
            .bind(access_hash)
            .fetch_optional(&self.pool)
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
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(sql::ApplicationRow::into_record).transpose()
    }

    async fn case(&self, id: ApplicationId, scope: &Scope) -> Result<Option<ApplicationRecord>> {
        let row: Option<sql::ApplicationRow> =
            query_as(&sql::case_query(id, scope)).fetch_optional(&self.pool).await.map_err(store_error)?;
        row.map(sql::ApplicationRow::into_record).transpose()
    }

    async fn cases(&self, scope: &Scope, query: &QueueQuery) -> Result<Page<ApplicationRecord>> {
        let q = sql::cases_query(scope, query);
        // One snapshot, so the total and the page agree.
        let mut tx =
            self.pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(store_error)?;
        let (total,): (i64,) = query_as(&q.count).fetch_one(&mut *tx).await.map_err(store_error)?;
        let rows: Vec<sql::ApplicationRow> =
            query_as(&q.page).bind(q.limit).bind(q.offset).fetch_all(&mut *tx).await.map_err(store_error)?;
        tx.rollback().await.map_err(store_error)?;
        Ok(Page { items: sql::collect(rows, sql::ApplicationRow::into_record)?, total })
    }

    async fn history(&self, id: ApplicationId, scope: &Scope) -> Result<Vec<HistoryEntry>> {
        let rows = query_as(&sql::history_query(id, scope)).fetch_all(&self.pool).await.map_err(store_error)?;
        sql::collect(rows, sql::HistoryRow::into_entry)
    }

    async fn apply_transition(&self, write: &TransitionWrite<'_>, audit: &AuditEvent) -> Result<i64> {
        let t = write.transition;
        let flags = write.flags.map(|f| sql::to_json(f, "applications.flags")).transpose()?;
        let mut tx = self.pool.begin().await.map_err(store_error)?;
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
        commit(tx).await?;
        Ok(version)
    }

    async fn pending_screening(&self, limit: u32) -> Result<Vec<ApplicationId>> {
        let ids: Vec<String> = sqlx::query_scalar(sql::PENDING_SCREENING)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        ids.iter().map(|id| sql::application_id(id)).collect()
    }

    async fn passport_matches(&self, passport_index: &str, except: ApplicationId) -> Result<Vec<PassportMatch>> {
        let rows = sqlx::query_as(sql::PASSPORT_MATCHES)
            .bind(passport_index)
            .bind(except.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        sql::collect(rows, sql::PassportMatchRow::into_match)
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        append(&mut tx, event).await?;
        commit(tx).await
    }

    async fn audit_events(&self, after: i64, limit: u32) -> Result<Vec<StoredAuditEvent>> {
        let rows = sqlx::query_as(sql::SELECT_AUDIT)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        sql::collect(rows, sql::AuditRow::into_event)
    }

    async fn state_counts(&self) -> Result<Vec<StateCount>> {
        let rows = sqlx::query_as(sql::STATE_COUNTS).fetch_all(&self.pool).await.map_err(store_error)?;
        sql::collect(rows, sql::StateCountRow::into_count)
    }
}
