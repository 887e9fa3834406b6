//! Mass testing (全员/区域核酸检测): rounds, sites, tube bindings, boxes, results, rechecks, coverage.
//!
//! The two hot paths — a group of bindings and a chunk of lab results — each run in one transaction
//! that reads what it needs with a handful of `IN (…)` queries, decides every row in memory and
//! writes with multi-row statements: per-row round trips would cap the rate far below a city's.

mod antigen;
mod binding;
mod boxes;
mod coverage;
mod people;
mod rechecks;
mod results;
mod rounds;
mod routine;
mod sites;

use std::collections::{HashMap, HashSet};

use fangkong_domain::lab_result::TestResult;
use fangkong_domain::mass_testing::results::{RecheckReason, RecheckStatus};
use fangkong_domain::mass_testing::{
    ExemptionKind, ResultRejection, RiskTier, RoundKind, SamplePurpose, ScanRejection, TubeBarcode,
};
use fangkong_domain::personal::{Address, DocumentNumber, PersonName};
use fangkong_domain::phone::PhoneNumber;
use fangkong_domain::region::RegionCode;
use sqlx::{AssertSqlSafe, QueryBuilder};

pub use coverage::RoundMove;

use crate::audit::write_audit;
use crate::typed::{StoredCode, StoredOptionalCode, StoredPhone, StoredRegion};
use crate::{AuditRecord, Store, StoreResult, begin_locked, with_pool};

/// The writer lock of everything that decides on a tube's state (bindings, boxes, results) or
/// appends person events (results, antigen reports): one at a time, also across server processes,
/// so event ids commit in id order and a consumer reading "after id N" never skips one.
pub(crate) const TUBE_WRITER_LOCK: i64 = 314_159;

/// Rows per multi-row statement (stays under both backends' bound-parameter limits).
const ROWS_PER_STATEMENT: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RoundRecord {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "StoredCode<RoundKind>")]
    pub kind: RoundKind,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub opened_at: i64,
    pub deadline_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub default_pool_size: i64,
    pub infant_months: i64,
    pub target_population: i64,
    pub opened_by: String,
}

