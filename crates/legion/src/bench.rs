//! `legion bench …`: how fast Legion is, beside the raw limits of the same machine measured in
//! the same run, printed as Markdown for BENCHMARKS.md.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use clap::Subcommand;
use legion_audit::{CheckpointSigner, chain_next, leaf_hash};
use legion_domain::{ApplicantDetails, Clock, SystemClock};
use legion_store::{AuditEvent, Keys, SealProbe, Store, StoredCheckpoint};
use legion_web::WebConfig;
use sha2::{Digest, Sha256};
use sqlx::{Connection, Executor};

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const ORIGIN: &str = "legion/bench";

/// Benchmark suites.
#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Entry authorisations verified per second on one core, beside raw Ed25519
    /// `verify_strict` of the same bytes in the same run; issuing beside raw signing; the
    /// offline page's verify time in headless Chromium.
    Credential(crate::bench_credential::CredentialArgs),
    /// Audited appends per second on SQLite and PostgreSQL (one client and many), and the time
    /// `audit verify` takes over a large log, beside the single-row commit rate and SHA-256 speed.
    Audit {
        /// PostgreSQL server for the PostgreSQL half; a throwaway database is created on it.
        #[arg(long, env = "LEGION_BENCH_PG_URL", default_value = DEFAULT_PG_URL)]
        pg_url: String,
        /// Seconds per append measurement.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Concurrent clients for the many-client measurement.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Events in the log that `audit verify` reads.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
    },
    /// Submissions per second over HTTP to a `legion serve` process from many clients, beside
    /// the database's single-row commit rate.
    Intake {
        /// Which databases.
        #[arg(long, value_enum, default_value = "both")]
        db: crate::bench_load::Backends,
        /// PostgreSQL server for the PostgreSQL run; a throwaway database is created on it.
        #[arg(long, env = "LEGION_BENCH_PG_URL", default_value = DEFAULT_PG_URL)]
        pg_url: String,
        /// Concurrent clients.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Seconds of measured load (after 2 s of warm-up).
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// Latency of the staff queue and case pages with a million applications in the database.
    Queue {
        /// Which databases.
        #[arg(long, value_enum, default_value = "both")]
        db: crate::bench_load::Backends,
        /// PostgreSQL server for the PostgreSQL run; a throwaway database is created on it.
        #[arg(long, env = "LEGION_BENCH_PG_URL", default_value = DEFAULT_PG_URL)]
        pg_url: String,
        /// Applications in the database.
        #[arg(long, default_value_t = 1_000_000)]
        applications: u64,
        /// Measured requests per page.
        #[arg(long, default_value_t = 500)]
        requests: usize,
        /// People on a synthetic watchlist the server loads afterwards, with the known
        /// spellings, to measure its memory with both (0: skip that part).
        #[arg(long, default_value_t = 1_000_000)]
        watchlist_people: usize,
        /// Reference data folder (with `names/name-variants.txt`) for that watchlist.
        #[arg(long, default_value = "../shared/data")]
        data: std::path::PathBuf,
    },
    /// The March 2022 surge replayed faster than real time through the whole pipeline: the
    /// delay from submission to screened, per mission.
    Surge {
        /// Which databases.
        #[arg(long, value_enum, default_value = "sqlite")]
        db: crate::bench_load::Backends,
        /// PostgreSQL server for the PostgreSQL run; a throwaway database is created on it.
        #[arg(long, env = "LEGION_BENCH_PG_URL", default_value = DEFAULT_PG_URL)]
        pg_url: String,
        /// Applications over the ten days.
        #[arg(long, default_value_t = 20_000)]
        applications: u64,
        /// How many of the ten days to replay (the first is the busiest).
        #[arg(long, default_value_t = 10)]
        days: u32,
        /// How many times faster than real time.
        #[arg(long, default_value_t = 100.0)]
        speed: f64,
    },
    /// What sealing personal data adds to one submission, end to end over HTTP.
    Vault {
        /// Applications to submit.
        #[arg(long, default_value_t = 1000)]
        applications: usize,
    },
    /// Screening on one core: watchlists of 10k to 1M synthetic people named from the
    /// cross-script variant corpus (index build time and memory, latency per applicant, recall
    /// per kind of spelling drift, false matches), duplicate applicants across missions, and the
    /// public name benchmark, beside the rate at which one core scores a candidate.
    Screening(crate::bench_screening::ScreeningArgs),
    /// Crash safety: SIGKILLs a real server while clients submit over HTTP, restarts it, and
    /// checks nothing acknowledged was lost, duplicated or changed and the audit log verifies.
    Crash {
        /// Kill-and-restart cycles per database.
        #[arg(long, default_value_t = 1000)]
        cycles: u32,
        /// Which databases to run on.
        #[arg(long, value_enum, default_value_t = crate::bench_crash::CrashDb::Sqlite)]
        db: crate::bench_crash::CrashDb,
        /// Concurrent submitting clients.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// PostgreSQL server for the PostgreSQL run; a throwaway database is created on it.
        #[arg(long, env = "LEGION_BENCH_PG_URL", default_value = DEFAULT_PG_URL)]
        pg_url: String,
        /// Seed of the kill moments and samples (random if not given; printed either way).
        #[arg(long)]
        seed: Option<u64>,
        /// Shortest time clients run before the kill, in milliseconds.
        #[arg(long, default_value_t = 50)]
        min_delay_ms: u64,
        /// Longest time clients run before the kill, in milliseconds.
        #[arg(long, default_value_t = 800)]
        max_delay_ms: u64,
        /// Verify the audit log (which reads all of it) after every N-th kill, and always
        /// after the last one and at the end.
        #[arg(long, default_value_t = 1)]
        audit_every: u32,
    },
}

