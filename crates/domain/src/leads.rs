//! Leads and 落地查人 (finding risk people on the ground within 24 hours): the channels a lead
//! arrives by, its states, the measures a grid worker records, the risk categories, the
//! big-data-push file format and the pure checks of a lead's person. Rules: domain-rules.md §6
//! (regional assistance, big-data push, 24 h landing) and §1.4 (发现途径, 观察方式).

use crate::ids::{IdDocument, IdType};
use crate::phone::PhoneNumber;

/// Hours from receipt within which a lead must be found and reported back (24 h 落地查人).
pub const LANDING_HOURS: i64 = 24;

/// The deadline of a lead received at `received_at` (unix seconds).
pub fn deadline_of(received_at: i64) -> i64 {
    received_at + LANDING_HOURS * 3600
}

crate::coded_enum! {
    /// How a lead reached us (线索来源/发现途径).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Channel {
        /// 群众自报: a resident reported themself.
        SelfReport => "self_report", "群众自报",
        /// 基层排查: a grid worker found the person (敲门、排查).
        GridScreening => "grid_screening", "基层排查",
        /// 区域协查（来函）: an assistance letter from another province, city or district.
        AssistIn => "assist_in", "区域协查（来函）",
        /// 区域协查（发函）: a letter we send to another region (the person is not ours to find).
        AssistOut => "assist_out", "区域协查（发函）",
        /// 大数据推送: a pushed list (abnormal codes, companions, risk-area outflow).
        BigDataPush => "big_data_push", "大数据推送",
        /// 主动甄别: active screening (fever clinics, pharmacies, key groups, positives).
        ActiveScreening => "active_screening", "主动甄别",
        /// 流调判定: investigation classified the person as a contact.
        Investigation => "investigation", "流调判定",
    }
}

crate::coded_enum! {
    /// Where a lead stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum LeadStatus {
        /// 待落地: in a grid's queue, the person not yet found.
        Pending => "pending", "待落地",
        /// 待分派: routed to a region above the grids (no grid known); someone must route it on.
        Unrouted => "unrouted", "待分派",
        /// 已落地管控: found and put under a measure (closed).
        Controlled => "controlled", "已落地管控",
        /// 已发协查函: handed to another region by an outgoing assistance letter (closed here).
        LetterOut => "letter_out", "已发协查函",
    }
}

impl LeadStatus {
    /// The states still waiting for someone (the 24-hour clock runs).
    pub const OPEN: [LeadStatus; 2] = [LeadStatus::Pending, LeadStatus::Unrouted];

    pub fn is_open(self) -> bool {
        LeadStatus::OPEN.contains(&self)
    }
}

crate::coded_enum! {
    /// The measure a grid worker puts a found person under (观察方式; the isolation module's
    /// `MeasureKind` codes).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ControlMeasure {
        Centralised => "centralised", "集中隔离",
        HomeIsolation => "home_isolation", "居家隔离",
        HomeMonitoring => "home_monitoring", "居家健康监测",
        Hospital => "hospital", "医院隔离/救治",
    }
}

impl ControlMeasure {
    /// The control a person is under while their isolation measure is in `status`: in a site,
    /// at home or in hospital; `None` while they still wait (for a room, a vehicle) or are released.
    pub fn of_measure(status: crate::isolation::MeasureStatus) -> Option<ControlMeasure> {
        use crate::isolation::MeasureStatus as S;
        match status {
            S::InSite => Some(ControlMeasure::Centralised),
            S::AtHome => Some(ControlMeasure::HomeIsolation),
            S::Hospitalised => Some(ControlMeasure::Hospital),
            S::AwaitingPlacement | S::Allocated | S::AwaitingHospital | S::Released => None,
        }
    }

    /// The code or the Chinese label; an unknown one is refused naming the choices.
    pub fn parse(raw: &str) -> Result<ControlMeasure, String> {
        let raw = raw.trim();
        ControlMeasure::ALL
            .into_iter()
            .find(|m| m.code() == raw || m.label_zh() == raw)
            .ok_or_else(|| {
                let known: Vec<String> = ControlMeasure::ALL
                    .iter()
                    .map(|m| format!("{}（{}）", m.label_zh(), m.code()))
                    .collect();
                if raw.is_empty() {
                    format!("请选择管控措施：{}", known.join("、"))
                } else {
                    format!("管控措施“{raw}”无法识别，可选：{}", known.join("、"))
                }
            })
    }
}

