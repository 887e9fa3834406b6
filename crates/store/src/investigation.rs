//! Cases, trajectories, contacts and transmission links (流调溯源).
//!
//! A case or a contact and the `person_events` row that tells the other modules about it are
//! written in one transaction: the health code, leads and isolation modules never miss one and
//! never see one that was rolled back. The store decides nothing: the application classifies.
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use sqlx::{AssertSqlSafe, QueryBuilder};

use fangkong_domain::personal::{Address, DocumentNumber, PersonName};
use fangkong_domain::phone::PhoneNumber;

use crate::typed::StoredPhone;
use crate::{Store, StoreError, StoreResult, with_pool};

/// Inside a `with_pool!` body: appends a person event to transaction `$tx`.
macro_rules! insert_event {
    ($tx:expr, $at:expr, $kind:expr, $id_type:expr, $id_number:expr, $resident:expr, $grid:expr, $source:expr, $detail:expr) => {
        sqlx::query(
            "INSERT INTO person_events (at, kind, id_type, id_number, resident_id, grid_code, source, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind($at)
        .bind($kind)
        .bind($id_type)
        .bind($id_number)
        .bind($resident)
        .bind($grid)
        .bind($source)
        .bind($detail)
        .execute(&mut *$tx)
        .await?
    };
}

/// Inside a `with_pool!` body: moves counter `$what` of region `$region` by `$delta` in `$tx`.
macro_rules! bump_count {
    ($tx:expr, $region:expr, $what:expr, $delta:expr) => {
        sqlx::query(
            "INSERT INTO investigation_counts (region_code, what, n) VALUES ($1, $2, $3) \
             ON CONFLICT (region_code, what) DO UPDATE SET n = investigation_counts.n + excluded.n",
        )
        .bind($region)
        .bind($what)
        .bind($delta)
        .execute(&mut *$tx)
        .await?
    };
}

/// A case as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct CaseRecord {
    pub id: i64,
    pub case_key: String,
    pub case_number: String,
    pub kind: String,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub resident_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    pub sex: String,
    pub birth_date: String,
    #[sqlx(try_from = "StoredPhone")]
    pub phone: Option<PhoneNumber>,
    #[sqlx(try_from = "String")]
    pub address: Address,
    pub grid_code: String,
    pub region_code: String,
    pub onset_date: Option<String>,
    pub first_positive_at: Option<i64>,
    pub found_by: String,
    pub found_at: i64,
    pub severity: String,
    pub hospital: String,
    pub status: String,
    pub status_at: Option<i64>,
    pub regime: String,
    pub reported_at: Option<i64>,
    pub investigated_at: Option<i64>,
    pub isolated_at: Option<i64>,
    pub infector_case_id: Option<i64>,
    pub infector_note: String,
    pub public_summary: String,
    pub created_by: String,
    pub created_at: i64,
}

const CASE_COLUMNS: &str = "id, case_key, case_number, kind, id_type, id_number, resident_id, name, sex, \
     birth_date, phone, address, grid_code, region_code, onset_date, first_positive_at, found_by, found_at, \
     severity, hospital, status, status_at, regime, reported_at, investigated_at, isolated_at, \
     infector_case_id, infector_note, public_summary, created_by, created_at";

/// A new case. `case_number_prefix` + the id becomes its number (藁城-00012).
#[derive(Clone)]
pub struct CaseWrite {
    pub case_key: String,
    pub case_number_prefix: String,
    pub kind: String,
    pub id_type: String,
    pub id_number: DocumentNumber,
    pub resident_id: Option<i64>,
    pub name: PersonName,
    pub sex: String,
    pub birth_date: String,
    pub phone: Option<PhoneNumber>,
    pub address: Address,
    pub grid_code: String,
    pub region_code: String,
    pub onset_date: Option<String>,
    pub first_positive_at: Option<i64>,
    pub found_by: String,
    pub found_at: i64,
    pub severity: String,
    pub hospital: String,
    pub regime: String,
    pub reported_at: Option<i64>,
    pub isolated_at: Option<i64>,
    pub infector_case_id: Option<i64>,
    pub infector_note: String,
    pub created_by: String,
    pub created_at: i64,
    /// The JSON detail of the `case_reported` event.
    pub event_detail: String,
}

impl std::fmt::Debug for CaseWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseWrite")
            .field("case_key", &self.case_key)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A change to a case the epidemiologist makes on its page.
