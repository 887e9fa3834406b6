//! The cases an anonymised bulletin (通报) reports.

use super::*;

/// The cases a bulletin reports: in the range `$1..$2`, found since `$3`, confirmed or asymptomatic
/// and not excluded.
const BULLETIN_CASES_WHERE: &str = "region_code >= $1 AND region_code < $2 AND found_at >= $3 \
     AND kind IN ('confirmed', 'asymptomatic') AND status <> 'excluded'";

impl Store {
    /// Cases of a jurisdiction for the public bulletin: active or discharged, newest first (the
    /// conditions are `BULLETIN_CASES_WHERE`, shared with [`Store::count_bulletin_cases`]).
    pub async fn bulletin_cases(
        &self,
        range: (&str, &str),
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<CaseRecord>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE {BULLETIN_CASES_WHERE} ORDER BY id DESC LIMIT $4"
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

    /// How many cases [`Store::bulletin_cases`] would list without its limit.
    pub async fn count_bulletin_cases(&self, range: (&str, &str), since: i64) -> StoreResult<i64> {
        let sql = format!("SELECT COUNT(*) FROM cases WHERE {BULLETIN_CASES_WHERE}");
        let count: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(since)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }
}
