//! Reserves (物资储备, domain-rules.md §9): the catalogue, the ledger's movements, consumption norms and days of cover against the 30-day full-load rule.
//!
//! The catalogue and the norms are data (`data/supplies/reserves_catalogue.json`): five classes of
//! items with their units, and how much of an item one unit of work in another module uses (a
//! swab per sample, a tube per bound tube, PPE per occupied isolation room-day and per sampler
//! shift). A warehouse's stock moves only through the ledger: in, out, transfer, consumption and
//! stocktake; a movement that would leave less than nothing is refused with the reason. Days of
//! cover are the stock on hand over the daily need, against the rule of 30 days at full load.

use std::collections::BTreeMap;

use serde::Deserialize;

crate::coded_enum! {
    /// The five classes of the catalogue (五类物资).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum ItemClass {
        Protective => "protective", "防护用品",
        Testing => "testing", "检测用品",
        Equipment => "equipment", "医疗设备",
        Drugs => "drugs", "药品",
        Disinfection => "disinfection", "消杀用品",
    }
}

crate::coded_enum! {
    /// Who keeps a warehouse (储备单位).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum OwnerKind {
        CommandOffice => "command_office", "指挥部（物资保障组）",
        Hospital => "hospital", "医院",
        IsolationSite => "isolation_site", "隔离点",
        TestingSite => "testing_site", "采样检测点",
    }
}

crate::coded_enum! {
    /// A line of the ledger (台账).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum MovementKind {
        In => "in", "入库",
        Out => "out", "出库",
        Transfer => "transfer", "调拨",
        Consumption => "consumption", "消耗",
        Stocktake => "stocktake", "盘点",
    }
}

crate::coded_enum! {
    /// What a consumption norm counts (the unit of work in another module).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum NormBasis {
        /// A person swabbed (采样人次, from testing).
        Sample => "sample", "每采样一人",
        /// A tube bound (绑定采样管, from testing).
        Tube => "tube", "每绑定一管",
        /// An occupied isolation room for a day (from isolation).
        RoomDay => "room_day", "每间隔离房间每天",
        /// A sampler's shift at an open round's site (from testing).
        SamplerShift => "sampler_shift", "每名采样人员每班",
    }
}

crate::coded_enum! {
    /// Where a request for support between regions stands (一方有难、八方支援).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SupportStatus {
        Requested => "requested", "待支援方审批",
        Approved => "approved", "已同意，待发运",
        Refused => "refused", "支援方已拒绝",
        Dispatched => "dispatched", "已发运，待签收",
        Received => "received", "已签收入库",
    }
}

/// The full-load rule: reserves for this many days (满负荷运转30天).
pub const FULL_LOAD_DAYS: i64 = 30;
/// The largest quantity one movement may carry.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// One item of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Item {
    pub code: String,
    pub name: String,
    #[serde(deserialize_with = "class_code")]
    pub class: ItemClass,
    pub unit: String,
}

/// How much of an item one unit of another module's work uses.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Norm {
    pub item: String,
    #[serde(deserialize_with = "basis_code")]
    pub basis: NormBasis,
    pub per_unit: f64,
    pub note: String,
}

/// The catalogue and its norms.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Catalogue {
    pub name: String,
    pub source: String,
    pub full_load_days: i64,
    pub items: Vec<Item>,
    pub norms: Vec<Norm>,
}

fn class_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ItemClass, D::Error> {
    let code = String::deserialize(d)?;
    ItemClass::from_code(&code)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown item class {code}")))
}

fn basis_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NormBasis, D::Error> {
    let code = String::deserialize(d)?;
    NormBasis::from_code(&code)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown norm basis {code}")))
}

/// The shipped catalogue.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: std::sync::OnceLock<Catalogue> = std::sync::OnceLock::new();
    CATALOGUE.get_or_init(|| {
        serde_json::from_str(include_str!("../../data/supplies/reserves_catalogue.json"))
            .expect("data/supplies/reserves_catalogue.json is valid (tested)")
    })
}

impl Catalogue {
    /// An item by its code or its exact name.
    pub fn item(&self, code_or_name: &str) -> Option<&Item> {
        let wanted = code_or_name.trim();
        self.items
            .iter()
            .find(|i| i.code.eq_ignore_ascii_case(wanted) || i.name == wanted)
    }

