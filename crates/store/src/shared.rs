//! What the two backends share: SQL text that reads the same in both dialects, the shapes
//! rows come back in, the conversions between rows and domain types, and (in `impl_store!`)
//! the `Store` methods that run that SQL the same way in both. Whatever differs between
//! `SQLite` and `PostgreSQL` lives in `sqlite.rs` or `postgres.rs`, not here.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use legion_domain::screening::Flag;
use legion_domain::{
    ApplicantDetails, ApplicationId, CountryCode, DocumentId, DocumentKind, DocumentType, Mission, MissionId,
    Recommendation, Reference, Role, StaffId, State, Username,
};

use crate::{
    ApplicationRecord, AuditEvent, DocumentRecord, HistoryEntry, NewDocument, PassportMatch, QueueQuery, QueueSort,
    Result, Scope, StaffRecord, StateCount, StoreError, StoredAuditEvent,
};

/// The most rows one page of a queue may hold.
pub(crate) const MAX_PAGE: u32 = 200;

/// Milliseconds since the Unix epoch: the one time representation in both schemas.
pub(crate) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn time(ms: i64, column: &str) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt(column, "is out of range"))
}

/// A stored value the domain refuses. Names the column, never the value: it may be personal.
fn corrupt(column: &str, why: &str) -> StoreError {
    StoreError::Internal(format!("stored {column} {why}"))
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Internal(format!("cannot encode {what}: {:?}", e.classify())))
}

/// `serde_json`'s messages quote the offending input, so only its category and position are kept.
fn from_json<T: serde::de::DeserializeOwned>(text: &str, column: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        corrupt(
            column,
            &format!("is not valid JSON for its type ({:?} at line {} column {})", e.classify(), e.line(), e.column()),
        )
    })
}

fn state(s: &str, column: &str) -> Result<State> {
    State::parse(s).ok_or_else(|| corrupt(column, "is not a known state"))
}

fn uuid_id<T>(s: &str, parse: fn(&str) -> Option<T>, column: &str) -> Result<T> {
    parse(s).ok_or_else(|| corrupt(column, "is not a UUID"))
}

fn mission_id(s: &str, column: &str) -> Result<MissionId> {
    MissionId::parse(s).map_err(|_| corrupt(column, "is not a mission id"))
}

pub(crate) fn application_id(s: &str) -> Result<ApplicationId> {
    uuid_id(s, ApplicationId::parse, "applications.id")
}

fn reference(s: &str) -> Result<Reference> {
    Reference::parse(s).ok_or_else(|| corrupt("applications.reference", "is not a reference"))
}

// ---------------------------------------------------------------------------------------
// SQL text identical in both dialects. Both number parameters `$1`, `$2`, …; SQLite binds
// `$N` to the N-th bound value, so a parameter may repeat or appear out of order.
// ---------------------------------------------------------------------------------------

pub(crate) const UPSERT_MISSION: &str = "INSERT INTO missions (id, name, country, covers, regional) \
     VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, country = excluded.country, \
     covers = excluded.covers, regional = excluded.regional";

pub(crate) const SELECT_MISSIONS: &str = "SELECT id, name, country, covers, regional FROM missions ORDER BY id";

pub(crate) const INSERT_STAFF: &str = "INSERT INTO staff \
     (id, username, display_name, password_hash, role, mission_id, disabled, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7)";

pub(crate) const SELECT_STAFF_BY_USERNAME: &str = "SELECT s.id, s.username, s.display_name, s.password_hash, s.role, \
     s.mission_id, s.disabled, s.created_at FROM staff s WHERE s.username = $1";

pub(crate) const SELECT_STAFF_BY_ID: &str = "SELECT s.id, s.username, s.display_name, s.password_hash, s.role, \
     s.mission_id, s.disabled, s.created_at FROM staff s WHERE s.id = $1";

pub(crate) const SELECT_ALL_STAFF: &str = "SELECT s.id, s.username, s.display_name, s.password_hash, s.role, \
     s.mission_id, s.disabled, s.created_at FROM staff s ORDER BY s.username";

pub(crate) const SET_STAFF_DISABLED: &str = "UPDATE staff SET disabled = $1 WHERE username = $2";

pub(crate) const DELETE_SESSIONS_OF_USERNAME: &str =
    "DELETE FROM sessions WHERE staff_id IN (SELECT id FROM staff WHERE username = $1)";

pub(crate) const INSERT_SESSION: &str =
    "INSERT INTO sessions (token_hash, staff_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";

pub(crate) const SELECT_SESSION_STAFF: &str = "SELECT s.id, s.username, s.display_name, s.password_hash, s.role, \
     s.mission_id, s.disabled, s.created_at \
     FROM sessions x JOIN staff s ON s.id = x.staff_id \
     WHERE x.token_hash = $1 AND x.expires_at > $2 AND NOT s.disabled";

pub(crate) const DELETE_SESSION: &str = "DELETE FROM sessions WHERE token_hash = $1";

pub(crate) const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at <= $1";

pub(crate) const INSERT_APPLICATION: &str = "INSERT INTO applications \
     (id, reference, mission_id, state, version, access_hash, passport_index, details, \
      submitted_at, updated_at, policy_version, recommended_by, recommendation, flags, email_index) \
     VALUES ($1, $2, $3, 'submitted', 1, $4, $5, $6, $7, $7, $8, NULL, NULL, $9, $10)";

/// The start of a multi-row `INSERT_APPLICATION` (values follow, in this order).
pub(crate) const INSERT_APPLICATIONS: &str = "INSERT INTO applications \
     (id, reference, mission_id, state, version, access_hash, passport_index, details, \
      submitted_at, updated_at, policy_version, flags, email_index) ";

/// The start of a multi-row `INSERT_FIRST_HISTORY`.
pub(crate) const INSERT_FIRST_HISTORIES: &str = "INSERT INTO application_history \
     (application_id, seq, at, actor, actor_role, command, from_state, to_state, details, policy_version) ";

/// The start of a multi-row `INSERT_IDEMPOTENCY_KEY`.
pub(crate) const INSERT_IDEMPOTENCY_KEYS: &str =
    "INSERT INTO idempotency_keys (key_hash, request_hash, application_id, created_at) ";

/// The start of a multi-row `INSERT_AUDIT`.
pub(crate) const INSERT_AUDITS: &str = "INSERT INTO audit_events \
     (seq, at, actor, role, mission, action, object, outcome, before_hash, after_hash, chain) ";

/// Rows per multi-row statement: well within `SQLite`'s and `PostgreSQL`'s bound-parameter limits.
pub(crate) const ROWS_PER_STATEMENT: usize = 200;

pub(crate) const INSERT_FIRST_HISTORY: &str = "INSERT INTO application_history \
     (application_id, seq, at, actor, actor_role, command, from_state, to_state, details, policy_version) \
     VALUES ($1, 1, $2, 'applicant', 'applicant', 'submit', 'submitted', 'submitted', $4, $3)";

const APPLICATION_COLUMNS: &str = "id, reference, mission_id, state, version, details, submitted_at, updated_at, \
     policy_version, recommended_by, recommendation, flags";

pub(crate) const SELECT_APPLICATION_FOR_APPLICANT: &str = "SELECT id, reference, mission_id, state, version, details, \
     submitted_at, updated_at, policy_version, recommended_by, recommendation, flags \
     FROM applications WHERE id = $1 AND access_hash = $2";

pub(crate) const SELECT_APPLICATION_BY_REFERENCE: &str = "SELECT id, reference, mission_id, state, version, details, \
     submitted_at, updated_at, policy_version, recommended_by, recommendation, flags \
     FROM applications WHERE reference = $1 AND access_hash = $2";

/// The version check and the state check make a stale decision change nothing; `flags`
/// keeps its value when no new flags are given.
pub(crate) const UPDATE_FOR_TRANSITION: &str = "UPDATE applications SET state = $1, version = version + 1, \
     updated_at = $2, policy_version = $3, recommended_by = $4, recommendation = $5, flags = COALESCE($6, flags) \
     WHERE id = $7 AND version = $8 AND state = $9 \
     RETURNING version";

pub(crate) const INSERT_IDEMPOTENCY_KEY: &str =
    "INSERT INTO idempotency_keys (key_hash, request_hash, application_id, created_at) VALUES ($1, $2, $3, $4)";

pub(crate) const SELECT_IDEMPOTENCY_KEY: &str = "SELECT k.request_hash, a.id, a.reference, a.mission_id \
     FROM idempotency_keys k JOIN applications a ON a.id = k.application_id WHERE k.key_hash = $1";

pub(crate) fn idempotent(
    request_hash: String,
    id: &str,
    reference_text: &str,
    mission: &str,
) -> Result<crate::IdempotentSubmission> {
    Ok(crate::IdempotentSubmission {
        request_hash,
        id: application_id(id)?,
        reference: reference(reference_text)?,
        mission: mission_id(mission, "applications.mission_id")?,
    })
}

pub(crate) const INSERT_CREDENTIAL: &str = "INSERT INTO credentials \
     (id, application_id, mission_id, kid, issued_at, not_before, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// The counter row is locked by this transaction until it ends: revocations are numbered
/// one after the other, with no gaps, across servers.
pub(crate) const NEXT_REVOCATION_SEQ: &str =
    "UPDATE credential_revocation_counter SET seq = seq + 1 WHERE only_row = 1 RETURNING seq";

pub(crate) const REVOKE_CREDENTIALS: &str = "UPDATE credentials SET revoked_at = $1, revocation_seq = $2 \
     WHERE application_id = $3 AND revoked_at IS NULL";

/// Only a credential of this case, not revoked, not used before.
pub(crate) const RECORD_CROSSING: &str = "UPDATE credentials SET crossed_at = $1, crossing_point = $2, crossed_by = $3 \
     WHERE id = $4 AND application_id = $5 AND crossed_at IS NULL AND revoked_at IS NULL";

macro_rules! credential_select {
    () => {
        "SELECT id, application_id, mission_id, kid, issued_at, not_before, expires_at, \
         revoked_at, revocation_seq, crossed_at, crossing_point FROM credentials "
    };
}

pub(crate) const CREDENTIALS: &str = concat!(credential_select!(), "ORDER BY issued_at DESC, id");
pub(crate) const CREDENTIALS_OF_MISSION: &str =
    concat!(credential_select!(), "WHERE mission_id = $1 ORDER BY issued_at DESC, id");
pub(crate) const CREDENTIAL_BY_ID: &str = concat!(credential_select!(), "WHERE id = $1");

pub(crate) const REVOKED_CREDENTIALS: &str =
    "SELECT id FROM credentials WHERE revoked_at IS NOT NULL AND expires_at > $1 ORDER BY id";

pub(crate) const LAST_REVOCATION_SEQ: &str = "SELECT seq FROM credential_revocation_counter WHERE only_row = 1";

pub(crate) const KEY_EXPIRIES: &str = "SELECT kid, MAX(expires_at) FROM credentials GROUP BY kid ORDER BY kid";

#[derive(sqlx::FromRow)]
pub(crate) struct CredentialRow {
    id: String,
    application_id: String,
    mission_id: String,
    kid: String,
    issued_at: i64,
    not_before: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    revocation_seq: Option<i64>,
    crossed_at: Option<i64>,
    crossing_point: Option<String>,
}

impl CredentialRow {
    pub(crate) fn into_record(self) -> Result<crate::CredentialRecord> {
        Ok(crate::CredentialRecord {
            id: uuid::Uuid::parse_str(&self.id).map_err(|_| corrupt("credentials.id", "not a UUID"))?,
            application: application_id(&self.application_id)?,
            mission: mission_id(&self.mission_id, "credentials.mission_id")?,
            kid: self.kid,
            issued_at: time(self.issued_at, "credentials.issued_at")?,
            not_before: time(self.not_before, "credentials.not_before")?,
            expires_at: time(self.expires_at, "credentials.expires_at")?,
            revoked_at: self.revoked_at.map(|t| time(t, "credentials.revoked_at")).transpose()?,
            revocation_seq: self.revocation_seq,
            crossed_at: self.crossed_at.map(|t| time(t, "credentials.crossed_at")).transpose()?,
            crossing_point: self.crossing_point,
        })
    }
}

/// The start of a claim of several cases' rows: `SELECT_APPLICATION_BY_ID` for a list of ids.
pub(crate) const SELECT_APPLICATIONS_IN: &str = "SELECT id, reference, mission_id, state, version, details, \
     submitted_at, updated_at, policy_version, recommended_by, recommendation, flags \
     FROM applications WHERE id IN (";

/// The start of [`UPDATE_FOR_TRANSITION`] for several cases at once, followed by a
/// `VALUES` list of `(id, state, updated_at, policy_version, recommended_by, recommendation,
/// sealed flags or NULL, expected version)` and [`UPDATE_TRANSITIONS_END`].
pub(crate) const UPDATE_TRANSITIONS: &str = "UPDATE applications SET state = v.column2, version = version + 1, \
     updated_at = v.column3, policy_version = v.column4, recommended_by = v.column5, recommendation = v.column6, \
     flags = COALESCE(v.column7, applications.flags) FROM (";

pub(crate) const UPDATE_TRANSITIONS_END: &str =
    ") AS v WHERE applications.id = v.column1 AND applications.version = v.column8 RETURNING applications.id";

/// The last history entry of each of a list of cases (the start; ids and `)` follow).
pub(crate) const LAST_HISTORY_SEQS: &str =
    "SELECT application_id, MAX(seq) FROM application_history WHERE application_id IN (";

pub(crate) const APPLICATION_EXISTS: &str = "SELECT COUNT(*) FROM applications WHERE id = $1";

/// The whole row, read inside the writing transaction for the audit event's before/after hashes.
pub(crate) const SELECT_APPLICATION_BY_ID: &str = "SELECT id, reference, mission_id, state, version, details, \
     submitted_at, updated_at, policy_version, recommended_by, recommendation, flags \
     FROM applications WHERE id = $1";

/// The application row is already updated (and, in `PostgreSQL`, locked) by this transaction,
/// so no other writer can be computing the same `seq`. The number is read first because the
/// sealed details are bound to it.
pub(crate) const NEXT_HISTORY_SEQ: &str =
    "SELECT COALESCE(MAX(seq), 0) + 1 FROM application_history WHERE application_id = $1";

pub(crate) const INSERT_NEXT_HISTORY: &str = "INSERT INTO application_history \
     (application_id, seq, at, actor, actor_role, command, from_state, to_state, details, policy_version) \
     VALUES ($1, $10, $2, $3, $4, $5, $6, $7, $8, $9)";

pub(crate) const PENDING_SCREENING: &str = "SELECT id FROM applications \
     WHERE (state = 'submitted' OR (state = 'screening' AND updated_at < $2)) AND data_destroyed_at IS NULL \
     ORDER BY submitted_at, id LIMIT $1";

pub(crate) const PASSPORT_MATCHES: &str = "SELECT id, reference, mission_id, state FROM applications \
     WHERE passport_index = $1 AND id <> $2 AND state <> 'withdrawn' AND data_destroyed_at IS NULL \
     ORDER BY submitted_at, id";

/// Shredding leaves a case its id, state and dates, and takes it out of queues and screening.
pub(crate) const MARK_DESTROYED: &str = "UPDATE applications SET data_destroyed_at = $1, passport_index = '', \
     email_index = NULL WHERE mission_id = $2 AND data_destroyed_at IS NULL";

