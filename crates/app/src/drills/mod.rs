//! Emergency drills (应急演练): a scenario's run in a sandbox, its steps measured from the
//! sandbox's own records against their deadlines, and the scored after-action report filed with
//! the run. Only a sandbox database runs drills; a production one refuses them.

use fangkong_domain::drills::{
    DrillMode, DrillStep, DrillTeam, MeasuredStep, Observation, RunStatus, Scenario, Scorecard,
    StepState, measure, parse_scenario, score, shipped_scenarios,
};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Permission;
use fangkong_domain::time::beijing_label;
use fangkong_store::drills::DrillReportFiling;
pub use fangkong_store::drills::{DrillRunRecord, DrillStepRecord};
use serde::Serialize;

use crate::{Actor, App, AppError, AppResult, InstanceKind, audit_record};

/// The most late items a report lists (the figures count them all).
pub const REPORT_MAX_ITEMS: usize = 3_000;

/// A run as the list and the report show it.
#[derive(Debug, Clone, Serialize)]
pub struct DrillRunView {
    pub id: i64,
    pub scenario_name: String,
    pub scenario_title: String,
    pub mode: String,
    pub mode_label: &'static str,
    pub region_code: String,
    pub started_label: String,
    pub ends_label: String,
    pub finished: bool,
    pub status_label: &'static str,
    pub score: String,
    pub score_tenths: Option<i64>,
    pub measured_label: String,
}

/// One step's line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct StepLine {
    pub step: DrillStep,
    pub step_label: &'static str,
    pub team_label: &'static str,
    pub limit_hours: i64,
    pub weight: u32,
    pub items: i64,
    pub on_time: i64,
    pub late: i64,
    pub missed: i64,
    pub pending: i64,
    pub on_time_share: String,
}

/// One team's line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct TeamLine {
    pub team: DrillTeam,
    pub team_label: &'static str,
    pub items: i64,
    pub on_time: i64,
    pub late: i64,
    pub missed: i64,
    pub score: String,
}

/// An item that was late or missed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct LateLine {
    pub team_label: &'static str,
    pub step_label: &'static str,
    pub subject: String,
    pub due_label: String,
    pub done_label: String,
    pub state_label: &'static str,
    pub late_minutes: i64,
    pub why: String,
}

/// The after-action report (演练总结评估报告).
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    pub run: DrillRunView,
    pub scenario: Option<Scenario>,
    pub measured: bool,
    pub teams: Vec<TeamLine>,
    pub steps: Vec<StepLine>,
    /// Late and missed items, by team and step (at most [`REPORT_MAX_ITEMS`]).
    pub late: Vec<LateLine>,
    pub late_total: usize,
}

fn label_at(at: Option<i64>) -> String {
    at.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(beijing_label)
        .unwrap_or_default()
}

fn share_words(permille: Option<i64>) -> String {
    match permille {
        Some(p) => format!("{}.{}%", p / 10, p % 10),
        None => "—".into(),
    }
}

fn run_view(r: &DrillRunRecord) -> DrillRunView {
    let finished = r.status == RunStatus::Finished;
    DrillRunView {
        id: r.id,
        scenario_name: r.scenario_name.clone(),
        scenario_title: r.scenario_title.clone(),
        mode_label: r.mode.label_zh(),
        mode: r.mode.code().into(),
        region_code: r.region_code.to_string(),
        started_label: label_at(Some(r.started_at)),
        ends_label: label_at(Some(r.ends_at)),
        finished,
        status_label: if finished { "已结束" } else { "进行中" },
        score: fangkong_domain::drills::score::score_words(r.score_tenths),
        score_tenths: r.score_tenths,
        measured_label: label_at(r.measured_at),
    }
}

fn step_record(run_id: i64, m: &MeasuredStep) -> DrillStepRecord {
    DrillStepRecord {
        id: 0,
        run_id,
        step: m.step,
        team: m.team,
        subject: m.subject.clone(),
        started_at: m.started_at,
        due_at: m.due_at,
        done_at: m.done_at,
        state: m.state,
        late_minutes: m.late_minutes,
        why: m.why.clone(),
    }
}

/// The contacts the scenario says exist but the records do not show by `now`: each one missing,
/// its clock started when the last case was found.
fn unlisted_contacts(scenario: &Scenario, observations: &[Observation]) -> Vec<Observation> {
    let listed = observations
        .iter()
        .filter(|o| o.step == DrillStep::ContactsListed)
        .count();
    let expected = (scenario.close_contacts + scenario.secondary_contacts) as usize;
    let Some(last_case) = observations
        .iter()
        .filter(|o| o.step == DrillStep::CaseReport)
        .map(|o| o.started_at)
        .max()
    else {
        return Vec::new();
    };
    (listed..expected)
        .map(|n| Observation {
            step: DrillStep::ContactsListed,
            subject: format!("应判定而未录入的密接、次密接（第 {} 人）", n + 1),
            started_at: last_case,
            done_at: None,
        })
        .collect()
}

