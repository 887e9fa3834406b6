//! Investigation pages and API (流调溯源) over `app::investigation`: the case directory with its
//! deadlines, opening a case, a case's page (steps, trajectory, contacts classified by rule), the
//! contact directory, the public bulletin and the transmission-chain picture.
//!
//! The chain picture is drawn by the server as one SVG string (`chain_svg`): no template per node,
//! so 20,000 cases stay a few megabytes written in milliseconds; the `viewBox` lets the browser zoom.
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use std::fmt::Write as _;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use fangkong_app::AppError;
use fangkong_app::investigation::{
    CaseAction, CaseDetail, CaseForm, CaseRow, ChainPicture, ContactForm, ContactRow,
    InvestigationOverview, PAGE_SIZE, PLACE_KINDS, StopForm, place_kind_label,
};
use fangkong_domain::investigation::{
    CaseKind, ContactCategory, DeadlineState, ExposureKind, FoundBy, Regime, Severity,
};
use fangkong_domain::role::Permission;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::ApiError;
use crate::forms::{CsrfForm, NoFields, form_page_when, is_typed_mistake, ok_flash};
use crate::health_code::fresh_key;
use crate::mass_testing::{encode, id_types};
use crate::pages::options;
use crate::pages::{Flash, Layout, PageResult, PageUser, beijing_time, filters, render};
use crate::session::ApiUser;

/// Every form and JSON body here is a few fields.
const BODY_LIMIT: usize = 64 * 1024;
/// The bulletin looks back this many days unless told otherwise.
const BULLETIN_DAYS: i64 = 14;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/cases", get(cases_page))
        .route("/cases/regime", post(regime_submit))
        .route("/cases/new", get(new_case_page).post(new_case_submit))
        .route("/cases/bulletin", get(bulletin_page))
        .route("/cases/{id}", get(case_page))
        .route("/cases/{id}/actions", post(action_submit))
        .route("/cases/{id}/stops", post(stop_submit))
        .route("/cases/{id}/itinerary", post(itinerary_submit))
        .route("/cases/{id}/contacts", post(contact_submit))
        .route("/contacts", get(contacts_page))
        .route("/contacts/{id}/clear", post(clear_submit))
        .route("/chains", get(chains_page))
        .route("/chains.svg", get(chains_svg))
        .route("/cases/contacts-template.csv", get(contact_template))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // A passenger manifest or a roster: up to 20,000 rows.
        .route(
            "/cases/{id}/contacts/import",
            post(contact_import_submit).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
}

/// Largest contact list accepted (20,000 rows of a manifest are a few MB).
const IMPORT_LIMIT: usize = 32 * 1024 * 1024;

#[derive(Template)]
#[template(path = "investigation/contact_import.html")]
struct ContactImportPage {
    layout: Layout,
    case_id: i64,
    case_number: String,
    r: fangkong_app::investigation::ContactImportReport,
}

/// The contact-list template: the header and one example row.
async fn contact_template() -> Response {
    let mut body = String::from("\u{feff}");
    body.push_str(&fangkong_app::investigation::CONTACT_LIST_COLUMNS.join(","));
    body.push_str("\n张三,居民身份证,,13800000000,藁城区某村,130109110212,同乘飞机,2022-11-18 08:00,2022-11-18 10:30,12,14,,,,,\n");
    crate::pages::download(body.into(), "接触者名单模板.csv", "text/csv; charset=utf-8")
}

async fn contact_import_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(case_id): Path<i64>,
    mut multipart: axum::extract::Multipart,
) -> PageResult {
    let upload = crate::pages::read_upload(
        &state,
        &page.user,
        Permission::InvestigateCases,
        &mut multipart,
    )
    .await
    .map_err(|e| page.error(e))?;
    let Some((name, temp)) = upload.filter(|(name, _)| !name.is_empty()) else {
        return Err(page.error(AppError::Invalid("请选择要导入的名单文件".into())));
    };
    let format =
        fangkong_app::import::FileFormat::from_file_name(&name).map_err(|e| page.error(e))?;
    let report = state
        .app
        .import_contacts(&page.user.actor, case_id, temp.path(), format)
        .await
        .map_err(|e| page.error(e))?;
    let detail = state
        .app
        .case_detail(&page.user.actor, case_id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&ContactImportPage {
        layout: page.layout("cases"),
        case_id,
        case_number: detail.case.case_number,
        r: report,
    }))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/cases", get(api_cases).post(api_open_case))
        .route("/cases/{id}", get(api_case))
        .route("/cases/{id}/contacts", post(api_add_contact))
        .route("/chains", get(api_chains))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

// ---------------------------------------------------------------------------------------------
// Small helpers

fn time_or_dash(unix: Option<i64>) -> String {
    unix.map(beijing_time).unwrap_or_else(|| "—".into())
}

/// The CSS class of a deadline's state: overdue red, late amber, done on time green.
fn deadline_class(state: DeadlineState) -> &'static str {
    match state {
        DeadlineState::Overdue => "deadline-overdue",
        DeadlineState::Late => "warn",
        DeadlineState::OnTime => "good",
        DeadlineState::Open => "",
    }
}

fn case_kinds() -> Vec<(&'static str, &'static str)> {
    options(&CaseKind::ALL, CaseKind::code, CaseKind::label_zh)
}

