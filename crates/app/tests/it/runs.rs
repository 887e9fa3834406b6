//! Background work: the supervised jobs (each step driven to completion without sleeping; a job that
//! panics is restarted, one that keeps panicking stops the server loudly; shutdown ends them), and
//! runs cut short by a crash (security finding L4): resident imports, lab result uploads and lead
//! push imports that committed chunks and then died are marked 已中断 by the periodic step, with
//! the counters of what they committed; live runs and finished runs are left alone.
//!
//! The crash is simulated with the store pieces a run uses after each committed chunk (create the
//! run, write its progress), then nothing more — exactly what a killed process leaves behind.

use crate::support::*;
use fangkong_app::jobs::{Job, PANICS_BEFORE_GIVING_UP};
use fangkong_app::runs::RUN_STALE_AFTER_SECONDS;
use fangkong_store::ImportCounters;
use fangkong_store::mass_testing::ResultUploadRecord;

story!(
    story_interrupted_runs,
    interrupted_runs_are_marked_with_their_counters_sqlite,
    interrupted_runs_are_marked_with_their_counters_postgres
);

async fn story_interrupted_runs(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    let started = app.now_unix();

    // A finished resident import (a real run through the app).
    let finished = import_population(&app, &guard, &world.admin).await;
    let finished_before = app
        .import_run(&world.admin, finished.import_id)
        .await
        .expect("finished import");
    assert!(finished_before.finished_at.is_some());
    assert_eq!(finished_before.interrupted_at, None);

    // A resident import that committed two chunks and then crashed.
    let crashed_import = app
        .store_for_tools()
        .create_import("admin", "crashed.csv", "csv", started)
        .await
        .expect("create import");
    let committed = ImportCounters {
        rows_total: 100_000,
        inserted: 99_000,
        updated: 500,
        unchanged: 300,
        problems: 200,
    };
    app.store_for_tools()
        .record_import_progress(crashed_import, &[], committed, None, started + 5)
        .await
        .expect("import progress");

    // A lab upload that committed 1,981 results and then crashed.
    let mut upload = ResultUploadRecord {
        id: 0,
        started_at: started,
        finished_at: None,
        username: "lab".into(),
        lab_name: "藁城区检测机构".into(),
        file_name: "results.csv".into(),
        format: "csv".into(),
        rows_total: 2_000,
        applied: 1_981,
        unchanged: 4,
        problems: 15,
        positives: 1,
        interrupted_at: None,
    };
    upload.id = app
        .store_for_tools()
        .insert_result_upload(&upload)
        .await
        .expect("create upload");
    app.store_for_tools()
        .finish_result_upload(&upload, started + 3)
        .await
        .expect("upload progress");

    // A lead push import that committed one chunk, and one that died before its first chunk.
    let crashed_leads = app
        .store_for_tools()
        .create_lead_import("admin", "push.csv", started)
        .await
        .expect("create lead import");
    app.store_for_tools()
        .record_lead_import_progress(crashed_leads, &[], 2_000, 1_990, 7, 3, None, started + 4)
        .await
        .expect("lead import progress");
    let never_progressed = app
        .store_for_tools()
        .create_lead_import("admin", "empty-start.csv", started)
        .await
        .expect("create lead import");

    // Four minutes on, nothing is stale yet: a run may still be writing.
    guard.clock.advance(chrono::Duration::seconds(4 * 60));
    assert_eq!(app.mark_interrupted_runs().await.expect("pass"), 0);
    let run = app
        .import_run(&world.admin, crashed_import)
        .await
        .expect("run");
    assert_eq!(run.finished_at, None);
    assert_eq!(run.interrupted_at, None);

    // A live import that has just written a chunk.
    let live = app
        .store_for_tools()
        .create_import("admin", "live.csv", "csv", app.now_unix() - 30)
        .await
        .expect("create live import");
    let live_counters = ImportCounters {
        rows_total: 5_000,
        inserted: 5_000,
        ..ImportCounters::default()
    };
    app.store_for_tools()
        .record_import_progress(live, &[], live_counters, None, app.now_unix())
        .await
        .expect("live progress");

    // Past the bound for the crashed runs (not for the live one): the pass marks the four.
    guard.clock.advance(chrono::Duration::seconds(
        RUN_STALE_AFTER_SECONDS - 4 * 60 + 60,
    ));
    let marked_at = app.now_unix();
    assert_eq!(app.mark_interrupted_runs().await.expect("pass"), 4);

    let run = app
        .import_run(&world.admin, crashed_import)
        .await
        .expect("run");
    assert_eq!(run.interrupted_at, Some(marked_at));
    assert_eq!(run.finished_at, Some(marked_at));
    assert_eq!(
        (
            run.rows_total,
            run.inserted,
            run.updated,
            run.unchanged,
            run.problems
        ),
        (100_000, 99_000, 500, 300, 200),
        "the counters are what the crashed import committed"
    );

    let report = app
        .result_upload(&world.lab, upload.id)
        .await
        .expect("upload report");
    assert_eq!(report.upload.interrupted_at, Some(marked_at));
    assert_eq!(report.upload.finished_at, Some(marked_at));
    assert_eq!(
        (
            report.upload.rows_total,
            report.upload.applied,
            report.upload.unchanged,
            report.upload.problems,
            report.upload.positives
        ),
        (2_000, 1_981, 4, 15, 1),
        "the counters are what the crashed upload committed"
    );
    let listed = app
        .recent_result_uploads(&world.lab)
        .await
        .expect("uploads");
    assert_eq!(
        listed
            .iter()
            .find(|u| u.id == upload.id)
            .map(|u| u.interrupted_at),
        Some(Some(marked_at))
    );

    let leads = app
        .lead_import_report(&world.admin, crashed_leads)
        .await
        .expect("lead import report");
    assert_eq!(leads.interrupted_at, Some(marked_at));
    assert_eq!(
        (
            leads.rows_total,
            leads.inserted,
            leads.unchanged,
            leads.problem_rows
        ),
        (2_000, 1_990, 7, 3)
    );
    let empty = app
        .lead_import_run(&world.admin, never_progressed)
        .await
        .expect("lead import run");
    assert_eq!(empty.interrupted_at, Some(marked_at));
    assert_eq!(empty.rows_total, 0);

    // The live import is not marked; the finished one is untouched.
    let live_run = app.import_run(&world.admin, live).await.expect("live run");
    assert_eq!(live_run.finished_at, None);
    assert_eq!(live_run.interrupted_at, None);
    assert_eq!(
        app.import_run(&world.admin, finished.import_id)
            .await
            .expect("finished import"),
        finished_before
    );

    // Running the step again changes nothing.
    let before_again = app
        .recent_imports(&world.admin)
        .await
        .expect("recent imports");
    guard.clock.advance(chrono::Duration::seconds(30));
    assert_eq!(app.mark_interrupted_runs().await.expect("pass"), 0);
    assert_eq!(
        app.recent_imports(&world.admin)
            .await
            .expect("recent imports"),
        before_again
    );
    assert_eq!(
        app.result_upload(&world.lab, upload.id)
            .await
            .expect("upload report")
            .upload,
        report.upload
    );

    // A live run that stalls past the bound (a very slow step) is marked, and its next progress
    // write clears the mark: a run that writes is alive.
    guard
        .clock
        .advance(chrono::Duration::seconds(RUN_STALE_AFTER_SECONDS));
    assert_eq!(app.mark_interrupted_runs().await.expect("pass"), 1);
    assert!(
        app.import_run(&world.admin, live)
            .await
            .expect("live run")
            .interrupted_at
            .is_some()
    );
    let done = app.now_unix();
    app.store_for_tools()
        .record_import_progress(live, &[], live_counters, Some(done), done)
        .await
        .expect("live run finishes");
    let live_run = app.import_run(&world.admin, live).await.expect("live run");
    assert_eq!(live_run.interrupted_at, None);
    assert_eq!(live_run.finished_at, Some(done));
}

