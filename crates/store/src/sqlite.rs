//! The `SQLite` backend: one database file in WAL mode with `synchronous=FULL`, written through
//! a single connection (every write transaction `BEGIN IMMEDIATE`) and read through a few
//! `query_only` ones.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use sqlx::error::ErrorKind;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqlStr, Sqlite, Transaction};

use crate::crypto::Vault;
use crate::shared as sql;
use crate::{AuditEvent, Keys, Result, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Readers run in parallel with the writer in WAL mode; a few cover a small deployment.
const READERS: u32 = 4;
/// Page cache of the writing connection, in KiB (negative, as `PRAGMA cache_size` takes KiB).
const CACHE_KIB: &str = "-32768";
/// Page cache of each reading connection, in KiB: reads find what they miss in the
/// operating system's cache, and four full caches would be most of a small server's memory.
const READER_CACHE_KIB: &str = "-8192";
/// Pages of write-ahead log (~160 MB) after which a commit copies it into the database file
/// itself: only when the log copier (`copy_log`) has fallen far behind.
const WAL_AUTOCHECKPOINT_PAGES: &str = "40000";
/// Page cache of the connection that copies the log into the database file: it reads the
/// log, not the tree.
const COPIER_CACHE_KIB: &str = "-1024";
/// How long the log copier waits after a copy that left the log behind (frames were committed
/// meanwhile): a little, so that each copy takes several commits' pages.
const COPY_BUSY: Duration = Duration::from_millis(20);
/// How long the log copier waits when the log was copied whole.
const COPY_IDLE: Duration = Duration::from_millis(200);
/// Frames of write-ahead log (~40 MB) after which a write transaction finishes copying it, so
/// that the log starts again from its head (see `copy_log`).
const RESTART_LOG_FRAMES: i64 = 10_000;
/// Frames the log copier may have left to copy when it asks a write transaction to finish the
/// copy: finishing holds up the writer, so it is asked once little is left (a few batches'
/// pages), or once the log is `RESTART_LOG_FRAMES` four times over whatever is left.
const RESTART_LEFT_FRAMES: i64 = 1_000;
/// Tries to finish the copy of a long log without waiting for its readers before one waits for
/// them (`RESTART_WAIT`).
const RESTART_TRIES: u32 = 16;
/// How long finishing the copy of a long log waits for readers of the old log at most (a long
/// read would otherwise hold up every write).
const RESTART_WAIT: Duration = Duration::from_millis(100);
/// Copies as much of the log into the database file as no reader still needs, without
/// waiting; answers (busy, frames in the log, frames copied).
const COPY_LOG: &str = "PRAGMA wal_checkpoint(PASSIVE)";
/// How long a statement waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

// Primary result codes (the low byte of an extended code), from sqlite3.h.
const SQLITE_BUSY: i32 = 5;
const SQLITE_READONLY: i32 = 8;
const SQLITE_IOERR: i32 = 10;
const SQLITE_FULL: i32 = 13;
const SQLITE_CANTOPEN: i32 = 14;
const SQLITE_NOTADB: i32 = 26;

/// Between the log copier and the writer: whether the writer should finish copying the log,
/// and how often it has tried since the log last started again.
#[derive(Default)]
struct LogRestart {
    wanted: AtomicBool,
    tries: AtomicU32,
}

/// Legion's data in one `SQLite` file.
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    vault: Arc<Vault>,
    /// Set by the log copier when the log is long and little of it is left to copy: the next
    /// write transaction first finishes the copy, so that the log starts again from its head
    /// ([`SqliteStore::begin`]).
    restart_log: Arc<LogRestart>,
    /// Held by every copy of the store; the log copier stops when the last one goes.
    _alive: Arc<()>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database a `sqlite:` URL names, creating the file and its directory if
    /// missing. Fails with `Config` if the file is not a `SQLite` database. Does not migrate.
    /// Personal data is sealed under data keys wrapped by `keys`.
    pub async fn open(url: &str, keys: Arc<Keys>) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // Index pages stay in memory instead of being read back through the OS on each
            // insert (the indexes over blind indexes and references are written at random).
            .pragma("cache_size", CACHE_KIB)
            // The log is copied into the database file by a connection of its own beside the
            // writer ([`copy_log`]), so that a commit does not wait for the copy; the
            // committing connection copies it only if that falls far behind.
            .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
            // A multi-row statement's undo journal stays in memory rather than in a file.
            .pragma("temp_store", "memory");
        let path = options.get_filename().to_owned();
        // Each in-memory connection would be its own database, so one connection does everything.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            create_parent(&path).await?;
        }

        // A connection is checked as it goes back to the pool (`release_if_clean`); a ping
        // before each use would only add a round trip to its thread (a file does not hang up).
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .after_release(|conn, _| Box::pin(release_if_clean(conn)))
            .connect_with(options.clone())
            .await
            .map_err(|e| open_error(&path, e))?;
        // Reading the schema version reads the file header, so a file that is not a database
        // fails now rather than on the first request.
        sqlx::query("PRAGMA schema_version").execute(&writer).await.map_err(|e| open_error(&path, e))?;

        let alive = Arc::new(());
        let restart_log = Arc::new(LogRestart::default());
        let reader = if in_memory {
            writer.clone()
        } else {
            let copier = options.clone().pragma("cache_size", COPIER_CACHE_KIB);
            let copier = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&copier)
                .await
                .map_err(|e| open_error(&path, e))?;
            tokio::spawn(copy_log(copier, path.clone(), Arc::downgrade(&alive), Arc::clone(&restart_log)));
            SqlitePoolOptions::new()
                .max_connections(READERS)
                .test_before_acquire(false)
                .after_release(|conn, _| Box::pin(release_if_clean(conn)))
                .connect_with(options.pragma("query_only", "ON").pragma("cache_size", READER_CACHE_KIB))
                .await
                .map_err(|e| open_error(&path, e))?
        };
        Ok(Self { writer, reader, vault: Arc::new(Vault::new(keys)), restart_log, _alive: alive })
    }

    /// Opens an existing database to read it only (`legion audit verify`): read-only
    /// connections, no file created, and no journal-mode or synchronous pragma, so that the
    /// file, its mode and its directory stay as they were. Every write fails (`Unavailable`).
    pub async fn open_read_only(url: &str, keys: Arc<Keys>) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?
            .read_only(true)
            .create_if_missing(false)
            .busy_timeout(BUSY_TIMEOUT);
        let path = options.get_filename().to_owned();
        let pool = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options)
            .await
            .map_err(|e| open_error(&path, e))?;
        sqlx::query("PRAGMA schema_version").execute(&pool).await.map_err(|e| open_error(&path, e))?;
        Ok(Self {
            writer: pool.clone(),
            reader: pool,
            vault: Arc::new(Vault::new(keys)),
            restart_log: Arc::new(LogRestart::default()),
            _alive: Arc::new(()),
        })
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    async fn begin(&self) -> Result<Transaction<'static, Sqlite>> {
        // IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
        // writes can fail with SQLITE_BUSY if another process wrote in between.
        let mut conn = self.writer.acquire().await.map_err(store_error)?;
        if self.restart_log.wanted.swap(false, Ordering::Relaxed) {
            // Holding the only writing connection, nothing is committed meanwhile: the copy
            // finishes unless a reader still reads the log as it was, and this transaction
            // then writes at the log's head. Tried again when the copier next asks; after a
            // few tries, waits for such readers (a moment at most).
            let tries = self.restart_log.tries.fetch_add(1, Ordering::Relaxed) + 1;
            let finished = if tries < RESTART_TRIES {
                let copy = sqlx::query_as::<_, (i64, i64, i64)>(COPY_LOG).fetch_one(&mut *conn).await;
                matches!(copy, Ok((0, log, copied)) if log == copied)
            } else {
                // Waits at most `RESTART_WAIT` for readers, then back to `BUSY_TIMEOUT`.
                let restart = format!(
                    "PRAGMA busy_timeout = {}; PRAGMA wal_checkpoint(RESTART); PRAGMA busy_timeout = {};",
                    RESTART_WAIT.as_millis(),
                    BUSY_TIMEOUT.as_millis()
                );
                if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(restart)).execute(&mut *conn).await {
                    tracing::warn!(error = %e, "restarting the write-ahead log failed; trying again later");
                }
                true
            };
            if finished {
                self.restart_log.tries.store(0, Ordering::Relaxed);
            }
        }
        Transaction::begin(
            sqlx::pool::MaybePoolConnection::PoolConnection(conn),
            Some(SqlStr::from_static("BEGIN IMMEDIATE")),
        )
        .await
        .map_err(store_error)
    }

    async fn snapshot(&self) -> Result<Transaction<'static, Sqlite>> {
        // In WAL mode a read transaction keeps the snapshot of its first read until it ends.
        self.reader.begin().await.map_err(store_error)
    }
}

