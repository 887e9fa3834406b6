//! Isolation, transfer and treatment stories of the application layer, each on SQLite and (when
//! FANGKONG_TEST_POSTGRES is set) on a brand-new PostgreSQL database: person events open measures by
//! the regime's plan, the dispatcher allocates rooms (families together), coaches and ambulances
//! carry people by the rules, a positive in a site goes to a hospital, negatives end a measure, people
//! at home check in, door sensors raise alarms; every bad input is refused with nothing written.
//!
//! Longer than 800 lines: one capability's stories, each on both backends where it applies; split
//! by sub-area when a new story would not fit.

use crate::support::*;
use chrono::Duration;
use fangkong_app::auth::NewUser;
use fangkong_app::isolation::{
    CarerForm, HospitalForm, MeasureForm, MeasurePerson, ResultEffect, RoomBlockForm, SiteForm,
    TransferForm, VehicleForm,
};
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::isolation::{MeasureStatus, PersonCategory};
use fangkong_domain::person_event::{CaseEvent, ContactEvent, LeadControlledEvent};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    events_become_measures_rooms_transfers_and_hospital_beds,
    flow_story_sqlite,
    flow_story_postgres
);
story!(
    negatives_release_people_at_home_check_in_and_alarms_are_kept,
    release_story_sqlite,
    release_story_postgres
);
story!(
    thousands_are_allocated_in_one_transaction_and_capacity_is_measured_against_the_norm,
    capacity_story_sqlite,
    capacity_story_postgres
);

struct Staff {
    site: Actor,
    transfer: Actor,
}

async fn staff(app: &App) -> Staff {
    for (username, name, role) in [
        ("site", "廉州镇隔离点", Role::IsolationSite),
        ("zhuanyun", "藁城区转运专班", Role::Transfer),
    ] {
        app.create_user_unchecked(
            &NewUser {
                username: username.into(),
                display_name: name.into(),
                role,
                jurisdiction: RegionCode::parse(COUNTY).unwrap(),
                password: PASSWORD.into(),
            },
            "test",
        )
        .await
        .unwrap();
    }
    Staff {
        site: login(app, "site").await,
        transfer: login(app, "zhuanyun").await,
    }
}

fn person(name: &str) -> Row {
    population().into_iter().find(|r| r.name == name).unwrap()
}

async fn event(app: &App, admin: &Actor, kind: &str, who: &str, detail: String) {
    let row = person(who);
    let resident = resident_id(app, admin, &row.id_number).await;
    app.store_for_tools()
        .append_person_event(
            app.now_unix(),
            kind,
            "mainland_id",
            &row.id_number,
            Some(resident),
            &row.grid,
            "test",
            &detail,
        )
        .await
        .unwrap();
}

fn contact(id: i64, exposure: i64) -> String {
    serde_json::to_string(&ContactEvent {
        contact_id: id,
        case_id: 1,
        via_contact_id: None,
        last_exposure: exposure,
        regime: "ninth".into(),
        name: Default::default(),
        phone: None,
        address: Default::default(),
    })
    .unwrap()
}

async fn measure_of(app: &App, admin: &Actor, who: &str) -> fangkong_app::isolation::MeasureView {
    let masked = masked_id(&person(who).id_number);
    app.isolation_measures(admin, "")
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id_number_masked == masked)
        .unwrap_or_else(|| panic!("{who} is under a measure"))
}

fn site_form(name: &str, region: &str) -> SiteForm {
    SiteForm {
        name: name.into(),
        region_code: region.into(),
        address: "藁城区某路1号".into(),
        readiness: "2h".into(),
        staff_count: "12".into(),
        note: String::new(),
    }
}

fn block(building: &str, floors: (u32, u32), rooms: (u32, u32)) -> RoomBlockForm {
    RoomBlockForm {
        building: building.into(),
        floor_from: floors.0.to_string(),
        floor_to: floors.1.to_string(),
        room_from: rooms.0.to_string(),
        room_to: rooms.1.to_string(),
    }
}

fn vehicle(plate: &str, kind: &str, capacity: &str) -> VehicleForm {
    VehicleForm {
        plate: plate.into(),
        kind: kind.into(),
        capacity: capacity.into(),
        region_code: COUNTY.into(),
    }
}

