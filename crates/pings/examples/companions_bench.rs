//! Times the companion job on a directory of day files (analytics.md §3 Q2).
//!
//! ```text
//! cargo run --release -p fangkong-pings --example companions_bench -- \
//!     --pings /work/pingdata/full --cases /work/pingdata/full/cases.csv [--runs 3] \
//!     [--daily N] [--continuous] [--out rows.csv]
//! ```
//! Without `--daily` it runs the full job: every case over the whole window (the days of the files).
//! With `--daily N` it runs the daily job: N of the cases (every k-th), each with its own 4 to 6 day
//! infectious window ending inside the window. Prints each run's time, the rows and a digest of them.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use fangkong_pings::companions::{CaseWindow, CompanionRule, companions};

fn day_start(name: &str) -> Option<i64> {
    let date = name.strip_prefix("pings-")?.strip_suffix(".parquet")?;
    let num = |s: &str| s.parse::<i64>().ok();
    let (y, m, d) = (
        num(date.get(0..4)?)?,
        num(date.get(5..7)?)?,
        num(date.get(8..10)?)?,
    );
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some(days * 86_400 - 8 * 3600)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut pings, mut cases_file, mut out) = (None, None, None);
    let (mut runs, mut daily, mut continuous) = (3usize, 0usize, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--pings" => pings = args.next().map(PathBuf::from),
            "--cases" => cases_file = args.next().map(PathBuf::from),
            "--out" => out = args.next().map(PathBuf::from),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).unwrap_or(3),
            "--daily" => daily = args.next().and_then(|v| v.parse().ok()).unwrap_or(15),
            "--continuous" => continuous = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let pings = pings.ok_or("--pings DIR is required")?;
    let cases_file = cases_file.ok_or("--cases FILE is required")?;
    let mut starts: Vec<i64> = std::fs::read_dir(&pings)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(day_start))
        .collect();
    starts.sort_unstable();
    let (Some(&t0), Some(&last)) = (starts.first(), starts.last()) else {
        return Err("no day files".into());
    };
    let window = (t0, last + 86_400);
    let ids: Vec<i64> = std::fs::read_to_string(&cases_file)?
        .lines()
        .filter_map(|l| l.split(',').next()?.trim().parse().ok())
        .collect();
    let cases: Vec<CaseWindow> = if daily == 0 {
        ids.iter()
            .map(|&p| CaseWindow {
                person_id: p,
                from: window.0,
                to: window.1,
            })
            .collect()
    } else {
        let step = (ids.len() / daily.max(1)).max(1);
        ids.iter()
            .step_by(step)
            .take(daily)
            .enumerate()
            .map(|(i, &p)| {
                // Confirmed on one of the last days; infectious from 4 to 6 days before.
                let to = window.1 - (i as i64 % 3) * 86_400 - 3_600 * (i as i64 % 7);
                CaseWindow {
                    person_id: p,
                    from: to - (4 + i as i64 % 3) * 86_400,
                    to,
                }
            })
            .collect()
    };
    let rule = CompanionRule {
        continuous,
        ..CompanionRule::CHENGDU_2021
    };
    println!(
        "{} cases, window {}..{} ({} days), {}",
        cases.len(),
        window.0,
        window.1,
        starts.len(),
        if daily == 0 { "full job" } else { "daily job" }
    );
    let mut best = f64::MAX;
    let mut last_run = None;
    for r in 0..runs {
        let t = Instant::now();
        let run = companions(&pings, &cases, window, &rule)?;
        let s = t.elapsed().as_secs_f64();
        best = best.min(s);
        let people = {
            let mut p: Vec<i64> = run.rows.iter().map(|r| r.person_id).collect();
            p.dedup();
            p.len()
        };
        let digest = run.rows.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, r| {
            [
                r.person_id,
                r.case_id,
                r.cell_id,
                r.total_ov_s,
                r.max_ov_s,
                r.first_ov_start,
            ]
            .iter()
            .fold(h, |h, v| (h ^ *v as u64).wrapping_mul(0x1000_0000_01b3))
        });
        println!(
            "run {}: {s:.2} s, {} rows, {people} people, digest {digest:016x}, {} files, {}/{} row groups, {} pings decoded, {} cases without pings",
            r + 1,
            run.rows.len(),
            run.stats.files,
            run.stats.row_groups_read,
            run.stats.row_groups_total,
            run.stats.pings_decoded,
            run.cases_without_pings.len()
        );
        last_run = Some(run);
    }
    println!("best {best:.2} s");
    if let (Some(path), Some(run)) = (out, last_run) {
        let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(
            w,
            "person_id,case_id,cell_id,total_ov_s,max_ov_s,first_ov_start"
        )?;
        for r in &run.rows {
            writeln!(
                w,
                "{},{},{},{},{},{}",
                r.person_id, r.case_id, r.cell_id, r.total_ov_s, r.max_ov_s, r.first_ov_start
            )?;
        }
    }
    Ok(())
}
