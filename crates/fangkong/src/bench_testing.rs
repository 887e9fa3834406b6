//! `fangkong bench mass-testing`: a whole round at city scale, through the same app functions the
//! API handlers call. Bindings come from many tables at once (each answer only after its commit);
//! the lab's results come as one CSV upload; then the command views are timed.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fangkong_app::mass_testing::{RoundForm, SamplingBatch, ScanAction, ScanInput, SiteForm};
use fangkong_domain::mass_testing::TubeBarcode;
use fangkong_seed::seed_actor;

use crate::bench::{BenchArgs, import_population, machine, peak_memory_mib, percentile, prepare};

/// Residents read from the register per page while the tables are fed.
const RESIDENTS_PER_PAGE: i64 = 50_000;

pub async fn run(
    args: &BenchArgs,
    tables: usize,
    batch: usize,
    pool: usize,
    positives_per_10k: u64,
) -> Result<()> {
    let prepared = prepare(args).await?;
    let app = prepared.app.clone();
    println!(
        "fangkong bench mass-testing — {} — {} — {} residents, {tables} concurrent tables, {batch} scans per request, {pool} per tube",
        app.store_for_tools().backend_name(),
        machine(),
        args.residents
    );
    if args.reuse && !app.store_for_tools().residents_empty().await? {
        println!("reusing the residents already in the database");
    } else {
        let csv_dir = tempfile::tempdir()?;
        import_population(&prepared, args, &csv_dir.path().join("population.csv")).await?;
    }
    let actor = seed_actor();
    let region = prepared.region.clone();
    let (lower, upper) = region.subtree_range();

    // The round, its tubes and one site per village with 20 tables.
    let started = Instant::now();
    let round_id = app
        .open_round(
            &actor,
            &RoundForm {
                name: format!("基准测试 {}", chrono::Utc::now().format("%H:%M:%S")),
                kind: "whole".into(),
                region_code: region.as_str().to_string(),
                pool_size: pool.to_string(),
                ..Default::default()
            },
        )
        .await?;
    let round = app.round(&actor, round_id).await?;
    let first_serial = TubeBarcode::parse(&round.tube_ranges[0].0)
        .map_err(anyhow::Error::msg)?
        .serial();
    let villages = app.store_for_tools().villages_in(&lower, &upper).await?;
    let mut site_of_village: HashMap<String, i64> = HashMap::new();
    for village in &villages {
        let site = app
            .create_site(
                &actor,
                round_id,
                &SiteForm {
                    region_code: village.code.clone(),
                    name: format!("{}采样点", village.name),
                    tables: "20".into(),
                    ..Default::default()
                },
            )
            .await?;
        site_of_village.insert(village.code.clone(), site);
    }
    println!(
        "open round {:.1} s  target {}  {} sites  tubes {}–{}",
        started.elapsed().as_secs_f64(),
        round.target_population,
        villages.len(),
        round.tube_ranges[0].0,
        round.tube_ranges[0].1
    );

    // Bindings: a reader turns the register into table uploads; `tables` workers send them.
    let (sender, receiver) = async_channel(tables * 2);
    let store = app.store_for_tools().clone();
    let feeder = tokio::spawn({
        let (lower, upper) = (lower.clone(), upper.clone());
        async move {
            let mut after = 0_i64;
            let mut serial = first_serial;
            let mut scan_no = 0_u64;
            let mut table_turn: HashMap<i64, i64> = HashMap::new();
            let mut pending: HashMap<String, Vec<ScanInput>> = HashMap::new();
            loop {
                let page = store
                    .residents_page((&lower, &upper), after, RESIDENTS_PER_PAGE)
                    .await?;
                let Some(last) = page.last() else { break };
                after = last.id;
                for resident in page {
                    let village = resident.grid_code[..12].to_string();
                    let scans = pending.entry(village.clone()).or_default();
                    if scans.len().is_multiple_of(pool) {
                        serial += 1;
                    }
                    scan_no += 1;
                    scans.push(ScanInput {
                        scan_id: format!("r{round_id}-{scan_no}"),
                        tube: TubeBarcode::from_serial(serial - 1)
                            .map_err(anyhow::Error::msg)?
                            .to_string(),
                        action: ScanAction::Bind,
                        purpose: None,
                        id_type: resident.id_type,
                        id_number: resident.id_number.into(),
                        name: String::new(),
                        scanned_at: None,
                        occurred_at: String::new(),
                    });
                    if scans.len() >= batch {
                        let scans = pending.remove(&village).unwrap_or_default();
                        let site = site_of_village[&village];
                        let turn = table_turn.entry(site).or_default();
                        *turn = *turn % 20 + 1;
                        let request = SamplingBatch {
                            round_id,
                            site_id: site,
                            table_no: *turn,
                            scans,
                        };
                        if sender.send(request).await.is_err() {
                            return Ok(serial);
                        }
                    }
                }
            }
            for (village, scans) in pending {
                let site = site_of_village[&village];
                let turn = table_turn.entry(site).or_default();
                *turn = *turn % 20 + 1;
                let mut scans = scans;
                // Close the last, partly filled tube of the village.
                if let Some(last) = scans.last() {
                    let tube = last.tube.clone();
                    scan_no += 1;
                    scans.push(ScanInput {
                        scan_id: format!("r{round_id}-{scan_no}"),
                        tube,
                        action: ScanAction::Close,
                        purpose: None,
                        id_type: String::new(),
                        id_number: String::new(),
                        name: String::new(),
                        scanned_at: None,
                        occurred_at: String::new(),
                    });
                }
                let request = SamplingBatch {
                    round_id,
                    site_id: site,
                    table_no: *turn,
                    scans,
                };
                if sender.send(request).await.is_err() {
                    break;
                }
            }
            Ok::<u64, anyhow::Error>(serial)
        }
    });
    let bound = Arc::new(AtomicU64::new(0));
    let rejected = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..tables {
        let receiver = receiver.clone();
        let app = app.clone();
        let actor = actor.clone();
        let bound = bound.clone();
        let rejected = rejected.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while let Some(request) = receiver.recv().await {
                let sent = Instant::now();
                let results = app.submit_scans(&actor, &request).await?;
                latencies.push(sent.elapsed());
                let ok = results.iter().filter(|r| r.outcome == "bound").count() as u64;
                bound.fetch_add(ok, Ordering::Relaxed);
                let bad = results.iter().filter(|r| !r.ok).count() as u64;
                rejected.fetch_add(bad, Ordering::Relaxed);
            }
            Ok::<Vec<Duration>, anyhow::Error>(latencies)
        }));
    }
    drop(receiver);
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.context("binding worker")??);
    }
    let last_serial = feeder.await.context("feeder")??;
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    let bound = bound.load(Ordering::Relaxed);
    println!(
        "bindings   {bound} in {seconds:.1} s  {:>8.0} bindings/s durable  rejected {}  request p50/p95/p99 {:.0}/{:.0}/{:.0} ms  (target ≥ 20,000/s)",
        bound as f64 / seconds,
        rejected.load(Ordering::Relaxed),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
    );

    // The lab's results for every tube, as one CSV upload.
    let tubes = last_serial - first_serial;
    let csv_dir = tempfile::tempdir()?;
    let path = csv_dir.path().join("results.csv");
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        writeln!(out, "管码,结果,检测时间,检测机构")?;
        let now = chrono::Utc::now().with_timezone(&fangkong_app::china_offset());
        let when = now.format("%Y-%m-%d %H:%M");
        for k in 0..tubes {
            let positive = positives_per_10k > 0 && k % (10_000 / positives_per_10k) == 7;
            let result = if positive { "阳性" } else { "阴性" };
            writeln!(
                out,
                "{},{result},{when},基准检测实验室",
                TubeBarcode::from_serial(first_serial + k).map_err(anyhow::Error::msg)?
            )?;
        }
        out.flush()?;
    }
    let tasks_before: i64 = app
        .store_for_tools()
        .recheck_counts((&lower, &upper))
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum();
    let started = Instant::now();
    let report = app.upload_lab_results(&actor, &path, "results.csv").await?;
    let seconds = started.elapsed().as_secs_f64();
    let rechecks: i64 = app
        .store_for_tools()
        .recheck_counts((&lower, &upper))
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum::<i64>()
        - tasks_before;
    println!(
        "results    {} tubes in {seconds:.1} s  {:>8.0} results/s  positive pools {}  recheck tasks {rechecks}  problems {}  (target 2.5 M in < 30 s)",
        report.upload.applied,
        report.upload.rows_total as f64 / seconds,
        report.upload.positives,
        report.upload.problems
    );

    // Coverage per grid for the whole region, then one grid's missing list.
    let mut coverage = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let overview = app
            .round_overview(&actor, round_id, region.as_str())
            .await?;
        coverage.push(started.elapsed());
        anyhow::ensure!(
            overview.totals.sampled as u64 == bound,
            "coverage counts every binding"
        );
    }
    coverage.sort();
    let progress_started = Instant::now();
    let rows = app
        .store_for_tools()
        .round_progress(round_id, (&lower, &upper))
        .await?;
    let progress_time = progress_started.elapsed();
    println!(
        "coverage   {} grids: per-grid counts {:.0} ms, whole command view p50 {:.0} ms max {:.0} ms  (target < 2 s)",
        rows.len(),
        progress_time.as_secs_f64() * 1000.0,
        percentile(&coverage, 0.5),
        percentile(&coverage, 1.0)
    );
    let grids = app.store_for_tools().grid_codes_in(&lower, &upper).await?;
    let mut missing_times = Vec::new();
    for grid in grids.iter().step_by((grids.len() / 100).max(1)) {
        let started = Instant::now();
        app.grid_coverage(&actor, round_id, grid).await?;
        missing_times.push(started.elapsed());
    }
    missing_times.sort();
    println!(
        "missing    one grid's list over {} grids: p50 {:.1} ms p95 {:.1} ms max {:.1} ms  (target < 100 ms)",
        missing_times.len(),
        percentile(&missing_times, 0.5),
        percentile(&missing_times, 0.95),
        percentile(&missing_times, 1.0)
    );
    println!("peak memory {:.0} MiB", peak_memory_mib());
    Ok(())
}

/// A small multi-consumer channel over tokio's mpsc (the workers share one receiver).
fn async_channel<T: Send + 'static>(
    capacity: usize,
) -> (tokio::sync::mpsc::Sender<T>, SharedReceiver<T>) {
    let (sender, receiver) = tokio::sync::mpsc::channel(capacity);
    (
        sender,
        SharedReceiver(Arc::new(tokio::sync::Mutex::new(receiver))),
    )
}

struct SharedReceiver<T>(Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<T>>>);

impl<T> Clone for SharedReceiver<T> {
    fn clone(&self) -> Self {
        SharedReceiver(self.0.clone())
    }
}

impl<T> SharedReceiver<T> {
    async fn recv(&self) -> Option<T> {
        self.0.lock().await.recv().await
    }
}
