//! Shared test harness: starts the real server on port 0 with a fresh database (SQLite
//! temp file or a throwaway PostgreSQL database), missions and one account per role.
#![allow(dead_code, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use legion_domain::{CountryCode, Mission, MissionId, PolicySet, Role, SystemClock};
use legion_store::{AuditEvent, NewStaff, Store};
use legion_web::{AppState, Keys, OsRandom, WebConfig};
use serde_json::{Value, json};

/// The audit log's origin in tests.
pub const AUDIT_ORIGIN: &str = "legion.test/audit";

/// Password of every test account.
pub const PASSWORD: &str = "correct horse battery staple";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The accounts every test app has: (username, role, mission).
pub const ACCOUNTS: &[(&str, Role, Option<&str>)] = &[
    ("officer.gb", Role::MissionOfficer, Some("gb-london")),
    ("head.gb", Role::MissionHead, Some("gb-london")),
    ("head2.gb", Role::MissionHead, Some("gb-london")),
    ("officer.us", Role::MissionOfficer, Some("us-washington")),
    ("head.us", Role::MissionHead, Some("us-washington")),
    ("vetting", Role::VettingOfficer, None),
    ("border", Role::BorderOfficer, None),
    ("reception", Role::ReceptionOfficer, None),
    ("records", Role::RecordsOfficer, None),
    ("auditor", Role::Auditor, None),
    ("admin", Role::Admin, None),
];

/// A throwaway PostgreSQL database, dropped with the app.
pub struct PgDb {
    admin_url: String,
    name: String,
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; use a separate thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut c) = sqlx::PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await;
                }
            });
        })
        .join();
    }
}

/// The PostgreSQL server tests use: `LEGION_TEST_PG_URL`, else the local one.
pub fn pg_admin_url() -> String {
    std::env::var("LEGION_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn fresh_pg() -> (String, PgDb) {
    use sqlx::Connection;
    let admin_url = pg_admin_url();
    let mut c = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is required for this test and did not answer at {admin_url} ({e}); set LEGION_TEST_PG_URL")
    });
    let name = format!("legion_w_{}", hex::encode(rand::random::<[u8; 8]>()));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut c).await.unwrap();
    let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b);
    (format!("{base}/{name}"), PgDb { admin_url: admin_url.clone(), name })
}

/// A running server.
/// The wall clock, shifted by an offset a test may set (to issue something "in the past").
#[derive(Debug, Default)]
pub struct ShiftedClock(std::sync::atomic::AtomicI64);

impl legion_domain::Clock for ShiftedClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        SystemClock.now() + chrono::Duration::milliseconds(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    clock: Arc<ShiftedClock>,
    _dir: tempfile::TempDir,
    documents_dir: std::path::PathBuf,
    _pg: Option<PgDb>,
    server: tokio::task::JoinHandle<()>,
    worker: tokio::task::JoinHandle<()>,
    watcher: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        self.worker.abort();
        if let Some(watcher) = &self.watcher {
            watcher.abort();
        }
    }
}

fn audit(action: &str) -> AuditEvent {
    AuditEvent {
        at: chrono::DateTime::from_timestamp(1_646_000_000, 0).unwrap(),
        actor: "test".into(),
        role: "operator".into(),
        mission: None,
        action: action.into(),
        object: "setup".into(),
        outcome: "ok".into(),
    }
}

fn mission(id: &str, name: &str, covers: &[&str], regional: bool) -> Mission {
    Mission {
        id: MissionId::parse(id).unwrap(),
        name: name.into(),
        country: CountryCode::parse(&id[..2]).unwrap(),
        covers: covers.iter().map(|c| CountryCode::parse(c).unwrap()).collect(),
        regional,
    }
}