/// Copies the write-ahead log into the database file (a passive checkpoint) while the store is
/// in use: again soon while commits arrive faster than it copies, every `COPY_IDLE`
/// otherwise. The copy runs beside the writer, so that neither a commit nor the submissions
/// waiting for the next one wait for it.
///
/// A copy beside a busy writer and its readers never finds the log complete, yet only a
/// complete log starts again from its head: once the log is `RESTART_LOG_FRAMES` long and
/// little is left to copy, the copier asks the next write transaction to finish the copy
/// first (`restart_log`). That takes a moment only if what the copier wrote is already on
/// disk: `SQLite` makes a copy durable (fsync of the database file) only when it is complete,
/// so the copier flushes the file itself before asking. A failed copy (a full disk) is
/// tried again later.
async fn copy_log(
    mut conn: sqlx::SqliteConnection,
    file: std::path::PathBuf,
    alive: std::sync::Weak<()>,
    restart_log: Arc<LogRestart>,
) {
    use sqlx::Connection as _;
    // Said once per run of failures (a full disk fails every try until space returns).
    let mut failing = false;
    while alive.strong_count() > 0 {
        let passive = sqlx::query_as::<_, (i64, i64, i64)>(COPY_LOG).fetch_one(&mut conn).await;
        let behind = match passive {
            Ok((_, log, copied)) => {
                if std::mem::take(&mut failing) {
                    tracing::info!("copying the write-ahead log into the database works again");
                }
                // Asked once until a write transaction takes it up (an idle server's long
                // log waits for the next write).
                if log >= RESTART_LOG_FRAMES
                    && (log - copied <= RESTART_LEFT_FRAMES || log >= 4 * RESTART_LOG_FRAMES)
                    && !restart_log.wanted.load(Ordering::Relaxed)
                {
                    // A copy that is not complete leaves what it wrote in the file's cache;
                    // the complete one makes it durable (fsync), holding the writer while it
                    // does. Made durable here first, so that little is left for that one.
                    // A flush that fails leaves the work to the complete copy.
                    let flush = file.clone();
                    let _ = tokio::task::spawn_blocking(move || std::fs::File::open(flush)?.sync_data()).await;
                    let _ = sqlx::query_as::<_, (i64, i64, i64)>(COPY_LOG).fetch_one(&mut conn).await;
                    restart_log.wanted.store(true, Ordering::Relaxed);
                }
                log > copied
            }
            Err(e) => {
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(error = %e, "copying the write-ahead log into the database failed; trying again");
                }
                false
            }
        };
        tokio::time::sleep(if behind { COPY_BUSY } else { COPY_IDLE }).await;
    }
    let _ = conn.close().await;
}

async fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| StoreError::Config(format!("cannot create directory {}: {e}", dir.display()))),
        _ => Ok(()),
    }
}

/// Whether a connection handed back to its pool may be used again: only if it is outside any
/// transaction. On `SQLITE_FULL` or `SQLITE_IOERR` `SQLite` may roll a transaction back by
/// itself; sqlx's own `ROLLBACK` then fails ("no transaction is active") and sqlx goes on
/// counting the transaction as open, so every later `BEGIN` on that connection would fail
/// until the process restarted. Such a connection is closed, and the pool opens a fresh one.
async fn release_if_clean(conn: &mut sqlx::SqliteConnection) -> std::result::Result<bool, sqlx::Error> {
    use sqlx::Connection as _;
    if conn.is_in_transaction() {
        // A dropped transaction's ROLLBACK is queued on the connection's worker thread; a
        // ping queued behind it answers once that has run.
        conn.ping().await?;
    }
    let clean = !conn.is_in_transaction();
    if !clean {
        tracing::warn!("closing a SQLite connection left inside a failed transaction");
    }
    Ok(clean)
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
        "idempotency_keys.key_hash" => "idempotency_key",
        other => other,
    }
}

/// Appends the audit event as the last statement of a write transaction. `BEGIN IMMEDIATE`
/// has made this the only writer, so MAX(seq) + 1 is unique and commits in order.
async fn append(tx: &mut Transaction<'static, Sqlite>, e: &AuditEvent, hashes: sql::RowHashes) -> Result<()> {
    let last: Option<(i64, Option<String>)> =
        sqlx::query_as(sql::LAST_AUDIT).fetch_optional(&mut **tx).await.map_err(store_error)?;
    sql::insert_audit(last, e, hashes)?.execute(&mut **tx).await.map_err(store_error)?;
    Ok(())
}

