//! The automatic runs (a background job, `jobs::jobs`): a risk area designated → its visitors;
//! cases reported → their companions over each case's own infectious window (the daily
//! incremental job); a day of pings complete → the e-fence breaches of that day. Each run is a job
//! with a subject unique per analysis, so whichever pass gets there first runs it, once.

use std::collections::{BTreeMap, HashMap};

use fangkong_domain::analytics::{Analysis, DAY_SECONDS, JobTrigger, infectious_window};
use fangkong_domain::person_event::CASE_REPORTED;
use fangkong_domain::phone::PhoneNumber;
use fangkong_domain::region::{RegionCode, RegionLevel};
use fangkong_pings::companions::CaseWindow;
use fangkong_pings::fence::HomeFence;
use fangkong_pings::visitors::AreaWindow;
use fangkong_store::analytics::{HomeMeasureRow, NewJob};

use super::beijing;
use super::jobs::{ANALYTICS_USER, JobInput, look_back_window};
use crate::{App, AppError, AppResult, EventCursor};

/// Where the case-event cursor of the companion runs is kept in `settings`.
const CASE_CURSOR_SETTING: &str = "analytics.case_cursor";

/// The county (区县) a region code lies in, or the code itself above that level.
fn county_of(code: &str) -> String {
    code.get(..6).unwrap_or(code).to_string()
}

/// The cells of a region: a grid's are its village's (the cell map stops at villages).
pub(crate) async fn cells_of_region(app: &App, region: &str) -> AppResult<Vec<i64>> {
    let code = RegionCode::parse(region).map_err(AppError::Invalid)?;
    let code = if code.level() == RegionLevel::Grid {
        code.parent().unwrap_or(code)
    } else {
        code
    };
    let (from, to) = code.subtree_range();
    Ok(app
        .store
        .ping_cells_in((&from, &to))
        .await?
        .into_iter()
        .map(|(cell, _)| cell)
        .collect())
}

/// A case's infectious window: from its onset (a Beijing date), else its first positive sample,
/// else when it was found; to when it was reported (taken away from others).
fn case_window(
    policy: &fangkong_domain::analytics::AnalyticsPolicy,
    onset_date: Option<&str>,
    first_positive_at: Option<i64>,
    found_at: i64,
    reported_at: Option<i64>,
    now: i64,
) -> (i64, i64) {
    let onset = onset_date
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp() - 8 * 3600)
        .or(first_positive_at)
        .unwrap_or(found_at);
    infectious_window(policy, onset, reported_at.unwrap_or(found_at), now)
}

/// Adds a case's window to a job's list: a window that ends before it starts (a case reported
/// before the look-back) is left out, and a phone listed already (two cases sharing a number, a
/// case reported again) widens its window instead of a second entry, which the kernel refuses.
/// True when the phone is in the list afterwards.
fn add_case(cases: &mut Vec<CaseWindow>, phone: i64, from: i64, to: i64) -> bool {
    if from >= to {
        return cases.iter().any(|c| c.person_id == phone);
    }
    match cases.iter_mut().find(|c| c.person_id == phone) {
        Some(known) => {
            known.from = known.from.min(from);
            known.to = known.to.max(to);
        }
        None => cases.push(CaseWindow {
            person_id: phone,
            from,
            to,
        }),
    }
    true
}

/// The operator's number of a phone (the pings' `person_id`).
pub(crate) fn person_id_of(phone: Option<&PhoneNumber>) -> Option<i64> {
    phone.and_then(|p| p.as_str().parse::<i64>().ok())
}

impl App {
    /// The home fences of people at home under a measure, each over `window(measure)`, and each
    /// fenced phone's measure: one fence per phone (two measures sharing a number: the first
    /// one's); the home cell is the first cell of the person's village, looked up once per grid
    /// (`home_cells` is kept by the caller across calls).
    pub(crate) async fn home_fences(
        &self,
        measures: &[&HomeMeasureRow],
        home_cells: &mut HashMap<String, Option<i64>>,
        window: impl Fn(&HomeMeasureRow) -> (i64, i64),
    ) -> AppResult<(Vec<HomeFence>, HashMap<i64, i64>)> {
        let mut fences = Vec::new();
        let mut measure_of = HashMap::new();
        for m in measures {
            let Some(phone) = person_id_of(m.phone.as_ref()) else {
                continue;
            };
            if measure_of.contains_key(&phone) {
                continue;
            }
            let home = match home_cells.get(&m.grid_code) {
                Some(cell) => *cell,
                None => {
                    let cell = cells_of_region(self, &m.grid_code).await?.first().copied();
                    home_cells.insert(m.grid_code.clone(), cell);
                    cell
                }
            };
            let Some(home_cell) = home else {
                continue;
            };
            let (from, to) = window(m);
            fences.push(HomeFence {
                person_id: phone,
                home_cell,
                from,
                to,
            });
            measure_of.insert(phone, m.id);
        }
        Ok((fences, measure_of))
    }

