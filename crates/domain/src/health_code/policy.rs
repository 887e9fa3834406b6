//! The versioned policy tables (JSON data with their sources, domain-rules.md §0, §3, §14.4–14.6):
//! colour rules, pop-up rules, which table is in force where and when.

use super::*;

// ---------------------------------------------------------------------------------------------
// Policy tables (data)
// ---------------------------------------------------------------------------------------------

/// What a duration in a rule is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeBase {
    /// The fact's anchor (last exposure, entry, leaving the area, diagnosis…).
    Anchor,
    /// The fact's end (`ended_at`: discharge, recheck negative); unknown while the fact is open.
    End,
}

/// `days` days after `from`, counted by the one day-counting rule (`crate::time::period_end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offset {
    pub from: TimeBase,
    pub days: u32,
}

impl Offset {
    pub(super) fn at(self, fact: &CodeFact) -> Option<DateTime<Utc>> {
        base(self.from, fact).map(|b| after_days(b, self.days))
    }

    pub(super) fn words(self, fact: &CodeFact, ended_zh: &str) -> String {
        match self.at(fact) {
            Some(t) => format!("{}后采样", month_day_time_zh(t)),
            None if self.days == 0 => format!("{ended_zh}后采样"),
            None => format!("{ended_zh}{}天后采样", self.days),
        }
    }
}

pub(super) fn base(from: TimeBase, fact: &CodeFact) -> Option<DateTime<Utc>> {
    match from {
        TimeBase::Anchor => Some(fact.anchor),
        TimeBase::End => fact.ended_at,
    }
}

/// How a colour phase ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PhaseEnd {
    /// While the fact is open (in hospital, recheck pending).
    WhileOpen,
    /// `days` days after `from`, counted by the one day-counting rule (`crate::time::period_end`).
    Days { from: TimeBase, days: u32 },
    /// When a negative sampled at least `days` × 24 h after `from` is on record.
    Negative { from: TimeBase, days: u32 },
}

/// One colour for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub colour: CodeColour,
    pub until: PhaseEnd,
}

/// The colour course of one fact kind: phases in order, then green — once a negative sampled after
/// `release_negative_after` is on record, if the rule asks for one (until then the last phase's
/// colour stays).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColourRule {
    pub kind: FactKind,
    pub phases: Vec<Phase>,
    pub release_negative_after: Option<Offset>,
    /// What the fact's end is called ("出院（舱）"), for rules that use it.
    #[serde(default)]
    pub ended_zh: Option<String>,
    pub source: String,
    /// Inferences ([I]) and other remarks.
    #[serde(default)]
    pub note: Option<String>,
}

/// The pop-up of one fact kind: lifted by a community check (if needed) plus `negatives` negatives
/// sampled after the anchor, each at least `min_gap_hours` after the one before; or by itself
/// `auto_lift_days` × 24 h after the anchor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopupRule {
    pub kind: FactKind,
    pub cause_zh: String,
    pub needs_check: bool,
    pub negatives: u32,
    pub min_gap_hours: u32,
    /// "到达后": when the tests count from, in the pop-up's words.
    pub tests_after_zh: String,
    pub auto_lift_days: Option<u32>,
    pub source: String,
    #[serde(default)]
    pub note: Option<String>,
}

impl PopupRule {
    /// "请向社区报备，到达后两次核酸间隔24小时均阴性后解除，或14天后自动解除".
    pub fn how_to_lift_zh(&self) -> String {
        let mut words = String::new();
        if self.needs_check {
            words.push_str("请向社区报备，");
        }
        if self.negatives > 0 {
            let count = match self.negatives {
                1 => "一".to_string(),
                2 => "两".to_string(),
                3 => "三".to_string(),
                n => n.to_string(),
            };
            if self.negatives == 1 {
                words.push_str(&format!("{}一次核酸阴性后解除", self.tests_after_zh));
            } else {
                words.push_str(&format!(
                    "{}{count}次核酸间隔{}小时均阴性后解除",
                    self.tests_after_zh, self.min_gap_hours
                ));
            }
        }
        if let Some(d) = self.auto_lift_days {
            if self.negatives > 0 {
                words.push('，');
                words.push('或');
            }
            words.push_str(&format!("{d}天后自动解除"));
        }
        words
    }
}

/// A versioned policy table, loaded from the JSON files in `crates/domain/data/health_code/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodePolicy {
    /// "hebei-2022-11".
    pub id: String,
    pub name_zh: String,
    /// Short name in reasons: "河北2022-11".
    pub short_zh: String,
    /// Region-code prefix: "13" Hebei, "31" Shanghai, "" national.
    pub jurisdiction: String,
    pub effective_from: NaiveDate,
    /// Exclusive.
    pub effective_to: Option<NaiveDate>,
    pub source: String,
    #[serde(default)]
    pub note: Option<String>,
    pub colour_rules: Vec<ColourRule>,
    pub popup_rules: Vec<PopupRule>,
}

