//! Two `legion serve` processes on one PostgreSQL database, as behind a load balancer.
//!
//! Both servers share the data directory's keys and one throwaway database. The test proves:
//!
//! 1. Submissions sent to both servers at once by several clients, each with its own
//!    `Idempotency-Key`, are all acknowledged with 201 and each stored exactly once. Some pairs
//!    share a passport number, one half of each pair sent to each server.
//! 2. Background screening, which both servers run over the same queue, ran exactly once per
//!    case: every case has one `case.begin_screening` and one `case.complete_screening` audit
//!    event and exactly three history rows (submit, begin, complete); each server completed
//!    exactly the cases it claimed (its own metrics), never one another server was screening;
//!    and of each pair sharing a passport, at least one case was held with a flag naming the
//!    other, while no other case was flagged.
//! 3. Two decisions on one case sent through both servers at the same moment never both win:
//!    one answers 200, the other 409, and the case's history and audit log hold one decision.
//!    The staff member signs in on one server and acts on both: sessions live in the database.
//! 4. The same `Idempotency-Key` and body sent to both servers at once answer 201 with the same
//!    case, and one application is stored.
//! 5. Both servers sign audit checkpoints of the shared log; no tree size is stored twice, and
//!    `legion audit verify` passes over the log and every stored checkpoint, while the servers
//!    run and after they stop. Two signers of the same size at once store one note, and the
//!    other's note verifies too.
//!
//! Which server screens which case is up to scheduling, so the test does not require both to
//! have screened some. PostgreSQL is required (`LEGION_TEST_PG_URL`, by default
//! `postgres://postgres@127.0.0.1:5432/test`): without it the test fails rather than skips.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Connection;

const PASSWORD: &str = "a long enough password";
/// Submissions in step 1, and the clients sending them.
const SUBMISSIONS: usize = 200;
const CLIENTS: usize = 8;
/// Every `PAIR_EVERY`-th submission shares its passport number with the next one.
const PAIR_EVERY: usize = 10;
/// Idempotency keys each sent to both servers at once (step 4).
const SAME_KEY: usize = 10;
/// Cases decided through both servers at once (step 3).
const RACED: usize = 20;

/// A throwaway PostgreSQL database, dropped when the test ends however it ends.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    fn create() -> Self {
        let admin =
            std::env::var("LEGION_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!("legion_two_servers_{}", std::process::id());
        let ran = admin_sql(&admin, &[format!("DROP DATABASE IF EXISTS {name}"), format!("CREATE DATABASE {name}")]);
        if let Err(e) = ran {
            panic!("PostgreSQL is required at {admin} ({e}); set LEGION_TEST_PG_URL");
        }
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        Self { admin, name, url }
    }

    /// A connection to the database, in the caller's runtime.
    async fn connect(&self) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(&self.url).await.unwrap()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = admin_sql(&self.admin, &[format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)]);
    }
}

/// Runs `statements` on the administrative connection, outside any runtime of the test's.
fn admin_sql(admin: &str, statements: &[String]) -> Result<(), sqlx::Error> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(admin).await?;
        for sql in statements {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone())).execute(&mut conn).await?;
        }
        conn.close().await
    })
}

/// `legion` with the shared data directory and database, and nothing from the environment.
fn legion(dir: &Path, db: &Database) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_legion"));
    c.current_dir(dir)
        .env_remove("LEGION_DB")
        .env_remove("LEGION_DATA_DIR")
        .env_remove("LEGION_DOCUMENTS")
        .env("LEGION_DB", &db.url)
        .env("LEGION_DATA_DIR", dir.join("data"))
        .env("LEGION_LOG", "warn")
        .env("NO_COLOR", "1");
    c
}

/// Runs `legion ARGS`; returns stdout, failing the test if it fails.
fn run_ok(dir: &Path, db: &Database, args: &[&str]) -> String {
    let out = legion(dir, db).args(args).env("LEGION_PASSWORD", PASSWORD).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "legion {args:?} failed: {stdout}{stderr}");
    stdout.into_owned()
}

