//! Early warning in the story: the index case found at the fever clinic raises a red alert that
//! proposes the switch (多点触发); forty minutes after the finding the county's commander accepts it
//! and the county enters emergency command, which opens its checklist; an hour later the
//! epidemiology teams report in and that task is ticked by hand. The others close as the modules
//! do the work (the first incident report, the testing round, the bulletin, the duty roster) — or
//! stay open, so the served demo shows a checklist half done.

use anyhow::{Context, Result};
use fangkong_app::warning::{AlertDecisionForm, SwitchForm, TaskDoneForm};

use super::OutbreakPlayer;

impl OutbreakPlayer {
    /// The commander accepts the fever clinic's alert: the county switches to emergency.
    pub(super) async fn emergency_switch(&mut self) -> Result<()> {
        // The trigger pass hears of the case the clinic found.
        self.app.try_run_event_passes().await?;
        let county = self.county()?;
        let state = self
            .app
            .command_state_view(&self.commander, &county)
            .await?;
        let proposal = state
            .proposals
            .iter()
            .find(|a| a.channel.contains("发热门诊"))
            .context("the fever clinic's alert proposes the switch")?;
        self.app
            .switch_to_emergency(
                &self.commander,
                &SwitchForm {
                    region: county,
                    reason: "发热门诊报告核酸阳性病例，多点触发，全区进入战时状态".into(),
                    alert: proposal.id.to_string(),
                },
            )
            .await?;
        Ok(())
    }

    /// The three teams (公安、疾控、工信) report in: the commander ticks the task.
    pub(super) async fn teams_called(&mut self) -> Result<()> {
        let county = self.county()?;
        let state = self
            .app
            .command_state_view(&self.commander, &county)
            .await?;
        if let Some(task) = state
            .tasks
            .iter()
            .find(|t| !t.done && t.title.contains("流调队伍"))
        {
            self.app
                .complete_emergency_task(
                    &self.commander,
                    task.id,
                    &TaskDoneForm {
                        note: "公安、疾控、工信三支流调队伍共42人已集结到位".into(),
                    },
                )
                .await?;
        }
        Ok(())
    }

    /// At each round of operations the duty room verifies the alerts raised more than an hour
    /// ago, each with what was done for its channel; the newest stay open for the served demo.
    pub(super) async fn verify_alerts(&mut self) -> Result<()> {
        let list = self.app.alerts(&self.commander, "", "open").await?;
        let hour_ago = self.clock_now() - chrono::Duration::hours(1);
        let hour_ago = fangkong_domain::time::beijing_label(hour_ago);
        for alert in list.alerts.rows.iter().filter(|a| a.raised <= hour_ago) {
            let note = match alert.channel {
                "发热门诊阳性" => "已核实：患者已由负压救护车转运定点医院，流调同步开展",
                "抗原检测阳性" => "已核实：已上门采集核酸，复核前居家管控",
                "区域协查推送" => "已核实：线索已分派网格，24小时内落地",
                _ => "已核实并按规定处置",
            };
            let form = AlertDecisionForm {
                decision: "verify".into(),
                note: note.into(),
            };
            // An alert someone else closed in between is fine.
            let _ = self
                .app
                .decide_alert(&self.commander, alert.id, &form)
                .await;
        }
        Ok(())
    }
}
