//! Checkpoints 卡口: the kinds of post, the three defence lines around Beijing, each kind's rule
//! (which code colours are turned back, how fresh a negative must be, what happens to arrivals from a
//! risk area) as a table with sources, the decision at the post, and the parsing of what a checker
//! types: temperatures and vehicle plates (domain-rules.md §3.1, §3.2, §3.8, §10.4).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::health_code::CodeColour;

crate::coded_enum! {
    /// A kind of checkpoint.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum CheckpointKind {
        /// 环京卡口.
        BeijingRing => "beijing_ring", "环京卡口",
        /// 省界卡口.
        ProvinceBorder => "province_border", "省界卡口",
        /// 高速出口/服务区.
        HighwayExit => "highway_exit", "高速出口/服务区",
        Airport => "airport", "机场",
        RailwayStation => "railway_station", "火车站",
        BusStation => "bus_station", "汽车站",
        /// 口岸/港口.
        Port => "port", "口岸/港口",
        /// 村/社区卡口.
        CommunityGate => "community_gate", "村/社区卡口",
        /// 场所 (scanned with the venue code).
        Venue => "venue", "场所",
    }
}

impl CheckpointKind {
    /// The defence line a post of this kind belongs to unless set otherwise (§10.4): ring posts to
    /// the Beijing ring, border posts and ports to the province's outer border, the rest inside.
    pub fn default_line(self) -> DefenceLine {
        match self {
            CheckpointKind::BeijingRing => DefenceLine::BeijingRing,
            CheckpointKind::ProvinceBorder | CheckpointKind::Port => DefenceLine::ProvinceBorder,
            _ => DefenceLine::InProvince,
        }
    }
}

crate::coded_enum! {
    /// Hebei's three defence lines (三道防线, Feb 2020, §10.4).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum DefenceLine {
        /// 省域周边.
        ProvinceBorder => "province_border", "省域周边",
        /// 省域内.
        InProvince => "in_province", "省域内",
        /// 环京周边.
        BeijingRing => "beijing_ring", "环京周边",
    }
}

crate::coded_enum! {
    /// What the post does with a person.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Decision {
        Pass => "pass", "通行",
        Refuse => "refuse", "劝返",
        TestOnSpot => "test_on_spot", "现场核酸",
        FeverClinic => "fever_clinic", "送发热门诊",
    }
}

/// The rule of one kind of post.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CheckpointRule {
    pub kind: CheckpointKind,
    /// A negative sampled within this many hours is required (inclusive, from sampling, §3.8).
    pub required_negative_hours: Option<u32>,
    pub refuse_colours: &'static [CodeColour],
    /// A code with a pop-up is turned back (report to the community first).
    pub refuse_popup: bool,
    /// Arrivals from a county with a medium/high area get a landing test and a code (赋码).
    pub landing_test_for_arrivals: bool,
    pub fever_threshold_c: f32,
    pub source: &'static str,
    /// What happens without a valid negative: `TestOnSpot` (stations: tested there) or `Refuse`.
    pub without_valid_test: Decision,
    /// Arrivals from a county with a medium/high area are turned back rather than tested.
    pub refuse_from_risk_area: bool,
    /// Extra papers the post checks, in words (环京 commuters' 三证).
    pub papers_zh: Option<&'static str>,
}

/// 37.3 ℃: the fever line of every Chinese temperature check (fever clinics, §7.2).
pub const FEVER_THRESHOLD_C: f32 = 37.3;

const RED_YELLOW: &[CodeColour] = &[CodeColour::Red, CodeColour::Yellow];

