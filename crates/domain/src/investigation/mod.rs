//! Epidemiological investigation (流调溯源): cases, exposures, contact classification by rule,
//! reporting deadlines, transmission chains. Rules: domain-rules.md §1 (contacts), §2 (regimes), §6
//! (2 h report, 24 h investigation).
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use serde::{Deserialize, Serialize};

pub mod cases;

crate::coded_enum! {
    /// The prevention-and-control regime in force (防控方案版本, domain-rules.md §0): every period,
    /// test-day list and look-back window belongs to one.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Regime {
        /// 第八版 (May 2021 → 27 Jun 2022): 14+7 for close contacts, 次密接 7 days centralised.
        Eighth => "eighth", "防控方案第八版",
        /// 第九版 (28 Jun → 10 Nov 2022): 7+3, 次密接 7 days at home.
        Ninth => "ninth", "防控方案第九版",
        /// 二十条 (from 11 Nov 2022): 5+3, no secondary contacts.
        Twenty => "twenty", "二十条优化措施",
    }
}

/// What a regime says about tracing (domain-rules.md §1.1, §1.2, §0, §6), as data:
/// `data/investigation/tracing_rules.json`, one row per regime, optionally overridden for a
/// jurisdiction (a region-code prefix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracingRules {
    pub regime: Regime,
    /// A region-code prefix the row applies to ('' = everywhere).
    #[serde(default)]
    pub jurisdiction: String,
    /// Days before onset (or the first positive sampling of an asymptomatic case) the look-back
    /// window opens. 9th edition and 2022 practice: 4 days; the 8th-edition wording: 2 days
    /// (DISAGREE in §1.1: kept per regime).
    pub look_back_days: i64,
    /// Whether contacts of close contacts (次密接) are identified at all (abolished by the 20条).
    pub identifies_secondary: bool,
    /// Online report within this many hours of discovery (§6: 2 h 网络直报).
    pub report_hours: i64,
    /// Case investigation finished within this many hours (§6: 24 h).
    pub investigation_hours: i64,
    pub source: String,
}

#[derive(Deserialize)]
struct TracingRuleTable {
    rules: Vec<TracingRules>,
}

/// Every row of the tracing-rule table (parsed once; the file is compiled in and checked by a test).
pub fn tracing_rule_table() -> &'static [TracingRules] {
    static TABLE: std::sync::OnceLock<Vec<TracingRules>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        serde_json::from_str::<TracingRuleTable>(include_str!(
            "../../data/investigation/tracing_rules.json"
        ))
        .map(|t| t.rules)
        .unwrap_or_default()
    })
}

impl Regime {
    /// The national rules of the regime.
    pub fn tracing_rules(self) -> TracingRules {
        self.tracing_rules_in("")
    }

    /// The rules of the regime inside `region` (a region code): the row with the longest matching
    /// jurisdiction prefix.
    pub fn tracing_rules_in(self, region: &str) -> TracingRules {
        tracing_rule_table()
            .iter()
            .filter(|r| r.regime == self && region.starts_with(r.jurisdiction.as_str()))
            .max_by_key(|r| r.jurisdiction.len())
            .cloned()
            .unwrap_or(TracingRules {
                regime: self,
                jurisdiction: String::new(),
                look_back_days: 4,
                identifies_secondary: self != Regime::Twenty,
                report_hours: 2,
                investigation_hours: 24,
                source: "（规则表缺失该方案，按第九版默认值）".to_string(),
            })
    }
}

crate::coded_enum! {
    from_code = code_or_label;
    /// The kind of a case (病例类型).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum CaseKind {
        /// 确诊病例
        Confirmed => "confirmed", "确诊病例",
        /// 无症状感染者
        Asymptomatic => "asymptomatic", "无症状感染者",
        /// 疑似病例
        Suspected => "suspected", "疑似病例",
        /// 初筛阳性 (a single tube positive, not yet confirmed)
        InitialScreenPositive => "initial_screen_positive", "初筛阳性",
    }
}

impl CaseKind {
    /// Whether the case's window is anchored at symptom onset (else at the first positive sampling).
    pub fn has_onset(self) -> bool {
        matches!(self, CaseKind::Confirmed | CaseKind::Suspected)
    }

    /// Whether the person is infected (transfer by ambulance only, a designated hospital bed).
    pub fn is_infected(self) -> bool {
        !matches!(self, CaseKind::Suspected)
    }
}

crate::coded_enum! {
    from_code = code_or_label;
    /// How a case was found (发现途径).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum FoundBy {
        /// 全员/区域核酸检测
        MassTesting => "mass_testing", "全员核酸检测",
        /// 发热门诊
        FeverClinic => "fever_clinic", "发热门诊",
        /// 重点人群常规检测
        KeyGroupRoutine => "key_group_routine", "重点人群常规检测",
        /// 隔离点检测
        IsolationSiteTest => "isolation_site_test", "隔离点检测",
        /// 密接/次密接筛查
        ContactScreening => "contact_screening", "密接筛查",
        /// 主动就诊或自报
        SelfReport => "self_report", "主动就诊/自报",
        /// 零售药店四类药品监测
        Pharmacy => "pharmacy", "药店监测",
        /// 抗原自测
        AntigenSelfTest => "antigen_self_test", "抗原自测",
        /// 外地协查
        AssistanceLetter => "assistance_letter", "外地协查",
        Other => "other", "其他",
    }
}

