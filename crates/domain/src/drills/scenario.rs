//! Drill scenarios (演练脚本) as data: the shipped ones in `data/drills/*.json`, or a file a county
//! writes itself. Parsing checks every figure and says which one is wrong, in words.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most of any one kind of person a scenario may ask for (a county's drill, not a census).
pub const MAX_PEOPLE: u64 = 2_000_000;
/// The longest drill, in hours (two weeks).
pub const MAX_HOURS: u32 = 14 * 24;

/// A scenario: what the drill plays into the sandbox, and over how long.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name (letters, digits, `_`, `-`): `fangkong drill --scenario <name>`.
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The county (6-digit code) whose register the sandbox copies or generates.
    pub county: String,
    /// Residents generated when the sandbox has no register of the county.
    pub residents: u64,
    /// Beijing time the drill starts (`2021-01-02 08:00`).
    pub start: String,
    /// How long the drill runs, in hours.
    pub hours: u32,
    /// People screened in the mass testing that finds the positives.
    pub screened: u64,
    pub positives: u32,
    pub close_contacts: u32,
    pub secondary_contacts: u32,
    /// Key people pushed to the grids as leads (重点人员).
    pub key_people: u32,
    /// People to move to centralised isolation (the contacts and the key people found at risk).
    pub to_transfer: u32,
    /// Isolation rooms the county has ready.
    pub rooms: u32,
    /// The random seed: the same seed plays the same drill.
    #[serde(default)]
    pub seed: u64,
}

impl Scenario {
    /// The drill's start, checked by [`parse_scenario`].
    pub fn start_at(&self) -> DateTime<Utc> {
        crate::time::parse_beijing(&self.start).unwrap_or_default()
    }

    /// Where the drill ends.
    pub fn end_at(&self) -> DateTime<Utc> {
        self.start_at() + chrono::Duration::hours(i64::from(self.hours))
    }

    /// People who need a room more than there are rooms (0 when enough).
    pub fn room_shortfall(&self) -> u32 {
        self.to_transfer.saturating_sub(self.rooms)
    }

    fn check(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 40
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            return Err("name（脚本名）：只能用 1–40 个字母、数字、下划线或连字符".into());
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 100 {
            return Err("title（标题）：不能为空，不超过 100 个字".into());
        }
        if self.description.chars().count() > 2_000 {
            return Err("description（说明）：不超过 2000 个字".into());
        }
        if self.county.len() != 6 || !self.county.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "county（县区代码）：应为 6 位数字，例如 130109，而不是 {:?}",
                self.county
            ));
        }
        crate::time::parse_beijing(&self.start)
            .map_err(|problem| format!("start（开始时间）：{problem}"))?;
        if self.hours == 0 || self.hours > MAX_HOURS {
            return Err(format!("hours（时长）：应在 1 到 {MAX_HOURS} 小时之间"));
        }
        if self.positives == 0 {
            return Err("positives（阳性）：至少 1 例，否则没有可演练的响应".into());
        }
        if self.positives > 10_000 {
            return Err("positives（阳性）：不超过 10000 例".into());
        }
        for (field, n) in [
            ("residents（居民）", self.residents),
            ("screened（筛查人数）", self.screened),
            ("close_contacts（密接）", self.close_contacts.into()),
            (
                "secondary_contacts（次密接）",
                self.secondary_contacts.into(),
            ),
            ("key_people（重点人员）", self.key_people.into()),
            ("to_transfer（需转运）", self.to_transfer.into()),
            ("rooms（隔离房间）", self.rooms.into()),
        ] {
            if n > MAX_PEOPLE {
                return Err(format!("{field}：不超过 {MAX_PEOPLE}"));
            }
        }
        if self.residents < 100 {
            return Err("residents（居民）：至少 100 人".into());
        }
        if self.screened > self.residents {
            return Err("screened（筛查人数）：不能多于 residents（居民）".into());
        }
        let people = u64::from(self.close_contacts)
            + u64::from(self.secondary_contacts)
            + u64::from(self.key_people)
            + u64::from(self.positives);
        if people * 2 > self.residents {
            return Err(format!(
                "residents（居民）：{} 人不够选出 {people} 名阳性、密接、次密接和重点人员（至少要两倍）",
                self.residents
            ));
        }
        let at_risk = self.close_contacts + self.secondary_contacts.saturating_add(self.key_people);
        if self.to_transfer > at_risk {
            return Err(format!(
                "to_transfer（需转运）：不能多于密接、次密接和重点人员之和 {at_risk}"
            ));
        }
        if self.secondary_contacts > 0 && self.close_contacts == 0 {
            return Err("secondary_contacts（次密接）：没有密接就没有次密接".into());
        }
        Ok(())
    }
}

/// Reads a scenario from its JSON text, checking every figure.
pub fn parse_scenario(json: &str) -> Result<Scenario, String> {
    let scenario: Scenario =
        serde_json::from_str(json).map_err(|e| format!("演练脚本格式不对：{e}"))?;
    scenario.check()?;
    Ok(scenario)
}

const SHIPPED: &[&str] = &[
    include_str!("../../data/drills/small.json"),
    include_str!("../../data/drills/city_district.json"),
    include_str!("../../data/drills/henan_full.json"),
];

/// The scenarios shipped with fangkong, smallest first.
pub fn shipped_scenarios() -> Vec<Scenario> {
    SHIPPED
        .iter()
        .map(|json| parse_scenario(json).expect("a shipped scenario parses"))
        .collect()
}

/// A shipped scenario by its name.
pub fn shipped_scenario(name: &str) -> Option<Scenario> {
    shipped_scenarios().into_iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_scenarios_parse_and_the_full_one_has_the_henan_figures() {
        let all = shipped_scenarios();
        assert_eq!(all.len(), 3);
        let full = shipped_scenario("henan_full").unwrap();
        assert_eq!(
            (
                full.screened,
                full.positives,
                full.close_contacts,
                full.secondary_contacts,
                full.key_people,
                full.to_transfer,
                full.rooms
            ),
            (200_000, 12, 150, 250, 300, 700, 400)
        );
        assert_eq!(full.room_shortfall(), 300);
        assert_eq!(full.end_at() - full.start_at(), chrono::Duration::hours(72));
        assert!(shipped_scenario("small").is_some());
        assert!(shipped_scenario("nope").is_none());
    }

    #[test]
    fn a_bad_scenario_is_refused_naming_the_field() {
        let good = include_str!("../../data/drills/small.json");
        let cases: &[(&str, &str, &str)] = &[
            ("\"positives\": 3", "\"positives\": 0", "positives"),
            ("\"county\": \"130109\"", "\"county\": \"13\"", "county"),
            ("\"hours\": 48", "\"hours\": 0", "hours"),
            (
                "\"start\": \"2021-01-02 08:00\"",
                "\"start\": \"明天\"",
                "start",
            ),
            ("\"name\": \"small\"", "\"name\": \"小 型\"", "name"),
            ("\"to_transfer\": 30", "\"to_transfer\": 31", "to_transfer"),
            ("\"residents\": 3000", "\"residents\": 50", "residents"),
            ("\"screened\": 3000", "\"screened\": 3001", "screened"),
            ("\"rooms\": 24", "\"rooms\": 24, \"extra\": 1", "extra"),
        ];
        for (from, to, field) in cases {
            assert!(good.contains(from), "{from}");
            let bad = good.replace(from, to);
            let problem = parse_scenario(&bad).unwrap_err();
            assert!(problem.contains(field), "{to}: {problem}");
        }
        assert!(parse_scenario("not json").unwrap_err().contains("格式"));
        assert!(parse_scenario(good).is_ok());
    }
}
