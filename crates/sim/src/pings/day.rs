//! One person's day: the plan (legs: stays and moves covering the Beijing day) and the pings drawn
//! from it.

use crate::rng::Rng;

use super::cells::{cell_of, row_col};
use super::meet::{Appointment, Kind};
use super::{DAY, HOUR, MINUTE};

/// Where a person is during a leg.
#[derive(Debug, Clone, Copy)]
enum Place {
    Stay(i64),
    /// Travelling in a straight line from one cell to another between `t0` and `t1` (the leg may
    /// show only part of the move when something cut it).
    Move {
        t0: i64,
        t1: i64,
        from: i64,
        to: i64,
    },
}

#[derive(Debug, Clone, Copy)]
struct Leg {
    from: i64,
    to: i64,
    place: Place,
}

/// Buffers reused from one person-day to the next.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    legs: Vec<Leg>,
    next: Vec<Leg>,
    /// (ts, leg, cell, removable): a random ping may give way to a ping that must be there.
    pings: Vec<(i64, usize, i64, bool)>,
    removable: Vec<u32>,
}

/// Travel time between cells: 8 minutes to get going, 2 minutes per 800 m (bus, e-bike), at most
/// 75 minutes; none within a cell.
pub(super) fn travel(a: i64, b: i64) -> i64 {
    if a == b {
        return 0;
    }
    let ((r0, c0), (r1, c1)) = (row_col(a), row_col(b));
    let cells = (((r1 - r0).pow(2) + (c1 - c0).pow(2)) as f64).sqrt();
    (8 * MINUTE + (cells * 120.0) as i64).min(75 * MINUTE)
}

/// What the person does on this day, decided by the caller.
#[derive(Debug, Clone, Copy)]
pub(super) struct DayPlan {
    pub day_start: i64,
    pub home: i64,
    /// Goes to work or school at this cell today.
    pub work: Option<(i64, bool /* a student */)>,
    /// A market errand: (market cell, chance today).
    pub errand: Option<(i64, f64)>,
    /// Taken to isolation at, found (hospital) at; `i64::MAX` if not.
    pub placed: i64,
    pub found: i64,
    pub isolation_cell: i64,
    pub hospital_cell: i64,
}

impl Scratch {
    fn cell_at(&self, t: i64) -> i64 {
        let leg = self.leg_at(t);
        cell_in(&self.legs[leg], t)
    }

    fn leg_at(&self, t: i64) -> usize {
        self.legs
            .partition_point(|l| l.to <= t)
            .min(self.legs.len().saturating_sub(1))
    }

    /// Replaces what the plan says during `[a, b)` (clipped to the day) with `new`, which covers it.
    fn replace(&mut self, day: (i64, i64), a: i64, b: i64, new: &[Leg]) {
        let (a, b) = (a.max(day.0), b.min(day.1));
        if a >= b {
            return;
        }
        self.next.clear();
        for l in &self.legs {
            if l.from < a {
                self.next.push(Leg {
                    to: l.to.min(a),
                    ..*l
                });
            }
        }
        for l in new {
            let (from, to) = (l.from.max(a), l.to.min(b));
            if from < to {
                self.next.push(Leg { from, to, ..*l });
            }
        }
        for l in &self.legs {
            if l.to > b {
                self.next.push(Leg {
                    from: l.from.max(b),
                    ..*l
                });
            }
        }
        std::mem::swap(&mut self.legs, &mut self.next);
    }

    /// A stay at `cell` from `vs` to `ve`, travelling there from wherever the plan had the person
    /// and back to wherever it has them afterwards (unless `taken`: they are taken away at `ve`).
    fn visit(&mut self, day: (i64, i64), vs: i64, ve: i64, cell: i64, taken: bool) {
        let before = self.cell_at(vs.max(day.0));
        let after = self.cell_at(ve.min(day.1 - 1));
        let tin = travel(before, cell);
        let tout = if taken { 0 } else { travel(cell, after) };
        let (a, b) = (vs - tin, ve + tout);
        let legs = [
            Leg {
                from: a,
                to: vs,
                place: Place::Move {
                    t0: a,
                    t1: vs,
                    from: before,
                    to: cell,
                },
            },
            Leg {
                from: vs,
                to: ve,
                place: Place::Stay(cell),
            },
            Leg {
                from: ve,
                to: b,
                place: Place::Move {
                    t0: ve,
                    t1: b,
                    from: cell,
                    to: after,
                },
            },
        ];
        self.replace(day, a, b, &legs);
    }

