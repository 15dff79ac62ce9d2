//! Screening in the pipeline: watchlist hits and the same person applying twice under
//! other spellings send a case to vetting hold, with the matcher's explanation; reloading
//! the watchlists re-screens open cases; a list that cannot be read changes nothing.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, application};

on_both_backends!(
    watchlist_hits_hold_cases_and_a_reload_rescreens_open_ones,
    changed_watchlist_files_are_picked_up_and_the_same_person_is_found_across_missions,
    known_spellings_link_romanisations_no_rule_derives,
    a_start_with_unchanged_lists_does_not_rescreen_again,
);

const LIST: &str = "id,name,aliases,birth_date,nationality\n\
W-1,Viktor Bout,Виктор Бут;Victor Butt,1967-01-13,RU\n\
W-2,,,1970,RU\n\
W-3,Maria Aleksandrovna Osetrova,Мария Осетрова,1988-01-07,RU\n";

fn person(residence: &str, passport: &str, given: &str, family: &str, native: &str, born: &str) -> Value {
    let mut a = application(residence, passport);
    a["given_names"] = json!(given);
    a["family_name"] = json!(family);
    a["native_name"] = json!(native);
    a["date_of_birth"] = json!(born);
    a
}

/// A server with an empty watchlist directory, reloaded only when the test says so (not by
/// watching the files).
async fn app_with_watchlist_dir(backend: Backend) -> (TestApp, std::path::PathBuf) {
    let app = TestApp::spawn_with(backend, |config, dir| {
        std::fs::create_dir_all(dir.join("watchlists")).unwrap();
        config.watchlist_dir = Some(dir.join("watchlists"));
        config.watchlist_poll = Duration::from_hours(1);
    })
    .await;
    let dir = app.state.config.watchlist_dir.clone().unwrap();
    (app, dir)
}

/// Submits an application and waits for screening: its id and the state it reached.
async fn submit_screened(app: &TestApp, application: &Value) -> (String, String) {
    let submitted = app.submit(application).await;
    let id = submitted["id"].as_str().unwrap().to_owned();
    let state = app.screened(&id, submitted["access_code"].as_str().unwrap()).await;
    (id, state)
}

/// The possible-duplicate flag the vetting officer sees on a case.
async fn duplicate_flag(app: &TestApp, id: &str) -> Value {
    let vetting = app.signed_in("vetting").await;
    let v: Value = vetting.get(format!("{}/api/v1/vetting/{id}", app.base)).send().await.unwrap().json().await.unwrap();
    v["flags"].as_array().unwrap().iter().find(|f| f["kind"] == "possible_duplicate").expect("a duplicate flag").clone()
}

async fn state_of(app: &TestApp, id: &str) -> String {
    let id = legion_domain::ApplicationId::parse(id).unwrap();
    app.state.store.case(id, &legion_store::Scope::All).await.unwrap().unwrap().state.as_str().to_owned()
}

