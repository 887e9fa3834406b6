//! `fangkong pings …`: location pings (手机信令) from the command line — generate the analytics.md
//! data set, import an operator's feed into the day files, and run the three analyses of the
//! big-data push (大数据推送) with the embedded kernels of `fangkong-pings`, writing the rows as CSV
//! exactly as `spark/reference.py` (DuckDB, Polars) and `spark/fangkong_pings.py` (Spark) write
//! theirs: header, rows sorted by all columns, `\n` endings — so a sha256 of the files compares the
//! engines (analytics.md §6).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use fangkong_pings::ScanStats;
use fangkong_pings::companions::{CaseWindow, CompanionRule};
use fangkong_pings::fence::{FenceRule, HomeFence};
use fangkong_pings::layout::{self, DAY_S};
use fangkong_pings::synth::{self, SynthPlan};
use fangkong_pings::visitors::AreaWindow;
use sha2::{Digest, Sha256};

#[derive(Subcommand)]
pub enum PingsCommand {
    /// Generate the analytics.md §2 data set (a county's people as pings, one Parquet file per
    /// Beijing day) and its lists (cases.csv, risk_area.csv, fences.csv), deterministic by seed.
    Synth(SynthArgs),
    /// Import an operator's feed (CSV `person_id,ts,cell_id` or Parquet) into the day files:
    /// good rows merged, duplicates dropped, bad rows counted and reported.
    Import {
        /// The feed file (CSV or Parquet, told apart by content).
        #[arg(long)]
        feed: PathBuf,
        /// The day-file directory.
        #[arg(long)]
        into: PathBuf,
        /// A cell map CSV `cell_id,region_code`: pings in other cells are refused as unknown.
        #[arg(long)]
        cells: Option<PathBuf>,
        /// Refuse pings before this Unix second.
        #[arg(long)]
        from: Option<i64>,
        /// Refuse pings at or after this Unix second.
        #[arg(long)]
        to: Option<i64>,
    },
    /// Risk-area visitors (风险区域到访人员): risk_area.csv's cells during its window.
    Visitors(QueryArgs),
    /// Spatio-temporal companions (时空伴随者) of cases.csv (a case's optional from_ts,to_ts is its
    /// infectious window; without it, the whole window of the day files).
    Companions {
        #[command(flatten)]
        query: QueryArgs,
        /// The continuous reading: one co-stay of more than 10 minutes (default: cumulative).
        #[arg(long)]
        continuous: bool,
    },
    /// E-fence breaches (电子围栏) of fences.csv's people isolated at home.
    Fence {
        #[command(flatten)]
        query: QueryArgs,
        /// Tolerate hand-over noise (FenceRule::DEFAULT: 2 pings or 20 minutes out, neighbour
        /// cells count as home); the default is the strict rule, analytics.md Q3, which DuckDB and
        /// Spark also run.
        #[arg(long)]
        tolerant: bool,
    },
}

#[derive(Args, Clone)]
pub struct SynthArgs {
    /// The directory for the day files and lists.
    #[arg(long)]
    pub out: PathBuf,
    /// People (analytics.md: 740000 ≈ 100 M pings over 14 days; 74000 ≈ 10 M).
    #[arg(long, default_value_t = 740_000)]
    pub people: u32,
    #[arg(long, default_value_t = 14)]
    pub days: u32,
    #[arg(long, default_value_t = 20_210_102)]
    pub seed: u64,
}

#[derive(Args, Clone)]
pub struct QueryArgs {
    /// The day-file directory.
    #[arg(long)]
    pub pings: PathBuf,
    /// The lists' directory (cases.csv, risk_area.csv, fences.csv).
    #[arg(long)]
    pub lists: PathBuf,
    /// Where the rows go (CSV, sorted by all columns).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(command: PingsCommand) -> Result<()> {
    match command {
        PingsCommand::Synth(args) => synth_set(&args),
        PingsCommand::Import {
            feed,
            into,
            cells,
            from,
            to,
        } => import(&feed, &into, cells.as_deref(), from, to),
        PingsCommand::Visitors(q) => query_command(Query::Visitors, &q, false, false),
        PingsCommand::Companions { query, continuous } => {
            query_command(Query::Companions, &query, continuous, false)
        }
        PingsCommand::Fence { query, tolerant } => {
            query_command(Query::Fence, &query, false, tolerant)
        }
    }
}

