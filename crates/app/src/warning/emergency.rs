//! The switch between normal and emergency command (平急转换) and its checklist: a commander of
//! the level switches a region (or accepts an alert's proposal), the switch opens the level's
//! checklist, each task closes from the module that does the work where it can (a round opened, a
//! bulletin published, an incident reported, a duty roster, rooms ready) or by hand with a note,
//! and switching back records the conditions met.

use chrono::DateTime;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Permission;
use fangkong_domain::time::{beijing_date, beijing_label};
use fangkong_domain::warning::emergency::{
    self, ClosesOn, CommandState, ConditionSeen, RegionFacts, TaskStatus,
};
use fangkong_store::warning::emergency::{SwitchRecord, SwitchWrite, TaskRecord, TaskWrite};
use serde::{Deserialize, Serialize};

use super::triggers::{AlertView, bounded};
use crate::command::RegionLink;
use crate::scope::load_within;
use crate::{Actor, App, AppError, AppResult, audit_record};

/// A task of the checklist as pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct TaskView {
    pub id: i64,
    pub title: String,
    pub owner: String,
    pub due: String,
    pub done: bool,
    pub late: bool,
    pub lateness: String,
    /// How it closed: "核酸检测轮次 #3 开启（自动）", "张三 勾选：…", or the module that will close it.
    pub how: String,
    pub done_at: String,
    /// Closed by a module, not by hand.
    pub automatic: bool,
}

/// A switch as the history shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SwitchView {
    pub id: i64,
    pub to_label: &'static str,
    pub at: String,
    pub by: String,
    pub reason: String,
    pub alert_id: Option<i64>,
    /// The conditions met (a switch back), in words.
    pub conditions: Vec<String>,
}

/// A condition back to normal with what the platform sees.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionView {
    pub code: String,
    pub title: String,
    /// "满足" / "未满足" / "由指挥部确认".
    pub verdict: &'static str,
    pub holds: bool,
    pub checked: bool,
    pub seen: String,
}

/// A region's command state with its checklist, proposals and history.
#[derive(Debug, Clone, Serialize)]
pub struct CommandStateView {
    pub region: RegionLink,
    pub path: Vec<RegionLink>,
    pub emergency: bool,
    pub state_label: &'static str,
    pub since: String,
    /// An ancestor in emergency whose command covers this region.
    pub covered_by: Option<RegionLink>,
    pub tasks: Vec<TaskView>,
    pub tasks_done: usize,
    pub tasks_late: usize,
    pub proposals: Vec<AlertView>,
    pub conditions: Vec<ConditionView>,
    pub history: Vec<SwitchView>,
    /// Whether the actor may switch this region, and why not.
    pub may_switch: bool,
    pub why_not: String,
    pub children: Vec<ChildState>,
}

/// A child region's state, for drilling down.
#[derive(Debug, Clone, Serialize)]
pub struct ChildState {
    pub code: String,
    pub name: String,
    pub emergency: bool,
}

/// A switch to emergency as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SwitchForm {
    pub region: String,
    pub reason: String,
    /// The alert whose proposal is accepted, if any ('' = none).
    #[serde(default)]
    pub alert: String,
}

/// A switch back to normal as typed: the conditions the commander confirms.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReturnForm {
    pub region: String,
    pub reason: String,
    #[serde(default)]
    pub confirmed: Vec<String>,
}

/// A task ticked by hand.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TaskDoneForm {
    pub note: String,
}

fn label_at(at: i64) -> String {
    DateTime::from_timestamp(at, 0)
        .map(beijing_label)
        .unwrap_or_default()
}

fn how_words(task: &TaskRecord) -> String {
    if task.status == TaskStatus::Done {
        let (kind, id) = task
            .done_how
            .split_once(':')
            .unwrap_or((task.done_how.as_str(), ""));
        return match kind {
            "round" => format!("核酸检测轮次 #{id} 已开启（自动完成）"),
            "bulletin" => format!("疫情通报 #{id} 已发布（自动完成）"),
            "incident" => format!("重大事项报告 #{id} 已报送（自动完成）"),
            "duty_roster" => format!("今日值班已排班 #{id}（自动完成）"),
            "rooms" => format!("可用隔离房间 {id} 间，已达标（自动完成）"),
            "supplies" => format!("物资储备 {id} 种均达30天（自动完成）"),
            "ended" => "随应急状态结束关闭".into(),
            "manual" => format!("{} 勾选：{id}", task.done_by.clone().unwrap_or_default()),
            _ => task.done_how.clone(),
        };
    }
    match task.closes_on {
        Some(on) => format!("待“{}”后自动完成", on.label_zh()),
        None => "由责任单位完成后勾选".into(),
    }
}

