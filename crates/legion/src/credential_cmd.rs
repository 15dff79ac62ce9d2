//! `legion credential …`: verify an entry authorisation offline, list those issued, print
//! one again.

use std::io::{BufRead as _, Read as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use legion_credential::{Refusal, RevocationList, TrustList, Verified, Verifier};
use legion_domain::{Clock as _, SystemClock};
use legion_store::Scope;
use serde_json::json;

use crate::DbArgs;

#[derive(Debug, Subcommand)]
pub enum CredentialCmd {
    /// Verifies an entry authorisation offline, against a trust list and (optionally) a
    /// revocation list exported with `legion keys trust-list` and `legion keys revocations`.
    /// Prints the verdict and the claims as JSON. Exit status: 0 valid, 1 invalid (the reason
    /// on stderr and in the JSON), 2 usage error (including a list that does not load).
    Verify {
        /// The signed trust list (JSON).
        #[arg(long)]
        trust: PathBuf,
        /// The signed revocation list (JSON).
        #[arg(long)]
        revocations: Option<PathBuf>,
        /// Verify as of this time (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<DateTime<Utc>>,
        /// The root public key the lists must be signed by (base64url, the JWK `x`); without
        /// it the lists are checked against the root key they name, which is printed.
        #[arg(long)]
        root_key: Option<String>,
        /// Verify every line of FILE (`-`: standard input), one JSON verdict per line; exit 0.
        #[arg(long, conflicts_with = "token")]
        batch: Option<PathBuf>,
        /// The `LG1:` text, or `-` to read it from standard input.
        #[arg(required_unless_present = "batch")]
        token: Option<String>,
    },
    /// Lists issued entry authorisations: id, case, mission, validity, revoked, used.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Prints the `LG1:` text of an issued entry authorisation (it carries the holder's
    /// passport data: the print is recorded in the audit log).
    Print {
        #[command(flatten)]
        db: DbArgs,
        /// The credential id.
        id: uuid::Uuid,
        /// Also write its QR code to FILE as PNG.
        #[arg(long)]
        png: Option<PathBuf>,
    },
}

pub async fn run(command: CredentialCmd) -> Result<()> {
    match command {
        CredentialCmd::Verify { trust, revocations, at, root_key, batch, token } => {
            let code =
                verify(&trust, revocations.as_deref(), at, root_key.as_deref(), batch.as_deref(), token.as_deref());
            std::process::exit(code)
        }
        CredentialCmd::List { db, json } => list(&db, json).await,
        CredentialCmd::Print { db, id, png } => print(&db, id, png.as_deref()).await,
    }
}

/// Exit status 2 with a message: the command could not be carried out as given.
fn usage(message: &str) -> i32 {
    eprintln!("error: {message}");
    2
}

fn read_text(path: &Path) -> std::io::Result<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s)
    } else {
        std::fs::read_to_string(path)
    }
}

fn verify(
    trust: &Path,
    revocations: Option<&Path>,
    at: Option<DateTime<Utc>>,
    root_key: Option<&str>,
    batch: Option<&Path>,
    token: Option<&str>,
) -> i32 {
    let pinned = match root_key.map(|k| {
        B64.decode(k.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
    }) {
        Some(None) => return usage("--root-key is not a base64url Ed25519 public key"),
        Some(Some(k)) => Some(k),
        None => None,
    };
    let trust_text = match std::fs::read_to_string(trust) {
        Ok(t) => t,
        Err(e) => return usage(&format!("cannot read {}: {e}", trust.display())),
    };
    let trust_list = match TrustList::from_json(&trust_text, pinned.as_ref()) {
        Ok(t) => t,
        Err(e) => return usage(&format!("the trust list {} does not load: {e}", trust.display())),
    };
    let root = match legion_credential::root_of(&trust_text) {
        Ok(r) => r,
        Err(e) => return usage(&format!("the trust list {} does not load: {e}", trust.display())),
    };
    if pinned.is_none() {
        eprintln!(
            "note: the lists are signed by root key {} (kid {}); pass --root-key to require it",
            B64.encode(root.as_bytes()),
            B64.encode(legion_credential::kid_of(&root))
        );
    }
    let revocation_list = match revocations {
        None => None,
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| RevocationList::from_json(&t, &root).map_err(|e| format!("does not load: {e}")))
        {
            Ok(r) => Some(r),
            Err(e) => return usage(&format!("the revocation list {}: {e}", path.display())),
        },
    };
    let now = at.unwrap_or_else(|| SystemClock.now()).timestamp();
    let verifier = Verifier::new(&trust_list, revocation_list.as_ref());
    let lists = json!({
        "trust_list": {"issued_at": trust_list.issued_at, "expires_at": trust_list.expires, "root_kid": B64.encode(legion_credential::kid_of(&root))},
        "revocations": revocation_list.as_ref().map(|r| json!({"seq": r.seq, "issued_at": r.issued_at, "expires_at": r.expires})),
    });
    if let Some(batch) = batch {
        let input: Box<dyn std::io::BufRead> = if batch.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            match std::fs::File::open(batch) {
                Ok(f) => Box::new(std::io::BufReader::new(f)),
                Err(e) => return usage(&format!("cannot read {}: {e}", batch.display())),
            }
        };
        for (n, line) in input.lines().enumerate() {
            let Ok(line) = line else { return usage("the batch is not UTF-8 text") };
            let v = verdict(&verifier.verify(&line, now));
            println!("{}", json!({"line": n + 1, "valid": v["valid"], "code": v["code"]}));
        }
        return 0;
    }
    let text = match token {
        Some("-") => match read_text(Path::new("-")) {
            Ok(t) => t,
            Err(e) => return usage(&format!("cannot read standard input: {e}")),
        },
        Some(t) => t.to_owned(),
        None => return usage("give a token, or --batch FILE"),
    };
    let result = verifier.verify(&text, now);
    let mut out = verdict(&result);
    out["lists"] = lists;
    println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
    match result {
        Ok(_) => 0,
        Err(r) => {
            eprintln!("invalid: {r}");
            1
        }
    }
}

