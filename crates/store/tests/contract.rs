//! The `Store` contract: one suite, run against `SQLite` (a fresh temporary file per test) and
//! `PostgreSQL` (a fresh database per test on the server `LEGION_TEST_PG_URL` names).

#[macro_use]
mod support;

use std::sync::Arc;

use legion_domain::lifecycle::decide;
use legion_domain::{Actor, ApplicationId, Command, PolicySet, Recommendation, Role, StaffId, State, Username};
use legion_store::{
    ApplicationRecord, AuditEvent, Keys, NewApplication, NewStaff, PgStore, QueueQuery, QueueSort, Scope, SqliteStore,
    Store, StoreError, TransitionWrite,
};
use sqlx::{Connection, Executor};
use support::*;
use uuid::Uuid;

contract!(
    an_idempotency_key_records_one_application_only,
    migrate_twice_is_harmless,
    missions_are_put_and_listed,
    staff_accounts,
    sessions_expire_and_end_with_the_account,
    applications_are_found_by_id_or_reference_with_the_access_hash,
    duplicate_reference_writes_nothing,
    scope_is_enforced_by_the_queries,
    transitions_update_state_version_history_and_flags,
    stale_version_conflicts_and_writes_nothing,
    failed_audit_append_fails_the_change,
    audit_rows_cannot_be_changed_or_deleted,
    cases_pages_sorts_filters_and_counts,
    cases_go_on_after_the_last_of_a_page,
    pending_screening_is_oldest_first,
    passport_matches_skip_self_and_withdrawn,
    screening_keys_find_applications_sharing_enough_of_them,
    state_counts_group_by_mission_and_state,
    audit_events_are_ordered_without_gaps,
    recent_audit_events_are_counted_per_object,
    concurrent_writers_keep_the_log_contiguous,
    concurrent_decisions_on_one_case_conflict,
    a_read_only_store_reads_and_refuses_every_write,
    a_batch_of_submissions_commits_together_and_fails_one_by_one,
    a_batch_of_transitions_commits_together_and_fails_one_by_one,
    a_queue_larger_than_the_count_limit_is_counted_as_more,
);

// ---------------------------------------------------------------------------------------
// The contract
// ---------------------------------------------------------------------------------------

async fn migrate_twice_is_harmless(db: &Db) {
    db.store().migrate().await.unwrap();
    db.store().migrate().await.unwrap();
    db.store().ping().await.unwrap();
    put_missions(db).await;
    db.store().migrate().await.unwrap();
    assert_eq!(db.store().missions().await.unwrap().len(), 2);
}

async fn missions_are_put_and_listed(db: &Db) {
    put_missions(db).await;
    let ids: Vec<_> = db.store().missions().await.unwrap().into_iter().map(|m| m.id.to_string()).collect();
    assert_eq!(ids, ["gb-london", "pl-warsaw"]);

    let mut changed = mission("pl-warsaw", &["PL"]);
    changed.name = "Embassy of Ukraine in Poland".into();
    changed.regional = true;
    db.store().put_mission(&changed, &audit("mission.put", "mission:pl-warsaw")).await.unwrap();
    let missions = db.store().missions().await.unwrap();
    assert_eq!(missions.len(), 2);
    assert_eq!(missions[1], changed);
    assert_eq!(missions[0], mission("gb-london", &["GB"]));
    assert_eq!(audit_count(db).await, 3);
}

async fn staff_accounts(db: &Db) {
    put_missions(db).await;
    let officer = create_staff(db, "olena.k", Role::MissionOfficer, Some("pl-warsaw")).await;
    let admin = create_staff(db, "admin", Role::Admin, None).await;
    let before = audit_count(db).await;

    let dup = NewStaff {
        id: StaffId(Uuid::new_v4()),
        username: Username::parse("olena.k").unwrap(),
        display_name: "Someone else".into(),
        password_hash: "x".into(),
        role: Role::Auditor,
        mission: None,
        created_at: t(1),
    };
    match db.store().create_staff(&dup, &audit("staff.create", "staff:dup")).await {
        Err(StoreError::Duplicate(name)) => assert_eq!(name, "username"),
        other => panic!("expected Duplicate(username), got {other:?}"),
    }
    assert_eq!(audit_count(db).await, before);

    let unknown_mission =
        NewStaff { username: Username::parse("nobody").unwrap(), mission: Some(mid("xx-nowhere")), ..dup };
    assert!(matches!(
        db.store().create_staff(&unknown_mission, &audit("staff.create", "staff:x")).await,
        Err(StoreError::NotFound)
    ));

    let rec = db.store().staff_by_username(&Username::parse("olena.k").unwrap()).await.unwrap().unwrap();
    assert_eq!(rec.id, officer.id);
    assert_eq!(rec.role, Role::MissionOfficer);
    assert_eq!(rec.mission, Some(mid("pl-warsaw")));
    assert_eq!(rec.display_name, "Staff olena.k");
    assert_eq!(rec.created_at, t(0));
    assert!(!rec.disabled);
    assert_eq!(db.store().staff_by_id(admin.id).await.unwrap().unwrap().mission, None);
    assert!(db.store().staff_by_id(StaffId(Uuid::new_v4())).await.unwrap().is_none());
    assert!(db.store().staff_by_username(&Username::parse("ghost").unwrap()).await.unwrap().is_none());

    let names: Vec<_> = db.store().list_staff().await.unwrap().into_iter().map(|s| s.username.to_string()).collect();
    assert_eq!(names, ["admin", "olena.k"]);
}

