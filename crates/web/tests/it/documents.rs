//! Documents end to end, on SQLite and PostgreSQL: applicants upload through the API and the
//! status page; the type is checked by content, the size is limited, refusals store nothing;
//! the object directory holds only ciphertext under server-chosen names; the case's mission
//! staff download the same bytes, every download audited, and no one else can.

use std::path::{Path, PathBuf};

use legion_domain::{ApplicationId, MissionId};
use legion_store::{AuditEvent, Scope};
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{Backend, TestApp, application};

on_both_backends!(
    uploads_are_sealed_and_staff_of_the_mission_download_them,
    refused_uploads_store_nothing,
    the_status_page_uploads_and_the_case_page_lists,
    the_status_page_reads_no_file_before_the_access_code,
    uploads_beyond_the_concurrency_limit_are_refused_for_now,
    failed_downloads_are_audited,
);

/// Appears in every test file, so that plaintext anywhere in storage would be found.
const MARKER: &[u8] = b"LEGION-PLAINTEXT-MARKER-5c1e9a";
/// Part of every uploaded file name, so that a stored name taken from the upload would be found.
const NAME_MARKER: &str = "my-own-name-7d2b";

fn pdf() -> Vec<u8> {
    [b"%PDF-1.4\n% ".as_slice(), MARKER, b"\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"].concat()
}

fn jpeg() -> Vec<u8> {
    [&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10][..], b"JFIF\0", MARKER, &[0xFF, 0xD9]].concat()
}

fn png() -> Vec<u8> {
    [&b"\x89PNG\r\n\x1a\n"[..], b"\0\0\0\rIHDR", MARKER].concat()
}

fn file_part(bytes: Vec<u8>, file_name: &str, mime: &str) -> Part {
    Part::bytes(bytes).file_name(file_name.to_owned()).mime_str(mime).unwrap()
}

fn upload_form(kind: Option<&str>, bytes: Vec<u8>, file_name: &str, mime: &str) -> Form {
    let form = Form::new();
    let form = match kind {
        Some(k) => form.text("kind", k.to_owned()),
        None => form,
    };
    form.part("file", file_part(bytes, file_name, mime))
}

/// A case screened into mission review at gb-london: (id, access code, reference).
async fn case(app: &TestApp, passport: &str) -> (String, String, String) {
    let s = app.submit(&application("GB", passport)).await;
    let id = s["id"].as_str().unwrap().to_owned();
    let code = s["access_code"].as_str().unwrap().to_owned();
    assert_eq!(app.screened(&id, &code).await, "mission_review");
    (id, code, s["reference"].as_str().unwrap().to_owned())
}

