//! Leads and 落地查人 (find every risk person on the ground within 24 hours).
//!
//! A lead arrives from one channel (`domain::leads::Channel`): a resident's self-report, a grid
//! worker's screening, an assistance letter in, a big-data push file, active screening, or an
//! investigation event (`close_contact` / `secondary_contact` in `person_events`). It is routed
//! to the grid of the person's address — the register first (ID number → resident → grid), else
//! the region code given — and lands in that grid's queue; a lead that would land outside the
//! sender's jurisdiction is refused, except an assistance letter out, which is addressed to
//! another region on purpose. The grid worker records the outcome: controlled with a measure
//! (a `lead_controlled` person event in the same transaction), not at this address (forwarded
//! inside the sender's reach, else an outgoing letter), or left the province (an outgoing letter).
//! Every lead has a 24-hour deadline from receipt; the command view counts overdue leads and the
//! 24-hour landing rate per child region.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use fangkong_domain::ids::IdType;
use fangkong_domain::leads::{
    Channel, ControlMeasure, LeadPerson, LeadStatus, OutcomeKind, PUSH_COLUMNS, RiskCategory,
    SenderScope, check_person, deadline_of, parse_beijing_time,
};
use fangkong_domain::person_event::{
    CLOSE_CONTACT, ContactEvent, LEAD_CONTROLLED, LeadControlledEvent, SECONDARY_CONTACT,
};
use fangkong_domain::region::{RegionCode, RegionLevel};
use fangkong_domain::role::Permission;
use fangkong_store::{
    ImportProblemRecord, LeadChange, LeadImportRecord, LeadQuery, LeadRecord, LeadStepRecord,
    PersonEventRecord, ResidentRecord, SearchField,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Records the lead pages show as they are.
pub use fangkong_store::{LeadImportRecord as LeadImportRun, LeadStepRecord as LeadStep};

use crate::import::{FileFormat, FileLine, ProblemLine, for_each_line};
use crate::population::{mask_document, mask_phone};
use crate::scope::load_within;
use crate::{Actor, App, AppError, AppResult, audit_by, china_offset, parse_region_code};

/// Rows per page of every lead list.
pub const LEADS_PER_PAGE: i64 = 50;
/// Where the investigation-event cursor is kept in `settings`.
const EVENT_CURSOR_SETTING: &str = "leads.event_cursor";
/// Region an investigation event goes to when it names neither a grid nor a registered person
/// (settable; Hebei by default): the lead waits there as 待分派.
pub const FALLBACK_REGION_SETTING: &str = "leads.fallback_region";
/// Header of the downloadable problem file: the push columns plus the reason.
pub const PROBLEM_COLUMN: &str = "问题说明";
/// Rows of a push file written per transaction.
const PUSH_ROWS_PER_CHUNK: usize = 1_000;

static EVENT_SYNC: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A lead as a staff member registers it (screening, assistance letter in or out, active
/// screening). Fields are the text typed; empty means not given.
#[derive(Clone, Default)]
pub struct LeadForm {
    /// `Channel::code()`: grid_screening, assist_in, assist_out or active_screening.
    pub channel: String,
    /// `RiskCategory::code()` (or its label); empty = other.
    pub category: String,
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub phone: String,
    pub address: String,
    /// Where the person lives when not in the register (a grid, village, township or county).
    pub region_code: String,
    pub reason: String,
    pub came_from: String,
    /// Beijing time "YYYY-MM-DD HH:MM".
    pub arrived_at: String,
    /// Incoming letter: who sent it, `SenderScope::code()`, its 协查函文号.
    pub sender: String,
    pub sender_scope: String,
    pub reference: String,
    /// Outgoing letter: the region it goes to (any valid statistical code) and its name.
    pub out_region: String,
    pub out_region_name: String,
}

/// A resident's report about themself (群众自报).
#[derive(Clone, Default)]
pub struct SelfReportForm {
    /// Used only when the account is not linked to a registered resident.
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub phone: String,
    pub address: String,
    pub region_code: String,
    /// Where from, when arrived, what contact with a case.
    pub came_from: String,
    pub arrived_at: String,
    pub category: String,
    pub contact_note: String,
}

/// The grid worker's outcome of a lead.
#[derive(Debug, Clone, Default)]
pub struct OutcomeForm {
    /// `OutcomeKind::code()`.
    pub kind: String,
    /// `ControlMeasure::code()` for a controlled person.
    pub measure: String,
    /// Where the person is: the region to forward to, or the region outside the province.
    pub region_code: String,
    pub note: String,
}

/// Filters of a lead list (all optional).
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub region: String,
    pub status: String,
    pub channel: String,
    pub overdue: bool,
    /// 1-based.
    pub page: i64,
}

/// A lead as pages and the API show it: ID number and phone masked unless revealed.
#[derive(Clone, Serialize)]
pub struct LeadView {
    pub id: i64,
    pub channel: String,
    pub channel_label: &'static str,
    pub category: String,
    pub category_label: &'static str,
    pub status: String,
    pub status_label: &'static str,
    pub open: bool,
    pub overdue: bool,
    pub name: String,
    pub id_type_label: String,
    pub id_number_masked: String,
    pub phone_masked: String,
    pub address: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub grid_name: String,
    pub reason: String,
    pub came_from: String,
    pub arrived_at: Option<i64>,
    pub sender: String,
    pub sender_scope_label: &'static str,
    pub reference: String,
    pub received_at: i64,
    pub deadline: i64,
    pub closed_at: Option<i64>,
    /// Closed by the deadline.
    pub in_time: bool,
    pub measure: String,
    pub measure_label: &'static str,
    pub out_region: String,
    pub out_note: String,
    pub created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Forms and views hold ID numbers and phones: their `Debug` shows none of the person's data.
macro_rules! masked_debug {
    ($name:ident, $($field:ident),*) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}
masked_debug!(LeadForm, channel, category);
masked_debug!(SelfReportForm, category);
masked_debug!(LeadView, id, channel, status, grid_code);

#[derive(Debug, Clone, Serialize)]
pub struct LeadDetail {
    pub lead: LeadView,
    pub steps: Vec<LeadStepRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeadListPage {
    pub region_code: String,
    pub region_name: String,
    pub rows: Vec<LeadView>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
}

/// Counts of one region of the command view.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegionLeadCounts {
    pub code: String,
    pub name: String,
    /// False for the line of leads queued at the region itself (not yet routed below it).
    pub drillable: bool,
    pub total: i64,
    pub pending: i64,
    pub unrouted: i64,
    pub controlled: i64,
    pub letter_out: i64,
    pub overdue: i64,
    /// Leads with a landing duty whose deadline passed or that are closed.
    pub due: i64,
    /// Of those, closed by the deadline.
    pub landed_in_time: i64,
}

impl RegionLeadCounts {
    /// The 24-hour landing rate in percent, when anything is due.
    pub fn rate(&self) -> Option<f64> {
        (self.due > 0).then(|| self.landed_in_time as f64 * 100.0 / self.due as f64)
    }

    pub fn rate_label(&self) -> String {
        self.rate()
            .map(|r| format!("{r:.1}%"))
            .unwrap_or_else(|| "—".into())
    }

    fn add(&mut self, row: &fangkong_store::LeadCountRow) {
        self.total += row.n;
        let status = LeadStatus::from_code(&row.status);
        match status {
            Some(LeadStatus::Pending) => self.pending += row.n,
            Some(LeadStatus::Unrouted) => self.unrouted += row.n,
            Some(LeadStatus::Controlled) => self.controlled += row.n,
            Some(LeadStatus::LetterOut) => self.letter_out += row.n,
            None => {}
        }
        let open = status.is_some_and(LeadStatus::is_open);
        if open {
            self.overdue += row.past_deadline;
        }
        // A letter we send out carries no landing duty of ours.
        if row.channel != Channel::AssistOut.code() {
            self.due += if open { row.past_deadline } else { row.n };
            self.landed_in_time += row.in_time;
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LeadOverview {
    pub region_code: String,
    pub region_name: String,
    pub total: RegionLeadCounts,
    pub children: Vec<RegionLeadCounts>,
    /// (code, label, count)
    pub by_status: Vec<(String, &'static str, i64)>,
    pub by_channel: Vec<(String, &'static str, i64)>,
    /// (code, label, open, overdue)
    pub open_by_channel: Vec<(String, &'static str, i64, i64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeadImportReport {
    pub import_id: i64,
    pub rows_total: i64,
    pub inserted: i64,
    pub unchanged: i64,
    pub problem_rows: i64,
    pub problems: Vec<ProblemLine>,
    /// When a crash cut the import short (found by [`App::mark_interrupted_runs`]): the counts
    /// are what it had committed.
    pub interrupted_at: Option<i64>,
}

/// Where a lead goes.
struct Route {
    grid_code: String,
    status: LeadStatus,
    resident_id: Option<i64>,
    /// The registered person found (fills in a name, phone or address the sender left out).
    resident: Option<ResidentRecord>,
}

fn invalid(problems: Vec<fangkong_domain::leads::LeadProblem>) -> AppError {
    AppError::Invalid(
        problems
            .iter()
            .map(|p| format!("{}：{}", p.column, p.message))
            .collect::<Vec<_>>()
            .join("；"),
    )
}

fn optional_time(raw: &str, label: &str) -> AppResult<Option<i64>> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    parse_beijing_time(raw)
        .map(Some)
        .map_err(|e| AppError::Invalid(format!("{label}：{e}")))
}

fn text(raw: &str, max: usize) -> String {
    raw.trim().chars().take(max).collect()
}

/// The county (6 digits) of a queue code, or the code itself when shorter.
fn county_of(code: &str) -> String {
    code.chars().take(6).collect()
}

fn label_or_empty<T: Copy>(
    code: &str,
    parse: impl Fn(&str) -> Option<T>,
    label: impl Fn(T) -> &'static str,
) -> &'static str {
    parse(code).map(label).unwrap_or("")
}

pub(crate) fn view_of(lead: &LeadRecord, now: i64, grid_name: String, reveal: bool) -> LeadView {
    let status = LeadStatus::from_code(&lead.status);
    let open = status.is_some_and(LeadStatus::is_open);
    let document = !lead.id_number.is_empty();
    LeadView {
        id: lead.id,
        channel: lead.channel.clone(),
        channel_label: label_or_empty(&lead.channel, Channel::from_code, Channel::label_zh),
        category: lead.category.clone(),
        category_label: label_or_empty(
            &lead.category,
            RiskCategory::from_code,
            RiskCategory::label_zh,
        ),
        status: lead.status.clone(),
        status_label: status.map(LeadStatus::label_zh).unwrap_or(""),
        open,
        overdue: open && lead.deadline <= now,
        name: lead.name.clone(),
        id_type_label: if document {
            IdType::parse(&lead.id_type)
                .map(|t| t.label_zh().to_string())
                .unwrap_or_default()
        } else {
            String::new()
        },
        id_number_masked: if document {
            mask_document(&lead.id_type, &lead.id_number)
        } else {
            String::new()
        },
        phone_masked: mask_phone(
            Some(&lead.phone)
                .filter(|p| !p.is_empty())
                .map(|p| p.as_str()),
        ),
        address: lead.address.clone(),
        resident_id: lead.resident_id,
        grid_code: lead.grid_code.clone(),
        grid_name,
        reason: lead.reason.clone(),
        came_from: lead.came_from.clone(),
        arrived_at: lead.arrived_at,
        sender: lead.sender.clone(),
        sender_scope_label: label_or_empty(
            &lead.sender_scope,
            SenderScope::from_code,
            SenderScope::label_zh,
        ),
        reference: lead.reference.clone(),
        received_at: lead.received_at,
        deadline: lead.deadline,
        closed_at: lead.closed_at,
        in_time: lead.closed_at.is_some_and(|c| c <= lead.deadline),
        measure: lead.measure.clone(),
        measure_label: ControlMeasure::parse(&lead.measure)
            .map(ControlMeasure::label_zh)
            .unwrap_or(""),
        out_region: lead.out_region.clone(),
        out_note: lead.out_note.clone(),
        created_by: lead.created_by.clone(),
        id_number: (reveal && document).then(|| lead.id_number.clone()),
        phone: (reveal && !lead.phone.is_empty()).then(|| lead.phone.clone()),
    }
}

/// A new lead's record before routing fills in the queue.
fn blank_lead(channel: Channel, category: RiskCategory, person: &LeadPerson) -> LeadRecord {
    LeadRecord {
        id: 0,
        channel: channel.code().into(),
        category: category.code().into(),
        status: LeadStatus::Pending.code().into(),
        name: person.name.clone(),
        id_type: person
            .document
            .as_ref()
            .map(|d| d.id_type().code().to_string())
            .unwrap_or_default(),
        id_number: person
            .document
            .as_ref()
            .map(|d| d.number().to_string())
            .unwrap_or_default(),
        phone: person
            .phone
            .as_ref()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        address: person.address.clone(),
        resident_id: None,
        grid_code: String::new(),
        reason: String::new(),
        came_from: String::new(),
        arrived_at: None,
        sender: String::new(),
        sender_scope: String::new(),
        reference: String::new(),
        sender_region: String::new(),
        source_key: None,
        received_at: 0,
        deadline: 0,
        closed_at: None,
        measure: String::new(),
        out_region: String::new(),
        out_note: String::new(),
        created_by: String::new(),
        created_at: 0,
    }
}

fn apply_route(lead: &mut LeadRecord, route: Route) {
    lead.grid_code = route.grid_code;
    lead.status = route.status.code().into();
    lead.resident_id = route.resident_id;
    if let Some(r) = route.resident {
        if lead.name.is_empty() {
            lead.name = r.name;
        }
        if lead.address.is_empty() {
            lead.address = r.address;
        }
        if lead.phone.is_empty() {
            lead.phone = r.phone.unwrap_or_default();
        }
        if lead.id_number.is_empty() {
            lead.id_type = r.id_type;
            lead.id_number = r.id_number;
        }
    }
}

impl App {
    // -----------------------------------------------------------------------------------------
    // Routing

    /// A region code given for routing: a grid that exists (pending there) or a region that exists
    /// (unrouted there, waiting to be routed to one of its grids).
    async fn route_by_region(&self, raw: &str) -> AppResult<Route> {
        let code = parse_region_code(raw)?;
        let known = self.store.region(code.as_str()).await?.is_some();
        match (code.level(), known) {
            (RegionLevel::Grid, true) => Ok(Route {
                grid_code: code.as_str().into(),
                status: LeadStatus::Pending,
                resident_id: None,
                resident: None,
            }),
            (RegionLevel::Grid, false) => Err(AppError::Invalid(format!(
                "网格编码 {code} 不存在：请核对，或填写所在村（社区）、乡镇的区划编码"
            ))),
            (_, true) => Ok(Route {
                grid_code: code.as_str().into(),
                status: LeadStatus::Unrouted,
                resident_id: None,
                resident: None,
            }),
            (_, false) => Err(AppError::Invalid(format!("区划编码 {code} 不存在：请核对"))),
        }
    }

    /// Routes a person: the register by ID number first, else the region code given, else the
    /// register by phone (one match only).
    async fn route_person(&self, person: &LeadPerson, region_hint: &str) -> AppResult<Route> {
        if let Some(document) = &person.document
            && let Some(resident) = self
                .resident_by_document(document.id_type().code(), document.number())
                .await?
        {
            return Ok(Route {
                grid_code: resident.grid_code.clone(),
                status: LeadStatus::Pending,
                resident_id: Some(resident.id),
                resident: Some(resident),
            });
        }
        if !region_hint.trim().is_empty() {
            return self.route_by_region(region_hint).await;
        }
        if let Some(phone) = &person.phone {
            let found = self
                .store
                .search_residents(SearchField::Phone, phone.as_str(), ("", "~"), 2)
                .await?;
            if found.len() == 1 {
                return Ok(Route {
                    grid_code: found[0].grid_code.clone(),
                    status: LeadStatus::Pending,
                    resident_id: Some(found[0].id),
                    resident: found.into_iter().next(),
                });
            }
        }
        Err(AppError::Invalid(
            "无法确定此人所在网格：此人不在实有人口登记中，请填写“区划编码”（网格、村社区、乡镇或区县）"
                .into(),
        ))
    }

    /// Refuses a route outside the actor's jurisdiction without saying where the person is (the
    /// register would otherwise answer "where does this ID number live" to anyone who can send).
    async fn require_route_within(&self, actor: &Actor, grid_code: &str) -> AppResult<()> {
        let code = RegionCode::parse(grid_code).map_err(AppError::Internal)?;
        if actor.jurisdiction.contains(&code) {
            return Ok(());
        }
        Err(AppError::Invalid(
            "此人不在您的管辖范围内：不能派到本辖区网格，请改用“区域协查（发函）”发往对方地区"
                .into(),
        ))
    }

    async fn grid_names(&self, leads: &[LeadRecord]) -> AppResult<HashMap<String, String>> {
        let mut codes: Vec<String> = leads.iter().map(|l| l.grid_code.clone()).collect();
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

    async fn views(&self, leads: &[LeadRecord]) -> AppResult<Vec<LeadView>> {
        let names = self.grid_names(leads).await?;
        let now = self.now_unix();
        Ok(leads
            .iter()
            .map(|l| {
                view_of(
                    l,
                    now,
                    names.get(&l.grid_code).cloned().unwrap_or_default(),
                    false,
                )
            })
            .collect())
    }

    // -----------------------------------------------------------------------------------------
    // Receiving leads

    /// Registers a lead from grassroots screening, active screening or an assistance letter in or
    /// out. Returns its id.
    pub async fn create_lead(&self, actor: &Actor, form: &LeadForm) -> AppResult<i64> {
        actor.require(Permission::SendLeads)?;
        let channel = Channel::from_code(form.channel.trim())
            .filter(|c| {
                matches!(
                    c,
                    Channel::GridScreening
                        | Channel::AssistIn
                        | Channel::AssistOut
                        | Channel::ActiveScreening
                )
            })
            .ok_or_else(|| {
                AppError::Invalid(
                    "请选择线索来源：基层排查、主动甄别、区域协查（来函）或区域协查（发函）".into(),
                )
            })?;
        let category = RiskCategory::parse(&form.category).map_err(AppError::Invalid)?;
        let person = check_person(
            &form.name,
            &form.id_type,
            &form.id_number,
            &form.phone,
            &form.address,
        )
        .map_err(invalid)?;
        let now = self.now_unix();
        let mut lead = blank_lead(channel, category, &person);
        lead.reason = text(&form.reason, 500);
        lead.came_from = text(&form.came_from, 200);
        lead.arrived_at = optional_time(&form.arrived_at, "到达时间")?;
        lead.reference = text(&form.reference, 100);
        lead.sender_region = actor.jurisdiction.as_str().into();
        lead.created_by = actor.username.clone();
        lead.created_at = now;
        lead.received_at = now;
        lead.deadline = deadline_of(now);
        match channel {
            Channel::AssistIn => {
                lead.sender = text(&form.sender, 100);
                if lead.sender.is_empty() || lead.reference.is_empty() {
                    return Err(AppError::Invalid(
                        "协查来函请填写来函单位和协查函文号".into(),
                    ));
                }
                let scope = SenderScope::from_code(form.sender_scope.trim()).ok_or_else(|| {
                    AppError::Invalid("请选择来函类别：外省协查、本省外市协查或本市外区协查".into())
                })?;
                lead.sender_scope = scope.code().into();
            }
            Channel::AssistOut => {
                if form.out_region.trim().is_empty() {
                    return Err(AppError::Invalid(
                        "发函请填写对方地区的区划编码（如 110105 北京市朝阳区）".into(),
                    ));
                }
                let out = parse_region_code(&form.out_region)?;
                if actor.jurisdiction.contains(&out) {
                    return Err(AppError::Invalid(format!(
                        "发函地区 {out} 在您的辖区内：请直接登记为“基层排查”，线索会进入该网格"
                    )));
                }
                lead.sender = actor.display_name.clone();
                lead.status = LeadStatus::LetterOut.code().into();
                lead.grid_code = actor.jurisdiction.as_str().into();
                lead.out_region = out.as_str().into();
                lead.out_note = text(&form.out_region_name, 100);
                lead.closed_at = Some(now);
            }
            _ => lead.sender = actor.display_name.clone(),
        }
        if channel != Channel::AssistOut {
            let route = self.route_person(&person, &form.region_code).await?;
            self.require_route_within(actor, &route.grid_code).await?;
            apply_route(&mut lead, route);
        }
        let id = self
            .store
            .insert_leads(std::slice::from_ref(&lead))
            .await?
            .into_iter()
            .next()
            .flatten()
            .ok_or_else(|| AppError::Internal("lead insert returned no id".into()))?;
        audit_by(self, actor, "create", &format!("lead:{id}"), channel.code()).await?;
        Ok(id)
    }

    /// A resident reports themself (群众自报). A linked account reports the registered person;
    /// otherwise the form must say who and where.
    pub async fn self_report(&self, actor: &Actor, form: &SelfReportForm) -> AppResult<i64> {
        actor.require(Permission::SelfReport)?;
        let came_from = text(&form.came_from, 200);
        if came_from.is_empty() && form.contact_note.trim().is_empty() {
            return Err(AppError::Invalid(
                "请填写从哪里来（或与病例的接触情况）".into(),
            ));
        }
        let category = RiskCategory::parse(&form.category).map_err(AppError::Invalid)?;
        let arrived_at = optional_time(&form.arrived_at, "到达时间")?;
        let now = self.now_unix();
        if arrived_at.is_some_and(|t| t > now + 3600) {
            return Err(AppError::Invalid("到达时间不能晚于现在".into()));
        }
        let linked = match self.store.user_resident_id(actor.user_id).await? {
            Some(id) => self.store.resident(id).await?,
            None => None,
        };
        let (person, route) = match linked {
            Some(r) => {
                let person = check_person(
                    &r.name,
                    &r.id_type,
                    &r.id_number,
                    r.phone.as_deref().unwrap_or(""),
                    &r.address,
                )
                .map_err(invalid)?;
                let route = Route {
                    grid_code: r.grid_code.clone(),
                    status: LeadStatus::Pending,
                    resident_id: Some(r.id),
                    resident: None,
                };
                (person, route)
            }
            None => {
                let person = check_person(
                    &form.name,
                    &form.id_type,
                    &form.id_number,
                    &form.phone,
                    &form.address,
                )
                .map_err(invalid)?;
                let route = self.route_person(&person, &form.region_code).await?;
                (person, route)
            }
        };
        self.require_route_within(actor, &route.grid_code).await?;
        let mut lead = blank_lead(Channel::SelfReport, category, &person);
        lead.came_from = came_from;
        lead.arrived_at = arrived_at;
        lead.reason = text(&form.contact_note, 500);
        lead.sender = actor.display_name.clone();
        lead.sender_region = county_of(&route.grid_code);
        lead.created_by = actor.username.clone();
        lead.created_at = now;
        lead.received_at = now;
        lead.deadline = deadline_of(now);
        apply_route(&mut lead, route);
        let id = self
            .store
            .insert_leads(std::slice::from_ref(&lead))
            .await?
            .into_iter()
            .next()
            .flatten()
            .ok_or_else(|| AppError::Internal("lead insert returned no id".into()))?;
        audit_by(self, actor, "create", &format!("lead:{id}"), "self_report").await?;
        Ok(id)
    }

    /// The reports a resident made, newest first (masked like every view).
    pub async fn my_self_reports(&self, actor: &Actor) -> AppResult<Vec<LeadView>> {
        actor.require(Permission::SelfReport)?;
        let leads = self.store.leads_created_by(&actor.username, 20).await?;
        self.views(&leads).await
    }

    // -----------------------------------------------------------------------------------------
    // The outcome on the ground

    async fn lead_within(&self, actor: &Actor, id: i64) -> AppResult<LeadRecord> {
        let lead = load_within(actor, self.store.lead(id)).await?;
        Ok(lead)
    }

    fn closed_error(lead: &LeadRecord) -> AppError {
        let label = LeadStatus::from_code(&lead.status)
            .map(LeadStatus::label_zh)
            .unwrap_or("已办结");
        AppError::Conflict(format!("该线索已办结（{label}），不能再次登记落地结果"))
    }

    /// Records what the grid worker found. Controlled → the lead closes with the measure and a
    /// `lead_controlled` event; not here → forwarded (or an outgoing letter when outside the
    /// sender's reach); left the province → an outgoing letter. Returns the lead as it is now.
    pub async fn record_lead_outcome(
        &self,
        actor: &Actor,
        id: i64,
        form: &OutcomeForm,
    ) -> AppResult<LeadView> {
        actor.require(Permission::LandLeads)?;
        let lead = self.lead_within(actor, id).await?;
        if !LeadStatus::from_code(&lead.status).is_some_and(LeadStatus::is_open) {
            return Err(Self::closed_error(&lead));
        }
        let kind = OutcomeKind::parse(&form.kind).map_err(AppError::Invalid)?;
        let note = text(&form.note, 500);
        let now = self.now_unix();
        let step = |step: &str, to: &str, note: String| LeadStepRecord {
            id: 0,
            lead_id: id,
            at: now,
            step: step.into(),
            actor: actor.display_name.clone(),
            from_code: lead.grid_code.clone(),
            to_code: to.into(),
            note,
        };
        let letter_out = |to: &RegionCode, why: &str| LeadChange {
            lead_id: id,
            status: LeadStatus::LetterOut.code().into(),
            grid_code: lead.grid_code.clone(),
            resident_id: lead.resident_id,
            closed_at: Some(now),
            measure: String::new(),
            out_region: to.as_str().into(),
            out_note: note.clone(),
            step: step(
                "letter_out",
                to.as_str(),
                if note.is_empty() {
                    why.to_string()
                } else {
                    format!("{why}：{note}")
                },
            ),
            event: None,
        };
        let change = match kind {
            OutcomeKind::Controlled => {
                let measure = ControlMeasure::parse(&form.measure).map_err(AppError::Invalid)?;
                let detail = LeadControlledEvent {
                    lead_id: id,
                    measure: measure.code().into(),
                    category: lead.category.clone(),
                    name: lead.name.clone(),
                    address: lead.address.clone(),
                };
                LeadChange {
                    lead_id: id,
                    status: LeadStatus::Controlled.code().into(),
                    grid_code: lead.grid_code.clone(),
                    resident_id: lead.resident_id,
                    closed_at: Some(now),
                    measure: measure.code().into(),
                    out_region: String::new(),
                    out_note: note.clone(),
                    step: step(
                        "controlled",
                        &lead.grid_code,
                        format!(
                            "{}{}",
                            measure.label_zh(),
                            if note.is_empty() {
                                String::new()
                            } else {
                                format!("：{note}")
                            }
                        ),
                    ),
                    event: Some((
                        LEAD_CONTROLLED.into(),
                        serde_json::to_string(&detail)
                            .map_err(|e| AppError::Internal(e.to_string()))?,
                    )),
                }
            }
            OutcomeKind::NotHere => {
                if form.region_code.trim().is_empty() {
                    return Err(AppError::Invalid(
                        "请填写此人现在所在地的区划编码（网格、村社区、乡镇、区县，或外地的区县编码）"
                            .into(),
                    ));
                }
                let to = parse_region_code(&form.region_code)?;
                if to.as_str() == lead.grid_code {
                    return Err(AppError::Invalid(
                        "转派地区与当前网格相同：请填写此人实际所在的地区".into(),
                    ));
                }
                let reach = RegionCode::parse(&lead.sender_region).ok();
                let within = actor.jurisdiction.contains(&to)
                    || reach.as_ref().is_some_and(|r| r.contains(&to));
                if within {
                    let route = self.route_by_region(to.as_str()).await?;
                    LeadChange {
                        lead_id: id,
                        status: route.status.code().into(),
                        grid_code: route.grid_code.clone(),
                        resident_id: None,
                        closed_at: None,
                        measure: String::new(),
                        out_region: String::new(),
                        out_note: String::new(),
                        step: step(
                            "forwarded",
                            &route.grid_code,
                            if note.is_empty() {
                                "不在此地址，转派".into()
                            } else {
                                format!("不在此地址，转派：{note}")
                            },
                        ),
                        event: None,
                    }
                } else {
                    letter_out(&to, "不在此地址，所在地超出本辖区，转为协查函")
                }
            }
            OutcomeKind::LeftProvince => {
                if form.region_code.trim().is_empty() {
                    return Err(AppError::Invalid(
                        "请填写此人所去地区的区划编码（如 110105 北京市朝阳区）".into(),
                    ));
                }
                let to = parse_region_code(&form.region_code)?;
                if to.as_str().get(..2) == lead.grid_code.get(..2) {
                    return Err(AppError::Invalid(format!(
                        "{to} 属于本省：人员仍在省内时请选择“不在此地址，转派”"
                    )));
                }
                letter_out(&to, "已离开本省，发协查函")
            }
        };
        if !self.store.change_open_lead(&change).await? {
            let now_lead = self.store.lead(id).await?.unwrap_or(lead);
            return Err(Self::closed_error(&now_lead));
        }
        audit_by(self, actor, "land", &format!("lead:{id}"), kind.code()).await?;
        let after = self
            .store
            .lead(id)
            .await?
            .ok_or(AppError::NotFound("该线索"))?;
        Ok(self.views(std::slice::from_ref(&after)).await?.remove(0))
    }

    /// Routes an open lead to a grid or region inside the actor's jurisdiction (a 待分派 lead, or
    /// a correction of the routing).
    pub async fn assign_lead(&self, actor: &Actor, id: i64, region_code: &str) -> AppResult<()> {
        actor.require(Permission::SendLeads)?;
        let lead = self.lead_within(actor, id).await?;
        if !LeadStatus::from_code(&lead.status).is_some_and(LeadStatus::is_open) {
            return Err(Self::closed_error(&lead));
        }
        let route = self.route_by_region(region_code).await?;
        self.require_route_within(actor, &route.grid_code).await?;
        let change = LeadChange {
            lead_id: id,
            status: route.status.code().into(),
            grid_code: route.grid_code.clone(),
            resident_id: lead.resident_id,
            closed_at: None,
            measure: String::new(),
            out_region: String::new(),
            out_note: String::new(),
            step: LeadStepRecord {
                id: 0,
                lead_id: id,
                at: self.now_unix(),
                step: "assigned".into(),
                actor: actor.display_name.clone(),
                from_code: lead.grid_code.clone(),
                to_code: route.grid_code.clone(),
                note: String::new(),
            },
            event: None,
        };
        if !self.store.change_open_lead(&change).await? {
            return Err(Self::closed_error(&lead));
        }
        audit_by(
            self,
            actor,
            "assign",
            &format!("lead:{id}"),
            &route.grid_code,
        )
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Views

    /// One lead with its history, masked.
    pub async fn lead_detail(&self, actor: &Actor, id: i64) -> AppResult<LeadDetail> {
        actor.require(Permission::ViewLeads)?;
        let lead = self.lead_within(actor, id).await?;
        let steps = self.store.lead_steps(id).await?;
        Ok(LeadDetail {
            lead: self.views(std::slice::from_ref(&lead)).await?.remove(0),
            steps,
        })
    }

    /// One lead with the full ID number and phone; needs a reason, audited before returning.
    pub async fn reveal_lead(&self, actor: &Actor, id: i64, reason: &str) -> AppResult<LeadDetail> {
        actor.require(Permission::ViewLeads)?;
        actor.require(Permission::RevealPersonalData)?;
        if reason.trim().is_empty() {
            return Err(AppError::Invalid(
                "请填写查看原因：查看完整证件号和电话会记入审计日志".into(),
            ));
        }
        let lead = self.lead_within(actor, id).await?;
        audit_by(self, actor, "reveal", &format!("lead:{id}"), reason.trim()).await?;
        let steps = self.store.lead_steps(id).await?;
        let names = self.grid_names(std::slice::from_ref(&lead)).await?;
        Ok(LeadDetail {
            lead: view_of(
                &lead,
                self.now_unix(),
                names.get(&lead.grid_code).cloned().unwrap_or_default(),
                true,
            ),
            steps,
        })
    }

    fn list_region(&self, actor: &Actor, raw: &str) -> AppResult<RegionCode> {
        let region = if raw.trim().is_empty() {
            actor.jurisdiction.clone()
        } else {
            parse_region_code(raw)?
        };
        actor.require_within(&region)?;
        Ok(region)
    }

    /// A page of leads in a region of the jurisdiction, filtered by state, channel, overdue.
    pub async fn leads_list(&self, actor: &Actor, filter: &LeadFilter) -> AppResult<LeadListPage> {
        actor.require(Permission::ViewLeads)?;
        let region = self.list_region(actor, &filter.region)?;
        let status = match filter.status.trim() {
            "" => None,
            s => Some(
                LeadStatus::from_code(s)
                    .ok_or_else(|| AppError::Invalid(format!("状态“{s}”无法识别")))?
                    .code()
                    .to_string(),
            ),
        };
        let channel = match filter.channel.trim() {
            "" => None,
            c => Some(
                Channel::from_code(c)
                    .ok_or_else(|| AppError::Invalid(format!("来源“{c}”无法识别")))?
                    .code()
                    .to_string(),
            ),
        };
        let query = LeadQuery {
            status,
            channel,
            overdue_at: filter.overdue.then(|| self.now_unix()),
        };
        let (lower, upper) = region.subtree_range();
        let page = filter.page.max(1);
        let total = self.store.count_leads((&lower, &upper), &query).await?;
        let rows = self
            .store
            .leads_page(
                (&lower, &upper),
                &query,
                (page - 1) * LEADS_PER_PAGE,
                LEADS_PER_PAGE,
            )
            .await?;
        Ok(LeadListPage {
            region_name: self.region_name(&region).await?,
            region_code: region.as_str().into(),
            rows: self.views(&rows).await?,
            total,
            page,
            pages: ((total + LEADS_PER_PAGE - 1) / LEADS_PER_PAGE).max(1),
        })
    }

    /// The overdue leads of a region (open past the 24-hour deadline), oldest deadline first.
    pub async fn overdue_leads(
        &self,
        actor: &Actor,
        region: &str,
        page: i64,
    ) -> AppResult<LeadListPage> {
        self.leads_list(
            actor,
            &LeadFilter {
                region: region.into(),
                overdue: true,
                page,
                ..LeadFilter::default()
            },
        )
        .await
    }

    /// The command view of a region: per child region the counts by state, the overdue leads and
    /// the 24-hour landing rate; and the region's counts by state and by channel.
    pub async fn leads_overview(&self, actor: &Actor, region: &str) -> AppResult<LeadOverview> {
        actor.require(Permission::ViewLeads)?;
        let region = self.list_region(actor, region)?;
        let child_len = region
            .level()
            .child()
            .map(|l| l.code_len())
            .unwrap_or(region.as_str().len());
        let (lower, upper) = region.subtree_range();
        let rows = self
            .store
            .lead_counts((&lower, &upper), child_len, self.now_unix())
            .await?;
        let mut children: BTreeMap<String, RegionLeadCounts> = BTreeMap::new();
        let mut total = RegionLeadCounts {
            code: region.as_str().into(),
            drillable: false,
            ..Default::default()
        };
        let mut by_status: BTreeMap<String, i64> = BTreeMap::new();
        let mut by_channel: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
        for row in &rows {
            children
                .entry(row.code.clone())
                .or_insert_with(|| RegionLeadCounts {
                    code: row.code.clone(),
                    drillable: row.code.len() == child_len && row.code != region.as_str(),
                    ..Default::default()
                })
                .add(row);
            total.add(row);
            *by_status.entry(row.status.clone()).or_default() += row.n;
            let open = LeadStatus::from_code(&row.status).is_some_and(LeadStatus::is_open);
            let entry = by_channel.entry(row.channel.clone()).or_default();
            entry.0 += row.n;
            if open {
                entry.1 += row.n;
                entry.2 += row.past_deadline;
            }
        }
        let codes: Vec<String> = children.keys().cloned().collect();
        let names: HashMap<String, String> = self
            .store
            .regions_by_codes(&codes)
            .await?
            .into_iter()
            .map(|r| (r.code, r.name))
            .collect();
        let region_name = self.region_name(&region).await?;
        total.name = region_name.clone();
        let children = children
            .into_values()
            .map(|mut c| {
                c.name = if c.drillable || region.level() == RegionLevel::Grid {
                    names
                        .get(&c.code)
                        .cloned()
                        .unwrap_or_else(|| c.code.clone())
                } else {
                    format!(
                        "{}（未分派到下级）",
                        names
                            .get(&c.code)
                            .cloned()
                            .unwrap_or_else(|| c.code.clone())
                    )
                };
                c
            })
            .collect();
        Ok(LeadOverview {
            region_code: region.as_str().into(),
            region_name,
            total,
            children,
            by_status: LeadStatus::ALL
                .iter()
                .map(|s| {
                    (
                        s.code().to_string(),
                        s.label_zh(),
                        by_status.get(s.code()).copied().unwrap_or(0),
                    )
                })
                .collect(),
            by_channel: Channel::ALL
                .iter()
                .map(|c| {
                    (
                        c.code().to_string(),
                        c.label_zh(),
                        by_channel.get(c.code()).map(|e| e.0).unwrap_or(0),
                    )
                })
                .collect(),
            open_by_channel: Channel::ALL
                .iter()
                .map(|c| {
                    let e = by_channel.get(c.code()).copied().unwrap_or_default();
                    (c.code().to_string(), c.label_zh(), e.1, e.2)
                })
                .collect(),
        })
    }

    // -----------------------------------------------------------------------------------------
    // Big-data push imports

    /// Imports a big-data push file (CSV or XLSX, header [`PUSH_COLUMNS`]). Good rows become
    /// leads routed to their grids; bad rows are kept as problems with row, column and reason;
    /// importing the same rows again adds nothing (a content hash per row).
    pub async fn import_leads(
        &self,
        actor: &Actor,
        path: &Path,
        file_name: &str,
    ) -> AppResult<LeadImportReport> {
        actor.require(Permission::SendLeads)?;
        let format = FileFormat::from_file_name(file_name)?;
        // The file is read on the bounded pool and its lines stream through a channel: a large push
        // is never held whole in memory.
        let path = path.to_path_buf();
        let (sender, mut lines) = tokio::sync::mpsc::channel::<FileLine>(1024);
        let reader = crate::blocking::start(crate::blocking::Heavy::FileReader, move || {
            let is_header = |cells: &[String]| push_column_map(cells).is_ok();
            for_each_line(&path, format, is_header, |line| {
                sender.blocking_send(line).is_ok()
            })
        })
        .await?;
        let read_failure = |joined: Result<AppResult<_>, tokio::task::JoinError>| match joined {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e),
            Err(e) => Some(AppError::Internal(format!("push reader: {e}"))),
        };
        let header = loop {
            match lines.recv().await {
                None => {
                    if let Some(e) = read_failure(reader.await) {
                        return Err(e);
                    }
                    return Err(AppError::Invalid(format!(
                        "文件是空的：第一行应为表头：{}",
                        PUSH_COLUMNS.join(",")
                    )));
                }
                Some(FileLine::Cells(_, cells)) if cells.iter().all(|c| c.is_empty()) => continue,
                Some(FileLine::Cells(_, cells)) => break cells,
                Some(FileLine::Unreadable(_, why)) => return Err(AppError::Invalid(why)),
            }
        };
        let map = push_column_map(&header)?;
        let import_id = self
            .store
            .create_lead_import(&actor.username, file_name, self.now_unix())
            .await?;
        let now = self.now_unix();
        // Problems found since the last stored chunk (stored with its progress, then let go), and
        // the first ones for the report.
        let mut problems: Vec<ImportProblemRecord> = Vec::new();
        let mut first_problems: Vec<ProblemLine> = Vec::new();
        let mut keep_first = |found: &[ImportProblemRecord]| {
            for p in found.iter().take(200 - first_problems.len().min(200)) {
                first_problems.push(ProblemLine {
                    row_number: p.row_number,
                    column: p.column_name.clone(),
                    message: p.message.clone(),
                });
            }
        };
        let mut problem_rows = 0_i64;
        let mut rows_total = 0_i64;
        let mut batch: Vec<LeadRecord> = Vec::new();
        let (mut inserted, mut unchanged) = (0_i64, 0_i64);
        while let Some(line) = lines.recv().await {
            let (row_number, cells) = match line {
                FileLine::Unreadable(row_number, why) => {
                    rows_total += 1;
                    problem_rows += 1;
                    problems.push(push_problem(row_number, "整行", why, &[]));
                    continue;
                }
                FileLine::Cells(n, cells) => (n, cells),
            };
            if cells.iter().all(|c| c.is_empty()) {
                continue;
            }
            rows_total += 1;
            let mut fields = vec![String::new(); PUSH_COLUMNS.len()];
            for (i, cell) in cells.into_iter().enumerate() {
                if let Some(Some(position)) = map.get(i) {
                    fields[*position] = cell;
                }
            }
            // A long number typed into a number cell has lost its last digits already.
            let lost: Vec<(&'static str, String)> = fields
                .iter_mut()
                .zip(PUSH_COLUMNS)
                .filter(|(f, _)| f.starts_with('\u{0}'))
                .map(|(f, column)| {
                    f.clear();
                    (
                        column,
                        format!("{column}被Excel存成了数字，最后几位已经丢失：请把这一列设置为“文本”格式后重新填写"),
                    )
                })
                .collect();
            let checked = if lost.is_empty() {
                self.push_row(actor, &fields, now).await?
            } else {
                Err(lost)
            };
            match checked {
                Ok(lead) => batch.push(lead),
                Err(found) => {
                    problem_rows += 1;
                    for (column, message) in found {
                        problems.push(push_problem(row_number, column, message, &fields));
                    }
                }
            }
            if batch.len() >= PUSH_ROWS_PER_CHUNK {
                for id in self.store.insert_leads(&batch).await? {
                    if id.is_some() {
                        inserted += 1
                    } else {
                        unchanged += 1
                    }
                }
                batch.clear();
                // The counters and the chunk's problems follow every committed chunk (written
                // right after its transaction, so at most one chunk behind): an import cut short
                // by a crash still says what it committed, and its heartbeat stops, so a later
                // pass marks it interrupted.
                self.store
                    .record_lead_import_progress(
                        import_id,
                        &problems,
                        rows_total,
                        inserted,
                        unchanged,
                        problem_rows,
                        None,
                        self.now_unix(),
                    )
                    .await?;
                keep_first(&problems);
                problems.clear();
            }
        }
        // A file that fails part-way (a limit passed, a damaged sheet): the rows before it stand
        // (importing them again adds nothing), and the failure is the file's last problem.
        if let Some(e) = read_failure(reader.await) {
            let message = match e {
                AppError::Invalid(why) | AppError::TooLarge(why) => why,
                other => return Err(other),
            };
            problem_rows += 1;
            problems.push(push_problem(rows_total + 1, "整个文件", message, &[]));
        }
        for id in self.store.insert_leads(&batch).await? {
            if id.is_some() {
                inserted += 1
            } else {
                unchanged += 1
            }
        }
        self.store
            .record_lead_import_progress(
                import_id,
                &problems,
                rows_total,
                inserted,
                unchanged,
                problem_rows,
                Some(self.now_unix()),
                self.now_unix(),
            )
            .await?;
        keep_first(&problems);
        audit_by(
            self,
            actor,
            "import",
            &format!("lead_import:{import_id}"),
            &format!(
                "{file_name}: {rows_total} 行，新增线索 {inserted}，重复 {unchanged}，问题 {problem_rows}"
            ),
        )
        .await?;
        Ok(LeadImportReport {
            import_id,
            rows_total,
            inserted,
            unchanged,
            problem_rows,
            interrupted_at: None,
            problems: first_problems,
        })
    }

    /// One push row → a routed lead, or its problems (column, message).
    async fn push_row(
        &self,
        actor: &Actor,
        f: &[String],
        now: i64,
    ) -> AppResult<Result<LeadRecord, Vec<(&'static str, String)>>> {
        let mut problems: Vec<(&'static str, String)> = Vec::new();
        let person = match check_person(&f[0], &f[1], &f[2], &f[3], &f[4]) {
            Ok(p) => Some(p),
            Err(found) => {
                problems.extend(found.into_iter().map(|p| (p.column, p.message)));
                None
            }
        };
        let category = RiskCategory::parse(&f[6])
            .map_err(|m| problems.push(("风险类别", m)))
            .ok();
        let pushed_at = match parse_beijing_time(&f[7]) {
            Ok(t) if t > now + 3600 => {
                problems.push(("推送时间", "推送时间晚于当前时间：请核对".into()));
                None
            }
            Ok(t) => Some(t),
            Err(m) => {
                problems.push(("推送时间", m));
                None
            }
        };
        let (Some(person), Some(category), Some(pushed_at)) = (person, category, pushed_at) else {
            return Ok(Err(problems));
        };
        let route = match self.route_person(&person, &f[9]).await {
            Ok(route) => route,
            Err(AppError::Invalid(m)) => return Ok(Err(vec![("区划编码", m)])),
            Err(e) => return Err(e),
        };
        if let Err(e) = self.require_route_within(actor, &route.grid_code).await {
            return Ok(Err(vec![("区划编码", e.to_string())]));
        }
        let mut hasher = Sha256::new();
        for field in f {
            hasher.update(field.trim().as_bytes());
            hasher.update([0x1f]);
        }
        let mut lead = blank_lead(Channel::BigDataPush, category, &person);
        lead.reason = text(&f[5], 500);
        lead.sender = if f[8].trim().is_empty() {
            "大数据推送".into()
        } else {
            text(&f[8], 100)
        };
        lead.reference = format!("推送时间 {}", text(&f[7], 30));
        lead.sender_region = actor.jurisdiction.as_str().into();
        lead.source_key = Some(format!("push:{}", &hex::encode(hasher.finalize())[..40]));
        // The 24 hours run from when the push reached us, not from when the file was uploaded.
        lead.received_at = pushed_at.min(now);
        lead.deadline = deadline_of(lead.received_at);
        lead.created_by = actor.username.clone();
        lead.created_at = now;
        apply_route(&mut lead, route);
        Ok(Ok(lead))
    }

    pub async fn lead_import_run(&self, actor: &Actor, id: i64) -> AppResult<LeadImportRecord> {
        actor.require(Permission::SendLeads)?;
        let run = self
            .store
            .lead_import(id)
            .await?
            .ok_or(AppError::NotFound("该导入记录"))?;
        // Like a residents import: the importer, and administrators over the importer.
        let visible = run.username == actor.username
            || (actor.role.allows(Permission::ViewAuditLog)
                && self.sees_work_of(actor, &run.username).await?);
        if !visible {
            return Err(AppError::NotFound("该导入记录"));
        }
        Ok(run)
    }

    /// An import run with its first problem rows (the page after an upload).
    pub async fn lead_import_report(&self, actor: &Actor, id: i64) -> AppResult<LeadImportReport> {
        let run = self.lead_import_run(actor, id).await?;
        let problems = self.store.lead_import_problems(run.id, 200).await?;
        Ok(LeadImportReport {
            import_id: run.id,
            rows_total: run.rows_total,
            inserted: run.inserted,
            unchanged: run.unchanged,
            problem_rows: run.problems,
            interrupted_at: run.interrupted_at,
            problems: problems
                .into_iter()
                .map(|p| ProblemLine {
                    row_number: p.row_number,
                    column: p.column_name,
                    message: p.message,
                })
                .collect(),
        })
    }

    pub async fn recent_lead_imports(&self, actor: &Actor) -> AppResult<Vec<LeadImportRecord>> {
        actor.require(Permission::SendLeads)?;
        Ok(self.store.recent_lead_imports(&actor.username, 20).await?)
    }

    /// The problem rows of a push import as a CSV to fix and import again ([`PUSH_COLUMNS`] plus
    /// "问题说明"); it holds personal data, so it is audited like an export.
    pub async fn lead_import_problem_file(&self, actor: &Actor, id: i64) -> AppResult<Vec<u8>> {
        let run = self.lead_import_run(actor, id).await?;
        let problems = self.store.lead_import_problems(run.id, 1_000_000).await?;
        let csv_error = |e: csv::Error| AppError::Internal(e.to_string());
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<&str> = PUSH_COLUMNS.to_vec();
        header.push(PROBLEM_COLUMN);
        writer.write_record(&header).map_err(csv_error)?;
        let mut rows = 0;
        let mut index = 0;
        while index < problems.len() {
            let row_number = problems[index].row_number;
            let fields: Vec<String> =
                serde_json::from_str(&problems[index].raw_fields).unwrap_or_default();
            let mut messages = Vec::new();
            while index < problems.len() && problems[index].row_number == row_number {
                messages.push(format!(
                    "第{}行 {}：{}",
                    row_number, problems[index].column_name, problems[index].message
                ));
                index += 1;
            }
            let mut record: Vec<String> = (0..PUSH_COLUMNS.len())
                .map(|i| fields.get(i).cloned().unwrap_or_default())
                .collect();
            record.push(messages.join("；"));
            writer
                .write_record(crate::export::csv_record(&record))
                .map_err(csv_error)?;
            rows += 1;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        audit_by(
            self,
            actor,
            "export",
            &format!("lead_import:{id}"),
            &format!("问题行 {rows} 行"),
        )
        .await?;
        let mut with_bom = "\u{feff}".as_bytes().to_vec();
        with_bom.extend(bytes);
        Ok(with_bom)
    }

    // -----------------------------------------------------------------------------------------
    // Investigation events

    /// Turns `close_contact` / `secondary_contact` person events into leads (channel 流调判定),
    /// routed to the event's grid, else the register, else the fallback region as 待分派.
    /// Remembers how far it read; the `event:<id>` source key makes a repeat harmless anyway.
    /// Returns the number of events read.
    pub async fn sync_lead_events(&self) -> AppResult<usize> {
        let _one_at_a_time = EVENT_SYNC.lock().await;
        let mut total = 0;
        loop {
            let events = self
                .unread_person_events(EVENT_CURSOR_SETTING, 2_000)
                .await?;
            let Some(last) = events.last().map(|e| e.id) else {
                return Ok(total);
            };
            let mut leads = Vec::new();
            for event in &events {
                if let Some(lead) = self.lead_of_event(event).await? {
                    leads.push(lead);
                }
            }
            self.store.insert_leads(&leads).await?;
            self.mark_person_events_read(EVENT_CURSOR_SETTING, last)
                .await?;
            total += events.len();
        }
    }

    async fn lead_of_event(&self, event: &PersonEventRecord) -> AppResult<Option<LeadRecord>> {
        let category = match event.kind.as_str() {
            CLOSE_CONTACT => RiskCategory::CloseContact,
            SECONDARY_CONTACT => RiskCategory::SecondaryContact,
            _ => return Ok(None),
        };
        let Ok(detail) = serde_json::from_str::<ContactEvent>(&event.detail) else {
            tracing::warn!(
                event_id = event.id,
                "contact event with an unreadable detail skipped"
            );
            return Ok(None);
        };
        // The person as investigation knows them; a number it could not check is kept as typed.
        let person = check_person(
            &detail.name,
            &event.id_type,
            &event.id_number,
            &detail.phone,
            &detail.address,
        )
        .unwrap_or_else(|_| LeadPerson {
            name: text(&detail.name, 60),
            document: None,
            phone: None,
            address: text(&detail.address, 200),
        });
        let mut lead = blank_lead(Channel::Investigation, category, &person);
        if person.document.is_none() && !event.id_number.is_empty() {
            lead.id_type = event.id_type.clone();
            lead.id_number = event.id_number.clone();
        }
        let route = match RegionCode::parse(&event.grid_code) {
            Ok(code) if code.level() == RegionLevel::Grid => Route {
                grid_code: code.as_str().into(),
                status: LeadStatus::Pending,
                resident_id: event.resident_id,
                resident: None,
            },
            Ok(code) => Route {
                grid_code: code.as_str().into(),
                status: LeadStatus::Unrouted,
                resident_id: event.resident_id,
                resident: None,
            },
            Err(_) => match self
                .resident_by_document(&event.id_type, &event.id_number)
                .await?
            {
                Some(r) => Route {
                    grid_code: r.grid_code.clone(),
                    status: LeadStatus::Pending,
                    resident_id: Some(r.id),
                    resident: Some(r),
                },
                None => {
                    let fallback = self
                        .store
                        .setting(FALLBACK_REGION_SETTING)
                        .await?
                        .filter(|c| RegionCode::parse(c).is_ok())
                        .unwrap_or_else(|| "13".into());
                    Route {
                        grid_code: fallback,
                        status: LeadStatus::Unrouted,
                        resident_id: None,
                        resident: None,
                    }
                }
            },
        };
        let exposure = chrono::DateTime::from_timestamp(detail.last_exposure, 0)
            .map(|t| {
                t.with_timezone(&china_offset())
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default();
        lead.reason = format!("流调判定为{}，末次暴露 {exposure}", category.label_zh());
        lead.sender = format!("流调判定（病例 {}）", detail.case_id);
        lead.reference = format!("contact:{}", detail.contact_id);
        lead.sender_region = county_of(&route.grid_code);
        lead.source_key = Some(format!("event:{}", event.id));
        lead.received_at = event.at;
        lead.deadline = deadline_of(event.at);
        lead.created_by = "investigation".into();
        lead.created_at = self.now_unix();
        apply_route(&mut lead, route);
        Ok(Some(lead))
    }
}

/// The push file's header → positions in [`PUSH_COLUMNS`]; fails naming missing required columns.
fn push_column_map(headers: &[String]) -> AppResult<Vec<Option<usize>>> {
    let map: Vec<Option<usize>> = headers
        .iter()
        .map(|h| {
            let h = h
                .trim()
                .trim_start_matches('\u{feff}')
                .replace([' ', '\u{3000}'], "");
            let alias = match h.as_str() {
                "身份证号" | "身份证号码" | "证件号" | "公民身份号码" => {
                    "证件号码"
                }
                "手机号" | "手机号码" | "电话" | "联系方式" => "联系电话",
                "住址" | "地址" | "居住地址" | "现居住地址" => "现住址",
                "原因" | "推送事由" => "推送原因",
                "人员类别" | "类别" => "风险类别",
                "推送日期" | "时间" => "推送时间",
                "数据来源" | "推送单位" => "来源",
                "区划代码" | "网格编码" | "所属区划" => "区划编码",
                other => return PUSH_COLUMNS.iter().position(|c| *c == other),
            };
            PUSH_COLUMNS.iter().position(|c| *c == alias)
        })
        .collect();
    let required = ["姓名", "证件号码", "联系电话", "现住址", "推送时间"];
    let missing: Vec<&str> = required
        .iter()
        .filter(|r| !map.contains(&PUSH_COLUMNS.iter().position(|c| c == *r)))
        .copied()
        .collect();
    if missing.is_empty() {
        Ok(map)
    } else {
        Err(AppError::Invalid(format!(
            "文件缺少必需的列：{}。第一行应为表头：{}",
            missing.join("、"),
            PUSH_COLUMNS.join(",")
        )))
    }
}

fn push_problem(
    row_number: i64,
    column: &str,
    message: String,
    fields: &[String],
) -> ImportProblemRecord {
    ImportProblemRecord {
        row_number,
        column_name: column.into(),
        message,
        raw_fields: serde_json::to_string(fields).unwrap_or_else(|_| "[]".into()),
    }
}

/// The header row of the big-data push format, as a CSV (with a BOM so Excel shows the Chinese).
pub fn push_template() -> Vec<u8> {
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend(PUSH_COLUMNS.join(",").as_bytes());
    bytes.extend(b"\r\n");
    bytes
}
