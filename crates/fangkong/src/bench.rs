//! `fangkong bench …`: benchmarks that report figures (throughput, percentiles, peak memory) and never
//! assert. Data comes from the simulator through the real import path.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Subcommand;
use fangkong_app::auth::NewUser;
use fangkong_app::{App, Store, SystemClock};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

use fangkong_seed::seed_population;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Import N generated residents from CSV (then the same file again), report rows/s and peak memory.
    Import(BenchArgs),
    /// Import N residents, then time region pages and resident searches over HTTP (p50/p95/p99).
    Pages {
        #[command(flatten)]
        args: BenchArgs,
        /// Requests per page kind.
        #[arg(long, default_value_t = 200)]
        requests: usize,
    },
    /// A whole testing round over N residents: durable bindings from concurrent tables, the lab's
    /// results file with recheck tasks, coverage per grid and one grid's missing list.
    MassTesting {
        #[command(flatten)]
        args: BenchArgs,
        /// Sampling tables sending at the same time.
        #[arg(long, default_value_t = 64)]
        tables: usize,
        /// Scans per request (a table's upload: 10 tubes of 10 people by default).
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// People per tube: 10 (low-risk areas) or 5 (medium risk: twice the tubes and results).
        #[arg(long, default_value_t = 10)]
        pool: usize,
        /// Positive pools per 10,000 tubes.
        #[arg(long, default_value_t = 10)]
        positives_per_10k: u64,
    },
    /// Investigation at city scale: directory pages, lead and isolation views, the chain picture.
    Investigation {
        #[command(flatten)]
        args: BenchArgs,
        #[arg(long, default_value_t = 100_000)]
        cases: usize,
        #[arg(long, default_value_t = 10)]
        contacts_per_case: usize,
        #[arg(long, default_value_t = 100)]
        requests: usize,
    },
    /// Pharmacy sales in bursts: N real-name sales through the pharmacy systems' batch path, each
    /// chunk one durable transaction with the buyers' test requirements and code facts.
    Sentinels {
        #[command(flatten)]
        args: BenchArgs,
        #[arg(long, default_value_t = 100_000)]
        sales: usize,
        /// Sales per call (a pharmacy system's upload; at most 10,000).
        #[arg(long, default_value_t = 5_000)]
        batch: usize,
        #[arg(long, default_value_t = 200)]
        pharmacies: usize,
    },
    /// Reserves at city scale: warehouses over every township, a year of ledger lines per
    /// warehouse and item; days of cover for every item and region timed from the stocks and
    /// recomputed from the ledger (target < 1 s). `--residents` is not used.
    Reserves {
        #[command(flatten)]
        args: BenchArgs,
        /// Warehouses per township (plus one command-office depot per county).
        #[arg(long, default_value_t = 2)]
        per_township: usize,
        /// Days of ledger per warehouse and item.
        #[arg(long, default_value_t = 365)]
        days: i64,
    },
    /// Supply passes: N issued (each with its county serial, durable), then verified offline from
    /// the QR alone and online through the app (logged), beside the health code's offline figure.
    /// `--residents` is not used (no population is imported).
    Passes {
        #[command(flatten)]
        args: BenchArgs,
        #[arg(long, default_value_t = 1_000)]
        passes: usize,
        /// Online vehicle checks.
        #[arg(long, default_value_t = 2_000)]
        checks: usize,
    },
    /// Deliveries to sealed and isolated households: N requests allocated to the staggered slots
    /// of their villages' collection points (medicine and urgent first), pure and through the app.
    Deliveries {
        #[command(flatten)]
        args: BenchArgs,
        #[arg(long, default_value_t = 10_000)]
        requests: usize,
    },
    /// Health codes over N residents: facts and their codes, a recompute of everyone, offline
    /// verification, and online verification over HTTP at normal load, 10× overload and recovery.
    Verify {
        #[command(flatten)]
        args: BenchArgs,
        /// Concurrent connections of the load generator at normal load (scanners across a city).
        #[arg(long, default_value_t = 256)]
        connections: usize,
        /// Seconds per load phase.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Residents per 1,000 given a code fact (contacts, pools, arrivals …).
        #[arg(long, default_value_t = 20)]
        coloured_per_1000: u64,
        /// The overload phase opens this many times the connections.
        #[arg(long, default_value_t = 10)]
        overload: usize,
        /// Distinct residents whose signed codes the load generator shows.
        #[arg(long, default_value_t = 100_000)]
        tokens: usize,
        /// How long a client waits after a 503 before its next check, in ms; 0 (the default) waits
        /// the Retry-After the server sent, as the checkpoint page does. A small value (20) models
        /// clients that ignore it — a flood.
        #[arg(long, default_value_t = 0)]
        shed_wait_ms: u64,
    },
    /// The big-data push's three analyses (risk-area visitors, companions, e-fence) in the
    /// embedded kernels beside DuckDB and Polars (and Spark with --spark) on the same day files,
    /// rows compared by digest; generates the set when missing.
    Analytics(crate::bench_analytics::AnalyticsArgs),
}