fn task_view(task: TaskRecord, now: i64) -> TaskView {
    let done = task.status == TaskStatus::Done;
    let lateness = fangkong_domain::command::late::Lateness::of(task.due_at, now);
    TaskView {
        id: task.id,
        title: task.title.clone(),
        owner: task.owner.clone(),
        due: label_at(task.due_at),
        done,
        late: !done && now > task.due_at,
        lateness: if done {
            String::new()
        } else {
            lateness.words()
        },
        how: how_words(&task),
        done_at: task.done_at.map(label_at).unwrap_or_default(),
        automatic: done && !matches!(task.done_how.split(':').next(), Some("manual" | "ended")),
    }
}

fn switch_view(s: SwitchRecord) -> SwitchView {
    let conditions = serde_json::from_str::<Vec<(String, String)>>(&s.conditions)
        .unwrap_or_default()
        .into_iter()
        .map(|(title, seen)| format!("{title}（{seen}）"))
        .collect();
    SwitchView {
        id: s.id,
        to_label: s.to_state.label_zh(),
        at: label_at(s.at),
        by: s.by_user,
        reason: s.reason,
        alert_id: s.alert_id,
        conditions,
    }
}

impl App {
    /// A region's command state (empty = the jurisdiction).
    pub async fn command_state_view(
        &self,
        actor: &Actor,
        region: &str,
    ) -> AppResult<CommandStateView> {
        actor.require(Permission::ViewWarning)?;
        let code = self.warning_region(actor, region)?;
        let now = self.now_unix();
        let range = code.subtree_range();
        let range = (range.0.as_str(), range.1.as_str());
        let path: Vec<RegionLink> = self
            .region_path_within(actor, code.as_str())
            .await?
            .into_iter()
            .map(|r| RegionLink {
                code: r.code,
                name: r.name,
            })
            .collect();
        let name = path
            .last()
            .filter(|r| r.code == code.as_str())
            .map_or_else(|| code.as_str().to_string(), |r| r.name.clone());
        let state = self.store.command_state(code.as_str()).await?;
        let emergency = state
            .as_ref()
            .is_some_and(|s| s.state == CommandState::Emergency);
        let over = self.store.emergencies_over(code.as_str(), range).await?;
        let covered_by = over
            .iter()
            .filter(|s| s.region_code != code && s.region_code.contains(&code))
            .max_by_key(|s| s.region_code.as_str().len())
            .map(|s| s.region_code.clone());
        let covered_by = match covered_by {
            Some(c) => Some(RegionLink {
                name: self.region_name(&c).await?,
                code: c.into(),
            }),
            None => None,
        };
        let tasks: Vec<TaskView> = match &state {
            Some(s) if emergency => self
                .store
                .tasks_of_switch(s.switch_id)
                .await?
                .into_iter()
                .map(|t| task_view(t, now))
                .collect(),
            _ => Vec::new(),
        };
        let proposals = if emergency {
            Vec::new()
        } else {
            let rows = self.store.switch_proposals(range, 20).await?;
            self.alert_views(rows).await?
        };
        let conditions = if emergency {
            self.conditions_seen(&code)
                .await?
                .into_iter()
                .map(|c| ConditionView {
                    verdict: match c.holds {
                        Some(true) => "满足",
                        Some(false) => "未满足",
                        None => "由指挥部确认",
                    },
                    holds: c.holds != Some(false),
                    checked: c.holds.is_some(),
                    code: c.code,
                    title: c.title,
                    seen: c.seen,
                })
                .collect()
        } else {
            Vec::new()
        };
        let history = self
            .store
            .switches_of(code.as_str(), 20)
            .await?
            .into_iter()
            .map(switch_view)
            .collect();
        let (may_switch, why_not) = if !actor.role.allows(Permission::SwitchCommandState) {
            (false, "只有该级指挥部可以切换指挥状态".to_string())
        } else {
            match emergency::may_switch(&actor.jurisdiction, &code) {
                Ok(()) => (true, String::new()),
                Err(why) => (false, why),
            }
        };
        let children = self
            .store
            .region_children(code.as_str())
            .await?
            .into_iter()
            .filter(|c| {
                emergency::template_for(
                    RegionCode::parse(&c.code)
                        .map(|c| c.level())
                        .unwrap_or(fangkong_domain::region::RegionLevel::Grid),
                )
                .is_some()
            })
            .map(|c| ChildState {
                emergency: over.iter().any(|s| s.region_code.as_str() == c.code),
                code: c.code,
                name: c.name,
            })
            .collect();
        Ok(CommandStateView {
            region: RegionLink {
                code: code.as_str().to_string(),
                name,
            },
            path,
            emergency,
            state_label: if emergency {
                CommandState::Emergency.label_zh()
            } else {
                CommandState::Normal.label_zh()
            },
            since: state
                .as_ref()
                .map(|s| label_at(s.since))
                .unwrap_or_default(),
            covered_by,
            tasks_done: tasks.iter().filter(|t| t.done).count(),
            tasks_late: tasks.iter().filter(|t| t.late).count(),
            tasks,
            proposals,
            conditions,
            history,
            may_switch,
            why_not,
            children,
        })
    }

