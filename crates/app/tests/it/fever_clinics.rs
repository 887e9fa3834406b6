//! Fever clinics (发热门诊): a patient's closed loop with the PCR tube in the lab flow and the lab's
//! result brought back; release refused before the result where the clinic's rule forbids it
//! (nothing written); a positive's sentinel event, the initial-screen case and the ambulance's
//! queue; a patient without a valid ID registered and flagged; the day's counters; jurisdiction.

use crate::support::*;
use fangkong_app::auth::NewUser;
use fangkong_app::lab_results::ResultInput;
use fangkong_app::mass_testing::{RoundForm, SiteForm};
use fangkong_app::warning::fever_clinics::{ClinicForm, PatientForm, StepForm, VisitView};
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::mass_testing::TubeBarcode;
use fangkong_domain::person_event::SentinelEvent;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    a_fever_clinic_closes_the_loop_with_the_lab,
    fever_clinic_loop_sqlite,
    fever_clinic_loop_postgres
);
story!(
    clinic_rules_flags_and_jurisdiction,
    fever_clinic_rules_sqlite,
    fever_clinic_rules_postgres
);

struct Clinic {
    staff: Actor,
    id: i64,
    first_tube: u64,
}

impl Clinic {
    fn tube(&self, n: u64) -> String {
        TubeBarcode::from_serial(self.first_tube + n)
            .unwrap()
            .to_string()
    }
}

async fn user(app: &App, username: &str, role: Role, region: &str) -> Actor {
    app.create_user_unchecked(
        &NewUser {
            username: username.into(),
            display_name: format!("{username}用户"),
            role,
            jurisdiction: RegionCode::parse(region).unwrap(),
            password: PASSWORD.into(),
        },
        "test",
    )
    .await
    .unwrap();
    login(app, username).await
}

