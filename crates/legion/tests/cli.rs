//! The binary as operators use it: zero-config start, refusal of bad database URLs, the
//! demo, and the users/missions commands, on SQLite and PostgreSQL.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn legion(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_legion"));
    c.current_dir(dir).env_remove("LEGION_DB").env_remove("LEGION_DATA_DIR").env("LEGION_LOG", "info");
    c
}

/// Kills the server when the test ends, however it ends; keeps everything it logged.
struct Server(Child, std::sync::Arc<std::sync::Mutex<String>>);

impl Server {
    fn log(&self) -> String {
        self.1.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `legion serve ARGS --listen 127.0.0.1:0` and returns it with its base URL, read
/// from the one log line that says where it listens.
fn serve(dir: &std::path::Path, args: &[&str]) -> (Server, String) {
    serve_logging(dir, args, "info")
}

fn serve_logging(dir: &std::path::Path, args: &[&str], level: &str) -> (Server, String) {
    let mut child = legion(dir)
        .env("LEGION_LOG", level)
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push_str(&line);
            sink.lock().unwrap().push('\n');
            if let Some(rest) = line.split("Legion listening on ").nth(1) {
                let url = rest.split_whitespace().next().unwrap().to_owned();
                let _ = tx.send(url);
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_mins(2)).expect("server said where it listens");
    (Server(child, log), url)
}

fn get(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let r = reqwest::get(url).await.unwrap();
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    })
}

#[test]
fn zero_config_start_creates_data_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = serve(dir.path(), &[]);
    assert_eq!(get(&format!("{url}/readyz")).0, 200);
    let (status, page) = get(&format!("{url}/"));
    assert_eq!(status, 200);
    assert!(page.contains("<form"), "the applicant form is served at /");
    let data = dir.path().join("legion-data");
    assert!(data.join("legion.db").exists());
    let key = data.join("keys/index.key");
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    // The write-ahead log exists while the server runs: the database is in WAL mode.
    assert!(data.join("legion.db-wal").exists());
}

#[test]
fn bad_database_urls_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = legion(dir.path()).args(["migrate", "--db", "mysql://localhost/x"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unsupported database URL scheme 'mysql'"), "{err}");

    let not_db = dir.path().join("notes.txt");
    std::fs::write(&not_db, "these are notes, not a database\n".repeat(200)).unwrap();
    let out = legion(dir.path()).args(["serve", "--db", &format!("sqlite://{}", not_db.display())]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a SQLite database"), "{err}");
    assert!(std::fs::read_to_string(&not_db).unwrap().starts_with("these are notes"), "the file is untouched");
}

#[test]
fn users_and_missions_commands() {
    let dir = tempfile::tempdir().unwrap();
    let ok = |args: &[&str]| {
        let out = legion(dir.path()).args(args).env("LEGION_PASSWORD", "a long enough password").output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(&[
        "missions",
        "add",
        "--id",
        "pl-warsaw",
        "--name",
        "Embassy of Ukraine in Poland",
        "--country",
        "PL",
        "--covers",
        "PL,LT",
        "--regional",
    ]);
    assert!(ok(&["missions", "list"]).contains("pl-warsaw"));
    ok(&["users", "add", "--username", "officer.pl", "--role", "mission_officer", "--mission", "pl-warsaw"]);
    let out =
        legion(dir.path()).args(["users", "add", "--username", "head.pl", "--role", "mission_head"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("mission: is required for this role"));
    let generated = legion(dir.path())
        .args(["users", "add", "--username", "auditor", "--role", "auditor"])
        .env_remove("LEGION_PASSWORD")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&generated.stdout).contains("password: "),
        "a password is generated when none is given"
    );
    ok(&["users", "disable", "officer.pl"]);
    let list: serde_json::Value = serde_json::from_str(&ok(&["users", "list", "--json"])).unwrap();
    let officer = list.as_array().unwrap().iter().find(|u| u["username"] == "officer.pl").unwrap();
    assert_eq!(officer["disabled"], true);
    assert!(list.to_string().find("argon2").is_none(), "no password hashes are printed");
}

#[test]
fn demo_seeds_every_role_and_spread_of_states() {
    let dir = tempfile::tempdir().unwrap();
    let (server, url) = serve(dir.path(), &["--demo"]);
    assert_eq!(get(&format!("{url}/readyz")).0, 200);
    drop(server);
    let out = legion(dir.path()).args(["stats", "--json"]).output().unwrap();
    let counts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = counts.as_array().unwrap();
    let total: i64 = rows.iter().map(|r| r["count"].as_i64().unwrap()).sum();
    assert!(total >= 200, "{total} applications");
    let missions: std::collections::BTreeSet<_> = rows.iter().map(|r| r["mission"].as_str().unwrap()).collect();
    assert!(missions.len() >= 5, "{missions:?}");
    let states: std::collections::BTreeSet<_> = rows.iter().map(|r| r["state"].as_str().unwrap()).collect();
    for s in [
        "mission_review",
        "vetting_hold",
        "info_requested",
        "interview_scheduled",
        "interviewed",
        "recommended",
        "approved",
        "rejected",
        "authorised",
        "withdrawn",
    ] {
        assert!(states.contains(s), "demo has {s}: {states:?}");
    }
    let users = legion(dir.path()).args(["users", "list", "--json"]).output().unwrap();
    let users: serde_json::Value = serde_json::from_slice(&users.stdout).unwrap();
    let roles: std::collections::BTreeSet<_> =
        users.as_array().unwrap().iter().map(|u| u["role"].as_str().unwrap()).collect();
    assert_eq!(roles.len(), 8, "{roles:?}");
    // Starting again does not seed twice.
    let (_again, _) = serve(dir.path(), &["--demo"]);
    let out = legion(dir.path()).args(["stats", "--json"]).output().unwrap();
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let total_again: i64 = again.as_array().unwrap().iter().map(|r| r["count"].as_i64().unwrap()).sum();
    assert_eq!(total, total_again);
}

#[test]
fn serves_on_postgres_too() {
    use sqlx::Connection;
    let admin =
        std::env::var("LEGION_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("legion_cli_{}", std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut conn = rt
        .block_on(sqlx::PgConnection::connect(&admin))
        .unwrap_or_else(|e| panic!("PostgreSQL is required at {admin} ({e}); set LEGION_TEST_PG_URL"));
    rt.block_on(sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&mut conn))
        .unwrap();
    rt.block_on(sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn)).unwrap();
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    {
        let dir = tempfile::tempdir().unwrap();
        let (_server, base) = serve(dir.path(), &["--db", &url]);
        assert_eq!(get(&format!("{base}/readyz")).0, 200);
        assert!(!dir.path().join("legion-data/legion.db").exists(), "no SQLite file when PostgreSQL is used");
    }
    rt.block_on(sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&mut conn))
        .unwrap();
}

