//! What the store's test files share: a migrated store on a database of its own (a temporary
//! `SQLite` file, or a fresh `PostgreSQL` database on the server `LEGION_TEST_PG_URL` names),
//! the `contract!` macro that runs a test on both, and domain values to write.

#![allow(dead_code, unused_imports, reason = "each test file uses part of the support")]

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use legion_domain::lifecycle::decide;
use legion_domain::screening::{Flag, FlagKind};
use legion_domain::{
    Actor, ApplicantDetails, ApplicationId, Command, CountryCode, Mission, MissionId, PolicySet, Recommendation,
    Reference, Role, StaffActor, StaffId, State, Username,
};
use legion_store::{
    ApplicationRecord, AuditEvent, Keys, NewApplication, NewStaff, PgStore, QueueQuery, QueueSort, Scope, SqliteStore,
    Store, StoreError, TransitionWrite,
};
use sqlx::{Connection, Executor};
use uuid::Uuid;

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

pub enum Backend {
    Sqlite { _dir: tempfile::TempDir },
    Postgres { admin_url: String, name: String },
}

/// A migrated store on a database of its own, dropped with the fixture.
pub struct Db {
    pub store: Arc<dyn Store>,
    pub url: String,
    pub keys: Arc<Keys>,
    pub backend: Backend,
}

pub fn pg_admin_url() -> String {
    std::env::var("LEGION_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

/// The same server URL with another database name.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let server = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

pub async fn pg_admin(url: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(url).await.unwrap_or_else(|e| {
        panic!(
            "cannot reach PostgreSQL at {url} ({e}); the contract suite needs it. Start PostgreSQL or set \
             LEGION_TEST_PG_URL=postgres://USER@HOST:PORT/DB to a server where USER may create databases"
        )
    })
}

impl Db {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("legion.db").display());
        let keys = Arc::new(Keys::ephemeral());
        let store = legion_store::open(&url, Arc::clone(&keys)).await.expect("open SQLite");
        store.migrate().await.expect("migrate SQLite");
        Self { store, url, keys, backend: Backend::Sqlite { _dir: dir } }
    }

    pub async fn postgres() -> Self {
        let (admin_url, name, url) = Self::create_pg_database().await;
        let keys = Arc::new(Keys::ephemeral());
        let store = legion_store::open(&url, Arc::clone(&keys)).await.expect("open PostgreSQL");
        store.migrate().await.expect("migrate PostgreSQL");
        Self { store, url, keys, backend: Backend::Postgres { admin_url, name } }
    }

    /// An empty database of its own, without a store.
    pub async fn create_pg_database() -> (String, String, String) {
        let admin_url = pg_admin_url();
        let name = format!("legion_t_{}", Uuid::new_v4().simple());
        let mut admin = pg_admin(&admin_url).await;
        admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("CREATE DATABASE");
        admin.close().await.ok();
        let url = with_database(&admin_url, &name);
        (admin_url, name, url)
    }

    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// Runs one statement on a connection of its own, outside the store.
    pub async fn raw_execute(&self, sql: &'static str) -> Result<u64, String> {
        match self.backend {
            Backend::Sqlite { .. } => {
                let mut c = sqlx::SqliteConnection::connect(&self.url).await.expect("raw SQLite connection");
                c.execute(sql).await.map(|r| r.rows_affected()).map_err(|e| e.to_string())
            }
            Backend::Postgres { .. } => {
                let mut c = sqlx::PgConnection::connect(&self.url).await.expect("raw PostgreSQL connection");
                c.execute(sql).await.map(|r| r.rows_affected()).map_err(|e| e.to_string())
            }
        }
    }
}

pub fn drop_pg_database(admin_url: String, name: String) {
    // Drop runs outside async code (and during panics), so the cleanup gets its own runtime.
    let cleanup = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                let _ =
                    admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await;
                admin.close().await.ok();
            }
        });
    });
    let _ = cleanup.join();
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Backend::Postgres { admin_url, name } = &self.backend {
            drop_pg_database(admin_url.clone(), name.clone());
        }
    }
}

/// Generates `sqlite::NAME` and `postgres::NAME` for each contract test `NAME(&Db)`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = super::Db::sqlite().await;
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = super::Db::postgres().await;
                    super::$name(&db).await;
                }
            )*
        }
    };
}

// ---------------------------------------------------------------------------------------
// Domain values
// ---------------------------------------------------------------------------------------

pub fn t(minutes: i64) -> DateTime<Utc> {
    "2024-06-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(minutes)
}

pub fn today() -> NaiveDate {
    t(0).date_naive()
}

pub fn audit(action: &str, object: &str) -> AuditEvent {
    AuditEvent {
        at: t(0),
        actor: "system".into(),
        role: "system".into(),
        mission: None,
        action: action.into(),
        object: object.into(),
        outcome: "ok".into(),
    }
}

pub fn country(code: &str) -> CountryCode {
    CountryCode::parse(code).unwrap()
}

pub fn mid(id: &str) -> MissionId {
    MissionId::parse(id).unwrap()
}