async fn sessions_expire_and_end_with_the_account(db: &Db) {
    let staff = create_staff(db, "vetter", Role::VettingOfficer, None).await;
    let name = Username::parse("vetter").unwrap();
    let s = db.store();
    s.create_session("hash-1", staff.id, t(60), &audit("session.sign_in", "staff:x")).await.unwrap();
    assert_eq!(s.session_staff("hash-1", t(10)).await.unwrap().unwrap().id, staff.id);
    assert!(s.session_staff("hash-1", t(60)).await.unwrap().is_none(), "expired at expires_at");
    assert!(s.session_staff("hash-1", t(61)).await.unwrap().is_none());
    assert!(s.session_staff("other", t(10)).await.unwrap().is_none());
    // A later sign-in sweeps expired sessions out of the table.
    s.create_session("hash-0", staff.id, t(600), &AuditEvent { at: t(90), ..audit("session.sign_in", "staff:x") })
        .await
        .unwrap();
    assert!(s.session_staff("hash-1", t(10)).await.unwrap().is_none(), "hash-1 expired at 60 and was removed at 90");
    assert!(s.session_staff("hash-0", t(100)).await.unwrap().is_some());

    s.create_session("hash-2", staff.id, t(600), &audit("session.sign_in", "staff:x")).await.unwrap();
    s.set_staff_disabled(&name, true, &audit("staff.disable", "staff:x")).await.unwrap();
    assert!(s.staff_by_id(staff.id).await.unwrap().unwrap().disabled);
    assert!(s.session_staff("hash-2", t(10)).await.unwrap().is_none());
    s.set_staff_disabled(&name, false, &audit("staff.enable", "staff:x")).await.unwrap();
    assert!(s.session_staff("hash-2", t(10)).await.unwrap().is_none(), "disabling deleted the session");

    // A session of an account disabled some other way still does not count.
    s.create_session("hash-3", staff.id, t(600), &audit("session.sign_in", "staff:x")).await.unwrap();
    assert!(s.session_staff("hash-3", t(10)).await.unwrap().is_some());
    db.raw_execute("UPDATE staff SET disabled = TRUE").await.unwrap();
    assert!(s.session_staff("hash-3", t(10)).await.unwrap().is_none());
    db.raw_execute("UPDATE staff SET disabled = FALSE").await.unwrap();

    s.delete_session("hash-3", &audit("session.sign_out", "staff:x")).await.unwrap();
    assert!(s.session_staff("hash-3", t(10)).await.unwrap().is_none());

    assert!(matches!(
        s.set_staff_disabled(&Username::parse("ghost").unwrap(), true, &audit("staff.disable", "staff:ghost")).await,
        Err(StoreError::NotFound)
    ));
    // sign-in ×4, disable, enable, sign-out; nothing for the unknown account.
    assert_eq!(audit_count(db).await, 1 + 7);
}

async fn applications_are_found_by_id_or_reference_with_the_access_hash(db: &Db) {
    put_missions(db).await;
    let app = submit(db, "gb-london", 0, "pidx").await;
    let s = db.store();

    let rec = s.application_for_applicant(app.id, &app.access_hash).await.unwrap().expect("right hash");
    assert_eq!(rec.id, app.id);
    assert_eq!(rec.reference, app.reference);
    assert_eq!(rec.mission, app.mission);
    assert_eq!(rec.state, State::Submitted);
    assert_eq!(rec.version, 1);
    assert_eq!(rec.details, app.details);
    assert_eq!(rec.submitted_at, app.submitted_at);
    assert_eq!(rec.updated_at, app.submitted_at);
    assert_eq!(rec.policy_version, "2024-05-18");
    assert_eq!(rec.recommended_by, None);
    assert_eq!(rec.recommendation, None);
    assert!(rec.flags.is_empty());

    assert!(s.application_for_applicant(app.id, "wrong").await.unwrap().is_none());
    assert!(s.application_for_applicant(ApplicationId(Uuid::new_v4()), &app.access_hash).await.unwrap().is_none());
    assert_eq!(s.application_by_reference(&app.reference, &app.access_hash).await.unwrap(), Some(rec));
    assert!(s.application_by_reference(&app.reference, "wrong").await.unwrap().is_none());

    let history = s.history(app.id, &Scope::All).await.unwrap();
    assert_eq!(history.len(), 1);
    let first = &history[0];
    assert_eq!((first.seq, first.at), (1, app.submitted_at));
    assert_eq!(
        (first.actor.as_str(), first.actor_role.as_str(), first.command.as_str()),
        ("applicant", "applicant", "submit")
    );
    assert_eq!((first.from_state, first.to_state), (State::Submitted, State::Submitted));
    assert_eq!(first.policy_version, "2024-05-18");

    let events = s.audit_events(0, 10).await.unwrap();
    assert_eq!(events.last().unwrap().event.action, "application.submit");
}

async fn duplicate_reference_writes_nothing(db: &Db) {
    put_missions(db).await;
    let first = submit(db, "gb-london", 0, "p1").await;
    let before = audit_count(db).await;
    // Same mission: its data key exists, so the only write attempted is the application.
    let again = NewApplication { reference: first.reference.clone(), ..new_app("gb-london", 1, "p2") };
    match db.store().insert_application(&again, &audit("application.submit", "application:again")).await {
        Err(StoreError::Duplicate(name)) => assert_eq!(name, "reference"),
        other => panic!("expected Duplicate(reference), got {other:?}"),
    }
    assert_eq!(audit_count(db).await, before);
    assert!(db.store().case(again.id, &Scope::All).await.unwrap().is_none());
    assert!(db.store().history(again.id, &Scope::All).await.unwrap().is_empty());
    assert_eq!(db.store().cases(&Scope::All, &query(None, QueueSort::SubmittedAsc, 0, 50)).await.unwrap().total, 1);

    // An unknown mission is refused the same way: nothing written.
    let orphan = new_app("xx-nowhere", 2, "p3");
    assert!(matches!(
        db.store().insert_application(&orphan, &audit("application.submit", "application:orphan")).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(audit_count(db).await, before);
}

async fn scope_is_enforced_by_the_queries(db: &Db) {
    put_missions(db).await;
    let a = submit(db, "pl-warsaw", 0, "p1").await;
    let (mine, other) = (Scope::Mission(mid("pl-warsaw")), Scope::Mission(mid("gb-london")));
    let all = query(None, QueueSort::SubmittedAsc, 0, 50);
    let s = db.store();

    assert!(s.case(a.id, &other).await.unwrap().is_none());
    assert_eq!(s.cases(&other, &all).await.unwrap().total, 0);
    assert!(s.cases(&other, &all).await.unwrap().items.is_empty());
    assert!(s.history(a.id, &other).await.unwrap().is_empty());

    assert_eq!(s.case(a.id, &mine).await.unwrap().unwrap().id, a.id);
    assert_eq!(s.cases(&mine, &all).await.unwrap().total, 1);
    assert_eq!(s.history(a.id, &mine).await.unwrap().len(), 1);

    assert!(s.case(a.id, &Scope::VettingHold).await.unwrap().is_none());
    assert!(s.history(a.id, &Scope::VettingHold).await.unwrap().is_empty());
    let held = submit(db, "gb-london", 1, "p2").await;
    to_vetting_hold(db, held.id).await;
    let reviewed = submit(db, "gb-london", 2, "p3").await;
    to_mission_review(db, reviewed.id).await;

    let page = s.cases(&Scope::VettingHold, &all).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].id, held.id);
    assert_eq!(s.case(held.id, &Scope::VettingHold).await.unwrap().unwrap().state, State::VettingHold);
    assert_eq!(s.history(held.id, &Scope::VettingHold).await.unwrap().len(), 3);
    assert!(s.case(reviewed.id, &Scope::VettingHold).await.unwrap().is_none());
    assert!(s.case(held.id, &mine).await.unwrap().is_none());
    assert_eq!(s.cases(&Scope::All, &all).await.unwrap().total, 3);
}

