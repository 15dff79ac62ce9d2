//! `legion audit`: verify the tamper-evident audit log, sign a checkpoint of it now, print the
//! key checkpoints verify under.
//!
//! Exit codes: 0 when everything verifies (or the command did its work), 1 when the log or a
//! checkpoint does not verify, 2 on a usage, key, file or database error.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use legion_audit::CheckpointVerifier;
use legion_domain::{Clock, SystemClock};
use legion_store::{CheckpointOutcome, Store, VerifyError, VerifyReport, replay_audit_log, sign_checkpoint};

use crate::{DbArgs, keys, redact};

/// Verification found the log or a checkpoint wrong.
const EXIT_TAMPERED: i32 = 1;
/// Bad usage, a missing key, an unreadable file or database.
const EXIT_ERROR: i32 = 2;

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Recomputes the whole audit log from the database and checks every signed checkpoint,
    /// stored or kept elsewhere. Exit 0 only if all verify; 1 names the first bad entry (seq N)
    /// or the bad checkpoint; 2 on a usage, key, file or database error.
    Verify {
        #[command(flatten)]
        db: DbArgs,
        /// Checkpoint notes kept outside the database: a note file, or a directory whose *.note
        /// files are read. May be given more than once.
        #[arg(long, value_name = "FILE|DIR")]
        checkpoints: Vec<PathBuf>,
        /// The key checkpoints must be signed with, as verifier-key text (NAME+HASH+KEY, as
        /// `legion audit verifier-key` prints it) or a file holding it. Default: derived from the
        /// checkpoint key in the data directory.
        #[arg(long, value_name = "TEXT|FILE")]
        verifier_key: Option<String>,
    },
    /// Verifies the log, signs a checkpoint of it as it is now, stores it in the database and
    /// writes the signed note to FILE, for a second party (a witness) to keep.
    Checkpoint {
        #[command(flatten)]
        db: DbArgs,
        /// Where to write the signed note.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Prints the public verifier key of the checkpoint key (Go note format), for a second party
    /// to verify checkpoints with.
    VerifierKey {
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Runs an audit command and exits with its code when that is not 0.
pub async fn run(command: AuditCmd) -> Result<()> {
    let code = match dispatch(command).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_ERROR
        }
    };
    if code != 0 {
        let _ = std::io::stdout().flush();
        std::process::exit(code);
    }
    Ok(())
}

async fn dispatch(command: AuditCmd) -> Result<i32> {
    match command {
        AuditCmd::Verify { db, checkpoints, verifier_key } => verify(&db, &checkpoints, verifier_key.as_deref()).await,
        AuditCmd::Checkpoint { db, out } => checkpoint(&db, &out).await,
        AuditCmd::VerifierKey { db } => {
            let signer = keys::checkpoint_signer(&db.key_dir(), &db.audit_origin, false)?;
            println!("{}", signer.verifier().verifier_key());
            Ok(0)
        }
    }
}

/// The key checkpoints must verify under: given as text or a file, or derived from the key file.
fn verifier(db: &DbArgs, given: Option<&str>) -> Result<CheckpointVerifier> {
    let Some(given) = given else {
        return Ok(keys::checkpoint_signer(&db.key_dir(), &db.audit_origin, false)?.verifier());
    };
    if let Ok(verifier) = CheckpointVerifier::from_verifier_key(given.trim()) {
        return Ok(verifier);
    }
    let text = std::fs::read_to_string(given)
        .with_context(|| format!("--verifier-key {given:?} is neither a verifier key nor a readable file"))?;
    CheckpointVerifier::from_verifier_key(text.trim()).with_context(|| format!("{given} does not hold a verifier key"))
}

/// The notes in each path: a file itself, or a directory's `*.note` files in name order.
fn read_notes(paths: &[PathBuf]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut notes = Vec::new();
    for path in paths {
        let mut files = Vec::new();
        if path.is_dir() {
            for entry in std::fs::read_dir(path).with_context(|| format!("cannot read {}", path.display()))? {
                let file = entry.with_context(|| format!("cannot read {}", path.display()))?.path();
                if file.extension().is_some_and(|e| e == "note") && file.is_file() {
                    files.push(file);
                }
            }
            files.sort();
        } else {
            files.push(path.clone());
        }
        for file in files {
            let note = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            notes.push((file.display().to_string(), note));
        }
    }
    Ok(notes)
}