#[derive(clap::Args, Clone)]
pub struct BenchArgs {
    /// Residents to generate (Shijiazhuang: 11000000).
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) residents: u64,
    /// Region whose villages get the population: 1301 石家庄市 (city scale) or 130109 藁城区.
    #[arg(long, default_value = "1301")]
    region: String,
    /// A postgres:// URL to measure PostgreSQL (its fangkong tables are emptied!); SQLite otherwise,
    /// in a temporary directory (or --sqlite-dir).
    #[arg(long)]
    postgres: Option<String>,
    /// Where the SQLite benchmark database goes (default: a temporary directory).
    #[arg(long)]
    sqlite_dir: Option<std::path::PathBuf>,
    /// Keep what --sqlite-dir or --postgres already holds; `bench pages` then skips the import when
    /// residents are there (to time pages on a database an earlier run built).
    #[arg(long)]
    pub(crate) reuse: bool,
}

/// Peak resident memory of this process so far (Linux VmHWM), in MiB.
pub(crate) fn peak_memory_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

pub(crate) fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    format!("{cores} cores, {memory:.0} GiB")
}

pub(crate) struct Prepared {
    pub(crate) app: App,
    _temp: Option<tempfile::TempDir>,
    pub(crate) region: RegionCode,
}

pub(crate) async fn prepare(args: &BenchArgs) -> Result<Prepared> {
    let (store, temp) = match (&args.postgres, &args.sqlite_dir) {
        (Some(url), _) => {
            let store = Store::open_postgres(url)
                .await
                .context("connect to PostgreSQL")?;
            if !args.reuse {
                store.clear_all_data().await?;
            }
            (store, None)
        }
        (None, Some(dir)) => {
            if dir.exists() && !args.reuse {
                std::fs::remove_dir_all(dir)?;
            }
            (Store::open_sqlite_dir(dir).await?, None)
        }
        (None, None) => {
            let temp = tempfile::tempdir()?;
            (Store::open_sqlite_dir(temp.path()).await?, Some(temp))
        }
    };
    let app = App::new(store, Arc::new(SystemClock));
    if app.store_for_tools().count_regions().await? == 0 {
        app.load_divisions().await?;
    }
    let region = RegionCode::parse(&args.region).map_err(anyhow::Error::msg)?;
    Ok(Prepared {
        app,
        _temp: temp,
        region,
    })
}

pub async fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Import(args) => bench_import(&args).await,
        BenchCommand::Pages { args, requests } => bench_pages(&args, requests).await,
        BenchCommand::MassTesting {
            args,
            tables,
            batch,
            pool,
            positives_per_10k,
        } => crate::bench_testing::run(&args, tables, batch, pool, positives_per_10k).await,
        BenchCommand::Investigation {
            args,
            cases,
            contacts_per_case,
            requests,
        } => {
            crate::bench_investigation::run(
                &args,
                &crate::bench_investigation::InvestigationBench {
                    cases,
                    contacts_per_case,
                    requests,
                },
            )
            .await
        }
        BenchCommand::Sentinels {
            args,
            sales,
            batch,
            pharmacies,
        } => crate::bench_sentinels::run(&args, sales, batch.clamp(1, 10_000), pharmacies).await,
        BenchCommand::Reserves {
            args,
            per_township,
            days,
        } => {
            crate::bench_reserves::run(&args, per_township.clamp(1, 50), days.clamp(7, 3650)).await
        }
        BenchCommand::Passes {
            args,
            passes,
            checks,
        } => crate::bench_passes::run(&args, passes.max(1), checks.max(1)).await,
        BenchCommand::Deliveries { args, requests } => {
            crate::bench_deliveries::run(&args, requests).await
        }
        BenchCommand::Analytics(args) => crate::bench_analytics::run(&args).await,
        BenchCommand::Verify {
            args,
            connections,
            seconds,
            coloured_per_1000,
            overload,
            tokens,
            shed_wait_ms,
        } => {
            crate::bench_codes::run(
                &args,
                &crate::bench_codes::VerifyBench {
                    connections,
                    seconds,
                    coloured_per_1000,
                    overload,
                    tokens,
                    shed_wait_ms,
                },
            )
            .await
        }
    }
}

pub(crate) async fn import_population(
    prepared: &Prepared,
    args: &BenchArgs,
    csv: &std::path::Path,
) -> Result<()> {
    let seeded = seed_population(&prepared.app, &prepared.region, args.residents, 7, csv).await?;
    let seconds = seeded.import_time.as_secs_f64();
    println!(
        "generate   {} residents in {} grids → {:.0} MiB CSV in {:.1} s",
        args.residents,
        seeded.plan.grids.len(),
        seeded.csv_bytes as f64 / 1048576.0,
        seeded.generate_time.as_secs_f64()
    );
    println!(
        "import     {:.1} s  {:>10.0} rows/s  inserted {}  problems {}  (target < 60 s SQLite, < 90 s PostgreSQL at 11 M)",
        seconds,
        seeded.report.inserted as f64 / seconds,
        seeded.report.inserted,
        seeded.report.problem_rows
    );
    Ok(())
}

