//! Big-data push (see `app::analytics`): the map from 800 m cells to the region tree, each
//! jurisdiction's rules, the jobs that ran with their counters, and one row per person found with
//! what became of them. The pings are Parquet files beside the database, never rows here.

use fangkong_domain::analytics::{Analysis, JobStatus, JobTrigger, ResultOutcome};
use fangkong_domain::phone::PhoneNumber;
use fangkong_domain::region::RegionCode;
use sqlx::AssertSqlSafe;

use crate::typed::{
    StoredCode, StoredOptionalCode, StoredOptionalRegion, StoredPhone, StoredRegion,
};

use crate::audit::write_audit;
use crate::{AuditRecord, Store, StoreResult, with_pool};

/// A jurisdiction's rules (`domain::analytics::AnalyticsPolicy` as stored).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PolicyRecord {
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub cap_seconds: i64,
    pub min_costay_seconds: i64,
    pub continuous_costay: bool,
    pub min_cell_stay_seconds: i64,
    pub lookback_days: i64,
    pub infectious_days_before: i64,
    pub fence_min_out_pings: i64,
    pub fence_min_out_seconds: i64,
    pub fence_neighbours_home: bool,
    pub updated_by: String,
    pub updated_at: i64,
}

/// A job as stored, with its counters.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct JobRecord {
    pub id: i64,
    #[sqlx(try_from = "StoredCode<Analysis>")]
    pub analysis: Analysis,
    #[sqlx(try_from = "StoredCode<JobTrigger>")]
    pub job_trigger: JobTrigger,
    pub subject: String,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub rule_words: String,
    pub window_from: i64,
    pub window_to: i64,
    #[sqlx(try_from = "StoredCode<JobStatus>")]
    pub status: JobStatus,
    pub failure: String,
    pub rows_found: i64,
    pub people_found: i64,
    pub leads_created: i64,
    pub leads_existed: i64,
    pub alarms_raised: i64,
    pub not_routable: i64,
    pub pings_decoded: i64,
    pub row_groups_read: i64,
    pub row_groups_total: i64,
    pub cases_without_pings: i64,
    pub millis: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub created_by: String,
}

const JOB_COLUMNS: &str = "id, analysis, job_trigger, subject, region_code, rule_words, window_from, \
     window_to, status, failure, rows_found, people_found, leads_created, leads_existed, alarms_raised, \
     not_routable, pings_decoded, row_groups_read, row_groups_total, \
     cases_without_pings, millis, started_at, finished_at, created_by";

/// A job to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub analysis: Analysis,
    pub job_trigger: JobTrigger,
    pub subject: String,
    pub region_code: String,
    pub rule_words: String,
    pub window_from: i64,
    pub window_to: i64,
    pub started_at: i64,
    pub created_by: String,
}

/// What a finished job counted (the outcomes are counted from `results` by the caller).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounters {
    pub rows_found: i64,
    pub people_found: i64,
    pub leads_created: i64,
    pub leads_existed: i64,
    pub alarms_raised: i64,
    pub not_routable: i64,
    pub pings_decoded: i64,
    pub row_groups_read: i64,
    pub row_groups_total: i64,
    pub cases_without_pings: i64,
    pub millis: i64,
}

/// One person a job found. `person_id` is the operator's number (the phone as a number): shown
/// masked by the pages.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ResultRecord {
    pub id: i64,
    pub job_id: i64,
    pub person_id: i64,
    /// Where the finding was routed (the lead's grid); none when it was not routed to a region.
    #[sqlx(try_from = "StoredOptionalRegion")]
    pub region_code: Option<RegionCode>,
    pub detail: String,
    pub first_ts: i64,
    pub last_ts: i64,
    /// None until the job has decided (never stored so).
    #[sqlx(try_from = "StoredOptionalCode<ResultOutcome>")]
    pub outcome: Option<ResultOutcome>,
    pub lead_id: Option<i64>,
    pub alarm_id: Option<i64>,
}

