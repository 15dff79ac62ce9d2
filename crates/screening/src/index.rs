//! 1:N search: an inverted index from name keys to entries, and a search that ranks
//! entries by the rarity of the keys they share with the query, then scores the best few
//! in full.
//!
//! Each name token contributes its phonetic key and the key with any one letter left out,
//! so that a typo or a transliteration drift in a token still meets its partner. Postings
//! are kept as one sorted array of 64-bit words, a 32-bit key hash above a 32-bit entry
//! number: 8 bytes per posting, with no per-key allocation, so a million names fit in a few
//! hundred megabytes. Two keys whose hashes collide only add a candidate to score.

use std::cell::RefCell;

use serde::Serialize;

use crate::names::{Role, forms};
use crate::score::{Comparison, Prepared, compare};
use crate::{Entry, Subject};

/// How many of the highest-ranked candidates are scored in full.
pub const CANDIDATES: usize = 48;

/// A hit: a watchlist entry and how well it matched.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// Position of the entry in the index (see [`Index::entry`]).
    #[serde(skip)]
    pub position: usize,
    /// The entry's id in its source.
    pub entry_id: String,
    /// Score, whether it reaches the threshold, and why.
    #[serde(flatten)]
    pub comparison: Comparison,
}

/// An immutable index over entries.
pub struct Index {
    entries: Vec<Entry>,
    /// `key hash << 32 | entry`, sorted.
    postings: Vec<u64>,
}

/// The retrieval keys of a subject's names: per token, its phonetic key (weight 1) and
/// the key with one letter deleted (weight below 1); numbered by token so a token counts
/// once however many of its variants meet.
fn subject_keys(subject: &Subject, mut out: impl FnMut(usize, u32, bool)) {
    let mut token_no = 0usize;
    for name in &subject.names {
        for part in std::iter::once(name.as_str()).chain(name.split('/').filter(|_| name.contains('/'))) {
            for form in forms(part, subject.schema) {
                for t in &form.tokens {
                    if !matches!(t.role, Role::Name | Role::Number) {
                        continue;
                    }
                    token_no += 1;
                    let key = t.key.as_bytes();
                    out(token_no, hash(key, None), true);
                    if key.len() >= 4 {
                        for skip in 0..key.len() {
                            // Deleting one letter of a doubled pair gives the same variant.
                            if skip > 0 && key[skip] == key[skip - 1] {
                                continue;
                            }
                            out(token_no, hash(key, Some(skip)), false);
                        }
                    }
                }
            }
        }
    }
}

/// The phonetic keys of a subject's name tokens, each once: what two spellings of one
/// name most often share. Callers hash them with a secret to make blind blocking keys.
pub fn blocking_keys(subject: &Subject) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for name in &subject.names {
        for form in forms(name, subject.schema) {
            for t in form.tokens {
                if matches!(t.role, Role::Name | Role::Number) && !keys.contains(&t.key) {
                    keys.push(t.key);
                }
            }
        }
    }
    keys
}

