//! Entry authorisations through the server: issued on `authorise`, fetched by the
//! applicant, verified offline against the exported lists, checked and recorded at the
//! border once, refused once revoked or altered.

use legion_credential::{RevocationList, TrustList, Verifier};
use serde_json::{Value, json};

use crate::api::post;
use crate::common::{Backend, TestApp, application};

/// A case taken through review and the four-eyes decision to `authorised`; its id and
/// access code.
pub(crate) async fn authorised_case(app: &TestApp, residence: &str, passport: &str) -> (String, String) {
    let s = app.submit(&application(residence, passport)).await;
    let (id, code) = (s["id"].as_str().unwrap().to_owned(), s["access_code"].as_str().unwrap().to_owned());
    assert_eq!(app.screened(&id, &code).await, "mission_review");
    let officer = app.signed_in("officer.gb").await;
    let head = app.signed_in("head.gb").await;
    let head2 = app.signed_in("head2.gb").await;
    let case = |a: &str| format!("{}/api/v1/cases/{id}/{a}", app.base);
    let at = (app.state.clock.now() + chrono::Duration::days(2)).to_rfc3339();
    for (who, action, body) in [
        (&officer, "schedule-interview", json!({"at": at, "place": "Embassy"})),
        (&officer, "record-interview", json!({"attended": true, "notes": "Solid."})),
        (&head, "recommend", json!({"recommendation": "approve", "reason": "Experienced."})),
        (&head2, "approve", json!({"note": "Agreed."})),
    ] {
        let (st, v) = post(who, case(action), body).await;
        assert_eq!(st, 200, "{action}: {v}");
    }
    let today = app.state.clock.now().date_naive();
    let window = json!({"valid_from": today, "valid_until": today + chrono::Duration::days(30)});
    let (st, v) = post(&officer, case("authorise"), window).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("authorised")), "{v}");
    (id, code)
}

async fn applicant_token(app: &TestApp, id: &str, code: &str) -> (u16, Value) {
    app.applicant_json(id, code, "/authorisation").await
}

async fn lists(app: &TestApp) -> (TrustList, RevocationList) {
    let c = TestApp::client();
    let trust =
        c.get(format!("{}/api/v1/credentials/trust-list", app.base)).send().await.unwrap().text().await.unwrap();
    let rev = c.get(format!("{}/api/v1/credentials/revocations", app.base)).send().await.unwrap().text().await.unwrap();
    let root = app.state.keys.credentials.root().public_key();
    (TrustList::from_json(&trust, Some(&root)).unwrap(), RevocationList::from_json(&rev, &root).unwrap())
}

