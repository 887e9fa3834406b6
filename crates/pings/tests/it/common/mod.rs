//! Shared by the pings tests: a small generated set (made once per test binary) and
//! straightforward in-memory references of analytics.md §3, written from the definitions
//! without the kernels' shortcuts (no pruning, no prefilter, no parallel scan).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fangkong_pings::Ping;
use fangkong_pings::fence::{BreachRow, FenceRule, HomeFence};
use fangkong_pings::layout::{list_days, read_all};
use fangkong_pings::synth::{SynthLists, SynthPlan, generate};
use fangkong_pings::visitors::{AreaWindow, VisitorRow};

pub struct Set {
    pub dir: PathBuf,
    pub lists: SynthLists,
    pub pings: Vec<Ping>,
    _tmp: tempfile::TempDir,
}

/// 3 000 people over 8 days (a weekend included, isolations of 7 days fit), generated once.
pub fn small_set() -> &'static Set {
    static SET: OnceLock<Set> = OnceLock::new();
    SET.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("pings");
        let plan = SynthPlan {
            people: 3_000,
            days: 8,
            seed: 7,
            start: SynthPlan::START,
        };
        let lists = generate(&plan, &dir).expect("generate");
        let mut pings = Vec::new();
        for d in list_days(&dir).expect("list") {
            pings.extend(read_all(&d.path).expect("read"));
        }
        Set {
            dir,
            lists,
            pings,
            _tmp: tmp,
        }
    })
}

/// Q1 by the book: filter, group by person.
pub fn visitors_reference(pings: &[Ping], area: &AreaWindow) -> Vec<VisitorRow> {
    let cells: BTreeSet<i64> = area.cells.iter().copied().collect();
    let mut by: BTreeMap<i64, Vec<&Ping>> = BTreeMap::new();
    for p in pings {
        if cells.contains(&p.cell_id) && p.ts >= area.from && p.ts < area.to {
            by.entry(p.person_id).or_default().push(p);
        }
    }
    by.into_iter()
        .map(|(person_id, ps)| VisitorRow {
            person_id,
            first_ts: ps.iter().map(|p| p.ts).min().unwrap_or(0),
            last_ts: ps.iter().map(|p| p.ts).max().unwrap_or(0),
            n_pings: ps.len() as i64,
            n_cells: ps.iter().map(|p| p.cell_id).collect::<BTreeSet<_>>().len() as i64,
        })
        .collect()
}

/// Q3 with a rule, by the book: per fence, the person's pings in the window in ts order; runs of
/// pings out; a run counts with enough pings or enough time until the next ping home (or the
/// window's end); the counted pings grouped by person.
pub fn fence_reference(pings: &[Ping], fences: &[HomeFence], rule: &FenceRule) -> Vec<BreachRow> {
    let home = |f: &HomeFence, cell: i64| {
        let (hr, hc) = (f.home_cell / 10_000, f.home_cell % 10_000);
        let (r, c) = (cell / 10_000, cell % 10_000);
        cell == f.home_cell
            || (rule.neighbours_are_home && (hr - r).abs() <= 1 && (hc - c).abs() <= 1)
    };
    let mut counted: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    for f in fences {
        let mut mine: Vec<(i64, i64)> = pings
            .iter()
            .filter(|p| p.person_id == f.person_id && p.ts >= f.from && p.ts < f.to)
            .map(|p| (p.ts, p.cell_id))
            .collect();
        mine.sort();
        let mut run: Vec<(i64, i64)> = Vec::new();
        let mut close = |run: &mut Vec<(i64, i64)>, back: i64| {
            if run.is_empty() {
                return;
            }
            let long = rule.min_out_seconds > 0 && back - run[0].0 >= rule.min_out_seconds;
            if run.len() as u32 >= rule.min_out_pings.max(1) || long {
                counted
                    .entry(f.person_id)
                    .or_default()
                    .extend(run.iter().copied());
            }
            run.clear();
        };
        for &(ts, cell) in &mine {
            if home(f, cell) {
                close(&mut run, ts);
            } else {
                run.push((ts, cell));
            }
        }
        close(&mut run, f.to);
    }
    counted
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(person_id, v)| BreachRow {
            person_id,
            first_out_ts: v.iter().map(|x| x.0).min().unwrap_or(0),
            last_out_ts: v.iter().map(|x| x.0).max().unwrap_or(0),
            n_out_pings: v.len() as i64,
            n_out_cells: v.iter().map(|x| x.1).collect::<BTreeSet<_>>().len() as i64,
        })
        .collect()
}

/// A directory of day files written from the given pings with small row groups.
pub fn write_days(dir: &Path, pings: &[Ping], row_group_rows: usize) {
    let mut by_day: BTreeMap<i64, Vec<Ping>> = BTreeMap::new();
    for p in pings {
        by_day
            .entry(fangkong_pings::layout::day_start(p.ts))
            .or_default()
            .push(*p);
    }
    for (day, mut ps) in by_day {
        fangkong_pings::layout::write_day_grouped(dir, day, &mut ps, row_group_rows)
            .expect("write");
    }
}
