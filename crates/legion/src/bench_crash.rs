//! `legion bench crash`: SIGKILLs a real `legion serve` while concurrent clients submit
//! applications over HTTP with idempotency keys, restarts it on the same data, and checks that
//! every acknowledged application is there once and intact, that every request the crash cut
//! off succeeds exactly once when sent again, and that the audit log verifies.
//!
//! Black-box: the server is this executable run as a child process, reached through its public
//! API; the database is read only to count rows.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use legion_domain::{ApplicantDetails, Clock, SystemClock};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{Connection, Executor};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The databases the crash test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CrashDb {
    /// SQLite in a temporary data directory.
    Sqlite,
    /// A throwaway database on the PostgreSQL server of `--pg-url`.
    Postgres,
    /// SQLite, then PostgreSQL.
    Both,
}

/// What one run is asked to do.
#[derive(Debug, Clone)]
pub struct CrashArgs {
    /// Kill-and-restart cycles per database.
    pub cycles: u32,
    /// Which databases.
    pub db: CrashDb,
    /// Concurrent submitting clients.
    pub clients: usize,
    /// PostgreSQL server for the PostgreSQL run.
    pub pg_url: String,
    /// Seed of the kill delays and samples; random when not given (and printed either way).
    pub seed: Option<u64>,
    /// Shortest time the clients run before the kill, in milliseconds.
    pub min_delay_ms: u64,
    /// Longest time the clients run before the kill, in milliseconds.
    pub max_delay_ms: u64,
    /// `legion audit verify` after every this many kills (and always after the last and at
    /// the end): it reads the whole log, so verifying after every kill makes a long run's
    /// time grow with the square of its length.
    pub audit_every: u32,
}

/// (id, name, country, covers, regional): the missions created before the first start.
const MISSIONS: &[(&str, &str, &str, &str, bool)] = &[
    ("gb-london", "Embassy of Ukraine in the United Kingdom", "GB", "GB,IE", false),
    ("de-berlin", "Embassy of Ukraine in Germany", "DE", "DE,AT,CH", false),
    ("pl-warsaw", "Embassy of Ukraine in Poland", "PL", "PL,LT", true),
];

/// Countries of residence of the generated applications, with the mission each must route to
/// (countries no mission covers go to the regional one).
const RESIDENCES: &[(&str, &str)] = &[
    ("US", "pl-warsaw"),
    ("GB", "gb-london"),
    ("DE", "de-berlin"),
    ("CA", "pl-warsaw"),
    ("PL", "pl-warsaw"),
    ("IE", "gb-london"),
    ("AT", "de-berlin"),
    ("LT", "pl-warsaw"),
];

/// How many acknowledged applications of each cycle are sent again and read back.
const SAMPLE: usize = 8;
/// A request the server does not answer in this time counts as cut off (and is sent again).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a (debug build) server may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_mins(1);

