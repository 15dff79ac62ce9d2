//! Server-rendered HTML pages (askama), in English and Ukrainian, usable without
//! JavaScript: plain forms and POST-redirect-GET. htmx only enhances (the queue filter
//! swaps the table in place).

mod applicant;
mod audit;
mod border;
mod fields;
mod staff;
mod vetting;

use std::convert::Infallible;
use std::fmt::Write as _;

use askama::Template;
use axum::extract::{FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use legion_domain::{Permission, Role, State as CaseState};

use crate::auth::{CurrentStaff, urlencode};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::routes::{Access, RouteDef, r};

pub(crate) use fields::{Field, FormValues, Kind, Problem};

/// The page routes.
pub fn routes() -> Vec<RouteDef> {
    use Access::{AnyStaff, Public, Staff};
    use Method as M;
    use Permission as P;
    vec![
        r(M::GET, "/", Public, get(applicant::form_page)),
        r(M::POST, "/apply", Public, post(applicant::apply)),
        r(M::GET, "/status", Public, get(applicant::status_lookup)),
        r(M::POST, "/status", Public, post(applicant::status_show)),
        r(M::POST, "/status/answer", Public, post(applicant::status_answer)),
        r(M::POST, "/status/withdraw", Public, post(applicant::status_withdraw)),
        r(M::POST, "/status/authorisation.png", Public, post(applicant::status_qr)),
        r(M::POST, "/status/documents", Public, post(applicant::status_upload)).upload(),
        r(M::GET, "/staff/sign-in", Public, get(staff::sign_in_page)),
        r(M::POST, "/staff/sign-in", Public, post(staff::sign_in)),
        r(M::POST, "/staff/sign-out", AnyStaff, post(staff::sign_out)),
        r(M::GET, "/staff", AnyStaff, get(staff::home)),
        r(M::GET, "/staff/queue", Staff(P::QueueRead), get(staff::queue)),
        r(M::POST, "/staff/queue/find", Staff(P::QueueRead), post(staff::queue_find)),
        r(M::GET, "/staff/cases/{id}", Staff(P::CaseRead), get(staff::case_page)),
        r(M::POST, "/staff/cases/{id}/request-info", Staff(P::CaseReview), post(staff::request_info)),
        r(M::POST, "/staff/cases/{id}/schedule-interview", Staff(P::CaseReview), post(staff::schedule_interview)),
        r(M::POST, "/staff/cases/{id}/record-interview", Staff(P::CaseReview), post(staff::record_interview)),
        r(M::POST, "/staff/cases/{id}/recommend", Staff(P::CaseRecommend), post(staff::recommend)),
        r(M::POST, "/staff/cases/{id}/approve", Staff(P::CaseDecide), post(staff::approve)),
        r(M::POST, "/staff/cases/{id}/reject", Staff(P::CaseDecide), post(staff::reject)),
        r(M::POST, "/staff/cases/{id}/return", Staff(P::CaseDecide), post(staff::return_to_review)),
        r(M::POST, "/staff/cases/{id}/authorise", Staff(P::CaseAuthorise), post(staff::authorise)),
        r(M::POST, "/staff/cases/{id}/revoke", Staff(P::CaseRevoke), post(staff::revoke)),
        r(M::POST, "/staff/cases/{id}/reissue", Staff(P::CaseRevoke), post(staff::reissue)),
        r(M::GET, "/staff/vetting", Staff(P::VettingRead), get(vetting::queue)),
        r(M::GET, "/staff/vetting/{id}", Staff(P::VettingRead), get(vetting::case_page)),
        r(M::POST, "/staff/vetting/{id}/clear", Staff(P::VettingResolve), post(vetting::clear)),
        r(M::POST, "/staff/vetting/{id}/confirm", Staff(P::VettingResolve), post(vetting::confirm)),
        r(M::GET, "/staff/audit", Staff(P::AuditRead), get(audit::page)),
        r(M::GET, "/staff/border", Staff(P::BorderCrossing), get(border::form)),
        r(M::POST, "/staff/border/check", Staff(P::BorderCrossing), post(border::check)),
        r(M::POST, "/staff/border/crossing", Staff(P::BorderCrossing), post(border::crossing)),
        r(M::GET, "/static/style.css", Public, get(style_css)),
        r(M::GET, "/static/htmx.min.js", Public, get(htmx_js)),
    ]
}

/// Name of the cookie that remembers the chosen language.
const LANG_COOKIE: &str = "lang";

/// What every page needs to know about the request: the language (from `?lang=`, the
/// `lang` cookie or `Accept-Language`, in that order) and the address, for the
/// language switch.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub lang: Lang,
    /// `?lang=` chose the language: remember it in a cookie.
    set_cookie: bool,
    path: String,
    query: Vec<(String, String)>,
}

