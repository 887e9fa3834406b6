//! Leads and 落地查人: the leads with their routing queue, the step history, the outcome written in
//! one transaction with the `lead_controlled` person event, the grid queues and the command view's
//! counts (scoped by the code range of `grid_code`), and the big-data push imports.

use sqlx::{AssertSqlSafe, QueryBuilder};

use fangkong_domain::ids::IdType;
use fangkong_domain::isolation::MeasureStatus;
use fangkong_domain::leads::{Channel, ControlMeasure, LeadStatus, RiskCategory, SenderScope};
use fangkong_domain::person_event;
use fangkong_domain::personal::{Address, DocumentNumber, PersonName};
use fangkong_domain::phone::PhoneNumber;

use crate::typed::{StoredCode, StoredOptionalCode, StoredPhone, code_or_empty};
use crate::{ImportProblemRecord, Store, StoreResult, with_pool};

/// One lead as stored. Holds personal data: `Debug` shows ids and states only.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct LeadRecord {
    pub id: i64,
    #[sqlx(try_from = "StoredCode<Channel>")]
    pub channel: Channel,
    #[sqlx(try_from = "StoredCode<RiskCategory>")]
    pub category: RiskCategory,
    #[sqlx(try_from = "StoredCode<LeadStatus>")]
    pub status: LeadStatus,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    /// None for a lead without a document (stored as the empty text).
    #[sqlx(try_from = "StoredOptionalCode<IdType>")]
    #[serde(serialize_with = "code_or_empty")]
    pub id_type: Option<IdType>,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    #[sqlx(try_from = "StoredPhone")]
    pub phone: Option<PhoneNumber>,
    #[sqlx(try_from = "String")]
    pub address: Address,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub reason: String,
    pub came_from: String,
    pub arrived_at: Option<i64>,
    pub sender: String,
    /// Set on an incoming assistance letter only.
    #[sqlx(try_from = "StoredOptionalCode<SenderScope>")]
    #[serde(serialize_with = "code_or_empty")]
    pub sender_scope: Option<SenderScope>,
    pub reference: String,
    pub sender_region: String,
    pub source_key: Option<String>,
    pub received_at: i64,
    pub deadline: i64,
    pub closed_at: Option<i64>,
    /// Set once the person is found and put under a measure.
    #[sqlx(try_from = "StoredOptionalCode<ControlMeasure>")]
    #[serde(serialize_with = "code_or_empty")]
    pub measure: Option<ControlMeasure>,
    pub out_region: String,
    pub out_note: String,
    pub created_by: String,
    pub created_at: i64,
}

const LEAD_COLUMNS: &str = "id, channel, category, status, name, id_type, id_number, phone, address, \
     resident_id, grid_code, reason, came_from, arrived_at, sender, sender_scope, reference, sender_region, \
     source_key, received_at, deadline, closed_at, measure, out_region, out_note, created_by, created_at";

/// One step of a lead's history.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct LeadStepRecord {
    pub id: i64,
    pub lead_id: i64,
    pub at: i64,
    pub step: String,
    pub actor: String,
    pub from_code: String,
    pub to_code: String,
    pub note: String,
}

/// A change of an open lead: its new state, the step that records it and, for a landing, the
/// person event other modules consume. Applied only while the lead is still open.
#[derive(Clone)]
pub struct LeadChange {
    pub lead_id: i64,
    pub status: LeadStatus,
    pub grid_code: String,
    pub resident_id: Option<i64>,
    pub closed_at: Option<i64>,
    pub measure: Option<ControlMeasure>,
    pub out_region: String,
    pub out_note: String,
    pub step: LeadStepRecord,
    /// (kind, JSON detail) of a `person_events` row written in the same transaction.
    pub event: Option<(String, String)>,
    /// The audit record of a change a user makes, written in the same transaction (none for the
    /// changes the event passes make).
    pub audit: Option<crate::AuditRecord>,
}

/// An open lead about a person isolation already holds (see
/// [`Store::open_leads_of_controlled_people`]).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ControlledLead {
    pub lead_id: i64,
    /// `pending` or `unrouted`.
    #[sqlx(try_from = "StoredCode<LeadStatus>")]
    pub lead_status: LeadStatus,
    pub grid_code: String,
    pub resident_id: Option<i64>,
    /// One of [`crate::under_control_statuses`].
    #[sqlx(try_from = "StoredCode<MeasureStatus>")]
    pub measure_status: MeasureStatus,
    /// When the lead counts as landed: the measure's start, or the lead's arrival if later.
    pub since: i64,
}

