//! `legion keys …`: the keys that protect personal data at rest. Lists them, rotates the
//! key-encryption key and a mission's data key, and crypto-shreds a mission.
//!
//! Every command works while servers run on the same database: a server re-reads a
//! mission's data keys at least every 30 seconds, and at once when it meets a key version it
//! does not know, and re-reads the key directory when it meets an unknown KEK version.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use clap::Subcommand;
use legion_domain::{Clock, MissionId, SystemClock};
use legion_store::{AuditEvent, DataKeyInfo, Store, StoreError};
use legion_web::credentials::CredentialKeys;

use crate::DbArgs;

/// How long after a data key rotation a server may still seal new data under the old key:
/// the store's 30-second key cache, and a margin for requests in flight.
const DEFAULT_WAIT_SECS: u64 = 35;
/// Re-encryption passes before giving up while old-key writes keep arriving.
const MAX_PASSES: u32 = 5;

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Lists every mission's data keys: version, the KEK version it is wrapped under, when it
    /// was created and destroyed. Never prints key material.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rotates the key-encryption key (KEK): creates keys/kek-N+1.key, rewraps every data key
    /// under it in one transaction, then deletes the older kek-*.key files once no data key
    /// is wrapped under them. Rows are not touched.
    ///
    /// Safe to run again after a crash: if data keys are still wrapped under an older KEK, or
    /// older KEK files are left, it finishes that rotation instead of starting another. Every
    /// server sharing the database must use this key directory.
    RotateKek {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Rotates a mission's data key: creates its next version (used for new data at once),
    /// re-seals every case of the mission under it in batches (progress on stderr), then
    /// destroys the older versions once nothing is sealed under them.
    ///
    /// Interrupted (crash, Ctrl-C)? Run it again with --resume: it creates no new key and
    /// carries on re-sealing what is still under an older one. Each row is re-sealed by
    /// compare-and-set, so cases changed meanwhile are simply picked up by the next pass.
    RotateData {
        #[command(flatten)]
        db: DbArgs,
        /// The mission, e.g. pl-warsaw.
        #[arg(long)]
        mission: String,
        /// Cases per batch.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        batch: u32,
        /// Continue an interrupted rotation: re-seal under the current key without creating one.
        #[arg(long)]
        resume: bool,
        /// Seconds to let pass after the new key was created before old keys are destroyed, so
        /// that running servers (which cache keys for 30 s) no longer seal under them.
        #[arg(long, default_value_t = DEFAULT_WAIT_SECS)]
        wait: u64,
    },
    /// Crypto-shreds a mission: destroys all its data keys, so the personal data of its cases
    /// (details, flags, history notes, documents) can never be read again; reads answer 410
    /// Gone. State, dates and the audit trail remain. New applications to the mission get a
    /// new key. Running servers drop their cached keys within 30 s.
    ///
    /// Then rotates the KEK as `rotate-kek` does (new kek-N+1.key, every other data key
    /// rewrapped, older kek-*.key files deleted): copies of the destroyed keys left in the
    /// database files or in backups stay wrapped under a KEK that no longer exists. A backup
    /// of the database taken before the shred can be read only with the old KEK file: destroy
    /// every copy of that file (or those backups), or the shredded data can be recovered.
    Shred {
        #[command(flatten)]
        db: DbArgs,
        /// The mission, e.g. pl-warsaw.
        #[arg(long)]
        mission: String,
        /// Confirms that the data is to be destroyed for good.
        #[arg(long)]
        yes: bool,
    },
    /// Writes the trust list border posts load: every key that may sign entry
    /// authorisations, as RFC 8037 JWKs, signed by the root key (valid 30 days). The root
    /// key's public form is printed on stderr, for verifiers to pin.
    TrustList {
        #[command(flatten)]
        db: DbArgs,
        /// Where to write it (`-`: standard output).
        #[arg(long)]
        out: PathBuf,
    },
    /// Writes the signed revocation list: revoked authorisations not yet expired, with the
    /// number of the last revocation and the issue time, so a stale list shows (valid 2 days).
    Revocations {
        #[command(flatten)]
        db: DbArgs,
        /// Where to write it (`-`: standard output).
        #[arg(long)]
        out: PathBuf,
    },
    /// Creates a new issuing key for a mission: it signs every authorisation from now on;
    /// the older key stays in the trust list until the last authorisation it signed expires.
    /// Running servers pick it up at their next issue (they read the key directory).
    RotateIssuer {
        #[command(flatten)]
        db: DbArgs,
        /// The mission, e.g. pl-warsaw.
        #[arg(long)]
        mission: String,
    },
}

