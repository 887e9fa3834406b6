//! The facts about a person that can colour their code or raise a pop-up (§1, §3, §14.2).

use super::*;

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
    /// The code fact a big-data push of `category` gives (Hebei §3.2, §3.6): companions, key venues
    /// and people the province names pop up; people pushed as from risk areas, inbound or contacts
    /// get the table's colour for that category, counted from the push (the exposure before it is
    /// not known, so the period can only be longer, never shorter).
    pub fn of_push(category: crate::leads::RiskCategory) -> FactKind {
        use crate::leads::RiskCategory;
        match category {
            RiskCategory::CloseContact => FactKind::CloseContact,
            RiskCategory::SecondaryContact => FactKind::SecondaryContact,
            RiskCategory::LeftHighRiskArea => FactKind::LeftHighRiskArea,
            RiskCategory::LeftMediumRiskArea => FactKind::LeftMediumRiskArea,
            RiskCategory::Inbound => FactKind::Inbound,
            RiskCategory::Companion | RiskCategory::Other => FactKind::Companion,
        }
    }

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
