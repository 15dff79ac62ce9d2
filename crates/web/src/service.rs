//! Use cases shared by the JSON API and the HTML pages: submit, read, act on a case,
//! screen. Handlers stay thin: extract, call one of these, map the result.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use legion_domain::lifecycle::decide;
use legion_domain::lifecycle::{State, Transition};
use legion_domain::screening::{Flag, FlagKind, duplicate_flag, policy_flags};
use legion_domain::{
    Actor, ApplicantDetails, ApplicationId, Command, CountryCode, FieldErrors, MissionId, PassportNumber, Reference,
    route,
};
use legion_store::{
    ApplicationRecord, AuditEvent, HistoryEntry, IdempotencyKey, IdempotentSubmission, Locking, NewApplication, Scope,
    StoreError, TransitionWrite,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::secret_hash;
use crate::error::AppError;

/// What a successful submission returns to the applicant.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// Case id.
    pub id: ApplicationId,
    /// Short reference.
    pub reference: Reference,
    /// Secret shown once.
    pub access_code: String,
    /// Mission routed to.
    pub mission: MissionId,
}

/// Crockford base-32 of `bytes` (the access code alphabet: no I, L, O, U).
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Normalises an access code as typed (case, spaces, hyphens) before hashing.
pub fn normalise_access_code(code: &str) -> String {
    code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

/// An HMAC under the server's index key, begun with `purpose` and a NUL so that blind
/// values made for different purposes never coincide.
fn index_mac(state: &AppState, purpose: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&state.keys.index_key).expect("HMAC takes any key length");
    mac.update(purpose);
    mac.update(b"\0");
    mac
}

/// Keyed blind index of passport number and nationality: finds exact duplicates without
/// storing the number in a comparable form.
pub fn passport_index(state: &AppState, details: &ApplicantDetails) -> String {
    passport_index_of(state, details.nationality, &details.passport_number)
}

