//! Measure plans per regime and person category (data in `data/isolation/measure-plans.json`,
//! domain-rules.md §2), the pure schedule of phases and test days, and when a measure may end.

use super::*;

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
}
