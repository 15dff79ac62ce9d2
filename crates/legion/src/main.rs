//! The `legion` binary: the server and the operators' commands.

// Doc comments on the CLI types are the `--help` text people read, not rustdoc.
#![allow(clippy::doc_markdown)]

mod audit_cmd;
mod bench;
mod bench_crash;
mod bench_credential;
mod bench_load;
mod bench_screening;
mod credential_cmd;
mod demo;
mod documents;
mod keys;
mod keys_cmd;
mod screen_cmd;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use legion_domain::{Clock, CountryCode, Mission, MissionId, PolicySet, SystemClock, Username};
use legion_screening::variants::Variants;
use legion_store::{AuditEvent, Store};
use legion_web::{AppState, OsRandom, WebConfig};

/// Legion: applications to the International Legion, from the embassy to the decision.
#[derive(Debug, Parser)]
#[command(name = "legion", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Args, Clone)]
struct DbArgs {
    /// Directory for the SQLite database and key files.
    #[arg(long, env = "LEGION_DATA_DIR", default_value = "./legion-data")]
    data_dir: PathBuf,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB (default: SQLite in the data directory).
    #[arg(long, env = "LEGION_DB")]
    db: Option<String>,
    /// Where uploaded documents go, sealed: s3://BUCKET/PREFIX (credentials from AWS_* variables)
    /// or file:///DIR (default: the documents directory in the data directory).
    #[arg(long, env = "LEGION_DOCUMENTS")]
    documents: Option<String>,
    /// The audit log's name, the first line of every signed checkpoint. Set once per deployment
    /// (witnesses tell logs apart by it); changing it later makes older checkpoints fail.
    #[arg(long, env = "LEGION_AUDIT_ORIGIN", default_value = keys::DEFAULT_AUDIT_ORIGIN)]
    audit_origin: String,
}

