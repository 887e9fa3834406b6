//! Epidemiological investigation (流调溯源): cases, trajectories, contacts classified by rule, chains.
//!
//! A case opens from a single-tube positive of mass testing (`single_positive` event, at once) or by
//! an epidemiologist; its 2-hour report and 24-hour investigation deadlines are tracked. Contacts
//! are classified by the domain's rule from the exposure and the regime's look-back window; the
//! reason is kept with the contact. Every case and every close or secondary contact is told to the
//! other modules as a `person_events` row written with it (health codes, leads, isolation).

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use fangkong_domain::ids::{IdDocument, IdType};
use fangkong_domain::investigation::{
    CaseKind, ChainCase, ChainLayout, Classification, ContactCategory, DeadlineState, Exposure,
    ExposureKind, FoundBy, Regime, Severity, TracingRules, VehiclePosition, age_on, case_deadlines,
    case_window, classify_contact, classify_secondary, layout_chains,
};
use fangkong_domain::person_event::{self, CaseEvent, ContactEvent};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Permission;
use fangkong_store::investigation::{
    CaseCounts, CaseFilter, CaseRecord, CaseStopRecord, CaseUpdate, CaseWrite, ContactRecord,
    ContactWrite,
};
use fangkong_store::{CodePerson, FactWrite};
use serde::Serialize;

use crate::population::{mask_document, mask_phone};
use crate::scope::load_within;
use crate::{Actor, App, AppError, AppResult, audit_by, china_offset, parse_region_code};

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

/// A case as the epidemiologist types it (流调登记).
#[derive(Debug, Clone, Default)]
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

/// A person exposed, as the epidemiologist types it.
#[derive(Debug, Clone, Default)]
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
    Isolated { at: String },
    Clinical { severity: String, hospital: String },
    Reclassify { kind: String },
    Discharge,
    Exclude,
    Infector { infector: String, note: String },
    PublicSummary { text: String },
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

/// Parses a Beijing date and time typed in a form: 'YYYY-MM-DD HH:MM' or the browser's
/// 'YYYY-MM-DDTHH:MM'.
pub fn parse_beijing_time(raw: &str, label: &str) -> AppResult<i64> {
    let text = raw.trim().replace('T', " ");
    let parsed = NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S"))
        .map_err(|_| {
            AppError::Invalid(format!(
                "“{label}”应为日期和时间，例如 2022-11-20 08:30，而不是“{}”",
                raw.trim()
            ))
        })?;
    china_offset()
        .from_local_datetime(&parsed)
        .single()
        .map(|t| t.timestamp())
        .ok_or_else(|| AppError::Invalid(format!("“{label}”不是有效的时间")))
}

fn optional_time(raw: &str, label: &str) -> AppResult<Option<i64>> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        parse_beijing_time(raw, label).map(Some)
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
    china_offset()
        .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .single()
        .map(|t| t.timestamp())
        .unwrap_or_default()
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
    id_number: String,
    phone: Option<String>,
    resident: Option<fangkong_store::ResidentRecord>,
}

impl App {
    /// The prevention-and-control regime in force: the 9th edition unless switched.
    pub async fn tracing_regime(&self) -> AppResult<Regime> {
        Ok(self
            .store
            .setting(REGIME_SETTING)
            .await?
            .and_then(|code| Regime::from_code(&code))
            .unwrap_or(Regime::Ninth))
    }

    /// Switches the regime (a province-level decision: administrators and commanders of a province).
    pub async fn set_tracing_regime(&self, actor: &Actor, code: &str) -> AppResult<Regime> {
        actor.require(Permission::InvestigateCases)?;
        if actor.jurisdiction.as_str().len() != 2 {
            return Err(AppError::Invalid(
                "防控方案版本由省级指挥部切换，请联系省级管理员".into(),
            ));
        }
        let regime = Regime::from_code(code.trim())
            .ok_or_else(|| AppError::Invalid(format!("不认识的方案版本“{}”", code.trim())))?;
        self.store
            .put_setting(REGIME_SETTING, regime.code())
            .await?;
        audit_by(
            self,
            actor,
            "set_tracing_regime",
            regime.code(),
            regime.label_zh(),
        )
        .await?;
        Ok(regime)
    }

    async fn identify(&self, id_type: &str, id_number: &str, phone: &str) -> AppResult<Identified> {
        let phone = phone.trim();
        let phone = if phone.is_empty() {
            None
        } else {
            Some(
                fangkong_domain::phone::PhoneNumber::parse(phone)
                    .map_err(AppError::Invalid)?
                    .as_str()
                    .to_string(),
            )
        };
        if id_number.trim().is_empty() {
            if phone.is_none() {
                return Err(AppError::Invalid(
                    "请至少填写证件号码或联系电话，否则无法落地查人".into(),
                ));
            }
            return Ok(Identified {
                id_type: String::new(),
                id_number: String::new(),
                phone,
                resident: None,
            });
        }
        let id_type = if id_type.trim().is_empty() {
            IdType::MainlandId
        } else {
            IdType::parse(id_type).map_err(AppError::Invalid)?
        };
        let document = IdDocument::parse(id_type, id_number).map_err(AppError::Invalid)?;
        let number = document.number().to_string();
        let type_code = document.id_type().code().to_string();
        // The register anywhere: the person's grid routes the lead, whoever's jurisdiction it is.
        let resident = self.resident_by_document(&type_code, &number).await?;
        Ok(Identified {
            id_type: type_code,
            id_number: number,
            phone,
            resident,
        })
    }