async fn transitions_update_state_version_history_and_flags(db: &Db) {
    put_missions(db).await;
    let officer = Actor::Staff(create_staff(db, "officer", Role::MissionOfficer, Some("gb-london")).await);
    let app = submit(db, "gb-london", 0, "p1").await;

    assert_eq!(act(db, app.id, &Actor::System, &Command::BeginScreening, 1).await.unwrap(), 2);
    assert_eq!(load(db, app.id).await.state, State::Screening);
    let flags = vec![hit()];
    assert_eq!(
        act(db, app.id, &Actor::System, &Command::CompleteScreening { flags: flags.clone() }, 2).await.unwrap(),
        3
    );
    let rec = load(db, app.id).await;
    assert_eq!((rec.state, rec.version, rec.updated_at), (State::VettingHold, 3, t(2)));
    assert_eq!(rec.flags, flags);

    let vetter = Actor::Staff(create_staff(db, "vetter", Role::VettingOfficer, None).await);
    act(db, app.id, &vetter, &Command::ClearVetting { reason: "different person".into() }, 3).await.unwrap();
    let reject = Command::Recommend { recommendation: Recommendation::Reject, reason: "not suitable".into() };
    assert_eq!(act(db, app.id, &officer, &reject, 4).await.unwrap(), 5);

    let rec = load(db, app.id).await;
    assert_eq!((rec.state, rec.version), (State::Recommended, 5));
    let Actor::Staff(officer_actor) = &officer else { unreachable!() };
    assert_eq!(rec.recommended_by, Some(officer_actor.id));
    assert_eq!(rec.recommendation, Some(Recommendation::Reject));
    assert_eq!(rec.flags, flags, "flags stay when a transition brings none");
    assert_eq!(rec.policy_version, "2024-05-18");

    let history = db.store().history(app.id, &Scope::All).await.unwrap();
    let steps: Vec<_> = history.iter().map(|h| (h.seq, h.command.as_str(), h.from_state, h.to_state)).collect();
    assert_eq!(
        steps,
        [
            (1, "submit", State::Submitted, State::Submitted),
            (2, "begin_screening", State::Submitted, State::Screening),
            (3, "complete_screening", State::Screening, State::VettingHold),
            (4, "clear_vetting", State::VettingHold, State::MissionReview),
            (5, "recommend", State::MissionReview, State::Recommended),
        ]
    );
    assert_eq!((history[1].actor.as_str(), history[1].actor_role.as_str()), ("system", "system"));
    assert_eq!(history[4].actor, officer_actor.id.to_string());
    assert_eq!(history[4].actor_role, "mission_officer");
    assert_eq!(history[4].at, t(4));
    assert_eq!(history[4].details["recommendation"], "reject");
    assert_eq!(history[3].details["reason"], "different person");

    // Returning to review clears the standing recommendation.
    let head = Actor::Staff(create_staff(db, "head", Role::MissionHead, Some("gb-london")).await);
    act(db, app.id, &head, &Command::ReturnToReview { reason: "look again".into() }, 5).await.unwrap();
    let rec = load(db, app.id).await;
    assert_eq!((rec.state, rec.recommended_by, rec.recommendation), (State::MissionReview, None, None));
}

async fn stale_version_conflicts_and_writes_nothing(db: &Db) {
    put_missions(db).await;
    let app = submit(db, "gb-london", 0, "p1").await;
    let stale = load(db, app.id).await;
    act(db, app.id, &Actor::System, &Command::BeginScreening, 1).await.unwrap();
    let audits = audit_count(db).await;

    let policy = PolicySet::builtin().in_force(today()).unwrap().clone();
    let transition = decide(&stale.status(), &Actor::System, &Command::BeginScreening, &policy, t(2)).unwrap();
    let write = TransitionWrite {
        id: app.id,
        expected_version: stale.version,
        transition: &transition,
        actor: &Actor::System,
        at: t(2),
        flags: Some(&[]),
        credential: None,
        screening_keys: None,
    };
    let result = db.store().apply_transition(&write, &audit("case.begin_screening", "application:x")).await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    let rec = load(db, app.id).await;
    assert_eq!((rec.state, rec.version, rec.updated_at), (State::Screening, 2, t(1)));
    assert_eq!(db.store().history(app.id, &Scope::All).await.unwrap().len(), 2);
    assert_eq!(audit_count(db).await, audits);

    let missing = TransitionWrite { id: ApplicationId(Uuid::new_v4()), ..write };
    let result = db.store().apply_transition(&missing, &audit("case.begin_screening", "application:y")).await;
    assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    assert_eq!(audit_count(db).await, audits);
}

async fn failed_audit_append_fails_the_change(db: &Db) {
    put_missions(db).await;
    let app = submit(db, "gb-london", 0, "p1").await;
    let audits = audit_count(db).await;

    let rec = load(db, app.id).await;
    let policy = PolicySet::builtin().in_force(today()).unwrap().clone();
    let transition = decide(&rec.status(), &Actor::System, &Command::BeginScreening, &policy, t(1)).unwrap();
    let write = TransitionWrite {
        id: app.id,
        expected_version: rec.version,
        transition: &transition,
        actor: &Actor::System,
        at: t(1),
        flags: None,
        credential: None,
        screening_keys: None,
    };
    let result = db.store().apply_transition(&write, &audit("", "application:x")).await;
    assert!(result.is_err(), "an audit event with an empty action must be refused");
    let after = load(db, app.id).await;
    assert_eq!(after, rec);
    assert_eq!(db.store().history(app.id, &Scope::All).await.unwrap().len(), 1);
    assert_eq!(audit_count(db).await, audits);

    // The same for every kind of write.
    let bad = audit("", "x");
    let other = new_app("gb-london", 3, "p2");
    assert!(db.store().insert_application(&other, &bad).await.is_err());
    assert!(db.store().case(other.id, &Scope::All).await.unwrap().is_none());
    assert!(db.store().history(other.id, &Scope::All).await.unwrap().is_empty());
    assert!(db.store().put_mission(&mission("de-berlin", &["DE"]), &bad).await.is_err());
    assert_eq!(db.store().missions().await.unwrap().len(), 2);
    assert!(db.store().append_audit(&AuditEvent { outcome: "maybe".into(), ..audit("a", "b") }).await.is_err());
    assert_eq!(audit_count(db).await, audits);

    // The transaction was rolled back, not left open: the next write goes through.
    act(db, app.id, &Actor::System, &Command::BeginScreening, 2).await.unwrap();
    assert_eq!(audit_count(db).await, audits + 1);
}

