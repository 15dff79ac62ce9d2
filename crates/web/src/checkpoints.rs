//! The audit log's checkpointer, and the result of the last whole-log verification.
//!
//! Every server runs one [`Checkpointer`]. On start it reads the whole log from the database and
//! verifies it (hash chain, stored checkpoints) before signing anything, so a server never signs
//! a history it has not checked. It then reads events as they are committed, checking each one's
//! chain hash, and signs a checkpoint of the whole log once [`WebConfig::checkpoint_every`]
//! events are unsigned or [`WebConfig::checkpoint_interval`] has passed with any unsigned.
//! Leaves come from the rows as stored, never from what this process wrote. Servers sharing a
//! database each sign; a size already signed by another is left as it is.
//!
//! [`WebConfig::checkpoint_every`]: crate::WebConfig::checkpoint_every
//! [`WebConfig::checkpoint_interval`]: crate::WebConfig::checkpoint_interval

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use legion_audit::{CheckpointSigner, LogVerifier};
use legion_domain::Clock;
use legion_store::{
    CheckpointOutcome, Store, VerifyError, VerifyReport, read_audit_events, replay_audit_log, sign_checkpoint,
    verify_audit_log,
};
use tokio::time::Instant;

use crate::AppState;

/// What a whole-log verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditStatus {
    /// Every event and every stored checkpoint checked out.
    Verified(VerifyReport),
    /// The log or a checkpoint was changed: the first fault, worded for people (seqs and
    /// checkpoint sources only), and the first bad seq when it is known.
    Tampered {
        /// What is wrong.
        fault: String,
        /// The first bad entry.
        seq: Option<u64>,
    },
    /// The database could not be read; nothing is known about the log.
    Unreadable,
}

/// A whole-log verification and when it started (it covers the log as it was then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCheck {
    /// When the verification started.
    pub at: DateTime<Utc>,
    /// What it found.
    pub status: AuditStatus,
}

impl AuditCheck {
    /// Records `result`, logging what went wrong (faults carry seqs and sources, never event
    /// contents).
    pub fn record(at: DateTime<Utc>, result: Result<VerifyReport, &VerifyError>) -> Self {
        let status = match result {
            Ok(report) => AuditStatus::Verified(report),
            Err(e) if e.is_tampering() => {
                tracing::error!(fault = %e, "the audit log failed verification");
                AuditStatus::Tampered { fault: e.to_string(), seq: e.seq() }
            }
            Err(e) => {
                tracing::warn!(error = %e, "the audit log could not be verified");
                AuditStatus::Unreadable
            }
        };
        Self { at, status }
    }
}

/// Verifies the whole log against its stored checkpoints now, and keeps the result for the
/// auditor page. A verification that started after this call was made is as good as a new one,
/// so callers arriving while one runs wait for it and share its result.
pub async fn verify_now(state: &AppState) -> AuditCheck {
    let asked = state.clock.now();
    let mut last = state.audit_check.lock().await;
    if let Some(check) = last.as_ref().filter(|c| c.at >= asked) {
        return check.clone();
    }
    let at = state.clock.now();
    let verifier = state.keys.checkpoint.verifier();
    let result = verify_audit_log(&*state.store, &verifier, state.keys.audit_origin(), Vec::new()).await;
    let check = match result {
        Ok(report) => AuditCheck::record(at, Ok(report)),
        Err(e) => AuditCheck::record(at, Err(&e)),
    };
    *last = Some(check.clone());
    check
}

/// What one [`Checkpointer::tick`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tick {
    /// The report of the whole-log verification this tick began with (on start, and after a
    /// fault, once the log verifies again).
    pub verified: Option<VerifyReport>,
    /// The size of the checkpoint signed, and whether it was new or another server's.
    pub signed: Option<(u64, CheckpointOutcome)>,
}

/// Signs checkpoints of the audit log as it grows; see the module documentation.
pub struct Checkpointer {
    store: Arc<dyn Store>,
    signer: Arc<CheckpointSigner>,
    clock: Arc<dyn Clock>,
    every: u64,
    interval: Duration,
    /// The log read and verified so far; `None` before the first whole-log verification and
    /// after a fault.
    log: Option<LogVerifier>,
    /// The largest size known to be signed.
    signed: u64,
    last_signed: Option<Instant>,
    /// After a fault, no new whole-log verification before this.
    retry_at: Option<Instant>,
}

