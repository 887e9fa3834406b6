//! The demo's testing round: 藁城区's whole-population round in progress. It opened 12 hours ago;
//! villages were sampled in three waves (coverage from about half to nearly all), tubes travelled in
//! boxes (some still on the road), the lab has sent results for the first waves with a few positive
//! pools whose members owe single-tube rechecks, and a few antigen self-tests came in.
//!
//! Everything goes through the app functions the pages and the API call, on a clock that walks from
//! the round's opening to now.

use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{Duration, Utc};
use fangkong_app::lab_results::ResultInput;
use fangkong_app::mass_testing::{
    AntigenForm, RoundForm, SamplingBatch, ScanAction, ScanInput, SiteForm,
};
use fangkong_app::{App, FixedClock};
use fangkong_domain::mass_testing::TubeBarcode;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;
use futures::StreamExt;

pub struct DemoRound {
    pub round_id: i64,
    pub bound: usize,
    pub tubes: usize,
    pub positives: usize,
}

/// A village's share of residents sampled so far (50–97%; the outbreak village nearly all).
fn coverage_percent(village: &str, outbreak_village: &str) -> u64 {
    if village == outbreak_village {
        return 99;
    }
    let hash = village
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    50 + hash % 48
}

fn picked(resident_id: i64, percent: u64) -> bool {
    (resident_id as u64).wrapping_mul(2_654_435_761) % 100 < percent
}

