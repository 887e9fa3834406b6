//! The demo's isolation, transfer and treatment (隔离、转运与救治) for a county (藁城区): measures from
//! the investigation demo's person events (plus residents put under measures directly when few
//! events exist), ten isolation sites with a few thousand rooms filling up near the outbreak, people
//! checked in with temperatures, some released, a few positives awaiting an ambulance, transfers
//! pending and in progress, ambulances and coaches, two designated hospitals and a fangcang with
//! admissions, home check-ins (some missed) and door alarms.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::Days;
use fangkong_app::isolation::{
    HospitalForm, MeasurePerson, RoomBlockForm, SiteForm, TransferForm, VehicleForm,
};
use fangkong_app::{Actor, App};
use fangkong_domain::isolation::PersonCategory;
use fangkong_domain::region::RegionCode;

#[derive(Debug, Default)]
pub struct SeededIsolation {
    pub measures_opened: usize,
    pub sites: usize,
    pub rooms: u64,
    pub allocated: u64,
    pub checked_in: usize,
    pub released: usize,
    pub transfers: usize,
    pub admissions: usize,
}

/// Below this many open measures the demo puts residents under measures itself.
const MIN_MEASURES: usize = 400;

pub async fn seed_isolation(app: &App, county: &RegionCode) -> Result<SeededIsolation> {
    let actor = Actor::seeding(
        fangkong_domain::role::Role::Administrator,
        county.clone(),
        "seed",
        "数据初始化",
    );
    let mut out = SeededIsolation::default();
    app.sync_isolation_events().await?;
    let today = app.today();

    // -- people: the events' measures, topped up with whole households of the register ------------
    let existing = app.isolation_measures(&actor, "").await?.len();
    if existing < MIN_MEASURES {
        let (lower, upper) = county.subtree_range();
        let residents = app
            .store_for_tools()
            .residents_page((&lower, &upper), 0, 6_000)
            .await?;
        let mut households: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for r in residents {
            households
                .entry(r.household_number.clone())
                .or_default()
                .push(r);
        }
        let mut placed = 0usize;
        for (i, (_, members)) in households.iter().step_by(5).enumerate() {
            if placed >= 700 {
                break;
            }
            // Mostly close contacts; every 5th household secondary contacts (home), a few from a
            // medium-risk area (home), a handful of cases.
            let category = match i % 37 {
                0 => PersonCategory::Case,
                5 | 15 | 25 | 35 => PersonCategory::SecondaryContact,
                10 | 30 => PersonCategory::LeftMediumRisk,
                _ => PersonCategory::CloseContact,
            };
            // Day 1 spread over the last ten days so some are due for release.
            let back = [0u64, 1, 2, 3, 4, 5, 6, 9, 9, 2][i % 10];
            let day1 = today - Days::new(back);
            for r in members {
                let opened = app
                    .place_under_measure_unchecked(
                        &MeasurePerson::of_resident(r),
                        category,
                        day1,
                        &format!("demo:{}", r.id),
                    )
                    .await
                    .ok()
                    .flatten();
                if opened.is_some() {
                    placed += 1;
                }
            }
        }
        out.measures_opened = placed;
    }

    // -- ten sites over the county's townships, 2 buildings each -------------------------------
    let townships = app
        .store_for_tools()
        .region_children(county.as_str())
        .await?;
    let names = ["第一", "第二"];
    let mut site_ids = Vec::new();
    for i in 0..10usize {
        let Some(township) = townships.get(i / 2 % townships.len().max(1)) else {
            break;
        };
        let name = format!("{}{}集中隔离点", township.name, names[i % 2]);
        let id = app
            .create_isolation_site(
                &actor,
                &SiteForm {
                    name,
                    region_code: township.code.clone(),
                    address: format!("{}{}号", township.name, 100 + i),
                    readiness: if i < 7 { "2h" } else { "24h" }.into(),
                    staff_count: (18 + i * 3).to_string(),
                    note: String::new(),
                },
            )
            .await?;
        for building in ["A", "B"] {
            out.rooms += app
                .add_rooms(
                    &actor,
                    id,
                    &RoomBlockForm {
                        building: building.into(),
                        floor_from: "1".into(),
                        floor_to: (3 + i % 4).to_string(),
                        room_from: "1".into(),
                        room_to: "24".into(),
                    },
                )
                .await?;
        }
        site_ids.push(id);
    }
    out.sites = site_ids.len();

    // -- hospitals and vehicles -------------------------------------------------------------------
    let mut hospitals = Vec::new();
    for (name, kind, beds) in [
        ("藁城区人民医院（定点医院）", "designated", "120"),
        ("石家庄市第五医院（定点医院）", "designated", "300"),
        ("藁城区方舱医院", "fangcang", "1200"),
    ] {
        hospitals.push(
            app.add_treatment_hospital(
                &actor,
                &HospitalForm {
                    name: name.into(),
                    kind: kind.into(),
                    region_code: county.as_str().into(),
                    beds: beds.into(),
                },
            )
            .await?,
        );
    }
    let mut ambulances = Vec::new();
    let mut coaches = Vec::new();
    for i in 0..6 {
        let kind = if i < 4 {
            "negative_pressure_ambulance"
        } else {
            "ambulance"
        };
        ambulances.push(
            app.add_vehicle(
                &actor,
                &VehicleForm {
                    plate: format!("冀A120{i:02}"),
                    kind: kind.into(),
                    capacity: "1".into(),
                    region_code: county.as_str().into(),
                },
            )
            .await?,
        );
    }
    for i in 0..8 {
        coaches.push(
            app.add_vehicle(
                &actor,
                &VehicleForm {
                    plate: format!("冀A300{i:02}"),
                    kind: "coach".into(),
                    capacity: "35".into(),
                    region_code: county.as_str().into(),
                },
            )
            .await?,
        );
    }

    // -- allocation, coach trips, check-in, temperatures -----------------------------------------
    out.allocated = app.confirm_allocation(&actor, 10_000).await?.allocated;
    let allocated = app.isolation_measures(&actor, "allocated").await?;
    // Most arrived (a handed-over trip per site), some are on the way, the rest still wait.
    let mut by_site: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for m in &allocated {
        if let Some(site) = m.site_id {
            by_site.entry(site).or_default().push(m.id);
        }
    }
    // Six coaches shuttle (disinfected after each trip); the last two stay out on the road.
    let mut coach = coaches[..6].iter().copied().cycle();
    let mut trips_left = [("picked_up", 1, coaches[6]), ("dispatched", 1, coaches[7])];
    for (_, people) in by_site {
        let arriving = people.len() * 4 / 5;
        for chunk in people[..arriving].chunks(35) {
            let vehicle = coach.next().unwrap_or_default();
            let trip = app
                .create_transfer(
                    &actor,
                    &TransferForm {
                        vehicle_id: vehicle,
                        measure_ids: chunk.to_vec(),
                        hospital_id: None,
                    },
                )
                .await?;
            app.advance_transfer(&actor, trip, &"picked_up".into())
                .await?;
            app.advance_transfer(&actor, trip, &"handed_over".into())
                .await?;
            app.disinfect_vehicle(&actor, vehicle).await?;
            out.transfers += 1;
            for id in chunk {
                app.site_check_in(&actor, *id, &Default::default()).await?;
                app.record_site_temperature(
                    &actor,
                    *id,
                    if id % 41 == 0 { "37.6" } else { "36.5" },
                )
                .await?;
                out.checked_in += 1;
            }
        }
        // One trip still on the road, one just dispatched (while coaches last).
        if let Some(slot) = trips_left.iter_mut().find(|(_, n, _)| *n > 0)
            && arriving < people.len()
        {
            let vehicle = slot.2;
            let rest: Vec<i64> = people[arriving..].iter().take(10).copied().collect();
            let trip = app
                .create_transfer(
                    &actor,
                    &TransferForm {
                        vehicle_id: vehicle,
                        measure_ids: rest,
                        hospital_id: None,
                    },
                )
                .await;
            if let Ok(trip) = trip {
                if slot.0 == "picked_up" {
                    app.advance_transfer(&actor, trip, &"picked_up".into())
                        .await?;
                }
                slot.1 -= 1;
                out.transfers += 1;
            }
        }
    }

    // -- tests due so far: negatives, a few positives; releases out of the sites -----------------
    // (The task list shows 500 at a time: take it until it is empty.)
    for _ in 0..50 {
        let due = app.measure_tests_due(&actor).await?;
        let mut recorded = 0;
        for t in &due {
            let result = if t.measure_id % 97 == 0 {
                "positive"
            } else {
                "negative"
            };
            if app
                .record_test_result(&actor, t.test_id, result)
                .await
                .is_ok()
            {
                recorded += 1;
            }
        }
        if recorded == 0 {
            break;
        }
    }
    for m in app.isolation_measures(&actor, "in_site").await? {
        if app.release_measure(&actor, m.id).await.is_ok() {
            out.released += 1;
        }
    }
    // Home tests due now end some home phases.
    for _ in 0..50 {
        let mut recorded = 0;
        for t in app.measure_tests_due(&actor).await? {
            if app
                .record_test_result(&actor, t.test_id, "negative")
                .await
                .is_ok()
            {
                recorded += 1;
            }
        }
        if recorded == 0 {
            break;
        }
    }

    // -- ambulances: one case admitted, one on the way, the rest waiting -------------------------
    let awaiting = app.isolation_measures(&actor, "awaiting_hospital").await?;
    for (i, m) in awaiting.iter().enumerate().take(3) {
        let vehicle = ambulances[i];
        let hospital = hospitals[i % hospitals.len()];
        let trip = app
            .create_transfer(
                &actor,
                &TransferForm {
                    vehicle_id: vehicle,
                    measure_ids: vec![m.id],
                    hospital_id: Some(hospital),
                },
            )
            .await?;
        out.transfers += 1;
        if i < 2 {
            app.advance_transfer(&actor, trip, &"picked_up".into())
                .await?;
        }
        if i == 0 {
            app.advance_transfer(&actor, trip, &"handed_over".into())
                .await?;
            out.admissions += 1;
        }
    }
    // Rooms left by people who went home: half cleaned already.
    for site in &site_ids {
        let detail = app.isolation_site_detail(&actor, *site).await?;
        for room in detail
            .rooms
            .iter()
            .filter(|r| r.status == "cleaning")
            .step_by(2)
        {
            app.set_room_status(&actor, room.id, "free").await?;
        }
    }

    // -- home: check-ins (some missed) and door alarms --------------------------------------------
    let home = app.home_board(&actor).await?;
    for (i, p) in home.people.rows.iter().enumerate() {
        if i % 4 != 3 {
            let reading = if i % 23 == 0 { "37.4" } else { "36.4" };
            app.home_check_in(
                &actor,
                p.measure_id,
                reading,
                if i % 23 == 0 { "咽痛" } else { "" },
            )
            .await?;
        }
        if i % 60 == 7 {
            app.record_door_alarm(
                &actor,
                p.measure_id,
                &format!("MC-{:05}", p.measure_id),
                "door_opened",
                "夜间门磁开启",
            )
            .await?;
        }
    }
    Ok(out)
}
