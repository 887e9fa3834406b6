//! `fangkong bench sentinels`: pharmacy sales arriving in bursts (targets.md P13). A population is
//! loaded, pharmacies registered over the region's townships, and N real-name sales sent through
//! the pharmacy systems' batch path (`App::report_pharmacy_sales`, the API's function: parsing,
//! the jurisdiction, then chunks of 5,000 sales, each one durable transaction with every buyer's
//! test requirement, the day counters and the `pharmacy_purchase` code fact with the code it
//! causes). Reports sales/s and the p50/p95 of a call, then how long the background pass takes
//! to turn the burst into alerts (the spike of sales per township); it never asserts.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fangkong_app::Actor;
use fangkong_app::warning::pharmacies::{PharmacyForm, SaleInput};
use fangkong_domain::region::{RegionCode, RegionLevel};
use fangkong_domain::role::Role;

use crate::bench::{BenchArgs, import_population, machine, peak_memory_mib, percentile, prepare};

pub async fn run(args: &BenchArgs, sales: usize, batch: usize, pharmacies: usize) -> Result<()> {
    let prepared = prepare(args).await?;
    let app = prepared.app.clone();
    println!(
        "fangkong bench sentinels — {} — {} — {} residents, {} sales in calls of {}",
        app.store_for_tools().backend_name(),
        machine(),
        args.residents,
        sales,
        batch
    );
    if args.reuse && !app.store_for_tools().residents_empty().await? {
        println!("reusing the residents already in the database");
    } else {
        let csv_dir = tempfile::tempdir()?;
        import_population(&prepared, args, &csv_dir.path().join("population.csv")).await?;
    }
    // The rule of the time of the sources: Hebei's code table (a purchase pops up until tested).
    let province = RegionCode::parse("13").map_err(anyhow::Error::msg)?;
    let admin = Actor::seeding(Role::Administrator, province, "bench", "基准测试");
    app.set_code_policy(&admin, "hebei-2022-11").await?;

    // Pharmacies over the townships of the region (a township's pharmacies report together).
    let (lower, upper) = prepared.region.subtree_range();
    let store = app.store_for_tools();
    let mut townships: Vec<String> = Vec::new();
    let mut buyers: Vec<String> = Vec::new();
    let mut after = 0;
    while buyers.len() < sales.max(1) {
        let page = store
            .residents_page((&lower, &upper), after, 10_000)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for r in &page {
            if r.id_type == "mainland_id" {
                buyers.push(r.id_number.to_string());
            }
            let township: String = r.grid_code.chars().take(9).collect();
            if townships.last() != Some(&township) && !townships.contains(&township) {
                townships.push(township);
            }
        }
    }
    anyhow::ensure!(!buyers.is_empty(), "no resident to buy drugs");
    let seller = Actor::seeding(Role::Pharmacy, prepared.region.clone(), "bench", "药店系统");
    let mut licences = Vec::with_capacity(pharmacies);
    for i in 0..pharmacies.max(1) {
        let township = &townships[i % townships.len()];
        let code = RegionCode::parse(township).map_err(anyhow::Error::msg)?;
        debug_assert_eq!(code.level(), RegionLevel::Township);
        let licence = format!("冀BENCH{i:05}");
        let form = PharmacyForm {
            name: format!("基准药房{i}"),
            region_code: township.clone(),
            licence_no: licence.clone(),
        };
        if app.register_pharmacy(&seller, &form).await.is_err() {
            store
                .pharmacy_by_licence(&licence)
                .await?
                .context("a bench pharmacy neither registered nor found")?;
        }
        licences.push(licence);
    }
    let drugs = [
        "TR001", "TR003", "ZK001", "ZK005", "KB001", "KB006", "KJ001", "KJ004",
    ];
    let run_id = chrono::Utc::now().timestamp();
    let mut times: Vec<Duration> = Vec::new();
    let mut recorded = 0_i64;
    let mut flagged = 0_i64;
    let started = Instant::now();
    let mut sent = 0;
    while sent < sales {
        let n = batch.min(sales - sent);
        let inputs: Vec<SaleInput> = (sent..sent + n)
            .map(|i| SaleInput {
                licence_no: licences[i % licences.len()].clone(),
                sale_key: format!("B{run_id}-{i}"),
                sold_at: String::new(),
                drug: drugs[i % drugs.len()].into(),
                quantity: "1".into(),
                buyer_name: "购药人".into(),
                id_type: String::new(),
                // One sale in fifty with an ID the pharmacy mistyped: accepted and flagged.
                id_number: if i % 50 == 49 {
                    "13010919900101123".into()
                } else {
                    buyers[(i * 7919) % buyers.len()].clone()
                },
                phone: "13800000000".into(),
            })
            .collect();
        let call = Instant::now();
        let (report, _) = app.report_pharmacy_sales(&seller, &inputs).await?;
        times.push(call.elapsed());
        recorded += report.recorded;
        flagged += report.flagged;
        anyhow::ensure!(
            report.problems.is_empty(),
            "bench sales refused: {:?}",
            report.problems.first()
        );
        sent += n;
    }
    let seconds = started.elapsed().as_secs_f64();
    times.sort();
    println!(
        "ingest     {} sales in {:.1} s  {:>8.0} sales/s  (target ≥ 5,000/s)  recorded {}  flagged {}",
        sales,
        seconds,
        sales as f64 / seconds,
        recorded,
        flagged
    );
    println!(
        "per call   {} sales: p50 {:.0} ms  p95 {:.0} ms  max {:.0} ms",
        batch,
        percentile(&times, 0.50),
        percentile(&times, 0.95),
        percentile(&times, 1.0)
    );
    let today = chrono::Utc::now()
        .with_timezone(&fangkong_domain::time::beijing_offset())
        .date_naive()
        .to_string();
    let figures = store
        .pharmacy_day_figures(prepared.region.as_str(), &today)
        .await?;
    println!(
        "counters   sales today {}  flagged {}  awaiting test {}",
        figures.sales, figures.flagged_ids, figures.awaiting_test
    );
    // A retry of the last call: already recorded, nothing written.
    let retry = Instant::now();
    let last: Vec<SaleInput> = (sales.saturating_sub(batch)..sales)
        .map(|i| SaleInput {
            licence_no: licences[i % licences.len()].clone(),
            sale_key: format!("B{run_id}-{i}"),
            drug: drugs[i % drugs.len()].into(),
            buyer_name: "购药人".into(),
            id_number: buyers[(i * 7919) % buyers.len()].clone(),
            ..Default::default()
        })
        .collect();
    let (report, _) = app.report_pharmacy_sales(&seller, &last).await?;
    println!(
        "retry      {} sales already recorded in {:.0} ms (recorded again: {})",
        report.already_recorded,
        retry.elapsed().as_secs_f64() * 1000.0,
        report.recorded
    );
    // The triggers: the background pass `serve` runs every few seconds, taken once after the
    // burst (the pharmacies' requirement pass over every buyer waiting, then the trigger pass,
    // which reads the day counters and raises the spike alerts), then once more with nothing new.
    let pass = Instant::now();
    app.try_run_event_passes().await?;
    let first = pass.elapsed();
    let pass = Instant::now();
    app.try_run_event_passes().await?;
    let idle = pass.elapsed();
    let spikes = app
        .alerts(&admin, prepared.region.as_str(), "open")
        .await?
        .alerts
        .rows
        .iter()
        .filter(|a| a.channel == "药品销售异常增多")
        .count();
    println!(
        "triggers   pass after the burst {:.0} ms (spike alerts raised: {spikes}); next pass {:.0} ms",
        first.as_secs_f64() * 1000.0,
        idle.as_secs_f64() * 1000.0
    );
    println!("peak memory {:.0} MiB", peak_memory_mib());
    Ok(())
}
