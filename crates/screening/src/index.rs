//! 1:N search: an inverted index from name keys to entries, and a search that ranks
//! entries by the rarity of the keys they share with the query, then scores the best few
//! in full.
//!
//! Each name token contributes its phonetic key and the key with any one letter left out
//! (one key space, so a typo, a missing or an extra letter on either side still meets its
//! partner), its consonants, its first letter beside every other token, itself beside each
//! year of birth, and the groups of known spellings it belongs to. Postings are sorted by a
//! 32-bit key hash and kept in two arrays, the entry number and the hash's low 16 bits: 6
//! bytes per posting, with no per-key allocation, found through a table of where each value
//! of the hash's top bits starts (those bits need not be stored again). Two keys whose hashes
//! collide only add a candidate to score.

use std::cell::RefCell;
use std::sync::Arc;

use serde::Serialize;

use crate::names::{Role, forms};
use crate::score::{Comparison, Prepared, compare};
use crate::variants::Variants;
use crate::{Entries, Entry, Subject};

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
    entries: Entries,
    /// Postings in the order of their key hash: the entry number, with [`DELETED`] set for
    /// a key with a letter left out.
    ids: Vec<u32>,
    /// The low 16 bits of each posting's key hash, beside `ids`.
    low: Vec<u16>,
    /// Known spellings that entries and queries are keyed and compared by.
    variants: Option<Arc<Variants>>,
    /// For each value of the top `directory_bits` of a key hash, where its postings start
    /// (one more value at the end: the length). With at least 16 bits, these and `low`
    /// together hold the whole hash.
    directory: Vec<u32>,
    directory_bits: u32,
}

/// How a retrieval key was derived, which decides how much a meeting on it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A token's whole phonetic key.
    Whole,
    /// The phonetic key with one letter left out: meets a typo, an extra or a missing
    /// letter on either side.
    Deleted,
    /// The token's consonants alone: meets transliterations that disagree on every vowel.
    Skeleton,
    /// The first letter of one token beside the whole key of another in the same name:
    /// meets initials, and makes a pair of common names far rarer than either.
    Pair,
    /// A token's whole key beside a year of birth: among thousands of namesakes, the few
    /// born that year.
    Born,
    /// A group of known spellings the token belongs to (see [`crate::variants`]).
    Group,
}

/// A retrieval key: its hash and kind, and the query token it stands for (so that a token
/// counts once however many of its keys meet).
#[derive(Debug, Clone, Copy)]
struct Key {
    token: u32,
    hash: u32,
    kind: Kind,
}

