//! `fangkong bench verify`: the health code at city scale.
//!
//! 1. Facts for a share of the residents through the app's incremental path (each fact's code
//!    recomputed in its transaction), and one resident's fact on its own.
//! 2. A recompute of everyone after a policy switch, and the pure colour function over every
//!    resident of the register.
//! 3. Offline verification of signed QR texts on one and on two threads.
//! 4. Online verification over HTTP on loopback (scan → decision → passage durably logged) with a
//!    closed-loop load generator in the same process: normal load, then ten times the connections
//!    (the excess must be shed with 503 + Retry-After), then normal load again (recovery).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::Utc;
use fangkong_app::auth::NewUser;
use fangkong_app::checkpoints::CheckpointForm;
use fangkong_app::health_code::FactForm;
use fangkong_app::records::{CodePerson, FactWrite};
use fangkong_domain::health_code::{self as hc, CodeColour, CodeFact, FactKind};
use fangkong_domain::role::Role;
use fangkong_seed::seed_actor;
use fangkong_signed_code::{TrustList, verify_code};

use crate::bench::{BenchArgs, import_population, machine, peak_memory_mib, percentile, prepare};

pub struct VerifyBench {
    pub connections: usize,
    pub seconds: u64,
    pub coloured_per_1000: u64,
    pub overload: usize,
    pub tokens: usize,
    /// Wait after a 503 (ms); 0 = the Retry-After the server sent.
    pub shed_wait_ms: u64,
}

/// The facts a benchmark resident gets, by position: mostly contacts and pools, some arrivals.
fn bench_fact_kind(n: u64) -> FactKind {
    match n % 10 {
        0..=3 => FactKind::CloseContact,
        4 | 5 => FactKind::SecondaryContact,
        6 => FactKind::PoolPositivePending,
        7 => FactKind::LeftMediumRiskArea,
        8 => FactKind::Companion,
        _ => FactKind::DueNotTested,
    }
}

