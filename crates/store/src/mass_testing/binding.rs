//! Binding: `apply_scans` decides and commits a group of scans in one transaction (the decision
//! is `fangkong_domain::mass_testing::binding`, over the state loaded in the transaction); tubes
//! and their members.

use crate::bind::PushList;
use fangkong_domain::mass_testing::binding::{self as rules, BindingState, Decision};

use super::*;

/// A decided binding to write as a `samples` row.
struct SampleInsert<'a> {
    scan: &'a ScanWrite,
    person: &'a ScannedPerson,
    sample: rules::Binding,
}

/// A stored tube as the binding rules read it (a purpose they do not know failed the row's read).
fn tube_of_row(row: TubeState) -> rules::Tube {
    rules::Tube {
        barcode: row.barcode,
        round_id: row.round_id,
        site_id: row.site_id,
        table_no: row.table_no,
        region_code: row.region_code,
        purpose: row.purpose,
        capacity: row.capacity,
        members: row.members,
        opened_at: row.opened_at,
        closed_at: row.closed_at,
    }
}

impl Store {
    /// Decides and writes a group of scans in one transaction; outcomes in the scans' order.
    ///
    /// Scans are decided one after another against the database as it was plus the scans before
    /// them, so a group behaves exactly like the same scans sent one by one. A scan whose `scan_id`
    /// is already stored is a client's retry and writes nothing.
    pub async fn apply_scans(
        &self,
        scans: &[ScanWrite],
        audits: &[ScanAudit],
        now: i64,
    ) -> StoreResult<Vec<ScanOutcome>> {
        if scans.is_empty() {
            return Ok(Vec::new());
        }
        let outcomes = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, TUBE_WRITER_LOCK);

