//! Spot checks of the duty rooms below (`/command/duty/spot-checks`) and the accountability list
//! (`/command/duty/accountability`); their API.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use fangkong_app::Page;
use fangkong_app::command::spot_checks::{
    AccountabilityRow, SpotCheckForm, SpotCheckView, SpotResultForm,
};
use fangkong_domain::command::duty::SPOT_CHECK_DEFAULT_MINUTES;
use serde::Deserialize;

use crate::AppState;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::pages::{Flash, Layout, PageResult, PageUser, beijing_time, render};
use crate::session::ApiUser;

use crate::api::ApiResult;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct SavedQuery {
    saved: String,
}

#[derive(Template)]
#[template(path = "command/spot_checks.html")]
pub(super) struct SpotChecksPage {
    layout: Layout,
    checks: Page<SpotCheckView>,
    f: SpotCheckForm,
    default_minutes: i64,
}

impl SpotChecksPage {
    fn time(&self, unix: &i64) -> String {
        beijing_time(*unix)
    }
    fn maybe_time(&self, unix: &Option<i64>) -> String {
        unix.map(beijing_time).unwrap_or_else(|| "—".into())
    }
}

async fn spot_checks_with(
    state: &AppState,
    page: &PageUser,
    f: SpotCheckForm,
    flash: Option<Flash>,
) -> PageResult {
    let checks = state
        .app
        .spot_checks(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("spot_checks");
    layout.flash = flash;
    Ok(render(&SpotChecksPage {
        layout,
        checks,
        f,
        default_minutes: SPOT_CHECK_DEFAULT_MINUTES,
    }))
}

pub(super) async fn spot_checks_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "" => None,
        "called" => ok_flash("已发起抽查：请立即拨打值班电话，并在下方记录应答情况"),
        "recorded" => ok_flash("抽查结果已记录"),
        _ => ok_flash("已保存"),
    };
    spot_checks_with(&state, &page, SpotCheckForm::default(), flash).await
}

pub(super) async fn call_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<SpotCheckForm>,
) -> PageResult {
    let next = state
        .app
        .call_spot_checks(&page.user.actor, &f)
        .await
        .map(|_| "/command/duty/spot-checks?saved=called".to_string());
    form_page(&page, next, |flash| {
        spot_checks_with(&state, &page, f, flash)
    })
    .await
}

pub(super) async fn result_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<SpotResultForm>,
) -> PageResult {
    let next = state
        .app
        .record_spot_check(&page.user.actor, id, &f)
        .await
        .map(|_| "/command/duty/spot-checks?saved=recorded".to_string());
    form_page(&page, next, |flash| {
        spot_checks_with(&state, &page, SpotCheckForm::default(), flash)
    })
    .await
}

#[derive(Template)]
#[template(path = "command/accountability.html")]
pub(super) struct AccountabilityPage {
    layout: Layout,
    rows: Vec<AccountabilityRow>,
}

impl AccountabilityPage {
    fn time(&self, unix: &i64) -> String {
        beijing_time(*unix)
    }
}

pub(super) async fn accountability_page(
    State(state): State<AppState>,
    page: PageUser,
) -> PageResult {
    let rows = state
        .app
        .accountability(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&AccountabilityPage {
        layout: page.layout("accountability"),
        rows,
    }))
}

pub(super) async fn api_spot_checks(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Page<SpotCheckView>> {
    Ok(Json(state.app.spot_checks(&user.actor).await?))
}

pub(super) async fn api_call(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(f): Json<SpotCheckForm>,
) -> ApiResult<Vec<SpotCheckView>> {
    Ok(Json(state.app.call_spot_checks(&user.actor, &f).await?))
}

pub(super) async fn api_result(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(f): Json<SpotResultForm>,
) -> ApiResult<SpotCheckView> {
    Ok(Json(
        state.app.record_spot_check(&user.actor, id, &f).await?,
    ))
}

pub(super) async fn api_accountability(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Vec<AccountabilityRow>> {
    Ok(Json(state.app.accountability(&user.actor).await?))
}