crate::coded_enum! {
    from_code = code_or_label;
    /// Clinical severity (临床分型).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Severity {
        /// 无症状
        None => "none", "无症状",
        /// 轻型
        Mild => "mild", "轻型",
        /// 普通型
        Moderate => "moderate", "普通型",
        /// 重型
        Severe => "severe", "重型",
        /// 危重型
        Critical => "critical", "危重型",
    }
}

/// The two deadlines of a case (§6): the online report and the finished investigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CaseDeadlines {
    pub report_due: i64,
    pub investigation_due: i64,
}

/// The deadlines of a case found at `found_at` (unix seconds).
pub fn case_deadlines(rules: &TracingRules, found_at: i64) -> CaseDeadlines {
    CaseDeadlines {
        report_due: found_at + rules.report_hours * 3600,
        investigation_due: found_at + rules.investigation_hours * 3600,
    }
}

crate::coded_enum! {
    /// Where a deadline stands at `now`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum DeadlineState {
        /// Done before the deadline.
        OnTime => "on_time", "按时完成",
        /// Done, but after the deadline.
        Late => "late", "超时完成",
        /// Not done, deadline still ahead.
        Open => "open", "进行中",
        /// Not done, deadline passed.
        Overdue => "overdue", "已超时",
    }
}

impl DeadlineState {
    pub fn of(due: i64, done_at: Option<i64>, now: i64) -> DeadlineState {
        match done_at {
            Some(done) if done <= due => DeadlineState::OnTime,
            Some(_) => DeadlineState::Late,
            None if now <= due => DeadlineState::Open,
            None => DeadlineState::Overdue,
        }
    }
}

/// The look-back window of a case (§1.1): from `look_back_days` before onset (or before the first
/// positive sampling) until the case was isolated (`None`: not yet isolated, still open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CaseWindow {
    pub opens_at: i64,
    pub closes_at: Option<i64>,
}

/// The window of a case whose anchor (onset, or first positive sampling) is `anchor` (unix seconds).
/// The window opens at Beijing midnight of the anchor day minus the look-back days: "症状出现前4天"
/// counts calendar days.
pub fn case_window(rules: &TracingRules, anchor: i64, isolated_at: Option<i64>) -> CaseWindow {
    const DAY: i64 = 86_400;
    const BEIJING: i64 = 8 * 3600;
    let anchor_midnight = (anchor + BEIJING).div_euclid(DAY) * DAY - BEIJING;
    CaseWindow {
        opens_at: anchor_midnight - rules.look_back_days * DAY,
        closes_at: isolated_at,
    }
}

crate::coded_enum! {
    /// The category a person is put in (风险人员类别).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ContactCategory {
        /// 密切接触者
        Close => "close", "密切接触者",
        /// 密接的密接
        Secondary => "secondary", "密接的密接",
        /// 一般接触者
        General => "general", "一般接触者",
    }
}

crate::coded_enum! {
    // Serde as written: an `Exposure`'s JSON says `shared_meal_or_entertainment` and
    // `same_vehicle_within_one_metre` where the codes say `shared_meal` and `same_vehicle_1m`.
    serde = as_written;
    from_code = code_or_label;
    /// How a person was exposed (暴露方式). The first nine are the 9 items of the 判定原则 (§1.1);
    /// vehicles follow the 交通工具密切接触者判定指引; a public place is a general contact (§1.3).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum ExposureKind {
        /// 1. 同住家庭成员
        SharedHome => "shared_home", "同住家庭成员",
        /// 2. 直接照顾者或提供诊疗、护理服务者
        Carer => "carer", "直接照顾或诊疗护理",
        /// 3. 同一空间内实施可能产生气溶胶诊疗操作的医务人员
        AerosolProcedure => "aerosol_procedure", "同空间气溶胶诊疗操作",
        /// 4. 同一办公室、车间、班组、电梯、食堂、教室等密闭空间
        SameEnclosedSpace => "same_enclosed_space", "同办公室/车间/班组/电梯/食堂/教室",
        /// 5. 密闭空间内共同用餐、娱乐及提供服务的人员
        SharedMealOrEntertainment => "shared_meal", "密闭空间共同用餐/娱乐/服务",
        /// 6. 探视的医护人员、家属或其他有近距离接触的人员
        Visitor => "visitor", "探视或近距离接触",
        /// 7. 乘坐同一交通工具并有近距离接触（1米内）的人员，包括陪护及同行人员
        SameVehicleWithinOneMetre => "same_vehicle_1m", "同乘交通工具1米内",
        /// 8. 暴露于可能被污染的环境或物品
        ContaminatedEnvironment => "contaminated_environment", "暴露于被污染的环境或物品",
        /// 9. 现场调查人员评估认为符合其他与密切接触者判定标准的人员
        InvestigatorAssessed => "investigator_assessed", "调查人员评估判定",
        /// 飞机
        Aircraft => "aircraft", "同乘飞机",
        /// 火车
        Train => "train", "同乘火车",
        /// 公交/长途客车
        Bus => "bus", "同乘客车/公交",
        /// 轮船
        Ship => "ship", "同乘轮船",
        /// 商场、市场、车站等公共场所（一般接触）
        PublicPlace => "public_place", "公共场所（商场、市场、车站等）",
    }
}

