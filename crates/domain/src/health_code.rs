//! Health codes 健康码: the colour, the pop-up (弹窗) and the test badge of one person, computed from
//! the facts known about them (a case, a close contact, an arrival, a pop-up cause…), their negative
//! test results and the time. The rules are versioned policy tables kept as JSON data with their
//! sources (domain-rules.md §0, §3, §14.4–14.6); `evaluate` only applies them.
//!
//! # Time convention
//!
//! Durations are counted in elapsed time from the fact's anchor, 24 hours a day: "red within 7 days
//! of the last contact" is red while `now < anchor + 7×24 h`; "days 8–10 yellow" is yellow while
//! `anchor + 7×24 h ≤ now < anchor + 10×24 h`. Day k (1-based) of a measure is the k-th 24 hours
//! after the anchor. This is simpler than Beijing calendar days, never ends a measure earlier than
//! the calendar reading would by more than a day, and gives every boundary an exact instant, which
//! the platform shows ("红码至11月27日10:00"). The dates in words are Beijing time.
//!
//! "Green after N days **and** a negative" needs a negative sampled no earlier than the table's
//! `release_negative_after` (for the shipped tables: during the last 24 hours of the period or later,
//! i.e. the last scheduled test of the measure; a negative from day 1 proves nothing on day 10).
//! A negative counts once it is sampled at or before `now` (test validity runs from sampling, §3.8).
//!
//! A fact anchored after `now` is not in force yet and is ignored.
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// Beijing time is UTC+8 all year.
const BEIJING_OFFSET_HOURS: i64 = 8;

/// The Beijing wall-clock time of an instant.
pub(crate) fn beijing(t: DateTime<Utc>) -> NaiveDateTime {
    (t + Duration::hours(BEIJING_OFFSET_HOURS)).naive_utc()
}

/// The Beijing calendar date of an instant.
pub fn beijing_date(t: DateTime<Utc>) -> NaiveDate {
    beijing(t).date()
}

/// "11月20日" (Beijing).
pub(crate) fn month_day_zh(t: DateTime<Utc>) -> String {
    let b = beijing(t);
    format!("{}月{}日", b.month(), b.day())
}

/// "11月27日10:00" (Beijing).
pub(crate) fn month_day_time_zh(t: DateTime<Utc>) -> String {
    let b = beijing(t);
    format!(
        "{}月{}日{:02}:{:02}",
        b.month(),
        b.day(),
        b.hour(),
        b.minute()
    )
}

fn days(n: u32) -> Duration {
    Duration::hours(24 * i64::from(n))
}

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
    /// A fact about a person that can colour their code or raise a pop-up (§1, §3, §14.2). The anchor
    /// of each kind is said below; `CodeFact::ended_at` means what the kind says.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum FactKind {
        /// 初筛阳性: a single tube positive, not yet confirmed; ends at the recheck's negative.
        InitialScreenPositive => "initial_screen_positive", "初筛阳性",
        /// 混管阳性待复核: member of a positive pool; ends at the single-tube recheck's negative.
        PoolPositivePending => "pool_positive_pending", "混管阳性待复核",
        /// Anchor = diagnosis; ends at discharge from hospital or fangcang.
        Confirmed => "confirmed", "确诊病例",
        /// Anchor = first positive; ends at discharge.
        Asymptomatic => "asymptomatic", "无症状感染者",
        /// Anchor = when suspected; ends when excluded.
        Suspected => "suspected", "疑似病例",
        /// 密接; anchor = last exposure.
        CloseContact => "close_contact", "密接",
        /// 次密接; anchor = last exposure to the close contact.
        SecondaryContact => "secondary_contact", "次密接",
        /// 入境; anchor = entry.
        Inbound => "inbound", "入境人员",
        /// Anchor = when they left the high-risk area (or arrived here from it).
        LeftHighRiskArea => "left_high_risk_area", "高风险区来（返）人员",
        LeftMediumRiskArea => "left_medium_risk_area", "中风险区来（返）人员",
        /// Left a county (city) with a positive case (Hebei pop-up causes 2/3).
        LeftOutbreakCounty => "left_outbreak_county", "涉疫县（市、区）来（返）人员",
        /// 时空伴随, stayed at a key venue, big-data push (Hebei pop-up cause 1).
        Companion => "companion", "时空伴随/重点场所",
        /// 应检未检; anchor = the round's deadline.
        DueNotTested => "due_not_tested", "应检未检",
        /// Visited a fever clinic; anchor = the visit.
        FeverClinic => "fever_clinic", "发热门诊就诊",
        /// Bought one of the four classes of drugs; anchor = the purchase.
        PharmacyPurchase => "pharmacy_purchase", "购买“四类药品”",
        /// Colour set by another province, mirrored until that province clears it (`ended_at`).
        OtherProvince => "other_province", "外省赋码",
        /// Set by an authorised user with a reason; wins over everything while open.
        ManualOverride => "manual_override", "人工赋码",
    }
}

impl FactKind {
    /// What the anchor time is, in the words of a reason ("末次接触 11月20日").
    pub fn anchor_zh(self) -> &'static str {
        match self {
            FactKind::InitialScreenPositive | FactKind::PoolPositivePending => "报告",
            FactKind::Confirmed => "确诊",
            FactKind::Asymptomatic => "首次阳性",
            FactKind::Suspected => "疑似",
            FactKind::CloseContact => "末次接触",
            FactKind::SecondaryContact => "与密接末次接触",
            FactKind::Inbound => "入境",
            FactKind::LeftHighRiskArea
            | FactKind::LeftMediumRiskArea
            | FactKind::LeftOutbreakCounty => "离开",
            FactKind::Companion => "推送",
            FactKind::DueNotTested => "检测截止",
            FactKind::FeverClinic => "就诊",
            FactKind::PharmacyPurchase => "购药",
            FactKind::OtherProvince | FactKind::ManualOverride => "赋码",
        }
    }

    /// Kinds whose colour comes from a person (another province, an authorised user), not a table:
    /// they work the same under every policy.
    pub fn is_set_by_people(self) -> bool {
        matches!(self, FactKind::OtherProvince | FactKind::ManualOverride)
    }
}

