//! Screening: finds listed people and duplicate applicants, across scripts.
//!
//! Names are normalised (Unicode NFKC, case folded, marks stripped) and reduced to Latin
//! keys by several transliteration schemes ([`translit`]); pairs are scored on their names,
//! with date of birth and nationality as supporting or contradicting evidence, and every
//! score carries its explanation ([`score`]); watchlists are imported from FollowTheMoney
//! JSON lines, the UN consolidated-list XML and CSV ([`import`]) and indexed for 1:N search
//! ([`index`]). No I/O beyond reading the watchlist files it is given.

pub mod entries;
pub mod import;
pub mod index;
pub mod names;
pub mod score;
pub mod translit;
pub mod variants;

/// Changes whenever matching changes what it finds (keys, rules, scores), so that stored
/// results known to come from an older matcher can be redone.
pub const MATCHER_REVISION: u32 = 3;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use entries::Entries;

/// What kind of party a record names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schema {
    /// A natural person: given names, family names, patronymics.
    #[default]
    Person,
    /// Anything else with a name: a company, organisation, public body, vessel, aircraft.
    Entity,
}

impl Schema {
    /// Maps a FollowTheMoney schema name (`Person`, `Company`, `LegalEntity`, `Vessel` …),
    /// as also used by the public name benchmark, to a schema.
    pub fn from_ftm(schema: &str) -> Self {
        if schema.eq_ignore_ascii_case("person") { Schema::Person } else { Schema::Entity }
    }
}

/// A date known to the year, the month or the day, as lists record birth dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartialDate {
    /// Year.
    pub year: i32,
    /// Month 1–12, when known.
    pub month: Option<u8>,
    /// Day 1–31, when known (only with a month).
    pub day: Option<u8>,
}

impl PartialDate {
    /// Parses `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (anything after the day, such as a time, is
    /// ignored). `None` for anything else, or an impossible month or day.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let date_part = s.get(..10.min(s.len()))?;
        let mut parts = date_part.split('-');
        let year_s = parts.next()?;
        if year_s.len() != 4 || !year_s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year: i32 = year_s.parse().ok()?;
        let num = |p: Option<&str>, max: u8| -> Result<Option<u8>, ()> {
            match p {
                None => Ok(None),
                Some(p) if p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()) => {
                    let v: u8 = p.parse().map_err(|_| ())?;
                    if (1..=max).contains(&v) { Ok(Some(v)) } else { Err(()) }
                }
                Some(_) => Err(()),
            }
        };
        let month = num(parts.next(), 12).ok()?;
        let day = num(parts.next(), 31).ok()?;
        let rest = &s[date_part.len()..];
        if parts.next().is_some() || !(rest.is_empty() || day.is_some() && rest.starts_with(['T', ' '])) {
            return None;
        }
        if let (Some(m), Some(d)) = (month, day)
            && chrono::NaiveDate::from_ymd_opt(year, u32::from(m), u32::from(d)).is_none()
        {
            return None;
        }
        Some(PartialDate { year, month, day })
    }

    /// A full date.
    pub fn from_date(date: chrono::NaiveDate) -> Self {
        use chrono::Datelike;
        PartialDate { year: date.year(), month: u8::try_from(date.month()).ok(), day: u8::try_from(date.day()).ok() }
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
            if let Some(d) = self.day {
                write!(f, "-{d:02}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for PartialDate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PartialDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PartialDate::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a date: {s:?}")))
    }
}

/// Who is being compared: an applicant, or a watchlist entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Person or other party.
    pub schema: Schema,
    /// Names in any script: the main name first, then aliases and other spellings.
    pub names: Vec<String>,
    /// Dates of birth (or of incorporation); lists often give several, or only a year.
    pub birth_dates: Vec<PartialDate>,
    /// Nationalities (or jurisdictions) as ISO 3166-1 alpha-2 codes in upper case.
    pub nationalities: Vec<String>,
}

/// One entry of a watchlist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The entry's id in its source (FollowTheMoney id, UN reference number, CSV id).
    pub id: String,
    /// Who is listed.
    pub subject: Subject,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_dates() {
        assert_eq!(PartialDate::parse("1955").unwrap().to_string(), "1955");
        assert_eq!(PartialDate::parse("1955-03").unwrap().to_string(), "1955-03");
        assert_eq!(PartialDate::parse("1955-03-12").unwrap().to_string(), "1955-03-12");
        assert_eq!(PartialDate::parse("1955-03-12T00:00:00").unwrap().to_string(), "1955-03-12");
        for bad in ["", "55", "1955-13", "1955-02-30", "1955-3-1", "19x5", "1955-03-12-01", "1955-"] {
            assert_eq!(PartialDate::parse(bad), None, "{bad:?}");
        }
    }
}
