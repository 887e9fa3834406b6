//! Early warning and emergency switching (监测预警与平急转换): fever clinics' closed loop,
//! pharmacies' real-name sales, the multi-point triggers and their alerts, and a region's switch
//! between normal and emergency command with its checklist. One file per sub-area; each is an
//! `impl App` block.

pub mod emergency;
pub mod fever_clinics;
mod fever_clinics_forms;
mod fever_clinics_views;
pub mod pharmacies;
pub mod pharmacies_upload;
pub mod triggers;

use chrono::DateTime;
use fangkong_domain::region::RegionCode;
use fangkong_domain::time::{beijing_label, beijing_midnight};
use fangkong_domain::warning::emergency::{CommandState, TaskStatus};
use fangkong_store::warning::triggers::AlertCounts;
use serde::Serialize;

use crate::{App, AppResult};

pub use emergency::{
    ChildState, CommandStateView, ConditionView, ReturnForm, SwitchForm, SwitchView, TaskDoneForm,
    TaskView,
};
pub use triggers::{
    AlertDecisionForm, AlertList, AlertView, EnvironmentForm, TRIGGER_CURSOR_SETTING,
};

/// Early warning's line of the situation picture: the region's command state (its own, or an
/// ancestor's emergency covering it), the alerts, and the checklist's progress.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WarningFigures {
    pub emergency: bool,
    pub state_label: &'static str,
    /// Since when, and which region's command declared it (this one or an ancestor).
    pub since: String,
    pub declared_by: String,
    pub alerts: AlertCounts,
    /// Open alerts proposing the switch (while normal).
    pub proposals: i64,
    pub tasks_total: i64,
    pub tasks_done: i64,
    pub tasks_late: i64,
    /// Regions below in emergency.
    pub emergencies_below: i64,
    /// The sentinels' day: fever clinics and pharmacies of the region, today.
    pub clinics: fangkong_store::warning::fever_clinics::ClinicDayFigures,
    pub pharmacies: fangkong_store::warning::pharmacies::PharmacyDayFigures,
}

impl App {
    /// The picture's early-warning figures for `region` (the caller checked the actor).
    pub(crate) async fn warning_figures(&self, region: &RegionCode) -> AppResult<WarningFigures> {
        let (lower, upper) = region.subtree_range();
        let range = (lower.as_str(), upper.as_str());
        let now = self.now_unix();
        let day_start = beijing_midnight(self.today()).timestamp();
        let alerts = self.store.alert_counts(range, now, day_start).await?;
        let today = self.today().to_string();
        let clinics = self
            .store
            .clinic_day_figures(region.as_str(), &today)
            .await?;
        let pharmacies = self
            .store
            .pharmacy_day_figures(region.as_str(), &today)
            .await?;
        let over = self.store.emergencies_over(region.as_str(), range).await?;
        let declaring = over
            .iter()
            .filter(|s| s.region_code.contains(region))
            .max_by_key(|s| s.region_code.as_str().len());
        let mut figures = WarningFigures {
            emergency: declaring.is_some(),
            state_label: if declaring.is_some() {
                CommandState::Emergency.label_zh()
            } else {
                CommandState::Normal.label_zh()
            },
            alerts,
            clinics,
            pharmacies,
            emergencies_below: over
                .iter()
                .filter(|s| s.region_code.as_str().len() > region.as_str().len())
                .count() as i64,
            ..WarningFigures::default()
        };
        if let Some(state) = declaring {
            figures.since = DateTime::from_timestamp(state.since, 0)
                .map(beijing_label)
                .unwrap_or_default();
            figures.declared_by = self.region_name(&state.region_code).await?;
            for task in self.store.tasks_of_switch(state.switch_id).await? {
                figures.tasks_total += 1;
                if task.status == TaskStatus::Done {
                    figures.tasks_done += 1;
                } else if task.due_at < now {
                    figures.tasks_late += 1;
                }
            }
        } else {
            figures.proposals = self.store.switch_proposals(range, 100).await?.len() as i64;
        }
        Ok(figures)
    }
}
