//! Emergency drills (应急演练): a run in a sandbox measured from the sandbox's own records — a case
//! reported in time and one late, a contact listed, the contacts the scenario expects but nobody
//! entered — scored, filed, finished; a production database (or one never claimed a sandbox)
//! refuses a drill, as does a role without the right; a report is read only within jurisdiction.

use crate::support::*;
use chrono::Duration;
use fangkong_app::auth::NewUser;
use fangkong_app::investigation::{CaseAction, CaseForm, ContactForm};
use fangkong_app::{App, AppError, InstanceKind};
use fangkong_domain::drills::{DrillMode, DrillStep, Scenario, parse_scenario};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    a_drill_is_measured_from_the_sandboxs_records_and_scored,
    drill_story_sqlite,
    drill_story_postgres
);
story!(
    a_production_database_refuses_a_drill,
    drill_refused_sqlite,
    drill_refused_postgres
);

async fn user(app: &App, username: &str, role: Role, jurisdiction: &str) -> fangkong_app::Actor {
    app.create_user_unchecked(
        &NewUser {
            username: username.into(),
            display_name: format!("{username} 用户"),
            role,
            jurisdiction: RegionCode::parse(jurisdiction).unwrap(),
            password: PASSWORD.into(),
        },
        "test",
    )
    .await
    .unwrap();
    login(app, username).await
}

/// Two positives, two close contacts expected, one key person; 48 hours.
fn scenario() -> Scenario {
    let json = include_str!("../../../domain/data/drills/small.json")
        .replace("\"positives\": 3", "\"positives\": 2")
        .replace("\"close_contacts\": 12", "\"close_contacts\": 2")
        .replace("\"secondary_contacts\": 8", "\"secondary_contacts\": 0")
        .replace("\"key_people\": 10", "\"key_people\": 1")
        .replace("\"to_transfer\": 30", "\"to_transfer\": 3")
        .replace("\"rooms\": 24", "\"rooms\": 1");
    parse_scenario(&json).unwrap()
}

