//! Appeals against a code and their decisions.

use super::*;

impl Store {
    /// A resident's appeal and its audit record (target `appeal:<new id>`), in one transaction. A
    /// second open appeal of one person is refused by the one-open-appeal index (a unique
    /// violation), and then nothing is written.
    pub async fn insert_appeal(
        &self,
        appeal: &AppealRecord,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO code_appeals (id_type, id_number, resident_id, grid_code, filed_at, filed_by, colour, reason, status) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open') RETURNING id",
            )
            .bind(&appeal.id_type)
            .bind(appeal.id_number.as_str())
            .bind(appeal.resident_id)
            .bind(&appeal.grid_code)
            .bind(appeal.filed_at)
            .bind(&appeal.filed_by)
            .bind(appeal.colour.code())
            .bind(&appeal.reason)
            .fetch_one(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit, format!("appeal:{id}"));
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn appeals(
        &self,
        range: (&str, &str),
        status: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<AppealRecord>> {
        let sql = format!(
            "SELECT {APPEAL_COLUMNS} FROM code_appeals WHERE {APPEALS_LISTED} \
             ORDER BY status = 'open' DESC, filed_at DESC LIMIT $4"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(status.unwrap_or(""))
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// How many appeals [`Store::appeals`] lists in all (`status` `None` = any).
    pub async fn count_appeals(
        &self,
        range: (&str, &str),
        status: Option<&str>,
    ) -> StoreResult<i64> {
        let count = with_pool!(self, pool => {
            sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM code_appeals WHERE {APPEALS_LISTED}"
            )))
            .bind(range.0)
            .bind(range.1)
            .bind(status.unwrap_or(""))
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }

    pub async fn appeals_of(&self, person: &CodePerson) -> StoreResult<Vec<AppealRecord>> {
        let sql = format!(
            "SELECT {APPEAL_COLUMNS} FROM code_appeals WHERE id_number = $1 AND id_type = $2 ORDER BY filed_at DESC LIMIT 50"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(person.id_number.as_str())
                .bind(&person.id_type)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    pub async fn appeal(&self, id: i64) -> StoreResult<Option<AppealRecord>> {
        self.row_by(APPEAL_COLUMNS, "code_appeals", "id", id).await
    }

    /// Decides an open appeal: its status and decision, the fact changes an accepted appeal makes
    /// (the disputed facts withdrawn) with the codes they cause (`compute`, as in
    /// [`Store::change_facts`]), and the audit record — one transaction under the code writer's
    /// lock. `None` when it was decided already (a second click): then nothing is written.
    #[allow(clippy::too_many_arguments)]
    pub async fn decide_appeal<F>(
        &self,
        id: i64,
        status: &str,
        decision: &str,
        actor: &str,
        at: i64,
        updates: &[FactUpdate],
        compute: F,
        audit: &AuditRecord,
    ) -> StoreResult<Option<Vec<HealthCodeRecord>>>
    where
        F: Fn(&CodePerson, &[FactRecord], &[i64]) -> CodeWrite,
    {
        with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, CODE_WRITER_LOCK);
            let done = sqlx::query(
                "UPDATE code_appeals SET status = $2, decision = $3, decided_by = $4, decided_at = $5 \
                 WHERE id = $1 AND status = 'open'",
            )
            .bind(id)
            .bind(status)
            .bind(decision)
            .bind(actor)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done != 1 {
                return Ok(None);
            }
            let no_writes: &[FactWrite] = &[];
            let cause = format!("申诉#{id}核实通过：{decision}");
            let codes = apply_fact_changes!(tx, no_writes, updates, cause.as_str(), at, compute);
            write_audit!(&mut *tx, audit);
            tx.commit().await?;
            Ok(Some(codes))
        })
    }
}

/// The appeals a list shows, binding the range as `$1`, `$2` and the status (`''` = any) as `$3`:
/// shared by the list and its count, so the two cannot disagree.
const APPEALS_LISTED: &str = "grid_code >= $1 AND grid_code < $2 AND ($3 = '' OR status = $3)";
