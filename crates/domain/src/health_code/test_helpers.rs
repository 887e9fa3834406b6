//! Clock and policy shorthands the health-code tests share.

use chrono::TimeZone;

use super::*;

/// A Beijing wall-clock time "2022-11-20 10:00" as UTC.
pub(super) fn bj(s: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    Utc.from_utc_datetime(&(naive - Duration::hours(8)))
}

pub(super) fn h(n: i64) -> Duration {
    Duration::hours(n)
}

pub(super) fn d(n: i64) -> Duration {
    Duration::hours(24 * n)
}

pub(super) fn sec() -> Duration {
    Duration::seconds(1)
}

pub(super) fn hebei() -> &'static CodePolicy {
    policy_by_id("hebei-2022-11").unwrap()
}

pub(super) fn shanghai() -> &'static CodePolicy {
    policy_by_id("shanghai-2022-04").unwrap()
}

pub(super) fn national() -> &'static CodePolicy {
    policy_by_id("national-2022").unwrap()
}

pub(super) fn colour(
    policy: &CodePolicy,
    facts: &[CodeFact],
    negs: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> CodeColour {
    evaluate(policy, facts, negs, now).colour
}

pub(super) fn a() -> DateTime<Utc> {
    bj("2022-11-20 10:00")
}

/// When a period of `n` days from `anchor` is over (the one day-counting rule: 00:00 Beijing as
/// day n + 1 begins).
pub(super) fn end_of(anchor: DateTime<Utc>, n: u32) -> DateTime<Utc> {
    crate::time::period_end(anchor, n)
}

/// [`end_of`] from [`a`]: `end(7)` is 2022-11-27 00:00 Beijing.
pub(super) fn end(n: u32) -> DateTime<Utc> {
    end_of(a(), n)
}
