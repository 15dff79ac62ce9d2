//! Black-box tests of the JSON API against the real server, on SQLite and PostgreSQL.

use crate::common::{self, Backend, TestApp, application};
use serde_json::{Value, json};

on_both_backends!(
    submit_and_read_own_case,
    invalid_input_is_refused_field_by_field_and_stores_nothing,
    routing_follows_residence,
    full_lifecycle_with_four_eyes,
    other_missions_cannot_see_a_case,
    screening_holds_and_vetting_clears,
    duplicate_passports_are_held,
    applicant_answers_and_withdraws,
    staff_find_cases_by_email_or_passport_within_their_scope,
    a_submission_sent_again_with_its_idempotency_key_answers_as_the_first,
    many_submissions_at_once_are_each_stored_answered_and_screened,
    the_application_form_files_one_application_however_often_it_is_sent,
);

async fn audit_count(app: &TestApp) -> usize {
    app.state.store.audit_events(0, 100_000).await.unwrap().len()
}

async fn case_count(app: &TestApp) -> i64 {
    app.state.store.state_counts().await.unwrap().iter().map(|c| c.count).sum()
}

async fn submit_and_read_own_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = app.submit(&application("GB", "123456789")).await;
    let id = s["id"].as_str().unwrap();
    let code = s["access_code"].as_str().unwrap();
    let reference = s["reference"].as_str().unwrap();
    assert_eq!(s["mission"], "gb-london");
    assert!(code.len() >= 26, "access code carries at least 128 bits");
    assert!(reference.starts_with("LG-") && reference.len() == 12, "{reference}");

    let c = TestApp::client();
    let url = format!("{}/api/v1/applications/{id}", app.base);
    let r = c.get(&url).bearer_auth(code).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["reference"], reference);
    assert!(["submitted", "screening", "mission_review"].contains(&v["status"].as_str().unwrap()));

    // Wrong code, another case's id, and a malformed id all look the same.
    assert_eq!(c.get(&url).bearer_auth("WRONGCODE").send().await.unwrap().status(), 404);
    let other = app.submit(&application("GB", "987654321")).await;
    let r = c
        .get(format!("{}/api/v1/applications/{}", app.base, other["id"].as_str().unwrap()))
        .bearer_auth(code)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        c.get(format!("{}/api/v1/applications/nope", app.base)).bearer_auth(code).send().await.unwrap().status(),
        404
    );
    assert_eq!(c.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(app.screened(id, code).await, "mission_review");
}

async fn invalid_input_is_refused_field_by_field_and_stores_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = (audit_count(&app).await, case_count(&app).await);
    let mut bad = application("GB", "12");
    bad["date_of_birth"] = json!("31/12/1990");
    bad["nationality"] = json!("ZZ");
    bad["email"] = json!("nobody");
    bad["travel"]["departure_city"] = json!("");
    bad["declarations"]["consent_background_check"] = json!(false);
    bad["surprise"] = json!(true);
    let c = TestApp::client();
    let r = c.post(format!("{}/api/v1/applications", app.base)).json(&bad).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "validation");
    let fields: Vec<&str> = v["fields"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        [
            "date_of_birth",
            "declarations.consent_background_check",
            "email",
            "nationality",
            "passport_number",
            "surprise",
            "travel.departure_city"
        ]
    );
    assert!(v["fields"].as_object().unwrap().values().all(|m| m.as_str().is_some_and(|s| !s.is_empty())));

    let r = c
        .post(format!("{}/api/v1/applications", app.base))
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c.post(format!("{}/api/v1/applications", app.base)).body("given_names=x").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let huge = json!({"given_names": "x".repeat(300_000)});
    let r = c.post(format!("{}/api/v1/applications", app.base)).json(&huge).send().await.unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!((audit_count(&app).await, case_count(&app).await), before, "refused input changed nothing");
}