/// Runs the crash test on the chosen databases and prints its report; fails if anything
/// acknowledged was lost, duplicated or changed, or the audit log did not verify.
pub async fn run(args: CrashArgs) -> Result<()> {
    if args.clients == 0 || args.cycles == 0 {
        bail!("--clients and --cycles must be at least 1");
    }
    if args.min_delay_ms > args.max_delay_ms {
        bail!("--min-delay-ms must not exceed --max-delay-ms");
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    let db = match args.db {
        CrashDb::Sqlite => "sqlite",
        CrashDb::Postgres => "postgres",
        CrashDb::Both => "both",
    };
    println!("## Crash safety\n");
    println!(
        "`legion bench crash --cycles {} --db {db} --clients {} --seed {seed} --min-delay-ms {} --max-delay-ms {} \
         --audit-every {}`\n",
        args.cycles, args.clients, args.min_delay_ms, args.max_delay_ms, args.audit_every
    );
    let verified = match args.audit_every {
        0 | 1 => "`legion audit verify` runs on the data as the crash left it".to_owned(),
        n => format!(
            "once every {n} kills and after the last, `legion audit verify` runs on the data as the crash left it"
        ),
    };
    println!(
        "Each cycle: {} clients submit applications with fresh idempotency keys over HTTP; after a random \
         {}–{} ms the server gets SIGKILL; {verified}; the \
         server restarts; every request the crash cut off is sent again with its key; {SAMPLE} applications \
         acknowledged in the cycle are sent again (the answer must be identical) and read back with the \
         applicant's code and by a mission officer (the details must be what was sent); rows are counted. At \
         the end every acknowledged application is sent again and read back.\n",
        args.clients, args.min_delay_ms, args.max_delay_ms
    );
    let mut runs = Vec::new();
    if matches!(args.db, CrashDb::Sqlite | CrashDb::Both) {
        let target = Target::sqlite()?;
        runs.push(("SQLite", crash_run(&target, &args, seed).await));
    }
    if matches!(args.db, CrashDb::Postgres | CrashDb::Both) {
        let target = Target::postgres(&args.pg_url).await?;
        let result = crash_run(&target, &args, seed).await;
        target.drop_database().await;
        runs.push(("PostgreSQL", result));
    }

    println!(
        "| backend | cycles | acknowledged | in flight at kill (resolved) | of which committed before the kill | \
         lost | duplicated | damaged | replays identical | read back | audit verified | restart, mean (ms) | cycle, mean (s) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut failures = Vec::new();
    for (name, result) in &runs {
        match result {
            Ok(t) => {
                println!(
                    "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{} ({} events) | {:.0} | {:.2} |",
                    t.cycles,
                    t.acknowledged,
                    t.in_flight,
                    t.committed_in_flight,
                    t.lost,
                    t.duplicated,
                    t.damaged,
                    t.replays,
                    t.read_back,
                    t.audit_ok,
                    t.audit_runs,
                    t.audit_events,
                    mean(t.restart_total, t.restarts).as_secs_f64() * 1e3,
                    mean(t.cycle_total, t.cycles).as_secs_f64(),
                );
                failures.extend(t.violations.iter().map(|v| format!("{name}: {v}")));
            }
            Err(e) => {
                println!("| {name} | harness error | | | | | | | | | | | |");
                failures.push(format!("{name}: the run could not complete: {e:#}"));
            }
        }
    }
    if failures.is_empty() {
        println!("\nNo violations.");
        return Ok(());
    }
    println!("\n### Violations\n");
    for f in &failures {
        println!("- {f}");
    }
    bail!("{} crash-safety violation(s); see the report", failures.len())
}

fn mean(total: Duration, n: u32) -> Duration {
    total / n.max(1)
}

// ---------------------------------------------------------------------------------------
// The database and data directory a run uses
// ---------------------------------------------------------------------------------------

/// A data directory (keys, and the SQLite file unless PostgreSQL is used) and the database.
struct Target {
    dir: tempfile::TempDir,
    /// A throwaway PostgreSQL database: (admin URL, database name, URL).
    pg: Option<(String, String, String)>,
}

impl Target {
    fn sqlite() -> Result<Self> {
        Ok(Self { dir: tempfile::tempdir()?, pg: None })
    }

    /// Creates a throwaway database on `server` (dropped by [`Target::drop_database`]).
    async fn postgres(server: &str) -> Result<Self> {
        let name = format!("legion_crash_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(server)
            .await
            .with_context(|| format!("cannot reach PostgreSQL at {}; pass --pg-url", crate::redact(server)))?;
        admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await?;
        admin.close().await.ok();
        let (base, _) = server.rsplit_once('/').ok_or_else(|| anyhow!("--pg-url needs a database name"))?;
        let url = format!("{base}/{name}");
        Ok(Self { dir: tempfile::tempdir()?, pg: Some((server.to_owned(), name, url)) })
    }

    async fn drop_database(&self) {
        if let Some((admin_url, name, _)) = &self.pg
            && let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await
        {
            let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await;
        }
    }

    fn name(&self) -> &'static str {
        if self.pg.is_some() { "PostgreSQL" } else { "SQLite" }
    }

    fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `DbArgs` every `legion` command of the run is given.
    fn db_args(&self) -> Vec<OsString> {
        let mut args = vec!["--data-dir".into(), self.data_dir().as_os_str().to_owned()];
        if let Some((_, _, url)) = &self.pg {
            args.extend(["--db".into(), url.into()]);
        }
        args
    }

    /// Rows in `applications` and in `idempotency_keys`, counted in SQL (SQLite read-only).
    async fn count_rows(&self) -> Result<(i64, i64)> {
        const COUNT: &str = "SELECT (SELECT COUNT(*) FROM applications), (SELECT COUNT(*) FROM idempotency_keys)";
        if let Some((_, _, url)) = &self.pg {
            let mut c = sqlx::PgConnection::connect(url).await?;
            let counts = sqlx::query_as(COUNT).fetch_one(&mut c).await?;
            c.close().await.ok();
            return Ok(counts);
        }
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(self.data_dir().join("legion.db"))
            .read_only(true)
            .busy_timeout(Duration::from_secs(5));
        let mut c = sqlx::SqliteConnection::connect_with(&options).await?;
        let counts = sqlx::query_as(COUNT).fetch_one(&mut c).await?;
        c.close().await.ok();
        Ok(counts)
    }
}

/// A `legion` command on the run's data, with no database setting taken from the environment.
fn legion() -> Result<Command> {
    let mut c = Command::new(std::env::current_exe().context("cannot find the legion executable")?);
    c.env_remove("LEGION_DB").env_remove("LEGION_DATA_DIR").env_remove("LEGION_DOCUMENTS");
    c.env("LEGION_LOG", "warn,legion=info").stdin(Stdio::null()).kill_on_drop(true);
    Ok(c)
}

/// Runs `legion ARGS DbArgs` to completion; its output when it succeeds.
async fn legion_ok(target: &Target, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    let mut c = legion()?;
    c.args(args).args(target.db_args());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().await?;
    if !out.status.success() {
        bail!("`legion {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

// ---------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------

/// A running `legion serve` (SIGKILLed if dropped) and the base URL it listens on.
struct Server {
    child: Child,
    base: String,
    /// The last lines it logged, for a report when it fails to start.
    log: Arc<Mutex<VecDeque<String>>>,
}

impl Server {
    /// Starts the server on the run's data and waits until it listens.
    async fn start(target: &Target) -> Result<Self> {
        let mut child = legion()?
            .arg("serve")
            .args(target.db_args())
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start legion serve")?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sink = Arc::clone(&log);
        // Read everything the server logs, for as long as it lives, so that a full pipe never
        // blocks it; keep the tail.
        tokio::spawn(async move {
            let mut tx = Some(tx);
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split("Legion listening on ").nth(1)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
                }
                let mut log = sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if log.len() == 40 {
                    log.pop_front();
                }
                log.push_back(line);
            }
        });
        if let Ok(Ok(base)) = tokio::time::timeout(START_TIMEOUT, rx).await {
            return Ok(Self { child, base, log });
        }
        let _ = child.kill().await;
        bail!("legion serve did not start; it logged:\n{}", tail(&log))
    }

    /// SIGKILL: no shutdown code runs. Fails if the server had already exited by itself.
    async fn crash(mut self) -> Result<(), String> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(format!(
                "the server exited by itself ({status}) before the kill; it logged:\n{}",
                tail(&self.log)
            ));
        }
        self.child.kill().await.map_err(|e| format!("could not kill the server: {e}"))
    }
}

/// The lines a server logged last.
fn tail(log: &Mutex<VecDeque<String>>) -> String {
    let log = log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    log.iter().cloned().collect::<Vec<_>>().join("\n")
}

// ---------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------

/// What the server answers a submission with (201).
#[derive(Clone, PartialEq, Eq, Deserialize)]
struct Answer {
    id: String,
    reference: String,
    access_code: String,
    mission: String,
}

/// One submission as the client sent it, and the answer once one came.
struct Submission {
    key: String,
    body: Value,
    /// The mission the application must be routed to.
    mission: &'static str,
    answer: Option<Answer>,
}

/// Every submission ever sent, by number.
type Ledger = Arc<Mutex<BTreeMap<u64, Submission>>>;

fn lock(ledger: &Ledger) -> std::sync::MutexGuard<'_, BTreeMap<u64, Submission>> {
    ledger.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

enum Reply {
    Created(Answer),
    Status(u16),
}

/// Sends one submission. A transport error means no answer came: the request is in flight,
/// as far as the client can tell.
async fn send(http: &reqwest::Client, base: &str, key: &str, body: &Value) -> reqwest::Result<Reply> {
    let r = http.post(format!("{base}/api/v1/applications")).header("Idempotency-Key", key).json(body).send().await?;
    if r.status() == reqwest::StatusCode::CREATED {
        Ok(Reply::Created(r.json().await?))
    } else {
        Ok(Reply::Status(r.status().as_u16()))
    }
}

fn http_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build()?)
}

