//! Drill pages and API (应急演练) over `app::drills`: the runs and the shipped scenarios
//! (`/drills`), a run's after-action report, printable (`/drills/{id}`), measuring a running drill
//! now (`/drills/{id}/measure`), and the JSON mirror (`/api/drills`, `/api/drills/{id}`).

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::drills::{DrillReport, DrillRunView};
use fangkong_domain::drills::Scenario;
use fangkong_domain::role::{Permission, Role};
use serde::Deserialize;

use crate::AppState;
use crate::api::ApiResult;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::nav::{NavEntries, Section, link};
use crate::pages::{Flash, Layout, PageResult, PageUser, render};
use crate::session::ApiUser;

fn reads_drills(role: Role) -> bool {
    role.allows(Permission::RunDrills) || role.allows(Permission::ViewCommand)
}

/// The drills' links (under 指挥调度).
pub(crate) const NAV: NavEntries = NavEntries {
    home: None,
    links: &[link(
        Section::Command,
        "应急演练",
        "/drills",
        "drills",
        reads_drills,
    )],
};

/// The measure form: a flag, a few bytes.
const FORM_LIMIT: usize = 4 * 1024;

#[derive(Template)]
#[template(path = "drills/runs.html")]
struct RunsPage {
    layout: Layout,
    runs: Vec<DrillRunView>,
    scenarios: Vec<Scenario>,
}

async fn runs_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    let runs = state
        .app
        .drill_runs(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&RunsPage {
        layout: page.layout("drills"),
        runs,
        scenarios: state.app.drill_scenarios(),
    }))
}

#[derive(Template)]
#[template(path = "drills/report.html")]
struct ReportPage {
    layout: Layout,
    flash: Option<Flash>,
    r: DrillReport,
    can_measure: bool,
}

async fn report_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let r = state
        .app
        .drill_report(actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&ReportPage {
        layout: page.layout("drills"),
        flash,
        can_measure: actor.role.allows(Permission::RunDrills) && !r.run.finished,
        r,
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReportQuery {
    measured: String,
}

async fn report_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<ReportQuery>,
) -> PageResult {
    let flash = match q.measured.as_str() {
        "now" => ok_flash("已按演练库中的记录重新评分。"),
        "finished" => ok_flash("演练已结束，评估报告已归档。"),
        _ => None,
    };
    report_page_with(&state, &page, id, flash).await
}

#[derive(Deserialize)]
struct MeasureForm {
    #[serde(default)]
    finish: String,
}

async fn measure_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<MeasureForm>,
) -> PageResult {
    let finish = form.finish == "1";
    let next = state
        .app
        .measure_drill(&page.user.actor, id, finish)
        .await
        .map(|_| {
            format!(
                "/drills/{id}?measured={}",
                if finish { "finished" } else { "now" }
            )
        });
    form_page(&page, next, |flash| {
        report_page_with(&state, &page, id, flash)
    })
    .await
}

async fn api_runs(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Vec<DrillRunView>> {
    Ok(Json(state.app.drill_runs(&user.actor).await?))
}

async fn api_report(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<DrillReport> {
    Ok(Json(state.app.drill_report(&user.actor, id).await?))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/drills", get(runs_page))
        .route("/drills/{id}", get(report_page))
        .route(
            "/drills/{id}/measure",
            post(measure_submit).layer(DefaultBodyLimit::max(FORM_LIMIT)),
        )
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/drills", get(api_runs))
        .route("/drills/{id}", get(api_report))
}
