//! Routing: which mission handles an application, from the applicant's country of residence.

use serde::{Deserialize, Serialize};

use crate::ids::{CountryCode, MissionId};

/// A diplomatic mission that takes applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mission {
    /// Slug.
    pub id: MissionId,
    /// Display name, e.g. "Embassy of Ukraine in Poland".
    pub name: String,
    /// Country the mission sits in.
    pub country: CountryCode,
    /// Countries of residence it covers.
    pub covers: Vec<CountryCode>,
    /// Takes applications from countries no other mission covers.
    pub regional: bool,
}

/// Picks the mission for a country of residence: the mission that covers it, or else the
/// regional mission. When several cover the same country the first by id wins, so routing
/// is deterministic whatever order missions were created in.
pub fn route(residence: CountryCode, missions: &[Mission]) -> Option<&Mission> {
    let mut covering: Vec<&Mission> = missions.iter().filter(|m| m.covers.contains(&residence)).collect();
    covering.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(m) = covering.first() {
        return Some(m);
    }
    let mut regional: Vec<&Mission> = missions.iter().filter(|m| m.regional).collect();
    regional.sort_by(|a, b| a.id.cmp(&b.id));
    regional.first().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, covers: &[&str], regional: bool) -> Mission {
        Mission {
            id: MissionId::parse(id).unwrap(),
            name: id.into(),
            country: CountryCode::parse(&id[..2]).unwrap(),
            covers: covers.iter().map(|c| CountryCode::parse(c).unwrap()).collect(),
            regional,
        }
    }

    #[test]
    fn covered_country_goes_to_its_mission_else_regional() {
        let ms = vec![
            m("us-washington", &["US"], false),
            m("pl-warsaw", &["PL", "LT"], true),
            m("de-berlin", &["DE", "AT"], false),
        ];
        let c = |s| CountryCode::parse(s).unwrap();
        assert_eq!(route(c("LT"), &ms).unwrap().id.as_str(), "pl-warsaw");
        assert_eq!(route(c("AT"), &ms).unwrap().id.as_str(), "de-berlin");
        assert_eq!(route(c("BR"), &ms).unwrap().id.as_str(), "pl-warsaw");
        assert!(route(c("BR"), &ms[..1]).is_none());
    }
}
