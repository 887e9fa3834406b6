//! One person, one file (一人一档), on SQLite and (when FANGKONG_TEST_POSTGRES is set) on a
//! brand-new PostgreSQL database: a case and a household contact traced through the app, the
//! passes that turn them into codes, leads and measures, and then each person's file shows every
//! part — register and household with badges, code with reasons and history, the case and its
//! links, the contact record, the lead, the measure — masked, audited, and not found from another
//! township. The register's lists carry the same badges, one status query per list.

use crate::support::*;
use chrono::Duration;
use fangkong_app::auth::NewUser;
use fangkong_app::investigation::{CaseForm, ContactForm};
use fangkong_app::person_file::{PersonFile, PersonRef};
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    a_person_file_gathers_every_module_within_the_jurisdiction,
    person_file_story_sqlite,
    person_file_story_postgres
);

async fn epidemiologist(app: &App) -> Actor {
    app.create_user_unchecked(
        &NewUser {
            username: "epi".into(),
            display_name: "藁城区流调队".into(),
            role: Role::Epidemiologist,
            jurisdiction: RegionCode::parse(COUNTY).unwrap(),
            password: PASSWORD.into(),
        },
        "test",
    )
    .await
    .unwrap();
    login(app, "epi").await
}

/// "YYYY-MM-DD HH:MM" / "YYYY-MM-DD" Beijing time `offset` from the clock.
fn beijing(app: &App, offset: Duration, format: &str) -> String {
    (app.now() + offset)
        .with_timezone(&fangkong_app::china_offset())
        .format(format)
        .to_string()
}

fn badge_codes(file: &PersonFile) -> Vec<&str> {
    file.badges.iter().map(|b| b.code).collect()
}

fn not_found(result: Result<impl std::fmt::Debug, AppError>) {
    match result {
        Err(AppError::NotFound(_)) => {}
        other => panic!("expected not found, got {other:?}"),
    }
}

