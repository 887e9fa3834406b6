//! The demo's the supply whitelist and its passes (保供通行证), checked at the 环京 checkpoint.
//!
//! The county's supply office (the demo user `supply`) whitelists a wholesale market, a
//! distribution centre and a central kitchen with their vehicles, drivers and staff (each with a
//! negative report), issues vehicle passes (one to Beijing through the county, one for a lorry
//! loading in 桥西区 whose route does not pass the county) and a staff pass; the county's 环京
//! checkpoint checks three vehicles: two let through, one refused for the wrong route.

use anyhow::{Context, Result};
use fangkong_app::App;
use fangkong_app::checkpoints::{CheckpointForm, VehicleScan};
use fangkong_app::supplies::passes::{EnterpriseForm, PassForm, SupplyPersonForm, VehicleForm};

use crate::demo_supplies::Place;

/// How each office uses this part: lines printed with the demo's logins.
pub const USAGE: &[&str] = &[
    "保供通行证：物资保障组（supply）在 /supplies/passes 把保供企业（批发市场、配送中心、电商仓库、中央厨房、生产企业）纳入白名单，登记车辆（半挂车填牵引车车牌）、司机和员工及其核酸报告，签发车辆通行证（一车一证一线路，编号=县级区划代码+6位流水号）和人员通行证，打印A4绿色通行证或让司机保存电子通行证二维码，必要时撤销。",
    "车辆查验：卡口（checkpoint）在卡口页点“车辆通行证查验”（/checkpoints/{id}/vehicles），扫描电子通行证或输入编号和车牌、测体温，系统核验两码一证（通行证有效、车证一致、线路经过本县，随车人员绿码和48小时核酸），不予放行的写明原因；每次查验都有记录。",
];

