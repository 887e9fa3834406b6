//! The demo's leads (线索与落地查人) in 藁城区: every channel and every state, overdue leads and
//! leads landed in time and late, assistance letters in (with senders and 协查函文号) and out, a
//! big-data push import with problem rows, and the investigation demo's contacts (when it ran).
//!
//! The leads go through the real `app` functions on a clock of their own that starts 60 hours ago
//! and is moved forward, so receipt, landing and deadlines lie where a real day and a half would
//! have put them; nothing is written behind the app's back.

// `demo.rs` calls `seed_leads` once it is wired in; until then only the test below does.

use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::Duration;
use fangkong_app::leads::{LeadForm, OutcomeForm, SelfReportForm};
use fangkong_app::{Actor, App, FixedClock};
use fangkong_domain::leads::PUSH_COLUMNS;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

pub struct SeededLeads {
    /// Leads in the county after seeding (investigation contacts included).
    pub leads: i64,
    pub overdue: i64,
    /// The county's 24-hour landing rate, e.g. "62.5%".
    pub landing_rate: String,
    /// Leads made from the investigation demo's contact events.
    pub from_investigation: usize,
    pub push_import_id: i64,
}

fn actor(role: Role, jurisdiction: &str, username: &str, display_name: &str) -> Result<Actor> {
    Ok(Actor::seeding(
        role,
        RegionCode::parse(jurisdiction).map_err(anyhow::Error::msg)?,
        username,
        display_name,
    ))
}

fn controlled(measure: &str, note: &str) -> OutcomeForm {
    OutcomeForm {
        kind: "controlled".into(),
        measure: measure.into(),
        note: note.into(),
        ..OutcomeForm::default()
    }
}