pub async fn run(args: &BenchArgs, bench: &VerifyBench) -> Result<()> {
    let prepared = prepare(args).await?;
    let app = prepared.app.clone();
    println!(
        "fangkong bench verify — {} — {} — {} residents, {}‰ with a code fact, {} connections × {} s, after a 503 clients wait {}",
        app.store_for_tools().backend_name(),
        machine(),
        args.residents,
        bench.coloured_per_1000,
        bench.connections,
        bench.seconds,
        if bench.shed_wait_ms == 0 {
            "its Retry-After (as the checkpoint page does)".to_string()
        } else {
            format!("{} ms (a flood)", bench.shed_wait_ms)
        }
    );
    if args.reuse && !app.store_for_tools().residents_empty().await? {
        println!("reusing the residents already in the database");
    } else {
        let csv_dir = tempfile::tempdir()?;
        import_population(&prepared, args, &csv_dir.path().join("population.csv")).await?;
    }
    let actor = seed_actor();
    let (lower, upper) = prepared.region.subtree_range();

    // -- 1. facts through the incremental path -----------------------------------------------------
    let now = app.now_unix();
    let stride = (1000 / bench.coloured_per_1000.max(1)).max(1) as i64;
    let mut after = 0i64;
    let mut writes: Vec<FactWrite> = Vec::new();
    let mut people: Vec<(i64, String, String)> = Vec::new();
    let mut facts_written = 0usize;
    let mut fact_time = Duration::ZERO;
    let reading = Instant::now();
    let mut n = 0u64;
    loop {
        let page = app
            .store_for_tools()
            .residents_page((&lower, &upper), after, 50_000)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for resident in page {
            if people.len() < bench.tokens {
                people.push((
                    resident.id,
                    resident.id_type.clone(),
                    resident.id_number.to_string(),
                ));
            }
            if resident.id % stride == 0 {
                n += 1;
                let kind = bench_fact_kind(n);
                writes.push(FactWrite {
                    fact_key: format!("bench:{}", resident.id),
                    person: CodePerson {
                        id_type: resident.id_type,
                        id_number: resident.id_number,
                    },
                    resident_id: Some(resident.id),
                    grid_code: resident.grid_code,
                    kind,
                    anchor: now - (n % 12) as i64 * 86_400,
                    ended_at: None,
                    colour: None,
                    note: None,
                    source: "bench".into(),
                    created_by: "bench".into(),
                });
            }
        }
        if writes.len() >= 5_000 {
            let started = Instant::now();
            facts_written += app.add_code_facts_unchecked(&writes, "bench").await?;
            fact_time += started.elapsed();
            writes.clear();
        }
    }
    if !writes.is_empty() {
        let started = Instant::now();
        facts_written += app.add_code_facts_unchecked(&writes, "bench").await?;
        fact_time += started.elapsed();
    }
    println!(
        "facts: {facts_written} residents given a fact with their code recomputed in the same transaction: {:.1} s ({:.0}/s; register read alongside in {:.1} s)",
        fact_time.as_secs_f64(),
        facts_written as f64 / fact_time.as_secs_f64().max(1e-9),
        reading.elapsed().as_secs_f64() - fact_time.as_secs_f64()
    );

    // One resident, one event: the durable write with its recompute, as a page does it.
    let epidemiologist = ensure_user(
        &app,
        "bench-epi",
        Role::Epidemiologist,
        prepared.region.as_str(),
    )
    .await?;
    let mut single = Vec::new();
    for (id, id_type, id_number) in people.iter().skip(1).step_by(7).take(200) {
        let _ = id;
        let started = Instant::now();
        app.add_code_fact(
            &epidemiologist,
            &FactForm {
                id_type: id_type.clone(),
                id_number: id_number.clone(),
                kind: "fever_clinic".into(),
                anchor: String::new(),
                colour: String::new(),
                note: String::new(),
            },
        )
        .await?;
        single.push(started.elapsed());
    }
    single.sort();
    println!(
        "one resident's fact, durable with its recompute and audit: p50 {:.2} ms, p95 {:.2} ms ({} samples)",
        percentile(&single, 0.50),
        percentile(&single, 0.95),
        single.len()
    );

    // -- 2. recompute everyone -----------------------------------------------------------------------
    app.store_for_tools()
        .put_setting("health_code_policy", "shanghai-2022-04")
        .await?;
    let report = app.recompute_all_codes("bench: policy switch").await?;
    println!(
        "recompute after a policy switch (河北 → 上海): {} people with facts evaluated, {} codes changed, {:.2} s",
        report.people,
        report.changed,
        report.millis as f64 / 1000.0
    );
    app.store_for_tools()
        .put_setting("health_code_policy", "hebei-2022-11")
        .await?;
    let report = app.recompute_all_codes("bench: policy switch back").await?;
    println!(
        "recompute after switching back: {} people, {} changed, {:.2} s",
        report.people,
        report.changed,
        report.millis as f64 / 1000.0
    );
    let report = app.recompute_all_codes("bench: nothing changed").await?;
    println!(
        "recompute with nothing to change: {} people, {:.2} s",
        report.people,
        report.millis as f64 / 1000.0
    );
    pure_colour_function(args.residents, bench.coloured_per_1000);

    // -- 3. offline verification --------------------------------------------------------------------
    println!(
        "(memory before issuing tokens: {:.0} MiB peak)",
        peak_memory_mib()
    );
    let tokens = app
        .issue_code_tokens_unchecked(&people, Some(now - 20 * 3600))
        .await?;
    println!(
        "(memory after issuing {} tokens: {:.0} MiB peak)",
        tokens.len(),
        peak_memory_mib()
    );
    let trust =
        Arc::new(TrustList::from_json(&app.trust_list_json().await?).map_err(anyhow::Error::msg)?);
    let sample: Arc<Vec<String>> = Arc::new(tokens.iter().take(10_000).cloned().collect());
    for threads in [1usize, 2] {
        let started = Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let trust = trust.clone();
                let sample = sample.clone();
                std::thread::spawn(move || {
                    let mut ok = 0u64;
                    let deadline = Instant::now() + Duration::from_secs(3);
                    let mut i = t;
                    while Instant::now() < deadline {
                        for _ in 0..100 {
                            if verify_code(&trust, &sample[i % sample.len()], now).is_ok() {
                                ok += 1;
                            }
                            i += threads;
                        }
                    }
                    ok
                })
            })
            .collect();
        let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
        let rate = total as f64 / started.elapsed().as_secs_f64();
        println!(
            "offline verification, {threads} thread(s): {rate:.0}/s ({:.0}/s per core)",
            rate / threads as f64
        );
    }

    // -- 4. online verification over HTTP -----------------------------------------------------------
    let checkpoint = app
        .create_checkpoint(
            &actor,
            &CheckpointForm {
                name: format!("基准卡口 {}", Utc::now().format("%H%M%S")),
                kind: "community_gate".into(),
                line: String::new(),
                region_code: prepared.region.as_str().into(),
            },
        )
        .await?;
    ensure_user(
        &app,
        "bench-kakou",
        Role::Checkpoint,
        prepared.region.as_str(),
    )
    .await?;
    // One session per scanner: the normal load's connections are the devices (one check at a
    // time each); the overload phase opens ten connections per device, which the per-device limit
    // sheds while the admitted checks keep their latency.
    let mut sessions = Vec::with_capacity(bench.connections);
    for _ in 0..bench.connections.max(1) {
        sessions.push(
            app.login("bench-kakou", "bench-password", "bench")
                .await?
                .token,
        );
    }
    let sessions = Arc::new(sessions);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(fangkong_web::serve(app.clone(), listener));
    let path = format!("/api/checkpoints/{checkpoint}/verify");
    let tokens = Arc::new(tokens);
    let passages_before = count_passages(&app, checkpoint).await?;
    let mut accepted_total = 0u64;
    for (phase, connections) in [
        ("normal load", bench.connections),
        (
            "overload (×{overload} connections)",
            bench.connections * bench.overload,
        ),
        ("recovery", bench.connections),
    ] {
        let phase = phase.replace("{overload}", &bench.overload.to_string());
        let result = load(
            address,
            &path,
            sessions.clone(),
            tokens.clone(),
            connections,
            Duration::from_secs(bench.seconds),
            bench.shed_wait_ms,
        )
        .await?;
        accepted_total += result.ok;
        let mut ok = result.ok_latencies;
        let mut shed = result.shed_latencies;
        ok.sort();
        shed.sort();
        println!(
            "{phase}: {} connections, {:.0} verifications/s admitted (p50 {:.1} ms, p99 {:.1} ms), {} shed with 503 (p99 {:.2} ms, Retry-After on {} of them), {} errors",
            connections,
            result.ok as f64 / result.elapsed.as_secs_f64(),
            percentile(&ok, 0.50),
            percentile(&ok, 0.99),
            result.shed,
            percentile(&shed, 0.99),
            result.retry_after,
            result.errors
        );
    }
    let logged = count_passages(&app, checkpoint).await? - passages_before;
    println!(
        "passages durably logged: {logged} for {accepted_total} admitted verifications ({})",
        if logged == accepted_total as i64 {
            "all"
        } else {
            "MISMATCH"
        }
    );
    println!("peak memory {:.0} MiB", peak_memory_mib());
    server.abort();
    Ok(())
}

