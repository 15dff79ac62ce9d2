//! The `Store` contract for uploaded documents, on `SQLite` and `PostgreSQL`: the store seals
//! and opens document bytes (bound to the document id and checked against the row's hash),
//! records documents with their audit event, and scopes every lookup like a case.

#[macro_use]
mod support;

use legion_domain::{Actor, ApplicationId, Command, DocumentId, DocumentKind, DocumentType};
use legion_store::{AuditEvent, DocumentRecord, NewDocument, Scope, StoreError};
use support::*;
use uuid::Uuid;

contract!(
    a_sealed_document_opens_only_as_itself,
    documents_are_recorded_with_their_audit_event_and_scoped,
    a_document_for_an_unknown_case_writes_nothing,
    rotation_reseals_document_keys_and_never_the_objects,
    the_cap_and_the_case_state_are_checked_where_the_document_is_recorded,
    concurrent_uploads_never_exceed_the_cap,
);

/// The cap the web layer passes by default.
const CAP: u32 = 20;

const MARKER: &[u8] = b"%PDF-1.4 LEGION-DOCUMENT-MARKER-1f3a";

fn upload_audit(id: DocumentId) -> AuditEvent {
    AuditEvent { mission: Some("pl-warsaw".into()), ..audit("document.upload", &format!("document:{id}")) }
}

/// A new pl-warsaw document of `app` holding `bytes`, sealed, with at most `cap` per case;
/// returns it and its sealed object.
async fn new_document(db: &Db, app: ApplicationId, bytes: &[u8], minute: i64, cap: u32) -> (NewDocument, Vec<u8>) {
    let id = DocumentId(Uuid::new_v4());
    let sealed = db.store().seal_document(&mid("pl-warsaw"), id, bytes).await.unwrap();
    let new = NewDocument {
        id,
        application: app,
        kind: DocumentKind::PassportScan,
        content_type: DocumentType::Pdf,
        size: bytes.len() as u64,
        object_key: format!("pl-warsaw/{id}"),
        sealed_sha256: sealed.sha256.clone(),
        content_key: sealed.content_key.clone(),
        uploaded_at: t(minute),
        max_per_case: cap,
    };
    (new, sealed.bytes)
}

/// Seals `bytes` for a new document of `app` and records it; returns the record as stored
/// and the sealed object.
async fn store_document(db: &Db, app: ApplicationId, bytes: &[u8], minute: i64) -> (DocumentRecord, Vec<u8>) {
    let (new, sealed) = new_document(db, app, bytes, minute, CAP).await;
    db.store().insert_document(&new, &upload_audit(new.id)).await.unwrap();
    let record = db.store().document(app, new.id, &Scope::All).await.unwrap().expect("the document is recorded");
    (record, sealed)
}

async fn a_sealed_document_opens_only_as_itself(db: &Db) {
    put_missions(db).await;
    let app = submit(db, "pl-warsaw", 0, "p1").await;
    let bytes = [MARKER, &[0u8; 4096][..], MARKER].concat();
    let (record, sealed) = store_document(db, app.id, &bytes, 1).await;
    assert!(!sealed.windows(MARKER.len()).any(|w| w == MARKER), "the sealed object holds no plaintext");
    assert_eq!(db.store().open_document(&record, &sealed).await.unwrap(), bytes);

    // Another document's row cannot open it, even with the right hash: both its key and the
    // object's AAD name the document id.
    let (second, _) = store_document(db, app.id, b"%PDF-1.4 second", 2).await;
    let other = DocumentRecord { sealed_sha256: record.sealed_sha256.clone(), ..second };
    let err = db.store().open_document(&other, &sealed).await.unwrap_err();
    assert!(matches!(&err, StoreError::Internal(m) if m.contains("does not open")), "{err:?}");
    // A document without a row does not open at all.
    let unknown = DocumentRecord { id: DocumentId(Uuid::new_v4()), ..record.clone() };
    assert!(matches!(db.store().open_document(&unknown, &sealed).await, Err(StoreError::NotFound)));
    // Nor can it be opened as another mission's document.
    let elsewhere = DocumentRecord { mission: mid("gb-london"), ..record.clone() };
    let err = db.store().open_document(&elsewhere, &sealed).await.unwrap_err();
    assert!(matches!(err, StoreError::Internal(_) | StoreError::Shredded), "{err:?}");

    // An object altered in storage is refused by its hash before any key is used.
    let mut altered = sealed.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    let err = db.store().open_document(&record, &altered).await.unwrap_err();
    assert!(matches!(&err, StoreError::Internal(m) if m.contains("is not the one its row names")), "{err:?}");

    // Sealing the same bytes twice gives different objects (fresh nonces).
    let again = db.store().seal_document(&mid("pl-warsaw"), record.id, &bytes).await.unwrap();
    assert_ne!(again.bytes, sealed);
    assert_ne!(again.sha256, record.sealed_sha256);
}