    async fn case_number_prefix(&self, region: &str) -> AppResult<String> {
        let county = &region[..region.len().min(6)];
        let name = match self.store.region(county).await? {
            Some(r) => r.name,
            None => county.to_string(),
        };
        let trimmed = name
            .trim_end_matches(['区', '县', '市'])
            .chars()
            .take(4)
            .collect::<String>();
        Ok(if trimmed.is_empty() { name } else { trimmed })
    }

    async fn visible_case(&self, actor: &Actor, case_id: i64) -> AppResult<CaseRecord> {
        let case = load_within(actor, self.store.case(case_id)).await?;
        Ok(case)
    }

    /// Opens a case (流调登记). Returns the case id; a retry with the same key returns the same id.
    pub async fn open_case(&self, actor: &Actor, form: &CaseForm) -> AppResult<i64> {
        actor.require(Permission::InvestigateCases)?;
        let kind = case_kind(&form.kind)?;
        let found_by = FoundBy::from_code(form.found_by.trim()).unwrap_or(FoundBy::Other);
        let severity = if form.severity.trim().is_empty() {
            if kind == CaseKind::Asymptomatic {
                Severity::None
            } else {
                Severity::Mild
            }
        } else {
            Severity::from_code(form.severity.trim()).ok_or_else(|| {
                AppError::Invalid(format!("临床分型“{}”不认识", form.severity.trim()))
            })?
        };
        let person = self
            .identify(&form.id_type, &form.id_number, &form.phone)
            .await?;
        if person.id_number.is_empty() {
            return Err(AppError::Invalid(
                "病例须填写证件号码（网络直报需要身份信息）".into(),
            ));
        }
        let now = self.now_unix();
        let found_at = optional_time(&form.found_at, "发现时间")?.unwrap_or(now);
        if found_at > now + 600 {
            return Err(AppError::Invalid("发现时间在将来，请核对".into()));
        }
        let onset_date = if form.onset_date.trim().is_empty() {
            None
        } else {
            Some(parse_date(&form.onset_date, "发病日期")?)
        };
        let first_positive_at = optional_time(&form.first_positive_at, "首次阳性采样时间")?;
        if kind.has_onset() && onset_date.is_none() && first_positive_at.is_none() {
            return Err(AppError::Invalid(format!(
                "{}须填写发病日期（无症状的请选择“无症状感染者”）",
                kind.label_zh()
            )));
        }
        if !kind.has_onset() && first_positive_at.is_none() {
            return Err(AppError::Invalid(format!(
                "{}须填写首次阳性标本的采样时间",
                kind.label_zh()
            )));
        }
        if let Some(onset) = onset_date
            && beijing_midnight(onset) > now
        {
            return Err(AppError::Invalid("发病日期在将来，请核对".into()));
        }
        if first_positive_at.is_some_and(|t| t > now + 600) {
            return Err(AppError::Invalid("首次阳性采样时间在将来，请核对".into()));
        }
        let isolated_at = optional_time(&form.isolated_at, "隔离时间")?;
        let (grid_code, region_code, name, address, resident_id) = match &person.resident {
            Some(r) => (
                r.grid_code.clone(),
                r.grid_code.clone(),
                if form.name.trim().is_empty() {
                    r.name.clone()
                } else {
                    form.name.trim().to_string()
                },
                if form.address.trim().is_empty() {
                    r.address.clone()
                } else {
                    form.address.trim().to_string()
                },
                Some(r.id),
            ),
            None => {
                if form.region_code.trim().is_empty() {
                    return Err(AppError::Invalid(
                        "该人员不在实有人口库中：请填写其现住地的区划编码（如 130109110201）"
                            .into(),
                    ));
                }
                let region = parse_region_code(&form.region_code)?;
                (
                    String::new(),
                    region.as_str().to_string(),
                    form.name.trim().to_string(),
                    form.address.trim().to_string(),
                    None,
                )
            }
        };
        if name.is_empty() {
            return Err(AppError::Invalid("请填写病例姓名".into()));
        }
        actor.require_within(&RegionCode::parse(&region_code).map_err(AppError::Internal)?)?;
        if let Some(open) = self
            .store
            .open_case_of(&person.id_type, &person.id_number)
            .await?
        {
            let same_retry = !form.case_key.trim().is_empty()
                && open.case_key == format!("client:{}", form.case_key.trim());
            if !same_retry {
                return Err(AppError::Conflict(format!(
                    "该人员已有未结案的病例（{}），请在原病例上更新，不要重复登记",
                    open.case_number
                )));
            }
        }
        let infector_case_id = self.resolve_infector(actor, &form.infector, None).await?;
        let regime = self.tracing_regime().await?;
        let (sex, birth_date) = match IdDocument::parse(
            IdType::parse(&person.id_type).map_err(AppError::Internal)?,
            &person.id_number,
        )
        .ok()
        .and_then(|d| d.mainland())
        {
            Some(id) => (id.sex().label_zh().to_string(), id.birth_date().to_string()),
            None => (
                person
                    .resident
                    .as_ref()
                    .map(|r| r.sex.clone())
                    .unwrap_or_default(),
                person
                    .resident
                    .as_ref()
                    .map(|r| r.birth_date.clone())
                    .unwrap_or_default(),
            ),
        };
        let case_key = if form.case_key.trim().is_empty() {
            format!("form:{}:{}:{}", person.id_type, person.id_number, now)
        } else {
            format!("client:{}", form.case_key.trim())
        };
        let event = CaseEvent {
            case_id: 0,
            case_kind: kind.code().to_string(),
            name: name.clone(),
            address: address.clone(),
            hospital: form.hospital.trim().to_string(),
        };
        let write = CaseWrite {
            case_key,
            case_number_prefix: self.case_number_prefix(&region_code).await?,
            kind: kind.code().to_string(),
            id_type: person.id_type.clone(),
            id_number: person.id_number.clone(),
            resident_id,
            name,
            sex,
            birth_date,
            phone: person
                .phone
                .clone()
                .or_else(|| person.resident.as_ref().and_then(|r| r.phone.clone())),
            address,
            grid_code,
            region_code,
            onset_date: onset_date.map(|d| d.to_string()),
            first_positive_at,
            found_by: found_by.code().to_string(),
            found_at,
            severity: severity.code().to_string(),
            hospital: form.hospital.trim().chars().take(100).collect(),
            regime: regime.code().to_string(),
            reported_at: None,
            isolated_at,
            infector_case_id,
            infector_note: String::new(),
            created_by: actor.display_name.clone(),
            created_at: now,
            event_detail: case_event_template(&event),
        };
        let (id, created) = self.store.insert_case(&write).await?;
        if created {
            audit_by(self, actor, "create", &format!("case:{id}"), kind.code()).await?;
            self.feed_health_codes().await;
        }
        Ok(id)
    }

