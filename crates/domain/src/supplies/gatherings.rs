//! Gatherings (聚集性活动报批, domain-rules.md §10.3): an organiser files an event; the size says
//! who approves it and how many days ahead it must be filed (policy data:
//! `data/supplies/gatherings_policy.json`, thresholds and lead times differ by place); banquets
//! (weddings, funerals) are held to a number of tables and people per table; an event in a medium
//! or high-risk area, or filed too late, is refused with the reason; participants need a green
//! code and a negative test within 48 hours before the event.

use chrono::NaiveDate;
use serde::Deserialize;

use crate::region::RegionLevel;
use crate::risk_area::AreaTier;

crate::coded_enum! {
    /// What kind of event.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum GatheringKind {
        Wedding => "wedding", "婚礼（喜事）",
        Funeral => "funeral", "丧事",
        Conference => "conference", "会议、培训",
        Trade => "trade", "展销、促销等商贸活动",
        Other => "other", "其他",
    }
}

crate::coded_enum! {
    /// Where a filing stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum GatheringStatus {
        Filed => "filed", "待审批",
        Approved => "approved", "已批准",
        Refused => "refused", "不予批准",
    }
}

crate::coded_enum! {
    /// The command office that approves a filing.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum ApprovalLevel {
        Township => "township", "乡镇（街道）指挥部",
        County => "county", "县（区）指挥部",
        City => "city", "市指挥部",
    }
}

crate::coded_enum! {
    /// A participant's check before the event.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ParticipantCheck {
        Ready => "ready", "绿码，48小时内核酸阴性",
        NeedsTest => "needs_test", "绿码，活动前48小时内尚无阴性结果",
        NotAllowed => "not_allowed", "红码或黄码，不得参加",
    }
}

impl ApprovalLevel {
    /// The region level of the office that approves.
    pub fn region_level(self) -> RegionLevel {
        match self {
            ApprovalLevel::Township => RegionLevel::Township,
            ApprovalLevel::County => RegionLevel::County,
            ApprovalLevel::City => RegionLevel::City,
        }
    }
}

/// One threshold: from this many people, this office, this many days ahead.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Threshold {
    pub min_people: i64,
    #[serde(deserialize_with = "level_code")]
    pub level: ApprovalLevel,
    pub lead_days: i64,
}

fn level_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ApprovalLevel, D::Error> {
    let code = String::deserialize(d)?;
    ApprovalLevel::from_code(&code)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown approval level {code}")))
}

/// The policy in force.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GatheringPolicy {
    pub name: String,
    pub source: String,
    pub levels: Vec<Threshold>,
    pub banquet_kinds: Vec<String>,
    pub max_tables: i64,
    pub max_per_table: i64,
    pub negative_within_hours: i64,
    pub refused_tiers: Vec<String>,
}

/// The shipped policy.
pub fn policy() -> &'static GatheringPolicy {
    static POLICY: std::sync::OnceLock<GatheringPolicy> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        serde_json::from_str(include_str!("../../data/supplies/gatherings_policy.json"))
            .expect("data/supplies/gatherings_policy.json is valid (tested)")
    })
}

/// An event as filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filing {
    pub kind: GatheringKind,
    pub size: i64,
    /// Tables of a banquet (0 when none).
    pub tables: i64,
    pub date: NaiveDate,
}

/// What the policy says of a filing on `today` with the place's strictest current risk tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub level: ApprovalLevel,
    pub lead_days: i64,
    /// Why it must be refused, in words (empty: it goes to `level` for approval).
    pub refusals: Vec<String>,
}

impl GatheringPolicy {
    /// The threshold a size falls under (the highest whose minimum it reaches).
    pub fn threshold(&self, size: i64) -> Option<&Threshold> {
        self.levels
            .iter()
            .filter(|t| size >= t.min_people)
            .max_by_key(|t| t.min_people)
    }

    /// Assesses a filing: who approves, and every reason to refuse it.
    pub fn assess(&self, filing: &Filing, today: NaiveDate, tier: Option<AreaTier>) -> Assessment {
        let (level, lead_days) = self
            .threshold(filing.size)
            .map_or((ApprovalLevel::Township, 0), |t| (t.level, t.lead_days));
        let mut refusals = Vec::new();
        let ahead = (filing.date - today).num_days();
        if ahead < lead_days {
            refusals.push(format!(
                "{}人的活动须提前{lead_days}天向{}报批，活动日期{}距今只有{}天",
                filing.size,
                level.label_zh(),
                filing.date,
                ahead.max(0)
            ));
        }
        if let Some(tier) = tier
            && self.refused_tiers.iter().any(|t| t == tier.code())
        {
            refusals.push(format!(
                "活动地点在{}内，暂停举办聚集性活动",
                tier.label_zh()
            ));
        }
        if self.banquet_kinds.iter().any(|k| k == filing.kind.code()) {
            if filing.tables > self.max_tables {
                refusals.push(format!(
                    "喜事缓办、丧事简办：宴席不超过{}桌（申报{}桌）",
                    self.max_tables, filing.tables
                ));
            }
            if filing.size > filing.tables.max(1) * self.max_per_table {
                refusals.push(format!(
                    "每桌不超过{}人：{}人至少要分{}桌",
                    self.max_per_table,
                    filing.size,
                    (filing.size + self.max_per_table - 1) / self.max_per_table
                ));
            }
        }
        Assessment {
            level,
            lead_days,
            refusals,
        }
    }

