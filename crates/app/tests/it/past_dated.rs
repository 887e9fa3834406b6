//! Past-dated entries (补录, `occurred_at`): an office enters what already happened — a check-in,
//! an admission, a discharge, a risk area's designation, a swab — with the time it happened. Each
//! story, on SQLite and (when FANGKONG_TEST_POSTGRES is set) on a brand-new PostgreSQL database,
//! shows that the time entered is kept and flows downstream, that a time in the future, more than
//! 7 days back or before the event it follows is refused with the field named and nothing
//! written, and that the audit record says 补录.

use crate::support::*;
use chrono::Duration;
use fangkong_app::auth::NewUser;
use fangkong_app::investigation::{CaseAction, CaseForm};
use fangkong_app::isolation::{
    CheckInForm, DischargeForm, HospitalForm, MeasureForm, RoomBlockForm, SiteForm, TransferForm,
    TransferStepForm, VehicleForm,
};
use fangkong_app::mass_testing::{RoundForm, SamplingBatch, ScanAction, ScanInput, ScanResult};
use fangkong_app::risk_areas::RiskAreaForm;
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::health_code::FactKind;
use fangkong_domain::person_event::{self, CaseEvent};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;
use fangkong_domain::time::parse_beijing;

story!(
    a_check_in_an_admission_and_a_hospital_discharge_keep_the_time_entered,
    isolation_past_sqlite,
    isolation_past_postgres
);
story!(
    a_case_discharged_days_ago_starts_its_clock_then,
    case_past_sqlite,
    case_past_postgres
);
story!(
    a_risk_area_designated_days_ago_counts_its_days_from_then,
    risk_area_past_sqlite,
    risk_area_past_postgres
);
story!(
    a_sampler_entering_a_backlog_keeps_the_swab_time,
    sample_past_sqlite,
    sample_past_postgres
);

/// Unix seconds of a Beijing time.
pub(crate) fn bj(text: &str) -> i64 {
    parse_beijing(text).unwrap().timestamp()
}

/// A refusal in words that says `words` (the field's name and the problem).
#[track_caller]
fn refused(result: Result<impl std::fmt::Debug, AppError>, words: &str) {
    match result {
        Err(e @ AppError::Invalid(_)) => {
            assert!(e.to_string().contains(words), "“{e}” should say “{words}”")
        }
        other => panic!("expected a refusal saying “{words}”, got {other:?}"),
    }
}

pub(crate) async fn user(app: &App, username: &str, role: Role, jurisdiction: &str) -> Actor {
    app.create_user_unchecked(
        &NewUser {
            username: username.into(),
            display_name: format!("{username}（测试）"),
            role,
            jurisdiction: RegionCode::parse(jurisdiction).unwrap(),
            password: PASSWORD.into(),
        },
        "test",
    )
    .await
    .unwrap();
    login(app, username).await
}

pub(crate) fn person(name: &str) -> Row {
    population().into_iter().find(|r| r.name == name).unwrap()
}

pub(crate) async fn measure_id(app: &App, admin: &Actor, who: &str) -> i64 {
    let masked = masked_id(&person(who).id_number);
    app.isolation_measures(admin, "")
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id_number_masked == masked)
        .unwrap_or_else(|| panic!("{who} is under a measure"))
        .id
}

async fn audit_details(app: &App, action: &str, target: &str) -> Vec<String> {
    audit_rows_of(app, action, target)
        .await
        .into_iter()
        .map(|r| r.detail)
        .collect()
}