#[derive(Debug, Clone)]
pub enum CaseUpdate {
    Reported {
        at: i64,
    },
    Investigated {
        at: i64,
    },
    Isolated {
        at: i64,
    },
    Clinical {
        severity: String,
        hospital: String,
    },
    Kind {
        kind: String,
    },
    /// Discharged or excluded; `event_kind`/`event_detail` tell the other modules.
    Closed {
        status: String,
        at: i64,
        event_kind: String,
        event_detail: String,
    },
    Infector {
        infector_case_id: Option<i64>,
        note: String,
    },
    PublicSummary {
        text: String,
    },
}

/// One stop of a case's trajectory.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct CaseStopRecord {
    pub id: i64,
    pub case_id: i64,
    pub from_at: i64,
    pub to_at: Option<i64>,
    pub place_kind: String,
    pub place_name: String,
    pub address: String,
    pub region_code: String,
    pub source: String,
    pub source_key: String,
    pub public: bool,
    pub created_by: String,
    pub created_at: i64,
}

/// A contact as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ContactRecord {
    pub id: i64,
    pub case_id: i64,
    pub case_region_code: String,
    pub via_contact_id: Option<i64>,
    pub person_key: String,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub resident_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    #[sqlx(try_from = "StoredPhone")]
    pub phone: Option<PhoneNumber>,
    #[sqlx(try_from = "String")]
    pub address: Address,
    pub grid_code: String,
    pub exposure_kind: String,
    pub exposure_detail: String,
    pub protected: bool,
    pub first_exposure_at: i64,
    pub last_exposure_at: i64,
    pub category: String,
    pub reason: String,
    pub regime: String,
    pub status: String,
    pub isolated_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
}

const CONTACT_COLUMNS: &str = "id, case_id, case_region_code, via_contact_id, person_key, id_type, id_number, \
     resident_id, name, phone, address, grid_code, exposure_kind, exposure_detail, protected, \
     first_exposure_at, last_exposure_at, category, reason, regime, status, isolated_at, created_by, created_at";

/// A new contact; `event_kind` is `close_contact`/`secondary_contact` (none for a general contact).
#[derive(Clone)]
pub struct ContactWrite {
    pub case_id: i64,
    pub case_region_code: String,
    pub via_contact_id: Option<i64>,
    pub person_key: String,
    pub id_type: String,
    pub id_number: DocumentNumber,
    pub resident_id: Option<i64>,
    pub name: PersonName,
    pub phone: Option<PhoneNumber>,
    pub address: Address,
    pub grid_code: String,
    pub exposure_kind: String,
    pub exposure_detail: String,
    pub protected: bool,
    pub first_exposure_at: i64,
    pub last_exposure_at: i64,
    pub category: String,
    pub reason: String,
    pub regime: String,
    pub created_by: String,
    pub created_at: i64,
    pub event_kind: Option<String>,
    /// The JSON detail of the event, with `{contact_id}` standing for the new row's id.
    pub event_detail: String,
}

impl std::fmt::Debug for ContactWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContactWrite")
            .field("case_id", &self.case_id)
            .field("category", &self.category)
            .finish_non_exhaustive()
    }
}

/// Counts of cases per kind and status, and the deadlines missed, in a jurisdiction.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CaseCounts {
    pub confirmed: i64,
    pub asymptomatic: i64,
    pub suspected: i64,
    pub initial_screen_positive: i64,
    pub active: i64,
    pub discharged: i64,
    pub report_overdue: i64,
    pub investigation_overdue: i64,
    pub close_contacts: i64,
    pub secondary_contacts: i64,
    pub general_contacts: i64,
}

/// The overview's line of one child region.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChildCaseCounts {
    pub code: String,
    pub cases: i64,
    pub active: i64,
    pub report_overdue: i64,
    pub close_contacts: i64,
    pub secondary_contacts: i64,
}

/// One case in the chain picture.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChainCaseRow {
    pub id: i64,
    pub infector_case_id: Option<i64>,
    pub kind: String,
    pub case_number: String,
    pub contacts: i64,
}

/// Filters of the case directory.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub kind: Option<String>,
    pub status: Option<String>,
    /// Only cases whose report (2 h) or investigation (24 h) is not done and past due at `now`.
    pub overdue_at: Option<(i64, i64, i64)>,
}