fn verdict(result: &Result<Verified, Refusal>) -> serde_json::Value {
    match result {
        Ok(v) => json!({
            "valid": true,
            "code": "valid",
            "kid": B64.encode(v.kid),
            "claims": v.claims,
        }),
        Err(r) => json!({"valid": false, "code": r.code(), "reason": r.to_string()}),
    }
}

fn status(c: &legion_store::CredentialRecord, now: DateTime<Utc>) -> &'static str {
    if c.revoked_at.is_some() {
        "revoked"
    } else if c.crossed_at.is_some() {
        "used"
    } else if c.expires_at <= now {
        "expired"
    } else {
        "valid"
    }
}

async fn list(db: &DbArgs, json: bool) -> Result<()> {
    let store = db.open().await?;
    let credentials = store.credentials(None).await?;
    let now = SystemClock.now();
    if json {
        let rows: Vec<_> = credentials
            .iter()
            .map(|c| {
                json!({"id": c.id, "case": c.application, "mission": c.mission, "kid": c.kid,
                    "issued_at": c.issued_at, "not_before": c.not_before, "expires_at": c.expires_at,
                    "revoked": c.revoked_at.is_some(), "revoked_at": c.revoked_at, "revocation_seq": c.revocation_seq,
                    "crossed_at": c.crossed_at, "crossing_point": c.crossing_point, "status": status(c, now)})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!("{:<36}  {:<36}  {:<16}  {:<16}  {:<16}  status", "id", "case", "mission", "valid from", "valid until");
    for c in &credentials {
        println!(
            "{:<36}  {:<36}  {:<16}  {:<16}  {:<16}  {}",
            c.id,
            c.application,
            c.mission,
            c.not_before.format("%Y-%m-%d %H:%M"),
            c.expires_at.format("%Y-%m-%d %H:%M"),
            status(c, now)
        );
    }
    Ok(())
}

async fn print(db: &DbArgs, id: uuid::Uuid, png: Option<&Path>) -> Result<()> {
    let store = db.open().await?;
    let record = store.credential(id).await?.with_context(|| format!("no entry authorisation {id}"))?;
    let history = store.history(record.application, &Scope::All).await?;
    let token = history
        .iter()
        .filter(|h| h.command == "authorise" || h.command == "reissue")
        .find(|h| h.details.pointer("/credential/id").and_then(|v| v.as_str()) == Some(id.to_string().as_str()))
        .and_then(|h| h.details.pointer("/credential/token").and_then(|v| v.as_str()).map(str::to_owned));
    let Some(token) = token else {
        bail!("the text of {id} cannot be read (its mission's data may have been shredded)");
    };
    let event = legion_store::AuditEvent {
        mission: Some(record.mission.to_string()),
        ..crate::cli_audit(&SystemClock, "credential.print", format!("credential:{id}"))
    };
    store.append_audit(&event).await?;
    if let Some(path) = png {
        let image = legion_credential::qr::png(&token, 8)?;
        std::fs::write(path, image).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("{token}");
    Ok(())
}
