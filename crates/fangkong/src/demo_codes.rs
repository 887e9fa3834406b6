//! The demo's health codes beyond the outbreak's own (cases, contacts and pushes give theirs through
//! the person events): colours from the channels not simulated yet (fever clinics, pharmacies,
//! arrivals) in the district, checkpoints with passages flowing, venue codes with visits, and a
//! few open appeals.

use std::time::Duration;

use anyhow::Result;
use fangkong_app::checkpoints::{CheckpointForm, CheckpointScan, VenueForm};
use fangkong_app::records::{AppealRecord, AuditRecord, CodePerson, FactWrite, VenueVisitRecord};
use fangkong_app::{Actor, App};
use fangkong_domain::health_code::{CodeColour, FactKind};
use fangkong_domain::region::RegionCode;
use fangkong_seed::seed_actor;

pub struct SeededCodes {
    pub facts: usize,
    pub checkpoints: Vec<i64>,
    pub venues: usize,
    pub passages: usize,
}

/// How many residents of the outbreak township get each kind of fact, and how far back.
const FACT_PLAN: [(FactKind, usize, i64); 5] = [
    (FactKind::LeftMediumRiskArea, 90, 9),
    (FactKind::LeftOutbreakCounty, 120, 13),
    (FactKind::FeverClinic, 45, 3),
    (FactKind::PharmacyPurchase, 60, 3),
    (FactKind::Inbound, 12, 9),
];

pub async fn seed(app: &App, county: &RegionCode, village: &str) -> Result<SeededCodes> {
    let actor = seed_actor();
    let now = app.now_unix();
    let day = 86_400;
    app.sync_code_events().await?;

    // Risk areas are the living outbreak's: designated the day a village's first case is found,
    // stepped down by the rules (`demo_outbreak`).
    let township = &village[..9];

    // -- facts for a spread of colours in the outbreak township -------------------------------------
    let (t_lower, t_upper) = RegionCode::parse(township)
        .map_err(anyhow::Error::msg)?
        .subtree_range();
    let needed: usize = FACT_PLAN.iter().map(|(_, n, _)| n).sum::<usize>() + 40;
    let mut people = Vec::with_capacity(needed);
    let mut after = 0;
    while people.len() < needed {
        let page = app
            .store_for_tools()
            .residents_page((&t_lower, &t_upper), after, 2_000)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        // Every 7th resident: spread over the township's villages and grids.
        people.extend(page.into_iter().step_by(7));
    }
    let mut writes = Vec::new();
    let mut next = people.iter();
    let mut n: i64 = 0;
    for (kind, count, back_days) in FACT_PLAN {
        for resident in next.by_ref().take(count) {
            n += 1;
            let anchor = now - (n * 7_919 % (back_days * day)) - 3_600;
            writes.push(FactWrite {
                fact_key: format!("demo:{}:{}", kind.code(), resident.id),
                person: CodePerson {
                    id_type: resident.id_type.clone(),
                    id_number: resident.id_number.clone(),
                },
                resident_id: Some(resident.id),
                grid_code: resident.grid_code.clone(),
                kind,
                anchor,
                ended_at: None,
                colour: None,
                note: Some(demo_note(kind).into()),
                source: "流调队员 李明（演示）".into(),
                created_by: "epidemiologist".into(),
            });
        }
    }
    // Another province's red, mirrored; and one manual override after a verified mistake.
    for (i, resident) in next.by_ref().take(4).enumerate() {
        writes.push(FactWrite {
            fact_key: format!("demo:other:{}", resident.id),
            person: CodePerson {
                id_type: resident.id_type.clone(),
                id_number: resident.id_number.clone(),
            },
            resident_id: Some(resident.id),
            grid_code: resident.grid_code.clone(),
            kind: FactKind::OtherProvince,
            anchor: now - (i as i64 + 1) * day,
            ended_at: None,
            colour: Some(if i % 2 == 0 {
                CodeColour::Red
            } else {
                CodeColour::Yellow
            }),
            note: Some(format!("北京市来函 京防协〔2021〕{}号", 40 + i)),
            source: "藁城区指挥部（演示）".into(),
            created_by: "commander".into(),
        });
    }
    let facts = app.add_code_facts_unchecked(&writes, "演示数据").await?;

    // Three open appeals from people with a colour.
    for resident in people.iter().take(3) {
        app.store_for_tools()
            .insert_appeal(
                &AppealRecord {
                    id: 0,
                    id_type: resident.id_type.clone(),
                    id_number: resident.id_number.clone(),
                    resident_id: Some(resident.id),
                    grid_code: resident.grid_code.clone(),
                    filed_at: now - 5 * 3_600,
                    filed_by: "demo".into(),
                    colour: CodeColour::Red,
                    reason: "流调时我已在外地出差，有火车票和单位证明，请核实".into(),
                    status: "open".into(),
                    decided_at: None,
                    decided_by: None,
                    decision: None,
                },
                &AuditRecord {
                    username: "demo".into(),
                    ..seeding_audit(now - 5 * 3_600, "file_appeal", "")
                },
            )
            .await?;
    }

    // -- checkpoints around the district and venues in the township ---------------------------------
    let checkpoint_plan = [
        (
            "京港澳高速藁城出口",
            "highway_exit",
            county.as_str().to_string(),
        ),
        (
            "石黄高速藁城服务区",
            "highway_exit",
            county.as_str().to_string(),
        ),
        (
            "藁城站出站口",
            "railway_station",
            county.as_str().to_string(),
        ),
        ("藁城汽车站", "bus_station", county.as_str().to_string()),
        ("小果庄村东口卡口", "community_gate", village.to_string()),
        ("小果庄村西口卡口", "community_gate", village.to_string()),
    ];
    let mut checkpoints = Vec::new();
    for (name, kind, region) in checkpoint_plan {
        checkpoints.push(
            app.create_checkpoint(
                &actor,
                &CheckpointForm {
                    name: name.into(),
                    kind: kind.into(),
                    line: String::new(),
                    region_code: region,
                },
            )
            .await?,
        );
    }
    let venue_plan = [
        ("增村镇惠民超市", "超市"),
        ("增村镇农贸市场", "农贸市场"),
        ("增村镇卫生院药房", "药店"),
        ("增村中学", "学校"),
    ];
    let mut venues = Vec::new();
    for (name, kind) in venue_plan {
        venues.push(
            app.create_venue(
                &actor,
                &VenueForm {
                    name: name.into(),
                    kind: kind.into(),
                    address: format!("增村镇{name}"),
                    region_code: township.into(),
                },
            )
            .await?,
        );
    }
    // The last three days' visits: every 3rd sampled resident visits a venue now and then.
    for (i, resident) in people.iter().enumerate().step_by(3).take(400) {
        let venue = venues[i % venues.len()];
        app.store_for_tools()
            .insert_venue_visit(&VenueVisitRecord {
                id: 0,
                visit_key: format!("demo:{venue}:{}", resident.id),
                venue_id: venue,
                at: now - (i as i64 * 613) % (3 * day),
                id_type: resident.id_type.clone(),
                id_number: resident.id_number.clone(),
                resident_id: Some(resident.id),
                colour: CodeColour::Green,
            })
            .await?;
    }

    // Passages: a few hundred checks now, then more every second while the demo runs.
    let checker = app.actor_for_user("checkpoint", "demo").await?;
    let sample: Vec<(i64, String)> = people
        .iter()
        .rev()
        .take(600)
        .map(|r| (r.id, r.id_number.to_string()))
        .collect();
    let mut passages = 0;
    for i in 0..300 {
        passages += usize::from(check_once(app, &checker, &checkpoints, &sample, county, i).await);
    }
    Ok(SeededCodes {
        facts,
        checkpoints,
        venues: venues.len(),
        passages,
    })
}

