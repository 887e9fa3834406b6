//! Households and residents (实有人口): the batch write that imports and edits share, searches, pages.
//! `batch` (the atomic write), `residents`, `households`, `moves`.

use std::collections::{HashMap, HashSet};

use sqlx::{AssertSqlSafe, QueryBuilder};

use fangkong_domain::person::Sex;
use fangkong_domain::personal::{Address, DocumentNumber, PersonName};
use fangkong_domain::phone::PhoneNumber;

use crate::typed::StoredPhone;
use crate::{Store, StoreError, StoreResult, begin_locked, with_pool};

const RESIDENT_COLUMNS: &str = "id, id_type, id_number, name, sex, birth_date, phone, address, \
     household_number, relation, grid_code, key_groups, content_hash, updated_at";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ResidentRecord {
    pub id: i64,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    /// Sent in JSON as its stored code (`M`/`F`), as before the type.
    #[sqlx(try_from = "crate::typed::StoredCode<Sex>")]
    #[serde(serialize_with = "crate::typed::stored_code")]
    pub sex: Sex,
    pub birth_date: String,
    #[sqlx(try_from = "StoredPhone")]
    pub phone: Option<PhoneNumber>,
    #[sqlx(try_from = "String")]
    pub address: Address,
    pub household_number: String,
    pub relation: String,
    pub grid_code: String,
    pub key_groups: String,
    pub content_hash: String,
    pub updated_at: i64,
}

/// A resident as written by an import row or an edit; `content_hash` covers every other field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentWrite {
    pub id_type: String,
    pub id_number: DocumentNumber,
    pub name: PersonName,
    pub sex: Sex,
    pub birth_date: String,
    pub phone: Option<PhoneNumber>,
    pub address: Address,
    pub household_number: String,
    pub relation: String,
    pub grid_code: String,
    pub key_groups: String,
    pub content_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct HouseholdRecord {
    pub number: String,
    pub grid_code: String,
    pub address: String,
    pub created_at: i64,
    pub members: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHousehold {
    pub number: String,
    pub grid_code: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ExistingResident {
    pub id: i64,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub content_hash: String,
    pub grid_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ExistingHousehold {
    pub number: String,
    pub grid_code: String,
}

/// What happened to each row of a [`ResidentBatch`], in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Inserted,
    Updated,
    Unchanged,
    /// The household number already belongs to a household in another grid; the row was not written.
    HouseholdInOtherGrid {
        household_grid: String,
    },
    /// The ID number is registered to a person outside the writer's jurisdiction; the row was not
    /// written (a person moves in only through an approved move-in request).
    RegisteredElsewhere,
    /// The person is registered in another grid inside the writer's jurisdiction; the row was not
    /// written (a move between grids is its own, audited action).
    InOtherGrid {
        grid_code: String,
    },
}

/// The audit record of a saved resident's outcome ([`Store::save_resident`]), or none.
pub type AuditOf<'a> = dyn Fn(&RowOutcome) -> Option<crate::AuditRecord> + Send + Sync + 'a;

/// Rows to write together in one transaction: all of them land, or none.
#[derive(Debug, Clone, Default)]
pub struct ResidentBatch {
    pub rows: Vec<ResidentWrite>,
}

/// Searching residents is by exactly one field; every search is limited to a code range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchField {
    IdNumber,
    Phone,
    /// The name, or the beginning of it.
    Name,
}

/// The secondary indexes of `residents`, exactly as the migrations create them. A bulk load into an
/// empty table drops them and builds them once at the end: maintaining three random-order indexes row
/// by row rewrites most of their pages at every commit.
const RESIDENT_INDEXES: [(&str, &str); 5] = [
    (
        "residents_by_document",
        "CREATE UNIQUE INDEX IF NOT EXISTS residents_by_document ON residents (id_number, id_type)",
    ),
    (
        "residents_by_grid",
        "CREATE INDEX IF NOT EXISTS residents_by_grid ON residents (grid_code, id)",
    ),
    (
        "residents_by_name",
        "CREATE INDEX IF NOT EXISTS residents_by_name ON residents (name, grid_code)",
    ),
    (
        "residents_by_phone",
        "CREATE INDEX IF NOT EXISTS residents_by_phone ON residents (phone)",
    ),
    (
        "residents_by_household",
        "CREATE INDEX IF NOT EXISTS residents_by_household ON residents (household_number)",
    ),
];

/// How a batch treats the residents already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Look each row up: insert new people, update changed ones, skip unchanged ones.
    Upsert,
    /// Bulk load into a table that was empty, of rows already known to be distinct: no lookups
    /// (the lookup index is not there during a bulk load).
    AllNew,
}

/// The PostgreSQL advisory-lock key that serialises resident writers (any fixed number unused elsewhere).
const RESIDENT_WRITER_LOCK: i64 = 271_828;

/// Largest number of rows written by one statement: 14 binds per row stays under SQLite's 32,766.
const ROWS_PER_STATEMENT: usize = 2000;

mod batch;
mod households;
mod moves;
mod residents;
mod statuses;

pub use moves::{MoveInRecord, MoveOutcome, NewMoveIn, ResidentMove};
pub use statuses::{ResidentStatusRow, StatusScope};
