//! Pharmacies (零售药店): real-name sales of the four drug classes, the buyer's test requirement and
//! pop-up in the sale's transaction, retries and invalid IDs, the requirement met by a negative or
//! overdue into a lead, a buyer's positive passed on once, and the day counters.

use crate::support::*;
use chrono::Duration;
use fangkong_app::auth::NewUser;
use fangkong_app::lab_results::ResultInput;
use fangkong_app::mass_testing::{RoundForm, SamplingBatch, ScanAction, ScanInput, SiteForm};
use fangkong_app::warning::pharmacies::{PharmacyForm, SaleInput};
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::mass_testing::TubeBarcode;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    a_sale_sets_a_test_with_a_pop_up_and_an_untested_buyer_becomes_a_lead,
    pharmacy_story_sqlite,
    pharmacy_story_postgres
);

async fn user(app: &App, username: &str, role: Role, office: &str) -> Actor {
    app.create_user_unchecked(
        &NewUser {
            username: username.into(),
            display_name: username.into(),
            role,
            jurisdiction: RegionCode::parse(office).unwrap(),
            password: PASSWORD.into(),
        },
        "test",
    )
    .await
    .unwrap();
    login(app, username).await
}

fn sale(key: &str, id_number: &str, drug: &str) -> SaleInput {
    SaleInput {
        licence_no: "冀DA3110001".into(),
        sale_key: key.into(),
        drug: drug.into(),
        quantity: "1".into(),
        buyer_name: "张三".into(),
        id_number: id_number.into(),
        phone: "13912345678".into(),
        ..Default::default()
    }
}

