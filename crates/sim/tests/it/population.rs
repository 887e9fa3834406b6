//! Behaviour of the synthetic population on the real divisions of 藁城区
//! (data/divisions), the district where the January 2021 outbreak began.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use chrono::NaiveDate;
use fangkong_domain::ids::{IdCardNumber, IdDocument, IdType};
use fangkong_domain::person::{Sex, age_on};
use fangkong_domain::region::is_community_name;
use fangkong_domain::resident_row::{COLUMNS, RawResidentRow, validate_resident_row};
use fangkong_sim::{
    PopulationGenerator, PopulationPlan, RegionNames, SimHousehold, VillageRef, plan_population,
    write_csv,
};

const GAOCHENG: &str = "130109";
const GAOCHENG_RESIDENTS: u64 = 737_580;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2021, 1, 2).unwrap()
}

fn divisions(file: &str) -> Vec<csv::StringRecord> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/divisions")
        .join(file);
    csv::Reader::from_path(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .records()
        .map(Result::unwrap)
        .collect()
}

/// Villages and names of every county whose code starts with `prefix`.
fn region(prefix: &str) -> (Vec<VillageRef>, RegionNames) {
    let villages: Vec<VillageRef> = divisions("villages.csv")
        .into_iter()
        .filter(|r| r[0].starts_with(prefix))
        .map(|r| VillageRef {
            code: r[0].to_string(),
            name: r[1].to_string(),
            township_code: r[2].to_string(),
            is_community: is_community_name(&r[1]),
        })
        .collect();
    let county_name = divisions("counties.csv")
        .into_iter()
        .find(|r| &r[0] == GAOCHENG)
        .map(|r| r[1].to_string())
        .unwrap();
    let names = RegionNames {
        county_name,
        township_names: divisions("townships.csv")
            .into_iter()
            .filter(|r| r[0].starts_with(prefix))
            .map(|r| (r[0].to_string(), r[1].to_string()))
            .collect(),
        village_names: villages
            .iter()
            .map(|v| (v.code.clone(), v.name.clone()))
            .collect(),
    };
    (villages, names)
}

fn generate(total: u64, seed: u64) -> (PopulationPlan, Vec<SimHousehold>) {
    let (villages, names) = region(GAOCHENG);
    let plan = plan_population(&villages, total, seed);
    let households = PopulationGenerator::new(&plan, &names, today(), seed).collect();
    (plan, households)
}

#[test]
fn gaocheng_plan_has_the_district_total_and_plausible_village_sizes() {
    let (villages, _) = region(GAOCHENG);
    assert_eq!(villages.len(), 241);
    let plan = plan_population(&villages, GAOCHENG_RESIDENTS, 2021);
    assert_eq!(plan.total_residents(), GAOCHENG_RESIDENTS);

    let mut per_village: HashMap<&str, u64> = HashMap::new();
    let mut codes = HashSet::new();
    for g in &plan.grids {
        assert_eq!(g.code.len(), 15);
        assert!(g.code.starts_with(&g.village_code));
        assert!(codes.insert(g.code.as_str()), "duplicate grid {}", g.code);
        assert!(g.name.starts_with('第') && g.name.ends_with("网格"));
        assert!((150..=500).contains(&g.households), "{g:?}");
        *per_village.entry(g.village_code.as_str()).or_default() += u64::from(g.residents);
    }
    assert_eq!(
        per_village.len(),
        241,
        "every village has at least one grid"
    );

    let mut sizes: Vec<u64> = per_village.values().copied().collect();
    sizes.sort_unstable();
    let median = sizes[sizes.len() / 2];
    assert!((1_500..=5_000).contains(&median), "median village {median}");
    assert!(
        sizes[sizes.len() - 1] > 2 * median,
        "some villages are much larger"
    );
    assert!(sizes[0] < median / 2, "some villages are much smaller");

    let lianzhou: u64 = per_village
        .iter()
        .filter(|(code, _)| code.starts_with("130109100"))
        .map(|(_, n)| n)
        .sum();
    assert!(lianzhou > 100_000, "廉州镇 holds {lianzhou}");
}

