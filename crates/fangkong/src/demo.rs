//! `fangkong demo`: the real divisions of 石家庄市藁城区 with a generated population, one user per role,
//! some door-to-door visits, served on localhost.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use fangkong_app::auth::NewUser;
use fangkong_app::door_visits::DoorVisitForm;
use fangkong_app::{App, InstanceKind, SimulationClock, Store};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

use fangkong_domain::time::beijing_label;
use fangkong_seed::{region_path_name, seed_population};

use crate::demo_outbreak::{OutbreakPlayer, Scene, Timeline};

/// 藁城区: where the January 2021 Shijiazhuang outbreak began (小果庄村, 增村镇).
const GAOCHENG: &str = "130109";
/// Residents of 藁城区 at the end of 2021.
const GAOCHENG_RESIDENTS: u64 = 737_580;
pub const DEMO_PASSWORD: &str = "fangkong2021";

#[derive(Args)]
pub struct DemoArgs {
    /// Where the demo database goes (wiped and recreated on every run), or a postgres:// URL
    /// (its fangkong tables are emptied first).
    #[arg(long, default_value = "./fangkong-demo")]
    database: String,
    /// Residents to generate (the real figure by default).
    #[arg(long, default_value_t = GAOCHENG_RESIDENTS)]
    residents: u64,
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Seed and exit without serving (for scripts).
    #[arg(long)]
    no_serve: bool,
    /// Simulated seconds per real second while serving (60: an hour of the outbreak a minute).
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
    /// The outbreak's random seed (the same seed plays the same outbreak).
    #[arg(long, default_value_t = 2021)]
    seed: u64,
    /// Run the consistency audit every simulated morning and fail when a day's does not hold.
    #[arg(long)]
    audit_daily: bool,
}

