//! The `PostgreSQL` backend: a connection pool, plain transactions, and audit appends
//! serialised by a table lock so that sequence numbers have no gaps and commit in order.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::crypto::Vault;
use crate::shared as sql;
use crate::{AuditEvent, Keys, Result, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

const MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Legion's data in a `PostgreSQL` database, shareable by several Legion processes.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    vault: Arc<Vault>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database a `postgres://` URL names. Fails with `Config` if the server
    /// would acknowledge commits before they are durable. Does not migrate. Personal data is
    /// sealed under data keys wrapped by `keys`.
    pub async fn open(url: &str, keys: Arc<Keys>) -> Result<Self> {
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
        Ok(Self { pool, vault: Arc::new(Vault::new(keys)) })
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>> {
        // Explicit, not the server's default: `append` reads the last event after taking the
        // table lock, which under REPEATABLE READ or SERIALIZABLE would read a snapshot taken
        // before the lock and collide with a concurrent append.
        self.pool.begin_with("BEGIN ISOLATION LEVEL READ COMMITTED").await.map_err(store_error)
    }

    async fn snapshot(&self) -> Result<Transaction<'static, Postgres>> {
        // READ COMMITTED would take a new snapshot for each statement.
        self.pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(store_error)
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
        // Two appends with one seq means the serialisation above failed: a fault, not a conflict
        // a client could resolve.
        "23505" if db.constraint() == Some("audit_events_pkey") => {
            StoreError::Internal("two audit appends took the same seq".into())
        }
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
        Some("idempotency_keys_pkey") => "idempotency_key",
        Some(other) => other,
        None => "unknown",
    }
}

/// Appends the audit event as the last statement of a write transaction. The EXCLUSIVE lock
/// (which plain reads do not wait for) makes appends take turns until commit, so MAX(seq) + 1
/// is unique and a reader never sees seq N+1 before N. Taken last, it is held briefly and
/// cannot deadlock: the transaction locks nothing after it.
async fn append(tx: &mut Transaction<'static, Postgres>, e: &AuditEvent, hashes: sql::RowHashes) -> Result<()> {
    sqlx::query("LOCK TABLE audit_events IN EXCLUSIVE MODE").execute(&mut **tx).await.map_err(store_error)?;
    let last: Option<(i64, Option<String>)> =
        sqlx::query_as(sql::LAST_AUDIT).fetch_optional(&mut **tx).await.map_err(store_error)?;
    sql::insert_audit(last, e, hashes)?.execute(&mut **tx).await.map_err(store_error)?;
    Ok(())
}

/// Audit rows packed for verification: one JSON array instead of nine columns.
const SELECT_AUDIT_PACKED: &str = "SELECT seq, json_build_array(at, actor, role, mission, action, object, outcome, \
     before_hash, after_hash)::text AS packed, chain FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2";

/// Serialises creating data keys with rewrapping them (the mode conflicts with itself, not
/// with plain reads).
const LOCK_DATA_KEYS: &str = "LOCK TABLE data_keys IN SHARE ROW EXCLUSIVE MODE";

/// The row a transition changes, locked as it is read so that the before-hash describes the row
/// the update changes.
const SELECT_APPLICATION_TO_UPDATE: &str = "SELECT id, reference, mission_id, state, version, details, \
     submitted_at, updated_at, policy_version, recommended_by, recommendation, flags \
     FROM applications WHERE id = $1 FOR UPDATE";

/// The row a claim changes (background work such as screening): locked as it is read, or
/// skipped when another server's transaction holds it, so that no two servers do the same work.
const SELECT_APPLICATION_TO_CLAIM: &str = "SELECT id, reference, mission_id, state, version, details, \
     submitted_at, updated_at, policy_version, recommended_by, recommendation, flags \
     FROM applications WHERE id = $1 FOR UPDATE SKIP LOCKED";

/// Ends a claim of several rows ([`SELECT_APPLICATION_TO_CLAIM`] for a list): each is locked
/// as it is read, or skipped if another transaction holds it.
const CLAIM_LOCK: &str = " FOR UPDATE SKIP LOCKED";

/// Taken before the audit log's last event is read, so that appends stay in order.
const LOCK_AUDIT: Option<&str> = Some("LOCK TABLE audit_events IN EXCLUSIVE MODE");

/// The dialect the common methods run in.
type Db = sqlx::Postgres;

/// Whether a data key is still live, read in the writing transaction. `FOR SHARE` makes a
/// concurrent shredding or retirement wait until this write commits (and then see its rows).
const KEY_LIVE: &str =
    "SELECT version FROM data_keys WHERE mission_id = $1 AND version = $2 AND wrapped IS NOT NULL FOR SHARE";

/// Locks the live keys found by the statement that checks several missions at once, as
/// [`KEY_LIVE`] does for one.
const KEYS_LIVE_LOCK: &str = " FOR SHARE";

/// A mission's data keys, locked by the transaction that destroys some of them: a writer that
/// checks a key afterwards waits, then finds it destroyed and seals under a live one.
const LOCK_MISSION_KEYS: &str =
    "SELECT version, kek_version, wrapped FROM data_keys WHERE mission_id = $1 ORDER BY version FOR UPDATE";

sql::impl_store! {
    impl Store for PgStore {
        fn backend(&self) -> &'static str {
            "postgres"
        }

        async fn migrate(&self) -> Result<()> {
            MIGRATOR.run(&self.pool).await.map_err(|e| sql::migrate_error(e, store_error))?;
            self.chain_legacy_events().await?;
            let sealed = self.seal_legacy_rows().await?;
            if sealed > 0 {
                tracing::info!(sealed, "sealed applications written before encryption");
            }
            Ok(())
        }
    }
}
