//! Retail pharmacies (零售药店, domain-rules.md §7.3): the four monitored drug classes, the
//! catalogue, and the test requirement a buyer gets.
//!
//! The catalogue is data per province (`data/warning/drug_catalogue_<province>.json`): the drugs
//! with their class, the hours a buyer has to get tested (Beijing's rule: 72 h) and the days a
//! buyer's later positive still counts as a pharmacy signal. Beijing's catalogue listed 645 drugs;
//! the shipped Hebei one lists the common ones of each class.

use serde::Deserialize;

use crate::ids::{IdDocument, IdType};

crate::coded_enum! {
    /// The four monitored drug classes (“四类药品”).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum DrugClass {
        Fever => "fever", "退热类",
        Cough => "cough", "止咳类",
        Antiviral => "antiviral", "抗病毒类",
        Antibiotic => "antibiotic", "抗菌素类",
    }
}

crate::coded_enum! {
    /// Where a buyer's test requirement stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RequirementStatus {
        Awaiting => "awaiting", "待检测",
        Tested => "tested", "已按时检测",
        Overdue => "overdue", "超时未检（已转线索）",
    }
}

crate::coded_enum! {
    /// How a sale reached us.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SaleChannel {
        Form => "form", "页面登记",
        Upload => "upload", "表格上传",
        Api => "api", "接口上报",
    }
}

/// One monitored drug of a catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Drug {
    pub code: String,
    pub name: String,
    #[serde(deserialize_with = "class_code")]
    pub class: DrugClass,
}

/// A province's catalogue and its rule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Catalogue {
    /// The province's two-digit code.
    pub province: String,
    pub name: String,
    /// Hours from the sale to the test deadline (北京: 72).
    pub test_within_hours: i64,
    /// Days before a positive that a sale still counts (the buyer's positive is a pharmacy signal).
    pub monitoring_days: i64,
    pub source: String,
    pub note: String,
    pub drugs: Vec<Drug>,
}

fn class_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DrugClass, D::Error> {
    let code = String::deserialize(d)?;
    DrugClass::from_code(&code)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown drug class {code}")))
}

/// Every shipped catalogue.
pub fn catalogues() -> &'static [Catalogue] {
    static ALL: std::sync::OnceLock<Vec<Catalogue>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        vec![
            serde_json::from_str(include_str!("../../data/warning/drug_catalogue_hebei.json"))
                .expect("data/warning/drug_catalogue_hebei.json is valid (tested)"),
        ]
    })
}

/// The catalogue in force for a pharmacy in `region_code`: its province's.
pub fn catalogue_for(region_code: &str) -> Option<&'static Catalogue> {
    catalogues()
        .iter()
        .find(|c| region_code.starts_with(c.province.as_str()))
}

impl Catalogue {
    /// A drug by its code or its exact name (a pharmacy system sends either).
    pub fn drug(&self, code_or_name: &str) -> Option<&Drug> {
        let wanted = code_or_name.trim();
        self.drugs
            .iter()
            .find(|d| d.code.eq_ignore_ascii_case(wanted) || d.name == wanted)
    }

    /// When a buyer of a sale at `sold_at` must have been tested by.
    pub fn due_at(&self, sold_at: i64) -> i64 {
        sold_at + self.test_within_hours * 3600
    }

    /// Whether a positive at `positive_at` is within the monitoring window of a sale at `sold_at`.
    pub fn in_window(&self, sold_at: i64, positive_at: i64) -> bool {
        sold_at <= positive_at + 600 && positive_at - sold_at <= self.monitoring_days * 86_400
    }
}

/// The buyer's ID as the pharmacy gave it: a valid document, or why it is not one. A sale with an
/// invalid ID is still accepted (pharmacies sell anyway) and flagged with this reason.
pub fn buyer_document(id_type: &str, id_number: &str) -> Result<IdDocument, String> {
    let id_type = IdType::parse(id_type)?;
    IdDocument::parse(id_type, id_number)
}