/// The retrieval keys of a subject's names, per token of every Latin form.
fn subject_keys(subject: &Subject, variants: Option<&Variants>, mut out: impl FnMut(Key)) {
    let mut token = 0u32;
    for name in &subject.names {
        for part in std::iter::once(name.as_str()).chain(name.split('/').filter(|_| name.contains('/'))) {
            for form in forms(part, subject.schema) {
                let named: Vec<_> = form.tokens.iter().filter(|t| t.role == Role::Name).collect();
                if let Some(v) = variants {
                    // Two known names together: far rarer than either, whatever script each
                    // is written in. Tokens known in many groups (short syllables) are left out.
                    let groups: Vec<&[u32]> =
                        named.iter().map(|t| v.groups(&t.text)).filter(|g| (1..=4).contains(&g.len())).collect();
                    for (i, a) in groups.iter().enumerate() {
                        for b in &groups[i + 1..] {
                            token += 1;
                            for &ga in *a {
                                for &gb in *b {
                                    let (lo, hi) = (ga.min(gb), ga.max(gb));
                                    let pair = u64::from(lo) << 32 | u64::from(hi);
                                    out(Key { token, hash: hash(b"G", &pair.to_le_bytes(), None), kind: Kind::Pair });
                                }
                            }
                        }
                    }
                }
                // Syllables written apart or together ("Ha-ra", "Hara"): adjacent short
                // tokens also stand as one.
                for w in named.windows(2) {
                    if w[0].text.len().min(w[1].text.len()) <= 3 {
                        token += 1;
                        let joined = crate::names::phonetic_key(&format!("{}{}", w[0].text, w[1].text));
                        out(Key { token, hash: hash(b"", joined.as_bytes(), None), kind: Kind::Whole });
                    }
                }
                for t in &form.tokens {
                    if t.role == Role::Initial {
                        token += 1;
                        for other in &named {
                            out(Key { token, hash: pair_hash(t.text.as_bytes()[0], &other.key), kind: Kind::Pair });
                        }
                    }
                    if !matches!(t.role, Role::Name | Role::Number) {
                        continue;
                    }
                    token += 1;
                    let key = t.key.as_bytes();
                    out(Key { token, hash: hash(b"", key, None), kind: Kind::Whole });
                    if key.len() >= 4 {
                        for skip in 0..key.len() {
                            // Deleting one letter of a doubled pair gives the same variant.
                            if skip > 0 && key[skip] == key[skip - 1] {
                                continue;
                            }
                            out(Key { token, hash: hash(b"", key, Some(skip)), kind: Kind::Deleted });
                        }
                    }
                    if let Some(v) = variants.filter(|_| t.role == Role::Name) {
                        for group in v.groups(&t.text) {
                            out(Key { token, hash: hash(b"g", &group.to_le_bytes(), None), kind: Kind::Group });
                        }
                    }
                    let skeleton: Vec<u8> = key.iter().copied().filter(|&c| c != b'a').collect();
                    if skeleton.len() >= 3 && skeleton.len() < key.len() {
                        out(Key { token, hash: hash(b"s", &skeleton, None), kind: Kind::Skeleton });
                    }
                    for date in &subject.birth_dates {
                        token += 1;
                        out(Key { token, hash: hash(&date.year.to_le_bytes(), key, None), kind: Kind::Born });
                    }
                    if t.role == Role::Name {
                        for other in named.iter().filter(|o| !std::ptr::eq(**o, t)) {
                            token += 1;
                            out(Key { token, hash: pair_hash(t.text.as_bytes()[0], &other.key), kind: Kind::Pair });
                        }
                    }
                }
            }
        }
    }
}

fn pair_hash(initial: u8, key: &str) -> u32 {
    hash(&[b'p', initial], key.as_bytes(), None)
}

/// The phonetic keys of a subject's name tokens, each once, and the groups of known
/// spellings each token belongs to (`g:` and the group number): what two spellings of one
/// name most often share. Callers hash them with a secret to make blind blocking keys.
pub fn blocking_keys(subject: &Subject, variants: Option<&Variants>) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut add = |k: String| {
        if !keys.contains(&k) {
            keys.push(k);
        }
    };
    for name in &subject.names {
        for form in forms(name, subject.schema) {
            for t in form.tokens {
                if matches!(t.role, Role::Name | Role::Number) {
                    if let Some(v) = variants.filter(|_| t.role == Role::Name) {
                        for g in v.groups(&t.text) {
                            add(format!("g:{g}"));
                        }
                    }
                    add(t.key);
                }
            }
        }
    }
    keys
}