/// Counts of one (child region, status, channel) of the command view.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LeadCountRow {
    pub code: String,
    #[sqlx(try_from = "StoredCode<LeadStatus>")]
    pub status: LeadStatus,
    #[sqlx(try_from = "StoredCode<Channel>")]
    pub channel: Channel,
    pub n: i64,
    /// Leads whose deadline has passed.
    pub past_deadline: i64,
    /// Leads closed by their deadline.
    pub in_time: i64,
}

/// Filters of a lead list.
#[derive(Debug, Clone, Default)]
pub struct LeadQuery {
    pub status: Option<String>,
    pub channel: Option<String>,
    /// Open and past the deadline at this time.
    pub overdue_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct LeadImportRecord {
    pub id: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub username: String,
    pub file_name: String,
    pub rows_total: i64,
    pub inserted: i64,
    pub unchanged: i64,
    pub problems: i64,
    /// When a restart or the periodic pass found the import cut short (its counters say what it
    /// had committed); `finished_at` then holds the same time.
    pub interrupted_at: Option<i64>,
}

const IMPORT_COLUMNS: &str = "id, started_at, finished_at, username, file_name, rows_total, inserted, unchanged, problems, interrupted_at";

/// (child code, status, channel, open leads past the deadline).
type OverdueCount = (String, String, String, i64);

/// Adds `$5` (±1) to the count of (grid, channel, status, in_time).
const BUMP_STATS: &str = "INSERT INTO lead_grid_stats (grid_code, channel, status, in_time, n) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (grid_code, channel, status, in_time) DO UPDATE SET n = lead_grid_stats.n + excluded.n";

macro_rules! push_filters {
    ($builder:ident, $range:expr, $query:expr) => {{ push_filters!($builder, $range, $query, "grid_code") }};
    ($builder:ident, $range:expr, $query:expr, $column:expr) => {{
        $builder.push(format!(" WHERE {} >= ", $column));
        $builder.push_bind($range.0.to_string());
        $builder.push(format!(" AND {} < ", $column));
        $builder.push_bind($range.1.to_string());
        if let Some(status) = &$query.status {
            $builder.push(" AND status = ");
            $builder.push_bind(status.clone());
        }
        if let Some(channel) = &$query.channel {
            $builder.push(" AND channel = ");
            $builder.push_bind(channel.clone());
        }
        if let Some(now) = $query.overdue_at {
            $builder.push(" AND status IN ('pending', 'unrouted') AND deadline <= ");
            $builder.push_bind(now);
        }
    }};
}

impl Store {
    /// Inserts leads with their "received" step in one transaction. A lead whose `source_key`
    /// is already there is skipped (None): re-importing a file or re-reading an event adds nothing.
    pub async fn insert_leads(&self, leads: &[LeadRecord]) -> StoreResult<Vec<Option<i64>>> {
        self.insert_leads_audited(leads, None).await
    }

