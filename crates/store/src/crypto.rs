//! Personal data at rest: which columns are sealed, under which keys, and how.
//!
//! Each mission has its own data keys (a version per rotation), stored in `data_keys` wrapped
//! by the key-encryption key (KEK), which lives in key files outside the database. The store
//! seals on every write and opens on every read, so no other crate handles ciphertext.
//!
//! Sealed columns:
//! - `applications.details`: a JSON object with one envelope per group of fields
//!   (`identity`, `passport`, `contact`, `military`, `background`), each bound to its own
//!   column name, so that one group cannot stand in for another;
//! - `applications.flags` (screening explanations name ages and nationalities);
//! - `application_history.details` (reasons, answers and notes are free text);
//! - uploaded documents, which live in object storage: each is sealed under a key of its own
//!   (`documents.content`, the raw envelope written as the object, bound to the document id),
//!   and that key is sealed in `documents.content_key` like any column, so rotating a
//!   mission's data key re-seals 32 bytes per document and never rewrites an object.
//!
//! An envelope is the base64 text of a `legion_vault` envelope: XChaCha20-Poly1305 with AAD =
//! table | column | row id | key version, so a ciphertext moved to another row, column or
//! mission does not open.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use legion_domain::ApplicantDetails;
use legion_vault::secrecy::ExposeSecret;
use legion_vault::{DataKey, Field, Kek, KeyFile, KeyVersion, Keyring, VaultError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::{Result, StoreError};

/// Field groups of `applications.details`, each sealed on its own. A field not named here
/// (a new one) goes into `background`, so nothing is ever left in plaintext.
const DETAIL_GROUPS: &[(&str, Field, &[&str])] = &[
    (
        "identity",
        Field::new("applications", "details.identity"),
        &["given_names", "family_name", "native_name", "date_of_birth", "nationality"],
    ),
    ("passport", Field::new("applications", "details.passport"), &["passport_number", "passport_expiry"]),
    ("contact", Field::new("applications", "details.contact"), &["email", "phone"]),
    ("military", Field::new("applications", "details.military"), &["military_experience"]),
];
const BACKGROUND: Field = Field::new("applications", "details.background");

/// `applications.flags`.
pub(crate) const FLAGS: Field = Field::new("applications", "flags");
/// `application_history.details`; the row id is `<application id>/<seq>`.
pub(crate) const HISTORY_DETAILS: Field = Field::new("application_history", "details");
/// The content of an uploaded document (stored in object storage, not in a column), sealed
/// under the document's own key; the row id is the document id.
const DOCUMENT_CONTENT: Field = Field::new("documents", "content");
/// `documents.content_key`: the document's own key, sealed under the mission's keys.
pub(crate) const DOCUMENT_KEY: Field = Field::new("documents", "content_key");
/// The version a document's own key carries (each key seals one document only).
const DOCUMENT_KEY_VERSION: KeyVersion = KeyVersion(1);

/// How long a server trusts its cached keyring before reading `data_keys` again, so that a
/// rotation made by another process reaches it.
const RING_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// The key-encryption keys: `kek-N.key` files in the key directory, the highest N current.
pub struct Keys {
    dir: Option<PathBuf>,
    keks: RwLock<BTreeMap<u32, Arc<Kek>>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let versions: Vec<u32> = self.keks.read().expect("kek lock").keys().copied().collect();
        f.debug_struct("Keys").field("dir", &self.dir).field("kek_versions", &versions).finish()
    }
}

fn vault_error(e: &VaultError) -> StoreError {
    StoreError::Config(e.to_string())
}

