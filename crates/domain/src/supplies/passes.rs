//! Supply whitelist and passes (保供白名单与通行证, domain-rules.md §9): enterprises, vehicles, people, and the 2022 national vehicle pass (one vehicle, one pass, one route).
//!
//! The national 《重点物资运输车辆通行证》 (14 Apr 2022): "一车一证一线路"; the number is 12 digits,
//! the issuing county's 6-digit division code and a 6-digit serial from 000000; goods, origin and
//! destination down to county level; the people on board with a 48 h negative; issued by the
//! county; paper (A4, green C50 Y50 K0) and electronic equal. At the post: normal temperature,
//! "两码一证" valid (each person's health code and test, and the pass), vehicle and route matching
//! the pass → through. The rules here are pure: the number, the route, the pass's own judgement at
//! a checkpoint, and the vehicle decision over the people on board.

use crate::health_code::CodeColour;
use crate::region::{RegionCode, RegionLevel};

crate::coded_enum! {
    /// The kinds of enterprise on the supply whitelist (保供白名单).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum EnterpriseKind {
        WholesaleMarket => "wholesale_market", "批发市场",
        DistributionCentre => "distribution_centre", "配送中心",
        EcommerceWarehouse => "ecommerce_warehouse", "电商仓库",
        CentralKitchen => "central_kitchen", "中央厨房",
        Producer => "producer", "生产企业",
    }
}

crate::coded_enum! {
    /// A whitelisted vehicle's kind: for an articulated lorry only the tractor's plate is filled in.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SupplyVehicleKind {
        Truck => "truck", "货车",
        Articulated => "articulated", "半挂牵引车",
        Refrigerated => "refrigerated", "冷藏车",
        Van => "van", "厢式车",
    }
}

crate::coded_enum! {
    /// A whitelisted person's part: a driver goes with vehicles, staff go to work.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SupplyRole {
        Driver => "driver", "司机",
        Staff => "staff", "员工",
    }
}

crate::coded_enum! {
    /// The goods a vehicle pass is for (重点物资).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum GoodsCategory {
        Living => "living", "生活物资",
        Medical => "medical", "防疫和医疗物资",
        Agricultural => "agricultural", "农业生产资料",
        Energy => "energy", "能源物资",
        Industrial => "industrial", "重点生产物资",
        Postal => "postal", "邮政快递",
    }
}

crate::coded_enum! {
    /// A vehicle pass (车辆通行证) or a staff pass (人员通行证).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum PassKind {
        Vehicle => "vehicle", "车辆通行证",
        Staff => "staff", "人员通行证",
    }
}

crate::coded_enum! {
    /// A pass as stored: valid until revoked (expiry is read from its dates).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum PassStatus {
        Valid => "valid", "有效",
        Revoked => "revoked", "已撤销",
    }
}

/// The people on board need a negative sampled within this many hours (at issue and at the post).
pub const NEGATIVE_WITHIN_HOURS: i64 = 48;
/// The longest validity a county may give (days); the province may set less.
pub const MAX_VALID_DAYS: i64 = 30;
/// The most counties a route may name (origin, those in between, destination).
pub const MAX_ROUTE_COUNTIES: usize = 16;
/// The most people bound to one vehicle (about 2 in the 2021 Shijiazhuang rule).
pub const MAX_ON_BOARD: usize = 4;
/// The last serial a county can give.
pub const MAX_SERIAL: i64 = 999_999;
/// A temperature at or above this is a fever (as at every post).
pub const FEVER_C: f64 = 37.3;

/// The 12-digit pass number: the county's division code and the serial, zero-padded.
pub fn pass_number(county: &RegionCode, serial: i64) -> Result<String, String> {
    if county.level() != RegionLevel::County {
        return Err(format!(
            "“{}”不是县级区划：通行证由县级指挥部签发",
            county.as_str()
        ));
    }
    if !(0..=MAX_SERIAL).contains(&serial) {
        return Err(format!("流水号 {serial} 超出 000000—999999"));
    }
    Ok(format!("{}{serial:06}", county.as_str()))
}

/// The county code and serial of a 12-digit pass number (spaces and dashes as typed are ignored).
pub fn split_pass_number(text: &str) -> Option<(String, i64)> {
    let digits: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let county = RegionCode::parse(&digits[..6]).ok()?;
    if county.level() != RegionLevel::County {
        return None;
    }
    Some((digits[..6].to_string(), digits[6..].parse().ok()?))
}