    /// [`Store::insert_leads`] for a lead a user registers: `audit` (target: `lead:<new id>` of the
    /// first lead written) commits with the leads; when none is written, neither is it.
    pub async fn insert_leads_audited(
        &self,
        leads: &[LeadRecord],
        audit: Option<&crate::AuditRecord>,
    ) -> StoreResult<Vec<Option<i64>>> {
        let mut ids = Vec::with_capacity(leads.len());
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for lead in leads {
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO leads (channel, category, status, name, id_type, id_number, phone, address, \
                     resident_id, grid_code, reason, came_from, arrived_at, sender, sender_scope, reference, \
                     sender_region, source_key, received_at, deadline, closed_at, measure, out_region, out_note, \
                     created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                     $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26) \
                     ON CONFLICT (source_key) DO NOTHING RETURNING id",
                )
                .bind(lead.channel.code())
                .bind(lead.category.code())
                .bind(lead.status.code())
                .bind(lead.name.as_str())
                .bind(lead.id_type.map_or("", IdType::code))
                .bind(lead.id_number.as_str())
                .bind(lead.phone.as_ref().map_or("", PhoneNumber::as_str))
                .bind(lead.address.as_str())
                .bind(lead.resident_id)
                .bind(&lead.grid_code)
                .bind(&lead.reason)
                .bind(&lead.came_from)
                .bind(lead.arrived_at)
                .bind(&lead.sender)
                .bind(lead.sender_scope.map_or("", SenderScope::code))
                .bind(&lead.reference)
                .bind(&lead.sender_region)
                .bind(&lead.source_key)
                .bind(lead.received_at)
                .bind(lead.deadline)
                .bind(lead.closed_at)
                .bind(lead.measure.map_or("", ControlMeasure::code))
                .bind(&lead.out_region)
                .bind(&lead.out_note)
                .bind(&lead.created_by)
                .bind(lead.created_at)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(id) = id {
                    let in_time = lead.closed_at.is_some_and(|c| c <= lead.deadline);
                    sqlx::query(BUMP_STATS)
                        .bind(&lead.grid_code)
                        .bind(lead.channel.code())
                        .bind(lead.status.code())
                        .bind(i64::from(in_time))
                        .bind(1_i64)
                        .execute(&mut *tx)
                        .await?;
                    let letter_out = lead.status == LeadStatus::LetterOut;
                    let step = if letter_out { "letter_out" } else { "received" };
                    sqlx::query(
                        "INSERT INTO lead_steps (lead_id, at, step, actor, from_code, to_code, note) \
                         VALUES ($1, $2, $3, $4, '', $5, $6)",
                    )
                    .bind(id)
                    .bind(lead.created_at)
                    .bind(step)
                    .bind(&lead.created_by)
                    .bind(if letter_out { &lead.out_region } else { &lead.grid_code })
                    .bind(if lead.status == LeadStatus::Unrouted { "未能确定网格，待分派" } else { "" })
                    .execute(&mut *tx)
                    .await?;
                    // A pushed person reaches the health code with the lead, in its transaction.
                    if let Some(event) = push_event_of(id, lead) {
                        sqlx::query(
                            "INSERT INTO person_events (at, kind, id_type, id_number, resident_id, grid_code, source, detail) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .bind(lead.created_at)
                        .bind(person_event::BIG_DATA_PUSH)
                        .bind(lead.id_type.map_or("", IdType::code))
                        .bind(lead.id_number.as_str())
                        .bind(lead.resident_id)
                        .bind(&lead.grid_code)
                        .bind(format!("lead:{id}"))
                        .bind(event)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                ids.push(id);
            }
            if let (Some(audit), Some(first)) = (audit, ids.iter().flatten().next()) {
                crate::audit::write_audit!(&mut *tx, audit, format!("lead:{first}"));
            }
            tx.commit().await?;
        });
        Ok(ids)
    }

    pub async fn lead(&self, id: i64) -> StoreResult<Option<LeadRecord>> {
        self.row_by(LEAD_COLUMNS, "leads", "id", id).await
    }

