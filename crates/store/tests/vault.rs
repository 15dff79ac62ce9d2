//! Personal data at rest, on both backends: the raw database holds none of it, a ciphertext
//! moved to another row, column or mission does not open, rotating the key-encryption key or a
//! mission's data key keeps every row readable (resumably), and shredding a mission destroys
//! its personal data and nothing else.

#[macro_use]
mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine as _;
use legion_domain::{Actor, ApplicantDetails, ApplicationId, Command, PolicySet, Role};
use legion_store::{
    ApplicationRecord, AuditEvent, HistoryEntry, Keys, NewApplication, Scope, Store, StoreError, TransitionWrite,
};
use sqlx::Connection;
use support::*;

contract!(
    raw_database_holds_no_personal_data,
    swapped_ciphertexts_do_not_open,
    kek_rotation_rewraps_every_data_key_and_the_old_kek_can_go,
    data_key_rotation_reencrypts_resumably_and_retires_the_old_key,
    a_stale_writer_blocks_retirement_until_its_rows_are_reencrypted,
    shredding_a_mission_destroys_its_personal_data_only,
    a_server_with_cached_keys_never_seals_under_a_destroyed_key,
    rows_written_before_encryption_are_sealed_at_migration,
    each_change_to_a_row_continues_its_audit_hashes_through_resealing,
);

// ---------------------------------------------------------------------------------------
// Distinctive personal data: any of it found in the raw database is a leak.
// ---------------------------------------------------------------------------------------

/// (given names, family name, native name, passport, e-mail, phone, departure city)
#[rustfmt::skip]
const PEOPLE: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
    ("Wojciechqx", "Brzęczyszczykiewiczqx", "Войцехквікс", "QX7734921", "zorya.volunteer@example.net", "+48 601 555 019", "Zhovkvaqx"),
    ("Ярославщ", "Коваленкощ", "Ярослав Коваленкощ", "QX7734922", "yaroslav.kovqx@example.net", "+380 44 555 0192", "Przemyślqx"),
    ("Siobhánqx", "Ó Briainqx", "Сіобхан Обрайенкс", "QX7734923", "siobhan.qx@example.net", "+353 1 555 0193", "Dunleerqx"),
    ("Giorgiqx", "Beridzeqx", "გიორგიქს ბერიძექს", "QX7734924", "giorgi.qx@example.net", "+995 32 555 0194", "Batumiqx"),
    ("Takeshiqx", "Yamamotoqx", "山本武クス", "QX7734925", "takeshi.qx@example.net", "+81 3 5555 0195", "Sapporoqx"),
    ("Lukasqx", "Müllerqx", "Лукас Мюллерквікс", "QX7734926", "lukas.qx@example.net", "+49 30 555 0196", "Görlitzqx"),
];

/// Free text written by staff and applicants in the course of a case.
const VETTING_REASON: &str = "Xylophonequx checked: not the listed person";
const INFO_MESSAGE: &str = "Надішліть довідку Квіксотрон про звільнення";
const INFO_ANSWER: &str = "Attached the Quixotronqx discharge papers";
const FLAG_EXPLANATION: &str = "Resembles watchlist entry Ivanquxov";
const INTERVIEW_PLACE: &str = "Room Zanzibarqx";

fn person(n: usize) -> ApplicantDetails {
    let (given, family, native, passport, email, phone, city) = PEOPLE[n % PEOPLE.len()];
    ApplicantDetails::parse(
        &serde_json::json!({
            "given_names": given,
            "family_name": family,
            "native_name": native,
            "date_of_birth": "1987-11-23",
            "nationality": "GB",
            "country_of_residence": "GB",
            "passport_number": passport,
            "passport_expiry": "2031-03-04",
            "email": email,
            "phone": phone,
            "military_experience": [{"country": "GB", "branch": "Royal Marinesqx", "from": "2008-01", "to": "2014-06-30", "role": "Sniper Quxinstructor"}],
            "languages": ["English", "Ukrainian"],
            "travel": {"departure_country": "PL", "departure_city": city, "earliest_date": "2024-07-01", "group_travel": false},
            "declarations": {"no_criminal_record": true, "consent_background_check": true}
        }),
        today(),
    )
    .expect("valid application")
}

/// Every value above that must never be stored in plaintext.
fn secrets() -> Vec<&'static str> {
    let mut all: Vec<&str> = PEOPLE
        .iter()
        .flat_map(|(g, f, n, p, e, ph, c)| [*g, *f, *n, *p, *e, *ph, *c])
        .chain([VETTING_REASON, INFO_MESSAGE, INFO_ANSWER, FLAG_EXPLANATION, INTERVIEW_PLACE])
        .collect();
    // Distinctive parts too, in case a value were stored split or re-encoded.
    all.extend(["Quixotronqx", "Квіксотрон", "Xylophonequx", "Ivanquxov", "Zanzibarqx", "Quxinstructor", "Marinesqx"]);
    all.extend(["QX773492", "example.net", "555 019", "1987-11-23"]);
    all
}

// ---------------------------------------------------------------------------------------
// Helpers over any store (a second store over the same database is a second server).
// ---------------------------------------------------------------------------------------