    async fn conditions_seen(&self, code: &RegionCode) -> AppResult<Vec<ConditionSeen>> {
        let range = code.subtree_range();
        let (last_day, risk_areas_in_force, centralised) = self
            .store
            .return_facts((range.0.as_str(), range.1.as_str()))
            .await?;
        let today = self.today();
        let days_since_last_case = last_day
            .and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
            .map(|d| (today - d).num_days());
        Ok(emergency::conditions(
            code.level(),
            RegionFacts {
                days_since_last_case,
                risk_areas_in_force,
                centralised,
            },
        ))
    }

    /// Checks that `actor` may switch `region`: the permission, the jurisdiction, the level.
    fn check_switch(&self, actor: &Actor, region: &str) -> AppResult<RegionCode> {
        actor.require(Permission::SwitchCommandState)?;
        let code = RegionCode::parse(region.trim()).map_err(|e| AppError::field("区划", e))?;
        actor.require_within(&code)?;
        emergency::may_switch(&actor.jurisdiction, &code).map_err(AppError::Invalid)?;
        Ok(code)
    }

    /// Switches a region to emergency command and opens its checklist; with `alert`, the
    /// alert's proposal is accepted (and the alert closed) in the same transaction.
    pub async fn switch_to_emergency(&self, actor: &Actor, form: &SwitchForm) -> AppResult<i64> {
        let code = self.check_switch(actor, &form.region)?;
        let reason = bounded(&form.reason, "切换原因", 500)?;
        let alert_id = match form.alert.trim() {
            "" => None,
            id => Some(
                id.parse::<i64>()
                    .map_err(|_| AppError::field("预警", "不是有效的预警编号"))?,
            ),
        };
        if let Some(id) = alert_id {
            let alert = load_within(actor, self.store.alert(id)).await?;
            if !alert.region_code.contains(&code) && !code.contains(&alert.region_code) {
                return Err(AppError::field("预警", "该预警不属于所切换的区划"));
            }
        }
        let now = self.now_unix();
        let tasks: Vec<TaskWrite> = emergency::checklist(code.level(), now)
            .into_iter()
            .map(|t| TaskWrite {
                code: t.code,
                title: t.title,
                owner: t.owner,
                due_at: t.due_at,
                closes_on: t.closes_on,
            })
            .collect();
        let switch = SwitchWrite {
            region_code: code.clone(),
            from_state: CommandState::Normal,
            to_state: CommandState::Emergency,
            at: now,
            by_user: actor.username.clone(),
            reason: reason.clone(),
            alert_id,
            conditions: String::new(),
        };
        let audit = audit_record(
            self,
            actor,
            "command_switch",
            code.as_str(),
            format!("转入应急：{reason}"),
        );
        let id = self
            .store
            .switch_command_state(&switch, &tasks, &audit)
            .await?
            .ok_or_else(|| AppError::Conflict("该区划已处于应急状态".into()))?;
        Ok(id)
    }

    /// Switches a region back to normal: every condition the platform checks must hold and the
    /// commander confirms each; the open tasks close as ended.
    pub async fn switch_to_normal(&self, actor: &Actor, form: &ReturnForm) -> AppResult<i64> {
        let code = self.check_switch(actor, &form.region)?;
        let reason = bounded(&form.reason, "切换原因", 500)?;
        let seen = self.conditions_seen(&code).await?;
        emergency::may_return(&seen, &form.confirmed).map_err(AppError::Invalid)?;
        let met: Vec<(String, String)> = seen
            .iter()
            .map(|c| (c.title.clone(), c.seen.clone()))
            .collect();
        let now = self.now_unix();
        let switch = SwitchWrite {
            region_code: code.clone(),
            from_state: CommandState::Emergency,
            to_state: CommandState::Normal,
            at: now,
            by_user: actor.username.clone(),
            reason: reason.clone(),
            alert_id: None,
            conditions: serde_json::to_string(&met).map_err(AppError::internal)?,
        };
        let audit = audit_record(
            self,
            actor,
            "command_switch",
            code.as_str(),
            format!("恢复常态：{reason}"),
        );
        self.store
            .switch_command_state(&switch, &[], &audit)
            .await?
            .ok_or_else(|| AppError::Conflict("该区划不在应急状态".into()))
    }

