//! Stories of scoping and robustness, each on SQLite and (when FANGKONG_TEST_POSTGRES is set) on a
//! brand-new PostgreSQL database: tube barcodes never leave their 12-digit range and a bad stored
//! serial never takes a page down; a township does not run the county's round; import runs,
//! lab-upload reports and the audit log are seen only inside the importer's or user's subtree;
//! foreign ids answer exactly like missing ones; messages do not name a foreign grid.

use crate::support::*;
use fangkong_app::mass_testing::RoundForm;
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::mass_testing::{MAX_TUBE_SERIAL, TubeBarcode};

story!(
    tubes_stay_in_the_barcode_range_and_a_township_does_not_run_the_county_round,
    tubes_sqlite,
    tubes_postgres
);

async fn county_round(app: &App, admin: &Actor, tubes: &str) -> i64 {
    app.open_round(
        admin,
        &RoundForm {
            name: "藁城区第1轮全员核酸检测".into(),
            kind: "whole".into(),
            region_code: COUNTY.into(),
            pool_size: "10".into(),
            tubes: tubes.into(),
            ..Default::default()
        },
    )
    .await
    .expect("open the county round")
}

async fn tubes_stay_in_the_barcode_range_and_a_township_does_not_run_the_county_round(
    backend: Backend,
) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let round = county_round(&app, &world.admin, "100").await;
    let batches = |app: App| async move {
        app.store_for_tools()
            .tube_batches(round)
            .await
            .unwrap()
            .len()
    };

    // A township commander sees the county's round but does not issue its tubes or close it.
    app.round(&world.commander_a, round)
        .await
        .expect("the township sees the county round");
    let township = app.issue_tubes(&world.commander_a, round, 10).await;
    assert!(
        matches!(&township, Err(AppError::Invalid(m)) if m.contains("上级")),
        "{township:?}"
    );
    let closing = app.close_round(&world.commander_a, round).await;
    assert!(matches!(&closing, Err(AppError::Invalid(m)) if m.contains("上级")));
    assert_eq!(batches(app.clone()).await, 1, "nothing was issued");

    // One request takes at most 100,000 tubes; the message names the limit.
    let too_many = app.issue_tubes(&world.admin, round, 100_001).await;
    assert!(
        matches!(&too_many, Err(AppError::Invalid(m)) if m.contains("100000")),
        "{too_many:?}"
    );
    app.issue_tubes(&world.admin, round, 100_000)
        .await
        .expect("100,000 tubes in one request");

    // A round holds at most twice its target plus a million: looping the request stops there.
    let target = app
        .round(&world.admin, round)
        .await
        .unwrap()
        .target_population;
    let ceiling = target * 2 + 1_000_000;
    let mut issued = 100 + 100_000;
    let refused = loop {
        match app.issue_tubes(&world.admin, round, 100_000).await {
            Ok(_) => issued += 100_000,
            Err(e) => break e,
        }
        assert!(
            issued <= ceiling,
            "issued {issued} past the ceiling {ceiling}"
        );
    };
    assert!(
        matches!(&refused, AppError::Invalid(m) if m.contains("上限") && m.contains(&ceiling.to_string())),
        "{refused:?}"
    );
    assert!(issued + 100_000 > ceiling);

    // The barcode range nearly used up (another round took it): a request past 10^11 is refused
    // in words before anything is written, never a panic.
    let other = county_round(&app, &world.admin, "1").await;
    let top = i64::try_from(MAX_TUBE_SERIAL).unwrap();
    assert!(
        app.store_for_tools()
            .issue_tube_batch(other, top - 9, top - 4, app.now_unix(), "test")
            .await
            .unwrap()
    );
    let before = batches(app.clone()).await;
    let exhausted = app.issue_tubes(&world.admin, round, 10).await;
    assert!(
        matches!(&exhausted, Err(AppError::Conflict(m)) if m.contains("号段已用完")),
        "{exhausted:?}"
    );
    assert_eq!(batches(app.clone()).await, before, "nothing was written");
    // The last serials that still fit are issued, and their barcodes are real ones.
    let (first, last) = app
        .issue_tubes(&world.admin, other, 4)
        .await
        .expect("the last 4 serials");
    assert_eq!(TubeBarcode::parse(&last).unwrap().serial(), MAX_TUBE_SERIAL);
    assert_eq!(
        TubeBarcode::parse(&first).unwrap().serial(),
        MAX_TUBE_SERIAL - 3
    );

    // A stored out-of-range serial (written before the check existed) does not panic the testing
    // pages: the rounds list and the round show it in words.
    assert!(
        app.store_for_tools()
            .issue_tube_batch(
                other,
                100_000_000_000,
                100_000_029_013,
                app.now_unix(),
                "test"
            )
            .await
            .unwrap()
    );
    let rounds = app.rounds(&world.admin).await.expect("rounds list");
    assert_eq!(rounds.len(), 2);
    let view = app.round(&world.admin, other).await.expect("the round");
    assert!(
        view.tube_ranges
            .iter()
            .any(|(_, last)| last.contains("超出条码范围")),
        "{:?}",
        view.tube_ranges
    );
    let after_bad = app.issue_tubes(&world.admin, other, 1).await;
    assert!(matches!(&after_bad, Err(AppError::Conflict(m)) if m.contains("号段已用完")));
    drop(guard);
}
