//! Legion's storage: the [`Store`] trait and its `SQLite` and `PostgreSQL` implementations.
//!
//! All SQL lives in this crate. Every state change is written together with its history
//! entry and its audit event in one transaction: if any part fails, nothing is written.

mod audit_log;
mod crypto;
mod postgres;
mod shared;
mod sqlite;
mod verify;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use legion_domain::screening::Flag;
use legion_domain::{
    Actor, ApplicantDetails, ApplicationId, CaseStatus, DocumentId, DocumentKind, DocumentType, Mission, MissionId,
    Recommendation, Reference, Role, StaffId, State, Transition, Username,
};
use serde::Serialize;

pub use audit_log::{CheckpointOutcome, PackedAuditRow, StoredCheckpoint, leaf_bytes};
pub use crypto::{Keys, SealProbe};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use verify::{
    VERIFY_PAGE, VerifyError, VerifyReport, read_audit_events, replay_audit_log, sign_checkpoint,
    stored_checkpoint_source, verify_audit_log,
};

/// Why a storage operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or is outside the caller's scope).
    #[error("not found")]
    NotFound,
    /// The row changed since it was read (optimistic versioning); reload and retry.
    #[error("the record was changed by someone else")]
    Conflict,
    /// A unique constraint refused the write; names the constraint.
    #[error("already exists: {0}")]
    Duplicate(String),
    /// The database cannot take writes now (disk full, read-only, connection lost).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The database URL or file is not usable.
    #[error("{0}")]
    Config(String),
    /// The personal data asked for was sealed under a data key that has been destroyed
    /// (crypto-shredded for retention): it is gone for good.
    #[error("the personal data of this record was destroyed")]
    Shredded,
    /// Anything else; the text is for logs, never for clients.
    #[error("storage error: {0}")]
    Internal(String),
}

/// Result alias for this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which cases a caller may see. Enforced in the SQL of every case query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every case (system work only).
    All,
    /// Cases of one mission.
    Mission(MissionId),
    /// Cases of any mission that are on vetting hold.
    VettingHold,
}

/// Ordering of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueSort {
    /// Oldest submission first (first come, first served).
    #[default]
    SubmittedAsc,
    /// Newest submission first.
    SubmittedDesc,
    /// Most recently changed first.
    UpdatedDesc,
}

/// A page request over a queue.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueQuery {
    /// Only cases in this state.
    pub state: Option<State>,
    /// Only this reference (exact).
    pub reference: Option<Reference>,
    /// Only cases with this e-mail blind index (exact lookup without the address).
    pub email_index: Option<String>,
    /// Only cases with this passport blind index (passport number with nationality).
    pub passport_index: Option<String>,
    /// Order.
    pub sort: QueueSort,
    /// Rows to skip.
    pub offset: u32,
    /// Rows to return (1–200).
    pub limit: u32,
    /// Only cases after this one in the order of `sort`: the time it sorts by (submitted or
    /// updated) and its id, as the last case of the page before has them. Pages that go on
    /// from there read no row twice however deep they go, where an offset re-reads every row
    /// it skips; `total` then counts the cases after it.
    pub after: Option<(DateTime<Utc>, ApplicationId)>,
}

/// One page of results and the total matching.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// How many rows match in all; for cases, counted up to [`COUNT_LIMIT`]` + 1`, so that a
    /// total above [`COUNT_LIMIT`] means "more than that".
    pub total: i64,
}

/// How far a queue's matching cases are counted: beyond it, only "more than" is known.
pub const COUNT_LIMIT: i64 = 10_000;

/// An application to insert.
#[derive(Debug, Clone)]
pub struct NewApplication {
    /// Id (random).
    pub id: ApplicationId,
    /// Short reference (random, unique).
    pub reference: Reference,
    /// Mission it was routed to.
    pub mission: MissionId,
    /// SHA-256 of the applicant's access code, hex.
    pub access_hash: String,
    /// Keyed hash of passport number and nationality, hex (exact duplicate lookup).
    pub passport_index: String,
    /// Keyed hash of the normalised e-mail address, hex (exact lookup).
    pub email_index: String,
    /// The client's idempotency key, if it sent one: recorded with the application.
    pub idempotency: Option<IdempotencyKey>,
    /// What the applicant submitted.
    pub details: ApplicantDetails,
    /// When.
    pub submitted_at: DateTime<Utc>,
    /// Policy version in force at submission.
    pub policy_version: String,
}

