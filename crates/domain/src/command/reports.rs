//! Daily report and zero report (日报告、零报告, domain-rules.md §10.2): which offices report, when a
//! day's report is due, the figures it carries, how a submission is classified (按时 / 迟报 / 漏报),
//! the zero-report rule, and the difference a correction (误报) records.
//!
//! An office is a region of the command tree (province, city, county, township); villages and grids
//! do not report. The report of day D covers D 00:00–24:00 Beijing time (the cut-off is 24:00, i.e.
//! 00:00 of D + 1) and is due on D + 1 at the office level's due time.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::region::RegionLevel;
use crate::time::beijing_midnight;

crate::coded_enum! {
    /// A figure of the daily report (日报告的统计项), in the order of the form and the sheet.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Figure {
        NewConfirmed => "new_confirmed", "新增确诊病例",
        NewAsymptomatic => "new_asymptomatic", "新增无症状感染者",
        NewInitialScreen => "new_initial_screen", "新增初筛阳性",
        TotalConfirmed => "total_confirmed", "累计确诊病例",
        TotalAsymptomatic => "total_asymptomatic", "累计无症状感染者",
        TotalInitialScreen => "total_initial_screen", "累计初筛阳性",
        NewCloseContacts => "new_close_contacts", "新增密切接触者",
        NewSecondaryContacts => "new_secondary_contacts", "新增次密切接触者",
        Centralised => "centralised", "集中隔离人数",
        AtHome => "at_home", "居家管控人数",
        Hospitalised => "hospitalised", "住院治疗人数",
        LeadsReceived => "leads_received", "当日接收线索",
        LeadsLanded => "leads_landed", "当日落地管控线索",
        FeverClinicVisits => "fever_clinic_visits", "当日发热门诊就诊人次",
        FeverClinicPositives => "fever_clinic_positives", "当日发热门诊发现阳性",
    }
}

impl Figure {
    /// Figures that say something new happened that day: a zero report contradicts them.
    pub fn is_new(self) -> bool {
        matches!(
            self,
            Figure::NewConfirmed
                | Figure::NewAsymptomatic
                | Figure::NewInitialScreen
                | Figure::NewCloseContacts
                | Figure::NewSecondaryContacts
        )
    }
}

/// One value per [`Figure`]; JSON is an object `{code: value}` (a missing code reads as 0).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Figures(BTreeMap<Figure, i64>);

impl Figures {
    pub fn get(&self, figure: Figure) -> i64 {
        self.0.get(&figure).copied().unwrap_or(0)
    }

    pub fn set(&mut self, figure: Figure, value: i64) {
        self.0.insert(figure, value);
    }

    /// Every figure with its value, in the form's order.
    pub fn rows(&self) -> Vec<(Figure, i64)> {
        Figure::ALL.iter().map(|f| (*f, self.get(*f))).collect()
    }

    pub fn is_zero(&self) -> bool {
        Figure::ALL.iter().all(|f| self.get(*f) == 0)
    }

    /// The sum of several offices' figures.
    pub fn add(&mut self, other: &Figures) {
        for f in Figure::ALL {
            self.set(f, self.get(f) + other.get(f));
        }
    }
}

/// A figure that differs between two sets: (figure, before/system, after/submitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub figure: Figure,
    pub from: i64,
    pub to: i64,
}

impl Difference {
    /// `新增确诊病例 2→3（+1）`.
    pub fn label_zh(&self) -> String {
        let delta = self.to - self.from;
        format!(
            "{} {}→{}（{}{}）",
            self.figure.label_zh(),
            self.from,
            self.to,
            if delta > 0 { "+" } else { "" },
            delta
        )
    }
}

/// The figures of `to` that differ from `from`, in the form's order: what a submission changed
/// against the system, or a correction against the report it corrects.
pub fn differences(from: &Figures, to: &Figures) -> Vec<Difference> {
    Figure::ALL
        .into_iter()
        .filter(|f| from.get(*f) != to.get(*f))
        .map(|figure| Difference {
            figure,
            from: from.get(figure),
            to: to.get(figure),
        })
        .collect()
}

crate::coded_enum! {
    /// Which report was submitted (报告类型).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ReportKind {
        Daily => "daily", "日报告",
        Zero => "zero", "零报告",
    }
}

