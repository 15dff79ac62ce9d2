//! Route × role: every route is called by an anonymous caller and by each role, and the
//! outcome must match this hand-written table. A route missing from the table fails the
//! test, so a new route cannot ship without its row.

use std::collections::BTreeMap;

use reqwest::Method;

use crate::common::{Backend, TestApp, application};

/// Callers, in column order.
const CALLERS: &[(&str, Option<&str>)] = &[
    ("anonymous", None),
    ("officer", Some("officer.gb")),
    ("head", Some("head.gb")),
    ("vetting", Some("vetting")),
    ("border", Some("border")),
    ("reception", Some("reception")),
    ("records", Some("records")),
    ("auditor", Some("auditor")),
    ("admin", Some("admin")),
];

/// Who may pass each route's guard: `*` everyone, `staff` every signed-in role, or a
/// space-separated list of callers. Applicant routes are open to anyone holding the
/// case's access code (the test sends it), so they are `*`.
const EXPECTED: &[(&str, &str, &str)] = &[
    ("GET", "/healthz", "*"),
    ("GET", "/readyz", "*"),
    ("GET", "/metrics", "*"),
    ("GET", "/api/openapi.json", "*"),
    ("POST", "/api/v1/applications", "*"),
    ("GET", "/api/v1/applications/{id}", "*"),
    ("POST", "/api/v1/applications/{id}/answer", "*"),
    ("POST", "/api/v1/applications/{id}/withdraw", "*"),
    ("GET", "/api/v1/applications/{id}/documents", "*"),
    ("POST", "/api/v1/applications/{id}/documents", "*"),
    ("GET", "/api/v1/applications/{id}/authorisation", "*"),
    ("GET", "/api/v1/applications/{id}/authorisation.png", "*"),
    ("GET", "/api/v1/credentials/trust-list", "*"),
    ("GET", "/api/v1/credentials/revocations", "*"),
    ("POST", "/api/v1/border/verify", "border"),
    ("POST", "/api/v1/border/crossings", "border"),
    ("POST", "/api/v1/session", "*"),
    ("GET", "/api/v1/session", "staff"),
    ("DELETE", "/api/v1/session", "staff"),
    ("GET", "/api/v1/cases", "officer head"),
    ("POST", "/api/v1/cases/lookup", "officer head"),
    ("GET", "/api/v1/cases/{id}", "officer head"),
    ("GET", "/api/v1/cases/{id}/documents", "officer head"),
    ("GET", "/api/v1/cases/{id}/documents/{doc}", "officer head"),
    ("POST", "/api/v1/cases/{id}/request-info", "officer head"),
    ("POST", "/api/v1/cases/{id}/schedule-interview", "officer head"),
    ("POST", "/api/v1/cases/{id}/record-interview", "officer head"),
    ("POST", "/api/v1/cases/{id}/recommend", "officer head"),
    ("POST", "/api/v1/cases/{id}/approve", "head"),
    ("POST", "/api/v1/cases/{id}/reject", "head"),
    ("POST", "/api/v1/cases/{id}/return", "head"),
    ("POST", "/api/v1/cases/{id}/authorise", "officer head"),
    ("POST", "/api/v1/cases/{id}/reissue", "head"),
    ("POST", "/api/v1/cases/{id}/revoke", "head"),
    ("GET", "/api/v1/vetting", "vetting"),
    ("GET", "/api/v1/vetting/{id}", "vetting"),
    ("POST", "/api/v1/vetting/{id}/clear", "vetting"),
    ("POST", "/api/v1/vetting/{id}/confirm", "vetting"),
    ("GET", "/api/v1/missions", "officer head vetting auditor admin"),
    ("POST", "/api/v1/missions", "admin"),
    ("GET", "/api/v1/staff", "admin"),
    ("POST", "/api/v1/staff", "admin"),
    ("POST", "/api/v1/staff/{username}/disable", "admin"),
    ("GET", "/api/v1/audit", "auditor"),
    ("GET", "/api/v1/stats", "auditor admin"),
    ("GET", "/api/v1/watchlists", "vetting admin"),
    ("POST", "/api/v1/watchlists/reload", "admin"),
    ("GET", "/", "*"),
    ("POST", "/apply", "*"),
    ("GET", "/status", "*"),
    ("POST", "/status", "*"),
    ("POST", "/status/answer", "*"),
    ("POST", "/status/withdraw", "*"),
    ("POST", "/status/documents", "*"),
    ("GET", "/staff/sign-in", "*"),
    ("POST", "/staff/sign-in", "*"),
    ("POST", "/staff/sign-out", "staff"),
    ("GET", "/staff", "staff"),
    ("GET", "/staff/queue", "officer head"),
    ("POST", "/staff/queue/find", "officer head"),
    ("GET", "/staff/cases/{id}", "officer head"),
    ("POST", "/staff/cases/{id}/request-info", "officer head"),
    ("POST", "/staff/cases/{id}/schedule-interview", "officer head"),
    ("POST", "/staff/cases/{id}/record-interview", "officer head"),
    ("POST", "/staff/cases/{id}/recommend", "officer head"),
    ("POST", "/staff/cases/{id}/approve", "head"),
    ("POST", "/staff/cases/{id}/reject", "head"),
    ("POST", "/staff/cases/{id}/return", "head"),
    ("POST", "/staff/cases/{id}/authorise", "officer head"),
    ("POST", "/staff/cases/{id}/revoke", "head"),
    ("POST", "/staff/cases/{id}/reissue", "head"),
    ("GET", "/staff/vetting", "vetting"),
    ("GET", "/staff/vetting/{id}", "vetting"),
    ("POST", "/staff/vetting/{id}/clear", "vetting"),
    ("POST", "/staff/vetting/{id}/confirm", "vetting"),
    ("GET", "/staff/audit", "auditor"),
    ("GET", "/staff/border", "border"),
    ("POST", "/status/authorisation.png", "*"),
    ("POST", "/staff/border/check", "border"),
    ("POST", "/staff/border/crossing", "border"),
    ("GET", "/static/style.css", "*"),
    ("GET", "/static/htmx.min.js", "*"),
];