/// The last event, whose seq and chain the next one continues. `seq` is the last + 1, not a
/// sequence or rowid default, so the log has no gaps: a rolled-back append takes its number
/// with it. Callers make sure only one transaction appends at a time.
pub(crate) const LAST_AUDIT: &str = "SELECT seq, chain FROM audit_events ORDER BY seq DESC LIMIT 1";

pub(crate) const INSERT_AUDIT: &str = "INSERT INTO audit_events \
     (seq, at, actor, role, mission, action, object, outcome, before_hash, after_hash, chain) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

/// Before/after hashes of the row an event changed.
#[derive(Debug, Default, Clone)]
pub(crate) struct RowHashes {
    pub before: Option<String>,
    pub after: Option<String>,
}

/// [`INSERT_AUDIT`] with `e` bound, as the event after `last`.
pub(crate) fn insert_audit<'a, DB>(
    last: Option<(i64, Option<String>)>,
    e: &'a AuditEvent,
    hashes: RowHashes,
) -> Result<sqlx::query::Query<'static, DB, DB::Arguments>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<&'a str>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let next = crate::audit_log::next_event(last, e, hashes.before.as_deref(), hashes.after.as_deref())?;
    Ok(sqlx::query(INSERT_AUDIT)
        .bind(next.seq)
        .bind(millis(e.at))
        .bind(e.actor.as_str())
        .bind(e.role.as_str())
        .bind(e.mission.as_deref())
        .bind(e.action.as_str())
        .bind(e.object.as_str())
        .bind(e.outcome.as_str())
        .bind(hashes.before)
        .bind(hashes.after)
        .bind(next.chain))
}

pub(crate) const SELECT_AUDIT: &str = "SELECT seq, at, actor, role, mission, action, object, outcome, \
     before_hash, after_hash, chain FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2";

pub(crate) const AUDIT_SIZE: &str = "SELECT COUNT(*) FROM audit_events";

/// Events written before the chain existed, oldest first (filled in once at migration).
pub(crate) const UNCHAINED_AUDIT: &str = "SELECT seq, at, actor, role, mission, action, object, outcome, \
     before_hash, after_hash, chain FROM audit_events WHERE chain IS NULL ORDER BY seq LIMIT 1000";
pub(crate) const CHAIN_BEFORE: &str = "SELECT chain FROM audit_events WHERE seq = $1";
pub(crate) const SET_CHAIN: &str = "UPDATE audit_events SET chain = $1 WHERE seq = $2 AND chain IS NULL";

pub(crate) const INSERT_CHECKPOINT: &str = "INSERT INTO audit_checkpoints (tree_size, root, note, at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size) DO NOTHING";
pub(crate) const SELECT_CHECKPOINTS: &str =
    "SELECT tree_size, root, note, at FROM audit_checkpoints ORDER BY tree_size";
pub(crate) const LATEST_CHECKPOINT: &str =
    "SELECT tree_size, root, note, at FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1";

// Data keys.
pub(crate) const SELECT_DATA_KEYS_OF: &str =
    "SELECT version, kek_version, wrapped FROM data_keys WHERE mission_id = $1 ORDER BY version";
pub(crate) const SELECT_ALL_DATA_KEYS: &str = "SELECT mission_id, version, kek_version, created_at, \
     destroyed_at FROM data_keys ORDER BY mission_id, version";
pub(crate) const MAX_DATA_KEY_VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM data_keys WHERE mission_id = $1";
/// A second process creating the same mission's key at the same moment loses quietly and
/// reads the winner's.
pub(crate) const INSERT_DATA_KEY: &str = "INSERT INTO data_keys \
     (mission_id, version, kek_version, wrapped, created_at, destroyed_at) VALUES ($1, $2, $3, $4, $5, NULL) \
     ON CONFLICT (mission_id, version) DO NOTHING";
pub(crate) const REWRAP_DATA_KEY: &str = "UPDATE data_keys SET wrapped = $1, kek_version = $2 \
     WHERE mission_id = $3 AND version = $4 AND kek_version = $5 AND wrapped IS NOT NULL";
pub(crate) const DESTROY_DATA_KEY: &str = "UPDATE data_keys SET wrapped = NULL, destroyed_at = $1 \
     WHERE mission_id = $2 AND version = $3 AND wrapped IS NOT NULL";

/// A batch of a mission's rows for re-encryption, by id.
pub(crate) const REENCRYPT_SCAN: &str = "SELECT id, reference, mission_id, state, version, details, \
     submitted_at, updated_at, policy_version, recommended_by, recommendation, flags \
     FROM applications WHERE mission_id = $1 AND id > $2 ORDER BY id LIMIT $3";
/// Rows written before encryption: their details are plaintext JSON, which names its fields.
pub(crate) const LEGACY_APPLICATIONS: &str = "SELECT id, reference, mission_id, state, version, details, \
     submitted_at, updated_at, policy_version, recommended_by, recommendation, flags \
     FROM applications WHERE details LIKE '%\"given_names\"%' ORDER BY id LIMIT 200";
pub(crate) const HISTORY_SEALED: &str =
    "SELECT seq, details FROM application_history WHERE application_id = $1 ORDER BY seq";
/// Compare-and-set on the sealed text: a row changed since it was read is left for the next pass.
pub(crate) const RESEAL_APPLICATION: &str =
    "UPDATE applications SET details = $1, flags = $2 WHERE id = $3 AND details = $4 AND flags = $5";
pub(crate) const RESEAL_HISTORY: &str =
    "UPDATE application_history SET details = $1 WHERE application_id = $2 AND seq = $3 AND details = $4";
/// Everything sealed under a mission's keys, for the check before old keys are destroyed.
pub(crate) const MISSION_APPLICATIONS_SEALED: &str = "SELECT details, flags FROM applications WHERE mission_id = $1";
pub(crate) const MISSION_HISTORY_SEALED: &str = "SELECT h.details FROM application_history h \
     JOIN applications a ON a.id = h.application_id WHERE a.mission_id = $1";

// Documents.
pub(crate) const INSERT_DOCUMENT: &str = "INSERT INTO documents \
     (id, application_id, kind, content_type, size, object_key, sealed_sha256, content_key, uploaded_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
/// A mission's sealed document keys, for the check before old data keys are destroyed.
pub(crate) const MISSION_DOCUMENT_KEYS: &str = "SELECT d.content_key FROM documents d \
     JOIN applications a ON a.id = d.application_id WHERE a.mission_id = $1";
pub(crate) const DOCUMENT_KEY_OF: &str = "SELECT content_key FROM documents WHERE id = $1";
pub(crate) const DOCUMENT_KEYS_OF_APPLICATION: &str =
    "SELECT id, content_key FROM documents WHERE application_id = $1 ORDER BY id";
/// Compare-and-set, like the other re-sealing updates.
pub(crate) const RESEAL_DOCUMENT_KEY: &str = "UPDATE documents SET content_key = $1 WHERE id = $2 AND content_key = $3";

pub(crate) const COUNT_RECENT_AUDIT: &str = "SELECT COUNT(*) FROM audit_events \
     WHERE object = $1 AND action = $2 AND outcome = $3 AND at >= $4";

pub(crate) const STATE_COUNTS: &str = "SELECT mission_id, state, COUNT(*) AS count FROM applications \
     GROUP BY mission_id, state ORDER BY mission_id, state";

pub(crate) const PING: &str = "SELECT 1";

// ---------------------------------------------------------------------------------------
// Scoped case queries. Built from fixed fragments; every value is a bound parameter.
// ---------------------------------------------------------------------------------------

/// SQL text with the text values to bind to `$1`, `$2`, … in order.
#[derive(Debug)]
pub(crate) struct Built {
    pub sql: String,
    pub binds: Vec<String>,
}

/// A query for `built` with its values bound, ready for more binds or to fetch.
pub(crate) fn query_as<DB, O>(built: &Built) -> sqlx::query::QueryAs<'static, DB, O, DB::Arguments>
where
    DB: sqlx::Database,
    O: for<'r> sqlx::FromRow<'r, DB::Row>,
    String: sqlx::Encode<'static, DB> + sqlx::Type<DB>,
{
    built.binds.iter().fold(sqlx::query_as(sqlx::AssertSqlSafe(built.sql.clone())), |q, b| q.bind(b.clone()))
}

/// A WHERE clause whose parameters are numbered in the order they are added.
struct Where {
    sql: String,
    binds: Vec<String>,
}

impl Where {
    fn new() -> Self {
        Self { sql: String::new(), binds: Vec::new() }
    }

    fn and(&mut self, condition: &str) {
        self.sql.push_str(if self.sql.is_empty() { " WHERE " } else { " AND " });
        self.sql.push_str(condition);
    }

    fn eq(&mut self, column: &str, value: String) {
        self.binds.push(value);
        let n = self.binds.len();
        self.and(&format!("{column} = ${n}"));
    }

    /// The scope rule, in SQL, so that nothing outside the scope is ever read.
    fn scope(&mut self, scope: &Scope) {
        match scope {
            Scope::All => {}
            Scope::Mission(m) => self.eq("mission_id", m.as_str().to_owned()),
            Scope::VettingHold => self.and("state = 'vetting_hold'"),
        }
    }
}

pub(crate) fn case_query(id: ApplicationId, scope: &Scope) -> Built {
    let mut w = Where::new();
    w.eq("id", id.to_string());
    w.scope(scope);
    Built { sql: format!("SELECT {APPLICATION_COLUMNS} FROM applications{}", w.sql), binds: w.binds }
}

/// A case's history with its mission (whose keys open the sealed details). The WHERE clause
/// names only columns of `applications`, which `application_history` does not share.
pub(crate) fn history_query(id: ApplicationId, scope: &Scope) -> Built {
    let mut w = Where::new();
    w.eq("id", id.to_string());
    w.scope(scope);
    Built {
        sql: format!(
            "SELECT h.seq, h.at, h.actor, h.actor_role, h.command, h.from_state, h.to_state, h.details, \
             h.policy_version, mission_id FROM application_history h \
             JOIN applications ON applications.id = h.application_id{} ORDER BY h.seq",
            w.sql
        ),
        binds: w.binds,
    }
}

const DOCUMENT_COLUMNS: &str = "applications.id AS application_id, applications.mission_id, d.id, d.kind, \
     d.content_type, d.size, d.object_key, d.sealed_sha256, d.uploaded_at";

/// A case's documents, or one of them. The case row comes back even when it has no
/// documents (its document columns NULL), so that "no documents" and "not in scope" differ.
/// The WHERE clause names the case's id qualified, since both tables have an `id`, and the
/// scope's columns (`mission_id`, `state`) exist only in `applications`.
pub(crate) fn documents_query(application: ApplicationId, document: Option<DocumentId>, scope: &Scope) -> Built {
    let mut w = Where::new();
    w.eq("applications.id", application.to_string());
    w.scope(scope);
    let (join, order) = match document {
        None => ("LEFT JOIN", " ORDER BY d.uploaded_at, d.id"),
        Some(id) => {
            w.eq("d.id", id.to_string());
            ("JOIN", "")
        }
    };
    Built {
        sql: format!(
            "SELECT {DOCUMENT_COLUMNS} FROM applications {join} documents d ON d.application_id = applications.id{}{order}",
            w.sql
        ),
        binds: w.binds,
    }
}

/// A page of a queue: the count query, the page query (whose last two parameters, after
/// `binds`, are the limit and the offset), and the clamped limit.
pub(crate) struct CasesQuery {
    pub count: Built,
    pub page: Built,
    pub limit: i64,
    pub offset: i64,
}

pub(crate) fn cases_query(scope: &Scope, query: &QueueQuery) -> CasesQuery {
    let mut w = Where::new();
    w.scope(scope);
    // Cases whose personal data was shredded have nothing left to work on.
    w.and("data_destroyed_at IS NULL");
    if let Some(s) = query.state {
        w.eq("state", s.as_str().to_owned());
    }
    if let Some(r) = &query.reference {
        w.eq("reference", r.as_str().to_owned());
    }
    if let Some(i) = &query.email_index {
        w.eq("email_index", i.clone());
    }
    if let Some(i) = &query.passport_index {
        w.eq("passport_index", i.clone());
    }
    // The id breaks ties so that pages neither repeat nor skip rows.
    let (order, column, beyond) = match query.sort {
        QueueSort::SubmittedAsc => ("submitted_at ASC, id ASC", "submitted_at", ">"),
        QueueSort::SubmittedDesc => ("submitted_at DESC, id DESC", "submitted_at", "<"),
        QueueSort::UpdatedDesc => ("updated_at DESC, id DESC", "updated_at", "<"),
    };
    if let Some((at, id)) = query.after {
        w.binds.push(millis(at).to_string());
        w.binds.push(id.to_string());
        let n = w.binds.len();
        let at = format!("CAST(${} AS BIGINT)", n - 1);
        w.and(&format!("({column} {beyond} {at} OR ({column} = {at} AND id {beyond} ${n}))"));
    }
    let n = w.binds.len();
    let mut page = format!("SELECT {APPLICATION_COLUMNS} FROM applications{} ORDER BY {order}", w.sql);
    write!(page, " LIMIT ${} OFFSET ${}", n + 1, n + 2).expect("writing to a String");
    CasesQuery {
        // Counting stops past `COUNT_LIMIT`: an exact count of a large queue would read all of it.
        count: Built {
            sql: format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM applications{} LIMIT {}) AS counted",
                w.sql,
                crate::COUNT_LIMIT + 1
            ),
            binds: w.binds.clone(),
        },
        page: Built { sql: page, binds: w.binds },
        limit: i64::from(query.limit.clamp(1, MAX_PAGE)),
        offset: i64::from(query.offset),
    }
}

/// A page of the audit log, newest first, for the filters of `query` (see [`crate::AuditQuery`]).
/// Prefixes are compared with `substr` on characters, which reads (and matches case) the same
/// in both dialects where `LIKE` would not; times and lengths are bound as text and cast.
pub(crate) fn audit_search_query(query: &crate::AuditQuery) -> CasesQuery {
    let mut w = Where::new();
    for (column, prefix) in [("action", &query.action), ("object", &query.object)] {
        if let Some(prefix) = prefix {
            w.binds.push(prefix.chars().count().to_string());
            w.binds.push(prefix.clone());
            let n = w.binds.len();
            w.and(&format!("substr({column}, 1, CAST(${} AS INTEGER)) = ${n}", n - 1));
        }
    }
    if let Some(actor) = &query.actor {
        w.eq("actor", actor.clone());
    }
    if let Some(outcome) = &query.outcome {
        w.eq("outcome", outcome.clone());
    }
    for (op, at) in [(">=", query.from), ("<", query.until)] {
        if let Some(at) = at {
            w.binds.push(millis(at).to_string());
            let n = w.binds.len();
            w.and(&format!("at {op} CAST(${n} AS BIGINT)"));
        }
    }
    let n = w.binds.len();
    let mut page = format!(
        "SELECT seq, at, actor, role, mission, action, object, outcome, before_hash, after_hash, chain \
         FROM audit_events{} ORDER BY seq DESC",
        w.sql
    );
    write!(page, " LIMIT ${} OFFSET ${}", n + 1, n + 2).expect("writing to a String");
    CasesQuery {
        count: Built { sql: format!("SELECT COUNT(*) FROM audit_events{}", w.sql), binds: w.binds.clone() },
        page: Built { sql: page, binds: w.binds },
        limit: i64::from(query.limit.clamp(1, MAX_PAGE)),
        offset: i64::from(query.offset),
    }
}