async fn a_person_file_gathers_every_module_within_the_jurisdiction(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let epi = epidemiologist(&app).await;
    let people = population();
    let (father, mother, son, neighbour) = (&people[0], &people[1], &people[2], &people[3]);
    let father_id = resident_id(&app, &world.admin, &father.id_number).await;
    let mother_id = resident_id(&app, &world.admin, &mother.id_number).await;
    let son_id = resident_id(&app, &world.admin, &son.id_number).await;
    let neighbour_id = resident_id(&app, &world.admin, &neighbour.id_number).await;

    // The father is a confirmed case; the mother, who lives with him, a close contact.
    let case = app
        .open_case(
            &epi,
            &CaseForm {
                kind: "confirmed".into(),
                id_number: father.id_number.clone(),
                onset_date: beijing(&app, Duration::days(-1), "%Y-%m-%d"),
                found_by: "fever_clinic".into(),
                isolated_at: beijing(&app, Duration::hours(-1), "%Y-%m-%d %H:%M"),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (contact, _) = app
        .add_contact(
            &epi,
            case,
            &ContactForm {
                id_number: mother.id_number.clone(),
                exposure_kind: "shared_home".into(),
                first_exposure_at: beijing(&app, Duration::hours(-22), "%Y-%m-%d %H:%M"),
                last_exposure_at: beijing(&app, Duration::hours(-20), "%Y-%m-%d %H:%M"),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // The passes every running server takes: codes, leads and measures from the events.
    app.try_run_code_events().await.unwrap();
    app.try_run_event_passes().await.unwrap();
    app.try_run_code_events().await.unwrap();

    // The mother's file: register, household, code, contact record, lead and measure.
    let file = app
        .person_file(&epi, PersonRef::Resident(mother_id))
        .await
        .unwrap();
    assert_eq!(file.key, mother_id.to_string());
    assert_eq!(file.person.name, "王秀英");
    assert!(file.person.in_register);
    assert_eq!(file.person.id_number_masked, masked_id(&mother.id_number));
    assert_eq!(file.person.phone_masked, "139****0002");
    assert_eq!(file.person.household_number, "A1-0001");
    let badges = badge_codes(&file);
    assert!(badges.contains(&"close_contact"), "{badges:?}");
    assert!(
        badges.contains(&"red_code") || badges.contains(&"yellow_code"),
        "{badges:?}"
    );
    // The household: the father with his case badge, the son without any.
    let husband = file
        .household
        .iter()
        .find(|m| m.resident_id == father_id)
        .expect("the father is in the household");
    assert!(husband.badges.iter().any(|b| b.code == "confirmed"));
    let boy = file
        .household
        .iter()
        .find(|m| m.resident_id == son_id)
        .expect("the son is in the household");
    assert!(boy.badges.is_empty(), "{:?}", boy.badges);
    assert!(file.household.iter().all(|m| m.resident_id != mother_id));
    // The code with its reasons and the facts behind them.
    let code = file.code.as_ref().expect("a document has a code");
    assert_ne!(code.code.colour, "green");
    assert!(!code.code.reasons.is_empty());
    assert!(!code.facts.is_empty());
    // The contact record names the case, its number and its person.
    assert_eq!(file.contacts.len(), 1);
    let record = &file.contacts[0];
    assert_eq!(record.id, contact);
    assert_eq!(record.category, "close");
    assert!(record.reason.contains("第1条"), "{}", record.reason);
    assert_eq!(record.case.case_id, case);
    assert!(record.case.within);
    assert_eq!(record.case.name, "王建国");
    assert_eq!(record.case.person_key, father_id.to_string());
    assert!(record.case.case_number.contains(&format!("{case:05}")));
    // The lead investigation sent to the grid and the measure isolation opened.
    assert!(!file.leads.is_empty(), "a lead for the close contact");
    assert!(file.leads.iter().all(|l| l.within));
    assert!(!file.measures.is_empty(), "a measure for the close contact");
    assert_eq!(file.measures[0].category_label, "密切接触者");
    assert!(file.cases.is_empty());
    // Nothing unmasked travels in the answer.
    let json = serde_json::to_string(&file).unwrap();
    assert!(!json.contains(&mother.id_number), "no full ID number");
    assert!(!json.contains(&mother.phone), "no full phone");

    // The father's file shows his case; reached through the case, it is the same file.
    let his = app
        .person_file(&epi, PersonRef::Resident(father_id))
        .await
        .unwrap();
    assert_eq!(his.cases.len(), 1);
    assert_eq!(his.cases[0].id, case);
    assert_eq!(his.cases[0].kind, "confirmed");
    assert!(his.cases[0].within);
    assert!(badge_codes(&his).contains(&"confirmed"));
    assert_eq!(his.code.as_ref().unwrap().code.colour, "red");
    let through_case = app.person_file(&epi, PersonRef::Case(case)).await.unwrap();
    assert_eq!(through_case.key, father_id.to_string());
    let through_contact = app
        .person_file(&epi, PersonRef::Contact(contact))
        .await
        .unwrap();
    assert_eq!(through_contact.key, mother_id.to_string());

    // The staff JSON of the code agrees with the file and says since when and until when.
    let brief = app
        .person_code_brief(&epi, PersonRef::Resident(father_id))
        .await
        .unwrap();
    assert_eq!(brief.colour, "red");
    assert!(!brief.reasons.is_empty());
    assert!(brief.since.is_some(), "the code turned red at a known time");
    assert_eq!(brief.id_number_masked, masked_id(&father.id_number));

    // Another township's grid worker: the same answer as for nobody, whatever the key.
    not_found(
        app.person_file(&world.worker_b, PersonRef::Resident(mother_id))
            .await,
    );
    not_found(
        app.person_file(&world.worker_b, PersonRef::Case(case))
            .await,
    );
    not_found(
        app.person_file(&world.worker_b, PersonRef::Contact(contact))
            .await,
    );
    not_found(
        app.person_code_brief(&world.worker_b, PersonRef::Resident(father_id))
            .await,
    );
    not_found(
        app.person_file(&epi, PersonRef::Resident(999_999_999))
            .await,
    );
    not_found(PersonRef::parse("case-abc"));
    not_found(PersonRef::parse("somebody-1"));
    assert_eq!(
        PersonRef::parse("measure-9").unwrap(),
        PersonRef::Measure(9)
    );
    // A role that does not search the register may not open files.
    assert!(matches!(
        app.person_file(&world.lab, PersonRef::Resident(mother_id))
            .await,
        Err(AppError::Forbidden { .. })
    ));
    // The grid worker of the township sees it.
    app.person_file(&world.worker_a, PersonRef::Resident(mother_id))
        .await
        .unwrap();

    // Every opening was audited, by whom and for whom; the refused ones were not.
    let audit = app
        .store_for_tools()
        .audit_page("view_person_file", i64::MAX, 100)
        .await
        .unwrap();
    let target = format!("person:{mother_id}");
    assert!(
        audit
            .iter()
            .any(|a| a.username == "epi" && a.target == target)
    );
    assert!(
        audit
            .iter()
            .any(|a| a.username == "worker_a" && a.target == target)
    );
    assert!(audit.iter().all(|a| a.username != "worker_b"));

    // The register's lists: the household's badges, the grid's people under watch, a search.
    let household = app
        .household_badges(&world.worker_a, "A1-0001")
        .await
        .unwrap();
    assert!(household[&father_id].iter().any(|b| b.code == "confirmed"));
    assert!(
        household[&mother_id]
            .iter()
            .any(|b| b.code == "close_contact")
    );
    assert!(!household.contains_key(&son_id));
    not_found(app.household_badges(&world.worker_b, "A1-0001").await);
    let watched = app.grid_watch_list(&world.worker_a, GRID_A1).await.unwrap();
    let ids: Vec<i64> = watched.iter().map(|w| w.resident_id).collect();
    assert!(
        ids.contains(&father_id) && ids.contains(&mother_id),
        "{ids:?}"
    );
    assert!(!ids.contains(&son_id) && !ids.contains(&neighbour_id));
    assert!(matches!(
        app.grid_watch_list(&world.worker_b, GRID_A1).await,
        Err(AppError::OutsideJurisdiction)
    ));
    let found = app
        .search_residents_badged(&world.worker_a, "王")
        .await
        .unwrap();
    let (_, father_badges) = found
        .iter()
        .find(|(r, _)| r.id == father_id)
        .expect("the search finds the father");
    assert!(father_badges.iter().any(|b| b.code == "confirmed"));
}
