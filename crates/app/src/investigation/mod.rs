//! Epidemiological investigation (流调溯源): cases, trajectories, contacts classified by rule, chains.
//!
//! A case opens from a single-tube positive of mass testing (`single_positive` event, at once) or by
//! an epidemiologist; its 2-hour report and 24-hour investigation deadlines are tracked. Contacts
//! are classified by the domain's rule from the exposure and the regime's look-back window; the
//! reason is kept with the contact. Every case and every close or secondary contact is told to the
//! other modules as a `person_events` row written with it (health codes, leads, isolation).

mod bulletin;
mod cases;
mod chains;
mod commands;
mod contacts;
mod events;
mod queries;
mod trajectories;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use fangkong_domain::ids::{IdDocument, IdType};
use fangkong_domain::investigation::cases::CaseStatus;
use fangkong_domain::investigation::{
    CaseKind, ChainCase, ChainLayout, Classification, ContactCategory, ContactStatus,
    DeadlineState, Exposure, ExposureKind, FoundBy, Regime, Severity, TracingRules,
    VehiclePosition, age_on, case_deadlines, case_window, classify_contact, classify_secondary,
    layout_chains,
};
use fangkong_domain::person_event::{self, CaseEvent, ContactEvent};
use fangkong_domain::personal::{Address, DocumentNumber, PersonName};
use fangkong_domain::phone::PhoneNumber;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Permission;
use fangkong_domain::time;
use fangkong_store::investigation::{
    CaseCounts, CaseFilter, CaseRecord, CaseStopRecord, CaseUpdate, CaseWrite, ContactRecord,
    ContactWrite,
};
use fangkong_store::{CodePerson, FactWrite};
use serde::Serialize;

use crate::population::{mask_document, mask_phone};
use crate::scope::load_within;
use crate::{
    Actor, App, AppError, AppResult, audit_by, audit_record, china_offset, parse_occurred_at,
    typed_unix,
};

pub use commands::{AddCaseStop, CaseStep, ClearContact, NamedPerson, OpenCase, RecordContact};

/// The setting that holds the regime in force (`Regime::code()`).
const REGIME_SETTING: &str = "tracing_regime";
/// How far the case module has read `person_events` (single positives become cases).
const EVENT_CURSOR_SETTING: &str = "investigation_event_cursor";
/// Rows per directory page.
pub const PAGE_SIZE: i64 = 50;
/// Above this many rows in a jurisdiction, a directory page walks the newest rows by id and filters
/// the region (the first page is found at once); below, it reads the region's rows and sorts them.
const WALK_BY_ID_ABOVE: i64 = 5_000;
/// A case page lists at most this many contacts (the contact directory pages through the rest).
const CONTACTS_ON_CASE_PAGE: i64 = 2_000;

/// A case as the epidemiologist types it (流调登记). Unchecked text: no `Debug`, so it cannot
/// reach a log line.
#[derive(Clone, Default)]
pub struct CaseForm {
    pub kind: String,
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    /// Where the case belongs when the person is not in the register (a region code).
    pub region_code: String,
    /// Symptom onset, 'YYYY-MM-DD' (confirmed, suspected).
    pub onset_date: String,
    /// First positive sampling, 'YYYY-MM-DD HH:MM' Beijing time (asymptomatic, initial screen).
    pub first_positive_at: String,
    pub found_by: String,
    /// When it was found, 'YYYY-MM-DD HH:MM'; empty = now.
    pub found_at: String,
    pub severity: String,
    pub hospital: String,
    /// When the case was isolated, 'YYYY-MM-DD HH:MM'; empty = not yet.
    pub isolated_at: String,
    /// The infector's case number or id, when known.
    pub infector: String,
    /// The client's key: a retried submission opens no second case.
    pub case_key: String,
}

/// A person exposed, as the epidemiologist types it. Unchecked text: no `Debug`.
#[derive(Clone, Default)]
pub struct ContactForm {
    /// For a secondary contact: the close contact (its id) the person met.
    pub via_contact_id: String,
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    /// Where the person lives when not in the register (a region code), for routing.
    pub region_code: String,
    pub exposure_kind: String,
    pub first_exposure_at: String,
    pub last_exposure_at: String,
    pub protected: bool,
    pub case_row: String,
    pub contact_row: String,
    pub crew_serving: bool,
    pub sealed: bool,
    pub same_carriage: bool,
    pub same_compartment: bool,
    pub bay_offset: String,
    /// Free words on the place (同一车间, 航班号 …).
    pub place_note: String,
}