/// A submission's idempotency key, as stored: hashes only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Keyed hash of the client's key, hex.
    pub key_hash: String,
    /// SHA-256 of the request, hex: the same key with another request is refused.
    pub request_hash: String,
}

/// The submission an idempotency key was first used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentSubmission {
    /// SHA-256 of the request it came with, hex.
    pub request_hash: String,
    /// The application it created.
    pub id: ApplicationId,
    /// Its reference.
    pub reference: Reference,
    /// Its mission.
    pub mission: MissionId,
}

/// A stored application.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationRecord {
    /// Id.
    pub id: ApplicationId,
    /// Reference.
    pub reference: Reference,
    /// Mission.
    pub mission: MissionId,
    /// Current state.
    pub state: State,
    /// Optimistic-lock version, +1 per transition.
    pub version: i64,
    /// What the applicant submitted.
    pub details: ApplicantDetails,
    /// Submission time.
    pub submitted_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Policy version of the last decision.
    pub policy_version: String,
    /// Standing recommendation's author.
    pub recommended_by: Option<StaffId>,
    /// Standing recommendation.
    pub recommendation: Option<Recommendation>,
    /// Screening flags from the last screening.
    pub flags: Vec<Flag>,
}

impl ApplicationRecord {
    /// What the lifecycle needs to judge a command.
    pub fn status(&self) -> CaseStatus {
        CaseStatus {
            id: self.id,
            mission: self.mission.clone(),
            state: self.state,
            recommended_by: self.recommended_by,
            recommendation: self.recommendation,
        }
    }
}

/// One entry in a case's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// Position in the case's history, from 1.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// `system`, `applicant`, or a staff id.
    pub actor: String,
    /// Role label of the actor.
    pub actor_role: String,
    /// Command name.
    pub command: String,
    /// State before.
    pub from_state: State,
    /// State after.
    pub to_state: State,
    /// Reasons, notes, times.
    pub details: serde_json::Value,
    /// Policy version used.
    pub policy_version: String,
}

/// A transition to store.
#[derive(Debug, Clone)]
pub struct TransitionWrite<'a> {
    /// The case.
    pub id: ApplicationId,
    /// The version the decision was made on; a different stored version is a conflict.
    pub expected_version: i64,
    /// The decided transition.
    pub transition: &'a Transition,
    /// Who.
    pub actor: &'a Actor,
    /// When.
    pub at: DateTime<Utc>,
    /// New screening flags, when the transition completes screening.
    pub flags: Option<&'a [Flag]>,
    /// The entry authorisation an `authorise` transition issues. Its signed text belongs in
    /// the transition's details (sealed with the case); this is what is kept in the clear.
    pub credential: Option<&'a NewCredential>,
    /// Blind screening keys to store for the case with the transition, in place of any it has
    /// (see [`Store::put_screening_keys`]): screening stores them as it begins, so that the
    /// cases it screens at the same time find each other.
    pub screening_keys: Option<&'a [i64]>,
}

/// An entry authorisation to record with the transition that issues it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    /// The credential id (the token's `cti`).
    pub id: uuid::Uuid,
    /// The signing key's id, hex.
    pub kid: String,
    /// Issued at.
    pub issued_at: DateTime<Utc>,
    /// Not valid before.
    pub not_before: DateTime<Utc>,
    /// Not valid from this time on.
    pub expires_at: DateTime<Utc>,
}

/// An issued entry authorisation as kept in the clear: no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialRecord {
    /// The credential id.
    pub id: uuid::Uuid,
    /// The case it was issued on.
    pub application: ApplicationId,
    /// The issuing mission.
    pub mission: MissionId,
    /// The signing key's id, hex.
    pub kid: String,
    /// Issued at.
    pub issued_at: DateTime<Utc>,
    /// Not valid before.
    pub not_before: DateTime<Utc>,
    /// Not valid from this time on.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Its place in the series of revocations.
    pub revocation_seq: Option<i64>,
    /// When its holder crossed the border.
    pub crossed_at: Option<DateTime<Utc>>,
    /// Where.
    pub crossing_point: Option<String>,
}

/// The revoked authorisations that have not expired yet, and the number of the last
/// revocation (the revocation list's sequence number).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Revocations {
    /// The number of the last revocation so far (0: none).
    pub seq: i64,
    /// Revoked credential ids.
    pub revoked: Vec<uuid::Uuid>,
}

/// What a write does when another transaction holds the case it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locking {
    /// Wait for it, then check the version (a person's decision).
    Wait,
    /// Skip the case (`Conflict`): another server is working on it (background work).
    SkipLocked,
}

