//! Rounds (检测轮次): pool sizes by risk tier, round kinds, deadlines by regime, and whether a round
//! will finish late.

use super::*;

/// How many people's swabs go into one tube (混采). 1 = single tube (单管).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PoolSize(u8);

impl PoolSize {
    pub const SINGLE: PoolSize = PoolSize(1);
    pub const ALLOWED: [u8; 4] = [1, 5, 10, 20];

    pub fn new(size: i64) -> Result<PoolSize, String> {
        match u8::try_from(size) {
            Ok(s) if Self::ALLOWED.contains(&s) => Ok(PoolSize(s)),
            _ => Err(format!("混采人数只能是1（单管）、5、10或20，而不是{size}")),
        }
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }

    pub fn label_zh(self) -> String {
        if self.0 == 1 {
            "单管单检".into()
        } else {
            format!("{}混1", self.0)
        }
    }
}

crate::coded_enum! {
    /// The risk tier of an area inside a round, which sets its pool size (§5.2: low 10:1, medium 5:1, high
    /// and key groups 1:1). The risk-area module designates the tiers; a round can also set them by hand.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RiskTier {
        Low => "low", "低风险/防范区",
        Medium => "medium", "中风险/管控区",
        High => "high", "高风险/封控区",
    }
}

impl RiskTier {
    /// The pool size the national practice used for this tier (§5.2, Shenyang Jan 2021 and others).
    pub fn default_pool_size(self) -> PoolSize {
        match self {
            RiskTier::Low => PoolSize(10),
            RiskTier::Medium => PoolSize(5),
            RiskTier::High => PoolSize::SINGLE,
        }
    }
}

crate::coded_enum! {
    /// What kind of round: the whole population of a region, a designated area, or standing routine testing.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RoundKind {
        /// 全员核酸检测 over a city, county or township.
        Whole => "whole", "全员核酸检测",
        /// 区域核酸检测 of designated risk areas (3rd edition guide: within 24 h even in megacities).
        Area => "area", "区域核酸检测",
        /// 常态化检测 of key groups and volunteers: no deadline, no coverage target.
        Routine => "routine", "常态化检测",
    }
}

/// The time a round must finish in, by regime (§5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundDeadlinePolicy {
    pub name: &'static str,
    pub source: &'static str,
    /// Populations up to this many people finish in `small_hours`, larger ones in `large_hours`.
    pub small_population_limit: i64,
    pub small_hours: i64,
    pub large_hours: i64,
    /// A designated area, whatever its size.
    pub area_hours: i64,
}

/// Aug 2021 notice and 2nd edition guide: ≤ 5 M people in 2 days, more in 3; the 3rd edition guide
/// (22 Mar 2022) adds: a delimited area within 24 h, even in cities of 10 M.
pub const DEADLINES_3RD_EDITION: RoundDeadlinePolicy = RoundDeadlinePolicy {
    name: "区域核酸检测组织实施指南（第三版）",
    source: "2021-08 通知；第二版指南（2021-09）；第三版指南（2022-03-22）",
    small_population_limit: 5_000_000,
    small_hours: 48,
    large_hours: 72,
    area_hours: 24,
};

impl RoundDeadlinePolicy {
    /// Hours from opening to the deadline; `None` for routine testing (no deadline).
    pub fn hours_for(&self, kind: RoundKind, target_population: i64) -> Option<i64> {
        match kind {
            RoundKind::Routine => None,
            RoundKind::Area => Some(self.area_hours),
            RoundKind::Whole if target_population <= self.small_population_limit => {
                Some(self.small_hours)
            }
            RoundKind::Whole => Some(self.large_hours),
        }
    }
}

/// A round will finish late when, at the present rate, the swabs still missing take longer than
/// the time left before its deadline: the round page warns while there is time to add tables.
/// A closed round, or one without a deadline (routine testing), is never late.
pub fn will_finish_late(
    deadline_at: Option<i64>,
    closed_at: Option<i64>,
    hours_to_finish: f64,
    now: i64,
) -> bool {
    deadline_at.is_some_and(|deadline| {
        closed_at.is_none() && now.saturating_add((hours_to_finish * 3600.0) as i64) > deadline
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_sizes_are_one_five_ten_or_twenty() {
        assert_eq!(PoolSize::new(10).unwrap().label_zh(), "10混1");
        assert_eq!(PoolSize::new(1).unwrap().label_zh(), "单管单检");
        assert!(
            PoolSize::new(3)
                .unwrap_err()
                .contains("1（单管）、5、10或20")
        );
        assert_eq!(RiskTier::High.default_pool_size(), PoolSize::SINGLE);
        assert_eq!(RiskTier::Medium.default_pool_size().get(), 5);
    }

    #[test]
    fn deadlines_follow_population_and_kind() {
        let p = DEADLINES_3RD_EDITION;
        assert_eq!(p.hours_for(RoundKind::Whole, 737_580), Some(48));
        assert_eq!(p.hours_for(RoundKind::Whole, 5_000_000), Some(48));
        assert_eq!(p.hours_for(RoundKind::Whole, 11_000_000), Some(72));
        assert_eq!(p.hours_for(RoundKind::Area, 11_000_000), Some(24));
        assert_eq!(p.hours_for(RoundKind::Routine, 10), None);
    }

    #[test]
    fn a_round_is_late_when_the_missing_swabs_outlast_the_deadline() {
        let now = 1_000_000;
        // (deadline, closed, hours to finish, late)
        let rows: [(Option<i64>, Option<i64>, f64, bool); 7] = [
            (Some(now + 3 * 3600), None, 2.0, false),
            (Some(now + 3 * 3600), None, 3.0, false),
            (Some(now + 3 * 3600), None, 3.01, true),
            (Some(now - 60), None, 0.0, true),
            (Some(now - 60), Some(now - 120), 5.0, false),
            (None, None, 100.0, false),
            (Some(now + 3600), None, f64::INFINITY, true),
        ];
        for (deadline, closed, hours, late) in rows {
            assert_eq!(
                will_finish_late(deadline, closed, hours, now),
                late,
                "{deadline:?} {closed:?} {hours}"
            );
        }
    }
}