impl Ctx {
    fn from_request(headers: &HeaderMap, uri: &Uri) -> Self {
        let query = Query::<Vec<(String, String)>>::try_from_uri(uri).map(|q| q.0).unwrap_or_default();
        let from_query = query.iter().find(|(k, _)| k == "lang").and_then(|(_, v)| Lang::parse(v));
        let from_cookie = || crate::auth::cookie(headers, LANG_COOKIE).and_then(Lang::parse);
        let lang = from_query.or_else(from_cookie).unwrap_or_else(|| Lang::from_accept_language(headers));
        Self { lang, set_cookie: from_query.is_some(), path: uri.path().to_owned(), query }
    }

    /// The same page in the other language.
    fn switch_href(&self, path: Option<&str>) -> String {
        let other = self.lang.other().code();
        let mut href = path.unwrap_or(&self.path).to_owned();
        href.push('?');
        if path.is_none() {
            for (k, v) in self.query.iter().filter(|(k, _)| k != "lang") {
                let _ = write!(href, "{}={}&", urlencode(k), urlencode(v));
            }
        }
        href.push_str("lang=");
        href.push_str(other);
        href
    }

    /// The page layout for a page titled `title`.
    pub fn ui(&self, title: impl Into<String>, staff: Option<&CurrentStaff>) -> Ui {
        Ui {
            lang: self.lang,
            title: title.into(),
            switch_href: self.switch_href(None),
            staff: staff.map(|s| StaffNav {
                name: s.display_name.clone(),
                role: self.lang.t(&format!("role.{}", s.role().as_str())),
                queue: s.role().can(Permission::QueueRead),
                vetting: s.role().can(Permission::VettingRead),
                audit: s.role().can(Permission::AuditRead),
            }),
            section: "",
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Ctx::from_request(&parts.headers, &parts.uri))
    }
}

/// The signed-in person as the page header shows them.
#[derive(Debug, Clone)]
pub(crate) struct StaffNav {
    pub name: String,
    pub role: &'static str,
    pub queue: bool,
    pub vetting: bool,
    pub audit: bool,
}

/// What the layout (`base.html`) shows around every page.
#[derive(Debug, Clone)]
pub(crate) struct Ui {
    pub lang: Lang,
    pub title: String,
    pub switch_href: String,
    pub staff: Option<StaffNav>,
    /// Which navigation entry is the current page (`queue`, `vetting`, `audit`, `apply`, `status`).
    pub section: &'static str,
}

impl Ui {
    /// Interface text.
    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// Marks the current navigation entry.
    pub fn section(mut self, s: &'static str) -> Self {
        self.section = s;
        self
    }

    /// Points the language switch at `path` (for pages shown in answer to a POST).
    pub fn switch_to(mut self, path: &str, ctx: &Ctx) -> Self {
        self.switch_href = ctx.switch_href(Some(path));
        self
    }

    /// Where the brand link leads.
    pub fn home_href(&self) -> &'static str {
        if self.staff.is_some() { "/staff" } else { "/" }
    }

    /// `aria-current` for the navigation entry `s`.
    pub fn current(&self, s: &str) -> &'static str {
        if self.section == s { "page" } else { "false" }
    }
}

/// Renders a page with our headers: no caching (pages carry personal data and access
/// codes), a strict content security policy, and the language cookie when chosen.
pub(crate) fn render<T: Template>(ctx: &Ctx, status: StatusCode, page: &T) -> Response {
    let body = match page.render() {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::VARY, HeaderValue::from_static("Cookie, Accept-Language"));
    ctx.remember_lang(&mut resp);
    resp
}

impl Ctx {
    fn remember_lang(&self, resp: &mut Response) {
        if self.set_cookie {
            let cookie = format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", self.lang.code());
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
    }
}

/// `303 See Other` to `location` (a local path).
pub(crate) fn see_other(location: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let value = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    resp.headers_mut().insert(header::LOCATION, value);
    resp
}

/// A page that only explains something went wrong.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ui: Ui,
    text: String,
    link_href: &'static str,
    link_text: &'static str,
}