fn found_bys() -> Vec<(&'static str, &'static str)> {
    options(&FoundBy::ALL, FoundBy::code, FoundBy::label_zh)
}

fn severities() -> Vec<(&'static str, &'static str)> {
    options(&Severity::ALL, Severity::code, Severity::label_zh)
}

fn exposure_kinds() -> Vec<(&'static str, &'static str)> {
    options(
        &ExposureKind::ALL,
        ExposureKind::code,
        ExposureKind::label_zh,
    )
}

fn categories() -> Vec<(&'static str, &'static str)> {
    options(
        &ContactCategory::ALL,
        ContactCategory::code,
        ContactCategory::label_zh,
    )
}

const STATUSES: [(&str, &str); 3] = [
    ("active", "在管"),
    ("discharged", "已出院"),
    ("excluded", "已排除"),
];

fn truthy(raw: &str) -> bool {
    matches!(raw.trim(), "1" | "true" | "on" | "yes")
}

/// `?before=` of a directory: empty = the first page.
fn parse_before(raw: &str) -> Result<Option<i64>, AppError> {
    match raw.trim() {
        "" => Ok(None),
        text => text.parse::<i64>().map(Some).map_err(|_| {
            AppError::Invalid(format!(
                "翻页参数“{text}”应为数字（请使用页面上的“下一页”链接）"
            ))
        }),
    }
}

/// Escapes text for XML (SVG) content and attribute values.
fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

/// A case's row as the directory and the case page show it.
pub struct CaseLine {
    pub r: CaseRow,
    pub found_at: String,
    pub report_class: &'static str,
    pub report_label: &'static str,
    pub report_due: String,
    pub investigation_class: &'static str,
    pub investigation_label: &'static str,
    pub investigation_due: String,
}

impl CaseLine {
    fn of(r: CaseRow) -> CaseLine {
        CaseLine {
            found_at: beijing_time(r.found_at),
            report_class: deadline_class(r.report),
            report_label: r.report.label_zh(),
            report_due: beijing_time(r.report_due),
            investigation_class: deadline_class(r.investigation),
            investigation_label: r.investigation.label_zh(),
            investigation_due: beijing_time(r.investigation_due),
            r,
        }
    }

    pub fn age_label(&self) -> String {
        self.r.age.map(|a| format!("{a}岁")).unwrap_or_default()
    }
}

/// A contact's row as the case page and the directory show it.
pub struct ContactLine {
    pub c: ContactRow,
    pub first: String,
    pub last: String,
    pub category_class: &'static str,
}

impl ContactLine {
    fn of(c: ContactRow) -> ContactLine {
        ContactLine {
            first: beijing_time(c.first_exposure_at),
            last: beijing_time(c.last_exposure_at),
            category_class: match c.category.as_str() {
                "close" => "bad",
                "secondary" => "warn",
                _ => "muted",
            },
            c,
        }
    }

    pub fn is_active_close(&self) -> bool {
        self.c.category == ContactCategory::Close.code() && self.c.status == "active"
    }