/// Seeds this part's story and prints what it seeded.
pub async fn story(app: &App, place: &Place<'_>) -> Result<()> {
    let supply = app.actor_for_user("supply", "demo").await?;
    let checker = app.actor_for_user("checkpoint", "demo").await?;
    let county = place.county.as_str();
    let now = app.now();
    let beijing = |hours_ago: i64| {
        (now - chrono::Duration::hours(hours_ago))
            .with_timezone(&fangkong_domain::time::beijing_offset())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let plan = [
        (
            "藁城区农产品批发市场",
            "wholesale_market",
            "91130109MA0DEMO01X",
            "冀A·G1001",
            "articulated",
            "张卫东",
            "130109197503120017",
        ),
        (
            "增村镇蔬菜配送中心",
            "distribution_centre",
            "91130109MA0DEMO02X",
            "冀A·G1002",
            "refrigerated",
            "刘海涛",
            "130109198207280037",
        ),
        (
            "藁城宫面中央厨房",
            "central_kitchen",
            "91130109MA0DEMO03X",
            "冀A·G1003",
            "truck",
            "赵志刚",
            "130109198809150029",
        ),
    ];
    let mut fleet = Vec::new();
    for (i, (name, kind, credit, plate, vehicle_kind, driver, id)) in plan.iter().enumerate() {
        let region = if i == 1 {
            place.township.as_str()
        } else {
            county
        };
        let enterprise = app
            .register_supply_enterprise(
                &supply,
                &EnterpriseForm {
                    name: (*name).into(),
                    kind: (*kind).into(),
                    region_code: region.into(),
                    credit_code: (*credit).into(),
                    certificate_no: format!("藁保供〔2021〕{:03}号", i + 1),
                    contact_phone: format!("1391234{:04}", 5600 + i),
                },
            )
            .await
            .with_context(|| format!("whitelist {name}"))?;
        let vehicle = app
            .add_supply_vehicle(
                &supply,
                enterprise,
                &VehicleForm {
                    plate: (*plate).into(),
                    kind: (*vehicle_kind).into(),
                    licence_no: format!("13010{:07}", 2_000_100 + i),
                },
            )
            .await?;
        let driver = app
            .add_supply_person(
                &supply,
                enterprise,
                &SupplyPersonForm {
                    role: "driver".into(),
                    name: (*driver).into(),
                    id_type: String::new(),
                    id_number: (*id).into(),
                    phone: format!("1381234{:04}", 7700 + i),
                    document_no: format!("{id}（A2）"),
                    negative_at: beijing(6 + 3 * i as i64),
                },
            )
            .await?;
        fleet.push((enterprise, vehicle, driver, *plate));
    }
    let staff = app
        .add_supply_person(
            &supply,
            fleet[1].0,
            &SupplyPersonForm {
                role: "staff".into(),
                name: "孙丽娜".into(),
                id_type: String::new(),
                id_number: "130109199301060043".into(),
                phone: "13812347799".into(),
                document_no: "配送中心工作证017".into(),
                negative_at: beijing(20),
            },
        )
        .await?;

    // Passes: two to Beijing through the county, one loading in 桥西区 (not through the county).
    let today = app.today();
    let until = (today + chrono::Duration::days(6)).to_string();
    let today = today.to_string();
    let vehicle_pass =
        |vehicle: i64, driver: i64, goods: &str, origin: &str, destination: &str| PassForm {
            kind: "vehicle".into(),
            vehicle_id: vehicle.to_string(),
            person_ids: driver.to_string(),
            goods: goods.into(),
            origin: origin.into(),
            via: String::new(),
            destination: destination.into(),
            valid_from: today.clone(),
            valid_until: until.clone(),
        };
    let mut passes = Vec::new();
    for ((enterprise, vehicle, driver, _), (goods, origin, destination)) in fleet.iter().zip([
        ("living", county, "110106"),
        ("living", county, "110115"),
        ("living", "130104", "110105"),
    ]) {
        passes.push(
            app.issue_supply_pass(
                &supply,
                *enterprise,
                &vehicle_pass(*vehicle, *driver, goods, origin, destination),
            )
            .await?,
        );
    }
    let staff_pass = app
        .issue_supply_pass(
            &supply,
            fleet[1].0,
            &PassForm {
                kind: "staff".into(),
                person_ids: staff.to_string(),
                valid_from: today.clone(),
                valid_until: until.clone(),
                ..Default::default()
            },
        )
        .await?;
    println!(
        "  保供通行证：白名单企业 {} 家，车辆通行证 {} 张（{}），人员通行证 1 张（{}）（见 /supplies/passes）",
        fleet.len(),
        passes.len(),
        passes
            .iter()
            .map(|p| p.number.as_str())
            .collect::<Vec<_>>()
            .join("、"),
        staff_pass.number
    );

    // The county's 环京 checkpoint checks the three vehicles.
    let ring = app
        .create_checkpoint(
            &fangkong_seed::seed_actor(),
            &CheckpointForm {
                name: "G4京港澳高速环京检查站（藁城）".into(),
                kind: "beijing_ring".into(),
                line: String::new(),
                region_code: county.into(),
            },
        )
        .await?;
    let first_qr = app.supply_pass(&supply, passes[0].id).await?.qr_text;
    let checks = [
        ("qr", first_qr, fleet[0].3),
        ("typed", passes[1].number.clone(), fleet[1].3),
        ("typed", passes[2].number.clone(), fleet[2].3),
    ];
    for (i, (how, pass, plate)) in checks.into_iter().enumerate() {
        let outcome = app
            .check_vehicle_at_checkpoint(
                &checker,
                ring,
                &VehicleScan {
                    passage_key: format!("demo-vehicle-{i}"),
                    pass,
                    plate: plate.into(),
                    temperature: "36.5".into(),
                },
            )
            .await?;
        println!(
            "  环京检查站车辆查验（{}）：{} {} → {}：{}（见 /checkpoints/{ring}/vehicles）",
            if how == "qr" {
                "扫码"
            } else {
                "输入编号"
            },
            outcome.pass_number,
            outcome.plate,
            outcome.decision_label,
            outcome.reasons.join("；")
        );
    }
    Ok(())
}
