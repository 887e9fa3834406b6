//! Incident reports (重大事项报告): what kinds of events are reported, the first report's time
//! limit, follow-ups (续报) and closure (终报), and the chain of offices above that must receive
//! each one (县 → 市 → 省).
//!
//! The time limit of the first report: domain-rules.md §6 and §13.12 give **2 hours** for the
//! online report of a positive (网络直报) and list report SLAs as deadlines; no separate rule for
//! incident reports to the command chain was found, so the same 2 hours is the default here
//! (an assumption, configurable per installation through `App`'s setting). An open incident with
//! no follow-up for [`DEFAULT_SILENCE_HOURS`] hours is flagged as well (also an assumption).

use chrono::{DateTime, Utc};

use crate::region::{RegionCode, RegionLevel};

/// Hours after the event within which the first report must be filed (assumed, see above).
pub const DEFAULT_FIRST_REPORT_HOURS: i64 = 2;

/// Hours an open incident may go without a follow-up before it is flagged (续报超时).
pub const DEFAULT_SILENCE_HOURS: i64 = 24;

crate::coded_enum! {
    from_code = code_or_label;
    /// The kind of event reported (事项类别).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum IncidentKind {
        NewLocalCase => "new_local_case", "新发本土病例",
        Cluster => "cluster", "聚集性疫情",
        IsolationBreach => "isolation_breach", "隔离点逃离/事故",
        PublicOpinion => "public_opinion", "舆情",
        Other => "other", "其他",
    }
}

crate::coded_enum! {
    /// One report of an incident: the first, a follow-up, or the closing one.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum IncidentStage {
        First => "first", "首报",
        FollowUp => "follow_up", "续报",
        Final => "final", "终报",
    }
}

/// When the first report is due: `hours` after the event.
pub fn first_report_deadline(occurred_at: i64, hours: i64) -> i64 {
    occurred_at + hours * 3600
}

/// Whether a first report filed at `filed_at` came after its deadline (首报超时).
pub fn first_report_overdue(occurred_at: i64, filed_at: i64, hours: i64) -> bool {
    filed_at > first_report_deadline(occurred_at, hours)
}

/// Whether an open incident has gone without a report for longer than `silence_hours` (续报超时).
pub fn follow_up_stale(closed: bool, last_report_at: i64, now: i64, silence_hours: i64) -> bool {
    !closed && now - last_report_at > silence_hours * 3600
}

/// What may be added to an incident: nothing after its closing report.
pub fn require_open(closed_at: Option<i64>) -> Result<(), String> {
    match closed_at {
        Some(at) => Err(format!(
            "该事项已于 {} 终报，不能再续报",
            crate::time::beijing_label(DateTime::<Utc>::from_timestamp(at, 0).unwrap_or_default())
        )),
        None => Ok(()),
    }
}

/// The offices above `office` that receive its reports, nearest first: for a township its county,
/// city and province; for a county its city and province. Villages and grids are not offices.
pub fn receiving_offices(office: &RegionCode) -> Vec<RegionCode> {
    let mut above = office.ancestors();
    above.retain(|c| c.level() <= RegionLevel::Township);
    above.reverse();
    above
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_report_after_two_hours_is_overdue() {
        let occurred = 1_000_000;
        for (filed_after, overdue) in [(0, false), (7_200, false), (7_201, true), (86_400, true)] {
            assert_eq!(
                first_report_overdue(occurred, occurred + filed_after, DEFAULT_FIRST_REPORT_HOURS),
                overdue,
                "{filed_after}"
            );
        }
        assert_eq!(first_report_deadline(0, 2), 7_200);
    }

    #[test]
    fn an_open_incident_without_news_for_a_day_is_flagged() {
        let h = 3600;
        assert!(!follow_up_stale(false, 0, 24 * h, 24));
        assert!(follow_up_stale(false, 0, 24 * h + 1, 24));
        assert!(!follow_up_stale(true, 0, 48 * h, 24));
        assert!(require_open(None).is_ok());
        assert!(require_open(Some(0)).unwrap_err().contains("终报"));
    }

    #[test]
    fn a_report_goes_up_the_chain_nearest_office_first() {
        let codes = |office: &str| -> Vec<String> {
            receiving_offices(&RegionCode::parse(office).unwrap())
                .iter()
                .map(|c| c.as_str().to_string())
                .collect()
        };
        assert_eq!(codes("130109100"), ["130109", "1301", "13"]);
        assert_eq!(codes("130109"), ["1301", "13"]);
        assert_eq!(codes("1301"), ["13"]);
        assert!(codes("13").is_empty());
    }
}
