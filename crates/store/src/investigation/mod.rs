//! Cases, trajectories, contacts and transmission links (流调溯源).
//!
//! A case or a contact and the `person_events` row that tells the other modules about it are
//! written in one transaction: the health code, leads and isolation modules never miss one and
//! never see one that was rolled back. The store decides nothing: the application classifies.

use sqlx::{AssertSqlSafe, QueryBuilder};

use fangkong_domain::investigation::cases::CaseStatus;
use fangkong_domain::investigation::{
    CaseKind, ContactCategory, ContactStatus, ExposureKind, FoundBy, Regime, Severity,
};
use fangkong_domain::person::Sex;
use fangkong_domain::personal::{Address, DocumentNumber, PersonName};
use fangkong_domain::phone::PhoneNumber;
use fangkong_domain::region::RegionCode;

use crate::typed::{StoredCode, StoredOptionalCode, StoredPhone, StoredRegion, stored_code};
use crate::{Store, StoreError, StoreResult, with_pool};

/// Inside a `with_pool!` body: appends a person event to transaction `$tx`.
macro_rules! insert_event {
    ($tx:expr, $at:expr, $kind:expr, $id_type:expr, $id_number:expr, $resident:expr, $grid:expr, $source:expr, $detail:expr) => {
        sqlx::query(
            "INSERT INTO person_events (at, kind, id_type, id_number, resident_id, grid_code, source, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind($at)
        .bind($kind)
        .bind($id_type)
        .bind($id_number)
        .bind($resident)
        .bind($grid)
        .bind($source)
        .bind($detail)
        .execute(&mut *$tx)
        .await?
    };
}

/// Inside a `with_pool!` body: moves counter `$what` of region `$region` by `$delta` in `$tx`.
macro_rules! bump_count {
    ($tx:expr, $region:expr, $what:expr, $delta:expr) => {
        sqlx::query(
            "INSERT INTO investigation_counts (region_code, what, n) VALUES ($1, $2, $3) \
             ON CONFLICT (region_code, what) DO UPDATE SET n = investigation_counts.n + excluded.n",
        )
        .bind($region)
        .bind($what)
        .bind($delta)
        .execute(&mut *$tx)
        .await?
    };
}

/// Inside a `with_pool!` body: moves the epidemic curve's counters (`case_day_counts`) of the
/// (basis, day, kind) keys `$keys` in region `$region` by `$delta` in `$tx`.
macro_rules! move_case_days {
    ($tx:expr, $region:expr, $keys:expr, $delta:expr) => {
        for (basis, day, kind) in $keys {
            sqlx::query(
                "INSERT INTO case_day_counts (region_code, basis, day, kind, n) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (region_code, basis, day, kind) DO UPDATE SET n = case_day_counts.n + excluded.n",
            )
            .bind($region)
            .bind(basis)
            .bind(day)
            .bind(kind)
            .bind($delta)
            .execute(&mut *$tx)
            .await?;
        }
    };
}

/// What places a case on the epidemic curve, read in a write's transaction before and after it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct CaseCurveRow {
    pub kind: String,
    pub status: String,
    pub region_code: String,
    pub onset_date: Option<String>,
    pub first_positive_at: Option<i64>,
    pub found_at: i64,
    pub reported_at: Option<i64>,
}

pub(crate) const CASE_CURVE_COLUMNS: &str =
    "kind, status, region_code, onset_date, first_positive_at, found_at, reported_at";

impl CaseCurveRow {
    /// The counter keys the case stands on (none when excluded).
    pub(crate) fn keys(&self) -> Vec<(&'static str, String, String)> {
        fangkong_domain::command::curve::curve_keys(
            &self.kind,
            &self.status,
            fangkong_domain::command::curve::CaseDates {
                onset_date: self.onset_date.as_deref(),
                first_positive_at: self.first_positive_at,
                found_at: self.found_at,
                reported_at: self.reported_at,
            },
        )
    }
}