crate::coded_enum! {
    /// Why the person is a risk person (风险类别; the isolation module's `PersonCategory` codes).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RiskCategory {
        CloseContact => "close_contact", "密切接触者",
        SecondaryContact => "secondary_contact", "密接的密接",
        LeftHighRiskArea => "left_high_risk_area", "高风险区外溢人员",
        LeftMediumRiskArea => "left_medium_risk_area", "中风险区外溢人员",
        Inbound => "inbound", "入境人员",
        Companion => "companion", "时空伴随者",
        Other => "other", "其他风险人员",
    }
}

/// Whether a new lead is a big-data push the health code acts on (Hebei pop-up cause 1, §3.2):
/// pushed by big data, about a person with a document number (codes are kept per document).
pub fn push_reaches_health_code(channel: Channel, id_number: &str) -> bool {
    channel == Channel::BigDataPush && !id_number.trim().is_empty()
}

impl RiskCategory {
    /// The code, the label or the short words a pushed file uses; empty means "other".
    pub fn parse(raw: &str) -> Result<RiskCategory, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(RiskCategory::Other);
        }
        if let Some(c) = RiskCategory::ALL
            .into_iter()
            .find(|c| c.code() == raw || c.label_zh() == raw)
        {
            return Ok(c);
        }
        let found = match raw {
            "密接" => RiskCategory::CloseContact,
            "次密接" | "密接的密接" => RiskCategory::SecondaryContact,
            "高风险区" | "高风险区来返" | "高风险地区来返" | "高风险区外溢" => {
                RiskCategory::LeftHighRiskArea
            }
            "中风险区" | "中风险区来返" | "中风险地区来返" | "中风险区外溢" => {
                RiskCategory::LeftMediumRiskArea
            }
            "入境" | "境外来返" => RiskCategory::Inbound,
            "时空伴随" | "时空伴随人员" => RiskCategory::Companion,
            "其他" => RiskCategory::Other,
            _ => {
                let known: Vec<&str> = RiskCategory::ALL.iter().map(|c| c.label_zh()).collect();
                return Err(format!(
                    "风险类别“{raw}”无法识别，可选：{}",
                    known.join("、")
                ));
            }
        };
        Ok(found)
    }
}

crate::coded_enum! {
    /// Who sent an incoming assistance letter, relative to us (Nansha's 外省/本省外市/本市外区协查).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SenderScope {
        OtherProvince => "other_province", "外省协查",
        OtherCity => "other_city", "本省外市协查",
        OtherDistrict => "other_district", "本市外区协查",
    }
}

impl SenderScope {
    /// The scope of a letter from region `sender` to region `ours` (statistical codes: the first 2
    /// digits are the province, 4 the city), when the sender's code is known.
    pub fn between(sender: &str, ours: &str) -> SenderScope {
        let same = |n: usize| sender.len() >= n && ours.len() >= n && sender[..n] == ours[..n];
        if !same(2) {
            SenderScope::OtherProvince
        } else if !same(4) {
            SenderScope::OtherCity
        } else {
            SenderScope::OtherDistrict
        }
    }
}

crate::coded_enum! {
    /// What the grid worker found (落地结果).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum OutcomeKind {
        /// 已找到并落实管控措施.
        Controlled => "controlled", "已找到并落实管控",
        /// 不在此地址: forward to the right region.
        NotHere => "not_here", "不在此地址，转派",
        /// 已离开本省: an outgoing assistance letter to the region it went to.
        LeftProvince => "left_province", "已离开本省，发协查函",
    }
}

impl OutcomeKind {
    pub fn parse(raw: &str) -> Result<OutcomeKind, String> {
        let raw = raw.trim();
        OutcomeKind::ALL
            .into_iter()
            .find(|k| k.code() == raw || k.label_zh() == raw)
            .ok_or_else(|| {
                let known: Vec<&str> = OutcomeKind::ALL.iter().map(|k| k.label_zh()).collect();
                format!("落地结果“{raw}”无法识别，可选：{}", known.join("、"))
            })
    }
}

/// The columns of a big-data push file (大数据推送), in order; the first row is this header.
/// The risk-area analytics will produce it. 证件类型 empty means a mainland ID; 区划编码 is optional
/// (used when the person is not in the register).
pub const PUSH_COLUMNS: [&str; 10] = [
    "姓名",
    "证件类型",
    "证件号码",
    "联系电话",
    "现住址",
    "推送原因",
    "风险类别",
    "推送时间",
    "来源",
    "区划编码",
];

/// A problem of one field, with the column it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadProblem {
    pub column: &'static str,
    pub message: String,
}

/// A lead's person as checked: at least one way to find them.
#[derive(Clone, PartialEq, Eq)]
pub struct LeadPerson {
    pub name: String,
    pub document: Option<IdDocument>,
    pub phone: Option<PhoneNumber>,
    pub address: String,
}

