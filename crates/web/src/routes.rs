//! The route table: every route with the access it requires. The router is built from
//! this table only, so no route can exist without a declared permission; the guard in
//! front of each route enforces it (default deny).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{MethodRouter, delete, get, post};
use legion_domain::Permission;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::api::{admin, applications, cases, credentials, documents, session};
use crate::{AppState, auth, ops, pages};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// Anyone presenting the case's access code (checked by the handler, which answers
    /// 404 for a wrong code).
    Applicant,
    /// Any signed-in staff member.
    AnyStaff,
    /// Signed-in staff whose role holds this permission.
    Staff(Permission),
}

/// One route.
pub struct RouteDef {
    /// HTTP method.
    pub method: Method,
    /// Path template.
    pub path: &'static str,
    /// Required access.
    pub access: Access,
    /// Takes a document upload: its body may be as large as the upload limit allows.
    pub upload: bool,
    handler: MethodRouter<AppState>,
}

impl std::fmt::Debug for RouteDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {:?}", self.method, self.path, self.access)
    }
}

/// Builds a route entry.
pub(crate) fn r(method: Method, path: &'static str, access: Access, handler: MethodRouter<AppState>) -> RouteDef {
    RouteDef { method, path, access, upload: false, handler }
}

impl RouteDef {
    /// Marks a route that takes document uploads (a larger body limit).
    pub(crate) fn upload(mut self) -> Self {
        self.upload = true;
        self
    }
}

/// Every route of the server.
pub fn route_table() -> Vec<RouteDef> {
    use Access::{AnyStaff, Applicant, Public, Staff};
    use Method as M;
    use Permission as P;
    let mut routes = vec![
        r(M::GET, "/healthz", Public, get(ops::healthz)),
        r(M::GET, "/readyz", Public, get(ops::readyz)),
        r(M::GET, "/metrics", Public, get(ops::metrics)),
        r(M::GET, "/api/openapi.json", Public, get(ops::openapi)),
        r(M::POST, "/api/v1/applications", Public, post(applications::submit)),
        r(M::GET, "/api/v1/applications/{id}", Applicant, get(applications::applicant_view)),
        r(M::POST, "/api/v1/applications/{id}/answer", Applicant, post(applications::answer)),
        r(M::POST, "/api/v1/applications/{id}/withdraw", Applicant, post(applications::withdraw)),
        r(M::GET, "/api/v1/applications/{id}/documents", Applicant, get(documents::list_documents)),
        r(M::POST, "/api/v1/applications/{id}/documents", Applicant, post(documents::upload_document)).upload(),
        r(M::GET, "/api/v1/applications/{id}/authorisation", Applicant, get(credentials::applicant_authorisation)),
        r(
            M::GET,
            "/api/v1/applications/{id}/authorisation.png",
            Applicant,
            get(credentials::applicant_authorisation_png),
        ),
        r(M::GET, "/api/v1/credentials/trust-list", Public, get(credentials::trust_list)),
        r(M::GET, "/api/v1/credentials/revocations", Public, get(credentials::revocations)),
        r(M::POST, "/api/v1/border/verify", Staff(P::BorderCrossing), post(credentials::border_verify)),
        r(M::POST, "/api/v1/border/crossings", Staff(P::BorderCrossing), post(credentials::border_crossing)),
        r(M::POST, "/api/v1/session", Public, post(session::sign_in)),
        r(M::GET, "/api/v1/session", AnyStaff, get(session::whoami)),
        r(M::DELETE, "/api/v1/session", AnyStaff, delete(session::sign_out)),
        r(M::GET, "/api/v1/cases", Staff(P::QueueRead), get(cases::queue)),
        r(M::POST, "/api/v1/cases/lookup", Staff(P::QueueRead), post(cases::lookup)),
        r(M::GET, "/api/v1/cases/{id}", Staff(P::CaseRead), get(cases::case)),
        r(M::GET, "/api/v1/cases/{id}/documents", Staff(P::CaseRead), get(documents::case_documents)),
        r(M::GET, "/api/v1/cases/{id}/documents/{doc}", Staff(P::CaseRead), get(documents::download_document)),
        r(M::POST, "/api/v1/cases/{id}/request-info", Staff(P::CaseReview), post(cases::request_info)),
        r(M::POST, "/api/v1/cases/{id}/schedule-interview", Staff(P::CaseReview), post(cases::schedule_interview)),
        r(M::POST, "/api/v1/cases/{id}/record-interview", Staff(P::CaseReview), post(cases::record_interview)),
        r(M::POST, "/api/v1/cases/{id}/recommend", Staff(P::CaseRecommend), post(cases::recommend)),
        r(M::POST, "/api/v1/cases/{id}/approve", Staff(P::CaseDecide), post(cases::approve)),
        r(M::POST, "/api/v1/cases/{id}/reject", Staff(P::CaseDecide), post(cases::reject)),
        r(M::POST, "/api/v1/cases/{id}/return", Staff(P::CaseDecide), post(cases::return_to_review)),
        r(M::POST, "/api/v1/cases/{id}/authorise", Staff(P::CaseAuthorise), post(cases::authorise)),
        r(M::POST, "/api/v1/cases/{id}/revoke", Staff(P::CaseRevoke), post(cases::revoke)),
        r(M::POST, "/api/v1/cases/{id}/reissue", Staff(P::CaseRevoke), post(cases::reissue)),
        r(M::GET, "/api/v1/vetting", Staff(P::VettingRead), get(cases::vetting_queue)),
        r(M::GET, "/api/v1/vetting/{id}", Staff(P::VettingRead), get(cases::vetting_case)),
        r(M::POST, "/api/v1/vetting/{id}/clear", Staff(P::VettingResolve), post(cases::vetting_clear)),
        r(M::POST, "/api/v1/vetting/{id}/confirm", Staff(P::VettingResolve), post(cases::vetting_confirm)),
        r(M::GET, "/api/v1/missions", Staff(P::MissionsRead), get(admin::missions)),
        r(M::POST, "/api/v1/missions", Staff(P::MissionsManage), post(admin::put_mission)),
        r(M::GET, "/api/v1/staff", Staff(P::StaffManage), get(admin::list_staff)),
        r(M::POST, "/api/v1/staff", Staff(P::StaffManage), post(admin::create_staff)),
        r(M::POST, "/api/v1/staff/{username}/disable", Staff(P::StaffManage), post(admin::disable_staff)),
        r(M::GET, "/api/v1/audit", Staff(P::AuditRead), get(admin::audit_log)),
        r(M::GET, "/api/v1/stats", Staff(P::StatsRead), get(admin::stats)),
        r(M::GET, "/api/v1/watchlists", Staff(P::WatchlistsRead), get(admin::watchlists)),
        r(M::POST, "/api/v1/watchlists/reload", Staff(P::WatchlistsManage), post(admin::reload_watchlists)),
    ];
    routes.extend(pages::routes());
    routes
}