    /// The full job by hand: every case of the actor's jurisdiction found in the look-back, each
    /// over its infectious window (after a rule change, or to check the daily jobs). Returns the
    /// job, or `None` when there is nothing to run on (no pings directory, no case with a phone).
    pub async fn request_full_companion_job(&self, actor: &crate::Actor) -> AppResult<Option<i64>> {
        actor.require(fangkong_domain::role::Permission::ManageAnalytics)?;
        if self.pings_dir().is_none() {
            return Err(AppError::Invalid(
                "本服务器未配置位置数据目录（启动参数 --pings），无法分析".into(),
            ));
        }
        let region = actor.jurisdiction.as_str().to_string();
        let (policy, _) = self.analytics_policy_in(&region).await?;
        let now = self.now_unix();
        let window = look_back_window(&policy, now);
        let range = actor.jurisdiction_range();
        let mut cases = Vec::new();
        let mut case_numbers = HashMap::new();
        for c in self
            .store
            .cases_found_since((&range.0, &range.1), window.0)
            .await?
        {
            let Some(phone) = person_id_of(c.phone.as_ref()) else {
                continue;
            };
            let (from, to) = case_window(
                &policy,
                c.onset_date.as_deref(),
                c.first_positive_at,
                c.found_at,
                c.reported_at,
                now,
            );
            if add_case(&mut cases, phone, from, to) {
                case_numbers.insert(phone, c.case_number);
            }
        }
        if cases.is_empty() {
            return Err(AppError::Invalid(format!(
                "近 {} 天辖区内没有登记了手机号码的病例，无需分析",
                policy.lookback_days
            )));
        }
        let job = NewJob {
            analysis: Analysis::Companions,
            job_trigger: JobTrigger::Requested,
            subject: format!("requested:{region}:{now}"),
            region_code: region,
            rule_words: format!(
                "{}；病例 {} 例（全量）",
                policy.companion_words(),
                cases.len()
            ),
            window_from: window.0,
            window_to: window.1,
            started_at: now,
            created_by: actor.username.clone(),
        };
        let input = JobInput::Companions {
            cases,
            case_numbers,
            window,
        };
        self.run_analytics_job(job, input, policy).await
    }

    /// One pass of the automatic runs; nothing when this server has no pings directory or no day
    /// files yet. Each part is tried even when an earlier one failed; the first failure is returned.
    pub async fn try_run_analytics(&self) -> AppResult<()> {
        let Some(dir) = self.pings_dir().map(|d| d.to_path_buf()) else {
            return Ok(());
        };
        let days = crate::blocking::run(crate::blocking::Heavy::FileReader, move || {
            fangkong_pings::layout::list_days(&dir)
        })
        .await?
        .map_err(|e| AppError::Invalid(e.to_string()))?;
        if days.is_empty() {
            return Ok(());
        }
        let areas = self.run_area_visitors().await;
        let cases = self.run_case_companions().await;
        let now = self.now_unix();
        let complete: Vec<i64> = days
            .iter()
            .map(|d| d.day_start)
            .filter(|start| start + DAY_SECONDS <= now)
            .collect();
        let fences = self.run_day_fences(&complete).await;
        areas.and(cases).and(fences)
    }

    /// Visitors of each current risk area that has not had its job.
    async fn run_area_visitors(&self) -> AppResult<()> {
        let done = self
            .store
            .analytics_subjects(Analysis::RiskAreaVisitors.code(), "risk_area:")
            .await?;
        for area in self.store.risk_areas(("", "~"), false).await? {
            let subject = format!("risk_area:{}", area.id);
            if done.contains(&subject) {
                continue;
            }
            let (policy, _) = self.analytics_policy_in(area.region_code.as_str()).await?;
            let cells = cells_of_region(self, area.region_code.as_str()).await?;
            let window = (
                area.designated_at - policy.lookback_days * DAY_SECONDS,
                self.now_unix().max(area.designated_at),
            );
            let job = NewJob {
                analysis: Analysis::RiskAreaVisitors,
                job_trigger: JobTrigger::RiskAreaDesignated,
                subject,
                region_code: county_of(area.region_code.as_str()),
                rule_words: format!(
                    "{}（{}）所在网格 {} 个，{} 至 {} 出现过的号码",
                    area.place_name,
                    area.region_code,
                    cells.len(),
                    beijing(window.0),
                    beijing(window.1)
                ),
                window_from: window.0,
                window_to: window.1,
                started_at: self.now_unix(),
                created_by: ANALYTICS_USER.into(),
            };
            let input = JobInput::Visitors {
                area_id: area.id,
                area: AreaWindow {
                    cells,
                    from: window.0,
                    to: window.1,
                },
            };
            self.run_analytics_job(job, input, policy).await?;
        }
        Ok(())
    }