/// An audit event: ids and hashes only, never personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// `system`, `applicant`, `anonymous`, or a staff id.
    pub actor: String,
    /// Role label.
    pub role: String,
    /// Mission concerned, if any.
    pub mission: Option<String>,
    /// What was done, e.g. `application.submit`, `case.read`, `session.sign_in`.
    pub action: String,
    /// The object, e.g. `application:<id>`, `staff:<id>`, `route:GET /api/v1/cases`.
    pub object: String,
    /// `ok`, `denied` or `failed`.
    pub outcome: String,
}

/// An audit event as stored, with its sequence number and hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StoredAuditEvent {
    /// Position in the log, from 1, without gaps.
    pub seq: i64,
    /// The event.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// SHA-256 (hex) of the changed row as stored before the event, when it changed one.
    pub before_hash: Option<String>,
    /// SHA-256 (hex) of the changed row as stored after the event, when it changed one.
    pub after_hash: Option<String>,
    /// Hash chain (hex): SHA-256 of the previous event's chain and this event's leaf hash.
    pub chain: Option<String>,
}

/// A filtered page of the audit log, newest first. Every filter is optional; text filters
/// compare exactly, except `action` and `object`, which match what starts with them (so
/// `case.` finds every case command and `application:` every event on an application).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only actions starting with this.
    pub action: Option<String>,
    /// Only this actor (`system`, `applicant`, `anonymous`, `cli` or a staff id).
    pub actor: Option<String>,
    /// Only objects starting with this.
    pub object: Option<String>,
    /// Only this outcome (`ok`, `denied`, `failed`).
    pub outcome: Option<String>,
    /// Only events at or after this moment.
    pub from: Option<DateTime<Utc>>,
    /// Only events before this moment.
    pub until: Option<DateTime<Utc>>,
    /// Rows to skip.
    pub offset: u32,
    /// Rows to return (1–200).
    pub limit: u32,
}

/// A mission's data key, as listed for operators (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataKeyInfo {
    /// Mission.
    pub mission: String,
    /// Key version.
    pub version: i64,
    /// Version of the key-encryption key it is wrapped under.
    pub kek_version: i64,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When destroyed (crypto-shredded or retired after rotation).
    pub destroyed_at: Option<DateTime<Utc>>,
}

/// Progress of one batch of data-key re-encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReencryptBatch {
    /// Where the next batch starts (`None` when the mission's rows are exhausted).
    pub next_after: Option<ApplicationId>,
    /// Applications looked at.
    pub scanned: u64,
    /// Applications (and their history) sealed again under the current key.
    pub changed: u64,
}

/// A staff account to create.
#[derive(Debug, Clone)]
pub struct NewStaff {
    /// Id (random).
    pub id: StaffId,
    /// Sign-in name (unique).
    pub username: Username,
    /// Display name.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Mission, for mission-scoped roles.
    pub mission: Option<MissionId>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A stored staff account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRecord {
    /// Id.
    pub id: StaffId,
    /// Sign-in name.
    pub username: Username,
    /// Display name.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Mission, for mission-scoped roles.
    pub mission: Option<MissionId>,
    /// Disabled accounts cannot sign in and lose their sessions.
    pub disabled: bool,
    /// When created.
    pub created_at: DateTime<Utc>,
}

/// Counts per mission and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StateCount {
    /// Mission.
    pub mission: MissionId,
    /// State.
    pub state: State,
    /// Number of cases.
    pub count: i64,
}

/// A case that shares a passport index with another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassportMatch {
    /// The other case.
    pub id: ApplicationId,
    /// Its reference.
    pub reference: Reference,
    /// Its mission.
    pub mission: MissionId,
    /// Its state.
    pub state: State,
}

/// A document's own key, sealed under its mission's data key: opaque outside the store.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedKey(String);

impl std::fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedKey(..)")
    }
}

/// A document's bytes sealed by the store, ready for object storage.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedDocument {
    /// The envelope: what is written to object storage.
    pub bytes: Vec<u8>,
    /// SHA-256 (hex) of `bytes`, kept in the row to detect a swapped or altered object.
    pub sha256: String,
    /// The key `bytes` are sealed under, itself sealed: goes into the row.
    pub content_key: SealedKey,
}

impl std::fmt::Debug for SealedDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedDocument")
            .field("len", &self.bytes.len())
            .field("sha256", &self.sha256)
            .field("content_key", &self.content_key)
            .finish()
    }
}

