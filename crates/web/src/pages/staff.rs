//! The staff workspace: sign-in, the mission queue, the case page and its actions.

use std::fmt::Write as _;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use legion_domain::application::age_on;
use legion_domain::{ApplicationId, Command, FieldErrors, Permission, Recommendation, Role, State as CaseState};
use legion_store::{ApplicationRecord, HistoryEntry, Scope};
use serde_json::Value;

use super::{
    Ctx, Field, FormValues, Kind, Problem, Ui, error_page, error_text, fmt_date, fmt_time, render, role_name,
    see_other, state_name,
};
use crate::api::cases::{Lookup, QueueParams, load_case, parse_id, queue_page};
use crate::auth::{self, CurrentStaff, urlencode};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::{AppState, service};

/// Rows per queue page.
pub(crate) const PAGE_SIZE: u32 = 25;

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    ui: Ui,
    fields: Vec<Field>,
    next: String,
    failed: bool,
    signed_out: bool,
}

/// Only staff pages are acceptable places to go after signing in.
fn safe_next(next: &str) -> &str {
    if next.starts_with("/staff") && !next.contains(['\r', '\n', '\\']) { next } else { "/staff" }
}

fn sign_in_response(
    ctx: &Ctx,
    status: StatusCode,
    username: &str,
    next: &str,
    failed: bool,
    signed_out: bool,
) -> Response {
    let lang = ctx.lang;
    let mut values = FormValues::default();
    values.0.push(("username".into(), username.to_owned()));
    let fields = vec![
        Field::new("", "username", lang.t("signin.username"), Kind::Text)
            .required()
            .autocomplete("username")
            .width("w-medium")
            .fill(&values),
        Field::new("", "password", lang.t("signin.password"), Kind::Password)
            .required()
            .autocomplete("current-password")
            .width("w-medium"),
    ];
    let ui = ctx.ui(lang.t("signin.title"), None).switch_to("/staff/sign-in", ctx);
    let page = SignInPage { ui, fields, next: safe_next(next).to_owned(), failed, signed_out };
    render(ctx, status, &page)
}

/// `GET /staff/sign-in`.
pub(crate) async fn sign_in_page(ctx: Ctx, Query(q): Query<Vec<(String, String)>>) -> Response {
    let q = FormValues(q);
    sign_in_response(&ctx, StatusCode::OK, "", q.get("next"), false, q.has("signed_out"))
}

/// Whether a present `Origin` names another site than the one asked (sign-in is public,
/// so the guard's check does not cover it).
fn cross_site(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return false };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
    origin != "null" && origin_host != host
}

/// `POST /staff/sign-in`: starts a session and goes on to `next` (a staff page).
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    if cross_site(&headers) {
        return error_page(&ctx, None, &AppError::Forbidden("Cross-site request refused."));
    }
    let v = FormValues(pairs);
    let (username, next) = (v.get("username").trim(), v.get("next"));
    match auth::sign_in(&state, username, v.get("password")).await {
        Ok((token, _)) => {
            let mut resp = see_other(safe_next(next));
            if let Ok(c) = HeaderValue::from_str(&auth::session_cookie(&state, &token)) {
                resp.headers_mut().append(header::SET_COOKIE, c);
            }
            resp
        }
        // The form again with a neutral message (200: the page itself is fine to show).
        Err(AppError::Forbidden(_)) => sign_in_response(&ctx, StatusCode::OK, username, next, true, false),
        Err(e) => error_page(&ctx, None, &e),
    }
}

