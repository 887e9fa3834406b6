//! An operator's feed of pings (CSV or Parquet) into the day files, and the ingest-time watch:
//! each ping is checked as it is read against the cells of the designated risk areas and the home
//! fences, so a visitor's lead or a breach's alarm is raised when the feed arrives, not at the
//! next day's batch (analytics.md §9). The batch jobs stay for history and for areas designated
//! later. Also the cell map (which village or community a cell covers).

use std::collections::HashMap;
use std::path::Path;

use fangkong_domain::analytics::{Analysis, DAY_SECONDS, JobTrigger};
use fangkong_domain::role::Permission;
use fangkong_pings::feed::FeedReport;
use fangkong_pings::visitors::AreaWindow;
use fangkong_pings::watch::{Watch, WatchHit};
use fangkong_store::analytics::{JobCounters, NewJob};
use rustc_hash::FxHashSet;
use serde::Serialize;

use super::beijing;
use super::jobs::{Found, fence_key, fence_rule, visit_key};
use super::pass::cells_of_region;
use crate::blocking::{Heavy, run};
use crate::{Actor, App, AppError, AppResult, audit_record};

/// At most this many watch hits are kept from one feed (an alarm per person and day is enough;
/// a feed that trips more than this is reported, not held).
const MAX_HITS: usize = 100_000;

/// What an import did, for the page and the API.
#[derive(Debug, Clone, Serialize)]
pub struct PingImportReport {
    pub rows_read: u64,
    pub written: u64,
    pub duplicates: u64,
    pub unknown_cells: u64,
    pub outside_window: u64,
    pub malformed: u64,
    pub first_problems: Vec<(u64, String)>,
    pub days: Vec<String>,
    /// People the watch caught at ingest: visitors of designated areas, breaches of home fences.
    pub area_visitors: usize,
    pub fence_breaches: usize,
    /// The job that recorded what the watch caught (its page lists them), when it caught anyone.
    pub watch_job: Option<i64>,
}

/// When a hit's ping was seen.
fn hit_ts(hit: &WatchHit) -> i64 {
    match hit {
        WatchHit::AreaVisit { ping, .. } | WatchHit::FenceBreach { ping, .. } => ping.ts,
    }
}

impl App {
    /// Imports a feed file into the day files, checking every ping against the watch as it is read.
    pub async fn import_pings(
        &self,
        actor: &Actor,
        path: &Path,
        file_name: &str,
    ) -> AppResult<PingImportReport> {
        actor.require(Permission::ManageAnalytics)?;
        let dir = self
            .pings_dir()
            .ok_or_else(|| {
                AppError::Invalid("本服务器未配置位置数据目录（启动参数 --pings）".into())
            })?
            .to_path_buf();
        let now = self.now_unix();
        let region = actor.jurisdiction.as_str().to_string();
        let (mut watch, areas, fences) = self.build_watch(&region, now).await?;
        let known: FxHashSet<i64> = self
            .store
            .ping_cells_in(("", "~"))
            .await?
            .into_iter()
            .map(|(cell, _)| cell)
            .collect();
        let source = path.to_path_buf();
        let (report, hits) = run(Heavy::Analytics, move || {
            let mut hits: Vec<WatchHit> = Vec::new();
            let known = (!known.is_empty()).then_some(&known);
            let report =
                fangkong_pings::feed::import_feed(&source, &dir, known, None, &mut |ping| {
                    if let Some(hit) = watch.check(ping)
                        && hits.len() < MAX_HITS
                    {
                        hits.push(hit);
                    }
                });
            (report, hits)
        })
        .await?;
        let report: FeedReport = report.map_err(|e| AppError::Invalid(e.to_string()))?;
        let (watch_job, area_visitors, fence_breaches) = self
            .land_watch_hits(&hits, &areas, &fences, &region, now)
            .await?;
        let audit = audit_record(
            self,
            actor,
            "import_pings",
            format!("pings:{file_name}"),
            format!(
                "{file_name}：读取 {} 条，写入 {}，重复 {}，未知网格 {}，时间越界 {}，格式错误 {}",
                report.rows_read,
                report.written,
                report.duplicates,
                report.unknown_cells,
                report.outside_window,
                report.malformed
            ),
        );
        self.store.insert_audit(&audit).await?;
        Ok(PingImportReport {
            rows_read: report.rows_read,
            written: report.written,
            duplicates: report.duplicates,
            unknown_cells: report.unknown_cells,
            outside_window: report.outside_window,
            malformed: report.malformed,
            first_problems: report.first_problems.clone(),
            days: report
                .days
                .iter()
                .map(|d| beijing(d.day_start)[..10].to_string())
                .collect(),
            area_visitors,
            fence_breaches,
            watch_job,
        })
    }

    /// The watch of this moment: the current risk areas' cells over their look-back window, and
    /// the home fences of people at home under a measure. Also returns the lookups to land hits.
    async fn build_watch(
        &self,
        region: &str,
        now: i64,
    ) -> AppResult<(Watch, HashMap<i64, String>, HashMap<i64, i64>)> {
        let mut areas = Vec::new();
        let mut area_names = HashMap::new();
        for area in self.store.risk_areas(("", "~"), false).await? {
            let (policy, _) = self.analytics_policy_in(area.region_code.as_str()).await?;
            let cells = cells_of_region(self, area.region_code.as_str()).await?;
            if cells.is_empty() {
                continue;
            }
            area_names.insert(area.id, area.region_code.to_string());
            areas.push((
                area.id,
                AreaWindow {
                    cells,
                    from: area.designated_at - policy.lookback_days * DAY_SECONDS,
                    to: i64::MAX,
                },
            ));
        }
        let (policy, _) = self.analytics_policy_in(region).await?;
        let at_home = self.store.home_measures_with_phone(("", "~")).await?;
        let at_home: Vec<_> = at_home.iter().collect();
        let (fences, measures) = self
            .home_fences(&at_home, &mut HashMap::new(), |m| {
                (m.status_since, now + 2 * DAY_SECONDS)
            })
            .await?;
        Ok((
            Watch::new(areas, fences, fence_rule(&policy)),
            area_names,
            measures,
        ))
    }

