//! The seam between modules: facts about a person travel as rows of `person_events` (kind, the
//! person, their grid, a source and a JSON detail), read in id order by every module that cares.
//!
//! Mass testing writes `pool_positive`, `single_positive`, `recheck_negative`, `antigen_positive`
//! (their detail is free text). Investigation, leads and isolation write the kinds below, each with
//! a JSON detail of the struct named; a consumer that does not know a kind skips it. The register
//! writes `resident_moved` when a person changes grid.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::personal::{Address, PersonName};
use crate::phone::PhoneNumber;

/// Investigation classified a person as a close contact (密接). Detail: [`ContactEvent`].
pub const CLOSE_CONTACT: &str = "close_contact";
/// Investigation classified a person as a secondary contact (次密接). Detail: [`ContactEvent`].
pub const SECONDARY_CONTACT: &str = "secondary_contact";
/// A contact was reclassified as a general contact or withdrawn. Detail: [`ContactEvent`].
pub const CONTACT_CLEARED: &str = "contact_cleared";
/// Investigation reported a case (confirmed, asymptomatic, suspected, initial-screen positive).
/// Detail: [`CaseEvent`].
pub const CASE_REPORTED: &str = "case_reported";
/// A case was discharged from hospital or fangcang (出院). Detail: `{"case_id": N}`.
pub const CASE_DISCHARGED: &str = "case_discharged";
/// A suspected or initial-screen-positive case was excluded (排除). Detail: `{"case_id": N}`.
pub const CASE_EXCLUDED: &str = "case_excluded";
/// A lead was found on the ground and put under a measure (落地管控). Detail: [`LeadControlledEvent`].
pub const LEAD_CONTROLLED: &str = "lead_controlled";
/// A person under a measure tested positive or turned into a case (转阳). Detail: [`MeasureEvent`].
pub const MEASURE_POSITIVE: &str = "measure_positive";
/// A person's measure ended with every test negative (解除隔离). Detail: [`MeasureEvent`].
pub const MEASURE_RELEASED: &str = "measure_released";
/// Big data pushed a person (大数据推送: 时空伴随, key venues, risk areas): written with the
/// lead in its transaction, so the health code applies the pop-up rules from the push at once.
/// Detail: [`PushEvent`].
pub const BIG_DATA_PUSH: &str = "big_data_push";
/// A resident moved to another grid (迁移网格, or an approved 迁入申请): written with the move in its
/// transaction, so every module that acts on a person's grid follows — an open lead goes to the
/// new grid's worker, an open round's target and unswabbed list follow, a home measure goes to
/// the new grid. The event's `grid_code` is the new grid. Detail: [`ResidentMovedEvent`].
pub const RESIDENT_MOVED: &str = "resident_moved";

/// A sentinel learned that a person is positive (哨点阳性): a fever clinic's patient (antigen at the
/// clinic, or the clinic's PCR tube), or a pharmacy's buyer who tested positive within the
/// monitoring window. Written by the sentinel in the transaction where it learns it; early warning
/// raises the region's alert from it. Detail: [`SentinelEvent`].
pub const SENTINEL_POSITIVE: &str = "sentinel_positive";

/// Detail of [`SENTINEL_POSITIVE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentinelEvent {
    /// `domain::warning::triggers::SignalChannel::code()`: `fever_clinic_positive` or
    /// `pharmacy_buyer_positive`.
    pub channel: String,
    /// The clinic or pharmacy by name (words for the alert's evidence).
    pub place: String,
    /// The sentinel's record as a source key (`clinic_visit:5`, `pharmacy_sale:9`).
    pub record: String,
    /// When the positive was known (unix seconds).
    pub at: i64,
}

/// Detail of [`RESIDENT_MOVED`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidentMovedEvent {
    pub from_grid: String,
    pub to_grid: String,
    pub from_household: String,
    pub to_household: String,
    /// The new address (where a grid worker now finds the person).
    pub to_address: Address,
    /// The approved move-in request (迁入申请) that moved the person, if any.
    pub move_in: Option<i64>,
}

/// Detail of [`BIG_DATA_PUSH`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushEvent {
    pub lead_id: i64,
    /// `domain::leads::RiskCategory::code()` the push gave.
    pub category: String,
    /// When the push reached the office (unix seconds): the pop-up's anchor.
    pub pushed_at: i64,
}