async fn upload(app: &TestApp, id: &str, code: &str, query: &str, form: Form) -> reqwest::Response {
    TestApp::client()
        .post(format!("{}/api/v1/applications/{id}/documents{query}", app.base))
        .bearer_auth(code)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn case_id(id: &str) -> ApplicationId {
    ApplicationId::parse(id).unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn events(app: &TestApp) -> Vec<legion_store::StoredAuditEvent> {
    app.state.store.audit_events(0, 100_000).await.unwrap()
}

async fn uploads_are_sealed_and_staff_of_the_mission_download_them(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, code, _) = case(&app, "GB1234567").await;

    let sent = [
        ("passport_scan", pdf(), "application/pdf", "pdf"),
        ("service_record", jpeg(), "image/jpeg", "jpg"),
        ("criminal_record_certificate", png(), "image/png", "png"),
    ];
    let mut ids = Vec::new();
    for (i, (kind, bytes, mime, ext)) in sent.iter().enumerate() {
        // The kind as a form part, or (for the first) as a query parameter; the declared
        // type is deliberately wrong for one: the content decides.
        let declared = if i == 1 { "application/octet-stream" } else { mime };
        let name = format!("{NAME_MARKER}.{ext}");
        let r = if i == 0 {
            upload(&app, &id, &code, &format!("?kind={kind}"), upload_form(None, bytes.clone(), &name, declared)).await
        } else {
            upload(&app, &id, &code, "", upload_form(Some(kind), bytes.clone(), &name, declared)).await
        };
        assert_eq!(r.status(), 201, "upload {kind}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["kind"], *kind);
        assert_eq!(v["content_type"], *mime);
        assert_eq!(v["size"], bytes.len());
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    let uploads: Vec<_> = events(&app).await.into_iter().filter(|e| e.event.action == "document.upload").collect();
    assert_eq!(uploads.len(), 3, "one audit event per upload");
    assert!(uploads.iter().all(|e| e.event.actor == "applicant" && e.after_hash.is_some()));
    assert_eq!(uploads[0].event.object, format!("document:{}", ids[0]));

    // The applicant lists their own documents, oldest first; another code sees nothing.
    let c = TestApp::client();
    let list_url = format!("{}/api/v1/applications/{id}/documents", app.base);
    let v: Value = c.get(&list_url).bearer_auth(&code).send().await.unwrap().json().await.unwrap();
    let listed: Vec<&str> = v.as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids);
    assert_eq!(c.get(&list_url).bearer_auth("WRONGCODE").send().await.unwrap().status(), 404);

    // Storage: one object per document, named by mission and document id only, none of
    // them holding the uploaded bytes in plaintext.
    let dir = app.documents_dir();
    let stored = files(&dir);
    assert_eq!(stored.len(), 3, "{stored:?}");
    let mut expected: Vec<PathBuf> = ids.iter().map(|d| dir.join("gb-london").join(d)).collect();
    expected.sort();
    assert_eq!(stored, expected);
    for path in &stored {
        let object = std::fs::read(path).unwrap();
        assert!(!contains(&object, MARKER), "{} holds plaintext", path.display());
        assert!(!contains(&object, b"%PDF-") && !object.starts_with(&[0xFF, 0xD8, 0xFF]));
        assert!(!path.to_string_lossy().contains(NAME_MARKER));
    }

    // Staff of the case's mission download identical bytes, as an attachment.
    let gb = app.session_cookie("officer.gb").await;
    let r = c.get(format!("{}/api/v1/cases/{id}/documents", app.base)).header("cookie", &gb).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(v[1]["kind"], "service_record");
    for (doc, (kind, bytes, mime, ext)) in ids.iter().zip(&sent) {
        let r = c
            .get(format!("{}/api/v1/cases/{id}/documents/{doc}", app.base))
            .header("cookie", &gb)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let h = r.headers();
        assert_eq!(h["content-type"], *mime);
        assert_eq!(h["content-disposition"], format!("attachment; filename=\"{kind}.{ext}\""));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());
    }
    let reads: Vec<_> = events(&app).await.into_iter().filter(|e| e.event.action == "document.read").collect();
    assert_eq!(reads.len(), 3, "every download is audited");
    assert!(reads.iter().all(|e| e.event.outcome == "ok" && e.event.mission.as_deref() == Some("gb-london")));
    assert_eq!(reads[2].event.object, format!("document:{}", ids[2]));

    // Staff of another mission get 404, and the attempt is audited as denied.
    let us = app.session_cookie("officer.us").await;
    let doc_url = format!("{}/api/v1/cases/{id}/documents/{}", app.base, ids[0]);
    assert_eq!(c.get(&doc_url).header("cookie", &us).send().await.unwrap().status(), 404);
    let r = c.get(format!("{}/api/v1/cases/{id}/documents", app.base)).header("cookie", &us).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let last = events(&app).await.into_iter().rev().find(|e| e.event.action == "document.read").unwrap();
    assert_eq!((last.event.outcome.as_str(), last.event.mission.as_deref()), ("denied", Some("us-washington")));
    // A document id under the wrong case, an unknown id, no session, a role without case access.
    let (other, _, _) = case(&app, "GB7654321").await;
    let wrong_case = format!("{}/api/v1/cases/{other}/documents/{}", app.base, ids[0]);
    assert_eq!(c.get(&wrong_case).header("cookie", &gb).send().await.unwrap().status(), 404);
    let unknown = format!("{}/api/v1/cases/{id}/documents/{}", app.base, uuid::Uuid::new_v4());
    assert_eq!(c.get(&unknown).header("cookie", &gb).send().await.unwrap().status(), 404);
    assert_eq!(c.get(&doc_url).send().await.unwrap().status(), 401);
    let auditor = app.session_cookie("auditor").await;
    assert_eq!(c.get(&doc_url).header("cookie", &auditor).send().await.unwrap().status(), 403);

    // An object swapped in storage for another document's is refused, not served.
    let victim = expected[1].file_name().unwrap().to_str().unwrap().to_owned();
    std::fs::copy(&expected[0], &expected[1]).unwrap();
    let r =
        c.get(format!("{}/api/v1/cases/{id}/documents/{victim}", app.base)).header("cookie", &gb).send().await.unwrap();
    assert_eq!(r.status(), 500);
}

async fn refused_uploads_store_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, code, _) = case(&app, "GB1234567").await;
    let before = events(&app).await.len();

    // A text file named and declared as a PDF.
    let text = [b"Not a PDF at all, only named like one. ".as_slice(), MARKER].concat();
    let r = upload(&app, &id, &code, "", upload_form(Some("passport_scan"), text, "scan.pdf", "application/pdf")).await;
    assert_eq!(r.status(), 415);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "unsupported_media_type");
    // Other formats with a signature of their own are refused too.
    let gif = b"GIF89a\x01\x00\x01\x00".to_vec();
    let r = upload(&app, &id, &code, "", upload_form(Some("passport_scan"), gif, "scan.png", "image/png")).await;
    assert_eq!(r.status(), 415);

    // One byte over the limit, though it starts like a PDF.
    let max = app.state.config.max_document_bytes;
    let mut big = pdf();
    big.resize(max + 1, b' ');
    let r = upload(&app, &id, &code, "", upload_form(Some("passport_scan"), big, "big.pdf", "application/pdf")).await;
    assert_eq!(r.status(), 413);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "payload_too_large");
    // Exactly at the limit is fine (and is removed again below).
    let mut full = pdf();
    full.resize(max, b' ');
    let r = upload(&app, &id, &code, "", upload_form(Some("passport_scan"), full, "full.pdf", "application/pdf")).await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["size"], max);
    let at_limit = v["id"].as_str().unwrap().to_owned();

    // Missing or unknown kind, empty or missing file: one message per field.
    let r = upload(&app, &id, &code, "", upload_form(None, Vec::new(), "empty.pdf", "application/pdf")).await;
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["fields"]["kind"], "is required");
    assert_eq!(v["fields"]["file"], "must not be empty");
    let r = upload(&app, &id, &code, "?kind=selfie", Form::new().text("note", "no file")).await;
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert!(v["fields"]["kind"].as_str().unwrap().starts_with("must be passport_scan"));
    assert_eq!(v["fields"]["file"], "is required");

    // Not multipart at all.
    let c = TestApp::client();
    let url = format!("{}/api/v1/applications/{id}/documents", app.base);
    let r = c.post(&url).bearer_auth(&code).header("content-type", "application/pdf").body(pdf()).send().await.unwrap();
    assert_eq!(r.status(), 415);

    // Another applicant's code, a wrong code, no code.
    let (other, other_code, _) = case(&app, "GB7654321").await;
    let r =
        upload(&app, &id, &other_code, "", upload_form(Some("passport_scan"), pdf(), "a.pdf", "application/pdf")).await;
    assert_eq!(r.status(), 404);
    let r =
        upload(&app, &other, &code, "", upload_form(Some("passport_scan"), pdf(), "a.pdf", "application/pdf")).await;
    assert_eq!(r.status(), 404);
    let r = c.post(&url).multipart(upload_form(Some("passport_scan"), pdf(), "a.pdf", "application/pdf")).send();
    assert_eq!(r.await.unwrap().status(), 401);

    // Nothing but the one upload at the limit was stored: one row, one object, one event.
    let docs = app.state.store.documents(case_id(&id), &Scope::All).await.unwrap().unwrap();
    assert_eq!(docs.iter().map(|d| d.id.to_string()).collect::<Vec<_>>(), [at_limit.as_str()]);
    assert_eq!(app.state.store.documents(case_id(&other), &Scope::All).await.unwrap(), Some(vec![]));
    let stored = files(&app.documents_dir());
    assert_eq!(stored, [app.documents_dir().join("gb-london").join(&at_limit)]);
    let after = events(&app).await;
    let documented: Vec<&str> =
        after[before..].iter().map(|e| e.event.action.as_str()).filter(|a| a.starts_with("document.")).collect();
    assert_eq!(documented, ["document.upload"]);

    // A withdrawn case takes no more documents.
    let r = c
        .post(format!("{}/api/v1/applications/{id}/withdraw", app.base))
        .bearer_auth(&code)
        .json(&serde_json::json!({}))
        .send();
    assert_eq!(r.await.unwrap().status(), 200);
    let r = upload(&app, &id, &code, "", upload_form(Some("service_record"), pdf(), "a.pdf", "application/pdf")).await;
    assert_eq!(r.status(), 409);
    assert_eq!(files(&app.documents_dir()).len(), 1);
}

