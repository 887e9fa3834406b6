//! Runs cut short by a crash (resident imports, lab result uploads, lead push imports).
//!
//! Every run writes its counters and moves its heartbeat (`progress_at`) after each committed
//! chunk, so a run killed mid-way still says what it committed. An unfinished run whose heartbeat
//! is older than [`RUN_STALE_AFTER_SECONDS`] is marked interrupted (已中断) by
//! [`App::mark_interrupted_runs`], at server start and by the periodic pass. A live run moves its
//! heartbeat within seconds, so servers sharing one database never mark each other's live runs;
//! should a very slow step outlast the bound, the run's next progress write clears the mark.

use crate::{App, AppResult};

/// How long an unfinished run may go without progress before it counts as interrupted. A live
/// run writes progress after every chunk (seconds apart).
pub const RUN_STALE_AFTER_SECONDS: i64 = 5 * 60;

impl App {
    /// One pass: marks the unfinished runs without progress for [`RUN_STALE_AFTER_SECONDS`] as
    /// interrupted (at the app clock's now). Idempotent; returns how many runs it marked.
    pub async fn mark_interrupted_runs(&self) -> AppResult<u64> {
        let now = self.now_unix();
        let marked = self
            .store
            .mark_interrupted_runs(now - RUN_STALE_AFTER_SECONDS, now)
            .await?;
        if marked > 0 {
            tracing::warn!(
                marked,
                "runs cut short (no progress for {RUN_STALE_AFTER_SECONDS} s) marked interrupted"
            );
        }
        Ok(marked)
    }
}