async fn bench_import(args: &BenchArgs) -> Result<()> {
    let prepared = prepare(args).await?;
    println!(
        "fangkong bench import — {} — {} — {} residents",
        prepared.app.store_for_tools().backend_name(),
        machine(),
        args.residents
    );
    let csv_dir = tempfile::tempdir()?;
    let csv = csv_dir.path().join("population.csv");
    import_population(&prepared, args, &csv).await?;
    let started = Instant::now();
    let again = prepared
        .app
        .import_residents(&fangkong_seed::seed_actor(), &csv, "population.csv")
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "re-import  {:.1} s  {:>10.0} rows/s  inserted {}  updated {}  unchanged {}  (idempotent: nothing written)",
        seconds,
        again.rows_total as f64 / seconds,
        again.inserted,
        again.updated,
        again.unchanged
    );
    println!("peak memory {:.0} MiB", peak_memory_mib());
    Ok(())
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

async fn bench_pages(args: &BenchArgs, requests: usize) -> Result<()> {
    let prepared = prepare(args).await?;
    println!(
        "fangkong bench pages — {} — {} — {} residents",
        prepared.app.store_for_tools().backend_name(),
        machine(),
        args.residents
    );
    let app = prepared.app.clone();
    if args.reuse && !app.store_for_tools().residents_empty().await? {
        println!("reusing the residents already in the database");
    } else {
        let csv_dir = tempfile::tempdir()?;
        import_population(&prepared, args, &csv_dir.path().join("population.csv")).await?;
    }
    if app
        .store_for_tools()
        .user_by_username("bench")
        .await?
        .is_none()
    {
        app.create_user_unchecked(
            &NewUser {
                username: "bench".into(),
                display_name: "基准测试".into(),
                role: Role::Commander,
                jurisdiction: prepared.region.clone(),
                password: "bench-password".into(),
            },
            "bench",
        )
        .await?;
    }

    // Targets: the region itself, its children, grandchildren, some grids; IDs, phones, names to search.
    let region = prepared.region.as_str().to_string();
    let mut region_codes = vec![region.clone()];
    let (lower, upper) = prepared.region.subtree_range();
    let villages = app.store_for_tools().villages_in(&lower, &upper).await?;
    for village in villages.iter().step_by((villages.len() / 50).max(1)) {
        region_codes.push(village.code[..9].to_string());
        region_codes.push(village.code.clone());
    }
    let grids = app.store_for_tools().grid_codes_in(&lower, &upper).await?;
    region_codes.extend(grids.iter().step_by((grids.len() / 50).max(1)).cloned());
    let sample = app
        .store_for_tools()
        .residents_page((&lower, &upper), 0, 1)
        .await?;
    let first_id = sample.first().map(|r| r.id).unwrap_or(0);
    let mut people = Vec::new();
    let stride = (args.residents as i64 / 200).max(1);
    for k in 0..200 {
        if let Some(r) = app
            .store_for_tools()
            .residents_page((&lower, &upper), first_id + k * stride - 1, 1)
            .await?
            .pop()
        {
            people.push(r);
        }
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(fangkong_web::serve(app.clone(), listener));
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let base = format!("http://{address}");
    let login = client
        .post(format!("{base}/login"))
        .form(&[("username", "bench"), ("password", "bench-password")])
        .send()
        .await?;
    anyhow::ensure!(
        login.status().is_success() || login.status().is_redirection(),
        "login failed"
    );

    let kinds: Vec<(&str, Vec<String>)> = vec![
        (
            "region page",
            region_codes
                .iter()
                .map(|c| format!("/regions/{c}"))
                .collect(),
        ),
        (
            "search by ID number",
            people
                .iter()
                .map(|p| format!("/residents?q={}", p.id_number.as_str()))
                .collect(),
        ),
        (
            "search by phone",
            people
                .iter()
                .filter_map(|p| p.phone.as_ref())
                .map(|p| format!("/residents?q={p}"))
                .collect(),
        ),
        (
            "search by name",
            people
                .iter()
                .map(|p| format!("/residents?q={}", p.name.as_str()))
                .collect(),
        ),
        (
            "resident page",
            people
                .iter()
                .map(|p| format!("/residents/{}", p.id))
                .collect(),
        ),
        (
            "household page",
            people
                .iter()
                .map(|p| format!("/households/{}", p.household_number))
                .collect(),
        ),
    ];
    println!(
        "{:<22} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "page", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for (kind, urls) in kinds {
        if urls.is_empty() {
            continue;
        }
        let mut times = Vec::with_capacity(requests);
        for i in 0..requests {
            let url = format!("{base}{}", urls[i % urls.len()]);
            let started = Instant::now();
            let response = client.get(&url).send().await?;
            let status = response.status();
            let _ = response.bytes().await?;
            times.push(started.elapsed());
            anyhow::ensure!(status.is_success(), "{kind}: {url} answered {status}");
        }
        times.sort();
        println!(
            "{:<22} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            kind,
            requests,
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            percentile(&times, 0.99),
            percentile(&times, 1.0)
        );
    }
    println!(
        "(target p95 < 300 ms at 11 M residents)  peak memory {:.0} MiB",
        peak_memory_mib()
    );
    server.abort();
    Ok(())
}