/// The route of a pass: origin, the counties in between, destination — each a county code; a
/// county named twice in a row once.
pub fn route_of(origin: &str, via: &[&str], destination: &str) -> Result<Vec<String>, String> {
    let mut route: Vec<String> = Vec::new();
    for (what, code) in std::iter::once(("起点", origin))
        .chain(via.iter().map(|v| ("途经", *v)))
        .chain(std::iter::once(("终点", destination)))
    {
        let code = code.trim();
        let region = RegionCode::parse(code).map_err(|e| format!("{what}：{e}"))?;
        if region.level() != RegionLevel::County {
            return Err(format!(
                "{what}“{code}”不是县级区划：起止地和途经地须精确到县（区）"
            ));
        }
        if route.last().map(String::as_str) != Some(code) {
            route.push(code.to_string());
        }
    }
    if route.len() > MAX_ROUTE_COUNTIES {
        return Err(format!("线路最多{MAX_ROUTE_COUNTIES}个县（区）"));
    }
    Ok(route)
}

/// The validity of a new pass: from ≤ until, at most [`MAX_VALID_DAYS`], not ended already.
pub fn check_validity(valid_from: i64, valid_until: i64, now: i64) -> Result<(), String> {
    if valid_until <= valid_from {
        return Err("有效期截止须晚于起始".into());
    }
    if valid_until - valid_from > MAX_VALID_DAYS * 86_400 {
        return Err(format!("有效期最长{MAX_VALID_DAYS}天"));
    }
    if valid_until <= now {
        return Err("有效期已过，不能签发".into());
    }
    Ok(())
}

/// What the post compares of a pass (from its QR offline, or from the register online).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassFacts {
    pub number: String,
    pub kind: PassKind,
    pub plate: String,
    pub route: Vec<String>,
    pub valid_from: i64,
    pub valid_until: i64,
    pub revoked: bool,
}

/// Why the pass itself does not let this vehicle through here (empty: the pass holds). The
/// checkpoint's county must be on the route; the plate shown must be the pass's.
pub fn judge_pass(
    pass: &PassFacts,
    plate: Option<&str>,
    checkpoint_county: &str,
    now: i64,
    time_label: impl Fn(i64) -> String,
    place_name: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut problems = Vec::new();
    if pass.kind != PassKind::Vehicle {
        problems.push("这是人员通行证，不能用于车辆通行：请出示车辆通行证".into());
    }
    if pass.revoked {
        problems.push(format!("通行证 {} 已被签发县撤销，不能放行", pass.number));
    }
    if now < pass.valid_from {
        problems.push(format!(
            "通行证尚未生效（自 {} 起有效）",
            time_label(pass.valid_from)
        ));
    }
    if now > pass.valid_until {
        problems.push(format!(
            "通行证已过期（有效期至 {}），请到县指挥部重新申领",
            time_label(pass.valid_until)
        ));
    }
    match plate {
        Some(plate) if plate != pass.plate => problems.push(format!(
            "车证不符：车牌 {plate} 与通行证上的 {} 不一致（一车一证）",
            pass.plate
        )),
        None if pass.kind == PassKind::Vehicle => {
            problems.push("请输入车牌号（半挂车填牵引车车牌）以核对车证是否一致".into())
        }
        _ => {}
    }
    if !pass.route.iter().any(|c| c == checkpoint_county) {
        let route: Vec<String> = pass.route.iter().map(|c| place_name(c)).collect();
        problems.push(format!(
            "线路不符：本卡口所在的{}不在通行证线路（{}）上（一车一证一线路）",
            place_name(checkpoint_county),
            route.join("→")
        ));
    }
    problems
}

/// One person on board as the post sees them: who (masked), code colour now, last negative.
#[derive(Debug, Clone, PartialEq)]
pub struct OnBoard {
    pub who: String,
    pub colour: CodeColour,
    pub last_negative_at: Option<i64>,
}