    /// Companions of the cases reported since the last pass, one job per county: each case over
    /// its own infectious window inside the look-back (the daily incremental job).
    async fn run_case_companions(&self) -> AppResult<()> {
        let mut cursor = EventCursor::new(CASE_CURSOR_SETTING, 500);
        while let Some(events) = cursor.next(self).await? {
            let reported: Vec<_> = events.iter().filter(|e| e.kind == CASE_REPORTED).collect();
            let (Some(first), Some(last)) = (events.first(), events.last()) else {
                continue;
            };
            let now = self.now_unix();
            let mut by_county: BTreeMap<String, (Vec<CaseWindow>, HashMap<i64, String>)> =
                BTreeMap::new();
            for event in reported {
                let Ok(detail) =
                    serde_json::from_str::<fangkong_domain::person_event::CaseEvent>(&event.detail)
                else {
                    continue;
                };
                let Some(case) = self.store.case(detail.case_id).await? else {
                    continue;
                };
                let Some(phone) = person_id_of(case.phone.as_ref()) else {
                    continue;
                };
                let (policy, _) = self.analytics_policy_in(case.region_code.as_str()).await?;
                let (from, to) = case_window(
                    &policy,
                    case.onset_date.as_deref(),
                    case.first_positive_at,
                    case.found_at,
                    case.reported_at,
                    now,
                );
                let entry = by_county.entry(county_of(&case.grid_code)).or_default();
                if add_case(&mut entry.0, phone, from, to) {
                    entry.1.insert(phone, case.case_number.clone());
                }
            }
            for (county, (cases, case_numbers)) in by_county {
                if cases.is_empty() {
                    continue;
                }
                let (policy, _) = self.analytics_policy_in(&county).await?;
                let window = look_back_window(&policy, now);
                let job = NewJob {
                    analysis: Analysis::Companions,
                    job_trigger: JobTrigger::CasesReported,
                    subject: format!("cases:{county}:{}-{}", first.id, last.id),
                    region_code: county,
                    rule_words: format!(
                        "{}；病例 {} 例，各按其传染期",
                        policy.companion_words(),
                        cases.len()
                    ),
                    window_from: window.0,
                    window_to: window.1,
                    started_at: now,
                    created_by: ANALYTICS_USER.into(),
                };
                let input = JobInput::Companions {
                    cases,
                    case_numbers,
                    window,
                };
                self.run_analytics_job(job, input, policy).await?;
            }
        }
        Ok(())
    }

    /// E-fence breaches of each complete day not yet checked, one job per county.
    async fn run_day_fences(&self, complete_days: &[i64]) -> AppResult<()> {
        let done = self
            .store
            .analytics_subjects(Analysis::FenceBreaches.code(), "day:")
            .await?;
        let measures = self.store.home_measures_with_phone(("", "~")).await?;
        let mut home_cells = HashMap::new();
        for &day in complete_days {
            let date = beijing(day)[..10].to_string();
            let mut by_county: BTreeMap<String, Vec<_>> = BTreeMap::new();
            for m in &measures {
                if m.status_since < day + DAY_SECONDS {
                    by_county
                        .entry(county_of(&m.grid_code))
                        .or_default()
                        .push(m);
                }
            }
            for (county, people) in by_county {
                let subject = format!("day:{date}:{county}");
                if done.contains(&subject) {
                    continue;
                }
                let (policy, _) = self.analytics_policy_in(&county).await?;
                let (fences, measure_of) = self
                    .home_fences(&people, &mut home_cells, |m| {
                        (m.status_since.max(day), day + DAY_SECONDS)
                    })
                    .await?;
                let job = NewJob {
                    analysis: Analysis::FenceBreaches,
                    job_trigger: JobTrigger::NewDayOfPings,
                    subject,
                    region_code: county,
                    rule_words: format!("{}；居家管控 {} 人", policy.fence_words(), fences.len()),
                    window_from: day,
                    window_to: day + DAY_SECONDS,
                    started_at: self.now_unix(),
                    created_by: ANALYTICS_USER.into(),
                };
                let input = JobInput::Fence {
                    fences,
                    measures: measure_of,
                };
                self.run_analytics_job(job, input, policy).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::add_case;

    #[test]
    fn a_case_window_is_added_once_per_phone_and_an_empty_one_is_left_out() {
        let mut cases = Vec::new();
        assert!(add_case(&mut cases, 13_900_000_001, 100, 200));
        // The same number again (a second case sharing the phone): one wider window.
        assert!(add_case(&mut cases, 13_900_000_001, 50, 150));
        // A window that ends before it starts: left out, and no entry made for a new number.
        assert!(!add_case(&mut cases, 13_900_000_002, 300, 300));
        assert_eq!(cases.len(), 1);
        assert_eq!((cases[0].from, cases[0].to), (50, 200));
    }
}
