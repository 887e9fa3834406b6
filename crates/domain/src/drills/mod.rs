//! Emergency drills (全流程全要素全人员应急演练, domain-rules.md §10.1): scenarios as data
//! (`data/drills/`), the steps measured against their deadlines, and the score.

pub mod scenario;
pub mod score;

pub use scenario::{Scenario, parse_scenario, shipped_scenario, shipped_scenarios};
pub use score::{
    MeasuredStep, Observation, Scorecard, StepScore, StepState, TeamScore, measure, score,
};

crate::coded_enum! {
    /// The teams a drill measures (全人员): each step belongs to one.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum DrillTeam {
        Epidemiology => "epidemiology", "流调队",
        Grid => "grid", "网格",
        Transfer => "transfer", "转运专班",
        Site => "site", "隔离点",
        Testing => "testing", "核酸检测",
        Command => "command", "指挥部",
    }
}

crate::coded_enum! {
    /// How a drill is played: by simulated teams (the baseline), or by the teams in the system.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum DrillMode {
        Unattended => "unattended", "无人值守（模拟队伍，基线）",
        Teams => "teams", "实战（各队在系统中操作）",
    }
}

crate::coded_enum! {
    /// Where a drill run stands: measured while it runs, its report kept once it has finished.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RunStatus {
        Running => "running", "进行中",
        Finished => "finished", "已结束",
    }
}

crate::coded_enum! {
    /// A measured step of the response (全流程), with its deadline and weight in the score.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum DrillStep {
        /// A positive's result reaches the epidemiologists as a case (结果回报、病例登记).
        PositiveToCase => "positive_to_case", "阳性结果6小时内登记为病例",
        /// The case's online report, 2 hours after it is found (网络直报).
        CaseReport => "case_report", "病例2小时内网络直报",
        /// Each contact listed within 24 hours of its case being found (密接、次密接判定).
        ContactsListed => "contacts_listed", "密接24小时内判定",
        /// Each lead landed within 24 hours of receipt (落地查人).
        LeadLanded => "lead_landed", "线索24小时内落地",
        /// Each person for a site or a hospital on a vehicle within 12 hours (转运).
        Transfer => "transfer", "需转运人员12小时内上车",
        /// Each person for a site in their room within 24 hours (安置入住).
        Room => "room", "集中隔离24小时内入住",
        /// The county's first report of the outbreak, 2 hours after the first case (首报).
        FirstReport => "first_report", "疫情2小时内首报",
    }
}

impl DrillStep {
    /// The team that owns the step.
    pub fn team(self) -> DrillTeam {
        match self {
            DrillStep::PositiveToCase => DrillTeam::Testing,
            DrillStep::CaseReport | DrillStep::ContactsListed => DrillTeam::Epidemiology,
            DrillStep::LeadLanded => DrillTeam::Grid,
            DrillStep::Transfer => DrillTeam::Transfer,
            DrillStep::Room => DrillTeam::Site,
            DrillStep::FirstReport => DrillTeam::Command,
        }
    }

    /// Hours from the step's start to its deadline.
    pub fn limit_hours(self) -> i64 {
        match self {
            DrillStep::PositiveToCase => 6,
            DrillStep::CaseReport | DrillStep::FirstReport => 2,
            DrillStep::ContactsListed | DrillStep::LeadLanded | DrillStep::Room => 24,
            DrillStep::Transfer => 12,
        }
    }

    /// The step's weight in the score (the weights add up to 100).
    pub fn weight(self) -> u32 {
        match self {
            DrillStep::PositiveToCase => 10,
            DrillStep::CaseReport => 15,
            DrillStep::ContactsListed => 20,
            DrillStep::LeadLanded => 20,
            DrillStep::Transfer => 15,
            DrillStep::Room => 15,
            DrillStep::FirstReport => 5,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weights_add_up_to_a_hundred_and_every_team_owns_a_step() {
        assert_eq!(DrillStep::ALL.iter().map(|s| s.weight()).sum::<u32>(), 100);
        for team in DrillTeam::ALL {
            assert!(DrillStep::ALL.iter().any(|s| s.team() == team), "{team:?}");
        }
        assert_eq!(DrillStep::CaseReport.limit_hours(), 2);
        assert_eq!(DrillStep::ContactsListed.limit_hours(), 24);
        assert_eq!(DrillStep::LeadLanded.limit_hours(), 24);
    }
}
