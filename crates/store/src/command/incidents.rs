//! Incident reports (重大事项报告): the first report as the incident's row (unique key: a retry
//! returns the same incident), follow-ups and the final report (unique per incident and text), and
//! each office above acknowledging receipt (unique per incident and office). Every write commits
//! with its audit record.

use sqlx::{AssertSqlSafe, QueryBuilder};

use fangkong_domain::command::incidents::{IncidentKind, IncidentStage};
use fangkong_domain::region::RegionCode;

use crate::bind::PushList;
use crate::typed::{StoredCode, StoredRegion};
use crate::{AuditRecord, Store, StoreResult, with_pool};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct IncidentRecord {
    pub id: i64,
    pub incident_key: String,
    #[sqlx(try_from = "StoredRegion")]
    pub office_code: RegionCode,
    #[sqlx(try_from = "StoredCode<IncidentKind>")]
    pub kind: IncidentKind,
    pub occurred_at: i64,
    pub place: String,
    pub summary: String,
    pub filed_at: i64,
    pub filed_by: String,
    pub deadline: i64,
    pub overdue: bool,
    pub last_report_at: i64,
    pub closed_at: Option<i64>,
}

const INCIDENT_COLUMNS: &str = "id, incident_key, office_code, kind, occurred_at, place, summary, \
     filed_at, filed_by, deadline, overdue, last_report_at, closed_at";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct IncidentUpdateRecord {
    pub id: i64,
    pub incident_id: i64,
    pub update_key: String,
    #[sqlx(try_from = "StoredCode<IncidentStage>")]
    pub stage: IncidentStage,
    pub at: i64,
    pub by_name: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct IncidentAckRecord {
    pub id: i64,
    pub incident_id: i64,
    #[sqlx(try_from = "StoredRegion")]
    pub office_code: RegionCode,
    pub at: i64,
    pub by_name: String,
}

impl Store {
    /// Files a first report; when its key exists already (a retry) nothing is written and the
    /// existing incident's id is returned with `false`.
    pub async fn insert_incident(
        &self,
        incident: &IncidentRecord,
        audit: &AuditRecord,
    ) -> StoreResult<(i64, bool)> {
        let result = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT id FROM incidents WHERE incident_key = $1")
                    .bind(&incident.incident_key)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(id) = existing {
                (id, false)
            } else {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO incidents (incident_key, office_code, kind, occurred_at, place, summary, \
                     filed_at, filed_by, deadline, overdue, last_report_at, closed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL) RETURNING id",
                )
                .bind(&incident.incident_key)
                .bind(incident.office_code.as_str())
                .bind(incident.kind.code())
                .bind(incident.occurred_at)
                .bind(&incident.place)
                .bind(&incident.summary)
                .bind(incident.filed_at)
                .bind(&incident.filed_by)
                .bind(incident.deadline)
                .bind(incident.overdue)
                .bind(incident.last_report_at)
                .fetch_one(&mut *tx)
                .await?;
                crate::audit::write_audit!(&mut *tx, audit, format!("incident:{id}"));
                tx.commit().await?;
                (id, true)
            }
        });
        Ok(result)
    }

    pub async fn incident(&self, id: i64) -> StoreResult<Option<IncidentRecord>> {
        self.row_by(INCIDENT_COLUMNS, "incidents", "id", id).await
    }

    /// Incidents of offices in the code range, newest first (at most `limit`); `open_only` leaves
    /// the closed ones out.
    pub async fn incidents_in(
        &self,
        range: (&str, &str),
        open_only: bool,
        limit: i64,
    ) -> StoreResult<Vec<IncidentRecord>> {
        let open = if open_only {
            " AND closed_at IS NULL"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE office_code >= $1 AND office_code < $2{open} \
             ORDER BY id DESC LIMIT $3"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Adds a follow-up or the final report (then the incident closes), only while the incident is
    /// open. Ok(None) when it is closed; a retry of the same text (same key) writes nothing and
    /// answers the existing update's id.
    pub async fn add_incident_update(
        &self,
        update: &IncidentUpdateRecord,
        closes: bool,
        audit: &AuditRecord,
    ) -> StoreResult<Option<i64>> {
        let result = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let existing: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM incident_updates WHERE incident_id = $1 AND update_key = $2",
            )
            .bind(update.incident_id)
            .bind(&update.update_key)
            .fetch_optional(&mut *tx)
            .await?;
            if existing.is_some() {
                existing
            } else {
                let closed_at: Option<i64> = closes.then_some(update.at);
                let changed = sqlx::query(
                    "UPDATE incidents SET last_report_at = $1, closed_at = $2 \
                     WHERE id = $3 AND closed_at IS NULL",
                )
                .bind(update.at)
                .bind(closed_at)
                .bind(update.incident_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 1 {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO incident_updates (incident_id, update_key, stage, at, by_name, body) \
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    )
                    .bind(update.incident_id)
                    .bind(&update.update_key)
                    .bind(update.stage.code())
                    .bind(update.at)
                    .bind(&update.by_name)
                    .bind(&update.body)
                    .fetch_one(&mut *tx)
                    .await?;
                    crate::audit::write_audit!(&mut *tx, audit);
                    tx.commit().await?;
                    Some(id)
                } else {
                    None
                }
            }
        });
        Ok(result)
    }

    pub async fn incident_updates(
        &self,
        incident_id: i64,
    ) -> StoreResult<Vec<IncidentUpdateRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, incident_id, update_key, stage, at, by_name, body FROM incident_updates \
                 WHERE incident_id = $1 ORDER BY id",
            )
            .bind(incident_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Records that `office_code` received the incident; a second acknowledgement of the same
    /// office writes nothing (false).
    pub async fn acknowledge_incident(
        &self,
        ack: &IncidentAckRecord,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        let done = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let existing: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM incident_acks WHERE incident_id = $1 AND office_code = $2",
            )
            .bind(ack.incident_id)
            .bind(ack.office_code.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if existing.is_some() {
                false
            } else {
                sqlx::query(
                    "INSERT INTO incident_acks (incident_id, office_code, at, by_name) VALUES ($1, $2, $3, $4)",
                )
                .bind(ack.incident_id)
                .bind(ack.office_code.as_str())
                .bind(ack.at)
                .bind(&ack.by_name)
                .execute(&mut *tx)
                .await?;
                crate::audit::write_audit!(&mut *tx, audit);
                tx.commit().await?;
                true
            }
        });
        Ok(done)
    }

    pub async fn incident_acks(&self, incident_ids: &[i64]) -> StoreResult<Vec<IncidentAckRecord>> {
        if incident_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = with_pool!(self, pool => {
            let mut builder = QueryBuilder::new(
                "SELECT id, incident_id, office_code, at, by_name FROM incident_acks WHERE incident_id IN ",
            );
            builder.push_list(incident_ids.iter().copied()).push(" ORDER BY id");
            builder.build_query_as().fetch_all(pool).await?
        });
        Ok(rows)
    }
}
