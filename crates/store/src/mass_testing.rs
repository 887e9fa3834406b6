//! Mass testing (全员/区域核酸检测): rounds, sites, tube bindings, boxes, results, rechecks, coverage.
//!
//! The two hot paths — a group of bindings and a chunk of lab results — each run in one transaction
//! that reads what it needs with a handful of `IN (…)` queries, decides every row in memory and
//! writes with multi-row statements: per-row round trips would cap the rate far below a city's.
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use std::collections::{HashMap, HashSet};

use fangkong_domain::mass_testing::{ResultRejection, SamplePurpose, ScanRejection, TubeBarcode};
use sqlx::{AssertSqlSafe, QueryBuilder};

use crate::{Store, StoreResult, begin_locked, with_pool};

/// The writer lock of everything that decides on a tube's state (bindings, boxes, results) or
/// appends person events (results, antigen reports): one at a time, also across server processes,
/// so event ids commit in id order and a consumer reading "after id N" never skips one.
const TUBE_WRITER_LOCK: i64 = 314_159;

/// Rows per multi-row statement (stays under both backends' bound-parameter limits).
const ROWS_PER_STATEMENT: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RoundRecord {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub region_code: String,
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
    pub region_code: String,
    pub tier: String,
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
    pub region_code: String,
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
    pub region_code: String,
    pub purpose: String,
    pub capacity: i64,
    pub members: i64,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
    pub box_barcode: Option<String>,
    pub received_at: Option<i64>,
    pub result: Option<String>,
    pub tested_at: Option<i64>,
    pub result_at: Option<i64>,
    pub lab_name: Option<String>,
}

const TUBE_COLUMNS: &str = "barcode, round_id, site_id, table_no, region_code, purpose, capacity, \
     members, opened_at, closed_at, box_barcode, received_at, result, tested_at, result_at, lab_name";

/// One person in one tube, as stored. Carries personal data: its `Debug` masks it.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct SampleRecord {
    pub id: i64,
    pub round_id: i64,
    pub occasion: i64,
    pub tube_barcode: String,
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub outside_area: bool,
    pub site_id: i64,
    pub table_no: i64,
    pub sampled_at: i64,
    pub recorder: String,
}

impl std::fmt::Debug for SampleRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampleRecord")
            .field("id", &self.id)
            .field("round_id", &self.round_id)
            .field("tube_barcode", &self.tube_barcode)
            .finish_non_exhaustive()
    }
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
    purpose: String,
    capacity: i64,
    members: i64,
    opened_at: i64,
    closed_at: Option<i64>,
}

#[derive(Debug, sqlx::FromRow)]
struct ResidentLite {
    id: i64,
    id_type: String,
    id_number: String,
    name: String,
    grid_code: String,
}

#[derive(Debug, sqlx::FromRow)]
struct TakenSample {
    id_type: String,
    id_number: String,
    round_id: i64,
    occasion: i64,
    tube_barcode: String,
    sampled_at: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct PendingTask {
    id: i64,
    id_type: String,
    id_number: String,
}

struct SampleInsert<'a> {
    scan: &'a ScanWrite,
    person: &'a ScannedPerson,
    occasion: i64,
    name: String,
    resident_id: Option<i64>,
    grid_code: String,
    outside_area: bool,
}

#[derive(Default)]
struct ProgressDelta {
    sampled: i64,
    outside: i64,
    walk_ins: i64,
}

/// One lab result row, checked by the domain, to apply.
#[derive(Debug, Clone)]
pub struct ResultWrite {
    pub row_number: i64,
    pub tube_barcode: String,
    pub result: String,
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
#[derive(Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct MissingResident {
    pub id: i64,
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub birth_date: String,
    pub phone: Option<String>,
    pub address: String,
    pub household_number: String,
    pub exemption: Option<String>,
    pub exemption_note: Option<String>,
}

impl std::fmt::Debug for MissingResident {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MissingResident")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
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

#[derive(Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RecheckTaskRecord {
    pub id: i64,
    pub round_id: Option<i64>,
    pub source: String,
    pub reason: String,
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub created_at: i64,
    pub status: String,
    pub sample_tube: Option<String>,
    pub sampled_at: Option<i64>,
    pub resolved_at: Option<i64>,
}

impl std::fmt::Debug for RecheckTaskRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecheckTaskRecord")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
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
    pub purpose: String,
    pub sampled_at: i64,
    pub result: Option<String>,
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

const EVENT_COLUMNS: &str =
    "id, at, kind, id_type, id_number, resident_id, grid_code, source, detail";

#[derive(Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct KeyGroupDue {
    pub id: i64,
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub grid_code: String,
    pub key_groups: String,
    pub last_sampled_at: Option<i64>,
}

impl std::fmt::Debug for KeyGroupDue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyGroupDue")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct AntigenReportRecord {
    pub id: i64,
    pub id_type: String,
    pub id_number: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub tested_at: i64,
    pub result: String,
    pub has_photo: bool,
    pub reported_at: i64,
    pub reporter: String,
}

impl std::fmt::Debug for AntigenReportRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AntigenReportRecord")
            .field("id", &self.id)
            .field("result", &self.result)
            .finish_non_exhaustive()
    }
}

/// A new round with its designated areas.
#[derive(Debug, Clone)]
pub struct NewRound {
    pub name: String,
    pub kind: String,
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
}

type TaskUpdate = (i64, String, i64);