    /// What the watch caught becomes work at once: a job of trigger 新一天位置数据 records it (its
    /// page lists the people), visitors become push leads, breaches alarms.
    async fn land_watch_hits(
        &self,
        hits: &[WatchHit],
        areas: &HashMap<i64, String>,
        measures: &HashMap<i64, i64>,
        region: &str,
        now: i64,
    ) -> AppResult<(Option<i64>, usize, usize)> {
        let mut visitors: Vec<Found> = Vec::new();
        let mut breaches: Vec<Found> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for hit in hits {
            match hit {
                WatchHit::AreaVisit { area, ping } => {
                    if seen.insert(visit_key(*area, ping.person_id)) {
                        visitors.push(Found {
                            person_id: ping.person_id,
                            first_ts: ping.ts,
                            last_ts: ping.ts,
                            cell: ping.cell_id,
                            detail: format!(
                                "{} 在风险区域（{}）的网格 {} 出现（位置数据到达时发现）",
                                beijing(ping.ts),
                                areas.get(area).map_or("", String::as_str),
                                ping.cell_id
                            ),
                            key: visit_key(*area, ping.person_id),
                            measure: None,
                        });
                    }
                }
                WatchHit::FenceBreach {
                    ping, home_cell, ..
                } => {
                    let Some(&measure) = measures.get(&ping.person_id) else {
                        continue;
                    };
                    let key = fence_key(measure, ping.ts);
                    if seen.insert(key.clone()) {
                        breaches.push(Found {
                            person_id: ping.person_id,
                            first_ts: ping.ts,
                            last_ts: ping.ts,
                            cell: ping.cell_id,
                            detail: format!(
                                "{} 离开居住网格 {}，出现在网格 {}（位置数据到达时发现）",
                                beijing(ping.ts),
                                home_cell,
                                ping.cell_id
                            ),
                            key,
                            measure: Some(measure),
                        });
                    }
                }
            }
        }
        if visitors.is_empty() && breaches.is_empty() {
            return Ok((None, 0, 0));
        }
        let job = NewJob {
            analysis: if breaches.is_empty() {
                Analysis::RiskAreaVisitors
            } else {
                Analysis::FenceBreaches
            },
            job_trigger: JobTrigger::NewDayOfPings,
            subject: format!("watch:{now}:{}", hits.len()),
            region_code: region.to_string(),
            rule_words: "位置数据到达时逐条核查：已划定风险区域的网格、居家管控人员的居住网格"
                .into(),
            window_from: hits.iter().map(hit_ts).min().unwrap_or(now),
            window_to: hits.iter().map(hit_ts).max().unwrap_or(now),
            started_at: now,
            created_by: super::jobs::ANALYTICS_USER.into(),
        };
        let Some(id) = self.store.start_analytics_job(&job).await? else {
            return Ok((None, 0, 0));
        };
        let (mut results, mut counters) = self
            .land_findings(Analysis::RiskAreaVisitors, &job, &visitors)
            .await?;
        let (breach_results, breach_counters) = self.land_breaches(&breaches).await?;
        results.extend(breach_results);
        counters = JobCounters {
            alarms_raised: breach_counters.alarms_raised,
            not_routable: counters.not_routable + breach_counters.not_routable,
            rows_found: hits.len() as i64,
            people_found: (visitors.len() + breaches.len()) as i64,
            ..counters
        };
        let audit = fangkong_store::AuditRecord {
            id: 0,
            at: now,
            user_id: None,
            username: super::jobs::ANALYTICS_USER.into(),
            action: "analytics_job".into(),
            target: format!("analytics_job:{id}"),
            detail: format!(
                "位置数据到达时发现：风险区域到访 {} 人，电子围栏越界 {} 人",
                visitors.len(),
                breaches.len()
            ),
            client_addr: String::new(),
        };
        self.store
            .finish_analytics_job(id, &counters, &results, now, &audit)
            .await?;
        Ok((Some(id), visitors.len(), breaches.len()))
    }

    /// Loads the cell map from a CSV `cell_id,region_code` (the operator's cell plan joined to
    /// the divisions). Returns the cells written and the refused lines.
    pub async fn load_cell_map(
        &self,
        actor: &Actor,
        path: &Path,
    ) -> AppResult<(u64, Vec<(u64, String)>)> {
        actor.require(Permission::ManageAnalytics)?;
        let source = path.to_path_buf();
        let map = run(Heavy::FileReader, move || {
            fangkong_pings::cells::read_cell_map_report(&source)
        })
        .await?
        .map_err(|e| AppError::Invalid(e.to_string()))?;
        let (rows, problems) = (map.rows, map.first_problems);
        let mut written = 0;
        for chunk in rows.chunks(1000) {
            written += self.store.put_ping_cells(chunk).await?;
        }
        let audit = audit_record(
            self,
            actor,
            "load_cell_map",
            "ping_cells",
            format!("网格对照 {written} 条，问题 {} 行", map.bad_lines),
        );
        self.store.insert_audit(&audit).await?;
        Ok((written, problems))
    }
}
