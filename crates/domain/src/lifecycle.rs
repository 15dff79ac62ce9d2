//! The case lifecycle (DESIGN §3): states, commands, and the one function that decides
//! whether a command may move a case, and where to.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ids::{ApplicationId, MissionId, StaffId};
use crate::policy::Policy;
use crate::roles::{Permission, Role};
use crate::screening::Flag;
use crate::validation::FieldErrors;

/// Where a case is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Received, not yet screened.
    Submitted,
    /// Automatic screening in progress.
    Screening,
    /// A possible screening hit waits for a vetting officer.
    VettingHold,
    /// With the mission's officers.
    MissionReview,
    /// Waiting for the applicant to answer a request.
    InfoRequested,
    /// An interview is scheduled.
    InterviewScheduled,
    /// The interview took place.
    Interviewed,
    /// An officer recommended a decision; waits for a different mission head.
    Recommended,
    /// Approved by the mission head.
    Approved,
    /// Rejected (terminal).
    Rejected,
    /// An entry authorisation was issued.
    Authorised,
    /// The entry authorisation was revoked (terminal).
    Revoked,
    /// A border officer verified the authorisation and recorded the crossing.
    CrossedBorder,
    /// Withdrawn by the applicant (terminal).
    Withdrawn,
}

impl State {
    /// Every state, in lifecycle order.
    pub const ALL: [State; 14] = [
        State::Submitted,
        State::Screening,
        State::VettingHold,
        State::MissionReview,
        State::InfoRequested,
        State::InterviewScheduled,
        State::Interviewed,
        State::Recommended,
        State::Approved,
        State::Rejected,
        State::Authorised,
        State::Revoked,
        State::CrossedBorder,
        State::Withdrawn,
    ];

    /// The stable text form used in storage and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Submitted => "submitted",
            State::Screening => "screening",
            State::VettingHold => "vetting_hold",
            State::MissionReview => "mission_review",
            State::InfoRequested => "info_requested",
            State::InterviewScheduled => "interview_scheduled",
            State::Interviewed => "interviewed",
            State::Recommended => "recommended",
            State::Approved => "approved",
            State::Rejected => "rejected",
            State::Authorised => "authorised",
            State::Revoked => "revoked",
            State::CrossedBorder => "crossed_border",
            State::Withdrawn => "withdrawn",
        }
    }

    /// Parses the text form.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// No command leads out of a terminal state.
    pub fn is_terminal(self) -> bool {
        matches!(self, State::Rejected | State::Revoked | State::Withdrawn)
    }

    /// Whether a new screening hit (after the watchlists changed) sends a case in this state
    /// back to vetting hold: screened, not yet decided for good or authorised.
    pub fn can_be_rescreened(self) -> bool {
        matches!(
            self,
            State::MissionReview
                | State::InfoRequested
                | State::InterviewScheduled
                | State::Interviewed
                | State::Recommended
                | State::Approved
        )
    }

    /// Whether the applicant may still withdraw (every state before enlistment that is not final).
    pub fn can_withdraw(self) -> bool {
        !self.is_terminal()
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an officer recommends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    /// Recommend approval.
    Approve,
    /// Recommend rejection.
    Reject,
}

impl Recommendation {
    /// Text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Recommendation::Approve => "approve",
            Recommendation::Reject => "reject",
        }
    }

    /// Parses the text form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "approve" => Some(Self::Approve),
            "reject" => Some(Self::Reject),
            _ => None,
        }
    }
}

/// A staff member acting, as established by their session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffActor {
    /// The account.
    pub id: StaffId,
    /// The account's role.
    pub role: Role,
    /// The mission the account belongs to, for mission-scoped roles.
    pub mission: Option<MissionId>,
}

/// Who is issuing a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Legion itself (screening workers).
    System,
    /// The applicant of this case, proven by its access code.
    Applicant(ApplicationId),
    /// A signed-in staff member.
    Staff(StaffActor),
}

impl Actor {
    /// A stable label for audit records: `system`, `applicant`, or the staff id.
    pub fn audit_id(&self) -> String {
        match self {
            Actor::System => "system".into(),
            Actor::Applicant(_) => "applicant".into(),
            Actor::Staff(s) => s.id.to_string(),
        }
    }

