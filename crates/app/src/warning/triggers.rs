//! Multi-point triggers (多点触发): the pass that turns signals from the sentinel channels into
//! alerts (person events — a sentinel's positive, an antigen positive, a positive pool, a key
//! group's positive, a case found at a fever clinic or pharmacy — pushed-in leads, and spikes of
//! fever visits or drug sales over their baseline), the alert lists, their verification, and the
//! cold-chain/environment positives entered by hand. Each signal raises one alert (its evidence
//! key), so a pass taken twice raises nothing twice.

use std::collections::BTreeMap;

use chrono::DateTime;
use fangkong_domain::person_event::{self, CaseEvent, SentinelEvent};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Permission;
use fangkong_domain::time::{beijing_date, beijing_label, beijing_midnight};
use fangkong_domain::warning::triggers::{self, AlertInput, AlertStatus, NewAlert, SignalChannel};
use fangkong_store::PersonEventRecord;
use fangkong_store::warning::triggers::{AlertCounts, AlertRecord, AlertWrite, EnvironmentWrite};
use serde::Serialize;

use crate::scope::load_within;
use crate::{Actor, App, AppError, AppResult, EventCursor, Page, audit_record};

/// The trigger pass's cursor over `person_events`.
pub const TRIGGER_CURSOR_SETTING: &str = "warning.event_cursor";
/// The trigger pass's cursor over pushed-in leads (the last lead id seen).
const LEAD_CURSOR_SETTING: &str = "warning.lead_cursor";
/// The longest list a page shows.
const ALERTS_PER_PAGE: i64 = 300;

/// An alert as pages show it (no personal data: the evidence names a place and a record).
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    pub id: i64,
    pub channel: &'static str,
    pub level: &'static str,
    pub level_label: &'static str,
    pub region_code: String,
    pub place: String,
    pub evidence: String,
    pub raised: String,
    pub deadline: String,
    /// "超时 3小时20分" / "还有 45分" for an open alert.
    pub lateness: String,
    pub late: bool,
    pub owner: String,
    pub action: String,
    pub proposes_switch: bool,
    pub open: bool,
    pub status_label: &'static str,
    pub note: String,
    pub closed: String,
}

/// The alerts of a jurisdiction: the list and the counts.
#[derive(Debug, Clone, Serialize)]
pub struct AlertList {
    pub alerts: Page<AlertView>,
    pub counts: AlertCounts,
    pub status: String,
}

/// A cold-chain or environment positive as typed (冷链/环境阳性).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct EnvironmentForm {
    pub region: String,
    pub place: String,
    pub sample: String,
}

/// An owner's decision on an alert, parsed before anything is read.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AlertDecisionForm {
    /// `verify` | `dismiss`.
    pub decision: String,
    pub note: String,
}

impl AlertDecisionForm {
    pub fn parse(&self) -> AppResult<AlertInput> {
        let note = self.note.clone();
        match self.decision.trim() {
            "verify" => Ok(AlertInput::Verify { note }),
            "dismiss" => Ok(AlertInput::Dismiss { note }),
            _ => Err(AppError::field("处理结果", "请选择“核实处置”或“排除”")),
        }
    }
}

fn label_at(at: i64) -> String {
    DateTime::from_timestamp(at, 0)
        .map(beijing_label)
        .unwrap_or_default()
}

pub(crate) fn alert_view(a: AlertRecord, place: String, now: i64) -> AlertView {
    let (channel, level, status) = (a.channel, a.level, a.status);
    let open = status == AlertStatus::Open;
    let lateness = fangkong_domain::command::late::Lateness::of(a.deadline, now);
    AlertView {
        id: a.id,
        channel: channel.label_zh(),
        level: level.code(),
        level_label: level.label_zh(),
        place,
        evidence: a.evidence,
        raised: label_at(a.raised_at),
        deadline: label_at(a.deadline),
        lateness: if open {
            lateness.words()
        } else {
            String::new()
        },
        late: open && now > a.deadline,
        owner: a.owner,
        action: triggers::rule(channel).action.clone(),
        proposes_switch: a.proposes_switch == 1,
        open,
        status_label: status.label_zh(),
        note: a.note,
        closed: a.closed_at.map(label_at).unwrap_or_default(),
        region_code: a.region_code.into(),
    }
}