async fn count_passages(app: &fangkong_app::App, checkpoint: i64) -> Result<i64> {
    Ok(app
        .store_for_tools()
        .passage_counts(checkpoint, 0)
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum())
}

async fn ensure_user(
    app: &fangkong_app::App,
    username: &str,
    role: Role,
    region: &str,
) -> Result<fangkong_app::Actor> {
    if app
        .store_for_tools()
        .user_by_username(username)
        .await?
        .is_none()
    {
        app.create_user_unchecked(
            &NewUser {
                username: username.into(),
                display_name: format!("基准测试 {}", role.label_zh()),
                role,
                jurisdiction: fangkong_domain::region::RegionCode::parse(region)
                    .map_err(anyhow::Error::msg)?,
                password: "bench-password".into(),
            },
            "bench",
        )
        .await?;
    }
    Ok(app.actor_for_user(username, "bench").await?)
}

/// The colour function alone over as many people as the register holds (most with no fact),
/// on one thread: the floor of any recompute of everyone.
fn pure_colour_function(residents: u64, coloured_per_1000: u64) {
    let policy = hc::policy_by_id("hebei-2022-11").expect("the Hebei table ships");
    let now = Utc::now();
    let stride = (1000 / coloured_per_1000.max(1)).max(1);
    let day = chrono::Duration::days(1);
    let negatives = [now - day * 2, now - day * 9];
    let started = Instant::now();
    let mut red = 0u64;
    let mut yellow = 0u64;
    for n in 0..residents {
        let facts: Vec<CodeFact> = if n % stride == 0 {
            vec![CodeFact::new(
                bench_fact_kind(n / stride),
                now - day * (n % 12) as i32,
            )]
        } else {
            Vec::new()
        };
        match hc::evaluate(policy, &facts, &negatives, now).colour {
            CodeColour::Red => red += 1,
            CodeColour::Yellow => yellow += 1,
            CodeColour::Green => {}
        }
    }
    println!(
        "colour function over {residents} residents on one thread: {:.2} s ({red} red, {yellow} yellow)",
        started.elapsed().as_secs_f64()
    );
}

