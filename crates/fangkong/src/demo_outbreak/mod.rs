//! The living outbreak (活的疫情): the simulator's outbreak ([`fangkong_sim::outbreak`]) played
//! through the app's own functions on the simulation clock. The clock is set to each moment of the
//! history in turn: a case found at the fever clinic is opened by the epidemiologist at that minute,
//! reported and investigated hours later (one now and then late), its trajectory and the people it
//! exposed entered; the event passes turn contacts into leads and measures; every three hours the
//! transfer team allocates rooms, sends coaches and ambulances, and the sites check people in,
//! take temperatures and record tests; every morning people at home check in; every evening the
//! command office reviews the risk areas. So every row the demo shows is a consequence of the
//! outbreak, stamped with the time it happened.
//!
//! Seeding plays the history up to the demo's present; serving keeps playing it as the clock runs,
//! so new cases, contacts, trips and check-ins appear while one watches.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use fangkong_app::investigation::{CaseAction, CaseForm, ContactForm, StopForm};
use fangkong_app::records::ResidentRecord;
use fangkong_app::risk_areas::RiskAreaForm;
use fangkong_app::{Actor, App, SimulationClock};
use fangkong_domain::person::age_on;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;
use fangkong_domain::time::{beijing_date, beijing_label, beijing_midnight};
use fangkong_sim::outbreak::{Agent, FoundBy, Outbreak, OutbreakPlan, Setting, simulate};

use crate::demo_isolation::Facilities;

mod office;
mod pings;
mod reports;
mod warning;

/// A moment in Beijing time.
fn beijing(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    let day = NaiveDate::from_ymd_opt(y, m, d).expect("a valid date");
    at_beijing(day, h, min)
}

/// `hour:minute` Beijing time on `day`.
fn at_beijing(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    beijing_midnight(day) + Duration::hours(hour.into()) + Duration::minutes(minute.into())
}

/// The dates of the story (藁城区, January 2021).
pub struct Timeline {
    /// The index case's infection: the simulation's day 0.
    pub infection: DateTime<Utc>,
    /// The index case reaches the fever clinic: the outbreak is known (2 January 2021).
    pub discovered: DateTime<Utc>,
    /// 藁城区 under closed management (6 January).
    pub lockdown: DateTime<Utc>,
    /// Swab times of the screening rounds.
    pub rounds: Vec<DateTime<Utc>>,
    /// The banquet in 小果庄村 the index case attends, infectious without knowing it.
    pub gathering: DateTime<Utc>,
    /// A second spark: a worker of another village infected outside the county, and when they
    /// reach the fever clinic — hours after the story's present, so a served demo sees a new
    /// chain begin.
    pub imported: (DateTime<Utc>, DateTime<Utc>),
    /// The demo's present: seeding plays up to here.
    pub present: DateTime<Utc>,
    /// How far the simulation runs (serving plays on up to here).
    pub days: u32,
}

impl Timeline {
    pub fn gaocheng_2021() -> Timeline {
        Timeline {
            infection: beijing(2020, 12, 22, 18, 0),
            discovered: beijing(2021, 1, 2, 10, 20),
            lockdown: beijing(2021, 1, 6, 0, 0),
            rounds: vec![
                beijing(2021, 1, 3, 8, 0),
                beijing(2021, 1, 7, 8, 0),
                beijing(2021, 1, 12, 8, 0),
            ],
            gathering: beijing(2020, 12, 27, 11, 30),
            imported: (beijing(2021, 1, 7, 19, 0), beijing(2021, 1, 12, 13, 30)),
            present: beijing(2021, 1, 12, 10, 0),
            days: 35,
        }
    }
}

/// Where the outbreak plays and with what.
pub struct Scene<'a> {
    /// The grids of the outbreak township: their residents are the simulated population.
    pub grids: &'a [String],
    /// The village of the index case.
    pub index_village: &'a str,
    /// A resident who must not be the index case (the demo's resident login).
    pub spare: Option<i64>,
    pub facilities: Facilities,
    /// The random seed: the same seed plays the same outbreak.
    pub seed: u64,
}