#[test]
fn logs_carry_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    // The demo seeds 240 applications and works them through the lifecycle, all logged too.
    let (server, url) = serve_logging(dir.path(), &["--demo"], TRACE_LEGION);
    let person = serde_json::json!({
        "given_names": "Zbigniewqx", "family_name": "Przybyszewskiqx", "native_name": "Збігнєвкс",
        "date_of_birth": "1979-02-03", "nationality": "GB", "country_of_residence": "GB",
        "passport_number": "ZQ9876543", "passport_expiry": "2035-01-01", "email": "unique.person@example.org",
        "phone": "+44 20 7946 0001", "languages": ["English"],
        "travel": {"departure_country": "PL", "departure_city": "Chełm", "earliest_date": "2035-01-01", "group_travel": false},
        "declarations": {"no_criminal_record": true, "consent_background_check": true}
    });
    let mut bad = person.clone();
    bad["date_of_birth"] = serde_json::json!("Zbigniewqx-bad-date");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = reqwest::Client::new();
        let ok = c.post(format!("{url}/api/v1/applications")).json(&person).send().await.unwrap();
        assert_eq!(ok.status(), 201);
        let no = c.post(format!("{url}/api/v1/applications")).json(&bad).send().await.unwrap();
        assert_eq!(no.status(), 422);
        // Let the screening worker handle the case, so its logging is covered too.
        tokio::time::sleep(Duration::from_millis(500)).await;
    });
    let log = server.log();
    assert!(log.contains("Legion listening on"), "the log was captured");
    for secret in
        ["Zbigniewqx", "Przybyszewskiqx", "Збігнєвкс", "ZQ9876543", "unique.person", "7946 0001", "Chełm", "1979-02-03"]
    {
        assert!(!log.contains(secret), "the server log carries personal data ({secret})");
    }
    assert_no_demo_personal_data(&log, "the server log");
}

// ---------------------------------------------------------------------------------------
// Keys: rotation and crypto-shredding, and the personal data the demo seeds.
// ---------------------------------------------------------------------------------------

/// Everything at debug, Legion's own crates at trace.
const TRACE_LEGION: &str = "debug,legion=trace,legion_web=trace,legion_store=trace,legion_vault=trace";

/// The names the demo seeds, read from its source so the list cannot drift: every quoted
/// string in its `PEOPLE` table but the nationality codes. Names shorter than five letters
/// ("Jan", "Kim") are left out: they occur in ordinary words.
fn demo_names() -> Vec<String> {
    let source = include_str!("../src/demo.rs");
    let table = source.split("const PEOPLE").nth(1).unwrap().split("];").next().unwrap();
    let names: Vec<String> = table
        .lines()
        .filter(|l| l.trim_start().starts_with("(\""))
        .flat_map(|l| l.split('"').skip(1).step_by(2).map(str::to_owned).collect::<Vec<_>>())
        .filter(|n| !(n.len() == 2 && n.chars().all(|c| c.is_ascii_uppercase())))
        .filter(|n| n.chars().count() >= 5)
        .collect();
    assert!(names.len() >= 30, "the demo's names were found: {names:?}");
    names
}

