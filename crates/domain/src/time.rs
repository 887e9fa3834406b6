//! Beijing time as users read and type it. Every time a user sees is Beijing time (UTC+8, no
//! daylight saving), and every time typed into a form, pushed in a sheet or given on the command
//! line is read here, as one. The forms differ only in what a date typed alone means and in which
//! spellings they take, and each reading is one named function below:
//!
//! | function | a date alone | also takes | used by |
//! |---|---|---|---|
//! | [`parse_beijing`] | 08:00 | seconds | the command line (`serve --clock`) |
//! | [`parse_beijing_day_start`] | 00:00 | — | health-code facts, itineraries, risk-area rounds |
//! | [`parse_beijing_minute`] | refused | seconds | investigation (exposures, trace windows), antigen self-tests |
//! | [`parse_beijing_cell`] | 00:00 | `/` dates, seconds, Excel serials | leads (pushed sheets and forms) |
//!
//! All of them take `2021-01-02 08:30` and the browser's `2021-01-02T08:30`, trimmed.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// China Standard Time.
pub fn beijing_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Which spellings one reading takes.
#[derive(Clone, Copy)]
struct Forms {
    /// What a date typed without a time of day means; `None` refuses it.
    date_alone: Option<NaiveTime>,
    /// `2021-01-02 08:30:15` (and with `T`).
    seconds: bool,
    /// `2021/01/02 08:30`, as spreadsheets write dates.
    slashes: bool,
    /// A spreadsheet's date serial (days since 1899-12-30, the fraction the time of day).
    serial: bool,
}

/// Why a text is not a Beijing time; each reading words it for its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unread {
    Empty,
    /// Not one of the reading's spellings.
    Unreadable,
    /// A number, but not a date serial of the years a spreadsheet holds.
    SerialOutOfRange,
    /// A well-formed local time that does not exist (a fixed offset has none; kept for safety).
    NoSuchTime,
}

const MIDNIGHT: NaiveTime = NaiveTime::MIN;

fn eight_o_clock() -> NaiveTime {
    NaiveTime::from_hms_opt(8, 0, 0).expect("08:00 exists")
}

