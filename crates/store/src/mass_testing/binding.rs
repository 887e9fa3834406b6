//! Binding: `apply_scans` decides and commits a group of scans in one transaction (the decision
//! is `decide_scan` in this module's root, over the state loaded in the transaction); tubes and
//! their members.

use super::*;

impl Store {
    /// Decides and writes a group of scans in one transaction; outcomes in the scans' order.
    ///
    /// Scans are decided one after another against the database as it was plus the scans before
    /// them, so a group behaves exactly like the same scans sent one by one. A scan whose `scan_id`
    /// is already stored is a client's retry and writes nothing.
    pub async fn apply_scans(
        &self,
        scans: &[ScanWrite],
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
                let mut builder = QueryBuilder::new("SELECT scan_id FROM samples WHERE scan_id IN (");
                let mut list = builder.separated(", ");
                for scan in chunk {
                    list.push_bind(&scan.scan_id);
                }
                builder.push(")");
                let found: Vec<(String,)> = builder.build_query_as().fetch_all(&mut *tx).await?;
                known_scans.extend(found.into_iter().map(|(id,)| id));
            }
            let barcodes: Vec<&str> = scans
                .iter()
                .map(|s| s.tube.as_str())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let mut tubes: HashMap<String, TubeState> = HashMap::new();
            for chunk in barcodes.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "SELECT barcode, round_id, site_id, table_no, region_code, purpose, capacity, members, \
                     opened_at, closed_at FROM tubes WHERE barcode IN (",
                );
                let mut list = builder.separated(", ");
                for code in chunk {
                    list.push_bind(*code);
                }
                builder.push(")");
                let found: Vec<TubeState> = builder.build_query_as().fetch_all(&mut *tx).await?;
                tubes.extend(found.into_iter().map(|t| (t.barcode.clone(), t)));
            }
            let batches: Vec<TubeBatchRecord> = if barcodes.iter().any(|b| !tubes.contains_key(*b)) {
                sqlx::query_as("SELECT round_id, first_serial, last_serial FROM tube_batches")
                    .fetch_all(&mut *tx)
                    .await?
            } else {
                Vec::new()
            };
            let numbers: Vec<&str> = scans
                .iter()
                .filter_map(|s| s.person.as_ref().map(|p| p.id_number.as_str()))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let mut residents: HashMap<(String, String), ResidentLite> = HashMap::new();
            let mut taken: HashMap<(String, String, i64, i64), (String, i64)> = HashMap::new();
            // A person may owe several rechecks (a positive pool and an antigen positive): one swab settles all.
            let mut pending: HashMap<(String, String), Vec<i64>> = HashMap::new();
            for chunk in numbers.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "SELECT id, id_type, id_number, name, grid_code FROM residents WHERE id_number IN (",
                );
                let mut list = builder.separated(", ");
                for number in chunk {
                    list.push_bind(*number);
                }
                builder.push(")");
                let found: Vec<ResidentLite> = builder.build_query_as().fetch_all(&mut *tx).await?;
                residents.extend(found.into_iter().map(|r| ((r.id_number.clone(), r.id_type.clone()), r)));

                let mut builder = QueryBuilder::new(
                    "SELECT id_type, id_number, round_id, occasion, tube_barcode, sampled_at FROM samples WHERE id_number IN (",
                );
                let mut list = builder.separated(", ");
                for number in chunk {
                    list.push_bind(*number);
                }
                builder.push(")");
                let found: Vec<TakenSample> = builder.build_query_as().fetch_all(&mut *tx).await?;
                taken.extend(found.into_iter().map(|s| {
                    ((s.id_number, s.id_type, s.round_id, s.occasion), (s.tube_barcode, s.sampled_at))
                }));

                let mut builder = QueryBuilder::new(
                    "SELECT id, id_type, id_number FROM recheck_tasks WHERE status = 'pending' AND id_number IN (",
                );
                let mut list = builder.separated(", ");
                for number in chunk {
                    list.push_bind(*number);
                }
                builder.push(")");
                let found: Vec<PendingTask> = builder.build_query_as().fetch_all(&mut *tx).await?;
                for t in found {
                    pending.entry((t.id_number, t.id_type)).or_default().push(t.id);
                }
            }

            // 2. Decide every scan in order.
            let mut outcomes = Vec::with_capacity(scans.len());
            let mut seen_scans: HashSet<&str> = HashSet::new();
            let mut inserts: Vec<SampleInsert> = Vec::new();
            let mut touched_tubes: HashSet<String> = HashSet::new();
            let mut task_updates: Vec<TaskUpdate> = Vec::new();
            let mut progress: HashMap<(i64, String), ProgressDelta> = HashMap::new();
            let mut hourly: HashMap<(i64, String, i64), i64> = HashMap::new();
            for scan in scans {
                if known_scans.contains(&scan.scan_id) || !seen_scans.insert(&scan.scan_id) {
                    outcomes.push(ScanOutcome::AlreadyRecorded);
                    continue;
                }
                let outcome = decide_scan(
                    scan, now, &batches, &mut tubes, &residents, &mut taken, &mut pending,
                );
                match outcome {
                    Decision::Close => {
                        let tube = tubes.get_mut(scan.tube.as_str()).expect("decided on a known tube");
                        if tube.closed_at.is_none() {
                            tube.closed_at = Some(now);
                            touched_tubes.insert(tube.barcode.clone());
                        }
                        outcomes.push(ScanOutcome::Closed { tube_members: tube.members });
                    }
                    Decision::Reject(rejection) => outcomes.push(ScanOutcome::Rejected(rejection)),
                    Decision::Bind { resident, tasks, occasion } => {
                        let person = scan.person.as_ref().expect("a binding names a person");
                        let tube = tubes.get_mut(scan.tube.as_str()).expect("decided on a tube");
                        tube.members += 1;
                        if tube.members >= tube.capacity {
                            tube.closed_at = Some(now);
                        }
                        touched_tubes.insert(tube.barcode.clone());
                        let (grid_code, outside_area, name, resident_id) = match resident {
                            Some(r) => (
                                r.grid_code.clone(),
                                !(r.grid_code.as_str() >= scan.round_range.0.as_str()
                                    && r.grid_code.as_str() < scan.round_range.1.as_str()),
                                r.name.clone(),
                                Some(r.id),
                            ),
                            None => (scan.site_region.clone(), false, person.name.trim().to_string(), None),
                        };
                        if !tasks.is_empty() {
                            for task_id in tasks {
                                task_updates.push((task_id, scan.tube.as_str().to_string(), scan.sampled_at));
                            }
                        } else {
                            let delta = progress.entry((scan.round_id, grid_code.clone())).or_default();
                            if resident_id.is_some() {
                                delta.sampled += 1;
                                delta.outside += i64::from(outside_area);
                                *hourly
                                    .entry((scan.round_id, grid_code.clone(), scan.sampled_at - scan.sampled_at.rem_euclid(3600)))
                                    .or_default() += 1;
                            } else {
                                delta.walk_ins += 1;
                            }
                        }
                        outcomes.push(ScanOutcome::Bound {
                            tube_members: tube.members,
                            capacity: tube.capacity,
                            tube_closed: tube.closed_at.is_some(),
                            outside_area,
                            in_register: resident_id.is_some(),
                        });
                        inserts.push(SampleInsert {
                            scan,
                            person,
                            occasion,
                            name,
                            resident_id,
                            grid_code,
                            outside_area,
                        });
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
                        .push_bind(row.occasion)
                        .push_bind(row.scan.tube.as_str())
                        .push_bind(&row.person.id_type)
                        .push_bind(&row.person.id_number)
                        .push_bind(&row.name)
                        .push_bind(row.resident_id)
                        .push_bind(&row.grid_code)
                        .push_bind(row.outside_area)
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
                if let Some(id) = row.resident_id {
                    screened.entry(row.scan.round_id).or_default().push(id);
                }
            }
            for (round_id, ids) in &screened {
                for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                    let mut builder = QueryBuilder::new("DELETE FROM sampling_exemptions WHERE round_id = ");
                    builder.push_bind(*round_id);
                    builder.push(" AND resident_id IN (");
                    let mut list = builder.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    builder.push(") RETURNING grid_code");
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
            let touched: Vec<&TubeState> = touched_tubes.iter().map(|b| &tubes[b]).collect();
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
                        .push_bind(&tube.purpose)
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
                let mut builder = QueryBuilder::new("SELECT scan_id FROM samples WHERE scan_id IN (");
                let mut list = builder.separated(", ");
                for id in chunk {
                    list.push_bind(id);
                }
                builder.push(")");
                builder.build_query_as().fetch_all(pool).await?
            });
            found.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(found)
    }

    pub async fn tube(&self, barcode: &str) -> StoreResult<Option<TubeRecord>> {
        let sql = format!("SELECT {TUBE_COLUMNS} FROM tubes WHERE barcode = $1");
        let tube = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(barcode).fetch_optional(pool).await?
        });
        Ok(tube)
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
