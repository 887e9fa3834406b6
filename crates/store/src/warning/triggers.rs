//! Alerts (预警): raised once per signal (unique `evidence_key`), read per jurisdiction, closed by
//! their owner with the audit record in the same transaction; environment and cold-chain
//! positives entered by hand raise theirs in the report's transaction.

use fangkong_domain::region::RegionCode;
use fangkong_domain::warning::triggers::{AlertLevel, AlertStatus, SignalChannel};

use crate::typed::{StoredCode, StoredRegion};
use crate::{AuditRecord, Store, StoreResult, with_pool};

/// An alert to write (the domain's `NewAlert` in the store's words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertWrite {
    pub channel: SignalChannel,
    pub level: AlertLevel,
    pub region_code: String,
    pub evidence: String,
    pub evidence_key: String,
    pub resident_id: Option<i64>,
    pub raised_at: i64,
    pub deadline: i64,
    pub owner: String,
    pub proposes_switch: bool,
}

/// One alert as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct AlertRecord {
    pub id: i64,
    #[sqlx(try_from = "StoredCode<SignalChannel>")]
    pub channel: SignalChannel,
    #[sqlx(try_from = "StoredCode<AlertLevel>")]
    pub level: AlertLevel,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub evidence: String,
    pub raised_at: i64,
    pub deadline: i64,
    pub owner: String,
    pub proposes_switch: i64,
    #[sqlx(try_from = "StoredCode<AlertStatus>")]
    pub status: AlertStatus,
    pub closed_at: Option<i64>,
    pub closed_by: Option<String>,
    pub note: String,
}

/// A cold-chain or environment positive (冷链/环境阳性) as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentWrite {
    pub region_code: String,
    pub place: String,
    pub sample: String,
    pub detected_at: i64,
    pub reported_by: String,
    pub reported_at: i64,
}

/// Open and overdue alerts of a jurisdiction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct AlertCounts {
    pub open: i64,
    pub overdue: i64,
    pub red_open: i64,
    pub raised_today: i64,
}

const COLUMNS: &str = "id, channel, level, region_code, evidence, raised_at, deadline, owner, \
     proposes_switch, status, closed_at, closed_by, note";

/// Inside [`with_pool!`]: inserts alert `$alert` (an [`AlertWrite`]) under `$evidence_key` through
/// `$executor` unless an alert with that key exists; evaluates to the rows written (0 or 1).
macro_rules! insert_alert {
    ($executor:expr, $alert:expr, $evidence_key:expr) => {{
        let alert: &AlertWrite = $alert;
        sqlx::query(
            "INSERT INTO warning_alerts (channel, level, region_code, evidence, evidence_key, \
             resident_id, raised_at, deadline, owner, proposes_switch, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open') \
             ON CONFLICT (evidence_key) DO NOTHING",
        )
        .bind(alert.channel.code())
        .bind(alert.level.code())
        .bind(&alert.region_code)
        .bind(&alert.evidence)
        .bind($evidence_key)
        .bind(alert.resident_id)
        .bind(alert.raised_at)
        .bind(alert.deadline)
        .bind(&alert.owner)
        .bind(i64::from(alert.proposes_switch))
        .execute($executor)
        .await?
        .rows_affected()
    }};
}

