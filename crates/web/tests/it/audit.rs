//! The audit log in the server: the checkpointer that signs it, and the auditor's page that
//! shows and verifies it, on SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use legion_audit::{CheckpointSigner, LogFault, LogVerifier};
use legion_domain::SystemClock;
use legion_store::{AuditEvent, CheckpointOutcome, VerifyError, read_audit_events, sign_checkpoint, verify_audit_log};
use legion_web::checkpoints::{AuditStatus, Checkpointer, Tick};

use crate::common::{AUDIT_ORIGIN, Backend, TestApp};

on_both_backends!(
    the_checkpointer_signs_every_n_events_from_the_stored_rows,
    the_checkpointer_refuses_to_sign_beside_a_forged_checkpoint,
    the_running_checkpointer_signs_at_start_and_reports_to_the_page,
    the_auditor_page_lists_filters_and_verifies,
    the_auditor_page_shows_a_failed_verification,
);

fn event(n: usize) -> AuditEvent {
    AuditEvent {
        at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        actor: "system".into(),
        role: "system".into(),
        mission: None,
        action: "case.read".into(),
        object: format!("application:{n}"),
        outcome: "ok".into(),
    }
}

async fn append(app: &TestApp, n: usize) {
    for i in 0..n {
        app.state.store.append_audit(&event(i)).await.unwrap();
    }
}

async fn size(app: &TestApp) -> u64 {
    u64::try_from(app.state.store.audit_size().await.unwrap()).unwrap()
}

fn checkpointer(app: &TestApp, every: u64, interval: Duration) -> Checkpointer {
    Checkpointer::new(
        Arc::clone(&app.state.store),
        Arc::clone(&app.state.keys.checkpoint),
        Arc::new(SystemClock),
        every,
        interval,
    )
}

async fn the_checkpointer_signs_every_n_events_from_the_stored_rows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let start = size(&app).await;
    assert!(start > 0, "the harness's missions and accounts are in the log");
    let hour = Duration::from_hours(1);
    let mut first = checkpointer(&app, 5, hour);

    // On start: the whole log is verified, and what is unsigned is signed at once.
    let tick = first.tick().await.unwrap();
    assert_eq!(tick.verified.as_ref().map(|r| (r.events, r.checkpoints)), Some((start, 0)));
    assert_eq!(tick.signed, Some((start, CheckpointOutcome::Stored)));
    assert_eq!(first.tick().await.unwrap(), Tick::default());

    append(&app, 4).await;
    assert_eq!(first.tick().await.unwrap(), Tick::default(), "4 unsigned events, the interval not over");
    assert_eq!(first.verified_size(), start + 4);
    append(&app, 1).await;
    assert_eq!(first.tick().await.unwrap().signed, Some((start + 5, CheckpointOutcome::Stored)));

    // A second server on the same database, signing on every new event: it starts from the
    // stored checkpoints, and a size the other already signed is left as it is.
    let mut second = checkpointer(&app, 1000, Duration::ZERO);
    let tick = second.tick().await.unwrap();
    assert_eq!(tick.verified.map(|r| (r.events, r.checkpoints)), Some((start + 5, 2)));
    assert_eq!(tick.signed, None);
    append(&app, 5).await;
    assert_eq!(first.tick().await.unwrap().signed, Some((start + 10, CheckpointOutcome::Stored)));
    assert_eq!(second.tick().await.unwrap().signed, Some((start + 10, CheckpointOutcome::Exists)));

    // Every stored checkpoint is the signed root of the rows as stored.
    let stored = app.state.store.checkpoints().await.unwrap();
    let sizes: Vec<i64> = stored.iter().map(|c| c.tree_size).collect();
    let start = i64::try_from(start).unwrap();
    assert_eq!(sizes, [start, start + 5, start + 10]);
    let mut log = LogVerifier::new();
    read_audit_events(&*app.state.store, &mut log, None).await.unwrap();
    for c in &stored {
        let opened = app.state.keys.checkpoint.verifier().verify(c.note.as_bytes(), AUDIT_ORIGIN).unwrap();
        assert_eq!(opened.root(), log.tree().root_at(opened.size()).unwrap());
        assert_eq!(c.root, opened.root().to_hex());
    }
    let report = verify_audit_log(&*app.state.store, &app.state.keys.checkpoint.verifier(), AUDIT_ORIGIN, Vec::new())
        .await
        .unwrap();
    assert_eq!((report.checkpoints, report.largest_checkpoint), (3, Some(log.size())));
}

async fn the_checkpointer_refuses_to_sign_beside_a_forged_checkpoint(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // A checkpoint signed with another key, as someone with write access could insert.
    let mut log = LogVerifier::new();
    read_audit_events(&*app.state.store, &mut log, None).await.unwrap();
    let impostor = CheckpointSigner::from_seed(AUDIT_ORIGIN, &[1; 32]).unwrap();
    let forged = sign_checkpoint(&log, &impostor, AUDIT_ORIGIN, chrono::DateTime::UNIX_EPOCH).unwrap().unwrap();
    app.state.store.insert_checkpoint(&forged).await.unwrap();
    append(&app, 3).await;

    let mut checkpointer = checkpointer(&app, 1, Duration::from_hours(1));
    match checkpointer.tick().await {
        Err(VerifyError::Tampered(LogFault::BadCheckpoint { from, .. })) => {
            assert_eq!(from, format!("database (tree_size {})", log.size()));
        }
        other => panic!("expected the forged checkpoint to be refused, got {other:?}"),
    }
    // Nothing is signed, and the whole log is not read again before the interval is over.
    assert_eq!(checkpointer.tick().await.unwrap(), Tick::default());
    assert_eq!(checkpointer.verified_size(), 0);
    assert_eq!(app.state.store.checkpoints().await.unwrap(), vec![forged]);
}

