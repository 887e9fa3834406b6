//! Incident reports (重大事项报告): the first report (首报) of an event by the office where it
//! happened, within the limit after the event (late ones flagged), follow-ups (续报) and the final
//! report (终报) by the same office, and each office above (县 → 市 → 省) recording when it received
//! it (收到), shown as a timeline per level. Lists are scoped by the office's code range.

use fangkong_domain::command::incidents::{self as rules, IncidentKind, IncidentStage};
use fangkong_domain::role::Permission;
use fangkong_store::command::incidents::{IncidentAckRecord, IncidentRecord, IncidentUpdateRecord};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::scope::load_within;
use crate::{Actor, App, AppError, AppResult, audit_record};

/// The setting holding the first report's limit in hours (default 2).
pub const FIRST_REPORT_HOURS_SETTING: &str = "command.incident_first_report_hours";

const PLACE_MAX: usize = 100;
const SUMMARY_MAX: usize = 2_000;
const KEY_MAX: usize = 64;
const LIST_LIMIT: i64 = 200;

/// A first report as typed.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct IncidentForm {
    pub kind: String,
    /// When it happened, `YYYY-MM-DD HH:MM` Beijing time.
    pub occurred_at: String,
    pub place: String,
    pub summary: String,
    /// The client's key: a retried submission files nothing twice.
    pub incident_key: String,
}

struct FileIncident {
    kind: IncidentKind,
    occurred_at: Option<chrono::DateTime<chrono::Utc>>,
    place: String,
    summary: String,
    key: String,
}

fn bounded(text: &str, label: &str, max: usize, required: bool) -> AppResult<String> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err(AppError::field(label, "请填写"));
    }
    if text.chars().count() > max {
        return Err(AppError::field(label, format!("最多{max}个字")));
    }
    Ok(text.to_string())
}

impl TryFrom<&IncidentForm> for FileIncident {
    type Error = AppError;
    fn try_from(form: &IncidentForm) -> AppResult<FileIncident> {
        let kind = IncidentKind::from_code(form.kind.trim())
            .ok_or_else(|| AppError::field("事项类别", "请选择"))?;
        if form.occurred_at.trim().is_empty() {
            return Err(AppError::field("发生时间", "请填写，如 2022-11-20 14:30"));
        }
        let occurred_at =
            fangkong_domain::time::parse_beijing_minute(&form.occurred_at, "发生时间")
                .map_err(AppError::Invalid)?;
        Ok(FileIncident {
            kind,
            occurred_at: Some(occurred_at),
            place: bounded(&form.place, "发生地点", PLACE_MAX, true)?,
            summary: bounded(&form.summary, "事件概要", SUMMARY_MAX, true)?,
            key: bounded(&form.incident_key, "提交编号", KEY_MAX, false)?,
        })
    }
}

/// One incident as lists show it.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    pub id: i64,
    pub office_code: String,
    pub office_name: String,
    pub kind: IncidentKind,
    pub occurred_at: i64,
    pub place: String,
    pub summary: String,
    pub filed_at: i64,
    pub filed_by: String,
    pub deadline: i64,
    /// 首报超时: filed after the deadline.
    pub overdue: bool,
    /// 续报超时: open with no report for too long.
    pub stale: bool,
    pub last_report_at: i64,
    pub closed_at: Option<i64>,
    /// How many offices above have acknowledged it, of how many.
    pub acknowledged: usize,
    pub receivers: usize,
}

/// One report of the incident's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentReportView {
    pub stage: IncidentStage,
    pub at: i64,
    pub by_name: String,
    pub body: String,
}

/// One office above, with when it received the incident (None: not yet).
#[derive(Debug, Clone, Serialize)]
pub struct ReceiptView {
    pub office_code: String,
    pub office_name: String,
    pub acknowledged_at: Option<i64>,
    pub by_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentDetail {
    pub incident: IncidentView,
    pub reports: Vec<IncidentReportView>,
    pub receipts: Vec<ReceiptView>,
    /// Whether the user's office is above the incident's and has not acknowledged it yet.
    pub can_acknowledge: bool,
    /// Whether the user's office filed it and it is open (follow-ups and closure).
    pub can_follow_up: bool,
}

fn sha_hex(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..12])
}

