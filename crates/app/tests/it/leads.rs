//! Leads and 落地查人 stories of the application layer, each on SQLite and (when
//! FANGKONG_TEST_POSTGRES is set) on a brand-new PostgreSQL database: every channel routed to the
//! person's grid, refusals outside the jurisdiction and of bad input, the grid worker's outcomes
//! with the `lead_controlled` event, the 24-hour deadline and landing rate on a moving clock,
//! investigation events taken once, and a big-data push imported twice.
//!
//! Longer than 800 lines: one capability's stories, each on both backends where it applies; split
//! by sub-area when a new story would not fit.

use crate::support::*;
use chrono::Duration;
use fangkong_app::auth::NewUser;
use fangkong_app::leads::{LeadFilter, LeadForm, OutcomeForm, SelfReportForm};
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::leads::PUSH_COLUMNS;
use fangkong_domain::person_event::{ContactEvent, LEAD_CONTROLLED, LeadControlledEvent};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    every_channel_is_routed_to_the_grid_and_bad_input_is_refused,
    channels_story_sqlite,
    channels_story_postgres
);
story!(
    grid_workers_record_outcomes_once,
    outcomes_story_sqlite,
    outcomes_story_postgres
);
story!(
    the_command_view_counts_overdue_leads_and_the_landing_rate,
    overdue_story_sqlite,
    overdue_story_postgres
);
story!(
    investigation_events_become_leads_once,
    events_story_sqlite,
    events_story_postgres
);
story!(
    a_big_data_push_lands_good_rows_and_lists_bad_ones,
    push_story_sqlite,
    push_story_postgres
);

struct Staff {
    commander: Actor,
    epidemiologist: Actor,
    /// An administrator of all Hebei.
    province: Actor,
}

async fn staff(app: &App) -> Staff {
    for (username, name, role, region) in [
        ("commander", "藁城区指挥部", Role::Commander, COUNTY),
        ("epi", "藁城区流调队", Role::Epidemiologist, COUNTY),
        ("province", "省管理员", Role::Administrator, "13"),
    ] {
        app.create_user_unchecked(
            &NewUser {
                username: username.into(),
                display_name: name.into(),
                role,
                jurisdiction: RegionCode::parse(region).unwrap(),
                password: PASSWORD.into(),
            },
            "test",
        )
        .await
        .unwrap();
    }
    Staff {
        commander: login(app, "commander").await,
        epidemiologist: login(app, "epi").await,
        province: login(app, "province").await,
    }
}

fn person(name: &str) -> Row {
    population().into_iter().find(|r| r.name == name).unwrap()
}

fn screening(id_number: &str) -> LeadForm {
    LeadForm {
        channel: "grid_screening".into(),
        category: "left_medium_risk_area".into(),
        id_number: id_number.into(),
        came_from: "北京市朝阳区".into(),
        reason: "敲门排查发现".into(),
        ..LeadForm::default()
    }
}

fn controlled(measure: &str) -> OutcomeForm {
    OutcomeForm {
        kind: "controlled".into(),
        measure: measure.into(),
        ..OutcomeForm::default()
    }
}

fn outcome(kind: &str, region: &str) -> OutcomeForm {
    OutcomeForm {
        kind: kind.into(),
        region_code: region.into(),
        ..OutcomeForm::default()
    }
}

