//! `fangkong bench deliveries`: deliveries to sealed and isolated households (issue 16: 10,000
//! requests allocated to slots in < 1 s). First the pure allocation
//! (`domain::supplies::deliveries::allocate`: medicine and urgent first, each into the earliest
//! slot with room) over N requests and P collection points, timed over repeated runs; then the
//! whole path on a database: N requests of a generated population's households, a collection point
//! per village, and `App::allocate_deliveries` (read the waiting requests, the points and the slots'
//! loads, allocate, write every slot and step in one transaction). It reports; it never asserts.

use std::time::{Duration, Instant};

use anyhow::Result;
use fangkong_app::Actor;
use fangkong_app::supplies::deliveries::{DeliveryRecord, PointForm};
use fangkong_domain::role::Role;
use fangkong_domain::supplies::deliveries::{
    DeliveryCategory, DeliveryStatus, Eligibility, RequestChannel, SlotPlan, ToAllocate, Urgency,
    allocate,
};

use crate::bench::{BenchArgs, import_population, machine, percentile, prepare};

/// The pure allocation: `requests` over `points`, 20 runs; (p50, p95) in ms.
fn pure(requests: usize, points: usize) -> (f64, f64, usize) {
    let categories = DeliveryCategory::ALL;
    let input: Vec<ToAllocate> = (0..requests)
        .map(|i| ToAllocate {
            point: i % points.max(1),
            category: categories[i * 7 % categories.len()],
            urgency: if i % 5 == 0 {
                Urgency::Urgent
            } else {
                Urgency::Normal
            },
            requested_at: 1_668_900_000 + (i as i64 * 37) % 86_400,
            id: i as i64 + 1,
        })
        .collect();
    let plan = SlotPlan {
        first_start_minute: 8 * 60,
        slot_minutes: 30,
        slots_per_day: 20,
        capacity: 20,
    };
    let slots: Vec<(SlotPlan, Vec<(i64, i64)>)> = (0..points.max(1))
        .map(|p| {
            (
                plan,
                (0..40)
                    .map(|n| (1_668_902_400 + n * 1800, (p as i64 + n) % 3))
                    .collect(),
            )
        })
        .collect();
    let mut times = Vec::new();
    let mut given = 0;
    for _ in 0..20 {
        let started = Instant::now();
        let out = allocate(&input, &slots);
        times.push(started.elapsed());
        given = out.iter().filter(|s| s.is_some()).count();
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.95), given)
}

pub async fn run(args: &BenchArgs, requests: usize) -> Result<()> {
    let prepared = prepare(args).await?;
    let app = prepared.app.clone();
    println!(
        "fangkong bench deliveries — {} — {} — {} residents, {} requests",
        app.store_for_tools().backend_name(),
        machine(),
        args.residents,
        requests
    );
    for points in [1, 100, 1_000] {
        let (p50, p95, given) = pure(requests, points);
        println!(
            "allocate (pure)  {requests} requests over {points} points: p50 {p50:.1} ms, p95 {p95:.1} ms ({given} given a slot)"
        );
    }

    if args.reuse && !app.store_for_tools().residents_empty().await? {
        println!("reusing the residents already in the database");
    } else {
        let csv_dir = tempfile::tempdir()?;
        import_population(&prepared, args, &csv_dir.path().join("population.csv")).await?;
    }
    let (lower, upper) = prepared.region.subtree_range();
    let store = app.store_for_tools();
    let now = app.now_unix();
    let mut records = Vec::with_capacity(requests);
    let mut villages: Vec<String> = Vec::new();
    let mut after = 0;
    'pages: loop {
        let page = store
            .residents_page((&lower, &upper), after, 10_000)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for r in &page {
            let village: String = r.grid_code.chars().take(12).collect();
            if !villages.contains(&village) {
                villages.push(village);
            }
            let i = records.len();
            let category = DeliveryCategory::ALL[i * 7 % DeliveryCategory::ALL.len()];
            let urgency = if i % 5 == 0 {
                Urgency::Urgent
            } else {
                Urgency::Normal
            };
            records.push(DeliveryRecord {
                id: 0,
                grid_code: r.grid_code.clone(),
                household_number: r.household_number.clone(),
                resident_id: r.id,
                name: r.name.to_string(),
                phone: String::new(),
                address: r.address.to_string(),
                category,
                urgency,
                items: "基准测试物品".into(),
                channel: RequestChannel::GridWorker,
                eligibility: Eligibility::SealedArea,
                elderly_alone: false,
                status: DeliveryStatus::Requested,
                point_id: None,
                slot_start: None,
                courier: String::new(),
                requested_at: now - (i as i64 % 3600),
                due_at: now + 6 * 3600,
                updated_at: now,
                created_by: "bench".into(),
            });
            if records.len() >= requests {
                break 'pages;
            }
        }
    }
    let started = Instant::now();
    store.insert_deliveries_unchecked(&records).await?;
    println!(
        "requests   {} written in {:.1} s",
        records.len(),
        started.elapsed().as_secs_f64()
    );
    let supply = Actor::seeding(Role::Supply, prepared.region.clone(), "bench", "基准测试");
    for village in &villages {
        app.add_delivery_point(
            &supply,
            &PointForm {
                name: format!("{village} 收货点"),
                region_code: village.clone(),
                address: String::new(),
                first_start: "08:00".into(),
                slot_minutes: "30".into(),
                slots_per_day: "24".into(),
                capacity: "50".into(),
            },
        )
        .await?;
    }
    let started = Instant::now();
    let report = app.allocate_deliveries(&supply).await?;
    let took: Duration = started.elapsed();
    println!(
        "allocate (app)   {} waiting over {} points: {} given a slot, {} slots full, {} without a point, in {:.0} ms (read, allocate, one transaction writing every slot and step)",
        report.waiting,
        villages.len(),
        report.allocated,
        report.slots_full,
        report.without_point,
        took.as_secs_f64() * 1000.0
    );
    Ok(())
}
