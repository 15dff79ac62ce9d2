//! The auditor's page: the audit log newest first, with filters and pages, and whether the
//! whole log verifies against its signed checkpoints (checked on demand, or as the server's
//! checkpointer last found it).

use std::collections::HashMap;
use std::fmt::Write as _;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Days, NaiveDate, Utc};
use legion_domain::{FieldErrors, Role};
use legion_store::{AuditQuery, StoredAuditEvent, StoredCheckpoint};

use super::{Ctx, Field, FormValues, Kind, Problem, Ui, error_page, render, role_name};
use crate::AppState;
use crate::auth::{CurrentStaff, urlencode};
use crate::checkpoints::{AuditCheck, AuditStatus, verify_now};
use crate::i18n::Lang;

/// Events per page.
const PAGE_SIZE: u32 = 50;
/// Longest text filter.
const MAX_FILTER: usize = 200;
/// The filters, in the order of the form and of page links.
const FILTERS: [&str; 6] = ["action", "actor", "object", "outcome", "from", "to"];
const OUTCOMES: [&str; 3] = ["ok", "denied", "failed"];

/// One event as the table shows it.
pub(crate) struct EventRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub actor_id: String,
    pub role: String,
    pub mission: String,
    pub action: String,
    pub object: String,
    pub outcome: &'static str,
    pub outcome_class: &'static str,
}

/// The verification panel.
pub(crate) struct StatusView {
    /// `success` or `error`; empty when nothing is known.
    pub class: &'static str,
    pub heading: String,
    pub lines: Vec<String>,
}

/// The newest stored checkpoint.
pub(crate) struct CheckpointView {
    pub size: String,
    pub root: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    ui: Ui,
    status: StatusView,
    latest: Option<CheckpointView>,
    events_total: String,
    filters: Vec<Field>,
    problems: Vec<Problem>,
    rows: Vec<EventRow>,
    showing: bool,
    count: String,
    caption: String,
    page_of: String,
    prev_href: Option<String>,
    next_href: Option<String>,
}

/// A moment to the second, in UTC: the log's order matters more than the screen's width.
fn fmt_second(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn page_href(q: &FormValues, page: u32) -> String {
    let mut s = String::from("/staff/audit?");
    for k in FILTERS {
        if let Some(v) = q.text(k) {
            let _ = write!(s, "{k}={}&", urlencode(v));
        }
    }
    let _ = write!(s, "page={page}");
    s
}

/// The filters as a store query; problems go into `errors` under the field's name.
fn parse_query(q: &FormValues, errors: &mut FieldErrors) -> (AuditQuery, u32) {
    let mut text = |name: &str| {
        let v = q.text(name)?;
        if v.chars().count() > MAX_FILTER {
            errors.add(name, format!("must be at most {MAX_FILTER} characters"));
            return None;
        }
        Some(v.to_owned())
    };
    let (action, actor, object) = (text("action"), text("actor"), text("object"));
    let outcome = q.text("outcome").map(str::to_owned);
    if outcome.as_deref().is_some_and(|o| !OUTCOMES.contains(&o)) {
        errors.add("outcome", "choose an outcome");
    }
    let mut date = |name: &str| {
        let v = q.text(name)?;
        let parsed = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok();
        if parsed.is_none() {
            errors.add(name, "must be a date (YYYY-MM-DD)");
        }
        parsed
    };
    let (from, to) = (date("from"), date("to"));
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        errors.add("to", "must not be before valid_from");
    }
    let page = match q.text("page").map(str::parse::<u32>) {
        None => 1,
        Some(Ok(n)) if (1..=1_000_000).contains(&n) => n,
        Some(_) => {
            errors.add("page", "must be a page number");
            1
        }
    };
    let start_of = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let query = AuditQuery {
        action,
        actor,
        object,
        outcome,
        from: from.and_then(start_of),
        // "To" includes the whole day it names.
        until: to.and_then(|d| d.checked_add_days(Days::new(1))).and_then(start_of),
        offset: (page - 1) * PAGE_SIZE,
        limit: PAGE_SIZE,
    };
    (query, page)
}

fn filter_fields(lang: Lang, q: &FormValues, errors: &FieldErrors) -> Vec<Field> {
    let mut outcomes = vec![(String::new(), lang.t("audit.outcome.any").to_owned())];
    outcomes.extend(OUTCOMES.map(|o| (o.to_owned(), lang.t(&format!("audit.outcome.{o}")).to_owned())));
    let text = |name: &str, hint: &str| {
        Field::new("a-", name, lang.t(&format!("audit.filter.{name}")), Kind::Text)
            .hint(lang.t(hint))
            .width("w-medium")
            .autocomplete("off")
            .fill(q)
    };
    let fields = vec![
        text("action", "audit.filter.action.hint"),
        text("actor", "audit.filter.actor.hint"),
        text("object", "audit.filter.object.hint"),
        Field::new("a-", "outcome", lang.t("audit.filter.outcome"), Kind::Select).fill(q).options(outcomes),
        Field::new("a-", "from", lang.t("audit.filter.from"), Kind::Date).fill(q),
        Field::new("a-", "to", lang.t("audit.filter.to"), Kind::Date).fill(q),
    ];
    fields
        .into_iter()
        .map(|f| {
            let mut f = f.error_from(errors, lang);
            if f.is_select()
                && !f.options.iter().any(|o| o.selected)
                && let Some(o) = f.options.first_mut()
            {
                o.selected = true;
            }
            f
        })
        .collect()
}

