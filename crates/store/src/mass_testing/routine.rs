//! Routine testing of key groups: who is overdue.

use super::*;

impl Store {
    /// Residents in the subtree `range` in key group `group` whose last swab (any round) was before
    /// `due_before` or who have none: the routine-testing overdue list.
    pub async fn key_group_overdue(
        &self,
        range: (&str, &str),
        group: &str,
        due_before: i64,
        limit: i64,
    ) -> StoreResult<Vec<KeyGroupDue>> {
        // Whole codes only: "port" must not match "public_transport".
        let pattern = format!("%;{group};%");
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT r.id, r.name, r.id_type, r.id_number, r.grid_code, r.key_groups, \
                 (SELECT MAX(s.sampled_at) FROM samples s WHERE s.id_number = r.id_number AND s.id_type = r.id_type) \
                   AS last_sampled_at \
                 FROM residents r WHERE r.grid_code >= $1 AND r.grid_code < $2 AND (';' || r.key_groups || ';') LIKE $3 \
                 AND NOT EXISTS (SELECT 1 FROM samples s WHERE s.id_number = r.id_number AND s.id_type = r.id_type \
                   AND s.sampled_at >= $4) \
                 ORDER BY r.grid_code, r.id LIMIT $5",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(&pattern)
            .bind(due_before)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}