    /// The role label for audit records.
    pub fn audit_role(&self) -> &'static str {
        match self {
            Actor::System => "system",
            Actor::Applicant(_) => "applicant",
            Actor::Staff(s) => s.role.as_str(),
        }
    }
}

/// A domain command: one per transition.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// The screening worker picks the case up.
    BeginScreening,
    /// The screening worker finished; flags decide between review and vetting hold.
    CompleteScreening {
        /// Possible hits found.
        flags: Vec<Flag>,
    },
    /// A watchlist changed and screening again found possible hits on an open case, which
    /// goes back to vetting hold (any recommendation lapses).
    Rescreen {
        /// Every flag now standing: the earlier ones and the new hits.
        flags: Vec<Flag>,
    },
    /// A vetting officer finds the hits do not apply.
    ClearVetting {
        /// Why (kept in the history).
        reason: String,
    },
    /// A vetting officer confirms a hit, which rejects the case.
    ConfirmVetting {
        /// Why.
        reason: String,
    },
    /// An officer asks the applicant for information.
    RequestInfo {
        /// The question, shown to the applicant.
        message: String,
    },
    /// The applicant answers the open request.
    AnswerInfo {
        /// The answer.
        answer: String,
    },
    /// An officer schedules an interview.
    ScheduleInterview {
        /// When.
        at: DateTime<Utc>,
        /// Where, or how (video link).
        place: String,
    },
    /// An officer records the interview.
    RecordInterview {
        /// Whether the applicant came.
        attended: bool,
        /// Notes.
        notes: String,
    },
    /// An officer recommends a decision.
    Recommend {
        /// Approve or reject.
        recommendation: Recommendation,
        /// Why.
        reason: String,
    },
    /// A mission head approves a recommendation to approve.
    Approve {
        /// Note for the record.
        note: String,
    },
    /// A mission head rejects (whatever was recommended).
    Reject {
        /// Why.
        reason: String,
    },
    /// A mission head sends the case back to review.
    ReturnToReview {
        /// Why.
        reason: String,
    },
    /// The consul issues the entry authorisation.
    Authorise {
        /// First day of the permitted entry window.
        valid_from: NaiveDate,
        /// Last day of the permitted entry window.
        valid_until: NaiveDate,
    },
    /// A mission head revokes the entry authorisation.
    Revoke {
        /// Why.
        reason: String,
    },
    /// A mission head replaces the entry authorisation (lost, stolen, or a new entry
    /// window): the old one is revoked, a new one issued; the case stays authorised.
    Reissue {
        /// First day of the new entry window.
        valid_from: NaiveDate,
        /// Last day of the new entry window.
        valid_until: NaiveDate,
        /// Why.
        reason: String,
    },
    /// A border officer records that the holder crossed with the authorisation.
    RecordCrossing {
        /// The crossing point (e.g. "Medyka–Shehyni").
        point: String,
    },
    /// The applicant withdraws.
    Withdraw {
        /// Optional reason (drop-out statistics).
        reason: Option<String>,
    },
}

