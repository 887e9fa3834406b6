//! `fangkong drill`: a scenario (演练脚本) played into a sandbox database on the simulation clock.
//! The sandbox gets the county's register (generated when it has none), isolation rooms, vehicles
//! and a hospital as the scenario says; the scenario's injects arrive as in an outbreak — the
//! positives of the screening found and opened as cases, the key people pushed to the grids as
//! leads. With `--unattended` simulated teams answer with realistic delays (some late): the
//! epidemiologists report cases and list contacts, the grids land leads, the transfer team
//! allocates rooms and sends coaches, the sites check people in, the county files its first report;
//! then the run is measured from the sandbox's records and the scored report printed. Without it,
//! the sandbox is served while the clock runs and the teams work in the real pages; the report is
//! measured every minute and readable at `/drills/{id}`. A production database is refused before
//! anything is written.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Duration, Utc};
use clap::Args;
use fangkong_app::auth::NewUser;
use fangkong_app::investigation::{CaseAction, CaseForm, ContactForm};
use fangkong_app::isolation::{HospitalForm, RoomBlockForm, SiteForm, TransferForm, VehicleForm};
use fangkong_app::leads::{LeadFilter, LeadForm, OutcomeForm};
use fangkong_app::records::ResidentRecord;
use fangkong_app::{Actor, App, InstanceKind, SimulationClock, Store};
use fangkong_domain::command::incidents::IncidentKind;
use fangkong_domain::drills::{DrillMode, Scenario, parse_scenario, shipped_scenario};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;
use fangkong_domain::time::beijing_label;

/// The password of the drill's logins, unless `FANGKONG_PASSWORD` says another.
const DRILL_PASSWORD: &str = "drill-fangkong-2021";
/// The largest scenario file read.
const SCENARIO_MAX_BYTES: u64 = 64 * 1024;

#[derive(Args)]
pub struct DrillArgs {
    /// The sandbox database: a SQLite data directory or `.sqlite` file (created when new), or a
    /// postgres:// URL. A production database is refused, and nothing is written to it.
    #[arg(long)]
    pub db: String,
    /// A shipped scenario by name (small, city_district, henan_full) or a scenario file (.json).
    #[arg(long, default_value = "small")]
    pub scenario: String,
    /// Simulated teams answer (the baseline score); the report is printed at the end.
    #[arg(long)]
    pub unattended: bool,
    /// Where the sandbox is served while the teams work (without --unattended).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub serve: String,
    /// Simulated seconds per real second while served (60: an hour a minute).
    #[arg(long, default_value_t = 60.0)]
    pub speed: f64,
}

/// Reads a shipped scenario by name, or a scenario file.
pub fn load_scenario(which: &str) -> Result<Scenario> {
    if let Some(s) = shipped_scenario(which) {
        return Ok(s);
    }
    let path = Path::new(which);
    let meta = std::fs::metadata(path).with_context(|| {
        format!("没有名为 {which} 的内置演练脚本，也找不到这个文件（内置：small、city_district、henan_full）")
    })?;
    if meta.len() > SCENARIO_MAX_BYTES {
        bail!("演练脚本 {which} 太大（不超过 64 KB）");
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("读取演练脚本 {which}"))?;
    parse_scenario(&text).map_err(|problem| anyhow::anyhow!("演练脚本 {which}：{problem}"))
}

async fn open_sandbox_store(location: &str) -> Result<Store> {
    let store = if location.ends_with(".sqlite") {
        if let Some(dir) = Path::new(location)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)?;
        }
        Store::open_sqlite_file(Path::new(location)).await?
    } else {
        Store::open(location).await?
    };
    Ok(store)
}

/// What `fangkong drill` ran: the run and its score, for the caller (the demo files it).
pub struct DrillOutcome {
    pub app: App,
    pub run_id: i64,
    pub score: String,
}