impl ExposureKind {
    /// The item of the 判定原则 (1–9), for the reason shown.
    fn principle_item(self) -> Option<u8> {
        match self {
            ExposureKind::SharedHome => Some(1),
            ExposureKind::Carer => Some(2),
            ExposureKind::AerosolProcedure => Some(3),
            ExposureKind::SameEnclosedSpace => Some(4),
            ExposureKind::SharedMealOrEntertainment => Some(5),
            ExposureKind::Visitor => Some(6),
            ExposureKind::SameVehicleWithinOneMetre => Some(7),
            ExposureKind::ContaminatedEnvironment => Some(8),
            ExposureKind::InvestigatorAssessed => Some(9),
            _ => None,
        }
    }

    pub fn is_vehicle(self) -> bool {
        matches!(
            self,
            ExposureKind::Aircraft | ExposureKind::Train | ExposureKind::Bus | ExposureKind::Ship
        )
    }

    /// Exposures through which a close contact passes the risk on to a secondary contact (§1.2:
    /// lived together, worked in the same enclosed space, ate or played together).
    pub fn counts_for_secondary(self) -> bool {
        matches!(
            self,
            ExposureKind::SharedHome
                | ExposureKind::SameEnclosedSpace
                | ExposureKind::SharedMealOrEntertainment
                | ExposureKind::Carer
                | ExposureKind::InvestigatorAssessed
        )
    }
}

/// Where the contact sat relative to the case on a vehicle (the vehicle rules of §1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VehiclePosition {
    /// Seat row of the case and of the contact (aircraft, ventilated bus).
    pub case_row: Option<i64>,
    pub contact_row: Option<i64>,
    /// Cabin crew serving the case's zone / driver and conductor / attendants of the carriage.
    pub crew_serving: bool,
    /// Sealed, air-conditioned train carriage or bus.
    pub sealed: bool,
    /// Same carriage (train), same cabin (ship).
    pub same_carriage: bool,
    /// Same soft-sleeper compartment (train).
    pub same_compartment: bool,
    /// Bays away from the case's bay in a hard-seat/hard-sleeper carriage (0 = the same bay).
    pub bay_offset: Option<i64>,
}

/// One exposure as the epidemiologist records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exposure {
    pub kind: ExposureKind,
    pub first_at: i64,
    pub last_at: i64,
    /// Had effective protection (有效防护): not a close contact.
    pub protected: bool,
    pub vehicle: VehiclePosition,
}

/// The answer of a classification, with the reason a person reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub category: ContactCategory,
    pub reason: String,
}

/// Why an exposure cannot be recorded at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExposureError {
    /// Last exposure before the first.
    Reversed,
    /// Exposure after the case was isolated: nobody can be exposed to an isolated case here.
    AfterIsolation { isolated_at: i64 },
    /// Exposure in the future.
    InFuture,
    /// A vehicle rule needs seat rows and none were given.
    MissingRows(ExposureKind),
    /// The regime identifies no secondary contacts.
    NoSecondaryInRegime(Regime),
    /// The exposure to a close contact happened outside the close contact's own window.
    SecondaryOutsideWindow,
}

impl ExposureError {
    pub fn message_zh(&self, format_time: impl Fn(i64) -> String) -> String {
        match self {
            ExposureError::Reversed => "末次接触时间早于首次接触时间，请核对".to_string(),
            ExposureError::AfterIsolation { isolated_at } => format!(
                "接触时间晚于病例被隔离的时间（{}），隔离后不会再有接触，请核对时间",
                format_time(*isolated_at)
            ),
            ExposureError::InFuture => "接触时间在将来，请核对".to_string(),
            ExposureError::MissingRows(kind) => format!(
                "{}的判定需要病例和接触者的座位排号（前后3排为密接）",
                kind.label_zh()
            ),
            ExposureError::NoSecondaryInRegime(regime) => {
                format!("{}不再判定密接的密接", regime.label_zh())
            }
            ExposureError::SecondaryOutsideWindow => {
                "次密接的接触须在该密接首次接触病例之后、被隔离之前".to_string()
            }
        }
    }
}