impl Checkpointer {
    /// A checkpointer for the log in `store`, signing with `signer` (whose key name is the
    /// origin) once `every` events are unsigned or `interval` has passed with any unsigned.
    pub fn new(
        store: Arc<dyn Store>,
        signer: Arc<CheckpointSigner>,
        clock: Arc<dyn Clock>,
        every: u64,
        interval: Duration,
    ) -> Self {
        Self {
            store,
            signer,
            clock,
            every: every.max(1),
            interval,
            log: None,
            signed: 0,
            last_signed: None,
            retry_at: None,
        }
    }

    /// The number of events read and verified so far.
    pub fn verified_size(&self) -> u64 {
        self.log.as_ref().map_or(0, LogVerifier::size)
    }

    /// One round: verify the whole log if it has not been (or failed), read the new events, and
    /// sign a checkpoint if one is due. After a fault nothing is signed until the whole log
    /// verifies again, which is tried once per interval.
    pub async fn tick(&mut self) -> Result<Tick, VerifyError> {
        let mut tick = Tick::default();
        if self.log.is_none() {
            if self.retry_at.is_some_and(|at| Instant::now() < at) {
                return Ok(tick);
            }
            let replayed =
                replay_audit_log(&*self.store, &self.signer.verifier(), self.signer.key_name(), Vec::new()).await;
            let (log, report) = replayed.inspect_err(|e| self.after_fault(e))?;
            self.signed = report.largest_checkpoint.unwrap_or(0);
            // Whatever is unsigned when a server starts is signed at once.
            self.last_signed = None;
            self.retry_at = None;
            self.log = Some(log);
            tick.verified = Some(report);
        }
        let Some(log) = self.log.as_mut() else { unreachable!("the log was read above") };
        if let Err(e) = read_audit_events(&*self.store, log, None).await {
            self.after_fault(&e);
            return Err(e);
        }
        let unsigned = log.size().saturating_sub(self.signed);
        let due = unsigned >= self.every || self.last_signed.is_none_or(|at| at.elapsed() >= self.interval);
        if unsigned == 0 || !due {
            return Ok(tick);
        }
        let row = sign_checkpoint(log, &self.signer, self.signer.key_name(), self.clock.now())
            .expect("a key name is a valid origin")
            .expect("a log with unsigned events is not empty");
        let outcome = self.store.insert_checkpoint(&row).await?;
        self.signed = log.size();
        self.last_signed = Some(Instant::now());
        tick.signed = Some((log.size(), outcome));
        Ok(tick)
    }

    /// Forgets the log after tampering is found, so that the next signature follows a whole
    /// verification; storage errors keep it, and the next tick reads on.
    fn after_fault(&mut self, e: &VerifyError) {
        if e.is_tampering() {
            self.log = None;
            self.retry_at = Some(Instant::now() + self.interval);
        }
    }
}

/// Runs a [`Checkpointer`] for the server, reading new events every
/// [`WebConfig::checkpoint_poll`](crate::WebConfig::checkpoint_poll). Its whole-log
/// verifications and any fault it finds are kept for the auditor page.
pub fn spawn_checkpointer(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut checkpointer = Checkpointer::new(
            Arc::clone(&state.store),
            Arc::clone(&state.keys.checkpoint),
            Arc::clone(&state.clock),
            state.config.checkpoint_every,
            state.config.checkpoint_interval,
        );
        loop {
            let at = state.clock.now();
            match checkpointer.tick().await {
                Ok(tick) => {
                    if let Some(report) = tick.verified {
                        tracing::info!(events = report.events, checkpoints = report.checkpoints, "audit log verified");
                        publish(&state, AuditCheck::record(at, Ok(report)));
                    }
                    if let Some((size, outcome)) = tick.signed {
                        tracing::debug!(size, ?outcome, "audit checkpoint signed");
                    }
                }
                Err(e) if e.is_tampering() => publish(&state, AuditCheck::record(at, Err(&e))),
                Err(e) => tracing::warn!(error = %e, "the audit checkpointer could not read the log"),
            }
            tokio::time::sleep(state.config.checkpoint_poll).await;
        }
    })
}

/// Keeps `check` unless an auditor's verification is running, whose result will be newer.
fn publish(state: &AppState, check: AuditCheck) {
    if let Ok(mut last) = state.audit_check.try_lock() {
        *last = Some(check);
    }
}
