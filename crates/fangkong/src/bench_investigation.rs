//! `fangkong bench investigation`: a city-scale outbreak (100,000 cases, 1,000,000 contacts by
//! default) over the simulated population, then the directory pages and the chain picture timed
//! over HTTP through the real server (targets.md P6, P8). It reports; it never asserts.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fangkong_app::auth::NewUser;
use fangkong_app::records::{CaseWrite, ContactWrite, LeadRecord};
use fangkong_domain::ids::IdType;
use fangkong_domain::leads::{Channel, ControlMeasure, LeadStatus, RiskCategory};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

use crate::bench::{BenchArgs, import_population, machine, peak_memory_mib, percentile, prepare};

/// The shape of the benchmark's outbreak.
pub struct InvestigationBench {
    pub cases: usize,
    pub contacts_per_case: usize,
    pub requests: usize,
}

pub async fn run(args: &BenchArgs, bench: &InvestigationBench) -> Result<()> {
    let prepared = prepare(args).await?;
    let app = prepared.app.clone();
    println!(
        "fangkong bench investigation — {} — {} — {} residents, {} cases × {} contacts",
        app.store_for_tools().backend_name(),
        machine(),
        args.residents,
        bench.cases,
        bench.contacts_per_case
    );
    if args.reuse && !app.store_for_tools().residents_empty().await? {
        println!("reusing the residents already in the database");
    } else {
        let csv_dir = tempfile::tempdir()?;
        import_population(&prepared, args, &csv_dir.path().join("population.csv")).await?;
    }

    let (lower, upper) = prepared.region.subtree_range();
    let existing = app.store_for_tools().chain_cases((&lower, &upper)).await?;
    if args.reuse && !existing.is_empty() {
        println!(
            "reusing the {} cases already in the database",
            existing.len()
        );
    } else {
        load_outbreak(&app, &lower, &upper, bench).await?;
    }
    let started = Instant::now();
    app.store_for_tools().analyze_investigation().await?;
    println!(
        "planner statistics refreshed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let ids: Vec<i64> = app
        .store_for_tools()
        .chain_cases((&lower, &upper))
        .await?
        .iter()
        .map(|r| r.id)
        .collect();
    let first = app
        .store_for_tools()
        .case(*ids.first().context("no case was generated")?)
        .await?
        .context("the first case vanished")?;
    let county = first.region_code.as_str()[..6].to_string();
    let county_range = RegionCode::parse(&county)
        .map_err(anyhow::Error::msg)?
        .subtree_range();
    let county_cases = app
        .store_for_tools()
        .chain_cases((&county_range.0, &county_range.1))
        .await?
        .len();

    // The city commander reads the directories; a county epidemiologist the chain picture of the
    // county with the most cases.
    for (username, role, jurisdiction) in [
        ("bench_city", Role::Commander, prepared.region.clone()),
        (
            "bench_county",
            Role::Epidemiologist,
            RegionCode::parse(&county).map_err(anyhow::Error::msg)?,
        ),
    ] {
        if app
            .store_for_tools()
            .user_by_username(username)
            .await?
            .is_none()
        {
            app.create_user_unchecked(
                &NewUser {
                    username: username.into(),
                    display_name: "基准测试".into(),
                    role,
                    jurisdiction,
                    password: "bench-password".into(),
                },
                "bench",
            )
            .await?;
        }
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(fangkong_web::serve(app.clone(), listener));
    let base = format!("http://{address}");
    let login = |username: &'static str| {
        let base = base.clone();
        async move {
            let client = reqwest::Client::builder().cookie_store(true).build()?;
            let response = client
                .post(format!("{base}/login"))
                .form(&[("username", username), ("password", "bench-password")])
                .send()
                .await?;
            anyhow::ensure!(
                response.status().is_success() || response.status().is_redirection(),
                "login of {username} failed"
            );
            Ok::<_, anyhow::Error>(client)
        }
    };
    let city = login("bench_city").await?;
    let county_client = login("bench_county").await?;
    let sample_ids: Vec<i64> = ids
        .iter()
        .step_by((ids.len() / 200).max(1))
        .copied()
        .collect();
    let middle = ids.get(ids.len() / 2).copied().unwrap_or(0);
    let pages: Vec<(&str, &reqwest::Client, Vec<String>)> = vec![
        ("case directory", &city, vec!["/cases".into()]),
        (
            "case directory p.n",
            &city,
            vec![format!("/cases?before={middle}")],
        ),
        ("overdue cases", &city, vec!["/cases?overdue=1".into()]),
        (
            "contacts (close)",
            &city,
            vec!["/contacts?category=close".into()],
        ),
        (
            "contacts (second.)",
            &city,
            vec!["/contacts?category=secondary".into()],
        ),
        (
            "case page",
            &city,
            sample_ids.iter().map(|id| format!("/cases/{id}")).collect(),
        ),
        ("lead overview", &city, vec!["/leads".into()]),
        ("overdue leads", &city, vec!["/leads?overdue=1".into()]),
        ("isolation view", &city, vec!["/isolation".into()]),
        // The command office (P12): the picture of the city and of a county, the late list,
        // and the commander's home that shows both.
        (
            "picture (city)",
            &city,
            vec!["/api/command/situation".into()],
        ),
        (
            "picture (county)",
            &city,
            vec![format!("/api/command/situation?region={county}")],
        ),
        ("late list (city)", &city, vec!["/api/command/late".into()]),
        ("commander home", &city, vec!["/".into()]),
    ];
    println!(
        "{:<20} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "page", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for (name, client, urls) in pages {
        let mut times: Vec<Duration> = Vec::with_capacity(bench.requests);
        let mut failed = None;
        for i in 0..bench.requests {
            let url = format!("{base}{}", urls[i % urls.len()]);
            let started = Instant::now();
            let response = client.get(&url).send().await?;
            let status = response.status();
            let _ = response.bytes().await?;
            times.push(started.elapsed());
            if !status.is_success() {
                failed = Some(format!("{url} answered {status}"));
                break;
            }
        }
        if let Some(why) = failed {
            println!("{name:<20} skipped: {why}");
            continue;
        }
        times.sort();
        println!(
            "{:<20} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            name,
            times.len(),
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            percentile(&times, 0.99),
            percentile(&times, 1.0)
        );
    }
    // The lead command view and overdue list through the app (what the pages call).
    let commander = app.actor_for_user("bench_city", "bench").await?;
    let mut overview_times = Vec::new();
    let mut overdue_times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let overview = app.leads_overview(&commander, "").await?;
        overview_times.push(started.elapsed());
        let started = Instant::now();
        let overdue = app.overdue_leads(&commander, "", 0).await?;
        overdue_times.push(started.elapsed());
        if overview_times.len() == 1 {
            println!(
                "leads: {} in the city, {} overdue shown on the first page",
                overview.total.total,
                overdue.rows.len()
            );
        }
    }
    overview_times.sort();
    overdue_times.sort();
    println!(
        "lead command view (app) p50 {:.0} ms max {:.0} ms; overdue list (app) p50 {:.0} ms max {:.0} ms",
        percentile(&overview_times, 0.5),
        percentile(&overview_times, 1.0),
        percentile(&overdue_times, 0.5),
        percentile(&overdue_times, 1.0)
    );
    allocate_ten_thousand(&app, &commander, &county).await?;

    // The chain picture of the county: the app call (query + layout) and the whole SVG page.
    let actor = app.actor_for_user("bench_county", "bench").await?;
    let started = Instant::now();
    let picture = app.transmission_chains(&actor).await?;
    let app_time = started.elapsed();
    let mut svg_times = Vec::new();
    let mut svg_bytes = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let response = county_client
            .get(format!("{base}/chains.svg"))
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        svg_times.push(started.elapsed());
        svg_bytes = body.len();
        if !status.is_success() {
            println!("chain picture (SVG) answered {status}");
            break;
        }
    }
    svg_times.sort();
    println!(
        "chain picture of {county}: {} cases ({} in the county's range), {} contacts, {} chains; \
         query + layout {:.0} ms (measured inside the app: {} ms); SVG over HTTP p50 {:.0} ms, max {:.0} ms, {:.1} MB",
        picture.cases,
        county_cases,
        picture.contacts,
        picture.layout.chains.len(),
        app_time.as_secs_f64() * 1000.0,
        picture.millis,
        percentile(&svg_times, 0.5),
        percentile(&svg_times, 1.0),
        svg_bytes as f64 / 1_048_576.0
    );
    println!(
        "(targets: pages and the command picture p95 < 300 ms; chain picture of 20,000 cases / 200,000 contacts < 2 s)  peak memory {:.0} MiB",
        peak_memory_mib()
    );
    server.abort();
    Ok(())
}

