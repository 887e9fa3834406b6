//! Big-data push (大数据推送) on location pings: the analyses that find risk people in the mobile
//! network's pings and send them to the grids as leads — risk-area visitors, spatio-temporal
//! companions (时空伴随者) and e-fence breaches of people isolated at home.
//!
//! The pings are Parquet day files in the pings directory (`App::with_pings_dir`), read by the
//! kernels of the `fangkong-pings` crate on the blocking pool, one job at a time. Files of this
//! folder:
//! - `mod.rs`: the rules of a jurisdiction (policy), the pages' views and queries;
//! - `jobs.rs`: running one job — the kernel, then each person found becomes a push lead (the
//!   leads module's push path, idempotent by a key per finding; the health code's pop-up follows a
//!   push lead as for a pushed file) or, for a breach, a home-isolation alarm for the grid worker;
//!   the job's counters, results and audit record in one transaction;
//! - `pass.rs`: the automatic runs — a risk area designated, cases reported, a new day of pings;
//! - `ingest.rs`: an operator's feed imported into the day files, each ping checked as it is read
//!   against the designated areas and the home fences, so an alarm does not wait for a batch.

mod ingest;
mod jobs;
mod pass;

use std::path::PathBuf;

use fangkong_domain::analytics::{AnalyticsPolicy, ResultOutcome};
use fangkong_domain::role::Permission;
use fangkong_store::analytics::{JobRecord, PolicyRecord, ResultRecord};
use serde::Serialize;

pub use ingest::PingImportReport;

use crate::{Actor, App, AppError, AppResult, audit_record};

/// Jobs per page of the overview.
pub const JOBS_PER_PAGE: i64 = 100;
/// Results shown on a job's page (the counters give the totals).
pub const RESULTS_SHOWN: i64 = 500;

/// The overview page: the rules in force, what data there is, the jobs.
#[derive(Debug, Clone, Serialize)]
pub struct AnalyticsOverview {
    pub policy: AnalyticsPolicy,
    /// Where the rules come from (the region that set them), or '' for the default.
    pub policy_from: String,
    pub companion_words: String,
    pub fence_words: String,
    /// Day files present, as 'YYYY-MM-DD', and their pings.
    pub days: Vec<(String, u64)>,
    pub cells_mapped: i64,
    /// Whether this server was given a pings directory at all.
    pub has_pings: bool,
    pub jobs: Vec<JobView>,
    pub can_manage: bool,
}

/// A job as pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub id: i64,
    pub analysis: String,
    pub analysis_label: &'static str,
    pub trigger_label: &'static str,
    pub subject: String,
    pub region_code: String,
    pub rule_words: String,
    pub window: String,
    pub status: String,
    pub status_label: &'static str,
    pub failure: String,
    pub people_found: i64,
    pub rows_found: i64,
    pub leads_created: i64,
    pub leads_existed: i64,
    pub alarms_raised: i64,
    pub not_routable: i64,
    pub cases_without_pings: i64,
    /// How many people the job's findings reached (a lead or an alarm, new or already there).
    pub landed: i64,
    pub pings_decoded: i64,
    pub row_groups: String,
    pub seconds: String,
    pub started_at: String,
}

/// One person found, masked.
#[derive(Debug, Clone, Serialize)]
pub struct ResultView {
    pub phone_masked: String,
    pub region_code: String,
    pub detail: String,
    pub first_seen: String,
    pub last_seen: String,
    pub outcome_label: &'static str,
    pub lead_id: Option<i64>,
    pub alarm_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobDetail {
    pub job: JobView,
    pub results: Vec<ResultView>,
}

/// The policy form, as typed (minutes and hours, as people think of them).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct PolicyForm {
    pub cap_minutes: String,
    pub min_costay_minutes: String,
    #[serde(default)]
    pub continuous_costay: Option<String>,
    pub min_cell_stay_hours: String,
    pub lookback_days: String,
    pub infectious_days_before: String,
    pub fence_min_out_pings: String,
    pub fence_min_out_minutes: String,
    #[serde(default)]
    pub fence_neighbours_are_home: Option<String>,
}

