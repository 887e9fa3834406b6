//! The epidemic curve (疫情曲线): on which day a case stands on each basis, and the per-day stacks
//! by kind. The store keeps a counter per (region, basis, day, kind) moved in the transaction of
//! every case write; these functions decide the day, so the writes and the audit agree.
//!
//! - 按发病日期 (onset): the symptom onset date; a case without one (an asymptomatic infection, an
//!   initial-screen positive) stands on the Beijing day of its first positive sampling, and one
//!   without either on the day it was found.
//! - 按报告日期 (report): the Beijing day of the 2-hour online report (网络直报); a case not yet
//!   reported stands on the day it was found.
//!
//! An excluded case (排除: a suspected or initial-screen case that was not infected) leaves the curve.

use chrono::{DateTime, NaiveDate};

use crate::investigation::CaseKind;
use crate::time::beijing_date;

crate::coded_enum! {
    /// Which date places a case on the curve.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum CurveBasis {
        /// 按发病日期 (asymptomatic: first positive sampling)
        Onset => "onset", "按发病日期",
        /// 按报告日期
        Report => "report", "按报告日期",
    }
}

/// The kinds in the order they stack from the axis up (infections first).
pub const STACK_ORDER: [CaseKind; 4] = [
    CaseKind::Confirmed,
    CaseKind::Asymptomatic,
    CaseKind::InitialScreenPositive,
    CaseKind::Suspected,
];

/// The most days one curve shows; an older start is cut and the curve says so.
pub const MAX_CURVE_DAYS: usize = 120;

/// What places a case on the curve, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseDates<'a> {
    pub onset_date: Option<&'a str>,
    pub first_positive_at: Option<i64>,
    pub found_at: i64,
    pub reported_at: Option<i64>,
}

fn day_of(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0)
        .map(|t| beijing_date(t).format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The day ('YYYY-MM-DD', Beijing) a case stands on for `basis` — the same rule the consistency
/// audit writes in SQL (`NULLIF(onset_date, '')`, then the first positive, then found; the
/// report, then found).
pub fn case_day(dates: CaseDates<'_>, basis: CurveBasis) -> String {
    match basis {
        CurveBasis::Onset => match dates.onset_date.filter(|d| !d.is_empty()) {
            Some(day) => day.to_string(),
            None => day_of(dates.first_positive_at.unwrap_or(dates.found_at)),
        },
        CurveBasis::Report => day_of(dates.reported_at.unwrap_or(dates.found_at)),
    }
}

/// Whether a case in `status` (its code) stands on the curve at all: excluded ones do not.
pub fn on_curve(status: &str) -> bool {
    status != "excluded"
}

/// The counter keys (basis, day, kind) a case moves: none for an excluded case.
pub fn curve_keys(
    kind: &str,
    status: &str,
    dates: CaseDates<'_>,
) -> Vec<(&'static str, String, String)> {
    if !on_curve(status) {
        return Vec::new();
    }
    CurveBasis::ALL
        .iter()
        .map(|b| (b.code(), case_day(dates, *b), kind.to_string()))
        .collect()
}

/// One day of the curve: cases per kind, in [`STACK_ORDER`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CurveDay {
    pub day: NaiveDate,
    pub counts: [i64; 4],
}

impl CurveDay {
    pub fn total(&self) -> i64 {
        self.counts.iter().sum()
    }

    /// `M/D`, as the axis writes it.
    pub fn axis_label(&self) -> String {
        self.day.format("%-m/%-d").to_string()
    }
}

