//! The analytics.md §2 data set, deterministic by seed: a county of 800 m cells, its people's days
//! as pings, and the lists the three queries take.
//!
//! Shape (§2): a 64 × 64 grid, `cell_id = (3200 + row)·10000 + (4300 + col)`, the county the 36 × 36
//! block in the middle; a county seat (35 % of the people, σ 2.5 cells), 12 towns (25 %, σ 1 cell),
//! 220 villages (40 %, σ 0.35 cell), a neighbouring city to the west. 55 % workers (45 % work in
//! the seat, 15 % in a town, 15 % in the city, 25 % near home), 15 % students, 30 % at home. A day:
//! home → a linear commute through the cells on the way → work → home, an errand of 20–120 min to
//! a market on 25–50 % of days; at weekends 70 % of workers and every student stay home. Pings:
//! Poisson(10) per person-day at times from a day-shaped mixture, each in the cell the plan puts
//! the person in at that second.
//!
//! Lists (drawn from every 10th person, so a 10 % subset carries the same lists): 300 cases (60
//! from each of 3 outbreak villages, the rest anywhere), a risk area of 5 × 4 cells around the
//! first outbreak village over the last 5 days, 5 000 people isolated at home for 7 days of whom
//! 10 % breach with 1 or 2 outings of 30–120 min (an isolated person is otherwise at home all
//! window, so a breach is never a false positive). Small plans scale the lists down.
//!
//! Every person-day draws from its own random stream (seeded by seed, person, day), so the output
//! does not depend on the number of threads. Days are generated, sorted and written one at a time
//! per thread (two threads): memory is two days of pings.
//!
//! # List files ([`write_lists`], plain CSV with a header, for the CLI and the Python reference)
//! - `cases.csv`: `person_id` — one case per line;
//! - `risk_area.csv`: `cell_id,from_ts,to_ts` — one line per cell of the area, the same window on each;
//! - `fences.csv`: `person_id,home_cell,from_ts,to_ts` — one line per isolated person.
//!
//! [`read_lists`] reads them back (bounded).

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustc_hash::FxHashMap;

use crate::cells::cell_of;
use crate::fence::HomeFence;
use crate::layout::{DAY_S, DayFile, weekday_of, write_day};
use crate::visitors::AreaWindow;
use crate::{Ping, PingsError, PingsResult};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthPlan {
    pub people: u32,
    pub days: u32,
    pub seed: u64,
    /// The first day's Beijing midnight.
    pub start: i64,
}

impl SynthPlan {
    /// 2020-12-20 00:00 Beijing time, the first day of analytics.md's data set.
    pub const START: i64 = 1_608_393_600;
    /// The probe's seed.
    pub const SEED: u64 = 20_210_102;

    /// The full analytics.md set: 740 000 people, 14 days.
    pub fn full() -> SynthPlan {
        SynthPlan {
            people: 740_000,
            days: 14,
            seed: Self::SEED,
            start: Self::START,
        }
    }
}

/// The lists that go with a generated set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthLists {
    pub cases: Vec<i64>,
    pub risk_area: AreaWindow,
    pub fences: Vec<HomeFence>,
}

const GRID: i64 = 64;
const COUNTY_LO: i64 = 14;
const COUNTY_HI: i64 = 49;
const ROW0: i64 = 3200;
const COL0: i64 = 4300;
const SEAT: (f64, f64) = (32.0, 32.0);
const CITY: (f64, f64) = (32.0, 5.0);

/// SplitMix64: a small, fast, well-mixed generator whose output is fixed by its definition, so a
/// seed gives the same data set on every machine and every version of this crate.
struct Rng(u64);