/// Fails if `text` holds a demo name, passport number, e-mail address, departure city or
/// free-text note.
fn assert_no_demo_personal_data(text: &str, what: &str) {
    for name in demo_names() {
        assert!(!text.contains(&name), "{what} carries the demo name {name:?}");
    }
    for other in [
        "example.org",
        "Rzeszów",
        "Przemyśl",
        "X1234567",
        "discharge papers",
        "Motivated; service record",
        "the flag does not apply",
        "Changed my plans",
    ] {
        assert!(!text.contains(other), "{what} carries demo personal data ({other:?})");
    }
    // Demo passport numbers: a capital letter and 1000000 + 7919·i for the i-th applicant.
    let passports: std::collections::HashSet<String> =
        (0..240u32).map(|i| format!("{:07}", 1_000_000 + i * 7919 % 8_999_999)).collect();
    let bytes = text.as_bytes();
    for (at, w) in bytes.windows(8).enumerate() {
        let digits = &w[1..];
        let bounded = bytes.get(at + 8).is_none_or(|b| !b.is_ascii_digit());
        if w[0].is_ascii_uppercase() && digits.iter().all(u8::is_ascii_digit) && bounded {
            let number = std::str::from_utf8(digits).unwrap();
            assert!(!passports.contains(number), "{what} carries a demo passport number ({number})");
        }
    }
}

fn run_ok(dir: &std::path::Path, args: &[&str]) -> (String, String) {
    let out = legion(dir).args(args).output().unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    (stdout, stderr)
}

fn keys_list(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&run_ok(dir, &["keys", "list", "--json"]).0).unwrap()
}

/// The data keys of `mission` as (version, KEK version, status).
fn data_keys_of(list: &serde_json::Value, mission: &str) -> Vec<(i64, i64, String)> {
    list["data_keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["mission"] == mission)
        .map(|k| {
            (k["version"].as_i64().unwrap(), k["kek_version"].as_i64().unwrap(), k["status"].as_str().unwrap().into())
        })
        .collect()
}

fn total_cases(dir: &std::path::Path) -> i64 {
    let stats: serde_json::Value = serde_json::from_str(&run_ok(dir, &["stats", "--json"]).0).unwrap();
    stats.as_array().unwrap().iter().map(|r| r["count"].as_i64().unwrap()).sum()
}

/// Submits an application living in the UK (the gb-london mission); returns its id and code.
fn submit_gb(url: &str, family_name: &str) -> (String, String) {
    submit_from(url, "GB", "gb-london", family_name)
}

/// Submits an application living in `country`, which `mission` covers; returns its id and code.
fn submit_from(url: &str, country: &str, mission: &str, family_name: &str) -> (String, String) {
    let person = serde_json::json!({
        "given_names": "Rotaqx", "family_name": family_name, "date_of_birth": "1985-05-06",
        "nationality": "GB", "country_of_residence": country, "passport_number": "RK4455667",
        "passport_expiry": "2036-01-01", "email": "rota.qx@example.net", "languages": ["English"],
        "travel": {"departure_country": "PL", "departure_city": "Lviv", "earliest_date": "2036-01-01", "group_travel": false},
        "declarations": {"no_criminal_record": true, "consent_background_check": true}
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new().post(format!("{url}/api/v1/applications")).json(&person).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["mission"], mission);
        (body["id"].as_str().unwrap().to_owned(), body["access_code"].as_str().unwrap().to_owned())
    })
}

/// The applicant's own view of their case: the status and the body.
fn applicant_view(url: &str, id: &str, code: &str) -> (u16, serde_json::Value) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .get(format!("{url}/api/v1/applications/{id}"))
            .bearer_auth(code)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    })
}

/// The operator's audit events with these actions, oldest first: (action, object, mission).
fn audit_trail(dir: &std::path::Path, actions: &[&str]) -> Vec<(String, String, Option<String>)> {
    use sqlx::Connection;
    let url = format!("sqlite://{}", dir.join("legion-data/legion.db").display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let rows: Vec<(String, String, String, Option<String>)> =
            sqlx::query_as("SELECT actor, action, object, mission FROM audit_events ORDER BY seq")
                .fetch_all(&mut c)
                .await
                .unwrap();
        rows.into_iter()
            .filter(|(_, action, ..)| actions.contains(&action.as_str()))
            .map(|(actor, action, object, mission)| {
                assert_eq!(actor, "cli", "{action} is the operator's");
                (action, object, mission)
            })
            .collect()
    })
}