fn invalid_message(result: Result<impl std::fmt::Debug, AppError>) -> String {
    match result {
        Err(AppError::Invalid(m)) => m,
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

async fn lead_count(app: &App, actor: &Actor) -> i64 {
    app.leads_list(actor, &LeadFilter::default())
        .await
        .unwrap()
        .total
}

/// The command view's counts (kept in `lead_grid_stats`) agree with the leads themselves.
async fn assert_counts_match(app: &App, actor: &Actor) {
    let overview = app.leads_overview(actor, "").await.unwrap();
    let mut children_total = 0;
    for child in &overview.children {
        children_total += child.total;
    }
    assert_eq!(children_total, overview.total.total);
    assert_eq!(overview.total.total, lead_count(app, actor).await);
    for (status, _, n) in &overview.by_status {
        let listed = app
            .leads_list(
                actor,
                &LeadFilter {
                    status: status.clone(),
                    ..LeadFilter::default()
                },
            )
            .await
            .unwrap()
            .total;
        assert_eq!(*n, listed, "{status}");
    }
    let overdue = app.overdue_leads(actor, "", 1).await.unwrap().total;
    assert_eq!(overview.total.overdue, overdue);
}

async fn every_channel_is_routed_to_the_grid_and_bad_input_is_refused(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let staff = staff(&app).await;
    let wang = person("王建国");

    // Grassroots screening of a registered person lands in the register's grid.
    let id = app
        .create_lead(&world.worker_a, &screening(&wang.id_number))
        .await
        .unwrap();
    let detail = app.lead_detail(&world.worker_a, id).await.unwrap();
    assert_eq!(detail.lead.grid_code, GRID_A1);
    assert_eq!(detail.lead.status, "pending");
    assert_eq!(detail.lead.channel_label, "基层排查");
    assert_eq!(detail.lead.name, "王建国");
    assert_eq!(detail.lead.id_number_masked, masked_id(&wang.id_number));
    assert_eq!(detail.lead.phone_masked, "139****0001");
    assert!(detail.lead.id_number.is_none());
    assert_eq!(detail.lead.deadline - detail.lead.received_at, 24 * 3600);
    assert_eq!(detail.steps.len(), 1);
    assert_eq!(detail.steps[0].step, "received");
    let debug = format!(
        "{:?}",
        app.store_for_tools().lead(id).await.unwrap().unwrap()
    );
    assert!(!debug.contains(&wang.id_number) && !debug.contains("13900000001"));
    let revealed_debug = format!(
        "{:?} {:?}",
        app.reveal_lead(&world.worker_a, id, "核实").await.unwrap(),
        screening(&wang.id_number)
    );
    assert!(
        !revealed_debug.contains(&wang.id_number),
        "{revealed_debug}"
    );

    // A person of township B is outside worker A's reach: refused, nothing written.
    let before = lead_count(&app, &world.admin).await;
    let message = invalid_message(
        app.create_lead(&world.worker_a, &screening(&person("王大力").id_number))
            .await,
    );
    assert!(message.contains("不在您的管辖范围内"), "{message}");
    assert!(message.contains("区域协查"), "{message}");
    // Bad input: a malformed ID, nobody to find, an unknown grid, an unknown channel.
    let message = invalid_message(
        app.create_lead(
            &world.worker_a,
            &screening(&with_wrong_check_digit(&wang.id_number)),
        )
        .await,
    );
    assert!(message.contains("证件号码"), "{message}");
    let nobody = LeadForm {
        channel: "grid_screening".into(),
        name: "无名氏".into(),
        ..LeadForm::default()
    };
    let message = invalid_message(app.create_lead(&world.worker_a, &nobody).await);
    assert!(message.contains("至少填写一项"), "{message}");
    let unknown_grid = LeadForm {
        address: "西城街某小区".into(),
        region_code: GRID_UNKNOWN.into(),
        ..nobody.clone()
    };
    let message = invalid_message(app.create_lead(&world.worker_a, &unknown_grid).await);
    assert!(message.contains("不存在"), "{message}");
    let no_region = LeadForm {
        address: "西城街某小区".into(),
        ..nobody.clone()
    };
    let message = invalid_message(app.create_lead(&world.worker_a, &no_region).await);
    assert!(message.contains("无法确定此人所在网格"), "{message}");
    let pushed_by_hand = LeadForm {
        channel: "big_data_push".into(),
        ..screening(&wang.id_number)
    };
    assert!(matches!(
        app.create_lead(&world.worker_a, &pushed_by_hand).await,
        Err(AppError::Invalid(_))
    ));
    let bad_phone = LeadForm {
        phone: "12345".into(),
        ..no_region.clone()
    };
    let message = invalid_message(app.create_lead(&world.worker_a, &bad_phone).await);
    assert!(message.contains("联系电话"), "{message}");
    // Roles: a lab may not send leads, a grid worker may not self-report.
    assert!(matches!(
        app.create_lead(&world.lab, &screening(&wang.id_number))
            .await,
        Err(AppError::Forbidden { .. })
    ));
    assert!(matches!(
        app.self_report(&world.worker_a, &SelfReportForm::default())
            .await,
        Err(AppError::Forbidden { .. })
    ));
    assert_eq!(lead_count(&app, &world.admin).await, before);

    // Not in the register: routed by the region code — a grid (pending) or a village (待分派),
    // which the commander then routes to a grid.
    let by_grid = LeadForm {
        channel: "active_screening".into(),
        name: "外来务工人员".into(),
        phone: "13700000001".into(),
        address: "文源社区临时住所".into(),
        region_code: GRID_A2.into(),
        reason: "发热门诊就诊".into(),
        ..LeadForm::default()
    };
    let active = app.create_lead(&world.worker_a, &by_grid).await.unwrap();
    let view = app.lead_detail(&world.worker_a, active).await.unwrap().lead;
    assert_eq!(
        (view.grid_code.as_str(), view.status.as_str()),
        (GRID_A2, "pending")
    );
    assert_eq!(view.channel_label, "主动甄别");
    let by_village = LeadForm {
        region_code: VILLAGE_A1.into(),
        phone: "13700000002".into(),
        ..by_grid.clone()
    };
    let unrouted = app.create_lead(&world.worker_a, &by_village).await.unwrap();
    let view = app
        .lead_detail(&world.worker_a, unrouted)
        .await
        .unwrap()
        .lead;
    assert_eq!(
        (view.grid_code.as_str(), view.status.as_str()),
        (VILLAGE_A1, "unrouted")
    );
    let message = invalid_message(app.assign_lead(&world.commander_a, unrouted, GRID_B1).await);
    assert!(message.contains("不在您的管辖范围内"), "{message}");
    app.assign_lead(&world.commander_a, unrouted, GRID_A1)
        .await
        .unwrap();
    let detail = app.lead_detail(&world.worker_a, unrouted).await.unwrap();
    assert_eq!(
        (detail.lead.grid_code.as_str(), detail.lead.status.as_str()),
        (GRID_A1, "pending")
    );
    assert_eq!(detail.steps.last().unwrap().step, "assigned");
    // By phone when the register has exactly one person with it.
    let by_phone = LeadForm {
        channel: "grid_screening".into(),
        phone: "13900000007".into(),
        ..LeadForm::default()
    };
    let found = app.create_lead(&world.worker_a, &by_phone).await.unwrap();
    assert_eq!(
        app.lead_detail(&world.worker_a, found)
            .await
            .unwrap()
            .lead
            .grid_code,
        GRID_A2
    );

    // An assistance letter in needs its sender and reference number.
    let letter = LeadForm {
        channel: "assist_in".into(),
        category: "close_contact".into(),
        id_number: person("周杰").id_number,
        sender: "北京市朝阳区疫情防控指挥部".into(),
        sender_scope: "other_province".into(),
        reference: "朝防协〔2022〕118号".into(),
        reason: "病例密接，末次接触 11月18日".into(),
        ..LeadForm::default()
    };
    let message = invalid_message(
        app.create_lead(
            &staff.commander,
            &LeadForm {
                reference: String::new(),
                ..letter.clone()
            },
        )
        .await,
    );
    assert!(message.contains("协查函文号"), "{message}");
    let letter_in = app.create_lead(&staff.commander, &letter).await.unwrap();
    let view = app
        .lead_detail(&staff.commander, letter_in)
        .await
        .unwrap()
        .lead;
    assert_eq!(view.grid_code, GRID_B1);
    assert_eq!(view.sender_scope_label, "外省协查");
    assert_eq!(view.reference, "朝防协〔2022〕118号");
    // …and worker A cannot even see it.
    assert!(matches!(
        app.lead_detail(&world.worker_a, letter_in).await,
        Err(AppError::NotFound(_))
    ));

    // An assistance letter out leaves the jurisdiction on purpose; inside it is refused.
    let out = LeadForm {
        channel: "assist_out".into(),
        category: "close_contact".into(),
        name: "返京人员".into(),
        phone: "13600000001".into(),
        out_region: "110105".into(),
        out_region_name: "北京市朝阳区".into(),
        reference: "藁防协〔2022〕7号".into(),
        reason: "本区病例密接，已返回北京".into(),
        ..LeadForm::default()
    };
    let letter_out = app.create_lead(&world.worker_a, &out).await.unwrap();
    let view = app
        .lead_detail(&world.worker_a, letter_out)
        .await
        .unwrap()
        .lead;
    assert_eq!(view.status, "letter_out");
    assert_eq!(view.out_region, "110105");
    assert_eq!(view.grid_code, TOWNSHIP_A);
    let message = invalid_message(
        app.create_lead(
            &world.worker_a,
            &LeadForm {
                out_region: GRID_A2.into(),
                ..out.clone()
            },
        )
        .await,
    );
    assert!(message.contains("在您的辖区内"), "{message}");

    // Self-report: an unlinked account says where; a linked one reports the registered person.
    let report = SelfReportForm {
        name: "刘某".into(),
        phone: "13500000001".into(),
        address: "增村镇增村".into(),
        region_code: GRID_B1.into(),
        came_from: "上海市浦东新区".into(),
        arrived_at: "2022-11-19 20:00".into(),
        category: "left_high_risk_area".into(),
        contact_note: "无病例接触".into(),
        ..SelfReportForm::default()
    };
    let own = app
        .self_report(&world.resident_user, &report)
        .await
        .unwrap();
    let view = app.lead_detail(&staff.commander, own).await.unwrap().lead;
    assert_eq!(
        (view.grid_code.as_str(), view.channel.as_str()),
        (GRID_B1, "self_report")
    );
    assert_eq!(view.came_from, "上海市浦东新区");
    assert!(view.arrived_at.is_some());
    let message = invalid_message(
        app.self_report(
            &world.resident_user,
            &SelfReportForm {
                came_from: String::new(),
                contact_note: String::new(),
                ..report.clone()
            },
        )
        .await,
    );
    assert!(message.contains("从哪里来"), "{message}");
    let zhou = resident_id(&app, &world.admin, &person("周杰").id_number).await;
    app.store_for_tools()
        .link_user_to_resident(world.resident_user.user_id, zhou)
        .await
        .unwrap();
    let linked = app
        .self_report(
            &world.resident_user,
            &SelfReportForm {
                came_from: "石家庄市新华区".into(),
                ..SelfReportForm::default()
            },
        )
        .await
        .unwrap();
    let view = app
        .lead_detail(&staff.commander, linked)
        .await
        .unwrap()
        .lead;
    assert_eq!(view.name, "周杰");
    assert_eq!(view.resident_id, Some(zhou));
    let mine = app.my_self_reports(&world.resident_user).await.unwrap();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|l| !l.phone_masked.contains("13500000001")));

    // Reveal is audited; an epidemiologist may see the county's leads.
    let revealed = app
        .reveal_lead(&staff.epidemiologist, id, "电话联系本人")
        .await
        .unwrap();
    assert_eq!(
        revealed.lead.id_number.as_deref(),
        Some(wang.id_number.as_str())
    );
    assert!(matches!(
        app.reveal_lead(&staff.epidemiologist, id, " ").await,
        Err(AppError::Invalid(_))
    ));
    assert_counts_match(&app, &world.admin).await;
    drop(guard);
}