/// Where a requirement goes at `now`: `Tested` when a negative sample was taken between the sale
/// and the deadline (`first_negative`: the earliest such sampling time), `Overdue` when the
/// deadline passed without one, `None` while the buyer still has time.
pub fn requirement_outcome(
    sold_at: i64,
    due_at: i64,
    first_negative: Option<i64>,
    now: i64,
) -> Option<RequirementStatus> {
    match first_negative {
        Some(at) if at >= sold_at && at <= due_at => Some(RequirementStatus::Tested),
        _ if now >= due_at => Some(RequirementStatus::Overdue),
        _ => None,
    }
}

/// The longest sale key (the pharmacy's receipt number) accepted.
pub const SALE_KEY_MAX_CHARS: usize = 64;

/// Checks a sale key: not empty, at most [`SALE_KEY_MAX_CHARS`], no control characters.
pub fn check_sale_key(raw: &str) -> Result<String, String> {
    let key = raw.trim();
    if key.is_empty() {
        return Err("销售单号不能为空".into());
    }
    if key.chars().count() > SALE_KEY_MAX_CHARS {
        return Err(format!("销售单号不能超过 {SALE_KEY_MAX_CHARS} 个字符"));
    }
    if key.chars().any(char::is_control) {
        return Err("销售单号含有不可见字符".into());
    }
    Ok(key.to_string())
}

/// A quantity of packs: 1 to 100.
pub fn check_quantity(raw: &str) -> Result<i64, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(1);
    }
    match text.parse::<i64>() {
        Ok(n) if (1..=100).contains(&n) => Ok(n),
        _ => Err("数量应为1到100之间的整数（盒/瓶）".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hebei_catalogue_covers_the_four_classes_with_unique_codes() {
        let c = catalogue_for("130109110").expect("Hebei");
        assert_eq!(c.test_within_hours, 72);
        assert!(c.note.contains("645"));
        assert!(c.drugs.len() >= 30);
        for class in DrugClass::ALL {
            assert!(c.drugs.iter().any(|d| d.class == class), "{class:?}");
        }
        let mut codes: Vec<&str> = c.drugs.iter().map(|d| d.code.as_str()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), c.drugs.len());
        assert_eq!(c.drug("tr003").unwrap().name, "布洛芬缓释胶囊");
        assert_eq!(c.drug("奥司他韦胶囊").unwrap().class, DrugClass::Antiviral);
        assert!(c.drug("维生素C").is_none());
        assert!(catalogue_for("110105").is_none());
    }

    #[test]
    fn a_requirement_is_met_by_a_negative_in_time_and_overdue_after_the_deadline() {
        let c = catalogue_for("13").unwrap();
        let sold = 1_000_000;
        let due = c.due_at(sold);
        assert_eq!(due - sold, 72 * 3600);
        assert_eq!(requirement_outcome(sold, due, None, sold + 3600), None);
        assert_eq!(
            requirement_outcome(sold, due, Some(sold + 7200), sold + 7300),
            Some(RequirementStatus::Tested)
        );
        // A negative from before the purchase does not count; neither does one after the deadline.
        assert_eq!(
            requirement_outcome(sold, due, Some(sold - 60), due - 1),
            None
        );
        assert_eq!(
            requirement_outcome(sold, due, Some(sold - 60), due),
            Some(RequirementStatus::Overdue)
        );
        assert_eq!(
            requirement_outcome(sold, due, Some(due + 1), due + 2),
            Some(RequirementStatus::Overdue)
        );
    }

    #[test]
    fn the_monitoring_window_and_the_inputs() {
        let c = catalogue_for("13").unwrap();
        assert!(c.in_window(0, 13 * 86_400));
        assert!(!c.in_window(0, 15 * 86_400));
        assert!(!c.in_window(86_400, 0));
        assert!(buyer_document("", "130109199001011234").is_err());
        assert!(buyer_document("身份证", "").is_err());
        assert!(buyer_document("护照", "E12345678").is_ok());
        assert_eq!(check_sale_key(" R-1 ").unwrap(), "R-1");
        assert!(check_sale_key("").is_err());
        assert!(check_sale_key(&"x".repeat(65)).is_err());
        assert_eq!(check_quantity(""), Ok(1));
        assert!(check_quantity("0").is_err());
        assert!(check_quantity("abc").is_err());
    }
}
