//! Cases: the write with its `case_reported` event, updates (reports, investigation, discharge,
//! exclusion), directory pages and the counts per child region.

use super::*;

impl Store {
    /// Writes a case, its `case_reported` event and, for a case a user opens, the audit record
    /// (target: `case:<new id>`), in one transaction. A case with the same key returns the existing
    /// id and `false` and writes nothing (a retry, or an event taken twice).
    pub async fn insert_case(
        &self,
        case: &CaseWrite,
        audit: Option<&crate::AuditRecord>,
    ) -> StoreResult<(i64, bool)> {
        let outcome = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO cases (case_key, case_number, kind, id_type, id_number, resident_id, name, sex, \
                 birth_date, phone, address, grid_code, region_code, onset_date, first_positive_at, found_by, \
                 found_at, severity, hospital, status, regime, reported_at, isolated_at, infector_case_id, \
                 infector_note, public_summary, created_by, created_at) \
                 VALUES ($1, '', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
                 'active', $19, $20, $21, $22, $23, '', $24, $25) ON CONFLICT (case_key) DO NOTHING RETURNING id",
            )
            .bind(&case.case_key)
            .bind(&case.kind)
            .bind(&case.id_type)
            .bind(case.id_number.as_str())
            .bind(case.resident_id)
            .bind(case.name.as_str())
            .bind(&case.sex)
            .bind(&case.birth_date)
            .bind(case.phone.as_ref().map(PhoneNumber::as_str))
            .bind(case.address.as_str())
            .bind(&case.grid_code)
            .bind(&case.region_code)
            .bind(&case.onset_date)
            .bind(case.first_positive_at)
            .bind(&case.found_by)
            .bind(case.found_at)
            .bind(&case.severity)
            .bind(&case.hospital)
            .bind(&case.regime)
            .bind(case.reported_at)
            .bind(case.isolated_at)
            .bind(case.infector_case_id)
            .bind(&case.infector_note)
            .bind(&case.created_by)
            .bind(case.created_at)
            .fetch_optional(&mut *tx)
            .await?;
            match inserted {
                Some(id) => {
                    let number = format!("{}-{id:05}", case.case_number_prefix);
                    sqlx::query("UPDATE cases SET case_number = $1 WHERE id = $2")
                        .bind(&number)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    let detail = case.event_detail.replace("{case_id}", &id.to_string());
                    insert_event!(tx, case.found_at, "case_reported", &case.id_type, case.id_number.as_str(),
                        case.resident_id, &case.grid_code, format!("case:{id}"), &detail);
                    bump_count!(tx, &case.region_code, format!("case:{}:active", case.kind), 1_i64);
                    move_case_days!(tx, &case.region_code, case.curve_row().keys(), 1_i64);
                    if let Some(audit) = audit {
                        crate::audit::write_audit!(&mut *tx, audit, format!("case:{id}"));
                    }
                    tx.commit().await?;
                    (id, true)
                }
                None => {
                    let id: i64 = sqlx::query_scalar("SELECT id FROM cases WHERE case_key = $1")
                        .bind(&case.case_key)
                        .fetch_one(&mut *tx)
                        .await?;
                    (id, false)
                }
            }
        });
        Ok(outcome)
    }

    pub async fn case(&self, id: i64) -> StoreResult<Option<CaseRecord>> {
        self.row_by(CASE_COLUMNS, "cases", "id", id).await
    }

    /// The open (not discharged or excluded) case of a person, if any.
    pub async fn open_case_of(
        &self,
        id_type: &str,
        id_number: &str,
    ) -> StoreResult<Option<CaseRecord>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE id_number = $1 AND id_type = $2 AND status = 'active' \
             ORDER BY id LIMIT 1"
        );
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id_number).bind(id_type).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// Applies one change to a case (and, for a closing, its event) with its audit record, in one
    /// transaction.
    pub async fn update_case(
        &self,
        id: i64,
        update: &CaseUpdate,
        audit: &crate::AuditRecord,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let curve_sql = format!("SELECT {CASE_CURVE_COLUMNS} FROM cases WHERE id = $1");
            let curve_before: Option<CaseCurveRow> = sqlx::query_as(AssertSqlSafe(curve_sql.clone()))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let before = curve_before
                .as_ref()
                .map(|r| (r.kind.clone(), r.status.clone(), r.region_code.clone()));
            // The id is always the last placeholder.
            let query = match update {
                CaseUpdate::Reported { at } => sqlx::query(
                    "UPDATE cases SET reported_at = $1 WHERE reported_at IS NULL AND id = $2",
                )
                .bind(*at),
                CaseUpdate::Investigated { at } => sqlx::query(
                    "UPDATE cases SET investigated_at = $1 WHERE investigated_at IS NULL AND id = $2",
                )
                .bind(*at),
                CaseUpdate::Isolated { at } => {
                    sqlx::query("UPDATE cases SET isolated_at = $1 WHERE id = $2").bind(*at)
                }
                CaseUpdate::Clinical { severity, hospital } => sqlx::query(
                    "UPDATE cases SET severity = $1, hospital = $2 WHERE id = $3",
                )
                .bind(severity)
                .bind(hospital),
                CaseUpdate::Kind { kind } => {
                    sqlx::query("UPDATE cases SET kind = $1 WHERE id = $2").bind(kind)
                }
                CaseUpdate::Closed { status, at, .. } => sqlx::query(
                    "UPDATE cases SET status = $1, status_at = $2 WHERE id = $3",
                )
                .bind(status)
                .bind(*at),
                CaseUpdate::Infector { infector_case_id, note } => sqlx::query(
                    "UPDATE cases SET infector_case_id = $1, infector_note = $2 WHERE id = $3",
                )
                .bind(*infector_case_id)
                .bind(note),
                CaseUpdate::PublicSummary { text } => {
                    sqlx::query("UPDATE cases SET public_summary = $1 WHERE id = $2").bind(text)
                }
            };
            query.bind(id).execute(&mut *tx).await?;
            if let Some((kind, status, region)) = &before {
                let (new_kind, new_status) = match update {
                    CaseUpdate::Kind { kind } => (kind.as_str(), status.as_str()),
                    CaseUpdate::Closed { status, .. } => (kind.as_str(), status.as_str()),
                    _ => (kind.as_str(), status.as_str()),
                };
                if (new_kind, new_status) != (kind.as_str(), status.as_str()) {
                    bump_count!(tx, region, format!("case:{kind}:{status}"), -1_i64);
                    bump_count!(tx, region, format!("case:{new_kind}:{new_status}"), 1_i64);
                }
            }
            if let Some(before) = &curve_before {
                // The epidemic curve follows the kind, the report and an exclusion.
                let after: CaseCurveRow = sqlx::query_as(AssertSqlSafe(curve_sql))
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                let (old_keys, new_keys) = (before.keys(), after.keys());
                if old_keys != new_keys || before.region_code != after.region_code {
                    move_case_days!(tx, &before.region_code, old_keys, -1_i64);
                    move_case_days!(tx, &after.region_code, new_keys, 1_i64);
                }
            }
            if let CaseUpdate::Closed { at, event_kind, event_detail, .. } = update {
                let person: (String, String, Option<i64>, String) = sqlx::query_as(
                    "SELECT id_type, id_number, resident_id, grid_code FROM cases WHERE id = $1",
                )
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                insert_event!(tx, *at, event_kind, &person.0, &person.1, person.2, &person.3,
                    format!("case:{id}"), event_detail);
            }
            crate::audit::write_audit!(&mut *tx, audit);
            tx.commit().await?;
        });
        Ok(())
    }

    /// One page of the case directory in the code range `range`, newest first, before `before_id`.
    /// `by_id` walks the newest cases by id and filters the range (a large jurisdiction: the first
    /// 50 are found at once); otherwise the region index gives the range and the page is sorted (a
    /// small one). The overdue filter always reads the few cases with an open deadline.
    pub async fn cases_page(
        &self,
        range: (&str, &str),
        filter: &CaseFilter,
        before_id: Option<i64>,
        limit: i64,
        by_id: bool,
    ) -> StoreResult<Vec<CaseRecord>> {
        // `region_code || ''` keeps the planner off the region index (both backends).
        let region = if by_id || filter.overdue_at.is_some() {
            "region_code || ''"
        } else {
            "region_code"
        };
        let rows = with_pool!(self, pool => {
            let mut q = QueryBuilder::new(format!("SELECT {CASE_COLUMNS} FROM cases WHERE {region} >= "));
            q.push_bind(range.0.to_string());
            q.push(format!(" AND {region} < "));
            q.push_bind(range.1.to_string());
            q.push(" AND id < ");
            q.push_bind(before_id.unwrap_or(i64::MAX));
            if let Some(kind) = &filter.kind {
                q.push(" AND kind = ");
                q.push_bind(kind.clone());
            }
            if let Some(status) = &filter.status {
                q.push(" AND status = ");
                q.push_bind(status.clone());
            }
            if let Some((now, report_hours, investigation_hours)) = filter.overdue_at {
                // Exactly the partial index's predicate, so it is used.
                q.push(
                    " AND status = 'active' AND (reported_at IS NULL OR investigated_at IS NULL) \
                     AND ((reported_at IS NULL AND found_at < ",
                );
                q.push_bind(now - report_hours * 3600);
                q.push(") OR (investigated_at IS NULL AND found_at < ");
                q.push_bind(now - investigation_hours * 3600);
                q.push("))");
            }
            q.push(" ORDER BY id DESC LIMIT ");
            q.push_bind(limit);
            q.build_query_as().fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// How many cases and contacts (any category, any status) the counters hold in `range`.
    pub async fn investigation_totals(&self, range: (&str, &str)) -> StoreResult<(i64, i64)> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT SUBSTR(what, 1, 4), CAST(SUM(n) AS BIGINT) FROM investigation_counts \
                 WHERE region_code >= $1 AND region_code < $2 GROUP BY 1",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        let get = |p: &str| {
            rows.iter()
                .find(|(k, _)| k == p)
                .map(|(_, n)| *n)
                .unwrap_or(0)
        };
        Ok((get("case"), get("cont")))
    }

    /// Counts for the investigation overview of a jurisdiction: from the counters, plus the open
    /// deadlines past due (the partial index holds only cases with a deadline still open).
    pub async fn case_counts(
        &self,
        range: (&str, &str),
        now: i64,
        report_hours: i64,
        investigation_hours: i64,
    ) -> StoreResult<CaseCounts> {
        let counters: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT what, CAST(SUM(n) AS BIGINT) FROM investigation_counts \
                 WHERE region_code >= $1 AND region_code < $2 GROUP BY what",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        let overdue: (i64, i64) = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT \
                 COUNT(CASE WHEN reported_at IS NULL AND found_at < $3 THEN 1 END), \
                 COUNT(CASE WHEN investigated_at IS NULL AND found_at < $4 THEN 1 END) \
                 FROM cases WHERE status = 'active' AND (reported_at IS NULL OR investigated_at IS NULL) \
                 AND region_code || '' >= $1 AND region_code || '' < $2",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(now - report_hours * 3600)
            .bind(now - investigation_hours * 3600)
            .fetch_one(pool)
            .await?
        });
        let mut counts = CaseCounts {
            report_overdue: overdue.0,
            investigation_overdue: overdue.1,
            ..CaseCounts::default()
        };
        for (what, n) in counters {
            let mut parts = what.split(':');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("case"), Some(kind), Some(status)) => {
                    match kind {
                        "confirmed" => counts.confirmed += n,
                        "asymptomatic" => counts.asymptomatic += n,
                        "suspected" => counts.suspected += n,
                        _ => counts.initial_screen_positive += n,
                    }
                    match status {
                        "active" => counts.active += n,
                        "discharged" => counts.discharged += n,
                        _ => {}
                    }
                }
                (Some("contact"), Some(category), Some("active")) => match category {
                    "close" => counts.close_contacts += n,
                    "secondary" => counts.secondary_contacts += n,
                    _ => counts.general_contacts += n,
                },
                _ => {}
            }
        }
        Ok(counts)
    }

    /// Per child region (the first `child_len` characters of the region code): cases, active cases,
    /// reports overdue, close and secondary contacts — the overview's drill-down, from the counters.
    pub async fn case_counts_by_child(
        &self,
        range: (&str, &str),
        child_len: i64,
        report_cutoff: i64,
    ) -> StoreResult<Vec<ChildCaseCounts>> {
        let counters: Vec<(String, String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT SUBSTR(region_code, 1, $3) AS child, what, CAST(SUM(n) AS BIGINT) \
                 FROM investigation_counts WHERE region_code >= $1 AND region_code < $2 GROUP BY 1, 2",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(child_len as i32)
            .fetch_all(pool)
            .await?
        });
        let overdue: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT SUBSTR(region_code, 1, $3) AS child, COUNT(*) FROM cases \
                 WHERE status = 'active' AND (reported_at IS NULL OR investigated_at IS NULL) \
                 AND reported_at IS NULL AND found_at < $4 \
                 AND region_code || '' >= $1 AND region_code || '' < $2 GROUP BY 1",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(child_len as i32)
            .bind(report_cutoff)
            .fetch_all(pool)
            .await?
        });
        let mut rows: std::collections::BTreeMap<String, ChildCaseCounts> = Default::default();
        fn row_of<'a>(
            rows: &'a mut std::collections::BTreeMap<String, ChildCaseCounts>,
            code: &str,
        ) -> &'a mut ChildCaseCounts {
            rows.entry(code.to_string())
                .or_insert_with(|| ChildCaseCounts {
                    code: code.to_string(),
                    ..Default::default()
                })
        }
        for (code, what, n) in &counters {
            let mut parts = what.split(':');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("case"), Some(_), Some(status)) => {
                    let row = row_of(&mut rows, code);
                    row.cases += n;
                    if status == "active" {
                        row.active += n;
                    }
                }
                (Some("contact"), Some("close"), Some("active")) => {
                    row_of(&mut rows, code).close_contacts += n
                }
                (Some("contact"), Some("secondary"), Some("active")) => {
                    row_of(&mut rows, code).secondary_contacts += n
                }
                _ => {}
            }
        }
        for (code, n) in overdue {
            row_of(&mut rows, &code).report_overdue = n;
        }
        Ok(rows
            .into_values()
            .filter(|r| r.cases > 0 || r.close_contacts > 0 || r.secondary_contacts > 0)
            .collect())
    }
}