/// `fangkong drill`.
pub async fn run(args: DrillArgs) -> Result<()> {
    crate::check_speed(args.speed)?;
    let scenario = load_scenario(&args.scenario)?;
    let clock = Arc::new(SimulationClock::new(scenario.start_at(), 0.0));
    let app = prepare(&args.db, &scenario, clock.clone()).await?;
    let commander = app.actor_for_user("drill_commander", "drill").await?;
    if args.unattended {
        let outcome = play_unattended(app, clock, &scenario).await?;
        print_report(&outcome.app, &commander, outcome.run_id).await?;
        return Ok(());
    }
    let run_id = app
        .start_drill(&commander, &scenario, DrillMode::Teams)
        .await?;
    let mut player = DrillPlayer::new(&app, clock.clone(), &scenario, false).await?;
    println!(
        "演练 #{run_id}「{}」：模拟时钟从 {} 起 {} 倍速，共 {} 小时。各队用以下账号登录（密码 {}）：",
        scenario.title,
        beijing_label(clock_now(&clock)),
        args.speed,
        scenario.hours,
        password()
    );
    for (username, name, role) in USERS {
        println!("  {username:<18} {:<8} {name}", role.label_zh());
    }
    let listener = tokio::net::TcpListener::bind(&args.serve)
        .await
        .with_context(|| format!("listen on {}", args.serve))?;
    println!(
        "打开 http://{}/ 开始演练；评估报告随时在 http://{}/drills/{run_id}（每分钟重新评分）。",
        args.serve, args.serve
    );
    clock.set_speed(args.speed);
    let (playing, ends_at) = (app.clone(), scenario.end_at());
    tokio::spawn(async move {
        for round in 0u64.. {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            let now = clock_now(&player.clock);
            player.play_due(now.min(ends_at)).await;
            if round % 30 == 0 || now >= ends_at {
                let finish = now >= ends_at;
                match playing.measure_drill(&commander, run_id, finish).await {
                    Ok(report) => tracing::info!(score = report.run.score, "drill measured"),
                    Err(e) => tracing::warn!(error = %e, "drill not measured"),
                }
                if let Err(e) = playing.record_simulated_now().await {
                    tracing::warn!(error = %e, "simulated time not recorded");
                }
                if finish {
                    println!("演练时间已到，评估报告已生成：/drills/{run_id}");
                    break;
                }
            }
        }
    });
    crate::serve::run(app, Default::default(), listener).await
}

fn password() -> String {
    std::env::var("FANGKONG_PASSWORD").unwrap_or_else(|_| DRILL_PASSWORD.into())
}

fn clock_now(clock: &SimulationClock) -> DateTime<Utc> {
    use fangkong_app::Clock as _;
    clock.now()
}

/// The drill's logins: the teams that work in the sandbox.
const USERS: &[(&str, &str, Role)] = &[
    ("drill_commander", "演练指挥部", Role::Commander),
    ("drill_duty", "演练值班室", Role::DutyOfficer),
    ("drill_epi", "演练流调队", Role::Epidemiologist),
    ("drill_grid", "演练网格员", Role::GridWorker),
    ("drill_transfer", "演练转运专班", Role::Transfer),
    ("drill_site", "演练隔离点", Role::IsolationSite),
];

/// Opens the sandbox (refusing a production database before writing anything), loads the
/// divisions, the drill's logins, the register and the facilities.
pub async fn prepare(
    location: &str,
    scenario: &Scenario,
    clock: Arc<SimulationClock>,
) -> Result<App> {
    let store = open_sandbox_store(location)
        .await
        .with_context(|| format!("open database {location}"))?;
    // A sandbox used before: this drill starts after where its clock was left.
    if let Some(left) = App::recorded_simulated_now(&store).await?
        && left > clock_now(&clock)
    {
        clock.set(left + Duration::hours(1));
    }
    let app = App::new(store, clock.clone());
    if let Err(refused) = app.claim_instance_kind(InstanceKind::Sandbox).await {
        bail!(
            "拒绝在此数据库上演练：{refused}（应急演练会写入模拟病例、密接和转运，只能用演练库）"
        );
    }
    if app.store_for_tools().count_regions().await? == 0 {
        app.load_divisions().await?;
    }
    let county = RegionCode::parse(&scenario.county).map_err(anyhow::Error::msg)?;
    for (username, name, role) in USERS {
        if app
            .store_for_tools()
            .user_by_username(username)
            .await?
            .is_none()
        {
            let user = NewUser {
                username: username.to_string(),
                display_name: name.to_string(),
                role: *role,
                jurisdiction: county.clone(),
                password: password(),
            };
            app.create_user_unchecked(&user, "drill").await?;
        }
    }
    let (lower, upper) = county.subtree_range();
    if app
        .store_for_tools()
        .grid_codes_in(&lower, &upper)
        .await?
        .is_empty()
    {
        println!(
            "演练库没有 {} 的户籍资料：生成 {} 名居民……",
            scenario.county, scenario.residents
        );
        let dir = tempfile::tempdir()?;
        fangkong_seed::seed_population(
            &app,
            &county,
            scenario.residents,
            scenario.seed,
            &dir.path().join("population.csv"),
        )
        .await?;
    }
    Ok(app)
}

