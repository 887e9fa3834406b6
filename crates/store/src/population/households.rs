//! Households and their members.

use super::*;

impl Store {
    pub async fn household(&self, number: &str) -> StoreResult<Option<HouseholdRecord>> {
        let household = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT h.number, h.grid_code, h.address, h.created_at, \
                 (SELECT COUNT(*) FROM residents r WHERE r.household_number = h.number) AS members \
                 FROM households h WHERE h.number = $1",
            )
            .bind(number)
            .fetch_optional(pool)
            .await?
        });
        Ok(household)
    }

    pub async fn household_members(&self, number: &str) -> StoreResult<Vec<ResidentRecord>> {
        let sql = format!(
            "SELECT {RESIDENT_COLUMNS} FROM residents WHERE household_number = $1 ORDER BY birth_date, id"
        );
        let members = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(number).fetch_all(pool).await?
        });
        Ok(members)
    }

    /// One page of a grid's households in number order, starting after `after_number`.
    pub async fn households_in_grid(
        &self,
        grid_code: &str,
        after_number: &str,
        limit: i64,
    ) -> StoreResult<Vec<HouseholdRecord>> {
        let households = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT h.number, h.grid_code, h.address, h.created_at, \
                 (SELECT COUNT(*) FROM residents r WHERE r.household_number = h.number) AS members \
                 FROM households h WHERE h.grid_code = $1 AND h.number > $2 ORDER BY h.number LIMIT $3",
            )
            .bind(grid_code)
            .bind(after_number)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(households)
    }
}