    /// Puts a ping at `ts` in `cell`, in place of a random ping of the busiest leg when that leg
    /// keeps at least one: the count stays Poisson, the required sightings are there.
    fn require(&mut self, ts: i64, cell: i64, removable: bool) {
        let leg = self.leg_at(ts);
        let busiest = (0..self.removable.len()).max_by_key(|&l| (self.removable[l], l));
        if let Some(victim) = busiest.filter(|&l| self.removable[l] >= 2)
            && let Some(k) = self.pings.iter().rposition(|p| p.1 == victim && p.3)
        {
            self.pings.swap_remove(k);
            self.removable[victim] -= 1;
        }
        if removable {
            self.removable[leg] += 1;
        }
        self.pings.push((ts, leg, cell, removable));
    }
}

fn cell_in(leg: &Leg, t: i64) -> i64 {
    match leg.place {
        Place::Stay(c) => c,
        Place::Move { t0, t1, from, to } => {
            if t1 <= t0 {
                return to;
            }
            let f = (t - t0).clamp(0, t1 - t0) as f64 / (t1 - t0) as f64;
            let ((r0, c0), (r1, c1)) = (row_col(from), row_col(to));
            cell_of(
                r0 + (f * (r1 - r0) as f64).round() as i64,
                c0 + (f * (c1 - c0) as f64).round() as i64,
            )
        }
    }
}

/// Stays shorter than this need no sighting of their own.
const OBSERVED_STAY: i64 = 15 * MINUTE;
/// Share of the pings spread over the whole day; the rest fall between 06:30 and 23:30, when
/// phones are used.
const NIGHT_SHARE: f64 = 0.12;