/// `POST /staff/sign-out`.
pub(crate) async fn sign_out(State(state): State<AppState>, ctx: Ctx, staff: CurrentStaff) -> Response {
    let audit = staff.audit(&state, "session.sign_out", format!("staff:{}", staff.id()), "ok");
    if let Err(e) = state.store.delete_session(&staff.session_hash, &audit).await {
        return error_page(&ctx, Some(&staff), &e.into());
    }
    let mut resp = see_other("/staff/sign-in?signed_out=1");
    if let Ok(c) = HeaderValue::from_str(&auth::clear_cookie(&state)) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

#[derive(Template)]
#[template(path = "staff_home.html")]
struct HomePage {
    ui: Ui,
    role_line: String,
    text: &'static str,
    /// Auditors go on to the audit log from here.
    audit_link: bool,
}

/// `GET /staff`: the queue for mission staff, the vetting queue for vetting officers,
/// and for everyone else a word on what their role does.
pub(crate) async fn home(ctx: Ctx, staff: CurrentStaff) -> Response {
    let lang = ctx.lang;
    match staff.role() {
        Role::MissionOfficer | Role::MissionHead => see_other("/staff/queue"),
        Role::VettingOfficer => see_other("/staff/vetting"),
        Role::BorderOfficer => see_other("/staff/border"),
        role => {
            let key = format!("home.role.{}", role.as_str());
            let text = match role {
                Role::ReceptionOfficer | Role::RecordsOfficer | Role::Auditor | Role::Admin => lang.t(&key),
                _ => lang.t("home.role.other"),
            };
            let role_line = lang.tf("home.role", &[lang.t(&format!("role.{}", role.as_str()))]);
            let audit_link = role.can(Permission::AuditRead);
            let page = HomePage { ui: ctx.ui(lang.t("home.title"), Some(&staff)), role_line, text, audit_link };
            render(&ctx, StatusCode::OK, &page)
        }
    }
}

/// A queue row.
pub(crate) struct QueueRow {
    pub href: String,
    pub reference: String,
    pub name: String,
    pub nationality: &'static str,
    pub state: &'static str,
    pub state_class: &'static str,
    pub submitted: String,
    pub mission: String,
    pub flags: usize,
}

#[derive(Template)]
#[template(path = "queue.html")]
pub(crate) struct QueuePage {
    ui: Ui,
    heading: String,
    intro: Option<&'static str>,
    path: &'static str,
    vetting: bool,
    filters: Vec<Field>,
    /// The exact-lookup form (sent as a POST, so the values never appear in a URL); mission queue only.
    lookup_fields: Vec<Field>,
    lookup_path: Option<&'static str>,
    rows: Vec<QueueRow>,
    count: String,
    caption: String,
    page_of: String,
    prev_href: Option<String>,
    next_href: Option<String>,
    problems: Vec<Problem>,
    notice: Option<&'static str>,
    empty_text: &'static str,
    showing: bool,
}

/// Which queue is shown.
pub(crate) struct QueueKind {
    pub path: &'static str,
    pub case_path: &'static str,
    pub vetting: bool,
    pub heading: String,
    pub intro: Option<&'static str>,
    pub notice: Option<&'static str>,
}

fn page_href(path: &str, q: &FormValues, page: u32) -> String {
    let mut s = format!("{path}?");
    for k in ["state", "reference", "sort"] {
        if let Some(v) = q.text(k) {
            let _ = write!(s, "{k}={}&", urlencode(v));
        }
    }
    let _ = write!(s, "page={page}");
    s
}

/// A queue page: filters, table, pagination. Bad filters answer 422 with their messages.
pub(crate) async fn queue_response(
    state: &AppState,
    ctx: &Ctx,
    staff: &CurrentStaff,
    scope: &Scope,
    q: &FormValues,
    kind: QueueKind,
    lookup: Option<&Lookup>,
) -> Response {
    let lang = ctx.lang;
    let mut errors = FieldErrors::new();
    let page = match q.text("page").map(str::parse::<u32>) {
        None => 1,
        Some(Ok(n)) if (1..=1_000_000).contains(&n) => n,
        Some(_) => {
            errors.add("page", "must be a page number");
            1
        }
    };
    let params = QueueParams {
        state: if kind.vetting { None } else { q.text("state").map(str::to_owned) },
        reference: q.text("reference").map(str::to_owned),
        sort: q.text("sort").map(str::to_owned),
        offset: Some((page - 1) * PAGE_SIZE),
        limit: Some(if lookup.is_some() { 200 } else { PAGE_SIZE }),
    };
    let result = match queue_page(state, scope, &params, lookup).await {
        Ok(p) if errors.is_empty() => Some(p),
        Ok(_) => None,
        Err(AppError::Validation(e)) => {
            for (k, m) in e.iter() {
                errors.add(k, m);
            }
            None
        }
        Err(e) => return error_page(ctx, Some(staff), &e),
    };
    let mut filters = Vec::new();
    if !kind.vetting {
        let mut states = vec![(String::new(), lang.t("queue.all_states").to_owned())];
        states.extend(CaseState::ALL.iter().map(|s| (s.as_str().to_owned(), state_name(lang, *s).to_owned())));
        filters.push(Field::new("q-", "state", lang.t("queue.state"), Kind::Select).fill(q).options(states));
    }
    filters.push(
        Field::new("q-", "reference", lang.t("queue.reference"), Kind::Text)
            .width("w-medium")
            .autocomplete("off")
            .fill(q),
    );
    let lookup_fields: Vec<Field> = if kind.vetting {
        Vec::new()
    } else {
        [
            ("email", "queue.email", "w-medium"),
            ("passport", "queue.passport", "w-medium"),
            ("nationality", "queue.nationality", "w-short"),
        ]
        .into_iter()
        .map(|(name, label, width)| {
            let f = Field::new("l-", name, lang.t(label), Kind::Text).width(width).autocomplete("off");
            let f = match lookup {
                Some(_) => f.fill(q),
                None => f,
            };
            f.error_from(&errors, lang)
        })
        .collect()
    };
    let sorts = ["submitted_asc", "submitted_desc", "updated_desc"]
        .map(|s| (s.to_owned(), lang.t(&format!("queue.sort.{s}")).to_owned()));
    filters.push(Field::new("q-", "sort", lang.t("queue.sort"), Kind::Select).fill(q).options(sorts));
    let mut filters: Vec<Field> = filters
        .into_iter()
        .map(|f| {
            let mut f = f.error_from(&errors, lang);
            // A select keeps its (unknown) value out of the options; show the first.
            if f.is_select()
                && !f.options.iter().any(|o| o.selected)
                && let Some(o) = f.options.first_mut()
            {
                o.selected = true;
            }
            f
        })
        .collect();
    let mut lookup_fields = lookup_fields;
    let mut problems: Vec<Problem> =
        filters.iter_mut().chain(lookup_fields.iter_mut()).filter_map(|f| f.problem()).collect();
    if let Some(m) = errors.get("page") {
        problems.push(Problem {
            target: "queue-results".into(),
            label: lang.t("queue.page").into(),
            message: lang.field_message(m),
        });
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let (rows, total) = match &result {
        Some(p) => (
            p.items
                .iter()
                .map(|c| QueueRow {
                    href: format!("{}/{}", kind.case_path, c.id),
                    reference: c.reference.to_string(),
                    name: c.name.clone(),
                    nationality: lang.country(c.nationality.as_str()),
                    state: state_name(lang, c.state),
                    state_class: c.state.as_str(),
                    submitted: fmt_time(c.submitted_at),
                    mission: c.mission.to_string(),
                    flags: c.flags,
                })
                .collect(),
            p.total,
        ),
        None => (Vec::new(), 0),
    };
    // A queue of more than `COUNT_LIMIT` cases is not counted to the end: its pages go on
    // while they are full.
    let counted = total <= legion_store::COUNT_LIMIT;
    let pages = if counted {
        u32::try_from(total.max(0)).unwrap_or(u32::MAX).div_ceil(PAGE_SIZE).max(1)
    } else {
        page + u32::from(rows.len() == PAGE_SIZE as usize)
    };
    let (p, n) = (page.to_string(), pages.to_string());
    let section = if kind.vetting { "vetting" } else { "queue" };
    let queue = QueuePage {
        ui: ctx.ui(kind.heading.clone(), Some(staff)).section(section),
        heading: kind.heading,
        intro: kind.intro,
        path: kind.path,
        vetting: kind.vetting,
        filters,
        lookup_path: (!kind.vetting).then_some("/staff/queue/find"),
        lookup_fields,
        rows,
        count: if counted {
            lang.tf("queue.count", &[&total.to_string()])
        } else {
            lang.tf("queue.count_more", &[&legion_store::COUNT_LIMIT.to_string()])
        },
        caption: if counted { lang.tf("queue.caption", &[&p, &n]) } else { lang.tf("queue.caption_open", &[&p]) },
        page_of: if counted { lang.tf("queue.page_of", &[&p, &n]) } else { lang.tf("queue.page_open", &[&p]) },
        // A lookup's few results are one page; its values are not put into links.
        prev_href: (result.is_some() && lookup.is_none() && page > 1).then(|| page_href(kind.path, q, page - 1)),
        next_href: (result.is_some() && lookup.is_none() && page < pages).then(|| page_href(kind.path, q, page + 1)),
        problems,
        notice: kind.notice,
        empty_text: lang.t(if kind.vetting { "vetting.empty" } else { "queue.empty" }),
        showing: result.is_some(),
    };
    render(ctx, status, &queue)
}

/// `GET /staff/queue`: the cases of the staff member's mission.
pub(crate) async fn queue(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: CurrentStaff,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let Some(scope) = staff.case_scope() else {
        return error_page(&ctx, Some(&staff), &AppError::Forbidden("Your role has no case queue."));
    };
    let Scope::Mission(mission) = &scope else {
        return error_page(&ctx, Some(&staff), &AppError::Forbidden("Your role has no case queue."));
    };
    let lang = ctx.lang;
    let mission_name = match state.store.missions().await {
        Ok(ms) => ms.into_iter().find(|m| &m.id == mission).map_or_else(|| mission.to_string(), |m| m.name),
        Err(e) => return error_page(&ctx, Some(&staff), &e.into()),
    };
    let kind = QueueKind {
        path: "/staff/queue",
        case_path: "/staff/cases",
        vetting: false,
        heading: format!("{} — {mission_name}", lang.t("queue.title")),
        intro: None,
        notice: None,
    };
    queue_response(&state, &ctx, &staff, &scope, &FormValues(q), kind, None).await
}

/// `POST /staff/queue/find`: the mission queue narrowed to one applicant, found exactly by
/// e-mail address or passport number (posted, so neither appears in a URL).
pub(crate) async fn queue_find(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: CurrentStaff,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = FormValues(pairs);
    let lookup = Lookup {
        email: form.text("email").map(str::to_owned),
        passport: form.text("passport").map(str::to_owned),
        nationality: form.text("nationality").map(str::to_owned),
    };
    let Some(scope @ Scope::Mission(_)) = staff.case_scope() else {
        return error_page(&ctx, Some(&staff), &AppError::Forbidden("Your role has no case queue."));
    };
    let kind = QueueKind {
        path: "/staff/queue",
        case_path: "/staff/cases",
        vetting: false,
        heading: ctx.lang.t("queue.find.title").to_owned(),
        intro: None,
        notice: None,
    };
    queue_response(&state, &ctx, &staff, &scope, &form, kind, Some(&lookup)).await
}

/// A staff action on a case or a vetting hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    RequestInfo,
    ScheduleInterview,
    RecordInterview,
    Recommend,
    Approve,
    Reject,
    Return,
    Authorise,
    Revoke,
    Reissue,
    Clear,
    Confirm,
}

impl Action {
    const ALL: [Action; 12] = [
        Action::RequestInfo,
        Action::ScheduleInterview,
        Action::RecordInterview,
        Action::Recommend,
        Action::Approve,
        Action::Reject,
        Action::Return,
        Action::Authorise,
        Action::Revoke,
        Action::Reissue,
        Action::Clear,
        Action::Confirm,
    ];

    /// The path segment, the same as the API's.
    pub fn slug(self) -> &'static str {
        match self {
            Action::RequestInfo => "request-info",
            Action::ScheduleInterview => "schedule-interview",
            Action::RecordInterview => "record-interview",
            Action::Recommend => "recommend",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Return => "return",
            Action::Authorise => "authorise",
            Action::Revoke => "revoke",
            Action::Reissue => "reissue",
            Action::Clear => "clear",
            Action::Confirm => "confirm",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.slug() == s)
    }

    fn permission(self) -> Permission {
        match self {
            Action::RequestInfo | Action::ScheduleInterview | Action::RecordInterview => Permission::CaseReview,
            Action::Recommend => Permission::CaseRecommend,
            Action::Approve | Action::Reject | Action::Return => Permission::CaseDecide,
            Action::Authorise => Permission::CaseAuthorise,
            Action::Revoke | Action::Reissue => Permission::CaseRevoke,
            Action::Clear | Action::Confirm => Permission::VettingResolve,
        }
    }
}

