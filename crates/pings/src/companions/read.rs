//! Reading the day files for the companion job: which files and row groups the window needs, in
//! which batches they can be swept (a batch is a set of files whose `ts` ranges overlap, normally
//! one day), and the decode of one row group into plain columns.
//!
//! This is the companion kernel's own reader (the shared reader of `layout` came later); it reads
//! only what it needs: the three columns, or `person_id` first with the other two decoded only for
//! the rows of the cases.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, BooleanArray, RecordBatch};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
    RowFilter,
};
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::statistics::Statistics;
use rustc_hash::FxHashSet;

use crate::{PingsError, PingsResult};

/// How many directory entries we look at before refusing: a ping directory holds one file a day.
const MAX_DIR_ENTRIES: usize = 100_000;
/// Rows per decoded batch: large enough that per-batch overhead vanishes, small enough that the
/// column buffers (64 KiB each) stay in cache and come from the heap rather than fresh pages.
const BATCH_ROWS: usize = 8 * 1024;
const BEIJING_OFFSET_S: i64 = 8 * 3600;

/// One day file the job reads, with its metadata loaded once and the row groups inside the window.
pub(crate) struct DayInput {
    pub path: PathBuf,
    pub meta: ArrowReaderMetadata,
    /// Indices of the three columns in the file's schema: person_id, ts, cell_id.
    pub cols: [usize; 3],
    pub row_groups: Vec<usize>,
    pub row_groups_total: usize,
    /// The `ts` range of the kept row groups by their statistics (the whole line when a statistic is missing).
    pub ts_lo: i64,
    pub ts_hi: i64,
}

/// One unit of decoding work: a row group of a file.
#[derive(Clone, Copy)]
pub(crate) struct Unit {
    pub file: usize,
    pub row_group: usize,
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian; Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The Beijing midnight that starts the day a file name `pings-YYYY-MM-DD.parquet` names.
fn day_start_of_name(name: &str) -> Option<i64> {
    let date = name.strip_prefix("pings-")?.strip_suffix(".parquet")?;
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |s: &str| s.parse::<i64>().ok();
    let (y, m, d) = (num(&date[0..4])?, num(&date[5..7])?, num(&date[8..10])?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 - BEIJING_OFFSET_S)
}

fn unreadable(path: &Path, why: impl ToString) -> PingsError {
    PingsError::Unreadable {
        file: path.display().to_string(),
        why: why.to_string(),
    }
}

fn i64_stat(stats: Option<&Statistics>) -> (i64, i64) {
    match stats {
        Some(Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
            (Some(lo), Some(hi)) => (*lo, *hi),
            _ => (i64::MIN, i64::MAX),
        },
        _ => (i64::MIN, i64::MAX),
    }
}

/// The day files of `dir` whose day meets `[t0, t1)`, with their row groups pruned by the `ts`
/// statistics. Sorted by day.
pub(crate) fn open_days(dir: &Path, t0: i64, t1: i64) -> PingsResult<Vec<DayInput>> {
    let mut named = Vec::new();
    for (n, entry) in std::fs::read_dir(dir)?.enumerate() {
        if n >= MAX_DIR_ENTRIES {
            return Err(PingsError::Invalid(format!(
                "位置数据目录 {} 中的文件超过 {MAX_DIR_ENTRIES} 个，请按日存放",
                dir.display()
            )));
        }
        let entry = entry?;
        let name = entry.file_name();
        let Some(start) = name.to_str().and_then(day_start_of_name) else {
            continue;
        };
        if start < t1 && start + 86_400 > t0 {
            named.push((start, entry.path()));
        }
    }
    named.sort();
    let mut days = Vec::with_capacity(named.len());
    for (_, path) in named {
        days.push(open_day(path, t0, t1)?);
    }
    Ok(days)
}

fn open_day(path: PathBuf, t0: i64, t1: i64) -> PingsResult<DayInput> {
    let file = File::open(&path).map_err(|e| unreadable(&path, e))?;
    // The page index lets the daily job's cell filter skip the pages of other cells.
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
    let meta = ArrowReaderMetadata::load(&file, options)
        .map_err(|e| unreadable(&path, format!("不是有效的 Parquet 文件（{e}）")))?;
    let schema = meta.parquet_schema();
    let mut cols = [0usize; 3];
    for (k, name) in ["person_id", "ts", "cell_id"].iter().enumerate() {
        let found = (0..schema.num_columns()).find(|&i| schema.column(i).name() == *name);
        let Some(i) = found else {
            return Err(unreadable(&path, format!("缺少列 {name}")));
        };
        if schema.column(i).physical_type() != parquet::basic::Type::INT64 {
            return Err(unreadable(&path, format!("列 {name} 不是 INT64")));
        }
        cols[k] = i;
    }
    let md = meta.metadata();
    let row_groups_total = md.num_row_groups();
    let (mut ts_lo, mut ts_hi) = (i64::MAX, i64::MIN);
    let mut row_groups = Vec::new();
    for rg in 0..row_groups_total {
        let (lo, hi) = i64_stat(md.row_group(rg).column(cols[1]).statistics());
        if hi < t0 || lo >= t1 || md.row_group(rg).num_rows() == 0 {
            continue;
        }
        row_groups.push(rg);
        ts_lo = ts_lo.min(lo);
        ts_hi = ts_hi.max(hi);
    }
    Ok(DayInput {
        path,
        meta,
        cols,
        row_groups,
        row_groups_total,
        ts_lo,
        ts_hi,
    })
}

/// Groups the files into batches that can be swept one after another: files whose `ts` ranges
/// overlap go into one batch (normally each day is its own batch). Returns the units of each batch.
pub(crate) fn batches(days: &[DayInput]) -> Vec<Vec<Unit>> {
    let mut order: Vec<usize> = (0..days.len())
        .filter(|&i| !days[i].row_groups.is_empty())
        .collect();
    order.sort_by_key(|&i| (days[i].ts_lo, days[i].ts_hi));
    let mut out: Vec<Vec<Unit>> = Vec::new();
    let mut reach = i64::MIN;
    for i in order {
        let d = &days[i];
        if out.is_empty() || d.ts_lo > reach {
            out.push(Vec::new());
        }
        reach = reach.max(d.ts_hi);
        if let Some(batch) = out.last_mut() {
            batch.extend(d.row_groups.iter().map(|&rg| Unit {
                file: i,
                row_group: rg,
            }));
        }
    }
    out
}

fn column<'a>(batch: &'a RecordBatch, name: &str, path: &Path) -> PingsResult<&'a [i64]> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| unreadable(path, format!("缺少列 {name}")))?;
    if col.null_count() > 0 {
        return Err(unreadable(path, format!("列 {name} 含空值")));
    }
    let arr = col
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| unreadable(path, format!("列 {name} 不是 64 位整数")))?;
    Ok(arr.values())
}