fn check_times(exposure: &Exposure, now: i64) -> Result<(), ExposureError> {
    if exposure.last_at < exposure.first_at {
        return Err(ExposureError::Reversed);
    }
    // Ten minutes of slack for clocks of the devices typing the time.
    if exposure.last_at > now + 600 {
        return Err(ExposureError::InFuture);
    }
    Ok(())
}

/// Classifies a person exposed to a case, by rule (§1.1). `window` is the case's look-back window.
pub fn classify_contact(
    rules: &TracingRules,
    window: &CaseWindow,
    exposure: &Exposure,
    now: i64,
) -> Result<Classification, ExposureError> {
    check_times(exposure, now)?;
    // Nobody meets an isolated case: an exposure that runs past the isolation is a typing mistake.
    if let Some(isolated_at) = window.closes_at
        && exposure.last_at > isolated_at + 600
    {
        return Err(ExposureError::AfterIsolation { isolated_at });
    }
    let general = |reason: String| {
        Ok(Classification {
            category: ContactCategory::General,
            reason,
        })
    };
    if exposure.last_at < window.opens_at {
        return general(format!(
            "末次接触在病例发病（或首次阳性采样）前{}天之前，不在追踪时间窗内（{}）",
            rules.look_back_days,
            rules.regime.label_zh()
        ));
    }
    if exposure.protected {
        return general("接触时采取了有效防护".to_string());
    }
    let close = |reason: String| {
        Ok(Classification {
            category: ContactCategory::Close,
            reason,
        })
    };
    if let Some(item) = exposure.kind.principle_item() {
        return close(format!(
            "{}（密切接触者判定原则第{}条），末次接触在追踪时间窗内，未采取有效防护",
            exposure.kind.label_zh(),
            item
        ));
    }
    let v = exposure.vehicle;
    let rows_apart = || match (v.case_row, v.contact_row) {
        (Some(a), Some(b)) => Some((a - b).abs()),
        _ => None,
    };
    match exposure.kind {
        ExposureKind::Aircraft => {
            if v.crew_serving {
                return close("为病例所在区域提供服务的机组人员（交通工具判定指引：飞机）".into());
            }
            match rows_apart() {
                None => Err(ExposureError::MissingRows(exposure.kind)),
                Some(d) if d <= 3 => close(format!(
                    "同机病例座位前后3排内（相距{d}排）（交通工具判定指引：飞机）"
                )),
                Some(d) => general(format!(
                    "同机但距病例{d}排，超出前后3排（交通工具判定指引：飞机）"
                )),
            }
        }
        ExposureKind::Train => {
            if v.crew_serving && (v.same_carriage || v.same_compartment) {
                return close("为病例所在车厢服务的乘务人员（交通工具判定指引：火车）".into());
            }
            if v.sealed && v.same_carriage {
                return close("全封闭空调列车同一车厢（交通工具判定指引：火车）".into());
            }
            if v.same_compartment {
                return close("同一软卧包厢（交通工具判定指引：火车）".into());
            }
            if !v.sealed && v.same_carriage && v.bay_offset.is_some_and(|b| b.abs() <= 1) {
                return close(
                    "非全封闭列车同一硬座/硬卧车厢的同格及前后邻格（交通工具判定指引：火车）"
                        .into(),
                );
            }
            general("同乘火车但不在判定范围内的车厢或隔间（一般接触者）".into())
        }
        ExposureKind::Bus => {
            if v.sealed {
                return close("全封闭空调客车，同车人员均为密接（交通工具判定指引：客车）".into());
            }
            if v.crew_serving {
                return close("非封闭客车的司机和售票员（交通工具判定指引：客车）".into());
            }
            match rows_apart() {
                None => Err(ExposureError::MissingRows(exposure.kind)),
                Some(d) if d <= 3 => close(format!(
                    "通风客车病例前后3排内（相距{d}排）（交通工具判定指引：客车）"
                )),
                Some(d) => general(format!(
                    "通风客车距病例{d}排，超出前后3排（交通工具判定指引：客车）"
                )),
            }
        }
        ExposureKind::Ship => {
            if v.same_carriage || v.crew_serving {
                close("同一舱室或为该舱室服务的船员（交通工具判定指引：轮船）".into())
            } else {
                general("同乘轮船但不在同一舱室（一般接触者）".into())
            }
        }
        ExposureKind::PublicPlace => {
            general("在商场、市场、车站等公共场所有暴露，但不符合密接判定标准".into())
        }
        // The nine principle items returned above.
        _ => close(exposure.kind.label_zh().to_string()),
    }
}

