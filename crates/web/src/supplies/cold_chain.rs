//! Supplies: cold-chain pages and API (see `app::supplies::cold_chain`). `/supplies/cold-chain`
//! lists the batches of the jurisdiction (registered here or that reached a place here) with the
//! form to register one; `?batch=` traces one — origin and certificate back, cold store →
//! distributor → market forward, the tests with the alerts they raised, the cold-chain workers
//! where it went — with the forms for a movement and a result.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::supplies::cold_chain::{
    BatchForm, BatchRecord, MovementForm, TestForm, TestOutcome, TraceView,
};
use fangkong_domain::role::Permission;
use fangkong_domain::supplies::cold_chain::{ChainNode, SampleKind};
use serde::Deserialize;

use crate::AppState;
use crate::api::ApiResult;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::pages::{Flash, Layout, PageResult, PageUser, render};
use crate::session::ApiUser;

const FORM_LIMIT: usize = 16 * 1024;

#[derive(Template)]
#[template(path = "supplies/cold_chain.html")]
struct ColdChainPage {
    layout: Layout,
    flash: Option<Flash>,
    manages: bool,
    batches: Vec<BatchRecord>,
    trace: Option<TraceView>,
    nodes: &'static [ChainNode],
    kinds: &'static [SampleKind],
    jurisdiction_code: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PageQuery {
    batch: Option<i64>,
    saved: String,
}

async fn page_with(
    state: &AppState,
    page: &PageUser,
    batch: Option<i64>,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let batches = state
        .app
        .cold_chain_batches(actor)
        .await
        .map_err(|e| page.error(e))?;
    let trace = match batch {
        Some(id) => Some(
            state
                .app
                .cold_chain_trace(actor, id)
                .await
                .map_err(|e| page.error(e))?,
        ),
        None => None,
    };
    Ok(render(&ColdChainPage {
        layout: page.layout("supplies_cold_chain"),
        flash,
        manages: actor.role.allows(Permission::ManageColdChain),
        batches,
        trace,
        nodes: &ChainNode::ALL,
        kinds: &SampleKind::ALL,
        jurisdiction_code: actor.jurisdiction.as_str().to_string(),
    }))
}

pub(super) async fn cold_chain_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "batch" => ok_flash("批次已登记。"),
        "movement" => ok_flash("流向已登记。"),
        "recorded" => ok_flash("检测结果已登记。"),
        "alerted" => ok_flash("阳性结果已登记，已向该批次到达的市场所在地触发冷链预警。"),
        "already_recorded" => ok_flash("该样本编号已登记过，本次未重复记录。"),
        _ => None,
    };
    page_with(&state, &page, q.batch, flash).await
}

pub(super) async fn batch_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<BatchForm>,
) -> PageResult {
    let next = state
        .app
        .register_cold_chain_batch(&page.user.actor, &form)
        .await
        .map(|id| format!("/supplies/cold-chain?batch={id}&saved=batch"));
    form_page(&page, next, |flash| page_with(&state, &page, None, flash)).await
}

pub(super) async fn movement_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<MovementForm>,
) -> PageResult {
    let batch = form.batch_id.trim().parse::<i64>().ok();
    let next = state
        .app
        .record_cold_chain_movement(&page.user.actor, &form)
        .await
        .map(|_| {
            format!(
                "/supplies/cold-chain?batch={}&saved=movement",
                batch.unwrap_or(0)
            )
        });
    form_page(&page, next, |flash| page_with(&state, &page, None, flash)).await
}

pub(super) async fn test_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<TestForm>,
) -> PageResult {
    let batch = form.batch_id.trim().parse::<i64>().ok();
    let next = state
        .app
        .record_cold_chain_test(&page.user.actor, &form)
        .await
        .map(|o| {
            let saved = if !o.alerts.is_empty() {
                "alerted"
            } else {
                o.status
            };
            format!(
                "/supplies/cold-chain?batch={}&saved={saved}",
                batch.unwrap_or(0)
            )
        });
    form_page(&page, next, |flash| page_with(&state, &page, None, flash)).await
}

async fn api_batches(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Vec<BatchRecord>> {
    Ok(Json(state.app.cold_chain_batches(&user.actor).await?))
}

async fn api_test(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<TestForm>,
) -> ApiResult<TestOutcome> {
    Ok(Json(
        state.app.record_cold_chain_test(&user.actor, &body).await?,
    ))
}

pub(super) fn pages() -> Router<AppState> {
    Router::new()
        .route(
            "/supplies/cold-chain",
            get(cold_chain_page)
                .post(batch_submit)
                .layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/supplies/cold-chain/movements",
            post(movement_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/supplies/cold-chain/tests",
            post(test_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
}

pub(super) fn api() -> Router<AppState> {
    Router::new()
        .route("/supplies/cold-chain/batches", get(api_batches))
        .route(
            "/supplies/cold-chain/tests",
            post(api_test).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
}
