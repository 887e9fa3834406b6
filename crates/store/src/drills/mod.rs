//! Drill runs and their measured steps (应急演练): what a drill played, when each step was due
//! and done, and the after-action report filed with the command office. The measuring queries
//! read the sandbox's own records of the drill window (cases, contacts, leads, measures,
//! transfers, incidents), so the same measurement scores simulated teams and people.

use fangkong_domain::drills::{DrillMode, DrillStep, DrillTeam, Observation, RunStatus, StepState};
use fangkong_domain::region::RegionCode;

use crate::typed::{StoredCode, StoredRegion};
use crate::{AuditRecord, Store, StoreResult, with_pool};

/// One drill run.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct DrillRunRecord {
    pub id: i64,
    pub run_key: String,
    pub scenario_name: String,
    pub scenario_title: String,
    pub scenario_json: String,
    #[sqlx(try_from = "StoredCode<DrillMode>")]
    pub mode: DrillMode,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub started_at: i64,
    pub ends_at: i64,
    #[sqlx(try_from = "StoredCode<RunStatus>")]
    pub status: RunStatus,
    pub measured_at: Option<i64>,
    pub score_tenths: Option<i64>,
    pub report_json: String,
    pub created_by: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// One measured item of a run.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct DrillStepRecord {
    pub id: i64,
    pub run_id: i64,
    #[sqlx(try_from = "StoredCode<DrillStep>")]
    pub step: DrillStep,
    #[sqlx(try_from = "StoredCode<DrillTeam>")]
    pub team: DrillTeam,
    pub subject: String,
    pub started_at: i64,
    pub due_at: i64,
    pub done_at: Option<i64>,
    #[sqlx(try_from = "StoredCode<StepState>")]
    pub state: StepState,
    pub late_minutes: i64,
    pub why: String,
}

/// A run's report as measured: the figures and every item.
pub struct DrillReportFiling<'a> {
    pub run_id: i64,
    pub measured_at: i64,
    pub score_tenths: Option<i64>,
    pub report_json: &'a str,
    /// Set when the run ends with this measure.
    pub finished_at: Option<i64>,
    pub steps: &'a [DrillStepRecord],
}

const RUN_COLUMNS: &str = "id, run_key, scenario_name, scenario_title, scenario_json, mode, \
    region_code, started_at, ends_at, status, measured_at, score_tenths, report_json, created_by, \
    created_at, finished_at";
const STEP_COLUMNS: &str =
    "id, run_id, step, team, subject, started_at, due_at, done_at, state, late_minutes, why";

#[derive(sqlx::FromRow)]
struct ObservedRow {
    subject: String,
    started_at: i64,
    done_at: Option<i64>,
}

/// The measuring queries, one per step: `$1..$2` the region subtree, `$3..$4` the window.
const OBSERVE: &[(DrillStep, &str)] = &[
    (
        DrillStep::PositiveToCase,
        "SELECT '病例 ' || case_number AS subject, first_positive_at AS started_at, \
         created_at AS done_at FROM cases WHERE region_code >= $1 AND region_code < $2 \
         AND found_at >= $3 AND found_at <= $4 AND first_positive_at IS NOT NULL",
    ),
    (
        DrillStep::CaseReport,
        "SELECT '病例 ' || case_number AS subject, found_at AS started_at, reported_at AS done_at \
         FROM cases WHERE region_code >= $1 AND region_code < $2 \
         AND found_at >= $3 AND found_at <= $4",
    ),
    (
        DrillStep::ContactsListed,
        "SELECT (CASE WHEN k.category = 'secondary' THEN '次密接#' ELSE '密接#' END) \
         || CAST(k.id AS TEXT) || '（病例 ' || c.case_number || '）' AS subject, \
         c.found_at AS started_at, k.created_at AS done_at \
         FROM contacts k JOIN cases c ON c.id = k.case_id \
         WHERE c.region_code >= $1 AND c.region_code < $2 \
         AND c.found_at >= $3 AND c.found_at <= $4 AND k.category IN ('close', 'secondary') \
         AND k.created_at <= $4",
    ),
    (
        DrillStep::LeadLanded,
        "SELECT '线索#' || CAST(id AS TEXT) AS subject, received_at AS started_at, \
         closed_at AS done_at FROM leads WHERE grid_code >= $1 AND grid_code < $2 \
         AND received_at >= $3 AND received_at <= $4 AND status <> 'letter_out'",
    ),
    (
        DrillStep::Transfer,
        "SELECT '管控#' || CAST(m.id AS TEXT) AS subject, m.created_at AS started_at, \
         MIN(t.created_at) AS done_at FROM isolation_measures m \
         LEFT JOIN transfer_riders r ON r.measure_id = m.id \
         LEFT JOIN transfers t ON t.id = r.transfer_id AND t.created_at <= $4 \
         WHERE m.grid_code >= $1 AND m.grid_code < $2 \
         AND m.created_at >= $3 AND m.created_at <= $4 \
         AND (m.centralised_end <> '' OR m.end_date = '') \
         GROUP BY m.id, m.created_at",
    ),
    (
        DrillStep::Room,
        "SELECT '管控#' || CAST(id AS TEXT) AS subject, created_at AS started_at, \
         (CASE WHEN checked_in_at <= $4 THEN checked_in_at END) AS done_at \
         FROM isolation_measures WHERE grid_code >= $1 AND grid_code < $2 \
         AND created_at >= $3 AND created_at <= $4 AND centralised_end <> ''",
    ),
];