    async fn resolve_infector(
        &self,
        actor: &Actor,
        raw: &str,
        case_id: Option<i64>,
    ) -> AppResult<Option<i64>> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        // A case number ends in its id ("藁城-00012"); a bare number is the id.
        let id = raw
            .rsplit('-')
            .next()
            .and_then(|tail| tail.trim_start_matches('0').parse::<i64>().ok())
            .ok_or_else(|| AppError::Invalid(format!("传染来源“{raw}”不是病例编号")))?;
        let infector = self
            .store
            .case(id)
            .await?
            .ok_or_else(|| AppError::Invalid(format!("没有找到传染来源病例“{raw}”")))?;
        // A case of another jurisdiction answers like a missing one.
        if !actor
            .jurisdiction
            .contains(&RegionCode::parse(&infector.region_code).map_err(AppError::Internal)?)
        {
            return Err(AppError::Invalid(format!("没有找到传染来源病例“{raw}”")));
        }
        if let Some(case_id) = case_id {
            if infector.id == case_id {
                return Err(AppError::Invalid("病例不能是自己的传染来源".into()));
            }
            let ancestors = self.store.infector_ancestors(infector.id, 100_000).await?;
            if ancestors.contains(&case_id) {
                return Err(AppError::Invalid(format!(
                    "{}是由本病例传染的（在其传播链下游），不能再作为本病例的传染来源",
                    infector.case_number
                )));
            }
        }
        Ok(Some(infector.id))
    }

    /// Opens initial-screen-positive cases from mass testing's single positives (at once after a
    /// results upload, and in the background pass). Returns the events read.
    pub async fn sync_case_events(&self) -> AppResult<usize> {
        let mut total = 0;
        loop {
            let events = self
                .unread_person_events(EVENT_CURSOR_SETTING, 2_000)
                .await?;
            let Some(last) = events.last().map(|e| e.id) else {
                return Ok(total);
            };
            let regime = self.tracing_regime().await?;
            for event in events.iter().filter(|e| e.kind == "single_positive") {
                if self
                    .store
                    .open_case_of(&event.id_type, &event.id_number)
                    .await?
                    .is_some()
                {
                    continue;
                }
                let resident = match event.resident_id {
                    Some(id) => self.store.resident(id).await?,
                    None => None,
                };
                let region_code = if event.grid_code.is_empty() {
                    continue;
                } else {
                    event.grid_code.clone()
                };
                let (name, sex, birth, address, phone) = match &resident {
                    Some(r) => (
                        r.name.clone(),
                        r.sex.clone(),
                        r.birth_date.clone(),
                        r.address.clone(),
                        r.phone.clone(),
                    ),
                    None => (
                        "（未登记）".into(),
                        String::new(),
                        String::new(),
                        String::new(),
                        None,
                    ),
                };
                let case_event = CaseEvent {
                    case_id: 0,
                    case_kind: CaseKind::InitialScreenPositive.code().to_string(),
                    name: name.clone(),
                    address: address.clone(),
                    hospital: String::new(),
                };
                let write = CaseWrite {
                    case_key: format!("event:{}", event.id),
                    case_number_prefix: self.case_number_prefix(&region_code).await?,
                    kind: CaseKind::InitialScreenPositive.code().to_string(),
                    id_type: event.id_type.clone(),
                    id_number: event.id_number.clone(),
                    resident_id: event.resident_id,
                    name,
                    sex,
                    birth_date: birth,
                    phone,
                    address,
                    grid_code: event.grid_code.clone(),
                    region_code,
                    onset_date: None,
                    first_positive_at: Some(event.at),
                    found_by: FoundBy::MassTesting.code().to_string(),
                    found_at: event.at,
                    severity: Severity::None.code().to_string(),
                    hospital: String::new(),
                    regime: regime.code().to_string(),
                    reported_at: None,
                    isolated_at: None,
                    infector_case_id: None,
                    infector_note: String::new(),
                    created_by: "system".into(),
                    created_at: self.now_unix(),
                    event_detail: case_event_template(&case_event),
                };
                self.store.insert_case(&write).await?;
            }
            self.mark_person_events_read(EVENT_CURSOR_SETTING, last)
                .await?;
            total += events.len();
        }
    }

    /// A step on a case: report done, investigation done, isolated, clinical change, reclassified,
    /// discharged, excluded, infector, bulletin words.
    pub async fn update_case(
        &self,
        actor: &Actor,
        case_id: i64,
        action: &CaseAction,
    ) -> AppResult<()> {
        actor.require(Permission::InvestigateCases)?;
        let case = self.visible_case(actor, case_id).await?;
        let now = self.now_unix();
        if case.status != "active" && !matches!(action, CaseAction::PublicSummary { .. }) {
            return Err(AppError::Conflict("该病例已结案，不能再修改".into()));
        }
        let update = match action {
            CaseAction::Reported => CaseUpdate::Reported { at: now },
            CaseAction::Investigated => CaseUpdate::Investigated { at: now },
            CaseAction::Isolated { at } => {
                let at = optional_time(at, "隔离时间")?.unwrap_or(now);
                if at > now + 600 {
                    return Err(AppError::Invalid("隔离时间在将来，请核对".into()));
                }
                CaseUpdate::Isolated { at }
            }
            CaseAction::Clinical { severity, hospital } => CaseUpdate::Clinical {
                severity: Severity::from_code(severity.trim())
                    .ok_or_else(|| {
                        AppError::Invalid(format!("临床分型“{}”不认识", severity.trim()))
                    })?
                    .code()
                    .to_string(),
                hospital: hospital.trim().chars().take(100).collect(),
            },
            CaseAction::Reclassify { kind } => {
                let kind = case_kind(kind)?;
                if kind.code() == case.kind {
                    return Ok(());
                }
                CaseUpdate::Kind {
                    kind: kind.code().to_string(),
                }
            }
            CaseAction::Discharge => CaseUpdate::Closed {
                status: "discharged".into(),
                at: now,
                event_kind: person_event::CASE_DISCHARGED.into(),
                event_detail: format!("{{\"case_id\":{case_id}}}"),
            },
            CaseAction::Exclude => {
                if case.kind == CaseKind::Confirmed.code()
                    || case.kind == CaseKind::Asymptomatic.code()
                {
                    return Err(AppError::Invalid(
                        "确诊病例和无症状感染者不能排除；治愈请选择“出院”".into(),
                    ));
                }
                CaseUpdate::Closed {
                    status: "excluded".into(),
                    at: now,
                    event_kind: person_event::CASE_EXCLUDED.into(),
                    event_detail: format!("{{\"case_id\":{case_id}}}"),
                }
            }
            CaseAction::Infector { infector, note } => CaseUpdate::Infector {
                infector_case_id: self
                    .resolve_infector(actor, infector, Some(case_id))
                    .await?,
                note: note.trim().chars().take(200).collect(),
            },
            CaseAction::PublicSummary { text } => CaseUpdate::PublicSummary {
                text: text.trim().chars().take(2_000).collect(),
            },
        };
        self.store.update_case(case_id, &update).await?;
        if let CaseUpdate::Kind { kind } = &update
            && let Some(fact_kind) = code_fact_kind(kind)
        {
            // A case reclassified (初筛阳性 → 确诊) gets the fact of its new kind at once.
            let write = FactWrite {
                fact_key: format!("case:{case_id}:{kind}"),
                person: CodePerson {
                    id_type: case.id_type.clone(),
                    id_number: case.id_number.clone(),
                },
                resident_id: case.resident_id,
                grid_code: case.grid_code.clone(),
                kind: fact_kind.code().to_string(),
                anchor: now,
                ended_at: None,
                colour: None,
                note: Some(format!("流调订正为{}", case_kind(kind)?.label_zh())),
                source: format!("流调：病例{}", case.case_number),
                created_by: actor.display_name.clone(),
            };
            self.change_code_facts(&[write], &[], "流调订正病例类型")
                .await?;
        }
        audit_by(
            self,
            actor,
            "update",
            &format!("case:{case_id}"),
            action_name(action),
        )
        .await?;
        if matches!(update, CaseUpdate::Closed { .. }) {
            self.feed_health_codes().await;
        }
        Ok(())
    }

    /// Adds a trajectory stop entered by the epidemiologist.
    pub async fn add_case_stop(
        &self,
        actor: &Actor,
        case_id: i64,
        form: &StopForm,
    ) -> AppResult<()> {
        actor.require(Permission::InvestigateCases)?;
        let case = self.visible_case(actor, case_id).await?;
        let now = self.now_unix();
        let from_at = parse_beijing_time(&form.from_at, "开始时间")?;
        let to_at = optional_time(&form.to_at, "结束时间")?;
        if to_at.is_some_and(|to| to < from_at) {
            return Err(AppError::Invalid("结束时间早于开始时间，请核对".into()));
        }
        if from_at > now + 600 {
            return Err(AppError::Invalid("轨迹时间在将来，请核对".into()));
        }
        if form.place_name.trim().is_empty() {
            return Err(AppError::Invalid(
                "请填写地点名称（如 某某超市、G1234次列车）".into(),
            ));
        }
        let kind = PLACE_KINDS
            .iter()
            .find(|(c, l)| *c == form.place_kind.trim() || *l == form.place_kind.trim())
            .map(|(c, _)| *c)
            .unwrap_or("other");
        let key = if form.key.trim().is_empty() {
            format!("entered:{from_at}:{}", form.place_name.trim())
        } else {
            format!("client:{}", form.key.trim())
        };
        self.store
            .insert_case_stops(&[CaseStopRecord {
                id: 0,
                case_id,
                from_at,
                to_at,
                place_kind: kind.to_string(),
                place_name: form.place_name.trim().chars().take(100).collect(),
                address: form.address.trim().chars().take(200).collect(),
                region_code: case.region_code.clone(),
                source: "entered".into(),
                source_key: key,
                public: form.public,
                created_by: actor.display_name.clone(),
                created_at: now,
            }])
            .await?;
        audit_by(self, actor, "create", &format!("case_stop:{case_id}"), kind).await?;
        Ok(())
    }

    /// Pulls the case's passages at checkpoints and venue-code scans over its look-back window into
    /// the trajectory (idempotent). Returns how many stops were new.
    pub async fn pull_case_itinerary(&self, actor: &Actor, case_id: i64) -> AppResult<u64> {
        actor.require(Permission::InvestigateCases)?;
        let case = self.visible_case(actor, case_id).await?;
        let rules = self.rules_of(&case);
        let window = case_window(&rules, window_anchor(&case), case.isolated_at);
        let until = case.isolated_at.unwrap_or_else(|| self.now_unix()) + 1;
        let person = CodePerson {
            id_type: case.id_type.clone(),
            id_number: case.id_number.clone(),
        };
        let stops = self
            .store
            .itinerary_of(&person, window.opens_at, until)
            .await?;
        audit_by(
            self,
            actor,
            "read_itinerary",
            &format!("case:{case_id}"),
            &format!("{} stops", stops.len()),
        )
        .await?;
        let now = self.now_unix();
        let rows: Vec<CaseStopRecord> = stops
            .iter()
            .map(|s| CaseStopRecord {
                id: 0,
                case_id,
                from_at: s.at,
                to_at: None,
                place_kind: if s.place_kind == "venue" {
                    "venue"
                } else {
                    "checkpoint"
                }
                .into(),
                place_name: s.place_name.clone(),
                address: String::new(),
                region_code: case.region_code.clone(),
                source: s.place_kind.clone(),
                source_key: format!("{}:{}:{}", s.place_kind, s.place_id, s.at),
                public: s.place_kind == "venue",
                created_by: actor.display_name.clone(),
                created_at: now,
            })
            .collect();
        Ok(self.store.insert_case_stops(&rows).await?)
    }

    fn rules_of(&self, case: &CaseRecord) -> TracingRules {
        Regime::from_code(&case.regime)
            .unwrap_or(Regime::Ninth)
            .tracing_rules_in(&case.region_code)
    }

    /// Records a person exposed to the case, classified by rule; returns the contact id and the
    /// classification. A close or secondary contact is told to the other modules at once.
    pub async fn add_contact(
        &self,
        actor: &Actor,
        case_id: i64,
        form: &ContactForm,
    ) -> AppResult<(i64, Classification)> {
        let (id, classification) = self.record_contact(actor, case_id, form).await?;
        if classification.category != ContactCategory::General {
            self.feed_health_codes().await;
        }
        Ok((id, classification))
    }

    /// [`App::add_contact`] without the health-code pass (a list import runs it once at the end).
    async fn record_contact(
        &self,
        actor: &Actor,
        case_id: i64,
        form: &ContactForm,
    ) -> AppResult<(i64, Classification)> {
        actor.require(Permission::InvestigateCases)?;
        let case = load_within(actor, self.store.case(case_id))
            .await
            .map_err(|e| match e {
                AppError::NotFound(_) => {
                    AppError::NotFound("该病例：密接必须关联到一个已登记的病例")
                }
                other => other,
            })?;
        if case.status == "excluded" {
            return Err(AppError::Conflict("该病例已排除，不再追踪密接".into()));
        }
        let kind = ExposureKind::from_code(form.exposure_kind.trim()).ok_or_else(|| {
            AppError::Invalid(format!(
                "请选择接触方式（“{}”不认识）",
                form.exposure_kind.trim()
            ))
        })?;
        let exposure = Exposure {
            kind,
            first_at: parse_beijing_time(&form.first_exposure_at, "首次接触时间")?,
            last_at: parse_beijing_time(&form.last_exposure_at, "末次接触时间")?,
            protected: form.protected,
            vehicle: VehiclePosition {
                case_row: optional_row(&form.case_row, "病例座位排号")?,
                contact_row: optional_row(&form.contact_row, "接触者座位排号")?,
                crew_serving: form.crew_serving,
                sealed: form.sealed,
                same_carriage: form.same_carriage,
                same_compartment: form.same_compartment,
                bay_offset: optional_row(&form.bay_offset, "相隔格数")?,
            },
        };
        let person = self
            .identify(&form.id_type, &form.id_number, &form.phone)
            .await?;
        if !person.id_number.is_empty()
            && person.id_number == case.id_number
            && person.id_type == case.id_type
        {
            return Err(AppError::Invalid("接触者不能是病例本人".into()));
        }
        let regime = self.tracing_regime().await?;
        let rules = regime.tracing_rules_in(&case.region_code);
        let now = self.now_unix();
        let words = |e: fangkong_domain::investigation::ExposureError| {
            AppError::Invalid(e.message_zh(format_beijing))
        };
        let (classification, via) = if form.via_contact_id.trim().is_empty() {
            let window = case_window(&rules, window_anchor(&case), case.isolated_at);
            (
                classify_contact(&rules, &window, &exposure, now).map_err(words)?,
                None,
            )
        } else {
            let via_id: i64 = form
                .via_contact_id
                .trim()
                .parse()
                .map_err(|_| AppError::Invalid("“经由的密接”应为密接编号".into()))?;
            let via = self
                .store
                .contact(via_id)
                .await?
                .filter(|c| c.case_id == case_id)
                .ok_or_else(|| {
                    AppError::Invalid("次密接须关联到本病例的一名密接：没有找到该密接".into())
                })?;
            if via.category != ContactCategory::Close.code() || via.status != "active" {
                return Err(AppError::Invalid(
                    "次密接只能关联到密切接触者（该人员不是本病例的在管密接）".into(),
                ));
            }
            (
                classify_secondary(
                    &rules,
                    via.first_exposure_at,
                    via.isolated_at,
                    &exposure,
                    now,
                )
                .map_err(words)?,
                Some(via),
            )
        };
        let (grid_code, resident_id, name, address) = match &person.resident {
            Some(r) => (
                r.grid_code.clone(),
                Some(r.id),
                if form.name.trim().is_empty() {
                    r.name.clone()
                } else {
                    form.name.trim().to_string()
                },
                if form.address.trim().is_empty() {
                    r.address.clone()
                } else {
                    form.address.trim().to_string()
                },
            ),
            None => {
                let grid = if form.region_code.trim().is_empty() {
                    String::new()
                } else {
                    parse_region_code(&form.region_code)?.as_str().to_string()
                };
                (
                    grid,
                    None,
                    form.name.trim().to_string(),
                    form.address.trim().to_string(),
                )
            }
        };
        if name.is_empty() {
            return Err(AppError::Invalid("请填写接触者姓名".into()));
        }
        // Nowhere to route the lead: it waits in the case's county to be assigned (待分派).
        let grid_code = if grid_code.is_empty() {
            case.region_code[..case.region_code.len().min(6)].to_string()
        } else {
            grid_code
        };
        if address.is_empty() && grid_code.is_empty() && person.resident.is_none() {
            return Err(AppError::Invalid(
                "该人员不在实有人口库中：请填写现住址或区划编码，以便推送到所在网格落地查人".into(),
            ));
        }
        let person_key = if person.id_number.is_empty() {
            format!("phone:{}", person.phone.clone().unwrap_or_default())
        } else {
            format!("{}:{}", person.id_type, person.id_number)
        };
        let event_kind = match classification.category {
            ContactCategory::Close => Some(person_event::CLOSE_CONTACT.to_string()),
            ContactCategory::Secondary => Some(person_event::SECONDARY_CONTACT.to_string()),
            ContactCategory::General => None,
        };
        let event = ContactEvent {
            contact_id: 0,
            case_id,
            via_contact_id: via.as_ref().map(|v| v.id),
            last_exposure: exposure.last_at,
            regime: regime.code().to_string(),
            name: name.clone(),
            phone: person.phone.clone().unwrap_or_default(),
            address: address.clone(),
        };
        let detail = serde_json::json!({
            "vehicle": exposure.vehicle,
            "place_note": form.place_note.trim().chars().take(200).collect::<String>(),
        });
        let write = ContactWrite {
            case_id,
            case_region_code: case.region_code.clone(),
            via_contact_id: via.as_ref().map(|v| v.id),
            person_key,
            id_type: person.id_type.clone(),
            id_number: person.id_number.clone(),
            resident_id,
            name,
            phone: person
                .phone
                .clone()
                .or_else(|| person.resident.as_ref().and_then(|r| r.phone.clone())),
            address,
            grid_code,
            exposure_kind: kind.code().to_string(),
            exposure_detail: detail.to_string(),
            protected: exposure.protected,
            first_exposure_at: exposure.first_at,
            last_exposure_at: exposure.last_at,
            category: classification.category.code().to_string(),
            reason: classification.reason.clone(),
            regime: regime.code().to_string(),
            created_by: actor.display_name.clone(),
            created_at: now,
            event_kind,
            event_detail: contact_event_template(&event),
        };
        let id = match self.store.insert_contact(&write).await {
            Ok(id) => id,
            Err(e) if e.is_duplicate_contact() => {
                return Err(AppError::Conflict(
                    "该人员已登记为本病例的接触者，请在原记录上核对".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        audit_by(
            self,
            actor,
            "create",
            &format!("contact:{id}"),
            classification.category.code(),
        )
        .await?;
        Ok((id, classification))
    }

    /// Withdraws a contact (entered by mistake, or the investigation ruled the exposure out).
    pub async fn clear_contact(
        &self,
        actor: &Actor,
        contact_id: i64,
        reason: &str,
    ) -> AppResult<()> {
        actor.require(Permission::InvestigateCases)?;
        let contact = load_within(actor, self.store.contact(contact_id)).await?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::Invalid("解除密接须写明原因".into()));
        }
        let event = ContactEvent {
            contact_id,
            case_id: contact.case_id,
            via_contact_id: contact.via_contact_id,
            last_exposure: contact.last_exposure_at,
            regime: contact.regime.clone(),
            name: contact.name.clone(),
            phone: contact.phone.clone().unwrap_or_default(),
            address: contact.address.clone(),
        };
        let detail =
            serde_json::to_string(&event).map_err(|e| AppError::Internal(e.to_string()))?;
        if !self
            .store
            .clear_contact(contact_id, reason, self.now_unix(), &detail)
            .await?
        {
            return Err(AppError::Conflict("该接触者已解除".into()));
        }
        audit_by(
            self,
            actor,
            "clear",
            &format!("contact:{contact_id}"),
            reason,
        )
        .await?;
        self.feed_health_codes().await;
        Ok(())
    }

    /// The investigation overview of the actor's jurisdiction.
    pub async fn investigation_overview(&self, actor: &Actor) -> AppResult<InvestigationOverview> {
        actor.require(Permission::ViewInvestigation)?;
        let regime = self.tracing_regime().await?;
        let rules = regime.tracing_rules_in(actor.jurisdiction.as_str());
        let (lower, upper) = actor.jurisdiction_range();
        let counts = self
            .store
            .case_counts(
                (&lower, &upper),
                self.now_unix(),
                rules.report_hours,
                rules.investigation_hours,
            )
            .await?;
        let child_len = match actor.jurisdiction.as_str().len() {
            2 => 4,
            4 => 6,
            6 => 9,
            9 => 12,
            _ => 15,
        };
        let mut by_region = Vec::new();
        for line in self
            .store
            .case_counts_by_child(
                (&lower, &upper),
                child_len,
                self.now_unix() - rules.report_hours * 3600,
            )
            .await?
        {
            let name = match self.store.region(&line.code).await? {
                Some(r) => r.name,
                None => line.code.clone(),
            };
            by_region.push(RegionCaseLine {
                code: line.code,
                name,
                cases: line.cases,
                active: line.active,
                report_overdue: line.report_overdue,
                close_contacts: line.close_contacts,
                secondary_contacts: line.secondary_contacts,
            });
        }
        by_region.sort_by(|a, b| {
            (b.report_overdue, b.active, b.close_contacts).cmp(&(
                a.report_overdue,
                a.active,
                a.close_contacts,
            ))
        });
        Ok(InvestigationOverview {
            counts,
            by_region,
            regime,
            regime_label: regime.label_zh(),
            rules_source: rules.source,
        })
    }

    /// One page of the case directory (newest first); `before` pages on.
    pub async fn cases(
        &self,
        actor: &Actor,
        kind: Option<&str>,
        status: Option<&str>,
        overdue_only: bool,
        before: Option<i64>,
    ) -> AppResult<Vec<CaseRow>> {
        actor.require(Permission::ViewInvestigation)?;
        let kind = match kind.map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) => Some(case_kind(k)?.code().to_string()),
            None => None,
        };
        let rules = self
            .tracing_regime()
            .await?
            .tracing_rules_in(actor.jurisdiction.as_str());
        let now = self.now_unix();
        let filter = CaseFilter {
            kind,
            status: status
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            overdue_at: overdue_only.then_some((
                now,
                rules.report_hours,
                rules.investigation_hours,
            )),
        };
        let (lower, upper) = actor.jurisdiction_range();
        let (cases, _) = self.store.investigation_totals((&lower, &upper)).await?;
        let rows = self
            .store
            .cases_page(
                (&lower, &upper),
                &filter,
                before,
                PAGE_SIZE,
                cases > WALK_BY_ID_ABOVE,
            )
            .await?;
        let today = self.today();
        Ok(rows.iter().map(|c| case_row(c, now, today)).collect())
    }

    /// One page of the contact directory of a category (close, secondary, general).
    pub async fn contacts(
        &self,
        actor: &Actor,
        category: &str,
        before: Option<i64>,
    ) -> AppResult<Vec<ContactRow>> {
        actor.require(Permission::ViewInvestigation)?;
        let category = ContactCategory::from_code(category.trim())
            .unwrap_or(ContactCategory::Close)
            .code();
        let (lower, upper) = actor.jurisdiction_range();
        let (_, contacts) = self.store.investigation_totals((&lower, &upper)).await?;
        let rows = self
            .store
            .contacts_page(
                (&lower, &upper),
                category,
                before,
                PAGE_SIZE,
                contacts > WALK_BY_ID_ABOVE,
            )
            .await?;
        Ok(rows.iter().map(contact_row).collect())
    }

    /// Everything a case's page shows (masked; the case's own number can be revealed on the
    /// resident page, audited).
    pub async fn case_detail(&self, actor: &Actor, case_id: i64) -> AppResult<CaseDetail> {
        actor.require(Permission::ViewInvestigation)?;
        let case = self.visible_case(actor, case_id).await?;
        let now = self.now_unix();
        let today = self.today();
        let rules = self.rules_of(&case);
        let window = case_window(&rules, window_anchor(&case), case.isolated_at);
        let infector = match case.infector_case_id {
            Some(id) => self.store.case(id).await?.map(|c| case_row(&c, now, today)),
            None => None,
        };
        let infectees = self
            .store
            .infectees(case_id)
            .await?
            .iter()
            .map(|c| case_row(c, now, today))
            .collect();
        let stops = self.store.case_stops(case_id).await?;
        let contacts = self
            .store
            .contacts_of_case(case_id, CONTACTS_ON_CASE_PAGE)
            .await?
            .iter()
            .map(contact_row)
            .collect();
        let bulletin_text = self.bulletin_text(&case, &stops, 0).await?;
        Ok(CaseDetail {
            case: case_row(&case, now, today),
            onset_date: case.onset_date.clone(),
            first_positive_at: case.first_positive_at,
            reported_at: case.reported_at,
            investigated_at: case.investigated_at,
            isolated_at: case.isolated_at,
            window_opens_at: window.opens_at,
            regime_label: rules.regime.label_zh(),
            infector,
            infector_note: case.infector_note.clone(),
            infectees,
            stops,
            contacts,
            public_summary: case.public_summary.clone(),
            bulletin_text,
        })
    }

    /// The anonymised text of one case for the public bulletin: sex, age, the village, the public
    /// stops — never a name, ID number, phone or house number.
    async fn bulletin_text(
        &self,
        case: &CaseRecord,
        stops: &[CaseStopRecord],
        ordinal: usize,
    ) -> AppResult<String> {
        let village = case
            .region_code
            .get(..12)
            .unwrap_or(case.region_code.as_str());
        let place = self.region_path_name(village).await?;
        let age = NaiveDate::parse_from_str(&case.birth_date, "%Y-%m-%d")
            .ok()
            .map(|b| format!("{}岁", age_on(b, self.today())))
            .unwrap_or_default();
        let label = if ordinal > 0 {
            format!("病例{ordinal}")
        } else {
            CaseKind::from_code(&case.kind)
                .map(|k| k.label_zh())
                .unwrap_or("病例")
                .to_string()
        };
        let mut text = format!(
            "{label}：{}{}{}，现住{place}。",
            case.sex,
            if case.sex.is_empty() || age.is_empty() {
                ""
            } else {
                "，"
            },
            age
        );
        if !case.public_summary.is_empty() {
            text.push_str(&case.public_summary);
            if !case.public_summary.ends_with('。') {
                text.push('。');
            }
        }
        for stop in stops.iter().filter(|s| s.public) {
            let from = china_offset().timestamp_opt(stop.from_at, 0).single();
            let to = stop
                .to_at
                .and_then(|t| china_offset().timestamp_opt(t, 0).single());
            if let Some(from) = from {
                text.push_str(&from.format("%-m月%-d日%H:%M").to_string());
                if let Some(to) = to {
                    text.push_str(&format!("至{}", to.format("%H:%M")));
                }
                text.push_str(&format!("，{}；", stop.place_name));
            }
        }
        if text.ends_with('；') {
            text.pop();
            text.push('。');
        }
        Ok(text)
    }

    async fn region_path_name(&self, code: &str) -> AppResult<String> {
        let mut names = Vec::new();
        for len in [6usize, 9, 12] {
            if let Some(prefix) = code.get(..len)
                && let Some(r) = self.store.region(prefix).await?
            {
                names.push(r.name);
            }
        }
        Ok(if names.is_empty() {
            code.to_string()
        } else {
            names.concat()
        })
    }

    /// The public bulletin of the jurisdiction's cases found since `since` (a Beijing date).
    pub async fn case_bulletin(&self, actor: &Actor, since: NaiveDate) -> AppResult<Vec<String>> {
        actor.require(Permission::ViewInvestigation)?;
        let (lower, upper) = actor.jurisdiction_range();
        let cases = self
            .store
            .bulletin_cases((&lower, &upper), beijing_midnight(since), 500)
            .await?;
        let mut texts = Vec::with_capacity(cases.len());
        for (i, case) in cases.iter().rev().enumerate() {
            let stops = self.store.case_stops(case.id).await?;
            texts.push(self.bulletin_text(case, &stops, i + 1).await?);
        }
        Ok(texts)
    }

    /// The transmission chains of the jurisdiction, laid out (SVG is drawn by the web layer).
    pub async fn transmission_chains(&self, actor: &Actor) -> AppResult<ChainPicture> {
        actor.require(Permission::ViewInvestigation)?;
        let started = std::time::Instant::now();
        let (lower, upper) = actor.jurisdiction_range();
        let rows = self.store.chain_cases((&lower, &upper)).await?;
        let cases: Vec<ChainCase> = rows
            .iter()
            .map(|r| ChainCase {
                case_id: r.id,
                infector: r.infector_case_id,
            })
            .collect();
        let layout = layout_chains(&cases, 240);
        let by_id: std::collections::HashMap<i64, &fangkong_store::investigation::ChainCaseRow> =
            rows.iter().map(|r| (r.id, r)).collect();
        let labels = layout
            .cases
            .iter()
            .map(|p| {
                let row = by_id[&p.case_id];
                (row.case_number.clone(), row.kind.clone(), row.contacts)
            })
            .collect();
        Ok(ChainPicture {
            cases: rows.len(),
            contacts: rows.iter().map(|r| r.contacts).sum(),
            layout,
            labels,
            millis: started.elapsed().as_millis(),
        })
    }
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
        CaseAction::Discharge => "discharge",
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