/// Detail of [`CLOSE_CONTACT`], [`SECONDARY_CONTACT`] and [`CONTACT_CLEARED`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactEvent {
    pub contact_id: i64,
    pub case_id: i64,
    /// For a secondary contact: the close contact (a `contacts` id) it was exposed to.
    pub via_contact_id: Option<i64>,
    /// Unix seconds of the last exposure; measure periods count from it.
    pub last_exposure: i64,
    /// `domain::investigation::Regime::code()` in force when classified.
    pub regime: String,
    /// The person's name as the epidemiologist recorded it (for a person not in the register).
    pub name: PersonName,
    /// Phone, when known ('' in the JSON otherwise).
    #[serde(with = "phone_or_empty")]
    pub phone: Option<PhoneNumber>,
    /// Where the person is believed to be (address text), for routing and the landing.
    pub address: Address,
}

/// Detail of [`CASE_REPORTED`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEvent {
    pub case_id: i64,
    /// `domain::investigation::CaseKind::code()`.
    pub case_kind: String,
    pub name: PersonName,
    pub address: Address,
    /// The designated hospital chosen, '' when not yet.
    pub hospital: String,
}

/// Detail of [`LEAD_CONTROLLED`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadControlledEvent {
    pub lead_id: i64,
    /// `domain::isolation::MeasureKind::code()` the grid worker chose.
    pub measure: String,
    /// `domain::isolation::PersonCategory::code()` of the lead.
    pub category: String,
    pub name: PersonName,
    pub address: Address,
}

/// The phone of a [`ContactEvent`] as its JSON has always carried it: the digits, or '' for none.
/// Text that is not a valid number reads as none: the phone was checked when the contact was
/// recorded, and a consumer must still get the person (routing, isolation) without it.
mod phone_or_empty {
    use super::*;

    pub fn serialize<S: Serializer>(phone: &Option<PhoneNumber>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(phone.as_deref().unwrap_or(""))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PhoneNumber>, D::Error> {
        let text = String::deserialize(d)?;
        Ok(PhoneNumber::parse(&text).ok())
    }
}

/// Detail of [`MEASURE_POSITIVE`] and [`MEASURE_RELEASED`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasureEvent {
    pub measure_id: i64,
    pub category: String,
}

/// A record's source in words, for pages: the machine key a module stamps on what it writes
/// (`case:26`, `contact:42`, `tube:000000154856`, `antigen:3`, `round:1`, `lead:5`,
/// `measure:7`) becomes "病例 #26", "接触者 #42", "试管 000000154856", …; text before a key is kept
/// ("流调：case:26" → "流调：病例 #26"), and anything else is returned as it is. The stored value
/// stays the key (modules match on it).
pub fn source_words(source: &str) -> String {
    let (prefix, key) = match source.rfind('：') {
        Some(at) => source.split_at(at + '：'.len_utf8()),
        None => ("", source),
    };
    let Some((kind, id)) = key.split_once(':') else {
        return source.to_string();
    };
    let words = match kind {
        "case" => format!("病例 #{id}"),
        "contact" => format!("接触者 #{id}"),
        "tube" => format!("试管 {id}"),
        "antigen" => format!("抗原自测 #{id}"),
        "round" => format!("第{id}轮检测"),
        "lead" => format!("线索 #{id}"),
        "measure" => format!("管控 #{id}"),
        _ => return source.to_string(),
    };
    format!("{prefix}{words}")
}

#[cfg(test)]
mod source_words_tests {
    use super::source_words;

    #[test]
    fn machine_keys_read_as_words_and_other_text_is_kept() {
        for (stored, shown) in [
            ("流调：case:26", "流调：病例 #26"),
            ("流调：contact:42", "流调：接触者 #42"),
            ("核酸检测：tube:000000154856", "核酸检测：试管 000000154856"),
            ("antigen:3", "抗原自测 #3"),
            ("round:1", "第1轮检测"),
            ("大数据推送：线索 5", "大数据推送：线索 5"),
            ("藁城区指挥部（演示）", "藁城区指挥部（演示）"),
            ("x:1", "x:1"),
            ("", ""),
        ] {
            assert_eq!(source_words(stored), shown, "{stored}");
        }
    }
}
