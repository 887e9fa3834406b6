//! Command reports (日报告、零报告、重大事项报告), each on SQLite and (when FANGKONG_TEST_POSTGRES is
//! set) PostgreSQL: the form prefilled with the system's figures at the cut-off, a second submission
//! refused, late and missing reports on the parent's board, a correction keeping the original, the
//! zero-report rule, filing for another office refused; incidents flagged when their first report
//! is late, received level by level up the chain, followed up and closed by their own office.

use crate::support::*;
use chrono::{Duration, TimeZone, Utc};
use fangkong_app::auth::NewUser;
use fangkong_app::command::reports::CorrectionForm;
use fangkong_app::command::{DailyReportForm, IncidentForm};
use fangkong_app::investigation::CaseForm;
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::command::reports::{Figure, Figures, Timing};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    daily_reports_prefilled_late_missing_and_corrected,
    reports_story_sqlite,
    reports_story_postgres
);
story!(
    incidents_go_up_the_chain_and_late_ones_are_flagged,
    incidents_story_sqlite,
    incidents_story_postgres
);

async fn user(app: &App, username: &str, role: Role, jurisdiction: &str) -> Actor {
    app.create_user_unchecked(
        &NewUser {
            username: username.into(),
            display_name: format!("{username}值班"),
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

/// 2022-11-21 at `h:m` Beijing.
fn next_morning(h: u32, m: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 11, 21, h, m, 0).unwrap() - Duration::hours(8)
}

const DAY: &str = "2022-11-20";

fn form_of(office: &str, kind: &str, figures: &Figures, reason: &str) -> DailyReportForm {
    DailyReportForm {
        office: office.into(),
        day: DAY.into(),
        kind: kind.into(),
        figures: figures
            .rows()
            .into_iter()
            .map(|(f, n)| (f.code().to_string(), n.to_string()))
            .collect(),
        difference_reason: reason.into(),
        note: "平稳".into(),
    }
}

fn message(result: Result<impl std::fmt::Debug, AppError>) -> String {
    match result {
        Err(AppError::Invalid(m)) | Err(AppError::Conflict(m)) => m,
        other => panic!("expected a refusal in words, got {other:?}"),
    }
}

async fn two_cases(app: &App) {
    let epi = user(app, "epi", Role::Epidemiologist, COUNTY).await;
    for (n, kind, grid) in [(901, "confirmed", GRID_A1), (903, "asymptomatic", GRID_B1)] {
        let mut form = CaseForm {
            kind: kind.into(),
            id_number: id_number("19800101", n),
            name: format!("病例{n}"),
            region_code: grid.into(),
            found_by: "fever_clinic".into(),
            ..Default::default()
        };
        if kind == "confirmed" {
            form.onset_date = DAY.into();
        } else {
            form.first_positive_at = format!("{DAY} 09:00");
        }
        app.open_case(&epi, &form).await.unwrap();
    }
}

async fn daily_reports_prefilled_late_missing_and_corrected(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    two_cases(&app).await;
    let duty_a = user(&app, "duty_a", Role::DutyOfficer, TOWNSHIP_A).await;
    let duty_b = user(&app, "duty_b", Role::DutyOfficer, TOWNSHIP_B).await;
    let duty_county = user(&app, "duty_county", Role::DutyOfficer, COUNTY).await;

    // The day is not over: no report of today.
    let early = message(
        app.submit_daily_report(&duty_a, &form_of("", "daily", &Figures::default(), ""))
            .await,
    );
    assert!(early.contains("24时"), "{early}");

    guard.clock.advance(next_morning(8, 0) - app.now());
    // Prefilled as of the cut-off: township A has the confirmed case, B the asymptomatic one.
    let draft_a = app.daily_report_draft(&duty_a, DAY).await.unwrap();
    assert_eq!(draft_a.system.get(Figure::NewConfirmed), 1);
    assert_eq!(draft_a.system.get(Figure::TotalConfirmed), 1);
    assert_eq!(draft_a.system.get(Figure::NewAsymptomatic), 0);
    assert!(!draft_a.late_now);
    let draft_b = app.daily_report_draft(&duty_b, DAY).await.unwrap();
    assert_eq!(draft_b.system.get(Figure::NewAsymptomatic), 1);
    // The county's own figures equal the investigation module's counters.
    let county_system = app
        .report_board(&duty_county, "", DAY)
        .await
        .unwrap()
        .own_system;
    let counts = app
        .store_for_tools()
        .case_counts((COUNTY, &format!("{COUNTY}:")), app.now_unix(), 2, 24)
        .await
        .unwrap();
    assert_eq!(county_system.get(Figure::TotalConfirmed), counts.confirmed);
    assert_eq!(
        county_system.get(Figure::TotalAsymptomatic),
        counts.asymptomatic
    );

    // On time, once; a retry is refused and points to a correction.
    let filed = app
        .submit_daily_report(&duty_a, &form_of(TOWNSHIP_A, "daily", &draft_a.system, ""))
        .await
        .unwrap();
    assert!(!filed.late);
    assert_eq!(filed.status, "按时");
    let twice = message(
        app.submit_daily_report(&duty_a, &form_of("", "daily", &draft_a.system, ""))
            .await,
    );
    assert!(
        twice.contains("已报送") && twice.contains("更正"),
        "{twice}"
    );

    // A zero report against a new case, and a changed figure, need a reason.
    let zero = message(
        app.submit_daily_report(&duty_b, &form_of("", "zero", &Figures::default(), ""))
            .await,
    );
    assert!(zero.contains("不能报零报告"), "{zero}");
    let mut changed = draft_b.system.clone();
    changed.set(Figure::NewAsymptomatic, 2);
    let unexplained = message(
        app.submit_daily_report(&duty_b, &form_of("", "daily", &changed, ""))
            .await,
    );
    assert!(
        unexplained.contains("新增无症状感染者 1→2"),
        "{unexplained}"
    );

    // Another office, inside or outside the jurisdiction, and a role that does not file.
    assert!(matches!(
        app.submit_daily_report(&duty_a, &form_of(TOWNSHIP_B, "daily", &changed, "x"))
            .await,
        Err(AppError::OutsideJurisdiction)
    ));
    let not_own = message(
        app.submit_daily_report(&duty_county, &form_of(TOWNSHIP_A, "daily", &changed, "x"))
            .await,
    );
    assert!(not_own.contains("本单位"), "{not_own}");
    assert!(matches!(
        app.submit_daily_report(&world.worker_a, &form_of("", "daily", &changed, "x"))
            .await,
        Err(AppError::Forbidden { .. })
    ));

    // 09:10: townships were due at 08:30, the county at 09:00.
    guard.clock.advance(next_morning(9, 10) - app.now());
    let board = app.report_board(&duty_county, "", DAY).await.unwrap();
    let row = |code: &str| board.rows.iter().find(|r| r.office_code == code).unwrap();
    assert_eq!(row(TOWNSHIP_A).timing, Timing::OnTime);
    assert_eq!(row(TOWNSHIP_B).timing, Timing::Missing);
    assert_eq!(row(TOWNSHIP_B).status, "漏报");
    assert_eq!(board.counts.on_time, 1);
    assert_eq!(board.counts.missing, board.counts.offices - 1);
    assert_eq!(board.own.timing, Timing::Missing);
    assert_eq!(board.children_total.get(Figure::NewConfirmed), 1);
    let missing = app.reports_not_filed(&duty_county).await.unwrap();
    let codes: Vec<&str> = missing.iter().map(|m| m.office_code.as_str()).collect();
    assert!(codes.contains(&TOWNSHIP_B) && codes.contains(&COUNTY));
    assert!(!codes.contains(&TOWNSHIP_A));
    assert_eq!(missing.len() as i64, board.counts.missing + 1);

    // Late, with a figure unlike the system's and its reason.
    let late = app
        .submit_daily_report(&duty_b, &form_of("", "daily", &changed, "晚间复核新增一例"))
        .await
        .unwrap();
    assert!(late.late);
    assert_eq!(late.status, "迟报");
    assert_eq!(late.differences.len(), 1);
    // A township with nothing to report files a zero report (late now).
    let quiet = board
        .rows
        .iter()
        .find(|r| r.office_code != TOWNSHIP_A && r.office_code != TOWNSHIP_B)
        .unwrap()
        .office_code
        .clone();
    let duty_quiet = user(&app, "duty_quiet", Role::DutyOfficer, &quiet).await;
    let zero = app
        .submit_daily_report(&duty_quiet, &form_of("", "zero", &Figures::default(), ""))
        .await
        .unwrap();
    assert_eq!(zero.status, "零报告（迟报）");

    // A correction keeps the original and records the difference.
    let mut corrected = draft_a.system.clone();
    corrected.set(Figure::NewConfirmed, 2);
    let correction = |figures: &Figures, reason: &str| CorrectionForm {
        office: String::new(),
        day: DAY.into(),
        figures: figures
            .rows()
            .into_iter()
            .map(|(f, n)| (f.code().to_string(), n.to_string()))
            .collect(),
        reason: reason.into(),
    };
    assert!(
        message(
            app.correct_daily_report(&duty_a, &correction(&corrected, ""))
                .await
        )
        .contains("更正原因")
    );
    let detail = app
        .correct_daily_report(&duty_a, &correction(&corrected, "漏统计一例"))
        .await
        .unwrap();
    assert_eq!(detail.report.submitted.get(Figure::NewConfirmed), 1);
    assert_eq!(detail.report.figures.get(Figure::NewConfirmed), 2);
    assert_eq!(detail.report.status, "更正（按时）");
    assert_eq!(detail.corrections.len(), 1);
    assert_eq!(
        detail.corrections[0].differences[0].label_zh(),
        "新增确诊病例 1→2（+1）"
    );
    assert!(
        message(
            app.correct_daily_report(&duty_a, &correction(&corrected, "再次"))
                .await
        )
        .contains("无需更正")
    );

    let board = app.report_board(&duty_county, "", DAY).await.unwrap();
    assert_eq!(row_timing(&board, TOWNSHIP_B), Timing::Late);
    assert_eq!(board.counts.zero, 1);
    assert_eq!(board.counts.corrected, 1);
    assert_eq!(board.children_total.get(Figure::NewConfirmed), 2);
    // The township sees its own report, not its neighbour's.
    assert!(
        app.daily_report(&duty_a, TOWNSHIP_A, DAY)
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        app.daily_report(&duty_a, TOWNSHIP_B, DAY).await,
        Err(AppError::OutsideJurisdiction)
    ));
    let actions: Vec<String> = audit_rows(&app)
        .await
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(
        actions.iter().filter(|a| *a == "file_daily_report").count(),
        3
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "correct_daily_report")
            .count(),
        1
    );
}

