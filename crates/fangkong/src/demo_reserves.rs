//! The demo's reserves (物资储备): stocks, the ledger, days of cover, a support request.
//!
//! The county's supply office registers its depot, the hospital's store, the township's isolation
//! site and testing site stores; it stocks each item for a number of days of the need the norms
//! give over the outbreak already played (swabs and tubes from the round's bound tubes, PPE from
//! the occupied rooms and the samplers), with typed daily rates for the rest — swabs and a few
//! others short of the 30-day rule; transfers to the township, consumption and a stocktake fill
//! the ledger. Then the county asks 正定县 for swabs: approved and dispatched there, not yet
//! signed for; a second request to 鹿泉区 waits for approval.

use anyhow::Result;
use fangkong_app::supplies::reserves::{MovementForm, RateForm, WarehouseForm};
use fangkong_app::supplies::reserves_support::{SupportForm, SupportStepForm};
use fangkong_app::{Actor, App};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

use crate::demo_supplies::Place;

/// How each office uses this part: lines printed with the demo's logins.
pub const USAGE: &[&str] = &[
    "物资储备：物资保障组（supply）看 /supplies/reserves——可保障天数最少的物资排在最前（按满负荷30天），登记出入库、调拨、消耗、盘点，库存不足的出库会被拒绝并说明现有库存；导出需求清单、储备清单和台账（CSV）。",
    "跨地区支援：缺口物资在 /supplies/reserves 向外地申请；支援方同意后选仓库发运（记出库），申请方签收（记入库）。指挥部在态势图 /command 看“物资最短可保障天数”卡片，应急状态下“物资储备清点”任务在所有物资达30天后自动完成。",
];

fn movement(warehouse: i64, kind: &str, item: &str, quantity: i64, note: &str) -> MovementForm {
    MovementForm {
        warehouse_id: warehouse.to_string(),
        item: item.into(),
        kind: kind.into(),
        quantity: quantity.to_string(),
        to_warehouse_id: String::new(),
        note: note.into(),
    }
}

async fn warehouse(
    app: &App,
    actor: &Actor,
    name: &str,
    region: &str,
    owner: &str,
    unit: &str,
) -> Result<i64> {
    Ok(app
        .create_warehouse(
            actor,
            &WarehouseForm {
                name: name.into(),
                region_code: region.into(),
                owner_kind: owner.into(),
                owner_name: unit.into(),
            },
        )
        .await?)
}

/// Days of the need each item is stocked for: some short of the 30-day rule.
fn stocked_days(item: &str) -> i64 {
    match item {
        "swab" => 9,
        "antigen_kit" => 14,
        "gown" => 22,
        "medical_waste_bag" => 26,
        _ => 45,
    }
}

