//! Running one job: the kernel over the day files on the blocking pool, then each person found
//! becomes work — a push lead routed to the person's grid, or for an e-fence breach a
//! home-isolation alarm — and the job's counters, results and audit record commit together.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use fangkong_domain::analytics::{Analysis, AnalyticsPolicy, DAY_SECONDS, ResultOutcome};
use fangkong_domain::leads::RiskCategory;
use fangkong_domain::phone::PhoneNumber;
use fangkong_domain::region::RegionCode;
use fangkong_pings::companions::{CaseWindow, CompanionRule};
use fangkong_pings::fence::{FenceRule, HomeFence};
use fangkong_pings::visitors::AreaWindow;
use fangkong_pings::{PingsError, ScanStats};
use fangkong_store::analytics::{JobCounters, NewJob, ResultRecord};
use fangkong_store::{AuditRecord, LeadRecord};

use super::{beijing, masked_number};
use crate::blocking::{Heavy, run};
use crate::leads::Finding;
use crate::{App, AppResult};

/// Who the automatic jobs run as (the audit log and the leads say 大数据分析（自动）).
pub(crate) const ANALYTICS_USER: &str = "analytics";

/// What a job is asked.
pub(crate) enum JobInput {
    /// A risk area's visitors: the area's id names the finding's key.
    Visitors { area_id: i64, area: AreaWindow },
    /// Companions of cases; `case_numbers` gives each case's phone the case number pages show.
    Companions {
        cases: Vec<CaseWindow>,
        case_numbers: HashMap<i64, String>,
        window: (i64, i64),
    },
    /// E-fence breaches; `measures` gives each fenced phone its measure.
    Fence {
        fences: Vec<HomeFence>,
        measures: HashMap<i64, i64>,
    },
}

/// One person found, as the kernels' rows are summed up for landing.
pub(crate) struct Found {
    pub person_id: i64,
    pub first_ts: i64,
    pub last_ts: i64,
    /// A cell the person was seen in (the village where a number not in the register is sent).
    pub cell: i64,
    pub detail: String,
    /// Names the finding, so running it again makes nothing new.
    pub key: String,
    /// For a breach: the measure whose alarm it raises.
    pub measure: Option<i64>,
}

/// What the kernel returned.
struct KernelAnswer {
    found: Vec<Found>,
    rows: i64,
    stats: ScanStats,
    cases_without_pings: i64,
}

pub(crate) fn companion_rule(p: &AnalyticsPolicy) -> CompanionRule {
    CompanionRule {
        cap_s: p.cap_seconds,
        min_costay_s: p.min_costay_seconds,
        continuous: p.continuous_costay,
        min_cell_stay_s: p.min_cell_stay_seconds,
    }
}

pub(crate) fn fence_rule(p: &AnalyticsPolicy) -> FenceRule {
    FenceRule {
        min_out_pings: p.fence_min_out_pings,
        min_out_seconds: p.fence_min_out_seconds,
        neighbours_are_home: p.fence_neighbours_are_home,
    }
}

/// The key of an e-fence alarm: one per measure and Beijing day, whether the batch job or the
/// ingest-time watch saw it first.
pub(crate) fn fence_key(measure: i64, at: i64) -> String {
    format!("fence:{measure}:{}", &beijing(at)[..10])
}

pub(crate) fn visit_key(area_id: i64, person_id: i64) -> String {
    format!("analytics:visit:{area_id}:{person_id}")
}