/// A form for one action, as the case page shows it.
pub(crate) struct ActionForm {
    pub id: &'static str,
    pub url: String,
    pub title: &'static str,
    pub hint: Option<&'static str>,
    pub fields: Vec<Field>,
    pub button: &'static str,
    pub danger: bool,
}

/// A failed action, shown again with its message and the values that were sent.
pub(crate) struct Failure {
    pub action: Action,
    pub message: String,
    pub errors: FieldErrors,
    pub values: FormValues,
}

/// Builds the form for `action`; `approve_allowed` says whether "approve" may be
/// recommended (only after an interview).
pub(crate) fn action_form(
    lang: Lang,
    base: &str,
    action: Action,
    approve_allowed: bool,
    failure: Option<&Failure>,
) -> ActionForm {
    let slug = action.slug();
    let prefix = format!("{slug}-");
    let f = |name: &str, key: &str, kind: Kind| Field::new(&prefix, name, lang.t(key), kind);
    let reason = || f("reason", "input.reason", Kind::TextArea).required();
    let yes_no =
        || vec![("yes".to_owned(), lang.t("form.yes").to_owned()), ("no".to_owned(), lang.t("form.no").to_owned())];
    let mut hint = None;
    let fields = match action {
        Action::RequestInfo => {
            vec![f("message", "input.message", Kind::TextArea).required().hint(lang.t("input.message.hint"))]
        }
        Action::ScheduleInterview => {
            vec![f("at", "input.at", Kind::DateTime).required(), f("place", "input.place", Kind::Text).required()]
        }
        Action::RecordInterview => vec![
            f("attended", "input.attended", Kind::Radios)
                .required()
                .hint(lang.t("input.attended.hint"))
                .options(yes_no()),
            f("notes", "input.notes", Kind::TextArea).required(),
        ],
        Action::Recommend => {
            let mut options = Vec::new();
            if approve_allowed {
                options.push(("approve".to_owned(), lang.t("input.recommendation.approve").to_owned()));
            } else {
                hint = Some(lang.t("action.recommend.hint_reject_only"));
            }
            options.push(("reject".to_owned(), lang.t("input.recommendation.reject").to_owned()));
            let mut field = f("recommendation", "input.recommendation", Kind::Radios).required().options(options);
            if !approve_allowed {
                field.options.iter_mut().for_each(|o| o.selected = true);
            }
            vec![field, reason()]
        }
        Action::Approve => vec![f("note", "input.note", Kind::TextArea)],
        Action::Reject | Action::Return | Action::Revoke | Action::Clear | Action::Confirm => vec![reason()],
        Action::Authorise => vec![
            f("valid_from", "input.valid_from", Kind::Date).required().width("w-date"),
            f("valid_until", "input.valid_until", Kind::Date).required().width("w-date"),
        ],
        Action::Reissue => vec![
            f("valid_from", "input.valid_from", Kind::Date).required().width("w-date"),
            f("valid_until", "input.valid_until", Kind::Date).required().width("w-date"),
            reason(),
        ],
    };
    if action == Action::Confirm {
        hint = Some(lang.t("action.confirm.hint"));
    }
    let fields = match failure.filter(|x| x.action == action) {
        Some(x) => fields.into_iter().map(|fl| fl.fill(&x.values).error_from(&x.errors, lang)).collect(),
        None => fields,
    };
    let (title, button) = match action {
        Action::RequestInfo => ("action.request-info", "action.request-info.button"),
        Action::ScheduleInterview => ("action.schedule-interview", "action.schedule-interview.button"),
        Action::RecordInterview => ("action.record-interview", "action.record-interview.button"),
        Action::Recommend => ("action.recommend", "action.recommend.button"),
        Action::Approve => ("action.approve", "action.approve.button"),
        Action::Reject => ("action.reject", "action.reject.button"),
        Action::Return => ("action.return", "action.return.button"),
        Action::Authorise => ("action.authorise", "action.authorise.button"),
        Action::Revoke => ("action.revoke", "action.revoke.button"),
        Action::Reissue => ("action.reissue", "action.reissue.button"),
        Action::Clear => ("action.clear", "action.clear.button"),
        Action::Confirm => ("action.confirm", "action.confirm.button"),
    };
    ActionForm {
        id: slug,
        url: format!("{base}/{slug}"),
        title: lang.t(title),
        hint,
        fields,
        button: lang.t(button),
        danger: matches!(action, Action::Reject | Action::Revoke | Action::Confirm),
    }
}

