//! The `SQLite` backend: one database file in WAL mode with `synchronous=FULL`, written through
//! a single connection (every write transaction `BEGIN IMMEDIATE`) and read through a few
//! `query_only` ones.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use legion_domain::{ApplicationId, Mission, Reference, StaffId, Username};
use sqlx::error::ErrorKind;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Sqlite, Transaction};

use crate::shared::{self as sql, Built};
use crate::{
    ApplicationRecord, AuditEvent, HistoryEntry, NewApplication, NewStaff, Page, PassportMatch, QueueQuery, Result,
    Scope, StaffRecord, StateCount, Store, StoreError, StoredAuditEvent, TransitionWrite,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Readers run in parallel with the writer in WAL mode; a few cover a small deployment.
const READERS: u32 = 4;
/// How long a statement waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

// Primary result codes (the low byte of an extended code), from sqlite3.h.
const SQLITE_BUSY: i32 = 5;
const SQLITE_READONLY: i32 = 8;
const SQLITE_IOERR: i32 = 10;
const SQLITE_FULL: i32 = 13;
const SQLITE_CANTOPEN: i32 = 14;
const SQLITE_NOTADB: i32 = 26;

/// Legion's data in one `SQLite` file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens the database a `sqlite:` URL names, creating the file and its directory if
    /// missing. Fails with `Config` if the file is not a `SQLite` database. Does not migrate.
    pub async fn open(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let path = options.get_filename().to_owned();
        // Each in-memory connection would be its own database, so one connection does everything.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            create_parent(&path).await?;
        }

        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(|e| open_error(&path, e))?;
        // Reading the schema version reads the file header, so a file that is not a database
        // fails now rather than on the first request.
        sqlx::query("PRAGMA schema_version").execute(&writer).await.map_err(|e| open_error(&path, e))?;

        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(READERS)
                .connect_with(options.pragma("query_only", "ON"))
                .await
                .map_err(|e| open_error(&path, e))?
        };
        Ok(Self { writer, reader })
    }

    async fn begin(&self) -> Result<Transaction<'static, Sqlite>> {
        // IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
        // writes can fail with SQLITE_BUSY if another process wrote in between.
        self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(store_error)
    }
}

async fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| StoreError::Config(format!("cannot create directory {}: {e}", dir.display()))),
        _ => Ok(()),
    }
}

fn primary_code(e: &sqlx::Error) -> Option<i32> {
    let code: i32 = e.as_database_error()?.code()?.parse().ok()?;
    Some(code & 0xff)
}

fn open_error(path: &Path, e: sqlx::Error) -> StoreError {
    match primary_code(&e) {
        Some(SQLITE_NOTADB) => StoreError::Config(format!(
            "{} is not a SQLite database; give the path of a Legion database or of a file to create",
            path.display()
        )),
        Some(SQLITE_CANTOPEN) => StoreError::Config(format!("cannot open {} as a SQLite database", path.display())),
        _ => store_error(e),
    }
}

/// The one place `SQLite` errors become `StoreError`s. `SQLite`'s messages name columns and
/// constraints, never the values involved.
#[allow(clippy::needless_pass_by_value, reason = "shaped for `.map_err(store_error)`")]
fn store_error(e: sqlx::Error) -> StoreError {
    let Some(db) = e.as_database_error() else { return sql::client_error(&e) };
    match db.kind() {
        ErrorKind::UniqueViolation => return StoreError::Duplicate(duplicate_name(db.message()).into()),
        ErrorKind::ForeignKeyViolation => return StoreError::NotFound,
        _ => {}
    }
    let text = format!("SQLite error {}: {}", db.code().unwrap_or_default(), db.message());
    match primary_code(&e) {
        Some(SQLITE_BUSY | SQLITE_READONLY | SQLITE_IOERR | SQLITE_FULL | SQLITE_CANTOPEN) => {
            StoreError::Unavailable(text)
        }
        _ => StoreError::Internal(text),
    }
}

/// `SQLite` reports unique violations as "UNIQUE constraint failed: table.column[, …]".
fn duplicate_name(message: &str) -> &str {
    let columns = message.strip_prefix("UNIQUE constraint failed: ").unwrap_or(message);
    match columns {
        "staff.username" => "username",
        "staff.id" => "staff_id",
        "applications.reference" => "reference",
        "applications.id" => "application_id",
        "sessions.token_hash" => "session",
        "missions.id" => "mission_id",
        "application_history.application_id, application_history.seq" => "history_seq",
        "audit_events.seq" => "audit_seq",
        other => other,
    }
}

