//! Moves: between grids of one jurisdiction (迁移网格) and into another jurisdiction (迁入申请).

use fangkong_domain::person_event;

use super::*;

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
    /// The household the person leaves (told to the other modules with the move).
    pub from_household: String,
    pub write: ResidentWrite,
    /// (request id, the deciding user) when an approved move-in request moves the person.
    pub move_in: Option<(i64, String)>,
    /// The audit record of the move, written in its transaction.
    pub audit: crate::AuditRecord,
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
    /// number is new, both grids' counts, for a move-in the request's approval (other pending
    /// requests for the same person are closed), and the `resident_moved` person event the other
    /// modules follow. Guarded by the grid the person must still be in: a refused move writes
    /// nothing, the event included.
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
            .bind(w.sex.code())
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
            // The move is a fact every module acts on (leads, rounds, home measures): told in the
            // move's own transaction, so no module misses a move or hears of one rolled back.
            let detail = serde_json::to_string(&person_event::ResidentMovedEvent {
                from_grid: m.from_grid.clone(),
                to_grid: w.grid_code.clone(),
                from_household: m.from_household.clone(),
                to_household: w.household_number.clone(),
                to_address: w.address.clone(),
                move_in: m.move_in.as_ref().map(|(request, _)| *request),
            })
            .unwrap_or_default();
            let source = match &m.move_in {
                Some((request, _)) => format!("move_in:{request}"),
                None => format!("resident:{}", m.resident_id),
            };
            sqlx::query(
                "INSERT INTO person_events (at, kind, id_type, id_number, resident_id, grid_code, source, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(now)
            .bind(person_event::RESIDENT_MOVED)
            .bind(&w.id_type)
            .bind(w.id_number.as_str())
            .bind(m.resident_id)
            .bind(&w.grid_code)
            .bind(source)
            .bind(detail)
            .execute(&mut *tx)
            .await?;
            crate::audit::write_audit!(&mut *tx, &m.audit);
            tx.commit().await?;
            MoveOutcome::Moved
        });
        Ok(outcome)
    }

    /// A move-in request with its audit record (target: `move_in:<new id>`), in one transaction.
    pub async fn create_move_in(
        &self,
        m: &NewMoveIn,
        now: i64,
        audit: &crate::AuditRecord,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
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
            .fetch_one(&mut *tx)
            .await?;
            crate::audit::write_audit!(&mut *tx, audit, format!("move_in:{id}"));
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn move_in(&self, id: i64) -> StoreResult<Option<MoveInRecord>> {
        self.row_by(MOVE_IN_COLUMNS, "move_ins", "id", id).await
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

    /// Refuses a pending move-in request with its audit record, in one transaction; false
    /// (nothing written) when it was no longer pending.
    pub async fn refuse_move_in(
        &self,
        id: i64,
        decided_by: &str,
        reason: &str,
        now: i64,
        audit: &crate::AuditRecord,
    ) -> StoreResult<bool> {
        let done = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE move_ins SET status = 'refused', decided_by = $1, decided_at = $2, decision_reason = $3 \
                 WHERE id = $4 AND status = 'pending'",
            )
            .bind(decided_by)
            .bind(now)
            .bind(reason)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 1 {
                crate::audit::write_audit!(&mut *tx, audit);
                tx.commit().await?;
            }
            done
        });
        Ok(done == 1)
    }
}