fn event(action: &str, object: &str, mission: Option<&str>) -> AuditEvent {
    AuditEvent { mission: mission.map(str::to_owned), ..audit(action, object) }
}

async fn insert(s: &dyn Store, mission: &str, minute: i64, n: usize) -> NewApplication {
    let app = NewApplication { details: person(n), ..new_app(mission, minute, &format!("pidx-{n}")) };
    s.insert_application(&app, &event("application.submit", &format!("application:{}", app.id), Some(mission)))
        .await
        .unwrap();
    app
}

async fn act_on(s: &dyn Store, id: ApplicationId, actor: &Actor, command: Command, minute: i64) {
    let rec = s.case(id, &Scope::All).await.unwrap().expect("case exists");
    let policy = PolicySet::builtin().in_force(today()).unwrap().clone();
    let transition = legion_domain::lifecycle::decide(&rec.status(), actor, &command, &policy, t(minute))
        .unwrap_or_else(|e| panic!("{command:?} is legal: {e:?}"));
    let flags = match &command {
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
    s.apply_transition(&write, &audit(&format!("case.{}", transition.command), &format!("application:{id}")))
        .await
        .unwrap();
}

fn staff(role: Role, mission: Option<&str>) -> legion_domain::StaffActor {
    legion_domain::StaffActor { id: legion_domain::StaffId(uuid::Uuid::new_v4()), role, mission: mission.map(mid) }
}

/// Takes a case through screening with a flag, vetting, a request for information and its
/// answer, and an interview: sealed flags and six history entries with free text.
async fn work_case(s: &dyn Store, id: ApplicationId, mission: &str) {
    // History names staff by id; no account row is needed for these commands.
    let vetter = staff(Role::VettingOfficer, None);
    let officer = staff(Role::MissionOfficer, Some(mission));
    let flag = legion_domain::screening::Flag {
        kind: legion_domain::screening::FlagKind::DuplicatePassport,
        explanation: FLAG_EXPLANATION.into(),
        basis: "LG-0000-0000".into(),
    };
    act_on(s, id, &Actor::System, Command::BeginScreening, 1).await;
    act_on(s, id, &Actor::System, Command::CompleteScreening { flags: vec![flag] }, 2).await;
    act_on(s, id, &Actor::Staff(vetter), Command::ClearVetting { reason: VETTING_REASON.into() }, 3).await;
    let officer = Actor::Staff(officer);
    act_on(s, id, &officer, Command::RequestInfo { message: INFO_MESSAGE.into() }, 4).await;
    act_on(s, id, &Actor::Applicant(id), Command::AnswerInfo { answer: INFO_ANSWER.into() }, 5).await;
    act_on(s, id, &officer, Command::ScheduleInterview { at: t(60 * 24), place: INTERVIEW_PLACE.into() }, 6).await;
}

/// What a case reads as: its record and its history.
async fn snapshot(s: &dyn Store, ids: &[ApplicationId]) -> Vec<(ApplicationRecord, Vec<HistoryEntry>)> {
    let mut out = Vec::new();
    for id in ids {
        let rec = s.case(*id, &Scope::All).await.unwrap().expect("case exists");
        out.push((rec, s.history(*id, &Scope::All).await.unwrap()));
    }
    out
}

async fn open_store(db: &Db, keys: Arc<Keys>) -> Arc<dyn Store> {
    legion_store::open(&db.url, keys).await.expect("a second store over the same database")
}

/// Who re-seals in these tests (the store names the action and the object).
fn reseal_event() -> AuditEvent {
    AuditEvent { actor: "cli".into(), role: "operator".into(), ..audit("application.reseal", "-") }
}

/// Reads every id's batches to the end; returns (scanned, changed).
async fn reencrypt_all(s: &dyn Store, mission: &str, mut after: Option<ApplicationId>, batch: u32) -> (u64, u64) {
    let (mut scanned, mut changed) = (0, 0);
    loop {
        let b = s.reencrypt_batch(&mid(mission), after, batch, &reseal_event()).await.unwrap();
        scanned += b.scanned;
        changed += b.changed;
        match b.next_after {
            Some(next) => after = Some(next),
            None => return (scanned, changed),
        }
    }
}

// Raw access to the tables, around the store.

macro_rules! on_backend {
    ($db:expr, |$c:ident| $body:expr) => {
        match $db.backend {
            Backend::Sqlite { .. } => {
                let mut $c = sqlx::SqliteConnection::connect(&$db.url).await.expect("raw SQLite connection");
                $body
            }
            Backend::Postgres { .. } => {
                let mut $c = sqlx::PgConnection::connect(&$db.url).await.expect("raw PostgreSQL connection");
                $body
            }
        }
    };
}

/// A sealed text column of one application (`details` or `flags`).
async fn sealed(db: &Db, column: &str, id: ApplicationId) -> String {
    let sql = match column {
        "details" => "SELECT details FROM applications WHERE id = $1",
        "flags" => "SELECT flags FROM applications WHERE id = $1",
        _ => unreachable!(),
    };
    on_backend!(db, |c| sqlx::query_scalar(sql).bind(id.to_string()).fetch_one(&mut c).await.unwrap())
}

async fn set_sealed(db: &Db, column: &str, id: ApplicationId, value: &str) {
    let sql = match column {
        "details" => "UPDATE applications SET details = $1 WHERE id = $2",
        "flags" => "UPDATE applications SET flags = $1 WHERE id = $2",
        _ => unreachable!(),
    };
    let n = on_backend!(db, |c| sqlx::query(sql)
        .bind(value)
        .bind(id.to_string())
        .execute(&mut c)
        .await
        .unwrap()
        .rows_affected());
    assert_eq!(n, 1);
}

async fn history_sealed(db: &Db, id: ApplicationId) -> Vec<(i64, String)> {
    let sql = "SELECT seq, details FROM application_history WHERE application_id = $1 ORDER BY seq";
    on_backend!(db, |c| sqlx::query_as(sql).bind(id.to_string()).fetch_all(&mut c).await.unwrap())
}

async fn set_history_sealed(db: &Db, id: ApplicationId, seq: i64, value: &str) {
    let sql = "UPDATE application_history SET details = $1 WHERE application_id = $2 AND seq = $3";
    let n = on_backend!(db, |c| sqlx::query(sql)
        .bind(value)
        .bind(id.to_string())
        .bind(seq)
        .execute(&mut c)
        .await
        .unwrap()
        .rows_affected());
    assert_eq!(n, 1);
}

/// The data key versions an application's sealed values (details groups, flags, history)
/// name in their envelope headers.
async fn sealed_versions(db: &Db, id: ApplicationId) -> BTreeSet<u32> {
    let version = |b64: &str| {
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).expect("base64 envelope");
        legion_vault::Envelope::decode(&bytes).expect("an envelope").key_version().0
    };
    let details: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&sealed(db, "details", id).await).unwrap();
    let mut out: BTreeSet<u32> = details.values().map(|v| version(v)).collect();
    out.insert(version(&sealed(db, "flags", id).await));
    out.extend(history_sealed(db, id).await.iter().map(|(_, d)| version(d)));
    out
}