/// The one reader of typed Beijing times.
fn read(text: &str, forms: Forms) -> Result<DateTime<Utc>, Unread> {
    let mut text = text.trim().to_string();
    if text.is_empty() {
        return Err(Unread::Empty);
    }
    if forms.slashes {
        text = text.replace('/', "-");
    }
    let local = if forms.serial
        && let Ok(serial) = text.parse::<f64>()
    {
        if !(1.0..200_000.0).contains(&serial) {
            return Err(Unread::SerialOutOfRange);
        }
        let base = NaiveDate::from_ymd_opt(1899, 12, 30)
            .expect("the serials' day 0 exists")
            .and_time(MIDNIGHT);
        base + chrono::Duration::seconds((serial * 86_400.0).round() as i64)
    } else {
        let mut formats = vec!["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"];
        if forms.seconds {
            formats.extend(["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]);
        }
        formats
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(&text, f).ok())
            .or_else(|| {
                let at = forms.date_alone?;
                NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                    .ok()
                    .map(|d| d.and_time(at))
            })
            .ok_or(Unread::Unreadable)?
    };
    beijing_offset()
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or(Unread::NoSuchTime)
}

/// A Beijing time given on the command line: `2021-01-02 08:30`, `2021-01-02T08:30`, with
/// seconds, or a date alone, which means 08:00 that day: a drill's clock set to a date starts
/// at the beginning of that working day. The error says what was expected.
pub fn parse_beijing(text: &str) -> Result<DateTime<Utc>, String> {
    let forms = Forms {
        date_alone: Some(eight_o_clock()),
        seconds: true,
        slashes: false,
        serial: false,
    };
    let text = text.trim();
    read(text, forms).map_err(|problem| match problem {
        Unread::NoSuchTime => format!("“{text}”不是有效的时间"),
        _ => format!("“{text}”看不懂：请写成 2021-01-02 08:30 或 2021-01-02"),
    })
}

/// A Beijing time typed into a form for `field`: `2022-11-20 14:30`, `2022-11-20T14:30`, or a
/// date alone, which means 00:00 that day, the day's start. The forms that use it ask for a
/// moment that stands for a day: a health-code fact's anchor (days are counted by date, 第N天,
/// so midnight keeps the date and adds no hours), an itinerary's window, a risk area's round
/// (完成时间). The error names the field.
pub fn parse_beijing_day_start(text: &str, field: &str) -> Result<DateTime<Utc>, String> {
    let forms = Forms {
        date_alone: Some(MIDNIGHT),
        seconds: false,
        slashes: false,
        serial: false,
    };
    let text = text.trim();
    read(text, forms).map_err(|problem| match problem {
        Unread::NoSuchTime => format!("{field}“{text}”不是有效时间"),
        _ => format!("{field}“{text}”看不懂：请写成 2022-11-20 14:30 或 2022-11-20"),
    })
}

/// A Beijing date and time typed into a form for `field`, to the minute: `2022-11-20 08:30`,
/// `2022-11-20T08:30`, or with seconds. A date alone is refused: investigation's exposure times
/// and trace windows are compared by the hour with a case's onset and isolation (close or
/// secondary contact, an exposure after isolation refused), and an antigen self-test's time is
/// held to the last 7 days to the minute: a date would make up the hour. The error names the
/// field.
pub fn parse_beijing_minute(text: &str, field: &str) -> Result<DateTime<Utc>, String> {
    let forms = Forms {
        date_alone: None,
        seconds: true,
        slashes: false,
        serial: false,
    };
    let text = text.trim();
    read(text, forms).map_err(|problem| match problem {
        Unread::NoSuchTime => format!("“{field}”不是有效的时间"),
        _ => format!("“{field}”应为日期和时间，例如 2022-11-20 08:30，而不是“{text}”"),
    })
}

/// A Beijing time as a spreadsheet cell or a lead form holds it: `2022-11-20 08:30`, with
/// seconds, `2022/11/20 08:30`, a date alone (00:00 that day: a push dated by day starts its
/// deadline at the day's start, never later than it was sent), or an Excel date serial (days
/// since 1899-12-30, the fraction the time of day), which is what a date cell reads as when a
/// sheet is exported without formatting.
pub fn parse_beijing_cell(text: &str) -> Result<DateTime<Utc>, String> {
    let forms = Forms {
        date_alone: Some(MIDNIGHT),
        seconds: true,
        slashes: true,
        serial: true,
    };
    let text = text.trim();
    read(text, forms).map_err(|problem| match problem {
        Unread::Empty => "时间不能为空".to_string(),
        Unread::SerialOutOfRange => format!("时间“{text}”无法识别"),
        Unread::Unreadable => format!("时间“{text}”无法识别，请写成 2022-11-20 08:30"),
        Unread::NoSuchTime => format!("时间“{text}”无效"),
    })
}

/// A time of day typed alone, `09:00` (an installation's setting, such as a report's due time):
/// hours and minutes, Beijing time. The error says what was expected.
pub fn parse_time_of_day(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_| format!("“{}”看不懂：请写成 09:00", crate::echo::shown(text.trim())))
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

    /// Beijing `y-m-d h:m:s` as UTC.
    fn beijing(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        beijing_offset()
            .with_ymd_and_hms(y, m, d, h, min, s)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn each_reading_takes_its_forms_and_gives_a_date_alone_its_hour() {
        type Reading = fn(&str) -> Result<DateTime<Utc>, String>;
        let cli: Reading = parse_beijing;
        let day_start: Reading = |t| parse_beijing_day_start(t, "时间");
        let minute: Reading = |t| parse_beijing_minute(t, "末次接触时间");
        let cell: Reading = parse_beijing_cell;
        let at_0830 = Some(beijing(2022, 11, 20, 8, 30, 0));
        let at_0830_15 = Some(beijing(2022, 11, 20, 8, 30, 15));
        let midnight = Some(beijing(2022, 11, 20, 0, 0, 0));
        let eight = Some(beijing(2022, 11, 20, 8, 0, 0));
        // (text, command line, day start, minute, cell); None = refused.
        let table = [
            ("2022-11-20 08:30", at_0830, at_0830, at_0830, at_0830),
            ("2022-11-20T08:30", at_0830, at_0830, at_0830, at_0830),
            ("  2022-11-20 08:30  ", at_0830, at_0830, at_0830, at_0830),
            (
                "2022-11-20 08:30:15",
                at_0830_15,
                None,
                at_0830_15,
                at_0830_15,
            ),
            (
                "2022-11-20T08:30:15",
                at_0830_15,
                None,
                at_0830_15,
                at_0830_15,
            ),
            ("2022-11-20", eight, midnight, None, midnight),
            ("2022/11/20 08:30", None, None, None, at_0830),
            ("2022/11/20", None, None, None, midnight),
            ("44885.35416666666", None, None, None, at_0830),
            ("44885", None, None, None, midnight),
            ("0.5", None, None, None, None),
            ("2022-02-30 08:00", None, None, None, None),
            ("2022-11-20 25:00", None, None, None, None),
            ("昨天", None, None, None, None),
            ("", None, None, None, None),
        ];
        for (text, want_cli, want_day, want_minute, want_cell) in table {
            for (name, reading, want) in [
                ("command line", cli, want_cli),
                ("day start", day_start, want_day),
                ("minute", minute, want_minute),
                ("cell", cell, want_cell),
            ] {
                assert_eq!(reading(text).ok(), want, "{name}: “{text}”");
            }
        }
    }

    #[test]
    fn each_reading_refuses_in_its_fields_words() {
        // (what the reading said, the words it must hold)
        let table = [
            (
                parse_beijing("明天早上"),
                "“明天早上”看不懂：请写成 2021-01-02 08:30 或 2021-01-02",
            ),
            (
                parse_beijing_day_start(" 昨天 ", "时间"),
                "时间“昨天”看不懂：请写成 2022-11-20 14:30 或 2022-11-20",
            ),
            (
                parse_beijing_day_start("下午", "完成时间"),
                "完成时间“下午”看不懂",
            ),
            (
                parse_beijing_minute("2022-11-20", "首次接触时间"),
                "“首次接触时间”应为日期和时间，例如 2022-11-20 08:30，而不是“2022-11-20”",
            ),
            (parse_beijing_cell("  "), "时间不能为空"),
            (parse_beijing_cell("0.5"), "时间“0.5”无法识别"),
            (
                parse_beijing_cell("昨天"),
                "时间“昨天”无法识别，请写成 2022-11-20 08:30",
            ),
        ];
        for (said, words) in table {
            let said = said.unwrap_err();
            assert!(said.contains(words), "{said} ≠ {words}");
        }
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
