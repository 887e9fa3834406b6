//! The demo's vaccination (疫苗接种) coverage and the elderly lists, and a traced cold-chain batch (冷链食品).
//!
//! The story's present is January 2021: the key groups (cold-chain, medical and other front-line
//! workers of 18–59) have been vaccinated since mid-December 2020 — a few under the emergency use
//! of summer 2020 — other adults have started, people of 60 and over hardly at all (their campaign
//! began in March 2021), and nobody under 18 yet. So the coverage is low and lowest for the
//! elderly, and the grid worker's push list is long; a few carry a contraindication as their
//! reason. A dose typed too early is refused with the reason.

use anyhow::Result;
use chrono::{Duration, NaiveDate};
use fangkong_app::App;
use fangkong_app::supplies::cold_chain::{BatchForm, MovementForm, TestForm};
use fangkong_app::supplies::vaccination::{ContraindicationForm, DoseForm};
use fangkong_domain::supplies::vaccination::{
    AgeBand, DoseKind, PriorDose, VaccineProduct, age_on,
};

use crate::demo_supplies::Place;

/// How each office uses this part: lines printed with the demo's logins.
pub const USAGE: &[&str] = &[
    "冷链食品：指挥部、流调或物资保障在 /supplies/cold-chain 登记进口批次（原产国、口岸、消毒证明）、冷库 → 批发配送商 → 市场的流向和货品、外包装、环境检测；打开批次即可前后追溯，阳性自动向到达的市场所在地触发冷链预警（/warning/alerts），并列出到达地的冷链从业人员。",
    "疫苗接种：接种点 vaccinator 在 /supplies/vaccination 登记每一剂（第二剂须满21天、加强针须全程满3个月，不到间隔不能登记）、导入接种记录表（.csv/.xlsx，问题逐行列出）、登记接种禁忌；指挥部、值班员在同一页看分年龄段首针、全程、加强接种率；网格员 gridworker 在 /supplies/vaccination/elderly 用手机看本网格60岁以上未接种老人名单（80岁以上在前，有禁忌的写明原因），上门动员。",
];