/// Runs a suite and prints its report.
pub async fn run(cmd: BenchCmd) -> Result<()> {
    println!("{}", machine());
    match cmd {
        BenchCmd::Audit { pg_url, seconds, clients, events } => audit(&pg_url, seconds, clients, events).await,
        BenchCmd::Vault { applications } => vault(applications).await,
        BenchCmd::Surge { db, pg_url, applications, days, speed } => {
            crate::bench_load::surge(db, &pg_url, applications, days, speed).await
        }
        BenchCmd::Queue { db, pg_url, applications, requests, watchlist_people, data } => {
            crate::bench_load::queue(db, &pg_url, applications, requests, watchlist_people, &data).await
        }
        BenchCmd::Intake { db, pg_url, clients, seconds } => {
            crate::bench_load::intake(db, &pg_url, clients, seconds).await
        }
        BenchCmd::Screening(args) => crate::bench_screening::run(&args),
        BenchCmd::Credential(args) => crate::bench_credential::run(&args).await,
        BenchCmd::Crash { cycles, db, clients, pg_url, seed, min_delay_ms, max_delay_ms, audit_every } => {
            let args = crate::bench_crash::CrashArgs {
                cycles,
                db,
                clients,
                pg_url,
                seed,
                min_delay_ms,
                max_delay_ms,
                audit_every,
            };
            crate::bench_crash::run(args).await
        }
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let build = if cfg!(debug_assertions) { "DEBUG build: numbers are not representative" } else { "release build" };
    format!("Machine: {cores} cores, {cpu}; Legion {}, {build}.\n", env!("CARGO_PKG_VERSION"))
}

// ---------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------

/// A throwaway database on `server` (dropped when the guard goes).
pub(crate) struct PgDatabase {
    admin_url: String,
    name: String,
    pub(crate) url: String,
}

impl PgDatabase {
    pub(crate) async fn create(server: &str) -> Result<Self> {
        let name = format!("legion_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(server)
            .await
            .with_context(|| format!("cannot reach PostgreSQL at {server}; pass --pg-url"))?;
        admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await?;
        admin.close().await.ok();
        let (base, _) = server.rsplit_once('/').ok_or_else(|| anyhow!("--pg-url needs a database name"))?;
        Ok(Self { admin_url: server.to_owned(), url: format!("{base}/{name}"), name })
    }

    pub(crate) async fn drop_now(self) {
        if let Ok(mut admin) = sqlx::PgConnection::connect(&self.admin_url).await {
            let _ =
                admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))).await;
        }
    }
}

