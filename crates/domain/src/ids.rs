//! Identifiers and validated values. Each is parsed once at the edge and trusted after.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::countries::COUNTRIES;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Wraps random bytes (from the caller's RNG) as an id.
            pub fn from_random(bytes: [u8; 16]) -> Self {
                Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
            }

            /// Parses the hyphenated text form.
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::parse_str(s).ok().map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// An application (a case), from submission to the end of its life.
    ApplicationId
);
impl ApplicationId {
    /// A time-ordered id (UUID version 7): 48 bits of the submission time in milliseconds, then
    /// 74 random bits. Ids of applications submitted one after another sort together, so that
    /// every index over them (the table's key, the history's, the audit log's by object) grows
    /// at its end instead of being written at random pages; the time it shows is the
    /// submission time the case shows anyway.
    pub fn time_ordered(at: chrono::DateTime<chrono::Utc>, random: [u8; 10]) -> Self {
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        Self(uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid())
    }
}

uuid_id!(
    /// A staff account.
    StaffId
);
uuid_id!(
    /// An uploaded document.
    DocumentId
);

/// A mission (embassy or consulate), named by a short slug such as `us-washington`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "pl-warsaw")]
pub struct MissionId(String);

impl MissionId {
    /// Accepts 2–40 characters of lower-case ASCII letters, digits and inner hyphens.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let ok_chars = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !(2..=40).contains(&s.len()) || !ok_chars || s.starts_with('-') || s.ends_with('-') {
            return Err("must be 2–40 lower-case letters, digits or hyphens");
        }
        Ok(Self(s.to_owned()))
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MissionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MissionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Crockford's base-32 alphabet: no I, L, O or U, so references survive being read aloud.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The short human-readable case reference, `LG-XXXX-XXXX` (40 random bits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, example = "LG-7K4M-2QXP")]
pub struct Reference(String);

impl Reference {
    /// Builds a reference from 40 random bits supplied by the caller.
    pub fn from_random(bits: u64) -> Self {
        let mut s = String::with_capacity(12);
        s.push_str("LG-");
        for i in 0..8 {
            if i == 4 {
                s.push('-');
            }
            let shift = 35 - 5 * i;
            s.push(CROCKFORD[((bits >> shift) & 31) as usize] as char);
        }
        Self(s)
    }

    /// Parses a reference typed by a person: case-insensitive, spaces ignored,
    /// `O`/`I`/`L` read as `0`/`1`/`1` as Crockford intends.
    pub fn parse(s: &str) -> Option<Self> {
        let cleaned: String = s.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
        let body = cleaned.strip_prefix("LG")?;
        let mut out = String::from("LG-");
        let mut n = 0;
        for c in body.chars().filter(|c| *c != '-') {
            let c = match c {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !CROCKFORD.contains(&(c as u8)) {
                return None;
            }
            if n == 4 {
                out.push('-');
            }
            out.push(c);
            n += 1;
        }
        (n == 8).then_some(Self(out))
    }

    /// The canonical text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 3166-1 alpha-2 country code that is officially assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, utoipa::ToSchema)]
#[schema(value_type = String, example = "PL")]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Accepts an assigned alpha-2 code, in either case.
    pub fn parse(s: &str) -> Option<Self> {
        let up = s.trim().to_ascii_uppercase();
        let b = up.as_bytes();
        if b.len() != 2 {
            return None;
        }
        COUNTRIES.binary_search_by(|(code, _)| code.as_bytes().cmp(b)).ok().map(|_| Self([b[0], b[1]]))
    }

    /// The two-letter code.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII by construction")
    }

    /// The English short name.
    pub fn name(&self) -> &'static str {
        COUNTRIES.binary_search_by(|(code, _)| code.as_bytes().cmp(&self.0[..])).map_or("", |i| COUNTRIES[i].1)
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom("not an ISO 3166-1 alpha-2 code"))
    }
}