async fn audit_rows_cannot_be_changed_or_deleted(db: &Db) {
    db.store().append_audit(&audit("session.sign_in", "staff:1")).await.unwrap();
    let before = db.store().audit_events(0, 10).await.unwrap();
    assert_eq!(before.len(), 1);

    let update = db.raw_execute("UPDATE audit_events SET action = 'tampered'").await;
    assert!(update.as_ref().is_err_and(|e| e.contains("append-only")), "{update:?}");
    let delete = db.raw_execute("DELETE FROM audit_events").await;
    assert!(delete.as_ref().is_err_and(|e| e.contains("append-only")), "{delete:?}");
    if let Backend::Postgres { .. } = db.backend {
        let truncate = db.raw_execute("TRUNCATE audit_events").await;
        assert!(truncate.as_ref().is_err_and(|e| e.contains("append-only")), "{truncate:?}");
    }
    assert_eq!(db.store().audit_events(0, 10).await.unwrap(), before);
}

async fn cases_pages_sorts_filters_and_counts(db: &Db) {
    put_missions(db).await;
    let mut apps = Vec::new();
    for minute in [5, 1, 4, 2, 3] {
        apps.push(submit(db, "gb-london", minute, &format!("p{minute}")).await);
    }
    submit(db, "pl-warsaw", 0, "other").await;
    apps.sort_by_key(|a| a.submitted_at);
    let ids: Vec<_> = apps.iter().map(|a| a.id).collect();
    let london = Scope::Mission(mid("gb-london"));
    let s = db.store();
    let page_ids = |p: &legion_store::Page<ApplicationRecord>| p.items.iter().map(|r| r.id).collect::<Vec<_>>();

    let p1 = s.cases(&london, &query(None, QueueSort::SubmittedAsc, 0, 2)).await.unwrap();
    assert_eq!((page_ids(&p1), p1.total), (ids[0..2].to_vec(), 5));
    let p2 = s.cases(&london, &query(None, QueueSort::SubmittedAsc, 2, 2)).await.unwrap();
    assert_eq!((page_ids(&p2), p2.total), (ids[2..4].to_vec(), 5));
    let p3 = s.cases(&london, &query(None, QueueSort::SubmittedAsc, 4, 2)).await.unwrap();
    assert_eq!(page_ids(&p3), ids[4..].to_vec());
    let beyond = s.cases(&london, &query(None, QueueSort::SubmittedAsc, 10, 2)).await.unwrap();
    assert_eq!((beyond.items.len(), beyond.total), (0, 5));

    let desc = s.cases(&london, &query(None, QueueSort::SubmittedDesc, 0, 50)).await.unwrap();
    assert_eq!(page_ids(&desc), ids.iter().rev().copied().collect::<Vec<_>>());

    // The third-oldest changes last, so it leads the "recently changed" order.
    act(db, ids[2], &Actor::System, &Command::BeginScreening, 30).await.unwrap();
    let recent = s.cases(&london, &query(None, QueueSort::UpdatedDesc, 0, 50)).await.unwrap();
    assert_eq!(page_ids(&recent)[0], ids[2]);

    let submitted = s.cases(&london, &query(Some(State::Submitted), QueueSort::SubmittedAsc, 0, 50)).await.unwrap();
    assert_eq!(submitted.total, 4);
    assert!(!page_ids(&submitted).contains(&ids[2]));
    let screening = s.cases(&london, &query(Some(State::Screening), QueueSort::SubmittedAsc, 0, 50)).await.unwrap();
    assert_eq!((page_ids(&screening), screening.total), (vec![ids[2]], 1));

    let by_ref =
        QueueQuery { reference: Some(apps[3].reference.clone()), ..query(None, QueueSort::SubmittedAsc, 0, 50) };
    let found = s.cases(&london, &by_ref).await.unwrap();
    assert_eq!((page_ids(&found), found.total), (vec![ids[3]], 1));
    assert_eq!(s.cases(&Scope::Mission(mid("pl-warsaw")), &by_ref).await.unwrap().total, 0);

    let clamped = s.cases(&london, &query(None, QueueSort::SubmittedAsc, 0, 0)).await.unwrap();
    assert_eq!((clamped.items.len(), clamped.total), (1, 5));
    assert_eq!(s.cases(&Scope::All, &query(None, QueueSort::SubmittedAsc, 0, 1000)).await.unwrap().items.len(), 6);
}

async fn cases_go_on_after_the_last_of_a_page(db: &Db) {
    put_missions(db).await;
    // Three submitted in the same minute: the id orders them.
    for (minute, passport) in [(2, "b"), (1, "a"), (2, "c"), (3, "e"), (2, "d")] {
        submit(db, "gb-london", minute, passport).await;
    }
    submit(db, "pl-warsaw", 2, "other").await;
    let s = db.store();
    let london = Scope::Mission(mid("gb-london"));
    for sort in [QueueSort::SubmittedAsc, QueueSort::SubmittedDesc, QueueSort::UpdatedDesc] {
        let whole = s.cases(&london, &query(None, sort, 0, 50)).await.unwrap();
        let whole: Vec<_> = whole.items.iter().map(|r| r.id).collect();
        assert_eq!(whole.len(), 5);
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let page = s.cases(&london, &QueueQuery { after, ..query(None, sort, 0, 2) }).await.unwrap();
            assert_eq!(page.total, 5 - i64::try_from(walked.len()).unwrap(), "{sort:?}: counts the cases after it");
            let Some(last) = page.items.last() else { break };
            let at = if sort == QueueSort::UpdatedDesc { last.updated_at } else { last.submitted_at };
            after = Some((at, last.id));
            walked.extend(page.items.iter().map(|r| r.id));
        }
        assert_eq!(walked, whole, "{sort:?}: every case once, in order");
    }
}

