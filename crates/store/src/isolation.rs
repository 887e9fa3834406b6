//! Isolation, transfer and treatment (隔离管控、转运与救治): measures and their test tasks, check-ins,
//! door alarms, sites and rooms, the bulk allocation write, vehicles and transfers, hospitals and
//! admissions. Every state change of a measure is one transaction guarded by the status it expects,
//! with the person event it sets off (`measure_positive`, `measure_released`).
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use sqlx::{AssertSqlSafe, QueryBuilder};

use crate::{Store, StoreResult, begin_locked, with_pool};

/// Serialises the transactions that decide on rooms, vehicles and measures (PostgreSQL advisory
/// lock; SQLite takes its write lock at BEGIN).
const ISOLATION_WRITER_LOCK: i64 = 161_803;
/// Rows per multi-row statement (3 binds a row: well under both backends' bind limits).
const ROWS_PER_STATEMENT: usize = 1_000;

/// A measure to open, with its scheduled tests.
#[derive(Clone)]
pub struct NewMeasure {
    pub source_key: String,
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub household_number: String,
    pub address: String,
    pub birth_date: String,
    pub category: String,
    pub regime: String,
    pub day1: String,
    pub centralised_end: String,
    pub end_date: String,
    pub status: String,
    pub note: String,
    /// (phase kind, day within the phase, due date).
    pub tests: Vec<(String, i64, String)>,
}

impl std::fmt::Debug for NewMeasure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewMeasure")
            .field("source_key", &self.source_key)
            .field("category", &self.category)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, sqlx::FromRow, serde::Serialize)]
pub struct MeasureRecord {
    pub id: i64,
    pub source_key: String,
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub household_number: String,
    pub address: String,
    pub birth_date: String,
    pub category: String,
    pub regime: String,
    pub day1: String,
    pub centralised_end: String,
    pub end_date: String,
    pub status: String,
    pub status_since: i64,
    pub site_id: Option<i64>,
    pub room_id: Option<i64>,
    pub checked_in_at: Option<i64>,
    pub hospital_id: Option<i64>,
    pub released_at: Option<i64>,
    pub created_at: i64,
    /// Free text: how the measure came (落地管控, the case kind) and the carer, if any.
    pub note: String,
}

impl std::fmt::Debug for MeasureRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeasureRecord")
            .field("id", &self.id)
            .field("category", &self.category)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

const MEASURE_COLUMNS: &str = "id, source_key, id_type, id_number, name, phone, resident_id, grid_code, \
     household_number, address, birth_date, category, regime, day1, centralised_end, end_date, status, \
     status_since, site_id, room_id, checked_in_at, hospital_id, released_at, created_at, note";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct MeasureTestRecord {
    pub id: i64,
    pub measure_id: i64,
    pub phase_kind: String,
    pub day: i64,
    pub due_date: String,
    pub result: Option<String>,
    pub recorded_at: Option<i64>,
    pub recorded_by: Option<String>,
}

/// A test task due, with whom it is for.
#[derive(Clone, sqlx::FromRow)]
pub struct DueTestRecord {
    pub test_id: i64,
    pub measure_id: i64,
    pub phase_kind: String,
    pub day: i64,
    pub due_date: String,
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub grid_code: String,
    pub status: String,
    pub site_name: Option<String>,
    pub room_number: Option<String>,
}

impl std::fmt::Debug for DueTestRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DueTestRecord")
            .field("test_id", &self.test_id)
            .field("measure_id", &self.measure_id)
            .finish_non_exhaustive()
    }
}

/// A person event to write with a measure change (kind, source key, JSON detail).
#[derive(Debug, Clone)]
pub struct MeasureEventWrite {
    pub kind: String,
    pub source: String,
    pub detail: String,
}

/// One guarded state change of a measure, all in one transaction.
#[derive(Debug, Clone, Default)]
pub struct MeasureChange {
    pub measure_id: i64,
    pub expected_status: String,
    pub new_status: String,
    pub at: i64,
    /// (test id, result, recorded by): only a test without a result is written.
    pub test_result: Option<(i64, String, String)>,
    /// The person leaves their room: room → cleaning, the measure keeps the site but not the room.
    pub leave_room: bool,
    pub checked_in: bool,
    pub released: bool,
    pub event: Option<MeasureEventWrite>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct IsolationSiteRecord {
    pub id: i64,
    pub name: String,
    pub region_code: String,
    pub address: String,
    pub readiness: String,
    pub staff_count: i64,
    pub note: String,
    pub created_at: i64,
    pub created_by: String,
}

/// A site with its room counts by status.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct IsolationSiteSummary {
    pub id: i64,
    pub name: String,
    pub region_code: String,
    pub address: String,
    pub readiness: String,
    pub staff_count: i64,
    pub rooms: i64,
    pub free: i64,
    pub occupied: i64,
    pub cleaning: i64,
    pub maintenance: i64,
}

#[derive(Clone, sqlx::FromRow, serde::Serialize)]
pub struct RoomRecord {
    pub id: i64,
    pub site_id: i64,
    pub building: String,
    pub floor: i64,
    pub number: String,
    pub status: String,
    pub status_since: i64,
    pub measure_id: Option<i64>,
    pub occupant_name: Option<String>,
    pub occupant_status: Option<String>,
}

impl std::fmt::Debug for RoomRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomRecord")
            .field("id", &self.id)
            .field("number", &self.number)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

