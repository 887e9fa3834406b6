//! A case's state changes (病例状态): [`transition`] decides whether an action on a case is allowed
//! and whether it closes the case (出院, 排除), with the event that tells the other modules.

use crate::person_event;

use super::*;

crate::coded_enum! {
    /// Where a case stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum CaseStatus {
        /// 在管: under investigation and treatment.
        Active => "active", "在管",
        /// 已出院: discharged from hospital or fangcang (closed).
        Discharged => "discharged", "已出院",
        /// 已排除: a suspected or initial-screen-positive case excluded (closed).
        Excluded => "excluded", "已排除",
    }
}

/// What a change needs to know of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseState {
    pub status: CaseStatus,
    pub kind: CaseKind,
}

/// What may happen to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseInput {
    /// A step that keeps the case open (reported, investigated, isolated, clinical change,
    /// reclassified, infector).
    Edit,
    /// The words of the public bulletin: may be corrected after the case closed.
    PublicSummary,
    /// 出院.
    Discharge,
    /// 排除.
    Exclude,
}

/// The status a case moves to, and for a closing the time and the person event to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseTransition {
    pub from: CaseStatus,
    pub to: CaseStatus,
    pub closed_at: Option<i64>,
    /// `person_event::CASE_DISCHARGED` or `CASE_EXCLUDED`.
    pub event: Option<&'static str>,
}

/// Why an action on a case is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseRefusal {
    /// The case is discharged or excluded.
    Closed,
    /// A confirmed case or an asymptomatic infection is never excluded: it is discharged when cured.
    InfectedCannotBeExcluded,
}

impl CaseRefusal {
    pub fn message_zh(&self) -> &'static str {
        match self {
            CaseRefusal::Closed => "该病例已结案，不能再修改",
            CaseRefusal::InfectedCannotBeExcluded => {
                "确诊病例和无症状感染者不能排除；治愈请选择“出院”"
            }
        }
    }
}

/// Where `input` moves a case in `state`, at `now`.
pub fn transition(
    state: CaseState,
    input: CaseInput,
    now: i64,
) -> Result<CaseTransition, CaseRefusal> {
    let from = state.status;
    if from != CaseStatus::Active && input != CaseInput::PublicSummary {
        return Err(CaseRefusal::Closed);
    }
    let close = |to: CaseStatus, event: &'static str| CaseTransition {
        from,
        to,
        closed_at: Some(now),
        event: Some(event),
    };
    match input {
        CaseInput::Edit | CaseInput::PublicSummary => Ok(CaseTransition {
            from,
            to: from,
            closed_at: None,
            event: None,
        }),
        CaseInput::Discharge => Ok(close(CaseStatus::Discharged, person_event::CASE_DISCHARGED)),
        CaseInput::Exclude => match state.kind {
            CaseKind::Confirmed | CaseKind::Asymptomatic => {
                Err(CaseRefusal::InfectedCannotBeExcluded)
            }
            CaseKind::Suspected | CaseKind::InitialScreenPositive => {
                Ok(close(CaseStatus::Excluded, person_event::CASE_EXCLUDED))
            }
        },
    }
}

crate::coded_enum! {
    from_code = code_or_label;
    /// The kind of a case (病例类型).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum CaseKind {
        /// 确诊病例
        Confirmed => "confirmed", "确诊病例",
        /// 无症状感染者
        Asymptomatic => "asymptomatic", "无症状感染者",
        /// 疑似病例
        Suspected => "suspected", "疑似病例",
        /// 初筛阳性 (a single tube positive, not yet confirmed)
        InitialScreenPositive => "initial_screen_positive", "初筛阳性",
    }
}

impl CaseKind {
    /// Whether the case's window is anchored at symptom onset (else at the first positive sampling).
    pub fn has_onset(self) -> bool {
        matches!(self, CaseKind::Confirmed | CaseKind::Suspected)
    }

    /// Whether the person is infected (transfer by ambulance only, a designated hospital bed).
    pub fn is_infected(self) -> bool {
        !matches!(self, CaseKind::Suspected)
    }
}