impl Keys {
    /// Loads every `kek-N.key` in `dir`, creating `kek-1.key` (mode 0600) when there is none.
    /// Refuses key files that group or others may read.
    pub fn load_or_create(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir)
            .and_then(|()| fs::set_permissions(dir, fs::Permissions::from_mode(0o700)))
            .map_err(|e| StoreError::Config(format!("cannot prepare key directory {}: {e}", dir.display())))?;
        let keys = Self { dir: Some(dir.to_owned()), keks: RwLock::new(BTreeMap::new()) };
        keys.reload()?;
        if keys.keks.read().expect("kek lock").is_empty() {
            keys.create_kek(1)?;
        }
        Ok(keys)
    }

    /// One random KEK held only in memory: for tests and benchmarks.
    pub fn ephemeral() -> Self {
        let kek = Kek::generate(KeyVersion(1), &mut rand::rngs::OsRng).expect("the OS random source");
        Self { dir: None, keks: RwLock::new(BTreeMap::from([(1, Arc::new(kek))])) }
    }

    fn path(dir: &Path, version: u32) -> PathBuf {
        dir.join(format!("kek-{version}.key"))
    }

    /// Reads the key directory again (another process may have rotated the KEK).
    fn reload(&self) -> Result<()> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let entries =
            fs::read_dir(dir).map_err(|e| StoreError::Config(format!("cannot read {}: {e}", dir.display())))?;
        let mut found = BTreeMap::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(version) = name
                .to_str()
                .and_then(|n| n.strip_prefix("kek-"))
                .and_then(|n| n.strip_suffix(".key"))
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|v| *v >= 1)
            else {
                continue;
            };
            let file = KeyFile::load(entry.path()).map_err(|e| vault_error(&e))?;
            let key = Kek::new(KeyVersion(version), file.into_key());
            found.insert(version, Arc::new(key));
        }
        *self.keks.write().expect("kek lock") = found;
        Ok(())
    }

    fn create_kek(&self, version: u32) -> Result<()> {
        let dir = self.dir.as_ref().ok_or_else(|| StoreError::Config("in-memory keys cannot be rotated".into()))?;
        let path = Self::path(dir, version);
        let file = KeyFile::load_or_create(&path, &mut rand::rngs::OsRng).map_err(|e| vault_error(&e))?;
        if file.was_created() {
            tracing::info!(path = %path.display(), "created key-encryption key");
        }
        self.keks.write().expect("kek lock").insert(version, Arc::new(Kek::new(KeyVersion(version), file.into_key())));
        Ok(())
    }

    /// The KEK new data keys are wrapped under.
    pub fn current(&self) -> Arc<Kek> {
        let keks = self.keks.read().expect("kek lock");
        Arc::clone(keks.values().next_back().expect("at least one KEK is loaded"))
    }

    /// The KEK of `version`, reading the directory again when it is not loaded.
    fn get(&self, version: KeyVersion) -> Result<Arc<Kek>> {
        if let Some(k) = self.keks.read().expect("kek lock").get(&version.0) {
            return Ok(Arc::clone(k));
        }
        self.reload()?;
        self.keks.read().expect("kek lock").get(&version.0).cloned().ok_or_else(|| {
            StoreError::Config(format!("key-encryption key version {} is not in the key directory", version.0))
        })
    }

    /// The versions of the KEK files in the key directory, oldest first (read again now).
    pub fn versions(&self) -> Result<Vec<u32>> {
        self.reload()?;
        Ok(self.keks.read().expect("kek lock").keys().copied().collect())
    }

    /// Creates the next KEK file and makes it current; returns its version. Data keys stay
    /// wrapped under the old one until [`crate::Store::rewrap_data_keys`] runs.
    pub fn create_next(&self) -> Result<u32> {
        self.reload()?;
        let next = self.current().version().0 + 1;
        self.create_kek(next)?;
        Ok(next)
    }

    /// Deletes the KEK files older than the current one (after every data key was rewrapped);
    /// returns the paths removed.
    pub fn remove_old(&self) -> Result<Vec<PathBuf>> {
        let Some(dir) = &self.dir else { return Ok(Vec::new()) };
        let current = self.current().version().0;
        let mut removed = Vec::new();
        let mut keks = self.keks.write().expect("kek lock");
        for version in keks.keys().copied().filter(|v| *v < current).collect::<Vec<_>>() {
            let path = Self::path(dir, version);
            fs::remove_file(&path).map_err(|e| StoreError::Config(format!("cannot remove {}: {e}", path.display())))?;
            keks.remove(&version);
            removed.push(path);
        }
        Ok(removed)
    }
}

/// A stored data key row.
#[derive(sqlx::FromRow)]
pub(crate) struct DataKeyRow {
    pub version: i64,
    pub kek_version: i64,
    pub wrapped: Option<Vec<u8>>,
}

fn key_version(v: i64) -> Result<KeyVersion> {
    u32::try_from(v)
        .ok()
        .filter(|v| *v >= 1)
        .map(KeyVersion)
        .ok_or_else(|| StoreError::Internal("bad key version".into()))
}

/// A mission's keys as far as this process knows them.
pub(crate) struct Ring {
    pub keyring: Keyring,
    /// Versions whose key was destroyed: what they sealed is gone for good.
    pub destroyed: BTreeSet<u32>,
    loaded: std::time::Instant,
}

