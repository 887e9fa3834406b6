//! Mass nucleic-acid testing (全员/区域核酸检测): tube barcodes, pool sizes, round deadlines, the site
//! planner, result-delay classes and routine schedules for key groups. Rules are data with their source
//! (domain-rules.md §5, §7.4); the functions only apply them.
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::person::KeyGroup;

pub mod binding;
pub mod results;

/// A sampling-tube barcode: 12 digits, the last a Luhn check digit.
///
/// Manual barcode typos are one of Shenzhen's seven ways a result goes missing (§5.4); a check digit
/// catches every single wrong digit and almost every swap of two neighbours at the table, before the
/// tube is bound to anybody.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TubeBarcode(String);

pub const TUBE_BARCODE_LEN: usize = 12;

/// The largest serial a 12-digit barcode can carry (11 digits before the check digit).
pub const MAX_TUBE_SERIAL: u64 = 99_999_999_999;

/// At most this many tubes are issued by one "下发试管" request: a county's extra tubes for a day
/// fit many times over, and a mistyped or looped request cannot eat the barcode range.
pub const MAX_TUBES_PER_REQUEST: i64 = 100_000;

/// The most tubes one round may hold in all: a single tube for every target person twice over
/// (screening plus rechecks and spoiled tubes stay far below a second full set), plus a million
/// for people swabbed who are not in the register (visitors, floating population) and for rounds
/// opened before the register was loaded. A province of 75 million at single tubes fits; one
/// round can never take more than a small fraction of the 10^11 barcode range.
pub fn round_tube_ceiling(target_population: i64) -> i64 {
    target_population
        .max(0)
        .saturating_mul(2)
        .saturating_add(1_000_000)
}

/// A stored serial (an `i64` column) as a barcode; a negative or too large value is an error.
pub fn barcode_of_stored_serial(serial: i64) -> Result<TubeBarcode, String> {
    u64::try_from(serial)
        .map_err(|_| format!("试管序号{serial}超出12位条码的范围（0到{MAX_TUBE_SERIAL}）"))
        .and_then(TubeBarcode::from_serial)
}

impl TryFrom<String> for TubeBarcode {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        TubeBarcode::parse(&raw)
    }
}

impl From<TubeBarcode> for String {
    fn from(code: TubeBarcode) -> String {
        code.0
    }
}