/// Plays `scenario` with simulated teams to its end and measures it; the run is finished.
pub async fn play_unattended(
    app: App,
    clock: Arc<SimulationClock>,
    scenario: &Scenario,
) -> Result<DrillOutcome> {
    let commander = app.actor_for_user("drill_commander", "drill").await?;
    let run_id = app
        .start_drill(&commander, scenario, DrillMode::Unattended)
        .await?;
    let mut player = DrillPlayer::new(&app, clock.clone(), scenario, true).await?;
    let end = clock_now(&clock) + Duration::hours(i64::from(scenario.hours));
    player.play_until(end).await;
    clock.set(end);
    app.try_run_event_passes().await?;
    let report = app.measure_drill(&commander, run_id, true).await?;
    app.record_simulated_now().await?;
    Ok(DrillOutcome {
        app,
        run_id,
        score: report.run.score,
    })
}

/// Prints the after-action report: per team, per step, and the late items.
pub async fn print_report(app: &App, actor: &Actor, run_id: i64) -> Result<()> {
    let report = app.drill_report(actor, run_id).await?;
    println!(
        "演练 #{run_id}「{}」{}：总分 {}（满分 100）",
        report.run.scenario_title, report.run.mode_label, report.run.score
    );
    println!("各队：");
    for t in &report.teams {
        println!(
            "  {:<6} 事项 {:>4}  按时 {:>4}  超时完成 {:>4}  超时未完成 {:>4}  得分 {}",
            t.team_label, t.items, t.on_time, t.late, t.missed, t.score
        );
    }
    println!("各环节：");
    for s in &report.steps {
        println!(
            "  {}（{}，权重 {}）：{} 项，按时 {}，超时 {}，未完成 {}，未到期 {}，按时率 {}",
            s.step_label,
            s.team_label,
            s.weight,
            s.items,
            s.on_time,
            s.late,
            s.missed,
            s.pending,
            s.on_time_share
        );
    }
    println!("超时事项 {} 项（前 10 项）：", report.late_total);
    for l in report.late.iter().take(10) {
        println!(
            "  {} {} {}：{}",
            l.team_label, l.step_label, l.subject, l.why
        );
    }
    Ok(())
}

/// A deterministic number from the drill's seed and `n` (SplitMix64).
fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed
        .wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Inject {
    /// A positive of the screening is found: the case opens (index into the positives).
    Positive(usize),
    /// A key person is pushed to their grid as a lead (index into the key people).
    KeyPerson(usize),
    /// The epidemiologists report a case (网络直报).
    Report(i64),
    /// The epidemiologists list a contact of a case: (case index, contact index, secondary).
    Contact(usize, usize),
    /// The county files its first report of the outbreak.
    FirstReport,
    /// The hourly work: passes, leads landed, rooms, coaches, check-ins.
    Hour,
}

/// Plays the scenario's injects and (unattended) the simulated teams' answers.
pub struct DrillPlayer {
    app: App,
    clock: Arc<SimulationClock>,
    scenario: Scenario,
    simulated_teams: bool,
    people: Vec<ResidentRecord>,
    steps: Vec<(DateTime<Utc>, Inject)>,
    next: usize,
    cases: HashMap<usize, (i64, DateTime<Utc>)>,
    contacts: HashMap<usize, i64>,
    /// Leads seen open, and when first seen.
    leads_seen: HashMap<i64, DateTime<Utc>>,
    /// Trips on the road: (transfer, vehicle, measures, to a hospital).
    trips: Vec<(i64, i64, Vec<i64>, bool)>,
    coaches: Vec<i64>,
    ambulances: Vec<i64>,
    busy: Vec<i64>,
    hospital: i64,
    ops: Actor,
    epi: Actor,
    grid: Actor,
    first_case: Option<DateTime<Utc>>,
}

mod player;