    /// The daily need per item that the modules' work implies through the norms.
    pub fn norm_need(&self, load: &ModuleLoad) -> BTreeMap<String, f64> {
        let mut need: BTreeMap<String, f64> = BTreeMap::new();
        for norm in &self.norms {
            let units = match norm.basis {
                NormBasis::Sample => load.samples_per_day,
                NormBasis::Tube => load.tubes_per_day,
                NormBasis::RoomDay => load.occupied_rooms,
                NormBasis::SamplerShift => load.sampler_shifts_per_day,
            };
            if units > 0.0 {
                *need.entry(norm.item.clone()).or_default() += units * norm.per_unit;
            }
        }
        need
    }
}

/// The work of the other modules in a region, per day (the norms' bases).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ModuleLoad {
    /// People swabbed per day (the last 7 days' average).
    pub samples_per_day: f64,
    /// Tubes bound per day (the last 7 days' average).
    pub tubes_per_day: f64,
    /// Isolation rooms occupied now.
    pub occupied_rooms: f64,
    /// Samplers on shift per day at the sites of the open rounds.
    pub sampler_shifts_per_day: f64,
}

impl ModuleLoad {
    pub fn add(&mut self, other: &ModuleLoad) {
        self.samples_per_day += other.samples_per_day;
        self.tubes_per_day += other.tubes_per_day;
        self.occupied_rooms += other.occupied_rooms;
        self.sampler_shifts_per_day += other.sampler_shifts_per_day;
    }
}

/// A quantity as typed: a whole number from 1 to [`MAX_QUANTITY`] (a stocktake may count 0).
pub fn check_quantity(raw: &str, zero_allowed: bool) -> Result<i64, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("请填写数量".into());
    }
    let n: i64 = raw
        .parse()
        .map_err(|_| format!("“{}”不是整数", raw.chars().take(20).collect::<String>()))?;
    let least = if zero_allowed { 0 } else { 1 };
    if n < least || n > MAX_QUANTITY {
        return Err(format!("应在{least}到{MAX_QUANTITY}之间"));
    }
    Ok(n)
}

/// The change a movement makes to a warehouse's stock of `item` holding `on_hand`: positive for
/// in, negative for out, transfer (at the source) and consumption, and the difference for a
/// stocktake (`quantity` is the count). A movement that would leave less than nothing is refused
/// with the reason.
pub fn movement_delta(
    kind: MovementKind,
    quantity: i64,
    on_hand: i64,
    item: &Item,
) -> Result<i64, String> {
    match kind {
        MovementKind::In => Ok(quantity),
        MovementKind::Stocktake => Ok(quantity - on_hand),
        MovementKind::Out | MovementKind::Transfer | MovementKind::Consumption => {
            if quantity > on_hand {
                Err(format!(
                    "库存不足：{}现有{}{}，不能{}{}{}（库存不能小于零）",
                    item.name,
                    on_hand,
                    item.unit,
                    kind.label_zh(),
                    quantity,
                    item.unit
                ))
            } else {
                Ok(-quantity)
            }
        }
    }
}

/// Days of cover: the stock on hand over the daily need; `None` when nothing is used.
pub fn days_of_cover(on_hand: i64, daily_need: f64) -> Option<f64> {
    (daily_need > 0.0).then(|| on_hand.max(0) as f64 / daily_need)
}

/// Whether an item's cover breaks the full-load rule (used, and under the rule's days).
pub fn under_rule(days: Option<f64>) -> bool {
    days.is_some_and(|d| d < FULL_LOAD_DAYS as f64)
}

/// What 30 days at the daily need take, and what is missing of it (需求清单).
pub fn shortfall(on_hand: i64, daily_need: f64) -> i64 {
    ((daily_need * FULL_LOAD_DAYS as f64).ceil() as i64 - on_hand.max(0)).max(0)
}

/// Worst first: the fewest days; items nobody uses last; then by code.
pub fn worst_first(a: (Option<f64>, &str), b: (Option<f64>, &str)) -> std::cmp::Ordering {
    let key = |d: Option<f64>| d.unwrap_or(f64::INFINITY);
    key(a.0).total_cmp(&key(b.0)).then_with(|| a.1.cmp(b.1))
}

/// Days of cover as pages show them ("12.5天", "—" when unused).
pub fn days_label(days: Option<f64>) -> String {
    match days {
        Some(d) if d >= 999.0 => "999天以上".into(),
        Some(d) => format!("{:.1}天", (d * 10.0).floor() / 10.0),
        None => "—（无消耗）".into(),
    }
}