/// The command a submitted action form asks for; form-level problems as field errors.
pub(crate) fn command_from_form(action: Action, v: &FormValues) -> Result<Command, FieldErrors> {
    let mut e = FieldErrors::new();
    let text = |name: &str| v.get(name).to_owned();
    let date = |name: &str, e: &mut FieldErrors| {
        let d = NaiveDate::parse_from_str(v.get(name).trim(), "%Y-%m-%d").ok();
        if d.is_none() {
            e.add(name, "must be a date (YYYY-MM-DD)");
        }
        d
    };
    let command = match action {
        Action::RequestInfo => Some(Command::RequestInfo { message: text("message") }),
        Action::ScheduleInterview => {
            let raw = v.get("at").trim();
            let at = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
                .ok()
                .map(|t| t.and_utc());
            if at.is_none() {
                e.add("at", "must be a date and time");
                if v.text("place").is_none() {
                    e.add("place", "is required");
                }
            }
            at.map(|at| Command::ScheduleInterview { at, place: text("place") })
        }
        Action::RecordInterview => {
            let attended = match v.get("attended") {
                "yes" => Some(true),
                "no" => Some(false),
                _ => {
                    e.add("attended", "choose yes or no");
                    None
                }
            };
            attended.map(|attended| Command::RecordInterview { attended, notes: text("notes") })
        }
        Action::Recommend => {
            let r = Recommendation::parse(v.get("recommendation"));
            if r.is_none() {
                e.add("recommendation", "choose a recommendation");
            }
            r.map(|recommendation| Command::Recommend { recommendation, reason: text("reason") })
        }
        Action::Approve => Some(Command::Approve { note: text("note") }),
        Action::Reject => Some(Command::Reject { reason: text("reason") }),
        Action::Return => Some(Command::ReturnToReview { reason: text("reason") }),
        Action::Revoke => Some(Command::Revoke { reason: text("reason") }),
        Action::Clear => Some(Command::ClearVetting { reason: text("reason") }),
        Action::Confirm => Some(Command::ConfirmVetting { reason: text("reason") }),
        Action::Authorise => {
            let from = date("valid_from", &mut e);
            let until = date("valid_until", &mut e);
            from.zip(until).map(|(valid_from, valid_until)| Command::Authorise { valid_from, valid_until })
        }
        Action::Reissue => {
            let from = date("valid_from", &mut e);
            let until = date("valid_until", &mut e);
            from.zip(until).map(|(valid_from, valid_until)| Command::Reissue {
                valid_from,
                valid_until,
                reason: text("reason"),
            })
        }
    };
    match command {
        Some(c) if e.is_empty() => Ok(c),
        _ => Err(e),
    }
}