/// Luhn check digit for a string of digits (the payload, without the check digit).
fn luhn_check_digit(payload: &str) -> u32 {
    let sum: u32 = payload
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

impl TubeBarcode {
    /// Checks a scanned or typed barcode, with the sampler's words for what is wrong.
    pub fn parse(raw: &str) -> Result<TubeBarcode, String> {
        let code = raw.trim();
        if code.is_empty() {
            return Err("没有扫到管码，请重新扫描试管条码".into());
        }
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "“{code}”不是试管条码（试管条码是{TUBE_BARCODE_LEN}位数字）；可能扫成了别的码"
            ));
        }
        if code.len() != TUBE_BARCODE_LEN {
            return Err(format!(
                "试管条码应为{TUBE_BARCODE_LEN}位数字，“{code}”是{}位；请重新扫描",
                code.len()
            ));
        }
        let (payload, check) = code.split_at(TUBE_BARCODE_LEN - 1);
        let expected = luhn_check_digit(payload);
        if check.parse::<u32>().ok() != Some(expected) {
            return Err(format!(
                "试管条码“{code}”校验不通过，可能有数字录错或条码污损；请重新扫描，不要手输"
            ));
        }
        Ok(TubeBarcode(code.to_string()))
    }

    /// The barcode with serial number `serial` (0 ≤ serial ≤ [`MAX_TUBE_SERIAL`]): what a tube
    /// batch is printed with. A serial outside the 12-digit range (a negative or too large stored
    /// value) is an error in words, never a panic.
    pub fn from_serial(serial: u64) -> Result<TubeBarcode, String> {
        if serial > MAX_TUBE_SERIAL {
            return Err(format!(
                "试管序号{serial}超出12位条码的范围（0到{MAX_TUBE_SERIAL}）"
            ));
        }
        let payload = format!("{serial:011}");
        let check = luhn_check_digit(&payload);
        Ok(TubeBarcode(format!("{payload}{check}")))
    }

    /// The serial number printed in the barcode.
    pub fn serial(&self) -> u64 {
        // Every TubeBarcode is built by `parse` or `from_serial` (deserializing goes through
        // `parse` too), so the first 11 characters are digits; 0 only if that ever broke.
        self.0
            .get(..TUBE_BARCODE_LEN - 1)
            .and_then(|digits| digits.parse().ok())
            .unwrap_or(0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TubeBarcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A box is late when nobody has received it this long after packing (a transport leg beyond two
/// hours eats the 24 h turnaround of §5.3).
pub const BOX_LATE_AFTER_SECONDS: i64 = 2 * 3600;

/// A packed box not yet received is late once [`BOX_LATE_AFTER_SECONDS`] have passed since packing.
pub fn box_is_late(packed_at: i64, now: i64) -> bool {
    now - packed_at > BOX_LATE_AFTER_SECONDS
}

/// A transport-box barcode: 4–24 letters, digits or '-' (boxes are labelled by the site or the lab).
pub fn parse_box_barcode(raw: &str) -> Result<String, String> {
    let code = raw.trim().to_ascii_uppercase();
    if code.len() < 4
        || code.len() > 24
        || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(format!(
            "“{}”不是转运箱码（4到24位字母、数字或“-”）；请扫描箱子上的条码",
            raw.trim()
        ));
    }
    Ok(code)
}

/// How many people's swabs go into one tube (混采). 1 = single tube (单管).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PoolSize(u8);

impl PoolSize {
    pub const SINGLE: PoolSize = PoolSize(1);
    pub const ALLOWED: [u8; 4] = [1, 5, 10, 20];

    pub fn new(size: i64) -> Result<PoolSize, String> {
        match u8::try_from(size) {
            Ok(s) if Self::ALLOWED.contains(&s) => Ok(PoolSize(s)),
            _ => Err(format!("混采人数只能是1（单管）、5、10或20，而不是{size}")),
        }
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }

    pub fn label_zh(self) -> String {
        if self.0 == 1 {
            "单管单检".into()
        } else {
            format!("{}混1", self.0)
        }
    }
}

crate::coded_enum! {
    /// The risk tier of an area inside a round, which sets its pool size (§5.2: low 10:1, medium 5:1, high
    /// and key groups 1:1). The risk-area module designates the tiers; a round can also set them by hand.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RiskTier {
        Low => "low", "低风险/防范区",
        Medium => "medium", "中风险/管控区",
        High => "high", "高风险/封控区",
    }
}

impl RiskTier {
    /// The pool size the national practice used for this tier (§5.2, Shenyang Jan 2021 and others).
    pub fn default_pool_size(self) -> PoolSize {
        match self {
            RiskTier::Low => PoolSize(10),
            RiskTier::Medium => PoolSize(5),
            RiskTier::High => PoolSize::SINGLE,
        }
    }
}

crate::coded_enum! {
    /// What kind of round: the whole population of a region, a designated area, or standing routine testing.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RoundKind {
        /// 全员核酸检测 over a city, county or township.
        Whole => "whole", "全员核酸检测",
        /// 区域核酸检测 of designated risk areas (3rd edition guide: within 24 h even in megacities).
        Area => "area", "区域核酸检测",
        /// 常态化检测 of key groups and volunteers: no deadline, no coverage target.
        Routine => "routine", "常态化检测",
    }
}

/// The time a round must finish in, by regime (§5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundDeadlinePolicy {
    pub name: &'static str,
    pub source: &'static str,
    /// Populations up to this many people finish in `small_hours`, larger ones in `large_hours`.
    pub small_population_limit: i64,
    pub small_hours: i64,
    pub large_hours: i64,
    /// A designated area, whatever its size.
    pub area_hours: i64,
}

