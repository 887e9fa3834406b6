//! Checkpoints and passages: the registry and the group-committed passage log.

use super::*;

impl Store {
    /// A new checkpoint and its audit record (target: the new id), in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_checkpoint(
        &self,
        name: &str,
        kind: &str,
        line: &str,
        region_code: &str,
        at: i64,
        actor: &str,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO checkpoints (name, kind, line, region_code, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(name)
            .bind(kind)
            .bind(line)
            .bind(region_code)
            .bind(at)
            .bind(actor)
            .fetch_one(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit, id);
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn checkpoints(&self, range: (&str, &str)) -> StoreResult<Vec<CheckpointRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, name, kind, line, region_code, created_at, created_by, active FROM checkpoints \
                 WHERE region_code >= $1 AND region_code < $2 ORDER BY line, kind, name LIMIT 5000",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn checkpoint(&self, id: i64) -> StoreResult<Option<CheckpointRecord>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, name, kind, line, region_code, created_at, created_by, active FROM checkpoints WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Logs passages in one transaction; a passage whose key is already stored is left as it was.
    /// Returns, per passage in order, whether it was new.
    pub async fn insert_passages(&self, passages: &[PassageWrite]) -> StoreResult<Vec<bool>> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut fresh = Vec::with_capacity(passages.len());
            for chunk in passages.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO passages (passage_key, checkpoint_id, at, method, id_type, id_number, resident_id, colour, \
                     popup, temperature, plate, from_region, decision, reasons, recorder) ",
                );
                builder.push_values(chunk, |mut b, p| {
                    b.push_bind(&p.passage_key)
                        .push_bind(p.checkpoint_id)
                        .push_bind(p.at)
                        .push_bind(&p.method)
                        .push_bind(&p.id_type)
                        .push_bind(p.id_number.as_str())
                        .push_bind(p.resident_id)
                        .push_bind(p.colour.map(CodeColour::code))
                        .push_bind(p.popup)
                        .push_bind(p.temperature)
                        .push_bind(&p.plate)
                        .push_bind(&p.from_region)
                        .push_bind(&p.decision)
                        .push_bind(&p.reasons)
                        .push_bind(&p.recorder);
                });
                builder.push(" ON CONFLICT (passage_key) DO NOTHING RETURNING passage_key");
                let inserted: Vec<(String,)> = builder.build_query_as().fetch_all(&mut *tx).await?;
                let inserted: std::collections::HashSet<String> = inserted.into_iter().map(|(k,)| k).collect();
                fresh.extend(chunk.iter().map(|p| inserted.contains(&p.passage_key)));
            }
            tx.commit().await?;
            Ok(fresh)
        })
    }

    pub async fn passages_at(
        &self,
        checkpoint_id: i64,
        from: i64,
        to: i64,
        limit: i64,
    ) -> StoreResult<Vec<PassageRecord>> {
        let sql = format!(
            "SELECT {PASSAGE_COLUMNS} FROM passages WHERE checkpoint_id = $1 AND at >= $2 AND at < $3 ORDER BY at DESC, id DESC LIMIT $4"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(checkpoint_id)
                .bind(from)
                .bind(to)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    pub async fn passage_by_key(&self, key: &str) -> StoreResult<Option<PassageRecord>> {
        self.row_by(PASSAGE_COLUMNS, "passages", "passage_key", key)
            .await
    }

    /// Counts per decision at a checkpoint since `from`.
    pub async fn passage_counts(
        &self,
        checkpoint_id: i64,
        from: i64,
    ) -> StoreResult<Vec<(String, i64)>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT decision, COUNT(*) FROM passages WHERE checkpoint_id = $1 AND at >= $2 GROUP BY decision ORDER BY decision",
            )
            .bind(checkpoint_id)
            .bind(from)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Store, with_pool};

    /// A checkpoint whose stored kind is no `CheckpointKind` does not read as a community gate (the
    /// old fallback): reading it is an error that names the column, the code and the enum.
    #[tokio::test]
    async fn a_checkpoint_with_an_unknown_kind_is_an_error_naming_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
        with_pool!(&store, pool => {
            sqlx::query(
                "INSERT INTO checkpoints (id, name, kind, line, region_code, created_at, created_by) \
                 VALUES (7, '东门', 'side_gate', 'in_province', '130102', 0, 'admin')",
            )
            .execute(pool)
            .await
            .unwrap();
        });
        let error = store.checkpoint(7).await.unwrap_err().to_string();
        assert!(
            error.contains("kind")
                && error.contains("side_gate")
                && error.contains("CheckpointKind"),
            "{error}"
        );
    }
}
