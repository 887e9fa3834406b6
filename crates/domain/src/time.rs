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

#[cfg(test)]
mod tests {
    use super::*;

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