/// A case as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct CaseRecord {
    pub id: i64,
    pub case_key: String,
    pub case_number: String,
    #[sqlx(try_from = "StoredCode<CaseKind>")]
    pub kind: CaseKind,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub resident_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    /// The register's code (M/F); `None` when neither a card nor the register says.
    #[sqlx(try_from = "StoredOptionalCode<Sex>")]
    pub sex: Option<Sex>,
    pub birth_date: String,
    #[sqlx(try_from = "StoredPhone")]
    pub phone: Option<PhoneNumber>,
    #[sqlx(try_from = "String")]
    pub address: Address,
    pub grid_code: String,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub onset_date: Option<String>,
    pub first_positive_at: Option<i64>,
    #[sqlx(try_from = "StoredCode<FoundBy>")]
    pub found_by: FoundBy,
    pub found_at: i64,
    #[sqlx(try_from = "StoredCode<Severity>")]
    pub severity: Severity,
    pub hospital: String,
    #[sqlx(try_from = "StoredCode<CaseStatus>")]
    pub status: CaseStatus,
    pub status_at: Option<i64>,
    #[sqlx(try_from = "StoredCode<Regime>")]
    pub regime: Regime,
    pub reported_at: Option<i64>,
    pub investigated_at: Option<i64>,
    pub isolated_at: Option<i64>,
    pub infector_case_id: Option<i64>,
    pub infector_note: String,
    pub public_summary: String,
    pub created_by: String,
    pub created_at: i64,
}

const CASE_COLUMNS: &str = "id, case_key, case_number, kind, id_type, id_number, resident_id, name, sex, \
     birth_date, phone, address, grid_code, region_code, onset_date, first_positive_at, found_by, found_at, \
     severity, hospital, status, status_at, regime, reported_at, investigated_at, isolated_at, \
     infector_case_id, infector_note, public_summary, created_by, created_at";

/// A new case. `case_number_prefix` + the id becomes its number (藁城-00012).
#[derive(Clone)]
pub struct CaseWrite {
    pub case_key: String,
    pub case_number_prefix: String,
    pub kind: String,
    pub id_type: String,
    pub id_number: DocumentNumber,
    pub resident_id: Option<i64>,
    pub name: PersonName,
    pub sex: String,
    pub birth_date: String,
    pub phone: Option<PhoneNumber>,
    pub address: Address,
    pub grid_code: String,
    pub region_code: String,
    pub onset_date: Option<String>,
    pub first_positive_at: Option<i64>,
    pub found_by: String,
    pub found_at: i64,
    pub severity: String,
    pub hospital: String,
    pub regime: String,
    pub reported_at: Option<i64>,
    pub isolated_at: Option<i64>,
    pub infector_case_id: Option<i64>,
    pub infector_note: String,
    pub created_by: String,
    pub created_at: i64,
    /// The JSON detail of the `case_reported` event.
    pub event_detail: String,
}

impl CaseWrite {
    /// What places the new case on the epidemic curve (it opens active).
    pub(crate) fn curve_row(&self) -> CaseCurveRow {
        CaseCurveRow {
            kind: self.kind.clone(),
            status: "active".into(),
            region_code: self.region_code.clone(),
            onset_date: self.onset_date.clone(),
            first_positive_at: self.first_positive_at,
            found_at: self.found_at,
            reported_at: self.reported_at,
        }
    }
}

impl std::fmt::Debug for CaseWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseWrite")
            .field("case_key", &self.case_key)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A change to a case the epidemiologist makes on its page.
#[derive(Debug, Clone)]
pub enum CaseUpdate {
    Reported {
        at: i64,
    },
    Investigated {
        at: i64,
    },
    Isolated {
        at: i64,
    },
    Clinical {
        severity: String,
        hospital: String,
    },
    Kind {
        kind: String,
    },
    /// Discharged or excluded; `event_kind`/`event_detail` tell the other modules.
    Closed {
        status: String,
        at: i64,
        event_kind: String,
        event_detail: String,
    },
    Infector {
        infector_case_id: Option<i64>,
        note: String,
    },
    PublicSummary {
        text: String,
    },
}

/// One stop of a case's trajectory.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct CaseStopRecord {
    pub id: i64,
    pub case_id: i64,
    pub from_at: i64,
    pub to_at: Option<i64>,
    pub place_kind: String,
    pub place_name: String,
    pub address: String,
    pub region_code: String,
    pub source: String,
    pub source_key: String,
    pub public: bool,
    pub created_by: String,
    pub created_at: i64,
}