/// Swabs `people` into one tube of a new round of township A and reports `result` for it.
async fn tested(app: &App, world: &World, people: &[&str], result: &str, n: usize) {
    let round = app
        .open_round(
            &world.commander_a,
            &RoundForm {
                name: format!("廉州镇第{n}轮"),
                kind: "whole".into(),
                region_code: TOWNSHIP_A.into(),
                pool_size: "5".into(),
                tubes: "5".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let view = app.round(&world.commander_a, round).await.unwrap();
    let tube = TubeBarcode::parse(&view.tube_ranges[0].0)
        .unwrap()
        .to_string();
    let site = app
        .create_site(
            &world.commander_a,
            round,
            &SiteForm {
                region_code: VILLAGE_A1.into(),
                name: format!("采样点{n}"),
                tables: "1".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // The people, then the tube closed (a pool not full is closed by hand).
    let scans = people
        .iter()
        .chain(std::iter::once(&""))
        .enumerate()
        .map(|(i, id)| ScanInput {
            scan_id: format!("ph-{n}-{i}"),
            tube: tube.clone(),
            action: if id.is_empty() {
                ScanAction::Close
            } else {
                ScanAction::Bind
            },
            purpose: None,
            id_type: String::new(),
            id_number: id.to_string(),
            name: String::new(),
            scanned_at: None,
            occurred_at: String::new(),
        })
        .collect();
    let results = app
        .submit_scans(
            &world.sampler_a,
            &SamplingBatch {
                round_id: round,
                site_id: site,
                table_no: 1,
                scans,
            },
        )
        .await
        .unwrap();
    assert!(results.iter().all(|r| r.ok), "{results:?}");
    app.submit_lab_results(
        &world.lab,
        &[ResultInput {
            tube,
            result: result.into(),
            tested_at: None,
        }],
    )
    .await
    .unwrap();
}

async fn a_sale_sets_a_test_with_a_pop_up_and_an_untested_buyer_becomes_a_lead(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let pharmacy = user(&app, "pharmacy_a", Role::Pharmacy, TOWNSHIP_A).await;
    let pharmacy_b = user(&app, "pharmacy_b", Role::Pharmacy, TOWNSHIP_B).await;
    let county = user(&app, "county_cmd", Role::Commander, COUNTY).await;
    let a1: Vec<Row> = population()
        .into_iter()
        .filter(|r| r.grid == GRID_A1)
        .collect();

    // The registry: a pharmacy of the user's township; its licence once; nothing outside it.
    let form = PharmacyForm {
        name: "西城街仁和大药房".into(),
        region_code: VILLAGE_A1.into(),
        licence_no: "冀DA3110001".into(),
    };
    let id = app.register_pharmacy(&pharmacy, &form).await.unwrap();
    assert!(matches!(
        app.register_pharmacy(&pharmacy, &form).await,
        Err(AppError::Conflict(_))
    ));
    assert!(matches!(
        app.register_pharmacy(
            &pharmacy_b,
            &PharmacyForm {
                licence_no: "冀DA3110002".into(),
                ..form.clone()
            }
        )
        .await,
        Err(AppError::OutsideJurisdiction)
    ));
    let other = app
        .register_pharmacy(
            &pharmacy_b,
            &PharmacyForm {
                name: "增村药店".into(),
                region_code: VILLAGE_B1.into(),
                licence_no: "冀DA3110009".into(),
            },
        )
        .await
        .unwrap();
    // A user of another township cannot report for this pharmacy.
    assert!(matches!(
        app.report_pharmacy_sale(&pharmacy_b, id, &sale("R1", &a1[0].id_number, "TR003"))
            .await,
        Err(AppError::NotFound(_))
    ));

    // A sale: the buyer must test within 72 h and their code pops up, in the sale's transaction.
    let first = app
        .report_pharmacy_sale(&pharmacy, id, &sale("R1", &a1[0].id_number, "TR003"))
        .await
        .unwrap();
    assert_eq!(first.status, "recorded");
    assert!(
        first.flagged.is_none() && first.test_due.is_some(),
        "{first:?}"
    );
    let code = app
        .person_code(&county, "", &a1[0].id_number)
        .await
        .unwrap();
    assert!(code.code.popup.is_some(), "{:?}", code.code);
    // The retry: already recorded, nothing written.
    let again = app
        .report_pharmacy_sale(&pharmacy, id, &sale("R1", &a1[0].id_number, "TR003"))
        .await
        .unwrap();
    assert_eq!(again.status, "already_recorded");
    assert!(again.sale_id.is_none());
    // An invalid ID: accepted and flagged, no requirement.
    let flagged = app
        .report_pharmacy_sale(
            &pharmacy,
            id,
            &sale(
                "R2",
                &with_wrong_check_digit(&a1[2].id_number),
                "奥司他韦胶囊",
            ),
        )
        .await
        .unwrap();
    assert_eq!(flagged.status, "recorded");
    assert!(flagged.flagged.is_some() && flagged.test_due.is_none());
    // A drug outside the catalogue is refused naming the field.
    let bad = app
        .report_pharmacy_sale(&pharmacy, id, &sale("R3", &a1[1].id_number, "维生素C"))
        .await;
    assert!(
        matches!(&bad, Err(AppError::Invalid(m)) if m.starts_with("药品")),
        "{bad:?}"
    );

    // The API batch: the good item lands, each bad one is reported with its position.
    let mut foreign = sale("B3", &a1[3].id_number, "TR001");
    foreign.licence_no = "冀DA3110009".into();
    let (report, outcomes) = app
        .report_pharmacy_sales(
            &pharmacy,
            &[
                sale("B1", &a1[1].id_number, "KJ001"),
                sale("B2", &a1[1].id_number, "不存在的药"),
                foreign,
                sale("R1", &a1[0].id_number, "TR003"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        (report.rows, report.recorded, report.already_recorded),
        (4, 1, 1),
        "{report:?}"
    );
    assert_eq!(report.problems.len(), 2);
    assert_eq!(report.problems[0].row_number, 2);
    assert_eq!(report.problems[1].column, "licence_no");
    assert_eq!(outcomes.len(), 2);
    let _ = other;

    let day = "2022-11-20";
    let figures = app
        .store_for_tools()
        .pharmacy_day_figures(COUNTY, day)
        .await
        .unwrap();
    assert_eq!(
        (figures.sales, figures.flagged_ids, figures.awaiting_test),
        (3, 1, 2),
        "{figures:?}"
    );
    let counts = app
        .store_for_tools()
        .pharmacy_sale_day_counts("1301", "2022-11-01")
        .await
        .unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!(
        (
            counts[0].region_code.as_str(),
            counts[0].day.as_str(),
            counts[0].count
        ),
        (VILLAGE_A1, day, 3)
    );

    // The second buyer tests negative the next day: the requirement is met.
    guard.clock.advance(Duration::hours(20));
    tested(&app, &world, &[&a1[1].id_number], "negative", 1).await;
    app.run_pharmacy_requirements().await.unwrap();
    let figures = app
        .store_for_tools()
        .pharmacy_day_figures(COUNTY, day)
        .await
        .unwrap();
    assert_eq!(figures.awaiting_test, 1, "{figures:?}");

    // The first never tests: after 72 h a lead goes to their grid, once.
    guard.clock.advance(Duration::hours(53));
    app.run_pharmacy_requirements().await.unwrap();
    app.run_pharmacy_requirements().await.unwrap();
    let key = format!("pharmacy_sale:{}", first.sale_id.unwrap());
    let lead_id = app
        .store_for_tools()
        .lead_id_by_source_key(&key)
        .await
        .unwrap()
        .expect("a lead");
    let lead = app.store_for_tools().lead(lead_id).await.unwrap().unwrap();
    assert_eq!(lead.grid_code, GRID_A1);
    assert_eq!(lead.status, fangkong_domain::leads::LeadStatus::Pending);
    assert!(lead.reason.contains("布洛芬"), "{}", lead.reason);
    let today = app.today().to_string();
    let figures = app
        .store_for_tools()
        .pharmacy_day_figures(TOWNSHIP_A, &today)
        .await
        .unwrap();
    assert_eq!(
        (figures.awaiting_test, figures.overdue_to_leads),
        (0, 1),
        "{figures:?}"
    );
    let overview = app.pharmacy_overview(&county).await.unwrap();
    assert_eq!(overview.overdue.len(), 1);
    assert_eq!(overview.overdue[0].lead_id, Some(lead_id));
    assert!(
        !overview.overdue[0]
            .id_masked
            .contains(&a1[0].id_number[6..14])
    );
    assert_eq!(overview.flagged.len(), 1);
    assert_eq!(overview.pharmacies.len(), 2);
    // The pharmacy user does not see the commander's view.
    assert!(matches!(
        app.pharmacy_overview(&pharmacy).await,
        Err(AppError::Forbidden { .. })
    ));

    // The second buyer's pool turns positive within 14 days of the sale: one sentinel event.
    tested(
        &app,
        &world,
        &[&a1[1].id_number, &a1[4].id_number],
        "positive",
        2,
    )
    .await;
    app.sync_pharmacy_events().await.unwrap();
    app.sync_pharmacy_events().await.unwrap();
    let events = app
        .store_for_tools()
        .person_events_after(0, 10_000)
        .await
        .unwrap();
    let sentinel: Vec<_> = events
        .iter()
        .filter(|e| e.kind == fangkong_domain::person_event::SENTINEL_POSITIVE)
        .collect();
    assert_eq!(sentinel.len(), 1, "{sentinel:?}");
    let detail: fangkong_domain::person_event::SentinelEvent =
        serde_json::from_str(&sentinel[0].detail).unwrap();
    assert_eq!(detail.channel, "pharmacy_buyer_positive");
    assert_eq!(
        detail.record,
        format!("pharmacy_sale:{}", outcomes[0].sale_id.unwrap())
    );
    assert_eq!(detail.place, "西城街仁和大药房");

    // The day counters equal the sales, flagged IDs included (the consistency audit).
    let audit = app
        .check_consistency(chrono::Duration::zero())
        .await
        .unwrap();
    let sentinels = audit
        .results
        .iter()
        .find(|r| r.key == "sentinel_counters_match_records")
        .expect("the sentinels' invariant is audited");
    assert_eq!(
        sentinels.violations.count, 0,
        "{:?}",
        sentinels.violations.examples
    );
}
