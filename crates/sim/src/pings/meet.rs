//! Appointments: where and when the outbreak's meetings happened, so the movements put both
//! people there (the pings agree with the exposures the epidemiologist records).
//!
//! The outbreak knows only the simulation day of a meeting (a day from `OutbreakPlan::start`, which
//! need not be a midnight) and records its exposures from 8 h to 20 h into that day. Each meeting
//! gets a moment in that span, at the hours the place is used (home early morning or evening,
//! work by day, market in its opening hours) when the span allows, and before either person was
//! taken away (found or placed). The infectious person's meetings of one kind and day share one
//! moment: one trip to the market meets several people.

use std::collections::BTreeMap;

use crate::outbreak::{Meeting, Setting};
use crate::rng::Rng;

use super::{DAY, HOUR, MINUTE, beijing_day};

/// What kind of place an appointment is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Home,
    Work,
    Market,
}

/// One person at one place around one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Appointment {
    /// The Beijing day index ([`beijing_day`]) the appointment's pings fall on.
    pub bday: i64,
    pub agent: u32,
    pub at: i64,
    pub cell: i64,
    pub kind: Kind,
    /// The infectious person (pings 5 min either side) rather than the other (4 min before, 6 after),
    /// so the two runs overlap whatever else the two do.
    pub infectious: bool,
}

/// Where a person's meetings take place, as the movements see them.
pub(super) trait Places {
    fn has_pings(&self, agent: usize) -> bool;
    fn home(&self, agent: usize) -> i64;
    fn work(&self, agent: usize) -> Option<i64>;
    fn market(&self, agent: usize) -> i64;
    /// When the person was taken away (found or placed), `i64::MAX` if never.
    fn stop(&self, agent: usize) -> i64;
}

/// Hours of the day (Beijing, seconds from midnight) each kind of place is used at.
fn preferred(kind: Kind) -> &'static [(i64, i64)] {
    match kind {
        Kind::Home => &[
            (5 * HOUR + 30 * MINUTE, 7 * HOUR),
            (18 * HOUR + 30 * MINUTE, 22 * HOUR),
        ],
        Kind::Work => &[(8 * HOUR + 15 * MINUTE, 16 * HOUR + 30 * MINUTE)],
        Kind::Market => &[(8 * HOUR, 18 * HOUR + 30 * MINUTE)],
    }
}

/// A moment in `[lo, hi]`, at the kind's hours when they overlap it, uniform otherwise.
fn moment(lo: i64, hi: i64, kind: Kind, rng: &mut Rng) -> i64 {
    let mut spans: Vec<(i64, i64)> = Vec::new();
    for day in beijing_day(lo)..=beijing_day(hi) {
        let midnight = day * DAY - 8 * HOUR;
        for &(a, b) in preferred(kind) {
            let (a, b) = ((midnight + a).max(lo), (midnight + b).min(hi));
            if a < b {
                spans.push((a, b));
            }
        }
    }
    let total: i64 = spans.iter().map(|(a, b)| b - a).sum();
    if total == 0 {
        return lo + (rng.unit() * (hi - lo) as f64) as i64;
    }
    let mut x = (rng.unit() * total as f64) as i64;
    for (a, b) in spans {
        if x < b - a {
            return a + x;
        }
        x -= b - a;
    }
    hi
}

/// The appointments of all meetings, sorted by (Beijing day, agent, moment). `start` is the
/// simulation's day 0 (Unix seconds).
pub(super) fn appointments(
    meetings: &[Meeting],
    places: &impl Places,
    start: i64,
    seed: u64,
) -> Vec<Appointment> {
    let mut rng = Rng::new(seed, 0x0A99_0147);
    let mut by_trip: BTreeMap<(u32, usize, Setting), Vec<usize>> = BTreeMap::new();
    for m in meetings {
        by_trip
            .entry((m.day, m.infectious, m.setting))
            .or_default()
            .push(m.other);
    }
    let mut out = Vec::new();
    for ((day, i, setting), others) in by_trip {
        let (kind, cell) = match setting {
            Setting::Household => (Kind::Home, places.home(i)),
            Setting::Workplace => match places.work(i) {
                Some(cell) => (Kind::Work, cell),
                None => continue,
            },
            Setting::Market => (Kind::Market, places.market(i)),
            Setting::Village => continue,
        };
        if cell == 0 {
            // The infectious person's village is not on the plan: nowhere to meet.
            continue;
        }
        let day_start = start + i64::from(day) * DAY;
        // The outbreak records a day's meetings from 8 h to 20 h into it, ending before the
        // infectious person is taken away; a meeting whose day is cut short moves earlier.
        let earliest = day_start + 6 * MINUTE;
        let lo = day_start + 8 * HOUR;
        let hi = (day_start + 20 * HOUR).min(places.stop(i).saturating_sub(10 * MINUTE));
        let at = if hi >= lo {
            moment(lo, hi, kind, &mut rng)
        } else if hi >= earliest {
            moment(earliest, hi, kind, &mut rng)
        } else {
            earliest
        };
        let mut lead: Vec<i64> = Vec::new();
        for j in others {
            let at = at
                .min(places.stop(j).saturating_sub(10 * MINUTE))
                .max(earliest);
            if !lead.contains(&at) {
                lead.push(at);
            }
            if places.has_pings(j) {
                push(&mut out, j, at, cell, kind, false);
            }
        }
        if places.has_pings(i) {
            for at in lead {
                push(&mut out, i, at, cell, kind, true);
            }
        }
    }
    out.sort_by_key(|a| (a.bday, a.agent, a.at, a.infectious));
    out.dedup();
    out
}

/// One appointment, on each Beijing day its pings touch.
fn push(out: &mut Vec<Appointment>, agent: usize, at: i64, cell: i64, kind: Kind, lead: bool) {
    let first = beijing_day(at - 10 * MINUTE);
    let last = beijing_day(at + 10 * MINUTE);
    for bday in first..=last {
        out.push(Appointment {
            bday,
            agent: agent as u32,
            at,
            cell,
            kind,
            infectious: lead,
        });
    }
}
