//! Import an operator's feed of pings into the day files.
//!
//! A feed is CSV (a header naming `person_id,ts,cell_id`, in any order; one ping per line) or
//! Parquet with those three INT64 columns — told apart by the file's first bytes (`PAR1`), not
//! its name. A file that is neither, a Parquet file cut short, or one with a column missing, of
//! another type or with empty values, is refused whole ([`crate::PingsError::Unreadable`], naming
//! it). Otherwise every row is judged on its own:
//! - malformed (wrong number of fields, not an integer, an impossible time, a line over
//!   [`MAX_LINE`] bytes): counted, skipped;
//! - a cell not in the operator's cell list (when one is given): counted, refused;
//! - a time outside the import window (when one is given): counted, refused;
//! - out of order (earlier than the same person's previous ping in the feed): counted, kept (the
//!   day files are sorted anyway);
//! - the same ping twice, in the feed or already in the day file: counted as a duplicate, kept once.
//!
//! The first [`crate::cells::MAX_PROBLEMS`] problems are kept with their row (the CSV line number;
//! for Parquet the row number from 1) and a reason in words a data clerk understands. Good rows
//! are merged into their days' files (read, merged, deduplicated, rewritten atomically); memory is
//! bounded by flushing every [`FLUSH_ROWS`] good rows. `on_ping` sees every good row as it is read,
//! so the app's [`crate::watch::Watch`] raises alarms during the import.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::cells::MAX_PROBLEMS;
use crate::layout::{DayFile, DayReader, Want, append_day, day_start, file_name};
use crate::read::unreadable;
use crate::{Ping, PingsResult};

/// Longest CSV line accepted: three integers and two commas fit in 60 bytes.
pub const MAX_LINE: usize = 256;
/// Good rows held in memory before they are merged into the day files (about 480 MB).
pub const FLUSH_ROWS: usize = 20_000_000;
/// Plausible ping times: 2000-01-01 to 2100-01-01 (a time in milliseconds, or zero, is refused).
const TS_MIN: i64 = 946_684_800;
const TS_MAX: i64 = 4_102_444_800;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedReport {
    pub rows_read: u64,
    pub written: u64,
    pub duplicates: u64,
    pub unknown_cells: u64,
    pub outside_window: u64,
    pub malformed: u64,
    pub out_of_order: u64,
    /// (row, why in Chinese), the first few problems only.
    pub first_problems: Vec<(u64, String)>,
    /// The day files written (each once, sorted by day).
    pub days: Vec<DayFile>,
}

impl FeedReport {
    fn problem(&mut self, row: u64, why: String) {
        if self.first_problems.len() < MAX_PROBLEMS {
            self.first_problems.push((row, why));
        }
    }
}

struct Import<'a> {
    dir: &'a Path,
    known_cells: Option<&'a FxHashSet<i64>>,
    window: Option<(i64, i64)>,
    on_ping: &'a mut dyn FnMut(&Ping),
    report: FeedReport,
    last_ts: FxHashMap<i64, i64>,
    pending: FxHashMap<i64, Vec<Ping>>,
    pending_rows: usize,
    days: FxHashMap<i64, DayFile>,
}

impl Import<'_> {
    /// Judge one parsed row.
    fn row(&mut self, row: u64, p: Ping) -> PingsResult<()> {
        if !(TS_MIN..TS_MAX).contains(&p.ts) {
            self.report.malformed += 1;
            self.report.problem(
                row,
                format!("时间 {} 不是 2000 至 2100 年之间的 Unix 秒数", p.ts),
            );
            return Ok(());
        }
        if p.person_id <= 0 || p.cell_id < 0 {
            self.report.malformed += 1;
            self.report.problem(row, "号码或网格编号为负数或零".into());
            return Ok(());
        }
        if let Some(cells) = self.known_cells
            && !cells.contains(&p.cell_id)
        {
            self.report.unknown_cells += 1;
            self.report
                .problem(row, format!("网格 {} 不在网格清单里，未导入", p.cell_id));
            return Ok(());
        }
        if let Some((from, to)) = self.window
            && (p.ts < from || p.ts >= to)
        {
            self.report.outside_window += 1;
            self.report.problem(
                row,
                format!("时间 {} 不在本次导入的时间范围内，未导入", p.ts),
            );
            return Ok(());
        }
        let last = self.last_ts.entry(p.person_id).or_insert(p.ts);
        if p.ts < *last {
            self.report.out_of_order += 1;
            self.report.problem(
                row,
                "比同一号码的上一条记录时间更早（顺序颠倒），已按时间排好导入".into(),
            );
        } else {
            *last = p.ts;
        }
        (self.on_ping)(&p);
        self.pending.entry(day_start(p.ts)).or_default().push(p);
        self.pending_rows += 1;
        if self.pending_rows >= FLUSH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Merge the held rows into their day files.
    fn flush(&mut self) -> PingsResult<()> {
        let mut pending: Vec<(i64, Vec<Ping>)> = self.pending.drain().collect();
        pending.sort_by_key(|(d, _)| *d);
        for (day, pings) in pending {
            let (file, added) = append_day(self.dir, day, &pings)?;
            self.report.written += added;
            self.report.duplicates += pings.len() as u64 - added;
            self.days.insert(day, file);
        }
        self.pending_rows = 0;
        Ok(())
    }
}