    pub fn status_label(&self) -> &'static str {
        match self.c.status.as_str() {
            "active" => "在管",
            "cleared" => "已解除",
            _ => "其他",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The case directory and the overview (/cases)

#[derive(Deserialize, Default)]
#[serde(default)]
struct CasesQuery {
    kind: String,
    status: String,
    overdue: String,
    before: String,
    regime: String,
}

#[derive(Template)]
#[template(path = "investigation/cases.html")]
struct CasesPage {
    layout: Layout,
    o: InvestigationOverview,
    rows: Vec<CaseLine>,
    kind: String,
    status: String,
    overdue: bool,
    next_href: Option<String>,
    kinds: Vec<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    regimes: Vec<(&'static str, &'static str)>,
    can_investigate: bool,
    chosen_regime: String,
}

async fn cases_page_with(
    state: &AppState,
    page: &PageUser,
    q: &CasesQuery,
    chosen_regime: String,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let o = state
        .app
        .investigation_overview(actor)
        .await
        .map_err(|e| page.error(e))?;
    let overdue = truthy(&q.overdue);
    let before = parse_before(&q.before).map_err(|e| page.error(e))?;
    let rows = state
        .app
        .cases(
            actor,
            Some(q.kind.as_str()),
            Some(q.status.as_str()),
            overdue,
            before,
        )
        .await
        .map_err(|e| page.error(e))?;
    let next_href = (rows.len() as i64 >= PAGE_SIZE)
        .then(|| rows.last().map(|r| r.id))
        .flatten()
        .map(|last| {
            format!(
                "/cases?kind={}&status={}&overdue={}&before={last}",
                encode(q.kind.trim()),
                encode(q.status.trim()),
                if overdue { "1" } else { "" }
            )
        });
    let mut layout = page.layout("cases");
    layout.flash = flash;
    Ok(render(&CasesPage {
        layout,
        chosen_regime: if chosen_regime.is_empty() {
            o.regime.code().to_string()
        } else {
            chosen_regime
        },
        o,
        rows: rows.into_iter().map(CaseLine::of).collect(),
        kind: q.kind.trim().to_string(),
        status: q.status.trim().to_string(),
        overdue,
        next_href,
        kinds: case_kinds(),
        statuses: STATUSES.to_vec(),
        regimes: Regime::ALL
            .iter()
            .map(|r| (r.code(), r.label_zh()))
            .collect(),
        can_investigate: page.can(Permission::InvestigateCases),
    }))
}

async fn cases_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<CasesQuery>,
) -> PageResult {
    let flash = match Regime::from_code(q.regime.trim()) {
        Some(r) => ok_flash(format!(
            "已切换为{}：新登记的病例和密接按此方案判定",
            r.label_zh()
        )),
        None => None,
    };
    cases_page_with(&state, &page, &q, String::new(), flash).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RegimeInput {
    regime: String,
}

async fn regime_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<RegimeInput>,
) -> PageResult {
    let next = state
        .app
        .set_tracing_regime(&page.user.actor, &f.regime)
        .await
        .map(|regime| format!("/cases?regime={}", regime.code()));
    let q = CasesQuery::default();
    form_page_when(is_typed_mistake, &page, next, |flash| {
        cases_page_with(&state, &page, &q, f.regime, flash)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Opening a case (/cases/new)

/// The case form as typed (kept when it comes back with a problem).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct CaseInput {
    pub kind: String,
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub region_code: String,
    pub onset_date: String,
    pub first_positive_at: String,
    pub found_by: String,
    pub found_at: String,
    pub severity: String,
    pub hospital: String,
    pub isolated_at: String,
    pub infector: String,
    pub case_key: String,
}

impl CaseInput {
    fn to_form(&self) -> CaseForm {
        CaseForm {
            kind: self.kind.clone(),
            id_type: self.id_type.clone(),
            id_number: self.id_number.clone(),
            name: self.name.clone(),
            phone: self.phone.clone(),
            address: self.address.clone(),
            region_code: self.region_code.clone(),
            onset_date: self.onset_date.clone(),
            first_positive_at: self.first_positive_at.clone(),
            found_by: self.found_by.clone(),
            found_at: self.found_at.clone(),
            severity: self.severity.clone(),
            hospital: self.hospital.clone(),
            isolated_at: self.isolated_at.clone(),
            infector: self.infector.clone(),
            case_key: self.case_key.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "investigation/case_new.html")]
struct NewCasePage {
    layout: Layout,
    f: CaseInput,
    kinds: Vec<(&'static str, &'static str)>,
    found_bys: Vec<(&'static str, &'static str)>,
    severities: Vec<(&'static str, &'static str)>,
    id_types: Vec<(&'static str, &'static str)>,
}

fn new_case_render(page: &PageUser, f: CaseInput, flash: Option<Flash>) -> Response {
    let mut layout = page.layout("cases");
    layout.flash = flash;
    render(&NewCasePage {
        layout,
        f,
        kinds: case_kinds(),
        found_bys: found_bys(),
        severities: severities(),
        id_types: id_types(),
    })
}

async fn new_case_page(page: PageUser) -> PageResult {
    page.user
        .actor
        .require(Permission::InvestigateCases)
        .map_err(|e| page.error(e))?;
    let f = CaseInput {
        kind: CaseKind::Confirmed.code().into(),
        id_type: "mainland_id".into(),
        case_key: fresh_key(),
        ..CaseInput::default()
    };
    Ok(new_case_render(&page, f, None))
}

async fn new_case_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<CaseInput>,
) -> PageResult {
    let next = state
        .app
        .open_case(&page.user.actor, &f.to_form())
        .await
        .map(|id| format!("/cases/{id}?saved=opened"));
    form_page_when(is_typed_mistake, &page, next, |flash| async {
        Ok(new_case_render(&page, f, flash))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// One case (/cases/{id}) and its forms

/// A step on the case as typed: `action` names it, the other fields carry its values.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ActionInput {
    pub action: String,
    pub at: String,
    pub severity: String,
    pub hospital: String,
    pub kind: String,
    pub infector: String,
    pub note: String,
    pub text: String,
}

impl ActionInput {
    fn to_action(&self) -> Result<CaseAction, AppError> {
        Ok(match self.action.trim() {
            "reported" => CaseAction::Reported,
            "investigated" => CaseAction::Investigated,
            "isolated" => CaseAction::Isolated {
                at: self.at.clone(),
            },
            "clinical" => CaseAction::Clinical {
                severity: self.severity.clone(),
                hospital: self.hospital.clone(),
            },
            "reclassify" => CaseAction::Reclassify {
                kind: self.kind.clone(),
            },
            "discharge" => CaseAction::Discharge,
            "exclude" => CaseAction::Exclude,
            "infector" => CaseAction::Infector {
                infector: self.infector.clone(),
                note: self.note.clone(),
            },
            "public_summary" => CaseAction::PublicSummary {
                text: self.text.clone(),
            },
            other => {
                return Err(AppError::Invalid(format!(
                    "不认识的病例操作“{other}”，请刷新页面后重试"
                )));
            }
        })
    }
}

/// A trajectory stop as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct StopInput {
    pub place_kind: String,
    pub place_name: String,
    pub address: String,
    pub from_at: String,
    pub to_at: String,
    pub public: String,
    pub key: String,
}

impl StopInput {
    fn to_form(&self) -> StopForm {
        StopForm {
            place_kind: self.place_kind.clone(),
            place_name: self.place_name.clone(),
            address: self.address.clone(),
            from_at: self.from_at.clone(),
            to_at: self.to_at.clone(),
            public: !self.public.is_empty(),
            key: self.key.clone(),
        }
    }
}

/// A contact as typed (checkboxes arrive as "on" or not at all).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ContactInput {
    pub via_contact_id: String,
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub region_code: String,
    pub exposure_kind: String,
    pub first_exposure_at: String,
    pub last_exposure_at: String,
    pub protected: String,
    pub case_row: String,
    pub contact_row: String,
    pub crew_serving: String,
    pub sealed: String,
    pub same_carriage: String,
    pub same_compartment: String,
    pub bay_offset: String,
    pub place_note: String,
}

impl ContactInput {
    fn to_form(&self) -> ContactForm {
        ContactForm {
            via_contact_id: self.via_contact_id.clone(),
            id_type: self.id_type.clone(),
            id_number: self.id_number.clone(),
            name: self.name.clone(),
            phone: self.phone.clone(),
            address: self.address.clone(),
            region_code: self.region_code.clone(),
            exposure_kind: self.exposure_kind.clone(),
            first_exposure_at: self.first_exposure_at.clone(),
            last_exposure_at: self.last_exposure_at.clone(),
            protected: !self.protected.is_empty(),
            case_row: self.case_row.clone(),
            contact_row: self.contact_row.clone(),
            crew_serving: !self.crew_serving.is_empty(),
            sealed: !self.sealed.is_empty(),
            same_carriage: !self.same_carriage.is_empty(),
            same_compartment: !self.same_compartment.is_empty(),
            bay_offset: self.bay_offset.clone(),
            place_note: self.place_note.clone(),
        }
    }

    pub fn vehicle_open(&self) -> bool {
        [
            &self.case_row,
            &self.contact_row,
            &self.crew_serving,
            &self.sealed,
            &self.same_carriage,
            &self.same_compartment,
            &self.bay_offset,
        ]
        .iter()
        .any(|v| !v.is_empty())
    }
}

/// What the case page's forms hold: empty, or what was typed when one came back.
struct CaseForms {
    action: ActionInput,
    stop: StopInput,
    contact: ContactInput,
}

impl CaseForms {
    fn fresh(via: &str) -> CaseForms {
        CaseForms {
            action: ActionInput::default(),
            stop: StopInput {
                public: "on".into(),
                key: fresh_key(),
                ..StopInput::default()
            },
            contact: ContactInput {
                id_type: "mainland_id".into(),
                via_contact_id: via.trim().to_string(),
                ..ContactInput::default()
            },
        }
    }
}

/// One trajectory stop as the page shows it.
pub struct StopLine {
    pub from: String,
    pub to: String,
    pub kind_label: &'static str,
    pub place_name: String,
    pub address: String,
    pub source_label: &'static str,
    pub public: bool,
}

/// The case's times, as read.
pub struct CaseTimes {
    pub onset: String,
    pub first_positive: String,
    pub reported: String,
    pub investigated: String,
    pub isolated: String,
    pub window_opens: String,
}

#[derive(Template)]
#[template(path = "investigation/case.html")]
struct CasePage {
    layout: Layout,
    d: CaseDetail,
    line: CaseLine,
    times: CaseTimes,
    infector: Option<CaseLine>,
    infectees: Vec<CaseLine>,
    stops: Vec<StopLine>,
    contacts: Vec<ContactLine>,
    close_contacts: Vec<(String, String)>,
    can_investigate: bool,
    active: bool,
    can_exclude: bool,
    severity_code: String,
    a: ActionInput,
    s: StopInput,
    c: ContactInput,
    kinds: Vec<(&'static str, &'static str)>,
    severities: Vec<(&'static str, &'static str)>,
    exposure_kinds: Vec<(&'static str, &'static str)>,
    place_kinds: Vec<(&'static str, &'static str)>,
    id_types: Vec<(&'static str, &'static str)>,
}

async fn case_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    forms: CaseForms,
    flash: impl FnOnce(&CaseDetail) -> Option<Flash>,
) -> PageResult {
    let d = state
        .app
        .case_detail(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let flash = flash(&d);
    let times = CaseTimes {
        onset: d.onset_date.clone().unwrap_or_else(|| "—".into()),
        first_positive: time_or_dash(d.first_positive_at),
        reported: time_or_dash(d.reported_at),
        investigated: time_or_dash(d.investigated_at),
        isolated: time_or_dash(d.isolated_at),
        window_opens: beijing_time(d.window_opens_at),
    };
    let stops = d
        .stops
        .iter()
        .map(|s| StopLine {
            from: beijing_time(s.from_at),
            to: time_or_dash(s.to_at),
            kind_label: place_kind_label(&s.place_kind),
            place_name: s.place_name.clone(),
            address: s.address.clone(),
            source_label: match s.source.as_str() {
                "entered" => "流调录入",
                "venue" => "场所码",
                "checkpoint" => "卡口",
                _ => "导入",
            },
            public: s.public,
        })
        .collect();
    let contacts: Vec<ContactLine> = d.contacts.iter().cloned().map(ContactLine::of).collect();
    let close_contacts = contacts
        .iter()
        .filter(|c| c.is_active_close())
        .map(|c| {
            (
                c.c.id.to_string(),
                format!("#{} {}（{}）", c.c.id, c.c.name, c.c.phone_masked),
            )
        })
        .collect();
    let active = d.case.status == "active";
    let can_exclude = active
        && d.case.kind != CaseKind::Confirmed.code()
        && d.case.kind != CaseKind::Asymptomatic.code();
    let severity_code = Severity::ALL
        .iter()
        .find(|s| s.label_zh() == d.case.severity_label)
        .map(|s| s.code().to_string())
        .unwrap_or_default();
    let mut action = forms.action;
    if action.text.is_empty() {
        action.text = d.public_summary.clone();
    }
    if action.hospital.is_empty() {
        action.hospital = d.case.hospital.clone();
    }
    let mut layout = page.layout("cases");
    layout.flash = flash;
    Ok(render(&CasePage {
        layout,
        line: CaseLine::of(d.case.clone()),
        times,
        infector: d.infector.clone().map(CaseLine::of),
        infectees: d.infectees.iter().cloned().map(CaseLine::of).collect(),
        stops,
        contacts,
        close_contacts,
        can_investigate: page.can(Permission::InvestigateCases),
        active,
        can_exclude,
        severity_code,
        a: action,
        s: forms.stop,
        c: forms.contact,
        kinds: case_kinds(),
        severities: severities(),
        exposure_kinds: exposure_kinds(),
        place_kinds: PLACE_KINDS.to_vec(),
        id_types: id_types(),
        d,
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CaseQuery {
    saved: String,
    contact: String,
    pulled: String,
    via: String,
}

fn saved_flash(saved: &str, pulled: &str) -> Option<Flash> {
    let text = match saved {
        "opened" => "已登记病例：2小时内完成网络直报，24小时内完成流调".to_string(),
        "reported" => "已记录网络直报".into(),
        "investigated" => "已记录流调完成".into(),
        "isolated" => "已记录隔离时间：此后的接触不再判定".into(),
        "clinical" => "已更新临床分型和收治医院".into(),
        "reclassify" => "已订正病例类型，健康码已按新类型赋码".into(),
        "discharge" => "已登记出院".into(),
        "exclude" => "已排除".into(),
        "infector" => "已更新传染来源".into(),
        "public_summary" => "已保存公布用文字".into(),
        "stop" => "已添加轨迹".into(),
        "itinerary" => format!(
            "已从卡口和场所码记录导入 {} 条新轨迹",
            pulled.parse::<u64>().unwrap_or(0)
        ),
        "cleared" => "已解除该接触者".into(),
        _ => return None,
    };
    ok_flash(text)
}

async fn case_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<CaseQuery>,
) -> PageResult {
    let added: Option<i64> = q.contact.trim().parse().ok();
    let forms = CaseForms::fresh(&q.via);
    case_page_with(&state, &page, id, forms, |d| match added {
        Some(contact_id) => Some(
            d.contacts
                .iter()
                .find(|c| c.id == contact_id)
                .map(|c| Flash {
                    kind: if c.category == ContactCategory::General.code() {
                        "ok"
                    } else {
                        "warn"
                    },
                    text: format!("判定为{}：{}", c.category_label, c.reason),
                })
                .unwrap_or(Flash {
                    kind: "ok",
                    text: "已登记接触者".into(),
                }),
        ),
        None => saved_flash(q.saved.as_str(), &q.pulled),
    })
    .await
}

/// The answer to one of the case page's forms: 303 to `next`, or after a form mistake the case page
/// again (its status, the message, what was typed).
async fn case_form_page(
    state: &AppState,
    page: &PageUser,
    id: i64,
    forms: CaseForms,
    next: Result<String, AppError>,
) -> PageResult {
    form_page_when(is_typed_mistake, page, next, |flash| {
        case_page_with(state, page, id, forms, move |_| flash)
    })
    .await
}

async fn action_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<ActionInput>,
) -> PageResult {
    let result = match f.to_action() {
        Ok(action) => state.app.update_case(&page.user.actor, id, &action).await,
        Err(e) => Err(e),
    };
    let next = result.map(|()| format!("/cases/{id}?saved={}", encode(f.action.trim())));
    let forms = CaseForms {
        action: f,
        ..CaseForms::fresh("")
    };
    case_form_page(&state, &page, id, forms, next).await
}

async fn stop_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<StopInput>,
) -> PageResult {
    let next = state
        .app
        .add_case_stop(&page.user.actor, id, &f.to_form())
        .await
        .map(|()| format!("/cases/{id}?saved=stop#stops"));
    let forms = CaseForms {
        stop: f,
        ..CaseForms::fresh("")
    };
    case_form_page(&state, &page, id, forms, next).await
}

async fn itinerary_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> PageResult {
    let next = state
        .app
        .pull_case_itinerary(&page.user.actor, id)
        .await
        .map(|added| format!("/cases/{id}?saved=itinerary&pulled={added}#stops"));
    case_form_page(&state, &page, id, CaseForms::fresh(""), next).await
}

async fn contact_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<ContactInput>,
) -> PageResult {
    let next = state
        .app
        .add_contact(&page.user.actor, id, &f.to_form())
        .await
        .map(|(contact_id, _)| format!("/cases/{id}?contact={contact_id}#contacts"));
    let forms = CaseForms {
        contact: f,
        ..CaseForms::fresh("")
    };
    case_form_page(&state, &page, id, forms, next).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ClearInput {
    reason: String,
    /// The case page the form sits on (where to go back to).
    case_id: String,
}

async fn clear_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(contact_id): Path<i64>,
    CsrfForm(f): CsrfForm<ClearInput>,
) -> PageResult {
    let back: Option<i64> = f.case_id.trim().parse().ok();
    let result = state
        .app
        .clear_contact(&page.user.actor, contact_id, &f.reason)
        .await;
    match back {
        Some(case_id) => {
            let next = result.map(|()| format!("/cases/{case_id}?saved=cleared#contacts"));
            case_form_page(&state, &page, case_id, CaseForms::fresh(""), next).await
        }
        // From the contact directory: there is no form to come back to.
        None => match result {
            Ok(()) => Ok(Redirect::to("/contacts").into_response()),
            Err(e) => Err(page.error(e)),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The contact directory (/contacts)

#[derive(Deserialize, Default)]
#[serde(default)]
struct ContactsQuery {
    category: String,
    before: String,
}

#[derive(Template)]
#[template(path = "investigation/contacts.html")]
struct ContactsPage {
    layout: Layout,
    category: String,
    category_label: &'static str,
    categories: Vec<(&'static str, &'static str)>,
    rows: Vec<ContactLine>,
    next_href: Option<String>,
}

async fn contacts_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<ContactsQuery>,
) -> PageResult {
    let category = ContactCategory::from_code(q.category.trim()).unwrap_or(ContactCategory::Close);
    let before = parse_before(&q.before).map_err(|e| page.error(e))?;
    let rows = state
        .app
        .contacts(&page.user.actor, category.code(), before)
        .await
        .map_err(|e| page.error(e))?;
    let next_href = (rows.len() as i64 >= PAGE_SIZE)
        .then(|| rows.last().map(|r| r.id))
        .flatten()
        .map(|last| format!("/contacts?category={}&before={last}", category.code()));
    Ok(render(&ContactsPage {
        layout: page.layout("cases"),
        category: category.code().to_string(),
        category_label: category.label_zh(),
        categories: categories(),
        rows: rows.into_iter().map(ContactLine::of).collect(),
        next_href,
    }))
}

// ---------------------------------------------------------------------------------------------
// The public bulletin (/cases/bulletin)

#[derive(Deserialize, Default)]
#[serde(default)]
struct BulletinQuery {
    since: String,
}

#[derive(Template)]
#[template(path = "investigation/bulletin.html")]
struct BulletinPage {
    layout: Layout,
    since: String,
    texts: Vec<String>,
    joined: String,
}

fn parse_bulletin_since(raw: &str, today: NaiveDate) -> Result<NaiveDate, AppError> {
    match raw.trim() {
        "" => Ok(today - chrono::Duration::days(BULLETIN_DAYS)),
        text => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            AppError::Invalid(format!(
                "日期“{text}”格式不对，应为 2022-11-20 这样的年-月-日"
            ))
        }),
    }
}

async fn bulletin_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<BulletinQuery>,
) -> PageResult {
    let since = parse_bulletin_since(&q.since, state.app.today()).map_err(|e| page.error(e))?;
    let texts = state
        .app
        .case_bulletin(&page.user.actor, since)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&BulletinPage {
        layout: page.layout("cases"),
        since: since.to_string(),
        joined: texts.join("\n"),
        texts,
    }))
}

