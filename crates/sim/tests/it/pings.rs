//! The population's movements as location pings, on the real divisions of 藁城区 and an outbreak
//! played over the residents of three of its townships (the demo's story: infection on 22 December
//! 2020, found on 2 January 2021, lockdown on 6 January).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use fangkong_domain::person::age_on;
use fangkong_domain::region::is_community_name;
use fangkong_sim::outbreak::{Agent, Outbreak, OutbreakPlan, Setting, simulate};
use fangkong_sim::pings::{CellPlan, Movements, Residents, SimPing, person_id_of};
use fangkong_sim::{PopulationGenerator, RegionNames, SimHousehold, VillageRef, plan_population};

const DAY: i64 = 86_400;
/// analytics.md §3: a ping vouches for its cell until the next ping, for at most an hour.
const CAP: i64 = 3_600;

fn bj(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap() - Duration::hours(8)
}

fn villages() -> Vec<VillageRef> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/divisions/villages.csv");
    csv::Reader::from_path(&path)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .filter(|r| r[0].starts_with("130109"))
        .map(|r| VillageRef {
            code: r[0].to_string(),
            name: r[1].to_string(),
            township_code: r[2].to_string(),
            is_community: is_community_name(&r[1]),
        })
        .collect()
}

/// The district's cell plan, village sizes from the full district's population plan.
fn cell_plan(seed: u64) -> CellPlan {
    let villages = villages();
    let population = plan_population(&villages, 737_580, 2021);
    let mut sizes: HashMap<&str, u64> = HashMap::new();
    for g in &population.grids {
        *sizes.entry(g.village_code.as_str()).or_default() += u64::from(g.residents);
    }
    let residents: Vec<u64> = villages.iter().map(|v| sizes[v.code.as_str()]).collect();
    CellPlan::new(&villages, &residents, seed)
}

struct World {
    plan: CellPlan,
    outbreak_plan: OutbreakPlan,
    outbreak: Outbreak,
    movements: Movements,
    agents: Vec<Agent>,
}

/// `residents` people of 廉州镇 (the seat), 兴安镇 and 贾市庄镇, an outbreak from a resident of the
/// seat's villages, and their movements.
fn world(residents: u64, seed: u64) -> World {
    let plan = cell_plan(seed);
    let chosen: Vec<VillageRef> = villages()
        .into_iter()
        .filter(|v| ["130109100", "130109101", "130109102"].contains(&v.township_code.as_str()))
        .collect();
    let population = plan_population(&chosen, residents, seed);
    let households: Vec<SimHousehold> =
        PopulationGenerator::new(&population, &RegionNames::default(), today(), seed).collect();
    let mut village_codes: Vec<String> = Vec::new();
    let mut village_index: HashMap<String, u32> = HashMap::new();
    let mut agents = Vec::new();
    let mut person_ids = Vec::new();
    for (h, household) in households.iter().enumerate() {
        let code = household.grid_code[..12].to_string();
        let next = village_index.len() as u32;
        let village = *village_index.entry(code.clone()).or_insert_with(|| {
            village_codes.push(code);
            next
        });
        for m in &household.members {
            agents.push(Agent {
                household: h as u32,
                village,
                age: age_on(m.birth_date, today()).min(120) as u8,
            });
            person_ids.push(m.phone.as_deref().and_then(person_id_of));
        }
    }
    let index = agents
        .iter()
        .position(|a| (55..=70).contains(&a.age))
        .unwrap();
    let outbreak_plan = OutbreakPlan {
        seed,
        start: bj(2020, 12, 22, 18, 0),
        days: 28,
        index,
        index_found_at: bj(2021, 1, 2, 10, 20),
        lockdown_at: bj(2021, 1, 6, 0, 0),
        screening_rounds: vec![bj(2021, 1, 3, 8, 0), bj(2021, 1, 7, 8, 0)],
        imported: Vec::new(),
        gathering_at: Some(bj(2020, 12, 27, 11, 30)),
    };
    let outbreak = simulate(&agents, &outbreak_plan);
    let movements = Movements::new(
        &plan,
        Residents {
            agents: &agents,
            person_ids: &person_ids,
            village_codes: &village_codes,
        },
        &outbreak,
        &outbreak_plan,
        seed,
    );
    World {
        plan,
        outbreak_plan,
        outbreak,
        movements,
        agents,
    }
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 12, 22).unwrap()
}