/// A contact as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ContactRecord {
    pub id: i64,
    pub case_id: i64,
    #[sqlx(try_from = "StoredRegion")]
    pub case_region_code: RegionCode,
    pub via_contact_id: Option<i64>,
    pub person_key: String,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub resident_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    #[sqlx(try_from = "StoredPhone")]
    pub phone: Option<PhoneNumber>,
    #[sqlx(try_from = "String")]
    pub address: Address,
    pub grid_code: String,
    #[sqlx(try_from = "StoredCode<ExposureKind>")]
    #[serde(serialize_with = "stored_code")]
    pub exposure_kind: ExposureKind,
    pub exposure_detail: String,
    pub protected: bool,
    pub first_exposure_at: i64,
    pub last_exposure_at: i64,
    #[sqlx(try_from = "StoredCode<ContactCategory>")]
    pub category: ContactCategory,
    pub reason: String,
    #[sqlx(try_from = "StoredCode<Regime>")]
    pub regime: Regime,
    #[sqlx(try_from = "StoredCode<ContactStatus>")]
    pub status: ContactStatus,
    pub isolated_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
}

const CONTACT_COLUMNS: &str = "id, case_id, case_region_code, via_contact_id, person_key, id_type, id_number, \
     resident_id, name, phone, address, grid_code, exposure_kind, exposure_detail, protected, \
     first_exposure_at, last_exposure_at, category, reason, regime, status, isolated_at, created_by, created_at";

/// A new contact; `event_kind` is `close_contact`/`secondary_contact` (none for a general contact).
#[derive(Clone)]
pub struct ContactWrite {
    pub case_id: i64,
    pub case_region_code: String,
    pub via_contact_id: Option<i64>,
    pub person_key: String,
    pub id_type: String,
    pub id_number: DocumentNumber,
    pub resident_id: Option<i64>,
    pub name: PersonName,
    pub phone: Option<PhoneNumber>,
    pub address: Address,
    pub grid_code: String,
    pub exposure_kind: String,
    pub exposure_detail: String,
    pub protected: bool,
    pub first_exposure_at: i64,
    pub last_exposure_at: i64,
    pub category: String,
    pub reason: String,
    pub regime: String,
    pub created_by: String,
    pub created_at: i64,
    pub event_kind: Option<String>,
    /// The JSON detail of the event, with `{contact_id}` standing for the new row's id.
    pub event_detail: String,
}

impl std::fmt::Debug for ContactWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContactWrite")
            .field("case_id", &self.case_id)
            .field("category", &self.category)
            .finish_non_exhaustive()
    }
}

/// Counts of cases per kind and status, and the deadlines missed, in a jurisdiction.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CaseCounts {
    pub confirmed: i64,
    pub asymptomatic: i64,
    pub suspected: i64,
    pub initial_screen_positive: i64,
    pub active: i64,
    pub discharged: i64,
    pub report_overdue: i64,
    pub investigation_overdue: i64,
    pub close_contacts: i64,
    pub secondary_contacts: i64,
    pub general_contacts: i64,
}

/// The overview's line of one child region.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChildCaseCounts {
    pub code: String,
    pub cases: i64,
    pub active: i64,
    pub report_overdue: i64,
    pub close_contacts: i64,
    pub secondary_contacts: i64,
}

/// One case in the chain picture.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChainCaseRow {
    pub id: i64,
    pub infector_case_id: Option<i64>,
    #[sqlx(try_from = "StoredCode<CaseKind>")]
    pub kind: CaseKind,
    pub case_number: String,
    pub contacts: i64,
}

/// Filters of the case directory.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub kind: Option<String>,
    pub status: Option<String>,
    /// Only cases whose report (2 h) or investigation (24 h) is not done and past due at `now`.
    pub overdue_at: Option<(i64, i64, i64)>,
}

impl StoreError {
    /// True when a contact write failed because the person is already a contact of that case.
    pub fn is_duplicate_contact(&self) -> bool {
        self.is_unique_violation()
    }
}

mod bulk;
mod bulletin;
mod cases;
mod chains;
mod contacts;
mod people;
mod trajectories;
