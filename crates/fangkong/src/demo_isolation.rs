//! The demo's isolation and treatment facilities (隔离与救治资源) for a county (藁城区): ten
//! isolation sites with a few thousand rooms over the townships, two designated hospitals and a
//! fangcang, negative-pressure ambulances and coaches — set up the morning the outbreak is found.
//! Who fills them, and when, is the living outbreak's (`demo_outbreak`).

use anyhow::Result;
use fangkong_app::isolation::{HospitalForm, RoomBlockForm, SiteForm, VehicleForm};
use fangkong_app::{Actor, App};
use fangkong_domain::region::RegionCode;

/// What the county has ready: ids of sites, hospitals, ambulances and coaches.
#[derive(Debug, Default, Clone)]
pub struct Facilities {
    pub sites: Vec<i64>,
    pub rooms: u64,
    pub hospitals: Vec<i64>,
    pub ambulances: Vec<i64>,
    pub coaches: Vec<i64>,
}

pub async fn seed_facilities(app: &App, county: &RegionCode) -> Result<Facilities> {
    let actor = Actor::seeding(
        fangkong_domain::role::Role::Administrator,
        county.clone(),
        "seed",
        "数据初始化",
    );
    let mut out = Facilities::default();

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
    out.sites = site_ids;

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

    out.hospitals = hospitals;
    out.ambulances = ambulances;
    out.coaches = coaches;
    Ok(out)
}