fn allowed(spec: &str, caller: &str) -> bool {
    match spec {
        "*" => true,
        "staff" => caller != "anonymous",
        list => list.split(' ').any(|c| c == caller),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_for_every_role() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let s = app.submit(&application("GB", "GB9999999")).await;
    let id = s["id"].as_str().unwrap().to_owned();
    let code = s["access_code"].as_str().unwrap().to_owned();
    app.screened(&id, &code).await;

    let table: BTreeMap<(String, String), &str> =
        EXPECTED.iter().map(|(m, p, who)| (((*m).to_owned(), (*p).to_owned()), *who)).collect();
    let routes = legion_web::route_table();
    let mut missing = Vec::new();
    for r in &routes {
        if !table.contains_key(&(r.method.to_string(), r.path.to_owned())) {
            missing.push(format!("{} {}", r.method, r.path));
        }
    }
    assert!(missing.is_empty(), "routes without a row in the access table: {missing:#?}");
    assert_eq!(routes.len(), table.len(), "the access table lists routes that do not exist");

    let client = TestApp::client();
    let mut failures = Vec::new();
    for r in &routes {
        let spec = table[&(r.method.to_string(), r.path.to_owned())];
        let path = r
            .path
            .replace("{id}", &id)
            .replace("{username}", "nobody")
            .replace("{doc}", &uuid::Uuid::nil().to_string());
        for (caller, account) in CALLERS {
            let method = Method::from_bytes(r.method.as_str().as_bytes()).unwrap();
            let mut req = client.request(method.clone(), format!("{}{path}", app.base)).bearer_auth(&code);
            if let Some(account) = account {
                // A fresh session per request: some routes (sign-out) end the session.
                req = req.header("cookie", app.session_cookie(account).await);
            }
            if method == Method::POST {
                req = if r.path.starts_with("/api/") {
                    req.header("content-type", "application/json").body("{}")
                } else {
                    req.header("content-type", "application/x-www-form-urlencoded").body("")
                };
            }
            let status = req.send().await.unwrap().status().as_u16();
            let location_sign_in = status == 303 || status == 307;
            let denied = status == 401
                || status == 403
                || (*caller == "anonymous" && location_sign_in && !r.path.starts_with("/api/"));
            if denied == allowed(spec, caller) {
                failures.push(format!(
                    "{} {} as {caller}: {status} (expected {})",
                    r.method,
                    r.path,
                    if allowed(spec, caller) { "allowed" } else { "denied" }
                ));
            }
        }
    }
    assert!(failures.is_empty(), "access mismatches:\n{}", failures.join("\n"));
}