/// FNV-1a over a tag (which keeps kinds of keys apart) and the key, leaving out the byte at
/// `skip`, folded to 32 bits. A whole key and a key with a letter left out are not tagged
/// apart: "ivanv" with its `o` left out must meet "ivnv" written without it.
fn hash(tag: &[u8], key: &[u8], skip: Option<usize>) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in tag {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    if !tag.is_empty() {
        h = (h ^ 0xff).wrapping_mul(0x0100_0000_01b3);
    }
    for (i, &b) in key.iter().enumerate() {
        if Some(i) != skip {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    #[allow(clippy::cast_possible_truncation)]
    let folded = (h ^ (h >> 32)) as u32;
    folded
}

/// The bit of a posting that marks a key with a letter left out, below the entry number.
const DELETED: u32 = 1 << 31;

/// An entry's running score during one search, and the last query token counted for it,
/// side by side so that one cache line serves both.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    score: f32,
    last: u32,
}

/// Postings are found through a table of where each value of the top bits of the key hash
/// starts, about 16 postings a value: a lookup touches a few cache lines instead of a
/// binary search's twenty-odd. At most this many bits (a 4 MiB table).
const MAX_DIRECTORY_BITS: u32 = 20;

/// At least this many bits (a 256 KiB table), so that the top bits and the stored low 16
/// make the whole hash.
const MIN_DIRECTORY_BITS: u32 = 16;

/// Postings moved at a time from the build's 64-bit words into the two arrays kept, the
/// words' buffer shrinking behind them so the two forms are never held whole together.
const CONVERT_CHUNK: usize = 1 << 20;

thread_local! {
    /// Per-thread scratch for ranking: score and the last query token counted, per entry.
    static SCRATCH: RefCell<(Vec<Tally>, Vec<u32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

impl Index {
    /// Builds the index. `progress` is called with the number of entries keyed so far.
    pub fn build(entries: impl Into<Entries>, progress: impl FnMut(usize)) -> Self {
        Self::build_with_variants(entries, None, progress)
    }

    /// Builds the index with a dictionary of known spellings: a name token also meets its
    /// other spellings in any script, and scores as one of them.
    pub fn build_with_variants(
        entries: impl Into<Entries>,
        variants: Option<Arc<Variants>>,
        mut progress: impl FnMut(usize),
    ) -> Self {
        let mut entries: Entries = entries.into();
        entries.shrink_to_fit();
        // `key hash << 32 | entry`, sorted; kept in a more compact form below.
        let mut postings: Vec<u64> = Vec::with_capacity(entries.len() * 32);
        for (i, e) in entries.iter().enumerate() {
            let id = u64::from(u32::try_from(i).ok().filter(|&i| i & DELETED == 0).expect("fewer than 2^31 entries"));
            let start = postings.len();
            subject_keys(&e.subject, variants.as_deref(), |key| {
                let deleted = if key.kind == Kind::Deleted { u64::from(DELETED) } else { 0 };
                postings.push(u64::from(key.hash) << 32 | deleted | id);
            });
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
        let directory_bits =
            (postings.len() / 16).checked_ilog2().unwrap_or(0).clamp(MIN_DIRECTORY_BITS, MAX_DIRECTORY_BITS);
        let mut directory = Vec::with_capacity((1 << directory_bits) + 1);
        let mut at = 0usize;
        for bucket in 0..=(1u64 << directory_bits) {
            while at < postings.len() && (postings[at] >> 32) >> (32 - directory_bits) < bucket {
                at += 1;
            }
            directory.push(u32::try_from(at).expect("fewer than 2^32 postings"));
        }
        // Zeroed memory is not touched until written: the arrays fill from the end as the
        // words' buffer shrinks.
        let mut ids = vec![0u32; postings.len()];
        let mut low = vec![0u16; postings.len()];
        while !postings.is_empty() {
            let from = postings.len().saturating_sub(CONVERT_CHUNK);
            for (at, &p) in (from..).zip(&postings[from..]) {
                #[allow(clippy::cast_possible_truncation, reason = "the two halves of a posting are taken apart")]
                {
                    ids[at] = p as u32;
                    low[at] = (p >> 32) as u16;
                }
            }
            postings.truncate(from);
            postings.shrink_to_fit();
        }
        Index { entries, ids, low, variants, directory, directory_bits }
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
        self.ids.len()
    }

    /// The dictionary of known spellings the index was built with.
    pub fn variants(&self) -> Option<&Variants> {
        self.variants.as_deref()
    }

    /// The entry at a position, unpacked.
    ///
    /// # Panics
    /// When `position` is not below [`Index::len`].
    pub fn entry(&self, position: usize) -> Entry {
        self.entries.get(position)
    }

    /// The id of the entry at a position.
    ///
    /// # Panics
    /// When `position` is not below [`Index::len`].
    pub fn entry_id(&self, position: usize) -> &str {
        self.entries.id(position)
    }

    /// The postings of a key hash: entry numbers, [`DELETED`] marking a key with a letter
    /// left out.
    fn postings_of(&self, key: u32) -> &[u32] {
        let bucket = (key >> (32 - self.directory_bits)) as usize;
        let (start, end) = (self.directory[bucket] as usize, self.directory[bucket + 1] as usize);
        // Within a bucket the top bits are equal, so the low 16 sort as the whole hash does.
        #[allow(clippy::cast_possible_truncation, reason = "the low 16 bits")]
        let key = key as u16;
        let within = &self.low[start..end];
        let lo = within.partition_point(|&l| l < key);
        let hi = lo + within[lo..].partition_point(|&l| l == key);
        &self.ids[start + lo..start + hi]
    }

    /// The entries sharing the rarest keys with the query, best first, at most `limit`.
    pub fn candidates(&self, query: &Subject, limit: usize) -> Vec<usize> {
        #[allow(clippy::cast_precision_loss)]
        let n = self.entries.len().max(1) as f32;
        SCRATCH.with(|scratch| {
            let (tally, touched) = &mut *scratch.borrow_mut();
            if tally.len() < self.entries.len() {
                tally.resize(self.entries.len(), Tally::default());
            }
            touched.clear();
            let mut keys: Vec<Key> = Vec::new();
            subject_keys(query, self.variants.as_deref(), |k| keys.push(k));
            // Whole keys first, so a token's best meeting is counted before its variants.
            keys.sort_by_key(|k| (k.token, k.kind != Kind::Whole));
            keys.dedup_by_key(|k| (k.token, k.hash));
            for key in keys {
                let ids = self.postings_of(key.hash);
                if ids.is_empty() {
                    continue;
                }
                #[allow(clippy::cast_precision_loss)]
                let idf = (n / ids.len() as f32).ln().max(0.1);
                let stamp = key.token;
                for &low in ids {
                    let id = low & !DELETED;
                    let t = &mut tally[id as usize];
                    if t.last == stamp {
                        continue;
                    }
                    let w = match key.kind {
                        Kind::Whole if low & DELETED == 0 => idf,
                        Kind::Whole | Kind::Deleted => 0.7 * idf,
                        Kind::Skeleton => 0.6 * idf,
                        Kind::Group => 0.9 * idf,
                        Kind::Pair | Kind::Born => idf,
                    };
                    if t.last == 0 {
                        touched.push(id);
                    }
                    t.last = stamp;
                    t.score += w;
                }
            }
            let mut ranked: Vec<(f32, u32)> = touched.iter().map(|&id| (tally[id as usize].score, id)).collect();
            for &id in touched.iter() {
                tally[id as usize] = Tally::default();
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
        let variants = self.variants.as_deref();
        let prepared = Prepared::with_variants(query, variants);
        let mut hits: Vec<Hit> = self
            .candidates(query, CANDIDATES.max(top))
            .into_iter()
            .filter_map(|position| {
                let entry = self.entries.get(position);
                let comparison = compare(&prepared, &Prepared::with_variants(&entry.subject, variants));
                (comparison.score >= min_score).then_some(Hit { position, entry_id: entry.id, comparison })
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

    fn born(mut e: Entry, date: &str) -> Entry {
        e.subject.birth_dates = vec![crate::PartialDate::parse(date).expect("a date")];
        e
    }

    #[test]
    fn a_letter_missing_or_added_on_either_side_still_meets() {
        // Ties go to the earlier entry, so the ones sought come last; the others share
        // their initials and given names.
        let mut entries: Vec<Entry> = (0..300)
            .map(|i| entry(&format!("s{i}"), &[&format!("Sergey {}", ["Lapin", "Kovach", "Larin"][i % 3])]))
            .collect();
        entries.extend([entry("lavrov", &["Sergey Lavrov"]), entry("kovalenko", &["Sergey Kovalenko"])]);
        let index = Index::build(entries, |_| {});
        // "Lavov" lacks a consonant of "Lavrov"; "Kovalenkov" has one more than "Kovalenko".
        for (query_name, id) in [("Sergey Lavov", "lavrov"), ("Kovalenkov Sergey", "kovalenko")] {
            let first = index.candidates(&query(query_name), 1);
            assert_eq!(first.iter().map(|&p| index.entry_id(p)).collect::<Vec<_>>(), [id], "{query_name}");
        }
    }

    #[test]
    fn initials_and_a_year_of_birth_single_out_one_namesake() {
        let given = ["John", "James", "Jack", "Joseph", "Mary", "Peter", "Paul", "Anna"];
        let mut entries = Vec::new();
        for i in 0..400 {
            let e = entry(&format!("n{i}"), &[&format!("{} Smith", given[i % given.len()])]);
            entries.push(born(e, &format!("{}-03-04", 1950 + i % 40)));
        }
        entries.push(born(entry("target", &["John Smith"]), "1999-01-02"));
        let index = Index::build(entries, |_| {});
        let mut q = query("J. Smith");
        q.birth_dates = vec![crate::PartialDate::parse("1999-01-02").expect("a date")];
        let first = index.candidates(&q, 1);
        assert_eq!(index.entry(first[0]).id, "target");
        // Without the year, a John or a James Smith comes before any Mary or Peter Smith.
        let ranked = index.candidates(&query("J. Smith"), 200);
        let initial = |p: &usize| index.entry(*p).subject.names[0].starts_with('J');
        let firsts = ranked.iter().take_while(|p| initial(p)).count();
        assert!(firsts >= 200, "{firsts}");
    }

    #[test]
    fn known_spellings_meet_across_scripts_and_syllables_written_apart() {
        let text = "antonissen, 安東尼森 => Q1\nmenard, 梅纳尔 => Q2\nherzberg, херцберг => Q3\n";
        let (variants, _) = Variants::read(text.as_bytes(), |_| true).expect("read");
        let mut entries: Vec<Entry> =
            (0..200).map(|i| entry(&format!("n{i}"), &[&format!("Antonis {}", ["Menaker", "Hart"][i % 2])])).collect();
        entries.extend((0..50).map(|i| entry(&format!("s{i}"), &["Ha Shiramizu"])));
        entries.extend([entry("target", &["Antonissen Ménard"]), entry("hara", &["Hara Shiramizu"])]);
        let plain = Index::build(entries.clone(), |_| {});
        let index = Index::build_with_variants(entries, Some(Arc::new(variants)), |_| {});
        let han = query("安東尼森 梅纳尔");
        assert!(plain.search(&han, 5, 0.5).is_empty());
        let hits = index.search(&han, 5, 0.5);
        assert_eq!(hits.first().map(|h| h.entry_id.as_str()), Some("target"), "{hits:?}");
        assert!(hits[0].comparison.matched && hits[0].comparison.explanation.contains("known spelling"), "{hits:?}");
        // Without the syllables joined, "Hara" would rank below every "Ha Shiramizu".
        let first = index.candidates(&query("Ha-ra Shiramizu"), 1);
        assert_eq!(index.entry(first[0]).id, "hara");
    }

    #[test]
    fn empty_index_and_empty_query() {
        let index = Index::build(Vec::new(), |_| {});
        assert!(index.search(&query("Anyone"), 5, 0.0).is_empty());
        let index = Index::build(vec![entry("a", &["Ann Lee"])], |_| {});
        assert!(index.search(&query(""), 5, 0.0).is_empty());
    }
}