/// Aug 2021 notice and 2nd edition guide: ≤ 5 M people in 2 days, more in 3; the 3rd edition guide
/// (22 Mar 2022) adds: a delimited area within 24 h, even in cities of 10 M.
pub const DEADLINES_3RD_EDITION: RoundDeadlinePolicy = RoundDeadlinePolicy {
    name: "区域核酸检测组织实施指南（第三版）",
    source: "2021-08 通知；第二版指南（2021-09）；第三版指南（2022-03-22）",
    small_population_limit: 5_000_000,
    small_hours: 48,
    large_hours: 72,
    area_hours: 24,
};

impl RoundDeadlinePolicy {
    /// Hours from opening to the deadline; `None` for routine testing (no deadline).
    pub fn hours_for(&self, kind: RoundKind, target_population: i64) -> Option<i64> {
        match kind {
            RoundKind::Routine => None,
            RoundKind::Area => Some(self.area_hours),
            RoundKind::Whole if target_population <= self.small_population_limit => {
                Some(self.small_hours)
            }
            RoundKind::Whole => Some(self.large_hours),
        }
    }
}

/// Inputs of the site planner (NHC 13 May 2022: 1 site per 2,000–3,000 people, 1 table per 600–800).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannerNorms {
    pub people_per_site: i64,
    pub people_per_table: i64,
    /// Swabs one table takes per hour (a sampler takes about one a minute).
    pub swabs_per_table_hour: i64,
}

pub const NHC_2022_NORMS: PlannerNorms = PlannerNorms {
    people_per_site: 2500,
    people_per_table: 700,
    swabs_per_table_hour: 60,
};

/// What the planner suggests for one area.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SitePlan {
    pub population: i64,
    pub sites: i64,
    pub tables: i64,
    /// Hours to sample everyone with `tables` tables at the norm's speed.
    pub hours: f64,
}

impl PlannerNorms {
    pub fn check(&self) -> Result<(), String> {
        if !(500..=30_000).contains(&self.people_per_site) {
            return Err("每个采样点服务人数应在500到30000之间".into());
        }
        if !(100..=3_000).contains(&self.people_per_table) {
            return Err("每个采样台服务人数应在100到3000之间".into());
        }
        if !(10..=300).contains(&self.swabs_per_table_hour) {
            return Err("每台每小时采样人数应在10到300之间".into());
        }
        Ok(())
    }

    /// Sites and tables for `population` people (at least one of each when anyone lives there), and
    /// the hours the tables take to sample them all.
    pub fn plan(&self, population: i64) -> SitePlan {
        let population = population.max(0);
        if population == 0 {
            return SitePlan {
                population,
                sites: 0,
                tables: 0,
                hours: 0.0,
            };
        }
        let sites = div_ceil(population, self.people_per_site);
        let tables = div_ceil(population, self.people_per_table).max(sites);
        SitePlan {
            population,
            sites,
            tables,
            hours: hours_to_sample(population, tables, self.swabs_per_table_hour),
        }
    }
}

/// Hours `tables` tables take for `population` swabs at `per_table_hour` each.
pub fn hours_to_sample(population: i64, tables: i64, per_table_hour: i64) -> f64 {
    if population <= 0 {
        return 0.0;
    }
    if tables <= 0 || per_table_hour <= 0 {
        return f64::INFINITY;
    }
    population as f64 / (tables * per_table_hour) as f64
}

/// A round will finish late when, at the present rate, the swabs still missing take longer than
/// the time left before its deadline: the round page warns while there is time to add tables.
/// A closed round, or one without a deadline (routine testing), is never late.
pub fn will_finish_late(
    deadline_at: Option<i64>,
    closed_at: Option<i64>,
    hours_to_finish: f64,
    now: i64,
) -> bool {
    deadline_at.is_some_and(|deadline| {
        closed_at.is_none() && now.saturating_add((hours_to_finish * 3600.0) as i64) > deadline
    })
}

fn div_ceil(a: i64, b: i64) -> i64 {
    (a + b - 1) / b
}

// Not a `coded_enum!`: a delay class is computed and shown, never stored or parsed, so it has no code.
/// Result-delay classes of the turnaround rules (§5.3: fever clinics 6 h, outpatients 12 h,
/// screening 24 h): a tube still without a result is counted in the highest class it has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum ResultDelay {
    Over6h,
    Over12h,
    Over24h,
}