/// One trajectory stop as typed.
#[derive(Debug, Clone, Default)]
pub struct StopForm {
    pub place_kind: String,
    pub place_name: String,
    pub address: String,
    pub from_at: String,
    pub to_at: String,
    pub public: bool,
    pub key: String,
}

/// A step on a case's page.
#[derive(Debug, Clone)]
pub enum CaseAction {
    Reported,
    Investigated,
    Isolated {
        at: String,
    },
    Clinical {
        severity: String,
        hospital: String,
    },
    Reclassify {
        kind: String,
    },
    /// `occurred_at`: when the patient was discharged (Beijing time), empty = now (补录).
    Discharge {
        occurred_at: String,
    },
    Exclude,
    Infector {
        infector: String,
        note: String,
    },
    PublicSummary {
        text: String,
    },
}

/// Kinds of trajectory places (轨迹地点类型).
pub const PLACE_KINDS: [(&str, &str); 7] = [
    ("home", "居住地"),
    ("work", "工作单位"),
    ("venue", "场所"),
    ("vehicle", "交通工具"),
    ("checkpoint", "卡口"),
    ("medical", "医疗机构"),
    ("other", "其他"),
];

pub fn place_kind_label(code: &str) -> &'static str {
    PLACE_KINDS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("其他")
}

/// A case in a list (personal data masked).
#[derive(Debug, Clone, Serialize)]
pub struct CaseRow {
    pub id: i64,
    pub case_number: String,
    pub kind: String,
    pub kind_label: &'static str,
    pub name: String,
    pub id_number_masked: String,
    pub sex: String,
    pub age: Option<i64>,
    pub address: String,
    pub region_code: String,
    pub found_by_label: &'static str,
    pub found_at: i64,
    pub severity_label: &'static str,
    pub hospital: String,
    pub status: String,
    pub status_label: &'static str,
    pub report: DeadlineState,
    pub report_due: i64,
    pub investigation: DeadlineState,
    pub investigation_due: i64,
    pub infector_case_id: Option<i64>,
}

/// A contact in a list (personal data masked).
#[derive(Debug, Clone, Serialize)]
pub struct ContactRow {
    pub id: i64,
    pub case_id: i64,
    pub via_contact_id: Option<i64>,
    pub name: String,
    pub id_number_masked: String,
    pub phone_masked: String,
    pub address: String,
    pub grid_code: String,
    pub exposure_label: &'static str,
    pub first_exposure_at: i64,
    pub last_exposure_at: i64,
    pub category: String,
    pub category_label: &'static str,
    pub reason: String,
    pub status: String,
}

/// Everything a case's page shows.
#[derive(Debug, Clone, Serialize)]
pub struct CaseDetail {
    pub case: CaseRow,
    pub onset_date: Option<String>,
    pub first_positive_at: Option<i64>,
    pub reported_at: Option<i64>,
    pub investigated_at: Option<i64>,
    pub isolated_at: Option<i64>,
    pub window_opens_at: i64,
    pub regime_label: &'static str,
    pub infector: Option<CaseRow>,
    pub infector_note: String,
    pub infectees: Vec<CaseRow>,
    pub stops: Vec<CaseStopRecord>,
    pub contacts: Vec<ContactRow>,
    pub public_summary: String,
    pub bulletin_text: String,
}

/// The investigation overview of a jurisdiction.
#[derive(Debug, Clone, Serialize)]
pub struct InvestigationOverview {
    pub counts: CaseCounts,
    /// One line per child region with cases or contacts (name, counts), worst first.
    pub by_region: Vec<RegionCaseLine>,
    pub regime: Regime,
    pub regime_label: &'static str,
    pub rules_source: String,
}

/// A child region's line in the overview.
#[derive(Debug, Clone, Serialize)]
pub struct RegionCaseLine {
    pub code: String,
    pub name: String,
    pub cases: i64,
    pub active: i64,
    pub report_overdue: i64,
    pub close_contacts: i64,
    pub secondary_contacts: i64,
}