/// Everything the database holds, as text: the `SQLite` file and its write-ahead log byte for
/// byte, or a `pg_dump` of the `PostgreSQL` database (every table's rows as text when
/// `pg_dump` is not installed).
async fn raw_content(db: &Db) -> String {
    match db.backend {
        Backend::Sqlite { .. } => {
            let path = db.url.strip_prefix("sqlite://").expect("a sqlite:// URL");
            let mut bytes = std::fs::read(path).expect("the database file");
            let wal = std::fs::read(format!("{path}-wal")).unwrap_or_default();
            assert!(!wal.is_empty(), "the store is open, so recent writes are in the write-ahead log");
            bytes.extend(wal);
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Backend::Postgres { .. } => match std::process::Command::new("pg_dump").arg("--dbname").arg(&db.url).output() {
            Ok(out) => {
                assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
                String::from_utf8(out.stdout).expect("pg_dump writes UTF-8")
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
                )
                .fetch_all(&mut c)
                .await
                .unwrap();
                let mut text = String::new();
                for table in tables {
                    let rows: Vec<String> =
                        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT CAST(t AS TEXT) FROM \"{table}\" t")))
                            .fetch_all(&mut c)
                            .await
                            .unwrap();
                    text.push_str(&rows.join("\n"));
                }
                text
            }
            Err(e) => panic!("cannot run pg_dump: {e}"),
        },
    }
}

fn assert_no_secrets(content: &str) {
    let lower = content.to_lowercase();
    for secret in secrets() {
        assert!(!content.contains(secret), "the raw database holds {secret:?} in plaintext");
        assert!(!lower.contains(&secret.to_lowercase()), "the raw database holds {secret:?} (in another case)");
    }
}

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