const ROUND_COLUMNS: &str = "id, name, kind, region_code, opened_at, deadline_at, closed_at, \
     default_pool_size, infant_months, target_population, opened_by";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RoundAreaRecord {
    pub round_id: i64,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    #[sqlx(try_from = "StoredCode<RiskTier>")]
    pub tier: RiskTier,
    pub pool_size: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct TubeBatchRecord {
    pub round_id: i64,
    pub first_serial: i64,
    pub last_serial: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct SiteRecord {
    pub id: i64,
    pub round_id: i64,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub name: String,
    pub address: String,
    pub tables_count: i64,
    pub staff_count: i64,
    pub swabs_per_table_hour: i64,
    pub created_at: i64,
}

const SITE_COLUMNS: &str = "id, round_id, region_code, name, address, tables_count, staff_count, \
     swabs_per_table_hour, created_at";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct TubeRecord {
    pub barcode: String,
    pub round_id: i64,
    pub site_id: i64,
    pub table_no: i64,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    #[sqlx(try_from = "StoredCode<SamplePurpose>")]
    pub purpose: SamplePurpose,
    pub capacity: i64,
    pub members: i64,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
    pub box_barcode: Option<String>,
    pub received_at: Option<i64>,
    #[sqlx(try_from = "StoredOptionalCode<TestResult>")]
    pub result: Option<TestResult>,
    pub tested_at: Option<i64>,
    pub result_at: Option<i64>,
    pub lab_name: Option<String>,
}

const TUBE_COLUMNS: &str = "barcode, round_id, site_id, table_no, region_code, purpose, capacity, \
     members, opened_at, closed_at, box_barcode, received_at, result, tested_at, result_at, lab_name";

/// One person in one tube, as stored. Carries personal data: its `Debug` masks it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct SampleRecord {
    pub id: i64,
    pub round_id: i64,
    pub occasion: i64,
    pub tube_barcode: String,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub outside_area: bool,
    pub site_id: i64,
    pub table_no: i64,
    pub sampled_at: i64,
    pub recorder: String,
}

const SAMPLE_COLUMNS: &str = "id, round_id, occasion, tube_barcode, id_type, id_number, name, \
     resident_id, grid_code, outside_area, site_id, table_no, sampled_at, recorder";

/// The person a scan names (from the ID card reader, the typed number, or a resident's code).
#[derive(Clone, PartialEq, Eq)]
pub struct ScannedPerson {
    pub id_type: String,
    pub id_number: String,
    /// As read from the card or typed; may be empty for a register resident.
    pub name: String,
}

/// The audit record of scans entered after the fact (补录: a sampler typing in a backlog with
/// the time it was swabbed), written in the group's transaction when at least one of `scans`
/// (indices into the group) binds or closes a tube.
#[derive(Debug, Clone)]
pub struct ScanAudit {
    pub scans: Vec<usize>,
    pub record: crate::AuditRecord,
}

/// One scan from a sampling table, decided by [`Store::apply_scans`].
#[derive(Clone)]
pub struct ScanWrite {
    pub scan_id: String,
    pub round_id: i64,
    /// The round's region as a code range: residents outside are flagged, not refused.
    pub round_range: (String, String),
    /// 0 for a whole/area round's screening swab, the Beijing day number for routine testing.
    pub screen_occasion: i64,
    pub site_id: i64,
    pub site_region: String,
    pub table_no: i64,
    pub tube: TubeBarcode,
    /// Pool size a new screening tube gets at this site (recheck tubes always hold one).
    pub new_tube_capacity: i64,
    pub purpose: SamplePurpose,
    /// `None`: close the tube (封管) instead of binding someone.
    pub person: Option<ScannedPerson>,
    pub sampled_at: i64,
    pub recorder: String,
    /// Residents born after this date are infants the round left out of its target
    /// (`domain::mass_testing::infant_cutoff` of its opening day); `None` when it left out none.
    pub infant_cutoff: Option<chrono::NaiveDate>,
}

/// What became of one scan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ScanOutcome {
    Bound {
        tube_members: i64,
        capacity: i64,
        tube_closed: bool,
        outside_area: bool,
        in_register: bool,
    },
    Closed {
        tube_members: i64,
    },
    /// A retry of a scan already on disk: nothing written again.
    AlreadyRecorded,
    Rejected(ScanRejection),
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct TubeState {
    barcode: String,
    round_id: i64,
    site_id: i64,
    table_no: i64,
    region_code: String,
    #[sqlx(try_from = "StoredCode<SamplePurpose>")]
    purpose: SamplePurpose,
    capacity: i64,
    members: i64,
    opened_at: i64,
    closed_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ResidentLite {
    id: i64,
    id_type: String,
    id_number: String,
    name: String,
    grid_code: String,
    /// 'YYYY-MM-DD' or ''.
    birth_date: String,
}

#[derive(sqlx::FromRow)]
struct TakenSample {
    id_type: String,
    id_number: String,
    round_id: i64,
    occasion: i64,
    tube_barcode: String,
    sampled_at: i64,
}

#[derive(sqlx::FromRow)]
struct PendingTask {
    id: i64,
    id_type: String,
    id_number: String,
}

#[derive(Default)]
struct ProgressDelta {
    sampled: i64,
    outside: i64,
    walk_ins: i64,
}

/// Infants a group's screening swabs brought into a round's target, by (round, grid).
type InfantsJoined = HashMap<(i64, String), i64>;

/// One lab result row, checked by the domain, to apply.
#[derive(Debug, Clone)]
pub struct ResultWrite {
    pub row_number: i64,
    pub tube_barcode: String,
    pub result: TestResult,
    pub tested_at: Option<i64>,
    pub lab_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ResultOutcome {
    Applied { positive: bool },
    Unchanged,
    Rejected(ResultRejection),
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ResultUploadRecord {
    pub id: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub username: String,
    pub lab_name: String,
    pub file_name: String,
    pub format: String,
    pub rows_total: i64,
    pub applied: i64,
    pub unchanged: i64,
    pub problems: i64,
    pub positives: i64,
    /// When a restart or the periodic pass found the upload cut short (its counters say what it
    /// had committed); `finished_at` then holds the same time.
    pub interrupted_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ResultProblemRecord {
    pub upload_id: i64,
    pub row_number: i64,
    pub tube_barcode: String,
    pub kind: String,
    pub message: String,
}

/// Per round and grid (or, for walk-ins, the site's region).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ProgressRow {
    pub grid_code: String,
    pub target: i64,
    pub infants: i64,
    pub exempt: i64,
    pub sampled: i64,
    pub outside: i64,
    pub walk_ins: i64,
}

/// A resident of a grid not yet swabbed in a round: the list a grid worker takes door to door.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct MissingResident {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub birth_date: String,
    #[sqlx(try_from = "StoredPhone")]
    pub phone: Option<PhoneNumber>,
    #[sqlx(try_from = "String")]
    pub address: Address,
    pub household_number: String,
    #[sqlx(try_from = "StoredOptionalCode<ExemptionKind>")]
    pub exemption: Option<ExemptionKind>,
    pub exemption_note: Option<String>,
}

/// Where a round's tubes are in the chain, and how long the steps took.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct TubeChainCounts {
    pub tubes: i64,
    pub open: i64,
    pub closed_not_boxed: i64,
    pub in_transit: i64,
    pub received_no_result: i64,
    pub negative: i64,
    pub positive: i64,
    pub invalid: i64,
    /// Mean seconds from closing the tube to lab receipt, and from receipt to the result.
    pub mean_to_receipt: Option<f64>,
    pub mean_to_result: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct BoxRecord {
    pub barcode: String,
    pub round_id: i64,
    pub site_id: i64,
    pub tube_count: i64,
    pub packed_at: i64,
    pub packed_by: String,
    pub picked_up_at: Option<i64>,
    pub courier: Option<String>,
    pub received_at: Option<i64>,
    pub received_by: Option<String>,
}

const BOX_COLUMNS: &str = "barcode, round_id, site_id, tube_count, packed_at, packed_by, \
     picked_up_at, courier, received_at, received_by";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RecheckTaskRecord {
    pub id: i64,
    pub round_id: Option<i64>,
    pub source: String,
    #[sqlx(try_from = "StoredCode<RecheckReason>")]
    pub reason: RecheckReason,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub created_at: i64,
    #[sqlx(try_from = "StoredCode<RecheckStatus>")]
    pub status: RecheckStatus,
    pub sample_tube: Option<String>,
    pub sampled_at: Option<i64>,
    pub resolved_at: Option<i64>,
}

const TASK_COLUMNS: &str = "id, round_id, source, reason, id_type, id_number, name, resident_id, \
     grid_code, created_at, status, sample_tube, sampled_at, resolved_at";

/// A person's swab with its tube's result (the test proof the health code reads).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct PersonResult {
    pub round_id: i64,
    pub round_name: String,
    pub tube_barcode: String,
    pub capacity: i64,
    #[sqlx(try_from = "StoredCode<SamplePurpose>")]
    pub purpose: SamplePurpose,
    pub sampled_at: i64,
    #[sqlx(try_from = "StoredOptionalCode<TestResult>")]
    pub result: Option<TestResult>,
    pub tested_at: Option<i64>,
    pub lab_name: Option<String>,
}

#[derive(Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct PersonEventRecord {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub id_type: String,
    pub id_number: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub source: String,
    pub detail: String,
}

impl std::fmt::Debug for PersonEventRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonEventRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

pub(crate) const EVENT_COLUMNS: &str =
    "id, at, kind, id_type, id_number, resident_id, grid_code, source, detail";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct KeyGroupDue {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub grid_code: String,
    pub key_groups: String,
    pub last_sampled_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct AntigenReportRecord {
    pub id: i64,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub tested_at: i64,
    #[sqlx(try_from = "StoredCode<TestResult>")]
    pub result: TestResult,
    pub has_photo: bool,
    pub reported_at: i64,
    pub reporter: String,
}

/// A new round with its designated areas.
#[derive(Debug, Clone)]
pub struct NewRound {
    pub name: String,
    pub kind: RoundKind,
    pub region_code: String,
    pub region_range: (String, String),
    pub opened_at: i64,
    pub deadline_at: Option<i64>,
    pub default_pool_size: i64,
    pub infant_months: i64,
    /// Residents born after this date are infants outside the target.
    pub infant_cutoff: Option<String>,
    pub opened_by: String,
    pub areas: Vec<RoundAreaRecord>,
    /// Tube barcodes issued with the round, in its own transaction (at least one).
    pub tubes: i64,
}
