//! The vetting officer's pages: cases on vetting hold across missions, with screening
//! data only (never contact or passport details), and the clear / confirm decisions.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use legion_domain::ApplicationId;
use legion_store::Scope;

use super::staff::{
    Action, ActionForm, Failure, FlagRow, QueueKind, action_form, birth_line, country_line, failure_of,
    failure_problems, flag_rows, is_page_error, queue_response, run_action,
};
use super::{Ctx, FormValues, Problem, Ui, error_page, fmt_time, render, see_other};
use crate::AppState;
use crate::api::cases::parse_id;
use crate::auth::CurrentStaff;
use crate::error::AppError;

/// `GET /staff/vetting`: cases on vetting hold.
pub(crate) async fn queue(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: CurrentStaff,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let lang = ctx.lang;
    let q = FormValues(q);
    let notice = match q.get("done") {
        "clear" => Some(lang.t("vetcase.cleared")),
        "confirm" => Some(lang.t("vetcase.confirmed")),
        _ => None,
    };
    let kind = QueueKind {
        path: "/staff/vetting",
        case_path: "/staff/vetting",
        vetting: true,
        heading: lang.t("vetting.title").to_owned(),
        intro: Some(lang.t("vetting.intro")),
        notice,
    };
    queue_response(&state, &ctx, &staff, &Scope::VettingHold, &q, kind, None).await
}

#[derive(Template)]
#[template(path = "vetting_case.html")]
struct VettingPage {
    ui: Ui,
    rows: Vec<(&'static str, String)>,
    flags: Vec<FlagRow>,
    forms: Vec<ActionForm>,
    error: Option<String>,
    problems: Vec<Problem>,
}

async fn show(
    state: &AppState,
    ctx: &Ctx,
    staff: &CurrentStaff,
    id: ApplicationId,
    status: StatusCode,
    failure: Option<&Failure>,
) -> Response {
    let lang = ctx.lang;
    let record = match state.store.case(id, &Scope::VettingHold).await {
        Ok(Some(r)) => r,
        Ok(None) => return error_page(ctx, Some(staff), &AppError::NotFound),
        Err(e) => return error_page(ctx, Some(staff), &e.into()),
    };
    let audit = staff.audit(state, "vetting.read", format!("application:{id}"), "ok");
    if let Err(e) = state.store.append_audit(&audit).await {
        return error_page(ctx, Some(staff), &e.into());
    }
    let d = &record.details;
    let today = state.clock.now().date_naive();
    let mut rows = vec![(lang.t("case.name"), d.full_name())];
    if let Some(n) = &d.native_name {
        rows.push((lang.t("case.native_name"), n.clone()));
    }
    rows.extend([
        (lang.t("case.date_of_birth"), birth_line(lang, d.date_of_birth, today)),
        (lang.t("case.nationality"), country_line(lang, d.nationality)),
        (lang.t("case.mission"), record.mission.to_string()),
        (lang.t("case.submitted"), fmt_time(record.submitted_at)),
    ]);
    let base = format!("/staff/vetting/{id}");
    let forms =
        [Action::Clear, Action::Confirm].into_iter().map(|a| action_form(lang, &base, a, false, failure)).collect();
    let page = VettingPage {
        ui: ctx
            .ui(lang.tf("vetcase.title", &[record.reference.as_str()]), Some(staff))
            .section("vetting")
            .switch_to(&base, ctx),
        rows,
        flags: flag_rows(lang, &record),
        forms,
        error: failure.map(|f| f.message.clone()),
        problems: failure.map(|f| failure_problems(lang, f)).unwrap_or_default(),
    };
    render(ctx, status, &page)
}

/// `GET /staff/vetting/{id}`: the screening data of one case on hold. The read is audited.
pub(crate) async fn case_page(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: CurrentStaff,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = parse_id(&id) else { return error_page(&ctx, Some(&staff), &AppError::NotFound) };
    show(&state, &ctx, &staff, id, StatusCode::OK, None).await
}

async fn decide(
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
        Ok(()) => see_other(&format!("/staff/vetting?done={}", action.slug())),
        Err(e) if is_page_error(&e) => error_page(ctx, Some(staff), &e),
        Err(e) => {
            let status = e.status();
            let failure = failure_of(ctx.lang, action, e, values);
            show(state, ctx, staff, id, status, Some(&failure)).await
        }
    }
}

/// `POST /staff/vetting/{id}/clear`: the hits do not apply; the case goes to its mission.
pub(crate) async fn clear(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: CurrentStaff,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    decide(&state, &ctx, &staff, &id, Action::Clear, pairs).await
}

/// `POST /staff/vetting/{id}/confirm`: a hit is confirmed, which rejects the case.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: CurrentStaff,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    decide(&state, &ctx, &staff, &id, Action::Confirm, pairs).await
}