/// The `n`-th application of a run: a realistic, valid form, distinct from every other by its
/// passport number and e-mail address; and the mission it must route to. Made-up people only.
fn application(n: u64) -> (Value, &'static str) {
    let people = crate::demo::PEOPLE;
    let i = usize::try_from(n).unwrap_or(0);
    let (given, family, native, nationality) = people[i % people.len()];
    let (residence, mission) = RESIDENCES[(i / people.len() + i) % RESIDENCES.len()];
    let mut body = json!({
        "given_names": given,
        "family_name": family,
        "date_of_birth": format!("19{:02}-{:02}-{:02}", 60 + i % 40, 1 + i % 12, 1 + i % 28),
        "nationality": nationality,
        "country_of_residence": residence,
        "passport_number": format!("{}{n:08}", char::from(b'A' + u8::try_from(i % 26).unwrap_or(0))),
        "passport_expiry": format!("20{}-0{}-15", 31 + i % 9, 1 + i % 9),
        "email": format!("applicant.{n}@example.org"),
        "languages": if i % 3 == 0 { json!(["English", "Ukrainian"]) } else { json!(["English"]) },
        "travel": {
            "departure_country": "PL",
            "departure_city": (["Rzeszów", "Przemyśl", "Kraków", "Lublin"][i % 4]),
            "earliest_date": format!("2031-0{}-01", 1 + i % 9),
            "group_travel": i % 2 == 0
        },
        "declarations": {"no_criminal_record": true, "consent_background_check": true}
    });
    if let Some(native) = native {
        body["native_name"] = json!(native);
    }
    if i % 2 == 0 {
        body["phone"] = json!(format!("+1 202 555 {:04}", i % 10_000));
    }
    if i % 4 != 3 {
        body["military_experience"] = json!([{
            "country": nationality, "branch": (["Army", "Marines", "Police"][i % 3]),
            "from": format!("20{:02}-01", i % 12), "to": format!("20{:02}-06-30", 12 + i % 10),
            "role": (["Infantry", "Medic", "Signals", "Engineer"][i % 4])
        }]);
    }
    (body, mission)
}

