//! Isolation, transfer and treatment (隔离管控、转运与救治): measure plans per regime and person
//! category (data in `data/isolation/measure-plans.json`, domain-rules.md §2), the pure schedule of
//! phases and test days, the room and carer rules ("一人一间一卫", §8.2), the capacity norm (≥ 20
//! rooms per 10,000 residents, §8.1), the allocation of people to sites and rooms, and the transfer
//! rules (cases only by ambulance, one per trip, disinfection before the next; §8.5).
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::investigation::Regime;

pub use crate::checkpoint::{FEVER_THRESHOLD_C, TemperatureError, parse_temperature};

pub mod measures;

crate::coded_enum! {
    /// How a person is kept (管控方式).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum MeasureKind {
        /// 集中隔离医学观察: in a room of a site.
        Centralised => "centralised", "集中隔离医学观察",
        /// 居家隔离医学观察: at home, not out of the door.
        HomeIsolation => "home_isolation", "居家隔离医学观察",
        /// 居家健康监测: at home, out only for medical care.
        HomeMonitoring => "home_monitoring", "居家健康监测",
    }
}

impl MeasureKind {
    pub fn is_home(self) -> bool {
        !matches!(self, MeasureKind::Centralised)
    }
}

crate::coded_enum! {
    /// Who the person is to the outbreak (风险人员类别), which decides the plan.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum PersonCategory {
        CloseContact => "close_contact", "密切接触者",
        SecondaryContact => "secondary_contact", "密接的密接",
        Inbound => "inbound", "入境人员",
        LeftHighRisk => "left_high_risk", "高风险区外溢人员",
        LeftMediumRisk => "left_medium_risk", "中风险区外溢人员",
        /// A reported case (确诊/无症状/疑似): no plan, awaits transfer to a hospital.
        Case => "case", "病例（待转运定点医院）",
        /// Another risk person put under control on the ground (时空伴随者 and others from a lead):
        /// the regime names no plan, so the lead's measure for 7 days with tests on days 1, 4, 7 [I].
        OtherRisk => "other_risk", "其他风险人员",
    }
}

impl PersonCategory {
    /// The category of a lead's risk category (`domain::leads::RiskCategory::code()`), as the
    /// `lead_controlled` event carries it.
    pub fn of_lead_category(code: &str) -> PersonCategory {
        match code {
            "close_contact" => PersonCategory::CloseContact,
            "secondary_contact" => PersonCategory::SecondaryContact,
            "inbound" => PersonCategory::Inbound,
            "left_high_risk_area" | "left_high_risk" => PersonCategory::LeftHighRisk,
            "left_medium_risk_area" | "left_medium_risk" => PersonCategory::LeftMediumRisk,
            _ => PersonCategory::OtherRisk,
        }
    }
}

/// One phase of a plan: how, how many days, on which days (1-based within the phase) a test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPhase {
    pub kind: MeasureKind,
    pub days: u32,
    pub test_days: Vec<u32>,
}

/// A measure plan (管控方案): one regime, one category, its phases, with its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasurePlan {
    pub regime: Regime,
    pub category: PersonCategory,
    pub phases: Vec<PlanPhase>,
    pub swab_zh: String,
    pub source: String,
}

impl MeasurePlan {
    /// "7天集中隔离医学观察 + 3天居家健康监测".
    pub fn summary_zh(&self) -> String {
        self.phases
            .iter()
            .map(|p| format!("{}天{}", p.days, p.kind.label_zh()))
            .collect::<Vec<_>>()
            .join(" + ")
    }

    pub fn total_days(&self) -> u32 {
        self.phases.iter().map(|p| p.days).sum()
    }
}

#[derive(Deserialize)]
struct PlanFile {
    plans: Vec<MeasurePlan>,
}

/// Every plan of the data file (checked by the tests: every test day lies inside its phase).
pub fn plans() -> &'static [MeasurePlan] {
    static PLANS: OnceLock<Vec<MeasurePlan>> = OnceLock::new();
    PLANS.get_or_init(|| {
        let file: PlanFile =
            serde_json::from_str(include_str!("../../data/isolation/measure-plans.json"))
                .expect("data/isolation/measure-plans.json is valid");
        file.plans
    })
}