    /// A participant's check: `green` (the code), and the newest negative sampling time before
    /// the event's start (`event_start`, unix seconds).
    pub fn check_participant(
        &self,
        green: bool,
        negatives: &[i64],
        event_start: i64,
    ) -> ParticipantCheck {
        if !green {
            return ParticipantCheck::NotAllowed;
        }
        let from = event_start - self.negative_within_hours * 3600;
        if negatives.iter().any(|&t| t >= from && t <= event_start) {
            ParticipantCheck::Ready
        } else {
            ParticipantCheck::NeedsTest
        }
    }
}

/// The size typed: 1 to 100,000 people; tables 0 to 1,000.
pub fn check_size(size: &str, tables: &str) -> Result<(i64, i64), String> {
    let size: i64 = size
        .trim()
        .parse()
        .map_err(|_| "人数请填写整数".to_string())?;
    if !(1..=100_000).contains(&size) {
        return Err("人数应为1到100000".into());
    }
    let tables: i64 = match tables.trim() {
        "" => 0,
        t => t.parse().map_err(|_| "桌数请填写整数".to_string())?,
    };
    if !(0..=1_000).contains(&tables) {
        return Err("桌数应为0到1000".into());
    }
    Ok((size, tables))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn filing(kind: GatheringKind, size: i64, tables: i64, date: &str) -> Filing {
        Filing {
            kind,
            size,
            tables,
            date: day(date),
        }
    }

    #[test]
    fn the_size_says_who_approves_and_how_many_days_ahead() {
        let p = policy();
        let today = day("2022-11-20");
        let table = [
            (30, ApprovalLevel::Township, 3),
            (50, ApprovalLevel::County, 10),
            (99, ApprovalLevel::County, 10),
            (100, ApprovalLevel::City, 10),
            (800, ApprovalLevel::City, 10),
        ];
        for (size, level, lead) in table {
            let a = p.assess(
                &filing(GatheringKind::Conference, size, 0, "2022-12-20"),
                today,
                None,
            );
            assert_eq!((a.level, a.lead_days), (level, lead), "{size}");
            assert!(a.refusals.is_empty(), "{size}: {:?}", a.refusals);
        }
    }

    #[test]
    fn too_late_a_risk_area_or_too_many_tables_is_refused_with_words() {
        let p = policy();
        let today = day("2022-11-20");
        let late = p.assess(
            &filing(GatheringKind::Conference, 60, 0, "2022-11-25"),
            today,
            None,
        );
        assert_eq!(late.refusals.len(), 1);
        assert!(late.refusals[0].contains("提前10天"), "{late:?}");
        let risky = p.assess(
            &filing(GatheringKind::Trade, 20, 0, "2022-12-20"),
            today,
            Some(AreaTier::Medium),
        );
        assert!(risky.refusals[0].contains("中风险区"), "{risky:?}");
        assert!(
            p.assess(
                &filing(GatheringKind::Trade, 20, 0, "2022-12-20"),
                today,
                Some(AreaTier::Low)
            )
            .refusals
            .is_empty()
        );
        let wedding = p.assess(
            &filing(GatheringKind::Wedding, 80, 8, "2022-12-20"),
            today,
            None,
        );
        assert!(wedding.refusals.iter().any(|r| r.contains("不超过5桌")));
        let crowded = p.assess(
            &filing(GatheringKind::Funeral, 45, 4, "2022-12-20"),
            today,
            None,
        );
        assert!(
            crowded
                .refusals
                .iter()
                .any(|r| r.contains("每桌不超过10人"))
        );
        // A conference has no tables rule.
        assert!(
            p.assess(
                &filing(GatheringKind::Conference, 45, 0, "2022-12-20"),
                today,
                None
            )
            .refusals
            .is_empty()
        );
    }

    #[test]
    fn a_participant_needs_a_green_code_and_a_negative_within_48_hours_before() {
        let p = policy();
        let start = 1_000_000;
        assert_eq!(
            p.check_participant(true, &[start - 47 * 3600], start),
            ParticipantCheck::Ready
        );
        assert_eq!(
            p.check_participant(true, &[start - 49 * 3600], start),
            ParticipantCheck::NeedsTest
        );
        assert_eq!(
            p.check_participant(true, &[], start),
            ParticipantCheck::NeedsTest
        );
        assert_eq!(
            p.check_participant(false, &[start - 3600], start),
            ParticipantCheck::NotAllowed
        );
    }

    #[test]
    fn sizes_are_bounded() {
        assert_eq!(check_size("40", "4"), Ok((40, 4)));
        assert_eq!(check_size("40", ""), Ok((40, 0)));
        assert!(check_size("0", "").is_err());
        assert!(check_size("many", "").is_err());
        assert!(check_size("40", "-1").is_err());
    }
}
