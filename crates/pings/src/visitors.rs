//! Risk-area visitors (风险区域到访人员), analytics.md §3 Q1: the pings with `cell_id` in the
//! area's cells and `from ≤ ts < to`, grouped by person: `person_id, first_ts, last_ts, n_pings,
//! n_cells`, sorted by person.
//!
//! Why it is fast: the day files are sorted by cell, so the area's cells sit in one or two row
//! groups a day; the `ts` and `cell_id` statistics drop the other row groups and days, and the page
//! index drops the pages of those row groups whose `cell_id` range misses the area, so only a few
//! pages are decoded at all.

use std::path::Path;

use rustc_hash::FxHashMap;

use crate::layout::{DAY_S, Prune, Want, list_days, scan_parallel};
use crate::{PingsError, PingsResult, ScanStats};

/// A designated area: its cells and its window `[from, to)` (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaWindow {
    pub cells: Vec<i64>,
    pub from: i64,
    pub to: i64,
}

impl AreaWindow {
    /// Refuse an area a query cannot answer, in words.
    pub fn validate(&self) -> PingsResult<()> {
        if self.cells.is_empty() {
            return Err(PingsError::Invalid(
                "风险区域没有划定任何网格，无法查找到访人员".into(),
            ));
        }
        if self.from >= self.to {
            return Err(PingsError::Invalid(format!(
                "风险区域的时间窗口为空（开始 {} 不早于结束 {}）",
                self.from, self.to
            )));
        }
        Ok(())
    }

    /// The cells sorted, without duplicates.
    pub fn sorted_cells(&self) -> Vec<i64> {
        let mut c = self.cells.clone();
        c.sort_unstable();
        c.dedup();
        c
    }
}

/// One visitor of the area during its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VisitorRow {
    pub person_id: i64,
    pub first_ts: i64,
    pub last_ts: i64,
    pub n_pings: i64,
    pub n_cells: i64,
}

#[derive(Default)]
struct Agg {
    first: i64,
    last: i64,
    n: i64,
    /// The area's cells this person was seen in (an area has a few dozen cells at most).
    cells: Vec<i64>,
}

impl Agg {
    fn add(&mut self, ts: i64, cell: i64) {
        if self.n == 0 {
            self.first = ts;
            self.last = ts;
        } else {
            self.first = self.first.min(ts);
            self.last = self.last.max(ts);
        }
        self.n += 1;
        if !self.cells.contains(&cell) {
            self.cells.push(cell);
        }
    }

    fn merge(&mut self, o: Agg) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = o;
            return;
        }
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
        self.n += o.n;
        for c in o.cells {
            if !self.cells.contains(&c) {
                self.cells.push(c);
            }
        }
    }
}

/// Everyone seen in the area's cells during its window (analytics.md Q1), sorted by person.
pub fn risk_area_visitors(
    dir: &Path,
    area: &AreaWindow,
) -> PingsResult<(Vec<VisitorRow>, ScanStats)> {
    area.validate()?;
    let cells = area.sorted_cells();
    let (from, to) = (area.from, area.to);
    // Days wholly outside the window are not even opened.
    let days: Vec<_> = list_days(dir)?
        .into_iter()
        .filter(|d| d.day_start + DAY_S > from && d.day_start < to)
        .collect();
    let prune = Prune {
        ts: Some((from, to)),
        cells: Some(cells.clone()),
    };
    let (states, stats) = scan_parallel(
        &days,
        &prune,
        Want::ALL,
        true,
        FxHashMap::<i64, Agg>::default,
        |m, b| {
            for i in 0..b.len() {
                let (ts, cell) = (b.ts[i], b.cell_id[i]);
                if ts >= from && ts < to && cells.binary_search(&cell).is_ok() {
                    m.entry(b.person_id[i]).or_default().add(ts, cell);
                }
            }
            Ok(())
        },
    )?;
    let mut all: FxHashMap<i64, Agg> = FxHashMap::default();
    for m in states {
        for (p, a) in m {
            all.entry(p).or_default().merge(a);
        }
    }
    let mut rows: Vec<VisitorRow> = all
        .into_iter()
        .map(|(person_id, a)| VisitorRow {
            person_id,
            first_ts: a.first,
            last_ts: a.last,
            n_pings: a.n,
            n_cells: a.cells.len() as i64,
        })
        .collect();
    rows.sort_unstable();
    Ok((rows, stats))
}