pub(crate) fn write_of(alert: NewAlert) -> AlertWrite {
    AlertWrite {
        channel: alert.channel,
        level: alert.level,
        region_code: alert.region_code,
        evidence: alert.evidence,
        evidence_key: alert.evidence_key,
        resident_id: alert.resident_id,
        raised_at: alert.raised_at,
        deadline: alert.deadline,
        owner: alert.owner,
        proposes_switch: alert.proposes_switch,
    }
}

/// A signal about one person keys its alert by person, channel and Beijing day, so the two
/// sources that can tell of one patient (a clinic's own event, the case it became) raise one.
fn person_key(channel: SignalChannel, event: &PersonEventRecord, at: i64) -> String {
    let person = match event.resident_id {
        Some(id) => format!("resident:{id}"),
        None => format!("event:{}", event.id),
    };
    let day = DateTime::from_timestamp(at, 0)
        .map(beijing_date)
        .unwrap_or_default();
    format!("{}:{person}:{day}", channel.code())
}

/// The township a grid belongs to (a pool's members share a sampling site, not a grid).
fn township_of(code: &str) -> &str {
    code.get(..9).unwrap_or(code)
}

impl App {
    /// The trigger pass: new person events and pushed-in leads into alerts. Returns the alerts
    /// raised.
    pub async fn sync_warning_signals(&self) -> AppResult<u64> {
        let mut raised = 0;
        let mut cursor = EventCursor::new(TRIGGER_CURSOR_SETTING, 2_000);
        while let Some(events) = cursor.next(self).await? {
            let mut alerts = Vec::new();
            for event in &events {
                if let Some(alert) = self.alert_of_event(event).await? {
                    alerts.push(write_of(alert));
                }
            }
            raised += self.store.raise_alerts(&alerts).await?;
        }
        raised += self.sync_pushed_leads().await?;
        raised += self.sync_spikes().await?;
        Ok(raised)
    }

    async fn alert_of_event(&self, event: &PersonEventRecord) -> AppResult<Option<NewAlert>> {
        let source = person_event::source_words(&event.source);
        let alert = |channel, region: &str, evidence: String, key: String| {
            Some(triggers::alert_for(
                channel,
                region,
                evidence,
                key,
                event.resident_id,
                event.at,
            ))
        };
        Ok(match event.kind.as_str() {
            person_event::SENTINEL_POSITIVE => {
                let Ok(detail) = serde_json::from_str::<SentinelEvent>(&event.detail) else {
                    return Ok(None);
                };
                let Some(channel) = SignalChannel::from_code(&detail.channel) else {
                    return Ok(None);
                };
                if event.grid_code.is_empty() {
                    return Ok(None);
                }
                let evidence = format!(
                    "{}：{}（{}）",
                    detail.place,
                    channel.label_zh(),
                    person_event::source_words(&detail.record)
                );
                alert(
                    channel,
                    &event.grid_code,
                    evidence,
                    person_key(channel, event, detail.at),
                )
            }
            person_event::CASE_REPORTED => {
                let Ok(detail) = serde_json::from_str::<CaseEvent>(&event.detail) else {
                    return Ok(None);
                };
                let Some((found_by, region)) = self.store.case_finding(detail.case_id).await?
                else {
                    return Ok(None);
                };
                let channel = match found_by.as_str() {
                    "fever_clinic" => SignalChannel::FeverClinicPositive,
                    "pharmacy" => SignalChannel::PharmacyBuyerPositive,
                    _ => return Ok(None),
                };
                let evidence = format!("{}：病例 #{}", channel.label_zh(), detail.case_id);
                alert(
                    channel,
                    &region,
                    evidence,
                    person_key(channel, event, event.at),
                )
            }
            "antigen_positive" if !event.grid_code.is_empty() => {
                let channel = SignalChannel::AntigenPositive;
                let evidence = format!("抗原检测阳性（{source}），待核酸复核");
                alert(
                    channel,
                    &event.grid_code,
                    evidence,
                    person_key(channel, event, event.at),
                )
            }
            "pool_positive" if !event.grid_code.is_empty() => alert(
                SignalChannel::PoolPositive,
                township_of(&event.grid_code),
                format!("混管阳性（{source}），混管人员待单管复核"),
                format!("pool:{}", event.source),
            ),
            "single_positive" => {
                let Some(resident) = event.resident_id else {
                    return Ok(None);
                };
                let groups = self.store.resident_key_groups(resident).await?;
                let Some(group) = groups
                    .split(';')
                    .find_map(fangkong_domain::person::KeyGroup::from_code)
                else {
                    return Ok(None);
                };
                let channel = SignalChannel::KeyGroupPositive;
                let evidence = format!("{}常规检测阳性（{source}）", group.label_zh());
                alert(
                    channel,
                    &event.grid_code,
                    evidence,
                    person_key(channel, event, event.at),
                )
            }
            _ => None,
        })
    }

