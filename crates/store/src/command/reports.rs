//! Daily and zero reports (日报告、零报告): one row per office and day (the unique key makes a retry a
//! refusal, never a second row), corrections kept beside the original, and the system's figures of
//! an office's subtree for one day, counted from the rows at the cut-off (read once when a report is
//! prepared; the day's boundaries are the caller's).

use sqlx::AssertSqlSafe;

use fangkong_domain::command::reports::{Figure, Figures, ReportKind};
use fangkong_domain::region::RegionCode;

use crate::typed::{StoredCode, StoredRegion};
use crate::{AuditRecord, RegionRecord, Store, StoreResult, with_pool};

/// One office's report of one day. Figures are JSON `domain::command::reports::Figures`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct DailyReportRecord {
    pub id: i64,
    #[sqlx(try_from = "StoredRegion")]
    pub office_code: RegionCode,
    pub report_date: String,
    #[sqlx(try_from = "StoredCode<ReportKind>")]
    pub kind: ReportKind,
    pub figures: String,
    pub current_figures: String,
    pub system_figures: String,
    pub differences: String,
    pub difference_reason: String,
    pub note: String,
    pub due_at: i64,
    pub submitted_at: i64,
    pub late: bool,
    pub submitted_by: String,
    pub corrections: i64,
}

const REPORT_COLUMNS: &str = "id, office_code, report_date, kind, figures, current_figures, \
     system_figures, differences, difference_reason, note, due_at, submitted_at, late, submitted_by, \
     corrections";

/// A correction of a submitted report (误报更正): the figures before and after, and why.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ReportCorrectionRecord {
    pub id: i64,
    pub report_id: i64,
    pub corrected_at: i64,
    pub corrected_by: String,
    pub previous: String,
    pub figures: String,
    pub differences: String,
    pub reason: String,
}

/// The rows `daily_figures` reads: cases (kind, new, total), contacts and measures (what, count),
/// leads (received, landed).
type DayRows = (
    Vec<(String, i64, i64)>,
    Vec<(String, i64)>,
    Vec<(String, i64)>,
    (i64, i64),
);