/// Runs the kernel (blocking, on the analytics pool's one permit).
fn kernel(
    dir: PathBuf,
    input: &JobInput,
    policy: &AnalyticsPolicy,
) -> Result<KernelAnswer, PingsError> {
    match input {
        JobInput::Visitors { area_id, area } => {
            let (rows, stats) = fangkong_pings::visitors::risk_area_visitors(&dir, area)?;
            let n = rows.len() as i64;
            let found = rows
                .into_iter()
                .map(|r| Found {
                    person_id: r.person_id,
                    first_ts: r.first_ts,
                    last_ts: r.last_ts,
                    cell: area.cells.first().copied().unwrap_or_default(),
                    detail: format!(
                        "{} 至 {} 在风险区域内出现 {} 次、{} 个网格",
                        beijing(r.first_ts),
                        beijing(r.last_ts),
                        r.n_pings,
                        r.n_cells
                    ),
                    key: visit_key(*area_id, r.person_id),
                    measure: None,
                })
                .collect();
            Ok(KernelAnswer {
                found,
                rows: n,
                stats,
                cases_without_pings: 0,
            })
        }
        JobInput::Companions {
            cases,
            case_numbers,
            window,
        } => {
            let run = fangkong_pings::companions::companions(
                &dir,
                cases,
                *window,
                &companion_rule(policy),
            )?;
            let n = run.rows.len() as i64;
            // One finding per person: the case and cell of the longest co-stay names it.
            let mut by_person: BTreeMap<i64, Vec<&fangkong_pings::companions::CompanionRow>> =
                BTreeMap::new();
            for row in &run.rows {
                by_person.entry(row.person_id).or_default().push(row);
            }
            let found = by_person
                .into_iter()
                .filter_map(|(person_id, rows)| {
                    let longest = rows.iter().max_by_key(|r| (r.total_ov_s, -r.case_id))?;
                    let first = rows.iter().map(|r| r.first_ov_start).min()?;
                    let case = case_numbers
                        .get(&longest.case_id)
                        .cloned()
                        .unwrap_or_else(|| masked_number(longest.case_id));
                    Some(Found {
                        person_id,
                        first_ts: first,
                        last_ts: longest.first_ov_start + longest.max_ov_s,
                        cell: longest.cell_id,
                        detail: format!(
                            "与病例 {case} 在网格 {} 共同停留累计 {} 分钟（最长连续 {} 分钟，{} 起）；涉及病例 {} 例",
                            longest.cell_id,
                            longest.total_ov_s / 60,
                            longest.max_ov_s / 60,
                            beijing(longest.first_ov_start),
                            rows.iter().map(|r| r.case_id).collect::<std::collections::BTreeSet<_>>().len()
                        ),
                        key: format!("analytics:companion:{}:{person_id}", longest.case_id),
                        measure: None,
                    })
                })
                .collect();
            Ok(KernelAnswer {
                found,
                rows: n,
                stats: run.stats,
                cases_without_pings: run.cases_without_pings.len() as i64,
            })
        }
        JobInput::Fence { fences, measures } => {
            let (rows, stats) =
                fangkong_pings::fence::fence_breaches(&dir, fences, &fence_rule(policy))?;
            let n = rows.len() as i64;
            let found = rows
                .into_iter()
                .filter_map(|r| {
                    let measure = *measures.get(&r.person_id)?;
                    Some(Found {
                        person_id: r.person_id,
                        first_ts: r.first_out_ts,
                        last_ts: r.last_out_ts,
                        cell: 0,
                        detail: format!(
                            "{} 至 {} 离开居住网格，信令 {} 条、{} 个网格",
                            beijing(r.first_out_ts),
                            beijing(r.last_out_ts),
                            r.n_out_pings,
                            r.n_out_cells
                        ),
                        key: fence_key(measure, r.first_out_ts),
                        measure: Some(measure),
                    })
                })
                .collect();
            Ok(KernelAnswer {
                found,
                rows: n,
                stats,
                cases_without_pings: 0,
            })
        }
    }
}