/// The chain picture's data: the layout plus what each node shows.
#[derive(Debug, Clone, Serialize)]
pub struct ChainPicture {
    pub layout: ChainLayout,
    /// Per placed case, in layout order: (case number, kind, active contacts).
    pub labels: Vec<(String, String, i64)>,
    pub cases: usize,
    pub contacts: i64,
    pub millis: u128,
}

fn case_kind(raw: &str) -> AppResult<CaseKind> {
    CaseKind::from_code(raw.trim()).ok_or_else(|| {
        AppError::Invalid(format!(
            "病例类型“{}”不认识，可选：确诊病例、无症状感染者、疑似病例、初筛阳性",
            raw.trim()
        ))
    })
}

/// A Beijing date and time typed in a form for `label`, to the minute
/// ([`time::parse_beijing_minute`]: a date alone is refused), as unix seconds.
fn form_time(raw: &str, label: &str) -> AppResult<i64> {
    typed_unix(time::parse_beijing_minute(raw, label))
}

fn optional_time(raw: &str, label: &str) -> AppResult<Option<i64>> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        form_time(raw, label).map(Some)
    }
}

fn parse_date(raw: &str, label: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| {
        AppError::Invalid(format!(
            "“{label}”应为日期，例如 2022-11-20，而不是“{}”",
            raw.trim()
        ))
    })
}

fn beijing_midnight(date: NaiveDate) -> i64 {
    time::beijing_midnight(date).timestamp()
}

fn format_beijing(unix: i64) -> String {
    china_offset()
        .timestamp_opt(unix, 0)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn optional_row(raw: &str, label: &str) -> AppResult<Option<i64>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<i64>()
        .ok()
        .filter(|n| (0..=500).contains(n))
        .map(Some)
        .ok_or_else(|| AppError::Invalid(format!("“{label}”应为0到500之间的数字，而不是“{raw}”")))
}

/// The person as identified on a form: a checked document, or only a phone.
struct Identified {
    id_type: String,
    id_number: DocumentNumber,
    phone: Option<PhoneNumber>,
    resident: Option<fangkong_store::ResidentRecord>,
}

/// The anchor of a case's look-back window: onset (midnight) or the first positive sampling.
fn window_anchor(case: &CaseRecord) -> i64 {
    case.onset_date
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .map(beijing_midnight)
        .or(case.first_positive_at)
        .unwrap_or(case.found_at)
}

/// The health-code fact of a case kind.
fn code_fact_kind(kind: &str) -> Option<fangkong_domain::health_code::FactKind> {
    use fangkong_domain::health_code::FactKind;
    match CaseKind::from_code(kind)? {
        CaseKind::Confirmed => Some(FactKind::Confirmed),
        CaseKind::Asymptomatic => Some(FactKind::Asymptomatic),
        CaseKind::Suspected => Some(FactKind::Suspected),
        CaseKind::InitialScreenPositive => Some(FactKind::InitialScreenPositive),
    }
}

fn action_name(action: &CaseAction) -> &'static str {
    match action {
        CaseAction::Reported => "reported",
        CaseAction::Investigated => "investigated",
        CaseAction::Isolated { .. } => "isolated",
        CaseAction::Clinical { .. } => "clinical",
        CaseAction::Reclassify { .. } => "reclassify",
        CaseAction::Discharge { .. } => "discharge",
        CaseAction::Exclude => "exclude",
        CaseAction::Infector { .. } => "infector",
        CaseAction::PublicSummary { .. } => "public_summary",
    }
}

/// The event detail with `{case_id}` where the new case's id goes (the store fills it in).
fn case_event_template(event: &CaseEvent) -> String {
    let json = serde_json::to_string(event).unwrap_or_default();
    json.replacen("\"case_id\":0", "\"case_id\":{case_id}", 1)
}

/// The event detail with `{contact_id}` where the new contact's id goes.
fn contact_event_template(event: &ContactEvent) -> String {
    let json = serde_json::to_string(event).unwrap_or_default();
    json.replacen("\"contact_id\":0", "\"contact_id\":{contact_id}", 1)
}