// ---------------------------------------------------------------------------------------
// Rows. `FromRow` is derived generically, so each shape decodes in either backend.
// ---------------------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
pub(crate) struct MissionRow {
    id: String,
    name: String,
    country: String,
    covers: String,
    regional: bool,
}

impl MissionRow {
    pub(crate) fn into_mission(self) -> Result<Mission> {
        Ok(Mission {
            id: mission_id(&self.id, "missions.id")?,
            name: self.name,
            country: CountryCode::parse(&self.country)
                .ok_or_else(|| corrupt("missions.country", "is not a country"))?,
            covers: from_json(&self.covers, "missions.covers")?,
            regional: self.regional,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct StaffRow {
    id: String,
    username: String,
    display_name: String,
    password_hash: String,
    role: String,
    mission_id: Option<String>,
    disabled: bool,
    created_at: i64,
}

impl StaffRow {
    pub(crate) fn into_record(self) -> Result<StaffRecord> {
        Ok(StaffRecord {
            id: uuid_id(&self.id, StaffId::parse, "staff.id")?,
            username: Username::parse(&self.username).map_err(|_| corrupt("staff.username", "is not a username"))?,
            display_name: self.display_name,
            password_hash: self.password_hash,
            role: Role::parse(&self.role).ok_or_else(|| corrupt("staff.role", "is not a role"))?,
            mission: self.mission_id.as_deref().map(|m| mission_id(m, "staff.mission_id")).transpose()?,
            disabled: self.disabled,
            created_at: time(self.created_at, "staff.created_at")?,
        })
    }
}

#[derive(sqlx::FromRow, Clone)]
pub(crate) struct ApplicationRow {
    pub id: String,
    reference: String,
    pub mission_id: String,
    state: String,
    version: i64,
    /// Sealed (see `crypto`).
    pub details: String,
    submitted_at: i64,
    updated_at: i64,
    policy_version: String,
    recommended_by: Option<String>,
    recommendation: Option<String>,
    /// Sealed (see `crypto`).
    pub flags: String,
}

impl ApplicationRow {
    /// The row `INSERT_APPLICATION` (or `insert_many`) writes for a new submission, with its
    /// sealed details and flags: what reading it back would give.
    pub(crate) fn submitted(id: &str, app: &crate::NewApplication, details: &str, flags: &str) -> Self {
        let at = millis(app.submitted_at);
        Self {
            id: id.to_owned(),
            reference: app.reference.as_str().to_owned(),
            mission_id: app.mission.as_str().to_owned(),
            state: "submitted".to_owned(),
            version: 1,
            details: details.to_owned(),
            submitted_at: at,
            updated_at: at,
            policy_version: app.policy_version.clone(),
            recommended_by: None,
            recommendation: None,
            flags: flags.to_owned(),
        }
    }

    /// The row [`UPDATE_TRANSITIONS`] leaves: this one moved to `to` at `at` (millis) under
    /// `policy_version`, with the recommendation given and, when `flags` is sealed anew, those.
    pub(crate) fn transitioned(
        &self,
        to: &str,
        at: i64,
        policy_version: &str,
        recommendation: (Option<String>, Option<&str>),
        flags: Option<&str>,
    ) -> Self {
        Self {
            state: to.to_owned(),
            version: self.version + 1,
            updated_at: at,
            policy_version: policy_version.to_owned(),
            recommended_by: recommendation.0,
            recommendation: recommendation.1.map(str::to_owned),
            flags: flags.map_or_else(|| self.flags.clone(), str::to_owned),
            ..self.clone()
        }
    }

    /// The row's version.
    pub(crate) fn version(&self) -> i64 {
        self.version
    }

    /// Whether the row is at `version` in `state`: what a transition decided on.
    pub(crate) fn is_at(&self, version: i64, state: &str) -> bool {
        self.version == version && self.state == state
    }

    /// The row's hash for the audit log: every column as stored, ciphertext and all.
    pub(crate) fn hash(&self) -> String {
        crate::crypto::row_hash(&[
            self.id.as_bytes(),
            self.reference.as_bytes(),
            self.mission_id.as_bytes(),
            self.state.as_bytes(),
            &self.version.to_be_bytes(),
            self.details.as_bytes(),
            &self.submitted_at.to_be_bytes(),
            &self.updated_at.to_be_bytes(),
            self.policy_version.as_bytes(),
            self.recommended_by.as_deref().unwrap_or("").as_bytes(),
            self.recommendation.as_deref().unwrap_or("").as_bytes(),
            self.flags.as_bytes(),
        ])
    }

    /// When it was submitted.
    pub(crate) fn submitted_at_of(&self) -> Result<DateTime<Utc>> {
        time(self.submitted_at, "applications.submitted_at")
    }

    /// The record, given the opened details and flags.
    pub(crate) fn into_record(self, details: ApplicantDetails, flags: Vec<Flag>) -> Result<ApplicationRecord> {
        Ok(ApplicationRecord {
            id: uuid_id(&self.id, ApplicationId::parse, "applications.id")?,
            reference: reference(&self.reference)?,
            mission: mission_id(&self.mission_id, "applications.mission_id")?,
            state: state(&self.state, "applications.state")?,
            version: self.version,
            details,
            submitted_at: time(self.submitted_at, "applications.submitted_at")?,
            updated_at: time(self.updated_at, "applications.updated_at")?,
            policy_version: self.policy_version,
            recommended_by: self
                .recommended_by
                .as_deref()
                .map(|s| uuid_id(s, StaffId::parse, "applications.recommended_by"))
                .transpose()?,
            recommendation: self
                .recommendation
                .as_deref()
                .map(|r| {
                    Recommendation::parse(r)
                        .ok_or_else(|| corrupt("applications.recommendation", "is not a recommendation"))
                })
                .transpose()?,
            flags,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct HistoryRow {
    pub seq: i64,
    at: i64,
    actor: String,
    actor_role: String,
    command: String,
    from_state: String,
    to_state: String,
    /// Sealed (see `crypto`).
    pub details: String,
    policy_version: String,
    pub mission_id: String,
}

impl HistoryRow {
    /// The entry, given the opened details.
    pub(crate) fn into_entry(self, details: serde_json::Value) -> Result<HistoryEntry> {
        Ok(HistoryEntry {
            seq: self.seq,
            at: time(self.at, "application_history.at")?,
            actor: self.actor,
            actor_role: self.actor_role,
            command: self.command,
            from_state: state(&self.from_state, "application_history.from_state")?,
            to_state: state(&self.to_state, "application_history.to_state")?,
            details,
            policy_version: self.policy_version,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PassportMatchRow {
    id: String,
    reference: String,
    mission_id: String,
    state: String,
}

impl PassportMatchRow {
    pub(crate) fn into_match(self) -> Result<PassportMatch> {
        Ok(PassportMatch {
            id: uuid_id(&self.id, ApplicationId::parse, "applications.id")?,
            reference: reference(&self.reference)?,
            mission: mission_id(&self.mission_id, "applications.mission_id")?,
            state: state(&self.state, "applications.state")?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    seq: i64,
    at: i64,
    actor: String,
    role: String,
    mission: Option<String>,
    action: String,
    object: String,
    outcome: String,
    before_hash: Option<String>,
    after_hash: Option<String>,
    chain: Option<String>,
}

impl AuditRow {
    pub(crate) fn into_event(self) -> Result<StoredAuditEvent> {
        Ok(StoredAuditEvent {
            seq: self.seq,
            event: AuditEvent {
                at: time(self.at, "audit_events.at")?,
                actor: self.actor,
                role: self.role,
                mission: self.mission,
                action: self.action,
                object: self.object,
                outcome: self.outcome,
            },
            before_hash: self.before_hash,
            after_hash: self.after_hash,
            chain: self.chain,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CheckpointRow {
    tree_size: i64,
    root: String,
    note: String,
    at: i64,
}

impl CheckpointRow {
    pub(crate) fn into_checkpoint(self) -> Result<crate::StoredCheckpoint> {
        Ok(crate::StoredCheckpoint {
            tree_size: self.tree_size,
            root: self.root,
            note: self.note,
            at: time(self.at, "audit_checkpoints.at")?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DataKeyInfoRow {
    mission_id: String,
    version: i64,
    kek_version: i64,
    created_at: i64,
    destroyed_at: Option<i64>,
}

impl DataKeyInfoRow {
    pub(crate) fn into_info(self) -> Result<crate::DataKeyInfo> {
        Ok(crate::DataKeyInfo {
            mission: self.mission_id,
            version: self.version,
            kek_version: self.kek_version,
            created_at: time(self.created_at, "data_keys.created_at")?,
            destroyed_at: self.destroyed_at.map(|t| time(t, "data_keys.destroyed_at")).transpose()?,
        })
    }
}

/// A case with one of its documents, or with none (every `d.` column NULL).
#[derive(sqlx::FromRow)]
pub(crate) struct DocumentRow {
    application_id: String,
    mission_id: String,
    id: Option<String>,
    kind: Option<String>,
    content_type: Option<String>,
    size: Option<i64>,
    object_key: Option<String>,
    sealed_sha256: Option<String>,
    uploaded_at: Option<i64>,
}

impl DocumentRow {
    /// The document, or `None` for the row of a case without documents.
    pub(crate) fn into_record(self) -> Result<Option<DocumentRecord>> {
        let Some(id) = self.id else { return Ok(None) };
        let missing = || corrupt("documents", "has a NULL column");
        Ok(Some(DocumentRecord {
            id: uuid_id(&id, DocumentId::parse, "documents.id")?,
            application: application_id(&self.application_id)?,
            mission: mission_id(&self.mission_id, "applications.mission_id")?,
            kind: DocumentKind::parse(self.kind.as_deref().ok_or_else(missing)?)
                .ok_or_else(|| corrupt("documents.kind", "is not a document kind"))?,
            content_type: DocumentType::parse(self.content_type.as_deref().ok_or_else(missing)?)
                .ok_or_else(|| corrupt("documents.content_type", "is not an accepted type"))?,
            size: u64::try_from(self.size.ok_or_else(missing)?)
                .map_err(|_| corrupt("documents.size", "is negative"))?,
            object_key: self.object_key.ok_or_else(missing)?,
            sealed_sha256: self.sealed_sha256.ok_or_else(missing)?,
            uploaded_at: time(self.uploaded_at.ok_or_else(missing)?, "documents.uploaded_at")?,
        }))
    }
}

/// The hash of a document row as inserted, for its audit event.
pub(crate) fn document_hash(d: &NewDocument) -> String {
    crate::crypto::row_hash(&[
        d.id.to_string().as_bytes(),
        d.application.to_string().as_bytes(),
        d.kind.as_str().as_bytes(),
        d.content_type.mime().as_bytes(),
        &d.size.to_be_bytes(),
        d.object_key.as_bytes(),
        d.sealed_sha256.as_bytes(),
        d.content_key.0.as_bytes(),
        &millis(d.uploaded_at).to_be_bytes(),
    ])
}

#[derive(sqlx::FromRow)]
pub(crate) struct StateCountRow {
    mission_id: String,
    state: String,
    count: i64,
}

impl StateCountRow {
    pub(crate) fn into_count(self) -> Result<StateCount> {
        Ok(StateCount {
            mission: mission_id(&self.mission_id, "applications.mission_id")?,
            state: state(&self.state, "applications.state")?,
            count: self.count,
        })
    }
}

pub(crate) fn collect<R, T>(rows: Vec<R>, convert: fn(R) -> Result<T>) -> Result<Vec<T>> {
    rows.into_iter().map(convert).collect()
}

/// Errors that do not come from the database itself. Their texts carry no bound values.
pub(crate) fn client_error(e: &sqlx::Error) -> StoreError {
    use sqlx::Error as E;
    match e {
        E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => {
            StoreError::Unavailable(e.to_string())
        }
        E::Configuration(_) => StoreError::Config(e.to_string()),
        _ => StoreError::Internal(e.to_string()),
    }
}

/// Applies migrations, turning sqlx's errors into ours with `map` for database errors.
pub(crate) fn migrate_error(e: sqlx::migrate::MigrateError, map: fn(sqlx::Error) -> StoreError) -> StoreError {
    use sqlx::migrate::MigrateError as M;
    match e {
        M::Execute(e) => map(e),
        M::ExecuteMigration(e, version) => match map(e) {
            StoreError::Internal(text) => StoreError::Internal(format!("migration {version}: {text}")),
            other => other,
        },
        M::VersionMissing(_) => StoreError::Config(format!("{e}; this database was written by a newer Legion")),
        other => StoreError::Internal(other.to_string()),
    }
}

// ---------------------------------------------------------------------------------------
// The `Store` methods that read the same in both dialects.
// ---------------------------------------------------------------------------------------

/// Implements `Store` for a backend: the methods given, then every other method, which runs
/// the SQL above the same way in both dialects. The bodies are one macro rather than generic
/// functions because sqlx's bounds for "any database that can bind these values and decode
/// these rows through a pool and a transaction" would outweigh the bodies themselves.
///
/// Where the dialects differ, the expansion calls on what the backend's module defines:
/// - `self.reader()`: the pool that plain reads go to;
/// - `self.begin()`: a write transaction, already mapped to `StoreError`;
/// - `self.snapshot()`: a read transaction in which every statement sees the same data;
/// - `append(&mut tx, &audit)`: appends an audit event as the last write of `tx`;
/// - `store_error`: turns the dialect's `sqlx::Error`s into `StoreError`s.
///
/// Every write transaction ends with `append` and then commits, so that a change and its
/// audit event are written together or not at all.
macro_rules! impl_store {
    (impl Store for $store:ident { $($own:tt)* }) => {
        // A block, so the names the common methods use need not be imported by the backend.
        const _: () = {
            use chrono::{DateTime, Utc};
            use legion_domain::{ApplicationId, Mission, Reference, StaffId, Username};

            use std::sync::Arc;

            use legion_domain::MissionId;
            use legion_domain::screening::Flag;

            use $crate::crypto::{self, OpenError, Ring};
            use $crate::shared::{self as sql, query_as};
            use $crate::{
                ApplicationRecord, AuditEvent, CheckpointOutcome, DataKeyInfo, DocumentRecord, HistoryEntry,
                NewApplication, NewDocument, NewStaff, Page, PassportMatch, QueueQuery, ReencryptBatch, Result, Scope,
                SealedDocument, StaffRecord, StateCount, Store, StoreError, StoredAuditEvent, StoredCheckpoint,
                TransitionWrite,
            };
            use legion_domain::DocumentId;

            fn system_event(at: DateTime<Utc>, mission: &str, action: &str, object: String) -> AuditEvent {
                AuditEvent {
                    at,
                    actor: "system".into(),
                    role: "system".into(),
                    mission: Some(mission.to_owned()),
                    action: action.into(),
                    object,
                    outcome: "ok".into(),
                }
            }

            /// Whether `ring`'s current key is still live, checked inside the writing transaction:
            /// a key destroyed since this process cached it must not seal anything new.
            async fn key_is_live(tx: &mut sqlx::Transaction<'static, Db>, mission: &str, ring: &Ring) -> Result<bool> {
                version_is_live(tx, mission, ring.keyring.current().version().0).await
            }

            /// The missions of `rings` whose current key is no longer live, checked in one
            /// statement inside the writing transaction (see [`key_is_live`]).
            async fn stale_keys(
                tx: &mut sqlx::Transaction<'static, Db>,
                rings: &std::collections::BTreeMap<String, Arc<Ring>>,
            ) -> Result<Vec<String>> {
                let mut stale = Vec::new();
                let wanted: Vec<(&String, i64)> =
                    rings.iter().map(|(m, r)| (m, i64::from(r.keyring.current().version().0))).collect();
                for chunk in wanted.chunks(sql::ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(
                        "SELECT mission_id, version FROM data_keys WHERE wrapped IS NOT NULL AND (mission_id, version) IN (",
                    );
                    let mut list = q.separated(", ");
                    for (mission, version) in chunk {
                        list.push("(");
                        list.push_bind_unseparated((*mission).clone());
                        list.push_unseparated(", ");
                        list.push_bind_unseparated(*version);
                        list.push_unseparated(")");
                    }
                    q.push(")");
                    q.push(KEYS_LIVE_LOCK);
                    let live: std::collections::HashSet<(String, i64)> =
                        q.build_query_as().fetch_all(&mut **tx).await.map_err(store_error)?.into_iter().collect();
                    stale.extend(
                        chunk.iter().filter(|(m, v)| !live.contains(&((*m).clone(), *v))).map(|(m, _)| (*m).clone()),
                    );
                }
                Ok(stale)
            }

            async fn version_is_live(tx: &mut sqlx::Transaction<'static, Db>, mission: &str, version: u32) -> Result<bool> {
                let live: Option<i64> = sqlx::query_scalar(KEY_LIVE)
                    .bind(mission)
                    .bind(i64::from(version))
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(store_error)?;
                Ok(live.is_some())
            }

            /// Seals a row's details and flags again under `ring`'s current key, unless the row
            /// changed since it was read (compare-and-set on the sealed text); returns 1 or 0.
            async fn reseal_application(
                tx: &mut sqlx::Transaction<'static, Db>,
                ring: &Ring,
                row: &sql::ApplicationRow,
                details: &legion_domain::ApplicantDetails,
                flags: &[Flag],
            ) -> Result<u64> {
                Ok(sqlx::query(sql::RESEAL_APPLICATION)
                    .bind(crypto::seal_details(ring, &row.id, details)?)
                    .bind(crypto::seal_json(ring, crypto::FLAGS, &row.id, flags)?)
                    .bind(&row.id)
                    .bind(&row.details)
                    .bind(&row.flags)
                    .execute(&mut **tx)
                    .await
                    .map_err(store_error)?
                    .rows_affected())
            }

            /// A case's row as the transaction sees it now.
            async fn row_now(tx: &mut sqlx::Transaction<'static, Db>, id: &str) -> Result<sql::ApplicationRow> {
                sqlx::query_as(sql::SELECT_APPLICATION_BY_ID).bind(id).fetch_one(&mut **tx).await.map_err(store_error)
            }

            /// A submission sealed for [`insert_many`]: its details, empty flags and first
            /// history entry, each under its mission's current key.
            struct Sealed<'a> {
                id: String,
                app: &'a NewApplication,
                audit: &'a AuditEvent,
                details: String,
                flags: String,
                first: String,
            }

            /// Seals every submission of `batch` whose mission has a ring (the others are
            /// `NotFound`): done before the writing transaction begins, so that the write
            /// lock is not held while the cipher runs.
            fn seal_batch<'a>(
                rings: &std::collections::BTreeMap<String, Arc<Ring>>,
                batch: &'a [(NewApplication, AuditEvent)],
            ) -> Result<(Vec<Result<()>>, Vec<Sealed<'a>>)> {
                let mut results = Vec::with_capacity(batch.len());
                let mut sealed = Vec::with_capacity(batch.len());
                for (app, audit) in batch {
                    let Some(ring) = rings.get(app.mission.as_str()) else {
                        results.push(Err(StoreError::NotFound));
                        continue;
                    };
                    results.push(Ok(()));
                    let id = app.id.to_string();
                    sealed.push(Sealed {
                        details: crypto::seal_details(ring, &id, &app.details)?,
                        flags: crypto::seal_json(ring, crypto::FLAGS, &id, &[] as &[Flag])?,
                        first: crypto::seal_json(
                            ring,
                            crypto::HISTORY_DETAILS,
                            &format!("{id}/1"),
                            &serde_json::Value::Object(serde_json::Map::new()),
                        )?,
                        id,
                        app,
                        audit,
                    });
                }
                Ok((results, sealed))
            }

            /// Audit events appended in order, chained, in a few multi-row statements.
            async fn append_many(tx: &mut sqlx::Transaction<'static, Db>, events: &[(&AuditEvent, sql::RowHashes)]) -> Result<()> {
                if events.is_empty() {
                    return Ok(());
                }
                if let Some(lock) = LOCK_AUDIT {
                    sqlx::query(lock).execute(&mut **tx).await.map_err(store_error)?;
                }
                let mut last: Option<(i64, Option<String>)> =
                    sqlx::query_as(sql::LAST_AUDIT).fetch_optional(&mut **tx).await.map_err(store_error)?;
                let mut chained = Vec::with_capacity(events.len());
                for (e, hashes) in events {
                    let next = crate::audit_log::next_event(last.take(), e, hashes.before.as_deref(), hashes.after.as_deref())?;
                    last = Some((next.seq, Some(next.chain.clone())));
                    chained.push((e, hashes, next));
                }
                for chunk in chained.chunks(sql::ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(sql::INSERT_AUDITS);
                    q.push_values(chunk, |mut row, (e, hashes, next)| {
                        row.push_bind(next.seq)
                            .push_bind(sql::millis(e.at))
                            .push_bind(e.actor.clone())
                            .push_bind(e.role.clone())
                            .push_bind(e.mission.clone())
                            .push_bind(e.action.clone())
                            .push_bind(e.object.clone())
                            .push_bind(e.outcome.clone())
                            .push_bind(hashes.before.clone())
                            .push_bind(hashes.after.clone())
                            .push_bind(next.chain.clone());
                    });
                    q.build().execute(&mut **tx).await.map_err(store_error)?;
                }
                Ok(())
            }

            /// Sealed submissions ([`seal_batch`]) in a few multi-row statements, with their
            /// audit events chained in order. Fails as a whole on a taken reference or
            /// idempotency key.
            async fn insert_many(tx: &mut sqlx::Transaction<'static, Db>, sealed: &[Sealed<'_>]) -> Result<()> {
                for chunk in sealed.chunks(sql::ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(sql::INSERT_APPLICATIONS);
                    q.push_values(chunk, |mut row, s| {
                        let at = sql::millis(s.app.submitted_at);
                        row.push_bind(s.id.clone())
                            .push_bind(s.app.reference.as_str().to_owned())
                            .push_bind(s.app.mission.as_str().to_owned())
                            .push_bind("submitted")
                            .push_bind(1_i64)
                            .push_bind(s.app.access_hash.clone())
                            .push_bind(s.app.passport_index.clone())
                            .push_bind(s.details.clone())
                            .push_bind(at)
                            .push_bind(at)
                            .push_bind(s.app.policy_version.clone())
                            .push_bind(s.flags.clone())
                            .push_bind(s.app.email_index.clone());
                    });
                    q.build().execute(&mut **tx).await.map_err(store_error)?;
                    let mut q = sqlx::QueryBuilder::<Db>::new(sql::INSERT_FIRST_HISTORIES);
                    q.push_values(chunk, |mut row, s| {
                        row.push_bind(s.id.clone())
                            .push_bind(1_i64)
                            .push_bind(sql::millis(s.app.submitted_at))
                            .push_bind("applicant")
                            .push_bind("applicant")
                            .push_bind("submit")
                            .push_bind("submitted")
                            .push_bind("submitted")
                            .push_bind(s.first.clone())
                            .push_bind(s.app.policy_version.clone());
                    });
                    q.build().execute(&mut **tx).await.map_err(store_error)?;
                }
                // Keys in one order on every server, so that two batches holding the same keys
                // wait for each other (the second then fails on the taken key) but never in a
                // cycle; and before the audit lock, which a key's holder may be waiting for.
                let mut keyed: Vec<_> = sealed.iter().filter_map(|s| s.app.idempotency.as_ref().map(|k| (s, k))).collect();
                keyed.sort_by(|a, b| a.1.key_hash.cmp(&b.1.key_hash));
                for chunk in keyed.chunks(sql::ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(sql::INSERT_IDEMPOTENCY_KEYS);
                    q.push_values(chunk, |mut row, (s, k)| {
                        row.push_bind(k.key_hash.clone())
                            .push_bind(k.request_hash.clone())
                            .push_bind(s.id.clone())
                            .push_bind(sql::millis(s.app.submitted_at));
                    });
                    q.build().execute(&mut **tx).await.map_err(store_error)?;
                }
                let events: Vec<(&AuditEvent, sql::RowHashes)> = sealed
                    .iter()
                    .map(|s| {
                        let after = sql::ApplicationRow::submitted(&s.id, s.app, &s.details, &s.flags).hash();
                        (s.audit, sql::RowHashes { before: None, after: Some(after) })
                    })
                    .collect();
                append_many(tx, &events).await?;
                // Development builds check that the audited hash is the row as stored.
                #[cfg(debug_assertions)]
                if let Some(s) = sealed.first() {
                    let stored = row_now(tx, &s.id).await?.hash();
                    let written = sql::ApplicationRow::submitted(&s.id, s.app, &s.details, &s.flags).hash();
                    assert_eq!(stored, written, "the audited row hash must be the stored row's");
                }
                Ok(())
            }

            /// One submission's rows (application, first history entry, idempotency key), written
            /// in `tx` under `ring`'s current key; returns the hashes its audit event records,
            /// which the caller appends once every row of its batch is written.
            async fn insert_one(
                tx: &mut sqlx::Transaction<'static, Db>,
                ring: &Ring,
                app: &NewApplication,
            ) -> Result<sql::RowHashes> {
                let id = app.id.to_string();
                let details = crypto::seal_details(ring, &id, &app.details)?;
                let flags = crypto::seal_json(ring, crypto::FLAGS, &id, &[] as &[Flag])?;
                let first = crypto::seal_json(
                    ring,
                    crypto::HISTORY_DETAILS,
                    &format!("{id}/1"),
                    &serde_json::Value::Object(serde_json::Map::new()),
                )?;
                sqlx::query(sql::INSERT_APPLICATION)
                    .bind(&id)
                    .bind(app.reference.as_str())
                    .bind(app.mission.as_str())
                    .bind(&app.access_hash)
                    .bind(&app.passport_index)
                    .bind(details)
                    .bind(sql::millis(app.submitted_at))
                    .bind(&app.policy_version)
                    .bind(flags)
                    .bind(&app.email_index)
                    .execute(&mut **tx)
                    .await
                    .map_err(store_error)?;
                sqlx::query(sql::INSERT_FIRST_HISTORY)
                    .bind(&id)
                    .bind(sql::millis(app.submitted_at))
                    .bind(&app.policy_version)
                    .bind(first)
                    .execute(&mut **tx)
                    .await
                    .map_err(store_error)?;
                if let Some(key) = &app.idempotency {
                    sqlx::query(sql::INSERT_IDEMPOTENCY_KEY)
                        .bind(&key.key_hash)
                        .bind(&key.request_hash)
                        .bind(&id)
                        .bind(sql::millis(app.submitted_at))
                        .execute(&mut **tx)
                        .await
                        .map_err(store_error)?;
                }
                let after = row_now(tx, &id).await?;
                Ok(sql::RowHashes { before: None, after: Some(after.hash()) })
            }

            /// One transition of one case and its audit event, in `tx`: the row is read with
            /// `select` (which may lock it, or skip it when another transaction holds it: then
            /// `Conflict`), changed if it still has the expected version, and given its next
            /// history entry.
            async fn transition_one(
                tx: &mut sqlx::Transaction<'static, Db>,
                ring: &Ring,
                select: &'static str,
                write: &TransitionWrite<'_>,
                audit: &AuditEvent,
            ) -> Result<i64> {
                let t = write.transition;
                let id = write.id.to_string();
                let flags = write.flags.map(|f| crypto::seal_json(ring, crypto::FLAGS, &id, f)).transpose()?;
                let before: Option<sql::ApplicationRow> =
                    sqlx::query_as(select).bind(&id).fetch_optional(&mut **tx).await.map_err(store_error)?;
                let Some(before) = before else {
                    let exists: i64 = sqlx::query_scalar(sql::APPLICATION_EXISTS)
                        .bind(&id)
                        .fetch_one(&mut **tx)
                        .await
                        .map_err(store_error)?;
                    // Held by another transaction (a claim that skips locked rows), or gone.
                    return Err(if exists > 0 { StoreError::Conflict } else { StoreError::NotFound });
                };
                let version: Option<i64> = sqlx::query_scalar(sql::UPDATE_FOR_TRANSITION)
                    .bind(t.to.as_str())
                    .bind(sql::millis(write.at))
                    .bind(&t.policy_version)
                    .bind(t.recommendation.map(|(by, _)| by.to_string()))
                    .bind(t.recommendation.map(|(_, r)| r.as_str()))
                    .bind(flags)
                    .bind(&id)
                    .bind(write.expected_version)
                    .bind(t.from.as_str())
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(store_error)?;
                let Some(version) = version else { return Err(StoreError::Conflict) };
                let seq: i64 =
                    sqlx::query_scalar(sql::NEXT_HISTORY_SEQ).bind(&id).fetch_one(&mut **tx).await.map_err(store_error)?;
                let details = crypto::seal_json(ring, crypto::HISTORY_DETAILS, &format!("{id}/{seq}"), &t.details)?;
                sqlx::query(sql::INSERT_NEXT_HISTORY)
                    .bind(&id)
                    .bind(sql::millis(write.at))
                    .bind(write.actor.audit_id())
                    .bind(write.actor.audit_role())
                    .bind(t.command)
                    .bind(t.from.as_str())
                    .bind(t.to.as_str())
                    .bind(details)
                    .bind(&t.policy_version)
                    .bind(seq)
                    .execute(&mut **tx)
                    .await
                    .map_err(store_error)?;
                // A reissue revokes the authorisation it replaces, as revoking the case does.
                let replaces = write.credential.is_some() && t.from == legion_domain::State::Authorised;
                if t.to == legion_domain::State::Revoked || replaces {
                    let seq: i64 =
                        sqlx::query_scalar(sql::NEXT_REVOCATION_SEQ).fetch_one(&mut **tx).await.map_err(store_error)?;
                    sqlx::query(sql::REVOKE_CREDENTIALS)
                        .bind(sql::millis(write.at))
                        .bind(seq)
                        .bind(&id)
                        .execute(&mut **tx)
                        .await
                        .map_err(store_error)?;
                }
                if let Some(c) = write.credential {
                    sqlx::query(sql::INSERT_CREDENTIAL)
                        .bind(c.id.to_string())
                        .bind(&id)
                        .bind(&before.mission_id)
                        .bind(&c.kid)
                        .bind(sql::millis(c.issued_at))
                        .bind(sql::millis(c.not_before))
                        .bind(sql::millis(c.expires_at))
                        .execute(&mut **tx)
                        .await
                        .map_err(store_error)?;
                }
                match t.to {
                    legion_domain::State::CrossedBorder => {
                        let credential = t.details.get("credential").and_then(serde_json::Value::as_str);
                        let point = t.details.get("point").and_then(serde_json::Value::as_str);
                        let (Some(credential), Some(point)) = (credential, point) else {
                            return Err(StoreError::Internal("a crossing names its credential and point".into()));
                        };
                        let done = sqlx::query(sql::RECORD_CROSSING)
                            .bind(sql::millis(write.at))
                            .bind(point)
                            .bind(write.actor.audit_id())
                            .bind(credential)
                            .bind(&id)
                            .execute(&mut **tx)
                            .await
                            .map_err(store_error)?;
                        if done.rows_affected() == 0 {
                            return Err(StoreError::Conflict);
                        }
                    }
                    _ => {}
                }
                if let Some(keys) = write.screening_keys {
                    write_screening_keys(tx, &[(id.clone(), keys)]).await?;
                }
                let after = row_now(tx, &id).await?;
                let hashes = sql::RowHashes { before: Some(before.hash()), after: Some(after.hash()) };
                append(tx, audit, hashes).await?;
                Ok(version)
            }

            /// Whether a write changes only its case's row, history and the log (no
            /// authorisation issued or revoked, no crossing): what [`claim_many`] writes.
            fn is_plain(write: &TransitionWrite<'_>) -> bool {
                write.credential.is_none()
                    && !matches!(write.transition.to, legion_domain::State::Revoked | legion_domain::State::CrossedBorder)
            }

            /// The keys a batch's write seals under: `NotFound` when its case was not found,
            /// `Shredded` when its mission's keys are destroyed.
            fn ring_of<'r>(
                rings: &'r std::collections::BTreeMap<String, Arc<Ring>>,
                mission: Option<&String>,
            ) -> Result<&'r Arc<Ring>> {
                rings.get(mission.ok_or(StoreError::NotFound)?).ok_or(StoreError::Shredded)
            }

            /// Each case's blind screening keys, in place of those it had.
            async fn write_screening_keys(tx: &mut sqlx::Transaction<'static, Db>, keys: &[(String, &[i64])]) -> Result<()> {
                for chunk in keys.chunks(sql::ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("DELETE FROM screening_keys WHERE application_id IN (");
                    let mut ids = q.separated(", ");
                    for (id, _) in chunk {
                        ids.push_bind(id.clone());
                    }
                    q.push(")");
                    q.build().execute(&mut **tx).await.map_err(store_error)?;
                }
                let mut rows: Vec<(i64, &str)> =
                    keys.iter().flat_map(|(id, ks)| ks.iter().map(move |k| (*k, id.as_str()))).collect();
                // One order for every writer, and each pair once.
                rows.sort_unstable();
                rows.dedup();
                for chunk in rows.chunks(sql::ROWS_PER_STATEMENT * 4) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO screening_keys (key, application_id) ");
                    q.push_values(chunk, |mut row, (key, id)| {
                        row.push_bind(*key).push_bind((*id).to_owned());
                    });
                    q.push(" ON CONFLICT DO NOTHING");
                    q.build().execute(&mut **tx).await.map_err(store_error)?;
                }
                Ok(())
            }

            /// One write of [`claim_many`] that goes ahead: its row as read and as it will be.
            struct Change<'w> {
                id: &'w str,
                write: &'w TransitionWrite<'w>,
                audit: &'w AuditEvent,
                ring: &'w Ring,
                flags: Option<String>,
                before: &'w sql::ApplicationRow,
                after: sql::ApplicationRow,
            }

            /// Background work's plain transitions ([`is_plain`], each case once) in a few
            /// multi-row statements rather than several statements per case: the rows claimed
            /// (skipping any another transaction holds), checked, updated, their history and
            /// audit events appended. Answers as [`transition_one`] would for each.
            async fn claim_many(
                tx: &mut sqlx::Transaction<'static, Db>,
                rings: &std::collections::BTreeMap<String, Arc<Ring>>,
                missions: &[Option<String>],
                batch: &[(TransitionWrite<'_>, AuditEvent)],
            ) -> Result<Vec<Result<i64>>> {
                let ids: Vec<String> = batch.iter().map(|(w, _)| w.id.to_string()).collect();
                let mut before: std::collections::HashMap<String, sql::ApplicationRow> =
                    std::collections::HashMap::with_capacity(batch.len());
                for chunk in ids.chunks(sql::ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(sql::SELECT_APPLICATIONS_IN);
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(id.clone());
                    }
                    q.push(")");
                    q.push(CLAIM_LOCK);
                    let rows: Vec<sql::ApplicationRow> = q.build_query_as().fetch_all(&mut **tx).await.map_err(store_error)?;
                    before.extend(rows.into_iter().map(|r| (r.id.clone(), r)));
                }
                // Not read: held by another transaction, or gone.
                let mut exists = std::collections::HashSet::new();
                let unread: Vec<&String> = ids.iter().filter(|id| !before.contains_key(*id)).collect();
                for chunk in unread.chunks(sql::ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("SELECT id FROM applications WHERE id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind((*id).clone());
                    }
                    q.push(")");
                    let found: Vec<String> = q.build_query_scalar().fetch_all(&mut **tx).await.map_err(store_error)?;
                    exists.extend(found);
                }
                let mut results = Vec::with_capacity(batch.len());
                let mut changes = Vec::with_capacity(batch.len());
                for (((write, audit), mission), id) in batch.iter().zip(missions).zip(&ids) {
                    let ring = match ring_of(rings, mission.as_ref()) {
                        Ok(ring) => ring,
                        Err(e) => {
                            results.push(Err(e));
                            continue;
                        }
                    };
                    let t = write.transition;
                    let Some(row) = before.get(id) else {
                        results.push(Err(if exists.contains(id) { StoreError::Conflict } else { StoreError::NotFound }));
                        continue;
                    };
                    if !row.is_at(write.expected_version, t.from.as_str()) {
                        results.push(Err(StoreError::Conflict));
                        continue;
                    }
                    let flags = write.flags.map(|f| crypto::seal_json(ring, crypto::FLAGS, id, f)).transpose()?;
                    let after = row.transitioned(
                        t.to.as_str(),
                        sql::millis(write.at),
                        &t.policy_version,
                        (t.recommendation.map(|(by, _)| by.to_string()), t.recommendation.map(|(_, r)| r.as_str())),
                        flags.as_deref(),
                    );
                    results.push(Ok(after.version()));
                    changes.push(Change { id, write, audit, ring, flags, before: row, after });
                }
                let mut updated = 0;
                for chunk in changes.chunks(sql::ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(sql::UPDATE_TRANSITIONS);
                    q.push_values(chunk, |mut row, c| {
                        let t = c.write.transition;
                        row.push_bind(c.id.to_owned())
                            .push_bind(t.to.as_str())
                            .push_bind(sql::millis(c.write.at))
                            .push_bind(t.policy_version.clone())
                            .push_bind(t.recommendation.map(|(by, _)| by.to_string()))
                            .push_bind(t.recommendation.map(|(_, r)| r.as_str()))
                            .push_bind(c.flags.clone())
                            .push_bind(c.write.expected_version);
                    });
                    q.push(sql::UPDATE_TRANSITIONS_END);
                    updated += q.build().fetch_all(&mut **tx).await.map_err(store_error)?.len();
                }
                if updated != changes.len() {
                    // The rows are locked (or the database is): nothing can have changed them.
                    return Err(StoreError::Internal("a claimed case changed inside its transaction".into()));
                }
                let mut seqs: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
                for chunk in changes.chunks(sql::ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(sql::LAST_HISTORY_SEQS);
                    let mut list = q.separated(", ");
                    for c in chunk {
                        list.push_bind(c.id.to_owned());
                    }
                    q.push(") GROUP BY application_id");
                    let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut **tx).await.map_err(store_error)?;
                    seqs.extend(rows);
                }
                let mut history = Vec::with_capacity(changes.len());
                for c in &changes {
                    let seq = seqs.get(c.id).copied().unwrap_or(0) + 1;
                    let details = crypto::seal_json(c.ring, crypto::HISTORY_DETAILS, &format!("{}/{seq}", c.id), &c.write.transition.details)?;
                    history.push((c, seq, details));
                }
                for chunk in history.chunks(sql::ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(sql::INSERT_FIRST_HISTORIES);
                    q.push_values(chunk, |mut row, (c, seq, details)| {
                        let t = c.write.transition;
                        row.push_bind(c.id.to_owned())
                            .push_bind(*seq)
                            .push_bind(sql::millis(c.write.at))
                            .push_bind(c.write.actor.audit_id())
                            .push_bind(c.write.actor.audit_role())
                            .push_bind(t.command)
                            .push_bind(t.from.as_str())
                            .push_bind(t.to.as_str())
                            .push_bind(details.clone())
                            .push_bind(t.policy_version.clone());
                    });
                    q.build().execute(&mut **tx).await.map_err(store_error)?;
                }
                // Development builds check that the audited hash is the row as stored.
                #[cfg(debug_assertions)]
                if let Some(c) = changes.first() {
                    assert_eq!(row_now(tx, c.id).await?.hash(), c.after.hash(), "the audited row hash must be the stored row's");
                }
                let events: Vec<(&AuditEvent, sql::RowHashes)> = changes
                    .iter()
                    .map(|c| (c.audit, sql::RowHashes { before: Some(c.before.hash()), after: Some(c.after.hash()) }))
                    .collect();
                append_many(tx, &events).await?;
                let keys: Vec<(String, &[i64])> =
                    changes.iter().filter_map(|c| Some((c.id.to_owned(), c.write.screening_keys?))).collect();
                if !keys.is_empty() {
                    write_screening_keys(tx, &keys).await?;
                }
                Ok(results)
            }

            fn key_version(v: i64) -> Result<u32> {
                u32::try_from(v).map_err(|_| StoreError::Internal("data key version out of range".into()))
            }

            /// Personal data goes in and out through these; no other method sees a key.
            impl $store {
                /// A write transaction in which every ring of `rings` is still live: a ring
                /// destroyed since it was cached (shredded or retired by another process) is
                /// reloaded (a new data key is created at `at` if none is left) and checked again.
                async fn begin_sealing(
                    &self,
                    rings: &mut std::collections::BTreeMap<String, Arc<Ring>>,
                    at: DateTime<Utc>,
                ) -> Result<sqlx::Transaction<'static, Db>> {
                    let mut tx = self.begin().await?;
                    let stale = stale_keys(&mut tx, rings).await?;
                    if stale.is_empty() {
                        return Ok(tx);
                    }
                    tx.rollback().await.map_err(store_error)?;
                    for mission in stale {
                        self.vault.forget(&mission);
                        let ring = self.ring_for_write(&mission, at).await?;
                        rings.insert(mission, ring);
                    }
                    let mut tx = self.begin().await?;
                    if !stale_keys(&mut tx, rings).await?.is_empty() {
                        return Err(StoreError::Unavailable("the mission's data keys are changing; try again".into()));
                    }
                    Ok(tx)
                }

                /// The mission's keys as stored now; `None` when it has no live key.
                async fn reload_ring(&self, mission: &str) -> Result<Option<Arc<Ring>>> {
                    let rows: Vec<crypto::DataKeyRow> = sqlx::query_as(sql::SELECT_DATA_KEYS_OF)
                        .bind(mission)
                        .fetch_all(self.reader())
                        .await
                        .map_err(store_error)?;
                    self.vault.install(mission, &rows)
                }

                /// The mission's keys for opening. Never call inside a write transaction: with
                /// an in-memory `SQLite` database the reader is the writer.
                async fn ring(&self, mission: &str) -> Result<Arc<Ring>> {
                    if let Some(ring) = self.vault.cached(mission) {
                        return Ok(ring);
                    }
                    self.reload_ring(mission).await?.ok_or(StoreError::Shredded)
                }

                /// The mission's keys for sealing new data, creating its data key when it has
                /// none (its first application, or the first after its keys were shredded).
                async fn ring_for_write(&self, mission: &str, at: DateTime<Utc>) -> Result<Arc<Ring>> {
                    if let Some(ring) = self.vault.cached(mission) {
                        return Ok(ring);
                    }
                    if let Some(ring) = self.reload_ring(mission).await? {
                        return Ok(ring);
                    }
                    self.create_data_key(mission, &system_event(at, mission, "key.create", String::new()), true).await?;
                    self.reload_ring(mission).await?.ok_or_else(|| StoreError::Internal("data key vanished".into()))
                }

                /// Adds the mission's next data key (current from now on), with `by` (who, when,
                /// which action) as its audit event, naming the new key as the object.
                async fn create_data_key(&self, mission: &str, by: &AuditEvent, only_if_none: bool) -> Result<i64> {
                    let at = by.at;
                    let mut tx = self.begin().await?;
                    // Taken before the KEK directory is read (in `new_data_key`), so a KEK
                    // rotation, which takes the same lock to rewrap, either sees this key or is
                    // seen by it; and two servers creating a mission's first key take turns.
                    sqlx::query(LOCK_DATA_KEYS).execute(&mut *tx).await.map_err(store_error)?;
                    if only_if_none {
                        let rows: Vec<crypto::DataKeyRow> = sqlx::query_as(sql::SELECT_DATA_KEYS_OF)
                            .bind(mission)
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(store_error)?;
                        if let Some(live) = rows.iter().filter(|r| r.wrapped.is_some()).map(|r| r.version).max() {
                            tx.rollback().await.map_err(store_error)?;
                            return Ok(live);
                        }
                    }
                    let max: i64 = sqlx::query_scalar(sql::MAX_DATA_KEY_VERSION)
                        .bind(mission)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    let version = max + 1;
                    let (wrapped, kek_version) = self.vault.new_data_key(mission, key_version(version)?)?;
                    let inserted = sqlx::query(sql::INSERT_DATA_KEY)
                        .bind(mission)
                        .bind(version)
                        .bind(i64::from(kek_version))
                        .bind(wrapped)
                        .bind(sql::millis(at))
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?
                        .rows_affected();
                    if inserted == 0 {
                        // Another process created this version first (without the lock only in
                        // `SQLite` across processes, which `BEGIN IMMEDIATE` already serialises).
                        tx.rollback().await.map_err(store_error)?;
                        self.vault.forget(mission);
                        return Err(StoreError::Conflict);
                    }
                    let event = AuditEvent {
                        mission: Some(mission.to_owned()),
                        object: format!("data_key:{mission}:{version}"),
                        ..by.clone()
                    };
                    append(&mut tx, &event, sql::RowHashes::default()).await?;
                    tx.commit().await.map_err(store_error)?;
                    self.vault.forget(mission);
                    Ok(version)
                }

                /// Runs `open` with the mission's keys, reading them again once if the value
                /// names a key version this process has not seen (rotated by another process).
                async fn opened<T>(&self, mission: &str, open: impl Fn(&Ring) -> Result<T, OpenError>) -> Result<T> {
                    let ring = self.ring(mission).await?;
                    match open(&ring) {
                        Ok(v) => return Ok(v),
                        Err(OpenError::Store(e)) => return Err(e),
                        Err(OpenError::Unknown(_)) => {}
                    }
                    let ring = self.reload_ring(mission).await?.ok_or(StoreError::Shredded)?;
                    open(&ring).map_err(|e| match e {
                        OpenError::Store(e) => e,
                        OpenError::Unknown(v) => {
                            StoreError::Internal(format!("data key {mission} v{v} is not in data_keys"))
                        }
                    })
                }

                async fn open_application(&self, row: sql::ApplicationRow) -> Result<ApplicationRecord> {
                    let (details, flags) = self
                        .opened(&row.mission_id.clone(), |ring| {
                            let details = crypto::open_details(ring, &row.id, &row.details)?;
                            let flags: Vec<Flag> = crypto::open_json(ring, crypto::FLAGS, &row.id, &row.flags)?;
                            Ok((details, flags))
                        })
                        .await?;
                    row.into_record(details, flags)
                }

                /// Seals what databases written before encryption hold in plaintext (once, at
                /// migration; resumable: each row is sealed in its own transaction, and a row
                /// already sealed is not selected again). Plaintext details name `given_names`;
                /// sealed ones only name field groups. The old bytes may linger in free pages
                /// until the database is vacuumed.
                /// Whether the one-off upgrade step `name` has finished on this database.
                async fn upgrade_done(&self, name: &str) -> Result<bool> {
                    let done: Option<i64> = sqlx::query_scalar("SELECT finished_at FROM store_upgrades WHERE name = $1")
                        .bind(name)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    Ok(done.is_some())
                }

                /// Records that the one-off upgrade step `name` finished, so that no later start
                /// scans for its work again. The time is the newest audit event's (the store
                /// has no clock of its own).
                async fn record_upgrade(&self, name: &str) -> Result<()> {
                    let mut tx = self.begin().await?;
                    sqlx::query(
                        "INSERT INTO store_upgrades (name, finished_at) \
                         VALUES ($1, (SELECT COALESCE(MAX(at), 0) FROM audit_events)) ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                    tx.commit().await.map_err(store_error)
                }

                async fn seal_legacy_rows(&self) -> Result<u64> {
                    if self.upgrade_done("seal_legacy_rows").await? {
                        return Ok(0);
                    }
                    let mut sealed = 0;
                    loop {
                        let rows: Vec<sql::ApplicationRow> = sqlx::query_as(sql::LEGACY_APPLICATIONS)
                            .fetch_all(self.reader())
                            .await
                            .map_err(store_error)?;
                        if rows.is_empty() {
                            self.record_upgrade("seal_legacy_rows").await?;
                            return Ok(sealed);
                        }
                        for row in rows {
                            sealed += self.seal_legacy_row(row).await?;
                        }
                    }
                }

                async fn seal_legacy_row(&self, row: sql::ApplicationRow) -> Result<u64> {
                    let corrupt = |what: &str| StoreError::Internal(format!("plaintext {what} of a legacy row does not parse"));
                    let submitted = sql::ApplicationRow::submitted_at_of(&row)?;
                    let ring = self.ring_for_write(&row.mission_id, submitted).await?;
                    let details: legion_domain::ApplicantDetails =
                        serde_json::from_str(&row.details).map_err(|_| corrupt("details"))?;
                    let flags: Vec<Flag> = if row.flags.starts_with('[') {
                        serde_json::from_str(&row.flags).map_err(|_| corrupt("flags"))?
                    } else {
                        crypto::open_json(&ring, crypto::FLAGS, &row.id, &row.flags)
                            .map_err(|_| corrupt("flags"))?
                    };
                    let history: Vec<(i64, String)> = sqlx::query_as(sql::HISTORY_SEALED)
                        .bind(&row.id)
                        .fetch_all(self.reader())
                        .await
                        .map_err(store_error)?;
                    let mut tx = self.begin().await?;
                    let done = reseal_application(&mut tx, &ring, &row, &details, &flags).await?;
                    for (seq, text) in history.iter().filter(|(_, d)| d.starts_with('{')) {
                        let value: serde_json::Value = serde_json::from_str(text).map_err(|_| corrupt("history"))?;
                        sqlx::query(sql::RESEAL_HISTORY)
                            .bind(crypto::seal_json(&ring, crypto::HISTORY_DETAILS, &format!("{}/{seq}", row.id), &value)?)
                            .bind(&row.id)
                            .bind(seq)
                            .bind(text)
                            .execute(&mut *tx)
                            .await
                            .map_err(store_error)?;
                    }
                    tx.commit().await.map_err(store_error)?;
                    Ok(done)
                }

                /// Fills in the chain of events written before it existed (once, at migration).
                async fn chain_legacy_events(&self) -> Result<()> {
                    // `chain IS NULL` has no index: without the record, every start would read
                    // the whole log to find nothing.
                    if self.upgrade_done("chain_legacy_events").await? {
                        return Ok(());
                    }
                    loop {
                        let rows: Vec<sql::AuditRow> =
                            sqlx::query_as(sql::UNCHAINED_AUDIT).fetch_all(self.reader()).await.map_err(store_error)?;
                        if rows.is_empty() {
                            return self.record_upgrade("chain_legacy_events").await;
                        }
                        let mut tx = self.begin().await?;
                        for row in rows {
                            let event = row.into_event()?;
                            let prev: Option<Option<String>> = sqlx::query_scalar(sql::CHAIN_BEFORE)
                                .bind(event.seq - 1)
                                .fetch_optional(&mut *tx)
                                .await
                                .map_err(store_error)?;
                            let last = prev.map(|chain| (event.seq - 1, chain));
                            let next = crate::audit_log::next_event(
                                last,
                                &event.event,
                                event.before_hash.as_deref(),
                                event.after_hash.as_deref(),
                            )?;
                            if next.seq != event.seq {
                                return Err(StoreError::Internal(format!("audit event {} follows a gap", event.seq)));
                            }
                            sqlx::query(sql::SET_CHAIN)
                                .bind(next.chain)
                                .bind(event.seq)
                                .execute(&mut *tx)
                                .await
                                .map_err(store_error)?;
                        }
                        tx.commit().await.map_err(store_error)?;
                    }
                }

                async fn open_applications(&self, rows: Vec<sql::ApplicationRow>) -> Result<Vec<ApplicationRecord>> {
                    let mut out = Vec::with_capacity(rows.len());
                    for row in rows {
                        out.push(self.open_application(row).await?);
                    }
                    Ok(out)
                }
            }

            #[async_trait::async_trait]
            impl Store for $store {
                $($own)*

                async fn ping(&self) -> Result<()> {
                    sqlx::query(sql::PING).execute(self.reader()).await.map_err(store_error)?;
                    Ok(())
                }

                async fn put_mission(&self, mission: &Mission, audit: &AuditEvent) -> Result<()> {
                    let mut tx = self.begin().await?;
                    sqlx::query(sql::UPSERT_MISSION)
                        .bind(mission.id.as_str())
                        .bind(&mission.name)
                        .bind(mission.country.as_str())
                        .bind(sql::to_json(&mission.covers, "missions.covers")?)
                        .bind(mission.regional)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    append(&mut tx, audit, sql::RowHashes::default()).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn missions(&self) -> Result<Vec<Mission>> {
                    let rows =
                        sqlx::query_as(sql::SELECT_MISSIONS).fetch_all(self.reader()).await.map_err(store_error)?;
                    sql::collect(rows, sql::MissionRow::into_mission)
                }

                async fn create_staff(&self, staff: &NewStaff, audit: &AuditEvent) -> Result<()> {
                    let mut tx = self.begin().await?;
                    sqlx::query(sql::INSERT_STAFF)
                        .bind(staff.id.to_string())
                        .bind(staff.username.as_str())
                        .bind(&staff.display_name)
                        .bind(&staff.password_hash)
                        .bind(staff.role.as_str())
                        .bind(staff.mission.as_ref().map(legion_domain::MissionId::as_str))
                        .bind(sql::millis(staff.created_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    append(&mut tx, audit, sql::RowHashes::default()).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn staff_by_username(&self, username: &Username) -> Result<Option<StaffRecord>> {
                    let row: Option<sql::StaffRow> = sqlx::query_as(sql::SELECT_STAFF_BY_USERNAME)
                        .bind(username.as_str())
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    row.map(sql::StaffRow::into_record).transpose()
                }

                async fn staff_by_id(&self, id: StaffId) -> Result<Option<StaffRecord>> {
                    let row: Option<sql::StaffRow> = sqlx::query_as(sql::SELECT_STAFF_BY_ID)
                        .bind(id.to_string())
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    row.map(sql::StaffRow::into_record).transpose()
                }

                async fn list_staff(&self) -> Result<Vec<StaffRecord>> {
                    let rows =
                        sqlx::query_as(sql::SELECT_ALL_STAFF).fetch_all(self.reader()).await.map_err(store_error)?;
                    sql::collect(rows, sql::StaffRow::into_record)
                }

                async fn set_staff_disabled(
                    &self,
                    username: &Username,
                    disabled: bool,
                    audit: &AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    let changed = sqlx::query(sql::SET_STAFF_DISABLED)
                        .bind(disabled)
                        .bind(username.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?
                        .rows_affected();
                    if changed == 0 {
                        return Err(StoreError::NotFound);
                    }
                    if disabled {
                        sqlx::query(sql::DELETE_SESSIONS_OF_USERNAME)
                            .bind(username.as_str())
                            .execute(&mut *tx)
                            .await
                            .map_err(store_error)?;
                    }
                    append(&mut tx, audit, sql::RowHashes::default()).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn create_session(
                    &self,
                    token_hash: &str,
                    staff: StaffId,
                    expires_at: DateTime<Utc>,
                    audit: &AuditEvent,
                ) -> Result<()> {
                    let mut tx = self.begin().await?;
                    // Each sign-in sweeps out expired sessions, so the table holds only live ones.
                    sqlx::query(sql::DELETE_EXPIRED_SESSIONS)
                        .bind(sql::millis(audit.at))
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    sqlx::query(sql::INSERT_SESSION)
                        .bind(token_hash)
                        .bind(staff.to_string())
                        .bind(sql::millis(audit.at))
                        .bind(sql::millis(expires_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    append(&mut tx, audit, sql::RowHashes::default()).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn session_staff(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<StaffRecord>> {
                    let row: Option<sql::StaffRow> = sqlx::query_as(sql::SELECT_SESSION_STAFF)
                        .bind(token_hash)
                        .bind(sql::millis(now))
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    row.map(sql::StaffRow::into_record).transpose()
                }

                async fn delete_session(&self, token_hash: &str, audit: &AuditEvent) -> Result<()> {
                    let mut tx = self.begin().await?;
                    sqlx::query(sql::DELETE_SESSION).bind(token_hash).execute(&mut *tx).await.map_err(store_error)?;
                    append(&mut tx, audit, sql::RowHashes::default()).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn insert_application(&self, app: &NewApplication, audit: &AuditEvent) -> Result<()> {
                    let mut results = self.insert_applications(&[(app.clone(), audit.clone())]).await?;
                    results.pop().unwrap_or_else(|| Err(StoreError::Internal("empty batch result".into())))
                }

                async fn insert_applications(&self, batch: &[(NewApplication, AuditEvent)]) -> Result<Vec<Result<()>>> {
                    let Some((first, _)) = batch.first() else { return Ok(Vec::new()) };
                    // The keys are fetched before the transaction (see `ring`).
                    let mut rings: std::collections::BTreeMap<String, Arc<Ring>> = std::collections::BTreeMap::new();
                    for (app, _) in batch {
                        let mission = app.mission.as_str();
                        if !rings.contains_key(mission) {
                            match self.ring_for_write(mission, app.submitted_at).await {
                                Ok(ring) => {
                                    rings.insert(mission.to_owned(), ring);
                                }
                                // No such mission: those submissions fail on their own below.
                                Err(StoreError::NotFound) => {}
                                Err(e) => return Err(e),
                            }
                        }
                    }
                    // The whole batch in a few multi-row statements. A taken reference or
                    // idempotency key (rare) fails the statement; the batch is then written
                    // one submission at a time.
                    if batch.len() > 1 {
                        let keys_before = rings.clone();
                        let (mut results, mut sealed) = seal_batch(&rings, batch)?;
                        let mut tx = self.begin_sealing(&mut rings, first.submitted_at).await?;
                        // A mission's key changed meanwhile (rare): sealed again under the new one.
                        if rings.iter().any(|(m, r)| keys_before.get(m).is_none_or(|b| !Arc::ptr_eq(b, r))) {
                            (results, sealed) = seal_batch(&rings, batch)?;
                        }
                        match insert_many(&mut tx, &sealed).await {
                            Ok(()) => {
                                tx.commit().await.map_err(store_error)?;
                                return Ok(results);
                            }
                            Err(StoreError::Duplicate(_) | StoreError::NotFound) => {
                                tx.rollback().await.map_err(store_error)?;
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    let mut tx = self.begin_sealing(&mut rings, first.submitted_at).await?;
                    // Rows in the order of their idempotency keys and the audit events after
                    // every row, as `insert_many` does (see there why).
                    let mut order: Vec<usize> = (0..batch.len()).collect();
                    order.sort_by_key(|&i| batch[i].0.idempotency.as_ref().map(|k| k.key_hash.as_str()));
                    let mut results: Vec<Result<()>> = batch.iter().map(|_| Ok(())).collect();
                    let mut events: Vec<Option<sql::RowHashes>> = batch.iter().map(|_| None).collect();
                    for i in order {
                        let app = &batch[i].0;
                        let Some(ring) = rings.get(app.mission.as_str()) else {
                            results[i] = Err(StoreError::NotFound);
                            continue;
                        };
                        if batch.len() == 1 {
                            events[i] = Some(insert_one(&mut tx, ring, app).await?);
                            continue;
                        }
                        // Each submission succeeds or fails on its own: a taken reference or
                        // idempotency key undoes only its own rows.
                        sqlx::query("SAVEPOINT submission").execute(&mut *tx).await.map_err(store_error)?;
                        match insert_one(&mut tx, ring, app).await {
                            Ok(hashes) => {
                                sqlx::query("RELEASE SAVEPOINT submission").execute(&mut *tx).await.map_err(store_error)?;
                                events[i] = Some(hashes);
                            }
                            Err(e @ (StoreError::Duplicate(_) | StoreError::NotFound)) => {
                                sqlx::query("ROLLBACK TO SAVEPOINT submission").execute(&mut *tx).await.map_err(store_error)?;
                                sqlx::query("RELEASE SAVEPOINT submission").execute(&mut *tx).await.map_err(store_error)?;
                                results[i] = Err(e);
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    // In the batch's order, whatever order the rows went in.
                    for ((_, audit), hashes) in batch.iter().zip(events) {
                        if let Some(hashes) = hashes {
                            append(&mut tx, audit, hashes).await?;
                        }
                    }
                    tx.commit().await.map_err(store_error)?;
                    Ok(results)
                }

                async fn idempotent_submission(&self, key_hash: &str) -> Result<Option<$crate::IdempotentSubmission>> {
                    let row: Option<(String, String, String, String)> = sqlx::query_as(sql::SELECT_IDEMPOTENCY_KEY)
                        .bind(key_hash)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    row.map(|(request_hash, id, reference, mission)| sql::idempotent(request_hash, &id, &reference, &mission))
                        .transpose()
                }

                async fn application_for_applicant(
                    &self,
                    id: ApplicationId,
                    access_hash: &str,
                ) -> Result<Option<ApplicationRecord>> {
                    let row: Option<sql::ApplicationRow> = sqlx::query_as(sql::SELECT_APPLICATION_FOR_APPLICANT)
                        .bind(id.to_string())
                        .bind(access_hash)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    match row {
                        Some(row) => Ok(Some(self.open_application(row).await?)),
                        None => Ok(None),
                    }
                }

                async fn application_by_reference(
                    &self,
                    reference: &Reference,
                    access_hash: &str,
                ) -> Result<Option<ApplicationRecord>> {
                    let row: Option<sql::ApplicationRow> = sqlx::query_as(sql::SELECT_APPLICATION_BY_REFERENCE)
                        .bind(reference.as_str())
                        .bind(access_hash)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    match row {
                        Some(row) => Ok(Some(self.open_application(row).await?)),
                        None => Ok(None),
                    }
                }

                async fn case(&self, id: ApplicationId, scope: &Scope) -> Result<Option<ApplicationRecord>> {
                    let row: Option<sql::ApplicationRow> = query_as(&sql::case_query(id, scope))
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    match row {
                        Some(row) => Ok(Some(self.open_application(row).await?)),
                        None => Ok(None),
                    }
                }

                async fn cases(&self, scope: &Scope, query: &QueueQuery) -> Result<Page<ApplicationRecord>> {
                    let q = sql::cases_query(scope, query);
                    // One snapshot, so the total and the page agree.
                    let mut tx = self.snapshot().await?;
                    let (total,): (i64,) = query_as(&q.count).fetch_one(&mut *tx).await.map_err(store_error)?;
                    let rows: Vec<sql::ApplicationRow> = query_as(&q.page)
                        .bind(q.limit)
                        .bind(q.offset)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    tx.rollback().await.map_err(store_error)?;
                    Ok(Page { items: self.open_applications(rows).await?, total })
                }

                async fn history(&self, id: ApplicationId, scope: &Scope) -> Result<Vec<HistoryEntry>> {
                    let rows: Vec<sql::HistoryRow> = query_as(&sql::history_query(id, scope))
                        .fetch_all(self.reader())
                        .await
                        .map_err(store_error)?;
                    let Some(mission) = rows.first().map(|r| r.mission_id.clone()) else { return Ok(Vec::new()) };
                    let details = self
                        .opened(&mission, |ring| {
                            rows.iter()
                                .map(|r| {
                                    let row = format!("{id}/{}", r.seq);
                                    crypto::open_json::<serde_json::Value>(ring, crypto::HISTORY_DETAILS, &row, &r.details)
                                })
                                .collect::<Result<Vec<_>, OpenError>>()
                        })
                        .await?;
                    rows.into_iter().zip(details).map(|(r, d)| r.into_entry(d)).collect()
                }

                async fn apply_transition(&self, write: &TransitionWrite<'_>, audit: &AuditEvent) -> Result<i64> {
                    let mut results =
                        self.apply_transitions(&[(write.clone(), audit.clone())], $crate::Locking::Wait).await?;
                    results.pop().unwrap_or_else(|| Err(StoreError::Internal("empty batch result".into())))
                }

                async fn apply_transitions(
                    &self,
                    batch: &[(TransitionWrite<'_>, AuditEvent)],
                    locking: $crate::Locking,
                ) -> Result<Vec<Result<i64>>> {
                    if batch.is_empty() {
                        return Ok(Vec::new());
                    }
                    // The keys are fetched before the transaction (see `ring`).
                    // Each case's mission, in one query per few hundred cases.
                    let mut mission_of = std::collections::HashMap::with_capacity(batch.len());
                    for chunk in batch.chunks(sql::ROWS_PER_STATEMENT) {
                        let mut q = sqlx::QueryBuilder::<Db>::new("SELECT id, mission_id FROM applications WHERE id IN (");
                        let mut ids = q.separated(", ");
                        for (write, _) in chunk {
                            ids.push_bind(write.id.to_string());
                        }
                        q.push(")");
                        let rows: Vec<(String, String)> =
                            q.build_query_as().fetch_all(self.reader()).await.map_err(store_error)?;
                        mission_of.extend(rows);
                    }
                    let mut missions = Vec::with_capacity(batch.len());
                    let mut rings: std::collections::BTreeMap<String, Arc<Ring>> = std::collections::BTreeMap::new();
                    for (write, _) in batch {
                        let mission = mission_of.get(&write.id.to_string()).cloned();
                        if let Some(m) = &mission
                            && !rings.contains_key(m)
                        {
                            match self.ring(m).await {
                                Ok(ring) => {
                                    rings.insert(m.clone(), ring);
                                }
                                // Shredded: that write fails on its own below.
                                Err(StoreError::Shredded) => {}
                                Err(e) => return Err(e),
                            }
                        }
                        missions.push(mission);
                    }
                    let mut tx = self.begin().await?;
                    let stale = stale_keys(&mut tx, &rings).await?;
                    if !stale.is_empty() {
                        tx.rollback().await.map_err(store_error)?;
                        for mission in stale {
                            self.vault.forget(&mission);
                            match self.ring(&mission).await {
                                Ok(ring) => {
                                    rings.insert(mission, ring);
                                }
                                Err(StoreError::Shredded) => {
                                    rings.remove(&mission);
                                }
                                Err(e) => return Err(e),
                            }
                        }
                        tx = self.begin().await?;
                        if !stale_keys(&mut tx, &rings).await?.is_empty() {
                            return Err(StoreError::Unavailable("the mission's data keys are changing; try again".into()));
                        }
                    }
                    // Background work's batches (screening) in a few statements rather than several
                    // per case, so that they hold the single writer only briefly.
                    if locking == $crate::Locking::SkipLocked
                        && batch.len() > 1
                        && batch.iter().all(|(w, _)| is_plain(w))
                        && batch.iter().map(|(w, _)| w.id).collect::<std::collections::HashSet<_>>().len() == batch.len()
                    {
                        let results = claim_many(&mut tx, &rings, &missions, batch).await?;
                        tx.commit().await.map_err(store_error)?;
                        return Ok(results);
                    }
                    let select = match locking {
                        $crate::Locking::Wait => SELECT_APPLICATION_TO_UPDATE,
                        $crate::Locking::SkipLocked => SELECT_APPLICATION_TO_CLAIM,
                    };
                    let mut results = Vec::with_capacity(batch.len());
                    for ((write, audit), mission) in batch.iter().zip(&missions) {
                        let ring = match ring_of(&rings, mission.as_ref()) {
                            Ok(ring) => ring,
                            Err(e) => {
                                results.push(Err(e));
                                continue;
                            }
                        };
                        if batch.len() == 1 {
                            // A refused write has written nothing: the answer of that write, as in
                            // a larger batch, not a failure of the batch.
                            match transition_one(&mut tx, ring, select, write, audit).await {
                                Ok(version) => results.push(Ok(version)),
                                Err(e @ (StoreError::Conflict | StoreError::NotFound)) => results.push(Err(e)),
                                Err(e) => return Err(e),
                            }
                            continue;
                        }
                        // Each write succeeds or fails on its own: a case changed meanwhile
                        // undoes only its own rows.
                        sqlx::query("SAVEPOINT transition").execute(&mut *tx).await.map_err(store_error)?;
                        match transition_one(&mut tx, ring, select, write, audit).await {
                            Ok(version) => {
                                sqlx::query("RELEASE SAVEPOINT transition").execute(&mut *tx).await.map_err(store_error)?;
                                results.push(Ok(version));
                            }
                            Err(e @ (StoreError::Conflict | StoreError::NotFound)) => {
                                sqlx::query("ROLLBACK TO SAVEPOINT transition").execute(&mut *tx).await.map_err(store_error)?;
                                sqlx::query("RELEASE SAVEPOINT transition").execute(&mut *tx).await.map_err(store_error)?;
                                results.push(Err(e));
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    tx.commit().await.map_err(store_error)?;
                    Ok(results)
                }

                async fn credentials(&self, mission: Option<&MissionId>) -> Result<Vec<$crate::CredentialRecord>> {
                    let q = match mission {
                        Some(m) => sqlx::query_as::<_, sql::CredentialRow>(sql::CREDENTIALS_OF_MISSION).bind(m.as_str()),
                        None => sqlx::query_as::<_, sql::CredentialRow>(sql::CREDENTIALS),
                    };
                    let rows = q.fetch_all(self.reader()).await.map_err(store_error)?;
                    sql::collect(rows, sql::CredentialRow::into_record)
                }

                async fn credential(&self, id: uuid::Uuid) -> Result<Option<$crate::CredentialRecord>> {
                    let row: Option<sql::CredentialRow> = sqlx::query_as(sql::CREDENTIAL_BY_ID)
                        .bind(id.to_string())
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    row.map(sql::CredentialRow::into_record).transpose()
                }

                async fn revocations(&self, now: DateTime<Utc>) -> Result<$crate::Revocations> {
                    // One read transaction, so that the number and the ids agree.
                    let mut tx = self.reader().begin().await.map_err(store_error)?;
                    let seq: i64 = sqlx::query_scalar(sql::LAST_REVOCATION_SEQ).fetch_one(&mut *tx).await.map_err(store_error)?;
                    let ids: Vec<String> = sqlx::query_scalar(sql::REVOKED_CREDENTIALS)
                        .bind(sql::millis(now))
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    tx.commit().await.map_err(store_error)?;
                    let revoked = ids
                        .iter()
                        .map(|s| uuid::Uuid::parse_str(s).map_err(|_| StoreError::Internal("credentials.id is not a UUID".into())))
                        .collect::<Result<Vec<_>>>()?;
                    Ok($crate::Revocations { seq, revoked })
                }

                async fn key_expiries(&self) -> Result<Vec<(String, DateTime<Utc>)>> {
                    let rows: Vec<(String, i64)> =
                        sqlx::query_as(sql::KEY_EXPIRIES).fetch_all(self.reader()).await.map_err(store_error)?;
                    rows.into_iter()
                        .map(|(kid, ms)| {
                            DateTime::from_timestamp_millis(ms)
                                .map(|t| (kid, t))
                                .ok_or_else(|| StoreError::Internal("credentials.expires_at out of range".into()))
                        })
                        .collect()
                }

                async fn pending_screening(&self, limit: u32, stalled_before: DateTime<Utc>) -> Result<Vec<ApplicationId>> {
                    let ids: Vec<String> = sqlx::query_scalar(sql::PENDING_SCREENING)
                        .bind(i64::from(limit))
                        .bind(sql::millis(stalled_before))
                        .fetch_all(self.reader())
                        .await
                        .map_err(store_error)?;
                    ids.iter().map(|id| sql::application_id(id)).collect()
                }

                async fn passport_matches(
                    &self,
                    passport_index: &str,
                    except: ApplicationId,
                ) -> Result<Vec<PassportMatch>> {
                    let rows = sqlx::query_as(sql::PASSPORT_MATCHES)
                        .bind(passport_index)
                        .bind(except.to_string())
                        .fetch_all(self.reader())
                        .await
                        .map_err(store_error)?;
                    sql::collect(rows, sql::PassportMatchRow::into_match)
                }

                async fn put_screening_keys(&self, keys: &[(ApplicationId, Vec<i64>)]) -> Result<()> {
                    if keys.is_empty() {
                        return Ok(());
                    }
                    let mut tx = self.begin().await?;
                    let keys: Vec<(String, &[i64])> = keys.iter().map(|(id, ks)| (id.to_string(), ks.as_slice())).collect();
                    write_screening_keys(&mut tx, &keys).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn screening_candidates(
                    &self,
                    keys: &[i64],
                    except: ApplicationId,
                    min_shared: u32,
                    limit: u32,
                ) -> Result<Vec<ApplicationId>> {
                    if keys.is_empty() || limit == 0 {
                        return Ok(Vec::new());
                    }
                    let mut q = sqlx::QueryBuilder::<Db>::new(
                        "SELECT k.application_id FROM screening_keys k JOIN applications a ON a.id = k.application_id \
                         WHERE k.key IN (",
                    );
                    let mut list = q.separated(", ");
                    for key in keys {
                        list.push_bind(*key);
                    }
                    q.push(") AND k.application_id <> ");
                    q.push_bind(except.to_string());
                    q.push(" AND a.state <> 'withdrawn' AND a.data_destroyed_at IS NULL GROUP BY k.application_id HAVING COUNT(*) >= ");
                    q.push_bind(i64::from(min_shared));
                    q.push(" ORDER BY COUNT(*) DESC, k.application_id LIMIT ");
                    q.push_bind(i64::from(limit));
                    let ids: Vec<String> = q.build_query_scalar().fetch_all(self.reader()).await.map_err(store_error)?;
                    ids.iter().map(|id| sql::application_id(id)).collect()
                }

                async fn seal_document(
                    &self,
                    mission: &MissionId,
                    id: DocumentId,
                    bytes: &[u8],
                ) -> Result<SealedDocument> {
                    let ring = self.ring(mission.as_str()).await?;
                    let (sealed, content_key) = crypto::seal_document(&ring, &id.to_string(), bytes)?;
                    Ok(SealedDocument {
                        sha256: crypto::sha256_hex(&sealed),
                        bytes: sealed,
                        content_key: $crate::SealedKey(content_key),
                    })
                }

                async fn open_document(&self, document: &DocumentRecord, sealed: &[u8]) -> Result<Vec<u8>> {
                    // The AEAD alone would refuse another document's object; the hash also
                    // refuses an object altered or replaced in storage before any key is used.
                    if crypto::sha256_hex(sealed) != document.sealed_sha256 {
                        return Err(StoreError::Internal(format!(
                            "the stored object of document {} is not the one its row names",
                            document.id
                        )));
                    }
                    let id = document.id.to_string();
                    let content_key: Option<String> = sqlx::query_scalar(sql::DOCUMENT_KEY_OF)
                        .bind(&id)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    let content_key = content_key.ok_or(StoreError::NotFound)?;
                    self.opened(document.mission.as_str(), |ring| {
                        crypto::open_document(ring, &id, &content_key, sealed)
                    })
                    .await
                }

                async fn insert_document(&self, d: &NewDocument, audit: &AuditEvent) -> Result<()> {
                    let mut tx = self.begin().await?;
                    let application = d.application.to_string();
                    // The case's row stays locked until commit (PostgreSQL; SQLite's single
                    // writer already excludes everyone): other uploads to the case and its
                    // transitions wait, so the count and the state read below hold at commit.
                    sqlx::query(SELECT_APPLICATION_TO_UPDATE)
                        .bind(&application)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    // The document's key was sealed before this transaction: its data key must
                    // still be live now, or the document would be born shredded.
                    let case: Option<(String, String)> =
                        sqlx::query_as("SELECT mission_id, state FROM applications WHERE id = $1")
                            .bind(&application)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(store_error)?;
                    let (mission, state) = case.ok_or(StoreError::NotFound)?;
                    for version in crypto::versions(&d.content_key.0) {
                        if !version_is_live(&mut tx, &mission, version).await? {
                            self.vault.forget(&mission);
                            return Err(StoreError::Unavailable("the mission's data keys are changing; try again".into()));
                        }
                    }
                    // The web layer checked both before the upload was read; checked again here,
                    // where concurrent uploads and a decision made meanwhile are seen.
                    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents WHERE application_id = $1")
                        .bind(&application)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    let open = legion_domain::State::parse(&state).is_some_and(legion_domain::State::accepts_documents);
                    if !open || held >= i64::from(d.max_per_case) {
                        return Err(StoreError::Conflict);
                    }
                    sqlx::query(sql::INSERT_DOCUMENT)
                        .bind(d.id.to_string())
                        .bind(d.application.to_string())
                        .bind(d.kind.as_str())
                        .bind(d.content_type.mime())
                        .bind(i64::try_from(d.size).map_err(|_| StoreError::Internal("document too large".into()))?)
                        .bind(&d.object_key)
                        .bind(&d.sealed_sha256)
                        .bind(&d.content_key.0)
                        .bind(sql::millis(d.uploaded_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    let hashes = sql::RowHashes { before: None, after: Some(sql::document_hash(d)) };
                    append(&mut tx, audit, hashes).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn documents(
                    &self,
                    application: ApplicationId,
                    scope: &Scope,
                ) -> Result<Option<Vec<DocumentRecord>>> {
                    let rows: Vec<sql::DocumentRow> = query_as(&sql::documents_query(application, None, scope))
                        .fetch_all(self.reader())
                        .await
                        .map_err(store_error)?;
                    if rows.is_empty() {
                        return Ok(None);
                    }
                    let records: Vec<Option<DocumentRecord>> = sql::collect(rows, sql::DocumentRow::into_record)?;
                    Ok(Some(records.into_iter().flatten().collect()))
                }

                async fn document(
                    &self,
                    application: ApplicationId,
                    id: DocumentId,
                    scope: &Scope,
                ) -> Result<Option<DocumentRecord>> {
                    let row: Option<sql::DocumentRow> = query_as(&sql::documents_query(application, Some(id), scope))
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    Ok(row.map(sql::DocumentRow::into_record).transpose()?.flatten())
                }

                async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
                    let mut tx = self.begin().await?;
                    append(&mut tx, event, sql::RowHashes::default()).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn audit_packed(&self, after: i64, limit: u32) -> Result<Vec<$crate::PackedAuditRow>> {
                    let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(SELECT_AUDIT_PACKED)
                        .bind(after)
                        .bind(i64::from(limit))
                        .fetch_all(self.reader())
                        .await
                        .map_err(store_error)?;
                    Ok(rows.into_iter().map(|(seq, packed, chain)| $crate::PackedAuditRow { seq, packed, chain }).collect())
                }

                async fn audit_events(&self, after: i64, limit: u32) -> Result<Vec<StoredAuditEvent>> {
                    let rows = sqlx::query_as(sql::SELECT_AUDIT)
                        .bind(after)
                        .bind(i64::from(limit))
                        .fetch_all(self.reader())
                        .await
                        .map_err(store_error)?;
                    sql::collect(rows, sql::AuditRow::into_event)
                }

                async fn search_audit(&self, query: &crate::AuditQuery) -> Result<Page<StoredAuditEvent>> {
                    let q = sql::audit_search_query(query);
                    // One snapshot, so the total and the page agree.
                    let mut tx = self.snapshot().await?;
                    let (total,): (i64,) = query_as(&q.count).fetch_one(&mut *tx).await.map_err(store_error)?;
                    let rows: Vec<sql::AuditRow> = query_as(&q.page)
                        .bind(q.limit)
                        .bind(q.offset)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    tx.rollback().await.map_err(store_error)?;
                    Ok(Page { items: sql::collect(rows, sql::AuditRow::into_event)?, total })
                }

                async fn count_recent_audit(
                    &self,
                    action: &str,
                    object: &str,
                    outcome: &str,
                    since: DateTime<Utc>,
                ) -> Result<i64> {
                    let (n,): (i64,) = sqlx::query_as(sql::COUNT_RECENT_AUDIT)
                        .bind(object)
                        .bind(action)
                        .bind(outcome)
                        .bind(sql::millis(since))
                        .fetch_one(self.reader())
                        .await
                        .map_err(store_error)?;
                    Ok(n)
                }

                async fn state_counts(&self) -> Result<Vec<StateCount>> {
                    let rows =
                        sqlx::query_as(sql::STATE_COUNTS).fetch_all(self.reader()).await.map_err(store_error)?;
                    sql::collect(rows, sql::StateCountRow::into_count)
                }

                async fn audit_size(&self) -> Result<i64> {
                    sqlx::query_scalar(sql::AUDIT_SIZE).fetch_one(self.reader()).await.map_err(store_error)
                }

                async fn insert_checkpoint(&self, c: &StoredCheckpoint) -> Result<CheckpointOutcome> {
                    let mut tx = self.begin().await?;
                    let inserted = sqlx::query(sql::INSERT_CHECKPOINT)
                        .bind(c.tree_size)
                        .bind(&c.root)
                        .bind(&c.note)
                        .bind(sql::millis(c.at))
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?
                        .rows_affected();
                    tx.commit().await.map_err(store_error)?;
                    Ok(if inserted == 0 { CheckpointOutcome::Exists } else { CheckpointOutcome::Stored })
                }

                async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>> {
                    let rows =
                        sqlx::query_as(sql::SELECT_CHECKPOINTS).fetch_all(self.reader()).await.map_err(store_error)?;
                    sql::collect(rows, sql::CheckpointRow::into_checkpoint)
                }

                async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
                    let row: Option<sql::CheckpointRow> = sqlx::query_as(sql::LATEST_CHECKPOINT)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(store_error)?;
                    row.map(sql::CheckpointRow::into_checkpoint).transpose()
                }

                async fn data_keys(&self) -> Result<Vec<DataKeyInfo>> {
                    let rows =
                        sqlx::query_as(sql::SELECT_ALL_DATA_KEYS).fetch_all(self.reader()).await.map_err(store_error)?;
                    sql::collect(rows, sql::DataKeyInfoRow::into_info)
                }

                async fn rewrap_data_keys(&self, audit: &AuditEvent) -> Result<u64> {
                    let mut tx = self.begin().await?;
                    // The lock `create_data_key` takes: no key can be wrapped under an older KEK
                    // after this transaction read the table.
                    sqlx::query(LOCK_DATA_KEYS).execute(&mut *tx).await.map_err(store_error)?;
                    let missions: Vec<String> = sqlx::query_scalar("SELECT DISTINCT mission_id FROM data_keys")
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    let mut changed = 0;
                    for mission in &missions {
                        let rows: Vec<crypto::DataKeyRow> = sqlx::query_as(sql::SELECT_DATA_KEYS_OF)
                            .bind(mission)
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(store_error)?;
                        for row in &rows {
                            let Some((wrapped, kek_version)) = self.vault.rewrap(mission, row)? else { continue };
                            changed += sqlx::query(sql::REWRAP_DATA_KEY)
                                .bind(wrapped)
                                .bind(i64::from(kek_version))
                                .bind(mission)
                                .bind(row.version)
                                .bind(row.kek_version)
                                .execute(&mut *tx)
                                .await
                                .map_err(store_error)?
                                .rows_affected();
                        }
                    }
                    append(&mut tx, audit, sql::RowHashes::default()).await?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(changed)
                }

                async fn rotate_data_key(&self, mission: &MissionId, audit: &AuditEvent) -> Result<i64> {
                    let version = self.create_data_key(mission.as_str(), audit, false).await?;
                    Ok(version)
                }

                async fn reencrypt_batch(
                    &self,
                    mission: &MissionId,
                    after: Option<ApplicationId>,
                    limit: u32,
                    by: &AuditEvent,
                ) -> Result<ReencryptBatch> {
                    let m = mission.as_str();
                    let ring = self.reload_ring(m).await?.ok_or(StoreError::Shredded)?;
                    let rows: Vec<sql::ApplicationRow> = sqlx::query_as(sql::REENCRYPT_SCAN)
                        .bind(m)
                        .bind(after.map_or_else(String::new, |a| a.to_string()))
                        .bind(i64::from(limit.clamp(1, 10_000)))
                        .fetch_all(self.reader())
                        .await
                        .map_err(store_error)?;
                    let current = ring.keyring.current().version().0;
                    // What a destroyed key sealed (a shredded mission's old cases) cannot be opened
                    // and holds no key back: only values under an older live key are sealed again.
                    let stale =
                        |text: &str| crypto::versions(text).iter().any(|v| *v != current && !ring.destroyed.contains(v));
                    let scanned = rows.len() as u64;
                    let next_after = if rows.len() < limit.clamp(1, 10_000) as usize {
                        None
                    } else {
                        rows.last().map(|r| sql::application_id(&r.id)).transpose()?
                    };
                    let mut changed = 0;
                    for row in &rows {
                        let history: Vec<(i64, String)> = sqlx::query_as(sql::HISTORY_SEALED)
                            .bind(&row.id)
                            .fetch_all(self.reader())
                            .await
                            .map_err(store_error)?;
                        let documents: Vec<(String, String)> = sqlx::query_as(sql::DOCUMENT_KEYS_OF_APPLICATION)
                            .bind(&row.id)
                            .fetch_all(self.reader())
                            .await
                            .map_err(store_error)?;
                        if !stale(&row.details)
                            && !stale(&row.flags)
                            && !history.iter().any(|(_, d)| stale(d))
                            && !documents.iter().any(|(_, k)| stale(k))
                        {
                            continue;
                        }
                        let open = |e: OpenError| match e {
                            OpenError::Store(e) => e,
                            OpenError::Unknown(v) => StoreError::Internal(format!("data key {m} v{v} is missing")),
                        };
                        let details = crypto::open_details(&ring, &row.id, &row.details).map_err(open)?;
                        let flags: Vec<Flag> = crypto::open_json(&ring, crypto::FLAGS, &row.id, &row.flags).map_err(open)?;
                        let mut tx = self.begin().await?;
                        if !key_is_live(&mut tx, m, &ring).await? {
                            // The new key itself was destroyed meanwhile: start over.
                            return Err(StoreError::Conflict);
                        }
                        let done = reseal_application(&mut tx, &ring, row, &details, &flags).await?;
                        if done == 0 {
                            // Changed since it was read: the next pass takes it as it is now.
                            tx.rollback().await.map_err(store_error)?;
                            continue;
                        }
                        for (seq, sealed) in &history {
                            let at = format!("{}/{seq}", row.id);
                            let value: serde_json::Value =
                                crypto::open_json(&ring, crypto::HISTORY_DETAILS, &at, sealed).map_err(open)?;
                            sqlx::query(sql::RESEAL_HISTORY)
                                .bind(crypto::seal_json(&ring, crypto::HISTORY_DETAILS, &at, &value)?)
                                .bind(&row.id)
                                .bind(seq)
                                .bind(sealed)
                                .execute(&mut *tx)
                                .await
                                .map_err(store_error)?;
                        }
                        // A document's key, not the document: its object stays as it is.
                        for (doc, content_key) in documents.iter().filter(|(_, k)| stale(k)) {
                            sqlx::query(sql::RESEAL_DOCUMENT_KEY)
                                .bind(crypto::reseal_document_key(&ring, doc, content_key).map_err(open)?)
                                .bind(doc)
                                .bind(content_key)
                                .execute(&mut *tx)
                                .await
                                .map_err(store_error)?;
                        }
                        // The row's stored form changed: its audit trail says so, with the
                        // hashes, so that each event's before-hash is the last one's after-hash.
                        let after: sql::ApplicationRow = sqlx::query_as(sql::SELECT_APPLICATION_BY_ID)
                            .bind(&row.id)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(store_error)?;
                        let event = AuditEvent {
                            mission: Some(m.to_owned()),
                            action: "application.reseal".into(),
                            object: format!("application:{}", row.id),
                            ..by.clone()
                        };
                        let hashes = sql::RowHashes { before: Some(row.hash()), after: Some(after.hash()) };
                        append(&mut tx, &event, hashes).await?;
                        tx.commit().await.map_err(store_error)?;
                        changed += done;
                    }
                    Ok(ReencryptBatch { next_after, scanned, changed })
                }

                async fn retire_data_keys(&self, mission: &MissionId, audit: &AuditEvent) -> Result<Vec<i64>> {
                    let m = mission.as_str();
                    let mut tx = self.begin().await?;
                    let rows: Vec<crypto::DataKeyRow> =
                        sqlx::query_as(LOCK_MISSION_KEYS).bind(m).fetch_all(&mut *tx).await.map_err(store_error)?;
                    let live: Vec<i64> = rows.iter().filter(|r| r.wrapped.is_some()).map(|r| r.version).collect();
                    let Some(current) = live.iter().copied().max() else { return Ok(Vec::new()) };
                    let old: Vec<i64> = live.into_iter().filter(|v| *v != current).collect();
                    if old.is_empty() {
                        return Ok(Vec::new());
                    }
                    // Checked inside the writing transaction, after locking the keys: every writer
                    // checks its key (`key_is_live`) in its own transaction, so none can seal under
                    // an old key between this check and the destruction.
                    let apps: Vec<(String, String)> = sqlx::query_as(sql::MISSION_APPLICATIONS_SEALED)
                        .bind(m)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    let history: Vec<String> = sqlx::query_scalar(sql::MISSION_HISTORY_SEALED)
                        .bind(m)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    let documents: Vec<String> = sqlx::query_scalar(sql::MISSION_DOCUMENT_KEYS)
                        .bind(m)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    let in_use = apps
                        .iter()
                        .flat_map(|(d, f)| [d, f])
                        .chain(history.iter())
                        .chain(documents.iter())
                        .any(|text| crypto::versions(text).iter().any(|v| old.contains(&i64::from(*v))));
                    if in_use {
                        return Err(StoreError::Conflict);
                    }
                    for version in &old {
                        sqlx::query(sql::DESTROY_DATA_KEY)
                            .bind(sql::millis(audit.at))
                            .bind(m)
                            .bind(version)
                            .execute(&mut *tx)
                            .await
                            .map_err(store_error)?;
                    }
                    append(&mut tx, audit, sql::RowHashes::default()).await?;
                    tx.commit().await.map_err(store_error)?;
                    self.vault.forget(m);
                    Ok(old)
                }

                async fn shred_mission(&self, mission: &MissionId, audit: &AuditEvent) -> Result<u64> {
                    let m = mission.as_str();
                    let mut tx = self.begin().await?;
                    let destroyed = sqlx::query(
                        "UPDATE data_keys SET wrapped = NULL, destroyed_at = $1 WHERE mission_id = $2 AND wrapped IS NOT NULL",
                    )
                    .bind(sql::millis(audit.at))
                    .bind(m)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?
                    .rows_affected();
                    sqlx::query(
                        "DELETE FROM screening_keys WHERE application_id IN \
                         (SELECT id FROM applications WHERE mission_id = $1 AND data_destroyed_at IS NULL)",
                    )
                    .bind(m)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                    sqlx::query(sql::MARK_DESTROYED)
                        .bind(sql::millis(audit.at))
                        .bind(m)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error)?;
                    append(&mut tx, audit, sql::RowHashes::default()).await?;
                    tx.commit().await.map_err(store_error)?;
                    self.vault.forget(m);
                    Ok(destroyed)
                }
            }
        };
    };
}

pub(crate) use impl_store;