/// A passport (travel document) number: 5–20 of `A–Z0–9` after upper-casing and
/// dropping spaces and hyphens, as ICAO 9303 documents print them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PassportNumber(String);

impl PassportNumber {
    /// Normalises and checks the shape.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let norm: String = s.chars().filter(|c| *c != ' ' && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
        if !norm.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
            return Err("may contain only letters A–Z and digits");
        }
        if !(5..=20).contains(&norm.len()) {
            return Err("must be 5–20 letters or digits");
        }
        if !norm.bytes().any(|b| b.is_ascii_digit()) {
            return Err("must contain at least one digit");
        }
        Ok(Self(norm))
    }

    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A staff sign-in name: 3–40 of lower-case ASCII letters, digits, `.`, `_`, `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String)]
pub struct Username(String);

impl Username {
    /// Lower-cases and checks the shape.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let s = s.trim().to_ascii_lowercase();
        if !(3..=40).contains(&s.len()) {
            return Err("must be 3–40 characters");
        }
        if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)) {
            return Err("may contain only a–z, 0–9, '.', '_' and '-'");
        }
        Ok(Self(s))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn country_codes() {
        assert_eq!(CountryCode::parse("ua").unwrap().as_str(), "UA");
        assert_eq!(CountryCode::parse("UA").unwrap().name(), "Ukraine");
        assert!(CountryCode::parse("XX").is_none());
        assert!(CountryCode::parse("USA").is_none());
        assert!(CountryCode::parse("").is_none());
    }

    #[test]
    fn time_ordered_ids_sort_by_time_and_differ_within_a_millisecond() {
        let t = "2022-03-01T12:00:00.001Z".parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        let a = ApplicationId::time_ordered(t, [0xff; 10]);
        let b = ApplicationId::time_ordered(t + chrono::Duration::milliseconds(1), [0; 10]);
        let c = ApplicationId::time_ordered(t, [1; 10]);
        assert!(a.to_string() < b.to_string(), "{a} {b}");
        assert_ne!(a, c);
        assert_eq!(a.0.get_version_num(), 7);
        assert_eq!(ApplicationId::parse(&a.to_string()), Some(a));
    }

    #[test]
    fn passport_numbers() {
        assert_eq!(PassportNumber::parse("ab 123-456").unwrap().as_str(), "AB123456");
        assert!(PassportNumber::parse("12").is_err());
        assert!(PassportNumber::parse("ABCDEFG").is_err());
        assert!(PassportNumber::parse("AB12345Я").is_err());
    }

    #[test]
    fn mission_ids() {
        assert!(MissionId::parse("pl-warsaw").is_ok());
        assert!(MissionId::parse("PL").is_err());
        assert!(MissionId::parse("-pl").is_err());
    }

    proptest! {
        #[test]
        fn reference_round_trips(bits in 0u64..(1 << 40)) {
            let r = Reference::from_random(bits);
            prop_assert_eq!(r.as_str().len(), 12);
            prop_assert_eq!(Reference::parse(r.as_str()), Some(r.clone()));
            prop_assert_eq!(Reference::parse(&r.as_str().to_lowercase()), Some(r.clone()));
            let spaced = r.as_str().replace('-', " - ");
            prop_assert_eq!(Reference::parse(&spaced), Some(r));
        }

        #[test]
        fn reference_parse_never_panics(s in "\\PC{0,30}") {
            let _ = Reference::parse(&s);
        }

        #[test]
        fn passport_parse_is_idempotent(s in "[A-Za-z0-9 -]{0,25}") {
            if let Ok(p) = PassportNumber::parse(&s) {
                prop_assert_eq!(PassportNumber::parse(p.as_str()), Ok(p.clone()));
            }
        }

        #[test]
        fn country_parse_accepts_only_listed(s in "[A-Za-z]{2}") {
            let listed = COUNTRIES.iter().any(|(c, _)| c.eq_ignore_ascii_case(&s));
            prop_assert_eq!(CountryCode::parse(&s).is_some(), listed);
        }
    }
}