impl Command {
    /// The stable name used in history and audit records.
    pub fn name(&self) -> &'static str {
        match self {
            Command::BeginScreening => "begin_screening",
            Command::CompleteScreening { .. } => "complete_screening",
            Command::Rescreen { .. } => "rescreen",
            Command::ClearVetting { .. } => "clear_vetting",
            Command::ConfirmVetting { .. } => "confirm_vetting",
            Command::RequestInfo { .. } => "request_info",
            Command::AnswerInfo { .. } => "answer_info",
            Command::ScheduleInterview { .. } => "schedule_interview",
            Command::RecordInterview { .. } => "record_interview",
            Command::Recommend { .. } => "recommend",
            Command::Approve { .. } => "approve",
            Command::Reject { .. } => "reject",
            Command::ReturnToReview { .. } => "return_to_review",
            Command::Authorise { .. } => "authorise",
            Command::Revoke { .. } => "revoke",
            Command::RecordCrossing { .. } => "record_crossing",
            Command::Reissue { .. } => "reissue",
            Command::Withdraw { .. } => "withdraw",
        }
    }

    /// The permission a staff member needs to issue this command (`None`: not a staff command).
    pub fn permission(&self) -> Option<Permission> {
        Some(match self {
            Command::BeginScreening
            | Command::CompleteScreening { .. }
            | Command::Rescreen { .. }
            | Command::AnswerInfo { .. }
            | Command::Withdraw { .. } => {
                return None;
            }
            Command::ClearVetting { .. } | Command::ConfirmVetting { .. } => Permission::VettingResolve,
            Command::RequestInfo { .. } | Command::ScheduleInterview { .. } | Command::RecordInterview { .. } => {
                Permission::CaseReview
            }
            Command::Recommend { .. } => Permission::CaseRecommend,
            Command::Approve { .. } | Command::Reject { .. } | Command::ReturnToReview { .. } => Permission::CaseDecide,
            Command::Authorise { .. } => Permission::CaseAuthorise,
            Command::Revoke { .. } | Command::Reissue { .. } => Permission::CaseRevoke,
            Command::RecordCrossing { .. } => Permission::BorderCrossing,
        })
    }

    /// Checks the free-text and date parameters (lengths, order); one message per field.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::new();
        let mut text = |field: &str, s: &str, max: usize| {
            let t = s.trim();
            if t.is_empty() {
                e.add(field, "is required");
            } else if t.chars().count() > max {
                e.add(field, format!("must be at most {max} characters"));
            }
        };
        match self {
            Command::ClearVetting { reason }
            | Command::ConfirmVetting { reason }
            | Command::Recommend { reason, .. }
            | Command::Reject { reason }
            | Command::ReturnToReview { reason }
            | Command::Revoke { reason } => text("reason", reason, 2000),
            Command::RequestInfo { message } => text("message", message, 2000),
            Command::RecordCrossing { point } => text("point", point, 200),
            Command::AnswerInfo { answer } => text("answer", answer, 5000),
            Command::ScheduleInterview { at, place } => {
                text("place", place, 200);
                if *at <= now {
                    e.add("at", "must be in the future");
                }
            }
            Command::RecordInterview { notes, .. } => text("notes", notes, 5000),
            Command::Approve { note } => {
                if note.chars().count() > 2000 {
                    e.add("note", "must be at most 2000 characters");
                }
            }
            Command::Authorise { valid_from, valid_until } | Command::Reissue { valid_from, valid_until, .. } => {
                if let Command::Reissue { reason, .. } = self {
                    text("reason", reason, 2000);
                }
                if valid_until < valid_from {
                    e.add("valid_until", "must not be before valid_from");
                } else if (*valid_until - *valid_from).num_days() > 366 {
                    e.add("valid_until", "the entry window may be at most a year");
                }
                if *valid_until < now.date_naive() {
                    e.add("valid_until", "must not be in the past");
                }
            }
            Command::Withdraw { reason } => {
                if reason.as_ref().is_some_and(|r| r.chars().count() > 2000) {
                    e.add("reason", "must be at most 2000 characters");
                }
            }
            Command::BeginScreening | Command::CompleteScreening { .. } => {}
            Command::Rescreen { flags } => {
                if flags.is_empty() {
                    e.add("flags", "a re-screening without hits changes nothing");
                }
            }
        }
        e.into_result(())
    }
}

/// What the lifecycle needs to know about a case to judge a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseStatus {
    /// The case.
    pub id: ApplicationId,
    /// Its mission.
    pub mission: MissionId,
    /// Its state.
    pub state: State,
    /// Who made the standing recommendation, if any.
    pub recommended_by: Option<StaffId>,
    /// The standing recommendation, if any.
    pub recommendation: Option<Recommendation>,
}

