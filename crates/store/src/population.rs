//! Households and residents (实有人口): the batch write that imports and edits share, searches, pages.

use std::collections::{HashMap, HashSet};

use sqlx::{AssertSqlSafe, QueryBuilder};

use crate::{Store, StoreError, StoreResult, begin_locked, with_pool};

const RESIDENT_COLUMNS: &str = "id, id_type, id_number, name, sex, birth_date, phone, address, \
     household_number, relation, grid_code, key_groups, content_hash, updated_at";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ResidentRecord {
    pub id: i64,
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub sex: String,
    pub birth_date: String,
    pub phone: Option<String>,
    pub address: String,
    pub household_number: String,
    pub relation: String,
    pub grid_code: String,
    pub key_groups: String,
    pub content_hash: String,
    pub updated_at: i64,
}

/// A resident as written by an import row or an edit; `content_hash` covers every other field.
#[derive(Clone, PartialEq, Eq)]
pub struct ResidentWrite {
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub sex: String,
    pub birth_date: String,
    pub phone: Option<String>,
    pub address: String,
    pub household_number: String,
    pub relation: String,
    pub grid_code: String,
    pub key_groups: String,
    pub content_hash: String,
}

impl std::fmt::Debug for ResidentWrite {
    // Personal data never reaches a log line, not even through a Debug of a write.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResidentWrite")
            .field("grid_code", &self.grid_code)
            .field("household_number", &self.household_number)
            .field("content_hash", &self.content_hash)
            .finish_non_exhaustive()
    }
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
    pub id_number: String,
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
    pub async fn apply_resident_batch(
        &self,
        batch: &ResidentBatch,
        now: i64,
        mode: WriteMode,
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
                    list.push_bind(&row.id_number);
                }
                builder.push(")");
                let found: Vec<ExistingResident> = builder.build_query_as().fetch_all(&mut *tx).await?;
                for resident in found {
                    existing.entry(resident.id_number.clone()).or_default().push(resident);
                }
            }

            // 2. Classify every row; the first row that names a new household decides its grid.
            let mut outcomes = Vec::with_capacity(rows.len());
            let mut new_households: Vec<NewHousehold> = Vec::new();
            let mut inserts: Vec<&ResidentWrite> = Vec::new();
            let mut updates: Vec<(&ResidentWrite, i64)> = Vec::new();
            let mut grid_delta: HashMap<String, (i64, i64)> = HashMap::new();
            for row in rows {
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
                            address: row.address.clone(),
                        });
                        grid_delta.entry(row.grid_code.clone()).or_default().1 += 1;
                    }
                }
                let old = existing
                    .get(row.id_number.as_str())
                    .and_then(|same_number| same_number.iter().find(|r| r.id_type == row.id_type));
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
                        if old.grid_code != row.grid_code {
                            grid_delta.entry(old.grid_code.clone()).or_default().0 -= 1;
                            grid_delta.entry(row.grid_code.clone()).or_default().0 += 1;
                        }
                        updates.push((row, old.id));
                        outcomes.push(RowOutcome::Updated);
                    }
                }
            }

            // 3. Write.
            for chunk in new_households.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new("INSERT INTO households (number, grid_code, address, created_at) ");
                builder.push_values(chunk, |mut b, h| {
                    b.push_bind(&h.number).push_bind(&h.grid_code).push_bind(&h.address).push_bind(now);
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
                        .push_bind(&r.id_number)
                        .push_bind(&r.name)
                        .push_bind(&r.sex)
                        .push_bind(&r.birth_date)
                        .push_bind(&r.phone)
                        .push_bind(&r.address)
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
                .bind(&r.name)
                .bind(&r.sex)
                .bind(&r.birth_date)
                .bind(&r.phone)
                .bind(&r.address)
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
