//! Supplies: deliveries pages and API (see `app::supplies::deliveries`). `/supplies/deliveries` is
//! the resident's phone page (their household's requests and a form), the grid worker's (a form
//! for a resident without a phone, the grid's requests with the courier's steps) and the supply
//! office's board (counts, collection points and their slots, the allocation, every request).

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::AppError;
use fangkong_app::supplies::deliveries::{
    AllocationReport, DeliveryBoard, DeliveryForm, MyDeliveries, PointForm, StepForm,
};
use fangkong_domain::role::{Permission, Role};
use fangkong_domain::supplies::deliveries::{DeliveryCategory, DeliveryStatus};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::ApiResult;
use crate::forms::{CsrfForm, NoFields, form_page, ok_flash};
use crate::pages::{Flash, Layout, PageResult, PageUser, render};
use crate::session::ApiUser;

/// A request's, a point's or a step's form body.
const FORM_LIMIT: usize = 16 * 1024;

#[derive(Template)]
#[template(path = "supplies/deliveries.html")]
struct DeliveriesPage {
    layout: Layout,
    flash: Option<Flash>,
    resident: bool,
    /// The resident's household (None for other roles); `mine_note` when the account is not linked.
    mine: Option<MyDeliveries>,
    mine_note: String,
    /// May ask for someone else (grid worker, command office).
    asks_for_others: bool,
    fulfils: bool,
    board: Option<DeliveryBoard>,
    categories: Vec<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    status: String,
    overdue: bool,
    page: i64,
    pages: i64,
    typed: DeliveryForm,
    jurisdiction_code: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PageQuery {
    status: String,
    overdue: String,
    page: Option<i64>,
    saved: String,
    allocated: Option<i64>,
    waiting: Option<i64>,
}

async fn page_with(
    state: &AppState,
    page: &PageUser,
    q: &PageQuery,
    typed: DeliveryForm,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let resident = matches!(actor.role, Role::Resident);
    let (mine, mine_note) = if resident {
        match state.app.my_deliveries(actor).await {
            Ok(mine) => (Some(mine), String::new()),
            Err(AppError::Invalid(why)) => (None, why),
            Err(e) => return Err(page.error(e)),
        }
    } else {
        (None, String::new())
    };
    let fulfils = actor.role.allows(Permission::FulfilDeliveries);
    let overdue = q.overdue == "1";
    let page_number = q.page.unwrap_or(1).clamp(1, 10_000);
    let board = if !resident && (fulfils || actor.role.allows(Permission::ViewSupplies)) {
        Some(
            state
                .app
                .delivery_board(actor, &q.status, overdue, page_number)
                .await
                .map_err(|e| page.error(e))?,
        )
    } else {
        None
    };
    let pages = board.as_ref().map_or(1, |b| {
        (b.requests.total + fangkong_app::supplies::deliveries::DELIVERIES_PER_PAGE - 1)
            / fangkong_app::supplies::deliveries::DELIVERIES_PER_PAGE
    });
    Ok(render(&DeliveriesPage {
        layout: page.layout("supplies_deliveries"),
        flash,
        resident,
        mine,
        mine_note,
        asks_for_others: !resident && actor.role.allows(Permission::RequestDeliveries),
        fulfils,
        board,
        categories: DeliveryCategory::ALL
            .iter()
            .map(|c| (c.code(), c.label_zh()))
            .collect(),
        statuses: DeliveryStatus::ALL
            .iter()
            .map(|s| (s.code(), s.label_zh()))
            .collect(),
        status: q.status.clone(),
        overdue,
        page: page_number,
        pages: pages.max(1),
        typed,
        jurisdiction_code: actor.jurisdiction.as_str().to_string(),
    }))
}

pub(super) async fn deliveries_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "requested" => ok_flash("需求已提交：网格员和志愿者会按收货点时段送到，请留意电话。"),
        "point" => ok_flash("收货点已设置。"),
        "allocated" => ok_flash(format!(
            "已排时段 {} 条（待排 {} 条）。",
            q.allocated.unwrap_or(0),
            q.waiting.unwrap_or(0)
        )),
        "step" => ok_flash("配送状态已更新。"),
        _ => None,
    };
    page_with(&state, &page, &q, DeliveryForm::default(), flash).await
}