/// One step of the office's work, at its moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// A case is found: open it with its trajectory and contacts (the infection's index).
    Find(usize),
    Report(i64),
    Investigate(i64),
    Discharge(i64),
    /// An asymptomatic case develops symptoms: reclassified as confirmed (订正).
    Reclassify(i64),
    /// Passes, allocation, trips, check-ins, temperatures and tests (every three hours).
    Operations,
    /// People at home check in (09:00), releases due, rooms cleaned.
    Morning,
    /// The command office reviews risk areas (17:00).
    AreaReview,
    /// The command office designates a case's village (index into `villages`) a high-risk area.
    Designate(usize),
    /// The offices file yesterday's daily reports: before their due time (08:00), or late (09:00).
    DailyReports {
        late: bool,
    },
    /// The county's first report of the outbreak (重大事项首报).
    FirstIncident,
    /// The commander accepts the fever clinic's alert: the county enters emergency command.
    EmergencySwitch,
    /// The epidemiology teams report in: the checklist's task ticked by hand.
    TeamsCalled,
}

/// What has been played so far.
#[derive(Debug, Default, Clone)]
pub struct PlayStats {
    pub cases: usize,
    pub contacts: usize,
    pub areas: usize,
    pub trips: usize,
    pub checked_in: usize,
    pub admitted: usize,
    pub released: usize,
}

pub struct OutbreakPlayer {
    app: App,
    clock: Arc<SimulationClock>,
    people: Vec<ResidentRecord>,
    /// The simulation's view of `people` (same order), its plan and seed: the movements behind the
    /// location pings are drawn from them (`write_pings`).
    agents: Vec<Agent>,
    /// Village code of each `Agent::village` index.
    village_codes: Vec<String>,
    plan: OutbreakPlan,
    seed: u64,
    outbreak: Outbreak,
    steps: Vec<(DateTime<Utc>, Step)>,
    next: usize,
    /// Person (index into `people`) → case id.
    cases: HashMap<usize, i64>,
    areas: HashMap<String, i64>,
    /// Villages with a case, in the order their first case was found (designated or about to be).
    villages: Vec<String>,
    /// Trips on the road: (transfer id, vehicle id, measures, to a hospital).
    trips: Vec<(i64, i64, Vec<i64>, bool)>,
    busy: HashSet<i64>,
    facilities: Facilities,
    /// Run the consistency audit every simulated morning (tests of the story, `--audit-daily`).
    pub audit_daily: bool,
    /// Each audited morning: the Beijing date and what did not hold (empty when clean).
    pub daily_audits: Vec<(String, Vec<String>)>,
    epi: Actor,
    commander: Actor,
    ops: Actor,
    /// When the outbreak became known, and the story's present (the reports' last morning).
    discovered: DateTime<Utc>,
    present: Option<DateTime<Utc>>,
    pub stats: PlayStats,
}

