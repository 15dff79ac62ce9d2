//! Watchlist entries packed into one buffer.
//!
//! A million-person list read into a vector of [`Entry`] values costs about 380 bytes a
//! person: every id, name and nationality is a small allocation of its own, with the
//! allocator's overhead on each. Packed one after another in one buffer (postcard's compact
//! encoding) the same entries take about a fifth of that; an entry is unpacked again only
//! when it is needed whole — the few candidates of a search, or a list being shown.

use std::fmt;

use crate::Entry;

/// Entries in order, each packed; indexed by position like a vector.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Entries {
    /// Every entry's encoding, one after another.
    bytes: Vec<u8>,
    /// Where each entry's encoding ends in `bytes` (it starts where the one before ends).
    ends: Vec<u64>,
}

impl Entries {
    /// No entries.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Adds an entry at the end.
    pub fn push(&mut self, entry: &Entry) {
        // Writing into a vector cannot fail; every part of an entry is serialisable.
        let bytes = std::mem::take(&mut self.bytes);
        self.bytes = postcard::to_extend(entry, bytes).expect("an entry always encodes");
        self.ends.push(self.bytes.len() as u64);
    }

    fn packed(&self, position: usize) -> &[u8] {
        let start = position.checked_sub(1).map_or(0, |p| self.ends[p]);
        #[allow(clippy::cast_possible_truncation, reason = "offsets into a buffer in memory fit in usize")]
        &self.bytes[start as usize..self.ends[position] as usize]
    }

    /// The entry at `position`, unpacked.
    ///
    /// # Panics
    /// When `position` is not below [`Entries::len`].
    pub fn get(&self, position: usize) -> Entry {
        postcard::from_bytes(self.packed(position)).expect("entries are packed by push")
    }

    /// The id of the entry at `position`, read without unpacking the rest.
    ///
    /// # Panics
    /// When `position` is not below [`Entries::len`].
    pub fn id(&self, position: usize) -> &str {
        // The id is an entry's first field, so its encoding starts the entry's.
        postcard::take_from_bytes::<&str>(self.packed(position)).expect("entries are packed by push").0
    }

    /// Every entry, unpacked one at a time.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Entry> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Bytes held (the encodings and their offsets).
    pub fn heap_size(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * std::mem::size_of::<u64>()
    }

    /// Frees spare capacity.
    pub fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

impl From<Vec<Entry>> for Entries {
    fn from(entries: Vec<Entry>) -> Self {
        entries.into_iter().collect()
    }
}

impl FromIterator<Entry> for Entries {
    fn from_iter<I: IntoIterator<Item = Entry>>(iter: I) -> Self {
        let mut out = Entries::new();
        out.extend(iter);
        out
    }
}

impl Extend<Entry> for Entries {
    fn extend<I: IntoIterator<Item = Entry>>(&mut self, iter: I) {
        for entry in iter {
            self.push(&entry);
        }
    }
}

impl fmt::Debug for Entries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PartialDate, Schema, Subject};
    use proptest::prelude::*;

    fn entry(id: String, names: Vec<String>, years: &[u16], nationalities: Vec<String>, person: bool) -> Entry {
        Entry {
            id,
            subject: Subject {
                schema: if person { Schema::Person } else { Schema::Entity },
                names,
                birth_dates: years.iter().filter_map(|y| PartialDate::parse(&format!("{y:04}-03"))).collect(),
                nationalities,
            },
        }
    }

    proptest! {
        /// Whatever goes in comes out, in order, and the id alone reads the same.
        #[test]
        fn entries_unpack_as_packed(
            list in proptest::collection::vec(
                (".{0,12}", proptest::collection::vec(".{0,30}", 0..4),
                 proptest::collection::vec(1000u16..2100, 0..3),
                 proptest::collection::vec("[A-Z]{2}", 0..3), any::<bool>()),
                0..20)
        ) {
            let list: Vec<Entry> =
                list.into_iter().map(|(id, names, years, nat, person)| entry(id, names, &years, nat, person)).collect();
            let packed = Entries::from(list.clone());
            prop_assert_eq!(packed.len(), list.len());
            prop_assert_eq!(packed.iter().collect::<Vec<_>>(), list.clone());
            for (i, e) in list.iter().enumerate() {
                prop_assert_eq!(packed.id(i), e.id.as_str());
            }
        }
    }

    #[test]
    fn packed_entries_are_far_smaller_than_a_vector_of_them() {
        let list: Vec<Entry> = (0..1000)
            .map(|i| {
                entry(
                    format!("NK-{i:06}"),
                    vec![format!("Ivan Petrovich Sidorov{i}"), format!("Иван Петрович Сидоров{i}")],
                    &[1970],
                    vec!["RU".into()],
                    true,
                )
            })
            .collect();
        let mut packed = Entries::from(list);
        packed.shrink_to_fit();
        // About 100 bytes of text per entry; a vector of entries would hold seven allocations.
        assert!(packed.heap_size() < 1000 * 120, "{}", packed.heap_size());
        assert_eq!(packed.get(999).subject.names[1], "Иван Петрович Сидоров999");
    }
}
