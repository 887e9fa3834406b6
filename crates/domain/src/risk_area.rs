//! Risk areas 风险区域: the three designation schemes (三区 to June 2022, the 9th edition's
//! high/medium/low, the 20条's high/low), what each tier means for the people inside and outside it,
//! and when an area may step down (domain-rules.md §4, §14.8). The lifting numbers are a table with
//! sources (`LIFTING_RULES`); `next_step` only applies it.
//!
//! # Day convention
//!
//! Area rules speak of days as the public notices do: Beijing calendar days. Day 0 is the Beijing
//! date of the newest of the designation and the last infection found inside; day 1 is the next
//! date, and so on. "7 days in a row with no new infection" is met on day 7; "an all-negative round
//! on day 7" is a whole-area round that finished on day 7 or later (a later round is as good; an
//! earlier one proves nothing about the last days). A new infection moves day 0, so every count
//! starts again ("一区一策" extension). This is the one day-counting rule of `crate::time` read from
//! the other end: the infection's date is the rule's day 1, and a period of N days counted from it
//! (`time::period_end`) is over on the date this convention calls day N.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::health_code::{FactKind, beijing_date, month_day_zh};
use crate::mass_testing::RiskTier;

crate::coded_enum! {
    // Serde as written: JSON says `ninth_edition`/`twenty_measures`, the codes `ninth`/`twenty`.
    serde = as_written;
    /// Which designation scheme is in force (§0, §4).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum AreaScheme {
        /// 第九版: high/medium/low, from 28 Jun 2022.
        NinthEdition => "ninth", "第九版（高/中/低风险区）",
        /// 封控区/管控区/防范区, used 2021 to June 2022.
        ThreeZones => "three_zones", "三区（封控区/管控区/防范区）",
        /// 二十条: high/low only, from 11 Nov 2022.
        TwentyMeasures => "twenty", "二十条（高/低风险区）",
    }
}

impl AreaScheme {
    pub fn tiers(self) -> &'static [AreaTier] {
        match self {
            AreaScheme::NinthEdition => &[AreaTier::High, AreaTier::Medium, AreaTier::Low],
            AreaScheme::ThreeZones => {
                &[AreaTier::Sealed, AreaTier::Controlled, AreaTier::Precaution]
            }
            AreaScheme::TwentyMeasures => &[AreaTier::High, AreaTier::Low],
        }
    }

    /// The scheme in force on a date (§0): 三区 before 28 Jun 2022, the 9th edition to 10 Nov 2022,
    /// the 20条 after.
    pub fn in_force_on(on: NaiveDate) -> AreaScheme {
        let ninth = NaiveDate::from_ymd_opt(2022, 6, 28).expect("valid date");
        let twenty = NaiveDate::from_ymd_opt(2022, 11, 11).expect("valid date");
        if on < ninth {
            AreaScheme::ThreeZones
        } else if on < twenty {
            AreaScheme::NinthEdition
        } else {
            AreaScheme::TwentyMeasures
        }
    }
}

crate::coded_enum! {
    /// A risk tier of one area. High and Low serve both the 9th edition and the 20条.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum AreaTier {
        High => "high", "高风险区",
        Medium => "medium", "中风险区",
        Low => "low", "低风险区",
        Sealed => "sealed", "封控区",
        Controlled => "controlled", "管控区",
        Precaution => "precaution", "防范区",
    }
}

impl AreaTier {
    /// The scheme that introduced the tier (High and Low are also the 20条's two tiers).
    pub fn scheme(self) -> AreaScheme {
        match self {
            AreaTier::High | AreaTier::Medium | AreaTier::Low => AreaScheme::NinthEdition,
            AreaTier::Sealed | AreaTier::Controlled | AreaTier::Precaution => {
                AreaScheme::ThreeZones
            }
        }
    }