/// A decided transition, ready to be stored with its audit event.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// State before.
    pub from: State,
    /// State after.
    pub to: State,
    /// Command name.
    pub command: &'static str,
    /// Parameters worth keeping in the case history (reasons, notes, times).
    pub details: serde_json::Value,
    /// The policy version in force when decided.
    pub policy_version: String,
    /// The recommendation standing after this transition.
    pub recommendation: Option<(StaffId, Recommendation)>,
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// The command does not apply in the case's current state.
    #[error("'{command}' is not possible while the case is {state}")]
    IllegalTransition {
        /// Current state.
        state: State,
        /// Refused command.
        command: &'static str,
    },
    /// The actor's role does not allow the command.
    #[error("your role may not do this")]
    Forbidden,
    /// The case belongs to another mission. Callers show this as "not found".
    #[error("case not found")]
    OutOfScope,
    /// The four-eyes rule: the decider made the recommendation.
    #[error("a different mission head must decide on your own recommendation")]
    FourEyes,
    /// A recommendation to reject cannot be approved; reject it or return it.
    #[error("the recommendation is to reject; approving needs a new recommendation")]
    RecommendationMismatch,
    /// Command parameters were invalid.
    #[error("invalid input: {0}")]
    Invalid(FieldErrors),
}

/// Decides whether `actor` may apply `command` to `case` now, and what follows.
/// Pure: the caller stores the result (with its audit event) or shows the error.
pub fn decide(
    case: &CaseStatus,
    actor: &Actor,
    command: &Command,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Transition, DomainError> {
    use State as S;

    authorise_actor(case, actor, command)?;
    command.validate(now).map_err(DomainError::Invalid)?;

    let illegal = || DomainError::IllegalTransition { state: case.state, command: command.name() };
    let mut recommendation = case.recommended_by.zip(case.recommendation);
    let (to, details) = match (case.state, command) {
        (S::Submitted, Command::BeginScreening) => (S::Screening, json!({})),
        (S::Screening, Command::CompleteScreening { flags }) => {
            let to = if flags.is_empty() { S::MissionReview } else { S::VettingHold };
            (to, json!({ "flags": flags }))
        }
        (state, Command::Rescreen { flags }) if state.can_be_rescreened() => {
            recommendation = None;
            (S::VettingHold, json!({ "flags": flags }))
        }
        (S::VettingHold, Command::ClearVetting { reason }) => (S::MissionReview, json!({ "reason": reason.trim() })),
        (S::VettingHold, Command::ConfirmVetting { reason }) => (S::Rejected, json!({ "reason": reason.trim() })),
        (S::MissionReview, Command::RequestInfo { message }) => {
            (S::InfoRequested, json!({ "message": message.trim() }))
        }
        (S::InfoRequested, Command::AnswerInfo { answer }) => (S::MissionReview, json!({ "answer": answer.trim() })),
        (S::MissionReview, Command::ScheduleInterview { at, place }) => {
            (S::InterviewScheduled, json!({ "at": at, "place": place.trim() }))
        }
        (S::InterviewScheduled, Command::RecordInterview { attended, notes }) => {
            let to = if *attended { S::Interviewed } else { S::MissionReview };
            (to, json!({ "attended": attended, "notes": notes.trim() }))
        }
        (S::Interviewed, Command::Recommend { recommendation: r, reason })
        | (S::MissionReview, Command::Recommend { recommendation: r @ Recommendation::Reject, reason }) => {
            let Actor::Staff(s) = actor else { return Err(DomainError::Forbidden) };
            recommendation = Some((s.id, *r));
            (S::Recommended, json!({ "recommendation": r.as_str(), "reason": reason.trim() }))
        }
        (S::Recommended, Command::Approve { note }) => {
            four_eyes(case, actor)?;
            if case.recommendation != Some(Recommendation::Approve) {
                return Err(DomainError::RecommendationMismatch);
            }
            (S::Approved, json!({ "note": note.trim(), "recommended_by": case.recommended_by }))
        }
        (S::Recommended, Command::Reject { reason }) => {
            four_eyes(case, actor)?;
            (S::Rejected, json!({ "reason": reason.trim(), "recommended_by": case.recommended_by }))
        }
        (S::Recommended, Command::ReturnToReview { reason }) => {
            recommendation = None;
            (S::MissionReview, json!({ "reason": reason.trim() }))
        }
        (S::Approved, Command::Authorise { valid_from, valid_until }) => {
            (S::Authorised, json!({ "valid_from": valid_from, "valid_until": valid_until }))
        }
        (S::Authorised, Command::Revoke { reason }) => (S::Revoked, json!({ "reason": reason.trim() })),
        (S::Authorised, Command::Reissue { valid_from, valid_until, reason }) => {
            (S::Authorised, json!({ "valid_from": valid_from, "valid_until": valid_until, "reason": reason.trim() }))
        }
        (S::Authorised, Command::RecordCrossing { point }) => (S::CrossedBorder, json!({ "point": point.trim() })),
        (state, Command::Withdraw { reason }) if state.can_withdraw() => {
            (S::Withdrawn, json!({ "reason": reason.as_deref().map(str::trim) }))
        }
        _ => return Err(illegal()),
    };
    Ok(Transition {
        from: case.state,
        to,
        command: command.name(),
        details,
        policy_version: policy.version.clone(),
        recommendation,
    })
}

fn four_eyes(case: &CaseStatus, actor: &Actor) -> Result<(), DomainError> {
    match actor {
        Actor::Staff(s) if Some(s.id) == case.recommended_by => Err(DomainError::FourEyes),
        Actor::Staff(_) => Ok(()),
        _ => Err(DomainError::Forbidden),
    }
}

/// Role, scope and actor-kind checks that come before any state logic, so that an
/// out-of-scope actor learns nothing about the case's state.
fn authorise_actor(case: &CaseStatus, actor: &Actor, command: &Command) -> Result<(), DomainError> {
    match (actor, command) {
        (Actor::System, Command::BeginScreening | Command::CompleteScreening { .. } | Command::Rescreen { .. }) => {
            Ok(())
        }
        (Actor::Applicant(id), Command::AnswerInfo { .. } | Command::Withdraw { .. }) => {
            if *id == case.id {
                Ok(())
            } else {
                Err(DomainError::OutOfScope)
            }
        }
        (Actor::Staff(s), cmd) => {
            let Some(permission) = cmd.permission() else { return Err(DomainError::Forbidden) };
            if s.role.is_mission_scoped() && s.mission.as_ref() != Some(&case.mission) {
                return Err(DomainError::OutOfScope);
            }
            if !s.role.can(permission) {
                return Err(DomainError::Forbidden);
            }
            Ok(())
        }
        _ => Err(DomainError::Forbidden),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicySet;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        "2022-03-05T10:00:00Z".parse().unwrap()
    }

    fn policy() -> Policy {
        PolicySet::builtin().in_force(now().date_naive()).unwrap().clone()
    }

    fn mission() -> MissionId {
        MissionId::parse("gb-london").unwrap()
    }

    fn staff(role: Role, n: u8) -> Actor {
        Actor::Staff(StaffActor { id: StaffId::from_random([n; 16]), role, mission: Some(mission()) })
    }

    fn case(state: State) -> CaseStatus {
        CaseStatus {
            id: ApplicationId::from_random([9; 16]),
            mission: mission(),
            state,
            recommended_by: None,
            recommendation: None,
        }
    }

    fn apply(c: &mut CaseStatus, actor: &Actor, cmd: &Command) -> Result<(), DomainError> {
        let t = decide(c, actor, cmd, &policy(), now())?;
        c.state = t.to;
        c.recommended_by = t.recommendation.map(|r| r.0);
        c.recommendation = t.recommendation.map(|r| r.1);
        Ok(())
    }

    #[test]
    fn rescreening_sends_open_cases_back_to_vetting_hold() {
        let hit = || Command::Rescreen { flags: vec![Flag::underage(17, 18, "2022-03-01")] };
        let mut c = case(State::Recommended);
        c.recommended_by = Some(StaffId::from_random([1; 16]));
        c.recommendation = Some(Recommendation::Approve);
        apply(&mut c, &Actor::System, &hit()).unwrap();
        assert_eq!((c.state, c.recommendation), (State::VettingHold, None));
        for closed in [State::Submitted, State::Screening, State::VettingHold, State::Authorised, State::Rejected] {
            let err = apply(&mut case(closed), &Actor::System, &hit()).unwrap_err();
            assert!(matches!(err, DomainError::IllegalTransition { .. }), "{closed:?}: {err:?}");
        }
        let err = apply(&mut case(State::MissionReview), &staff(Role::VettingOfficer, 3), &hit()).unwrap_err();
        assert_eq!(err, DomainError::Forbidden);
        let err = apply(&mut case(State::MissionReview), &Actor::System, &Command::Rescreen { flags: vec![] });
        assert!(matches!(err, Err(DomainError::Invalid(_))), "{err:?}");
    }

    #[test]
    fn happy_path_to_authorised() {
        let officer = staff(Role::MissionOfficer, 1);
        let head = staff(Role::MissionHead, 2);
        let mut c = case(State::Submitted);
        apply(&mut c, &Actor::System, &Command::BeginScreening).unwrap();
        apply(&mut c, &Actor::System, &Command::CompleteScreening { flags: vec![] }).unwrap();
        assert_eq!(c.state, State::MissionReview);
        apply(
            &mut c,
            &officer,
            &Command::ScheduleInterview { at: now() + chrono::Duration::days(1), place: "Embassy".into() },
        )
        .unwrap();
        apply(&mut c, &officer, &Command::RecordInterview { attended: true, notes: "ok".into() }).unwrap();
        apply(&mut c, &officer, &Command::Recommend { recommendation: Recommendation::Approve, reason: "fit".into() })
            .unwrap();
        apply(&mut c, &head, &Command::Approve { note: String::new() }).unwrap();
        let from = now().date_naive();
        apply(
            &mut c,
            &officer,
            &Command::Authorise { valid_from: from, valid_until: from + chrono::Duration::days(30) },
        )
        .unwrap();
        assert_eq!(c.state, State::Authorised);
    }

    #[test]
    fn four_eyes_holds_even_for_heads() {
        let head = staff(Role::MissionHead, 2);
        let mut c = case(State::Interviewed);
        apply(&mut c, &head, &Command::Recommend { recommendation: Recommendation::Approve, reason: "fit".into() })
            .unwrap();
        assert_eq!(apply(&mut c, &head, &Command::Approve { note: String::new() }), Err(DomainError::FourEyes));
        assert_eq!(apply(&mut c, &head, &Command::Reject { reason: "x".into() }), Err(DomainError::FourEyes));
        assert_eq!(c.state, State::Recommended);
        apply(&mut c, &staff(Role::MissionHead, 3), &Command::Approve { note: String::new() }).unwrap();
    }

    #[test]
    fn officers_cannot_decide_and_other_missions_cannot_touch() {
        let mut c = case(State::Recommended);
        c.recommended_by = Some(StaffId::from_random([7; 16]));
        c.recommendation = Some(Recommendation::Approve);
        assert_eq!(
            apply(&mut c, &staff(Role::MissionOfficer, 1), &Command::Approve { note: String::new() }),
            Err(DomainError::Forbidden)
        );
        let foreign = Actor::Staff(StaffActor {
            id: StaffId::from_random([5; 16]),
            role: Role::MissionHead,
            mission: Some(MissionId::parse("us-washington").unwrap()),
        });
        assert_eq!(apply(&mut c, &foreign, &Command::Approve { note: String::new() }), Err(DomainError::OutOfScope));
        assert_eq!(
            apply(&mut c, &staff(Role::Admin, 6), &Command::Approve { note: String::new() }),
            Err(DomainError::Forbidden)
        );
    }

    #[test]
    fn illegal_transitions_are_typed() {
        let mut c = case(State::MissionReview);
        let e = apply(
            &mut c,
            &staff(Role::MissionOfficer, 1),
            &Command::RecordInterview { attended: true, notes: "n".into() },
        );
        assert_eq!(e, Err(DomainError::IllegalTransition { state: State::MissionReview, command: "record_interview" }));
        let mut done = case(State::Withdrawn);
        let me = Actor::Applicant(done.id);
        assert!(matches!(
            apply(&mut done, &me, &Command::Withdraw { reason: None }),
            Err(DomainError::IllegalTransition { .. })
        ));
    }

    #[test]
    fn applicants_act_only_on_their_own_case() {
        let mut c = case(State::InfoRequested);
        let other = Actor::Applicant(ApplicationId::from_random([1; 16]));
        assert_eq!(apply(&mut c, &other, &Command::AnswerInfo { answer: "a".into() }), Err(DomainError::OutOfScope));
        let me = Actor::Applicant(c.id);
        apply(&mut c, &me, &Command::AnswerInfo { answer: "a".into() }).unwrap();
        assert_eq!(c.state, State::MissionReview);
    }

    fn any_command() -> impl Strategy<Value = Command> {
        let t = now();
        prop_oneof![
            Just(Command::BeginScreening),
            Just(Command::CompleteScreening { flags: vec![] }),
            Just(Command::CompleteScreening { flags: vec![Flag::underage(17, 18, "2022-03-01")] }),
            Just(Command::Rescreen { flags: vec![Flag::underage(17, 18, "2022-03-01")] }),
            Just(Command::ClearVetting { reason: "r".into() }),
            Just(Command::ConfirmVetting { reason: "r".into() }),
            Just(Command::RequestInfo { message: "m".into() }),
            Just(Command::AnswerInfo { answer: "a".into() }),
            Just(Command::ScheduleInterview { at: t + chrono::Duration::days(2), place: "p".into() }),
            any::<bool>().prop_map(|attended| Command::RecordInterview { attended, notes: "n".into() }),
            prop_oneof![Just(Recommendation::Approve), Just(Recommendation::Reject)]
                .prop_map(|recommendation| Command::Recommend { recommendation, reason: "r".into() }),
            Just(Command::Approve { note: String::new() }),
            Just(Command::Reject { reason: "r".into() }),
            Just(Command::ReturnToReview { reason: "r".into() }),
            Just(Command::Authorise {
                valid_from: t.date_naive(),
                valid_until: t.date_naive() + chrono::Duration::days(10)
            }),
            Just(Command::Revoke { reason: "r".into() }),
            Just(Command::RecordCrossing { point: "Medyka".into() }),
            Just(Command::Reissue {
                valid_from: t.date_naive(),
                valid_until: t.date_naive() + chrono::Duration::days(10),
                reason: "lost".into()
            }),
            Just(Command::Withdraw { reason: None }),
        ]
    }

    fn any_actor(case_id: ApplicationId) -> impl Strategy<Value = Actor> {
        prop_oneof![
            Just(Actor::System),
            Just(Actor::Applicant(case_id)),
            (0usize..Role::ALL.len(), 1u8..4).prop_map(|(r, n)| staff(Role::ALL[r], n)),
        ]
    }

    proptest! {
        /// Random command sequences never break the invariants: terminal states stay
        /// terminal, approval always follows a recommendation by someone else, and
        /// every refused command leaves the case unchanged.
        #[test]
        fn random_walks_keep_invariants(steps in proptest::collection::vec((any_actor(ApplicationId::from_random([9; 16])), any_command()), 1..60)) {
            let mut c = case(State::Submitted);
            for (actor, cmd) in steps {
                let before = c.clone();
                #[allow(clippy::single_match_else)]
                match decide(&c, &actor, &cmd, &policy(), now()) {
                    Ok(t) => {
                        prop_assert!(!before.state.is_terminal(), "left terminal state {}", before.state);
                        prop_assert_eq!(t.from, before.state);
                        if t.to == State::CrossedBorder {
                            let Actor::Staff(s) = &actor else { panic!("non-staff recorded a crossing") };
                            prop_assert_eq!(s.role, Role::BorderOfficer);
                            prop_assert_eq!(before.state, State::Authorised);
                        }
                        if t.to == State::Approved {
                            let Actor::Staff(s) = &actor else { panic!("non-staff approved") };
                            prop_assert_eq!(s.role, Role::MissionHead);
                            prop_assert!(before.recommended_by.is_some() && before.recommended_by != Some(s.id));
                            prop_assert_eq!(before.recommendation, Some(Recommendation::Approve));
                        }
                        if t.to == State::Withdrawn {
                            prop_assert!(matches!(actor, Actor::Applicant(_)));
                        }
                        c.state = t.to;
                        c.recommended_by = t.recommendation.map(|r| r.0);
                        c.recommendation = t.recommendation.map(|r| r.1);
                    }
                    Err(_) => prop_assert_eq!(&c, &before),
                }
            }
        }
    }
}