impl App {
    /// Runs one job: `None` when a job of that analysis and subject ran before (automatic runs
    /// happen once). A kernel that cannot read the pings fails the job with its words (the page
    /// shows them); the rest of the server goes on.
    pub(crate) async fn run_analytics_job(
        &self,
        job: NewJob,
        input: JobInput,
        policy: AnalyticsPolicy,
    ) -> AppResult<Option<i64>> {
        let Some(dir) = self.pings_dir().map(|d| d.to_path_buf()) else {
            return Ok(None);
        };
        let Some(id) = self.store.start_analytics_job(&job).await? else {
            return Ok(None);
        };
        let started = Instant::now();
        let analysis = job.analysis;
        let (answer, input) = run(Heavy::Analytics, move || {
            let answer = kernel(dir, &input, &policy);
            (answer, input)
        })
        .await?;
        drop(input);
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(job = id, error = %e, "analytics job failed");
                self.store
                    .fail_analytics_job(id, &e.to_string(), self.now_unix())
                    .await?;
                return Ok(Some(id));
            }
        };
        let (results, mut counters) = match analysis {
            Analysis::FenceBreaches => self.land_breaches(&answer.found).await?,
            kind => self.land_findings(kind, &job, &answer.found).await?,
        };
        counters.rows_found = answer.rows;
        counters.people_found = answer.found.len() as i64;
        counters.pings_decoded = answer.stats.pings_decoded as i64;
        counters.row_groups_read = answer.stats.row_groups_read as i64;
        counters.row_groups_total = answer.stats.row_groups_total as i64;
        counters.cases_without_pings = answer.cases_without_pings;
        counters.millis = started.elapsed().as_millis() as i64;
        let audit = AuditRecord {
            id: 0,
            at: self.now_unix(),
            user_id: None,
            username: job.created_by.clone(),
            action: "analytics_job".into(),
            target: format!("analytics_job:{id}"),
            detail: format!(
                "{}：{} 人，新线索 {}，已有线索 {}，越界报警 {}，无法派发 {}",
                analysis.label_zh(),
                counters.people_found,
                counters.leads_created,
                counters.leads_existed,
                counters.alarms_raised,
                counters.not_routable
            ),
            client_addr: String::new(),
        };
        self.store
            .finish_analytics_job(id, &counters, &results, self.now_unix(), &audit)
            .await?;
        Ok(Some(id))
    }

    /// Visitors and companions: each person a push lead (category 风险区域外溢 or 时空伴随者).
    pub(crate) async fn land_findings(
        &self,
        kind: Analysis,
        job: &NewJob,
        found: &[Found],
    ) -> AppResult<(Vec<ResultRecord>, JobCounters)> {
        let now = self.now_unix();
        let range = ("", "~");
        let cells: HashMap<i64, String> =
            self.store.ping_cells_in(range).await?.into_iter().collect();
        let (category, sender) = match kind {
            Analysis::Companions => (RiskCategory::Companion, "大数据推送·时空伴随分析"),
            _ => (
                RiskCategory::LeftHighRiskArea,
                "大数据推送·风险区域到访分析",
            ),
        };
        let mut counters = JobCounters::default();
        let mut results = Vec::with_capacity(found.len());
        // Leads are written in chunks, each one transaction with its push events.
        for chunk in found.chunks(500) {
            let mut leads: Vec<LeadRecord> = Vec::new();
            let mut rows: Vec<ResultRecord> = Vec::new();
            for f in chunk {
                let mut row = result_row(f);
                let phone = PhoneNumber::parse(&f.person_id.to_string()).ok();
                let lead = match phone {
                    Some(phone) => {
                        self.lead_of_finding(
                            &Finding {
                                phone,
                                seen_in: cells.get(&f.cell).cloned(),
                                category,
                                reason: f.detail.clone(),
                                sender: sender.into(),
                                source_key: f.key.clone(),
                                sender_region: job.region_code.clone(),
                            },
                            now,
                        )
                        .await?
                    }
                    None => None,
                };
                match lead {
                    Some(lead) => {
                        row.region_code = RegionCode::parse(&lead.grid_code).ok();
                        leads.push(lead);
                    }
                    None => {
                        row.outcome = Some(ResultOutcome::NotRoutable);
                        counters.not_routable += 1;
                    }
                }
                rows.push(row);
            }
            let ids = self.store.insert_leads(&leads).await?;
            let mut written = leads.iter().zip(ids);
            for row in rows.iter_mut() {
                if row.outcome == Some(ResultOutcome::NotRoutable) {
                    continue;
                }
                let Some((lead, id)) = written.next() else {
                    break;
                };
                match id {
                    Some(id) => {
                        row.outcome = Some(ResultOutcome::LeadCreated);
                        row.lead_id = Some(id);
                        counters.leads_created += 1;
                    }
                    None => {
                        row.outcome = Some(ResultOutcome::LeadExisted);
                        row.lead_id = match &lead.source_key {
                            Some(key) => self.store.lead_id_by_source_key(key).await?,
                            None => None,
                        };
                        counters.leads_existed += 1;
                    }
                }
            }
            results.extend(rows);
        }
        Ok((results, counters))
    }

    /// E-fence breaches: each a home-isolation alarm on the person's measure (the grid worker's
    /// today list and the late board show it as they show a door sensor's).
    pub(crate) async fn land_breaches(
        &self,
        found: &[Found],
    ) -> AppResult<(Vec<ResultRecord>, JobCounters)> {
        let now = self.now_unix();
        let mut counters = JobCounters::default();
        let mut results = Vec::with_capacity(found.len());
        for f in found {
            let mut row = result_row(f);
            let Some(measure) = f.measure else {
                row.outcome = Some(ResultOutcome::NotRoutable);
                counters.not_routable += 1;
                results.push(row);
                continue;
            };
            match self
                .store
                .insert_fence_alarm(measure, f.first_ts, now, &f.detail, &f.key)
                .await?
            {
                Some(id) => {
                    row.outcome = Some(ResultOutcome::AlarmRaised);
                    row.alarm_id = Some(id);
                    counters.alarms_raised += 1;
                }
                None => {
                    row.outcome = Some(ResultOutcome::AlarmExisted);
                    row.alarm_id = self.store.fence_alarm_by_key(&f.key).await?;
                    counters.alarms_raised += 1;
                }
            }
            results.push(row);
        }
        Ok((results, counters))
    }
}

fn result_row(f: &Found) -> ResultRecord {
    ResultRecord {
        id: 0,
        job_id: 0,
        person_id: f.person_id,
        region_code: None,
        detail: f.detail.clone(),
        first_ts: f.first_ts,
        last_ts: f.last_ts,
        outcome: None,
        lead_id: None,
        alarm_id: None,
    }
}

/// The 14 days (the policy's look-back) that end at `now`, whole Beijing days.
pub(crate) fn look_back_window(policy: &AnalyticsPolicy, now: i64) -> (i64, i64) {
    (now - policy.lookback_days * DAY_SECONDS, now)
}
