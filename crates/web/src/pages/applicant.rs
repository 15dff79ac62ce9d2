//! The applicant's pages: the application form, the confirmation with the access code,
//! and the status page (answer a request, withdraw).

use askama::Template;
use axum::Form;
use axum::extract::Multipart;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use legion_domain::{Command, DocumentKind, DocumentType, FieldErrors, Reference};
use legion_store::{ApplicationRecord, HistoryEntry};
use serde_json::{Map, Value, json};

use super::fields::field_id;
use super::{Ctx, Field, FormValues, Kind, Problem, Ui, error_page, error_text, fmt_date, fmt_time, render};
use crate::api::applications::ApplicantView;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::{AppState, documents, service};

/// Rows of military service the form offers.
const SERVICE_ROWS: usize = 3;
const SERVICE_PARTS: [&str; 5] = ["country", "branch", "from", "to", "role"];

/// A fieldset of the form; service periods are nested fieldsets.
pub(crate) struct Group {
    pub legend: String,
    pub hint: Option<String>,
    pub fields: Vec<Field>,
    pub rows: Vec<Row>,
}

/// A nested fieldset.
pub(crate) struct Row {
    pub legend: String,
    pub fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "apply.html")]
struct ApplyPage {
    ui: Ui,
    groups: Vec<Group>,
    problems: Vec<Problem>,
    /// Sent back with the form as its idempotency key: a second click, a reload or a retry
    /// after a lost answer shows the first confirmation instead of filing a second application.
    submission_key: String,
}

#[derive(Template)]
#[template(path = "submitted.html")]
struct SubmittedPage {
    ui: Ui,
    reference: String,
    access_code: String,
    mission: String,
    status_href: String,
}

fn service_name(row: usize, part: &str) -> String {
    format!("military_experience[{row}].{part}")
}

/// The form's fieldsets, filled with `values` and `errors`.
fn form_groups(lang: Lang, values: &FormValues, errors: &FieldErrors) -> Vec<Group> {
    let t = |k: &str| lang.t(k).to_owned();
    let field = |name: &str, kind: Kind| Field::new("f-", name, t(&format!("field.{name}")), kind);
    let finish = |f: Field| f.fill(values).error_from(errors, lang);
    let short = |f: Field| {
        let s = t(&format!("field.{}.short", f.name));
        f.summary_label(s)
    };
    let about = vec![
        field("given_names", Kind::Text).required().hint(t("field.given_names.hint")).autocomplete("given-name"),
        field("family_name", Kind::Text).required().hint(t("field.family_name.hint")).autocomplete("family-name"),
        field("native_name", Kind::Text).hint(t("field.native_name.hint")).autocomplete("off"),
        field("date_of_birth", Kind::Date).required().autocomplete("bday").width("w-date"),
        field("nationality", Kind::Select).required().countries(lang),
        field("country_of_residence", Kind::Select)
            .required()
            .hint(t("field.country_of_residence.hint"))
            .countries(lang),
    ];
    let passport = vec![
        field("passport_number", Kind::Text)
            .required()
            .hint(t("field.passport_number.hint"))
            .autocomplete("off")
            .width("w-medium"),
        field("passport_expiry", Kind::Date).required().width("w-date"),
    ];
    let contact = vec![
        field("email", Kind::Email).required().autocomplete("email"),
        field("phone", Kind::Tel).hint(t("field.phone.hint")).autocomplete("tel").width("w-medium"),
    ];
    let rows = (0..SERVICE_ROWS)
        .map(|i| {
            let legend = lang.tf("apply.section.service_row", &[&(i + 1).to_string()]);
            let f = |part: &str, kind: Kind| {
                let label = t(&format!("field.service.{part}"));
                Field::new("f-", &service_name(i, part), label.clone(), kind)
                    .summary_label(format!("{legend}: {label}"))
            };
            Row {
                fields: vec![
                    f("country", Kind::Select).countries(lang),
                    f("branch", Kind::Text).hint(t("field.service.branch.hint")),
                    f("from", Kind::Month).width("w-date"),
                    f("to", Kind::Month).hint(t("field.service.to.hint")).width("w-date"),
                    f("role", Kind::Text),
                ]
                .into_iter()
                .map(finish)
                .collect(),
                legend,
            }
        })
        .collect();
    let languages = vec![field("languages", Kind::Text).required().hint(t("field.languages.hint"))];
    let travel = vec![
        field("travel.departure_country", Kind::Select).required().countries(lang),
        field("travel.departure_city", Kind::Text).required().autocomplete("address-level2").width("w-medium"),
        field("travel.earliest_date", Kind::Date).required().width("w-date"),
        short(field("travel.group_travel", Kind::Checkbox)),
    ];
    let declarations = vec![
        short(field("declarations.no_criminal_record", Kind::Checkbox)),
        short(field("declarations.consent_background_check", Kind::Checkbox).required()),
    ];
    let group = |legend: &str, hint: Option<String>, fields: Vec<Field>| Group {
        legend: t(legend),
        hint,
        fields: fields.into_iter().map(finish).collect(),
        rows: Vec::new(),
    };
    vec![
        group("apply.section.about", None, about),
        group("apply.section.passport", None, passport),
        group("apply.section.contact", None, contact),
        Group {
            legend: t("apply.section.service"),
            hint: Some(t("apply.section.service_hint")),
            fields: Vec::new(),
            rows,
        },
        group("apply.section.languages", None, languages),
        group("apply.section.travel", None, travel),
        group("apply.section.declarations", None, declarations),
    ]
}