async fn a_check_in_an_admission_and_a_hospital_discharge_keep_the_time_entered(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let admin = &world.admin;
    let site = user(&app, "site", Role::IsolationSite, COUNTY).await;
    let transfer = user(&app, "zhuanyun", Role::Transfer, COUNTY).await;

    // 张伟 is allocated a room at 2022-11-20 10:00 (the clock's start).
    app.open_measure_by_hand(
        &site,
        &MeasureForm {
            id_number: person("张伟").id_number,
            category: "close_contact".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let zhang = measure_id(&app, admin, "张伟").await;
    let site_id = app
        .create_isolation_site(
            &site,
            &SiteForm {
                name: "廉州镇第一隔离点".into(),
                region_code: TOWNSHIP_A.into(),
                address: "藁城区某路1号".into(),
                readiness: "2h".into(),
                staff_count: "12".into(),
                note: String::new(),
            },
        )
        .await
        .unwrap();
    app.add_rooms(
        &site,
        site_id,
        &RoomBlockForm {
            building: "A".into(),
            floor_from: "1".into(),
            floor_to: "1".into(),
            room_from: "1".into(),
            room_to: "2".into(),
        },
    )
    .await
    .unwrap();
    app.assign_room(&transfer, zhang, site_id, "A-101")
        .await
        .unwrap();

    // Two days later the site enters the check-in it did not record on the day.
    guard.clock.advance(Duration::days(2));
    let at = |text: &str| CheckInForm {
        occurred_at: text.into(),
    };
    for (typed, words) in [
        ("2022-11-22 10:30", "入住时间：不能晚于现在"),
        ("2022-11-15 09:59", "入住时间：只能补录最近7天内"),
        (
            "2022-11-20 09:30",
            "入住时间：不能早于分配时间 11月20日 10:00",
        ),
        ("前天上午", "入住时间："),
    ] {
        refused(app.site_check_in(&site, zhang, &at(typed)).await, words);
    }
    let stored = app
        .store_for_tools()
        .isolation_measure(zhang)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.status.code(), stored.checked_in_at),
        ("allocated", None)
    );
    let check_ins = |details: Vec<String>| {
        details
            .into_iter()
            .filter(|d| d.starts_with("check_in"))
            .collect::<Vec<_>>()
    };
    assert!(check_ins(audit_details(&app, "update", &format!("measure:{zhang}")).await).is_empty());

    app.site_check_in(&site, zhang, &at("2022-11-21T08:30"))
        .await
        .unwrap();
    let checked_in = bj("2022-11-21 08:30");
    let stored = app
        .store_for_tools()
        .isolation_measure(zhang)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            stored.status.code(),
            stored.checked_in_at,
            stored.status_since
        ),
        ("in_site", Some(checked_in), checked_in)
    );
    // The stay counts from the time entered, not from the entry (25.5 hours).
    let view = app.measure_detail(admin, zhang).await.unwrap().measure;
    assert_eq!(view.waiting_minutes, (app.now_unix() - checked_in) / 60);
    assert_eq!(view.waiting_minutes, 25 * 60 + 30);
    assert_eq!(
        check_ins(audit_details(&app, "update", &format!("measure:{zhang}")).await),
        vec!["check_in；补录：实际时间 2022-11-21 08:30（北京时间）".to_string()]
    );

    // 周杰 becomes a case: an ambulance is sent at 2022-11-22 10:00.
    let zhou = person("周杰");
    let resident = resident_id(&app, admin, &zhou.id_number).await;
    let case = serde_json::to_string(&CaseEvent {
        case_id: 7,
        case_kind: "confirmed".into(),
        name: Default::default(),
        address: Default::default(),
        hospital: String::new(),
    })
    .unwrap();
    app.store_for_tools()
        .append_person_event(
            app.now_unix(),
            person_event::CASE_REPORTED,
            "mainland_id",
            &zhou.id_number,
            Some(resident),
            &zhou.grid,
            "test",
            &case,
        )
        .await
        .unwrap();
    app.sync_isolation_events().await.unwrap();
    let zhou_measure = measure_id(&app, admin, "周杰").await;
    let ambulance = app
        .add_vehicle(
            &transfer,
            &VehicleForm {
                plate: "冀A12001".into(),
                kind: "negative_pressure_ambulance".into(),
                capacity: String::new(),
                region_code: COUNTY.into(),
            },
        )
        .await
        .unwrap();
    let hospital = app
        .add_treatment_hospital(
            admin,
            &HospitalForm {
                name: "藁城区人民医院（定点）".into(),
                kind: "designated".into(),
                region_code: COUNTY.into(),
                beds: "10".into(),
            },
        )
        .await
        .unwrap();
    let trip = app
        .create_transfer(
            &transfer,
            &TransferForm {
                vehicle_id: ambulance,
                measure_ids: vec![zhou_measure],
                hospital_id: Some(hospital),
            },
        )
        .await
        .unwrap();

    // Three hours later the dispatcher enters the trip's steps.
    guard.clock.advance(Duration::hours(3));
    let step = |to: &str, typed: &str| TransferStepForm {
        to: to.into(),
        occurred_at: typed.into(),
    };
    for (typed, words) in [
        (
            "2022-11-22 09:00",
            "接到时间：不能早于派车时间 11月22日 10:00",
        ),
        ("2022-11-22 13:30", "接到时间：不能晚于现在"),
        ("2022-11-14 13:00", "接到时间：只能补录最近7天内"),
    ] {
        refused(
            app.advance_transfer(&transfer, trip, &step("picked_up", typed))
                .await,
            words,
        );
    }
    assert!(
        audit_details(&app, "update", &format!("transfer:{trip}"))
            .await
            .is_empty()
    );
    app.advance_transfer(&transfer, trip, &step("picked_up", "2022-11-22 10:40"))
        .await
        .unwrap();
    refused(
        app.advance_transfer(&transfer, trip, &step("handed_over", "2022-11-22 10:30"))
            .await,
        "收治时间：不能早于接到时间 11月22日 10:40",
    );
    app.advance_transfer(&transfer, trip, &step("handed_over", "2022-11-22T11:15"))
        .await
        .unwrap();
    let admitted = bj("2022-11-22 11:15");
    // The admission, the hospital stay and the trip all hold the time entered.
    let beds = app.hospitals_board(admin).await.unwrap();
    assert_eq!(beds.admissions.rows[0].admitted_at, admitted);
    let stored = app
        .store_for_tools()
        .isolation_measure(zhou_measure)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.status.code(), stored.status_since),
        ("hospitalised", admitted)
    );
    let trips = app.transfers_board(&transfer).await.unwrap().transfers.rows;
    let this = trips.iter().find(|t| t.transfer.id == trip).unwrap();
    assert_eq!(
        (this.transfer.picked_up_at, this.transfer.handed_over_at),
        (Some(bj("2022-11-22 10:40")), Some(admitted))
    );
    assert_eq!(
        audit_details(&app, "update", &format!("transfer:{trip}"))
            .await
            .len(),
        2
    );
    assert!(
        audit_details(&app, "update", &format!("transfer:{trip}"))
            .await
            .iter()
            .any(|d| d == "handed_over；补录：实际时间 2022-11-22 11:15（北京时间）")
    );

    // The hospital enters the discharge.
    let admission = beds.admissions.rows[0].id;
    let discharge = |typed: &str| DischargeForm {
        occurred_at: typed.into(),
    };
    for (typed, words) in [
        (
            "2022-11-22 11:00",
            "出院时间：不能早于收治时间 11月22日 11:15",
        ),
        ("2022-11-22 14:00", "出院时间：不能晚于现在"),
        ("2022-11-01 14:00", "出院时间：只能补录最近7天内"),
        ("x", "出院时间："),
    ] {
        refused(
            app.discharge_admission(admin, admission, &discharge(typed))
                .await,
            words,
        );
    }
    assert_eq!(
        app.hospitals_board(admin).await.unwrap().hospitals[0]
            .hospital
            .occupied,
        1,
        "nothing written"
    );
    app.discharge_admission(admin, admission, &discharge("2022-11-22 12:45"))
        .await
        .unwrap();
    let beds = app.hospitals_board(admin).await.unwrap();
    assert_eq!(
        beds.admissions.rows[0].discharged_at,
        Some(bj("2022-11-22 12:45"))
    );
    assert_eq!(beds.hospitals[0].hospital.occupied, 0);
    assert_eq!(
        audit_details(&app, "update", &format!("admission:{admission}")).await,
        vec!["discharged；补录：实际时间 2022-11-22 12:45（北京时间）".to_string()]
    );
}