    pub async fn lead_steps(&self, lead_id: i64) -> StoreResult<Vec<LeadStepRecord>> {
        let steps = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, lead_id, at, step, actor, from_code, to_code, note FROM lead_steps \
                 WHERE lead_id = $1 ORDER BY at, id",
            )
            .bind(lead_id)
            .fetch_all(pool)
            .await?
        });
        Ok(steps)
    }

    /// Applies a change to a lead that is still open, with its step and event, in one transaction.
    /// False (and nothing written) when the lead was closed meanwhile.
    /// Open leads (待落地) about people already under control — in a site, at home or in hospital —
    /// with that measure's status and since when: isolation has found them, so the lead lands. At
    /// most `limit`, oldest first.
    pub async fn open_leads_of_controlled_people(
        &self,
        limit: i64,
    ) -> StoreResult<Vec<ControlledLead>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT l.id AS lead_id, l.status AS lead_status, l.grid_code, l.resident_id, \
                 m.status AS measure_status, \
                 CASE WHEN m.status_since > l.received_at THEN m.status_since ELSE l.received_at END AS since \
                 FROM leads l JOIN isolation_measures m \
                 ON m.id_number = l.id_number AND m.id_type = l.id_type \
                 WHERE l.status IN ('pending', 'unrouted') AND l.id_number <> '' \
                 AND m.status IN ",
                crate::under_control_statuses!(),
                " ORDER BY l.id LIMIT $1",
            ))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn change_open_lead(&self, change: &LeadChange) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let before: Option<(String, String, String, i64)> = sqlx::query_as(
                "SELECT grid_code, channel, status, deadline FROM leads WHERE id = $1",
            )
            .bind(change.lead_id)
            .fetch_optional(&mut *tx)
            .await?;
            let updated = sqlx::query(
                "UPDATE leads SET status = $1, grid_code = $2, resident_id = $3, closed_at = $4, measure = $5, \
                 out_region = $6, out_note = $7 WHERE id = $8 AND status IN ('pending', 'unrouted')",
            )
            .bind(change.status.code())
            .bind(&change.grid_code)
            .bind(change.resident_id)
            .bind(change.closed_at)
            .bind(change.measure.map_or("", ControlMeasure::code))
            .bind(&change.out_region)
            .bind(&change.out_note)
            .bind(change.lead_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                tx.rollback().await?;
                false
            } else {
                let (grid, channel, status, deadline) = before.unwrap_or_default();
                let in_time = change.closed_at.is_some_and(|c| c <= deadline);
                for (grid, status, in_time, by) in [
                    (grid.as_str(), status.as_str(), false, -1_i64),
                    (change.grid_code.as_str(), change.status.code(), in_time, 1),
                ] {
                    sqlx::query(BUMP_STATS)
                        .bind(grid)
                        .bind(&channel)
                        .bind(status)
                        .bind(i64::from(in_time))
                        .bind(by)
                        .execute(&mut *tx)
                        .await?;
                }
                let s = &change.step;
                sqlx::query(
                    "INSERT INTO lead_steps (lead_id, at, step, actor, from_code, to_code, note) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(change.lead_id)
                .bind(s.at)
                .bind(&s.step)
                .bind(&s.actor)
                .bind(&s.from_code)
                .bind(&s.to_code)
                .bind(&s.note)
                .execute(&mut *tx)
                .await?;
                if let Some((kind, detail)) = &change.event {
                    sqlx::query(
                        "INSERT INTO person_events (at, kind, id_type, id_number, resident_id, grid_code, source, detail) \
                         SELECT $1, $2, id_type, id_number, resident_id, grid_code, $3, $4 FROM leads WHERE id = $5",
                    )
                    .bind(s.at)
                    .bind(kind)
                    .bind(format!("lead:{}", change.lead_id))
                    .bind(detail)
                    .bind(change.lead_id)
                    .execute(&mut *tx)
                    .await?;
                }
                if let Some(audit) = &change.audit {
                    crate::audit::write_audit!(&mut *tx, audit);
                }
                tx.commit().await?;
                true
            }
        });
        Ok(changed)
    }

    /// A page of leads in the code range: open lists by deadline, the others newest first.
    pub async fn leads_page(
        &self,
        range: (&str, &str),
        query: &LeadQuery,
        offset: i64,
        limit: i64,
    ) -> StoreResult<Vec<LeadRecord>> {
        let open_first = query.overdue_at.is_some()
            || matches!(query.status.as_deref(), Some("pending") | Some("unrouted"));
        // A county or more: walk the ids (newest first) or the open leads by deadline and filter the
        // range (`grid_code || ''` keeps the planner off the grid index), so the first page never
        // sorts a million leads.
        // Open leads of a county or more walk the partial index of open leads by deadline instead.
        let column = if range.0.len() <= 6 {
            "grid_code || ''"
        } else {
            "grid_code"
        };
        let rows = with_pool!(self, pool => {
            let mut builder = QueryBuilder::new(format!("SELECT {LEAD_COLUMNS} FROM leads"));
            push_filters!(builder, range, query, column);
            builder.push(if open_first { " ORDER BY deadline, id" } else { " ORDER BY id DESC" });
            builder.push(" LIMIT ");
            builder.push_bind(limit);
            builder.push(" OFFSET ");
            builder.push_bind(offset);
            builder.build_query_as().fetch_all(pool).await?
        });
        Ok(rows)
    }

    pub async fn count_leads(&self, range: (&str, &str), query: &LeadQuery) -> StoreResult<i64> {
        // Without the overdue filter the per-grid counters answer (they move with every lead write).
        if query.overdue_at.is_none() {
            let count: Option<i64> = with_pool!(self, pool => {
                let mut builder = QueryBuilder::new(
                    "SELECT CAST(SUM(n) AS BIGINT) FROM lead_grid_stats",
                );
                push_filters!(builder, range, query);
                builder.build_query_scalar().fetch_one(pool).await?
            });
            return Ok(count.unwrap_or(0));
        }
        let count = with_pool!(self, pool => {
            let mut builder = QueryBuilder::new("SELECT COUNT(*) FROM leads");
            push_filters!(builder, range, query);
            builder.build_query_scalar().fetch_one(pool).await?
        });
        Ok(count)
    }

    /// Counts per (child region, status, channel) in the code range; the child is the first
    /// `child_len` characters of `grid_code` (a lead queued above the children keeps its own code).
    /// Totals and in-time landings come from `lead_grid_stats`; only the open leads past their
    /// deadline are counted in `leads` (through the (status, deadline, …) index).
    pub async fn lead_counts(
        &self,
        range: (&str, &str),
        child_len: usize,
        now: i64,
    ) -> StoreResult<Vec<LeadCountRow>> {
        let totals = format!(
            "SELECT SUBSTR(grid_code, 1, {child_len}) AS code, status, channel, CAST(SUM(n) AS BIGINT) AS n, \
             CAST(0 AS BIGINT) AS past_deadline, CAST(SUM(in_time * n) AS BIGINT) AS in_time \
             FROM lead_grid_stats WHERE grid_code >= $1 AND grid_code < $2 GROUP BY 1, 2, 3 HAVING SUM(n) > 0 ORDER BY 1, 2, 3"
        );
        let late = format!(
            "SELECT SUBSTR(grid_code, 1, {child_len}) AS code, status, channel, COUNT(*) AS n \
             FROM leads WHERE status IN ('pending', 'unrouted') AND deadline <= $1 \
             AND grid_code >= $2 AND grid_code < $3 GROUP BY 1, 2, 3"
        );
        let (mut rows, overdue): (Vec<LeadCountRow>, Vec<OverdueCount>) = with_pool!(self, pool => {
            let rows = sqlx::query_as(AssertSqlSafe(totals))
                .bind(range.0)
                .bind(range.1)
                .fetch_all(pool)
                .await?;
            let overdue = sqlx::query_as(AssertSqlSafe(late))
                .bind(now)
                .bind(range.0)
                .bind(range.1)
                .fetch_all(pool)
                .await?;
            (rows, overdue)
        });
        for (code, status, channel, n) in overdue {
            if let Some(row) = rows.iter_mut().find(|r| {
                r.code == code && r.status.code() == status && r.channel.code() == channel
            }) {
                row.past_deadline = n;
            }
        }
        Ok(rows)
    }

    /// The leads a user sent in, newest first (a resident's own reports).
    pub async fn leads_created_by(
        &self,
        username: &str,
        limit: i64,
    ) -> StoreResult<Vec<LeadRecord>> {
        let sql = format!(
            "SELECT {LEAD_COLUMNS} FROM leads WHERE created_by = $1 ORDER BY id DESC LIMIT $2"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(username).bind(limit).fetch_all(pool).await?
        });
        Ok(rows)
    }

    pub async fn create_lead_import(
        &self,
        username: &str,
        file_name: &str,
        now: i64,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO lead_imports (started_at, username, file_name) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(now)
            .bind(username)
            .bind(file_name)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    /// Stores an import's new problems and its running totals (in one transaction), with
    /// `finished_at` when the import is done, and moves its heartbeat (`progress_at = now`): an
    /// import that writes progress is alive, even if a pass had marked it interrupted meanwhile.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_lead_import_progress(
        &self,
        import_id: i64,
        problems: &[ImportProblemRecord],
        rows_total: i64,
        inserted: i64,
        unchanged: i64,
        problem_rows: i64,
        finished_at: Option<i64>,
        now: i64,
    ) -> StoreResult<()> {
        self.record_lead_import_progress_audited(
            import_id,
            problems,
            rows_total,
            inserted,
            unchanged,
            problem_rows,
            finished_at,
            now,
            None,
        )
        .await
    }

    /// [`Store::record_lead_import_progress`] with the import's audit record, for the write that
    /// finishes an import: the run's totals and its record commit together.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_lead_import_progress_audited(
        &self,
        import_id: i64,
        problems: &[ImportProblemRecord],
        rows_total: i64,
        inserted: i64,
        unchanged: i64,
        problem_rows: i64,
        finished_at: Option<i64>,
        now: i64,
        audit: Option<&crate::AuditRecord>,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in problems.chunks(2000) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO lead_import_problems (import_id, row_number, column_name, message, raw_fields) ",
                );
                builder.push_values(chunk, |mut b, p| {
                    b.push_bind(import_id)
                        .push_bind(p.row_number)
                        .push_bind(p.column_name.clone())
                        .push_bind(p.message.clone())
                        .push_bind(p.raw_fields.clone());
                });
                builder.build().execute(&mut *tx).await?;
            }
            sqlx::query(
                "UPDATE lead_imports SET rows_total = $1, inserted = $2, unchanged = $3, problems = $4, \
                 finished_at = $5, progress_at = $6, interrupted_at = NULL WHERE id = $7",
            )
            .bind(rows_total)
            .bind(inserted)
            .bind(unchanged)
            .bind(problem_rows)
            .bind(finished_at)
            .bind(now)
            .bind(import_id)
            .execute(&mut *tx)
            .await?;
            if let Some(audit) = audit {
                crate::audit::write_audit!(&mut *tx, audit);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn lead_import(&self, id: i64) -> StoreResult<Option<LeadImportRecord>> {
        self.row_by(IMPORT_COLUMNS, "lead_imports", "id", id).await
    }

    pub async fn recent_lead_imports(
        &self,
        username: &str,
        limit: i64,
    ) -> StoreResult<Vec<LeadImportRecord>> {
        let sql = format!(
            "SELECT {IMPORT_COLUMNS} FROM lead_imports WHERE username = $1 ORDER BY id DESC LIMIT $2"
        );
        let runs = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(username).bind(limit).fetch_all(pool).await?
        });
        Ok(runs)
    }

    pub async fn lead_import_problems(
        &self,
        import_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<ImportProblemRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT row_number, column_name, message, raw_fields FROM lead_import_problems \
                 WHERE import_id = $1 ORDER BY row_number, id LIMIT $2",
            )
            .bind(import_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}