#[test]
fn keys_rotate_kek_and_data_keys_on_a_demo_database() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("legion-data/keys");
    let (server, url) = serve(dir.path(), &["--demo"]);
    let (id, code) = submit_gb(&url, "Rotationqx");
    // Once the screening worker has had it, the case stays as it is.
    let mut view = serde_json::Value::Null;
    for _ in 0..100 {
        let (status, now) = applicant_view(&url, &id, &code);
        assert_eq!(status, 200);
        view = now;
        if !["submitted", "screening"].contains(&view["status"].as_str().unwrap()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(view["status"], "mission_review", "{view}");
    drop(server);
    let total = total_cases(dir.path());

    let list = keys_list(dir.path());
    assert_eq!(list["kek_versions"], serde_json::json!([1]));
    assert_eq!(data_keys_of(&list, "gb-london"), [(1, 1, "current".into())]);
    let missions = list["data_keys"].as_array().unwrap().len();
    assert!(missions >= 5, "{list}");
    assert!(!list.to_string().contains("wrapped"), "no key material is listed");

    // The KEK: a new file, every data key rewrapped, the old file gone.
    let (out, _) = run_ok(dir.path(), &["keys", "rotate-kek"]);
    assert!(out.contains(&format!("rewrapped {missions} data keys under kek-2.key")), "{out}");
    assert!(!keys.join("kek-1.key").exists(), "the old KEK file is deleted");
    assert_eq!(std::fs::metadata(keys.join("kek-2.key")).unwrap().permissions().mode() & 0o777, 0o600);
    let list = keys_list(dir.path());
    assert_eq!(list["kek_versions"], serde_json::json!([2]));
    assert!(list["data_keys"].as_array().unwrap().iter().all(|k| k["kek_version"] == 2), "{list}");
    assert_eq!(total_cases(dir.path()), total);

    // A crash right after the next KEK file was written: the next run finishes that rotation.
    std::fs::write(keys.join("kek-3.key"), [7u8; 32]).unwrap();
    std::fs::set_permissions(keys.join("kek-3.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let (out, _) = run_ok(dir.path(), &["keys", "rotate-kek"]);
    assert!(out.contains("finishing the rotation to kek-3.key"), "{out}");
    assert!(!keys.join("kek-4.key").exists(), "no other KEK is started");
    assert!(!keys.join("kek-2.key").exists());
    assert_eq!(keys_list(dir.path())["kek_versions"], serde_json::json!([3]));

    // A mission's data key, in batches, with logging on: progress, and no personal data.
    let out = legion(dir.path())
        .env("LEGION_LOG", TRACE_LEGION)
        .args(["keys", "rotate-data", "--mission", "gb-london", "--batch", "7", "--wait", "0"])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("created data key gb-london v2"), "{stdout}");
    assert!(stdout.contains("gb-london: destroyed data key v1"), "{stdout}");
    assert!(stderr.matches("cases checked").count() > 2, "progress per batch: {stderr}");
    assert_no_demo_personal_data(&stderr, "the rotation's log");
    assert!(!stderr.contains("Rotationqx") && !stderr.contains("RK4455667"));
    let list = keys_list(dir.path());
    assert_eq!(data_keys_of(&list, "gb-london"), [(1, 3, "destroyed".into()), (2, 3, "current".into())]);
    assert_eq!(data_keys_of(&list, "us-washington"), [(1, 3, "current".into())], "other missions keep their key");
    let (out, _) = run_ok(dir.path(), &["keys", "rotate-data", "--mission", "gb-london", "--resume", "--wait", "0"]);
    assert!(out.contains("no older data keys to destroy"), "{out}");
    // A rotation that stopped after its first batch: --resume finishes it without another key.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let keys = legion_store::Keys::load_or_create(&keys).unwrap();
        let url = format!("sqlite://{}", dir.path().join("legion-data/legion.db").display());
        let store = legion_store::open(&url, std::sync::Arc::new(keys)).await.unwrap();
        let us = legion_domain::MissionId::parse("us-washington").unwrap();
        let audit = legion_store::AuditEvent {
            at: legion_domain::Clock::now(&legion_domain::SystemClock),
            actor: "cli".into(),
            role: "operator".into(),
            mission: Some("us-washington".into()),
            action: "key.rotate".into(),
            object: "mission:us-washington".into(),
            outcome: "ok".into(),
        };
        assert_eq!(store.rotate_data_key(&us, &audit).await.unwrap(), 2);
        assert!(store.reencrypt_batch(&us, None, 5, &audit).await.unwrap().next_after.is_some());
    });
    let (out, _) =
        run_ok(dir.path(), &["keys", "rotate-data", "--mission", "us-washington", "--resume", "--wait", "0"]);
    assert!(out.contains("resuming: re-sealing the cases of us-washington under its data key v2"), "{out}");
    assert!(out.contains("us-washington: destroyed data key v1"), "{out}");
    let list = keys_list(dir.path());
    assert_eq!(data_keys_of(&list, "us-washington"), [(1, 3, "destroyed".into()), (2, 3, "current".into())]);
    let out = legion(dir.path()).args(["keys", "rotate-data", "--mission", "xx-nowhere"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no mission xx-nowhere"));

    // Everything still reads: the case under the new data key and the new KEK.
    let (server, url) = serve(dir.path(), &[]);
    assert_eq!(applicant_view(&url, &id, &code), (200, view));
    drop(server);
    assert_eq!(total_cases(dir.path()), total);
    let events = audit_trail(dir.path(), &["kek.rotate", "kek.delete", "key.rotate", "key.retire"]);
    assert_eq!(
        events,
        [
            ("kek.rotate".into(), "kek:2".into(), None),
            ("kek.delete".into(), "kek:1".into(), None),
            ("kek.rotate".into(), "kek:3".into(), None),
            ("kek.delete".into(), "kek:2".into(), None),
            ("key.rotate".into(), "data_key:gb-london:2".into(), Some("gb-london".into())),
            ("key.retire".into(), "mission:gb-london".into(), Some("gb-london".into())),
            ("key.rotate".into(), "data_key:us-washington:2".into(), Some("us-washington".into())),
            ("key.retire".into(), "mission:us-washington".into(), Some("us-washington".into())),
        ]
    );
}

#[test]
fn keys_shred_needs_yes_then_the_cases_are_gone_and_the_kek_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("legion-data/keys");
    run_ok(
        dir.path(),
        &["missions", "add", "--id", "gb-london", "--name", "Embassy", "--country", "GB", "--covers", "GB"],
    );
    run_ok(
        dir.path(),
        &["missions", "add", "--id", "us-washington", "--name", "Embassy", "--country", "US", "--covers", "US"],
    );
    let (server, url) = serve(dir.path(), &[]);
    let (id, code) = submit_gb(&url, "Shreddingqx");
    let (us_id, us_code) = submit_from(&url, "US", "us-washington", "Keptqx");
    assert_eq!(applicant_view(&url, &id, &code).0, 200);
    assert_eq!(applicant_view(&url, &us_id, &us_code).0, 200);
    drop(server);

    let out = legion(dir.path()).args(["keys", "shred", "--mission", "gb-london"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to shred mission gb-london without --yes"), "{err}");
    assert_eq!(data_keys_of(&keys_list(dir.path()), "gb-london"), [(1, 1, "current".into())], "nothing destroyed");
    assert!(keys.join("kek-1.key").exists());

    // What someone keeping the key directory and the database from before would hold.
    let old_kek = std::fs::read(keys.join("kek-1.key")).unwrap();
    let (out, _) = run_ok(dir.path(), &["keys", "shred", "--mission", "gb-london", "--yes"]);
    assert!(out.contains("destroyed 1 data keys of gb-london"), "{out}");
    assert!(out.contains("its 1 cases"), "{out}");
    // The shred rotates the KEK: the one that wrapped the destroyed key is gone from disk.
    assert!(out.contains("rewrapped 1 data keys under kek-2.key"), "{out}");
    assert!(!keys.join("kek-1.key").exists(), "the KEK that wrapped the destroyed key is deleted");
    assert_eq!(std::fs::metadata(keys.join("kek-2.key")).unwrap().permissions().mode() & 0o777, 0o600);
    let mut files: Vec<_> = std::fs::read_dir(&keys).unwrap().map(|f| f.unwrap().path()).collect();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|f| f.unwrap().path()));
            continue;
        }
        assert_ne!(std::fs::read(&path).unwrap(), old_kek, "{} holds the old KEK", path.display());
    }
    let list = keys_list(dir.path());
    assert_eq!(list["kek_versions"], serde_json::json!([2]));
    assert_eq!(data_keys_of(&list, "gb-london"), [(1, 1, "destroyed".into())]);
    assert_eq!(data_keys_of(&list, "us-washington"), [(1, 2, "current".into())]);
    let live: Vec<_> = list["data_keys"].as_array().unwrap().iter().filter(|k| k["status"] != "destroyed").collect();
    assert!(!live.is_empty() && live.iter().all(|k| k["kek_version"] == 2), "{list}");
    let (table, _) = run_ok(dir.path(), &["keys", "list"]);
    assert!(table.contains("kek-2.key") && !table.contains("kek-1.key"), "{table}");
    let row = table.lines().find(|l| l.starts_with("gb-london")).expect("a row per data key");
    assert!(row.contains("destroyed") && row.split_whitespace().nth(1) == Some("1"), "{row}");
    assert_eq!(total_cases(dir.path()), 2, "the cases themselves remain");
    assert_eq!(
        audit_trail(dir.path(), &["mission.shred", "kek.rotate", "kek.delete"]),
        [
            ("mission.shred".into(), "mission:gb-london".into(), Some("gb-london".into())),
            ("kek.rotate".into(), "kek:2".into(), None),
            ("kek.delete".into(), "kek:1".into(), None),
        ]
    );

    // The database with the old KEK opens nothing any more: no live key is wrapped under it.
    let old_keys = tempfile::tempdir().unwrap();
    std::fs::write(old_keys.path().join("kek-1.key"), &old_kek).unwrap();
    std::fs::set_permissions(old_keys.path().join("kek-1.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let old = std::sync::Arc::new(legion_store::Keys::load_or_create(old_keys.path()).unwrap());
        let db = format!("sqlite://{}", dir.path().join("legion-data/legion.db").display());
        let store = legion_store::open(&db, old).await.unwrap();
        let us_case = legion_domain::ApplicationId::parse(&us_id).unwrap();
        let read = store.case(us_case, &legion_store::Scope::All).await;
        assert!(read.is_err(), "the old KEK still opens a live data key");
    });

    let (_server, url) = serve(dir.path(), &[]);
    assert_eq!(applicant_view(&url, &id, &code).0, 410, "the personal data is gone");
    assert_eq!(applicant_view(&url, &us_id, &us_code).0, 200, "other missions still read");
    let (later, later_code) = submit_gb(&url, "Laterqx");
    assert_eq!(applicant_view(&url, &later, &later_code).0, 200, "new applications get a new key");
    let list = keys_list(dir.path());
    assert_eq!(data_keys_of(&list, "gb-london"), [(1, 1, "destroyed".into()), (2, 2, "current".into())]);
}