/// Audit rows packed for verification: one JSON array instead of nine columns.
const SELECT_AUDIT_PACKED: &str = "SELECT seq, json_array(at, actor, role, mission, action, object, outcome, \
     before_hash, after_hash) AS packed, chain FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2";

/// Serialises creating data keys with rewrapping them; `BEGIN IMMEDIATE` already does.
const LOCK_DATA_KEYS: &str = "SELECT 1";

/// The row a transition changes, read in its transaction (the single writer holds it still).
const SELECT_APPLICATION_TO_UPDATE: &str = "SELECT id, reference, mission_id, state, version, details, \
     submitted_at, updated_at, policy_version, recommended_by, recommendation, flags \
     FROM applications WHERE id = $1";

/// The same, for a claim: the single writer holds it too, so nothing is ever skipped.
const SELECT_APPLICATION_TO_CLAIM: &str = SELECT_APPLICATION_TO_UPDATE;

/// Nothing to add to a claim of several rows: the single writer holds them all.
const CLAIM_LOCK: &str = "";

/// Taken before the audit log's last event is read, so that appends stay in order (the single writer does that).
const LOCK_AUDIT: Option<&str> = None;

/// The dialect the common methods run in.
type Db = sqlx::Sqlite;

/// Whether a data key is still live, read in the writing transaction. The single writer
/// serialises this check with any shredding or retirement.
const KEY_LIVE: &str = "SELECT version FROM data_keys WHERE mission_id = $1 AND version = $2 AND wrapped IS NOT NULL";

/// Nothing to add to the statement that checks which keys are live: the writing transaction holds
/// the database.
const KEYS_LIVE_LOCK: &str = "";

/// A mission's data keys, read in the writing transaction that destroys some of them.
const LOCK_MISSION_KEYS: &str =
    "SELECT version, kek_version, wrapped FROM data_keys WHERE mission_id = $1 ORDER BY version";

sql::impl_store! {
    impl Store for SqliteStore {
        fn backend(&self) -> &'static str {
            "sqlite"
        }

        async fn migrate(&self) -> Result<()> {
            MIGRATOR.run(&self.writer).await.map_err(|e| sql::migrate_error(e, store_error))?;
            self.chain_legacy_events().await?;
            let sealed = self.seal_legacy_rows().await?;
            if sealed > 0 {
                tracing::info!(sealed, "sealed applications written before encryption");
            }
            Ok(())
        }
    }
}