/// The plan of a category under a regime; `None` when the regime does not identify the category
/// (二十条: no secondary contacts, no medium-risk tier) or for cases.
pub fn plan(regime: Regime, category: PersonCategory) -> Option<&'static MeasurePlan> {
    plans()
        .iter()
        .find(|p| p.regime == regime && p.category == category)
}

/// A phase laid on the calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduledPhase {
    pub kind: MeasureKind,
    pub start: NaiveDate,
    /// The last day of the phase (inclusive).
    pub end: NaiveDate,
    /// (day within the phase, date) of each test.
    pub tests: Vec<(u32, NaiveDate)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Schedule {
    pub phases: Vec<ScheduledPhase>,
}

impl Schedule {
    /// The last day of the whole measure.
    pub fn end(&self) -> Option<NaiveDate> {
        self.phases.last().map(|p| p.end)
    }

    /// The phase `date` falls in (None before day 1 or after the end).
    pub fn phase_on(&self, date: NaiveDate) -> Option<&ScheduledPhase> {
        self.phases
            .iter()
            .find(|p| p.start <= date && date <= p.end)
    }

    /// The last day of the centralised phase, when the plan has one.
    pub fn centralised_end(&self) -> Option<NaiveDate> {
        self.phases
            .iter()
            .find(|p| p.kind == MeasureKind::Centralised)
            .map(|p| p.end)
    }
}

/// Lays `plan` on the calendar with `day1` as day 1 of the first phase; each later phase starts the
/// day after the one before and counts its own days from 1 (居家第3天 = the 3rd day at home).
pub fn schedule(plan: &MeasurePlan, day1: NaiveDate) -> Schedule {
    let mut start = day1;
    let mut phases = Vec::with_capacity(plan.phases.len());
    for phase in &plan.phases {
        let days = phase.days.max(1);
        let end = start + Days::new(u64::from(days - 1));
        let tests = phase
            .test_days
            .iter()
            .filter(|d| (1..=days).contains(*d))
            .map(|d| (*d, start + Days::new(u64::from(d - 1))))
            .collect();
        phases.push(ScheduledPhase {
            kind: phase.kind,
            start,
            end,
            tests,
        });
        start = end + Days::new(1);
    }
    Schedule { phases }
}

crate::coded_enum! {
    /// A test result on a test task.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TestOutcome {
        Negative => "negative", "阴性",
        Positive => "positive", "阳性",
    }
}

impl TestOutcome {
    pub fn parse(raw: &str) -> Result<TestOutcome, String> {
        match raw.trim() {
            "negative" | "阴性" => Ok(TestOutcome::Negative),
            "positive" | "阳性" => Ok(TestOutcome::Positive),
            other => Err(format!("检测结果应为“阴性”或“阳性”，而不是“{other}”")),
        }
    }
}

/// Whether a measure may end on `today`: every test due up to `through` recorded negative and the
/// period over. `tests` are (due date, result). The reasons say what is missing, in Chinese.
pub fn release_check(
    tests: &[(NaiveDate, Option<TestOutcome>)],
    through: NaiveDate,
    today: NaiveDate,
) -> Result<(), Vec<String>> {
    let mut reasons = Vec::new();
    if today < through {
        reasons.push(format!("管控期至{through}，尚未期满"));
    }
    let due: Vec<_> = tests.iter().filter(|(d, _)| *d <= through).collect();
    if due
        .iter()
        .any(|(_, r)| matches!(r, Some(TestOutcome::Positive)))
    {
        reasons.push("有阳性结果，应转运定点医院，不能解除".into());
    }
    let missing: Vec<String> = due
        .iter()
        .filter(|(_, r)| r.is_none())
        .map(|(d, _)| d.to_string())
        .collect();
    if !missing.is_empty() {
        reasons.push(format!(
            "还有{}次检测没有结果（{}）",
            missing.len(),
            missing.join("、")
        ));
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}

// ---------------------------------------------------------------------------------------------
// Sites, rooms, carers, capacity

crate::coded_enum! {
    // Serde as written: JSON says the variant's name (`TwoHours`), not its code.
    serde = as_written;
    /// How soon a site can take people (Bazhong's two tiers, §8.2).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum Readiness {
        /// 2小时内可启用.
        TwoHours => "2h", "2小时内可启用",
        /// 24小时内可启用（备用）.
        TwentyFourHours => "24h", "24小时备用",
    }
}

