//! One person's cases and contact records, whatever case they belong to (一人一档).

use super::*;

impl Store {
    /// Every case of a person (open or closed), newest first.
    pub async fn cases_of_person(
        &self,
        id_type: &str,
        id_number: &str,
    ) -> StoreResult<Vec<CaseRecord>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE id_number = $1 AND id_type = $2 ORDER BY id DESC LIMIT 20"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id_number).bind(id_type).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Every contact record of a person (one per case they were exposed to), newest first.
    pub async fn contacts_of_person(
        &self,
        id_type: &str,
        id_number: &str,
    ) -> StoreResult<Vec<ContactRecord>> {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id_number = $1 AND id_type = $2 ORDER BY id DESC LIMIT 50"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id_number).bind(id_type).fetch_all(pool).await?
        });
        Ok(rows)
    }
}
