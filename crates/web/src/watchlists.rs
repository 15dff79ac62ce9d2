//! The watchlists screening checks applicants against: every FollowTheMoney JSON lines,
//! UN consolidated-list XML or CSV file in one directory, indexed together. Reloaded
//! without stopping the server (on `SIGHUP`, through the admin API, or when the files
//! change); searches keep using the previous index until the new one is ready, and a file
//! that fails to load keeps nothing from loading.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use legion_screening::import::{self, Summary};
use legion_screening::index::Index;
use legion_screening::variants::Variants;
use legion_screening::{Entries, Subject};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How many records or values one reason covers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReasonCount {
    /// Why (or, for other records, their kind).
    pub reason: String,
    /// How many.
    pub count: u64,
}

/// One loaded file.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ListFile {
    /// File name within the watchlist directory; entry ids are prefixed with it.
    pub file: String,
    /// Entries indexed.
    pub entries: usize,
    /// Records skipped, by reason ("no usable name": 3).
    pub skipped: Vec<ReasonCount>,
    /// Values left out of entries, by reason.
    pub dropped: Vec<ReasonCount>,
    /// Records that name no party (sanction programmes, addresses), by kind.
    pub other_records: Vec<ReasonCount>,
}

/// The lists as loaded at one moment.
pub struct Loaded {
    /// Every entry of every file, in one index.
    pub index: Index,
    /// The files, in name order.
    pub files: Vec<ListFile>,
    /// When loaded; `None` before the first load.
    pub loaded_at: Option<DateTime<Utc>>,
    /// Increases with each successful load.
    pub generation: u64,
    /// Names, sizes and modification times of the files loaded, to notice changes.
    fingerprint: Vec<(String, u64, Option<SystemTime>)>,
    /// SHA-256 over every file's name and bytes, the known spellings' fingerprint and the
    /// matcher's revision: what open cases were last re-screened against, when it equals the marker.
    pub digest: String,
}

/// The file in the watchlist directory that holds the digest of the lists open cases were
/// last re-screened against in full (hidden, so never read as a list).
const SCREENED_MARKER: &str = ".screened";

/// The watchlists of a server.
pub struct Watchlists {
    dir: Option<PathBuf>,
    variants: Option<Arc<Variants>>,
    current: RwLock<Arc<Loaded>>,
    /// One load at a time.
    loading: tokio::sync::Mutex<()>,
}

/// Why the lists could not be (re)loaded; the previous ones stay in use.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The directory cannot be read.
    #[error("cannot read the watchlist directory: {0}")]
    Directory(std::io::Error),
    /// A file cannot be read as a watchlist.
    #[error("{file}: {error}")]
    File {
        /// Which file.
        file: String,
        /// What went wrong.
        error: import::ImportError,
    },
    /// No directory is configured.
    #[error("no watchlist directory is configured")]
    NotConfigured,
}

/// Files in the directory that are read as watchlists.
fn list_files(dir: &Path) -> Result<Vec<(String, u64, Option<SystemTime>)>, LoadError> {
    let mut files = Vec::new();
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(LoadError::Directory(e)),
    };
    for item in read {
        let item = item.map_err(LoadError::Directory)?;
        let name = item.file_name().to_string_lossy().into_owned();
        let meta = item.metadata().map_err(LoadError::Directory)?;
        let listed = ["json", "jsonl", "ftm", "xml", "csv"]
            .iter()
            .any(|ext| Path::new(&name).extension().is_some_and(|e| e.eq_ignore_ascii_case(ext)));
        if meta.is_file() && listed && !name.starts_with('.') {
            files.push((name, meta.len(), meta.modified().ok()));
        }
    }
    files.sort();
    Ok(files)
}

fn count<K: ToString, N: Copy + TryInto<u64>>(items: &[(K, N)]) -> Vec<ReasonCount> {
    items
        .iter()
        .map(|(k, n)| ReasonCount { reason: k.to_string(), count: (*n).try_into().unwrap_or(u64::MAX) })
        .collect()
}

/// A reader that feeds what it reads to a digest.
struct Hashing<'d, R> {
    inner: R,
    digest: &'d mut Sha256,
}

impl<R: std::io::Read> std::io::Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }
}

