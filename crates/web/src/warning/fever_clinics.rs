//! Fever clinics' pages and API (发热门诊, over `app::warning::fever_clinics`): the list of clinics
//! with the day's figures (commanders; registering a clinic), a clinic's board (phone-width: the
//! staff work on phones) with patients by stage and their waits, registering a patient, moving a
//! visit one step.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::warning::fever_clinics::{
    ClinicBoard, ClinicForm, ClinicsList, PatientForm, RegisteredPatient, StepForm, VisitView,
};
use fangkong_domain::warning::fever_clinics::{ClinicKind, ClinicRisk};
use serde::Deserialize;

use crate::AppState;
use crate::api::ApiResult;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::health_code::fresh_key;
use crate::pages::{Flash, Layout, PageResult, PageUser, beijing_time, options, render};
use crate::session::ApiUser;

/// Forms and JSON bodies of this area are a few fields.
const CLINIC_FORM_LIMIT: usize = 16 * 1024;

pub(super) fn pages() -> Router<AppState> {
    Router::new()
        .route(
            "/warning/clinics",
            get(list_page)
                .post(add_submit)
                .layer(DefaultBodyLimit::max(CLINIC_FORM_LIMIT)),
        )
        .route("/warning/clinics/{id}", get(board_page))
        .route(
            "/warning/clinics/{id}/patients",
            post(register_submit).layer(DefaultBodyLimit::max(CLINIC_FORM_LIMIT)),
        )
        .route(
            "/warning/clinics/visits/{id}",
            post(step_submit).layer(DefaultBodyLimit::max(CLINIC_FORM_LIMIT)),
        )
}

pub(super) fn api() -> Router<AppState> {
    Router::new()
        .route(
            "/warning/clinics",
            get(api_list)
                .post(api_add)
                .layer(DefaultBodyLimit::max(CLINIC_FORM_LIMIT)),
        )
        .route("/warning/clinics/{id}", get(api_board))
        .route(
            "/warning/clinics/{id}/patients",
            post(api_register).layer(DefaultBodyLimit::max(CLINIC_FORM_LIMIT)),
        )
        .route(
            "/warning/clinics/visits/{id}",
            post(api_step).layer(DefaultBodyLimit::max(CLINIC_FORM_LIMIT)),
        )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SavedQuery {
    saved: String,
    visit: String,
}

fn saved_flash(q: &SavedQuery) -> Option<Flash> {
    let text = match q.saved.as_str() {
        "" => return None,
        "clinic" => "发热门诊已登记",
        "patient" => "患者已登记（分诊）",
        "patient_again" => "该登记已提交过，未重复登记",
        "patient_flagged" => {
            "患者已登记（分诊）；注意：无有效证件，已按姓名和电话登记（首诊负责制）"
        }
        "step" => "已保存",
        _ => "已保存",
    };
    ok_flash(if q.visit.is_empty() {
        text.to_string()
    } else {
        format!("{text}（就诊号 {}）", q.visit)
    })
}

#[derive(Template)]
#[template(path = "warning/clinics.html")]
struct ListPage {
    layout: Layout,
    l: ClinicsList,
    f: ClinicForm,
    kinds: Vec<(&'static str, &'static str)>,
    risks: Vec<(&'static str, &'static str)>,
}

async fn list_with(
    state: &AppState,
    page: &PageUser,
    f: ClinicForm,
    flash: Option<Flash>,
) -> PageResult {
    let l = state
        .app
        .fever_clinics(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("fever_clinics");
    layout.flash = flash;
    Ok(render(&ListPage {
        layout,
        l,
        f,
        kinds: options(&ClinicKind::ALL, ClinicKind::code, ClinicKind::label_zh),
        risks: options(&ClinicRisk::ALL, ClinicRisk::code, ClinicRisk::label_zh),
    }))
}

async fn list_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let f = ClinicForm {
        region_code: page.user.actor.jurisdiction.as_str().to_string(),
        ..ClinicForm::default()
    };
    list_with(&state, &page, f, saved_flash(&q)).await
}

async fn add_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<ClinicForm>,
) -> PageResult {
    let next = state
        .app
        .add_fever_clinic(&page.user.actor, &f)
        .await
        .map(|id| format!("/warning/clinics/{id}?saved=clinic"));
    form_page(&page, next, |flash| list_with(&state, &page, f, flash)).await
}

