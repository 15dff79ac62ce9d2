//! Browser tests: the pages people use, driven in real Chromium through chromedriver.
//! Needs Debian's `chromium` and `chromium-driver` packages.

use std::path::Path;
use std::time::Duration;

use crate::common::{Backend, PASSWORD, TestApp, application};
use chrono::Days;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use legion_domain::{Clock, Reference, SystemClock};
use serde_json::{Value, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium session with its own chromedriver and a fresh profile.
struct Browser {
    c: Client,
    _driver: tokio::process::Child,
    profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Browser {
        assert!(
            Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
            "{CHROMEDRIVER} or {CHROMIUM} is missing: install them with `apt-get install -y chromium chromium-driver`"
        );
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver did not start; install it with `apt-get install -y chromium chromium-driver`");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--lang=en-GB",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut attempt = 0;
        let c = loop {
            match ClientBuilder::native().capabilities(caps.clone()).connect(&url).await {
                Ok(c) => break c,
                Err(e) => {
                    attempt += 1;
                    assert!(attempt < 100, "could not start a Chromium session through chromedriver: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        Browser { c, _driver: driver, profile }
    }

    /// Ends the session (which quits Chromium).
    async fn close(&self) {
        self.c.clone().close().await.unwrap();
    }

    async fn goto(&self, url: &str) {
        self.c.goto(url).await.unwrap();
    }

    async fn id(&self, id: &str) -> Element {
        self.c.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("no element #{id}: {e}"))
    }

    async fn css(&self, css: &str) -> Element {
        self.c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    async fn fill(&self, id: &str, text: &str) {
        let e = self.id(id).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    /// Sets a date, month or datetime input (typing into them depends on the locale).
    async fn set(&self, id: &str, value: &str) {
        self.c
            .execute("document.getElementById(arguments[0]).value = arguments[1];", vec![json!(id), json!(value)])
            .await
            .unwrap();
    }

    async fn select(&self, id: &str, value: &str) {
        self.id(id).await.select_by_value(value).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.css(css).await.click().await.unwrap_or_else(|e| panic!("could not click {css}: {e}"));
    }

    /// The page's visible text (retried while a navigation replaces the document).
    async fn text(&self) -> String {
        let mut last = None;
        for _ in 0..20 {
            match self.c.find(Locator::Css("body")).await {
                Ok(body) => match body.text().await {
                    Ok(t) => return t,
                    Err(e) => last = Some(e),
                },
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("could not read the page: {last:?}");
    }

    async fn attr(&self, id: &str, name: &str) -> Option<String> {
        self.id(id).await.attr(name).await.unwrap()
    }

    async fn eval(&self, script: &str) -> Value {
        self.c.execute(script, vec![]).await.unwrap()
    }

    /// Waits until the page's text contains `needle` (after a navigation or an htmx swap).
    async fn wait_for_text(&self, needle: &str) -> String {
        for _ in 0..100 {
            let t = self.text().await;
            if t.contains(needle) {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the page never showed {needle:?}; it shows:\n{}", self.text().await);
    }

    /// Submits the action form `slug` on a case page.
    async fn submit_action(&self, slug: &str) {
        self.click(&format!("section[aria-labelledby='{slug}-title'] button[type=submit]")).await;
    }

    async fn sign_in(&self, base: &str, username: &str) {
        self.goto(&format!("{base}/staff/sign-in")).await;
        self.fill("username", username).await;
        self.fill("password", PASSWORD).await;
        self.click("form[action='/staff/sign-in'] button[type=submit]").await;
        self.wait_for_text("Sign out").await;
    }

    async fn sign_out(&self) {
        self.click("form[action='/staff/sign-out'] button").await;
        self.wait_for_text("You have signed out.").await;
    }
}

impl Drop for Browser {
    /// A test that fails never reaches `close()`, and Chromium outlives a killed
    /// chromedriver: end the processes that use this session's profile directory.
    fn drop(&mut self) {
        let profile = format!("--user-data-dir={}", self.profile.path().display());
        let Ok(entries) = std::fs::read_dir("/proc") else { return };
        for pid in entries.flatten().filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok()) {
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
            if cmdline.split(|b| *b == 0).any(|arg| arg == profile.as_bytes()) {
                let _ = std::process::Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            }
        }
    }
}

/// The date `offset` days from today (the test app runs on the system clock).
fn day(offset: u64) -> String {
    (SystemClock.now().date_naive() + Days::new(offset)).format("%Y-%m-%d").to_string()
}

/// Waits until screening has moved the case out of `submitted`/`screening`.
async fn screened(app: &TestApp, reference: &str, code: &str) -> String {
    let reference = Reference::parse(reference).unwrap();
    for _ in 0..200 {
        let (record, _) = legion_web::service::applicant_case_by_reference(&app.state, &reference, code).await.unwrap();
        let s = record.state.as_str();
        if s != "submitted" && s != "screening" {
            return s.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{reference} was not screened in time");
}

/// Submits an application through the API with its own name and passport.
async fn submit_via_api(app: &TestApp, given: &str, family: &str, nationality: &str, passport: &str) -> Value {
    let mut body = application("GB", passport);
    body["given_names"] = json!(given);
    body["family_name"] = json!(family);
    body["native_name"] = Value::Null;
    body["nationality"] = json!(nationality);
    body["passport_expiry"] = json!(day(800));
    body["travel"]["earliest_date"] = json!(day(20));
    app.submit(&body).await
}

async fn stored_cases(app: &TestApp) -> i64 {
    app.state.store.state_counts().await.unwrap().iter().map(|c| c.count).sum()
}

/// The applicant's journey and the staff decision, end to end in the browser:
/// apply, see the status, officer interviews and recommends, a different head approves,
/// the recommender cannot decide their own case, and another mission sees nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_applicant_applies_and_staff_decide() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let base = app.base.clone();
    let b = Browser::start().await;

    // More cases in the GB queue (and one for the four-eyes check).
    let others = [
        ("Emily", "Hartley", "GB", "GB5550001"),
        ("Liam", "O'Connor", "IE", "IE5550002"),
        ("Marek", "Nowak", "PL", "PL5550003"),
        ("Sofia", "Lindqvist", "SE", "SE5550004"),
        ("Daniel", "Okafor", "GB", "GB5550005"),
        ("Lucas", "Moreau", "FR", "FR5550006"),
    ];
    let mut submitted = Vec::new();
    for (g, f, n, p) in others {
        submitted.push(submit_via_api(&app, g, f, n, p).await);
    }

    // The applicant fills in the form.
    b.goto(&format!("{base}/?lang=en")).await;
    assert_eq!(b.eval("return document.documentElement.lang").await, json!("en"));
    b.fill("f-given_names", "Taras").await;
    b.fill("f-family_name", "Whitfield").await;
    b.fill("f-native_name", "Тарас Вітфілд").await;
    b.set("f-date_of_birth", "1990-04-01").await;
    b.select("f-nationality", "GB").await;
    b.select("f-country_of_residence", "GB").await;
    b.fill("f-passport_number", "553 219 874").await;
    b.set("f-passport_expiry", &day(900)).await;
    b.fill("f-email", "taras.whitfield@example.org").await;
    b.fill("f-phone", "+44 20 7946 0958").await;
    b.select("f-military_experience-0-country", "GB").await;
    b.fill("f-military_experience-0-branch", "Army").await;
    b.set("f-military_experience-0-from", "2010-01").await;
    b.set("f-military_experience-0-to", "2016-06").await;
    b.fill("f-military_experience-0-role", "Combat medic").await;
    b.fill("f-languages", "English, Ukrainian").await;
    b.select("f-travel-departure_country", "PL").await;
    b.fill("f-travel-departure_city", "Rzeszów").await;
    b.set("f-travel-earliest_date", &day(14)).await;
    b.click("#f-travel-group_travel").await;
    b.click("#f-declarations-no_criminal_record").await;
    b.click("#f-declarations-consent_background_check").await;
    b.click("#apply-form button[type=submit]").await;

    let page = b.wait_for_text("Application received").await;
    let reference = b.id("reference").await.text().await.unwrap();
    let code = b.id("access-code").await.text().await.unwrap();
    assert!(Reference::parse(&reference).is_some(), "reference {reference}");
    assert_eq!(code.replace(' ', "").len(), 32, "access code {code}");
    assert!(page.contains("Embassy of Ukraine in the United Kingdom"));
    assert!(page.contains("shown only once"));

    // The status page, from the link on the confirmation.
    assert_eq!(screened(&app, &reference, &code).await, "mission_review");
    b.click("a.button[href^='/status']").await;
    assert_eq!(b.attr("reference", "value").await.as_deref(), Some(reference.as_str()));
    b.fill("access_code", &code).await;
    b.click("form[action='/status'] button[type=submit]").await;
    let page = b.wait_for_text("The mission is reviewing your application").await;
    assert!(page.contains(&reference));
    assert!(page.contains("Withdraw your application"));

    // A document through the status page's form: a plain multipart POST, no JavaScript.
    let scan = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    std::fs::write(scan.path(), b"%PDF-1.4\n% a scanned passport page\n%%EOF\n").unwrap();
    b.select("document-kind", "passport_scan").await;
    b.id("document-file").await.send_keys(scan.path().to_str().unwrap()).await.unwrap();
    b.click("form[action='/status/documents'] button[type=submit]").await;
    let page = b.wait_for_text("Thank you, your document was received.").await;
    assert!(page.contains("Passport scan") && page.contains("PDF"), "{page}");

    // The officer finds the case in the queue.
    b.sign_in(&base, "officer.gb").await;
    let page = b.wait_for_text("Applications — Embassy of Ukraine in the United Kingdom").await;
    assert!(page.contains("Whitfield") && page.contains("Hartley") && page.contains("Page 1 of 1"), "{page}");
    assert_eq!(b.eval("return typeof window.htmx").await, json!("object"), "htmx is loaded");
    b.eval("window.stillHere = true; return null").await;
    b.fill("q-reference", &reference).await;
    b.click("form.filters button[type=submit]").await;
    b.wait_for_text("Matching applications: 1").await;
    assert_eq!(b.eval("return window.stillHere === true").await, json!(true), "htmx swapped the table in place");
    let page = b.text().await;
    assert!(!page.contains("Hartley"), "the reference filter keeps only the one case");
    b.click("a.ref-link[href^='/staff/cases/']").await;
    let page = b.wait_for_text("Application LG-").await;
    assert!(page.contains("Taras Whitfield") && page.contains("Combat medic") && page.contains("Mission review"));
    let case_url = b.c.current_url().await.unwrap().to_string();
    assert!(b.c.find(Locator::Id("approve-title")).await.is_err(), "no approval before a recommendation");

    // Schedule, record, recommend.
    let at = format!("{}T10:30", day(3));
    b.set("schedule-interview-at", &at).await;
    b.fill("schedule-interview-place", "Embassy of Ukraine, 60 Holland Park, London").await;
    b.submit_action("schedule-interview").await;
    b.wait_for_text("The interview is scheduled.").await;
    let status = TestApp::client()
        .post(format!("{base}/status"))
        .form(&[("reference", reference.as_str()), ("access_code", code.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(status.contains("You are invited to an interview") && status.contains("60 Holland Park"), "{status}");

    b.click("#record-interview-attended-yes").await;
    b.fill("record-interview-notes", "Attended with passport and discharge papers.").await;
    b.submit_action("record-interview").await;
    b.wait_for_text("The interview is recorded.").await;
    b.click("#recommend-recommendation-approve").await;
    b.fill("recommend-reason", "Six years of service, consistent account.").await;
    b.submit_action("recommend").await;
    let page = b.wait_for_text("Your recommendation is recorded.").await;
    assert!(page.contains("Approve, made by you"));
    assert!(b.c.find(Locator::Id("approve-title")).await.is_err(), "officers do not decide");
    b.sign_out().await;

    // A head of the same mission approves and issues the authorisation.
    b.sign_in(&base, "head.gb").await;
    b.goto(&case_url).await;
    b.wait_for_text("Approve, made by a colleague").await;
    b.fill("approve-note", "Agreed.").await;
    b.submit_action("approve").await;
    b.wait_for_text("The application is approved.").await;
    b.set("authorise-valid_from", &day(7)).await;
    b.set("authorise-valid_until", &day(60)).await;
    b.submit_action("authorise").await;
    let page = b.wait_for_text("The entry authorisation is issued.").await;
    assert!(page.contains("Entry authorised") && page.contains("Interview recorded"), "history lists the steps");

    // Four eyes: the head recommends on another case and cannot decide it.
    let other = &submitted[0];
    screened(&app, other["reference"].as_str().unwrap(), other["access_code"].as_str().unwrap()).await;
    b.goto(&format!("{base}/staff/cases/{}", other["id"].as_str().unwrap())).await;
    b.wait_for_text("Emily Hartley").await;
    b.fill("recommend-reason", "No relevant experience.").await;
    b.submit_action("recommend").await;
    let page = b.wait_for_text("Your recommendation is recorded.").await;
    assert!(page.contains("four-eyes rule"), "{page}");
    assert!(b.c.find(Locator::Id("reject-title")).await.is_err(), "no reject form for one's own recommendation");
    assert!(b.c.find(Locator::Id("approve-title")).await.is_err());
    assert!(b.c.find(Locator::Id("return-title")).await.is_ok(), "returning to review is still possible");
    // Even a hand-made decision is refused, with the reason on the case page.
    b.eval(
        "const f = document.createElement('form'); f.method = 'post'; \
         f.action = location.pathname + '/reject'; const r = document.createElement('input'); \
         r.type = 'hidden'; r.name = 'reason'; r.value = 'Mine to decide'; f.appendChild(r); \
         document.body.appendChild(f); f.submit(); return null",
    )
    .await;
    let page = b.wait_for_text("A different head of mission must decide on your own recommendation").await;
    assert!(page.contains("Recommended"), "the case is unchanged");
    b.sign_out().await;

    // Another mission's officer sees neither the case in the queue nor its page.
    b.sign_in(&base, "officer.us").await;
    let page = b.wait_for_text("Embassy of Ukraine in the United States").await;
    assert!(!page.contains("Whitfield") && !page.contains(&reference));
    assert!(page.contains("No applications match these filters."));
    b.goto(&format!("{base}/staff/queue?state=nonsense&sort=bogus")).await;
    let page = b.wait_for_text("There is a problem").await;
    assert!(page.contains("Choose a state from the list.") && page.contains("Choose an order from the list."));
    b.goto(&case_url).await;
    let page = b.wait_for_text("Page not found").await;
    assert!(!page.contains("Whitfield"));

    // The applicant sees the entry window.
    let status = TestApp::client()
        .post(format!("{base}/status"))
        .form(&[("reference", reference.as_str()), ("access_code", code.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(status.contains("You are authorised to enter Ukraine") && status.contains(&day(60)));

    if std::env::var_os("LEGION_SCREENSHOTS").is_some() {
        save_queue_screenshot(&app, &b, &submitted).await;
    }

    b.close().await;
}

/// Saves `docs/staff-queue.png` (when `LEGION_SCREENSHOTS` is set): the GB queue with
/// cases in several states.
async fn save_queue_screenshot(app: &TestApp, b: &Browser, submitted: &[Value]) {
    for s in submitted {
        screened(app, s["reference"].as_str().unwrap(), s["access_code"].as_str().unwrap()).await;
    }
    let officer = app.signed_in("officer.gb").await;
    let act = |i: usize, action: &'static str, body: Value| {
        let url = format!("{}/api/v1/cases/{}/{action}", app.base, submitted[i]["id"].as_str().unwrap());
        let officer = officer.clone();
        async move { assert_eq!(officer.post(url).json(&body).send().await.unwrap().status(), 200, "{action}") }
    };
    act(1, "request-info", json!({"message": "Please send proof of service."})).await;
    let at = format!("{}T09:00:00Z", day(5));
    act(2, "schedule-interview", json!({"at": at, "place": "Embassy of Ukraine, London"})).await;
    act(3, "schedule-interview", json!({"at": at, "place": "Video call"})).await;
    act(3, "record-interview", json!({"attended": true, "notes": "Solid account of service."})).await;
    b.sign_out().await;
    b.sign_in(&app.base, "officer.gb").await;
    b.goto(&format!("{}/staff/queue?sort=updated_desc", app.base)).await;
    b.wait_for_text("Whitfield").await;
    let png = b.c.screenshot().await.unwrap();
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/staff-queue.png");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, png).unwrap();
}

/// A bad submission shows each message beside its field and stores nothing; the
/// Ukrainian form is Ukrainian; a wrong access code gets the neutral answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_explains_bad_input_in_both_languages() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config, dir| {
        let lists = dir.join("watchlists");
        std::fs::create_dir_all(&lists).unwrap();
        std::fs::write(
            lists.join("internal.csv"),
            "id,name,aliases,birth_date,nationality\nW-1,Viktor Bout,Виктор Бут,1967-01-13,RU\n",
        )
        .unwrap();
        config.watchlist_dir = Some(lists);
    })
    .await;
    legion_web::service::reload_watchlists(&app.state).await.unwrap();
    let base = app.base.clone();
    let b = Browser::start().await;

    b.goto(&format!("{base}/?lang=uk")).await;
    assert_eq!(b.eval("return document.documentElement.lang").await, json!("uk"));
    let page = b.text().await;
    assert!(page.contains("Заява на вступ до Інтернаціонального легіону"), "{page}");
    assert!(page.contains("Дата народження") && page.contains("Подати заяву"));
    assert!(b.css("#f-nationality option[value='UA']").await.text().await.unwrap().contains("Україна"));

    // Switch to English with the link in the header; the choice sticks.
    b.click(".lang-switch a").await;
    b.wait_for_text("Apply to join the International Legion").await;
    assert_eq!(b.eval("return document.documentElement.lang").await, json!("en"));

    b.fill("f-given_names", "J4n").await;
    b.fill("f-family_name", "Kowalski").await;
    b.fill("f-passport_number", "!!").await;
    b.fill("f-email", "not-an-email").await;
    b.select("f-military_experience-1-country", "PL").await;
    b.fill("f-military_experience-1-branch", "Army").await;
    b.set("f-military_experience-1-from", "2099-01").await;
    b.fill("f-military_experience-1-role", "Driver").await;
    b.fill("f-languages", "Polish").await;
    b.click("#apply-form button[type=submit]").await;

    let page = b.wait_for_text("There is a problem").await;
    let summary = b.css(".error-summary").await.text().await.unwrap();
    for label in
        ["Given names", "E-mail address", "Passport number", "Country where you live", "Period of service 2: From"]
    {
        assert!(summary.to_lowercase().contains(&label.to_lowercase()), "summary lacks {label}: {summary}");
    }
    assert!(b.c.find(Locator::Css(".error-summary a[href='#f-email']")).await.is_ok());
    assert_eq!(b.attr("f-email", "aria-invalid").await.as_deref(), Some("true"));
    assert!(b.attr("f-email", "aria-describedby").await.unwrap().contains("f-email-error"));
    assert!(b.id("f-email-error").await.text().await.unwrap().contains("Enter an e-mail address"));
    assert!(b.id("f-given_names-error").await.text().await.unwrap().contains("Use only letters"));
    assert!(
        b.id("f-military_experience-1-from-error").await.text().await.unwrap().contains("must not be in the future")
    );
    assert!(b.id("f-travel-departure_city-error").await.text().await.unwrap().contains("This field is required."));
    assert!(b.id("f-declarations-consent_background_check-error").await.text().await.unwrap().contains("consent"));
    assert!(b.c.find(Locator::Id("f-military_experience-0-from-error")).await.is_err(), "row 1 is untouched");
    assert_eq!(b.attr("f-given_names", "value").await.as_deref(), Some("J4n"), "values are kept");
    assert_eq!(b.attr("f-military_experience-1-role", "value").await.as_deref(), Some("Driver"));
    let focused = b.eval("return document.activeElement.className").await;
    assert_eq!(focused, json!("error-summary"), "focus moves to the summary");
    assert!(page.contains("Apply to join"));
    assert_eq!(stored_cases(&app).await, 0, "an invalid application stores nothing");

    // The same in Ukrainian.
    b.goto(&format!("{base}/?lang=uk")).await;
    b.click("#apply-form button[type=submit]").await;
    let page = b.wait_for_text("Виникла проблема").await;
    assert!(page.contains("Це поле обов’язкове."));
    assert!(page.contains("Без вашої згоди на перевірку ми не можемо розглянути заяву."));
    assert_eq!(stored_cases(&app).await, 0);

    // The applicant answers a question from the mission, then withdraws.
    let case = submit_via_api(&app, "Olena", "Marsh", "GB", "GB7770001").await;
    let (id, reference, code) =
        (case["id"].as_str().unwrap(), case["reference"].as_str().unwrap(), case["access_code"].as_str().unwrap());
    assert_eq!(screened(&app, reference, code).await, "mission_review");
    let officer = app.signed_in("officer.gb").await;
    let r = officer
        .post(format!("{base}/api/v1/cases/{id}/request-info"))
        .json(&json!({"message": "Please send a copy of your discharge papers."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    b.goto(&format!("{base}/status?lang=en&reference={reference}")).await;
    b.fill("access_code", code).await;
    b.click("form[action='/status'] button[type=submit]").await;
    let page = b.wait_for_text("The mission needs more information from you").await;
    assert!(page.contains("Please send a copy of your discharge papers."));
    b.fill("answer", "I will bring them to the interview.").await;
    b.click("form[action='/status/answer'] button[type=submit]").await;
    let page = b.wait_for_text("Thank you, your answer was sent to the mission.").await;
    assert!(page.contains("The mission is reviewing your application"));
    b.click("form[action='/status/withdraw'] button[type=submit]").await;
    b.wait_for_text("Tick the box to confirm.").await;
    b.click("#withdraw-confirm").await;
    b.click("form[action='/status/withdraw'] button[type=submit]").await;
    let page = b.wait_for_text("Your application has been withdrawn.").await;
    assert!(page.contains("You withdrew your application") && !page.contains("Withdraw application"));

    // A vetting officer sees screening data only, with each hit explained, and clears the hold.
    let mut body = application("GB", "GB7770002");
    body["given_names"] = json!("Viktor");
    body["family_name"] = json!("But");
    body["native_name"] = json!("Віктор Бут");
    body["date_of_birth"] = json!("1967-01-13");
    body["passport_expiry"] = json!(day(800));
    body["travel"]["earliest_date"] = json!(day(20));
    body["declarations"]["no_criminal_record"] = json!(false);
    let held = app.submit(&body).await;
    let held_ref = held["reference"].as_str().unwrap();
    assert_eq!(screened(&app, held_ref, held["access_code"].as_str().unwrap()).await, "vetting_hold");
    b.sign_in(&base, "vetting").await;
    b.wait_for_text("Vetting hold").await;
    b.click("a.ref-link").await;
    let page = b.wait_for_text("Possible hits").await;
    assert!(page.contains(held_ref) && page.contains("Criminal record not declared clean"));
    assert!(page.contains("Possible watchlist match") && page.contains("internal.csv:W-1"), "{page}");
    assert!(page.contains("viktor = viktor") && page.contains("date of birth 1967-01-13 on both"), "{page}");
    assert!(!page.contains("jan.kowalski@example.org") && !page.contains("GB7770002"), "no contact or passport data");
    b.fill("clear-reason", "Spent conviction for a minor offence; not relevant.").await;
    b.submit_action("clear").await;
    let page = b.wait_for_text("The hold was cleared").await;
    assert!(page.contains("No applications are waiting for vetting."));
    b.sign_out().await;

    // A wrong access code: one neutral message.
    b.goto(&format!("{base}/status?lang=en&reference=LG-7K4M-2QXP")).await;
    b.fill("access_code", "WRONGCODE").await;
    b.click("form[action='/status'] button[type=submit]").await;
    b.wait_for_text("We could not find an application with this reference and access code.").await;

    b.close().await;
}

/// chromedriver's own command that sets the browser's network conditions: offline or not.
#[derive(Debug)]
struct Offline(bool);

impl fantoccini::wd::WebDriverCompatibleCommand for Offline {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/chromium/network_conditions", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        let throughput = if self.0 { 0 } else { -1 };
        let body = json!({"network_conditions": {"offline": self.0, "latency": 0,
            "download_throughput": throughput, "upload_throughput": throughput}});
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

impl Browser {
    /// Waits until the offline page shows a verdict; returns its code.
    async fn verdict(&self) -> String {
        for _ in 0..200 {
            let code = self.eval("return document.getElementById('verdict').dataset.code || null;").await;
            if let Some(code) = code.as_str() {
                // Cleared for the next check.
                self.eval("delete document.getElementById('verdict').dataset.code;").await;
                return code.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the page never showed a verdict:\n{}", self.text().await);
    }

    /// Loads a file into the offline page's file input `id`.
    async fn upload(&self, id: &str, path: &Path) {
        self.id(id).await.send_keys(&path.display().to_string()).await.unwrap();
    }
}

/// The offline verifier page, opened from its file with the network switched off: it reads
/// the QR code of an issued authorisation and says valid; a tampered text, an expired one
/// and a revoked one are refused with their reasons; and
/// its verdicts on a sample of the generated corpus are those of the library.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_offline_page_verifies_issued_authorisations() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // Issued sixty days ago, for a thirty-day window: expired now.
    app.shift_clock(chrono::Duration::days(-60));
    let (expired_id, expired_code) = crate::credentials::authorised_case(&app, "GB", "GB7770003").await;
    app.shift_clock(chrono::Duration::zero());
    let (id, code) = crate::credentials::authorised_case(&app, "GB", "GB7770001").await;
    let (revoked_id, revoked_code) = crate::credentials::authorised_case(&app, "GB", "GB7770002").await;
    let head = app.signed_in("head.gb").await;
    let (st, _) = crate::api::post(
        &head,
        format!("{}/api/v1/cases/{revoked_id}/revoke", app.base),
        json!({"reason": "Mission decision."}),
    )
    .await;
    assert_eq!(st, 200);
    let files = tempfile::tempdir().unwrap();
    let client = TestApp::client();
    let get = |path: String| client.get(format!("{}{path}", app.base));
    let qr = get(format!("/api/v1/applications/{id}/authorisation.png")).bearer_auth(&code).send().await.unwrap();
    std::fs::write(files.path().join("valid.png"), qr.bytes().await.unwrap()).unwrap();
    let qr = get(format!("/api/v1/applications/{expired_id}/authorisation.png"))
        .bearer_auth(&expired_code)
        .send()
        .await
        .unwrap();
    std::fs::write(files.path().join("expired.png"), qr.bytes().await.unwrap()).unwrap();
    let token = app.applicant_json(&id, &code, "/authorisation").await.1;
    let token = token["token"].as_str().unwrap().to_owned();
    // The revoked one was printed before it was revoked: take its text from the history.
    let (record, history) = legion_web::service::applicant_case(
        &app.state,
        legion_domain::ApplicationId::parse(&revoked_id).unwrap(),
        &revoked_code,
    )
    .await
    .unwrap();
    assert_eq!(record.state, legion_domain::State::Revoked);
    let revoked_token = history.iter().find(|h| h.command == "authorise").unwrap().details["credential"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(files.path().join("revoked.png"), legion_credential::qr::png(&revoked_token, 6).unwrap()).unwrap();
    for (name, path) in
        [("trust.json", "/api/v1/credentials/trust-list"), ("revocations.json", "/api/v1/credentials/revocations")]
    {
        std::fs::write(files.path().join(name), get(path.into()).send().await.unwrap().text().await.unwrap()).unwrap();
    }

    let b = Browser::start().await;
    b.c.issue_cmd(Offline(true)).await.expect("chromedriver switches the network off");
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../verify-page/index.html").canonicalize().unwrap();
    b.goto(&format!("file://{}", page.display())).await;
    assert_eq!(b.eval("return navigator.onLine;").await, json!(false), "the browser is offline");
    b.wait_for_text("Entry authorisation check").await;

    // The corpus first, against its own lists.
    let now = SystemClock.now().timestamp();
    let mut fixture = legion_credential::corpus::Fixture::at(5, now);
    let cases = legion_credential::corpus::cases(&mut fixture, 26 * 6, 9);
    let script = "const [trust, rev, tokens, done] = arguments; const v = window.legionVerify; \
        (async () => { v.forget(); await v.setTrustList(trust); await v.setRevocations(rev); \
        const out = []; for (const t of tokens) { out.push((await v.verify(t)).code); } v.forget(); done(out); })() \
        .catch((e) => done(String(e)));";
    let tokens: Vec<&str> = cases.iter().map(|c| c.token.as_str()).collect();
    let codes =
        b.c.execute_async(script, vec![json!(fixture.trust_json), json!(fixture.revocations_json()), json!(tokens)])
            .await
            .unwrap();
    let codes: Vec<String> =
        serde_json::from_value(codes.clone()).unwrap_or_else(|_| panic!("the page failed: {codes}"));
    let wrong: Vec<_> = cases
        .iter()
        .zip(&codes)
        .filter(|(c, got)| c.expected != got.as_str())
        .map(|(c, got)| (c.expected, got.clone()))
        .collect();
    assert!(
        wrong.is_empty(),
        "the page disagrees on {} of {}: {:?}",
        wrong.len(),
        cases.len(),
        &wrong[..wrong.len().min(8)]
    );
    b.eval("window.legionVerify.forget();").await;

    // The server's lists, as a border post loads them.
    b.goto(&format!("file://{}", page.display())).await;
    b.upload("trust-file", &files.path().join("trust.json")).await;
    b.wait_for_text("keys, signed").await;
    b.upload("revocations-file", &files.path().join("revocations.json")).await;
    b.wait_for_text("1 revoked").await;

    b.upload("qr-file", &files.path().join("valid.png")).await;
    assert_eq!(b.verdict().await, "valid");
    let text = b.text().await;
    assert!(text.contains("VALID") && text.contains("GB7770001"), "{text}");

    let mut tampered: Vec<char> = token.chars().collect();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == '0' { '1' } else { '0' };
    b.fill("token", &tampered.into_iter().collect::<String>()).await;
    b.click("#check").await;
    let refused = b.verdict().await;
    assert!(["bad_signature", "bad_compression", "not_cose", "bad_claims"].contains(&refused.as_str()), "{refused}");
    assert!(b.text().await.contains("REFUSED"));

    b.upload("qr-file", &files.path().join("revoked.png")).await;
    assert_eq!(b.verdict().await, "revoked");

    b.upload("qr-file", &files.path().join("expired.png")).await;
    assert_eq!(b.verdict().await, "expired");

    // The server's border page, online: check, record once, warned on a second use.
    b.c.issue_cmd(Offline(false)).await.expect("chromedriver switches the network on");

    // The applicant's printable letter: the QR code and what it states, in both languages.
    let (_, view) = app.applicant_json(&id, &code, "").await;
    b.goto(&format!("{}/status", app.base)).await;
    b.fill("reference", view["reference"].as_str().unwrap()).await;
    b.fill("access_code", &code).await;
    b.click("form[action='/status'] button[type=submit]").await;
    let letter = b.wait_for_text("Entry authorisation · Дозвіл на в’їзд в Україну").await;
    assert!(letter.contains("GB7770001") && letter.contains("Покажіть цей код"), "{letter}");
    let modules = b.eval("return document.querySelectorAll('#letter svg path, #letter svg rect').length;").await;
    assert!(modules.as_u64().unwrap_or(0) > 0, "the letter carries the QR code");
    assert!(b.c.find(Locator::Css("form[action='/status/authorisation.png'] button")).await.is_ok());
    b.sign_in(&app.base, "border").await;
    b.wait_for_text("Border check").await;
    b.fill("token", &token).await;
    b.fill("crossing_point", "Medyka–Shehyni").await;
    b.click("form[action='/staff/border/check'] button[type=submit]").await;
    let page = b.wait_for_text("VALID").await;
    assert!(page.contains("GB7770001") && page.contains("Compare every line"), "{page}");
    b.click("#record-crossing").await;
    b.wait_for_text("CROSSING RECORDED").await;
    assert_eq!(
        b.attr("crossing_point", "value").await.as_deref(),
        Some("Medyka–Shehyni"),
        "the point stays for the next traveller"
    );
    b.fill("token", &token).await;
    b.click("#record-crossing").await;
    let page = b.wait_for_text("ALREADY USED").await;
    assert!(page.contains("Medyka–Shehyni"), "{page}");
    b.fill("token", &revoked_token).await;
    b.click("form[action='/staff/border/check'] button[type=submit]").await;
    let page = b.wait_for_text("REFUSED").await;
    assert!(page.contains("revoked"), "{page}");
    b.close().await;
}