#[test]
fn a_tiny_total_still_gives_every_village_a_grid_and_adds_up() {
    let (villages, _) = region(GAOCHENG);
    let plan = plan_population(&villages, 100, 1);
    assert_eq!(plan.total_residents(), 100);
    assert_eq!(plan.grids.len(), 241);
    assert!(plan_population(&[], 0, 1).grids.is_empty());
}

#[test]
fn every_grid_gets_exactly_its_planned_residents() {
    let (plan, households) = generate(60_000, 7);
    let mut per_grid: HashMap<&str, u32> = HashMap::new();
    for h in &households {
        assert!(!h.members.is_empty());
        *per_grid.entry(h.grid_code.as_str()).or_default() += h.members.len() as u32;
    }
    for g in &plan.grids {
        assert_eq!(
            per_grid.get(g.code.as_str()).copied().unwrap_or(0),
            g.residents,
            "{}",
            g.code
        );
    }
    let numbers: HashSet<&str> = households.iter().map(|h| h.number.as_str()).collect();
    assert_eq!(
        numbers.len(),
        households.len(),
        "household numbers are unique"
    );
}

#[test]
fn mainland_ids_are_valid_unique_and_match_sex_and_birth_date() {
    let (_, households) = generate(200_000, 11);
    let mut seen = HashSet::with_capacity(200_000);
    let mut mainland = 0usize;
    let mut local = 0usize;
    let mut other_documents = 0usize;
    for h in &households {
        for m in &h.members {
            assert!(seen.insert(m.id_number.clone()), "duplicate id {m:?}");
            if m.id_type == IdType::MainlandId {
                let id = IdCardNumber::parse(&m.id_number).unwrap_or_else(|e| panic!("{m:?}: {e}"));
                assert_eq!(id.sex(), m.sex);
                assert_eq!(id.birth_date(), m.birth_date);
                mainland += 1;
                if id.region_prefix() == GAOCHENG {
                    local += 1;
                }
            } else {
                IdDocument::parse(m.id_type, &m.id_number).unwrap_or_else(|e| panic!("{m:?}: {e}"));
                other_documents += 1;
            }
        }
    }
    let total = seen.len() as f64;
    assert!(mainland as f64 / total > 0.95);
    let local_share = local as f64 / mainland as f64;
    assert!(
        (0.88..0.96).contains(&local_share),
        "local share {local_share}"
    );
    assert!(other_documents > 0, "a few residents hold other documents");
}

