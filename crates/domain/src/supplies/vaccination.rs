//! Vaccination (疫苗接种, domain-rules.md §10.5): the products and their primary series, the dose
//! kinds, the contraindications kept as reasons (国卫明电〔2022〕484号 narrowed them to four), the
//! age bands coverage is counted in, and the interval rules a dose is checked against (dose 2 at
//! least 21 days after dose 1; a booster at least 3 months after the primary series).

use chrono::{Months, NaiveDate};

crate::coded_enum! {
    from_code = code_or_label;
    /// The vaccines given (the common ones of 2021–2022).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum VaccineProduct {
        Bbibp => "bbibp", "国药北京生物（灭活）",
        Wibp => "wibp", "国药武汉生物（灭活）",
        CoronaVac => "coronavac", "北京科兴（灭活）",
        Ad5 => "ad5", "康希诺（腺病毒载体）",
    }
}

impl VaccineProduct {
    /// Doses of the primary series (全程): two for the inactivated vaccines, one for Ad5.
    pub fn primary_doses(self) -> u8 {
        match self {
            VaccineProduct::Ad5 => 1,
            _ => 2,
        }
    }

    /// The codes of the one-dose products, as an SQL list (`('ad5')`): a first dose of one of
    /// them completes the primary series.
    pub fn single_dose_sql() -> String {
        let codes: Vec<String> = VaccineProduct::ALL
            .iter()
            .filter(|p| p.primary_doses() == 1)
            .map(|p| format!("'{}'", p.code()))
            .collect();
        format!("({})", codes.join(", "))
    }

    /// A product as a sheet or a form names it: the code, the label, or the maker's short name.
    pub fn parse(text: &str) -> Result<VaccineProduct, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("请填写疫苗".into());
        }
        if let Some(p) = VaccineProduct::from_code(t) {
            return Ok(p);
        }
        let p = if t.contains("北京生物") || t.contains("国药北京") || t == "国药" {
            VaccineProduct::Bbibp
        } else if t.contains("武汉") {
            VaccineProduct::Wibp
        } else if t.contains("科兴") {
            VaccineProduct::CoronaVac
        } else if t.contains("康希诺") || t.contains("腺病毒") {
            VaccineProduct::Ad5
        } else {
            return Err(format!(
                "“{}”不是可登记的疫苗：请填写 国药北京生物、国药武汉生物、北京科兴 或 康希诺",
                crate::echo::shown(t)
            ));
        };
        Ok(p)
    }
}

crate::coded_enum! {
    from_code = code_or_label;
    /// Which dose of a person's series this is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum DoseKind {
        First => "first", "第一剂",
        Second => "second", "第二剂",
        Booster => "booster", "加强针",
    }
}

impl DoseKind {
    /// A dose as a sheet names it: the code, the label, `1` / `2` / `3`, `第1剂`, `加强`.
    pub fn parse(text: &str) -> Result<DoseKind, String> {
        let t = text.trim();
        if let Some(k) = DoseKind::from_code(t) {
            return Ok(k);
        }
        match t {
            "1" | "第1剂" | "第一针" | "一针" => Ok(DoseKind::First),
            "2" | "第2剂" | "第二针" | "二针" => Ok(DoseKind::Second),
            "3" | "第3剂" | "加强" | "加强剂" | "加强免疫" | "第三针" => {
                Ok(DoseKind::Booster)
            }
            "" => Err("请填写剂次（第一剂、第二剂或加强针）".into()),
            other => Err(format!(
                "剂次“{}”无法识别：请填写 第一剂、第二剂 或 加强针",
                crate::echo::shown(other)
            )),
        }
    }
}

crate::coded_enum! {
    from_code = code_or_label;
    /// Why a person is not vaccinated now (the four contraindications of the 2022 plan).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Contraindication {
        SevereAllergy => "severe_allergy", "既往接种严重过敏",
        AcuteFever => "acute_fever", "急性发热性感染（暂缓）",
        ChronicAcute => "chronic_acute", "慢性病急性发作期（暂缓）",
        EndOfLife => "end_of_life", "终末期",
    }
}

impl Contraindication {
    /// Whether the reason only postpones the dose (it has an end date to come back).
    pub fn postpones(self) -> bool {
        matches!(
            self,
            Contraindication::AcuteFever | Contraindication::ChronicAcute
        )
    }
}