async fn pending_screening_is_oldest_first(db: &Db) {
    put_missions(db).await;
    let late = submit(db, "gb-london", 3, "a").await;
    let early = submit(db, "pl-warsaw", 1, "b").await;
    let middle = submit(db, "gb-london", 2, "c").await;
    let picked = submit(db, "gb-london", 0, "d").await;
    act(db, picked.id, &Actor::System, &Command::BeginScreening, 5).await.unwrap();

    assert_eq!(db.store().pending_screening(10, t(0)).await.unwrap(), [early.id, middle.id, late.id]);
    assert_eq!(db.store().pending_screening(2, t(0)).await.unwrap(), [early.id, middle.id]);
    // A case left in `screening` since before the cut-off (its screener stopped) is due again.
    assert_eq!(db.store().pending_screening(10, t(5)).await.unwrap(), [early.id, middle.id, late.id]);
    assert_eq!(db.store().pending_screening(10, t(6)).await.unwrap(), [picked.id, early.id, middle.id, late.id]);
}

async fn passport_matches_skip_self_and_withdrawn(db: &Db) {
    put_missions(db).await;
    let a = submit(db, "gb-london", 0, "same").await;
    let b = submit(db, "pl-warsaw", 1, "same").await;
    let gone = submit(db, "gb-london", 2, "same").await;
    submit(db, "gb-london", 3, "different").await;
    act(db, gone.id, &Actor::Applicant(gone.id), &Command::Withdraw { reason: None }, 4).await.unwrap();

    let matches = db.store().passport_matches("same", a.id).await.unwrap();
    assert_eq!(matches.len(), 1);
    let m = &matches[0];
    assert_eq!((m.id, &m.reference, &m.mission, m.state), (b.id, &b.reference, &b.mission, State::Submitted));
    let from_b: Vec<_> = db.store().passport_matches("same", b.id).await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(from_b, [a.id]);
    assert!(db.store().passport_matches("unknown", a.id).await.unwrap().is_empty());
}

async fn screening_keys_find_applications_sharing_enough_of_them(db: &Db) {
    put_missions(db).await;
    let s = db.store();
    let a = submit(db, "gb-london", 0, "a").await;
    let b = submit(db, "pl-warsaw", 1, "b").await;
    let c = submit(db, "gb-london", 2, "c").await;
    let gone = submit(db, "gb-london", 3, "d").await;
    s.put_screening_keys(&[(a.id, vec![1, 2, 3]), (b.id, vec![1, 2, 9]), (c.id, vec![3, 7]), (gone.id, vec![1, 2, 3])])
        .await
        .unwrap();
    act(db, gone.id, &Actor::Applicant(gone.id), &Command::Withdraw { reason: None }, 4).await.unwrap();
    // Most shared first; never itself; withdrawn cases are not candidates.
    assert_eq!(s.screening_candidates(&[1, 2, 3], a.id, 1, 10).await.unwrap(), [b.id, c.id]);
    assert_eq!(s.screening_candidates(&[1, 2, 3], a.id, 2, 10).await.unwrap(), [b.id]);
    assert_eq!(s.screening_candidates(&[1, 2, 3], a.id, 1, 1).await.unwrap(), [b.id]);
    assert!(s.screening_candidates(&[], a.id, 1, 10).await.unwrap().is_empty());
    // Writing keys again replaces them (and writing the same twice is harmless).
    s.put_screening_keys(&[(b.id, vec![9, 10]), (b.id, vec![9, 10])]).await.unwrap();
    assert_eq!(s.screening_candidates(&[1, 2, 3], a.id, 1, 10).await.unwrap(), [c.id]);
    // Destroyed data leaves no keys behind.
    s.shred_mission(&c.mission, &audit("mission.shred", "mission:gb-london")).await.unwrap();
    assert!(s.screening_candidates(&[3, 7], b.id, 1, 10).await.unwrap().is_empty());
    assert_eq!(s.screening_candidates(&[9], a.id, 1, 10).await.unwrap(), [b.id]);
}

async fn state_counts_group_by_mission_and_state(db: &Db) {
    put_missions(db).await;
    submit(db, "gb-london", 0, "a").await;
    submit(db, "gb-london", 1, "b").await;
    let c = submit(db, "gb-london", 2, "c").await;
    submit(db, "pl-warsaw", 3, "d").await;
    act(db, c.id, &Actor::System, &Command::BeginScreening, 5).await.unwrap();

    let counts: Vec<_> = db
        .store()
        .state_counts()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.mission.to_string(), c.state, c.count))
        .collect();
    assert_eq!(
        counts,
        [
            ("gb-london".to_owned(), State::Screening, 1),
            ("gb-london".to_owned(), State::Submitted, 2),
            ("pl-warsaw".to_owned(), State::Submitted, 1),
        ]
    );
}

async fn audit_events_are_ordered_without_gaps(db: &Db) {
    let s = db.store();
    for i in 1..=3 {
        s.append_audit(&AuditEvent { at: t(i), ..audit("case.read", &format!("application:{i}")) }).await.unwrap();
    }
    // A refused append must not use up a number.
    assert!(s.append_audit(&audit("", "application:bad")).await.is_err());
    s.append_audit(&AuditEvent {
        at: t(4),
        actor: "anonymous".into(),
        role: "anonymous".into(),
        mission: Some("gb-london".into()),
        action: "session.sign_in".into(),
        object: "route:POST /api/v1/sessions".into(),
        outcome: "denied".into(),
    })
    .await
    .unwrap();

    let all = s.audit_events(0, 100).await.unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(all[0].event, AuditEvent { at: t(1), ..audit("case.read", "application:1") });
    assert_eq!(all[3].event.mission.as_deref(), Some("gb-london"));
    assert_eq!(all[3].event.outcome, "denied");

    let after = s.audit_events(1, 2).await.unwrap();
    assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);
    assert!(s.audit_events(4, 10).await.unwrap().is_empty());
}

