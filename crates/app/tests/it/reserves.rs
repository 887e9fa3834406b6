//! Reserves (物资储备): warehouses and the ledger with the stock in the same transaction, a movement
//! below zero refused with the reason and nothing written, transfers and stocktakes, days of cover
//! from typed rates, the ledger's consumption and the modules' norms, worst first against the
//! 30-day rule; support between regions (request → approval by the giver → dispatch → receipt);
//! the emergency checklist's `check_supplies` closed by the module; the audit invariant.

use crate::support::*;
use chrono::Duration;
use fangkong_app::auth::NewUser;
use fangkong_app::supplies::reserves::{MovementForm, RateForm, WarehouseForm};
use fangkong_app::supplies::reserves_support::{SupportForm, SupportStepForm};
use fangkong_app::warning::emergency::SwitchForm;
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    the_ledger_keeps_the_stock_refuses_below_zero_and_gives_days_of_cover,
    reserves_ledger_sqlite,
    reserves_ledger_postgres
);
story!(
    a_region_asks_another_for_support_approved_dispatched_and_received,
    reserves_support_sqlite,
    reserves_support_postgres
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

async fn warehouse(app: &App, actor: &Actor, name: &str, region: &str, owner: &str) -> i64 {
    app.create_warehouse(
        actor,
        &WarehouseForm {
            name: name.into(),
            region_code: region.into(),
            owner_kind: owner.into(),
            owner_name: format!("{name}单位"),
        },
    )
    .await
    .unwrap()
}

fn movement(warehouse: i64, kind: &str, item: &str, quantity: &str) -> MovementForm {
    MovementForm {
        warehouse_id: warehouse.to_string(),
        item: item.into(),
        kind: kind.into(),
        quantity: quantity.into(),
        ..Default::default()
    }
}

async fn the_ledger_keeps_the_stock_refuses_below_zero_and_gives_days_of_cover(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    let supply = user(&app, "supply_a", Role::Supply, TOWNSHIP_A).await;
    let supply_b = user(&app, "supply_b", Role::Supply, TOWNSHIP_B).await;
    let duty = user(&app, "duty_a", Role::DutyOfficer, TOWNSHIP_A).await;

    // Who may: a grid worker neither manages nor views; the duty officer views only.
    let form = WarehouseForm {
        name: "廉州镇物资库".into(),
        region_code: TOWNSHIP_A.into(),
        owner_kind: "command_office".into(),
        owner_name: "廉州镇指挥部物资保障组".into(),
    };
    assert!(matches!(
        app.create_warehouse(&world.worker_a, &form).await,
        Err(AppError::Forbidden { .. })
    ));
    assert!(app.reserves_cover(&world.worker_a, "").await.is_err());
    assert!(matches!(
        app.create_warehouse(&duty, &form).await,
        Err(AppError::Forbidden { .. })
    ));
    // A warehouse outside the jurisdiction, or of no known owner kind, is refused.
    let outside = WarehouseForm {
        region_code: TOWNSHIP_B.into(),
        ..form.clone()
    };
    assert!(app.create_warehouse(&supply, &outside).await.is_err());
    let bad_owner = WarehouseForm {
        owner_kind: "shop".into(),
        ..form.clone()
    };
    assert!(app.create_warehouse(&supply, &bad_owner).await.is_err());
    let depot = app.create_warehouse(&supply, &form).await.unwrap();
    assert!(matches!(
        app.create_warehouse(&supply, &form).await,
        Err(AppError::Conflict(_))
    ));
    let site = warehouse(&app, &supply, "西城街采样点库", VILLAGE_A1, "testing_site").await;
    let b_depot = warehouse(
        &app,
        &supply_b,
        "增村镇物资库",
        TOWNSHIP_B,
        "command_office",
    )
    .await;

    // In, then out beyond the stock: refused with the reason, nothing written.
    app.record_movement(&supply, &movement(depot, "in", "gown", "100"))
        .await
        .unwrap();
    let refused = app
        .record_movement(&supply, &movement(depot, "out", "gown", "101"))
        .await
        .unwrap_err();
    let message = refused.to_string();
    assert!(
        matches!(refused, AppError::Invalid(_))
            && message.contains("库存不足")
            && message.contains("现有100套"),
        "{message}"
    );
    let ledger = app
        .reserve_ledger(&supply, "", "gown", None, 0)
        .await
        .unwrap();
    assert_eq!(ledger.total, 1, "the refused movement wrote no line");
    // A consumption of a warehouse of another township is not found.
    assert!(matches!(
        app.record_movement(&supply, &movement(b_depot, "in", "gown", "5"))
            .await,
        Err(AppError::NotFound(_))
    ));
    // Bad input: an unknown item, a zero quantity, a transfer to itself.
    assert!(
        app.record_movement(&supply, &movement(depot, "in", "caviar", "1"))
            .await
            .is_err()
    );
    assert!(
        app.record_movement(&supply, &movement(depot, "in", "gown", "0"))
            .await
            .is_err()
    );
    let mut to_self = movement(depot, "transfer", "gown", "1");
    to_self.to_warehouse_id = depot.to_string();
    assert!(app.record_movement(&supply, &to_self).await.is_err());

    // A transfer writes two lines; a stocktake sets the count; a consumption takes away.
    let mut transfer = movement(depot, "transfer", "gown", "30");
    transfer.to_warehouse_id = site.to_string();
    assert_eq!(
        app.record_movement(&supply, &transfer).await.unwrap().len(),
        2
    );
    app.record_movement(&supply, &movement(site, "consumption", "gown", "10"))
        .await
        .unwrap();
    app.record_movement(&supply, &movement(depot, "stocktake", "gown", "68"))
        .await
        .unwrap();
    let stocks = app.reserve_stocks(&supply, "").await.unwrap();
    let on_hand = |w: i64| {
        stocks
            .rows
            .iter()
            .find(|s| s.warehouse_id == w && s.item_code == "gown")
            .map(|s| s.on_hand)
    };
    assert_eq!(on_hand(depot), Some(68));
    assert_eq!(on_hand(site), Some(20));
    let ledger = app.reserve_ledger(&supply, "", "", None, 0).await.unwrap();
    assert_eq!(ledger.total, 5);
    assert_eq!(ledger.rows[0].delta, -2, "the stocktake's difference");

    // Days of cover: the ledger's consumption (10 in 7 days) for gowns; a typed rate for masks.
    app.record_movement(&supply, &movement(depot, "in", "mask_surgical", "1000"))
        .await
        .unwrap();
    app.set_reserve_rate(
        &supply,
        &RateForm {
            region_code: TOWNSHIP_A.into(),
            item: "mask_surgical".into(),
            daily: "100".into(),
            note: "镇指挥部和卡口每日".into(),
        },
    )
    .await
    .unwrap();
    assert!(
        app.set_reserve_rate(
            &supply,
            &RateForm {
                region_code: TOWNSHIP_B.into(),
                item: "mask_surgical".into(),
                daily: "1".into(),
                note: String::new(),
            },
        )
        .await
        .is_err(),
        "a rate outside the jurisdiction"
    );
    app.record_movement(&supply, &movement(depot, "in", "alcohol_75", "50"))
        .await
        .unwrap();
    let cover = app.reserves_cover(&duty, "").await.unwrap();
    assert_eq!(cover.region_code, TOWNSHIP_A);
    let masks = &cover.items[0];
    assert_eq!(masks.item_code, "mask_surgical", "worst first: 10 days");
    assert_eq!(masks.days, Some(10.0));
    assert!(masks.under);
    assert_eq!(masks.shortfall, 2000);
    let gowns = cover.items.iter().find(|l| l.item_code == "gown").unwrap();
    assert!(
        (gowns.daily_need - 1.4).abs() < 0.01,
        "{}",
        gowns.daily_need
    );
    assert!(!gowns.under, "88 gowns at 10 a week");
    let alcohol = cover.items.last().unwrap();
    assert_eq!(alcohol.item_code, "alcohol_75");
    assert_eq!(alcohol.days, None, "unused items last");
    assert_eq!(cover.under, 1);
    // The supply office's home counts the same items under the 30-day rule, urgent.
    let today = app.todays_work(&supply).await.unwrap();
    let under = today
        .iter()
        .find(|i| i.label == "物资储备：不足30天的物资")
        .expect("the supply office's reserves item");
    assert_eq!((under.count, under.urgent), (Some(1), true));
    // By region: the village's site and the township's own depot are separate lines.
    assert!(cover.by_region.iter().any(|l| l.region_code == VILLAGE_A1));
    // The norms: an occupied isolation room-day needs surgical masks … the module's load is
    // counted for the region (none here), so the typed rate stands alone.
    let county = user(&app, "county_supply", Role::Supply, COUNTY).await;
    let whole = app.reserves_cover(&county, "").await.unwrap();
    assert!(
        whole
            .items
            .iter()
            .any(|l| l.item_code == "mask_surgical" && l.under)
    );
    assert!(app.reserves_cover(&supply, TOWNSHIP_B).await.is_err());

    // The checklist: 藁城区 switched to emergency; check_supplies closes only at 30 days.
    let county_cmd = user(&app, "county_cmd", Role::Commander, COUNTY).await;
    app.switch_to_emergency(
        &county_cmd,
        &SwitchForm {
            region: COUNTY.into(),
            reason: "出现本土病例".into(),
            alert: String::new(),
        },
    )
    .await
    .unwrap();
    app.refresh_emergency_tasks().await.unwrap();
    let task_done = |app: &App| {
        let app = app.clone();
        let commander = county_cmd.clone();
        async move {
            let state = app.command_state_view(&commander, COUNTY).await.unwrap();
            state
                .tasks
                .iter()
                .find(|t| t.title.contains("物资"))
                .map(|t| (t.done, t.how.clone()))
                .unwrap()
        }
    };
    assert!(!task_done(&app).await.0, "masks under 30 days");
    app.record_movement(&supply, &movement(depot, "in", "mask_surgical", "2000"))
        .await
        .unwrap();
    guard.clock.advance(Duration::minutes(5));
    app.refresh_emergency_tasks().await.unwrap();
    let (done, how) = task_done(&app).await;
    assert!(done, "every item at 30 days: {how}");
    assert!(how.contains("均达30天"), "{how}");

    // The picture's card and the audit.
    let picture = app.situation(&world.commander_a, "").await.unwrap();
    assert!(picture.supplies.tracked && picture.supplies.under == 0);
    let report = app
        .check_consistency(chrono::Duration::zero())
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
    let csv = app.reserves_csv(&duty, "", "ledger").await.unwrap();
    assert!(String::from_utf8_lossy(&csv.1).contains("盘点"));
    assert!(app.reserves_csv(&duty, "", "secrets").await.is_err());
}

async fn a_region_asks_another_for_support_approved_dispatched_and_received(backend: Backend) {
    let (app, _guard) = fresh_app(backend).await;
    let _world = seed(&app).await;
    let giver = user(&app, "supply_a", Role::Supply, TOWNSHIP_A).await;
    let asker = user(&app, "supply_b", Role::Supply, TOWNSHIP_B).await;
    let a_depot = warehouse(&app, &giver, "廉州镇物资库", TOWNSHIP_A, "command_office").await;
    let b_depot = warehouse(&app, &asker, "增村镇物资库", TOWNSHIP_B, "command_office").await;
    app.record_movement(&giver, &movement(a_depot, "in", "swab", "500"))
        .await
        .unwrap();

    let form = SupportForm {
        to_warehouse_id: b_depot.to_string(),
        giver_region: TOWNSHIP_A.into(),
        item: "swab".into(),
        quantity: "800".into(),
        reason: "全员核酸，采样拭子缺口800支".into(),
    };
    // Asking one's own region, or into another's warehouse, is refused.
    let own = SupportForm {
        giver_region: TOWNSHIP_B.into(),
        ..form.clone()
    };
    assert!(app.request_support(&asker, &own).await.is_err());
    let foreign = SupportForm {
        to_warehouse_id: a_depot.to_string(),
        ..form.clone()
    };
    assert!(matches!(
        app.request_support(&asker, &foreign).await,
        Err(AppError::NotFound(_))
    ));
    let id = app.request_support(&asker, &form).await.unwrap();
    let step = SupportStepForm::default();
    // Only the giver's side decides; the asker cannot approve its own request.
    assert!(matches!(
        app.decide_support(&asker, id, true, &step).await,
        Err(AppError::NotFound(_))
    ));
    // Receipt before dispatch is refused with the status.
    let early = app.receive_support(&asker, id).await.unwrap_err();
    assert!(early.to_string().contains("待支援方审批"), "{early}");
    app.decide_support(&giver, id, true, &step).await.unwrap();
    // A dispatch beyond the stock: refused with the reason, the request stays approved.
    let dispatch = SupportStepForm {
        answer: String::new(),
        from_warehouse_id: a_depot.to_string(),
    };
    let short = app
        .dispatch_support(&giver, id, &dispatch)
        .await
        .unwrap_err();
    assert!(short.to_string().contains("库存不足"), "{short}");
    let requests = app.support_requests(&giver).await.unwrap();
    assert_eq!(requests[0].status_code, "approved");
    app.record_movement(&giver, &movement(a_depot, "in", "swab", "500"))
        .await
        .unwrap();
    app.dispatch_support(&giver, id, &dispatch).await.unwrap();
    assert!(
        app.dispatch_support(&giver, id, &dispatch).await.is_err(),
        "dispatched once"
    );
    app.receive_support(&asker, id).await.unwrap();
    let seen = app.support_requests(&asker).await.unwrap();
    assert_eq!(seen[0].status_code, "received");
    assert!(!seen[0].received.is_empty());
    let b_ledger = app
        .reserve_ledger(&asker, "", "swab", None, 0)
        .await
        .unwrap();
    assert_eq!(b_ledger.total, 1);
    assert_eq!(b_ledger.rows[0].delta, 800);
    assert_eq!(b_ledger.rows[0].support_request_id, Some(id));
    let a_stock = app.reserve_stocks(&giver, "").await.unwrap();
    assert_eq!(a_stock.rows[0].on_hand, 200);

    // A refusal needs its reason.
    let second = app.request_support(&asker, &form).await.unwrap();
    assert!(
        app.decide_support(&giver, second, false, &step)
            .await
            .is_err()
    );
    let why = SupportStepForm {
        answer: "本镇也在全员核酸".into(),
        from_warehouse_id: String::new(),
    };
    app.decide_support(&giver, second, false, &why)
        .await
        .unwrap();
    let report = app
        .check_consistency(chrono::Duration::zero())
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
}
