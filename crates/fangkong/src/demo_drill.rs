//! The demo's finished drill (应急演练): the small scenario played unattended into its own sandbox
//! beside the demo (a temporary database, so the demo's story is untouched), measured there, and
//! its run with the scored after-action report filed into the demo's drill tables.

use std::sync::Arc;

use anyhow::Result;
use fangkong_app::{App, SimulationClock};

use crate::drill::{load_scenario, play_unattended, prepare};

/// Plays the small drill in a temporary sandbox and files its report in `app`; returns the run's
/// id in `app` and its score.
pub async fn seed_drill(app: &App) -> Result<(i64, String)> {
    let scenario = load_scenario("small")?;
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(SimulationClock::new(scenario.start_at(), 0.0));
    let location = dir.path().join("drill.sqlite");
    let sandbox = prepare(&location.to_string_lossy(), &scenario, clock.clone()).await?;
    let outcome = play_unattended(sandbox, clock, &scenario).await?;
    let reader = outcome
        .app
        .actor_for_user("drill_commander", "demo")
        .await?;
    let (run, steps) = outcome
        .app
        .drill_run_records(&reader, outcome.run_id)
        .await?;
    let commander = app.actor_for_user("commander", "demo").await?;
    let id = app.file_drill_copy(&commander, &run, &steps).await?;
    Ok((id, outcome.score))
}