async fn recent_audit_events_are_counted_per_object(db: &Db) {
    let s = db.store();
    let denied = |minute: i64, object: &str| AuditEvent {
        at: t(minute),
        outcome: "denied".into(),
        ..audit("session.sign_in", object)
    };
    for m in [0, 5, 10, 14] {
        s.append_audit(&denied(m, "staff:a")).await.unwrap();
    }
    s.append_audit(&denied(12, "staff:b")).await.unwrap();
    s.append_audit(&AuditEvent { at: t(13), ..audit("session.sign_in", "staff:a") }).await.unwrap();
    let count = |since| s.count_recent_audit("session.sign_in", "staff:a", "denied", since);
    assert_eq!(count(t(0)).await.unwrap(), 4);
    assert_eq!(count(t(10)).await.unwrap(), 2, "the window includes its start");
    assert_eq!(count(t(15)).await.unwrap(), 0);
    assert_eq!(s.count_recent_audit("session.sign_in", "staff:b", "denied", t(0)).await.unwrap(), 1);
    assert_eq!(s.count_recent_audit("session.sign_in", "staff:a", "ok", t(0)).await.unwrap(), 1);
}

async fn concurrent_writers_keep_the_log_contiguous(db: &Db) {
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let store = Arc::clone(&db.store);
            tokio::spawn(async move {
                for i in 0..5 {
                    let event = audit("case.read", &format!("application:{task}-{i}"));
                    store.append_audit(&event).await.unwrap();
                    // Failures in between must not leave holes either.
                    assert!(store.append_audit(&audit("", "x")).await.is_err());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let seqs: Vec<_> = db.store().audit_events(0, 1000).await.unwrap().into_iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
}

async fn concurrent_decisions_on_one_case_conflict(db: &Db) {
    put_missions(db).await;
    let app = submit(db, "gb-london", 0, "p1").await;
    let rec = load(db, app.id).await;
    let policy = PolicySet::builtin().in_force(today()).unwrap().clone();
    let transition = decide(&rec.status(), &Actor::System, &Command::BeginScreening, &policy, t(1)).unwrap();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (store, transition) = (Arc::clone(&db.store), transition.clone());
            tokio::spawn(async move {
                let write = TransitionWrite {
                    id: app.id,
                    expected_version: 1,
                    transition: &transition,
                    actor: &Actor::System,
                    at: t(1),
                    flags: None,
                    credential: None,
                    screening_keys: None,
                };
                store.apply_transition(&write, &audit("case.begin_screening", "application:x")).await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(version) => {
                assert_eq!(version, 2);
                won += 1;
            }
            Err(StoreError::Conflict) => {}
            Err(other) => panic!("expected Conflict, got {other:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(db.store().history(app.id, &Scope::All).await.unwrap().len(), 2);
    assert_eq!(load(db, app.id).await.version, 2);
}

// ---------------------------------------------------------------------------------------
// What only one backend can show
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_url_schemes_are_refused() {
    for url in ["mysql://localhost/legion", "legion.db", "file:legion.db"] {
        assert!(
            matches!(legion_store::open(url, Arc::new(Keys::ephemeral())).await, Err(StoreError::Config(_))),
            "{url}"
        );
    }
}

#[tokio::test]
async fn sqlite_refuses_a_file_that_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    let text = "these are not the tables you are looking for\n".repeat(200);
    std::fs::write(&path, &text).unwrap();
    match SqliteStore::open(&format!("sqlite://{}", path.display()), Arc::new(Keys::ephemeral())).await {
        Err(StoreError::Config(message)) => {
            assert!(message.starts_with(&format!("{} is not a SQLite database", path.display())), "{message}");
        }
        other => panic!("expected Config, got {:?}", other.map(|_| "a store")),
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "the file is left as it was");
}

#[tokio::test]
async fn sqlite_creates_missing_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/legion.db");
    let store = SqliteStore::open(&format!("sqlite:{}", path.display()), Arc::new(Keys::ephemeral())).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    assert!(path.is_file());
    let mut raw = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display())).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut raw).await.unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn sqlite_in_memory_works_with_one_connection() {
    let store = SqliteStore::open("sqlite::memory:", Arc::new(Keys::ephemeral())).await.unwrap();
    store.migrate().await.unwrap();
    store.put_mission(&mission("gb-london", &["GB"]), &audit("mission.put", "mission:gb-london")).await.unwrap();
    assert_eq!(store.missions().await.unwrap().len(), 1);
}

#[tokio::test]
async fn postgres_refuses_synchronous_commit_off() {
    let (admin_url, name, url) = Db::create_pg_database().await;
    let mut admin = pg_admin(&admin_url).await;
    admin.execute(sqlx::AssertSqlSafe(format!("ALTER DATABASE {name} SET synchronous_commit = off"))).await.unwrap();
    admin.close().await.ok();
    let result = PgStore::open(&url, Arc::new(Keys::ephemeral())).await.map(|s| s.backend());
    drop_pg_database(admin_url, name);
    match result {
        Err(StoreError::Config(message)) => assert!(message.contains("synchronous_commit"), "{message}"),
        other => panic!("expected Config, got {other:?}"),
    }
}

#[tokio::test]
async fn postgres_reports_a_missing_database_as_config() {
    let url = with_database(&pg_admin_url(), &format!("legion_missing_{}", Uuid::new_v4().simple()));
    pg_admin(&pg_admin_url()).await.close().await.ok();
    assert!(matches!(PgStore::open(&url, Arc::new(Keys::ephemeral())).await, Err(StoreError::Config(_))));
}

async fn a_read_only_store_reads_and_refuses_every_write(db: &Db) {
    put_missions(db).await;
    let events = db.store().audit_events(0, 1000).await.unwrap();
    let reader = legion_store::open_read_only(&db.url, Arc::clone(&db.keys)).await.unwrap();
    assert_eq!(reader.audit_events(0, 1000).await.unwrap(), events);
    let err = reader.append_audit(&audit("probe", "read-only")).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_) | StoreError::Internal(_)), "{err:?}");
    let err = reader.put_mission(&mission("ua-kyiv", &[]), &audit("mission.put", "mission:ua-kyiv")).await;
    assert!(err.is_err(), "a read-only store wrote a mission");
    assert_eq!(db.store().audit_events(0, 1000).await.unwrap(), events, "nothing was written");
    if db.url.starts_with("sqlite:") {
        let missing = db.url.replace("legion.db", "missing.db");
        assert!(legion_store::open_read_only(&missing, Arc::clone(&db.keys)).await.is_err(), "no file is created");
        assert!(!std::path::Path::new(missing.trim_start_matches("sqlite://")).exists());
    }
}

