//! Spatio-temporal companions (时空伴随者) of cases: analytics.md §3 Q2, row for row.
//!
//! **Definition** (Chengdu, November 2021; analytics.md §1 and §3):
//! - *Runs.* Each person's pings in the window `[t0, t1)` are ordered by `(ts, cell_id)` — the
//!   tie-break for pings of one person at the same second is the cell (the SQL says
//!   `ORDER BY ts, cell_id`). A ping vouches for its cell from its `ts` until the person's next ping,
//!   for at most `cap_s`; consecutive pings in the same cell with gaps `<= cap_s` form one run. A run
//!   ends at `min(next ping, last ping + cap_s)`; the person's last ping in the window gives a
//!   zero-length piece, so a run ending there ends at that ping.
//! - *Episodes.* A case's run and a person's run (person ≠ case) in the same cell with
//!   `p.start < c.end AND c.start < p.end` make an episode `[greatest(starts), least(ends))`.
//!   Only its part inside the case's infectious window `[from, to)` counts: the episode
//!   `[gs, le)` becomes `[max(gs, from), min(le, to))` when that is non-empty, and a zero-length
//!   episode (from a zero-length run) counts, with length 0, when `from <= gs < to`. In SQL:
//!   `WHERE greatest(gs, from) < least(le, to) OR (gs = le AND gs >= from AND gs < to)`, with
//!   `ov_start = greatest(gs, from)`, `ov_s = greatest(least(le, to) − greatest(gs, from), 0)`.
//!   With `from <= t0` and `to >= t1` this is Q2 exactly.
//! - *Rows.* Per (person, case, cell): `total_ov_s` (sum), `max_ov_s` (longest), `first_ov_start`
//!   (earliest start). Kept when the co-stay passes (`total_ov_s > min_costay_s`, or `max_ov_s >`
//!   with [`CompanionRule::continuous`]) and either party's stay in that cell over the whole window
//!   (the sum of its run lengths there, not clipped to the case's window) exceeds
//!   `min_cell_stay_s`. A case is never its own companion; a case can be another case's.
//!
//! **How** (analytics.md §9): a first pass decodes `person_id` and, for the cases' rows only,
//! `ts` and `cell_id`, and builds the cases' runs, indexed per cell by start with a running maximum
//! of their ends. The second pass streams the day files one batch (a day) at a time: two threads
//! decode row groups and split the pings by a hash of the person; each thread puts its share in
//! (person, ts, cell) order by a radix sort and sweeps it against its people's state (open run and,
//! for the cases' cells only, stays and episodes), sorted by person and carried from day to day.
//! A run in a cell no case touched only ends runs. Memory is one day of pings plus the state.
//!
//! The daily job (a few cases, so at most `FEW_CELLS` = 200 case cells) adds a pass between the
//! two: the rows of the case cells (the files are sorted by cell; the page index skips the rest)
//! name everyone with a ping in `[c.start − cap_s, c.end)` of a case run `c` in that cell — every
//! run that meets a case run has such a ping — and the second pass sweeps only their pings (all of
//! them: the 30-hour totals and the ends of runs need their pings everywhere).
//!
//! Files: the day files `pings-YYYY-MM-DD.parquet` whose Beijing day meets the window; rows
//! outside `[t0, t1)` are dropped. Files whose `ts` ranges overlap (by their statistics) are swept
//! together, so a ping filed under the wrong day still lands in time order. The rows of a file
//! need not be sorted.

mod read;
mod sort;
mod sweep;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustc_hash::FxHashSet;

use crate::{PingsError, PingsResult, ScanStats};
use read::{DayInput, Unit};
use sort::{Cols, SortBufs};
use sweep::{CaseIndex, Shard};

/// The rule's constants, per jurisdiction (domain-rules.md `CompanionRule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompanionRule {
    /// The longest a ping vouches for its cell (3 600 s).
    pub cap_s: i64,
    /// The co-stay must exceed this (600 s: "共同停留超过10分钟").
    pub min_costay_s: i64,
    /// `false`: the co-stay is cumulative over the window (analytics.md Q2's row set);
    /// `true`: one continuous episode must exceed `min_costay_s`.
    pub continuous: bool,
    /// Either party's stay in the cell over the window must exceed this (108 000 s = 30 h).
    pub min_cell_stay_s: i64,
}

impl CompanionRule {
    /// Chengdu, November 2021, read cumulatively as analytics.md Q2 does.
    pub const CHENGDU_2021: CompanionRule = CompanionRule {
        cap_s: 3_600,
        min_costay_s: 600,
        continuous: false,
        min_cell_stay_s: 108_000,
    };
}

/// A case and its infectious window `[from, to)` (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseWindow {
    pub person_id: i64,
    pub from: i64,
    pub to: i64,
}

/// One companion: a person, the case, the cell they shared, and how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CompanionRow {
    pub person_id: i64,
    pub case_id: i64,
    pub cell_id: i64,
    pub total_ov_s: i64,
    pub max_ov_s: i64,
    pub first_ov_start: i64,
}