impl App {
    /// The scenarios shipped with fangkong.
    pub fn drill_scenarios(&self) -> Vec<Scenario> {
        shipped_scenarios()
    }

    /// Refuses unless this database is a training or drill sandbox.
    async fn require_sandbox(&self) -> AppResult<()> {
        let kind = self.store.setting(InstanceKind::SETTING).await?;
        if kind.as_deref().and_then(InstanceKind::from_code) != Some(InstanceKind::Sandbox) {
            return Err(AppError::Conflict(
                "这是正式库：应急演练只能在演练库（沙盒）中进行，请用 fangkong drill --db 指定一个新的演练库".into(),
            ));
        }
        Ok(())
    }

    /// Starts a run of `scenario` now (the simulation clock's now), in the scenario's county.
    /// A retry at the same moment returns the same run.
    pub async fn start_drill(
        &self,
        actor: &Actor,
        scenario: &Scenario,
        mode: DrillMode,
    ) -> AppResult<i64> {
        actor.require(Permission::RunDrills)?;
        let county = RegionCode::parse(&scenario.county).map_err(AppError::Invalid)?;
        actor.require_within(&county)?;
        self.require_sandbox().await?;
        let now = self.now_unix();
        let json = serde_json::to_string(scenario)
            .map_err(|e| AppError::internal_in("drill scenario", e))?;
        let run = DrillRunRecord {
            id: 0,
            run_key: format!("{}@{now}:{}", scenario.name, mode.code()),
            scenario_name: scenario.name.clone(),
            scenario_title: scenario.title.clone(),
            scenario_json: json,
            mode,
            region_code: county,
            started_at: now,
            ends_at: now + i64::from(scenario.hours) * 3600,
            status: RunStatus::Running,
            measured_at: None,
            score_tenths: None,
            report_json: String::new(),
            created_by: actor.username.clone(),
            created_at: now,
            finished_at: None,
        };
        let audit = audit_record(self, actor, "start_drill", "", scenario.name.clone());
        Ok(self.store.insert_drill_run(&run, &audit).await?)
    }

    async fn drill_run_within(&self, actor: &Actor, id: i64) -> AppResult<DrillRunRecord> {
        let run = self
            .store
            .drill_run(id)
            .await?
            .ok_or(AppError::NotFound("该演练"))?;
        actor.require_within(&run.region_code)?;
        Ok(run)
    }

    /// Measures a running drill now from the sandbox's records of its window and files the
    /// report (with `finish`, the run ends). A finished run keeps its report.
    pub async fn measure_drill(
        &self,
        actor: &Actor,
        id: i64,
        finish: bool,
    ) -> AppResult<DrillReport> {
        actor.require(Permission::RunDrills)?;
        let run = self.drill_run_within(actor, id).await?;
        if run.status != RunStatus::Running {
            return self.drill_report(actor, id).await;
        }
        self.require_sandbox().await?;
        let scenario = parse_scenario(&run.scenario_json).map_err(AppError::Invalid)?;
        let now = self.now_unix().min(run.ends_at);
        let (lower, upper) = run.region_code.subtree_range();
        let mut observations = self
            .store
            .drill_observations((&lower, &upper), run.started_at, now)
            .await?;
        let unlisted = unlisted_contacts(&scenario, &observations);
        observations.extend(unlisted);
        let measured = measure(&observations, now, &scenario);
        let card = score(&measured);
        let json =
            serde_json::to_string(&card).map_err(|e| AppError::internal_in("drill report", e))?;
        let steps: Vec<DrillStepRecord> = measured.iter().map(|m| step_record(id, m)).collect();
        let audit = audit_record(
            self,
            actor,
            "measure_drill",
            "",
            fangkong_domain::drills::score::score_words(card.score_tenths),
        );
        self.store
            .file_drill_report(
                &DrillReportFiling {
                    run_id: id,
                    measured_at: now,
                    score_tenths: card.score_tenths,
                    report_json: &json,
                    finished_at: finish.then_some(now),
                    steps: &steps,
                },
                &audit,
            )
            .await?;
        self.drill_report(actor, id).await
    }