/// The store's sealing and opening, with each mission's unwrapped data keys cached.
pub(crate) struct Vault {
    pub keys: Arc<Keys>,
    rings: RwLock<HashMap<String, Arc<Ring>>>,
}

impl Vault {
    pub fn new(keys: Arc<Keys>) -> Self {
        Self { keys, rings: RwLock::new(HashMap::new()) }
    }

    /// The cached ring of `mission`, if fresh.
    pub fn cached(&self, mission: &str) -> Option<Arc<Ring>> {
        let rings = self.rings.read().expect("ring lock");
        rings.get(mission).filter(|r| r.loaded.elapsed() < RING_TTL).cloned()
    }

    pub fn forget(&self, mission: &str) {
        self.rings.write().expect("ring lock").remove(mission);
    }

    /// Builds and caches a ring from the mission's rows; `None` if no live key exists.
    pub fn install(&self, mission: &str, rows: &[DataKeyRow]) -> Result<Option<Arc<Ring>>> {
        let mut live = Vec::new();
        let mut destroyed = BTreeSet::new();
        for row in rows {
            let version = key_version(row.version)?;
            match &row.wrapped {
                Some(wrapped) => {
                    let kek = self.keys.get(key_version(row.kek_version)?)?;
                    let key = legion_vault::unwrap_key(wrapped, &kek, mission).map_err(|e| {
                        StoreError::Internal(format!("data key {mission} v{} does not unwrap: {e}", version.0))
                    })?;
                    live.push(key);
                }
                None => {
                    destroyed.insert(version.0);
                }
            }
        }
        live.sort_by_key(DataKey::version);
        let Some(current) = live.pop() else { return Ok(None) };
        let mut keyring = Keyring::new(current);
        for key in live {
            keyring.add_previous(key).map_err(|e| StoreError::Internal(e.to_string()))?;
        }
        let ring = Arc::new(Ring { keyring, destroyed, loaded: std::time::Instant::now() });
        self.rings.write().expect("ring lock").insert(mission.to_owned(), Arc::clone(&ring));
        Ok(Some(ring))
    }

    /// A fresh data key of `version` for `mission`, wrapped under the current KEK.
    pub fn new_data_key(&self, mission: &str, version: u32) -> Result<(Vec<u8>, u32)> {
        let dek = DataKey::generate(KeyVersion(version), &mut rand::rngs::OsRng).map_err(|e| vault_error(&e))?;
        // Another process (`legion keys rotate-kek`) may have made a newer KEK current since this
        // one loaded the directory; a key wrapped under the old KEK would be lost with its file.
        self.keys.reload()?;
        let kek = self.keys.current();
        let wrapped =
            legion_vault::wrap_key(&dek, &kek, mission, &mut rand::rngs::OsRng).map_err(|e| vault_error(&e))?;
        Ok((wrapped, kek.version().0))
    }

    /// The data key wrapped again under the current KEK, or `None` if it already is.
    pub fn rewrap(&self, mission: &str, row: &DataKeyRow) -> Result<Option<(Vec<u8>, u32)>> {
        let Some(wrapped) = &row.wrapped else { return Ok(None) };
        let current = self.keys.current();
        if i64::from(current.version().0) == row.kek_version {
            return Ok(None);
        }
        let old = self.keys.get(key_version(row.kek_version)?)?;
        let new = legion_vault::rewrap(wrapped, &old, &current, mission, &mut rand::rngs::OsRng)
            .map_err(|e| StoreError::Internal(format!("rewrapping {mission} v{}: {e}", row.version)))?;
        Ok(Some((new, current.version().0)))
    }
}

fn seal_bytes(ring: &Ring, field: Field, row: &str, plaintext: &[u8]) -> Result<String> {
    let envelope = ring
        .keyring
        // Nonces (192 random bits each) come from the thread's CSPRNG, seeded and reseeded from
        // the OS, rather than a system call per field; keys always come from the OS directly.
        .seal(&field.row(row), plaintext, &mut rand::thread_rng())
        .map_err(|e| StoreError::Internal(format!("sealing {}.{}: {e}", field.table(), field.column())))?;
    Ok(B64.encode(envelope))
}

/// Why a sealed value did not open. `Unknown` means: read the keys again and retry.
pub(crate) enum OpenError {
    Unknown(u32),
    Store(StoreError),
}