impl Store {
    /// Opens a round: the round, its areas, and one progress row per grid in its region with the
    /// target taken from the register now (less infants when the round exempts them).
    pub async fn insert_round(&self, round: &NewRound) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO test_rounds (name, kind, region_code, opened_at, deadline_at, closed_at, \
                 default_pool_size, infant_months, target_population, opened_by) \
                 VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, 0, $8) RETURNING id",
            )
            .bind(&round.name)
            .bind(&round.kind)
            .bind(&round.region_code)
            .bind(round.opened_at)
            .bind(round.deadline_at)
            .bind(round.default_pool_size)
            .bind(round.infant_months)
            .bind(&round.opened_by)
            .fetch_one(&mut *tx)
            .await?;
            for area in &round.areas {
                sqlx::query(
                    "INSERT INTO round_areas (round_id, region_code, tier, pool_size) VALUES ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(&area.region_code)
                .bind(&area.tier)
                .bind(area.pool_size)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "INSERT INTO round_grid_progress (round_id, grid_code, target) \
                 SELECT $1, grid_code, residents FROM grid_stats WHERE grid_code >= $2 AND grid_code < $3",
            )
            .bind(id)
            .bind(&round.region_range.0)
            .bind(&round.region_range.1)
            .execute(&mut *tx)
            .await?;
            if let Some(cutoff) = &round.infant_cutoff {
                let infants: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT grid_code, COUNT(*) FROM residents \
                     WHERE grid_code >= $1 AND grid_code < $2 AND birth_date > $3 GROUP BY grid_code",
                )
                .bind(&round.region_range.0)
                .bind(&round.region_range.1)
                .bind(cutoff)
                .fetch_all(&mut *tx)
                .await?;
                for (grid, count) in infants {
                    sqlx::query(
                        "UPDATE round_grid_progress SET infants = $1, target = target - $1 \
                         WHERE round_id = $2 AND grid_code = $3",
                    )
                    .bind(count)
                    .bind(id)
                    .bind(&grid)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            sqlx::query(
                "UPDATE test_rounds SET target_population = \
                 (SELECT COALESCE(CAST(SUM(target) AS BIGINT), 0) FROM round_grid_progress WHERE round_id = $1) \
                 WHERE id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn round(&self, id: i64) -> StoreResult<Option<RoundRecord>> {
        let sql = format!("SELECT {ROUND_COLUMNS} FROM test_rounds WHERE id = $1");
        let round = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        Ok(round)
    }

    /// Rounds whose region overlaps the subtree `range` (inside it, or containing it), newest first.
    pub async fn rounds_touching(
        &self,
        code: &str,
        range: (&str, &str),
    ) -> StoreResult<Vec<RoundRecord>> {
        let sql = format!(
            "SELECT {ROUND_COLUMNS} FROM test_rounds \
             WHERE (region_code >= $1 AND region_code < $2) OR $3 LIKE region_code || '%' \
             ORDER BY id DESC LIMIT 200"
        );
        let rounds = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(range.0).bind(range.1).bind(code).fetch_all(pool).await?
        });
        Ok(rounds)
    }

    pub async fn close_round(&self, id: i64, now: i64) -> StoreResult<bool> {
        let done = with_pool!(self, pool => {
            sqlx::query("UPDATE test_rounds SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    pub async fn round_areas(&self, round_id: i64) -> StoreResult<Vec<RoundAreaRecord>> {
        let areas = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT round_id, region_code, tier, pool_size FROM round_areas WHERE round_id = $1 ORDER BY region_code",
            )
            .bind(round_id)
            .fetch_all(pool)
            .await?
        });
        Ok(areas)
    }

    /// Issues the barcodes `first..=last` to a round; false when the range overlaps one issued before.
    pub async fn issue_tube_batch(
        &self,
        round_id: i64,
        first: i64,
        last: i64,
        now: i64,
        by: &str,
    ) -> StoreResult<bool> {
        let issued = with_pool!(self, pool => {
            let mut tx = match self {
                Store::Sqlite(_) => pool.begin_with("BEGIN IMMEDIATE").await?,
                Store::Postgres(_) => {
                    let mut tx = pool.begin().await?;
                    sqlx::query("LOCK TABLE tube_batches IN EXCLUSIVE MODE").execute(&mut *tx).await?;
                    tx
                }
            };
            let overlapping: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM tube_batches WHERE first_serial <= $1 AND last_serial >= $2",
            )
            .bind(last)
            .bind(first)
            .fetch_one(&mut *tx)
            .await?;
            if overlapping > 0 {
                false
            } else {
                sqlx::query(
                    "INSERT INTO tube_batches (round_id, first_serial, last_serial, issued_at, issued_by) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(round_id)
                .bind(first)
                .bind(last)
                .bind(now)
                .bind(by)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                true
            }
        });
        Ok(issued)
    }

    pub async fn tube_batches(&self, round_id: i64) -> StoreResult<Vec<TubeBatchRecord>> {
        let batches = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT round_id, first_serial, last_serial FROM tube_batches WHERE round_id = $1 ORDER BY first_serial",
            )
            .bind(round_id)
            .fetch_all(pool)
            .await?
        });
        Ok(batches)
    }

    /// The first serial after every batch issued so far (where a new batch can start).
    pub async fn next_free_serial(&self) -> StoreResult<i64> {
        let last: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT MAX(last_serial) FROM tube_batches").fetch_one(pool).await?
        });
        Ok(last.map_or(1, |l| l + 1))
    }

    pub async fn insert_site(&self, site: &SiteRecord) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO sampling_sites (round_id, region_code, name, address, tables_count, staff_count, \
                 swabs_per_table_hour, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(site.round_id)
            .bind(&site.region_code)
            .bind(&site.name)
            .bind(&site.address)
            .bind(site.tables_count)
            .bind(site.staff_count)
            .bind(site.swabs_per_table_hour)
            .bind(site.created_at)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    pub async fn site(&self, id: i64) -> StoreResult<Option<SiteRecord>> {
        let sql = format!("SELECT {SITE_COLUMNS} FROM sampling_sites WHERE id = $1");
        let site = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        Ok(site)
    }

    pub async fn sites_of_round(
        &self,
        round_id: i64,
        range: (&str, &str),
    ) -> StoreResult<Vec<SiteRecord>> {
        let sql = format!(
            "SELECT {SITE_COLUMNS} FROM sampling_sites WHERE round_id = $1 AND region_code >= $2 \
             AND region_code < $3 ORDER BY region_code, id LIMIT 5000"
        );
        let sites = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(round_id).bind(range.0).bind(range.1).fetch_all(pool).await?
        });
        Ok(sites)
    }

    /// Decides and writes a group of scans in one transaction; outcomes in the scans' order.
    ///
    /// Scans are decided one after another against the database as it was plus the scans before
    /// them, so a group behaves exactly like the same scans sent one by one. A scan whose `scan_id`
    /// is already stored is a client's retry and writes nothing.
    pub async fn apply_scans(
        &self,
        scans: &[ScanWrite],
        now: i64,
    ) -> StoreResult<Vec<ScanOutcome>> {
        if scans.is_empty() {
            return Ok(Vec::new());
        }
        let outcomes = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, TUBE_WRITER_LOCK);

            // 1. What the database knows about these scans, tubes and people.
            let mut known_scans: HashSet<String> = HashSet::new();
            for chunk in scans.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new("SELECT scan_id FROM samples WHERE scan_id IN (");
                let mut list = builder.separated(", ");
                for scan in chunk {
                    list.push_bind(&scan.scan_id);
                }
                builder.push(")");
                let found: Vec<(String,)> = builder.build_query_as().fetch_all(&mut *tx).await?;
                known_scans.extend(found.into_iter().map(|(id,)| id));
            }
            let barcodes: Vec<&str> = scans
                .iter()
                .map(|s| s.tube.as_str())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let mut tubes: HashMap<String, TubeState> = HashMap::new();
            for chunk in barcodes.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "SELECT barcode, round_id, site_id, table_no, region_code, purpose, capacity, members, \
                     opened_at, closed_at FROM tubes WHERE barcode IN (",
                );
                let mut list = builder.separated(", ");
                for code in chunk {
                    list.push_bind(*code);
                }
                builder.push(")");
                let found: Vec<TubeState> = builder.build_query_as().fetch_all(&mut *tx).await?;
                tubes.extend(found.into_iter().map(|t| (t.barcode.clone(), t)));
            }
            let batches: Vec<TubeBatchRecord> = if barcodes.iter().any(|b| !tubes.contains_key(*b)) {
                sqlx::query_as("SELECT round_id, first_serial, last_serial FROM tube_batches")
                    .fetch_all(&mut *tx)
                    .await?
            } else {
                Vec::new()
            };
            let numbers: Vec<&str> = scans
                .iter()
                .filter_map(|s| s.person.as_ref().map(|p| p.id_number.as_str()))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let mut residents: HashMap<(String, String), ResidentLite> = HashMap::new();
            let mut taken: HashMap<(String, String, i64, i64), (String, i64)> = HashMap::new();
            // A person may owe several rechecks (a positive pool and an antigen positive): one swab settles all.
            let mut pending: HashMap<(String, String), Vec<i64>> = HashMap::new();
            for chunk in numbers.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "SELECT id, id_type, id_number, name, grid_code FROM residents WHERE id_number IN (",
                );
                let mut list = builder.separated(", ");
                for number in chunk {
                    list.push_bind(*number);
                }
                builder.push(")");
                let found: Vec<ResidentLite> = builder.build_query_as().fetch_all(&mut *tx).await?;
                residents.extend(found.into_iter().map(|r| ((r.id_number.clone(), r.id_type.clone()), r)));

                let mut builder = QueryBuilder::new(
                    "SELECT id_type, id_number, round_id, occasion, tube_barcode, sampled_at FROM samples WHERE id_number IN (",
                );
                let mut list = builder.separated(", ");
                for number in chunk {
                    list.push_bind(*number);
                }
                builder.push(")");
                let found: Vec<TakenSample> = builder.build_query_as().fetch_all(&mut *tx).await?;
                taken.extend(found.into_iter().map(|s| {
                    ((s.id_number, s.id_type, s.round_id, s.occasion), (s.tube_barcode, s.sampled_at))
                }));

                let mut builder = QueryBuilder::new(
                    "SELECT id, id_type, id_number FROM recheck_tasks WHERE status = 'pending' AND id_number IN (",
                );
                let mut list = builder.separated(", ");
                for number in chunk {
                    list.push_bind(*number);
                }
                builder.push(")");
                let found: Vec<PendingTask> = builder.build_query_as().fetch_all(&mut *tx).await?;
                for t in found {
                    pending.entry((t.id_number, t.id_type)).or_default().push(t.id);
                }
            }

            // 2. Decide every scan in order.
            let mut outcomes = Vec::with_capacity(scans.len());
            let mut seen_scans: HashSet<&str> = HashSet::new();
            let mut inserts: Vec<SampleInsert> = Vec::new();
            let mut touched_tubes: HashSet<String> = HashSet::new();
            let mut task_updates: Vec<TaskUpdate> = Vec::new();
            let mut progress: HashMap<(i64, String), ProgressDelta> = HashMap::new();
            let mut hourly: HashMap<(i64, String, i64), i64> = HashMap::new();
            for scan in scans {
                if known_scans.contains(&scan.scan_id) || !seen_scans.insert(&scan.scan_id) {
                    outcomes.push(ScanOutcome::AlreadyRecorded);
                    continue;
                }
                let outcome = decide_scan(
                    scan, now, &batches, &mut tubes, &residents, &mut taken, &mut pending,
                );
                match outcome {
                    Decision::Close => {
                        let tube = tubes.get_mut(scan.tube.as_str()).expect("decided on a known tube");
                        if tube.closed_at.is_none() {
                            tube.closed_at = Some(now);
                            touched_tubes.insert(tube.barcode.clone());
                        }
                        outcomes.push(ScanOutcome::Closed { tube_members: tube.members });
                    }
                    Decision::Reject(rejection) => outcomes.push(ScanOutcome::Rejected(rejection)),
                    Decision::Bind { resident, tasks, occasion } => {
                        let person = scan.person.as_ref().expect("a binding names a person");
                        let tube = tubes.get_mut(scan.tube.as_str()).expect("decided on a tube");
                        tube.members += 1;
                        if tube.members >= tube.capacity {
                            tube.closed_at = Some(now);
                        }
                        touched_tubes.insert(tube.barcode.clone());
                        let (grid_code, outside_area, name, resident_id) = match resident {
                            Some(r) => (
                                r.grid_code.clone(),
                                !(r.grid_code.as_str() >= scan.round_range.0.as_str()
                                    && r.grid_code.as_str() < scan.round_range.1.as_str()),
                                r.name.clone(),
                                Some(r.id),
                            ),
                            None => (scan.site_region.clone(), false, person.name.trim().to_string(), None),
                        };
                        if !tasks.is_empty() {
                            for task_id in tasks {
                                task_updates.push((task_id, scan.tube.as_str().to_string(), scan.sampled_at));
                            }
                        } else {
                            let delta = progress.entry((scan.round_id, grid_code.clone())).or_default();
                            if resident_id.is_some() {
                                delta.sampled += 1;
                                delta.outside += i64::from(outside_area);
                                *hourly
                                    .entry((scan.round_id, grid_code.clone(), scan.sampled_at - scan.sampled_at.rem_euclid(3600)))
                                    .or_default() += 1;
                            } else {
                                delta.walk_ins += 1;
                            }
                        }
                        outcomes.push(ScanOutcome::Bound {
                            tube_members: tube.members,
                            capacity: tube.capacity,
                            tube_closed: tube.closed_at.is_some(),
                            outside_area,
                            in_register: resident_id.is_some(),
                        });
                        inserts.push(SampleInsert {
                            scan,
                            person,
                            occasion,
                            name,
                            resident_id,
                            grid_code,
                            outside_area,
                        });
                    }
                }
            }

            // 3. Write: samples, tubes, recheck tasks, progress counters.
            for chunk in inserts.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO samples (scan_id, round_id, occasion, tube_barcode, id_type, id_number, name, \
                     resident_id, grid_code, outside_area, site_id, table_no, sampled_at, recorded_at, recorder) ",
                );
                builder.push_values(chunk, |mut b, row| {
                    b.push_bind(&row.scan.scan_id)
                        .push_bind(row.scan.round_id)
                        .push_bind(row.occasion)
                        .push_bind(row.scan.tube.as_str())
                        .push_bind(&row.person.id_type)
                        .push_bind(&row.person.id_number)
                        .push_bind(&row.name)
                        .push_bind(row.resident_id)
                        .push_bind(&row.grid_code)
                        .push_bind(row.outside_area)
                        .push_bind(row.scan.site_id)
                        .push_bind(row.scan.table_no)
                        .push_bind(row.scan.sampled_at)
                        .push_bind(now)
                        .push_bind(&row.scan.recorder);
                });
                builder.build().execute(&mut *tx).await?;
            }
            // A resident exempted in this round and swabbed after all (a bedridden person swabbed at
            // home) is no longer exempt: otherwise they would count twice, as exempt and as sampled.
            let mut screened: HashMap<i64, Vec<i64>> = HashMap::new();
            for row in inserts.iter().filter(|r| r.scan.purpose == SamplePurpose::Screen) {
                if let Some(id) = row.resident_id {
                    screened.entry(row.scan.round_id).or_default().push(id);
                }
            }
            for (round_id, ids) in &screened {
                for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                    let mut builder = QueryBuilder::new("DELETE FROM sampling_exemptions WHERE round_id = ");
                    builder.push_bind(*round_id);
                    builder.push(" AND resident_id IN (");
                    let mut list = builder.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    builder.push(") RETURNING grid_code");
                    let lifted: Vec<(String,)> = builder.build_query_as().fetch_all(&mut *tx).await?;
                    for (grid,) in lifted {
                        sqlx::query(
                            "UPDATE round_grid_progress SET exempt = exempt - 1 WHERE round_id = $1 AND grid_code = $2",
                        )
                        .bind(*round_id)
                        .bind(&grid)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
            let touched: Vec<&TubeState> = touched_tubes.iter().map(|b| &tubes[b]).collect();
            for chunk in touched.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO tubes (barcode, round_id, site_id, table_no, region_code, purpose, capacity, \
                     members, opened_at, closed_at) ",
                );
                builder.push_values(chunk, |mut b, tube| {
                    b.push_bind(&tube.barcode)
                        .push_bind(tube.round_id)
                        .push_bind(tube.site_id)
                        .push_bind(tube.table_no)
                        .push_bind(&tube.region_code)
                        .push_bind(&tube.purpose)
                        .push_bind(tube.capacity)
                        .push_bind(tube.members)
                        .push_bind(tube.opened_at)
                        .push_bind(tube.closed_at);
                });
                builder.push(
                    " ON CONFLICT (barcode) DO UPDATE SET members = excluded.members, closed_at = excluded.closed_at",
                );
                builder.build().execute(&mut *tx).await?;
            }
            for (task_id, tube, sampled_at) in &task_updates {
                sqlx::query(
                    "UPDATE recheck_tasks SET status = 'sampled', sample_tube = $1, sampled_at = $2 WHERE id = $3",
                )
                .bind(tube)
                .bind(sampled_at)
                .bind(task_id)
                .execute(&mut *tx)
                .await?;
            }
            let progress: Vec<_> = progress.into_iter().collect();
            for chunk in progress.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO round_grid_progress (round_id, grid_code, sampled, outside, walk_ins) ",
                );
                builder.push_values(chunk, |mut b, ((round_id, grid), delta)| {
                    b.push_bind(*round_id)
                        .push_bind(grid)
                        .push_bind(delta.sampled)
                        .push_bind(delta.outside)
                        .push_bind(delta.walk_ins);
                });
                builder.push(
                    " ON CONFLICT (round_id, grid_code) DO UPDATE SET \
                     sampled = round_grid_progress.sampled + excluded.sampled, \
                     outside = round_grid_progress.outside + excluded.outside, \
                     walk_ins = round_grid_progress.walk_ins + excluded.walk_ins",
                );
                builder.build().execute(&mut *tx).await?;
            }
            let hourly: Vec<_> = hourly.into_iter().collect();
            for chunk in hourly.chunks(ROWS_PER_STATEMENT) {
                let mut builder =
                    QueryBuilder::new("INSERT INTO round_hourly (round_id, grid_code, hour, sampled) ");
                builder.push_values(chunk, |mut b, ((round_id, grid, hour), count)| {
                    b.push_bind(*round_id).push_bind(grid).push_bind(*hour).push_bind(*count);
                });
                builder.push(
                    " ON CONFLICT (round_id, grid_code, hour) DO UPDATE SET sampled = round_hourly.sampled + excluded.sampled",
                );
                builder.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            outcomes
        });
        Ok(outcomes)
    }

    /// Which of these scan ids are stored (a sampling client reconciles its queue with this).
    pub async fn recorded_scan_ids(&self, scan_ids: &[String]) -> StoreResult<Vec<String>> {
        let mut found = Vec::new();
        for chunk in scan_ids.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<(String,)> = with_pool!(self, pool => {
                let mut builder = QueryBuilder::new("SELECT scan_id FROM samples WHERE scan_id IN (");
                let mut list = builder.separated(", ");
                for id in chunk {
                    list.push_bind(id);
                }
                builder.push(")");
                builder.build_query_as().fetch_all(pool).await?
            });
            found.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(found)
    }

    pub async fn tube(&self, barcode: &str) -> StoreResult<Option<TubeRecord>> {
        let sql = format!("SELECT {TUBE_COLUMNS} FROM tubes WHERE barcode = $1");
        let tube = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(barcode).fetch_optional(pool).await?
        });
        Ok(tube)
    }

    pub async fn tube_members(&self, barcode: &str) -> StoreResult<Vec<SampleRecord>> {
        let sql =
            format!("SELECT {SAMPLE_COLUMNS} FROM samples WHERE tube_barcode = $1 ORDER BY id");
        let members = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(barcode).fetch_all(pool).await?
        });
        Ok(members)
    }

    /// Open tubes at one site table (what the sampling page resumes with after a reload).
    pub async fn open_tubes_at(&self, site_id: i64, table_no: i64) -> StoreResult<Vec<TubeRecord>> {
        let sql = format!(
            "SELECT {TUBE_COLUMNS} FROM tubes WHERE site_id = $1 AND table_no = $2 AND closed_at IS NULL ORDER BY opened_at"
        );
        let tubes = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(site_id).bind(table_no).fetch_all(pool).await?
        });
        Ok(tubes)
    }

    /// Packs closed tubes of a round into a box at a site. Returns, per barcode, None when packed
    /// or the reason it was not (unknown, other round, still open, already in another box).
    pub async fn pack_box(
        &self,
        box_barcode: &str,
        round_id: i64,
        site_id: i64,
        barcodes: &[String],
        now: i64,
        by: &str,
    ) -> StoreResult<Result<Vec<Option<&'static str>>, &'static str>> {
        let result = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, TUBE_WRITER_LOCK);
            let existing: Option<(i64, Option<i64>)> = sqlx::query_as(
                "SELECT round_id, picked_up_at FROM specimen_boxes WHERE barcode = $1",
            )
            .bind(box_barcode)
            .fetch_optional(&mut *tx)
            .await?;
            match existing {
                Some((_, Some(_))) => Err("box_gone"),
                Some((box_round, None)) if box_round != round_id => Err("box_other_round"),
                _ => {
                    let mut verdicts = Vec::with_capacity(barcodes.len());
                    let mut packed = 0i64;
                    for code in barcodes {
                        let tube: Option<(i64, Option<i64>, Option<String>)> = sqlx::query_as(
                            "SELECT round_id, closed_at, box_barcode FROM tubes WHERE barcode = $1",
                        )
                        .bind(code)
                        .fetch_optional(&mut *tx)
                        .await?;
                        let verdict = match tube {
                            None => Some("unknown_tube"),
                            Some((r, _, _)) if r != round_id => Some("tube_of_other_round"),
                            Some((_, None, _)) => Some("tube_open"),
                            Some((_, _, Some(b))) if b != box_barcode => Some("in_other_box"),
                            Some((_, _, Some(_))) => None,
                            Some(_) => {
                                sqlx::query("UPDATE tubes SET box_barcode = $1 WHERE barcode = $2")
                                    .bind(box_barcode)
                                    .bind(code)
                                    .execute(&mut *tx)
                                    .await?;
                                packed += 1;
                                None
                            }
                        };
                        verdicts.push(verdict);
                    }
                    sqlx::query(
                        "INSERT INTO specimen_boxes (barcode, round_id, site_id, tube_count, packed_at, packed_by) \
                         VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (barcode) DO UPDATE SET tube_count = specimen_boxes.tube_count + excluded.tube_count",
                    )
                    .bind(box_barcode)
                    .bind(round_id)
                    .bind(site_id)
                    .bind(packed)
                    .bind(now)
                    .bind(by)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(verdicts)
                }
            }
        });
        Ok(result)
    }

    pub async fn specimen_box(&self, barcode: &str) -> StoreResult<Option<BoxRecord>> {
        let sql = format!("SELECT {BOX_COLUMNS} FROM specimen_boxes WHERE barcode = $1");
        let found = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(barcode).fetch_optional(pool).await?
        });
        Ok(found)
    }

    /// The courier takes the box (first pick-up wins; a repeated scan changes nothing).
    pub async fn box_picked_up(&self, barcode: &str, courier: &str, now: i64) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE specimen_boxes SET picked_up_at = $1, courier = $2 WHERE barcode = $3 AND picked_up_at IS NULL",
            )
            .bind(now)
            .bind(courier)
            .bind(barcode)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// The lab receives the box: the box and all its tubes get the receipt time.
    pub async fn box_received(&self, barcode: &str, lab: &str, now: i64) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE specimen_boxes SET received_at = $1, received_by = $2, \
                 picked_up_at = COALESCE(picked_up_at, $1) WHERE barcode = $3 AND received_at IS NULL",
            )
            .bind(now)
            .bind(lab)
            .bind(barcode)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query("UPDATE tubes SET received_at = $1 WHERE box_barcode = $2 AND received_at IS NULL")
                .bind(now)
                .bind(barcode)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            changed
        });
        Ok(changed == 1)
    }

    /// Boxes of a round not yet received, oldest first.
    pub async fn boxes_in_transit(&self, round_id: i64) -> StoreResult<Vec<BoxRecord>> {
        let sql = format!(
            "SELECT {BOX_COLUMNS} FROM specimen_boxes WHERE round_id = $1 AND received_at IS NULL \
             ORDER BY packed_at LIMIT 500"
        );
        let boxes = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(round_id).fetch_all(pool).await?
        });
        Ok(boxes)
    }

    pub async fn insert_result_upload(&self, upload: &ResultUploadRecord) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO result_uploads (started_at, username, lab_name, file_name, format) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(upload.started_at)
            .bind(&upload.username)
            .bind(&upload.lab_name)
            .bind(&upload.file_name)
            .bind(&upload.format)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    /// Writes the upload's counters (and `finished_at` when set) and moves its heartbeat
    /// (`progress_at = now`): an upload that writes progress is alive, even if a pass had marked
    /// it interrupted meanwhile.
    pub async fn finish_result_upload(
        &self,
        upload: &ResultUploadRecord,
        now: i64,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE result_uploads SET finished_at = $1, rows_total = $2, applied = $3, unchanged = $4, \
                 problems = $5, positives = $6, progress_at = $8, interrupted_at = NULL WHERE id = $7",
            )
            .bind(upload.finished_at)
            .bind(upload.rows_total)
            .bind(upload.applied)
            .bind(upload.unchanged)
            .bind(upload.problems)
            .bind(upload.positives)
            .bind(upload.id)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn result_upload(&self, id: i64) -> StoreResult<Option<ResultUploadRecord>> {
        let upload = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, started_at, finished_at, username, lab_name, file_name, format, rows_total, applied, \
                 unchanged, problems, positives, interrupted_at FROM result_uploads WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(upload)
    }

    pub async fn result_uploads(&self, limit: i64) -> StoreResult<Vec<ResultUploadRecord>> {
        let uploads = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, started_at, finished_at, username, lab_name, file_name, format, rows_total, applied, \
                 unchanged, problems, positives, interrupted_at FROM result_uploads ORDER BY id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(uploads)
    }

    pub async fn insert_result_problems(
        &self,
        problems: &[ResultProblemRecord],
    ) -> StoreResult<()> {
        if problems.is_empty() {
            return Ok(());
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in problems.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO result_problems (upload_id, row_number, tube_barcode, kind, message) ",
                );
                builder.push_values(chunk, |mut b, p| {
                    b.push_bind(p.upload_id)
                        .push_bind(p.row_number)
                        .push_bind(&p.tube_barcode)
                        .push_bind(&p.kind)
                        .push_bind(&p.message);
                });
                builder.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn result_problems(
        &self,
        upload_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<ResultProblemRecord>> {
        let problems = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT upload_id, row_number, tube_barcode, kind, message FROM result_problems \
                 WHERE upload_id = $1 ORDER BY row_number LIMIT $2",
            )
            .bind(upload_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(problems)
    }

    /// Applies a chunk of lab results in one transaction, with everything a result sets off:
    /// a positive pool's members get recheck tasks and `pool_positive` events, a positive single
    /// tube a `single_positive` event, an invalid tube's members recheck tasks, and a recheck tube's
    /// result closes its task (negative: `recheck_negative`, the control lifted).
    /// `scope` limits the tubes to the lab's jurisdiction (site region inside the range).
    pub async fn apply_results(
        &self,
        rows: &[ResultWrite],
        scope: (&str, &str),
        now: i64,
    ) -> StoreResult<Vec<ResultOutcome>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let outcomes = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, TUBE_WRITER_LOCK);
            #[derive(sqlx::FromRow)]
            struct Current {
                barcode: String,
                round_id: i64,
                region_code: String,
                purpose: String,
                capacity: i64,
                closed_at: Option<i64>,
                result: Option<String>,
            }
            let mut current: HashMap<String, Current> = HashMap::new();
            let codes: Vec<&str> = rows.iter().map(|r| r.tube_barcode.as_str()).collect::<HashSet<_>>().into_iter().collect();
            for chunk in codes.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "SELECT barcode, round_id, region_code, purpose, capacity, closed_at, result FROM tubes WHERE barcode IN (",
                );
                let mut list = builder.separated(", ");
                for code in chunk {
                    list.push_bind(*code);
                }
                builder.push(")");
                let found: Vec<Current> = builder.build_query_as().fetch_all(&mut *tx).await?;
                current.extend(found.into_iter().map(|t| (t.barcode.clone(), t)));
            }

            let mut outcomes = Vec::with_capacity(rows.len());
            let mut updates: Vec<&ResultWrite> = Vec::new();
            for row in rows {
                let outcome = match current.get_mut(&row.tube_barcode) {
                    None => ResultOutcome::Rejected(ResultRejection::UnknownTube),
                    Some(tube) if !(tube.region_code.as_str() >= scope.0 && tube.region_code.as_str() < scope.1) => {
                        ResultOutcome::Rejected(ResultRejection::OutsideJurisdiction)
                    }
                    Some(tube) if tube.closed_at.is_none() => ResultOutcome::Rejected(ResultRejection::TubeOpen),
                    Some(tube) => match &tube.result {
                        Some(existing) if *existing == row.result => ResultOutcome::Unchanged,
                        Some(existing) => ResultOutcome::Rejected(ResultRejection::Conflict {
                            existing: existing.clone(),
                            new: row.result.clone(),
                        }),
                        None => {
                            tube.result = Some(row.result.clone());
                            updates.push(row);
                            ResultOutcome::Applied { positive: row.result == "positive" }
                        }
                    },
                };
                outcomes.push(outcome);
            }

            for chunk in updates.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new("WITH v (barcode, result, tested_at, lab_name) AS (");
                builder.push_values(chunk, |mut b, row| {
                    b.push_bind(&row.tube_barcode)
                        .push_bind(&row.result)
                        .push_bind(row.tested_at)
                        .push_bind(&row.lab_name);
                });
                builder.push(") UPDATE tubes SET result = v.result, tested_at = v.tested_at, lab_name = v.lab_name, result_at = ");
                builder.push_bind(now);
                builder.push(", received_at = COALESCE(tubes.received_at, v.tested_at, ");
                builder.push_bind(now);
                builder.push(") FROM v WHERE tubes.barcode = v.barcode");
                builder.build().execute(&mut *tx).await?;
            }

            // What the results set off. Only tubes that are not negative screening pools need more.
            let follow_up: Vec<(&ResultWrite, &Current)> = updates
                .iter()
                .map(|row| (*row, &current[&row.tube_barcode]))
                .filter(|(row, tube)| row.result != "negative" || tube.purpose == "recheck")
                .collect();
            if !follow_up.is_empty() {
                let barcodes: Vec<&str> = follow_up.iter().map(|(row, _)| row.tube_barcode.as_str()).collect();
                let mut members: HashMap<String, Vec<SampleRecord>> = HashMap::new();
                for chunk in barcodes.chunks(ROWS_PER_STATEMENT) {
                    let mut builder = QueryBuilder::new(format!(
                        "SELECT {SAMPLE_COLUMNS} FROM samples WHERE tube_barcode IN ("
                    ));
                    let mut list = builder.separated(", ");
                    for code in chunk {
                        list.push_bind(*code);
                    }
                    builder.push(")");
                    let found: Vec<SampleRecord> = builder.build_query_as().fetch_all(&mut *tx).await?;
                    for sample in found {
                        members.entry(sample.tube_barcode.clone()).or_default().push(sample);
                    }
                }
                for (row, tube) in follow_up {
                    let source = format!("tube:{}", row.tube_barcode);
                    let people = members.get(&row.tube_barcode).map(Vec::as_slice).unwrap_or(&[]);
                    if tube.purpose == "recheck" {
                        let status = row.result.as_str();
                        sqlx::query(
                            "UPDATE recheck_tasks SET status = $1, resolved_at = $2 WHERE sample_tube = $3 AND status = 'sampled'",
                        )
                        .bind(status)
                        .bind(now)
                        .bind(&row.tube_barcode)
                        .execute(&mut *tx)
                        .await?;
                    }
                    for person in people {
                        let (event, task_reason) = match (row.result.as_str(), tube.purpose.as_str(), tube.capacity) {
                            ("positive", "screen", capacity) if capacity > 1 => (Some("pool_positive"), Some("pool_positive")),
                            ("positive", _, _) => (Some("single_positive"), None),
                            ("negative", "recheck", _) => (Some("recheck_negative"), None),
                            ("invalid", _, _) => (None, Some("invalid")),
                            _ => (None, None),
                        };
                        if let Some(kind) = event {
                            sqlx::query(
                                "INSERT INTO person_events (at, kind, id_type, id_number, resident_id, grid_code, source, detail) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                            )
                            .bind(now)
                            .bind(kind)
                            .bind(&person.id_type)
                            .bind(&person.id_number)
                            .bind(person.resident_id)
                            .bind(&person.grid_code)
                            .bind(&source)
                            .bind(format!("round:{}", tube.round_id))
                            .execute(&mut *tx)
                            .await?;
                        }
                        if let Some(reason) = task_reason {
                            sqlx::query(
                                "INSERT INTO recheck_tasks (round_id, source, reason, id_type, id_number, name, resident_id, \
                                 grid_code, created_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending') \
                                 ON CONFLICT (source, id_number, id_type) DO NOTHING",
                            )
                            .bind(tube.round_id)
                            .bind(&source)
                            .bind(reason)
                            .bind(&person.id_type)
                            .bind(&person.id_number)
                            .bind(&person.name)
                            .bind(person.resident_id)
                            .bind(&person.grid_code)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                }
            }
            tx.commit().await?;
            outcomes
        });
        Ok(outcomes)
    }

    /// Progress rows of a round inside the subtree `range`.
    pub async fn round_progress(
        &self,
        round_id: i64,
        range: (&str, &str),
    ) -> StoreResult<Vec<ProgressRow>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT grid_code, target, infants, exempt, sampled, outside, walk_ins FROM round_grid_progress \
                 WHERE round_id = $1 AND grid_code >= $2 AND grid_code < $3 ORDER BY grid_code",
            )
            .bind(round_id)
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Swabs per hour in the subtree `range`: (hour start, count), in time order.
    pub async fn round_hourly(
        &self,
        round_id: i64,
        range: (&str, &str),
    ) -> StoreResult<Vec<(i64, i64)>> {
        let rows: Vec<(i64, Option<i64>)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT hour, CAST(SUM(sampled) AS BIGINT) FROM round_hourly WHERE round_id = $1 AND grid_code >= $2 \
                 AND grid_code < $3 GROUP BY hour ORDER BY hour",
            )
            .bind(round_id)
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(h, n)| (h, n.unwrap_or(0))).collect())
    }

    /// The grid's residents with no screening swab in the round (occasion 0), with their exemption.
    /// Infants born after `infant_cutoff` are left out, as in the target.
    pub async fn missing_in_grid(
        &self,
        round_id: i64,
        grid_code: &str,
        infant_cutoff: Option<&str>,
    ) -> StoreResult<Vec<MissingResident>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT r.id, r.name, r.id_type, r.id_number, r.birth_date, r.phone, r.address, r.household_number, \
                 e.kind AS exemption, e.note AS exemption_note \
                 FROM residents r LEFT JOIN sampling_exemptions e ON e.round_id = $1 AND e.resident_id = r.id \
                 WHERE r.grid_code = $2 AND r.birth_date <= $3 AND NOT EXISTS ( \
                   SELECT 1 FROM samples s WHERE s.id_number = r.id_number AND s.id_type = r.id_type \
                   AND s.round_id = $1 AND s.occasion = 0) \
                 ORDER BY r.household_number, r.id",
            )
            .bind(round_id)
            .bind(grid_code)
            .bind(infant_cutoff.unwrap_or("9999-12-31"))
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Records (or changes) a resident's exemption in a round, keeping the grid's count right.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_exemption(
        &self,
        round_id: i64,
        resident_id: i64,
        grid_code: &str,
        kind: &str,
        note: &str,
        now: i64,
        by: &str,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO sampling_exemptions (round_id, resident_id, grid_code, kind, note, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (round_id, resident_id) DO NOTHING",
            )
            .bind(round_id)
            .bind(resident_id)
            .bind(grid_code)
            .bind(kind)
            .bind(note)
            .bind(now)
            .bind(by)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                sqlx::query(
                    "UPDATE round_grid_progress SET exempt = exempt + 1 WHERE round_id = $1 AND grid_code = $2",
                )
                .bind(round_id)
                .bind(grid_code)
                .execute(&mut *tx)
                .await?;
            } else {
                sqlx::query(
                    "UPDATE sampling_exemptions SET kind = $1, note = $2, created_at = $3, created_by = $4 \
                     WHERE round_id = $5 AND resident_id = $6",
                )
                .bind(kind)
                .bind(note)
                .bind(now)
                .bind(by)
                .bind(round_id)
                .bind(resident_id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Where the round's tubes are in the chain, with mean step times.
    pub async fn tube_chain_counts(&self, round_id: i64) -> StoreResult<TubeChainCounts> {
        let counts = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COUNT(*) AS tubes, \
                 COALESCE(SUM(CASE WHEN closed_at IS NULL THEN 1 ELSE 0 END), 0) AS open, \
                 COALESCE(SUM(CASE WHEN closed_at IS NOT NULL AND box_barcode IS NULL AND received_at IS NULL AND result IS NULL THEN 1 ELSE 0 END), 0) AS closed_not_boxed, \
                 COALESCE(SUM(CASE WHEN box_barcode IS NOT NULL AND received_at IS NULL THEN 1 ELSE 0 END), 0) AS in_transit, \
                 COALESCE(SUM(CASE WHEN received_at IS NOT NULL AND result IS NULL THEN 1 ELSE 0 END), 0) AS received_no_result, \
                 COALESCE(SUM(CASE WHEN result = 'negative' THEN 1 ELSE 0 END), 0) AS negative, \
                 COALESCE(SUM(CASE WHEN result = 'positive' THEN 1 ELSE 0 END), 0) AS positive, \
                 COALESCE(SUM(CASE WHEN result = 'invalid' THEN 1 ELSE 0 END), 0) AS invalid, \
                 CAST(AVG(CASE WHEN received_at IS NOT NULL AND closed_at IS NOT NULL THEN received_at - closed_at END) AS DOUBLE PRECISION) AS mean_to_receipt, \
                 CAST(AVG(CASE WHEN result_at IS NOT NULL AND received_at IS NOT NULL THEN result_at - received_at END) AS DOUBLE PRECISION) AS mean_to_result \
                 FROM tubes WHERE round_id = $1",
            )
            .bind(round_id)
            .fetch_one(pool)
            .await?
        });
        Ok(counts)
    }

    /// Tubes of the round still without a result that were closed before each of `limits`
    /// (the 6/12/24-hour delay classes), counted on the partial index of tubes awaiting a result.
    pub async fn awaiting_result_counts(
        &self,
        round_id: i64,
        limits: [i64; 3],
    ) -> StoreResult<[i64; 3]> {
        let counts: (i64, i64, i64) = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COALESCE(SUM(CASE WHEN closed_at < $2 THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN closed_at < $3 THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN closed_at < $4 THEN 1 ELSE 0 END), 0) \
                 FROM tubes WHERE round_id = $1 AND result IS NULL AND closed_at < $2",
            )
            .bind(round_id)
            .bind(limits[0])
            .bind(limits[1])
            .bind(limits[2])
            .fetch_one(pool)
            .await?
        });
        Ok([counts.0, counts.1, counts.2])
    }

    /// Recheck tasks by status in the subtree `range` (all rounds and antigen positives).
    pub async fn recheck_counts(&self, range: (&str, &str)) -> StoreResult<Vec<(String, i64)>> {
        let counts = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT status, COUNT(*) FROM recheck_tasks WHERE grid_code >= $1 AND grid_code < $2 GROUP BY status ORDER BY status",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(counts)
    }

    pub async fn recheck_tasks(
        &self,
        range: (&str, &str),
        status: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<RecheckTaskRecord>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM recheck_tasks WHERE grid_code >= $1 AND grid_code < $2 \
             AND ($3 = '' OR status = $3) ORDER BY created_at DESC, id LIMIT $4"
        );
        let tasks = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(status.unwrap_or(""))
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(tasks)
    }

    /// How many recheck tasks [`Store::recheck_tasks`] would list without its limit.
    pub async fn count_recheck_tasks(
        &self,
        range: (&str, &str),
        status: Option<&str>,
    ) -> StoreResult<i64> {
        let count: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM recheck_tasks WHERE grid_code >= $1 AND grid_code < $2 \
                 AND ($3 = '' OR status = $3)",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(status.unwrap_or(""))
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }

    /// Every swab of a person with its tube's result, newest first.
    pub async fn person_results(
        &self,
        id_type: &str,
        id_number: &str,
    ) -> StoreResult<Vec<PersonResult>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.round_id, r.name AS round_name, s.tube_barcode, t.capacity, t.purpose, s.sampled_at, \
                 t.result, t.tested_at, t.lab_name \
                 FROM samples s JOIN tubes t ON t.barcode = s.tube_barcode JOIN test_rounds r ON r.id = s.round_id \
                 WHERE s.id_number = $1 AND s.id_type = $2 ORDER BY s.sampled_at DESC LIMIT 100",
            )
            .bind(id_number)
            .bind(id_type)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn person_events_of(
        &self,
        id_type: &str,
        id_number: &str,
    ) -> StoreResult<Vec<PersonEventRecord>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM person_events WHERE id_number = $1 AND id_type = $2 ORDER BY id DESC LIMIT 100"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id_number).bind(id_type).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Events of a kind in the subtree `range`, newest first.
    pub async fn person_events(
        &self,
        kind: &str,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<PersonEventRecord>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM person_events WHERE kind = $1 AND grid_code >= $2 AND grid_code < $3 \
             ORDER BY id DESC LIMIT $4"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(kind).bind(range.0).bind(range.1).bind(limit).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// How many events of a kind lie in the subtree `range`.
    pub async fn count_person_events(&self, kind: &str, range: (&str, &str)) -> StoreResult<i64> {
        let count = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM person_events WHERE kind = $1 AND grid_code >= $2 AND grid_code < $3",
            )
            .bind(kind)
            .bind(range.0)
            .bind(range.1)
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }

    /// Events after `after_id`, in id order: how consuming modules follow the stream.
    pub async fn person_events_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<PersonEventRecord>> {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM person_events WHERE id > $1 ORDER BY id LIMIT $2");
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(after_id).bind(limit).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Residents in the subtree `range` in key group `group` whose last swab (any round) was before
    /// `due_before` or who have none: the routine-testing overdue list.
    pub async fn key_group_overdue(
        &self,
        range: (&str, &str),
        group: &str,
        due_before: i64,
        limit: i64,
    ) -> StoreResult<Vec<KeyGroupDue>> {
        // Whole codes only: "port" must not match "public_transport".
        let pattern = format!("%;{group};%");
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT r.id, r.name, r.id_type, r.id_number, r.grid_code, r.key_groups, \
                 (SELECT MAX(s.sampled_at) FROM samples s WHERE s.id_number = r.id_number AND s.id_type = r.id_type) \
                   AS last_sampled_at \
                 FROM residents r WHERE r.grid_code >= $1 AND r.grid_code < $2 AND (';' || r.key_groups || ';') LIKE $3 \
                 AND NOT EXISTS (SELECT 1 FROM samples s WHERE s.id_number = r.id_number AND s.id_type = r.id_type \
                   AND s.sampled_at >= $4) \
                 ORDER BY r.grid_code, r.id LIMIT $5",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(&pattern)
            .bind(due_before)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Stores an antigen self-test; a positive also gets a recheck (PCR) task routed to the grid and
    /// an `antigen_positive` event, in the same transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_antigen_report(
        &self,
        id_type: &str,
        id_number: &str,
        name: &str,
        resident_id: Option<i64>,
        grid_code: &str,
        tested_at: i64,
        result: &str,
        photo: Option<(&[u8], &str)>,
        now: i64,
        reporter: &str,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, TUBE_WRITER_LOCK);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO antigen_reports (id_type, id_number, resident_id, grid_code, tested_at, result, photo, \
                 photo_type, reported_at, reporter) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(id_type)
            .bind(id_number)
            .bind(resident_id)
            .bind(grid_code)
            .bind(tested_at)
            .bind(result)
            .bind(photo.map(|(bytes, _)| bytes))
            .bind(photo.map(|(_, kind)| kind))
            .bind(now)
            .bind(reporter)
            .fetch_one(&mut *tx)
            .await?;
            if result == "positive" {
                let source = format!("antigen:{id}");
                sqlx::query(
                    "INSERT INTO recheck_tasks (round_id, source, reason, id_type, id_number, name, resident_id, \
                     grid_code, created_at, status) VALUES (NULL, $1, 'antigen_positive', $2, $3, $4, $5, $6, $7, 'pending')",
                )
                .bind(&source)
                .bind(id_type)
                .bind(id_number)
                .bind(name)
                .bind(resident_id)
                .bind(grid_code)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO person_events (at, kind, id_type, id_number, resident_id, grid_code, source, detail) \
                     VALUES ($1, 'antigen_positive', $2, $3, $4, $5, $6, '')",
                )
                .bind(now)
                .bind(id_type)
                .bind(id_number)
                .bind(resident_id)
                .bind(grid_code)
                .bind(&source)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn antigen_reports(
        &self,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<AntigenReportRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, id_type, id_number, resident_id, grid_code, tested_at, result, \
                 (photo IS NOT NULL) AS has_photo, reported_at, reporter FROM antigen_reports \
                 WHERE grid_code >= $1 AND grid_code < $2 ORDER BY reported_at DESC LIMIT $3",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn antigen_reports_of(
        &self,
        id_type: &str,
        id_number: &str,
    ) -> StoreResult<Vec<AntigenReportRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, id_type, id_number, resident_id, grid_code, tested_at, result, \
                 (photo IS NOT NULL) AS has_photo, reported_at, reporter FROM antigen_reports \
                 WHERE id_number = $1 AND id_type = $2 ORDER BY tested_at DESC LIMIT 50",
            )
            .bind(id_number)
            .bind(id_type)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn antigen_photo(&self, id: i64) -> StoreResult<Option<(String, Vec<u8>, String)>> {
        let row: Option<(String, Option<Vec<u8>>, Option<String>)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT grid_code, photo, photo_type FROM antigen_reports WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.and_then(|(grid, photo, kind)| Some((grid, photo?, kind.unwrap_or_default()))))
    }

    /// Refreshes PostgreSQL's planner statistics of the testing tables. A round grows them from
    /// nothing to millions of rows within hours, long before autovacuum's thresholds: with the
    /// statistics of an empty table the planner scans whole tables for one grid's missing list.
    /// SQLite's planner works from the indexes alone and needs nothing.
    pub async fn refresh_testing_statistics(&self) -> StoreResult<()> {
        if let Store::Postgres(pool) = self {
            sqlx::query("ANALYZE samples, tubes, round_grid_progress, recheck_tasks")
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// The resident a login belongs to (residents see their own results only).
    pub async fn user_resident_id(&self, user_id: i64) -> StoreResult<Option<i64>> {
        let id: Option<Option<i64>> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT resident_id FROM users WHERE id = $1").bind(user_id).fetch_optional(pool).await?
        });
        Ok(id.flatten())
    }

    pub async fn link_user_to_resident(&self, user_id: i64, resident_id: i64) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE users SET resident_id = $1 WHERE id = $2")
                .bind(resident_id)
                .bind(user_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

enum Decision<'a> {
    Bind {
        resident: Option<&'a ResidentLite>,
        /// The recheck tasks this swab settles (empty for a screening swab).
        tasks: Vec<i64>,
        occasion: i64,
    },
    Close,
    Reject(ScanRejection),
}