impl std::fmt::Debug for LeadPerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeadPerson")
            .field("document", &self.document)
            .field("phone", &self.phone)
            .finish_non_exhaustive()
    }
}

/// Checks a lead's person: a given ID must parse for its type, a given phone must be a phone, and
/// at least one of ID, phone and address must be there (otherwise nobody can find the person).
pub fn check_person(
    name: &str,
    id_type: &str,
    id_number: &str,
    phone: &str,
    address: &str,
) -> Result<LeadPerson, Vec<LeadProblem>> {
    let mut problems = Vec::new();
    let name: String = name.trim().chars().take(60).collect();
    let address: String = address.trim().chars().take(200).collect();
    let document = if id_number.trim().is_empty() {
        None
    } else {
        match IdType::parse(id_type) {
            Err(message) => {
                problems.push(LeadProblem {
                    column: "证件类型",
                    message,
                });
                None
            }
            Ok(t) => match IdDocument::parse(t, id_number) {
                Ok(d) => Some(d),
                Err(message) => {
                    problems.push(LeadProblem {
                        column: "证件号码",
                        message,
                    });
                    None
                }
            },
        }
    };
    let phone = if phone.trim().is_empty() {
        None
    } else {
        match PhoneNumber::parse(phone) {
            Ok(p) => Some(p),
            Err(message) => {
                problems.push(LeadProblem {
                    column: "联系电话",
                    message,
                });
                None
            }
        }
    };
    if problems.is_empty() && document.is_none() && phone.is_none() && address.is_empty() {
        problems.push(LeadProblem {
            column: "证件号码",
            message: "无法查找此人：证件号码、联系电话、现住址至少填写一项".into(),
        });
    }
    if problems.is_empty() {
        Ok(LeadPerson {
            name,
            document,
            phone,
            address,
        })
    } else {
        Err(problems)
    }
}

/// What may happen to a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadInput {
    /// Found on the ground and put under a measure (落地管控).
    Controlled,
    /// Not at this address: forwarded inside the reach to where the route lands (`Pending` in a
    /// grid's queue, `Unrouted` above the grids).
    Forwarded { route: LeadStatus },
    /// Handed to another region by an outgoing assistance letter.
    LetterOut,
    /// Routed (again) by a sender, to where the route lands.
    Assigned { route: LeadStatus },
}

/// The status a lead moves to (compare-and-set: only an open lead changes) and when it closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeadTransition {
    pub from: LeadStatus,
    pub to: LeadStatus,
    pub closed_at: Option<i64>,
}

/// Why a lead may not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadRefusal {
    /// Controlled or handed on: the outcome is recorded once.
    Closed(LeadStatus),
}

impl LeadRefusal {
    pub fn message_zh(&self) -> String {
        match self {
            LeadRefusal::Closed(status) => format!(
                "该线索已办结（{}），不能再次登记落地结果",
                status.label_zh()
            ),
        }
    }
}

/// Only an open lead changes (checked before the outcome's form is read).
pub fn require_open(status: LeadStatus) -> Result<(), LeadRefusal> {
    if status.is_open() {
        Ok(())
    } else {
        Err(LeadRefusal::Closed(status))
    }
}