/// FNV-1a over the key, leaving out the byte at `skip`, folded to 32 bits; variants with a
/// letter left out are tagged so that they never equal a whole key.
fn hash(key: &[u8], skip: Option<usize>) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, &b) in key.iter().enumerate() {
        if Some(i) != skip {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h = (h ^ u64::from(skip.is_some())).wrapping_mul(0x0100_0000_01b3);
    #[allow(clippy::cast_possible_truncation)]
    let folded = (h ^ (h >> 32)) as u32;
    folded
}

thread_local! {
    /// Per-thread scratch for ranking: score and the last query token counted, per entry.
    static SCRATCH: RefCell<(Vec<f32>, Vec<u32>, Vec<u32>)> = const { RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
}

impl Index {
    /// Builds the index. `progress` is called with the number of entries keyed so far.
    pub fn build(entries: Vec<Entry>, mut progress: impl FnMut(usize)) -> Self {
        let mut postings: Vec<u64> = Vec::with_capacity(entries.len() * 32);
        for (i, e) in entries.iter().enumerate() {
            let id = u64::from(u32::try_from(i).expect("fewer than 2^32 entries"));
            let start = postings.len();
            subject_keys(&e.subject, |_, key, _| postings.push(u64::from(key) << 32 | id));
            // An entry counts once per key.
            postings[start..].sort_unstable();
            let mut w = start;
            for r in start..postings.len() {
                if w == start || postings[r] != postings[w - 1] {
                    postings[w] = postings[r];
                    w += 1;
                }
            }
            postings.truncate(w);
            if i % 10_000 == 0 {
                progress(i);
            }
        }
        progress(entries.len());
        postings.sort_unstable();
        postings.shrink_to_fit();
        Index { entries, postings }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of postings (keys times entries), a measure of its size.
    pub fn postings(&self) -> usize {
        self.postings.len()
    }

    /// The entry at a position.
    pub fn entry(&self, position: usize) -> &Entry {
        &self.entries[position]
    }

    fn postings_of(&self, key: u32) -> &[u64] {
        let key = u64::from(key);
        let lo = self.postings.partition_point(|p| p >> 32 < key);
        let hi = lo + self.postings[lo..].partition_point(|p| p >> 32 == key);
        &self.postings[lo..hi]
    }

    /// The entries sharing the rarest keys with the query, best first, at most `limit`.
    pub fn candidates(&self, query: &Subject, limit: usize) -> Vec<usize> {
        #[allow(clippy::cast_precision_loss)]
        let n = self.entries.len().max(1) as f32;
        SCRATCH.with(|scratch| {
            let (score, last, touched) = &mut *scratch.borrow_mut();
            if score.len() < self.entries.len() {
                score.resize(self.entries.len(), 0.0);
                last.resize(self.entries.len(), 0);
            }
            touched.clear();
            let mut keys: Vec<(usize, u32, bool)> = Vec::new();
            subject_keys(query, |t, k, exact| keys.push((t, k, exact)));
            // Exact keys first, so a token's exact meeting is counted before its variants.
            keys.sort_by_key(|(t, _, exact)| (*t, !*exact));
            keys.dedup_by_key(|(t, k, _)| (*t, *k));
            for (token, key, exact) in keys {
                let ids = self.postings_of(key);
                if ids.is_empty() {
                    continue;
                }
                #[allow(clippy::cast_precision_loss)]
                let idf = (n / ids.len() as f32).ln().max(0.1);
                let w = if exact { idf } else { 0.7 * idf };
                let stamp = u32::try_from(token).unwrap_or(u32::MAX);
                for &posting in ids {
                    #[allow(clippy::cast_possible_truncation)]
                    let id = posting as u32;
                    let i = id as usize;
                    if last[i] == stamp {
                        continue;
                    }
                    if score[i] == 0.0 {
                        touched.push(id);
                    }
                    last[i] = stamp;
                    score[i] += w;
                }
            }
            let mut ranked: Vec<(f32, u32)> = touched.iter().map(|&id| (score[id as usize], id)).collect();
            for &id in touched.iter() {
                score[id as usize] = 0.0;
                last[id as usize] = 0;
            }
            let k = limit.min(ranked.len());
            if k == 0 {
                return Vec::new();
            }
            ranked.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            ranked.truncate(k);
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            ranked.into_iter().map(|(_, id)| id as usize).collect()
        })
    }

    /// Screens a query: the best candidates scored in full, those at or above `min_score`,
    /// best first, at most `top`.
    pub fn search(&self, query: &Subject, top: usize, min_score: f32) -> Vec<Hit> {
        let prepared = Prepared::new(query);
        let mut hits: Vec<Hit> = self
            .candidates(query, CANDIDATES.max(top))
            .into_iter()
            .filter_map(|position| {
                let entry = &self.entries[position];
                let comparison = compare(&prepared, &Prepared::new(&entry.subject));
                (comparison.score >= min_score).then(|| Hit { position, entry_id: entry.id.clone(), comparison })
            })
            .collect();
        hits.sort_by(|a, b| b.comparison.score.total_cmp(&a.comparison.score).then(a.position.cmp(&b.position)));
        hits.truncate(top);
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Schema;

    fn entry(id: &str, names: &[&str]) -> Entry {
        Entry {
            id: id.into(),
            subject: Subject {
                schema: Schema::Person,
                names: names.iter().map(|s| (*s).to_owned()).collect(),
                ..Subject::default()
            },
        }
    }

    fn query(name: &str) -> Subject {
        Subject { names: vec![name.to_owned()], ..Subject::default() }
    }

    #[test]
    fn finds_drifted_spellings_and_ranks_rare_keys_first() {
        let mut entries = vec![
            entry("lavrov", &["Sergey Viktorovich Lavrov", "Сергей Викторович Лавров"]),
            entry("shoigu", &["Sergei Shoigu"]),
            entry("zelensky", &["Volodymyr Zelenskyy"]),
        ];
        for i in 0..200 {
            entries.push(entry(&format!("smith{i}"), &[&format!("John Smith{}", "x".repeat(i % 7))]));
        }
        let index = Index::build(entries, |_| {});
        assert!(index.postings() > 0);
        let hits = index.search(&query("Sergei Lavrof"), 5, 0.5);
        assert_eq!(hits.first().map(|h| h.entry_id.as_str()), Some("lavrov"), "{hits:?}");
        assert!(hits[0].comparison.matched, "{hits:?}");
        // A typo in the only rare token still meets it through the one-letter-deleted keys.
        let hits = index.search(&query("Lavrvo Sergey"), 5, 0.5);
        assert_eq!(hits.first().map(|h| h.entry_id.as_str()), Some("lavrov"), "{hits:?}");
        let none = index.search(&query("Maria Gonzalez"), 5, 0.5);
        assert!(none.is_empty(), "{none:?}");
    }

    #[test]
    fn empty_index_and_empty_query() {
        let index = Index::build(Vec::new(), |_| {});
        assert!(index.search(&query("Anyone"), 5, 0.0).is_empty());
        let index = Index::build(vec![entry("a", &["Ann Lee"])], |_| {});
        assert!(index.search(&query(""), 5, 0.0).is_empty());
    }
}
