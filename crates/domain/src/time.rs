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

/// How far back an office may enter what already happened (补录, `occurred_at`): 7 days. A
/// discharge, an admission, a check-in or a swab not entered within a week is a record to correct
/// through the data team, not a form to fill in: every period these times start (measure days, a
/// risk area's clean days, a case's post-discharge clock) is counted in days of 7 to 14, so a
/// week back still changes what people see today, while an older time would silently rewrite
/// periods already over.
pub const OCCURRED_AT_MAX_DAYS_BACK: i64 = 7;

/// How far ahead of the server's clock an entered time may lie: a phone's clock a little fast.
pub const OCCURRED_AT_SKEW_SECONDS: i64 = 120;

/// `1月5日 14:00`, Beijing time: how refusals name the time an entry may not precede.
pub fn beijing_short_label(at: DateTime<Utc>) -> String {
    at.with_timezone(&beijing_offset())
        .format("%-m月%-d日 %H:%M")
        .to_string()
}

/// The "when it happened" field of a form (实际时间, `occurred_at`): empty = now (None); else a
/// Beijing time as [`parse_beijing`] reads it (the HTML `datetime-local` form included).
pub fn parse_occurred_at(text: &str) -> Result<Option<DateTime<Utc>>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    parse_beijing(text).map(Some)
}

/// The time an action took place: `entered` (a past-dated entry, 补录) or `now` when none was
/// entered. An entered time may not lie in the future (beyond [`OCCURRED_AT_SKEW_SECONDS`]),
/// more than [`OCCURRED_AT_MAX_DAYS_BACK`] days back, or before `follows` — the event it comes
/// after, with its name (分配时间, 收治时间 …). The error is the problem alone, in the forms'
/// words; the caller puts the field's name in front.
pub fn bound_occurred_at(
    entered: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    follows: Option<(&str, DateTime<Utc>)>,
) -> Result<DateTime<Utc>, String> {
    let Some(at) = entered else {
        return Ok(now);
    };
    if at > now + chrono::Duration::seconds(OCCURRED_AT_SKEW_SECONDS) {
        return Err(format!(
            "不能晚于现在（现在是 {}）",
            beijing_short_label(now)
        ));
    }
    let earliest = now - chrono::Duration::days(OCCURRED_AT_MAX_DAYS_BACK);
    if at < earliest {
        return Err(format!(
            "只能补录最近{OCCURRED_AT_MAX_DAYS_BACK}天内的时间（最早 {}），更早的请联系数据管理员更正",
            beijing_short_label(earliest)
        ));
    }
    if let Some((name, before)) = follows
        && at < before
    {
        return Err(format!("不能早于{name} {}", beijing_short_label(before)));
    }
    // A time a little ahead (clock skew) is now: nothing happens in the future.
    Ok(at.min(now))
}

/// What the audit record adds when the time kept is not the time of entry (a minute or more
/// apart): `补录：实际时间 2021-01-05 14:00（北京时间）`. None for an entry made as it happened.
pub fn occurred_at_note(at: DateTime<Utc>, now: DateTime<Utc>) -> Option<String> {
    ((now - at).num_seconds().abs() >= 60)
        .then(|| format!("补录：实际时间 {}（北京时间）", beijing_label(at)))
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

    #[test]
    fn an_occurred_at_is_parsed_like_any_typed_time_and_empty_is_now() {
        let at = Utc.with_ymd_and_hms(2021, 1, 5, 6, 0, 0).unwrap();
        // Ok(time entered), or Err(()) for a refusal.
        type Parsed = Result<Option<DateTime<Utc>>, ()>;
        let table: [(&str, Parsed); 7] = [
            ("", Ok(None)),
            ("   ", Ok(None)),
            ("2021-01-05 14:00", Ok(Some(at))),
            // The HTML datetime-local input sends this form.
            ("2021-01-05T14:00", Ok(Some(at))),
            ("2021-01-05T14:00:00", Ok(Some(at))),
            ("昨天下午", Err(())),
            ("2021-13-05 14:00", Err(())),
        ];
        for (text, expected) in table {
            assert_eq!(
                parse_occurred_at(text).map_err(|_| ()),
                expected,
                "{text:?}"
            );
        }
        assert!(
            parse_occurred_at("x")
                .unwrap_err()
                .contains("2021-01-02 08:30")
        );
    }

    #[test]
    fn an_occurred_at_is_bounded_by_now_the_window_and_the_event_it_follows() {
        // Now: 2021-01-10 12:00 Beijing.
        let now = Utc.with_ymd_and_hms(2021, 1, 10, 4, 0, 0).unwrap();
        let minutes = |m: i64| now + chrono::Duration::minutes(m);
        let allocated = minutes(-3 * 24 * 60);
        let follows = Some(("分配时间", allocated));
        assert_eq!(bound_occurred_at(None, now, follows), Ok(now));
        assert_eq!(
            bound_occurred_at(Some(minutes(-60)), now, follows),
            Ok(minutes(-60))
        );
        // A phone a minute fast is now, not the future.
        assert_eq!(bound_occurred_at(Some(minutes(1)), now, follows), Ok(now));
        let future = bound_occurred_at(Some(minutes(5)), now, None).unwrap_err();
        assert!(
            future.contains("不能晚于现在") && future.contains("1月10日 12:00"),
            "{future}"
        );
        let old = bound_occurred_at(Some(minutes(-7 * 24 * 60 - 1)), now, None).unwrap_err();
        assert!(
            old.contains("最近7天") && old.contains("1月3日 12:00"),
            "{old}"
        );
        assert_eq!(
            bound_occurred_at(Some(minutes(-7 * 24 * 60)), now, None),
            Ok(minutes(-7 * 24 * 60))
        );
        assert_eq!(
            bound_occurred_at(Some(minutes(-3 * 24 * 60 - 1)), now, follows),
            Err("不能早于分配时间 1月7日 12:00".to_string())
        );
        assert_eq!(
            bound_occurred_at(Some(allocated), now, follows),
            Ok(allocated)
        );
    }

    #[test]
    fn the_audit_notes_a_past_dated_entry_and_not_one_made_as_it_happened() {
        let now = Utc.with_ymd_and_hms(2021, 1, 10, 4, 0, 30).unwrap();
        let at = Utc.with_ymd_and_hms(2021, 1, 5, 6, 0, 0).unwrap();
        assert_eq!(
            occurred_at_note(at, now).as_deref(),
            Some("补录：实际时间 2021-01-05 14:00（北京时间）")
        );
        // The minute typed for "now" is not a past-dated entry.
        let this_minute = Utc.with_ymd_and_hms(2021, 1, 10, 4, 0, 0).unwrap();
        assert_eq!(occurred_at_note(this_minute, now), None);
        assert_eq!(occurred_at_note(now, now), None);
        assert_eq!(beijing_short_label(at), "1月5日 14:00");
    }
}