async fn raw_database_holds_no_personal_data(db: &Db) {
    put_missions(db).await;
    db.store().put_mission(&mission("de-berlin", &["DE"]), &audit("mission.put", "mission:de-berlin")).await.unwrap();
    let s = db.store();
    let mut references = Vec::new();
    for (n, m) in ["pl-warsaw", "gb-london", "de-berlin", "pl-warsaw", "gb-london", "de-berlin"].iter().enumerate() {
        let app = insert(s, m, i64::try_from(n).unwrap(), n).await;
        work_case(s, app.id, m).await;
        references.push(app.reference);
    }
    // The store reads it all back, so it is all there, sealed.
    let rec = s.cases(&Scope::All, &query(None, legion_store::QueueSort::SubmittedAsc, 0, 50)).await.unwrap();
    assert_eq!(rec.total, 6);
    assert_eq!(rec.items[0].details, person(0));
    assert_eq!(rec.items[0].flags[0].explanation, FLAG_EXPLANATION);
    let history = s.history(rec.items[0].id, &Scope::All).await.unwrap();
    let texts: Vec<String> = history.iter().map(|h| h.details.to_string()).collect();
    for free in [VETTING_REASON, INFO_MESSAGE, INFO_ANSWER, INTERVIEW_PLACE] {
        assert!(texts.iter().any(|t| t.contains(free)), "history holds {free:?}: {texts:?}");
    }

    let content = raw_content(db).await;
    // The search works: what is not personal is there in plaintext.
    for r in &references {
        assert!(content.contains(r.as_str()), "the raw content holds reference {r}");
    }
    assert!(content.contains("Embassy de-berlin"));
    assert_no_secrets(&content);

    if let Backend::Sqlite { .. } = db.backend {
        // And once the write-ahead log is folded into the file. The store's log copier may be
        // copying at the same moment, which makes a checkpoint answer "busy": tried again.
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        let mut folded = false;
        for _ in 0..100 {
            let (busy, _, _): (i64, i64, i64) =
                sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&mut c).await.unwrap();
            if busy == 0 {
                folded = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(folded, "the log could be folded into the file");
        let path = db.url.strip_prefix("sqlite://").unwrap();
        let file = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        assert!(file.contains(references[0].as_str()));
        assert_no_secrets(&file);
    }
}

async fn swapped_ciphertexts_do_not_open(db: &Db) {
    put_missions(db).await;
    let s = db.store();
    let a = insert(s, "pl-warsaw", 0, 0).await;
    let b = insert(s, "pl-warsaw", 1, 1).await;
    let g = insert(s, "gb-london", 2, 2).await;
    work_case(s, a.id, "pl-warsaw").await;
    work_case(s, b.id, "pl-warsaw").await;
    let before = snapshot(s, &[a.id]).await;
    let fails = |r: Result<Option<ApplicationRecord>, StoreError>, what: &str| match r {
        Err(StoreError::Internal(_)) => {}
        other => panic!("{what}: expected an error, got {other:?}"),
    };

    // Another row's details, of the same mission (same key) or of another.
    let (a_details, b_details, g_details) =
        (sealed(db, "details", a.id).await, sealed(db, "details", b.id).await, sealed(db, "details", g.id).await);
    set_sealed(db, "details", a.id, &b_details).await;
    fails(s.case(a.id, &Scope::All).await, "details of another row");
    fails(s.application_for_applicant(a.id, &a.access_hash).await, "details of another row (applicant)");
    set_sealed(db, "details", a.id, &g_details).await;
    fails(s.case(a.id, &Scope::All).await, "details of another mission's row");

    // One field group in place of another, or another row's group in its own place.
    let groups: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&a_details).unwrap();
    let others: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&b_details).unwrap();
    assert_eq!(groups.len(), 5, "five sealed field groups: {:?}", groups.keys().collect::<Vec<_>>());
    for (x, y) in [("identity", "contact"), ("passport", "background"), ("identity", "military")] {
        let mut swapped = groups.clone();
        swapped.insert(x.into(), groups[y].clone());
        swapped.insert(y.into(), groups[x].clone());
        set_sealed(db, "details", a.id, &serde_json::Value::Object(swapped).to_string()).await;
        fails(s.case(a.id, &Scope::All).await, &format!("{x} and {y} swapped"));
    }
    for group in groups.keys() {
        let mut mixed = groups.clone();
        mixed.insert(group.clone(), others[group].clone());
        set_sealed(db, "details", a.id, &serde_json::Value::Object(mixed).to_string()).await;
        fails(s.case(a.id, &Scope::All).await, &format!("{group} of another row"));
    }
    // A flipped bit.
    let mut tampered = groups.clone();
    let text = tampered["passport"].as_str().unwrap().to_owned();
    let mut raw = base64::engine::general_purpose::STANDARD.decode(&text).unwrap();
    *raw.last_mut().unwrap() ^= 1;
    tampered.insert("passport".into(), base64::engine::general_purpose::STANDARD.encode(raw).into());
    set_sealed(db, "details", a.id, &serde_json::Value::Object(tampered).to_string()).await;
    fails(s.case(a.id, &Scope::All).await, "a flipped bit");
    set_sealed(db, "details", a.id, &a_details).await;
    assert_eq!(snapshot(s, &[a.id]).await, before, "restored, it opens again");

    // Flags of another row.
    let a_flags = sealed(db, "flags", a.id).await;
    set_sealed(db, "flags", a.id, &sealed(db, "flags", b.id).await).await;
    fails(s.case(a.id, &Scope::All).await, "flags of another row");
    set_sealed(db, "flags", a.id, &a_flags).await;

    // History details moved between entries of one case, or from another case.
    let history = history_sealed(db, a.id).await;
    let b_history = history_sealed(db, b.id).await;
    assert_eq!(history.len(), 7);
    let (first, second) = (&history[3].1, &history[4].1);
    set_history_sealed(db, a.id, 4, second).await;
    set_history_sealed(db, a.id, 5, first).await;
    let err = s.history(a.id, &Scope::All).await;
    assert!(matches!(err, Err(StoreError::Internal(_))), "history entries swapped: {err:?}");
    set_history_sealed(db, a.id, 4, first).await;
    set_history_sealed(db, a.id, 5, &b_history[4].1).await;
    let err = s.history(a.id, &Scope::All).await;
    assert!(matches!(err, Err(StoreError::Internal(_))), "another case's entry: {err:?}");
    set_history_sealed(db, a.id, 5, second).await;

    assert_eq!(snapshot(s, &[a.id]).await, before, "restored, everything opens again");
}

