//! Big-data push pages and API (see `app::analytics`): `/analytics` — the rules in force with the
//! form to set them, the day files and the cell map, the jobs (risk-area visitors, 时空伴随者,
//! e-fence breaches) with what each found and landed, the feed and cell-map uploads;
//! `/analytics/jobs/{id}` — one job: its rule, window and counters, and each person found (masked)
//! with the lead or alarm it became, linked to the lead's page.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::AppError;
use fangkong_app::analytics::{AnalyticsOverview, JobDetail, PingImportReport, PolicyForm};
use fangkong_domain::role::{Permission, Role};
use serde::Deserialize;

use crate::AppState;
use crate::api::ApiResult;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::nav::{CapabilityHome, NavEntries, NavLink, Section, link};
use crate::pages::{Flash, Layout, PageResult, PageUser, render};
use crate::session::ApiUser;

const FORM_LIMIT: usize = 16 * 1024;
/// A feed uploaded through the page or the API (a day of a county's pings in Parquet is ~40 MB;
/// larger feeds go through `fangkong pings import`).
const FEED_LIMIT: usize = 256 * 1024 * 1024;

fn sees_analytics(role: Role) -> bool {
    role.allows(Permission::ViewAnalytics)
}

pub(crate) const NAV: NavEntries = NavEntries {
    home: Some(CapabilityHome {
        capability: "risk_area",
        href: |_| "/analytics",
    }),
    links: &LINKS,
};

const LINKS: [NavLink; 1] = [link(
    Section::Command,
    "大数据推送",
    "/analytics",
    "analytics",
    sees_analytics,
)];

#[derive(Template)]
#[template(path = "analytics/overview.html")]
struct OverviewPage {
    layout: Layout,
    flash: Option<Flash>,
    o: AnalyticsOverview,
    report: Option<PingImportReport>,
}

#[derive(Template)]
#[template(path = "analytics/job.html")]
struct JobPage {
    layout: Layout,
    d: JobDetail,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PageQuery {
    saved: String,
}

async fn page_with(
    state: &AppState,
    page: &PageUser,
    report: Option<PingImportReport>,
    flash: Option<Flash>,
) -> PageResult {
    let o = state
        .app
        .analytics_overview(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&OverviewPage {
        layout: page.layout("analytics"),
        flash,
        o,
        report,
    }))
}

async fn overview_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "policy" => ok_flash("分析规则已保存，此后的分析任务按新规则执行。"),
        "requested" => ok_flash("已完成一次全量时空伴随分析，结果见下方任务列表。"),
        _ => None,
    };
    page_with(&state, &page, None, flash).await
}

async fn job_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    let d = state
        .app
        .analytics_job(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&JobPage {
        layout: page.layout("analytics"),
        d,
    }))
}

async fn policy_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<PolicyForm>,
) -> PageResult {
    let next = state
        .app
        .set_analytics_policy(&page.user.actor, &form)
        .await
        .map(|_| "/analytics?saved=policy".to_string());
    form_page(&page, next, |flash| page_with(&state, &page, None, flash)).await
}

async fn request_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(_form): CsrfForm<Empty>,
) -> PageResult {
    let next = state
        .app
        .request_full_companion_job(&page.user.actor)
        .await
        .map(|id| match id {
            Some(id) => format!("/analytics/jobs/{id}"),
            None => "/analytics?saved=requested".to_string(),
        });
    form_page(&page, next, |flash| page_with(&state, &page, None, flash)).await
}

#[derive(Deserialize, Default)]
struct Empty {}

/// The file of an upload form (the form's token and the permission checked first), or the answer
/// to give instead: the error page, or the page again saying which file is missing.
async fn uploaded_file(
    state: &AppState,
    page: &PageUser,
    multipart: &mut Multipart,
    missing: &str,
) -> Result<(String, tempfile::NamedTempFile), Box<PageResult>> {
    let upload =
        crate::upload::read_upload(state, &page.user, Permission::ManageAnalytics, multipart)
            .await
            .map_err(|e| Box::new(Err(page.error(e))))?;
    match upload.filter(|(name, _)| !name.is_empty()) {
        Some(file) => Ok(file),
        None => Err(Box::new(
            form_page(page, Err(AppError::Invalid(missing.into())), |flash| {
                page_with(state, page, None, flash)
            })
            .await,
        )),
    }
}

