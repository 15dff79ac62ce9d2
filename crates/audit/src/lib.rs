//! Legion's tamper-evident audit log: RFC 6962 Merkle tree, proofs, signed checkpoints.
//!
//! Every audited event becomes a leaf of an append-only Merkle tree hashed as in RFC 6962 / RFC
//! 9162 (`SHA-256(0x00 ‖ leaf)`, `SHA-256(0x01 ‖ left ‖ right)`). [`MerkleTree`] answers roots,
//! inclusion proofs and consistency proofs for any size it has held; [`verify_inclusion`] and
//! [`verify_consistency`] check them without the tree. [`CheckpointSigner`] signs tree heads as
//! C2SP tlog-checkpoints inside C2SP signed notes, readable by Go's `sumdb/note` and by witnesses,
//! and [`CheckpointVerifier`] opens them. [`LogVerifier`] reads a whole stored log in seq order,
//! checking seqs, the hash chain ([`chain_next`]) and signed checkpoints, and names the first bad
//! entry.
//!
//! The crate is pure: no storage, no clock, no randomness. Keys come in as bytes or text.
//!
//! ```
//! use legion_audit::{Checkpoint, CheckpointSigner, MerkleTree, verify_consistency, verify_inclusion};
//!
//! let mut tree = MerkleTree::new();
//! for event in ["signed in", "approved", "revoked"] {
//!     tree.append(event.as_bytes());
//! }
//! let signer = CheckpointSigner::from_seed("legion.example/audit", &[7; 32])?;
//! let note = signer.sign(&Checkpoint::new("legion.example/audit", tree.size(), tree.root())?);
//!
//! let verifier = signer.verifier();
//! let checkpoint = verifier.verify(note.as_bytes(), "legion.example/audit")?;
//! let proof = tree.inclusion_proof(1, checkpoint.size())?;
//! verify_inclusion(&tree.leaf(1).unwrap(), 1, checkpoint.size(), &proof, &checkpoint.root())?;
//!
//! tree.append(b"signed out");
//! let proof = tree.consistency_proof(checkpoint.size(), tree.size())?;
//! verify_consistency(checkpoint.size(), tree.size(), &checkpoint.root(), &tree.root(), &proof)?;
//! # Ok::<(), legion_audit::AuditError>(())
//! ```

mod checkpoint;
mod error;
mod hash;
mod note;
mod proof;
#[cfg(test)]
mod test_vectors;
mod tree;
mod verify;

pub use checkpoint::{Checkpoint, CheckpointSigner, CheckpointVerifier};
pub use error::AuditError;
pub use hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
pub use note::{MAX_NOTE_LEN, MAX_SIGNATURES};
pub use proof::{verify_consistency, verify_inclusion};
pub use tree::MerkleTree;
pub use verify::{CHAIN_START, CheckpointReport, LogFault, LogVerifier, chain_next};