fn event(i: u64) -> AuditEvent {
    AuditEvent {
        at: chrono::DateTime::from_timestamp_millis(1_650_000_000_000 + i64::try_from(i).unwrap_or(0))
            .unwrap_or_default(),
        actor: "00000000-0000-4000-8000-000000000001".into(),
        role: "mission_officer".into(),
        mission: Some("gb-london".into()),
        action: "case.read".into(),
        object: format!("application:{:032x}", u128::from(i) * 0x9e37_79b9_7f4a_7c15),
        outcome: "ok".into(),
    }
}

/// Bare single-row transactions of 2 KB from one client: the database's commit rate here.
pub(crate) async fn raw_commits_sqlite(dir: &std::path::Path, seconds: u64) -> Result<f64> {
    let url = format!("sqlite://{}", dir.join("raw.db").display());
    let options = url
        .parse::<sqlx::sqlite::SqliteConnectOptions>()?
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Full);
    let mut c = sqlx::SqliteConnection::connect_with(&options).await?;
    c.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)").await?;
    raw_loop_sqlite(&mut c, seconds).await
}

async fn raw_loop_sqlite(c: &mut sqlx::SqliteConnection, seconds: u64) -> Result<f64> {
    let payload = vec![7u8; 2048];
    let (start, mut n) = (Instant::now(), 0u64);
    while start.elapsed() < Duration::from_secs(seconds) {
        sqlx::query("INSERT INTO raw (payload) VALUES ($1)").bind(&payload).execute(&mut *c).await?;
        n += 1;
    }
    Ok(rate(n, start.elapsed()))
}

pub(crate) async fn raw_commits_pg(url: &str, seconds: u64) -> Result<f64> {
    let mut c = sqlx::PgConnection::connect(url).await?;
    c.execute("CREATE TABLE raw (id BIGSERIAL PRIMARY KEY, payload BYTEA NOT NULL)").await?;
    let payload = vec![7u8; 2048];
    let (start, mut n) = (Instant::now(), 0u64);
    while start.elapsed() < Duration::from_secs(seconds) {
        sqlx::query("INSERT INTO raw (payload) VALUES ($1)").bind(&payload).execute(&mut c).await?;
        n += 1;
    }
    Ok(rate(n, start.elapsed()))
}

#[allow(clippy::cast_precision_loss, reason = "rates are reported to three figures")]
pub(crate) fn rate(n: u64, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

/// Appends from `clients` tasks for `seconds`; events per second.
async fn appends(store: &Arc<dyn Store>, clients: usize, seconds: u64) -> Result<f64> {
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (store, counter) = (Arc::clone(store), Arc::clone(&counter));
        tasks.push(tokio::spawn(async move {
            while start.elapsed() < Duration::from_secs(seconds) {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                store.append_audit(&event(i)).await?;
            }
            Ok::<_, legion_store::StoreError>(())
        }));
    }
    for t in tasks {
        t.await?.map_err(|e| anyhow!("{e}"))?;
    }
    Ok(rate(counter.load(Ordering::Relaxed), start.elapsed()))
}

