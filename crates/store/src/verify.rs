//! Verification of the stored audit log: every event against the hash chain, in seq order, and
//! the Merkle tree over them against every signed checkpoint, those in the database and those
//! kept elsewhere (a witness, an operator's copy).
//!
//! Everything is recomputed from the rows as stored; nothing is taken from the stored chain
//! or roots except to be compared. The checks themselves are [`legion_audit::LogVerifier`]'s.

use legion_audit::{CheckpointVerifier, Hash, LogFault, LogVerifier};

use crate::{Store, StoreError, StoredCheckpoint};

/// Events read per query when the log is streamed.
pub const VERIFY_PAGE: u32 = 10_000;

/// Stands in for a chain hash that is missing or not 64 hex digits, so that such a row fails the
/// chain check at its own seq. No chain hash is all zeros but with negligible probability.
const MISSING_CHAIN: Hash = Hash([0; 32]);

/// Where a checkpoint stored in the database is said to come from in reports.
pub fn stored_checkpoint_source(tree_size: i64) -> String {
    format!("database (tree_size {tree_size})")
}

/// What a verification that found nothing wrong covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events checked: seqs 1 to this.
    pub events: u64,
    /// The RFC 6962 root over them.
    pub root: Hash,
    /// Signed checkpoints that verified, from the database and from elsewhere.
    pub checkpoints: usize,
    /// How many of them came from the database.
    pub stored_checkpoints: usize,
    /// The largest size any verified checkpoint covers.
    pub largest_checkpoint: Option<u64>,
    /// The checkpoint stored in the database that covers the most events.
    pub latest_stored: Option<StoredCheckpoint>,
}

impl VerifyReport {
    /// Events after the largest checkpoint, protected by the hash chain alone until the next.
    pub fn unsigned_events(&self) -> u64 {
        self.events.saturating_sub(self.largest_checkpoint.unwrap_or(0))
    }
}

/// Why a verification failed: the log or its checkpoints are not what was signed, or the
/// database could not be read.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// An event or a checkpoint does not check out; the fault names the first bad seq or the
    /// checkpoint's source.
    #[error("{0}")]
    Tampered(#[from] LogFault),
    /// A checkpoint row whose `tree_size` or `root` columns differ from what its signed note says.
    #[error(
        "checkpoint from {from} is signed for {signed_size} entries but its row was changed to say \
         otherwise (tree_size or root column)"
    )]
    MislabelledCheckpoint {
        /// Where the row is (see [`stored_checkpoint_source`]).
        from: String,
        /// The size its note was signed for.
        signed_size: u64,
    },
    /// Reading the database failed; says nothing about the log.
    #[error("cannot read the audit log: {0}")]
    Store(#[from] StoreError),
}

impl VerifyError {
    /// Whether the log or its checkpoints were found wrong (rather than unreadable).
    pub fn is_tampering(&self) -> bool {
        !matches!(self, Self::Store(_))
    }

    /// The seq of the first bad entry, when the fault pins it down (see [`LogFault::seq`]).
    pub fn seq(&self) -> Option<u64> {
        match self {
            Self::Tampered(fault) => fault.seq(),
            Self::MislabelledCheckpoint { .. } | Self::Store(_) => None,
        }
    }
}

/// Streams the events after those `log` has seen into it, in pages of [`VERIFY_PAGE`], until
/// the log holds `until` events or the table ends. Returns how many events were read.
///
/// Each event's leaf is rebuilt from its stored columns and its stored chain hash checked; a
/// missing or unreadable chain hash fails at that event's seq. On a fault `log` still describes
/// the good prefix.
pub async fn read_audit_events(
    store: &dyn Store,
    log: &mut LogVerifier,
    until: Option<u64>,
) -> Result<u64, VerifyError> {
    let start = log.size();
    // How many rows the next query may return, once `done` rows have been read.
    let limit = |done: u64| match until {
        Some(until) => u32::try_from(until.saturating_sub(start + done)).unwrap_or(VERIFY_PAGE).min(VERIFY_PAGE),
        None => VERIFY_PAGE,
    };
    let as_seq = |n: u64| i64::try_from(n).map_err(|_| StoreError::Internal("audit log size out of range".into()));
    let mut read = 0;
    if limit(0) == 0 {
        return Ok(0);
    }
    let mut page = store.audit_packed(as_seq(start)?, limit(0)).await?;
    while let Some(last) = page.last().map(|r| r.seq) {
        let count = page.len() as u64;
        let more = count == u64::from(limit(read)) && limit(read + count) > 0;
        // The page is hashed on a blocking thread while the next one is read.
        let mut owned = std::mem::take(log);
        let hashing = tokio::task::spawn_blocking(move || {
            let result = page.iter().try_for_each(|row| {
                // A seq that is not positive belongs nowhere in the log: 0 reports it as misplaced.
                let seq = u64::try_from(row.seq).unwrap_or(0);
                owned.push(seq, &row.leaf(), &row.chain_hash().unwrap_or(MISSING_CHAIN))
            });
            (owned, result)
        });
        let next = if more { Some(store.audit_packed(last, limit(read + count)).await) } else { None };
        let (owned, result) =
            hashing.await.map_err(|e| StoreError::Internal(format!("verification thread failed: {e}")))?;
        *log = owned;
        result?;
        read += count;
        match next {
            Some(next) => page = next?,
            None => break,
        }
    }
    Ok(read)
}

