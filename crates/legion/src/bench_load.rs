//! `legion bench intake`: submissions per second over real HTTP to a real `legion serve`
//! process, with many concurrent clients on the same machine, beside the database's own
//! single-row commit rate measured in the same run.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use legion_domain::SystemClock;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::bench::{PgDatabase, percentile, rate, raw_commits_pg, raw_commits_sqlite};

/// Which databases a suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backends {
    /// `SQLite` only.
    Sqlite,
    /// `PostgreSQL` only.
    Postgres,
    /// Both, one after the other.
    Both,
}

impl Backends {
    fn list(self) -> &'static [Backend] {
        match self {
            Self::Sqlite => &[Backend::Sqlite],
            Self::Postgres => &[Backend::Postgres],
            Self::Both => &[Backend::Sqlite, Backend::Postgres],
        }
    }
}

/// One database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `SQLite` in the data directory.
    Sqlite,
    /// A throwaway database on a `PostgreSQL` server.
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// A `legion serve` child process, killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
}

impl ServerProcess {
    /// Starts this executable as `legion serve` on `data_dir` (and `db`, if given) on a free
    /// port, and waits until it says where it listens.
    pub fn start(data_dir: &Path, db: Option<&str>) -> Result<Self> {
        let exe = std::env::current_exe().context("finding the legion executable")?;
        let mut command = Command::new(exe);
        command
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0"])
            .env("LEGION_LOG", "info,sqlx=warn")
            .env_remove("LEGION_DB")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(db) = db {
            command.args(["--db", db]);
        }
        let mut child = command.spawn().context("starting legion serve")?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut said = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !said && let Some(rest) = line.split("Legion listening on ").nth(1) {
                    let url = rest.split_whitespace().next().unwrap_or_default().to_owned();
                    let _ = tx.send(Ok(url));
                    said = true;
                } else if !said && (line.contains("ERROR") || line.starts_with("error: ")) {
                    let _ = tx.send(Err(line));
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_mins(2)) {
            Ok(Ok(url)) => url,
            Ok(Err(line)) => bail!("legion serve failed: {line}"),
            Err(_) => bail!("legion serve did not say where it listens"),
        };
        Ok(Self { child, url })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The most memory the process has held (`VmHWM`), in MiB.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the volunteers of March 2022 lived: US 31 %, UK 18 %, DE 6.8 %, CA 4.7 %, and a
/// long tail (the demo's missions cover these; everyone else applies at a regional mission).
const RESIDENCE: &[(&str, f64)] = &[
    ("US", 0.31),
    ("GB", 0.18),
    ("DE", 0.068),
    ("CA", 0.047),
    ("PL", 0.06),
    ("IE", 0.03),
    ("AT", 0.025),
    ("CH", 0.02),
    ("LT", 0.03),
    ("LV", 0.02),
    ("EE", 0.02),
    ("GE", 0.07),
    ("AM", 0.02),
    ("AZ", 0.01),
    ("JP", 0.05),
    ("KR", 0.04),
];

/// Nationalities: 52 countries volunteers came from.
const NATIONALITIES: &[&str] = &[
    "US", "GB", "DE", "CA", "PL", "IE", "AT", "CH", "LT", "LV", "EE", "GE", "AM", "AZ", "JP", "KR", "FR", "ES", "IT",
    "PT", "NL", "BE", "DK", "SE", "NO", "FI", "CZ", "SK", "HU", "RO", "BG", "HR", "SI", "RS", "GR", "IL", "JO", "BY",
    "MD", "AU", "NZ", "BR", "AR", "CO", "MX", "CL", "IN", "TR", "KZ", "ZA", "NG", "PH",
];

/// Names as printed in passports, with the original script where it is not Latin.
const NAMES: &[(&str, &str, Option<&str>)] = &[
    ("John", "Miller", None),
    ("Emily", "Davis", None),
    ("Lukas", "Müller", None),
    ("Siobhan", "O'Connor", None),
    ("Giorgi", "Beridze", Some("გიორგი ბერიძე")),
    ("Aram", "Petrosyan", Some("Արամ Պետրոսյան")),
    ("Takeshi", "Yamamoto", Some("山本 武")),
    ("Minjun", "Kim", Some("김민준")),
    ("Nikolaos", "Papadopoulos", Some("Νικόλαος Παπαδόπουλος")),
    ("David", "Levi", Some("דוד לוי")),
    ("Omar", "Haddad", Some("عمر حداد")),
    ("Aliaksandr", "Kavaliou", Some("Аляксандр Кавалёў")),
    ("Dmitrijs", "Ivanovs", Some("Дмитрий Иванов")),
    ("Arjun", "Sharma", Some("अर्जुन शर्मा")),
    ("Yuki", "Tanaka", Some("たなか ゆき")),
    ("Wei", "Zhang", Some("张伟")),
    ("Jan", "Kowalski", None),
    ("Mateo", "Fernández", None),
];

/// A realistic application, different for every `n` (name, script, nationality, residence,
/// dates, passport number); the same `n` gives the same body.
pub fn application(n: u64) -> serde_json::Value {
    let mut rng = StdRng::seed_from_u64(n);
    let (given, family, native) = NAMES[rng.gen_range(0..NAMES.len())];
    let nationality = NATIONALITIES[rng.gen_range(0..NATIONALITIES.len())];
    let mut x: f64 = rng.r#gen::<f64>() * RESIDENCE.iter().map(|(_, w)| w).sum::<f64>();
    let mut residence = RESIDENCE[0].0;
    for (country, weight) in RESIDENCE {
        if x < *weight {
            residence = country;
            break;
        }
        x -= weight;
    }
    serde_json::json!({
        "given_names": given,
        "family_name": family,
        "native_name": native,
        "date_of_birth": format!("19{:02}-{:02}-{:02}", rng.gen_range(60..=99), rng.gen_range(1..=12), rng.gen_range(1..=28)),
        "nationality": nationality,
        "country_of_residence": residence,
        "passport_number": format!("{}{:08}", (b'A' + u8::try_from(n % 26).unwrap_or(0)) as char, n % 100_000_000),
        "passport_expiry": "2031-01-01",
        "email": format!("volunteer{n}@example.org"),
        "phone": "+1 202 555 0100",
        "military_experience": [{"country": nationality, "branch": "Army", "from": "2010-01", "to": "2016-06-30", "role": "Infantry"}],
        "languages": ["English"],
        "travel": {"departure_country": "PL", "departure_city": "Rzeszów", "earliest_date": "2031-01-01", "group_travel": rng.gen_bool(0.2)},
        "declarations": {"no_criminal_record": true, "consent_background_check": true}
    })
}

/// A data directory, and a throwaway PostgreSQL database for the PostgreSQL runs.
struct BenchDb {
    dir: tempfile::TempDir,
    pg: Option<PgDatabase>,
}

impl BenchDb {
    async fn create(backend: Backend, pg_url: &str) -> Result<Self> {
        let pg = match backend {
            Backend::Postgres => Some(PgDatabase::create(pg_url).await?),
            Backend::Sqlite => None,
        };
        Ok(Self { dir: tempfile::tempdir()?, pg })
    }

    fn args(&self) -> crate::DbArgs {
        let mut args = crate::DbArgs::in_dir(self.dir.path());
        args.db = self.pg.as_ref().map(|p| p.url.clone());
        args
    }

    fn serve(&self) -> Result<ServerProcess> {
        ServerProcess::start(self.dir.path(), self.pg.as_ref().map(|p| p.url.as_str()))
    }

    async fn drop_now(self) {
        if let Some(pg) = self.pg {
            pg.drop_now().await;
        }
    }
}

/// Creates the data directory's keys and database, with the demo's missions in it.
async fn prepare(args: &crate::DbArgs) -> Result<()> {
    let store = args.open().await?;
    crate::demo::put_missions(store.as_ref(), &SystemClock).await
}

/// What a load run saw.
struct Load {
    ok: u64,
    errors: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// `clients` tasks submitting distinct applications (each with its own idempotency key) for
/// `seconds`, after `warm_up` seconds of the same load that are not counted.
async fn load(url: &str, clients: usize, warm_up: u64, seconds: u64, first: u64) -> Result<Load> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
    let submit = format!("{url}/api/v1/applications");
    let next = Arc::new(AtomicU64::new(first));
    let begin = Instant::now();
    let measure_from = begin + Duration::from_secs(warm_up);
    let end = measure_from + Duration::from_secs(seconds);
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (http, submit, next) = (http.clone(), submit.clone(), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut latencies) = (0u64, 0u64, Vec::new());
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let body = serde_json::to_vec(&application(n)).unwrap_or_default();
                let started = Instant::now();
                if started >= end {
                    break;
                }
                let answer = http
                    .post(&submit)
                    .header("content-type", "application/json")
                    .header("idempotency-key", format!("bench-intake-{n:016x}"))
                    .body(body)
                    .send()
                    .await;
                let good = matches!(&answer, Ok(r) if r.status() == reqwest::StatusCode::CREATED);
                if let Ok(r) = answer {
                    let _ = r.bytes().await;
                }
                if started >= measure_from {
                    latencies.push(started.elapsed());
                    if good {
                        ok += 1;
                    } else {
                        errors += 1;
                    }
                }
            }
            (ok, errors, latencies)
        }));
    }
    let mut result = Load { ok: 0, errors: 0, elapsed: Duration::ZERO, latencies: Vec::new() };
    for task in tasks {
        let (ok, errors, latencies) = task.await?;
        result.ok += ok;
        result.errors += errors;
        result.latencies.extend(latencies);
    }
    result.elapsed = Instant::now().saturating_duration_since(measure_from);
    Ok(result)
}

