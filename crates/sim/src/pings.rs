//! The simulated population's movements as location pings (手机信令), consistent with the outbreak.
//!
//! [`CellPlan`] puts the villages, markets, workplaces and schools of the district on the 800 m
//! grid. [`Movements`] plays each person's day over it — home at night; workers and pupils to
//! their workplace or class on the outbreak's working days, through the cells on the way; a market
//! errand on 25–50 % of days; the lockdown keeping most people home — and draws Poisson(10)
//! pings a person-day at times of the day's shape, each in the cell the plan has the person in
//! at that second.
//!
//! The pings agree with the outbreak ([`crate::outbreak`]):
//! - every household, workplace and market meeting of an infectious person puts both people in
//!   one cell around one moment of the meeting's day ([`crate::outbreak::Meeting`]), with a ping
//!   each a few minutes either side, so their runs (analytics.md §3, CAP 3 600 s) overlap: an
//!   exposure the epidemiologist records is a co-stay the companion query can see;
//! - a workplace or class is one cell, and on a locked-down day only the groups where an
//!   infectious person went in open (as in the outbreak); market errands drop to 3 % of days;
//! - a person placed into isolation is at the isolation site's cell from that moment on, and a case
//!   found is at the hospital's cell from then on (they keep pinging, from there).
//!
//! The outbreak model has no home isolation (contacts go to rooms), so there are no home-isolated
//! people stepping out here; e-fence data needs another source.
//!
//! Pure (no IO, no clock) and deterministic by seed. `person_id` is the resident's mobile number as
//! an `i64` (the caller passes them, [`person_id_of`] parses one).

mod cells;
mod day;
mod meet;

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Weekday};

pub use cells::{COL0, CellPlan, ROW0};

use crate::outbreak::{Agent, Outbreak, OutbreakPlan, Setting};
use crate::rng::Rng;
use day::{DayPlan, Scratch, person_day};
use meet::{Appointment, Places, appointments};

pub(crate) const MINUTE: i64 = 60;
pub(crate) const HOUR: i64 = 3_600;
pub(crate) const DAY: i64 = 86_400;

/// The index of the Beijing (UTC+8) day a Unix time falls on.
pub(crate) fn beijing_day(ts: i64) -> i64 {
    (ts + 8 * HOUR).div_euclid(DAY)
}

/// One sighting of a phone: the fields of `fangkong_pings::Ping`, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SimPing {
    /// The resident's mobile number.
    pub person_id: i64,
    /// Unix seconds.
    pub ts: i64,
    pub cell_id: i64,
}

/// The people the outbreak ran over, as the caller knows them.
#[derive(Clone, Copy)]
pub struct Residents<'a> {
    /// The outbreak's agents, in its order.
    pub agents: &'a [Agent],
    /// Each agent's `person_id` (the mobile number as `i64`, see [`person_id_of`]); `None` (or a
    /// slice that ends early) for a resident without a phone, who has no pings.
    pub person_ids: &'a [Option<i64>],
    /// The village or community code of each `Agent::village` index.
    pub village_codes: &'a [String],
}

/// A mobile number (11 digits, starting with 1) as a `person_id`; anything else is `None`.
pub fn person_id_of(phone: &str) -> Option<i64> {
    let phone = phone.trim();
    if phone.len() == 11 && phone.starts_with('1') && phone.bytes().all(|b| b.is_ascii_digit()) {
        phone.parse().ok()
    } else {
        None
    }
}

/// What the movements know of one agent.
#[derive(Clone, Copy)]
struct Person {
    /// 0: no pings (no phone, or a village the plan does not have).
    id: i64,
    home: i64,
    market: i64,
    /// 0: neither works nor studies.
    work: i64,
    group: u32,
    student: bool,
    /// Chance of a market errand on an ordinary day (0 for young children).
    errand: f32,
    placed: i64,
    found: i64,
}

/// The population's movements over a cell plan, consistent with one outbreak.
/// (No `Debug`: it holds every resident's mobile number.)
pub struct Movements {
    people: Vec<Person>,
    /// Sorted by (Beijing day, agent, moment).
    appointments: Vec<Appointment>,
    /// (simulation day, group) of workplaces open on a locked-down day.
    open_groups: HashSet<(i64, u32)>,
    start: i64,
    lockdown: i64,
    isolation: i64,
    hospital: i64,
    seed: u64,
    /// Poisson(10): P(N ≤ k).
    cdf: Vec<f64>,
    unplaced: usize,
}

/// Pings per person-day, on average.
const MEAN_PINGS: f64 = 10.0;
/// Share of workplaces in the seat's industrial park (the rest in the workers' townships).
const PARK_SHARE: f64 = 0.45;
/// Chance of a market errand on a locked-down day (the outbreak's market chance then).
const LOCKED_ERRAND: f64 = 0.03;