impl Store {
    /// A new report and its audit record (target `daily_report:<id>`), in one transaction. A second
    /// report of the same office and day fails with a unique violation and writes nothing.
    pub async fn insert_daily_report(
        &self,
        report: &DailyReportRecord,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO daily_reports (office_code, report_date, kind, figures, current_figures, \
                 system_figures, differences, difference_reason, note, due_at, submitted_at, late, \
                 submitted_by, corrections) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0) RETURNING id",
            )
            .bind(report.office_code.as_str())
            .bind(&report.report_date)
            .bind(report.kind.code())
            .bind(&report.figures)
            .bind(&report.current_figures)
            .bind(&report.system_figures)
            .bind(&report.differences)
            .bind(&report.difference_reason)
            .bind(&report.note)
            .bind(report.due_at)
            .bind(report.submitted_at)
            .bind(report.late)
            .bind(&report.submitted_by)
            .fetch_one(&mut *tx)
            .await?;
            crate::audit::write_audit!(&mut *tx, audit, format!("daily_report:{id}"));
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn daily_report(
        &self,
        office_code: &str,
        report_date: &str,
    ) -> StoreResult<Option<DailyReportRecord>> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM daily_reports WHERE office_code = $1 AND report_date = $2"
        );
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(office_code)
                .bind(report_date)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// The reports of one day filed by offices in the code range, by office code.
    pub async fn daily_reports_in(
        &self,
        range: (&str, &str),
        report_date: &str,
    ) -> StoreResult<Vec<DailyReportRecord>> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM daily_reports WHERE report_date = $1 \
             AND office_code >= $2 AND office_code < $3 ORDER BY office_code"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(report_date)
                .bind(range.0)
                .bind(range.1)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Applies a correction: the report's current figures change only if no other correction came
    /// first (`corrections` still `expected`), and the correction row and its audit record
    /// (target `daily_report:<id>`) commit with it. False when another correction won the race.
    pub async fn correct_daily_report(
        &self,
        correction: &ReportCorrectionRecord,
        expected: i64,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        let done = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE daily_reports SET current_figures = $1, corrections = corrections + 1 \
                 WHERE id = $2 AND corrections = $3",
            )
            .bind(&correction.figures)
            .bind(correction.report_id)
            .bind(expected)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 1 {
                sqlx::query(
                    "INSERT INTO daily_report_corrections (report_id, corrected_at, corrected_by, \
                     previous, figures, differences, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(correction.report_id)
                .bind(correction.corrected_at)
                .bind(&correction.corrected_by)
                .bind(&correction.previous)
                .bind(&correction.figures)
                .bind(&correction.differences)
                .bind(&correction.reason)
                .execute(&mut *tx)
                .await?;
                crate::audit::write_audit!(&mut *tx, audit);
                tx.commit().await?;
                true
            } else {
                false
            }
        });
        Ok(done)
    }

    pub async fn daily_report_corrections(
        &self,
        report_id: i64,
    ) -> StoreResult<Vec<ReportCorrectionRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, report_id, corrected_at, corrected_by, previous, figures, differences, reason \
                 FROM daily_report_corrections WHERE report_id = $1 ORDER BY id",
            )
            .bind(report_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// The regions of the code range at levels up to `max_level` (0 province … 3 township): the
    /// command offices that file reports, by code.
    pub async fn report_offices_in(
        &self,
        range: (&str, &str),
        max_level: i64,
    ) -> StoreResult<Vec<RegionRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT code, name, level, parent_code, is_community FROM regions \
                 WHERE code >= $1 AND code < $2 AND level <= $3 ORDER BY code",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(max_level)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// The system's figures of the code range for the day `[from, to)` (unix seconds; `to` is the
    /// cut-off): cases found that day and before it by kind (excluded ones left out), close and
    /// secondary contacts recorded that day, people under a measure begun before the cut-off by
    /// where they are now (the rows keep no status history), leads received and landed that day.
    pub async fn daily_figures(
        &self,
        range: (&str, &str),
        from: i64,
        to: i64,
    ) -> StoreResult<Figures> {
        let (cases, contacts, measures, leads): DayRows = with_pool!(self, pool => {
            let cases = sqlx::query_as(
                "SELECT kind, CAST(SUM(CASE WHEN found_at >= $3 THEN 1 ELSE 0 END) AS BIGINT), COUNT(*) \
                 FROM cases WHERE region_code >= $1 AND region_code < $2 AND found_at < $4 \
                 AND status <> 'excluded' GROUP BY kind",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            let contacts = sqlx::query_as(
                "SELECT category, COUNT(*) FROM contacts WHERE case_region_code >= $1 \
                 AND case_region_code < $2 AND created_at >= $3 AND created_at < $4 GROUP BY category",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            let measures = sqlx::query_as(
                "SELECT status, COUNT(*) FROM isolation_measures WHERE grid_code >= $1 \
                 AND grid_code < $2 AND created_at < $3 \
                 AND status IN ('in_site', 'at_home', 'hospitalised') GROUP BY status",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(to)
            .fetch_all(pool)
            .await?;
            let leads = sqlx::query_as(
                "SELECT \
                 COUNT(CASE WHEN received_at >= $3 AND received_at < $4 THEN 1 END), \
                 COUNT(CASE WHEN status = 'controlled' AND closed_at >= $3 AND closed_at < $4 THEN 1 END) \
                 FROM leads WHERE grid_code >= $1 AND grid_code < $2",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(from)
            .bind(to)
            .fetch_one(pool)
            .await?;
            (cases, contacts, measures, leads)
        });
        let mut f = Figures::default();
        for (kind, new, total) in cases {
            let (new_figure, total_figure) = match kind.as_str() {
                "confirmed" => (Figure::NewConfirmed, Figure::TotalConfirmed),
                "asymptomatic" => (Figure::NewAsymptomatic, Figure::TotalAsymptomatic),
                "initial_screen_positive" => (Figure::NewInitialScreen, Figure::TotalInitialScreen),
                _ => continue,
            };
            f.set(new_figure, new);
            f.set(total_figure, total);
        }
        for (category, n) in contacts {
            match category.as_str() {
                "close" => f.set(Figure::NewCloseContacts, n),
                "secondary" => f.set(Figure::NewSecondaryContacts, n),
                _ => {}
            }
        }
        for (status, n) in measures {
            match status.as_str() {
                "in_site" => f.set(Figure::Centralised, n),
                "at_home" => f.set(Figure::AtHome, n),
                "hospitalised" => f.set(Figure::Hospitalised, n),
                _ => {}
            }
        }
        f.set(Figure::LeadsReceived, leads.0);
        f.set(Figure::LeadsLanded, leads.1);
        Ok(f)
    }
}