/// The next status of a support request after `step`, or why the step is not possible now.
pub fn support_step(from: SupportStatus, to: SupportStatus) -> Result<(), String> {
    use SupportStatus::*;
    match (from, to) {
        (Requested, Approved | Refused) | (Approved, Dispatched) | (Dispatched, Received) => Ok(()),
        _ => Err(format!(
            "该支援申请当前为“{}”，不能办理“{}”",
            from.label_zh(),
            to.label_zh()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_has_five_classes_with_units_and_norms_name_its_items() {
        let c = catalogue();
        assert_eq!(c.full_load_days, FULL_LOAD_DAYS);
        assert!(c.items.len() >= 20 && c.items.len() <= 60);
        for class in ItemClass::ALL {
            assert!(c.items.iter().any(|i| i.class == class), "{class:?}");
        }
        let mut codes = std::collections::HashSet::new();
        for item in &c.items {
            assert!(codes.insert(item.code.as_str()), "duplicate {}", item.code);
            assert!(!item.unit.is_empty() && !item.name.is_empty());
        }
        for norm in &c.norms {
            assert!(
                c.item(&norm.item).is_some(),
                "norm of unknown {}",
                norm.item
            );
            assert!(norm.per_unit > 0.0);
        }
        for basis in NormBasis::ALL {
            assert!(c.norms.iter().any(|n| n.basis == basis), "{basis:?}");
        }
        assert_eq!(c.item("采样拭子").map(|i| i.code.as_str()), Some("swab"));
        assert_eq!(c.item("SWAB").map(|i| i.unit.as_str()), Some("支"));
    }

    #[test]
    fn norms_turn_the_modules_work_into_daily_need() {
        let c = catalogue();
        let load = ModuleLoad {
            samples_per_day: 1000.0,
            tubes_per_day: 100.0,
            occupied_rooms: 50.0,
            sampler_shifts_per_day: 10.0,
        };
        let need = c.norm_need(&load);
        assert_eq!(need["swab"], 1000.0);
        assert_eq!(need["tube"], 100.0);
        // Gowns: one per sampler shift and 0.2 per room-day.
        assert_eq!(need["gown"], 10.0 + 10.0);
        assert!(c.norm_need(&ModuleLoad::default()).is_empty());
    }

    #[test]
    fn a_movement_below_zero_is_refused_with_the_reason() {
        let item = catalogue().item("gown").unwrap().clone();
        let cases = [
            (MovementKind::In, 5, 0, Ok(5)),
            (MovementKind::Out, 5, 5, Ok(-5)),
            (MovementKind::Consumption, 3, 10, Ok(-3)),
            (MovementKind::Transfer, 10, 10, Ok(-10)),
            (MovementKind::Stocktake, 7, 10, Ok(-3)),
            (MovementKind::Stocktake, 12, 10, Ok(2)),
        ];
        for (kind, q, on_hand, want) in cases {
            assert_eq!(movement_delta(kind, q, on_hand, &item), want, "{kind:?}");
        }
        for kind in [
            MovementKind::Out,
            MovementKind::Transfer,
            MovementKind::Consumption,
        ] {
            let why = movement_delta(kind, 11, 10, &item).unwrap_err();
            assert!(
                why.contains("库存不足") && why.contains("现有10套"),
                "{why}"
            );
        }
    }

    #[test]
    fn quantities_days_and_shortfall() {
        assert_eq!(check_quantity(" 12 ", false), Ok(12));
        assert!(check_quantity("0", false).is_err());
        assert_eq!(check_quantity("0", true), Ok(0));
        assert!(check_quantity("-1", true).is_err());
        assert!(check_quantity("1.5", false).is_err());
        assert!(check_quantity("", false).is_err());
        assert_eq!(days_of_cover(300, 20.0), Some(15.0));
        assert_eq!(days_of_cover(300, 0.0), None);
        assert!(under_rule(Some(29.9)) && !under_rule(Some(30.0)) && !under_rule(None));
        assert_eq!(shortfall(300, 20.0), 300);
        assert_eq!(shortfall(900, 20.0), 0);
        assert_eq!(days_label(Some(12.56)), "12.5天");
        let mut v = [(None, "a"), (Some(40.0), "b"), (Some(3.0), "c")];
        v.sort_by(|a, b| worst_first(*a, *b));
        assert_eq!(v.iter().map(|x| x.1).collect::<Vec<_>>(), ["c", "b", "a"]);
    }

    #[test]
    fn support_requests_go_request_approve_dispatch_receive() {
        use SupportStatus::*;
        assert!(support_step(Requested, Approved).is_ok());
        assert!(support_step(Requested, Refused).is_ok());
        assert!(support_step(Approved, Dispatched).is_ok());
        assert!(support_step(Dispatched, Received).is_ok());
        assert!(support_step(Requested, Dispatched).is_err());
        assert!(support_step(Refused, Approved).is_err());
        let why = support_step(Received, Received).unwrap_err();
        assert!(why.contains("已签收入库"), "{why}");
    }
}
