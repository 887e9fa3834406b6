//! The outbreak simulator (疫情推演): an agent-based spread over a population's households,
//! villages, workplaces, classes and markets, with the office's response folded in — symptomatic
//! people go to a fever clinic, screening rounds find the rest, every case found is traced and its
//! close contacts are taken to isolation (one person per room), where their tests find those already
//! infected. Isolation and the lockdown are what bend the curve.
//!
//! The result is the history of one outbreak: who infected whom, where and when, who was found by
//! which channel and when, and the exposures the epidemiologist will trace for each case found.
//! `fangkong demo` plays that history through the app's own functions on the simulation clock, so
//! every row the demo shows is a consequence of it. Deterministic by seed; pure (no IO, no clock).
//!
//! The model is deliberately small: one step per day, infectiousness from day 2 after infection for
//! up to 14 days, daily per-contact infection chances per setting, an incubation of 3–7 days and
//! about a third asymptomatic. It is not an epidemiological forecast; it makes a story whose
//! numbers hang together.

use chrono::{DateTime, Duration, Utc};
use fangkong_domain::investigation::ExposureKind;

use crate::rng::Rng;

/// One person of the simulated population (an index into the caller's list of residents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agent {
    /// Index of the household (members of one household share it).
    pub household: u32,
    /// Index of the village or community.
    pub village: u32,
    pub age: u8,
}

/// Where an exposure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Setting {
    Household,
    /// Workplace (班组/车间) or class (教室): the same group every working day.
    Workplace,
    /// Gatherings in the village: meals, weddings, neighbours' visits.
    Village,
    /// A market of the township: a general contact.
    Market,
}

impl Setting {
    /// How the epidemiologist records it (判定原则).
    pub fn exposure_kind(self) -> ExposureKind {
        match self {
            Setting::Household => ExposureKind::SharedHome,
            Setting::Workplace => ExposureKind::SameEnclosedSpace,
            Setting::Village => ExposureKind::SharedMealOrEntertainment,
            Setting::Market => ExposureKind::PublicPlace,
        }
    }

    /// Chance that tracing finds a person met this way: everyone at home, most workmates, fewer
    /// of the villagers met (people forget, or do not say).
    fn traced_chance(self) -> f64 {
        match self {
            Setting::Household => 1.0,
            Setting::Workplace => 0.85,
            Setting::Village => 0.55,
            Setting::Market => 0.0,
        }
    }

    /// Chance that one infectious person infects one susceptible person met in a day.
    fn daily_chance(self) -> f64 {
        match self {
            Setting::Household => 0.09,
            Setting::Workplace => 0.025,
            Setting::Village => 0.06,
            Setting::Market => 0.008,
        }
    }
}

/// How an infection was found (the case form's `found_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundBy {
    /// Symptoms took the person to a fever clinic.
    FeverClinic,
    /// A whole-population screening round.
    MassTesting,
    /// A test in isolation (a contact already in a room).
    IsolationTest,
}

impl FoundBy {
    /// The investigation module's code for it.
    pub fn code(self) -> &'static str {
        match self {
            FoundBy::FeverClinic => "fever_clinic",
            FoundBy::MassTesting => "mass_testing",
            FoundBy::IsolationTest => "isolation_site_test",
        }
    }
}

/// What the simulation is asked to play.
#[derive(Debug, Clone)]
pub struct OutbreakPlan {
    pub seed: u64,
    /// When the index case was infected; day 0 of the simulation.
    pub start: DateTime<Utc>,
    pub days: u32,
    /// The index case (an agent index).
    pub index: usize,
    /// When the index case reaches the fever clinic (the outbreak is discovered).
    pub index_found_at: DateTime<Utc>,
    /// From then on workplaces, classes and markets are mostly shut (封控).
    pub lockdown_at: DateTime<Utc>,
    /// Swab times of the whole-population screening rounds.
    pub screening_rounds: Vec<DateTime<Utc>>,
    /// Infections brought in from outside later (输入): (person, infected at, reaches the fever
    /// clinic at) — a second spark the tracing of the first could not find.
    pub imported: Vec<(usize, DateTime<Utc>, DateTime<Utc>)>,
    /// A gathering in the index case's village that the index case attends while infectious (a
    /// banquet, a service): up to [`GATHERING_SIZE`] villagers, each with a high chance.
    pub gathering_at: Option<DateTime<Utc>>,
}