async fn an_idempotency_key_records_one_application_only(db: &Db) {
    put_missions(db).await;
    let key = legion_store::IdempotencyKey { key_hash: "kh-1".into(), request_hash: "rh-1".into() };
    let first = NewApplication { idempotency: Some(key.clone()), ..new_app("gb-london", 0, "p1") };
    let submit = |a: &NewApplication| audit("application.submit", &format!("application:{}", a.id));
    db.store().insert_application(&first, &submit(&first)).await.unwrap();
    let found = db.store().idempotent_submission("kh-1").await.unwrap().expect("recorded");
    assert_eq!(
        (found.id, found.reference, found.mission, found.request_hash),
        (first.id, first.reference.clone(), first.mission.clone(), "rh-1".to_owned())
    );
    assert!(db.store().idempotent_submission("kh-2").await.unwrap().is_none());

    // A second application with the same key writes nothing at all.
    let before = audit_count(db).await;
    let second = NewApplication { idempotency: Some(key), ..new_app("gb-london", 1, "p2") };
    match db.store().insert_application(&second, &submit(&second)).await {
        Err(StoreError::Duplicate(name)) => assert_eq!(name, "idempotency_key"),
        other => panic!("expected Duplicate(idempotency_key), got {other:?}"),
    }
    assert!(db.store().case(second.id, &Scope::All).await.unwrap().is_none());
    assert_eq!(audit_count(db).await, before);
}

fn submissions(apps: Vec<NewApplication>) -> Vec<(NewApplication, AuditEvent)> {
    apps.into_iter()
        .map(|a| {
            let e = audit("application.submit", &format!("application:{}", a.id));
            (a, e)
        })
        .collect()
}

async fn log_verifies(db: &Db) {
    let signer = legion_audit::CheckpointSigner::from_seed("legion.test/batch", &[3; 32]).unwrap();
    legion_store::verify_audit_log(db.store(), &signer.verifier(), "legion.test/batch", Vec::new())
        .await
        .expect("the audit log verifies");
}

async fn a_batch_of_submissions_commits_together_and_fails_one_by_one(db: &Db) {
    put_missions(db).await;
    let taken = submit(db, "gb-london", 0, "p0").await;
    let key = legion_store::IdempotencyKey { key_hash: "kh-batch".into(), request_hash: "rh".into() };
    let a = new_app("gb-london", 1, "p1");
    let clash = NewApplication { reference: taken.reference.clone(), ..new_app("pl-warsaw", 1, "p2") };
    let orphan = new_app("xx-nowhere", 1, "p3");
    let keyed = NewApplication { idempotency: Some(key.clone()), ..new_app("pl-warsaw", 2, "p4") };
    let same_key = NewApplication { idempotency: Some(key), ..new_app("gb-london", 2, "p5") };
    let b = new_app("pl-warsaw", 3, "p6");
    let batch = submissions(vec![a.clone(), clash.clone(), orphan.clone(), keyed.clone(), same_key.clone(), b.clone()]);
    let submitted_before = db.store().audit_events(0, 1000).await.unwrap().len();

    let results = db.store().insert_applications(&batch).await.unwrap();
    assert!(
        matches!(
            &results[..],
            [Ok(()), Err(StoreError::Duplicate(r)), Err(StoreError::NotFound), Ok(()), Err(StoreError::Duplicate(k)), Ok(())]
                if r == "reference" && k == "idempotency_key"
        ),
        "{results:?}"
    );
    for stored in [&a, &keyed, &b] {
        let rec = load(db, stored.id).await;
        assert_eq!((rec.reference.clone(), rec.state), (stored.reference.clone(), State::Submitted));
        assert_eq!(db.store().history(stored.id, &Scope::All).await.unwrap().len(), 1);
    }
    for refused in [&clash, &orphan, &same_key] {
        assert!(db.store().case(refused.id, &Scope::All).await.unwrap().is_none());
        assert!(db.store().history(refused.id, &Scope::All).await.unwrap().is_empty());
    }
    assert_eq!(db.store().idempotent_submission("kh-batch").await.unwrap().unwrap().id, keyed.id);
    // One audit event per stored submission (and one for the warsaw mission's first data key),
    // none for the refused ones, and the chain unbroken across the undone ones.
    let events = db.store().audit_events(0, 1000).await.unwrap();
    let submits: Vec<_> = events[submitted_before..]
        .iter()
        .filter(|e| e.event.action == "application.submit")
        .map(|e| e.event.object.clone())
        .collect();
    assert_eq!(submits, [a.id, keyed.id, b.id].map(|id| format!("application:{id}")));

    // A batch with nothing taken is written in a few multi-row statements: the same rows.
    let key = legion_store::IdempotencyKey { key_hash: "kh-clean".into(), request_hash: "rh".into() };
    let clean = vec![
        new_app("pl-warsaw", 4, "p7"),
        NewApplication { idempotency: Some(key), ..new_app("gb-london", 4, "p8") },
        new_app("xx-nowhere", 4, "p9"),
        new_app("gb-london", 5, "p10"),
    ];
    let results = db.store().insert_applications(&submissions(clean.clone())).await.unwrap();
    assert!(matches!(&results[..], [Ok(()), Ok(()), Err(StoreError::NotFound), Ok(())]), "{results:?}");
    for (i, stored) in clean.iter().enumerate().filter(|(i, _)| *i != 2) {
        let rec = load(db, stored.id).await;
        assert_eq!((rec.details.clone(), rec.state, rec.version), (stored.details.clone(), State::Submitted, 1), "{i}");
        assert_eq!(db.store().history(stored.id, &Scope::All).await.unwrap().len(), 1);
    }
    assert_eq!(db.store().idempotent_submission("kh-clean").await.unwrap().unwrap().id, clean[1].id);
    log_verifies(db).await;
    assert!(db.store().insert_applications(&[]).await.unwrap().is_empty());
}

/// `BeginScreening` of each case, decided at minute `minute`.
fn begin_screening(records: &[ApplicationRecord], minute: i64) -> Vec<legion_domain::Transition> {
    let policy = PolicySet::builtin().in_force(today()).unwrap().clone();
    records
        .iter()
        .map(|r| decide(&r.status(), &Actor::System, &Command::BeginScreening, &policy, t(minute)).unwrap())
        .collect()
}