/// Which actions the person may take on the case now, and notes on why there are none
/// (or why some are missing).
fn available(record: &ApplicationRecord, staff: &CurrentStaff) -> (Vec<Action>, Vec<&'static str>) {
    let can = |a: Action| staff.role().can(a.permission());
    let mut actions = Vec::new();
    let mut notes = Vec::new();
    match record.state {
        CaseState::MissionReview => {
            actions.extend([Action::RequestInfo, Action::ScheduleInterview, Action::Recommend]);
        }
        CaseState::InterviewScheduled => actions.push(Action::RecordInterview),
        CaseState::Interviewed => actions.push(Action::Recommend),
        CaseState::Recommended => {
            if can(Action::Approve) {
                let own = record.recommended_by == Some(staff.id());
                if own {
                    notes.push("case.four_eyes");
                } else {
                    if record.recommendation == Some(Recommendation::Approve) {
                        actions.push(Action::Approve);
                    }
                    actions.push(Action::Reject);
                }
                actions.push(Action::Return);
            } else {
                notes.push("case.no_actions.recommended");
            }
        }
        CaseState::Approved => actions.push(Action::Authorise),
        CaseState::Authorised => actions.extend([Action::Reissue, Action::Revoke]),
        CaseState::CrossedBorder => notes.push("case.no_actions.crossed_border"),
        CaseState::InfoRequested => notes.push("case.no_actions.info_requested"),
        CaseState::VettingHold => notes.push("case.no_actions.vetting_hold"),
        CaseState::Submitted | CaseState::Screening => notes.push("case.no_actions.screening"),
        CaseState::Rejected | CaseState::Revoked | CaseState::Withdrawn => notes.push("case.no_actions.closed"),
    }
    actions.retain(|a| can(*a));
    if actions.is_empty() && notes.is_empty() {
        notes.push("case.no_actions.role");
    }
    (actions, notes)
}

