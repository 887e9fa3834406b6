//! All of fangkong's SQL lives here, for both backends.
//!
//! [`Store`] is an enum over a SQLite pool (the embedded default) and a PostgreSQL pool. Each method
//! runs the same SQL text on either backend through [`with_pool!`]: the body is compiled once per
//! backend, so the type checker sees both. Placeholders are `$N` (both drivers accept them) and every
//! type is one both backends share: `i64` integers and unix-second times, `bool`, `TEXT`, dates as
//! 'YYYY-MM-DD' text. The shared store story tests in `tests/` run on both.
//!
//! A list of values goes into `IN (…)` through `bind::PushList::push_list`, so no query counts its
//! own placeholders; reads of one row by a key and of a code range's page with its total go
//! through `rows`.

mod bind;
mod rows;
mod schema;

pub mod analytics;
pub mod audit;
pub mod check;
pub mod command;
pub mod door_visits;
pub mod drills;
pub mod health_code;
pub mod imports;
pub mod investigation;
pub mod isolation;
pub mod leads;
pub mod mass_testing;
pub mod population;
pub mod regions;
pub mod supplies;
pub mod typed;
pub mod users;
pub mod warning;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use audit::AuditRecord;
pub use door_visits::{DoorVisitRecord, UnvisitedHousehold};
pub use health_code::{
    AppealRecord, AreaStep, CheckpointRecord, CodeChangeRecord, CodePerson, CodeWrite, ColourCount,
    FactRecord, FactUpdate, FactWrite, HealthCodeRecord, ItineraryStop, NewRiskArea, PassageRecord,
    PassageWrite, RiskAreaRecord, RiskAreaRoundRecord, RiskAreaStepRecord, SubjectOwner,
    VenueRecord, VenueVisitRecord,
};
pub use imports::{ImportCounters, ImportProblemRecord, ImportRecord};
pub use isolation::{
    AdmissionRecord, AllocationOutcome, CheckInRecord, DoorAlarmRecord, DueTestRecord, FreeRoom,
    HomeRow, HospitalRecord, IsolationSiteRecord, IsolationSiteSummary, MeasureChange,
    MeasureEventWrite, MeasureMove, MeasureRecord, MeasureTestRecord, NewMeasure, NewTransfer,
    RegionRooms, RoomRecord, StatusCount, TransferOutcome, TransferRecord, VehicleRecord,
};
pub use leads::{
    ControlledLead, LeadChange, LeadCountRow, LeadImportRecord, LeadQuery, LeadRecord,
    LeadStepRecord,
};
pub use mass_testing::{
    AntigenReportRecord, BoxRecord, KeyGroupDue, MissingResident, NewRound, PersonEventRecord,
    PersonResult, ProgressRow, RecheckTaskRecord, ResultOutcome, ResultProblemRecord,
    ResultUploadRecord, ResultWrite, RoundAreaRecord, RoundMove, RoundRecord, SampleRecord,
    ScanAudit, ScanOutcome, ScanWrite, ScannedPerson, SiteRecord, TubeBatchRecord, TubeChainCounts,
    TubeRecord,
};
pub use population::{
    ExistingHousehold, ExistingResident, HouseholdRecord, MoveInRecord, MoveOutcome, NewHousehold,
    NewMoveIn, ResidentBatch, ResidentMove, ResidentRecord, ResidentWrite, RowOutcome, SearchField,
    WriteMode,
};
pub use regions::{ChildCount, GridWorkerRecord, RegionRecord};
pub use users::{AccountWrite, EndSessions, SessionUser, UserRecord};

/// The database: SQLite in a data directory, or PostgreSQL.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool of either backend.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::Store::Sqlite($pool) => $body,
            $crate::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// The measure statuses in which isolation holds a person (in a site, at home, in hospital), as an
/// SQL list for `concat!`: the leads that land because of them and the audit that checks they did
/// read the same list (`domain::leads::ControlMeasure::of_measure` is the rule).
macro_rules! under_control_statuses {
    () => {
        "('in_site', 'at_home', 'hospitalised')"
    };
}
pub(crate) use under_control_statuses;

