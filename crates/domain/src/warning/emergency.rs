//! A region's command state (常态 / 应急) and the emergency checklist a switch opens
//! (平急转换, domain-rules.md §10.1).

use serde::Deserialize;

use crate::region::{RegionCode, RegionLevel};

crate::coded_enum! {
    /// A region's command state (指挥状态).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum CommandState {
        Normal => "normal", "常态",
        Emergency => "emergency", "应急",
    }
}

crate::coded_enum! {
    /// The work in another module that closes a checklist task by itself, without anyone ticking
    /// it: each is read from that module's own records since the switch.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ClosesOn {
        /// A duty roster for today at this region's office (值班排班).
        DutyRostered => "duty_rostered", "已排今日值班",
        /// An incident report filed by this region's office (重大事项首报).
        IncidentReported => "incident_reported", "已报送重大事项",
        /// A testing round opened over this region or a part of it (核酸检测轮次).
        RoundOpened => "round_opened", "已开启核酸检测轮次",
        /// Free isolation rooms in the region reach the template's rooms per 10,000 residents.
        RoomsReady => "rooms_ready", "可用隔离房间达标",
        /// A bulletin published by this region's office (信息发布).
        BulletinPublished => "bulletin_published", "已发布疫情通报",
        /// No item of the region's reserves under the 30-day full-load rule (物资储备).
        SuppliesCovered => "supplies_covered", "物资储备均达30天",
    }
}

crate::coded_enum! {
    /// A task of the checklist: open, done by its module, or done by hand.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum TaskStatus {
        Open => "open", "待完成",
        Done => "done", "已完成",
    }
}

/// One task of a level's template.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskTemplate {
    pub code: String,
    pub title: String,
    pub owner: String,
    pub due_hours: i64,
    #[serde(default, deserialize_with = "closes_on_code")]
    pub closes_on: Option<ClosesOn>,
    /// For [`ClosesOn::RoomsReady`]: free rooms needed per 10,000 residents.
    #[serde(default)]
    pub rooms_per_10000: Option<i64>,
}

/// What the platform can check of a condition for going back to normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionCheck {
    /// No case found in the region for `days` days.
    DaysWithoutCases,
    /// No risk area in force in the region.
    NoRiskAreas,
    /// Nobody under centralised isolation from the region.
    NoCentralised,
}

/// One condition for switching back (平转常的条件).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ConditionTemplate {
    pub code: String,
    pub title: String,
    /// What the platform checks; `None` = the commander's word.
    #[serde(default)]
    pub check: Option<ConditionCheck>,
    #[serde(default)]
    pub days: Option<i64>,
}

/// A level's checklist and its conditions back to normal.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LevelTemplate {
    pub tasks: Vec<TaskTemplate>,
    pub back_to_normal: Vec<ConditionTemplate>,
}

fn closes_on_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<ClosesOn>, D::Error> {
    let code = Option::<String>::deserialize(d)?;
    code.map(|c| {
        ClosesOn::from_code(&c)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown closes_on {c}")))
    })
    .transpose()
}

#[derive(Deserialize)]
struct Templates {
    levels: std::collections::BTreeMap<String, LevelTemplate>,
}

fn templates() -> &'static std::collections::BTreeMap<String, LevelTemplate> {
    static TEMPLATES: std::sync::OnceLock<std::collections::BTreeMap<String, LevelTemplate>> =
        std::sync::OnceLock::new();
    TEMPLATES.get_or_init(|| {
        serde_json::from_str::<Templates>(include_str!(
            "../../data/warning/emergency_checklists.json"
        ))
        .expect("data/warning/emergency_checklists.json is valid (tested)")
        .levels
    })
}

/// The template of a region's level: a province or city uses the city's, a county its own, a
/// township its own. Villages and grids are not switched on their own (their township is).
pub fn template_for(level: RegionLevel) -> Option<&'static LevelTemplate> {
    let key = match level {
        RegionLevel::Province | RegionLevel::City => "city",
        RegionLevel::County => "county",
        RegionLevel::Township => "township",
        RegionLevel::Village | RegionLevel::Grid => return None,
    };
    templates().get(key)
}

/// Whether a commander whose jurisdiction is `jurisdiction` may switch `region`: their own
/// region's command (该级指挥部), or one level below on their order. Anything else is refused with
/// the reason in words.
pub fn may_switch(jurisdiction: &RegionCode, region: &RegionCode) -> Result<(), String> {
    if template_for(region.level()).is_none() {
        return Err("村（社区）和网格不单独进行平急转换，请切换所在乡镇（街道）".into());
    }
    if jurisdiction == region {
        return Ok(());
    }
    if region.as_str().starts_with(jurisdiction.as_str()) {
        if region.parent().as_ref() == Some(jurisdiction) {
            return Ok(());
        }
        return Err("只能切换本级或下一级的指挥状态，请由下级指挥部切换".into());
    }
    Err("不能切换上级或辖区外的指挥状态：由该级指挥部决定".into())
}

/// A checklist task as the switch opens it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    pub code: String,
    pub title: String,
    pub owner: String,
    pub due_at: i64,
    pub closes_on: Option<ClosesOn>,
}

