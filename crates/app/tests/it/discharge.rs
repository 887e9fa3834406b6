//! Discharge (出院) as one fact: recorded on the case, it reaches the hospital and the measure.

use crate::past_dated::{bj, measure_id, person, user};
use crate::support::*;
use chrono::Duration;
use fangkong_app::investigation::{CaseAction, CaseForm};
use fangkong_app::isolation::{HospitalForm, TransferForm, VehicleForm};
use fangkong_domain::role::Role;

story!(
    a_case_discharged_on_its_page_leaves_hospital_and_frees_its_bed,
    case_leaves_hospital_sqlite,
    case_leaves_hospital_postgres
);

/// One fact, one door: the epidemiologist records the discharge on the case (entered a day late);
/// the hospital hears it through the person event — the admission closes at the discharge time,
/// the bed is free, the measure ends — and the audit finds beds, measures and cases agreeing.
/// (Before, the case said 出院 while the hospital still counted the patient.)
async fn a_case_discharged_on_its_page_leaves_hospital_and_frees_its_bed(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let admin = &world.admin;
    let epi = user(&app, "epi", Role::Epidemiologist, COUNTY).await;
    let transfer = user(&app, "zhuanyun", Role::Transfer, COUNTY).await;
    let row = person("王建国");
    let case_id = app
        .open_case(
            &epi,
            &CaseForm {
                kind: "confirmed".into(),
                id_number: row.id_number.clone(),
                onset_date: "2022-11-19".into(),
                found_by: "fever_clinic".into(),
                found_at: "2022-11-20 09:00".into(),
                isolated_at: "2022-11-20 09:30".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.try_run_event_passes().await.unwrap();
    let wang = measure_id(&app, admin, "王建国").await;
    let hospital = app
        .add_treatment_hospital(
            admin,
            &HospitalForm {
                name: "藁城区人民医院".into(),
                kind: "designated".into(),
                region_code: COUNTY.into(),
                beds: "20".into(),
            },
        )
        .await
        .unwrap();
    let ambulance = app
        .add_vehicle(
            admin,
            &VehicleForm {
                plate: "冀A12001".into(),
                kind: "negative_pressure_ambulance".into(),
                capacity: "1".into(),
                region_code: COUNTY.into(),
            },
        )
        .await
        .unwrap();
    let trip = app
        .create_transfer(
            &transfer,
            &TransferForm {
                vehicle_id: ambulance,
                measure_ids: vec![wang],
                hospital_id: Some(hospital),
            },
        )
        .await
        .unwrap();
    for step in ["picked_up", "handed_over"] {
        app.advance_transfer(&transfer, trip, &step.into())
            .await
            .unwrap();
    }
    let beds = app.hospitals_board(admin).await.unwrap();
    assert_eq!(beds.hospitals[0].hospital.occupied, 1);

    guard.clock.advance(Duration::days(13));
    app.update_case(
        &epi,
        case_id,
        &CaseAction::Discharge {
            occurred_at: "2022-12-02 15:00".into(),
        },
    )
    .await
    .unwrap();
    app.try_run_event_passes().await.unwrap();
    let stored = app
        .store_for_tools()
        .isolation_measure(wang)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status.code(), "released");
    let admissions = app
        .store_for_tools()
        .admissions_of_measure(wang)
        .await
        .unwrap();
    assert_eq!(admissions.len(), 1);
    assert_eq!(
        admissions[0].0.discharged_at,
        Some(bj("2022-12-02 15:00")),
        "the admission closes when the case was discharged"
    );
    let beds = app.hospitals_board(admin).await.unwrap();
    assert_eq!(beds.hospitals[0].hospital.occupied, 0);
    let report = app
        .check_consistency(chrono::Duration::zero())
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
}