impl DbArgs {
    fn url(&self) -> String {
        self.db.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("legion.db").display()))
    }

    /// SQLite and key files in `dir`, every other setting at its default (benchmarks).
    fn in_dir(dir: &std::path::Path) -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            db: DbArgs,
        }
        Only::parse_from([std::ffi::OsStr::new("legion"), "--data-dir".as_ref(), dir.as_os_str()]).db
    }

    /// Key files live beside the database, never in it.
    fn key_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }

    async fn open(&self) -> Result<Arc<dyn Store>> {
        Ok(self.open_with_keys().await?.0)
    }

    /// The store and the key-encryption keys it seals under (which `legion keys` rotates).
    async fn open_with_keys(&self) -> Result<(Arc<dyn Store>, Arc<legion_store::Keys>)> {
        let url = self.url();
        if url.starts_with("sqlite:") && self.db.is_none() {
            std::fs::create_dir_all(&self.data_dir)
                .with_context(|| format!("cannot create data directory {}", self.data_dir.display()))?;
        }
        let keys = legion_store::Keys::load_or_create(&self.key_dir()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let keys = Arc::new(keys);
        let store = legion_store::open(&url, Arc::clone(&keys)).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        store.migrate().await.map_err(|e| anyhow::anyhow!("migrating {}: {e}", redact(&url)))?;
        Ok((store, keys))
    }
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Runs the server.
    Serve {
        #[command(flatten)]
        db: DbArgs,
        /// Address to listen on.
        #[arg(long, env = "LEGION_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Seeds demo missions, staff and applications (once) and prints how to sign in.
        #[arg(long)]
        demo: bool,
        /// Mark cookies Secure (when served over HTTPS, e.g. behind a TLS proxy).
        #[arg(long, env = "LEGION_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Directory of watchlist files (FollowTheMoney JSON lines, UN XML, CSV) screening
        /// checks against; reloaded on SIGHUP and when the files change. Default:
        /// DATA_DIR/watchlists.
        #[arg(long, env = "LEGION_WATCHLISTS")]
        watchlists: Option<PathBuf>,
        /// Known spellings of names across scripts, one group a line (`form, form, … => id`,
        /// as the name-variant corpus exported from Wikidata), so that 安東尼森 meets
        /// Antonissen. Default: DATA_DIR/name-variants.txt when it exists; without it,
        /// transliteration rules alone.
        #[arg(long, env = "LEGION_NAME_VARIANTS")]
        name_variants: Option<PathBuf>,
    },
    /// Screening: score name pairs, screen people against watchlists.
    Screen {
        #[command(subcommand)]
        command: screen_cmd::ScreenCmd,
    },
    /// Applies database migrations and exits.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Staff accounts.
    Users {
        #[command(subcommand)]
        command: UsersCmd,
    },
    /// Missions and the countries they cover.
    Missions {
        #[command(subcommand)]
        command: MissionsCmd,
    },
    /// Keys protecting personal data at rest: list, rotate, crypto-shred.
    Keys {
        #[command(subcommand)]
        command: keys_cmd::KeysCmd,
    },
    /// Entry authorisations: verify one offline, list those issued, print one again.
    Credential {
        #[command(subcommand)]
        command: credential_cmd::CredentialCmd,
    },
    /// The tamper-evident audit log: verify it, sign a checkpoint now, print the verifier key.
    Audit {
        #[command(subcommand)]
        command: audit_cmd::AuditCmd,
    },
    /// Benchmarks: measured speed beside this machine's raw limits (see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        command: bench::BenchCmd,
    },
    /// Case counts per mission and state.
    Stats {
        #[command(flatten)]
        db: DbArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCmd {
    /// Creates an account. The password is read from LEGION_PASSWORD, or generated and printed.
    Add {
        #[command(flatten)]
        db: DbArgs,
        /// Sign-in name.
        #[arg(long)]
        username: String,
        /// Role: mission_officer, mission_head, vetting_officer, border_officer, reception_officer, records_officer, auditor, admin.
        #[arg(long)]
        role: String,
        /// Mission (for mission officers and heads).
        #[arg(long)]
        mission: Option<String>,
        /// Display name (defaults to the username).
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Lists accounts.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Disables an account and ends its sessions.
    Disable {
        #[command(flatten)]
        db: DbArgs,
        /// Sign-in name.
        username: String,
    },
}

#[derive(Debug, Subcommand)]
enum MissionsCmd {
    /// Creates or replaces a mission.
    Add {
        #[command(flatten)]
        db: DbArgs,
        /// Slug, e.g. pl-warsaw.
        #[arg(long)]
        id: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Country the mission sits in (ISO 3166-1 alpha-2).
        #[arg(long)]
        country: String,
        /// Countries of residence it covers, comma-separated.
        #[arg(long, default_value = "")]
        covers: String,
        /// Also takes applications from countries no mission covers.
        #[arg(long)]
        regional: bool,
    },
    /// Lists missions.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
}

/// Hides the password in a database URL before it is logged.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn cli_audit(clock: &dyn Clock, action: &str, object: String) -> AuditEvent {
    AuditEvent {
        at: clock.now(),
        actor: "cli".into(),
        role: "operator".into(),
        mission: None,
        action: action.into(),
        object,
        outcome: "ok".into(),
    }
}

fn state_for(db: &DbArgs, store: Arc<dyn Store>, config: WebConfig) -> Result<AppState> {
    let keys = keys::load_or_create_for(&db.key_dir(), &db.audit_origin)?;
    let documents = documents::open(db.documents.as_deref(), &db.data_dir)?;
    Ok(AppState::new(store, documents, Arc::new(SystemClock), Arc::new(OsRandom), PolicySet::builtin(), keys, config))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LEGION_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Cmd::Serve { db, listen, demo, secure_cookies, watchlists, name_variants } => {
            let watchlists = watchlists.unwrap_or_else(|| db.data_dir.join("watchlists"));
            let name_variants = name_variants.or_else(|| {
                let default = db.data_dir.join("name-variants.txt");
                default.exists().then_some(default)
            });
            let known_spellings = name_variants.as_deref().map(read_name_variants).transpose()?;
            serve(db, listen, demo, secure_cookies, watchlists, known_spellings).await
        }
        Cmd::Screen { command } => screen_cmd::run(command),
        Cmd::Migrate { db } => {
            db.open().await?;
            println!("migrations applied to {}", redact(&db.url()));
            Ok(())
        }
        Cmd::Users { command } => users(command).await,
        Cmd::Missions { command } => missions(command).await,
        Cmd::Keys { command } => keys_cmd::run(command).await,
        Cmd::Audit { command } => audit_cmd::run(command).await,
        Cmd::Credential { command } => credential_cmd::run(command).await,
        Cmd::Bench { command } => bench::run(command).await,
        Cmd::Stats { db, json } => {
            let store = db.open().await?;
            let counts = store.state_counts().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&counts)?);
            } else {
                for c in counts {
                    println!("{:<20} {:<22} {:>8}", c.mission, c.state, c.count);
                }
            }
            Ok(())
        }
    }
}