async fn documents_are_recorded_with_their_audit_event_and_scoped(db: &Db) {
    put_missions(db).await;
    let app = submit(db, "pl-warsaw", 0, "p1").await;
    let bare = submit(db, "pl-warsaw", 1, "p2").await;
    let before = audit_count(db).await;
    let (first, _) = store_document(db, app.id, b"%PDF-1.4 first", 2).await;
    let (second, _) = store_document(db, app.id, b"\x89PNG\r\n\x1a\nsecond", 3).await;

    let events = db.store().audit_events(0, 1000).await.unwrap();
    assert_eq!(events.len(), before + 2, "one audit event per document");
    let last = events.last().unwrap();
    assert_eq!(last.event.action, "document.upload");
    assert_eq!(last.event.object, format!("document:{}", second.id));
    assert!(last.after_hash.is_some() && last.before_hash.is_none());

    assert_eq!(first.application, app.id);
    assert_eq!(first.mission, mid("pl-warsaw"));
    assert_eq!(first.kind, DocumentKind::PassportScan);
    assert_eq!(first.size, 14);
    assert_eq!(first.object_key, format!("pl-warsaw/{}", first.id));
    assert_eq!(first.sealed_sha256.len(), 64);
    assert_eq!(first.uploaded_at, t(2));

    let mine = Scope::Mission(mid("pl-warsaw"));
    let theirs = Scope::Mission(mid("gb-london"));
    let listed = db.store().documents(app.id, &mine).await.unwrap().expect("in scope");
    assert_eq!(listed, vec![first.clone(), second.clone()], "oldest first");
    assert_eq!(db.store().documents(app.id, &theirs).await.unwrap(), None, "another mission sees no case");
    assert_eq!(db.store().documents(app.id, &Scope::VettingHold).await.unwrap(), None);
    assert_eq!(db.store().documents(bare.id, &mine).await.unwrap(), Some(vec![]), "a case without documents");
    assert_eq!(db.store().documents(ApplicationId(Uuid::new_v4()), &Scope::All).await.unwrap(), None);

    assert_eq!(db.store().document(app.id, first.id, &mine).await.unwrap(), Some(first.clone()));
    assert_eq!(db.store().document(app.id, first.id, &theirs).await.unwrap(), None);
    assert_eq!(db.store().document(bare.id, first.id, &mine).await.unwrap(), None, "the document of another case");
}