/// Classifies a person exposed to a close contact (§1.2): a secondary contact when the regime
/// identifies them, the exposure is of a kind that counts (lived, worked in an enclosed space, ate
/// or played together) and it fell between the close contact's first exposure to the case and the
/// close contact's isolation.
pub fn classify_secondary(
    rules: &TracingRules,
    close_first_exposure: i64,
    close_isolated_at: Option<i64>,
    exposure: &Exposure,
    now: i64,
) -> Result<Classification, ExposureError> {
    if !rules.identifies_secondary {
        return Err(ExposureError::NoSecondaryInRegime(rules.regime));
    }
    check_times(exposure, now)?;
    if exposure.last_at < close_first_exposure
        || close_isolated_at.is_some_and(|isolated| exposure.first_at > isolated)
    {
        return Err(ExposureError::SecondaryOutsideWindow);
    }
    if exposure.protected {
        return Ok(Classification {
            category: ContactCategory::General,
            reason: "与密接接触时采取了有效防护".to_string(),
        });
    }
    if exposure.kind.counts_for_secondary() {
        Ok(Classification {
            category: ContactCategory::Secondary,
            reason: format!(
                "与密接{}，在该密接首次接触病例之后、被隔离之前（{}）",
                exposure.kind.label_zh(),
                rules.regime.label_zh()
            ),
        })
    } else {
        Ok(Classification {
            category: ContactCategory::General,
            reason: format!(
                "与密接的接触方式（{}）不属于同住、同工作、同餐娱乐，不判为次密接",
                exposure.kind.label_zh()
            ),
        })
    }
}

/// One case in the transmission-chain picture: its infector (传染来源) when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainCase {
    pub case_id: i64,
    pub infector: Option<i64>,
}

/// A case placed in the picture, in grid units (the web layer scales them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlacedCase {
    pub case_id: i64,
    pub x: i64,
    pub y: i64,
    /// Generation in its chain (0 = the first known case).
    pub depth: i64,
    /// Index in `ChainLayout::cases` of the infector, when drawn.
    pub parent: Option<usize>,
}

/// One chain (a tree of infector → infectee links) and its bounding box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBox {
    pub root_case_id: i64,
    pub size: usize,
    pub depth: i64,
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
}

/// The whole picture: every case placed, chains boxed, largest chains first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainLayout {
    pub cases: Vec<PlacedCase>,
    pub chains: Vec<ChainBox>,
    pub width: i64,
    pub height: i64,
}

