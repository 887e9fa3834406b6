//! Administrative regions and fangkong grids, identified by statistical
//! division codes: province 2 digits, city 4, county 6 (GB/T 2260),
//! township 9, village/community 12, and fangkong's grid = village + 3 = 15.
//!
//! Because a child's code always starts with its parent's code, a whole
//! subtree is one contiguous string range, which is what lets the store
//! answer "everything under this township" with one indexed range scan.

use std::fmt;

use serde::{Deserialize, Serialize};

// Not a `coded_enum!`: a level is stored as a number (`as_i16`) and read from a code's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    Province,
    City,
    County,
    Township,
    Village,
    Grid,
}

impl RegionLevel {
    pub const ALL: [RegionLevel; 6] = [
        RegionLevel::Province,
        RegionLevel::City,
        RegionLevel::County,
        RegionLevel::Township,
        RegionLevel::Village,
        RegionLevel::Grid,
    ];

    pub fn from_code_len(len: usize) -> Option<Self> {
        RegionLevel::ALL.into_iter().find(|l| l.code_len() == len)
    }

    pub fn code_len(&self) -> usize {
        match self {
            RegionLevel::Province => 2,
            RegionLevel::City => 4,
            RegionLevel::County => 6,
            RegionLevel::Township => 9,
            RegionLevel::Village => 12,
            RegionLevel::Grid => 15,
        }
    }

    pub fn label_zh(&self) -> &'static str {
        match self {
            RegionLevel::Province => "省",
            RegionLevel::City => "市",
            RegionLevel::County => "县区",
            RegionLevel::Township => "乡镇街道",
            RegionLevel::Village => "村社区",
            RegionLevel::Grid => "网格",
        }
    }

    pub fn child(&self) -> Option<RegionLevel> {
        RegionLevel::from_i16(self.as_i16() + 1)
    }

    pub fn parent(&self) -> Option<RegionLevel> {
        RegionLevel::from_i16(self.as_i16() - 1)
    }

    /// Storage value 0 (province) ..= 5 (grid).
    pub fn as_i16(&self) -> i16 {
        match self {
            RegionLevel::Province => 0,
            RegionLevel::City => 1,
            RegionLevel::County => 2,
            RegionLevel::Township => 3,
            RegionLevel::Village => 4,
            RegionLevel::Grid => 5,
        }
    }

    pub fn from_i16(value: i16) -> Option<Self> {
        usize::try_from(value)
            .ok()
            .and_then(|i| RegionLevel::ALL.get(i).copied())
    }
}

