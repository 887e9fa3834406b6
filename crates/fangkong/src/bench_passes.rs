//! `fangkong bench passes`: supply passes issued (each one transaction that allocates the county's
//! serial), then verified the two ways a checkpoint does — offline from the QR alone (signature
//! against the trust list, dates, plate, route) and online through the app (the pass looked up for
//! revocation, each person on board's code and test, the passage logged) — with the health code's
//! offline verification (`FK1:`, the same key type) measured beside it on the same machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use fangkong_app::checkpoints::{CheckpointForm, VehicleScan};
use fangkong_app::supplies::passes::{EnterpriseForm, PassForm, SupplyPersonForm, VehicleForm};
use fangkong_domain::supplies::passes::{PassFacts, PassKind, judge_pass};
use fangkong_signed_code::{
    CodeClaims, CodeColour, CodeSigner, TrustList, verify_code, verify_pass,
};

use crate::bench::{BenchArgs, machine, percentile, prepare};

/// Valid ID numbers for the bench's drivers: 130109 1980 0101 + a 3-digit sequence + check digit.
fn id_number(n: usize) -> String {
    let body = format!("13010919800101{:03}", n % 1000);
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(weights)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// Runs `check` over `items` on `threads` threads for 3 s; checks per second.
fn rate_over<T: Send + Sync + 'static>(
    items: Arc<Vec<T>>,
    threads: usize,
    check: fn(&T) -> bool,
) -> f64 {
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let items = items.clone();
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(3);
                let (mut ok, mut i) = (0u64, t);
                while Instant::now() < deadline {
                    for _ in 0..100 {
                        if check(&items[i % items.len()]) {
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
    total as f64 / started.elapsed().as_secs_f64()
}

/// One offline pass check: the QR against the trust list, then the pass's own judgement here.
struct OfflineCase {
    trust: Arc<TrustList>,
    text: String,
    plate: String,
    now: i64,
}

fn offline_check(case: &OfflineCase) -> bool {
    let Ok(claims) = verify_pass(&case.trust, &case.text, case.now) else {
        return false;
    };
    let facts = PassFacts {
        number: claims.number,
        kind: PassKind::Vehicle,
        plate: claims.plate,
        route: claims.route,
        valid_from: claims.valid_from,
        valid_until: claims.valid_until,
        revoked: false,
    };
    judge_pass(
        &facts,
        Some(&case.plate),
        "130109",
        case.now,
        |t| t.to_string(),
        |c| c.to_string(),
    )
    .is_empty()
}

struct CodeCase {
    trust: Arc<TrustList>,
    text: String,
    now: i64,
}

fn code_check(case: &CodeCase) -> bool {
    verify_code(&case.trust, &case.text, case.now).is_ok()
}

pub async fn run(args: &BenchArgs, passes: usize, checks: usize) -> Result<()> {
    let prepared = prepare(args).await?;
    let app = &prepared.app;
    println!(
        "fangkong bench passes — {} — {} — {passes} passes, {checks} online checks",
        app.store_for_tools().backend_name(),
        machine()
    );
    let actor = fangkong_seed::seed_actor();
    let now = app.now();
    let tested = (now - chrono::Duration::hours(4))
        .with_timezone(&fangkong_domain::time::beijing_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let enterprise = app
        .register_supply_enterprise(
            &actor,
            &EnterpriseForm {
                name: format!("基准保供配送中心 {}", now.format("%H%M%S")),
                kind: "distribution_centre".into(),
                region_code: "130109".into(),
                credit_code: format!("91130109MA{}", now.format("%H%M%S%m")),
                certificate_no: "基准".into(),
                contact_phone: "13912345678".into(),
            },
        )
        .await?;
    let today = app.today();
    let until = (today + chrono::Duration::days(6)).to_string();
    let today = today.to_string();
    let mut issue_times = Vec::with_capacity(passes);
    let mut issued = Vec::with_capacity(passes);
    let started = Instant::now();
    for n in 0..passes {
        let plate = format!(
            "冀B{}{:04}",
            (b'A' + (n / 10_000 % 26) as u8) as char,
            n % 10_000
        );
        let vehicle = app
            .add_supply_vehicle(
                &actor,
                enterprise,
                &VehicleForm {
                    plate: plate.clone(),
                    kind: "truck".into(),
                    licence_no: format!("XSZ{n}"),
                },
            )
            .await?;
        let driver = app
            .add_supply_person(
                &actor,
                enterprise,
                &SupplyPersonForm {
                    role: "driver".into(),
                    name: format!("司机{n}"),
                    id_type: String::new(),
                    id_number: id_number(n),
                    phone: "13812345678".into(),
                    document_no: format!("JSZ{n}"),
                    negative_at: tested.clone(),
                },
            )
            .await;
        // The bench's 1,000 distinct ID numbers repeat beyond that: the same driver again.
        let driver = match driver {
            Ok(id) => id,
            Err(_) => issued
                .get(n % 1000)
                .map(|(_, _, d): &(i64, String, i64)| *d)
                .unwrap_or(0),
        };
        let one = Instant::now();
        let pass = app
            .issue_supply_pass(
                &actor,
                enterprise,
                &PassForm {
                    kind: "vehicle".into(),
                    vehicle_id: vehicle.to_string(),
                    person_ids: driver.to_string(),
                    goods: "living".into(),
                    origin: "130109".into(),
                    via: String::new(),
                    destination: "110115".into(),
                    valid_from: today.clone(),
                    valid_until: until.clone(),
                },
            )
            .await?;
        issue_times.push(one.elapsed());
        issued.push((pass.id, plate, driver));
    }
    issue_times.sort();
    println!(
        "issue: {passes} passes (with their vehicles and drivers) in {:.1} s; one pass's issue, durable with its serial and audit: p50 {:.2} ms, p95 {:.2} ms",
        started.elapsed().as_secs_f64(),
        percentile(&issue_times, 0.50),
        percentile(&issue_times, 0.95)
    );

    // -- offline: the QR alone -----------------------------------------------------------------
    let trust =
        Arc::new(TrustList::from_json(&app.trust_list_json().await?).map_err(anyhow::Error::msg)?);
    let now_unix = app.now_unix();
    let mut cases = Vec::new();
    for (id, plate, _) in issued.iter().take(2_000) {
        let text = app.supply_pass(&actor, *id).await?.qr_text;
        cases.push(OfflineCase {
            trust: trust.clone(),
            text,
            plate: plate.clone(),
            now: now_unix,
        });
    }
    let length = cases.first().map(|c| c.text.len()).unwrap_or(0);
    let mut single = Vec::new();
    for case in cases.iter().cycle().take(5_000) {
        let one = Instant::now();
        offline_check(case);
        single.push(one.elapsed());
    }
    single.sort();
    let cases = Arc::new(cases);
    // The health code's offline verification beside it: FK1: tokens of the same key type.
    let signer = CodeSigner::from_secret("CN-13", &[42u8; 32]);
    let code_trust =
        Arc::new(TrustList::new(vec![signer.trusted_key()]).map_err(anyhow::Error::msg)?);
    let codes: Arc<Vec<CodeCase>> = Arc::new(
        (0..2_000)
            .map(|i| CodeCase {
                trust: code_trust.clone(),
                text: signer.sign(&CodeClaims {
                    issuer: "CN-13".into(),
                    issued_at: now_unix,
                    expires_at: now_unix + 300,
                    subject: format!("BENCH{i:011}"),
                    colour: CodeColour::Green,
                    popup: false,
                    last_negative_sampled_at: Some(now_unix - 3_600),
                }),
                now: now_unix,
            })
            .collect(),
    );
    println!(
        "offline pass check (FP1: QR of {length} characters → signature, dates, plate, route): p50 {:.3} ms, p95 {:.3} ms",
        percentile(&single, 0.50),
        percentile(&single, 0.95)
    );
    for threads in [1usize, 2] {
        let pass_rate = rate_over(cases.clone(), threads, offline_check);
        let code_rate = rate_over(codes.clone(), threads, code_check);
        println!(
            "offline, {threads} thread(s): passes {pass_rate:.0}/s, health codes (FK1:, as in `fangkong bench verify`) {code_rate:.0}/s"
        );
    }

    // -- online: through the app, logged --------------------------------------------------------
    let ring = app
        .create_checkpoint(
            &actor,
            &CheckpointForm {
                name: format!("基准环京检查站 {}", now.format("%H%M%S")),
                kind: "beijing_ring".into(),
                line: String::new(),
                region_code: "130109".into(),
            },
        )
        .await?;
    let mut online = Vec::with_capacity(checks);
    let mut through = 0usize;
    let started = Instant::now();
    for i in 0..checks {
        let case = &cases[i % cases.len()];
        let one = Instant::now();
        let outcome = app
            .check_vehicle_at_checkpoint(
                &actor,
                ring,
                &VehicleScan {
                    passage_key: format!("bench-{i}"),
                    pass: case.text.clone(),
                    plate: case.plate.clone(),
                    temperature: "36.5".into(),
                },
            )
            .await?;
        online.push(one.elapsed());
        through += usize::from(outcome.decision == "pass");
    }
    let seconds = started.elapsed().as_secs_f64();
    online.sort();
    println!(
        "online check, one post after another (verify, look up, codes and tests, log durably): {:.0}/s, p50 {:.2} ms, p95 {:.2} ms ({through} of {checks} let through)",
        checks as f64 / seconds,
        percentile(&online, 0.50),
        percentile(&online, 0.95)
    );
    // Many posts at once.
    let posts = 16usize;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for p in 0..posts {
        let app = app.clone();
        let actor = actor.clone();
        let cases = cases.clone();
        tasks.spawn(async move {
            let mut times = Vec::new();
            for i in (p..checks).step_by(posts) {
                let case = &cases[i % cases.len()];
                let one = Instant::now();
                let _ = app
                    .check_vehicle_at_checkpoint(
                        &actor,
                        ring,
                        &VehicleScan {
                            passage_key: format!("bench-parallel-{i}"),
                            pass: case.text.clone(),
                            plate: case.plate.clone(),
                            temperature: "36.5".into(),
                        },
                    )
                    .await;
                times.push(one.elapsed());
            }
            times
        });
    }
    let mut parallel = Vec::new();
    while let Some(done) = tasks.join_next().await {
        parallel.extend(done?);
    }
    let seconds = started.elapsed().as_secs_f64();
    parallel.sort();
    println!(
        "online check, {posts} posts at once: {:.0}/s, p50 {:.2} ms, p95 {:.2} ms",
        parallel.len() as f64 / seconds,
        percentile(&parallel, 0.50),
        percentile(&parallel, 0.95)
    );
    Ok(())
}