/// Lays out transmission chains (§ product.md capability 4; SORMAS's graph fails at 4,700 cases):
/// each chain a tidy tree (leaves in depth-first order, parents centred over their children,
/// generations as rows), chains packed into rows of at most `max_width` units, largest first;
/// cases without any link are packed together at the end. Linear in cases; a link to an unknown
/// case or a cycle (refused at entry, tolerated here) makes the case a root.
pub fn layout_chains(cases: &[ChainCase], max_width: i64) -> ChainLayout {
    use std::collections::HashMap;
    let index: HashMap<i64, usize> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| (c.case_id, i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); cases.len()];
    let mut parent_of: Vec<Option<usize>> = vec![None; cases.len()];
    for (i, case) in cases.iter().enumerate() {
        if let Some(p) = case.infector.and_then(|id| index.get(&id).copied())
            && p != i
        {
            parent_of[i] = Some(p);
        }
    }
    // Break cycles: walk up from each case; a case that reaches itself loses its parent link.
    let mut state = vec![0u8; cases.len()]; // 0 unseen, 1 on the current path, 2 done
    for start in 0..cases.len() {
        let mut path = Vec::new();
        let mut at = start;
        loop {
            if state[at] == 2 {
                break;
            }
            if state[at] == 1 {
                parent_of[at] = None;
                break;
            }
            state[at] = 1;
            path.push(at);
            match parent_of[at] {
                Some(p) => at = p,
                None => break,
            }
        }
        for node in path {
            state[node] = 2;
        }
    }
    for (i, parent) in parent_of.iter().enumerate() {
        if let Some(p) = parent {
            children[*p].push(i);
        }
    }
    for list in &mut children {
        list.sort_by_key(|&c| cases[c].case_id);
    }
    let mut roots: Vec<usize> = (0..cases.len())
        .filter(|&i| parent_of[i].is_none())
        .collect();

    // Per tree: relative x (leaf slots), depth; collect the tree's nodes in depth-first order.
    struct Tree {
        nodes: Vec<usize>,
        rel_x: Vec<i64>,
        depth: Vec<i64>,
        width: i64,
        max_depth: i64,
    }
    let build = |root: usize| -> Tree {
        let mut nodes = Vec::new();
        let mut rel_x = Vec::new();
        let mut depth_of = Vec::new();
        let mut position: HashMap<usize, usize> = HashMap::new();
        let mut next_leaf = 0i64;
        let mut max_depth = 0;
        // Iterative post-order: (node, depth, children visited?)
        let mut stack = vec![(root, 0i64, false)];
        while let Some((node, depth, expanded)) = stack.pop() {
            if !expanded {
                stack.push((node, depth, true));
                for &child in children[node].iter().rev() {
                    stack.push((child, depth + 1, false));
                }
                continue;
            }
            // Leaves two units apart, so a parent of two neighbours sits exactly between them.
            let x = if children[node].is_empty() {
                next_leaf += 2;
                next_leaf - 2
            } else {
                let xs: Vec<i64> = children[node].iter().map(|c| rel_x[position[c]]).collect();
                (xs[0] + xs[xs.len() - 1]) / 2
            };
            position.insert(node, nodes.len());
            nodes.push(node);
            rel_x.push(x);
            depth_of.push(depth);
            max_depth = max_depth.max(depth);
        }
        Tree {
            nodes,
            rel_x,
            depth: depth_of,
            width: (next_leaf - 1).max(1),
            max_depth,
        }
    };
    let mut linked: Vec<Tree> = Vec::new();
    let mut singles: Vec<usize> = Vec::new();
    roots.sort_by_key(|&r| cases[r].case_id);
    for root in roots {
        if children[root].is_empty() {
            singles.push(root);
        } else {
            linked.push(build(root));
        }
    }
    linked.sort_by(|a, b| {
        b.nodes.len().cmp(&a.nodes.len()).then(
            cases[*a.nodes.last().unwrap_or(&0)]
                .case_id
                .cmp(&cases[*b.nodes.last().unwrap_or(&0)].case_id),
        )
    });

    let max_width = max_width.max(1);
    let mut placed: Vec<PlacedCase> = Vec::with_capacity(cases.len());
    let mut slot_of: Vec<usize> = vec![usize::MAX; cases.len()];
    let mut chains = Vec::new();
    let (mut cursor_x, mut cursor_y, mut row_height, mut total_width) = (0i64, 0i64, 0i64, 0i64);
    for tree in &linked {
        let (w, h) = (tree.width + 1, tree.max_depth + 2);
        if cursor_x > 0 && cursor_x + w > max_width {
            cursor_x = 0;
            cursor_y += row_height;
            row_height = 0;
        }
        for (k, &node) in tree.nodes.iter().enumerate() {
            slot_of[node] = placed.len();
            placed.push(PlacedCase {
                case_id: cases[node].case_id,
                x: cursor_x + tree.rel_x[k],
                y: cursor_y + tree.depth[k],
                depth: tree.depth[k],
                parent: None,
            });
        }
        chains.push(ChainBox {
            root_case_id: cases[*tree.nodes.last().expect("a tree has its root")].case_id,
            size: tree.nodes.len(),
            depth: tree.max_depth,
            x: cursor_x,
            y: cursor_y,
            width: w - 1,
            height: h - 1,
        });
        cursor_x += w;
        total_width = total_width.max(cursor_x);
        row_height = row_height.max(h);
    }
    if !singles.is_empty() {
        if cursor_x > 0 {
            cursor_y += row_height;
        }
        let per_row = max_width.max(1);
        for (k, &node) in singles.iter().enumerate() {
            let k = k as i64;
            slot_of[node] = placed.len();
            placed.push(PlacedCase {
                case_id: cases[node].case_id,
                x: k % per_row,
                y: cursor_y + k / per_row,
                depth: 0,
                parent: None,
            });
        }
        total_width = total_width.max((singles.len() as i64).min(per_row));
        cursor_y += (singles.len() as i64 + per_row - 1) / per_row;
        row_height = 0;
    }
    for (node, parent) in parent_of.iter().enumerate() {
        if let Some(p) = parent {
            let slot = slot_of[node];
            placed[slot].parent = Some(slot_of[*p]);
        }
    }
    ChainLayout {
        cases: placed,
        chains,
        width: total_width,
        height: cursor_y + row_height,
    }
}

