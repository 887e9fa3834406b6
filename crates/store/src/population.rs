//! Households and residents (实有人口): the batch write that imports and edits share, searches, pages.
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use std::collections::{HashMap, HashSet};

use sqlx::{AssertSqlSafe, QueryBuilder};

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
    pub sex: String,
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
    pub sex: String,
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

impl Store {
    /// Writes a batch of residents (and the households they introduce) atomically: new residents are
    /// inserted, changed ones updated, unchanged ones left untouched, so re-importing a file changes
    /// nothing. Per-grid counts move with the rows. Writers are serialised (SQLite `BEGIN IMMEDIATE`,
    /// a PostgreSQL advisory lock) so two imports of overlapping files cannot double-count.
    ///
    /// `within` is the writer's jurisdiction (a grid-code range): a row whose person is registered
    /// outside it is not written ([`RowOutcome::RegisteredElsewhere`]), nor one whose person is in
    /// another grid ([`RowOutcome::InOtherGrid`]); the check is made inside the transaction, so no
    /// concurrent write slips between the check and the write.
    pub async fn apply_resident_batch(
        &self,
        batch: &ResidentBatch,
        now: i64,
        mode: WriteMode,
        within: (&str, &str),
    ) -> StoreResult<Vec<RowOutcome>> {
        let rows = &batch.rows;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let outcomes = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, RESIDENT_WRITER_LOCK);

            // 0. Lookups need the ID-number index; during a first bulk load it is dropped, and an edit
            //    then would go unchecked against the rows being loaded: refuse it instead.
            if mode == WriteMode::Upsert {
                let check = match self {
                    Store::Sqlite(_) => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'residents_by_document'",
                    Store::Postgres(_) => "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'residents_by_document'",
                };
                let present: i64 = sqlx::query_scalar(check).fetch_one(&mut *tx).await?;
                if present == 0 {
                    return Err(StoreError::BulkLoadInProgress);
                }
            }