/// One fact about a person (see `FactKind` for what `anchor` and `ended_at` mean per kind).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeFact {
    pub kind: FactKind,
    pub anchor: DateTime<Utc>,
    /// Discharge (cases), recheck negative (pool/initial positive), cleared (other province, override).
    pub ended_at: Option<DateTime<Utc>>,
    /// Only for `OtherProvince` and `ManualOverride`; missing there is read as red (the safe side).
    pub colour: Option<CodeColour>,
    /// Community report + grassroots check done (pop-up lifting needs it for some causes).
    pub checked_at: Option<DateTime<Utc>>,
    /// Free words shown in reasons (the other province's name, the override's reason).
    pub note: Option<String>,
}

impl CodeFact {
    pub fn new(kind: FactKind, anchor: DateTime<Utc>) -> CodeFact {
        CodeFact {
            kind,
            anchor,
            ended_at: None,
            colour: None,
            checked_at: None,
            note: None,
        }
    }

    pub fn ended(mut self, at: DateTime<Utc>) -> CodeFact {
        self.ended_at = Some(at);
        self
    }

    pub fn checked(mut self, at: DateTime<Utc>) -> CodeFact {
        self.checked_at = Some(at);
        self
    }

    pub fn with_colour(mut self, colour: CodeColour) -> CodeFact {
        self.colour = Some(colour);
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> CodeFact {
        self.note = Some(note.into());
        self
    }

    /// Open at `now`: not ended, or ending later.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.ended_at.is_none_or(|end| end > now)
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

/// `days` × 24 h after `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offset {
    pub from: TimeBase,
    pub days: u32,
}

impl Offset {
    fn at(self, fact: &CodeFact) -> Option<DateTime<Utc>> {
        base(self.from, fact).map(|b| b + days(self.days))
    }

    fn words(self, fact: &CodeFact, ended_zh: &str) -> String {
        match self.at(fact) {
            Some(t) => format!("{}后采样", month_day_time_zh(t)),
            None if self.days == 0 => format!("{ended_zh}后采样"),
            None => format!("{ended_zh}{}天后采样", self.days),
        }
    }
}

fn base(from: TimeBase, fact: &CodeFact) -> Option<DateTime<Utc>> {
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
    /// `days` × 24 h after `from`.
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
        include_str!("../data/health_code/hebei-2022-11.json"),
    ),
    (
        "shanghai-2022-04.json",
        include_str!("../data/health_code/shanghai-2022-04.json"),
    ),
    (
        "national-2022.json",
        include_str!("../data/health_code/national-2022.json"),
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

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/// When a fact stops affecting the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Return {
    At(DateTime<Utc>),
    /// Needs a negative test not yet on record.
    Test,
    /// Needs something that is not a date or a test (discharge, another province, a person).
    Other,
}

impl Return {
    /// Later of two returns; a non-date wins over any date, a test wait over another wait only
    /// when it comes first (the first thing the person waits for is what they are told).
    fn then(self, later: Return) -> Return {
        match (self, later) {
            (Return::At(a), Return::At(b)) => Return::At(a.max(b)),
            (Return::At(_), other) => other,
            (first, _) => first,
        }
    }

    fn date(self) -> Option<DateTime<Utc>> {
        match self {
            Return::At(t) => Some(t),
            _ => None,
        }
    }
}

/// The negative results of one person, read without sorting unless a rule needs spacing.
struct Negatives<'a> {
    times: &'a [DateTime<Utc>],
    now: DateTime<Utc>,
}

impl Negatives<'_> {
    /// The first negative sampled in `[from, now]`.
    fn first_since(&self, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.times
            .iter()
            .copied()
            .filter(|t| *t >= from && *t <= self.now)
            .min()
    }

    /// Whether `count` negatives sampled in `[from, now]` each at least `gap_hours` after the one
    /// before exist. Taking the earliest each time is optimal, so one sorted pass decides.
    fn spaced(&self, from: DateTime<Utc>, count: u32, gap_hours: u32) -> bool {
        match count {
            0 => true,
            1 => self.first_since(from).is_some(),
            _ => {
                let mut times: Vec<DateTime<Utc>> = self
                    .times
                    .iter()
                    .copied()
                    .filter(|t| *t >= from && *t <= self.now)
                    .collect();
                times.sort_unstable();
                let gap = Duration::hours(i64::from(gap_hours));
                let mut found = 0;
                let mut last: Option<DateTime<Utc>> = None;
                for t in times {
                    if last.is_none_or(|l| t - l >= gap) {
                        found += 1;
                        last = Some(t);
                        if found >= count {
                            return true;
                        }
                    }
                }
                false
            }
        }
    }
}

/// A fact's colour now.
struct ColourOutcome {
    colour: CodeColour,
    until: Option<DateTime<Utc>>,
    returns: Return,
    words: String,
}

/// Where a fact stands in its rule's course.
enum Stage {
    /// In phase `i`, which ends at `end` if that is a date.
    Phase(usize, Option<DateTime<Utc>>),
    /// Every phase over; waiting for the release negative.
    Release,
}

fn stage(
    rule: &ColourRule,
    fact: &CodeFact,
    negatives: &Negatives,
    now: DateTime<Utc>,
) -> Option<Stage> {
    for (i, phase) in rule.phases.iter().enumerate() {
        match phase.until {
            PhaseEnd::WhileOpen => {
                if fact.is_open(now) {
                    return Some(Stage::Phase(i, fact.ended_at));
                }
            }
            PhaseEnd::Days { from, days: d } => match base(from, fact) {
                Some(b) if now >= b + days(d) => {}
                Some(b) => return Some(Stage::Phase(i, Some(b + days(d)))),
                None => return Some(Stage::Phase(i, None)),
            },
            PhaseEnd::Negative { from, days: d } => {
                let since = base(from, fact).map(|b| b + days(d));
                if !since.is_some_and(|s| s <= now && negatives.first_since(s).is_some()) {
                    return Some(Stage::Phase(i, None));
                }
            }
        }
    }
    let since = rule.release_negative_after?.at(fact);
    if since.is_some_and(|s| s <= now && negatives.first_since(s).is_some()) {
        None
    } else {
        Some(Stage::Release)
    }
}

