//! Background work, supervised. Each job is a `try_run_*` step that does one pass and returns; the
//! server (`serve`, `demo`) runs them all with [`App::run_jobs`], which repeats each on its interval,
//! logs a failed pass and takes it again next time (every pass is idempotent), restarts a job whose
//! pass panicked, and gives up loudly — returning an error that ends the process — when one keeps
//! panicking. On shutdown it lets the pass in flight finish and stops.
//!
//! Request paths never spawn work of their own: a request that needs everyone's codes recomputed
//! (a risk area designated or lifted) asks for it with [`App::request_recompute`], and the recompute
//! job takes it at once. Tests drive each step to completion by calling it, without sleeping.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use std::sync::Arc;

use tokio::sync::{Mutex, Notify, mpsc, watch};

use crate::{App, AppError, AppResult, StoreError};

/// A pass of one job, boxed so that the jobs can be listed in one table.
pub type Step = for<'a> fn(&'a App) -> Pin<Box<dyn Future<Output = AppResult<()>> + Send + 'a>>;

/// One supervised job: what it is called in the log, how often it runs, and its step.
#[derive(Clone, Copy)]
pub struct Job {
    pub name: &'static str,
    pub every: Duration,
    /// Woken at once by [`App::request_recompute`], not only by its interval.
    wakes_on_request: bool,
    step: Step,
}

impl Job {
    /// A job that runs `step` every `every` (tests build their own; the server runs [`jobs`]).
    pub fn new(name: &'static str, every: Duration, step: Step) -> Job {
        Job {
            name,
            every,
            wakes_on_request: false,
            step,
        }
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("name", &self.name)
            .field("every", &self.every)
            .finish()
    }
}

/// The jobs the server runs, in the order a positive travels: person events into codes, then into
/// cases, leads and measures.
pub fn jobs() -> [Job; 6] {
    [
        Job {
            name: "health codes from person events",
            every: Duration::from_secs(10),
            wakes_on_request: false,
            step: |app| Box::pin(app.try_run_code_events()),
        },
        Job {
            name: "cases, leads and measures from person events",
            every: Duration::from_secs(10),
            wakes_on_request: false,
            step: |app| Box::pin(app.try_run_event_passes()),
        },
        Job {
            name: "codes due by time",
            every: Duration::from_secs(60),
            wakes_on_request: false,
            step: |app| Box::pin(app.try_run_due_codes()),
        },
        Job {
            name: "runs cut short",
            every: Duration::from_secs(10),
            wakes_on_request: false,
            step: |app| Box::pin(app.try_run_interrupted_runs()),
        },
        Job {
            name: "recompute of everyone's code",
            // Woken at once by a request; the interval only bounds how late a missed wake-up is.
            every: Duration::from_secs(60),
            wakes_on_request: true,
            step: |app| Box::pin(app.try_run_requested_recompute()),
        },
        Job {
            name: "big-data push analytics",
            // After the event passes have made the cases; a job's kernel takes seconds.
            every: Duration::from_secs(30),
            wakes_on_request: false,
            step: |app| Box::pin(app.try_run_analytics()),
        },
    ]
}

/// A job panicked this many times: the supervisor gives up and the process ends (a job that cannot
/// run would leave codes, leads or measures silently stale).
pub const PANICS_BEFORE_GIVING_UP: usize = 3;

/// Why [`App::run_jobs`] stopped other than by shutdown.
#[derive(Debug, thiserror::Error)]
#[error("background job “{job}” panicked {PANICS_BEFORE_GIVING_UP} times; stopping")]
pub struct JobsFailed {
    pub job: &'static str,
}

/// Which group-commit writer gave up, if one did: [`App::run_jobs`] ends the process on it, as it
/// does for a job that keeps panicking.
pub(crate) type WriterFailures = Arc<watch::Sender<Option<&'static str>>>;

/// A fresh [`WriterFailures`] with no failure.
pub(crate) fn writer_failures() -> WriterFailures {
    Arc::new(watch::channel(None).0)
}

