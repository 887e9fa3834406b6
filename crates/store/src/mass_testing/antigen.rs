//! Antigen self-test reports and their photos.

use super::*;

impl Store {
    /// Stores an antigen self-test; a positive also gets a recheck (PCR) task routed to the grid and
    /// an `antigen_positive` event, in the same transaction as the report's audit record (target:
    /// `antigen_report:<new id>`).
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_antigen_report(
        &self,
        id_type: &str,
        id_number: &str,
        name: &str,
        resident_id: Option<i64>,
        grid_code: &str,
        tested_at: i64,
        result: &str,
        photo: Option<(&[u8], &str)>,
        now: i64,
        reporter: &str,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, TUBE_WRITER_LOCK);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO antigen_reports (id_type, id_number, resident_id, grid_code, tested_at, result, photo, \
                 photo_type, reported_at, reporter) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(id_type)
            .bind(id_number)
            .bind(resident_id)
            .bind(grid_code)
            .bind(tested_at)
            .bind(result)
            .bind(photo.map(|(bytes, _)| bytes))
            .bind(photo.map(|(_, kind)| kind))
            .bind(now)
            .bind(reporter)
            .fetch_one(&mut *tx)
            .await?;
            if result == "positive" {
                let source = format!("antigen:{id}");
                sqlx::query(
                    "INSERT INTO recheck_tasks (round_id, source, reason, id_type, id_number, name, resident_id, \
                     grid_code, created_at, status) VALUES (NULL, $1, 'antigen_positive', $2, $3, $4, $5, $6, $7, 'pending')",
                )
                .bind(&source)
                .bind(id_type)
                .bind(id_number)
                .bind(name)
                .bind(resident_id)
                .bind(grid_code)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO person_events (at, kind, id_type, id_number, resident_id, grid_code, source, detail) \
                     VALUES ($1, 'antigen_positive', $2, $3, $4, $5, $6, '')",
                )
                .bind(now)
                .bind(id_type)
                .bind(id_number)
                .bind(resident_id)
                .bind(grid_code)
                .bind(&source)
                .execute(&mut *tx)
                .await?;
            }
            write_audit!(&mut *tx, audit, format!("antigen_report:{id}"));
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn antigen_reports(
        &self,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<AntigenReportRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, id_type, id_number, resident_id, grid_code, tested_at, result, \
                 (photo IS NOT NULL) AS has_photo, reported_at, reporter FROM antigen_reports \
                 WHERE grid_code >= $1 AND grid_code < $2 ORDER BY reported_at DESC LIMIT $3",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// How many reports [`Store::antigen_reports`] would list without its limit.
    pub async fn count_antigen_reports(&self, range: (&str, &str)) -> StoreResult<i64> {
        let count: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM antigen_reports WHERE grid_code >= $1 AND grid_code < $2",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }

    pub async fn antigen_reports_of(
        &self,
        id_type: &str,
        id_number: &str,
    ) -> StoreResult<Vec<AntigenReportRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, id_type, id_number, resident_id, grid_code, tested_at, result, \
                 (photo IS NOT NULL) AS has_photo, reported_at, reporter FROM antigen_reports \
                 WHERE id_number = $1 AND id_type = $2 ORDER BY tested_at DESC LIMIT 50",
            )
            .bind(id_number)
            .bind(id_type)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn antigen_photo(&self, id: i64) -> StoreResult<Option<(String, Vec<u8>, String)>> {
        let row: Option<(String, Option<Vec<u8>>, Option<String>)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT grid_code, photo, photo_type FROM antigen_reports WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.and_then(|(grid, photo, kind)| Some((grid, photo?, kind.unwrap_or_default()))))
    }
}