async fn events_of(app: &App, kind: &str) -> usize {
    app.store_for_tools()
        .person_events_after(0, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == kind)
        .count()
}

fn invalid(result: Result<impl std::fmt::Debug, AppError>, words: &str) {
    match result {
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            assert!(e.to_string().contains(words), "“{e}” should say “{words}”")
        }
        other => panic!("expected a refusal saying “{words}”, got {other:?}"),
    }
}

async fn events_become_measures_rooms_transfers_and_hospital_beds(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let staff = staff(&app).await;
    let admin = &world.admin;
    let yesterday = app.now_unix() - 86_400;

    // Investigation's and leads' events arrive.
    event(
        &app,
        admin,
        "close_contact",
        "王建国",
        contact(1, yesterday),
    )
    .await;
    event(
        &app,
        admin,
        "close_contact",
        "王秀英",
        contact(2, yesterday),
    )
    .await;
    event(
        &app,
        admin,
        "secondary_contact",
        "赵敏",
        contact(3, yesterday),
    )
    .await;
    let case = serde_json::to_string(&CaseEvent {
        case_id: 7,
        case_kind: "confirmed".into(),
        name: Default::default(),
        address: Default::default(),
        hospital: String::new(),
    })
    .unwrap();
    event(&app, admin, "case_reported", "周杰", case).await;
    let lead = |id: i64| {
        serde_json::to_string(&LeadControlledEvent {
            lead_id: id,
            // The codes the leads module writes (the seam, not a copy of it).
            measure: fangkong_domain::leads::ControlMeasure::Centralised
                .code()
                .into(),
            category: fangkong_domain::leads::RiskCategory::LeftHighRiskArea
                .code()
                .into(),
            name: Default::default(),
            address: Default::default(),
        })
        .unwrap()
    };
    event(&app, admin, "lead_controlled", "李华", lead(1)).await;
    assert_eq!(app.sync_isolation_events().await.unwrap(), 5);
    // The contacts are leads for their grid workers too (王建国 1, 王秀英 2, 赵敏 3).
    assert_eq!(app.sync_lead_events().await.unwrap(), 5);
    // 赵敏 is already isolated at home: her lead lands by itself; the others wait for a room.
    assert_eq!(app.land_leads_of_controlled_people().await.unwrap(), 1);
    let zhao_lead = app.lead_detail(admin, 3).await.unwrap().lead;
    assert_eq!(
        (zhao_lead.category.as_str(), zhao_lead.status.as_str()),
        ("secondary_contact", "controlled")
    );
    assert_eq!(zhao_lead.measure, "home_isolation");
    assert!(app.lead_detail(admin, 1).await.unwrap().lead.open);
    // A second lead for a person already under that category's measure opens nothing; a re-read of
    // every event (cursor reset) opens nothing either.
    event(&app, admin, "lead_controlled", "李华", lead(2)).await;
    app.sync_isolation_events().await.unwrap();
    app.store_for_tools()
        .put_setting("isolation_event_cursor", "0")
        .await
        .unwrap();
    assert_eq!(app.sync_isolation_events().await.unwrap(), 6);
    let all = app.isolation_measures(admin, "").await.unwrap();
    assert_eq!(all.len(), 5, "one measure per person: {all:?}");
    // The page's count is the whole list's, per status too.
    let page = app.isolation_measures_page(admin, "").await.unwrap();
    assert_eq!((page.total, page.truncated()), (5, false));
    let waiting = app
        .isolation_measures_page(admin, "awaiting_placement")
        .await
        .unwrap();
    assert_eq!(waiting.total, waiting.rows.len() as i64);
    assert!(waiting.total < 5);

    let wang = measure_of(&app, admin, "王建国").await;
    assert_eq!(wang.status, "awaiting_placement");
    assert_eq!(wang.regime_label, "防控方案第九版");
    let detail = app.measure_detail(admin, wang.id).await.unwrap();
    assert_eq!(detail.plan_summary, "7天集中隔离医学观察 + 3天居家健康监测");
    assert_eq!(detail.tests.len(), 6, "centralised 1,2,3,5,7 + home 3");
    assert_eq!(measure_of(&app, admin, "赵敏").await.status, "at_home");
    assert_eq!(
        measure_of(&app, admin, "周杰").await.status,
        "awaiting_hospital"
    );
    assert!(wang.id_number_masked.contains("********"));
    assert_eq!(wang.name, "王**");

    // Sites and rooms.
    let site_a = app
        .create_isolation_site(&staff.site, &site_form("廉州镇第一隔离点", TOWNSHIP_A))
        .await
        .unwrap();
    assert_eq!(
        app.add_rooms(&staff.site, site_a, &block("A", (1, 2), (1, 3)))
            .await
            .unwrap(),
        6
    );
    assert_eq!(
        app.add_rooms(&staff.site, site_a, &block("A", (1, 1), (1, 3)))
            .await
            .unwrap(),
        0,
        "existing rooms are kept"
    );
    invalid(
        app.add_rooms(&staff.site, site_a, &block("A", (3, 1), (1, 3)))
            .await,
        "楼层范围",
    );
    let site_b = app
        .create_isolation_site(&staff.site, &site_form("增村镇隔离点", TOWNSHIP_B))
        .await
        .unwrap();
    app.add_rooms(&staff.site, site_b, &block("B", (1, 1), (1, 2)))
        .await
        .unwrap();
    invalid(
        app.create_isolation_site(
            &staff.site,
            &SiteForm {
                readiness: "3h".into(),
                ..site_form("X", TOWNSHIP_A)
            },
        )
        .await,
        "启用时限",
    );
    // A township-B commander cannot create a site in township A.
    assert!(matches!(
        app.create_isolation_site(&world.commander_a, &site_form("越界", TOWNSHIP_B))
            .await,
        Err(AppError::OutsideJurisdiction)
    ));

    // The suggested allocation keeps the family together, in adjacent rooms near home.
    let preview = app.allocation_preview(&staff.transfer, 100).await.unwrap();
    assert_eq!(preview.waiting, 3);
    let room_of = |who: &str| {
        let masked = masked_id(&person(who).id_number);
        preview
            .lines
            .iter()
            .find(|l| l.measure.id_number_masked == masked)
            .map(|l| (l.site_name.clone(), l.room_number.clone(), l.distance_label))
            .unwrap()
    };
    assert_eq!(
        room_of("王建国"),
        ("廉州镇第一隔离点".into(), "A-101".into(), "同乡镇")
    );
    assert_eq!(room_of("王秀英").1, "A-102");
    assert_eq!(room_of("李华").1, "A-103");
    let report = app.confirm_allocation(&staff.transfer, 100).await.unwrap();
    assert_eq!(report.allocated, 3);
    assert_eq!(measure_of(&app, admin, "王建国").await.status, "allocated");

    // One person per room: a hand assignment to an occupied room or to a room that does not exist.
    app.open_measure_by_hand(
        &staff.site,
        &MeasureForm {
            id_number: person("张伟").id_number,
            category: "close_contact".into(),
            day1: String::new(),
            note: String::new(),
        },
    )
    .await
    .unwrap();
    let zhang = measure_of(&app, admin, "张伟").await;
    invalid(
        app.assign_room(&staff.transfer, zhang.id, site_a, "A-101")
            .await,
        "已有人入住",
    );
    invalid(
        app.assign_room(&staff.transfer, zhang.id, site_a, "Z-999")
            .await,
        "没有房间",
    );
    assert_eq!(
        measure_of(&app, admin, "张伟").await.status,
        "awaiting_placement",
        "nothing written"
    );
    // An allocation write is all or nothing: a person who no longer waits undoes the rooms taken.
    let rooms = app
        .isolation_site_detail(admin, site_a)
        .await
        .unwrap()
        .rooms;
    let room_id = |n: &str| rooms.iter().find(|r| r.number == n).unwrap().id;
    let wang_id = measure_of(&app, admin, "王建国").await.id;
    let audit_before = audit_rows(&app).await.len();
    assert!(matches!(
        app.store_for_tools()
            .write_allocation(
                &[
                    (zhang.id, site_a, room_id("A-201")),
                    (wang_id, site_a, room_id("A-202"))
                ],
                app.now_unix(),
                &test_audit("update", "isolation_allocation"),
            )
            .await
            .unwrap(),
        fangkong_store::AllocationOutcome::PersonMoved(_)
    ));
    let site = app.isolation_site_detail(admin, site_a).await.unwrap();
    assert_eq!(site.free, 3, "A-201, A-202, A-203 are still free");
    // The allocation's audit record was in its transaction: undone with it.
    assert_eq!(audit_rows(&app).await.len(), audit_before);
    assert_eq!(
        measure_of(&app, admin, "张伟").await.status,
        "awaiting_placement"
    );
    app.assign_room(&staff.transfer, zhang.id, site_a, "A-201")
        .await
        .unwrap();
    invalid(
        app.open_measure_by_hand(
            &staff.site,
            &MeasureForm {
                id_number: person("张伟").id_number,
                category: "close_contact".into(),
                ..Default::default()
            },
        )
        .await,
        "不重复登记",
    );

    // Vehicles and the transfer rules.
    let coach = app
        .add_vehicle(&staff.transfer, &vehicle("冀A30001", "coach", "30"))
        .await
        .unwrap();
    let ambulance = app
        .add_vehicle(
            &staff.transfer,
            &vehicle("冀A12001", "negative_pressure_ambulance", ""),
        )
        .await
        .unwrap();
    let vehicle_records = |rows: Vec<fangkong_store::AuditRecord>| {
        rows.into_iter()
            .filter(|r| r.action == "create" && r.target.starts_with("vehicle:"))
            .count()
    };
    assert_eq!(vehicle_records(audit_rows(&app).await), 2);
    invalid(
        app.add_vehicle(&staff.transfer, &vehicle("冀A30001", "coach", "30"))
            .await,
        "已登记",
    );
    // The plate taken failed the insert: its audit record, in the same transaction, is not kept.
    assert_eq!(vehicle_records(audit_rows(&app).await), 2);
    invalid(
        app.add_vehicle(&staff.transfer, &vehicle("ABC", "coach", "30"))
            .await,
        "车牌",
    );
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
    let zhou = measure_of(&app, admin, "周杰").await;
    invalid(
        app.create_transfer(
            &staff.transfer,
            &TransferForm {
                vehicle_id: coach,
                measure_ids: vec![zhou.id],
                hospital_id: Some(hospital),
            },
        )
        .await,
        "只能由（负压）救护车",
    );
    let family: Vec<i64> = ["王建国", "王秀英", "李华"]
        .iter()
        .map(|w| {
            let masked = masked_id(&person(w).id_number);
            all.iter()
                .find(|m| m.id_number_masked == masked)
                .unwrap()
                .id
        })
        .collect();
    invalid(
        app.create_transfer(
            &staff.transfer,
            &TransferForm {
                vehicle_id: ambulance,
                measure_ids: family.clone(),
                hospital_id: None,
            },
        )
        .await,
        "专用大巴",
    );
    let trip = app
        .create_transfer(
            &staff.transfer,
            &TransferForm {
                vehicle_id: coach,
                measure_ids: family.clone(),
                hospital_id: None,
            },
        )
        .await
        .unwrap();
    invalid(
        app.advance_transfer(&staff.transfer, trip, &"handed_over".into())
            .await,
        "不能改为",
    );
    app.advance_transfer(&staff.transfer, trip, &"picked_up".into())
        .await
        .unwrap();
    app.advance_transfer(&staff.transfer, trip, &"handed_over".into())
        .await
        .unwrap();
    invalid(
        app.create_transfer(
            &staff.transfer,
            &TransferForm {
                vehicle_id: coach,
                measure_ids: vec![zhang.id],
                hospital_id: None,
            },
        )
        .await,
        "消毒",
    );
    app.disinfect_vehicle(&staff.transfer, coach).await.unwrap();
    invalid(
        app.disinfect_vehicle(&staff.transfer, coach).await,
        "没有待消毒",
    );
    // One disinfection, one audit record: the refused one wrote neither.
    assert_eq!(
        audit_rows_of(&app, "update", &format!("vehicle:{coach}"))
            .await
            .len(),
        1
    );

    // Check-in and temperatures.
    for id in &family {
        app.site_check_in(&staff.site, *id, &Default::default())
            .await
            .unwrap();
    }
    invalid(
        app.site_check_in(&staff.site, family[0], &Default::default())
            .await,
        "不能入住",
    );
    // In their rooms they have been found: their leads land with the measure and the time of
    // check-in, and nobody is sent to look for them (they used to stay "待落地").
    assert_eq!(app.land_leads_of_controlled_people().await.unwrap(), 2);
    for id in [1, 2] {
        let lead = app.lead_detail(admin, id).await.unwrap().lead;
        assert_eq!(
            (lead.status.as_str(), lead.measure.as_str()),
            ("controlled", "centralised")
        );
        assert_eq!(lead.closed_at, Some(app.now_unix()));
    }
    assert_eq!(app.land_leads_of_controlled_people().await.unwrap(), 0);
    let audit = app
        .check_consistency(chrono::Duration::zero())
        .await
        .unwrap();
    assert!(
        audit
            .broken()
            .all(|r| r.key != "controlled_persons_lead_is_landed"),
        "{audit}"
    );
    assert!(
        app.record_site_temperature(&staff.site, family[0], "37.5")
            .await
            .unwrap(),
        "37.5 is a fever"
    );
    assert!(
        !app.record_site_temperature(&staff.site, family[1], "36,6℃")
            .await
            .unwrap()
    );
    invalid(
        app.record_site_temperature(&staff.site, family[0], "52")
            .await,
        "不可能",
    );
    invalid(
        app.record_site_temperature(&staff.site, family[0], "高")
            .await,
        "不是体温",
    );
    // 一人一间一卫: an adult alone may have no carer; a dependent one may, but not an elderly carer.
    let carer = |age: &str, dependent: bool| CarerForm {
        name: "李大山".into(),
        age: age.into(),
        dependent,
        ..Default::default()
    };
    invalid(
        app.assign_carer(&staff.site, family[2], &carer("35", false))
            .await,
        "一人一间一卫",
    );
    invalid(
        app.assign_carer(&staff.site, family[2], &carer("65", true))
            .await,
        "60岁及以上",
    );
    invalid(
        app.assign_carer(&staff.site, family[2], &carer("多", true))
            .await,
        "陪护人年龄",
    );
    app.assign_carer(&staff.site, family[2], &carer("35", true))
        .await
        .unwrap();
    let noted = app.measure_detail(admin, family[2]).await.unwrap().note;
    assert!(noted.contains("陪护：李**，35岁（半失能/失能）"), "{noted}");
    let site = app
        .isolation_site_detail(&staff.site, site_a)
        .await
        .unwrap();
    assert_eq!((site.occupied, site.free), (4, 2));
    assert_eq!(site.in_site.len(), 3);
    let a101 = site.rooms.iter().find(|r| r.number == "A-101").unwrap();
    assert!(a101.fever && a101.last_temperature == "37.5" && a101.occupant == "王**");

    // Today's tasks; a positive in the site: event, room to cleaning, awaiting a hospital.
    let due = app.measure_tests_due(&staff.site).await.unwrap();
    let wang_tests: Vec<_> = due.iter().filter(|t| t.measure_id == family[0]).collect();
    assert_eq!(
        wang_tests.len(),
        2,
        "days 1 and 2 are due (day 1 was yesterday)"
    );
    assert!(wang_tests[0].overdue);
    invalid(
        app.record_test_result(&staff.site, wang_tests[0].test_id, "弱阳")
            .await,
        "阴性",
    );
    assert_eq!(
        app.record_test_result(&staff.site, wang_tests[0].test_id, "阳性")
            .await
            .unwrap(),
        ResultEffect::Positive
    );
    assert_eq!(events_of(&app, "measure_positive").await, 1);
    invalid(
        app.record_test_result(&staff.site, wang_tests[1].test_id, "阴性")
            .await,
        "待转运定点医院",
    );
    assert_eq!(
        measure_of(&app, admin, "王建国").await.status,
        "awaiting_hospital"
    );
    let site = app
        .isolation_site_detail(&staff.site, site_a)
        .await
        .unwrap();
    assert_eq!(
        site.rooms
            .iter()
            .find(|r| r.number == "A-101")
            .unwrap()
            .status,
        "cleaning"
    );
    app.set_room_status(&staff.site, a101.id, "free")
        .await
        .unwrap();
    invalid(
        app.set_room_status(&staff.site, a101.id, "free").await,
        "不能改为",
    );

    // Two infected people never share an ambulance; one goes, the next waits for disinfection.
    invalid(
        app.create_transfer(
            &staff.transfer,
            &TransferForm {
                vehicle_id: ambulance,
                measure_ids: vec![zhou.id, family[0]],
                hospital_id: Some(hospital),
            },
        )
        .await,
        "一人一车",
    );
    let to_hospital = app
        .create_transfer(
            &staff.transfer,
            &TransferForm {
                vehicle_id: ambulance,
                measure_ids: vec![zhou.id],
                hospital_id: Some(hospital),
            },
        )
        .await
        .unwrap();
    let board = app.transfers_board(&staff.transfer).await.unwrap();
    assert_eq!(
        (board.to_hospitals.rows.len(), board.to_hospitals.total),
        (1, 1),
        "周杰 is on the way; 王建国 still waits"
    );
    // The hospitals board counts the same people as waiting (it used to count the rider too).
    let beds = app.hospitals_board(admin).await.unwrap();
    assert_eq!(beds.awaiting.total, board.to_hospitals.total);
    assert_eq!(beds.awaiting.rows[0].id, board.to_hospitals.rows[0].id);
    app.advance_transfer(&staff.transfer, to_hospital, &"picked_up".into())
        .await
        .unwrap();
    app.advance_transfer(&staff.transfer, to_hospital, &"handed_over".into())
        .await
        .unwrap();
    invalid(
        app.create_transfer(
            &staff.transfer,
            &TransferForm {
                vehicle_id: ambulance,
                measure_ids: vec![family[0]],
                hospital_id: Some(hospital),
            },
        )
        .await,
        "消毒",
    );
    let beds = app.hospitals_board(admin).await.unwrap();
    assert_eq!(beds.hospitals[0].hospital.occupied, 1);
    assert_eq!((beds.admissions.rows.len(), beds.admissions.total), (1, 1));
    assert_eq!(
        app.measure_detail(admin, zhou.id)
            .await
            .unwrap()
            .measure
            .status,
        "hospitalised"
    );
    app.discharge_admission(admin, beds.admissions.rows[0].id, &Default::default())
        .await
        .unwrap();
    // The bed is free and the measure no longer says "in hospital".
    assert_eq!(
        app.measure_detail(admin, zhou.id)
            .await
            .unwrap()
            .measure
            .status,
        "released"
    );
    assert_eq!(
        app.hospitals_board(admin).await.unwrap().hospitals[0]
            .hospital
            .occupied,
        0
    );
    invalid(
        app.discharge_admission(admin, beds.admissions.rows[0].id, &Default::default())
            .await,
        "已出院",
    );

    // Outside the jurisdiction and without the permission.
    assert!(matches!(
        app.measure_detail(&world.worker_b, family[1]).await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        app.create_transfer(
            &world.worker_a,
            &TransferForm {
                vehicle_id: coach,
                measure_ids: vec![zhang.id],
                hospital_id: None
            }
        )
        .await,
        Err(AppError::Forbidden { .. })
    ));
    let no_reason = app.reveal_measure_person(admin, family[1], " ").await;
    assert!(matches!(&no_reason, Err(AppError::Invalid(m)) if m.contains("查看原因")));
    let revealed = app
        .reveal_measure_person(admin, family[1], "转运车组核对身份")
        .await
        .unwrap();
    assert_eq!(revealed.id_number, person("王秀英").id_number);
    drop(guard);
}