impl ResultDelay {
    pub const ALL: [ResultDelay; 3] = [
        ResultDelay::Over6h,
        ResultDelay::Over12h,
        ResultDelay::Over24h,
    ];

    pub fn hours(self) -> i64 {
        match self {
            ResultDelay::Over6h => 6,
            ResultDelay::Over12h => 12,
            ResultDelay::Over24h => 24,
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ResultDelay::Over6h => "超6小时",
            ResultDelay::Over12h => "超12小时",
            ResultDelay::Over24h => "超24小时",
        }
    }

    /// The class of a tube sampled `seconds_waiting` seconds ago with no result.
    pub fn of(seconds_waiting: i64) -> Option<ResultDelay> {
        Self::ALL
            .into_iter()
            .rev()
            .find(|class| seconds_waiting > class.hours() * 3600)
    }
}

crate::coded_enum! {
    /// Why a resident is not expected at a sampling site in a round (应采尽采 exemptions).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ExemptionKind {
        /// 卧床/行动不便: sampled at home instead — the exemption is a door-to-door sampling task.
        Bedridden => "bedridden", "卧床/行动不便（上门采样）",
        /// 外出: away from the area, with proof (a test elsewhere, a ticket, a letter).
        Away => "away", "不在本地（有证明）",
    }
}

/// Age in whole months on `today` of someone born on `birth`.
pub fn age_in_months(birth: NaiveDate, today: NaiveDate) -> i64 {
    let months =
        (today.year() - birth.year()) as i64 * 12 + today.month() as i64 - birth.month() as i64;
    if today.day() < birth.day() {
        months - 1
    } else {
        months
    }
}

/// The birth date after which a child is an infant not counted in a round's target, for
/// `exempt_under_months` (0 = nobody is exempt by age). Policies differed: some places swabbed babies,
/// others left out the under-3s; the round says which.
pub fn infant_cutoff(today: NaiveDate, exempt_under_months: i64) -> Option<NaiveDate> {
    if exempt_under_months <= 0 {
        return None;
    }
    today.checked_sub_months(chrono::Months::new(exempt_under_months as u32))
}

/// How often each key group is tested in routine testing (应检尽检), as a versioned table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutineSchedule {
    pub name: &'static str,
    pub source: &'static str,
    pub intervals: &'static [(KeyGroup, i64)],
}

/// Guiyang 2022 table (§7.4), the fullest published one; isolation-site and port staff daily as in
/// the 9th edition, front-line imported cold chain daily, services every 72 h, elderly care and
/// schools weekly.
pub const ROUTINE_GUIYANG_2022: RoutineSchedule = RoutineSchedule {
    name: "贵阳2022重点人群核酸检测频次",
    source: "domain-rules.md §7.4（贵阳2022；第九版：接触入境人员、物品、环境的人员每日检测）",
    intervals: &[
        (KeyGroup::IsolationSiteStaff, 24),
        (KeyGroup::Port, 24),
        (KeyGroup::ColdChain, 24),
        (KeyGroup::Medical, 72),
        (KeyGroup::Delivery, 72),
        (KeyGroup::PublicTransport, 72),
        (KeyGroup::MarketVendor, 72),
        (KeyGroup::ElderlyCare, 168),
        (KeyGroup::School, 168),
    ],
};

/// Wencheng county 2021 (§7.4): isolation-site and medical staff every 2 days, others weekly.
pub const ROUTINE_WENCHENG_2021: RoutineSchedule = RoutineSchedule {
    name: "文成县2021重点人群核酸检测频次",
    source: "domain-rules.md §7.4（文成县）",
    intervals: &[
        (KeyGroup::IsolationSiteStaff, 48),
        (KeyGroup::Medical, 48),
        (KeyGroup::Port, 48),
        (KeyGroup::ColdChain, 168),
        (KeyGroup::ElderlyCare, 168),
        (KeyGroup::Delivery, 168),
        (KeyGroup::PublicTransport, 168),
        (KeyGroup::MarketVendor, 168),
        (KeyGroup::School, 168),
    ],
};

