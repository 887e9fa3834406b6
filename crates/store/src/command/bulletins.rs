//! Bulletins (信息发布): drafts, edits and publication of the daily public notice, each with its
//! audit record in the same transaction.

use fangkong_domain::region::RegionCode;

use crate::typed::StoredRegion;
use crate::{AuditRecord, Store, StoreResult, with_pool};

/// One bulletin.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct BulletinRecord {
    pub id: i64,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub day: String,
    pub title: String,
    pub body: String,
    pub status: String,
    pub drafted_by: String,
    pub drafted_at: i64,
    pub published_by: Option<String>,
    pub published_at: Option<i64>,
}

const COLUMNS: &str =
    "id, region_code, day, title, body, status, drafted_by, drafted_at, published_by, published_at";

impl Store {
    /// Writes the draft of `region`'s bulletin of `day`, replacing an earlier draft of that day
    /// (never a published one: then nothing is written and `None` comes back).
    pub async fn save_bulletin_draft(
        &self,
        draft: &BulletinRecord,
        audit: &AuditRecord,
    ) -> StoreResult<Option<i64>> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO bulletins (region_code, day, title, body, status, drafted_by, drafted_at) \
                 VALUES ($1, $2, $3, $4, 'draft', $5, $6) \
                 ON CONFLICT (region_code, day) DO UPDATE SET title = excluded.title, body = excluded.body, \
                 drafted_by = excluded.drafted_by, drafted_at = excluded.drafted_at \
                 WHERE bulletins.status = 'draft' RETURNING id",
            )
            .bind(draft.region_code.as_str())
            .bind(&draft.day)
            .bind(&draft.title)
            .bind(&draft.body)
            .bind(&draft.drafted_by)
            .bind(draft.drafted_at)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                crate::audit::write_audit!(&mut *tx, audit, format!("bulletin:{id}"));
                tx.commit().await?;
            }
            id
        });
        Ok(id)
    }

    /// Replaces the body of draft `id`; false when it is no longer a draft.
    pub async fn edit_bulletin(
        &self,
        id: i64,
        title: &str,
        body: &str,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE bulletins SET title = $1, body = $2 WHERE id = $3 AND status = 'draft'",
            )
            .bind(title)
            .bind(body)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if changed {
                crate::audit::write_audit!(&mut *tx, audit, format!("bulletin:{id}"));
                tx.commit().await?;
            }
            changed
        });
        Ok(changed)
    }

    /// Publishes draft `id` at `at`; false when it was already published.
    pub async fn publish_bulletin(
        &self,
        id: i64,
        by: &str,
        at: i64,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE bulletins SET status = 'published', published_by = $1, published_at = $2 \
                 WHERE id = $3 AND status = 'draft'",
            )
            .bind(by)
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if changed {
                crate::audit::write_audit!(&mut *tx, audit, format!("bulletin:{id}"));
                tx.commit().await?;
            }
            changed
        });
        Ok(changed)
    }

    pub async fn bulletin(&self, id: i64) -> StoreResult<Option<BulletinRecord>> {
        self.row_by(COLUMNS, "bulletins", "id", id).await
    }

    /// The bulletins of the subtree `range`, newest day first.
    pub async fn bulletins_in(
        &self,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<BulletinRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM bulletins WHERE region_code >= $1 AND region_code < $2 \
             ORDER BY day DESC, region_code LIMIT $3"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// The published bulletins, newest first (the public page).
    pub async fn published_bulletins(&self, limit: i64) -> StoreResult<Vec<BulletinRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM bulletins WHERE status = 'published' \
             ORDER BY published_at DESC, id DESC LIMIT $1"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(limit).fetch_all(pool).await?
        });
        Ok(rows)
    }
}