/// The `intake` suite.
pub async fn intake(backends: Backends, pg_url: &str, clients: usize, seconds: u64) -> Result<()> {
    println!("## Intake\n");
    println!(
        "`legion bench intake --clients {clients} --seconds {seconds}`: a `legion serve` process with its \
         defaults (SQLite `synchronous=FULL`; PostgreSQL `synchronous_commit=on`), and {clients} clients in \
         this process submitting distinct applications (names in 18 scripts and spellings, 52 nationalities, \
         the March 2022 mix of residence) over HTTP/1.1 keep-alive, each with its own `Idempotency-Key`. \
         2 s of warm-up are not counted. The screening worker runs meanwhile; once the load stops, the bench \
         watches it work through the rest (for at most {} s). Raw: one client committing one bare 2 KB row per \
         transaction to the same database, measured just before.\n",
        SCREENING_WATCH.as_secs()
    );
    println!(
        "| database | submissions/s | raw commits/s | ratio | p50 | p99 | p99.9 | errors | server peak RSS \
         | screened during the load | screened/s after it |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for &backend in backends.list() {
        let db = BenchDb::create(backend, pg_url).await?;
        let raw = match &db.pg {
            Some(pg) => raw_commits_pg(&pg.url, 5).await?,
            None => raw_commits_sqlite(db.dir.path(), 5).await?,
        };
        prepare(&db.args()).await?;
        let server = db.serve()?;
        let mut run = load(&server.url, clients, 2, seconds, 0).await?;
        let rss = server.peak_rss_mib();
        let screening = screening_after(&db.args()).await?;
        drop(server);
        let throughput = rate(run.ok, run.elapsed);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "| {} | {:.0} | {:.0} | {:.2} | {:.1} ms | {:.1} ms | {:.1} ms | {} | {} | {} of {} | {} |",
            backend.name(),
            throughput,
            raw,
            throughput / raw,
            ms(percentile(&mut run.latencies, 0.5)),
            ms(percentile(&mut run.latencies, 0.99)),
            ms(percentile(&mut run.latencies, 0.999)),
            run.errors,
            rss.map_or_else(|| "?".into(), |r| format!("{r:.0} MiB")),
            screening.during,
            screening.submitted,
            screening.rate_after.map_or_else(|| "none left".into(), |r| format!("{r:.0}")),
        );
        db.drop_now().await;
    }
    println!();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Queue
