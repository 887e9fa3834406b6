//! The day files: where pings live, and the one reader every kernel uses.
//!
//! # Layout
//! One Parquet file per Beijing (UTC+8) day, `pings-YYYY-MM-DD.parquet`, in one directory. Three
//! required INT64 columns `person_id`, `ts` (Unix seconds), `cell_id`; rows sorted by
//! `(cell_id, ts, person_id)` with exact duplicates removed; zstd; row groups of 1 000 000 rows;
//! column statistics and the page index (`EnabledStatistics::Page`), so a query for a few cells
//! or a few hours skips row groups by their statistics and pages by the page index. Written
//! atomically (a temp file in the same directory, then a rename), so a reader never sees half a day.
//!
//! # Reading (for the kernels, the companions job and the app)
//! ```no_run
//! use std::path::Path;
//! use fangkong_pings::layout::{list_days, read_day, Batch, DayReader, Prune, Want};
//! fn demo(dir: &Path, from: i64, to: i64) -> fangkong_pings::PingsResult<()> {
//!     for day in list_days(dir)? {
//!         // A whole day (only the row groups whose ts statistics meet the window), decoded into
//!         // three Vec<i64> in file order (cell_id, ts, person_id), both cores over the row groups:
//!         let (cols, stats) = read_day(&day.path, Some((from, to)))?;
//!         assert_eq!(cols.person_id.len(), cols.ts.len());
//!         let _ = stats.row_groups_read;
//!         // Or streaming, batch by batch, only the columns asked for:
//!         let r = DayReader::open(&day.path)?;
//!         let groups = r.prune(&Prune { ts: Some((from, to)), cells: None });
//!         let want = Want { person_id: true, ts: true, cell_id: false };
//!         r.scan(&groups, want, None, &mut |b: Batch<'_>| {
//!             let _ = (b.person_id, b.ts); // b.cell_id is empty: not asked for
//!             Ok(())
//!         })?;
//!     }
//!     Ok(())
//! }
//! ```
//! [`scan_parallel`] runs a per-batch function over many days' row groups on two threads with
//! per-thread state. Every error names the file: not Parquet, truncated, a column missing, of the
//! wrong type or with empty values → [`PingsError::Unreadable`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

pub use crate::read::{
    Batch, Columns, DayReader, Keep, Prune, Want, read_all, read_day, scan_parallel,
    scan_parallel_people, unreadable,
};
use crate::{Ping, PingsError, PingsResult};

/// Seconds east of UTC of Beijing time: days are Beijing days.
pub const BEIJING_OFFSET_S: i64 = 8 * 3600;
pub const DAY_S: i64 = 86_400;
/// Rows per row group: large enough for zstd and few footers, small enough that a 20-cell area
/// touches one or two per day.
pub const ROW_GROUP_ROWS: usize = 1_000_000;
/// The three column names, in file order.
pub const COLUMNS: [&str; 3] = ["person_id", "ts", "cell_id"];

/// The Beijing midnight at or before `ts`.
pub fn day_start(ts: i64) -> i64 {
    (ts + BEIJING_OFFSET_S).div_euclid(DAY_S) * DAY_S - BEIJING_OFFSET_S
}

/// The Beijing calendar date (year, month, day) of `ts`.
pub fn day_of(ts: i64) -> (i64, u32, u32) {
    civil_from_days((ts + BEIJING_OFFSET_S).div_euclid(DAY_S))
}

/// The Beijing midnight of a calendar date.
pub fn midnight_of(y: i64, m: u32, d: u32) -> i64 {
    days_from_civil(y, m, d) * DAY_S - BEIJING_OFFSET_S
}

/// Day of the week of `ts` in Beijing, 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
pub fn weekday_of(ts: i64) -> u32 {
    ((ts + BEIJING_OFFSET_S).div_euclid(DAY_S) + 3).rem_euclid(7) as u32
}

// Days since 1970-01-01 ↔ proleptic Gregorian date (H. Hinnant's algorithms): plain integer
// arithmetic, so the crate needs no date library.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The file name of a day: `pings-YYYY-MM-DD.parquet`.
pub fn file_name(day_start: i64) -> String {
    let (y, m, d) = day_of(day_start);
    format!("pings-{y:04}-{m:02}-{d:02}.parquet")
}

/// The day a file name stands for, if it is a day file's name.
pub fn parse_file_name(name: &str) -> Option<i64> {
    let date = name.strip_prefix("pings-")?.strip_suffix(".parquet")?;
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = date.get(0..4)?.parse().ok()?;
    let m: u32 = date.get(5..7)?.parse().ok()?;
    let d: u32 = date.get(8..10)?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let start = midnight_of(y, m, d);
    // 2021-02-30 is not a date: it must come back as itself.
    (day_of(start) == (y, m, d)).then_some(start)
}

/// A day file on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayFile {
    pub path: PathBuf,
    pub day_start: i64,
    pub rows: u64,
    pub row_groups: usize,
}

/// The Arrow schema of a day file.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(
        COLUMNS
            .iter()
            .map(|n| Field::new(*n, DataType::Int64, false))
            .collect::<Vec<_>>(),
    ))
}

fn writer_properties(row_group_rows: usize) -> WriterProperties {
    WriterProperties::builder()
        // Level 1: decoding speed is the same at every level, writing is several times faster.
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_sorting_columns(Some(
            [2, 1, 0]
                .into_iter()
                .map(|column_idx| SortingColumn {
                    column_idx,
                    descending: false,
                    nulls_first: false,
                })
                .collect(),
        ))
        .build()
}

