//! Legion's HTTP face: the JSON API under `/api/v1`, the HTML pages, staff sign-in and the
//! per-route permission guard, OpenAPI, health and metrics.

pub mod auth;
pub mod checkpoints;
pub mod credentials;
pub mod documents;
pub mod error;
pub mod intake;
pub mod openapi;
pub mod routes;
pub mod service;
pub mod watchlists;

mod api;
mod i18n;
mod ops;
mod pages;

use std::sync::Arc;
use std::time::Duration;

use legion_domain::{Clock, PolicySet};
use legion_store::Store;
use object_store::ObjectStore;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

pub use api::admin as admin_api;
pub use error::AppError;
pub use routes::{Access, RouteDef, route_table, router};

/// Secret keys the web layer uses. `Debug` never prints them.
#[derive(Clone)]
pub struct Keys {
    /// HMAC key for blind indexes (exact lookups without storing the value).
    pub index_key: [u8; 32],
    /// Signs audit-log checkpoints; used for nothing else. Its key name is the log's origin.
    pub checkpoint: Arc<legion_audit::CheckpointSigner>,
    /// Sign entry authorisations (a key per mission) and the lists that check them (root).
    pub credentials: Arc<credentials::CredentialKeys>,
}

impl Keys {
    /// The audit log's origin, the first line of every checkpoint: the checkpoint key's name.
    pub fn audit_origin(&self) -> &str {
        self.checkpoint.key_name()
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { .. }")
    }
}

/// A source of randomness; a parameter so that tests can pin it.
pub trait Random: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        use rand::RngCore;
        rand::rngs::OsRng.fill_bytes(buf);
    }
}

/// Settings for the web layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// How long a staff session lasts.
    pub session_ttl: Duration,
    /// How often the screening worker looks for work when not woken.
    pub screening_poll: Duration,
    /// Sign an audit checkpoint once this many events are unsigned, …
    pub checkpoint_every: u64,
    /// … or, when any are, once this long has passed since the last checkpoint.
    pub checkpoint_interval: Duration,
    /// How often the checkpointer reads new audit events.
    pub checkpoint_poll: Duration,
    /// Largest document an applicant may upload, in bytes.
    pub max_document_bytes: usize,
    /// Most documents one case may hold.
    pub max_documents_per_case: usize,
    /// Most uploads this server reads at once (each may hold `max_document_bytes` in memory);
    /// more are refused with 503 and `Retry-After`.
    pub max_concurrent_uploads: usize,
    /// Submissions stored per transaction at most (group commit; see [`intake`]).
    pub max_batch: usize,
    /// The directory of watchlist files (FollowTheMoney JSON lines, UN XML, CSV); `None`:
    /// screening uses no watchlists.
    pub watchlist_dir: Option<std::path::PathBuf>,
    /// How often the watchlist files are checked for changes.
    pub watchlist_poll: Duration,
    /// Known spellings of names across scripts (see [`legion_screening::variants`]), used by
    /// watchlist screening and duplicate detection; `None`: transliteration rules alone.
    pub known_spellings: Option<Arc<legion_screening::variants::Variants>>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_ttl: Duration::from_hours(12),
            screening_poll: Duration::from_secs(2),
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_mins(1),
            checkpoint_poll: Duration::from_secs(1),
            max_document_bytes: 10 * 1024 * 1024,
            max_documents_per_case: 20,
            max_concurrent_uploads: 8,
            max_batch: 512,
            watchlist_dir: None,
            watchlist_poll: Duration::from_secs(30),
            known_spellings: None,
        }
    }
}

/// Shared state of the server.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What [`AppState`] holds.
pub struct Inner {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Where uploaded documents go, sealed by the store first (see [`documents`]).
    pub documents: Arc<dyn ObjectStore>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness.
    pub random: Arc<dyn Random>,
    /// Policy versions.
    pub policies: PolicySet,
    /// Keys.
    pub keys: Keys,
    /// Settings.
    pub config: WebConfig,
    /// Wakes the screening worker.
    pub screening_wakeup: Notify,
    /// The last whole-log verification of the audit log (held while one runs).
    pub audit_check: tokio::sync::Mutex<Option<checkpoints::AuditCheck>>,
    /// Renders `/metrics`.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// One permit per upload being read and stored (see [`AppState::upload_permit`]).
    pub uploads: Arc<Semaphore>,
    /// The group-commit writer of submissions.
    pub intake: intake::Intake,
    /// The watchlists screening checks against.
    pub watchlists: watchlists::Watchlists,
    /// Missions as last read, for routing submissions (see [`AppState::routing_missions`]).
    missions: std::sync::Mutex<Option<(std::time::Instant, Arc<Vec<legion_domain::Mission>>)>>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Assembles the state.
    pub fn new(
        store: Arc<dyn Store>,
        documents: Arc<dyn ObjectStore>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        policies: PolicySet,
        keys: Keys,
        config: WebConfig,
    ) -> Self {
        let uploads = Arc::new(Semaphore::new(config.max_concurrent_uploads));
        let intake = intake::Intake::new(config.max_batch);
        let watchlists = watchlists::Watchlists::new(config.watchlist_dir.clone(), config.known_spellings.clone());
        Self(Arc::new(Inner {
            store,
            documents,
            clock,
            random,
            policies,
            keys,
            config,
            screening_wakeup: Notify::new(),
            audit_check: tokio::sync::Mutex::new(None),
            metrics: ops::metrics_handle(),
            uploads,
            intake,
            watchlists,
            missions: std::sync::Mutex::new(None),
        }))
    }

    /// A permit to read and store one upload, held until it is dropped; `Unavailable` (503
    /// with `Retry-After`) when `max_concurrent_uploads` are in progress already.
    pub fn upload_permit(&self) -> Result<OwnedSemaphorePermit, AppError> {
        Arc::clone(&self.uploads).try_acquire_owned().map_err(|_| {
            metrics::counter!("legion_uploads_refused_busy_total").increment(1);
            AppError::Unavailable("too many uploads in progress".into())
        })
    }

    /// The missions submissions are routed to, read at most once a second: a mission added
    /// through this server counts at once (see [`AppState::forget_missions`]), one added
    /// through another process or the command line within a second.
    pub async fn routing_missions(&self) -> Result<Arc<Vec<legion_domain::Mission>>, AppError> {
        const FRESH: std::time::Duration = std::time::Duration::from_secs(1);
        if let Some((read, missions)) = &*self.missions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
            && read.elapsed() < FRESH
        {
            return Ok(Arc::clone(missions));
        }
        let missions = Arc::new(self.store.missions().await?);
        *self.missions.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((std::time::Instant::now(), Arc::clone(&missions)));
        Ok(missions)
    }

    /// Makes the next submission read the missions again (after one is added or changed).
    pub fn forget_missions(&self) {
        *self.missions.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// `n` random bytes.
    pub fn random_bytes<const N: usize>(&self) -> [u8; N] {
        let mut b = [0u8; N];
        self.random.fill(&mut b);
        b
    }
}
