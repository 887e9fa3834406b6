//! What a code shows: its colour, the test badge, the reasons and pop-ups, and the state of one person.

use super::*;

crate::coded_enum! {
    /// The colour of a code. Ordered from best to worst, so the `max()` of several is the code shown.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum CodeColour {
        Green => "green", "绿码",
        Yellow => "yellow", "黄码",
        Red => "red", "红码",
    }
}

crate::coded_enum! {
    /// The test badge shown beside the code (§3.5 common badge pattern), independent of the colour.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum TestBadge {
        H24 => "h24", "24小时",
        H48 => "h48", "48小时",
        H72 => "h72", "72小时",
        D7 => "d7", "7天",
        None => "none", "7天内无核酸",
    }
}

impl TestBadge {
    /// The badge's upper limit in hours (`None` for no badge).
    pub fn hours(self) -> Option<i64> {
        match self {
            TestBadge::H24 => Some(24),
            TestBadge::H48 => Some(48),
            TestBadge::H72 => Some(72),
            TestBadge::D7 => Some(7 * 24),
            TestBadge::None => None,
        }
    }
}

/// The badge for the newest negative's sampling time (validity runs from sampling, §3.8). Limits
/// are inclusive: sampled exactly 48 h ago is still "48小时". A sampling time after `now` (a clock
/// off at the site) reads as fresh.
pub fn test_badge(
    last_negative_sampled_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> TestBadge {
    let Some(sampled) = last_negative_sampled_at else {
        return TestBadge::None;
    };
    let age = now - sampled;
    TestBadge::ALL
        .into_iter()
        .find(|b| b.hours().is_some_and(|h| age <= Duration::hours(h)))
        .unwrap_or(TestBadge::None)
}

/// Why the code has its colour or pop-up: one per active fact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeReason {
    pub kind: FactKind,
    /// The colour this fact gives (green for a fact that only raises a pop-up).
    pub colour: CodeColour,
    /// Chinese, e.g. "密接：末次接触 11月20日，红码至11月27日10:00，…（河北2022-11）".
    pub words: String,
    /// When this fact's effect next changes if nothing happens (red → yellow, yellow → green, the
    /// pop-up's automatic lifting); `None` when it waits on something that is not a date.
    pub until: Option<DateTime<Utc>>,
    /// When this fact stops affecting the code altogether, if that is a date.
    pub returns_at: Option<DateTime<Utc>>,
    /// This fact raises a pop-up.
    pub popup: bool,
}

/// The pop-up over the code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Popup {
    pub kind: FactKind,
    /// The cause and how to lift it.
    pub words: String,
}

/// A person's code at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeState {
    pub colour: CodeColour,
    pub popup: Option<Popup>,
    /// Empty for a plain green code; every active fact that affects colour or pop-up, worst first.
    pub reasons: Vec<CodeReason>,
    /// When colour and pop-up will be green/lifted if nothing changes; `None` when green already or
    /// when something waits on a non-date (a negative test, a discharge, another province).
    pub turns_green_at: Option<DateTime<Utc>>,
    /// Going back needs a negative test not yet on record.
    pub waits_for_test: bool,
}

impl CodeState {
    pub fn green() -> CodeState {
        CodeState {
            colour: CodeColour::Green,
            popup: None,
            reasons: Vec::new(),
            turns_green_at: None,
            waits_for_test: false,
        }
    }

    /// One line: "红码：密接：…；预计11月30日10:00转绿".
    pub fn summary_zh(&self) -> String {
        if self.colour == CodeColour::Green && self.popup.is_none() {
            return "绿码".into();
        }
        let mut line = self.colour.label_zh().to_string();
        if self.popup.is_some() {
            line.push_str("（弹窗）");
        }
        if let Some(first) = self.reasons.first() {
            line.push('：');
            line.push_str(&first.words);
            if self.reasons.len() > 1 {
                line.push_str(&format!("等{}项", self.reasons.len()));
            }
        }
        if let Some(at) = self.turns_green_at {
            line.push_str(&format!("；预计{}转绿", month_day_time_zh(at)));
        } else if self.waits_for_test {
            line.push_str("；需核酸阴性后转绿");
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in CodeColour::ALL {
            assert_eq!(CodeColour::from_code(c.code()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.code());
        }
        for k in FactKind::ALL {
            assert_eq!(FactKind::from_code(k.code()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.code());
            assert!(!k.label_zh().is_empty() && !k.anchor_zh().is_empty());
        }
        for b in TestBadge::ALL {
            assert_eq!(TestBadge::from_code(b.code()), Some(b));
        }
        assert_eq!(CodeColour::from_code("blue"), None);
        assert_eq!(
            [CodeColour::Green, CodeColour::Red, CodeColour::Yellow]
                .into_iter()
                .max(),
            Some(CodeColour::Red)
        );
        assert_eq!(CodeColour::Yellow.label_zh(), "黄码");
    }

    #[test]
    fn test_badges_follow_sampling_age_inclusively() {
        let now = a();
        assert_eq!(test_badge(None, now), TestBadge::None);
        assert_eq!(test_badge(Some(now), now), TestBadge::H24);
        assert_eq!(test_badge(Some(now + h(1)), now), TestBadge::H24);
        assert_eq!(test_badge(Some(now - h(24)), now), TestBadge::H24);
        assert_eq!(test_badge(Some(now - h(24) - sec()), now), TestBadge::H48);
        assert_eq!(test_badge(Some(now - h(48)), now), TestBadge::H48);
        assert_eq!(test_badge(Some(now - h(48) - sec()), now), TestBadge::H72);
        assert_eq!(test_badge(Some(now - h(72)), now), TestBadge::H72);
        assert_eq!(test_badge(Some(now - h(72) - sec()), now), TestBadge::D7);
        assert_eq!(test_badge(Some(now - d(7)), now), TestBadge::D7);
        assert_eq!(test_badge(Some(now - d(7) - sec()), now), TestBadge::None);
        assert_eq!(TestBadge::None.label_zh(), "7天内无核酸");
        assert_eq!(TestBadge::H48.label_zh(), "48小时");
    }
}