/// A document to record, once its sealed object is in object storage.
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// Id (random).
    pub id: DocumentId,
    /// The case it belongs to.
    pub application: ApplicationId,
    /// What it is.
    pub kind: DocumentKind,
    /// Its type, as recognised from its content.
    pub content_type: DocumentType,
    /// Plaintext size in bytes.
    pub size: u64,
    /// Where the sealed object is (server-chosen, never the uploaded file name).
    pub object_key: String,
    /// SHA-256 (hex) of the sealed object.
    pub sealed_sha256: String,
    /// The document's key, sealed (from [`SealedDocument`]).
    pub content_key: SealedKey,
    /// When.
    pub uploaded_at: DateTime<Utc>,
    /// Most documents the case may hold, this one included: checked in the inserting
    /// transaction, so concurrent uploads cannot exceed it.
    pub max_per_case: u32,
}

/// A stored document's record (the bytes are in object storage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRecord {
    /// Id.
    pub id: DocumentId,
    /// The case it belongs to.
    pub application: ApplicationId,
    /// The case's mission, whose keys seal it.
    pub mission: MissionId,
    /// What it is.
    pub kind: DocumentKind,
    /// Its type.
    pub content_type: DocumentType,
    /// Plaintext size in bytes.
    pub size: u64,
    /// Where the sealed object is.
    pub object_key: String,
    /// SHA-256 (hex) of the sealed object.
    pub sealed_sha256: String,
    /// When.
    pub uploaded_at: DateTime<Utc>,
}