async fn negatives_release_people_at_home_check_in_and_alarms_are_kept(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let staff = staff(&app).await;
    let admin = &world.admin;
    event(
        &app,
        admin,
        "close_contact",
        "王秀英",
        contact(2, app.now_unix()),
    )
    .await;
    event(
        &app,
        admin,
        "secondary_contact",
        "赵敏",
        contact(3, app.now_unix()),
    )
    .await;
    event(
        &app,
        admin,
        "close_contact",
        "王大力",
        contact(4, app.now_unix()),
    )
    .await;
    app.sync_isolation_events().await.unwrap();
    let site = app
        .create_isolation_site(&staff.site, &site_form("廉州镇第一隔离点", TOWNSHIP_A))
        .await
        .unwrap();
    app.add_rooms(&staff.site, site, &block("A", (1, 1), (1, 5)))
        .await
        .unwrap();
    app.confirm_allocation(&staff.transfer, 10).await.unwrap();
    let wang = measure_of(&app, admin, "王秀英").await;
    app.site_check_in(&staff.site, wang.id, &Default::default())
        .await
        .unwrap();
    // 王大力 lives in township B but was placed in township A's site: A's commander runs the site
    // and checks him in; B's grid worker (where he lives) and A's (where the site is) both see him.
    let dali = measure_of(&app, admin, "王大力").await;
    assert_eq!(dali.site_id, Some(site));
    app.site_check_in(&world.commander_a, dali.id, &Default::default())
        .await
        .unwrap();
    assert!(
        app.record_site_temperature(&world.commander_a, dali.id, "36.8")
            .await
            .is_ok()
    );
    assert!(app.measure_detail(&world.worker_b, dali.id).await.is_ok());
    assert!(app.measure_detail(&world.worker_a, dali.id).await.is_ok());
    invalid(app.release_measure(&staff.site, wang.id).await, "尚未期满");

    // Seven days in the site, every test negative → out to home health monitoring.
    for _ in 0..7 {
        for t in app
            .measure_tests_due(&staff.site)
            .await
            .unwrap()
            .iter()
            .filter(|t| t.measure_id == wang.id)
        {
            app.record_test_result(&staff.site, t.test_id, "negative")
                .await
                .unwrap();
        }
        guard.clock.advance(Duration::days(1));
    }
    assert_eq!(
        app.release_measure(&staff.site, wang.id).await.unwrap(),
        MeasureStatus::AtHome
    );
    assert_eq!(
        events_of(&app, "measure_released").await,
        0,
        "the measure goes on at home"
    );
    let site_view = app.isolation_site_detail(&staff.site, site).await.unwrap();
    assert_eq!(site_view.cleaning, 1);

    // At home: the grid worker checks in; another township's worker may not; missed days are flagged.
    let home = app.home_board(&world.worker_a).await.unwrap();
    // The page's figures count everyone at home, the same as the rows when none are cut.
    assert_eq!(home.people.total, home.people.rows.len() as i64);
    assert_eq!(
        home.missed,
        home.people
            .rows
            .iter()
            .filter(|p| p.missed_yesterday)
            .count() as i64
    );
    let line = home
        .people
        .rows
        .iter()
        .find(|p| p.measure_id == wang.id)
        .unwrap();
    assert!(line.missed_today);
    assert!(
        !app.home_check_in(&world.worker_a, wang.id, "36.6", "")
            .await
            .unwrap()
    );
    invalid(
        app.home_check_in(&world.worker_a, wang.id, "", "").await,
        "没有填写体温",
    );
    assert!(matches!(
        app.home_check_in(&world.worker_b, wang.id, "36.6", "")
            .await,
        Err(AppError::NotFound(_))
    ));
    let home = app.home_board(&world.worker_a).await.unwrap();
    assert!(
        !home
            .people
            .rows
            .iter()
            .find(|p| p.measure_id == wang.id)
            .unwrap()
            .missed_today
    );

    // The resident at home checks in for herself; a door sensor raises an alarm.
    let zhao = measure_of(&app, admin, "赵敏").await;
    let zhao_resident = resident_id(&app, admin, &person("赵敏").id_number).await;
    app.store_for_tools()
        .link_user_to_resident(world.resident_user.user_id, zhao_resident)
        .await
        .unwrap();
    let mine = app.my_measure(&world.resident_user).await.unwrap();
    assert_eq!(mine.measure.unwrap().measure.id, zhao.id);
    assert!(
        app.my_home_check_in(&world.resident_user, "37.8", "咳嗽")
            .await
            .unwrap(),
        "a fever"
    );
    assert!(
        app.my_measure(&world.resident_user)
            .await
            .unwrap()
            .checked_in_today
    );
    app.record_door_alarm(
        &world.worker_a,
        zhao.id,
        "MC-0001",
        "door_opened",
        "夜间开门",
    )
    .await
    .unwrap();
    invalid(
        app.record_door_alarm(&world.worker_a, zhao.id, "MC-0001", "smoke", "")
            .await,
        "未知的报警类型",
    );
    let home = app.home_board(&world.worker_a).await.unwrap();
    assert_eq!(home.alarms.len(), 1);
    assert_eq!(home.alarms[0].kind_label, "门被打开");

    // Home day 3 negative ends the measure with measure_released.
    guard.clock.advance(Duration::days(2));
    let last = app.measure_tests_due(&world.admin).await.unwrap();
    let last = last.iter().find(|t| t.measure_id == wang.id).unwrap();
    assert_eq!(
        app.record_test_result(&staff.site, last.test_id, "阴性")
            .await
            .unwrap(),
        ResultEffect::Released
    );
    assert_eq!(events_of(&app, "measure_released").await, 1);
    invalid(
        app.record_test_result(&staff.site, last.test_id, "阴性")
            .await,
        "已有结果",
    );
    assert!(
        app.isolation_measures(admin, "")
            .await
            .unwrap()
            .iter()
            .all(|m| m.id != wang.id)
    );
    // Investigation withdraws 赵敏's contact: her measure ends, without a "released" event.
    event(
        &app,
        admin,
        "contact_cleared",
        "赵敏",
        contact(3, app.now_unix()),
    )
    .await;
    app.sync_isolation_events().await.unwrap();
    assert!(
        app.isolation_measures(admin, "")
            .await
            .unwrap()
            .iter()
            .all(|m| m.id != zhao.id)
    );
    assert_eq!(events_of(&app, "measure_released").await, 1);
}