/// A validated region or grid code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(raw: &str) -> Result<RegionCode, String> {
        let text = raw.trim();
        if text.is_empty() {
            return Err("区划编码不能为空".to_string());
        }
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("区划编码“{text}”只能是数字"));
        }
        if RegionLevel::from_code_len(text.len()).is_none() {
            return Err(format!(
                "区划编码“{text}”位数不对：应为2、4、6、9、12位（省市县乡村）或15位（网格），实际为{}位",
                text.len()
            ));
        }
        Ok(RegionCode(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> RegionLevel {
        RegionLevel::from_code_len(self.0.len()).expect("length validated in parse")
    }

    pub fn parent(&self) -> Option<RegionCode> {
        let len = self.level().parent()?.code_len();
        Some(RegionCode(self.0[..len].to_string()))
    }

    /// Whether `other` is this region or lies inside it.
    pub fn contains(&self, other: &RegionCode) -> bool {
        other.0.starts_with(&self.0)
    }

    /// `(lower, upper)` with `lower <= code < upper` (string order) for every
    /// code in this subtree. `':'` is the ASCII character right after `'9'`,
    /// so `code + ":"` is above every digit continuation of `code`.
    pub fn subtree_range(&self) -> (String, String) {
        (self.0.clone(), format!("{}:", self.0))
    }

    /// All enclosing regions, from the province down to the direct parent.
    pub fn ancestors(&self) -> Vec<RegionCode> {
        let mut out = Vec::new();
        let mut cur = self.parent();
        while let Some(code) = cur {
            cur = code.parent();
            out.push(code);
        }
        out.reverse();
        out
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RegionCode {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        RegionCode::parse(&value)
    }
}

impl From<RegionCode> for String {
    fn from(value: RegionCode) -> Self {
        value.0
    }
}

/// Urban communities are run by 居民委员会 (or named 社区); rural villages by
/// 村民委员会. Their layouts differ (buildings vs. rows of courtyards).
pub fn is_community_name(name: &str) -> bool {
    if name.contains("村民委员会") || name.ends_with("村委会") {
        return false;
    }
    name.contains("居民委员会") || name.contains("居委会") || name.contains("社区")
}

/// The name people actually say: the committee suffix is dropped.
/// "小果庄村村民委员会" → "小果庄村", "光华路社区居民委员会" → "光华路社区".
pub fn short_name(name: &str) -> &str {
    let name = name.trim();
    // The statistics often write "小果庄村民委员会" for the committee of 小果庄村: the "村" of
    // "村民委员会" is then the village's own and stays ("东街村村民委员会" already has it).
    if let Some(village) = name
        .strip_suffix("村民委员会")
        .filter(|v| !v.is_empty() && !v.ends_with('村'))
    {
        return &name[..village.len() + '村'.len_utf8()];
    }
    // "村委会" keeps its "村": "东街村委会" → "东街村".
    let stripped = ["村民委员会", "居民委员会", "居委会"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .or_else(|| {
            name.strip_suffix("委会")
                .filter(|rest| rest.ends_with('村'))
        });
    match stripped {
        Some(rest) if !rest.is_empty() => rest,
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn levels_follow_code_lengths() {
        assert_eq!(code("13").level(), RegionLevel::Province);
        assert_eq!(code("1301").level(), RegionLevel::City);
        assert_eq!(code("130182").level(), RegionLevel::County);
        assert_eq!(code("130182100").level(), RegionLevel::Township);
        assert_eq!(code("130182100201").level(), RegionLevel::Village);
        assert_eq!(code("130182100201001").level(), RegionLevel::Grid);
        assert_eq!(RegionLevel::Village.child(), Some(RegionLevel::Grid));
        assert_eq!(RegionLevel::Grid.child(), None);
        for l in RegionLevel::ALL {
            assert_eq!(RegionLevel::from_i16(l.as_i16()), Some(l));
        }
        assert_eq!(RegionLevel::from_i16(6), None);
        assert_eq!(RegionLevel::from_i16(-1), None);
    }

    #[test]
    fn bad_codes_are_rejected_with_reason() {
        assert!(
            RegionCode::parse("1301a2")
                .unwrap_err()
                .contains("只能是数字")
        );
        assert!(
            RegionCode::parse("13018")
                .unwrap_err()
                .contains("实际为5位")
        );
        assert!(RegionCode::parse("").is_err());
    }

    #[test]
    fn parent_and_ancestors_walk_up_to_the_province() {
        let g = code("130182100201003");
        assert_eq!(g.parent(), Some(code("130182100201")));
        assert_eq!(code("13").parent(), None);
        let names: Vec<String> = g.ancestors().into_iter().map(String::from).collect();
        assert_eq!(names, ["13", "1301", "130182", "130182100", "130182100201"]);
    }

    #[test]
    fn a_region_contains_itself_and_its_descendants_only() {
        let town = code("130182100");
        assert!(town.contains(&town));
        assert!(town.contains(&code("130182100201003")));
        assert!(!town.contains(&code("130182101201003")));
        assert!(!town.contains(&code("130182")));
    }

    #[test]
    fn subtree_range_covers_exactly_the_subtree() {
        let (lo, hi) = code("130182100").subtree_range();
        for inside in ["130182100", "130182100999", "130182100999999"] {
            assert!(lo.as_str() <= inside && inside < hi.as_str(), "{inside}");
        }
        for outside in ["130182101", "13018209", "130182"] {
            assert!(
                !(lo.as_str() <= outside && outside < hi.as_str()),
                "{outside}"
            );
        }
    }

    #[test]
    fn serde_round_trips_and_validates() {
        let c = code("130182100201");
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "\"130182100201\"");
        assert_eq!(serde_json::from_str::<RegionCode>(&json).unwrap(), c);
        assert!(serde_json::from_str::<RegionCode>("\"123\"").is_err());
    }

    #[test]
    fn community_names_are_told_from_village_names() {
        assert!(!is_community_name("小果庄村村民委员会"));
        assert!(is_community_name("光华路社区居民委员会"));
        assert!(is_community_name("东街居民委员会"));
        assert!(is_community_name("和平社区"));
        assert!(!is_community_name("东街村"));
    }

    #[test]
    fn short_names_drop_the_committee_suffix() {
        assert_eq!(short_name("小果庄村村民委员会"), "小果庄村");
        assert_eq!(short_name("小果庄村民委员会"), "小果庄村");
        assert_eq!(short_name("光华路社区居民委员会"), "光华路社区");
        assert_eq!(short_name("东街居委会"), "东街");
        assert_eq!(short_name("东街村委会"), "东街村");
        assert_eq!(short_name("东街村"), "东街村");
        assert_eq!(short_name("村民委员会"), "村民委员会");
    }
}
