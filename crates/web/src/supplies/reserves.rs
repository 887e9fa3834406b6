//! Supplies: reserves pages and API (see `app::supplies::reserves`). `/supplies/reserves` is the
//! supply office's page: days of cover worst first (cards and the demand list), each region's
//! items under the 30-day rule, the support requests between regions with their next step, the
//! warehouses and their stocks (the reserve list), the ledger; the forms to register a warehouse,
//! record a movement, type a daily rate and ask for support; the lists as CSV (两清单一台账).

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::Page;
use fangkong_app::supplies::reserves::{
    MovementForm, MovementView, RateForm, StockView, WarehouseForm, WarehouseView,
};
use fangkong_app::supplies::reserves_cover::ReservesCover;
use fangkong_app::supplies::reserves_support::{SupportForm, SupportStepForm, SupportView};
use fangkong_domain::role::Permission;
use fangkong_domain::supplies::reserves::{Item, MovementKind, OwnerKind};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::ApiResult;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::pages::{Flash, Layout, PageResult, PageUser, download, render};
use crate::session::ApiUser;

/// A form's body.
const FORM_LIMIT: usize = 16 * 1024;

#[derive(Template)]
#[template(path = "supplies/reserves.html")]
struct ReservesPage {
    layout: Layout,
    flash: Option<Flash>,
    manages: bool,
    region: String,
    cover: ReservesCover,
    requests: Vec<SupportView>,
    warehouses: Vec<WarehouseView>,
    stocks: Page<StockView>,
    ledger: Page<MovementView>,
    items: Vec<Item>,
    kinds: Vec<(&'static str, &'static str)>,
    owners: Vec<(&'static str, &'static str)>,
    jurisdiction_code: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PageQuery {
    region: String,
    item: String,
    page: i64,
    saved: String,
}

async fn page_with(
    state: &AppState,
    page: &PageUser,
    q: &PageQuery,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let app = &state.app;
    let cover = app
        .reserves_cover(actor, &q.region)
        .await
        .map_err(|e| page.error(e))?;
    let region = cover.region_code.clone();
    let requests = app
        .support_requests(actor)
        .await
        .map_err(|e| page.error(e))?;
    let warehouses = app
        .warehouses(actor, &region)
        .await
        .map_err(|e| page.error(e))?;
    let stocks = app
        .reserve_stocks(actor, &region)
        .await
        .map_err(|e| page.error(e))?;
    let ledger = app
        .reserve_ledger(actor, &region, &q.item, None, q.page)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&ReservesPage {
        layout: page.layout("supplies_reserves"),
        flash,
        manages: actor.role.allows(Permission::ManageReserves),
        region,
        cover,
        requests,
        warehouses,
        stocks,
        ledger,
        items: app.reserves_catalogue().items.clone(),
        kinds: MovementKind::ALL
            .iter()
            .map(|k| (k.code(), k.label_zh()))
            .collect(),
        owners: OwnerKind::ALL
            .iter()
            .map(|k| (k.code(), k.label_zh()))
            .collect(),
        jurisdiction_code: actor.jurisdiction.as_str().to_string(),
    }))
}

pub(super) async fn reserves_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "warehouse" => ok_flash("仓库已登记。"),
        "movement" => ok_flash("已记入台账，库存已更新。"),
        "rate" => ok_flash("日用量已保存，可保障天数已按新用量计算。"),
        "request" => ok_flash("支援申请已提交，待支援方审批。"),
        "approved" => ok_flash("已同意支援，请选择仓库发运。"),
        "refused" => ok_flash("已拒绝该支援申请。"),
        "dispatched" => ok_flash("已发运：出库已记入台账，待申请方签收。"),
        "received" => ok_flash("已签收：入库已记入台账。"),
        _ => None,
    };
    page_with(&state, &page, &q, flash).await
}

fn back(saved: &str) -> String {
    format!("/supplies/reserves?saved={saved}")
}

async fn again(state: &AppState, page: &PageUser, flash: Option<Flash>) -> PageResult {
    page_with(state, page, &PageQuery::default(), flash).await
}

pub(super) async fn warehouse_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<WarehouseForm>,
) -> PageResult {
    let next = state
        .app
        .create_warehouse(&page.user.actor, &form)
        .await
        .map(|_| back("warehouse"));
    form_page(&page, next, |flash| again(&state, &page, flash)).await
}

pub(super) async fn movement_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<MovementForm>,
) -> PageResult {
    let next = state
        .app
        .record_movement(&page.user.actor, &form)
        .await
        .map(|_| back("movement"));
    form_page(&page, next, |flash| again(&state, &page, flash)).await
}

pub(super) async fn rate_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<RateForm>,
) -> PageResult {
    let next = state
        .app
        .set_reserve_rate(&page.user.actor, &form)
        .await
        .map(|_| back("rate"));
    form_page(&page, next, |flash| again(&state, &page, flash)).await
}