fn status_view(lang: Lang, check: Option<&AuditCheck>, busy: bool) -> StatusView {
    let Some(check) = check else {
        let key = if busy { "audit.status.running" } else { "audit.status.unknown" };
        return StatusView { class: "", heading: lang.t(key).to_owned(), lines: Vec::new() };
    };
    let at = fmt_second(check.at);
    match &check.status {
        AuditStatus::Verified(report) => {
            let mut lines =
                vec![lang.tf("audit.status.ok.detail", &[&report.events.to_string(), &report.checkpoints.to_string()])];
            if report.unsigned_events() > 0 {
                lines.push(lang.tf("audit.status.unsigned", &[&report.unsigned_events().to_string()]));
            }
            lines.push(lang.tf("audit.status.root", &[&report.root.to_hex()]));
            StatusView { class: "success", heading: lang.tf("audit.status.ok", &[&at]), lines }
        }
        AuditStatus::Tampered { fault, seq } => {
            let mut lines = Vec::new();
            if let Some(seq) = seq {
                lines.push(lang.tf("audit.status.first_bad", &[&seq.to_string()]));
            }
            lines.push(lang.tf("audit.status.fault", &[fault]));
            StatusView { class: "error", heading: lang.tf("audit.status.bad", &[&at]), lines }
        }
        AuditStatus::Unreadable => {
            StatusView { class: "error", heading: lang.tf("audit.status.unreadable", &[&at]), lines: Vec::new() }
        }
    }
}

fn checkpoint_view(c: &StoredCheckpoint) -> CheckpointView {
    CheckpointView { size: c.tree_size.to_string(), root: c.root.clone(), at: fmt_second(c.at) }
}

/// A role label: translated where it is one of ours, as stored otherwise (`operator`,
/// `anonymous`).
fn role_label(lang: Lang, role: &str) -> String {
    if role == "system" || role == "applicant" || Role::parse(role).is_some() {
        role_name(lang, role).to_owned()
    } else {
        role.to_owned()
    }
}

fn event_row(lang: Lang, e: StoredAuditEvent, names: &HashMap<String, String>) -> EventRow {
    let v = e.event;
    let outcome = match v.outcome.as_str() {
        "ok" => ("audit.outcome.ok", "approved"),
        "denied" => ("audit.outcome.denied", "rejected"),
        _ => ("audit.outcome.failed", "vetting"),
    };
    EventRow {
        seq: e.seq,
        at: fmt_second(v.at),
        actor: names.get(&v.actor).cloned().unwrap_or_else(|| v.actor.clone()),
        actor_id: v.actor,
        role: role_label(lang, &v.role),
        mission: v.mission.unwrap_or_default(),
        action: v.action,
        object: v.object,
        outcome: lang.t(outcome.0),
        outcome_class: outcome.1,
    }
}

/// `GET /staff/audit`: the log with filters; `?verify=1` verifies the whole log first.
pub(crate) async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: CurrentStaff,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let lang = ctx.lang;
    let q = FormValues(q);
    let mut errors = FieldErrors::new();
    let (query, page) = parse_query(&q, &mut errors);

    // A verification running elsewhere is not waited for unless one was asked for.
    let (check, busy) = if q.has("verify") {
        (Some(verify_now(&state).await), false)
    } else {
        match state.audit_check.try_lock() {
            Ok(last) => (last.clone(), false),
            Err(_) => (None, true),
        }
    };
    let latest = match state.store.latest_checkpoint().await {
        Ok(c) => c,
        Err(e) => return error_page(&ctx, Some(&staff), &e.into()),
    };
    let events_total = match state.store.audit_size().await {
        Ok(n) => n,
        Err(e) => return error_page(&ctx, Some(&staff), &e.into()),
    };
    let result = if errors.is_empty() {
        match state.store.search_audit(&query).await {
            Ok(p) => Some(p),
            Err(e) => return error_page(&ctx, Some(&staff), &e.into()),
        }
    } else {
        None
    };
    // Staff ids read better as sign-in names; the id stays beside the name.
    let names: HashMap<String, String> = match state.store.list_staff().await {
        Ok(all) => all.into_iter().map(|s| (s.id.to_string(), s.username.to_string())).collect(),
        Err(e) => return error_page(&ctx, Some(&staff), &e.into()),
    };

    let mut filters = filter_fields(lang, &q, &errors);
    let mut problems: Vec<Problem> = filters.iter_mut().filter_map(|f| f.problem()).collect();
    if let Some(m) = errors.get("page") {
        problems.push(Problem {
            target: "audit-results".into(),
            label: lang.t("queue.page").into(),
            message: lang.field_message(m),
        });
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let (rows, total) = match result {
        Some(p) => (p.items.into_iter().map(|e| event_row(lang, e, &names)).collect(), p.total),
        None => (Vec::new(), 0),
    };
    let pages = u32::try_from(total.max(0)).unwrap_or(u32::MAX).div_ceil(PAGE_SIZE).max(1);
    let (p, n) = (page.to_string(), pages.to_string());
    let showing = errors.is_empty();
    let audit_page = AuditPage {
        ui: ctx.ui(lang.t("audit.title"), Some(&staff)).section("audit"),
        status: status_view(lang, check.as_ref(), busy),
        latest: latest.as_ref().map(checkpoint_view),
        events_total: events_total.to_string(),
        filters,
        problems,
        rows,
        showing,
        count: lang.tf("audit.count", &[&total.to_string()]),
        caption: lang.tf("audit.caption", &[&p, &n]),
        page_of: lang.tf("queue.page_of", &[&p, &n]),
        prev_href: (showing && page > 1).then(|| page_href(&q, page - 1)),
        next_href: (showing && page < pages).then(|| page_href(&q, page + 1)),
    };
    render(&ctx, status, &audit_page)
}
