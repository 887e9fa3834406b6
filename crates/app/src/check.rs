//! The consistency audit (`fangkong check`): the cross-module invariants a command office relies
//! on when it reads one page against another, each checked over the whole database and reported in
//! words with a few examples (case numbers, lead and measure numbers, risk areas' public names —
//! never a person's name or ID number). The queries are `store::check`; the words are here.
//!
//! Records that changed in the last [`SETTLING`] are left out: the background passes carry a fact
//! from one module to the next within seconds, and the audit reports what they failed to carry, not
//! what they have not reached yet.

use fangkong_store::check::{Invariant, Violations};

use crate::{App, AppResult};

/// How long the background passes get to carry a fact before the audit calls it missing on a live
/// server (they run every 10 seconds). A quiet database — the demo after its passes, a test — is
/// checked with no settling time.
pub const SETTLING: chrono::Duration = chrono::Duration::minutes(10);

/// One invariant's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvariantResult {
    /// A stable name for scripts and tests.
    pub key: &'static str,
    /// What must hold, in words.
    pub rule_zh: &'static str,
    pub violations: Violations,
}

/// Every invariant's result, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub results: Vec<InvariantResult>,
}

impl CheckReport {
    /// Whether every invariant holds.
    pub fn is_clean(&self) -> bool {
        self.results.iter().all(|r| r.violations.count == 0)
    }

    /// The invariants that do not hold.
    pub fn broken(&self) -> impl Iterator<Item = &InvariantResult> {
        self.results.iter().filter(|r| r.violations.count > 0)
    }
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for result in &self.results {
            let Violations { count, examples } = &result.violations;
            if *count == 0 {
                writeln!(f, "✓ {}", result.rule_zh)?;
            } else {
                let more = if *count as usize > examples.len() {
                    "……"
                } else {
                    ""
                };
                writeln!(
                    f,
                    "✗ {}：{count} 处不符（{}{more}）",
                    result.rule_zh,
                    examples.join("、")
                )?;
            }
        }
        let broken = self.broken().count();
        if broken == 0 {
            write!(f, "一致性检查通过：{} 项全部符合。", self.results.len())
        } else {
            write!(
                f,
                "一致性检查未通过：{} 项中 {broken} 项不符。",
                self.results.len()
            )
        }
    }
}

/// The stable name and the words of an invariant.
fn described(invariant: Invariant) -> (&'static str, &'static str) {
    match invariant {
        Invariant::OpenCaseIsRed => ("open_case_is_red", "在管病例（含疑似、初筛阳性）均为红码"),
        Invariant::CloseContactIsHandled => (
            "close_contact_is_handled",
            "每名密切接触者都已有管控措施或落地查人线索",
        ),
        Invariant::DischargedCaseDoesNotWait => {
            ("discharged_case_does_not_wait", "已出院病例不再等待转运")
        }
        Invariant::ControlledPersonsLeadIsLanded => (
            "controlled_persons_lead_is_landed",
            "已在隔离点、居家或医院管控的人员，其线索均已落地",
        ),
        Invariant::HospitalisedHasBed => (
            "hospitalised_has_bed",
            "管控记录为住院的人员都有在院收治记录",
        ),
        Invariant::RiskAreaClockCountsLatestInfection => (
            "risk_area_clock_counts_latest_infection",
            "风险区的无新增天数从区内最近一例感染者起算",
        ),
        Invariant::InitialScreenCaseHasRecheck => (
            "initial_screen_case_has_recheck",
            "核酸初筛阳性的在管病例都有单管复核任务",
        ),
        Invariant::PushedPersonHasCodeFact => (
            "pushed_person_has_code_fact",
            "大数据推送的人员（有证件号）都已按推送赋码或弹窗",
        ),
        Invariant::OpenLeadFollowsMove => (
            "open_lead_follows_move",
            "迁移网格人员的待落地线索都在其现登记网格",
        ),
        Invariant::MeasureFollowsMove => (
            "measure_follows_move",
            "迁移网格人员的在管管控措施都在其现登记网格",
        ),
        Invariant::RoundSwabbedWithinTarget => (
            "round_swabbed_within_target",
            "进行中的核酸检测轮次，各网格已采人数不超过应采人数",
        ),
        Invariant::SituationCountersMatchRecords => (
            "situation_counters_match_records",
            "态势计数（管控人数、各色码人数、卡口通行）与明细记录一致",
        ),
        Invariant::CaseDaysMatchCases => (
            "case_days_match_cases",
            "疫情曲线计数（按发病日期、按报告日期）与病例逐日相符",
        ),
        Invariant::CommandStateMatchesLastSwitch => (
            "command_state_matches_last_switch",
            "各区划的指挥状态与最近一次平急转换相符，应急状态都有应急任务清单",
        ),
        Invariant::PositivePoolRaisedAlert => {
            ("positive_pool_raised_alert", "每个阳性混管都已触发预警")
        }
        Invariant::SentinelCountersMatchRecords => (
            "sentinel_counters_match_records",
            "哨点计数（药店每日销售与证件无效笔数、发热门诊每日就诊人次）与明细记录一致",
        ),
        Invariant::ReserveStockMatchesLedger => (
            "reserve_stock_matches_ledger",
            "各仓库每种物资的库存与台账出入库合计一致",
        ),
        Invariant::SupplyPassesNumberedAndChecked => (
            "supply_passes_numbered_and_checked",
            "保供通行证编号为县级区划代码加6位流水号，各县流水号从000000起连续不重复，卡口放行的车辆都有对应通行证且车牌一致",
        ),
        Invariant::DeliveryFollowsItsSteps => (
            "delivery_follows_its_steps",
            "封控隔离家庭的配送需求状态与最近一步记录一致，已排时段和配送中的都有收货点和时段",
        ),
        Invariant::VaccineDosesKeepIntervals => (
            "vaccine_doses_keep_intervals",
            "每条第二剂接种记录都在第一剂满21天后，每条加强针都在全程接种满3个月后",
        ),
        Invariant::ColdChainPositiveRaisedAlert => (
            "cold_chain_positive_raised_alert",
            "冷链批次的每个阳性检测（货品、外包装、环境）都已触发预警",
        ),
        Invariant::AnalyticsFindingsLanded => (
            "analytics_findings_landed",
            "大数据推送找到的每个人都已落实：任务的计数与结果一致，每条结果的线索（或越界报警）都存在",
        ),
    }
}

impl App {
    /// Runs the consistency audit over the whole database, leaving out what changed within
    /// `settling` of now. A tool's function (the CLI, the demo, tests): it reads below any one
    /// user's jurisdiction and returns no personal data.
    pub async fn check_consistency(&self, settling: chrono::Duration) -> AppResult<CheckReport> {
        // Records changed at or before now − settling are settled.
        let settled_before = (self.now() - settling).timestamp() + 1;
        let mut results = Vec::with_capacity(Invariant::ALL.len());
        for invariant in Invariant::ALL {
            let (key, rule_zh) = described(invariant);
            results.push(InvariantResult {
                key,
                rule_zh,
                violations: self
                    .store
                    .invariant_violations(invariant, settled_before)
                    .await?,
            });
        }
        Ok(CheckReport { results })
    }
}