pub const ROUTINE_SCHEDULES: [RoutineSchedule; 2] = [ROUTINE_GUIYANG_2022, ROUTINE_WENCHENG_2021];

impl RoutineSchedule {
    pub fn interval_hours(&self, group: KeyGroup) -> Option<i64> {
        self.intervals
            .iter()
            .find(|(g, _)| *g == group)
            .map(|(_, hours)| *hours)
    }

    /// Words for an interval: 每天 / 每72小时 / 每周.
    pub fn interval_label_zh(hours: i64) -> String {
        match hours {
            24 => "每天1次".into(),
            48 => "每2天1次".into(),
            168 => "每周1次".into(),
            h => format!("每{h}小时1次"),
        }
    }
}

crate::coded_enum! {
    /// Why a person is swabbed: the round's screening swab, or a single-tube recheck someone owes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SamplePurpose {
        Screen => "screen", "筛查",
        Recheck => "recheck", "单管复采",
    }
}

/// A scan refused at the sampling table, each with the words a recorder acts on (§5.4: the failure
/// points that make a result go missing are caught here, at entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ScanRejection {
    /// The barcode is well formed but was never issued.
    UnknownTube,
    TubeOfOtherRound,
    TubeAtOtherTable,
    TubeFull {
        capacity: i64,
    },
    TubeClosed,
    /// A pooled screening tube used for a recheck, or a recheck tube for screening.
    TubePurposeMismatch {
        tube_purpose: SamplePurpose,
    },
    NothingToClose,
    AlreadySampled {
        tube: String,
        sampled_at: i64,
    },
    /// The person owes a single-tube recheck: screening them again into a pool would hide it.
    RecheckPending,
    NoRecheckTask,
    /// Not in the register and no name given: the result could never be matched to a person.
    NameMissing,
    /// The register holds another name for this ID number: likely a wrong number or someone else's card.
    NameMismatch {
        registered: String,
    },
}

impl ScanRejection {
    pub fn code(&self) -> &'static str {
        match self {
            ScanRejection::UnknownTube => "unknown_tube",
            ScanRejection::TubeOfOtherRound => "tube_of_other_round",
            ScanRejection::TubeAtOtherTable => "tube_at_other_table",
            ScanRejection::TubeFull { .. } => "tube_full",
            ScanRejection::TubeClosed => "tube_closed",
            ScanRejection::TubePurposeMismatch { .. } => "tube_purpose_mismatch",
            ScanRejection::NothingToClose => "nothing_to_close",
            ScanRejection::AlreadySampled { .. } => "already_sampled",
            ScanRejection::RecheckPending => "recheck_pending",
            ScanRejection::NoRecheckTask => "no_recheck_task",
            ScanRejection::NameMissing => "name_missing",
            ScanRejection::NameMismatch { .. } => "name_mismatch",
        }
    }

    /// The message for the recorder; `time` formats a unix time as the page shows it.
    pub fn message_zh(&self, time: impl Fn(i64) -> String) -> String {
        match self {
            ScanRejection::UnknownTube => {
                "这支试管的条码不在本轮下发的条码范围内，不能使用；请换一支本轮下发的试管".into()
            }
            ScanRejection::TubeOfOtherRound => {
                "这支试管属于其他轮次，不能在本轮使用；请换一支本轮下发的试管".into()
            }
            ScanRejection::TubeAtOtherTable => {
                "这支试管已在其他采样台开管使用，不能混用；请换一支新试管".into()
            }
            ScanRejection::TubeFull { capacity } => {
                format!("这支试管已满（{capacity}人），已自动封管；请扫描一支新试管")
            }
            ScanRejection::TubeClosed => "这支试管已封管，不能再加人；请扫描一支新试管".into(),
            ScanRejection::TubePurposeMismatch { tube_purpose } => match tube_purpose {
                SamplePurpose::Screen => {
                    "复采必须单人单管：这支试管已用于混采，请换一支新试管做复采".into()
                }
                SamplePurpose::Recheck => {
                    "这支试管是单管复采管，不能再放筛查样本；请换一支新试管".into()
                }
            },
            ScanRejection::NothingToClose => "这支试管还没有绑定任何人，无需封管".into(),
            ScanRejection::AlreadySampled { tube, sampled_at } => format!(
                "此人本轮已于{}采样（试管{tube}），不要重复采样；如需复采，请选择“单管复采”",
                time(*sampled_at)
            ),
            ScanRejection::RecheckPending => {
                "此人有待完成的单管复采任务（混采阳性或无效），请选择“单管复采”并使用新的单管"
                    .into()
            }
            ScanRejection::NoRecheckTask => "此人没有待复采任务；正常筛查请选择“筛查”".into(),
            ScanRejection::NameMissing => {
                "此人不在实有人口登记中，请填写姓名后再绑定（否则结果无法对应到人）".into()
            }
            ScanRejection::NameMismatch { registered } => format!(
                "证件号码登记的姓名是“{registered}”，与本次填写的不一致；请核对证件，防止代扫他人的码"
            ),
        }
    }
}