/// Appends the audit event as the last statement of a write transaction.
async fn append(tx: &mut Transaction<'static, Sqlite>, e: &AuditEvent) -> Result<()> {
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

async fn commit(tx: Transaction<'static, Sqlite>) -> Result<()> {
    tx.commit().await.map_err(store_error)
}

fn query_as<O>(built: &Built) -> sqlx::query::QueryAs<'static, Sqlite, O, sqlx::sqlite::SqliteArguments>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
{
    built.binds.iter().fold(sqlx::query_as(AssertSqlSafe(built.sql.clone())), |q, b| q.bind(b.clone()))
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.writer).await.map_err(|e| sql::migrate_error(e, store_error))
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query(sql::PING).execute(&self.reader).await.map_err(store_error)?;
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
        commit(tx).await
    }

    async fn missions(&self) -> Result<Vec<Mission>> {
        let rows = sqlx::query_as(sql::SELECT_MISSIONS).fetch_all(&self.reader).await.map_err(store_error)?;
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
        commit(tx).await
    }

    async fn staff_by_username(&self, username: &Username) -> Result<Option<StaffRecord>> {
        let row: Option<sql::StaffRow> = sqlx::query_as(sql::SELECT_STAFF_BY_USERNAME)
            .bind(username.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(store_error)?;
        row.map(sql::StaffRow::into_record).transpose()
    }

    async fn staff_by_id(&self, id: StaffId) -> Result<Option<StaffRecord>> {
        let row: Option<sql::StaffRow> = sqlx::query_as(sql::SELECT_STAFF_BY_ID)
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(store_error)?;
        row.map(sql::StaffRow::into_record).transpose()
    }

    async fn list_staff(&self) -> Result<Vec<StaffRecord>> {
        let rows = sqlx::query_as(sql::SELECT_ALL_STAFF).fetch_all(&self.reader).await.map_err(store_error)?;
        sql::collect(rows, sql::StaffRow::into_record)
    }

    async fn set_staff_disabled(&self, username: &Username, disabled: bool, audit: &AuditEvent) -> Result<()> {
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
        commit(tx).await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        staff: StaffId,
        expires_at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
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
            .fetch_optional(&self.reader)
            .await
            .map_err(store_error)?;
        row.map(sql::StaffRow::into_record).transpose()
    }

    async fn delete_session(&self, token_hash: &str, audit: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(sql::DELETE_SESSION).bind(token_hash).execute(&mut *tx).await.map_err(store_error)?;
        append(&mut tx, audit).await?;
        commit(tx).await
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
            .fetch_optional(&self.reader)
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
            .fetch_optional(&self.reader)
            .await
            .map_err(store_error)?;
        row.map(sql::ApplicationRow::into_record).transpose()
    }

    async fn case(&self, id: ApplicationId, scope: &Scope) -> Result<Option<ApplicationRecord>> {
        let row: Option<sql::ApplicationRow> =
            query_as(&sql::case_query(id, scope)).fetch_optional(&self.reader).await.map_err(store_error)?;
        row.map(sql::ApplicationRow::into_record).transpose()
    }

    async fn cases(&self, scope: &Scope, query: &QueueQuery) -> Result<Page<ApplicationRecord>> {
        let q = sql::cases_query(scope, query);
        // One read transaction, so the total and the page come from the same snapshot.
        let mut tx = self.reader.begin().await.map_err(store_error)?;
        let (total,): (i64,) = query_as(&q.count).fetch_one(&mut *tx).await.map_err(store_error)?;
        let rows: Vec<sql::ApplicationRow> =
            query_as(&q.page).bind(q.limit).bind(q.offset).fetch_all(&mut *tx).await.map_err(store_error)?;
        tx.rollback().await.map_err(store_error)?;
        Ok(Page { items: sql::collect(rows, sql::ApplicationRow::into_record)?, total })
    }

    async fn history(&self, id: ApplicationId, scope: &Scope) -> Result<Vec<HistoryEntry>> {
        let rows = query_as(&sql::history_query(id, scope)).fetch_all(&self.reader).await.map_err(store_error)?;
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
        commit(tx).await?;
        Ok(version)
    }

    async fn pending_screening(&self, limit: u32) -> Result<Vec<ApplicationId>> {
        let ids: Vec<String> = sqlx::query_scalar(sql::PENDING_SCREENING)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(store_error)?;
        ids.iter().map(|id| sql::application_id(id)).collect()
    }

    async fn passport_matches(&self, passport_index: &str, except: ApplicationId) -> Result<Vec<PassportMatch>> {
        let rows = sqlx::query_as(sql::PASSPORT_MATCHES)
            .bind(passport_index)
            .bind(except.to_string())
            .fetch_all(&self.reader)
            .await
            .map_err(store_error)?;
        sql::collect(rows, sql::PassportMatchRow::into_match)
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        append(&mut tx, event).await?;
        commit(tx).await
    }

    async fn audit_events(&self, after: i64, limit: u32) -> Result<Vec<StoredAuditEvent>> {
        let rows = sqlx::query_as(sql::SELECT_AUDIT)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await
            .map_err(store_error)?;
        sql::collect(rows, sql::AuditRow::into_event)
    }

    async fn state_counts(&self) -> Result<Vec<StateCount>> {
        let rows = sqlx::query_as(sql::STATE_COUNTS).fetch_all(&self.reader).await.map_err(store_error)?;
        sql::collect(rows, sql::StateCountRow::into_count)
    }
}