    /// Leads pushed in from outside (assistance letters, big-data pushes) raise one alert per
    /// township and Beijing day.
    async fn sync_pushed_leads(&self) -> AppResult<u64> {
        let after: i64 = self
            .store
            .setting(LEAD_CURSOR_SETTING)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let leads = self.store.assistance_leads_after(after, 5_000).await?;
        let Some(last) = leads.last().map(|l| l.0) else {
            return Ok(0);
        };
        let mut groups: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
        for (_, grid, received_at) in &leads {
            let day = DateTime::from_timestamp(*received_at, 0)
                .map(beijing_date)
                .unwrap_or_default()
                .to_string();
            let entry = groups
                .entry((township_of(grid).to_string(), day))
                .or_insert((0, *received_at));
            entry.0 += 1;
            entry.1 = entry.1.min(*received_at);
        }
        let alerts: Vec<AlertWrite> = groups
            .into_iter()
            .map(|((township, day), (n, first))| {
                write_of(triggers::alert_for(
                    SignalChannel::AssistancePush,
                    &township,
                    format!("{day} 收到区域协查/大数据推送线索（首批 {n} 条）"),
                    format!("assistance:{township}:{day}"),
                    None,
                    first,
                ))
            })
            .collect();
        let raised = self.store.raise_alerts(&alerts).await?;
        self.store
            .put_setting(LEAD_CURSOR_SETTING, &last.to_string())
            .await?;
        Ok(raised)
    }

    /// Spikes of fever visits and drug sales over their baseline, per region, today: two reads
    /// of the sentinels' day counters (never a count of visits or sales).
    async fn sync_spikes(&self) -> AppResult<u64> {
        let today = self.today();
        let days = [SignalChannel::FeverVisitSpike, SignalChannel::SalesSpike]
            .map(|c| triggers::rule(c).baseline_days.unwrap_or(7))
            .into_iter()
            .max()
            .unwrap_or(7);
        let since = (today - chrono::Duration::days(days)).to_string();
        let now = self.now_unix();
        let visits = self.store.fever_visit_day_counts("", &since).await?;
        let sales = self.store.pharmacy_sale_day_counts("", &since).await?;
        let mut alerts = spike_alerts(SignalChannel::FeverVisitSpike, &visits, today, now);
        alerts.extend(spike_alerts(SignalChannel::SalesSpike, &sales, today, now));
        Ok(self.store.raise_alerts(&alerts).await?)
    }

    /// The alerts of `region` (empty = the jurisdiction) with `status` ('' = all).
    pub async fn alerts(&self, actor: &Actor, region: &str, status: &str) -> AppResult<AlertList> {
        actor.require(Permission::ViewWarning)?;
        let code = self.warning_region(actor, region)?;
        let status = match status.trim() {
            "" => "",
            s => AlertStatus::from_code(s)
                .map(|s| s.code())
                .ok_or_else(|| AppError::field("状态", "请选择待核实、已核实处置或已排除"))?,
        };
        let range = code.subtree_range();
        let range = (range.0.as_str(), range.1.as_str());
        let (rows, total) = self.store.alerts_in(range, status, ALERTS_PER_PAGE).await?;
        let now = self.now_unix();
        let day_start = beijing_midnight(self.today()).timestamp();
        let counts = self.store.alert_counts(range, now, day_start).await?;
        let rows = self.alert_views(rows).await?;
        Ok(AlertList {
            alerts: Page::new(rows, total),
            counts,
            status: status.to_string(),
        })
    }