impl CodePolicy {
    pub fn colour_rule(&self, kind: FactKind) -> Option<&ColourRule> {
        self.colour_rules.iter().find(|r| r.kind == kind)
    }

    pub fn popup_rule(&self, kind: FactKind) -> Option<&PopupRule> {
        self.popup_rules.iter().find(|r| r.kind == kind)
    }

    /// In force on `on`: `effective_from ≤ on < effective_to`.
    pub fn in_force(&self, on: NaiveDate) -> bool {
        self.effective_from <= on && self.effective_to.is_none_or(|to| on < to)
    }

    /// Checks the table can be applied: one rule per kind, no rule for a colour set by people,
    /// every course ends (a phase or release that could wait for ever is allowed only on a
    /// negative test or the fact's end), a pop-up that can be lifted.
    pub fn check(&self) -> Result<(), String> {
        let here = |what: String| Err(format!("{}: {what}", self.id));
        if self.id.is_empty() || self.name_zh.is_empty() || self.source.is_empty() {
            return here("id, name_zh and source are required".into());
        }
        if !self.jurisdiction.bytes().all(|b| b.is_ascii_digit()) {
            return here(format!(
                "jurisdiction {:?} is not digits",
                self.jurisdiction
            ));
        }
        if self
            .effective_to
            .is_some_and(|to| to <= self.effective_from)
        {
            return here("effective_to must follow effective_from".into());
        }
        for (i, rule) in self.colour_rules.iter().enumerate() {
            if self.colour_rules[..i].iter().any(|r| r.kind == rule.kind) {
                return here(format!("two colour rules for {}", rule.kind.code()));
            }
            if rule.kind.is_set_by_people() {
                return here(format!("{} is set by people, not tables", rule.kind.code()));
            }
            if rule.phases.is_empty() {
                return here(format!("{}: no phases", rule.kind.code()));
            }
            if rule.source.is_empty() {
                return here(format!("{}: no source", rule.kind.code()));
            }
            if rule.phases.iter().any(|p| p.colour == CodeColour::Green) {
                return here(format!("{}: a green phase", rule.kind.code()));
            }
            let uses_end = rule.phases.iter().any(|p| {
                matches!(
                    p.until,
                    PhaseEnd::WhileOpen
                        | PhaseEnd::Days {
                            from: TimeBase::End,
                            ..
                        }
                        | PhaseEnd::Negative {
                            from: TimeBase::End,
                            ..
                        }
                )
            }) || rule
                .release_negative_after
                .is_some_and(|o| o.from == TimeBase::End);
            if uses_end && rule.ended_zh.as_deref().is_none_or(str::is_empty) {
                return here(format!(
                    "{}: uses the end but has no ended_zh",
                    rule.kind.code()
                ));
            }
            // Day counts from the same base must grow phase by phase.
            let mut last_anchor_days = 0;
            for phase in &rule.phases {
                if let PhaseEnd::Days {
                    from: TimeBase::Anchor,
                    days,
                } = phase.until
                {
                    if days <= last_anchor_days {
                        return here(format!("{}: phases out of order", rule.kind.code()));
                    }
                    last_anchor_days = days;
                }
            }
        }
        for (i, rule) in self.popup_rules.iter().enumerate() {
            if self.popup_rules[..i].iter().any(|r| r.kind == rule.kind) {
                return here(format!("two pop-up rules for {}", rule.kind.code()));
            }
            if rule.kind.is_set_by_people() {
                return here(format!("{} is set by people, not tables", rule.kind.code()));
            }
            if rule.negatives == 0 && rule.auto_lift_days.is_none() {
                return here(format!("{}: a pop-up that never lifts", rule.kind.code()));
            }
            if rule.negatives > 1 && rule.min_gap_hours == 0 {
                return here(format!("{}: several tests without a gap", rule.kind.code()));
            }
            if rule.source.is_empty() || rule.cause_zh.is_empty() {
                return here(format!("{}: no source or cause", rule.kind.code()));
            }
        }
        Ok(())
    }
}

const POLICY_FILES: [(&str, &str); 3] = [
    (
        "hebei-2022-11.json",
        include_str!("../../data/health_code/hebei-2022-11.json"),
    ),
    (
        "shanghai-2022-04.json",
        include_str!("../../data/health_code/shanghai-2022-04.json"),
    ),
    (
        "national-2022.json",
        include_str!("../../data/health_code/national-2022.json"),
    ),
];