#[derive(Template)]
#[template(path = "warning/clinic_board.html")]
struct BoardPage {
    layout: Layout,
    b: ClinicBoard,
    f: PatientForm,
}

impl BoardPage {
    fn time(&self, unix: &i64) -> String {
        beijing_time(*unix)
    }

    fn wait(&self, minutes: &i64) -> String {
        match *minutes {
            m if m < 60 => format!("{m}分钟"),
            m => format!("{}小时{}分钟", m / 60, m % 60),
        }
    }

    fn can(&self, v: &VisitView, action: &str) -> bool {
        v.actions.contains(&action)
    }
}

async fn board_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    f: Option<PatientForm>,
    flash: Option<Flash>,
) -> PageResult {
    let b = state
        .app
        .fever_clinic_board(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let f = f.unwrap_or_else(|| PatientForm {
        request_key: fresh_key(),
        green_code: "1".into(),
        ..PatientForm::default()
    });
    let mut layout = page.layout("fever_clinics");
    layout.flash = flash;
    Ok(render(&BoardPage { layout, b, f }))
}

async fn board_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    board_with(&state, &page, id, None, saved_flash(&q)).await
}

fn registered_href(r: &RegisteredPatient) -> String {
    let saved = if !r.created {
        "patient_again"
    } else if !r.id_problem.is_empty() {
        "patient_flagged"
    } else {
        "patient"
    };
    format!(
        "/warning/clinics/{}?saved={saved}&visit={}",
        r.clinic_id, r.visit_id
    )
}

async fn register_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<PatientForm>,
) -> PageResult {
    let next = state
        .app
        .register_fever_patient(&page.user.actor, id, &f)
        .await
        .map(|r| registered_href(&r));
    form_page(&page, next, |flash| {
        board_with(&state, &page, id, Some(f), flash)
    })
    .await
}

async fn step_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<StepForm>,
) -> PageResult {
    let actor = &page.user.actor;
    let next = state.app.advance_fever_visit(actor, id, &f).await.map(|v| {
        format!(
            "/warning/clinics/{}?saved=step&visit={}#visit-{}",
            v.clinic_id, v.id, v.id
        )
    });
    // A refused step comes back on the visit's board with the reason.
    let clinic = state.app.fever_visit(actor, id).await.map(|v| v.clinic_id);
    match clinic {
        Ok(clinic) => {
            form_page(&page, next, |flash| {
                board_with(&state, &page, clinic, None, flash)
            })
            .await
        }
        Err(e) => Err(page.error(e)),
    }
}

async fn api_list(State(state): State<AppState>, ApiUser(user): ApiUser) -> ApiResult<ClinicsList> {
    Ok(Json(state.app.fever_clinics(&user.actor).await?))
}

#[derive(serde::Serialize)]
struct Created {
    id: i64,
}

async fn api_add(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(f): Json<ClinicForm>,
) -> ApiResult<Created> {
    let id = state.app.add_fever_clinic(&user.actor, &f).await?;
    Ok(Json(Created { id }))
}

async fn api_board(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<ClinicBoard> {
    Ok(Json(state.app.fever_clinic_board(&user.actor, id).await?))
}

async fn api_register(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(f): Json<PatientForm>,
) -> ApiResult<RegisteredPatient> {
    Ok(Json(
        state
            .app
            .register_fever_patient(&user.actor, id, &f)
            .await?,
    ))
}

async fn api_step(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(f): Json<StepForm>,
) -> ApiResult<VisitView> {
    Ok(Json(
        state.app.advance_fever_visit(&user.actor, id, &f).await?,
    ))
}