async fn kek_rotation_rewraps_every_data_key_and_the_old_kek_can_go(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let keys = Arc::new(Keys::load_or_create(dir.path()).unwrap());
    let s = open_store(db, Arc::clone(&keys)).await;
    for m in [mission("pl-warsaw", &["PL"]), mission("gb-london", &["GB"])] {
        s.put_mission(&m, &audit("mission.put", &format!("mission:{}", m.id))).await.unwrap();
    }
    let mut ids = Vec::new();
    for (n, m) in ["pl-warsaw", "gb-london", "pl-warsaw"].iter().enumerate() {
        let app = insert(&*s, m, 0, n).await;
        work_case(&*s, app.id, m).await;
        ids.push(app.id);
    }
    let before = snapshot(&*s, &ids).await;
    // A server running through the rotation, with the key directory as it was at its start.
    let server = open_store(db, Arc::new(Keys::load_or_create(dir.path()).unwrap())).await;
    assert_eq!(snapshot(&*server, &ids[..1]).await, before[..1]);
    let mut rows_before = Vec::new();
    for id in &ids {
        rows_before.push((sealed(db, "details", *id).await, sealed(db, "flags", *id).await));
    }
    let data_keys = s.data_keys().await.unwrap();
    assert_eq!(data_keys.len(), 2);
    assert!(data_keys.iter().all(|k| k.kek_version == 1 && k.version == 1 && k.destroyed_at.is_none()));

    assert_eq!(keys.create_next().unwrap(), 2);
    assert!(dir.path().join("kek-2.key").exists());
    let rewrap = event("kek.rotate", "kek:2", None);
    assert_eq!(s.rewrap_data_keys(&rewrap).await.unwrap(), 2);
    assert_eq!(s.rewrap_data_keys(&rewrap).await.unwrap(), 0, "a second run has nothing to do");
    assert!(s.data_keys().await.unwrap().iter().all(|k| k.kek_version == 2));

    // Keep a copy of the old KEK, to show it no longer opens anything.
    let old_dir = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("kek-1.key"), old_dir.path().join("kek-1.key")).unwrap();
    assert_eq!(keys.remove_old().unwrap(), [dir.path().join("kek-1.key")]);
    assert!(!dir.path().join("kek-1.key").exists());

    // A server started now has only kek-2, and reads everything as it was written.
    let fresh = open_store(db, Arc::new(Keys::load_or_create(dir.path()).unwrap())).await;
    assert_eq!(snapshot(&*fresh, &ids).await, before);
    assert_eq!(snapshot(&*s, &ids).await, before);
    for (id, row) in ids.iter().zip(&rows_before) {
        assert_eq!(&(sealed(db, "details", *id).await, sealed(db, "flags", *id).await), row, "rows are untouched");
    }
    // The running server wraps the data keys it creates under the new KEK, and reads on.
    s.put_mission(&mission("de-berlin", &["DE"]), &audit("mission.put", "mission:de-berlin")).await.unwrap();
    insert(&*server, "de-berlin", 9, 3).await;
    assert_eq!(snapshot(&*server, &ids).await, before);
    let de: Vec<_> = s.data_keys().await.unwrap().into_iter().filter(|k| k.mission == "de-berlin").collect();
    assert_eq!((de.len(), de[0].kek_version), (1, 2));

    let stale = open_store(db, Arc::new(Keys::load_or_create(old_dir.path()).unwrap())).await;
    match stale.case(ids[0], &Scope::All).await {
        Err(StoreError::Config(m)) => assert!(m.contains("version 2"), "{m}"),
        other => panic!("the old KEK alone opens nothing: {other:?}"),
    }
    let events = s.audit_events(0, 1000).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.event.action == "kek.rotate").count(), 2);
}