/// Beijing midnights of the 14 days from 27 December 2020 to 9 January 2021.
fn window() -> Vec<i64> {
    let first = bj(2020, 12, 27, 0, 0).timestamp();
    (0..14).map(|d| first + d * DAY).collect()
}

/// A person's runs (analytics.md §3): (cell, start, end).
fn runs(pings: &[(i64, i64)]) -> Vec<(i64, i64, i64)> {
    let mut out: Vec<(i64, i64, i64)> = Vec::new();
    for (k, &(ts, cell)) in pings.iter().enumerate() {
        let end = pings.get(k + 1).map_or(ts, |&(next, _)| next.min(ts + CAP));
        match out.last_mut() {
            Some(run) if run.0 == cell && k > 0 && ts - pings[k - 1].0 <= CAP => run.2 = end,
            _ => out.push((cell, ts, end)),
        }
    }
    out
}

#[test]
fn the_cell_plan_places_every_village_on_the_district_grid_deterministically() {
    let villages = villages();
    let plan = cell_plan(7);
    assert_eq!(
        plan.seat_township(),
        Some("130109100"),
        "廉州镇 is the seat"
    );
    let mut owner: HashMap<i64, Vec<&VillageRef>> = HashMap::new();
    let mut multi = 0;
    for v in &villages {
        let cells = plan.cells_of_village(&v.code).unwrap();
        assert!((1..=4).contains(&cells.len()), "{}: {cells:?}", v.code);
        multi += usize::from(cells.len() > 1);
        for &c in cells {
            let (row, col) = (c / 10_000, c % 10_000);
            assert!(
                (3200..3264).contains(&row) && (4300..4364).contains(&col),
                "{c}"
            );
            assert!(plan.contains(c));
            // The extra cells of a larger village touch its centre.
            let (r0, c0) = (cells[0] / 10_000, cells[0] % 10_000);
            assert!((row - r0).abs() <= 1 && (col - c0).abs() <= 1);
            owner.entry(c).or_default().push(v);
        }
        assert_eq!(
            plan.township_of_village(&v.code),
            Some(v.township_code.as_str())
        );
    }
    assert!(multi > 20, "larger villages cover more cells ({multi})");
    // Only the seat's communities share cells, and some do.
    let mut shared = 0;
    for (cell, vs) in &owner {
        if vs.len() > 1 {
            shared += 1;
            assert!(
                vs.iter()
                    .all(|v| v.is_community && v.township_code == "130109100"),
                "{cell} is shared by {:?}",
                vs.iter().map(|v| &v.code).collect::<Vec<_>>()
            );
        }
    }
    assert!(shared >= 5, "the seat is dense ({shared} shared cells)");
    // Each township: a market at its centre, a school and workplaces next to it.
    let townships: HashSet<&str> = villages.iter().map(|v| v.township_code.as_str()).collect();
    let mut markets = HashSet::new();
    for t in &townships {
        let market = plan.market_cell_of_township(t).unwrap();
        assert!(markets.insert(market), "two townships share a market");
        for c in [
            plan.school_cell_of_township(t),
            plan.work_cell_of_township(t),
        ] {
            let c = c.unwrap();
            assert!(plan.contains(c) && c != market);
        }
    }
    // A township's villages cluster around its centre: nearer it than the district's size.
    for v in &villages {
        let c = plan.cell_of_village(&v.code).unwrap();
        let m = plan.market_cell_of_township(&v.township_code).unwrap();
        let dist = ((c / 10_000 - m / 10_000).abs()).max((c % 10_000 - m % 10_000).abs());
        assert!(dist <= 10, "{} lies {dist} cells from its township", v.code);
    }
    assert_eq!(plan.park_cells().len(), 6);
    assert!(plan.contains(plan.isolation_cell()) && plan.contains(plan.hospital_cell()));
    // The cell map: sorted, every row a real village, every covered cell present.
    let rows = plan.cell_map_rows();
    assert!(rows.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(rows.len(), owner.values().map(Vec::len).sum::<usize>());
    let codes: HashSet<&str> = villages.iter().map(|v| v.code.as_str()).collect();
    assert!(rows.iter().all(|(_, code)| codes.contains(code.as_str())));
    assert!(!rows.iter().any(|(c, _)| *c == plan.isolation_cell()));
    // Deterministic by seed.
    assert_eq!(rows, cell_plan(7).cell_map_rows());
    assert_ne!(rows, cell_plan(8).cell_map_rows());
}

#[test]
fn pings_are_deterministic_about_ten_a_person_day_inside_the_day_and_the_plan() {
    let w = world(6_000, 11);
    let days = window();
    let mut total = 0usize;
    let mut per_person: HashMap<i64, usize> = HashMap::new();
    let started = Instant::now();
    let all: Vec<Vec<SimPing>> = days.iter().map(|&d| w.movements.day_pings(d)).collect();
    let took = started.elapsed();
    for (&day, pings) in days.iter().zip(&all) {
        for p in pings {
            assert!((day..day + DAY).contains(&p.ts), "{p:?} outside its day");
            assert!(w.plan.contains(p.cell_id), "{p:?} outside the plan");
            *per_person.entry(p.person_id).or_default() += 1;
        }
        total += pings.len();
    }
    let people = (0..w.agents.len())
        .filter(|&i| w.movements.person_id(i).is_some())
        .count();
    assert!(people > 4_000, "{people} residents with a phone");
    assert_eq!(per_person.len(), people, "everyone with a phone is seen");
    let mean = total as f64 / (people * days.len()) as f64;
    assert!((9.8..10.3).contains(&mean), "{mean} pings a person-day");
    eprintln!(
        "{people} people × {} days: {total} pings in {took:?}",
        days.len()
    );
    // The same seed gives the same pings; another seed other pings.
    assert_eq!(all[3], w.movements.day_pings(days[3]));
    let other = world(6_000, 12);
    assert_ne!(all[3], other.movements.day_pings(days[3]));
    // Distinct cells a person-day: mostly 1–3 (analytics.md §2: 1.8 on average).
    let mut cells: HashMap<i64, HashSet<i64>> = HashMap::new();
    for p in &all[3] {
        cells.entry(p.person_id).or_default().insert(p.cell_id);
    }
    let mean_cells = cells.values().map(HashSet::len).sum::<usize>() as f64 / cells.len() as f64;
    assert!(
        (1.4..3.0).contains(&mean_cells),
        "{mean_cells} cells a person-day"
    );
}

/// Every person's pings over the window, in time order, by agent.
fn pings_by_agent(w: &World) -> HashMap<usize, Vec<(i64, i64)>> {
    let agent_of: HashMap<i64, usize> = (0..w.agents.len())
        .filter_map(|i| w.movements.person_id(i).map(|id| (id, i)))
        .collect();
    let mut out: HashMap<usize, Vec<(i64, i64)>> = HashMap::new();
    for day in window() {
        for p in w.movements.day_pings(day) {
            out.entry(agent_of[&p.person_id])
                .or_default()
                .push((p.ts, p.cell_id));
        }
    }
    for pings in out.values_mut() {
        pings.sort();
    }
    out
}

#[test]
fn every_exposure_in_the_window_is_a_co_stay_where_the_outbreak_says() {
    for seed in [11, 29] {
        exposures_are_co_stays(&world(6_000, seed));
    }
}

fn exposures_are_co_stays(w: &World) {
    let by_agent = pings_by_agent(w);
    let runs_of: HashMap<usize, Vec<(i64, i64, i64)>> =
        by_agent.iter().map(|(&a, p)| (a, runs(p))).collect();
    let (first, last) = (window()[0], window()[13] + DAY);
    let start = w.outbreak_plan.start.timestamp();
    let markets: HashSet<i64> = villages()
        .iter()
        .filter_map(|v| w.plan.market_cell_of_township(&v.township_code))
        .collect();
    let mut checked: HashMap<Setting, usize> = HashMap::new();
    for e in &w.outbreak.exposures {
        if e.setting == Setting::Village {
            continue;
        }
        // The first meeting's simulation day (the record starts 8 h into it, or an hour before the
        // case was found).
        let day = (e.first_at.timestamp() + 3_600 - start).div_euclid(DAY);
        let (from, to) = (start + day * DAY, start + (day + 1) * DAY);
        if from < first || to > last {
            continue;
        }
        let (Some(case), Some(other)) = (runs_of.get(&e.case), runs_of.get(&e.person)) else {
            continue; // a resident without a phone
        };
        let place_ok = |cell: i64| match e.setting {
            Setting::Household => Some(cell) == w.movements.home_cell(e.case),
            Setting::Workplace => {
                Some(cell) == w.movements.work_cell(e.case)
                    && Some(cell) == w.movements.work_cell(e.person)
            }
            // The infectious person's market (the other may come from another township).
            _ => markets.contains(&cell) && Some(cell) == w.movements.market_cell(e.case),
        };
        let co_stay = case.iter().any(|c| {
            other.iter().any(|o| {
                c.0 == o.0
                    && place_ok(c.0)
                    && o.1 < c.2
                    && c.1 < o.2
                    && c.1.max(o.1) < to
                    && c.2.min(o.2) > from
            })
        });
        assert!(co_stay, "no co-stay for {e:?} on [{from}, {to})");
        *checked.entry(e.setting).or_default() += 1;
    }
    eprintln!("exposures checked: {checked:?}");
    for setting in [Setting::Household, Setting::Workplace, Setting::Market] {
        assert!(
            checked.get(&setting).copied().unwrap_or(0) >= 3,
            "{checked:?}"
        );
    }
}

#[test]
fn people_taken_away_stay_at_the_site_and_the_lockdown_keeps_people_home() {
    let w = world(6_000, 11);
    let by_agent = pings_by_agent(&w);
    let mut placed = 0;
    for p in &w.outbreak.placements {
        let Some(pings) = by_agent.get(&p.person) else {
            continue;
        };
        let found = w
            .outbreak
            .infections
            .iter()
            .find(|i| i.person == p.person)
            .and_then(|i| i.found)
            .map_or(i64::MAX, |f| f.0.timestamp());
        for &(ts, cell) in pings.iter().filter(|(ts, _)| *ts >= p.at.timestamp()) {
            let site = if ts >= found {
                w.plan.hospital_cell()
            } else {
                w.plan.isolation_cell()
            };
            assert_eq!(cell, site, "agent {} at {ts}", p.person);
        }
        placed += 1;
    }
    assert!(placed > 10, "{placed} placed people with pings");
    // A case found is at the hospital from then on.
    let mut found = 0;
    for inf in &w.outbreak.infections {
        let (Some((at, _)), Some(pings)) = (inf.found, by_agent.get(&inf.person)) else {
            continue;
        };
        for &(ts, cell) in pings.iter().filter(|(ts, _)| *ts >= at.timestamp()) {
            assert_eq!(cell, w.plan.hospital_cell(), "case {} at {ts}", inf.person);
        }
        found += 1;
    }
    assert!(found > 10, "{found} cases with pings");
    // Share of people seen outside their home cell on a working day before and after the lockdown.
    let away = |day: i64| {
        let pings = w.movements.day_pings(day);
        let homes: HashMap<i64, i64> = (0..w.agents.len())
            .filter_map(|i| Some((w.movements.person_id(i)?, w.movements.home_cell(i)?)))
            .collect();
        let people: HashSet<i64> = pings.iter().map(|p| p.person_id).collect();
        let out: HashSet<i64> = pings
            .iter()
            .filter(|p| homes[&p.person_id] != p.cell_id)
            .map(|p| p.person_id)
            .collect();
        out.len() as f64 / people.len() as f64
    };
    let before = away(bj(2020, 12, 30, 0, 0).timestamp());
    let after = away(bj(2021, 1, 8, 0, 0).timestamp());
    eprintln!("seen away from home: {before:.2} before the lockdown, {after:.2} after");
    assert!(before > 0.5, "{before} out before the lockdown");
    assert!(after < 0.15, "{after} out after the lockdown");
}

/// 100 000 residents over 14 days (`FANGKONG_TEST_SLOW=1`): a few seconds.
#[test]
fn a_district_of_a_hundred_thousand_moves_in_seconds() {
    if std::env::var_os("FANGKONG_TEST_SLOW").is_none() {
        eprintln!("skipped: set FANGKONG_TEST_SLOW=1");
        return;
    }
    let w = world(100_000, 5);
    let started = Instant::now();
    let mut buffer = Vec::new();
    let mut total = 0;
    for day in window() {
        buffer.clear();
        w.movements.day_pings_into(day, &mut buffer);
        total += buffer.len();
    }
    let took = started.elapsed();
    eprintln!("100 000 residents × 14 days: {total} pings in {took:?}");
    assert!(total > 10_000_000);
    assert!(took.as_secs() < 20, "{took:?}");
}

#[test]
fn a_person_id_is_an_eleven_digit_mobile_number() {
    assert_eq!(person_id_of("13812345678"), Some(13_812_345_678));
    assert_eq!(person_id_of(" 13812345678 "), Some(13_812_345_678));
    for bad in [
        "",
        "1381234567",
        "138123456789",
        "0311-8765432",
        "23812345678",
        "1381234567x",
    ] {
        assert_eq!(person_id_of(bad), None, "{bad}");
    }
}
