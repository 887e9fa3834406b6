//! The demo's deliveries (物资配送) to sealed and isolated households, and gatherings (聚集性活动).
//!
//! The grid worker asks for households of the index village's grid (the village is sealed after
//! the outbreak), sets the village's collection point
//! and allocates the slots; volunteers take some out, deliver some, fail one; a medicine request
//! of an elderly person living alone, asked hours ago, is overdue on the late list; new requests
//! wait for the next allocation — every state; the command office asks for a household of another
//! village outside the sealed and isolated set, which is taken and flagged.

use anyhow::Result;
use fangkong_app::App;
use fangkong_app::supplies::deliveries::{DeliveryForm, DeliveryRecord, PointForm, StepForm};
use fangkong_app::supplies::gatherings::GatheringForm;
use fangkong_domain::supplies::deliveries::{
    DeliveryCategory, DeliveryStatus, Eligibility, RequestChannel, Urgency,
};

use crate::demo_supplies::Place;

/// How each office uses this part: lines printed with the demo's logins.
pub const USAGE: &[&str] = &[
    "聚集性活动：网格员（gridworker）或指挥部在 /supplies/gatherings 为举办人报批（类型、人数、桌数、地点、日期、参加人员身份证号）；按人数定审批级别（50人以上提前10天报县级，100人以上报市级，婚丧宴席不超过5桌、每桌不超过10人），报批过晚、地点在中高风险区的当即不予批准并写明理由；指挥部（commander）在活动页面审批并查看参加人员健康码和48小时核酸。",
    "物资配送：居民（resident）在手机上打开 /supplies/deliveries 为本户提交生活物资、药品、母婴用品需求并查看每一步；网格员（gridworker）在同一页面为没有智能手机的居民（独居老人自动标记）代为提交、排时段（药品和紧急优先）、登记出发配送/送达/未送达；物资保障组（supply）或指挥部按小区、村设置收货点和取货时段，看全辖区；超时未送达的在指挥部 /command/late 的“封控隔离家庭物资配送超时”（药品2–6小时）。",
];

fn ask(id_number: &str, category: &str, urgency: &str, items: &str) -> DeliveryForm {
    DeliveryForm {
        id_number: id_number.into(),
        category: category.into(),
        urgency: urgency.into(),
        items: items.into(),
    }
}

fn step(status: &str, courier: &str, note: &str) -> StepForm {
    StepForm {
        status: status.into(),
        courier: courier.into(),
        note: note.into(),
    }
}