/// Storage for everything Legion keeps. Implemented for `SQLite` and `PostgreSQL`; one
/// contract suite (`tests/contract.rs`) runs against both.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend this is (`sqlite` or `postgres`), for logs and metrics.
    fn backend(&self) -> &'static str;
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<()>;
    /// Checks the database answers (readiness).
    async fn ping(&self) -> Result<()>;

    /// Creates or replaces a mission, with its audit event.
    async fn put_mission(&self, mission: &Mission, audit: &AuditEvent) -> Result<()>;
    /// All missions, by id.
    async fn missions(&self) -> Result<Vec<Mission>>;

    /// Creates a staff account; `Duplicate("username")` when the name is taken.
    async fn create_staff(&self, staff: &NewStaff, audit: &AuditEvent) -> Result<()>;
    /// Looks up an account by sign-in name.
    async fn staff_by_username(&self, username: &Username) -> Result<Option<StaffRecord>>;
    /// Looks up an account by id.
    async fn staff_by_id(&self, id: StaffId) -> Result<Option<StaffRecord>>;
    /// All accounts, by username.
    async fn list_staff(&self) -> Result<Vec<StaffRecord>>;
    /// Disables or re-enables an account; disabling ends its sessions. `NotFound` if unknown.
    async fn set_staff_disabled(&self, username: &Username, disabled: bool, audit: &AuditEvent) -> Result<()>;

    /// Stores a new session (hash of its token) with the sign-in audit event.
    async fn create_session(
        &self,
        token_hash: &str,
        staff: StaffId,
        expires_at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<()>;
    /// The enabled account owning an unexpired session.
    async fn session_staff(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<StaffRecord>>;
    /// Ends a session.
    async fn delete_session(&self, token_hash: &str, audit: &AuditEvent) -> Result<()>;

    /// Inserts a submitted application with its first history entry, its idempotency key (if
    /// any) and audit event. `Duplicate("reference")` if the reference is taken (the caller
    /// picks another); `Duplicate("idempotency_key")` if the key was used meanwhile.
    async fn insert_application(&self, app: &NewApplication, audit: &AuditEvent) -> Result<()>;
    /// Inserts several submissions in one transaction, so that one durable commit serves them
    /// all (group commit). Each submission succeeds or fails on its own, as
    /// [`Store::insert_application`] would (a taken reference or idempotency key fails only
    /// its own); an error of the whole batch (storage unavailable, disk full) is returned once
    /// and nothing of the batch is stored.
    async fn insert_applications(&self, batch: &[(NewApplication, AuditEvent)]) -> Result<Vec<Result<()>>>;
    /// The submission a (hashed) idempotency key was first used for.
    async fn idempotent_submission(&self, key_hash: &str) -> Result<Option<IdempotentSubmission>>;
    /// The application whose id and access-code hash both match.
    async fn application_for_applicant(
        &self,
        id: ApplicationId,
        access_hash: &str,
    ) -> Result<Option<ApplicationRecord>>;
    /// The application whose reference and access-code hash both match.
    async fn application_by_reference(
        &self,
        reference: &Reference,
        access_hash: &str,
    ) -> Result<Option<ApplicationRecord>>;
    /// A case, if it is within `scope`.
    async fn case(&self, id: ApplicationId, scope: &Scope) -> Result<Option<ApplicationRecord>>;
    /// A page of cases within `scope`.
    async fn cases(&self, scope: &Scope, query: &QueueQuery) -> Result<Page<ApplicationRecord>>;
    /// A case's history, oldest first (empty when out of scope).
    async fn history(&self, id: ApplicationId, scope: &Scope) -> Result<Vec<HistoryEntry>>;
    /// Applies a decided transition: state, version, history and audit in one transaction.
    /// `Conflict` when the stored version is not `expected_version`. Returns the new version.
    async fn apply_transition(&self, write: &TransitionWrite<'_>, audit: &AuditEvent) -> Result<i64>;
    /// Applies several transitions in one transaction (one durable commit for all). Each
    /// succeeds or fails on its own (`Conflict`, `NotFound`, `Shredded` as
    /// [`Store::apply_transition`] would answer); an error of the whole batch is returned once
    /// and nothing of it is stored. With [`Locking::SkipLocked`], a case another server's
    /// transaction holds is skipped (`Conflict`) instead of waited for: background work claims
    /// cases this way, so that no two servers do the same work.
    async fn apply_transitions(
        &self,
        batch: &[(TransitionWrite<'_>, AuditEvent)],
        locking: Locking,
    ) -> Result<Vec<Result<i64>>>;
    /// Ids of cases waiting for screening, oldest first: those in `submitted`, and those left
    /// in `screening` since before `stalled_before` (their screener stopped half-way).
    async fn pending_screening(&self, limit: u32, stalled_before: DateTime<Utc>) -> Result<Vec<ApplicationId>>;

    /// Issued entry authorisations, newest first; of one mission when given.
    async fn credentials(&self, mission: Option<&MissionId>) -> Result<Vec<CredentialRecord>>;
    /// One issued entry authorisation.
    async fn credential(&self, id: uuid::Uuid) -> Result<Option<CredentialRecord>>;
    /// What the revocation list must hold at `now`: revoked authorisations not yet expired.
    async fn revocations(&self, now: DateTime<Utc>) -> Result<Revocations>;
    /// The latest expiry of the authorisations each key signed (hex key id → time): how
    /// long a retired key stays in the trust list.
    async fn key_expiries(&self) -> Result<Vec<(String, DateTime<Utc>)>>;
    /// Other cases with the same passport index.
    async fn passport_matches(&self, passport_index: &str, except: ApplicationId) -> Result<Vec<PassportMatch>>;

    /// Replaces the blind screening keys of each application (keyed hashes of its name
    /// tokens and date of birth), in one transaction.
    async fn put_screening_keys(&self, keys: &[(ApplicationId, Vec<i64>)]) -> Result<()>;

    /// Applications other than `except`, neither withdrawn nor destroyed, that share at
    /// least `min_shared` of `keys`: most shared first, at most `limit`.
    async fn screening_candidates(
        &self,
        keys: &[i64],
        except: ApplicationId,
        min_shared: u32,
        limit: u32,
    ) -> Result<Vec<ApplicationId>>;

    /// Seals a document's bytes under a fresh key of its own, bound to the document id, and
    /// seals that key under the mission's current data key. Only the store holds keys: this is
    /// the one way to seal a document.
    async fn seal_document(&self, mission: &MissionId, id: DocumentId, bytes: &[u8]) -> Result<SealedDocument>;
    /// Opens a document's sealed object after checking it is the object its row names
    /// (`Internal` if its hash differs; `NotFound` if the row is gone; `Shredded` if its
    /// mission's keys were destroyed).
    async fn open_document(&self, document: &DocumentRecord, sealed: &[u8]) -> Result<Vec<u8>>;
    /// Records a document with its audit event. `NotFound` if the case does not exist;
    /// `Conflict` if, in the same transaction, the case holds `max_per_case` documents already
    /// or its state no longer accepts documents (`State::accepts_documents`).
    async fn insert_document(&self, document: &NewDocument, audit: &AuditEvent) -> Result<()>;
    /// A case's documents, oldest first; `None` when the case is not within `scope`.
    async fn documents(&self, application: ApplicationId, scope: &Scope) -> Result<Option<Vec<DocumentRecord>>>;
    /// One document of a case, if the case is within `scope`.
    async fn document(
        &self,
        application: ApplicationId,
        id: DocumentId,
        scope: &Scope,
    ) -> Result<Option<DocumentRecord>>;

    /// Appends a standalone audit event (sign-in failures, denied requests, reads).
    async fn append_audit(&self, event: &AuditEvent) -> Result<()>;
    /// How many audit events with this action, object and outcome were recorded at or after
    /// `since` (throttling repeated failed sign-ins reads its own trail).
    async fn count_recent_audit(&self, action: &str, object: &str, outcome: &str, since: DateTime<Utc>) -> Result<i64>;
    /// Audit rows with `seq > after`, oldest first, packed for verification (see
    /// [`PackedAuditRow`]).
    async fn audit_packed(&self, after: i64, limit: u32) -> Result<Vec<PackedAuditRow>>;
    /// Audit events with `seq > after`, oldest first.
    async fn audit_events(&self, after: i64, limit: u32) -> Result<Vec<StoredAuditEvent>>;
    /// Audit events matching `query`, newest first, with how many match in all.
    async fn search_audit(&self, query: &AuditQuery) -> Result<Page<StoredAuditEvent>>;

    /// Case counts per mission and state.
    async fn state_counts(&self) -> Result<Vec<StateCount>>;

    /// Number of audit events.
    async fn audit_size(&self) -> Result<i64>;
    /// Stores a signed checkpoint of the first `size` events unless one of that size exists.
    async fn insert_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<CheckpointOutcome>;
    /// Every stored checkpoint, smallest first.
    async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>>;
    /// The stored checkpoint that covers the most events, if any.
    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>>;

    /// Every data key (without key material), by mission and version.
    async fn data_keys(&self) -> Result<Vec<DataKeyInfo>>;
    /// Wraps every live data key under the current key-encryption key; returns how many changed.
    async fn rewrap_data_keys(&self, audit: &AuditEvent) -> Result<u64>;
    /// Creates the next data key of `mission` and makes it current; returns its version.
    async fn rotate_data_key(&self, mission: &MissionId, audit: &AuditEvent) -> Result<i64>;
    /// Seals one batch of the mission's applications (ids after `after`) again under the
    /// current data key. Running it again over the same rows changes nothing: resumable. Each
    /// re-sealed application gets an `application.reseal` audit event, with `by`'s actor and
    /// time, and the row's hashes before and after.
    async fn reencrypt_batch(
        &self,
        mission: &MissionId,
        after: Option<ApplicationId>,
        limit: u32,
        by: &AuditEvent,
    ) -> Result<ReencryptBatch>;
    /// Destroys the mission's data keys older than the current one, after checking in the same
    /// transaction that nothing is sealed under them (`Conflict` otherwise). Returns their versions.
    async fn retire_data_keys(&self, mission: &MissionId, audit: &AuditEvent) -> Result<Vec<i64>>;
    /// Destroys every data key of `mission`: its personal data can never be read again.
    /// Returns how many keys were destroyed.
    async fn shred_mission(&self, mission: &MissionId, audit: &AuditEvent) -> Result<u64>;
}

/// Opens the store a URL names: `sqlite://PATH` (or `sqlite:PATH`) or `postgres://…`
/// (`postgresql://…`). Any other scheme is refused. Does not migrate.
/// `keys` are the key-encryption keys that personal data is protected under.
pub async fn open(url: &str, keys: Arc<Keys>) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url, keys).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::open(url, keys).await?))
    } else {
        let scheme = url.split_once(':').map_or(url, |(s, _)| s);
        Err(StoreError::Config(format!(
            "unsupported database URL scheme '{scheme}': use sqlite://PATH or postgres://USER@HOST/DB"
        )))
    }
}

/// Opens the store a URL names to read it only, as [`open`] does otherwise. `SQLite`: read-only
/// connections to an existing file, which is left exactly as it was (no journal-mode change, no
/// new file). `PostgreSQL`: every session starts with `default_transaction_read_only = on`, so
/// the server refuses any write. Does not migrate.
pub async fn open_read_only(url: &str, keys: Arc<Keys>) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open_read_only(url, keys).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        // sqlx reads `options[NAME]=VALUE` from the URL into the startup packet's options.
        let separator = if url.contains('?') { '&' } else { '?' };
        let url = format!("{url}{separator}options%5Bdefault_transaction_read_only%5D=on");
        Ok(Arc::new(PgStore::open(&url, keys).await?))
    } else {
        open(url, keys).await
    }
}