async fn pings_submit(
    State(state): State<AppState>,
    page: PageUser,
    mut multipart: Multipart,
) -> PageResult {
    let missing = "请选择要导入的位置数据文件（.csv 或 .parquet）";
    let (name, temp) = match uploaded_file(&state, &page, &mut multipart, missing).await {
        Ok(file) => file,
        Err(answer) => return *answer,
    };
    match state
        .app
        .import_pings(&page.user.actor, temp.path(), &name)
        .await
    {
        Ok(report) => {
            let flash = ok_flash(format!(
                "导入完成：读取 {} 条，写入 {} 条；到达时发现风险区域到访 {} 人、电子围栏越界 {} 人。",
                report.rows_read, report.written, report.area_visitors, report.fence_breaches
            ));
            page_with(&state, &page, Some(report), flash).await
        }
        Err(e) => form_page(&page, Err(e), |flash| page_with(&state, &page, None, flash)).await,
    }
}

async fn cells_submit(
    State(state): State<AppState>,
    page: PageUser,
    mut multipart: Multipart,
) -> PageResult {
    let missing = "请选择网格对照表文件（.csv，两列：cell_id,region_code）";
    let (_, temp) = match uploaded_file(&state, &page, &mut multipart, missing).await {
        Ok(file) => file,
        Err(answer) => return *answer,
    };
    match state.app.load_cell_map(&page.user.actor, temp.path()).await {
        Ok((written, problems)) => {
            let mut words = format!("网格对照表已导入 {written} 条");
            if let Some((line, why)) = problems.first() {
                words.push_str(&format!(
                    "；有 {} 行未导入，如第 {line} 行：{why}",
                    problems.len()
                ));
            }
            page_with(&state, &page, None, ok_flash(words)).await
        }
        Err(e) => form_page(&page, Err(e), |flash| page_with(&state, &page, None, flash)).await,
    }
}

async fn api_overview(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<AnalyticsOverview> {
    Ok(Json(state.app.analytics_overview(&user.actor).await?))
}

async fn api_job(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<JobDetail> {
    Ok(Json(state.app.analytics_job(&user.actor, id).await?))
}

/// An operator's system posts a feed (multipart, field `file`): the pings land in the day files
/// and the watch's findings become leads and alarms before the answer.
async fn api_pings(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    mut multipart: Multipart,
) -> ApiResult<PingImportReport> {
    let upload =
        crate::upload::read_upload(&state, &user, Permission::ManageAnalytics, &mut multipart)
            .await?;
    let Some((name, temp)) = upload else {
        return Err(AppError::Invalid("请在 file 字段上传位置数据文件".into()).into());
    };
    Ok(Json(
        state
            .app
            .import_pings(&user.actor, temp.path(), &name)
            .await?,
    ))
}

pub(crate) fn pages() -> Router<AppState> {
    Router::new()
        .route("/analytics", get(overview_page))
        .route("/analytics/jobs/{id}", get(job_page))
        .route(
            "/analytics/policy",
            post(policy_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/analytics/jobs",
            post(request_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/analytics/pings",
            post(pings_submit).layer(DefaultBodyLimit::max(FEED_LIMIT)),
        )
        .route(
            "/analytics/cells",
            post(cells_submit).layer(DefaultBodyLimit::max(FEED_LIMIT)),
        )
}

pub(crate) fn api() -> Router<AppState> {
    Router::new()
        .route("/analytics", get(api_overview))
        .route("/analytics/jobs/{id}", get(api_job))
        .route(
            "/analytics/pings",
            post(api_pings).layer(DefaultBodyLimit::max(FEED_LIMIT)),
        )
}
