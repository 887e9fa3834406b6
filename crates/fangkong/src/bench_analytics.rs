//! `fangkong bench analytics`: the three analyses of the big-data push in the embedded kernels
//! beside DuckDB and Polars (and Spark `local[2]` on the 10 M subset with `--spark`) on the same
//! day files, with the rows compared by the sha256 of their sorted CSV (analytics.md §4, §6). It
//! reports; it never asserts.
//!
//! Also timed: the daily incremental companion job (a few of the day's new cases over their own
//! infectious window, the 14 days still giving the 30-hour totals; issue 17 asks < 10 s) and the
//! decode floor (DuckDB summing every value of the three columns, analytics.md §5).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::bench::machine;
use crate::pings_cli::{self, Lists, Query, SynthArgs};

#[derive(Args, Clone)]
pub struct AnalyticsArgs {
    /// The day-file directory; generated (with its lists) when it has no day files.
    #[arg(long, default_value = "./pings-bench")]
    pings: PathBuf,
    /// People to generate when the set is missing (740000 ≈ 100 M pings over 14 days).
    #[arg(long, default_value_t = 740_000)]
    people: u32,
    #[arg(long, default_value_t = 14)]
    days: u32,
    #[arg(long, default_value_t = 20_210_102)]
    seed: u64,
    /// Warm runs per query and engine (best reported; one cold run comes first).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Also Spark local[2], on the 10 M subset (a set of people/10, generated beside --pings).
    #[arg(long)]
    spark: bool,
    /// Skip the Python engines (the kernel alone).
    #[arg(long)]
    no_reference: bool,
    /// The folder holding reference.py (default: ./spark, else the source tree's).
    #[arg(long)]
    spark_dir: Option<PathBuf>,
    /// Cases in the incremental companion job.
    #[arg(long, default_value_t = 10)]
    incremental_cases: usize,
}

/// One line of the table.
struct Line {
    query: String,
    data: String,
    engine: String,
    best_s: Option<f64>,
    cold_s: Option<f64>,
    peak_mb: Option<f64>,
    rows: Option<u64>,
    digest: Option<String>,
    note: String,
}

pub async fn run(args: &AnalyticsArgs) -> Result<()> {
    let args = args.clone();
    // The kernels and the Python children block; keep them off the runtime's workers.
    tokio::task::spawn_blocking(move || run_blocking(&args))
        .await
        .context("基准线程意外中止")?
}

fn run_blocking(args: &AnalyticsArgs) -> Result<()> {
    let runs = args.runs.clamp(1, 20);
    println!("## fangkong bench analytics — {}", machine());
    println!("load before: {}", load_avg());
    let mut lines = Vec::new();
    let full = ensure_set(&args.pings, args.people, args.days, args.seed)?;
    let full_label = data_label(&args.pings)?;
    let spark_dir = find_spark_dir(args.spark_dir.as_deref());

    // The incremental job's lists: the first few cases, infectious over the last 4 days.
    let window = pings_cli::window_of(&args.pings)?;
    let incremental = args.pings.join("bench-incremental");
    write_incremental_lists(&full, window, args.incremental_cases, &incremental)?;

    let sets: Vec<(PathBuf, PathBuf, String, Vec<Query>, &str)> = {
        let mut v = vec![(
            args.pings.clone(),
            args.pings.clone(),
            full_label.clone(),
            Query::ALL.to_vec(),
            "duckdb,polars",
        )];
        v.push((
            args.pings.clone(),
            incremental.clone(),
            format!("{full_label}, incremental"),
            vec![Query::Companions],
            "duckdb,polars",
        ));
        if args.spark {
            let small = subset_dir(&args.pings);
            ensure_set(&small, (args.people / 10).max(1), args.days, args.seed)?;
            let label = data_label(&small)?;
            v.push((
                small.clone(),
                small,
                label,
                Query::ALL.to_vec(),
                "duckdb,spark",
            ));
        }
        v
    };

    for (pings, lists_dir, label, queries, engines) in &sets {
        let window = pings_cli::window_of(pings)?;
        let lists = pings_cli::read_lists(lists_dir, window)?;
        let rows_dir = lists_dir.join("bench-rows");
        for query in queries {
            lines.push(kernel_line(*query, pings, &lists, label, runs, &rows_dir)?);
        }
        if args.no_reference {
            continue;
        }
        let names: Vec<&str> = queries.iter().map(|q| q.name()).collect();
        let reference = run_reference(
            &spark_dir,
            pings,
            lists_dir,
            &names.join(","),
            engines,
            runs,
            &rows_dir,
            queries.len() == Query::ALL.len(),
        );
        match reference {
            Ok(found) => lines.extend(found.into_iter().map(|mut l| {
                l.data = label.clone();
                l
            })),
            Err(e) => lines.push(Line {
                query: names.join(","),
                data: label.clone(),
                engine: engines.to_string(),
                best_s: None,
                cold_s: None,
                peak_mb: None,
                rows: None,
                digest: None,
                note: format!("未运行：{e:#}"),
            }),
        }
    }
    print_table(&lines);
    println!("load after: {}", load_avg());
    Ok(())
}

