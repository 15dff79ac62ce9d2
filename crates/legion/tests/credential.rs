//! Entry authorisations from the command line: `legion credential verify` and the server's
//! border check give the same verdict on every token of the generated corpus; `credential
//! list` and `print`, and the `keys` commands that export the lists and rotate a mission's
//! key, on a demo database.

use std::io::{BufRead, BufReader, Write as _};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use legion_credential::corpus::{self, Fixture, VALID};
use serde_json::{Value, json};

fn wall_clock() -> chrono::DateTime<chrono::Utc> {
    legion_domain::Clock::now(&legion_domain::SystemClock)
}

fn legion(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_legion"));
    c.current_dir(dir)
        .env_remove("LEGION_DB")
        .env_remove("LEGION_DATA_DIR")
        .env("LEGION_LOG", "warn")
        .env("LEGION_PASSWORD", "a long enough password");
    c
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &std::path::Path, args: &[&str]) -> (Server, String) {
    let mut child = legion(dir)
        .env("LEGION_LOG", "info")
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("Legion listening on ").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap().to_owned());
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_mins(2)).expect("server said where it listens");
    (Server(child), url)
}

fn run(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = legion(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run_ok(dir: &std::path::Path, args: &[&str]) -> String {
    let (code, out, err) = run(dir, args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

/// Writes a key file as the server would have created it.
fn put_key(path: &std::path::Path, seed: &[u8; 32]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::set_permissions(path.parent().unwrap(), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(path, seed).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

async fn border_client(url: &str) -> reqwest::Client {
    let c = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let r = c
        .post(format!("{url}/api/v1/session"))
        .json(&json!({"username": "border", "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    c
}

#[test]
fn the_command_line_and_the_server_agree_on_every_corpus_token() {
    let dir = tempfile::tempdir().unwrap();
    let now = wall_clock().timestamp();
    let mut fixture = Fixture::at(2026, now);
    let cases = corpus::cases(&mut fixture, 2_600, 77);
    // The server signs with the fixture's root and missions' keys; the retired key and the
    // fixture's revocations are not its own.
    let keys = dir.path().join("legion-data/keys/credentials");
    put_key(&keys.join("root.key"), &fixture.root_seed);
    put_key(&keys.join("pl-warsaw.1.key"), &fixture.issuer_seeds[0]);
    put_key(&keys.join("de-berlin.1.key"), &fixture.issuer_seeds[1]);
    run_ok(dir.path(), &["users", "add", "--username", "border", "--role", "border_officer"]);
    let (_server, url) = serve(dir.path(), &[]);
    let expected = |code: &'static str| match code {
        "revoked" => VALID,
        "key_not_valid" => "unknown_kid",
        other => other,
    };

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (server_codes, trust, revocations) = rt.block_on(async {
        let c = border_client(&url).await;
        let mut codes = Vec::with_capacity(cases.len());
        for case in &cases {
            let r =
                c.post(format!("{url}/api/v1/border/verify")).json(&json!({"token": case.token})).send().await.unwrap();
            assert_eq!(r.status(), 200);
            let v: Value = r.json().await.unwrap();
            codes.push(v["code"].as_str().unwrap().to_owned());
        }
        let trust = c.get(format!("{url}/api/v1/credentials/trust-list")).send().await.unwrap().text().await.unwrap();
        let rev = c.get(format!("{url}/api/v1/credentials/revocations")).send().await.unwrap().text().await.unwrap();
        (codes, trust, rev)
    });
    std::fs::write(dir.path().join("trust.json"), &trust).unwrap();
    std::fs::write(dir.path().join("revocations.json"), &revocations).unwrap();

    // The batch form takes one token a line: tokens with line breaks go one by one.
    let (single, batched): (Vec<_>, Vec<_>) = cases.iter().enumerate().partition(|(_, c)| c.token.contains('\n'));
    let batch: String = batched.iter().flat_map(|(_, c)| [c.token.as_str(), "\n"]).collect();
    std::fs::write(dir.path().join("tokens.txt"), batch).unwrap();
    let root_x = fixture_root_x(&fixture);
    let lists = ["--trust", "trust.json", "--revocations", "revocations.json", "--root-key", root_x.as_str()];
    let mut args = vec!["credential", "verify"];
    args.extend(lists);
    args.extend(["--batch", "tokens.txt"]);
    let out = run_ok(dir.path(), &args);
    let cli: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(cli.len(), batched.len());
    let mut mismatches = Vec::new();
    for ((i, case), verdict) in batched.iter().zip(&cli) {
        let (cli_code, server_code) = (verdict["code"].as_str().unwrap(), server_codes[*i].as_str());
        if cli_code != server_code || cli_code != expected(case.expected) {
            mismatches.push((i, case.expected, cli_code.to_owned(), server_code.to_owned()));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} disagreements, first: {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(5)]
    );
    assert!(!single.is_empty());
    for (i, case) in &single {
        let mut args = vec!["credential", "verify"];
        args.extend(lists);
        args.push("-");
        let mut child = legion(dir.path()).args(&args).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(case.token.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["code"], server_codes[*i].as_str());
        assert_eq!(v["code"], expected(case.expected));
        assert_eq!(out.status.code(), Some(i32::from(v["valid"] != true)), "exit status follows the verdict");
    }
    // Every kind of refusal was met (but the two the server's own lists turn into others).
    let mut seen: Vec<&str> = server_codes.iter().map(String::as_str).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 15, "valid and 14 refusals: {seen:?}");

    // Usage errors exit 2: another root pinned, an unreadable list, no token.
    let token = &batched.iter().find(|(_, c)| c.expected == VALID).unwrap().1.token;
    let other_root = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    let (code, _, err) =
        run(dir.path(), &["credential", "verify", "--trust", "trust.json", "--root-key", other_root, token]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("another root key"), "{err}");
    let (code, _, err) = run(dir.path(), &["credential", "verify", "--trust", "missing.json", token]);
    assert_eq!((code, err.contains("cannot read missing.json")), (2, true), "{err}");
    assert_eq!(run(dir.path(), &["credential", "verify", "--trust", "trust.json"]).0, 2);
    // Valid now, expired long after.
    let (code, out, _) = run(dir.path(), &["credential", "verify", "--trust", "trust.json", token]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["claims"]["purpose"], "entry authorisation v1");
    let later = (wall_clock() + chrono::Duration::days(29)).to_rfc3339();
    let (code, out, _) = run(dir.path(), &["credential", "verify", "--trust", "trust.json", "--at", &later, token]);
    assert_eq!(code, 1);
    assert!(out.contains("\"expired\"") || out.contains("\"trust_list_expired\""), "{out}");
}

fn fixture_root_x(fixture: &Fixture) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(fixture.root.public_key().as_bytes())
}

#[test]
fn demo_authorisations_list_print_export_verify_and_rotate() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (_server, _url) = serve(dir.path(), &["--demo"]);
    }
    let listed: Value = serde_json::from_str(&run_ok(dir.path(), &["credential", "list", "--json"])).unwrap();
    let listed = listed.as_array().unwrap();
    assert!(!listed.is_empty(), "the demo authorises some cases");
    let first = &listed[0];
    let id = first["id"].as_str().unwrap();
    let mission = first["mission"].as_str().unwrap().to_owned();
    let table = run_ok(dir.path(), &["credential", "list"]);
    assert!(table.contains(id), "{table}");

    let token = run_ok(dir.path(), &["credential", "print", id, "--png", "qr.png"]).trim().to_owned();
    assert!(token.starts_with("LG1:"), "{token}");
    assert!(std::fs::read(dir.path().join("qr.png")).unwrap().starts_with(b"\x89PNG"));
    let (code, _, err) = run(dir.path(), &["credential", "print", &uuid::Uuid::nil().to_string()]);
    assert_eq!(code, 1);
    assert!(err.contains("no entry authorisation"), "{err}");

    run_ok(dir.path(), &["keys", "trust-list", "--out", "trust.json"]);
    run_ok(dir.path(), &["keys", "revocations", "--out", "revocations.json"]);
    // Every mission has its key from the start, issued from or not.
    let trusted: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("trust.json")).unwrap()).unwrap();
    let missions = run_ok(dir.path(), &["missions", "list"]);
    for line in missions.lines().filter(|l| !l.trim().is_empty()) {
        let mission = line.split_whitespace().next().unwrap();
        assert!(trusted["keys"].as_array().unwrap().iter().any(|k| k["iss"] == mission), "{mission} in {trusted}");
    }
    // Now, with the revocation list: the verdict the list gives (the demo's entry windows
    // may lie ahead).
    let (code, out, err) = run(
        dir.path(),
        &["credential", "verify", "--trust", "trust.json", "--revocations", "revocations.json", &token],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let verdict = v["code"].as_str().unwrap();
    assert_eq!(code, i32::from(verdict != "valid"), "{out}{err}");
    let status = first["status"].as_str().unwrap();
    assert!(
        (status == "revoked") == (verdict == "revoked") && ["valid", "not_yet_valid", "revoked"].contains(&verdict),
        "{status}: {out}"
    );
    assert!(v["lists"]["revocations"]["seq"].as_i64().is_some(), "{v}");
    // Within its validity, by the trust list alone: the signature and the claims hold.
    let not_before: chrono::DateTime<chrono::Utc> = first["not_before"].as_str().unwrap().parse().unwrap();
    let at = (not_before + chrono::Duration::hours(1)).max(wall_clock()).to_rfc3339();
    let verify = |trust: &str| run(dir.path(), &["credential", "verify", "--trust", trust, "--at", &at, &token]);
    let (code, out, err) = verify("trust.json");
    let expected = 0;
    assert_eq!(code, expected, "{out}{err}");

    // A new issuing key: both versions stay trusted while the old one's authorisations live.
    let keys_for = |text: &str| -> usize {
        let v: Value = serde_json::from_str(text).unwrap();
        v["keys"].as_array().unwrap().iter().filter(|k| k["iss"] == mission.as_str()).count()
    };
    let before = keys_for(&std::fs::read_to_string(dir.path().join("trust.json")).unwrap());
    let out = run_ok(dir.path(), &["keys", "rotate-issuer", "--mission", &mission]);
    assert!(out.contains("version 2"), "{out}");
    run_ok(dir.path(), &["keys", "trust-list", "--out", "trust2.json"]);
    assert_eq!(keys_for(&std::fs::read_to_string(dir.path().join("trust2.json")).unwrap()), before + 1);
    let (code, _, _) = verify("trust2.json");
    assert_eq!(code, expected, "the old key still verifies what it signed");
    let (code, out, _) = run(dir.path(), &["audit", "verify"]);
    assert_eq!(code, 0, "{out}");
}