/// A row of the case history.
pub(crate) struct HistoryRow {
    pub at: String,
    pub by: String,
    pub action: String,
    pub change: String,
    pub details: Vec<(&'static str, String)>,
}

fn history_rows(lang: Lang, history: &[HistoryEntry], me: &str) -> Vec<HistoryRow> {
    history
        .iter()
        .rev()
        .map(|h| {
            let mut by = role_name(lang, &h.actor_role).to_owned();
            if h.actor == me {
                let _ = write!(by, " ({})", lang.t("role.you"));
            }
            let change = if h.from_state == h.to_state {
                state_name(lang, h.to_state).to_owned()
            } else {
                format!("{} → {}", state_name(lang, h.from_state), state_name(lang, h.to_state))
            };
            HistoryRow {
                at: fmt_time(h.at),
                by,
                action: lang.lookup(&format!("cmd.{}", h.command)).map_or_else(|| h.command.clone(), str::to_owned),
                change,
                details: history_details(lang, &h.details),
            }
        })
        .collect()
}

fn history_details(lang: Lang, d: &Value) -> Vec<(&'static str, String)> {
    let s = |k: &str| d.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let mut out = Vec::new();
    for k in ["message", "answer"] {
        if let Some(v) = s(k) {
            out.push((lang.t(&format!("detail.{k}")), v.to_owned()));
        }
    }
    if let Some(at) = s("at").and_then(|v| v.parse::<DateTime<Utc>>().ok()) {
        out.push((lang.t("detail.at"), fmt_time(at)));
    }
    if let Some(v) = s("place") {
        out.push((lang.t("detail.place"), v.to_owned()));
    }
    if let Some(a) = d.get("attended").and_then(Value::as_bool) {
        out.push((lang.t("detail.attended"), lang.t(if a { "form.yes" } else { "form.no" }).to_owned()));
    }
    if let Some(v) = s("notes") {
        out.push((lang.t("detail.notes"), v.to_owned()));
    }
    if let Some(r) = s("recommendation").and_then(Recommendation::parse) {
        out.push((lang.t("detail.recommendation"), lang.t(&format!("input.recommendation.{}", r.as_str())).to_owned()));
    }
    for k in ["reason", "note"] {
        if let Some(v) = s(k) {
            out.push((lang.t(&format!("detail.{k}")), v.to_owned()));
        }
    }
    if let (Some(from), Some(until)) = (s("valid_from"), s("valid_until")) {
        out.push((lang.t("detail.window"), format!("{from} – {until}")));
    }
    if let Some(flags) = d.get("flags").and_then(Value::as_array).filter(|f| !f.is_empty()) {
        out.push((lang.t("detail.flags"), flags.len().to_string()));
    }
    if let Some(v) = s("point") {
        out.push((lang.t("detail.point"), v.to_owned()));
    }
    // The entry authorisation issued (its id; the signed text is not shown) or crossed with.
    let credential = d.pointer("/credential/id").or_else(|| d.get("credential")).and_then(Value::as_str);
    if let Some(id) = credential {
        out.push((lang.t("detail.credential"), id.to_owned()));
    }
    out
}

/// A screening flag as shown to staff.
pub(crate) struct FlagRow {
    pub kind: &'static str,
    pub explanation: String,
    pub basis: String,
}

pub(crate) fn flag_rows(lang: Lang, record: &ApplicationRecord) -> Vec<FlagRow> {
    record
        .flags
        .iter()
        .map(|f| {
            let kind =
                serde_json::to_value(f.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            FlagRow {
                kind: lang.t(&format!("flag.{kind}")),
                explanation: f.explanation.clone(),
                basis: f.basis.clone(),
            }
        })
        .collect()
}

/// "1988-06-15 (age 37)".
pub(crate) fn birth_line(lang: Lang, born: NaiveDate, today: NaiveDate) -> String {
    format!("{} ({})", fmt_date(born), lang.tf("case.age", &[&age_on(born, today).to_string()]))
}

/// "United Kingdom (GB)".
pub(crate) fn country_line(lang: Lang, code: legion_domain::CountryCode) -> String {
    format!("{} ({})", lang.country(code.as_str()), code.as_str())
}

/// One period of service as a table row.
pub(crate) struct ServiceRow {
    pub country: String,
    pub branch: String,
    pub period: String,
    pub role: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    ui: Ui,
    state: &'static str,
    state_class: &'static str,
    notice: Option<&'static str>,
    error: Option<String>,
    problems: Vec<Problem>,
    meta: Vec<(&'static str, String)>,
    applicant: Vec<(&'static str, String)>,
    service: Vec<ServiceRow>,
    travel: Vec<(&'static str, String)>,
    declarations: Vec<(&'static str, String)>,
    flags: Vec<FlagRow>,
    forms: Vec<ActionForm>,
    notes: Vec<&'static str>,
    history: Vec<HistoryRow>,
    documents: Vec<super::applicant::DocumentRow>,
    /// Where the documents download from (the API, with the same session).
    documents_href: String,
}

/// Shows the case page (after loading and auditing the read), with a notice after a
/// successful action or the failure of one.
pub(crate) async fn show_case(
    state: &AppState,
    ctx: &Ctx,
    staff: &CurrentStaff,
    id: ApplicationId,
    status: StatusCode,
    notice: Option<&'static str>,
    failure: Option<&Failure>,
) -> Response {
    let lang = ctx.lang;
    let (record, history) = match load_case(state, staff, id).await {
        Ok(x) => x,
        Err(e) => return error_page(ctx, Some(staff), &e),
    };
    let missions = state.store.missions().await.unwrap_or_default();
    let mission =
        missions.iter().find(|m| m.id == record.mission).map_or_else(|| record.mission.to_string(), |m| m.name.clone());
    let today = state.clock.now().date_naive();
    let d = &record.details;
    let yes_no = |b: bool| lang.t(if b { "form.yes" } else { "form.no" }).to_owned();
    let mut meta = vec![
        (lang.t("queue.col.state"), state_name(lang, record.state).to_owned()),
        (lang.t("case.mission"), mission),
        (lang.t("case.submitted"), fmt_time(record.submitted_at)),
        (lang.t("case.updated"), fmt_time(record.updated_at)),
        (lang.t("case.policy"), record.policy_version.clone()),
    ];
    if let Some(r) = record.recommendation {
        let what = lang.t(&format!("input.recommendation.{}", r.as_str()));
        let key = if record.recommended_by == Some(staff.id()) {
            "case.recommendation.by_you"
        } else {
            "case.recommendation.by_other"
        };
        meta.push((lang.t("case.recommendation"), lang.tf(key, &[what])));
    }
    let mut applicant = vec![(lang.t("case.name"), d.full_name())];
    if let Some(n) = &d.native_name {
        applicant.push((lang.t("case.native_name"), n.clone()));
    }
    applicant.extend([
        (lang.t("case.date_of_birth"), birth_line(lang, d.date_of_birth, today)),
        (lang.t("case.nationality"), country_line(lang, d.nationality)),
        (lang.t("case.residence"), country_line(lang, d.country_of_residence)),
        (
            lang.t("case.passport"),
            lang.tf("case.passport_value", &[d.passport_number.as_str(), &fmt_date(d.passport_expiry)]),
        ),
        (lang.t("case.email"), d.email.clone()),
    ]);
    if let Some(p) = &d.phone {
        applicant.push((lang.t("case.phone"), p.clone()));
    }
    applicant.push((lang.t("case.languages"), d.languages.join(", ")));
    let service = d
        .military_experience
        .iter()
        .map(|s| ServiceRow {
            country: lang.country(s.country.as_str()).to_owned(),
            branch: s.branch.clone(),
            period: format!(
                "{} – {}",
                s.from.format("%Y-%m"),
                s.to.map_or_else(|| lang.t("case.service.ongoing").to_owned(), |t| t.format("%Y-%m").to_string())
            ),
            role: s.role.clone(),
        })
        .collect();
    let travel = vec![
        (
            lang.t("case.travel.from"),
            format!("{}, {}", d.travel.departure_city, lang.country(d.travel.departure_country.as_str())),
        ),
        (lang.t("case.travel.earliest"), fmt_date(d.travel.earliest_date)),
        (lang.t("case.travel.group"), yes_no(d.travel.group_travel)),
    ];
    let declarations = vec![
        (lang.t("case.decl.no_criminal_record"), yes_no(d.declarations.no_criminal_record)),
        (lang.t("case.decl.consent"), yes_no(d.declarations.consent_background_check)),
    ];
    let documents = match crate::documents::case_page_documents(state, staff, record.id).await {
        Ok(docs) => docs.iter().map(|d| super::applicant::DocumentRow::new(lang, d)).collect(),
        Err(e) => return error_page(ctx, Some(staff), &e),
    };
    let (actions, notes) = available(&record, staff);
    let base = format!("/staff/cases/{}", record.id);
    let approve_allowed = record.state == CaseState::Interviewed;
    // Field messages only for a form the page shows; otherwise the message says it all.
    let problems =
        failure.filter(|f| actions.contains(&f.action)).map(|f| failure_problems(lang, f)).unwrap_or_default();
    let forms = actions.into_iter().map(|a| action_form(lang, &base, a, approve_allowed, failure)).collect();
    let page = CasePage {
        ui: ctx
            .ui(lang.tf("case.title", &[record.reference.as_str()]), Some(staff))
            .section("queue")
            .switch_to(&base, ctx),
        state: state_name(lang, record.state),
        state_class: record.state.as_str(),
        notice,
        error: failure.map(|f| f.message.clone()),
        problems,
        meta,
        applicant,
        service,
        travel,
        declarations,
        flags: flag_rows(lang, &record),
        forms,
        notes,
        history: history_rows(lang, &history, &staff.id().to_string()),
        documents,
        documents_href: format!("/api/v1/cases/{}/documents", record.id),
    };
    render(ctx, status, &page)
}

/// The summary lines of a failed action's field errors.
pub(crate) fn failure_problems(lang: Lang, f: &Failure) -> Vec<Problem> {
    let form = action_form(lang, "", f.action, true, Some(f));
    form.fields.iter().filter_map(Field::problem).collect()
}

/// `GET /staff/cases/{id}`.
pub(crate) async fn case_page(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: CurrentStaff,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let Ok(id) = parse_id(&id) else { return error_page(&ctx, Some(&staff), &AppError::NotFound) };
    let notice = FormValues(q).text("done").and_then(Action::parse).map(|a| ctx.lang.t(&format!("done.{}", a.slug())));
    show_case(&state, &ctx, &staff, id, StatusCode::OK, notice, None).await
}

/// Runs a staff command from a form; on success back to the case (303) with a notice,
/// otherwise the case page again with the message and the status that fits.
async fn act(
    state: &AppState,
    ctx: &Ctx,
    staff: &CurrentStaff,
    id: &str,
    action: Action,
    pairs: Vec<(String, String)>,
) -> Response {
    let Ok(id) = parse_id(id) else { return error_page(ctx, Some(staff), &AppError::NotFound) };
    let values = FormValues(pairs);
    match run_action(state, staff, id, action, &values).await {
        Ok(()) => see_other(&format!("/staff/cases/{id}?done={}", action.slug())),
        Err(e) if is_page_error(&e) => error_page(ctx, Some(staff), &e),
        Err(e) => {
            let status = e.status();
            let failure = failure_of(ctx.lang, action, e, values);
            show_case(state, ctx, staff, id, status, None, Some(&failure)).await
        }
    }
}

/// Reads the action's command from the submitted form and runs it as `staff`.
pub(crate) async fn run_action(
    state: &AppState,
    staff: &CurrentStaff,
    id: ApplicationId,
    action: Action,
    values: &FormValues,
) -> Result<(), AppError> {
    let command = command_from_form(action, values).map_err(AppError::Validation)?;
    service::staff_command(state, staff, id, command).await.map(|_| ())
}

/// Failures shown as a page of their own; the rest are shown on the case page beside the form.
pub(crate) fn is_page_error(e: &AppError) -> bool {
    matches!(e, AppError::NotFound | AppError::Internal(_) | AppError::Unavailable(_) | AppError::StorageUnavailable(_))
}

/// What a failed action leaves to show.
pub(crate) fn failure_of(lang: Lang, action: Action, e: AppError, values: FormValues) -> Failure {
    let message = error_text(lang, &e);
    let errors = match e {
        AppError::Validation(f) => f,
        _ => FieldErrors::new(),
    };
    Failure { action, message, errors, values }
}

macro_rules! action_handler {
    ($name:ident, $action:expr, $doc:literal) => {
        #[doc = $doc]
        pub(crate) async fn $name(
            State(state): State<AppState>,
            ctx: Ctx,
            staff: CurrentStaff,
            Path(id): Path<String>,
            Form(pairs): Form<Vec<(String, String)>>,
        ) -> Response {
            act(&state, &ctx, &staff, &id, $action, pairs).await
        }
    };
}

action_handler!(request_info, Action::RequestInfo, "`POST /staff/cases/{id}/request-info`.");
action_handler!(schedule_interview, Action::ScheduleInterview, "`POST /staff/cases/{id}/schedule-interview`.");
action_handler!(record_interview, Action::RecordInterview, "`POST /staff/cases/{id}/record-interview`.");
action_handler!(recommend, Action::Recommend, "`POST /staff/cases/{id}/recommend`.");
action_handler!(approve, Action::Approve, "`POST /staff/cases/{id}/approve`.");
action_handler!(reject, Action::Reject, "`POST /staff/cases/{id}/reject`.");
action_handler!(return_to_review, Action::Return, "`POST /staff/cases/{id}/return`.");
action_handler!(authorise, Action::Authorise, "`POST /staff/cases/{id}/authorise`.");
action_handler!(revoke, Action::Revoke, "`POST /staff/cases/{id}/revoke`.");
action_handler!(reissue, Action::Reissue, "`POST /staff/cases/{id}/reissue`.");

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> FormValues {
        FormValues(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn next_stays_in_the_staff_area() {
        assert_eq!(safe_next("/staff/cases/x"), "/staff/cases/x");
        assert_eq!(safe_next("https://evil.example/staff"), "/staff");
        assert_eq!(safe_next("//evil.example"), "/staff");
        assert_eq!(safe_next(""), "/staff");
    }

    #[test]
    fn forms_become_commands() {
        let c =
            command_from_form(Action::ScheduleInterview, &values(&[("at", "2031-05-01T10:30"), ("place", "Embassy")]));
        assert!(matches!(c, Ok(Command::ScheduleInterview { .. })));
        let e = command_from_form(Action::ScheduleInterview, &values(&[("at", "soon")])).unwrap_err();
        assert!(e.get("at").is_some() && e.get("place").is_some());
        let e = command_from_form(Action::RecordInterview, &values(&[("notes", "x")])).unwrap_err();
        assert!(e.get("attended").is_some());
        let c = command_from_form(Action::Recommend, &values(&[("recommendation", "approve"), ("reason", "ok")]));
        assert!(matches!(c, Ok(Command::Recommend { recommendation: Recommendation::Approve, .. })));
        let e = command_from_form(Action::Authorise, &values(&[("valid_from", "2031-01-01")])).unwrap_err();
        assert!(e.get("valid_until").is_some());
    }

    #[test]
    fn every_action_has_text() {
        for a in Action::ALL {
            for lang in [Lang::En, Lang::Uk] {
                let form = action_form(lang, "/x", a, true, None);
                assert_ne!(form.title, "?");
                assert_ne!(form.button, "?");
                if !matches!(a, Action::Clear | Action::Confirm) {
                    assert_ne!(lang.t(&format!("done.{}", a.slug())), "?", "{a:?}");
                }
            }
        }
        for s in CaseState::ALL {
            assert_ne!(state_name(Lang::Uk, s), "?");
            assert_ne!(Lang::En.t(&format!("state.{}.title", s.as_str())), "?");
            assert_ne!(Lang::Uk.t(&format!("state.{}.text", s.as_str())), "?");
        }
        for r in Role::ALL {
            assert_ne!(role_name(Lang::Uk, r.as_str()), "?");
        }
        for c in [
            "submit",
            "begin_screening",
            "complete_screening",
            "clear_vetting",
            "confirm_vetting",
            "request_info",
            "answer_info",
            "schedule_interview",
            "record_interview",
            "recommend",
            "approve",
            "reject",
            "return_to_review",
            "authorise",
            "revoke",
            "withdraw",
        ] {
            assert_ne!(Lang::Uk.t(&format!("cmd.{c}")), "?");
        }
    }
}
