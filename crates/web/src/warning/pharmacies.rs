//! Early warning: pharmacies pages and API (see `app::warning::pharmacies`). `/warning/pharmacies`
//! is the pharmacy's phone page (report one sale, upload a sales file, register the pharmacy, the
//! recent sales) and the commander's view (pharmacies with their day counts, buyers awaiting a
//! test, overdue into leads, IDs flagged); the API takes sales from pharmacy systems as an array.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::AppError;
use fangkong_app::warning::pharmacies::{
    PharmacyForm, PharmacyOverview, PharmacyView, SaleInput, SaleOutcome, SaleView, SalesReport,
};
use fangkong_app::warning::pharmacies_upload::SALE_COLUMNS;
use fangkong_domain::role::Permission;
use fangkong_domain::warning::pharmacies::{Drug, catalogue_for};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::ApiResult;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::pages::{Flash, Layout, PageResult, PageUser, download, render};
use crate::session::ApiUser;

/// A sale's or a registration's form body.
const FORM_LIMIT: usize = 16 * 1024;
/// A sales file: 50,000 rows of a few hundred bytes.
const UPLOAD_LIMIT: usize = 16 * 1024 * 1024;
/// The API's body: up to 10,000 sales.
pub(crate) const API_BODY_LIMIT: usize = 4 * 1024 * 1024;

#[derive(Template)]
#[template(path = "warning/pharmacies.html")]
struct PharmaciesPage {
    layout: Layout,
    flash: Option<Flash>,
    reports: bool,
    pharmacies: Vec<PharmacyView>,
    chosen: i64,
    drugs: Vec<Drug>,
    typed: SaleTyped,
    recent: Vec<SaleView>,
    upload: Option<SalesReport>,
    overview: Option<PharmacyOverview>,
    columns: String,
    jurisdiction_code: String,
}

/// What the sale form shows again after a mistake.
#[derive(Default, Clone)]
struct SaleTyped {
    sale_key: String,
    drug: String,
    quantity: String,
    buyer_name: String,
    id_type: String,
    id_number: String,
    phone: String,
    sold_at: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PageQuery {
    pharmacy: Option<i64>,
    saved: String,
}

async fn page_with(
    state: &AppState,
    page: &PageUser,
    chosen: Option<i64>,
    typed: SaleTyped,
    upload: Option<SalesReport>,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let pharmacies = state
        .app
        .pharmacies_of(actor)
        .await
        .map_err(|e| page.error(e))?;
    let reports = actor.role.allows(Permission::ReportPharmacySales);
    let chosen = chosen
        .filter(|id| pharmacies.iter().any(|p| p.id == *id))
        .or(pharmacies.first().map(|p| p.id))
        .unwrap_or(0);
    let recent = if reports {
        state
            .app
            .recent_pharmacy_sales(actor, (chosen > 0).then_some(chosen))
            .await
            .map_err(|e| page.error(e))?
    } else {
        Vec::new()
    };
    let overview = if actor.role.allows(Permission::ViewWarning) {
        Some(
            state
                .app
                .pharmacy_overview(actor)
                .await
                .map_err(|e| page.error(e))?,
        )
    } else {
        None
    };
    let drugs = catalogue_for(actor.jurisdiction.as_str())
        .map(|c| c.drugs.clone())
        .unwrap_or_default();
    Ok(render(&PharmaciesPage {
        layout: page.layout("pharmacies"),
        flash,
        reports,
        pharmacies,
        chosen,
        drugs,
        typed,
        recent,
        upload,
        overview,
        columns: SALE_COLUMNS.join(","),
        jurisdiction_code: actor.jurisdiction.as_str().to_string(),
    }))
}

pub(super) async fn pharmacies_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "registered" => ok_flash("药店已登记。"),
        "recorded" => ok_flash("已登记：购药人须在规定时限内完成核酸检测，检测前健康码弹窗。"),
        "flagged" => ok_flash("已登记，但证件号码无效：该记录已标记，请核实购药人身份。"),
        "already_recorded" => ok_flash("该销售单号已登记过，本次未重复记录。"),
        _ => None,
    };
    page_with(&state, &page, q.pharmacy, SaleTyped::default(), None, flash).await
}

