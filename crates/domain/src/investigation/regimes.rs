//! Prevention-and-control regimes (防控方案) and their tracing rules (data in
//! `data/investigation/tracing_rules.json`): look-back days, window, secondary contacts.

use super::*;

crate::coded_enum! {
    /// The prevention-and-control regime in force (防控方案版本, domain-rules.md §0): every period,
    /// test-day list and look-back window belongs to one.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Regime {
        /// 第八版 (May 2021 → 27 Jun 2022): 14+7 for close contacts, 次密接 7 days centralised.
        Eighth => "eighth", "防控方案第八版",
        /// 第九版 (28 Jun → 10 Nov 2022): 7+3, 次密接 7 days at home.
        Ninth => "ninth", "防控方案第九版",
        /// 二十条 (from 11 Nov 2022): 5+3, no secondary contacts.
        Twenty => "twenty", "二十条优化措施",
    }
}

/// What a regime says about tracing (domain-rules.md §1.1, §1.2, §0, §6), as data:
/// `data/investigation/tracing_rules.json`, one row per regime, optionally overridden for a
/// jurisdiction (a region-code prefix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracingRules {
    pub regime: Regime,
    /// A region-code prefix the row applies to ('' = everywhere).
    #[serde(default)]
    pub jurisdiction: String,
    /// Days before onset (or the first positive sampling of an asymptomatic case) the look-back
    /// window opens. 9th edition and 2022 practice: 4 days; the 8th-edition wording: 2 days
    /// (DISAGREE in §1.1: kept per regime).
    pub look_back_days: i64,
    /// Whether contacts of close contacts (次密接) are identified at all (abolished by the 20条).
    pub identifies_secondary: bool,
    /// Online report within this many hours of discovery (§6: 2 h 网络直报).
    pub report_hours: i64,
    /// Case investigation finished within this many hours (§6: 24 h).
    pub investigation_hours: i64,
    pub source: String,
}

#[derive(Deserialize)]
struct TracingRuleTable {
    rules: Vec<TracingRules>,
}

/// Every row of the tracing-rule table (parsed once; the file is compiled in and checked by a test).
pub fn tracing_rule_table() -> &'static [TracingRules] {
    static TABLE: std::sync::OnceLock<Vec<TracingRules>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        serde_json::from_str::<TracingRuleTable>(include_str!(
            "../../data/investigation/tracing_rules.json"
        ))
        .map(|t| t.rules)
        .unwrap_or_default()
    })
}

impl Regime {
    /// The national rules of the regime.
    pub fn tracing_rules(self) -> TracingRules {
        self.tracing_rules_in("")
    }

    /// The rules of the regime inside `region` (a region code): the row with the longest matching
    /// jurisdiction prefix.
    pub fn tracing_rules_in(self, region: &str) -> TracingRules {
        tracing_rule_table()
            .iter()
            .filter(|r| r.regime == self && region.starts_with(r.jurisdiction.as_str()))
            .max_by_key(|r| r.jurisdiction.len())
            .cloned()
            .unwrap_or(TracingRules {
                regime: self,
                jurisdiction: String::new(),
                look_back_days: 4,
                identifies_secondary: self != Regime::Twenty,
                report_hours: 2,
                investigation_hours: 24,
                source: "（规则表缺失该方案，按第九版默认值）".to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_table_has_every_regime_with_a_source() {
        for regime in Regime::ALL {
            let row = tracing_rule_table()
                .iter()
                .find(|r| r.regime == regime && r.jurisdiction.is_empty())
                .unwrap_or_else(|| panic!("no national row for {regime:?}"));
            assert!(!row.source.is_empty());
        }
        assert!(!Regime::Twenty.tracing_rules().identifies_secondary);
        assert_eq!(Regime::Eighth.tracing_rules_in("130109").look_back_days, 2);
    }
}