impl OutbreakPlayer {
    /// Simulates the outbreak over the residents of the scene's grids, starting from a resident
    /// of its village aged 55–70, and lays out the office's steps in time.
    pub async fn new(
        app: &App,
        clock: Arc<SimulationClock>,
        scene: Scene<'_>,
        timeline: &Timeline,
    ) -> Result<OutbreakPlayer> {
        let Scene {
            grids,
            index_village,
            spare,
            facilities,
            seed,
        } = scene;
        let mut people: Vec<ResidentRecord> = Vec::new();
        for grid in grids {
            people.extend(
                app.store_for_tools()
                    .residents_in_grid(grid, 0, 100_000)
                    .await?,
            );
        }
        let on = beijing_date(timeline.infection);
        let mut households: HashMap<String, u32> = HashMap::new();
        let mut villages: HashMap<String, u32> = HashMap::new();
        let agents: Vec<Agent> = people
            .iter()
            .map(|p| {
                let n = households.len() as u32;
                let household = *households.entry(p.household_number.clone()).or_insert(n);
                let n = villages.len() as u32;
                let village = *villages
                    .entry(p.grid_code.get(..12).unwrap_or_default().to_string())
                    .or_insert(n);
                Agent {
                    household,
                    village,
                    age: NaiveDate::parse_from_str(&p.birth_date, "%Y-%m-%d")
                        .map_or(0, |birth| age_on(birth, on).min(120) as u8),
                }
            })
            .collect();
        let index = people
            .iter()
            .enumerate()
            .position(|(i, p)| {
                p.grid_code.starts_with(index_village)
                    && (55..=70).contains(&agents[i].age)
                    && Some(p.id) != spare
            })
            .or_else(|| people.iter().position(|p| Some(p.id) != spare))
            .context("no resident in the outbreak township")?;
        // The second spark: a worker of a household of three or more that the first chain never
        // touched (by the outbreak as it would run without the spark, which is the same history
        // up to the day the spark is infected), from the township's far end.
        let mut plan = OutbreakPlan {
            seed,
            start: timeline.infection,
            days: timeline.days,
            index,
            index_found_at: timeline.discovered,
            lockdown_at: timeline.lockdown,
            screening_rounds: timeline.rounds.clone(),
            gathering_at: Some(timeline.gathering),
            imported: Vec::new(),
        };
        let first_chain = simulate(&agents, &plan);
        let touched: HashSet<u32> = first_chain
            .infections
            .iter()
            .map(|i| i.person)
            .chain(first_chain.placements.iter().map(|p| p.person))
            .chain(first_chain.exposures.iter().map(|e| e.person))
            .map(|person| agents[person].household)
            .collect();
        let mut household_size: HashMap<u32, usize> = HashMap::new();
        for a in &agents {
            *household_size.entry(a.household).or_default() += 1;
        }
        plan.imported = (0..people.len())
            .rev()
            .find(|&i| {
                let a = agents[i];
                !people[i].grid_code.starts_with(index_village)
                    && (30..=50).contains(&a.age)
                    && household_size[&a.household] >= 3
                    && !touched.contains(&a.household)
                    && Some(people[i].id) != spare
            })
            .map(|i| vec![(i, timeline.imported.0, timeline.imported.1)])
            .unwrap_or_default();
        let outbreak = simulate(&agents, &plan);
        let mut village_codes = vec![String::new(); villages.len()];
        for (code, index) in villages {
            village_codes[index as usize] = code;
        }
        let mut steps: Vec<(DateTime<Utc>, Step)> = Vec::new();
        for (i, infection) in outbreak.infections.iter().enumerate() {
            if let Some((at, _)) = infection.found {
                steps.push((at, Step::Find(i)));
            }
        }
        // The office's routine, from the day the outbreak is known.
        let first_day = beijing_date(timeline.discovered);
        let last = timeline.infection + Duration::days(i64::from(timeline.days));
        let mut day = first_day;
        loop {
            let morning = at_beijing(day, 9, 0);
            if morning > last {
                break;
            }
            steps.push((morning, Step::Morning));
            steps.push((at_beijing(day, 8, 0), Step::DailyReports { late: false }));
            steps.push((morning, Step::DailyReports { late: true }));
            for hour in [8, 11, 14, 17, 20, 23] {
                steps.push((at_beijing(day, hour, 30), Step::Operations));
            }
            steps.push((at_beijing(day, 17, 0), Step::AreaReview));
            day = day.succ_opt().context("date overflow")?;
        }
        steps.push((
            timeline.discovered + Duration::minutes(150),
            Step::FirstIncident,
        ));
        steps.push((
            timeline.discovered + Duration::minutes(40),
            Step::EmergencySwitch,
        ));
        steps.push((
            timeline.discovered + Duration::minutes(100),
            Step::TeamsCalled,
        ));
        steps.retain(|(at, _)| *at >= timeline.discovered - Duration::hours(1));
        steps.sort();
        Ok(OutbreakPlayer {
            epi: app.actor_for_user("epidemiologist", "demo").await?,
            commander: app.actor_for_user("commander", "demo").await?,
            ops: Actor::seeding(
                Role::Administrator,
                RegionCode::parse(grids.first().map(|g| &g[..6]).unwrap_or("13"))
                    .map_err(anyhow::Error::msg)?,
                "seed",
                "数据初始化",
            ),
            discovered: timeline.discovered,
            present: Some(timeline.present),
            app: app.clone(),
            clock,
            people,
            agents,
            village_codes,
            plan,
            seed,
            outbreak,
            steps,
            next: 0,
            cases: HashMap::new(),
            areas: HashMap::new(),
            villages: Vec::new(),
            trips: Vec::new(),
            busy: HashSet::new(),
            facilities,
            audit_daily: false,
            daily_audits: Vec::new(),
            stats: PlayStats::default(),
        })
    }

    /// The people the outbreak infected by `until` (resident ids), so the demo can keep a
    /// resident login away from them.
    pub fn infected_by(&self, until: DateTime<Utc>) -> HashSet<i64> {
        self.outbreak
            .infections
            .iter()
            .filter(|i| i.infected_at <= until)
            .map(|i| self.people[i.person].id)
            .collect()
    }

    /// Plays every step up to `until`, setting the clock to each step's moment (seeding: the
    /// clock stands still between steps), and leaves the clock at `until`.
    pub async fn play_until(&mut self, until: DateTime<Utc>) -> Result<()> {
        self.play_steps(until, true).await;
        self.clock.set(until);
        Ok(())
    }

    /// Plays the steps whose moment the running clock has passed, at the clock's time (serving:
    /// the clock is never moved back under the pages being read).
    pub async fn play_due(&mut self) {
        let now = self.clock_now();
        self.play_steps(now, false).await;
    }

