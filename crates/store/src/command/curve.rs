//! The epidemic curve's reads (疫情曲线): sums of `case_day_counts`, the counters every case write
//! moves in its own transaction (`investigation`), never a count of cases.

use crate::{Store, StoreResult, with_pool};

impl Store {
    /// (day, kind, cases) on `basis` ('onset' | 'report') in the code range `range`.
    pub async fn curve_counts(
        &self,
        range: (&str, &str),
        basis: &str,
    ) -> StoreResult<Vec<(String, String, i64)>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT day, kind, CAST(SUM(n) AS BIGINT) FROM case_day_counts \
                 WHERE region_code >= $1 AND region_code < $2 AND basis = $3 \
                 GROUP BY day, kind ORDER BY day, kind",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(basis)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Infections (every kind but suspected) on `basis` on `day`, per region code cut to
    /// `child_len` characters, in the code range `range`. A case kept at a shorter code (the
    /// reporting region of a person not in the register) comes back under that code.
    pub async fn infections_on_day_by_child(
        &self,
        range: (&str, &str),
        child_len: i64,
        basis: &str,
        day: &str,
    ) -> StoreResult<Vec<(String, i64)>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT substr(region_code, 1, CAST($3 AS INTEGER)) AS code, CAST(SUM(n) AS BIGINT) \
                 FROM case_day_counts \
                 WHERE basis = $4 AND day = $5 AND region_code >= $1 AND region_code < $2 \
                 AND kind <> 'suspected' GROUP BY 1 ORDER BY 1",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(child_len)
            .bind(basis)
            .bind(day)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}