/// The page for an error that has no better place to be shown.
pub(crate) fn error_page(ctx: &Ctx, staff: Option<&CurrentStaff>, err: &AppError) -> Response {
    let lang = ctx.lang;
    let (title, text) = match err {
        AppError::NotFound => ("error.not_found.title", lang.t("error.not_found.text").to_owned()),
        AppError::Forbidden(_) => ("error.forbidden.title", error_text(lang, err)),
        AppError::Unavailable(_) | AppError::StorageUnavailable(_) => {
            ("error.unavailable.title", lang.t("error.unavailable.text").to_owned())
        }
        AppError::TooManyRequests(_) => ("error.throttled.title", error_text(lang, err)),
        AppError::Gone => ("error.gone.title", lang.t("error.gone.text").to_owned()),
        AppError::Internal(_)
        | AppError::Unauthenticated
        | AppError::PayloadTooLarge
        | AppError::UnsupportedMediaType(_) => ("error.internal.title", lang.t("error.internal.text").to_owned()),
        AppError::Validation(_)
        | AppError::Conflict(_)
        | AppError::BadRequest(_)
        | AppError::WatchlistUnreadable(_) => ("error.internal.title", error_text(lang, err)),
    };
    if matches!(err, AppError::Internal(_) | AppError::Unavailable(_) | AppError::StorageUnavailable(_)) {
        tracing::warn!(error = %err, "page failed");
    }
    let (link_href, link_text) =
        if staff.is_some() { ("/staff", lang.t("error.staff_home")) } else { ("/", lang.t("error.home")) };
    let page = ErrorPage { ui: ctx.ui(lang.t(title), staff), text, link_href, link_text };
    let mut resp = render(ctx, err.status(), &page);
    if matches!(err, AppError::Unavailable(_) | AppError::StorageUnavailable(_)) {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    resp
}

/// A short, safe, translated sentence for an error.
pub(crate) fn error_text(lang: Lang, err: &AppError) -> String {
    let key = match err {
        AppError::Validation(_) => "err.validation",
        AppError::NotFound => "error.not_found.text",
        AppError::Forbidden(m) if m.contains("four eyes") => "err.four_eyes",
        AppError::Forbidden(m) if m.starts_with("Cross-site") => "err.cross_site",
        AppError::Forbidden(_) => "err.role",
        AppError::Conflict(m) if m.starts_with("The case was changed") => "err.stale",
        AppError::Conflict(m) if m.contains("is not possible while") => "err.illegal",
        AppError::Conflict(m) if m.contains("recommendation is to reject") => "err.mismatch",
        AppError::Conflict(m) if m.contains("Idempotency-Key was already used") => "err.resent",
        AppError::Conflict(_) => "err.conflict",
        AppError::BadRequest(_)
        | AppError::PayloadTooLarge
        | AppError::UnsupportedMediaType(_)
        | AppError::WatchlistUnreadable(_) => "err.bad_request",
        AppError::TooManyRequests(_) => "err.throttled",
        AppError::Unavailable(_) | AppError::StorageUnavailable(_) => "error.unavailable.text",
        AppError::Gone => "error.gone.text",
        AppError::Unauthenticated | AppError::Internal(_) => "error.internal.text",
    };
    lang.t(key).to_owned()
}

/// The page shown when a signed-in person's role does not allow a page.
pub fn forbidden_page(req: &Request, staff: &CurrentStaff) -> Response {
    let ctx = Ctx::from_request(req.headers(), req.uri());
    error_page(&ctx, Some(staff), &AppError::Forbidden("Your role may not do this."))
}

/// Anything unmatched: the localized "not found" page (JSON under `/api/`).
pub async fn not_found(uri: Uri, headers: HeaderMap) -> Response {
    if uri.path().starts_with("/api/") {
        return AppError::NotFound.into_response();
    }
    error_page(&Ctx::from_request(&headers, &uri), None, &AppError::NotFound)
}

static STYLE_CSS: &str = include_str!("../../static/style.css");
static HTMX_JS: &str = include_str!("../../static/htmx.min.js");

async fn style_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        STYLE_CSS,
    )
        .into_response()
}

async fn htmx_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        HTMX_JS,
    )
        .into_response()
}

/// A state's short name.
pub(crate) fn state_name(lang: Lang, s: CaseState) -> &'static str {
    lang.t(&format!("state.{}", s.as_str()))
}

/// A role label as stored in history (`system`, `applicant`, or a role).
pub(crate) fn role_name(lang: Lang, role: &str) -> &'static str {
    let known = role == "system" || role == "applicant" || Role::parse(role).is_some();
    if known { lang.t(&format!("role.{role}")) } else { lang.t("role.system") }
}

/// A date as shown everywhere: ISO 8601, unambiguous in every language.
pub(crate) fn fmt_date(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A moment as shown everywhere, in UTC.
pub(crate) fn fmt_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
