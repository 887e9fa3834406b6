//! Alerts (预警信息): the list of a jurisdiction with the form for a cold-chain or environment
//! positive (`/warning/alerts`), one alert with its verification (`/warning/alerts/{id}`), and the
//! API of the same.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::warning::{AlertDecisionForm, AlertList, AlertView, EnvironmentForm};
use fangkong_domain::role::Permission;
use serde::{Deserialize, Serialize};

use super::filters;
use crate::AppState;
use crate::api::ApiResult;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::pages::{Flash, Layout, PageResult, PageUser, render};
use crate::session::ApiUser;

/// A form's body here: a note of 500 characters is a few kilobytes.
const FORM_LIMIT: usize = 16 * 1024;

pub(super) fn pages() -> Router<AppState> {
    Router::new()
        .route("/warning/alerts", get(alerts_page))
        .route(
            "/warning/alerts/environment",
            post(environment_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route("/warning/alerts/{id}", get(alert_page))
        .route(
            "/warning/alerts/{id}/decide",
            post(decide_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
}

pub(super) fn api() -> Router<AppState> {
    Router::new()
        .route("/warning/alerts", get(api_alerts))
        .route("/warning/alerts/{id}", get(api_alert))
        .route(
            "/warning/alerts/{id}/decide",
            post(api_decide).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/warning/environment",
            post(api_environment).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AlertQuery {
    region: String,
    status: String,
    saved: String,
}

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub(super) struct EnvironmentInput {
    region: String,
    place: String,
    sample: String,
}

impl EnvironmentInput {
    fn form(&self) -> EnvironmentForm {
        EnvironmentForm {
            region: self.region.clone(),
            place: self.place.clone(),
            sample: self.sample.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "warning/alerts.html")]
pub(super) struct AlertsPage {
    layout: Layout,
    l: AlertList,
    region: String,
    f: EnvironmentInput,
    can_respond: bool,
}

async fn alerts_page_with(
    state: &AppState,
    page: &PageUser,
    q: &AlertQuery,
    f: EnvironmentInput,
    flash: Option<Flash>,
) -> PageResult {
    let l = state
        .app
        .alerts(&page.user.actor, &q.region, &q.status)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("warning_alerts");
    layout.flash = flash;
    Ok(render(&AlertsPage {
        layout,
        l,
        region: q.region.clone(),
        f,
        can_respond: page.can(Permission::RespondToWarnings),
    }))
}

pub(super) async fn alerts_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<AlertQuery>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "decided" => ok_flash("预警已处理"),
        _ => None,
    };
    let f = EnvironmentInput {
        region: page.user.actor.jurisdiction.as_str().to_string(),
        ..EnvironmentInput::default()
    };
    alerts_page_with(&state, &page, &q, f, flash).await
}

pub(super) async fn environment_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<EnvironmentInput>,
) -> PageResult {
    let next = state
        .app
        .report_environment_positive(&page.user.actor, &f.form())
        .await
        .map(|id| format!("/warning/alerts/{id}?saved=raised"));
    let q = AlertQuery::default();
    form_page(&page, next, |flash| {
        alerts_page_with(&state, &page, &q, f, flash)
    })
    .await
}

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub(super) struct DecisionInput {
    decision: String,
    note: String,
}

#[derive(Template)]
#[template(path = "warning/alert.html")]
pub(super) struct AlertPage {
    layout: Layout,
    a: AlertView,
    f: DecisionInput,
    can_respond: bool,
    can_switch: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Saved {
    saved: String,
}

async fn alert_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    f: DecisionInput,
    flash: Option<Flash>,
) -> PageResult {
    let a = state
        .app
        .alert(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("warning_alerts");
    layout.flash = flash;
    Ok(render(&AlertPage {
        layout,
        a,
        f,
        can_respond: page.can(Permission::RespondToWarnings),
        can_switch: page.can(Permission::SwitchCommandState),
    }))
}

pub(super) async fn alert_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<Saved>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "raised" => ok_flash("已上报，预警已发出"),
        "decided" => ok_flash("预警已处理"),
        _ => None,
    };
    alert_page_with(&state, &page, id, DecisionInput::default(), flash).await
}

pub(super) async fn decide_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<DecisionInput>,
) -> PageResult {
    let form = AlertDecisionForm {
        decision: f.decision.clone(),
        note: f.note.clone(),
    };
    let next = state
        .app
        .decide_alert(&page.user.actor, id, &form)
        .await
        .map(|()| format!("/warning/alerts/{id}?saved=decided"));
    form_page(&page, next, |flash| {
        alert_page_with(&state, &page, id, f, flash)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// API

pub(super) async fn api_alerts(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<AlertQuery>,
) -> ApiResult<AlertList> {
    Ok(Json(
        state.app.alerts(&user.actor, &q.region, &q.status).await?,
    ))
}

pub(super) async fn api_alert(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<AlertView> {
    Ok(Json(state.app.alert(&user.actor, id).await?))
}

pub(super) async fn api_decide(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(f): Json<DecisionInput>,
) -> ApiResult<AlertView> {
    let form = AlertDecisionForm {
        decision: f.decision,
        note: f.note,
    };
    state.app.decide_alert(&user.actor, id, &form).await?;
    Ok(Json(state.app.alert(&user.actor, id).await?))
}

pub(super) async fn api_environment(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(f): Json<EnvironmentInput>,
) -> ApiResult<AlertView> {
    let id = state
        .app
        .report_environment_positive(&user.actor, &f.form())
        .await?;
    Ok(Json(state.app.alert(&user.actor, id).await?))
}