async fn data_key_rotation_reencrypts_resumably_and_retires_the_old_key(db: &Db) {
    put_missions(db).await;
    let s = db.store();
    let mut pl = Vec::new();
    for n in 0..5 {
        let app = insert(s, "pl-warsaw", n, usize::try_from(n).unwrap()).await;
        if n % 2 == 0 {
            work_case(s, app.id, "pl-warsaw").await;
        }
        pl.push(app.id);
    }
    let gb = vec![insert(s, "gb-london", 7, 5).await.id, insert(s, "gb-london", 8, 4).await.id];
    let (pl_before, gb_before) = (snapshot(s, &pl).await, snapshot(s, &gb).await);

    let rotate =
        AuditEvent { actor: "cli".into(), role: "operator".into(), ..event("key.rotate", "mission:pl-warsaw", None) };
    assert_eq!(s.rotate_data_key(&mid("pl-warsaw"), &rotate).await.unwrap(), 2);
    let live = |keys: &[legion_store::DataKeyInfo], m: &str| -> Vec<i64> {
        keys.iter().filter(|k| k.mission == m && k.destroyed_at.is_none()).map(|k| k.version).collect()
    };
    assert_eq!(live(&s.data_keys().await.unwrap(), "pl-warsaw"), [1, 2]);
    // Rows still under version 1 keep the old key alive.
    let retire = event("key.retire", "mission:pl-warsaw", Some("pl-warsaw"));
    assert!(matches!(s.retire_data_keys(&mid("pl-warsaw"), &retire).await, Err(StoreError::Conflict)));
    assert_eq!(live(&s.data_keys().await.unwrap(), "pl-warsaw"), [1, 2]);
    assert_eq!(snapshot(s, &pl).await, pl_before, "old rows read under the old key meanwhile");
    // New writes use the new key.
    let newer = insert(s, "pl-warsaw", 9, 3).await;
    assert_eq!(sealed_versions(db, newer.id).await, BTreeSet::from([2]));
    pl.push(newer.id);
    let pl_before = snapshot(s, &pl).await;

    // One batch, then the process stops; a new one carries on where it stopped.
    let first = s.reencrypt_batch(&mid("pl-warsaw"), None, 2, &reseal_event()).await.unwrap();
    assert_eq!(first.scanned, 2);
    let next = first.next_after.expect("more rows follow");
    let resumed = open_store(db, Arc::clone(&db.keys)).await;
    let (scanned, changed) = reencrypt_all(&*resumed, "pl-warsaw", Some(next), 2).await;
    assert_eq!(scanned, 4);
    assert_eq!(first.changed + changed, 5, "every row but the one written under the new key");
    assert_eq!(reencrypt_all(&*resumed, "pl-warsaw", None, 2).await, (6, 0), "a second pass changes nothing");
    for id in &pl {
        assert_eq!(sealed_versions(db, *id).await, BTreeSet::from([2]), "{id} is under the new key");
    }
    for id in &gb {
        assert_eq!(sealed_versions(db, *id).await, BTreeSet::from([1]), "other missions are untouched");
    }

    assert_eq!(resumed.retire_data_keys(&mid("pl-warsaw"), &retire).await.unwrap(), [1]);
    let keys = s.data_keys().await.unwrap();
    let v1 = keys.iter().find(|k| k.mission == "pl-warsaw" && k.version == 1).unwrap();
    assert_eq!(v1.destroyed_at, Some(t(0)));
    assert_eq!(live(&keys, "pl-warsaw"), [2]);
    assert_eq!(live(&keys, "gb-london"), [1]);
    assert!(resumed.retire_data_keys(&mid("pl-warsaw"), &retire).await.unwrap().is_empty());

    for store in [s, &*resumed, &*open_store(db, Arc::clone(&db.keys)).await] {
        assert_eq!(snapshot(store, &pl).await, pl_before);
        assert_eq!(snapshot(store, &gb).await, gb_before);
    }
    let events = s.audit_events(0, 1000).await.unwrap();
    let rotated = events.iter().find(|e| e.event.action == "key.rotate").expect("the rotation is audited");
    assert_eq!(rotated.event.object, "data_key:pl-warsaw:2");
    assert_eq!(rotated.event.mission.as_deref(), Some("pl-warsaw"));
    assert_eq!((rotated.event.actor.as_str(), rotated.event.role.as_str()), ("cli", "operator"), "who rotated");
    let retired: Vec<_> = events.iter().filter(|e| e.event.action == "key.retire").collect();
    assert_eq!(retired.len(), 1, "only the retirement that destroyed a key is audited");
    assert_eq!(retired[0].event.mission.as_deref(), Some("pl-warsaw"));
}

async fn a_stale_writer_blocks_retirement_until_its_rows_are_reencrypted(db: &Db) {
    put_missions(db).await;
    let first = insert(db.store(), "pl-warsaw", 0, 0).await;
    // A second server that has the mission's keys cached from a read.
    let server = open_store(db, Arc::clone(&db.keys)).await;
    assert!(server.case(first.id, &Scope::All).await.unwrap().is_some());

    let rotate = event("key.rotate", "mission:pl-warsaw", Some("pl-warsaw"));
    assert_eq!(db.store().rotate_data_key(&mid("pl-warsaw"), &rotate).await.unwrap(), 2);
    assert_eq!(reencrypt_all(db.store(), "pl-warsaw", None, 10).await, (1, 1));
    // Before its cache expires, the other server still seals under version 1.
    let late = insert(&*server, "pl-warsaw", 1, 1).await;
    assert_eq!(sealed_versions(db, late.id).await, BTreeSet::from([1]));

    let retire = event("key.retire", "mission:pl-warsaw", Some("pl-warsaw"));
    assert!(matches!(db.store().retire_data_keys(&mid("pl-warsaw"), &retire).await, Err(StoreError::Conflict)));
    assert_eq!(reencrypt_all(db.store(), "pl-warsaw", None, 10).await, (2, 1));
    assert_eq!(db.store().retire_data_keys(&mid("pl-warsaw"), &retire).await.unwrap(), [1]);
    // The other server meets version 2, unknown to its cache, and reads the keys again.
    let rec = server.case(late.id, &Scope::All).await.unwrap().unwrap();
    assert_eq!(rec.details, person(1));
}