/// The first day of the analytics.md set: 2020-12-20 00:00 Beijing time.
pub(crate) fn synth_start() -> i64 {
    layout::midnight_of(2020, 12, 20)
}

pub(crate) fn synth_set(args: &SynthArgs) -> Result<()> {
    let plan = SynthPlan {
        people: args.people,
        days: args.days,
        seed: args.seed,
        start: synth_start(),
    };
    let started = Instant::now();
    let lists = synth::generate(&plan, &args.out)?;
    synth::write_lists(&lists, &args.out)?;
    let days = layout::list_days(&args.out)?;
    let pings: u64 = days.iter().map(|d| d.rows).sum();
    println!(
        "已生成 {} 人 {} 天的位置数据：{} 个日文件，{pings} 条，用时 {:.1} 秒，峰值内存 {:.0} MiB",
        args.people,
        args.days,
        days.len(),
        started.elapsed().as_secs_f64(),
        crate::bench::peak_memory_mib()
    );
    println!(
        "名单：病例 {} 人，风险区域 {} 个网格，居家隔离 {} 人（{}）",
        lists.cases.len(),
        lists.risk_area.cells.len(),
        lists.fences.len(),
        args.out.display()
    );
    Ok(())
}

fn import(
    feed: &Path,
    into: &Path,
    cells: Option<&Path>,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<()> {
    // The kernel's hash set type, inferred from import_feed's parameter.
    let known: Option<std::collections::HashSet<i64, _>> = match cells {
        Some(path) => {
            let map = fangkong_pings::cells::read_cell_map(path)?;
            if map.is_empty() {
                bail!("网格对照表 {} 没有任何网格", path.display());
            }
            Some(map.into_iter().map(|(cell, _)| cell).collect())
        }
        None => None,
    };
    let window = match (from, to) {
        (None, None) => None,
        (f, t) => Some((f.unwrap_or(i64::MIN), t.unwrap_or(i64::MAX))),
    };
    let started = Instant::now();
    let report =
        fangkong_pings::feed::import_feed(feed, into, known.as_ref(), window, &mut |_| {})?;
    println!(
        "导入 {}：读取 {} 行，写入 {}，重复 {}，未知网格 {}，超出时间窗 {}，格式错误 {}，乱序 {}；用时 {:.1} 秒",
        feed.display(),
        report.rows_read,
        report.written,
        report.duplicates,
        report.unknown_cells,
        report.outside_window,
        report.malformed,
        report.out_of_order,
        started.elapsed().as_secs_f64()
    );
    for (row, why) in &report.first_problems {
        println!("  第 {row} 行：{why}");
    }
    for day in &report.days {
        println!(
            "  {}：{} 条，{} 个行组",
            day.path.display(),
            day.rows,
            day.row_groups
        );
    }
    if report.written == 0 {
        println!("警告：没有写入任何位置数据");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The three analyses

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Query {
    Visitors,
    Fence,
    Companions,
}

impl Query {
    pub(crate) const ALL: [Query; 3] = [Query::Visitors, Query::Fence, Query::Companions];

    /// The name the Python side uses (spark/queries.sql's sections).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Query::Visitors => "visitors",
            Query::Fence => "fence",
            Query::Companions => "companions",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Query::Visitors => "风险区域到访",
            Query::Fence => "电子围栏",
            Query::Companions => "时空伴随",
        }
    }

    /// analytics.md §3's column names (the kernels' row fields).
    pub(crate) fn columns(self) -> &'static str {
        match self {
            Query::Visitors => "person_id,first_ts,last_ts,n_pings,n_cells",
            Query::Fence => "person_id,first_out_ts,last_out_ts,n_out_pings,n_out_cells",
            Query::Companions => "person_id,case_id,cell_id,total_ov_s,max_ov_s,first_ov_start",
        }
    }
}

