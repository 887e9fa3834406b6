//! Fixture of the application story tests: a fresh database on either backend, the real divisions,
//! a few grids in two townships of 藁城区, users of several roles, and a small known population.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use fangkong_app::auth::NewUser;
use fangkong_app::import::ImportReport;
use fangkong_app::{Actor, App, FixedClock, Store};
use fangkong_domain::ids::gb11643_check_digit;
use fangkong_domain::region::RegionCode;
use fangkong_domain::resident_row::COLUMNS;
use fangkong_domain::role::Role;
use fangkong_store::{GridWorkerRecord, RegionRecord};

/// The environment variable naming the PostgreSQL server the tests may create databases on.
/// Declares a story as two tests: on SQLite, and on a brand-new PostgreSQL database when
/// FANGKONG_TEST_POSTGRES is set (otherwise the PostgreSQL test says it was not run).
#[macro_export]
macro_rules! story {
    ($story:ident, $sqlite:ident, $postgres:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            $story($crate::world::Backend::Sqlite).await;
        }

        #[tokio::test]
        async fn $postgres() {
            if $crate::postgres_url().is_none() {
                eprintln!(
                    "{} was not run: {} is not set",
                    stringify!($postgres),
                    $crate::POSTGRES_ENV
                );
                return;
            }
            $story($crate::world::Backend::Postgres).await;
        }
    };
}

pub use crate::POSTGRES_ENV;

/// 2022-11-20 10:00 in Beijing.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 11, 20, 2, 0, 0)
        .single()
        .expect("valid time")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL URL when the PostgreSQL stories should run.
pub fn postgres_url() -> Option<String> {
    crate::postgres_url()
}

/// Keeps the test's database alive; drops the PostgreSQL database at the end.
pub struct Guard {
    /// The app's clock: tests move it with `advance`.
    pub clock: Arc<FixedClock>,
    dir: tempfile::TempDir,
    _postgres: Option<crate::ScratchDatabase>,
}