    pub(crate) async fn alert_views(&self, rows: Vec<AlertRecord>) -> AppResult<Vec<AlertView>> {
        let names = self
            .region_names(rows.iter().map(|a| a.region_code.to_string()))
            .await?;
        let now = self.now_unix();
        Ok(rows
            .into_iter()
            .map(|a| {
                let place = names
                    .get(a.region_code.as_str())
                    .cloned()
                    .unwrap_or_else(|| a.region_code.to_string());
                alert_view(a, place, now)
            })
            .collect())
    }

    /// Region names by code, for lists that show places.
    pub(crate) async fn region_names(
        &self,
        codes: impl Iterator<Item = String>,
    ) -> AppResult<BTreeMap<String, String>> {
        let mut codes: Vec<String> = codes.collect();
        codes.sort();
        codes.dedup();
        Ok(self
            .store
            .regions_by_codes(&codes)
            .await?
            .into_iter()
            .map(|r| (r.code, r.name))
            .collect())
    }

    pub async fn alert(&self, actor: &Actor, id: i64) -> AppResult<AlertView> {
        actor.require(Permission::ViewWarning)?;
        let record = load_within(actor, self.store.alert(id)).await?;
        Ok(self.alert_views(vec![record]).await?.remove(0))
    }

    /// Verifies or dismisses open alert `id`, with what was done or why.
    pub async fn decide_alert(
        &self,
        actor: &Actor,
        id: i64,
        form: &AlertDecisionForm,
    ) -> AppResult<()> {
        actor.require(Permission::RespondToWarnings)?;
        let input = form.parse()?;
        let record = load_within(actor, self.store.alert(id)).await?;
        let status = record.status;
        let now = self.now_unix();
        let change = triggers::transition(status, input, now).map_err(AppError::Conflict)?;
        let audit = audit_record(
            self,
            actor,
            "alert_close",
            format!("alert:{id}"),
            format!("{}：{}", change.status.label_zh(), change.note),
        );
        let closed = self
            .store
            .close_alert(
                id,
                change.status.code(),
                &change.note,
                &actor.username,
                now,
                &audit,
            )
            .await?;
        if !closed {
            return Err(AppError::Conflict("该预警已被他人处理".into()));
        }
        Ok(())
    }

    /// Records a cold-chain or environment positive and raises its alert; returns the alert.
    pub async fn report_environment_positive(
        &self,
        actor: &Actor,
        form: &EnvironmentForm,
    ) -> AppResult<i64> {
        actor.require(Permission::RespondToWarnings)?;
        let region =
            RegionCode::parse(form.region.trim()).map_err(|e| AppError::field("区划", e))?;
        actor.require_within(&region)?;
        let place = bounded(&form.place, "发现地点", 100)?;
        let sample = bounded(&form.sample, "样本（货品或环境）", 100)?;
        let now = self.now_unix();
        // The store keys the alert by the report it writes (`environment:<id>`).
        let alert = triggers::alert_for(
            SignalChannel::EnvironmentPositive,
            region.as_str(),
            format!("{place}：{sample} 核酸检测阳性"),
            String::new(),
            None,
            now,
        );
        let report = EnvironmentWrite {
            region_code: region.as_str().to_string(),
            place: place.clone(),
            sample,
            detected_at: now,
            reported_by: actor.username.clone(),
            reported_at: now,
        };
        let audit = audit_record(self, actor, "environment_positive", region.as_str(), place);
        Ok(self
            .store
            .report_environment_positive(&report, &write_of(alert), &audit)
            .await?)
    }

