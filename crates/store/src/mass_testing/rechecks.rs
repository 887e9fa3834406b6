//! Recheck tasks: counts per region and the list, with its count.

use super::*;

impl Store {
    /// Recheck tasks by status in the subtree `range` (all rounds and antigen positives).
    pub async fn recheck_counts(&self, range: (&str, &str)) -> StoreResult<Vec<(String, i64)>> {
        let counts = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT status, COUNT(*) FROM recheck_tasks WHERE grid_code >= $1 AND grid_code < $2 GROUP BY status ORDER BY status",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(counts)
    }

    pub async fn recheck_tasks(
        &self,
        range: (&str, &str),
        status: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<RecheckTaskRecord>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM recheck_tasks WHERE grid_code >= $1 AND grid_code < $2 \
             AND ($3 = '' OR status = $3) ORDER BY created_at DESC, id LIMIT $4"
        );
        let tasks = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(status.unwrap_or(""))
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(tasks)
    }

    /// How many recheck tasks [`Store::recheck_tasks`] would list without its limit.
    pub async fn count_recheck_tasks(
        &self,
        range: (&str, &str),
        status: Option<&str>,
    ) -> StoreResult<i64> {
        let count: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM recheck_tasks WHERE grid_code >= $1 AND grid_code < $2 \
                 AND ($3 = '' OR status = $3)",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(status.unwrap_or(""))
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }
}