/// The [`person_event::BIG_DATA_PUSH`] detail of a newly inserted lead, when the push reaches the
/// health code (`domain::leads::push_reaches_health_code`).
fn push_event_of(lead_id: i64, lead: &LeadRecord) -> Option<String> {
    if !fangkong_domain::leads::push_reaches_health_code(lead.channel, lead.id_number.as_str()) {
        return None;
    }
    serde_json::to_string(&person_event::PushEvent {
        lead_id,
        category: lead.category.code().into(),
        pushed_at: lead.received_at,
    })
    .ok()
}

impl Store {
    /// The open leads (待落地, 待分派) of a person queued at `grid_code`: named by the register entry
    /// or by the document. What a move of the person to another grid carries along.
    pub async fn open_leads_of_person_in_grid(
        &self,
        resident_id: Option<i64>,
        id_type: &str,
        id_number: &str,
        grid_code: &str,
    ) -> StoreResult<Vec<LeadRecord>> {
        let sql = format!(
            "SELECT {LEAD_COLUMNS} FROM leads WHERE grid_code = $1 AND status IN ('pending', 'unrouted') \
             AND (resident_id = $2 OR (id_number = $3 AND id_type = $4 AND id_number <> '')) ORDER BY id"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(grid_code)
                .bind(resident_id)
                .bind(id_number)
                .bind(id_type)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }
}

impl Store {
    /// Every lead naming a person by document (open or closed), newest first. Leads without a
    /// document are never matched (an empty number names nobody).
    pub async fn leads_of_person(
        &self,
        id_type: &str,
        id_number: &str,
    ) -> StoreResult<Vec<LeadRecord>> {
        if id_number.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {LEAD_COLUMNS} FROM leads WHERE id_number = $1 AND id_type = $2 ORDER BY id DESC LIMIT 50"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id_number).bind(id_type).fetch_all(pool).await?
        });
        Ok(rows)
    }
}
