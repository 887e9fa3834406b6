//! Supplies: gatherings pages and API (see `app::supplies::gatherings`). `/supplies/gatherings`
//! lists the jurisdiction's filings and takes a new one (an organiser, or the grid worker or
//! command office for them); `/supplies/gatherings/{id}` shows one with its participants checked
//! (code colour, 48-hour negative before the date) and the approving office's decision form.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::Page;
use fangkong_app::supplies::gatherings::{
    DecisionForm, GatheringDetail, GatheringForm, GatheringView,
};
use fangkong_domain::role::Permission;
use fangkong_domain::supplies::gatherings::{GatheringKind, policy};
use serde::Serialize;

use crate::AppState;
use crate::api::ApiResult;
use crate::forms::{CsrfForm, form_page};
use crate::pages::{Flash, Layout, PageResult, PageUser, render};
use crate::session::ApiUser;

/// A filing's body: up to 500 ID numbers.
const FORM_LIMIT: usize = 64 * 1024;

#[derive(Template)]
#[template(path = "supplies/gatherings.html")]
struct GatheringsPage {
    layout: Layout,
    flash: Option<Flash>,
    files: bool,
    list: Page<GatheringView>,
    kinds: Vec<(&'static str, &'static str)>,
    policy_note: String,
    jurisdiction_code: String,
}

#[derive(Template)]
#[template(path = "supplies/gathering.html")]
struct GatheringPage {
    layout: Layout,
    flash: Option<Flash>,
    decides: bool,
    detail: GatheringDetail,
}

async fn list_with(state: &AppState, page: &PageUser, flash: Option<Flash>) -> PageResult {
    let actor = &page.user.actor;
    let list = state
        .app
        .gatherings(actor)
        .await
        .map_err(|e| page.error(e))?;
    let p = policy();
    Ok(render(&GatheringsPage {
        layout: page.layout("supplies_gatherings"),
        flash,
        files: actor.role.allows(Permission::FileGatherings),
        list,
        kinds: GatheringKind::ALL
            .iter()
            .map(|k| (k.code(), k.label_zh()))
            .collect(),
        policy_note: p.source.clone(),
        jurisdiction_code: actor.jurisdiction.as_str().to_string(),
    }))
}

pub(super) async fn gatherings_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    list_with(&state, &page, None).await
}

pub(super) async fn file_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<GatheringForm>,
) -> PageResult {
    let next = state
        .app
        .file_gathering(&page.user.actor, &form)
        .await
        .map(|id| format!("/supplies/gatherings/{id}"));
    form_page(&page, next, |flash| list_with(&state, &page, flash)).await
}

async fn detail_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    flash: Option<Flash>,
) -> PageResult {
    let detail = state
        .app
        .gathering_detail(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&GatheringPage {
        layout: page.layout("supplies_gatherings"),
        flash,
        decides: page.user.actor.role.allows(Permission::ApproveGatherings),
        detail,
    }))
}

pub(super) async fn gathering_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    detail_with(&state, &page, id, None).await
}

pub(super) async fn decision_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> PageResult {
    let next = state
        .app
        .decide_gathering(&page.user.actor, id, &form)
        .await
        .map(|()| format!("/supplies/gatherings/{id}"));
    form_page(&page, next, |flash| detail_with(&state, &page, id, flash)).await
}

async fn api_list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Page<GatheringView>> {
    Ok(Json(state.app.gatherings(&user.actor).await?))
}

#[derive(Serialize)]
struct Created {
    id: i64,
}

async fn api_file(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<GatheringForm>,
) -> ApiResult<Created> {
    let id = state.app.file_gathering(&user.actor, &body).await?;
    Ok(Json(Created { id }))
}

async fn api_detail(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<GatheringDetail> {
    Ok(Json(state.app.gathering_detail(&user.actor, id).await?))
}

async fn api_decide(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(body): Json<DecisionForm>,
) -> ApiResult<GatheringDetail> {
    state.app.decide_gathering(&user.actor, id, &body).await?;
    Ok(Json(state.app.gathering_detail(&user.actor, id).await?))
}

pub(super) fn pages() -> Router<AppState> {
    Router::new()
        .route(
            "/supplies/gatherings",
            get(gatherings_page)
                .post(file_submit)
                .layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route("/supplies/gatherings/{id}", get(gathering_page))
        .route(
            "/supplies/gatherings/{id}/decision",
            post(decision_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
}

pub(super) fn api() -> Router<AppState> {
    Router::new()
        .route(
            "/supplies/gatherings",
            get(api_list)
                .post(api_file)
                .layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route("/supplies/gatherings/{id}", get(api_detail))
        .route(
            "/supplies/gatherings/{id}/decision",
            post(api_decide).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
}