fn row_timing(board: &fangkong_app::command::ReportBoard, code: &str) -> Timing {
    board
        .rows
        .iter()
        .find(|r| r.office_code == code)
        .unwrap()
        .timing
}

fn incident(kind: &str, occurred: chrono::DateTime<Utc>, place: &str) -> IncidentForm {
    IncidentForm {
        kind: kind.into(),
        occurred_at: occurred
            .with_timezone(&fangkong_app::china_offset())
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        place: place.into(),
        summary: "隔离点一名人员翻墙离开，已找回".into(),
        incident_key: String::new(),
    }
}

async fn incidents_go_up_the_chain_and_late_ones_are_flagged(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    seed(&app).await;
    let duty_a = user(&app, "duty_a", Role::DutyOfficer, TOWNSHIP_A).await;
    let duty_b = user(&app, "duty_b", Role::DutyOfficer, TOWNSHIP_B).await;
    let duty_county = user(&app, "duty_county", Role::DutyOfficer, COUNTY).await;
    let city = user(&app, "city", Role::Commander, "1301").await;

    let now = app.now();
    let late = app
        .file_incident(
            &duty_a,
            &incident("isolation_breach", now - Duration::hours(3), "某隔离点"),
        )
        .await
        .unwrap();
    let timely = app
        .file_incident(
            &duty_a,
            &incident("cluster", now - Duration::hours(1), "某村"),
        )
        .await
        .unwrap();
    // A retry files nothing twice.
    assert_eq!(
        app.file_incident(
            &duty_a,
            &incident("cluster", now - Duration::hours(1), "某村")
        )
        .await
        .unwrap(),
        timely
    );
    let bad_kind = message(
        app.file_incident(&duty_a, &incident("xx", now, "某村"))
            .await,
    );
    assert!(bad_kind.contains("事项类别"));
    let future = message(
        app.file_incident(
            &duty_a,
            &incident("cluster", now + Duration::hours(3), "某村"),
        )
        .await,
    );
    assert!(future.contains("发生时间"), "{future}");

    let list = app.incidents(&duty_county).await.unwrap();
    assert_eq!(list.len(), 2);
    let flagged = |id: i64| list.iter().find(|i| i.id == id).unwrap().overdue;
    assert!(flagged(late));
    assert!(!flagged(timely));
    let overdue = app.incidents_overdue(&duty_county).await.unwrap();
    assert_eq!(overdue.iter().map(|i| i.id).collect::<Vec<_>>(), [late]);
    // Township B does not see township A's incidents.
    assert!(app.incidents(&duty_b).await.unwrap().is_empty());
    assert!(matches!(
        app.incident_detail(&duty_b, late).await,
        Err(AppError::NotFound(_))
    ));

    // Received level by level: the county, then the city; the province not yet.
    guard.clock.advance(Duration::minutes(10));
    app.acknowledge_incident(&duty_county, late).await.unwrap();
    app.acknowledge_incident(&duty_county, late).await.unwrap();
    guard.clock.advance(Duration::minutes(20));
    app.acknowledge_incident(&city, late).await.unwrap();
    assert!(message(app.acknowledge_incident(&duty_a, late).await).contains("上级"));
    let detail = app.incident_detail(&duty_county, late).await.unwrap();
    let receipts: Vec<(&str, bool)> = detail
        .receipts
        .iter()
        .map(|r| (r.office_code.as_str(), r.acknowledged_at.is_some()))
        .collect();
    assert_eq!(receipts, [(COUNTY, true), ("1301", true), ("13", false)]);
    assert_eq!(
        detail.receipts[1].acknowledged_at.unwrap() - detail.receipts[0].acknowledged_at.unwrap(),
        20 * 60
    );
    assert!(!detail.can_acknowledge);

    // Follow-ups and the final report by the office that filed it, nothing after.
    assert!(
        message(app.follow_up_incident(&duty_county, late, "县里补充").await).contains("首报单位")
    );
    app.follow_up_incident(&duty_a, late, "人员已送回隔离点")
        .await
        .unwrap();
    app.close_incident(&duty_a, late, "处置完毕").await.unwrap();
    assert!(message(app.follow_up_incident(&duty_a, late, "再补充").await).contains("终报"));
    let detail = app.incident_detail(&duty_a, late).await.unwrap();
    let stages: Vec<&str> = detail.reports.iter().map(|r| r.stage.code()).collect();
    assert_eq!(stages, ["first", "follow_up", "final"]);

    // A day without news flags the open one.
    guard.clock.advance(Duration::hours(25));
    let overdue = app.incidents_overdue(&duty_county).await.unwrap();
    assert_eq!(overdue.iter().map(|i| i.id).collect::<Vec<_>>(), [timely]);
    assert!(overdue[0].stale);
    let actions: Vec<String> = audit_rows(&app)
        .await
        .into_iter()
        .map(|a| a.action)
        .collect();
    for action in [
        "file_incident",
        "follow_up_incident",
        "close_incident",
        "acknowledge_incident",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}");
    }
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "acknowledge_incident")
            .count(),
        2
    );
}