pub(super) async fn register_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<PharmacyForm>,
) -> PageResult {
    let next = state
        .app
        .register_pharmacy(&page.user.actor, &form)
        .await
        .map(|id| format!("/warning/pharmacies?pharmacy={id}&saved=registered"));
    form_page(&page, next, |flash| {
        page_with(&state, &page, None, SaleTyped::default(), None, flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct SaleForm {
    pharmacy_id: String,
    sale_key: String,
    sold_at: String,
    drug: String,
    quantity: String,
    buyer_name: String,
    id_type: String,
    id_number: String,
    phone: String,
}

pub(super) async fn sale_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<SaleForm>,
) -> PageResult {
    let pharmacy_id = form.pharmacy_id.trim().parse::<i64>().unwrap_or(0);
    let input = SaleInput {
        licence_no: String::new(),
        sale_key: form.sale_key.clone(),
        sold_at: form.sold_at.clone(),
        drug: form.drug.clone(),
        quantity: form.quantity.clone(),
        buyer_name: form.buyer_name.clone(),
        id_type: form.id_type.clone(),
        id_number: form.id_number.clone(),
        phone: form.phone.clone(),
    };
    let next = state
        .app
        .report_pharmacy_sale(&page.user.actor, pharmacy_id, &input)
        .await
        .map(|o| {
            let saved = if o.sale_id.is_none() {
                "already_recorded"
            } else if o.flagged.is_some() {
                "flagged"
            } else {
                "recorded"
            };
            format!("/warning/pharmacies?pharmacy={pharmacy_id}&saved={saved}")
        });
    let typed = SaleTyped {
        sale_key: form.sale_key,
        drug: form.drug,
        quantity: form.quantity,
        buyer_name: form.buyer_name,
        id_type: form.id_type,
        id_number: form.id_number,
        phone: form.phone,
        sold_at: form.sold_at,
    };
    form_page(&page, next, |flash| {
        page_with(&state, &page, Some(pharmacy_id), typed, None, flash)
    })
    .await
}

pub(super) async fn upload_submit(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<PageQuery>,
    mut multipart: Multipart,
) -> PageResult {
    let pharmacy_id = q.pharmacy.unwrap_or(0);
    let upload = crate::upload::read_upload(
        &state,
        &page.user,
        Permission::ReportPharmacySales,
        &mut multipart,
    )
    .await
    .map_err(|e| page.error(too_large_in_words(e)))?;
    let Some((name, temp)) = upload.filter(|(name, _)| !name.is_empty()) else {
        let e = AppError::Invalid("请选择要上传的销售记录文件（.csv 或 .xlsx）".into());
        return form_page(&page, Err(e), |flash| {
            page_with(
                &state,
                &page,
                Some(pharmacy_id),
                SaleTyped::default(),
                None,
                flash,
            )
        })
        .await;
    };
    match state
        .app
        .import_pharmacy_sales(&page.user.actor, pharmacy_id, temp.path(), &name)
        .await
    {
        Ok(report) => {
            let flash = ok_flash(format!(
                "上传完成：共 {} 行，新登记 {} 条，已登记过 {} 条，证件无效已标记 {} 条，有问题 {} 行。",
                report.rows,
                report.recorded,
                report.already_recorded,
                report.flagged,
                report.problems.len()
            ));
            page_with(
                &state,
                &page,
                Some(pharmacy_id),
                SaleTyped::default(),
                Some(report),
                flash,
            )
            .await
        }
        Err(e) => {
            form_page(&page, Err(e), |flash| {
                page_with(
                    &state,
                    &page,
                    Some(pharmacy_id),
                    SaleTyped::default(),
                    None,
                    flash,
                )
            })
            .await
        }
    }
}

/// The upload's own limit in words (the shared reader names the largest upload of all).
fn too_large_in_words(e: AppError) -> AppError {
    match e {
        AppError::TooLarge(_) => AppError::TooLarge(format!(
            "上传的文件太大：销售记录文件最大 {} MB，请分批上传",
            UPLOAD_LIMIT / (1024 * 1024)
        )),
        other => other,
    }
}

pub(super) async fn template_download(page: PageUser) -> PageResult {
    page.user
        .actor
        .require(Permission::ReportPharmacySales)
        .map_err(|e| page.error(e))?;
    let mut body = String::from("\u{feff}");
    body.push_str(&SALE_COLUMNS.join(","));
    body.push_str(
        "\nXS20221120001,2022-11-20 09:30,布洛芬缓释胶囊,1,张三,居民身份证,,13800000000\n",
    );
    Ok(download(
        body.into(),
        "药店销售记录模板.csv",
        "text/csv; charset=utf-8",
    ))
}

async fn api_pharmacies(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Vec<PharmacyView>> {
    Ok(Json(state.app.pharmacies_of(&user.actor).await?))
}

#[derive(Serialize)]
struct Created {
    id: i64,
}

async fn api_register(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<PharmacyForm>,
) -> ApiResult<Created> {
    let id = state.app.register_pharmacy(&user.actor, &body).await?;
    Ok(Json(Created { id }))
}

#[derive(Deserialize)]
struct SalesBody {
    sales: Vec<SaleInput>,
}

#[derive(Serialize)]
struct SalesAnswer {
    report: SalesReport,
    outcomes: Vec<SaleOutcome>,
}

async fn api_sales(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<SalesBody>,
) -> ApiResult<SalesAnswer> {
    let (report, outcomes) = state
        .app
        .report_pharmacy_sales(&user.actor, &body.sales)
        .await?;
    Ok(Json(SalesAnswer { report, outcomes }))
}

async fn api_overview(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<PharmacyOverview> {
    Ok(Json(state.app.pharmacy_overview(&user.actor).await?))
}

pub(super) fn pages() -> Router<AppState> {
    Router::new()
        .route(
            "/warning/pharmacies",
            get(pharmacies_page)
                .post(register_submit)
                .layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/warning/pharmacies/sales",
            post(sale_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/warning/pharmacies/upload",
            post(upload_submit).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/warning/pharmacies/template.csv", get(template_download))
}

pub(super) fn api() -> Router<AppState> {
    Router::new()
        .route(
            "/warning/pharmacies",
            get(api_pharmacies)
                .post(api_register)
                .layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/warning/pharmacies/sales",
            post(api_sales).layer(DefaultBodyLimit::max(API_BODY_LIMIT)),
        )
        .route("/warning/pharmacies/overview", get(api_overview))
}