/// Decodes a row group's three columns and hands each row with `t0 <= ts < t1` to `sink`
/// (person_id, ts, cell_id). Returns the rows decoded.
pub(crate) fn decode_unit(
    day: &DayInput,
    rg: usize,
    t0: i64,
    t1: i64,
    mut sink: impl FnMut(i64, i64, i64),
) -> PingsResult<u64> {
    let file = File::open(&day.path).map_err(|e| unreadable(&day.path, e))?;
    let mask = ProjectionMask::roots(day.meta.parquet_schema(), day.cols);
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, day.meta.clone())
        .with_projection(mask)
        .with_row_groups(vec![rg])
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| unreadable(&day.path, e))?;
    let mut rows = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| unreadable(&day.path, e))?;
        let pid = column(&batch, "person_id", &day.path)?;
        let ts = column(&batch, "ts", &day.path)?;
        let cell = column(&batch, "cell_id", &day.path)?;
        rows += pid.len() as u64;
        for ((&p, &t), &c) in pid.iter().zip(ts).zip(cell) {
            if t >= t0 && t < t1 {
                sink(p, t, c);
            }
        }
    }
    Ok(rows)
}

/// A set of people tested against every row: a bit filter that fits the cache (8 KiB for the cases)
/// turns away almost every other row before the hash set is asked.
pub(crate) struct PeopleSet {
    bits: Vec<u64>,
    set: FxHashSet<i64>,
    shift: u32,
}

impl PeopleSet {
    pub fn new(people: impl IntoIterator<Item = i64>) -> PeopleSet {
        let set: FxHashSet<i64> = people.into_iter().collect();
        // About 16 bits a person, at least 64 Ki bits (8 KiB), at most 16 Mi bits (2 MiB).
        let log = (set.len().max(1) * 16)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(16, 24);
        let mut bits = vec![0u64; 1 << (log - 6)];
        let shift = 64 - log;
        for &p in &set {
            let h = Self::slot(p, shift);
            bits[h >> 6] |= 1 << (h & 63);
        }
        PeopleSet { bits, set, shift }
    }