    /// Ticks a task done by hand, with what was done.
    pub async fn complete_emergency_task(
        &self,
        actor: &Actor,
        id: i64,
        form: &TaskDoneForm,
    ) -> AppResult<()> {
        actor.require(Permission::RespondToWarnings)?;
        let note = bounded(&form.note, "完成情况", 300)?;
        let task = load_within(actor, self.store.emergency_task(id)).await?;
        if task.status != TaskStatus::Open {
            return Err(AppError::Conflict("该任务已完成".into()));
        }
        let now = self.now_unix();
        let audit = audit_record(
            self,
            actor,
            "emergency_task_done",
            format!("emergency_task:{id}"),
            note.clone(),
        );
        let closed = self
            .store
            .close_emergency_task(
                id,
                now,
                &actor.username,
                &format!("manual:{note}"),
                Some(&audit),
            )
            .await?;
        if !closed {
            return Err(AppError::Conflict("该任务已完成".into()));
        }
        Ok(())
    }

    /// Closes the open tasks whose module has done the work since the switch. Returns how many.
    pub async fn refresh_emergency_tasks(&self) -> AppResult<usize> {
        let now = self.now_unix();
        let today = beijing_date(self.now()).to_string();
        let mut closed = 0;
        for task in self.store.open_auto_tasks(500).await? {
            let Some(on) = task.closes_on else {
                continue;
            };
            let since = task.due_at - self.task_hours(&task) * 3600;
            let region = task.region_code.as_str();
            let done = match on {
                ClosesOn::RoundOpened => {
                    let range = task.region_code.subtree_range();
                    self.store
                        .round_opened_since(region, (range.0.as_str(), range.1.as_str()), since)
                        .await?
                        .map(|(id, at)| (format!("round:{id}"), at))
                }
                ClosesOn::BulletinPublished => self
                    .store
                    .bulletin_published_since(region, since)
                    .await?
                    .map(|(id, at)| (format!("bulletin:{id}"), at)),
                ClosesOn::IncidentReported => self
                    .store
                    .incident_filed_since(region, since)
                    .await?
                    .map(|(id, at)| (format!("incident:{id}"), at)),
                ClosesOn::DutyRostered => self
                    .store
                    .duty_rostered_on(region, &today)
                    .await?
                    .map(|id| (format!("duty_roster:{id}"), now)),
                ClosesOn::SuppliesCovered => self
                    .supplies_covered(&task.region_code)
                    .await?
                    .map(|items| (format!("supplies:{items}"), now)),
                ClosesOn::RoomsReady => self
                    .rooms_ready(&task)
                    .await?
                    .map(|free| (format!("rooms:{free}"), now)),
            };
            if let Some((how, at)) = done
                && self
                    .store
                    .close_emergency_task(task.id, at.clamp(since, now), "系统", &how, None)
                    .await?
            {
                closed += 1;
            }
        }
        Ok(closed)
    }

    /// The hours the task's template gives (its due time minus them is the switch's time).
    fn task_hours(&self, task: &TaskRecord) -> i64 {
        emergency::template_for(task.region_code.level())
            .and_then(|t| t.tasks.iter().find(|t| t.code == task.code))
            .map_or(0, |t| t.due_hours)
    }

    /// The free rooms of the task's region when they reach the template's norm.
    async fn rooms_ready(&self, task: &TaskRecord) -> AppResult<Option<i64>> {
        let code = &task.region_code;
        let per_10000 = emergency::template_for(code.level())
            .and_then(|t| t.tasks.iter().find(|t| t.code == task.code))
            .and_then(|t| t.rooms_per_10000)
            .unwrap_or(20);
        let range = code.subtree_range();
        let range = (range.0.as_str(), range.1.as_str());
        let residents = self
            .store
            .subtree_counts(code.as_str(), range)
            .await?
            .residents;
        let free: i64 = self
            .store
            .rooms_by_region(range, code.as_str().len() as i64)
            .await?
            .iter()
            .map(|r| r.free)
            .sum();
        Ok((free >= emergency::rooms_needed(residents, per_10000)).then_some(free))
    }
}
