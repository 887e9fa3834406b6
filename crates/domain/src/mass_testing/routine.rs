//! Routine testing (常态化检测): how often each key group is tested, as versioned tables.

use super::*;

/// How often each key group is tested in routine testing (应检尽检), as a versioned table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutineSchedule {
    pub name: &'static str,
    pub source: &'static str,
    pub intervals: &'static [(KeyGroup, i64)],
}

/// Guiyang 2022 table (§7.4), the fullest published one; isolation-site and port staff daily as in
/// the 9th edition, front-line imported cold chain daily, services every 72 h, elderly care and
/// schools weekly.
pub const ROUTINE_GUIYANG_2022: RoutineSchedule = RoutineSchedule {
    name: "贵阳2022重点人群核酸检测频次",
    source: "domain-rules.md §7.4（贵阳2022；第九版：接触入境人员、物品、环境的人员每日检测）",
    intervals: &[
        (KeyGroup::IsolationSiteStaff, 24),
        (KeyGroup::Port, 24),
        (KeyGroup::ColdChain, 24),
        (KeyGroup::Medical, 72),
        (KeyGroup::Delivery, 72),
        (KeyGroup::PublicTransport, 72),
        (KeyGroup::MarketVendor, 72),
        (KeyGroup::ElderlyCare, 168),
        (KeyGroup::School, 168),
    ],
};

/// Wencheng county 2021 (§7.4): isolation-site and medical staff every 2 days, others weekly.
pub const ROUTINE_WENCHENG_2021: RoutineSchedule = RoutineSchedule {
    name: "文成县2021重点人群核酸检测频次",
    source: "domain-rules.md §7.4（文成县）",
    intervals: &[
        (KeyGroup::IsolationSiteStaff, 48),
        (KeyGroup::Medical, 48),
        (KeyGroup::Port, 48),
        (KeyGroup::ColdChain, 168),
        (KeyGroup::ElderlyCare, 168),
        (KeyGroup::Delivery, 168),
        (KeyGroup::PublicTransport, 168),
        (KeyGroup::MarketVendor, 168),
        (KeyGroup::School, 168),
    ],
};

pub const ROUTINE_SCHEDULES: [RoutineSchedule; 2] = [ROUTINE_GUIYANG_2022, ROUTINE_WENCHENG_2021];

impl RoutineSchedule {
    pub fn interval_hours(&self, group: KeyGroup) -> Option<i64> {
        self.intervals
            .iter()
            .find(|(g, _)| *g == group)
            .map(|(_, hours)| *hours)
    }

    /// Words for an interval: 每天 / 每72小时 / 每周.
    pub fn interval_label_zh(hours: i64) -> String {
        match hours {
            24 => "每天1次".into(),
            48 => "每2天1次".into(),
            168 => "每周1次".into(),
            h => format!("每{h}小时1次"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_group_has_a_routine_interval_in_every_schedule() {
        for schedule in ROUTINE_SCHEDULES {
            for group in KeyGroup::ALL {
                assert!(
                    schedule.interval_hours(group).is_some(),
                    "{} lacks {:?}",
                    schedule.name,
                    group
                );
            }
        }
        assert_eq!(RoutineSchedule::interval_label_zh(168), "每周1次");
    }
}