crate::coded_enum! {
    // Serde as written: JSON says the variant's name (`Free`), not its code.
    serde = as_written;
    /// A room's state (房间状态).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum RoomStatus {
        Free => "free", "空闲",
        Occupied => "occupied", "已入住",
        Cleaning => "cleaning", "消杀中",
        Maintenance => "maintenance", "维修",
    }
}

/// Bulk room creation: building `A`, floors 1–6, rooms 01–20 → "A-101" … "A-620".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomBlock {
    pub building: String,
    pub floors: (u32, u32),
    pub rooms: (u32, u32),
}

/// Most rooms one bulk creation may make (a 3,000-room prefab site is made in one go).
pub const MAX_ROOMS_PER_BLOCK: u32 = 5_000;

impl RoomBlock {
    /// Checks the block and lists (building, floor, room number) in adjacency order.
    pub fn rooms(&self) -> Result<Vec<(String, u32, String)>, String> {
        let building = self.building.trim();
        if building.is_empty() || building.chars().count() > 10 {
            return Err("楼栋名称应填写1到10个字，如“A”或“1号楼”".into());
        }
        let (f1, f2) = self.floors;
        let (r1, r2) = self.rooms;
        if f1 == 0 || f2 < f1 || f2 > 60 {
            return Err(format!(
                "楼层范围{f1}–{f2}无效：应从1层起、终止层不小于起始层、不超过60层"
            ));
        }
        if r1 == 0 || r2 < r1 || r2 > 99 {
            return Err(format!(
                "房间号范围{r1}–{r2}无效：应为1到99、终止号不小于起始号"
            ));
        }
        let count = (f2 - f1 + 1) * (r2 - r1 + 1);
        if count > MAX_ROOMS_PER_BLOCK {
            return Err(format!(
                "一次最多建{MAX_ROOMS_PER_BLOCK}间，这次是{count}间，请分楼栋创建"
            ));
        }
        let mut out = Vec::with_capacity(count as usize);
        for floor in f1..=f2 {
            for room in r1..=r2 {
                out.push((
                    building.to_string(),
                    floor,
                    format!("{building}-{floor}{room:02}"),
                ));
            }
        }
        Ok(out)
    }
}

/// Why a person may have a carer with them (陪护), §8.2.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CareNeeds {
    pub pregnant: bool,
    pub seriously_ill: bool,
    /// Semi- or not self-caring (半失能/失能).
    pub dependent: bool,
}

/// The carer proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarerFacts {
    pub age: u32,
    pub underlying_disease: bool,
}

/// The age under which a child may have a carer (14).
pub const CARER_CHILD_AGE: u32 = 14;
/// From this age a person counts as elderly and may not be a carer (60).
pub const ELDERLY_AGE: u32 = 60;

/// "一人一间一卫": one person per room; a carer only for a child under 14, a pregnant woman, a
/// seriously ill or dependent person; no elderly carer (≥ 60), none with an underlying disease, and
/// no minor [I]. Returns every reason the pairing is refused.
pub fn carer_check(
    person_age: u32,
    needs: CareNeeds,
    carer: CarerFacts,
) -> Result<(), Vec<String>> {
    let mut reasons = Vec::new();
    if person_age >= CARER_CHILD_AGE && !needs.pregnant && !needs.seriously_ill && !needs.dependent
    {
        reasons.push(
            "一人一间一卫：只有14岁以下儿童、孕妇、重症患者或半失能/失能人员可以有陪护".to_string(),
        );
    }
    if carer.age >= ELDERLY_AGE {
        reasons.push(format!(
            "陪护人{}岁，60岁及以上老年人不能担任陪护",
            carer.age
        ));
    }
    if carer.underlying_disease {
        reasons.push("有基础性疾病的人不能担任陪护".to_string());
    }
    if carer.age < 18 {
        reasons.push(format!("陪护人{}岁，未成年人不能担任陪护", carer.age));
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}

/// Rooms per 10,000 residents required (≥ 20, State Council 2021-09-29, §8.1).
pub const ROOMS_PER_10K: i64 = 20;

/// The rooms a population needs under the norm (rounded up).
pub fn required_rooms(population: i64) -> i64 {
    (population.max(0) * ROOMS_PER_10K + 9_999) / 10_000
}

/// Age in whole years on `today` of someone born on `birth`.
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> u32 {
    let mut years = today.years_since(birth).unwrap_or(0);
    if years > 150 {
        years = 0;
    }
    years
}

// ---------------------------------------------------------------------------------------------
// Allocation

// Not a `coded_enum!`: a distance is computed and shown, never stored or parsed, so it has no code.
/// How far a site is from a person: same township, same county, farther (the distance proxy: the
/// region codes' common prefix; no map is needed and none is loaded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Distance {
    SameTownship,
    SameCounty,
    Farther,
}