/// Submits fresh applications from `clients` tasks until `stop`; returns the violations seen.
/// A request that gets no answer ends its task: the server is gone.
fn clients_until(
    base: &str,
    ledger: &Ledger,
    counter: &Arc<AtomicU64>,
    seed: u64,
    clients: usize,
    stop: &Arc<AtomicBool>,
) -> Result<Vec<tokio::task::JoinHandle<Vec<String>>>> {
    let http = http_client()?;
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (http, base, ledger, counter, stop) =
            (http.clone(), base.to_owned(), Arc::clone(ledger), Arc::clone(counter), Arc::clone(stop));
        tasks.push(tokio::spawn(async move {
            let mut violations = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let key = format!("crash-{seed:016x}-{n:010}");
                let (body, mission) = application(n);
                lock(&ledger).insert(n, Submission { key: key.clone(), body: body.clone(), mission, answer: None });
                match send(&http, &base, &key, &body).await {
                    Ok(Reply::Created(answer)) => {
                        if answer.mission != mission {
                            violations
                                .push(format!("submission {key} was routed to {}, not {mission}", answer.mission));
                        }
                        if let Some(s) = lock(&ledger).get_mut(&n) {
                            s.answer = Some(answer);
                        }
                    }
                    Ok(Reply::Status(status)) => {
                        violations.push(format!("submission {key} answered HTTP {status} while the server ran"));
                        break;
                    }
                    Err(_) => break,
                }
            }
            violations
        }));
    }
    Ok(tasks)
}