/// The checklist a switch to emergency at `at` opens for a region of `level`.
pub fn checklist(level: RegionLevel, at: i64) -> Vec<NewTask> {
    template_for(level)
        .map(|t| {
            t.tasks
                .iter()
                .map(|task| NewTask {
                    code: task.code.clone(),
                    title: task.title.clone(),
                    owner: task.owner.clone(),
                    due_at: at + task.due_hours * 3600,
                    closes_on: task.closes_on,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Free rooms a region of `residents` needs before "rooms ready" closes (rounded up).
pub fn rooms_needed(residents: i64, per_10000: i64) -> i64 {
    (residents * per_10000 + 9_999) / 10_000
}

/// What the platform knows of the conditions back to normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RegionFacts {
    /// Days since the region's last case was found (`None`: no case ever).
    pub days_since_last_case: Option<i64>,
    pub risk_areas_in_force: i64,
    pub centralised: i64,
}

/// One condition with what the platform saw: `Some(true/false)` checked, `None` the commander's word.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionSeen {
    pub code: String,
    pub title: String,
    pub holds: Option<bool>,
    pub seen: String,
}

/// Each condition back to normal of `level`, with what the platform sees.
pub fn conditions(level: RegionLevel, facts: RegionFacts) -> Vec<ConditionSeen> {
    let Some(template) = template_for(level) else {
        return Vec::new();
    };
    template
        .back_to_normal
        .iter()
        .map(|c| {
            let (holds, seen) = match c.check {
                Some(ConditionCheck::DaysWithoutCases) => {
                    let need = c.days.unwrap_or(14);
                    match facts.days_since_last_case {
                        Some(days) => (Some(days >= need), format!("距最近一例病例 {days} 天")),
                        None => (Some(true), "辖区无病例".into()),
                    }
                }
                Some(ConditionCheck::NoRiskAreas) => (
                    Some(facts.risk_areas_in_force == 0),
                    format!("在管风险区域 {} 个", facts.risk_areas_in_force),
                ),
                Some(ConditionCheck::NoCentralised) => (
                    Some(facts.centralised == 0),
                    format!("集中隔离中 {} 人", facts.centralised),
                ),
                None => (None, "由指挥部确认".into()),
            };
            ConditionSeen {
                code: c.code.clone(),
                title: c.title.clone(),
                holds,
                seen,
            }
        })
        .collect()
}

/// A switch back to normal: every condition the platform checks must hold, and every condition
/// must be confirmed by the commander (`confirmed` holds the codes ticked). Refused in words.
pub fn may_return(seen: &[ConditionSeen], confirmed: &[String]) -> Result<(), String> {
    if let Some(failing) = seen.iter().find(|c| c.holds == Some(false)) {
        return Err(format!(
            "条件“{}”尚未满足（{}）",
            failing.title, failing.seen
        ));
    }
    if let Some(missing) = seen.iter().find(|c| !confirmed.contains(&c.code)) {
        return Err(format!("请确认条件“{}”", missing.title));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn every_level_that_switches_has_a_template_and_every_auto_task_a_source() {
        for level in [
            RegionLevel::Province,
            RegionLevel::City,
            RegionLevel::County,
            RegionLevel::Township,
        ] {
            let t = template_for(level).expect("template");
            assert!(!t.tasks.is_empty() && !t.back_to_normal.is_empty());
            for task in &t.tasks {
                if task.closes_on == Some(ClosesOn::RoomsReady) {
                    assert!(task.rooms_per_10000.is_some(), "{}", task.code);
                }
            }
        }
        assert!(template_for(RegionLevel::Grid).is_none());
        let county = checklist(RegionLevel::County, 100);
        let testing = county
            .iter()
            .find(|t| t.code == "open_mass_testing")
            .unwrap();
        assert_eq!(testing.closes_on, Some(ClosesOn::RoundOpened));
        assert_eq!(testing.due_at, 100 + 12 * 3600);
        assert!(
            county.iter().any(|t| t.closes_on.is_none()),
            "some tasks are ticked by hand"
        );
    }

    #[test]
    fn a_commander_switches_their_own_level_or_the_one_below() {
        let county = code("130109");
        assert!(may_switch(&county, &county).is_ok());
        assert!(may_switch(&county, &code("130109110")).is_ok());
        let up = may_switch(&code("130109110"), &county).unwrap_err();
        assert!(up.contains("上级"), "{up}");
        let two_down = may_switch(&code("1301"), &code("130109110")).unwrap_err();
        assert!(two_down.contains("下一级"), "{two_down}");
        let grid = may_switch(&county, &code("130109110201")).unwrap_err();
        assert!(grid.contains("乡镇"), "{grid}");
        assert!(may_switch(&county, &code("130110")).is_err(), "a neighbour");
    }

    #[test]
    fn going_back_needs_every_checked_condition_and_every_confirmation() {
        let facts = RegionFacts {
            days_since_last_case: Some(3),
            risk_areas_in_force: 0,
            centralised: 0,
        };
        let seen = conditions(RegionLevel::County, facts);
        let all: Vec<String> = seen.iter().map(|c| c.code.clone()).collect();
        let err = may_return(&seen, &all).unwrap_err();
        assert!(err.contains("14天") && err.contains("3 天"), "{err}");
        let ok = RegionFacts {
            days_since_last_case: Some(14),
            ..facts
        };
        let seen = conditions(RegionLevel::County, ok);
        assert!(may_return(&seen, &all).is_ok());
        let err = may_return(&seen, &all[..1]).unwrap_err();
        assert!(err.starts_with("请确认条件"), "{err}");
        assert_eq!(rooms_needed(737_580, 20), 1476);
        assert_eq!(rooms_needed(10_000, 20), 20);
    }
}