// ---------------------------------------------------------------------------------------
// The audit log: `legion audit verify`, `audit checkpoint`, `audit verifier-key`.
// ---------------------------------------------------------------------------------------

/// Runs `legion ARGS` in `dir`: the exit code, stdout and stderr.
fn run_audit(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = legion(dir).args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().expect("exited"), text(&out.stdout), text(&out.stderr))
}

/// Runs SQL on the database `url` names, outside Legion: what someone holding the database
/// can do.
fn attack(url: &str, sql: &str) {
    use sqlx::{Connection, Executor};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        if url.starts_with("sqlite:") {
            let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
            c.execute(sqlx::AssertSqlSafe(sql.to_owned())).await.unwrap();
        } else {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            c.execute(sqlx::AssertSqlSafe(sql.to_owned())).await.unwrap();
        }
    });
}

/// How many stored checkpoints `legion audit verify` reports.
fn stored_checkpoints(verify_out: &str) -> usize {
    verify_out
        .split("verified (")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no checkpoint count in {verify_out}"))
}

#[test]
fn audit_verify_passes_on_the_demo_and_names_a_flipped_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _url) = serve(dir.path(), &["--demo"]);
    // The server's checkpointer verifies the seeded log and signs it on start.
    let mut stored = 0;
    for _ in 0..300 {
        let (code, out, err) = run_audit(dir.path(), &["audit", "verify"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("audit log verified: "), "{out}");
        stored = stored_checkpoints(&out);
        if stored > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(stored > 0, "the server signed a checkpoint");
    assert!(server.log().contains("audit log verified"), "{}", server.log());
    drop(server);

    // A checkpoint signed now and kept outside the database, as a witness would.
    let witness = dir.path().join("witness");
    std::fs::create_dir(&witness).unwrap();
    let (code, out, err) = run_audit(dir.path(), &["audit", "checkpoint", "--out", "witness/latest.note"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("signed a checkpoint of ") && out.contains("stored in the database"), "{out}");
    let note = std::fs::read_to_string(witness.join("latest.note")).unwrap();
    assert!(note.starts_with("legion/audit\n"), "{note}");
    let (code, out, err) = run_audit(dir.path(), &["audit", "verify", "--checkpoints", "witness"]);
    assert_eq!(code, 0, "{out}{err}");
    // The server may already have signed this very size; then the note is the same one.
    let now_stored = stored_checkpoints(&out);
    assert!(now_stored == stored || now_stored == stored + 1, "{out}");
    assert!(out.contains(&format!("({now_stored} in the database, 1 from files)")), "{out}");
    assert!(!out.contains("not yet covered"), "the newest checkpoint covers the whole log: {out}");

    // A second party with a copy of the database and only the public key.
    let (code, key, _) = run_audit(dir.path(), &["audit", "verifier-key"]);
    assert_eq!(code, 0);
    let key = key.trim().to_owned();
    assert!(key.starts_with("legion/audit+"), "{key}");
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("legion.pub"), &key).unwrap();
    let db = format!("sqlite://{}", dir.path().join("legion-data/legion.db").display());
    for given in [key.as_str(), "legion.pub"] {
        let (code, out, err) = run_audit(elsewhere.path(), &["audit", "verify", "--db", &db, "--verifier-key", given]);
        assert_eq!(code, 0, "{out}{err}");
    }
    assert!(!elsewhere.path().join("legion-data").exists(), "verifying creates no keys or files");

    // One byte of the kept checkpoint changed: that file is named.
    let mut lines: Vec<String> = note.split('\n').map(str::to_owned).collect();
    let first = if lines[2].starts_with('A') { "B" } else { "A" };
    lines[2].replace_range(0..1, first);
    std::fs::write(witness.join("latest.note"), lines.join("\n")).unwrap();
    let (code, out, _) = run_audit(dir.path(), &["audit", "verify", "--checkpoints", "witness"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("audit log verification FAILED"), "{out}");
    assert!(out.contains("latest.note is not a valid signed checkpoint of this log"), "{out}");
    std::fs::write(witness.join("latest.note"), &note).unwrap();

    // One byte of an audit row changed, the append-only trigger dropped first: seq 7 is named.
    attack(
        &db,
        "DROP TRIGGER audit_events_no_update; \
         UPDATE audit_events SET object = substr(object, 1, length(object) - 1) || \
         CASE WHEN substr(object, -1) = 'x' THEN 'y' ELSE 'x' END WHERE seq = 7",
    );
    let (code, out, _) = run_audit(dir.path(), &["audit", "verify", "--checkpoints", "witness"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("entry seq 7 does not match its stored chain hash"), "{out}");
    assert!(out.contains("first bad entry: seq 7"), "{out}");
    // Nor will Legion sign a checkpoint over it.
    let (code, out, _) = run_audit(dir.path(), &["audit", "checkpoint", "--out", "witness/later.note"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no checkpoint was signed") && !witness.join("later.note").exists(), "{out}");
}

#[test]
fn audit_commands_refuse_what_they_cannot_check() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run_audit(dir.path(), &["audit", "verify"]);
    assert_eq!(code, 2);
    assert!(err.contains("no audit checkpoint key at"), "{err}");
    let (code, _, err) = run_audit(dir.path(), &["audit", "verifier-key"]);
    assert_eq!(code, 2);
    assert!(err.contains("no audit checkpoint key at"), "{err}");
    let (code, _, err) = run_audit(dir.path(), &["audit", "verify", "--verifier-key", "not-a-key"]);
    assert_eq!(code, 2);
    assert!(err.contains("is neither a verifier key nor a readable file"), "{err}");
    // A key for a database that does not exist: refused, and no empty log is created.
    let key = legion_audit::CheckpointSigner::from_seed("legion/audit", &[5; 32]).unwrap().verifier().verifier_key();
    let (code, _, err) = run_audit(dir.path(), &["audit", "verify", "--verifier-key", &key]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no database at"), "{err}");
    assert!(!dir.path().join("legion-data/legion.db").exists());
    let (code, _, err) = run_audit(dir.path(), &["audit", "checkpoint"]);
    assert_eq!(code, 2, "--out is required: {err}");
}

/// `PRAGMA journal_mode` of the SQLite file at `path`, read on a read-only connection.
fn journal_mode(path: &std::path::Path) -> String {
    use sqlx::Connection;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true);
        let mut c = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut c).await.unwrap();
        c.close().await.unwrap();
        mode
    })
}

#[test]
fn audit_verify_leaves_the_database_it_checks_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    run_ok(dir.path(), &["missions", "add", "--id", "pl-warsaw", "--name", "E", "--country", "PL", "--covers", "PL"]);
    // A copy in rollback-journal mode, as a backup or another tool might leave it.
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = copy_dir.path().join("copy.db");
    attack(
        &format!("sqlite://{}", dir.path().join("legion-data/legion.db").display()),
        "PRAGMA wal_checkpoint(TRUNCATE)",
    );
    std::fs::copy(dir.path().join("legion-data/legion.db"), &copy).unwrap();
    attack(&format!("sqlite://{}", copy.display()), "PRAGMA journal_mode = DELETE");
    assert_eq!(journal_mode(&copy), "delete");
    let before = std::fs::read(&copy).unwrap();
    let listing = |d: &std::path::Path| {
        let mut names: Vec<_> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        names
    };
    let files_before = listing(copy_dir.path());

    let key = legion_audit::CheckpointSigner::from_seed("legion/audit", &[5; 32]).unwrap().verifier().verifier_key();
    let db = format!("sqlite://{}", copy.display());
    let (code, out, err) = run_audit(dir.path(), &["audit", "verify", "--db", &db, "--verifier-key", &key]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("audit log verified: "), "{out}");

    assert_eq!(journal_mode(&copy), "delete", "verifying does not switch the file to WAL mode");
    let after = std::fs::read(&copy).unwrap();
    assert!(before == after, "verifying changed the bytes of the database it checked");
    assert_eq!(listing(copy_dir.path()), files_before, "verifying creates no files beside the database");
}

