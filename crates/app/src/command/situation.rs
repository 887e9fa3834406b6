//! The situation picture (态势): one screen of a region's outbreak for its command office — the
//! day's infections against the day before, people under control and where, the testing round,
//! leads, transfers, codes, risk areas and checkpoints — each figure read through the same store
//! function the module's own page reads (so they agree), from counters moved in the writing
//! transactions; and a table of the child regions, worst first, drilling down to a grid.

use std::collections::{BTreeMap, HashMap};

use chrono::Duration;
use fangkong_domain::command::late::minutes_words;
use fangkong_domain::investigation::CaseKind;
use fangkong_domain::isolation::MeasureStatus;
use fangkong_domain::region::{RegionCode, RegionLevel};
use fangkong_domain::role::Permission;
use fangkong_domain::time::{beijing_label, beijing_midnight};
use serde::Serialize;

use crate::leads::RegionLeadCounts;
use crate::mass_testing::CoverageLine;
use crate::{Actor, App, AppResult, parse_region_code};

/// Cases by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KindCounts {
    pub confirmed: i64,
    pub asymptomatic: i64,
    pub initial_screen_positive: i64,
    pub suspected: i64,
}

impl KindCounts {
    pub(crate) fn add(&mut self, kind: &str, n: i64) {
        match CaseKind::from_code(kind) {
            Some(CaseKind::Confirmed) => self.confirmed += n,
            Some(CaseKind::Asymptomatic) => self.asymptomatic += n,
            Some(CaseKind::InitialScreenPositive) => self.initial_screen_positive += n,
            Some(CaseKind::Suspected) | None => self.suspected += n,
        }
    }

    /// Infections: confirmed and asymptomatic (suspected and initial-screen cases are not yet).
    pub fn infections(&self) -> i64 {
        self.confirmed + self.asymptomatic
    }
}

/// People under measures, by where they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ControlFigures {
    /// 集中隔离 (checked in at a site).
    pub centralised: i64,
    /// 居家 (at home).
    pub home: i64,
    /// 住院 (in a designated hospital).
    pub hospital: i64,
    /// 待转运 (waiting for a room, a coach or an ambulance).
    pub awaiting_transfer: i64,
    /// Of those, waiting for an ambulance to hospital.
    pub awaiting_hospital: i64,
    /// Longest wait of anyone waiting, in minutes.
    pub longest_wait_minutes: i64,
    /// (category label, people under a current measure), largest first.
    pub by_category: Vec<(&'static str, i64)>,
    pub rooms: i64,
    pub rooms_free: i64,
}

impl ControlFigures {
    pub fn total(&self) -> i64 {
        self.centralised + self.home + self.hospital + self.awaiting_transfer
    }

    /// "3小时20分", or "—" when nobody waits.
    pub fn longest_wait_words(&self) -> String {
        if self.awaiting_transfer == 0 {
            "—".into()
        } else {
            minutes_words(self.longest_wait_minutes)
        }
    }
}

/// An open testing round's progress in the region.
#[derive(Debug, Clone, Serialize)]
pub struct RoundFigure {
    pub id: i64,
    pub name: String,
    pub line: CoverageLine,
}

/// A risk area in force with its next step.
#[derive(Debug, Clone, Serialize)]
pub struct AreaFigure {
    pub id: i64,
    pub place: String,
    pub tier_label: &'static str,
    /// The next step in words ("可降为中风险区：1月20日起" …), empty when none is due.
    pub next: String,
    pub next_ready: bool,
}

/// Checkpoint passages of the day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CheckpointFigures {
    pub passages: i64,
    /// 劝返 and unreadable codes.
    pub refused: i64,
    /// Sent to test on the spot or to a fever clinic.
    pub diverted: i64,
}