    /// A step the app refuses is logged and skipped: the story goes on.
    async fn play_steps(&mut self, until: DateTime<Utc>, set_clock: bool) {
        while let Some(&(at, step)) = self.steps.get(self.next) {
            if at > until {
                break;
            }
            self.next += 1;
            if set_clock {
                self.clock.set(at);
            }
            if let Err(e) = self.play(step, at).await {
                tracing::warn!(error = format!("{e:#}"), ?step, "outbreak step refused");
            }
        }
    }

    async fn play(&mut self, step: Step, at: DateTime<Utc>) -> Result<()> {
        match step {
            Step::Find(i) => self.find(i, at).await,
            Step::Report(case) => Ok(self
                .app
                .update_case(&self.epi, case, &CaseAction::Reported)
                .await?),
            Step::Investigate(case) => Ok(self
                .app
                .update_case(&self.epi, case, &CaseAction::Investigated)
                .await?),
            Step::Discharge(case) => Ok(self
                .app
                .update_case(
                    &self.epi,
                    case,
                    &CaseAction::Discharge {
                        occurred_at: String::new(),
                    },
                )
                .await?),
            Step::Reclassify(case) => Ok(self
                .app
                .update_case(
                    &self.epi,
                    case,
                    &CaseAction::Reclassify {
                        kind: "confirmed".into(),
                    },
                )
                .await?),
            Step::Operations => self.operations().await,
            Step::Morning => self.morning().await,
            Step::AreaReview => self.area_review().await,
            Step::Designate(village) => self.designate(village).await,
            Step::DailyReports { late } => self.daily_reports(late).await,
            Step::FirstIncident => self.first_incident_report().await,
            Step::EmergencySwitch => self.emergency_switch().await,
            Step::TeamsCalled => self.teams_called().await,
        }
    }

    fn schedule(&mut self, at: DateTime<Utc>, step: Step) {
        let position = self.steps[self.next..].partition_point(|(t, s)| (*t, *s) <= (at, step));
        self.steps.insert(self.next + position, (at, step));
    }

