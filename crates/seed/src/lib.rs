//! Seeding a store with the real divisions, generated grids and a generated population — through the
//! same `app` import path a grassroots office uses (the demo and the benchmarks share this).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fangkong_app::import::ImportReport;
use fangkong_app::{Actor, App};
use fangkong_domain::region::{RegionCode, RegionLevel, short_name};
use fangkong_domain::role::Role;
use fangkong_sim::{PopulationGenerator, PopulationPlan, RegionNames, VillageRef, plan_population};

/// The actor the seeding runs as: shown in the audit log as "seed".
pub fn seed_actor() -> Actor {
    seed_actor_as(Role::Administrator, "数据初始化")
}

/// The seeding actor in another role (the demo's simulated commander, sampler, lab …), province-wide.
pub fn seed_actor_as(role: Role, display_name: &str) -> Actor {
    Actor::seeding(
        role,
        RegionCode::parse("13").expect("13 is Hebei's code"),
        "seed",
        display_name,
    )
}

pub struct SeededPopulation {
    pub plan: PopulationPlan,
    pub generate_time: Duration,
    pub csv_bytes: u64,
    pub import_time: Duration,
    pub report: ImportReport,
}

/// Plans grids over the villages under `region` (a county or a city), creates them with their workers,
/// writes the generated population to `csv_path` and imports it.
pub async fn seed_population(
    app: &App,
    region: &RegionCode,
    residents: u64,
    seed: u64,
    csv_path: &Path,
) -> Result<SeededPopulation> {
    let (plan, names) = plan_grids(app, region, residents, seed).await?;
    create_grids(app, &plan, &names).await?;

    let started = Instant::now();
    let generator = PopulationGenerator::new(&plan, &names, app.today(), seed);
    let file = std::fs::File::create(csv_path)
        .with_context(|| format!("create {}", csv_path.display()))?;
    let written =
        fangkong_sim::write_csv(std::io::BufWriter::with_capacity(1 << 20, file), generator)?;
    let generate_time = started.elapsed();
    anyhow::ensure!(
        written == residents,
        "generator wrote {written} residents, expected {residents}"
    );
    let csv_bytes = std::fs::metadata(csv_path)?.len();

    let started = Instant::now();
    let report = app
        .import_residents(&seed_actor(), csv_path, "population.csv")
        .await?;
    let import_time = started.elapsed();
    Ok(SeededPopulation {
        plan,
        generate_time,
        csv_bytes,
        import_time,
        report,
    })
}

/// The population plan and the names the generator writes into addresses.
pub async fn plan_grids(
    app: &App,
    region: &RegionCode,
    residents: u64,
    seed: u64,
) -> Result<(PopulationPlan, RegionNames)> {
    let (lower, upper) = region.subtree_range();
    let villages = app.store_for_tools().villages_in(&lower, &upper).await?;
    anyhow::ensure!(
        !villages.is_empty(),
        "no villages under {}",
        region.as_str()
    );
    // The county and every township named in one query.
    let county_code = region.as_str()[..region.as_str().len().min(6)].to_string();
    let mut codes: Vec<String> = villages.iter().map(|v| v.code[..9].to_string()).collect();
    codes.push(county_code.clone());
    codes.sort();
    codes.dedup();
    let mut names_by_code: HashMap<String, String> = app
        .store_for_tools()
        .regions_by_codes(&codes)
        .await?
        .into_iter()
        .map(|r| (r.code, r.name))
        .collect();
    let county_name = names_by_code.remove(&county_code).unwrap_or_default();
    let township_names = names_by_code;
    let village_refs: Vec<VillageRef> = villages
        .iter()
        .map(|v| VillageRef {
            code: v.code.clone(),
            name: v.name.clone(),
            township_code: v.code[..9].to_string(),
            is_community: v.is_community,
        })
        .collect();
    let names = RegionNames {
        county_name,
        township_names,
        village_names: villages
            .iter()
            .map(|v| (v.code.clone(), v.name.clone()))
            .collect(),
    };
    Ok((plan_population(&village_refs, residents, seed), names))
}

/// Creates the planned grids with their workers.
pub async fn create_grids(app: &App, plan: &PopulationPlan, names: &RegionNames) -> Result<()> {
    let mut grids = Vec::with_capacity(plan.grids.len());
    let mut workers = Vec::with_capacity(plan.grids.len());
    for grid in &plan.grids {
        // "小果庄村第1网格": a grid's name says which village it is in.
        let village = names
            .village_names
            .get(&grid.village_code)
            .map(|n| short_name(n))
            .unwrap_or_default();
        let name = format!("{village}{}", grid.name);
        grids.push(fangkong_app::regions::grid_record(
            &grid.code,
            &grid.village_code,
            &name,
        ));
        workers.push(fangkong_app::records::GridWorkerRecord {
            grid_code: grid.code.clone(),
            name: grid.worker_name.as_str().into(),
            phone: fangkong_domain::phone::PhoneNumber::parse(&grid.worker_phone).ok(),
            username: None,
        });
    }
    app.create_grids_unchecked(&grids, &workers).await?;
    Ok(())
}

/// A short human name for a region code ("增村镇 小果庄村 第1网格").
pub async fn region_path_name(app: &App, code: &RegionCode) -> Result<String> {
    let mut parts = Vec::new();
    for ancestor in code
        .ancestors()
        .into_iter()
        .chain(std::iter::once(code.clone()))
    {
        if ancestor.level().as_i16() < RegionLevel::Township.as_i16() {
            continue;
        }
        if let Some(region) = app.store_for_tools().region(ancestor.as_str()).await? {
            parts.push(short_name(&region.name).to_string());
        }
    }
    Ok(parts.join(" "))
}