            // 1. What exists already: households by number, residents by ID number.
            let household_numbers: Vec<&str> = rows
                .iter()
                .map(|row| row.household_number.as_str())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let mut household_grid: HashMap<String, String> = HashMap::new();
            for chunk in household_numbers.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new("SELECT number, grid_code FROM households WHERE number IN (");
                let mut list = builder.separated(", ");
                for number in chunk {
                    list.push_bind(*number);
                }
                builder.push(")");
                let found: Vec<ExistingHousehold> = builder.build_query_as().fetch_all(&mut *tx).await?;
                household_grid.extend(found.into_iter().map(|h| (h.number, h.grid_code)));
            }
            // Keyed by number; the rare number held under two ID types keeps both entries.
            let mut existing: HashMap<String, Vec<ExistingResident>> = HashMap::new();
            let lookup_rows = if mode == WriteMode::Upsert { &rows[..] } else { &rows[..0] };
            for chunk in lookup_rows.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "SELECT id, id_type, id_number, content_hash, grid_code FROM residents WHERE id_number IN (",
                );
                let mut list = builder.separated(", ");
                for row in chunk {
                    list.push_bind(row.id_number.as_str());
                }
                builder.push(")");
                let found: Vec<ExistingResident> = builder.build_query_as().fetch_all(&mut *tx).await?;
                for resident in found {
                    existing.entry(resident.id_number.to_string()).or_default().push(resident);
                }
            }

            // 2. Classify every row; the first row that names a new household decides its grid.
            let mut outcomes = Vec::with_capacity(rows.len());
            let mut new_households: Vec<NewHousehold> = Vec::new();
            let mut inserts: Vec<&ResidentWrite> = Vec::new();
            let mut updates: Vec<(&ResidentWrite, i64)> = Vec::new();
            let mut grid_delta: HashMap<String, (i64, i64)> = HashMap::new();
            for row in rows {
                let old = existing
                    .get(row.id_number.as_str())
                    .and_then(|same_number| same_number.iter().find(|r| r.id_type == row.id_type));
                if let Some(old) = old {
                    let inside = old.grid_code.as_str() >= within.0 && old.grid_code.as_str() < within.1;
                    if !inside {
                        outcomes.push(RowOutcome::RegisteredElsewhere);
                        continue;
                    }
                    if old.grid_code != row.grid_code {
                        outcomes.push(RowOutcome::InOtherGrid { grid_code: old.grid_code.clone() });
                        continue;
                    }
                }
                match household_grid.get(&row.household_number) {
                    Some(grid) if *grid != row.grid_code => {
                        outcomes.push(RowOutcome::HouseholdInOtherGrid { household_grid: grid.clone() });
                        continue;
                    }
                    Some(_) => {}
                    None => {
                        household_grid.insert(row.household_number.clone(), row.grid_code.clone());
                        new_households.push(NewHousehold {
                            number: row.household_number.clone(),
                            grid_code: row.grid_code.clone(),
                            address: row.address.to_string(),
                        });
                        grid_delta.entry(row.grid_code.clone()).or_default().1 += 1;
                    }
                }
                match old {
                    None => {
                        grid_delta.entry(row.grid_code.clone()).or_default().0 += 1;
                        inserts.push(row);
                        outcomes.push(RowOutcome::Inserted);
                    }
                    Some(old) if old.content_hash == row.content_hash => {
                        outcomes.push(RowOutcome::Unchanged);
                    }
                    Some(old) => {
                        updates.push((row, old.id));
                        outcomes.push(RowOutcome::Updated);
                    }
                }
            }

            // 3. Write.
            for chunk in new_households.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new("INSERT INTO households (number, grid_code, address, created_at) ");
                builder.push_values(chunk, |mut b, h| {
                    b.push_bind(&h.number).push_bind(&h.grid_code).push_bind(h.address.as_str()).push_bind(now);
                });
                builder.build().execute(&mut *tx).await?;
            }
            for chunk in inserts.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO residents (id_type, id_number, name, sex, birth_date, phone, address, \
                     household_number, relation, grid_code, key_groups, content_hash, updated_at) ",
                );
                builder.push_values(chunk, |mut b, r| {
                    b.push_bind(&r.id_type)
                        .push_bind(r.id_number.as_str())
                        .push_bind(r.name.as_str())
                        .push_bind(&r.sex)
                        .push_bind(&r.birth_date)
                        .push_bind(r.phone.as_ref().map(PhoneNumber::as_str))
                        .push_bind(r.address.as_str())
                        .push_bind(&r.household_number)
                        .push_bind(&r.relation)
                        .push_bind(&r.grid_code)
                        .push_bind(&r.key_groups)
                        .push_bind(&r.content_hash)
                        .push_bind(now);
                });
                builder.build().execute(&mut *tx).await?;
            }
            for (r, id) in &updates {
                sqlx::query(
                    "UPDATE residents SET name = $1, sex = $2, birth_date = $3, phone = $4, address = $5, \
                     household_number = $6, relation = $7, grid_code = $8, key_groups = $9, \
                     content_hash = $10, updated_at = $11 WHERE id = $12",
                )
                .bind(r.name.as_str())
                .bind(&r.sex)
                .bind(&r.birth_date)
                .bind(r.phone.as_ref().map(PhoneNumber::as_str))
                .bind(r.address.as_str())
                .bind(&r.household_number)
                .bind(&r.relation)
                .bind(&r.grid_code)
                .bind(&r.key_groups)
                .bind(&r.content_hash)
                .bind(now)
                .bind(*id)
                .execute(&mut *tx)
                .await?;
            }
            let deltas: Vec<(String, (i64, i64))> =
                grid_delta.into_iter().filter(|(_, d)| *d != (0, 0)).collect();
            for chunk in deltas.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new("INSERT INTO grid_stats (grid_code, residents, households) ");
                builder.push_values(chunk, |mut b, (grid, (residents, households))| {
                    b.push_bind(grid).push_bind(*residents).push_bind(*households);
                });
                builder.push(
                    " ON CONFLICT (grid_code) DO UPDATE SET residents = grid_stats.residents + excluded.residents, \
                     households = grid_stats.households + excluded.households",
                );
                builder.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            outcomes
        });
        Ok(outcomes)
    }

    /// True when no resident is stored yet (a first load may then go the bulk way).
    pub async fn residents_empty(&self) -> StoreResult<bool> {
        let any: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM residents LIMIT 1").fetch_optional(pool).await?
        });
        Ok(any.is_none())
    }

    /// Drops the residents' secondary indexes before a bulk load.
    pub async fn drop_resident_indexes(&self) -> StoreResult<()> {
        with_pool!(self, pool => {
            for (name, _) in RESIDENT_INDEXES {
                sqlx::query(AssertSqlSafe(format!("DROP INDEX IF EXISTS {name}"))).execute(pool).await?;
            }
        });
        Ok(())
    }

    /// Creates any missing secondary index of the residents (after a bulk load, and at every start in
    /// case a bulk load was interrupted).
    pub async fn ensure_resident_indexes(&self) -> StoreResult<()> {
        // Building an index sorts the whole table: PostgreSQL gets a large sort memory for it on this
        // one connection. (SQLite measured no faster with more cache or sorter threads.)
        let (prepare, restore): (&[&'static str], &[&'static str]) = match self {
            Store::Sqlite(_) => (&[], &[]),
            Store::Postgres(_) => (
                &["SET maintenance_work_mem = '1GB'"],
                &["RESET maintenance_work_mem"],
            ),
        };
        with_pool!(self, pool => {
            let mut connection = pool.acquire().await?;
            for statement in prepare {
                sqlx::query(*statement).execute(&mut *connection).await?;
            }
            for (_, create) in RESIDENT_INDEXES {
                sqlx::query(create).execute(&mut *connection).await?;
            }
            for statement in restore {
                sqlx::query(*statement).execute(&mut *connection).await?;
            }
        });
        Ok(())
    }

    /// Refreshes the planner's statistics of the population tables. After a bulk load PostgreSQL has
    /// none and would answer a lookup by ID number with a scan of the whole table.
    pub async fn analyze_population(&self) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query("ANALYZE residents").execute(pool).await?;
            sqlx::query("ANALYZE households").execute(pool).await?;
        });
        Ok(())
    }

    pub async fn resident(&self, id: i64) -> StoreResult<Option<ResidentRecord>> {
        let sql = format!("SELECT {RESIDENT_COLUMNS} FROM residents WHERE id = $1");
        let resident = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        Ok(resident)
    }

    /// Residents whose field matches `value`, inside the code range `subtree` (the jurisdiction).
    pub async fn search_residents(
        &self,
        field: SearchField,
        value: &str,
        subtree: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<ResidentRecord>> {
        let (condition, upper_value) = match field {
            SearchField::IdNumber => ("id_number = $1", None),
            SearchField::Phone => ("phone = $1", None),
            // A prefix as a range, so the (name, grid_code) index answers it on both backends
            // (PostgreSQL columns use the "C" collation, i.e. code-point order like SQLite).
            SearchField::Name => (
                "name >= $1 AND name < $5",
                Some(format!("{value}\u{10FFFF}")),
            ),
        };
        // Ordered as the (name, grid_code) index is, so a common surname stops after `limit` rows
        // instead of sorting every match in the city.
        let sql = format!(
            "SELECT {RESIDENT_COLUMNS} FROM residents WHERE {condition} \
             AND grid_code >= $2 AND grid_code < $3 ORDER BY name, grid_code LIMIT $4"
        );
        let residents = with_pool!(self, pool => {
            let mut query = sqlx::query_as(AssertSqlSafe(sql))
                .bind(value)
                .bind(subtree.0)
                .bind(subtree.1)
                .bind(limit);
            if let Some(upper) = &upper_value {
                query = query.bind(upper.clone());
            }
            query.fetch_all(pool).await?
        });
        Ok(residents)
    }

    pub async fn household(&self, number: &str) -> StoreResult<Option<HouseholdRecord>> {
        let household = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT h.number, h.grid_code, h.address, h.created_at, \
                 (SELECT COUNT(*) FROM residents r WHERE r.household_number = h.number) AS members \
                 FROM households h WHERE h.number = $1",
            )
            .bind(number)
            .fetch_optional(pool)
            .await?
        });
        Ok(household)
    }

    pub async fn household_members(&self, number: &str) -> StoreResult<Vec<ResidentRecord>> {
        let sql = format!(
            "SELECT {RESIDENT_COLUMNS} FROM residents WHERE household_number = $1 ORDER BY birth_date, id"
        );
        let members = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(number).fetch_all(pool).await?
        });
        Ok(members)
    }

    /// One page of a grid's households in number order, starting after `after_number`.
    pub async fn households_in_grid(
        &self,
        grid_code: &str,
        after_number: &str,
        limit: i64,
    ) -> StoreResult<Vec<HouseholdRecord>> {
        let households = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT h.number, h.grid_code, h.address, h.created_at, \
                 (SELECT COUNT(*) FROM residents r WHERE r.household_number = h.number) AS members \
                 FROM households h WHERE h.grid_code = $1 AND h.number > $2 ORDER BY h.number LIMIT $3",
            )
            .bind(grid_code)
            .bind(after_number)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(households)
    }

    /// One page of residents in the code range, in id order after `after_id` (exports page through this
    /// instead of holding one long read open).
    pub async fn residents_page(
        &self,
        subtree: (&str, &str),
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<ResidentRecord>> {
        let sql = format!(
            "SELECT {RESIDENT_COLUMNS} FROM residents WHERE grid_code >= $1 AND grid_code < $2 AND id > $3 \
             ORDER BY id LIMIT $4"
        );
        let residents = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(subtree.0)
                .bind(subtree.1)
                .bind(after_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(residents)
    }

    /// Residents of one grid, one page at a time, in id order.
    pub async fn residents_in_grid(
        &self,
        grid_code: &str,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<ResidentRecord>> {
        let sql = format!(
            "SELECT {RESIDENT_COLUMNS} FROM residents WHERE grid_code = $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        let residents = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(grid_code)
                .bind(after_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(residents)
    }

    /// Counts residents by scanning the table (tests compare this with the maintained `grid_stats`).
    pub async fn count_residents_by_scan(&self, subtree: (&str, &str)) -> StoreResult<i64> {
        let count = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM residents WHERE grid_code >= $1 AND grid_code < $2")
                .bind(subtree.0)
                .bind(subtree.1)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }
}

// ---------------------------------------------------------------------------------------------
// Moves: between grids of one jurisdiction (迁移网格) and into another jurisdiction (迁入申请)

const MOVE_IN_COLUMNS: &str = "id, resident_id, id_type, id_number, name, from_grid, to_grid, to_household, \
     to_address, to_relation, reason, status, requested_by, requested_at, decided_by, decided_at, decision_reason";

/// A move-in request (迁入申请) as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct MoveInRecord {
    pub id: i64,
    pub resident_id: i64,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    pub from_grid: String,
    pub to_grid: String,
    pub to_household: String,
    #[sqlx(try_from = "String")]
    pub to_address: Address,
    pub to_relation: String,
    pub reason: String,
    pub status: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_reason: String,
}

/// A new move-in request.
#[derive(Debug, Clone)]
pub struct NewMoveIn {
    pub resident_id: i64,
    pub id_type: String,
    pub id_number: DocumentNumber,
    pub name: PersonName,
    pub from_grid: String,
    pub to_grid: String,
    pub to_household: String,
    pub to_address: Address,
    pub to_relation: String,
    pub reason: String,
    pub requested_by: String,
}

/// One person moved to another grid: the resident's new row (every field, with its new content hash),
/// the grid they must still be in, and the move-in request it decides, if any.
#[derive(Clone)]
pub struct ResidentMove {
    pub resident_id: i64,
    pub from_grid: String,
    pub write: ResidentWrite,
    /// (request id, the deciding user) when an approved move-in request moves the person.
    pub move_in: Option<(i64, String)>,
}

/// What became of a [`ResidentMove`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveOutcome {
    Moved,
    /// The person is no longer in `from_grid`, or the request is no longer pending: nothing written.
    Stale,
    /// The destination household belongs to another grid: nothing written.
    HouseholdInOtherGrid {
        household_grid: String,
    },
}

impl Store {
    /// Moves one resident to another grid in one transaction: the resident's row, a new household if the
    /// number is new, both grids' counts and, for a move-in, the request's approval (other pending
    /// requests for the same person are closed). Guarded by the grid the person must still be in.
    pub async fn move_resident(&self, m: &ResidentMove, now: i64) -> StoreResult<MoveOutcome> {
        let w = &m.write;
        let outcome = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, RESIDENT_WRITER_LOCK);
            // Like every resident write, a move waits for a first bulk load to finish (its household
            // could collide with a row still to be loaded).
            let check = match self {
                Store::Sqlite(_) => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'residents_by_document'",
                Store::Postgres(_) => "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'residents_by_document'",
            };
            let present: i64 = sqlx::query_scalar(check).fetch_one(&mut *tx).await?;
            if present == 0 {
                return Err(StoreError::BulkLoadInProgress);
            }
            let current: Option<String> = sqlx::query_scalar("SELECT grid_code FROM residents WHERE id = $1")
                .bind(m.resident_id)
                .fetch_optional(&mut *tx)
                .await?;
            if current.as_deref() != Some(m.from_grid.as_str()) {
                return Ok(MoveOutcome::Stale);
            }
            if let Some((request, _)) = &m.move_in {
                let status: Option<String> = sqlx::query_scalar("SELECT status FROM move_ins WHERE id = $1")
                    .bind(*request)
                    .fetch_optional(&mut *tx)
                    .await?;
                if status.as_deref() != Some("pending") {
                    return Ok(MoveOutcome::Stale);
                }
            }
            let household: Option<String> = sqlx::query_scalar("SELECT grid_code FROM households WHERE number = $1")
                .bind(&w.household_number)
                .fetch_optional(&mut *tx)
                .await?;
            match household {
                Some(grid) if grid != w.grid_code => {
                    return Ok(MoveOutcome::HouseholdInOtherGrid { household_grid: grid });
                }
                Some(_) => {}
                None => {
                    sqlx::query("INSERT INTO households (number, grid_code, address, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(&w.household_number)
                        .bind(&w.grid_code)
                        .bind(w.address.as_str())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO grid_stats (grid_code, residents, households) VALUES ($1, 0, 1) \
                         ON CONFLICT (grid_code) DO UPDATE SET households = grid_stats.households + 1",
                    )
                    .bind(&w.grid_code)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            sqlx::query(
                "UPDATE residents SET name = $1, sex = $2, birth_date = $3, phone = $4, address = $5, \
                 household_number = $6, relation = $7, grid_code = $8, key_groups = $9, \
                 content_hash = $10, updated_at = $11 WHERE id = $12",
            )
            .bind(w.name.as_str())
            .bind(&w.sex)
            .bind(&w.birth_date)
            .bind(w.phone.as_ref().map(PhoneNumber::as_str))
            .bind(w.address.as_str())
            .bind(&w.household_number)
            .bind(&w.relation)
            .bind(&w.grid_code)
            .bind(&w.key_groups)
            .bind(&w.content_hash)
            .bind(now)
            .bind(m.resident_id)
            .execute(&mut *tx)
            .await?;
            for (grid, delta) in [(&m.from_grid, -1i64), (&w.grid_code, 1)] {
                sqlx::query(
                    "INSERT INTO grid_stats (grid_code, residents, households) VALUES ($1, $2, 0) \
                     ON CONFLICT (grid_code) DO UPDATE SET residents = grid_stats.residents + excluded.residents",
                )
                .bind(grid)
                .bind(delta)
                .execute(&mut *tx)
                .await?;
            }
            if let Some((request, decided_by)) = &m.move_in {
                // Guarded by 'pending' in the UPDATE itself: a refusal committed by another office
                // since the read above (PostgreSQL's read committed) wins, and nothing moves.
                let approved = sqlx::query(
                    "UPDATE move_ins SET status = 'approved', decided_by = $1, decided_at = $2 \
                     WHERE id = $3 AND status = 'pending'",
                )
                .bind(decided_by)
                .bind(now)
                .bind(*request)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if approved != 1 {
                    return Ok(MoveOutcome::Stale);
                }
                sqlx::query(
                    "UPDATE move_ins SET status = 'refused', decided_by = $1, decided_at = $2, \
                     decision_reason = '此人已按另一份迁入申请迁出' \
                     WHERE resident_id = $3 AND status = 'pending' AND id <> $4",
                )
                .bind(decided_by)
                .bind(now)
                .bind(m.resident_id)
                .bind(*request)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            MoveOutcome::Moved
        });
        Ok(outcome)
    }

    pub async fn create_move_in(&self, m: &NewMoveIn, now: i64) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO move_ins (resident_id, id_type, id_number, name, from_grid, to_grid, to_household, \
                 to_address, to_relation, reason, status, requested_by, requested_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12) RETURNING id",
            )
            .bind(m.resident_id)
            .bind(&m.id_type)
            .bind(m.id_number.as_str())
            .bind(m.name.as_str())
            .bind(&m.from_grid)
            .bind(&m.to_grid)
            .bind(&m.to_household)
            .bind(m.to_address.as_str())
            .bind(&m.to_relation)
            .bind(&m.reason)
            .bind(&m.requested_by)
            .bind(now)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    pub async fn move_in(&self, id: i64) -> StoreResult<Option<MoveInRecord>> {
        let sql = format!("SELECT {MOVE_IN_COLUMNS} FROM move_ins WHERE id = $1");
        let found = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        Ok(found)
    }

    /// The newest move-in requests whose `from_grid` (the person's jurisdiction, `from = true`) or
    /// `to_grid` (the requesting jurisdiction) lies in the code range.
    pub async fn move_ins_in(
        &self,
        from: bool,
        subtree: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<MoveInRecord>> {
        let column = if from { "from_grid" } else { "to_grid" };
        let sql = format!(
            "SELECT {MOVE_IN_COLUMNS} FROM move_ins WHERE {column} >= $1 AND {column} < $2 \
             ORDER BY CASE WHEN status = 'pending' THEN 0 ELSE 1 END, id DESC LIMIT $3"
        );
        let found = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(subtree.0)
                .bind(subtree.1)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(found)
    }

    /// Refuses a pending move-in request; false when it was no longer pending.
    pub async fn refuse_move_in(
        &self,
        id: i64,
        decided_by: &str,
        reason: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let done = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE move_ins SET status = 'refused', decided_by = $1, decided_at = $2, decision_reason = $3 \
                 WHERE id = $4 AND status = 'pending'",
            )
            .bind(decided_by)
            .bind(now)
            .bind(reason)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }
}