    #[inline(always)]
    fn slot(p: i64, shift: u32) -> usize {
        ((p as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
    }

    #[inline(always)]
    pub fn contains(&self, p: i64) -> bool {
        let h = Self::slot(p, self.shift);
        self.bits[h >> 6] & (1 << (h & 63)) != 0 && self.set.contains(&p)
    }
}

/// Decodes `person_id` of a row group and, only for the rows of `people`, `ts` and `cell_id`;
/// hands the matching rows inside `[t0, t1)` to `sink`. Returns the rows whose `person_id` was decoded.
pub(crate) fn decode_people(
    day: &DayInput,
    rg: usize,
    people: &Arc<PeopleSet>,
    t0: i64,
    t1: i64,
    mut sink: impl FnMut(i64, i64, i64),
) -> PingsResult<u64> {
    let file = File::open(&day.path).map_err(|e| unreadable(&day.path, e))?;
    let schema = day.meta.parquet_schema();
    let set = Arc::clone(people);
    let pred = ArrowPredicateFn::new(
        ProjectionMask::roots(schema, [day.cols[0]]),
        move |batch: RecordBatch| {
            let col = batch.column(0);
            match col.as_primitive_opt::<Int64Type>() {
                Some(a) => Ok(BooleanArray::from_unary(a, |v| set.contains(v))),
                // A wrong type is reported by the projection read below; keep nothing here.
                None => Ok(BooleanArray::from(vec![false; col.len()])),
            }
        },
    );
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, day.meta.clone())
        .with_projection(ProjectionMask::roots(schema, day.cols))
        .with_row_groups(vec![rg])
        .with_row_filter(RowFilter::new(vec![Box::new(pred)]))
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| unreadable(&day.path, e))?;
    for batch in reader {
        let batch = batch.map_err(|e| unreadable(&day.path, e))?;
        let pid = column(&batch, "person_id", &day.path)?;
        let ts = column(&batch, "ts", &day.path)?;
        let cell = column(&batch, "cell_id", &day.path)?;
        for ((&p, &t), &c) in pid.iter().zip(ts).zip(cell) {
            if t >= t0 && t < t1 {
                sink(p, t, c);
            }
        }
    }
    Ok(day.meta.metadata().row_group(rg).num_rows().max(0) as u64)
}

/// Decodes `cell_id` of a row group and, only for the rows in `cells` (sorted), `person_id` and
/// `ts`; hands the matching rows inside `[t0, t1)` to `sink`. A row group whose cell statistics
/// miss every cell is skipped. Returns the rows whose `cell_id` was decoded.
pub(crate) fn decode_cells(
    day: &DayInput,
    rg: usize,
    cells: &Arc<Vec<i64>>,
    t0: i64,
    t1: i64,
    mut sink: impl FnMut(i64, i64, i64),
) -> PingsResult<u64> {
    let md = day.meta.metadata().row_group(rg);
    let (lo, hi) = i64_stat(md.column(day.cols[2]).statistics());
    let first = cells.partition_point(|&c| c < lo);
    if cells.get(first).is_none_or(|&c| c > hi) {
        return Ok(0);
    }
    let file = File::open(&day.path).map_err(|e| unreadable(&day.path, e))?;
    let schema = day.meta.parquet_schema();
    let wanted = Arc::clone(cells);
    let pred = ArrowPredicateFn::new(
        ProjectionMask::roots(schema, [day.cols[2]]),
        move |batch: RecordBatch| {
            let col = batch.column(0);
            match col.as_primitive_opt::<Int64Type>() {
                Some(a) => Ok(BooleanArray::from_unary(a, |v| {
                    wanted.binary_search(&v).is_ok()
                })),
                None => Ok(BooleanArray::from(vec![false; col.len()])),
            }
        },
    );
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, day.meta.clone())
        .with_projection(ProjectionMask::roots(schema, day.cols))
        .with_row_groups(vec![rg])
        .with_row_filter(RowFilter::new(vec![Box::new(pred)]))
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| unreadable(&day.path, e))?;
    for batch in reader {
        let batch = batch.map_err(|e| unreadable(&day.path, e))?;
        let pid = column(&batch, "person_id", &day.path)?;
        let ts = column(&batch, "ts", &day.path)?;
        let cell = column(&batch, "cell_id", &day.path)?;
        for ((&p, &t), &c) in pid.iter().zip(ts).zip(cell) {
            if t >= t0 && t < t1 {
                sink(p, t, c);
            }
        }
    }
    Ok(md.num_rows().max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_beijing_midnight() {
        // 2020-12-20 00:00 +08:00 = 2020-12-19 16:00 UTC = 1608393600.
        assert_eq!(
            day_start_of_name("pings-2020-12-20.parquet"),
            Some(1_608_393_600)
        );
        assert_eq!(day_start_of_name("pings-2020-13-20.parquet"), None);
        assert_eq!(day_start_of_name("other.parquet"), None);
        assert_eq!(day_start_of_name("pings-2020-12-20.parquet.tmp"), None);
    }
}