/// One rule per kind (§10.4, §3.2, §3.1).
pub const CHECKPOINT_RULES: [CheckpointRule; 9] = [
    CheckpointRule {
        kind: CheckpointKind::BeijingRing,
        required_negative_hours: Some(48),
        refuse_colours: RED_YELLOW,
        refuse_popup: true,
        landing_test_for_arrivals: false,
        fever_threshold_c: FEVER_THRESHOLD_C,
        source: "§10.4 南尖塔检查站 2021-01：“四必+”，进京通勤“三证”（环京居住证明、在京工作证明、核酸阴性）；进京48小时核酸；§3.5 北京健康宝弹窗①：中高风险地区旅居史 [I]",
        without_valid_test: Decision::Refuse,
        refuse_from_risk_area: true,
        papers_zh: Some("进京通勤人员查验“三证”：环京居住证明、在京工作证明、核酸阴性证明"),
    },
    CheckpointRule {
        kind: CheckpointKind::ProvinceBorder,
        required_negative_hours: Some(48),
        refuse_colours: RED_YELLOW,
        refuse_popup: true,
        landing_test_for_arrivals: false,
        fever_threshold_c: FEVER_THRESHOLD_C,
        source: "§10.4 保定 2021-10：逢车必查、逢人必测温、核查身份、两码必验；进出48小时核酸；中高风险地区人员劝返；§3.1 河北：红黄码不得通行",
        without_valid_test: Decision::TestOnSpot,
        refuse_from_risk_area: true,
        papers_zh: None,
    },
    CheckpointRule {
        kind: CheckpointKind::HighwayExit,
        required_negative_hours: Some(48),
        refuse_colours: RED_YELLOW,
        refuse_popup: true,
        landing_test_for_arrivals: true,
        fever_threshold_c: FEVER_THRESHOLD_C,
        source: "§3.2 石家庄高速 2022：省外车辆查验身份证并在出口“双检”；§10.4 保定高速卡口48小时核酸；§3.2 河北2022-09 落地检",
        without_valid_test: Decision::TestOnSpot,
        refuse_from_risk_area: false,
        papers_zh: None,
    },
    CheckpointRule {
        kind: CheckpointKind::Airport,
        required_negative_hours: Some(48),
        refuse_colours: RED_YELLOW,
        refuse_popup: true,
        landing_test_for_arrivals: true,
        fever_threshold_c: FEVER_THRESHOLD_C,
        source: "§10.4 唐山 2022-01：车站机场48小时核酸，红黄码劝返，无证明现场检测；§3.2 河北2022-09：飞机火车长途客车轮船48小时核酸，首站落地核酸+抗原",
        without_valid_test: Decision::TestOnSpot,
        refuse_from_risk_area: false,
        papers_zh: None,
    },
    CheckpointRule {
        kind: CheckpointKind::RailwayStation,
        required_negative_hours: Some(48),
        refuse_colours: RED_YELLOW,
        refuse_popup: true,
        landing_test_for_arrivals: true,
        fever_threshold_c: FEVER_THRESHOLD_C,
        source: "§10.4 唐山 2022-01：车站48小时核酸，红黄码劝返，无证明车站检测；§3.2 铁路到达：48小时证明、扫河北码、行程卡、刷身份证无报警，落地检",
        without_valid_test: Decision::TestOnSpot,
        refuse_from_risk_area: false,
        papers_zh: None,
    },
    CheckpointRule {
        kind: CheckpointKind::BusStation,
        required_negative_hours: Some(48),
        refuse_colours: RED_YELLOW,
        refuse_popup: true,
        landing_test_for_arrivals: true,
        fever_threshold_c: FEVER_THRESHOLD_C,
        source: "§10.4 唐山 2022-01 车站；§3.2 河北2022-09：长途客车48小时核酸，首站落地检",
        without_valid_test: Decision::TestOnSpot,
        refuse_from_risk_area: false,
        papers_zh: None,
    },
    CheckpointRule {
        kind: CheckpointKind::Port,
        required_negative_hours: Some(48),
        refuse_colours: RED_YELLOW,
        refuse_popup: true,
        landing_test_for_arrivals: true,
        fever_threshold_c: FEVER_THRESHOLD_C,
        source: "§3.2 河北2022-09：轮船48小时核酸，首站落地检",
        without_valid_test: Decision::TestOnSpot,
        refuse_from_risk_area: false,
        papers_zh: None,
    },
    CheckpointRule {
        kind: CheckpointKind::CommunityGate,
        required_negative_hours: None,
        refuse_colours: RED_YELLOW,
        refuse_popup: false,
        landing_test_for_arrivals: false,
        fever_threshold_c: FEVER_THRESHOLD_C,
        source: "§3.1 河北 2020-03-29：红码和黄码人员不能通行，绿码人员体温正常的可予以通行；弹窗须向社区报备，社区卡口不拦（本人即向社区报备）[I]",
        without_valid_test: Decision::Refuse,
        refuse_from_risk_area: false,
        papers_zh: None,
    },
    CheckpointRule {
        kind: CheckpointKind::Venue,
        required_negative_hours: Some(72),
        refuse_colours: RED_YELLOW,
        refuse_popup: true,
        landing_test_for_arrivals: false,
        fever_threshold_c: FEVER_THRESHOLD_C,
        source: "§3.2 河北2022-09：公共场所、公共交通72小时核酸；§3.1 红码禁止、黄码限制、绿码通行",
        without_valid_test: Decision::Refuse,
        refuse_from_risk_area: false,
        papers_zh: None,
    },
];