impl Rng {
    fn new(parts: &[u64]) -> Rng {
        let mut r = Rng(0x005E_ED0F_FA4C_0ABC);
        for &p in parts {
            r.0 ^= p;
            r.next();
        }
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Uniform integer in [lo, hi).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + ((self.next() >> 1) % (hi - lo).max(1) as u64) as i64
    }
    fn normal(&mut self) -> f64 {
        let u = self.f().max(1e-12);
        let v = self.f();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
    /// Poisson by multiplying uniforms (Knuth): fine for a mean of 10.
    fn poisson(&mut self, mean: f64) -> u32 {
        let limit = (-mean).exp();
        let mut k = 0;
        let mut p = self.f();
        while p > limit {
            k += 1;
            p *= self.f();
        }
        k
    }
}

type Rc = (i64, i64);

fn clamp_county(r: f64, c: f64) -> Rc {
    (
        (r.round() as i64).clamp(COUNTY_LO, COUNTY_HI),
        (c.round() as i64).clamp(COUNTY_LO, COUNTY_HI),
    )
}

fn clamp_grid(r: f64, c: f64) -> Rc {
    (
        (r.round() as i64).clamp(0, GRID - 1),
        (c.round() as i64).clamp(0, GRID - 1),
    )
}

fn cell(rc: Rc) -> i64 {
    cell_of(ROW0 + rc.0, COL0 + rc.1)
}

fn dist(a: Rc, b: Rc) -> i64 {
    (a.0 - b.0).abs().max((a.1 - b.1).abs())
}

struct Geography {
    towns: Vec<(f64, f64)>,
    villages: Vec<(f64, f64)>,
    /// The nearest town of each village (its market and its school).
    village_town: Vec<usize>,
}

impl Geography {
    fn new(seed: u64) -> Geography {
        let mut r = Rng::new(&[seed, 1]);
        let towns: Vec<(f64, f64)> = (0..12)
            .map(|k| {
                let a = k as f64 * std::f64::consts::TAU / 12.0 + r.f() * 0.3;
                let rad = 9.0 + r.f() * 6.0;
                (SEAT.0 + rad * a.sin(), SEAT.1 + rad * a.cos())
            })
            .collect();
        let mut villages = Vec::with_capacity(220);
        while villages.len() < 220 {
            let v = (
                COUNTY_LO as f64 + r.f() * (COUNTY_HI - COUNTY_LO) as f64,
                COUNTY_LO as f64 + r.f() * (COUNTY_HI - COUNTY_LO) as f64,
            );
            if (v.0 - SEAT.0).hypot(v.1 - SEAT.1) > 4.0 {
                villages.push(v);
            }
        }
        let village_town = villages
            .iter()
            .map(|v| {
                (0..towns.len())
                    .min_by(|&a, &b| {
                        let da = (towns[a].0 - v.0).hypot(towns[a].1 - v.1);
                        let db = (towns[b].0 - v.0).hypot(towns[b].1 - v.1);
                        da.total_cmp(&db)
                    })
                    .unwrap_or(0)
            })
            .collect();
        Geography {
            towns,
            villages,
            village_town,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Worker,
    Student,
    Home,
}

#[derive(Clone, Copy)]
struct Person {
    id: i64,
    home: Rc,
    work: Rc,
    market: Rc,
    role: Role,
    /// 0 seat, 1 town, 2 village; and which one.
    village: Option<u16>,
    errand_p: f32,
}

/// A distinct 11-digit number per person: 13 000 000 000 + a bijection of the index mod 10⁹
/// (the multiplier is coprime to 10⁹).
fn person_id(i: u32) -> i64 {
    13_000_000_000 + ((u64::from(i) * 2_654_435_761) % 1_000_000_000) as i64
}

fn make_person(seed: u64, i: u32, g: &Geography) -> Person {
    let mut r = Rng::new(&[seed, 2, u64::from(i)]);
    let u = r.f();
    let (center, sigma, town, village) = if u < 0.35 {
        (SEAT, 2.5, None, None)
    } else if u < 0.60 {
        let t = r.range(0, g.towns.len() as i64) as usize;
        (g.towns[t], 1.0, Some(t), None)
    } else {
        let v = r.range(0, g.villages.len() as i64) as usize;
        (g.villages[v], 0.35, Some(g.village_town[v]), Some(v as u16))
    };
    let home = clamp_county(center.0 + r.normal() * sigma, center.1 + r.normal() * sigma);
    let my_town = town.map_or(SEAT, |t| g.towns[t]);
    let market = match town {
        // The seat has four markets around its centre.
        None => {
            let k = r.range(0, 4);
            clamp_county(
                SEAT.0 + [2.0, -2.0, 0.0, 0.0][k as usize],
                SEAT.1 + [0.0, 0.0, 2.0, -2.0][k as usize],
            )
        }
        Some(t) => clamp_county(g.towns[t].0, g.towns[t].1),
    };
    let u = r.f();
    let role = if u < 0.55 {
        Role::Worker
    } else if u < 0.70 {
        Role::Student
    } else {
        Role::Home
    };
    let work = match role {
        Role::Worker => {
            let w = r.f();
            if w < 0.45 {
                clamp_county(SEAT.0 + r.normal() * 2.5, SEAT.1 + r.normal() * 2.5)
            } else if w < 0.60 {
                clamp_county(my_town.0 + r.normal(), my_town.1 + r.normal())
            } else if w < 0.75 {
                clamp_grid(CITY.0 + r.normal() * 2.0, CITY.1 + r.normal() * 2.0)
            } else {
                clamp_county(
                    (home.0 + r.range(-2, 3)) as f64,
                    (home.1 + r.range(-2, 3)) as f64,
                )
            }
        }
        // A village child goes to the town's school, others to one near home.
        Role::Student if village.is_some() => clamp_county(my_town.0, my_town.1),
        Role::Student => clamp_county(
            (home.0 + r.range(-1, 2)) as f64,
            (home.1 + r.range(-1, 2)) as f64,
        ),
        Role::Home => home,
    };
    Person {
        id: person_id(i),
        home,
        work,
        market,
        role,
        village,
        errand_p: (0.25 + r.f() * 0.25) as f32,
    }
}

/// One isolated person's measure: the window (in days of the plan) and the breach outings
/// (day, start second of the day, seconds, target cell).
struct Isolation {
    from_day: u32,
    to_day: u32,
    outings: Vec<(u32, i64, i64, Rc)>,
}

/// Where a person is at each second of one day.
struct DayPlan {
    /// (from second, to second, from place, to place): a stay when both places are equal, else a
    /// linear commute through the cells on the way.
    legs: [(i64, i64, Rc, Rc); 5],
    n: usize,
    home: Rc,
}

impl DayPlan {
    fn at(&self, s: i64) -> Rc {
        for &(a, b, p, q) in &self.legs[..self.n] {
            if s >= a && s < b {
                if p == q {
                    return p;
                }
                let f = (s - a) as f64 / (b - a) as f64;
                return (
                    (p.0 as f64 + f * (q.0 - p.0) as f64).round() as i64,
                    (p.1 as f64 + f * (q.1 - p.1) as f64).round() as i64,
                );
            }
        }
        self.home
    }
}

fn plan_day(p: &Person, iso: Option<&Isolation>, day: u32, weekday: u32, r: &mut Rng) -> DayPlan {
    let mut plan = DayPlan {
        legs: [(0, 0, p.home, p.home); 5],
        n: 0,
        home: p.home,
    };
    if let Some(iso) = iso
        && day >= iso.from_day
        && day < iso.to_day
    {
        for &(d, start, secs, target) in &iso.outings {
            if d == day && plan.n < 5 {
                plan.legs[plan.n] = (start, start + secs, target, target);
                plan.n += 1;
            }
        }
        return plan;
    }
    let weekend = weekday >= 5;
    let goes_out = match p.role {
        Role::Worker => !weekend || r.f() < 0.3,
        Role::Student => !weekend,
        Role::Home => false,
    };
    let mut free_from = 8 * 3600 + r.range(0, 3600);
    if goes_out && p.work != p.home {
        let commute = (dist(p.home, p.work) * 180 + 300).max(600);
        let leave = 7 * 3600 + r.range(0, 90 * 60);
        let arrive = leave + commute;
        let end = 17 * 3600 + r.range(0, 90 * 60);
        plan.legs[0] = (leave, arrive, p.home, p.work);
        plan.legs[1] = (arrive, end, p.work, p.work);
        plan.legs[2] = (end, end + commute, p.work, p.home);
        plan.n = 3;
        free_from = end + commute + 600;
    }
    if f64::from(p.errand_p) > r.f() {
        let start = if plan.n > 0 {
            free_from + r.range(0, 3600)
        } else {
            free_from + r.range(0, 9 * 3600)
        };
        let secs = r.range(20 * 60, 120 * 60 + 1);
        // The errand comes first in the legs so that it wins where it meets another leg.
        plan.legs.copy_within(0..plan.n, 1);
        plan.legs[0] = (start, start + secs, p.market, p.market);
        plan.n += 1;
    }
    plan
}

/// The second of the day of a ping: mostly waking hours, some at night.
fn ping_second(r: &mut Rng) -> i64 {
    if r.f() < 0.85 {
        r.range(6 * 3600 + 1800, 23 * 3600)
    } else {
        r.range(0, DAY_S)
    }
}

/// Generate the plan's day files into `dir` and return its lists.
pub fn generate(plan: &SynthPlan, dir: &Path) -> PingsResult<SynthLists> {
    generate_days(plan, dir).map(|(lists, _)| lists)
}

/// [`generate`], also returning the day files written.
pub fn generate_days(plan: &SynthPlan, dir: &Path) -> PingsResult<(SynthLists, Vec<DayFile>)> {
    if plan.people == 0 || plan.days == 0 {
        return Err(PingsError::Invalid(
            "生成位置数据需要至少 1 人、1 天".into(),
        ));
    }
    let g = Geography::new(plan.seed);
    let people: Vec<Person> = (0..plan.people)
        .map(|i| make_person(plan.seed, i, &g))
        .collect();
    let (lists, isolations) = draw_lists(plan, &people, &g);
    std::fs::create_dir_all(dir)?;
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<DayFile>> = Mutex::new(Vec::new());
    let failed: Mutex<Option<PingsError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..crate::read::THREADS {
            s.spawn(|| {
                loop {
                    let day = next.fetch_add(1, Ordering::Relaxed) as u32;
                    if day >= plan.days {
                        break;
                    }
                    match one_day(plan, day, &people, &isolations, dir) {
                        Ok(f) => {
                            if let Ok(mut v) = out.lock() {
                                v.push(f);
                            }
                        }
                        Err(e) => {
                            if let Ok(mut f) = failed.lock() {
                                f.get_or_insert(e);
                            }
                            break;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().ok().flatten() {
        return Err(e);
    }
    let mut days = out.into_inner().unwrap_or_default();
    days.sort_by_key(|d| d.day_start);
    Ok((lists, days))
}

fn one_day(
    plan: &SynthPlan,
    day: u32,
    people: &[Person],
    isolations: &FxHashMap<u32, Isolation>,
    dir: &Path,
) -> PingsResult<DayFile> {
    let t0 = plan.start + i64::from(day) * DAY_S;
    let weekday = weekday_of(t0);
    let mut pings = Vec::with_capacity(people.len() * 11);
    for (i, p) in people.iter().enumerate() {
        let mut r = Rng::new(&[plan.seed, 3, i as u64, u64::from(day)]);
        let dp = plan_day(p, isolations.get(&(i as u32)), day, weekday, &mut r);
        let n = r.poisson(10.0);
        for _ in 0..n {
            let s = ping_second(&mut r);
            pings.push(Ping {
                person_id: p.id,
                ts: t0 + s,
                cell_id: cell(dp.at(s)),
            });
        }
    }
    write_day(dir, t0, &mut pings)
}

fn draw_lists(
    plan: &SynthPlan,
    people: &[Person],
    g: &Geography,
) -> (SynthLists, FxHashMap<u32, Isolation>) {
    let mut r = Rng::new(&[plan.seed, 4]);
    let sample: Vec<u32> = (0..plan.people).step_by(10).collect();
    let n_cases = 300.min(sample.len() * 3 / 10).max(1);
    let per_village = n_cases / 5;
    let mut chosen = vec![false; people.len()];
    let mut cases = Vec::with_capacity(n_cases);
    for v in 0..3u16 {
        for &i in sample
            .iter()
            .filter(|&&i| people[i as usize].village == Some(v))
            .take(per_village)
        {
            chosen[i as usize] = true;
            cases.push(i);
        }
    }
    // The rest anywhere: a shuffled sample, the not yet chosen first.
    let mut order = sample.clone();
    for k in (1..order.len()).rev() {
        let j = r.range(0, k as i64 + 1) as usize;
        order.swap(k, j);
    }
    let mut rest = order
        .into_iter()
        .filter(|&i| !chosen[i as usize])
        .collect::<Vec<_>>()
        .into_iter();
    while cases.len() < n_cases {
        let Some(i) = rest.next() else { break };
        cases.push(i);
    }
    let n_iso = 5000.min(sample.len() / 2);
    let iso_people: Vec<u32> = rest.take(n_iso).collect();
    let n_breach = iso_people.len().div_ceil(10);
    let mut isolations = FxHashMap::default();
    let mut fences = Vec::with_capacity(iso_people.len());
    for (k, &i) in iso_people.iter().enumerate() {
        let p = &people[i as usize];
        let from_day = r.range(0, i64::from(plan.days.saturating_sub(7)) + 1) as u32;
        let to_day = from_day + 7;
        let mut outings = Vec::new();
        if k < n_breach {
            let n_out = r.range(1, 3);
            let last_day = to_day.min(plan.days);
            for _ in 0..n_out {
                let d = r.range(i64::from(from_day), i64::from(last_day)) as u32;
                let start = r.range(8 * 3600, 18 * 3600);
                let secs = r.range(30 * 60, 120 * 60 + 1);
                // Somewhere clearly away from home (never a neighbouring cell).
                let target = [p.market, p.work]
                    .into_iter()
                    .find(|&t| dist(t, p.home) >= 2)
                    .unwrap_or_else(|| {
                        let row = if p.home.0 + 3 < GRID {
                            p.home.0 + 3
                        } else {
                            p.home.0 - 3
                        };
                        (row, p.home.1)
                    });
                outings.push((d, start, secs, target));
            }
        }
        fences.push(HomeFence {
            person_id: p.id,
            home_cell: cell(p.home),
            from: plan.start + i64::from(from_day) * DAY_S,
            to: plan.start + i64::from(to_day) * DAY_S,
        });
        isolations.insert(
            i,
            Isolation {
                from_day,
                to_day,
                outings,
            },
        );
    }
    let v0 = g.villages[0];
    let (r0, c0) = clamp_county(v0.0, v0.1);
    let mut area_cells = Vec::with_capacity(20);
    for dr in -2..=2 {
        for dc in -1..=2 {
            area_cells.push(cell((r0 + dr, c0 + dc)));
        }
    }
    let first_risk_day = plan.days.saturating_sub(5);
    let risk_area = AreaWindow {
        cells: area_cells,
        from: plan.start + i64::from(first_risk_day) * DAY_S,
        to: plan.start + i64::from(plan.days) * DAY_S,
    };
    let mut case_ids: Vec<i64> = cases.iter().map(|&i| people[i as usize].id).collect();
    case_ids.sort_unstable();
    (
        SynthLists {
            cases: case_ids,
            risk_area,
            fences,
        },
        isolations,
    )
}

/// Write `cases.csv`, `risk_area.csv` and `fences.csv` (see the module doc) into `dir`.
pub fn write_lists(lists: &SynthLists, dir: &Path) -> PingsResult<()> {
    std::fs::create_dir_all(dir)?;
    let mut cases = String::from("person_id\n");
    for c in &lists.cases {
        cases.push_str(&format!("{c}\n"));
    }
    let a = &lists.risk_area;
    let mut area = String::from("cell_id,from_ts,to_ts\n");
    for c in &a.cells {
        area.push_str(&format!("{c},{},{}\n", a.from, a.to));
    }
    let mut fences = String::from("person_id,home_cell,from_ts,to_ts\n");
    for f in &lists.fences {
        fences.push_str(&format!(
            "{},{},{},{}\n",
            f.person_id, f.home_cell, f.from, f.to
        ));
    }
    for (name, text) in [
        ("cases.csv", cases),
        ("risk_area.csv", area),
        ("fences.csv", fences),
    ] {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::File::create(&tmp)?.write_all(text.as_bytes())?;
        std::fs::rename(&tmp, dir.join(name))?;
    }
    Ok(())
}

/// The largest list file read back: 5 000 fences are 250 KB; a province's lists stay far below.
const LIST_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// Integer rows of a small CSV with the given header; any bad line refuses the file, named.
fn read_int_csv(path: &Path, header: &str) -> PingsResult<Vec<Vec<i64>>> {
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(LIST_MAX_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| crate::read::unreadable(path, format!("不是文本文件：{e}")))?;
    if text.len() as u64 > LIST_MAX_BYTES {
        return Err(crate::read::unreadable(path, "名单文件过大"));
    }
    let want = header.split(',').count();
    let mut lines = text.lines();
    if lines
        .next()
        .map(|h| h.trim().trim_start_matches('\u{feff}'))
        != Some(header)
    {
        return Err(crate::read::unreadable(
            path,
            format!("第一行应为表头 {header}"),
        ));
    }
    let mut rows = Vec::new();
    for (k, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let vals: Option<Vec<i64>> = line.split(',').map(|v| v.trim().parse().ok()).collect();
        match vals {
            Some(v) if v.len() == want => rows.push(v),
            _ => {
                return Err(crate::read::unreadable(
                    path,
                    format!("第 {} 行应为 {want} 个整数（{header}）", k + 2),
                ));
            }
        }
    }
    Ok(rows)
}

/// Read the lists written by [`write_lists`]. An area file must hold one window for all its cells.
pub fn read_lists(dir: &Path) -> PingsResult<SynthLists> {
    let cases = read_int_csv(&dir.join("cases.csv"), "person_id")?
        .into_iter()
        .map(|v| v[0])
        .collect();
    let area_path = dir.join("risk_area.csv");
    let area_rows = read_int_csv(&area_path, "cell_id,from_ts,to_ts")?;
    let (from, to) = area_rows.first().map_or((0, 0), |v| (v[1], v[2]));
    if area_rows.iter().any(|v| (v[1], v[2]) != (from, to)) {
        return Err(crate::read::unreadable(
            &area_path,
            "各网格的时间窗口不一致",
        ));
    }
    let risk_area = AreaWindow {
        cells: area_rows.iter().map(|v| v[0]).collect(),
        from,
        to,
    };
    let fences = read_int_csv(&dir.join("fences.csv"), "person_id,home_cell,from_ts,to_ts")?
        .into_iter()
        .map(|v| HomeFence {
            person_id: v[0],
            home_cell: v[1],
            from: v[2],
            to: v[3],
        })
        .collect();
    Ok(SynthLists {
        cases,
        risk_area,
        fences,
    })
}
