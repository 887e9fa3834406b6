//! The companion job's state: the cases' runs indexed per cell, and per person the open run and
//! what the person has accumulated in the cases' cells.
//!
//! Runs are built exactly as analytics.md §3 Q2's SQL builds them: a person's pings in
//! (ts, cell) order; a ping continues the run when it is in the same cell at most `cap_s` after the
//! previous ping; a run ends at `min(next ping, last ping + cap_s)`, or at its last ping when no
//! ping of the person follows in the window (the zero-length last piece).

use rustc_hash::{FxHashMap, FxHashSet};

use super::sort::Sorted;
use super::{CaseWindow, CompanionRow, CompanionRule};

/// A run that is still open: its cell, its first and its last ping.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Open {
    pub cell: i64,
    pub start: i64,
    pub last: i64,
}

impl Open {
    pub fn new(ts: i64, cell: i64) -> Open {
        Open {
            cell,
            start: ts,
            last: ts,
        }
    }

    /// Feeds the person's next ping; returns the run it closes as (cell, start, end).
    #[inline(always)]
    pub fn step(&mut self, ts: i64, cell: i64, cap: i64) -> Option<(i64, i64, i64)> {
        if cell == self.cell && ts.saturating_sub(self.last) <= cap {
            self.last = ts;
            None
        } else {
            let closed = (self.cell, self.start, ts.min(self.last.saturating_add(cap)));
            *self = Open::new(ts, cell);
            Some(closed)
        }
    }

    /// The run as it ends when no ping follows in the window.
    pub fn finish(&self) -> (i64, i64, i64) {
        (self.cell, self.start, self.last)
    }
}

/// A case's run in one cell.
#[derive(Clone, Copy, Debug)]
struct CaseRun {
    start: i64,
    end: i64,
    pid: i64,
    case: u32,
}

/// The cases' runs in one cell, by start, with the running maximum of their ends so a search can
/// stop as soon as no earlier run reaches the person's run. Hour buckets of the starts find where
/// to begin without a binary search over the whole cell, and reject most runs of people at once
/// (no case run starting before the bucket's end reaches back to the person's run).
struct CellRuns {
    cell: i64,
    runs: Vec<CaseRun>,
    max_end: Vec<i64>,
    /// The first bucket's start: the earliest case run start in the cell.
    base: i64,
    /// `lo[h]`: the first run starting at or after `base + h·BUCKET_S`; one more entry than buckets.
    lo: Vec<u32>,
    /// `reach[h]`: the latest end of the runs starting before the end of bucket h.
    reach: Vec<i64>,
}

const BUCKET_S: i64 = 3_600;

impl CellRuns {
    fn index(&mut self) {
        self.base = self.runs.first().map_or(0, |r| r.start);
        let last = self.runs.last().map_or(0, |r| r.start);
        let buckets = ((last - self.base) / BUCKET_S + 1) as usize;
        self.lo = Vec::with_capacity(buckets + 1);
        self.reach = Vec::with_capacity(buckets);
        for h in 0..=buckets {
            let edge = self.base + h as i64 * BUCKET_S;
            let k = self.runs.partition_point(|r| r.start < edge);
            self.lo.push(k as u32);
            if h > 0 {
                self.reach
                    .push(k.checked_sub(1).map_or(i64::MIN, |j| self.max_end[j]));
            }
        }
    }

    /// The case runs with `start < e && s < end`, calling `f` on each.
    #[inline(always)]
    fn overlapping(&self, s: i64, e: i64, mut f: impl FnMut(&CaseRun)) {
        if e <= self.base {
            return;
        }
        let h = ((e - 1 - self.base) / BUCKET_S) as usize;
        let hi = if h >= self.reach.len() {
            if self.max_end.last().is_none_or(|&m| m <= s) {
                return;
            }
            self.runs.len()
        } else {
            if self.reach[h] <= s {
                return;
            }
            let (a, b) = (self.lo[h] as usize, self.lo[h + 1] as usize);
            a + self.runs[a..b].partition_point(|r| r.start < e)
        };
        for k in (0..hi).rev() {
            if self.max_end[k] <= s {
                break;
            }
            let r = &self.runs[k];
            if r.end > s {
                f(r);
            }
        }
    }
}

