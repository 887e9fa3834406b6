//! The consistency audit (`fangkong check`) over a real flow: a close contact recorded by an
//! epidemiologist, and a confirmed case inside a high-risk village, are violations until the
//! background passes have carried them to a lead and a measure and to the area's clean-day clock;
//! a fresh one is not reported while it is still settling.

use crate::support::*;
use chrono::Duration;
use fangkong_app::auth::NewUser;
use fangkong_app::check::CheckReport;
use fangkong_app::investigation::{CaseForm, ContactForm};
use fangkong_app::risk_areas::RiskAreaForm;
use fangkong_app::{App, check};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    the_audit_finds_a_contact_the_passes_have_not_carried,
    check_story_sqlite,
    check_story_postgres
);

fn beijing(app: &App, offset: Duration) -> String {
    (app.now() + offset)
        .with_timezone(&fangkong_app::china_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn count_of(report: &CheckReport, key: &str) -> i64 {
    report
        .results
        .iter()
        .find(|r| r.key == key)
        .unwrap_or_else(|| panic!("no invariant {key}"))
        .violations
        .count
}

async fn the_audit_finds_a_contact_the_passes_have_not_carried(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    app.create_user_unchecked(
        &NewUser {
            username: "epi".into(),
            display_name: "藁城区流调队".into(),
            role: Role::Epidemiologist,
            jurisdiction: RegionCode::parse(COUNTY).unwrap(),
            password: PASSWORD.into(),
        },
        "test",
    )
    .await
    .unwrap();
    let epi = login(&app, "epi").await;
    let people = population();

    // An empty outbreak is consistent, and the report says so in words.
    let clean = app.check_consistency(Duration::zero()).await.unwrap();
    assert!(clean.is_clean(), "{clean}");
    assert!(clean.to_string().contains("全部符合"), "{clean}");

    // 西城街社区, where the case lives, is a high-risk area since a minute before the case is found.
    let area = app
        .designate_risk_area(
            &world.commander_a,
            &RiskAreaForm {
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
    guard.clock.advance(Duration::minutes(1));
    let found_at = app.now().timestamp();

    let case = app
        .open_case(
            &epi,
            &CaseForm {
                kind: "confirmed".into(),
                id_number: people[0].id_number.clone(),
                onset_date: beijing(&app, Duration::days(-1))[..10].to_string(),
                found_by: "fever_clinic".into(),
                isolated_at: beijing(&app, Duration::hours(-1)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.add_contact(
        &epi,
        case,
        &ContactForm {
            id_number: people[1].id_number.clone(),
            exposure_kind: "shared_home".into(),
            first_exposure_at: beijing(&app, Duration::hours(-22)),
            last_exposure_at: beijing(&app, Duration::hours(-20)),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // Just recorded: on a live server the passes are still carrying it, so it is not reported…
    let settling = app.check_consistency(check::SETTLING).await.unwrap();
    assert!(settling.is_clean(), "{settling}");
    // …but once it has settled with no lead and no measure, it is, by the case's number only.
    guard.clock.advance(Duration::minutes(11));
    let missing = app.check_consistency(check::SETTLING).await.unwrap();
    assert_eq!(
        count_of(&missing, "close_contact_is_handled"),
        1,
        "{missing}"
    );
    assert!(!missing.is_clean());
    let words = missing.to_string();
    assert!(
        words.contains("✗ 每名密切接触者都已有管控措施或落地查人线索：1 处不符"),
        "{words}"
    );
    assert!(
        !words.contains(&people[1].id_number),
        "no ID number in the report: {words}"
    );
    assert!(
        !words.contains(&people[1].name),
        "no name in the report: {words}"
    );
    // The case itself was coded red at once.
    assert_eq!(count_of(&missing, "open_case_is_red"), 0, "{missing}");
    // So did the area's clock: the case's event is fed to codes and areas at once.
    assert_eq!(
        count_of(&missing, "risk_area_clock_counts_latest_infection"),
        0,
        "{missing}"
    );

    // The passes carry the contact to a lead and a measure: the audit is clean again.
    app.try_run_code_events().await.unwrap();
    app.try_run_event_passes().await.unwrap();
    let carried = app.check_consistency(Duration::zero()).await.unwrap();
    assert!(carried.is_clean(), "{carried}");
    // A case reported by investigation restarts the area's clean-day count, as a positive test
    // does (domain-rules §4); it used to be counted from testing and antigen positives only.
    let detail = app.risk_area(&world.commander_a, area).await.unwrap();
    assert_eq!(detail.view.area.last_infection_at, Some(found_at));
}