/// Reads and indexes every file; blocking.
fn load(dir: &Path, variants: Option<Arc<Variants>>, generation: u64, now: DateTime<Utc>) -> Result<Loaded, LoadError> {
    let fingerprint = list_files(dir)?;
    let mut entries = Entries::new();
    let mut files = Vec::with_capacity(fingerprint.len());
    let mut digest = Sha256::new();
    digest.update(legion_screening::MATCHER_REVISION.to_le_bytes());
    if let Some(v) = variants.as_deref() {
        digest.update(v.fingerprint().to_le_bytes());
    }
    for (name, _, _) in &fingerprint {
        let path = dir.join(name);
        let file = std::fs::File::open(&path).map_err(|source| LoadError::File {
            file: name.clone(),
            error: import::ImportError::Open { path: path.clone(), source },
        })?;
        digest.update(name.as_bytes());
        digest.update([0]);
        // The file is hashed as it is imported: one pass over its bytes.
        let imported = import::read_named(&path, Hashing { inner: file, digest: &mut digest }, &mut |_| {})
            .map_err(|error| LoadError::File { file: name.clone(), error })?;
        let summary: Summary = imported.summary();
        files.push(ListFile {
            file: name.clone(),
            entries: summary.entries,
            skipped: count(&summary.skipped),
            dropped: count(&summary.dropped),
            other_records: count(&summary.other_records),
        });
        entries.extend(imported.entries.iter().map(|mut e| {
            e.id = format!("{name}:{}", e.id);
            e
        }));
    }
    let index = Index::build_with_variants(entries, variants, |_| {});
    let digest = hex::encode(digest.finalize());
    Ok(Loaded { index, files, loaded_at: Some(now), generation, fingerprint, digest })
}

impl Watchlists {
    /// Lists read from `dir` (none loaded until [`Watchlists::reload`]); `None`: no lists.
    /// Names are matched with the help of `variants`, known spellings, when given.
    pub fn new(dir: Option<PathBuf>, variants: Option<Arc<Variants>>) -> Self {
        let empty = Loaded {
            index: Index::build_with_variants(Vec::new(), variants.clone(), |_| {}),
            files: Vec::new(),
            loaded_at: None,
            generation: 0,
            fingerprint: Vec::new(),
            digest: String::new(),
        };
        Watchlists { dir, variants, current: RwLock::new(Arc::new(empty)), loading: tokio::sync::Mutex::new(()) }
    }

    /// The known spellings names are matched with, if any.
    pub fn variants(&self) -> Option<&Variants> {
        self.variants.as_deref()
    }

    /// The lists in use now.
    pub fn current(&self) -> Arc<Loaded> {
        Arc::clone(&self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Reads every file again and swaps the new index in. Searches go on against the old
    /// one meanwhile; on error the old one stays.
    pub async fn reload(&self, now: DateTime<Utc>) -> Result<Arc<Loaded>, LoadError> {
        let dir = self.dir.clone().ok_or(LoadError::NotConfigured)?;
        let _one = self.loading.lock().await;
        let generation = self.current().generation + 1;
        let variants = self.variants.clone();
        let loaded = tokio::task::spawn_blocking(move || load(&dir, variants, generation, now))
            .await
            .map_err(|e| LoadError::Directory(std::io::Error::other(e.to_string())))??;
        let loaded = Arc::new(loaded);
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::clone(&loaded);
        Ok(loaded)
    }

    /// Whether open cases were last re-screened in full against exactly the lists now in
    /// use (see [`Watchlists::mark_rescreened`]).
    pub async fn rescreened_against_current(&self) -> bool {
        let Some(dir) = self.dir.clone() else { return false };
        let digest = self.current().digest.clone();
        let marker = tokio::task::spawn_blocking(move || std::fs::read_to_string(dir.join(SCREENED_MARKER))).await;
        matches!(marker, Ok(Ok(m)) if !digest.is_empty() && m.trim() == digest)
    }

    /// Records that open cases have been re-screened against the lists of `loaded`, so that
    /// a restart with the same lists need not do it again. Written to a new file and renamed,
    /// so a crash leaves the old marker or the new one.
    ///
    /// # Errors
    /// The directory is not writable (then every start re-screens).
    pub async fn mark_rescreened(&self, loaded: &Loaded) -> std::io::Result<()> {
        let Some(dir) = self.dir.clone() else { return Ok(()) };
        let digest = loaded.digest.clone();
        tokio::task::spawn_blocking(move || {
            // No directory, no lists: nothing to note (a directory created later with lists
            // in it has no marker, so its first start re-screens).
            if !dir.is_dir() {
                return Ok(());
            }
            let tmp = dir.join(format!("{SCREENED_MARKER}.tmp"));
            std::fs::write(&tmp, format!("{digest}\n"))?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, dir.join(SCREENED_MARKER))
        })
        .await
        .map_err(std::io::Error::other)?
    }

    /// Whether the files differ from those loaded (added, removed, resized or touched).
    pub async fn changed(&self) -> bool {
        let Some(dir) = self.dir.clone() else { return false };
        let now = tokio::task::spawn_blocking(move || list_files(&dir)).await;
        match now {
            Ok(Ok(files)) => files != self.current().fingerprint,
            _ => false,
        }
    }
}

impl Loaded {
    /// Possible hits for an applicant, best first.
    pub fn screen(&self, subject: &Subject) -> Vec<legion_screening::index::Hit> {
        self.index.search(subject, 5, legion_screening::score::THRESHOLD)
    }
}
