//! Person attributes: sex, key groups (重点人群) and age.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

crate::coded_enum! {
    // Serde as written: JSON says `male`/`female`, the code is `M`/`F`.
    serde = as_written;
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Sex {
        Male => "M", "男",
        Female => "F", "女",
    }
}

impl Sex {
    /// Accepts 男/女, M/F, male/female and the GB/T 2261.1 codes 1/2.
    pub fn parse(raw: &str) -> Result<Sex, String> {
        let text = raw.trim();
        match text.to_ascii_lowercase().as_str() {
            "男" | "m" | "male" | "1" | "男性" => Ok(Sex::Male),
            "女" | "f" | "female" | "2" | "女性" => Ok(Sex::Female),
            _ => Err(format!("性别“{text}”无法识别，请填写“男”或“女”")),
        }
    }
}

crate::coded_enum! {
    /// Occupational groups at higher exposure risk, screened more often.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum KeyGroup {
        ColdChain => "cold_chain", "冷链从业人员",
        IsolationSiteStaff => "isolation_site_staff", "隔离点工作人员",
        Medical => "medical", "医务人员",
        Port => "port", "口岸人员",
        Delivery => "delivery", "快递外卖",
        PublicTransport => "public_transport", "公共交通",
        ElderlyCare => "elderly_care", "养老机构",
        MarketVendor => "market_vendor", "农贸市场",
        School => "school", "学校教职工",
    }
}

impl KeyGroup {
    fn short_label(&self) -> &'static [&'static str] {
        match self {
            KeyGroup::ColdChain => &["冷链"],
            KeyGroup::IsolationSiteStaff => &["隔离点", "隔离点人员"],
            KeyGroup::Medical => &["医务", "医护", "医护人员"],
            KeyGroup::Port => &["口岸"],
            KeyGroup::Delivery => &["快递", "外卖"],
            KeyGroup::PublicTransport => &["公交", "公共交通从业人员"],
            KeyGroup::ElderlyCare => &["养老", "养老机构工作人员"],
            KeyGroup::MarketVendor => &["市场", "农贸市场从业人员"],
            KeyGroup::School => &["学校", "教职工"],
        }
    }

    pub fn parse(raw: &str) -> Result<KeyGroup, String> {
        let text = raw.trim();
        let lower = text.to_ascii_lowercase();
        KeyGroup::ALL
            .into_iter()
            .find(|g| g.code() == lower || g.label_zh() == text || g.short_label().contains(&text))
            .ok_or_else(|| {
                format!(
                    "重点人群“{text}”无法识别，可填写：冷链、隔离点、医务、口岸、快递、外卖、公交、养老、市场、学校"
                )
            })
    }
}

fn is_list_separator(c: char) -> bool {
    matches!(c, ';' | '；' | ',' | '，' | '、' | '|') || c.is_whitespace()
}

/// Parses a cell like "冷链、医务" into sorted, deduplicated groups. An empty
/// cell is no group. All unknown entries are reported together.
pub fn parse_key_groups(raw: &str) -> Result<Vec<KeyGroup>, String> {
    let mut groups = Vec::new();
    let mut unknown = Vec::new();
    for part in raw.split(is_list_separator).filter(|p| !p.is_empty()) {
        match KeyGroup::parse(part) {
            Ok(g) => groups.push(g),
            Err(_) => unknown.push(part),
        }
    }
    if !unknown.is_empty() {
        return Err(format!(
            "重点人群“{}”无法识别，可填写：冷链、隔离点、医务、口岸、快递、外卖、公交、养老、市场、学校，多个用“、”分开",
            unknown.join("、")
        ));
    }
    groups.sort();
    groups.dedup();
    Ok(groups)
}

/// Storage form: ";"-joined codes.
pub fn key_groups_to_codes(groups: &[KeyGroup]) -> String {
    groups
        .iter()
        .copied()
        .map(KeyGroup::code)
        .collect::<Vec<_>>()
        .join(";")
}