const ROOM_SELECT: &str = "SELECT r.id, r.site_id, r.building, r.floor, r.number, r.status, r.status_since, \
     m.id AS measure_id, m.name AS occupant_name, m.status AS occupant_status \
     FROM isolation_rooms r LEFT JOIN isolation_measures m ON m.room_id = r.id";

/// A free room for the allocation (site, the site's region, room), in adjacency order.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FreeRoom {
    pub site_id: i64,
    pub region_code: String,
    pub room_id: i64,
}

/// What the allocation write found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllocationOutcome {
    Written(u64),
    /// A room was no longer free (the number of the first one).
    RoomTaken(String),
    /// A person was no longer waiting for a room.
    PersonMoved(i64),
}

#[derive(Clone, sqlx::FromRow, serde::Serialize)]
pub struct CheckInRecord {
    pub id: i64,
    pub measure_id: i64,
    pub place: String,
    pub day: String,
    pub at: i64,
    pub tenths: i64,
    pub fever: bool,
    pub symptoms: String,
    pub recorded_by: String,
}

impl std::fmt::Debug for CheckInRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckInRecord")
            .field("id", &self.id)
            .field("measure_id", &self.measure_id)
            .finish_non_exhaustive()
    }
}

/// A person at home with their last check-in day and alarms.
#[derive(Clone, sqlx::FromRow)]
pub struct HomeRow {
    pub measure_id: i64,
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub grid_code: String,
    pub category: String,
    pub end_date: String,
    pub last_check_in_day: Option<String>,
    pub last_fever: Option<bool>,
    pub alarms: i64,
}

impl std::fmt::Debug for HomeRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HomeRow")
            .field("measure_id", &self.measure_id)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, sqlx::FromRow)]
pub struct DoorAlarmRecord {
    pub id: i64,
    pub measure_id: i64,
    pub device_id: String,
    pub kind: String,
    pub at: i64,
    pub note: String,
    pub name: String,
    pub grid_code: String,
}

impl std::fmt::Debug for DoorAlarmRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DoorAlarmRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct VehicleRecord {
    pub id: i64,
    pub plate: String,
    pub kind: String,
    pub capacity: i64,
    pub region_code: String,
    pub on_trip: bool,
    pub awaiting_disinfection: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct TransferRecord {
    pub id: i64,
    pub vehicle_id: i64,
    pub plate: String,
    pub vehicle_kind: String,
    pub region_code: String,
    pub site_id: Option<i64>,
    pub hospital_id: Option<i64>,
    pub destination: String,
    pub status: String,
    pub created_at: i64,
    pub created_by: String,
    pub picked_up_at: Option<i64>,
    pub handed_over_at: Option<i64>,
    pub disinfected_at: Option<i64>,
    pub riders: i64,
}

const TRANSFER_SELECT: &str = "SELECT t.id, t.vehicle_id, v.plate, v.kind AS vehicle_kind, t.region_code, t.site_id, \
     t.hospital_id, COALESCE(s.name, h.name, '') AS destination, t.status, t.created_at, t.created_by, \
     t.picked_up_at, t.handed_over_at, t.disinfected_at, \
     (SELECT COUNT(*) FROM transfer_riders tr WHERE tr.transfer_id = t.id) AS riders \
     FROM transfers t JOIN vehicles v ON v.id = t.vehicle_id \
     LEFT JOIN isolation_sites s ON s.id = t.site_id LEFT JOIN hospitals h ON h.id = t.hospital_id";

/// A transfer to create.
#[derive(Debug, Clone)]
pub struct NewTransfer {
    pub vehicle_id: i64,
    pub region_code: String,
    pub site_id: Option<i64>,
    pub hospital_id: Option<i64>,
    pub riders: Vec<i64>,
    pub created_by: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferOutcome {
    Created(i64),
    /// On a trip, or not disinfected since the last one.
    VehicleBusy,
    /// A rider is already on a transfer not handed over (their measure id).
    RiderBusy(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct HospitalRecord {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub region_code: String,
    pub beds: i64,
    pub created_at: i64,
    pub occupied: i64,
}

#[derive(Clone, sqlx::FromRow)]
pub struct AdmissionRecord {
    pub id: i64,
    pub hospital_id: i64,
    pub measure_id: i64,
    pub transfer_id: Option<i64>,
    pub admitted_at: i64,
    pub discharged_at: Option<i64>,
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub grid_code: String,
}

impl std::fmt::Debug for AdmissionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmissionRecord")
            .field("id", &self.id)
            .field("measure_id", &self.measure_id)
            .finish_non_exhaustive()
    }
}

/// People per status in one child region (code prefix), with the oldest `status_since`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StatusCount {
    pub code: String,
    pub status: String,
    pub people: i64,
    pub oldest: i64,
}

/// Rooms of the sites of one child region.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RegionRooms {
    pub code: String,
    pub rooms: i64,
    pub free: i64,
}

/// Statuses in which a person is no longer under a measure.
const CLOSED: &str = "('released', 'hospitalised')";

impl Store {
    // -- measures --------------------------------------------------------------------------------

