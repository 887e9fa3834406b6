//! Supplies: vaccination pages and API (see `app::supplies::vaccination`). `/supplies/vaccination`
//! is the coverage by age band and region for the offices, and the vaccination point's desk (a
//! dose typed, a sheet of doses imported, a contraindication kept, the newest doses);
//! `/supplies/vaccination/elderly` is the grid worker's phone list of the people of 60 and over
//! not yet vaccinated, with the contraindications as reasons.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::supplies::vaccination::{
    ContraindicationForm, CoverageView, DoseForm, DoseImportReport, DoseOutcome, DoseView,
    PushPerson,
};
use fangkong_app::supplies::vaccination_upload::DOSE_COLUMNS;
use fangkong_app::{AppError, Page};
use fangkong_domain::role::Permission;
use fangkong_domain::supplies::vaccination::{Contraindication, DoseKind, VaccineProduct};
use serde::Deserialize;

use crate::AppState;
use crate::api::ApiResult;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::pages::{Flash, Layout, PageResult, PageUser, download, render};
use crate::session::ApiUser;

/// A dose's or a contraindication's form body.
const FORM_LIMIT: usize = 16 * 1024;
/// A sheet of doses: 20,000 rows of a few hundred bytes.
const UPLOAD_LIMIT: usize = 8 * 1024 * 1024;

#[derive(Template)]
#[template(path = "supplies/vaccination.html")]
struct VaccinationPage {
    layout: Layout,
    flash: Option<Flash>,
    records: bool,
    coverage: CoverageView,
    typed: DoseForm,
    products: &'static [VaccineProduct],
    kinds: &'static [DoseKind],
    reasons: &'static [Contraindication],
    recent: Vec<DoseView>,
    upload: Option<DoseImportReport>,
    columns: String,
}

#[derive(Template)]
#[template(path = "supplies/vaccination_elderly.html")]
struct ElderlyPage {
    layout: Layout,
    region: String,
    region_name: String,
    list: Page<PushPerson>,
    page: i64,
    pages: i64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RegionQuery {
    region: String,
    saved: String,
    page: i64,
}

async fn page_with(
    state: &AppState,
    page: &PageUser,
    region: &str,
    typed: DoseForm,
    upload: Option<DoseImportReport>,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let coverage = state
        .app
        .vaccination_coverage(actor, region)
        .await
        .map_err(|e| page.error(e))?;
    let records = actor.role.allows(Permission::RecordVaccinations);
    let recent = if records {
        state
            .app
            .recent_doses(actor)
            .await
            .map_err(|e| page.error(e))?
    } else {
        Vec::new()
    };
    Ok(render(&VaccinationPage {
        layout: page.layout("supplies_vaccination"),
        flash,
        records,
        coverage,
        typed,
        products: &VaccineProduct::ALL,
        kinds: &DoseKind::ALL,
        reasons: &Contraindication::ALL,
        recent,
        upload,
        columns: DOSE_COLUMNS.join(","),
    }))
}

pub(super) async fn vaccination_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<RegionQuery>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "recorded" => ok_flash("已登记这一剂。"),
        "already_recorded" => ok_flash("这一剂已登记过，本次未重复记录。"),
        "contraindication" => ok_flash("已登记接种禁忌：此人在老年人接种推进名单上显示该原因。"),
        _ => None,
    };
    page_with(&state, &page, &q.region, DoseForm::default(), None, flash).await
}

pub(super) async fn dose_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<DoseForm>,
) -> PageResult {
    let next = state
        .app
        .record_dose(&page.user.actor, &form)
        .await
        .map(|o| format!("/supplies/vaccination?saved={}", o.status));
    form_page(&page, next, |flash| {
        page_with(&state, &page, "", form.clone(), None, flash)
    })
    .await
}

pub(super) async fn contraindication_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<ContraindicationForm>,
) -> PageResult {
    let next = state
        .app
        .record_contraindication(&page.user.actor, &form)
        .await
        .map(|_| "/supplies/vaccination?saved=contraindication".to_string());
    form_page(&page, next, |flash| {
        page_with(&state, &page, "", DoseForm::default(), None, flash)
    })
    .await
}