pub(super) async fn request_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<SupportForm>,
) -> PageResult {
    let next = state
        .app
        .request_support(&page.user.actor, &form)
        .await
        .map(|_| back("request"));
    form_page(&page, next, |flash| again(&state, &page, flash)).await
}

pub(super) async fn approve_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<SupportStepForm>,
) -> PageResult {
    let next = state
        .app
        .decide_support(&page.user.actor, id, true, &form)
        .await
        .map(|_| back("approved"));
    form_page(&page, next, |flash| again(&state, &page, flash)).await
}

pub(super) async fn refuse_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<SupportStepForm>,
) -> PageResult {
    let next = state
        .app
        .decide_support(&page.user.actor, id, false, &form)
        .await
        .map(|_| back("refused"));
    form_page(&page, next, |flash| again(&state, &page, flash)).await
}

pub(super) async fn dispatch_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<SupportStepForm>,
) -> PageResult {
    let next = state
        .app
        .dispatch_support(&page.user.actor, id, &form)
        .await
        .map(|_| back("dispatched"));
    form_page(&page, next, |flash| again(&state, &page, flash)).await
}

pub(super) async fn receive_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_form): CsrfForm<SupportStepForm>,
) -> PageResult {
    let next = state
        .app
        .receive_support(&page.user.actor, id)
        .await
        .map(|_| back("received"));
    form_page(&page, next, |flash| again(&state, &page, flash)).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ExportQuery {
    region: String,
    which: String,
}

pub(super) async fn export_csv(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<ExportQuery>,
) -> PageResult {
    let (name, bytes) = state
        .app
        .reserves_csv(&page.user.actor, &q.region, &q.which)
        .await
        .map_err(|e| page.error(e))?;
    Ok(download(bytes.into(), &name, "text/csv; charset=utf-8"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ApiQuery {
    region: String,
    item: String,
    warehouse: Option<i64>,
    page: i64,
}

async fn api_cover(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<ApiQuery>,
) -> ApiResult<ReservesCover> {
    Ok(Json(
        state.app.reserves_cover(&user.actor, &q.region).await?,
    ))
}

async fn api_warehouses(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<ApiQuery>,
) -> ApiResult<Vec<WarehouseView>> {
    Ok(Json(state.app.warehouses(&user.actor, &q.region).await?))
}

#[derive(Serialize)]
struct Created {
    id: i64,
}

async fn api_create_warehouse(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<WarehouseForm>,
) -> ApiResult<Created> {
    Ok(Json(Created {
        id: state.app.create_warehouse(&user.actor, &body).await?,
    }))
}

#[derive(Serialize)]
struct Recorded {
    ids: Vec<i64>,
}

async fn api_movement(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<MovementForm>,
) -> ApiResult<Recorded> {
    Ok(Json(Recorded {
        ids: state.app.record_movement(&user.actor, &body).await?,
    }))
}

async fn api_ledger(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<ApiQuery>,
) -> ApiResult<Page<MovementView>> {
    Ok(Json(
        state
            .app
            .reserve_ledger(&user.actor, &q.region, &q.item, q.warehouse, q.page)
            .await?,
    ))
}

async fn api_requests(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Vec<SupportView>> {
    Ok(Json(state.app.support_requests(&user.actor).await?))
}

async fn api_request(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<SupportForm>,
) -> ApiResult<Created> {
    Ok(Json(Created {
        id: state.app.request_support(&user.actor, &body).await?,
    }))
}

pub(super) fn pages() -> Router<AppState> {
    Router::new()
        .route("/supplies/reserves", get(reserves_page))
        .route(
            "/supplies/reserves/warehouses",
            post(warehouse_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/supplies/reserves/movements",
            post(movement_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/supplies/reserves/rates",
            post(rate_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/supplies/reserves/requests",
            post(request_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/supplies/reserves/requests/{id}/approve",
            post(approve_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/supplies/reserves/requests/{id}/refuse",
            post(refuse_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/supplies/reserves/requests/{id}/dispatch",
            post(dispatch_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/supplies/reserves/requests/{id}/receive",
            post(receive_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route("/supplies/reserves/export.csv", get(export_csv))
}

pub(super) fn api() -> Router<AppState> {
    Router::new()
        .route("/supplies/reserves/cover", get(api_cover))
        .route(
            "/supplies/reserves/warehouses",
            get(api_warehouses)
                .post(api_create_warehouse)
                .layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/supplies/reserves/movements",
            post(api_movement).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route("/supplies/reserves/ledger", get(api_ledger))
        .route(
            "/supplies/reserves/requests",
            get(api_requests)
                .post(api_request)
                .layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
}