async fn routing_follows_residence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.submit(&application("US", "US1234567")).await["mission"], "us-washington");
    assert_eq!(app.submit(&application("IE", "IE1234567")).await["mission"], "gb-london");
    // No mission covers Brazil: the regional mission takes it.
    assert_eq!(app.submit(&application("BR", "BR1234567")).await["mission"], "pl-warsaw");
}

pub(crate) async fn post(c: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let r = c.post(url).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn full_lifecycle_with_four_eyes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = app.submit(&application("GB", "GB7654321")).await;
    let (id, code) = (s["id"].as_str().unwrap(), s["access_code"].as_str().unwrap());
    assert_eq!(app.screened(id, code).await, "mission_review");
    let officer = app.signed_in("officer.gb").await;
    let head = app.signed_in("head.gb").await;
    let head2 = app.signed_in("head2.gb").await;
    let case = |a: &str| format!("{}/api/v1/cases/{id}/{a}", app.base);

    // Recording an interview before one is scheduled is an illegal transition.
    let (st, v) = post(&officer, case("record-interview"), json!({"attended": true, "notes": "x"})).await;
    assert_eq!(st, 409, "{v}");
    let at = (app.state.clock.now() + chrono::Duration::days(2)).to_rfc3339();
    let (st, v) = post(&officer, case("schedule-interview"), json!({"at": at, "place": "Embassy, room 4"})).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("interview_scheduled")));
    let (st, _) = post(&officer, case("record-interview"), json!({"attended": true, "notes": "Solid."})).await;
    assert_eq!(st, 200);
    // Officers cannot decide at all.
    let (st, _) = post(&officer, case("approve"), json!({})).await;
    assert_eq!(st, 403);
    // A head recommends; the same head may not approve it; another head may.
    let (st, _) = post(&head, case("recommend"), json!({"recommendation": "approve", "reason": "Experienced."})).await;
    assert_eq!(st, 200);
    let (st, v) = post(&head, case("approve"), json!({"note": "mine"})).await;
    assert_eq!(st, 403, "{v}");
    assert!(v["message"].as_str().unwrap().contains("four eyes"));
    let (st, v) = post(&head2, case("approve"), json!({"note": "Agreed."})).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("approved")));
    let today = app.state.clock.now().date_naive();
    let (st, v) = post(
        &officer,
        case("authorise"),
        json!({"valid_from": today, "valid_until": today + chrono::Duration::days(30)}),
    )
    .await;
    assert_eq!((st, v["state"].as_str()), (200, Some("authorised")), "{v}");
    let policy_versions: Vec<&str> =
        v["history"].as_array().unwrap().iter().map(|h| h["policy_version"].as_str().unwrap()).collect();
    assert!(policy_versions.iter().all(|p| *p == "2024-05-18"), "every decision stores its policy version");

    let (_, r) = app.applicant_json(id, code, "").await;
    assert_eq!(r["status"], "authorised");
    assert_eq!(r["entry_window"]["valid_until"], json!((today + chrono::Duration::days(30)).to_string()));
    let counts = app.state.store.state_counts().await.unwrap();
    assert!(
        counts
            .iter()
            .any(|c| c.mission.as_str() == "gb-london" && c.state == legion_domain::State::Authorised && c.count == 1)
    );
}

