//! Whole-log verification: reads a stored audit log once, in seq order, and names the first entry
//! that does not check out.
//!
//! Three checks, each catching what the one before cannot:
//!
//! - **Seq order.** Seqs run 1, 2, 3, … without gaps, so a deleted row, a row inserted under a
//!   duplicate seq, or rows read out of order show up at the first seq that is not the next one.
//! - **Hash chain.** Each row stores `chain(seq) = SHA-256(chain(seq - 1) ‖ leaf_hash(leaf))`,
//!   so a row changed in place, or inserted, removed or moved with the seqs renumbered, breaks the
//!   chain at the first such row. The chain needs no key, though: whoever can write the database
//!   can recompute it after a rewrite.
//! - **Signed checkpoints.** The root of the first *n* entries, signed by a key the database does
//!   not hold, is what a rewrite with a recomputed chain cannot match. A root commits to the whole
//!   range at once, so a mismatch pins the change only to the entries between the last checkpoint
//!   that matched and the first that did not; the more often checkpoints are signed, the narrower
//!   that range. Entries after the newest checkpoint are protected by the chain alone.

use std::cmp::Ordering;

use sha2::{Digest as _, Sha256};
use thiserror::Error;

use crate::{AuditError, Checkpoint, CheckpointVerifier, EMPTY_ROOT, Hash, MerkleTree, leaf_hash, verify_consistency};

/// The chain hash before the first entry, `chain(0)`: 32 zero bytes.
pub const CHAIN_START: Hash = Hash([0; 32]);

/// The chain hash of an entry from the one before it: `SHA-256(prev ‖ leaf_hash)`.
pub fn chain_next(prev: &Hash, leaf_hash: &Hash) -> Hash {
    Hash(Sha256::new().chain_update(prev.0).chain_update(leaf_hash.0).finalize().into())
}

/// What is wrong with a stored audit log, worded for the person running the check.
///
/// Messages carry seqs, sizes and where each checkpoint came from, never entry contents.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LogFault {
    /// A seq beyond the next one: the rows in between are missing.
    #[error(
        "expected seq {expected} next but found seq {found}: seq {expected} is missing \
         (a deleted row, or rows out of order)"
    )]
    MissingEntries {
        /// The seq that should have come next.
        expected: u64,
        /// The seq that came instead.
        found: u64,
    },

    /// A seq that belongs earlier in the log than where it was found.
    #[error(
        "expected seq {expected} next but found seq {found}, which belongs earlier: a row was inserted \
         with a duplicate seq, or rows are out of order"
    )]
    MisplacedEntry {
        /// The seq that should have come next.
        expected: u64,
        /// The seq that came instead.
        found: u64,
    },

    /// An entry whose stored chain hash does not follow from the entries before it.
    #[error(
        "entry seq {seq} does not match its stored chain hash: the entry was changed, or an entry \
         was inserted, removed or reordered at this point"
    )]
    ChainMismatch {
        /// The entry's seq.
        seq: u64,
    },

    /// A note that does not open as a checkpoint of this log under the trusted key: forged,
    /// altered, signed by another key, for another log, or not a checkpoint at all.
    #[error("checkpoint from {from} is not a valid signed checkpoint of this log: {reason}")]
    BadCheckpoint {
        /// Where the note came from: `database` or a file path.
        from: String,
        /// Why it was refused.
        reason: AuditError,
    },

    /// Two validly signed checkpoints for the same size with different roots.
    #[error(
        "checkpoints from {first_from} and {second_from} both cover {size} entries but have different \
         roots: two different histories of the log were signed"
    )]
    Fork {
        /// The size both checkpoints claim.
        size: u64,
        /// Where one note came from.
        first_from: String,
        /// Where the other note came from.
        second_from: String,
    },

    /// A checkpoint for more entries than the log holds: the tail was cut off, or the database was
    /// restored from an older copy.
    #[error(
        "checkpoint from {from} covers {checkpoint_size} entries but the log holds {log_size}: \
         entries after seq {log_size} are missing"
    )]
    Truncated {
        /// Where the note came from.
        from: String,
        /// The checkpoint's size.
        checkpoint_size: u64,
        /// The number of entries in the log.
        log_size: u64,
    },

    /// A checkpoint whose root the log's first entries do not reproduce: one of the entries from
    /// seq `first` to seq `last` was changed, inserted or removed.
    #[error(
        "checkpoint from {from} does not match the log's first {last} entries: {}",
        describe_range(*.first, *.last)
    )]
    RootMismatch {
        /// Where the note came from.
        from: String,
        /// The first entry not covered by an earlier checkpoint that matched.
        first: u64,
        /// The last entry the checkpoint covers: its size.
        last: u64,
    },
}