/// One child region's line, worst first.
#[derive(Debug, Clone, Serialize)]
pub struct ChildSituation {
    pub code: String,
    pub name: String,
    /// Where its link leads: its own picture, or (a grid) its list of leads to land.
    pub href: String,
    pub new_today: i64,
    pub active_cases: i64,
    pub under_control: i64,
    pub awaiting_transfer: i64,
    pub leads_open: i64,
    pub leads_overdue: i64,
    /// Coverage of the newest open round, per mille (None when no round is open there).
    pub coverage_per_mille: Option<i64>,
    pub red_codes: i64,
}

impl ChildSituation {
    pub fn coverage_label(&self) -> String {
        self.coverage_per_mille
            .map(|p| format!("{}.{}%", p / 10, p % 10))
            .unwrap_or_else(|| "—".into())
    }

    /// Worse sorts first: new infections, then overdue leads, waits, open cases, people under
    /// control.
    fn severity(&self) -> (i64, i64, i64, i64, i64) {
        (
            self.new_today,
            self.leads_overdue,
            self.awaiting_transfer,
            self.active_cases,
            self.under_control,
        )
    }
}

/// The picture of one region.
#[derive(Debug, Clone, Serialize)]
pub struct Situation {
    pub region_code: String,
    pub region_name: String,
    pub level_label: &'static str,
    /// The region above, when it is inside the jurisdiction (for the way back up).
    pub parent: Option<(String, String)>,
    pub is_grid: bool,
    /// "2021-01-12 10:00" (Beijing time).
    pub as_of: String,
    pub today: KindCounts,
    pub yesterday: KindCounts,
    pub cumulative: KindCounts,
    pub active_cases: i64,
    pub close_contacts: i64,
    pub secondary_contacts: i64,
    pub control: ControlFigures,
    pub rounds: Vec<RoundFigure>,
    pub pending_rechecks: i64,
    pub leads: RegionLeadCounts,
    pub red_codes: i64,
    pub yellow_codes: i64,
    pub popups: i64,
    pub risk_areas: Vec<AreaFigure>,
    pub checkpoints: CheckpointFigures,
    /// The command state, the alerts and the emergency checklist (监测预警与平急转换).
    pub warning: crate::warning::WarningFigures,
    /// The reserves' days of cover, worst first (物资储备).
    pub supplies: crate::supplies::reserves_cover::SuppliesSlot,
    pub children: Vec<ChildSituation>,
}

/// The line of child region `code`, added when first counted.
fn child<'a>(
    lines: &'a mut BTreeMap<String, ChildSituation>,
    code: &str,
) -> &'a mut ChildSituation {
    lines
        .entry(code.to_string())
        .or_insert_with(|| ChildSituation {
            code: code.to_string(),
            name: String::new(),
            href: String::new(),
            new_today: 0,
            active_cases: 0,
            under_control: 0,
            awaiting_transfer: 0,
            leads_open: 0,
            leads_overdue: 0,
            coverage_per_mille: None,
            red_codes: 0,
        })
}

impl App {
    /// The region a command page shows: the jurisdiction when `raw` is empty, else a region
    /// inside it.
    pub(crate) fn command_region(&self, actor: &Actor, raw: &str) -> AppResult<RegionCode> {
        actor.require(Permission::ViewCommand)?;
        let region = if raw.trim().is_empty() {
            actor.jurisdiction.clone()
        } else {
            parse_region_code(raw)?
        };
        actor.require_within(&region)?;
        Ok(region)
    }

