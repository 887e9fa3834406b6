//! The switch between normal and emergency command (平急转换, `/warning/emergency`): a region's
//! state, the proposals from alerts, the checklist with its tasks ticked by modules or by hand,
//! the conditions back to normal, the history; the API of the same.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::warning::{CommandStateView, ReturnForm, SwitchForm, TaskDoneForm};
use fangkong_domain::role::Permission;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::ApiResult;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::pages::{Flash, Layout, PageResult, PageUser, render};
use crate::session::ApiUser;

/// A form's body here: a reason of 500 characters and a few ticks.
const FORM_LIMIT: usize = 16 * 1024;

pub(super) fn pages() -> Router<AppState> {
    Router::new()
        .route("/warning/emergency", get(state_page))
        .route(
            "/warning/emergency/switch",
            post(switch_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/warning/emergency/return",
            post(return_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/warning/emergency/tasks/{id}/done",
            post(task_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
}

pub(super) fn api() -> Router<AppState> {
    Router::new()
        .route("/warning/emergency", get(api_state))
        .route(
            "/warning/emergency/switch",
            post(api_switch).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/warning/emergency/return",
            post(api_return).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
        .route(
            "/warning/emergency/tasks/{id}/done",
            post(api_task).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct StateQuery {
    region: String,
    /// An alert whose proposal the commander came to accept.
    alert: String,
    saved: String,
}

#[derive(Template)]
#[template(path = "warning/emergency.html")]
pub(super) struct StatePage {
    layout: Layout,
    v: CommandStateView,
    alert: String,
    reason: String,
    can_tick: bool,
}

async fn state_page_with(
    state: &AppState,
    page: &PageUser,
    region: &str,
    alert: String,
    reason: String,
    flash: Option<Flash>,
) -> PageResult {
    let v = state
        .app
        .command_state_view(&page.user.actor, region)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("warning_emergency");
    layout.flash = flash;
    Ok(render(&StatePage {
        layout,
        v,
        alert,
        reason,
        can_tick: page.can(Permission::RespondToWarnings),
    }))
}

pub(super) async fn state_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<StateQuery>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "emergency" => ok_flash("已转入应急状态，应急任务清单已下发"),
        "normal" => ok_flash("已恢复常态"),
        "task" => ok_flash("任务已完成"),
        _ => None,
    };
    state_page_with(&state, &page, &q.region, q.alert, String::new(), flash).await
}

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub(super) struct SwitchInput {
    region: String,
    reason: String,
    alert: String,
}

impl SwitchInput {
    fn form(&self) -> SwitchForm {
        SwitchForm {
            region: self.region.clone(),
            reason: self.reason.clone(),
            alert: self.alert.clone(),
        }
    }
}

pub(super) async fn switch_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<SwitchInput>,
) -> PageResult {
    let next = state
        .app
        .switch_to_emergency(&page.user.actor, &f.form())
        .await
        .map(|_| {
            format!(
                "/warning/emergency?region={}&saved=emergency",
                f.region.trim()
            )
        });
    form_page(&page, next, |flash| {
        state_page_with(
            &state,
            &page,
            &f.region,
            f.alert.clone(),
            f.reason.clone(),
            flash,
        )
    })
    .await
}

/// A switch back: the region, the reason, and one `c_<code>=on` per condition ticked (a form
/// cannot send a list under one name to the form reader).
#[derive(Deserialize, Default)]
pub(super) struct ReturnInput {
    #[serde(default)]
    region: String,
    #[serde(default)]
    reason: String,
    #[serde(flatten)]
    ticks: BTreeMap<String, String>,
}

impl ReturnInput {
    fn form(&self) -> ReturnForm {
        ReturnForm {
            region: self.region.clone(),
            reason: self.reason.clone(),
            confirmed: self
                .ticks
                .keys()
                .filter_map(|k| k.strip_prefix("c_"))
                .map(str::to_string)
                .collect(),
        }
    }
}

pub(super) async fn return_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<ReturnInput>,
) -> PageResult {
    let next = state
        .app
        .switch_to_normal(&page.user.actor, &f.form())
        .await
        .map(|_| format!("/warning/emergency?region={}&saved=normal", f.region.trim()));
    form_page(&page, next, |flash| {
        state_page_with(
            &state,
            &page,
            &f.region,
            String::new(),
            f.reason.clone(),
            flash,
        )
    })
    .await
}

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub(super) struct TaskInput {
    region: String,
    note: String,
}

pub(super) async fn task_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<TaskInput>,
) -> PageResult {
    let form = TaskDoneForm {
        note: f.note.clone(),
    };
    let next = state
        .app
        .complete_emergency_task(&page.user.actor, id, &form)
        .await
        .map(|()| format!("/warning/emergency?region={}&saved=task", f.region.trim()));
    form_page(&page, next, |flash| {
        state_page_with(
            &state,
            &page,
            &f.region,
            String::new(),
            String::new(),
            flash,
        )
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// API

pub(super) async fn api_state(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<StateQuery>,
) -> ApiResult<CommandStateView> {
    Ok(Json(
        state.app.command_state_view(&user.actor, &q.region).await?,
    ))
}

pub(super) async fn api_switch(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(f): Json<SwitchInput>,
) -> ApiResult<CommandStateView> {
    state
        .app
        .switch_to_emergency(&user.actor, &f.form())
        .await?;
    Ok(Json(
        state.app.command_state_view(&user.actor, &f.region).await?,
    ))
}

/// The API's switch back: the conditions confirmed as a list of codes.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ReturnBody {
    region: String,
    reason: String,
    confirmed: Vec<String>,
}

pub(super) async fn api_return(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(f): Json<ReturnBody>,
) -> ApiResult<CommandStateView> {
    let form = ReturnForm {
        region: f.region.clone(),
        reason: f.reason,
        confirmed: f.confirmed,
    };
    state.app.switch_to_normal(&user.actor, &form).await?;
    Ok(Json(
        state.app.command_state_view(&user.actor, &f.region).await?,
    ))
}

pub(super) async fn api_task(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(f): Json<TaskInput>,
) -> ApiResult<CommandStateView> {
    let form = TaskDoneForm { note: f.note };
    state
        .app
        .complete_emergency_task(&user.actor, id, &form)
        .await?;
    Ok(Json(
        state.app.command_state_view(&user.actor, &f.region).await?,
    ))
}