impl Store {
    /// Writes a case and its `case_reported` event in one transaction. A case with the same key
    /// returns the existing id and `false` (a retry, or an event taken twice).
    pub async fn insert_case(&self, case: &CaseWrite) -> StoreResult<(i64, bool)> {
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
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1");
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        Ok(row)
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

    /// Applies one change to a case (and, for a closing, its event) in one transaction.
    pub async fn update_case(&self, id: i64, update: &CaseUpdate) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let before: Option<(String, String, String)> = sqlx::query_as(
                "SELECT kind, status, region_code FROM cases WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
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

    /// Adds trajectory stops; a stop whose `source_key` the case already has is skipped (a retry, or
    /// a passage pulled twice). Returns how many were new.
    pub async fn insert_case_stops(&self, stops: &[CaseStopRecord]) -> StoreResult<u64> {
        let mut added = 0;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for stop in stops {
                let result = sqlx::query(
                    "INSERT INTO case_stops (case_id, from_at, to_at, place_kind, place_name, address, region_code, \
                     source, source_key, public, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (case_id, source_key) DO NOTHING",
                )
                .bind(stop.case_id)
                .bind(stop.from_at)
                .bind(stop.to_at)
                .bind(&stop.place_kind)
                .bind(&stop.place_name)
                .bind(stop.address.as_str())
                .bind(&stop.region_code)
                .bind(&stop.source)
                .bind(&stop.source_key)
                .bind(stop.public)
                .bind(&stop.created_by)
                .bind(stop.created_at)
                .execute(&mut *tx)
                .await?;
                added += result.rows_affected();
            }
            tx.commit().await?;
        });
        Ok(added)
    }

