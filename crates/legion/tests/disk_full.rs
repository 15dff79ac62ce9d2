//! The disk fills up under a running server on SQLite, and space comes back.
//!
//! The data directory sits on a small tmpfs; applications are submitted until the disk is
//! full. Then every write must answer 503 `storage_unavailable` (never 500), the server must
//! stay up, whatever was acknowledged with 201 must be intact, and reads that write nothing
//! (health, readiness, the public form, the staff queue) must keep answering. An applicant's
//! read of their own case is personal data and is audited: it answers only if its audit
//! event was stored, so while the disk is full it is either answered and recorded or refused
//! with 503, never answered unrecorded. Once the tmpfs is grown, without a restart, the
//! failed submission succeeds when resent with its idempotency key (exactly once), new ones
//! succeed, and `legion audit verify` passes over a log holding exactly the acknowledged
//! applications.
//!
//! Mounting needs root: run as any other user, the test fails rather than skips.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// Where the tmpfs is mounted, and the server writing to it. Dropping it kills the server
/// first, so that nothing holds the mount, then unmounts.
struct DiskFull {
    mount: tempfile::TempDir,
    server: Option<Child>,
    /// What the server logged, shown when the test fails.
    log: Arc<Mutex<String>>,
}

impl DiskFull {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it) on a new temporary directory.
    fn mount(size: &str) -> Self {
        assert_running_as_root();
        let mount = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(mount.path())
            .output()
            .expect("the mount command runs");
        assert!(out.status.success(), "mount tmpfs failed: {}", String::from_utf8_lossy(&out.stderr));
        Self { mount, server: None, log: Arc::default() }
    }

    fn data_dir(&self) -> PathBuf {
        self.mount.path().join("data")
    }

    /// Remounts the tmpfs with a new size; files and open handles stay as they are.
    fn resize(&self, size: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(self.mount.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "remount failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn stop_server(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for DiskFull {
    fn drop(&mut self) {
        self.stop_server();
        if std::thread::panicking() {
            eprintln!("--- the server's log ---\n{}", self.log.lock().unwrap());
        }
        let path = self.mount.path();
        let unmounted = Command::new("umount").arg(path).status().is_ok_and(|s| s.success());
        if !unmounted {
            // Something still holds it: detach it now, the kernel frees it when released.
            let _ = Command::new("umount").arg("-l").arg(path).status();
        }
    }
}

fn assert_running_as_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|ids| ids.split_whitespace().nth(1));
    assert_eq!(
        euid,
        Some("0"),
        "the disk-full test mounts a tmpfs and must run as root (for example in the CI container); \
         it does not skip, so that a run without root cannot pass unnoticed"
    );
}

fn legion(data_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_legion"));
    c.env_remove("LEGION_DB").env_remove("LEGION_DOCUMENTS").env("LEGION_DATA_DIR", data_dir).env("LEGION_LOG", "warn");
    c
}

fn run_ok(data_dir: &Path, args: &[&str]) -> String {
    let out = legion(data_dir).args(args).env("LEGION_PASSWORD", "a long enough password").output().unwrap();
    assert!(out.status.success(), "legion {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Starts `legion serve` on the data directory; returns its base URL, read from the log
/// line that says where it listens.
fn serve(disk: &mut DiskFull) -> String {
    let mut child = legion(&disk.data_dir())
        .env("LEGION_LOG", "info")
        .args(["serve", "--data-dir"])
        .arg(disk.data_dir())
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    disk.server = Some(child);
    let (tx, rx) = std::sync::mpsc::channel();
    let log = Arc::clone(&disk.log);
    std::thread::spawn(move || {
        // Reads to the end, so that the server never blocks on a full pipe.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut log = log.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
            drop(log);
            if let Some(rest) = line.split("Legion listening on ").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
            }
        }
    });
    rx.recv_timeout(Duration::from_mins(2)).expect("the server said where it listens")
}