/// The error summary, in form order; messages for paths the form has no control for
/// come last and point at the nearest control.
fn problems(lang: Lang, groups: &[Group], errors: &FieldErrors) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    let mut shown = std::collections::HashSet::new();
    for g in groups {
        for f in g.fields.iter().chain(g.rows.iter().flat_map(|r| r.fields.iter())) {
            if let Some(p) = f.problem() {
                shown.insert(f.name.clone());
                out.push(p);
            }
        }
    }
    for (path, message) in errors.iter().filter(|(p, _)| !shown.contains(*p)) {
        let (target, label) = if path.starts_with("military_experience") {
            (field_id("f-", &service_name(0, "country")), lang.t("apply.section.service"))
        } else {
            ("apply-form".to_owned(), lang.t("field.body"))
        };
        out.push(Problem { target, label: label.to_owned(), message: lang.field_message(message) });
    }
    out
}

fn form_response(
    ctx: &Ctx,
    status: StatusCode,
    values: &FormValues,
    errors: &FieldErrors,
    submission_key: String,
) -> Response {
    let groups = form_groups(ctx.lang, values, errors);
    let problems = problems(ctx.lang, &groups, errors);
    let title = if problems.is_empty() {
        ctx.lang.t("apply.title").to_owned()
    } else {
        format!("{} {}", ctx.lang.t("form.error_prefix"), ctx.lang.t("apply.title"))
    };
    let ui = ctx.ui(title, None).section("apply").switch_to("/", ctx);
    render(ctx, status, &ApplyPage { ui, groups, problems, submission_key })
}

/// A fresh key for one filling-in of the form (128 random bits, hex).
fn new_submission_key(state: &AppState) -> String {
    hex::encode(state.random_bytes::<16>())
}

/// `GET /`: the application form.
pub(crate) async fn form_page(State(state): State<AppState>, ctx: Ctx) -> Response {
    form_response(&ctx, StatusCode::OK, &FormValues::default(), &FieldErrors::new(), new_submission_key(&state))
}

/// The JSON body the API takes, built from the form: empty optional fields left out,
/// empty service rows skipped. Also returns which form row each service entry came from.
pub(crate) fn application_json(v: &FormValues) -> (Value, Vec<usize>) {
    let mut obj = Map::new();
    for name in [
        "given_names",
        "family_name",
        "native_name",
        "date_of_birth",
        "nationality",
        "country_of_residence",
        "passport_number",
        "passport_expiry",
        "email",
        "phone",
    ] {
        if let Some(s) = v.text(name) {
            obj.insert(name.into(), json!(s));
        }
    }
    let mut rows = Vec::new();
    let mut service = Vec::new();
    for i in 0..SERVICE_ROWS {
        let mut entry = Map::new();
        for part in SERVICE_PARTS {
            if let Some(s) = v.text(&service_name(i, part)) {
                entry.insert(part.into(), json!(s));
            }
        }
        if !entry.is_empty() {
            rows.push(i);
            service.push(Value::Object(entry));
        }
    }
    if !service.is_empty() {
        obj.insert("military_experience".into(), Value::Array(service));
    }
    let languages: Vec<&str> = v.get("languages").split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    obj.insert("languages".into(), json!(languages));
    let mut travel = Map::new();
    for name in ["departure_country", "departure_city", "earliest_date"] {
        if let Some(s) = v.text(&format!("travel.{name}")) {
            travel.insert(name.into(), json!(s));
        }
    }
    travel.insert("group_travel".into(), json!(v.has("travel.group_travel")));
    obj.insert("travel".into(), Value::Object(travel));
    obj.insert(
        "declarations".into(),
        json!({
            "no_criminal_record": v.has("declarations.no_criminal_record"),
            "consent_background_check": v.has("declarations.consent_background_check"),
        }),
    );
    (Value::Object(obj), rows)
}