impl Store {
    /// Records a run (idempotent by `run_key`: a retry returns the run already recorded).
    pub async fn insert_drill_run(
        &self,
        run: &DrillRunRecord,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO drill_runs (run_key, scenario_name, scenario_title, scenario_json, \
                 mode, region_code, started_at, ends_at, status, report_json, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'running', '', $9, $10) \
                 ON CONFLICT (run_key) DO NOTHING RETURNING id",
            )
            .bind(&run.run_key)
            .bind(&run.scenario_name)
            .bind(&run.scenario_title)
            .bind(&run.scenario_json)
            .bind(run.mode.code())
            .bind(run.region_code.as_str())
            .bind(run.started_at)
            .bind(run.ends_at)
            .bind(&run.created_by)
            .bind(run.created_at)
            .fetch_optional(&mut *tx)
            .await?;
            match inserted {
                Some(id) => {
                    crate::audit::write_audit!(&mut *tx, audit, format!("drill:{id}"));
                    tx.commit().await?;
                    id
                }
                None => {
                    sqlx::query_scalar("SELECT id FROM drill_runs WHERE run_key = $1")
                        .bind(&run.run_key)
                        .fetch_one(&mut *tx)
                        .await?
                }
            }
        });
        Ok(id)
    }

    /// Files a run's measured report: its items replace the earlier ones, its figures and score
    /// are written on the run (and, with `finished_at`, the run ends), with the audit record, in
    /// one transaction. False when the run does not exist or has already finished.
    pub async fn file_drill_report(
        &self,
        filing: &DrillReportFiling<'_>,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        let filed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE drill_runs SET measured_at = $1, score_tenths = $2, report_json = $3, \
                 status = (CASE WHEN $4 IS NULL THEN 'running' ELSE 'finished' END), \
                 finished_at = $4 WHERE id = $5 AND status = 'running'",
            )
            .bind(filing.measured_at)
            .bind(filing.score_tenths)
            .bind(filing.report_json)
            .bind(filing.finished_at)
            .bind(filing.run_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if changed {
                sqlx::query("DELETE FROM drill_steps WHERE run_id = $1")
                    .bind(filing.run_id)
                    .execute(&mut *tx)
                    .await?;
                for s in filing.steps {
                    sqlx::query(
                        "INSERT INTO drill_steps (run_id, step, team, subject, started_at, due_at, \
                         done_at, state, late_minutes, why) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(filing.run_id)
                    .bind(s.step.code())
                    .bind(s.team.code())
                    .bind(&s.subject)
                    .bind(s.started_at)
                    .bind(s.due_at)
                    .bind(s.done_at)
                    .bind(s.state.code())
                    .bind(s.late_minutes)
                    .bind(&s.why)
                    .execute(&mut *tx)
                    .await?;
                }
                crate::audit::write_audit!(&mut *tx, audit, format!("drill:{}", filing.run_id));
                tx.commit().await?;
            }
            changed
        });
        Ok(filed)
    }

    pub async fn drill_run(&self, id: i64) -> StoreResult<Option<DrillRunRecord>> {
        self.row_by(RUN_COLUMNS, "drill_runs", "id", id).await
    }

    /// The runs in the subtree `range`, newest first.
    pub async fn drill_runs_in(
        &self,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<DrillRunRecord>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM drill_runs WHERE region_code >= $1 AND region_code < $2 \
             ORDER BY id DESC LIMIT $3"
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

    /// A run's measured items, by step and start.
    pub async fn drill_steps(&self, run_id: i64) -> StoreResult<Vec<DrillStepRecord>> {
        let sql = format!(
            "SELECT {STEP_COLUMNS} FROM drill_steps WHERE run_id = $1 ORDER BY step, started_at, id"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(run_id).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// What the sandbox's records show of each step in the subtree `range` over the window
    /// `from..=to`: every case found, its contacts, every lead received, every person for a site
    /// or a hospital, and the county's first report after the first case.
    pub async fn drill_observations(
        &self,
        range: (&str, &str),
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<Observation>> {
        let mut out = Vec::new();
        for (step, sql) in OBSERVE {
            let rows: Vec<ObservedRow> = with_pool!(self, pool => {
                sqlx::query_as(*sql)
                    .bind(range.0)
                    .bind(range.1)
                    .bind(from)
                    .bind(to)
                    .fetch_all(pool)
                    .await?
            });
            out.extend(rows.into_iter().map(|r| Observation {
                step: *step,
                subject: r.subject,
                started_at: r.started_at,
                done_at: r.done_at.filter(|done| *done <= to),
            }));
        }
        // The first report: from the first case found to the first incident the county's offices
        // filed after it.
        let first: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT MIN(found_at) FROM cases WHERE region_code >= $1 AND region_code < $2 \
                 AND found_at >= $3 AND found_at <= $4",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(from)
            .bind(to)
            .fetch_one(pool)
            .await?
        });
        if let Some(first) = first {
            let filed: Option<i64> = with_pool!(self, pool => {
                sqlx::query_scalar(
                    "SELECT MIN(filed_at) FROM incidents WHERE office_code >= $1 \
                     AND office_code < $2 AND filed_at >= $3 AND filed_at <= $4",
                )
                .bind(range.0)
                .bind(range.1)
                .bind(first)
                .bind(to)
                .fetch_one(pool)
                .await?
            });
            out.push(Observation {
                step: DrillStep::FirstReport,
                subject: "疫情首报".into(),
                started_at: first,
                done_at: filed,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run written with a mode no `DrillMode` has (as an older or foreign writer could): reading
    /// it is an error that names the column and the code, not a run with a blank mode.
    async fn an_unknown_stored_mode_is_an_error_naming_the_column(store: &Store) {
        let id: i64 = with_pool!(store, pool => {
            sqlx::query_scalar(
                "INSERT INTO drill_runs (run_key, scenario_name, scenario_title, scenario_json, mode, \
                 region_code, started_at, ends_at, status, report_json, created_by, created_at) \
                 VALUES ('bad-mode', 'small', '', '', 'sleepwalking', '130102', 0, 3600, 'running', \
                 '', 'test', 0) RETURNING id",
            )
            .fetch_one(pool)
            .await
            .unwrap()
        });
        let error = store.drill_run(id).await.unwrap_err().to_string();
        assert!(
            error.contains("mode") && error.contains("sleepwalking") && error.contains("DrillMode"),
            "{error}"
        );
        let error = store
            .drill_runs_in(("13", "14"), 10)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("mode"), "{error}");
    }

    #[tokio::test]
    async fn a_drill_run_with_an_unknown_mode_does_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_dir(dir.path()).await.unwrap();
        an_unknown_stored_mode_is_an_error_naming_the_column(&store).await;
        if fangkong_testkit::postgres_url().is_some() {
            let database = fangkong_testkit::ScratchDatabase::create().await;
            let store = Store::open_postgres(database.url()).await.unwrap();
            an_unknown_stored_mode_is_an_error_naming_the_column(&store).await;
        }
    }
}