impl App {
    async fn first_report_hours(&self) -> AppResult<i64> {
        Ok(self
            .store
            .setting(FIRST_REPORT_HOURS_SETTING)
            .await?
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|h| (1..=72).contains(h))
            .unwrap_or(rules::DEFAULT_FIRST_REPORT_HOURS))
    }

    async fn incident_view(
        &self,
        record: IncidentRecord,
        acks: &[IncidentAckRecord],
    ) -> AppResult<IncidentView> {
        let office = &record.office_code;
        let receivers = rules::receiving_offices(office).len();
        let acknowledged = acks.iter().filter(|a| a.incident_id == record.id).count();
        Ok(IncidentView {
            office_name: self.region_name(office).await?,
            kind: record.kind,
            stale: rules::follow_up_stale(
                record.closed_at.is_some(),
                record.last_report_at,
                self.now_unix(),
                rules::DEFAULT_SILENCE_HOURS,
            ),
            id: record.id,
            office_code: record.office_code.into(),
            occurred_at: record.occurred_at,
            place: record.place,
            summary: record.summary,
            filed_at: record.filed_at,
            filed_by: record.filed_by,
            deadline: record.deadline,
            overdue: record.overdue,
            last_report_at: record.last_report_at,
            closed_at: record.closed_at,
            acknowledged,
            receivers,
        })
    }

    /// Files the first report of an event in the user's own office. Flagged overdue when filed
    /// later than the limit after the event; a retry (same key, or the same office, kind, time and
    /// place) answers the incident already filed. Returns its id.
    pub async fn file_incident(&self, actor: &Actor, form: &IncidentForm) -> AppResult<i64> {
        actor.require(Permission::FileReports)?;
        let command = FileIncident::try_from(form)?;
        if !fangkong_domain::command::reports::files_reports(actor.jurisdiction.level()) {
            return Err(AppError::Invalid(
                "您的管辖区域是村社区或网格，不是报送单位：重大事项由乡镇街道及以上报送".into(),
            ));
        }
        // Happened up to 7 days ago (a late first report is kept, and flagged), never ahead.
        let occurred_at = self.occurred_at(command.occurred_at, "发生时间", None)?;
        let hours = self.first_report_hours().await?;
        let now = self.now_unix();
        let office = actor.jurisdiction.clone();
        let key = if command.key.is_empty() {
            format!(
                "auto:{}",
                sha_hex(&format!(
                    "{office}|{}|{occurred_at}|{}",
                    command.kind.code(),
                    command.place
                ))
            )
        } else {
            format!("client:{office}:{}", command.key)
        };
        let overdue = rules::first_report_overdue(occurred_at, now, hours);
        let record = IncidentRecord {
            id: 0,
            incident_key: key,
            office_code: office,
            kind: command.kind,
            occurred_at,
            place: command.place,
            summary: command.summary,
            filed_at: now,
            filed_by: actor.display_name.clone(),
            deadline: rules::first_report_deadline(occurred_at, hours),
            overdue,
            last_report_at: now,
            closed_at: None,
        };
        let audit = audit_record(
            self,
            actor,
            "file_incident",
            "",
            format!(
                "首报：{}，{}{}",
                command.kind.label_zh(),
                record.place,
                if overdue { "（首报超时）" } else { "" }
            ),
        );
        let (id, _new) = self.store.insert_incident(&record, &audit).await?;
        Ok(id)
    }

    /// A follow-up (续报) or the final report (终报) of an incident the user's office filed.
    async fn add_incident_report(
        &self,
        actor: &Actor,
        id: i64,
        text: &str,
        stage: IncidentStage,
    ) -> AppResult<()> {
        actor.require(Permission::FileReports)?;
        let body = bounded(text, "报告内容", SUMMARY_MAX, true)?;
        let incident = load_within(actor, self.store.incident(id)).await?;
        if incident.office_code != actor.jurisdiction {
            return Err(AppError::Conflict(
                "续报和终报由首报单位报送，上级单位请点“收到”".into(),
            ));
        }
        rules::require_open(incident.closed_at).map_err(AppError::Conflict)?;
        let update = IncidentUpdateRecord {
            id: 0,
            incident_id: id,
            update_key: format!("{}:{}", stage.code(), sha_hex(&body)),
            stage,
            at: self.now_unix(),
            by_name: actor.display_name.clone(),
            body,
        };
        let action = match stage {
            IncidentStage::Final => "close_incident",
            _ => "follow_up_incident",
        };
        let audit = audit_record(
            self,
            actor,
            action,
            format!("incident:{id}"),
            stage.label_zh(),
        );
        match self
            .store
            .add_incident_update(&update, stage == IncidentStage::Final, &audit)
            .await?
        {
            Some(_) => Ok(()),
            None => Err(AppError::Conflict("该事项已终报，不能再续报".into())),
        }
    }

    pub async fn follow_up_incident(&self, actor: &Actor, id: i64, text: &str) -> AppResult<()> {
        self.add_incident_report(actor, id, text, IncidentStage::FollowUp)
            .await
    }

    pub async fn close_incident(&self, actor: &Actor, id: i64, text: &str) -> AppResult<()> {
        self.add_incident_report(actor, id, text, IncidentStage::Final)
            .await
    }

    /// The user's office (above the incident's) records that it received the incident (收到);
    /// a second time changes nothing.
    pub async fn acknowledge_incident(&self, actor: &Actor, id: i64) -> AppResult<()> {
        actor.require(Permission::ViewCommand)?;
        let incident = load_within(actor, self.store.incident(id)).await?;
        if !rules::receiving_offices(&incident.office_code).contains(&actor.jurisdiction) {
            return Err(AppError::Conflict(
                "“收到”由上级单位（县、市、省）确认，本单位的事项请续报".into(),
            ));
        }
        let ack = IncidentAckRecord {
            id: 0,
            incident_id: id,
            office_code: actor.jurisdiction.clone(),
            at: self.now_unix(),
            by_name: actor.display_name.clone(),
        };
        let audit = audit_record(
            self,
            actor,
            "acknowledge_incident",
            format!("incident:{id}"),
            format!("{}收到", self.region_name(&actor.jurisdiction).await?),
        );
        self.store.acknowledge_incident(&ack, &audit).await?;
        Ok(())
    }

    /// Incidents of the offices in the user's jurisdiction, newest first (at most 200).
    pub async fn incidents(&self, actor: &Actor) -> AppResult<Vec<IncidentView>> {
        actor.require(Permission::ViewCommand)?;
        self.incident_list(actor, false).await
    }

    async fn incident_list(&self, actor: &Actor, open_only: bool) -> AppResult<Vec<IncidentView>> {
        let (lower, upper) = actor.jurisdiction_range();
        let records = self
            .store
            .incidents_in((&lower, &upper), open_only, LIST_LIMIT)
            .await?;
        let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
        let acks = self.store.incident_acks(&ids).await?;
        let mut views = Vec::with_capacity(records.len());
        for record in records {
            views.push(self.incident_view(record, &acks).await?);
        }
        Ok(views)
    }

    /// For the late list (超时事项): open incidents in the jurisdiction whose first report came
    /// late or that have had no report for [`rules::DEFAULT_SILENCE_HOURS`] hours.
    pub async fn incidents_overdue(&self, actor: &Actor) -> AppResult<Vec<IncidentView>> {
        actor.require(Permission::ViewCommand)?;
        Ok(self
            .incident_list(actor, true)
            .await?
            .into_iter()
            .filter(|i| i.overdue || i.stale)
            .collect())
    }

    /// One incident with its reports and the receipt of each office above.
    pub async fn incident_detail(&self, actor: &Actor, id: i64) -> AppResult<IncidentDetail> {
        actor.require(Permission::ViewCommand)?;
        let record = load_within(actor, self.store.incident(id)).await?;
        let acks = self.store.incident_acks(&[id]).await?;
        let mut receipts = Vec::new();
        for above in rules::receiving_offices(&record.office_code) {
            let ack = acks.iter().find(|a| a.office_code == above);
            receipts.push(ReceiptView {
                office_name: self.region_name(&above).await?,
                office_code: above.as_str().to_string(),
                acknowledged_at: ack.map(|a| a.at),
                by_name: ack.map(|a| a.by_name.clone()).unwrap_or_default(),
            });
        }
        let can_acknowledge = receipts
            .iter()
            .any(|r| r.office_code == actor.jurisdiction.as_str() && r.acknowledged_at.is_none());
        let mut reports = vec![IncidentReportView {
            stage: IncidentStage::First,
            at: record.filed_at,
            by_name: record.filed_by.clone(),
            body: record.summary.clone(),
        }];
        reports.extend(self.store.incident_updates(id).await?.into_iter().map(|u| {
            IncidentReportView {
                stage: u.stage,
                at: u.at,
                by_name: u.by_name,
                body: u.body,
            }
        }));
        let incident = self.incident_view(record, &acks).await?;
        let can_follow_up = incident.closed_at.is_none()
            && incident.office_code == actor.jurisdiction.as_str()
            && actor.role.allows(Permission::FileReports);
        Ok(IncidentDetail {
            incident,
            reports,
            receipts,
            can_acknowledge,
            can_follow_up,
        })
    }
}