/// The days from the first with a case to `today` (or the last with one, if later), zeros
/// filled, at most [`MAX_CURVE_DAYS`] (the newest); the bool says whether older days were cut.
/// Rows are (day, kind code, n); rows with an unreadable day or kind are left out.
pub fn curve_days(rows: &[(String, String, i64)], today: NaiveDate) -> (Vec<CurveDay>, bool) {
    let mut by_day: std::collections::BTreeMap<NaiveDate, [i64; 4]> = Default::default();
    for (day, kind, n) in rows {
        let (Ok(day), Some(kind)) = (
            NaiveDate::parse_from_str(day, "%Y-%m-%d"),
            CaseKind::from_code(kind),
        ) else {
            continue;
        };
        if *n == 0 {
            continue;
        }
        let at = STACK_ORDER.iter().position(|k| *k == kind).unwrap_or(0);
        by_day.entry(day).or_default()[at] += n;
    }
    let (Some(first), Some(last)) = (
        by_day.keys().next().copied(),
        by_day.keys().next_back().copied(),
    ) else {
        return (Vec::new(), false);
    };
    let last = last.max(today);
    let span = (last - first).num_days() + 1;
    let cut = span > MAX_CURVE_DAYS as i64;
    let start = if cut {
        last - chrono::Duration::days(MAX_CURVE_DAYS as i64 - 1)
    } else {
        first
    };
    let days = start
        .iter_days()
        .take_while(|d| *d <= last)
        .map(|day| CurveDay {
            day,
            counts: by_day.get(&day).copied().unwrap_or_default(),
        })
        .collect();
    (days, cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::beijing_midnight;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_case_stands_on_its_onset_else_first_positive_else_found() {
        // 23:30 Beijing on 3 March is 15:30 UTC: the Beijing day counts.
        let late_evening = beijing_midnight(date("2022-03-03")).timestamp() + 23 * 3600 + 1800;
        let found = beijing_midnight(date("2022-03-05")).timestamp() + 3600;
        let with_onset = CaseDates {
            onset_date: Some("2022-03-01"),
            first_positive_at: Some(late_evening),
            found_at: found,
            reported_at: None,
        };
        assert_eq!(case_day(with_onset, CurveBasis::Onset), "2022-03-01");
        assert_eq!(case_day(with_onset, CurveBasis::Report), "2022-03-05");
        let asymptomatic = CaseDates {
            onset_date: None,
            ..with_onset
        };
        assert_eq!(case_day(asymptomatic, CurveBasis::Onset), "2022-03-03");
        let empty_onset = CaseDates {
            onset_date: Some(""),
            first_positive_at: None,
            ..with_onset
        };
        assert_eq!(case_day(empty_onset, CurveBasis::Onset), "2022-03-05");
        let reported = CaseDates {
            reported_at: Some(late_evening),
            ..with_onset
        };
        assert_eq!(case_day(reported, CurveBasis::Report), "2022-03-03");
    }

    #[test]
    fn an_excluded_case_leaves_the_curve() {
        let dates = CaseDates {
            onset_date: Some("2022-03-01"),
            first_positive_at: None,
            found_at: 0,
            reported_at: None,
        };
        assert!(curve_keys("suspected", "excluded", dates).is_empty());
        let keys = curve_keys("confirmed", "discharged", dates);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0], ("onset", "2022-03-01".into(), "confirmed".into()));
    }

    #[test]
    fn days_are_filled_to_today_and_stacked_by_kind() {
        let rows = vec![
            ("2022-03-01".to_string(), "confirmed".to_string(), 2),
            ("2022-03-01".to_string(), "asymptomatic".to_string(), 1),
            ("2022-03-03".to_string(), "suspected".to_string(), 1),
            ("bad".to_string(), "confirmed".to_string(), 5),
        ];
        let (days, cut) = curve_days(&rows, date("2022-03-04"));
        assert!(!cut);
        assert_eq!(days.len(), 4);
        assert_eq!(days[0].counts, [2, 1, 0, 0]);
        assert_eq!(days[1].total(), 0);
        assert_eq!(days[2].counts, [0, 0, 0, 1]);
        assert_eq!(days[0].axis_label(), "3/1");
        let (none, _) = curve_days(&[], date("2022-03-04"));
        assert!(none.is_empty());
    }

    #[test]
    fn a_long_outbreak_keeps_the_newest_days() {
        let rows = vec![("2022-01-01".to_string(), "confirmed".to_string(), 1)];
        let (days, cut) = curve_days(&rows, date("2022-12-31"));
        assert!(cut);
        assert_eq!(days.len(), MAX_CURVE_DAYS);
        assert_eq!(days.last().unwrap().day, date("2022-12-31"));
    }
}