/// A running `legion serve`, killed when dropped; what it logged is shown if the test fails.
struct Server {
    name: &'static str,
    child: Child,
    log: Arc<Mutex<String>>,
    url: String,
}

impl Server {
    /// Starts `legion serve` on port 0 and waits for the line that says where it listens.
    fn start(name: &'static str, dir: &Path, db: &Database) -> Self {
        let mut child = legion(dir, db)
            // The checkpointer says at debug which sizes it signed.
            .env("LEGION_LOG", "info,sqlx=warn,legion_web::checkpoints=debug")
            .args(["serve", "--db", &db.url, "--data-dir"])
            .arg(dir.join("data"))
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Reads to the end, so that the server never blocks on a full pipe.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
                drop(log);
                if let Some(rest) = line.split("Legion listening on ").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_mins(2)).unwrap_or_else(|_| {
            panic!("server {name} said where it listens: {}", log.lock().unwrap());
        });
        Self { name, child, log, url }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The checkpoints this server says it signed: (tree size, whether it stored it).
    fn signed_checkpoints(&self) -> Vec<(u64, bool)> {
        self.log()
            .lines()
            .filter(|l| l.contains("audit checkpoint signed"))
            .map(|l| {
                let field = |name: &str| {
                    l.split(&format!("{name}=")).nth(1).and_then(|r| r.split_whitespace().next()).unwrap_or_default()
                };
                let size = field("size").parse().unwrap_or_else(|_| panic!("a size in {l:?}"));
                match field("outcome") {
                    "Stored" => (size, true),
                    "Exists" => (size, false),
                    other => panic!("unknown checkpoint outcome {other:?} in {l:?}"),
                }
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- server {} logged ---\n{}", self.name, self.log());
        }
    }
}

/// Passport numbers: submission `n` shares one with `n - 1` when `n - 1` starts a pair.
fn passport_of(n: usize) -> usize {
    if n < SUBMISSIONS && n % PAIR_EVERY == 1 { n - 1 } else { n }
}

/// The pairs of submissions sharing a passport number.
fn pairs() -> Vec<(usize, usize)> {
    (0..SUBMISSIONS).step_by(PAIR_EVERY).map(|n| (n, n + 1)).collect()
}

/// Given and family names combined into one applicant per submission: two submissions share
/// at most one of them, so screening takes none for the same person applying twice.
const GIVEN: [&str; 16] = [
    "Oliver", "Amelia", "Lukas", "Sofia", "Mateusz", "Erik", "Noah", "Isabel", "Tomas", "Hannah", "Pieter", "Aiko",
    "Liam", "Freya", "Dmitri", "Grace",
];
const FAMILY: [&str; 16] = [
    "Bennett",
    "Clarke",
    "Hoffmann",
    "Kowalczyk",
    "Zielinski",
    "Lindqvist",
    "Fitzgerald",
    "Moreno",
    "Novak",
    "Okafor",
    "Tanaka",
    "Gallagher",
    "Johansen",
    "Petrauskas",
    "Dubois",
    "Horvath",
];

/// One application from the UK; `n` makes its applicant (and, but for pairs, its passport)
/// its own.
fn application(n: usize) -> Value {
    assert!(n < GIVEN.len() * FAMILY.len(), "more submissions than distinct applicants");
    json!({
        "given_names": GIVEN[n % GIVEN.len()], "family_name": FAMILY[n / GIVEN.len()], "date_of_birth": "1988-03-04",
        "nationality": "GB", "country_of_residence": "GB", "passport_number": format!("TS{:07}", 1_000_000 + passport_of(n)),
        "passport_expiry": "2036-01-01", "email": "two.servers@example.net", "languages": ["English"],
        "travel": {"departure_country": "PL", "departure_city": "Lviv", "earliest_date": "2036-01-01", "group_travel": false},
        "declarations": {"no_criminal_record": true, "consent_background_check": true}
    })
}

/// Sends a request; returns the status and the body, as JSON when it is JSON.
async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let r = request.send().await.expect("the server answers");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn submit(client: &reqwest::Client, base: &str, body: &Value, key: &str) -> (u16, Value) {
    send(client.post(format!("{base}/api/v1/applications")).header("Idempotency-Key", key).json(body)).await
}

/// What a 201 acknowledged: id, reference, access code.
fn acknowledged(status: u16, body: &Value, what: &str) -> (String, String, String) {
    assert_eq!(status, 201, "{what}: {body}");
    assert_eq!(body["mission"], "gb-london", "{what}: {body}");
    let field = |name: &str| body[name].as_str().unwrap_or_else(|| panic!("{what}: {name} in {body}")).to_owned();
    (field("id"), field("reference"), field("access_code"))
}

/// Signs `username` in through `base`; returns the session cookie.
async fn sign_in(client: &reqwest::Client, base: &str, username: &str) -> String {
    let r = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{username} signs in");
    let set = r.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// A counter of the server's Prometheus exposition (0 when it has not been counted yet).
async fn counter(client: &reqwest::Client, base: &str, series: &str) -> u64 {
    let (status, text) = send(client.get(format!("{base}/metrics"))).await;
    assert_eq!(status, 200);
    let text = text.as_str().unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .map_or(0, |v| v.trim().parse().unwrap_or_else(|_| panic!("{series} is a count: {v}")))
}

/// Every case of the officer's queue: id → (state, number of flags).
async fn queue(client: &reqwest::Client, base: &str, cookie: &str) -> BTreeMap<String, (String, u64)> {
    let mut all = BTreeMap::new();
    loop {
        let url = format!("{base}/api/v1/cases?limit=200&offset={}", all.len());
        let (status, page) = send(client.get(url).header("cookie", cookie)).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        for c in items {
            let id = c["id"].as_str().unwrap().to_owned();
            all.insert(id, (c["state"].as_str().unwrap().to_owned(), c["flags"].as_u64().unwrap()));
        }
        if items.is_empty() || all.len() >= usize::try_from(page["total"].as_u64().unwrap()).unwrap() {
            return all;
        }
    }
}

/// Two decisions on one case, sent through A and B at the same moment.
#[derive(Debug, Clone, Copy)]
enum Race {
    /// The same recommendation through both.
    Same,
    /// A asks for information, B schedules an interview.
    Different,
}

impl Race {
    fn requests(self) -> [(&'static str, Value); 2] {
        let recommend = ("recommend", json!({"recommendation": "reject", "reason": "the two servers race"}));
        match self {
            Race::Same => [recommend.clone(), recommend],
            Race::Different => [
                ("request-info", json!({"message": "Please send your passport scan."})),
                ("schedule-interview", json!({"at": "2036-02-01T10:00:00Z", "place": "Embassy, room 2"})),
            ],
        }
    }
}

#[test]
#[allow(clippy::too_many_lines, reason = "one story, told in order")]
fn two_servers_share_one_postgres_database_without_doing_anything_twice() {
    let db = Database::create();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    run_ok(
        dir,
        &db,
        &["missions", "add", "--id", "gb-london", "--name", "Embassy", "--country", "GB", "--covers", "GB"],
    );
    run_ok(
        dir,
        &db,
        &["users", "add", "--username", "officer.gb", "--role", "mission_officer", "--mission", "gb-london"],
    );
    // B starts once A listens: by then the keys exist and the database is migrated.
    let a = Server::start("A", dir, &db);
    let b = Server::start("B", dir, &db);
    let bases = [a.url.clone(), b.url.clone()];

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();

        // 1. Submissions through both servers at once, each with its own key.
        let mut tasks = Vec::new();
        for c in 0..CLIENTS {
            let (client, bases) = (client.clone(), bases.clone());
            tasks.push(tokio::spawn(async move {
                let mut answers = Vec::new();
                for n in (c..SUBMISSIONS).step_by(CLIENTS) {
                    let (status, body) =
                        submit(&client, &bases[n % 2], &application(n), &format!("two-servers-key-{n:04}")).await;
                    answers.push((n, acknowledged(status, &body, &format!("submission {n}"))));
                }
                answers
            }));
        }
        let mut submitted: BTreeMap<usize, (String, String, String)> = BTreeMap::new();
        for t in tasks {
            submitted.extend(t.await.unwrap());
        }
        assert_eq!(submitted.len(), SUBMISSIONS);
        let ids: BTreeSet<&str> = submitted.values().map(|(id, ..)| id.as_str()).collect();
        let references: BTreeSet<&str> = submitted.values().map(|(_, r, _)| r.as_str()).collect();
        assert_eq!((ids.len(), references.len()), (SUBMISSIONS, SUBMISSIONS), "every submission is its own case");

        // 4. One key and body sent to both servers at once: one case, the same answer twice.
        let mut tasks = Vec::new();
        for k in 0..SAME_KEY {
            let (client, bases) = (client.clone(), bases.clone());
            tasks.push(tokio::spawn(async move {
                let body = application(SUBMISSIONS + k);
                let key = format!("two-servers-same-key-{k:02}");
                let (to_a, to_b) =
                    tokio::join!(submit(&client, &bases[0], &body, &key), submit(&client, &bases[1], &body, &key));
                let from_a = acknowledged(to_a.0, &to_a.1, &format!("{key} through A"));
                let from_b = acknowledged(to_b.0, &to_b.1, &format!("{key} through B"));
                assert_eq!(from_a, from_b, "{key}: both servers answer with the same case and access code");
                from_a
            }));
        }
        let mut same_key = Vec::new();
        for t in tasks {
            same_key.push(t.await.unwrap());
        }
        let all_ids: BTreeSet<String> =
            submitted.values().chain(&same_key).map(|(id, ..)| id.clone()).collect();
        assert_eq!(all_ids.len(), SUBMISSIONS + SAME_KEY);

        // 2. Screening: wait until no case waits for it, then check it ran once per case.
        let mut pg = db.connect().await;
        let mut waiting = i64::MAX;
        for _ in 0..600 {
            waiting = sqlx::query_scalar("SELECT COUNT(*) FROM applications WHERE state IN ('submitted', 'screening')")
                .fetch_one(&mut pg)
                .await
                .unwrap();
            if waiting == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(waiting, 0, "every case was screened");
        let stored: BTreeSet<String> =
            sqlx::query_scalar("SELECT id FROM applications").fetch_all(&mut pg).await.unwrap().into_iter().collect();
        assert_eq!(stored, all_ids, "exactly the acknowledged cases are stored, each once");
        let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM idempotency_keys").fetch_one(&mut pg).await.unwrap();
        assert_eq!(keys, i64::try_from(SUBMISSIONS + SAME_KEY).unwrap(), "one idempotency key per case");
        let histories: Vec<(String, String)> = sqlx::query_as(
            "SELECT application_id, string_agg(command, ',' ORDER BY seq) FROM application_history \
             GROUP BY application_id",
        )
        .fetch_all(&mut pg)
        .await
        .unwrap();
        assert_eq!(histories.len(), all_ids.len());
        for (id, commands) in &histories {
            assert_eq!(commands, "submit,begin_screening,complete_screening", "the history of {id}");
        }
        let trails: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT object, string_agg(action, ',' ORDER BY seq), string_agg(actor, ',' ORDER BY seq) \
             FROM audit_events WHERE action IN ('application.submit', 'case.begin_screening', 'case.complete_screening') \
             GROUP BY object",
        )
        .fetch_all(&mut pg)
        .await
        .unwrap();
        assert_eq!(trails.len(), all_ids.len());
        for (object, actions, actors) in &trails {
            let id = object.strip_prefix("application:").unwrap_or_else(|| panic!("{object}"));
            assert!(all_ids.contains(id), "{object}");
            assert_eq!(actions, "application.submit,case.begin_screening,case.complete_screening", "{object}");
            assert_eq!(actors, "applicant,system,system", "{object}");
        }
        // Each server counts the screening transitions it stored. A server completing a case
        // another claimed (and is still screening) would break the per-server equality.
        let mut screened = Vec::new();
        for (name, base) in ["A", "B"].into_iter().zip(&bases) {
            let begun = counter(&client, base, "legion_transitions_total{command=\"begin_screening\"}").await;
            let completed = counter(&client, base, "legion_transitions_total{command=\"complete_screening\"}").await;
            assert_eq!(begun, completed, "server {name} completed exactly the cases it claimed");
            screened.push(completed);
        }
        eprintln!("screened by A: {}, by B: {}", screened[0], screened[1]);
        assert_eq!(usize::try_from(screened.iter().sum::<u64>()).unwrap(), all_ids.len(), "each case screened once");
        let mut accepted = 0;
        let mut replayed = 0;
        for base in &bases {
            accepted += counter(&client, base, "legion_applications_submitted_total").await;
            replayed += counter(&client, base, "legion_applications_replayed_total").await;
        }
        assert_eq!((accepted, replayed), (u64::try_from(all_ids.len()).unwrap(), u64::try_from(SAME_KEY).unwrap()));

        // What screening found: of each pair sharing a passport, at least one case (the one
        // screened second, which sees the other) is held with a flag naming the other.
        // Signed in on A, the officer reads through B too: sessions are in the database.
        let cookie = sign_in(&client, &bases[0], "officer.gb").await;
        let cases = queue(&client, &bases[1], &cookie).await;
        assert_eq!(cases.keys().cloned().collect::<BTreeSet<_>>(), all_ids);
        let paired: BTreeSet<usize> = pairs().into_iter().flat_map(|(x, y)| [x, y]).collect();
        for (n, (id, ..)) in &submitted {
            if !paired.contains(n) {
                assert_eq!(cases[id], ("mission_review".to_owned(), 0), "submission {n} has nothing to flag");
            }
        }
        for (id, ..) in &same_key {
            assert_eq!(cases[id], ("mission_review".to_owned(), 0), "a case sent twice is not its own duplicate");
        }
        for (x, y) in pairs() {
            let mut held = 0;
            for (me, other) in [(x, y), (y, x)] {
                let (id, _, _) = &submitted[&me];
                let (state, flags) = &cases[id];
                if state == "mission_review" && *flags == 0 {
                    continue;
                }
                assert_eq!(state, "vetting_hold", "submission {me}");
                let (status, case) =
                    send(client.get(format!("{}/api/v1/cases/{id}", bases[me % 2])).header("cookie", &cookie)).await;
                assert_eq!(status, 200, "{case}");
                let flags = case["flags"].as_array().unwrap();
                assert_eq!(flags.len(), 1, "submission {me}: {case}");
                assert_eq!(flags[0]["kind"], "duplicate_passport", "submission {me}: {case}");
                assert_eq!(flags[0]["basis"], submitted[&other].1.as_str(), "submission {me} names {other}");
                held += 1;
            }
            assert!(held >= 1, "of submissions {x} and {y}, sharing a passport, at least one is held");
        }

        // 3. Two decisions on one case through both servers at once: one wins, one gets 409.
        let open: Vec<&String> = submitted
            .iter()
            .filter(|(n, _)| !paired.contains(n))
            .map(|(_, (id, ..))| id)
            .take(RACED)
            .collect();
        assert_eq!(open.len(), RACED);
        let mut version_conflicts = 0;
        for (i, id) in open.iter().enumerate() {
            let race = if i % 2 == 0 { Race::Same } else { Race::Different };
            let [(path_a, body_a), (path_b, body_b)] = race.requests();
            let act = |base: &str, path: &str, body: &Value| {
                client.post(format!("{base}/api/v1/cases/{id}/{path}")).header("cookie", &cookie).json(body)
            };
            let (from_a, from_b) =
                tokio::join!(send(act(&bases[0], path_a, &body_a)), send(act(&bases[1], path_b, &body_b)));
            let (winner, loser, command) = match (from_a.0, from_b.0) {
                (200, 409) => (from_a.1, from_b.1, path_a),
                (409, 200) => (from_b.1, from_a.1, path_b),
                _ => panic!("{race:?} on case {id}: exactly one of two decisions wins: {from_a:?} and {from_b:?}"),
            };
            assert_eq!(loser["error"], "conflict", "{loser}");
            if loser["message"].as_str().is_some_and(|m| m.contains("changed by someone else")) {
                version_conflicts += 1;
            }
            let history = winner["history"].as_array().unwrap();
            assert_eq!(history.len(), 4, "{winner}");
            assert_eq!(history[3]["command"], command.replace('-', "_"), "{winner}");
            // Read back through the other server: the same one decision.
            let (status, case) =
                send(client.get(format!("{}/api/v1/cases/{id}", bases[i % 2])).header("cookie", &cookie)).await;
            assert_eq!(status, 200, "{case}");
            assert_eq!(case["state"], winner["state"], "{case}");
            assert_eq!(case["history"], winner["history"], "{case}");
        }
        eprintln!("decision races lost on the version check: {version_conflicts} of {RACED}; the rest on the state");
        let decisions: Vec<(String, i64)> = sqlx::query_as(
            "SELECT object, COUNT(*) FROM audit_events \
             WHERE action IN ('case.recommend', 'case.request_info', 'case.schedule_interview') GROUP BY object",
        )
        .fetch_all(&mut pg)
        .await
        .unwrap();
        let expected: BTreeMap<String, i64> = open.iter().map(|id| (format!("application:{id}"), 1)).collect();
        assert_eq!(decisions.into_iter().collect::<BTreeMap<_, _>>(), expected, "one decision per raced case");
        pg.close().await.unwrap();
    });

    // 5. Both servers have signed checkpoints of the shared log; none twice.
    for server in [&a, &b] {
        for _ in 0..600 {
            if !server.signed_checkpoints().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(!server.signed_checkpoints().is_empty(), "server {} signed a checkpoint", server.name);
    }
    let verify = |args: &[&str]| {
        let out = run_ok(dir, &db, &[&["audit", "verify", "--db", db.url.as_str()][..], args].concat());
        assert!(out.contains("audit log verified: "), "{out}");
        out
    };
    verify(&[]);
    let logged: Vec<(&str, u64, bool)> = [&a, &b]
        .iter()
        .flat_map(|s| s.signed_checkpoints().into_iter().map(|(size, stored)| (s.name, size, stored)))
        .collect();
    drop((a, b));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let in_db: BTreeSet<u64> = rt.block_on(async {
        let mut pg = db.connect().await;
        let sizes: Vec<i64> =
            sqlx::query_scalar("SELECT tree_size FROM audit_checkpoints").fetch_all(&mut pg).await.unwrap();
        sizes.into_iter().map(|s| u64::try_from(s).unwrap()).collect()
    });
    let mut stored_by: BTreeMap<u64, &str> = BTreeMap::new();
    for &(server, size, stored) in &logged {
        assert!(in_db.contains(&size), "the checkpoint of {size} server {server} signed is in the database");
        if stored {
            let before = stored_by.insert(size, server);
            assert!(before.is_none(), "size {size} was stored by {server} and by {before:?}: {logged:?}");
        }
    }
    eprintln!("checkpoints signed (server, size, stored): {logged:?}");
    let out = verify(&[]);
    assert!(
        out.contains(&format!("checkpoints: {0} verified ({0} in the database, 0 from files)", in_db.len())),
        "{out}"
    );

    // Two signers of the same size at once, as two servers may be: one note is stored, the
    // other is told it exists, and both verify against the log.
    let notes = dir.join("notes");
    std::fs::create_dir(&notes).unwrap();
    let signers: Vec<Child> = ["one", "two"]
        .iter()
        .map(|n| {
            let out = notes.join(format!("{n}.note"));
            let args = ["audit", "checkpoint", "--db", db.url.as_str(), "--out", out.to_str().unwrap()];
            legion(dir, &db).args(args).stdout(Stdio::piped()).spawn().unwrap()
        })
        .collect();
    let said: Vec<String> = signers
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "legion audit checkpoint");
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
        .collect();
    let first = said.iter().filter(|s| s.contains("), stored in the database")).count();
    let again = said.iter().filter(|s| s.contains("already stored in the database")).count();
    assert_eq!((first, again), (1, 1), "one signer stores the size, the other finds it: {said:?}");
    let out = verify(&["--checkpoints", notes.to_str().unwrap()]);
    assert!(out.contains(&format!("({} in the database, 2 from files)", in_db.len() + 1)), "{out}");
    assert!(!out.contains("not yet covered"), "{out}");
}