story!(
    story_job_steps,
    every_background_step_runs_to_completion_when_called_sqlite,
    every_background_step_runs_to_completion_when_called_postgres
);

async fn story_job_steps(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    app.try_run_code_events().await.unwrap();
    app.try_run_event_passes().await.unwrap();
    app.try_run_due_codes().await.unwrap();
    app.try_run_interrupted_runs().await.unwrap();
    // A recompute is taken only when asked for, and asking twice before it runs asks once.
    assert!(!app.recompute_pending());
    app.designate_risk_area(
        &world.commander_a,
        &fangkong_app::risk_areas::RiskAreaForm {
            scheme: String::new(),
            tier: "high".into(),
            unit: "village".into(),
            region_code: VILLAGE_A1.into(),
            place_name: String::new(),
            reason: "病例居住地".into(),
            occurred_at: String::new(),
        },
    )
    .await
    .unwrap();
    assert!(app.recompute_pending(), "designating asks for a recompute");
    app.try_run_requested_recompute().await.unwrap();
    assert!(
        !app.recompute_pending(),
        "the recompute job took the request"
    );
    app.try_run_requested_recompute().await.unwrap();
}

static PASSES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static PANICKED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn counting_step(
    _: &fangkong_app::App,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = fangkong_app::AppResult<()>> + Send + '_>> {
    Box::pin(async {
        PASSES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    })
}