/// When the course that stands at `stage` ends, if nothing but time passes.
fn course_return(
    rule: &ColourRule,
    fact: &CodeFact,
    stage: &Stage,
    negatives: &Negatives,
    now: DateTime<Utc>,
) -> Return {
    let mut ret = Return::At(now);
    let first = match stage {
        Stage::Phase(i, _) => *i,
        Stage::Release => rule.phases.len(),
    };
    for phase in &rule.phases[first..] {
        let end = match phase.until {
            PhaseEnd::WhileOpen => fact.ended_at.map_or(Return::Other, Return::At),
            PhaseEnd::Days { from, days: d } => {
                base(from, fact).map_or(Return::Other, |b| Return::At(b + days(d)))
            }
            PhaseEnd::Negative { from, days: d } => match base(from, fact) {
                None => Return::Other,
                Some(b) => {
                    let since = b + days(d);
                    match negatives.first_since(since) {
                        Some(t) if since <= now => Return::At(t),
                        _ => Return::Test,
                    }
                }
            },
        };
        ret = ret.then(end);
    }
    if let Some(offset) = rule.release_negative_after {
        let release = match offset.at(fact) {
            None => Return::Other,
            Some(since) if since <= now && negatives.first_since(since).is_some() => {
                Return::At(since)
            }
            Some(_) => Return::Test,
        };
        ret = ret.then(release);
    }
    ret
}

fn describe_phase(
    phase: &Phase,
    fact: &CodeFact,
    ended_zh: &str,
    current_end: Option<DateTime<Utc>>,
) -> String {
    let colour = phase.colour.label_zh();
    match phase.until {
        PhaseEnd::WhileOpen => format!("{ended_zh}前{colour}"),
        PhaseEnd::Days { from, days: d } => match (current_end, base(from, fact)) {
            (Some(end), _) => format!("{colour}至{}", month_day_time_zh(end)),
            (None, Some(b)) => format!("{colour}至{}", month_day_time_zh(b + days(d))),
            (None, None) => format!("{ended_zh}后{colour}{d}天"),
        },
        PhaseEnd::Negative { from, days: d } => format!(
            "{colour}，{}的核酸阴性后解除",
            Offset { from, days: d }.words(fact, ended_zh)
        ),
    }
}

fn colour_outcome(
    policy: &CodePolicy,
    rule: &ColourRule,
    fact: &CodeFact,
    negatives: &Negatives,
    now: DateTime<Utc>,
) -> Option<ColourOutcome> {
    let stage = stage(rule, fact, negatives, now)?;
    let ended_zh = rule.ended_zh.as_deref().unwrap_or("解除");
    let mut words = format!(
        "{}：{} {}，",
        fact.kind.label_zh(),
        fact.kind.anchor_zh(),
        month_day_zh(fact.anchor)
    );
    let (colour, until) = match stage {
        Stage::Phase(i, end) => {
            words.push_str(&describe_phase(&rule.phases[i], fact, ended_zh, end));
            for phase in &rule.phases[i + 1..] {
                words.push_str("，之后");
                words.push_str(&describe_phase(phase, fact, ended_zh, None));
            }
            match rule.release_negative_after {
                Some(offset) => words.push_str(&format!(
                    "，{}的核酸阴性后转绿",
                    offset.words(fact, ended_zh)
                )),
                None => words.push_str("，之后转绿"),
            }
            (rule.phases[i].colour, end)
        }
        Stage::Release => {
            let last = rule.phases.last().expect("checked: phases are not empty");
            let offset = rule
                .release_negative_after
                .expect("a release stage has a release rule");
            words.push_str(&format!(
                "期满，{}，待{}的核酸阴性后转绿",
                last.colour.label_zh(),
                offset.words(fact, ended_zh)
            ));
            (last.colour, None)
        }
    };
    words.push_str(&format!("（{}）", policy.short_zh));
    let returns = course_return(rule, fact, &stage, negatives, now);
    Some(ColourOutcome {
        colour,
        until,
        returns,
        words,
    })
}

/// A fact's pop-up now: its lifting time if that is a date, whether it waits for tests, its words.
struct PopupOutcome {
    lift_at: Option<DateTime<Utc>>,
    waits_for_test: bool,
    words: String,
}

fn popup_outcome(
    rule: &PopupRule,
    fact: &CodeFact,
    negatives: &Negatives,
    now: DateTime<Utc>,
) -> Option<PopupOutcome> {
    let auto = rule.auto_lift_days.map(|d| fact.anchor + days(d));
    if auto.is_some_and(|t| now >= t) {
        return None;
    }
    // A check counts only if done after the cause arose (a stale check from before proves nothing).
    let checked = !rule.needs_check
        || fact
            .checked_at
            .is_some_and(|c| c >= fact.anchor && c <= now);
    if rule.negatives > 0
        && checked
        && negatives.spaced(fact.anchor, rule.negatives, rule.min_gap_hours)
    {
        return None;
    }
    Some(PopupOutcome {
        lift_at: auto,
        waits_for_test: auto.is_none() && rule.negatives > 0,
        words: format!("{}：{}", rule.cause_zh, rule.how_to_lift_zh()),
    })
}

/// The code of a person who has an open override: its colour, no pop-up.
fn overridden(fact: &CodeFact, others: CodeState) -> CodeState {
    let colour = fact.colour.unwrap_or(CodeColour::Red);
    let mut words = format!(
        "{}：{}赋{}",
        fact.kind.label_zh(),
        month_day_zh(fact.anchor),
        colour.label_zh()
    );
    if fact.colour.is_none() {
        words.push_str("（未注明颜色，按红码处理）");
    }
    if let Some(note) = &fact.note {
        words.push_str(&format!("，理由：{note}"));
    }
    if let Some(end) = fact.ended_at {
        words.push_str(&format!("，至{}", month_day_time_zh(end)));
    }
    // After the override ends the rules apply again: green then only if they are green by then.
    let returns_at = match fact.ended_at {
        Some(end) if colour != CodeColour::Green => {
            if others.colour == CodeColour::Green && others.popup.is_none() {
                Some(end)
            } else {
                others.turns_green_at.map(|t| t.max(end))
            }
        }
        _ => None,
    };
    CodeState {
        colour,
        popup: None,
        reasons: vec![CodeReason {
            kind: fact.kind,
            colour,
            words,
            until: fact.ended_at,
            returns_at,
            popup: false,
        }],
        turns_green_at: returns_at,
        waits_for_test: false,
    }
}