impl From<StoreError> for OpenError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

fn open_bytes(ring: &Ring, field: Field, row: &str, text: &str) -> Result<Vec<u8>, OpenError> {
    let what = || format!("{}.{}", field.table(), field.column());
    let envelope = B64.decode(text).map_err(|_| StoreError::Internal(format!("stored {} is not base64", what())))?;
    match ring.keyring.open(&field.row(row), &envelope) {
        Ok(plain) => Ok(plain.expose_secret().to_vec()),
        Err(VaultError::UnknownKeyVersion(v)) if ring.destroyed.contains(&v.0) => Err(StoreError::Shredded.into()),
        Err(VaultError::UnknownKeyVersion(v)) => Err(OpenError::Unknown(v.0)),
        Err(e) => Err(StoreError::Internal(format!("stored {} does not open: {e}", what())).into()),
    }
}

/// Seals a document under a fresh key of its own. Returns the object (a raw envelope, not
/// base64: it goes to object storage) and the key sealed under the mission's current data key
/// (base64 text for `documents.content_key`).
pub(crate) fn seal_document(ring: &Ring, row: &str, plaintext: &[u8]) -> Result<(Vec<u8>, String)> {
    let failed = |e: VaultError| StoreError::Internal(format!("sealing a document: {e}"));
    let key = DataKey::generate(DOCUMENT_KEY_VERSION, &mut rand::rngs::OsRng).map_err(failed)?;
    let object =
        legion_vault::seal(&key, &DOCUMENT_CONTENT.row(row), plaintext, &mut rand::rngs::OsRng).map_err(failed)?;
    let sealed_key =
        legion_vault::seal_key(&ring.keyring, &DOCUMENT_KEY.row(row), &key, &mut rand::rngs::OsRng).map_err(failed)?;
    Ok((object, B64.encode(sealed_key)))
}

/// Opens a document's key from `documents.content_key`.
fn open_document_key(ring: &Ring, row: &str, content_key: &str) -> Result<DataKey, OpenError> {
    let envelope = B64
        .decode(content_key)
        .map_err(|_| StoreError::Internal("stored documents.content_key is not base64".into()))?;
    match legion_vault::open_key(&ring.keyring, &DOCUMENT_KEY.row(row), &envelope, DOCUMENT_KEY_VERSION) {
        Ok(key) => Ok(key),
        Err(VaultError::UnknownKeyVersion(v)) if ring.destroyed.contains(&v.0) => Err(StoreError::Shredded.into()),
        Err(VaultError::UnknownKeyVersion(v)) => Err(OpenError::Unknown(v.0)),
        Err(e) => Err(StoreError::Internal(format!("stored documents.content_key does not open: {e}")).into()),
    }
}

/// Opens what [`seal_document`] sealed.
pub(crate) fn open_document(ring: &Ring, row: &str, content_key: &str, object: &[u8]) -> Result<Vec<u8>, OpenError> {
    let key = open_document_key(ring, row, content_key)?;
    match legion_vault::open(&key, &DOCUMENT_CONTENT.row(row), object) {
        Ok(plain) => Ok(plain.expose_secret().to_vec()),
        Err(e) => Err(StoreError::Internal(format!("a stored document does not open: {e}")).into()),
    }
}

/// A document's key sealed again under the mission's current data key (the object is untouched).
pub(crate) fn reseal_document_key(ring: &Ring, row: &str, content_key: &str) -> Result<String, OpenError> {
    let key = open_document_key(ring, row, content_key)?;
    let sealed = legion_vault::seal_key(&ring.keyring, &DOCUMENT_KEY.row(row), &key, &mut rand::rngs::OsRng)
        .map_err(|e| StoreError::Internal(format!("sealing a document key: {e}")))?;
    Ok(B64.encode(sealed))
}

/// SHA-256 of bytes, hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn encode<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| StoreError::Internal(format!("cannot encode {what}: {:?}", e.classify())))
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Internal(format!("stored {what} is not valid JSON for its type ({:?})", e.classify())))
}

/// Seals a value as JSON in one envelope.
pub(crate) fn seal_json<T: Serialize + ?Sized>(ring: &Ring, field: Field, row: &str, value: &T) -> Result<String> {
    seal_bytes(ring, field, row, &encode(value, field.column())?)
}