/// Every shipped policy table, parsed once. The files are part of the crate and a test parses and
/// checks them, so a broken file cannot ship; hence the panic here is for a broken build only.
pub fn policies() -> &'static [CodePolicy] {
    static POLICIES: OnceLock<Vec<CodePolicy>> = OnceLock::new();
    POLICIES.get_or_init(|| {
        POLICY_FILES
            .iter()
            .map(|(name, text)| {
                let policy: CodePolicy = serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("health-code policy {name}: {e}"));
                if let Err(e) = policy.check() {
                    panic!("health-code policy {name}: {e}");
                }
                policy
            })
            .collect()
    })
}

pub fn policy_by_id(id: &str) -> Option<&'static CodePolicy> {
    policies().iter().find(|p| p.id == id)
}

/// The table for a person registered under `region_code` on `on`: the longest jurisdiction prefix
/// of the region among the tables in force that day (provinces override the national table, §14.1).
/// When none is in force (a date before every table of the place), the place's newest table with
/// the longest matching prefix is used, so Hebei dates before the shipped Hebei table still get
/// Hebei's rules rather than none.
pub fn policy_for(region_code: &str, on: NaiveDate) -> &'static CodePolicy {
    let matching = || {
        policies()
            .iter()
            .filter(|p| region_code.starts_with(p.jurisdiction.as_str()))
    };
    let best = |a: &&CodePolicy, b: &&CodePolicy| {
        a.jurisdiction
            .len()
            .cmp(&b.jurisdiction.len())
            .then(a.effective_from.cmp(&b.effective_from))
    };
    matching()
        .filter(|p| p.in_force(on))
        .max_by(best)
        .or_else(|| matching().max_by(best))
        .or_else(|| policy_by_id("hebei-2022-11"))
        .expect("the shipped tables include a national one")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_policies_parse_and_are_consistent() {
        let all = policies();
        assert_eq!(all.len(), 3);
        for (i, p) in all.iter().enumerate() {
            p.check().unwrap();
            assert!(all[..i].iter().all(|q| q.id != p.id), "duplicate {}", p.id);
            for rule in &p.colour_rules {
                assert!(!rule.source.is_empty());
            }
        }
        assert_eq!(hebei().jurisdiction, "13");
        assert_eq!(shanghai().jurisdiction, "31");
        assert_eq!(national().jurisdiction, "");
        // The Hebei-specific inferences are marked as such in the data.
        for kind in [
            FactKind::DueNotTested,
            FactKind::FeverClinic,
            FactKind::PharmacyPurchase,
        ] {
            assert!(
                hebei()
                    .popup_rule(kind)
                    .unwrap()
                    .note
                    .as_deref()
                    .unwrap()
                    .contains("[I]")
            );
        }
        // A broken table is refused.
        let mut bad = hebei().clone();
        bad.colour_rules.push(bad.colour_rules[0].clone());
        assert!(bad.check().unwrap_err().contains("two colour rules"));
        let mut bad = hebei().clone();
        bad.popup_rules[0].negatives = 0;
        bad.popup_rules[0].auto_lift_days = None;
        assert!(bad.check().unwrap_err().contains("never lifts"));
        let mut bad = hebei().clone();
        bad.colour_rules[0].kind = FactKind::ManualOverride;
        assert!(bad.check().unwrap_err().contains("set by people"));
        assert!(
            serde_json::from_str::<CodePolicy>(r#"{"id":"x","typo":1}"#).is_err(),
            "unknown fields are refused"
        );
    }

    #[test]
    fn policy_for_picks_the_longest_prefix_in_force() {
        let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            policy_for("130102001001", date("2022-11-20")).id,
            "hebei-2022-11"
        );
        assert_eq!(policy_for("13", date("2022-06-28")).id, "hebei-2022-11");
        // Before the Hebei table starts, the national one is in force.
        assert_eq!(policy_for("130102", date("2022-06-27")).id, "national-2022");
        assert_eq!(
            policy_for("310101", date("2022-04-25")).id,
            "shanghai-2022-04"
        );
        assert_eq!(
            policy_for("310101", date("2022-09-17")).id,
            "shanghai-2022-04"
        );
        // effective_to is exclusive.
        assert_eq!(policy_for("310101", date("2022-09-18")).id, "national-2022");
        assert_eq!(policy_for("110101", date("2022-11-20")).id, "national-2022");
        assert_eq!(policy_for("", date("2022-11-20")).id, "national-2022");
        // Before every table: the place's newest one.
        assert_eq!(policy_for("130102", date("2019-12-01")).id, "hebei-2022-11");
        assert_eq!(policy_for("110101", date("2019-12-01")).id, "national-2022");
        assert!(policy_by_id("nope").is_none());
    }
}