/// An operator's audit event about a mission.
fn mission_audit(clock: &dyn Clock, action: &str, mission: &MissionId) -> AuditEvent {
    AuditEvent { mission: Some(mission.to_string()), ..crate::cli_audit(clock, action, format!("mission:{mission}")) }
}

pub async fn run(command: KeysCmd) -> Result<()> {
    match command {
        KeysCmd::List { db, json } => list(&db, json).await,
        KeysCmd::RotateKek { db } => rotate_kek(&db).await,
        KeysCmd::RotateData { db, mission, batch, resume, wait } => {
            rotate_data(&db, &mission, batch, resume, Duration::from_secs(wait)).await
        }
        KeysCmd::Shred { db, mission, yes } => shred(&db, &mission, yes).await,
        KeysCmd::TrustList { db, out } => export_list(&db, &out, true).await,
        KeysCmd::Revocations { db, out } => export_list(&db, &out, false).await,
        KeysCmd::RotateIssuer { db, mission } => rotate_issuer(&db, &mission).await,
    }
}

fn credential_keys(db: &DbArgs) -> Result<CredentialKeys> {
    CredentialKeys::open(&db.key_dir())
        .with_context(|| format!("cannot open the credential keys in {}", db.key_dir().display()))
}

/// Writes the signed trust list (`trust`) or revocation list to `out`.
async fn export_list(db: &DbArgs, out: &Path, trust: bool) -> Result<()> {
    let store = db.open().await?;
    let keys = credential_keys(db)?;
    let now = SystemClock.now();
    let text = if trust {
        let list =
            legion_web::credentials::trust_list(&keys, &*store, now).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        eprintln!("{} keys", list.keys.len());
        keys.root().sign_trust_list(&list)
    } else {
        let list = legion_web::credentials::revocation_list(&*store, now).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        eprintln!("{} revoked, sequence number {}", list.revoked.len(), list.seq);
        keys.root().sign_revocations(&list)
    };
    let root = keys.root().public_key();
    eprintln!(
        "signed by root key x={} kid={}",
        B64.encode(root.as_bytes()),
        B64.encode(legion_credential::kid_of(&root))
    );
    if out.as_os_str() == "-" {
        println!("{text}");
    } else {
        let tmp = out.with_extension("tmp");
        std::fs::write(&tmp, format!("{text}\n")).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, out).with_context(|| format!("cannot write {}", out.display()))?;
    }
    Ok(())
}

async fn rotate_issuer(db: &DbArgs, mission: &str) -> Result<()> {
    let store = db.open().await?;
    let id = known_mission(&*store, mission).await?;
    let keys = credential_keys(db)?;
    let rotated = keys.rotate(id.as_str()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let kid = hex::encode(rotated.key.kid());
    store.append_audit(&mission_audit(&SystemClock, "credential_key.rotate", &id)).await?;
    println!("{id}: issuing key version {} (kid {kid}) signs from now on", rotated.version);
    Ok(())
}

/// The mission, if the database knows it.
async fn known_mission(store: &dyn Store, mission: &str) -> Result<MissionId> {
    let id = MissionId::parse(mission).map_err(|m| anyhow::anyhow!("mission id {m}"))?;
    if !store.missions().await?.iter().any(|m| m.id == id) {
        bail!("no mission {id} (see `legion missions list`)");
    }
    Ok(id)
}

fn live(keys: &[DataKeyInfo]) -> impl Iterator<Item = &DataKeyInfo> {
    keys.iter().filter(|k| k.destroyed_at.is_none())
}

async fn list(db: &DbArgs, json: bool) -> Result<()> {
    let (store, keys) = db.open_with_keys().await?;
    let kek_versions = keys.versions()?;
    let data_keys = store.data_keys().await?;
    let current = |k: &DataKeyInfo| live(&data_keys).filter(|l| l.mission == k.mission).map(|l| l.version).max();
    let status = |k: &DataKeyInfo| match (k.destroyed_at, current(k)) {
        (Some(_), _) => "destroyed",
        (None, Some(v)) if v == k.version => "current",
        (None, _) => "previous",
    };
    if json {
        let rows: Vec<_> = data_keys
            .iter()
            .map(|k| {
                serde_json::json!({"mission": k.mission, "version": k.version, "kek_version": k.kek_version,
                    "created_at": k.created_at, "destroyed_at": k.destroyed_at, "status": status(k)})
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"kek_versions": kek_versions, "data_keys": rows}))?
        );
        return Ok(());
    }
    let files: Vec<String> = kek_versions.iter().map(|v| format!("kek-{v}.key")).collect();
    println!("key-encryption keys in {}: {}", db.key_dir().display(), files.join(", "));
    println!("{:<20} {:>7} {:>4}  {:<10} {:<25} destroyed", "mission", "version", "kek", "status", "created");
    for k in &data_keys {
        let destroyed = k.destroyed_at.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339());
        println!(
            "{:<20} {:>7} {:>4}  {:<10} {:<25} {destroyed}",
            k.mission,
            k.version,
            k.kek_version,
            status(k),
            k.created_at.to_rfc3339()
        );
    }
    Ok(())
}