/// Why a lab's result row was not applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ResultRejection {
    UnknownTube,
    /// The tube already has another result; a correction needs a person, not a re-upload.
    Conflict {
        existing: String,
        new: String,
    },
    OutsideJurisdiction,
    /// The tube is still open in fangkong: its site may have bindings not yet uploaded (an offline
    /// table), and a result now would leave those people without one.
    TubeOpen,
}

impl ResultRejection {
    pub fn kind(&self) -> &'static str {
        match self {
            ResultRejection::UnknownTube => "unknown_tube",
            ResultRejection::Conflict { .. } => "conflict",
            ResultRejection::OutsideJurisdiction => "outside",
            ResultRejection::TubeOpen => "not_closed",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            ResultRejection::UnknownTube => {
                "系统中没有这个管码（没有任何人绑定到这支试管）；请核对管码是否录错".into()
            }
            ResultRejection::Conflict { existing, new } => {
                let label = |code: &str| {
                    crate::lab_result::TestResult::from_code(code)
                        .map_or_else(|| code.to_string(), |r| r.label_zh().to_string())
                };
                format!(
                    "这支试管已有结果“{}”，本次上传为“{}”，两者不一致，未覆盖；如需更正请联系指挥部",
                    label(existing),
                    label(new)
                )
            }
            ResultRejection::OutsideJurisdiction => {
                "这支试管的采样点不在本检测机构的服务范围内".into()
            }
            ResultRejection::TubeOpen => {
                "这支试管在系统中还没有封管（采样台可能还有未上传的扫码），结果暂未采用；请采样点封管后重新上传这一行".into()
            }
        }
    }
}

/// A resident's personal sampling code (个人采样码), shown as a QR code on their own page and scanned
/// at the table instead of the ID card: `FKS1-<resident id>-<tag>`. The tag is the first 10 hex
/// digits of an HMAC-SHA256 the server computes with its own secret over the id, so a code cannot be
/// made up or altered, and it carries no ID number or name (unlike a card, a screenshot of it tells a
/// stranger nothing). The server computes and checks the tag; this type only reads the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplingCode {
    pub resident_id: i64,
    pub tag: String,
}

pub const SAMPLING_CODE_PREFIX: &str = "FKS1-";
pub const SAMPLING_CODE_TAG_LEN: usize = 10;

impl SamplingCode {
    /// True when a scan is a sampling code rather than an ID number.
    pub fn looks_like(raw: &str) -> bool {
        raw.trim()
            .to_ascii_uppercase()
            .starts_with(SAMPLING_CODE_PREFIX)
    }

    pub fn parse(raw: &str) -> Result<SamplingCode, String> {
        let text = raw.trim().to_ascii_uppercase();
        let bad = || {
            "个人采样码无法识别（可能截图不全或被改动），请让居民刷新采样码或改用身份证".to_string()
        };
        let rest = text.strip_prefix(SAMPLING_CODE_PREFIX).ok_or_else(bad)?;
        let (id, tag) = rest.split_once('-').ok_or_else(bad)?;
        let resident_id = id.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(bad)?;
        if tag.len() != SAMPLING_CODE_TAG_LEN || !tag.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(SamplingCode {
            resident_id,
            tag: tag.to_ascii_lowercase(),
        })
    }