#[test]
fn audit_verify_on_postgres() {
    use sqlx::Connection;
    let admin =
        std::env::var("LEGION_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("legion_cli_audit_{}", std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut conn = rt
        .block_on(sqlx::PgConnection::connect(&admin))
        .unwrap_or_else(|e| panic!("PostgreSQL is required at {admin} ({e}); set LEGION_TEST_PG_URL"));
    let mut run = |sql: String| rt.block_on(sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn)).unwrap();
    run(format!("DROP DATABASE IF EXISTS {name}"));
    run(format!("CREATE DATABASE {name}"));
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let dir = tempfile::tempdir().unwrap();
    let ok = |args: &[&str]| {
        let (code, out, err) = run_audit(dir.path(), args);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
        out
    };
    ok(&[
        "missions",
        "add",
        "--db",
        &url,
        "--id",
        "pl-warsaw",
        "--name",
        "Warsaw",
        "--country",
        "PL",
        "--covers",
        "PL",
    ]);
    for user in ["auditor.one", "auditor.two", "auditor.three"] {
        let out = legion(dir.path())
            .args(["users", "add", "--db", &url, "--username", user, "--role", "auditor"])
            .env("LEGION_PASSWORD", "a long enough password")
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    ok(&["audit", "checkpoint", "--db", &url, "--out", "cp.note"]);
    let out = ok(&["audit", "verify", "--db", &url, "--checkpoints", "cp.note"]);
    assert!(out.contains("(1 in the database, 1 from files)"), "{out}");
    let events: u64 = out
        .strip_prefix("audit log verified: ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(events >= 4, "a mission and three accounts: {out}");

    // The database rolled back past the checkpoint kept outside it: the file remembers.
    attack(
        &url,
        "ALTER TABLE audit_events DISABLE TRIGGER USER; ALTER TABLE audit_checkpoints DISABLE TRIGGER USER; \
         DELETE FROM audit_events WHERE seq > 2; DELETE FROM audit_checkpoints",
    );
    ok(&["audit", "verify", "--db", &url]);
    let (code, out, _) = run_audit(dir.path(), &["audit", "verify", "--db", &url, "--checkpoints", "cp.note"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("checkpoint from cp.note covers {events} entries but the log holds 2")), "{out}");
    assert!(out.contains("first bad entry: seq 3"), "{out}");
    run(format!("DROP DATABASE {name} WITH (FORCE)"));
}

#[test]
fn the_demo_personal_data_check_finds_what_it_looks_for() {
    let finds = |text: &str| {
        let text = text.to_owned();
        std::panic::catch_unwind(move || assert_no_demo_personal_data(&text, "sample")).is_err()
    };
    assert!(!finds("INFO legion: Legion listening on http://127.0.0.1:8080 at 2024-06-01T10:00:00Z"));
    assert!(finds("given_names=Jan family_name=Kowalski"));
    assert!(finds("native Νικόλαος Παπαδόπουλος"));
    assert!(finds(&format!("passport U{}", 1_000_000 + 12 * 7919)));
    assert!(!finds(&format!("row U{}9", 1_000_000 + 12 * 7919)), "eight digits are not a demo passport");
    assert!(finds("mail john.miller3@example.org"));
}

fn joined<'a>(args: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    [args, more].concat()
}

#[test]
fn keys_commands_on_postgres() {
    use sqlx::Connection;
    let admin =
        std::env::var("LEGION_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("legion_keys_{}", std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut conn = rt
        .block_on(sqlx::PgConnection::connect(&admin))
        .unwrap_or_else(|e| panic!("PostgreSQL is required at {admin} ({e}); set LEGION_TEST_PG_URL"));
    rt.block_on(sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&mut conn))
        .unwrap();
    rt.block_on(sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn)).unwrap();
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    {
        let dir = tempfile::tempdir().unwrap();
        let db = ["--db", url.as_str()];
        let with_db = |args| joined(args, &db);
        run_ok(
            dir.path(),
            &with_db(&["missions", "add", "--id", "gb-london", "--name", "E", "--country", "GB", "--covers", "GB"]),
        );
        run_ok(
            dir.path(),
            &with_db(&["missions", "add", "--id", "pl-warsaw", "--name", "E", "--country", "PL", "--covers", "PL"]),
        );
        let (server, base) = serve(dir.path(), &db);
        let (id, code) = submit_gb(&base, "Postgresqx");
        drop(server);

        let (out, _) = run_ok(dir.path(), &with_db(&["keys", "rotate-kek"]));
        assert!(out.contains("rewrapped 1 data keys under kek-2.key"), "{out}");
        let (out, _) = run_ok(dir.path(), &with_db(&["keys", "rotate-data", "--mission", "gb-london", "--wait", "0"]));
        assert!(out.contains("gb-london: destroyed data key v1"), "{out}");
        let (server, base) = serve(dir.path(), &db);
        assert_eq!(applicant_view(&base, &id, &code).0, 200);
        drop(server);

        let out = legion(dir.path()).args(with_db(&["keys", "shred", "--mission", "gb-london"])).output().unwrap();
        assert!(!out.status.success(), "refused without --yes");
        run_ok(dir.path(), &with_db(&["keys", "shred", "--mission", "gb-london", "--yes"]));
        let (_server, base) = serve(dir.path(), &db);
        assert_eq!(applicant_view(&base, &id, &code).0, 410);
    }
    rt.block_on(sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&mut conn))
        .unwrap();
}