async fn rotate_kek(db: &DbArgs) -> Result<()> {
    let (store, keys) = db.open_with_keys().await?;
    rewrap_under_new_kek(db, &*store, &keys, false).await
}

/// A live data key wrapped under a KEK whose file is not in the key directory: no rotation
/// can rewrap it.
fn missing_kek(db: &DbArgs, keys: &legion_store::Keys, data_keys: &[DataKeyInfo]) -> Result<()> {
    let files = keys.versions()?;
    if let Some(k) = live(data_keys).find(|k| !files.iter().any(|v| i64::from(*v) == k.kek_version)) {
        bail!(
            "data key {} v{} is wrapped under kek-{}.key, which is not in {}; restore that file first",
            k.mission,
            k.version,
            k.kek_version,
            db.key_dir().display()
        );
    }
    Ok(())
}

/// The KEK rotation: rewraps every live data key under the current KEK (a new one, unless an
/// earlier run left its rotation unfinished and `always_new` is not set), then deletes the
/// older KEK files once the database shows nothing wrapped under them.
async fn rewrap_under_new_kek(
    db: &DbArgs,
    store: &dyn Store,
    keys: &legion_store::Keys,
    always_new: bool,
) -> Result<()> {
    let files = keys.versions()?;
    let data_keys = store.data_keys().await?;
    missing_kek(db, keys, &data_keys)?;
    let current = keys.current().version().0;
    let unfinished = live(&data_keys).any(|k| k.kek_version < i64::from(current)) || files.iter().any(|v| *v < current);
    let target = if unfinished && !always_new {
        println!("finishing the rotation to kek-{current}.key that an earlier run started");
        current
    } else {
        let next = keys.create_next()?;
        println!("created {}", db.key_dir().join(format!("kek-{next}.key")).display());
        next
    };
    let audit = crate::cli_audit(&SystemClock, "kek.rotate", format!("kek:{target}"));
    let changed = store.rewrap_data_keys(&audit).await?;
    println!("rewrapped {changed} data keys under kek-{target}.key");

    // Only what the database now says decides what may go: a server that created a data key
    // under an older KEK meanwhile keeps that KEK alive until the next run.
    let data_keys = store.data_keys().await?;
    if let Some(k) = live(&data_keys).find(|k| k.kek_version != i64::from(target)) {
        bail!(
            "data key {} v{} is still wrapped under kek-{}.key, so no KEK file was deleted; \
             run `legion keys rotate-kek` again",
            k.mission,
            k.version,
            k.kek_version
        );
    }
    for path in keys.remove_old()? {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let version = name.trim_start_matches("kek-").trim_end_matches(".key");
        let audit = crate::cli_audit(&SystemClock, "kek.delete", format!("kek:{version}"));
        store.append_audit(&audit).await?;
        println!("deleted {}", path.display());
    }
    Ok(())
}

