//! Kill -9 of `fangkong serve` in the middle of a burst of bindings from several sampling tables, and
//! again in the middle of a lab's results upload: after the restart every acknowledged binding is on
//! disk, and the clients' retries (same scan ids, same results) complete the round with no duplicate.

use std::collections::HashSet;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fangkong_app::auth::NewUser;
use fangkong_app::mass_testing::{RoundForm, SiteForm};
use fangkong_app::{App, Store, SystemClock};
use fangkong_domain::mass_testing::TubeBarcode;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;
use serde_json::{Value, json};

const RESIDENTS: u64 = 12_000;
const TABLES: usize = 6;
const SCANS_PER_REQUEST: usize = 40;
const PASSWORD: &str = "table-scan-pass-7";

async fn open(dir: &std::path::Path) -> App {
    App::new(
        Store::open_sqlite_dir(dir).await.unwrap(),
        Arc::new(SystemClock),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fangkong"))
        .args([
            "serve",
            "--database",
            dir.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", "error")
        .spawn()
        .unwrap()
}

async fn wait_until_up(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.get(format!("{base}/login")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn token(client: &reqwest::Client, base: &str, username: &str) -> String {
    let response: Value = client
        .post(format!("{base}/api/session"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["token"]
        .as_str()
        .expect("a session token")
        .to_string()
}

/// One table's requests: (round, site, table, scans) with scan ids fixed in advance, as the page's
/// local queue keeps them.
fn table_requests(
    round: i64,
    site: i64,
    table: usize,
    people: &[(String, String)],
    first_serial: u64,
) -> Vec<Value> {
    people
        .chunks(SCANS_PER_REQUEST)
        .enumerate()
        .map(|(request, chunk)| {
            let scans: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(k, (id_type, id_number))| {
                    // 10 people per tube; each table has its own tube numbers.
                    let n = (request * SCANS_PER_REQUEST + k) as u64;
                    let tube =
                        TubeBarcode::from_serial(first_serial + table as u64 * 100_000 + n / 10)
                            .unwrap();
                    json!({
                        "scan_id": format!("crash-{table}-{n}"),
                        "tube": tube.as_str(),
                        "id_type": id_type,
                        "id_number": id_number,
                    })
                })
                .collect();
            json!({"round_id": round, "site_id": site, "table_no": table + 1, "scans": scans})
        })
        .collect()
}

#[tokio::test]
async fn bindings_and_results_survive_a_kill_and_retries_add_no_duplicate() {
    if !crate::slow_suites_enabled() {
        return;
    }
    let _alone = crate::ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (round_id, site_id, first_serial, people) = {
        let app = open(dir.path()).await;
        app.load_divisions().await.unwrap();
        let county = RegionCode::parse("130109").unwrap();
        let (plan, names) = fangkong_seed::plan_grids(&app, &county, RESIDENTS, 5)
            .await
            .unwrap();
        fangkong_seed::create_grids(&app, &plan, &names)
            .await
            .unwrap();
        let csv = dir.path().join("people.csv");
        let households = fangkong_sim::PopulationGenerator::new(&plan, &names, app.today(), 5);
        fangkong_sim::write_csv(
            std::io::BufWriter::new(std::fs::File::create(&csv).unwrap()),
            households,
        )
        .unwrap();
        let admin = fangkong_seed::seed_actor();
        app.import_residents(&admin, &csv, "people.csv")
            .await
            .unwrap();
        for (username, role) in [("sampler", Role::Sampler), ("lab", Role::Lab)] {
            app.create_user_unchecked(
                &NewUser {
                    username: username.into(),
                    display_name: username.into(),
                    role,
                    jurisdiction: county.clone(),
                    password: PASSWORD.into(),
                },
                "test",
            )
            .await
            .unwrap();
        }
        let round_id = app
            .open_round(
                &admin,
                &RoundForm {
                    name: "断电测试轮".into(),
                    kind: "whole".into(),
                    region_code: "130109".into(),
                    pool_size: "10".into(),
                    tubes: "1000000".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let village = app
            .store_for_tools()
            .villages_in("130109", "130109:")
            .await
            .unwrap()[0]
            .code
            .clone();
        let site_id = app
            .create_site(
                &admin,
                round_id,
                &SiteForm {
                    region_code: village,
                    name: "测试采样点".into(),
                    tables: TABLES.to_string(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let round = app.round(&admin, round_id).await.unwrap();
        let first = TubeBarcode::parse(&round.tube_ranges[0].0)
            .unwrap()
            .serial();
        let people: Vec<(String, String)> = app
            .store_for_tools()
            .residents_page(("130109", "130109:"), 0, RESIDENTS as i64)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.id_type, r.id_number.into()))
            .collect();
        app.store_for_tools().close().await;
        (round_id, site_id, first, people)
    };
    assert_eq!(people.len() as u64, RESIDENTS);
    let per_table = people.len() / TABLES;
    let tables: Vec<Vec<Value>> = (0..TABLES)
        .map(|t| {
            table_requests(
                round_id,
                site_id,
                t,
                &people[t * per_table..(t + 1) * per_table],
                first_serial,
            )
        })
        .collect();

    // 1. A binding burst from every table; kill the server once a good part is acknowledged.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut server = start_server(dir.path(), port);
    wait_until_up(&client, &base).await;
    let sampler = token(&client, &base, "sampler").await;
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut senders = Vec::new();
    for requests in tables.clone() {
        let (client, base, sampler, acknowledged) = (
            client.clone(),
            base.clone(),
            sampler.clone(),
            acknowledged.clone(),
        );
        senders.push(tokio::spawn(async move {
            for request in requests {
                let Ok(response) = client
                    .post(format!("{base}/api/sampling/scans"))
                    .bearer_auth(&sampler)
                    .json(&request)
                    .send()
                    .await
                else {
                    return; // the server is gone: the table goes offline and keeps its queue
                };
                let Ok(results) = response.json::<Vec<Value>>().await else {
                    return;
                };
                let mut acked = acknowledged.lock().unwrap();
                for result in results {
                    assert_eq!(result["outcome"], "bound", "{result}");
                    acked.push(result["scan_id"].as_str().unwrap().to_string());
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while acknowledged.lock().unwrap().len() < people.len() / 5 {
        assert!(
            Instant::now() < deadline,
            "bindings too slow to be killed midway"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().unwrap(); // SIGKILL, requests in flight
    server.wait().unwrap();
    for sender in senders {
        sender.await.unwrap();
    }
    let acknowledged: Vec<String> = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() < people.len(),
        "the kill came before the end"
    );
    {
        let app = open(dir.path()).await;
        let stored: HashSet<String> = app
            .store_for_tools()
            .recorded_scan_ids(&acknowledged)
            .await
            .unwrap()
            .into_iter()
            .collect();
        let lost: Vec<&String> = acknowledged
            .iter()
            .filter(|id| !stored.contains(*id))
            .collect();
        assert!(
            lost.is_empty(),
            "acknowledged bindings lost in the crash: {}",
            lost.len()
        );
        app.store_for_tools().close().await;
    }

    // 2. Restart; every table uploads its whole queue again. Nothing doubles, nothing is missing.
    let mut server = start_server(dir.path(), port);
    wait_until_up(&client, &base).await;
    let sampler = token(&client, &base, "sampler").await;
    let acked: HashSet<String> = acknowledged.into_iter().collect();
    let mut recorded_again = 0;
    for requests in &tables {
        for request in requests {
            let results: Vec<Value> = client
                .post(format!("{base}/api/sampling/scans"))
                .bearer_auth(&sampler)
                .json(request)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for result in results {
                let id = result["scan_id"].as_str().unwrap();
                match result["outcome"].as_str().unwrap() {
                    "already_recorded" => recorded_again += 1,
                    "bound" => assert!(
                        !acked.contains(id),
                        "an acknowledged scan {id} was bound twice"
                    ),
                    other => panic!("scan {id}: {other} {result}"),
                }
            }
        }
    }
    assert!(recorded_again >= acked.len());
    let total = per_table * TABLES;

    // 3. The lab's results for every tube, as one JSON upload; kill the server in the middle.
    let tubes: Vec<String> = (0..TABLES)
        .flat_map(|t| {
            (0..per_table.div_ceil(10) as u64).map(move |n| {
                TubeBarcode::from_serial(first_serial + t as u64 * 100_000 + n)
                    .unwrap()
                    .to_string()
            })
        })
        .collect();
    let results: Vec<Value> = tubes
        .iter()
        .enumerate()
        .map(
            |(i, tube)| json!({"tube": tube, "result": if i % 100 == 3 { "阳性" } else { "阴性" }}),
        )
        .collect();
    let positives = results.iter().filter(|r| r["result"] == "阳性").count();
    let lab = token(&client, &base, "lab").await;
    // The lab uploads the results in pieces of 50 (a small lab's system).
    let pieces: Vec<Vec<Value>> = results.chunks(50).map(<[Value]>::to_vec).collect();
    let uploader = {
        let (client, base, lab, pieces) =
            (client.clone(), base.clone(), lab.clone(), pieces.clone());
        tokio::spawn(async move {
            let mut acknowledged = 0;
            for piece in pieces {
                match client
                    .post(format!("{base}/api/lab/results"))
                    .bearer_auth(&lab)
                    .json(&piece)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => acknowledged += 1,
                    _ => return acknowledged,
                }
            }
            acknowledged
        })
    };
    let watcher = open(dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let chain = watcher
            .store_for_tools()
            .tube_chain_counts(round_id)
            .await
            .unwrap();
        if chain.negative > (tubes.len() / 3) as i64 {
            break;
        }
        assert!(Instant::now() < deadline, "results too slow");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let acknowledged_pieces = uploader.await.unwrap();
    assert!(
        acknowledged_pieces < pieces.len(),
        "the kill came before the end of the upload"
    );
    let chain = watcher
        .store_for_tools()
        .tube_chain_counts(round_id)
        .await
        .unwrap();
    assert!(
        chain.negative + chain.positive >= (acknowledged_pieces * 50) as i64,
        "acknowledged results survived"
    );
    watcher.store_for_tools().close().await;

    // 4. Restart; the lab sends everything again.
    let mut server = start_server(dir.path(), port);
    wait_until_up(&client, &base).await;
    let lab = token(&client, &base, "lab").await;
    for piece in &pieces {
        let response = client
            .post(format!("{base}/api/lab/results"))
            .bearer_auth(&lab)
            .json(piece)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{}",
            response.text().await.unwrap()
        );
    }
    server.kill().unwrap();
    server.wait().unwrap();

    let app = open(dir.path()).await;
    let admin = fangkong_seed::seed_actor();
    let overview = app
        .round_overview(&admin, round_id, "130109")
        .await
        .unwrap();
    assert_eq!(
        overview.totals.sampled as usize, total,
        "every person once, none twice"
    );
    assert_eq!(overview.chain.tubes as usize, tubes.len());
    assert_eq!(overview.chain.positive as usize, positives);
    assert_eq!(overview.chain.negative as usize, tubes.len() - positives);
    // One recheck task per member of each positive pool: not one more after the retries.
    let members: usize = {
        let mut n = 0;
        for (i, tube) in tubes.iter().enumerate() {
            if i % 100 == 3 {
                n += app
                    .store_for_tools()
                    .tube_members(tube)
                    .await
                    .unwrap()
                    .len();
            }
        }
        n
    };
    let tasks: i64 = app
        .store_for_tools()
        .recheck_counts(("130109", "130109:"))
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(tasks as usize, members);
    let events = app
        .store_for_tools()
        .person_events_after(0, 100_000)
        .await
        .unwrap();
    assert_eq!(
        events.iter().filter(|e| e.kind == "pool_positive").count(),
        members
    );
}
