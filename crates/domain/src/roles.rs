//! Staff roles and what each may do. Default is deny: a role may do only what is listed here.

use serde::{Deserialize, Serialize};

/// A staff role (DESIGN §2). Applicants are not staff: they act through their access code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reviews cases of one mission, requests information, interviews, recommends.
    MissionOfficer,
    /// Decides on recommendations of one mission (never their own).
    MissionHead,
    /// Resolves screening hits and duplicate flags across all missions; sees screening data only.
    VettingOfficer,
    /// Verifies entry authorisations at the border; no case access.
    BorderOfficer,
    /// Records arrivals, contracts and assignments.
    ReceptionOfficer,
    /// Keeps service records and the citizenship clock.
    RecordsOfficer,
    /// Reads the audit log, checkpoints and statistics.
    Auditor,
    /// Manages missions, staff accounts, keys and policy; no case content.
    Admin,
}

impl Role {
    /// Every role, in the order of DESIGN §2.
    pub const ALL: [Role; 8] = [
        Role::MissionOfficer,
        Role::MissionHead,
        Role::VettingOfficer,
        Role::BorderOfficer,
        Role::ReceptionOfficer,
        Role::RecordsOfficer,
        Role::Auditor,
        Role::Admin,
    ];

    /// The stable text form used in storage and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::MissionOfficer => "mission_officer",
            Role::MissionHead => "mission_head",
            Role::VettingOfficer => "vetting_officer",
            Role::BorderOfficer => "border_officer",
            Role::ReceptionOfficer => "reception_officer",
            Role::RecordsOfficer => "records_officer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// Parses the text form.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether accounts with this role belong to exactly one mission.
    pub fn is_mission_scoped(self) -> bool {
        matches!(self, Role::MissionOfficer | Role::MissionHead)
    }

    /// Whether this role holds `permission`.
    pub fn can(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            Role::MissionOfficer => matches!(
                permission,
                P::QueueRead | P::CaseRead | P::CaseReview | P::CaseRecommend | P::CaseAuthorise | P::MissionsRead
            ),
            Role::MissionHead => matches!(
                permission,
                P::QueueRead
                    | P::CaseRead
                    | P::CaseReview
                    | P::CaseRecommend
                    | P::CaseDecide
                    | P::CaseAuthorise
                    | P::CaseRevoke
                    | P::MissionsRead
            ),
            Role::VettingOfficer => {
                matches!(permission, P::VettingRead | P::VettingResolve | P::MissionsRead | P::WatchlistsRead)
            }
            Role::BorderOfficer => matches!(permission, P::BorderCrossing),
            Role::ReceptionOfficer | Role::RecordsOfficer => false,
            Role::Auditor => matches!(permission, P::AuditRead | P::StatsRead | P::MissionsRead),
            Role::Admin => matches!(
                permission,
                P::StaffManage
                    | P::MissionsManage
                    | P::MissionsRead
                    | P::StatsRead
                    | P::WatchlistsRead
                    | P::WatchlistsManage
            ),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A thing a staff member may be allowed to do. Every staff route names exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// List the cases of one's mission.
    QueueRead,
    /// Open a case of one's mission, with its personal data and history.
    CaseRead,
    /// Request information, schedule and record interviews.
    CaseReview,
    /// Recommend approval or rejection.
    CaseRecommend,
    /// Approve or reject a recommendation made by someone else.
    CaseDecide,
    /// Issue an entry authorisation for an approved case.
    CaseAuthorise,
    /// Revoke an entry authorisation.
    CaseRevoke,
    /// Verify entry authorisations at the border and record crossings (no case content).
    BorderCrossing,
    /// See cases on vetting hold (screening data only).
    VettingRead,
    /// Clear or confirm a screening hit.
    VettingResolve,
    /// List missions.
    MissionsRead,
    /// Create or change missions.
    MissionsManage,
    /// Create, list, disable staff accounts.
    StaffManage,
    /// Read the audit log.
    AuditRead,
    /// Read aggregate statistics.
    StatsRead,
    /// See which watchlists are loaded, and what was skipped.
    WatchlistsRead,
    /// Reload the watchlists.
    WatchlistsManage,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_text_round_trips() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn admin_sees_no_case_content() {
        assert!(!Role::Admin.can(Permission::CaseRead));
        assert!(!Role::Admin.can(Permission::QueueRead));
        assert!(!Role::Auditor.can(Permission::CaseRead));
        assert!(!Role::VettingOfficer.can(Permission::CaseRead));
    }

    #[test]
    fn only_heads_decide() {
        let deciders: Vec<_> = Role::ALL.into_iter().filter(|r| r.can(Permission::CaseDecide)).collect();
        assert_eq!(deciders, vec![Role::MissionHead]);
    }
}