/// Starts a group-commit writer (the scan writer, the passage writer) under supervision and returns
/// the queue requests send their work to. The writer is started with the [`App`], not by the first
/// request that needs it, so no request path spawns a task.
///
/// The queue outlives a panicking writer: the writer holds it through a lock, a panic releases the
/// lock, and the restarted writer takes the jobs still waiting (only the group in flight is lost,
/// and its requests are answered with an error, never left hanging). After
/// [`PANICS_BEFORE_GIVING_UP`] panics the supervisor stops, requests are refused, and `failed`
/// tells [`App::run_jobs`] to end the process. When the last sender is dropped (the `App` is gone)
/// the writer drains the queue and ends.
pub(crate) fn start_writer<J, W, F>(
    name: &'static str,
    capacity: usize,
    failed: &WriterFailures,
    writer: W,
) -> mpsc::Sender<J>
where
    J: Send + 'static,
    W: Fn(Arc<Mutex<mpsc::Receiver<J>>>) -> F + Send + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let (queue, received) = mpsc::channel(capacity);
    let received = Arc::new(Mutex::new(received));
    let failed = failed.clone();
    tokio::spawn(async move {
        let mut panics = 0;
        loop {
            match tokio::spawn(writer(received.clone())).await {
                Ok(()) => return,
                Err(error) if error.is_cancelled() => return,
                Err(_) => {
                    panics += 1;
                    tracing::error!(writer = name, panics, "group-commit writer panicked");
                    if panics >= PANICS_BEFORE_GIVING_UP {
                        tracing::error!(writer = name, "group-commit writer gave up");
                        failed.send_replace(Some(name));
                        // Dropping the queue's receiving end refuses every later request.
                        received.lock().await.close();
                        return;
                    }
                }
            }
        }
    });
    queue
}

