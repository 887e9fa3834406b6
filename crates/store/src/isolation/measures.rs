//! Measures: opened one by one or in bulk with their test tasks, status changes guarded by the
//! status expected, test results, release, with their `measure_*` events in the same transaction.

use super::*;
use crate::bind::PushList;

impl Store {
    /// Opens measures with their tests in one transaction, in multi-row statements. A measure whose
    /// source key exists is skipped (a re-read event), and so is one for a person who already has an
    /// open measure of the same category (or a second one in `measures`). Returns the ids opened, in
    /// input order (skipped ones absent).
    pub async fn insert_measures(
        &self,
        measures: &[NewMeasure],
        now: i64,
    ) -> StoreResult<Vec<i64>> {
        self.insert_measures_audited(measures, now, None).await
    }

    /// [`Store::insert_measures`] for a measure a user opens: when a measure is opened, `audit`
    /// (target: `measure:<first new id>`) commits with it; when none is, nothing is written.
    pub async fn insert_measures_audited(
        &self,
        measures: &[NewMeasure],
        now: i64,
        audit: Option<&crate::AuditRecord>,
    ) -> StoreResult<Vec<i64>> {
        use std::collections::{HashMap, HashSet};
        const MEASURES_PER_STATEMENT: usize = 500;
        let mut ids = Vec::new();
        if measures.is_empty() {
            return Ok(ids);
        }
        with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, ISOLATION_WRITER_LOCK);
            let mut taken: HashSet<(String, String, String)> = HashSet::new();
            for chunk in measures.chunks(MEASURES_PER_STATEMENT) {
                let mut open = QueryBuilder::new(format!(
                    "SELECT id_type, id_number, category FROM isolation_measures WHERE status NOT IN {CLOSED} \
                     AND id_number IN "
                ));
                open.push_list(chunk.iter().map(|m| m.id_number.as_str()));
                let rows: Vec<(String, String, String)> =
                    open.build_query_as().fetch_all(&mut *tx).await?;
                taken.extend(rows);
            }
            let mut keys = HashSet::new();
            let fresh: Vec<&NewMeasure> = measures
                .iter()
                .filter(|m| {
                    taken.insert((m.id_type.clone(), m.id_number.to_string(), m.category.clone()))
                        && keys.insert(m.source_key.as_str())
                })
                .collect();
            let mut opened: HashMap<String, i64> = HashMap::new();
            for chunk in fresh.chunks(MEASURES_PER_STATEMENT) {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO isolation_measures (source_key, id_type, id_number, name, phone, resident_id, \
                     grid_code, household_number, address, birth_date, category, regime, day1, centralised_end, \
                     end_date, status, status_since, created_at, note) ",
                );
                insert.push_values(chunk, |mut b, m| {
                    b.push_bind(&m.source_key)
                        .push_bind(&m.id_type)
                        .push_bind(m.id_number.as_str())
                        .push_bind(m.name.as_str())
                        .push_bind(m.phone.as_ref().map_or("", PhoneNumber::as_str))
                        .push_bind(m.resident_id)
                        .push_bind(&m.grid_code)
                        .push_bind(&m.household_number)
                        .push_bind(m.address.as_str())
                        .push_bind(&m.birth_date)
                        .push_bind(&m.category)
                        .push_bind(&m.regime)
                        .push_bind(&m.day1)
                        .push_bind(&m.centralised_end)
                        .push_bind(&m.end_date)
                        .push_bind(&m.status)
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(&m.note);
                });
                insert.push(" ON CONFLICT (source_key) DO NOTHING RETURNING id, source_key");
                let rows: Vec<(i64, String)> = insert.build_query_as().fetch_all(&mut *tx).await?;
                opened.extend(rows.into_iter().map(|(id, key)| (key, id)));
            }
            let tests: Vec<(i64, &(String, i64, String))> = fresh
                .iter()
                .filter_map(|m| opened.get(&m.source_key).map(|id| (*id, &m.tests)))
                .flat_map(|(id, tests)| tests.iter().map(move |t| (id, t)))
                .collect();
            for chunk in tests.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO measure_tests (measure_id, phase_kind, day, due_date) ",
                );
                builder.push_values(chunk, |mut b, (id, (kind, day, due))| {
                    b.push_bind(*id).push_bind(kind).push_bind(*day).push_bind(due);
                });
                builder.build().execute(&mut *tx).await?;
            }
            ids = fresh
                .iter()
                .filter_map(|m| opened.get(&m.source_key).copied())
                .collect();
            if let (Some(audit), Some(first)) = (audit, ids.first()) {
                crate::audit::write_audit!(&mut *tx, audit, format!("measure:{first}"));
            }
            tx.commit().await?;
        });
        Ok(ids)
    }

    pub async fn isolation_measure(&self, id: i64) -> StoreResult<Option<MeasureRecord>> {
        self.row_by(MEASURE_COLUMNS, "isolation_measures", "id", id)
            .await
    }

    pub async fn measure_by_source(&self, source_key: &str) -> StoreResult<Option<MeasureRecord>> {
        self.row_by(
            MEASURE_COLUMNS,
            "isolation_measures",
            "source_key",
            source_key,
        )
        .await
    }

    /// The person's newest open measure, if any.
    pub async fn open_measure_of(
        &self,
        id_type: &str,
        id_number: &str,
    ) -> StoreResult<Option<MeasureRecord>> {
        let sql = format!(
            "SELECT {MEASURE_COLUMNS} FROM isolation_measures WHERE id_number = $1 AND id_type = $2 \
             AND status NOT IN {CLOSED} ORDER BY id DESC LIMIT 1"
        );
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id_number).bind(id_type).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// Measures in the subtree `range` in one of `statuses` (all when empty), oldest status first.
    pub async fn measures_in(
        &self,
        range: (&str, &str),
        statuses: &[&str],
        limit: i64,
    ) -> StoreResult<Vec<MeasureRecord>> {
        let rows = with_pool!(self, pool => {
            let mut builder = QueryBuilder::new(format!(
                "SELECT {MEASURE_COLUMNS} FROM isolation_measures WHERE grid_code >= "
            ));
            builder.push_bind(range.0).push(" AND grid_code < ").push_bind(range.1);
            if !statuses.is_empty() {
                builder.push(" AND status IN ");
                builder.push_list(statuses.iter().copied());
            }
            builder.push(" ORDER BY status_since, id LIMIT ").push_bind(limit);
            builder.build_query_as().fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// People per (child region, status) in the subtree, with the oldest status time.
    pub async fn measure_status_counts(
        &self,
        range: (&str, &str),
        child_len: i64,
    ) -> StoreResult<Vec<StatusCount>> {
        // People from the counters (`measure_counts`, moved by triggers with every measure write);
        // how long the oldest has waited only for the waiting states, a small indexed set.
        let counted: Vec<(String, StoredCode<MeasureStatus>, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT substr(grid_code, 1, CAST($3 AS INTEGER)) AS code, status, CAST(SUM(n) AS BIGINT) \
                 FROM measure_counts WHERE grid_code >= $1 AND grid_code < $2 GROUP BY 1, 2 \
                 HAVING SUM(n) > 0 ORDER BY 1, 2",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(child_len)
            .fetch_all(pool)
            .await?
        });
        let oldest: std::collections::HashMap<(String, String), i64> = self
            .oldest_waiting(range, child_len)
            .await?
            .into_iter()
            .map(|(code, status, at)| ((code, status), at))
            .collect();
        Ok(counted
            .into_iter()
            .map(|(code, status, people)| {
                let status = MeasureStatus::from(status);
                StatusCount {
                    oldest: oldest
                        .get(&(code.clone(), status.code().to_string()))
                        .copied()
                        .unwrap_or(0),
                    code,
                    status,
                    people,
                }
            })
            .collect())
    }

    /// Since when the longest-waiting person of each child region and waiting state (a room, a
    /// coach, an ambulance) has waited: (child code, status, status_since), read over the small
    /// indexed set of waiting measures.
    pub async fn oldest_waiting(
        &self,
        range: (&str, &str),
        child_len: i64,
    ) -> StoreResult<Vec<(String, String, i64)>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT substr(grid_code, 1, CAST($3 AS INTEGER)) AS code, status, MIN(status_since) \
                 FROM isolation_measures WHERE status IN ('awaiting_placement', 'allocated', 'awaiting_hospital') \
                 AND grid_code >= $1 AND grid_code < $2 GROUP BY 1, 2",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(child_len)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Measures assigned to or checked in at a site (allocated, in_site), oldest first.
    pub async fn measures_at_site(&self, site_id: i64) -> StoreResult<Vec<MeasureRecord>> {
        let sql = format!(
            "SELECT {MEASURE_COLUMNS} FROM isolation_measures WHERE site_id = $1 \
             AND status IN ('allocated', 'in_site') ORDER BY status_since, id"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(site_id).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// How many tests without a result are due on or before `through` in the subtree.
    pub async fn count_measure_tests_due(
        &self,
        range: (&str, &str),
        through: &str,
    ) -> StoreResult<i64> {
        let count = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM measure_tests t JOIN isolation_measures m ON m.id = t.measure_id \
                 LEFT JOIN isolation_sites s ON s.id = m.site_id WHERE t.result IS NULL AND t.due_date <= $3 \
                 AND ((m.grid_code >= $1 AND m.grid_code < $2) OR (s.region_code >= $1 AND s.region_code < $2)) \
                 AND m.status IN ('awaiting_placement', 'allocated', 'in_site', 'at_home')",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(through)
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }

    /// Replaces a measure's note (the app adds the carer it has checked to it), with its audit
    /// record, in one transaction; false (nothing written) for a missing measure.
    pub async fn set_measure_note(
        &self,
        measure_id: i64,
        note: &str,
        audit: &crate::AuditRecord,
    ) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query("UPDATE isolation_measures SET note = $1 WHERE id = $2")
                .bind(note)
                .bind(measure_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed == 1 {
                crate::audit::write_audit!(&mut *tx, audit);
                tx.commit().await?;
            }
            changed
        });
        Ok(changed == 1)
    }

    pub async fn measure_tests_of(&self, measure_id: i64) -> StoreResult<Vec<MeasureTestRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, measure_id, phase_kind, day, due_date, result, recorded_at, recorded_by \
                 FROM measure_tests WHERE measure_id = $1 ORDER BY due_date",
            )
            .bind(measure_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn measure_test(&self, id: i64) -> StoreResult<Option<MeasureTestRecord>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, measure_id, phase_kind, day, due_date, result, recorded_at, recorded_by \
                 FROM measure_tests WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Tests without a result due on or before `through` of people still under a measure who live
    /// in the subtree or are in one of its sites, oldest due first.
    pub async fn measure_tests_due(
        &self,
        range: (&str, &str),
        through: &str,
        limit: i64,
    ) -> StoreResult<Vec<DueTestRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT t.id AS test_id, t.measure_id, t.phase_kind, t.day, t.due_date, m.name, m.id_type, \
                 m.id_number, m.grid_code, m.status, s.name AS site_name, r.number AS room_number \
                 FROM measure_tests t JOIN isolation_measures m ON m.id = t.measure_id \
                 LEFT JOIN isolation_sites s ON s.id = m.site_id LEFT JOIN isolation_rooms r ON r.id = m.room_id \
                 WHERE t.result IS NULL AND t.due_date <= $3 \
                 AND ((m.grid_code >= $1 AND m.grid_code < $2) OR (s.region_code >= $1 AND s.region_code < $2)) \
                 AND m.status IN ('awaiting_placement', 'allocated', 'in_site', 'at_home') \
                 ORDER BY t.due_date, t.id LIMIT $4",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(through)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Applies one guarded change; false (and nothing written) when the measure is no longer in
    /// `expected_status` or the test already has a result.
    pub async fn apply_measure_change(&self, change: &MeasureChange) -> StoreResult<bool> {
        let applied = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, ISOLATION_WRITER_LOCK);
            let room: Option<(Option<i64>,)> = sqlx::query_as(
                "SELECT room_id FROM isolation_measures WHERE id = $1 AND status = $2",
            )
            .bind(change.measure_id)
            .bind(change.expected_status.code())
            .fetch_optional(&mut *tx)
            .await?;
            let Some((room_id,)) = room else {
                return Ok(false);
            };
            if let Some((test_id, result, by)) = &change.test_result {
                let done = sqlx::query(
                    "UPDATE measure_tests SET result = $1, recorded_at = $2, recorded_by = $3 \
                     WHERE id = $4 AND measure_id = $5 AND result IS NULL",
                )
                .bind(result)
                .bind(change.at)
                .bind(by)
                .bind(*test_id)
                .bind(change.measure_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if done == 0 {
                    return Ok(false);
                }
            }
            if change.leave_room
                && let Some(room_id) = room_id
            {
                sqlx::query("UPDATE isolation_rooms SET status = 'cleaning', status_since = $1 WHERE id = $2")
                    .bind(change.at)
                    .bind(room_id)
                    .execute(&mut *tx)
                    .await?;
            }
            if change.leave_hospital {
                sqlx::query(
                    "UPDATE hospital_admissions SET discharged_at = $1 \
                     WHERE measure_id = $2 AND discharged_at IS NULL",
                )
                .bind(change.at)
                .bind(change.measure_id)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "UPDATE isolation_measures SET status = $1, \
                 status_since = CASE WHEN status = $1 THEN status_since ELSE $2 END, \
                 room_id = CASE WHEN $3 THEN NULL ELSE room_id END, \
                 checked_in_at = CASE WHEN $4 THEN $2 ELSE checked_in_at END, \
                 released_at = CASE WHEN $5 THEN $2 ELSE released_at END WHERE id = $6",
            )
            .bind(change.new_status.code())
            .bind(change.at)
            .bind(change.leave_room)
            .bind(change.checked_in)
            .bind(change.released)
            .bind(change.measure_id)
            .execute(&mut *tx)
            .await?;
            if let Some(event) = &change.event {
                sqlx::query(
                    "INSERT INTO person_events (at, kind, id_type, id_number, resident_id, grid_code, source, detail) \
                     SELECT $1, $2, id_type, id_number, resident_id, grid_code, $3, $4 FROM isolation_measures WHERE id = $5",
                )
                .bind(change.at)
                .bind(&event.kind)
                .bind(&event.source)
                .bind(&event.detail)
                .bind(change.measure_id)
                .execute(&mut *tx)
                .await?;
            }
            if let Some(audit) = &change.audit {
                crate::audit::write_audit!(&mut *tx, audit);
            }
            tx.commit().await?;
            true
        });
        Ok(applied)
    }
}
