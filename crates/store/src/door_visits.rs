//! Door-to-door checks (敲门行动): visit records and the ledger of households not yet visited.

use crate::{Store, StoreResult, with_pool};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct DoorVisitRecord {
    pub id: i64,
    pub household_number: String,
    pub grid_code: String,
    pub visited_at: i64,
    pub visitor: String,
    pub present_count: i64,
    pub away_count: i64,
    pub arrivals_count: i64,
    pub arrivals_note: String,
    pub untested_count: i64,
    pub unvaccinated_count: i64,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct UnvisitedHousehold {
    pub number: String,
    pub address: String,
    pub members: i64,
    /// The last visit before the ledger's start, if any.
    pub last_visited_at: Option<i64>,
}

const VISIT_COLUMNS: &str = "id, household_number, grid_code, visited_at, visitor, present_count, away_count, \
     arrivals_count, arrivals_note, untested_count, unvaccinated_count, note";

impl Store {
    /// A visit and its audit record (target: `door_visit:<new id>`), in one transaction.
    pub async fn insert_door_visit(
        &self,
        visit: &DoorVisitRecord,
        audit: &crate::AuditRecord,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO door_visits (household_number, grid_code, visited_at, visitor, present_count, \
                 away_count, arrivals_count, arrivals_note, untested_count, unvaccinated_count, note) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(&visit.household_number)
            .bind(&visit.grid_code)
            .bind(visit.visited_at)
            .bind(&visit.visitor)
            .bind(visit.present_count)
            .bind(visit.away_count)
            .bind(visit.arrivals_count)
            .bind(&visit.arrivals_note)
            .bind(visit.untested_count)
            .bind(visit.unvaccinated_count)
            .bind(&visit.note)
            .fetch_one(&mut *tx)
            .await?;
            crate::audit::write_audit!(&mut *tx, audit, format!("door_visit:{id}"));
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn door_visits_of_household(
        &self,
        number: &str,
    ) -> StoreResult<Vec<DoorVisitRecord>> {
        let sql = format!(
            "SELECT {VISIT_COLUMNS} FROM door_visits WHERE household_number = $1 ORDER BY visited_at DESC"
        );
        let visits = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(number).fetch_all(pool).await?
        });
        Ok(visits)
    }

    /// The grid's households with no visit at or after `since` ("不漏一户"), in household-number order.
    pub async fn unvisited_households(
        &self,
        grid_code: &str,
        since: i64,
    ) -> StoreResult<Vec<UnvisitedHousehold>> {
        let households = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT h.number, h.address, \
                 (SELECT COUNT(*) FROM residents r WHERE r.household_number = h.number) AS members, \
                 (SELECT MAX(v.visited_at) FROM door_visits v WHERE v.household_number = h.number) AS last_visited_at \
                 FROM households h WHERE h.grid_code = $1 AND NOT EXISTS ( \
                   SELECT 1 FROM door_visits v WHERE v.household_number = h.number AND v.visited_at >= $2) \
                 ORDER BY h.number",
            )
            .bind(grid_code)
            .bind(since)
            .fetch_all(pool)
            .await?
        });
        Ok(households)
    }

    /// Households of the grid visited at or after `since`, and the visits' totals of arrivals, untested
    /// and unvaccinated people (the grid's line on the ledger).
    pub async fn door_visit_totals(
        &self,
        grid_code: &str,
        since: i64,
    ) -> StoreResult<(i64, i64, i64, i64)> {
        let totals: (i64, Option<i64>, Option<i64>, Option<i64>) = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COUNT(DISTINCT household_number), CAST(SUM(arrivals_count) AS BIGINT), \
                 CAST(SUM(untested_count) AS BIGINT), CAST(SUM(unvaccinated_count) AS BIGINT) \
                 FROM door_visits WHERE grid_code = $1 AND visited_at >= $2",
            )
            .bind(grid_code)
            .bind(since)
            .fetch_one(pool)
            .await?
        });
        Ok((
            totals.0,
            totals.1.unwrap_or(0),
            totals.2.unwrap_or(0),
            totals.3.unwrap_or(0),
        ))
    }
}