impl Movements {
    /// Prepares the movements of `residents` over `plan`, consistent with `outbreak` as simulated
    /// by `outbreak_plan` (its start, the simulation's day 0, and its lockdown). Agents whose
    /// village the plan does not have get no pings ([`Movements::unplaced`] counts them).
    pub fn new(
        plan: &CellPlan,
        residents: Residents<'_>,
        outbreak: &Outbreak,
        outbreak_plan: &OutbreakPlan,
        seed: u64,
    ) -> Movements {
        let mut rng = Rng::new(seed, 0x0040_7E5E);
        let agents = residents.agents;
        let township = |a: &Agent| {
            residents
                .village_codes
                .get(a.village as usize)
                .and_then(|code| plan.township_of_village(code))
        };
        // Each group's place: a class at the school of its first pupil's township; a workplace in
        // the park or in its first worker's township.
        let mut group_cells: Vec<i64> = Vec::new();
        for (i, a) in agents.iter().enumerate() {
            let Some(g) = outbreak.groups.get(i).copied().flatten() else {
                continue;
            };
            let g = g as usize;
            if group_cells.len() <= g {
                group_cells.resize(g + 1, 0);
            }
            if group_cells[g] != 0 {
                continue;
            }
            let t = township(a);
            let park = plan.park_cells();
            let mut group_rng = Rng::new(seed, 0x6000_0000 + g as u64);
            group_cells[g] = if (6..=17).contains(&a.age) {
                t.and_then(|t| plan.school_cell_of_township(t))
            } else if park.is_empty() || !group_rng.chance(PARK_SHARE) {
                t.and_then(|t| plan.work_cell_of_township(t))
            } else {
                Some(*group_rng.pick(park))
            }
            .unwrap_or(plan.hospital_cell());
        }
        let mut unplaced = 0;
        let mut people: Vec<Person> = agents
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let id = residents.person_ids.get(i).copied().flatten().unwrap_or(0);
                let code = residents.village_codes.get(a.village as usize);
                let cells = code.and_then(|c| plan.cells_of_village(c)).unwrap_or(&[]);
                let market = township(a).and_then(|t| plan.market_cell_of_township(t));
                let (id, home, market) = match (cells.is_empty(), market) {
                    (false, Some(market)) => {
                        let mut home_rng = Rng::new(seed, 0x4040_0000 + u64::from(a.household));
                        (id, *home_rng.pick(cells), market)
                    }
                    _ => {
                        unplaced += usize::from(id != 0);
                        (0, 0, 0)
                    }
                };
                let group = outbreak.groups.get(i).copied().flatten();
                let errand = if a.age < 10 {
                    0.0
                } else {
                    let p = 0.25 + 0.25 * rng.unit();
                    if a.age >= 75 { p / 2.0 } else { p }
                };
                Person {
                    id,
                    home,
                    market,
                    work: group.map_or(0, |g| group_cells[g as usize]),
                    group: group.unwrap_or(u32::MAX),
                    student: a.age < 18,
                    errand: errand as f32,
                    placed: i64::MAX,
                    found: i64::MAX,
                }
            })
            .collect();
        for p in &outbreak.placements {
            if let Some(person) = people.get_mut(p.person) {
                person.placed = person.placed.min(p.at.timestamp());
            }
        }
        for inf in &outbreak.infections {
            if let (Some(person), Some((at, _))) = (people.get_mut(inf.person), inf.found) {
                person.found = person.found.min(at.timestamp());
            }
        }
        let start = outbreak_plan.start.timestamp();
        let open_groups = outbreak
            .meetings
            .iter()
            .filter(|m| m.setting == Setting::Workplace)
            .filter_map(|m| {
                let g = people.get(m.infectious)?.group;
                (g != u32::MAX).then_some((i64::from(m.day), g))
            })
            .collect();
        let mut movements = Movements {
            people,
            appointments: Vec::new(),
            open_groups,
            start,
            lockdown: outbreak_plan.lockdown_at.timestamp(),
            isolation: plan.isolation_cell(),
            hospital: plan.hospital_cell(),
            seed,
            cdf: poisson_cdf(MEAN_PINGS, 64),
            unplaced,
        };
        movements.appointments = appointments(&outbreak.meetings, &movements, start, seed);
        movements
    }

    /// Residents with a phone whose village the cell plan does not have (they have no pings).
    pub fn unplaced(&self) -> usize {
        self.unplaced
    }

    /// The agent's `person_id`, when it has pings.
    pub fn person_id(&self, agent: usize) -> Option<i64> {
        self.people.get(agent).map(|p| p.id).filter(|&id| id != 0)
    }

    /// The agent's home cell (shared by its household).
    pub fn home_cell(&self, agent: usize) -> Option<i64> {
        self.people.get(agent).filter(|p| p.id != 0).map(|p| p.home)
    }

    /// The cell of the agent's workplace or class.
    pub fn work_cell(&self, agent: usize) -> Option<i64> {
        self.people.get(agent).map(|p| p.work).filter(|&w| w != 0)
    }

    /// The market the agent shops at (its township's).
    pub fn market_cell(&self, agent: usize) -> Option<i64> {
        self.people
            .get(agent)
            .filter(|p| p.id != 0)
            .map(|p| p.market)
    }

    /// The pings of the Beijing day that begins at `day_start` (a Beijing midnight, Unix seconds),
    /// person by person, each person's in time order; every `ts` in `[day_start, day_start +
    /// 86 400)`.
    pub fn day_pings(&self, day_start: i64) -> Vec<SimPing> {
        let mut out = Vec::with_capacity(self.people.len() * 11);
        self.day_pings_into(day_start, &mut out);
        out
    }

    /// [`Movements::day_pings`] appending to `out` (to reuse one buffer day after day).
    pub fn day_pings_into(&self, day_start: i64, out: &mut Vec<SimPing>) {
        let bday = beijing_day(day_start);
        // The working day follows the outbreak's: the simulation day holding this day's working
        // hours is a working day unless it falls on a Sunday, and locked if it began after the
        // lockdown.
        let sim_day = (day_start + 12 * HOUR + 30 * MINUTE - self.start).div_euclid(DAY);
        let sim_day_start = self.start + sim_day * DAY;
        let working =
            DateTime::from_timestamp(sim_day_start, 0).is_some_and(|t| t.weekday() != Weekday::Sun);
        let locked = sim_day_start >= self.lockdown;
        let errands_locked = day_start + 12 * HOUR >= self.lockdown;
        let first = self.appointments.partition_point(|a| a.bday < bday);
        let last = self.appointments.partition_point(|a| a.bday <= bday);
        let today = &self.appointments[first..last];
        let mut cursor = 0;
        let mut scratch = Scratch::default();
        let mut pings: Vec<(i64, i64)> = Vec::with_capacity(32);
        let day_seed = self.seed ^ (bday as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for (agent, p) in self.people.iter().enumerate() {
            let begin = cursor;
            while cursor < today.len() && today[cursor].agent as usize == agent {
                cursor += 1;
            }
            if p.id == 0 {
                continue;
            }
            let attends = p.work != 0
                && working
                && (!locked || self.open_groups.contains(&(sim_day, p.group)));
            let chance = if errands_locked {
                LOCKED_ERRAND.min(f64::from(p.errand))
            } else {
                f64::from(p.errand)
            };
            let plan = DayPlan {
                day_start,
                home: p.home,
                work: attends.then_some((p.work, p.student)),
                errand: (chance > 0.0).then_some((p.market, chance)),
                placed: p.placed,
                found: p.found,
                isolation_cell: self.isolation,
                hospital_cell: self.hospital,
            };
            let mut rng = Rng::new(day_seed, agent as u64);
            pings.clear();
            person_day(
                &plan,
                &today[begin..cursor],
                &mut rng,
                &self.cdf,
                &mut scratch,
                &mut pings,
            );
            out.extend(pings.iter().map(|&(ts, cell_id)| SimPing {
                person_id: p.id,
                ts,
                cell_id,
            }));
        }
    }
}

impl Places for Movements {
    fn has_pings(&self, agent: usize) -> bool {
        self.people.get(agent).is_some_and(|p| p.id != 0)
    }
    fn home(&self, agent: usize) -> i64 {
        self.people.get(agent).map_or(0, |p| p.home)
    }
    fn work(&self, agent: usize) -> Option<i64> {
        self.work_cell(agent)
    }
    fn market(&self, agent: usize) -> i64 {
        self.people.get(agent).map_or(0, |p| p.market)
    }
    fn stop(&self, agent: usize) -> i64 {
        self.people
            .get(agent)
            .map_or(i64::MAX, |p| p.placed.min(p.found))
    }
}

/// P(N ≤ k) for k in `0..len`, N ~ Poisson(mean).
fn poisson_cdf(mean: f64, len: usize) -> Vec<f64> {
    let mut p = (-mean).exp();
    let mut sum = 0.0;
    (0..len)
        .map(|k| {
            if k > 0 {
                p *= mean / k as f64;
            }
            sum += p;
            sum
        })
        .collect()
}