impl TestApp {
    /// Starts a server on `backend` with missions gb-london (GB, IE), us-washington (US)
    /// and pl-warsaw (PL, regional), and the [`ACCOUNTS`].
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_, _| {}).await
    }

    /// [`TestApp::spawn`] with changed settings; `dir` is the test's own directory.
    pub async fn spawn_with(backend: Backend, change: impl FnOnce(&mut WebConfig, &std::path::Path)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg) = match backend {
            Backend::Sqlite => (format!("sqlite://{}", dir.path().join("legion.db").display()), None),
            Backend::Postgres => {
                let (url, db) = fresh_pg().await;
                (url, Some(db))
            }
        };
        let keys = Arc::new(legion_store::Keys::load_or_create(&dir.path().join("keys")).unwrap());
        let store: Arc<dyn Store> = legion_store::open(&url, keys).await.unwrap();
        store.migrate().await.unwrap();
        for m in [
            mission("gb-london", "Embassy of Ukraine in the United Kingdom", &["GB", "IE"], false),
            mission("us-washington", "Embassy of Ukraine in the United States", &["US"], false),
            mission("pl-warsaw", "Embassy of Ukraine in Poland", &["PL"], true),
        ] {
            store.put_mission(&m, &audit("mission.put")).await.unwrap();
        }
        let mut config = WebConfig { screening_poll: Duration::from_millis(200), ..WebConfig::default() };
        change(&mut config, dir.path());
        std::fs::create_dir_all(dir.path().join("documents")).unwrap();
        let documents = object_store::local::LocalFileSystem::new_with_prefix(dir.path().join("documents")).unwrap();
        let clock = Arc::new(ShiftedClock::default());
        let state = AppState::new(
            store.clone(),
            Arc::new(documents),
            clock.clone(),
            Arc::new(OsRandom),
            PolicySet::builtin(),
            Keys {
                index_key: [7; 32],
                checkpoint: Arc::new(legion_audit::CheckpointSigner::from_seed(AUDIT_ORIGIN, &[9; 32]).unwrap()),
                credentials: Arc::new(legion_web::credentials::CredentialKeys::in_memory([11; 32])),
            },
            config,
        );
        let hash = legion_web::auth::hash_password(PASSWORD, &OsRandom).unwrap();
        for (i, (username, role, m)) in ACCOUNTS.iter().enumerate() {
            let n = NewStaff {
                id: legion_domain::StaffId::from_random([u8::try_from(i).unwrap() + 1; 16]),
                username: legion_domain::Username::parse(username).unwrap(),
                display_name: format!("Test {username}"),
                password_hash: hash.clone(),
                role: *role,
                mission: m.map(|m| MissionId::parse(m).unwrap()),
                created_at: chrono::DateTime::from_timestamp(1_646_000_000, 0).unwrap(),
            };
            store.create_staff(&n, &audit("staff.create")).await.unwrap();
        }
        let worker = legion_web::service::spawn_screening_worker(state.clone());
        let watcher =
            state.config.watchlist_dir.is_some().then(|| legion_web::service::spawn_watchlist_watcher(state.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = legion_web::router(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let documents_dir = dir.path().join("documents");
        TestApp { base, state, clock, _dir: dir, documents_dir, _pg: pg, server, worker, watcher }
    }

    /// `GET /api/v1/applications/{id}{rest}` with the access code: status and JSON body.
    pub async fn applicant_json(&self, id: &str, code: &str, rest: &str) -> (u16, Value) {
        let r = Self::client()
            .get(format!("{}/api/v1/applications/{id}{rest}", self.base))
            .bearer_auth(code)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Moves the server's clock `by` away from the wall clock (zero: back to it).
    pub fn shift_clock(&self, by: chrono::Duration) {
        self.clock.0.store(by.num_milliseconds(), std::sync::atomic::Ordering::SeqCst);
    }

    /// The directory the documents' sealed objects are written to.
    pub fn documents_dir(&self) -> std::path::PathBuf {
        self.documents_dir.clone()
    }

    /// An HTTP client with a cookie jar and no redirects followed.
    pub fn client() -> reqwest::Client {
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
    }

    /// A client signed in as `username`.
    pub async fn signed_in(&self, username: &str) -> reqwest::Client {
        let c = Self::client();
        let r = c
            .post(format!("{}/api/v1/session", self.base))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "sign-in as {username}");
        c
    }

    /// A fresh session for `username`, created in the store directly (no password hash
    /// to compute): the `Cookie` header value.
    pub async fn session_cookie(&self, username: &str) -> String {
        let i = ACCOUNTS.iter().position(|(u, ..)| *u == username).expect("known account");
        let id = legion_domain::StaffId::from_random([u8::try_from(i).unwrap() + 1; 16]);
        let token = hex::encode(rand::random::<[u8; 32]>());
        let expires = self.state.clock.now() + chrono::Duration::hours(1);
        let hash = legion_web::auth::secret_hash(&token);
        self.state.store.create_session(&hash, id, expires, &audit("session.sign_in")).await.unwrap();
        format!("{}={token}", legion_web::auth::SESSION_COOKIE)
    }

    /// Submits `body`; returns the JSON answer (asserting 201).
    pub async fn submit(&self, body: &Value) -> Value {
        let r = Self::client().post(format!("{}/api/v1/applications", self.base)).json(body).send().await.unwrap();
        assert_eq!(r.status(), 201, "submit");
        r.json().await.unwrap()
    }

    /// Waits (up to 10 s) until the screening worker has moved case `id` out of
    /// `submitted`/`screening`; returns the state it reached.
    pub async fn screened(&self, id: &str, access_code: &str) -> String {
        for _ in 0..200 {
            let r = Self::client()
                .get(format!("{}/api/v1/applications/{id}", self.base))
                .bearer_auth(access_code)
                .send()
                .await
                .unwrap();
            let v: Value = r.json().await.unwrap();
            let s = v["status"].as_str().unwrap().to_owned();
            if s != "submitted" && s != "screening" {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("case {id} was not screened in time");
    }
}

/// Given and family names the test applications are made of (Latin, Ukrainian Cyrillic),
/// combined by passport number so that screening does not take two test applicants for one
/// person applying twice.
const GIVEN: &[(&str, &str)] = &[
    ("Jan", "Ян"),
    ("Oliver", "Олівер"),
    ("Amelia", "Амелія"),
    ("Lukas", "Лукас"),
    ("Sofia", "Софія"),
    ("Mateusz", "Матеуш"),
    ("Erik", "Ерік"),
    ("Noah", "Ной"),
    ("Isabel", "Ізабель"),
    ("Tomas", "Томаш"),
    ("Hannah", "Ганна"),
    ("Pieter", "Пітер"),
    ("Aiko", "Айко"),
    ("Liam", "Ліам"),
    ("Freya", "Фрея"),
    ("Dmitri", "Дмитро"),
    ("Grace", "Грейс"),
    ("Henrik", "Генрік"),
    ("Ines", "Інес"),
    ("Julien", "Жульєн"),
    ("Kasia", "Кася"),
    ("Marek", "Марек"),
    ("Nora", "Нора"),
    ("Oskar", "Оскар"),
];
const FAMILY: &[(&str, &str)] = &[
    ("Kowalski", "Ковальський"),
    ("Bennett", "Беннет"),
    ("Clarke", "Кларк"),
    ("Hoffmann", "Гофман"),
    ("Marchetti", "Маркетті"),
    ("Zielinski", "Зелінський"),
    ("Lindqvist", "Ліндквіст"),
    ("Fitzgerald", "Фіцджеральд"),
    ("Moreno", "Морено"),
    ("Novak", "Новак"),
    ("Okafor", "Окафор"),
    ("Vries", "Фріс"),
    ("Tanaka", "Танака"),
    ("Gallagher", "Галлахер"),
    ("Johansen", "Йогансен"),
    ("Petrauskas", "Петраускас"),
    ("Dubois", "Дюбуа"),
    ("Eriksen", "Еріксен"),
    ("Fischer", "Фішер"),
    ("Garcia", "Гарсія"),
    ("Horvath", "Горват"),
    ("Ivanauskas", "Іванаускас"),
    ("Jensen", "Єнсен"),
    ("Keller", "Келлер"),
];

/// A valid application from someone living in `residence`; the applicant (name, date of
/// birth) is chosen by the passport number, so the same passport is the same person.
pub fn application(residence: &str, passport: &str) -> Value {
    let normalised: String =
        passport.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect();
    let seed = normalised.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let pick = |n: u64, len: usize| usize::try_from(n % len as u64).unwrap();
    let (given, given_native) = GIVEN[pick(seed, GIVEN.len())];
    let (family, family_native) = FAMILY[pick(seed / 31, FAMILY.len())];
    let native = format!("{given_native} {family_native}");
    let born = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
        + chrono::Duration::days(i64::try_from(seed % 12_000).unwrap());
    json!({
        "given_names": given,
        "family_name": family,
        "native_name": native,
        "date_of_birth": born.to_string(),
        "nationality": residence,
        "country_of_residence": residence,
        "passport_number": passport,
        "passport_expiry": "2031-01-01",
        "email": "jan.kowalski@example.org",
        "phone": "+44 20 7946 0958",
        "military_experience": [{"country": residence, "branch": "Army", "from": "2008-09", "to": "2014-08", "role": "Rifleman"}],
        "languages": ["English", "Polish"],
        "travel": {"departure_country": "PL", "departure_city": "Rzeszów", "earliest_date": "2031-01-01", "group_travel": true},
        "declarations": {"no_criminal_record": true, "consent_background_check": true}
    })
}