pub async fn run(args: DemoArgs) -> Result<()> {
    crate::check_speed(args.speed)?;
    let store = if args.database.starts_with("postgres") {
        let store = Store::open(&args.database).await?;
        store.clear_all_data().await?;
        store
    } else {
        let dir = PathBuf::from(&args.database);
        if dir.join("fangkong.sqlite").exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("remove old demo {}", dir.display()))?;
        }
        Store::open_sqlite_dir(&dir).await?
    };
    // The demo is a sandbox: its pages carry the training band, and it runs on a simulation clock.
    // Seeding moves the clock through the outbreak's history (standing still between steps);
    // serving lets it run at `--speed` from the story's present, and the outbreak plays on.
    let timeline = Timeline::gaocheng_2021();
    let clock = Arc::new(SimulationClock::new(
        timeline.discovered - chrono::Duration::days(2),
        0.0,
    ));
    // The operator's location pings live beside the database (a PostgreSQL demo keeps them in the
    // temporary directory); they are written once the outbreak is simulated.
    let pings_dir = if args.database.starts_with("postgres") {
        let dir = std::env::temp_dir().join("fangkong-demo-pings");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("remove {}", dir.display()))?;
        }
        dir
    } else {
        PathBuf::from(&args.database).join("pings")
    };
    let app = App::new(store, clock.clone()).with_pings_dir(pings_dir.clone());
    app.claim_instance_kind(InstanceKind::Sandbox).await?;
    println!("载入河北省区划……");
    app.load_divisions().await?;

    let county = RegionCode::parse(GAOCHENG).map_err(anyhow::Error::msg)?;
    println!("生成藁城区 {} 名居民并通过导入流程入库……", args.residents);
    let csv_dir = tempfile::tempdir()?;
    let seeded = seed_population(
        &app,
        &county,
        args.residents,
        2021,
        &csv_dir.path().join("population.csv"),
    )
    .await?;
    println!(
        "  {} 个网格，{} 人，生成 {:.1} 秒，导入 {:.1} 秒（{:.0} 人/秒），问题行 {}",
        seeded.plan.grids.len(),
        seeded.report.inserted,
        seeded.generate_time.as_secs_f64(),
        seeded.import_time.as_secs_f64(),
        seeded.report.inserted as f64 / seeded.import_time.as_secs_f64().max(0.001),
        seeded.report.problem_rows,
    );

    // The grid worker's grid: the first grid of 小果庄村 (增村镇), where the outbreak began.
    let (lower, upper) = county.subtree_range();
    let villages = app.store_for_tools().villages_in(&lower, &upper).await?;
    let village = villages
        .iter()
        .find(|v| v.name.contains("小果庄"))
        .or(villages.first())
        .context("no village in 藁城区")?;
    let grid_code = seeded
        .plan
        .grids
        .iter()
        .find(|g| g.village_code == village.code)
        .map(|g| g.code.clone())
        .context("no grid in the chosen village")?;
    let grid = RegionCode::parse(&grid_code).map_err(anyhow::Error::msg)?;
    let township = RegionCode::parse(&grid_code[..9]).map_err(anyhow::Error::msg)?;

    let users = [
        ("commander", "藁城区指挥部", Role::Commander, county.clone()),
        (
            "epidemiologist",
            "流调队员 李明",
            Role::Epidemiologist,
            county.clone(),
        ),
        ("gridworker", "网格员 王芳", Role::GridWorker, grid.clone()),
        (
            "sampler",
            "增村镇采样点 刘强",
            Role::Sampler,
            township.clone(),
        ),
        ("lab", "藁城区检测中心", Role::Lab, county.clone()),
        (
            "checkpoint",
            "卡口查验 赵军",
            Role::Checkpoint,
            county.clone(),
        ),
        (
            "isolation",
            "隔离点 陈静",
            Role::IsolationSite,
            county.clone(),
        ),
        ("transfer", "转运专班 孙伟", Role::Transfer, county.clone()),
        ("supply", "物资保障组 周丽", Role::Supply, county.clone()),
        ("duty", "值班员 吴刚", Role::DutyOfficer, county.clone()),
        (
            "clinic",
            "藁城区人民医院发热门诊 郑敏",
            Role::Clinic,
            county.clone(),
        ),
        (
            "pharmacy",
            "增村镇仁和大药房 冯立",
            Role::Pharmacy,
            township.clone(),
        ),
        (
            "vaccinator",
            "增村镇卫生院接种点 何静",
            Role::Vaccinator,
            township.clone(),
        ),
        (
            "admin",
            "系统管理员",
            Role::Administrator,
            RegionCode::parse("13").map_err(anyhow::Error::msg)?,
        ),
        ("resident", "居民 张华", Role::Resident, grid.clone()),
    ];
    for (username, name, role, jurisdiction) in &users {
        let user = NewUser {
            username: username.to_string(),
            display_name: name.to_string(),
            role: *role,
            jurisdiction: jurisdiction.clone(),
            password: DEMO_PASSWORD.to_string(),
        };
        app.create_user_unchecked(&user, "demo").await?;
    }
    // A drill plays the 2021 outbreak under the rules in force now: the province's administrator
    // puts the Hebei code table in force (the tracing regime is the ninth edition by default).
    app.set_code_policy(&app.actor_for_user("admin", "demo").await?, "hebei-2022-11")
        .await?;
    app.create_grids_unchecked(
        &[fangkong_app::regions::grid_record(
            &grid_code,
            &village.code,
            "",
        )],
        &[fangkong_app::records::GridWorkerRecord {
            grid_code: grid_code.clone(),
            name: "王芳".into(),
            phone: fangkong_domain::phone::PhoneNumber::parse("13903110001").ok(),
            username: Some("gridworker".into()),
        }],
    )
    .await?;
    // The morning the index case reaches the fever clinic: grid workers knock on doors, the
    // county readies its isolation sites, hospitals and vehicles.
    clock.set(timeline.discovered - chrono::Duration::hours(3));
    let visited = seed_door_visits(&app, &grid).await?;
    clock.set(timeline.discovered - chrono::Duration::hours(2));
    let facilities = crate::demo_isolation::seed_facilities(&app, &county).await?;

    // The resident login belongs to someone of the grid the outbreak spares.
    let grid_people = app
        .store_for_tools()
        .residents_in_grid(&grid_code, 0, 10_000)
        .await?;

    println!(
        "疫情推演：{} 起，首例病例在小果庄村发热门诊就诊，按模拟时钟推进到 {}……",
        beijing_label(timeline.discovered),
        beijing_label(timeline.present)
    );
    let started = std::time::Instant::now();
    let mut outbreak_grids: Vec<String> = seeded
        .plan
        .grids
        .iter()
        .filter(|g| g.code.starts_with(township.as_str()))
        .map(|g| g.code.clone())
        .collect();
    outbreak_grids.sort();
    let mut player = OutbreakPlayer::new(
        &app,
        clock.clone(),
        Scene {
            grids: &outbreak_grids,
            index_village: &village.code,
            spare: grid_people.first().map(|p| p.id),
            facilities: facilities.clone(),
            seed: args.seed,
        },
        &timeline,
    )
    .await?;
    player.audit_daily = args.audit_daily;
    let village_refs: Vec<fangkong_sim::VillageRef> = villages
        .iter()
        .map(|v| fangkong_sim::VillageRef {
            code: v.code.clone(),
            name: v.name.clone(),
            township_code: v.code[..9].to_string(),
            is_community: v.is_community,
        })
        .collect();
    let residents_per_village: Vec<u64> = village_refs
        .iter()
        .map(|v| {
            seeded
                .plan
                .grids
                .iter()
                .filter(|g| g.village_code == v.code)
                .map(|g| u64::from(g.residents))
                .sum()
        })
        .collect();
    let written = player
        .write_pings(
            &app,
            &pings_dir,
            &village_refs,
            &residents_per_village,
            timeline.present - chrono::Duration::days(14),
            timeline.present,
        )
        .await?;
    println!(
        "  位置数据：{} 天 {} 条信令（{}），{} 个网格对应到村（社区）",
        written.days,
        written.pings,
        pings_dir.display(),
        written.cells
    );
    player.play_until(timeline.present).await?;
    if args.audit_daily {
        let failed: Vec<_> = player
            .daily_audits
            .iter()
            .filter(|(_, broken)| !broken.is_empty())
            .collect();
        println!(
            "  每日一致性检查：{} 天，{} 天有不符",
            player.daily_audits.len(),
            failed.len()
        );
        for (day, broken) in &failed {
            println!("    {day}：{}", broken.join("；"));
        }
        anyhow::ensure!(failed.is_empty(), "每日一致性检查有不符（见上）");
    }
    let infected = player.infected_by(timeline.present + chrono::Duration::days(30));
    if let (Some(user), Some(person)) = (
        app.store_for_tools().user_by_username("resident").await?,
        grid_people.iter().find(|p| !infected.contains(&p.id)),
    ) {
        app.store_for_tools()
            .link_user_to_resident(user.id, person.id)
            .await?;
    }
    duty_story(&app, &county, &township).await?;
    let clinics = crate::demo_clinics::clinics_story(
        &app,
        &app.actor_for_user("commander", "demo").await?,
        &app.actor_for_user("clinic", "demo").await?,
        &app.actor_for_user("lab", "demo").await?,
        &county,
        &township,
    )
    .await?;
    println!(
        "  发热门诊：藁城区人民医院发热门诊和 1 个乡镇发热诊室，{} 名患者分处分诊、接诊、筛查、留观、转诊、离院各环节（见 /warning/clinics）",
        clinics.patients
    );
    let pharmacies = crate::demo_pharmacies::seed(&app, &township).await?;
    let figures = app
        .store_for_tools()
        .pharmacy_day_figures(township.as_str(), &app.today().to_string())
        .await?;
    println!(
        "  零售药店：{} 家药店近6天实名登记“四类药品”销售 {} 笔（证件无效已标记 {} 笔），{} 名购药人待检测，{} 名超时未检已转线索（见 /warning/pharmacies）",
        pharmacies.pharmacies,
        pharmacies.sales,
        pharmacies.flagged,
        figures.awaiting_test,
        figures.overdue_to_leads
    );
    let (drill, drill_score) = crate::demo_drill::seed_drill(&app).await?;
    println!("  应急演练：小型演练无人值守基线 {drill_score} 分（评估报告见 /drills/{drill}）");
    let played = player.stats.clone();
    println!(
        "  已发现感染者 {} 例（至此模拟共感染 {} 人，其余尚未发现），{} 名接触者已判定，{} 个风险区域，{} 趟转运，入住隔离点 {} 人次，收治 {} 人，解除 {} 人；{} 个隔离点 {} 间房；用时 {:.1} 秒",
        played.cases,
        player.infected_by(timeline.present).len(),
        played.contacts,
        played.areas,
        played.trips,
        played.checked_in,
        played.admitted,
        played.released,
        facilities.sites.len(),
        facilities.rooms,
        started.elapsed().as_secs_f64()
    );

    println!("核酸检测：第3轮全员核酸检测（12小时前开始，分三批采样、装箱转运、回传结果）……");
    let started = std::time::Instant::now();
    let round = crate::demo_testing::seed_round(
        &app,
        &county,
        &village.code,
        "增村镇采样点 刘强",
        "藁城区检测中心",
    )
    .await?;
    let antigen = crate::demo_testing::seed_antigen(&app, &grid).await?;
    println!(
        "  第{}轮：{} 人已采样，{} 支试管，{} 个混采阳性管待复核；网格内 {} 份抗原自测；用时 {:.1} 秒",
        round.round_id,
        round.bound,
        round.tubes,
        round.positives,
        antigen,
        started.elapsed().as_secs_f64()
    );

    println!("健康码：赋码、卡口与场所码……");
    let started = std::time::Instant::now();
    let codes = crate::demo_codes::seed(&app, &county, &village.code).await?;
    let overview = app
        .code_overview(&app.actor_for_user("commander", "demo").await?, None)
        .await?;
    println!(
        "  {} 人另由其他渠道赋码（红码共 {}，黄码 {}，弹窗 {}），{} 个卡口已查验 {} 人次，{} 个场所码；用时 {:.1} 秒",
        codes.facts,
        overview.red,
        overview.yellow,
        overview.popups,
        codes.checkpoints.len(),
        codes.passages,
        codes.venues,
        started.elapsed().as_secs_f64()
    );

    println!("落地查人：线索、协查函、大数据推送……");
    let started = std::time::Instant::now();
    let leads = crate::demo_leads::seed_leads(&app, &county).await?;
    println!(
        "  {} 条线索（其中流调判定 {} 条），{} 条已超过24小时未落地，24小时落地率 {}，大数据推送第{}批（/leads/import）；用时 {:.1} 秒",
        leads.leads,
        leads.from_investigation,
        leads.overdue,
        leads.landing_rate,
        leads.push_import_id,
        started.elapsed().as_secs_f64()
    );

    println!("物资保障与民生：储备、保供通行证、配送、聚集性活动、疫苗接种、冷链食品……");
    let started = std::time::Instant::now();
    crate::demo_supplies::story(
        &app,
        &crate::demo_supplies::Place {
            county: &county,
            township: &township,
            village: &village.code,
            grid: &grid,
        },
    )
    .await?;
    println!("  用时 {:.1} 秒", started.elapsed().as_secs_f64());

    // The audit over the story just seeded: what it prints is what a commander comparing the
    // pages would find.
    println!("一致性检查（fangkong check）：");
    // What the server's background passes would carry in their first seconds, carried now.
    app.try_run_event_passes().await?;
    app.try_run_code_events().await?;
    app.try_run_requested_recompute().await?;
    app.record_simulated_now().await?;
    let report = app.check_consistency(chrono::Duration::zero()).await?;
    for line in report.to_string().lines() {
        println!("  {line}");
    }

    let grid_name = region_path_name(&app, &grid).await?;
    println!();
    println!(
        "演示数据已就绪：藁城区 {} 人。登录账号（密码均为 {DEMO_PASSWORD}）：",
        seeded.report.inserted
    );
    for (username, name, role, jurisdiction) in &users {
        let place = app.region_name(jurisdiction).await?;
        println!(
            "  {username:<15} {:<8} {name}（辖区：{place}）",
            role.label_zh()
        );
    }
    println!("网格员的网格：{grid_name}（{grid_code}），已走访 {visited} 户，其余户在敲门台账中。");
    println!(
        "模拟时钟：现在是 {}（北京时间），服务期间以 {} 倍速推进，疫情继续发展（新病例、密接、转运、入住）。",
        beijing_label(timeline.present),
        args.speed
    );
    println!(
        "核酸检测：指挥部看 /testing/rounds/{}；采样员在 /testing 选采样点扫码绑定；检测中心在 /testing/results 上传结果；居民 resident 看“我的核酸结果”。",
        round.round_id
    );
    println!(
        "健康码：指挥部看 /codes 与 /risk-areas（公开名单 /public/risk-areas）；卡口 checkpoint 在 /checkpoints 扫码或输入身份证查验；居民 resident 看 /me/code；流调队员在 /itinerary 查行程。"
    );
    println!(
        "流调：流调队员 epidemiologist 在 /cases 登记病例与密接，/chains 看传播链，/cases/bulletin 生成公布文字。"
    );
    println!(
        "落地查人：指挥部在 /leads 看各地超时线索和24小时落地率；网格员 gridworker 在 /leads 处理本网格线索；居民 resident 在 /me/self-report 主动报告。"
    );
    println!(
        "隔离转运：指挥部看 /isolation；隔离点 isolation 管理房间、入住、体温和检测；转运专班 transfer 在 /isolation/allocate 分配房间、在 /transfers 派车；网格员在 /home-monitoring 记录居家打卡。"
    );
    println!(
        "应急演练：指挥部看 /drills（演练记录、内置演练脚本）与 /drills/{drill}（可打印的总结评估报告）；新演练用 fangkong drill --db 演练库 --scenario small。"
    );
    println!(
        "大数据推送：指挥部、流调队员看 /analytics（报告病例后自动找时空伴随者、划定风险区域后找到访人员、每天核查居家管控人员的电子围栏），每个任务的结果页列出派往网格的线索；网格员在 /leads 处理“大数据推送”线索。"
    );
    for line in crate::demo_supplies::usage() {
        println!("{line}");
    }
    if args.no_serve {
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listen on {}", args.listen))?;
    println!();
    println!("打开 http://{}/ 开始使用（Ctrl+C 结束）。", args.listen);
    // Runs a crash cut short are marked 已中断 now; one cut short minutes ago, by the pass.
    app.mark_interrupted_runs().await?;
    crate::demo_codes::keep_checking(app.clone(), codes.checkpoints.clone(), county.clone());
    clock.set(timeline.present);
    clock.set_speed(args.speed);
    keep_playing(player);
    crate::serve::run(app, Default::default(), listener).await?;
    Ok(())
}

