//! Import runs and their per-row problem reports.

use sqlx::QueryBuilder;

use crate::audit::write_audit;
use crate::{AuditRecord, Store, StoreResult, with_pool};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ImportRecord {
    pub id: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub username: String,
    pub file_name: String,
    pub format: String,
    pub rows_total: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub problems: i64,
    /// When a restart or the periodic pass found the run cut short (its counters say what it had
    /// committed); `finished_at` then holds the same time.
    pub interrupted_at: Option<i64>,
}

#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ImportProblemRecord {
    pub row_number: i64,
    pub column_name: String,
    pub message: String,
    /// JSON array of the row's cells (may hold personal data: shown only to the importing office).
    pub raw_fields: String,
}

impl std::fmt::Debug for ImportProblemRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportProblemRecord")
            .field("row_number", &self.row_number)
            .field("column_name", &self.column_name)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

/// Running totals of an import, written after every batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounters {
    pub rows_total: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub problems: i64,
}

const IMPORT_COLUMNS: &str = "id, started_at, finished_at, username, file_name, format, rows_total, inserted, updated, unchanged, problems, interrupted_at";

impl Store {
    pub async fn create_import(
        &self,
        username: &str,
        file_name: &str,
        format: &str,
        now: i64,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO imports (started_at, username, file_name, format) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(now)
            .bind(username)
            .bind(file_name)
            .bind(format)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    /// Records problems and the running totals together, and moves the run's heartbeat
    /// (`progress_at = now`): a run that writes progress is alive, even if a pass had marked it
    /// interrupted meanwhile.
    pub async fn record_import_progress(
        &self,
        import_id: i64,
        problems: &[ImportProblemRecord],
        counters: ImportCounters,
        finished_at: Option<i64>,
        now: i64,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in problems.chunks(5000) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO import_problems (import_id, row_number, column_name, message, raw_fields) ",
                );
                builder.push_values(chunk, |mut b, p| {
                    b.push_bind(import_id)
                        .push_bind(p.row_number)
                        .push_bind(&p.column_name)
                        .push_bind(&p.message)
                        .push_bind(&p.raw_fields);
                });
                builder.build().execute(&mut *tx).await?;
            }
            sqlx::query(
                "UPDATE imports SET rows_total = $1, inserted = $2, updated = $3, unchanged = $4, problems = $5, \
                 finished_at = $6, progress_at = $7, interrupted_at = NULL WHERE id = $8",
            )
            .bind(counters.rows_total)
            .bind(counters.inserted)
            .bind(counters.updated)
            .bind(counters.unchanged)
            .bind(counters.problems)
            .bind(finished_at)
            .bind(now)
            .bind(import_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Ends a run: its last counters, `finished_at` and the import's audit record (the run's
    /// summary) in one transaction.
    pub async fn finish_import(
        &self,
        import_id: i64,
        counters: ImportCounters,
        now: i64,
        audit: &AuditRecord,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE imports SET rows_total = $1, inserted = $2, updated = $3, unchanged = $4, problems = $5, \
                 finished_at = $6, progress_at = $6, interrupted_at = NULL WHERE id = $7",
            )
            .bind(counters.rows_total)
            .bind(counters.inserted)
            .bind(counters.updated)
            .bind(counters.unchanged)
            .bind(counters.problems)
            .bind(now)
            .bind(import_id)
            .execute(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit);
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn import_run(&self, import_id: i64) -> StoreResult<Option<ImportRecord>> {
        self.row_by(IMPORT_COLUMNS, "imports", "id", import_id)
            .await
    }

    pub async fn recent_imports(
        &self,
        username: &str,
        limit: i64,
    ) -> StoreResult<Vec<ImportRecord>> {
        let sql = format!(
            "SELECT {IMPORT_COLUMNS} FROM imports WHERE username = $1 ORDER BY id DESC LIMIT $2"
        );
        let runs = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(username).bind(limit).fetch_all(pool).await?
        });
        Ok(runs)
    }

    /// Problems of an import on rows after `after_row`, in row order: one page of a streamed
    /// download.
    pub async fn import_problems_after(
        &self,
        import_id: i64,
        after_row: i64,
        limit: i64,
    ) -> StoreResult<Vec<ImportProblemRecord>> {
        let problems = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT row_number, column_name, message, raw_fields FROM import_problems \
                 WHERE import_id = $1 AND row_number > $2 ORDER BY row_number LIMIT $3",
            )
            .bind(import_id)
            .bind(after_row)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(problems)
    }

    /// Problems of an import in row order (several problems of one row stay together).
    pub async fn import_problems(
        &self,
        import_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<ImportProblemRecord>> {
        let problems = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT row_number, column_name, message, raw_fields FROM import_problems \
                 WHERE import_id = $1 ORDER BY row_number LIMIT $2",
            )
            .bind(import_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(problems)
    }
}

/// The run tables whose unfinished runs [`Store::mark_interrupted_runs`] looks at.
const RUN_TABLES: [&str; 3] = ["imports", "result_uploads", "lead_imports"];

impl Store {
    /// Marks every unfinished run (resident imports, lab result uploads, lead push imports) whose
    /// last progress — `progress_at`, or `started_at` when it never progressed — is before
    /// `stale_before` as interrupted: `interrupted_at = finished_at = now`. Its counters stay as
    /// the last committed chunk left them. A live run moves `progress_at` with every chunk, so it
    /// is never marked; a marked run stays finished (marking again finds nothing). Returns how
    /// many runs were marked.
    pub async fn mark_interrupted_runs(&self, stale_before: i64, now: i64) -> StoreResult<u64> {
        let mut marked = 0;
        for table in RUN_TABLES {
            let sql = format!(
                "UPDATE {table} SET interrupted_at = $1, finished_at = $1 \
                 WHERE finished_at IS NULL AND COALESCE(progress_at, started_at) < $2"
            );
            marked += with_pool!(self, pool => {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(now)
                    .bind(stale_before)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
        }
        Ok(marked)
    }
}