pub fn rule_for(kind: CheckpointKind) -> &'static CheckpointRule {
    CHECKPOINT_RULES
        .iter()
        .find(|r| r.kind == kind)
        .expect("a test checks every kind has a rule")
}

/// What a person shows at the post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Presented {
    pub colour: CodeColour,
    pub popup: bool,
    pub last_negative_sampled_at: Option<DateTime<Utc>>,
    /// `None` = not taken.
    pub temperature_c: Option<f32>,
    /// Arrival from a county with a medium/high area.
    pub arriving_from_risk_area: bool,
}

/// The post's decision with its words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckDecision {
    pub decision: Decision,
    pub reasons: Vec<String>,
    /// 赋码: the arrival from a risk area gets a landing test and the code is set.
    pub assign_code: bool,
}

/// The decision at a post, in the order the checks are made: temperature first (a feverish person
/// goes to the fever clinic, whatever the code), then the code's colour, the pop-up, a risk-area
/// arrival the post turns back, the negative test, and a risk-area arrival the post tests and codes.
/// A temperature not taken is not a fever, and is said in the reasons.
pub fn decide(rule: &CheckpointRule, presented: &Presented, now: DateTime<Utc>) -> CheckDecision {
    let refuse = |words: String| CheckDecision {
        decision: Decision::Refuse,
        reasons: vec![words],
        assign_code: false,
    };
    match presented.temperature_c {
        Some(t) if t >= rule.fever_threshold_c => {
            return CheckDecision {
                decision: Decision::FeverClinic,
                reasons: vec![format!(
                    "体温{t:.1}℃，达到发热标准（≥{:.1}℃），闭环送发热门诊",
                    rule.fever_threshold_c
                )],
                assign_code: false,
            };
        }
        _ => {}
    }
    if rule.refuse_colours.contains(&presented.colour) {
        return refuse(format!(
            "{}不得通行，请配合落实管控措施",
            presented.colour.label_zh()
        ));
    }
    if presented.popup && rule.refuse_popup {
        return refuse("健康码弹窗，请先向社区报备，弹窗解除后再通行".into());
    }
    if presented.arriving_from_risk_area && rule.refuse_from_risk_area {
        return refuse("来自中高风险区所在县（市、区），劝返".into());
    }
    let mut reasons = Vec::new();
    if presented.temperature_c.is_none() {
        reasons.push("未测体温，请补测".to_string());
    }
    if let Some(hours) = rule.required_negative_hours {
        let valid = presented
            .last_negative_sampled_at
            .is_some_and(|s| now - s <= Duration::hours(i64::from(hours)));
        if !valid {
            let words = match presented.last_negative_sampled_at {
                None => format!("无{hours}小时内核酸阴性证明"),
                Some(_) => format!("核酸阴性证明已超过{hours}小时"),
            };
            let decision = rule.without_valid_test;
            reasons.push(match decision {
                Decision::TestOnSpot => format!("{words}，现场采样检测"),
                _ => format!("{words}，劝返"),
            });
            let assign_code = decision == Decision::TestOnSpot
                && presented.arriving_from_risk_area
                && rule.landing_test_for_arrivals;
            if assign_code {
                reasons.push("来自中高风险区所在县（市、区），落地检并赋码".into());
            }
            return CheckDecision {
                decision,
                reasons,
                assign_code,
            };
        }
    }
    if presented.arriving_from_risk_area && rule.landing_test_for_arrivals {
        reasons.push("来自中高风险区所在县（市、区），落地检并赋码".into());
        return CheckDecision {
            decision: Decision::TestOnSpot,
            reasons,
            assign_code: true,
        };
    }
    reasons.insert(0, format!("{}，查验通过", presented.colour.label_zh()));
    CheckDecision {
        decision: Decision::Pass,
        reasons,
        assign_code: false,
    }
}