fn begin_screening_writes<'a>(
    records: &[ApplicationRecord],
    transitions: &'a [legion_domain::Transition],
    minute: i64,
) -> Vec<(TransitionWrite<'a>, AuditEvent)> {
    records
        .iter()
        .zip(transitions)
        .map(|(r, tr)| {
            let write = TransitionWrite {
                id: r.id,
                expected_version: r.version,
                transition: tr,
                actor: &Actor::System,
                at: t(minute),
                flags: None,
                credential: None,
                // The same blind keys for every case: each claimed case finds the others.
                screening_keys: Some(&[11, 12, 13]),
            };
            (write, audit("case.begin_screening", &format!("application:{}", r.id)))
        })
        .collect()
}

async fn a_batch_of_transitions_commits_together_and_fails_one_by_one(db: &Db) {
    put_missions(db).await;
    let apps = [
        submit(db, "gb-london", 0, "p1").await,
        submit(db, "pl-warsaw", 1, "p2").await,
        submit(db, "gb-london", 2, "p3").await,
    ];
    let records: Vec<ApplicationRecord> = {
        let mut v = Vec::new();
        for a in &apps {
            v.push(load(db, a.id).await);
        }
        v
    };
    // The second case moves on meanwhile: its write in the batch is stale.
    act(db, apps[1].id, &Actor::System, &Command::BeginScreening, 3).await.unwrap();
    let transitions = begin_screening(&records, 4);
    let missing = ApplicationId(Uuid::new_v4());
    let mut batch = begin_screening_writes(&records, &transitions, 4);
    let gone = TransitionWrite { id: missing, ..batch[0].0.clone() };
    batch.push((gone, audit("case.begin_screening", "application:missing")));
    let audits = audit_count(db).await;

    // A claim (background work) writes its batch in a few statements, a person's decisions
    // one by one: both answer each write on its own.
    for locking in [legion_store::Locking::SkipLocked, legion_store::Locking::Wait] {
        let results = db.store().apply_transitions(&batch, locking).await.unwrap();
        match locking {
            legion_store::Locking::SkipLocked => assert!(
                matches!(&results[..], [Ok(2), Err(StoreError::Conflict), Ok(2), Err(StoreError::NotFound)]),
                "{results:?}"
            ),
            // Sent again, every write is stale now.
            legion_store::Locking::Wait => assert!(
                matches!(
                    &results[..],
                    [
                        Err(StoreError::Conflict),
                        Err(StoreError::Conflict),
                        Err(StoreError::Conflict),
                        Err(StoreError::NotFound)
                    ]
                ),
                "{results:?}"
            ),
        }
    }
    assert_eq!(audit_count(db).await, audits + 2);
    // The claimed cases' keys were stored with their claims; the stale write's were not.
    let found = db.store().screening_candidates(&[11, 12, 13], apps[0].id, 3, 10).await.unwrap();
    assert_eq!(found, vec![apps[2].id]);
    for (a, minute) in [(&apps[0], 4), (&apps[1], 3), (&apps[2], 4)] {
        let rec = load(db, a.id).await;
        assert_eq!((rec.state, rec.version, rec.updated_at), (State::Screening, 2, t(minute)));
        assert_eq!(db.store().history(a.id, &Scope::All).await.unwrap().len(), 2);
    }
    log_verifies(db).await;
}

/// On PostgreSQL several servers share the database: a claim skips a case another
/// transaction holds, where a person's decision waits for it.
#[tokio::test]
async fn postgres_claims_skip_cases_another_server_holds() {
    let db = Db::postgres().await;
    put_missions(&db).await;
    let held = submit(&db, "gb-london", 0, "p1").await;
    let free = submit(&db, "gb-london", 1, "p2").await;
    let records = [load(&db, held.id).await, load(&db, free.id).await];
    let transitions = begin_screening(&records, 2);
    let batch = begin_screening_writes(&records, &transitions, 2);

    // Another server's transaction holds the first case.
    let mut other = sqlx::PgConnection::connect(&db.url).await.unwrap();
    other.execute("BEGIN").await.unwrap();
    other
        .execute(sqlx::AssertSqlSafe(format!("SELECT id FROM applications WHERE id = '{}' FOR UPDATE", held.id)))
        .await
        .unwrap();
    let results = db.store().apply_transitions(&batch, legion_store::Locking::SkipLocked).await.unwrap();
    assert!(matches!(&results[..], [Err(StoreError::Conflict), Ok(2)]), "{results:?}");
    assert_eq!(load(&db, held.id).await.state, State::Submitted);
    assert_eq!(load(&db, free.id).await.state, State::Screening);

    // Released, the case is claimed by the next pass.
    other.execute("ROLLBACK").await.unwrap();
    let results = db.store().apply_transitions(&batch[..1], legion_store::Locking::SkipLocked).await.unwrap();
    assert!(matches!(&results[..], [Ok(2)]), "{results:?}");
}

async fn a_queue_larger_than_the_count_limit_is_counted_as_more(db: &Db) {
    put_missions(db).await;
    let limit = usize::try_from(legion_store::COUNT_LIMIT).unwrap();
    let mut first = None;
    for start in (0..=limit).step_by(1000) {
        let apps: Vec<_> = (start..=limit.min(start + 999))
            .map(|i| new_app("gb-london", i64::try_from(i).unwrap(), &format!("p{i}")))
            .collect();
        first.get_or_insert(apps[0].id);
        let results = db.store().insert_applications(&submissions(apps)).await.unwrap();
        assert!(results.iter().all(Result::is_ok));
    }
    let london = Scope::Mission(mid("gb-london"));
    let page = db.store().cases(&london, &query(None, QueueSort::SubmittedAsc, 0, 50)).await.unwrap();
    assert_eq!(page.total, legion_store::COUNT_LIMIT + 1, "counted as more than the limit");
    assert_eq!((page.items.len(), page.items[0].id), (50, first.unwrap()), "the oldest first");
    let deep = db.store().cases(&london, &query(None, QueueSort::SubmittedAsc, 10_000, 50)).await.unwrap();
    assert_eq!(deep.items.len(), 1, "the last page holds the one case past the limit");
    // A small queue is counted exactly.
    let small = query(None, QueueSort::SubmittedAsc, 0, 50);
    assert_eq!(db.store().cases(&Scope::Mission(mid("pl-warsaw")), &small).await.unwrap().total, 0);
}
