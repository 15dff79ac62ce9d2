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
    let add = legion(dir.path())
        .args(["missions", "add", "--id", "gb-london", "--name", "Embassy", "--country", "GB", "--covers", "GB"])
        .output()
        .unwrap();
    assert!(add.status.success());
    let (server, url) = serve_logging(dir.path(), &[], "debug");
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
}