crate::coded_enum! {
    /// The age bands coverage is counted in (3–11, 12–17, 18–59, 60–79, 80+).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum AgeBand {
        Child => "3_11", "3—11岁",
        Teen => "12_17", "12—17岁",
        Adult => "18_59", "18—59岁",
        Senior => "60_79", "60—79岁",
        Elderly => "80_plus", "80岁及以上",
    }
}

impl AgeBand {
    /// The youngest age of the band.
    pub fn from_age(self) -> u32 {
        match self {
            AgeBand::Child => 3,
            AgeBand::Teen => 12,
            AgeBand::Adult => 18,
            AgeBand::Senior => 60,
            AgeBand::Elderly => 80,
        }
    }

    /// The band of a person of `age` full years (none under 3).
    pub fn of_age(age: u32) -> Option<AgeBand> {
        AgeBand::ALL
            .iter()
            .rev()
            .find(|b| age >= b.from_age())
            .copied()
    }

    /// The latest birth date of a person at least `from_age()` years old on `on`: a person of this
    /// band or an older one was born on or before it.
    pub fn born_by(self, on: NaiveDate) -> NaiveDate {
        years_before(on, self.from_age())
    }
}

/// `on` less `years` full years (29 February falls back to the 28th).
pub fn years_before(on: NaiveDate, years: u32) -> NaiveDate {
    on.checked_sub_months(Months::new(years * 12))
        .unwrap_or(NaiveDate::MIN)
}

/// Full years of age on `on` of a person born on `birth`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    on.years_since(birth).unwrap_or(0)
}

/// Days dose 2 must wait after dose 1.
pub const SECOND_DOSE_DAYS: i64 = 21;
/// Months a booster must wait after the primary series.
pub const BOOSTER_MONTHS: u32 = 3;
/// The first day a dose may be dated (China's emergency use began in mid-2020).
pub fn earliest_dose_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 7, 1).unwrap_or(NaiveDate::MIN)
}

/// A dose already recorded for the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorDose {
    pub kind: DoseKind,
    pub product: VaccineProduct,
    pub given_on: NaiveDate,
}

/// When the person's primary series was completed (the date of its last dose), if it was.
pub fn primary_completed(prior: &[PriorDose]) -> Option<NaiveDate> {
    let first = prior.iter().find(|d| d.kind == DoseKind::First);
    if let Some(f) = first
        && f.product.primary_doses() == 1
    {
        return Some(f.given_on);
    }
    prior
        .iter()
        .find(|d| d.kind == DoseKind::Second)
        .map(|d| d.given_on)
}