async fn rotate_data(db: &DbArgs, mission: &str, batch: u32, resume: bool, wait: Duration) -> Result<()> {
    let store = db.open().await?;
    let mission = known_mission(&*store, mission).await?;
    let clock = SystemClock;
    if resume {
        let keys = store.data_keys().await?;
        let Some(current) = live(&keys).filter(|k| k.mission == mission.as_str()).map(|k| k.version).max() else {
            bail!("mission {mission} has no data key yet: nothing to resume");
        };
        println!("resuming: re-sealing the cases of {mission} under its data key v{current}");
    } else {
        let version = store.rotate_data_key(&mission, &mission_audit(&clock, "key.rotate", &mission)).await?;
        println!("created data key {mission} v{version}; re-sealing the cases of {mission} under it");
    }
    let keys = store.data_keys().await?;
    let mut versions: Vec<&DataKeyInfo> = live(&keys).filter(|k| k.mission == mission.as_str()).collect();
    versions.sort_by_key(|k| k.version);
    let Some((newest, older)) = versions.split_last() else { bail!("the mission's new data key is missing") };
    if older.is_empty() {
        // No older live key: nothing to re-seal, nothing to destroy.
        println!("{mission}: no older data keys to destroy");
        return Ok(());
    }
    let created = newest.created_at;
    let settled = created + chrono::Duration::from_std(wait).context("--wait is too long")?;

    for pass in 1..=MAX_PASSES {
        let (scanned, changed) = reencrypt(&*store, &mission, batch).await?;
        eprintln!("{mission}: pass {pass}: {scanned} cases checked, {changed} re-sealed");
        if let Ok(left) = (settled - clock.now()).to_std() {
            eprintln!("{mission}: waiting {} s until running servers use only the new key", left.as_secs());
            tokio::time::sleep(left).await;
            // Anything a server sealed under the old key until now is found by the next pass.
            continue;
        }
        match store.retire_data_keys(&mission, &mission_audit(&clock, "key.retire", &mission)).await {
            Ok(versions) if versions.is_empty() => {
                println!("{mission}: no older data keys to destroy");
                return Ok(());
            }
            Ok(versions) => {
                let versions: Vec<String> = versions.iter().map(|v| format!("v{v}")).collect();
                println!("{mission}: destroyed data key {}", versions.join(", "));
                return Ok(());
            }
            Err(StoreError::Conflict) => {
                eprintln!("{mission}: cases were written under an older key meanwhile; checking again");
            }
            Err(e) => return Err(e.into()),
        }
    }
    bail!(
        "cases of {mission} are still being written under an older data key; the new key is in use, \
         run `legion keys rotate-data --mission {mission} --resume` to finish"
    )
}

/// One pass over the mission's cases; returns (checked, re-sealed).
async fn reencrypt(store: &dyn Store, mission: &MissionId, batch: u32) -> Result<(u64, u64)> {
    let (mut scanned, mut changed, mut after) = (0, 0, None);
    loop {
        let by = mission_audit(&SystemClock, "application.reseal", mission);
        let b = store.reencrypt_batch(mission, after, batch, &by).await?;
        scanned += b.scanned;
        changed += b.changed;
        if b.scanned > 0 {
            eprintln!("{mission}: {scanned} cases checked, {changed} re-sealed");
        }
        match b.next_after {
            Some(next) => after = Some(next),
            None => return Ok((scanned, changed)),
        }
    }
}

async fn shred(db: &DbArgs, mission: &str, yes: bool) -> Result<()> {
    if !yes {
        bail!(
            "refusing to shred mission {mission} without --yes: the personal data of all its cases \
             would be destroyed for good"
        );
    }
    let (store, keys) = db.open_with_keys().await?;
    let mission = known_mission(&*store, mission).await?;
    // The KEK rotation below must be able to run, or the destroyed keys' old bytes would stay
    // unwrappable: refuse before destroying anything.
    missing_kek(db, &keys, &store.data_keys().await?)?;
    let cases: i64 = store.state_counts().await?.iter().filter(|c| c.mission == mission).map(|c| c.count).sum();
    let destroyed = store.shred_mission(&mission, &mission_audit(&SystemClock, "mission.shred", &mission)).await?;
    println!(
        "destroyed {destroyed} data keys of {mission}: the personal data of its {cases} cases can no longer be read"
    );
    // The destroyed keys' wrapped bytes outlive the row update (SQLite's write-ahead log and
    // free pages, PostgreSQL's dead tuples, backups). A new KEK, with every older KEK file
    // deleted, leaves no key that could unwrap them.
    rewrap_under_new_kek(db, &*store, &keys, true).await.with_context(|| {
        format!(
            "{mission} is shredded, but the KEK that wrapped its keys could not be retired; \
             run `legion keys rotate-kek` until it deletes the older kek-*.key files"
        )
    })
}