async fn issued_verified_crossed_once_and_revocation_refuses(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, code) = authorised_case(&app, "GB", "GB5550001").await;

    // The applicant fetches the authorisation and its QR code; a wrong code learns nothing.
    let (st, a) = applicant_token(&app, &id, &code).await;
    assert_eq!(st, 200, "{a}");
    let token = a["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("LG1:"), "{token}");
    assert_eq!(applicant_token(&app, &id, "wrong-code-wrong-code").await.0, 404);
    let png = TestApp::client()
        .get(format!("{}/api/v1/applications/{id}/authorisation.png", app.base))
        .bearer_auth(&code)
        .send()
        .await
        .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    assert!(png.bytes().await.unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));
    // From the status page's form too, as a file to keep.
    let (_, view) = app.applicant_json(&id, &code, "").await;
    let reference = view["reference"].as_str().unwrap();
    let form = |code: &str| {
        TestApp::client()
            .post(format!("{}/status/authorisation.png", app.base))
            .form(&[("reference", reference), ("access_code", code)])
            .send()
    };
    let r = form(&code).await.unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert!(r.bytes().await.unwrap().starts_with(b"\x89PNG"));
    assert_eq!(form("not-the-code").await.unwrap().status(), 404);

    // Offline, with the exported lists: valid, and it names the holder as the passport does.
    let (trust, rev) = lists(&app).await;
    let now = app.state.clock.now().timestamp();
    let verified = Verifier::new(&trust, Some(&rev)).verify(&token, now).unwrap();
    assert_eq!(verified.claims.issuer, "gb-london");
    assert_eq!(verified.claims.holder.passport_number, "GB5550001");
    assert_eq!(
        verified.claims.holder.family_name,
        legion_web::credentials::mrz_form(application("GB", "GB5550001")["family_name"].as_str().unwrap())
    );
    assert_eq!(rev.seq, 0);

    // Lost: a mission head reissues it. The old one goes on the list; the new one is valid.
    let head = app.signed_in("head.gb").await;
    let today = app.state.clock.now().date_naive();
    let body =
        json!({"valid_from": today, "valid_until": today + chrono::Duration::days(40), "reason": "Phone stolen."});
    let (st, v) =
        post(&app.signed_in("officer.gb").await, format!("{}/api/v1/cases/{id}/reissue", app.base), body.clone()).await;
    assert_eq!(st, 403, "officers do not revoke: {v}");
    let (st, v) = post(&head, format!("{}/api/v1/cases/{id}/reissue", app.base), body).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("authorised")), "{v}");
    let old = token;
    let token = applicant_token(&app, &id, &code).await.1["token"].as_str().unwrap().to_owned();
    assert_ne!(token, old);
    let (trust, rev) = lists(&app).await;
    assert_eq!(rev.seq, 1);
    assert_eq!(Verifier::new(&trust, Some(&rev)).verify(&old, now), Err(legion_credential::Refusal::Revoked));
    let verified = Verifier::new(&trust, Some(&rev)).verify(&token, now).unwrap();
    assert_eq!(verified.claims.entry_until, today + chrono::Duration::days(40));
    let (_, view) = app.applicant_json(&id, &code, "").await;
    assert_eq!(view["entry_window"]["valid_until"], json!((today + chrono::Duration::days(40)).to_string()));

    // At the border: only border officers, a check, then one crossing.
    let border = app.signed_in("border").await;
    let officer = app.signed_in("officer.gb").await;
    let url = |p: &str| format!("{}/api/v1/border/{p}", app.base);
    assert_eq!(post(&officer, url("verify"), json!({"token": token})).await.0, 403);
    let (st, v) = post(&border, url("verify"), json!({"token": token})).await;
    assert_eq!((st, v["code"].as_str(), v["valid"].as_bool()), (200, Some("valid"), Some(true)), "{v}");
    assert_eq!(v["holder"]["passport_number"], "GB5550001");
    assert!(v["crossed_at"].is_null());
    let (st, v) = post(&border, url("crossings"), json!({"token": token, "crossing_point": " "})).await;
    assert_eq!(st, 422, "a crossing needs its point: {v}");
    let (st, v) = post(&border, url("crossings"), json!({"token": token, "crossing_point": "Medyka–Shehyni"})).await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = post(&border, url("crossings"), json!({"token": token, "crossing_point": "Krakovets"})).await;
    assert_eq!(
        (st, v["code"].as_str(), v["crossing_point"].as_str()),
        (409, Some("already_used"), Some("Medyka–Shehyni")),
        "{v}"
    );
    let (_, v) = post(&border, url("verify"), json!({"token": token})).await;
    assert_eq!(v["crossing_point"], "Medyka–Shehyni", "the check warns of the earlier use");
    let (_, view) = app.applicant_json(&id, &code, "").await;
    assert_eq!(view["status"], "crossed_border");
    let credentials = app.state.store.credentials(None).await.unwrap();
    assert_eq!(credentials.len(), 2, "the reissued one and the one it replaced");
    let crossed: Vec<_> = credentials.iter().filter(|c| c.crossed_at.is_some()).collect();
    assert_eq!(crossed.len(), 1);
    assert_eq!(crossed[0].id, verified.claims.id);
    assert_eq!(crossed[0].crossing_point.as_deref(), Some("Medyka–Shehyni"));
    // The case page shows the crossing and the authorisation's id, not its signed text.
    let page = app.signed_in("officer.gb").await.get(format!("{}/staff/cases/{id}", app.base)).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("Medyka–Shehyni") && page.contains(&verified.claims.id.to_string()), "{page}");
    assert!(!page.contains("LG1:"), "the signed text stays off the page");

    // A second case, revoked: on the signed list with the next number, refused everywhere.
    let (id2, code2) = authorised_case(&app, "GB", "GB5550002").await;
    let token2 = applicant_token(&app, &id2, &code2).await.1["token"].as_str().unwrap().to_owned();
    let head = app.signed_in("head.gb").await;
    let (st, _) =
        post(&head, format!("{}/api/v1/cases/{id2}/revoke", app.base), json!({"reason": "Withdrawn by the mission."}))
            .await;
    assert_eq!(st, 200);
    assert_eq!(applicant_token(&app, &id2, &code2).await.0, 404, "no authorisation to print once revoked");
    let (trust, rev) = lists(&app).await;
    assert_eq!(rev.seq, 2);
    let id2_credential = legion_credential::decode_unverified(&token2).unwrap().1.id;
    assert!(rev.contains(&id2_credential));
    assert_eq!(Verifier::new(&trust, Some(&rev)).verify(&token2, now), Err(legion_credential::Refusal::Revoked));
    let (_, v) = post(&border, url("verify"), json!({"token": token2})).await;
    assert_eq!(v["code"], "revoked");
    let (st, v) = post(&border, url("crossings"), json!({"token": token2, "crossing_point": "Medyka"})).await;
    assert_eq!((st, v["code"].as_str()), (422, Some("revoked")));

    // A new mission's key is in the trust list as soon as the mission exists.
    let admin = app.signed_in("admin").await;
    let mission = json!({"id": "fr-paris", "name": "Embassy of Ukraine in France", "country": "FR", "covers": ["FR"], "regional": false});
    assert_eq!(post(&admin, format!("{}/api/v1/missions", app.base), mission).await.0, 200);
    let (trust, _) = lists(&app).await;
    assert!(trust.keys.iter().any(|k| k.issuer == "fr-paris"), "{trust:?}");

    // One changed character: refused, nothing recorded.
    let mut chars: Vec<char> = token2.chars().collect();
    let at = chars.len() / 2;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let (st, v) = post(&border, url("crossings"), json!({"token": tampered, "crossing_point": "Medyka"})).await;
    assert_eq!(st, 422, "{v}");
    assert_ne!(v["code"], "valid");
    assert!(
        app.state
            .store
            .credentials(None)
            .await
            .unwrap()
            .iter()
            .all(|c| c.id == verified.claims.id || c.crossed_at.is_none())
    );
}

on_both_backends!(issued_verified_crossed_once_and_revocation_refuses);