/// Checks a new dose against the person's earlier doses and today: the reason it is refused, in
/// words a vaccination point understands. A dose of a kind already recorded is the caller's to
/// answer (a retry or a conflict).
pub fn check_dose(
    kind: DoseKind,
    given_on: NaiveDate,
    prior: &[PriorDose],
    today: NaiveDate,
) -> Result<(), String> {
    if given_on > today {
        return Err("接种日期不能晚于今天".into());
    }
    if given_on < earliest_dose_date() {
        return Err(format!("接种日期不能早于 {}", earliest_dose_date()));
    }
    match kind {
        DoseKind::First => {
            if let Some(later) = prior.iter().find(|d| d.given_on < given_on) {
                return Err(format!(
                    "已有{}（{}）早于这一剂第一剂的日期，请核对",
                    later.kind.label_zh(),
                    later.given_on
                ));
            }
            Ok(())
        }
        DoseKind::Second => {
            let Some(first) = prior.iter().find(|d| d.kind == DoseKind::First) else {
                return Err("尚无第一剂记录：请先登记第一剂".into());
            };
            if first.product.primary_doses() == 1 {
                return Err(format!(
                    "第一剂为{}，一剂即完成全程，不需第二剂（可在满{BOOSTER_MONTHS}个月后接种加强针）",
                    first.product.label_zh()
                ));
            }
            let earliest = first.given_on + chrono::Duration::days(SECOND_DOSE_DAYS);
            if given_on < earliest {
                return Err(format!(
                    "第二剂须在第一剂（{}）后至少{SECOND_DOSE_DAYS}天接种，最早 {earliest}",
                    first.given_on
                ));
            }
            Ok(())
        }
        DoseKind::Booster => {
            let Some(done) = primary_completed(prior) else {
                return Err("尚未完成全程接种：加强针须在全程接种后接种".into());
            };
            let earliest = done
                .checked_add_months(Months::new(BOOSTER_MONTHS))
                .unwrap_or(NaiveDate::MAX);
            if given_on < earliest {
                return Err(format!(
                    "加强针须在全程接种（{done}）满{BOOSTER_MONTHS}个月后接种，最早 {earliest}"
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn dose(kind: DoseKind, product: VaccineProduct, on: &str) -> PriorDose {
        PriorDose {
            kind,
            product,
            given_on: d(on),
        }
    }

    #[test]
    fn intervals_as_a_table() {
        use DoseKind::*;
        use VaccineProduct::*;
        let today = d("2022-11-20");
        let first = dose(First, Bbibp, "2021-05-01");
        let second = dose(Second, Bbibp, "2021-05-22");
        let ad5 = dose(First, Ad5, "2021-06-01");
        let both = vec![first, second];
        // (kind, date, prior, accepted?, words in the reason)
        type Case<'a> = (DoseKind, &'a str, Vec<PriorDose>, bool, &'a str);
        let cases: Vec<Case> = vec![
            (First, "2021-05-01", vec![], true, ""),
            (First, "2022-11-21", vec![], false, "晚于今天"),
            (First, "2020-01-01", vec![], false, "不能早于"),
            (Second, "2021-05-22", vec![first], true, ""),
            (Second, "2021-05-21", vec![first], false, "最早 2021-05-22"),
            (Second, "2021-06-01", vec![], false, "尚无第一剂"),
            (Second, "2021-07-01", vec![ad5], false, "一剂即完成全程"),
            (Booster, "2021-08-22", both.clone(), true, ""),
            (Booster, "2021-08-21", both, false, "满3个月"),
            (Booster, "2021-09-01", vec![first], false, "尚未完成全程"),
            (Booster, "2021-09-01", vec![ad5], true, ""),
            (Booster, "2021-08-31", vec![ad5], false, "最早 2021-09-01"),
            (First, "2021-06-01", vec![first], false, "请核对"),
        ];
        for (kind, on, prior, ok, words) in cases {
            let got = check_dose(kind, d(on), &prior, today);
            assert_eq!(got.is_ok(), ok, "{kind:?} {on} {prior:?}: {got:?}");
            if let Err(why) = got {
                assert!(why.contains(words), "{why}");
            }
        }
    }

    #[test]
    fn age_bands_and_birth_cutoffs() {
        let on = d("2022-11-20");
        assert_eq!(age_on(d("1942-11-20"), on), 80);
        assert_eq!(age_on(d("1942-11-21"), on), 79);
        assert_eq!(AgeBand::of_age(80), Some(AgeBand::Elderly));
        assert_eq!(AgeBand::of_age(79), Some(AgeBand::Senior));
        assert_eq!(AgeBand::of_age(59), Some(AgeBand::Adult));
        assert_eq!(AgeBand::of_age(12), Some(AgeBand::Teen));
        assert_eq!(AgeBand::of_age(3), Some(AgeBand::Child));
        assert_eq!(AgeBand::of_age(2), None);
        assert_eq!(AgeBand::Elderly.born_by(on), d("1942-11-20"));
        assert_eq!(age_on(d("2000-02-29"), d("2022-02-28")), 21);
        assert!(d("2000-02-29") > years_before(d("2022-02-28"), 22));
    }

    #[test]
    fn sheets_name_products_and_doses_their_own_way() {
        assert_eq!(
            VaccineProduct::parse("北京科兴"),
            Ok(VaccineProduct::CoronaVac)
        );
        assert_eq!(VaccineProduct::parse("ad5"), Ok(VaccineProduct::Ad5));
        assert!(VaccineProduct::parse("辉瑞").is_err());
        assert_eq!(DoseKind::parse("2"), Ok(DoseKind::Second));
        assert_eq!(DoseKind::parse("加强针"), Ok(DoseKind::Booster));
        assert!(DoseKind::parse("第四剂").is_err());
        assert_eq!(VaccineProduct::single_dose_sql(), "('ad5')");
        assert!(Contraindication::AcuteFever.postpones());
        assert!(!Contraindication::SevereAllergy.postpones());
    }
}
