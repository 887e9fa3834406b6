//! Grid cells of 800 m × 800 m and the map from cells to the region tree.
//!
//! A cell id is `row · 10000 + col` (analytics.md §2 numbers the probe's 64 × 64 grid
//! `(3200 + row) · 10000 + (4300 + col)`), so an id sorts by row then column: a day file sorted by
//! `cell_id` keeps a band of grid rows together, which is what lets a small area's query skip
//! the other row groups.
//!
//! Which village or community a cell covers is data, not code: a CSV `cell_id,region_code`
//! ([`read_cell_map`]), produced by whoever plans the cells (the simulator, or an operator's
//! cell list joined to the region tree).

use std::io::Read;
use std::path::Path;

use crate::{PingsError, PingsResult};

/// The multiplier between a cell's row and column in its id.
pub const ROW_STRIDE: i64 = 10_000;

/// The cell of a grid row and column.
pub fn cell_of(row: i64, col: i64) -> i64 {
    row * ROW_STRIDE + col
}

/// The grid row and column of a cell.
pub fn row_col(cell: i64) -> (i64, i64) {
    (cell.div_euclid(ROW_STRIDE), cell.rem_euclid(ROW_STRIDE))
}

/// The eight cells around a cell (N, NE, E, SE, S, SW, W, NW order is not promised; the set is).
/// A handset at a cell's edge is often seen by the tower of the cell next door, so a fence that
/// tolerates hand-over counts these as home.
pub fn neighbours(cell: i64) -> [i64; 8] {
    let (r, c) = row_col(cell);
    [
        cell_of(r - 1, c - 1),
        cell_of(r - 1, c),
        cell_of(r - 1, c + 1),
        cell_of(r, c - 1),
        cell_of(r, c + 1),
        cell_of(r + 1, c - 1),
        cell_of(r + 1, c),
        cell_of(r + 1, c + 1),
    ]
}

/// Whether two cells are the same or touch (Chebyshev distance ≤ 1).
pub fn is_same_or_neighbour(a: i64, b: i64) -> bool {
    let (ra, ca) = row_col(a);
    let (rb, cb) = row_col(b);
    (ra - rb).abs() <= 1 && (ca - cb).abs() <= 1
}

/// Longest line accepted in a cell map: a cell id and a region code fit in a few dozen bytes.
pub const CELL_MAP_MAX_LINE: usize = 1024;
/// Largest cell map accepted: a province's cells are well under a million lines.
pub const CELL_MAP_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// A cell map as read: the good rows, and the bad lines counted with the first few reasons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellMap {
    pub rows: Vec<(i64, String)>,
    pub bad_lines: u64,
    /// (line number, why in Chinese), the first [`MAX_PROBLEMS`] only.
    pub first_problems: Vec<(u64, String)>,
}

/// How many problems a report keeps word for word; the rest are only counted.
pub const MAX_PROBLEMS: usize = 20;

/// Read a cell map CSV (`cell_id,region_code`, a header line first). Bounded: a file over
/// [`CELL_MAP_MAX_BYTES`] is refused, a line over [`CELL_MAP_MAX_LINE`] is a bad line; bad lines
/// are counted, never fatal. A cell listed twice keeps its first region (the second is a bad line).
pub fn read_cell_map(path: &Path) -> PingsResult<Vec<(i64, String)>> {
    Ok(read_cell_map_report(path)?.rows)
}

/// [`read_cell_map`] with the bad lines counted and explained.
pub fn read_cell_map_report(path: &Path) -> PingsResult<CellMap> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > CELL_MAP_MAX_BYTES {
        return Err(PingsError::Unreadable {
            file: name,
            why: format!(
                "文件有 {} MiB，超过网格对照表的上限 {} MiB",
                len / (1024 * 1024),
                CELL_MAP_MAX_BYTES / (1024 * 1024)
            ),
        });
    }
    let mut text = Vec::with_capacity(len as usize);
    file.take(CELL_MAP_MAX_BYTES + 1).read_to_end(&mut text)?;
    let mut map = CellMap::default();
    let mut seen = rustc_hash::FxHashSet::default();
    let problem = |map: &mut CellMap, line: u64, why: String| {
        map.bad_lines += 1;
        if map.first_problems.len() < MAX_PROBLEMS {
            map.first_problems.push((line, why));
        }
    };
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        if raw.len() > CELL_MAP_MAX_LINE {
            problem(
                &mut map,
                line_no,
                format!("这一行太长（超过 {CELL_MAP_MAX_LINE} 字节）"),
            );
            continue;
        }
        let Ok(line) = std::str::from_utf8(raw) else {
            problem(&mut map, line_no, "这一行不是 UTF-8 文字".into());
            continue;
        };
        let line = line.trim_start_matches('\u{feff}');
        if i == 0 && line.to_ascii_lowercase().starts_with("cell_id") {
            continue;
        }
        let mut parts = line.split(',');
        let (Some(cell), Some(region), None) = (parts.next(), parts.next(), parts.next()) else {
            problem(&mut map, line_no, "应为两列：网格编号,区划代码".into());
            continue;
        };
        let Ok(cell) = cell.trim().parse::<i64>() else {
            problem(
                &mut map,
                line_no,
                format!("网格编号“{}”不是整数", cell.trim()),
            );
            continue;
        };
        let region = region.trim();
        if region.is_empty() || !region.chars().all(|c| c.is_ascii_digit()) {
            problem(&mut map, line_no, format!("区划代码“{region}”应为数字"));
            continue;
        }
        if !seen.insert(cell) {
            problem(
                &mut map,
                line_no,
                format!("网格 {cell} 重复出现，保留第一次的区划"),
            );
            continue;
        }
        map.rows.push((cell, region.to_string()));
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_neighbours_touch() {
        let c = cell_of(3232, 4332);
        assert_eq!(c, 32_324_332);
        assert_eq!(row_col(c), (3232, 4332));
        let n = neighbours(c);
        assert_eq!(n.len(), 8);
        assert!(n.iter().all(|&x| x != c && is_same_or_neighbour(x, c)));
        assert!(!is_same_or_neighbour(c, cell_of(3234, 4332)));
    }
}