/// Seeds this part's story and prints what it seeded.
pub async fn story(app: &App, place: &Place<'_>) -> Result<()> {
    let worker = app.actor_for_user("gridworker", "demo").await?;
    let grid = place.grid.as_str();
    let people: Vec<_> = app
        .store_for_tools()
        .residents_page((grid, &format!("{grid}:")), 0, 200)
        .await?
        .into_iter()
        .filter(|r| r.id_type == "mainland_id")
        .collect();
    anyhow::ensure!(people.len() >= 12, "the grid has too few residents");
    // One request per household, the first twelve households of the grid.
    let mut households = Vec::new();
    for r in &people {
        if !households
            .iter()
            .any(|h: &&fangkong_app::records::ResidentRecord| {
                h.household_number == r.household_number
            })
        {
            households.push(r);
        }
        if households.len() == 12 {
            break;
        }
    }
    let wants = [
        ("food", "normal", "大米10斤、食用油一桶"),
        ("medicine", "urgent", "降压药（硝苯地平）两盒"),
        ("infant", "normal", "婴儿奶粉一罐、纸尿裤"),
        ("food", "normal", "新鲜蔬菜一份、鸡蛋两斤"),
        ("other", "normal", "消毒液、垃圾袋"),
        ("medicine", "normal", "胰岛素笔芯"),
        ("food", "urgent", "饮用水两桶"),
        ("food", "normal", "挂面、咸菜"),
    ];
    let mut ids = Vec::new();
    for (r, (category, urgency, items)) in households.iter().zip(wants.iter()) {
        ids.push(
            app.request_delivery(
                &worker,
                &ask(r.id_number.as_str(), category, urgency, items),
            )
            .await?,
        );
    }
    let supply = app.actor_for_user("supply", "demo").await?;
    app.add_delivery_point(
        &supply,
        &PointForm {
            name: "村委会东侧收货点".into(),
            region_code: place.village.to_string(),
            address: "村委会东侧空地".into(),
            first_start: "08:00".into(),
            slot_minutes: "30".into(),
            slots_per_day: "24".into(),
            capacity: "3".into(),
        },
    )
    .await?;
    let allocation = app.allocate_deliveries(&worker).await?;
    // The fulfilment: out, delivered, one failed.
    for &id in &ids[..4] {
        app.step_delivery(&worker, id, &step("out", "志愿者 刘强", ""))
            .await?;
    }
    for &id in &ids[..2] {
        app.step_delivery(&worker, id, &step("delivered", "", ""))
            .await?;
    }
    app.step_delivery(
        &worker,
        ids[3],
        &step("failed", "", "家中无人应答，已电话联系改约"),
    )
    .await?;
    // New requests after the allocation wait for the next one.
    for (r, (category, urgency, items)) in households.iter().skip(8).zip(wants.iter().skip(3)) {
        app.request_delivery(
            &worker,
            &ask(r.id_number.as_str(), category, urgency, items),
        )
        .await?;
    }
    // A medicine request of an elderly person living alone, asked five hours ago by phone call to
    // the grid and not yet delivered: past its 2-hour deadline, on the late list.
    let elder = households.last().copied().unwrap_or(&people[0]);
    let now = app.now_unix();
    app.store_for_tools()
        .insert_deliveries_unchecked(&[DeliveryRecord {
            id: 0,
            grid_code: elder.grid_code.clone(),
            household_number: elder.household_number.clone(),
            resident_id: elder.id,
            name: elder.name.to_string(),
            phone: String::new(),
            address: elder.address.to_string(),
            category: DeliveryCategory::Medicine,
            urgency: Urgency::Urgent,
            items: "速效救心丸".into(),
            channel: RequestChannel::GridWorker,
            eligibility: Eligibility::SealedArea,
            elderly_alone: true,
            status: DeliveryStatus::Requested,
            point_id: None,
            slot_start: None,
            courier: String::new(),
            requested_at: now - 5 * 3600,
            due_at: now - 3 * 3600,
            updated_at: now - 5 * 3600,
            created_by: "gridworker".into(),
        }])
        .await?;
    // The command office asks for someone of another grid whose household is neither isolated
    // nor sealed: taken, and flagged for the grid worker to check.
    anyhow::ensure!(
        place.township.as_str().starts_with(place.county.as_str()),
        "the township lies in the county"
    );
    let township = place.township.as_str().to_string();
    if let Some(other) = app
        .store_for_tools()
        .residents_page((&township, &format!("{township}:")), 0, 400)
        .await?
        .into_iter()
        .find(|r| r.id_type == "mainland_id" && !r.grid_code.starts_with(place.village))
    {
        let commander = app.actor_for_user("commander", "demo").await?;
        app.request_delivery(
            &commander,
            &ask(other.id_number.as_str(), "food", "normal", "米面油"),
        )
        .await?;
    }
    let counts = app.delivery_counts(&supply).await?;
    println!(
        "  物资配送：封控、隔离家庭需求 {} 条（待排时段 {}，已排时段 {}，配送中 {}，已送达 {}，未送达 {}，超时 {}，不在封控隔离范围已标记 {}；本次排时段 {} 条）（见 /supplies/deliveries）",
        counts.requested + counts.allocated + counts.out + counts.delivered + counts.failed,
        counts.requested,
        counts.allocated,
        counts.out,
        counts.delivered,
        counts.failed,
        counts.overdue,
        counts.flagged_outside,
        allocation.allocated
    );
    // A wedding banquet filed for the sealed village, three days ahead, 8 tables: refused.
    let office = app.actor_for_user("commander", "demo").await?;
    let wedding = app
        .file_gathering(
            &office,
            &GatheringForm {
                kind: "wedding".into(),
                title: "婚宴".into(),
                organiser: households[0].name.to_string(),
                organiser_phone: "13912345678".into(),
                size: "80".into(),
                tables: "8".into(),
                region_code: place.village.to_string(),
                place: "村东头饭店".into(),
                date: (app.today() + chrono::Days::new(3)).to_string(),
                participants: households
                    .iter()
                    .map(|r| r.id_number.as_str().to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
            },
        )
        .await?;
    let refused = app.gathering_detail(&office, wedding).await?;
    println!(
        "  聚集性活动：婚宴80人8桌报批{}——{}（见 /supplies/gatherings/{wedding}）",
        refused.gathering.status, refused.gathering.decision
    );
    Ok(())
}
