//! An append-only RFC 6962 Merkle tree that keeps every complete subtree, so appends are cheap and
//! roots and proofs for any earlier size are served without rehashing leaves.

use crate::{AuditError, EMPTY_ROOT, Hash, leaf_hash, node_hash};

/// An in-memory append-only Merkle tree over leaf hashes.
///
/// `levels[h][i]` is the hash of the complete subtree covering leaves `i·2ʰ .. (i+1)·2ʰ`. An append
/// adds one leaf and then one parent per level for as long as the level just grown has an even
/// length: O(1) amortised, O(log n) at worst. Any subtree the RFC 6962 algorithms ask for is either
/// stored or, for the one ragged right edge, assembled from O(log n) stored hashes, so roots and
/// proofs cost O(log n). Memory is about two hashes per leaf.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MerkleTree {
    levels: Vec<Vec<Hash>>,
}

/// The largest power of two strictly below `n`, the split point of RFC 6962 §2.1 (`n` ≥ 2).
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).expect("usize fits in u64")
}

impl MerkleTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a tree from stored leaf hashes, in log order.
    pub fn from_leaf_hashes<I: IntoIterator<Item = Hash>>(leaf_hashes: I) -> Self {
        let mut tree = Self::new();
        tree.extend(leaf_hashes);
        tree
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        to_u64(self.len())
    }

    fn len(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
    }

    /// Hashes `data` as a leaf, appends it and returns its index and leaf hash.
    pub fn append(&mut self, data: &[u8]) -> (u64, Hash) {
        let hash = leaf_hash(data);
        (self.push(hash), hash)
    }

    /// Appends an already computed leaf hash and returns its index.
    pub fn push(&mut self, leaf: Hash) -> u64 {
        let index = self.size();
        let mut carry = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(carry);
            if !row.len().is_multiple_of(2) {
                return index;
            }
            carry = node_hash(&row[row.len() - 2], &row[row.len() - 1]);
            level += 1;
        }
    }

    /// The leaf hash at `index`, if there is one.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        let index = usize::try_from(index).ok()?;
        self.levels.first()?.get(index).copied()
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        match self.len() {
            0 => EMPTY_ROOT,
            n => self.subtree(0, n),
        }
    }

    /// The root the tree had when it held its first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, AuditError> {
        match self.check_size(size)? {
            0 => Ok(EMPTY_ROOT),
            n => Ok(self.subtree(0, n)),
        }
    }

    /// The RFC 6962 §2.1.1 audit path (RFC 9162 §2.1.3.1 inclusion proof) for leaf `index` in the
    /// tree of the first `size` leaves, ordered from the leaf up.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, AuditError> {
        let n = self.check_size(size)?;
        if index >= size {
            return Err(AuditError::IndexOutOfRange { index, size });
        }
        let m = usize::try_from(index).expect("index below a size that fits in usize");
        let mut proof = Vec::new();
        self.path(m, 0, n, &mut proof);
        Ok(proof)
    }

    /// The RFC 6962 §2.1.2 consistency proof (RFC 9162 §2.1.4.1) from the tree of the first
    /// `old_size` leaves to the tree of the first `new_size` leaves.
    ///
    /// The proof is empty when `old_size` is 0 or equals `new_size`, as the RFC's `PROOF` and
    /// [`verify_consistency`](crate::verify_consistency) expect.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, AuditError> {
        let n = self.check_size(new_size)?;
        if old_size > new_size {
            return Err(AuditError::SizesOutOfOrder { old_size, new_size });
        }
        let m = usize::try_from(old_size).expect("old size below a size that fits in usize");
        let mut proof = Vec::new();
        if m > 0 {
            self.subproof(m, 0, n, true, &mut proof);
        }
        Ok(proof)
    }

    fn check_size(&self, size: u64) -> Result<usize, AuditError> {
        let available = self.size();
        if size > available {
            return Err(AuditError::SizeOutOfRange { requested: size, available });
        }
        Ok(usize::try_from(size).expect("size bounded by a Vec length"))
    }

    /// `MTH(D[start..end])` for a range the RFC recursion can produce: `start` is a multiple of the
    /// largest power of two below `end - start`, so the left part is always a stored subtree.
    fn subtree(&self, start: usize, end: usize) -> Hash {
        let width = end - start;
        debug_assert!(width >= 1 && end <= self.len());
        if width.is_power_of_two() && start.is_multiple_of(width) {
            let level = width.trailing_zeros() as usize;
            return self.levels[level][start >> level];
        }
        let k = split_point(width);
        node_hash(&self.subtree(start, start + k), &self.subtree(start + k, end))
    }

    /// `PATH(m, D[start..end])` with `m` absolute.
    fn path(&self, m: usize, start: usize, end: usize, out: &mut Vec<Hash>) {
        if end - start == 1 {
            return;
        }
        let mid = start + split_point(end - start);
        if m < mid {
            self.path(m, start, mid, out);
            out.push(self.subtree(mid, end));
        } else {
            self.path(m, mid, end, out);
            out.push(self.subtree(start, mid));
        }
    }

    /// `SUBPROOF(m, D[start..end], complete)` with `m` relative to `start`.
    fn subproof(&self, m: usize, start: usize, end: usize, complete: bool, out: &mut Vec<Hash>) {
        let width = end - start;
        if m == width {
            if !complete {
                out.push(self.subtree(start, end));
            }
            return;
        }
        let k = split_point(width);
        if m <= k {
            self.subproof(m, start, start + k, complete, out);
            out.push(self.subtree(start + k, end));
        } else {
            self.subproof(m - k, start + k, end, false, out);
            out.push(self.subtree(start, start + k));
        }
    }
}