impl Distance {
    pub fn of(person_region: &str, site_region: &str) -> Distance {
        let common = person_region
            .bytes()
            .zip(site_region.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        if common >= 9 && site_region.len() >= 9 {
            Distance::SameTownship
        } else if common >= 6 {
            Distance::SameCounty
        } else {
            Distance::Farther
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Distance::SameTownship => "同乡镇",
            Distance::SameCounty => "同区县",
            Distance::Farther => "跨区县",
        }
    }
}

/// A person waiting for a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocPerson {
    pub key: i64,
    /// Household number ('' = alone).
    pub household: String,
    /// The person's grid (or any region code of where they live).
    pub region: String,
}

/// A site with its free rooms in adjacency order (building, floor, number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocSite {
    pub site_id: i64,
    pub region_code: String,
    pub free_rooms: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub key: i64,
    pub site_id: i64,
    pub room_id: i64,
    pub distance: Distance,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Allocation {
    pub assignments: Vec<Assignment>,
    /// People no room was found for.
    pub unplaced: Vec<i64>,
}

/// Assigns people to rooms. A household is one group: it goes to one site, in consecutive free
/// rooms (adjacent on the floor). The site is the nearest (same township, then same county, then
/// farther) that can take the whole group, and among equally near ones the one with the most free
/// rooms. A group no single site can take is split over the nearest sites with room; when every
/// room is taken the rest are `unplaced`. Groups are taken in the order of their first member, so
/// people waiting longest (listed first) are placed first. O(groups × sites).
pub fn allocate(people: &[AllocPerson], sites: &[AllocSite]) -> Allocation {
    let mut groups: Vec<Vec<&AllocPerson>> = Vec::new();
    let mut by_household: HashMap<&str, usize> = HashMap::new();
    for person in people {
        if person.household.is_empty() {
            groups.push(vec![person]);
            continue;
        }
        match by_household.get(person.household.as_str()) {
            Some(&i) => groups[i].push(person),
            None => {
                by_household.insert(person.household.as_str(), groups.len());
                groups.push(vec![person]);
            }
        }
    }
    // Next free room per site.
    let mut cursor: Vec<usize> = vec![0; sites.len()];
    let free = |i: usize, cursor: &[usize]| sites[i].free_rooms.len() - cursor[i];
    let mut out = Allocation::default();
    for group in groups {
        let region = &group[0].region;
        let mut best: Option<(Distance, usize, usize)> = None; // (distance, free, index)
        for (i, site) in sites.iter().enumerate() {
            let left = free(i, &cursor);
            if left < group.len() {
                continue;
            }
            let distance = Distance::of(region, &site.region_code);
            let better = match best {
                None => true,
                Some((d, f, _)) => distance < d || (distance == d && left > f),
            };
            if better {
                best = Some((distance, left, i));
            }
        }
        let take = |person: &AllocPerson, i: usize, cursor: &mut [usize], out: &mut Allocation| {
            let room_id = sites[i].free_rooms[cursor[i]];
            cursor[i] += 1;
            out.assignments.push(Assignment {
                key: person.key,
                site_id: sites[i].site_id,
                room_id,
                distance: Distance::of(&person.region, &sites[i].region_code),
            });
        };
        match best {
            Some((_, _, i)) => {
                for person in &group {
                    take(person, i, &mut cursor, &mut out);
                }
            }
            None => {
                // Split: nearest sites first, most free rooms first.
                let mut order: Vec<usize> =
                    (0..sites.len()).filter(|&i| free(i, &cursor) > 0).collect();
                order.sort_by_key(|&i| {
                    (
                        Distance::of(region, &sites[i].region_code),
                        std::cmp::Reverse(free(i, &cursor)),
                    )
                });
                let mut members = group.iter();
                'sites: for i in order {
                    while free(i, &cursor) > 0 {
                        match members.next() {
                            Some(person) => take(person, i, &mut cursor, &mut out),
                            None => break 'sites,
                        }
                    }
                }
                out.unplaced.extend(members.map(|p| p.key));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Transfers and hospitals

crate::coded_enum! {
    // Serde as written: JSON says the variant's name (`NegativePressureAmbulance`), not its code.
    serde = as_written;
    /// A transfer vehicle (转运车辆).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub enum VehicleKind {
        /// 负压救护车.
        NegativePressureAmbulance => "negative_pressure_ambulance", "负压救护车",
        /// 救护车（120）.
        Ambulance => "ambulance", "救护车",
        /// 转运专用大巴.
        Coach => "coach", "转运专用大巴",
    }
}

impl VehicleKind {
    pub fn is_ambulance(self) -> bool {
        !matches!(self, VehicleKind::Coach)
    }
}

/// Who rides: an infected person (a case or a positive under a measure) or a risk person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rider {
    Infected,
    RiskPerson,
}

/// The transfer rules (§8.5): infected people only by ambulance (negative-pressure where possible),
/// one person per trip; risk people by dedicated coach up to its seats; nobody in a vehicle not
/// disinfected since its last trip; never infected and risk people together.
pub fn transfer_check(
    kind: VehicleKind,
    capacity: u32,
    awaiting_disinfection: bool,
    riders: &[Rider],
) -> Result<(), String> {
    if awaiting_disinfection {
        return Err("该车辆上一趟转运后还没有终末消毒，消毒后才能再转运".into());
    }
    if riders.is_empty() {
        return Err("没有选择转运人员".into());
    }
    let infected = riders.iter().filter(|r| **r == Rider::Infected).count();
    if infected > 0 && !kind.is_ambulance() {
        return Err(format!(
            "阳性感染者只能由（负压）救护车转运，不能用{}",
            kind.label_zh()
        ));
    }
    if infected > 0 && riders.len() > 1 {
        return Err(format!(
            "救护车转运感染者一人一车：这趟已有{}人，每趟只能转运1名感染者",
            riders.len()
        ));
    }
    if infected == 0 && kind.is_ambulance() {
        return Err(format!(
            "密接等风险人员应由转运专用大巴转运，{}留给感染者",
            kind.label_zh()
        ));
    }
    if riders.len() as u32 > capacity {
        return Err(format!(
            "该车核载{capacity}人，这趟有{}人，超出核载",
            riders.len()
        ));
    }
    Ok(())
}

crate::coded_enum! {
    // Serde as written: JSON says the variant's name (`Dispatched`), not its code.
    serde = as_written;
    /// A transfer's steps (转运状态).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    pub enum TransferStatus {
        Dispatched => "dispatched", "已派车",
        PickedUp => "picked_up", "已接到",
        HandedOver => "handed_over", "已交接",
    }
}