/// Renames `military_experience[j]…` paths to the form row the entry came from.
pub(crate) fn form_paths(errors: &FieldErrors, rows: &[usize]) -> FieldErrors {
    let mut out = FieldErrors::new();
    for (path, message) in errors.iter() {
        let renamed = path
            .strip_prefix("military_experience[")
            .and_then(|rest| rest.split_once(']'))
            .and_then(|(j, tail)| Some((rows.get(j.parse::<usize>().ok()?)?, tail)))
            .map_or_else(|| path.to_owned(), |(row, tail)| format!("military_experience[{row}]{tail}"));
        out.add(renamed, message);
    }
    out
}

/// Groups an access code in fours, for reading and writing down.
fn grouped(code: &str) -> String {
    code.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

async fn mission_name(state: &AppState, id: &legion_domain::MissionId) -> String {
    match state.store.missions().await {
        Ok(ms) => ms.into_iter().find(|m| &m.id == id).map_or_else(|| id.to_string(), |m| m.name),
        Err(_) => id.to_string(),
    }
}

/// `POST /apply`: submits; the form again with messages (422), or the confirmation.
pub(crate) async fn apply(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let values = FormValues(pairs);
    let (body, rows) = application_json(&values);
    // A form without a usable key (an old page, a hand-made post) gets a fresh one.
    let key = values
        .text("submission_key")
        .filter(|k| service::idempotency_key_hash(&state, k).is_ok())
        .map_or_else(|| new_submission_key(&state), str::to_owned);
    match service::submit(&state, &body, Some(&key)).await {
        Ok(s) => {
            let page = SubmittedPage {
                ui: ctx.ui(ctx.lang.t("submitted.title"), None).switch_to("/status", &ctx),
                status_href: format!("/status?reference={}", s.reference),
                reference: s.reference.to_string(),
                access_code: grouped(&s.access_code),
                mission: mission_name(&state, &s.mission).await,
            };
            render(&ctx, StatusCode::OK, &page)
        }
        Err(AppError::Validation(errors)) => {
            form_response(&ctx, StatusCode::UNPROCESSABLE_ENTITY, &values, &form_paths(&errors, &rows), key)
        }
        Err(e) => error_page(&ctx, None, &e),
    }
}

#[derive(Template)]
#[template(path = "status_lookup.html")]
struct LookupPage {
    ui: Ui,
    fields: Vec<Field>,
    not_found: bool,
}

fn lookup_response(ctx: &Ctx, status: StatusCode, reference: &str, not_found: bool) -> Response {
    let lang = ctx.lang;
    let mut values = FormValues::default();
    values.0.push(("reference".into(), reference.to_owned()));
    let fields = vec![
        Field::new("", "reference", lang.t("status.reference"), Kind::Text)
            .required()
            .hint(lang.t("status.reference.hint"))
            .autocomplete("off")
            .width("w-medium")
            .fill(&values),
        Field::new("", "access_code", lang.t("status.access_code"), Kind::Password).required().autocomplete("off"),
    ];
    let ui = ctx.ui(lang.t("status.lookup_title"), None).section("status").switch_to("/status", ctx);
    render(ctx, status, &LookupPage { ui, fields, not_found })
}

/// `GET /status`: asks for the reference and access code.
pub(crate) async fn status_lookup(ctx: Ctx, Query(q): Query<Vec<(String, String)>>) -> Response {
    let q = FormValues(q);
    lookup_response(&ctx, StatusCode::OK, q.get("reference"), false)
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    ui: Ui,
    reference: String,
    access_code: String,
    state_title: &'static str,
    state_text: &'static str,
    mission: String,
    submitted: String,
    updated: String,
    open_request: Option<(String, String)>,
    past_requests: Vec<(String, String)>,
    interview: Option<(String, String)>,
    entry: Option<String>,
    /// The printable entry authorisation, while the case is authorised.
    letter: Option<Letter>,
    can_withdraw: bool,
    answer: Field,
    withdraw: Vec<Field>,
    documents: Vec<DocumentRow>,
    /// The upload form's fields; empty when the case no longer takes documents.
    upload: Vec<Field>,
    notice: Option<&'static str>,
    error: Option<String>,
    problems: Vec<Problem>,
}

/// The entry authorisation letter: the QR code and what it states, in English and Ukrainian.
struct Letter {
    /// Inline SVG of the QR code (our own markup).
    qr_svg: String,
    id: String,
    family_name: String,
    given_names: String,
    date_of_birth: String,
    nationality: String,
    passport_number: String,
    window: String,
    mission: String,
}

impl Letter {
    fn new(a: &service::IssuedAuthorisation, mission: String) -> Option<Letter> {
        let (_, claims) = legion_credential::decode_unverified(&a.token).ok()?;
        let svg = legion_credential::qr::svg(&a.token).ok()?;
        // Inline in the page: without the XML declaration.
        let qr_svg = svg.find("<svg").map_or(svg.clone(), |i| svg[i..].to_owned());
        Some(Letter {
            qr_svg,
            id: a.id.to_string(),
            family_name: claims.holder.family_name,
            given_names: claims.holder.given_names,
            date_of_birth: claims.holder.date_of_birth,
            nationality: claims.holder.nationality,
            passport_number: claims.holder.passport_number,
            window: format!("{} – {}", a.valid_from, a.valid_until),
            mission,
        })
    }
}

/// What the status page shows after an action.
#[derive(Default)]
struct Outcome {
    notice: Option<&'static str>,
    error: Option<String>,
    values: FormValues,
    errors: FieldErrors,
}

async fn status_response(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    code: &str,
    (record, history): (ApplicationRecord, Vec<HistoryEntry>),
    outcome: Outcome,
) -> Response {
    let lang = ctx.lang;
    let view = ApplicantView::new(&record, &history);
    let key = |suffix: &str| format!("state.{}.{suffix}", view.status.as_str());
    let asked = |at| lang.tf("status.asked_on", &[&fmt_time(at)]);
    let open_request = view.requests.iter().rev().find(|r| r.open).map(|r| (asked(r.at), r.message.clone()));
    let past_requests = view.requests.iter().filter(|r| !r.open).map(|r| (asked(r.at), r.message.clone())).collect();
    let answer = Field::new("", "answer", lang.t("status.answer"), Kind::TextArea)
        .required()
        .fill(&outcome.values)
        .error_from(&outcome.errors, lang);
    let withdraw = vec![
        Field::new("withdraw-", "reason", lang.t("status.withdraw_reason"), Kind::TextArea)
            .hint(lang.t("status.withdraw_reason.hint"))
            .fill(&outcome.values)
            .error_from(&outcome.errors, lang),
        Field::new("withdraw-", "confirm", lang.t("status.withdraw_confirm"), Kind::Checkbox)
            .required()
            .summary_label(lang.t("status.withdraw_confirm.short").to_owned())
            .error_from(&outcome.errors, lang),
    ];
    let scope = legion_store::Scope::Mission(record.mission.clone());
    let documents = match state.store.documents(record.id, &scope).await {
        Ok(docs) => docs.unwrap_or_default().iter().map(|d| DocumentRow::new(lang, d)).collect(),
        Err(e) => return error_page(ctx, None, &e.into()),
    };
    let upload = if record.state.accepts_documents() {
        upload_fields(lang, state.config.max_document_bytes, &outcome.values, &outcome.errors)
    } else {
        Vec::new()
    };
    let problems =
        std::iter::once(&answer).chain(withdraw.iter()).chain(upload.iter()).filter_map(Field::problem).collect();
    let mission = mission_name(state, &record.mission).await;
    let letter = service::authorisation_of(&record, &history).and_then(|a| Letter::new(&a, mission.clone()));
    let page = StatusPage {
        ui: ctx.ui(lang.t("status.title"), None).section("status").switch_to("/status", ctx),
        reference: record.reference.to_string(),
        access_code: code.to_owned(),
        state_title: lang.t(&key("title")),
        state_text: lang.t(&key("text")),
        mission,
        submitted: fmt_time(view.submitted_at),
        updated: fmt_time(view.updated_at),
        open_request,
        past_requests,
        interview: view.interview.as_ref().map(|i| (fmt_time(i.at), i.place.clone())),
        entry: view
            .entry_window
            .as_ref()
            .map(|w| lang.tf("status.entry_text", &[&fmt_date(w.valid_from), &fmt_date(w.valid_until)])),
        letter,
        can_withdraw: view.can_withdraw,
        answer,
        withdraw,
        documents,
        upload,
        notice: outcome.notice,
        error: outcome.error,
        problems,
    };
    render(ctx, status, &page)
}

/// Finds the applicant's case; a malformed reference is simply not found.
async fn lookup(
    state: &AppState,
    reference: &str,
    code: &str,
) -> Result<(ApplicationRecord, Vec<HistoryEntry>), AppError> {
    let reference = Reference::parse(reference).ok_or(AppError::NotFound)?;
    service::applicant_case_by_reference(state, &reference, code).await
}

/// `POST /status`: the status page for a reference and access code.
pub(crate) async fn status_show(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let v = FormValues(pairs);
    let (reference, code) = (v.get("reference").trim(), v.get("access_code"));
    match lookup(&state, reference, code).await {
        Ok(case) => status_response(&state, &ctx, StatusCode::OK, code, case, Outcome::default()).await,
        Err(AppError::NotFound) => lookup_response(&ctx, StatusCode::NOT_FOUND, reference, true),
        Err(e) => error_page(&ctx, None, &e),
    }
}

/// `POST /status/authorisation.png`: the QR code of the applicant's entry authorisation, as
/// a PNG file to keep on a phone or print.
pub(crate) async fn status_qr(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let v = FormValues(pairs);
    let (reference, code) = (v.get("reference").trim(), v.get("access_code"));
    let (record, history) = match lookup(&state, reference, code).await {
        Ok(case) => case,
        Err(AppError::NotFound) => return lookup_response(&ctx, StatusCode::NOT_FOUND, reference, true),
        Err(e) => return error_page(&ctx, None, &e),
    };
    let Some(a) = service::authorisation_of(&record, &history) else {
        return error_page(&ctx, None, &AppError::NotFound);
    };
    match legion_credential::qr::png(&a.token, 10) {
        Ok(png) => (
            [
                (axum::http::header::CONTENT_TYPE, "image/png".to_owned()),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"entry-authorisation-{}.png\"", record.reference),
                ),
                (axum::http::header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            png,
        )
            .into_response(),
        Err(e) => error_page(&ctx, None, &AppError::Internal(e.to_string())),
    }
}

/// Runs an applicant command and shows the status page again.
async fn applicant_act(
    state: &AppState,
    ctx: &Ctx,
    v: FormValues,
    command: Result<Command, FieldErrors>,
    notice: &'static str,
) -> Response {
    let (reference, code) = (v.get("reference").trim().to_owned(), v.get("access_code").to_owned());
    let record = match lookup(state, &reference, &code).await {
        Ok((r, _)) => r,
        Err(AppError::NotFound) => return lookup_response(ctx, StatusCode::NOT_FOUND, &reference, true),
        Err(e) => return error_page(ctx, None, &e),
    };
    let result = match command {
        Ok(c) => service::applicant_command(state, record.id, &code, c).await.map(|_| ()),
        Err(e) => Err(AppError::Validation(e)),
    };
    let (status, outcome) = match result {
        Ok(()) => (StatusCode::OK, Outcome { notice: Some(notice), ..Outcome::default() }),
        Err(AppError::NotFound) => return lookup_response(ctx, StatusCode::NOT_FOUND, &reference, true),
        Err(e @ (AppError::Internal(_) | AppError::Unavailable(_) | AppError::StorageUnavailable(_))) => {
            return error_page(ctx, None, &e);
        }
        Err(e) => {
            let errors = match &e {
                AppError::Validation(f) => f.clone(),
                _ => FieldErrors::new(),
            };
            (e.status(), Outcome { notice: None, error: Some(error_text(ctx.lang, &e)), values: v, errors })
        }
    };
    match lookup(state, &reference, &code).await {
        Ok(case) => status_response(state, ctx, status, &code, case, outcome).await,
        Err(e) => error_page(ctx, None, &e),
    }
}

/// `POST /status/answer`: answers the open request.
pub(crate) async fn status_answer(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let v = FormValues(pairs);
    let command = Ok(Command::AnswerInfo { answer: v.get("answer").to_owned() });
    applicant_act(&state, &ctx, v, command, "status.answer_sent").await
}

/// `POST /status/withdraw`: withdraws the application (the box must be ticked).
pub(crate) async fn status_withdraw(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let v = FormValues(pairs);
    let command = if v.has("confirm") {
        Ok(Command::Withdraw { reason: v.text("reason").map(str::to_owned) })
    } else {
        let mut e = FieldErrors::new();
        e.add("confirm", "confirm to withdraw");
        Err(e)
    };
    applicant_act(&state, &ctx, v, command, "status.withdrawn_notice").await
}

/// A document as the status and case pages list it.
pub(crate) struct DocumentRow {
    pub id: String,
    pub kind: &'static str,
    pub file_type: &'static str,
    pub size: String,
    pub at: String,
}

impl DocumentRow {
    pub(crate) fn new(lang: Lang, d: &legion_store::DocumentRecord) -> Self {
        Self {
            id: d.id.to_string(),
            kind: lang.t(&format!("document.kind.{}", d.kind.as_str())),
            file_type: match d.content_type {
                DocumentType::Pdf => "PDF",
                DocumentType::Jpeg => "JPEG",
                DocumentType::Png => "PNG",
            },
            size: size_text(lang, d.size),
            at: fmt_time(d.uploaded_at),
        }
    }
}

/// A size in KB (below 1 MB) or MB with one decimal.
pub(crate) fn size_text(lang: Lang, bytes: u64) -> String {
    const KB: u64 = 1024;
    if bytes < KB * KB {
        lang.tf("size.kb", &[&bytes.div_ceil(KB).to_string()])
    } else {
        let tenths = (bytes * 10).div_ceil(KB * KB);
        lang.tf("size.mb", &[&format!("{}.{}", tenths / 10, tenths % 10)])
    }
}

/// Whole megabytes of a byte limit, for messages.
fn limit_mb(max: usize) -> usize {
    max / (1024 * 1024)
}

/// The upload form: what the document is, and the file.
fn upload_fields(lang: Lang, max: usize, values: &FormValues, errors: &FieldErrors) -> Vec<Field> {
    let mut kinds = vec![(String::new(), lang.t("form.choose").to_owned())];
    kinds.extend(
        DocumentKind::ALL
            .iter()
            .map(|k| (k.as_str().to_owned(), lang.t(&format!("document.kind.{}", k.as_str())).to_owned())),
    );
    vec![
        Field::new("document-", "kind", lang.t("status.document_kind"), Kind::Select)
            .required()
            .options(kinds)
            .fill(values)
            .error_from(errors, lang),
        Field::new("document-", "file", lang.t("status.document_file"), Kind::File)
            .required()
            .hint(lang.tf("status.document_file.hint", &[&limit_mb(max).to_string()]))
            .error_from(errors, lang),
    ]
}

/// `POST /status/documents`: an upload from the status page (`multipart/form-data` with the
/// reference and access code before the kind and the file); the status page again, with a
/// notice or what was wrong. A file part before valid credentials is answered with the lookup
/// page (404) without being read.
pub(crate) async fn status_upload(
    State(state): State<AppState>,
    ctx: Ctx,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let max = state.config.max_document_bytes;
    let (mut reference, mut code) = (String::new(), String::new());
    // The reference and access code come before the file (the form puts them first) and are
    // checked before a byte of the file is read; the upload's permit is taken only then.
    let check = async |fields: &[(String, String)]| {
        let values = FormValues(fields.to_vec());
        values.get("reference").trim().clone_into(&mut reference);
        values.get("access_code").clone_into(&mut code);
        let (record, _) = lookup(&state, &reference, &code).await?;
        Ok((record, state.upload_permit()?))
    };
    let read = match multipart {
        Ok(m) => documents::read_upload_checked(m, max, check).await,
        Err(_) => Err(AppError::BadRequest("Send the form as multipart/form-data.".into())),
    };
    let (form, record, _permit) = match read {
        Ok((form, (record, permit))) => (form, record, permit),
        Err(AppError::NotFound) => return lookup_response(&ctx, StatusCode::NOT_FOUND, &reference, true),
        Err(e) => return error_page(&ctx, None, &e),
    };
    let values = FormValues(form.fields.clone());
    let result = match documents::checked_upload(form, None) {
        Ok((kind, bytes)) => documents::upload(&state, &record, kind, &bytes).await.map(|_| ()),
        Err(e) => Err(e),
    };
    let mut errors = FieldErrors::new();
    let (status, error) = match result {
        Ok(()) => (StatusCode::OK, None),
        Err(
            e @ (AppError::Internal(_) | AppError::Unavailable(_) | AppError::StorageUnavailable(_) | AppError::Gone),
        ) => {
            return error_page(&ctx, None, &e);
        }
        Err(AppError::Validation(f)) => {
            errors = f;
            (StatusCode::UNPROCESSABLE_ENTITY, Some(ctx.lang.t("err.validation").to_owned()))
        }
        Err(AppError::PayloadTooLarge) => {
            errors.add("file", format!("must be at most {} MB", limit_mb(max)));
            (StatusCode::PAYLOAD_TOO_LARGE, Some(ctx.lang.field_message(errors.get("file").unwrap_or_default())))
        }
        Err(AppError::UnsupportedMediaType(_)) => {
            errors.add("file", "must be a PDF, JPEG or PNG file");
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some(ctx.lang.field_message("must be a PDF, JPEG or PNG file")))
        }
        Err(AppError::Conflict(m)) => {
            let key = if m.contains("as many documents") { "status.documents_full" } else { "status.documents_closed" };
            (StatusCode::CONFLICT, Some(ctx.lang.t(key).to_owned()))
        }
        Err(e) => (e.status(), Some(error_text(ctx.lang, &e))),
    };
    let outcome = if error.is_none() {
        Outcome { notice: Some("status.document_sent"), ..Outcome::default() }
    } else {
        // The kind chosen is shown again; the file must be chosen again (browsers never refill one).
        let kept = FormValues(values.0.into_iter().filter(|(k, _)| k == "kind").collect());
        Outcome { notice: None, error, values: kept, errors }
    };
    match lookup(&state, &reference, &code).await {
        Ok(case) => status_response(&state, &ctx, status, &code, case, outcome).await,
        Err(e) => error_page(&ctx, None, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> FormValues {
        FormValues(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn empty_rows_are_skipped_and_paths_map_back() {
        let v = values(&[
            ("given_names", " Jan "),
            ("native_name", ""),
            ("military_experience[0].country", ""),
            ("military_experience[2].branch", "Army"),
            ("military_experience[2].from", "2010-01"),
            ("languages", "English, , Polish"),
            ("travel.group_travel", "true"),
        ]);
        let (body, rows) = application_json(&v);
        assert_eq!(rows, vec![2]);
        assert_eq!(body["given_names"], "Jan");
        assert!(body.get("native_name").is_none());
        assert_eq!(body["military_experience"][0]["branch"], "Army");
        assert!(body["military_experience"][0].get("to").is_none());
        assert_eq!(body["languages"], json!(["English", "Polish"]));
        assert_eq!(body["travel"]["group_travel"], true);
        assert_eq!(body["declarations"]["consent_background_check"], false);
        let mut e = FieldErrors::new();
        e.add("military_experience[0].country", "is required");
        e.add("travel.departure_city", "is required");
        let mapped = form_paths(&e, &rows);
        assert_eq!(mapped.get("military_experience[2].country"), Some("is required"));
        assert_eq!(mapped.get("travel.departure_city"), Some("is required"));
    }

    #[test]
    fn access_codes_are_grouped() {
        assert_eq!(grouped("ABCDEFGHJ"), "ABCD EFGH J");
    }
}
