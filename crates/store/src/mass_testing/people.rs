//! A person's results and events, the person-event stream, statistics and resident logins.

use super::*;

impl Store {
    /// Every swab of a person with its tube's result, newest first.
    pub async fn person_results(
        &self,
        id_type: &str,
        id_number: &str,
    ) -> StoreResult<Vec<PersonResult>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.round_id, r.name AS round_name, s.tube_barcode, t.capacity, t.purpose, s.sampled_at, \
                 t.result, t.tested_at, t.lab_name \
                 FROM samples s JOIN tubes t ON t.barcode = s.tube_barcode JOIN test_rounds r ON r.id = s.round_id \
                 WHERE s.id_number = $1 AND s.id_type = $2 ORDER BY s.sampled_at DESC LIMIT 100",
            )
            .bind(id_number)
            .bind(id_type)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn person_events_of(
        &self,
        id_type: &str,
        id_number: &str,
    ) -> StoreResult<Vec<PersonEventRecord>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM person_events WHERE id_number = $1 AND id_type = $2 ORDER BY id DESC LIMIT 100"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id_number).bind(id_type).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Events of a kind in the subtree `range`, newest first.
    pub async fn person_events(
        &self,
        kind: &str,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<PersonEventRecord>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM person_events WHERE kind = $1 AND grid_code >= $2 AND grid_code < $3 \
             ORDER BY id DESC LIMIT $4"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(kind).bind(range.0).bind(range.1).bind(limit).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// How many events of a kind lie in the subtree `range`.
    pub async fn count_person_events(&self, kind: &str, range: (&str, &str)) -> StoreResult<i64> {
        let count = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM person_events WHERE kind = $1 AND grid_code >= $2 AND grid_code < $3",
            )
            .bind(kind)
            .bind(range.0)
            .bind(range.1)
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }

    /// Events after `after_id`, in id order: how consuming modules follow the stream.
    pub async fn person_events_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<PersonEventRecord>> {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM person_events WHERE id > $1 ORDER BY id LIMIT $2");
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(after_id).bind(limit).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Refreshes PostgreSQL's planner statistics of the testing tables. A round grows them from
    /// nothing to millions of rows within hours, long before autovacuum's thresholds: with the
    /// statistics of an empty table the planner scans whole tables for one grid's missing list.
    /// SQLite's planner works from the indexes alone and needs nothing.
    pub async fn refresh_testing_statistics(&self) -> StoreResult<()> {
        if let Store::Postgres(pool) = self {
            sqlx::query("ANALYZE samples, tubes, round_grid_progress, recheck_tasks")
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// The resident a login belongs to (residents see their own results only).
    pub async fn user_resident_id(&self, user_id: i64) -> StoreResult<Option<i64>> {
        let id: Option<Option<i64>> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT resident_id FROM users WHERE id = $1").bind(user_id).fetch_optional(pool).await?
        });
        Ok(id.flatten())
    }

    /// Links a login to its register entry without an audit record: for the tools that set up
    /// users below any one actor (seeding, demo, tests). A user's change goes through
    /// [`Store::link_resident_login`].
    pub async fn link_user_to_resident(&self, user_id: i64, resident_id: i64) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE users SET resident_id = $1 WHERE id = $2")
                .bind(resident_id)
                .bind(user_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Links a login to its register entry with the change's audit record, in one transaction.
    pub async fn link_resident_login(
        &self,
        user_id: i64,
        resident_id: i64,
        audit: &AuditRecord,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE users SET resident_id = $1 WHERE id = $2")
                .bind(resident_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            write_audit!(&mut *tx, audit);
            tx.commit().await?;
        });
        Ok(())
    }
}

impl Store {
    /// Every recheck task a person owes or owed, newest first.
    pub async fn recheck_tasks_of_person(
        &self,
        id_type: &str,
        id_number: &str,
    ) -> StoreResult<Vec<RecheckTaskRecord>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM recheck_tasks WHERE id_number = $1 AND id_type = $2 \
             ORDER BY created_at DESC, id DESC LIMIT 50"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id_number).bind(id_type).fetch_all(pool).await?
        });
        Ok(rows)
    }
}