fn ensure_set(dir: &Path, people: u32, days: u32, seed: u64) -> Result<Lists> {
    let has_days = dir.is_dir() && !fangkong_pings::layout::list_days(dir)?.is_empty();
    if !has_days {
        println!("生成数据集 {}（{people} 人，{days} 天）…", dir.display());
        pings_cli::synth_set(&SynthArgs {
            out: dir.to_path_buf(),
            people,
            days,
            seed,
        })?;
    }
    let window = pings_cli::window_of(dir)?;
    pings_cli::read_lists(dir, window)
}

fn subset_dir(pings: &Path) -> PathBuf {
    let name = pings
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "pings".into());
    pings.with_file_name(format!("{name}-10pct"))
}

fn data_label(dir: &Path) -> Result<String> {
    let days = fangkong_pings::layout::list_days(dir)?;
    let pings: u64 = days.iter().map(|d| d.rows).sum();
    Ok(format!(
        "{:.1} M pings, {} days",
        pings as f64 / 1e6,
        days.len()
    ))
}

fn write_incremental_lists(full: &Lists, window: (i64, i64), n: usize, dir: &Path) -> Result<()> {
    let Some(cases) = &full.cases else {
        bail!("数据集没有病例名单，无法计时增量任务");
    };
    let from = (window.1 - 4 * fangkong_pings::layout::DAY_S).max(window.0);
    let mut text = String::from("person_id,from_ts,to_ts\n");
    for c in cases.iter().take(n.max(1)) {
        text.push_str(&format!("{},{from},{}\n", c.person_id, window.1));
    }
    pings_cli::write_atomically(&dir.join("cases.csv"), &text)
}

/// The kernel: a cold run and `runs` warm ones; peak memory from VmHWM, reset before the query
/// when the kernel allows it (`/proc/self/clear_refs`), else the process's peak so far.
fn kernel_line(
    query: Query,
    pings: &Path,
    lists: &Lists,
    label: &str,
    runs: usize,
    rows_dir: &Path,
) -> Result<Line> {
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let mut times = Vec::with_capacity(runs + 1);
    let mut outcome = None;
    for _ in 0..=runs {
        let started = Instant::now();
        outcome = Some(pings_cli::run_query(query, pings, lists, false, false)?);
        times.push(started.elapsed().as_secs_f64());
    }
    let Some(outcome) = outcome else {
        bail!("没有运行");
    };
    let text = pings_cli::csv_text(query, &outcome.rows);
    pings_cli::write_atomically(
        &rows_dir.join(format!("{}-kernel.csv", query.name())),
        &text,
    )?;
    let s = outcome.stats;
    Ok(Line {
        query: query.name().into(),
        data: label.into(),
        engine: "fangkong kernel".into(),
        best_s: times[1..].iter().copied().reduce(f64::min),
        cold_s: times.first().copied(),
        peak_mb: Some(crate::bench::peak_memory_mib()),
        rows: Some(outcome.rows.len() as u64),
        digest: Some(pings_cli::sha256_hex(&text)),
        note: format!(
            "row groups {}/{}{}",
            s.row_groups_read,
            s.row_groups_total,
            if reset { "" } else { ", peak = process so far" }
        ),
    })
}

