//! Staff identity: Argon2id passwords, server-side sessions in an `HttpOnly`,
//! `SameSite=Strict` cookie, and the guard that every route passes through.

use std::fmt::Write as _;
use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use legion_domain::{MissionId, Role, StaffActor, StaffId, Username};
use legion_store::{AuditEvent, Scope, StaffRecord};
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::routes::Access;
use crate::{AppState, Random};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "legion_session";

/// Failed sign-ins for one account (or one unknown username) allowed per window before
/// further attempts are refused, whatever the password.
pub const MAX_FAILED_SIGN_INS: i64 = 10;

/// The window over which failed sign-ins are counted.
pub const SIGN_IN_WINDOW_MINUTES: i64 = 15;

/// Shortest password accepted for a staff account.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Hashes a password with Argon2id (default parameters: m = 19 MiB, t = 2, p = 1).
pub fn hash_password(password: &str, random: &dyn Random) -> Result<String, AppError> {
    let mut salt = [0u8; 16];
    random.fill(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| AppError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// Checks a password against a stored hash. Malformed hashes never verify.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A fixed hash verified when the username is unknown, so that timing does not reveal
/// which usernames exist.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::encode_b64(b"legion-dummy-salt").expect("static salt");
        Argon2::default().hash_password(b"not a password", &salt).expect("hash").to_string()
    })
}

/// SHA-256 of a high-entropy secret (session token, access code), hex. Such secrets need
/// no slow hash: guessing them is hopeless either way.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The signed-in staff member, put into the request by the guard.
#[derive(Debug, Clone)]
pub struct CurrentStaff {
    /// Who, as the domain sees them.
    pub actor: StaffActor,
    /// Sign-in name.
    pub username: Username,
    /// Display name.
    pub display_name: String,
    /// The session token's hash (for sign-out).
    pub session_hash: String,
}

impl CurrentStaff {
    fn from_record(r: StaffRecord, session_hash: String) -> Self {
        Self {
            actor: StaffActor { id: r.id, role: r.role, mission: r.mission },
            username: r.username,
            display_name: r.display_name,
            session_hash,
        }
    }

    /// Role.
    pub fn role(&self) -> Role {
        self.actor.role
    }

    /// Id.
    pub fn id(&self) -> StaffId {
        self.actor.id
    }

    /// Mission, for mission-scoped roles.
    pub fn mission(&self) -> Option<&MissionId> {
        self.actor.mission.as_ref()
    }

    /// Which cases this person may see, enforced by the store's queries.
    pub fn case_scope(&self) -> Option<Scope> {
        match (self.actor.role, &self.actor.mission) {
            (Role::MissionOfficer | Role::MissionHead, Some(m)) => Some(Scope::Mission(m.clone())),
            (Role::VettingOfficer, _) => Some(Scope::VettingHold),
            _ => None,
        }
    }