async fn shredding_a_mission_destroys_its_personal_data_only(db: &Db) {
    put_missions(db).await;
    let s = db.store();
    let p1 = insert(s, "pl-warsaw", 0, 0).await;
    work_case(s, p1.id, "pl-warsaw").await;
    let p2 = insert(s, "pl-warsaw", 1, 1).await;
    let g = insert(s, "gb-london", 2, 2).await;
    work_case(s, g.id, "gb-london").await;
    let g_before = snapshot(s, &[g.id]).await;

    let shred = event("mission.shred", "mission:pl-warsaw", Some("pl-warsaw"));
    assert_eq!(s.shred_mission(&mid("pl-warsaw"), &shred).await.unwrap(), 1);

    let fresh = open_store(db, Arc::clone(&db.keys)).await;
    for store in [s, &*fresh] {
        for app in [&p1, &p2] {
            assert!(matches!(store.case(app.id, &Scope::All).await, Err(StoreError::Shredded)));
            assert!(matches!(store.history(app.id, &Scope::All).await, Err(StoreError::Shredded)));
            assert!(matches!(
                store.application_for_applicant(app.id, &app.access_hash).await,
                Err(StoreError::Shredded)
            ));
            assert!(matches!(
                store.application_by_reference(&app.reference, &app.access_hash).await,
                Err(StoreError::Shredded)
            ));
        }
        // The shredded cases leave the queue (which keeps working) and screening.
        let page = store
            .cases(&Scope::Mission(mid("pl-warsaw")), &query(None, legion_store::QueueSort::SubmittedAsc, 0, 50))
            .await
            .unwrap();
        assert_eq!((page.items.len(), page.total), (0, 0));
        assert!(!store.pending_screening(100, t(0)).await.unwrap().contains(&p2.id));
        assert!(store.passport_matches(&p2.passport_index, g.id).await.unwrap().is_empty());
        assert_eq!(snapshot(store, &[g.id]).await, g_before, "other missions are unaffected");
    }
    // What is not personal stays: the cases still count.
    let counts = s.state_counts().await.unwrap();
    assert_eq!(counts.iter().filter(|c| c.mission.as_str() == "pl-warsaw").map(|c| c.count).sum::<i64>(), 2);
    let keys = s.data_keys().await.unwrap();
    assert!(keys.iter().filter(|k| k.mission == "pl-warsaw").all(|k| k.destroyed_at == Some(t(0))));
    assert!(keys.iter().filter(|k| k.mission == "gb-london").all(|k| k.destroyed_at.is_none()));
    let events = s.audit_events(0, 1000).await.unwrap();
    let shredded = events.iter().find(|e| e.event.action == "mission.shred").expect("the shredding is audited");
    assert_eq!(
        (shredded.event.object.as_str(), shredded.event.mission.as_deref()),
        ("mission:pl-warsaw", Some("pl-warsaw"))
    );

    // The mission takes new applications under a new key, and its queue shows them.
    let later = insert(s, "pl-warsaw", 3, 3).await;
    assert_eq!(s.case(later.id, &Scope::All).await.unwrap().unwrap().details, person(3));
    let page = s
        .cases(&Scope::Mission(mid("pl-warsaw")), &query(None, legion_store::QueueSort::SubmittedAsc, 0, 50))
        .await
        .unwrap();
    assert_eq!(page.items.iter().map(|r| r.id).collect::<Vec<_>>(), [later.id]);
    assert_eq!(s.pending_screening(100, t(0)).await.unwrap().iter().filter(|id| **id == later.id).count(), 1);
    assert_eq!(fresh.case(later.id, &Scope::All).await.unwrap().unwrap().details, person(3));
    let pl_keys: Vec<_> = s
        .data_keys()
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.mission == "pl-warsaw")
        .map(|k| (k.version, k.destroyed_at.is_some()))
        .collect();
    assert_eq!(pl_keys, [(1, true), (2, false)]);
    assert!(matches!(s.case(p1.id, &Scope::All).await, Err(StoreError::Shredded)));

    // Its key can still be rotated: the shredded rows are left as they are.
    let rotate = event("key.rotate", "mission:pl-warsaw", Some("pl-warsaw"));
    assert_eq!(s.rotate_data_key(&mid("pl-warsaw"), &rotate).await.unwrap(), 3);
    assert_eq!(reencrypt_all(s, "pl-warsaw", None, 10).await, (3, 1));
    let retire = event("key.retire", "mission:pl-warsaw", Some("pl-warsaw"));
    assert_eq!(s.retire_data_keys(&mid("pl-warsaw"), &retire).await.unwrap(), [2]);
    assert_eq!(fresh.case(later.id, &Scope::All).await.unwrap().unwrap().details, person(3));
    assert!(matches!(fresh.case(p2.id, &Scope::All).await, Err(StoreError::Shredded)));
}

async fn a_server_with_cached_keys_never_seals_under_a_destroyed_key(db: &Db) {
    put_missions(db).await;
    let first = insert(db.store(), "pl-warsaw", 0, 0).await;
    // A second server that has the mission's keys cached from a read.
    let server = open_store(db, Arc::clone(&db.keys)).await;
    assert!(server.case(first.id, &Scope::All).await.unwrap().is_some());

    let shred = event("mission.shred", "mission:pl-warsaw", Some("pl-warsaw"));
    assert_eq!(db.store().shred_mission(&mid("pl-warsaw"), &shred).await.unwrap(), 1);
    // Its cache still holds version 1, destroyed now; the write checks and takes a new key.
    let late = insert(&*server, "pl-warsaw", 1, 1).await;
    assert_eq!(sealed_versions(db, late.id).await, BTreeSet::from([2]));
    let fresh = open_store(db, Arc::clone(&db.keys)).await;
    assert_eq!(fresh.case(late.id, &Scope::All).await.unwrap().unwrap().details, person(1));
    assert!(matches!(fresh.case(first.id, &Scope::All).await, Err(StoreError::Shredded)));

    // A transition on a case of the retired key's mission seals under the live key too.
    let rotate = event("key.rotate", "mission:pl-warsaw", Some("pl-warsaw"));
    assert!(server.case(late.id, &Scope::All).await.unwrap().is_some());
    assert_eq!(db.store().rotate_data_key(&mid("pl-warsaw"), &rotate).await.unwrap(), 3);
    assert_eq!(reencrypt_all(db.store(), "pl-warsaw", None, 10).await, (2, 1));
    let retire = event("key.retire", "mission:pl-warsaw", Some("pl-warsaw"));
    assert_eq!(db.store().retire_data_keys(&mid("pl-warsaw"), &retire).await.unwrap(), [2]);
    act_on(&*server, late.id, &Actor::System, Command::BeginScreening, 2).await;
    assert_eq!(sealed_versions(db, late.id).await, BTreeSet::from([3]));
    assert_eq!(fresh.history(late.id, &Scope::All).await.unwrap().len(), 2);
}

