//! Screening flags: the automatic checks that can send a case to vetting hold. The policy
//! gates live here; watchlist and fuzzy duplicate screening come from the screening crate.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::application::{ApplicantDetails, age_on};
use crate::policy::Policy;

/// What kind of possible problem screening found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    /// Age outside the policy's limits.
    Age,
    /// Nationality excluded by policy.
    Nationality,
    /// The applicant did not declare a clean criminal record.
    CriminalRecordDeclared,
    /// Another application carries the same passport.
    DuplicatePassport,
    /// The applicant may be a person on a watchlist.
    Watchlist,
    /// The applicant may be the same person as in another application (name and date of
    /// birth, across missions and spellings).
    PossibleDuplicate,
}

/// One possible hit, with the explanation shown to the vetting officer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Flag {
    /// Kind of hit.
    pub kind: FlagKind,
    /// Explanation (no personal data beyond what the vetting officer already sees).
    pub explanation: String,
    /// The rule's citation or the other case's reference.
    pub basis: String,
}

impl Flag {
    /// An age-limit flag.
    pub fn underage(age: i32, min: i32, basis: &str) -> Self {
        Flag {
            kind: FlagKind::Age,
            explanation: format!("age {age} is below the minimum of {min}"),
            basis: basis.into(),
        }
    }
}

/// Applies the policy gates to an application as of `today`.
pub fn policy_flags(details: &ApplicantDetails, policy: &Policy, today: NaiveDate) -> Vec<Flag> {
    let mut flags = Vec::new();
    let age = age_on(details.date_of_birth, today);
    let cite = |source: &str| format!("policy {}: {source}", policy.version);
    if age < policy.age.min {
        flags.push(Flag::underage(age, policy.age.min, &cite(&policy.age.source)));
    } else if age > policy.age.max {
        flags.push(Flag {
            kind: FlagKind::Age,
            explanation: format!("age {age} is above the maximum of {}", policy.age.max),
            basis: cite(&policy.age.source),
        });
    }
    if policy.nationality.excluded.contains(&details.nationality) {
        flags.push(Flag {
            kind: FlagKind::Nationality,
            explanation: format!("nationality {} is excluded", details.nationality),
            basis: cite(&policy.nationality.source),
        });
    }
    if !details.declarations.no_criminal_record {
        flags.push(Flag {
            kind: FlagKind::CriminalRecordDeclared,
            explanation: "the applicant did not declare a clean criminal record".into(),
            basis: "applicant declaration".into(),
        });
    }
    flags
}

/// A flag for a passport already used in another application.
pub fn duplicate_flag(other_reference: &str, other_mission: &str) -> Flag {
    Flag {
        kind: FlagKind::DuplicatePassport,
        explanation: format!(
            "the same passport number and nationality appear in application {other_reference} at mission {other_mission}"
        ),
        basis: other_reference.into(),
    }
}