    pub fn format(resident_id: i64, tag: &str) -> String {
        format!(
            "{SAMPLING_CODE_PREFIX}{resident_id}-{}",
            tag.to_ascii_uppercase()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_serial_outside_the_barcode_range_is_an_error_not_a_panic() {
        for serial in [100_000_000_000, 100_000_029_013, u64::MAX] {
            let error = TubeBarcode::from_serial(serial).unwrap_err();
            assert!(error.contains("超出12位条码的范围"), "{error}");
        }
        assert!(barcode_of_stored_serial(-1).is_err());
        assert!(barcode_of_stored_serial(100_000_000_000).is_err());
        assert_eq!(
            barcode_of_stored_serial(42).unwrap(),
            TubeBarcode::from_serial(42).unwrap()
        );
        // Deserializing goes through the check too, so no TubeBarcode holds a non-barcode.
        assert!(serde_json::from_str::<TubeBarcode>("\"abc\"").is_err());
        let good = TubeBarcode::from_serial(42).unwrap();
        let json = serde_json::to_string(&good).unwrap();
        assert_eq!(serde_json::from_str::<TubeBarcode>(&json).unwrap(), good);
    }

    #[test]
    fn issued_barcodes_parse_back_and_a_typo_is_caught() {
        for serial in [0, 1, 42, 13_010_900_001, 99_999_999_999] {
            let code = TubeBarcode::from_serial(serial).unwrap();
            assert_eq!(code.as_str().len(), 12);
            assert_eq!(TubeBarcode::parse(code.as_str()), Ok(code.clone()));
            assert_eq!(code.serial(), serial);
        }
        let good = TubeBarcode::from_serial(13_010_900_001)
            .unwrap()
            .as_str()
            .to_string();
        // Every single changed digit fails the check.
        for i in 0..12 {
            let mut bytes = good.clone().into_bytes();
            bytes[i] = if bytes[i] == b'9' { b'0' } else { bytes[i] + 1 };
            let typo = String::from_utf8(bytes).unwrap();
            assert!(
                TubeBarcode::parse(&typo)
                    .unwrap_err()
                    .contains("校验不通过")
            );
        }
        assert!(TubeBarcode::parse("12345").unwrap_err().contains("12位"));
        assert!(
            TubeBarcode::parse("130109199001011234")
                .unwrap_err()
                .contains("18位")
        );
        assert!(
            TubeBarcode::parse("ABC")
                .unwrap_err()
                .contains("不是试管条码")
        );
        assert!(TubeBarcode::parse(" ").unwrap_err().contains("没有扫到"));
    }

    #[test]
    fn pool_sizes_are_one_five_ten_or_twenty() {
        assert_eq!(PoolSize::new(10).unwrap().label_zh(), "10混1");
        assert_eq!(PoolSize::new(1).unwrap().label_zh(), "单管单检");
        assert!(
            PoolSize::new(3)
                .unwrap_err()
                .contains("1（单管）、5、10或20")
        );
        assert_eq!(RiskTier::High.default_pool_size(), PoolSize::SINGLE);
        assert_eq!(RiskTier::Medium.default_pool_size().get(), 5);
    }

    #[test]
    fn deadlines_follow_population_and_kind() {
        let p = DEADLINES_3RD_EDITION;
        assert_eq!(p.hours_for(RoundKind::Whole, 737_580), Some(48));
        assert_eq!(p.hours_for(RoundKind::Whole, 5_000_000), Some(48));
        assert_eq!(p.hours_for(RoundKind::Whole, 11_000_000), Some(72));
        assert_eq!(p.hours_for(RoundKind::Area, 11_000_000), Some(24));
        assert_eq!(p.hours_for(RoundKind::Routine, 10), None);
    }

    #[test]
    fn the_planner_applies_the_nhc_norms() {
        let plan = NHC_2022_NORMS.plan(5_000);
        assert_eq!(plan.sites, 2);
        assert_eq!(plan.tables, 8);
        assert!((plan.hours - 5_000.0 / 480.0).abs() < 1e-9);
        let tiny = NHC_2022_NORMS.plan(30);
        assert_eq!((tiny.sites, tiny.tables), (1, 1));
        assert_eq!(NHC_2022_NORMS.plan(0).tables, 0);
        assert!(hours_to_sample(10, 0, 60).is_infinite());
        let bad = PlannerNorms {
            people_per_table: 5,
            ..NHC_2022_NORMS
        };
        assert!(bad.check().is_err());
    }

    #[test]
    fn a_round_is_late_when_the_missing_swabs_outlast_the_deadline() {
        let now = 1_000_000;
        // (deadline, closed, hours to finish, late)
        let rows: [(Option<i64>, Option<i64>, f64, bool); 7] = [
            (Some(now + 3 * 3600), None, 2.0, false),
            (Some(now + 3 * 3600), None, 3.0, false),
            (Some(now + 3 * 3600), None, 3.01, true),
            (Some(now - 60), None, 0.0, true),
            (Some(now - 60), Some(now - 120), 5.0, false),
            (None, None, 100.0, false),
            (Some(now + 3600), None, f64::INFINITY, true),
        ];
        for (deadline, closed, hours, late) in rows {
            assert_eq!(
                will_finish_late(deadline, closed, hours, now),
                late,
                "{deadline:?} {closed:?} {hours}"
            );
        }
    }

    #[test]
    fn a_box_is_late_after_two_hours_unreceived() {
        let packed = 1_000_000;
        assert!(!box_is_late(packed, packed));
        assert!(!box_is_late(packed, packed + 2 * 3600));
        assert!(box_is_late(packed, packed + 2 * 3600 + 1));
    }

    #[test]
    fn result_delays_are_classed_by_the_highest_limit_passed() {
        assert_eq!(ResultDelay::of(5 * 3600), None);
        assert_eq!(ResultDelay::of(6 * 3600 + 1), Some(ResultDelay::Over6h));
        assert_eq!(ResultDelay::of(13 * 3600), Some(ResultDelay::Over12h));
        assert_eq!(ResultDelay::of(30 * 3600), Some(ResultDelay::Over24h));
    }

    #[test]
    fn infants_are_counted_by_whole_months() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(age_in_months(d("2021-01-15"), d("2021-04-14")), 2);
        assert_eq!(age_in_months(d("2021-01-15"), d("2021-04-15")), 3);
        assert_eq!(infant_cutoff(d("2022-01-10"), 0), None);
        assert_eq!(infant_cutoff(d("2022-01-10"), 36), Some(d("2019-01-10")));
    }

    #[test]
    fn every_key_group_has_a_routine_interval_in_every_schedule() {
        for schedule in ROUTINE_SCHEDULES {
            for group in KeyGroup::ALL {
                assert!(
                    schedule.interval_hours(group).is_some(),
                    "{} lacks {:?}",
                    schedule.name,
                    group
                );
            }
        }
        assert_eq!(RoutineSchedule::interval_label_zh(168), "每周1次");
    }

    #[test]
    fn sampling_codes_parse_back_and_garbage_is_refused() {
        let text = SamplingCode::format(42, "0a1b2c3d4e");
        assert_eq!(text, "FKS1-42-0A1B2C3D4E");
        assert!(SamplingCode::looks_like(&text.to_lowercase()));
        assert!(!SamplingCode::looks_like("130109199001011234"));
        assert_eq!(
            SamplingCode::parse(&text),
            Ok(SamplingCode {
                resident_id: 42,
                tag: "0a1b2c3d4e".into()
            })
        );
        for bad in [
            "FKS1-42",
            "FKS1-x-0a1b2c3d4e",
            "FKS1-42-0a1b",
            "FKS1-42-zzzzzzzzzz",
            "FKS1-0-0a1b2c3d4e",
        ] {
            assert!(
                SamplingCode::parse(bad).unwrap_err().contains("采样码"),
                "{bad}"
            );
        }
    }

    #[test]
    fn box_barcodes_are_normalised() {
        assert_eq!(parse_box_barcode(" bx-0001 ").unwrap(), "BX-0001");
        assert!(parse_box_barcode("x").unwrap_err().contains("转运箱码"));
    }
}
