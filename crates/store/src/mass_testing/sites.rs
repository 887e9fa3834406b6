//! Sampling sites of a round.

use super::*;

impl Store {
    /// A site and its audit record (target: the new id), in one transaction.
    pub async fn insert_site(&self, site: &SiteRecord, audit: &AuditRecord) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO sampling_sites (round_id, region_code, name, address, tables_count, staff_count, \
                 swabs_per_table_hour, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(site.round_id)
            .bind(site.region_code.as_str())
            .bind(&site.name)
            .bind(&site.address)
            .bind(site.tables_count)
            .bind(site.staff_count)
            .bind(site.swabs_per_table_hour)
            .bind(site.created_at)
            .fetch_one(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit, format!("sampling_site:{id}"));
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn site(&self, id: i64) -> StoreResult<Option<SiteRecord>> {
        self.row_by(SITE_COLUMNS, "sampling_sites", "id", id).await
    }

    pub async fn sites_of_round(
        &self,
        round_id: i64,
        range: (&str, &str),
    ) -> StoreResult<Vec<SiteRecord>> {
        let sql = format!(
            "SELECT {SITE_COLUMNS} FROM sampling_sites WHERE round_id = $1 AND region_code >= $2 \
             AND region_code < $3 ORDER BY region_code, id LIMIT 5000"
        );
        let sites = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(round_id).bind(range.0).bind(range.1).fetch_all(pool).await?
        });
        Ok(sites)
    }
}
