//! Isolation, transfer and treatment (隔离管控、转运与救治): measures and their test tasks, check-ins,
//! door alarms, sites and rooms, the bulk allocation write, vehicles and transfers, hospitals and
//! admissions. Every state change of a measure is one transaction guarded by the status it expects,
//! with the person event it sets off (`measure_positive`, `measure_released`).

mod home;
mod hospitals;
mod measures;
mod people;
mod sites;
mod transfers;

pub use home::MeasureMove;

use sqlx::{AssertSqlSafe, QueryBuilder};

use fangkong_domain::investigation::Regime;
use fangkong_domain::isolation::{
    HospitalKind, MeasureKind, MeasureStatus, PersonCategory, Readiness, RoomStatus, TestOutcome,
    TransferStatus, VehicleKind,
};
use fangkong_domain::personal::{Address, DocumentNumber, PersonName};
use fangkong_domain::phone::PhoneNumber;
use fangkong_domain::region::RegionCode;

use crate::typed::{
    NullableText, StoredCode, StoredOptionalCode, StoredPhone, StoredRegion, optional_stored_code,
    stored_code,
};
use crate::{Store, StoreResult, begin_locked, with_pool};

/// Serialises the transactions that decide on rooms, vehicles and measures (PostgreSQL advisory
/// lock; SQLite takes its write lock at BEGIN).
const ISOLATION_WRITER_LOCK: i64 = 161_803;
/// Rows per multi-row statement (3 binds a row: well under both backends' bind limits).
const ROWS_PER_STATEMENT: usize = 1_000;