async fn thousands_are_allocated_in_one_transaction_and_capacity_is_measured_against_the_norm(
    backend: Backend,
) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let admin = &world.admin;
    let today = app.today();
    let people: Vec<_> = (0..10_000)
        .map(|i| {
            let grid = [GRID_A1, GRID_A2, GRID_B1][i % 3];
            let person = MeasurePerson {
                id_type: "passport".into(),
                id_number: format!("E{i:08}").into(),
                name: format!("测试{i}").into(),
                phone: None,
                resident_id: None,
                grid_code: grid.into(),
                household_number: format!("H{}", i / 4),
                address: Default::default(),
                birth_date: "1990-01-01".into(),
            };
            (
                person,
                PersonCategory::CloseContact,
                today,
                format!("bench:{i}"),
            )
        })
        .collect();
    assert_eq!(
        app.place_many_under_measure_unchecked(&people)
            .await
            .unwrap(),
        10_000
    );
    assert_eq!(
        app.place_many_under_measure_unchecked(&people)
            .await
            .unwrap(),
        0,
        "source keys make a repeat harmless"
    );
    let a = app
        .create_isolation_site(admin, &site_form("廉州镇大型隔离点", TOWNSHIP_A))
        .await
        .unwrap();
    let b = app
        .create_isolation_site(admin, &site_form("增村镇隔离点", TOWNSHIP_B))
        .await
        .unwrap();
    for building in ["A", "B", "C", "D", "E", "F"] {
        app.add_rooms(admin, a, &block(building, (1, 20), (1, 50)))
            .await
            .unwrap();
    }
    for building in ["A", "B", "C", "D"] {
        app.add_rooms(admin, b, &block(building, (1, 20), (1, 50)))
            .await
            .unwrap();
    }
    let report = app.confirm_allocation(admin, 10_000).await.unwrap();
    assert_eq!(report.allocated, 10_000);
    assert_eq!(report.unplaced, 0);
    eprintln!(
        "allocated 10,000 people in {} ms on {backend:?}",
        report.millis
    );
    let overview = app.isolation_overview(admin).await.unwrap();
    assert_eq!(overview.total.rooms, 10_000);
    assert_eq!(overview.total.residents, 11);
    assert!(overview.total.meets_norm);
    let township_a = overview
        .capacity
        .iter()
        .find(|c| c.code == TOWNSHIP_A)
        .unwrap();
    assert_eq!(township_a.rooms, 6_000);
    assert!(overview.waiting.iter().map(|w| w.allocated).sum::<i64>() == 10_000);
    // The longest waiting people are listed first.
    assert_eq!(overview.longest_waiting.len(), 20);
    let sites = app.isolation_sites(admin).await.unwrap();
    assert_eq!(sites.iter().map(|s| s.occupied).sum::<i64>(), 10_000);
    // Nothing is left to allocate, and an empty allocation writes nothing.
    assert_eq!(
        app.confirm_allocation(admin, 10_000)
            .await
            .unwrap()
            .allocated,
        0
    );
}