// ---------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------

/// Mission officers' session cookies, by mission: they read the submitted details back.
type Officers = Arc<HashMap<&'static str, String>>;

/// Creates the missions and one officer per mission through the CLI, before the first start.
async fn set_up(target: &Target, password: &str) -> Result<()> {
    for (id, name, country, covers, regional) in MISSIONS {
        let mut args = vec!["missions", "add", "--id", id, "--name", name, "--country", country, "--covers", covers];
        if *regional {
            args.push("--regional");
        }
        legion_ok(target, &args, &[]).await?;
        let username = format!("officer.{id}");
        legion_ok(
            target,
            &["users", "add", "--username", &username, "--role", "mission_officer", "--mission", id],
            &[("LEGION_PASSWORD", password)],
        )
        .await?;
    }
    Ok(())
}

/// Signs every officer in; the sessions are stored, so they outlive restarts.
async fn sign_in(base: &str, password: &str) -> Result<Officers> {
    let http = http_client()?;
    let mut officers = HashMap::new();
    for (id, ..) in MISSIONS {
        let r = http
            .post(format!("{base}/api/v1/session"))
            .json(&json!({"username": format!("officer.{id}"), "password": password}))
            .send()
            .await?
            .error_for_status()?;
        let cookie = r
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .ok_or_else(|| anyhow!("signing in set no cookie"))?;
        officers.insert(*id, cookie.to_owned());
    }
    Ok(Arc::new(officers))
}

/// Why a read-back failed.
enum ReadBack {
    /// The application is not found with its id and access code.
    Lost(String),
    /// It is there but not as acknowledged or as sent.
    Damaged(String),
}

/// Reads an acknowledged application back as its applicant (id and access code) and as the
/// officer of its mission (the details), and compares with what was sent and answered.
async fn read_back(
    http: &reqwest::Client,
    base: &str,
    officers: &Officers,
    key: &str,
    body: &Value,
    answer: &Answer,
) -> Result<(), ReadBack> {
    let id = &answer.id;
    let transport = |e: reqwest::Error| ReadBack::Damaged(format!("reading {id} back failed: {e}"));
    let r = http
        .get(format!("{base}/api/v1/applications/{id}"))
        .bearer_auth(&answer.access_code)
        .send()
        .await
        .map_err(transport)?;
    match r.status().as_u16() {
        200 => {}
        404 => return Err(ReadBack::Lost(format!("application {id} (key {key}) is not found with its access code"))),
        s => return Err(ReadBack::Damaged(format!("the applicant's read of {id} answered HTTP {s}"))),
    }
    let view: Value = r.json().await.map_err(transport)?;
    if view["id"] != answer.id.as_str()
        || view["reference"] != answer.reference.as_str()
        || view["mission"] != answer.mission.as_str()
    {
        return Err(ReadBack::Damaged(format!("the applicant's view of {id} has another id, reference or mission")));
    }
    let cookie = officers.get(answer.mission.as_str()).ok_or_else(|| {
        ReadBack::Damaged(format!("application {id} is in mission {}, which has no officer", answer.mission))
    })?;
    let r = http
        .get(format!("{base}/api/v1/cases/{id}"))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .map_err(transport)?;
    if r.status() != reqwest::StatusCode::OK {
        return Err(ReadBack::Damaged(format!("the officer's read of {id} answered HTTP {}", r.status().as_u16())));
    }
    let case: Value = r.json().await.map_err(transport)?;
    let today = SystemClock.now().date_naive();
    let expected = ApplicantDetails::parse(body, today)
        .ok()
        .and_then(|d| serde_json::to_value(d).ok())
        .ok_or_else(|| ReadBack::Damaged(format!("the body sent for {id} no longer parses")))?;
    if case["applicant"] != expected || case["reference"] != answer.reference.as_str() {
        // Which fields differ, never their values: they are personal data.
        let fields: Vec<&str> = expected
            .as_object()
            .map(|o| o.iter().filter(|(k, v)| case["applicant"][k.as_str()] != **v).map(|(k, _)| k.as_str()).collect())
            .unwrap_or_default();
        return Err(ReadBack::Damaged(format!("the stored details of {id} differ from those sent in {fields:?}")));
    }
    Ok(())
}