async fn the_running_checkpointer_signs_at_start_and_reports_to_the_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let task = legion_web::checkpoints::spawn_checkpointer(app.state.clone());
    let mut signed = None;
    for _ in 0..200 {
        if let Some(c) = app.state.store.latest_checkpoint().await.unwrap() {
            signed = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    task.abort();
    let signed = signed.expect("the checkpointer signed the log on start");
    let check = app.state.audit_check.lock().await.clone().expect("the start-up verification is kept");
    let AuditStatus::Verified(report) = check.status else { panic!("{check:?}") };
    assert!(report.events <= u64::try_from(signed.tree_size).unwrap());

    let page = app.page_as("auditor", "/staff/audit").await;
    assert!(page.contains("Verified: the log is intact"), "{page}");
    assert!(page.contains(&signed.root), "the latest checkpoint's root is shown");
}

impl TestApp {
    /// `GET path` as `username`; asserts 200 and returns the page.
    async fn page_as(&self, username: &str, path: &str) -> String {
        let (status, page) = self.get_as(username, path).await;
        assert_eq!(status, 200, "{path}: {page}");
        page
    }

    async fn get_as(&self, username: &str, path: &str) -> (u16, String) {
        let r = Self::client()
            .get(format!("{}{path}", self.base))
            .header("cookie", self.session_cookie(username).await)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

/// The number of event rows in a page's table.
fn rows(page: &str) -> usize {
    page.matches("<th scope=\"row\" class=\"num\">").count()
}

async fn the_auditor_page_lists_filters_and_verifies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let page = app.page_as("auditor", "/staff/audit").await;
    assert!(page.contains("<h1>Audit log</h1>"));
    assert!(page.contains("The log has not been verified since the server started"));
    assert!(page.contains("No checkpoint has been signed yet."));
    assert!(page.contains("<code>staff.create</code>") && page.contains("<code>mission.put</code>"));
    // Newest first: the auditor's own sign-in leads.
    let newest = page.find("<code>session.sign_in</code>").unwrap();
    assert!(newest < page.find("<code>staff.create</code>").unwrap());

    let page = app.page_as("auditor", "/staff/audit?verify=1").await;
    assert!(page.contains("Verified: the log is intact"), "{page}");
    let n = size(&app).await;
    let detail = format!("{n} events follow their hash chain; 0 signed checkpoints match them.");
    assert!(page.contains(&detail), "{page}");
    let page = app.page_as("auditor", "/staff/audit?verify=1&lang=uk").await;
    assert!(page.contains("Перевірено: журнал цілий"), "{page}");
    assert!(page.contains("Журнал аудиту"));

    // Filters: the harness put three missions; a prefix finds every staff event.
    let page = app.page_as("auditor", "/staff/audit?action=mission.put").await;
    assert!(page.contains("Matching events: 3"), "{page}");
    assert_eq!(rows(&page), 3);
    let page = app.page_as("auditor", "/staff/audit?action=staff.&outcome=ok&from=2022-02-27&to=2022-02-27").await;
    assert!(page.contains("Matching events: 11"), "{page}");
    let page = app.page_as("auditor", "/staff/audit?outcome=denied").await;
    assert!(page.contains("No events match these filters."), "{page}");

    // Pages of 50, newest first.
    append(&app, 60).await;
    let page = app.page_as("auditor", "/staff/audit?object=application:").await;
    assert!(page.contains("Matching events: 60") && page.contains("Page 1 of 2"), "{page}");
    assert_eq!(rows(&page), 50);
    assert!(page.contains("href=\"/staff/audit?object=application%3A&#38;page=2\""), "{page}");
    let page = app.page_as("auditor", "/staff/audit?object=application:&page=2").await;
    assert_eq!(rows(&page), 10);

    // Bad filters are explained, in the form, with 422.
    let (status, page) = app.get_as("auditor", "/staff/audit?outcome=maybe&from=2022-13-01").await;
    assert_eq!(status, 422);
    assert!(page.contains("Choose an outcome from the list.") && page.contains("Enter a real date."), "{page}");
    let (status, page) = app.get_as("auditor", "/staff/audit?from=2022-03-02&to=2022-03-01&lang=uk").await;
    assert_eq!(status, 422);
    assert!(page.contains("Не може бути раніше за перший день."), "{page}");

    // The auditor's workspace links to the page; other roles are refused it.
    let home = app.page_as("auditor", "/staff").await;
    assert!(home.contains("href=\"/staff/audit\""));
    assert_eq!(app.get_as("admin", "/staff/audit").await.0, 403);
}

async fn the_auditor_page_shows_a_failed_verification(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut log = LogVerifier::new();
    read_audit_events(&*app.state.store, &mut log, None).await.unwrap();
    let impostor = CheckpointSigner::from_seed(AUDIT_ORIGIN, &[2; 32]).unwrap();
    let forged = sign_checkpoint(&log, &impostor, AUDIT_ORIGIN, chrono::DateTime::UNIX_EPOCH).unwrap().unwrap();
    app.state.store.insert_checkpoint(&forged).await.unwrap();

    let page = app.page_as("auditor", "/staff/audit?verify=1").await;
    assert!(page.contains("Verification failed: the log or its checkpoints were changed"), "{page}");
    assert!(page.contains("role=\"alert\""));
    assert!(
        page.contains(&format!(
            "checkpoint from database (tree_size {}) is not a valid signed checkpoint of this log",
            log.size()
        )),
        "{page}"
    );
    let page = app.page_as("auditor", "/staff/audit?lang=uk").await;
    assert!(page.contains("Перевірка не пройдена"), "the last result is kept: {page}");
}