impl Guard {
    /// A scratch directory for files the test writes (imports, exports).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// An App on a brand-new, empty database of `backend`, on a [`FixedClock`] at [`start_time`].
/// On PostgreSQL this panics (the test fails) when the server named by FANGKONG_TEST_POSTGRES cannot
/// be reached; callers decide beforehand whether the PostgreSQL story runs at all.
pub async fn fresh_app(backend: Backend) -> (App, Guard) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (store, postgres) = match backend {
        Backend::Sqlite => {
            let store = crate::sqlite_store_in(&dir.path().join("data")).await;
            (store, None)
        }
        Backend::Postgres => {
            let database = crate::ScratchDatabase::migrated().await;
            let store = Store::open_postgres(database.url())
                .await
                .unwrap_or_else(|e| panic!("open the new PostgreSQL database: {e}"));
            (store, Some(database))
        }
    };
    let clock = Arc::new(FixedClock::new(start_time()));
    let app = App::new(store, clock.clone());
    (
        app,
        Guard {
            clock,
            dir,
            _postgres: postgres,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Places
// ---------------------------------------------------------------------------------------------

pub const COUNTY: &str = "130109"; // 藁城区
pub const TOWNSHIP_A: &str = "130109100"; // 廉州镇
pub const TOWNSHIP_B: &str = "130109110"; // 增村镇
pub const VILLAGE_A1: &str = "130109100013"; // 西城街社区
pub const VILLAGE_A2: &str = "130109100014"; // 文源社区
pub const VILLAGE_B1: &str = "130109110201"; // 增村
pub const GRID_A1: &str = "130109100013001";
pub const GRID_A2: &str = "130109100014001";
pub const GRID_B1: &str = "130109110201001";
/// A well-formed grid code under a real village that was never created.
pub const GRID_UNKNOWN: &str = "130109100013099";

pub const PASSWORD: &str = "mima-12345678";

/// Grid workers (name, phone) per grid, as created by [`seed`].
pub const GRID_WORKERS: [(&str, &str, &str); 3] = [
    (GRID_A1, "郑网格", "13811112222"),
    (GRID_A2, "钱网格", "13833334444"),
    (GRID_B1, "冯网格", "13855556666"),
];

/// The actors of the seeded world, each logged in.
pub struct World {
    /// Administrator of 藁城区.
    pub admin: Actor,
    /// Commander of township A (廉州镇).
    pub commander_a: Actor,
    /// Grid worker with jurisdiction township A.
    pub worker_a: Actor,
    /// Grid worker with jurisdiction township B (增村镇).
    pub worker_b: Actor,
    /// A testing lab of 藁城区.
    pub lab: Actor,
    /// A resident-role user.
    pub resident_user: Actor,
    /// A sampling-table recorder of township A.
    pub sampler_a: Actor,
}

/// Loads the divisions, creates three grids (two in township A, one in township B) with their
/// workers, and the users of [`World`], logged in from 127.0.0.1.
pub async fn seed(app: &App) -> World {
    app.load_divisions().await.expect("load divisions");
    let grid = |code: &str, village: &str, name: &str| RegionRecord {
        code: code.to_string(),
        name: name.to_string(),
        level: 5,
        parent_code: Some(village.to_string()),
        is_community: false,
    };
    let grids = [
        grid(GRID_A1, VILLAGE_A1, "西城街第一网格"),
        grid(GRID_A2, VILLAGE_A2, "文源第一网格"),
        grid(GRID_B1, VILLAGE_B1, "增村第一网格"),
    ];
    let workers: Vec<GridWorkerRecord> = GRID_WORKERS
        .iter()
        .map(|(grid, name, phone)| GridWorkerRecord {
            grid_code: grid.to_string(),
            name: (*name).into(),
            phone: fangkong_domain::phone::PhoneNumber::parse(phone).ok(),
            username: None,
        })
        .collect();
    app.create_grids_unchecked(&grids, &workers)
        .await
        .expect("create grids");

    let users = [
        ("admin", "区管理员", Role::Administrator, COUNTY),
        ("commander_a", "廉州镇指挥部", Role::Commander, TOWNSHIP_A),
        ("worker_a", "廉州镇网格员", Role::GridWorker, TOWNSHIP_A),
        ("worker_b", "增村镇网格员", Role::GridWorker, TOWNSHIP_B),
        ("lab", "藁城区检测机构", Role::Lab, COUNTY),
        ("resident", "普通居民", Role::Resident, COUNTY),
        ("sampler_a", "廉州镇采样员", Role::Sampler, TOWNSHIP_A),
    ];
    for (username, display_name, role, jurisdiction) in users {
        app.create_user_unchecked(
            &NewUser {
                username: username.to_string(),
                display_name: display_name.to_string(),
                role,
                jurisdiction: RegionCode::parse(jurisdiction).expect("region code"),
                password: PASSWORD.to_string(),
            },
            "test",
        )
        .await
        .unwrap_or_else(|e| panic!("create user {username}: {e}"));
    }
    World {
        admin: login(app, "admin").await,
        commander_a: login(app, "commander_a").await,
        worker_a: login(app, "worker_a").await,
        worker_b: login(app, "worker_b").await,
        lab: login(app, "lab").await,
        resident_user: login(app, "resident").await,
        sampler_a: login(app, "sampler_a").await,
    }
}

pub async fn login(app: &App, username: &str) -> Actor {
    app.login(username, PASSWORD, "127.0.0.1")
        .await
        .unwrap_or_else(|e| panic!("login {username}: {e}"))
        .actor
}

// ---------------------------------------------------------------------------------------------
// People
// ---------------------------------------------------------------------------------------------

/// A valid mainland ID number: 藁城区 prefix, the birth date, a 3-digit sequence (odd = male).
pub fn id_number(birth_yyyymmdd: &str, sequence: u32) -> String {
    let first17 = format!("{COUNTY}{birth_yyyymmdd}{sequence:03}");
    let check = gb11643_check_digit(&first17).expect("17 digits");
    format!("{first17}{check}")
}

/// The same number with a wrong check digit.
pub fn with_wrong_check_digit(id: &str) -> String {
    let right = id.chars().last().expect("not empty");
    let wrong = if right == '0' { '1' } else { '0' };
    format!("{}{wrong}", &id[..17])
}

/// The ID masked as pages show it: region prefix, 8 stars, last 4.
pub fn masked_id(id: &str) -> String {
    format!("{}********{}", &id[..6], &id[14..])
}

/// One import row in [`COLUMNS`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub sex: String,
    pub birth_date: String,
    pub phone: String,
    pub address: String,
    pub household: String,
    pub relation: String,
    pub grid: String,
    pub key_groups: String,
}

impl Row {
    /// A mainland resident born on `birth` (YYYYMMDD); sex follows the sequence's parity.
    pub fn person(
        name: &str,
        birth: &str,
        sequence: u32,
        phone: &str,
        household: &str,
        relation: &str,
        grid: &str,
    ) -> Row {
        Row {
            name: name.to_string(),
            id_type: "居民身份证".to_string(),
            id_number: id_number(birth, sequence),
            sex: if sequence % 2 == 1 { "男" } else { "女" }.to_string(),
            birth_date: format!("{}-{}-{}", &birth[..4], &birth[4..6], &birth[6..]),
            phone: phone.to_string(),
            address: format!("藁城区{household}号院"),
            household: household.to_string(),
            relation: relation.to_string(),
            grid: grid.to_string(),
            key_groups: String::new(),
        }
    }

    pub fn fields(&self) -> [String; 11] {
        [
            self.name.clone(),
            self.id_type.clone(),
            self.id_number.clone(),
            self.sex.clone(),
            self.birth_date.clone(),
            self.phone.clone(),
            self.address.clone(),
            self.household.clone(),
            self.relation.clone(),
            self.grid.clone(),
            self.key_groups.clone(),
        ]
    }
}

/// The known population: 8 residents in 4 households of township A (grids A1 and A2) and
/// 3 residents in 2 households of township B (grid B1).
pub fn population() -> Vec<Row> {
    let mut rows = vec![
        Row::person(
            "王建国",
            "19650312",
            11,
            "13900000001",
            "A1-0001",
            "户主",
            GRID_A1,
        ),
        Row::person(
            "王秀英",
            "19680521",
            22,
            "13900000002",
            "A1-0001",
            "配偶",
            GRID_A1,
        ),
        Row::person(
            "王小明",
            "19951103",
            33,
            "13900000003",
            "A1-0001",
            "子女",
            GRID_A1,
        ),
        Row::person(
            "李华",
            "19800101",
            41,
            "13900000004",
            "A1-0002",
            "户主",
            GRID_A1,
        ),
        Row::person("李娜", "20100615", 52, "", "A1-0002", "子女", GRID_A1),
        Row::person(
            "张伟",
            "19720909",
            61,
            "13900000006",
            "A1-0003",
            "户主",
            GRID_A1,
        ),
        Row::person(
            "赵敏",
            "19881212",
            72,
            "13900000007",
            "A2-0001",
            "户主",
            GRID_A2,
        ),
        Row::person(
            "刘洋",
            "19900228",
            81,
            "13900000008",
            "A2-0001",
            "配偶",
            GRID_A2,
        ),
        Row::person(
            "王大力",
            "19700707",
            91,
            "13900000009",
            "B1-0001",
            "户主",
            GRID_B1,
        ),
        Row::person(
            "孙丽",
            "19750808",
            102,
            "13900000010",
            "B1-0001",
            "配偶",
            GRID_B1,
        ),
        Row::person(
            "周杰",
            "19601010",
            113,
            "13900000011",
            "B1-0002",
            "户主",
            GRID_B1,
        ),
    ];
    rows[0].key_groups = "冷链、医务".to_string();
    rows
}

pub fn population_in(township: &str) -> Vec<Row> {
    population()
        .into_iter()
        .filter(|r| r.grid.starts_with(township))
        .collect()
}

/// Writes an import CSV: the [`COLUMNS`] header, then the rows.
pub fn write_csv(path: &Path, rows: &[Row]) {
    let mut writer = csv::Writer::from_path(path).expect("create CSV");
    writer.write_record(COLUMNS).expect("header");
    for row in rows {
        writer.write_record(row.fields()).expect("row");
    }
    writer.flush().expect("flush CSV");
}

/// Imports the whole [`population`] as the county administrator; every row must land.
pub async fn import_population(app: &App, guard: &Guard, admin: &Actor) -> ImportReport {
    let path = guard.path("population.csv");
    write_csv(&path, &population());
    let report = app
        .import_residents(admin, &path, "population.csv")
        .await
        .expect("import population");
    assert_eq!(
        report.problem_rows, 0,
        "the seed population has problems: {:?}",
        report.problems
    );
    assert_eq!(report.inserted, population().len() as i64);
    report
}

/// The database id of the resident with this ID number (looked up as the administrator).
pub async fn resident_id(app: &App, admin: &Actor, id_number: &str) -> i64 {
    let found = app
        .search_residents(admin, id_number)
        .await
        .expect("search by ID number");
    assert_eq!(found.len(), 1, "one resident with that ID number");
    found[0].id
}

/// Reads a CSV file the app wrote (with or without a UTF-8 byte-order mark) into records.
pub fn read_csv_bytes(bytes: &[u8]) -> Vec<Vec<String>> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    reader
        .records()
        .map(|r| {
            r.expect("readable CSV")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------------

/// The audit record of a change a test writes straight to the store.
pub fn test_audit(action: &str, target: &str) -> fangkong_store::AuditRecord {
    fangkong_store::AuditRecord {
        id: 0,
        at: 0,
        user_id: None,
        username: "test".into(),
        action: action.into(),
        target: target.into(),
        detail: String::new(),
        client_addr: "local".into(),
    }
}

/// Every audit record (newest first), through the store: what the log holds, whoever wrote it.
pub async fn audit_rows(app: &App) -> Vec<fangkong_store::AuditRecord> {
    app.store_for_tools()
        .audit_page("", i64::MAX, 100_000)
        .await
        .expect("audit log")
}

/// The audit records with `action` whose target is `target`.
pub async fn audit_rows_of(
    app: &App,
    action: &str,
    target: &str,
) -> Vec<fangkong_store::AuditRecord> {
    audit_rows(app)
        .await
        .into_iter()
        .filter(|r| r.action == action && r.target == target)
        .collect()
}