/// Writes `events` chained events straight into `audit_events` (many rows per statement, as the
/// store would have written them one by one) and one signed checkpoint of them all.
async fn fill_log(store: &Arc<dyn Store>, url: &str, events: u64, signer: &CheckpointSigner) -> Result<()> {
    let mut tree = legion_audit::MerkleTree::new();
    let mut prev = legion_audit::CHAIN_START;
    let first = u64::try_from(store.audit_size().await.map_err(|e| anyhow!("{e}"))?)? + 1;
    if first != 1 {
        return Err(anyhow!("the benchmark log must start empty"));
    }
    let mut rows: Vec<String> = Vec::with_capacity(1000);
    let mut conn = AnyConn::connect(url).await?;
    conn.execute("BEGIN").await?;
    for seq in 1..=events {
        let e = event(seq);
        let seq_i = i64::try_from(seq)?;
        let leaf = legion_store::leaf_bytes(seq_i, &e, None, None);
        let lh = leaf_hash(&leaf);
        tree.push(lh);
        prev = chain_next(&prev, &lh);
        // Every value is generated here (hex, digits, fixed words), never input.
        rows.push(format!(
            "({seq_i}, {}, '{}', '{}', 'gb-london', '{}', '{}', '{}', NULL, NULL, '{}')",
            e.at.timestamp_millis(),
            e.actor,
            e.role,
            e.action,
            e.object,
            e.outcome,
            prev.to_hex()
        ));
        if rows.len() == 1000 || seq == events {
            let sql = format!(
                "INSERT INTO audit_events (seq, at, actor, role, mission, action, object, outcome, before_hash, \
                 after_hash, chain) VALUES {}",
                rows.join(", ")
            );
            conn.execute(&sql).await?;
            rows.clear();
        }
        if seq % 100_000 == 0 {
            conn.execute("COMMIT").await?;
            conn.execute("BEGIN").await?;
        }
    }
    conn.execute("COMMIT").await?;
    let checkpoint = legion_audit::Checkpoint::new(ORIGIN, tree.size(), tree.root())?;
    store
        .insert_checkpoint(&StoredCheckpoint {
            tree_size: i64::try_from(tree.size())?,
            root: tree.root().to_hex(),
            note: signer.sign(&checkpoint),
            at: SystemClock.now(),
        })
        .await
        .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// A raw connection to either backend, for filling the log.
enum AnyConn {
    Sqlite(sqlx::SqliteConnection),
    Pg(sqlx::PgConnection),
}

impl AnyConn {
    async fn connect(url: &str) -> Result<Self> {
        Ok(if url.starts_with("sqlite:") {
            Self::Sqlite(sqlx::SqliteConnection::connect(url).await?)
        } else {
            Self::Pg(sqlx::PgConnection::connect(url).await?)
        })
    }

    async fn execute(&mut self, sql: &str) -> Result<()> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Self::Sqlite(c) => c.execute(sql).await.map(|_| ())?,
            Self::Pg(c) => c.execute(sql).await.map(|_| ())?,
        }
        Ok(())
    }
}

/// SHA-256 over what verification must hash at least: for each event its leaf hash, its chain
/// hash and one tree node. The floor `audit verify` is compared with.
fn sha256_floor(events: u64) -> Duration {
    let leaf = legion_store::leaf_bytes(1, &event(1), None, None);
    let start = Instant::now();
    let mut acc = [0u8; 32];
    for _ in 0..events {
        let lh = Sha256::new().chain_update([0u8]).chain_update(&leaf).finalize();
        let chain = Sha256::new().chain_update(acc).chain_update(lh).finalize();
        acc = Sha256::new().chain_update([1u8]).chain_update(chain).chain_update(lh).finalize().into();
    }
    std::hint::black_box(acc);
    start.elapsed()
}

