//! A dictionary of known spellings of names: groups of forms that write one name in many
//! scripts and romanisations (`volodymyr, vladimir, владимир, володимир => Q…`), as in the
//! name-variant corpus exported from Wikidata. Rules carry a name from one Cyrillic scheme to
//! another; only a dictionary knows that 安東尼森 is Antonissen.
//!
//! Every form is reduced by the same transliteration and tokenisation as the names it will be
//! compared with, so a lookup is one token's text, whatever script the name came in. Forms
//! are kept as 64-bit hashes beside their group numbers, sorted: 12 bytes a form.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::BufRead;

use crate::Schema;
use crate::names::{Role, forms};

/// Groups of known spellings, looked up by a token's text.
#[derive(Debug, Default)]
pub struct Variants {
    /// Hash of a token text → where its groups start in `groups`, and how many there are.
    spellings: HashMap<u64, (u32, u32), BuildHasherDefault<Prehashed>>,
    /// Group numbers, each spelling's ascending.
    groups: Vec<u32>,
    /// Number of groups read.
    group_count: u32,
    /// A hash of every spelling with its group, as read.
    fingerprint: u64,
}

/// The keys are hashes already: used as they are.
#[derive(Debug, Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Lines that could not be used, and why; the rest of the file is still read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Lines without `=>` or with fewer than two forms.
    pub malformed: usize,
}

fn hash(text: &str) -> u64 {
    // FNV-1a, then a final mix so that neighbouring texts spread.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

impl Variants {
    /// Reads groups, one a line: `form, form, … => id`. `keep` decides, by line number
    /// (from 0), which groups are read (all, or a share held out for measuring).
    ///
    /// # Errors
    /// Reading fails.
    pub fn read(input: impl BufRead, mut keep: impl FnMut(usize) -> bool) -> std::io::Result<(Self, Skipped)> {
        let mut pairs: Vec<(u64, u32)> = Vec::new();
        let mut skipped = Skipped::default();
        let mut group_count = 0u32;
        let mut texts: Vec<String> = Vec::new();
        for (line_no, line) in input.lines().enumerate() {
            let line = line?;
            let Some((list, _id)) = line.rsplit_once("=>") else {
                skipped.malformed += 1;
                continue;
            };
            let written: Vec<&str> = list.split(',').map(str::trim).filter(|f| !f.is_empty()).collect();
            if written.len() < 2 {
                skipped.malformed += 1;
                continue;
            }
            if !keep(line_no) {
                continue;
            }
            texts.clear();
            for form in written {
                for f in forms(form, Schema::Person) {
                    // A form of one word; forms of several words are left to the rules.
                    if let [t] = f.tokens.as_slice()
                        && t.role == Role::Name
                        && !texts.contains(&t.text)
                    {
                        texts.push(t.text.clone());
                    }
                }
            }
            if texts.len() < 2 {
                continue;
            }
            for t in &texts {
                pairs.push((hash(t), group_count));
            }
            group_count += 1;
        }
        pairs.sort_unstable();
        pairs.dedup();
        let fingerprint = pairs.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &(text, group)| {
            (h ^ text ^ u64::from(group).rotate_left(32)).wrapping_mul(0x0100_0000_01b3).rotate_left(17)
        });
        let mut spellings: HashMap<u64, (u32, u32), BuildHasherDefault<Prehashed>> = HashMap::default();
        let mut groups = Vec::with_capacity(pairs.len());
        for (h, group) in pairs {
            let at = u32::try_from(groups.len()).expect("fewer than 2^32 spellings");
            spellings.entry(h).or_insert((at, 0)).1 += 1;
            groups.push(group);
        }
        spellings.shrink_to_fit();
        Ok((Variants { spellings, groups, group_count, fingerprint }, skipped))
    }

    /// The groups a token's text belongs to, in ascending order (empty when unknown).
    pub fn groups(&self, text: &str) -> &[u32] {
        match self.spellings.get(&hash(text)) {
            Some(&(at, n)) => &self.groups[at as usize..(at + n) as usize],
            None => &[],
        }
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.group_count as usize
    }

    /// Whether there are no groups.
    pub fn is_empty(&self) -> bool {
        self.group_count == 0
    }

    /// A hash of the whole dictionary (every spelling with its group): two dictionaries with
    /// the same fingerprint match names alike.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Number of spellings known, over all groups.
    pub fn spellings(&self) -> usize {
        self.groups.len()
    }
}

/// Whether two sorted group lists share a group.
pub(crate) fn share(a: &[u32], b: &[u32]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "volodimir, volodymyr, владимир, володимир, vladimir => Q1\n\
                        antonissen, 安東尼森 => Q2\n\
                        no arrow here\n\
                        lonely => Q3\n\
                        maria, мария => Q4\n\
                        maria, marija, μαρία => Q5\n";

    #[test]
    fn forms_of_every_script_meet_in_their_groups() {
        let (v, skipped) = Variants::read(TEXT.as_bytes(), |_| true).unwrap();
        assert_eq!(skipped, Skipped { malformed: 2 });
        assert_eq!(v.len(), 4);
        // The Cyrillic form is found by any of its romanisations.
        let vladimir = v.groups("vladimir");
        assert_eq!(vladimir.len(), 1);
        assert_eq!(v.groups("volodymyr"), vladimir);
        assert!(share(v.groups("volodimir"), vladimir));
        // A Han spelling, romanised as the comparison romanises it.
        let han = crate::names::forms("安東尼森", Schema::Person);
        let han = &han.iter().find(|f| f.tokens.len() == 1).expect("read as one word").tokens[0].text;
        assert!(share(v.groups(han), v.groups("antonissen")), "{han}");
        // A name in two groups, and one in none.
        assert_eq!(v.groups("maria").len(), 2);
        assert!(v.groups("ivan").is_empty());
        assert!(!share(v.groups("maria"), vladimir));
    }

    #[test]
    fn a_held_out_share_is_left_unknown() {
        let (v, _) = Variants::read(TEXT.as_bytes(), |line| line != 1).unwrap();
        assert!(v.groups("antonissen").is_empty());
        assert!(!v.groups("vladimir").is_empty());
        // The fingerprint tells the two dictionaries apart, and reading again gives the same.
        let (all, _) = Variants::read(TEXT.as_bytes(), |_| true).unwrap();
        let (again, _) = Variants::read(TEXT.as_bytes(), |_| true).unwrap();
        assert_eq!(all.fingerprint(), again.fingerprint());
        assert_ne!(all.fingerprint(), v.fingerprint());
    }
}
