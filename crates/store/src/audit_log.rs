//! How an audit row becomes a leaf of the Merkle log, and the hash chain that names the first
//! changed row.
//!
//! The leaf of event `seq` is a canonical, length-prefixed encoding of every stored column but
//! the chain itself, so that changing any of them changes the leaf. The chain binds each event
//! to all before it: `chain(seq) = SHA-256(chain(seq - 1) ‖ leaf_hash(leaf(seq)))`, starting
//! from 32 zero bytes. The Merkle tree over the leaves is what checkpoints sign; the chain is
//! what lets `legion audit verify` say which row was touched.

use chrono::{DateTime, Utc};
use legion_audit::{CHAIN_START, Hash, chain_next, leaf_hash};
use serde::Serialize;

use crate::{AuditEvent, Result, StoreError, StoredAuditEvent};

/// Identifies the leaf encoding; a new encoding would take a new tag.
const LEAF_TAG: &[u8] = b"legion-audit-event-v1";

fn put(out: &mut Vec<u8>, part: &[u8]) {
    out.extend_from_slice(&(part.len() as u64).to_be_bytes());
    out.extend_from_slice(part);
}

fn put_opt(out: &mut Vec<u8>, part: Option<&str>) {
    match part {
        None => out.push(0),
        Some(p) => {
            out.push(1);
            put(out, p.as_bytes());
        }
    }
}

/// The canonical leaf bytes of an audit event as stored.
pub fn leaf_bytes(seq: i64, e: &AuditEvent, before_hash: Option<&str>, after_hash: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    put(&mut out, LEAF_TAG);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&e.at.timestamp_millis().to_be_bytes());
    put(&mut out, e.actor.as_bytes());
    put(&mut out, e.role.as_bytes());
    put_opt(&mut out, e.mission.as_deref());
    put(&mut out, e.action.as_bytes());
    put(&mut out, e.object.as_bytes());
    put(&mut out, e.outcome.as_bytes());
    put_opt(&mut out, before_hash);
    put_opt(&mut out, after_hash);
    out
}

fn parse_chain(chain: Option<&str>) -> Option<Hash> {
    chain.and_then(|c| Hash::from_hex(c).ok())
}

impl StoredAuditEvent {
    /// This event's leaf bytes (see [`leaf_bytes`]).
    pub fn leaf(&self) -> Vec<u8> {
        leaf_bytes(self.seq, &self.event, self.before_hash.as_deref(), self.after_hash.as_deref())
    }

    /// The stored chain hash; `None` when it is missing or not 32 bytes of hex.
    pub fn chain_hash(&self) -> Option<Hash> {
        parse_chain(self.chain.as_deref())
    }
}

/// What to insert for the next event, given the last stored one (`seq`, `chain`).
pub(crate) struct NextEvent {
    pub seq: i64,
    pub chain: String,
}

pub(crate) fn next_event(
    last: Option<(i64, Option<String>)>,
    e: &AuditEvent,
    before_hash: Option<&str>,
    after_hash: Option<&str>,
) -> Result<NextEvent> {
    let (seq, prev) = match last {
        None => (1, CHAIN_START),
        Some((seq, Some(chain))) => (
            seq + 1,
            Hash::from_hex(&chain).map_err(|_| StoreError::Internal(format!("audit event {seq} has a bad chain")))?,
        ),
        Some((seq, None)) => {
            return Err(StoreError::Internal(format!("audit event {seq} has no chain; run `legion migrate`")));
        }
    };
    let chain = chain_next(&prev, &leaf_hash(&leaf_bytes(seq, e, before_hash, after_hash))).to_hex();
    Ok(NextEvent { seq, chain })
}

/// An audit row as verification reads it: its columns packed by the database into one JSON
/// array `[at, actor, role, mission, action, object, outcome, before_hash, after_hash]`, which
/// decodes several times faster than eleven separate columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedAuditRow {
    /// The row's seq.
    pub seq: i64,
    /// The other columns but the chain, as a JSON array.
    pub packed: String,
    /// The stored chain hash, hex.
    pub chain: Option<String>,
}

type Packed = (i64, String, String, Option<String>, String, String, String, Option<String>, Option<String>);

impl PackedAuditRow {
    /// The row's leaf bytes, as [`StoredAuditEvent::leaf`] computes them from the columns. A
    /// packing that does not decode yields the packed text itself, which matches no leaf the
    /// store wrote, so the row fails the chain check at its own seq.
    pub fn leaf(&self) -> Vec<u8> {
        let Ok((at, actor, role, mission, action, object, outcome, before, after)) =
            serde_json::from_str::<Packed>(&self.packed)
        else {
            return self.packed.clone().into_bytes();
        };
        let Some(at) = DateTime::from_timestamp_millis(at) else { return self.packed.clone().into_bytes() };
        let event = AuditEvent { at, actor, role, mission, action, object, outcome };
        leaf_bytes(self.seq, &event, before.as_deref(), after.as_deref())
    }