crate::coded_enum! {
    /// Where an office's report of a day stands, as its parent sees it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Timing {
        /// Submitted by the due time (按时).
        OnTime => "on_time", "按时",
        /// Submitted after the due time (迟报).
        Late => "late", "迟报",
        /// Due time passed, nothing submitted (漏报).
        Missing => "missing", "漏报",
        /// Not submitted and not yet due (待报).
        NotDue => "not_due", "待报",
    }
}

/// Classifies an office's report of a day: submitted at `submitted_at` (unix seconds) or not,
/// against its `due_at`, at `now`. A report submitted exactly at the due time is on time.
pub fn classify(submitted_at: Option<i64>, due_at: i64, now: i64) -> Timing {
    match submitted_at {
        Some(at) if at <= due_at => Timing::OnTime,
        Some(_) => Timing::Late,
        None if now > due_at => Timing::Missing,
        None => Timing::NotDue,
    }
}

/// The status column of the sheet and the board (状态): 按时 / 迟报 / 漏报 / 待报, a zero
/// report as 零报告 (with （迟报） when late), a corrected one as 更正.
pub fn status_label(kind: Option<ReportKind>, timing: Timing, corrections: i64) -> String {
    let base = match (kind, timing) {
        (Some(ReportKind::Zero), Timing::Late) => "零报告（迟报）".to_string(),
        (Some(ReportKind::Zero), _) => "零报告".to_string(),
        (_, timing) => timing.label_zh().to_string(),
    };
    if corrections > 0 {
        format!("更正（{base}）")
    } else {
        base
    }
}

/// The levels that report, with their default due times (Beijing, the next morning): townships
/// 08:30, counties/districts 09:00, cities 09:30, the province 10:00 — each level's report is due
/// after the reports below it, as the school template of §10.2 has departments by 08:30 and the
/// office by 09:30. Installations override them (`App` reads the setting per level).
pub fn default_due_time(level: RegionLevel) -> Option<NaiveTime> {
    let (h, m) = match level {
        RegionLevel::Township => (8, 30),
        RegionLevel::County => (9, 0),
        RegionLevel::City => (9, 30),
        RegionLevel::Province => (10, 0),
        RegionLevel::Village | RegionLevel::Grid => return None,
    };
    NaiveTime::from_hms_opt(h, m, 0)
}

/// Whether a region of this level is a command office that files daily reports.
pub fn files_reports(level: RegionLevel) -> bool {
    default_due_time(level).is_some()
}

/// The cut-off of the report of `day`: 24:00 Beijing (00:00 of the next day).
pub fn cut_off(day: NaiveDate) -> DateTime<Utc> {
    beijing_midnight(day.succ_opt().unwrap_or(NaiveDate::MAX))
}

/// The due time of the report of `day` at `due` (Beijing, on the next day).
pub fn due_at(day: NaiveDate, due: NaiveTime) -> DateTime<Utc> {
    cut_off(day) + (due - NaiveTime::MIN)
}

/// Reads an installation's due time `HH:MM` (设置).
pub fn parse_due_time(text: &str) -> Result<NaiveTime, String> {
    crate::time::parse_time_of_day(text).map_err(|problem| format!("报送时限{problem}"))
}

/// Why a submission cannot be taken, in the form's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitRefusal {
    /// A zero report with a figure not zero.
    ZeroWithFigures(Figure),
    /// A zero report while the system shows something new that day, without a reason.
    ZeroAgainstSystem(Vec<Figure>),
    /// Figures differing from the system's without a reason.
    DifferenceWithoutReason(Vec<Difference>),
}