/// Counts of what the checks found, over a whole run.
#[derive(Default)]
struct Tally {
    cycles: u32,
    /// Submissions answered 201 before a kill.
    acknowledged: u64,
    /// Submissions sent but not answered when the server was killed, all sent again.
    in_flight: u64,
    /// Of those, how many the database already held after the restart.
    committed_in_flight: u64,
    /// Acknowledged applications not found with their id and access code.
    lost: u64,
    /// Applications stored beyond one per key sent.
    duplicated: u64,
    /// Acknowledged applications found, but not as sent or as first answered.
    damaged: u64,
    /// Acknowledged submissions sent again that got the first answer back.
    replays: u64,
    /// Acknowledged applications read back intact.
    read_back: u64,
    audit_runs: u32,
    audit_ok: u32,
    /// Events in the log at the last successful `audit verify`.
    audit_events: u64,
    restarts: u32,
    restart_total: Duration,
    cycle_total: Duration,
    /// What went wrong, in words: no personal data, only ids and keys.
    violations: Vec<String>,
}

impl Tally {
    fn record(&mut self, result: Result<(), ReadBack>) {
        match result {
            Ok(()) => self.read_back += 1,
            Err(ReadBack::Lost(m)) => {
                self.lost += 1;
                self.violations.push(m);
            }
            Err(ReadBack::Damaged(m)) => {
                self.damaged += 1;
                self.violations.push(m);
            }
        }
    }