/// Why a group-commit writer did not answer a request with its outcome. The user sees the
/// generic internal message ([`AppError::Internal`]); the log shows the chain, down to the
/// database's message when the group's transaction failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriterError {
    /// The writer is gone (it gave up after panicking, or the `App` is shutting down) and took
    /// no job.
    #[error("{writer} stopped")]
    Stopped { writer: &'static str },
    /// The writer took the job but ended without answering it (it panicked in the group).
    #[error("{writer} dropped the reply")]
    DroppedReply { writer: &'static str },
    /// The transaction of the group holding the job failed: nothing of the group was written.
    /// Every request of the group is answered with the same cause.
    #[error("{writer}: a group of {size} failed")]
    GroupFailed {
        writer: &'static str,
        size: usize,
        #[source]
        cause: Arc<StoreError>,
    },
}

impl WriterError {
    /// The answer for every request of a group whose transaction failed with `cause`, logged once.
    pub(crate) fn group_failed(writer: &'static str, size: usize, cause: StoreError) -> Self {
        let error = WriterError::GroupFailed {
            writer,
            size,
            cause: Arc::new(cause),
        };
        if let Some(text) = AppError::internal(error.shared()).internal_log_text() {
            tracing::error!(error = %text, "group-commit writer's transaction failed");
        }
        error
    }

    /// The same error for another request (a group's cause is shared, not copied).
    pub(crate) fn shared(&self) -> Self {
        match self {
            WriterError::Stopped { writer } => WriterError::Stopped { writer },
            WriterError::DroppedReply { writer } => WriterError::DroppedReply { writer },
            WriterError::GroupFailed {
                writer,
                size,
                cause,
            } => WriterError::GroupFailed {
                writer,
                size: *size,
                cause: cause.clone(),
            },
        }
    }
}

impl From<WriterError> for AppError {
    fn from(error: WriterError) -> Self {
        AppError::internal(error)
    }
}

/// Requests for a recompute of everyone's code, taken by the recompute job.
#[derive(Debug, Default)]
pub(crate) struct RecomputeRequests {
    /// The cause of the latest request not yet taken (for the log).
    pending: std::sync::Mutex<Option<&'static str>>,
    wake: Notify,
}

impl App {
    /// Asks the recompute job to recompute everyone's code (a risk area changed). Returns at once;
    /// requests made while one recompute runs are taken together once more afterwards, so the last
    /// change is always seen.
    pub(crate) fn request_recompute(&self, cause: &'static str) {
        *self.recompute.pending.lock().expect("recompute lock") = Some(cause);
        self.recompute.wake.notify_one();
    }

    /// Person events into health-code facts; the verifier's cached codes refreshed.
    pub async fn try_run_code_events(&self) -> AppResult<()> {
        self.sync_code_events().await?;
        self.refresh_verifier_codes().await
    }

    /// Single positives into cases, contacts into leads, contacts, cases and landed leads into
    /// measures, then the leads of people already under control landed — in that order, so one
    /// pass carries a positive as far as it goes; residents' moves into leads, measures and the
    /// open rounds' targets; the early-warning signals into alerts and the emergency checklist's
    /// tasks closed by the work done. Each pass is
    /// tried even when an earlier one failed; the first failure is returned.
    pub async fn try_run_event_passes(&self) -> AppResult<()> {
        let cases = self.sync_case_events().await.map(|_| ());
        let leads = self.sync_lead_events().await.map(|_| ());
        let measures = self.sync_isolation_events().await.map(|_| ());
        let landed = self.land_leads_of_controlled_people().await.map(|_| ());
        let rounds = self.sync_testing_events().await.map(|_| ());
        let clinics = self.sync_fever_clinic_results().await.map(|_| ());
        let pharmacies = self.try_run_pharmacy_passes().await;
        // Early warning: signals into alerts, then the checklist tasks the modules have done.
        let alerts = self.sync_warning_signals().await.map(|_| ());
        let tasks = self.refresh_emergency_tasks().await.map(|_| ());
        cases
            .and(leads)
            .and(measures)
            .and(landed)
            .and(rounds)
            .and(clinics)
            .and(pharmacies)
            .and(alerts)
            .and(tasks)
    }

    /// Codes whose answer changed with time alone (a turn-green date passed).
    pub async fn try_run_due_codes(&self) -> AppResult<()> {
        self.refresh_due_codes().await.map(|_| ())
    }

    /// Runs cut short by a crash marked 已中断 (see [`crate::runs`]).
    pub async fn try_run_interrupted_runs(&self) -> AppResult<()> {
        self.mark_interrupted_runs().await.map(|_| ())
    }

    /// The recompute a request asked for, if any.
    pub async fn try_run_requested_recompute(&self) -> AppResult<()> {
        let cause = self
            .recompute
            .pending
            .lock()
            .expect("recompute lock")
            .take();
        let Some(cause) = cause else {
            return Ok(());
        };
        let report = self.recompute_all_codes(cause).await?;
        tracing::info!(
            people = report.people,
            changed = report.changed,
            millis = report.millis as u64,
            cause,
            "codes recomputed"
        );
        Ok(())
    }

    /// Runs every job of [`jobs`] until `shutdown` completes (then lets the passes in flight end)
    /// or a job keeps panicking (then returns [`JobsFailed`]).
    pub async fn run_jobs(
        &self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), JobsFailed> {
        self.run_jobs_of(jobs().to_vec(), shutdown).await
    }

    /// Whether a recompute was asked for and not yet taken.
    pub fn recompute_pending(&self) -> bool {
        self.recompute
            .pending
            .lock()
            .expect("recompute lock")
            .is_some()
    }

    /// [`App::run_jobs`] for the given jobs.
    pub async fn run_jobs_of(
        &self,
        jobs: Vec<Job>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), JobsFailed> {
        // A flag, not a notification: a job in the middle of its pass when shutdown comes sees it
        // as soon as it next waits (a `Notify` would wake only the jobs already waiting).
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut running = tokio::task::JoinSet::new();
        let mut names = std::collections::HashMap::new();
        let mut panics = std::collections::HashMap::<&'static str, usize>::new();
        let spawn = |running: &mut tokio::task::JoinSet<()>, job: Job| {
            let (app, mut stopped) = (self.clone(), stopped.clone());
            running
                .spawn(async move { app.run_job(job, &mut stopped).await })
                .id()
        };
        for job in jobs {
            names.insert(spawn(&mut running, job), job);
        }
        tokio::pin!(shutdown);
        let mut writer_failed = self.writer_failures.subscribe();
        let writer_gave_up = async move {
            // Copied out at once: the borrow of the watched value must not live across an await.
            let failed = writer_failed
                .wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|name| *name);
            match failed {
                Some(name) => name,
                // The App holds the sender, so this cannot happen; wait like a healthy writer.
                None => std::future::pending().await,
            }
        };
        tokio::pin!(writer_gave_up);
        loop {
            tokio::select! {
                job = &mut writer_gave_up => {
                    let _ = stop.send(true);
                    running.abort_all();
                    return Err(JobsFailed { job });
                }
                () = &mut shutdown => {
                    let _ = stop.send(true);
                    while running.join_next().await.is_some() {}
                    tracing::info!("background jobs stopped");
                    return Ok(());
                }
                Some(ended) = running.join_next_with_id() => {
                    let id = match &ended {
                        Ok((id, ())) => *id,
                        Err(error) => error.id(),
                    };
                    let Some(job) = names.remove(&id) else { continue };
                    let count = panics.entry(job.name).or_default();
                    *count += 1;
                    tracing::error!(job = job.name, panics = *count, "background job stopped; restarting it");
                    if *count >= PANICS_BEFORE_GIVING_UP {
                        let _ = stop.send(true);
                        running.abort_all();
                        return Err(JobsFailed { job: job.name });
                    }
                    names.insert(spawn(&mut running, job), job);
                }
            }
        }
    }

    /// One job's loop: a pass, then a wait for its interval (the recompute job also wakes at a
    /// request), until `stopped` turns true. A failed pass is logged and taken again next time.
    async fn run_job(&self, job: Job, stopped: &mut tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(error) = (job.step)(self).await {
                tracing::warn!(
                    job = job.name,
                    %error,
                    cause = error.internal_log_text().unwrap_or_default(),
                    "background pass failed; will retry"
                );
            }
            let wait = async {
                if job.wakes_on_request {
                    let _ = tokio::time::timeout(job.every, self.recompute.wake.notified()).await;
                } else {
                    tokio::time::sleep(job.every).await;
                }
            };
            tokio::select! {
                () = wait => {}
                _ = stopped.wait_for(|stop| *stop) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;

    type Doubling = (i32, oneshot::Sender<i32>);

    /// A writer that doubles each number and panics on a zero, as a writer with a bug would.
    async fn doubling_writer(queue: Arc<Mutex<mpsc::Receiver<Doubling>>>) {
        let mut received = queue.lock().await;
        while let Some((number, reply)) = received.recv().await {
            assert_ne!(number, 0, "the writer's bug");
            let _ = reply.send(number * 2);
        }
    }

    async fn ask(queue: &mpsc::Sender<Doubling>, number: i32) -> Option<i32> {
        let (reply, answer) = oneshot::channel();
        queue.send((number, reply)).await.ok()?;
        answer.await.ok()
    }

    #[test]
    fn a_failed_group_keeps_its_store_error_under_every_request_it_answers() {
        use std::error::Error as _;

        let failed = WriterError::group_failed("scan writer", 3, StoreError::BulkLoadInProgress);
        // Each request of the group gets the same cause, shared.
        let answers: Vec<AppError> = vec![failed.shared().into(), failed.into()];
        for error in answers {
            // What the user sees is what it was when the cause was a text: the generic message.
            assert_eq!(
                error.to_string(),
                "系统内部错误，请稍后重试；如果一直出现，请联系管理员"
            );
            assert_eq!(error.code(), "internal");
            // The log shows the chain down to the store's words.
            assert_eq!(
                error.internal_log_text().as_deref(),
                Some(
                    "scan writer: a group of 3 failed: a first bulk load of residents is in progress"
                )
            );
            let writer = error
                .source()
                .and_then(|e| e.downcast_ref::<WriterError>())
                .expect("the writer's error is the source");
            let store = writer
                .source()
                .and_then(|e| e.downcast_ref::<Arc<StoreError>>())
                .expect("the store error is kept under it");
            assert!(matches!(**store, StoreError::BulkLoadInProgress));
        }
        let stopped: AppError = WriterError::Stopped {
            writer: "passage writer",
        }
        .into();
        assert_eq!(
            stopped.internal_log_text().as_deref(),
            Some("passage writer stopped")
        );
    }

    #[tokio::test]
    async fn a_panicking_writer_keeps_its_queue_then_gives_up_loudly() {
        let failed = writer_failures();
        let queue = start_writer("doubling writer", 16, &failed, doubling_writer);
        assert_eq!(ask(&queue, 1).await, Some(2));
        // The job that hit the bug is answered with an error (its reply dropped), never left hanging…
        assert_eq!(ask(&queue, 0).await, None);
        // …and the restarted writer takes the next jobs from the same queue.
        assert_eq!(ask(&queue, 3).await, Some(6));
        assert_eq!(*failed.borrow(), None);
        assert_eq!(ask(&queue, 0).await, None);
        assert_eq!(ask(&queue, 0).await, None);
        // Third panic: the supervisor gives up, says so, and later requests are refused.
        let mut watching = failed.subscribe();
        let gave_up = *watching.wait_for(Option::is_some).await.unwrap();
        assert_eq!(gave_up, Some("doubling writer"));
        assert_eq!(ask(&queue, 4).await, None);
    }
}