/// The vehicle's decision ("两码一证"): through only when the pass holds, every person on board
/// has a green code and a negative within 48 h, and nobody has a fever. Returns (through?, reasons).
pub fn decide_vehicle(
    pass_problems: Vec<String>,
    people: &[OnBoard],
    max_temperature: Option<f64>,
    now: i64,
) -> (bool, Vec<String>) {
    let mut reasons = pass_problems;
    if people.is_empty() {
        reasons.push("通行证上没有随车人员，不能放行".into());
    }
    for p in people {
        if p.colour != CodeColour::Green {
            reasons.push(format!(
                "随车人员 {} 为{}，不能放行",
                p.who,
                p.colour.label_zh()
            ));
        }
        match p.last_negative_at {
            Some(at) if now - at <= NEGATIVE_WITHIN_HOURS * 3600 => {}
            Some(_) => reasons.push(format!(
                "随车人员 {} 的核酸阴性已超过{NEGATIVE_WITHIN_HOURS}小时",
                p.who
            )),
            None => reasons.push(format!(
                "随车人员 {} 没有{NEGATIVE_WITHIN_HOURS}小时内核酸阴性",
                p.who
            )),
        }
    }
    match max_temperature {
        Some(t) if t >= FEVER_C => {
            reasons.push(format!("车上人员体温 {t:.1}℃ 异常，送发热门诊，车辆不放行"))
        }
        Some(_) => {}
        None => reasons.push("请测量车上人员体温（逢人必测温）".into()),
    }
    let through = reasons.is_empty();
    if through {
        reasons.push(format!(
            "两码一证有效，车证一致，线路相符，随车{}人体温正常，放行",
            people.len()
        ));
    }
    (through, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn county(code: &str) -> RegionCode {
        RegionCode::parse(code).unwrap()
    }

    #[test]
    fn the_number_is_the_county_code_and_a_six_digit_serial_from_zero() {
        assert_eq!(pass_number(&county("130109"), 0).unwrap(), "130109000000");
        assert_eq!(
            pass_number(&county("130109"), 4217).unwrap(),
            "130109004217"
        );
        assert!(pass_number(&county("130109"), 1_000_000).is_err());
        assert!(pass_number(&county("130109110"), 1).is_err(), "a township");
        assert_eq!(
            split_pass_number("130109 004217"),
            Some(("130109".into(), 4217))
        );
        assert_eq!(split_pass_number("13010900421"), None);
        assert_eq!(split_pass_number("13010900421X"), None);
    }

    #[test]
    fn a_route_is_counties_only() {
        assert_eq!(
            route_of("130109", &["131002"], "110115").unwrap(),
            ["130109", "131002", "110115"]
        );
        assert_eq!(route_of("130109", &[], "130109").unwrap(), ["130109"]);
        assert!(
            route_of("130109110", &[], "110115")
                .unwrap_err()
                .contains("县")
        );
        assert!(route_of("13", &[], "110115").is_err());
    }

    fn pass() -> PassFacts {
        PassFacts {
            number: "130109000001".into(),
            kind: PassKind::Vehicle,
            plate: "冀A12345".into(),
            route: vec!["130109".into(), "110115".into()],
            valid_from: 1_000,
            valid_until: 100_000,
            revoked: false,
        }
    }

    #[test]
    fn the_pass_is_judged_for_plate_route_dates_and_revocation() {
        let label = |t: i64| t.to_string();
        let name = |c: &str| c.to_string();
        assert!(judge_pass(&pass(), Some("冀A12345"), "130109", 5_000, label, name).is_empty());
        let wrong_route = judge_pass(&pass(), Some("冀A12345"), "130132", 5_000, label, name);
        assert!(wrong_route[0].contains("线路不符"), "{wrong_route:?}");
        let wrong_plate = judge_pass(&pass(), Some("冀A99999"), "130109", 5_000, label, name);
        assert!(wrong_plate[0].contains("车证不符"));
        let late = judge_pass(&pass(), Some("冀A12345"), "130109", 200_000, label, name);
        assert!(late[0].contains("已过期"));
        let revoked = PassFacts {
            revoked: true,
            ..pass()
        };
        assert!(
            judge_pass(&revoked, Some("冀A12345"), "130109", 5_000, label, name)[0]
                .contains("撤销")
        );
    }

    #[test]
    fn two_codes_one_certificate_decide_the_vehicle() {
        let now = 1_000_000;
        let green = OnBoard {
            who: "张*".into(),
            colour: CodeColour::Green,
            last_negative_at: Some(now - 40 * 3600),
        };
        let (through, reasons) =
            decide_vehicle(vec![], std::slice::from_ref(&green), Some(36.5), now);
        assert!(through, "{reasons:?}");
        let stale = OnBoard {
            last_negative_at: Some(now - 49 * 3600),
            ..green.clone()
        };
        let (through, reasons) = decide_vehicle(vec![], &[green.clone(), stale], Some(36.5), now);
        assert!(!through);
        assert!(reasons[0].contains("超过48小时"));
        let yellow = OnBoard {
            colour: CodeColour::Yellow,
            ..green.clone()
        };
        assert!(!decide_vehicle(vec![], &[yellow], Some(36.5), now).0);
        let (through, reasons) =
            decide_vehicle(vec![], std::slice::from_ref(&green), Some(37.6), now);
        assert!(!through && reasons[0].contains("发热门诊"));
        let (through, _) = decide_vehicle(vec!["线路不符".into()], &[green], Some(36.5), now);
        assert!(!through);
    }
}
