//! The reader behind [`crate::layout`] (re-exported there; see its module doc for the API).
//!
//! One `DayReader` per file: the footer and the page index are read once, checked (Parquet, not
//! truncated, the three INT64 columns present), then row groups are pruned by their `ts` and
//! `cell_id` statistics and decoded batch by batch into plain `&[i64]` slices. For a few cells,
//! the page index narrows each row group further to the pages whose `cell_id` range meets them
//! (the file is sorted by cell, so those pages are few), and only those rows are decoded.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow_array::{Array, BooleanArray, Int64Array, RecordBatch};
use arrow_schema::{ArrowError, DataType};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
    RowFilter, RowSelection,
};
use parquet::errors::ParquetError;
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::statistics::Statistics;

use crate::layout::{COLUMNS, DayFile};
use crate::{Ping, PingsError, PingsResult, ScanStats};

/// Rows per decoded batch: big enough to amortise the reader's per-batch work, small enough that
/// the three columns stay in cache while a kernel walks them.
/// (Measured on 100 M pings: 8 Ki rows 4.0 s, 64 Ki 3.6 s, 1 Mi 5.4 s for the fence scan.)
const BATCH_ROWS: usize = 65_536;
/// Threads of a scan: the machine class has two cores.
pub const THREADS: usize = 2;

/// A test on `person_id` for [`DayReader::scan_people`] (shared by the scan's threads).
pub type Keep = Arc<dyn Fn(i64) -> bool + Send + Sync>;

/// An error about a file, named.
pub fn unreadable(path: &Path, why: impl Into<String>) -> PingsError {
    PingsError::Unreadable {
        file: path.display().to_string(),
        why: why.into(),
    }
}

/// Which columns a scan decodes. A column not wanted comes back as an empty slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    pub person_id: bool,
    pub ts: bool,
    pub cell_id: bool,
}

impl Want {
    pub const ALL: Want = Want {
        person_id: true,
        ts: true,
        cell_id: true,
    };
}

/// What a scan may skip by statistics: row groups (and, for cells, pages) that cannot hold a ping
/// with `ts` in `[from, to)` or a cell of the sorted list `cells`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prune {
    pub ts: Option<(i64, i64)>,
    /// Sorted ascending, no duplicates.
    pub cells: Option<Vec<i64>>,
}

/// One decoded batch; the columns not asked for are empty.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    pub person_id: &'a [i64],
    pub ts: &'a [i64],
    pub cell_id: &'a [i64],
}

impl Batch<'_> {
    pub fn len(&self) -> usize {
        self.person_id
            .len()
            .max(self.ts.len())
            .max(self.cell_id.len())
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A day's columns decoded into memory, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    pub person_id: Vec<i64>,
    pub ts: Vec<i64>,
    pub cell_id: Vec<i64>,
}

impl Columns {
    pub fn len(&self) -> usize {
        self.ts.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }
    fn push(&mut self, b: &Batch<'_>) {
        self.person_id.extend_from_slice(b.person_id);
        self.ts.extend_from_slice(b.ts);
        self.cell_id.extend_from_slice(b.cell_id);
    }
}

/// A file read by position (`pread`): clones of a `File` share one offset, so two threads
/// seeking in clones would read each other's bytes; positional reads have no offset to share.
#[derive(Clone)]
struct PosFile(Arc<std::fs::File>);

impl Length for PosFile {
    fn len(&self) -> u64 {
        self.0.metadata().map(|m| m.len()).unwrap_or(0)
    }
}

/// A `Read` at a position of a [`PosFile`], advancing its own offset.
struct PosRead {
    file: Arc<std::fs::File>,
    at: u64,
}

impl Read for PosRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

impl ChunkReader for PosFile {
    type T = PosRead;
    fn get_read(&self, start: u64) -> Result<PosRead, ParquetError> {
        Ok(PosRead {
            file: self.0.clone(),
            at: start,
        })
    }
    fn get_bytes(&self, start: u64, length: usize) -> Result<bytes::Bytes, ParquetError> {
        let mut buf = vec![0u8; length];
        self.0
            .read_exact_at(&mut buf, start)
            .map_err(|e| ParquetError::External(Box::new(e)))?;
        Ok(bytes::Bytes::from(buf))
    }
}