    /// The measures for the people inside, in the notices' words (§4.1, §4.2).
    pub fn measures_zh(self) -> &'static str {
        match self {
            AreaTier::High => "足不出户、上门服务",
            AreaTier::Medium => "人不出区、错峰取物",
            AreaTier::Low => "个人防护、避免聚集",
            AreaTier::Sealed => "区域封闭、足不出户、服务上门",
            AreaTier::Controlled => "人不出区、严禁聚集",
            AreaTier::Precaution => "强化社会面管控，严格限制人员聚集",
        }
    }

    /// The tier a testing round uses for pool sizes (§5.2).
    pub fn testing_tier(self) -> RiskTier {
        match self {
            AreaTier::High | AreaTier::Sealed => RiskTier::High,
            AreaTier::Medium | AreaTier::Controlled => RiskTier::Medium,
            AreaTier::Low | AreaTier::Precaution => RiskTier::Low,
        }
    }

    /// The health-code fact of people who leave an area of this tier (§2 outflow rules).
    pub fn colour_fact(self) -> Option<FactKind> {
        match self {
            AreaTier::High | AreaTier::Sealed => Some(FactKind::LeftHighRiskArea),
            AreaTier::Medium | AreaTier::Controlled => Some(FactKind::LeftMediumRiskArea),
            AreaTier::Low | AreaTier::Precaution => None,
        }
    }

    /// Tiers that keep a county out of routine prevention while any area has them.
    pub fn is_controlled(self) -> bool {
        !matches!(self, AreaTier::Low | AreaTier::Precaution)
    }
}

/// True when a county whose areas have these tiers is back to routine prevention: the 9th edition's
/// "all medium and high areas lifted", the 三区 scheme's "防范区 lifted when every 封控区 and 管控区
/// in the county is" (§4.1, §4.2).
pub fn county_back_to_routine(tiers: &[AreaTier]) -> bool {
    !tiers.iter().any(|t| t.is_controlled())
}

crate::coded_enum! {
    /// The unit an area is designated by.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum AreaUnit {
        County => "county", "区县",
        Township => "township", "乡镇街道",
        Village => "village", "村社区",
        Compound => "compound", "小区",
        Building => "building", "楼栋",
    }
}

/// What the lifting rule needs to know about one area. Days are Beijing calendar days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaHistory {
    pub tier: AreaTier,
    /// When the area got its present tier.
    pub designated_at: DateTime<Utc>,
    /// Newest case or positive found inside.
    pub last_infection_at: Option<DateTime<Utc>>,
    /// Finishing times of all-negative whole-area rounds.
    pub negative_rounds: Vec<DateTime<Utc>>,
    /// The last close contact's last exposure (三区 rule).
    pub last_close_contact_exposure: Option<DateTime<Utc>>,
}

// Not a `coded_enum!`: `Tier` carries a tier, so the target is not one code from a table.
/// Where a step goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepTarget {
    Tier(AreaTier),
    /// Measures end (三区: the area rejoins the 防范区 and goes with the county).
    Lifted,
}

impl StepTarget {
    pub fn label_zh(self) -> String {
        match self {
            StepTarget::Tier(tier) => format!("降为{}", tier.label_zh()),
            StepTarget::Lifted => "解除管控".into(),
        }
    }
}

/// The next step an area may take and how far it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NextStep {
    pub to: StepTarget,
    /// First Beijing date the step may be taken (if nothing new is found; a round still needed
    /// may make it later).
    pub earliest: NaiveDate,
    /// Every condition met at `now`.
    pub ready: bool,
    /// Each condition in words, with whether it is met.
    pub conditions: Vec<(String, bool)>,
}

/// The whole-area round a step needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundNeed {
    None,
    /// An all-negative round finished on clean day `n` or later (9th edition: day 7).
    OnOrAfterDay(u32),
    /// An all-negative round finished within the `n` calendar days before the step: today or the
    /// `n − 1` days before (三区: "解封前2天内").
    WithinDaysBefore(u32),
}

/// One row of the lifting table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiftingRule {
    pub scheme: AreaScheme,
    pub from: AreaTier,
    /// The row for a Medium area that was High (9th edition: 3 more clean days, no round).
    pub after_downgrade: bool,
    pub to: StepTarget,
    pub clean_days: u32,
    pub round: RoundNeed,
    /// The last close contact must be this many days from their last exposure (三区).
    pub close_contact_days: Option<u32>,
    pub source: &'static str,
}