/// Reads the storage form; unknown codes are skipped so that an older
/// binary can still read rows written by a newer one.
pub fn key_groups_from_codes(codes: &str) -> Vec<KeyGroup> {
    let mut groups: Vec<KeyGroup> = codes
        .split(';')
        .filter_map(|c| KeyGroup::from_code(c.trim()))
        .collect();
    groups.sort();
    groups.dedup();
    groups
}

pub fn key_groups_label_zh(groups: &[KeyGroup]) -> String {
    groups
        .iter()
        .copied()
        .map(KeyGroup::label_zh)
        .collect::<Vec<_>>()
        .join("、")
}

/// Completed years of age on `today` (0 before the first birthday; 0 for a
/// birth date in the future). Someone born on 29 February has their birthday
/// on 1 March in common years, as Chinese civil practice counts it.
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> u32 {
    if today <= birth {
        return 0;
    }
    let mut years = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn sex_parses_common_spellings() {
        for raw in ["男", "M", "male", "1", " m "] {
            assert_eq!(Sex::parse(raw).unwrap(), Sex::Male, "{raw}");
        }
        for raw in ["女", "F", "Female", "2"] {
            assert_eq!(Sex::parse(raw).unwrap(), Sex::Female, "{raw}");
        }
        assert!(Sex::parse("未知").unwrap_err().contains("未知"));
        assert_eq!(Sex::Female.label_zh(), "女");
        assert_eq!(Sex::Male.code(), "M");
    }

    #[test]
    fn key_group_parses_codes_labels_and_short_labels() {
        for g in KeyGroup::ALL {
            assert_eq!(KeyGroup::parse(g.code()).unwrap(), g);
            assert_eq!(KeyGroup::parse(g.label_zh()).unwrap(), g);
        }
        assert_eq!(KeyGroup::parse("外卖").unwrap(), KeyGroup::Delivery);
        assert_eq!(KeyGroup::parse("市场").unwrap(), KeyGroup::MarketVendor);
        assert!(KeyGroup::parse("司机").is_err());
    }

    #[test]
    fn key_group_lists_split_on_any_separator_and_are_sorted_without_duplicates() {
        let groups = parse_key_groups("学校；冷链、医务人员,冷链 快递|外卖").unwrap();
        assert_eq!(
            groups,
            [
                KeyGroup::ColdChain,
                KeyGroup::Medical,
                KeyGroup::Delivery,
                KeyGroup::School
            ]
        );
        assert_eq!(parse_key_groups("  ").unwrap(), []);
        let err = parse_key_groups("冷链、司机、厨师").unwrap_err();
        assert!(err.contains("司机、厨师"), "{err}");
    }

    #[test]
    fn key_groups_round_trip_through_codes_and_labels() {
        let groups = [KeyGroup::ColdChain, KeyGroup::School];
        assert_eq!(key_groups_to_codes(&groups), "cold_chain;school");
        assert_eq!(key_groups_from_codes("cold_chain;school"), groups);
        assert_eq!(
            key_groups_from_codes("school;future_group;cold_chain"),
            groups
        );
        assert_eq!(key_groups_from_codes(""), []);
        assert_eq!(key_groups_label_zh(&groups), "冷链从业人员、学校教职工");
        assert_eq!(
            parse_key_groups(&key_groups_label_zh(&groups)).unwrap(),
            groups
        );
    }

    #[test]
    fn age_counts_completed_years() {
        assert_eq!(age_on(d(1980, 6, 15), d(2024, 6, 14)), 43);
        assert_eq!(age_on(d(1980, 6, 15), d(2024, 6, 15)), 44);
        assert_eq!(age_on(d(2000, 2, 29), d(2023, 2, 28)), 22);
        assert_eq!(age_on(d(2000, 2, 29), d(2023, 3, 1)), 23);
        assert_eq!(age_on(d(2030, 1, 1), d(2024, 1, 1)), 0);
    }
}
