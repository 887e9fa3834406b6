//! `fangkong drill` as a county runs it: the small scenario played unattended into a new sandbox
//! prints its score, and the report filed in the sandbox has the scenario's figures (three
//! positives reported, the key people's leads landed, the first report filed); a second drill in
//! the same sandbox measures only its own window; a production database is refused with nothing
//! written; a scenario file with a bad figure is refused naming it.

use std::process::Command;
use std::sync::Arc;

use fangkong_app::{App, FixedClock, InstanceKind, Store};
use fangkong_domain::drills::DrillStep;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fangkong"))
}

fn drill(db: &std::path::Path, extra: &[&str]) -> std::process::Output {
    bin()
        .args(["drill", "--unattended", "--db"])
        .arg(db)
        .args(extra)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

async fn open(db: &std::path::Path) -> App {
    let store = Store::open_sqlite_file(db).await.unwrap();
    let at = chrono::Utc::now();
    App::new(store, Arc::new(FixedClock::new(at)))
}

#[tokio::test]
async fn an_unattended_drill_scores_the_small_scenario_and_production_is_refused() {
    if !crate::slow_suites_enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("drill.sqlite");
    let out = drill(&db, &["--scenario", "small"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "drill failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("各队") && stdout.contains("流调队"),
        "{stdout}"
    );

    let app = open(&db).await;
    let commander = app.actor_for_user("drill_commander", "test").await.unwrap();
    let runs = app.drill_runs(&commander).await.unwrap();
    assert_eq!(runs.len(), 1);
    let report = app.drill_report(&commander, runs[0].id).await.unwrap();
    assert!(report.run.finished);
    assert!(
        stdout.contains(&format!("总分 {}（满分 100）", report.run.score)),
        "{stdout}"
    );
    let step = |s: DrillStep| report.steps.iter().find(|l| l.step == s).unwrap().clone();
    // The scenario's three positives, each reported; its ten key people and the contacts' leads.
    assert_eq!(step(DrillStep::CaseReport).items, 3);
    assert_eq!(step(DrillStep::PositiveToCase).items, 3);
    assert!(step(DrillStep::LeadLanded).items >= 10);
    assert_eq!(step(DrillStep::ContactsListed).items, 20);
    assert_eq!(step(DrillStep::FirstReport).on_time, 1);
    // The simulated teams are mostly on time, some late: a baseline, neither 0 nor 100.
    let score = report.run.score_tenths.unwrap();
    assert!((600..1000).contains(&score), "{score}");
    assert!(report.late_total > 0);
    drop(app);

    // A second drill in the same sandbox measures only its own window and its own people.
    let again = drill(&db, &["--scenario", "small"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let app = open(&db).await;
    let runs = app.drill_runs(&commander).await.unwrap();
    assert_eq!(runs.len(), 2);
    let second = app.drill_report(&commander, runs[0].id).await.unwrap();
    let cases = second
        .steps
        .iter()
        .find(|l| l.step == DrillStep::CaseReport)
        .unwrap();
    assert_eq!(cases.items, 3);
    drop(app);

    // A production database: refused, exit non-zero, nothing written.
    let production = dir.path().join("production.sqlite");
    let app = open(&production).await;
    app.claim_instance_kind(InstanceKind::Production)
        .await
        .unwrap();
    drop(app);
    let refused = drill(&production, &[]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("拒绝") && stderr.contains("正式库"),
        "{stderr}"
    );
    let app = open(&production).await;
    assert_eq!(app.store_for_tools().count_regions().await.unwrap(), 0);
    assert!(
        app.store_for_tools()
            .user_by_username("drill_commander")
            .await
            .unwrap()
            .is_none()
    );

    // A scenario file with a bad figure: refused, naming the field.
    let file = dir.path().join("bad.json");
    let bad = include_str!("../../../domain/data/drills/small.json")
        .replace("\"positives\": 3", "\"positives\": 0");
    std::fs::write(&file, bad).unwrap();
    let refused = drill(
        &dir.path().join("other.sqlite"),
        &["--scenario", file.to_str().unwrap()],
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("positives"), "{stderr}");
}