/// Builds the day's plan and appends its pings as (ts, cell). `appointments` are this person's
/// for this day; `cdf` is the Poisson(10) distribution of the day's count.
pub(super) fn person_day(
    plan: &DayPlan,
    appointments: &[Appointment],
    rng: &mut Rng,
    cdf: &[f64],
    s: &mut Scratch,
    out: &mut Vec<(i64, i64)>,
) {
    let d0 = plan.day_start;
    let day = (d0, d0 + DAY);
    s.legs.clear();
    s.legs.push(Leg {
        from: day.0,
        to: day.1,
        place: Place::Stay(plan.home),
    });
    let stop = plan.placed.min(plan.found);
    let mut back_home = d0 + 8 * HOUR;
    if stop > d0 {
        if let Some((work, student)) = plan.work {
            // At work or school by 08:00 (16:30 for pupils, 17:00–18:30 for workers).
            let tt = travel(plan.home, work);
            let arrive = d0 + 7 * HOUR + 30 * MINUTE + i64::from(rng.below(30 * 60));
            let leave = if student {
                d0 + 16 * HOUR + 30 * MINUTE + i64::from(rng.below(30 * 60))
            } else {
                d0 + 17 * HOUR + i64::from(rng.below(90 * 60))
            };
            let home = plan.home;
            s.replace(
                day,
                arrive - tt,
                leave + tt,
                &[
                    Leg {
                        from: arrive - tt,
                        to: arrive,
                        place: Place::Move {
                            t0: arrive - tt,
                            t1: arrive,
                            from: home,
                            to: work,
                        },
                    },
                    Leg {
                        from: arrive,
                        to: leave,
                        place: Place::Stay(work),
                    },
                    Leg {
                        from: leave,
                        to: leave + tt,
                        place: Place::Move {
                            t0: leave,
                            t1: leave + tt,
                            from: work,
                            to: home,
                        },
                    },
                ],
            );
            back_home = leave + tt + 15 * MINUTE;
        }
        let to_market = appointments.iter().any(|a| a.kind == Kind::Market);
        if let Some((market, chance)) = plan.errand
            && !to_market
            && rng.chance(chance)
        {
            let length = i64::from(rng.range(20, 120)) * MINUTE;
            let vs = if plan.work.is_some() {
                back_home + i64::from(rng.below(90 * 60))
            } else {
                d0 + 8 * HOUR + i64::from(rng.below(10 * 3600))
            };
            if vs + length + travel(plan.home, market) < d0 + 21 * HOUR {
                s.visit(day, vs, vs + length, market, false);
            }
        }
    }
    // Taken away: from then on at the isolation site, or at the hospital once found.
    if plan.placed < plan.found && plan.placed < day.1 {
        let site = Place::Stay(plan.isolation_cell);
        s.replace(day, plan.placed, day.1, &[leg(plan.placed, day.1, site)]);
    }
    if plan.found < day.1 {
        let site = Place::Stay(plan.hospital_cell);
        s.replace(day, plan.found, day.1, &[leg(plan.found, day.1, site)]);
    }
    // The outbreak's meetings: at the place around the moment, whatever the plan said, and gone
    // when taken away (the moment is before that, but for a meeting the outbreak counts on a day
    // that ended minutes after it began).
    for a in appointments {
        let until = |ve: i64| {
            let end = ve.min(stop.max(a.at + 6 * MINUTE + 1));
            (end, end >= stop)
        };
        let there = |s: &Scratch| {
            s.cell_at((a.at - 5 * MINUTE).max(d0)) == a.cell
                && s.cell_at((a.at + 6 * MINUTE).min(day.1 - 1)) == a.cell
        };
        if a.kind == Kind::Market {
            let vs = a.at - 10 * MINUTE - i64::from(rng.below(30 * 60));
            let ve = a.at + 10 * MINUTE + i64::from(rng.below(30 * 60));
            let (ve, taken) = until(ve);
            s.visit(day, vs, ve, a.cell, taken);
        } else if !there(s) {
            let (ve, taken) = until(a.at + 20 * MINUTE);
            s.visit(day, a.at - 20 * MINUTE, ve, a.cell, taken);
        }
    }

    // The pings: Poisson(10) at times of the day's shape, each where the plan has the person.
    let u = rng.unit();
    let n = cdf.partition_point(|&c| c <= u);
    s.pings.clear();
    s.removable.clear();
    s.removable.resize(s.legs.len(), 0);
    for _ in 0..n {
        let ts = if rng.chance(NIGHT_SHARE) {
            d0 + i64::from(rng.below(DAY as u32))
        } else {
            d0 + 6 * HOUR + 30 * MINUTE + i64::from(rng.below(17 * 3600))
        };
        let leg = s.leg_at(ts);
        let cell = cell_in(&s.legs[leg], ts);
        s.removable[leg] += 1;
        s.pings.push((ts, leg, cell, true));
    }
    // Every stay of a quarter of an hour or more is seen at least once: the network sees a phone
    // that arrives in a cell (a location update), so a visit to the market is never invisible.
    for l in 0..s.legs.len() {
        let leg = s.legs[l];
        if let Place::Stay(cell) = leg.place
            && leg.to - leg.from >= OBSERVED_STAY
            && s.removable[l] == 0
        {
            let ts = leg.from + i64::from(rng.below((leg.to - leg.from) as u32));
            s.require(ts, cell, true);
        }
    }
    for a in appointments {
        let around: [i64; 2] = if a.infectious {
            [-5 * MINUTE, 5 * MINUTE]
        } else {
            [-4 * MINUTE, 6 * MINUTE]
        };
        for dt in around {
            let ts = a.at + dt;
            if (day.0..day.1).contains(&ts) {
                s.require(ts, a.cell, false);
            }
        }
    }
    s.pings.sort_unstable_by_key(|p| (p.0, p.2));
    out.extend(s.pings.iter().map(|p| (p.0, p.2)));
}

fn leg(from: i64, to: i64, place: Place) -> Leg {
    Leg { from, to, place }
}