#[test]
fn same_seed_gives_the_same_population_and_another_seed_does_not() {
    let (_, a) = generate(5_000, 42);
    let (_, b) = generate(5_000, 42);
    let (_, c) = generate(5_000, 43);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn households_and_ages_look_like_rural_hebei() {
    let (_, households) = generate(200_000, 3);
    let today = today();
    let residents: Vec<_> = households.iter().flat_map(|h| &h.members).collect();
    let n = residents.len() as f64;

    let mean_size = n / households.len() as f64;
    assert!(
        (2.6..3.0).contains(&mean_size),
        "mean household size {mean_size}"
    );

    let ages: Vec<u32> = residents
        .iter()
        .map(|r| age_on(r.birth_date, today))
        .collect();
    let share = |f: &dyn Fn(u32) -> bool| ages.iter().filter(|a| f(**a)).count() as f64 / n;
    let children = share(&|a| a < 15);
    let elderly = share(&|a| a >= 60);
    assert!((0.12..0.25).contains(&children), "children {children}");
    assert!((0.15..0.28).contains(&elderly), "60+ {elderly}");
    assert!(ages.iter().all(|a| *a <= 105));

    let males = residents.iter().filter(|r| r.sex == Sex::Male).count() as f64;
    let ratio = 100.0 * males / (n - males);
    assert!((100.0..110.0).contains(&ratio), "sex ratio {ratio}");

    for h in &households {
        let head = &h.members[0];
        assert_eq!(head.relation, "户主");
        assert_eq!(h.members.iter().filter(|m| m.relation == "户主").count(), 1);
        let head_age = age_on(head.birth_date, today) as i32;
        for m in &h.members[1..] {
            let age = age_on(m.birth_date, today) as i32;
            match m.relation.as_str() {
                "配偶" => {
                    assert_ne!(m.sex, head.sex);
                    assert!((age - head_age).abs() <= 8, "spouse {age} vs {head_age}");
                }
                "子女" => assert!(
                    (18..=48).contains(&(head_age - age)),
                    "child {age} vs {head_age}"
                ),
                "父母" => assert!(age > head_age + 15),
                "孙子女" => assert!(head_age - age >= 38),
                "儿媳" | "女婿" => {}
                other => panic!("unexpected relation {other}"),
            }
        }
        // Most family members share the householder's surname.
        assert!(h.address.starts_with("藁城区"), "{}", h.address);
    }
    let same_surname = households
        .iter()
        .flat_map(|h| h.members.iter().map(move |m| (h, m)))
        .filter(|(h, m)| m.name.chars().next() == h.members[0].name.chars().next())
        .count() as f64;
    assert!(same_surname / n > 0.6, "same surname {}", same_surname / n);
}

#[test]
fn phones_and_key_groups_follow_age() {
    let (_, households) = generate(100_000, 5);
    let today = today();
    let mut adults = 0usize;
    let mut adults_with_phone = 0usize;
    let mut working = 0usize;
    let mut in_key_group = 0usize;
    for m in households.iter().flat_map(|h| &h.members) {
        let age = age_on(m.birth_date, today);
        if age < 10 {
            assert!(m.phone.is_none(), "{m:?}");
        }
        if (18..=60).contains(&age) {
            working += 1;
            adults += 1;
            adults_with_phone += usize::from(m.phone.is_some());
            in_key_group += usize::from(!m.key_groups.is_empty());
        } else {
            assert!(m.key_groups.is_empty(), "{m:?}");
        }
        if let Some(p) = &m.phone {
            assert!(
                fangkong_domain::phone::PhoneNumber::parse(p)
                    .unwrap()
                    .is_mobile()
            );
        }
    }
    assert!(adults_with_phone as f64 / adults as f64 > 0.9);
    let share = in_key_group as f64 / working as f64;
    assert!((0.03..0.09).contains(&share), "key groups {share}");
}

#[test]
fn community_addresses_name_buildings_and_village_addresses_name_rows() {
    let (_, households) = generate(60_000, 9);
    let (villages, _) = region(GAOCHENG);
    let community: HashSet<&str> = villages
        .iter()
        .filter(|v| v.is_community)
        .map(|v| v.code.as_str())
        .collect();
    assert!(!community.is_empty());
    for h in &households {
        if community.contains(&h.grid_code[..12]) {
            assert!(
                h.address.contains("号楼") && h.address.ends_with('室'),
                "{}",
                h.address
            );
            assert!(h.address.contains("社区"), "{}", h.address);
        } else {
            assert!(
                h.address.contains("村") && h.address.ends_with('号'),
                "{}",
                h.address
            );
        }
        assert!(h.address.chars().count() <= 100);
    }
    let xiaoguozhuang = households
        .iter()
        .find(|h| h.address.starts_with("藁城区增村镇小果庄村"))
        .expect("小果庄村 is in 增村镇");
    assert!(xiaoguozhuang.address.contains('排'));
}

#[test]
fn every_written_csv_row_passes_import_validation() {
    let (_, households) = generate(30_000, 13);
    let expected: usize = households.iter().map(|h| h.members.len()).sum();
    let mut buffer = Vec::new();
    let rows = write_csv(&mut buffer, households.into_iter()).unwrap();
    assert_eq!(rows as usize, expected);

    let mut reader = csv::Reader::from_reader(buffer.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header, COLUMNS);
    let mut read = 0usize;
    for record in reader.records() {
        let fields: Vec<String> = record.unwrap().iter().map(str::to_string).collect();
        let raw = RawResidentRow::from_fields(&fields);
        validate_resident_row(&raw, today()).unwrap_or_else(|p| panic!("{raw:?}: {p:?}"));
        read += 1;
    }
    assert_eq!(read, expected);
}

#[test]
fn debug_output_of_a_simulated_resident_is_masked() {
    let (_, households) = generate(100, 1);
    let m = &households[0].members[0];
    let text = format!("{m:?}");
    assert!(!text.contains(&m.id_number), "{text}");
    if let Some(p) = &m.phone {
        assert!(!text.contains(p.as_str()), "{text}");
    }
}