// ---------------------------------------------------------------------------------------------
// Transmission chains (/chains, /chains.svg)

/// Pixels per layout unit across (leaves of a chain sit two units apart).
const X_PX: i64 = 14;
/// Pixels per generation (row) down.
const Y_PX: i64 = 60;
/// Margin around the picture.
const PAD: i64 = 16;
/// Radius of a case's circle.
const NODE_R: i64 = 6;

/// The short label under a node: the tail of the case number ("藁城-00012" → "12").
fn short_number(case_number: &str) -> &str {
    let tail = case_number.rsplit('-').next().unwrap_or(case_number);
    let trimmed = tail.trim_start_matches('0');
    if trimmed.is_empty() { tail } else { trimmed }
}

/// The SVG class of a case's circle (its colour), by kind.
fn kind_class(kind: Option<CaseKind>) -> &'static str {
    match kind {
        Some(CaseKind::Confirmed) => "kc",
        Some(CaseKind::Asymptomatic) => "ka",
        Some(CaseKind::Suspected) => "ks",
        Some(CaseKind::InitialScreenPositive) => "ki",
        None => "ko",
    }
}

fn node_centre(x: i64, y: i64) -> (i64, i64) {
    (PAD + x * X_PX + X_PX / 2, PAD + y * Y_PX + 20)
}