/// An open day file.
pub struct DayReader {
    path: PathBuf,
    file: PosFile,
    meta: ArrowReaderMetadata,
    /// Leaf (Parquet column) index of person_id, ts, cell_id.
    leaf: [usize; 3],
}

fn i64_range(s: Option<&Statistics>) -> Option<(i64, i64)> {
    match s? {
        Statistics::Int64(v) => Some((*v.min_opt()?, *v.max_opt()?)),
        _ => None,
    }
}

/// Whether the sorted list holds a value in `[lo, hi]`.
fn any_in(sorted: &[i64], lo: i64, hi: i64) -> bool {
    let i = sorted.partition_point(|&c| c < lo);
    i < sorted.len() && sorted[i] <= hi
}

impl DayReader {
    /// Open a day file (or any Parquet file of the three columns, such as a feed) and check it.
    pub fn open(path: &Path) -> PingsResult<DayReader> {
        let mut file =
            std::fs::File::open(path).map_err(|e| unreadable(path, format!("打不开：{e}")))?;
        check_magic(path, &mut file)?;
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
        let meta = ArrowReaderMetadata::load(&file, options)
            .map_err(|e| unreadable(path, format!("文件尾部的元数据损坏，文件可能不完整：{e}")))?;
        let mut leaf = [0usize; 3];
        for (k, name) in COLUMNS.iter().enumerate() {
            let Some((i, field)) = meta.schema().column_with_name(name) else {
                return Err(unreadable(path, format!("缺少列 {name}")));
            };
            if field.data_type() != &DataType::Int64 {
                return Err(unreadable(
                    path,
                    format!(
                        "列 {name} 的类型是 {}，应为 64 位整数（INT64）",
                        field.data_type()
                    ),
                ));
            }
            // Top-level INT64 fields are one leaf each; find the leaf by name to be safe.
            let Some(l) = meta
                .parquet_schema()
                .columns()
                .iter()
                .position(|c| c.path().parts() == [name.to_string()])
            else {
                return Err(unreadable(
                    path,
                    format!("列 {name} 不是平铺的一列（第 {i} 个字段）"),
                ));
            };
            leaf[k] = l;
        }
        Ok(DayReader {
            path: path.to_path_buf(),
            file: PosFile(Arc::new(file)),
            meta,
            leaf,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn rows(&self) -> u64 {
        self.meta.metadata().file_metadata().num_rows().max(0) as u64
    }

    pub fn row_groups(&self) -> usize {
        self.meta.metadata().num_row_groups()
    }

    /// The row groups whose statistics allow a match (all of them for an empty [`Prune`]).
    pub fn prune(&self, p: &Prune) -> Vec<usize> {
        let md = self.meta.metadata();
        (0..md.num_row_groups())
            .filter(|&g| {
                let rg = md.row_group(g);
                if let (Some((from, to)), Some((lo, hi))) =
                    (p.ts, i64_range(rg.column(self.leaf[1]).statistics()))
                    && (hi < from || lo >= to)
                {
                    return false;
                }
                if let (Some(cells), Some((lo, hi))) =
                    (&p.cells, i64_range(rg.column(self.leaf[2]).statistics()))
                    && !any_in(cells, lo, hi)
                {
                    return false;
                }
                true
            })
            .collect()
    }

    /// The rows of a row group on pages whose `cell_id` range meets `cells`, from the page index;
    /// `None` when the file has no page index (then the whole row group is read).
    pub fn page_selection(&self, group: usize, cells: &[i64]) -> Option<RowSelection> {
        let md = self.meta.metadata();
        let pi = md.page_index_for_row_group(group);
        let ColumnIndexMetaData::INT64(ci) = pi.column_index(self.leaf[2])? else {
            return None;
        };
        let oi = pi.offset_index(self.leaf[2])?;
        let rows = md.row_group(group).num_rows().max(0) as usize;
        let locs = oi.page_locations();
        let mut keep = Vec::new();
        for (k, loc) in locs.iter().enumerate() {
            let start = loc.first_row_index.max(0) as usize;
            let end = locs
                .get(k + 1)
                .map_or(rows, |n| n.first_row_index.max(0) as usize);
            let hit = match (ci.min_value(k), ci.max_value(k)) {
                (Some(&lo), Some(&hi)) => any_in(cells, lo, hi),
                _ => true,
            };
            if hit && start < end {
                keep.push(start..end);
            }
        }
        Some(RowSelection::from_consecutive_ranges(
            keep.into_iter(),
            rows,
        ))
    }

    /// Decode the given row groups (optionally only the selected rows of each), calling `f` per
    /// batch. Returns the number of rows decoded.
    pub fn scan(
        &self,
        groups: &[usize],
        want: Want,
        page_cells: Option<&[i64]>,
        f: &mut dyn FnMut(Batch<'_>) -> PingsResult<()>,
    ) -> PingsResult<u64> {
        self.scan_with(groups, want, page_cells, None, f)
    }

    /// [`DayReader::scan`] of only the rows whose `person_id` passes `keep`: `person_id` is
    /// decoded first, and the other columns only for the rows kept (a parquet `RowFilter`).
    pub fn scan_people(
        &self,
        groups: &[usize],
        want: Want,
        keep: &Keep,
        f: &mut dyn FnMut(Batch<'_>) -> PingsResult<()>,
    ) -> PingsResult<u64> {
        self.scan_with(groups, want, None, Some(keep), f)
    }

    fn scan_with(
        &self,
        groups: &[usize],
        want: Want,
        page_cells: Option<&[i64]>,
        keep: Option<&Keep>,
        f: &mut dyn FnMut(Batch<'_>) -> PingsResult<()>,
    ) -> PingsResult<u64> {
        let mut leaves = Vec::with_capacity(3);
        for (k, w) in [want.person_id, want.ts, want.cell_id]
            .into_iter()
            .enumerate()
        {
            if w {
                leaves.push(self.leaf[k]);
            }
        }
        let mut decoded = 0u64;
        for &g in groups {
            let mut b = ParquetRecordBatchReaderBuilder::new_with_metadata(
                self.file.clone(),
                self.meta.clone(),
            )
            .with_row_groups(vec![g])
            .with_projection(ProjectionMask::leaves(
                self.meta.parquet_schema(),
                leaves.clone(),
            ))
            .with_batch_size(BATCH_ROWS);
            if let Some(cells) = page_cells
                && let Some(sel) = self.page_selection(g, cells)
            {
                if !sel.selects_any() {
                    continue;
                }
                b = b.with_row_selection(sel);
            }
            if let Some(keep) = keep {
                let keep = keep.clone();
                let mask = ProjectionMask::leaves(self.meta.parquet_schema(), [self.leaf[0]]);
                let pred = ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
                    let ids = batch
                        .column(0)
                        .as_any()
                        .downcast_ref::<Int64Array>()
                        .ok_or_else(|| ArrowError::SchemaError("person_id 不是 INT64".into()))?;
                    Ok(BooleanArray::from_iter(
                        ids.values().iter().map(|&p| Some(keep(p))),
                    ))
                });
                b = b.with_row_filter(RowFilter::new(vec![Box::new(pred)]));
            }
            let reader = b
                .build()
                .map_err(|e| unreadable(&self.path, format!("第 {g} 个行组无法读取：{e}")))?;
            for batch in reader {
                let batch = batch
                    .map_err(|e| unreadable(&self.path, format!("第 {g} 个行组解码失败：{e}")))?;
                let pid = self.column(&batch, 0, want.person_id)?;
                let ts = self.column(&batch, 1, want.ts)?;
                let cell = self.column(&batch, 2, want.cell_id)?;
                decoded += batch.num_rows() as u64;
                f(Batch {
                    person_id: pid.map_or(&[][..], |a| a.values()),
                    ts: ts.map_or(&[][..], |a| a.values()),
                    cell_id: cell.map_or(&[][..], |a| a.values()),
                })?;
            }
        }
        Ok(decoded)
    }

    fn column<'b>(
        &self,
        batch: &'b RecordBatch,
        k: usize,
        wanted: bool,
    ) -> PingsResult<Option<&'b Int64Array>> {
        if !wanted {
            return Ok(None);
        }
        let name = COLUMNS[k];
        let a = batch
            .column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
            .ok_or_else(|| unreadable(&self.path, format!("缺少列 {name}")))?;
        if a.null_count() > 0 {
            return Err(unreadable(
                &self.path,
                format!("列 {name} 有 {} 个空值", a.null_count()),
            ));
        }
        Ok(Some(a))
    }
}

/// Refuse a file that is not Parquet, or is cut short, with words before the library's own.
fn check_magic(path: &Path, file: &mut std::fs::File) -> PingsResult<()> {
    let len = file
        .metadata()
        .map_err(|e| unreadable(path, format!("打不开：{e}")))?
        .len();
    let mut head = [0u8; 4];
    let mut tail = [0u8; 4];
    let io = |e: std::io::Error| unreadable(path, format!("读取失败：{e}"));
    if len >= 4 {
        file.read_exact(&mut head).map_err(io)?;
    }
    if &head != b"PAR1" {
        return Err(unreadable(
            path,
            "不是 Parquet 文件（文件开头没有 PAR1 标记）",
        ));
    }
    if len < 12 {
        return Err(unreadable(path, "文件不完整（被截断），只有开头"));
    }
    file.seek(SeekFrom::End(-4)).map_err(io)?;
    file.read_exact(&mut tail).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    if &tail != b"PAR1" {
        return Err(unreadable(path, "文件不完整（被截断）：结尾没有 PAR1 标记"));
    }
    Ok(())
}

/// Every ping of a Parquet file of the three columns, in file order.
pub fn read_all(path: &Path) -> PingsResult<Vec<Ping>> {
    let (c, _) = read_day(path, None)?;
    Ok((0..c.len())
        .map(|i| Ping {
            person_id: c.person_id[i],
            ts: c.ts[i],
            cell_id: c.cell_id[i],
        })
        .collect())
}

/// A day's three columns, decoded on both cores over its row groups and returned in file order
/// (`cell_id`, `ts`, `person_id`); with `ts`, only the row groups whose statistics meet `[from, to)`
/// (rows outside the window may still come back: filter them if it matters).
pub fn read_day(path: &Path, ts: Option<(i64, i64)>) -> PingsResult<(Columns, ScanStats)> {
    let r = DayReader::open(path)?;
    let groups = r.prune(&Prune { ts, cells: None });
    let per_group: Vec<Mutex<Columns>> = groups
        .iter()
        .map(|_| Mutex::new(Columns::default()))
        .collect();
    let next = AtomicUsize::new(0);
    let failed: Mutex<Option<PingsError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..THREADS.min(groups.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&g) = groups.get(i) else { break };
                    let mut cols = Columns::default();
                    let res = r.scan(&[g], Want::ALL, None, &mut |b| {
                        cols.push(&b);
                        Ok(())
                    });
                    match res {
                        Ok(_) => {
                            if let Ok(mut slot) = per_group[i].lock() {
                                *slot = cols;
                            }
                        }
                        Err(e) => {
                            if let Ok(mut f) = failed.lock() {
                                f.get_or_insert(e);
                            }
                            break;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().ok().flatten() {
        return Err(e);
    }
    let mut out = Columns::default();
    let total: usize = r
        .prune(&Prune { ts, cells: None })
        .iter()
        .map(|&g| r.meta.metadata().row_group(g).num_rows().max(0) as usize)
        .sum();
    out.person_id.reserve(total);
    out.ts.reserve(total);
    out.cell_id.reserve(total);
    for m in per_group {
        let c = m.into_inner().unwrap_or_default();
        out.person_id.extend_from_slice(&c.person_id);
        out.ts.extend_from_slice(&c.ts);
        out.cell_id.extend_from_slice(&c.cell_id);
    }
    let stats = ScanStats {
        files: 1,
        row_groups_total: r.row_groups() as u64,
        row_groups_read: groups.len() as u64,
        pings_decoded: out.len() as u64,
    };
    Ok((out, stats))
}

/// Run `f` over the batches of many days' row groups on two threads, each with its own
/// state from `init`; row groups are pruned by `prune` (and pages by its cells when `pages`).
/// The first error stops the scan and is returned.
pub fn scan_parallel<S, I, F>(
    days: &[DayFile],
    prune: &Prune,
    want: Want,
    pages: bool,
    init: I,
    f: F,
) -> PingsResult<(Vec<S>, ScanStats)>
where
    S: Send,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, Batch<'_>) -> PingsResult<()> + Sync,
{
    scan_tasks(days, prune, want, pages, None, init, f)
}

/// [`scan_parallel`] of only the rows whose `person_id` passes `keep` ([`DayReader::scan_people`]).
pub fn scan_parallel_people<S, I, F>(
    days: &[DayFile],
    prune: &Prune,
    want: Want,
    keep: &Keep,
    init: I,
    f: F,
) -> PingsResult<(Vec<S>, ScanStats)>
where
    S: Send,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, Batch<'_>) -> PingsResult<()> + Sync,
{
    scan_tasks(days, prune, want, false, Some(keep), init, f)
}

fn scan_tasks<S, I, F>(
    days: &[DayFile],
    prune: &Prune,
    want: Want,
    pages: bool,
    keep: Option<&Keep>,
    init: I,
    f: F,
) -> PingsResult<(Vec<S>, ScanStats)>
where
    S: Send,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, Batch<'_>) -> PingsResult<()> + Sync,
{
    let readers = days
        .iter()
        .map(|d| DayReader::open(&d.path))
        .collect::<PingsResult<Vec<_>>>()?;
    let mut stats = ScanStats {
        files: readers.len() as u64,
        ..ScanStats::default()
    };
    let mut tasks = Vec::new();
    for (k, r) in readers.iter().enumerate() {
        stats.row_groups_total += r.row_groups() as u64;
        for g in r.prune(prune) {
            tasks.push((k, g));
        }
    }
    stats.row_groups_read = tasks.len() as u64;
    let page_cells = if pages { prune.cells.as_deref() } else { None };
    let next = AtomicUsize::new(0);
    let decoded = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let failed: Mutex<Option<PingsError>> = Mutex::new(None);
    let states: Vec<S> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS.min(tasks.len()).max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut state = init();
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&(k, g)) = tasks.get(i) else { break };
                        match readers[k]
                            .scan_with(&[g], want, page_cells, keep, &mut |b| f(&mut state, b))
                        {
                            Ok(n) => {
                                decoded.fetch_add(n as usize, Ordering::Relaxed);
                            }
                            Err(e) => {
                                stop.store(true, Ordering::Relaxed);
                                if let Ok(mut slot) = failed.lock() {
                                    slot.get_or_insert(e);
                                }
                            }
                        }
                    }
                    state
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| match h.join() {
                Ok(st) => Some(st),
                Err(_) => {
                    // A lost thread's state would be a silently short result: fail instead.
                    if let Ok(mut slot) = failed.lock() {
                        slot.get_or_insert(PingsError::Invalid(
                            "扫描线程意外退出，结果作废".into(),
                        ));
                    }
                    None
                }
            })
            .collect()
    });
    if let Some(e) = failed.into_inner().ok().flatten() {
        return Err(e);
    }
    stats.pings_decoded = decoded.into_inner() as u64;
    Ok((states, stats))
}