async fn grid_workers_record_outcomes_once(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let staff = staff(&app).await;
    let wang = person("王建国");
    let id = app
        .create_lead(&world.worker_a, &screening(&wang.id_number))
        .await
        .unwrap();
    let events_before = app
        .store_for_tools()
        .person_events_after(0, 1000)
        .await
        .unwrap()
        .len();

    // Refusals write nothing.
    let message = invalid_message(
        app.record_lead_outcome(&world.worker_a, id, &controlled("quarantine"))
            .await,
    );
    assert!(
        message.contains("无法识别") && message.contains("集中隔离"),
        "{message}"
    );
    let message = invalid_message(
        app.record_lead_outcome(&world.worker_a, id, &outcome("moved", ""))
            .await,
    );
    assert!(message.contains("落地结果"), "{message}");
    assert!(matches!(
        app.record_lead_outcome(&world.worker_b, id, &controlled("centralised"))
            .await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        app.record_lead_outcome(&world.sampler_a, id, &controlled("centralised"))
            .await,
        Err(AppError::Forbidden { .. })
    ));
    let message = invalid_message(
        app.record_lead_outcome(&world.worker_a, id, &outcome("left_province", "130102"))
            .await,
    );
    assert!(message.contains("属于本省"), "{message}");
    assert_eq!(
        app.lead_detail(&world.worker_a, id)
            .await
            .unwrap()
            .lead
            .status,
        "pending"
    );
    assert_eq!(
        app.store_for_tools()
            .person_events_after(0, 1000)
            .await
            .unwrap()
            .len(),
        events_before
    );

    // Found and controlled at home: the lead closes and the event for isolation is written.
    guard.clock.advance(Duration::hours(3));
    let after = app
        .record_lead_outcome(&world.worker_a, id, &controlled("home_isolation"))
        .await
        .unwrap();
    assert_eq!(after.status, "controlled");
    assert_eq!(after.measure_label, "居家隔离");
    assert!(after.in_time);
    let events = app
        .store_for_tools()
        .person_events_after(0, 1000)
        .await
        .unwrap();
    let event = events.iter().find(|e| e.kind == LEAD_CONTROLLED).unwrap();
    assert_eq!(event.grid_code, GRID_A1);
    assert_eq!(event.id_number, wang.id_number);
    assert_eq!(event.source, format!("lead:{id}"));
    let detail: LeadControlledEvent = serde_json::from_str(&event.detail).unwrap();
    assert_eq!(detail.lead_id, id);
    assert_eq!(detail.measure, "home_isolation");
    assert_eq!(detail.category, "left_medium_risk_area");
    assert_eq!(detail.name, "王建国");
    let steps = app.lead_detail(&world.worker_a, id).await.unwrap().steps;
    assert_eq!(
        steps.iter().map(|s| s.step.as_str()).collect::<Vec<_>>(),
        ["received", "controlled"]
    );
    assert_eq!(steps[1].at - steps[0].at, 3 * 3600);
    // A second outcome on a closed lead is refused, and writes no second event.
    match app
        .record_lead_outcome(&world.worker_a, id, &controlled("centralised"))
        .await
    {
        Err(AppError::Conflict(m)) => assert!(m.contains("已办结"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // The landing committed with its audit record; the refused one left none.
    assert_eq!(
        audit_rows_of(&app, "land", &format!("lead:{id}"))
            .await
            .len(),
        1
    );
    let controlled_events = app
        .store_for_tools()
        .person_events_after(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == LEAD_CONTROLLED)
        .count();
    assert_eq!(controlled_events, 1);

    // Not at this address: inside the sender's reach it is forwarded (same deadline)…
    let county_lead = app
        .create_lead(&staff.commander, &screening(&person("李华").id_number))
        .await
        .unwrap();
    let deadline = app
        .lead_detail(&staff.commander, county_lead)
        .await
        .unwrap()
        .lead
        .deadline;
    let forwarded = app
        .record_lead_outcome(&world.worker_a, county_lead, &outcome("not_here", GRID_B1))
        .await
        .unwrap();
    assert_eq!(
        (forwarded.grid_code.as_str(), forwarded.status.as_str()),
        (GRID_B1, "pending")
    );
    assert_eq!(forwarded.deadline, deadline);
    // …now worker B's to land, no longer worker A's.
    assert!(matches!(
        app.lead_detail(&world.worker_a, county_lead).await,
        Err(AppError::NotFound(_))
    ));
    app.record_lead_outcome(&world.worker_b, county_lead, &controlled("centralised"))
        .await
        .unwrap();
    // …outside the sender's reach it becomes an outgoing assistance letter.
    let township_lead = app
        .create_lead(&world.worker_a, &screening(&person("张伟").id_number))
        .await
        .unwrap();
    let out = app
        .record_lead_outcome(
            &world.worker_a,
            township_lead,
            &outcome("not_here", "130102"),
        )
        .await
        .unwrap();
    assert_eq!(
        (out.status.as_str(), out.out_region.as_str()),
        ("letter_out", "130102")
    );
    // Left the province: an outgoing letter to where the person went.
    let left = app
        .create_lead(&world.worker_a, &screening(&person("赵敏").id_number))
        .await
        .unwrap();
    let out = app
        .record_lead_outcome(
            &world.worker_a,
            left,
            &OutcomeForm {
                note: "已乘高铁返回北京".into(),
                ..outcome("left_province", "110105")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (out.status.as_str(), out.out_region.as_str()),
        ("letter_out", "110105")
    );
    let steps = app.lead_detail(&world.worker_a, left).await.unwrap().steps;
    assert!(steps.last().unwrap().note.contains("已乘高铁返回北京"));
    match app
        .record_lead_outcome(&world.worker_a, left, &controlled("centralised"))
        .await
    {
        Err(AppError::Conflict(m)) => assert!(m.contains("已发协查函"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_counts_match(&app, &world.admin).await;
    drop(guard);
}

async fn the_command_view_counts_overdue_leads_and_the_landing_rate(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let staff = staff(&app).await;
    let a = app
        .create_lead(&world.worker_a, &screening(&person("王建国").id_number))
        .await
        .unwrap();
    let b = app
        .create_lead(&world.worker_a, &screening(&person("王秀英").id_number))
        .await
        .unwrap();
    let c = app
        .create_lead(&world.worker_a, &screening(&person("赵敏").id_number))
        .await
        .unwrap();
    let overview = app.leads_overview(&world.commander_a, "").await.unwrap();
    assert_eq!(overview.total.total, 3);
    assert_eq!(overview.total.due, 0);
    assert_eq!(overview.total.rate_label(), "—");

    guard.clock.advance(Duration::hours(10));
    app.record_lead_outcome(&world.worker_a, a, &controlled("centralised"))
        .await
        .unwrap();
    guard.clock.advance(Duration::hours(20));
    // 30 hours after receipt: b lands late, c is overdue; a new lead d is not due yet.
    app.record_lead_outcome(&world.worker_a, b, &controlled("home_monitoring"))
        .await
        .unwrap();
    let d = app
        .create_lead(&world.worker_a, &screening(&person("刘洋").id_number))
        .await
        .unwrap();
    let overview = app.leads_overview(&world.commander_a, "").await.unwrap();
    assert_eq!(overview.region_code, TOWNSHIP_A);
    let t = &overview.total;
    assert_eq!((t.total, t.pending, t.controlled, t.overdue), (4, 2, 2, 1));
    assert_eq!((t.due, t.landed_in_time), (3, 1));
    assert_eq!(t.rate_label(), "33.3%");
    // Per village: A1 (a, b landed) and A2 (c overdue, d in time so far).
    let villages: Vec<(&str, i64, i64, i64)> = overview
        .children
        .iter()
        .map(|c| (c.code.as_str(), c.total, c.overdue, c.landed_in_time))
        .collect();
    assert_eq!(villages, [(VILLAGE_A1, 2, 0, 1), (VILLAGE_A2, 2, 1, 0)]);
    assert!(overview.children.iter().all(|c| c.drillable));
    let channel = overview
        .open_by_channel
        .iter()
        .find(|c| c.0 == "grid_screening")
        .unwrap();
    assert_eq!((channel.2, channel.3), (2, 1));
    // Drill down to a village and a grid.
    let village = app
        .leads_overview(&world.commander_a, VILLAGE_A2)
        .await
        .unwrap();
    assert_eq!(village.children[0].code, GRID_A2);
    let grid = app.leads_overview(&world.worker_a, GRID_A2).await.unwrap();
    assert_eq!(grid.total.overdue, 1);

    // The overdue list: c only; the county sees it too, the other township does not.
    let overdue = app.overdue_leads(&world.commander_a, "", 1).await.unwrap();
    assert_eq!(overdue.rows.iter().map(|r| r.id).collect::<Vec<_>>(), [c]);
    assert!(overdue.rows[0].overdue);
    let county = app
        .overdue_leads(&staff.commander, COUNTY, 1)
        .await
        .unwrap();
    assert_eq!(county.total, 1);
    assert_eq!(
        app.overdue_leads(&world.worker_b, "", 1)
            .await
            .unwrap()
            .total,
        0
    );
    assert!(matches!(
        app.overdue_leads(&world.worker_b, TOWNSHIP_A, 1).await,
        Err(AppError::OutsideJurisdiction)
    ));
    let county_view = app.leads_overview(&staff.commander, "").await.unwrap();
    assert_eq!(county_view.children.len(), 1);
    assert_eq!(county_view.children[0].code, TOWNSHIP_A);
    assert_eq!(county_view.total.rate_label(), "33.3%");

    // Filters: by state and by channel.
    let pending = app
        .leads_list(
            &world.commander_a,
            &LeadFilter {
                status: "pending".into(),
                ..LeadFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        pending.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        [c, d]
    );
    let none = app
        .leads_list(
            &world.commander_a,
            &LeadFilter {
                channel: "assist_in".into(),
                ..LeadFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(none.total, 0);
    assert!(matches!(
        app.leads_list(
            &world.commander_a,
            &LeadFilter {
                status: "lost".into(),
                ..LeadFilter::default()
            },
        )
        .await,
        Err(AppError::Invalid(_))
    ));
    assert!(matches!(
        app.leads_overview(&world.lab, "").await,
        Err(AppError::Forbidden { .. })
    ));
    assert_counts_match(&app, &world.admin).await;
    drop(guard);
}

async fn append_event(app: &App, kind: &str, id_number: &str, grid: &str, detail: &ContactEvent) {
    app.store_for_tools()
        .append_person_event(
            app.now_unix(),
            kind,
            if id_number.is_empty() {
                ""
            } else {
                "mainland_id"
            },
            id_number,
            None,
            grid,
            &format!("contact:{}", detail.contact_id),
            &serde_json::to_string(detail).unwrap(),
        )
        .await
        .unwrap();
}

fn contact(contact_id: i64, name: &str) -> ContactEvent {
    ContactEvent {
        contact_id,
        case_id: 7,
        via_contact_id: None,
        last_exposure: 1_668_800_000,
        regime: "ninth".into(),
        name: name.into(),
        phone: None,
        address: "藁城区某地".into(),
    }
}

async fn investigation_events_become_leads_once(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let staff = staff(&app).await;
    assert_eq!(app.sync_lead_events().await.unwrap(), 0);
    let wang = person("王建国");
    let sun = person("孙丽");
    append_event(
        &app,
        "close_contact",
        &wang.id_number,
        GRID_A1,
        &contact(1, "王建国"),
    )
    .await;
    append_event(
        &app,
        "secondary_contact",
        &sun.id_number,
        "",
        &contact(2, "孙丽"),
    )
    .await;
    append_event(&app, "close_contact", "", "", &contact(3, "不明人员")).await;
    append_event(&app, "close_contact", "", COUNTY, &contact(4, "某某")).await;
    append_event(
        &app,
        "pool_positive",
        &wang.id_number,
        GRID_A1,
        &contact(5, "x"),
    )
    .await;
    assert_eq!(app.sync_lead_events().await.unwrap(), 5);
    let leads = app
        .leads_list(&world.admin, &LeadFilter::default())
        .await
        .unwrap();
    // The county administrator sees the three in the county; the fallback lies at the province.
    assert_eq!(leads.total, 3);
    let all = app
        .leads_list(&staff.province, &LeadFilter::default())
        .await
        .unwrap();
    assert_eq!(all.total, 4);
    let by_name = |name: &str| all.rows.iter().find(|l| l.name == name).unwrap().clone();
    let w = by_name("王建国");
    assert_eq!(
        (w.grid_code.as_str(), w.status.as_str()),
        (GRID_A1, "pending")
    );
    assert_eq!(
        (w.channel_label, w.category_label),
        ("流调判定", "密切接触者")
    );
    let s = by_name("孙丽");
    assert_eq!(
        (s.grid_code.as_str(), s.category.as_str()),
        (GRID_B1, "secondary_contact")
    );
    assert!(s.resident_id.is_some());
    let unknown = by_name("不明人员");
    assert_eq!(
        (unknown.grid_code.as_str(), unknown.status.as_str()),
        ("13", "unrouted")
    );
    let county = by_name("某某");
    assert_eq!(
        (county.grid_code.as_str(), county.status.as_str()),
        (COUNTY, "unrouted")
    );
    // The county commander routes the county's unrouted lead to a grid.
    app.assign_lead(&staff.commander, county.id, GRID_A2)
        .await
        .unwrap();

    // Again, and again from the very beginning: nothing new.
    assert_eq!(app.sync_lead_events().await.unwrap(), 0);
    app.store_for_tools()
        .put_setting("leads.event_cursor", "0")
        .await
        .unwrap();
    assert!(app.sync_lead_events().await.unwrap() >= 5);
    let again = app
        .leads_list(&staff.province, &LeadFilter::default())
        .await
        .unwrap();
    assert_eq!(again.total, 4);
    // A landing writes lead_controlled, which is not a lead again.
    app.record_lead_outcome(&world.worker_a, w.id, &controlled("centralised"))
        .await
        .unwrap();
    app.sync_lead_events().await.unwrap();
    assert_eq!(
        app.leads_list(&staff.province, &LeadFilter::default())
            .await
            .unwrap()
            .total,
        4
    );
    // A contact whose document number could not be verified still carries the phone its
    // contact record has: the grid worker calls it first.
    let mut unverified = contact(6, "周不详");
    unverified.phone = Some(fangkong_domain::phone::PhoneNumber::parse("13700000009").unwrap());
    append_event(
        &app,
        "close_contact",
        "130109199013011230",
        GRID_A1,
        &unverified,
    )
    .await;
    app.sync_lead_events().await.unwrap();
    let leads = app
        .leads_list(&staff.province, &LeadFilter::default())
        .await
        .unwrap();
    let zhou = leads.rows.iter().find(|l| l.name == "周不详").unwrap();
    assert_eq!(zhou.phone_masked, "137****0009");
    assert_counts_match(&app, &world.admin).await;
    drop(guard);
}

fn push_csv(path: &std::path::Path, rows: &[[&str; 10]]) {
    let mut writer = csv::Writer::from_path(path).unwrap();
    writer.write_record(PUSH_COLUMNS).unwrap();
    for row in rows {
        writer.write_record(row).unwrap();
    }
    writer.flush().unwrap();
}

async fn a_big_data_push_lands_good_rows_and_lists_bad_ones(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let wang = person("王建国");
    let bad_id = with_wrong_check_digit(&person("李华").id_number);
    let outside = person("王大力").id_number;
    let path = guard.path("push.csv");
    // Pushed 30 hours ago (Beijing 2022-11-19 04:00), and one pushed just now.
    let rows: [[&str; 10]; 7] = [
        [
            "王建国",
            "",
            &wang.id_number,
            "",
            "",
            "时空伴随",
            "时空伴随者",
            "2022-11-19 04:00",
            "省大数据中心",
            "",
        ],
        [
            "外地来客",
            "",
            "",
            "13712345678",
            "文源社区3号楼",
            "高风险区来返",
            "高风险区外溢人员",
            "2022-11-20 09:30",
            "省大数据中心",
            GRID_A2,
        ],
        [
            "李华",
            "身份证",
            &bad_id,
            "",
            "",
            "健康码异常",
            "",
            "2022-11-20 09:30",
            "省大数据中心",
            "",
        ],
        [
            "无名",
            "",
            "",
            "",
            "",
            "健康码异常",
            "",
            "2022-11-20 09:30",
            "省大数据中心",
            "",
        ],
        [
            "王大力",
            "",
            &outside,
            "",
            "",
            "健康码异常",
            "",
            "2022-11-20 09:30",
            "省大数据中心",
            "",
        ],
        [
            "张三",
            "",
            "",
            "13712345679",
            "某地",
            "健康码异常",
            "朋友",
            "昨天",
            "省大数据中心",
            GRID_A1,
        ],
        [
            "李四",
            "",
            "",
            "13712345670",
            "某地",
            "健康码异常",
            "",
            "2022-11-20 09:30",
            "",
            "",
        ],
    ];
    push_csv(&path, &rows);
    let report = app
        .import_leads(&world.worker_a, &path, "push.csv")
        .await
        .unwrap();
    assert_eq!(
        (report.rows_total, report.inserted, report.unchanged),
        (7, 2, 0)
    );
    assert_eq!(report.problem_rows, 5);
    let problems: Vec<(i64, &str)> = report
        .problems
        .iter()
        .map(|p| (p.row_number, p.column.as_str()))
        .collect();
    assert!(problems.contains(&(4, "证件号码")), "{problems:?}");
    assert!(problems.contains(&(5, "证件号码")), "{problems:?}");
    assert!(problems.contains(&(6, "区划编码")), "{problems:?}");
    assert!(problems.contains(&(7, "风险类别")), "{problems:?}");
    assert!(problems.contains(&(7, "推送时间")), "{problems:?}");
    assert!(problems.contains(&(8, "区划编码")), "{problems:?}");
    let outside_problem = report.problems.iter().find(|p| p.row_number == 6).unwrap();
    assert!(outside_problem.message.contains("不在您的管辖范围内"));

    // The stale push is overdue at once; the fresh one is due 24 h after its push time.
    let overdue = app.overdue_leads(&world.worker_a, "", 1).await.unwrap();
    assert_eq!(overdue.total, 1);
    assert_eq!(overdue.rows[0].name, "王建国");
    assert_eq!(overdue.rows[0].channel_label, "大数据推送");
    assert_eq!(overdue.rows[0].category_label, "时空伴随者");
    assert_eq!(overdue.rows[0].sender, "省大数据中心");

    // The push reaches the health code with the lead: the companion gets the Hebei pop-up from
    // the push time, and the reason says it came from big data (§3.2, §3.6).
    let staff = staff(&app).await;
    app.sync_code_events().await.unwrap();
    let code = app
        .person_code(&staff.commander, "", &wang.id_number)
        .await
        .unwrap();
    assert!(code.code.popup.is_some(), "{:?}", code.code);
    let pushed = code
        .facts
        .iter()
        .find(|f| f.source.starts_with("大数据推送"))
        .expect("a fact from the push");
    assert_eq!(pushed.kind, "companion");
    assert_eq!(pushed.note, "大数据推送：时空伴随者");

    // The same file again: nothing new, the same problems.
    let again = app
        .import_leads(&world.worker_a, &path, "push.csv")
        .await
        .unwrap();
    assert_eq!(
        (again.inserted, again.unchanged, again.problem_rows),
        (0, 2, 5)
    );
    assert_eq!(lead_count(&app, &world.admin).await, 2);

    // The problem rows download with the reason, to fix and import again.
    let file = app
        .lead_import_problem_file(&world.worker_a, report.import_id)
        .await
        .unwrap();
    let records = read_csv_bytes(&file);
    assert_eq!(records[0].last().unwrap(), "问题说明");
    assert_eq!(records.len(), 1 + 5);
    assert!(
        records
            .iter()
            .any(|r| r[0] == "无名" && r[10].contains("至少填写一项"))
    );
    assert!(matches!(
        app.lead_import_problem_file(&world.worker_b, report.import_id)
            .await,
        Err(AppError::NotFound(_))
    ));
    assert_eq!(
        app.recent_lead_imports(&world.worker_a)
            .await
            .unwrap()
            .len(),
        2
    );

    // XLSX as the analytics' Excel writes it: headers with aliases, a push time as a date cell.
    let xlsx = guard.path("push.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, head) in ["姓名", "身份证号", "手机号", "住址", "推送时间", "风险类别"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, col as u16, *head).unwrap();
    }
    let xiu = person("王秀英");
    sheet.write_string(1, 0, "王秀英").unwrap();
    sheet.write_string(1, 1, &xiu.id_number).unwrap();
    sheet.write_string(1, 4, "2022-11-20 09:00").unwrap();
    sheet.write_string(1, 5, "次密接").unwrap();
    sheet.write_string(2, 0, "李华").unwrap();
    sheet.write_number(2, 1, 130109198001010000.0).unwrap();
    sheet.write_string(2, 4, "2022-11-20 09:00").unwrap();
    book.save(&xlsx).unwrap();
    let report = app
        .import_leads(&world.worker_a, &xlsx, "push.xlsx")
        .await
        .unwrap();
    assert_eq!(
        (report.inserted, report.problem_rows),
        (1, 1),
        "{:?}",
        report.problems
    );
    assert_eq!(report.problems[0].column, "证件号码");
    assert!(
        report.problems[0].message.contains("Excel"),
        "{:?}",
        report.problems
    );
    assert_eq!(lead_count(&app, &world.admin).await, 3);

    // A file without the required columns is refused as a whole.
    let wrong = guard.path("wrong.csv");
    std::fs::write(&wrong, "姓名,备注\n张三,无\n").unwrap();
    let message = invalid_message(app.import_leads(&world.worker_a, &wrong, "wrong.csv").await);
    assert!(message.contains("缺少必需的列"), "{message}");
    assert!(matches!(
        app.import_leads(&world.lab, &path, "push.csv").await,
        Err(AppError::Forbidden { .. })
    ));
    assert_counts_match(&app, &world.admin).await;
    drop(guard);
}