    /// An audit event by this person.
    pub fn audit(&self, state: &AppState, action: &str, object: String, outcome: &str) -> AuditEvent {
        AuditEvent {
            at: state.clock.now(),
            actor: self.actor.id.to_string(),
            role: self.actor.role.as_str().into(),
            mission: self.actor.mission.as_ref().map(ToString::to_string),
            action: action.into(),
            object,
            outcome: outcome.into(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentStaff {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Present only on routes whose guard signed someone in.
        parts.extensions.get::<CurrentStaff>().cloned().ok_or(AppError::Unauthenticated)
    }
}

/// The value of cookie `name` from the `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Reads the session token from the `Cookie` header.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned)
}

/// The `Set-Cookie` value that starts a session.
pub fn session_cookie(state: &AppState, token: &str) -> String {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        state.config.session_ttl.as_secs()
    )
}

/// The `Set-Cookie` value that ends a session.
pub fn clear_cookie(state: &AppState) -> String {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

/// Signs a staff member in: checks the password (in constant work whether or not the
/// account exists), creates a session and records the attempt either way.
pub async fn sign_in(state: &AppState, username: &str, password: &str) -> Result<(String, StaffRecord), AppError> {
    let now = state.clock.now();
    let parsed = Username::parse(username).ok();
    let record = match &parsed {
        Some(u) => state.store.staff_by_username(u).await?,
        None => None,
    };
    // Failures are counted per account, or per hashed name when no account has it, so that
    // guessing is slow for known and unknown names alike.
    let object = match &record {
        Some(r) => format!("staff:{}", r.id),
        None => format!("username-sha256:{}", &secret_hash(&username.trim().to_ascii_lowercase())[..16]),
    };
    // Until the password is proven, whoever is trying is anonymous.
    let attempt = |action: &str, outcome: &str| {
        let me = record.as_ref().filter(|_| outcome == "ok");
        AuditEvent {
            at: now,
            actor: me.map_or_else(|| "anonymous".into(), |r| r.id.to_string()),
            role: me.map_or_else(|| "anonymous".into(), |r| r.role.as_str().into()),
            mission: me.and_then(|r| r.mission.as_ref().map(ToString::to_string)),
            action: action.into(),
            object: object.clone(),
            outcome: outcome.into(),
        }
    };
    let since = now - chrono::Duration::minutes(SIGN_IN_WINDOW_MINUTES);
    let failures = state.store.count_recent_audit("session.sign_in", &object, "denied", since).await?;
    if failures >= MAX_FAILED_SIGN_INS {
        // Recorded under its own action, so refused attempts do not extend the lockout.
        state.store.append_audit(&attempt("session.sign_in_throttled", "denied")).await?;
        metrics::counter!("legion_sign_ins_total", "outcome" => "throttled").increment(1);
        return Err(AppError::TooManyRequests(
            "Too many failed sign-ins for this account; wait 15 minutes or ask an administrator.",
        ));
    }
    let hash = record.as_ref().map_or_else(|| dummy_hash().to_owned(), |r| r.password_hash.clone());
    let password = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    match &record {
        Some(r) if ok && !r.disabled => {
            let token = hex::encode(state.random_bytes::<32>());
            let ttl = chrono::Duration::from_std(state.config.session_ttl).unwrap_or(chrono::Duration::hours(12));
            state
                .store
                .create_session(&secret_hash(&token), r.id, now + ttl, &attempt("session.sign_in", "ok"))
                .await?;
            metrics::counter!("legion_sign_ins_total", "outcome" => "ok").increment(1);
            Ok((token, r.clone()))
        }
        _ => {
            state.store.append_audit(&attempt("session.sign_in", "denied")).await?;
            metrics::counter!("legion_sign_ins_total", "outcome" => "denied").increment(1);
            Err(AppError::Forbidden("Wrong username or password, or the account is disabled."))
        }
    }
}

fn wants_json(req: &Request) -> bool {
    req.uri().path().starts_with("/api/")
}

/// Requests that change something must come from our own pages: a present `Origin`
/// must match `Host`. (SameSite=Strict already keeps the cookie off cross-site requests.)
fn cross_origin(req: &Request) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return false };
    let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
    origin != "null" && origin_host != host
}

/// The guard in front of every route: establishes who is asking and refuses what the
/// route's [`Access`] does not allow. Denials of signed-in staff are audited.
pub async fn guard(State((state, access)): State<(AppState, Access)>, mut req: Request, next: Next) -> Response {
    let staff_permission = match access {
        Access::Public | Access::Applicant => return next.run(req).await,
        Access::AnyStaff => None,
        Access::Staff(p) => Some(p),
    };
    if cross_origin(&req) {
        return AppError::Forbidden("Cross-site request refused.").into_response();
    }
    let now = state.clock.now();
    let staff = match session_token(req.headers()) {
        Some(token) => {
            let h = secret_hash(&token);
            match state.store.session_staff(&h, now).await {
                Ok(s) => s.map(|r| CurrentStaff::from_record(r, h)),
                Err(e) => return AppError::from(e).into_response(),
            }
        }
        None => None,
    };
    let Some(staff) = staff else {
        if wants_json(&req) {
            return AppError::Unauthenticated.into_response();
        }
        let next_path = req.uri().path_and_query().map_or("/staff", |p| p.as_str()).to_owned();
        let target = format!("/staff/sign-in?next={}", urlencode(&next_path));
        return Redirect::to(&target).into_response();
    };
    if let Some(p) = staff_permission
        && !staff.role().can(p)
    {
        let object = format!("route:{} {}", req.method(), req.uri().path());
        let audit = staff.audit(&state, "request.denied", object, "denied");
        if let Err(e) = state.store.append_audit(&audit).await {
            return AppError::from(e).into_response();
        }
        metrics::counter!("legion_denied_requests_total").increment(1);
        if wants_json(&req) {
            return AppError::Forbidden("Your role may not do this.").into_response();
        }
        return crate::pages::forbidden_page(&req, &staff);
    }
    req.extensions_mut().insert(staff);
    next.run(req).await
}

/// Percent-encodes a path for a query parameter.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