/// Reads the known spellings of names; a file that cannot be read stops the start.
pub(crate) fn read_name_variants(path: &std::path::Path) -> Result<Arc<Variants>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open the name variants {}", path.display()))?;
    let (variants, skipped) = Variants::read(std::io::BufReader::new(file), |_| true)
        .with_context(|| format!("cannot read the name variants {}", path.display()))?;
    tracing::info!(
        groups = variants.len(),
        spellings = variants.spellings(),
        malformed_lines = skipped.malformed,
        "known spellings of names loaded"
    );
    Ok(Arc::new(variants))
}

async fn serve(
    db: DbArgs,
    listen: SocketAddr,
    demo: bool,
    secure_cookies: bool,
    watchlists: PathBuf,
    known_spellings: Option<Arc<Variants>>,
) -> Result<()> {
    let store = db.open().await?;
    let config =
        WebConfig { secure_cookies, watchlist_dir: Some(watchlists.clone()), known_spellings, ..WebConfig::default() };
    let state = state_for(&db, store, config)?;
    // Screening without the lists it was given would miss listed people: refuse to start.
    legion_web::service::load_watchlists(&state)
        .await
        .map_err(|e| anyhow::anyhow!("{e} (directory {})", watchlists.display()))?;
    // The files may have changed while the server was down: open cases are screened against
    // them again, in the background, while the server starts serving.
    let rescreen = state.clone();
    tokio::spawn(async move {
        if let Err(e) = legion_web::service::rescreen_at_start(&rescreen).await {
            tracing::warn!(error = %e, "re-screening open cases after start failed");
        }
    });
    legion_web::service::spawn_watchlist_watcher(state.clone());
    spawn_reload_on_hangup(state.clone());
    if demo {
        demo::seed(&state, &db.data_dir).await?;
    } else if state.store.missions().await.map_err(|e| anyhow::anyhow!("{e}"))?.is_empty() {
        tracing::warn!("no missions configured: add one with `legion missions add`, or start with --demo");
    }
    // Every mission's issuing key exists from the start: the trust list border posts load
    // before any authorisation is issued already holds them.
    for m in state.store.missions().await.map_err(|e| anyhow::anyhow!("{e}"))? {
        state.keys.credentials.issuer(m.id.as_str()).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    legion_web::service::spawn_screening_worker(state.clone());
    legion_web::checkpoints::spawn_checkpointer(state.clone());
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!("Legion listening on http://{addr} (database: {})", redact(&db.url()));
    axum::serve(listener, legion_web::router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Reloads the watchlists on `SIGHUP`, as daemons reload their configuration.
fn spawn_reload_on_hangup(state: AppState) {
    tokio::spawn(async move {
        let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; watchlists reload when their files change");
            return;
        };
        while hangup.recv().await.is_some() {
            if let Err(e) = legion_web::service::reload_watchlists(&state).await {
                tracing::warn!(error = %e, "watchlist reload failed; the previous lists stay in use");
            }
        }
    });
}

async fn users(command: UsersCmd) -> Result<()> {
    match command {
        UsersCmd::Add { db, username, role, mission, display_name } => {
            let store = db.open().await?;
            let state = state_for(&db, store, WebConfig::default())?;
            let (password, generated) = match std::env::var("LEGION_PASSWORD") {
                Ok(p) if !p.is_empty() => (p, false),
                _ => (keys::random_password(), true),
            };
            let body = legion_web::admin_api::NewStaffBody {
                display_name: display_name.unwrap_or_else(|| username.clone()),
                username,
                password: password.clone(),
                role,
                mission,
            };
            let n = match legion_web::admin_api::new_staff(&state, body).await {
                Ok(n) => n,
                Err(legion_web::AppError::Validation(fields)) => bail!("invalid account: {fields}"),
                Err(e) => bail!("{e}"),
            };
            let audit = cli_audit(state.clock.as_ref(), "staff.create", format!("staff:{}", n.id));
            state.store.create_staff(&n, &audit).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created {} ({})", n.username, n.role);
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
        UsersCmd::List { db, json } => {
            let store = db.open().await?;
            let all = store.list_staff().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|s| {
                        serde_json::json!({"username": s.username, "display_name": s.display_name, "role": s.role,
                            "mission": s.mission, "disabled": s.disabled, "created_at": s.created_at})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for s in all {
                    let mission = s.mission.as_ref().map_or("-", MissionId::as_str);
                    let status = if s.disabled { "disabled" } else { "active" };
                    println!("{:<24} {:<18} {:<16} {}", s.username, s.role, mission, status);
                }
            }
            Ok(())
        }
        UsersCmd::Disable { db, username } => {
            let store = db.open().await?;
            let u = Username::parse(&username).map_err(|m| anyhow::anyhow!("username {m}"))?;
            let target = store.staff_by_username(&u).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let target = target.ok_or_else(|| anyhow::anyhow!("no account named {u}"))?;
            let audit = cli_audit(&SystemClock, "staff.disable", format!("staff:{}", target.id));
            store.set_staff_disabled(&u, true, &audit).await.map_err(|e| match e {
                legion_store::StoreError::NotFound => anyhow::anyhow!("no account named {u}"),
                e => anyhow::anyhow!("{e}"),
            })?;
            println!("disabled {u}; its sessions are ended");
            Ok(())
        }
    }
}

async fn missions(command: MissionsCmd) -> Result<()> {
    match command {
        MissionsCmd::Add { db, id, name, country, covers, regional } => {
            let store = db.open().await?;
            let id = MissionId::parse(&id).map_err(|m| anyhow::anyhow!("mission id {m}"))?;
            let country = CountryCode::parse(&country).with_context(|| format!("unknown country code '{country}'"))?;
            let covers = legion_web::admin_api::parse_countries(&covers).map_err(anyhow::Error::msg)?;
            if covers.is_empty() && !regional {
                bail!("give --covers with at least one country, or --regional");
            }
            let m = Mission { id: id.clone(), name, country, covers, regional };
            store
                .put_mission(&m, &cli_audit(&SystemClock, "mission.put", format!("mission:{id}")))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            // Its issuing key now, so that the next trust list border posts load has it.
            legion_web::credentials::CredentialKeys::open(&db.key_dir())
                .with_context(|| format!("cannot open the credential keys in {}", db.key_dir().display()))?
                .issuer(id.as_str())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("mission {id} saved");
            Ok(())
        }
        MissionsCmd::List { db } => {
            let store = db.open().await?;
            for m in store.missions().await.map_err(|e| anyhow::anyhow!("{e}"))? {
                let covers: Vec<_> = m.covers.iter().map(CountryCode::as_str).collect();
                println!(
                    "{:<16} {:<40} covers {}{}",
                    m.id,
                    m.name,
                    covers.join(","),
                    if m.regional { " (regional)" } else { "" }
                );
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://./x.db"), "sqlite://./x.db");
    }
}