    /// Runs `legion audit verify` on the data as it is now.
    async fn audit_verify(&mut self, target: &Target, when: &str) -> Result<()> {
        self.audit_runs += 1;
        let out = legion()?.args(["audit", "verify"]).args(target.db_args()).output().await?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let events = stdout
            .lines()
            .find_map(|l| l.strip_prefix("audit log verified: "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok());
        match events {
            Some(events) if out.status.success() => {
                self.audit_ok += 1;
                self.audit_events = events;
            }
            _ => self.violations.push(format!(
                "`legion audit verify` {when} failed ({}): {} {}",
                out.status,
                stdout.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            )),
        }
        Ok(())
    }

    /// Checks the database holds exactly one application per key ever sent.
    async fn count(&mut self, target: &Target, keys: usize, when: &str) -> Result<()> {
        let (rows, key_rows) = target.count_rows().await?;
        let keys = i64::try_from(keys)?;
        if rows > keys {
            self.duplicated = self.duplicated.max(u64::try_from(rows - keys)?);
        }
        if rows != keys || key_rows != keys {
            self.violations.push(format!(
                "{when}: {rows} applications and {key_rows} idempotency keys stored for {keys} distinct keys sent"
            ));
        }
        Ok(())
    }
}

/// One database: the set-up, `cycles` kill-and-restart cycles, and the final full check.
async fn crash_run(target: &Target, args: &CrashArgs, seed: u64) -> Result<Tally> {
    let mut rng = StdRng::seed_from_u64(seed);
    let password = format!("crash-{:032x}", rng.r#gen::<u128>());
    set_up(target, &password).await?;
    let mut server = Server::start(target).await?;
    let officers = sign_in(&server.base, &password).await?;
    let ledger: Ledger = Arc::default();
    let counter = Arc::new(AtomicU64::new(0));
    let mut t = Tally::default();

    for cycle in 1..=args.cycles {
        let cycle_start = Instant::now();
        let acked_before: Vec<u64> =
            lock(&ledger).iter().filter(|(_, s)| s.answer.is_some()).map(|(n, _)| *n).collect();

        // Load, then SIGKILL at a random moment.
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = clients_until(&server.base, &ledger, &counter, seed, args.clients, &stop)?;
        let delay = Duration::from_millis(rng.gen_range(args.min_delay_ms..=args.max_delay_ms));
        tokio::time::sleep(delay).await;
        stop.store(true, Ordering::SeqCst);
        if let Err(e) = server.crash().await {
            t.violations.push(format!("cycle {cycle}: {e}"));
        }
        for task in tasks {
            t.violations.extend(task.await?.into_iter().map(|v| format!("cycle {cycle}: {v}")));
        }
        let (acked_now, in_flight): (Vec<u64>, Vec<u64>) = {
            let l = lock(&ledger);
            let fresh = l.iter().filter(|(n, _)| acked_before.binary_search(n).is_err());
            let (acked, pending): (Vec<_>, Vec<_>) = fresh.partition(|(_, s)| s.answer.is_some());
            (acked.into_iter().map(|(n, _)| *n).collect(), pending.into_iter().map(|(n, _)| *n).collect())
        };
        t.acknowledged += u64::try_from(acked_now.len())?;
        t.in_flight += u64::try_from(in_flight.len())?;

        // The log as the crash left it.
        if cycle % args.audit_every.max(1) == 0 || cycle == args.cycles {
            t.audit_verify(target, &format!("after the kill of cycle {cycle}")).await?;
        }

        let restart = Instant::now();
        server = Server::start(target).await?;
        t.restart_total += restart.elapsed();
        t.restarts += 1;
        let http = http_client()?;

        // Before anything is sent again: everything acknowledged is there, plus at most the
        // requests in flight.
        let (rows, _) = target.count_rows().await?;
        let acked_total = i64::try_from(acked_before.len() + acked_now.len())?;
        let committed = rows - acked_total;
        if committed < 0 || committed > i64::try_from(in_flight.len())? {
            t.violations.push(format!(
                "cycle {cycle}: after the restart {rows} applications are stored for {acked_total} acknowledged and \
                 {} in flight",
                in_flight.len()
            ));
        } else {
            t.committed_in_flight += u64::try_from(committed)?;
        }

        // Every request cut off by the crash, sent again with its key, succeeds.
        for n in &in_flight {
            let (key, body, mission) = {
                let l = lock(&ledger);
                let s = &l[n];
                (s.key.clone(), s.body.clone(), s.mission)
            };
            match send(&http, &server.base, &key, &body).await {
                Ok(Reply::Created(answer)) => {
                    if answer.mission != mission {
                        t.violations.push(format!("cycle {cycle}: resent {key} was routed to {}", answer.mission));
                    }
                    t.record(read_back(&http, &server.base, &officers, &key, &body, &answer).await);
                    if let Some(s) = lock(&ledger).get_mut(n) {
                        s.answer = Some(answer);
                    }
                }
                Ok(Reply::Status(s)) => {
                    t.violations.push(format!("cycle {cycle}: in-flight {key} sent again answered HTTP {s}"));
                }
                Err(e) => t.violations.push(format!("cycle {cycle}: in-flight {key} sent again failed: {e}")),
            }
        }

        // A sample acknowledged in this cycle: the same answer again, and intact.
        let sample: Vec<u64> = acked_now.choose_multiple(&mut rng, SAMPLE).copied().collect();
        for n in sample {
            let (key, body, first) = {
                let l = lock(&ledger);
                let s = &l[&n];
                (s.key.clone(), s.body.clone(), s.answer.clone())
            };
            let Some(first) = first else { continue };
            check_replay(&mut t, &http, &server.base, &key, &body, &first, &format!("cycle {cycle}")).await;
            t.record(read_back(&http, &server.base, &officers, &key, &body, &first).await);
        }

        let keys = lock(&ledger).len();
        t.count(target, keys, &format!("cycle {cycle}")).await?;
        t.cycles = cycle;
        t.cycle_total += cycle_start.elapsed();
        if cycle % 10 == 0 || cycle == args.cycles {
            eprintln!(
                "{}: cycle {cycle}/{}, {keys} applications, {} violations",
                target.name(),
                args.cycles,
                t.violations.len()
            );
        }
        if !t.violations.is_empty() {
            break;
        }
    }

    // At the end: every acknowledged application, sent again and read back (after a violation
    // too: it tells how much was lost or duplicated).
    final_check(&mut t, &server.base, &ledger, &officers, args.clients).await?;
    let keys = lock(&ledger).len();
    t.count(target, keys, "at the end").await?;
    if let Err(e) = server.crash().await {
        t.violations.push(format!("at the end: {e}"));
    }
    t.audit_verify(target, "at the end").await?;
    Ok(t)
}

/// Sends an acknowledged submission again: the answer must be the first one, to the letter.
async fn check_replay(
    t: &mut Tally,
    http: &reqwest::Client,
    base: &str,
    key: &str,
    body: &Value,
    first: &Answer,
    when: &str,
) {
    match send(http, base, key, body).await {
        Ok(Reply::Created(again)) if again == *first => t.replays += 1,
        Ok(Reply::Created(again)) if again.id != first.id => {
            t.duplicated += 1;
            t.violations
                .push(format!("{when}: {key} sent again created {} instead of answering {}", again.id, first.id));
        }
        Ok(Reply::Created(_)) => {
            t.violations.push(format!("{when}: {key} sent again answered {} with another reference or code", first.id));
        }
        Ok(Reply::Status(s)) => t.violations.push(format!("{when}: {key} sent again answered HTTP {s}")),
        Err(e) => t.violations.push(format!("{when}: {key} sent again failed: {e}")),
    }
}

/// Every acknowledged application, from `clients` tasks: sent again and read back.
async fn final_check(t: &mut Tally, base: &str, ledger: &Ledger, officers: &Officers, clients: usize) -> Result<()> {
    let all: Vec<(String, Value, Answer)> =
        lock(ledger).values().filter_map(|s| s.answer.clone().map(|a| (s.key.clone(), s.body.clone(), a))).collect();
    let chunk = all.len().div_ceil(clients).max(1);
    let mut tasks = Vec::new();
    for part in all.chunks(chunk) {
        let (part, base, officers, http) = (part.to_vec(), base.to_owned(), Arc::clone(officers), http_client()?);
        tasks.push(tokio::spawn(async move {
            let mut t = Tally::default();
            for (key, body, answer) in part {
                check_replay(&mut t, &http, &base, &key, &body, &answer, "at the end").await;
                t.record(read_back(&http, &base, &officers, &key, &body, &answer).await);
            }
            t
        }));
    }
    for task in tasks {
        let part = task.await?;
        t.replays += part.replays;
        t.read_back += part.read_back;
        t.lost += part.lost;
        t.damaged += part.damaged;
        t.duplicated += part.duplicated;
        t.violations.extend(part.violations);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_applications_are_valid_and_distinct() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let mut passports = std::collections::HashSet::new();
        for n in 0..500 {
            let (body, mission) = application(n);
            let d = ApplicantDetails::parse(&body, today).unwrap_or_else(|e| panic!("application {n}: {e:?}"));
            assert!(passports.insert(d.passport_number.as_str().to_owned()), "application {n} repeats a passport");
            assert!(MISSIONS.iter().any(|m| m.0 == mission));
        }
    }
}