/// A measure to open, with its scheduled tests.
#[derive(Debug, Clone)]
pub struct NewMeasure {
    pub source_key: String,
    pub id_type: String,
    pub id_number: DocumentNumber,
    pub name: PersonName,
    pub phone: Option<PhoneNumber>,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub household_number: String,
    pub address: Address,
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

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct MeasureRecord {
    pub id: i64,
    pub source_key: String,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    #[sqlx(try_from = "StoredPhone")]
    pub phone: Option<PhoneNumber>,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub household_number: String,
    #[sqlx(try_from = "String")]
    pub address: Address,
    pub birth_date: String,
    #[sqlx(try_from = "StoredCode<PersonCategory>")]
    pub category: PersonCategory,
    #[sqlx(try_from = "StoredCode<Regime>")]
    pub regime: Regime,
    pub day1: String,
    pub centralised_end: String,
    pub end_date: String,
    #[sqlx(try_from = "StoredCode<MeasureStatus>")]
    #[serde(serialize_with = "stored_code")]
    pub status: MeasureStatus,
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

const MEASURE_COLUMNS: &str = "id, source_key, id_type, id_number, name, phone, resident_id, grid_code, \
     household_number, address, birth_date, category, regime, day1, centralised_end, end_date, status, \
     status_since, site_id, room_id, checked_in_at, hospital_id, released_at, created_at, note";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct MeasureTestRecord {
    pub id: i64,
    pub measure_id: i64,
    #[sqlx(try_from = "StoredCode<MeasureKind>")]
    pub phase_kind: MeasureKind,
    pub day: i64,
    pub due_date: String,
    #[sqlx(try_from = "StoredOptionalCode<TestOutcome>")]
    pub result: Option<TestOutcome>,
    pub recorded_at: Option<i64>,
    pub recorded_by: Option<String>,
}

/// A test task due, with whom it is for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueTestRecord {
    pub test_id: i64,
    pub measure_id: i64,
    #[sqlx(try_from = "StoredCode<MeasureKind>")]
    pub phase_kind: MeasureKind,
    pub day: i64,
    pub due_date: String,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub grid_code: String,
    #[sqlx(try_from = "StoredCode<MeasureStatus>")]
    pub status: MeasureStatus,
    pub site_name: Option<String>,
    pub room_number: Option<String>,
}

/// A person event to write with a measure change (kind, source key, JSON detail).
#[derive(Debug, Clone)]
pub struct MeasureEventWrite {
    pub kind: String,
    pub source: String,
    pub detail: String,
}

/// One guarded state change of a measure, all in one transaction.
#[derive(Debug, Clone)]
pub struct MeasureChange {
    pub measure_id: i64,
    pub expected_status: MeasureStatus,
    pub new_status: MeasureStatus,
    pub at: i64,
    /// (test id, result, recorded by): only a test without a result is written.
    pub test_result: Option<(i64, String, String)>,
    /// The person leaves their room: room → cleaning, the measure keeps the site but not the room.
    pub leave_room: bool,
    /// The person leaves hospital: the measure's open admission closes at `at` (the bed is free).
    pub leave_hospital: bool,
    pub checked_in: bool,
    pub released: bool,
    pub event: Option<MeasureEventWrite>,
    /// The audit record of a change a user makes, written in the change's transaction (none for
    /// the changes the event passes make).
    pub audit: Option<crate::AuditRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct IsolationSiteRecord {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub address: String,
    #[sqlx(try_from = "StoredCode<Readiness>")]
    #[serde(serialize_with = "stored_code")]
    pub readiness: Readiness,
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
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub address: String,
    #[sqlx(try_from = "StoredCode<Readiness>")]
    #[serde(serialize_with = "stored_code")]
    pub readiness: Readiness,
    pub staff_count: i64,
    pub rooms: i64,
    pub free: i64,
    pub occupied: i64,
    pub cleaning: i64,
    pub maintenance: i64,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct RoomRecord {
    pub id: i64,
    pub site_id: i64,
    pub building: String,
    pub floor: i64,
    pub number: String,
    #[sqlx(try_from = "StoredCode<RoomStatus>")]
    #[serde(serialize_with = "stored_code")]
    pub status: RoomStatus,
    pub status_since: i64,
    pub measure_id: Option<i64>,
    #[sqlx(try_from = "NullableText")]
    pub occupant_name: Option<PersonName>,
    #[sqlx(try_from = "StoredOptionalCode<MeasureStatus>")]
    #[serde(serialize_with = "optional_stored_code")]
    pub occupant_status: Option<MeasureStatus>,
}

const ROOM_SELECT: &str = "SELECT r.id, r.site_id, r.building, r.floor, r.number, r.status, r.status_since, \
     m.id AS measure_id, m.name AS occupant_name, m.status AS occupant_status \
     FROM isolation_rooms r LEFT JOIN isolation_measures m ON m.room_id = r.id";

/// A free room for the allocation (site, the site's region, room), in adjacency order.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FreeRoom {
    pub site_id: i64,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
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
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HomeRow {
    pub measure_id: i64,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub grid_code: String,
    #[sqlx(try_from = "StoredCode<PersonCategory>")]
    pub category: PersonCategory,
    pub end_date: String,
    pub last_check_in_day: Option<String>,
    pub last_fever: Option<bool>,
    pub alarms: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DoorAlarmRecord {
    pub id: i64,
    pub measure_id: i64,
    pub device_id: String,
    pub kind: String,
    pub at: i64,
    pub note: String,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    pub grid_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct VehicleRecord {
    pub id: i64,
    pub plate: String,
    #[sqlx(try_from = "StoredCode<VehicleKind>")]
    #[serde(serialize_with = "stored_code")]
    pub kind: VehicleKind,
    pub capacity: i64,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub on_trip: bool,
    pub awaiting_disinfection: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct TransferRecord {
    pub id: i64,
    pub vehicle_id: i64,
    pub plate: String,
    #[sqlx(try_from = "StoredCode<VehicleKind>")]
    #[serde(serialize_with = "stored_code")]
    pub vehicle_kind: VehicleKind,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub site_id: Option<i64>,
    pub hospital_id: Option<i64>,
    pub destination: String,
    #[sqlx(try_from = "StoredCode<TransferStatus>")]
    #[serde(serialize_with = "stored_code")]
    pub status: TransferStatus,
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
    #[sqlx(try_from = "StoredCode<HospitalKind>")]
    #[serde(serialize_with = "stored_code")]
    pub kind: HospitalKind,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub beds: i64,
    pub created_at: i64,
    pub occupied: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdmissionRecord {
    pub id: i64,
    pub hospital_id: i64,
    pub measure_id: i64,
    pub transfer_id: Option<i64>,
    pub admitted_at: i64,
    pub discharged_at: Option<i64>,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub grid_code: String,
}

/// People per status in one child region (code prefix), with the oldest `status_since`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StatusCount {
    pub code: String,
    #[sqlx(try_from = "StoredCode<MeasureStatus>")]
    pub status: MeasureStatus,
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