/// Opens what [`seal_json`] sealed.
pub(crate) fn open_json<T: DeserializeOwned>(ring: &Ring, field: Field, row: &str, text: &str) -> Result<T, OpenError> {
    let bytes = open_bytes(ring, field, row, text)?;
    Ok(decode(&bytes, field.column())?)
}

/// Seals an application's details, one envelope per field group.
pub(crate) fn seal_details(ring: &Ring, row: &str, details: &ApplicantDetails) -> Result<String> {
    let serde_json::Value::Object(mut all) = serde_json::to_value(details)
        .map_err(|e| StoreError::Internal(format!("cannot encode details: {:?}", e.classify())))?
    else {
        return Err(StoreError::Internal("details do not encode as an object".into()));
    };
    let mut sealed = serde_json::Map::new();
    for (group, field, names) in DETAIL_GROUPS {
        let part: serde_json::Map<String, serde_json::Value> =
            names.iter().filter_map(|n| all.remove(*n).map(|v| ((*n).to_owned(), v))).collect();
        sealed.insert((*group).to_owned(), seal_json(ring, *field, row, &part)?.into());
    }
    sealed.insert("background".to_owned(), seal_json(ring, BACKGROUND, row, &all)?.into());
    Ok(serde_json::Value::Object(sealed).to_string())
}

/// Opens what [`seal_details`] sealed.
pub(crate) fn open_details(ring: &Ring, row: &str, text: &str) -> Result<ApplicantDetails, OpenError> {
    let sealed: BTreeMap<String, String> = serde_json::from_str(text)
        .map_err(|_| StoreError::Internal("stored applications.details is not sealed".into()))?;
    let mut all = serde_json::Map::new();
    let groups = DETAIL_GROUPS.iter().map(|(g, f, _)| (*g, *f)).chain([("background", BACKGROUND)]);
    for (group, field) in groups {
        let text = sealed
            .get(group)
            .ok_or_else(|| StoreError::Internal(format!("stored applications.details lacks {group}")))?;
        let part: serde_json::Map<String, serde_json::Value> = open_json(ring, field, row, text)?;
        all.extend(part);
    }
    Ok(decode(&serde_json::to_vec(&all).unwrap_or_default(), "applications.details")?)
}

/// The key versions the envelopes in a sealed column value were sealed under.
pub(crate) fn versions(text: &str) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    let mut add = |b64: &str| {
        if let Ok(bytes) = B64.decode(b64)
            && let Ok(env) = legion_vault::Envelope::decode(&bytes)
        {
            out.insert(env.key_version().0);
        }
    };
    match serde_json::from_str::<BTreeMap<String, String>>(text) {
        Ok(map) => map.values().for_each(|v| add(v)),
        Err(_) => add(text),
    }
    out
}

/// SHA-256 of length-prefixed parts, hex: the before/after hash of a row in the audit log.
/// Computed over what is stored (ciphertext included), so it reveals nothing.
pub(crate) fn row_hash(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

/// Seals one application's personal data exactly as the store does, without storage: what
/// encryption costs per application, for the benchmark harness.
pub struct SealProbe {
    ring: Ring,
}

impl Default for SealProbe {
    fn default() -> Self {
        Self::new()
    }
}

impl SealProbe {
    /// A probe with a fresh random data key.
    pub fn new() -> Self {
        let key = DataKey::generate(KeyVersion(1), &mut rand::rngs::OsRng).expect("the OS random source");
        Self {
            ring: Ring { keyring: Keyring::new(key), destroyed: BTreeSet::new(), loaded: std::time::Instant::now() },
        }
    }

    /// Seals the details, the empty flags and the first history entry of application `id`, as
    /// a submission does, and opens the details again, as reading the case does; returns the
    /// sealed size in bytes.
    pub fn seal_and_open(&self, id: &str, details: &ApplicantDetails) -> Result<usize> {
        let sealed = seal_details(&self.ring, id, details)?;
        let flags = seal_json(&self.ring, FLAGS, id, &[] as &[legion_domain::screening::Flag])?;
        let history = seal_json(&self.ring, HISTORY_DETAILS, &format!("{id}/1"), &serde_json::json!({}))?;
        let opened = open_details(&self.ring, id, &sealed).map_err(|e| match e {
            OpenError::Store(e) => e,
            OpenError::Unknown(v) => StoreError::Internal(format!("unknown key version {v}")),
        })?;
        if &opened != details {
            return Err(StoreError::Internal("sealed details did not open to the same value".into()));
        }
        Ok(sealed.len() + flags.len() + history.len())
    }
}