impl Store {
    /// Raises each alert not raised before (by its evidence key); returns how many are new.
    pub async fn raise_alerts(&self, alerts: &[AlertWrite]) -> StoreResult<u64> {
        if alerts.is_empty() {
            return Ok(0);
        }
        let raised = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut raised = 0;
            for a in alerts {
                raised += insert_alert!(&mut *tx, a, &a.evidence_key);
            }
            tx.commit().await?;
            raised
        });
        Ok(raised)
    }

    /// Records an environment positive and raises its alert (`evidence_key` is filled in here:
    /// `environment:<id>`), with the audit record, in one transaction. Returns the alert's id.
    pub async fn report_environment_positive(
        &self,
        report: &EnvironmentWrite,
        alert: &AlertWrite,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let report_id: i64 = sqlx::query_scalar(
                "INSERT INTO environment_positives (region_code, place, sample, detected_at, \
                 reported_by, reported_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(&report.region_code)
            .bind(&report.place)
            .bind(&report.sample)
            .bind(report.detected_at)
            .bind(&report.reported_by)
            .bind(report.reported_at)
            .fetch_one(&mut *tx)
            .await?;
            let evidence_key = format!("environment:{report_id}");
            insert_alert!(&mut *tx, alert, &evidence_key);
            let alert_id: i64 = sqlx::query_scalar(
                "SELECT id FROM warning_alerts WHERE evidence_key = $1",
            )
            .bind(&evidence_key)
            .fetch_one(&mut *tx)
            .await?;
            crate::audit::write_audit!(&mut *tx, audit, format!("alert:{alert_id}"));
            tx.commit().await?;
            alert_id
        });
        Ok(id)
    }

    pub async fn alert(&self, id: i64) -> StoreResult<Option<AlertRecord>> {
        self.row_by(COLUMNS, "warning_alerts", "id", id).await
    }

    /// Alerts of the subtree `range`: the open ones first (earliest deadline first), then the
    /// closed ones newest first; `status` '' for every status.
    pub async fn alerts_in(
        &self,
        range: (&str, &str),
        status: &str,
        limit: i64,
    ) -> StoreResult<(Vec<AlertRecord>, i64)> {
        let sql = format!(
            "SELECT {COLUMNS} FROM warning_alerts WHERE region_code >= $1 AND region_code < $2 \
             AND ($3 = '' OR status = $3) \
             ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END, \
             CASE WHEN status = 'open' THEN deadline ELSE -raised_at END, id LIMIT $4"
        );
        let (rows, total) = with_pool!(self, pool => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(status)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM warning_alerts WHERE region_code >= $1 AND region_code < $2 \
                 AND ($3 = '' OR status = $3)",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(status)
            .fetch_one(pool)
            .await?;
            (rows, total)
        });
        Ok((rows, total))
    }

    /// Open alerts of the subtree past their deadline or due before `due_before`, earliest first.
    pub async fn alerts_due(
        &self,
        range: (&str, &str),
        due_before: i64,
        limit: i64,
    ) -> StoreResult<Vec<AlertRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM warning_alerts WHERE status = 'open' AND deadline <= $3 \
             AND region_code >= $1 AND region_code < $2 ORDER BY deadline, id LIMIT $4"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(due_before)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Open alerts of the subtree that propose switching to emergency, newest first.
    pub async fn switch_proposals(
        &self,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<AlertRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM warning_alerts WHERE status = 'open' AND proposes_switch = 1 \
             AND region_code >= $1 AND region_code < $2 ORDER BY raised_at DESC, id DESC LIMIT $3"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Counts for the picture: open, open past `now`, red open, raised since `day_start`.
    pub async fn alert_counts(
        &self,
        range: (&str, &str),
        now: i64,
        day_start: i64,
    ) -> StoreResult<AlertCounts> {
        let (open, overdue, red_open, raised_today): (i64, i64, i64, i64) = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT \
                   CAST(COALESCE(SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END), 0) AS BIGINT), \
                   CAST(COALESCE(SUM(CASE WHEN status = 'open' AND deadline < $3 THEN 1 ELSE 0 END), 0) AS BIGINT), \
                   CAST(COALESCE(SUM(CASE WHEN status = 'open' AND level = 'red' THEN 1 ELSE 0 END), 0) AS BIGINT), \
                   CAST(COALESCE(SUM(CASE WHEN raised_at >= $4 THEN 1 ELSE 0 END), 0) AS BIGINT) \
                 FROM warning_alerts WHERE region_code >= $1 AND region_code < $2 \
                 AND (status = 'open' OR raised_at >= $4)",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(now)
            .bind(day_start)
            .fetch_one(pool)
            .await?
        });
        Ok(AlertCounts {
            open,
            overdue,
            red_open,
            raised_today,
        })
    }

    /// Closes open alert `id` as `status` ('verified' | 'dismissed') with the note and the audit
    /// record; false when it was no longer open (nothing written).
    pub async fn close_alert(
        &self,
        id: i64,
        status: &str,
        note: &str,
        by: &str,
        at: i64,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE warning_alerts SET status = $1, note = $2, closed_by = $3, closed_at = $4 \
                 WHERE id = $5 AND status = 'open'",
            )
            .bind(status)
            .bind(note)
            .bind(by)
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if changed {
                crate::audit::write_audit!(&mut *tx, audit, format!("alert:{id}"));
                tx.commit().await?;
            }
            changed
        });
        Ok(changed)
    }

    /// A case's id, where it was found (`found_by`) and its region, for the trigger pass.
    pub async fn case_finding(&self, case_id: i64) -> StoreResult<Option<(String, String)>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as("SELECT found_by, region_code FROM cases WHERE id = $1")
                .bind(case_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// A registered person's key groups (`;`-joined codes; '' for none).
    pub async fn resident_key_groups(&self, resident_id: i64) -> StoreResult<String> {
        let groups: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT key_groups FROM residents WHERE id = $1")
                .bind(resident_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(groups.unwrap_or_default())
    }

    /// Leads pushed in from outside — incoming assistance letters (区域协查来函) and big-data
    /// pushes — with an id above `after`: (id, grid, received at). The trigger pass keeps the
    /// last id as its cursor.
    pub async fn assistance_leads_after(
        &self,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, String, i64)>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, grid_code, received_at FROM leads WHERE id > $1 \
                 AND channel IN ('assist_in', 'big_data_push') \
                 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An alert whose stored status was written by hand as a code no enum knows: reading it is an
    /// error naming the column and the code, not an alert with a made-up status.
    async fn an_unknown_stored_code_is_an_error_naming_the_column(store: &Store) {
        let alert = AlertWrite {
            channel: SignalChannel::SalesSpike,
            level: AlertLevel::Yellow,
            region_code: "130102".into(),
            evidence: "test".into(),
            evidence_key: "test:unknown-code".into(),
            resident_id: None,
            raised_at: 1,
            deadline: 2,
            owner: "130102".into(),
            proposes_switch: false,
        };
        assert_eq!(store.raise_alerts(&[alert]).await.unwrap(), 1);
        let (lower, upper) = ("130102", "130102:");
        let (rows, _) = store.alerts_in((lower, upper), "", 10).await.unwrap();
        let id = rows[0].id;
        assert_eq!(rows[0].status, AlertStatus::Open);
        assert_eq!(rows[0].region_code.as_str(), "130102");
        with_pool!(store, pool => {
            sqlx::query("UPDATE warning_alerts SET status = 'no_such_status' WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .unwrap();
        });
        let error = store.alert(id).await.unwrap_err().to_string();
        assert!(
            error.contains("status") && error.contains("no_such_status"),
            "{error}"
        );
        with_pool!(store, pool => {
            sqlx::query("UPDATE warning_alerts SET status = 'open', region_code = '13x' WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .unwrap();
        });
        let error = store.alert(id).await.unwrap_err().to_string();
        assert!(error.contains("region_code"), "{error}");
    }

    #[tokio::test]
    async fn a_stored_code_no_enum_knows_is_an_error_on_both_databases() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
        an_unknown_stored_code_is_an_error_naming_the_column(&store).await;
        store.close().await;
        if fangkong_testkit::postgres_url().is_some() {
            let database = fangkong_testkit::ScratchDatabase::create().await;
            let store = Store::open_postgres(database.url()).await.unwrap();
            an_unknown_stored_code_is_an_error_naming_the_column(&store).await;
            store.close().await;
        }
    }
}
