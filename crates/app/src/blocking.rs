//! The bounded blocking pool: CPU-heavy and file-reading work runs here, never on the threads that
//! answer requests, and never more of it at once than its budget.
//!
//! Tokio's own blocking pool grows to hundreds of threads; left alone, a flood of logins (argon2,
//! ~20–40 ms of a core each) or a dozen large uploads read at once would take every core, and pages,
//! scans and checkpoint checks would wait behind them. Each kind of work therefore holds a permit of
//! its own budget while it runs: a login waits for a password permit, an upload for a reader permit,
//! and the two budgets together stay below the cores' worth of threads that other work needs. A kind
//! that waits does not hold up the other kind (a long import does not delay logins).

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::{AppError, AppResult};

/// What a piece of blocking work is, and so which budget it draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heavy {
    /// Hashing or verifying a password with argon2 (~20–40 ms of one core and ~19 MB each).
    Password,
    /// Reading an uploaded file: a CSV or XLSX streamed row by row (for as long as the import
    /// runs), or a FHIR document parsed whole (≤ 16 MB).
    FileReader,
    /// A big-data push job over the location pings (`app::analytics`): its kernel uses both cores
    /// for seconds, so one runs at a time.
    Analytics,
}

impl Heavy {
    /// How many of this kind run at once, at most.
    pub const fn at_once(self) -> usize {
        match self {
            Heavy::Password => 2,
            Heavy::FileReader => 2,
            Heavy::Analytics => 1,
        }
    }

    fn permits(self) -> &'static Semaphore {
        static PASSWORD: Semaphore = Semaphore::const_new(Heavy::Password.at_once());
        static FILE_READER: Semaphore = Semaphore::const_new(Heavy::FileReader.at_once());
        static ANALYTICS: Semaphore = Semaphore::const_new(Heavy::Analytics.at_once());
        match self {
            Heavy::Password => &PASSWORD,
            Heavy::FileReader => &FILE_READER,
            Heavy::Analytics => &ANALYTICS,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Heavy::Password => "password",
            Heavy::FileReader => "file reader",
            Heavy::Analytics => "analytics",
        }
    }
}

/// A permit of `kind`'s budget, waited for.
async fn permit(kind: Heavy) -> AppResult<SemaphorePermit<'static>> {
    kind.permits()
        .acquire()
        .await
        .map_err(|e| AppError::internal_in(format!("{} pool", kind.name()), e))
}

/// Runs `work` on the blocking pool once a permit of `kind` is free, and waits for its answer.
pub(crate) async fn run<T: Send + 'static>(
    kind: Heavy,
    work: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    let _permit = permit(kind).await?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::internal_in(format!("{} task", kind.name()), e))
}

/// Starts `work` on the blocking pool once a permit of `kind` is free, and returns at once with its
/// handle: for readers that stream rows through a channel while the caller writes them. The permit
/// is held until the work ends.
pub(crate) async fn start<T: Send + 'static>(
    kind: Heavy,
    work: impl FnOnce() -> T + Send + 'static,
) -> AppResult<tokio::task::JoinHandle<T>> {
    let permit = permit(kind).await?;
    Ok(tokio::task::spawn_blocking(move || {
        let answer = work();
        drop(permit);
        answer
    }))
}

/// Permits of `kind` free right now (for tests and the statistics page).
pub fn free(kind: Heavy) -> usize {
    kind.permits().available_permits()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_budget_runs_at_once_and_one_kind_does_not_wait_for_the_other() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(std::sync::Mutex::new(gate));
        // Six readers that each hold their permit until released.
        let mut readers = Vec::new();
        for _ in 0..6 {
            let (running, most, gate) = (running.clone(), most.clone(), gate.clone());
            readers.push(tokio::spawn(async move {
                let handle = start(Heavy::FileReader, move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    gate.lock().unwrap().recv().unwrap();
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
                .unwrap();
                handle.await.unwrap();
            }));
        }
        // Wait until the budget is taken.
        while free(Heavy::FileReader) > 0 {
            tokio::task::yield_now().await;
        }
        // While every reader permit is held, password work still runs.
        let hashed = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            run(Heavy::Password, || 6 * 7),
        )
        .await
        .expect("password work waited for the file readers")
        .unwrap();
        assert_eq!(hashed, 42);
        for _ in 0..6 {
            release.send(()).unwrap();
        }
        for reader in readers {
            reader.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), Heavy::FileReader.at_once());
        assert_eq!(free(Heavy::FileReader), Heavy::FileReader.at_once());
    }
}