/// Draws the transmission-chain picture as SVG: chain boxes, infector → infectee edges (one path),
/// one circle per case coloured by kind with its number below and its active contacts above.
/// `standalone` adds the XML namespace a `.svg` file needs (inline SVG in HTML needs none).
pub(crate) fn chain_svg(p: &ChainPicture, standalone: bool) -> String {
    let layout = &p.layout;
    let width = layout.width.max(1) * X_PX + 2 * PAD;
    let height = layout.height.max(1) * Y_PX + 2 * PAD;
    let mut s = String::with_capacity(1_024 + layout.cases.len() * 240 + layout.chains.len() * 120);
    let _ = write!(
        s,
        "<svg {}id=\"chain-picture\" class=\"chains\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"传播链：{} 例病例，{} 条传播链\">",
        if standalone {
            "xmlns=\"http://www.w3.org/2000/svg\" "
        } else {
            ""
        },
        p.cases,
        layout.chains.len()
    );
    s.push_str(
        "<style>.cb{fill:#f6f8fa;stroke:#d0d7de}.ce{fill:none;stroke:#8c959f;stroke-width:1.2}\
         .ct{font:10px sans-serif;fill:#57606a}.cn circle{stroke:#fff;stroke-width:1}\
         .cn text{font:9px sans-serif;fill:#24292f;text-anchor:middle}\
         .cn text.c{font-size:8px;fill:#57606a;text-anchor:start}.kc{fill:#c62828}.ka{fill:#ef6c00}\
         .ks{fill:#7b1fa2}.ki{fill:#1565c0}.ko{fill:#607d8b}</style>",
    );
    s.push_str("<g class=\"boxes\">");
    for (i, b) in layout.chains.iter().enumerate() {
        let (x, y) = (PAD + b.x * X_PX, PAD + b.y * Y_PX);
        let _ = write!(
            s,
            "<rect class=\"cb\" x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"4\"><title>传播链{}：{}例，{}代</title></rect><text class=\"ct\" x=\"{}\" y=\"{}\">链{} {}例</text>",
            y + 2,
            (b.width * X_PX).max(X_PX),
            (b.height * Y_PX - 4).max(Y_PX - 4),
            i + 1,
            b.size,
            b.depth + 1,
            x + 3,
            y + 11,
            i + 1,
            b.size
        );
    }
    s.push_str("</g><path class=\"ce\" d=\"");
    for case in &layout.cases {
        if let Some(parent) = case.parent.and_then(|i| layout.cases.get(i)) {
            let (px, py) = node_centre(parent.x, parent.y);
            let (cx, cy) = node_centre(case.x, case.y);
            // From below the infector's label down to the infectee's circle.
            let top = py + NODE_R + 12;
            let mid = (top + cy - NODE_R) / 2;
            let _ = write!(s, "M{px} {top}V{mid}H{cx}V{}", cy - NODE_R);
        }
    }
    s.push_str("\"/><g class=\"cn\">");
    for (i, case) in layout.cases.iter().enumerate() {
        let (number, kind, contacts) = match p.labels.get(i) {
            Some((n, k, c)) => (n.as_str(), k.as_str(), *c),
            None => ("", "", 0),
        };
        let kind = CaseKind::from_code(kind);
        let (cx, cy) = node_centre(case.x, case.y);
        let _ = write!(
            s,
            "<a href=\"/cases/{}\"><circle class=\"{}\" cx=\"{cx}\" cy=\"{cy}\" r=\"{NODE_R}\"><title>",
            case.case_id,
            kind_class(kind)
        );
        push_escaped(&mut s, number);
        let _ = write!(
            s,
            " {} 第{}代 密接{}</title></circle><text x=\"{cx}\" y=\"{}\">",
            kind.map(|k| k.label_zh()).unwrap_or("病例"),
            case.depth + 1,
            contacts,
            cy + NODE_R + 10
        );
        push_escaped(&mut s, short_number(number));
        s.push_str("</text>");
        if contacts > 0 {
            let _ = write!(
                s,
                "<text class=\"c\" x=\"{}\" y=\"{}\">{contacts}</text>",
                cx + NODE_R - 1,
                cy - NODE_R + 1
            );
        }
        s.push_str("</a>");
    }
    s.push_str("</g></svg>");
    s
}