crate::coded_enum! {
    from_code = code_or_label;
    /// How a case was found (发现途径).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum FoundBy {
        /// 全员/区域核酸检测
        MassTesting => "mass_testing", "全员核酸检测",
        /// 发热门诊
        FeverClinic => "fever_clinic", "发热门诊",
        /// 重点人群常规检测
        KeyGroupRoutine => "key_group_routine", "重点人群常规检测",
        /// 隔离点检测
        IsolationSiteTest => "isolation_site_test", "隔离点检测",
        /// 密接/次密接筛查
        ContactScreening => "contact_screening", "密接筛查",
        /// 主动就诊或自报
        SelfReport => "self_report", "主动就诊/自报",
        /// 零售药店四类药品监测
        Pharmacy => "pharmacy", "药店监测",
        /// 抗原自测
        AntigenSelfTest => "antigen_self_test", "抗原自测",
        /// 外地协查
        AssistanceLetter => "assistance_letter", "外地协查",
        Other => "other", "其他",
    }
}

crate::coded_enum! {
    from_code = code_or_label;
    /// Clinical severity (临床分型).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Severity {
        /// 无症状
        None => "none", "无症状",
        /// 轻型
        Mild => "mild", "轻型",
        /// 普通型
        Moderate => "moderate", "普通型",
        /// 重型
        Severe => "severe", "重型",
        /// 危重型
        Critical => "critical", "危重型",
    }
}

/// The two deadlines of a case (§6): the online report and the finished investigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CaseDeadlines {
    pub report_due: i64,
    pub investigation_due: i64,
}

/// The deadlines of a case found at `found_at` (unix seconds).
pub fn case_deadlines(rules: &TracingRules, found_at: i64) -> CaseDeadlines {
    CaseDeadlines {
        report_due: found_at + rules.report_hours * 3600,
        investigation_due: found_at + rules.investigation_hours * 3600,
    }
}

crate::coded_enum! {
    /// Where a deadline stands at `now`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum DeadlineState {
        /// Done before the deadline.
        OnTime => "on_time", "按时完成",
        /// Done, but after the deadline.
        Late => "late", "超时完成",
        /// Not done, deadline still ahead.
        Open => "open", "进行中",
        /// Not done, deadline passed.
        Overdue => "overdue", "已超时",
    }
}

impl DeadlineState {
    pub fn of(due: i64, done_at: Option<i64>, now: i64) -> DeadlineState {
        match done_at {
            Some(done) if done <= due => DeadlineState::OnTime,
            Some(_) => DeadlineState::Late,
            None if now <= due => DeadlineState::Open,
            None => DeadlineState::Overdue,
        }
    }
}

/// The look-back window of a case (§1.1): from `look_back_days` before onset (or before the first
/// positive sampling) until the case was isolated (`None`: not yet isolated, still open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CaseWindow {
    pub opens_at: i64,
    pub closes_at: Option<i64>,
}