impl Store {
    /// The rules of the nearest of `codes` (the jurisdiction and its ancestors, nearest first)
    /// that set its own.
    pub async fn analytics_policy_of(&self, codes: &[String]) -> StoreResult<Option<PolicyRecord>> {
        for code in codes {
            let found: Option<PolicyRecord> = with_pool!(self, pool => {
                sqlx::query_as("SELECT * FROM analytics_policies WHERE region_code = $1")
                    .bind(code)
                    .fetch_optional(pool)
                    .await?
            });
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Sets a jurisdiction's rules, with the audit record in the same transaction.
    pub async fn set_analytics_policy(
        &self,
        p: &PolicyRecord,
        audit: &AuditRecord,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO analytics_policies (region_code, cap_seconds, min_costay_seconds, \
                 continuous_costay, min_cell_stay_seconds, lookback_days, infectious_days_before, \
                 fence_min_out_pings, fence_min_out_seconds, fence_neighbours_home, updated_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                 ON CONFLICT (region_code) DO UPDATE SET cap_seconds = excluded.cap_seconds, \
                 min_costay_seconds = excluded.min_costay_seconds, continuous_costay = excluded.continuous_costay, \
                 min_cell_stay_seconds = excluded.min_cell_stay_seconds, lookback_days = excluded.lookback_days, \
                 infectious_days_before = excluded.infectious_days_before, \
                 fence_min_out_pings = excluded.fence_min_out_pings, fence_min_out_seconds = excluded.fence_min_out_seconds, \
                 fence_neighbours_home = excluded.fence_neighbours_home, updated_by = excluded.updated_by, \
                 updated_at = excluded.updated_at",
            )
            .bind(p.region_code.as_str())
            .bind(p.cap_seconds)
            .bind(p.min_costay_seconds)
            .bind(p.continuous_costay)
            .bind(p.min_cell_stay_seconds)
            .bind(p.lookback_days)
            .bind(p.infectious_days_before)
            .bind(p.fence_min_out_pings)
            .bind(p.fence_min_out_seconds)
            .bind(p.fence_neighbours_home)
            .bind(&p.updated_by)
            .bind(p.updated_at)
            .execute(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Loads the cell map (cell → village or community), replacing the cells given; returns how
    /// many rows it wrote. One transaction per call (callers send chunks).
    pub async fn put_ping_cells(&self, cells: &[(i64, String)]) -> StoreResult<u64> {
        let mut written = 0;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (cell, region) in cells {
                written += sqlx::query(
                    "INSERT INTO ping_cells (cell_id, region_code) VALUES ($1, $2) \
                     ON CONFLICT (cell_id) DO UPDATE SET region_code = excluded.region_code",
                )
                .bind(cell)
                .bind(region)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
        });
        Ok(written)
    }

    /// The cells that cover regions in `range` (a subtree), by cell.
    pub async fn ping_cells_in(&self, range: (&str, &str)) -> StoreResult<Vec<(i64, String)>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT cell_id, region_code FROM ping_cells \
                 WHERE region_code >= $1 AND region_code < $2 ORDER BY cell_id",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// How many cells the map holds.
    pub async fn ping_cell_count(&self) -> StoreResult<i64> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM ping_cells").fetch_one(pool).await?
        }))
    }

    /// Starts a job; `None` when a job of that analysis and subject exists already (an automatic
    /// run happens once, whoever's pass gets there first).
    pub async fn start_analytics_job(&self, job: &NewJob) -> StoreResult<Option<i64>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO analytics_jobs (analysis, job_trigger, subject, region_code, rule_words, \
                 window_from, window_to, status, started_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8, $9) \
                 ON CONFLICT (analysis, subject) DO NOTHING RETURNING id",
            )
            .bind(job.analysis.code())
            .bind(job.job_trigger.code())
            .bind(&job.subject)
            .bind(&job.region_code)
            .bind(&job.rule_words)
            .bind(job.window_from)
            .bind(job.window_to)
            .bind(job.started_at)
            .bind(&job.created_by)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Finishes a job: its results and counters and its audit record in one transaction.
    pub async fn finish_analytics_job(
        &self,
        id: i64,
        counters: &JobCounters,
        results: &[ResultRecord],
        finished_at: i64,
        audit: &AuditRecord,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for r in results {
                sqlx::query(
                    "INSERT INTO analytics_results (job_id, person_id, region_code, detail, first_ts, \
                     last_ts, outcome, lead_id, alarm_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (job_id, person_id) DO NOTHING",
                )
                .bind(id)
                .bind(r.person_id)
                .bind(r.region_code.as_ref().map_or("", RegionCode::as_str))
                .bind(&r.detail)
                .bind(r.first_ts)
                .bind(r.last_ts)
                .bind(r.outcome.map_or("", ResultOutcome::code))
                .bind(r.lead_id)
                .bind(r.alarm_id)
                .execute(&mut *tx)
                .await?;
            }
            let c = counters;
            sqlx::query(
                "UPDATE analytics_jobs SET status = 'finished', rows_found = $2, people_found = $3, \
                 leads_created = $4, leads_existed = $5, alarms_raised = $6, not_routable = $7, \
                 pings_decoded = $8, row_groups_read = $9, row_groups_total = $10, \
                 cases_without_pings = $11, millis = $12, finished_at = $13 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(c.rows_found)
            .bind(c.people_found)
            .bind(c.leads_created)
            .bind(c.leads_existed)
            .bind(c.alarms_raised)
            .bind(c.not_routable)
            .bind(c.pings_decoded)
            .bind(c.row_groups_read)
            .bind(c.row_groups_total)
            .bind(c.cases_without_pings)
            .bind(c.millis)
            .bind(finished_at)
            .execute(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit);
            tx.commit().await?;
        });
        Ok(())
    }

    /// A job that could not run: why, in words.
    pub async fn fail_analytics_job(&self, id: i64, why: &str, at: i64) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE analytics_jobs SET status = 'failed', failure = $2, finished_at = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(why)
            .bind(at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Jobs of regions in `range`, newest first.
    pub async fn analytics_jobs(
        &self,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<JobRecord>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM analytics_jobs WHERE region_code >= $1 AND region_code < $2 \
             ORDER BY started_at DESC, id DESC LIMIT $3"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql.as_str()))
                .bind(range.0)
                .bind(range.1)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    pub async fn analytics_job(&self, id: i64) -> StoreResult<Option<JobRecord>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM analytics_jobs WHERE id = $1");
        Ok(with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql.as_str()))
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The subjects of an analysis's jobs that start with `prefix` (which areas and days are done).
    pub async fn analytics_subjects(
        &self,
        analysis: &str,
        prefix: &str,
    ) -> StoreResult<Vec<String>> {
        let end = format!("{prefix}\u{10ffff}");
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT subject FROM analytics_jobs WHERE analysis = $1 AND subject >= $2 AND subject < $3",
            )
            .bind(analysis)
            .bind(prefix)
            .bind(&end)
            .fetch_all(pool)
            .await?
        }))
    }

    /// A job's results, by outcome then person.
    pub async fn analytics_results(
        &self,
        job_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<ResultRecord>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, job_id, person_id, region_code, detail, first_ts, last_ts, outcome, lead_id, \
                 alarm_id FROM analytics_results WHERE job_id = $1 ORDER BY outcome, person_id LIMIT $2",
            )
            .bind(job_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// An e-fence breach as a home-isolation alarm (like a door sensor's); `None` when the same
    /// breach raised one already (`source_key`).
    pub async fn insert_fence_alarm(
        &self,
        measure_id: i64,
        at: i64,
        received_at: i64,
        note: &str,
        source_key: &str,
    ) -> StoreResult<Option<i64>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO door_alarms (measure_id, device_id, kind, at, received_at, note, source_key) \
                 VALUES ($1, '电子围栏', 'e_fence', $2, $3, $4, $5) \
                 ON CONFLICT (source_key) DO NOTHING RETURNING id",
            )
            .bind(measure_id)
            .bind(at)
            .bind(received_at)
            .bind(note)
            .bind(source_key)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// The alarm a breach raised before (for a rerun's result row).
    pub async fn fence_alarm_by_key(&self, source_key: &str) -> StoreResult<Option<i64>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM door_alarms WHERE source_key = $1")
                .bind(source_key)
                .fetch_optional(pool)
                .await?
        }))
    }
}

