//! Transmission chains: the cases of a picture, infector ancestors and infectees.

use super::*;

impl Store {
    /// Every case of a jurisdiction with its infector and number of active contacts: the chain
    /// picture's input (two indexed scans, no per-case query).
    pub async fn chain_cases(&self, range: (&str, &str)) -> StoreResult<Vec<ChainCaseRow>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT c.id, c.infector_case_id, c.kind, c.case_number, COALESCE(n.contacts, 0) AS contacts \
                 FROM cases c LEFT JOIN ( \
                   SELECT case_id, COUNT(*) AS contacts FROM contacts \
                   WHERE case_region_code >= $1 AND case_region_code < $2 AND status = 'active' GROUP BY case_id \
                 ) n ON n.case_id = c.id \
                 WHERE c.region_code >= $1 AND c.region_code < $2 AND c.status <> 'excluded' ORDER BY c.id",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// The infector chain upwards from `case_id` (its infector, that one's infector …), at most
    /// `limit` steps: how the app refuses a link that would close a cycle.
    pub async fn infector_ancestors(&self, case_id: i64, limit: usize) -> StoreResult<Vec<i64>> {
        let mut ancestors = Vec::new();
        let mut at = case_id;
        while ancestors.len() < limit {
            let next: Option<Option<i64>> = with_pool!(self, pool => {
                sqlx::query_scalar("SELECT infector_case_id FROM cases WHERE id = $1")
                    .bind(at)
                    .fetch_optional(pool)
                    .await?
            });
            match next.flatten() {
                Some(parent) => {
                    ancestors.push(parent);
                    at = parent;
                }
                None => break,
            }
        }
        Ok(ancestors)
    }

    /// The cases this case infected.
    pub async fn infectees(&self, case_id: i64) -> StoreResult<Vec<CaseRecord>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE infector_case_id = $1 ORDER BY id LIMIT 500"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(case_id).fetch_all(pool).await?
        });
        Ok(rows)
    }
}
