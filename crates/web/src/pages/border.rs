//! The border officer's page: check an entry authorisation (pasted, or typed by a QR scanner
//! that acts as a keyboard) against this server's trust list and current revocations, and
//! record the crossing once. Works without JavaScript.

use askama::Template;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{Ctx, FormValues, Ui, render};
use crate::AppState;
use crate::auth::CurrentStaff;
use crate::service::{self, Crossing};

pub(crate) struct HolderRows {
    pub family_name: String,
    pub given_names: String,
    pub date_of_birth: String,
    pub nationality: String,
    pub passport_number: String,
    pub window: String,
    pub issuer: String,
}

pub(crate) struct Verdict {
    pub class: &'static str,
    pub code: String,
    pub headline: &'static str,
    pub reason: String,
    pub holder: Option<HolderRows>,
}

#[derive(Template)]
#[template(path = "border.html")]
pub(crate) struct BorderPage {
    ui: Ui,
    verdict: Option<Verdict>,
    token: String,
    point: String,
}

fn holder(v: &legion_credential::Verified) -> HolderRows {
    let c = &v.claims;
    HolderRows {
        family_name: c.holder.family_name.clone(),
        given_names: c.holder.given_names.clone(),
        date_of_birth: c.holder.date_of_birth.clone(),
        nationality: c.holder.nationality.clone(),
        passport_number: c.holder.passport_number.clone(),
        window: format!("{} – {}", c.entry_from, c.entry_until),
        issuer: c.issuer.clone(),
    }
}

fn page(ctx: &Ctx, staff: &CurrentStaff, verdict: Option<Verdict>, token: String, point: String) -> Response {
    let ui = ctx.ui(ctx.lang.t("border.title"), Some(staff)).switch_to("/staff/border", ctx);
    render(ctx, StatusCode::OK, &BorderPage { ui, verdict, token, point })
}

fn refused(ctx: &Ctx, r: &legion_credential::Refusal) -> Verdict {
    Verdict {
        class: "alert-error",
        code: r.code().to_owned(),
        headline: ctx.lang.t("border.refused"),
        reason: r.to_string(),
        holder: None,
    }
}

/// The authorisation was used before: when and where. A warning on a check, an error when
/// a second crossing is attempted.
fn used(
    ctx: &Ctx,
    class: &'static str,
    v: &legion_credential::Verified,
    at: chrono::DateTime<chrono::Utc>,
    point: &str,
) -> Verdict {
    Verdict {
        class,
        code: "already_used".into(),
        headline: ctx.lang.t("border.used"),
        reason: ctx.lang.tf("border.used.text", &[point, &at.format("%Y-%m-%d %H:%M UTC").to_string()]),
        holder: Some(holder(v)),
    }
}

/// `GET /staff/border`.
pub(crate) async fn form(ctx: Ctx, staff: CurrentStaff) -> Response {
    page(&ctx, &staff, None, String::new(), String::new())
}

/// `POST /staff/border/check`: the verdict, and a warning if the holder crossed already.
pub(crate) async fn check(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: CurrentStaff,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let values = FormValues(pairs);
    let (token, point) = (values.get("token").to_owned(), values.get("crossing_point").to_owned());
    let check = match service::check_at_border(&state, &staff, &token).await {
        Ok(c) => c,
        Err(e) => return super::error_page(&ctx, Some(&staff), &e),
    };
    let verdict = match (&check.verdict, check.crossed) {
        (Err(r), _) => refused(&ctx, r),
        (Ok(v), Some((at, first))) => used(&ctx, "alert-warning", v, at, &first),
        (Ok(v), None) => Verdict {
            class: "alert-success",
            code: "valid".into(),
            headline: ctx.lang.t("border.valid"),
            reason: ctx.lang.t("border.valid.text").to_owned(),
            holder: Some(holder(v)),
        },
    };
    page(&ctx, &staff, Some(verdict), token, point)
}

/// `POST /staff/border/crossing`: verifies again and records the crossing, once.
pub(crate) async fn crossing(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: CurrentStaff,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let values = FormValues(pairs);
    let (token, point) = (values.get("token").to_owned(), values.get("crossing_point").trim().to_owned());
    if point.is_empty() || point.chars().count() > 200 {
        let verdict = Verdict {
            class: "alert-error",
            code: "no_point".into(),
            headline: ctx.lang.t("border.not_recorded"),
            reason: ctx.lang.t("border.point.required").to_owned(),
            holder: None,
        };
        return page(&ctx, &staff, Some(verdict), token, point);
    }
    let verdict = match service::record_crossing(&state, &staff, &token, &point).await {
        Err(e) => return super::error_page(&ctx, Some(&staff), &e),
        Ok(Crossing::Refused(r)) => refused(&ctx, &r),
        Ok(Crossing::AlreadyUsed { verified, at, point: first }) => used(&ctx, "alert-error", &verified, at, &first),
        Ok(Crossing::Recorded { verified, at }) => Verdict {
            class: "alert-success",
            code: "recorded".into(),
            headline: ctx.lang.t("border.recorded"),
            reason: ctx.lang.tf("border.recorded.text", &[&point, &at.format("%Y-%m-%d %H:%M UTC").to_string()]),
            holder: Some(holder(&verified)),
        },
    };
    // The next traveller: an empty token, the same crossing point.
    page(&ctx, &staff, Some(verdict), String::new(), point)
}