    /// Files a run measured in another sandbox (the demo's drill) into this database, finished,
    /// with its report and items. A retry returns the run already filed.
    pub async fn file_drill_copy(
        &self,
        actor: &Actor,
        run: &DrillRunRecord,
        steps: &[DrillStepRecord],
    ) -> AppResult<i64> {
        actor.require(Permission::RunDrills)?;
        actor.require_within(&run.region_code)?;
        let copy = DrillRunRecord {
            run_key: format!("copy:{}", run.run_key),
            created_by: actor.username.clone(),
            created_at: self.now_unix(),
            ..run.clone()
        };
        let audit = audit_record(
            self,
            actor,
            "file_drill_report",
            "",
            run.scenario_name.clone(),
        );
        let id = self.store.insert_drill_run(&copy, &audit).await?;
        let steps: Vec<DrillStepRecord> = steps
            .iter()
            .map(|s| DrillStepRecord {
                run_id: id,
                ..s.clone()
            })
            .collect();
        self.store
            .file_drill_report(
                &DrillReportFiling {
                    run_id: id,
                    measured_at: run.measured_at.unwrap_or(run.ends_at),
                    score_tenths: run.score_tenths,
                    report_json: &run.report_json,
                    finished_at: Some(run.finished_at.unwrap_or(run.ends_at)),
                    steps: &steps,
                },
                &audit,
            )
            .await?;
        Ok(id)
    }

    fn require_drill_reader(actor: &Actor) -> AppResult<()> {
        actor
            .require(Permission::ViewCommand)
            .or_else(|_| actor.require(Permission::RunDrills))
    }

    /// The runs of the actor's jurisdiction, newest first.
    pub async fn drill_runs(&self, actor: &Actor) -> AppResult<Vec<DrillRunView>> {
        Self::require_drill_reader(actor)?;
        let (lower, upper) = actor.jurisdiction.subtree_range();
        Ok(self
            .store
            .drill_runs_in((&lower, &upper), 200)
            .await?
            .iter()
            .map(run_view)
            .collect())
    }

    /// A run's raw records (the demo copies them into its own database).
    pub async fn drill_run_records(
        &self,
        actor: &Actor,
        id: i64,
    ) -> AppResult<(DrillRunRecord, Vec<DrillStepRecord>)> {
        Self::require_drill_reader(actor)?;
        let run = self.drill_run_within(actor, id).await?;
        let steps = self.store.drill_steps(id).await?;
        Ok((run, steps))
    }

    /// The after-action report as last measured (the figures filed with the run).
    pub async fn drill_report(&self, actor: &Actor, id: i64) -> AppResult<DrillReport> {
        Self::require_drill_reader(actor)?;
        let run = self.drill_run_within(actor, id).await?;
        let scenario = parse_scenario(&run.scenario_json).ok();
        let card: Option<Scorecard> = serde_json::from_str(&run.report_json).ok();
        let steps = self.store.drill_steps(id).await?;
        let mut late: Vec<LateLine> = steps
            .iter()
            .filter(|s| matches!(s.state, StepState::Late | StepState::Missed))
            .map(|s| {
                let step = s.step;
                LateLine {
                    team_label: step.team().label_zh(),
                    step_label: step.label_zh(),
                    subject: s.subject.clone(),
                    due_label: label_at(Some(s.due_at)),
                    done_label: label_at(s.done_at),
                    state_label: s.state.label_zh(),
                    late_minutes: s.late_minutes,
                    why: s.why.clone(),
                }
            })
            .collect();
        late.sort_by(|a, b| {
            (a.team_label, a.step_label, -a.late_minutes).cmp(&(
                b.team_label,
                b.step_label,
                -b.late_minutes,
            ))
        });
        let late_total = late.len();
        late.truncate(REPORT_MAX_ITEMS);
        let (teams, step_lines) = match &card {
            Some(card) => (
                card.teams
                    .iter()
                    .map(|t| TeamLine {
                        team: t.team,
                        team_label: t.team.label_zh(),
                        items: t.items,
                        on_time: t.on_time,
                        late: t.late,
                        missed: t.missed,
                        score: fangkong_domain::drills::score::score_words(t.score_tenths),
                    })
                    .collect(),
                card.steps
                    .iter()
                    .map(|s| StepLine {
                        step: s.step,
                        step_label: s.step.label_zh(),
                        team_label: s.team.label_zh(),
                        limit_hours: s.step.limit_hours(),
                        weight: s.weight,
                        items: s.items,
                        on_time: s.on_time,
                        late: s.late,
                        missed: s.missed,
                        pending: s.pending,
                        on_time_share: share_words(s.on_time_permille),
                    })
                    .collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        Ok(DrillReport {
            run: run_view(&run),
            scenario,
            measured: card.is_some(),
            teams,
            steps: step_lines,
            late,
            late_total,
        })
    }
}