/// Every step of every scheme (§4.1–4.3, §14.8).
pub const LIFTING_RULES: &[LiftingRule] = &[
    LiftingRule {
        scheme: AreaScheme::NinthEdition,
        from: AreaTier::High,
        after_downgrade: false,
        to: StepTarget::Tier(AreaTier::Medium),
        clean_days: 7,
        round: RoundNeed::OnOrAfterDay(7),
        close_contact_days: None,
        source: "§4.2 第九版：高风险区连续7天无新增感染者且第7天区域核酸全阴，降为中风险区",
    },
    LiftingRule {
        scheme: AreaScheme::NinthEdition,
        from: AreaTier::Medium,
        after_downgrade: true,
        to: StepTarget::Tier(AreaTier::Low),
        clean_days: 3,
        round: RoundNeed::None,
        close_contact_days: None,
        source: "§4.2 第九版：高风险区降为中风险区后，再连续3天无新增感染者，降为低风险区",
    },
    LiftingRule {
        scheme: AreaScheme::NinthEdition,
        from: AreaTier::Medium,
        after_downgrade: false,
        to: StepTarget::Tier(AreaTier::Low),
        clean_days: 7,
        round: RoundNeed::OnOrAfterDay(7),
        close_contact_days: None,
        source: "§4.2 第九版：中风险区连续7天无新增感染者且第7天区域核酸全阴，降为低风险区",
    },
    LiftingRule {
        scheme: AreaScheme::TwentyMeasures,
        from: AreaTier::High,
        after_downgrade: false,
        to: StepTarget::Tier(AreaTier::Low),
        clean_days: 5,
        round: RoundNeed::None,
        close_contact_days: None,
        source: "§4.3 二十条/11月21日风险区划定及管控方案：高风险区连续5天无新增感染者，降为低风险区",
    },
    LiftingRule {
        scheme: AreaScheme::ThreeZones,
        from: AreaTier::Sealed,
        after_downgrade: false,
        to: StepTarget::Lifted,
        clean_days: 14,
        round: RoundNeed::WithinDaysBefore(2),
        close_contact_days: Some(14),
        source: "§4.1 三区：连续14天无新增感染者；末例密接末次暴露超过14天且核酸阴性；解封前2天内区域全员核酸阴性",
    },
    LiftingRule {
        scheme: AreaScheme::ThreeZones,
        from: AreaTier::Controlled,
        after_downgrade: false,
        to: StepTarget::Lifted,
        clean_days: 14,
        round: RoundNeed::WithinDaysBefore(2),
        close_contact_days: Some(14),
        source: "§4.1 三区：管控区解除条件同封控区",
    },
];

/// The table row for an area of `tier` under `scheme`.
pub fn lifting_rule(
    scheme: AreaScheme,
    tier: AreaTier,
    after_downgrade: bool,
) -> Option<&'static LiftingRule> {
    LIFTING_RULES
        .iter()
        .find(|r| r.scheme == scheme && r.from == tier && r.after_downgrade == after_downgrade)
        .or_else(|| {
            LIFTING_RULES
                .iter()
                .find(|r| r.scheme == scheme && r.from == tier && !r.after_downgrade)
        })
}

/// The next step of an area designated directly at its tier. `None` for a tier with no step of its
/// own: Low (it goes back to routine with the county) and Precaution (lifted when every 封控区 and
/// 管控区 of the county is lifted: see `county_back_to_routine`), and for a tier the scheme does not
/// have.
pub fn next_step(
    scheme: AreaScheme,
    history: &AreaHistory,
    now: DateTime<Utc>,
) -> Option<NextStep> {
    step(scheme, history, false, now)
}

/// The next step of a Medium area that was High (9th edition: Low after 3 more clean days, no
/// round), with `designated_at` = when it became Medium. For any other tier, as `next_step`.
pub fn next_step_after_downgrade(
    scheme: AreaScheme,
    history: &AreaHistory,
    now: DateTime<Utc>,
) -> Option<NextStep> {
    step(scheme, history, true, now)
}

fn plus_days(date: NaiveDate, n: u32) -> NaiveDate {
    date.checked_add_days(Days::new(u64::from(n)))
        .unwrap_or(NaiveDate::MAX)
}

