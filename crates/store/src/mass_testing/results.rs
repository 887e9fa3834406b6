//! Lab results: upload records, problems, and `apply_results` (tube results → recheck tasks and
//! person events in one transaction).

use crate::bind::PushList;
use fangkong_domain::mass_testing::results::consequence;

use super::*;
use crate::typed::StoredCode;

impl Store {
    pub async fn insert_result_upload(&self, upload: &ResultUploadRecord) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO result_uploads (started_at, username, lab_name, file_name, format) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(upload.started_at)
            .bind(&upload.username)
            .bind(&upload.lab_name)
            .bind(&upload.file_name)
            .bind(&upload.format)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    /// Writes the upload's counters (and `finished_at` when set) and moves its heartbeat
    /// (`progress_at = now`): an upload that writes progress is alive, even if a pass had marked
    /// it interrupted meanwhile.
    pub async fn finish_result_upload(
        &self,
        upload: &ResultUploadRecord,
        now: i64,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE result_uploads SET finished_at = $1, rows_total = $2, applied = $3, unchanged = $4, \
                 problems = $5, positives = $6, progress_at = $8, interrupted_at = NULL WHERE id = $7",
            )
            .bind(upload.finished_at)
            .bind(upload.rows_total)
            .bind(upload.applied)
            .bind(upload.unchanged)
            .bind(upload.problems)
            .bind(upload.positives)
            .bind(upload.id)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The upload's last counters with `finished_at`, and its audit record (the run's summary), in
    /// one transaction: a finished upload is never without its record.
    pub async fn close_result_upload(
        &self,
        upload: &ResultUploadRecord,
        now: i64,
        audit: &AuditRecord,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE result_uploads SET finished_at = $1, rows_total = $2, applied = $3, unchanged = $4, \
                 problems = $5, positives = $6, progress_at = $8, interrupted_at = NULL WHERE id = $7",
            )
            .bind(upload.finished_at)
            .bind(upload.rows_total)
            .bind(upload.applied)
            .bind(upload.unchanged)
            .bind(upload.problems)
            .bind(upload.positives)
            .bind(upload.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit);
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn result_upload(&self, id: i64) -> StoreResult<Option<ResultUploadRecord>> {
        let upload = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, started_at, finished_at, username, lab_name, file_name, format, rows_total, applied, \
                 unchanged, problems, positives, interrupted_at FROM result_uploads WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(upload)
    }

    pub async fn result_uploads(&self, limit: i64) -> StoreResult<Vec<ResultUploadRecord>> {
        let uploads = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, started_at, finished_at, username, lab_name, file_name, format, rows_total, applied, \
                 unchanged, problems, positives, interrupted_at FROM result_uploads ORDER BY id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(uploads)
    }

    pub async fn insert_result_problems(
        &self,
        problems: &[ResultProblemRecord],
    ) -> StoreResult<()> {
        if problems.is_empty() {
            return Ok(());
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in problems.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO result_problems (upload_id, row_number, tube_barcode, kind, message) ",
                );
                builder.push_values(chunk, |mut b, p| {
                    b.push_bind(p.upload_id)
                        .push_bind(p.row_number)
                        .push_bind(&p.tube_barcode)
                        .push_bind(&p.kind)
                        .push_bind(&p.message);
                });
                builder.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn result_problems(
        &self,
        upload_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<ResultProblemRecord>> {
        let problems = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT upload_id, row_number, tube_barcode, kind, message FROM result_problems \
                 WHERE upload_id = $1 ORDER BY row_number LIMIT $2",
            )
            .bind(upload_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(problems)
    }

    /// Applies a chunk of lab results in one transaction, with everything a result sets off:
    /// a positive pool's members get recheck tasks and `pool_positive` events, a positive single
    /// tube a `single_positive` event, an invalid tube's members recheck tasks, and a recheck tube's
    /// result closes its task (negative: `recheck_negative`, the control lifted).
    /// `scope` limits the tubes to the lab's jurisdiction (site region inside the range).
    pub async fn apply_results(
        &self,
        rows: &[ResultWrite],
        scope: (&str, &str),
        now: i64,
    ) -> StoreResult<Vec<ResultOutcome>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let outcomes = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, TUBE_WRITER_LOCK);
            #[derive(sqlx::FromRow)]
            struct Current {
                barcode: String,
                round_id: i64,
                region_code: String,
                #[sqlx(try_from = "StoredCode<SamplePurpose>")]
                purpose: SamplePurpose,
                capacity: i64,
                closed_at: Option<i64>,
                result: Option<String>,
            }
            let mut current: HashMap<String, Current> = HashMap::new();
            let codes: Vec<&str> = rows.iter().map(|r| r.tube_barcode.as_str()).collect::<HashSet<_>>().into_iter().collect();
            for chunk in codes.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "SELECT barcode, round_id, region_code, purpose, capacity, closed_at, result FROM tubes WHERE barcode IN ",
                );
                builder.push_list(chunk.iter().copied());
                let found: Vec<Current> = builder.build_query_as().fetch_all(&mut *tx).await?;
                current.extend(found.into_iter().map(|t| (t.barcode.clone(), t)));
            }

            let mut outcomes = Vec::with_capacity(rows.len());
            let mut updates: Vec<&ResultWrite> = Vec::new();
            for row in rows {
                let outcome = match current.get_mut(&row.tube_barcode) {
                    None => ResultOutcome::Rejected(ResultRejection::UnknownTube),
                    Some(tube) if !(tube.region_code.as_str() >= scope.0 && tube.region_code.as_str() < scope.1) => {
                        ResultOutcome::Rejected(ResultRejection::OutsideJurisdiction)
                    }
                    Some(tube) if tube.closed_at.is_none() => ResultOutcome::Rejected(ResultRejection::TubeOpen),
                    Some(tube) => match &tube.result {
                        Some(existing) if existing == row.result.code() => ResultOutcome::Unchanged,
                        Some(existing) => ResultOutcome::Rejected(ResultRejection::Conflict {
                            existing: existing.clone(),
                            new: row.result.code().to_string(),
                        }),
                        None => {
                            tube.result = Some(row.result.code().to_string());
                            updates.push(row);
                            ResultOutcome::Applied { positive: row.result == TestResult::Positive }
                        }
                    },
                };
                outcomes.push(outcome);
            }

            for chunk in updates.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new("WITH v (barcode, result, tested_at, lab_name) AS (");
                builder.push_values(chunk, |mut b, row| {
                    b.push_bind(&row.tube_barcode)
                        .push_bind(row.result.code())
                        .push_bind(row.tested_at)
                        .push_bind(&row.lab_name);
                });
                builder.push(") UPDATE tubes SET result = v.result, tested_at = v.tested_at, lab_name = v.lab_name, result_at = ");
                builder.push_bind(now);
                builder.push(", received_at = COALESCE(tubes.received_at, v.tested_at, ");
                builder.push_bind(now);
                builder.push(") FROM v WHERE tubes.barcode = v.barcode");
                builder.build().execute(&mut *tx).await?;
            }

            // What the results set off (the domain's matrix); a negative screening pool sets off nothing.
            let mut follow_up = Vec::new();
            for row in &updates {
                let tube = &current[&row.tube_barcode];
                let consequence = consequence(row.result, tube.purpose, tube.capacity);
                if !consequence.is_nothing() {
                    follow_up.push((*row, tube, consequence));
                }
            }
            if !follow_up.is_empty() {
                let barcodes: Vec<&str> = follow_up.iter().map(|(row, _, _)| row.tube_barcode.as_str()).collect();
                let mut members: HashMap<String, Vec<SampleRecord>> = HashMap::new();
                for chunk in barcodes.chunks(ROWS_PER_STATEMENT) {
                    let mut builder = QueryBuilder::new(format!(
                        "SELECT {SAMPLE_COLUMNS} FROM samples WHERE tube_barcode IN "
                    ));
                    builder.push_list(chunk.iter().copied());
                    let found: Vec<SampleRecord> = builder.build_query_as().fetch_all(&mut *tx).await?;
                    for sample in found {
                        members.entry(sample.tube_barcode.clone()).or_default().push(sample);
                    }
                }
                for (row, tube, consequence) in follow_up {
                    let source = format!("tube:{}", row.tube_barcode);
                    let people = members.get(&row.tube_barcode).map(Vec::as_slice).unwrap_or(&[]);
                    if let Some(status) = consequence.settles_rechecks {
                        sqlx::query(
                            "UPDATE recheck_tasks SET status = $1, resolved_at = $2 WHERE sample_tube = $3 AND status = 'sampled'",
                        )
                        .bind(status.code())
                        .bind(now)
                        .bind(&row.tube_barcode)
                        .execute(&mut *tx)
                        .await?;
                    }
                    for person in people {
                        if let Some(event) = consequence.event {
                            sqlx::query(
                                "INSERT INTO person_events (at, kind, id_type, id_number, resident_id, grid_code, source, detail) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                            )
                            .bind(now)
                            .bind(event.code())
                            .bind(&person.id_type)
                            .bind(person.id_number.as_str())
                            .bind(person.resident_id)
                            .bind(&person.grid_code)
                            .bind(&source)
                            .bind(format!("round:{}", tube.round_id))
                            .execute(&mut *tx)
                            .await?;
                        }
                        if let Some(reason) = consequence.recheck {
                            sqlx::query(
                                "INSERT INTO recheck_tasks (round_id, source, reason, id_type, id_number, name, resident_id, \
                                 grid_code, created_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending') \
                                 ON CONFLICT (source, id_number, id_type) DO NOTHING",
                            )
                            .bind(tube.round_id)
                            .bind(&source)
                            .bind(reason.code())
                            .bind(&person.id_type)
                            .bind(person.id_number.as_str())
                            .bind(person.name.as_str())
                            .bind(person.resident_id)
                            .bind(&person.grid_code)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                }
            }
            tx.commit().await?;
            outcomes
        });
        Ok(outcomes)
    }
}
