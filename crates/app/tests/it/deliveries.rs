//! Deliveries (物资配送): a resident asks on their phone — flagged while the household is neither
//! isolated nor sealed, in the set once a member is under a measure at home; a grid worker asks
//! for an elderly person living alone in a high-risk village; collection points with staggered
//! slots, an allocation with medicine first, the courier's steps each recorded with its time,
//! wrong steps refused, overdue requests on the late list (medicine sooner) and in the grid
//! worker's today, the invariant holding, and another township's worker kept out.

use crate::support::*;
use chrono::Duration;
use fangkong_app::isolation::MeasurePerson;
use fangkong_app::risk_areas::RiskAreaForm;
use fangkong_app::supplies::deliveries::{DeliveryForm, PointForm, StepForm};
use fangkong_app::{Actor, AppError};
use fangkong_domain::command::late::LateKind;
use fangkong_domain::isolation::PersonCategory;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    households_ask_slots_are_given_medicine_first_and_late_ones_are_listed,
    deliveries_story_sqlite,
    deliveries_story_postgres
);

fn ask(id_number: &str, category: &str, urgency: &str, items: &str) -> DeliveryForm {
    DeliveryForm {
        id_number: id_number.into(),
        category: category.into(),
        urgency: urgency.into(),
        items: items.into(),
    }
}

fn point(name: &str, region: &str) -> PointForm {
    PointForm {
        name: name.into(),
        region_code: region.into(),
        address: "小区东门".into(),
        first_start: "08:00".into(),
        slot_minutes: "30".into(),
        slots_per_day: "20".into(),
        capacity: "1".into(),
    }
}

fn step(status: &str, courier: &str, note: &str) -> StepForm {
    StepForm {
        status: status.into(),
        courier: courier.into(),
        note: note.into(),
    }
}