fn step(
    scheme: AreaScheme,
    history: &AreaHistory,
    after_downgrade: bool,
    now: DateTime<Utc>,
) -> Option<NextStep> {
    if !scheme.tiers().contains(&history.tier) {
        return None;
    }
    let rule = lifting_rule(scheme, history.tier, after_downgrade)?;
    let today = beijing_date(now);
    let start_at = history
        .last_infection_at
        .map_or(history.designated_at, |i| i.max(history.designated_at));
    let day0 = beijing_date(start_at);
    let clean = (today - day0).num_days().max(0);
    let mut conditions = Vec::new();
    // The one day-counting rule (`time::period_end`): N clean days after the infection's day are
    // over on the date day0 + N begins.
    let mut earliest = beijing_date(crate::time::period_end(start_at, rule.clean_days));

    let since = if history
        .last_infection_at
        .is_some_and(|i| i >= history.designated_at)
    {
        "发现末例感染者"
    } else {
        "划定"
    };
    conditions.push((
        format!(
            "连续{}天无新增感染者（自{}{since}起已{clean}天）",
            rule.clean_days,
            month_day_zh(start_at),
        ),
        clean >= i64::from(rule.clean_days),
    ));

    let rounds_done = || {
        history
            .negative_rounds
            .iter()
            .copied()
            .filter(|r| *r <= now)
    };
    match rule.round {
        RoundNeed::None => {}
        RoundNeed::OnOrAfterDay(day) => {
            let due = plus_days(day0, day);
            let done = rounds_done()
                .filter(|r| beijing_date(*r) >= due)
                .min()
                .map(beijing_date);
            let words = match done {
                Some(on) => format!("第{day}天区域核酸全阴（{}完成）", date_zh(on)),
                None => format!("第{day}天（{}）区域核酸全阴", date_zh(due)),
            };
            conditions.push((words, done.is_some()));
        }
        RoundNeed::WithinDaysBefore(n) => {
            let newest = rounds_done().max().map(beijing_date);
            let met = newest.is_some_and(|on| (today - on).num_days() < i64::from(n));
            let words = match newest {
                Some(on) => format!("解除前{n}天内区域核酸全阴（最近一轮{}完成）", date_zh(on)),
                None => format!("解除前{n}天内区域核酸全阴（尚无全阴轮次）"),
            };
            conditions.push((words, met));
        }
    }

    if let Some(days) = rule.close_contact_days {
        match history.last_close_contact_exposure {
            None => conditions.push(("末例密接满期（无密接记录）".to_string(), true)),
            Some(exposure) => {
                let exposed = beijing_date(exposure);
                let passed = (today - exposed).num_days().max(0);
                earliest = earliest.max(plus_days(exposed, days));
                conditions.push((
                    format!(
                        "末例密接距末次暴露满{days}天且核酸阴性（{}暴露，已{passed}天）",
                        date_zh(exposed)
                    ),
                    passed >= i64::from(days),
                ));
            }
        }
    }

    let ready = conditions.iter().all(|(_, met)| *met);
    Some(NextStep {
        to: rule.to,
        earliest,
        ready,
        conditions,
    })
}