/// A person isolated or monitored at home, for the e-fence: the measure, the phone and the grid.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HomeMeasureRow {
    pub id: i64,
    #[sqlx(try_from = "StoredPhone")]
    pub phone: Option<PhoneNumber>,
    pub grid_code: String,
    /// Since when the person is at home under the measure (Unix seconds).
    pub status_since: i64,
}

impl Store {
    /// Open home measures (居家隔离/健康监测) of grids in `range` with a phone.
    pub async fn home_measures_with_phone(
        &self,
        range: (&str, &str),
    ) -> StoreResult<Vec<HomeMeasureRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, phone, grid_code, status_since FROM isolation_measures \
                 WHERE status = 'at_home' AND phone <> '' AND grid_code >= $1 AND grid_code < $2 \
                 ORDER BY id",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        }))
    }
}

/// A case as the companion job needs it: who (the phone), its number, and the times its
/// infectious window comes from.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CaseTimesRow {
    #[sqlx(try_from = "StoredPhone")]
    pub phone: Option<PhoneNumber>,
    pub case_number: String,
    pub grid_code: String,
    pub region_code: String,
    pub onset_date: Option<String>,
    pub first_positive_at: Option<i64>,
    pub found_at: i64,
    pub reported_at: Option<i64>,
}

impl Store {
    /// Cases of grids in `range` found since `since` that have a phone (excluded cases left out).
    pub async fn cases_found_since(
        &self,
        range: (&str, &str),
        since: i64,
    ) -> StoreResult<Vec<CaseTimesRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT phone, case_number, grid_code, region_code, onset_date, first_positive_at, \
                 found_at, reported_at FROM cases WHERE grid_code >= $1 AND grid_code < $2 \
                 AND found_at >= $3 AND phone <> '' AND status <> 'excluded' ORDER BY id",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(since)
            .fetch_all(pool)
            .await?
        }))
    }
}