struct LoadResult {
    ok: u64,
    shed: u64,
    retry_after: u64,
    errors: u64,
    ok_latencies: Vec<Duration>,
    shed_latencies: Vec<Duration>,
    elapsed: Duration,
}

/// A minimal HTTP/1.1 keep-alive client for the load generator: it shares two cores with the server,
/// so every microsecond it spends is one the server does not get (a full client library costs
/// several times this per request).
struct RawClient {
    address: std::net::SocketAddr,
    stream: Option<tokio::io::BufReader<tokio::net::TcpStream>>,
}

struct RawResponse {
    status: u16,
    retry_after: bool,
}

impl RawClient {
    async fn post(&mut self, request: &[u8]) -> std::io::Result<RawResponse> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        if self.stream.is_none() {
            let stream = tokio::net::TcpStream::connect(self.address).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(tokio::io::BufReader::new(stream));
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(std::io::Error::other("no connection"));
        };
        let result = async {
            stream.get_mut().write_all(request).await?;
            let mut line = String::new();
            stream.read_line(&mut line).await?;
            let status: u16 = line
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
            let mut length = 0usize;
            let mut retry_after = false;
            loop {
                line.clear();
                if stream.read_line(&mut line).await? == 0 {
                    return Err(std::io::Error::other("connection closed"));
                }
                let header = line.trim_end();
                if header.is_empty() {
                    break;
                }
                let lower = header.to_ascii_lowercase();
                if let Some(value) = lower.strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                } else if lower.starts_with("retry-after:") {
                    retry_after = true;
                }
            }
            let mut body = vec![0u8; length];
            stream.read_exact(&mut body).await?;
            Ok(RawResponse {
                status,
                retry_after,
            })
        }
        .await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }
}

/// `connections` tasks, each sending one verification after another until `duration` ends.
async fn load(
    address: std::net::SocketAddr,
    path: &str,
    sessions: Arc<Vec<String>>,
    tokens: Arc<Vec<String>>,
    connections: usize,
    duration: Duration,
    shed_wait_ms: u64,
) -> Result<LoadResult> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for connection in 0..connections {
        let path = path.to_string();
        let token = sessions[connection % sessions.len().max(1)].clone();
        let tokens = tokens.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = RawClient {
                address,
                stream: None,
            };
            let mut result = LoadResult {
                ok: 0,
                shed: 0,
                retry_after: 0,
                errors: 0,
                ok_latencies: Vec::new(),
                shed_latencies: Vec::new(),
                elapsed: Duration::ZERO,
            };
            while !stop.load(Ordering::Relaxed) {
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                let body = format!(
                    r#"{{"passage_key":"bench-{n}","code":"{}","temperature":"36.5"}}"#,
                    tokens[(n as usize) % tokens.len()]
                );
                let request = format!(
                    "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let sent = Instant::now();
                match client.post(request.as_bytes()).await {
                    Ok(response) if response.status == 200 => {
                        result.ok += 1;
                        result.ok_latencies.push(sent.elapsed());
                    }
                    Ok(response) if response.status == 503 => {
                        result.retry_after += u64::from(response.retry_after);
                        result.shed += 1;
                        result.shed_latencies.push(sent.elapsed());
                        // A scanner waits the Retry-After before its next check (the checkpoint
                        // page does); `--shed-wait-ms` models clients that do not.
                        // (the server's Retry-After is 1 second.)
                        let wait = if shed_wait_ms == 0 && response.retry_after {
                            Duration::from_secs(1)
                        } else if shed_wait_ms == 0 {
                            Duration::from_millis(20)
                        } else {
                            Duration::from_millis(shed_wait_ms)
                        };
                        tokio::time::sleep(wait.min(duration)).await;
                    }
                    Ok(response) => {
                        if result.errors < 3 {
                            eprintln!("verify answered {}", response.status);
                        }
                        result.errors += 1;
                    }
                    Err(error) => {
                        if result.errors < 3 {
                            eprintln!("verify request failed: {error}");
                        }
                        result.errors += 1;
                    }
                }
            }
            result
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = LoadResult {
        ok: 0,
        shed: 0,
        retry_after: 0,
        errors: 0,
        ok_latencies: Vec::new(),
        shed_latencies: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        let r = task.await?;
        total.ok += r.ok;
        total.shed += r.shed;
        total.retry_after += r.retry_after;
        total.errors += r.errors;
        total.ok_latencies.extend(r.ok_latencies);
        total.shed_latencies.extend(r.shed_latencies);
    }
    total.elapsed = started.elapsed();
    Ok(total)
}