/// Seeds the leads of `county`. Works with or without the investigation demo before it.
pub async fn seed_leads(app: &App, county: &RegionCode) -> Result<SeededLeads> {
    // Contacts from the investigation demo become leads first (idempotent; none is fine).
    let before = app.sync_lead_events().await?;
    let commander = actor(
        Role::Commander,
        county.as_str(),
        "commander",
        "藁城区指挥部",
    )?;
    let from_investigation = app.leads_list(&commander, &Default::default()).await?.total as usize;

    // People of the county, spread over its grids.
    let (lower, upper) = county.subtree_range();
    let mut pool = Vec::new();
    let mut after = 0;
    while pool.len() < 20_000 {
        let page = app
            .store_for_tools()
            .residents_page((&lower, &upper), after, 5_000)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        pool.extend(page.into_iter().filter(|r| r.id_type == "mainland_id"));
    }
    anyhow::ensure!(
        pool.len() >= 60,
        "the demo county has too few residents for leads"
    );
    let step = pool.len() / 60;
    let people: Vec<_> = pool.into_iter().step_by(step).take(60).collect();
    let worker_of = |grid: &str| actor(Role::GridWorker, grid, "wangge", "网格员（演示）");

    // A clock of our own, 60 hours back.
    let clock = Arc::new(FixedClock::new(app.now() - Duration::hours(60)));
    let past = App::new(app.store_for_tools().clone(), clock.clone());
    let mut ids: Vec<(i64, String)> = Vec::new();

    // -- 60 h ago: grassroots screening and assistance letters in --------------------------------
    let came_from = [
        "北京市朝阳区",
        "上海市浦东新区",
        "保定市定兴县",
        "邢台市南和区",
    ];
    for (i, r) in people.iter().take(8).enumerate() {
        let id = past
            .create_lead(
                &worker_of(&r.grid_code)?,
                &LeadForm {
                    channel: "grid_screening".into(),
                    category: if i % 2 == 0 {
                        "left_medium_risk_area"
                    } else {
                        "left_high_risk_area"
                    }
                    .into(),
                    id_number: r.id_number.to_string(),
                    came_from: came_from[i % came_from.len()].into(),
                    reason: "敲门行动发现外地来返".into(),
                    ..LeadForm::default()
                },
            )
            .await
            .context("screening lead")?;
        ids.push((id, r.grid_code.clone()));
    }
    let letters = [
        (
            "北京市朝阳区疫情防控指挥部",
            "other_province",
            "朝防协〔2021〕118号",
            "close_contact",
        ),
        (
            "保定市疫情防控指挥部流调专班",
            "other_city",
            "保防协〔2021〕56号",
            "secondary_contact",
        ),
        (
            "石家庄市长安区区域协查专班",
            "other_district",
            "长防协〔2021〕203号",
            "companion",
        ),
    ];
    for (i, (sender, scope, reference, category)) in letters.iter().enumerate() {
        let r = &people[8 + i];
        let id = past
            .create_lead(
                &commander,
                &LeadForm {
                    channel: "assist_in".into(),
                    category: (*category).into(),
                    id_number: r.id_number.to_string(),
                    sender: (*sender).into(),
                    sender_scope: (*scope).into(),
                    reference: (*reference).into(),
                    reason: "协查函：请核查此人并落实管控，24小时内反馈".into(),
                    ..LeadForm::default()
                },
            )
            .await
            .context("assistance letter in")?;
        ids.push((id, r.grid_code.clone()));
    }

    // -- 55 h ago: the first landings, in time; one left the province ------------------------
    clock.advance(Duration::hours(5));
    for (id, grid) in &ids[0..3] {
        past.record_lead_outcome(
            &worker_of(grid)?,
            *id,
            &controlled("home_isolation", "已上门核实，落实居家隔离"),
        )
        .await?;
    }
    past.record_lead_outcome(
        &worker_of(&ids[8].1)?,
        ids[8].0,
        &controlled("centralised", "已转运至集中隔离点"),
    )
    .await?;
    past.record_lead_outcome(
        &worker_of(&ids[3].1)?,
        ids[3].0,
        &OutcomeForm {
            kind: "left_province".into(),
            region_code: "110105".into(),
            note: "已于前日乘高铁返回北京朝阳".into(),
            ..OutcomeForm::default()
        },
    )
    .await?;

    // -- 40 h ago: an outgoing letter, active screening, leads waiting to be routed ------------
    clock.advance(Duration::hours(15));
    for (name, phone, to, to_name, reference) in [
        (
            "返京人员甲",
            "13601010001",
            "110105",
            "北京市朝阳区",
            "藁防协〔2021〕7号",
        ),
        (
            "返沪人员乙",
            "13601010002",
            "310115",
            "上海市浦东新区",
            "藁防协〔2021〕8号",
        ),
    ] {
        past.create_lead(
            &commander,
            &LeadForm {
                channel: "assist_out".into(),
                category: "close_contact".into(),
                name: name.into(),
                phone: phone.into(),
                out_region: to.into(),
                out_region_name: to_name.into(),
                reference: reference.into(),
                reason: "本区病例的密接，已离开本区".into(),
                ..LeadForm::default()
            },
        )
        .await?;
    }
    for r in people.iter().skip(11).take(3) {
        let id = past
            .create_lead(
                &commander,
                &LeadForm {
                    channel: "active_screening".into(),
                    category: "other".into(),
                    id_number: r.id_number.to_string(),
                    reason: "发热门诊就诊，未做核酸".into(),
                    ..LeadForm::default()
                },
            )
            .await?;
        ids.push((id, r.grid_code.clone()));
    }
    let villages: Vec<String> = people
        .iter()
        .map(|r| r.grid_code[..12].to_string())
        .collect();
    let mut unrouted = Vec::new();
    for (i, phone) in ["13701020001", "13701020002", "13701020003"]
        .iter()
        .enumerate()
    {
        unrouted.push(
            past.create_lead(
                &commander,
                &LeadForm {
                    channel: "active_screening".into(),
                    category: "other".into(),
                    name: format!("药店购药人员{}", i + 1),
                    phone: (*phone).into(),
                    address: "村内临时住所".into(),
                    region_code: villages[20 + i].clone(),
                    reason: "零售药店购买退热药".into(),
                    ..LeadForm::default()
                },
            )
            .await?,
        );
    }
    past.assign_lead(&commander, unrouted[0], &people[20].grid_code)
        .await?;

    // -- 30 h ago: late landings of the first day's leads --------------------------------------
    clock.advance(Duration::hours(10));
    for (id, grid) in &ids[4..6] {
        past.record_lead_outcome(
            &worker_of(grid)?,
            *id,
            &controlled("home_monitoring", "超时：多次上门未遇，电话联系后落实"),
        )
        .await?;
    }
    // A person not at the address, forwarded (by the township's commander) to where they live.
    if people[30].grid_code != ids[6].1 {
        past.record_lead_outcome(
            &commander,
            ids[6].0,
            &OutcomeForm {
                kind: "not_here".into(),
                region_code: people[30].grid_code.clone(),
                note: "已搬至亲属家居住".into(),
                ..OutcomeForm::default()
            },
        )
        .await?;
    }

    // -- 28 h ago: a big-data push (stale rows are overdue at once), with problem rows ----------
    clock.advance(Duration::hours(2));
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("大数据推送.csv");
    {
        let push_time = |hours_back: i64| {
            (clock_now(&past) - Duration::hours(hours_back))
                .with_timezone(&fangkong_app::china_offset())
                .format("%Y-%m-%d %H:%M")
                .to_string()
        };
        let mut lines = vec![PUSH_COLUMNS.join(",")];
        for (i, r) in people.iter().skip(24).take(10).enumerate() {
            let (reason, category) = if i % 2 == 0 {
                ("与确诊病例时空伴随", "时空伴随者")
            } else {
                (
                    "健康码异常（黄码），近7日有中风险区旅居史",
                    "中风险区外溢人员",
                )
            };
            lines.push(format!(
                "{},,{},,,{reason},{category},{},省大数据中心,",
                r.name.as_str(),
                r.id_number.as_str(),
                push_time(if i < 4 { 3 } else { 0 })
            ));
        }
        lines.push(format!(
            "外来人员,,,13812340001,藁城区某村出租屋,健康码异常,,{},省大数据中心,{}",
            push_time(0),
            villages[34]
        ));
        lines.push(format!(
            "无名氏,,,,,健康码异常,,{},省大数据中心,",
            push_time(0)
        ));
        lines.push(format!(
            "号码错误,,13010919900101123,,,健康码异常,,{},省大数据中心,",
            push_time(0)
        ));
        std::fs::write(&path, lines.join("\n"))?;
    }
    let push = past
        .import_leads(&commander, &path, "省大数据中心推送.csv")
        .await
        .context("big-data push import")?;

    // -- 20 h ago: residents report themselves ---------------------------------------------------
    clock.advance(Duration::hours(8));
    let resident = actor(
        Role::Resident,
        county.as_str(),
        "jumin_demo",
        "居民（演示）",
    )?;
    for (i, r) in people.iter().skip(40).take(4).enumerate() {
        past.self_report(
            &resident,
            &SelfReportForm {
                name: format!("自报人员{}", i + 1),
                phone: format!("1350203000{i}"),
                address: r.address.to_string(),
                region_code: r.grid_code.clone(),
                came_from: came_from[i % came_from.len()].into(),
                arrived_at: (clock_now(&past) - Duration::hours(12))
                    .with_timezone(&fangkong_app::china_offset())
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                category: "left_medium_risk_area".into(),
                contact_note: "无病例接触史".into(),
                ..SelfReportForm::default()
            },
        )
        .await?;
    }

    // -- 2 h ago: some of the push and the self-reports landed, in time ------------------------
    clock.advance(Duration::hours(18));
    let open = past
        .leads_list(
            &commander,
            &fangkong_app::leads::LeadFilter {
                status: "pending".into(),
                channel: "big_data_push".into(),
                ..Default::default()
            },
        )
        .await?;
    for lead in open.rows.iter().rev().take(3) {
        past.record_lead_outcome(
            &worker_of(&lead.grid_code)?,
            lead.id,
            &controlled("home_monitoring", ""),
        )
        .await?;
    }
    let reports = past
        .leads_list(
            &commander,
            &fangkong_app::leads::LeadFilter {
                channel: "self_report".into(),
                ..Default::default()
            },
        )
        .await?;
    if let Some(lead) = reports.rows.first() {
        past.record_lead_outcome(
            &worker_of(&lead.grid_code)?,
            lead.id,
            &controlled("hospital", "发热，送定点医院"),
        )
        .await?;
    }

    // Any contact events written meanwhile.
    let after_events = app.sync_lead_events().await?;
    let overview = app.leads_overview(&commander, county.as_str()).await?;
    tracing::info!(
        leads = overview.total.total,
        overdue = overview.total.overdue,
        events = before + after_events,
        "demo leads seeded"
    );
    Ok(SeededLeads {
        leads: overview.total.total,
        overdue: overview.total.overdue,
        landing_rate: overview.total.rate_label(),
        from_investigation,
        push_import_id: push.import_id,
    })
}

