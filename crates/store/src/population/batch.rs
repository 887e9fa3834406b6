//! The atomic resident batch write shared by imports and edits, and the register's indexes.

use super::*;
use crate::bind::PushList;

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
        Ok(self
            .write_resident_rows(batch, now, mode, within, None)
            .await?
            .into_iter()
            .map(|(outcome, _)| outcome)
            .collect())
    }

    /// Adds or changes one resident, as a batch of one ([`Store::apply_resident_batch`], by
    /// lookup), and writes the change's audit record in the same transaction: `audit_of` gives
    /// the record of the row's outcome (its target is set to `resident:<id>`), or none. A row not
    /// written (registered elsewhere, in another grid, a household of another grid) is expected
    /// to have none, so a refused save leaves neither row nor record. Returns the outcome and the
    /// person's id when the row was written or unchanged.
    pub async fn save_resident(
        &self,
        row: &ResidentWrite,
        now: i64,
        within: (&str, &str),
        audit_of: &AuditOf<'_>,
    ) -> StoreResult<(RowOutcome, Option<i64>)> {
        let batch = ResidentBatch {
            rows: vec![row.clone()],
        };
        self.write_resident_rows(&batch, now, WriteMode::Upsert, within, Some(audit_of))
            .await?
            .pop()
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// [`Store::apply_resident_batch`], with each row's id (`None` for a row not written) and,
    /// when `audit_of` is given, each row's audit record written in the batch's transaction.
    async fn write_resident_rows(
        &self,
        batch: &ResidentBatch,
        now: i64,
        mode: WriteMode,
        within: (&str, &str),
        audit_of: Option<&AuditOf<'_>>,
    ) -> StoreResult<Vec<(RowOutcome, Option<i64>)>> {
        let rows = &batch.rows;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let written = with_pool!(self, pool => {
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
                let mut builder = QueryBuilder::new("SELECT number, grid_code FROM households WHERE number IN ");
                builder.push_list(chunk.iter().copied());
                let found: Vec<ExistingHousehold> = builder.build_query_as().fetch_all(&mut *tx).await?;
                household_grid.extend(found.into_iter().map(|h| (h.number, h.grid_code)));
            }
            // Keyed by number; the rare number held under two ID types keeps both entries.
            let mut existing: HashMap<String, Vec<ExistingResident>> = HashMap::new();
            let lookup_rows = if mode == WriteMode::Upsert { &rows[..] } else { &rows[..0] };
            for chunk in lookup_rows.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "SELECT id, id_type, id_number, content_hash, grid_code FROM residents WHERE id_number IN ",
                );
                builder.push_list(chunk.iter().map(|row| row.id_number.as_str()));
                let found: Vec<ExistingResident> = builder.build_query_as().fetch_all(&mut *tx).await?;
                for resident in found {
                    existing.entry(resident.id_number.to_string()).or_default().push(resident);
                }
            }

            // 2. Classify every row; the first row that names a new household decides its grid.
            let mut outcomes = Vec::with_capacity(rows.len());
            // The id of each row known before the write (an update or an unchanged row).
            let mut known_ids: Vec<Option<i64>> = Vec::with_capacity(rows.len());
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
                        known_ids.push(None);
                        continue;
                    }
                    if old.grid_code != row.grid_code {
                        outcomes.push(RowOutcome::InOtherGrid { grid_code: old.grid_code.clone() });
                        known_ids.push(None);
                        continue;
                    }
                }
                match household_grid.get(&row.household_number) {
                    Some(grid) if *grid != row.grid_code => {
                        outcomes.push(RowOutcome::HouseholdInOtherGrid { household_grid: grid.clone() });
                        known_ids.push(None);
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
                        known_ids.push(None);
                    }
                    Some(old) if old.content_hash == row.content_hash => {
                        outcomes.push(RowOutcome::Unchanged);
                        known_ids.push(Some(old.id));
                    }
                    Some(old) => {
                        updates.push((row, old.id));
                        outcomes.push(RowOutcome::Updated);
                        known_ids.push(Some(old.id));
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
                        .push_bind(r.sex.code())
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
                .bind(r.sex.code())
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
            // 4. The ids of the rows inserted (looked up only when asked for: an import needs none),
            //    and each written row's audit record.
            let mut written = Vec::with_capacity(rows.len());
            for ((row, outcome), known) in rows.iter().zip(outcomes).zip(known_ids) {
                let id = match (&outcome, known, audit_of) {
                    (_, Some(id), _) => Some(id),
                    (RowOutcome::Inserted, None, Some(_)) => Some(
                        sqlx::query_scalar::<_, i64>(
                            "SELECT id FROM residents WHERE id_type = $1 AND id_number = $2",
                        )
                        .bind(&row.id_type)
                        .bind(row.id_number.as_str())
                        .fetch_one(&mut *tx)
                        .await?,
                    ),
                    _ => None,
                };
                if let (Some(audit_of), Some(id)) = (audit_of, id)
                    && let Some(record) = audit_of(&outcome)
                {
                    crate::audit::write_audit!(&mut *tx, &record, format!("resident:{id}"));
                }
                written.push((outcome, id));
            }
            tx.commit().await?;
            written
        });
        Ok(written)
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
}