/// Most bytes any request body may have (JSON bodies have a tighter limit of their own).
pub const MAX_BODY: usize = 256 * 1024;

/// The application: every route of [`route_table`] behind its guard.
pub fn router(state: AppState) -> Router {
    let upload_limit = state.config.max_document_bytes + crate::documents::UPLOAD_OVERHEAD;
    let mut router = Router::new();
    for def in route_table() {
        let guarded = def.handler.route_layer(from_fn_with_state((state.clone(), def.access), auth::guard));
        // Uploads read their body as a stream under this limit (axum's own default would
        // stop them at 2 MB); every other route keeps the small one.
        let limited = if def.upload {
            guarded
                .layer::<_, std::convert::Infallible>(DefaultBodyLimit::disable())
                .layer::<_, std::convert::Infallible>(RequestBodyLimitLayer::new(upload_limit))
        } else {
            guarded.layer::<_, std::convert::Infallible>(RequestBodyLimitLayer::new(MAX_BODY))
        };
        router = router.route(def.path, limited);
    }
    let mut router = router
        .fallback(pages::not_found)
        .layer(from_fn(ops::track))
        .layer(RequestBodyLimitLayer::new(MAX_BODY.max(upload_limit)));
    for (name, value) in SECURITY_HEADERS {
        router = router.layer(SetResponseHeaderLayer::if_not_present(name.clone(), HeaderValue::from_static(value)));
    }
    router.with_state(state)
}

/// Headers on every response. Pages carry personal data: nothing is cached unless a
/// handler says otherwise (static files do), nothing is framed, and only our own
/// scripts and styles run.
const SECURITY_HEADERS: [(HeaderName, &str); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::CACHE_CONTROL, "no-store"),
];
