//! The epidemic curve and the map (疫情曲线、专题地图) of the command office: cases stand on the days
//! of their onset and report by kind, the counters follow a reclassification and an exclusion and
//! agree with the cases (`fangkong check`), and each map value is the module's own figure.

use crate::support::*;
use chrono::Duration;
use fangkong_app::auth::NewUser;
use fangkong_app::investigation::{CaseAction, CaseForm};
use fangkong_app::mass_testing::RoundForm;
use fangkong_app::{App, AppError};
use fangkong_domain::command::curve::CurveBasis;
use fangkong_domain::command::map::MapMeasure;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    the_curve_counts_cases_on_their_days_and_the_map_reads_the_modules,
    curve_story_sqlite,
    curve_story_postgres
);

fn day(app: &App, offset_days: i64) -> String {
    (app.now() + Duration::days(offset_days))
        .with_timezone(&fangkong_app::china_offset())
        .format("%Y-%m-%d")
        .to_string()
}

fn at(app: &App, offset_days: i64) -> String {
    format!("{} 09:00", day(app, offset_days))
}

fn case(kind: &str, id_number: &str) -> CaseForm {
    CaseForm {
        kind: kind.into(),
        id_number: id_number.into(),
        found_by: "fever_clinic".into(),
        ..Default::default()
    }
}

/// (day, counts in stacking order: confirmed, asymptomatic, initial screen, suspected) of the
/// days with a case.
fn nonzero(curve: &fangkong_app::command::Curve) -> Vec<(String, [i64; 4])> {
    curve
        .days
        .iter()
        .filter(|d| d.total() > 0)
        .map(|d| (d.day.format("%Y-%m-%d").to_string(), d.counts))
        .collect()
}