fn describe_range(first: u64, last: u64) -> String {
    match first.cmp(&last) {
        Ordering::Less => format!("an entry between seq {first} and seq {last} was changed, inserted or removed"),
        Ordering::Equal => format!("entry seq {first} was changed, or an entry was inserted or removed there"),
        // Only a checkpoint of size 0 gets here, and its root can only be wrong if it was signed so.
        Ordering::Greater => "its root is not the root of the empty log".to_owned(),
    }
}

impl LogFault {
    /// The seq of the first bad entry, when the fault pins it down: every entry before it passed
    /// the checks that found the fault.
    ///
    /// For a missing or misplaced seq it is the seq that should have come next; for a truncated
    /// log, the first missing seq. A checkpoint mismatch names a range, which is one entry only
    /// when the checkpoint is one entry larger than the last that matched. Bad checkpoints and
    /// forks are faults of the checkpoints, not of an entry.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Self::MissingEntries { expected, .. } | Self::MisplacedEntry { expected, .. } => Some(*expected),
            Self::ChainMismatch { seq } => Some(*seq),
            Self::Truncated { log_size, .. } => Some(log_size + 1),
            Self::RootMismatch { first, last, .. } => (first == last).then_some(*first),
            Self::BadCheckpoint { .. } | Self::Fork { .. } => None,
        }
    }
}

/// The outcome of [`LogVerifier::check_checkpoints`] when every checkpoint holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointReport {
    /// How many notes verified, copies of the same checkpoint included.
    pub verified: usize,
    /// The largest size a verified checkpoint covers; `None` when there were no checkpoints.
    pub largest_size: Option<u64>,
}

/// Checks a stored audit log entry by entry, in seq order, then against its signed checkpoints.
///
/// Holds the Merkle tree of the leaf hashes seen (about 64 bytes per entry) and the last chain
/// hash; each [`push`](Self::push) costs a leaf hash, a chain hash and, amortised, one node hash.
///
/// ```
/// use legion_audit::{CHAIN_START, Checkpoint, CheckpointSigner, LogVerifier, chain_next, leaf_hash};
///
/// // What the store keeps per row.
/// let mut rows = Vec::new();
/// let mut chain = CHAIN_START;
/// for (seq, leaf) in (1..).zip(["signed in", "approved", "revoked"]) {
///     chain = chain_next(&chain, &leaf_hash(leaf.as_bytes()));
///     rows.push((seq, leaf.as_bytes(), chain));
/// }
///
/// let mut log = LogVerifier::new();
/// for (seq, leaf, chain) in &rows {
///     log.push(*seq, leaf, chain)?;
/// }
/// let signer = CheckpointSigner::from_seed("legion.example/audit", &[7; 32]).unwrap();
/// let note = signer.sign(&Checkpoint::new("legion.example/audit", log.size(), log.root()).unwrap());
/// let report = log.check_checkpoints(
///     &[("database".to_owned(), note.into_bytes())],
///     &signer.verifier(),
///     "legion.example/audit",
/// )?;
/// assert_eq!(report.largest_size, Some(3));
/// # Ok::<(), legion_audit::LogFault>(())
/// ```
#[derive(Clone, Debug)]
pub struct LogVerifier {
    tree: MerkleTree,
    chain: Hash,
}

impl Default for LogVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl LogVerifier {
    /// A verifier that has seen no entries.
    pub fn new() -> Self {
        Self { tree: MerkleTree::new(), chain: CHAIN_START }
    }