/// The lists of a job; a missing file leaves its query unavailable.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lists {
    pub(crate) cases: Option<Vec<CaseWindow>>,
    pub(crate) area: Option<AreaWindow>,
    pub(crate) fences: Option<Vec<HomeFence>>,
}

/// What one run of a kernel gave.
pub(crate) struct Outcome {
    pub(crate) rows: Vec<Vec<i64>>,
    pub(crate) stats: ScanStats,
    /// Companions: cases without a ping in the window (they can have no companions).
    pub(crate) cases_without_pings: Vec<i64>,
}

/// The day files' whole window: [first midnight, last midnight + a day).
pub(crate) fn window_of(pings: &Path) -> Result<(i64, i64)> {
    let days = layout::list_days(pings)?;
    match (days.first(), days.last()) {
        (Some(first), Some(last)) => Ok((first.day_start, last.day_start + DAY_S)),
        _ => bail!(
            "位置数据目录 {} 里没有 pings-YYYY-MM-DD.parquet 日文件",
            pings.display()
        ),
    }
}

/// Runs one analysis with the kernel; rows sorted by all columns.
pub(crate) fn run_query(
    query: Query,
    pings: &Path,
    lists: &Lists,
    continuous: bool,
    tolerant: bool,
) -> Result<Outcome> {
    let mut cases_without_pings = Vec::new();
    let (mut rows, stats): (Vec<Vec<i64>>, ScanStats) = match query {
        Query::Visitors => {
            let Some(area) = &lists.area else {
                bail!("名单目录里没有风险区域（risk_area.csv）");
            };
            let (rows, stats) = fangkong_pings::visitors::risk_area_visitors(pings, area)?;
            let rows = rows
                .iter()
                .map(|r| vec![r.person_id, r.first_ts, r.last_ts, r.n_pings, r.n_cells])
                .collect();
            (rows, stats)
        }
        Query::Fence => {
            let Some(fences) = &lists.fences else {
                bail!("名单目录里没有居家隔离名单（fences.csv）");
            };
            let rule = if tolerant {
                FenceRule::DEFAULT
            } else {
                FenceRule::STRICT
            };
            let (rows, stats) = fangkong_pings::fence::fence_breaches(pings, fences, &rule)?;
            let rows = rows
                .iter()
                .map(|r| {
                    vec![
                        r.person_id,
                        r.first_out_ts,
                        r.last_out_ts,
                        r.n_out_pings,
                        r.n_out_cells,
                    ]
                })
                .collect();
            (rows, stats)
        }
        Query::Companions => {
            let Some(cases) = &lists.cases else {
                bail!("名单目录里没有病例名单（cases.csv）");
            };
            let rule = CompanionRule {
                continuous,
                ..CompanionRule::CHENGDU_2021
            };
            let window = window_of(pings)?;
            let run = fangkong_pings::companions::companions(pings, cases, window, &rule)?;
            cases_without_pings = run.cases_without_pings;
            let rows = run
                .rows
                .iter()
                .map(|r| {
                    vec![
                        r.person_id,
                        r.case_id,
                        r.cell_id,
                        r.total_ov_s,
                        r.max_ov_s,
                        r.first_ov_start,
                    ]
                })
                .collect();
            (rows, run.stats)
        }
    };
    rows.sort_unstable();
    Ok(Outcome {
        rows,
        stats,
        cases_without_pings,
    })
}

/// The CSV every engine writes: header, rows in order, `\n` endings.
pub(crate) fn csv_text(query: Query, rows: &[Vec<i64>]) -> String {
    let mut text = String::with_capacity(32 + rows.len() * 48);
    text.push_str(query.columns());
    text.push('\n');
    for row in rows {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            let _ = write!(text, "{v}");
        }
        text.push('\n');
    }
    text
}

pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn query_command(query: Query, args: &QueryArgs, continuous: bool, tolerant: bool) -> Result<()> {
    let window = window_of(&args.pings)?;
    let lists = read_lists(&args.lists, window)?;
    let started = Instant::now();
    let outcome = run_query(query, &args.pings, &lists, continuous, tolerant)?;
    let seconds = started.elapsed().as_secs_f64();
    let text = csv_text(query, &outcome.rows);
    write_atomically(&args.out, &text)?;
    let s = outcome.stats;
    println!(
        "{}：{} 行，用时 {seconds:.3} 秒，峰值内存 {:.0} MiB；读 {} 个文件，行组 {}/{}，解码 {} 条；结果 {}（sha256 {}）",
        query.label(),
        outcome.rows.len(),
        crate::bench::peak_memory_mib(),
        s.files,
        s.row_groups_read,
        s.row_groups_total,
        s.pings_decoded,
        args.out.display(),
        sha256_hex(&text)
    );
    if !outcome.cases_without_pings.is_empty() {
        println!(
            "注意：{} 名病例在窗口内没有位置数据，查不出伴随者：{}",
            outcome.cases_without_pings.len(),
            join_ids(&outcome.cases_without_pings, 20)
        );
    }
    if outcome.rows.is_empty() {
        println!(
            "警告：{} 没有结果（0 行）：请核对名单、时间窗和位置数据",
            query.label()
        );
    }
    Ok(())
}

fn join_ids(ids: &[i64], at_most: usize) -> String {
    let mut s = ids
        .iter()
        .take(at_most)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join("、");
    if ids.len() > at_most {
        let _ = write!(s, " 等 {} 人", ids.len());
    }
    s
}