/// The pure colour function (§14.4–14.5). Colour = the worst over the active facts, except that an
/// open manual override wins outright (colour, and no pop-up); the pop-up shown is the active one
/// that lifts last; `turns_green_at` is the latest return over the active facts, `None` if any waits
/// on something that is not a date. `negatives` = sampling times of negative PCR results, any order.
pub fn evaluate(
    policy: &CodePolicy,
    facts: &[CodeFact],
    negatives: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> CodeState {
    if facts.is_empty() {
        return CodeState::green();
    }
    // The newest open override wins (a later decision replaces an earlier one).
    let override_fact = facts
        .iter()
        .filter(|f| f.kind == FactKind::ManualOverride && f.anchor <= now && f.is_open(now))
        .max_by_key(|f| f.anchor);
    if let Some(fact) = override_fact {
        let others: Vec<CodeFact> = facts
            .iter()
            .filter(|f| f.kind != FactKind::ManualOverride)
            .cloned()
            .collect();
        let rest = evaluate(policy, &others, negatives, now);
        return overridden(fact, rest);
    }

    let negatives = Negatives {
        times: negatives,
        now,
    };
    let mut state = CodeState::green();
    let mut popup_lift: Option<Option<DateTime<Utc>>> = None;
    let mut returns = Return::At(now);
    for fact in facts {
        if fact.anchor > now || fact.kind == FactKind::ManualOverride {
            continue;
        }
        let colour = if fact.kind == FactKind::OtherProvince {
            other_province(policy, fact, now)
        } else {
            policy
                .colour_rule(fact.kind)
                .and_then(|rule| colour_outcome(policy, rule, fact, &negatives, now))
        };
        let popup = policy
            .popup_rule(fact.kind)
            .and_then(|rule| popup_outcome(rule, fact, &negatives, now));
        if colour.is_none() && popup.is_none() {
            continue;
        }
        let mut reason = CodeReason {
            kind: fact.kind,
            colour: CodeColour::Green,
            words: String::new(),
            until: None,
            returns_at: None,
            popup: popup.is_some(),
        };
        let mut fact_return = Return::At(now);
        if let Some(c) = colour {
            state.colour = state.colour.max(c.colour);
            reason.colour = c.colour;
            reason.words = c.words;
            reason.until = c.until;
            fact_return = c.returns;
        }
        if let Some(p) = popup {
            if reason.words.is_empty() {
                reason.words = format!(
                    "{}：{} {}，弹窗：{}（{}）",
                    fact.kind.label_zh(),
                    fact.kind.anchor_zh(),
                    month_day_zh(fact.anchor),
                    p.words,
                    policy.short_zh
                );
                reason.until = p.lift_at;
            } else {
                reason.words.push_str(&format!("；弹窗：{}", p.words));
            }
            let popup_return = match (p.lift_at, p.waits_for_test) {
                (Some(t), _) => Return::At(t),
                (None, true) => Return::Test,
                (None, false) => Return::Other,
            };
            fact_return = fact_return.then(popup_return);
            // None (no automatic lifting) is the latest of all.
            let later = match (popup_lift, p.lift_at) {
                (None, _) => true,
                (Some(None), _) => false,
                (Some(Some(_)), None) => true,
                (Some(Some(shown)), Some(t)) => t > shown,
            };
            if later {
                popup_lift = Some(p.lift_at);
                state.popup = Some(Popup {
                    kind: fact.kind,
                    words: p.words,
                });
            }
        }
        reason.returns_at = fact_return.date();
        if fact_return == Return::Test {
            state.waits_for_test = true;
        }
        returns = returns.then(fact_return);
        state.reasons.push(reason);
    }
    if state.colour == CodeColour::Green && state.popup.is_none() {
        state.turns_green_at = None;
        state.waits_for_test = false;
        // Facts that only ever give green need no reason on a plain green code.
        state.reasons.clear();
        return state;
    }
    state.turns_green_at = returns.date();
    // Worst first: colour, then pop-ups, then the one that lasts longest (no date = longest).
    state.reasons.sort_by(|a, b| {
        b.colour
            .cmp(&a.colour)
            .then(b.popup.cmp(&a.popup))
            .then_with(|| match (a.returns_at, b.returns_at) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Less,
                (Some(_), None) => std::cmp::Ordering::Greater,
                (Some(x), Some(y)) => y.cmp(&x),
            })
    });
    state
}

