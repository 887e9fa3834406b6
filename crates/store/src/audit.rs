//! The audit log: every reveal of personal data, every export and every change.

use crate::{Store, StoreResult, with_pool};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at: i64,
    pub user_id: Option<i64>,
    pub username: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub client_addr: String,
}

/// Inside [`with_pool!`]: writes audit record `$record` (an [`AuditRecord`]; its `id` is ignored)
/// through `$executor` — the write's own transaction (`&mut *tx`), so the change and its audit
/// record commit together or not at all. A record whose `target` is empty takes `$target` (the id
/// the write just created) instead.
macro_rules! write_audit {
    ($executor:expr, $record:expr) => {
        $crate::audit::write_audit!($executor, $record, "")
    };
    ($executor:expr, $record:expr, $target:expr) => {{
        let record: &$crate::AuditRecord = $record;
        let target: String = if record.target.is_empty() {
            $target.to_string()
        } else {
            record.target.clone()
        };
        sqlx::query(
            "INSERT INTO audit_log (at, user_id, username, action, target, detail, client_addr) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(record.at)
        .bind(record.user_id)
        .bind(&record.username)
        .bind(&record.action)
        .bind(target)
        .bind(&record.detail)
        .bind(&record.client_addr)
        .execute($executor)
        .await?;
    }};
}
pub(crate) use write_audit;

impl Store {
    /// An audit record on its own: a reveal, an export or a refused attempt, where the record is
    /// the only write. A change writes its record inside its own transaction ([`write_audit!`]).
    pub async fn insert_audit(&self, record: &AuditRecord) -> StoreResult<()> {
        with_pool!(self, pool => {
            write_audit!(pool, record);
        });
        Ok(())
    }

    /// Newest entries first, older than `before_id` (use `i64::MAX` for the first page); `action` filters
    /// when not empty.
    pub async fn audit_page(
        &self,
        action: &str,
        before_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditRecord>> {
        let records = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, at, user_id, username, action, target, detail, client_addr FROM audit_log \
                 WHERE id < $1 AND ($2 = '' OR action = $2) ORDER BY id DESC LIMIT $3",
            )
            .bind(before_id)
            .bind(action)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(records)
    }

    /// Like [`Store::audit_page`], but only entries by users whose jurisdiction lies in the subtree
    /// `range`. The user is the entry's `user_id`, or for an entry without one (a failed login)
    /// the user of that username; entries of nobody known (an ID number typed as a username, the
    /// command line before any user) are left out.
    pub async fn audit_page_within(
        &self,
        action: &str,
        before_id: i64,
        limit: i64,
        range: (&str, &str),
    ) -> StoreResult<Vec<AuditRecord>> {
        let records = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.id, a.at, a.user_id, a.username, a.action, a.target, a.detail, a.client_addr \
                 FROM audit_log a \
                 JOIN users u ON u.id = COALESCE(a.user_id, \
                     (SELECT v.id FROM users v WHERE v.username = a.username)) \
                 WHERE a.id < $1 AND ($2 = '' OR a.action = $2) \
                   AND u.jurisdiction >= $3 AND u.jurisdiction < $4 \
                 ORDER BY a.id DESC LIMIT $5",
            )
            .bind(before_id)
            .bind(action)
            .bind(range.0)
            .bind(range.1)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(records)
    }
}