/// Import a feed file (CSV or Parquet) into the day files of `dir`; see the module doc.
pub fn import_feed(
    src: &Path,
    dir: &Path,
    known_cells: Option<&FxHashSet<i64>>,
    window: Option<(i64, i64)>,
    on_ping: &mut dyn FnMut(&Ping),
) -> PingsResult<FeedReport> {
    let mut head = [0u8; 4];
    let n = std::fs::File::open(src)
        .map_err(|e| unreadable(src, format!("打不开：{e}")))?
        .read(&mut head)
        .map_err(|e| unreadable(src, format!("读取失败：{e}")))?;
    let mut imp = Import {
        dir,
        known_cells,
        window,
        on_ping,
        report: FeedReport::default(),
        last_ts: FxHashMap::default(),
        pending: FxHashMap::default(),
        pending_rows: 0,
        days: FxHashMap::default(),
    };
    if n == 4 && &head == b"PAR1" {
        import_parquet(src, &mut imp)?;
    } else {
        import_csv(src, &mut imp)?;
    }
    imp.flush()?;
    let mut report = imp.report;
    let mut days: Vec<DayFile> = imp.days.into_values().collect();
    days.sort_by_key(|d| d.day_start);
    report.days = days;
    Ok(report)
}

fn import_parquet(src: &Path, imp: &mut Import<'_>) -> PingsResult<()> {
    let r = DayReader::open(src)?;
    let groups: Vec<usize> = (0..r.row_groups()).collect();
    let mut row = 0u64;
    r.scan(&groups, Want::ALL, None, &mut |b| {
        for i in 0..b.len() {
            row += 1;
            imp.report.rows_read += 1;
            imp.row(
                row,
                Ping {
                    person_id: b.person_id[i],
                    ts: b.ts[i],
                    cell_id: b.cell_id[i],
                },
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Read one line of at most [`MAX_LINE`] bytes into `buf` (without the line end). Returns
/// `None` at the end of the file, `Some(false)` for a line that was too long (skipped whole).
fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    buf.clear();
    let n = r
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        return Ok(Some(true));
    }
    if buf.len() <= MAX_LINE {
        // The last line, without a line end.
        return Ok(Some(true));
    }
    // Too long: skip to the end of the line without holding it.
    let mut rest = Vec::new();
    loop {
        rest.clear();
        let n = r.by_ref().take(64 * 1024).read_until(b'\n', &mut rest)?;
        if n == 0 || rest.last() == Some(&b'\n') {
            return Ok(Some(false));
        }
    }
}

fn import_csv(src: &Path, imp: &mut Import<'_>) -> PingsResult<()> {
    let file = std::fs::File::open(src).map_err(|e| unreadable(src, format!("打不开：{e}")))?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::with_capacity(MAX_LINE + 2);
    let io = |e: std::io::Error| unreadable(src, format!("读取失败：{e}"));
    let neither = "既不是 Parquet 文件，也不是第一行为 person_id,ts,cell_id 的 CSV 文件";
    let header_ok = read_line(&mut r, &mut buf).map_err(io)?;
    if header_ok != Some(true) {
        return Err(unreadable(src, neither));
    }
    let header = std::str::from_utf8(&buf).map_err(|_| unreadable(src, neither))?;
    let names: Vec<String> = header
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let pos = |n: &str| names.iter().position(|x| x == n);
    let (Some(ip), Some(it), Some(ic), 3) =
        (pos("person_id"), pos("ts"), pos("cell_id"), names.len())
    else {
        return Err(unreadable(src, neither));
    };
    let mut line_no = 1u64;
    while let Some(fits) = read_line(&mut r, &mut buf).map_err(io)? {
        line_no += 1;
        if fits && buf.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        imp.report.rows_read += 1;
        if !fits {
            imp.report.malformed += 1;
            imp.report.problem(
                line_no,
                format!("这一行太长（超过 {MAX_LINE} 个字符），未导入"),
            );
            continue;
        }
        let Ok(line) = std::str::from_utf8(&buf) else {
            imp.report.malformed += 1;
            imp.report
                .problem(line_no, "这一行有乱码（不是 UTF-8 文字），未导入".into());
            continue;
        };
        let fields: Vec<&str> = line
            .split(',')
            .map(|s| s.trim().trim_matches('"'))
            .collect();
        if fields.len() != 3 {
            imp.report.malformed += 1;
            imp.report.problem(
                line_no,
                format!(
                    "应为 3 列（号码、时间、网格），这一行有 {} 列，未导入",
                    fields.len()
                ),
            );
            continue;
        }
        let mut vals = [0i64; 3];
        let mut bad = None;
        for (k, (idx, what)) in [(ip, "号码"), (it, "时间"), (ic, "网格编号")]
            .into_iter()
            .enumerate()
        {
            match fields[idx].parse::<i64>() {
                Ok(v) => vals[k] = v,
                Err(_) => {
                    bad = Some(format!("{what}“{}”不是整数，未导入", fields[idx]));
                    break;
                }
            }
        }
        if let Some(why) = bad {
            imp.report.malformed += 1;
            imp.report.problem(line_no, why);
            continue;
        }
        imp.row(
            line_no,
            Ping {
                person_id: vals[0],
                ts: vals[1],
                cell_id: vals[2],
            },
        )?;
    }
    Ok(())
}

/// A short account of an import, in Chinese, for the command line and the job's page.
pub fn describe(report: &FeedReport) -> String {
    let mut s = format!(
        "读入 {} 行：写入 {} 条，重复 {} 条，未知网格 {} 条，超出时间范围 {} 条，格式错误 {} 条，顺序颠倒 {} 条（已排序导入）",
        report.rows_read,
        report.written,
        report.duplicates,
        report.unknown_cells,
        report.outside_window,
        report.malformed,
        report.out_of_order
    );
    for d in &report.days {
        s.push_str(&format!("\n  {}：共 {} 条", file_name(d.day_start), d.rows));
    }
    for (row, why) in &report.first_problems {
        s.push_str(&format!("\n  第 {row} 行：{why}"));
    }
    s
}