    /// Opens measures with their tests in one transaction, in multi-row statements. A measure whose
    /// source key exists is skipped (a re-read event), and so is one for a person who already has an
    /// open measure of the same category (or a second one in `measures`). Returns the ids opened, in
    /// input order (skipped ones absent).
    pub async fn insert_measures(
        &self,
        measures: &[NewMeasure],
        now: i64,
    ) -> StoreResult<Vec<i64>> {
        use std::collections::{HashMap, HashSet};
        const MEASURES_PER_STATEMENT: usize = 500;
        let mut ids = Vec::new();
        if measures.is_empty() {
            return Ok(ids);
        }
        with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, ISOLATION_WRITER_LOCK);
            let mut taken: HashSet<(String, String, String)> = HashSet::new();
            for chunk in measures.chunks(MEASURES_PER_STATEMENT) {
                let mut open = QueryBuilder::new(format!(
                    "SELECT id_type, id_number, category FROM isolation_measures WHERE status NOT IN {CLOSED} \
                     AND id_number IN ("
                ));
                let mut list = open.separated(", ");
                for m in chunk {
                    list.push_bind(&m.id_number);
                }
                open.push(")");
                let rows: Vec<(String, String, String)> =
                    open.build_query_as().fetch_all(&mut *tx).await?;
                taken.extend(rows);
            }
            let mut keys = HashSet::new();
            let fresh: Vec<&NewMeasure> = measures
                .iter()
                .filter(|m| {
                    taken.insert((m.id_type.clone(), m.id_number.clone(), m.category.clone()))
                        && keys.insert(m.source_key.as_str())
                })
                .collect();
            let mut opened: HashMap<String, i64> = HashMap::new();
            for chunk in fresh.chunks(MEASURES_PER_STATEMENT) {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO isolation_measures (source_key, id_type, id_number, name, phone, resident_id, \
                     grid_code, household_number, address, birth_date, category, regime, day1, centralised_end, \
                     end_date, status, status_since, created_at, note) ",
                );
                insert.push_values(chunk, |mut b, m| {
                    b.push_bind(&m.source_key)
                        .push_bind(&m.id_type)
                        .push_bind(&m.id_number)
                        .push_bind(&m.name)
                        .push_bind(&m.phone)
                        .push_bind(m.resident_id)
                        .push_bind(&m.grid_code)
                        .push_bind(&m.household_number)
                        .push_bind(&m.address)
                        .push_bind(&m.birth_date)
                        .push_bind(&m.category)
                        .push_bind(&m.regime)
                        .push_bind(&m.day1)
                        .push_bind(&m.centralised_end)
                        .push_bind(&m.end_date)
                        .push_bind(&m.status)
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(&m.note);
                });
                insert.push(" ON CONFLICT (source_key) DO NOTHING RETURNING id, source_key");
                let rows: Vec<(i64, String)> = insert.build_query_as().fetch_all(&mut *tx).await?;
                opened.extend(rows.into_iter().map(|(id, key)| (key, id)));
            }
            let tests: Vec<(i64, &(String, i64, String))> = fresh
                .iter()
                .filter_map(|m| opened.get(&m.source_key).map(|id| (*id, &m.tests)))
                .flat_map(|(id, tests)| tests.iter().map(move |t| (id, t)))
                .collect();
            for chunk in tests.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO measure_tests (measure_id, phase_kind, day, due_date) ",
                );
                builder.push_values(chunk, |mut b, (id, (kind, day, due))| {
                    b.push_bind(*id).push_bind(kind).push_bind(*day).push_bind(due);
                });
                builder.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            ids = fresh
                .iter()
                .filter_map(|m| opened.get(&m.source_key).copied())
                .collect();
        });
        Ok(ids)
    }

    pub async fn isolation_measure(&self, id: i64) -> StoreResult<Option<MeasureRecord>> {
        let sql = format!("SELECT {MEASURE_COLUMNS} FROM isolation_measures WHERE id = $1");
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        Ok(row)
    }

    pub async fn measure_by_source(&self, source_key: &str) -> StoreResult<Option<MeasureRecord>> {
        let sql = format!("SELECT {MEASURE_COLUMNS} FROM isolation_measures WHERE source_key = $1");
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(source_key).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// The person's newest open measure, if any.
    pub async fn open_measure_of(
        &self,
        id_type: &str,
        id_number: &str,
    ) -> StoreResult<Option<MeasureRecord>> {
        let sql = format!(
            "SELECT {MEASURE_COLUMNS} FROM isolation_measures WHERE id_number = $1 AND id_type = $2 \
             AND status NOT IN {CLOSED} ORDER BY id DESC LIMIT 1"
        );
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id_number).bind(id_type).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// Measures in the subtree `range` in one of `statuses` (all when empty), oldest status first.
    pub async fn measures_in(
        &self,
        range: (&str, &str),
        statuses: &[&str],
        limit: i64,
    ) -> StoreResult<Vec<MeasureRecord>> {
        let rows = with_pool!(self, pool => {
            let mut builder = QueryBuilder::new(format!(
                "SELECT {MEASURE_COLUMNS} FROM isolation_measures WHERE grid_code >= "
            ));
            builder.push_bind(range.0).push(" AND grid_code < ").push_bind(range.1);
            if !statuses.is_empty() {
                builder.push(" AND status IN (");
                let mut list = builder.separated(", ");
                for s in statuses {
                    list.push_bind(*s);
                }
                builder.push(")");
            }
            builder.push(" ORDER BY status_since, id LIMIT ").push_bind(limit);
            builder.build_query_as().fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// People per (child region, status) in the subtree, with the oldest status time.
    pub async fn measure_status_counts(
        &self,
        range: (&str, &str),
        child_len: i64,
    ) -> StoreResult<Vec<StatusCount>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT substr(grid_code, 1, CAST($3 AS INTEGER)) AS code, status, COUNT(*) AS people, \
                 MIN(status_since) AS oldest FROM isolation_measures \
                 WHERE grid_code >= $1 AND grid_code < $2 GROUP BY 1, 2 ORDER BY 1, 2",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(child_len)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Measures assigned to or checked in at a site (allocated, in_site), oldest first.
    pub async fn measures_at_site(&self, site_id: i64) -> StoreResult<Vec<MeasureRecord>> {
        let sql = format!(
            "SELECT {MEASURE_COLUMNS} FROM isolation_measures WHERE site_id = $1 \
             AND status IN ('allocated', 'in_site') ORDER BY status_since, id"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(site_id).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// How many tests without a result are due on or before `through` in the subtree.
    pub async fn count_measure_tests_due(
        &self,
        range: (&str, &str),
        through: &str,
    ) -> StoreResult<i64> {
        let count = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM measure_tests t JOIN isolation_measures m ON m.id = t.measure_id \
                 LEFT JOIN isolation_sites s ON s.id = m.site_id WHERE t.result IS NULL AND t.due_date <= $3 \
                 AND ((m.grid_code >= $1 AND m.grid_code < $2) OR (s.region_code >= $1 AND s.region_code < $2)) \
                 AND m.status IN ('awaiting_placement', 'allocated', 'in_site', 'at_home')",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(through)
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }

    /// Replaces a measure's note (the app adds the carer it has checked to it).
    pub async fn set_measure_note(&self, measure_id: i64, note: &str) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            sqlx::query("UPDATE isolation_measures SET note = $1 WHERE id = $2")
                .bind(note)
                .bind(measure_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed == 1)
    }

    pub async fn measure_tests_of(&self, measure_id: i64) -> StoreResult<Vec<MeasureTestRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, measure_id, phase_kind, day, due_date, result, recorded_at, recorded_by \
                 FROM measure_tests WHERE measure_id = $1 ORDER BY due_date",
            )
            .bind(measure_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn measure_test(&self, id: i64) -> StoreResult<Option<MeasureTestRecord>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, measure_id, phase_kind, day, due_date, result, recorded_at, recorded_by \
                 FROM measure_tests WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Tests without a result due on or before `through` of people still under a measure who live
    /// in the subtree or are in one of its sites, oldest due first.
    pub async fn measure_tests_due(
        &self,
        range: (&str, &str),
        through: &str,
        limit: i64,
    ) -> StoreResult<Vec<DueTestRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT t.id AS test_id, t.measure_id, t.phase_kind, t.day, t.due_date, m.name, m.id_type, \
                 m.id_number, m.grid_code, m.status, s.name AS site_name, r.number AS room_number \
                 FROM measure_tests t JOIN isolation_measures m ON m.id = t.measure_id \
                 LEFT JOIN isolation_sites s ON s.id = m.site_id LEFT JOIN isolation_rooms r ON r.id = m.room_id \
                 WHERE t.result IS NULL AND t.due_date <= $3 \
                 AND ((m.grid_code >= $1 AND m.grid_code < $2) OR (s.region_code >= $1 AND s.region_code < $2)) \
                 AND m.status IN ('awaiting_placement', 'allocated', 'in_site', 'at_home') \
                 ORDER BY t.due_date, t.id LIMIT $4",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(through)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Applies one guarded change; false (and nothing written) when the measure is no longer in
    /// `expected_status` or the test already has a result.
    pub async fn apply_measure_change(&self, change: &MeasureChange) -> StoreResult<bool> {
        let applied = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, ISOLATION_WRITER_LOCK);
            let room: Option<(Option<i64>,)> = sqlx::query_as(
                "SELECT room_id FROM isolation_measures WHERE id = $1 AND status = $2",
            )
            .bind(change.measure_id)
            .bind(&change.expected_status)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((room_id,)) = room else {
                return Ok(false);
            };
            if let Some((test_id, result, by)) = &change.test_result {
                let done = sqlx::query(
                    "UPDATE measure_tests SET result = $1, recorded_at = $2, recorded_by = $3 \
                     WHERE id = $4 AND measure_id = $5 AND result IS NULL",
                )
                .bind(result)
                .bind(change.at)
                .bind(by)
                .bind(*test_id)
                .bind(change.measure_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if done == 0 {
                    return Ok(false);
                }
            }
            if change.leave_room
                && let Some(room_id) = room_id
            {
                sqlx::query("UPDATE isolation_rooms SET status = 'cleaning', status_since = $1 WHERE id = $2")
                    .bind(change.at)
                    .bind(room_id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "UPDATE isolation_measures SET status = $1, \
                 status_since = CASE WHEN status = $1 THEN status_since ELSE $2 END, \
                 room_id = CASE WHEN $3 THEN NULL ELSE room_id END, \
                 checked_in_at = CASE WHEN $4 THEN $2 ELSE checked_in_at END, \
                 released_at = CASE WHEN $5 THEN $2 ELSE released_at END WHERE id = $6",
            )
            .bind(&change.new_status)
            .bind(change.at)
            .bind(change.leave_room)
            .bind(change.checked_in)
            .bind(change.released)
            .bind(change.measure_id)
            .execute(&mut *tx)
            .await?;
            if let Some(event) = &change.event {
                sqlx::query(
                    "INSERT INTO person_events (at, kind, id_type, id_number, resident_id, grid_code, source, detail) \
                     SELECT $1, $2, id_type, id_number, resident_id, grid_code, $3, $4 FROM isolation_measures WHERE id = $5",
                )
                .bind(change.at)
                .bind(&event.kind)
                .bind(&event.source)
                .bind(&event.detail)
                .bind(change.measure_id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            true
        });
        Ok(applied)
    }

    // -- sites and rooms -------------------------------------------------------------------------

    pub async fn insert_isolation_site(&self, site: &IsolationSiteRecord) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO isolation_sites (name, region_code, address, readiness, staff_count, note, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(&site.name)
            .bind(&site.region_code)
            .bind(&site.address)
            .bind(&site.readiness)
            .bind(site.staff_count)
            .bind(&site.note)
            .bind(site.created_at)
            .bind(&site.created_by)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    pub async fn isolation_site(&self, id: i64) -> StoreResult<Option<IsolationSiteRecord>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, name, region_code, address, readiness, staff_count, note, created_at, created_by \
                 FROM isolation_sites WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Sites of the subtree with their rooms counted by status, in name order.
    pub async fn isolation_sites(
        &self,
        range: (&str, &str),
    ) -> StoreResult<Vec<IsolationSiteSummary>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.id, s.name, s.region_code, s.address, s.readiness, s.staff_count, \
                 COUNT(r.id) AS rooms, \
                 COALESCE(SUM(CASE WHEN r.status = 'free' THEN 1 ELSE 0 END), 0) AS free, \
                 COALESCE(SUM(CASE WHEN r.status = 'occupied' THEN 1 ELSE 0 END), 0) AS occupied, \
                 COALESCE(SUM(CASE WHEN r.status = 'cleaning' THEN 1 ELSE 0 END), 0) AS cleaning, \
                 COALESCE(SUM(CASE WHEN r.status = 'maintenance' THEN 1 ELSE 0 END), 0) AS maintenance \
                 FROM isolation_sites s LEFT JOIN isolation_rooms r ON r.site_id = s.id \
                 WHERE s.region_code >= $1 AND s.region_code < $2 \
                 GROUP BY s.id, s.name, s.region_code, s.address, s.readiness, s.staff_count ORDER BY s.name, s.id",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Rooms and free rooms of the sites per child region of the subtree.
    pub async fn rooms_by_region(
        &self,
        range: (&str, &str),
        child_len: i64,
    ) -> StoreResult<Vec<RegionRooms>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT substr(s.region_code, 1, CAST($3 AS INTEGER)) AS code, COUNT(r.id) AS rooms, \
                 COALESCE(SUM(CASE WHEN r.status = 'free' THEN 1 ELSE 0 END), 0) AS free \
                 FROM isolation_sites s JOIN isolation_rooms r ON r.site_id = s.id \
                 WHERE s.region_code >= $1 AND s.region_code < $2 GROUP BY 1 ORDER BY 1",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(child_len)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Adds rooms (building, floor, number) to a site; numbers the site has already are skipped.
    pub async fn insert_rooms(
        &self,
        site_id: i64,
        rooms: &[(String, u32, String)],
        now: i64,
    ) -> StoreResult<u64> {
        let mut inserted = 0;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in rooms.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO isolation_rooms (site_id, building, floor, number, status, status_since) ",
                );
                builder.push_values(chunk, |mut b, (building, floor, number)| {
                    b.push_bind(site_id)
                        .push_bind(building)
                        .push_bind(i64::from(*floor))
                        .push_bind(number)
                        .push_bind("free")
                        .push_bind(now);
                });
                builder.push(" ON CONFLICT (site_id, number) DO NOTHING");
                inserted += builder.build().execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
        });
        Ok(inserted)
    }

    pub async fn isolation_rooms_of(&self, site_id: i64) -> StoreResult<Vec<RoomRecord>> {
        let sql =
            format!("{ROOM_SELECT} WHERE r.site_id = $1 ORDER BY r.building, r.floor, r.number");
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(site_id).fetch_all(pool).await?
        });
        Ok(rows)
    }

    pub async fn isolation_room(&self, id: i64) -> StoreResult<Option<RoomRecord>> {
        let sql = format!("{ROOM_SELECT} WHERE r.id = $1");
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        Ok(row)
    }

    pub async fn isolation_room_by_number(
        &self,
        site_id: i64,
        number: &str,
    ) -> StoreResult<Option<RoomRecord>> {
        let sql = format!("{ROOM_SELECT} WHERE r.site_id = $1 AND r.number = $2");
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(site_id).bind(number).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// Moves a room from `from` to `to` (cleaning → free, free ↔ maintenance); false when it was
    /// not in `from`.
    pub async fn set_room_status(
        &self,
        room_id: i64,
        from: &str,
        to: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            sqlx::query("UPDATE isolation_rooms SET status = $1, status_since = $2 WHERE id = $3 AND status = $4")
                .bind(to)
                .bind(now)
                .bind(room_id)
                .bind(from)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Free rooms of the subtree's sites in adjacency order (site, building, floor, number).
    pub async fn free_rooms_in(&self, range: (&str, &str)) -> StoreResult<Vec<FreeRoom>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.id AS site_id, s.region_code, r.id AS room_id FROM isolation_rooms r \
                 JOIN isolation_sites s ON s.id = r.site_id \
                 WHERE s.region_code >= $1 AND s.region_code < $2 AND r.status = 'free' \
                 ORDER BY s.id, r.building, r.floor, r.number",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Writes an allocation (measure, site, room) in one transaction: each room free → occupied,
    /// each measure awaiting_placement → allocated. If any room is not free or any person no longer
    /// waits, nothing is written.
    pub async fn write_allocation(
        &self,
        assignments: &[(i64, i64, i64)],
        now: i64,
    ) -> StoreResult<AllocationOutcome> {
        let outcome = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, ISOLATION_WRITER_LOCK);
            let mut written = 0;
            for chunk in assignments.chunks(ROWS_PER_STATEMENT) {
                let mut taken = QueryBuilder::new(
                    "SELECT number FROM isolation_rooms WHERE status <> 'free' AND id IN (",
                );
                let mut list = taken.separated(", ");
                for (_, _, room) in chunk {
                    list.push_bind(*room);
                }
                taken.push(") LIMIT 1");
                let number: Option<String> =
                    taken.build_query_scalar().fetch_optional(&mut *tx).await?;
                if let Some(number) = number {
                    tx.rollback().await?;
                    return Ok(AllocationOutcome::RoomTaken(number));
                }
                let mut rooms = QueryBuilder::new(
                    "UPDATE isolation_rooms SET status = 'occupied', status_since = ",
                );
                rooms.push_bind(now).push(" WHERE status = 'free' AND id IN (");
                let mut list = rooms.separated(", ");
                for (_, _, room) in chunk {
                    list.push_bind(*room);
                }
                rooms.push(")");
                let changed = rooms.build().execute(&mut *tx).await?.rows_affected();
                if changed != chunk.len() as u64 {
                    tx.rollback().await?;
                    return Ok(AllocationOutcome::RoomTaken(String::new()));
                }
                let mut people = QueryBuilder::new("WITH v (mid, site, room) AS (");
                people.push_values(chunk, |mut b, (measure, site, room)| {
                    b.push_bind(*measure).push_bind(*site).push_bind(*room);
                });
                people.push(
                    ") UPDATE isolation_measures SET status = 'allocated', site_id = v.site, room_id = v.room, \
                     status_since = ",
                );
                people.push_bind(now).push(
                    " FROM v WHERE isolation_measures.id = v.mid AND isolation_measures.status = 'awaiting_placement'",
                );
                let changed = people.build().execute(&mut *tx).await?.rows_affected();
                if changed != chunk.len() as u64 {
                    let mut moved = QueryBuilder::new(
                        "SELECT id FROM isolation_measures WHERE status <> 'allocated' AND id IN (",
                    );
                    let mut list = moved.separated(", ");
                    for (measure, _, _) in chunk {
                        list.push_bind(*measure);
                    }
                    moved.push(") LIMIT 1");
                    let id: Option<i64> = moved.build_query_scalar().fetch_optional(&mut *tx).await?;
                    tx.rollback().await?;
                    return Ok(AllocationOutcome::PersonMoved(id.unwrap_or_default()));
                }
                written += changed;
            }
            tx.commit().await?;
            AllocationOutcome::Written(written)
        });
        Ok(outcome)
    }

    // -- check-ins and alarms --------------------------------------------------------------------

    pub async fn insert_check_in(&self, check_in: &CheckInRecord) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO measure_check_ins (measure_id, place, day, at, tenths, fever, symptoms, recorded_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(check_in.measure_id)
            .bind(&check_in.place)
            .bind(&check_in.day)
            .bind(check_in.at)
            .bind(check_in.tenths)
            .bind(check_in.fever)
            .bind(&check_in.symptoms)
            .bind(&check_in.recorded_by)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    pub async fn check_ins_of(
        &self,
        measure_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<CheckInRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, measure_id, place, day, at, tenths, fever, symptoms, recorded_by FROM measure_check_ins \
                 WHERE measure_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
            )
            .bind(measure_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// The newest check-in of each person checked in at `site_id` (for the rooms grid).
    pub async fn latest_site_temperatures(&self, site_id: i64) -> StoreResult<Vec<CheckInRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT c.id, c.measure_id, c.place, c.day, c.at, c.tenths, c.fever, c.symptoms, c.recorded_by \
                 FROM measure_check_ins c JOIN isolation_measures m ON m.id = c.measure_id \
                 WHERE m.site_id = $1 AND m.room_id IS NOT NULL AND c.id = \
                 (SELECT MAX(c2.id) FROM measure_check_ins c2 WHERE c2.measure_id = c.measure_id)",
            )
            .bind(site_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// People at home (status at_home) in the subtree, with their last check-in day and alarms.
    pub async fn home_rows(&self, range: (&str, &str), limit: i64) -> StoreResult<Vec<HomeRow>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT m.id AS measure_id, m.name, m.id_type, m.id_number, m.grid_code, m.category, m.end_date, \
                 (SELECT MAX(c.day) FROM measure_check_ins c WHERE c.measure_id = m.id AND c.place = 'home') AS last_check_in_day, \
                 (SELECT c.fever FROM measure_check_ins c WHERE c.measure_id = m.id AND c.place = 'home' ORDER BY c.id DESC LIMIT 1) AS last_fever, \
                 (SELECT COUNT(*) FROM door_alarms a WHERE a.measure_id = m.id) AS alarms \
                 FROM isolation_measures m WHERE m.grid_code >= $1 AND m.grid_code < $2 AND m.status = 'at_home' \
                 ORDER BY m.grid_code, m.id LIMIT $3",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn insert_door_alarm(
        &self,
        measure_id: i64,
        device_id: &str,
        kind: &str,
        at: i64,
        received_at: i64,
        note: &str,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO door_alarms (measure_id, device_id, kind, at, received_at, note) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(measure_id)
            .bind(device_id)
            .bind(kind)
            .bind(at)
            .bind(received_at)
            .bind(note)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    pub async fn door_alarms(
        &self,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<DoorAlarmRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.id, a.measure_id, a.device_id, a.kind, a.at, a.note, m.name, m.grid_code \
                 FROM door_alarms a JOIN isolation_measures m ON m.id = a.measure_id \
                 WHERE m.grid_code >= $1 AND m.grid_code < $2 ORDER BY a.at DESC, a.id DESC LIMIT $3",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    // -- vehicles and transfers ------------------------------------------------------------------

    /// Registers a vehicle; a plate registered already is a unique violation.
    pub async fn insert_vehicle(&self, vehicle: &VehicleRecord) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO vehicles (plate, kind, capacity, region_code, on_trip, awaiting_disinfection, created_at) \
                 VALUES ($1, $2, $3, $4, FALSE, FALSE, $5) RETURNING id",
            )
            .bind(&vehicle.plate)
            .bind(&vehicle.kind)
            .bind(vehicle.capacity)
            .bind(&vehicle.region_code)
            .bind(vehicle.created_at)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    pub async fn transfer_vehicle(&self, id: i64) -> StoreResult<Option<VehicleRecord>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, plate, kind, capacity, region_code, on_trip, awaiting_disinfection, created_at \
                 FROM vehicles WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    pub async fn transfer_vehicles(&self, range: (&str, &str)) -> StoreResult<Vec<VehicleRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, plate, kind, capacity, region_code, on_trip, awaiting_disinfection, created_at \
                 FROM vehicles WHERE region_code >= $1 AND region_code < $2 ORDER BY kind, plate",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Dispatches a vehicle with its riders in one transaction (the vehicle must be idle and
    /// disinfected, no rider on another live transfer).
    pub async fn create_transfer(&self, transfer: &NewTransfer) -> StoreResult<TransferOutcome> {
        let outcome = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, ISOLATION_WRITER_LOCK);
            let taken = sqlx::query(
                "UPDATE vehicles SET on_trip = TRUE WHERE id = $1 AND on_trip = FALSE AND awaiting_disinfection = FALSE",
            )
            .bind(transfer.vehicle_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if taken == 0 {
                tx.rollback().await?;
                return Ok(TransferOutcome::VehicleBusy);
            }
            let mut busy = QueryBuilder::new(
                "SELECT tr.measure_id FROM transfer_riders tr JOIN transfers t ON t.id = tr.transfer_id \
                 WHERE t.status <> 'handed_over' AND tr.measure_id IN (",
            );
            let mut list = busy.separated(", ");
            for rider in &transfer.riders {
                list.push_bind(*rider);
            }
            busy.push(") LIMIT 1");
            let busy: Option<i64> = busy.build_query_scalar().fetch_optional(&mut *tx).await?;
            if let Some(rider) = busy {
                tx.rollback().await?;
                return Ok(TransferOutcome::RiderBusy(rider));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO transfers (vehicle_id, region_code, site_id, hospital_id, status, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, 'dispatched', $5, $6) RETURNING id",
            )
            .bind(transfer.vehicle_id)
            .bind(&transfer.region_code)
            .bind(transfer.site_id)
            .bind(transfer.hospital_id)
            .bind(transfer.at)
            .bind(&transfer.created_by)
            .fetch_one(&mut *tx)
            .await?;
            let mut riders = QueryBuilder::new("INSERT INTO transfer_riders (transfer_id, measure_id) ");
            riders.push_values(&transfer.riders, |mut b, rider| {
                b.push_bind(id).push_bind(*rider);
            });
            riders.build().execute(&mut *tx).await?;
            tx.commit().await?;
            TransferOutcome::Created(id)
        });
        Ok(outcome)
    }

    pub async fn transfer_task(&self, id: i64) -> StoreResult<Option<TransferRecord>> {
        let sql = format!("{TRANSFER_SELECT} WHERE t.id = $1");
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// Transfers of the subtree, unfinished first, newest first.
    pub async fn transfer_tasks(
        &self,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<TransferRecord>> {
        let sql = format!(
            "{TRANSFER_SELECT} WHERE t.region_code >= $1 AND t.region_code < $2 \
             ORDER BY CASE WHEN t.status = 'handed_over' THEN 1 ELSE 0 END, t.id DESC LIMIT $3"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(range.0).bind(range.1).bind(limit).fetch_all(pool).await?
        });
        Ok(rows)
    }

    pub async fn transfer_riders(&self, transfer_id: i64) -> StoreResult<Vec<MeasureRecord>> {
        let sql = format!(
            "SELECT {MEASURE_COLUMNS} FROM isolation_measures WHERE id IN \
             (SELECT measure_id FROM transfer_riders WHERE transfer_id = $1) ORDER BY id"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(transfer_id).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Measure ids on a transfer not yet handed over (people already on their way).
    pub async fn riders_on_live_transfers(&self) -> StoreResult<Vec<i64>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT tr.measure_id FROM transfer_riders tr JOIN transfers t ON t.id = tr.transfer_id \
                 WHERE t.status <> 'handed_over'",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Moves a transfer from `from` to `to`. Handing over frees the vehicle (awaiting disinfection)
    /// and, for a hospital, admits every rider (measure → hospitalised). False when not in `from`.
    pub async fn advance_transfer(
        &self,
        id: i64,
        from: &str,
        to: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, ISOLATION_WRITER_LOCK);
            let changed = sqlx::query(
                "UPDATE transfers SET status = $1, \
                 picked_up_at = CASE WHEN $1 = 'picked_up' THEN $2 ELSE picked_up_at END, \
                 handed_over_at = CASE WHEN $1 = 'handed_over' THEN $2 ELSE handed_over_at END \
                 WHERE id = $3 AND status = $4",
            )
            .bind(to)
            .bind(now)
            .bind(id)
            .bind(from)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            if to == "handed_over" {
                sqlx::query(
                    "UPDATE vehicles SET on_trip = FALSE, awaiting_disinfection = TRUE \
                     WHERE id = (SELECT vehicle_id FROM transfers WHERE id = $1)",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let hospital: Option<i64> =
                    sqlx::query_scalar("SELECT hospital_id FROM transfers WHERE id = $1")
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                if let Some(hospital) = hospital {
                    sqlx::query(
                        "INSERT INTO hospital_admissions (hospital_id, measure_id, transfer_id, admitted_at) \
                         SELECT $1, measure_id, transfer_id, $2 FROM transfer_riders WHERE transfer_id = $3",
                    )
                    .bind(hospital)
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE isolation_measures SET status = 'hospitalised', status_since = $1, hospital_id = $2 \
                         WHERE id IN (SELECT measure_id FROM transfer_riders WHERE transfer_id = $3)",
                    )
                    .bind(now)
                    .bind(hospital)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            true
        });
        Ok(changed)
    }

    /// Terminal disinfection of a vehicle after its trip; false when it was not waiting for one.
    pub async fn disinfect_vehicle(&self, vehicle_id: i64, now: i64) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE vehicles SET awaiting_disinfection = FALSE WHERE id = $1 AND awaiting_disinfection = TRUE",
            )
            .bind(vehicle_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query(
                "UPDATE transfers SET disinfected_at = $1 WHERE vehicle_id = $2 AND status = 'handed_over' \
                 AND disinfected_at IS NULL",
            )
            .bind(now)
            .bind(vehicle_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            changed == 1
        });
        Ok(changed)
    }

    // -- hospitals -------------------------------------------------------------------------------

    pub async fn insert_treatment_hospital(&self, hospital: &HospitalRecord) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO hospitals (name, kind, region_code, beds, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(&hospital.name)
            .bind(&hospital.kind)
            .bind(&hospital.region_code)
            .bind(hospital.beds)
            .bind(hospital.created_at)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    /// Hospitals of the subtree with their beds occupied (admissions not discharged).
    pub async fn treatment_hospitals(
        &self,
        range: (&str, &str),
    ) -> StoreResult<Vec<HospitalRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT h.id, h.name, h.kind, h.region_code, h.beds, h.created_at, \
                 (SELECT COUNT(*) FROM hospital_admissions a WHERE a.hospital_id = h.id AND a.discharged_at IS NULL) AS occupied \
                 FROM hospitals h WHERE h.region_code >= $1 AND h.region_code < $2 ORDER BY h.kind, h.name",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn treatment_hospital(&self, id: i64) -> StoreResult<Option<HospitalRecord>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT h.id, h.name, h.kind, h.region_code, h.beds, h.created_at, \
                 (SELECT COUNT(*) FROM hospital_admissions a WHERE a.hospital_id = h.id AND a.discharged_at IS NULL) AS occupied \
                 FROM hospitals h WHERE h.id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Admissions of the subtree's hospitals, in hospital first, newest first.
    pub async fn hospital_admissions(
        &self,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<AdmissionRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.id, a.hospital_id, a.measure_id, a.transfer_id, a.admitted_at, a.discharged_at, \
                 m.name, m.id_type, m.id_number, m.grid_code \
                 FROM hospital_admissions a JOIN hospitals h ON h.id = a.hospital_id \
                 JOIN isolation_measures m ON m.id = a.measure_id \
                 WHERE h.region_code >= $1 AND h.region_code < $2 \
                 ORDER BY CASE WHEN a.discharged_at IS NULL THEN 0 ELSE 1 END, a.admitted_at DESC, a.id DESC LIMIT $3",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn hospital_admission(&self, id: i64) -> StoreResult<Option<(i64, Option<i64>)>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as("SELECT hospital_id, discharged_at FROM hospital_admissions WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// Discharges an admission; false when it was discharged already.
    pub async fn discharge_admission(&self, admission_id: i64, now: i64) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            sqlx::query("UPDATE hospital_admissions SET discharged_at = $1 WHERE id = $2 AND discharged_at IS NULL")
                .bind(now)
                .bind(admission_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Appends a person event as another module would (tests and the demo use it to play
    /// investigation's part).
    #[allow(clippy::too_many_arguments)]
    pub async fn append_person_event(
        &self,
        at: i64,
        kind: &str,
        id_type: &str,
        id_number: &str,
        resident_id: Option<i64>,
        grid_code: &str,
        source: &str,
        detail: &str,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO person_events (at, kind, id_type, id_number, resident_id, grid_code, source, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(at)
            .bind(kind)
            .bind(id_type)
            .bind(id_number)
            .bind(resident_id)
            .bind(grid_code)
            .bind(source)
            .bind(detail)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }
}