/// One application; `n` makes its name and passport number its own.
fn application(n: usize) -> Value {
    let letters: String = n.to_string().bytes().map(|d| char::from(b'a' + (d - b'0'))).collect();
    json!({
        "given_names": "Diskqx", "family_name": format!("Full{letters}"), "date_of_birth": "1985-05-06",
        "nationality": "GB", "country_of_residence": "GB", "passport_number": format!("DF{:07}", 1_000_000 + n),
        "passport_expiry": "2036-01-01", "email": "disk.full@example.net", "languages": ["English"],
        "travel": {"departure_country": "PL", "departure_city": "Lviv", "earliest_date": "2036-01-01", "group_travel": false},
        "declarations": {"no_criminal_record": true, "consent_background_check": true}
    })
}

/// What a 201 answered.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Acknowledged {
    id: String,
    reference: String,
    access_code: String,
}

/// A blocking HTTP client for the test's one server.
struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Http {
    fn new(base: String) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        Self { rt, client: reqwest::Client::new(), base, cookie: None }
    }

    /// Sends the request; returns the status and the body, as JSON when it is JSON.
    fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let request = match &self.cookie {
            Some(c) => request.header("cookie", c),
            None => request,
        };
        self.rt.block_on(async {
            let r = request.send().await.expect("the server answers");
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
        })
    }

    fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)))
    }

    fn submit(&self, body: &Value, key: &str) -> (u16, Value) {
        self.send(
            self.client.post(format!("{}/api/v1/applications", self.base)).header("Idempotency-Key", key).json(body),
        )
    }

    fn applicant_view(&self, app: &Acknowledged) -> (u16, Value) {
        self.send(
            self.client.get(format!("{}/api/v1/applications/{}", self.base, app.id)).bearer_auth(&app.access_code),
        )
    }

    fn sign_in(&mut self, username: &str) {
        let rt = &self.rt;
        let r = rt.block_on(
            self.client
                .post(format!("{}/api/v1/session", self.base))
                .json(&json!({"username": username, "password": "a long enough password"}))
                .send(),
        );
        let r = r.unwrap();
        assert_eq!(r.status(), 200, "the officer signs in");
        let set = r.headers()["set-cookie"].to_str().unwrap();
        self.cookie = Some(set.split(';').next().unwrap().to_owned());
    }
}

fn acknowledged(body: &Value) -> Acknowledged {
    assert_eq!(body["mission"], "gb-london", "{body}");
    let field = |name: &str| body[name].as_str().unwrap_or_else(|| panic!("{name} in {body}")).to_owned();
    Acknowledged { id: field("id"), reference: field("reference"), access_code: field("access_code") }
}

/// A refusal because storage is full: 503, and a message that says so.
fn assert_storage_refusal(status: u16, body: &Value, what: &str) {
    assert_eq!(status, 503, "{what}: {body}");
    assert_eq!(body["error"], "storage_unavailable", "{what}: {body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("Storage is full or unavailable"), "{what}: the message says why: {message:?}");
}

/// The applicant's view of an acknowledged case is the case that was acknowledged.
fn assert_intact(view: &Value, app: &Acknowledged) {
    assert_eq!(view["id"], app.id.as_str(), "{view}");
    assert_eq!(view["reference"], app.reference.as_str(), "{view}");
    assert_eq!(view["mission"], "gb-london", "{view}");
    assert!(view["status"].is_string(), "{view}");
}

/// Counts rows of the database after the server has stopped.
fn count(data_dir: &Path, sql: &'static str) -> i64 {
    use sqlx::Connection;
    let url = format!("sqlite://{}?mode=ro", data_dir.join("legion.db").display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    })
}