/// [`passport_index`] of a nationality and passport number, for exact lookups by staff.
pub fn passport_index_of(state: &AppState, nationality: CountryCode, number: &PassportNumber) -> String {
    let mut mac = index_mac(state, b"passport");
    mac.update(nationality.as_str().as_bytes());
    mac.update(b"\0");
    mac.update(number.as_str().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The blind index of the applicant's e-mail address (trimmed, lower-cased): exact lookups
/// without storing the address in the clear.
pub fn email_index(state: &AppState, email: &str) -> String {
    let mut mac = index_mac(state, b"email");
    mac.update(email.trim().to_lowercase().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The keyed hash under which a client's `Idempotency-Key` is stored. A key is 16 to 128
/// visible ASCII characters (a UUID does); anything else is refused before anything is read.
pub fn idempotency_key_hash(state: &AppState, key: &str) -> Result<String, AppError> {
    if !(16..=128).contains(&key.len()) || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::BadRequest(
            "Idempotency-Key must be 16 to 128 visible ASCII characters, for example a random UUID.".into(),
        ));
    }
    let mut mac = index_mac(state, b"idempotency");
    mac.update(key.as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// The access code of a submission made with an idempotency key: derived from the key under
/// the server's secret, so that sending the same request again returns the same code without
/// the code ever being stored.
fn idempotent_access_code(state: &AppState, key_hash: &str) -> String {
    let mut mac = index_mac(state, b"access-code");
    mac.update(key_hash.as_bytes());
    base32(&mac.finalize().into_bytes()[..20])
}

/// What a repeated submission answers: the first answer, if the request is the same one.
fn replay(
    state: &AppState,
    key_hash: &str,
    request_hash: &str,
    first: IdempotentSubmission,
) -> Result<Submitted, AppError> {
    if first.request_hash != request_hash {
        return Err(AppError::Conflict(
            "This Idempotency-Key was already used for a different application; use a new key for a new application."
                .into(),
        ));
    }
    metrics::counter!("legion_applications_replayed_total").increment(1);
    Ok(Submitted {
        id: first.id,
        reference: first.reference,
        access_code: idempotent_access_code(state, key_hash),
        mission: first.mission,
    })
}

/// Validates, routes and stores a new application; wakes the screening worker.
/// Invalid input stores nothing. With an idempotency key, the same request sent again
/// answers what the first one did and stores nothing more; the key with another request is
/// refused.
pub async fn submit(state: &AppState, body: &Value, idempotency_key: Option<&str>) -> Result<Submitted, AppError> {
    let key_hash = idempotency_key.map(|k| idempotency_key_hash(state, k)).transpose()?;
    let request_hash = hex::encode(Sha256::digest(body.to_string().as_bytes()));
    let outcome = submit_new(state, body, key_hash.as_deref(), &request_hash).await;
    // A repeat is found by its key when it is stored (a taken key) rather than looked up
    // before every submission. One that fails first (a policy no longer in force, the disk
    // full) still answers what the first request did.
    if outcome.is_err()
        && let Some(kh) = &key_hash
        && let Ok(Some(first)) = state.store.idempotent_submission(kh).await
    {
        return replay(state, kh, &request_hash, first);
    }
    outcome
}

/// [`submit`] of a request whose key (if any) is not known to be taken.
async fn submit_new(
    state: &AppState,
    body: &Value,
    key_hash: Option<&str>,
    request_hash: &str,
) -> Result<Submitted, AppError> {
    let now = state.clock.now();
    let today = now.date_naive();
    let details = ApplicantDetails::parse(body, today).map_err(AppError::Validation)?;
    let policy = state
        .policies
        .in_force(today)
        .ok_or_else(|| AppError::Unavailable("no policy version is in force today".into()))?;
    let missions = state.routing_missions().await?;
    let Some(mission) = route(details.country_of_residence, &missions) else {
        let mut e = FieldErrors::new();
        e.add("country_of_residence", "no mission takes applications from this country yet");
        return Err(AppError::Validation(e));
    };
    let id = ApplicationId::time_ordered(now, state.random_bytes());
    // 160 random bits (or derived from the idempotency key), shown once; only its hash is stored.
    let access_code = match key_hash {
        Some(kh) => idempotent_access_code(state, kh),
        None => base32(&state.random_bytes::<20>()),
    };
    let idempotency =
        key_hash.map(|kh| IdempotencyKey { key_hash: kh.to_owned(), request_hash: request_hash.to_owned() });
    let index = passport_index(state, &details);
    let email = email_index(state, &details.email);
    for _ in 0..5 {
        let bits = u64::from_le_bytes(state.random_bytes());
        let reference = Reference::from_random(bits & ((1 << 40) - 1));
        let app = NewApplication {
            id,
            reference: reference.clone(),
            mission: mission.id.clone(),
            access_hash: secret_hash(&access_code),
            passport_index: index.clone(),
            email_index: email.clone(),
            idempotency: idempotency.clone(),
            details: details.clone(),
            submitted_at: now,
            policy_version: policy.version.clone(),
        };
        let audit = AuditEvent {
            at: now,
            actor: "applicant".into(),
            role: "applicant".into(),
            mission: Some(mission.id.to_string()),
            action: "application.submit".into(),
            object: format!("application:{id}"),
            outcome: "ok".into(),
        };
        match state.intake.insert(&state.store, app, audit).await {
            Ok(()) => {
                metrics::counter!("legion_applications_submitted_total").increment(1);
                state.screening_wakeup.notify_one();
                return Ok(Submitted { id, reference, access_code, mission: mission.id.clone() });
            }
            Err(StoreError::Duplicate(what)) if what == "reference" => {}
            // The key is taken: by a request stored earlier (which `submit` then answers as
            // it did), or by one still being stored.
            Err(StoreError::Duplicate(what)) if what == "idempotency_key" => {
                return Err(AppError::Conflict(
                    "The same Idempotency-Key is being used by another request; try again.".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Internal("could not find a free reference in 5 tries".into()))
}

/// The applicant's own case, by id and access code, with its history. Wrong code and
/// unknown case look the same.
pub async fn applicant_case(
    state: &AppState,
    id: ApplicationId,
    access_code: &str,
) -> Result<(ApplicationRecord, Vec<HistoryEntry>), AppError> {
    let hash = secret_hash(&normalise_access_code(access_code));
    let record = state.store.application_for_applicant(id, &hash).await?.ok_or(AppError::NotFound)?;
    applicant_read(state, record).await
}

/// The applicant's own case, by reference and access code.
pub async fn applicant_case_by_reference(
    state: &AppState,
    reference: &Reference,
    access_code: &str,
) -> Result<(ApplicationRecord, Vec<HistoryEntry>), AppError> {
    let hash = secret_hash(&normalise_access_code(access_code));
    let record = state.store.application_by_reference(reference, &hash).await?.ok_or(AppError::NotFound)?;
    applicant_read(state, record).await
}

async fn applicant_read(
    state: &AppState,
    record: ApplicationRecord,
) -> Result<(ApplicationRecord, Vec<HistoryEntry>), AppError> {
    let history = state.store.history(record.id, &Scope::Mission(record.mission.clone())).await?;
    state.store.append_audit(&applicant_audit(state, &record, "application.read")).await?;
    Ok((record, history))
}

fn applicant_audit(state: &AppState, record: &ApplicationRecord, action: &str) -> AuditEvent {
    AuditEvent {
        at: state.clock.now(),
        actor: "applicant".into(),
        role: "applicant".into(),
        mission: Some(record.mission.to_string()),
        action: action.into(),
        object: format!("application:{}", record.id),
        outcome: "ok".into(),
    }
}

/// An applicant's command (answer a request, withdraw) on their own case; returns the case
/// as it now is, with its history.
pub async fn applicant_command(
    state: &AppState,
    id: ApplicationId,
    access_code: &str,
    command: Command,
) -> Result<(ApplicationRecord, Vec<HistoryEntry>), AppError> {
    let hash = secret_hash(&normalise_access_code(access_code));
    let record = state.store.application_for_applicant(id, &hash).await?.ok_or(AppError::NotFound)?;
    let updated = execute(state, &Actor::Applicant(id), record, command).await?;
    let history = state.store.history(id, &Scope::Mission(updated.mission.clone())).await?;
    Ok((updated, history))
}

/// A staff command on a case within the staff member's scope.
pub async fn staff_command(
    state: &AppState,
    staff: &crate::auth::CurrentStaff,
    id: ApplicationId,
    command: Command,
) -> Result<ApplicationRecord, AppError> {
    let scope = staff.case_scope().ok_or(AppError::NotFound)?;
    let record = state.store.case(id, &scope).await?.ok_or(AppError::NotFound)?;
    execute(state, &Actor::Staff(staff.actor.clone()), record, command).await
}

/// A decided command, ready to store: the transition, the flags it sets, its audit event.
struct Decided {
    record: ApplicationRecord,
    transition: Transition,
    flags: Option<Vec<Flag>>,
    /// The entry authorisation an `authorise` transition issues.
    credential: Option<legion_store::NewCredential>,
    /// The case's blind screening keys, stored as screening begins.
    screening_keys: Option<Vec<i64>>,
    audit: AuditEvent,
    at: DateTime<Utc>,
}

impl Decided {
    fn write<'a>(&'a self, actor: &'a Actor) -> TransitionWrite<'a> {
        TransitionWrite {
            id: self.record.id,
            expected_version: self.record.version,
            transition: &self.transition,
            actor,
            at: self.at,
            flags: self.flags.as_deref(),
            credential: self.credential.as_ref(),
            screening_keys: self.screening_keys.as_deref(),
        }
    }

    /// The case as it is once the transition is stored with `version`.
    fn stored(self, version: i64) -> ApplicationRecord {
        let mut updated = self.record;
        let transition = self.transition;
        updated.state = transition.to;
        updated.version = version;
        updated.updated_at = self.at;
        updated.policy_version = transition.policy_version;
        updated.recommended_by = transition.recommendation.map(|r| r.0);
        updated.recommendation = transition.recommendation.map(|r| r.1);
        if let Some(f) = self.flags {
            updated.flags = f;
        }
        updated
    }
}

/// Decides a command on a case under the policy in force now.
fn decide_command(
    state: &AppState,
    actor: &Actor,
    record: ApplicationRecord,
    command: Command,
) -> Result<Decided, AppError> {
    let now = state.clock.now();
    let policy = state
        .policies
        .in_force(now.date_naive())
        .ok_or_else(|| AppError::Unavailable("no policy version is in force today".into()))?;
    let mut transition = decide(&record.status(), actor, &command, policy, now)?;
    let credential = match &command {
        Command::Authorise { valid_from, valid_until } | Command::Reissue { valid_from, valid_until, .. } => {
            Some(issue_credential(state, &record, &mut transition, *valid_from, *valid_until, now)?)
        }
        _ => None,
    };
    let flags = match command {
        Command::CompleteScreening { flags } | Command::Rescreen { flags } => Some(flags),
        _ => None,
    };
    let audit = AuditEvent {
        at: now,
        actor: actor.audit_id(),
        role: actor.audit_role().into(),
        mission: Some(record.mission.to_string()),
        action: format!("case.{}", transition.command),
        object: format!("application:{}", record.id),
        outcome: "ok".into(),
    };
    Ok(Decided { record, transition, flags, credential, screening_keys: None, audit, at: now })
}

/// Signs the entry authorisation of an `authorise` transition with the mission's key; its
/// text goes into the transition's details (sealed with the case), what is not personal
/// into the returned record.
fn issue_credential(
    state: &AppState,
    record: &ApplicationRecord,
    transition: &mut Transition,
    valid_from: chrono::NaiveDate,
    valid_until: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<legion_store::NewCredential, AppError> {
    let key = state.keys.credentials.issuer(record.mission.as_str())?;
    let mut id = [0u8; 16];
    state.random.fill(&mut id);
    let id = uuid::Builder::from_random_bytes(id).into_uuid();
    let claims =
        crate::credentials::claims_for(record.mission.as_str(), id, &record.details, valid_from, valid_until, now);
    let token = key.issue(&claims);
    transition.details["credential"] = serde_json::json!({ "id": id, "token": token });
    let time = |t: i64| DateTime::from_timestamp(t, 0).unwrap_or(now);
    Ok(legion_store::NewCredential {
        id,
        kid: crate::credentials::kid_hex(key.kid()),
        issued_at: time(claims.issued_at),
        not_before: time(claims.not_before),
        expires_at: time(claims.expires),
    })
}

/// Decides and stores one command with its audit event; returns the case as it now is.
async fn execute(
    state: &AppState,
    actor: &Actor,
    record: ApplicationRecord,
    command: Command,
) -> Result<ApplicationRecord, AppError> {
    let decided = decide_command(state, actor, record, command)?;
    let version = state.store.apply_transition(&decided.write(actor), &decided.audit).await?;
    metrics::counter!("legion_transitions_total", "command" => decided.transition.command).increment(1);
    Ok(decided.stored(version))
}

/// Stores decided transitions of the system's background work in one transaction, skipping
/// cases another server holds; returns the cases it changed, as they now are.
async fn execute_claimed(state: &AppState, decided: Vec<Decided>) -> Result<Vec<ApplicationRecord>, AppError> {
    if decided.is_empty() {
        return Ok(Vec::new());
    }
    let batch: Vec<_> = decided.iter().map(|d| (d.write(&Actor::System), d.audit.clone())).collect();
    let outcomes = state.store.apply_transitions(&batch, Locking::SkipLocked).await?;
    drop(batch);
    let mut stored = Vec::with_capacity(decided.len());
    for (d, outcome) in decided.into_iter().zip(outcomes) {
        match outcome {
            Ok(version) => {
                metrics::counter!("legion_transitions_total", "command" => d.transition.command).increment(1);
                stored.push(d.stored(version));
            }
            // Taken by another worker, gone, or shredded between the listing and now.
            Err(StoreError::Conflict | StoreError::NotFound | StoreError::Shredded) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(stored)
}

/// Cases screened per transaction: small enough that a batch holds the writer only briefly.
const SCREENING_BATCH: u32 = 50;

/// Cases screened per transaction while submissions are waiting: each of screening's
/// transactions then holds the writer for about as long as a batch of submissions does, so
/// that no submission waits behind a long one. Screening goes on at a trickle until the
/// surge eases, then at full batches.
const SCREENING_BATCH_UNDER_LOAD: u32 = 10;

/// How long screening waits for submissions being stored before it goes ahead anyway.
const SCREENING_DEFERRAL: std::time::Duration = std::time::Duration::from_millis(250);

/// How long a case may stay in `screening` before another screener takes it over: its
/// screener stopped half-way (the server was killed between claiming and completing).
const SCREENING_STALLED: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// Screens every case waiting: policy gates and exact passport duplicates. Cases are claimed
/// in batches (moved to `screening` in one transaction, skipping any another server holds),
/// screened, and completed in a second transaction. Returns how many were screened.
pub async fn screen_pending(state: &AppState) -> Result<usize, AppError> {
    let mut done = 0;
    loop {
        give_way_to_intake(state).await;
        let batch = if state.intake.is_busy() { SCREENING_BATCH_UNDER_LOAD } else { SCREENING_BATCH };
        let stalled_before = state.clock.now() - SCREENING_STALLED;
        let ids = state.store.pending_screening(batch, stalled_before).await?;
        if ids.is_empty() {
            return Ok(done);
        }
        let screened = screen_batch(state, &ids, stalled_before).await?;
        if screened == 0 {
            return Ok(done);
        }
        done += screened;
    }
}

/// Waits while submissions are being stored, for at most `SCREENING_DEFERRAL`: an applicant
/// waits on each submission, while screening a moment later changes nothing for anyone. The
/// bound keeps screening going under sustained load.
async fn give_way_to_intake(state: &AppState) {
    let deadline = tokio::time::Instant::now() + SCREENING_DEFERRAL;
    while state.intake.is_busy() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Claims for completion retried while the case is still this screener's: a claim skips a
/// case another transaction holds only for a moment (another server's stale claim, a document
/// upload), which would otherwise leave it in `screening` until it counts as stalled.
const COMPLETE_TRIES: u32 = 5;

async fn screen_batch(
    state: &AppState,
    ids: &[ApplicationId],
    stalled_before: DateTime<Utc>,
) -> Result<usize, AppError> {
    let mut begin = Vec::new();
    let mut claimed = Vec::new();
    for &id in ids {
        let record = match state.store.case(id, &Scope::All).await {
            Ok(Some(record)) => record,
            Ok(None) | Err(StoreError::Shredded) => continue,
            Err(e) => return Err(e.into()),
        };
        match record.state {
            State::Submitted => {
                let keys = screening_keys(state, &record.details);
                let mut decided = decide_command(state, &Actor::System, record, Command::BeginScreening)?;
                decided.screening_keys = Some(keys);
                begin.push(decided);
            }
            // Stalled half-way: completed by whoever gets it first. One claimed since the
            // listing is another screener's, still at work.
            State::Screening if record.updated_at < stalled_before => claimed.push(record),
            _ => {}
        }
    }
    // Blind keys before any case is compared, so that cases screened together find each
    // other too: a new claim stores them with itself, a stalled case's are stored again here.
    let stalled: Vec<(ApplicationId, Vec<i64>)> =
        claimed.iter().map(|r| (r.id, screening_keys(state, &r.details))).collect();
    state.store.put_screening_keys(&stalled).await?;
    let mut keys: std::collections::HashMap<ApplicationId, Vec<i64>> = stalled.into_iter().collect();
    keys.extend(begin.iter().filter_map(|d| Some((d.record.id, d.screening_keys.clone()?))));
    claimed.extend(execute_claimed(state, begin).await?);
    let mut screened = 0;
    for attempt in 1..=COMPLETE_TRIES {
        let mut complete = Vec::with_capacity(claimed.len());
        for record in &claimed {
            let flags = screening_flags(state, record, keys.get(&record.id).map_or(&[][..], Vec::as_slice)).await?;
            complete.push(decide_command(state, &Actor::System, record.clone(), Command::CompleteScreening { flags })?);
        }
        let done: std::collections::HashSet<ApplicationId> =
            execute_claimed(state, complete).await?.iter().map(|r| r.id).collect();
        screened += done.len();
        claimed.retain(|r| !done.contains(&r.id));
        if claimed.is_empty() || attempt == COMPLETE_TRIES {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(attempt))).await;
        // Still this screener's only if nobody has changed it since it was claimed.
        let mut still = Vec::with_capacity(claimed.len());
        for record in claimed {
            if let Ok(Some(now)) = state.store.case(record.id, &Scope::All).await
                && now.state == State::Screening
                && now.version == record.version
            {
                still.push(now);
            }
        }
        claimed = still;
    }
    Ok(screened)
}

/// What screening finds about a case: policy gates, watchlist hits, the same passport in
/// another application, and the same person applying again under another spelling.
/// `keys` are the case's blind screening keys ([`screening_keys`]).
async fn screening_flags(state: &AppState, record: &ApplicationRecord, keys: &[i64]) -> Result<Vec<Flag>, AppError> {
    let submitted_on = record.submitted_at.date_naive();
    let policy = state
        .policies
        .get(&record.policy_version)
        .or_else(|| state.policies.in_force(submitted_on))
        .ok_or_else(|| AppError::Internal(format!("unknown policy version {}", record.policy_version)))?;
    let mut flags: Vec<Flag> = policy_flags(&record.details, policy, submitted_on);
    flags.extend(watchlist_flags(&state.watchlists.current(), &record.details));
    let mut seen = std::collections::HashSet::new();
    for m in state.store.passport_matches(&passport_index(state, &record.details), record.id).await? {
        seen.insert(m.id);
        flags.push(duplicate_flag(m.reference.as_str(), m.mission.as_str()));
    }
    flags.extend(possible_duplicates(state, record, keys, &seen).await?);
    Ok(flags)
}

/// The applicant as screening compares them: the name as in the passport and in its
/// original script, date of birth, nationality.
pub fn applicant_subject(details: &ApplicantDetails) -> legion_screening::Subject {
    let mut names = vec![details.full_name()];
    names.extend(details.native_name.iter().filter(|n| !n.trim().is_empty()).cloned());
    legion_screening::Subject {
        schema: legion_screening::Schema::Person,
        names,
        birth_dates: vec![legion_screening::PartialDate::from_date(details.date_of_birth)],
        nationalities: vec![details.nationality.as_str().to_owned()],
    }
}

/// Watchlist hits for an applicant, with the matcher's explanation.
pub fn watchlist_flags(lists: &crate::watchlists::Loaded, details: &ApplicantDetails) -> Vec<Flag> {
    lists
        .screen(&applicant_subject(details))
        .into_iter()
        .map(|hit| {
            let listed = lists.index.entry(hit.position);
            let name = listed.subject.names.first().map_or("", String::as_str);
            Flag {
                kind: FlagKind::Watchlist,
                explanation: hit.comparison.explanation,
                basis: format!("{} \u{2014} {name}", hit.entry_id),
            }
        })
        .collect()
}

/// The blind screening keys of an applicant: keyed hashes of the sound of each name token,
/// of the groups of known spellings each belongs to, and of the date of birth. The store
/// holds these, never the names.
pub fn screening_keys(state: &AppState, details: &ApplicantDetails) -> Vec<i64> {
    let subject = applicant_subject(details);
    let mut values: Vec<Vec<u8>> = legion_screening::index::blocking_keys(&subject, state.watchlists.variants())
        .into_iter()
        .map(|k| [b"name\0".as_slice(), k.as_bytes()].concat())
        .collect();
    values.push([b"born\0".as_slice(), details.date_of_birth.to_string().as_bytes()].concat());
    let mut keys: Vec<i64> = values
        .iter()
        .map(|v| {
            let mut mac = index_mac(state, b"screening");
            mac.update(v);
            let digest = mac.finalize().into_bytes();
            i64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Candidates that share at least this many blind keys (a name token and the date of birth,
/// or two name tokens) are compared in full.
const DUPLICATE_MIN_SHARED: u32 = 2;

/// At most this many candidates are compared per case, those sharing most keys first.
const DUPLICATE_CANDIDATES: u32 = 20;

/// Other applications that are possibly the same person: found through the blind keys,
/// decided by comparing names, date of birth and nationality.
async fn possible_duplicates(
    state: &AppState,
    record: &ApplicationRecord,
    keys: &[i64],
    already: &std::collections::HashSet<ApplicationId>,
) -> Result<Vec<Flag>, AppError> {
    let ids = state.store.screening_candidates(keys, record.id, DUPLICATE_MIN_SHARED, DUPLICATE_CANDIDATES).await?;
    let variants = state.watchlists.variants();
    let me = legion_screening::score::Prepared::with_variants(&applicant_subject(&record.details), variants);
    let mut flags = Vec::new();
    for id in ids {
        if already.contains(&id) {
            continue;
        }
        let other = match state.store.case(id, &Scope::All).await {
            Ok(Some(other)) => other,
            Ok(None) | Err(StoreError::Shredded) => continue,
            Err(e) => return Err(e.into()),
        };
        let c = legion_screening::score::compare(
            &me,
            &legion_screening::score::Prepared::with_variants(&applicant_subject(&other.details), variants),
        );
        if c.matched {
            flags.push(Flag {
                kind: FlagKind::PossibleDuplicate,
                explanation: c.explanation,
                basis: format!("{} ({})", other.reference, other.mission),
            });
        }
    }
    Ok(flags)
}

/// After the watchlists changed: screens every open case against them again, and sends
/// those with a hit not already on record back to vetting hold. Returns how many went.
pub async fn rescreen_open_cases(state: &AppState) -> Result<usize, AppError> {
    let lists = state.watchlists.current();
    if lists.index.is_empty() {
        return Ok(0);
    }
    let mut held = 0;
    for open in State::ALL.into_iter().filter(|s| s.can_be_rescreened()) {
        // The ids first, page after page from the last case read, then the holds: a held case
        // leaves the state, and its page is read already.
        let mut ids = Vec::new();
        let mut after = None;
        loop {
            let query = legion_store::QueueQuery { state: Some(open), after, limit: 200, ..Default::default() };
            let page = state.store.cases(&Scope::All, &query).await?;
            let n = page.items.len();
            after = page.items.last().map(|r| (r.submitted_at, r.id));
            for record in page.items {
                let known: std::collections::HashSet<&str> =
                    record.flags.iter().filter(|f| f.kind == FlagKind::Watchlist).map(|f| f.basis.as_str()).collect();
                let new: Vec<Flag> = watchlist_flags(&lists, &record.details)
                    .into_iter()
                    .filter(|f| !known.contains(f.basis.as_str()))
                    .collect();
                if !new.is_empty() {
                    ids.push((record.id, new));
                }
            }
            if n < 200 {
                break;
            }
        }
        for chunk in ids.chunks(50) {
            let mut decided = Vec::with_capacity(chunk.len());
            for (id, new) in chunk {
                let record = match state.store.case(*id, &Scope::All).await {
                    Ok(Some(record)) if record.state.can_be_rescreened() => record,
                    Ok(_) | Err(StoreError::Shredded) => continue,
                    Err(e) => return Err(e.into()),
                };
                let mut flags = record.flags.clone();
                flags.extend(new.iter().cloned());
                decided.push(decide_command(state, &Actor::System, record, Command::Rescreen { flags })?);
            }
            held += execute_claimed(state, decided).await?.len();
        }
    }
    Ok(held)
}

/// Reads the watchlist files again and swaps the new index in (searches use the old one
/// until then); on error the old lists stay in use.
pub async fn load_watchlists(state: &AppState) -> Result<std::sync::Arc<crate::watchlists::Loaded>, AppError> {
    let loaded = state.watchlists.reload(state.clock.now()).await.map_err(|e| match e {
        crate::watchlists::LoadError::NotConfigured => AppError::Unavailable(e.to_string()),
        e => AppError::WatchlistUnreadable(e.to_string()),
    })?;
    let entries: usize = loaded.files.iter().map(|f| f.entries).sum();
    tracing::info!(files = loaded.files.len(), entries, generation = loaded.generation, "watchlists loaded");
    Ok(loaded)
}

/// [`rescreen_open_cases`], logging how many went back to vetting hold, and noting the lists
/// they were re-screened against.
pub async fn rescreen_after_load(state: &AppState) -> Result<usize, AppError> {
    let lists = state.watchlists.current();
    let held = rescreen_open_cases(state).await?;
    if held > 0 {
        tracing::info!(held, "open cases sent back to vetting hold by the new watchlists");
    }
    if let Err(e) = state.watchlists.mark_rescreened(&lists).await {
        tracing::warn!(error = %e, "cannot note the re-screening in the watchlist directory; the next start re-screens again");
    }
    Ok(held)
}

/// After a start: re-screens open cases unless they were last re-screened against exactly
/// these lists (the files may have changed while the server was down; with a million open
/// cases, doing it again for nothing would take the machine for minutes). `None`: skipped.
pub async fn rescreen_at_start(state: &AppState) -> Result<Option<usize>, AppError> {
    if state.watchlists.rescreened_against_current().await {
        tracing::info!("watchlists unchanged since open cases were last re-screened");
        return Ok(None);
    }
    rescreen_after_load(state).await.map(Some)
}

/// Reloads the watchlists and re-screens open cases against them; for the reload triggers
/// (`SIGHUP`, the admin API, files changed).
pub async fn reload_watchlists(
    state: &AppState,
) -> Result<(std::sync::Arc<crate::watchlists::Loaded>, usize), AppError> {
    let loaded = load_watchlists(state).await?;
    let held = rescreen_after_load(state).await?;
    Ok((loaded, held))
}

/// Watches the watchlist files, reloading them (and re-screening open cases) when they
/// change; in a task of its own, so that a long re-screening never holds up screening.
pub fn spawn_watchlist_watcher(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(state.config.watchlist_poll).await;
            if state.watchlists.changed().await
                && let Err(e) = reload_watchlists(&state).await
            {
                tracing::warn!(error = %e, "watchlist reload failed; the previous lists stay in use");
            }
        }
    })
}

/// Runs the screening worker until the process ends: woken by each submission, and
/// polling as a fallback.
pub fn spawn_screening_worker(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match screen_pending(&state).await {
                Ok(n) if n > 0 => tracing::debug!(screened = n, "screening pass"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "screening pass failed"),
            }
            let _ = tokio::time::timeout(state.config.screening_poll, state.screening_wakeup.notified()).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_has_enough_bits() {
        let s = base32(&[0xff; 20]);
        assert_eq!(s.len(), 32);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(base32(&[0]), "00");
    }

    #[test]
    fn access_codes_normalise() {
        assert_eq!(normalise_access_code("ab-cd ef"), "ABCDEF");
    }
}

/// What a border check of an entry authorisation found.
#[derive(Debug)]
pub struct BorderCheck {
    /// The verdict: what the authorisation states, or why it is refused.
    pub verdict: Result<legion_credential::Verified, legion_credential::Refusal>,
    /// When and where its holder crossed already, if they did.
    pub crossed: Option<(DateTime<Utc>, String)>,
}

/// What recording a crossing did.
#[derive(Debug)]
pub enum Crossing {
    /// Recorded now.
    Recorded {
        /// The authorisation.
        verified: legion_credential::Verified,
        /// When.
        at: DateTime<Utc>,
    },
    /// The authorisation was used before: nothing recorded.
    AlreadyUsed {
        /// The authorisation.
        verified: legion_credential::Verified,
        /// When it was first used.
        at: DateTime<Utc>,
        /// Where.
        point: String,
    },
    /// The authorisation is refused: nothing recorded.
    Refused(legion_credential::Refusal),
}

/// Verifies an entry authorisation against this server's own trust list and its current
/// revocations, as a border post's offline verifier does with the lists it loaded; records
/// the check in the audit log (the credential id, never the holder).
pub async fn check_at_border(
    state: &AppState,
    staff: &crate::auth::CurrentStaff,
    token: &str,
) -> Result<BorderCheck, AppError> {
    let now = state.clock.now();
    let trust = crate::credentials::trust_list(&state.keys.credentials, &*state.store, now).await?;
    let revocations = crate::credentials::revocation_list(&*state.store, now).await?;
    let verdict = legion_credential::Verifier::new(&trust, Some(&revocations)).verify(token, now.timestamp());
    let (object, outcome, crossed) = match &verdict {
        Ok(v) => {
            let record = state.store.credential(v.claims.id).await?;
            let crossed = record.and_then(|r| r.crossed_at.zip(r.crossing_point));
            (format!("credential:{}", v.claims.id), "ok", crossed)
        }
        Err(r) => (format!("credential:refused:{}", r.code()), "denied", None),
    };
    state.store.append_audit(&staff.audit(state, "credential.verify", object, outcome)).await?;
    Ok(BorderCheck { verdict, crossed })
}

/// Verifies an entry authorisation and records that its holder crossed at `point`, once:
/// the case moves to `crossed_border`; a second use records nothing and says when and where
/// the first was.
pub async fn record_crossing(
    state: &AppState,
    staff: &crate::auth::CurrentStaff,
    token: &str,
    point: &str,
) -> Result<Crossing, AppError> {
    let check = check_at_border(state, staff, token).await?;
    let verified = match check.verdict {
        Ok(v) => v,
        Err(r) => return Ok(Crossing::Refused(r)),
    };
    let id = verified.claims.id;
    let reuse = |at, point| Crossing::AlreadyUsed { verified: verified.clone(), at, point };
    if let Some((at, point)) = check.crossed {
        let event = staff.audit(state, "credential.reuse", format!("credential:{id}"), "denied");
        state.store.append_audit(&event).await?;
        return Ok(reuse(at, point));
    }
    let record =
        state.store.credential(id).await?.ok_or_else(|| {
            AppError::Conflict("This authorisation verifies but this server has no record of it.".into())
        })?;
    let case = state.store.case(record.application, &Scope::All).await?.ok_or(AppError::NotFound)?;
    let actor = Actor::Staff(staff.actor.clone());
    let mut decided = decide_command(state, &actor, case, Command::RecordCrossing { point: point.to_owned() })?;
    decided.transition.details["credential"] = serde_json::json!(id);
    decided.audit.object = format!("application:{}", record.application);
    match state.store.apply_transition(&decided.write(&actor), &decided.audit).await {
        Ok(_) => {
            metrics::counter!("legion_transitions_total", "command" => decided.transition.command).increment(1);
            Ok(Crossing::Recorded { verified, at: decided.at })
        }
        // Another officer recorded it a moment ago.
        Err(StoreError::Conflict) => match state.store.credential(id).await? {
            Some(legion_store::CredentialRecord { crossed_at: Some(at), crossing_point: Some(point), .. }) => {
                Ok(reuse(at, point))
            }
            _ => Err(StoreError::Conflict.into()),
        },
        Err(e) => Err(e.into()),
    }
}

/// An issued entry authorisation as the case history keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedAuthorisation {
    /// The credential id.
    pub id: uuid::Uuid,
    /// The `LG1:` text.
    pub token: String,
    /// First day of the entry window.
    pub valid_from: chrono::NaiveDate,
    /// Last day of the entry window.
    pub valid_until: chrono::NaiveDate,
}

/// The entry authorisation a case's history holds (the latest `authorise` or `reissue`),
/// while the case is authorised.
pub fn authorisation_of(record: &ApplicationRecord, history: &[HistoryEntry]) -> Option<IssuedAuthorisation> {
    if record.state != legion_domain::State::Authorised {
        return None;
    }
    let entry = history.iter().rev().find(|h| h.command == "authorise" || h.command == "reissue")?;
    let d = &entry.details;
    Some(IssuedAuthorisation {
        id: d.pointer("/credential/id")?.as_str()?.parse().ok()?,
        token: d.pointer("/credential/token")?.as_str()?.to_owned(),
        valid_from: d.get("valid_from")?.as_str()?.parse().ok()?,
        valid_until: d.get("valid_until")?.as_str()?.parse().ok()?,
    })
}
