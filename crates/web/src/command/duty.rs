//! Today's duty board (`/command/duty`, phone-width: duty officers use phones), handover notes and
//! the rosters of an office; their API.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use fangkong_app::command::duty::{
    DutyBoard, HandoverForm, OfficeRoster, RosterForm, RosterLineView,
};
use fangkong_domain::command::duty::{DutyRole, Shift};
use fangkong_domain::role::Permission;
use serde::Deserialize;

use crate::AppState;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::pages::{Flash, Layout, PageResult, PageUser, beijing_time, options, render};
use crate::session::ApiUser;

use crate::api::ApiResult;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct SavedQuery {
    saved: String,
}

fn saved_flash(saved: &str) -> Option<Flash> {
    let text = match saved {
        "" => return None,
        "handover" => "交接班记录已保存",
        "handover_kept" => "本班次您已写过交接班记录，已保留原记录（不重复保存）",
        "line" => "排班已保存",
        "removed" => "已撤销该排班",
        _ => "已保存",
    };
    ok_flash(text)
}

#[derive(Template)]
#[template(path = "command/duty_board.html")]
pub(super) struct BoardPage {
    layout: Layout,
    b: DutyBoard,
    f: HandoverForm,
    can_manage: bool,
}

impl BoardPage {
    fn time(&self, unix: &i64) -> String {
        beijing_time(*unix)
    }
}

async fn board_with(
    state: &AppState,
    page: &PageUser,
    f: HandoverForm,
    flash: Option<Flash>,
) -> PageResult {
    let b = state
        .app
        .duty_board(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("duty");
    layout.flash = flash;
    Ok(render(&BoardPage {
        layout,
        b,
        f,
        can_manage: page.can(Permission::ManageDuty),
    }))
}

pub(super) async fn board_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    board_with(
        &state,
        &page,
        HandoverForm::default(),
        saved_flash(&q.saved),
    )
    .await
}

pub(super) async fn handover_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<HandoverForm>,
) -> PageResult {
    let next = state
        .app
        .write_handover(&page.user.actor, &f)
        .await
        .map(|written| {
            if written {
                "/command/duty?saved=handover".to_string()
            } else {
                "/command/duty?saved=handover_kept".to_string()
            }
        });
    form_page(&page, next, |flash| board_with(&state, &page, f, flash)).await
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(super) struct RosterQuery {
    office: String,
    from: String,
    to: String,
    saved: String,
}

#[derive(Template)]
#[template(path = "command/duty_roster.html")]
pub(super) struct RosterPage {
    layout: Layout,
    r: OfficeRoster,
    f: RosterForm,
    shifts: Vec<(&'static str, &'static str)>,
    roles: Vec<(&'static str, &'static str)>,
}

impl RosterPage {
    fn lines_of<'a>(&self, lines: &'a [RosterLineView], shift: &str) -> Vec<&'a RosterLineView> {
        lines.iter().filter(|l| l.shift.code() == shift).collect()
    }
}

async fn roster_with(
    state: &AppState,
    page: &PageUser,
    q: &RosterQuery,
    f: Option<RosterForm>,
    flash: Option<Flash>,
) -> PageResult {
    let r = state
        .app
        .office_roster(&page.user.actor, &q.office, &q.from, &q.to)
        .await
        .map_err(|e| page.error(e))?;
    let f = f.unwrap_or_else(|| RosterForm {
        region_code: r.office_code.clone(),
        date: r.days.first().map(|d| d.date.clone()).unwrap_or_default(),
        shift: Shift::Day.code().into(),
        role: DutyRole::A.code().into(),
        ..RosterForm::default()
    });
    let mut layout = page.layout("duty_roster");
    layout.flash = flash;
    Ok(render(&RosterPage {
        layout,
        r,
        f,
        shifts: options(&Shift::ALL, Shift::code, Shift::label_zh),
        roles: options(&DutyRole::ALL, DutyRole::code, DutyRole::label_zh),
    }))
}

pub(super) async fn roster_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<RosterQuery>,
) -> PageResult {
    let flash = saved_flash(&q.saved);
    roster_with(&state, &page, &q, None, flash).await
}

fn roster_href(office: &str, date: &str, saved: &str) -> String {
    format!("/command/duty/roster?office={office}&from={date}&saved={saved}")
}

pub(super) async fn roster_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<RosterForm>,
) -> PageResult {
    let next = state
        .app
        .add_roster_line(&page.user.actor, &f)
        .await
        .map(|line| roster_href(&line.office_code, &line.date, "line"));
    let q = RosterQuery {
        office: f.region_code.clone(),
        from: f.date.clone(),
        ..RosterQuery::default()
    };
    form_page(&page, next, |flash| {
        roster_with(&state, &page, &q, Some(f), flash)
    })
    .await
}

pub(super) async fn roster_remove(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<crate::forms::NoFields>,
) -> PageResult {
    let office = state
        .app
        .remove_roster_line(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(axum::response::IntoResponse::into_response(
        axum::response::Redirect::to(&format!(
            "/command/duty/roster?office={office}&saved=removed"
        )),
    ))
}

pub(super) async fn api_board(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<DutyBoard> {
    Ok(Json(state.app.duty_board(&user.actor).await?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RostersQuery {
    office: String,
    from: String,
    to: String,
}

pub(super) async fn api_rosters(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<RostersQuery>,
) -> ApiResult<OfficeRoster> {
    Ok(Json(
        state
            .app
            .office_roster(&user.actor, &q.office, &q.from, &q.to)
            .await?,
    ))
}

pub(super) async fn api_add_roster(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(f): Json<RosterForm>,
) -> ApiResult<RosterLineView> {
    Ok(Json(state.app.add_roster_line(&user.actor, &f).await?))
}