/// Loads the benchmark's outbreak: consecutive residents (grid order), each case followed by its
/// contacts among its neighbours; chains as binary trees of 50 cases.
async fn load_outbreak(
    app: &fangkong_app::App,
    lower: &str,
    upper: &str,
    bench: &InvestigationBench,
) -> Result<()> {
    // Consecutive residents (grid order): a case, then its contacts among its neighbours.
    let started = Instant::now();
    let group = 1 + bench.contacts_per_case;
    let wanted = bench.cases * group;
    let mut people = Vec::with_capacity(wanted);
    let mut after = 0i64;
    while people.len() < wanted {
        let page = app
            .store_for_tools()
            .residents_page((lower, upper), after, 50_000)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        people.extend(page);
    }
    people.truncate(wanted - wanted % group);
    let now = app.now_unix();
    let day = 86_400;
    let cases: Vec<CaseWrite> = people
        .chunks(group)
        .enumerate()
        .map(|(i, chunk)| {
            let p = &chunk[0];
            let found_at = now - (i as i64 % 30) * day - (i as i64 % 24) * 3600;
            CaseWrite {
                case_key: format!("{i:06}"),
                case_number_prefix: "BENCH".into(),
                kind: if i % 3 == 0 {
                    "asymptomatic"
                } else {
                    "confirmed"
                }
                .into(),
                id_type: p.id_type.clone(),
                id_number: p.id_number.clone(),
                resident_id: Some(p.id),
                name: p.name.clone(),
                sex: p.sex.code().to_string(),
                birth_date: p.birth_date.clone(),
                phone: p.phone.clone(),
                address: p.address.clone(),
                grid_code: p.grid_code.clone(),
                region_code: p.grid_code.clone(),
                onset_date: None,
                first_positive_at: Some(found_at - 7200),
                found_by: "mass_testing".into(),
                found_at,
                severity: "mild".into(),
                hospital: String::new(),
                regime: "ninth".into(),
                // One in ten reports still missing: the overdue filter has something to find.
                reported_at: (i % 10 != 0).then_some(found_at + 3600),
                isolated_at: Some(found_at),
                infector_case_id: None,
                infector_note: String::new(),
                created_by: "bench".into(),
                created_at: found_at,
                event_detail: String::new(),
            }
        })
        .collect();
    let ids = app.store_for_tools().bulk_load_cases(&cases).await?;
    // Chains: binary trees of 50 cases each (case j of a block infected by case (j-1)/2).
    let links: Vec<(i64, i64)> = ids
        .chunks(50)
        .flat_map(|block| {
            block
                .iter()
                .enumerate()
                .skip(1)
                .map(move |(j, id)| (*id, block[(j - 1) / 2]))
        })
        .collect();
    app.store_for_tools().bulk_set_infectors(&links).await?;
    let case_time = started.elapsed();
    let started = Instant::now();
    let mut contacts = Vec::with_capacity(people.len());
    for (chunk, (case, case_id)) in people.chunks(group).zip(cases.iter().zip(&ids)) {
        for (k, p) in chunk.iter().skip(1).enumerate() {
            let category = match k % 20 {
                0..=15 => "close",
                16..=18 => "secondary",
                _ => "general",
            };
            contacts.push(ContactWrite {
                case_id: *case_id,
                case_region_code: case.region_code.clone(),
                via_contact_id: None,
                person_key: format!("{}:{}", p.id_type, p.id_number.as_str()),
                id_type: p.id_type.clone(),
                id_number: p.id_number.clone(),
                resident_id: Some(p.id),
                name: p.name.clone(),
                phone: p.phone.clone(),
                address: p.address.clone(),
                grid_code: p.grid_code.clone(),
                exposure_kind: "shared_home".into(),
                exposure_detail: "{}".into(),
                protected: false,
                first_exposure_at: case.found_at - 2 * day,
                last_exposure_at: case.found_at - 3600,
                category: category.into(),
                reason: "同住家庭成员（密切接触者判定原则第1条）".into(),
                regime: "ninth".into(),
                created_by: "bench".into(),
                created_at: case.found_at,
                event_kind: None,
                event_detail: String::new(),
            });
        }
    }
    app.store_for_tools().bulk_load_contacts(&contacts).await?;
    // One lead per contact (流调判定) in the contact's grid: three in four landed (most within 24 h),
    // the rest open, a third of those past their deadline.
    let leads_started = Instant::now();
    let leads: Vec<LeadRecord> = contacts
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let received = c.created_at;
            let (status, closed_at) = match k % 12 {
                0..=7 => (LeadStatus::Controlled, Some(received + 6 * 3600)),
                8 => (LeadStatus::Controlled, Some(received + 30 * 3600)),
                9 | 10 => (LeadStatus::Pending, None),
                _ => (LeadStatus::Unrouted, None),
            };
            // Open leads: half received two days ago (overdue), half just now (still in time).
            let received_at = match (closed_at, k % 2) {
                (Some(_), _) => received,
                (None, 0) => now - 2 * day,
                (None, _) => now,
            };
            let deadline = received_at + day;
            LeadRecord {
                id: 0,
                channel: Channel::Investigation,
                category: if c.category == "secondary" {
                    RiskCategory::SecondaryContact
                } else {
                    RiskCategory::CloseContact
                },
                status,
                name: c.name.clone(),
                id_type: IdType::from_code(&c.id_type),
                id_number: c.id_number.clone(),
                phone: c.phone.clone(),
                address: c.address.clone(),
                resident_id: c.resident_id,
                grid_code: c.grid_code.clone(),
                reason: "流调判定".into(),
                came_from: String::new(),
                arrived_at: None,
                sender: String::new(),
                sender_scope: None,
                reference: String::new(),
                sender_region: String::new(),
                source_key: Some(format!("bench:{k}")),
                received_at,
                deadline,
                closed_at,
                measure: closed_at.map(|_| ControlMeasure::Centralised),
                out_region: String::new(),
                out_note: String::new(),
                created_by: "bench".into(),
                created_at: received,
            }
        })
        .collect();
    for chunk in leads.chunks(20_000) {
        app.store_for_tools().insert_leads(chunk).await?;
    }
    println!(
        "loaded {} leads in {:.1} s",
        leads.len(),
        leads_started.elapsed().as_secs_f64()
    );
    println!(
        "loaded {} cases in {:.1} s and {} contacts in {:.1} s",
        ids.len(),
        case_time.as_secs_f64(),
        contacts.len(),
        started.elapsed().as_secs_f64()
    );

    Ok(())
}