async fn audit(pg_server: &str, seconds: u64, clients: usize, events: u64) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let keys = Arc::new(Keys::ephemeral());
    let signer = CheckpointSigner::from_seed(ORIGIN, &rand::random::<[u8; 32]>())?;
    println!("## Audit log\n");
    println!("`legion bench audit --seconds {seconds} --clients {clients} --events {events}`\n");
    println!(
        "| backend | raw 2 KB commits/s (1 client) | audited appends/s (1 client) | ratio | audited appends/s ({clients} clients) | ratio |"
    );
    println!("|---|---|---|---|---|---|");

    let sqlite_raw = raw_commits_sqlite(dir.path(), seconds).await?;
    let sqlite_url = format!("sqlite://{}", dir.path().join("append.db").display());
    let sqlite = legion_store::open(&sqlite_url, Arc::clone(&keys)).await.map_err(|e| anyhow!("{e}"))?;
    sqlite.migrate().await.map_err(|e| anyhow!("{e}"))?;
    let one = appends(&sqlite, 1, seconds).await?;
    let many = appends(&sqlite, clients, seconds).await?;
    println!(
        "| SQLite (WAL, synchronous=FULL) | {sqlite_raw:.0} | {one:.0} | {:.2} | {many:.0} | {:.2} |",
        one / sqlite_raw,
        many / sqlite_raw
    );

    let pg_db = PgDatabase::create(pg_server).await?;
    let pg_raw = raw_commits_pg(&pg_db.url, seconds).await?;
    let pg = legion_store::open(&pg_db.url, Arc::clone(&keys)).await.map_err(|e| anyhow!("{e}"))?;
    pg.migrate().await.map_err(|e| anyhow!("{e}"))?;
    let pg_one = appends(&pg, 1, seconds).await?;
    let pg_many = appends(&pg, clients, seconds).await?;
    println!(
        "| PostgreSQL (synchronous_commit=on) | {pg_raw:.0} | {pg_one:.0} | {:.2} | {pg_many:.0} | {:.2} |",
        pg_one / pg_raw,
        pg_many / pg_raw
    );
    drop(pg);
    pg_db.drop_now().await;

    println!("\n### `audit verify` over {events} events\n");
    println!("| backend | fill (s) | verify (s) | SHA-256 floor (s) | verify / floor |");
    println!("|---|---|---|---|---|");
    let floor = sha256_floor(events);
    for backend in ["SQLite", "PostgreSQL"] {
        let (url, guard) = if backend == "SQLite" {
            (format!("sqlite://{}", dir.path().join("verify.db").display()), None)
        } else {
            let db = PgDatabase::create(pg_server).await?;
            (db.url.clone(), Some(db))
        };
        let store = legion_store::open(&url, Arc::clone(&keys)).await.map_err(|e| anyhow!("{e}"))?;
        store.migrate().await.map_err(|e| anyhow!("{e}"))?;
        let fill_start = Instant::now();
        fill_log(&store, &url, events, &signer).await?;
        let fill = fill_start.elapsed();
        let start = Instant::now();
        let report = legion_store::verify_audit_log(&*store, &signer.verifier(), ORIGIN, Vec::new())
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let verify = start.elapsed();
        if report.events != events {
            return Err(anyhow!("verified {} events, expected {events}", report.events));
        }
        println!(
            "| {backend} | {:.1} | {:.2} | {:.2} | {:.2} |",
            fill.as_secs_f64(),
            verify.as_secs_f64(),
            floor.as_secs_f64(),
            verify.as_secs_f64() / floor.as_secs_f64()
        );
        drop(store);
        if let Some(db) = guard {
            db.drop_now().await;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Vault
// ---------------------------------------------------------------------------------------

fn application_json(i: usize) -> serde_json::Value {
    let (given, family, native, nationality) = crate::demo::PEOPLE[i % crate::demo::PEOPLE.len()];
    let residence = ["US", "GB", "DE", "CA", "PL", "GE", "JP"][i % 7];
    serde_json::json!({
        "given_names": given,
        "family_name": family,
        "native_name": native,
        "date_of_birth": format!("19{:02}-0{}-1{}", 70 + i % 30, 1 + i % 9, i % 10),
        "nationality": nationality,
        "country_of_residence": residence,
        "passport_number": format!("X{:08}", i),
        "passport_expiry": "2031-01-01",
        "email": format!("applicant{i}@example.org"),
        "phone": "+1 202 555 0100",
        "military_experience": [{"country": nationality, "branch": "Army", "from": "2010-01", "to": "2016-06-30", "role": "Infantry"}],
        "languages": ["English"],
        "travel": {"departure_country": "PL", "departure_city": "Rzeszów", "earliest_date": "2031-01-01", "group_travel": false},
        "declarations": {"no_criminal_record": true, "consent_background_check": true}
    })
}

fn mean(samples: &[Duration]) -> Duration {
    samples.iter().sum::<Duration>() / u32::try_from(samples.len().max(1)).unwrap_or(u32::MAX)
}

pub(crate) fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss, reason = "an index")]
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples.get(i).copied().unwrap_or_default()
}