            // 1. What the database knows about these scans, tubes and people.
            let mut known_scans: HashSet<String> = HashSet::new();
            for chunk in scans.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new("SELECT scan_id FROM samples WHERE scan_id IN ");
                builder.push_list(chunk.iter().map(|scan| &scan.scan_id));
                let found: Vec<(String,)> = builder.build_query_as().fetch_all(&mut *tx).await?;
                known_scans.extend(found.into_iter().map(|(id,)| id));
            }
            let barcodes: Vec<&str> = scans
                .iter()
                .map(|s| s.tube.as_str())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let mut state = BindingState::default();
            for chunk in barcodes.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "SELECT barcode, round_id, site_id, table_no, region_code, purpose, capacity, members, \
                     opened_at, closed_at FROM tubes WHERE barcode IN ",
                );
                builder.push_list(chunk.iter().copied());
                let found: Vec<TubeState> = builder.build_query_as().fetch_all(&mut *tx).await?;
                for row in found {
                    let tube = tube_of_row(row);
                    state.tubes.insert(tube.barcode.clone(), tube);
                }
            }
            if barcodes.iter().any(|b| !state.tubes.contains_key(*b)) {
                let batches: Vec<TubeBatchRecord> =
                    sqlx::query_as("SELECT round_id, first_serial, last_serial FROM tube_batches")
                        .fetch_all(&mut *tx)
                        .await?;
                state.batches = batches
                    .into_iter()
                    .map(|b| rules::TubeBatch {
                        round_id: b.round_id,
                        first_serial: b.first_serial,
                        last_serial: b.last_serial,
                    })
                    .collect();
            }
            let numbers: Vec<&str> = scans
                .iter()
                .filter_map(|s| s.person.as_ref().map(|p| p.id_number.as_str()))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            // A person may owe several rechecks (a positive pool and an antigen positive): one swab settles all.
            for chunk in numbers.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "SELECT id, id_type, id_number, name, grid_code, birth_date FROM residents WHERE id_number IN ",
                );
                builder.push_list(chunk.iter().copied());
                let found: Vec<ResidentLite> = builder.build_query_as().fetch_all(&mut *tx).await?;
                state.residents.extend(found.into_iter().map(|r| {
                    let person = rules::RegisteredPerson {
                        id: r.id,
                        name: r.name,
                        grid_code: r.grid_code,
                        birth_date: chrono::NaiveDate::parse_from_str(&r.birth_date, "%Y-%m-%d").ok(),
                    };
                    ((r.id_number, r.id_type), person)
                }));

                let mut builder = QueryBuilder::new(
                    "SELECT id_type, id_number, round_id, occasion, tube_barcode, sampled_at FROM samples WHERE id_number IN ",
                );
                builder.push_list(chunk.iter().copied());
                let found: Vec<TakenSample> = builder.build_query_as().fetch_all(&mut *tx).await?;
                state.taken.extend(found.into_iter().map(|s| {
                    let taken = rules::SampleTaken { tube: s.tube_barcode, sampled_at: s.sampled_at };
                    (((s.id_number, s.id_type), s.round_id, s.occasion), taken)
                }));

                let mut builder = QueryBuilder::new(
                    "SELECT id, id_type, id_number FROM recheck_tasks WHERE status = 'pending' AND id_number IN ",
                );
                builder.push_list(chunk.iter().copied());
                let found: Vec<PendingTask> = builder.build_query_as().fetch_all(&mut *tx).await?;
                for t in found {
                    state.pending.entry((t.id_number, t.id_type)).or_default().push(t.id);
                }
            }

            // 2. Decide every scan in order.
            let mut outcomes = Vec::with_capacity(scans.len());
            let mut seen_scans: HashSet<&str> = HashSet::new();
            let mut inserts: Vec<SampleInsert> = Vec::new();
            let mut touched_tubes: HashSet<String> = HashSet::new();
            let mut task_updates: Vec<(i64, String, i64)> = Vec::new();
            let mut progress: HashMap<(i64, String), ProgressDelta> = HashMap::new();
            let mut hourly: HashMap<(i64, String, i64), i64> = HashMap::new();
            let mut infants_joined: InfantsJoined = HashMap::new();
            for scan in scans {
                if known_scans.contains(&scan.scan_id) || !seen_scans.insert(&scan.scan_id) {
                    outcomes.push(ScanOutcome::AlreadyRecorded);
                    continue;
                }
                let person = scan.person.as_ref().map(|p| rules::ScannedPerson {
                    id_type: &p.id_type,
                    id_number: &p.id_number,
                    name: &p.name,
                });
                let decision = state.decide(
                    &rules::Scan {
                        round_id: scan.round_id,
                        round_range: (&scan.round_range.0, &scan.round_range.1),
                        screen_occasion: scan.screen_occasion,
                        site_id: scan.site_id,
                        site_region: &scan.site_region,
                        table_no: scan.table_no,
                        tube: &scan.tube,
                        new_tube_capacity: scan.new_tube_capacity,
                        purpose: scan.purpose,
                        person,
                        sampled_at: scan.sampled_at,
                        infant_cutoff: scan.infant_cutoff,
                    },
                    now,
                );
                match decision {
                    Decision::Closed { tube_members, newly_closed } => {
                        if newly_closed {
                            touched_tubes.insert(scan.tube.as_str().to_string());
                        }
                        outcomes.push(ScanOutcome::Closed { tube_members });
                    }
                    Decision::Rejected(rejection) => outcomes.push(ScanOutcome::Rejected(rejection)),
                    Decision::Bound(sample) => {
                        let person = scan.person.as_ref().expect("a binding names a person");
                        touched_tubes.insert(scan.tube.as_str().to_string());
                        if sample.joins_target {
                            *infants_joined.entry((scan.round_id, sample.grid_code.clone())).or_default() += 1;
                        }
                        if !sample.settles_tasks.is_empty() {
                            for task_id in &sample.settles_tasks {
                                task_updates.push((*task_id, scan.tube.as_str().to_string(), scan.sampled_at));
                            }
                        } else {
                            let delta = progress.entry((scan.round_id, sample.grid_code.clone())).or_default();
                            if sample.resident_id.is_some() {
                                delta.sampled += 1;
                                delta.outside += i64::from(sample.outside_area);
                                *hourly
                                    .entry((scan.round_id, sample.grid_code.clone(), scan.sampled_at - scan.sampled_at.rem_euclid(3600)))
                                    .or_default() += 1;
                            } else {
                                delta.walk_ins += 1;
                            }
                        }
                        outcomes.push(ScanOutcome::Bound {
                            tube_members: sample.tube_members,
                            capacity: sample.capacity,
                            tube_closed: sample.tube_closed,
                            outside_area: sample.outside_area,
                            in_register: sample.resident_id.is_some(),
                        });
                        inserts.push(SampleInsert { scan, person, sample });
                    }
                }
            }

            // 3. Write: samples, tubes, recheck tasks, progress counters.
            for chunk in inserts.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO samples (scan_id, round_id, occasion, tube_barcode, id_type, id_number, name, \
                     resident_id, grid_code, outside_area, site_id, table_no, sampled_at, recorded_at, recorder) ",
                );
                builder.push_values(chunk, |mut b, row| {
                    b.push_bind(&row.scan.scan_id)
                        .push_bind(row.scan.round_id)
                        .push_bind(row.sample.occasion)
                        .push_bind(row.scan.tube.as_str())
                        .push_bind(&row.person.id_type)
                        .push_bind(&row.person.id_number)
                        .push_bind(&row.sample.name)
                        .push_bind(row.sample.resident_id)
                        .push_bind(&row.sample.grid_code)
                        .push_bind(row.sample.outside_area)
                        .push_bind(row.scan.site_id)
                        .push_bind(row.scan.table_no)
                        .push_bind(row.scan.sampled_at)
                        .push_bind(now)
                        .push_bind(&row.scan.recorder);
                });
                builder.build().execute(&mut *tx).await?;
            }
            // A resident exempted in this round and swabbed after all (a bedridden person swabbed at
            // home) is no longer exempt: otherwise they would count twice, as exempt and as sampled.
            let mut screened: HashMap<i64, Vec<i64>> = HashMap::new();
            for row in inserts.iter().filter(|r| r.scan.purpose == SamplePurpose::Screen) {
                if let Some(id) = row.sample.resident_id {
                    screened.entry(row.scan.round_id).or_default().push(id);
                }
            }
            for (round_id, ids) in &screened {
                for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                    let mut builder = QueryBuilder::new("DELETE FROM sampling_exemptions WHERE round_id = ");
                    builder.push_bind(*round_id);
                    builder.push(" AND resident_id IN ");
                    builder.push_list(chunk.iter().copied());
                    builder.push(" RETURNING grid_code");
                    let lifted: Vec<(String,)> = builder.build_query_as().fetch_all(&mut *tx).await?;
                    for (grid,) in lifted {
                        sqlx::query(
                            "UPDATE round_grid_progress SET exempt = exempt - 1 WHERE round_id = $1 AND grid_code = $2",
                        )
                        .bind(*round_id)
                        .bind(&grid)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
            }
            // An infant below the round's age limit was left out of the target; one swabbed after
            // all joins it (decided with the binding), or the grid would show more swabbed than
            // due (and 100 % while listing people not yet swabbed).
            for ((round_id, grid), count) in &infants_joined {
                sqlx::query(
                    "UPDATE round_grid_progress SET infants = infants - $1, target = target + $1 \
                     WHERE round_id = $2 AND grid_code = $3",
                )
                .bind(*count)
                .bind(*round_id)
                .bind(grid)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE test_rounds SET target_population = target_population + $1 WHERE id = $2")
                    .bind(*count)
                    .bind(*round_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let touched: Vec<&rules::Tube> = touched_tubes.iter().map(|b| &state.tubes[b]).collect();
            for chunk in touched.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO tubes (barcode, round_id, site_id, table_no, region_code, purpose, capacity, \
                     members, opened_at, closed_at) ",
                );
                builder.push_values(chunk, |mut b, tube| {
                    b.push_bind(&tube.barcode)
                        .push_bind(tube.round_id)
                        .push_bind(tube.site_id)
                        .push_bind(tube.table_no)
                        .push_bind(&tube.region_code)
                        .push_bind(tube.purpose.code())
                        .push_bind(tube.capacity)
                        .push_bind(tube.members)
                        .push_bind(tube.opened_at)
                        .push_bind(tube.closed_at);
                });
                builder.push(
                    " ON CONFLICT (barcode) DO UPDATE SET members = excluded.members, closed_at = excluded.closed_at",
                );
                builder.build().execute(&mut *tx).await?;
            }
            for (task_id, tube, sampled_at) in &task_updates {
                sqlx::query(
                    "UPDATE recheck_tasks SET status = 'sampled', sample_tube = $1, sampled_at = $2 WHERE id = $3",
                )
                .bind(tube)
                .bind(sampled_at)
                .bind(task_id)
                .execute(&mut *tx)
                .await?;
            }
            let progress: Vec<_> = progress.into_iter().collect();
            for chunk in progress.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO round_grid_progress (round_id, grid_code, sampled, outside, walk_ins) ",
                );
                builder.push_values(chunk, |mut b, ((round_id, grid), delta)| {
                    b.push_bind(*round_id)
                        .push_bind(grid)
                        .push_bind(delta.sampled)
                        .push_bind(delta.outside)
                        .push_bind(delta.walk_ins);
                });
                builder.push(
                    " ON CONFLICT (round_id, grid_code) DO UPDATE SET \
                     sampled = round_grid_progress.sampled + excluded.sampled, \
                     outside = round_grid_progress.outside + excluded.outside, \
                     walk_ins = round_grid_progress.walk_ins + excluded.walk_ins",
                );
                builder.build().execute(&mut *tx).await?;
            }
            let hourly: Vec<_> = hourly.into_iter().collect();
            for chunk in hourly.chunks(ROWS_PER_STATEMENT) {
                let mut builder =
                    QueryBuilder::new("INSERT INTO round_hourly (round_id, grid_code, hour, sampled) ");
                builder.push_values(chunk, |mut b, ((round_id, grid, hour), count)| {
                    b.push_bind(*round_id).push_bind(grid).push_bind(*hour).push_bind(*count);
                });
                builder.push(
                    " ON CONFLICT (round_id, grid_code, hour) DO UPDATE SET sampled = round_hourly.sampled + excluded.sampled",
                );
                builder.build().execute(&mut *tx).await?;
            }
            // Past-dated scans (补录) are audited with the bindings they made, not without.
            for audit in audits {
                let wrote = audit.scans.iter().any(|i| {
                    matches!(outcomes.get(*i), Some(ScanOutcome::Bound { .. } | ScanOutcome::Closed { .. }))
                });
                if wrote {
                    crate::audit::write_audit!(&mut *tx, &audit.record);
                }
            }
            tx.commit().await?;
            outcomes
        });
        Ok(outcomes)
    }

    /// Which of these scan ids are stored (a sampling client reconciles its queue with this).
    pub async fn recorded_scan_ids(&self, scan_ids: &[String]) -> StoreResult<Vec<String>> {
        let mut found = Vec::new();
        for chunk in scan_ids.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<(String,)> = with_pool!(self, pool => {
                let mut builder = QueryBuilder::new("SELECT scan_id FROM samples WHERE scan_id IN ");
                builder.push_list(chunk.iter());
                builder.build_query_as().fetch_all(pool).await?
            });
            found.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(found)
    }

    pub async fn tube(&self, barcode: &str) -> StoreResult<Option<TubeRecord>> {
        self.row_by(TUBE_COLUMNS, "tubes", "barcode", barcode).await
    }

    pub async fn tube_members(&self, barcode: &str) -> StoreResult<Vec<SampleRecord>> {
        let sql =
            format!("SELECT {SAMPLE_COLUMNS} FROM samples WHERE tube_barcode = $1 ORDER BY id");
        let members = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(barcode).fetch_all(pool).await?
        });
        Ok(members)
    }

    /// Open tubes at one site table (what the sampling page resumes with after a reload).
    pub async fn open_tubes_at(&self, site_id: i64, table_no: i64) -> StoreResult<Vec<TubeRecord>> {
        let sql = format!(
            "SELECT {TUBE_COLUMNS} FROM tubes WHERE site_id = $1 AND table_no = $2 AND closed_at IS NULL ORDER BY opened_at"
        );
        let tubes = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(site_id).bind(table_no).fetch_all(pool).await?
        });
        Ok(tubes)
    }
}