/// A temperature that cannot be taken as typed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TemperatureError {
    #[error("没有填写体温")]
    Empty,
    #[error("“{0}”不是体温读数，请填写如 36.5")]
    NotANumber(String),
    #[error("体温 {0:.1}℃ 不可能，请重新测量")]
    Impossible(f32),
}

/// The range a living person's reading can fall in; outside it the thermometer or the typing is
/// wrong (a forehead gun in the cold reads 33; 52 is a typo).
pub const TEMPERATURE_RANGE_C: (f32, f32) = (34.0, 43.0);

/// Reads "36.5", "36.5℃", "36,5", "３６．５", "36.5度".
pub fn parse_temperature(text: &str) -> Result<f32, TemperatureError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(TemperatureError::Empty);
    }
    let mut normalised: String = trimmed
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '．' | ',' | '，' => '.',
            c => c,
        })
        .collect();
    for suffix in ["℃", "°C", "°c", "度", "C", "c", "°"] {
        if let Some(rest) = normalised.strip_suffix(suffix) {
            normalised = rest.trim_end().to_string();
        }
    }
    let value: f32 = normalised
        .parse()
        .ok()
        .filter(|v: &f32| v.is_finite())
        .ok_or_else(|| TemperatureError::NotANumber(trimmed.to_string()))?;
    let (low, high) = TEMPERATURE_RANGE_C;
    if !(low..=high).contains(&value) {
        return Err(TemperatureError::Impossible(value));
    }
    Ok(value)
}

/// A plate that is not a Chinese vehicle plate.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PlateError {
    #[error("没有填写车牌号")]
    Empty,
    #[error("车牌“{0}”的第一个字应为省份简称（如“冀”）")]
    Province(String),
    #[error("车牌“{0}”的第二位应为字母（发牌机关代号，如“冀A”）")]
    Authority(String),
    #[error("车牌“{plate}”长度不对：省份简称和字母之后应有5位（新能源车6位），现有{found}位")]
    Length { plate: String, found: usize },
    #[error("车牌“{0}”中有不能出现的字符，只能是字母和数字")]
    Character(String),
    #[error("车牌“{0}”中有字母I或O，车牌不使用这两个字母，可能是数字1或0")]
    IOrO(String),
    #[error("车牌“{0}”是8位，新能源车牌的第三位或最后一位应为D或F")]
    NewEnergy(String),
}

/// The 31 province-level abbreviations used on plates (mainland).
pub const PLATE_PROVINCES: &str = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新";

