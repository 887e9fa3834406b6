//! The demo's fever clinics (发热门诊): 藁城区人民医院发热门诊 (high risk: everyone waits for the PCR
//! result; its tubes bind at the sampling site of a single-tube routine round, so the lab's results
//! come back to the visits) and a township's 发热诊室 (low risk: a green-code patient without travel
//! history waits at home; results typed by the room), with patients in every stage at the story's
//! present: at triage, received, in screening awaiting the PCR, in observation, an antigen positive
//! referred to the designated hospital, and several released. Everything goes through `app`.

use anyhow::{Context, Result, anyhow};
use fangkong_app::lab_results::ResultInput;
use fangkong_app::mass_testing::{RoundForm, SiteForm};
use fangkong_app::warning::fever_clinics::{ClinicForm, PatientForm, StepForm};
use fangkong_app::{Actor, App};
use fangkong_domain::mass_testing::TubeBarcode;
use fangkong_domain::region::RegionCode;

/// What [`clinics_story`] set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClinicsSeeded {
    pub county_clinic: i64,
    pub township_room: i64,
    pub patients: usize,
}

/// A patient taken from the register (the binding checks the name against it).
struct Person {
    id_number: String,
    name: String,
}

async fn register(app: &App, township: &str, count: usize) -> Result<Vec<Person>> {
    let code = RegionCode::parse(township).map_err(anyhow::Error::msg)?;
    let (lower, upper) = code.subtree_range();
    let people: Vec<Person> = app
        .store_for_tools()
        .residents_page((&lower, &upper), 0, 200)
        .await?
        .into_iter()
        .filter(|r| r.id_type == "mainland_id")
        .skip(20)
        .take(count)
        .map(|r| Person {
            id_number: r.id_number.to_string(),
            name: r.name.as_str().to_string(),
        })
        .collect();
    anyhow::ensure!(people.len() == count, "too few residents in {township}");
    Ok(people)
}

fn step(action: &str) -> StepForm {
    StepForm {
        action: action.into(),
        ..StepForm::default()
    }
}

fn result(action: &str, value: &str) -> StepForm {
    StepForm {
        result: value.into(),
        ..step(action)
    }
}

fn swab(tube: &str) -> StepForm {
    StepForm {
        tube: tube.into(),
        ..step("pcr_taken")
    }
}

