//! Cold-chain goods (冷链食品): a batch registered with its origin and certificate, its chain down
//! to a market, a positive packaging test raising the cold-chain alert once for the market it
//! reached (a retry raising nothing), the trace listing the cold-chain workers there, and a batch
//! outside the jurisdiction not found.

use crate::support::*;
use fangkong_app::auth::NewUser;
use fangkong_app::supplies::cold_chain::{BatchForm, MovementForm, TestForm};
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    a_positive_packaging_test_alerts_the_market_the_batch_reached_once,
    cold_chain_story_sqlite,
    cold_chain_story_postgres
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

fn test(batch: i64, sample: &str, kind: &str, result: &str) -> TestForm {
    TestForm {
        batch_id: batch.to_string(),
        sample_no: sample.into(),
        kind: kind.into(),
        result: result.into(),
        sampled_on: "2022-11-19".into(),
    }
}

async fn a_positive_packaging_test_alerts_the_market_the_batch_reached_once(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let office = &world.commander_a;
    let form = BatchForm {
        batch_no: "tj-2020-118".into(),
        goods: "冷冻猪肉".into(),
        origin_country: "巴西".into(),
        port: "天津港".into(),
        quantity: "24000".into(),
        certificate_no: "津消2020-118".into(),
        region_code: TOWNSHIP_A.into(),
    };
    let batch = app.register_cold_chain_batch(office, &form).await.unwrap();
    assert!(matches!(
        app.register_cold_chain_batch(office, &form).await,
        Err(AppError::Conflict(_))
    ));
    assert!(matches!(
        app.register_cold_chain_batch(&world.worker_a, &form).await,
        Err(AppError::Forbidden { .. })
    ));
    let moved = |node: &str, place: &str, region: &str, on: &str| MovementForm {
        batch_id: batch.to_string(),
        node: node.into(),
        place: place.into(),
        region_code: region.into(),
        quantity: "2000".into(),
        moved_on: on.into(),
        handlers: "搬运工张某".into(),
    };
    app.record_cold_chain_movement(
        office,
        &moved("market", "西城街农贸市场", VILLAGE_A1, "2022-11-16"),
    )
    .await
    .unwrap();
    app.record_cold_chain_movement(
        office,
        &moved("cold_store", "文源冷库", VILLAGE_A2, "2022-11-12"),
    )
    .await
    .unwrap();
    // A place outside the office's township is refused.
    assert!(matches!(
        app.record_cold_chain_movement(
            office,
            &moved("market", "增村市场", VILLAGE_B1, "2022-11-16")
        )
        .await,
        Err(AppError::OutsideJurisdiction)
    ));

    // A negative goods sample raises nothing; the positive packaging one alerts the market once.
    let negative = app
        .record_cold_chain_test(office, &test(batch, "S1", "goods", "negative"))
        .await
        .unwrap();
    assert!(negative.alerts.is_empty());
    let positive = app
        .record_cold_chain_test(office, &test(batch, "S2", "外包装", "阳性"))
        .await
        .unwrap();
    assert_eq!(positive.status, "recorded");
    assert_eq!(positive.alerts.len(), 1, "{positive:?}");
    let alert = app
        .store_for_tools()
        .alert(positive.alerts[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alert.region_code.as_str(), VILLAGE_A1);
    assert_eq!(
        alert.channel,
        fangkong_domain::warning::triggers::SignalChannel::EnvironmentPositive
    );
    assert!(alert.evidence.contains("TJ-2020-118") && alert.evidence.contains("外包装"));
    let retry = app
        .record_cold_chain_test(office, &test(batch, "S2", "packaging", "positive"))
        .await
        .unwrap();
    assert_eq!(retry.status, "already_recorded");
    assert!(retry.alerts.is_empty());

    // The trace: back to Brazil and Tianjin, forward cold store → market, the cold-chain worker of
    // the market's community (王建国, key group 冷链), ID masked.
    let trace = app.cold_chain_trace(office, batch).await.unwrap();
    assert_eq!(trace.batch.origin_country, "巴西");
    let chain: Vec<&str> = trace.movements.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(chain, ["冷库", "市场"]);
    assert_eq!(trace.markets, ["西城街农贸市场"]);
    let wang = &population()[0];
    assert!(
        trace
            .handlers
            .iter()
            .any(|h| h.name == wang.name && h.id_masked != wang.id_number),
        "{:?}",
        trace.handlers
    );
    assert_eq!(trace.tests[1].1, "阳性");
    assert_eq!(trace.tests[1].2.alerts, 1);
    // Another township's office does not find it.
    let other = user(&app, "cmd_b", Role::Commander, TOWNSHIP_B).await;
    assert!(matches!(
        app.cold_chain_trace(&other, batch).await,
        Err(AppError::NotFound(_))
    ));
    assert!(app.cold_chain_batches(&other).await.unwrap().is_empty());

    let check = app
        .check_consistency(chrono::Duration::zero())
        .await
        .unwrap();
    let r = check
        .results
        .iter()
        .find(|r| r.key == "cold_chain_positive_raised_alert")
        .unwrap();
    assert_eq!(r.violations.count, 0, "{:?}", r.violations);
}
