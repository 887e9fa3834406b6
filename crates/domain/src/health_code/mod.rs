//! Health codes 健康码: the colour, the pop-up (弹窗) and the test badge of one person, computed from
//! the facts known about them (a case, a close contact, an arrival, a pop-up cause…), their negative
//! test results and the time. The rules are versioned policy tables kept as JSON data with their
//! sources (domain-rules.md §0, §3, §14.4–14.6); `evaluate` only applies them.
//!
//! # Time convention
//!
//! Durations are counted in elapsed time from the fact's anchor, 24 hours a day: "red within 7 days
//! of the last contact" is red while `now < anchor + 7×24 h`; "days 8–10 yellow" is yellow while
//! `anchor + 7×24 h ≤ now < anchor + 10×24 h`. Day k (1-based) of a measure is the k-th 24 hours
//! after the anchor. This is simpler than Beijing calendar days, never ends a measure earlier than
//! the calendar reading would by more than a day, and gives every boundary an exact instant, which
//! the platform shows ("红码至11月27日10:00"). The dates in words are Beijing time.
//!
//! "Green after N days **and** a negative" needs a negative sampled no earlier than the table's
//! `release_negative_after` (for the shipped tables: during the last 24 hours of the period or later,
//! i.e. the last scheduled test of the measure; a negative from day 1 proves nothing on day 10).
//! A negative counts once it is sampled at or before `now` (test validity runs from sampling, §3.8).
//!
//! A fact anchored after `now` is not in force yet and is ignored.
//!
//! By the sub-areas of `app::health_code`: the colours, badges and states shown (`codes`), the facts
//! that colour a code (`facts`), the versioned policy tables (`policy`) and `evaluate`.

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

mod codes;
mod evaluate;
mod facts;
mod policy;
#[cfg(test)]
mod test_helpers;

pub use codes::*;
pub use evaluate::*;
pub use facts::*;
pub use policy::*;
#[cfg(test)]
use test_helpers::*;

/// Beijing time is UTC+8 all year.
const BEIJING_OFFSET_HOURS: i64 = 8;

/// The Beijing wall-clock time of an instant.
pub(crate) fn beijing(t: DateTime<Utc>) -> NaiveDateTime {
    (t + Duration::hours(BEIJING_OFFSET_HOURS)).naive_utc()
}

/// The Beijing calendar date of an instant.
pub fn beijing_date(t: DateTime<Utc>) -> NaiveDate {
    crate::time::beijing_date(t)
}

/// "11月20日" (Beijing).
pub(crate) fn month_day_zh(t: DateTime<Utc>) -> String {
    let b = beijing(t);
    format!("{}月{}日", b.month(), b.day())
}

/// "11月27日10:00" (Beijing).
pub(crate) fn month_day_time_zh(t: DateTime<Utc>) -> String {
    let b = beijing(t);
    format!(
        "{}月{}日{:02}:{:02}",
        b.month(),
        b.day(),
        b.hour(),
        b.minute()
    )
}

/// When a phase of `n` days counted from `anchor` is over: the one day-counting rule
/// ([`crate::time::period_end`]), so a code turns the night its table's day `n` ends — the day the
/// isolation plan, which counts the same way, ends its phase.
/// Zero days is the anchor itself ("a negative after discharge").
fn after_days(anchor: DateTime<Utc>, n: u32) -> DateTime<Utc> {
    if n == 0 {
        anchor
    } else {
        crate::time::period_end(anchor, n)
    }
}