pub(crate) fn case_row(case: &CaseRecord, now: i64, today: NaiveDate) -> CaseRow {
    let rules = case.regime.tracing_rules_in(case.region_code.as_str());
    let deadlines = case_deadlines(&rules, case.found_at);
    let closed = case.status != CaseStatus::Active;
    let state = |due, done: Option<i64>| {
        // A closed case's open deadline no longer runs.
        if closed && done.is_none() {
            DeadlineState::Late
        } else {
            DeadlineState::of(due, done, now)
        }
    };
    CaseRow {
        id: case.id,
        case_number: case.case_number.clone(),
        kind: case.kind.code().into(),
        kind_label: case.kind.label_zh(),
        name: case.name.to_string(),
        id_number_masked: mask_document(&case.id_type, &case.id_number),
        sex: case.sex.map_or("", |sex| sex.label_zh()).to_string(),
        age: NaiveDate::parse_from_str(&case.birth_date, "%Y-%m-%d")
            .ok()
            .map(|b| age_on(b, today)),
        address: case.address.to_string(),
        region_code: case.region_code.to_string(),
        found_by_label: case.found_by.label_zh(),
        found_at: case.found_at,
        severity_label: case.severity.label_zh(),
        hospital: case.hospital.clone(),
        status: case.status.code().into(),
        status_label: case.status.label_zh(),
        report: state(deadlines.report_due, case.reported_at),
        report_due: deadlines.report_due,
        investigation: state(deadlines.investigation_due, case.investigated_at),
        investigation_due: deadlines.investigation_due,
        infector_case_id: case.infector_case_id,
    }
}

fn contact_row(contact: &ContactRecord) -> ContactRow {
    ContactRow {
        id: contact.id,
        case_id: contact.case_id,
        via_contact_id: contact.via_contact_id,
        name: contact.name.to_string(),
        id_number_masked: if contact.id_number.is_empty() {
            "—".into()
        } else {
            mask_document(&contact.id_type, &contact.id_number)
        },
        phone_masked: mask_phone(contact.phone.as_deref()),
        address: contact.address.to_string(),
        grid_code: contact.grid_code.clone(),
        exposure_label: contact.exposure_kind.label_zh(),
        first_exposure_at: contact.first_exposure_at,
        last_exposure_at: contact.last_exposure_at,
        category: contact.category.code().into(),
        category_label: contact.category.label_zh(),
        reason: contact.reason.clone(),
        status: contact.status.code().into(),
    }
}

/// The columns of a contact list (密接名单导入: a passenger manifest from the transport bureau, a
/// workshop roster), in template order. Only 姓名, 接触方式 and 末次接触时间 are required.
pub const CONTACT_LIST_COLUMNS: [&str; 16] = [
    "姓名",
    "证件类型",
    "证件号码",
    "联系电话",
    "现住址",
    "区划编码",
    "接触方式",
    "首次接触时间",
    "末次接触时间",
    "病例排号",
    "本人排号",
    "密闭空调",
    "同车厢或同舱",
    "同包厢",
    "服务人员",
    "有效防护",
];

/// What a contact-list import did: every row is a new contact, one already recorded, or a problem.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContactImportReport {
    pub rows: i64,
    pub close: i64,
    pub secondary: i64,
    pub general: i64,
    /// Rows whose person was already a contact of the case (a re-import changes nothing).
    pub already_recorded: i64,
    pub problems: Vec<crate::import::ProblemLine>,
}

fn yes(cell: &str) -> bool {
    matches!(cell.trim(), "是" | "1" | "Y" | "y" | "yes" | "true" | "√")
}

/// The column of a contact-list header (common variants included).
fn contact_column(header: &str) -> Option<usize> {
    let header = header
        .trim()
        .trim_start_matches('\u{feff}')
        .replace([' ', '\u{3000}'], "");
    let canonical = match header.as_str() {
        "身份证号" | "身份证号码" | "证件号" => "证件号码",
        "手机号" | "手机号码" | "电话" => "联系电话",
        "住址" | "地址" | "居住地址" => "现住址",
        "暴露方式" | "接触类型" => "接触方式",
        "座位排号" | "座位排" | "接触者排号" => "本人排号",
        other => other,
    };
    CONTACT_LIST_COLUMNS.iter().position(|c| *c == canonical)
}