fn beijing(app: &App, offset: Duration) -> String {
    (app.now() + offset)
        .with_timezone(&fangkong_app::china_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

async fn open_case(app: &App, epi: &fangkong_app::Actor, id_number: &str) -> i64 {
    app.open_case(
        epi,
        &CaseForm {
            kind: "asymptomatic".into(),
            id_number: id_number.into(),
            first_positive_at: beijing(app, Duration::hours(-3)),
            found_by: "mass_testing".into(),
            isolated_at: beijing(app, Duration::zero()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

async fn a_drill_is_measured_from_the_sandboxs_records_and_scored(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    app.claim_instance_kind(InstanceKind::Sandbox)
        .await
        .unwrap();
    let commander = user(&app, "drill_commander", Role::Commander, COUNTY).await;
    let epi = user(&app, "drill_epi", Role::Epidemiologist, COUNTY).await;
    let people = population();
    let scenario = scenario();

    // Only a role with the right starts a drill.
    assert!(matches!(
        app.start_drill(&world.worker_a, &scenario, DrillMode::Teams)
            .await,
        Err(AppError::Forbidden { .. })
    ));
    let run = app
        .start_drill(&commander, &scenario, DrillMode::Teams)
        .await
        .unwrap();
    // A retry at the same moment is the same run.
    assert_eq!(
        app.start_drill(&commander, &scenario, DrillMode::Teams)
            .await
            .unwrap(),
        run
    );

    // Before anything is due the report has no score.
    let early = app.measure_drill(&commander, run, false).await.unwrap();
    assert!(early.measured);
    assert_eq!(early.run.score_tenths, None);

    // Case 1 found and reported within the hour; its contact listed three hours later.
    guard.clock.advance(Duration::minutes(30));
    let first = open_case(&app, &epi, &people[0].id_number).await;
    guard.clock.advance(Duration::minutes(50));
    app.update_case(&epi, first, &CaseAction::Reported)
        .await
        .unwrap();
    guard.clock.advance(Duration::hours(2));
    app.add_contact(
        &epi,
        first,
        &ContactForm {
            id_number: people[2].id_number.clone(),
            exposure_kind: "shared_home".into(),
            first_exposure_at: beijing(&app, Duration::hours(-50)),
            last_exposure_at: beijing(&app, Duration::hours(-4)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // Case 2 found, reported three hours later: late by an hour.
    let second = open_case(&app, &epi, &people[1].id_number).await;
    guard.clock.advance(Duration::hours(3));
    app.update_case(&epi, second, &CaseAction::Reported)
        .await
        .unwrap();

    let report = app.measure_drill(&commander, run, false).await.unwrap();
    let step = |s: DrillStep| report.steps.iter().find(|l| l.step == s).unwrap().clone();
    let reports = step(DrillStep::CaseReport);
    assert_eq!(
        (reports.items, reports.on_time, reports.late, reports.missed),
        (2, 1, 1, 0)
    );
    // The listed contact is on time; the second the scenario expects is not yet due.
    let contacts = step(DrillStep::ContactsListed);
    assert_eq!(
        (contacts.items, contacts.on_time, contacts.pending),
        (2, 1, 1)
    );
    let positives = step(DrillStep::PositiveToCase);
    assert_eq!((positives.items, positives.on_time), (2, 2));
    // Nobody filed the first report of the outbreak: missed, the command office's.
    let first_report = step(DrillStep::FirstReport);
    assert_eq!((first_report.items, first_report.missed), (1, 1));
    // What was late, and why, by team and step.
    assert_eq!(report.late_total, 2);
    let late_report = report
        .late
        .iter()
        .find(|l| l.step_label == DrillStep::CaseReport.label_zh())
        .unwrap();
    assert_eq!(late_report.team_label, "流调队");
    assert!(late_report.why.contains("超时 1小时"), "{:?}", report.late);
    assert!(report.late.iter().any(|l| l.team_label == "指挥部"));
    // Reports 15 × ½, contacts 20 × 1, positives 10 × 1, first report 5 × 0: 37.5 / 50 → 75.0.
    assert_eq!(report.run.score_tenths, Some(750));
    assert!(!report.run.finished);

    // A day and a half on, the drill ends: the unlisted contact is missed, the run finished.
    guard.clock.advance(Duration::hours(36));
    let done = app.measure_drill(&commander, run, true).await.unwrap();
    assert!(done.run.finished);
    let contacts = done
        .steps
        .iter()
        .find(|l| l.step == DrillStep::ContactsListed)
        .unwrap();
    assert_eq!((contacts.on_time, contacts.missed), (1, 1));
    assert!(
        done.late
            .iter()
            .any(|l| l.why.contains("流调未判定或未录入")),
        "{:?}",
        done.late
    );
    // A finished run keeps its report: measuring again files nothing new.
    guard.clock.advance(Duration::hours(5));
    let again = app.measure_drill(&commander, run, false).await.unwrap();
    assert_eq!(again.run.measured_label, done.run.measured_label);
    assert_eq!(again.run.score_tenths, done.run.score_tenths);

    // The list and the report; a township's commander does not see the county's drill.
    let runs = app.drill_runs(&commander).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].score, done.run.score);
    assert!(matches!(
        app.drill_report(&world.commander_a, run).await,
        Err(AppError::OutsideJurisdiction)
    ));
    // The demo's seam: a run copied with its items is a finished run with the same report.
    let (record, steps) = app.drill_run_records(&commander, run).await.unwrap();
    let copy = app
        .file_drill_copy(&commander, &record, &steps)
        .await
        .unwrap();
    assert_ne!(copy, run);
    let copied = app.drill_report(&commander, copy).await.unwrap();
    assert_eq!(copied.run.score_tenths, done.run.score_tenths);
    assert_eq!(copied.late_total, done.late_total);
    assert_eq!(
        app.file_drill_copy(&commander, &record, &steps)
            .await
            .unwrap(),
        copy
    );
}

async fn a_production_database_refuses_a_drill(backend: Backend) {
    let (app, _guard) = fresh_app(backend).await;
    seed(&app).await;
    let commander = user(&app, "drill_commander", Role::Commander, COUNTY).await;
    // Never claimed: not a sandbox, refused.
    let refused = app
        .start_drill(&commander, &scenario(), DrillMode::Unattended)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("正式库"), "{refused}");
    app.claim_instance_kind(InstanceKind::Production)
        .await
        .unwrap();
    let refused = app
        .start_drill(&commander, &scenario(), DrillMode::Unattended)
        .await
        .unwrap_err();
    assert!(matches!(refused, AppError::Conflict(_)), "{refused}");
    // And a production database never becomes a sandbox.
    assert!(
        app.claim_instance_kind(InstanceKind::Sandbox)
            .await
            .is_err()
    );
    assert!(app.drill_runs(&commander).await.unwrap().is_empty());
}