    /// The situation picture of `region` (empty: the actor's jurisdiction).
    pub async fn situation(&self, actor: &Actor, region: &str) -> AppResult<Situation> {
        let region = self.command_region(actor, region)?;
        let (lower, upper) = region.subtree_range();
        let range = (lower.as_str(), upper.as_str());
        let is_grid = region.level() == RegionLevel::Grid;
        let child_len = region
            .level()
            .child()
            .map_or(region.as_str().len(), |l| l.code_len()) as i64;
        let now = self.now_unix();
        let today_start = beijing_midnight(self.today()).timestamp();
        let yesterday_start = today_start - Duration::days(1).num_seconds();
        let mut lines: BTreeMap<String, ChildSituation> = BTreeMap::new();
        // Infections: the day's from the cases found today and yesterday; the rest from the
        // investigation counters the investigation overview reads.
        let (mut today, mut yesterday) = (KindCounts::default(), KindCounts::default());
        for row in self
            .store
            .cases_found_by_child(range, child_len, today_start, now + 1)
            .await?
        {
            today.add(&row.what, row.n);
            let kind = CaseKind::from_code(&row.what);
            if matches!(kind, Some(CaseKind::Confirmed | CaseKind::Asymptomatic)) {
                child(&mut lines, &row.code).new_today += row.n;
            }
        }
        for row in self
            .store
            .cases_found_by_child(range, child_len, yesterday_start, today_start)
            .await?
        {
            yesterday.add(&row.what, row.n);
        }
        let regime = self.tracing_regime().await?;
        let rules = regime.tracing_rules_in(region.as_str());
        let counts = self
            .store
            .case_counts(range, now, rules.report_hours, rules.investigation_hours)
            .await?;
        let cumulative = KindCounts {
            confirmed: counts.confirmed,
            asymptomatic: counts.asymptomatic,
            initial_screen_positive: counts.initial_screen_positive,
            suspected: counts.suspected,
        };
        for line in self
            .store
            .case_counts_by_child(range, child_len, now - rules.report_hours * 3600)
            .await?
        {
            child(&mut lines, &line.code).active_cases += line.active;
        }

        // People under control: the measure counters the isolation overview reads.
        let mut control = ControlFigures::default();
        let mut by_category: HashMap<&'static str, i64> = HashMap::new();
        for row in self.store.measure_counts_by_child(range, child_len).await? {
            let status = row.status;
            if status == MeasureStatus::Released {
                continue;
            }
            let line = child(&mut lines, &row.code);
            line.under_control += row.n;
            match status {
                MeasureStatus::InSite => control.centralised += row.n,
                MeasureStatus::AtHome => control.home += row.n,
                MeasureStatus::Hospitalised => control.hospital += row.n,
                _ => {
                    control.awaiting_transfer += row.n;
                    line.awaiting_transfer += row.n;
                    if status == MeasureStatus::AwaitingHospital {
                        control.awaiting_hospital += row.n;
                    }
                }
            }
            *by_category.entry(row.category.label_zh()).or_default() += row.n;
        }
        let mut by_category: Vec<(&'static str, i64)> = by_category.into_iter().collect();
        by_category.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        control.by_category = by_category;
        // The longest wait over the whole region: one query over the waiting set.
        for (_, _, since) in self
            .store
            .oldest_waiting(range, region.as_str().len() as i64)
            .await?
        {
            control.longest_wait_minutes =
                control.longest_wait_minutes.max((now - since).max(0) / 60);
        }
        for rooms in self.store.rooms_by_region(range, child_len).await? {
            control.rooms += rooms.rooms;
            control.rooms_free += rooms.free;
        }

        // Testing: the open rounds' counters, as the round pages read them.
        let mut rounds = Vec::new();
        let mut newest_round: Option<i64> = None;
        for round in self
            .store
            .rounds_touching(region.as_str(), range)
            .await?
            .into_iter()
            .filter(|r| r.closed_at.is_none())
        {
            let mut line = CoverageLine::empty(region.as_str());
            let mut per_child: BTreeMap<String, CoverageLine> = BTreeMap::new();
            for row in self.store.round_progress(round.id, range).await? {
                line.add(&row);
                let code: String = row.grid_code.chars().take(child_len as usize).collect();
                per_child
                    .entry(code.clone())
                    .or_insert_with(|| CoverageLine::empty(&code))
                    .add(&row);
            }
            line.finish();
            if newest_round.is_none_or(|id| round.id > id) {
                newest_round = Some(round.id);
                for (code, mut coverage) in per_child {
                    coverage.finish();
                    child(&mut lines, &code).coverage_per_mille = Some(coverage.per_mille);
                }
            }
            rounds.push(RoundFigure {
                id: round.id,
                name: round.name.clone(),
                line,
            });
        }
        let pending_rechecks = self
            .store
            .count_recheck_tasks(range, Some("pending"))
            .await?;

        // Leads: the leads module's own command view.
        let leads = self.leads_overview(actor, region.as_str()).await?;
        for line in &leads.children {
            let c = child(&mut lines, &line.code);
            c.leads_open += line.pending + line.unrouted;
            c.leads_overdue += line.overdue;
        }

        // Codes: the code counters the codes page reads.
        let (mut red_codes, mut yellow_codes, mut popups) = (0, 0, 0);
        for row in self.store.code_counts_by_child(range, child_len).await? {
            match row.what.as_str() {
                "red" => {
                    red_codes += row.n;
                    child(&mut lines, &row.code).red_codes += row.n;
                }
                "yellow" => yellow_codes += row.n,
                "popup" => popups += row.n,
                _ => {}
            }
        }

        // Risk areas in force inside the region, with their next step.
        let mut risk_areas = Vec::new();
        for area in self.risk_areas(actor, false).await? {
            if !area.area.region_code.as_str().starts_with(region.as_str()) {
                continue;
            }
            let (next, next_ready) = match &area.next {
                Some(step) => (
                    format!("可调为{}：{}起", step.to_label, step.earliest),
                    step.ready,
                ),
                None => (String::new(), false),
            };
            risk_areas.push(AreaFigure {
                id: area.area.id,
                place: area.region_path.clone(),
                tier_label: area.tier_label,
                next,
                next_ready,
            });
        }

        // Checkpoints: today's passages from their counters.
        let mut checkpoints = CheckpointFigures::default();
        let day = (now + 8 * 3600).div_euclid(86_400);
        for (decision, n) in self.store.passage_counts_on(range, day).await? {
            checkpoints.passages += n;
            match decision.as_str() {
                "refuse" | "rejected" => checkpoints.refused += n,
                "test_on_spot" | "fever_clinic" => checkpoints.diverted += n,
                _ => {}
            }
        }

        // The child regions: names, links, worst first. A grid's own line is not a child.
        let codes: Vec<String> = lines.keys().cloned().collect();
        let names: HashMap<String, String> = self
            .store
            .regions_by_codes(&codes)
            .await?
            .into_iter()
            .map(|r| (r.code, r.name))
            .collect();
        let mut children: Vec<ChildSituation> = lines
            .into_values()
            .filter(|c| !is_grid && c.code != region.as_str())
            .map(|mut c| {
                c.name = names
                    .get(&c.code)
                    .cloned()
                    .unwrap_or_else(|| c.code.clone());
                c.href = format!("/command?region={}", c.code);
                c
            })
            .collect();
        children.sort_by(|a, b| b.severity().cmp(&a.severity()).then(a.code.cmp(&b.code)));

        let parent = match region.parent() {
            Some(p) if actor.jurisdiction.contains(&p) => {
                let name = self.region_name(&p).await?;
                Some((p.as_str().to_string(), name))
            }
            _ => None,
        };
        Ok(Situation {
            region_name: self.region_name(&region).await?,
            region_code: region.as_str().to_string(),
            level_label: region.level().label_zh(),
            parent,
            is_grid,
            as_of: beijing_label(self.now()),
            today,
            yesterday,
            cumulative,
            active_cases: counts.active,
            close_contacts: counts.close_contacts,
            secondary_contacts: counts.secondary_contacts,
            control,
            rounds,
            pending_rechecks,
            leads: leads.total,
            red_codes,
            yellow_codes,
            popups,
            risk_areas,
            checkpoints,
            warning: self.warning_figures(&region).await?,
            supplies: self.supplies_slot(&region).await?,
            children,
        })
    }
}