/// 10,000 close contacts of the county awaiting placement, 20 sites of 600 rooms: one allocation.
async fn allocate_ten_thousand(
    app: &fangkong_app::App,
    commander: &fangkong_app::Actor,
    county: &str,
) -> Result<()> {
    use fangkong_app::isolation::{MeasurePerson, RoomBlockForm, SiteForm};
    use fangkong_domain::isolation::PersonCategory;
    let range = RegionCode::parse(county)
        .map_err(anyhow::Error::msg)?
        .subtree_range();
    // People of the county not among the bench's cases and contacts: from the end of its range.
    let mut people = Vec::new();
    let mut after = 0i64;
    while people.len() < 40_000 {
        let page = app
            .store_for_tools()
            .residents_page((&range.0, &range.1), after, 20_000)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        people.extend(page);
    }
    let today = app.today();
    let measures: Vec<_> = people
        .iter()
        .rev()
        .take(10_000)
        .map(|r| {
            (
                MeasurePerson::of_resident(r),
                PersonCategory::CloseContact,
                today,
                format!("bench-measure:{}", r.id),
            )
        })
        .collect();
    let opened = app.place_many_under_measure_unchecked(&measures).await?;
    let townships: Vec<String> = {
        let mut codes: Vec<String> = people
            .iter()
            .map(|r| r.grid_code[..9].to_string())
            .collect();
        codes.sort();
        codes.dedup();
        codes
    };
    for n in 0..20 {
        let township = &townships[n % townships.len()];
        let site = app
            .create_isolation_site(
                commander,
                &SiteForm {
                    name: format!("基准隔离点{n:02}"),
                    region_code: township.clone(),
                    address: format!("{township}基准路{n}号"),
                    readiness: "2h".into(),
                    staff_count: "20".into(),
                    note: String::new(),
                },
            )
            .await?;
        app.add_rooms(
            commander,
            site,
            &RoomBlockForm {
                building: "A".into(),
                floor_from: "1".into(),
                floor_to: "20".into(),
                room_from: "1".into(),
                room_to: "30".into(),
            },
        )
        .await?;
    }
    let started = Instant::now();
    let report = app.confirm_allocation(commander, 10_000).await?;
    println!(
        "allocation: {} measures opened; {} people allocated to rooms, {} unplaced, in {:.0} ms \
         (app call; {} ms inside) (target 10,000 < 1 s)",
        opened,
        report.allocated,
        report.unplaced,
        started.elapsed().as_secs_f64() * 1000.0,
        report.millis
    );
    Ok(())
}
