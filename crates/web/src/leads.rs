//! Leads pages and API (线索与落地查人) over `app::leads`: the command view with the 24-hour
//! landing rate and the filtered lists (`/leads`), the registration form for screening and
//! assistance letters (`/leads/new`), one lead with its history and the grid worker's outcome form
//! (`/leads/{id}`), the big-data push upload with its problem rows (`/leads/import`), and a
//! resident's own report (`/me/self-report`). JSON: create a lead, record an outcome, the lists.
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::AppError;
use fangkong_app::leads::{
    LeadDetail, LeadFilter, LeadForm, LeadImportReport, LeadImportRun as LeadImportRecord,
    LeadListPage, LeadOverview, LeadStep as LeadStepRecord, LeadView, OutcomeForm,
    RegionLeadCounts, SelfReportForm, push_template,
};
use fangkong_app::records::RegionRecord;
use fangkong_domain::leads::{
    Channel, ControlMeasure, LeadStatus, OutcomeKind, PUSH_COLUMNS, RiskCategory, SenderScope,
};
use fangkong_domain::role::Permission;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::ApiError;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::mass_testing::{encode, id_types};
use crate::pages::options;
use crate::pages::{
    Flash, Layout, PageResult, PageUser, beijing_time, download, read_upload, render,
};
use crate::session::ApiUser;

const FORM_BODY_LIMIT: usize = 64 * 1024;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/leads", get(leads_page))
        .route(
            "/leads/new",
            get(new_lead_page)
                .post(new_lead_submit)
                .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/leads/import",
            get(import_page)
                .post(import_submit)
                .layer(DefaultBodyLimit::max(crate::UPLOAD_LIMIT_BYTES)),
        )
        .route("/leads/import/template.csv", get(template_download))
        .route("/leads/imports/{id}/problems.csv", get(problems_download))
        .route("/leads/{id}", get(lead_page))
        .route(
            "/leads/{id}/outcome",
            post(outcome_submit).layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/leads/{id}/assign",
            post(assign_submit).layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/leads/{id}/reveal",
            post(reveal_submit).layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/me/self-report",
            get(self_report_page)
                .post(self_report_submit)
                .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/leads", get(api_list).post(api_create))
        .route("/leads/overdue", get(api_overdue))
        .route("/leads/overview", get(api_overview))
        .route("/leads/{id}", get(api_detail))
        .route("/leads/{id}/outcome", post(api_outcome))
}

fn time_or_dash(t: Option<i64>) -> String {
    t.map(beijing_time).unwrap_or_else(|| "—".into())
}

/// A lead with its times as users read them.
pub struct LeadRow {
    pub v: LeadView,
    pub received: String,
    pub deadline: String,
    pub closed: String,
    pub arrived: String,
}