/// Where `input` moves a lead in `status`, at `now`: only an open lead moves; a lead that is
/// controlled or handed on by letter closes, a forwarded or assigned one stays open.
pub fn transition(
    status: LeadStatus,
    input: LeadInput,
    now: i64,
) -> Result<LeadTransition, LeadRefusal> {
    require_open(status)?;
    let (to, closed_at) = match input {
        LeadInput::Controlled => (LeadStatus::Controlled, Some(now)),
        LeadInput::LetterOut => (LeadStatus::LetterOut, Some(now)),
        LeadInput::Forwarded { route } | LeadInput::Assigned { route } => (route, None),
    };
    Ok(LeadTransition {
        from: status,
        to,
        closed_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_is_under_control_in_a_site_at_home_or_in_hospital_only() {
        use crate::isolation::MeasureStatus as S;
        let controls: Vec<_> = S::ALL
            .into_iter()
            .map(|s| (s, ControlMeasure::of_measure(s)))
            .collect();
        assert_eq!(
            controls,
            vec![
                (S::AwaitingPlacement, None),
                (S::Allocated, None),
                (S::InSite, Some(ControlMeasure::Centralised)),
                (S::AtHome, Some(ControlMeasure::HomeIsolation)),
                (S::AwaitingHospital, None),
                (S::Hospitalised, Some(ControlMeasure::Hospital)),
                (S::Released, None),
            ]
        );
    }

    #[test]
    fn codes_round_trip_and_unknown_measures_name_the_choices() {
        for c in Channel::ALL {
            assert_eq!(Channel::from_code(c.code()), Some(c));
        }
        for s in LeadStatus::ALL {
            assert_eq!(LeadStatus::from_code(s.code()), Some(s));
        }
        for m in ControlMeasure::ALL {
            assert_eq!(ControlMeasure::parse(m.code()), Ok(m));
            assert_eq!(ControlMeasure::parse(m.label_zh()), Ok(m));
        }
        let err = ControlMeasure::parse("quarantine").unwrap_err();
        assert!(err.contains("无法识别") && err.contains("集中隔离"));
        assert_eq!(
            RiskCategory::parse("次密接"),
            Ok(RiskCategory::SecondaryContact)
        );
        assert_eq!(RiskCategory::parse(""), Ok(RiskCategory::Other));
        assert!(RiskCategory::parse("朋友").is_err());
    }

    #[test]
    fn a_person_needs_a_way_to_be_found_and_a_valid_id() {
        let none = check_person("张三", "", "", "", "").unwrap_err();
        assert!(none[0].message.contains("至少填写一项"));
        let bad = check_person("张三", "", "13010919900101123", "", "").unwrap_err();
        assert_eq!(bad[0].column, "证件号码");
        let phone_only = check_person("", "", "", "139 0000 0001", "").unwrap();
        assert_eq!(phone_only.phone.unwrap().as_str(), "13900000001");
        let debug = format!(
            "{:?}",
            check_person("张三", "", "", "13900000001", "x").unwrap()
        );
        assert!(!debug.contains("13900000001") && !debug.contains("张三"));
    }

    #[test]
    fn times_and_scopes() {
        let parse_beijing_time =
            |raw: &str| crate::time::parse_beijing_cell(raw).map(|t| t.timestamp());
        let t = parse_beijing_time("2022-11-20 10:00").unwrap();
        assert_eq!(t, 1_668_909_600);
        assert_eq!(parse_beijing_time("2022/11/20 10:00:00").unwrap(), t);
        assert_eq!(parse_beijing_time("44885.41666666666").unwrap(), t);
        assert!(parse_beijing_time("昨天").is_err());
        assert_eq!(deadline_of(t) - t, 86_400);
        assert_eq!(
            SenderScope::between("110105", "130109"),
            SenderScope::OtherProvince
        );
        assert_eq!(
            SenderScope::between("130302", "130109"),
            SenderScope::OtherCity
        );
        assert_eq!(
            SenderScope::between("130102", "130109"),
            SenderScope::OtherDistrict
        );
    }

    #[test]
    fn only_open_leads_move_and_controlled_or_letters_close_them() {
        use LeadStatus::{Controlled, LetterOut, Pending, Unrouted};
        let now = 1_000;
        let moved = |from, to, closed_at| {
            Ok(LeadTransition {
                from,
                to,
                closed_at,
            })
        };
        let rows: Vec<(LeadStatus, LeadInput, Result<LeadTransition, LeadRefusal>)> = vec![
            (
                Pending,
                LeadInput::Controlled,
                moved(Pending, Controlled, Some(now)),
            ),
            (
                Unrouted,
                LeadInput::Controlled,
                moved(Unrouted, Controlled, Some(now)),
            ),
            (
                Pending,
                LeadInput::LetterOut,
                moved(Pending, LetterOut, Some(now)),
            ),
            (
                Pending,
                LeadInput::Forwarded { route: Unrouted },
                moved(Pending, Unrouted, None),
            ),
            (
                Pending,
                LeadInput::Forwarded { route: Pending },
                moved(Pending, Pending, None),
            ),
            (
                Unrouted,
                LeadInput::Assigned { route: Pending },
                moved(Unrouted, Pending, None),
            ),
            (
                Controlled,
                LeadInput::Controlled,
                Err(LeadRefusal::Closed(Controlled)),
            ),
            (
                Controlled,
                LeadInput::Assigned { route: Pending },
                Err(LeadRefusal::Closed(Controlled)),
            ),
            (
                LetterOut,
                LeadInput::Forwarded { route: Pending },
                Err(LeadRefusal::Closed(LetterOut)),
            ),
            (
                LetterOut,
                LeadInput::LetterOut,
                Err(LeadRefusal::Closed(LetterOut)),
            ),
        ];
        for (status, input, expected) in rows {
            assert_eq!(
                transition(status, input, now),
                expected,
                "{status:?} {input:?}"
            );
        }
        assert_eq!(
            LeadRefusal::Closed(Controlled).message_zh(),
            "该线索已办结（已落地管控），不能再次登记落地结果"
        );
    }
}