    /// The region a warning view asks for (empty = the jurisdiction), refused outside it.
    pub(crate) fn warning_region(&self, actor: &Actor, region: &str) -> AppResult<RegionCode> {
        let region = region.trim();
        let code = if region.is_empty() {
            actor.jurisdiction.clone()
        } else {
            RegionCode::parse(region).map_err(|e| AppError::field("区划", e))?
        };
        actor.require_within(&code)?;
        Ok(code)
    }
}

/// A required text field, trimmed, at most `max` characters.
pub(crate) fn bounded(text: &str, field: &str, max: usize) -> AppResult<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::field(field, "不能为空"));
    }
    if text.chars().count() > max {
        return Err(AppError::field(field, format!("不能超过 {max} 个字")));
    }
    Ok(text.to_string())
}

/// The spike alerts of `channel` over a sentinel's day counts (one row per region and Beijing
/// day): for each region, today's count against the rule's baseline days before it (a day without
/// a row counts zero). One alert per region and day (`spike:<channel>:<region>:<day>`).
pub(crate) fn spike_alerts(
    channel: SignalChannel,
    counts: &[fangkong_store::warning::DayCount],
    today: chrono::NaiveDate,
    now: i64,
) -> Vec<AlertWrite> {
    let days = triggers::rule(channel).baseline_days.unwrap_or(7);
    let mut by_region: BTreeMap<&str, BTreeMap<String, i64>> = BTreeMap::new();
    for c in counts {
        *by_region
            .entry(c.region_code.as_str())
            .or_default()
            .entry(c.day.clone())
            .or_default() += c.count;
    }
    let what = match channel {
        SignalChannel::SalesSpike => "“四类药品”销售",
        _ => "发热门诊就诊",
    };
    let today_key = today.to_string();
    by_region
        .into_iter()
        .filter_map(|(region, per_day)| {
            let now_count = per_day.get(&today_key).copied().unwrap_or(0);
            let baseline: Vec<i64> = (1..=days)
                .map(|back| {
                    let day = (today - chrono::Duration::days(back)).to_string();
                    per_day.get(&day).copied().unwrap_or(0)
                })
                .collect();
            let spike = triggers::spike(channel, now_count, &baseline)?;
            Some(write_of(triggers::alert_for(
                channel,
                region,
                spike.words(what),
                format!("spike:{}:{region}:{today_key}", channel.code()),
                None,
                now,
            )))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fangkong_domain::warning::triggers::AlertLevel;
    use fangkong_store::warning::DayCount;

    fn count(region: &str, day: &str, count: i64) -> DayCount {
        DayCount {
            region_code: region.into(),
            day: day.into(),
            count,
        }
    }

    #[test]
    fn a_region_whose_day_doubles_its_week_raises_one_spike_alert() {
        let today = chrono::NaiveDate::from_ymd_opt(2021, 1, 10).unwrap();
        let mut counts = Vec::new();
        for d in 3..=9 {
            counts.push(count("130109110", &format!("2021-01-{d:02}"), 10));
            counts.push(count("130109100", &format!("2021-01-{d:02}"), 10));
        }
        counts.push(count("130109110", "2021-01-10", 25));
        counts.push(count("130109100", "2021-01-10", 15));
        // A day eight days back is outside the baseline.
        counts.push(count("130109100", "2021-01-02", 1_000));
        let alerts = spike_alerts(SignalChannel::SalesSpike, &counts, today, 99);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let a = &alerts[0];
        assert_eq!(a.region_code, "130109110");
        assert_eq!(a.evidence_key, "spike:sales_spike:130109110:2021-01-10");
        assert!(
            a.evidence
                .contains("今日“四类药品”销售 25 人次，前期日均 10.00"),
            "{}",
            a.evidence
        );
        assert_eq!(a.level, AlertLevel::Yellow);
        // Fever visits: ratio 1.5, at least 10.
        let fever = spike_alerts(SignalChannel::FeverVisitSpike, &counts, today, 99);
        assert_eq!(fever.len(), 2, "{fever:?}");
    }
}