/// Age in whole years on `today` of someone born on `birth`.
pub fn age_on(birth: chrono::NaiveDate, today: chrono::NaiveDate) -> i64 {
    use chrono::Datelike;
    let mut age = i64::from(today.year() - birth.year());
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age.max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;
    const DAY: i64 = 86_400;
    /// 2022-11-20 00:00 Beijing.
    const ONSET_DAY: i64 = 1_668_873_600;

    fn exposure(kind: ExposureKind, at: i64) -> Exposure {
        Exposure {
            kind,
            first_at: at - HOUR,
            last_at: at,
            protected: false,
            vehicle: VehiclePosition::default(),
        }
    }

    fn ninth_window() -> (TracingRules, CaseWindow) {
        let rules = Regime::Ninth.tracing_rules();
        let window = case_window(&rules, ONSET_DAY + 10 * HOUR, Some(ONSET_DAY + 2 * DAY));
        (rules, window)
    }

    #[test]
    fn the_window_opens_four_days_before_onset_in_the_ninth_edition_and_two_in_the_eighth() {
        let (_, window) = ninth_window();
        assert_eq!(window.opens_at, ONSET_DAY - 4 * DAY);
        let eighth = Regime::Eighth.tracing_rules();
        assert_eq!(
            case_window(&eighth, ONSET_DAY + 23 * HOUR, None).opens_at,
            ONSET_DAY - 2 * DAY
        );
    }

    #[test]
    fn a_family_member_in_the_window_is_a_close_contact_with_the_principle_item_as_reason() {
        let (rules, window) = ninth_window();
        let c = classify_contact(
            &rules,
            &window,
            &exposure(ExposureKind::SharedHome, ONSET_DAY),
            ONSET_DAY + 3 * DAY,
        )
        .unwrap();
        assert_eq!(c.category, ContactCategory::Close);
        assert!(c.reason.contains("第1条"), "{}", c.reason);
    }

    #[test]
    fn an_exposure_before_the_window_or_with_protection_is_a_general_contact() {
        let (rules, window) = ninth_window();
        let early = classify_contact(
            &rules,
            &window,
            &exposure(ExposureKind::SharedHome, ONSET_DAY - 5 * DAY),
            ONSET_DAY,
        )
        .unwrap();
        assert_eq!(early.category, ContactCategory::General);
        assert!(early.reason.contains("4天"));
        let mut protected = exposure(ExposureKind::Carer, ONSET_DAY);
        protected.protected = true;
        let c = classify_contact(&rules, &window, &protected, ONSET_DAY + DAY).unwrap();
        assert_eq!(c.category, ContactCategory::General);
        let market = classify_contact(
            &rules,
            &window,
            &exposure(ExposureKind::PublicPlace, ONSET_DAY),
            ONSET_DAY + DAY,
        )
        .unwrap();
        assert_eq!(market.category, ContactCategory::General);
    }

    #[test]
    fn an_exposure_after_the_case_was_isolated_or_in_the_future_is_refused() {
        let (rules, window) = ninth_window();
        let late = exposure(ExposureKind::SharedHome, ONSET_DAY + 3 * DAY);
        assert_eq!(
            classify_contact(&rules, &window, &late, ONSET_DAY + 4 * DAY),
            Err(ExposureError::AfterIsolation {
                isolated_at: ONSET_DAY + 2 * DAY
            })
        );
        let future = exposure(ExposureKind::SharedHome, ONSET_DAY + DAY);
        assert_eq!(
            classify_contact(&rules, &window, &future, ONSET_DAY),
            Err(ExposureError::InFuture)
        );
        let mut reversed = exposure(ExposureKind::SharedHome, ONSET_DAY);
        reversed.first_at = reversed.last_at + 1;
        assert_eq!(
            classify_contact(&rules, &window, &reversed, ONSET_DAY + DAY),
            Err(ExposureError::Reversed)
        );
    }

    #[test]
    fn on_an_aircraft_three_rows_either_side_and_the_serving_crew_are_close_contacts() {
        let (rules, window) = ninth_window();
        let seat = |case_row, contact_row| {
            let mut e = exposure(ExposureKind::Aircraft, ONSET_DAY);
            e.vehicle.case_row = Some(case_row);
            e.vehicle.contact_row = Some(contact_row);
            classify_contact(&rules, &window, &e, ONSET_DAY + DAY)
                .unwrap()
                .category
        };
        assert_eq!(seat(20, 23), ContactCategory::Close);
        assert_eq!(seat(20, 17), ContactCategory::Close);
        assert_eq!(seat(20, 24), ContactCategory::General);
        let mut no_rows = exposure(ExposureKind::Aircraft, ONSET_DAY);
        assert_eq!(
            classify_contact(&rules, &window, &no_rows, ONSET_DAY + DAY),
            Err(ExposureError::MissingRows(ExposureKind::Aircraft))
        );
        no_rows.vehicle.crew_serving = true;
        assert_eq!(
            classify_contact(&rules, &window, &no_rows, ONSET_DAY + DAY)
                .unwrap()
                .category,
            ContactCategory::Close
        );
    }

    #[test]
    fn a_sealed_carriage_or_bus_makes_everyone_aboard_a_close_contact() {
        let (rules, window) = ninth_window();
        let mut train = exposure(ExposureKind::Train, ONSET_DAY);
        train.vehicle.same_carriage = true;
        train.vehicle.sealed = true;
        assert_eq!(
            classify_contact(&rules, &window, &train, ONSET_DAY + DAY)
                .unwrap()
                .category,
            ContactCategory::Close
        );
        train.vehicle.sealed = false;
        train.vehicle.bay_offset = Some(3);
        assert_eq!(
            classify_contact(&rules, &window, &train, ONSET_DAY + DAY)
                .unwrap()
                .category,
            ContactCategory::General
        );
        train.vehicle.bay_offset = Some(1);
        assert_eq!(
            classify_contact(&rules, &window, &train, ONSET_DAY + DAY)
                .unwrap()
                .category,
            ContactCategory::Close
        );
        let mut bus = exposure(ExposureKind::Bus, ONSET_DAY);
        bus.vehicle.sealed = true;
        assert_eq!(
            classify_contact(&rules, &window, &bus, ONSET_DAY + DAY)
                .unwrap()
                .category,
            ContactCategory::Close
        );
        bus.vehicle.sealed = false;
        bus.vehicle.case_row = Some(2);
        bus.vehicle.contact_row = Some(9);
        assert_eq!(
            classify_contact(&rules, &window, &bus, ONSET_DAY + DAY)
                .unwrap()
                .category,
            ContactCategory::General
        );
    }

    #[test]
    fn secondary_contacts_need_the_close_contacts_window_and_are_not_identified_under_the_twenty_measures()
     {
        let rules = Regime::Ninth.tracing_rules();
        let e = exposure(ExposureKind::SharedHome, ONSET_DAY + DAY);
        let c = classify_secondary(
            &rules,
            ONSET_DAY,
            Some(ONSET_DAY + 2 * DAY),
            &e,
            ONSET_DAY + 3 * DAY,
        )
        .unwrap();
        assert_eq!(c.category, ContactCategory::Secondary);
        let before = exposure(ExposureKind::SharedHome, ONSET_DAY - DAY);
        assert_eq!(
            classify_secondary(&rules, ONSET_DAY, None, &before, ONSET_DAY + 3 * DAY),
            Err(ExposureError::SecondaryOutsideWindow)
        );
        let lift = exposure(ExposureKind::PublicPlace, ONSET_DAY + DAY);
        assert_eq!(
            classify_secondary(&rules, ONSET_DAY, None, &lift, ONSET_DAY + 3 * DAY)
                .unwrap()
                .category,
            ContactCategory::General
        );
        let twenty = Regime::Twenty.tracing_rules();
        assert_eq!(
            classify_secondary(&twenty, ONSET_DAY, None, &e, ONSET_DAY + 3 * DAY),
            Err(ExposureError::NoSecondaryInRegime(Regime::Twenty))
        );
    }

    #[test]
    fn the_rule_table_has_every_regime_with_a_source() {
        for regime in Regime::ALL {
            let row = tracing_rule_table()
                .iter()
                .find(|r| r.regime == regime && r.jurisdiction.is_empty())
                .unwrap_or_else(|| panic!("no national row for {regime:?}"));
            assert!(!row.source.is_empty());
        }
        assert!(!Regime::Twenty.tracing_rules().identifies_secondary);
        assert_eq!(Regime::Eighth.tracing_rules_in("130109").look_back_days, 2);
    }

    #[test]
    fn deadlines_are_two_hours_to_report_and_a_day_to_investigate() {
        let rules = Regime::Ninth.tracing_rules();
        let d = case_deadlines(&rules, 1000);
        assert_eq!(d.report_due, 1000 + 2 * HOUR);
        assert_eq!(d.investigation_due, 1000 + 24 * HOUR);
        assert_eq!(
            DeadlineState::of(d.report_due, Some(1000 + HOUR), 0),
            DeadlineState::OnTime
        );
        assert_eq!(
            DeadlineState::of(d.report_due, Some(1000 + 3 * HOUR), 0),
            DeadlineState::Late
        );
        assert_eq!(
            DeadlineState::of(d.report_due, None, 1000 + 3 * HOUR),
            DeadlineState::Overdue
        );
        assert_eq!(
            DeadlineState::of(d.report_due, None, 1000),
            DeadlineState::Open
        );
    }

    #[test]
    fn chains_are_laid_out_as_trees_with_parents_above_and_centred_over_their_children() {
        let cases = [
            ChainCase {
                case_id: 1,
                infector: None,
            },
            ChainCase {
                case_id: 2,
                infector: Some(1),
            },
            ChainCase {
                case_id: 3,
                infector: Some(1),
            },
            ChainCase {
                case_id: 4,
                infector: Some(3),
            },
            ChainCase {
                case_id: 5,
                infector: None,
            },
            ChainCase {
                case_id: 6,
                infector: Some(99),
            },
        ];
        let layout = layout_chains(&cases, 100);
        assert_eq!(layout.cases.len(), 6);
        assert_eq!(layout.chains.len(), 1);
        assert_eq!(layout.chains[0].size, 4);
        let at = |id: i64| *layout.cases.iter().find(|c| c.case_id == id).unwrap();
        assert_eq!(at(1).y, 0);
        assert_eq!(at(4).depth, 2);
        assert!(at(1).x > at(2).x && at(1).x <= at(3).x);
        assert_eq!(layout.cases[at(4).parent.unwrap()].case_id, 3);
        assert!(
            at(5).y > at(4).y && at(6).y == at(5).y,
            "singles are packed below the chains"
        );
    }

    #[test]
    fn a_cycle_of_infector_links_does_not_hang_the_layout() {
        let cases = [
            ChainCase {
                case_id: 1,
                infector: Some(3),
            },
            ChainCase {
                case_id: 2,
                infector: Some(1),
            },
            ChainCase {
                case_id: 3,
                infector: Some(2),
            },
        ];
        let layout = layout_chains(&cases, 10);
        assert_eq!(layout.cases.len(), 3);
        assert_eq!(
            layout.cases.iter().filter(|c| c.parent.is_none()).count(),
            1
        );
    }
}
