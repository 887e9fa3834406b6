//! The situation picture's reads (态势): sums of the counters the other modules' writes move in
//! their own transactions (`measure_counts`, `code_counts`, `passage_counts` by trigger;
//! `investigation_counts`, `lead_grid_stats`, `round_grid_progress` by the writers), grouped by
//! child region. Nothing here counts records, except the few opened today.

use fangkong_domain::isolation::{MeasureStatus, PersonCategory};

use crate::typed::StoredCode;
use crate::{Store, StoreResult, with_pool};

/// People under measures of one child region, category and status.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MeasureCount {
    pub code: String,
    #[sqlx(try_from = "StoredCode<PersonCategory>")]
    pub category: PersonCategory,
    #[sqlx(try_from = "StoredCode<MeasureStatus>")]
    pub status: MeasureStatus,
    pub n: i64,
}

/// A count of one child region and one kind of thing (a case kind, a colour, a decision).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChildCount {
    pub code: String,
    pub what: String,
    pub n: i64,
}

impl Store {
    /// People under measures in the subtree `range` per child region (the first `child_len`
    /// characters of the grid code), category and status.
    pub async fn measure_counts_by_child(
        &self,
        range: (&str, &str),
        child_len: i64,
    ) -> StoreResult<Vec<MeasureCount>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT substr(grid_code, 1, CAST($3 AS INTEGER)) AS code, category, status, \
                 CAST(SUM(n) AS BIGINT) AS n FROM measure_counts \
                 WHERE grid_code >= $1 AND grid_code < $2 GROUP BY 1, 2, 3 HAVING SUM(n) > 0 ORDER BY 1, 2, 3",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(child_len)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Current codes per child region and colour (`what` = colour; pop-ups as `popup`).
    pub async fn code_counts_by_child(
        &self,
        range: (&str, &str),
        child_len: i64,
    ) -> StoreResult<Vec<ChildCount>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT substr(grid_code, 1, CAST($3 AS INTEGER)) AS code, \
                 CASE WHEN popup = 1 THEN 'popup' ELSE colour END AS what, CAST(SUM(n) AS BIGINT) AS n \
                 FROM code_counts WHERE grid_code >= $1 AND grid_code < $2 \
                 GROUP BY 1, 2 HAVING SUM(n) > 0 ORDER BY 1, 2",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(child_len)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Checkpoint passages of Beijing day `day` (days since 1970-01-01) per decision, at the
    /// checkpoints of the subtree `range`.
    pub async fn passage_counts_on(
        &self,
        range: (&str, &str),
        day: i64,
    ) -> StoreResult<Vec<(String, i64)>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT decision, CAST(SUM(n) AS BIGINT) FROM passage_counts \
                 WHERE region_code >= $1 AND region_code < $2 AND day = $3 GROUP BY decision ORDER BY decision",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(day)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Cases found in `[from, to)` per child region and kind — the day's few, read through
    /// the index of cases by time found.
    pub async fn cases_found_by_child(
        &self,
        range: (&str, &str),
        child_len: i64,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<ChildCount>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT substr(region_code, 1, CAST($3 AS INTEGER)) AS code, kind AS what, \
                 CAST(COUNT(*) AS BIGINT) AS n FROM cases \
                 WHERE found_at >= $4 AND found_at < $5 AND region_code >= $1 AND region_code < $2 \
                 GROUP BY 1, 2 ORDER BY 1, 2",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(child_len)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Pending single-tube rechecks per child region of the subtree `range`.
    pub async fn pending_rechecks_by_child(
        &self,
        range: (&str, &str),
        child_len: i64,
    ) -> StoreResult<Vec<(String, i64)>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT substr(grid_code, 1, CAST($3 AS INTEGER)) AS code, CAST(COUNT(*) AS BIGINT) \
                 FROM recheck_tasks WHERE status = 'pending' AND grid_code >= $1 AND grid_code < $2 \
                 GROUP BY 1 ORDER BY 1",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(child_len)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}

impl Store {
    /// Open leads (pending or unrouted) of the subtree `range` whose deadline falls in
    /// `(from, to]`, counted on the index of open leads by deadline.
    pub async fn count_open_leads_due_between(
        &self,
        range: (&str, &str),
        from: i64,
        to: i64,
    ) -> StoreResult<i64> {
        let n = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM leads WHERE status IN ('pending', 'unrouted') \
                 AND deadline > $3 AND deadline <= $4 AND grid_code >= $1 AND grid_code < $2",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(from)
            .bind(to)
            .fetch_one(pool)
            .await?
        });
        Ok(n)
    }
}
