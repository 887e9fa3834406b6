//! Trajectories: a case's stops (行程轨迹).

use super::*;

impl Store {
    /// Adds trajectory stops; a stop whose `source_key` the case already has is skipped (a retry, or
    /// a passage pulled twice). Returns how many were new. A stop a user enters carries its audit
    /// record, written in the same transaction.
    pub async fn insert_case_stops(
        &self,
        stops: &[CaseStopRecord],
        audit: Option<&crate::AuditRecord>,
    ) -> StoreResult<u64> {
        let mut added = 0;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for stop in stops {
                let result = sqlx::query(
                    "INSERT INTO case_stops (case_id, from_at, to_at, place_kind, place_name, address, region_code, \
                     source, source_key, public, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (case_id, source_key) DO NOTHING",
                )
                .bind(stop.case_id)
                .bind(stop.from_at)
                .bind(stop.to_at)
                .bind(&stop.place_kind)
                .bind(&stop.place_name)
                .bind(stop.address.as_str())
                .bind(&stop.region_code)
                .bind(&stop.source)
                .bind(&stop.source_key)
                .bind(stop.public)
                .bind(&stop.created_by)
                .bind(stop.created_at)
                .execute(&mut *tx)
                .await?;
                added += result.rows_affected();
            }
            if let Some(audit) = audit {
                crate::audit::write_audit!(&mut *tx, audit);
            }
            tx.commit().await?;
        });
        Ok(added)
    }

    pub async fn case_stops(&self, case_id: i64) -> StoreResult<Vec<CaseStopRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, case_id, from_at, to_at, place_kind, place_name, address, region_code, source, \
                 source_key, public, created_by, created_at FROM case_stops WHERE case_id = $1 ORDER BY from_at, id",
            )
            .bind(case_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}