pub async fn seed_round(
    live: &App,
    county: &RegionCode,
    outbreak_village: &str,
    sampler_name: &str,
    lab_name: &str,
) -> Result<DemoRound> {
    let opened = live.now() - Duration::hours(12);
    let clock = Arc::new(FixedClock::new(opened));
    let app = App::new(live.store_for_tools().clone(), clock.clone());
    let commander = fangkong_seed::seed_actor_as(Role::Commander, "藁城区指挥部");
    let sampler = fangkong_seed::seed_actor_as(Role::Sampler, sampler_name);
    let lab = fangkong_seed::seed_actor_as(Role::Lab, lab_name);
    let (lower, upper) = county.subtree_range();
    let villages = app.store_for_tools().villages_in(&lower, &upper).await?;
    let outbreak_township = &outbreak_village[..9];
    let round_id = app
        .open_round(
            &commander,
            &RoundForm {
                name: "藁城区第3轮全员核酸检测".into(),
                kind: "whole".into(),
                region_code: county.as_str().into(),
                pool_size: "10".into(),
                infant_months: "6".into(),
                areas: format!("{outbreak_village} 高\n{outbreak_township} 中"),
                ..Default::default()
            },
        )
        .await?;
    let round = app.round(&commander, round_id).await?;
    let first_serial = TubeBarcode::parse(&round.tube_ranges[0].0)
        .map_err(anyhow::Error::msg)?
        .serial();
    let mut sites = Vec::with_capacity(villages.len());
    for village in &villages {
        let site = app
            .create_site(
                &commander,
                round_id,
                &SiteForm {
                    region_code: village.code.clone(),
                    name: format!(
                        "{}采样点",
                        fangkong_domain::region::short_name(&village.name)
                    ),
                    address: format!("{}村委会/居委会门前广场", village.name),
                    tables: "3".into(),
                    staff: "8".into(),
                    ..Default::default()
                },
            )
            .await?;
        sites.push(site);
    }

    let started = std::time::Instant::now();
    let mut next_serial = first_serial;
    let mut bound = 0;
    let mut all_tubes: Vec<(usize, String)> = Vec::new();
    let mut scan_no = 0u64;
    for wave in 0..3usize {
        clock_set(&clock, opened + Duration::hours(1 + 3 * wave as i64));
        let now = app.now_unix();
        // Swabs of a wave fall in the two hours before its upload, never before the round opened
        // (the first wave has had only one hour).
        let window = (now - opened.timestamp()).clamp(1, 7200);
        let mut requests = Vec::new();
        for (index, village) in villages.iter().enumerate() {
            if index % 3 != wave {
                continue;
            }
            let pool: u64 = if village.code == outbreak_village {
                1
            } else if village.code.starts_with(outbreak_township) {
                5
            } else {
                10
            };
            let percent = coverage_percent(&village.code, outbreak_village);
            let mut scans = Vec::new();
            let mut in_tube = 0u64;
            let mut people = Vec::new();
            // Grid by grid: the grid index finds a village's residents without a table scan.
            for grid in app
                .store_for_tools()
                .grid_codes_in(&village.code, &format!("{}:", village.code))
                .await?
            {
                people.extend(
                    app.store_for_tools()
                        .residents_in_grid(&grid, 0, 100_000)
                        .await?,
                );
            }
            {
                let page = people;
                for resident in page.into_iter().filter(|r| picked(r.id, percent)) {
                    if in_tube == 0 {
                        all_tubes.push((
                            wave,
                            TubeBarcode::from_serial(next_serial)
                                .map_err(anyhow::Error::msg)?
                                .to_string(),
                        ));
                        next_serial += 1;
                    }
                    scan_no += 1;
                    scans.push(ScanInput {
                        scan_id: format!("demo-{scan_no}"),
                        tube: all_tubes.last().expect("a tube").1.clone(),
                        action: ScanAction::Bind,
                        purpose: None,
                        id_type: resident.id_type,
                        id_number: resident.id_number.into(),
                        name: String::new(),
                        scanned_at: Some(now - window + (scan_no as i64 * 37) % window),
                        occurred_at: String::new(),
                    });
                    in_tube = (in_tube + 1) % pool;
                }
            }
            if in_tube != 0 {
                scan_no += 1;
                scans.push(ScanInput {
                    scan_id: format!("demo-{scan_no}"),
                    tube: all_tubes.last().expect("a tube").1.clone(),
                    action: ScanAction::Close,
                    purpose: None,
                    id_type: String::new(),
                    id_number: String::new(),
                    name: String::new(),
                    scanned_at: None,
                    occurred_at: String::new(),
                });
            }
            // Requests of whole tubes, about 100 people each, from the village's tables.
            let per_request = (100 / pool as usize).max(1) * pool as usize;
            for chunk in scans.chunks(per_request) {
                requests.push(SamplingBatch {
                    round_id,
                    site_id: sites[index],
                    table_no: 1,
                    scans: chunk.to_vec(),
                });
            }
        }
        // The tables upload at the same time (and share commits, as real ones do).
        let answers: Vec<_> = futures::stream::iter(requests.iter())
            .map(|request| app.submit_scans(&sampler, request))
            .buffer_unordered(32)
            .collect()
            .await;
        for answer in answers {
            bound += answer?.iter().filter(|r| r.outcome == "bound").count();
        }
        tracing::debug!(
            wave,
            seconds = started.elapsed().as_secs_f64(),
            "demo wave bound"
        );

        // Boxes of 100 tubes per village leave the site; most are picked up, the older waves received.
        let wave_tubes: Vec<&String> = all_tubes
            .iter()
            .filter(|(w, _)| *w == wave)
            .map(|(_, t)| t)
            .collect();
        clock_set(
            &clock,
            opened + Duration::hours(1 + 3 * wave as i64) + Duration::minutes(20),
        );
        let mut boxes = Vec::new();
        for (n, chunk) in wave_tubes.chunks(100).enumerate() {
            let code = format!("GC{round_id}-{wave}-{n:04}");
            let tube = app
                .store_for_tools()
                .tube(chunk[0])
                .await?
                .context("tube")?;
            let tubes: Vec<String> = chunk.iter().map(|t| t.to_string()).collect();
            // The last box of the newest wave is still being filled at the site.
            if wave == 2 && n % 10 == 9 {
                continue;
            }
            app.pack_box(&sampler, tube.site_id, &code, &tubes).await?;
            boxes.push(code);
        }
        clock_set(
            &clock,
            opened + Duration::hours(1 + 3 * wave as i64) + Duration::minutes(50),
        );
        for (n, code) in boxes.iter().enumerate() {
            if wave == 2 && n % 4 == 3 {
                continue; // the courier has not come yet
            }
            app.hand_over_box(&sampler, code, false).await?;
        }
        tracing::debug!(
            wave,
            seconds = started.elapsed().as_secs_f64(),
            "demo wave packed and picked up"
        );
        clock_set(
            &clock,
            opened + Duration::hours(2 + 3 * wave as i64) + Duration::minutes(30),
        );
        for (n, code) in boxes.iter().enumerate() {
            if wave == 2 && n % 3 != 0 {
                continue; // on the road to the lab
            }
            app.hand_over_box(&lab, code, true).await?;
        }
    }

    // Results for the first two waves (all but a few late tubes), a handful of positive pools and
    // one invalid tube, arriving 4 hours after each wave.
    let mut positives = 0;
    for wave in 0..2usize {
        clock_set(&clock, opened + Duration::hours(5 + 3 * wave as i64));
        let rows: Vec<ResultInput> = all_tubes
            .iter()
            .filter(|(w, _)| *w == wave)
            .enumerate()
            .filter(|(k, _)| k % 97 != 13) // a few tubes still in the lab
            .map(|(k, (_, tube))| {
                let result = if k % 9_000 == 4_321 {
                    positives += 1;
                    "阳性"
                } else if k % 15_000 == 777 {
                    "无效"
                } else {
                    "阴性"
                };
                ResultInput {
                    tube: tube.clone(),
                    result: result.into(),
                    tested_at: Some(app.now_unix() - 1800),
                }
            })
            .collect();
        for chunk in rows.chunks(50_000) {
            app.submit_lab_results(&lab, chunk).await?;
        }
    }

    // The grid teams start on the rechecks: the first positive pool's members swabbed single-tube.
    clock_set(&clock, opened + Duration::hours(11));
    let pending = app
        .recheck_tasks(&commander, county.as_str(), Some("pending"))
        .await?;
    if let Some(first) = pending.first() {
        let source = first.source.clone();
        let mut scans = Vec::new();
        for task in pending.iter().filter(|t| t.source == source) {
            let Some(resident_id) = task.resident_id else {
                continue;
            };
            let resident = app
                .store_for_tools()
                .resident(resident_id)
                .await?
                .context("resident")?;
            scan_no += 1;
            scans.push(ScanInput {
                scan_id: format!("demo-{scan_no}"),
                tube: TubeBarcode::from_serial(next_serial)
                    .map_err(anyhow::Error::msg)?
                    .to_string(),
                action: ScanAction::Bind,
                purpose: Some("recheck".into()),
                id_type: resident.id_type,
                id_number: resident.id_number.into(),
                name: String::new(),
                scanned_at: None,
                occurred_at: String::new(),
            });
            next_serial += 1;
        }
        let village = &first.grid_code[..12];
        let site = villages
            .iter()
            .position(|v| v.code == village)
            .map(|i| sites[i])
            .context("site")?;
        app.submit_scans(
            &sampler,
            &SamplingBatch {
                round_id,
                site_id: site,
                table_no: 2,
                scans: scans.clone(),
            },
        )
        .await?;
        clock_set(&clock, opened + Duration::hours(11) + Duration::minutes(40));
        let results: Vec<ResultInput> = scans
            .iter()
            .enumerate()
            .map(|(k, s)| ResultInput {
                tube: s.tube.clone(),
                result: if k == 0 { "阳性" } else { "阴性" }.into(),
                tested_at: None,
            })
            .collect();
        app.submit_lab_results(&lab, &results).await?;
    }
    Ok(DemoRound {
        round_id,
        bound,
        tubes: all_tubes.len(),
        positives,
    })
}

/// A few antigen self-tests in the grid worker's grid, one of them positive.
pub async fn seed_antigen(live: &App, grid: &RegionCode) -> Result<usize> {
    let worker = fangkong_seed::seed_actor_as(Role::GridWorker, "网格员 王芳");
    let residents = live
        .store_for_tools()
        .residents_in_grid(grid.as_str(), 0, 40)
        .await?;
    let mut reported = 0;
    for (k, resident) in residents.iter().enumerate().step_by(8) {
        let form = AntigenForm {
            resident_id: resident.id.to_string(),
            result: if k == 16 { "阳性" } else { "阴性" }.into(),
            tested_at: String::new(),
        };
        live.report_antigen(&worker, &form, None).await?;
        reported += 1;
    }
    Ok(reported)
}

fn clock_set(clock: &FixedClock, at: chrono::DateTime<Utc>) {
    let now = fangkong_app::Clock::now(clock);
    if at > now {
        clock.advance(at - now);
    }
}