/// Another province's colour, mirrored while that province has not cleared it (§3.2, §14.4).
fn other_province(
    policy: &CodePolicy,
    fact: &CodeFact,
    now: DateTime<Utc>,
) -> Option<ColourOutcome> {
    if !fact.is_open(now) {
        return None;
    }
    let colour = fact.colour.unwrap_or(CodeColour::Red);
    if colour == CodeColour::Green {
        return None;
    }
    let mut words = format!(
        "{}：{} {}赋{}",
        fact.kind.label_zh(),
        fact.note.as_deref().unwrap_or("外省"),
        month_day_zh(fact.anchor),
        colour.label_zh()
    );
    if fact.colour.is_none() {
        words.push_str("（未注明颜色，按红码处理）");
    }
    words.push_str(&format!(
        "，赋码省份转绿并报送国家平台后解除（{}）",
        policy.short_zh
    ));
    Some(ColourOutcome {
        colour,
        until: fact.ended_at,
        returns: fact.ended_at.map_or(Return::Other, Return::At),
        words,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A Beijing wall-clock time "2022-11-20 10:00" as UTC.
    fn bj(s: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        Utc.from_utc_datetime(&(naive - Duration::hours(8)))
    }

    fn h(n: i64) -> Duration {
        Duration::hours(n)
    }

    fn d(n: i64) -> Duration {
        Duration::hours(24 * n)
    }

    fn sec() -> Duration {
        Duration::seconds(1)
    }

    fn hebei() -> &'static CodePolicy {
        policy_by_id("hebei-2022-11").unwrap()
    }

    fn shanghai() -> &'static CodePolicy {
        policy_by_id("shanghai-2022-04").unwrap()
    }

    fn national() -> &'static CodePolicy {
        policy_by_id("national-2022").unwrap()
    }

    fn colour(
        policy: &CodePolicy,
        facts: &[CodeFact],
        negs: &[DateTime<Utc>],
        now: DateTime<Utc>,
    ) -> CodeColour {
        evaluate(policy, facts, negs, now).colour
    }

    fn a() -> DateTime<Utc> {
        bj("2022-11-20 10:00")
    }

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

    #[test]
    fn no_facts_is_a_plain_green_code() {
        let state = evaluate(hebei(), &[], &[], a());
        assert_eq!(state, CodeState::green());
        assert_eq!(state.summary_zh(), "绿码");
        // Facts that give nothing under this table leave the code plain green.
        let f = CodeFact::new(FactKind::Companion, a() - d(1));
        assert_eq!(evaluate(shanghai(), &[f], &[], a()), CodeState::green());
        // A fact anchored in the future is not in force yet.
        let f = CodeFact::new(FactKind::CloseContact, a() + h(1));
        assert_eq!(evaluate(hebei(), &[f], &[], a()), CodeState::green());
    }

    #[test]
    fn hebei_screen_and_pool_positives_are_red_until_the_recheck_is_negative() {
        for kind in [
            FactKind::InitialScreenPositive,
            FactKind::PoolPositivePending,
        ] {
            let open = CodeFact::new(kind, a());
            let state = evaluate(hebei(), std::slice::from_ref(&open), &[], a() + d(3));
            assert_eq!(state.colour, CodeColour::Red);
            assert_eq!(state.turns_green_at, None);
            assert!(
                !state.waits_for_test,
                "waits on the recheck, not on any test"
            );
            assert!(
                state.reasons[0].words.contains("单管复核阴性前红码"),
                "{}",
                state.reasons[0].words
            );
            let closed = open.clone().ended(a() + h(10));
            assert_eq!(
                colour(
                    hebei(),
                    std::slice::from_ref(&closed),
                    &[],
                    a() + h(10) - sec()
                ),
                CodeColour::Red
            );
            assert_eq!(
                colour(hebei(), &[closed], &[], a() + h(10)),
                CodeColour::Green
            );
        }
    }

    #[test]
    fn hebei_cases_red_in_hospital_yellow_seven_days_then_green_with_a_negative() {
        for kind in [FactKind::Confirmed, FactKind::Asymptomatic] {
            let in_hospital = CodeFact::new(kind, a());
            let state = evaluate(
                hebei(),
                std::slice::from_ref(&in_hospital),
                &[],
                a() + d(20),
            );
            assert_eq!(state.colour, CodeColour::Red);
            assert_eq!((state.turns_green_at, state.waits_for_test), (None, false));
            assert!(state.reasons[0].words.contains("出院（舱）前红码"));

            let discharged = a() + d(12);
            let fact = in_hospital.ended(discharged);
            let day7_test = discharged + d(6) + h(2);
            let negs = [discharged - d(1), day7_test];
            assert_eq!(
                colour(
                    hebei(),
                    std::slice::from_ref(&fact),
                    &negs,
                    discharged - sec()
                ),
                CodeColour::Red
            );
            assert_eq!(
                colour(hebei(), std::slice::from_ref(&fact), &negs, discharged),
                CodeColour::Yellow
            );
            assert_eq!(
                colour(
                    hebei(),
                    std::slice::from_ref(&fact),
                    &negs,
                    discharged + d(7) - sec()
                ),
                CodeColour::Yellow
            );
            assert_eq!(
                colour(
                    hebei(),
                    std::slice::from_ref(&fact),
                    &negs,
                    discharged + d(7)
                ),
                CodeColour::Green
            );
            // Without a negative sampled in the last day of the period, yellow stays.
            let early = [discharged + d(5)];
            let state = evaluate(
                hebei(),
                std::slice::from_ref(&fact),
                &early,
                discharged + d(9),
            );
            assert_eq!(state.colour, CodeColour::Yellow);
            assert!(state.waits_for_test);
            assert_eq!(state.turns_green_at, None);
            assert!(
                state.reasons[0].words.contains("期满"),
                "{}",
                state.reasons[0].words
            );
            // Once the day-7 negative is on record, the return date is known.
            let state = evaluate(
                hebei(),
                std::slice::from_ref(&fact),
                &negs,
                day7_test + h(1),
            );
            assert_eq!(state.colour, CodeColour::Yellow);
            assert_eq!(state.turns_green_at, Some(discharged + d(7)));
            assert!(!state.waits_for_test);
            // A scheduled discharge is a date.
            let state = evaluate(hebei(), &[fact], &negs, discharged - d(1));
            assert_eq!(state.reasons[0].until, Some(discharged));
        }
    }

    #[test]
    fn hebei_suspected_red_until_excluded() {
        let f = CodeFact::new(FactKind::Suspected, a());
        assert_eq!(
            colour(hebei(), std::slice::from_ref(&f), &[], a() + d(30)),
            CodeColour::Red
        );
        let f = f.ended(a() + d(1));
        assert_eq!(colour(hebei(), &[f], &[], a() + d(1)), CodeColour::Green);
    }

    #[test]
    fn hebei_seven_day_red_rows() {
        for kind in [
            FactKind::Inbound,
            FactKind::SecondaryContact,
            FactKind::LeftHighRiskArea,
            FactKind::LeftMediumRiskArea,
        ] {
            let f = CodeFact::new(kind, a());
            let negs = [a() + d(6) + h(1)];
            assert_eq!(
                colour(hebei(), std::slice::from_ref(&f), &negs, a()),
                CodeColour::Red,
                "{kind:?}"
            );
            assert_eq!(
                colour(hebei(), std::slice::from_ref(&f), &negs, a() + d(7) - sec()),
                CodeColour::Red
            );
            assert_eq!(
                colour(hebei(), std::slice::from_ref(&f), &negs, a() + d(7)),
                CodeColour::Green
            );
            // A negative from day 5 does not release.
            let state = evaluate(hebei(), std::slice::from_ref(&f), &[a() + d(4)], a() + d(8));
            assert_eq!(state.colour, CodeColour::Red);
            assert!(state.waits_for_test);
            // Early on, the release still needs a test not yet possible: no date.
            let state = evaluate(hebei(), std::slice::from_ref(&f), &[], a() + d(1));
            assert_eq!((state.turns_green_at, state.waits_for_test), (None, true));
            assert_eq!(state.reasons[0].until, Some(a() + d(7)));
        }
    }

    #[test]
    fn hebei_close_contact_red_seven_yellow_to_ten_green_with_a_negative() {
        let f = CodeFact::new(FactKind::CloseContact, a());
        let negs = [a() + d(9) + h(2)];
        let at = |now| colour(hebei(), std::slice::from_ref(&f), &negs, now);
        assert_eq!(at(a()), CodeColour::Red);
        assert_eq!(at(a() + d(7) - sec()), CodeColour::Red);
        assert_eq!(at(a() + d(7)), CodeColour::Yellow);
        assert_eq!(at(a() + d(10) - sec()), CodeColour::Yellow);
        assert_eq!(at(a() + d(10)), CodeColour::Green);
        // A negative from day 9 (before the last 24 h) does not release.
        let state = evaluate(
            hebei(),
            std::slice::from_ref(&f),
            &[a() + d(8)],
            a() + d(11),
        );
        assert_eq!(state.colour, CodeColour::Yellow);
        assert!(state.waits_for_test);
        // Words and dates.
        let state = evaluate(hebei(), std::slice::from_ref(&f), &[], a() + d(1));
        let words = &state.reasons[0].words;
        assert!(
            words.starts_with("密接：末次接触 11月20日，红码至11月27日10:00"),
            "{words}"
        );
        assert!(words.contains("之后黄码至11月30日10:00"), "{words}");
        assert!(
            words.contains("11月29日10:00后采样的核酸阴性后转绿"),
            "{words}"
        );
        assert!(words.ends_with("（河北2022-11）"), "{words}");
        assert_eq!(state.reasons[0].until, Some(a() + d(7)));
        // With the day-10 negative on record, the return is a date.
        let state = evaluate(hebei(), &[f], &negs, a() + d(9) + h(3));
        assert_eq!(state.colour, CodeColour::Yellow);
        assert_eq!(state.turns_green_at, Some(a() + d(10)));
        assert_eq!(state.reasons[0].returns_at, Some(a() + d(10)));
        assert!(
            state.summary_zh().contains("预计11月30日10:00转绿"),
            "{}",
            state.summary_zh()
        );
    }

    #[test]
    fn hebei_companion_popup_needs_a_check_and_two_negatives_24h_apart() {
        let f = CodeFact::new(FactKind::Companion, a());
        let checked = f.clone().checked(a() + h(5));
        // The pop-up alone: green colour, pop-up shown.
        let state = evaluate(hebei(), std::slice::from_ref(&f), &[], a() + h(1));
        assert_eq!(state.colour, CodeColour::Green);
        let popup = state.popup.clone().unwrap();
        assert_eq!(popup.kind, FactKind::Companion);
        assert_eq!(
            popup.words,
            "时空伴随/重点场所停留：请向社区报备，到达后两次核酸间隔24小时均阴性后解除，或14天后自动解除"
        );
        assert_eq!(state.turns_green_at, Some(a() + d(14)));
        assert!(!state.waits_for_test, "the automatic lifting is a date");
        assert!(state.reasons[0].popup);
        assert!(
            state.summary_zh().starts_with("绿码（弹窗）"),
            "{}",
            state.summary_zh()
        );

        let two_apart = [a() + h(6), a() + h(30)];
        let too_close = [a() + h(6), a() + h(26)];
        let now = a() + d(2);
        assert!(
            evaluate(hebei(), std::slice::from_ref(&checked), &too_close, now)
                .popup
                .is_some()
        );
        assert!(
            evaluate(hebei(), std::slice::from_ref(&checked), &two_apart, now)
                .popup
                .is_none()
        );
        // Not checked: tests alone do not lift it.
        assert!(
            evaluate(hebei(), std::slice::from_ref(&f), &two_apart, now)
                .popup
                .is_some()
        );
        // A check from before the cause does not count.
        let stale = f.clone().checked(a() - h(1));
        assert!(evaluate(hebei(), &[stale], &two_apart, now).popup.is_some());
        // Negatives before arrival do not count; one sampled in the future neither.
        let before = [a() - h(30), a() - h(2)];
        assert!(
            evaluate(hebei(), std::slice::from_ref(&checked), &before, now)
                .popup
                .is_some()
        );
        let future = [a() + h(6), now + h(1)];
        assert!(
            evaluate(hebei(), std::slice::from_ref(&checked), &future, now)
                .popup
                .is_some()
        );
        // Three tests, the middle one too close: the first and the last are 24 h apart.
        let three = [a() + h(44), a() + h(6), a() + h(20)];
        assert!(
            evaluate(hebei(), std::slice::from_ref(&checked), &three, now)
                .popup
                .is_none()
        );
        // Automatic lifting after 14 days.
        assert!(
            evaluate(hebei(), std::slice::from_ref(&f), &[], a() + d(14) - sec())
                .popup
                .is_some()
        );
        assert_eq!(
            evaluate(hebei(), &[f], &[], a() + d(14)),
            CodeState::green()
        );
    }

    #[test]
    fn hebei_outbreak_county_popup_needs_a_check_and_one_negative() {
        let f = CodeFact::new(FactKind::LeftOutbreakCounty, a());
        let negs = [a() + h(3)];
        assert!(
            evaluate(hebei(), std::slice::from_ref(&f), &negs, a() + d(1))
                .popup
                .is_some()
        );
        let checked = f.checked(a() + h(1));
        assert!(
            evaluate(
                hebei(),
                std::slice::from_ref(&checked),
                &[a() - h(1)],
                a() + d(1)
            )
            .popup
            .is_some()
        );
        assert!(
            evaluate(hebei(), &[checked], &negs, a() + d(1))
                .popup
                .is_none()
        );
    }

    #[test]
    fn hebei_surveillance_popups_lift_with_one_negative_after_the_anchor() {
        for kind in [
            FactKind::DueNotTested,
            FactKind::FeverClinic,
            FactKind::PharmacyPurchase,
        ] {
            let f = CodeFact::new(kind, a());
            let state = evaluate(hebei(), std::slice::from_ref(&f), &[a() - h(1)], a() + h(2));
            assert_eq!(state.colour, CodeColour::Green);
            assert!(state.popup.is_some(), "{kind:?}");
            assert!(!state.popup.unwrap().words.contains("报备"));
            assert!(
                evaluate(hebei(), std::slice::from_ref(&f), &[a() + h(1)], a() + h(2))
                    .popup
                    .is_none()
            );
            assert!(evaluate(hebei(), &[f], &[], a() + d(14)).popup.is_none());
        }
    }

    #[test]
    fn hebei_risk_area_outflow_is_red_and_pops_up() {
        let f = CodeFact::new(FactKind::LeftHighRiskArea, a());
        let state = evaluate(hebei(), std::slice::from_ref(&f), &[], a() + d(1));
        assert_eq!(state.colour, CodeColour::Red);
        assert_eq!(
            state.popup.as_ref().unwrap().kind,
            FactKind::LeftHighRiskArea
        );
        assert_eq!(state.reasons.len(), 1);
        assert!(state.reasons[0].popup && state.reasons[0].words.contains("；弹窗："));
        // Checked, two negatives 24 h apart: pop-up lifted, red stays to day 7, then green with the
        // day-7 negative.
        let f = f.checked(a() + h(2));
        let negs = [a() + h(3), a() + h(27), a() + d(6) + h(1)];
        let state = evaluate(hebei(), std::slice::from_ref(&f), &negs, a() + d(2));
        assert_eq!(
            (state.colour, state.popup.is_none()),
            (CodeColour::Red, true)
        );
        assert_eq!(colour(hebei(), &[f], &negs, a() + d(7)), CodeColour::Green);
    }

    #[test]
    fn shanghai_rows() {
        let p = shanghai();
        let cc = CodeFact::new(FactKind::CloseContact, a());
        let negs = [a() + d(20) + h(1)];
        assert_eq!(
            colour(p, std::slice::from_ref(&cc), &negs, a() + d(14) - sec()),
            CodeColour::Red
        );
        assert_eq!(
            colour(p, std::slice::from_ref(&cc), &negs, a() + d(14)),
            CodeColour::Yellow
        );
        assert_eq!(
            colour(p, std::slice::from_ref(&cc), &negs, a() + d(21) - sec()),
            CodeColour::Yellow
        );
        assert_eq!(colour(p, &[cc], &negs, a() + d(21)), CodeColour::Green);

        let sc = CodeFact::new(FactKind::SecondaryContact, a());
        let negs = [a() + d(6) + h(1)];
        assert_eq!(
            colour(p, std::slice::from_ref(&sc), &negs, a()),
            CodeColour::Yellow
        );
        assert_eq!(
            colour(p, std::slice::from_ref(&sc), &negs, a() + d(7) - sec()),
            CodeColour::Yellow
        );
        assert_eq!(colour(p, &[sc], &negs, a() + d(7)), CodeColour::Green);

        for (kind, c) in [
            (FactKind::Inbound, CodeColour::Red),
            (FactKind::LeftHighRiskArea, CodeColour::Red),
            (FactKind::LeftMediumRiskArea, CodeColour::Yellow),
        ] {
            let f = CodeFact::new(kind, a());
            let negs = [a() + d(13) + h(1)];
            assert_eq!(
                colour(p, std::slice::from_ref(&f), &negs, a() + d(14) - sec()),
                c,
                "{kind:?}"
            );
            assert_eq!(
                colour(p, std::slice::from_ref(&f), &negs, a() + d(14)),
                CodeColour::Green
            );
            assert_eq!(colour(p, &[f], &[], a() + d(15)), c, "no release test yet");
        }

        for kind in [
            FactKind::InitialScreenPositive,
            FactKind::PoolPositivePending,
            FactKind::Confirmed,
            FactKind::Asymptomatic,
            FactKind::Suspected,
        ] {
            let f = CodeFact::new(kind, a());
            assert_eq!(
                colour(p, std::slice::from_ref(&f), &[], a() + d(1)),
                CodeColour::Red
            );
            assert_eq!(
                colour(p, &[f.ended(a() + d(1))], &[], a() + d(1)),
                CodeColour::Green
            );
        }

        // 应检未检: yellow until a negative sampled after the deadline.
        let due = CodeFact::new(FactKind::DueNotTested, a());
        let state = evaluate(p, std::slice::from_ref(&due), &[a() - h(1)], a() + h(5));
        assert_eq!(state.colour, CodeColour::Yellow);
        assert_eq!((state.turns_green_at, state.waits_for_test), (None, true));
        assert!(
            state.reasons[0]
                .words
                .contains("11月20日10:00后采样的核酸阴性后解除"),
            "{}",
            state.reasons[0].words
        );
        assert!(state.popup.is_none(), "Shanghai has no pop-ups");
        assert_eq!(
            colour(p, &[due], &[a() + h(1)], a() + h(5)),
            CodeColour::Green
        );
    }

    #[test]
    fn national_rows() {
        let p = national();
        let fever = CodeFact::new(FactKind::FeverClinic, a());
        assert_eq!(
            colour(p, std::slice::from_ref(&fever), &[], a() + h(1)),
            CodeColour::Yellow
        );
        assert_eq!(
            colour(p, &[fever], &[a() + h(1)], a() + h(1)),
            CodeColour::Green
        );
        let case = CodeFact::new(FactKind::Confirmed, a());
        assert_eq!(
            colour(p, std::slice::from_ref(&case), &[], a() + d(1)),
            CodeColour::Red
        );
        assert_eq!(
            colour(p, &[case.ended(a() + d(1))], &[], a() + d(1)),
            CodeColour::Green
        );
        // Kinds the national table does not know do nothing.
        let cc = CodeFact::new(FactKind::CloseContact, a());
        assert_eq!(colour(p, &[cc], &[], a() + d(1)), CodeColour::Green);
    }

    #[test]
    fn an_open_override_beats_everything() {
        let case = CodeFact::new(FactKind::Confirmed, a());
        let popup = CodeFact::new(FactKind::Companion, a());
        let green = CodeFact::new(FactKind::ManualOverride, a() + h(1))
            .with_colour(CodeColour::Green)
            .with_note("误判，已核实");
        let facts = [case.clone(), popup.clone(), green.clone()];
        let state = evaluate(hebei(), &facts, &[], a() + h(2));
        assert_eq!(state.colour, CodeColour::Green);
        assert!(state.popup.is_none());
        assert_eq!(state.reasons.len(), 1);
        assert_eq!(state.reasons[0].kind, FactKind::ManualOverride);
        assert!(
            state.reasons[0].words.contains("理由：误判，已核实"),
            "{}",
            state.reasons[0].words
        );
        // Before the override, and after it is closed, the rules apply.
        assert_eq!(
            colour(hebei(), &facts, &[], a() + h(1) - sec()),
            CodeColour::Red
        );
        let closed = [case.clone(), green.clone().ended(a() + h(3))];
        assert_eq!(colour(hebei(), &closed, &[], a() + h(3)), CodeColour::Red);
        // A red override beats a green code; with an end it returns then.
        let red = CodeFact::new(FactKind::ManualOverride, a())
            .with_colour(CodeColour::Red)
            .ended(a() + d(2));
        let state = evaluate(hebei(), std::slice::from_ref(&red), &[], a() + d(1));
        assert_eq!(state.colour, CodeColour::Red);
        assert_eq!(state.turns_green_at, Some(a() + d(2)));
        // The newest override wins.
        let later =
            CodeFact::new(FactKind::ManualOverride, a() + h(5)).with_colour(CodeColour::Yellow);
        assert_eq!(
            colour(hebei(), &[red, later], &[], a() + d(1)),
            CodeColour::Yellow
        );
        // Without a colour: red, and said so.
        let blank = CodeFact::new(FactKind::ManualOverride, a());
        let state = evaluate(hebei(), &[blank], &[], a() + h(1));
        assert_eq!(state.colour, CodeColour::Red);
        assert!(state.reasons[0].words.contains("未注明颜色"));
    }

    #[test]
    fn another_provinces_colour_is_mirrored_until_it_clears_it() {
        let f = CodeFact::new(FactKind::OtherProvince, a())
            .with_colour(CodeColour::Yellow)
            .with_note("北京市");
        for p in policies() {
            let state = evaluate(p, std::slice::from_ref(&f), &[a() + h(1)], a() + d(30));
            assert_eq!(state.colour, CodeColour::Yellow, "{}", p.id);
            assert_eq!((state.turns_green_at, state.waits_for_test), (None, false));
            assert!(
                state.reasons[0].words.contains("北京市"),
                "{}",
                state.reasons[0].words
            );
            let cleared = f.clone().ended(a() + d(3));
            assert_eq!(evaluate(p, &[cleared], &[], a() + d(3)), CodeState::green());
        }
        let red = CodeFact::new(FactKind::OtherProvince, a()).with_colour(CodeColour::Red);
        assert_eq!(colour(hebei(), &[red], &[], a()), CodeColour::Red);
    }

    #[test]
    fn several_facts_combine_worst_colour_last_popup_latest_return() {
        let companion = CodeFact::new(FactKind::Companion, a());
        let county = CodeFact::new(FactKind::LeftOutbreakCounty, a() + d(2));
        let pool = CodeFact::new(FactKind::PoolPositivePending, a() + d(3)).ended(a() + d(4));
        let fever = CodeFact::new(FactKind::FeverClinic, a() + d(3));
        let facts = [companion, county, pool, fever];
        let state = evaluate(hebei(), &facts, &[], a() + d(3) + h(1));
        assert_eq!(state.colour, CodeColour::Red);
        // Both county and fever lift 14 days after their anchor; the fever one is latest.
        assert_eq!(state.popup.as_ref().unwrap().kind, FactKind::FeverClinic);
        assert_eq!(state.turns_green_at, Some(a() + d(17)));
        assert_eq!(state.reasons.len(), 4);
        assert_eq!(
            state.reasons[0].kind,
            FactKind::PoolPositivePending,
            "red first"
        );
        assert_eq!(state.reasons[0].until, Some(a() + d(4)));
        assert_eq!(
            state.reasons[3].kind,
            FactKind::Companion,
            "the earliest lift last"
        );
        assert!(
            state
                .summary_zh()
                .starts_with("红码（弹窗）：混管阳性待复核"),
            "{}",
            state.summary_zh()
        );
        assert!(state.summary_zh().contains("等4项"));
        // Anything waiting on a non-date makes the return unknown.
        let mut facts = facts.to_vec();
        facts.push(CodeFact::new(FactKind::Confirmed, a()));
        let state = evaluate(hebei(), &facts, &[], a() + d(3) + h(1));
        assert_eq!(state.turns_green_at, None);
    }

    #[test]
    fn evaluation_is_cheap_enough_for_millions() {
        // Not a benchmark (debug builds are slow); a guard against accidental quadratic work.
        let facts: Vec<CodeFact> = (0..50)
            .map(|i| CodeFact::new(FactKind::Companion, a() - h(i)))
            .collect();
        let negs: Vec<DateTime<Utc>> = (0..200).map(|i| a() - h(i)).collect();
        let state = evaluate(hebei(), &facts, &negs, a() + d(2));
        assert_eq!(state.reasons.len(), 50);
    }
}