/// Seeds this part's story and prints what it seeded.
pub async fn story(app: &App, place: &Place<'_>) -> Result<()> {
    let supply = app.actor_for_user("supply", "demo").await?;
    let county = place.county.as_str();
    let township = place.township.as_str();
    let depot = warehouse(
        app,
        &supply,
        "藁城区指挥部物资储备库",
        county,
        "command_office",
        "藁城区指挥部物资保障组",
    )
    .await?;
    let hospital = warehouse(
        app,
        &supply,
        "藁城区人民医院物资库",
        county,
        "hospital",
        "藁城区人民医院",
    )
    .await?;
    let site = warehouse(
        app,
        &supply,
        "增村镇集中隔离点物资库",
        township,
        "isolation_site",
        "增村镇集中隔离点",
    )
    .await?;
    let testing = warehouse(
        app,
        &supply,
        "增村镇采样点物资库",
        place.village,
        "testing_site",
        "增村镇卫生院采样队",
    )
    .await?;

    // Typed daily rates where no module's norm gives the use.
    let rates = [
        (county, "antigen_kit", 400, "重点人群抗原自测"),
        (county, "antipyretic", 60, "发热门诊和药店"),
        (county, "disinfectant_84", 40, "公共场所消杀"),
        (county, "alcohol_75", 30, "卡口和采样点"),
        (township, "hand_sanitizer", 20, "卡口和村委会"),
    ];
    for (region, item, daily, note) in rates {
        app.set_reserve_rate(
            &supply,
            &RateForm {
                region_code: region.into(),
                item: item.into(),
                daily: daily.to_string(),
                note: note.into(),
            },
        )
        .await?;
    }

    // Stock each item for its days of the need now known (the norms over the outbreak played).
    let need = app.cover_of(place.county, false).await?;
    let mut stocked = 0;
    for line in &need.items {
        let quantity =
            ((line.daily_need * stocked_days(&line.item_code) as f64).ceil() as i64).max(1);
        let into = match line.item_code.as_str() {
            "mask_surgical" | "medical_waste_bag" | "chlorine_tablets" => site,
            "swab" | "tube" | "sample_bag" => testing,
            "antipyretic" => hospital,
            _ => depot,
        };
        app.record_movement(
            &supply,
            &movement(into, "in", &line.item_code, quantity, "按需求清单采购入库"),
        )
        .await?;
        stocked += 1;
    }
    // Equipment kept in the depot (nobody consumes it).
    for (item, quantity) in [
        ("ventilator", 12),
        ("oxygen_concentrator", 40),
        ("pulse_oximeter", 300),
    ] {
        app.record_movement(
            &supply,
            &movement(hospital, "in", item, quantity, "市级调拨入库"),
        )
        .await?;
    }
    // The day's work in the ledger: a transfer to the township, consumption, a stocktake.
    let mut transfer = movement(depot, "transfer", "mask_n95", 200, "调拨至增村镇隔离点");
    transfer.to_warehouse_id = site.to_string();
    app.record_movement(&supply, &transfer).await.ok();
    app.record_movement(
        &supply,
        &movement(site, "consumption", "mask_n95", 60, "隔离点当日使用"),
    )
    .await
    .ok();
    app.record_movement(
        &supply,
        &movement(
            hospital,
            "stocktake",
            "oxygen_concentrator",
            38,
            "月末盘点：2台送修",
        ),
    )
    .await?;
    // A movement below zero is refused (what the page would answer).
    let refused = app
        .record_movement(
            &supply,
            &movement(hospital, "out", "ventilator", 20, "超量出库（演示被拒）"),
        )
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();

    // Support between regions: 藁城区 asks 正定县 for swabs (approved, dispatched, not yet
    // signed for) and 鹿泉区 for antigen kits (awaiting approval).
    let zhengding = RegionCode::parse("130123").map_err(anyhow::Error::msg)?;
    let giver = Actor::seeding(
        Role::Supply,
        zhengding.clone(),
        "zhengding_supply",
        "正定县物资保障组",
    );
    let giver_depot = warehouse(
        app,
        &giver,
        "正定县物资储备库",
        zhengding.as_str(),
        "command_office",
        "正定县指挥部物资保障组",
    )
    .await?;
    app.record_movement(
        &giver,
        &movement(giver_depot, "in", "swab", 200_000, "县级储备"),
    )
    .await?;
    let swabs = SupportForm {
        to_warehouse_id: testing.to_string(),
        giver_region: zhengding.as_str().into(),
        item: "swab".into(),
        quantity: "50000".into(),
        reason: "增村镇全员核酸，采样拭子不足30天".into(),
    };
    let asked = app.request_support(&supply, &swabs).await?;
    let step = SupportStepForm {
        answer: "同意支援5万支，当日发运".into(),
        from_warehouse_id: giver_depot.to_string(),
    };
    app.decide_support(&giver, asked, true, &step).await?;
    app.dispatch_support(&giver, asked, &step).await?;
    let kits = SupportForm {
        to_warehouse_id: depot.to_string(),
        giver_region: "130110".into(),
        item: "antigen_kit".into(),
        quantity: "10000".into(),
        reason: "重点人群抗原自测，抗原试剂不足30天".into(),
    };
    app.request_support(&supply, &kits).await?;

    let cover = app.cover_of(place.county, false).await?;
    let ledger = app.reserve_ledger(&supply, "", "", None, 0).await?;
    println!(
        "  物资储备：4 个仓库，{stocked} 种物资入库，台账 {} 条；最短可保障 {}（{}），不足30天 {} 种（见 /supplies/reserves）",
        ledger.total, cover.worst_label, cover.worst_item, cover.under
    );
    println!("  出库超过库存被拒：{refused}");
    println!(
        "  跨地区支援：向正定县申请采样拭子5万支（已同意并发运，待签收），向鹿泉区申请抗原试剂（待审批）"
    );
    Ok(())
}
