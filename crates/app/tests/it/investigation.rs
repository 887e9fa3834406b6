//! Investigation stories (流调溯源) of the application layer, each on SQLite and (when
//! FANGKONG_TEST_POSTGRES is set) on a brand-new PostgreSQL database: cases and their deadlines,
//! contacts classified by rule with every refusal, secondary contacts, chains, the bulletin, the
//! seams to health codes and other modules, and a single positive of mass testing opening a case.

use crate::support::*;
use chrono::Duration;
use fangkong_app::auth::NewUser;
use fangkong_app::investigation::{CaseAction, CaseForm, ContactForm, StopForm};
use fangkong_app::lab_results::ResultInput;
use fangkong_app::mass_testing::{RoundForm, SamplingBatch, ScanAction, ScanInput, SiteForm};
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::investigation::DeadlineState;
use fangkong_domain::mass_testing::TubeBarcode;
use fangkong_domain::person_event::{self, ContactEvent};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    cases_and_contacts_are_classified_by_rule,
    cases_story_sqlite,
    cases_story_postgres
);
story!(
    chains_bulletin_and_closing_a_case,
    chains_story_sqlite,
    chains_story_postgres
);
story!(
    a_single_positive_opens_a_case_with_its_deadlines,
    positive_story_sqlite,
    positive_story_postgres
);

struct Staff {
    epidemiologist: Actor,
    epidemiologist_b: Actor,
    province_admin: Actor,
    duty: Actor,
}

async fn staff(app: &App) -> Staff {
    for (username, name, role, jurisdiction) in [
        ("epi", "藁城区流调队", Role::Epidemiologist, COUNTY),
        ("epi_b", "增村镇流调员", Role::Epidemiologist, TOWNSHIP_B),
        ("province", "省管理员", Role::Administrator, "13"),
        ("duty", "值班员", Role::DutyOfficer, COUNTY),
    ] {
        app.create_user_unchecked(
            &NewUser {
                username: username.into(),
                display_name: name.into(),
                role,
                jurisdiction: RegionCode::parse(jurisdiction).unwrap(),
                password: PASSWORD.into(),
            },
            "test",
        )
        .await
        .unwrap();
    }
    Staff {
        epidemiologist: login(app, "epi").await,
        epidemiologist_b: login(app, "epi_b").await,
        province_admin: login(app, "province").await,
        duty: login(app, "duty").await,
    }
}