async fn the_status_page_uploads_and_the_case_page_lists(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, code, reference) = case(&app, "GB1234567").await;
    let c = TestApp::client();
    let page_form = |kind: &str, part: Part| {
        Form::new()
            .text("reference", reference.clone())
            .text("access_code", code.clone())
            .text("kind", kind.to_owned())
            .part("file", part)
    };

    // The status page offers the form, without JavaScript: a multipart POST.
    let r = c
        .post(format!("{}/status", app.base))
        .form(&[("reference", reference.as_str()), ("access_code", code.as_str())])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"action="/status/documents" enctype="multipart/form-data""#), "upload form shown");
    assert!(html.contains(r#"type="file""#));

    let r = c
        .post(format!("{}/status/documents", app.base))
        .multipart(page_form("passport_scan", file_part(pdf(), "passport.pdf", "application/pdf")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Thank you, your document was received."), "notice");
    assert!(html.contains("<td>Passport scan</td><td>PDF</td>"), "listed");

    // In Ukrainian, a file that is not a document is refused beside the file field.
    let r = c
        .post(format!("{}/status/documents?lang=uk", app.base))
        .multipart(page_form("service_record", file_part(b"plain text".to_vec(), "record.pdf", "application/pdf")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let html = r.text().await.unwrap();
    assert!(html.contains("Оберіть файл PDF, JPEG або PNG."), "field message in Ukrainian");
    assert!(html.contains(r#"id="document-file""#) && html.contains(r#"aria-invalid="true""#));

    // A wrong code shows the lookup page and stores nothing.
    let wrong = Form::new()
        .text("reference", reference.clone())
        .text("access_code", "WRONG")
        .text("kind", "passport_scan")
        .part("file", file_part(pdf(), "p.pdf", "application/pdf"));
    let r = c.post(format!("{}/status/documents", app.base)).multipart(wrong).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(files(&app.documents_dir()).len(), 1);

    // The case page lists the document with a download link.
    let gb = app.session_cookie("officer.gb").await;
    let html = c
        .get(format!("{}/staff/cases/{id}", app.base))
        .header("cookie", &gb)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = app.state.store.documents(case_id(&id), &Scope::All).await.unwrap().unwrap().remove(0);
    assert!(html.contains(&format!(r#"href="/api/v1/cases/{id}/documents/{}" download"#, doc.id)), "download link");
}

/// Sends `head` and then `body_start` of a request whose `Content-Length` promises `length`
/// bytes, sends nothing more, and returns what the server answers before giving up waiting
/// (a server that waits for the rest of the body answers nothing).
async fn answer_to_a_stalled_request(app: &TestApp, head: &str, body_start: &[u8]) -> String {
    let addr = app.base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(body_start).await.unwrap();
    socket.flush().await.unwrap();
    let mut answer = vec![0u8; 4096];
    // Only a guard against hanging forever: the answer is expected at once.
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), socket.read(&mut answer)).await;
    let n = read.expect("the server waited for the file instead of answering").unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

async fn the_status_page_reads_no_file_before_the_access_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, code, reference) = case(&app, "GB1234567").await;
    let c = TestApp::client();

    // The page's form sends the reference and the access code before the file.
    let html = c
        .post(format!("{}/status", app.base))
        .form(&[("reference", reference.as_str()), ("access_code", code.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = &html[html.find(r#"action="/status/documents""#).expect("upload form")..];
    let file = form.find(r#"type="file""#).unwrap();
    assert!(form.find(r#"name="reference""#).unwrap() < file && form.find(r#"name="access_code""#).unwrap() < file);

    // A file part first (its credentials would follow it): answered from the part's header,
    // while the rest of the body never arrives.
    let boundary = "legion-test-boundary";
    let file_first = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
    );
    let head = format!(
        "POST /status/documents HTTP/1.1\r\nHost: localhost\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 1048576\r\n\r\n"
    );
    let answer = answer_to_a_stalled_request(&app, &head, file_first.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");

    // Likewise after a wrong access code, and after no access code at all.
    for credentials in [vec![("reference", reference.as_str()), ("access_code", "WRONGCODE")], vec![]] {
        let parts = credentials.iter().map(|(name, value)| {
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
        });
        let body: String = parts.chain([file_first.clone()]).collect();
        let answer = answer_to_a_stalled_request(&app, &head, body.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    }
    assert!(files(&app.documents_dir()).is_empty(), "nothing stored");

    // In the form's order, with the right code, the upload goes through.
    let form = Form::new()
        .text("reference", reference.clone())
        .text("access_code", code.clone())
        .text("kind", "passport_scan")
        .part("file", file_part(pdf(), "p.pdf", "application/pdf"));
    let r = c.post(format!("{}/status/documents", app.base)).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(files(&app.documents_dir()).len(), 1);
}

async fn uploads_beyond_the_concurrency_limit_are_refused_for_now(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, code, reference) = case(&app, "GB1234567").await;
    let c = TestApp::client();
    let page_form = |access_code: &str| {
        Form::new()
            .text("reference", reference.clone())
            .text("access_code", access_code.to_owned())
            .text("kind", "passport_scan")
            .part("file", file_part(pdf(), "p.pdf", "application/pdf"))
    };

    // Every permit taken, as by as many uploads in progress.
    let limit = u32::try_from(app.state.config.max_concurrent_uploads).unwrap();
    assert_eq!(limit, 8);
    let busy = std::sync::Arc::clone(&app.state.uploads).try_acquire_many_owned(limit).unwrap();

    let r = upload(&app, &id, &code, "", upload_form(Some("passport_scan"), pdf(), "a.pdf", "application/pdf")).await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "unavailable");
    let r = c.post(format!("{}/status/documents", app.base)).multipart(page_form(&code)).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    // Credentials are still checked first: a wrong code is not found, busy or not.
    let r = c.post(format!("{}/status/documents", app.base)).multipart(page_form("WRONGCODE")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(files(&app.documents_dir()).is_empty(), "nothing stored");

    // Once uploads finish, the permits are back.
    drop(busy);
    let r = upload(&app, &id, &code, "", upload_form(Some("passport_scan"), pdf(), "a.pdf", "application/pdf")).await;
    assert_eq!(r.status(), 201);
    let r = c.post(format!("{}/status/documents", app.base)).multipart(page_form(&code)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(files(&app.documents_dir()).len(), 2);
    assert_eq!(app.state.uploads.available_permits(), 8, "every permit is given back");
}

/// The outcome of the newest `document.read` event.
async fn last_read(app: &TestApp) -> (String, String) {
    let e = events(app).await.into_iter().rev().find(|e| e.event.action == "document.read").unwrap();
    (e.event.object, e.event.outcome)
}

async fn failed_downloads_are_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, code, _) = case(&app, "GB1234567").await;
    let mut docs = Vec::new();
    for bytes in [pdf(), jpeg(), png()] {
        let r = upload(&app, &id, &code, "", upload_form(Some("service_record"), bytes, "a", "image/png")).await;
        assert_eq!(r.status(), 201);
        docs.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    let gb = app.session_cookie("officer.gb").await;
    let c = TestApp::client();
    let download =
        |doc: &str| c.get(format!("{}/api/v1/cases/{id}/documents/{doc}", app.base)).header("cookie", &gb).send();
    let object = |doc: &str| app.documents_dir().join("gb-london").join(doc);

    // The object is missing from storage.
    std::fs::remove_file(object(&docs[0])).unwrap();
    assert_eq!(download(&docs[0]).await.unwrap().status(), 500);
    assert_eq!(last_read(&app).await, (format!("document:{}", docs[0]), "failed".into()));

    // The object is not the one the row names.
    std::fs::copy(object(&docs[2]), object(&docs[1])).unwrap();
    assert_eq!(download(&docs[1]).await.unwrap().status(), 500);
    assert_eq!(last_read(&app).await, (format!("document:{}", docs[1]), "failed".into()));

    // Its mission was crypto-shredded.
    assert_eq!(download(&docs[2]).await.unwrap().status(), 200);
    assert_eq!(last_read(&app).await, (format!("document:{}", docs[2]), "ok".into()));
    let shred = AuditEvent {
        at: app.state.clock.now(),
        actor: "cli".into(),
        role: "operator".into(),
        mission: Some("gb-london".into()),
        action: "mission.shred".into(),
        object: "mission:gb-london".into(),
        outcome: "ok".into(),
    };
    app.state.store.shred_mission(&MissionId::parse("gb-london").unwrap(), &shred).await.unwrap();
    assert_eq!(download(&docs[2]).await.unwrap().status(), 410);
    assert_eq!(last_read(&app).await, (format!("document:{}", docs[2]), "failed".into()));
    let reads = events(&app).await.into_iter().filter(|e| e.event.action == "document.read").count();
    assert_eq!(reads, 4, "one event per attempt");
}