fn demo_note(kind: FactKind) -> &'static str {
    match kind {
        FactKind::LeftMediumRiskArea => "自中风险区返藁",
        FactKind::LeftOutbreakCounty => "自涉疫县返藁",
        FactKind::FeverClinic => "藁城区医院发热门诊就诊",
        FactKind::PharmacyPurchase => "药店购买退热药（实名登记）",
        FactKind::Inbound => "入境人员，闭环转运返藁",
        _ => "",
    }
}

/// One check at one of the checkpoints: a resident's QR most of the time, an ID typed otherwise,
/// now and then an arrival from the county or a fever. Returns whether it was logged.
async fn check_once(
    app: &App,
    checker: &Actor,
    checkpoints: &[i64],
    people: &[(i64, String)],
    county: &RegionCode,
    i: usize,
) -> bool {
    let (resident_id, id_number) = &people[(i * 37) % people.len()];
    // Staff type mainland ID numbers only (18 digits); holders of other documents show their QR.
    let code = if i.is_multiple_of(4) && id_number.len() == 18 {
        id_number.clone()
    } else {
        match app.issue_code_token_unchecked(*resident_id).await {
            Ok(token) => token,
            Err(_) => return false,
        }
    };
    let scan = CheckpointScan {
        passage_key: format!("demo-{}-{i}", chrono::Utc::now().timestamp_millis()),
        code,
        id_number: String::new(),
        temperature: if i.is_multiple_of(53) {
            "38.2".into()
        } else {
            format!("36.{}", i % 8)
        },
        plate: if i.is_multiple_of(3) {
            format!("冀A{:05}", 10_000 + i % 80_000)
        } else {
            String::new()
        },
        from_region: if i.is_multiple_of(29) {
            county.as_str().into()
        } else {
            String::new()
        },
    };
    let checkpoint = checkpoints[i % checkpoints.len()];
    match app.verify_at_checkpoint(checker, checkpoint, &scan).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(code = e.code(), "a demo check was refused");
            false
        }
    }
}

/// Keeps passages flowing while the demo is served: one check every second or so.
pub fn keep_checking(app: App, checkpoints: Vec<i64>, county: RegionCode) {
    tokio::spawn(async move {
        let Ok(checker) = app.actor_for_user("checkpoint", "demo").await else {
            return;
        };
        let Ok(page) = app
            .store_for_tools()
            .residents_page(
                (county.as_str(), &format!("{}:", county.as_str())),
                0,
                3_000,
            )
            .await
        else {
            return;
        };
        let people: Vec<(i64, String)> = page
            .into_iter()
            .map(|r| (r.id, r.id_number.into()))
            .collect();
        if people.is_empty() {
            return;
        }
        let mut i = 1_000;
        loop {
            check_once(&app, &checker, &checkpoints, &people, &county, i).await;
            i += 1;
            tokio::time::sleep(Duration::from_millis(900)).await;
        }
    });
}

/// The audit record of a change the demo's seeding writes straight to the store (dated in the
/// outbreak's past, by the seeding user "commander").
fn seeding_audit(at: i64, action: &str, detail: &str) -> AuditRecord {
    AuditRecord {
        id: 0,
        at,
        user_id: None,
        username: "commander".into(),
        action: action.into(),
        target: String::new(),
        detail: detail.into(),
        client_addr: "local".into(),
    }
}