pub(super) async fn upload_submit(
    State(state): State<AppState>,
    page: PageUser,
    mut multipart: Multipart,
) -> PageResult {
    let upload = crate::upload::read_upload(
        &state,
        &page.user,
        Permission::RecordVaccinations,
        &mut multipart,
    )
    .await
    .map_err(|e| page.error(too_large_in_words(e)))?;
    let Some((name, temp)) = upload.filter(|(name, _)| !name.is_empty()) else {
        let e = AppError::Invalid("请选择要导入的接种记录文件（.csv 或 .xlsx）".into());
        return form_page(&page, Err(e), |flash| {
            page_with(&state, &page, "", DoseForm::default(), None, flash)
        })
        .await;
    };
    match state
        .app
        .import_doses(&page.user.actor, temp.path(), &name)
        .await
    {
        Ok(report) => {
            let flash = ok_flash(format!(
                "导入完成：共 {} 行，新登记 {} 剂，已登记过 {} 剂，有问题 {} 行。",
                report.rows,
                report.recorded,
                report.already_recorded,
                report.problems.len()
            ));
            page_with(&state, &page, "", DoseForm::default(), Some(report), flash).await
        }
        Err(e) => {
            form_page(&page, Err(e), |flash| {
                page_with(&state, &page, "", DoseForm::default(), None, flash)
            })
            .await
        }
    }
}

/// The upload's own limit in words (the shared reader names the largest upload of all).
fn too_large_in_words(e: AppError) -> AppError {
    match e {
        AppError::TooLarge(_) => AppError::TooLarge(format!(
            "上传的文件太大：接种记录文件最大 {} MB，请分批导入",
            UPLOAD_LIMIT / (1024 * 1024)
        )),
        other => other,
    }
}

pub(super) async fn template_download(page: PageUser) -> PageResult {
    page.user
        .actor
        .require(Permission::RecordVaccinations)
        .map_err(|e| page.error(e))?;
    let mut body = String::from("\u{feff}");
    body.push_str(&DOSE_COLUMNS.join(","));
    body.push_str("\n张三,居民身份证,,国药北京生物,第一剂,2022-11-20,增村镇卫生院接种门诊\n");
    Ok(download(
        body.into(),
        "接种记录导入模板.csv",
        "text/csv; charset=utf-8",
    ))
}

pub(super) async fn elderly_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<RegionQuery>,
) -> PageResult {
    let actor = &page.user.actor;
    let n = q.page.max(0);
    let list = state
        .app
        .vaccination_push_list(actor, &q.region, n)
        .await
        .map_err(|e| page.error(e))?;
    let region = if q.region.trim().is_empty() {
        actor.jurisdiction.as_str().to_string()
    } else {
        q.region.trim().to_string()
    };
    let region_name = match fangkong_domain::region::RegionCode::parse(&region) {
        Ok(code) => state.app.region_name(&code).await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let rows = fangkong_app::supplies::vaccination::PUSH_PAGE_ROWS;
    Ok(render(&ElderlyPage {
        layout: page.layout("supplies_vaccination"),
        pages: (list.total + rows - 1) / rows,
        region,
        region_name,
        list,
        page: n,
    }))
}

async fn api_coverage(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<RegionQuery>,
) -> ApiResult<CoverageView> {
    Ok(Json(
        state
            .app
            .vaccination_coverage(&user.actor, &q.region)
            .await?,
    ))
}

async fn api_elderly(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<RegionQuery>,
) -> ApiResult<Page<PushPerson>> {
    Ok(Json(
        state
            .app
            .vaccination_push_list(&user.actor, &q.region, q.page)
            .await?,
    ))
}

async fn api_dose(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<DoseForm>,
) -> ApiResult<DoseOutcome> {
    Ok(Json(state.app.record_dose(&user.actor, &body).await?))
}

pub(super) fn pages() -> Router<AppState> {
    Router::new()
        .route("/supplies/vaccination", get(vaccination_page))
        .route(
            "/supplies/vaccination/doses",
            post(dose_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/supplies/vaccination/contraindications",
            post(contraindication_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/supplies/vaccination/upload",
            post(upload_submit).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/supplies/vaccination/template.csv", get(template_download))
        .route("/supplies/vaccination/elderly", get(elderly_page))
}

pub(super) fn api() -> Router<AppState> {
    Router::new()
        .route("/supplies/vaccination/coverage", get(api_coverage))
        .route("/supplies/vaccination/elderly", get(api_elderly))
        .route(
            "/supplies/vaccination/doses",
            post(api_dose).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
}
