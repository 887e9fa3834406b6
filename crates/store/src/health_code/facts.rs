//! Facts and codes: `change_facts` writes facts and recomputes the people they touch in the same
//! transaction (history rows when colour or pop-up change); codes due by time.

use super::*;

impl Store {
    /// Adds facts (a fact whose key is already stored is skipped) and applies updates, then stores the
    /// codes `compute` gives for every person touched — all in one transaction, so a fact and the
    /// code it causes are never seen apart. `compute` gets each person's facts and the sampling
    /// times of their negative results and returns the code to store. A change a user made carries
    /// its `audit` record, written in the same transaction.
    pub async fn change_facts<F>(
        &self,
        writes: &[FactWrite],
        updates: &[FactUpdate],
        cause: &str,
        now: i64,
        compute: F,
        audit: Option<&AuditRecord>,
    ) -> StoreResult<Vec<HealthCodeRecord>>
    where
        F: Fn(&CodePerson, &[FactRecord], &[i64]) -> CodeWrite,
    {
        with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, CODE_WRITER_LOCK);
            let codes = apply_fact_changes!(tx, writes, updates, cause, now, compute);
            if let Some(audit) = audit {
                write_audit!(&mut *tx, audit);
            }
            tx.commit().await?;
            Ok(codes)
        })
    }

    /// Stores codes computed outside a fact change (a policy or risk-area change: everyone's again).
    /// Only the rows given are written; a history row is added where colour or pop-up changed.
    pub async fn save_health_codes(
        &self,
        codes: &[CodeWrite],
        cause: &str,
        now: i64,
    ) -> StoreResult<usize> {
        with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, CODE_WRITER_LOCK);
            let changed = save_codes!(tx, codes, cause, now);
            tx.commit().await?;
            Ok(changed)
        })
    }

    /// People whose stored code may be out of date by now: a turn-green time passed, or the code
    /// waits for a negative result that may have come.
    pub async fn codes_due(&self, now: i64, limit: i64) -> StoreResult<Vec<CodePerson>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id_type, id_number FROM health_codes WHERE turns_green_at <= $1 \
                 UNION SELECT id_type, id_number FROM health_codes WHERE waits_for_test AND computed_at <= $2 \
                 LIMIT $3",
            )
            .bind(now)
            .bind(now - 60)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn facts_of(&self, person: &CodePerson) -> StoreResult<Vec<FactRecord>> {
        let sql = format!(
            "SELECT {FACT_COLUMNS} FROM code_facts WHERE id_number = $1 AND id_type = $2 ORDER BY anchor, id"
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

    pub async fn fact(&self, id: i64) -> StoreResult<Option<FactRecord>> {
        self.row_by(FACT_COLUMNS, "code_facts", "id", id).await
    }

    /// Sampling times of a person's negative results (newest first, at most 50).
    pub async fn negatives_of(&self, person: &CodePerson) -> StoreResult<Vec<i64>> {
        let rows: Vec<(i64,)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.sampled_at FROM samples s JOIN tubes t ON t.barcode = s.tube_barcode \
                 WHERE s.id_number = $1 AND s.id_type = $2 AND t.result = 'negative' \
                 ORDER BY s.sampled_at DESC LIMIT 50",
            )
            .bind(person.id_number.as_str())
            .bind(&person.id_type)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(t,)| t).collect())
    }

    pub async fn health_code(&self, person: &CodePerson) -> StoreResult<Option<HealthCodeRecord>> {
        let sql = format!(
            "SELECT {CODE_COLUMNS} FROM health_codes WHERE id_number = $1 AND id_type = $2"
        );
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(person.id_number.as_str())
                .bind(&person.id_type)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// Every stored code that is not plain green (the verifier's in-memory table is loaded from it).
    pub async fn coloured_codes(&self) -> StoreResult<Vec<HealthCodeRecord>> {
        let sql = format!(
            "SELECT {CODE_COLUMNS} FROM health_codes WHERE colour <> 'green' OR popup IS NOT NULL"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Codes computed at or after `since` (the verifier's memory catches up with other writers).
    pub async fn codes_computed_since(&self, since: i64) -> StoreResult<Vec<HealthCodeRecord>> {
        let sql = format!("SELECT {CODE_COLUMNS} FROM health_codes WHERE computed_at >= $1");
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(since).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Codes in a range of grids, worst first (the grid and command lists).
    /// How many codes [`Store::health_codes_in`] lists in all.
    pub async fn count_health_codes_in(
        &self,
        range: (&str, &str),
        colour: Option<&str>,
    ) -> StoreResult<i64> {
        let filter = codes_listed_filter(colour);
        let sql = format!(
            "SELECT COUNT(*) FROM health_codes WHERE grid_code >= $1 AND grid_code < $2{filter}"
        );
        let count = with_pool!(self, pool => {
            sqlx::query_scalar(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(colour.unwrap_or(""))
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    pub async fn health_codes_in(
        &self,
        range: (&str, &str),
        colour: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<HealthCodeRecord>> {
        let filter = codes_listed_filter(colour);
        let sql = format!(
            "SELECT {CODE_COLUMNS} FROM health_codes WHERE grid_code >= $1 AND grid_code < $2{filter} \
             ORDER BY CASE colour WHEN 'red' THEN 0 WHEN 'yellow' THEN 1 ELSE 2 END, computed_at DESC LIMIT $4"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(colour.unwrap_or(""))
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    pub async fn colour_counts(&self, range: (&str, &str)) -> StoreResult<Vec<ColourCount>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                // From the counters `code_counts` (moved by triggers with every code write).
                "SELECT colour, CAST(COALESCE(SUM(popup * n), 0) AS BIGINT) AS popups, \
                 CAST(COALESCE(SUM(n), 0) AS BIGINT) AS people \
                 FROM code_counts WHERE grid_code >= $1 AND grid_code < $2 GROUP BY colour \
                 HAVING SUM(n) > 0 ORDER BY colour",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn code_changes_of(&self, person: &CodePerson) -> StoreResult<Vec<CodeChangeRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, at, from_colour, to_colour, popup, summary, cause FROM health_code_changes \
                 WHERE id_number = $1 AND id_type = $2 ORDER BY at DESC, id DESC LIMIT 200",
            )
            .bind(person.id_number.as_str())
            .bind(&person.id_type)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Every fact, people in order, for a recompute of everyone; `visit` is called once per person.
    pub async fn for_each_fact_person<F>(&self, mut visit: F) -> StoreResult<usize>
    where
        F: FnMut(&CodePerson, &[FactRecord], &[i64]),
    {
        use futures::TryStreamExt;
        // The negatives of everyone with a fact, in memory (people with facts are few next to the
        // register; their swabs a handful each).
        let mut negatives: HashMap<CodePerson, Vec<i64>> = HashMap::new();
        let facts_sql = format!(
            "SELECT {FACT_COLUMNS} FROM code_facts ORDER BY id_number, id_type, anchor, id"
        );
        let mut people = 0usize;
        with_pool!(self, pool => {
            {
                let mut rows = sqlx::query_as::<_, (String, String, i64)>(
                    "SELECT s.id_type, s.id_number, s.sampled_at FROM samples s JOIN tubes t ON t.barcode = s.tube_barcode \
                     WHERE t.result = 'negative' AND s.id_number IN (SELECT id_number FROM code_facts)",
                )
                .fetch(pool);
                while let Some((id_type, id_number, at)) = rows.try_next().await? {
                    negatives.entry(CodePerson { id_type, id_number: id_number.into() }).or_default().push(at);
                }
            }
            let mut rows = sqlx::query_as::<_, FactRecord>(AssertSqlSafe(facts_sql)).fetch(pool);
            let mut current: Vec<FactRecord> = Vec::new();
            while let Some(fact) = rows.try_next().await? {
                if let Some(first) = current.first()
                    && (first.id_number != fact.id_number || first.id_type != fact.id_type)
                {
                    let person = CodePerson { id_type: first.id_type.clone(), id_number: first.id_number.clone() };
                    visit(&person, &current, negatives.get(&person).map(Vec::as_slice).unwrap_or(&[]));
                    people += 1;
                    current.clear();
                }
                current.push(fact);
            }
            if let Some(first) = current.first() {
                let person = CodePerson { id_type: first.id_type.clone(), id_number: first.id_number.clone() };
                visit(&person, &current, negatives.get(&person).map(Vec::as_slice).unwrap_or(&[]));
                people += 1;
            }
        });
        Ok(people)
    }

    /// The stored colour and pop-up of everyone with a stored code (to diff a recompute against).
    pub async fn stored_code_brief(
        &self,
    ) -> StoreResult<HashMap<CodePerson, (String, Option<String>, String)>> {
        use futures::TryStreamExt;
        let mut out = HashMap::new();
        with_pool!(self, pool => {
            let mut rows = sqlx::query_as::<_, (String, String, String, Option<String>, String)>(
                "SELECT id_type, id_number, colour, popup, summary FROM health_codes",
            )
            .fetch(pool);
            while let Some((id_type, id_number, colour, popup, summary)) = rows.try_next().await? {
                out.insert(CodePerson { id_type, id_number: id_number.into() }, (colour, popup, summary));
            }
        });
        Ok(out)
    }

    /// People of a round's region due for a swab who have none and no exemption — 应检未检.
    /// People already marked for this round (fact key `untested:<round>:…`) are left out.
    /// Returns (person, resident id, grid) for at most `limit` people.
    pub async fn round_untested(
        &self,
        round_id: i64,
        after_resident: i64,
        limit: i64,
    ) -> StoreResult<Vec<(CodePerson, i64, String)>> {
        // Keyset by resident id: each page starts where the last ended (no rescan of marked people).
        let rows: Vec<(String, String, i64, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT r.id_type, r.id_number, r.id, r.grid_code FROM residents r \
                 JOIN test_rounds tr ON tr.id = $1 \
                 WHERE r.id > $4 AND r.grid_code >= tr.region_code AND r.grid_code < tr.region_code || ':' \
                 AND NOT EXISTS (SELECT 1 FROM samples s WHERE s.id_number = r.id_number AND s.id_type = r.id_type AND s.round_id = $1) \
                 AND NOT EXISTS (SELECT 1 FROM sampling_exemptions e WHERE e.round_id = $1 AND e.resident_id = r.id) \
                 AND NOT EXISTS (SELECT 1 FROM code_facts f WHERE f.fact_key = $3 || r.id_type || ':' || r.id_number) \
                 ORDER BY r.id LIMIT $2",
            )
            .bind(round_id)
            .bind(limit)
            .bind(format!("untested:{round_id}:"))
            .bind(after_resident)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id_type, id_number, id, grid)| {
                (
                    CodePerson {
                        id_type,
                        id_number: id_number.into(),
                    },
                    id,
                    grid,
                )
            })
            .collect())
    }
}

/// The codes a list shows (binding `$3`): one colour, or every code that is not plain green (a
/// pop-up on a green code counts).
fn codes_listed_filter(colour: Option<&str>) -> &'static str {
    if colour.is_some() {
        " AND colour = $3"
    } else {
        " AND (colour <> 'green' OR popup IS NOT NULL OR $3 = '')"
    }
}