/// The job's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompanionRun {
    /// Sorted by (person_id, case_id, cell_id).
    pub rows: Vec<CompanionRow>,
    /// Files and row groups read; `pings_decoded` counts the rows of both passes (the first
    /// decodes `person_id` of every row, the second all three columns).
    pub stats: ScanStats,
    /// Cases with no ping in the window: they can have no companions, and the office should know
    /// (a wrong number, a phone left at home). Sorted.
    pub cases_without_pings: Vec<i64>,
}

const THREADS: usize = 2;
/// Up to this many case cells the job first looks for the people who can be companions at all.
const FEW_CELLS: usize = 200;
/// The longest window a job may ask for; stays are kept in 32-bit seconds.
const MAX_WINDOW_S: i64 = 366 * 86_400;

fn shard_of(pid: i64) -> usize {
    // Fibonacci hashing: consecutive numbers spread evenly over the shards.
    ((pid as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 60) as usize % THREADS
}

fn validate(cases: &[CaseWindow], window: (i64, i64), rule: &CompanionRule) -> PingsResult<()> {
    let (t0, t1) = window;
    if t0 >= t1 {
        return Err(PingsError::Invalid(format!(
            "时空伴随分析的时间窗口为空（{t0} 至 {t1}）"
        )));
    }
    if t1 - t0 > MAX_WINDOW_S {
        return Err(PingsError::Invalid(format!(
            "时空伴随分析的时间窗口超过一年（{t0} 至 {t1}）：规则按最近 14 天计算"
        )));
    }
    if rule.cap_s <= 0 || rule.min_costay_s < 0 || rule.min_cell_stay_s < 0 {
        return Err(PingsError::Invalid(format!(
            "时空伴随规则的参数不合理：单次信令有效时长 {} 秒、共同停留 {} 秒、累计停留 {} 秒",
            rule.cap_s, rule.min_costay_s, rule.min_cell_stay_s
        )));
    }
    if cases.is_empty() {
        return Err(PingsError::Invalid(
            "时空伴随分析没有病例：请先给出病例号码及其传染期".into(),
        ));
    }
    let mut seen = FxHashSet::default();
    for c in cases {
        if c.from >= c.to {
            return Err(PingsError::Invalid(format!(
                "病例 {} 的传染期为空（{} 至 {}）",
                c.person_id, c.from, c.to
            )));
        }
        if !seen.insert(c.person_id) {
            return Err(PingsError::Invalid(format!(
                "病例 {} 在名单中出现了不止一次",
                c.person_id
            )));
        }
    }
    Ok(())
}

fn thread_failed() -> PingsError {
    PingsError::Invalid("时空伴随分析的计算线程意外中止".into())
}

/// Spatio-temporal companions of `cases` from the day files in `dir`, over `window` = `[t0, t1)`.
/// See the module documentation for the exact definition.
pub fn companions(
    dir: &Path,
    cases: &[CaseWindow],
    window: (i64, i64),
    rule: &CompanionRule,
) -> PingsResult<CompanionRun> {
    run(dir, cases, window, rule, FEW_CELLS)
}

/// [`companions`] that never looks for candidates first and sweeps everyone's pings (the full
/// job's path), whatever the number of case cells. For the tests, which check both paths.
#[doc(hidden)]
pub fn companions_sweeping_everyone(
    dir: &Path,
    cases: &[CaseWindow],
    window: (i64, i64),
    rule: &CompanionRule,
) -> PingsResult<CompanionRun> {
    run(dir, cases, window, rule, 0)
}

fn run(
    dir: &Path,
    cases: &[CaseWindow],
    window: (i64, i64),
    rule: &CompanionRule,
    few_cells: usize,
) -> PingsResult<CompanionRun> {
    validate(cases, window, rule)?;
    let (t0, t1) = window;
    let days = read::open_days(dir, t0, t1)?;
    if days.is_empty() {
        return Err(PingsError::Invalid(format!(
            "目录 {} 中没有该时间窗口的位置数据文件（pings-年-月-日.parquet）",
            dir.display()
        )));
    }
    let batches = read::batches(&days);
    let mut stats = ScanStats {
        files: days.len() as u64,
        row_groups_total: days.iter().map(|d| d.row_groups_total as u64).sum(),
        row_groups_read: batches.iter().map(|b| b.len() as u64).sum(),
        pings_decoded: 0,
    };

    // Pass 1: the cases' pings, then their runs.
    let all: Vec<Unit> = batches.concat();
    let case_set = Arc::new(read::PeopleSet::new(cases.iter().map(|c| c.person_id)));
    let (mut case_pings, decoded) =
        parallel_units(&all, |unit, out: &mut Vec<(i64, i64, i64)>| {
            read::decode_people(
                &days[unit.file],
                unit.row_group,
                &case_set,
                t0,
                t1,
                |p, t, c| out.push((p, t, c)),
            )
        })?;
    stats.pings_decoded += decoded;
    case_pings.sort_unstable();
    let index = CaseIndex::build(cases, &case_pings, rule.cap_s);
    let mut cases_without_pings = index.without_pings.clone();
    cases_without_pings.sort_unstable();
    if index.is_empty() {
        // No case run meets its window: nobody can be a companion, and there is nothing to sweep.
        return Ok(CompanionRun {
            rows: Vec::new(),
            stats,
            cases_without_pings,
        });
    }

    // The daily job (few case cells): only people with a ping in a case cell near a case run there
    // can be companions; find them from the rows of those cells (cheap: the files are sorted by
    // cell) and sweep only their pings. For the full job nearly everyone is such a person, and
    // the extra pass would cost more than it saves.
    let candidates = if index.cells() <= few_cells {
        let cells = Arc::new(index.cell_ids());
        let index = &index;
        let (mut hits, decoded) = parallel_units(&all, |unit, out: &mut Vec<i64>| {
            read::decode_cells(
                &days[unit.file],
                unit.row_group,
                &cells,
                t0,
                t1,
                |p, t, c| {
                    if index.touches(p, t, c, rule.cap_s) {
                        out.push(p);
                    }
                },
            )
        })?;
        stats.pings_decoded += decoded;
        hits.sort_unstable();
        hits.dedup();
        if hits.is_empty() {
            return Ok(CompanionRun {
                rows: Vec::new(),
                stats,
                cases_without_pings,
            });
        }
        Some(read::PeopleSet::new(hits))
    } else {
        None
    };

    // Pass 2: everyone (or the candidates), batch by batch.
    let mut shards: Vec<Shard> = (0..THREADS).map(|_| Shard::default()).collect();
    let mut sort_bufs: Vec<SortBufs> = (0..THREADS).map(|_| SortBufs::default()).collect();
    let mut parts: Vec<Vec<Cols>> = Vec::new();
    for batch in &batches {
        stats.pings_decoded += decode_batch(&days, batch, t0, t1, candidates.as_ref(), &mut parts)?;
        std::thread::scope(|s| {
            let handles: Vec<_> = shards
                .iter_mut()
                .zip(sort_bufs.iter_mut())
                .enumerate()
                .map(|(k, (shard, bufs))| {
                    let mine: Vec<&Cols> = parts.iter().map(|p| &p[k]).collect();
                    let index = &index;
                    s.spawn(move || {
                        let sorted = sort::sort_batch(&mine, bufs);
                        shard.sweep(&sorted, index, rule.cap_s);
                    })
                })
                .collect();
            handles
                .into_iter()
                .try_for_each(|h| h.join().map_err(|_| thread_failed()))
        })?;
    }
    let mut rows = std::thread::scope(|s| {
        let handles: Vec<_> = shards
            .iter_mut()
            .map(|shard| {
                let index = &index;
                s.spawn(move || shard.finish(index, rule))
            })
            .collect();
        let mut rows = Vec::new();
        for h in handles {
            rows.extend(h.join().map_err(|_| thread_failed())?);
        }
        Ok::<_, PingsError>(rows)
    })?;
    rows.sort_unstable();
    Ok(CompanionRun {
        rows,
        stats,
        cases_without_pings,
    })
}

/// Runs `work` over the units on the worker threads; returns what they gathered and the rows decoded.
fn parallel_units<T: Send>(
    units: &[Unit],
    work: impl Fn(Unit, &mut Vec<T>) -> PingsResult<u64> + Sync,
) -> PingsResult<(Vec<T>, u64)> {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    let mut rows = 0;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&unit) = units.get(i) else { break };
                        rows += work(unit, &mut out)?;
                    }
                    Ok::<_, PingsError>((out, rows))
                })
            })
            .collect();
        let mut all = Vec::new();
        let mut rows = 0;
        for h in handles {
            let (out, r) = h.join().map_err(|_| thread_failed())??;
            all.extend(out);
            rows += r;
        }
        Ok((all, rows))
    })
}