/// The window of a case whose anchor (onset, or first positive sampling) is `anchor` (unix seconds).
/// The window opens at Beijing midnight of the anchor day minus the look-back days: "症状出现前4天"
/// counts calendar days.
pub fn case_window(rules: &TracingRules, anchor: i64, isolated_at: Option<i64>) -> CaseWindow {
    const DAY: i64 = 86_400;
    const BEIJING: i64 = 8 * 3600;
    let anchor_midnight = (anchor + BEIJING).div_euclid(DAY) * DAY - BEIJING;
    CaseWindow {
        opens_at: anchor_midnight - rules.look_back_days * DAY,
        closes_at: isolated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;
    const DAY: i64 = 86_400;
    /// 2022-11-20 00:00 Beijing.
    const ONSET_DAY: i64 = 1_668_873_600;

    fn ninth_window() -> (TracingRules, CaseWindow) {
        let rules = Regime::Ninth.tracing_rules();
        let window = case_window(&rules, ONSET_DAY + 10 * HOUR, Some(ONSET_DAY + 2 * DAY));
        (rules, window)
    }
    use CaseKind::{Asymptomatic, Confirmed, InitialScreenPositive, Suspected};
    use CaseStatus::{Active, Discharged, Excluded};

    #[test]
    fn every_action_on_every_case_has_its_row() {
        let now = 1_000;
        let kept = |status| {
            Ok(CaseTransition {
                from: status,
                to: status,
                closed_at: None,
                event: None,
            })
        };
        let closed = |to, event| {
            Ok(CaseTransition {
                from: Active,
                to,
                closed_at: Some(now),
                event: Some(event),
            })
        };
        let discharged = closed(Discharged, person_event::CASE_DISCHARGED);
        let excluded = closed(Excluded, person_event::CASE_EXCLUDED);
        let rows: Vec<(
            CaseStatus,
            CaseKind,
            CaseInput,
            Result<CaseTransition, CaseRefusal>,
        )> = vec![
            (Active, Confirmed, CaseInput::Edit, kept(Active)),
            (Active, Confirmed, CaseInput::PublicSummary, kept(Active)),
            (Active, Confirmed, CaseInput::Discharge, discharged),
            (Active, Asymptomatic, CaseInput::Discharge, discharged),
            (Active, Suspected, CaseInput::Discharge, discharged),
            (Active, Suspected, CaseInput::Exclude, excluded),
            (Active, InitialScreenPositive, CaseInput::Exclude, excluded),
            (
                Active,
                Confirmed,
                CaseInput::Exclude,
                Err(CaseRefusal::InfectedCannotBeExcluded),
            ),
            (
                Active,
                Asymptomatic,
                CaseInput::Exclude,
                Err(CaseRefusal::InfectedCannotBeExcluded),
            ),
            (
                Discharged,
                Confirmed,
                CaseInput::PublicSummary,
                kept(Discharged),
            ),
            (
                Excluded,
                Suspected,
                CaseInput::PublicSummary,
                kept(Excluded),
            ),
            (
                Discharged,
                Confirmed,
                CaseInput::Edit,
                Err(CaseRefusal::Closed),
            ),
            (
                Discharged,
                Confirmed,
                CaseInput::Discharge,
                Err(CaseRefusal::Closed),
            ),
            (
                Excluded,
                Suspected,
                CaseInput::Exclude,
                Err(CaseRefusal::Closed),
            ),
            (
                Excluded,
                Confirmed,
                CaseInput::Exclude,
                Err(CaseRefusal::Closed),
            ),
        ];
        for (status, kind, input, expected) in rows {
            assert_eq!(
                transition(CaseState { status, kind }, input, now),
                expected,
                "{status:?} {kind:?} {input:?}"
            );
        }
    }

    #[test]
    fn the_window_opens_four_days_before_onset_in_the_ninth_edition_and_two_in_the_eighth() {
        let (_, window) = ninth_window();
        assert_eq!(window.opens_at, ONSET_DAY - 4 * DAY);
        let eighth = Regime::Eighth.tracing_rules();
        assert_eq!(
            case_window(&eighth, ONSET_DAY + 23 * HOUR, None).opens_at,
            ONSET_DAY - 2 * DAY
        );
    }

    #[test]
    fn deadlines_are_two_hours_to_report_and_a_day_to_investigate() {
        let rules = Regime::Ninth.tracing_rules();
        let d = case_deadlines(&rules, 1000);
        assert_eq!(d.report_due, 1000 + 2 * HOUR);
        assert_eq!(d.investigation_due, 1000 + 24 * HOUR);
        assert_eq!(
            DeadlineState::of(d.report_due, Some(1000 + HOUR), 0),
            DeadlineState::OnTime
        );
        assert_eq!(
            DeadlineState::of(d.report_due, Some(1000 + 3 * HOUR), 0),
            DeadlineState::Late
        );
        assert_eq!(
            DeadlineState::of(d.report_due, None, 1000 + 3 * HOUR),
            DeadlineState::Overdue
        );
        assert_eq!(
            DeadlineState::of(d.report_due, None, 1000),
            DeadlineState::Open
        );
    }
}