    /// The stored chain hash; `None` when it is missing or not 32 bytes of hex.
    pub fn chain_hash(&self) -> Option<Hash> {
        parse_chain(self.chain.as_deref())
    }
}

/// A signed checkpoint of the audit log, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCheckpoint {
    /// Number of events it covers.
    pub tree_size: i64,
    /// Merkle root, hex.
    pub root: String,
    /// The C2SP signed note.
    pub note: String,
    /// When it was signed.
    pub at: DateTime<Utc>,
}

/// Whether [`crate::Store::insert_checkpoint`] stored a new checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointOutcome {
    /// Stored.
    Stored,
    /// One of that size was already stored (by this or another server).
    Exists,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> AuditEvent {
        AuditEvent {
            at: DateTime::from_timestamp_millis(1_650_000_000_000).unwrap(),
            actor: "system".into(),
            role: "system".into(),
            mission: Some("gb-london".into()),
            action: "case.read".into(),
            object: "application:1".into(),
            outcome: "ok".into(),
        }
    }

    #[test]
    fn every_column_changes_the_leaf() {
        let base = leaf_bytes(1, &event(), Some("aa"), None);
        let variants = [
            leaf_bytes(2, &event(), Some("aa"), None),
            leaf_bytes(1, &AuditEvent { actor: "systen".into(), ..event() }, Some("aa"), None),
            leaf_bytes(1, &AuditEvent { role: "x".into(), ..event() }, Some("aa"), None),
            leaf_bytes(1, &AuditEvent { mission: None, ..event() }, Some("aa"), None),
            leaf_bytes(1, &AuditEvent { action: "case.reae".into(), ..event() }, Some("aa"), None),
            leaf_bytes(1, &AuditEvent { object: "application:2".into(), ..event() }, Some("aa"), None),
            leaf_bytes(1, &AuditEvent { outcome: "denied".into(), ..event() }, Some("aa"), None),
            leaf_bytes(1, &AuditEvent { at: DateTime::from_timestamp_millis(1).unwrap(), ..event() }, Some("aa"), None),
            leaf_bytes(1, &event(), None, Some("aa")),
            leaf_bytes(1, &event(), Some("ab"), None),
        ];
        for v in &variants {
            assert_ne!(&base, v);
        }
    }

    #[test]
    fn a_packed_row_gives_the_leaf_of_its_columns() {
        let e = AuditEvent { actor: "a \"quoted\" actor\n".into(), object: "Об'єкт ✓".into(), ..event() };
        let packed = serde_json::json!([
            e.at.timestamp_millis(),
            e.actor,
            e.role,
            e.mission,
            e.action,
            e.object,
            e.outcome,
            "aa",
            null
        ]);
        let row = PackedAuditRow { seq: 7, packed: packed.to_string(), chain: None };
        assert_eq!(row.leaf(), leaf_bytes(7, &e, Some("aa"), None));
        let garbage = PackedAuditRow { seq: 7, packed: "[1, 2".into(), chain: None };
        assert_eq!(garbage.leaf(), b"[1, 2");
    }

    #[test]
    fn fields_cannot_shift_into_each_other() {
        let a = leaf_bytes(1, &AuditEvent { actor: "ab".into(), role: "c".into(), ..event() }, None, None);
        let b = leaf_bytes(1, &AuditEvent { actor: "a".into(), role: "bc".into(), ..event() }, None, None);
        assert_ne!(a, b);
    }

    #[test]
    fn the_chain_follows_from_the_previous_event() {
        let first = next_event(None, &event(), None, None).unwrap();
        assert_eq!(first.seq, 1);
        let second = next_event(Some((1, Some(first.chain.clone()))), &event(), None, None).unwrap();
        assert_eq!(second.seq, 2);
        assert_ne!(first.chain, second.chain);
        let expected =
            chain_next(&Hash::from_hex(&first.chain).unwrap(), &leaf_hash(&leaf_bytes(2, &event(), None, None)));
        assert_eq!(second.chain, expected.to_hex());
        assert!(next_event(Some((1, None)), &event(), None, None).is_err());
        assert!(next_event(Some((1, Some("zz".into()))), &event(), None, None).is_err());
    }
}
