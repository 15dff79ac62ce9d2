//! Group commit of submissions: one writer task takes every submission waiting and stores them
//! in one transaction, so that one durable commit (one fsync) answers many requests. Each
//! request is answered only once its batch is committed, so an acknowledgement still means "on
//! disk"; while a batch commits, the next one gathers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use legion_store::{AuditEvent, NewApplication, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Submissions waiting for the writer at most; more wait for room (back-pressure).
const QUEUE: usize = 4096;

/// A submission waiting for its batch, with where to send its outcome.
struct Job {
    app: NewApplication,
    audit: AuditEvent,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The group-commit writer: started on the first submission, in the runtime that makes it.
pub struct Intake {
    max_batch: usize,
    sender: OnceLock<mpsc::Sender<Job>>,
    /// Submissions sent to the writer and not yet answered.
    in_flight: AtomicUsize,
}

impl Intake {
    /// A writer that stores up to `max_batch` submissions per transaction.
    pub fn new(max_batch: usize) -> Self {
        Self { max_batch: max_batch.max(1), sender: OnceLock::new(), in_flight: AtomicUsize::new(0) }
    }

    /// Whether submissions are waiting to be stored: background writers (screening) give
    /// way to them for a moment, since an applicant is waiting on each.
    pub fn is_busy(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) > 0
    }

    /// Stores one submission with whatever others are waiting; answers once it is durable, with
    /// what [`Store::insert_application`] would have answered for it alone.
    pub async fn insert(
        &self,
        store: &Arc<dyn Store>,
        app: NewApplication,
        audit: AuditEvent,
    ) -> Result<(), StoreError> {
        let sender = self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(QUEUE);
            let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
            for _ in 0..writers(store.as_ref()) {
                tokio::spawn(write_batches(Arc::clone(store), Arc::clone(&receiver), self.max_batch));
            }
            sender
        });
        let (done, outcome) = oneshot::channel();
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let _answered = Answered(&self.in_flight);
        sender
            .send(Job { app, audit, done })
            .await
            .map_err(|_| StoreError::Unavailable("the submission writer has stopped".into()))?;
        outcome.await.map_err(|_| StoreError::Internal("the submission writer stopped before answering".into()))?
    }
}

/// Counts a submission as answered when dropped, however its request ends.
struct Answered<'a>(&'a AtomicUsize);

impl Drop for Answered<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How many batches are written at once. `SQLite` has one writing connection, so one. A
/// PostgreSQL batch writes its rows concurrently with others and waits only for the audit
/// log's lock, which the batch before holds until its commit is durable: with two writers,
/// one batch's rows are written while the other's commit waits for the disk.
fn writers(store: &dyn Store) -> usize {
    if store.backend() == "postgres" { 2 } else { 1 }
}

/// A writer's loop: wait for one submission, take every other one already waiting (up to
/// `max_batch`), store them together, answer each, repeat. Writers take turns at gathering.
async fn write_batches(
    store: Arc<dyn Store>,
    receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    max_batch: usize,
) {
    let mut jobs = Vec::with_capacity(max_batch);
    while receiver.lock().await.recv_many(&mut jobs, max_batch).await > 0 {
        // A request whose client went away needs no place in the batch.
        jobs.retain(|j| !j.done.is_closed());
        if jobs.is_empty() {
            continue;
        }
        let (batch, answers): (Vec<_>, Vec<_>) = jobs.drain(..).map(|j| ((j.app, j.audit), j.done)).unzip();
        #[allow(clippy::cast_precision_loss, reason = "a batch is at most a few thousand")]
        metrics::histogram!("legion_group_commit_batch_size").record(batch.len() as f64);
        let outcomes = match store.insert_applications(&batch).await {
            Ok(outcomes) if outcomes.len() == answers.len() => outcomes,
            Ok(_) => {
                let e = StoreError::Internal("the store answered a batch with the wrong number of outcomes".into());
                vec![Err(e); answers.len()]
            }
            Err(e) => vec![Err(e); answers.len()],
        };
        for (answer, outcome) in answers.into_iter().zip(outcomes) {
            let _ = answer.send(outcome);
        }
    }
}