    /// Checks the next entry: its seq must be one more than the last, and `stored_chain` must equal
    /// the chain hash recomputed from the previous one and `leaf`.
    ///
    /// On a fault nothing is recorded, so the verifier still describes the good prefix; reading
    /// should stop there, since every later seq would be reported as out of place.
    pub fn push(&mut self, seq: u64, leaf: &[u8], stored_chain: &Hash) -> Result<(), LogFault> {
        let expected = self.size() + 1;
        match seq.cmp(&expected) {
            Ordering::Greater => return Err(LogFault::MissingEntries { expected, found: seq }),
            Ordering::Less => return Err(LogFault::MisplacedEntry { expected, found: seq }),
            Ordering::Equal => {}
        }
        let hash = leaf_hash(leaf);
        let chain = chain_next(&self.chain, &hash);
        if chain != *stored_chain {
            return Err(LogFault::ChainMismatch { seq });
        }
        self.chain = chain;
        self.tree.push(hash);
        Ok(())
    }

    /// The number of entries checked so far: the seq of the last one.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The RFC 6962 root over the entries checked so far.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The chain hash of the last entry checked, [`CHAIN_START`] before the first.
    pub fn chain_head(&self) -> Hash {
        self.chain
    }

    /// The Merkle tree over the entries checked so far, for serving proofs.
    pub fn tree(&self) -> &MerkleTree {
        &self.tree
    }