async fn other_missions_cannot_see_a_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = app.submit(&application("GB", "GB1111111")).await;
    let id = s["id"].as_str().unwrap();
    app.screened(id, s["access_code"].as_str().unwrap()).await;
    let us = app.signed_in("officer.us").await;
    assert_eq!(us.get(format!("{}/api/v1/cases/{id}", app.base)).send().await.unwrap().status(), 404);
    let q: Value = us.get(format!("{}/api/v1/cases", app.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(q["total"], 0);
    let (st, _) = post(&us, format!("{}/api/v1/cases/{id}/request-info", app.base), json!({"message": "?"})).await;
    assert_eq!(st, 404);
    let gb = app.signed_in("officer.gb").await;
    let q: Value =
        gb.get(format!("{}/api/v1/cases?state=mission_review", app.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(q["total"], 1);
    assert_eq!(q["items"][0]["id"], id);
    let r = gb.get(format!("{}/api/v1/cases?state=bogus&sort=sideways", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 422);
    // The denied read is in the audit log, without personal data.
    let events = app.state.store.audit_events(0, 10_000).await.unwrap();
    assert!(events.iter().any(|e| e.event.action == "case.read" && e.event.outcome == "denied"));
}

async fn screening_holds_and_vetting_clears(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut young = application("GB", "GB2222222");
    let dob = app.state.clock.now().date_naive() - chrono::Duration::days(17 * 365);
    young["date_of_birth"] = json!(dob.to_string());
    young["military_experience"] = json!([]);
    let s = app.submit(&young).await;
    let (id, code) = (s["id"].as_str().unwrap(), s["access_code"].as_str().unwrap());
    assert_eq!(app.screened(id, code).await, "vetting_hold");
    let vetting = app.signed_in("vetting").await;
    let v: Value = vetting.get(format!("{}/api/v1/vetting/{id}", app.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["flags"][0]["kind"], "age");
    assert!(v.get("passport_number").is_none() && v.get("email").is_none(), "screening data only");
    // Vetting officers have no access to full case files.
    assert_eq!(vetting.get(format!("{}/api/v1/cases/{id}", app.base)).send().await.unwrap().status(), 403);
    let (st, _) = post(&vetting, format!("{}/api/v1/vetting/{id}/clear", app.base), json!({"reason": ""})).await;
    assert_eq!(st, 422);
    let (st, v) = post(
        &vetting,
        format!("{}/api/v1/vetting/{id}/clear", app.base),
        json!({"reason": "Birth date typo confirmed with passport."}),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["state"], "mission_review");
    // Once cleared the case leaves the vetting scope.
    assert_eq!(vetting.get(format!("{}/api/v1/vetting/{id}", app.base)).send().await.unwrap().status(), 404);
}

async fn duplicate_passports_are_held(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = app.submit(&application("GB", "GB3333333")).await;
    assert_eq!(app.screened(a["id"].as_str().unwrap(), a["access_code"].as_str().unwrap()).await, "mission_review");
    let mut again = application("US", "gb 333 3333");
    again["nationality"] = json!("GB");
    let b = app.submit(&again).await;
    assert_eq!(b["mission"], "us-washington");
    assert_eq!(app.screened(b["id"].as_str().unwrap(), b["access_code"].as_str().unwrap()).await, "vetting_hold");
    let vetting = app.signed_in("vetting").await;
    let v: Value = vetting
        .get(format!("{}/api/v1/vetting/{}", app.base, b["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["flags"][0]["kind"], "duplicate_passport");
    assert_eq!(v["flags"][0]["basis"], a["reference"]);
}

async fn applicant_answers_and_withdraws(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = app.submit(&application("GB", "GB4444444")).await;
    let (id, code) = (s["id"].as_str().unwrap(), s["access_code"].as_str().unwrap());
    app.screened(id, code).await;
    let officer = app.signed_in("officer.gb").await;
    let (st, _) = post(
        &officer,
        format!("{}/api/v1/cases/{id}/request-info", app.base),
        json!({"message": "Send your discharge papers."}),
    )
    .await;
    assert_eq!(st, 200);
    let c = TestApp::client();
    let v: Value = c
        .get(format!("{}/api/v1/applications/{id}", app.base))
        .bearer_auth(code)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["requests"][0]["message"], "Send your discharge papers.");
    assert_eq!(v["requests"][0]["open"], true);
    let r = c
        .post(format!("{}/api/v1/applications/{id}/answer", app.base))
        .bearer_auth("nope")
        .json(&json!({"answer": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = c
        .post(format!("{}/api/v1/applications/{id}/answer", app.base))
        .bearer_auth(code)
        .json(&json!({"answer": "Uploaded."}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "mission_review");
    assert_eq!(v["requests"][0]["open"], false);
    let r = c
        .post(format!("{}/api/v1/applications/{id}/withdraw", app.base))
        .bearer_auth(code)
        .json(&json!({"reason": "Plans changed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(format!("{}/api/v1/applications/{id}/withdraw", app.base))
        .bearer_auth(code)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
}

#[tokio::test]
async fn health_readiness_metrics() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = TestApp::client();
    assert_eq!(c.get(format!("{}/healthz", app.base)).send().await.unwrap().status(), 200);
    assert_eq!(c.get(format!("{}/readyz", app.base)).send().await.unwrap().status(), 200);
    app.submit(&application("GB", "GB5555555")).await;
    let m = c.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(m.contains("legion_http_requests_total"), "{m}");
    assert!(m.contains("legion_applications_submitted_total"));
    assert!(!m.contains("Kowalski"), "no personal data in metrics");
    let r = c.get(format!("{}/", app.base)).send().await.unwrap();
    let h = r.headers();
    assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store", "pages with personal data are not cached");
}

#[tokio::test]
async fn sessions_sign_in_out_and_disable() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = TestApp::client();
    let r = c
        .post(format!("{}/api/v1/session", app.base))
        .json(&json!({"username": "officer.gb", "password": "wrong password!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(format!("{}/api/v1/session", app.base))
        .json(&json!({"username": "officer.gb", "password": common::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let me: Value = c.get(format!("{}/api/v1/session", app.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["role"], "mission_officer");
    assert_eq!(me["mission"], "gb-london");
    // Cross-site writes are refused even with a valid session.
    let r = c
        .post(format!("{}/api/v1/cases/{}/request-info", app.base, uuid_like()))
        .header("origin", "https://evil.example")
        .json(&json!({"message": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let admin = app.signed_in("admin").await;
    assert_eq!(admin.post(format!("{}/api/v1/staff/officer.gb/disable", app.base)).send().await.unwrap().status(), 204);
    assert_eq!(
        c.get(format!("{}/api/v1/session", app.base)).send().await.unwrap().status(),
        401,
        "disabling ends sessions"
    );
    let events = app.state.store.audit_events(0, 10_000).await.unwrap();
    assert!(events.iter().any(|e| e.event.action == "session.sign_in" && e.event.outcome == "denied"));
    assert!(events.iter().all(|e| !e.event.object.contains("officer.gb")), "audit keeps ids, not names");
    let r = admin.delete(format!("{}/api/v1/session", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(admin.get(format!("{}/api/v1/session", app.base)).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_throttled() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let c = TestApp::client();
    let attempt = |user: &'static str, password: &'static str| {
        let c = c.clone();
        let url = format!("{}/api/v1/session", app.base);
        async move { c.post(url).json(&json!({"username": user, "password": password})).send().await.unwrap().status() }
    };
    for _ in 0..legion_web::auth::MAX_FAILED_SIGN_INS {
        assert_eq!(attempt("head.gb", "not the password").await, 403);
    }
    // Now even the right password is refused for a while, with a reason and a retry hint.
    let r = c
        .post(format!("{}/api/v1/session", app.base))
        .json(&json!({"username": "head.gb", "password": common::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "900");
    // Other accounts are unaffected; unknown names are throttled like known ones.
    assert_eq!(attempt("head2.gb", common::PASSWORD).await, 200);
    for _ in 0..legion_web::auth::MAX_FAILED_SIGN_INS {
        assert_eq!(attempt("nobody.here", "x").await, 403);
    }
    assert_eq!(attempt("nobody.here", "x").await, 429);
    let events = app.state.store.audit_events(0, 10_000).await.unwrap();
    assert!(events.iter().any(|e| e.event.action == "session.sign_in_throttled"));
    assert!(events.iter().filter(|e| e.event.outcome != "ok").all(|e| e.event.actor == "anonymous"));
}

fn uuid_like() -> &'static str {
    "00000000-0000-4000-8000-000000000000"
}

#[tokio::test]
async fn admin_manages_staff_and_missions() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let admin = app.signed_in("admin").await;
    let (st, v) = post(
        &admin,
        format!("{}/api/v1/staff", app.base),
        json!({"username": "x", "display_name": "", "password": "short", "role": "mission_officer"}),
    )
    .await;
    assert_eq!(st, 422);
    for f in ["username", "display_name", "password", "mission"] {
        assert!(v["fields"][f].is_string(), "{f}: {v}");
    }
    let (st, _) = post(&admin, format!("{}/api/v1/staff", app.base), json!({"username": "officer2.gb", "display_name": "Second officer", "password": "a long enough password", "role": "mission_officer", "mission": "gb-london"})).await;
    assert_eq!(st, 201);
    let (st, _) = post(&admin, format!("{}/api/v1/staff", app.base), json!({"username": "officer2.gb", "display_name": "Again", "password": "a long enough password", "role": "auditor"})).await;
    assert_eq!(st, 409);
    let list: Value = admin.get(format!("{}/api/v1/staff", app.base)).send().await.unwrap().json().await.unwrap();
    assert!(list.as_array().unwrap().iter().all(|s| s.get("password_hash").is_none()));
    let (st, _) = post(&admin, format!("{}/api/v1/missions", app.base), json!({"id": "fr-paris", "name": "Embassy of Ukraine in France", "country": "FR", "covers": ["FR", "BE"], "regional": false})).await;
    assert_eq!(st, 200);
    assert_eq!(app.submit(&application("BE", "BE1234567")).await["mission"], "fr-paris");
}

async fn staff_find_cases_by_email_or_passport_within_their_scope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut first = application("GB", "GB5550001");
    first["email"] = json!("Anna.Nowak@Example.org");
    let a = app.submit(&first).await;
    let mut second = application("GB", "GB5550002");
    second["email"] = json!("someone.else@example.org");
    let b = app.submit(&second).await;
    let mut abroad = application("US", "US5550003");
    abroad["email"] = json!("anna.nowak@example.org");
    app.submit(&abroad).await;

    let gb = app.signed_in("officer.gb").await;
    let url = format!("{}/api/v1/cases/lookup", app.base);
    // Exact, whatever the case and surrounding spaces; the US case is out of scope.
    let (st, q) = post(&gb, url.clone(), json!({"email": " anna.nowak@EXAMPLE.org "})).await;
    assert_eq!((st, q["total"].clone()), (200, json!(1)), "{q}");
    assert_eq!(q["items"][0]["id"], a["id"]);
    let (_, q) = post(&gb, url.clone(), json!({"passport": "GB5550002", "nationality": "gb"})).await;
    assert_eq!((q["total"].clone(), q["items"][0]["id"].clone()), (json!(1), b["id"].clone()));
    // The same number under another nationality is another passport.
    let (_, q) = post(&gb, url.clone(), json!({"passport": "GB5550002", "nationality": "IE"})).await;
    assert_eq!(q["total"], 0);
    let (_, q) = post(&gb, url.clone(), json!({"email": "nobody@example.org"})).await;
    assert_eq!(q["total"], 0);
    // A number alone cannot be looked up, a bad country is named, and an empty lookup is not
    // the whole queue.
    let (st, body) = post(&gb, url.clone(), json!({"passport": "GB5550002"})).await;
    assert_eq!(st, 422);
    assert!(body["fields"].get("nationality").is_some(), "{body}");
    let (st, body) = post(&gb, url.clone(), json!({"passport": "GB5550002", "nationality": "XX"})).await;
    assert_eq!(st, 422);
    assert!(body["fields"].get("nationality").is_some(), "{body}");
    let (st, _) = post(&gb, url.clone(), json!({})).await;
    assert_eq!(st, 422);
    let (st, _) = post(&gb, url.clone(), json!({"email": "a@b.c", "name": "Anna"})).await;
    assert_eq!(st, 422, "unknown fields are refused");
    // The US mission finds its own case by the same address.
    let us = app.signed_in("officer.us").await;
    let (_, q) = post(&us, url, json!({"email": "anna.nowak@example.org"})).await;
    assert_eq!(q["total"], 1);
    assert_ne!(q["items"][0]["id"], a["id"]);

    // The page: posted, so the address never appears in a URL.
    let page = gb
        .post(format!("{}/staff/queue/find", app.base))
        .header("Origin", &app.base)
        .form(&[("email", "anna.nowak@example.org"), ("passport", ""), ("nationality", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(a["reference"].as_str().unwrap()), "the case is listed");
    assert!(!html.contains(b["reference"].as_str().unwrap()), "only that applicant's cases");
    let bad = gb
        .post(format!("{}/staff/queue/find", app.base))
        .header("Origin", &app.base)
        .form(&[("email", ""), ("passport", "GB5550002"), ("nationality", "XX")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}

async fn a_submission_sent_again_with_its_idempotency_key_answers_as_the_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let url = format!("{}/api/v1/applications", app.base);
    let send = |key: &'static str, body: Value| {
        let url = url.clone();
        async move {
            let r = TestApp::client().post(url).header("Idempotency-Key", key).json(&body).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let body = application("GB", "GB7770001");
    let key = "5b0c2f8e-4d7a-4c36-9a51-2f6f0d3c8e11";
    let (st, first) = send(key, body.clone()).await;
    assert_eq!(st, 201, "{first}");
    let events_after_first = audit_count(&app).await;
    let (st, again) = send(key, body.clone()).await;
    assert_eq!(st, 201);
    assert_eq!(again, first, "the same answer, access code included");
    assert_eq!(case_count(&app).await, 1);
    let code = first["access_code"].as_str().unwrap();
    let r = TestApp::client()
        .get(format!("{}/api/v1/applications/{}", app.base, first["id"].as_str().unwrap()))
        .bearer_auth(code)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the repeated answer's code opens the case");

    // The key with another request is refused, and stores nothing.
    let (st, body2) = send(key, application("GB", "GB7770002")).await;
    assert_eq!(st, 409, "{body2}");
    // So is the key with a request that would fail on its own: the key is taken either way.
    let (st, body3) = send(key, serde_json::json!({ "surname": "" })).await;
    assert_eq!(st, 409, "{body3}");
    // A malformed key is refused before anything is read.
    let (st, _) = send("short", application("GB", "GB7770003")).await;
    assert_eq!(st, 400);
    assert_eq!(case_count(&app).await, 1);

    // Many copies of one request at once: one application, every answer the same.
    let key2 = "0e9d1c33-78b4-4f0a-b1d2-8a6f3e5c2d90";
    let copies: Vec<_> = (0..8).map(|_| tokio::spawn(send(key2, application("GB", "GB7770004")))).collect();
    let mut answers = Vec::new();
    for c in copies {
        answers.push(c.await.unwrap());
    }
    assert!(answers.iter().all(|(st, _)| *st == 201), "{answers:?}");
    assert!(answers.iter().all(|(_, a)| a == &answers[0].1));
    assert_eq!(case_count(&app).await, 2);

    // Each application was submitted once in the audit log; replays record nothing.
    let submits = app
        .state
        .store
        .audit_events(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.action == "application.submit")
        .count();
    assert_eq!(submits, 2);
    assert!(audit_count(&app).await > events_after_first, "the second application was audited");
}

async fn many_submissions_at_once_are_each_stored_answered_and_screened(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let url = format!("{}/api/v1/applications", app.base);
    // A duplicate passport among them (0 and 46): screening in batches still finds it.
    let sends: Vec<_> = (0..48)
        .map(|i| {
            let url = url.clone();
            let passport = if i == 46 { "GB6000000".to_owned() } else { format!("GB6{i:06}") };
            tokio::spawn(async move {
                let r = TestApp::client()
                    .post(url)
                    .header("Idempotency-Key", format!("many-at-once-{i:04}-0123456789"))
                    .json(&application(if i % 2 == 0 { "GB" } else { "PL" }, &passport))
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for s in sends {
        answers.push(s.await.unwrap());
    }
    assert!(answers.iter().all(|(st, _)| *st == 201), "{answers:?}");
    let ids: std::collections::BTreeSet<_> =
        answers.iter().map(|(_, a)| a["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 48);
    assert_eq!(case_count(&app).await, 48);
    let mut states = Vec::new();
    for (_, a) in &answers {
        let id = a["id"].as_str().unwrap();
        app.screened(id, a["access_code"].as_str().unwrap()).await;
        let case = app.state.store.case(legion_domain::ApplicationId::parse(id).unwrap(), &legion_store::Scope::All);
        states.push(case.await.unwrap().unwrap().state.as_str());
    }
    let (duplicates, others): (Vec<_>, Vec<_>) = states.iter().enumerate().partition(|(i, _)| *i == 0 || *i == 46);
    assert!(others.iter().all(|(_, s)| **s == "mission_review"), "{states:?}");
    // The later of the two is held, whichever batch it was screened in (both, when screened together).
    assert!(duplicates.iter().any(|(_, s)| **s == "vetting_hold"), "{states:?}");
}

async fn the_application_form_files_one_application_however_often_it_is_sent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let form_page = TestApp::client().get(format!("{}/", app.base)).send().await.unwrap().text().await.unwrap();
    let marker = "name=\"submission_key\" value=\"";
    let start = form_page.find(marker).expect("the form carries its key") + marker.len();
    let key = form_page[start..start + 32].to_owned();
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
    let fields = [
        ("submission_key", key.as_str()),
        ("given_names", "Jan"),
        ("family_name", "Kowalski"),
        ("date_of_birth", "1988-06-15"),
        ("nationality", "GB"),
        ("country_of_residence", "GB"),
        ("passport_number", "GB8880001"),
        ("passport_expiry", "2031-01-01"),
        ("email", "jan.kowalski@example.org"),
        ("languages", "English"),
        ("travel.departure_country", "PL"),
        ("travel.departure_city", "Rzeszów"),
        ("travel.earliest_date", "2031-01-01"),
        ("declarations.no_criminal_record", "on"),
        ("declarations.consent_background_check", "on"),
    ];
    let mut pages = Vec::new();
    for _ in 0..2 {
        let r = TestApp::client().post(format!("{}/apply", app.base)).form(&fields).send().await.unwrap();
        assert_eq!(r.status(), 200);
        pages.push(r.text().await.unwrap());
    }
    assert_eq!(case_count(&app).await, 1);
    let stored = app
        .state
        .store
        .cases(&legion_store::Scope::All, &legion_store::QueueQuery { limit: 10, ..Default::default() })
        .await
        .unwrap();
    let reference = stored.items[0].reference.to_string();
    assert!(pages.iter().all(|p| p.contains(&reference)), "both sends confirm the one application {reference}");
    // The same form sent back with other answers is not filed, and says why.
    let mut changed = fields.to_vec();
    changed[6] = ("passport_number", "GB8880002");
    let r = TestApp::client().post(format!("{}/apply", app.base)).form(&changed).send().await.unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("already sent"));
    assert_eq!(case_count(&app).await, 1);
    // Two separate fillings-in of the form are two applications.
    let other = TestApp::client().get(format!("{}/", app.base)).send().await.unwrap().text().await.unwrap();
    let start = other.find(marker).unwrap() + marker.len();
    assert_ne!(&other[start..start + 32], key.as_str());
}