fn status_label(status: &str) -> &'static str {
    match status {
        "active" => "在管",
        "discharged" => "已出院",
        "excluded" => "已排除",
        "cleared" => "已解除",
        _ => "其他",
    }
}

pub(crate) fn case_row(case: &CaseRecord, now: i64, today: NaiveDate) -> CaseRow {
    let rules = Regime::from_code(&case.regime)
        .unwrap_or(Regime::Ninth)
        .tracing_rules_in(&case.region_code);
    let deadlines = case_deadlines(&rules, case.found_at);
    let closed = case.status != "active";
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
        kind: case.kind.clone(),
        kind_label: CaseKind::from_code(&case.kind)
            .map(|k| k.label_zh())
            .unwrap_or("病例"),
        name: case.name.clone(),
        id_number_masked: mask_document(&case.id_type, &case.id_number),
        sex: case.sex.clone(),
        age: NaiveDate::parse_from_str(&case.birth_date, "%Y-%m-%d")
            .ok()
            .map(|b| age_on(b, today)),
        address: case.address.clone(),
        region_code: case.region_code.clone(),
        found_by_label: FoundBy::from_code(&case.found_by)
            .map(|f| f.label_zh())
            .unwrap_or("其他"),
        found_at: case.found_at,
        severity_label: Severity::from_code(&case.severity)
            .map(|s| s.label_zh())
            .unwrap_or("—"),
        hospital: case.hospital.clone(),
        status: case.status.clone(),
        status_label: status_label(&case.status),
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
        name: contact.name.clone(),
        id_number_masked: if contact.id_number.is_empty() {
            "—".into()
        } else {
            mask_document(&contact.id_type, &contact.id_number)
        },
        phone_masked: mask_phone(contact.phone.as_deref()),
        address: contact.address.clone(),
        grid_code: contact.grid_code.clone(),
        exposure_label: ExposureKind::from_code(&contact.exposure_kind)
            .map(|k| k.label_zh())
            .unwrap_or("其他"),
        first_exposure_at: contact.first_exposure_at,
        last_exposure_at: contact.last_exposure_at,
        category: contact.category.clone(),
        category_label: ContactCategory::from_code(&contact.category)
            .map(|c| c.label_zh())
            .unwrap_or("—"),
        reason: contact.reason.clone(),
        status: contact.status.clone(),
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
