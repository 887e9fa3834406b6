//! Coverage (应采尽采): who is not expected at a site — infants by age, exemptions.

use super::*;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infants_are_counted_by_whole_months() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(age_in_months(d("2021-01-15"), d("2021-04-14")), 2);
        assert_eq!(age_in_months(d("2021-01-15"), d("2021-04-15")), 3);
        assert_eq!(infant_cutoff(d("2022-01-10"), 0), None);
        assert_eq!(infant_cutoff(d("2022-01-10"), 36), Some(d("2019-01-10")));
    }
}
