//! Location pings (手机信令/位置数据) and the embedded engine of the big-data push (大数据推送).
//!
//! A ping is one sighting of a phone by the mobile network: who (`person_id`, the operator's
//! number for the subscriber), when (`ts`, Unix seconds) and where (`cell_id`, an 800 m × 800 m
//! grid cell). Pings are kept as Parquet day files ([`layout`]); the three analyses of
//! `../shared/design/analytics.md` run over them as purpose-built kernels:
//!
//! - [`visitors`]: who stayed in a risk area's cells during its window (风险区域到访人员);
//! - [`companions`]: spatio-temporal companions of cases (时空伴随者): runs of presence, a co-stay of
//!   more than 10 minutes in a case's cell, and the 30-hour condition;
//! - [`fence`]: e-fence breaches (电子围栏) of people isolated or monitored at home.
//!
//! [`watch`] checks the two per-ping predicates (a designated area's cells, an isolated person
//! out of the home cell) as pings arrive, so an alarm is raised within seconds. [`feed`] imports
//! an operator's feed (CSV or Parquet) into the layout, counting what it refuses. [`synth`]
//! generates the analytics.md data set (a county of 800 m cells, settlements, commutes) for the
//! benchmark and the cross-engine tests.
//!
//! Pure of the rest of fangkong (no database, no clock): the app gives the lists (cases, areas,
//! isolated people, rules) and turns result rows into leads and alarms.

pub mod cells;
pub mod companions;
pub mod feed;
pub mod fence;
pub mod layout;
mod read;
pub mod synth;
pub mod visitors;
pub mod watch;

/// One sighting of a phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ping {
    /// The operator's subscriber number (an 11-digit mobile number in the demo and the feeds).
    pub person_id: i64,
    /// Unix seconds.
    pub ts: i64,
    /// The 800 m grid cell ([`cells`]).
    pub cell_id: i64,
}

/// What a kernel read, for the job's page and the benchmark: how much the statistics let it skip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub files: u64,
    pub row_groups_total: u64,
    pub row_groups_read: u64,
    pub pings_decoded: u64,
}

/// Why pings could not be read or written. `Display` is in Chinese: the job's page and the import
/// command show it to the office.
#[derive(Debug, thiserror::Error)]
pub enum PingsError {
    /// A file that is not Parquet, is truncated, or lacks a column.
    #[error("位置数据文件 {file} 无法读取：{why}")]
    Unreadable { file: String, why: String },
    /// A job asked for nothing it can answer (an area with no cells, a window that is empty).
    #[error("{0}")]
    Invalid(String),
    #[error("位置数据目录读写失败：{0}")]
    Io(#[from] std::io::Error),
}

pub type PingsResult<T> = Result<T, PingsError>;