static SLOW_PASSES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A pass that takes a while, so that shutdown can arrive in the middle of it.
fn slow_step(
    _: &fangkong_app::App,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = fangkong_app::AppResult<()>> + Send + '_>> {
    Box::pin(async {
        SLOW_PASSES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        Ok(())
    })
}

fn panicking_step(
    _: &fangkong_app::App,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = fangkong_app::AppResult<()>> + Send + '_>> {
    Box::pin(async {
        PANICKED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        panic!("a job that cannot run");
    })
}

#[tokio::test]
async fn a_panicking_job_is_restarted_then_stops_the_server_loudly_and_shutdown_ends_the_jobs() {
    use std::sync::atomic::Ordering::SeqCst;
    use std::time::Duration;
    let (app, _guard) = fresh_app(Backend::Sqlite).await;

    // A job that panics at every pass: restarted until the limit, then run_jobs fails naming it,
    // while a healthy job ran beside it.
    let failed = tokio::time::timeout(
        Duration::from_secs(30),
        app.run_jobs_of(
            vec![
                Job::new("healthy", Duration::from_millis(1), counting_step),
                Job::new("broken", Duration::from_millis(1), panicking_step),
            ],
            std::future::pending(),
        ),
    )
    .await
    .expect("the supervisor gave up in time")
    .expect_err("a job that keeps panicking stops the jobs");
    assert_eq!(failed.job, "broken");
    assert_eq!(PANICKED.load(SeqCst), PANICS_BEFORE_GIVING_UP);

    // Shutdown: the jobs stop after the pass in flight, and run_jobs returns without error.
    let before = PASSES.load(SeqCst);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn({
        let app = app.clone();
        async move {
            app.run_jobs_of(
                vec![
                    Job::new("healthy", Duration::from_millis(1), counting_step),
                    Job::new("slow", Duration::from_millis(1), slow_step),
                ],
                async {
                    let _ = stopped.await;
                },
            )
            .await
        }
    });
    // Stop while the slow job is inside its pass: it must still stop once the pass ends.
    while PASSES.load(SeqCst) < before + 3 || SLOW_PASSES.load(SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("shutdown ended the jobs")
        .unwrap()
        .expect("a shutdown is not a failure");
}
