//! Risk areas: designation, steps, confirmation and lifting; the active areas around a region.

use super::*;
use crate::bind::PushList;

impl Store {
    /// The area, its first step and the designation's audit record (target: the new id), in one
    /// transaction. A designation entered after the fact (补录) has missed the infections found in
    /// its region since: the newest event `infection` names (the app's rule, as for
    /// [`Store::record_area_infection`]) at or after the designation is its last infection, with
    /// its step, so its clean days count from there as they would have.
    pub async fn insert_risk_area(
        &self,
        area: &NewRiskArea,
        infection: fn(&crate::PersonEventRecord) -> Option<&'static str>,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO risk_areas (scheme, tier, unit, region_code, place_name, reason, designated_at, \
                 designated_by, tier_since) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7) RETURNING id",
            )
            .bind(&area.scheme)
            .bind(&area.tier)
            .bind(&area.unit)
            .bind(&area.region_code)
            .bind(&area.place_name)
            .bind(&area.reason)
            .bind(area.at)
            .bind(&area.actor)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO risk_area_steps (area_id, at, from_tier, to_tier, actor, note) VALUES ($1, $2, NULL, $3, $4, $5)",
            )
            .bind(id)
            .bind(area.at)
            .bind(&area.tier)
            .bind(&area.actor)
            .bind(&area.reason)
            .execute(&mut *tx)
            .await?;
            let sql = format!(
                "SELECT {} FROM person_events WHERE at >= $1 \
                 AND kind IN ('single_positive', 'antigen_positive', 'case_reported') \
                 AND substr(grid_code, 1, length($2)) = $2 ORDER BY at DESC, id DESC LIMIT 1000",
                crate::mass_testing::EVENT_COLUMNS
            );
            let since: Vec<crate::PersonEventRecord> = sqlx::query_as(AssertSqlSafe(sql))
                .bind(area.at)
                .bind(&area.region_code)
                .fetch_all(&mut *tx)
                .await?;
            if let Some((event, note)) = since.iter().find_map(|e| infection(e).map(|n| (e, n))) {
                sqlx::query("UPDATE risk_areas SET last_infection_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(event.at)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO risk_area_steps (area_id, at, from_tier, to_tier, actor, note) \
                     VALUES ($1, $2, $3, $3, 'system', $4)",
                )
                .bind(id)
                .bind(event.at)
                .bind(&area.tier)
                .bind(note)
                .execute(&mut *tx)
                .await?;
            }
            write_audit!(&mut *tx, audit, id);
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Areas whose region lies in `range` (a jurisdiction's subtree), current ones first.
    pub async fn risk_areas(
        &self,
        range: (&str, &str),
        include_lifted: bool,
    ) -> StoreResult<Vec<RiskAreaRecord>> {
        let lifted = if include_lifted {
            ""
        } else {
            " AND lifted_at IS NULL"
        };
        let sql = format!(
            "SELECT {AREA_COLUMNS} FROM risk_areas WHERE region_code >= $1 AND region_code < $2{lifted} \
             ORDER BY lifted_at IS NOT NULL, designated_at DESC, id DESC LIMIT 2000"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(range.0).bind(range.1).fetch_all(pool).await?
        });
        Ok(rows)
    }

    pub async fn risk_area(&self, id: i64) -> StoreResult<Option<RiskAreaRecord>> {
        self.row_by(AREA_COLUMNS, "risk_areas", "id", id).await
    }

    /// Current areas whose region is `code` or one of its ancestors or descendants — what a person
    /// living at `code` (or arriving from it) may be inside.
    pub async fn active_risk_areas_around(&self, code: &str) -> StoreResult<Vec<RiskAreaRecord>> {
        // Region codes are prefixes of their children (2/4/6/9/12/15 digits): a code's ancestors are
        // its shorter prefixes, its descendants the range [code, code + ":").
        let mut ancestors: Vec<String> = [2usize, 4, 6, 9, 12]
            .iter()
            .filter(|&&len| code.len() > len)
            .map(|&len| code[..len].to_string())
            .collect();
        ancestors.push(code.to_string());
        let prefix = code;
        let upper = format!("{code}:");
        let rows = with_pool!(self, pool => {
            let mut builder = QueryBuilder::new(format!(
                "SELECT {AREA_COLUMNS} FROM risk_areas WHERE lifted_at IS NULL AND (region_code IN "
            ));
            builder.push_list(ancestors.iter());
            builder.push(" OR (region_code >= ");
            builder.push_bind(prefix.to_string());
            builder.push(" AND region_code < ");
            builder.push_bind(upper.clone());
            builder.push(")) ORDER BY id");
            builder.build_query_as().fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Moves an area from `from_tier` to another tier, or lifts it (`to_tier` = "lifted"), unless it
    /// changed since the caller looked (another tier, lifted, or a newer infection than
    /// `seen_infection`): then nothing is written and the answer is false. The step and its audit
    /// record are one transaction.
    pub async fn step_risk_area(
        &self,
        step: &AreaStep<'_>,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        let AreaStep {
            id,
            from_tier,
            seen_infection,
            to_tier,
            at,
            actor,
            note,
        } = *step;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = if to_tier == "lifted" {
                sqlx::query(
                    "UPDATE risk_areas SET lifted_at = $2, lifted_by = $3 WHERE id = $1 AND tier = $4 \
                     AND lifted_at IS NULL AND COALESCE(last_infection_at, 0) = $5",
                )
                .bind(id)
                .bind(at)
                .bind(actor)
                .bind(from_tier)
                .bind(seen_infection.unwrap_or(0))
                .execute(&mut *tx)
                .await?
                .rows_affected()
            } else {
                sqlx::query(
                    "UPDATE risk_areas SET tier = $2, tier_since = $3 WHERE id = $1 AND tier = $4 \
                     AND lifted_at IS NULL AND COALESCE(last_infection_at, 0) = $5",
                )
                .bind(id)
                .bind(to_tier)
                .bind(at)
                .bind(from_tier)
                .bind(seen_infection.unwrap_or(0))
                .execute(&mut *tx)
                .await?
                .rows_affected()
            };
            if changed == 0 {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO risk_area_steps (area_id, at, from_tier, to_tier, actor, note) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(at)
            .bind(from_tier)
            .bind(to_tier)
            .bind(actor)
            .bind(note)
            .execute(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// An infection found in `grid_code` resets the clean-day count of every current area holding it.
    /// Returns the areas touched.
    pub async fn record_area_infection(
        &self,
        grid_code: &str,
        at: i64,
        note: &str,
    ) -> StoreResult<Vec<i64>> {
        let areas = self.active_risk_areas_around(grid_code).await?;
        let holding: Vec<i64> = areas
            .iter()
            .filter(|a| grid_code.starts_with(a.region_code.as_str()))
            .filter(|a| a.last_infection_at.is_none_or(|last| last < at))
            .map(|a| a.id)
            .collect();
        if holding.is_empty() {
            return Ok(holding);
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for id in &holding {
                let changed = sqlx::query("UPDATE risk_areas SET last_infection_at = $2 WHERE id = $1 AND (last_infection_at IS NULL OR last_infection_at < $2)")
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                // Two passes over the same event (an upload and the background pass) record one step.
                if changed == 0 {
                    continue;
                }
                sqlx::query(
                    "INSERT INTO risk_area_steps (area_id, at, from_tier, to_tier, actor, note) \
                     SELECT id, $2, tier, tier, 'system', $3 FROM risk_areas WHERE id = $1",
                )
                .bind(id)
                .bind(at)
                .bind(note)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(holding)
    }

    /// An all-negative round of an area, with its audit record in the same transaction.
    pub async fn add_risk_area_round(
        &self,
        area_id: i64,
        finished_at: i64,
        round_id: Option<i64>,
        note: &str,
        actor: &str,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO risk_area_rounds (area_id, finished_at, round_id, note, recorded_by) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(area_id)
            .bind(finished_at)
            .bind(round_id)
            .bind(note)
            .bind(actor)
            .fetch_one(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit);
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn risk_area_rounds(&self, area_id: i64) -> StoreResult<Vec<RiskAreaRoundRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, area_id, finished_at, round_id, note, recorded_by FROM risk_area_rounds \
                 WHERE area_id = $1 ORDER BY finished_at",
            )
            .bind(area_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn risk_area_steps(&self, area_id: i64) -> StoreResult<Vec<RiskAreaStepRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, area_id, at, from_tier, to_tier, actor, note FROM risk_area_steps \
                 WHERE area_id = $1 ORDER BY at, id",
            )
            .bind(area_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Whether every swab taken in `round_id` from people living under `region_code` has a negative
    /// result, and when the last result came (None when some are missing or positive, or no swabs).
    pub async fn round_all_negative_in(
        &self,
        round_id: i64,
        region_code: &str,
    ) -> StoreResult<Option<i64>> {
        let upper = format!("{region_code}:");
        let (swabs, negatives, last): (i64, i64, Option<i64>) = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN t.result = 'negative' THEN 1 ELSE 0 END), 0), MAX(t.tested_at) \
                 FROM samples s JOIN tubes t ON t.barcode = s.tube_barcode \
                 WHERE s.round_id = $1 AND s.grid_code >= $2 AND s.grid_code < $3",
            )
            .bind(round_id)
            .bind(region_code)
            .bind(&upper)
            .fetch_one(pool)
            .await?
        });
        // Everyone due must have been swabbed too: one negative swab is not an all-negative round.
        let (due, sampled): (i64, i64) = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COALESCE(SUM(target - exempt), 0), COALESCE(SUM(sampled), 0) FROM round_grid_progress \
                 WHERE round_id = $1 AND grid_code >= $2 AND grid_code < $3",
            )
            .bind(round_id)
            .bind(region_code)
            .bind(&upper)
            .fetch_one(pool)
            .await?
        });
        Ok(if swabs > 0 && swabs == negatives && sampled >= due {
            last
        } else {
            None
        })
    }
}