/// A number in 0..1000 drawn from a resident's id (the same every run).
fn draw(id: i64, salt: u64) -> u64 {
    let mut x = (id as u64) ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x % 1000
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// The doses of one person by the story's present (per mille chances by band and key group).
fn history(id: i64, band: AgeBand, key_group: bool, today: NaiveDate) -> Vec<PriorDose> {
    let chance = match (band, key_group) {
        (AgeBand::Adult, true) => 850,
        (AgeBand::Adult, false) => 90,
        (AgeBand::Senior, _) => 15,
        (AgeBand::Elderly, _) => 4,
        _ => 0,
    };
    if draw(id, 1) >= chance {
        return Vec::new();
    }
    let product = match draw(id, 2) % 3 {
        0 => VaccineProduct::Bbibp,
        1 => VaccineProduct::CoronaVac,
        _ => VaccineProduct::Wibp,
    };
    // A few key-group workers under the emergency use of summer 2020; the rest since 15 December.
    let first = if key_group && draw(id, 3) < 60 {
        day(2020, 7, 22) + Duration::days((draw(id, 4) % 60) as i64)
    } else {
        let span = (today - day(2020, 12, 15)).num_days().max(1);
        day(2020, 12, 15) + Duration::days((draw(id, 4) as i64) % span)
    };
    let mut doses = vec![PriorDose {
        kind: DoseKind::First,
        product,
        given_on: first,
    }];
    let second = first + Duration::days(21 + (draw(id, 5) % 8) as i64);
    if second < today && draw(id, 6) < 920 {
        doses.push(PriorDose {
            kind: DoseKind::Second,
            product,
            given_on: second,
        });
    }
    doses
}

/// Seeds this part's story and prints what it seeded.
pub async fn story(app: &App, place: &Place<'_>) -> Result<()> {
    let today = app.today();
    let (lower, upper) = place.county.subtree_range();
    let store = app.store_for_tools();
    let mut after = 0;
    let mut written = 0;
    loop {
        let page = store.residents_page((&lower, &upper), after, 5_000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let mut people = Vec::with_capacity(page.len());
        for r in &page {
            let Ok(birth) = NaiveDate::parse_from_str(&r.birth_date, "%Y-%m-%d") else {
                continue;
            };
            let Some(band) = AgeBand::of_age(age_on(birth, today)) else {
                continue;
            };
            let doses = history(r.id, band, !r.key_groups.is_empty(), today);
            if !doses.is_empty() {
                people.push((r, doses));
            }
        }
        written += app
            .seed_doses_unchecked(&people, "藁城区疾控中心接种门诊")
            .await?;
    }

    // The vaccination point of 增村镇 keeps two contraindications in the grid worker's grid and
    // types a dose; a second dose the same day is refused with the reason.
    let point = app.actor_for_user("vaccinator", "demo").await?;
    let grid = place.grid.as_str();
    let before = app.vaccination_push_list(&point, grid, 0).await?;
    let reasons = [
        ("severe_allergy", "", "2020年接种其他疫苗后严重过敏"),
        ("acute_fever", "+10", "发热38.6℃，退热后再约"),
    ];
    let mut kept = 0;
    for (person, (reason, days, note)) in before.rows.iter().zip(reasons) {
        let Some(resident) = store.resident(person.resident_id).await? else {
            continue;
        };
        let until = match days {
            "" => String::new(),
            d => (today + Duration::days(d.trim_start_matches('+').parse().unwrap_or(10)))
                .to_string(),
        };
        let form = ContraindicationForm {
            id_type: resident.id_type.clone(),
            id_number: resident.id_number.as_str().to_string(),
            reason: reason.into(),
            until,
            note: note.into(),
        };
        if app.record_contraindication(&point, &form).await.is_ok() {
            kept += 1;
        }
    }
    // The typed dose: the township's last elderly person of the list's first page.
    let township = app
        .vaccination_push_list(&point, place.township.as_str(), 0)
        .await?;
    let mut refused = String::new();
    if let Some(person) = township.rows.last()
        && let Some(resident) = store.resident(person.resident_id).await?
    {
        let form = |kind: &str| DoseForm {
            id_type: resident.id_type.clone(),
            id_number: resident.id_number.as_str().to_string(),
            product: "bbibp".into(),
            dose_kind: kind.into(),
            given_on: String::new(),
            site: "增村镇卫生院接种门诊".into(),
        };
        if app.record_dose(&point, &form("first")).await.is_ok() {
            written += 1;
        }
        if let Err(why) = app.record_dose(&point, &form("second")).await {
            refused = why.to_string();
        }
    }

    let commander = app.actor_for_user("commander", "demo").await?;
    let cover = app
        .vaccination_coverage(&commander, place.county.as_str())
        .await?;
    let rates: Vec<String> = cover
        .bands
        .iter()
        .map(|b| format!("{} {}", b.band, b.first_rate))
        .collect();
    println!(
        "  疫苗接种：{} 剂（截至 {today}）；{}首针接种率 {}，全程 {}；分年龄段首针：{}（见 /supplies/vaccination）",
        written,
        cover.region_name,
        cover.all.first_rate,
        cover.all.full_rate,
        rates.join("、")
    );
    let list = app.vaccination_push_list(&point, grid, 0).await?;
    let oldest = list
        .rows
        .iter()
        .filter(|p| p.band == AgeBand::Elderly.label_zh())
        .count();
    println!(
        "  老年人接种推进：网格员的网格60岁以上未接种 {} 人（其中80岁以上 {} 人），{} 人登记了禁忌原因（见 /supplies/vaccination/elderly）",
        list.total, oldest, kept
    );
    if !refused.is_empty() {
        println!("  不到间隔的第二剂被拒绝：{refused}");
    }
    cold_chain(app, place, &commander).await
}

/// A batch of frozen pork from Brazil through Tianjin down to the index village's market, its
/// packaging positive: the market alerted, the cold-chain workers there listed.
async fn cold_chain(app: &App, place: &Place<'_>, office: &fangkong_app::Actor) -> Result<()> {
    let today = app.today();
    let batch = app
        .register_cold_chain_batch(
            office,
            &BatchForm {
                batch_no: "TJ-2020-1228".into(),
                goods: "冷冻猪肉".into(),
                origin_country: "巴西".into(),
                port: "天津港".into(),
                quantity: "24000".into(),
                certificate_no: "津消证2020-1228".into(),
                region_code: place.county.as_str().into(),
            },
        )
        .await?;
    let village =
        fangkong_domain::region::RegionCode::parse(place.village).map_err(anyhow::Error::msg)?;
    let village_name = app.region_name(&village).await?;
    let market = format!(
        "{}农贸市场",
        fangkong_domain::region::short_name(&village_name)
    );
    let chain = [
        (
            "cold_store",
            "藁城区进口冷链食品集中监管仓".to_string(),
            place.county.as_str(),
            12,
            "叉车工2人",
        ),
        (
            "distributor",
            "增村镇冻品批发部".to_string(),
            place.township.as_str(),
            9,
            "批发部店主及送货员",
        ),
        ("market", market.clone(), place.village, 6, "冻品摊主"),
    ];
    for (node, name, region, days_ago, handlers) in chain {
        app.record_cold_chain_movement(
            office,
            &MovementForm {
                batch_id: batch.to_string(),
                node: node.into(),
                place: name,
                region_code: region.into(),
                quantity: "3000".into(),
                moved_on: (today - Duration::days(days_ago)).to_string(),
                handlers: handlers.into(),
            },
        )
        .await?;
    }
    for (sample, kind, result) in [
        ("HG-001", "goods", "negative"),
        ("BZ-002", "packaging", "positive"),
    ] {
        app.record_cold_chain_test(
            office,
            &TestForm {
                batch_id: batch.to_string(),
                sample_no: sample.into(),
                kind: kind.into(),
                result: result.into(),
                sampled_on: (today - Duration::days(1)).to_string(),
            },
        )
        .await?;
    }
    let trace = app.cold_chain_trace(office, batch).await?;
    let alerts: i64 = trace.tests.iter().map(|(_, _, t)| t.alerts).sum();
    println!(
        "  冷链食品：批次 TJ-2020-1228 冷冻猪肉 巴西 → 天津港 → 监管仓 → 冻品批发部 → {market}；外包装样本阳性，已触发 {alerts} 条冷链预警，到达地冷链从业人员 {} 人（见 /supplies/cold-chain?batch={batch}）",
        trace.handlers.len()
    );
    Ok(())
}