/// Plays the outbreak on as the served clock runs: every two seconds, the steps whose moment has
/// come (a step the app refuses is logged by the player and skipped).
fn keep_playing(mut player: OutbreakPlayer) {
    tokio::spawn(async move {
        for round in 0u64.. {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            player.play_due().await;
            // Where the story stands, for `serve` and `check` on this database later.
            if round % 15 == 0
                && let Err(e) = player.app().record_simulated_now().await
            {
                tracing::warn!(error = %e, "simulated time not recorded");
            }
        }
    });
}

/// Visits about 60% of the grid's households, some with arrivals from elsewhere.
async fn seed_door_visits(app: &App, grid: &RegionCode) -> Result<usize> {
    let actor =
        fangkong_seed::seed_actor_as(fangkong_domain::role::Role::Administrator, "网格员 王芳");
    let households = app
        .store_for_tools()
        .households_in_grid(grid.as_str(), "", 10_000)
        .await?;
    let mut visited = 0;
    for (index, household) in households.iter().enumerate() {
        if index % 5 >= 3 {
            continue;
        }
        let arrivals = usize::from(index % 17 == 0);
        let form = DoorVisitForm {
            present_count: household.members.to_string(),
            away_count: "0".into(),
            arrivals_count: arrivals.to_string(),
            arrivals_note: if arrivals > 0 {
                "1月1日自石家庄市区返乡".into()
            } else {
                String::new()
            },
            untested_count: usize::from(index % 11 == 0).to_string(),
            unvaccinated_count: usize::from(index % 7 == 0).to_string(),
            note: String::new(),
        };
        app.record_door_visit(&actor, &household.number, &form)
            .await?;
        visited += 1;
    }
    Ok(visited)
}

/// The command office's duty at the story's present: rosters for the county and two townships
/// for a week from today, and this morning's spot checks by the county — one township answers
/// late (it lands on the accountability list), the other in time.
async fn duty_story(app: &App, county: &RegionCode, township: &RegionCode) -> Result<()> {
    let commander = app.actor_for_user("commander", "demo").await?;
    let other = app
        .store_for_tools()
        .region_children(county.as_str())
        .await?
        .into_iter()
        .map(|r| r.code)
        .find(|code| code != township.as_str())
        .context("a second township")?;
    let offices = [county.as_str(), township.as_str(), other.as_str()];
    let seeded = crate::demo_duty::seed_rosters(app, &commander, &offices, app.today(), 7).await?;
    crate::demo_duty::spot_check(app, &commander, township.as_str(), Some(12), true).await?;
    crate::demo_duty::spot_check(app, &commander, &other, Some(2), true).await?;
    println!(
        "  值班：{} 个指挥部排班 7 天（{} 名值班员），今晨抽查 2 个乡镇值班室，1 个超时应答（见 /command/duty/accountability）",
        offices.len(),
        seeded.users_created
    );
    Ok(())
}