impl TransferStatus {
    /// The step after this one.
    pub fn next(self) -> Option<TransferStatus> {
        match self {
            TransferStatus::Dispatched => Some(TransferStatus::PickedUp),
            TransferStatus::PickedUp => Some(TransferStatus::HandedOver),
            TransferStatus::HandedOver => None,
        }
    }
}

crate::coded_enum! {
    // Serde as written: JSON says the variant's name (`Designated`), not its code.
    serde = as_written;
    /// Where cases are treated.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    pub enum HospitalKind {
        /// 定点医院.
        Designated => "designated", "定点医院",
        /// 方舱医院.
        Fangcang => "fangcang", "方舱医院",
    }
}

crate::coded_enum! {
    // Serde as written: JSON says the variant's name (`AwaitingPlacement`), not its code.
    serde = as_written;
    /// A person's measure state (管控状态).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    pub enum MeasureStatus {
        /// Waiting for a room in a site (待安置).
        AwaitingPlacement => "awaiting_placement", "待安置",
        /// A room is assigned; waiting for the coach (待转运入住).
        Allocated => "allocated", "已分配待转运",
        /// Checked in at the site (在隔离点).
        InSite => "in_site", "集中隔离中",
        /// At home (居家隔离/健康监测).
        AtHome => "at_home", "居家管控中",
        /// Positive or a case: waiting for the ambulance to a hospital (待转运定点医院).
        AwaitingHospital => "awaiting_hospital", "待转运定点医院",
        /// Admitted to a hospital or fangcang (已收治).
        Hospitalised => "hospitalised", "已收治",
        /// Ended with every test negative (已解除).
        Released => "released", "已解除",
    }
}