/// Villagers at the index case's gathering.
pub const GATHERING_SIZE: usize = 40;

/// One infection of the outbreak.
#[derive(Debug, Clone, PartialEq)]
pub struct Infection {
    pub person: usize,
    /// Who infected them (`None` for the index case).
    pub infector: Option<usize>,
    pub setting: Option<Setting>,
    pub infected_at: DateTime<Utc>,
    /// Symptom onset; `None` for an asymptomatic infection.
    pub onset_at: Option<DateTime<Utc>>,
    /// When and how the infection was found, if it was within the simulated days.
    pub found: Option<(DateTime<Utc>, FoundBy)>,
}

/// A person a found case exposed during its tracing window, as the epidemiologist will record it.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    pub case: usize,
    pub person: usize,
    pub setting: Setting,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

/// A close contact taken into isolation because of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub person: usize,
    pub case: usize,
    pub at: DateTime<Utc>,
}

/// The history of one simulated outbreak, each list in time order.
#[derive(Debug, Clone, Default)]
pub struct Outbreak {
    /// By infection time.
    pub infections: Vec<Infection>,
    /// By the time their case was found, then by person.
    pub exposures: Vec<Exposure>,
    /// By placement time.
    pub placements: Vec<Placement>,
    /// Each agent's workplace or class (an index its members share; `None`: neither), so the
    /// movements (`pings`) can put a group in one cell.
    pub groups: Vec<Option<u32>>,
    /// Every household, workplace and market meeting of an infectious person (not the village's):
    /// the movements put both people in one place that day, so the pings agree with the exposures.
    pub meetings: Vec<Meeting>,
}

/// A meeting at home, at a workplace or at a market on simulation `day` (from `OutbreakPlan::start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meeting {
    pub day: u32,
    pub infectious: usize,
    pub other: usize,
    pub setting: Setting,
}

impl Outbreak {
    /// The infections found, in the order they were found.
    pub fn found(&self) -> Vec<&Infection> {
        let mut found: Vec<&Infection> = self
            .infections
            .iter()
            .filter(|i| i.found.is_some())
            .collect();
        found.sort_by_key(|i| (i.found.map(|f| f.0), i.person));
        found
    }
}

/// Days from infection to infectiousness.
const LATENT_DAYS: i64 = 2;
/// Days an unisolated infection stays infectious.
const INFECTIOUS_DAYS: i64 = 12;
/// The tracing window before onset (or before the positive sample): 4 days (第九版).
const LOOK_BACK_DAYS: i64 = 4;
/// Isolation test days (第1、4、7天), from the day of placement.
const ISOLATION_TEST_DAYS: [i64; 3] = [0, 3, 6];
/// Share of the infected a screening round finds: some are not swabbed (away, missed), and a
/// pooled test early in an infection can miss.
const ROUND_FINDS: f64 = 0.8;
const WORK_GROUP: usize = 10;
const CLASS_SIZE: usize = 30;

struct State {
    infected_at: Option<i64>, // minutes from start
    infector: Option<usize>,
    setting: Option<Setting>,
    onset_at: Option<i64>,
    /// When the person stopped meeting others: found (hospital) or placed (room).
    removed_at: Option<i64>,
    /// When a case's tracing took the person to a room, and which case.
    placed: Option<(i64, usize)>,
    found: Option<(i64, FoundBy)>,
}