impl From<LeadView> for LeadRow {
    fn from(v: LeadView) -> LeadRow {
        LeadRow {
            received: beijing_time(v.received_at),
            deadline: beijing_time(v.deadline),
            closed: time_or_dash(v.closed_at),
            arrived: time_or_dash(v.arrived_at),
            v,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The command view and the lists

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct ListQuery {
    region: String,
    status: String,
    channel: String,
    overdue: String,
    page: i64,
}

impl ListQuery {
    fn filter(&self) -> LeadFilter {
        LeadFilter {
            region: self.region.clone(),
            status: self.status.clone(),
            channel: self.channel.clone(),
            overdue: !self.overdue.is_empty(),
            page: self.page,
        }
    }

    /// The query string of this list on another page.
    fn href(&self, page: i64) -> String {
        format!(
            "/leads?region={}&status={}&channel={}&overdue={}&page={page}",
            encode(&self.region),
            encode(&self.status),
            encode(&self.channel),
            encode(&self.overdue)
        )
    }
}

#[derive(Template)]
#[template(path = "leads/index.html")]
struct LeadsPage {
    layout: Layout,
    o: LeadOverview,
    children: Vec<(RegionLeadCounts, String)>,
    total_rate: String,
    list: LeadListPage,
    rows: Vec<LeadRow>,
    q: ListQuery,
    statuses: Vec<(&'static str, &'static str)>,
    channels: Vec<(&'static str, &'static str)>,
    prev: Option<String>,
    next: Option<String>,
    can_send: bool,
    crumbs: Vec<RegionRecord>,
}

async fn leads_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let actor = &page.user.actor;
    let o = state
        .app
        .leads_overview(actor, &q.region)
        .await
        .map_err(|e| page.error(e))?;
    let list = state
        .app
        .leads_list(actor, &q.filter())
        .await
        .map_err(|e| page.error(e))?;
    let children = o
        .children
        .iter()
        .map(|c| (c.clone(), c.rate_label()))
        .collect();
    // The path from the jurisdiction down to the region shown.
    let crumbs = state
        .app
        .region_path_within(actor, &o.region_code)
        .await
        .map_err(|e| page.error(e))?;
    let q = ListQuery {
        region: o.region_code.clone(),
        ..q
    };
    Ok(render(&LeadsPage {
        layout: page.layout("leads"),
        total_rate: o.total.rate_label(),
        children,
        prev: (list.page > 1).then(|| q.href(list.page - 1)),
        next: (list.page < list.pages).then(|| q.href(list.page + 1)),
        rows: list.rows.iter().cloned().map(LeadRow::from).collect(),
        o,
        list,
        q,
        statuses: options(&LeadStatus::ALL, LeadStatus::code, LeadStatus::label_zh),
        channels: options(&Channel::ALL, Channel::code, Channel::label_zh),
        can_send: page.can(Permission::SendLeads),
        crumbs,
    }))
}

// ---------------------------------------------------------------------------------------------
// Registering a lead

/// The registration form as typed (kept when it comes back with a problem).
#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub struct LeadInput {
    pub channel: String,
    pub category: String,
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub phone: String,
    pub address: String,
    pub region_code: String,
    pub reason: String,
    pub came_from: String,
    pub arrived_at: String,
    pub sender: String,
    pub sender_scope: String,
    pub reference: String,
    pub out_region: String,
    pub out_region_name: String,
}

impl LeadInput {
    fn to_form(&self) -> LeadForm {
        LeadForm {
            channel: self.channel.clone(),
            category: self.category.clone(),
            name: self.name.clone(),
            id_type: self.id_type.clone(),
            id_number: self.id_number.clone(),
            phone: self.phone.clone(),
            address: self.address.clone(),
            region_code: self.region_code.clone(),
            reason: self.reason.clone(),
            came_from: self.came_from.clone(),
            arrived_at: self.arrived_at.clone(),
            sender: self.sender.clone(),
            sender_scope: self.sender_scope.clone(),
            reference: self.reference.clone(),
            out_region: self.out_region.clone(),
            out_region_name: self.out_region_name.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "leads/new.html")]
struct NewLeadPage {
    layout: Layout,
    f: LeadInput,
    channels: Vec<(&'static str, &'static str)>,
    categories: Vec<(&'static str, &'static str)>,
    scopes: Vec<(&'static str, &'static str)>,
    id_types: Vec<(&'static str, &'static str)>,
}

fn new_lead_render(page: &PageUser, f: LeadInput, flash: Option<Flash>) -> Response {
    let mut layout = page.layout("leads");
    layout.flash = flash;
    render(&NewLeadPage {
        layout,
        f,
        channels: [
            Channel::GridScreening,
            Channel::ActiveScreening,
            Channel::AssistIn,
            Channel::AssistOut,
        ]
        .iter()
        .map(|c| (c.code(), c.label_zh()))
        .collect(),
        categories: options(
            &RiskCategory::ALL,
            RiskCategory::code,
            RiskCategory::label_zh,
        ),
        scopes: options(&SenderScope::ALL, SenderScope::code, SenderScope::label_zh),
        id_types: id_types(),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChannelQuery {
    channel: String,
}

async fn new_lead_page(page: PageUser, Query(q): Query<ChannelQuery>) -> PageResult {
    page.user
        .actor
        .require(Permission::SendLeads)
        .map_err(|e| page.error(e))?;
    let f = LeadInput {
        channel: if q.channel.is_empty() {
            Channel::GridScreening.code().into()
        } else {
            q.channel
        },
        category: RiskCategory::Other.code().into(),
        ..LeadInput::default()
    };
    Ok(new_lead_render(&page, f, None))
}

async fn new_lead_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<LeadInput>,
) -> PageResult {
    let next = state
        .app
        .create_lead(&page.user.actor, &f.to_form())
        .await
        .map(|id| format!("/leads/{id}?saved=created"));
    form_page(&page, next, |flash| async {
        Ok(new_lead_render(&page, f, flash))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// One lead: history, outcome, routing, reveal

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub struct OutcomeInput {
    pub kind: String,
    pub measure: String,
    pub region_code: String,
    pub note: String,
}

impl OutcomeInput {
    fn to_form(&self) -> OutcomeForm {
        OutcomeForm {
            kind: self.kind.clone(),
            measure: self.measure.clone(),
            region_code: self.region_code.clone(),
            note: self.note.clone(),
        }
    }
}

pub struct StepRow {
    pub at: String,
    pub label: &'static str,
    pub actor: String,
    pub from_code: String,
    pub to_code: String,
    pub note: String,
}

fn step_label(step: &str) -> &'static str {
    match step {
        "received" => "接收线索",
        "assigned" => "分派网格",
        "forwarded" => "转派",
        "controlled" => "落地管控",
        "letter_out" => "发协查函",
        _ => "其他",
    }
}

fn step_rows(steps: &[LeadStepRecord]) -> Vec<StepRow> {
    steps
        .iter()
        .map(|s| StepRow {
            at: beijing_time(s.at),
            label: step_label(&s.step),
            actor: s.actor.clone(),
            from_code: s.from_code.clone(),
            to_code: s.to_code.clone(),
            note: s.note.clone(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "leads/detail.html")]
struct LeadPage {
    layout: Layout,
    l: LeadRow,
    steps: Vec<StepRow>,
    f: OutcomeInput,
    can_land: bool,
    can_assign: bool,
    can_reveal: bool,
    outcomes: Vec<(&'static str, &'static str)>,
    measures: Vec<(&'static str, &'static str)>,
}

fn lead_render(
    page: &PageUser,
    d: LeadDetail,
    f: OutcomeInput,
    flash: Option<Flash>,
    revealed: bool,
) -> Response {
    let mut layout = page.layout("leads");
    layout.flash = flash;
    let open = d.lead.open;
    render(&LeadPage {
        layout,
        steps: step_rows(&d.steps),
        l: LeadRow::from(d.lead),
        f,
        can_land: open && page.can(Permission::LandLeads),
        can_assign: open && page.can(Permission::SendLeads),
        can_reveal: !revealed && page.can(Permission::RevealPersonalData),
        outcomes: options(&OutcomeKind::ALL, OutcomeKind::code, OutcomeKind::label_zh),
        measures: options(
            &ControlMeasure::ALL,
            ControlMeasure::code,
            ControlMeasure::label_zh,
        ),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SavedQuery {
    saved: String,
}

fn saved_flash(saved: &str) -> Option<Flash> {
    let text = match saved {
        "" => return None,
        "created" => "线索已登记，已进入所在网格的待落地队列",
        "outcome" => "落地结果已保存",
        "assigned" => "线索已分派",
        _ => "已保存",
    };
    ok_flash(text)
}

impl OutcomeInput {
    /// The outcome form before anything is typed: 已落实管控 chosen.
    fn fresh() -> OutcomeInput {
        OutcomeInput {
            kind: OutcomeKind::Controlled.code().into(),
            ..OutcomeInput::default()
        }
    }
}

async fn lead_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    lead_page_with(
        &state,
        &page,
        id,
        OutcomeInput::fresh(),
        saved_flash(&q.saved),
    )
    .await
}

/// The lead's page with the outcome form as given and a message.
async fn lead_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    f: OutcomeInput,
    flash: Option<Flash>,
) -> PageResult {
    let d = state
        .app
        .lead_detail(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(lead_render(page, d, f, flash, false))
}

async fn outcome_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<OutcomeInput>,
) -> PageResult {
    let next = state
        .app
        .record_lead_outcome(&page.user.actor, id, &f.to_form())
        .await
        .map(|_| format!("/leads/{id}?saved=outcome"));
    form_page(&page, next, |flash| {
        lead_page_with(&state, &page, id, f, flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AssignInput {
    region_code: String,
}

async fn assign_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<AssignInput>,
) -> PageResult {
    let next = state
        .app
        .assign_lead(&page.user.actor, id, &f.region_code)
        .await
        .map(|()| format!("/leads/{id}?saved=assigned"));
    form_page(&page, next, |flash| {
        lead_page_with(&state, &page, id, OutcomeInput::fresh(), flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RevealInput {
    reason: String,
}

async fn reveal_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<RevealInput>,
) -> PageResult {
    let d = state
        .app
        .reveal_lead(&page.user.actor, id, &f.reason)
        .await
        .map_err(|e| page.error(e))?;
    let flash = Some(Flash {
        kind: "info",
        text: "已显示完整信息，本次查看已记入审计日志".into(),
    });
    Ok(lead_render(&page, d, OutcomeInput::fresh(), flash, true))
}

// ---------------------------------------------------------------------------------------------
// Big-data push imports

#[derive(Template)]
#[template(path = "leads/import.html")]
struct ImportPage {
    layout: Layout,
    report: Option<LeadImportReport>,
    /// (run, start time, 已完成 / 进行中 / 已中断).
    recent: Vec<(LeadImportRecord, String, &'static str)>,
    columns: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReportQuery {
    report: Option<i64>,
}

async fn import_page_with(
    state: &AppState,
    page: &PageUser,
    report: Option<LeadImportReport>,
    flash: Option<Flash>,
) -> PageResult {
    let recent = state
        .app
        .recent_lead_imports(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?
        .into_iter()
        .map(|r| {
            let at = beijing_time(r.started_at);
            let status = crate::pages::run_status(r.finished_at, r.interrupted_at);
            (r, at, status)
        })
        .collect();
    let mut layout = page.layout("leads");
    layout.flash = flash;
    Ok(render(&ImportPage {
        layout,
        report,
        recent,
        columns: PUSH_COLUMNS.join(","),
    }))
}

async fn import_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<ReportQuery>,
) -> PageResult {
    let report = match q.report {
        Some(id) => Some(
            state
                .app
                .lead_import_report(&page.user.actor, id)
                .await
                .map_err(|e| page.error(e))?,
        ),
        None => None,
    };
    import_page_with(&state, &page, report, None).await
}

async fn import_submit(
    State(state): State<AppState>,
    page: PageUser,
    mut multipart: Multipart,
) -> PageResult {
    let upload = read_upload(&state, &page.user, Permission::SendLeads, &mut multipart)
        .await
        .map_err(|e| page.error(e))?;
    let Some((name, temp)) = upload.filter(|(name, _)| !name.is_empty()) else {
        let e = AppError::Invalid("请选择要导入的推送文件（.csv 或 .xlsx）".into());
        return form_page(&page, Err(e), |flash| {
            import_page_with(&state, &page, None, flash)
        })
        .await;
    };
    let next = state
        .app
        .import_leads(&page.user.actor, temp.path(), &name)
        .await
        .map(|report| format!("/leads/import?report={}", report.import_id));
    form_page(&page, next, |flash| {
        import_page_with(&state, &page, None, flash)
    })
    .await
}

async fn problems_download(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    let bytes = state
        .app
        .lead_import_problem_file(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(download(
        bytes.into(),
        &format!("推送问题行-{id}.csv"),
        "text/csv; charset=utf-8",
    ))
}

async fn template_download(page: PageUser) -> PageResult {
    page.user
        .actor
        .require(Permission::SendLeads)
        .map_err(|e| page.error(e))?;
    Ok(download(
        push_template().into(),
        "大数据推送模板.csv",
        "text/csv; charset=utf-8",
    ))
}

// ---------------------------------------------------------------------------------------------
// A resident's own report

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct SelfReportInput {
    name: String,
    id_type: String,
    id_number: String,
    phone: String,
    address: String,
    region_code: String,
    came_from: String,
    arrived_at: String,
    category: String,
    contact_note: String,
}

impl SelfReportInput {
    fn to_form(&self) -> SelfReportForm {
        SelfReportForm {
            name: self.name.clone(),
            id_type: self.id_type.clone(),
            id_number: self.id_number.clone(),
            phone: self.phone.clone(),
            address: self.address.clone(),
            region_code: self.region_code.clone(),
            came_from: self.came_from.clone(),
            arrived_at: self.arrived_at.clone(),
            category: self.category.clone(),
            contact_note: self.contact_note.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "leads/self_report.html")]
struct SelfReportPage {
    layout: Layout,
    f: SelfReportInput,
    linked: bool,
    mine: Vec<LeadRow>,
    categories: Vec<(&'static str, &'static str)>,
    id_types: Vec<(&'static str, &'static str)>,
}

async fn self_report_render(
    state: &AppState,
    page: &PageUser,
    f: SelfReportInput,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let mine = state
        .app
        .my_self_reports(actor)
        .await
        .map_err(|e| page.error(e))?;
    let linked = state
        .app
        .is_linked_to_resident(actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("self_report");
    layout.flash = flash;
    Ok(render(&SelfReportPage {
        layout,
        f,
        linked,
        mine: mine.into_iter().map(LeadRow::from).collect(),
        categories: [
            RiskCategory::LeftHighRiskArea,
            RiskCategory::LeftMediumRiskArea,
            RiskCategory::CloseContact,
            RiskCategory::Inbound,
            RiskCategory::Other,
        ]
        .iter()
        .map(|c| (c.code(), c.label_zh()))
        .collect(),
        id_types: id_types(),
    }))
}

async fn self_report_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let flash = (!q.saved.is_empty()).then(|| Flash {
        kind: "ok",
        text: "报告已提交，社区网格员会在24小时内与您联系".into(),
    });
    let f = SelfReportInput {
        category: RiskCategory::Other.code().into(),
        ..SelfReportInput::default()
    };
    self_report_render(&state, &page, f, flash).await
}

async fn self_report_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<SelfReportInput>,
) -> PageResult {
    let next = state
        .app
        .self_report(&page.user.actor, &f.to_form())
        .await
        .map(|_| "/me/self-report?saved=1".to_string());
    form_page(&page, next, |flash| {
        self_report_render(&state, &page, f, flash)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// JSON API

type ApiResult<T> = Result<Json<T>, ApiError>;

#[derive(Serialize)]
struct Created {
    id: i64,
}

async fn api_create(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(f): Json<LeadInput>,
) -> ApiResult<Created> {
    let id = state.app.create_lead(&user.actor, &f.to_form()).await?;
    Ok(Json(Created { id }))
}

async fn api_outcome(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(f): Json<OutcomeInput>,
) -> ApiResult<LeadView> {
    Ok(Json(
        state
            .app
            .record_lead_outcome(&user.actor, id, &f.to_form())
            .await?,
    ))
}

async fn api_list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<LeadListPage> {
    Ok(Json(state.app.leads_list(&user.actor, &q.filter()).await?))
}

async fn api_overdue(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<LeadListPage> {
    Ok(Json(
        state
            .app
            .overdue_leads(&user.actor, &q.region, q.page)
            .await?,
    ))
}

async fn api_overview(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<LeadOverview> {
    Ok(Json(
        state.app.leads_overview(&user.actor, &q.region).await?,
    ))
}

async fn api_detail(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<LeadDetail> {
    Ok(Json(state.app.lead_detail(&user.actor, id).await?))
}
