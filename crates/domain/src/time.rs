//! Beijing time as users read and type it. Every time a user sees is Beijing time (UTC+8, no
//! daylight saving), and every time typed into a form or given on the command line is read as one.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// China Standard Time.
pub fn beijing_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// A Beijing time typed by a user: `2021-01-02 08:30`, `2021-01-02T08:30`, with seconds, or a
/// date alone (08:00 that day, the start of a working day). The error says what was expected, in
/// the words the forms use.
pub fn parse_beijing(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|d| d.and_time(NaiveTime::from_hms_opt(8, 0, 0).expect("08:00 exists")))
        })
        .map_err(|_| format!("“{text}”看不懂：请写成 2021-01-02 08:30 或 2021-01-02"))?;
    beijing_offset()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("“{text}”不是有效的时间"))
}

/// `2021-01-02 08:30`, Beijing time.
pub fn beijing_label(at: DateTime<Utc>) -> String {
    at.with_timezone(&beijing_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The Beijing calendar date of an instant.
pub fn beijing_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&beijing_offset()).date_naive()
}

/// 00:00 Beijing time at the start of `date`.
pub fn beijing_midnight(date: NaiveDate) -> DateTime<Utc> {
    beijing_offset()
        .from_local_datetime(&date.and_time(NaiveTime::MIN))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .expect("a fixed offset has one midnight a day")
}

/// The one day-counting rule (第N天), for codes, measure plans and risk areas alike, as the
/// tables and plans read: the Beijing calendar day of `anchor` (a last exposure, a discharge, an
/// entry into isolation) is day 1, the next date day 2, and so on.
pub fn day_number(anchor: DateTime<Utc>, at: DateTime<Utc>) -> i64 {
    (beijing_date(at) - beijing_date(anchor)).num_days() + 1
}

/// When a period of `days` days counted from `anchor` by [`day_number`] is over: at 00:00 Beijing
/// as day `days + 1` begins. "Red within 7 days of the last contact" is red through day 7, the
/// day the isolation plan's centralised phase ends; it turns at midnight, not at the exposure's
/// hour 168 hours later. A risk area's "N days in a row without a new infection" is met on the
/// same date (the infection's day followed by N − 1 clean days and the day the step is taken).
pub fn period_end(anchor: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let first = beijing_date(anchor);
    let after = first
        .checked_add_days(chrono::Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MAX);
    beijing_midnight(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_one_is_the_anchors_beijing_date_and_a_period_ends_at_midnight() {
        // Last exposure 2021-01-01 15:00 Beijing.
        let exposure = Utc.with_ymd_and_hms(2021, 1, 1, 7, 0, 0).unwrap();
        assert_eq!(day_number(exposure, exposure), 1);
        // 23:30 Beijing on the same date is still day 1; 00:10 the next date is day 2.
        assert_eq!(
            day_number(
                exposure,
                Utc.with_ymd_and_hms(2021, 1, 1, 15, 30, 0).unwrap()
            ),
            1
        );
        assert_eq!(
            day_number(
                exposure,
                Utc.with_ymd_and_hms(2021, 1, 1, 16, 10, 0).unwrap()
            ),
            2
        );
        // Seven days: through 2021-01-07, over at 2021-01-08 00:00 Beijing (= 01-07 16:00 UTC).
        let end = period_end(exposure, 7);
        assert_eq!(end, Utc.with_ymd_and_hms(2021, 1, 7, 16, 0, 0).unwrap());
        assert_eq!(day_number(exposure, end), 8);
        assert_eq!(day_number(exposure, end - chrono::Duration::seconds(1)), 7);
        // An anchor just after midnight Beijing (16:05 UTC the day before) is that Beijing date.
        let late = Utc.with_ymd_and_hms(2021, 1, 1, 16, 5, 0).unwrap();
        assert_eq!(
            beijing_date(late),
            NaiveDate::from_ymd_opt(2021, 1, 2).unwrap()
        );
        assert_eq!(
            period_end(late, 1),
            Utc.with_ymd_and_hms(2021, 1, 2, 16, 0, 0).unwrap()
        );
    }

    #[test]
    fn typed_times_are_beijing_times() {
        let expected = Utc.with_ymd_and_hms(2021, 1, 2, 0, 30, 0).unwrap();
        for text in [
            "2021-01-02 08:30",
            "2021-01-02T08:30",
            " 2021-01-02 08:30:00 ",
        ] {
            assert_eq!(parse_beijing(text), Ok(expected), "{text}");
        }
        assert_eq!(
            parse_beijing("2021-01-02"),
            Ok(Utc.with_ymd_and_hms(2021, 1, 2, 0, 0, 0).unwrap())
        );
        assert_eq!(beijing_label(expected), "2021-01-02 08:30");
    }

    #[test]
    fn a_time_that_is_not_one_says_what_is_expected() {
        let problem = parse_beijing("明天早上").unwrap_err();
        assert!(problem.contains("2021-01-02 08:30"), "{problem}");
        assert!(parse_beijing("2021-02-30 08:00").is_err());
    }
}
