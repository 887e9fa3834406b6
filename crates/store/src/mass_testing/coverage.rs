//! Coverage: round progress per grid and per hour, a grid's missing people, exemptions, the tube
//! chain and results awaited.

use super::*;

impl Store {
    /// Progress rows of a round inside the subtree `range`.
    pub async fn round_progress(
        &self,
        round_id: i64,
        range: (&str, &str),
    ) -> StoreResult<Vec<ProgressRow>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT grid_code, target, infants, exempt, sampled, outside, walk_ins FROM round_grid_progress \
                 WHERE round_id = $1 AND grid_code >= $2 AND grid_code < $3 ORDER BY grid_code",
            )
            .bind(round_id)
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Swabs per hour in the subtree `range`: (hour start, count), in time order.
    pub async fn round_hourly(
        &self,
        round_id: i64,
        range: (&str, &str),
    ) -> StoreResult<Vec<(i64, i64)>> {
        let rows: Vec<(i64, Option<i64>)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT hour, CAST(SUM(sampled) AS BIGINT) FROM round_hourly WHERE round_id = $1 AND grid_code >= $2 \
                 AND grid_code < $3 GROUP BY hour ORDER BY hour",
            )
            .bind(round_id)
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(h, n)| (h, n.unwrap_or(0))).collect())
    }

    /// The grid's residents with no screening swab in the round (occasion 0), with their exemption.
    /// Infants born after `infant_cutoff` are left out, as in the target.
    pub async fn missing_in_grid(
        &self,
        round_id: i64,
        grid_code: &str,
        infant_cutoff: Option<&str>,
    ) -> StoreResult<Vec<MissingResident>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT r.id, r.name, r.id_type, r.id_number, r.birth_date, r.phone, r.address, r.household_number, \
                 e.kind AS exemption, e.note AS exemption_note \
                 FROM residents r LEFT JOIN sampling_exemptions e ON e.round_id = $1 AND e.resident_id = r.id \
                 WHERE r.grid_code = $2 AND r.birth_date <= $3 AND NOT EXISTS ( \
                   SELECT 1 FROM samples s WHERE s.id_number = r.id_number AND s.id_type = r.id_type \
                   AND s.round_id = $1 AND s.occasion = 0) \
                 ORDER BY r.household_number, r.id",
            )
            .bind(round_id)
            .bind(grid_code)
            .bind(infant_cutoff.unwrap_or("9999-12-31"))
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Records (or changes) a resident's exemption in a round, keeping the grid's count right; the
    /// exemption, the count and the audit record are one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_exemption(
        &self,
        round_id: i64,
        resident_id: i64,
        grid_code: &str,
        kind: &str,
        note: &str,
        now: i64,
        by: &str,
        audit: &AuditRecord,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO sampling_exemptions (round_id, resident_id, grid_code, kind, note, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (round_id, resident_id) DO NOTHING",
            )
            .bind(round_id)
            .bind(resident_id)
            .bind(grid_code)
            .bind(kind)
            .bind(note)
            .bind(now)
            .bind(by)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                sqlx::query(
                    "UPDATE round_grid_progress SET exempt = exempt + 1 WHERE round_id = $1 AND grid_code = $2",
                )
                .bind(round_id)
                .bind(grid_code)
                .execute(&mut *tx)
                .await?;
            } else {
                sqlx::query(
                    "UPDATE sampling_exemptions SET kind = $1, note = $2, created_at = $3, created_by = $4 \
                     WHERE round_id = $5 AND resident_id = $6",
                )
                .bind(kind)
                .bind(note)
                .bind(now)
                .bind(by)
                .bind(round_id)
                .bind(resident_id)
                .execute(&mut *tx)
                .await?;
            }
            write_audit!(&mut *tx, audit);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Where the round's tubes are in the chain, with mean step times.
    pub async fn tube_chain_counts(&self, round_id: i64) -> StoreResult<TubeChainCounts> {
        let counts = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COUNT(*) AS tubes, \
                 COALESCE(SUM(CASE WHEN closed_at IS NULL THEN 1 ELSE 0 END), 0) AS open, \
                 COALESCE(SUM(CASE WHEN closed_at IS NOT NULL AND box_barcode IS NULL AND received_at IS NULL AND result IS NULL THEN 1 ELSE 0 END), 0) AS closed_not_boxed, \
                 COALESCE(SUM(CASE WHEN box_barcode IS NOT NULL AND received_at IS NULL THEN 1 ELSE 0 END), 0) AS in_transit, \
                 COALESCE(SUM(CASE WHEN received_at IS NOT NULL AND result IS NULL THEN 1 ELSE 0 END), 0) AS received_no_result, \
                 COALESCE(SUM(CASE WHEN result = 'negative' THEN 1 ELSE 0 END), 0) AS negative, \
                 COALESCE(SUM(CASE WHEN result = 'positive' THEN 1 ELSE 0 END), 0) AS positive, \
                 COALESCE(SUM(CASE WHEN result = 'invalid' THEN 1 ELSE 0 END), 0) AS invalid, \
                 CAST(AVG(CASE WHEN received_at IS NOT NULL AND closed_at IS NOT NULL THEN received_at - closed_at END) AS DOUBLE PRECISION) AS mean_to_receipt, \
                 CAST(AVG(CASE WHEN result_at IS NOT NULL AND received_at IS NOT NULL THEN result_at - received_at END) AS DOUBLE PRECISION) AS mean_to_result \
                 FROM tubes WHERE round_id = $1",
            )
            .bind(round_id)
            .fetch_one(pool)
            .await?
        });
        Ok(counts)
    }

    /// Tubes of the round still without a result that were closed before each of `limits`
    /// (the 6/12/24-hour delay classes), counted on the partial index of tubes awaiting a result.
    pub async fn awaiting_result_counts(
        &self,
        round_id: i64,
        limits: [i64; 3],
    ) -> StoreResult<[i64; 3]> {
        let counts: (i64, i64, i64) = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COALESCE(SUM(CASE WHEN closed_at < $2 THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN closed_at < $3 THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN closed_at < $4 THEN 1 ELSE 0 END), 0) \
                 FROM tubes WHERE round_id = $1 AND result IS NULL AND closed_at < $2",
            )
            .bind(round_id)
            .bind(limits[0])
            .bind(limits[1])
            .bind(limits[2])
            .fetch_one(pool)
            .await?
        });
        Ok([counts.0, counts.1, counts.2])
    }
}