/// The cases' runs that can give an episode, indexed by cell.
pub(crate) struct CaseIndex {
    cell_idx: FxHashMap<i64, u32>,
    cells: Vec<CellRuns>,
    cases: Vec<CaseWindow>,
    /// Seconds each case stayed in each indexed cell over the window (case index, cell index).
    case_stay: FxHashMap<(u32, u32), i64>,
    /// Cases with no ping in the window.
    pub without_pings: Vec<i64>,
}

impl CaseIndex {
    /// Builds the index from the cases' pings in the window, sorted by (person, ts, cell).
    pub fn build(cases: &[CaseWindow], pings: &[(i64, i64, i64)], cap: i64) -> CaseIndex {
        let case_of: FxHashMap<i64, u32> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| (c.person_id, i as u32))
            .collect();
        let mut runs: Vec<(i64, CaseRun)> = Vec::new(); // (cell, run)
        let mut seen = FxHashSet::default();
        let mut i = 0;
        while i < pings.len() {
            let (pid, ts, cell) = pings[i];
            seen.insert(pid);
            let Some(&case) = case_of.get(&pid) else {
                i += 1;
                continue;
            };
            let mut open = Open::new(ts, cell);
            i += 1;
            let mut push = |(cell, start, end): (i64, i64, i64)| {
                runs.push((
                    cell,
                    CaseRun {
                        start,
                        end,
                        pid,
                        case,
                    },
                ))
            };
            while i < pings.len() && pings[i].0 == pid {
                if let Some(run) = open.step(pings[i].1, pings[i].2, cap) {
                    push(run);
                }
                i += 1;
            }
            push(open.finish());
        }
        let mut stay_by_cell: FxHashMap<(u32, i64), i64> = FxHashMap::default();
        for (cell, r) in &runs {
            *stay_by_cell.entry((r.case, *cell)).or_default() += r.end - r.start;
        }
        // Only runs that meet the case's own window can give an episode that counts.
        runs.retain(|(_, r)| {
            let w = &cases[r.case as usize];
            if r.start == r.end {
                w.from <= r.start && r.start < w.to
            } else {
                r.start.max(w.from) < r.end.min(w.to)
            }
        });
        runs.sort_unstable_by_key(|(cell, r)| (*cell, r.start, r.end, r.pid));
        let mut cell_idx = FxHashMap::default();
        let mut cells: Vec<CellRuns> = Vec::new();
        for (cell, r) in runs {
            if cells.last().is_none_or(|c| c.cell != cell) {
                cell_idx.insert(cell, cells.len() as u32);
                cells.push(CellRuns {
                    cell,
                    runs: Vec::new(),
                    max_end: Vec::new(),
                    base: 0,
                    lo: Vec::new(),
                    reach: Vec::new(),
                });
            }
            if let Some(c) = cells.last_mut() {
                let m = c.max_end.last().copied().unwrap_or(i64::MIN).max(r.end);
                c.runs.push(r);
                c.max_end.push(m);
            }
        }
        for c in &mut cells {
            c.index();
        }
        let case_stay = stay_by_cell
            .into_iter()
            .filter_map(|((case, cell), s)| cell_idx.get(&cell).map(|&ci| ((case, ci), s)))
            .collect();
        let without_pings = cases
            .iter()
            .filter(|c| !seen.contains(&c.person_id))
            .map(|c| c.person_id)
            .collect();
        CaseIndex {
            cell_idx,
            cells,
            cases: cases.to_vec(),
            case_stay,
            without_pings,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    pub fn cells(&self) -> usize {
        self.cells.len()
    }

    /// The cells with case runs, sorted.
    pub fn cell_ids(&self) -> Vec<i64> {
        let mut v: Vec<i64> = self.cells.iter().map(|c| c.cell).collect();
        v.sort_unstable();
        v
    }

    /// Whether a ping of someone else at `ts` in `cell` can belong to a run that meets a case run
    /// there: such a run has a ping in `[c.start − cap, c.end)` (its last ping before the case run
    /// ends is at most `cap` before the run's end, and the run ends after the case run starts).
    pub fn touches(&self, pid: i64, ts: i64, cell: i64, cap: i64) -> bool {
        let Some(&ci) = self.cell_idx.get(&cell) else {
            return false;
        };
        let mut hit = false;
        // Runs with start <= ts + cap and end > ts.
        self.cells[ci as usize].overlapping(ts, ts.saturating_add(cap).saturating_add(1), |r| {
            hit |= r.pid != pid;
        });
        hit
    }
}

const NONE: u32 = u32::MAX;

/// Stays kept inline in the person's state (a person is in few case cells); more go to `Acc`.
const INLINE_STAYS: usize = 3;

/// One person's state: 64 bytes, swept in person order every day, so it streams through the cache.
#[derive(Clone, Copy)]
struct Person {
    pid: i64,
    open: Open,
    /// Index of the person's accumulator in `Shard::accs`, or `NONE` while the person has had no
    /// episode and no more than `INLINE_STAYS` case cells.
    acc: u32,
    /// (cell index, seconds) in case cells; `NONE` marks a free slot. Seconds fit: the window is
    /// at most a year.
    stays: [(u32, u32); INLINE_STAYS],
}

impl Person {
    fn new(pid: i64, ts: i64, cell: i64) -> Person {
        Person {
            pid,
            open: Open::new(ts, cell),
            acc: NONE,
            stays: [(NONE, 0); INLINE_STAYS],
        }
    }