fn find_spark_dir(given: Option<&Path>) -> PathBuf {
    if let Some(dir) = given {
        return dir.to_path_buf();
    }
    let here = PathBuf::from("spark");
    if here.join("reference.py").exists() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spark")
}

#[allow(clippy::too_many_arguments)]
fn run_reference(
    spark_dir: &Path,
    pings: &Path,
    lists: &Path,
    queries: &str,
    engines: &str,
    runs: usize,
    rows_dir: &Path,
    floor: bool,
) -> Result<Vec<Line>> {
    let script = spark_dir.join("reference.py");
    if !script.exists() {
        bail!("找不到 {}（用 --spark-dir 指定）", script.display());
    }
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .arg("--pings")
        .arg(pings)
        .arg("--lists")
        .arg(lists)
        .args(["--engines", engines, "--queries", queries])
        .args(["--runs", &runs.to_string(), "--spark-driver-memory", "6g"])
        .arg("--out-dir")
        .arg(rows_dir);
    if floor {
        cmd.arg("--floor");
    }
    let out = cmd
        .output()
        .with_context(|| format!("运行 python3 {}", script.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        bail!(
            "reference.py 失败（{}）：{}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        );
    }
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reference.py 的输出不是 JSON")?;
    let Some(results) = doc.get("results").and_then(|r| r.as_array()) else {
        bail!("reference.py 的输出没有 results");
    };
    let f = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_f64());
    Ok(results
        .iter()
        .map(|r| Line {
            query: r["query"].as_str().unwrap_or("?").into(),
            data: String::new(),
            engine: match r["engine"].as_str().unwrap_or("?") {
                "polars" => "Polars (streaming)".into(),
                "duckdb" => "DuckDB".into(),
                "spark" => "Spark local[2]".into(),
                other => other.into(),
            },
            best_s: f(r, "best_s"),
            cold_s: f(r, "cold_s"),
            peak_mb: f(r, "peak_rss_mb"),
            rows: r.get("rows").and_then(|x| x.as_u64()),
            digest: r.get("sha256").and_then(|x| x.as_str()).map(String::from),
            note: match (r.get("error").and_then(|e| e.as_str()), f(r, "setup_s")) {
                (Some(e), _) => e.to_string(),
                (None, Some(s)) => format!("setup {s:.2} s"),
                _ => String::new(),
            },
        })
        .collect())
}

fn print_table(lines: &[Line]) {
    // Identical: every engine that returned rows for a (query, data) gave the same digest as the
    // kernel; the floor has no rows to compare.
    let mut groups: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
    for l in lines {
        if let Some(d) = &l.digest {
            groups
                .entry((l.query.clone(), l.data.clone()))
                .or_default()
                .push(d);
        }
    }
    println!();
    println!(
        "| query | data | engine | best warm s | cold s | peak MB | rows | identical? | note |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---|---|");
    let num = |x: Option<f64>, p: usize| x.map_or("–".to_string(), |v| format!("{v:.p$}"));
    for l in lines {
        let identical = match (&l.digest, groups.get(&(l.query.clone(), l.data.clone()))) {
            (Some(d), Some(all)) if all.len() > 1 => {
                if all.iter().all(|x| x == d) {
                    "yes".to_string()
                } else {
                    format!("**no** ({})", &d[..12.min(d.len())])
                }
            }
            (Some(_), _) => "(alone)".to_string(),
            (None, _) => "–".to_string(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            l.query,
            l.data,
            l.engine,
            num(l.best_s, 3),
            num(l.cold_s, 3),
            num(l.peak_mb, 0),
            l.rows.map_or("–".into(), |r| r.to_string()),
            identical,
            l.note
        );
    }
    if lines.iter().any(|l| l.rows == Some(0)) {
        println!("\n警告：有查询返回 0 行，结果比较没有意义：请核对数据集和名单");
    }
}

fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}
