//! Generate the analytics.md set (if missing) and time the kernels on it, best of 3.
//!
//! `cargo run --release -p fangkong-pings --example measure -- synth DIR [PEOPLE DAYS]`
//! `cargo run --release -p fangkong-pings --example measure -- bench DIR`
//! The lists are read from DIR (cases.csv, risk_area.csv, fences.csv).

use std::path::Path;
use std::time::Instant;

use fangkong_pings::fence::{FenceRule, fence_breaches};
use fangkong_pings::layout::{Prune, Want, list_days, scan_parallel};
use fangkong_pings::synth::{SynthPlan, generate, read_lists, write_lists};
use fangkong_pings::visitors::risk_area_visitors;

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split(' ')
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let cmd = args.get(1).map(String::as_str).unwrap_or("bench");
    let dir = Path::new(
        args.get(2)
            .map(String::as_str)
            .unwrap_or("/work/pingdata/full"),
    );
    match cmd {
        "synth" => {
            let mut plan = SynthPlan::full();
            if let Some(p) = args.get(3) {
                plan.people = p.parse()?;
            }
            if let Some(d) = args.get(4) {
                plan.days = d.parse()?;
            }
            let t = Instant::now();
            println!("load before: {}", load());
            let lists = generate(&plan, dir)?;
            write_lists(&lists, dir)?;
            println!(
                "generated {} people × {} days in {:.1} s (load after: {}); {} cases, {} fences, {} area cells",
                plan.people,
                plan.days,
                t.elapsed().as_secs_f64(),
                load(),
                lists.cases.len(),
                lists.fences.len(),
                lists.risk_area.cells.len()
            );
        }
        _ => {
            let lists = read_lists(dir)?;
            for q in ["decode-all", "visitors", "fence-strict", "fence-default"] {
                let mut best = f64::MAX;
                let mut line = String::new();
                for _ in 0..3 {
                    let before = load();
                    let t = Instant::now();
                    let (rows, stats) = match q {
                        "decode-all" => {
                            // The floor: every value of the three columns decoded, nothing done.
                            let days = list_days(dir)?;
                            let (sums, s) = scan_parallel(
                                &days,
                                &Prune::default(),
                                Want::ALL,
                                false,
                                || 0i64,
                                |acc, b| {
                                    *acc = acc.wrapping_add(b.ts.len() as i64);
                                    Ok(())
                                },
                            )?;
                            (sums.iter().sum::<i64>() as usize, s)
                        }
                        "visitors" => {
                            let (r, s) = risk_area_visitors(dir, &lists.risk_area)?;
                            (r.len(), s)
                        }
                        "fence-strict" => {
                            let (r, s) = fence_breaches(dir, &lists.fences, &FenceRule::STRICT)?;
                            (r.len(), s)
                        }
                        _ => {
                            let (r, s) = fence_breaches(dir, &lists.fences, &FenceRule::DEFAULT)?;
                            (r.len(), s)
                        }
                    };
                    let secs = t.elapsed().as_secs_f64();
                    println!("  {q}: {secs:.3} s, {rows} rows, {stats:?} (load before {before})");
                    if secs < best {
                        best = secs;
                        line = format!("{q}: best {secs:.3} s, {rows} rows (load before {before})");
                    }
                }
                println!("{line}");
            }
        }
    }
    Ok(())
}