    pub async fn case_stops(&self, case_id: i64) -> StoreResult<Vec<CaseStopRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, case_id, from_at, to_at, place_kind, place_name, address, region_code, source, \
                 source_key, public, created_by, created_at FROM case_stops WHERE case_id = $1 ORDER BY from_at, id",
            )
            .bind(case_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Writes a contact and, for a close or secondary contact, its event, in one transaction.
    /// The same person twice for one case is a unique violation (the caller words it).
    pub async fn insert_contact(&self, contact: &ContactWrite) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO contacts (case_id, case_region_code, via_contact_id, person_key, id_type, id_number, \
                 resident_id, name, phone, address, grid_code, exposure_kind, exposure_detail, protected, \
                 first_exposure_at, last_exposure_at, category, reason, regime, status, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
                 'active', $20, $21) RETURNING id",
            )
            .bind(contact.case_id)
            .bind(&contact.case_region_code)
            .bind(contact.via_contact_id)
            .bind(&contact.person_key)
            .bind(&contact.id_type)
            .bind(contact.id_number.as_str())
            .bind(contact.resident_id)
            .bind(contact.name.as_str())
            .bind(contact.phone.as_ref().map(PhoneNumber::as_str))
            .bind(contact.address.as_str())
            .bind(&contact.grid_code)
            .bind(&contact.exposure_kind)
            .bind(&contact.exposure_detail)
            .bind(contact.protected)
            .bind(contact.first_exposure_at)
            .bind(contact.last_exposure_at)
            .bind(&contact.category)
            .bind(&contact.reason)
            .bind(&contact.regime)
            .bind(&contact.created_by)
            .bind(contact.created_at)
            .fetch_one(&mut *tx)
            .await?;
            if let Some(kind) = &contact.event_kind {
                let detail = contact.event_detail.replace("{contact_id}", &id.to_string());
                insert_event!(tx, contact.created_at, kind, &contact.id_type, contact.id_number.as_str(),
                    contact.resident_id, &contact.grid_code, format!("contact:{id}"), &detail);
            }
            bump_count!(tx, &contact.case_region_code, format!("contact:{}:active", contact.category), 1_i64);
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn contact(&self, id: i64) -> StoreResult<Option<ContactRecord>> {
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = $1");
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// A case's contacts (close first, then secondary, then general), at most `limit`.
    pub async fn contacts_of_case(
        &self,
        case_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<ContactRecord>> {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE case_id = $1 \
             ORDER BY CASE category WHEN 'close' THEN 0 WHEN 'secondary' THEN 1 ELSE 2 END, id LIMIT $2"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(case_id).bind(limit).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// One page of the contact directory of a jurisdiction (by the case's region), newest first;
    /// `by_id` walks the (category, id) index for a large jurisdiction (see [`Store::cases_page`]).
    pub async fn contacts_page(
        &self,
        range: (&str, &str),
        category: &str,
        before_id: Option<i64>,
        limit: i64,
        by_id: bool,
    ) -> StoreResult<Vec<ContactRecord>> {
        let region = if by_id {
            "case_region_code || ''"
        } else {
            "case_region_code"
        };
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE {region} >= $1 AND {region} < $2 \
             AND category = $3 AND id < $4 ORDER BY id DESC LIMIT $5"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(category)
                .bind(before_id.unwrap_or(i64::MAX))
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Marks a contact cleared (reclassified general or entered by mistake) with its event.
    pub async fn clear_contact(
        &self,
        id: i64,
        reason: &str,
        at: i64,
        event_detail: &str,
    ) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<(String, String, Option<i64>, String, String, String)> = sqlx::query_as(
                "UPDATE contacts SET status = 'cleared', reason = reason || '；已解除：' || $2 \
                 WHERE id = $1 AND status = 'active' \
                 RETURNING id_type, id_number, resident_id, grid_code, category, case_region_code",
            )
            .bind(id)
            .bind(reason)
            .fetch_optional(&mut *tx)
            .await?;
            match row {
                Some((id_type, id_number, resident_id, grid_code, category, region)) => {
                    bump_count!(tx, &region, format!("contact:{category}:active"), -1_i64);
                    bump_count!(tx, &region, format!("contact:{category}:cleared"), 1_i64);
                    if category != "general" {
                        insert_event!(tx, at, "contact_cleared", &id_type, &id_number, resident_id,
                            &grid_code, format!("contact:{id}"), event_detail);
                    }
                    tx.commit().await?;
                    true
                }
                None => false,
            }
        });
        Ok(changed)
    }

    /// Records when a contact was put under a measure (closes its secondary-contact window).
    pub async fn set_contact_isolated(&self, id: i64, at: i64) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE contacts SET isolated_at = $1 WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Every case of a jurisdiction with its infector and number of active contacts: the chain
    /// picture's input (two indexed scans, no per-case query).
    pub async fn chain_cases(&self, range: (&str, &str)) -> StoreResult<Vec<ChainCaseRow>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT c.id, c.infector_case_id, c.kind, c.case_number, COALESCE(n.contacts, 0) AS contacts \
                 FROM cases c LEFT JOIN ( \
                   SELECT case_id, COUNT(*) AS contacts FROM contacts \
                   WHERE case_region_code >= $1 AND case_region_code < $2 AND status = 'active' GROUP BY case_id \
                 ) n ON n.case_id = c.id \
                 WHERE c.region_code >= $1 AND c.region_code < $2 AND c.status <> 'excluded' ORDER BY c.id",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// The infector chain upwards from `case_id` (its infector, that one's infector …), at most
    /// `limit` steps: how the app refuses a link that would close a cycle.
    pub async fn infector_ancestors(&self, case_id: i64, limit: usize) -> StoreResult<Vec<i64>> {
        let mut ancestors = Vec::new();
        let mut at = case_id;
        while ancestors.len() < limit {
            let next: Option<Option<i64>> = with_pool!(self, pool => {
                sqlx::query_scalar("SELECT infector_case_id FROM cases WHERE id = $1")
                    .bind(at)
                    .fetch_optional(pool)
                    .await?
            });
            match next.flatten() {
                Some(parent) => {
                    ancestors.push(parent);
                    at = parent;
                }
                None => break,
            }
        }
        Ok(ancestors)
    }

    /// The cases this case infected.
    pub async fn infectees(&self, case_id: i64) -> StoreResult<Vec<CaseRecord>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE infector_case_id = $1 ORDER BY id LIMIT 500"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(case_id).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Cases of a jurisdiction for the public bulletin: active or discharged, newest first.
    pub async fn bulletin_cases(
        &self,
        range: (&str, &str),
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<CaseRecord>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE region_code >= $1 AND region_code < $2 \
             AND found_at >= $3 AND kind IN ('confirmed', 'asymptomatic') AND status <> 'excluded' \
             ORDER BY id DESC LIMIT $4"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(since)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }
}

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
            for table in ["cases", "contacts", "investigation_counts", "leads", "lead_grid_stats"] {
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

impl StoreError {
    /// True when a contact write failed because the person is already a contact of that case.
    pub fn is_duplicate_contact(&self) -> bool {
        self.is_unique_violation()
    }
}