impl MeasureStatus {
    /// Still under the measure (not released nor handed to a hospital).
    pub fn is_open(self) -> bool {
        !matches!(self, MeasureStatus::Released | MeasureStatus::Hospitalised)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn every_plan_has_test_days_inside_its_phases_and_a_source() {
        assert!(plans().len() >= 13);
        for p in plans() {
            assert!(!p.source.is_empty());
            for phase in &p.phases {
                assert!(phase.test_days.iter().all(|d| (1..=phase.days).contains(d)));
            }
        }
        assert!(plan(Regime::Twenty, PersonCategory::SecondaryContact).is_none());
        assert!(plan(Regime::Ninth, PersonCategory::Case).is_none());
    }

    #[test]
    fn ninth_edition_close_contacts_are_seven_plus_three() {
        let p = plan(Regime::Ninth, PersonCategory::CloseContact).unwrap();
        assert_eq!(p.summary_zh(), "7天集中隔离医学观察 + 3天居家健康监测");
        let s = schedule(p, date("2022-11-20"));
        assert_eq!(s.phases[0].end, date("2022-11-26"));
        let central: Vec<_> = s.phases[0].tests.iter().map(|t| t.1.to_string()).collect();
        assert_eq!(
            central,
            [
                "2022-11-20",
                "2022-11-21",
                "2022-11-22",
                "2022-11-24",
                "2022-11-26"
            ]
        );
        assert_eq!(s.phases[1].start, date("2022-11-27"));
        assert_eq!(s.phases[1].tests, vec![(3, date("2022-11-29"))]);
        assert_eq!(s.end(), Some(date("2022-11-29")));
        assert_eq!(s.centralised_end(), Some(date("2022-11-26")));
    }

    #[test]
    fn other_regimes_and_categories() {
        let e = schedule(
            plan(Regime::Eighth, PersonCategory::CloseContact).unwrap(),
            date("2021-01-10"),
        );
        assert_eq!(e.phases[0].tests.len(), 4);
        assert_eq!(e.end(), Some(date("2021-01-30")));
        let t = schedule(
            plan(Regime::Twenty, PersonCategory::CloseContact).unwrap(),
            date("2022-11-20"),
        );
        assert_eq!(t.phases[1].kind, MeasureKind::HomeIsolation);
        assert_eq!(
            t.phases[1].tests,
            vec![(1, date("2022-11-25")), (3, date("2022-11-27"))]
        );
        let sc = plan(Regime::Ninth, PersonCategory::SecondaryContact).unwrap();
        assert_eq!(sc.phases[0].kind, MeasureKind::HomeIsolation);
        assert_eq!(sc.phases[0].test_days, vec![1, 4, 7]);
    }

    #[test]
    fn release_needs_every_test_negative_and_the_period_over() {
        let d = date("2022-11-26");
        let tests = vec![(date("2022-11-20"), Some(TestOutcome::Negative)), (d, None)];
        let err = release_check(&tests, d, d).unwrap_err();
        assert!(err[0].contains("1次检测没有结果"));
        let tests = vec![(d, Some(TestOutcome::Negative))];
        assert!(release_check(&tests, d, date("2022-11-25")).is_err());
        assert!(release_check(&tests, d, d).is_ok());
    }

    #[test]
    fn carers_only_for_those_who_need_one_and_never_elderly_or_ill() {
        let fit = CarerFacts {
            age: 35,
            underlying_disease: false,
        };
        assert!(carer_check(8, CareNeeds::default(), fit).is_ok());
        assert!(
            carer_check(
                30,
                CareNeeds {
                    pregnant: true,
                    ..Default::default()
                },
                fit
            )
            .is_ok()
        );
        let adult = carer_check(30, CareNeeds::default(), fit).unwrap_err();
        assert!(adult[0].contains("一人一间一卫"));
        let old = carer_check(
            8,
            CareNeeds::default(),
            CarerFacts {
                age: 62,
                underlying_disease: true,
            },
        )
        .unwrap_err();
        assert_eq!(old.len(), 2);
        assert!(old[0].contains("60岁"));
    }

    #[test]
    fn room_blocks_and_the_norm() {
        let rooms = RoomBlock {
            building: "A".into(),
            floors: (1, 6),
            rooms: (1, 20),
        }
        .rooms()
        .unwrap();
        assert_eq!(rooms.len(), 120);
        assert_eq!(rooms[0].2, "A-101");
        assert_eq!(rooms[119].2, "A-620");
        assert!(
            RoomBlock {
                building: "A".into(),
                floors: (3, 1),
                rooms: (1, 20)
            }
            .rooms()
            .is_err()
        );
        assert_eq!(required_rooms(10_000), 20);
        assert_eq!(required_rooms(10_001), 21);
        assert_eq!(required_rooms(0), 0);
    }

    #[test]
    fn families_stay_together_near_home() {
        let people = vec![
            AllocPerson {
                key: 1,
                household: "H1".into(),
                region: "130109100013001".into(),
            },
            AllocPerson {
                key: 2,
                household: "H2".into(),
                region: "130109110201001".into(),
            },
            AllocPerson {
                key: 3,
                household: "H1".into(),
                region: "130109100013001".into(),
            },
            AllocPerson {
                key: 4,
                household: "".into(),
                region: "130109100013001".into(),
            },
        ];
        let sites = vec![
            AllocSite {
                site_id: 10,
                region_code: "130109110".into(),
                free_rooms: vec![101, 102],
            },
            AllocSite {
                site_id: 20,
                region_code: "130109100".into(),
                free_rooms: vec![201, 202],
            },
        ];
        let a = allocate(&people, &sites);
        let room = |k| a.assignments.iter().find(|x| x.key == k).map(|x| x.room_id);
        assert_eq!(room(1), Some(201));
        assert_eq!(room(3), Some(202));
        assert_eq!(room(2), Some(101));
        // Township A's site is full: the single person goes to the same county's other site.
        assert_eq!(room(4), Some(102));
        assert!(a.unplaced.is_empty());
        let full = allocate(&people, &sites[..1]);
        assert_eq!(full.assignments.len(), 2);
        assert_eq!(full.unplaced.len(), 2);
    }

    #[test]
    fn ten_thousand_people_are_all_allocated() {
        let people: Vec<AllocPerson> = (0..10_000)
            .map(|i| AllocPerson {
                key: i,
                household: format!("H{}", i / 3),
                region: format!("1301091{:02}001001", i % 20),
            })
            .collect();
        let sites: Vec<AllocSite> = (0..50)
            .map(|s| AllocSite {
                site_id: s,
                region_code: format!("1301091{:02}", s % 20),
                free_rooms: (0..220).map(|r| s * 1000 + r).collect(),
            })
            .collect();
        let a = allocate(&people, &sites);
        assert_eq!(a.assignments.len(), 10_000);
    }

    #[test]
    fn transfers_follow_the_rules() {
        use Rider::*;
        use VehicleKind::*;
        assert!(transfer_check(NegativePressureAmbulance, 1, false, &[Infected]).is_ok());
        assert!(
            transfer_check(Coach, 40, false, &[Infected])
                .unwrap_err()
                .contains("只能由（负压）救护车")
        );
        assert!(
            transfer_check(Ambulance, 2, false, &[Infected, Infected])
                .unwrap_err()
                .contains("一人一车")
        );
        assert!(
            transfer_check(NegativePressureAmbulance, 1, true, &[Infected])
                .unwrap_err()
                .contains("消毒")
        );
        assert!(
            transfer_check(Coach, 2, false, &[RiskPerson; 3])
                .unwrap_err()
                .contains("核载")
        );
        assert!(transfer_check(Coach, 40, false, &[RiskPerson; 30]).is_ok());
    }

    #[test]
    fn temperatures_reuse_the_checkpoint_parsing() {
        assert_eq!(parse_temperature("37.5"), Ok(37.5));
        assert!(parse_temperature("52").is_err());
        assert_eq!(age_on(date("2010-06-15"), date("2022-11-20")), 12);
    }
}