impl State {
    /// Where a found case's tracing window begins: 4 days before onset, or before the positive
    /// sample (taken 14 hours before the finding) when there were no symptoms by then.
    fn window_start(&self, found_at: i64) -> i64 {
        let reference = self
            .onset_at
            .filter(|o| *o <= found_at)
            .unwrap_or(found_at - 14 * 60);
        reference - LOOK_BACK_DAYS * DAY_MINUTES
    }
}

/// Minutes in a day.
const DAY_MINUTES: i64 = 24 * 60;

/// Whether a meeting on simulation day `met_day` falls in a case's tracing window (it began at
/// `window`; the case was found at `found_at`).
fn met_in_window(met_day: i64, window: i64, found_at: i64) -> bool {
    met_day * DAY_MINUTES + 18 * 60 >= window && met_day * DAY_MINUTES <= found_at
}

/// Runs the outbreak. `agents` is the population (in a stable order: the caller's residents).
pub fn simulate(agents: &[Agent], plan: &OutbreakPlan) -> Outbreak {
    let n = agents.len();
    if n == 0 || plan.index >= n {
        return Outbreak::default();
    }
    let mut rng = Rng::new(plan.seed, 0x000B_B0EA);
    let minutes = |t: DateTime<Utc>| (t - plan.start).num_minutes();
    let day_min = DAY_MINUTES;
    let lockdown = minutes(plan.lockdown_at);
    let rounds: Vec<i64> = plan.screening_rounds.iter().map(|t| minutes(*t)).collect();

    // Households, villages and groups as member lists.
    let mut households: Vec<Vec<usize>> = Vec::new();
    let mut villages: Vec<Vec<usize>> = Vec::new();
    for (i, a) in agents.iter().enumerate() {
        let h = a.household as usize;
        let v = a.village as usize;
        if households.len() <= h {
            households.resize(h + 1, Vec::new());
        }
        if villages.len() <= v {
            villages.resize(v + 1, Vec::new());
        }
        households[h].push(i);
        villages[v].push(i);
    }
    // Workplaces of the working-age and classes of the school-age, mixed across villages in a
    // seeded order; the old and the very young stay home.
    let mut group_of: Vec<Option<u32>> = vec![None; n];
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (ages, size) in [((18u8, 59u8), WORK_GROUP), ((6, 17), CLASS_SIZE)] {
        let mut members: Vec<usize> = (0..n)
            .filter(|&i| (ages.0..=ages.1).contains(&agents[i].age))
            .collect();
        shuffle(&mut members, &mut rng);
        for chunk in members.chunks(size) {
            for &i in chunk {
                group_of[i] = Some(groups.len() as u32);
            }
            groups.push(chunk.to_vec());
        }
    }

    let mut state: Vec<State> = (0..n)
        .map(|_| State {
            infected_at: None,
            infector: None,
            setting: None,
            onset_at: None,
            removed_at: None,
            placed: None,
            found: None,
        })
        .collect();
    // Who met whom while infectious: (day, infectious person, other, setting).
    let mut met: Vec<(i64, usize, usize, Setting)> = Vec::new();
    let mut infected_order: Vec<usize> = Vec::new();
    // (case, person met): whether tracing found the person.
    let mut traced: std::collections::HashMap<(usize, usize), bool> =
        std::collections::HashMap::new();

    let infect = |state: &mut Vec<State>,
                  rng: &mut Rng,
                  person: usize,
                  at: i64,
                  by: Option<usize>,
                  setting: Option<Setting>,
                  order: &mut Vec<usize>| {
        let s = &mut state[person];
        s.infected_at = Some(at);
        s.infector = by;
        s.setting = setting;
        // Two in three develop symptoms after 3–7 days.
        if by.is_none() || !rng.chance(0.34) {
            s.onset_at =
                Some(at + i64::from(rng.range(3, 7)) * day_min + i64::from(rng.below(600)));
        }
        order.push(person);
    };
    infect(
        &mut state,
        &mut rng,
        plan.index,
        0,
        None,
        None,
        &mut infected_order,
    );
    state[plan.index].onset_at = Some(minutes(plan.index_found_at) - 3 * day_min);

    // People whose finding is part of the plan: the index case and the imported ones.
    let mut planned_finds: Vec<(usize, i64)> = vec![(plan.index, minutes(plan.index_found_at))];
    for day in 0..i64::from(plan.days) {
        let day_start = day * day_min;
        let day_end = day_start + day_min;
        let locked = day_start >= lockdown;
        let weekday = (plan.start + Duration::days(day)).format("%u").to_string() != "7";
        for &(person, infected, found) in &plan.imported {
            let at = minutes(infected);
            if person < n
                && (day_start..day_end).contains(&at)
                && state[person].infected_at.is_none()
            {
                infect(
                    &mut state,
                    &mut rng,
                    person,
                    at,
                    None,
                    None,
                    &mut infected_order,
                );
                state[person].onset_at = Some(minutes(found) - 2 * day_min);
                planned_finds.push((person, minutes(found)));
            }
        }
        // -- transmission ----------------------------------------------------------------------
        let infectious: Vec<usize> = infected_order
            .iter()
            .copied()
            .filter(|&i| {
                let s = &state[i];
                let since = s.infected_at.unwrap_or(i64::MAX);
                since + LATENT_DAYS * day_min <= day_start
                    && day_start < since + (LATENT_DAYS + INFECTIOUS_DAYS) * day_min
                    && s.removed_at.is_none_or(|r| r > day_start)
            })
            .collect();
        if let Some(gathering) = plan.gathering_at.map(minutes)
            && (day_start..day_end).contains(&gathering)
            && state[plan.index].removed_at.is_none()
        {
            let village = &villages[agents[plan.index].village as usize];
            for &j in village
                .iter()
                .filter(|&&j| j != plan.index)
                .take(GATHERING_SIZE)
            {
                met.push((day, plan.index, j, Setting::Village));
                if state[j].infected_at.is_none() && rng.chance(0.25) {
                    let at = gathering + i64::from(rng.below(180));
                    infect(
                        &mut state,
                        &mut rng,
                        j,
                        at,
                        Some(plan.index),
                        Some(Setting::Village),
                        &mut infected_order,
                    );
                }
            }
        }
        for i in infectious {
            let a = agents[i];
            let mut today: Vec<(usize, Setting)> = households[a.household as usize]
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| (j, Setting::Household))
                .collect();
            if let Some(g) = group_of[i]
                && weekday
                && (!locked || rng.chance(0.15))
            {
                today.extend(
                    groups[g as usize]
                        .iter()
                        .filter(|&&j| j != i)
                        .map(|&j| (j, Setting::Workplace)),
                );
            }
            let village = &villages[a.village as usize];
            // Sealed villages still meet over the wall: one neighbour a day.
            let neighbours = if locked { 1 } else { 2 };
            for _ in 0..neighbours {
                let j = *rng.pick(village);
                if j != i && agents[j].household != a.household {
                    today.push((j, Setting::Village));
                }
            }
            if rng.chance(if locked { 0.03 } else { 0.3 }) {
                for _ in 0..6 {
                    let j = rng.below(n as u32) as usize;
                    if j != i {
                        today.push((j, Setting::Market));
                    }
                }
            }
            for (j, setting) in today {
                if state[j].removed_at.is_some_and(|r| r <= day_start) {
                    continue;
                }
                met.push((day, i, j, setting));
                if state[j].infected_at.is_none() && rng.chance(setting.daily_chance()) {
                    let at = day_start + 7 * 60 + i64::from(rng.below(14 * 60));
                    infect(
                        &mut state,
                        &mut rng,
                        j,
                        at,
                        Some(i),
                        Some(setting),
                        &mut infected_order,
                    );
                }
            }
        }
        // -- detection -------------------------------------------------------------------------
        let mut found_today: Vec<usize> = Vec::new();
        for &i in &infected_order {
            let s = &state[i];
            if s.found.is_some() {
                continue;
            }
            let infected = s.infected_at.unwrap_or(0);
            let detectable_from = infected + LATENT_DAYS * day_min;
            let mut found: Option<(i64, FoundBy)> = None;
            if let Some(&(_, at)) = planned_finds.iter().find(|(p, _)| *p == i) {
                if (day_start..day_end).contains(&at) {
                    found = Some((at, FoundBy::FeverClinic));
                }
            } else if let Some((placed, _)) = s.placed {
                // In a room: symptoms are seen at once; the isolation tests find the rest.
                if let Some(onset) = s.onset_at.filter(|o| (day_start..day_end).contains(o)) {
                    found = Some((onset.max(placed) + 120, FoundBy::IsolationTest));
                }
                for t in ISOLATION_TEST_DAYS {
                    let swab = placed + t * day_min + 8 * 60;
                    let result = swab + 14 * 60;
                    if (day_start..day_end).contains(&result)
                        && swab >= detectable_from
                        && found.is_none_or(|f| result < f.0)
                    {
                        found = Some((result, FoundBy::IsolationTest));
                    }
                }
            } else if day_start >= minutes(plan.index_found_at) - day_min {
                // Once the outbreak is known, fever clinics screen: symptoms lead there in 0–2 days.
                if let Some(onset) = s.onset_at {
                    let visit = onset.max(minutes(plan.index_found_at))
                        + i64::from(i as u32 % 3) * day_min / 2
                        + 180;
                    if (day_start..day_end).contains(&visit) {
                        found = Some((visit, FoundBy::FeverClinic));
                    }
                }
                for &round in &rounds {
                    let result = round + 20 * 60;
                    if (day_start..day_end).contains(&result)
                        && round >= detectable_from
                        && found.is_none_or(|f| result < f.0)
                        && rng.chance(ROUND_FINDS)
                    {
                        found = Some((result, FoundBy::MassTesting));
                    }
                }
            }
            if let Some(f) = found {
                found_today.push(i);
                let s = &mut state[i];
                s.found = Some(f);
                s.removed_at = Some(s.removed_at.map_or(f.0 + 120, |r| r.min(f.0 + 120)));
            }
        }
        // -- tracing: close contacts to isolation ----------------------------------------------
        for case in found_today {
            let (found_at, _) = state[case].found.expect("found above");
            let window = state[case].window_start(found_at);
            for &(met_day, who, other, setting) in &met {
                if who != case
                    || setting == Setting::Market
                    || !met_in_window(met_day, window, found_at)
                {
                    continue;
                }
                // Whether the epidemiologist learns of this person at all (decided once per pair).
                let known = *traced
                    .entry((case, other))
                    .or_insert_with(|| rng.chance(setting.traced_chance()));
                if !known || state[other].placed.is_some() || state[other].found.is_some() {
                    continue;
                }
                // Home members first, most within a day; a few are hard to reach.
                let delay = match setting {
                    Setting::Household => 4 * 60 + i64::from(rng.below(4 * 60)),
                    _ if rng.chance(0.08) => 26 * 60 + i64::from(rng.below(14 * 60)),
                    _ => 8 * 60 + i64::from(rng.below(14 * 60)),
                };
                let at = found_at + delay;
                let s = &mut state[other];
                s.placed = Some((at, case));
                s.removed_at = Some(s.removed_at.map_or(at, |r| r.min(at)));
            }
        }
    }

    let to_time = |m: i64| plan.start + Duration::minutes(m);
    let horizon = i64::from(plan.days) * day_min;
    let mut out = Outbreak::default();
    for &i in &infected_order {
        let s = &state[i];
        out.infections.push(Infection {
            person: i,
            infector: s.infector,
            setting: s.setting,
            infected_at: to_time(s.infected_at.unwrap_or(0)),
            onset_at: s.onset_at.map(to_time),
            found: s
                .found
                .filter(|f| f.0 < horizon)
                .map(|(at, by)| (to_time(at), by)),
        });
    }
    out.infections.sort_by_key(|i| (i.infected_at, i.person));

    // Exposures: each found case's meetings inside its window, one row per person met, from the
    // first to the last meeting; the market's visitors too (general contacts).
    let mut found_cases: Vec<(i64, usize)> = infected_order
        .iter()
        .filter_map(|&i| state[i].found.map(|f| (f.0, i)))
        .filter(|(at, _)| *at < horizon)
        .collect();
    found_cases.sort();
    for (found_at, case) in found_cases {
        let window = state[case].window_start(found_at);
        let mut rows: std::collections::BTreeMap<(usize, Setting), (i64, i64)> =
            std::collections::BTreeMap::new();
        for &(met_day, who, other, setting) in &met {
            if who != case || !met_in_window(met_day, window, found_at) {
                continue;
            }
            if setting != Setting::Market && traced.get(&(case, other)) != Some(&true) {
                continue;
            }
            let first = (met_day * day_min + 8 * 60).min(found_at - 60);
            let last = (met_day * day_min + 20 * 60).min(found_at - 60);
            let entry = rows.entry((other, setting)).or_insert((first, last));
            entry.0 = entry.0.min(first);
            entry.1 = entry.1.max(last);
        }
        // One row per person: the closest setting.
        let mut seen = std::collections::HashSet::new();
        let mut by_setting: Vec<_> = rows.into_iter().collect();
        by_setting.sort_by_key(|((other, setting), _)| (*setting, *other));
        for ((other, setting), (first, last)) in by_setting {
            if seen.insert(other) {
                out.exposures.push(Exposure {
                    case,
                    person: other,
                    setting,
                    first_at: to_time(first),
                    last_at: to_time(last.max(first)),
                });
            }
        }
    }
    let mut placements: Vec<Placement> = state
        .iter()
        .enumerate()
        .filter_map(|(person, s)| s.placed.map(|(at, case)| (person, at, case)))
        .filter(|(_, at, _)| *at < horizon)
        .map(|(person, at, case)| Placement {
            person,
            case,
            at: to_time(at),
        })
        .collect();
    placements.sort_by_key(|p| (p.at, p.person));
    out.placements = placements;
    out.meetings = met
        .iter()
        .filter(|m| m.3 != Setting::Village)
        .map(|&(day, infectious, other, setting)| Meeting {
            day: day as u32,
            infectious,
            other,
            setting,
        })
        .collect();
    out.groups = group_of;
    out
}

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u32 + 1) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn bj(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap() - Duration::hours(8)
    }

    /// `villages` villages of `households` households of 3 (a grandparent, two adults... ages vary).
    fn population(villages: u32, households: u32) -> Vec<Agent> {
        let mut out = Vec::new();
        for v in 0..villages {
            for h in 0..households {
                for (k, age) in [68u8, 40, 38, 12].iter().enumerate() {
                    if k == 3 && h % 2 == 0 {
                        continue;
                    }
                    out.push(Agent {
                        household: v * households + h,
                        village: v,
                        age: *age,
                    });
                }
            }
        }
        out
    }

    fn plan(seed: u64) -> OutbreakPlan {
        OutbreakPlan {
            seed,
            start: bj(2020, 12, 22, 12),
            days: 28,
            index: 5,
            index_found_at: bj(2021, 1, 2, 10),
            lockdown_at: bj(2021, 1, 6, 0),
            screening_rounds: vec![bj(2021, 1, 3, 8), bj(2021, 1, 7, 8), bj(2021, 1, 12, 8)],
            gathering_at: Some(bj(2020, 12, 27, 12)),
            imported: vec![(900, bj(2021, 1, 7, 20), bj(2021, 1, 12, 13))],
        }
    }

    #[test]
    fn same_seed_same_outbreak_other_seed_other_outbreak() {
        let people = population(20, 60);
        let a = simulate(&people, &plan(7));
        let b = simulate(&people, &plan(7));
        let c = simulate(&people, &plan(8));
        assert_eq!(a.infections, b.infections);
        assert_eq!(a.exposures, b.exposures);
        assert_ne!(a.infections, c.infections);
    }

    #[test]
    fn the_index_case_is_found_at_the_fever_clinic_when_planned() {
        let o = simulate(&population(20, 60), &plan(7));
        let index = o.infections.iter().find(|i| i.person == 5).unwrap();
        assert_eq!(index.infector, None);
        assert_eq!(
            index.found,
            Some((bj(2021, 1, 2, 10), FoundBy::FeverClinic))
        );
        // Nobody is found before the outbreak is known.
        let first = o.found()[0];
        assert_eq!(first.person, 5);
    }

    #[test]
    fn infections_follow_their_infectors_and_findings_follow_infections() {
        let o = simulate(&population(20, 60), &plan(11));
        assert!(o.infections.len() > 10, "{} infections", o.infections.len());
        for inf in &o.infections {
            if let Some(by) = inf.infector {
                let infector = o.infections.iter().find(|i| i.person == by).unwrap();
                assert!(infector.infected_at + Duration::days(LATENT_DAYS) <= inf.infected_at);
                assert!(inf.setting.is_some());
            }
            if let Some((found, _)) = inf.found {
                assert!(found > inf.infected_at);
            }
        }
    }

    #[test]
    fn isolation_bends_the_curve() {
        // Infections per week: the last simulated week has fewer new infections than the peak.
        let p = plan(3);
        let o = simulate(&population(30, 80), &p);
        let mut weeks = [0usize; 4];
        for inf in &o.infections {
            let week = ((inf.infected_at - p.start).num_days() / 7) as usize;
            weeks[week.min(3)] += 1;
        }
        let peak = *weeks.iter().max().unwrap();
        assert!(weeks[3] < peak, "weeks {weeks:?}");
        // Not everyone was infected: the response contained it.
        assert!(
            o.infections.len() < 30 * 80 * 3 / 2,
            "{}",
            o.infections.len()
        );
    }

    #[test]
    fn exposures_lie_in_the_tracing_window_and_contacts_are_placed_after_the_case_is_found() {
        let o = simulate(&population(20, 60), &plan(7));
        assert!(!o.exposures.is_empty());
        for e in &o.exposures {
            let case = o.infections.iter().find(|i| i.person == e.case).unwrap();
            let (found, _) = case.found.unwrap();
            assert!(e.first_at <= e.last_at);
            assert!(e.last_at <= found, "exposure after the case was found");
            let reference = case
                .onset_at
                .filter(|o| *o <= found)
                .unwrap_or(found - Duration::hours(14));
            assert!(e.last_at >= reference - Duration::days(LOOK_BACK_DAYS) - Duration::hours(2));
        }
        // Household members of the index case are among its exposures, as shared_home.
        let index_home: Vec<_> = o
            .exposures
            .iter()
            .filter(|e| e.case == 5 && e.setting == Setting::Household)
            .collect();
        assert!(!index_home.is_empty());
        for p in &o.placements {
            let case = o.infections.iter().find(|i| i.person == p.case);
            if let Some((found, _)) = case.and_then(|c| c.found) {
                assert!(p.at > found);
            }
        }
    }

    #[test]
    fn every_channel_finds_someone() {
        let o = simulate(&population(30, 80), &plan(3));
        let by = |f: FoundBy| o.found().iter().filter(|i| i.found.unwrap().1 == f).count();
        assert!(by(FoundBy::FeverClinic) > 0);
        assert!(by(FoundBy::MassTesting) + by(FoundBy::IsolationTest) > 0);
    }

    #[test]
    fn an_imported_infection_starts_a_second_spark_found_when_planned() {
        let p = plan(7);
        let o = simulate(&population(20, 60), &p);
        let imported = o.infections.iter().find(|i| i.person == 900).unwrap();
        assert_eq!(imported.infector, None);
        assert_eq!(imported.infected_at, bj(2021, 1, 7, 20));
        assert_eq!(
            imported.found,
            Some((bj(2021, 1, 12, 13), FoundBy::FeverClinic))
        );
    }
}
