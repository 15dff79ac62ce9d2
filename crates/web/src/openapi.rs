//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::{admin, applications, cases, credentials, documents, session};

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Legion API", description = "Applications to the International Legion: intake, review, decisions.", version = "1"),
    paths(
        applications::submit, applications::applicant_view, applications::answer, applications::withdraw,
        documents::upload_document, documents::list_documents, documents::case_documents,
        documents::download_document,
        session::sign_in, session::whoami, session::sign_out,
        cases::queue, cases::lookup, cases::case, cases::request_info, cases::schedule_interview, cases::record_interview,
        cases::recommend, cases::approve, cases::reject, cases::return_to_review, cases::authorise, cases::revoke, cases::reissue,
        cases::vetting_queue, cases::vetting_case, cases::vetting_clear, cases::vetting_confirm,
        admin::missions, admin::put_mission, admin::list_staff, admin::create_staff, admin::disable_staff,
        admin::audit_log, admin::stats, admin::watchlists, admin::reload_watchlists,
        credentials::applicant_authorisation, credentials::applicant_authorisation_png,
        credentials::trust_list, credentials::revocations, credentials::border_verify, credentials::border_crossing,
    ),
    components(schemas(legion_domain::State, legion_domain::Role, legion_domain::screening::FlagKind)),
    modifiers(&Security),
    tags((name = "applicant", description = "For applicants: no sign-in, the access code opens one's own case"),
         (name = "staff", description = "Staff sessions"),
         (name = "cases", description = "Mission case work"),
         (name = "vetting", description = "Screening holds"),
         (name = "admin", description = "Missions and accounts"),
         (name = "oversight", description = "Audit and statistics"),
         (name = "credentials", description = "The signed lists border posts load to verify entry authorisations offline"),
         (name = "border", description = "Border officers: verify entry authorisations and record crossings")),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "access_code",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The access code returned at submission"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::SESSION_COOKIE))),
        );
    }
}