/// A resident's move as mass testing follows it (from a `resident_moved` person event).
#[derive(Debug, Clone)]
pub struct RoundMove {
    /// The person event; the follow is applied once per event.
    pub event_id: i64,
    pub resident_id: i64,
    pub id_type: String,
    pub id_number: DocumentNumber,
    pub from_grid: String,
    pub to_grid: String,
}

impl Store {
    /// Carries a resident's move into every open screening round (whole or area; routine testing
    /// has no once-per-round target): unless the person's swab in the round was counted in the old
    /// grid (then the swab and the target stay where it was taken), the person's place in the
    /// target — or among the infants left out of it — and their exemption leave the old grid and,
    /// when the new grid lies in the round's region, join it. The unswabbed lists need nothing:
    /// they are read from the register. One transaction with the consumer's cursor `cursor`
    /// (moved to `event_id`), under the tube writer's lock, so a move is counted once and never
    /// while a binding of the same person is being decided. Returns the rounds changed.
    pub async fn follow_move_in_rounds(&self, m: &RoundMove, cursor: &str) -> StoreResult<usize> {
        with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, TUBE_WRITER_LOCK);
            let read: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(cursor)
                .fetch_optional(&mut *tx)
                .await?;
            if read.and_then(|v| v.parse::<i64>().ok()).is_some_and(|after| after >= m.event_id) {
                return Ok(0);
            }
            let rounds: Vec<(i64, String, i64, i64)> = sqlx::query_as(
                "SELECT id, region_code, opened_at, infant_months FROM test_rounds \
                 WHERE closed_at IS NULL AND kind <> 'routine' ORDER BY id",
            )
            .fetch_all(&mut *tx)
            .await?;
            let birth_date: Option<String> = sqlx::query_scalar("SELECT birth_date FROM residents WHERE id = $1")
                .bind(m.resident_id)
                .fetch_optional(&mut *tx)
                .await?;
            let mut changed = 0;
            for (round_id, region, opened_at, infant_months) in rounds {
                let (in_from, in_to) = (m.from_grid.starts_with(&region), m.to_grid.starts_with(&region));
                if !in_from && !in_to {
                    continue;
                }
                let swab_grid: Option<String> = sqlx::query_scalar(
                    "SELECT grid_code FROM samples WHERE id_number = $1 AND id_type = $2 AND round_id = $3 \
                     ORDER BY id LIMIT 1",
                )
                .bind(m.id_number.as_str())
                .bind(&m.id_type)
                .bind(round_id)
                .fetch_optional(&mut *tx)
                .await?;
                if swab_grid.as_deref() == Some(m.from_grid.as_str()) {
                    continue;
                }
                // An infant below the round's age limit was counted among the infants, not the target.
                let cutoff = chrono::DateTime::from_timestamp(opened_at, 0)
                    .map(fangkong_domain::time::beijing_date)
                    .and_then(|d| fangkong_domain::mass_testing::infant_cutoff(d, infant_months))
                    .map(|d| d.format("%Y-%m-%d").to_string());
                let infant = matches!((&birth_date, &cutoff), (Some(b), Some(c)) if b > c);
                let column = if infant { "infants" } else { "target" };
                let mut left = 0;
                if in_from {
                    // Never below the swabs counted there: "swabbed ≤ target" holds in every grid.
                    let guard = if infant { "infants > 0" } else { "target > sampled" };
                    left = sqlx::query(AssertSqlSafe(format!(
                        "UPDATE round_grid_progress SET {column} = {column} - 1 \
                         WHERE round_id = $1 AND grid_code = $2 AND {guard}"
                    )))
                    .bind(round_id)
                    .bind(&m.from_grid)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected() as i64;
                }
                if in_to {
                    sqlx::query(AssertSqlSafe(format!(
                        "INSERT INTO round_grid_progress (round_id, grid_code, {column}) VALUES ($1, $2, 1) \
                         ON CONFLICT (round_id, grid_code) DO UPDATE SET {column} = round_grid_progress.{column} + 1"
                    )))
                    .bind(round_id)
                    .bind(&m.to_grid)
                    .execute(&mut *tx)
                    .await?;
                }
                if !infant {
                    sqlx::query("UPDATE test_rounds SET target_population = target_population + $1 WHERE id = $2")
                        .bind(i64::from(in_to) - left)
                        .bind(round_id)
                        .execute(&mut *tx)
                        .await?;
                }
                let exempt_in: Option<String> = sqlx::query_scalar(
                    "SELECT grid_code FROM sampling_exemptions WHERE round_id = $1 AND resident_id = $2",
                )
                .bind(round_id)
                .bind(m.resident_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(grid) = exempt_in {
                    sqlx::query("UPDATE round_grid_progress SET exempt = exempt - 1 WHERE round_id = $1 AND grid_code = $2")
                        .bind(round_id)
                        .bind(&grid)
                        .execute(&mut *tx)
                        .await?;
                    if in_to {
                        sqlx::query("UPDATE sampling_exemptions SET grid_code = $1 WHERE round_id = $2 AND resident_id = $3")
                            .bind(&m.to_grid)
                            .bind(round_id)
                            .bind(m.resident_id)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("UPDATE round_grid_progress SET exempt = exempt + 1 WHERE round_id = $1 AND grid_code = $2")
                            .bind(round_id)
                            .bind(&m.to_grid)
                            .execute(&mut *tx)
                            .await?;
                    } else {
                        sqlx::query("DELETE FROM sampling_exemptions WHERE round_id = $1 AND resident_id = $2")
                            .bind(round_id)
                            .bind(m.resident_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                changed += 1;
            }
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(cursor)
            .bind(m.event_id.to_string())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(changed)
        })
    }
}