/// Decodes a batch's row groups on the worker threads into `parts` (one entry per thread, each
/// split by shard; the buffers are reused from batch to batch). Returns the rows decoded.
fn decode_batch(
    days: &[DayInput],
    units: &[Unit],
    t0: i64,
    t1: i64,
    only: Option<&read::PeopleSet>,
    parts: &mut Vec<Vec<Cols>>,
) -> PingsResult<u64> {
    parts.resize_with(THREADS, || (0..THREADS).map(|_| Cols::default()).collect());
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .iter_mut()
            .map(|out| {
                let next = &next;
                s.spawn(move || {
                    for cols in out.iter_mut() {
                        cols.clear();
                    }
                    let mut rows = 0;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&unit) = units.get(i) else { break };
                        rows += read::decode_unit(
                            &days[unit.file],
                            unit.row_group,
                            t0,
                            t1,
                            |p, t, c| {
                                if only.is_none_or(|o| o.contains(p)) {
                                    out[shard_of(p)].push(p, t, c)
                                }
                            },
                        )?;
                    }
                    Ok::<_, PingsError>(rows)
                })
            })
            .collect();
        let mut rows = 0;
        for h in handles {
            rows += h.join().map_err(|_| thread_failed())??;
        }
        Ok(rows)
    })
}
