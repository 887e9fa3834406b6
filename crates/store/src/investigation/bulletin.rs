//! The cases an anonymised bulletin (通报) reports.

use super::*;

impl Store {
    /// Cases of a jurisdiction for the public bulletin: active or discharged, newest first.
    pub async fn bulletin_cases(
        &self,
        range: (&str, &str),
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<CaseRecord>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE region_code >= $1 AND region_code < $2 \
             AND found_at >= $3 AND kind IN ('confirmed', 'asymptomatic') AND status <> 'excluded' \
             ORDER BY id DESC LIMIT $4"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(since)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }
}