impl App {
    /// Imports a list of people exposed to a case (CSV or XLSX with [`CONTACT_LIST_COLUMNS`]):
    /// each row classified by rule like a typed contact; the good rows land, every bad row is
    /// reported with its row number and the reason; importing the same list again adds nothing.
    pub async fn import_contacts(
        &self,
        actor: &Actor,
        case_id: i64,
        path: &std::path::Path,
        format: crate::import::FileFormat,
    ) -> AppResult<ContactImportReport> {
        use crate::import::{FileLine, ProblemLine, for_each_line};
        actor.require(Permission::InvestigateCases)?;
        self.visible_case(actor, case_id).await?;
        let mut lines = Vec::new();
        let is_header = |cells: &[String]| {
            let columns: Vec<Option<usize>> = cells.iter().map(|h| contact_column(h)).collect();
            [0usize, 6, 8]
                .iter()
                .all(|required| columns.contains(&Some(*required)))
        };
        for_each_line(path, format, is_header, |line| {
            lines.push(line);
            lines.len() <= 20_001
        })?;
        if lines.len() > 20_001 {
            return Err(AppError::Invalid(
                "一次最多导入20,000名接触者，请分批导入".into(),
            ));
        }
        let mut report = ContactImportReport::default();
        let mut columns: Vec<Option<usize>> = Vec::new();
        for line in lines {
            let (row_number, cells) = match line {
                FileLine::Unreadable(row_number, message) => {
                    report.rows += 1;
                    report.problems.push(ProblemLine {
                        row_number,
                        column: String::new(),
                        message,
                    });
                    continue;
                }
                FileLine::Cells(row_number, cells) => (row_number, cells),
            };
            if columns.is_empty() {
                columns = cells.iter().map(|h| contact_column(h)).collect();
                for required in [0usize, 6, 8] {
                    if !columns.contains(&Some(required)) {
                        return Err(AppError::Invalid(format!(
                            "表头缺少“{}”列；模板列为：{}",
                            CONTACT_LIST_COLUMNS[required],
                            CONTACT_LIST_COLUMNS.join(",")
                        )));
                    }
                }
                continue;
            }
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            report.rows += 1;
            let mut field = [""; 16];
            for (cell, column) in cells.iter().zip(&columns) {
                if let Some(c) = column {
                    field[*c] = cell.as_str();
                }
            }
            let form = ContactForm {
                name: field[0].to_string(),
                id_type: field[1].to_string(),
                id_number: field[2].to_string(),
                phone: field[3].to_string(),
                address: field[4].to_string(),
                region_code: field[5].to_string(),
                exposure_kind: field[6].to_string(),
                first_exposure_at: if field[7].trim().is_empty() {
                    field[8].to_string()
                } else {
                    field[7].to_string()
                },
                last_exposure_at: field[8].to_string(),
                case_row: field[9].to_string(),
                contact_row: field[10].to_string(),
                sealed: yes(field[11]),
                same_carriage: yes(field[12]),
                same_compartment: yes(field[13]),
                crew_serving: yes(field[14]),
                protected: yes(field[15]),
                ..Default::default()
            };
            match self.record_contact(actor, case_id, &form).await {
                Ok((_, c)) => match c.category {
                    ContactCategory::Close => report.close += 1,
                    ContactCategory::Secondary => report.secondary += 1,
                    ContactCategory::General => report.general += 1,
                },
                Err(AppError::Conflict(_)) => report.already_recorded += 1,
                Err(AppError::Invalid(message)) => report.problems.push(ProblemLine {
                    row_number,
                    column: String::new(),
                    message,
                }),
                Err(other) => return Err(other),
            }
        }
        if report.close + report.secondary > 0 {
            self.feed_health_codes().await;
        }
        // Every contact the list added was written with its own audit record; this one records
        // the upload itself (rows, new, problems), like every import.
        audit_by(
            self,
            actor,
            "import_contacts",
            &format!("case:{case_id}"),
            &format!(
                "{} rows, {} new, {} problems",
                report.rows,
                report.close + report.secondary + report.general,
                report.problems.len()
            ),
        )
        .await?;
        Ok(report)
    }
}