/// Inside [`with_pool!`]: begins a write transaction that holds writer lock `$lock` until it ends.
/// SQLite takes its database write lock at BEGIN (IMMEDIATE: no deferred upgrade that could fail
/// halfway); PostgreSQL takes the advisory lock `$lock`, which also serialises several server
/// processes sharing one database.
macro_rules! begin_locked {
    ($store:expr, $pool:ident, $lock:expr) => {
        match $store {
            $crate::Store::Sqlite(_) => $pool.begin_with("BEGIN IMMEDIATE").await?,
            $crate::Store::Postgres(_) => {
                let mut tx = $pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind($lock)
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        }
    };
}
pub(crate) use begin_locked;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// An edit arrived while a first bulk load has the lookup indexes dropped.
    #[error("a first bulk load of residents is in progress")]
    BulkLoadInProgress,
    #[error("cannot create the data directory {path}: {source}")]
    DataDirectory {
        path: String,
        source: std::io::Error,
    },
}

impl StoreError {
    /// True when the write failed because a unique key already exists (a retry or a duplicate).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Each migration's version and checksum, hashed with FNV-1a (stable across builds and platforms,
/// unlike the standard library's hasher).
fn fingerprint(migrator: &sqlx::migrate::Migrator) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for migration in migrator.iter() {
        let version = migration.version.to_le_bytes();
        for byte in version.iter().chain(migration.checksum.iter()) {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

impl Store {
    /// Opens (and creates on first run) the SQLite database `fangkong.sqlite` in `data_dir`,
    /// in WAL mode with `synchronous=FULL`: a commit is acknowledged only once it is on disk.
    pub async fn open_sqlite_dir(data_dir: &Path) -> StoreResult<Store> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDirectory {
            path: data_dir.display().to_string(),
            source,
        })?;
        Self::open_sqlite_file(&data_dir.join("fangkong.sqlite")).await
    }

    pub async fn open_sqlite_file(file: &Path) -> StoreResult<Store> {
        let options = SqliteConnectOptions::new()
            .filename(file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            // A modest page cache per connection (negative = KiB) plus memory-mapped reads: a city's
            // tables are gigabytes, and the OS page cache serves them to every connection at once.
            .pragma("cache_size", "-65536")
            .pragma("mmap_size", "1073741824");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let store = Store::Sqlite(pool);
        store.ensure_resident_indexes().await?;
        Ok(store)
    }

    /// Connects to PostgreSQL (`postgres://…`) and applies the PostgreSQL migrations.
    /// A fingerprint of the PostgreSQL migrations compiled into this build: the test kit keeps one
    /// migrated template database per fingerprint, so a story's fresh database is a copy rather
    /// than thirty migrations run again.
    pub fn postgres_migrations_fingerprint() -> String {
        fingerprint(&sqlx::migrate!("./migrations/postgres"))
    }

    /// The same for the SQLite migrations (the test kit's template file).
    pub fn sqlite_migrations_fingerprint() -> String {
        fingerprint(&sqlx::migrate!("./migrations/sqlite"))
    }

    pub async fn open_postgres(url: &str) -> StoreResult<Store> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let store = Store::Postgres(pool);
        store.ensure_resident_indexes().await?;
        Ok(store)
    }

    /// Opens whatever `location` names: a `postgres://` URL, or else a SQLite data directory.
    pub async fn open(location: &str) -> StoreResult<Store> {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            Self::open_postgres(location).await
        } else {
            Self::open_sqlite_dir(Path::new(location)).await
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "SQLite",
            Store::Postgres(_) => "PostgreSQL",
        }
    }

    /// Empties every table (tests and the demo on PostgreSQL start from a clean database).
    pub async fn clear_all_data(&self) -> StoreResult<()> {
        match self {
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for table in schema::TABLES_CHILD_FIRST {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            // TRUNCATE empties a city-sized table at once, where DELETE would log every row.
            Store::Postgres(pool) => {
                let tables = schema::TABLES_CHILD_FIRST.join(", ");
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "TRUNCATE {tables} RESTART IDENTITY"
                )))
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }
}
