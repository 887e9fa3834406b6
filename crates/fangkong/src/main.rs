//! The fangkong binary: `serve`, `demo`, `import`, `export`, `user`, `verify`, `trust-list`, `bench`,
//! `drill`, `pings`.

mod bench;
mod bench_analytics;
mod bench_codes;
mod bench_deliveries;
mod bench_investigation;
mod bench_passes;
mod bench_reserves;
mod bench_sentinels;
mod bench_testing;
mod demo;
mod demo_clinics;
mod demo_codes;
mod demo_deliveries;
mod demo_drill;
mod demo_duty;
mod demo_isolation;
mod demo_leads;
mod demo_outbreak;
mod demo_passes;
mod demo_pharmacies;
mod demo_reports;
mod demo_reserves;
mod demo_supplies;
mod demo_testing;
mod demo_vaccination;
mod drill;
mod pings_cli;
mod serve;
mod verify;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use fangkong_app::auth::{NewUser, UserChange};
use fangkong_app::import::FileFormat;
use fangkong_app::{Actor, App, InstanceKind, SimulationClock, Store, SystemClock};
use fangkong_domain::role::Role;

#[derive(Parser)]
#[command(
    name = "fangkong",
    version,
    about = "防控指挥平台 fangkong — outbreak prevention-and-control command platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DatabaseArg {
    /// A SQLite data directory (created on first run) or a postgres:// URL.
    #[arg(long, env = "FANGKONG_DATABASE", default_value = "./fangkong-data")]
    database: String,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the platform (SQLite by default, PostgreSQL with a postgres:// URL).
    Serve {
        #[command(flatten)]
        db: DatabaseArg,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Mark the session cookie `Secure` (set this when users reach the server over HTTPS, e.g.
        /// behind a TLS proxy; leave it off on a plain-HTTP intranet, or nobody can log in).
        #[arg(long)]
        secure_cookies: bool,
        /// Training and drills only: run on a simulation clock starting at this Beijing time
        /// (`2021-01-02 08:00`, or a date for 08:00). A production database refuses it; a database
        /// first served with it is a sandbox from then on.
        #[arg(long)]
        clock: Option<String>,
        /// With `--clock`: simulated seconds per real second (60 = an hour a minute).
        #[arg(long, default_value_t = 1.0, requires = "clock")]
        speed: f64,
        /// The location pings' day files (big-data push). Default: `pings/` inside a SQLite data
        /// directory when it exists; without one the analyses do not run.
        #[arg(long)]
        pings: Option<PathBuf>,
    },
    /// Seed a simulated outbreak county (石家庄市藁城区) into a fresh database, print logins, serve it.
    Demo(demo::DemoArgs),
    /// Import residents from a CSV or XLSX file, as a user (for the audit trail and jurisdiction).
    Import {
        #[command(flatten)]
        db: DatabaseArg,
        /// The file (.csv or .xlsx).
        file: PathBuf,
        /// The username the import runs as.
        #[arg(long = "as")]
        as_user: String,
    },
    /// Export the residents of a region to CSV or XLSX (audited).
    Export {
        #[command(flatten)]
        db: DatabaseArg,
        /// Region code (e.g. 130109 for 藁城区).
        #[arg(long)]
        region: String,
        /// Output file; .xlsx writes Excel, anything else CSV.
        #[arg(long)]
        out: PathBuf,
        #[arg(long = "as")]
        as_user: String,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Verify a scanned QR text offline with only a trust list (exit status 1 when refused).
    Verify(verify::VerifyArgs),
    /// The consistency audit: checks that the modules agree (every open case red, every close
    /// contact handled, …) and prints what does not, in words (exit status 1 when something does not).
    Check {
        #[command(flatten)]
        db: DatabaseArg,
        /// Leave out what changed in the last N minutes (the background passes may still be carrying
        /// it); 0 on a quiet database.
        #[arg(long, default_value_t = 10)]
        settling_minutes: i64,
    },
    /// Print the trust list (issuers' public keys) that offline verifiers load.
    TrustList {
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Benchmarks (they report; they never assert).
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// An emergency drill (应急演练) in a sandbox database: a scenario played on the simulation
    /// clock, by simulated teams (--unattended, the baseline score) or by the teams in the pages;
    /// the scored after-action report at /drills/{id}. A production database is refused.
    Drill(drill::DrillArgs),
    /// Location pings (手机信令) and the big-data push (大数据推送): generate, import an operator's
    /// feed, and run risk-area visitors, spatio-temporal companions and e-fence breaches.
    Pings {
        #[command(subcommand)]
        command: pings_cli::PingsCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user: role is one of commander, epidemiologist, grid_worker, sampler, lab, checkpoint,
    /// isolation_site, transfer, supply, duty_officer, administrator, resident (or its Chinese name).
    Add {
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long)]
        username: String,
        /// Person or office name shown in pages.
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
        /// Region code of the jurisdiction (e.g. 130109 藁城区, 130109104 增村镇).
        #[arg(long)]
        jurisdiction: String,
        /// The password (or set FANGKONG_PASSWORD).
        #[arg(long, env = "FANGKONG_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// List the users.
    List {
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Disable a user: they can no longer log in, and every session and API token ends at once.
    Disable(UserTarget),
    /// Enable a disabled user again.
    Enable(UserTarget),
    /// Set a new password (the password rule applies); every session and token of the user ends.
    ResetPassword {
        #[command(flatten)]
        target: UserTarget,
        /// The new password (or set FANGKONG_PASSWORD).
        #[arg(long, env = "FANGKONG_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Change a user's role and jurisdiction; their sessions end so the new rights apply at once.
    SetRole {
        #[command(flatten)]
        target: UserTarget,
        #[arg(long)]
        role: String,
        #[arg(long)]
        jurisdiction: String,
    },
    /// Log a user out everywhere: every browser session and API token ends.
    LogoutAll(UserTarget),
}

#[derive(Args)]
struct UserTarget {
    #[command(flatten)]
    db: DatabaseArg,
    #[arg(long)]
    username: String,
}

/// Applies an account change from the command line (audited as the command line).
async fn change_user(target: &UserTarget, change: UserChange, done: &str) -> Result<()> {
    let app = open_app(&target.db.database).await?;
    match app
        .change_user_unchecked(&target.username, change, "command-line")
        .await
    {
        Err(fangkong_app::AppError::NotFound(_)) => bail!("用户 {} 不存在", target.username),
        other => other?,
    }
    println!("用户 {}：{done}", target.username);
    Ok(())
}

/// Opens the store, applies migrations and loads the divisions on first run.
/// The app on a database: on the real clock, or — a training sandbox that recorded where its
/// simulation clock stood (the demo's) — on a simulation clock resuming there at real speed.
async fn open_app(location: &str) -> Result<App> {
    let store = open_store(location).await?;
    let clock: Arc<dyn fangkong_app::Clock> = match App::recorded_simulated_now(&store).await? {
        Some(at) => Arc::new(SimulationClock::new(at, 1.0)),
        None => Arc::new(SystemClock),
    };
    app_on(store, clock).await
}

async fn open_app_with(location: &str, clock: Arc<dyn fangkong_app::Clock>) -> Result<App> {
    app_on(open_store(location).await?, clock).await
}

async fn open_store(location: &str) -> Result<Store> {
    Store::open(location)
        .await
        .with_context(|| format!("open database {location}"))
}

/// The app on `store`, with Hebei's divisions loaded into a new database.
async fn app_on(store: Store, clock: Arc<dyn fangkong_app::Clock>) -> Result<App> {
    let app = App::new(store, clock);
    if app.store_for_tools().count_regions().await? == 0 {
        app.load_divisions().await?;
    }
    Ok(app)
}

/// A simulation clock's `--speed`, refused outside what the clock runs at (it would clamp it).
fn check_speed(speed: f64) -> Result<()> {
    if !(0.0..=100_000.0).contains(&speed) {
        bail!("--speed 应在 0 到 100000 之间（1 = 真实速度，60 = 一分钟走一小时）");
    }
    Ok(())
}

/// The command-line operator acts as an existing user: their role and jurisdiction apply.
async fn actor_for(app: &App, username: &str) -> Result<Actor> {
    match app.actor_for_user(username, "command-line").await {
        Err(fangkong_app::AppError::NotFound(_)) => {
            bail!("用户 {username} 不存在（先用 fangkong user add 创建）")
        }
        other => Ok(other?),
    }
}

fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=error")),
        )
        .with_target(false)
        .init();
}

#[tokio::main]
async fn main() -> Result<()> {
    init_logging();
    match Cli::parse().command {
        Command::Serve {
            db,
            listen,
            secure_cookies,
            clock,
            speed,
            pings,
        } => {
            let app = match &clock {
                None => {
                    let app = open_app(&db.database).await?;
                    if app.clock_is_simulated() {
                        println!(
                            "培训、演练库：模拟时钟从上次停下的北京时间 {} 继续，真实速度（--clock 可另选起点和速度）",
                            fangkong_domain::time::beijing_label(app.now())
                        );
                    } else {
                        app.claim_instance_kind(InstanceKind::Production).await?;
                    }
                    app
                }
                Some(start) => {
                    let start = fangkong_domain::time::parse_beijing(start)
                        .map_err(|problem| anyhow::anyhow!("--clock：{problem}"))?;
                    check_speed(speed)?;
                    let app =
                        open_app_with(&db.database, Arc::new(SimulationClock::new(start, speed)))
                            .await?;
                    app.claim_instance_kind(InstanceKind::Sandbox).await?;
                    println!(
                        "模拟时钟：从北京时间 {} 起，{speed} 倍速（培训、演练库）",
                        fangkong_domain::time::beijing_label(start)
                    );
                    app
                }
            };
            let pings = pings.or_else(|| {
                let beside = PathBuf::from(&db.database).join("pings");
                (!db.database.starts_with("postgres") && beside.is_dir()).then_some(beside)
            });
            let app = match pings {
                Some(dir) => {
                    std::fs::create_dir_all(&dir)
                        .with_context(|| format!("pings directory {}", dir.display()))?;
                    println!("位置数据目录：{}（大数据推送分析自动运行）", dir.display());
                    app.with_pings_dir(dir)
                }
                None => app,
            };
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("listen on {listen}"))?;
            if app.store_for_tools().users_in(("", "~")).await?.is_empty() {
                println!(
                    "还没有任何用户：先创建管理员，例如\n  fangkong user add --database {} --username admin --name 系统管理员 --role administrator --jurisdiction 13 --password '至少10位的密码'",
                    db.database
                );
            }
            tracing::info!(
                backend = app.store_for_tools().backend_name(),
                "fangkong serving on http://{listen}"
            );
            // Runs a crash cut short are marked 已中断 now; one cut short minutes ago, by the pass.
            app.mark_interrupted_runs().await?;
            let config = fangkong_web::WebConfig {
                secure_cookies,
                ..Default::default()
            };
            serve::run(app, config, listener).await?;
        }
        Command::Demo(args) => demo::run(args).await?,
        Command::Import { db, file, as_user } => {
            let app = open_app(&db.database).await?;
            let actor = actor_for(&app, &as_user).await?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let report = app.import_residents(&actor, &file, &name).await?;
            println!(
                "导入 #{}：读取 {} 行，新增 {}，更新 {}，未变 {}，问题行 {}",
                report.import_id,
                report.rows_total,
                report.inserted,
                report.updated,
                report.unchanged,
                report.problem_rows
            );
            for p in report.problems.iter().take(50) {
                println!("  第 {} 行 {}：{}", p.row_number, p.column, p.message);
            }
            if report.problem_rows > 0 {
                println!("问题行可在网页“导入导出”中下载，修改后重新导入。");
            }
        }
        Command::Export {
            db,
            region,
            out,
            as_user,
        } => {
            let app = open_app(&db.database).await?;
            let actor = actor_for(&app, &as_user).await?;
            let format = if out.extension().is_some_and(|e| e == "xlsx") {
                FileFormat::Xlsx
            } else {
                FileFormat::Csv
            };
            let rows = app.export_residents(&actor, &region, format, &out).await?;
            println!("已导出 {rows} 人到 {}", out.display());
        }
        Command::User { command } => match command {
            UserCommand::Add {
                db,
                username,
                name,
                role,
                jurisdiction,
                password,
            } => {
                let app = open_app(&db.database).await?;
                let user = NewUser {
                    username,
                    display_name: name,
                    role: Role::parse(&role).map_err(anyhow::Error::msg)?,
                    jurisdiction: fangkong_app::parse_region_code(&jurisdiction)?,
                    password,
                };
                let id = app.create_user_unchecked(&user, "command-line").await?;
                println!(
                    "已创建用户 {}（编号 {id}，{}，辖区 {}）",
                    user.username,
                    user.role.label_zh(),
                    user.jurisdiction.as_str()
                );
            }
            UserCommand::List { db } => {
                let app = open_app(&db.database).await?;
                for user in app.store_for_tools().users_in(("", "~")).await? {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        user.username,
                        user.display_name,
                        user.role.code(),
                        user.jurisdiction,
                        if user.disabled { "已停用" } else { "正常" }
                    );
                }
            }
            UserCommand::Disable(target) => {
                change_user(&target, UserChange::Disable, "已停用，所有会话和令牌已失效").await?
            }
            UserCommand::Enable(target) => {
                change_user(&target, UserChange::Enable, "已启用").await?
            }
            UserCommand::ResetPassword { target, password } => {
                change_user(
                    &target,
                    UserChange::ResetPassword(password),
                    "密码已重置，所有会话和令牌已失效",
                )
                .await?
            }
            UserCommand::SetRole {
                target,
                role,
                jurisdiction,
            } => {
                let change = UserChange::SetRole {
                    role: Role::parse(&role).map_err(anyhow::Error::msg)?,
                    jurisdiction: fangkong_app::parse_region_code(&jurisdiction)?,
                };
                change_user(&target, change, "角色和辖区已修改，所有会话已失效").await?
            }
            UserCommand::LogoutAll(target) => {
                change_user(
                    &target,
                    UserChange::LogoutEverywhere,
                    "所有会话和令牌已失效",
                )
                .await?
            }
        },
        Command::Verify(args) => {
            if !verify::run(&args)? {
                std::process::exit(1);
            }
        }
        Command::Check {
            db,
            settling_minutes,
        } => {
            let app = open_app(&db.database).await?;
            let report = app
                .check_consistency(chrono::Duration::minutes(settling_minutes.max(0)))
                .await?;
            println!("{report}");
            if !report.is_clean() {
                std::process::exit(1);
            }
        }
        Command::TrustList { db } => {
            let app = open_app(&db.database).await?;
            println!("{}", app.trust_list_json().await?);
        }
        Command::Bench { command } => bench::run(command).await?,
        Command::Drill(args) => drill::run(args).await?,
        Command::Pings { command } => {
            tokio::task::spawn_blocking(move || pings_cli::run(command)).await??
        }
    }
    Ok(())
}