pub(super) async fn request_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<DeliveryForm>,
) -> PageResult {
    let none = PageQuery::default();
    let next = state
        .app
        .request_delivery(&page.user.actor, &form)
        .await
        .map(|_| "/supplies/deliveries?saved=requested".to_string());
    form_page(&page, next, |flash| {
        page_with(&state, &page, &none, form.clone(), flash)
    })
    .await
}

pub(super) async fn point_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<PointForm>,
) -> PageResult {
    let none = PageQuery::default();
    let next = state
        .app
        .add_delivery_point(&page.user.actor, &form)
        .await
        .map(|_| "/supplies/deliveries?saved=point".to_string());
    form_page(&page, next, |flash| {
        page_with(&state, &page, &none, DeliveryForm::default(), flash)
    })
    .await
}

pub(super) async fn allocate_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(_): CsrfForm<NoFields>,
) -> PageResult {
    let none = PageQuery::default();
    let next = state
        .app
        .allocate_deliveries(&page.user.actor)
        .await
        .map(|r: AllocationReport| {
            format!(
                "/supplies/deliveries?saved=allocated&allocated={}&waiting={}",
                r.allocated,
                r.waiting - r.allocated
            )
        });
    form_page(&page, next, |flash| {
        page_with(&state, &page, &none, DeliveryForm::default(), flash)
    })
    .await
}

pub(super) async fn step_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<StepForm>,
) -> PageResult {
    let none = PageQuery::default();
    let next = state
        .app
        .step_delivery(&page.user.actor, id, &form)
        .await
        .map(|()| "/supplies/deliveries?saved=step".to_string());
    form_page(&page, next, |flash| {
        page_with(&state, &page, &none, DeliveryForm::default(), flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BoardQuery {
    status: String,
    overdue: bool,
    page: Option<i64>,
}

async fn api_board(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<BoardQuery>,
) -> ApiResult<DeliveryBoard> {
    Ok(Json(
        state
            .app
            .delivery_board(&user.actor, &q.status, q.overdue, q.page.unwrap_or(1))
            .await?,
    ))
}

async fn api_mine(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<MyDeliveries> {
    Ok(Json(state.app.my_deliveries(&user.actor).await?))
}

#[derive(Serialize)]
struct Created {
    id: i64,
}

async fn api_request(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<DeliveryForm>,
) -> ApiResult<Created> {
    let id = state.app.request_delivery(&user.actor, &body).await?;
    Ok(Json(Created { id }))
}

#[derive(Serialize)]
struct Stepped {
    id: i64,
    status: String,
}

async fn api_step(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(body): Json<StepForm>,
) -> ApiResult<Stepped> {
    state.app.step_delivery(&user.actor, id, &body).await?;
    Ok(Json(Stepped {
        id,
        status: body.status,
    }))
}

async fn api_allocate(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<AllocationReport> {
    Ok(Json(state.app.allocate_deliveries(&user.actor).await?))
}

pub(super) fn pages() -> Router<AppState> {
    Router::new()
        .route(
            "/supplies/deliveries",
            get(deliveries_page)
                .post(request_submit)
                .layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/supplies/deliveries/points",
            post(point_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/supplies/deliveries/allocate",
            post(allocate_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/supplies/deliveries/{id}/step",
            post(step_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
}

pub(super) fn api() -> Router<AppState> {
    Router::new()
        .route(
            "/supplies/deliveries",
            get(api_board)
                .post(api_request)
                .layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route("/supplies/deliveries/mine", get(api_mine))
        .route(
            "/supplies/deliveries/allocate",
            post(api_allocate).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/supplies/deliveries/{id}/step",
            post(api_step).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
}