impl SubmitRefusal {
    pub fn message_zh(&self) -> String {
        match self {
            SubmitRefusal::ZeroWithFigures(f) => {
                format!(
                    "零报告的各项数字应为0，{}不是0；有情况请报日报告",
                    f.label_zh()
                )
            }
            SubmitRefusal::ZeroAgainstSystem(figures) => format!(
                "系统显示当日有新增（{}），不能报零报告；确需报零请在“差异说明”中写明原因",
                figures
                    .iter()
                    .map(|f| f.label_zh())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
            SubmitRefusal::DifferenceWithoutReason(diffs) => format!(
                "以下数字与系统统计不一致：{}；请核对，或在“差异说明”中写明原因",
                diffs
                    .iter()
                    .map(Difference::label_zh)
                    .collect::<Vec<_>>()
                    .join("；")
            ),
        }
    }
}

/// Checks a submission against the system's figures as of the cut-off. A daily report may differ
/// from the system only with a reason; a zero report must be all zeros and, when the system shows
/// anything new that day, needs a reason too. Returns the differences to keep with the report.
pub fn check_submission(
    kind: ReportKind,
    system: &Figures,
    submitted: &Figures,
    reason: &str,
) -> Result<Vec<Difference>, SubmitRefusal> {
    let has_reason = !reason.trim().is_empty();
    if kind == ReportKind::Zero {
        if let Some(f) = Figure::ALL.into_iter().find(|f| submitted.get(*f) != 0) {
            return Err(SubmitRefusal::ZeroWithFigures(f));
        }
        let new: Vec<Figure> = Figure::ALL
            .into_iter()
            .filter(|f| f.is_new() && system.get(*f) != 0)
            .collect();
        if !new.is_empty() && !has_reason {
            return Err(SubmitRefusal::ZeroAgainstSystem(new));
        }
        // A zero report says nothing happened: standing counts (cumulative, under isolation) are
        // not contradicted by it, only the new ones, so only they are differences.
        return Ok(differences(system, submitted)
            .into_iter()
            .filter(|d| d.figure.is_new())
            .collect());
    }
    let diffs = differences(system, submitted);
    if !diffs.is_empty() && !has_reason {
        return Err(SubmitRefusal::DifferenceWithoutReason(diffs));
    }
    Ok(diffs)
}

/// Checks a correction (误报更正) of a submitted report: it must change something and say why.
pub fn check_correction(
    current: &Figures,
    corrected: &Figures,
    reason: &str,
) -> Result<Vec<Difference>, String> {
    let diffs = differences(current, corrected);
    if diffs.is_empty() {
        return Err("更正后的数字与已报送的相同，无需更正".into());
    }
    if reason.trim().is_empty() {
        return Err("更正原因：请写明为何更正".into());
    }
    Ok(diffs)
}

/// The largest figure a form takes (a province's cumulative counts fit well below it).
pub const MAX_FIGURE: i64 = 100_000_000;

/// Reads one figure typed into the form: empty = 0, a whole number 0..=[`MAX_FIGURE`].
pub fn parse_figure(figure: Figure, text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    match text.parse::<i64>() {
        Ok(n) if (0..=MAX_FIGURE).contains(&n) => Ok(n),
        _ => Err(format!(
            "{}：请填写0到{MAX_FIGURE}之间的整数（填的是“{}”）",
            figure.label_zh(),
            crate::echo::shown(text)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn figures(pairs: &[(Figure, i64)]) -> Figures {
        let mut f = Figures::default();
        for (figure, n) in pairs {
            f.set(*figure, *n);
        }
        f
    }

    #[test]
    fn each_level_has_its_due_time_on_the_next_morning() {
        let day = NaiveDate::from_ymd_opt(2022, 11, 20).unwrap();
        for (level, due_utc) in [
            (RegionLevel::Township, (0, 30)),
            (RegionLevel::County, (1, 0)),
            (RegionLevel::City, (1, 30)),
            (RegionLevel::Province, (2, 0)),
        ] {
            let due = default_due_time(level).unwrap();
            assert_eq!(
                due_at(day, due),
                Utc.with_ymd_and_hms(2022, 11, 21, due_utc.0, due_utc.1, 0)
                    .unwrap(),
                "{level:?}"
            );
            assert!(files_reports(level));
        }
        assert!(!files_reports(RegionLevel::Village));
        assert!(!files_reports(RegionLevel::Grid));
        // The cut-off is 24:00 Beijing = 16:00 UTC of the day.
        assert_eq!(
            cut_off(day),
            Utc.with_ymd_and_hms(2022, 11, 20, 16, 0, 0).unwrap()
        );
        assert_eq!(parse_due_time(" 08:45 ").unwrap().to_string(), "08:45:00");
        assert!(parse_due_time("9点").unwrap_err().contains("09:00"));
    }

    #[test]
    fn submissions_are_on_time_late_missing_or_not_yet_due() {
        let due = 1_000;
        for (submitted, now, expected) in [
            (Some(900), 2_000, Timing::OnTime),
            (Some(1_000), 2_000, Timing::OnTime),
            (Some(1_001), 2_000, Timing::Late),
            (None, 1_001, Timing::Missing),
            (None, 1_000, Timing::NotDue),
            (None, 10, Timing::NotDue),
        ] {
            assert_eq!(
                classify(submitted, due, now),
                expected,
                "{submitted:?} {now}"
            );
        }
        assert_eq!(
            status_label(Some(ReportKind::Daily), Timing::OnTime, 0),
            "按时"
        );
        assert_eq!(
            status_label(Some(ReportKind::Zero), Timing::Late, 0),
            "零报告（迟报）"
        );
        assert_eq!(status_label(None, Timing::Missing, 0), "漏报");
        assert_eq!(
            status_label(Some(ReportKind::Daily), Timing::Late, 1),
            "更正（迟报）"
        );
    }

    #[test]
    fn a_figure_unlike_the_systems_needs_a_reason() {
        let system = figures(&[(Figure::NewConfirmed, 2), (Figure::TotalConfirmed, 5)]);
        let same = system.clone();
        assert_eq!(
            check_submission(ReportKind::Daily, &system, &same, ""),
            Ok(vec![])
        );
        let changed = figures(&[(Figure::NewConfirmed, 3), (Figure::TotalConfirmed, 5)]);
        let refused = check_submission(ReportKind::Daily, &system, &changed, " ").unwrap_err();
        assert!(refused.message_zh().contains("新增确诊病例 2→3（+1）"));
        assert_eq!(
            check_submission(ReportKind::Daily, &system, &changed, "一例晚间由外市通报"),
            Ok(vec![Difference {
                figure: Figure::NewConfirmed,
                from: 2,
                to: 3
            }])
        );
    }

    #[test]
    fn a_zero_report_is_all_zero_and_refused_when_the_system_shows_new_figures() {
        let quiet = figures(&[(Figure::TotalConfirmed, 5), (Figure::AtHome, 3)]);
        let zero = Figures::default();
        // Standing counts are no contradiction.
        assert_eq!(
            check_submission(ReportKind::Zero, &quiet, &zero, ""),
            Ok(vec![])
        );
        let busy = figures(&[(Figure::NewAsymptomatic, 1)]);
        let refused = check_submission(ReportKind::Zero, &busy, &zero, "").unwrap_err();
        assert_eq!(
            refused,
            SubmitRefusal::ZeroAgainstSystem(vec![Figure::NewAsymptomatic])
        );
        assert!(refused.message_zh().contains("新增无症状感染者"));
        // With a reason it is taken, and the difference kept.
        assert_eq!(
            check_submission(ReportKind::Zero, &busy, &zero, "该例已核减，属外地病例")
                .unwrap()
                .len(),
            1
        );
        let not_zero = figures(&[(Figure::LeadsLanded, 1)]);
        assert!(matches!(
            check_submission(ReportKind::Zero, &quiet, &not_zero, "x"),
            Err(SubmitRefusal::ZeroWithFigures(Figure::LeadsLanded))
        ));
    }

    #[test]
    fn a_correction_records_each_changed_figure_and_needs_a_reason() {
        let submitted = figures(&[(Figure::NewConfirmed, 2), (Figure::LeadsReceived, 10)]);
        let corrected = figures(&[(Figure::NewConfirmed, 1), (Figure::LeadsReceived, 12)]);
        let diffs = check_correction(&submitted, &corrected, "重复统计一例").unwrap();
        assert_eq!(
            diffs.iter().map(Difference::label_zh).collect::<Vec<_>>(),
            ["新增确诊病例 2→1（-1）", "当日接收线索 10→12（+2）"]
        );
        assert!(check_correction(&submitted, &corrected, "").is_err());
        assert!(
            check_correction(&submitted, &submitted, "x")
                .unwrap_err()
                .contains("无需更正")
        );
    }

    #[test]
    fn figures_are_whole_numbers_in_range_and_read_back_from_json() {
        assert_eq!(parse_figure(Figure::AtHome, ""), Ok(0));
        assert_eq!(parse_figure(Figure::AtHome, " 12 "), Ok(12));
        for bad in ["-1", "1.5", "abc", "100000001"] {
            assert!(
                parse_figure(Figure::NewConfirmed, bad)
                    .unwrap_err()
                    .starts_with("新增确诊病例：")
            );
        }
        let f = figures(&[(Figure::AtHome, 7)]);
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, "{\"at_home\":7}");
        assert_eq!(serde_json::from_str::<Figures>(&json).unwrap(), f);
        let mut total = f.clone();
        total.add(&f);
        assert_eq!(total.get(Figure::AtHome), 14);
    }
}
