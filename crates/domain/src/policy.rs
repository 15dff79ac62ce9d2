//! Policy as versioned data (DESIGN §5). Figures of law live in `policy/*.toml`, each with
//! the date it takes effect and its source; decisions record the version they used.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::CountryCode;

/// One version of the rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Version name, recorded with every decision.
    pub version: String,
    /// First day this version applies.
    pub effective_from: NaiveDate,
    /// Human title.
    pub title: String,
    /// Age limits.
    pub age: AgeRule,
    /// Nationality exclusions.
    pub nationality: NationalityRule,
    /// Documents an applicant must supply.
    pub documents: DocumentRule,
    /// Path to citizenship.
    pub citizenship: CitizenshipRule,
    /// Contract terms, where set.
    #[serde(default)]
    pub service: Option<ServiceRule>,
}

/// Inclusive age limits on the day of application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeRule {
    /// Youngest age accepted.
    pub min: i32,
    /// Oldest age accepted.
    pub max: i32,
    /// Citation.
    pub source: String,
}

/// Nationalities that may not apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NationalityRule {
    /// Excluded nationalities.
    pub excluded: Vec<CountryCode>,
    /// Citation.
    pub source: String,
}

/// Documents asked of applicants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentRule {
    /// Must be supplied.
    pub required: Vec<String>,
    /// Helpful, not required.
    #[serde(default)]
    pub optional: Vec<String>,
    /// Citation.
    pub source: String,
}

/// Citizenship by service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CitizenshipRule {
    /// Years of continuous legal residence counted from the contract.
    pub residence_years: u32,
    /// Citation.
    pub source: String,
}

/// Contract terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRule {
    /// Months of continuous service before a foreigner may end the contract.
    pub min_months_before_termination: u32,
    /// Citation.
    pub source: String,
}

/// Why a policy file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not valid TOML for a policy.
    #[error("policy {name}: {message}")]
    Parse {
        /// File name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// No version at all.
    #[error("no policy versions were given")]
    Empty,
    /// Two versions share a name or a start date.
    #[error("policy versions clash: {0}")]
    Clash(String),
}

/// All known versions, ordered by the day they take effect.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySet {
    versions: Vec<Policy>,
}

/// The policy files shipped with Legion.
const BUILTIN: &[(&str, &str)] = &[
    ("2022-03-01.toml", include_str!("../../../policy/2022-03-01.toml")),
    ("2024-05-18.toml", include_str!("../../../policy/2024-05-18.toml")),
];

impl PolicySet {
    /// Parses policy files given as (name, text) pairs.
    pub fn parse(files: &[(&str, &str)]) -> Result<Self, PolicyError> {
        let mut versions = Vec::with_capacity(files.len());
        for (name, text) in files {
            let p: Policy = toml::from_str(text)
                .map_err(|e| PolicyError::Parse { name: (*name).to_owned(), message: e.to_string() })?;
            if p.age.min > p.age.max || p.age.min < 0 {
                return Err(PolicyError::Parse {
                    name: (*name).to_owned(),
                    message: "age.min must be ≤ age.max".into(),
                });
            }
            versions.push(p);
        }
        if versions.is_empty() {
            return Err(PolicyError::Empty);
        }
        versions.sort_by_key(|p| p.effective_from);
        for w in versions.windows(2) {
            if w[0].effective_from == w[1].effective_from || w[0].version == w[1].version {
                return Err(PolicyError::Clash(format!("{} and {}", w[0].version, w[1].version)));
            }
        }
        Ok(Self { versions })
    }

    /// The versions shipped in `policy/`.
    pub fn builtin() -> Self {
        Self::parse(BUILTIN).expect("shipped policy files parse")
    }

    /// The version in force on `day`: the latest that took effect on or before it.
    pub fn in_force(&self, day: NaiveDate) -> Option<&Policy> {
        self.versions.iter().rev().find(|p| p.effective_from <= day)
    }

    /// The version named `version`.
    pub fn get(&self, version: &str) -> Option<&Policy> {
        self.versions.iter().find(|p| p.version == version)
    }

    /// All versions, oldest first.
    pub fn versions(&self) -> &[Policy] {
        &self.versions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn picks_the_version_in_force() {
        let set = PolicySet::builtin();
        assert!(set.in_force(day("2022-02-28")).is_none());
        assert_eq!(set.in_force(day("2022-03-01")).unwrap().version, "2022-03-01");
        assert_eq!(set.in_force(day("2024-05-17")).unwrap().version, "2022-03-01");
        let v24 = set.in_force(day("2024-05-18")).unwrap();
        assert_eq!(v24.version, "2024-05-18");
        assert_eq!(v24.service.as_ref().unwrap().min_months_before_termination, 6);
        assert_eq!(set.get("2022-03-01").unwrap().age.max, 60);
    }

    #[test]
    fn refuses_bad_files() {
        assert!(matches!(PolicySet::parse(&[]), Err(PolicyError::Empty)));
        assert!(PolicySet::parse(&[("x.toml", "version = 1")]).is_err());
        let text = BUILTIN[0].1;
        assert!(matches!(PolicySet::parse(&[("a", text), ("b", text)]), Err(PolicyError::Clash(_))));
        let bad_country = text.replace("[\"RU\"]", "[\"XX\"]");
        assert!(PolicySet::parse(&[("a", &bad_country)]).is_err());
    }
}