// ---------------------------------------------------------------------------------------

/// The password of the bench's officer account.
const OFFICER_PASSWORD: &str = "bench-officer-password-1";

/// Loads `applications` applications straight into the store (sealed and audited, in batches
/// of 1000, submitted over the last ten days), then spreads their states as a mission's
/// queue has them. Returns the ids of the Washington mission's cases.
async fn fill(args: &crate::DbArgs, applications: u64) -> Result<Vec<legion_domain::ApplicationId>> {
    use legion_domain::{ApplicantDetails, ApplicationId, Clock, Reference, route};
    use legion_store::{AuditEvent, NewApplication};

    let store = args.open().await?;
    crate::demo::put_missions(store.as_ref(), &SystemClock).await?;
    let state = crate::state_for(args, Arc::clone(&store), legion_web::WebConfig::default())?;
    let missions = store.missions().await.map_err(|e| anyhow!("{e}"))?;
    let now = SystemClock.now();
    let policy =
        state.policies.in_force(now.date_naive()).ok_or_else(|| anyhow!("no policy in force"))?.version.clone();
    let mut rng = StdRng::seed_from_u64(7);
    let mut washington = Vec::new();
    let started = Instant::now();
    let mut n = 0;
    while n < applications {
        let mut batch = Vec::with_capacity(1000);
        for _ in 0..1000.min(applications - n) {
            let details = ApplicantDetails::parse(&application(n), now.date_naive())
                .map_err(|e| anyhow!("generated application {n} is invalid: {e:?}"))?;
            let mission = route(details.country_of_residence, &missions).ok_or_else(|| anyhow!("no mission"))?;
            // Submitted one after another over the last ten days, as they would have been.
            let offset = i64::try_from(n * 864_000_000 / applications.max(1)).unwrap_or(0);
            let submitted_at = now - chrono::Duration::milliseconds(864_000_000 - offset);
            let id = ApplicationId::time_ordered(submitted_at, rng.r#gen());
            if mission.id.as_str() == "us-washington" {
                washington.push(id);
            }
            let app = NewApplication {
                id,
                reference: Reference::from_random(rng.r#gen::<u64>() & ((1 << 40) - 1)),
                mission: mission.id.clone(),
                access_hash: legion_web::auth::secret_hash(&format!("{:x}", rng.r#gen::<u128>())),
                passport_index: legion_web::service::passport_index(&state, &details),
                email_index: legion_web::service::email_index(&state, &details.email),
                idempotency: None,
                details,
                submitted_at,
                policy_version: policy.clone(),
            };
            let audit = AuditEvent {
                at: submitted_at,
                actor: "applicant".into(),
                role: "applicant".into(),
                mission: Some(mission.id.to_string()),
                action: "application.submit".into(),
                object: format!("application:{id}"),
                outcome: "ok".into(),
            };
            batch.push((app, audit));
            n += 1;
        }
        // A reference drawn twice (1 in a million per pair) fails only its own row: dropped.
        store.insert_applications(&batch).await.map_err(|e| anyhow!("{e}"))?;
        if n % 100_000 == 0 {
            eprintln!("loaded {n} applications in {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    // A working queue: most cases wait for the mission, the rest are spread over the
    // lifecycle. Set in one statement (not through the use cases, so the audit log of this
    // bench database does not describe these rows).
    let spread = "UPDATE applications SET state = CASE abs(random()) % 20 \
         WHEN 0 THEN 'vetting_hold' WHEN 1 THEN 'info_requested' WHEN 2 THEN 'interview_scheduled' \
         WHEN 3 THEN 'interviewed' WHEN 4 THEN 'recommended' WHEN 5 THEN 'approved' WHEN 6 THEN 'rejected' \
         WHEN 7 THEN 'authorised' WHEN 8 THEN 'withdrawn' ELSE 'mission_review' END";
    let url = args.url();
    if url.starts_with("sqlite:") {
        let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await?;
        sqlx::Executor::execute(&mut c, spread).await?;
    } else {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await?;
        sqlx::Executor::execute(
            &mut c,
            sqlx::AssertSqlSafe(spread.replace("abs(random()) % 20", "floor(random() * 20)::int")),
        )
        .await?;
        sqlx::Executor::execute(&mut c, "VACUUM ANALYZE applications").await?;
    }
    let body = legion_web::admin_api::NewStaffBody {
        username: "officer.bench".into(),
        display_name: "Bench officer".into(),
        password: OFFICER_PASSWORD.into(),
        role: legion_domain::Role::MissionOfficer.to_string(),
        mission: Some("us-washington".into()),
    };
    let officer = legion_web::admin_api::new_staff(&state, body).await.map_err(|e| anyhow!("{e}"))?;
    let audit = crate::cli_audit(&SystemClock, "staff.create", format!("staff:{}", officer.id));
    store.create_staff(&officer, &audit).await.map_err(|e| anyhow!("{e}"))?;
    eprintln!("loaded {applications} applications in {:.0} s", started.elapsed().as_secs_f64());
    Ok(washington)
}

/// Makes the URL of the next request.
type UrlOf = Box<dyn FnMut() -> String>;

/// `requests` sequential GETs of the URLs `url_of` makes; their latencies.
async fn timed_gets(
    http: &reqwest::Client,
    requests: usize,
    mut url_of: impl FnMut() -> String,
) -> Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(requests);
    for _ in 0..requests {
        let url = url_of();
        let started = Instant::now();
        let r = http.get(&url).send().await?;
        let status = r.status();
        let _ = r.bytes().await?;
        latencies.push(started.elapsed());
        if !status.is_success() {
            bail!("GET {url} answered {status}");
        }
    }
    Ok(latencies)
}

/// The `queue` suite.
pub async fn queue(
    backends: Backends,
    pg_url: &str,
    applications: u64,
    requests: usize,
    watchlist_people: usize,
    data: &Path,
) -> Result<()> {
    println!("## Staff pages with {applications} applications\n");
    println!(
        "`legion bench queue --applications {applications} --requests {requests}`: the applications are loaded \
         through the store (sealed, audited, spread over seven missions as in March 2022, so the Washington \
         mission holds about a third), then a `legion serve` process answers one signed-in mission officer \
         making {requests} sequential requests of each page (after 20 unmeasured ones): the first page of the \
         queue, the queue filtered by state, a page deep in the queue, and case pages of random cases (each \
         case read is audited, so that is a durable write too).\n"
    );
    println!("| database | page | p50 | p99 | max |");
    println!("|---|---|---|---|---|");
    for &backend in backends.list() {
        let db = BenchDb::create(backend, pg_url).await?;
        let cases = fill(&db.args(), applications).await?;
        let server = db.serve()?;
        let http = reqwest::Client::builder().cookie_store(true).build()?;
        sign_in_officer(&http, &server.url).await?;
        let base = server.url.clone();
        let mut rng = StdRng::seed_from_u64(11);
        let (first, one_state, deep) = (base.clone(), base.clone(), base.clone());
        let pages: [(&str, UrlOf); 4] = [
            ("queue, first page", Box::new(move || format!("{first}/staff/queue"))),
            ("queue, one state", Box::new(move || format!("{one_state}/staff/queue?state=vetting_hold"))),
            ("queue, page 200", Box::new(move || format!("{deep}/staff/queue?page=200"))),
            ("case page", Box::new(move || format!("{base}/staff/cases/{}", cases[rng.gen_range(0..cases.len())]))),
        ];
        for (name, mut path) in pages {
            timed_gets(&http, 20, &mut path).await?;
            let mut latencies = timed_gets(&http, requests, &mut path).await?;
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "| {} | {name} | {:.1} ms | {:.1} ms | {:.1} ms |",
                backend.name(),
                ms(percentile(&mut latencies, 0.5)),
                ms(percentile(&mut latencies, 0.99)),
                ms(percentile(&mut latencies, 1.0)),
            );
        }
        if let Some(rss) = server.peak_rss_mib() {
            println!("| {} | server peak RSS | {rss:.0} MiB | | |", backend.name());
        }
        drop(server);
        if watchlist_people > 0 {
            let with_lists = with_watchlist(&db, watchlist_people, data, &http).await?;
            println!("| {} | {with_lists} | | | |", backend.name());
        }
        db.drop_now().await;
    }
    println!();
    Ok(())
}

/// Signs the bench's mission officer in on `http` (which keeps the session cookie).
async fn sign_in_officer(http: &reqwest::Client, url: &str) -> Result<()> {
    http.post(format!("{url}/api/v1/session"))
        .json(&serde_json::json!({"username": "officer.bench", "password": OFFICER_PASSWORD}))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// Restarts the server of `db` with a synthetic watchlist of `people` and the known
/// spellings of the corpus under `data`, serves the queue for a while as its start-up
/// re-screening begins, and says what its memory peaked at.
async fn with_watchlist(db: &BenchDb, people: usize, data: &Path, http: &reqwest::Client) -> Result<String> {
    let lists = db.dir.path().join("watchlists");
    std::fs::create_dir_all(&lists)?;
    let started = Instant::now();
    let path = lists.join("synthetic.csv");
    let (data_owned, path_owned) = (data.to_owned(), path.clone());
    tokio::task::spawn_blocking(move || {
        crate::bench_screening::write_synthetic_watchlist(&data_owned, people, 2026, &path_owned)
    })
    .await??;
    let variants = data.join("names/name-variants.txt");
    std::fs::copy(&variants, db.dir.path().join("name-variants.txt"))
        .with_context(|| format!("cannot copy {}", variants.display()))?;
    eprintln!("watchlist of {people} written in {:.1} s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    let server = db.serve()?;
    let load = started.elapsed();
    sign_in_officer(http, &server.url).await?;
    // A minute of queue pages while the re-screening of open cases runs beside them.
    let first = server.url.clone();
    let mut path = move || format!("{first}/staff/queue");
    let until = Instant::now() + Duration::from_mins(1);
    let mut latencies = Vec::new();
    while Instant::now() < until {
        latencies.extend(timed_gets(http, 20, &mut path).await?);
    }
    let rss = server.peak_rss_mib().map_or_else(|| "n/a".to_owned(), |r| format!("{r:.0} MiB"));
    Ok(format!(
        "server peak RSS with a {people}-person watchlist and the known spellings (started in {:.0} s, then a \
         minute of queue pages during the start-up re-screening: p99 {:.1} ms) | {rss}",
        load.as_secs_f64(),
        percentile(&mut latencies, 0.99).as_secs_f64() * 1e3
    ))
}

// ---------------------------------------------------------------------------------------
// Surge
// ---------------------------------------------------------------------------------------

/// Seconds from the start of the surge at which each of `applications` applications arrives:
/// ten days (or the first `days` of them) shaped like March 2022, each day smaller than the
/// one before (the call went out on day one), and each day busiest in the evening of the
/// Americas and Europe.
fn surge_arrivals(applications: u64, days: u32, seed: u64) -> Vec<f64> {
    const DAY: f64 = 86_400.0;
    let weights: Vec<f64> = (0..10).map(|d| 0.8f64.powi(d)).collect();
    let total: f64 = weights.iter().sum();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut arrivals = Vec::new();
    for _ in 0..applications {
        // Which day: by the decaying weights.
        let mut x = rng.r#gen::<f64>() * total;
        let mut day = 0;
        while day < 9 && x >= weights[day] {
            x -= weights[day];
            day += 1;
        }
        // When in the day: twice as likely at 19:00 UTC as at 07:00 (rejection sampling).
        let second = loop {
            let s: f64 = rng.gen_range(0.0..DAY);
            let busy = 1.0 + 0.5 * ((s / DAY - 19.0 / 24.0) * std::f64::consts::TAU).cos();
            if rng.gen_range(0.0..1.5) < busy {
                break s;
            }
        };
        if day < days as usize {
            #[allow(clippy::cast_precision_loss, reason = "a day index")]
            arrivals.push(day as f64 * DAY + second);
        }
    }
    arrivals.sort_by(f64::total_cmp);
    arrivals
}

/// The `surge` suite.
pub async fn surge(backends: Backends, pg_url: &str, applications: u64, days: u32, speed: f64) -> Result<()> {
    let arrivals = surge_arrivals(applications, days, 2022);
    let span = arrivals.last().copied().unwrap_or_default() / speed;
    println!("## Surge\n");
    println!(
        "`legion bench surge --applications {applications} --days {days} --speed {speed}`: the March 2022 surge \
         ({applications} applications over ten days, each day 0.8× the one before, busiest at 19:00 UTC; \
         residence US 31 %, UK 18 %, DE 6.8 %, CA 4.7 %, long tail; 52 nationalities), the first {days} day(s) \
         ({} applications) replayed {speed}× faster than real time ({span:.0} s) over HTTP to a `legion serve` \
         process. Delay = from the server's receipt of the submission to the commit of its screening (passport \
         duplicates and policy gates), when the case is in its mission's queue or held for vetting; read from \
         the case histories afterwards.\n",
        arrivals.len()
    );
    println!("| database | mission | cases | delay p50 | delay p99 | delay max |");
    println!("|---|---|---|---|---|---|");
    for &backend in backends.list() {
        let db = BenchDb::create(backend, pg_url).await?;
        prepare(&db.args()).await?;
        let server = db.serve()?;
        let http = reqwest::Client::new();
        let submit = format!("{}/api/v1/applications", server.url);
        let start = tokio::time::Instant::now();
        let mut tasks = Vec::with_capacity(arrivals.len());
        for (n, at) in arrivals.iter().enumerate() {
            let due = start + Duration::from_secs_f64(at / speed);
            let (http, submit) = (http.clone(), submit.clone());
            let n = n as u64;
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep_until(due).await;
                let r = http
                    .post(&submit)
                    .header("idempotency-key", format!("bench-surge-{n:016x}"))
                    .json(&application(1_000_000 + n))
                    .send()
                    .await;
                matches!(r, Ok(r) if r.status() == reqwest::StatusCode::CREATED)
            }));
        }
        let mut errors = 0;
        for t in tasks {
            if !t.await? {
                errors += 1;
            }
        }
        // Wait until every case is screened (the worker finishes what arrived last).
        let delays = loop {
            let delays = screening_delays(&db.args()).await?;
            let screened: usize = delays.values().map(Vec::len).sum();
            if screened + errors >= arrivals.len() {
                break delays;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        drop(server);
        let mut all = Vec::new();
        for (mission, mut d) in delays {
            all.extend_from_slice(&d);
            println!(
                "| {} | {mission} | {} | {:.0} ms | {:.0} ms | {:.0} ms |",
                backend.name(),
                d.len(),
                percentile(&mut d, 0.5).as_secs_f64() * 1e3,
                percentile(&mut d, 0.99).as_secs_f64() * 1e3,
                percentile(&mut d, 1.0).as_secs_f64() * 1e3
            );
        }
        println!(
            "| {} | **all** ({errors} errors) | {} | {:.0} ms | {:.0} ms | {:.0} ms |",
            backend.name(),
            all.len(),
            percentile(&mut all, 0.5).as_secs_f64() * 1e3,
            percentile(&mut all, 0.99).as_secs_f64() * 1e3,
            percentile(&mut all, 1.0).as_secs_f64() * 1e3
        );
        db.drop_now().await;
    }
    println!();
    Ok(())
}

/// How screening kept up with an intake run.
struct ScreeningProgress {
    /// Applications stored by the end of the load.
    submitted: i64,
    /// Of those, screened by the end of the load.
    during: i64,
    /// Cases screened per second once the load stopped, until none was left (or for at most
    /// `SCREENING_WATCH`); none if nothing was left when the load stopped.
    rate_after: Option<f64>,
}

/// How long the intake bench watches screening catch up after the load.
const SCREENING_WATCH: Duration = Duration::from_mins(2);

/// Counts what screening did during the load just ended, then watches it work through the
/// rest: applications submitted and cases screened, once a second.
async fn screening_after(args: &crate::DbArgs) -> Result<ScreeningProgress> {
    const SQL: &str = "SELECT (SELECT COUNT(*) FROM applications), \
         (SELECT COUNT(*) FROM application_history WHERE command = 'complete_screening')";
    async fn counts(url: &str) -> Result<(i64, i64)> {
        Ok(if url.starts_with("sqlite:") {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(url).await?;
            sqlx::query_as(SQL).fetch_one(&mut c).await?
        } else {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(url).await?;
            sqlx::query_as(SQL).fetch_one(&mut c).await?
        })
    }
    let url = args.url();
    let started = Instant::now();
    let (submitted, during) = counts(&url).await?;
    let mut screened = during;
    while screened < submitted && started.elapsed() < SCREENING_WATCH {
        tokio::time::sleep(Duration::from_secs(1)).await;
        screened = counts(&url).await?.1;
    }
    #[allow(clippy::cast_precision_loss, reason = "counts of a bench run")]
    let rate_after = (during < submitted).then(|| (screened - during) as f64 / started.elapsed().as_secs_f64());
    Ok(ScreeningProgress { submitted, during, rate_after })
}

/// Per mission, how long each screened case waited from receipt to screened.
async fn screening_delays(args: &crate::DbArgs) -> Result<std::collections::BTreeMap<String, Vec<Duration>>> {
    const SQL: &str = "SELECT a.mission_id, h.at - a.submitted_at FROM applications a \
         JOIN application_history h ON h.application_id = a.id WHERE h.command = 'complete_screening'";
    let url = args.url();
    let rows: Vec<(String, i64)> = if url.starts_with("sqlite:") {
        let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await?;
        sqlx::query_as(SQL).fetch_all(&mut c).await?
    } else {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await?;
        sqlx::query_as(SQL).fetch_all(&mut c).await?
    };
    let mut delays = std::collections::BTreeMap::<String, Vec<Duration>>::new();
    for (mission, ms) in rows {
        delays.entry(mission).or_default().push(Duration::from_millis(u64::try_from(ms).unwrap_or(0)));
    }
    Ok(delays)
}
