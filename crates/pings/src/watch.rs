//! The ingest-time check (analytics.md §9): as pings arrive, raise a designated area's visit and an
//! isolated person's exit at once, instead of at the next batch.
//!
//! Both are per-ping predicates over tiny lookup sets — the areas' cells, the fenced people — so a
//! ping costs one or two hash probes. The fence keeps a little state per fenced person (the
//! current excursion: when it began, how many pings out, whether it has fired), so it obeys the
//! rule's tolerance like [`crate::fence`] and fires **once per excursion**, not once per ping: at
//! the ping that makes the excursion count (the `min_out_pings`-th ping out, or the first ping —
//! out or back home — at least `min_out_seconds` after it began). A ping back home ends the
//! excursion. An area visit fires once per (area, person).
//!
//! Pings are taken in arrival order; a feed that arrives out of order is checked in that order
//! (the batch job, which sorts by time, stays the reference).

use rustc_hash::{FxHashMap, FxHashSet};

use crate::Ping;
use crate::fence::{FenceRule, HomeFence};
use crate::visitors::AreaWindow;

/// What a ping raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchHit {
    /// The first ping of this person in a designated area's cells inside its window.
    AreaVisit { area: i64, ping: Ping },
    /// An excursion out of the home fence that counts under the rule; `ping` is the excursion's
    /// first ping out (when the person left), `at` the ping that made it count.
    FenceBreach {
        ping: Ping,
        home_cell: i64,
        at: Ping,
    },
}

#[derive(Debug, Clone, Copy, Default)]
struct Excursion {
    first: Option<Ping>,
    n_out: u64,
    fired: bool,
}

struct Fenced {
    fence: HomeFence,
    ex: Excursion,
}

/// The designated areas and the fences, checked per ping.
pub struct Watch {
    /// cell → (area id, from, to).
    cells: FxHashMap<i64, Vec<(i64, i64, i64)>>,
    /// (area, person) already reported.
    visited: FxHashSet<(i64, i64)>,
    fenced: FxHashMap<i64, Vec<Fenced>>,
    rule: FenceRule,
}

impl Watch {
    /// Areas with no cells or an empty window watch nothing (the batch job refuses them in words).
    pub fn new(areas: Vec<(i64, AreaWindow)>, fences: Vec<HomeFence>, rule: FenceRule) -> Watch {
        let mut cells: FxHashMap<i64, Vec<(i64, i64, i64)>> = FxHashMap::default();
        for (id, a) in areas {
            if a.from >= a.to {
                continue;
            }
            for c in a.sorted_cells() {
                cells.entry(c).or_default().push((id, a.from, a.to));
            }
        }
        let mut fenced: FxHashMap<i64, Vec<Fenced>> = FxHashMap::default();
        for f in fences.into_iter().filter(|f| f.from < f.to) {
            fenced.entry(f.person_id).or_default().push(Fenced {
                fence: f,
                ex: Excursion::default(),
            });
        }
        Watch {
            cells,
            visited: FxHashSet::default(),
            fenced,
            rule,
        }
    }

    /// The first hit of a ping (an area visit before a breach). Use [`Watch::check_all`] when a
    /// ping may raise both.
    pub fn check(&mut self, ping: &Ping) -> Option<WatchHit> {
        let mut first = None;
        self.each_hit(ping, &mut |h| {
            first.get_or_insert(h);
        });
        first
    }

    /// Every hit of a ping, appended to `out`.
    pub fn check_all(&mut self, ping: &Ping, out: &mut Vec<WatchHit>) {
        self.each_hit(ping, &mut |h| out.push(h));
    }

    fn each_hit(&mut self, ping: &Ping, hit: &mut dyn FnMut(WatchHit)) {
        if let Some(areas) = self.cells.get(&ping.cell_id) {
            for &(area, from, to) in areas {
                if ping.ts >= from && ping.ts < to && self.visited.insert((area, ping.person_id)) {
                    hit(WatchHit::AreaVisit { area, ping: *ping });
                }
            }
        }
        let Some(fs) = self.fenced.get_mut(&ping.person_id) else {
            return;
        };
        let rule = self.rule;
        for f in fs.iter_mut() {
            if ping.ts < f.fence.from || ping.ts >= f.fence.to {
                continue;
            }
            let home = rule.is_home(f.fence.home_cell, ping.cell_id);
            let ex = &mut f.ex;
            if home {
                // Back home: a long excursion still counts by its length, then it ends.
                if let Some(first) = ex.first
                    && !ex.fired
                    && rule.min_out_seconds > 0
                    && ping.ts - first.ts >= rule.min_out_seconds
                {
                    hit(WatchHit::FenceBreach {
                        ping: first,
                        home_cell: f.fence.home_cell,
                        at: *ping,
                    });
                }
                *ex = Excursion::default();
                continue;
            }
            let first = *ex.first.get_or_insert(*ping);
            ex.n_out += 1;
            if !ex.fired && rule.counts(ex.n_out, ping.ts - first.ts) {
                ex.fired = true;
                hit(WatchHit::FenceBreach {
                    ping: first,
                    home_cell: f.fence.home_cell,
                    at: *ping,
                });
            }
        }
    }

    /// How many fenced people are out of their fence right now (an excursion begun, not ended).
    pub fn out_now(&self) -> usize {
        self.fenced
            .values()
            .filter(|fs| fs.iter().any(|f| f.ex.first.is_some()))
            .count()
    }
}