/// A single-tube routine round over township A with the clinic's sampling site, and the clinic.
async fn clinic(app: &App, world: &World, risk: &str, with_site: bool) -> Clinic {
    let round = app
        .open_round(
            &world.commander_a,
            &RoundForm {
                name: format!("发热门诊常态化检测{risk}"),
                kind: "routine".into(),
                region_code: TOWNSHIP_A.into(),
                pool_size: "1".into(),
                tubes: "50".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let view = app.round(&world.commander_a, round).await.unwrap();
    let first_tube = TubeBarcode::parse(&view.tube_ranges[0].0).unwrap().serial();
    let site = app
        .create_site(
            &world.commander_a,
            round,
            &SiteForm {
                region_code: VILLAGE_A1.into(),
                name: "廉州镇卫生院发热诊室采样".into(),
                tables: "1".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let id = app
        .add_fever_clinic(
            &world.commander_a,
            &ClinicForm {
                name: format!("廉州镇卫生院发热诊室{risk}"),
                kind: "room".into(),
                region_code: TOWNSHIP_A.into(),
                risk: risk.into(),
                site_id: if with_site {
                    site.to_string()
                } else {
                    String::new()
                },
                hospital: "石家庄市第五医院".into(),
            },
        )
        .await
        .unwrap();
    let staff = match app.store_for_tools().user_by_username("clinic").await {
        Ok(Some(_)) => login(app, "clinic").await,
        _ => user(app, "clinic", Role::Clinic, COUNTY).await,
    };
    Clinic {
        staff,
        id,
        first_tube,
    }
}

fn patient(key: &str, id_number: &str, name: &str) -> PatientForm {
    PatientForm {
        request_key: key.into(),
        id_number: id_number.into(),
        name: name.into(),
        phone: "13912345678".into(),
        green_code: "1".into(),
        temperature: "38.6".into(),
        complaint: "发热、咳嗽".into(),
        ..PatientForm::default()
    }
}

fn step(action: &str) -> StepForm {
    StepForm {
        action: action.into(),
        ..StepForm::default()
    }
}

fn with_result(action: &str, result: &str) -> StepForm {
    StepForm {
        result: result.into(),
        ..step(action)
    }
}

async fn go(app: &App, c: &Clinic, visit: i64, form: StepForm) -> VisitView {
    app.advance_fever_visit(&c.staff, visit, &form)
        .await
        .unwrap_or_else(|e| panic!("{} on visit {visit}: {e}", form.action))
}

async fn to_screening(app: &App, c: &Clinic, visit: i64) {
    go(app, c, visit, step("receive")).await;
    go(app, c, visit, step("screen")).await;
}

async fn events(app: &App, kind: &str) -> Vec<fangkong_store::PersonEventRecord> {
    app.store_for_tools()
        .person_events_after(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .collect()
}

async fn audit_count(app: &App) -> usize {
    audit_rows(app).await.len()
}

fn today(app: &App) -> String {
    fangkong_domain::time::beijing_date(app.now())
        .format("%Y-%m-%d")
        .to_string()
}

async fn a_fever_clinic_closes_the_loop_with_the_lab(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let c = clinic(&app, &world, "high", true).await;
    let people = population();

    // Registered with a valid ID: linked to the register; a retry registers nobody twice.
    let first = app
        .register_fever_patient(
            &c.staff,
            c.id,
            &patient("r-1", &people[0].id_number, "王建国"),
        )
        .await
        .unwrap();
    assert!(first.created && first.in_register && first.id_problem.is_empty());
    let again = app
        .register_fever_patient(
            &c.staff,
            c.id,
            &patient("r-1", &people[0].id_number, "王建国"),
        )
        .await
        .unwrap();
    assert_eq!((again.visit_id, again.created), (first.visit_id, false));
    let v1 = first.visit_id;
    to_screening(&app, &c, v1).await;
    go(&app, &c, v1, with_result("antigen", "negative")).await;
    go(&app, &c, v1, with_result("blood", "normal")).await;
    let swabbed = go(
        &app,
        &c,
        v1,
        StepForm {
            tube: c.tube(0),
            ..step("pcr_taken")
        },
    )
    .await;
    assert!(swabbed.pcr_in_lab_flow, "the tube joined the lab flow");
    go(&app, &c, v1, step("observe")).await;

    // A high-risk clinic keeps everyone until the result: refused, nothing written.
    let audits = audit_count(&app).await;
    let refused = app
        .advance_fever_visit(&c.staff, v1, &step("release"))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, AppError::Conflict(m) if m.contains("须留观至核酸结果")),
        "{refused}"
    );
    assert_eq!(audit_count(&app).await, audits, "a refusal writes nothing");
    let v = app.fever_visit(&c.staff, v1).await.unwrap();
    assert_eq!(v.stage.code(), "observation");
    // The clinic does not type a bound tube's result: the lab's comes back.
    let typed = app
        .advance_fever_visit(&c.staff, v1, &with_result("pcr_result", "negative"))
        .await
        .unwrap_err();
    assert!(typed.to_string().contains("自动回传"), "{typed}");
    let figures = app
        .store_for_tools()
        .clinic_day_figures(TOWNSHIP_A, &today(&app))
        .await
        .unwrap();
    assert_eq!(
        (
            figures.visits,
            figures.in_observation,
            figures.awaiting_result,
            figures.released
        ),
        (1, 1, 1, 0)
    );

    // The lab's negative reaches the visit through the pass (once), and then the patient leaves.
    app.submit_lab_results(
        &world.lab,
        &[ResultInput {
            tube: c.tube(0),
            result: "negative".into(),
            tested_at: None,
        }],
    )
    .await
    .unwrap();
    assert_eq!(app.sync_fever_clinic_results().await.unwrap(), 1);
    assert_eq!(app.sync_fever_clinic_results().await.unwrap(), 0);
    let v = app.fever_visit(&c.staff, v1).await.unwrap();
    assert!(v.pcr.starts_with("阴性") && v.may_leave, "{v:?}");
    let left = go(&app, &c, v1, step("release")).await;
    assert_eq!(left.stage.code(), "released");

    // An antigen positive at the clinic: the sentinel event, the self-test's antigen event and
    // its recheck in the same transaction; the clinic's tube is bound as that recheck; the lab's
    // positive opens the initial-screen case and isolation queues the ambulance.
    let second = app
        .register_fever_patient(
            &c.staff,
            c.id,
            &patient("r-2", &people[1].id_number, "王秀英"),
        )
        .await
        .unwrap();
    let v2 = second.visit_id;
    to_screening(&app, &c, v2).await;
    let positive = go(&app, &c, v2, with_result("antigen", "positive")).await;
    assert!(positive.positive);
    let sentinels = events(&app, "sentinel_positive").await;
    assert_eq!(sentinels.len(), 1);
    let detail: SentinelEvent = serde_json::from_str(&sentinels[0].detail).unwrap();
    assert_eq!(detail.channel, "fever_clinic_positive");
    assert_eq!(detail.record, format!("clinic_visit:{v2}"));
    assert_eq!(detail.place, "廉州镇卫生院发热诊室high");
    assert_eq!(
        sentinels[0].resident_id,
        Some(resident_id(&app, &world.admin, &people[1].id_number).await)
    );
    assert_eq!(events(&app, "antigen_positive").await.len(), 1);
    let refused = app
        .advance_fever_visit(&c.staff, v2, &step("release"))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("阳性患者不得离院"),
        "{refused}"
    );
    go(
        &app,
        &c,
        v2,
        StepForm {
            tube: c.tube(1),
            ..step("pcr_taken")
        },
    )
    .await;
    app.submit_lab_results(
        &world.lab,
        &[ResultInput {
            tube: c.tube(1),
            result: "positive".into(),
            tested_at: None,
        }],
    )
    .await
    .unwrap();
    assert_eq!(app.sync_fever_clinic_results().await.unwrap(), 1);
    assert_eq!(
        events(&app, "sentinel_positive").await.len(),
        1,
        "known positive already: no second signal"
    );
    assert_eq!(events(&app, "single_positive").await.len(), 1);
    app.sync_case_events().await.unwrap();
    app.sync_isolation_events().await.unwrap();
    let measures = app.isolation_measures(&world.admin, "").await.unwrap();
    let masked = masked_id(&people[1].id_number);
    let measure = measures
        .iter()
        .find(|m| m.id_number_masked == masked)
        .expect("the positive is under a measure");
    assert_eq!(
        measure.status, "awaiting_hospital",
        "queued for an ambulance"
    );
    let referred = go(&app, &c, v2, step("refer")).await;
    assert_eq!(referred.stage.code(), "referred");
    assert!(
        referred
            .outcome_note
            .contains("转运至定点医院：石家庄市第五医院")
    );

    let figures = app
        .store_for_tools()
        .clinic_day_figures("130109", &today(&app))
        .await
        .unwrap();
    assert_eq!(
        (
            figures.visits,
            figures.in_observation,
            figures.awaiting_result,
            figures.positives,
            figures.referred,
            figures.released
        ),
        (2, 0, 0, 1, 1, 1)
    );
    let counts = app
        .store_for_tools()
        .fever_visit_day_counts("1301", "2022-01-01")
        .await
        .unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!(
        (
            counts[0].region_code.as_str(),
            counts[0].day.clone(),
            counts[0].count
        ),
        (TOWNSHIP_A, today(&app), 2)
    );
    assert!(
        app.store_for_tools()
            .fever_visit_day_counts("130109110", "2022-01-01")
            .await
            .unwrap()
            .is_empty()
    );
    // The board shows each stage; the commanders' list the day's figures.
    let board = app.fever_clinic_board(&c.staff, c.id).await.unwrap();
    let released = board
        .stages
        .iter()
        .find(|s| s.stage.code() == "released")
        .unwrap();
    assert_eq!(released.visits.len(), 1);
    let list = app.fever_clinics(&world.commander_a).await.unwrap();
    assert_eq!(list.clinics.len(), 1);
    assert_eq!(list.clinics[0].today.visits, 2);
    // The day counters equal the visits (the consistency audit).
    let audit = app
        .check_consistency(chrono::Duration::zero())
        .await
        .unwrap();
    let sentinels = audit
        .results
        .iter()
        .find(|r| r.key == "sentinel_counters_match_records")
        .expect("the sentinels' invariant is audited");
    assert_eq!(
        sentinels.violations.count, 0,
        "{:?}",
        sentinels.violations.examples
    );
}

async fn clinic_rules_flags_and_jurisdiction(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let low = clinic(&app, &world, "low", true).await;
    let people = population();

    // Low risk: a green-code patient without travel history waits for the result at home.
    let v = app
        .register_fever_patient(
            &low.staff,
            low.id,
            &patient("l-1", &people[2].id_number, "王小明"),
        )
        .await
        .unwrap()
        .visit_id;
    to_screening(&app, &low, v).await;
    let refused = app
        .advance_fever_visit(&low.staff, v, &step("release"))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("尚未采集核酸"), "{refused}");
    go(
        &app,
        &low,
        v,
        StepForm {
            tube: low.tube(0),
            ..step("pcr_taken")
        },
    )
    .await;
    let home = go(&app, &low, v, step("release")).await;
    assert_eq!(home.stage.code(), "released");
    assert!(home.outcome_note.contains("居家等待核酸结果"));
    // … but one with a travel history stays.
    let traveller = PatientForm {
        travel_history: "1".into(),
        ..patient("l-2", &people[3].id_number, &people[3].name)
    };
    let t = app
        .register_fever_patient(&low.staff, low.id, &traveller)
        .await
        .unwrap()
        .visit_id;
    to_screening(&app, &low, t).await;
    go(
        &app,
        &low,
        t,
        StepForm {
            tube: low.tube(1),
            ..step("pcr_taken")
        },
    )
    .await;
    let refused = app
        .advance_fever_visit(&low.staff, t, &step("release"))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("患者有旅居史"), "{refused}");

    // No valid ID: registered by name and phone (首诊负责制), flagged; the tube stays outside
    // the lab flow and the clinic types the result; a positive still signals.
    let bad = with_wrong_check_digit(&people[4].id_number);
    let flagged = app
        .register_fever_patient(&low.staff, low.id, &patient("l-3", &bad, "无证患者"))
        .await
        .unwrap();
    assert!(!flagged.id_problem.is_empty() && !flagged.in_register);
    let f = flagged.visit_id;
    to_screening(&app, &low, f).await;
    let swab = go(
        &app,
        &low,
        f,
        StepForm {
            tube: low.tube(2),
            ..step("pcr_taken")
        },
    )
    .await;
    assert!(swab.no_valid_id && !swab.pcr_in_lab_flow);
    go(&app, &low, f, with_result("pcr_result", "positive")).await;
    let sentinels = events(&app, "sentinel_positive").await;
    assert_eq!(sentinels.len(), 1);
    assert_eq!(sentinels[0].resident_id, None);
    assert_eq!(events(&app, "antigen_positive").await.len(), 0);

    // Another township's clinic staff: the clinic and its visits are not found; a grid worker
    // has no clinic permission; the register refuses a clinic outside the commander's township.
    let outsider = user(&app, "clinic_b", Role::Clinic, TOWNSHIP_B).await;
    let hidden = app.fever_clinic_board(&outsider, low.id).await.unwrap_err();
    assert!(matches!(hidden, AppError::NotFound(_)), "{hidden}");
    let hidden = app
        .advance_fever_visit(&outsider, v, &step("release"))
        .await
        .unwrap_err();
    assert!(matches!(hidden, AppError::NotFound(_)), "{hidden}");
    let audits = audit_count(&app).await;
    let hidden = app
        .register_fever_patient(
            &outsider,
            low.id,
            &patient("x-1", &people[5].id_number, "某"),
        )
        .await
        .unwrap_err();
    assert!(matches!(hidden, AppError::NotFound(_)), "{hidden}");
    assert_eq!(audit_count(&app).await, audits);
    let forbidden = app
        .fever_clinic_board(&world.worker_a, low.id)
        .await
        .unwrap_err();
    assert!(
        matches!(forbidden, AppError::Forbidden { .. }),
        "{forbidden}"
    );
    let outside = app
        .add_fever_clinic(
            &world.commander_a,
            &ClinicForm {
                name: "增村镇卫生院发热诊室".into(),
                kind: "room".into(),
                region_code: TOWNSHIP_B.into(),
                risk: "high".into(),
                site_id: String::new(),
                hospital: "石家庄市第五医院".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(outside, AppError::OutsideJurisdiction),
        "{outside}"
    );
    let figures = app
        .store_for_tools()
        .clinic_day_figures(TOWNSHIP_A, &today(&app))
        .await
        .unwrap();
    assert_eq!(
        (
            figures.visits,
            figures.released,
            figures.positives,
            figures.awaiting_result
        ),
        (3, 1, 1, 2)
    );
}