async fn households_ask_slots_are_given_medicine_first_and_late_ones_are_listed(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let people = population();
    let wang = &people[0]; // 王建国, household A1-0001 (three members)
    let wang_id = resident_id(&app, &world.admin, &wang.id_number).await;
    app.link_resident_login(&world.admin, world.resident_user.user_id, wang_id)
        .await
        .unwrap();
    let resident = &world.resident_user;

    // Bad input first: nothing is written.
    for (form, field) in [
        (ask("", "", "", "米"), "需求类别"),
        (ask("", "food", "", " "), "物品"),
        (ask("", "food", "soon", "米"), "紧急程度"),
    ] {
        match app.request_delivery(resident, &form).await {
            Err(AppError::Invalid(m)) => assert!(m.starts_with(field), "{m}"),
            other => panic!("{field}: {other:?}"),
        }
    }

    // Neither isolated nor sealed: taken and flagged.
    let flagged = app
        .request_delivery(resident, &ask("", "food", "", "大米5斤"))
        .await
        .unwrap();
    let mine = app.my_deliveries(resident).await.unwrap();
    assert!(mine.flagged, "{mine:?}");
    assert_eq!(mine.requests.len(), 1);
    assert!(mine.requests[0].flagged);
    assert_eq!(mine.requests[0].status, "已提交");

    // A member of the household isolated at home: the household is in the set.
    let xiuying = app
        .store_for_tools()
        .resident(resident_id(&app, &world.admin, &people[1].id_number).await)
        .await
        .unwrap()
        .unwrap();
    app.place_under_measure_unchecked(
        &MeasurePerson::of_resident(&xiuying),
        PersonCategory::SecondaryContact,
        app.today(),
        "deliveries:home",
    )
    .await
    .unwrap();
    let mine = app.my_deliveries(resident).await.unwrap();
    assert!(!mine.flagged, "{}", mine.eligibility);
    assert_eq!(mine.eligibility, "居家隔离/居家健康监测");
    let food = app
        .request_delivery(resident, &ask("", "food", "normal", "蔬菜一份"))
        .await
        .unwrap();
    let medicine_a = app
        .request_delivery(resident, &ask("", "medicine", "normal", "降压药一盒"))
        .await
        .unwrap();

    // 增村 is a high-risk village; 周杰 lives alone there, over sixty, and has no phone use: his
    // grid worker asks for him.
    let county_commander = Actor::seeding(
        Role::Commander,
        RegionCode::parse(COUNTY).unwrap(),
        "county",
        "藁城区指挥部",
    );
    app.designate_risk_area(
        &county_commander,
        &RiskAreaForm {
            scheme: "ninth".into(),
            tier: "high".into(),
            unit: "village".into(),
            region_code: VILLAGE_B1.into(),
            place_name: String::new(),
            reason: "病例居住地".into(),
            occurred_at: String::new(),
        },
    )
    .await
    .unwrap();
    let zhou = &people[10];
    assert_eq!(zhou.name, "周杰");
    // Another township's worker cannot name him (answered like a missing person).
    assert!(matches!(
        app.request_delivery(
            &world.worker_a,
            &ask(&zhou.id_number, "medicine", "urgent", "胰岛素")
        )
        .await,
        Err(AppError::NotFound(_))
    ));
    let medicine_b = app
        .request_delivery(
            &world.worker_b,
            &ask(&zhou.id_number, "medicine", "urgent", "胰岛素两支"),
        )
        .await
        .unwrap();
    let board_b = app
        .delivery_board(&world.worker_b, "", false, 1)
        .await
        .unwrap();
    assert_eq!(board_b.requests.total, 1, "worker B sees only township B");
    let zhou_view = &board_b.requests.rows[0];
    assert!(zhou_view.elderly_alone);
    assert_eq!(zhou_view.eligibility, "封控区/高风险区");
    assert_eq!(zhou_view.channel, "网格员代为申请");
    assert!(
        !zhou_view.resident_masked.contains("周杰"),
        "masked: {}",
        zhou_view.resident_masked
    );

    // Points with one household per slot; medicine goes first in township A.
    assert!(matches!(
        app.add_delivery_point(&world.worker_a, &point("增村收货点", VILLAGE_B1))
            .await,
        Err(AppError::OutsideJurisdiction)
    ));
    assert!(matches!(
        app.add_delivery_point(&world.worker_a, &PointForm { capacity: "0".into(), ..point("坏", VILLAGE_A1) }).await,
        Err(AppError::Invalid(m)) if m.starts_with("时段安排")
    ));
    app.add_delivery_point(&world.worker_a, &point("西城街东门收货点", VILLAGE_A1))
        .await
        .unwrap();
    let report = app.allocate_deliveries(&world.worker_a).await.unwrap();
    assert_eq!((report.waiting, report.allocated), (3, 3), "{report:?}");
    let board_a = app
        .delivery_board(&world.worker_a, "allocated", false, 1)
        .await
        .unwrap();
    let slot_of = |id: i64| {
        board_a
            .requests
            .rows
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.slot.clone())
            .unwrap()
    };
    assert!(slot_of(medicine_a) < slot_of(flagged), "medicine first");
    assert!(slot_of(flagged) < slot_of(food), "then the oldest");
    // Township B has no point yet: its request waits.
    let report_b = app.allocate_deliveries(&world.worker_b).await.unwrap();
    assert_eq!((report_b.waiting, report_b.without_point), (1, 1));

    // The fulfilment, each step with its time; wrong steps refused.
    assert!(matches!(
        app.step_delivery(&world.worker_a, food, &step("delivered", "", "")).await,
        Err(AppError::Conflict(m)) if m.contains("已排时段")
    ));
    assert!(matches!(
        app.step_delivery(&world.worker_a, food, &step("out", "", "")).await,
        Err(AppError::Invalid(m)) if m.starts_with("配送人")
    ));
    assert!(matches!(
        app.step_delivery(&world.worker_b, food, &step("out", "志愿者李", ""))
            .await,
        Err(AppError::NotFound(_))
    ));
    app.step_delivery(&world.worker_a, medicine_a, &step("out", "志愿者李强", ""))
        .await
        .unwrap();
    guard.clock.advance(Duration::minutes(20));
    app.step_delivery(&world.worker_a, medicine_a, &step("delivered", "", ""))
        .await
        .unwrap();
    app.step_delivery(&world.worker_a, flagged, &step("out", "快递员王", ""))
        .await
        .unwrap();
    assert!(matches!(
        app.step_delivery(&world.worker_a, flagged, &step("failed", "", "")).await,
        Err(AppError::Invalid(m)) if m.starts_with("说明")
    ));
    app.step_delivery(
        &world.worker_a,
        flagged,
        &step("failed", "", "家中无人应答"),
    )
    .await
    .unwrap();
    let mine = app.my_deliveries(resident).await.unwrap();
    let delivered = mine.requests.iter().find(|r| r.id == medicine_a).unwrap();
    assert_eq!(delivered.status, "已送达");
    assert_eq!(delivered.steps.len(), 4, "{:?}", delivered.steps);
    assert!(delivered.steps[0].starts_with("已提交"));
    assert!(delivered.steps[3].starts_with("已送达"));
    let failed = mine.requests.iter().find(|r| r.id == flagged).unwrap();
    assert!(failed.steps.last().unwrap().contains("家中无人应答"));

    // Three hours on, the urgent medicine of 周杰 (due in 2 h) is late; the food (24 h) is not.
    guard.clock.advance(Duration::hours(3));
    let late = app.late_list(&county_commander).await.unwrap();
    let group = late
        .groups
        .iter()
        .find(|g| g.kind == LateKind::Delivery)
        .expect("deliveries on the late list");
    assert_eq!(group.late, 1, "{group:?}");
    assert!(group.items[0].what.contains(&format!("#{medicine_b}")));
    assert!(group.items[0].what.contains("独居老人"));
    let today = app.todays_work(&world.worker_b).await.unwrap();
    let overdue = today
        .iter()
        .find(|i| i.label == "物资配送：超时未送达")
        .unwrap();
    assert_eq!((overdue.count, overdue.urgent), (Some(1), true));
    let overdue_board = app
        .delivery_board(&world.worker_b, "", true, 1)
        .await
        .unwrap();
    assert_eq!(overdue_board.requests.total, 1);

    // The steps agree with the requests.
    let check = app.check_consistency(Duration::zero()).await.unwrap();
    let ours = check
        .results
        .iter()
        .find(|r| r.key == "delivery_follows_its_steps")
        .unwrap();
    assert_eq!(ours.violations.count, 0, "{check}");
    // The audit names each action in words.
    let actions: Vec<String> = audit_rows(&app)
        .await
        .into_iter()
        .map(|a| a.action)
        .collect();
    for action in [
        "request_delivery",
        "add_delivery_point",
        "allocate_deliveries",
        "step_delivery",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}");
    }
}