fn date_zh(date: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}月{}日", date.month(), date.day())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDateTime, TimeZone};

    fn bj(s: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        Utc.from_utc_datetime(&(naive - Duration::hours(8)))
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn area(tier: AreaTier, designated: &str) -> AreaHistory {
        AreaHistory {
            tier,
            designated_at: bj(designated),
            last_infection_at: None,
            negative_rounds: Vec::new(),
            last_close_contact_exposure: None,
        }
    }

    #[test]
    fn codes_labels_and_mappings() {
        for s in AreaScheme::ALL {
            assert_eq!(AreaScheme::from_code(s.code()), Some(s));
            for t in s.tiers() {
                assert!(t.scheme() == s || s == AreaScheme::TwentyMeasures);
            }
        }
        for t in AreaTier::ALL {
            assert_eq!(AreaTier::from_code(t.code()), Some(t));
            assert!(!t.measures_zh().is_empty());
        }
        for u in AreaUnit::ALL {
            assert_eq!(AreaUnit::from_code(u.code()), Some(u));
        }
        assert_eq!(AreaScheme::NinthEdition.code(), "ninth");
        assert_eq!(AreaTier::Controlled.label_zh(), "管控区");
        assert_eq!(AreaUnit::Village.label_zh(), "村社区");
        assert_eq!(AreaTier::High.measures_zh(), "足不出户、上门服务");
        assert_eq!(AreaTier::Sealed.testing_tier(), RiskTier::High);
        assert_eq!(AreaTier::Controlled.testing_tier(), RiskTier::Medium);
        assert_eq!(AreaTier::Precaution.testing_tier(), RiskTier::Low);
        assert_eq!(
            AreaTier::Sealed.colour_fact(),
            Some(FactKind::LeftHighRiskArea)
        );
        assert_eq!(
            AreaTier::Medium.colour_fact(),
            Some(FactKind::LeftMediumRiskArea)
        );
        assert_eq!(AreaTier::Low.colour_fact(), None);
        assert_eq!(
            AreaScheme::TwentyMeasures.tiers(),
            &[AreaTier::High, AreaTier::Low]
        );
        assert_eq!(
            AreaScheme::in_force_on(date("2022-04-01")),
            AreaScheme::ThreeZones
        );
        assert_eq!(
            AreaScheme::in_force_on(date("2022-06-28")),
            AreaScheme::NinthEdition
        );
        assert_eq!(
            AreaScheme::in_force_on(date("2022-11-11")),
            AreaScheme::TwentyMeasures
        );
        assert!(county_back_to_routine(&[
            AreaTier::Low,
            AreaTier::Precaution
        ]));
        assert!(!county_back_to_routine(&[
            AreaTier::Low,
            AreaTier::Controlled
        ]));
        assert_eq!(
            serde_json::to_value(StepTarget::Tier(AreaTier::Medium)).unwrap(),
            serde_json::json!({"tier": "medium"})
        );
    }

    #[test]
    fn every_controlled_tier_has_a_step_and_the_table_is_sound() {
        for scheme in AreaScheme::ALL {
            for tier in scheme.tiers() {
                assert_eq!(
                    lifting_rule(scheme, *tier, false).is_some(),
                    tier.is_controlled(),
                    "{scheme:?} {tier:?}"
                );
            }
        }
        for rule in LIFTING_RULES {
            assert!(rule.scheme.tiers().contains(&rule.from));
            assert!(rule.clean_days > 0 && !rule.source.is_empty());
            if let StepTarget::Tier(to) = rule.to {
                assert!(rule.scheme.tiers().contains(&to));
            }
        }
    }

    #[test]
    fn ninth_high_to_medium_needs_seven_clean_days_and_a_round_on_day_seven() {
        let mut h = area(AreaTier::High, "2022-11-18 09:00");
        h.last_infection_at = Some(bj("2022-11-20 15:00"));
        // Day 6: not yet.
        let step = next_step(AreaScheme::NinthEdition, &h, bj("2022-11-26 12:00")).unwrap();
        assert_eq!(step.to, StepTarget::Tier(AreaTier::Medium));
        assert_eq!(step.earliest, date("2022-11-27"));
        assert!(!step.ready);
        assert_eq!(
            step.conditions,
            vec![
                (
                    "连续7天无新增感染者（自11月20日发现末例感染者起已6天）".to_string(),
                    false
                ),
                ("第7天（11月27日）区域核酸全阴".to_string(), false),
            ]
        );
        // A round on day 5 does not count.
        h.negative_rounds.push(bj("2022-11-25 20:00"));
        let step = next_step(AreaScheme::NinthEdition, &h, bj("2022-11-27 12:00")).unwrap();
        assert!(step.conditions[0].1);
        assert!(!step.conditions[1].1);
        assert!(!step.ready);
        // The day-7 round, once finished, makes it ready.
        h.negative_rounds.push(bj("2022-11-27 18:00"));
        let step = next_step(AreaScheme::NinthEdition, &h, bj("2022-11-27 17:59")).unwrap();
        assert!(!step.ready, "a round not finished yet does not count");
        let step = next_step(AreaScheme::NinthEdition, &h, bj("2022-11-27 18:30")).unwrap();
        assert!(step.ready);
        assert_eq!(step.conditions[1].0, "第7天区域核酸全阴（11月27日完成）");
        // A new infection starts every count again.
        h.last_infection_at = Some(bj("2022-11-27 23:00"));
        let step = next_step(AreaScheme::NinthEdition, &h, bj("2022-11-28 08:00")).unwrap();
        assert!(!step.ready);
        assert_eq!(step.earliest, date("2022-12-04"));
        assert!(step.conditions[0].0.contains("已1天"));
        assert!(
            !step.conditions[1].1,
            "the old round is before the new day 7"
        );
    }

    #[test]
    fn ninth_medium_to_low_directly_or_after_a_downgrade() {
        let mut m = area(AreaTier::Medium, "2022-10-01 10:00");
        let step = next_step(AreaScheme::NinthEdition, &m, bj("2022-10-08 09:00")).unwrap();
        assert_eq!(step.to, StepTarget::Tier(AreaTier::Low));
        assert_eq!(step.earliest, date("2022-10-08"));
        assert!(step.conditions[0].0.contains("自10月1日划定起已7天"));
        assert!(!step.ready);
        m.negative_rounds.push(bj("2022-10-08 08:00"));
        assert!(
            next_step(AreaScheme::NinthEdition, &m, bj("2022-10-08 09:00"))
                .unwrap()
                .ready
        );

        // Downgraded from High on 10-01: three more clean days, no round.
        let d = area(AreaTier::Medium, "2022-10-01 10:00");
        let step = next_step_after_downgrade(AreaScheme::NinthEdition, &d, bj("2022-10-03 23:00"))
            .unwrap();
        assert_eq!(step.earliest, date("2022-10-04"));
        assert_eq!(step.conditions.len(), 1);
        assert!(!step.ready);
        let step = next_step_after_downgrade(AreaScheme::NinthEdition, &d, bj("2022-10-04 00:00"))
            .unwrap();
        assert!(step.ready);
        // For a High area the downgrade variant is the ordinary step.
        let h = area(AreaTier::High, "2022-10-01 10:00");
        assert_eq!(
            next_step_after_downgrade(AreaScheme::NinthEdition, &h, bj("2022-10-02 10:00")),
            next_step(AreaScheme::NinthEdition, &h, bj("2022-10-02 10:00"))
        );
    }

    #[test]
    fn low_precaution_and_foreign_tiers_have_no_step() {
        let now = bj("2022-10-20 10:00");
        assert!(
            next_step(
                AreaScheme::NinthEdition,
                &area(AreaTier::Low, "2022-10-01 10:00"),
                now
            )
            .is_none()
        );
        assert!(
            next_step(
                AreaScheme::ThreeZones,
                &area(AreaTier::Precaution, "2022-04-01 10:00"),
                now
            )
            .is_none()
        );
        assert!(
            next_step(
                AreaScheme::TwentyMeasures,
                &area(AreaTier::Medium, "2022-11-20 10:00"),
                now
            )
            .is_none()
        );
        assert!(
            next_step(
                AreaScheme::NinthEdition,
                &area(AreaTier::Sealed, "2022-10-01 10:00"),
                now
            )
            .is_none()
        );
    }

    #[test]
    fn twenty_measures_high_to_low_after_five_clean_days() {
        let mut h = area(AreaTier::High, "2022-11-21 10:00");
        h.last_infection_at = Some(bj("2022-11-20 10:00"));
        let step = next_step(AreaScheme::TwentyMeasures, &h, bj("2022-11-25 23:59")).unwrap();
        assert_eq!(step.to, StepTarget::Tier(AreaTier::Low));
        assert_eq!(step.earliest, date("2022-11-26"));
        assert!(!step.ready);
        assert!(
            step.conditions[0].0.contains("自11月21日划定起已4天"),
            "{:?}",
            step.conditions
        );
        let step = next_step(AreaScheme::TwentyMeasures, &h, bj("2022-11-26 00:00")).unwrap();
        assert!(step.ready);
    }

    #[test]
    fn three_zones_need_fourteen_days_the_last_contact_and_a_recent_round() {
        for tier in [AreaTier::Sealed, AreaTier::Controlled] {
            let mut s = area(tier, "2022-04-01 10:00");
            s.last_infection_at = Some(bj("2022-04-03 10:00"));
            s.last_close_contact_exposure = Some(bj("2022-04-05 10:00"));
            s.negative_rounds.push(bj("2022-04-17 20:00"));
            let step = next_step(AreaScheme::ThreeZones, &s, bj("2022-04-18 10:00")).unwrap();
            assert_eq!(step.to, StepTarget::Lifted);
            // 14 clean days end 04-17, the contact's 14 days 04-19: the later one.
            assert_eq!(step.earliest, date("2022-04-19"));
            assert!(step.conditions[0].1, "{:?}", step.conditions);
            assert!(step.conditions[1].1, "a round yesterday is within 2 days");
            assert!(!step.conditions[2].1);
            assert!(!step.ready);
            // On 04-19 the contact is through, but the round is two days old (04-18 and 04-19 count).
            let step = next_step(AreaScheme::ThreeZones, &s, bj("2022-04-19 10:00")).unwrap();
            assert!(step.conditions[2].1);
            assert!(!step.conditions[1].1);
            assert_eq!(
                step.conditions[1].0,
                "解除前2天内区域核酸全阴（最近一轮4月17日完成）"
            );
            s.negative_rounds.push(bj("2022-04-18 21:00"));
            let step = next_step(AreaScheme::ThreeZones, &s, bj("2022-04-19 10:00")).unwrap();
            assert!(step.ready, "{:?}", step.conditions);
            // No close contact on record: that condition holds.
            s.last_close_contact_exposure = None;
            let step = next_step(AreaScheme::ThreeZones, &s, bj("2022-04-18 10:00")).unwrap();
            assert_eq!(step.earliest, date("2022-04-17"));
            assert!(step.ready);
        }
    }
}