/// Sets up the two clinics and their patients. `commander` registers the clinics (county
/// jurisdiction), `staff` works them, `lab` uploads the results of the county clinic's tubes.
pub async fn clinics_story(
    app: &App,
    commander: &Actor,
    staff: &Actor,
    lab: &Actor,
    county: &RegionCode,
    township: &RegionCode,
) -> Result<ClinicsSeeded> {
    // The first other township with people enough in the register.
    let mut found = None;
    for region in app
        .store_for_tools()
        .region_children(county.as_str())
        .await?
    {
        if region.code == township.as_str() {
            continue;
        }
        if let Ok(people) = register(app, &region.code, 10).await {
            found = Some((region, people));
            break;
        }
    }
    let (other_region, people) = found.context("a second township with residents")?;
    let other = other_region.code.clone();
    let village = app
        .store_for_tools()
        .region_children(&other)
        .await?
        .into_iter()
        .next()
        .context("a village")?
        .code;
    let round = app
        .open_round(
            commander,
            &RoundForm {
                name: "藁城区发热门诊核酸检测（单管）".into(),
                kind: "routine".into(),
                region_code: county.as_str().into(),
                pool_size: "1".into(),
                tubes: "200".into(),
                ..RoundForm::default()
            },
        )
        .await?;
    let view = app.round(commander, round).await?;
    let first = TubeBarcode::parse(&view.tube_ranges[0].0)
        .map_err(anyhow::Error::msg)?
        .serial();
    let tube = |n: u64| -> Result<String> {
        Ok(TubeBarcode::from_serial(first + n)
            .map_err(anyhow::Error::msg)?
            .to_string())
    };
    let site = app
        .create_site(
            commander,
            round,
            &SiteForm {
                region_code: village,
                name: "藁城区人民医院发热门诊采样间".into(),
                tables: "1".into(),
                ..SiteForm::default()
            },
        )
        .await?;
    let clinic = app
        .add_fever_clinic(
            commander,
            &ClinicForm {
                name: "藁城区人民医院发热门诊".into(),
                kind: "clinic".into(),
                region_code: county.as_str().into(),
                risk: "high".into(),
                site_id: site.to_string(),
                hospital: "石家庄市第五医院".into(),
            },
        )
        .await?;
    let room = app
        .add_fever_clinic(
            commander,
            &ClinicForm {
                name: format!("{}卫生院发热诊室", other_region.name),
                kind: "room".into(),
                region_code: other.clone(),
                risk: "low".into(),
                site_id: String::new(),
                hospital: "石家庄市第五医院".into(),
            },
        )
        .await?;

    let mut visits = Vec::new();
    for (n, person) in people.iter().enumerate() {
        let (at, key) = if n < 7 {
            (clinic, "gc")
        } else {
            (room, "room")
        };
        let registered = app
            .register_fever_patient(
                staff,
                at,
                &PatientForm {
                    request_key: format!("demo-{key}-{n}"),
                    id_type: "mainland_id".into(),
                    id_number: person.id_number.clone(),
                    name: person.name.clone(),
                    phone: format!("1391000{:04}", 1000 + n),
                    green_code: if n == 3 { String::new() } else { "1".into() },
                    travel_history: String::new(),
                    temperature: format!("{:.1}", 37.8 + (n % 4) as f64 * 0.3),
                    complaint: "发热、咽痛".into(),
                },
            )
            .await?;
        visits.push(registered.visit_id);
    }
    let go = |visit: i64, form: StepForm| async move {
        app.advance_fever_visit(staff, visit, &form)
            .await
            .map_err(|e| anyhow!("fever visit {visit} {}: {e}", form.action))
    };
    // The county clinic: 0 at triage, 1 received, 2 screening awaiting the PCR, 3 in observation,
    // 4 an antigen positive referred, 5 and 6 released on the lab's negatives.
    go(visits[1], step("receive")).await?;
    for (n, &visit) in visits.iter().enumerate().take(7).skip(2) {
        go(visit, step("receive")).await?;
        go(visit, step("screen")).await?;
        let antigen = if n == 4 { "positive" } else { "negative" };
        go(visit, result("antigen", antigen)).await?;
        go(
            visit,
            result("blood", if n == 4 { "abnormal" } else { "normal" }),
        )
        .await?;
        go(visit, swab(&tube(n as u64)?)).await?;
    }
    go(visits[3], step("observe")).await?;
    go(visits[4], step("observe")).await?;
    go(visits[4], step("refer")).await?;
    app.submit_lab_results(
        lab,
        &[5u64, 6]
            .iter()
            .map(|n| {
                Ok(ResultInput {
                    tube: tube(*n)?,
                    result: "negative".into(),
                    tested_at: None,
                })
            })
            .collect::<Result<Vec<_>>>()?,
    )
    .await?;
    app.sync_fever_clinic_results().await?;
    go(visits[5], step("release")).await?;
    go(visits[6], step("observe")).await?;
    go(visits[6], step("release")).await?;
    // The township's room: 7 went home to wait (green code, no travel history), 8 released on a
    // typed negative, 9 in screening.
    for &visit in &visits[7..] {
        go(visit, step("receive")).await?;
        go(visit, step("screen")).await?;
    }
    go(visits[7], swab(&tube(100)?)).await?;
    go(visits[7], step("release")).await?;
    go(visits[8], swab(&tube(101)?)).await?;
    go(visits[8], result("pcr_result", "negative")).await?;
    go(visits[8], step("release")).await?;
    Ok(ClinicsSeeded {
        county_clinic: clinic,
        township_room: room,
        patients: visits.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use fangkong_app::{FixedClock, Store};
    use fangkong_domain::role::Role;
    use std::sync::Arc;

    #[tokio::test]
    async fn the_demo_clinics_have_patients_in_every_stage() {
        let temp = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_dir(temp.path()).await.unwrap();
        let clock = FixedClock::new(chrono::Utc.with_ymd_and_hms(2021, 1, 6, 2, 0, 0).unwrap());
        let app = App::new(store, Arc::new(clock));
        app.load_divisions().await.unwrap();
        let county = RegionCode::parse("130109").unwrap();
        fangkong_seed::seed_population(&app, &county, 3_000, 11, &temp.path().join("p.csv"))
            .await
            .unwrap();
        let actor = |role| Actor::seeding(role, county.clone(), "demo", "演示");
        let township = RegionCode::parse("130109110").unwrap();
        let seeded = clinics_story(
            &app,
            &actor(Role::Commander),
            &actor(Role::Clinic),
            &actor(Role::Lab),
            &county,
            &township,
        )
        .await
        .unwrap();
        let board = app
            .fever_clinic_board(&actor(Role::Clinic), seeded.county_clinic)
            .await
            .unwrap();
        for column in &board.stages {
            assert!(!column.visits.is_empty(), "{} is empty", column.label);
        }
        let figures = app
            .fever_clinics(&actor(Role::Commander))
            .await
            .unwrap()
            .total;
        assert_eq!(figures.visits, 10);
        assert_eq!(figures.positives, 1);
        assert_eq!(figures.referred, 1);
        assert_eq!(figures.released, 4);
        assert_eq!(figures.in_observation, 1);
        assert_eq!(
            figures.awaiting_result, 4,
            "2, 3, 4 at the clinic and 7 at home"
        );
    }
}