async fn a_case_discharged_days_ago_starts_its_clock_then(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let epi = user(&app, "epi", Role::Epidemiologist, COUNTY).await;
    let row = person("王建国");
    let case_id = app
        .open_case(
            &epi,
            &CaseForm {
                kind: "confirmed".into(),
                id_number: row.id_number.clone(),
                onset_date: "2022-11-19".into(),
                found_by: "fever_clinic".into(),
                found_at: "2022-11-19 16:00".into(),
                isolated_at: "2022-11-19 18:00".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    // Five days on, the epidemiologist enters the discharge of the day before.
    guard.clock.advance(Duration::days(5));
    let discharge = |typed: &str| CaseAction::Discharge {
        occurred_at: typed.into(),
    };
    for (typed, words) in [
        (
            "2022-11-19 17:00",
            "出院时间：不能早于隔离时间 11月19日 18:00",
        ),
        ("2022-11-25 10:05", "出院时间：不能晚于现在"),
        ("2022-11-17 10:00", "出院时间：只能补录最近7天内"),
        ("昨天", "出院时间："),
    ] {
        refused(
            app.update_case(&epi, case_id, &discharge(typed)).await,
            words,
        );
    }
    let stored = app.store_for_tools().case(case_id).await.unwrap().unwrap();
    assert_eq!(stored.status.code(), "active", "nothing written");
    assert!(
        audit_details(&app, "update", &format!("case:{case_id}"))
            .await
            .is_empty()
    );

    app.update_case(&epi, case_id, &discharge("2022-11-24T09:00"))
        .await
        .unwrap();
    let discharged = bj("2022-11-24 09:00");
    let stored = app.store_for_tools().case(case_id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status.code(), stored.status_at),
        ("discharged", Some(discharged))
    );
    // The event other modules read holds the time, and the health code's clock starts then.
    let events = app
        .store_for_tools()
        .person_events_after(0, 1_000)
        .await
        .unwrap();
    let event = events
        .iter()
        .find(|e| e.kind == person_event::CASE_DISCHARGED)
        .unwrap();
    assert_eq!(event.at, discharged);
    let facts = app
        .store_for_tools()
        .facts_of(&fangkong_store::CodePerson {
            id_type: "mainland_id".into(),
            id_number: row.id_number.clone().into(),
        })
        .await
        .unwrap();
    let confirmed = facts
        .iter()
        .find(|f| f.kind == FactKind::Confirmed)
        .unwrap();
    assert_eq!(confirmed.ended_at, Some(discharged));
    assert_eq!(
        audit_details(&app, "update", &format!("case:{case_id}")).await,
        vec!["discharge；补录：实际时间 2022-11-24 09:00（北京时间）".to_string()]
    );
}

async fn a_risk_area_designated_days_ago_counts_its_days_from_then(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let commander = &world.commander_a;
    let form = |region: &str, typed: &str| RiskAreaForm {
        scheme: String::new(),
        tier: "high".into(),
        unit: "village".into(),
        region_code: region.into(),
        place_name: String::new(),
        reason: "病例居住地".into(),
        occurred_at: typed.into(),
    };
    for (typed, words) in [
        ("2022-11-20 10:30", "划定时间：不能晚于现在"),
        ("2022-11-12 10:00", "划定时间：只能补录最近7天内"),
        ("下周一", "划定时间："),
    ] {
        refused(
            app.designate_risk_area(commander, &form(VILLAGE_A1, typed))
                .await,
            words,
        );
    }
    assert!(app.risk_areas(commander, true).await.unwrap().is_empty());
    assert!(
        audit_rows(&app)
            .await
            .iter()
            .all(|r| r.action != "designate_risk_area")
    );

    // Positives found in the two villages before anyone designates anything.
    for (name, at) in [("王建国", "2022-11-18 12:00"), ("赵敏", "2022-11-19 12:00")] {
        let row = population().into_iter().find(|r| r.name == name).unwrap();
        app.store_for_tools()
            .append_person_event(
                bj(at),
                "single_positive",
                "mainland_id",
                &row.id_number,
                None,
                &row.grid,
                "test",
                "{}",
            )
            .await
            .unwrap();
    }
    let past = app
        .designate_risk_area(commander, &form(VILLAGE_A1, "2022-11-17 10:00"))
        .await
        .unwrap();
    let today = app
        .designate_risk_area(commander, &form(VILLAGE_A2, ""))
        .await
        .unwrap();
    let designated = bj("2022-11-17 10:00");
    let areas = app.risk_areas(commander, false).await.unwrap();
    let view = |id: i64| areas.iter().find(|a| a.area.id == id).unwrap();
    assert_eq!(
        (view(past).area.designated_at, view(past).area.tier_since),
        (designated, designated)
    );
    assert_eq!(view(past).designated_label, "11月17日 10:00");
    assert_eq!(view(today).area.designated_at, app.now_unix());
    let detail = app.risk_area(commander, past).await.unwrap();
    assert_eq!(detail.steps[0].at, designated);
    // The area designated on the 17th missed the positive of the 18th in its village: it is its
    // last infection, as if the area had been there to hear of it. The one designated now counts
    // nothing found before it.
    assert_eq!(
        view(past).area.last_infection_at,
        Some(bj("2022-11-18 12:00"))
    );
    assert!(
        detail
            .steps
            .iter()
            .any(|s| s.at == bj("2022-11-18 12:00") && s.actor == "system")
    );
    assert_eq!(view(today).area.last_infection_at, None);
    // The clean days count from then: the earliest next step comes 2 days sooner.
    let earliest = |id: i64| {
        chrono::NaiveDate::parse_from_str(&view(id).next.as_ref().unwrap().earliest, "%Y-%m-%d")
            .unwrap()
    };
    assert_eq!(earliest(today) - earliest(past), Duration::days(2));
    let consistency = app.check_consistency(Duration::zero()).await.unwrap();
    let broken: Vec<_> = consistency.broken().map(|r| r.key).collect();
    assert!(broken.is_empty(), "{broken:?}");
    let details: Vec<String> = audit_rows(&app)
        .await
        .into_iter()
        .filter(|r| r.action == "designate_risk_area")
        .map(|r| r.detail)
        .collect();
    assert_eq!(details.len(), 2);
    assert_eq!(
        details
            .iter()
            .filter(|d| d.ends_with("；补录：实际时间 2022-11-17 10:00（北京时间）"))
            .count(),
        1,
        "{details:?}"
    );
    assert_eq!(details.iter().filter(|d| d.contains("补录")).count(), 1);
}

async fn a_sampler_entering_a_backlog_keeps_the_swab_time(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let round_id = app
        .open_round(
            &world.commander_a,
            &RoundForm {
                name: "廉州镇第1轮全员核酸检测".into(),
                kind: "whole".into(),
                region_code: TOWNSHIP_A.into(),
                pool_size: "5".into(),
                tubes: "10".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let round = app.round(&world.commander_a, round_id).await.unwrap();
    let tube = round.tube_ranges[0].0.clone();
    let site = app
        .create_site(
            &world.commander_a,
            round_id,
            &fangkong_app::mass_testing::SiteForm {
                region_code: VILLAGE_A1.into(),
                name: "西城街社区广场采样点".into(),
                tables: "1".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let people: Vec<String> = population()
        .into_iter()
        .filter(|r| r.grid == GRID_A1)
        .map(|r| r.id_number)
        .collect();

    // A day later a sampler types in the paper list of a table that had no scanner.
    guard.clock.advance(Duration::days(1));
    let counter = std::sync::atomic::AtomicU64::new(1);
    let scan = |id_number: &str, typed: &str| ScanInput {
        scan_id: format!(
            "backlog-{}",
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ),
        tube: tube.clone(),
        action: ScanAction::Bind,
        purpose: None,
        id_type: String::new(),
        id_number: id_number.to_string(),
        name: String::new(),
        scanned_at: None,
        occurred_at: typed.into(),
    };
    let batch = |scans: Vec<ScanInput>| SamplingBatch {
        round_id,
        site_id: site,
        table_no: 1,
        scans,
    };
    let results: Vec<ScanResult> = app
        .submit_scans(
            &world.sampler_a,
            &batch(vec![
                scan(&people[0], "2022-11-20 15:30"),
                scan(&people[1], "2022-11-20 09:00"),
                scan(&people[1], "2022-11-21 11:00"),
                scan(&people[1], "2022-11-13 10:00"),
                scan(&people[1], "下午三点"),
            ]),
        )
        .await
        .unwrap();
    assert!(results[0].ok, "{:?}", results[0]);
    for (result, words) in results[1..].iter().zip([
        "实际采样时间：不能早于本轮检测开始时间 11月20日 10:00",
        "实际采样时间：不能晚于现在",
        "实际采样时间：只能补录最近7天内",
        "实际采样时间：",
    ]) {
        assert_eq!(result.code, Some("bad_occurred_at"), "{result:?}");
        assert!(
            result.message.contains(words),
            "{result:?} should say {words}"
        );
    }
    // The swab keeps the time it was taken; the hour's count is the hour it was taken in.
    let members = app.store_for_tools().tube_members(&tube).await.unwrap();
    assert_eq!(members.len(), 1, "the refused scans bound nobody");
    assert_eq!(members[0].sampled_at, bj("2022-11-20 15:30"));
    let target = format!("sampling:{site}:1");
    assert_eq!(
        audit_details(&app, "create", &target).await,
        vec!["scans:1；补录：实际时间 2022-11-20 15:30（北京时间）".to_string()]
    );
    // A past-dated scan that binds nobody (the person is already swabbed) leaves no record; one
    // scanned as it happens is not 补录.
    let again = app
        .submit_scans(
            &world.sampler_a,
            &batch(vec![
                scan(&people[0], "2022-11-20 16:00"),
                scan(&people[1], ""),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(again[0].code, Some("already_sampled"), "{:?}", again[0]);
    assert!(again[1].ok, "{:?}", again[1]);
    assert_eq!(audit_details(&app, "create", &target).await.len(), 1);
    let members = app.store_for_tools().tube_members(&tube).await.unwrap();
    let second = members
        .iter()
        .find(|m| m.id_number.as_str() == people[1])
        .unwrap();
    assert_eq!(second.sampled_at, app.now_unix());
}