#[test]
#[allow(clippy::too_many_lines, reason = "one story, told in order")]
fn a_full_disk_refuses_writes_keeps_what_was_acknowledged_and_recovers_without_a_restart() {
    let mut disk = DiskFull::mount("4m");
    let data = disk.data_dir();
    run_ok(
        &data,
        &["missions", "add", "--id", "gb-london", "--name", "Embassy in London", "--country", "GB", "--covers", "GB"],
    );
    run_ok(&data, &["users", "add", "--username", "officer.gb", "--role", "mission_officer", "--mission", "gb-london"]);
    let mut http = Http::new(serve(&mut disk));
    http.sign_in("officer.gb");

    // Fill the disk: submit until a submission is refused.
    let mut acked: BTreeMap<String, Acknowledged> = BTreeMap::new();
    let key = |n: usize| format!("disk-full-test-key-{n:06}");
    let mut refused = None;
    for n in 0..2000 {
        let (status, body) = http.submit(&application(n), &key(n));
        if status == 201 {
            acked.insert(key(n), acknowledged(&body));
        } else {
            assert_storage_refusal(status, &body, "a submission on a full disk");
            refused = Some(n);
            break;
        }
    }
    let refused = refused.expect("4 MB fill up within 2000 applications");
    assert!(!acked.is_empty(), "some applications fitted before the disk filled");

    // While full, writes are refused cleanly; any that still fits (SQLite reuses space in its
    // write-ahead log) is acknowledged as usual.
    for n in refused + 1..refused + 6 {
        match http.submit(&application(n), &key(n)) {
            (201, body) => {
                acked.insert(key(n), acknowledged(&body));
            }
            (status, body) => assert_storage_refusal(status, &body, "another submission on a full disk"),
        }
    }

    // An applicant's read is answered and audited, or refused: each answered read takes
    // a little of whatever space is left, so a refusal comes.
    let mut reads_answered = 0;
    let mut read_refused = false;
    for app in acked.values().cycle().take(5000) {
        let (status, view) = http.applicant_view(app);
        if status == 200 {
            assert_intact(&view, app);
            reads_answered += 1;
        } else {
            assert_storage_refusal(status, &view, "an audited read on a full disk");
            read_refused = true;
            break;
        }
    }
    assert!(read_refused, "an audited read whose audit event cannot be stored is refused");

    // Reads that store nothing keep working, and the server is still up.
    assert_eq!(http.get("/healthz").0, 200);
    assert_eq!(http.get("/readyz"), (200, Value::String("ready".into())));
    let (status, page) = http.get("/");
    assert_eq!(status, 200);
    assert!(page.as_str().is_some_and(|p| p.contains("<form")), "the public form is served");
    let (status, queue) = http.get("/api/v1/cases?limit=200");
    assert_eq!(status, 200, "the staff queue is read while the disk is full: {queue}");
    assert_eq!(queue["total"], json!(acked.len()), "the queue holds every acknowledged case");
    assert!(disk.server.as_mut().unwrap().try_wait().unwrap().is_none(), "the server is still running");

    // Space comes back; the same server takes writes again.
    disk.resize("64m");
    let (status, first) = http.submit(&application(refused), &key(refused));
    assert_eq!(status, 201, "the refused submission, resent with its key, is stored: {first}");
    let first = acknowledged(&first);
    let (status, again) = http.submit(&application(refused), &key(refused));
    assert_eq!(status, 201, "{again}");
    assert_eq!(acknowledged(&again), first, "resending it again answers as the first time, storing nothing");
    acked.insert(key(refused), first);
    let n = refused + 1000;
    let (status, body) = http.submit(&application(n), &key(n));
    assert_eq!(status, 201, "a new submission is stored: {body}");
    acked.insert(key(n), acknowledged(&body));

    // Everything acknowledged is there, for the applicant and, decrypted, for the officer.
    for (k, app) in &acked {
        let (status, view) = http.applicant_view(app);
        assert_eq!(status, 200, "{k}: {view}");
        assert_intact(&view, app);
        reads_answered += 1;
        let (status, case) = http.get(&format!("/api/v1/cases/{}", app.id));
        assert_eq!(status, 200, "{k}: {case}");
        let n: usize = k.rsplit('-').next().unwrap().parse().unwrap();
        assert_eq!(case["applicant"]["family_name"], application(n)["family_name"], "{k}");
        assert_eq!(case["applicant"]["passport_number"], application(n)["passport_number"], "{k}");
    }

    disk.stop_server();
    let verified = run_ok(&data, &["audit", "verify", "--data-dir", data.to_str().unwrap()]);
    assert!(verified.contains("audit log verified"), "{verified}");
    let stored = count(&data, "SELECT COUNT(*) FROM applications");
    assert_eq!(usize::try_from(stored).unwrap(), acked.len(), "exactly the acknowledged applications are stored");
    let submits = count(&data, "SELECT COUNT(*) FROM audit_events WHERE action = 'application.submit'");
    assert_eq!(submits, stored, "one audit event per stored application");
    let reads = count(&data, "SELECT COUNT(*) FROM audit_events WHERE action = 'application.read'");
    assert_eq!(usize::try_from(reads).unwrap(), reads_answered, "every answered applicant read was audited");
}