impl PolicyForm {
    /// The typed policy, or the first field that is wrong, named.
    pub fn parse(&self) -> AppResult<AnalyticsPolicy> {
        let number = |raw: &str, what: &str| -> AppResult<i64> {
            raw.trim()
                .parse::<i64>()
                .map_err(|_| AppError::Invalid(format!("{what}应填写整数")))
        };
        let policy = AnalyticsPolicy {
            cap_seconds: number(&self.cap_minutes, "信令间隔上限（分钟）")? * 60,
            min_costay_seconds: number(&self.min_costay_minutes, "共同停留时长（分钟）")? * 60,
            continuous_costay: self.continuous_costay.is_some(),
            min_cell_stay_seconds: number(&self.min_cell_stay_hours, "累计停留时长（小时）")?
                * 3600,
            lookback_days: number(&self.lookback_days, "回溯天数")?,
            infectious_days_before: number(&self.infectious_days_before, "病例追溯天数")?,
            fence_min_out_pings: u32::try_from(number(
                &self.fence_min_out_pings,
                "越界连续信令数",
            )?)
            .map_err(|_| AppError::Invalid("越界连续信令数应为正整数".into()))?,
            fence_min_out_seconds: number(&self.fence_min_out_minutes, "越界时长（分钟）")? * 60,
            fence_neighbours_are_home: self.fence_neighbours_are_home.is_some(),
        };
        policy.check().map_err(AppError::Invalid)?;
        Ok(policy)
    }
}

pub(crate) fn policy_of(r: &PolicyRecord) -> AnalyticsPolicy {
    AnalyticsPolicy {
        cap_seconds: r.cap_seconds,
        min_costay_seconds: r.min_costay_seconds,
        continuous_costay: r.continuous_costay,
        min_cell_stay_seconds: r.min_cell_stay_seconds,
        lookback_days: r.lookback_days,
        infectious_days_before: r.infectious_days_before,
        fence_min_out_pings: u32::try_from(r.fence_min_out_pings).unwrap_or(1),
        fence_min_out_seconds: r.fence_min_out_seconds,
        fence_neighbours_are_home: r.fence_neighbours_home,
    }
}

/// Beijing time of a Unix second, to the minute.
pub(crate) fn beijing(at: i64) -> String {
    fangkong_domain::time::beijing_label(
        chrono::DateTime::from_timestamp(at, 0).unwrap_or_default(),
    )
}

/// The phone a ping's `person_id` stands for, masked (`138****5678`).
pub(crate) fn masked_number(person_id: i64) -> String {
    crate::population::mask_phone(Some(&person_id.to_string()))
}

fn job_view(j: &JobRecord) -> JobView {
    let landed = j.leads_created + j.leads_existed + j.alarms_raised;
    JobView {
        id: j.id,
        analysis: j.analysis.code().to_string(),
        analysis_label: j.analysis.label_zh(),
        trigger_label: j.job_trigger.label_zh(),
        subject: j.subject.clone(),
        region_code: j.region_code.to_string(),
        rule_words: j.rule_words.clone(),
        window: format!("{} 至 {}", beijing(j.window_from), beijing(j.window_to)),
        status: j.status.code().to_string(),
        status_label: j.status.label_zh(),
        failure: j.failure.clone(),
        people_found: j.people_found,
        rows_found: j.rows_found,
        leads_created: j.leads_created,
        leads_existed: j.leads_existed,
        alarms_raised: j.alarms_raised,
        not_routable: j.not_routable,
        cases_without_pings: j.cases_without_pings,
        landed,
        pings_decoded: j.pings_decoded,
        row_groups: format!("{} / {}", j.row_groups_read, j.row_groups_total),
        seconds: format!("{:.2}", j.millis as f64 / 1000.0),
        started_at: beijing(j.started_at),
    }
}

fn result_view(r: &ResultRecord) -> ResultView {
    ResultView {
        phone_masked: masked_number(r.person_id),
        region_code: r
            .region_code
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        detail: r.detail.clone(),
        first_seen: beijing(r.first_ts),
        last_seen: beijing(r.last_ts),
        outcome_label: r.outcome.map_or("", ResultOutcome::label_zh),
        lead_id: r.lead_id,
        alarm_id: r.alarm_id,
    }
}

impl App {
    /// Where this server keeps the pings (`None`: the big-data push is not set up here; the pages
    /// say so and the automatic runs do nothing).
    pub fn with_pings_dir(mut self, dir: PathBuf) -> App {
        self.pings_dir = Some(std::sync::Arc::new(dir));
        self
    }