/// Sort into the layout's order and drop exact duplicates (the same sighting sent twice).
pub fn sort_dedup(pings: &mut Vec<Ping>) {
    pings.sort_unstable_by_key(|p| (p.cell_id, p.ts, p.person_id));
    pings.dedup();
}

/// Write one day's pings (sorted and deduplicated here) as its day file, replacing any file of
/// that day. Every ping must fall in the day: a ping of another day is refused with its time.
pub fn write_day(dir: &Path, day_start_ts: i64, pings: &mut Vec<Ping>) -> PingsResult<DayFile> {
    write_day_grouped(dir, day_start_ts, pings, ROW_GROUP_ROWS)
}

/// [`write_day`] with another row-group size: small row groups let a test (or a tiny feed) see
/// the statistics prune without writing millions of pings.
pub fn write_day_grouped(
    dir: &Path,
    day_start_ts: i64,
    pings: &mut Vec<Ping>,
    row_group_rows: usize,
) -> PingsResult<DayFile> {
    let row_group_rows = row_group_rows.max(1);
    if day_start(day_start_ts) != day_start_ts {
        return Err(PingsError::Invalid(format!(
            "写入日文件的起点 {day_start_ts} 不是北京时间零点"
        )));
    }
    if let Some(p) = pings.iter().find(|p| day_start(p.ts) != day_start_ts) {
        return Err(PingsError::Invalid(format!(
            "时间 {} 的位置记录不属于 {} 这一天",
            p.ts,
            file_name(day_start_ts)
        )));
    }
    sort_dedup(pings);
    std::fs::create_dir_all(dir)?;
    let path = dir.join(file_name(day_start_ts));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        file_name(day_start_ts),
        std::process::id()
    ));
    let written = write_sorted(&tmp, pings, row_group_rows);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &path)?;
    Ok(DayFile {
        path,
        day_start: day_start_ts,
        rows: pings.len() as u64,
        row_groups: pings.len().div_ceil(row_group_rows),
    })
}

fn write_sorted(tmp: &Path, pings: &[Ping], row_group_rows: usize) -> PingsResult<()> {
    let name = tmp.display().to_string();
    let fail = |e: parquet::errors::ParquetError| PingsError::Unreadable {
        file: name.clone(),
        why: format!("写入失败：{e}"),
    };
    let file = std::fs::File::create(tmp)?;
    let mut w = ArrowWriter::try_new(file, schema(), Some(writer_properties(row_group_rows)))
        .map_err(fail)?;
    for chunk in pings.chunks(row_group_rows) {
        let col = |f: fn(&Ping) -> i64| -> ArrayRef {
            Arc::new(Int64Array::from_iter_values(chunk.iter().map(f)))
        };
        let batch = RecordBatch::try_new(
            schema(),
            vec![col(|p| p.person_id), col(|p| p.ts), col(|p| p.cell_id)],
        )
        .map_err(|e| PingsError::Invalid(format!("位置数据批次无法组装：{e}")))?;
        w.write(&batch).map_err(fail)?;
        // One chunk is one row group: the boundaries stay where the statistics expect them.
        w.flush().map_err(fail)?;
    }
    let file = w.into_inner().map_err(fail)?;
    file.sync_all()?;
    Ok(())
}

/// Merge more pings into a day: the existing file's rows plus these, sorted, duplicates dropped,
/// rewritten atomically. Returns the file and how many of `more` were new.
pub fn append_day(dir: &Path, day_start_ts: i64, more: &[Ping]) -> PingsResult<(DayFile, u64)> {
    let path = dir.join(file_name(day_start_ts));
    let mut all: Vec<Ping> = if path.exists() {
        read_all(&path)?
    } else {
        Vec::new()
    };
    // The file is ours, so already sorted and without duplicates: what it grows by is what was new.
    let before = all.len() as u64;
    all.extend_from_slice(more);
    let day = write_day(dir, day_start_ts, &mut all)?;
    let added = day.rows.saturating_sub(before);
    Ok((day, added))
}

/// The day files of a directory, sorted by day (other files are ignored). Rows and row groups come
/// from each file's footer, so a file that is not Parquet is named here already.
pub fn list_days(dir: &Path) -> PingsResult<Vec<DayFile>> {
    let mut days = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(start) = name.to_str().and_then(parse_file_name) else {
            continue;
        };
        let path = entry.path();
        let r = DayReader::open(&path)?;
        days.push(DayFile {
            rows: r.rows(),
            row_groups: r.row_groups(),
            path,
            day_start: start,
        });
    }
    days.sort_by_key(|d| d.day_start);
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_days() {
        // 2020-12-20 00:00 +08 = 2020-12-19 16:00 UTC.
        let t0 = 1_608_393_600;
        assert_eq!(midnight_of(2020, 12, 20), t0);
        assert_eq!(day_start(t0 + 5), t0);
        assert_eq!(day_start(t0 - 1), t0 - DAY_S);
        assert_eq!(day_of(t0), (2020, 12, 20));
        assert_eq!(weekday_of(t0), 6, "2020-12-20 was a Sunday");
        assert_eq!(file_name(t0), "pings-2020-12-20.parquet");
        assert_eq!(parse_file_name("pings-2020-12-20.parquet"), Some(t0));
        assert_eq!(parse_file_name("pings-2021-02-30.parquet"), None);
        assert_eq!(parse_file_name("cases.csv"), None);
    }
}
