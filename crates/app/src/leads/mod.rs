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

mod commands;
mod events;
mod outcomes;
mod push_import;
mod queries;
mod receiving;
mod routing;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use fangkong_domain::ids::IdType;
use fangkong_domain::leads::{
    Channel, ControlMeasure, LeadPerson, LeadStatus, OutcomeKind, PUSH_COLUMNS, RiskCategory,
    SenderScope, check_person, deadline_of,
};
use fangkong_domain::person_event::{
    CLOSE_CONTACT, ContactEvent, LEAD_CONTROLLED, LeadControlledEvent, RESIDENT_MOVED,
    ResidentMovedEvent, SECONDARY_CONTACT,
};
use fangkong_domain::region::{RegionCode, RegionLevel};
use fangkong_domain::role::Permission;
use fangkong_domain::time::parse_beijing_cell;
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
use crate::{
    Actor, App, AppError, AppResult, audit_by, audit_record, china_offset, parse_region_code,
};

pub use commands::{LeadArrival, LeadOutcome, RecordOutcome, RegisterLead, SelfReport};
pub(crate) use push_import::Finding;

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
    /// Each step's actor (username) → the name a page shows.
    pub actor_names: std::collections::HashMap<String, String>,
}

impl LeadDetail {
    /// The name a page shows for a step's actor.
    pub fn name_of<'a>(&'a self, username: &'a str) -> &'a str {
        self.actor_names
            .get(username)
            .map_or(username, String::as_str)
    }
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
        match row.status {
            LeadStatus::Pending => self.pending += row.n,
            LeadStatus::Unrouted => self.unrouted += row.n,
            LeadStatus::Controlled => self.controlled += row.n,
            LeadStatus::LetterOut => self.letter_out += row.n,
        }
        let open = row.status.is_open();
        if open {
            self.overdue += row.past_deadline;
        }
        // A letter we send out carries no landing duty of ours.
        if row.channel != Channel::AssistOut {
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
    parse_beijing_cell(raw)
        .map(|t| Some(t.timestamp()))
        .map_err(|e| AppError::Invalid(format!("{label}：{e}")))
}

fn text(raw: &str, max: usize) -> String {
    raw.trim().chars().take(max).collect()
}

/// The county (6 digits) of a queue code, or the code itself when shorter.
fn county_of(code: &str) -> String {
    code.chars().take(6).collect()
}

pub(crate) fn view_of(lead: &LeadRecord, now: i64, grid_name: String, reveal: bool) -> LeadView {
    let open = lead.status.is_open();
    let document = !lead.id_number.is_empty();
    LeadView {
        id: lead.id,
        channel: lead.channel.code().into(),
        channel_label: lead.channel.label_zh(),
        category: lead.category.code().into(),
        category_label: lead.category.label_zh(),
        status: lead.status.code().into(),
        status_label: lead.status.label_zh(),
        open,
        overdue: open && lead.deadline <= now,
        name: lead.name.to_string(),
        id_type_label: if document {
            // A number stored without its type is a mainland ID card (as `IdType::parse` reads "").
            lead.id_type
                .unwrap_or(IdType::MainlandId)
                .label_zh()
                .to_string()
        } else {
            String::new()
        },
        id_number_masked: if document {
            mask_document(lead.id_type.map_or("", IdType::code), &lead.id_number)
        } else {
            String::new()
        },
        phone_masked: mask_phone(lead.phone.as_deref()),
        address: lead.address.to_string(),
        resident_id: lead.resident_id,
        grid_code: lead.grid_code.clone(),
        grid_name,
        reason: lead.reason.clone(),
        came_from: lead.came_from.clone(),
        arrived_at: lead.arrived_at,
        sender: lead.sender.clone(),
        sender_scope_label: lead.sender_scope.map_or("", SenderScope::label_zh),
        reference: lead.reference.clone(),
        received_at: lead.received_at,
        deadline: lead.deadline,
        closed_at: lead.closed_at,
        in_time: lead.closed_at.is_some_and(|c| c <= lead.deadline),
        measure: lead.measure.map_or("", ControlMeasure::code).into(),
        measure_label: lead.measure.map_or("", ControlMeasure::label_zh),
        out_region: lead.out_region.clone(),
        out_note: lead.out_note.clone(),
        created_by: lead.created_by.clone(),
        id_number: (reveal && document).then(|| lead.id_number.to_string()),
        phone: lead.phone.as_deref().filter(|_| reveal).map(str::to_string),
    }
}

/// A new lead's record before routing fills in the queue.
fn blank_lead(channel: Channel, category: RiskCategory, person: &LeadPerson) -> LeadRecord {
    LeadRecord {
        id: 0,
        channel,
        category,
        status: LeadStatus::Pending,
        name: person.name.as_str().into(),
        id_type: person.document.as_ref().map(|d| d.id_type()),
        id_number: person
            .document
            .as_ref()
            .map(|d| d.number().into())
            .unwrap_or_default(),
        phone: person.phone.clone(),
        address: person.address.as_str().into(),
        resident_id: None,
        grid_code: String::new(),
        reason: String::new(),
        came_from: String::new(),
        arrived_at: None,
        sender: String::new(),
        sender_scope: None,
        reference: String::new(),
        sender_region: String::new(),
        source_key: None,
        received_at: 0,
        deadline: 0,
        closed_at: None,
        measure: None,
        out_region: String::new(),
        out_note: String::new(),
        created_by: String::new(),
        created_at: 0,
    }
}

fn apply_route(lead: &mut LeadRecord, route: Route) {
    lead.grid_code = route.grid_code;
    lead.status = route.status;
    lead.resident_id = route.resident_id;
    if let Some(r) = route.resident {
        if lead.name.is_empty() {
            lead.name = r.name;
        }
        if lead.address.is_empty() {
            lead.address = r.address;
        }
        if lead.phone.is_none() {
            lead.phone = r.phone;
        }
        if lead.id_number.is_empty() {
            lead.id_type = IdType::from_code(&r.id_type);
            lead.id_number = r.id_number;
        }
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