fn clock_now(app: &App) -> chrono::DateTime<chrono::Utc> {
    app.now()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fangkong_app::leads::LeadFilter;
    use fangkong_app::{Store, SystemClock};

    #[tokio::test]
    async fn the_demo_leads_cover_every_channel_and_state_without_investigation() {
        let temp = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_dir(temp.path()).await.unwrap();
        let app = App::new(store, Arc::new(SystemClock));
        app.load_divisions().await.unwrap();
        let county = RegionCode::parse("130109").unwrap();
        fangkong_seed::seed_population(&app, &county, 3_000, 7, &temp.path().join("p.csv"))
            .await
            .unwrap();
        let seeded = seed_leads(&app, &county).await.unwrap();
        assert_eq!(seeded.from_investigation, 0);
        assert!(seeded.leads >= 30, "{}", seeded.leads);
        assert!(seeded.overdue > 0);
        assert_ne!(seeded.landing_rate, "—");
        let commander = actor(Role::Commander, "130109", "c", "c").unwrap();
        let overview = app.leads_overview(&commander, "").await.unwrap();
        for (status, _, n) in &overview.by_status {
            assert!(*n > 0, "some leads are {status}");
        }
        for (channel, _, n) in &overview.by_channel {
            if channel != "investigation" {
                assert!(*n > 0, "some leads came by {channel}");
            }
        }
        let late = app
            .leads_list(
                &commander,
                &LeadFilter {
                    status: "controlled".into(),
                    ..LeadFilter::default()
                },
            )
            .await
            .unwrap();
        assert!(late.rows.iter().any(|l| !l.in_time) && late.rows.iter().any(|l| l.in_time));
        let push = app
            .lead_import_report(&fangkong_seed::seed_actor(), seeded.push_import_id)
            .await
            .unwrap();
        assert_eq!(push.problem_rows, 2);
    }
}