#[derive(Template)]
#[template(path = "investigation/chains.html")]
struct ChainsPage {
    layout: Layout,
    cases: usize,
    contacts: i64,
    chains: usize,
    linked: usize,
    layout_ms: u128,
    draw_ms: u128,
    svg: String,
    kinds: Vec<(&'static str, &'static str)>,
}

async fn chains_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    let p = state
        .app
        .transmission_chains(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let started = std::time::Instant::now();
    let svg = chain_svg(&p, false);
    Ok(render(&ChainsPage {
        layout: page.layout("chains"),
        cases: p.cases,
        contacts: p.contacts,
        chains: p.layout.chains.len(),
        linked: p.layout.chains.iter().map(|c| c.size).sum(),
        layout_ms: p.millis,
        draw_ms: started.elapsed().as_millis(),
        svg,
        kinds: case_kinds(),
    }))
}

async fn chains_svg(State(state): State<AppState>, page: PageUser) -> PageResult {
    let p = state
        .app
        .transmission_chains(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        chain_svg(&p, true),
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// JSON API

type ApiResult<T> = Result<Json<T>, ApiError>;

/// `POST /api/cases`: the case form's fields as JSON strings.
#[derive(Deserialize, Default)]
#[serde(default)]
struct CaseJson {
    kind: String,
    id_type: String,
    id_number: String,
    name: String,
    phone: String,
    address: String,
    region_code: String,
    onset_date: String,
    first_positive_at: String,
    found_by: String,
    found_at: String,
    severity: String,
    hospital: String,
    isolated_at: String,
    infector: String,
    case_key: String,
}

impl From<CaseJson> for CaseForm {
    fn from(j: CaseJson) -> CaseForm {
        CaseForm {
            kind: j.kind,
            id_type: j.id_type,
            id_number: j.id_number,
            name: j.name,
            phone: j.phone,
            address: j.address,
            region_code: j.region_code,
            onset_date: j.onset_date,
            first_positive_at: j.first_positive_at,
            found_by: j.found_by,
            found_at: j.found_at,
            severity: j.severity,
            hospital: j.hospital,
            isolated_at: j.isolated_at,
            infector: j.infector,
            case_key: j.case_key,
        }
    }
}

/// A number field that clients send as a JSON number or a string (or leave out).
fn loose_text(value: &Option<serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `POST /api/cases/{id}/contacts`: the contact form as JSON (flags as booleans).
#[derive(Deserialize, Default)]
#[serde(default)]
struct ContactJson {
    via_contact_id: Option<serde_json::Value>,
    id_type: String,
    id_number: String,
    name: String,
    phone: String,
    address: String,
    region_code: String,
    exposure_kind: String,
    first_exposure_at: String,
    last_exposure_at: String,
    protected: bool,
    case_row: Option<serde_json::Value>,
    contact_row: Option<serde_json::Value>,
    crew_serving: bool,
    sealed: bool,
    same_carriage: bool,
    same_compartment: bool,
    bay_offset: Option<serde_json::Value>,
    place_note: String,
}

impl From<ContactJson> for ContactForm {
    fn from(j: ContactJson) -> ContactForm {
        ContactForm {
            via_contact_id: loose_text(&j.via_contact_id),
            id_type: j.id_type,
            id_number: j.id_number,
            name: j.name,
            phone: j.phone,
            address: j.address,
            region_code: j.region_code,
            exposure_kind: j.exposure_kind,
            first_exposure_at: j.first_exposure_at,
            last_exposure_at: j.last_exposure_at,
            protected: j.protected,
            case_row: loose_text(&j.case_row),
            contact_row: loose_text(&j.contact_row),
            crew_serving: j.crew_serving,
            sealed: j.sealed,
            same_carriage: j.same_carriage,
            same_compartment: j.same_compartment,
            bay_offset: loose_text(&j.bay_offset),
            place_note: j.place_note,
        }
    }
}

#[derive(Serialize)]
struct Opened {
    id: i64,
}

#[derive(Serialize)]
struct ContactAdded {
    id: i64,
    category: &'static str,
    category_label: &'static str,
    reason: String,
}

async fn api_open_case(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(input): Json<CaseJson>,
) -> ApiResult<Opened> {
    let id = state.app.open_case(&user.actor, &input.into()).await?;
    Ok(Json(Opened { id }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CasesApiQuery {
    kind: String,
    status: String,
    overdue: String,
    before: String,
}

async fn api_cases(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<CasesApiQuery>,
) -> ApiResult<Vec<CaseRow>> {
    let before = parse_before(&q.before)?;
    Ok(Json(
        state
            .app
            .cases(
                &user.actor,
                Some(q.kind.as_str()),
                Some(q.status.as_str()),
                truthy(&q.overdue),
                before,
            )
            .await?,
    ))
}

async fn api_case(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<CaseDetail> {
    Ok(Json(state.app.case_detail(&user.actor, id).await?))
}

async fn api_add_contact(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(input): Json<ContactJson>,
) -> ApiResult<ContactAdded> {
    let (contact_id, classification) = state
        .app
        .add_contact(&user.actor, id, &input.into())
        .await?;
    Ok(Json(ContactAdded {
        id: contact_id,
        category: classification.category.code(),
        category_label: classification.category.label_zh(),
        reason: classification.reason,
    }))
}

async fn api_chains(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<ChainPicture> {
    Ok(Json(state.app.transmission_chains(&user.actor).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fangkong_domain::investigation::{ChainCase, layout_chains};

    /// 20,000 cases: chains of ten (each case infected by the one before within its chain, some
    /// branching) and a third without a known source.
    fn big_picture() -> ChainPicture {
        let mut cases = Vec::new();
        for id in 1..=20_000i64 {
            let infector = if id % 3 == 0 || id % 10 == 1 {
                None
            } else {
                Some(id - 1 - (id % 2))
            };
            cases.push(ChainCase {
                case_id: id,
                infector: infector.filter(|i| *i >= 1),
            });
        }
        let layout = layout_chains(&cases, 240);
        let labels = layout
            .cases
            .iter()
            .map(|c| (format!("藁城-{:05}", c.case_id), "confirmed".to_string(), 2))
            .collect();
        ChainPicture {
            layout,
            labels,
            cases: 20_000,
            contacts: 40_000,
            millis: 0,
        }
    }

    #[test]
    fn the_chain_picture_of_twenty_thousand_cases_is_one_quick_svg() {
        let picture = big_picture();
        let started = std::time::Instant::now();
        let svg = chain_svg(&picture, true);
        let took = started.elapsed();
        assert!(
            took.as_millis() < 2_000,
            "drawing 20,000 cases took {took:?}"
        );
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" "));
        assert!(svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<circle").count(), 20_000);
        assert!(svg.contains("藁城-19999"));
        assert!(
            svg.len() < 6_000_000,
            "the picture stays a few megabytes: {}",
            svg.len()
        );
        let inline = chain_svg(&picture, false);
        assert!(
            !inline.contains("http://"),
            "inline SVG names no outside host"
        );
    }

    #[test]
    fn labels_are_escaped_and_shortened() {
        let mut out = String::new();
        push_escaped(&mut out, "a<b>&\"c\"");
        assert_eq!(out, "a&lt;b&gt;&amp;&quot;c&quot;");
        assert_eq!(short_number("藁城-00012"), "12");
        assert_eq!(short_number("藁城-00000"), "00000");
        assert_eq!(short_number("X"), "X");
    }
}