    fn stay(&self, acc: Option<&Acc>, cell: u32) -> i64 {
        if let Some(s) = self.stays.iter().find(|s| s.0 == cell) {
            return i64::from(s.1);
        }
        acc.and_then(|a| a.stays.iter().find(|s| s.0 == cell))
            .map_or(0, |s| s.1)
    }
}

/// What one (person, case, cell) has gathered: total, longest, earliest start.
#[derive(Clone, Copy)]
struct Pair {
    total: i64,
    max: i64,
    first: i64,
}

fn pair_key(case: u32, cell: u32) -> u64 {
    (u64::from(cell) << 32) | u64::from(case)
}

#[derive(Default)]
struct Acc {
    /// Seconds in each case cell (cell index), beyond the person's inline stays.
    stays: Vec<(u32, i64)>,
    /// The (case, cell) keys of `pairs`, apart so a lookup scans a few cache lines only.
    keys: Vec<u64>,
    pairs: Vec<Pair>,
}

/// The people of one shard (a hash share of the persons), sorted by person id.
#[derive(Default)]
pub(crate) struct Shard {
    people: Vec<Person>,
    fresh: Vec<Person>,
    accs: Vec<Acc>,
}

impl Shard {
    /// Sweeps a batch (sorted by person, ts, cell) that follows every earlier batch in time.
    pub fn sweep(&mut self, batch: &Sorted, idx: &CaseIndex, cap: i64) {
        let n = batch.len();
        let mut i = 0;
        let mut cur = 0;
        self.fresh.clear();
        while i < n {
            let (pid, ts, cell) = batch.get(i);
            while cur < self.people.len() && self.people[cur].pid < pid {
                cur += 1;
            }
            let known = cur < self.people.len() && self.people[cur].pid == pid;
            let mut person = if known {
                self.people[cur]
            } else {
                i += 1;
                Person::new(pid, ts, cell)
            };
            while i < n {
                let (p, t, c) = batch.get(i);
                if p != pid {
                    break;
                }
                if let Some((rc, s, e)) = person.open.step(t, c, cap) {
                    close(idx, &mut self.accs, &mut person, rc, s, e);
                }
                i += 1;
            }
            if known {
                self.people[cur] = person;
            } else {
                self.fresh.push(person);
            }
        }
        if !self.fresh.is_empty() {
            let old = std::mem::take(&mut self.people);
            let mut merged = Vec::with_capacity(old.len() + self.fresh.len());
            let (mut a, mut b) = (old.into_iter().peekable(), self.fresh.drain(..).peekable());
            loop {
                let take_a = match (a.peek(), b.peek()) {
                    (Some(x), Some(y)) => x.pid < y.pid,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => break,
                };
                let next = if take_a { a.next() } else { b.next() };
                if let Some(p) = next {
                    merged.push(p);
                }
            }
            self.people = merged;
        }
    }