    pub fn pings_dir(&self) -> Option<&std::path::Path> {
        self.pings_dir.as_deref().map(PathBuf::as_path)
    }

    /// The rules that apply in `region` (its own, else the nearest ancestor's, else the default),
    /// and where they come from ('' for the default).
    pub(crate) async fn analytics_policy_in(
        &self,
        region: &str,
    ) -> AppResult<(AnalyticsPolicy, String)> {
        let mut codes = Vec::new();
        let mut code = fangkong_domain::region::RegionCode::parse(region).ok();
        while let Some(c) = code {
            codes.push(c.as_str().to_string());
            code = c.parent();
        }
        Ok(match self.store.analytics_policy_of(&codes).await? {
            Some(r) => (policy_of(&r), r.region_code.to_string()),
            None => (AnalyticsPolicy::CHENGDU_2021, String::new()),
        })
    }

    /// The overview page of the actor's jurisdiction.
    pub async fn analytics_overview(&self, actor: &Actor) -> AppResult<AnalyticsOverview> {
        actor.require(Permission::ViewAnalytics)?;
        let (policy, policy_from) = self
            .analytics_policy_in(actor.jurisdiction.as_str())
            .await?;
        let range = actor.jurisdiction_range();
        let jobs = self
            .store
            .analytics_jobs((&range.0, &range.1), JOBS_PER_PAGE)
            .await?;
        let days = match self.pings_dir() {
            Some(dir) => {
                let dir = dir.to_path_buf();
                crate::blocking::run(crate::blocking::Heavy::FileReader, move || {
                    fangkong_pings::layout::list_days(&dir)
                })
                .await?
                .map_err(|e| AppError::Invalid(e.to_string()))?
                .into_iter()
                .map(|d| (beijing(d.day_start)[..10].to_string(), d.rows))
                .collect()
            }
            None => Vec::new(),
        };
        Ok(AnalyticsOverview {
            companion_words: policy.companion_words(),
            fence_words: policy.fence_words(),
            policy,
            policy_from,
            days,
            cells_mapped: self.store.ping_cell_count().await?,
            has_pings: self.pings_dir.is_some(),
            jobs: jobs.iter().map(job_view).collect(),
            can_manage: actor.role.allows(Permission::ManageAnalytics),
        })
    }

    /// One job with the people it found (masked), if it is the actor's jurisdiction's.
    pub async fn analytics_job(&self, actor: &Actor, id: i64) -> AppResult<JobDetail> {
        actor.require(Permission::ViewAnalytics)?;
        let job = self
            .store
            .analytics_job(id)
            .await?
            .filter(|j| actor.jurisdiction.contains(&j.region_code))
            .ok_or(AppError::NotFound("该分析任务"))?;
        let results = self.store.analytics_results(id, RESULTS_SHOWN).await?;
        Ok(JobDetail {
            job: job_view(&job),
            results: results.iter().map(result_view).collect(),
        })
    }

    /// Sets the rules of the actor's jurisdiction (audited in the same transaction).
    pub async fn set_analytics_policy(&self, actor: &Actor, form: &PolicyForm) -> AppResult<()> {
        actor.require(Permission::ManageAnalytics)?;
        let p = form.parse()?;
        let record = PolicyRecord {
            region_code: actor.jurisdiction.clone(),
            cap_seconds: p.cap_seconds,
            min_costay_seconds: p.min_costay_seconds,
            continuous_costay: p.continuous_costay,
            min_cell_stay_seconds: p.min_cell_stay_seconds,
            lookback_days: p.lookback_days,
            infectious_days_before: p.infectious_days_before,
            fence_min_out_pings: i64::from(p.fence_min_out_pings),
            fence_min_out_seconds: p.fence_min_out_seconds,
            fence_neighbours_home: p.fence_neighbours_are_home,
            updated_by: actor.username.clone(),
            updated_at: self.now_unix(),
        };
        let audit = audit_record(
            self,
            actor,
            "set_analytics_policy",
            format!("analytics_policy:{}", actor.jurisdiction),
            format!("{}；{}", p.companion_words(), p.fence_words()),
        );
        self.store.set_analytics_policy(&record, &audit).await?;
        Ok(())
    }
}