impl Extend<Hash> for MerkleTree {
    fn extend<I: IntoIterator<Item = Hash>>(&mut self, leaf_hashes: I) {
        for leaf in leaf_hashes {
            self.push(leaf);
        }
    }
}

impl FromIterator<Hash> for MerkleTree {
    fn from_iter<I: IntoIterator<Item = Hash>>(leaf_hashes: I) -> Self {
        Self::from_leaf_hashes(leaf_hashes)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::test_vectors::{self as tv, reference, tampered};
    use crate::{verify_consistency, verify_inclusion};

    fn entries(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("event {i}").into_bytes()).collect()
    }

    /// Random entries, made distinct by their position so that a proof for one index can never be
    /// a proof for another just because two leaves are equal.
    fn distinct_entries(max: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..max).prop_map(|d| {
            d.into_iter()
                .enumerate()
                .map(|(i, mut e)| {
                    e.extend_from_slice(&u32::try_from(i).unwrap().to_be_bytes());
                    e
                })
                .collect()
        })
    }

    fn tree_of(entries: &[Vec<u8>]) -> MerkleTree {
        entries.iter().map(|e| leaf_hash(e)).collect()
    }

    #[test]
    fn split_point_is_the_largest_power_of_two_below() {
        for (n, k) in [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1 << 20, 1 << 19), ((1 << 20) + 1, 1 << 20)] {
            assert_eq!(split_point(n), k, "n = {n}");
        }
    }

    #[test]
    fn known_answer_roots() {
        let tree = tree_of(&tv::leaves());
        assert_eq!(tree.root_at(0), Ok(EMPTY_ROOT));
        for (i, root) in tv::ROOTS.iter().enumerate() {
            assert_eq!(tree.root_at(i as u64 + 1), Ok(tv::h(root)), "size {}", i + 1);
        }
        assert_eq!(tree.root(), tv::h(tv::ROOTS[7]));
    }

    #[test]
    fn known_answer_proofs() {
        let tree = tree_of(&tv::leaves());
        for (index, size, proof) in tv::INCLUSION_PROOFS {
            assert_eq!(tree.inclusion_proof(index, size), Ok(tv::hashes(proof)), "inclusion {index} in {size}");
        }
        for (old, new, proof) in tv::CONSISTENCY_PROOFS {
            assert_eq!(tree.consistency_proof(old, new), Ok(tv::hashes(proof)), "consistency {old} to {new}");
        }
    }

    #[test]
    fn empty_tree() {
        let tree = MerkleTree::new();
        assert_eq!(tree.size(), 0);
        assert_eq!(tree.root(), EMPTY_ROOT);
        assert_eq!(tree.leaf(0), None);
        assert_eq!(tree.inclusion_proof(0, 0), Err(AuditError::IndexOutOfRange { index: 0, size: 0 }));
        assert_eq!(tree.consistency_proof(0, 0), Ok(vec![]));
    }

    #[test]
    fn out_of_range_requests_are_refused() {
        let tree = tree_of(&entries(5));
        assert_eq!(tree.root_at(6), Err(AuditError::SizeOutOfRange { requested: 6, available: 5 }));
        assert_eq!(tree.inclusion_proof(0, 6), Err(AuditError::SizeOutOfRange { requested: 6, available: 5 }));
        assert_eq!(tree.inclusion_proof(3, 3), Err(AuditError::IndexOutOfRange { index: 3, size: 3 }));
        assert_eq!(tree.inclusion_proof(u64::MAX, 5), Err(AuditError::IndexOutOfRange { index: u64::MAX, size: 5 }));
        assert_eq!(tree.consistency_proof(4, 3), Err(AuditError::SizesOutOfOrder { old_size: 4, new_size: 3 }));
        assert_eq!(tree.consistency_proof(1, 6), Err(AuditError::SizeOutOfRange { requested: 6, available: 5 }));
        assert_eq!(tree.root_at(u64::MAX), Err(AuditError::SizeOutOfRange { requested: u64::MAX, available: 5 }));
    }

    #[test]
    fn append_returns_index_and_leaf_hash() {
        let mut tree = MerkleTree::new();
        for (i, entry) in entries(10).iter().enumerate() {
            let (index, hash) = tree.append(entry);
            assert_eq!(index, i as u64);
            assert_eq!(hash, leaf_hash(entry));
            assert_eq!(tree.leaf(index), Some(hash));
            assert_eq!(tree.size(), i as u64 + 1);
        }
    }

    #[test]
    fn stored_subtrees_stay_close_to_one_per_leaf() {
        let tree = tree_of(&entries(1000));
        let stored: usize = tree.levels.iter().map(Vec::len).sum();
        assert_eq!(stored, 1000 + 500 + 250 + 125 + 62 + 31 + 15 + 7 + 3 + 1);
    }

    #[test]
    fn every_root_up_to_300_matches_the_reference() {
        let d = entries(300);
        let mut tree = MerkleTree::new();
        assert_eq!(tree.root(), reference::mth(&[]));
        for n in 1..=d.len() {
            tree.push(leaf_hash(&d[n - 1]));
            assert_eq!(tree.root(), reference::mth(&d[..n]), "size {n}");
        }
        for n in 0..=d.len() {
            assert_eq!(tree.root_at(n as u64), Ok(reference::mth(&d[..n])), "root_at({n})");
        }
    }

    /// Checks one inclusion proof against the reference, then every tampering of it.
    fn check_inclusion(tree: &MerkleTree, d: &[Vec<u8>], index: usize, size: usize, byte: usize) {
        let (i, n) = (index as u64, size as u64);
        let proof = tree.inclusion_proof(i, n).unwrap();
        assert_eq!(proof, reference::path(index, &d[..size]), "path({index}, {size})");
        let root = reference::mth(&d[..size]);
        let leaf = leaf_hash(&d[index]);
        assert_eq!(verify_inclusion(&leaf, i, n, &proof, &root), Ok(()), "verify({index}, {size})");

        for (what, bad) in tampered(&proof, byte, root) {
            assert!(verify_inclusion(&leaf, i, n, &bad, &root).is_err(), "{what} accepted for ({index}, {size})");
        }
        for other in [i.wrapping_sub(1), i + 1, i ^ 1, i ^ 2, n, u64::MAX] {
            if other != i {
                assert!(
                    verify_inclusion(&leaf, other, n, &proof, &root).is_err(),
                    "index {other} for ({index}, {size})"
                );
            }
        }
        let mut wrong_leaf = leaf;
        wrong_leaf.0[byte % 32] ^= 0x80;
        assert!(verify_inclusion(&wrong_leaf, i, n, &proof, &root).is_err());
        let mut wrong_root = root;
        wrong_root.0[byte % 32] ^= 0x80;
        assert!(verify_inclusion(&leaf, i, n, &proof, &wrong_root).is_err());
        assert!(verify_inclusion(&leaf, i, n, &proof, &EMPTY_ROOT).is_err());
    }

    /// Checks one consistency proof against the reference, then every tampering of it.
    fn check_consistency(tree: &MerkleTree, d: &[Vec<u8>], old: usize, new: usize, byte: usize) {
        let (m, n) = (old as u64, new as u64);
        let proof = tree.consistency_proof(m, n).unwrap();
        let expected = if old == 0 { Vec::new() } else { reference::proof(old, &d[..new]) };
        assert_eq!(proof, expected, "proof({old}, {new})");
        let (old_root, new_root) = (reference::mth(&d[..old]), reference::mth(&d[..new]));
        assert_eq!(verify_consistency(m, n, &old_root, &new_root, &proof), Ok(()), "verify({old}, {new})");

        for (what, bad) in tampered(&proof, byte, old_root) {
            assert!(
                verify_consistency(m, n, &old_root, &new_root, &bad).is_err(),
                "{what} accepted for ({old}, {new})"
            );
        }
        for (what, bad) in tampered(&proof, byte, new_root) {
            assert!(
                verify_consistency(m, n, &old_root, &new_root, &bad).is_err(),
                "{what} accepted for ({old}, {new})"
            );
        }
        for other in [m.wrapping_sub(1), m + 1, m ^ 1, m ^ 2, u64::MAX] {
            if other != m && other <= n {
                assert!(
                    verify_consistency(other, n, &old_root, &new_root, &proof).is_err(),
                    "old size {other} for ({old}, {new})"
                );
            }
        }
        assert!(verify_consistency(n, m, &old_root, &new_root, &proof).is_err() || m == n);
        let mut wrong = old_root;
        wrong.0[byte % 32] ^= 0x80;
        assert!(verify_consistency(m, n, &wrong, &new_root, &proof).is_err());
        if m > 0 {
            let mut wrong = new_root;
            wrong.0[byte % 32] ^= 0x80;
            assert!(verify_consistency(m, n, &old_root, &wrong, &proof).is_err());
        }
        if old_root != new_root {
            assert!(verify_consistency(m, n, &new_root, &old_root, &proof).is_err());
        }
    }

    #[test]
    fn every_inclusion_proof_up_to_64_leaves() {
        let d = entries(64);
        let tree = tree_of(&d);
        for size in 1..=d.len() {
            for index in 0..size {
                check_inclusion(&tree, &d, index, size, index * 7 + size);
            }
        }
    }

    #[test]
    fn every_consistency_proof_up_to_64_leaves() {
        let d = entries(64);
        let tree = tree_of(&d);
        for new in 0..=d.len() {
            for old in 0..=new {
                check_consistency(&tree, &d, old, new, old * 5 + new);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn inclusion_proofs_match_the_reference(
            d in distinct_entries(400).prop_filter("non-empty", |d| !d.is_empty()),
            index in any::<prop::sample::Index>(),
            size in any::<prop::sample::Index>(),
            byte in 0usize..32,
        ) {
            let tree = tree_of(&d);
            let size = size.index(d.len()) + 1;
            let index = index.index(size);
            check_inclusion(&tree, &d, index, size, byte);
        }

        #[test]
        fn consistency_proofs_match_the_reference(
            d in distinct_entries(400),
            old in any::<prop::sample::Index>(),
            new in any::<prop::sample::Index>(),
            byte in 0usize..32,
        ) {
            let tree = tree_of(&d);
            let new = new.index(d.len() + 1);
            let old = old.index(new + 1);
            check_consistency(&tree, &d, old, new, byte);
        }

        #[test]
        fn root_at_matches_the_reference(
            d in distinct_entries(400),
            k in any::<prop::sample::Index>(),
        ) {
            let tree = tree_of(&d);
            let k = k.index(d.len() + 1);
            prop_assert_eq!(tree.root_at(k as u64), Ok(reference::mth(&d[..k])));
            prop_assert_eq!(tree.root(), reference::mth(&d));
        }

        #[test]
        fn rebuilding_from_leaf_hashes_gives_the_same_tree(n in 0usize..300, split in any::<prop::sample::Index>()) {
            let d = entries(n);
            let whole = tree_of(&d);
            let split = split.index(n + 1);
            let mut grown = tree_of(&d[..split]);
            grown.extend(d[split..].iter().map(|e| leaf_hash(e)));
            let rebuilt = MerkleTree::from_leaf_hashes((0..whole.size()).map(|i| whole.leaf(i).unwrap()));
            prop_assert_eq!(&grown, &whole);
            prop_assert_eq!(&rebuilt, &whole);
        }
    }
}