/// Verifies the whole stored audit log and returns the verified log with the report, for
/// callers that go on from it (the checkpointer keeps appending to the same tree).
///
/// The checkpoints stored in the database are read first and the events after, so that a
/// server signing concurrently cannot store a checkpoint for events this pass never reads.
/// Every event must follow the hash chain from seq 1; every note, stored or `external`
/// (`(source, note)` pairs, the source being e.g. a file path), must be a checkpoint of
/// `origin` signed by `verifier`'s key and match the log; and each stored checkpoint's
/// `tree_size` and `root` columns must say what its note says.
pub async fn replay_audit_log(
    store: &dyn Store,
    verifier: &CheckpointVerifier,
    origin: &str,
    external: Vec<(String, Vec<u8>)>,
) -> Result<(LogVerifier, VerifyReport), VerifyError> {
    let stored = store.checkpoints().await?;
    let size = u64::try_from(store.audit_size().await?).unwrap_or(0);
    let mut log = LogVerifier::new();
    read_audit_events(store, &mut log, Some(size)).await?;

    let stored_count = stored.len();
    let mut notes: Vec<(String, Vec<u8>)> =
        stored.iter().map(|c| (stored_checkpoint_source(c.tree_size), c.note.clone().into_bytes())).collect();
    notes.extend(external);
    let checked = log.check_checkpoints(&notes, verifier, origin)?;

    // Every note opened above, so only the columns beside each stored one are left to compare.
    for row in &stored {
        let checkpoint = verifier
            .verify(row.note.as_bytes(), origin)
            .map_err(|reason| LogFault::BadCheckpoint { from: stored_checkpoint_source(row.tree_size), reason })?;
        let same_root = Hash::from_hex(&row.root).is_ok_and(|root| root == checkpoint.root());
        if u64::try_from(row.tree_size).ok() != Some(checkpoint.size()) || !same_root {
            return Err(VerifyError::MislabelledCheckpoint {
                from: stored_checkpoint_source(row.tree_size),
                signed_size: checkpoint.size(),
            });
        }
    }

    let report = VerifyReport {
        events: log.size(),
        root: log.root(),
        checkpoints: checked.verified,
        stored_checkpoints: stored_count,
        largest_checkpoint: checked.largest_size,
        latest_stored: stored.into_iter().max_by_key(|c| c.tree_size),
    };
    Ok((log, report))
}

/// Verifies the whole stored audit log against its stored checkpoints and the `external` ones
/// (see [`replay_audit_log`]). `Err(VerifyError::Tampered)` names the first bad entry or
/// checkpoint; `Err(VerifyError::Store)` means the database could not be read.
pub async fn verify_audit_log(
    store: &dyn Store,
    verifier: &CheckpointVerifier,
    origin: &str,
    external: Vec<(String, Vec<u8>)>,
) -> Result<VerifyReport, VerifyError> {
    replay_audit_log(store, verifier, origin, external).await.map(|(_, report)| report)
}

/// Signs a checkpoint of everything `log` holds, as a row for
/// [`Store::insert_checkpoint`](crate::Store::insert_checkpoint). `None` for an empty log, which
/// has nothing to sign.
pub fn sign_checkpoint(
    log: &LogVerifier,
    signer: &legion_audit::CheckpointSigner,
    origin: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Option<StoredCheckpoint>, legion_audit::AuditError> {
    let size = log.size();
    let Ok(tree_size @ 1..) = i64::try_from(size) else { return Ok(None) };
    let checkpoint = legion_audit::Checkpoint::new(origin, size, log.root())?;
    Ok(Some(StoredCheckpoint { tree_size, root: checkpoint.root().to_hex(), note: signer.sign(&checkpoint), at }))
}