/// "YYYY-MM-DD HH:MM" Beijing time `offset` from the clock.
fn beijing(app: &App, offset: Duration) -> String {
    (app.now() + offset)
        .with_timezone(&fangkong_app::china_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn day(app: &App, offset_days: i64) -> String {
    (app.now() + Duration::days(offset_days))
        .with_timezone(&fangkong_app::china_offset())
        .format("%Y-%m-%d")
        .to_string()
}

fn confirmed(app: &App, id_number: &str) -> CaseForm {
    CaseForm {
        kind: "confirmed".into(),
        id_number: id_number.into(),
        onset_date: day(app, -1),
        found_by: "fever_clinic".into(),
        isolated_at: beijing(app, Duration::hours(-1)),
        ..Default::default()
    }
}

fn exposed(app: &App, id_number: &str, kind: &str, hours_ago: i64) -> ContactForm {
    ContactForm {
        id_number: id_number.into(),
        exposure_kind: kind.into(),
        first_exposure_at: beijing(app, Duration::hours(-hours_ago - 2)),
        last_exposure_at: beijing(app, Duration::hours(-hours_ago)),
        ..Default::default()
    }
}

fn invalid(result: Result<impl std::fmt::Debug, AppError>) -> String {
    match result {
        Err(AppError::Invalid(message)) => message,
        other => panic!("expected a refusal in words, got {other:?}"),
    }
}

async fn colour(app: &App, actor: &Actor, id_number: &str) -> String {
    app.person_code(actor, "", id_number)
        .await
        .expect("person code")
        .code
        .colour
}

async fn cases_and_contacts_are_classified_by_rule(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let staff = staff(&app).await;
    let people = population();
    let (father, mother, son, neighbour) = (
        &people[0].id_number,
        &people[1].id_number,
        &people[2].id_number,
        &people[3].id_number,
    );
    let epi = &staff.epidemiologist;

    // Refusals in words: no onset for a confirmed case, a wrong check digit, outside jurisdiction.
    let mut form = confirmed(&app, father);
    form.onset_date.clear();
    assert!(invalid(app.open_case(epi, &form).await).contains("发病日期"));
    let wrong = confirmed(&app, &with_wrong_check_digit(father));
    assert!(invalid(app.open_case(epi, &wrong).await).contains("校验"));
    assert!(matches!(
        app.open_case(&staff.epidemiologist_b, &confirmed(&app, father))
            .await,
        Err(AppError::OutsideJurisdiction)
    ));
    assert!(matches!(
        app.open_case(&world.worker_a, &confirmed(&app, father))
            .await,
        Err(AppError::Forbidden { .. })
    ));

    // The case opens; a retried submission with the same key is the same case; a second case for
    // the same person is refused.
    let mut form = confirmed(&app, father);
    form.case_key = "k1".into();
    let case = app.open_case(epi, &form).await.unwrap();
    assert_eq!(app.open_case(epi, &form).await.unwrap(), case);
    assert!(matches!(
        app.open_case(epi, &confirmed(&app, father)).await,
        Err(AppError::Conflict(_))
    ));
    let detail = app.case_detail(epi, case).await.unwrap();
    assert_eq!(detail.case.kind, "confirmed");
    assert_eq!(detail.case.name, "王建国");
    assert_eq!(detail.case.id_number_masked, masked_id(father));
    assert_eq!(detail.case.report, DeadlineState::Open);
    assert!(detail.regime_label.contains("第九版"));
    // The case is coded at once (health codes read the case_reported event).
    assert_eq!(colour(&app, &world.admin, father).await, "red");

    // A household member exposed yesterday: a close contact, with the rule as the reason, coded.
    let (wife, classification) = app
        .add_contact(epi, case, &exposed(&app, mother, "shared_home", 20))
        .await
        .unwrap();
    assert_eq!(classification.category.code(), "close");
    assert!(
        classification.reason.contains("第1条"),
        "{}",
        classification.reason
    );
    assert_ne!(colour(&app, &world.admin, mother).await, "green");
    // The same person twice for the case is refused; so is the case itself.
    assert!(matches!(
        app.add_contact(epi, case, &exposed(&app, mother, "shared_home", 20))
            .await,
        Err(AppError::Conflict(_))
    ));
    assert!(
        invalid(
            app.add_contact(epi, case, &exposed(&app, father, "carer", 20))
                .await
        )
        .contains("病例本人")
    );
    // Exposure after the case was isolated, a missing case, missing seat rows, no way to find them.
    let after = exposed(&app, son, "shared_home", 0);
    let message = invalid(app.add_contact(epi, case, &after).await);
    assert!(message.contains("隔离"), "{message}");
    assert!(matches!(
        app.add_contact(epi, 999_999, &exposed(&app, son, "shared_home", 20))
            .await,
        Err(AppError::NotFound(_))
    ));
    assert!(
        invalid(
            app.add_contact(epi, case, &exposed(&app, son, "aircraft", 20))
                .await
        )
        .contains("排号")
    );
    let mut nobody = exposed(&app, "", "shared_meal", 20);
    nobody.name = "无名氏".into();
    assert!(invalid(app.add_contact(epi, case, &nobody).await).contains("证件号码或联系电话"));
    // On an aircraft, 5 rows away is a general contact — recorded, but not coded.
    let mut plane = exposed(&app, son, "aircraft", 30);
    plane.case_row = "12".into();
    plane.contact_row = "17".into();
    let (_, far) = app.add_contact(epi, case, &plane).await.unwrap();
    assert_eq!(far.category.code(), "general");
    assert!(far.reason.contains("前后3排"), "{}", far.reason);
    assert_eq!(colour(&app, &world.admin, son).await, "green");

    // The neighbour shared an office with the wife after her exposure: a secondary contact, which
    // always names its close contact; a secondary contact cannot hang off a general one.
    let mut via_wife = exposed(&app, neighbour, "same_enclosed_space", 10);
    via_wife.via_contact_id = wife.to_string();
    let (secondary, c) = app.add_contact(epi, case, &via_wife).await.unwrap();
    assert_eq!(c.category.code(), "secondary");
    let contacts = app.case_detail(epi, case).await.unwrap().contacts;
    let row = contacts.iter().find(|r| r.id == secondary).unwrap();
    assert_eq!(row.via_contact_id, Some(wife));
    assert_eq!(row.category_label, "密接的密接");
    let general_id = contacts
        .iter()
        .find(|r| r.category == "general")
        .unwrap()
        .id;
    let mut via_general = exposed(&app, &people[4].id_number, "shared_home", 10);
    via_general.via_contact_id = general_id.to_string();
    assert!(invalid(app.add_contact(epi, case, &via_general).await).contains("密切接触者"));

    // The other modules hear of both contacts through person events with the exposure time.
    let events = app
        .store_for_tools()
        .person_events_after(0, 1_000)
        .await
        .unwrap();
    let close: Vec<_> = events
        .iter()
        .filter(|e| e.kind == person_event::CLOSE_CONTACT)
        .collect();
    assert_eq!(close.len(), 1);
    let detail: ContactEvent = serde_json::from_str(&close[0].detail).unwrap();
    assert_eq!(detail.contact_id, wife);
    assert_eq!(detail.case_id, case);
    assert_eq!(close[0].grid_code, GRID_A1);
    assert!(
        events
            .iter()
            .any(|e| e.kind == person_event::SECONDARY_CONTACT)
    );

    // Directories and counts, scoped: township B's epidemiologist sees none of township A's.
    let overview = app.investigation_overview(&staff.duty).await.unwrap();
    assert_eq!(overview.counts.confirmed, 1);
    assert_eq!(overview.counts.close_contacts, 1);
    assert_eq!(overview.counts.secondary_contacts, 1);
    assert_eq!(overview.counts.general_contacts, 1);
    // The county's overview breaks down by township: all of it in 廉州镇.
    assert_eq!(overview.by_region.len(), 1, "{:?}", overview.by_region);
    assert_eq!(overview.by_region[0].code, TOWNSHIP_A);
    assert_eq!(overview.by_region[0].close_contacts, 1);
    assert_eq!(
        app.contacts(&staff.duty, "close", None)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        app.cases(&staff.epidemiologist_b, None, None, false, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        app.case_detail(&staff.epidemiologist_b, case).await,
        Err(AppError::NotFound(_))
    ));

    // Clearing the close contact ends her code fact and takes her off the counters.
    app.clear_contact(epi, wife, "核实为误报").await.unwrap();
    // The case, the contact and the clearing each committed with their audit record.
    let target = format!("contact:{wife}");
    assert_eq!(audit_rows_of(&app, "create", &target).await.len(), 1);
    assert_eq!(audit_rows_of(&app, "clear", &target).await.len(), 1);
    assert_eq!(
        audit_rows_of(&app, "create", &format!("case:{case}"))
            .await
            .len(),
        1
    );
    let overview = app.investigation_overview(&staff.duty).await.unwrap();
    assert_eq!(overview.counts.close_contacts, 0);
    assert_eq!(overview.by_region[0].close_contacts, 0);
    assert_eq!(colour(&app, &world.admin, mother).await, "green");
    assert!(matches!(
        app.clear_contact(epi, wife, "再次解除").await,
        Err(AppError::Conflict(_))
    ));
    // The refused clearing left no audit record.
    assert_eq!(audit_rows_of(&app, "clear", &target).await.len(), 1);

    // Only a province switches the regime; under the 20条 no secondary contacts are identified.
    assert!(invalid(app.set_tracing_regime(epi, "twenty").await).contains("省级"));
    app.set_tracing_regime(&staff.province_admin, "twenty")
        .await
        .unwrap();
    let (wife_again, _) = app
        .add_contact(epi, case, &{
            let mut f = exposed(&app, mother, "shared_meal", 20);
            f.phone = "13900000002".into();
            f.id_number.clear();
            f.name = "王秀英".into();
            f.address = "藁城区A1-0001号院".into();
            f
        })
        .await
        .unwrap();
    let mut via = exposed(&app, &people[4].id_number, "shared_home", 10);
    via.via_contact_id = wife_again.to_string();
    assert!(invalid(app.add_contact(epi, case, &via).await).contains("二十条"));
}

async fn chains_bulletin_and_closing_a_case(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let staff = staff(&app).await;
    let epi = &staff.epidemiologist;
    let people = population();

    let first = app
        .open_case(epi, &confirmed(&app, &people[0].id_number))
        .await
        .unwrap();
    let second = app
        .open_case(
            epi,
            &CaseForm {
                kind: "asymptomatic".into(),
                id_number: people[2].id_number.clone(),
                first_positive_at: beijing(&app, Duration::hours(-5)),
                found_by: "contact_screening".into(),
                infector: app.case_detail(epi, first).await.unwrap().case.case_number,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let third = app
        .open_case(
            epi,
            &CaseForm {
                kind: "suspected".into(),
                id_number: people[3].id_number.clone(),
                onset_date: day(&app, 0),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.update_case(
        epi,
        third,
        &CaseAction::Infector {
            infector: second.to_string(),
            note: "同一车间".into(),
        },
    )
    .await
    .unwrap();
    // A link that would close a cycle is refused.
    let message = invalid(
        app.update_case(
            epi,
            first,
            &CaseAction::Infector {
                infector: third.to_string(),
                note: String::new(),
            },
        )
        .await,
    );
    assert!(message.contains("下游"), "{message}");
    app.add_contact(
        epi,
        first,
        &exposed(&app, &people[1].id_number, "shared_home", 20),
    )
    .await
    .unwrap();

    let picture = app.transmission_chains(&staff.duty).await.unwrap();
    assert_eq!(picture.cases, 3);
    assert_eq!(picture.contacts, 1);
    assert_eq!(picture.layout.chains.len(), 1);
    assert_eq!(picture.layout.chains[0].size, 3);
    assert_eq!(picture.layout.chains[0].depth, 2);
    let detail = app.case_detail(epi, second).await.unwrap();
    assert_eq!(detail.infector.as_ref().map(|c| c.id), Some(first));
    assert_eq!(detail.infectees.len(), 1);

    // The trajectory and the public bulletin: no name, no ID number, no phone.
    app.add_case_stop(
        epi,
        first,
        &StopForm {
            place_kind: "venue".into(),
            place_name: "藁城区某某超市".into(),
            from_at: beijing(&app, Duration::hours(-30)),
            to_at: beijing(&app, Duration::hours(-29)),
            public: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let refused = app
        .add_case_stop(
            epi,
            first,
            &StopForm {
                place_name: "某地".into(),
                from_at: beijing(&app, Duration::hours(-3)),
                to_at: beijing(&app, Duration::hours(-4)),
                ..Default::default()
            },
        )
        .await;
    assert!(invalid(refused).contains("早于"));
    let bulletin = app
        .case_bulletin(&staff.duty, app.today() - Duration::days(3))
        .await
        .unwrap();
    assert_eq!(bulletin.rows.len(), 2, "{bulletin:?}");
    assert_eq!(bulletin.total, 2);
    assert_eq!(bulletin.count_label("例"), "2 例");
    let text = bulletin.rows.join("\n");
    assert!(text.contains("某某超市"), "{text}");
    assert!(text.contains("西城街"), "{text}");
    // The case keeps the register's code (M/F, as residents do); people read the label.
    let sex = app.case_detail(epi, first).await.unwrap().case.sex;
    assert!(sex == "男" || sex == "女", "{sex}");
    assert!(
        bulletin
            .rows
            .iter()
            .all(|row| row.contains("：男") || row.contains("：女")),
        "{text}"
    );
    assert!(
        !text.contains("王建国") && !text.contains(&people[0].id_number[14..]),
        "{text}"
    );

    // Reports and investigations done on time; discharge ends the code fact and closes the case.
    app.update_case(epi, first, &CaseAction::Reported)
        .await
        .unwrap();
    app.update_case(epi, first, &CaseAction::Investigated)
        .await
        .unwrap();
    let row = app.case_detail(epi, first).await.unwrap().case;
    assert_eq!(row.report, DeadlineState::OnTime);
    assert_eq!(row.investigation, DeadlineState::OnTime);
    assert!(invalid(app.update_case(epi, second, &CaseAction::Exclude).await).contains("不能排除"));
    app.update_case(epi, third, &CaseAction::Exclude)
        .await
        .unwrap();
    app.update_case(
        epi,
        first,
        &CaseAction::Discharge {
            occurred_at: String::new(),
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        app.update_case(epi, first, &CaseAction::Reported).await,
        Err(AppError::Conflict(_))
    ));
    let events = app
        .store_for_tools()
        .person_events_after(0, 1_000)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == person_event::CASE_DISCHARGED)
    );
    assert!(events.iter().any(|e| e.kind == person_event::CASE_EXCLUDED));
    let overview = app.investigation_overview(&staff.duty).await.unwrap();
    assert_eq!(overview.counts.discharged, 1);
    assert_eq!(overview.counts.active, 1, "one discharged, one excluded");
    assert_eq!(overview.counts.suspected, 1);

    // A large jurisdiction's directory walks ids; a small one sorts its range: the same rows.
    let range = RegionCode::parse(COUNTY).unwrap().subtree_range();
    for filter in [
        fangkong_store::investigation::CaseFilter::default(),
        fangkong_store::investigation::CaseFilter {
            status: Some("active".into()),
            ..Default::default()
        },
    ] {
        let walked = app
            .store_for_tools()
            .cases_page((&range.0, &range.1), &filter, None, 2, true)
            .await
            .unwrap();
        let sorted = app
            .store_for_tools()
            .cases_page((&range.0, &range.1), &filter, None, 2, false)
            .await
            .unwrap();
        assert_eq!(walked, sorted);
        assert!(!walked.is_empty());
    }
    let walked = app
        .store_for_tools()
        .contacts_page((&range.0, &range.1), "close", None, 10, true)
        .await
        .unwrap();
    assert_eq!(
        walked,
        app.store_for_tools()
            .contacts_page((&range.0, &range.1), "close", None, 10, false)
            .await
            .unwrap()
    );
    assert_eq!(walked.len(), 1);
}

/// 王建国 swabbed in a single tube in a round of 廉州镇, and the lab reports it positive.
async fn single_tube_positive(app: &App, world: &World) {
    let person = population()[0].id_number.clone();
    let round = app
        .open_round(
            &world.commander_a,
            &RoundForm {
                name: "单管".into(),
                kind: "whole".into(),
                region_code: TOWNSHIP_A.into(),
                pool_size: "1".into(),
                tubes: "5".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let view = app.round(&world.commander_a, round).await.unwrap();
    let tube = TubeBarcode::parse(&view.tube_ranges[0].0)
        .unwrap()
        .to_string();
    let site = app
        .create_site(
            &world.commander_a,
            round,
            &SiteForm {
                region_code: VILLAGE_A1.into(),
                name: "采样点".into(),
                tables: "1".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let scan = |action: ScanAction, id: &str, key: &str| ScanInput {
        scan_id: key.into(),
        tube: tube.clone(),
        action,
        purpose: None,
        id_type: String::new(),
        id_number: id.into(),
        name: String::new(),
        scanned_at: None,
        occurred_at: String::new(),
    };
    let results = app
        .submit_scans(
            &world.sampler_a,
            &SamplingBatch {
                round_id: round,
                site_id: site,
                table_no: 1,
                scans: vec![
                    scan(ScanAction::Bind, &person, "a"),
                    scan(ScanAction::Close, "", "b"),
                ],
            },
        )
        .await
        .unwrap();
    assert!(results.iter().all(|r| r.ok), "{results:?}");
    app.submit_lab_results(
        &world.lab,
        &[ResultInput {
            tube: tube.clone(),
            result: "positive".into(),
            tested_at: None,
        }],
    )
    .await
    .unwrap();
}

async fn a_single_positive_opens_a_case_with_its_deadlines(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let staff = staff(&app).await;
    single_tube_positive(&app, &world).await;
    app.sync_case_events().await.unwrap();
    // Taking the events again opens no second case.
    app.sync_case_events().await.unwrap();
    let cases = app
        .cases(&staff.epidemiologist, None, None, false, None)
        .await
        .unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].kind, "initial_screen_positive");
    assert_eq!(cases[0].found_by_label, "全员核酸检测");
    // The initial-screen positive owes a single-tube recheck: its way to confirmation or back to
    // green (it used to have none, so a recheck swab was refused).
    let tasks = app
        .recheck_tasks(&world.worker_a, GRID_A1, Some("pending"))
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].reason_label, "单管初筛阳性复核");
    // Three hours later the 2-hour report is overdue and the directory filter finds it.
    guard.clock.advance(Duration::hours(3));
    let overdue = app
        .cases(&staff.epidemiologist, None, None, true, None)
        .await
        .unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].report, DeadlineState::Overdue);
    assert_eq!(overdue[0].investigation, DeadlineState::Open);
    let overview = app.investigation_overview(&staff.duty).await.unwrap();
    assert_eq!(overview.counts.report_overdue, 1);
    assert_eq!(overview.counts.investigation_overdue, 0);
    // Confirmed by the recheck: reclassified, and the report done late.
    app.update_case(
        &staff.epidemiologist,
        cases[0].id,
        &CaseAction::Reclassify {
            kind: "confirmed".into(),
        },
    )
    .await
    .unwrap();
    app.update_case(&staff.epidemiologist, cases[0].id, &CaseAction::Reported)
        .await
        .unwrap();
    let row = app
        .case_detail(&staff.epidemiologist, cases[0].id)
        .await
        .unwrap()
        .case;
    assert_eq!(row.kind, "confirmed");
    assert_eq!(row.report, DeadlineState::Late);
    assert!(
        app.cases(&staff.epidemiologist, None, None, true, None)
            .await
            .unwrap()
            .is_empty()
    );
}

story!(
    an_excluded_initial_screen_case_ends_its_red_code,
    excluded_screen_story_sqlite,
    excluded_screen_story_postgres
);

async fn an_excluded_initial_screen_case_ends_its_red_code(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let staff = staff(&app).await;
    let person = population()[0].id_number.clone();
    single_tube_positive(&app, &world).await;
    app.sync_case_events().await.unwrap();
    app.sync_code_events().await.unwrap();
    assert_eq!(colour(&app, &world.admin, &person).await, "red");
    let cases = app
        .cases(&staff.epidemiologist, None, None, false, None)
        .await
        .unwrap();
    app.update_case(&staff.epidemiologist, cases[0].id, &CaseAction::Exclude)
        .await
        .unwrap();
    app.sync_code_events().await.unwrap();
    // Excluded: the screening positive was no infection, so its red code ends (it used to stay).
    assert_eq!(colour(&app, &world.admin, &person).await, "green");
}