/// Writes through a temporary file beside `path`, so a reader never sees half a result.
pub(crate) fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("创建目录 {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("在 {} 创建临时文件", dir.display()))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())
        .with_context(|| format!("写入 {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("写入 {}", path.display()))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Lists: small integer CSVs with a header (spark/fangkong_pings.py reads the same files).

/// Lists are small; a larger file is a wrong path (a ping file given as a list).
const MAX_LIST_BYTES: u64 = 64 << 20;
const MAX_LINE: usize = 1024;

/// A list file's rows as integers in the order of `columns`; `None` for an optional column the
/// header lacks. Lines starting with `#` are comments; `from`/`to` stand for `from_ts`/`to_ts`.
fn read_list(path: &Path, required: &[&str], optional: &[&str]) -> Result<Vec<Vec<Option<i64>>>> {
    let meta = std::fs::metadata(path).with_context(|| format!("名单文件 {}", path.display()))?;
    if meta.len() > MAX_LIST_BYTES {
        bail!(
            "名单文件 {} 超过 {} MiB，不像名单",
            path.display(),
            MAX_LIST_BYTES >> 20
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("名单文件 {} 不是 UTF-8 文本", path.display()))?;
    let mut lines = text
        .trim_start_matches('\u{feff}')
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let Some((_, header)) = lines.next() else {
        bail!("名单文件 {} 是空的", path.display());
    };
    let header: Vec<&str> = header
        .split(',')
        .map(|h| match h.trim() {
            "from" => "from_ts",
            "to" => "to_ts",
            other => other,
        })
        .collect();
    let index = |c: &str| header.iter().position(|h| *h == c);
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|c| index(c).is_none())
        .collect();
    if !missing.is_empty() {
        bail!(
            "名单文件 {} 缺少列 {}（表头：{}）",
            path.display(),
            missing.join(","),
            header.join(",")
        );
    }
    let wanted: Vec<Option<usize>> = required.iter().chain(optional).map(|c| index(c)).collect();
    let mut rows = Vec::new();
    for (n, line) in lines {
        let n = n + 1;
        if line.len() > MAX_LINE {
            bail!("名单文件 {} 第 {n} 行超过 {MAX_LINE} 字节", path.display());
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != header.len() {
            bail!(
                "名单文件 {} 第 {n} 行有 {} 列，表头有 {} 列",
                path.display(),
                fields.len(),
                header.len()
            );
        }
        let mut row = Vec::with_capacity(wanted.len());
        for (k, at) in wanted.iter().enumerate() {
            row.push(match at {
                Some(i) => Some(fields[*i].parse::<i64>().map_err(|_| {
                    anyhow::anyhow!(
                        "名单文件 {} 第 {n} 行 {} 不是整数：{:?}",
                        path.display(),
                        required.iter().chain(optional).nth(k).unwrap_or(&""),
                        fields[*i]
                    )
                })?),
                None => None,
            });
        }
        rows.push(row);
    }
    Ok(rows)
}

/// cases.csv `person_id[,from_ts,to_ts]`, risk_area.csv `cell_id,from_ts,to_ts` (one window),
/// fences.csv `person_id,home_cell,from_ts,to_ts`; each optional, checked when present. A case
/// without a window is infectious over the whole `window`.
pub(crate) fn read_lists(dir: &Path, window: (i64, i64)) -> Result<Lists> {
    let mut lists = Lists::default();
    let path = dir.join("cases.csv");
    if path.exists() {
        let mut cases: Vec<CaseWindow> = Vec::new();
        for row in read_list(&path, &["person_id"], &["from_ts", "to_ts"])? {
            let person_id = row[0].unwrap_or_default();
            let from = row[1].unwrap_or(window.0);
            let to = row[2].unwrap_or(window.1);
            if from >= to {
                bail!(
                    "名单文件 {}：病例 {person_id} 的传染期 [{from}, {to}) 为空",
                    path.display()
                );
            }
            cases.push(CaseWindow {
                person_id,
                from,
                to,
            });
        }
        cases.sort_by_key(|c| (c.person_id, c.from, c.to));
        cases.dedup_by_key(|c| (c.person_id, c.from, c.to));
        if cases.windows(2).any(|w| w[0].person_id == w[1].person_id) {
            bail!("名单文件 {}：同一病例出现两次，传染期不同", path.display());
        }
        if cases.is_empty() {
            bail!("名单文件 {} 没有病例", path.display());
        }
        lists.cases = Some(cases);
    }
    let path = dir.join("risk_area.csv");
    if path.exists() {
        let rows = read_list(&path, &["cell_id", "from_ts", "to_ts"], &[])?;
        let Some(first) = rows.first() else {
            bail!("名单文件 {}：风险区域没有网格", path.display());
        };
        let (from, to) = (first[1].unwrap_or_default(), first[2].unwrap_or_default());
        if rows
            .iter()
            .any(|r| (r[1].unwrap_or_default(), r[2].unwrap_or_default()) != (from, to))
        {
            bail!("名单文件 {}：一个风险区域只能有一个时间窗", path.display());
        }
        let area = AreaWindow {
            cells: rows.iter().map(|r| r[0].unwrap_or_default()).collect(),
            from,
            to,
        };
        area.validate()?;
        lists.area = Some(area);
    }
    let path = dir.join("fences.csv");
    if path.exists() {
        let rows = read_list(&path, &["person_id", "home_cell", "from_ts", "to_ts"], &[])?;
        let fences: Vec<HomeFence> = rows
            .iter()
            .map(|r| HomeFence {
                person_id: r[0].unwrap_or_default(),
                home_cell: r[1].unwrap_or_default(),
                from: r[2].unwrap_or_default(),
                to: r[3].unwrap_or_default(),
            })
            .collect();
        if fences.is_empty() {
            bail!("名单文件 {} 没有居家隔离人员", path.display());
        }
        // One fence per person: with two, the engines would disagree on which applies (SQL
        // counts a ping once per matching fence).
        let mut people: Vec<i64> = fences.iter().map(|f| f.person_id).collect();
        people.sort_unstable();
        if let Some(w) = people.windows(2).find(|w| w[0] == w[1]) {
            bail!(
                "名单文件 {}：{} 出现多次（每人一个电子围栏）",
                path.display(),
                w[0]
            );
        }
        lists.fences = Some(fences);
    }
    if lists.cases.is_none() && lists.area.is_none() && lists.fences.is_none() {
        bail!(
            "名单目录 {} 里没有 cases.csv、risk_area.csv、fences.csv 中的任何一个",
            dir.display()
        );
    }
    Ok(lists)
}
