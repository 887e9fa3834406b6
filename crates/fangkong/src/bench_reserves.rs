//! `fangkong bench reserves`: days of cover at city scale (issue 16). Warehouses are registered
//! through the app over every township of the region (and one command-office depot per county),
//! a year of ledger lines per warehouse and item is bulk-loaded (stock in, daily consumption,
//! restocking, some items restocked short), the stocks set to their ledger sums; then the days of
//! cover for every item and region are timed: the city read from the stocks kept with the
//! ledger, the city recomputed from every ledger line, and every county of the city (its
//! townships' lines) recomputed from the ledger. Target: < 1 s. It reports; it never asserts.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fangkong_app::Actor;
use fangkong_app::supplies::reserves::{LoadedLine, WarehouseForm};
use fangkong_domain::region::{RegionCode, RegionLevel};
use fangkong_domain::role::Role;
use fangkong_domain::supplies::reserves::{OwnerKind, catalogue};

use crate::bench::{BenchArgs, machine, peak_memory_mib, prepare};

/// A small deterministic generator (the same ledger every run).
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

pub async fn run(args: &BenchArgs, per_township: usize, days: i64) -> Result<()> {
    let prepared = prepare(args).await?;
    let app = prepared.app.clone();
    let store = app.store_for_tools();
    let items = &catalogue().items;
    // The townships of the region, county by county.
    let mut counties: Vec<RegionCode> = Vec::new();
    let mut townships: Vec<RegionCode> = Vec::new();
    let mut frontier = vec![prepared.region.clone()];
    while let Some(code) = frontier.pop() {
        match code.level() {
            RegionLevel::Township => townships.push(code),
            RegionLevel::Province | RegionLevel::City | RegionLevel::County => {
                if code.level() == RegionLevel::County {
                    counties.push(code.clone());
                }
                for child in store.region_children(code.as_str()).await? {
                    frontier.push(RegionCode::parse(&child.code).map_err(anyhow::Error::msg)?);
                }
            }
            _ => {}
        }
    }
    anyhow::ensure!(
        !townships.is_empty(),
        "no township under {}",
        prepared.region.as_str()
    );
    println!(
        "fangkong bench reserves — {} — {} — {} counties, {} townships, {} items, {} days of ledger",
        store.backend_name(),
        machine(),
        counties.len(),
        townships.len(),
        items.len(),
        days
    );

    // Warehouses through the app: one command-office depot per county, `per_township` per township.
    let supply = Actor::seeding(Role::Supply, prepared.region.clone(), "bench", "物资保障组");
    let started = Instant::now();
    let owners = OwnerKind::ALL;
    let mut warehouses: Vec<(i64, String)> = Vec::new();
    let places = counties.iter().map(|c| (c, 0usize)).chain(
        townships
            .iter()
            .flat_map(|t| (1..=per_township).map(move |i| (t, i))),
    );
    for (place, i) in places {
        let form = WarehouseForm {
            name: format!("基准仓库{}-{i}", place.as_str()),
            region_code: place.as_str().to_string(),
            owner_kind: owners[i % owners.len()].code().to_string(),
            owner_name: format!("基准储备单位{i}"),
        };
        let id = match app.create_warehouse(&supply, &form).await {
            Ok(id) => id,
            Err(_) => store
                .warehouses_in((place.as_str(), &format!("{}:", place.as_str())))
                .await?
                .into_iter()
                .find(|w| w.name == form.name)
                .map(|w| w.id)
                .context("a bench warehouse neither registered nor found")?,
        };
        warehouses.push((id, place.as_str().to_string()));
    }
    println!(
        "warehouses: {} registered in {:.1} s",
        warehouses.len(),
        started.elapsed().as_secs_f64()
    );

    // A year of ledger lines: stock in on day 0, a daily consumption, restocking every 30 days
    // (one item in seven restocked short, so some regions fall under the 30-day rule).
    let now = app.now_unix();
    let start = now - days * 86_400;
    let started = Instant::now();
    let mut loaded = 0_u64;
    let mut lines: Vec<LoadedLine> = Vec::with_capacity(items.len() * (days as usize + 20));
    for (w, (warehouse, region)) in warehouses.iter().enumerate() {
        lines.clear();
        for (i, item) in items.iter().enumerate() {
            let seed = mix((w as u64) << 20 | i as u64);
            let daily = 5 + (seed % 200) as i64;
            let short = seed.is_multiple_of(7);
            let mut on_hand = 0_i64;
            for day in 0..days {
                let at = start + day * 86_400 + 8 * 3600;
                if day % 30 == 0 {
                    let top_up = if short { 20 } else { 40 } * daily;
                    let delta = (top_up - on_hand).max(0);
                    on_hand += delta;
                    lines.push(LoadedLine {
                        warehouse_id: *warehouse,
                        region_code: region.clone(),
                        item_code: item.code.clone(),
                        kind: "in",
                        delta,
                        on_hand_after: on_hand,
                        at,
                    });
                }
                let used = (daily + (mix(seed ^ day as u64) % 5) as i64 - 2).min(on_hand);
                if used > 0 {
                    on_hand -= used;
                    lines.push(LoadedLine {
                        warehouse_id: *warehouse,
                        region_code: region.clone(),
                        item_code: item.code.clone(),
                        kind: "consumption",
                        delta: -used,
                        on_hand_after: on_hand,
                        at: at + 3600,
                    });
                }
            }
        }
        loaded += store.bench_load_reserve_ledger(&lines, "bench").await?;
    }
    store.bench_settle_reserve_stocks().await?;
    let load_secs = started.elapsed().as_secs_f64();
    println!(
        "ledger: {} lines loaded in {:.1} s ({:.0} lines/s)",
        loaded,
        load_secs,
        loaded as f64 / load_secs.max(0.001)
    );

    // The timings: three runs each, the median reported.
    let region = &prepared.region;
    let mut from_stock = Vec::new();
    let mut from_ledger = Vec::new();
    let mut every_county = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let t = Instant::now();
        let cover = app.cover_of(region, false).await?;
        from_stock.push(t.elapsed());
        let t = Instant::now();
        let recomputed = app.cover_of(region, true).await?;
        from_ledger.push(t.elapsed());
        anyhow::ensure!(
            recomputed.items.iter().map(|l| l.on_hand).sum::<i64>()
                == cover.items.iter().map(|l| l.on_hand).sum::<i64>(),
            "the ledger's sums differ from the stocks"
        );
        let t = Instant::now();
        for county in &counties {
            app.cover_of(county, true).await?;
        }
        every_county.push(t.elapsed());
        last = Some(cover);
    }
    let cover = last.context("no run")?;
    let lines_of_city = cover.items.len() + cover.by_region.len();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "days of cover, {} ({} item lines for the region and its {} child regions):",
        cover.region_name,
        lines_of_city,
        cover
            .by_region
            .iter()
            .map(|l| &l.region_code)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
    println!(
        "  from the stocks kept with the ledger: {:.0} ms (median of 3)",
        ms(median(from_stock))
    );
    println!(
        "  recomputed from every ledger line:    {:.0} ms (median of 3) — target < 1000 ms",
        ms(median(from_ledger))
    );
    println!(
        "  every county's townships from the ledger ({} counties): {:.0} ms in all (median of 3)",
        counties.len(),
        ms(median(every_county))
    );
    println!(
        "  worst: {} {}; items under 30 days in the region: {}; child-region lines under 30 days: {}",
        cover.worst_item,
        cover.worst_label,
        cover.under,
        cover.by_region.iter().filter(|l| l.under).count()
    );
    println!("peak memory: {:.0} MiB", peak_memory_mib());
    Ok(())
}