/// Opens the database to read it only: read-only connections (a SQLite file keeps its bytes
/// and journal mode; PostgreSQL refuses writes), no migration, no key files (the audit log
/// holds no personal data), and a missing SQLite file is an error rather than a new empty log.
async fn open_for_reading(db: &DbArgs) -> Result<Arc<dyn Store>> {
    let url = db.url();
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let path = Path::new(path.split('?').next().unwrap_or(path));
        if !url.contains(":memory:") && !path.is_file() {
            bail!("no database at {}", path.display());
        }
    }
    legion_store::open_read_only(&url, Arc::new(legion_store::Keys::ephemeral()))
        .await
        .map_err(|e| anyhow::anyhow!("opening {}: {e}", redact(&url)))
}

async fn verify(db: &DbArgs, checkpoint_paths: &[PathBuf], verifier_key: Option<&str>) -> Result<i32> {
    let verifier = verifier(db, verifier_key)?;
    let external = read_notes(checkpoint_paths)?;
    let files = external.len();
    let store = open_for_reading(db).await?;
    // The key's name is the log's origin: Legion signs under the origin it names.
    match legion_store::verify_audit_log(&*store, &verifier, verifier.key_name(), external).await {
        Ok(report) => {
            print_report(&report, files);
            Ok(0)
        }
        Err(e) => failed(&e),
    }
}

fn print_report(report: &VerifyReport, files: usize) {
    println!("audit log verified: {} events, each following its hash chain from seq 1", report.events);
    println!("root: {}", report.root.to_hex());
    println!(
        "checkpoints: {} verified ({} in the database, {files} from files)",
        report.checkpoints, report.stored_checkpoints
    );
    match report.largest_checkpoint {
        Some(size) => println!("the largest checkpoint covers {size} events"),
        None => println!("no signed checkpoint covers the log yet: only the hash chain protects it"),
    }
    if report.largest_checkpoint.is_some() && report.unsigned_events() > 0 {
        println!(
            "{} newest events are not yet covered by a checkpoint: the hash chain alone protects them",
            report.unsigned_events()
        );
    }
}

/// Reports a failed verification: 1 for a log or checkpoint that does not verify, 2 when the
/// database could not be read.
fn failed(e: &VerifyError) -> Result<i32> {
    if !e.is_tampering() {
        bail!("{e}");
    }
    println!("audit log verification FAILED: {e}");
    if let Some(seq) = e.seq() {
        println!("first bad entry: seq {seq}");
    }
    Ok(EXIT_TAMPERED)
}

async fn checkpoint(db: &DbArgs, out: &Path) -> Result<i32> {
    let signer = keys::load_or_create_for(&db.key_dir(), &db.audit_origin)?.checkpoint;
    let origin = signer.key_name().to_owned();
    let store = db.open().await?;
    // Never sign over a log that does not verify, nor beside checkpoints of another key.
    let (log, report) = match replay_audit_log(&*store, &signer.verifier(), &origin, Vec::new()).await {
        Ok(verified) => verified,
        Err(e) => {
            let code = failed(&e)?;
            println!("no checkpoint was signed");
            return Ok(code);
        }
    };
    let Some(row) = sign_checkpoint(&log, &signer, &origin, SystemClock.now())? else {
        bail!("the audit log is empty: there is nothing to sign");
    };
    let outcome = store.insert_checkpoint(&row).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::write(out, &row.note).with_context(|| format!("cannot write {}", out.display()))?;
    let stored = match outcome {
        CheckpointOutcome::Stored => "stored in the database",
        CheckpointOutcome::Exists => "already stored in the database",
    };
    println!("signed a checkpoint of {} events (root {}), {stored}", report.events, row.root);
    println!("note written to {}", out.display());
    Ok(0)
}