    /// A case found: opened with what the epidemiologist learns, its trajectory and the people it
    /// exposed; its report, investigation and discharge scheduled.
    async fn find(&mut self, index: usize, at: DateTime<Utc>) -> Result<()> {
        let infection = self.outbreak.infections[index].clone();
        let (_, found_by) = infection.found.context("a found infection")?;
        let person = self.people[infection.person].clone();
        let symptomatic = infection.onset_at.is_some_and(|o| o <= at);
        // The infector is known when already a case and met at home, at work or in the village;
        // a market infection's source stays under investigation.
        let infector = infection
            .infector
            .filter(|_| infection.setting != Some(Setting::Market))
            .and_then(|by| self.cases.get(&by))
            .map(|id| id.to_string())
            .unwrap_or_default();
        let sampled = at
            - Duration::hours(if found_by == FoundBy::FeverClinic {
                3
            } else {
                14
            });
        let form = CaseForm {
            kind: if symptomatic {
                "confirmed"
            } else {
                "asymptomatic"
            }
            .into(),
            id_type: person.id_type.clone(),
            id_number: person.id_number.to_string(),
            onset_date: infection
                .onset_at
                .filter(|_| symptomatic)
                .map(|o| beijing_date(o).format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            first_positive_at: if symptomatic {
                String::new()
            } else {
                beijing_label(sampled)
            },
            found_by: found_by.code().into(),
            severity: if symptomatic { "mild" } else { "none" }.into(),
            hospital: if symptomatic {
                "石家庄市第五医院"
            } else {
                "藁城区方舱医院"
            }
            .into(),
            isolated_at: beijing_label(at),
            infector,
            case_key: format!("sim-{}", person.id),
            ..Default::default()
        };
        let case = self.app.open_case(&self.epi, &form).await?;
        self.cases.insert(infection.person, case);
        self.stats.cases += 1;

        // Reported within the 2 hours (one in eight late), investigated within the day (one in
        // ten late), discharged after twelve to sixteen days.
        let late = |n: u64| (person.id as u64).is_multiple_of(n);
        let report = at + Duration::minutes(if late(8) { 170 } else { 50 });
        let investigate = at + Duration::hours(if late(10) { 30 } else { 16 });
        let discharge = at + Duration::days(12 + person.id % 5);
        self.schedule(report, Step::Report(case));
        self.schedule(investigate, Step::Investigate(case));
        self.schedule(discharge, Step::Discharge(case));
        if let Some(onset) = infection.onset_at.filter(|o| *o > at && *o < discharge) {
            self.schedule(onset + Duration::hours(3), Step::Reclassify(case));
        }

        // Trajectory from the exposures: home over the window, work and the market where met.
        let exposures: Vec<_> = self
            .outbreak
            .exposures
            .iter()
            .filter(|e| e.person != infection.person && e.case == infection.person)
            .cloned()
            .collect();
        tracing::debug!(case, exposures = exposures.len(), "case found");
        let window_start = exposures
            .iter()
            .map(|e| e.first_at)
            .min()
            .unwrap_or(at - Duration::days(4));
        let mut stops = vec![("home", "居住地".to_string(), window_start, at, false)];
        for (setting, kind, name, public) in [
            (Setting::Workplace, "work", "工作单位（车间/班组）", false),
            (Setting::Market, "venue", "增村镇综合市场", true),
        ] {
            if let Some(e) = exposures.iter().find(|e| e.setting == setting) {
                let left = (e.first_at + Duration::hours(2)).min(at - Duration::minutes(30));
                stops.push((kind, name.to_string(), e.first_at, left, public));
            }
        }
        if found_by == FoundBy::FeverClinic {
            stops.push((
                "medical",
                "藁城区人民医院发热门诊".into(),
                at - Duration::hours(4),
                at - Duration::hours(2),
                true,
            ));
        }
        for (kind, name, from, to, public) in stops {
            self.app
                .add_case_stop(
                    &self.epi,
                    case,
                    &StopForm {
                        place_kind: kind.into(),
                        place_name: name,
                        from_at: beijing_label(from),
                        to_at: beijing_label(to.max(from)),
                        public,
                        key: format!("sim-{case}-{kind}"),
                        ..Default::default()
                    },
                )
                .await?;
        }

        // Contacts: every close exposure, two market visitors as general contacts; the household
        // of one workmate as secondary contacts.
        let mut market = 0;
        let mut workmate_contact: Option<(i64, usize)> = None;
        for e in &exposures {
            if e.setting == Setting::Market {
                market += 1;
                if market > 2 {
                    continue;
                }
            }
            if self.cases.contains_key(&e.person) {
                continue;
            }
            let other = &self.people[e.person];
            let form = ContactForm {
                id_type: other.id_type.clone(),
                id_number: other.id_number.to_string(),
                exposure_kind: e.setting.exposure_kind().code().into(),
                first_exposure_at: beijing_label(e.first_at),
                last_exposure_at: beijing_label(e.last_at),
                ..Default::default()
            };
            match self.app.add_contact(&self.epi, case, &form).await {
                Ok((id, _)) => {
                    self.stats.contacts += 1;
                    if e.setting == Setting::Workplace && workmate_contact.is_none() {
                        workmate_contact = Some((id, e.person));
                    }
                }
                Err(refused) => tracing::debug!(%refused, "contact not added"),
            }
        }
        if let Some((via, workmate)) = workmate_contact {
            let home = self.people[workmate].household_number.clone();
            let members: Vec<ResidentRecord> = self
                .people
                .iter()
                .enumerate()
                .filter(|(i, p)| {
                    p.household_number == home && *i != workmate && !self.cases.contains_key(i)
                })
                .map(|(_, p)| p.clone())
                .take(3)
                .collect();
            for member in members {
                let form = ContactForm {
                    via_contact_id: via.to_string(),
                    id_type: member.id_type.clone(),
                    id_number: member.id_number.to_string(),
                    exposure_kind: "shared_home".into(),
                    first_exposure_at: beijing_label(window_start),
                    last_exposure_at: beijing_label(at - Duration::hours(1)),
                    ..Default::default()
                };
                if self.app.add_contact(&self.epi, case, &form).await.is_ok() {
                    self.stats.contacts += 1;
                }
            }
        }

        // The village where a case lives becomes a high-risk area within hours of its first case.
        let village = person.grid_code.get(..12).unwrap_or_default().to_string();
        if !self.villages.contains(&village) {
            self.villages.push(village);
            let index = self.villages.len() - 1;
            self.schedule(at + Duration::minutes(90), Step::Designate(index));
        }
        Ok(())
    }

    async fn designate(&mut self, index: usize) -> Result<()> {
        let village = self.villages[index].clone();
        let id = self
            .app
            .designate_risk_area(
                &self.commander,
                &RiskAreaForm {
                    scheme: "ninth".into(),
                    tier: "high".into(),
                    unit: "village".into(),
                    region_code: village.clone(),
                    reason: "病例居住地".into(),
                    ..Default::default()
                },
            )
            .await?;
        self.areas.insert(village, id);
        self.stats.areas += 1;
        Ok(())
    }

    pub fn app(&self) -> &App {
        &self.app
    }
}
