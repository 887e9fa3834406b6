//! The benchmark's bulk loader: a city-scale outbreak in multi-row statements, no events.

use super::*;

/// Rows per multi-row statement in the bulk loader (under both backends' parameter limits).
const BULK_ROWS: usize = 1_000;

impl Store {
    /// Appends cases (the benchmark's city-scale outbreak): multi-row statements in transactions of
    /// 10,000, no events (nothing downstream should act on benchmark data). Numbers are
    /// `prefix-<key>`. Returns the new ids in input order.
    pub async fn bulk_load_cases(&self, cases: &[CaseWrite]) -> StoreResult<Vec<i64>> {
        let mut ids = Vec::with_capacity(cases.len());
        for transaction in cases.chunks(10_000) {
            with_pool!(self, pool => {
                let mut tx = pool.begin().await?;
                for chunk in transaction.chunks(BULK_ROWS / 2) {
                    let mut builder = QueryBuilder::new(
                        "INSERT INTO cases (case_key, case_number, kind, id_type, id_number, resident_id, name, sex, \
                         birth_date, phone, address, grid_code, region_code, onset_date, first_positive_at, found_by, \
                         found_at, severity, hospital, status, regime, reported_at, isolated_at, infector_case_id, \
                         infector_note, public_summary, created_by, created_at) ",
                    );
                    builder.push_values(chunk, |mut b, c| {
                        b.push_bind(&c.case_key)
                            .push_bind(format!("{}-{}", c.case_number_prefix, c.case_key))
                            .push_bind(&c.kind)
                            .push_bind(&c.id_type)
                            .push_bind(c.id_number.as_str())
                            .push_bind(c.resident_id)
                            .push_bind(c.name.as_str())
                            .push_bind(&c.sex)
                            .push_bind(&c.birth_date)
                            .push_bind(c.phone.as_ref().map(PhoneNumber::as_str))
                            .push_bind(c.address.as_str())
                            .push_bind(&c.grid_code)
                            .push_bind(&c.region_code)
                            .push_bind(&c.onset_date)
                            .push_bind(c.first_positive_at)
                            .push_bind(&c.found_by)
                            .push_bind(c.found_at)
                            .push_bind(&c.severity)
                            .push_bind(&c.hospital)
                            .push_bind("active")
                            .push_bind(&c.regime)
                            .push_bind(c.reported_at)
                            .push_bind(c.isolated_at)
                            .push_bind(c.infector_case_id)
                            .push_bind(&c.infector_note)
                            .push_bind("")
                            .push_bind(&c.created_by)
                            .push_bind(c.created_at);
                    });
                    builder.push(" RETURNING id");
                    let mut rows: Vec<i64> = builder.build_query_scalar().fetch_all(&mut *tx).await?;
                    rows.sort_unstable();
                    ids.extend(rows);
                }
                let mut counts: std::collections::HashMap<(&str, String), i64> = Default::default();
                for c in transaction {
                    *counts.entry((c.region_code.as_str(), format!("case:{}:active", c.kind))).or_default() += 1;
                }
                for ((region, what), n) in counts {
                    bump_count!(tx, region, what, n);
                }
                let mut days: std::collections::HashMap<(&str, (&'static str, String, String)), i64> =
                    Default::default();
                for c in transaction {
                    for key in c.curve_row().keys() {
                        *days.entry((c.region_code.as_str(), key)).or_default() += 1;
                    }
                }
                for ((region, key), n) in days {
                    move_case_days!(tx, region, [key], n);
                }
                tx.commit().await?;
            });
        }
        Ok(ids)
    }

    /// After a bulk load: refreshes the planner statistics of the investigation and lead tables (with
    /// empty-table statistics PostgreSQL picks scans the real sizes make slow) and, on PostgreSQL,
    /// vacuums them so the visibility map allows index-only scans — what autovacuum does in time
    /// for tables that grow the ordinary way.
    pub async fn analyze_investigation(&self) -> StoreResult<()> {
        let command = match self {
            Store::Sqlite(_) => "ANALYZE",
            Store::Postgres(_) => "VACUUM ANALYZE",
        };
        with_pool!(self, pool => {
            for table in ["cases", "contacts", "investigation_counts", "case_day_counts", "leads", "lead_grid_stats"] {
                sqlx::query(AssertSqlSafe(format!("{command} {table}"))).execute(pool).await?;
            }
        });
        Ok(())
    }

    /// Sets infectors of many cases in one transaction (the benchmark's chains).
    pub async fn bulk_set_infectors(&self, links: &[(i64, i64)]) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (case_id, infector) in links {
                sqlx::query("UPDATE cases SET infector_case_id = $1 WHERE id = $2")
                    .bind(infector)
                    .bind(case_id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Appends contacts (the benchmark's outbreak), like [`Store::bulk_load_cases`]: no events.
    pub async fn bulk_load_contacts(&self, contacts: &[ContactWrite]) -> StoreResult<()> {
        for transaction in contacts.chunks(20_000) {
            with_pool!(self, pool => {
                let mut tx = pool.begin().await?;
                for chunk in transaction.chunks(BULK_ROWS / 2) {
                    let mut builder = QueryBuilder::new(
                        "INSERT INTO contacts (case_id, case_region_code, via_contact_id, person_key, id_type, id_number, \
                         resident_id, name, phone, address, grid_code, exposure_kind, exposure_detail, protected, \
                         first_exposure_at, last_exposure_at, category, reason, regime, status, created_by, created_at) ",
                    );
                    builder.push_values(chunk, |mut b, c| {
                        b.push_bind(c.case_id)
                            .push_bind(&c.case_region_code)
                            .push_bind(c.via_contact_id)
                            .push_bind(&c.person_key)
                            .push_bind(&c.id_type)
                            .push_bind(c.id_number.as_str())
                            .push_bind(c.resident_id)
                            .push_bind(c.name.as_str())
                            .push_bind(c.phone.as_ref().map(PhoneNumber::as_str))
                            .push_bind(c.address.as_str())
                            .push_bind(&c.grid_code)
                            .push_bind(&c.exposure_kind)
                            .push_bind(&c.exposure_detail)
                            .push_bind(c.protected)
                            .push_bind(c.first_exposure_at)
                            .push_bind(c.last_exposure_at)
                            .push_bind(&c.category)
                            .push_bind(&c.reason)
                            .push_bind(&c.regime)
                            .push_bind("active")
                            .push_bind(&c.created_by)
                            .push_bind(c.created_at);
                    });
                    builder.build().execute(&mut *tx).await?;
                }
                let mut counts: std::collections::HashMap<(&str, String), i64> = Default::default();
                for c in transaction {
                    *counts
                        .entry((c.case_region_code.as_str(), format!("contact:{}:active", c.category)))
                        .or_default() += 1;
                }
                for ((region, what), n) in counts {
                    bump_count!(tx, region, what, n);
                }
                tx.commit().await?;
            });
        }
        Ok(())
    }
}