/// Decides one scan against the state so far; on a binding, records the person as taken.
fn decide_scan<'a>(
    scan: &ScanWrite,
    now: i64,
    batches: &[TubeBatchRecord],
    tubes: &mut HashMap<String, TubeState>,
    residents: &'a HashMap<(String, String), ResidentLite>,
    taken: &mut HashMap<(String, String, i64, i64), (String, i64)>,
    pending: &mut HashMap<(String, String), Vec<i64>>,
) -> Decision<'a> {
    let Some(person) = &scan.person else {
        return match tubes.get(scan.tube.as_str()) {
            None => Decision::Reject(ScanRejection::NothingToClose),
            Some(tube) if tube.round_id != scan.round_id => {
                Decision::Reject(ScanRejection::TubeOfOtherRound)
            }
            Some(_) => Decision::Close,
        };
    };
    // The tube: known, or new from a batch issued to this round.
    match tubes.get(scan.tube.as_str()) {
        Some(tube) => {
            if tube.round_id != scan.round_id {
                return Decision::Reject(ScanRejection::TubeOfOtherRound);
            }
            if tube.site_id != scan.site_id || tube.table_no != scan.table_no {
                return Decision::Reject(ScanRejection::TubeAtOtherTable);
            }
            if tube.closed_at.is_some() {
                return Decision::Reject(if tube.members >= tube.capacity {
                    ScanRejection::TubeFull {
                        capacity: tube.capacity,
                    }
                } else {
                    ScanRejection::TubeClosed
                });
            }
            if tube.purpose != scan.purpose.code() {
                let tube_purpose =
                    SamplePurpose::from_code(&tube.purpose).unwrap_or(SamplePurpose::Screen);
                return Decision::Reject(ScanRejection::TubePurposeMismatch { tube_purpose });
            }
        }
        None => {
            let serial = scan.tube.serial() as i64;
            let batch = batches
                .iter()
                .find(|b| b.first_serial <= serial && serial <= b.last_serial);
            match batch {
                None => return Decision::Reject(ScanRejection::UnknownTube),
                Some(b) if b.round_id != scan.round_id => {
                    return Decision::Reject(ScanRejection::TubeOfOtherRound);
                }
                Some(_) => {}
            }
        }
    }
    let key = (person.id_number.clone(), person.id_type.clone());
    let resident = residents.get(&key);
    match resident {
        None if person.name.trim().is_empty() => {
            return Decision::Reject(ScanRejection::NameMissing);
        }
        Some(r) if !person.name.trim().is_empty() && person.name.trim() != r.name => {
            return Decision::Reject(ScanRejection::NameMismatch {
                registered: fangkong_domain::ids::mask_middle(&r.name, 1, 0),
            });
        }
        _ => {}
    }
    let (occasion, task) = match scan.purpose {
        SamplePurpose::Screen => {
            if pending.contains_key(&key) {
                return Decision::Reject(ScanRejection::RecheckPending);
            }
            (scan.screen_occasion, None)
        }
        SamplePurpose::Recheck => match pending.get(&key).and_then(|tasks| tasks.iter().min()) {
            Some(first) => (*first, Some(*first)),
            None => return Decision::Reject(ScanRejection::NoRecheckTask),
        },
    };
    let taken_key = (key.0.clone(), key.1.clone(), scan.round_id, occasion);
    if let Some((tube, sampled_at)) = taken.get(&taken_key) {
        return Decision::Reject(ScanRejection::AlreadySampled {
            tube: tube.clone(),
            sampled_at: *sampled_at,
        });
    }
    taken.insert(taken_key, (scan.tube.as_str().to_string(), scan.sampled_at));
    let tasks = if task.is_some() {
        pending.remove(&key).unwrap_or_default()
    } else {
        Vec::new()
    };
    tubes
        .entry(scan.tube.as_str().to_string())
        .or_insert_with(|| TubeState {
            barcode: scan.tube.as_str().to_string(),
            round_id: scan.round_id,
            site_id: scan.site_id,
            table_no: scan.table_no,
            region_code: scan.site_region.clone(),
            purpose: scan.purpose.code().to_string(),
            capacity: match scan.purpose {
                SamplePurpose::Screen => scan.new_tube_capacity,
                SamplePurpose::Recheck => 1,
            },
            members: 0,
            opened_at: now,
            closed_at: None,
        });
    Decision::Bind {
        resident,
        tasks,
        occasion,
    }
}