async fn rows_written_before_encryption_are_sealed_at_migration(db: &Db) {
    put_missions(db).await;
    // A row as the store wrote it before encryption: plaintext JSON in every sealed column.
    let id = ApplicationId(uuid::Uuid::new_v4());
    let details = serde_json::to_string(&person(4)).unwrap().replace('\'', "''");
    let sql = format!(
        "INSERT INTO applications (id, reference, mission_id, state, version, access_hash, passport_index, \
         details, submitted_at, updated_at, policy_version, flags) VALUES ('{id}', 'LG-LEGA-CY00', 'gb-london', \
         'mission_review', 2, 'legacy-access', 'legacy-pidx', '{details}', 60000, 120000, '2024-05-18', \
         '[{{\"kind\":\"age\",\"explanation\":\"{FLAG_EXPLANATION}\",\"basis\":\"policy\"}}]')"
    );
    db.raw_execute(Box::leak(sql.into_boxed_str())).await.unwrap();
    let history = format!(
        "INSERT INTO application_history (application_id, seq, at, actor, actor_role, command, from_state, \
         to_state, details, policy_version) VALUES ('{id}', 1, 60000, 'applicant', 'applicant', 'submit', \
         'submitted', 'submitted', '{{\"reason\":\"{VETTING_REASON}\"}}', '2024-05-18')"
    );
    db.raw_execute(Box::leak(history.into_boxed_str())).await.unwrap();
    // The upgrade step runs once per database: forget that it ran, as on an old database.
    db.raw_execute("DELETE FROM store_upgrades").await.unwrap();

    db.store().migrate().await.unwrap();
    let record = db.store().case(id, &Scope::All).await.unwrap().unwrap();
    assert_eq!(record.details, person(4));
    assert_eq!(record.flags[0].explanation, FLAG_EXPLANATION);
    let entries = db.store().history(id, &Scope::All).await.unwrap();
    assert_eq!(entries[0].details["reason"], VETTING_REASON);
    let stored = sealed(db, "details", id).await;
    assert!(!stored.contains("given_names") && !stored.contains(PEOPLE[4].1), "{stored}");
    assert!(!sealed(db, "flags", id).await.contains(FLAG_EXPLANATION));
    assert!(!history_sealed(db, id).await[0].1.contains(VETTING_REASON));
    // Done once: a second migration finds the step recorded and the row untouched.
    let before = sealed(db, "details", id).await;
    db.store().migrate().await.unwrap();
    assert_eq!(sealed(db, "details", id).await, before);
}

async fn each_change_to_a_row_continues_its_audit_hashes_through_resealing(db: &Db) {
    put_missions(db).await;
    let s = db.store();
    let app = insert(s, "pl-warsaw", 0, 0).await;
    work_case(s, app.id, "pl-warsaw").await;
    let rotate = event("key.rotate", "mission:pl-warsaw", Some("pl-warsaw"));
    s.rotate_data_key(&mid("pl-warsaw"), &rotate).await.unwrap();
    assert_eq!(reencrypt_all(s, "pl-warsaw", None, 10).await, (1, 1));
    let officer = Actor::Staff(staff(Role::MissionOfficer, Some("pl-warsaw")));
    act_on(s, app.id, &officer, Command::RecordInterview { attended: false, notes: "did not come".into() }, 7).await;

    let object = format!("application:{}", app.id);
    let trail: Vec<_> = s
        .audit_events(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.object == object && e.after_hash.is_some())
        .collect();
    let actions: Vec<&str> = trail.iter().map(|e| e.event.action.as_str()).collect();
    assert_eq!(actions.first(), Some(&"application.submit"));
    assert!(actions.contains(&"application.reseal"), "{actions:?}");
    assert_eq!(trail.len(), 9, "submission, six transitions, the reseal and the interview: {actions:?}");
    assert_eq!(trail[0].before_hash, None);
    for pair in trail.windows(2) {
        assert_eq!(
            pair[1].before_hash, pair[0].after_hash,
            "{} follows {}",
            pair[1].event.action, pair[0].event.action
        );
        assert_ne!(pair[1].before_hash, pair[1].after_hash);
    }
    let reseal = trail.iter().find(|e| e.event.action == "application.reseal").unwrap();
    assert_eq!((reseal.event.actor.as_str(), reseal.event.mission.as_deref()), ("cli", Some("pl-warsaw")));
}