    /// Closes every open run (the window's end) and returns the rows the rule keeps.
    pub fn finish(&mut self, idx: &CaseIndex, rule: &CompanionRule) -> Vec<CompanionRow> {
        for k in 0..self.people.len() {
            let mut person = self.people[k];
            let (cell, s, e) = person.open.finish();
            close(idx, &mut self.accs, &mut person, cell, s, e);
            self.people[k] = person;
        }
        let mut rows = Vec::new();
        for person in &self.people {
            let Some(acc) = self.accs.get(person.acc as usize) else {
                continue;
            };
            for (&key, pair) in acc.keys.iter().zip(&acc.pairs) {
                let (case, cell) = ((key & u64::from(u32::MAX)) as u32, (key >> 32) as u32);
                let co = if rule.continuous {
                    pair.max
                } else {
                    pair.total
                };
                if co <= rule.min_costay_s {
                    continue;
                }
                let own = person.stay(Some(acc), cell);
                let theirs = idx.case_stay.get(&(case, cell)).copied().unwrap_or(0);
                if own <= rule.min_cell_stay_s && theirs <= rule.min_cell_stay_s {
                    continue;
                }
                rows.push(CompanionRow {
                    person_id: person.pid,
                    case_id: idx.cases[case as usize].person_id,
                    cell_id: idx.cells[cell as usize].cell,
                    total_ov_s: pair.total,
                    max_ov_s: pair.max,
                    first_ov_start: pair.first,
                });
            }
        }
        rows
    }
}

/// A person's run `[s, e)` in `cell` has closed: count its stay if the cell is a case cell, and
/// join it with the cases' runs there (`p.start < c.end AND c.start < p.end`, p ≠ c).
#[inline]
fn close(idx: &CaseIndex, accs: &mut Vec<Acc>, person: &mut Person, cell: i64, s: i64, e: i64) {
    let Some(&ci) = idx.cell_idx.get(&cell) else {
        return;
    };
    add_stay(accs, person, ci, e - s);
    let pid = person.pid;
    idx.cells[ci as usize].overlapping(s, e, |r| {
        if r.pid == pid {
            return;
        }
        let w = &idx.cases[r.case as usize];
        let (gs, le) = (s.max(r.start), e.min(r.end));
        let (a0, b0) = (gs.max(w.from), le.min(w.to));
        let (first, len) = if a0 < b0 {
            (a0, b0 - a0)
        } else if gs == le && w.from <= gs && gs < w.to {
            (gs, 0)
        } else {
            return;
        };
        let a = acc_of(accs, &mut person.acc);
        let key = pair_key(r.case, ci);
        match a.keys.iter().position(|&k| k == key) {
            Some(j) => {
                let p = &mut a.pairs[j];
                p.total += len;
                p.max = p.max.max(len);
                p.first = p.first.min(first);
            }
            None => {
                a.keys.push(key);
                a.pairs.push(Pair {
                    total: len,
                    max: len,
                    first,
                });
            }
        }
    });
}

fn acc_of<'a>(accs: &'a mut Vec<Acc>, slot: &mut u32) -> &'a mut Acc {
    if *slot == NONE {
        *slot = accs.len() as u32;
        accs.push(Acc::default());
    }
    let k = *slot as usize;
    &mut accs[k]
}

#[inline]
fn add_stay(accs: &mut Vec<Acc>, person: &mut Person, ci: u32, secs: i64) {
    let secs32 = u32::try_from(secs).unwrap_or(u32::MAX);
    for slot in person.stays.iter_mut() {
        if slot.0 == ci {
            slot.1 = slot.1.saturating_add(secs32);
            return;
        }
        if slot.0 == NONE {
            *slot = (ci, secs32);
            return;
        }
    }
    let a = acc_of(accs, &mut person.acc);
    match a.stays.iter_mut().find(|x| x.0 == ci) {
        Some(x) => x.1 += secs,
        None => a.stays.push((ci, secs)),
    }
}
