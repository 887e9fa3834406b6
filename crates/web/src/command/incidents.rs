//! Incident reports (重大事项报告): the list with the first-report form (`/command/incidents`), one
//! incident's timeline of reports and of receipt per level above (`/command/incidents/{id}`) with
//! follow-up, closure and "收到"; the API of the same.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use fangkong_app::command::{IncidentDetail, IncidentForm, IncidentView};
use fangkong_domain::command::incidents::IncidentKind;
use fangkong_domain::role::Permission;
use serde::{Deserialize, Serialize};

use super::ApiResult;
use crate::AppState;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::pages::{Flash, Layout, PageResult, PageUser, beijing_time, options, render};
use crate::session::ApiUser;

/// An incident with its times as users read them.
pub struct IncidentLine {
    pub v: IncidentView,
    pub occurred: String,
    pub filed: String,
    pub deadline: String,
    pub closed: String,
}

fn line(v: IncidentView) -> IncidentLine {
    IncidentLine {
        occurred: beijing_time(v.occurred_at),
        filed: beijing_time(v.filed_at),
        deadline: beijing_time(v.deadline),
        closed: v.closed_at.map(beijing_time).unwrap_or_default(),
        v,
    }
}

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub(super) struct IncidentInput {
    kind: String,
    occurred_at: String,
    place: String,
    summary: String,
    incident_key: String,
}

impl IncidentInput {
    fn to_form(&self) -> IncidentForm {
        IncidentForm {
            kind: self.kind.clone(),
            occurred_at: self.occurred_at.clone(),
            place: self.place.clone(),
            summary: self.summary.clone(),
            incident_key: self.incident_key.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "command/incidents.html")]
pub(super) struct ListPage {
    layout: Layout,
    lines: Vec<IncidentLine>,
    f: IncidentInput,
    kinds: Vec<(&'static str, &'static str)>,
    can_file: bool,
}

async fn list_page_with(
    state: &AppState,
    page: &PageUser,
    f: IncidentInput,
    flash: Option<Flash>,
) -> PageResult {
    let list = state
        .app
        .incidents(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("command_incidents");
    layout.flash = flash;
    Ok(render(&ListPage {
        layout,
        lines: list.into_iter().map(line).collect(),
        f,
        kinds: options(
            &IncidentKind::ALL,
            IncidentKind::code,
            IncidentKind::label_zh,
        ),
        can_file: page.can(Permission::FileReports),
    }))
}

pub(super) async fn list_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    list_page_with(&state, &page, IncidentInput::default(), None).await
}

pub(super) async fn file_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<IncidentInput>,
) -> PageResult {
    let next = state
        .app
        .file_incident(&page.user.actor, &f.to_form())
        .await
        .map(|id| format!("/command/incidents/{id}?saved=filed"));
    form_page(&page, next, |flash| list_page_with(&state, &page, f, flash)).await
}

#[derive(Template)]
#[template(path = "command/incident.html")]
pub(super) struct DetailPage {
    layout: Layout,
    d: IncidentDetail,
    i: IncidentLine,
    reports: Vec<(String, &'static str, String, String)>,
    receipts: Vec<(String, String, String)>,
    text: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Saved {
    saved: String,
}

async fn detail_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    text: String,
    flash: Option<Flash>,
) -> PageResult {
    let d = state
        .app
        .incident_detail(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let reports = d
        .reports
        .iter()
        .map(|r| {
            (
                beijing_time(r.at),
                r.stage.label_zh(),
                r.by_name.clone(),
                r.body.clone(),
            )
        })
        .collect();
    let receipts = d
        .receipts
        .iter()
        .map(|r| {
            (
                r.office_name.clone(),
                r.acknowledged_at
                    .map(beijing_time)
                    .unwrap_or_else(|| "未收到".into()),
                r.by_name.clone(),
            )
        })
        .collect();
    let mut layout = page.layout("command_incidents");
    layout.flash = flash;
    Ok(render(&DetailPage {
        layout,
        i: line(d.incident.clone()),
        d,
        reports,
        receipts,
        text,
    }))
}

pub(super) async fn detail_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<Saved>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "filed" => ok_flash("已首报，上级单位可见"),
        "follow_up" => ok_flash("已续报"),
        "closed" => ok_flash("已终报"),
        "acknowledged" => ok_flash("已确认收到"),
        _ => None,
    };
    detail_page_with(&state, &page, id, String::new(), flash).await
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
pub(super) struct TextInput {
    text: String,
}

pub(super) async fn follow_up_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<TextInput>,
) -> PageResult {
    let next = state
        .app
        .follow_up_incident(&page.user.actor, id, &f.text)
        .await
        .map(|()| format!("/command/incidents/{id}?saved=follow_up"));
    form_page(&page, next, |flash| {
        detail_page_with(&state, &page, id, f.text, flash)
    })
    .await
}

pub(super) async fn close_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<TextInput>,
) -> PageResult {
    let next = state
        .app
        .close_incident(&page.user.actor, id, &f.text)
        .await
        .map(|()| format!("/command/incidents/{id}?saved=closed"));
    form_page(&page, next, |flash| {
        detail_page_with(&state, &page, id, f.text, flash)
    })
    .await
}

pub(super) async fn acknowledge_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<crate::forms::NoFields>,
) -> PageResult {
    let next = state
        .app
        .acknowledge_incident(&page.user.actor, id)
        .await
        .map(|()| format!("/command/incidents/{id}?saved=acknowledged"));
    form_page(&page, next, |flash| {
        detail_page_with(&state, &page, id, String::new(), flash)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// API

pub(super) async fn api_list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Vec<IncidentView>> {
    Ok(Json(state.app.incidents(&user.actor).await?))
}

#[derive(Serialize)]
pub(super) struct Filed {
    id: i64,
}

pub(super) async fn api_file(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(f): Json<IncidentInput>,
) -> ApiResult<Filed> {
    let id = state.app.file_incident(&user.actor, &f.to_form()).await?;
    Ok(Json(Filed { id }))
}

pub(super) async fn api_detail(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<IncidentDetail> {
    Ok(Json(state.app.incident_detail(&user.actor, id).await?))
}

pub(super) async fn api_follow_up(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(f): Json<TextInput>,
) -> ApiResult<IncidentDetail> {
    state
        .app
        .follow_up_incident(&user.actor, id, &f.text)
        .await?;
    Ok(Json(state.app.incident_detail(&user.actor, id).await?))
}

pub(super) async fn api_close(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(f): Json<TextInput>,
) -> ApiResult<IncidentDetail> {
    state.app.close_incident(&user.actor, id, &f.text).await?;
    Ok(Json(state.app.incident_detail(&user.actor, id).await?))
}

pub(super) async fn api_acknowledge(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<IncidentDetail> {
    state.app.acknowledge_incident(&user.actor, id).await?;
    Ok(Json(state.app.incident_detail(&user.actor, id).await?))
}
