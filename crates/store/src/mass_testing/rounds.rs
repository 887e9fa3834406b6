//! Rounds: opening one with its areas and per-grid targets, closing, tube batches and serials.

use fangkong_domain::mass_testing::MAX_TUBE_SERIAL;

use super::*;

/// Inside [`with_pool!`]: begins a transaction that holds the tube batches' lock until it ends
/// (SQLite's write lock at BEGIN; PostgreSQL an exclusive lock on `tube_batches`), so the next free
/// serial read in it is still free when the batch is written.
macro_rules! begin_tube_batches {
    ($store:expr, $pool:ident) => {
        match $store {
            Store::Sqlite(_) => $pool.begin_with("BEGIN IMMEDIATE").await?,
            Store::Postgres(_) => {
                let mut tx = $pool.begin().await?;
                sqlx::query("LOCK TABLE tube_batches IN EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        }
    };
}

/// Inside a transaction begun with [`begin_tube_batches!`]: issues `$count` (≥ 1) serials from the
/// next free one to round `$round_id`. `Ok((first, last))`, or `Err(next free serial)` when the
/// batch would pass the 12-digit barcode range (then nothing is written).
macro_rules! issue_next_tubes {
    ($tx:ident, $round_id:expr, $count:expr, $now:expr, $by:expr) => {{
        let last_issued: Option<i64> =
            sqlx::query_scalar("SELECT MAX(last_serial) FROM tube_batches")
                .fetch_one(&mut *$tx)
                .await?;
        let first = last_issued.map_or(1, |l| l.saturating_add(1));
        let last = first.saturating_add($count.max(1) - 1);
        if first < 0 || u64::try_from(last).map_or(true, |l| l > MAX_TUBE_SERIAL) {
            Err(first)
        } else {
            sqlx::query(
                "INSERT INTO tube_batches (round_id, first_serial, last_serial, issued_at, issued_by) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind($round_id)
            .bind(first)
            .bind(last)
            .bind($now)
            .bind($by)
            .execute(&mut *$tx)
            .await?;
            Ok((first, last))
        }
    }};
}

impl Store {
    /// Opens a round: the round, its areas, one progress row per grid in its region with the
    /// target taken from the register now (less infants when the round exempts them), its first
    /// `round.tubes` barcodes and the audit record (target `test_round:<id>`) — one transaction,
    /// so a round is never left without its tubes. `Ok(id)`, or `Err(next free serial)` when the
    /// tubes would pass the barcode range: then nothing at all is written.
    pub async fn insert_round(
        &self,
        round: &NewRound,
        audit: &AuditRecord,
    ) -> StoreResult<Result<i64, i64>> {
        let id = with_pool!(self, pool => {
            let mut tx = begin_tube_batches!(self, pool);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO test_rounds (name, kind, region_code, opened_at, deadline_at, closed_at, \
                 default_pool_size, infant_months, target_population, opened_by) \
                 VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, 0, $8) RETURNING id",
            )
            .bind(&round.name)
            .bind(round.kind.code())
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
                .bind(area.region_code.as_str())
                .bind(area.tier.code())
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
            match issue_next_tubes!(tx, id, round.tubes, round.opened_at, &round.opened_by) {
                Ok(_) => {
                    write_audit!(&mut *tx, audit, format!("test_round:{id}"));
                    tx.commit().await?;
                    Ok(id)
                }
                // Dropping the transaction rolls the round back.
                Err(next) => Err(next),
            }
        });
        Ok(id)
    }

    pub async fn round(&self, id: i64) -> StoreResult<Option<RoundRecord>> {
        self.row_by(ROUND_COLUMNS, "test_rounds", "id", id).await
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

    /// Closes an open round with the audit record in the same transaction; false (and nothing
    /// written) when it was closed already.
    pub async fn close_round(&self, id: i64, now: i64, audit: &AuditRecord) -> StoreResult<bool> {
        let done = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query("UPDATE test_rounds SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done == 1 {
                write_audit!(&mut *tx, audit);
                tx.commit().await?;
            }
            done
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

    /// Issues `count` (≥ 1) barcodes from the next free serial to a round, with the audit record,
    /// in one transaction that holds the batches' lock (two requests never get the same serials).
    /// `Ok((first, last))`, or `Err(next free serial)` when they would pass the barcode range:
    /// then nothing is written.
    pub async fn issue_tubes(
        &self,
        round_id: i64,
        count: i64,
        now: i64,
        by: &str,
        audit: &AuditRecord,
    ) -> StoreResult<Result<(i64, i64), i64>> {
        let issued = with_pool!(self, pool => {
            let mut tx = begin_tube_batches!(self, pool);
            let issued = issue_next_tubes!(tx, round_id, count, now, by);
            if issued.is_ok() {
                write_audit!(&mut *tx, audit);
                tx.commit().await?;
            }
            issued
        });
        Ok(issued)
    }

    /// Issues the barcodes `first..=last` to a round; false when the range overlaps one issued
    /// before. For the tools (tests, seeding) that need a batch at a chosen place; a user's request
    /// goes through [`Store::issue_tubes`].
    pub async fn issue_tube_batch(
        &self,
        round_id: i64,
        first: i64,
        last: i64,
        now: i64,
        by: &str,
    ) -> StoreResult<bool> {
        let issued = with_pool!(self, pool => {
            let mut tx = begin_tube_batches!(self, pool);
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
}

#[cfg(test)]
mod tests {
    use crate::{Store, with_pool};

    /// A round whose stored kind is no `RoundKind` does not read as a round with some other kind:
    /// reading it is an error that names the column and the enum.
    #[tokio::test]
    async fn a_round_with_an_unknown_kind_is_an_error_naming_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
        with_pool!(&store, pool => {
            sqlx::query(
                "INSERT INTO test_rounds (id, name, kind, region_code, opened_at, default_pool_size, \
                 infant_months, target_population, opened_by) \
                 VALUES (7, '第一轮', 'weekly', '130102', 0, 10, 0, 0, 'admin')",
            )
            .execute(pool)
            .await
            .unwrap();
        });
        let error = store.round(7).await.unwrap_err().to_string();
        assert!(
            error.contains("kind") && error.contains("weekly") && error.contains("RoundKind"),
            "{error}"
        );
    }
}