async fn a_document_for_an_unknown_case_writes_nothing(db: &Db) {
    put_missions(db).await;
    submit(db, "pl-warsaw", 0, "p1").await;
    let before = audit_count(db).await;
    let id = DocumentId(Uuid::new_v4());
    let sealed = db.store().seal_document(&mid("pl-warsaw"), id, b"\xFF\xD8\xFF").await.unwrap();
    let new = NewDocument {
        id,
        application: ApplicationId(Uuid::new_v4()),
        kind: DocumentKind::ServiceRecord,
        content_type: DocumentType::Jpeg,
        size: 10,
        object_key: format!("pl-warsaw/{id}"),
        sealed_sha256: sealed.sha256,
        content_key: sealed.content_key,
        uploaded_at: t(1),
        max_per_case: CAP,
    };
    let err = db.store().insert_document(&new, &upload_audit(id)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert_eq!(audit_count(db).await, before, "no audit event without its document");
}

async fn rotation_reseals_document_keys_and_never_the_objects(db: &Db) {
    put_missions(db).await;
    let app = submit(db, "pl-warsaw", 0, "p1").await;
    let (record, sealed) = store_document(db, app.id, b"%PDF-1.4 kept", 1).await;
    let warsaw = mid("pl-warsaw");
    let rotate = audit("key.rotate", "mission:pl-warsaw");
    db.store().rotate_data_key(&warsaw, &rotate).await.unwrap();

    // Until the case is re-sealed, the old key must stay: the document's key is sealed under it.
    let err = db.store().retire_data_keys(&warsaw, &audit("key.retire", "mission:pl-warsaw")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");

    let batch = db.store().reencrypt_batch(&warsaw, None, 100, &audit("application.reseal", "-")).await.unwrap();
    assert_eq!((batch.scanned, batch.changed), (1, 1));
    let again = db.store().reencrypt_batch(&warsaw, None, 100, &audit("application.reseal", "-")).await.unwrap();
    assert_eq!(again.changed, 0, "nothing left under the old key");
    let retired = db.store().retire_data_keys(&warsaw, &audit("key.retire", "mission:pl-warsaw")).await.unwrap();
    assert_eq!(retired, [1]);

    // The object was never rewritten, and it still opens (through its re-sealed key).
    let after = db.store().document(app.id, record.id, &Scope::All).await.unwrap().unwrap();
    assert_eq!(after, record, "the row names the same object");
    assert_eq!(db.store().open_document(&record, &sealed).await.unwrap(), b"%PDF-1.4 kept");

    // Shredding the mission makes every document unreadable for good.
    db.store().shred_mission(&warsaw, &audit("mission.shred", "mission:pl-warsaw")).await.unwrap();
    let err = db.store().open_document(&record, &sealed).await.unwrap_err();
    assert!(matches!(err, StoreError::Shredded), "{err:?}");
}

async fn the_cap_and_the_case_state_are_checked_where_the_document_is_recorded(db: &Db) {
    put_missions(db).await;
    let app = submit(db, "pl-warsaw", 0, "p1").await;
    for minute in 1..=2 {
        let (new, _) = new_document(db, app.id, b"%PDF-1.4 within the cap", minute, 2).await;
        db.store().insert_document(&new, &upload_audit(new.id)).await.unwrap();
    }
    let before = audit_count(db).await;
    let (over, _) = new_document(db, app.id, b"%PDF-1.4 one too many", 3, 2).await;
    let err = db.store().insert_document(&over, &upload_audit(over.id)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    assert_eq!(db.store().documents(app.id, &Scope::All).await.unwrap().unwrap().len(), 2, "nothing recorded");
    assert_eq!(audit_count(db).await, before, "no audit event without its document");
    // A higher cap takes it.
    let (more, _) = new_document(db, app.id, b"%PDF-1.4 under a higher cap", 3, 3).await;
    db.store().insert_document(&more, &upload_audit(more.id)).await.unwrap();

    // A case that stopped taking documents after the upload was checked (here: withdrawn).
    let gone = submit(db, "pl-warsaw", 4, "p2").await;
    let (late, _) = new_document(db, gone.id, b"%PDF-1.4 too late", 5, CAP).await;
    act(db, gone.id, &Actor::Applicant(gone.id), &Command::Withdraw { reason: None }, 6).await.unwrap();
    let before = audit_count(db).await;
    let err = db.store().insert_document(&late, &upload_audit(late.id)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    assert_eq!(db.store().documents(gone.id, &Scope::All).await.unwrap(), Some(vec![]));
    assert_eq!(audit_count(db).await, before);
}

async fn concurrent_uploads_never_exceed_the_cap(db: &Db) {
    const CAP: u32 = 3;
    put_missions(db).await;
    let app = submit(db, "pl-warsaw", 0, "p1").await;
    let mut tasks = Vec::new();
    for minute in 1..=8 {
        let (new, _) = new_document(db, app.id, b"%PDF-1.4 racing", minute, CAP).await;
        let store = std::sync::Arc::clone(&db.store);
        tasks.push(tokio::spawn(async move { store.insert_document(&new, &upload_audit(new.id)).await }));
    }
    let mut stored = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => stored += 1,
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(stored, CAP, "as many uploads as the cap allows, no more");
    let held = db.store().documents(app.id, &Scope::All).await.unwrap().unwrap().len();
    assert_eq!(held, CAP as usize);
}