/// Reads a Chinese vehicle plate: province abbreviation + authority letter + 5 letters/digits (6 for
/// new-energy plates, with D/F first or last). Spaces, middle dots and lowercase are normalised:
/// " 冀a·12345 " → "冀A12345".
pub fn parse_plate(text: &str) -> Result<String, PlateError> {
    let plate: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '·' | '•' | '.' | '-' | '．' | '・'))
        .map(|c| match c {
            'ａ'..='ｚ' | 'Ａ'..='Ｚ' | '０'..='９' => {
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            }
            c => c,
        })
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if plate.is_empty() {
        return Err(PlateError::Empty);
    }
    let mut chars = plate.chars();
    let province = chars.next().expect("not empty");
    if !PLATE_PROVINCES.contains(province) {
        return Err(PlateError::Province(plate));
    }
    if !chars.next().is_some_and(|c| c.is_ascii_uppercase()) {
        return Err(PlateError::Authority(plate));
    }
    let serial: Vec<char> = chars.collect();
    if serial.iter().any(|c| !c.is_ascii_alphanumeric()) {
        return Err(PlateError::Character(plate));
    }
    if serial.len() != 5 && serial.len() != 6 {
        return Err(PlateError::Length {
            found: serial.len(),
            plate,
        });
    }
    if serial.iter().any(|c| matches!(c, 'I' | 'O')) {
        return Err(PlateError::IOrO(plate));
    }
    if serial.len() == 6 {
        let energy = |c: &char| matches!(c, 'D' | 'F');
        if !energy(&serial[0]) && !serial.last().is_some_and(energy) {
            return Err(PlateError::NewEnergy(plate));
        }
    }
    Ok(plate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2022, 11, 20, 2, 0, 0).unwrap()
    }

    fn green() -> Presented {
        Presented {
            colour: CodeColour::Green,
            popup: false,
            last_negative_sampled_at: Some(now() - Duration::hours(20)),
            temperature_c: Some(36.5),
            arriving_from_risk_area: false,
        }
    }

    #[test]
    fn codes_and_every_kind_has_a_rule() {
        for kind in CheckpointKind::ALL {
            assert_eq!(CheckpointKind::from_code(kind.code()), Some(kind));
            let rule = rule_for(kind);
            assert_eq!(rule.kind, kind);
            assert!(!rule.source.is_empty());
            assert!(rule.refuse_colours.contains(&CodeColour::Red));
            assert!(!rule.refuse_colours.contains(&CodeColour::Green));
            assert!(matches!(
                rule.without_valid_test,
                Decision::Refuse | Decision::TestOnSpot
            ));
            assert_eq!(rule.fever_threshold_c, 37.3);
        }
        for line in DefenceLine::ALL {
            assert_eq!(DefenceLine::from_code(line.code()), Some(line));
        }
        for d in Decision::ALL {
            assert_eq!(Decision::from_code(d.code()), Some(d));
        }
        assert_eq!(Decision::Refuse.label_zh(), "劝返");
        assert_eq!(
            CheckpointKind::BeijingRing.default_line(),
            DefenceLine::BeijingRing
        );
        assert_eq!(
            CheckpointKind::RailwayStation.default_line(),
            DefenceLine::InProvince
        );
        assert_eq!(
            rule_for(CheckpointKind::Venue).required_negative_hours,
            Some(72)
        );
        assert_eq!(
            rule_for(CheckpointKind::BeijingRing).required_negative_hours,
            Some(48)
        );
        assert!(
            rule_for(CheckpointKind::BeijingRing)
                .papers_zh
                .unwrap()
                .contains("三证")
        );
    }

    #[test]
    fn green_with_a_fresh_test_passes() {
        for kind in CheckpointKind::ALL {
            let d = decide(rule_for(kind), &green(), now());
            assert_eq!(d.decision, Decision::Pass, "{kind:?}");
            assert!(!d.assign_code);
            assert!(d.reasons[0].contains("绿码"));
        }
    }

    #[test]
    fn fever_comes_first() {
        let p = Presented {
            colour: CodeColour::Red,
            temperature_c: Some(37.3),
            ..green()
        };
        let d = decide(rule_for(CheckpointKind::RailwayStation), &p, now());
        assert_eq!(d.decision, Decision::FeverClinic);
        assert!(d.reasons[0].contains("37.3℃"));
        let p = Presented {
            temperature_c: Some(37.2),
            ..green()
        };
        assert_eq!(
            decide(rule_for(CheckpointKind::Venue), &p, now()).decision,
            Decision::Pass
        );
        // Not taken: no fever decision, but said.
        let p = Presented {
            temperature_c: None,
            ..green()
        };
        let d = decide(rule_for(CheckpointKind::Venue), &p, now());
        assert_eq!(d.decision, Decision::Pass);
        assert!(d.reasons.iter().any(|r| r.contains("未测体温")));
    }

    #[test]
    fn red_and_yellow_are_turned_back() {
        for colour in [CodeColour::Red, CodeColour::Yellow] {
            let p = Presented { colour, ..green() };
            for kind in CheckpointKind::ALL {
                let d = decide(rule_for(kind), &p, now());
                assert_eq!(d.decision, Decision::Refuse);
                assert!(d.reasons[0].contains(colour.label_zh()));
            }
        }
    }

    #[test]
    fn a_popup_is_turned_back_except_at_the_community_gate() {
        let p = Presented {
            popup: true,
            ..green()
        };
        let d = decide(rule_for(CheckpointKind::Venue), &p, now());
        assert_eq!(d.decision, Decision::Refuse);
        assert!(d.reasons[0].contains("请先向社区报备"));
        assert_eq!(
            decide(rule_for(CheckpointKind::CommunityGate), &p, now()).decision,
            Decision::Pass
        );
    }

    #[test]
    fn a_missing_or_old_test_is_tested_at_stations_and_refused_at_the_ring() {
        let none = Presented {
            last_negative_sampled_at: None,
            ..green()
        };
        let old = Presented {
            last_negative_sampled_at: Some(now() - Duration::hours(48) - Duration::seconds(1)),
            ..green()
        };
        let edge = Presented {
            last_negative_sampled_at: Some(now() - Duration::hours(48)),
            ..green()
        };
        let station = rule_for(CheckpointKind::RailwayStation);
        let ring = rule_for(CheckpointKind::BeijingRing);
        let d = decide(station, &none, now());
        assert_eq!(d.decision, Decision::TestOnSpot);
        assert!(
            d.reasons
                .iter()
                .any(|r| r.contains("无48小时内核酸阴性证明"))
        );
        assert!(!d.assign_code);
        assert_eq!(decide(station, &old, now()).decision, Decision::TestOnSpot);
        assert_eq!(decide(station, &edge, now()).decision, Decision::Pass);
        let d = decide(ring, &old, now());
        assert_eq!(d.decision, Decision::Refuse);
        assert!(
            d.reasons
                .iter()
                .any(|r| r.contains("已超过48小时") && r.contains("劝返"))
        );
        // Venues ask 72 h; community gates none.
        let three_days = Presented {
            last_negative_sampled_at: Some(now() - Duration::hours(60)),
            ..green()
        };
        assert_eq!(
            decide(rule_for(CheckpointKind::Venue), &three_days, now()).decision,
            Decision::Pass
        );
        assert_eq!(
            decide(rule_for(CheckpointKind::Venue), &none, now()).decision,
            Decision::Refuse
        );
        assert_eq!(
            decide(rule_for(CheckpointKind::CommunityGate), &none, now()).decision,
            Decision::Pass
        );
    }

    #[test]
    fn risk_area_arrivals_are_tested_and_coded_or_turned_back() {
        let p = Presented {
            arriving_from_risk_area: true,
            ..green()
        };
        let d = decide(rule_for(CheckpointKind::RailwayStation), &p, now());
        assert_eq!(d.decision, Decision::TestOnSpot);
        assert!(d.assign_code);
        assert!(d.reasons.iter().any(|r| r.contains("赋码")));
        // Without a test too: tested once, coded.
        let p2 = Presented {
            last_negative_sampled_at: None,
            ..p.clone()
        };
        let d = decide(rule_for(CheckpointKind::Airport), &p2, now());
        assert_eq!((d.decision, d.assign_code), (Decision::TestOnSpot, true));
        // Border posts (Baoding) and the ring turn them back.
        for kind in [CheckpointKind::ProvinceBorder, CheckpointKind::BeijingRing] {
            let d = decide(rule_for(kind), &p, now());
            assert_eq!(d.decision, Decision::Refuse);
            assert!(d.reasons[0].contains("中高风险"));
        }
        // Venues neither test nor code.
        assert_eq!(
            decide(rule_for(CheckpointKind::Venue), &p, now()).decision,
            Decision::Pass
        );
    }

    #[test]
    fn temperatures_parse_and_impossible_ones_are_refused() {
        assert_eq!(parse_temperature("36.5"), Ok(36.5));
        assert_eq!(parse_temperature(" 36.5℃ "), Ok(36.5));
        assert_eq!(parse_temperature("36,5"), Ok(36.5));
        assert_eq!(parse_temperature("３６．８"), Ok(36.8));
        assert_eq!(parse_temperature("37.3 °C"), Ok(37.3));
        assert_eq!(parse_temperature("36度"), Ok(36.0));
        assert_eq!(parse_temperature("34"), Ok(34.0));
        assert_eq!(parse_temperature("43.0"), Ok(43.0));
        assert_eq!(parse_temperature(""), Err(TemperatureError::Empty));
        assert_eq!(
            parse_temperature("52").unwrap_err().to_string(),
            "体温 52.0℃ 不可能，请重新测量"
        );
        assert!(matches!(
            parse_temperature("33.9"),
            Err(TemperatureError::Impossible(_))
        ));
        assert!(matches!(
            parse_temperature("NaN"),
            Err(TemperatureError::NotANumber(_))
        ));
        assert!(matches!(
            parse_temperature("inf"),
            Err(TemperatureError::NotANumber(_))
        ));
        assert!(
            parse_temperature("abc")
                .unwrap_err()
                .to_string()
                .contains("不是体温读数")
        );
    }

    #[test]
    fn plates_are_normalised_and_checked() {
        assert_eq!(parse_plate("冀A12345").unwrap(), "冀A12345");
        assert_eq!(parse_plate(" 冀a·123b5 ").unwrap(), "冀A123B5");
        assert_eq!(parse_plate("京 N 6K8 88").unwrap(), "京N6K888");
        assert_eq!(parse_plate("冀AD12345").unwrap(), "冀AD12345");
        assert_eq!(parse_plate("冀A12345F").unwrap(), "冀A12345F");
        assert_eq!(parse_plate("冀Ａ１２３４５").unwrap(), "冀A12345");
        assert_eq!(parse_plate("  "), Err(PlateError::Empty));
        assert!(matches!(
            parse_plate("A12345"),
            Err(PlateError::Province(_))
        ));
        assert!(matches!(
            parse_plate("港A12345"),
            Err(PlateError::Province(_))
        ));
        assert!(matches!(
            parse_plate("冀112345"),
            Err(PlateError::Authority(_))
        ));
        assert!(matches!(
            parse_plate("冀A1234"),
            Err(PlateError::Length { found: 4, .. })
        ));
        assert!(matches!(
            parse_plate("冀A1234567"),
            Err(PlateError::Length { found: 7, .. })
        ));
        assert!(matches!(parse_plate("冀A12O45"), Err(PlateError::IOrO(_))));
        assert!(matches!(
            parse_plate("冀A12学45"),
            Err(PlateError::Character(_))
        ));
        assert!(matches!(
            parse_plate("冀A123456"),
            Err(PlateError::NewEnergy(_))
        ));
        assert_eq!(
            parse_plate("冀A1234").unwrap_err().to_string(),
            "车牌“冀A1234”长度不对：省份简称和字母之后应有5位（新能源车6位），现有4位"
        );
    }
}