    /// Checks signed checkpoints, each paired with where it came from (`database` or a file path),
    /// against the entries pushed so far.
    ///
    /// Every note must open under `verifier` as a checkpoint of `origin`; two checkpoints of one
    /// size must agree; and, from the smallest size up, each must cover no more entries than the
    /// log holds, be consistent with the previous one by a consistency proof from this log's tree
    /// (the check a witness makes), and have the root of the log's first entries. The first
    /// failure is returned, so a fault names the earliest range of entries that is wrong.
    pub fn check_checkpoints(
        &self,
        notes: &[(String, Vec<u8>)],
        verifier: &CheckpointVerifier,
        origin: &str,
    ) -> Result<CheckpointReport, LogFault> {
        let mut opened: Vec<(&str, Checkpoint)> = Vec::with_capacity(notes.len());
        for (from, note) in notes {
            let checkpoint = verifier
                .verify(note, origin)
                .map_err(|reason| LogFault::BadCheckpoint { from: from.clone(), reason })?;
            opened.push((from, checkpoint));
        }
        opened.sort_by_key(|(_, checkpoint)| checkpoint.size());

        // Checked before the log: a fork is the signer's fault whatever the database holds.
        for pair in opened.windows(2) {
            let [(first_from, first), (second_from, second)] = pair else { unreachable!("windows of two") };
            if first.size() == second.size() && first.root() != second.root() {
                return Err(LogFault::Fork {
                    size: first.size(),
                    first_from: (*first_from).to_owned(),
                    second_from: (*second_from).to_owned(),
                });
            }
        }

        let log_size = self.size();
        let (mut good_size, mut good_root) = (0, EMPTY_ROOT);
        for (from, checkpoint) in &opened {
            let (size, root) = (checkpoint.size(), checkpoint.root());
            if size > log_size {
                return Err(LogFault::Truncated { from: (*from).to_owned(), checkpoint_size: size, log_size });
            }
            let mismatch = || LogFault::RootMismatch { from: (*from).to_owned(), first: good_size + 1, last: size };
            let proof = self.tree.consistency_proof(good_size, size).expect("sizes within the tree, in order");
            verify_consistency(good_size, size, &good_root, &root, &proof).map_err(|_| mismatch())?;
            // Consistency from the empty tree says nothing about the new root, so compare it too.
            if self.tree.root_at(size).expect("size within the tree") != root {
                return Err(mismatch());
            }
            (good_size, good_root) = (size, root);
        }
        Ok(CheckpointReport { verified: opened.len(), largest_size: opened.last().map(|(_, c)| c.size()) })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::CheckpointSigner;

    const ORIGIN: &str = "legion.example/audit";

    /// One stored audit row as the store keeps it.
    #[derive(Clone, Debug)]
    struct Row {
        seq: u64,
        leaf: Vec<u8>,
        chain: Hash,
    }

    fn leaf(seq: u64) -> Vec<u8> {
        format!("event {seq}").into_bytes()
    }

    /// Recomputes every chain hash, as anyone with write access to the database can.
    fn rechain(mut rows: Vec<Row>) -> Vec<Row> {
        let mut chain = CHAIN_START;
        for row in &mut rows {
            chain = chain_next(&chain, &leaf_hash(&row.leaf));
            row.chain = chain;
        }
        rows
    }

    fn log(n: u64) -> Vec<Row> {
        rechain((1..=n).map(|seq| Row { seq, leaf: leaf(seq), chain: CHAIN_START }).collect())
    }

    fn replay(rows: &[Row]) -> Result<LogVerifier, LogFault> {
        let mut verifier = LogVerifier::new();
        for row in rows {
            verifier.push(row.seq, &row.leaf, &row.chain)?;
        }
        Ok(verifier)
    }

    fn signer() -> CheckpointSigner {
        CheckpointSigner::from_seed(ORIGIN, &[7; 32]).unwrap()
    }

    fn source(size: u64) -> String {
        format!("/var/lib/legion/checkpoints/{size}.note")
    }

    /// Notes signed by `signer` over `rows` at each size, named by where they would be kept.
    fn notes_by(signer: &CheckpointSigner, rows: &[Row], sizes: &[u64]) -> Vec<(String, Vec<u8>)> {
        let tree: MerkleTree = rows.iter().map(|row| leaf_hash(&row.leaf)).collect();
        sizes
            .iter()
            .map(|&size| {
                let checkpoint = Checkpoint::new(ORIGIN, size, tree.root_at(size).unwrap()).unwrap();
                (source(size), signer.sign(&checkpoint).into_bytes())
            })
            .collect()
    }

    fn notes(rows: &[Row], sizes: &[u64]) -> Vec<(String, Vec<u8>)> {
        notes_by(&signer(), rows, sizes)
    }

    fn check(verifier: &LogVerifier, notes: &[(String, Vec<u8>)]) -> Result<CheckpointReport, LogFault> {
        verifier.check_checkpoints(notes, &signer().verifier(), ORIGIN)
    }

    #[test]
    fn chain_follows_its_definition() {
        let leaf = leaf_hash(b"x");
        let mut bytes = [0u8; 64];
        bytes[32..].copy_from_slice(&leaf.0);
        assert_eq!(chain_next(&CHAIN_START, &leaf).0, <[u8; 32]>::from(Sha256::digest(bytes)));
        assert_eq!(CHAIN_START, Hash([0; 32]));
        assert_ne!(chain_next(&leaf, &CHAIN_START), chain_next(&CHAIN_START, &leaf));
    }

    #[test]
    fn an_untouched_log_verifies() {
        let rows = log(100);
        let verifier = replay(&rows).unwrap();
        assert_eq!(verifier.size(), 100);
        assert_eq!(verifier.chain_head(), rows[99].chain);
        let tree: MerkleTree = rows.iter().map(|row| leaf_hash(&row.leaf)).collect();
        assert_eq!(verifier.root(), tree.root());
        assert_eq!(verifier.tree(), &tree);
        // Out of order, with a copy of one checkpoint kept both in the database and in a file.
        let mut notes = notes(&rows, &[100, 0, 1, 64, 37]);
        notes.push(("database".to_owned(), notes[3].1.clone()));
        assert_eq!(check(&verifier, &notes), Ok(CheckpointReport { verified: 6, largest_size: Some(100) }));
        assert_eq!(check(&verifier, &[]), Ok(CheckpointReport { verified: 0, largest_size: None }));
    }

    #[test]
    fn an_empty_log_verifies() {
        let verifier = LogVerifier::default();
        assert_eq!((verifier.size(), verifier.root(), verifier.chain_head()), (0, EMPTY_ROOT, CHAIN_START));
        assert_eq!(check(&verifier, &notes(&[], &[0])), Ok(CheckpointReport { verified: 1, largest_size: Some(0) }));
    }

    #[test]
    fn a_changed_entry_breaks_the_chain_at_that_seq() {
        let mut rows = log(50);
        rows[19].leaf = b"event 20, edited".to_vec();
        let fault = replay(&rows).unwrap_err();
        assert_eq!(fault, LogFault::ChainMismatch { seq: 20 });
        assert_eq!(fault.seq(), Some(20));
        assert_eq!(
            fault.to_string(),
            "entry seq 20 does not match its stored chain hash: the entry was changed, or an entry was inserted, \
             removed or reordered at this point"
        );
    }

    #[test]
    fn a_changed_chain_hash_is_caught_at_that_seq() {
        let mut rows = log(50);
        rows[30].chain.0[0] ^= 1;
        assert_eq!(replay(&rows).unwrap_err(), LogFault::ChainMismatch { seq: 31 });
    }

    #[test]
    fn a_faulty_push_records_nothing() {
        let rows = log(3);
        let mut verifier = replay(&rows[..2]).unwrap();
        let (size, root, chain) = (verifier.size(), verifier.root(), verifier.chain_head());
        assert!(verifier.push(3, b"forged", &rows[2].chain).is_err());
        assert!(verifier.push(4, &rows[2].leaf, &rows[2].chain).is_err());
        assert_eq!((verifier.size(), verifier.root(), verifier.chain_head()), (size, root, chain));
        assert_eq!(verifier.push(3, &rows[2].leaf, &rows[2].chain), Ok(()));
    }

    #[test]
    fn a_rewritten_history_is_caught_by_the_first_checkpoint_covering_it() {
        let honest = log(100);
        let mut rows = honest.clone();
        rows[44].leaf = b"event 45, edited".to_vec();
        let rows = rechain(rows);
        // The chain alone cannot tell: it was recomputed.
        let verifier = replay(&rows).unwrap();
        let fault = check(&verifier, &notes(&honest, &[10, 40, 60, 100])).unwrap_err();
        assert_eq!(fault, LogFault::RootMismatch { from: source(60), first: 41, last: 60 });
        assert_eq!(fault.seq(), None);
        assert_eq!(
            fault.to_string(),
            "checkpoint from /var/lib/legion/checkpoints/60.note does not match the log's first 60 entries: \
             an entry between seq 41 and seq 60 was changed, inserted or removed"
        );
        // Without an earlier checkpoint the range starts at seq 1.
        assert_eq!(
            check(&verifier, &notes(&honest, &[100])),
            Err(LogFault::RootMismatch { from: source(100), first: 1, last: 100 })
        );
        // Checkpoints that end before the change still hold.
        assert_eq!(
            check(&verifier, &notes(&honest, &[10, 44])),
            Ok(CheckpointReport { verified: 2, largest_size: Some(44) })
        );
    }

    #[test]
    fn a_checkpoint_one_entry_past_the_last_good_one_names_the_entry() {
        let honest = log(100);
        let mut rows = honest.clone();
        rows[44].leaf = b"event 45, edited".to_vec();
        let verifier = replay(&rechain(rows)).unwrap();
        let fault = check(&verifier, &notes(&honest, &[44, 45, 46])).unwrap_err();
        assert_eq!(fault, LogFault::RootMismatch { from: source(45), first: 45, last: 45 });
        assert_eq!(fault.seq(), Some(45));
        assert!(fault.to_string().ends_with("entry seq 45 was changed, or an entry was inserted or removed there"));
    }

    #[test]
    fn a_deleted_row_leaves_a_gap() {
        let mut rows = log(50);
        rows.remove(29);
        let fault = replay(&rows).unwrap_err();
        assert_eq!(fault, LogFault::MissingEntries { expected: 30, found: 31 });
        assert_eq!(fault.seq(), Some(30));
        assert_eq!(
            fault.to_string(),
            "expected seq 30 next but found seq 31: seq 30 is missing (a deleted row, or rows out of order)"
        );
    }

    #[test]
    fn a_deleted_row_with_later_seqs_renumbered_breaks_the_chain() {
        let mut rows = log(50);
        rows.remove(29);
        for row in &mut rows[29..] {
            row.seq -= 1;
        }
        assert_eq!(replay(&rows).unwrap_err(), LogFault::ChainMismatch { seq: 30 });
    }

    #[test]
    fn a_row_inserted_under_a_duplicate_seq_is_misplaced() {
        let mut rows = log(50);
        // Even with a chain hash that follows from seq 12, the duplicate seq gives it away.
        let chain = chain_next(&rows[11].chain, &leaf_hash(b"forged"));
        rows.insert(12, Row { seq: 12, leaf: b"forged".to_vec(), chain });
        let fault = replay(&rows).unwrap_err();
        assert_eq!(fault, LogFault::MisplacedEntry { expected: 13, found: 12 });
        assert_eq!(fault.seq(), Some(13));
        assert_eq!(
            fault.to_string(),
            "expected seq 13 next but found seq 12, which belongs earlier: a row was inserted with a duplicate \
             seq, or rows are out of order"
        );
        assert_eq!(replay(&[Row { seq: 0, leaf: leaf(0), chain: CHAIN_START }]).unwrap_err().seq(), Some(1));
    }

    #[test]
    fn a_row_inserted_with_later_seqs_renumbered_breaks_the_chain() {
        let mut rows = log(50);
        let chain = chain_next(&rows[11].chain, &leaf_hash(b"forged"));
        rows.insert(12, Row { seq: 13, leaf: b"forged".to_vec(), chain });
        for row in &mut rows[13..] {
            row.seq += 1;
        }
        // The forged row extends the chain correctly; the original row after it no longer does.
        assert_eq!(replay(&rows).unwrap_err(), LogFault::ChainMismatch { seq: 14 });
        // Without a forged chain hash the inserted row itself is named.
        rows[12].chain = Hash([9; 32]);
        assert_eq!(replay(&rows).unwrap_err(), LogFault::ChainMismatch { seq: 13 });
    }

    #[test]
    fn a_row_inserted_with_the_chain_recomputed_is_caught_by_a_checkpoint() {
        let honest = log(50);
        let mut rows = honest.clone();
        rows.insert(12, Row { seq: 13, leaf: b"forged".to_vec(), chain: CHAIN_START });
        for row in &mut rows[13..] {
            row.seq += 1;
        }
        let verifier = replay(&rechain(rows)).unwrap();
        assert_eq!(
            check(&verifier, &notes(&honest, &[12, 30, 50])),
            Err(LogFault::RootMismatch { from: source(30), first: 13, last: 30 })
        );
    }

    #[test]
    fn swapped_rows_break_the_chain_at_the_first() {
        // Contents swapped, seqs and chain hashes left in place.
        let mut rows = log(50);
        let (a, b) = (rows[9].leaf.clone(), rows[39].leaf.clone());
        (rows[9].leaf, rows[39].leaf) = (b, a);
        assert_eq!(replay(&rows).unwrap_err(), LogFault::ChainMismatch { seq: 10 });

        // Whole rows swapped and renumbered so the seqs still run in order.
        let mut rows = log(50);
        rows.swap(9, 39);
        (rows[9].seq, rows[39].seq) = (10, 40);
        assert_eq!(replay(&rows).unwrap_err(), LogFault::ChainMismatch { seq: 10 });

        // Whole rows swapped, seqs included, and read in storage order.
        let mut rows = log(50);
        rows.swap(9, 39);
        assert_eq!(replay(&rows).unwrap_err(), LogFault::MissingEntries { expected: 10, found: 40 });
    }

    #[test]
    fn swapped_rows_with_the_chain_recomputed_are_caught_by_a_checkpoint() {
        let honest = log(50);
        let mut rows = honest.clone();
        rows.swap(9, 39);
        (rows[9].seq, rows[39].seq) = (10, 40);
        let verifier = replay(&rechain(rows)).unwrap();
        assert_eq!(
            check(&verifier, &notes(&honest, &[9, 20, 50])),
            Err(LogFault::RootMismatch { from: source(20), first: 10, last: 20 })
        );
    }

    #[test]
    fn a_truncated_or_rolled_back_log_falls_short_of_its_checkpoint() {
        let honest = log(120);
        let verifier = replay(&honest[..100]).unwrap();
        let mut notes = notes(&honest, &[50, 100, 120]);
        notes[2].0 = "database".to_owned();
        let fault = check(&verifier, &notes).unwrap_err();
        assert_eq!(fault, LogFault::Truncated { from: "database".to_owned(), checkpoint_size: 120, log_size: 100 });
        assert_eq!(fault.seq(), Some(101));
        assert_eq!(
            fault.to_string(),
            "checkpoint from database covers 120 entries but the log holds 100: entries after seq 100 are missing"
        );
        // A change below the truncation point is the earlier fault, so it is the one reported.
        let mut rows = honest[..100].to_vec();
        rows[60].leaf = b"edited".to_vec();
        let verifier = replay(&rechain(rows)).unwrap();
        assert_eq!(check(&verifier, &notes), Err(LogFault::RootMismatch { from: source(100), first: 51, last: 100 }));
    }

    #[test]
    fn a_checkpoint_signed_by_another_key_is_refused() {
        let rows = log(20);
        let verifier = replay(&rows).unwrap();
        let impostor = CheckpointSigner::from_seed(ORIGIN, &[8; 32]).unwrap();
        let mut notes = notes(&rows, &[10]);
        notes.extend(notes_by(&impostor, &rows, &[20]));
        let fault = check(&verifier, &notes).unwrap_err();
        assert_eq!(
            fault,
            LogFault::BadCheckpoint {
                from: source(20),
                reason: AuditError::NoTrustedSignature { key_name: ORIGIN.to_owned() }
            }
        );
        assert_eq!(fault.seq(), None);
        assert_eq!(
            fault.to_string(),
            "checkpoint from /var/lib/legion/checkpoints/20.note is not a valid signed checkpoint of this log: \
             note has no signature by key legion.example/audit"
        );
    }

    #[test]
    fn a_checkpoint_with_altered_root_text_is_refused() {
        let honest = log(20);
        let mut rows = honest.clone();
        rows[4].leaf = b"edited".to_vec();
        let verifier = replay(&rechain(rows)).unwrap();
        // The forger rewrites the root line to match the tampered log but cannot re-sign.
        let mut notes = notes(&honest, &[20]);
        let text = String::from_utf8(notes[0].1.clone()).unwrap();
        let forged = text.replace(&honest_root(&honest, 20).to_base64(), &verifier.root().to_base64());
        assert_ne!(forged, text);
        notes[0] = ("database".to_owned(), forged.into_bytes());
        assert_eq!(
            check(&verifier, &notes),
            Err(LogFault::BadCheckpoint {
                from: "database".to_owned(),
                reason: AuditError::InvalidSignature { key_name: ORIGIN.to_owned() }
            })
        );
    }

    fn honest_root(rows: &[Row], size: u64) -> Hash {
        rows.iter().map(|row| leaf_hash(&row.leaf)).collect::<MerkleTree>().root_at(size).unwrap()
    }

    #[test]
    fn unparsable_and_foreign_checkpoints_are_refused() {
        let rows = log(5);
        let verifier = replay(&rows).unwrap();
        let garbage = vec![("database".to_owned(), b"not a note".to_vec())];
        assert_eq!(
            check(&verifier, &garbage),
            Err(LogFault::BadCheckpoint { from: "database".to_owned(), reason: AuditError::MissingSignatureBlock })
        );
        let note = notes(&rows, &[5]);
        assert_eq!(
            verifier.check_checkpoints(&note, &signer().verifier(), "legion.example/other"),
            Err(LogFault::BadCheckpoint {
                from: source(5),
                reason: AuditError::OriginMismatch {
                    expected: "legion.example/other".to_owned(),
                    found: ORIGIN.to_owned()
                }
            })
        );
    }

    #[test]
    fn two_checkpoints_of_one_size_with_different_roots_are_a_fork() {
        let honest = log(30);
        let mut other = honest.clone();
        other[2].leaf = b"another history".to_vec();
        let verifier = replay(&honest).unwrap();
        let mut notes = notes(&honest, &[10, 20]);
        notes.push(("database".to_owned(), notes_by(&signer(), &other, &[20]).remove(0).1));
        let fault = check(&verifier, &notes).unwrap_err();
        assert_eq!(fault, LogFault::Fork { size: 20, first_from: source(20), second_from: "database".to_owned() });
        assert_eq!(fault.seq(), None);
        assert_eq!(
            fault.to_string(),
            "checkpoints from /var/lib/legion/checkpoints/20.note and database both cover 20 entries but have \
             different roots: two different histories of the log were signed"
        );
        // The fork is reported even though the log matches one side, and before any log mismatch.
        let mut rows = honest.clone();
        rows[0].leaf = b"edited".to_vec();
        let tampered = replay(&rechain(rows)).unwrap();
        assert!(matches!(check(&tampered, &notes), Err(LogFault::Fork { size: 20, .. })));
    }

    #[test]
    fn checkpoints_of_another_history_at_other_sizes_disagree_with_the_log() {
        let honest = log(30);
        let mut other = honest.clone();
        other[14].leaf = b"another history".to_vec();
        let verifier = replay(&honest).unwrap();
        let mut notes = notes(&honest, &[10]);
        notes.extend(notes_by(&signer(), &other, &[20]));
        assert_eq!(check(&verifier, &notes), Err(LogFault::RootMismatch { from: source(20), first: 11, last: 20 }));
    }

    #[test]
    fn a_signed_empty_checkpoint_with_a_wrong_root_is_refused() {
        let verifier = replay(&log(3)).unwrap();
        let note = signer().sign(&Checkpoint::new(ORIGIN, 0, leaf_hash(b"")).unwrap());
        let fault = check(&verifier, &[("database".to_owned(), note.into_bytes())]).unwrap_err();
        assert_eq!(fault, LogFault::RootMismatch { from: "database".to_owned(), first: 1, last: 0 });
        assert_eq!(fault.seq(), None);
        assert!(fault.to_string().ends_with("its root is not the root of the empty log"), "{fault}");
    }

    #[test]
    #[ignore = "a million entries: run with --release --ignored"]
    fn a_million_entries() {
        let mut verifier = LogVerifier::new();
        let mut chain = CHAIN_START;
        let mut leaf = [0u8; 200];
        for seq in 1..=1_000_000u64 {
            leaf[..8].copy_from_slice(&seq.to_be_bytes());
            chain = chain_next(&chain, &leaf_hash(&leaf));
            verifier.push(seq, &leaf, &chain).unwrap();
        }
        let signer = signer();
        let notes: Vec<_> = [1, 500_000, 999_999, 1_000_000]
            .into_iter()
            .map(|size| {
                let checkpoint = Checkpoint::new(ORIGIN, size, verifier.tree().root_at(size).unwrap()).unwrap();
                (source(size), signer.sign(&checkpoint).into_bytes())
            })
            .collect();
        assert_eq!(check(&verifier, &notes), Ok(CheckpointReport { verified: 4, largest_size: Some(1_000_000) }));
    }

    /// A log of up to `max` entries and up to six checkpoint sizes within it, in no order.
    fn log_and_sizes(max: u64) -> impl Strategy<Value = (u64, Vec<u64>)> {
        (0..max).prop_flat_map(|n| (Just(n), prop::collection::vec(0..=n, 0..6)))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn untouched_logs_always_verify((n, sizes) in log_and_sizes(300)) {
            let rows = log(n);
            let verifier = replay(&rows).unwrap();
            prop_assert_eq!(
                check(&verifier, &notes(&rows, &sizes)),
                Ok(CheckpointReport { verified: sizes.len(), largest_size: sizes.iter().max().copied() })
            );
        }

        #[test]
        fn a_changed_entry_is_named((n, at) in (1..200u64).prop_flat_map(|n| (Just(n), 1..=n)), byte in 0usize..7) {
            let mut rows = log(n);
            let leaf = &mut rows[usize::try_from(at - 1).unwrap()].leaf;
            let i = byte % leaf.len();
            leaf[i] ^= 0x20;
            prop_assert_eq!(replay(&rows).unwrap_err(), LogFault::ChainMismatch { seq: at });
        }

        #[test]
        fn a_deleted_entry_is_named((n, at) in (2..200u64).prop_flat_map(|n| (Just(n), 1..n))) {
            let mut rows = log(n);
            rows.remove(usize::try_from(at - 1).unwrap());
            let fault = replay(&rows).unwrap_err();
            prop_assert_eq!(fault.seq(), Some(at));
            prop_assert_eq!(fault, LogFault::MissingEntries { expected: at, found: at + 1 });
        }

        #[test]
        fn a_rewritten_history_is_pinned_between_checkpoints(
            (n, sizes) in log_and_sizes(200).prop_filter("non-empty log", |(n, _)| *n > 0),
            at in any::<prop::sample::Index>(),
        ) {
            let at = at.index(usize::try_from(n).unwrap()) as u64 + 1;
            let honest = log(n);
            let mut rows = honest.clone();
            rows[usize::try_from(at - 1).unwrap()].leaf.push(b'!');
            let verifier = replay(&rechain(rows)).unwrap();
            let result = check(&verifier, &notes(&honest, &sizes));
            match sizes.iter().filter(|&&s| s >= at).min() {
                // No checkpoint covers the change: only the chain protected it, and it was recomputed.
                None => prop_assert!(result.is_ok()),
                Some(&last) => {
                    let first = sizes.iter().filter(|&&s| s < at).max().map_or(1, |s| s + 1);
                    prop_assert_eq!(result, Err(LogFault::RootMismatch { from: source(last), first, last }));
                }
            }
        }
    }
}