async fn vault(applications: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = crate::DbArgs::in_dir(dir.path());
    let store = db.open().await?;
    crate::demo::put_missions(store.as_ref(), &SystemClock).await?;
    let state = crate::state_for(&db, store, WebConfig::default())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, legion_web::router(state)).await });
    let client = reqwest::Client::new();
    let submit_url = format!("http://{addr}/api/v1/applications");

    // One warm-up submission per mission creates its data key.
    for i in 0..7 {
        client.post(&submit_url).json(&application_json(i)).send().await?.error_for_status()?;
    }
    let mut submits = Vec::with_capacity(applications);
    for i in 0..applications {
        let body = application_json(i);
        let start = Instant::now();
        client.post(&submit_url).json(&body).send().await?.error_for_status()?;
        submits.push(start.elapsed());
    }

    let probe = SealProbe::new();
    let today = SystemClock.now().date_naive();
    let details: Vec<ApplicantDetails> = (0..applications)
        .map(|i| ApplicantDetails::parse(&application_json(i), today).map_err(|e| anyhow!("{e:?}")))
        .collect::<Result<_>>()?;
    let mut seals = Vec::with_capacity(applications);
    let mut sealed_bytes = 0;
    for (i, d) in details.iter().enumerate() {
        let id = format!("{i:032x}");
        let start = Instant::now();
        sealed_bytes += probe.seal_and_open(&id, d).map_err(|e| anyhow!("{e}"))?;
        seals.push(start.elapsed());
    }
    let (submit_mean, seal_mean) = (mean(&submits), mean(&seals));
    println!("## Personal data at rest\n");
    println!(
        "`legion bench vault --applications {applications}` (SQLite, one client, sequential submissions over HTTP)\n"
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!("| end-to-end submit, mean | {:.3} ms |", submit_mean.as_secs_f64() * 1e3);
    println!(
        "| end-to-end submit, p50 / p99 | {:.3} / {:.3} ms |",
        percentile(&mut submits, 0.5).as_secs_f64() * 1e3,
        percentile(&mut submits, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "| sealing one application (7 envelopes) and opening its details, mean | {:.1} µs |",
        seal_mean.as_secs_f64() * 1e6
    );
    println!("| sealed bytes per application | {} |", sealed_bytes / applications.max(1));
    println!(
        "| encryption share of the submit cost | {:.2} % |",
        100.0 * seal_mean.as_secs_f64() / submit_mean.as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_applications_are_valid() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        for i in 0..60 {
            assert!(ApplicantDetails::parse(&application_json(i), today).is_ok(), "application {i}");
        }
    }

    #[tokio::test]
    async fn a_filled_log_verifies_and_a_changed_row_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("fill.db").display());
        let store = legion_store::open(&url, Arc::new(Keys::ephemeral())).await.unwrap();
        store.migrate().await.unwrap();
        let signer = CheckpointSigner::from_seed(ORIGIN, &[9; 32]).unwrap();
        fill_log(&store, &url, 2500, &signer).await.unwrap();
        let report = legion_store::verify_audit_log(&*store, &signer.verifier(), ORIGIN, Vec::new()).await.unwrap();
        assert_eq!(report.events, 2500);

        let mut c = AnyConn::connect(&url).await.unwrap();
        c.execute("DROP TRIGGER audit_events_no_update").await.unwrap();
        c.execute("UPDATE audit_events SET outcome = 'denied' WHERE seq = 1234").await.unwrap();
        let err = legion_store::verify_audit_log(&*store, &signer.verifier(), ORIGIN, Vec::new()).await.unwrap_err();
        assert!(err.to_string().contains("1234"), "{err}");
    }
}