async fn the_curve_counts_cases_on_their_days_and_the_map_reads_the_modules(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    for (username, role, jurisdiction) in [
        ("epi", Role::Epidemiologist, COUNTY),
        ("duty_b", Role::DutyOfficer, TOWNSHIP_B),
    ] {
        app.create_user_unchecked(
            &NewUser {
                username: username.into(),
                display_name: username.into(),
                role,
                jurisdiction: RegionCode::parse(jurisdiction).unwrap(),
                password: PASSWORD.into(),
            },
            "test",
        )
        .await
        .unwrap();
    }
    let epi = login(&app, "epi").await;
    let duty_b = login(&app, "duty_b").await;
    let admin = &world.admin;
    let a = population_in(TOWNSHIP_A);
    let b = population_in(TOWNSHIP_B);

    // Township A: a confirmed case with onset three days ago, an asymptomatic infection first
    // positive two days ago, an initial-screen positive of yesterday later confirmed, a suspected
    // case later excluded. Township B: one confirmed case with onset three days ago.
    let mut c1 = case("confirmed", &a[0].id_number);
    c1.onset_date = day(&app, -3);
    app.open_case(&epi, &c1).await.unwrap();
    let mut c2 = case("asymptomatic", &a[1].id_number);
    c2.first_positive_at = at(&app, -2);
    app.open_case(&epi, &c2).await.unwrap();
    let mut c3 = case("initial_screen_positive", &a[2].id_number);
    c3.first_positive_at = at(&app, -1);
    let screened = app.open_case(&epi, &c3).await.unwrap();
    let mut c4 = case("suspected", &a[3].id_number);
    c4.onset_date = day(&app, -1);
    let suspected = app.open_case(&epi, &c4).await.unwrap();
    let mut c5 = case("confirmed", &b[0].id_number);
    c5.onset_date = day(&app, -3);
    app.open_case(&epi, &c5).await.unwrap();

    let onset = app
        .epidemic_curve(admin, "", CurveBasis::Onset)
        .await
        .unwrap();
    assert_eq!(
        nonzero(&onset),
        vec![
            (day(&app, -3), [2, 0, 0, 0]),
            (day(&app, -2), [0, 1, 0, 0]),
            (day(&app, -1), [0, 0, 1, 1]),
        ]
    );
    assert_eq!(
        onset.days.last().unwrap().day,
        app.today(),
        "filled to today"
    );
    assert_eq!(onset.total, 5);
    let report = app
        .epidemic_curve(admin, "", CurveBasis::Report)
        .await
        .unwrap();
    assert_eq!(nonzero(&report), vec![(day(&app, 0), [2, 1, 1, 1])]);

    // Reclassified, the initial-screen positive is confirmed on the same day (its first positive:
    // it has no onset); excluded, the suspected case leaves the curve.
    app.update_case(
        &epi,
        screened,
        &CaseAction::Reclassify {
            kind: "confirmed".into(),
        },
    )
    .await
    .unwrap();
    app.update_case(&epi, suspected, &CaseAction::Exclude)
        .await
        .unwrap();
    let onset = app
        .epidemic_curve(admin, "", CurveBasis::Onset)
        .await
        .unwrap();
    assert_eq!(
        nonzero(&onset),
        vec![
            (day(&app, -3), [2, 0, 0, 0]),
            (day(&app, -2), [0, 1, 0, 0]),
            (day(&app, -1), [1, 0, 0, 0]),
        ]
    );
    let report = app
        .epidemic_curve(admin, "", CurveBasis::Report)
        .await
        .unwrap();
    assert_eq!(nonzero(&report), vec![(day(&app, 0), [3, 1, 0, 0])]);
    // The counters equal the cases (the consistency audit's invariant).
    let audit = app.check_consistency(Duration::zero()).await.unwrap();
    let days = audit
        .results
        .iter()
        .find(|r| r.key == "case_days_match_cases")
        .expect("the curve's invariant is audited");
    assert_eq!(days.violations.count, 0, "{:?}", days.violations.examples);

    // A chosen region: township B alone; outside the jurisdiction it is refused in words.
    let township_b = app
        .epidemic_curve(admin, TOWNSHIP_B, CurveBasis::Onset)
        .await
        .unwrap();
    assert_eq!(nonzero(&township_b), vec![(day(&app, -3), [1, 0, 0, 0])]);
    assert_eq!(township_b.region_name, "增村镇");
    match app.epidemic_curve(&duty_b, COUNTY, CurveBasis::Onset).await {
        Err(AppError::Invalid(message)) => assert!(message.contains("管辖范围"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(matches!(
        app.region_map(&world.worker_a, "", MapMeasure::NewCases)
            .await,
        Err(AppError::Forbidden { .. })
    ));

    // The map: new infections today per township (the excluded suspected case is none).
    let map = app
        .region_map(admin, "", MapMeasure::NewCases)
        .await
        .unwrap();
    let value = |m: &fangkong_app::command::RegionMap, code: &str| {
        m.regions
            .iter()
            .find(|r| r.code == code)
            .and_then(|r| r.value)
    };
    assert_eq!(value(&map, TOWNSHIP_A), Some(3));
    assert_eq!(value(&map, TOWNSHIP_B), Some(1));
    assert_eq!(map.total, Some(4));
    assert_eq!(map.class_labels[4], "3");

    // People under control: isolation's own waiting lines per township.
    app.sync_isolation_events().await.unwrap();
    let overview = app.isolation_overview(admin).await.unwrap();
    let map = app
        .region_map(admin, "", MapMeasure::UnderControl)
        .await
        .unwrap();
    let mut compared = 0;
    for line in &overview.waiting {
        let own = line.awaiting_placement
            + line.allocated
            + line.awaiting_hospital
            + line.in_site
            + line.at_home;
        assert_eq!(value(&map, &line.code), Some(own), "{}", line.name);
        compared += own;
    }
    assert_eq!(map.total, Some(compared));
    assert_eq!(map.total, Some(overview.under_measure));

    // Coverage: the round page's own per mille per township.
    let round = app
        .open_round(
            admin,
            &RoundForm {
                name: "藁城区第1轮全员核酸检测".into(),
                kind: "whole".into(),
                region_code: COUNTY.into(),
                pool_size: "5".into(),
                tubes: "100".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let progress = app.round_overview(admin, round, COUNTY).await.unwrap();
    let map = app
        .region_map(admin, "", MapMeasure::Coverage)
        .await
        .unwrap();
    assert_eq!(map.round_name, "藁城区第1轮全员核酸检测");
    assert!(!progress.children.is_empty());
    for line in &progress.children {
        assert_eq!(
            value(&map, &line.code),
            Some(line.per_mille),
            "{}",
            line.name
        );
    }

    // Risk areas are marked on the township they lie in.
    let area = fangkong_app::risk_areas::RiskAreaForm {
        scheme: "ninth".into(),
        tier: "high".into(),
        unit: "village".into(),
        region_code: VILLAGE_B1.into(),
        place_name: String::new(),
        reason: "聚集性疫情".into(),
        occurred_at: String::new(),
    };
    app.designate_risk_area(admin, &area).await.unwrap();
    let map = app
        .region_map(admin, "", MapMeasure::NewCases)
        .await
        .unwrap();
    let marked = map.regions.iter().find(|r| r.code == TOWNSHIP_B).unwrap();
    assert_eq!(marked.risk_areas, 1);
    assert_eq!(marked.risk_label, Some("高风险区"));
    assert_eq!(map.risk_areas.len(), 1);
    assert_eq!(map.risk_areas[0].child_code.as_deref(), Some(TOWNSHIP_B));
    // Below a county the map is tiles, sorted by code.
    let tiles = app
        .region_map(admin, TOWNSHIP_A, MapMeasure::NewCases)
        .await
        .unwrap();
    assert_eq!(tiles.style, fangkong_app::command::map::MapStyle::Tiles);
    assert!(tiles.regions.windows(2).all(|w| w[0].code < w[1].code));
    assert_eq!(tiles.regions[0].tile, Some((0, 0)));
}
