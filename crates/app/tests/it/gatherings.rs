//! Gatherings (聚集性活动报批): the size says who approves and how many days ahead; filed too
//! late, in a medium-risk area or over the banquet limits is refused at once with the reasons; a
//! township office cannot approve what the county must; a refusal needs words; participants are
//! listed by ID and checked (code, 48-hour negative); another township's worker cannot see it.

use crate::support::*;
use fangkong_app::risk_areas::RiskAreaForm;
use fangkong_app::supplies::gatherings::{DecisionForm, GatheringForm};
use fangkong_app::{Actor, AppError};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    gatherings_are_approved_at_their_level_and_refused_with_reasons,
    gatherings_story_sqlite,
    gatherings_story_postgres
);

fn filing(
    kind: &str,
    size: &str,
    tables: &str,
    region: &str,
    days: u64,
    app: &fangkong_app::App,
) -> GatheringForm {
    GatheringForm {
        kind: kind.into(),
        title: format!("{kind}{size}人"),
        organiser: "王建国".into(),
        organiser_phone: "13900000001".into(),
        size: size.into(),
        tables: tables.into(),
        region_code: region.into(),
        place: "村委会大院".into(),
        date: (app.today() + chrono::Days::new(days)).to_string(),
        participants: String::new(),
    }
}

fn decision(what: &str, words: &str) -> DecisionForm {
    DecisionForm {
        decision: what.into(),
        words: words.into(),
    }
}

async fn gatherings_are_approved_at_their_level_and_refused_with_reasons(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let people = population();
    let worker = &world.worker_a;

    // A small conference with two participants listed by ID: the township approves it.
    let mut small = filing("conference", "30", "0", VILLAGE_A1, 20, &app);
    small.participants = format!("{}\n{}", people[0].id_number, people[3].id_number);
    let bad = GatheringForm {
        participants: "1234".into(),
        ..small.clone()
    };
    assert!(matches!(
        app.file_gathering(worker, &bad).await,
        Err(AppError::Invalid(m)) if m.starts_with("参加人员")
    ));
    let small_id = app.file_gathering(worker, &small).await.unwrap();
    let detail = app.gathering_detail(worker, small_id).await.unwrap();
    assert_eq!(detail.gathering.status, "待审批");
    assert_eq!(detail.gathering.level, "乡镇（街道）指挥部");
    assert_eq!(detail.participants.len(), 2);
    assert_eq!(detail.needs_test, 2, "no negative within 48 h yet");
    assert!(
        !detail.participants[0]
            .id_masked
            .contains(&people[0].id_number)
    );

    // A wedding of 60 in five days at 6 tables: too late and too many tables.
    let wedding = app
        .file_gathering(worker, &filing("wedding", "60", "6", VILLAGE_A1, 5, &app))
        .await
        .unwrap();
    let w = app
        .gathering_detail(worker, wedding)
        .await
        .unwrap()
        .gathering;
    assert_eq!(w.status, "不予批准");
    assert!(w.decision.contains("提前10天"), "{}", w.decision);
    assert!(w.decision.contains("不超过5桌"), "{}", w.decision);

    // A trade fair in a medium-risk village is refused.
    let county = Actor::seeding(
        Role::Commander,
        RegionCode::parse(COUNTY).unwrap(),
        "county",
        "藁城区指挥部",
    );
    app.designate_risk_area(
        &county,
        &RiskAreaForm {
            scheme: "ninth".into(),
            tier: "medium".into(),
            unit: "village".into(),
            region_code: VILLAGE_A2.into(),
            place_name: String::new(),
            reason: "密接居住地".into(),
            occurred_at: String::new(),
        },
    )
    .await
    .unwrap();
    let fair = app
        .file_gathering(worker, &filing("trade", "20", "0", VILLAGE_A2, 20, &app))
        .await
        .unwrap();
    let f = app.gathering_detail(worker, fair).await.unwrap().gathering;
    assert_eq!(f.status, "不予批准");
    assert!(f.decision.contains("中风险区"), "{}", f.decision);

    // 80 people: the county approves, not the township.
    let big = app
        .file_gathering(
            worker,
            &filing("conference", "80", "0", VILLAGE_A1, 15, &app),
        )
        .await
        .unwrap();
    assert!(matches!(
        app.decide_gathering(&world.commander_a, big, &decision("approve", "")).await,
        Err(AppError::Conflict(m)) if m.contains("县（区）指挥部")
    ));
    assert!(matches!(
        app.decide_gathering(worker, big, &decision("approve", ""))
            .await,
        Err(AppError::Forbidden { .. })
    ));
    app.decide_gathering(&county, big, &decision("approve", ""))
        .await
        .unwrap();
    let b = app.gathering_detail(worker, big).await.unwrap().gathering;
    assert_eq!(b.status, "已批准");
    assert!(b.decision.contains("48小时"));
    assert!(matches!(
        app.decide_gathering(&county, big, &decision("refuse", "改期"))
            .await,
        Err(AppError::Conflict(_))
    ));

    // A refusal needs its words.
    assert!(matches!(
        app.decide_gathering(&world.commander_a, small_id, &decision("refuse", "")).await,
        Err(AppError::Invalid(m)) if m.starts_with("审批意见")
    ));
    app.decide_gathering(
        &world.commander_a,
        small_id,
        &decision("refuse", "近期疫情形势严峻，暂缓举办"),
    )
    .await
    .unwrap();

    // Another township's worker: not found; the list holds township A's four.
    assert!(matches!(
        app.gathering_detail(&world.worker_b, small_id).await,
        Err(AppError::NotFound(_))
    ));
    assert_eq!(app.gatherings(worker).await.unwrap().total, 4);
    assert_eq!(app.gatherings(&world.worker_b).await.unwrap().total, 0);
    let actions: Vec<String> = audit_rows(&app)
        .await
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert!(actions.iter().any(|a| a == "file_gathering"));
    assert!(actions.iter().any(|a| a == "decide_gathering"));
}