pub fn mission(id: &str, covers: &[&str]) -> Mission {
    Mission {
        id: mid(id),
        name: format!("Embassy {id}"),
        country: country(&id[..2]),
        covers: covers.iter().map(|c| country(c)).collect(),
        regional: false,
    }
}

pub async fn put_missions(db: &Db) {
    for m in [mission("pl-warsaw", &["PL", "LT"]), mission("gb-london", &["GB"])] {
        db.store().put_mission(&m, &audit("mission.put", &format!("mission:{}", m.id))).await.unwrap();
    }
}

pub fn details() -> ApplicantDetails {
    ApplicantDetails::parse(
        &serde_json::json!({
            "given_names": "Олександр",
            "family_name": "Smith-O'Neil",
            "date_of_birth": "1990-04-01",
            "nationality": "GB",
            "country_of_residence": "GB",
            "passport_number": "123 456 789",
            "passport_expiry": "2030-01-01",
            "email": "a.smith@example.org",
            "military_experience": [{"country": "GB", "branch": "Army", "from": "2010-01", "to": "2016-06-30", "role": "Infantry"}],
            "languages": ["English", "Ukrainian"],
            "travel": {"departure_country": "PL", "departure_city": "Rzeszów", "earliest_date": "2024-07-01", "group_travel": true},
            "declarations": {"no_criminal_record": true, "consent_background_check": true}
        }),
        today(),
    )
    .expect("valid application")
}

pub fn random_reference() -> Reference {
    Reference::from_random(Uuid::new_v4().as_u64_pair().0 & ((1 << 40) - 1))
}

pub fn new_app(mission: &str, submitted_minute: i64, passport_index: &str) -> NewApplication {
    NewApplication {
        id: ApplicationId(Uuid::new_v4()),
        reference: random_reference(),
        mission: mid(mission),
        access_hash: format!("access-{}", Uuid::new_v4().simple()),
        passport_index: passport_index.into(),
        email_index: format!("email-{passport_index}"),
        idempotency: None,
        details: details(),
        submitted_at: t(submitted_minute),
        policy_version: "2024-05-18".into(),
    }
}

pub async fn submit(db: &Db, mission: &str, submitted_minute: i64, passport_index: &str) -> NewApplication {
    let app = new_app(mission, submitted_minute, passport_index);
    db.store()
        .insert_application(&app, &audit("application.submit", &format!("application:{}", app.id)))
        .await
        .unwrap();
    app
}

pub async fn create_staff(db: &Db, username: &str, role: Role, mission: Option<&str>) -> StaffActor {
    let staff = NewStaff {
        id: StaffId(Uuid::new_v4()),
        username: Username::parse(username).unwrap(),
        display_name: format!("Staff {username}"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        role,
        mission: mission.map(mid),
        created_at: t(0),
    };
    db.store().create_staff(&staff, &audit("staff.create", &format!("staff:{}", staff.id))).await.unwrap();
    StaffActor { id: staff.id, role, mission: staff.mission }
}

pub async fn load(db: &Db, id: ApplicationId) -> ApplicationRecord {
    db.store().case(id, &Scope::All).await.unwrap().expect("case exists")
}

pub async fn audit_count(db: &Db) -> usize {
    db.store().audit_events(0, 100_000).await.unwrap().len()
}

/// Decides `command` on the stored case and stores the transition; returns the new version.
pub async fn act(db: &Db, id: ApplicationId, actor: &Actor, command: &Command, minute: i64) -> Result<i64, StoreError> {
    let rec = load(db, id).await;
    let policy = PolicySet::builtin().in_force(today()).unwrap().clone();
    let transition = decide(&rec.status(), actor, command, &policy, t(minute)).expect("legal command");
    let flags = match command {
        Command::CompleteScreening { flags } => Some(flags.as_slice()),
        _ => None,
    };
    let write = TransitionWrite {
        id,
        expected_version: rec.version,
        transition: &transition,
        actor,
        at: t(minute),
        flags,
        credential: None,
        screening_keys: None,
    };
    db.store()
        .apply_transition(&write, &audit(&format!("case.{}", transition.command), &format!("application:{id}")))
        .await
}

pub fn hit() -> Flag {
    Flag { kind: FlagKind::DuplicatePassport, explanation: "seen before".into(), basis: "LG-0000-0000".into() }
}

pub async fn to_vetting_hold(db: &Db, id: ApplicationId) {
    act(db, id, &Actor::System, &Command::BeginScreening, 1).await.unwrap();
    act(db, id, &Actor::System, &Command::CompleteScreening { flags: vec![hit()] }, 2).await.unwrap();
}

pub async fn to_mission_review(db: &Db, id: ApplicationId) {
    act(db, id, &Actor::System, &Command::BeginScreening, 1).await.unwrap();
    act(db, id, &Actor::System, &Command::CompleteScreening { flags: vec![] }, 2).await.unwrap();
}

pub fn query(state: Option<State>, sort: QueueSort, offset: u32, limit: u32) -> QueueQuery {
    QueueQuery { state, sort, offset, limit, ..QueueQuery::default() }
}
