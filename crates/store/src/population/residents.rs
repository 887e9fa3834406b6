//! Residents: one by id, search, pages of a grid, counts.

use super::*;

impl Store {
    pub async fn resident(&self, id: i64) -> StoreResult<Option<ResidentRecord>> {
        self.row_by(RESIDENT_COLUMNS, "residents", "id", id).await
    }

    /// Residents whose field matches `value`, inside the code range `subtree` (the jurisdiction).
    pub async fn search_residents(
        &self,
        field: SearchField,
        value: &str,
        subtree: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<ResidentRecord>> {
        let (condition, upper_value) = match field {
            SearchField::IdNumber => ("id_number = $1", None),
            SearchField::Phone => ("phone = $1", None),
            // A prefix as a range, so the (name, grid_code) index answers it on both backends
            // (PostgreSQL columns use the "C" collation, i.e. code-point order like SQLite).
            SearchField::Name => (
                "name >= $1 AND name < $5",
                Some(format!("{value}\u{10FFFF}")),
            ),
        };
        // Ordered as the (name, grid_code) index is, so a common surname stops after `limit` rows
        // instead of sorting every match in the city.
        let sql = format!(
            "SELECT {RESIDENT_COLUMNS} FROM residents WHERE {condition} \
             AND grid_code >= $2 AND grid_code < $3 ORDER BY name, grid_code LIMIT $4"
        );
        let residents = with_pool!(self, pool => {
            let mut query = sqlx::query_as(AssertSqlSafe(sql))
                .bind(value)
                .bind(subtree.0)
                .bind(subtree.1)
                .bind(limit);
            if let Some(upper) = &upper_value {
                query = query.bind(upper.clone());
            }
            query.fetch_all(pool).await?
        });
        Ok(residents)
    }

    /// One page of residents in the code range, in id order after `after_id` (exports page through this
    /// instead of holding one long read open).
    pub async fn residents_page(
        &self,
        subtree: (&str, &str),
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<ResidentRecord>> {
        let sql = format!(
            "SELECT {RESIDENT_COLUMNS} FROM residents WHERE grid_code >= $1 AND grid_code < $2 AND id > $3 \
             ORDER BY id LIMIT $4"
        );
        let residents = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(subtree.0)
                .bind(subtree.1)
                .bind(after_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(residents)
    }

    /// Residents of one grid, one page at a time, in id order.
    pub async fn residents_in_grid(
        &self,
        grid_code: &str,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<ResidentRecord>> {
        let sql = format!(
            "SELECT {RESIDENT_COLUMNS} FROM residents WHERE grid_code = $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        let residents = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(grid_code)
                .bind(after_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(residents)
    }

    /// Counts residents by scanning the table (tests compare this with the maintained `grid_stats`).
    pub async fn count_residents_by_scan(&self, subtree: (&str, &str)) -> StoreResult<i64> {
        let count = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM residents WHERE grid_code >= $1 AND grid_code < $2")
                .bind(subtree.0)
                .bind(subtree.1)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }
}