async fn watchlist_hits_hold_cases_and_a_reload_rescreens_open_ones(backend: Backend) {
    let (app, dir) = app_with_watchlist_dir(backend).await;
    // Before any list: screened, nothing found.
    let bout = app.submit(&person("GB", "GB8100001", "Viktor", "But", "Віктор Бут", "1967-01-13")).await;
    let (bout_id, bout_code) = (bout["id"].as_str().unwrap(), bout["access_code"].as_str().unwrap());
    assert_eq!(app.screened(bout_id, bout_code).await, "mission_review");

    std::fs::write(dir.join("internal.csv"), LIST).unwrap();
    let admin = app.signed_in("admin").await;
    let r = admin.post(format!("{}/api/v1/watchlists/reload", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let status: Value = r.json().await.unwrap();
    assert_eq!(status["entries"], 2, "{status}");
    assert_eq!(status["generation"], 1);
    assert_eq!(status["files"][0]["file"], "internal.csv");
    assert_eq!(status["files"][0]["skipped"][0]["count"], 1, "the row without a name: {status}");
    // The open case matching the new list went back to vetting hold.
    assert_eq!(status["held"], 1, "{status}");
    assert_eq!(state_of(&app, bout_id).await, "vetting_hold");

    // The vetting officer sees the hit, its explanation, and the entry it matched.
    let vetting = app.signed_in("vetting").await;
    let v: Value =
        vetting.get(format!("{}/api/v1/vetting/{bout_id}", app.base)).send().await.unwrap().json().await.unwrap();
    let flag = v["flags"].as_array().unwrap().iter().find(|f| f["kind"] == "watchlist").expect("a watchlist flag");
    assert!(flag["basis"].as_str().unwrap().starts_with("internal.csv:W-1"), "{flag}");
    let why = flag["explanation"].as_str().unwrap();
    assert!(why.contains("viktor") && why.contains("date of birth 1967-01-13"), "{why}");
    let status: Value =
        vetting.get(format!("{}/api/v1/watchlists", app.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["entries"], 2);

    // A new applicant on the list, written in Cyrillic the Russian way, is held at once.
    let osetrova = app.submit(&person("PL", "PL8100002", "Mariia", "Osetrova", "Марія Осетрова", "1988-01-07")).await;
    let id = osetrova["id"].as_str().unwrap();
    assert_eq!(app.screened(id, osetrova["access_code"].as_str().unwrap()).await, "vetting_hold");
    // Someone else is not.
    let other = app.submit(&person("GB", "GB8100003", "Victoria", "Butler", "Вікторія Батлер", "1990-05-05")).await;
    assert_eq!(
        app.screened(other["id"].as_str().unwrap(), other["access_code"].as_str().unwrap()).await,
        "mission_review"
    );

    // Cleared with a reason, the case is not sent back by reloading the same lists.
    let (st, _) = crate::api::post(
        &vetting,
        format!("{}/api/v1/vetting/{bout_id}/clear", app.base),
        json!({"reason": "Different person: passport photo and place of birth differ."}),
    )
    .await;
    assert_eq!(st, 200);
    let r = admin.post(format!("{}/api/v1/watchlists/reload", app.base)).send().await.unwrap();
    let status: Value = r.json().await.unwrap();
    assert_eq!(status["held"], 0, "{status}");
    assert_eq!(state_of(&app, bout_id).await, "mission_review");

    // A file that cannot be read: an error naming it, and the lists in use stay.
    std::fs::write(dir.join("broken.csv"), "identifier,label\nx,y\n").unwrap();
    let r = admin.post(format!("{}/api/v1/watchlists/reload", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "watchlist_unreadable");
    assert!(body["message"].as_str().unwrap().contains("broken.csv: the CSV header has no \"id\" column"), "{body}");
    let status: Value =
        admin.get(format!("{}/api/v1/watchlists", app.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!((status["generation"].as_u64(), status["entries"].as_u64()), (Some(2), Some(2)), "{status}");
    // Mission staff see no lists; the reload is the administrator's.
    let officer = app.signed_in("officer.gb").await;
    assert_eq!(officer.get(format!("{}/api/v1/watchlists", app.base)).send().await.unwrap().status(), 403);
    assert_eq!(vetting.post(format!("{}/api/v1/watchlists/reload", app.base)).send().await.unwrap().status(), 403);
    // Reloads are in the audit log.
    let events = app.state.store.audit_events(0, 10_000).await.unwrap();
    let reloads: Vec<&str> =
        events.iter().filter(|e| e.event.action == "watchlists.reload").map(|e| e.event.outcome.as_str()).collect();
    assert_eq!(reloads, ["ok", "ok", "failed"]);
}

async fn changed_watchlist_files_are_picked_up_and_the_same_person_is_found_across_missions(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config, dir| {
        config.watchlist_dir = Some(dir.join("watchlists"));
        config.watchlist_poll = Duration::from_millis(100);
    })
    .await;
    let dir = app.state.config.watchlist_dir.clone().unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("list.csv"), LIST).unwrap();
    let mut loaded = false;
    for _ in 0..100 {
        if app.state.watchlists.current().generation >= 1 {
            loaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(loaded, "a new file in the directory is loaded without a restart");
    assert_eq!(app.state.watchlists.current().index.len(), 2);

    // The same person at two missions: Ukrainian and Russian romanisations, the same birth date.
    let first = person("GB", "GB8200001", "Oleksandr", "Shevchenko", "Олександр Шевченко", "1985-04-12");
    assert_eq!(submit_screened(&app, &first).await.1, "mission_review");
    let again = person("US", "US8200002", "Aleksandr", "Shevchenko", "Александр Шевченко", "1985-04-12");
    let (again_id, state) = submit_screened(&app, &again).await;
    assert_eq!(state, "vetting_hold");
    let flag = duplicate_flag(&app, &again_id).await;
    assert!(flag["basis"].as_str().unwrap().contains("gb-london"), "{flag}");
    assert!(flag["explanation"].as_str().unwrap().contains("sounds like"), "{flag}");
    // Same name, another birth date: another person.
    let namesake = person("PL", "PL8200003", "Oleksandr", "Shevchenko", "Олександр Шевченко", "1979-11-02");
    assert_eq!(submit_screened(&app, &namesake).await.1, "mission_review");
}

async fn known_spellings_link_romanisations_no_rule_derives(backend: Backend) {
    // A Russian passport writes Ginger Herzberg as Dzhindzher Khertsberg: no transliteration
    // rule leads back, the dictionary of known spellings does.
    let variants = "herzberg, херцберг => Q1\nginger, джинджер => Q2\n";
    let (variants, _) = legion_screening::variants::Variants::read(variants.as_bytes(), |_| true).unwrap();
    let app = TestApp::spawn_with(backend, |config, _| {
        config.known_spellings = Some(std::sync::Arc::new(variants));
    })
    .await;
    let admin = app.signed_in("admin").await;
    let status: Value =
        admin.get(format!("{}/api/v1/watchlists", app.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["known_spellings"], 2, "{status}");

    let first = person("GB", "GB8300001", "Ginger", "Herzberg", "", "1985-09-04");
    assert_eq!(submit_screened(&app, &first).await.1, "mission_review");
    let again = person("US", "US8300002", "Dzhindzher", "Khertsberg", "Джинджер Херцберг", "1985-09-04");
    let (again_id, state) = submit_screened(&app, &again).await;
    assert_eq!(state, "vetting_hold");
    let flag = duplicate_flag(&app, &again_id).await;
    assert!(flag["explanation"].as_str().unwrap().contains("known spelling"), "{flag}");
    // Another person with the same date of birth is not drawn in.
    let other = person("PL", "PL8300003", "Anna", "Kowalska", "", "1985-09-04");
    assert_eq!(submit_screened(&app, &other).await.1, "mission_review");
}

async fn a_start_with_unchanged_lists_does_not_rescreen_again(backend: Backend) {
    let (app, dir) = app_with_watchlist_dir(backend).await;
    // Submitted while no list names him.
    let (bout_id, state) = submit_screened(&app, &person("GB", "GB8400001", "Viktor", "But", "", "1967-01-13")).await;
    assert_eq!(state, "mission_review");
    std::fs::write(dir.join("internal.csv"), LIST).unwrap();

    // The first start with the list re-screens, holds the case, and notes the lists.
    legion_web::service::load_watchlists(&app.state).await.unwrap();
    assert_eq!(legion_web::service::rescreen_at_start(&app.state).await.unwrap(), Some(1));
    assert_eq!(state_of(&app, &bout_id).await, "vetting_hold");
    let digest = app.state.watchlists.current().digest.clone();
    assert_eq!(std::fs::read_to_string(dir.join(".screened")).unwrap().trim(), digest);
    // The next start with the same files does not do it again; loading the same bytes
    // gives the same digest.
    legion_web::service::load_watchlists(&app.state).await.unwrap();
    assert_eq!(app.state.watchlists.current().digest, digest);
    assert_eq!(legion_web::service::rescreen_at_start(&app.state).await.unwrap(), None);

    // Another entry in the file: the next start re-screens, and finds the new entry's match.
    let (kravets_id, _) = submit_screened(&app, &person("PL", "PL8400002", "Nadia", "Kravets", "", "1979-03-02")).await;
    std::fs::write(dir.join("internal.csv"), format!("{LIST}W-4,Nadiya Kravets,,1979-03-02,UA\n")).unwrap();
    legion_web::service::load_watchlists(&app.state).await.unwrap();
    assert_ne!(app.state.watchlists.current().digest, digest);
    assert_eq!(legion_web::service::rescreen_at_start(&app.state).await.unwrap(), Some(1));
    assert_eq!(state_of(&app, &kravets_id).await, "vetting_hold");

    // Without a watchlist directory there is nothing to note, and no error.
    let absent = dir.with_file_name("absent");
    let none = legion_web::watchlists::Watchlists::new(Some(absent.clone()), None);
    none.mark_rescreened(&none.current()).await.unwrap();
    assert!(!absent.exists());
}
