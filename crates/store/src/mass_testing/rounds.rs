//! Rounds: opening one with its areas and per-grid targets, closing, tube batches and serials.

use super::*;

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
}
