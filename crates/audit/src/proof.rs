//! Verification of inclusion and consistency proofs, following RFC 9162 §2.1.3.2 and §2.1.4.2
//! step by step so the code can be read against the RFC.

use crate::{AuditError, EMPTY_ROOT, Hash, node_hash};

/// Checks that `leaf_hash` is the leaf at `index` in the tree of `size` leaves whose root is
/// `root`, given the audit path `proof` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), AuditError> {
    // Step 1.
    if index >= size {
        return Err(AuditError::IndexOutOfRange { index, size });
    }
    let wrong_length =
        || AuditError::WrongProofLength { expected: inclusion_proof_len(index, size), actual: proof.len() };
    // Steps 2 and 3.
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf_hash;
    // Step 4.
    for p in proof {
        if sn == 0 {
            return Err(wrong_length());
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    if sn != 0 {
        return Err(wrong_length());
    }
    if r != *root {
        return Err(AuditError::RootMismatch);
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root`, given the consistency proof `proof` (RFC 9162 §2.1.4.2).
///
/// RFC 9162 defines the algorithm for `0 < old_size < new_size` only. For the edges this function
/// takes the view that follows from the definitions: equal sizes need an empty proof and equal
/// roots; every tree extends the empty tree, so `old_size == 0` needs an empty proof and
/// `old_root` equal to [`EMPTY_ROOT`] (the RFC 6962 hash of the empty tree), and a `new_root` that
/// is not otherwise checkable.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), AuditError> {
    if old_size > new_size {
        return Err(AuditError::SizesOutOfOrder { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(AuditError::WrongProofLength { expected: 0, actual: proof.len() });
        }
        if old_size == 0 && *old_root != EMPTY_ROOT {
            return Err(AuditError::OldRootMismatch);
        }
        if old_size == new_size && old_root != new_root {
            return Err(AuditError::NewRootMismatch);
        }
        return Ok(());
    }
    let wrong_length =
        || AuditError::WrongProofLength { expected: consistency_proof_len(old_size, new_size), actual: proof.len() };
    // Step 1.
    if proof.is_empty() {
        return Err(wrong_length());
    }
    // Step 2: rather than copying the proof to prepend `old_root`, chain it in front.
    let path = std::iter::once(old_root).filter(|_| old_size.is_power_of_two()).chain(proof);
    let mut path = path.peekable();
    // Step 3.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    // Step 4.
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    let first = *path.next().expect("proof is not empty");
    let (mut fr, mut sr) = (first, first);
    // Step 6.
    for c in path {
        if sn == 0 {
            return Err(wrong_length());
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 7.
    if sn != 0 {
        return Err(wrong_length());
    }
    if fr != *old_root {
        return Err(AuditError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(AuditError::NewRootMismatch);
    }
    Ok(())
}

/// The number of hashes step 4 of §2.1.3.2 consumes before `sn` reaches 0: the only proof length
/// the algorithm accepts for this index and size (`index < size`).
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let (mut fn_, mut sn) = (index, size - 1);
    let mut len = 0;
    while sn != 0 {
        if fn_ & 1 == 0 && fn_ == sn {
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        }
        fn_ >>= 1;
        sn >>= 1;
        len += 1;
    }
    len
}

/// The proof length §2.1.4.2 accepts for `0 < old_size < new_size`, counted the same way.
fn consistency_proof_len(old_size: u64, new_size: u64) -> usize {
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut len = usize::from(!old_size.is_power_of_two());
    while sn != 0 {
        if fn_ & 1 == 0 && fn_ == sn {
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        }
        fn_ >>= 1;
        sn >>= 1;
        len += 1;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaf_hash;
    use crate::test_vectors::{self as tv};

    fn root(size: u64) -> Hash {
        if size == 0 { EMPTY_ROOT } else { tv::h(tv::ROOTS[usize::try_from(size).unwrap() - 1]) }
    }

    #[test]
    fn known_answer_inclusion_proofs_verify() {
        let leaves = tv::leaves();
        for (index, size, proof) in tv::INCLUSION_PROOFS {
            let leaf = leaf_hash(&leaves[usize::try_from(index).unwrap()]);
            assert_eq!(verify_inclusion(&leaf, index, size, &tv::hashes(proof), &root(size)), Ok(()));
        }
    }

    #[test]
    fn known_answer_consistency_proofs_verify() {
        for (old, new, proof) in tv::CONSISTENCY_PROOFS {
            assert_eq!(verify_consistency(old, new, &root(old), &root(new), &tv::hashes(proof)), Ok(()));
        }
    }

    #[test]
    fn inclusion_edge_cases() {
        let leaf = leaf_hash(b"data");
        // A one-leaf tree's root is its leaf hash and the proof is empty.
        assert_eq!(verify_inclusion(&leaf, 0, 1, &[], &leaf), Ok(()));
        assert_eq!(verify_inclusion(&leaf, 0, 1, &[], &EMPTY_ROOT), Err(AuditError::RootMismatch));
        assert_eq!(
            verify_inclusion(&leaf, 0, 1, &[leaf], &leaf),
            Err(AuditError::WrongProofLength { expected: 0, actual: 1 })
        );
        for (index, size) in [(0, 0), (1, 0), (1, 1), (2, 1), (u64::MAX, u64::MAX)] {
            assert_eq!(
                verify_inclusion(&leaf, index, size, &[], &leaf),
                Err(AuditError::IndexOutOfRange { index, size })
            );
        }
        assert_eq!(
            verify_inclusion(&leaf, 5, 8, &[leaf], &leaf),
            Err(AuditError::WrongProofLength { expected: 3, actual: 1 })
        );
        assert_eq!(
            verify_inclusion(&leaf, 0, u64::MAX, &[], &leaf),
            Err(AuditError::WrongProofLength { expected: 64, actual: 0 })
        );
    }

    #[test]
    fn consistency_edge_cases() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        // Every tree extends the empty one, but only with an empty proof and the empty root.
        assert_eq!(verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]), Ok(()));
        assert_eq!(verify_consistency(0, 5, &EMPTY_ROOT, &a, &[]), Ok(()));
        assert_eq!(verify_consistency(0, 5, &a, &a, &[]), Err(AuditError::OldRootMismatch));
        assert_eq!(
            verify_consistency(0, 5, &EMPTY_ROOT, &a, &[EMPTY_ROOT]),
            Err(AuditError::WrongProofLength { expected: 0, actual: 1 })
        );
        assert_eq!(verify_consistency(3, 3, &a, &a, &[]), Ok(()));
        assert_eq!(verify_consistency(3, 3, &a, &b, &[]), Err(AuditError::NewRootMismatch));
        assert_eq!(
            verify_consistency(3, 3, &a, &a, &[a]),
            Err(AuditError::WrongProofLength { expected: 0, actual: 1 })
        );
        assert_eq!(
            verify_consistency(4, 3, &a, &b, &[]),
            Err(AuditError::SizesOutOfOrder { old_size: 4, new_size: 3 })
        );
        assert_eq!(verify_consistency(1, 2, &a, &b, &[]), Err(AuditError::WrongProofLength { expected: 1, actual: 0 }));
        assert_eq!(
            verify_consistency(6, 8, &a, &b, &[a]),
            Err(AuditError::WrongProofLength { expected: 3, actual: 1 })
        );
        assert_eq!(
            verify_consistency(1, u64::MAX, &a, &b, &[a]),
            Err(AuditError::WrongProofLength { expected: 64, actual: 1 })
        );
    }

    #[test]
    fn proof_lengths_match_what_the_tree_produces() {
        let tree: crate::MerkleTree = (0..70u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for n in 1..=70u64 {
            for i in 0..n {
                assert_eq!(inclusion_proof_len(i, n), tree.inclusion_proof(i, n).unwrap().len(), "({i}, {n})");
            }
            for m in 1..n {
                assert_eq!(consistency_proof_len(m, n), tree.consistency_proof(m, n).unwrap().len(), "({m}, {n})");
            }
        }
    }
}
