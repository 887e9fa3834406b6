//! Isolation, transfer and hospital pages and API (隔离、转运与救治) over `app::isolation`: the
//! overview, sites and their rooms grid, people under measures and today's tests, the allocation
//! preview, transfers and vehicles, home isolation check-ins and alarms, hospitals, the resident's
//! own check-in; JSON for devices (home check-ins, door alarms, transfer status).
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::AppError;
use fangkong_app::isolation::IsolationSiteSummary;
use fangkong_app::isolation::{
    AllocationPreview, HomeBoard, HospitalForm, HospitalsBoard, IsolationOverview, MeasureDetail,
    MeasureForm, MeasureView, MyMeasure, RoomBlockForm, SiteDetail, SiteForm, TransferForm,
    TransfersBoard, VehicleForm,
};
use fangkong_domain::isolation::{HospitalKind, PersonCategory, Readiness, VehicleKind};
use fangkong_domain::role::Permission;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::ApiError;
use crate::forms::{CsrfForm, NoFields, form_page, ok_flash};
use crate::pages::options;
use crate::pages::{Flash, Layout, PageResult, PageUser, render};
use crate::session::ApiUser;

const FORM_BODY_LIMIT: usize = 256 * 1024;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/isolation", get(overview_page))
        .route("/isolation/sites", get(sites_page).post(create_site_submit))
        .route("/isolation/sites/{id}", get(site_page))
        .route("/isolation/sites/{id}/rooms", post(rooms_submit))
        .route("/isolation/rooms/{id}/status", post(room_status_submit))
        .route(
            "/isolation/measures",
            get(measures_page).post(open_measure_submit),
        )
        .route("/isolation/measures/{id}", get(measure_page))
        .route("/isolation/measures/{id}/check-in", post(check_in_submit))
        .route("/isolation/measures/{id}/reveal", post(reveal_submit))
        .route("/isolation/measures/{id}/carer", post(carer_submit))
        .route(
            "/isolation/measures/{id}/temperature",
            post(temperature_submit),
        )
        .route("/isolation/measures/{id}/release", post(release_submit))
        .route("/isolation/tests/{id}", post(test_result_submit))
        .route(
            "/isolation/allocate",
            get(allocate_page).post(allocate_submit),
        )
        .route("/isolation/allocate/assign", post(assign_submit))
        .route(
            "/isolation/hospitals",
            get(hospitals_page).post(hospital_submit),
        )
        .route(
            "/isolation/admissions/{id}/discharge",
            post(discharge_submit),
        )
        .route("/transfers", get(transfers_page).post(transfer_submit))
        .route("/transfers/vehicles", post(vehicle_submit))
        .route("/transfers/vehicles/{id}/disinfect", post(disinfect_submit))
        .route("/transfers/{id}/status", post(transfer_status_submit))
        .route("/home-monitoring", get(home_page))
        .route(
            "/home-monitoring/{id}/check-ins",
            post(home_check_in_submit),
        )
        .route("/me/isolation", get(my_page).post(my_check_in_submit))
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/isolation/overview", get(api_overview))
        .route("/home-monitoring/check-ins", post(api_check_in))
        .route("/home-monitoring/alarms", post(api_alarm))
        .route("/transfers/{id}/status", post(api_transfer_status))
        .route("/isolation/measures/{id}/reveal", post(api_reveal))
}

#[derive(Deserialize)]
struct ApiRevealBody {
    #[serde(default)]
    reason: String,
}

/// The full ID number, phone and address of a person under a measure; a reason is required and
/// audited, as for residents.
async fn api_reveal(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(body): Json<ApiRevealBody>,
) -> ApiResult<fangkong_app::isolation::RevealedPerson> {
    Ok(Json(
        state
            .app
            .reveal_measure_person(&user.actor, id, &body.reason)
            .await?,
    ))
}

pub(crate) mod filters {
    pub use crate::pages::filters::thousands;

    /// Unix seconds → Beijing "YYYY-MM-DD HH:MM".
    #[askama::filter_fn]
    pub fn bj(value: &dyn std::fmt::Display, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(value
            .to_string()
            .parse::<i64>()
            .map(crate::pages::beijing_time)
            .unwrap_or_default())
    }

    /// Minutes → "3小时20分".
    #[askama::filter_fn]
    pub fn wait(value: &dyn std::fmt::Display, _: &dyn askama::Values) -> askama::Result<String> {
        let minutes: i64 = value.to_string().parse().unwrap_or(0);
        Ok(if minutes >= 24 * 60 {
            format!("{}天{}小时", minutes / 1440, minutes % 1440 / 60)
        } else if minutes >= 60 {
            format!("{}小时{}分", minutes / 60, minutes % 60)
        } else {
            format!("{minutes}分钟")
        })
    }
}

fn saved_flash(saved: &str) -> Option<Flash> {
    let text = match saved {
        "" => return None,
        "site" => "隔离点已登记",
        "rooms" => "房间已创建",
        "room" => "房间状态已更新",
        "checked_in" => "已入住",
        "temperature" => "体温已记录",
        "fever" => "体温已记录：发热（≥37.3℃），请报告医护人员",
        "released" => "已解除管控",
        "at_home" => "已解除集中隔离，转居家健康监测",
        "measure" => "管控人员已登记",
        "result" => "检测结果已录入",
        "positive" => "阳性结果已录入：已转为待转运定点医院，请调度负压救护车",
        "allocated" => "分配已确认",
        "assigned" => "房间已分配",
        "hospital" => "医院已登记",
        "discharged" => "已出院",
        "transfer" => "转运任务已派车",
        "vehicle" => "车辆已登记",
        "disinfected" => "车辆已完成终末消毒",
        "status" => "转运状态已更新",
        "check_in" => "打卡已记录",
        "carer" => "陪护已登记",
        _ => return None,
    };
    ok_flash(text)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SavedQuery {
    saved: String,
    status: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BackInput {
    /// Where to come back to: "site:<id>", "home", "measure:<id>", "measures".
    back: String,
    to: String,
    result: String,
}

fn back_href(back: &str) -> String {
    if let Some(id) = back
        .strip_prefix("site:")
        .and_then(|i| i.parse::<i64>().ok())
    {
        format!("/isolation/sites/{id}")
    } else if let Some(id) = back
        .strip_prefix("measure:")
        .and_then(|i| i.parse::<i64>().ok())
    {
        format!("/isolation/measures/{id}")
    } else if back == "home" {
        "/home-monitoring".into()
    } else {
        "/isolation/measures".into()
    }
}

/// Re-renders the page an action came from, with the error.
async fn back_page(
    state: &AppState,
    page: &PageUser,
    back: &str,
    flash: Option<Flash>,
) -> PageResult {
    if let Some(id) = back
        .strip_prefix("site:")
        .and_then(|i| i.parse::<i64>().ok())
    {
        site_page_with(state, page, id, TempInput::default(), flash).await
    } else if let Some(id) = back
        .strip_prefix("measure:")
        .and_then(|i| i.parse::<i64>().ok())
    {
        measure_page_with(state, page, id, CarerInput::default(), flash).await
    } else if back == "home" {
        home_page_with(state, page, CheckInInput::default(), flash).await
    } else {
        measures_page_with(state, page, "", MeasureInput::default(), flash).await
    }
}

// ---------------------------------------------------------------------------------------------
// Overview

#[derive(Template)]
#[template(path = "isolation/overview.html")]
struct OverviewPage {
    layout: Layout,
    o: IsolationOverview,
    can_dispatch: bool,
}

#[derive(Template)]
#[template(path = "isolation/no_access.html")]
struct NoAccessPage {
    layout: Layout,
}

async fn overview_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    // The capability's link is in every role's navigation: a resident goes to their own page, other
    // roles without access are told so.
    if !page.can(Permission::ViewIsolation) {
        if page.can(Permission::RecordHomeCheckIns) {
            return Ok(Redirect::to("/me/isolation").into_response());
        }
        return Ok(render(&NoAccessPage {
            layout: page.layout("isolation"),
        }));
    }
    let o = state
        .app
        .isolation_overview(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&OverviewPage {
        layout: page.layout("isolation"),
        o,
        can_dispatch: page.can(Permission::DispatchTransfers),
    }))
}

// ---------------------------------------------------------------------------------------------
// Sites

#[derive(Deserialize, Default)]
#[serde(default)]
struct SiteInput {
    name: String,
    region_code: String,
    address: String,
    readiness: String,
    staff_count: String,
    note: String,
}

#[derive(Template)]
#[template(path = "isolation/sites.html")]
struct SitesPage {
    layout: Layout,
    sites: Vec<IsolationSiteSummary>,
    can_manage: bool,
    f: SiteInput,
    readiness: Vec<(&'static str, &'static str)>,
}

impl SitesPage {
    fn readiness_label(&self, code: &str) -> &'static str {
        Readiness::from_code(code)
            .map(Readiness::label_zh)
            .unwrap_or("")
    }
}

async fn sites_page_with(
    state: &AppState,
    page: &PageUser,
    f: SiteInput,
    flash: Option<Flash>,
) -> PageResult {
    let sites = state
        .app
        .isolation_sites(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("isolation");
    layout.flash = flash;
    Ok(render(&SitesPage {
        layout,
        sites,
        can_manage: page.can(Permission::ManageIsolationSites),
        f,
        readiness: options(&Readiness::ALL, Readiness::code, Readiness::label_zh),
    }))
}

async fn sites_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let f = SiteInput {
        region_code: page.user.actor.jurisdiction.as_str().to_string(),
        readiness: "2h".into(),
        ..Default::default()
    };
    sites_page_with(&state, &page, f, saved_flash(&q.saved)).await
}

async fn create_site_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<SiteInput>,
) -> PageResult {
    let form = SiteForm {
        name: f.name.clone(),
        region_code: f.region_code.clone(),
        address: f.address.clone(),
        readiness: f.readiness.clone(),
        staff_count: f.staff_count.clone(),
        note: f.note.clone(),
    };
    let next = state
        .app
        .create_isolation_site(&page.user.actor, &form)
        .await
        .map(|id| format!("/isolation/sites/{id}?saved=site"));
    form_page(&page, next, |flash| {
        sites_page_with(&state, &page, f, flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TempInput {
    measure_id: String,
    temperature: String,
    building: String,
    floor_from: String,
    floor_to: String,
    room_from: String,
    room_to: String,
}

/// One floor of one building in the rooms grid.
struct FloorRow {
    label: String,
    rooms: Vec<fangkong_app::isolation::RoomView>,
}

#[derive(Template)]
#[template(path = "isolation/site.html")]
struct SitePage {
    layout: Layout,
    d: SiteDetail,
    floors: Vec<FloorRow>,
    can_manage: bool,
    f: TempInput,
}

async fn site_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    mut f: TempInput,
    flash: Option<Flash>,
) -> PageResult {
    let d = state
        .app
        .isolation_site_detail(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let mut floors: Vec<FloorRow> = Vec::new();
    for room in &d.rooms {
        let label = format!("{} 栋 {} 层", room.building, room.floor);
        match floors.last_mut() {
            Some(row) if row.label == label => row.rooms.push(room.clone()),
            _ => floors.push(FloorRow {
                label,
                rooms: vec![room.clone()],
            }),
        }
    }
    if f.building.is_empty() {
        f.building = "A".into();
        f.floor_from = "1".into();
        f.floor_to = "6".into();
        f.room_from = "1".into();
        f.room_to = "20".into();
    }
    let mut layout = page.layout("isolation");
    layout.flash = flash;
    Ok(render(&SitePage {
        layout,
        d,
        floors,
        can_manage: page.can(Permission::ManageIsolationSites),
        f,
    }))
}

async fn site_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    site_page_with(
        &state,
        &page,
        id,
        TempInput::default(),
        saved_flash(&q.saved),
    )
    .await
}

async fn rooms_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<TempInput>,
) -> PageResult {
    let form = RoomBlockForm {
        building: f.building.clone(),
        floor_from: f.floor_from.clone(),
        floor_to: f.floor_to.clone(),
        room_from: f.room_from.clone(),
        room_to: f.room_to.clone(),
    };
    let next = state
        .app
        .add_rooms(&page.user.actor, id, &form)
        .await
        .map(|_| format!("/isolation/sites/{id}?saved=rooms"));
    form_page(&page, next, |flash| {
        site_page_with(&state, &page, id, f, flash)
    })
    .await
}

async fn room_status_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<BackInput>,
) -> PageResult {
    let next = state
        .app
        .set_room_status(&page.user.actor, id, &f.to)
        .await
        .map(|_| format!("{}?saved=room", back_href(&f.back)));
    form_page(&page, next, |flash| {
        back_page(&state, &page, &f.back, flash)
    })
    .await
}

async fn check_in_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<BackInput>,
) -> PageResult {
    let next = state
        .app
        .site_check_in(&page.user.actor, id)
        .await
        .map(|_| format!("{}?saved=checked_in", back_href(&f.back)));
    form_page(&page, next, |flash| {
        back_page(&state, &page, &f.back, flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TemperatureInput {
    back: String,
    temperature: String,
}

async fn temperature_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<TemperatureInput>,
) -> PageResult {
    let next = state
        .app
        .record_site_temperature(&page.user.actor, id, &f.temperature)
        .await
        .map(|fever| {
            let saved = if fever { "fever" } else { "temperature" };
            format!("{}?saved={saved}", back_href(&f.back))
        });
    // From a site's page the temperature comes back into its row; elsewhere the page is shown again.
    let site = f
        .back
        .strip_prefix("site:")
        .and_then(|i| i.parse::<i64>().ok());
    match site {
        Some(site) => {
            let typed = TempInput {
                measure_id: id.to_string(),
                temperature: f.temperature.clone(),
                ..Default::default()
            };
            form_page(&page, next, |flash| {
                site_page_with(&state, &page, site, typed, flash)
            })
            .await
        }
        None => {
            form_page(&page, next, |flash| {
                back_page(&state, &page, &f.back, flash)
            })
            .await
        }
    }
}

async fn release_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<BackInput>,
) -> PageResult {
    let next = state
        .app
        .release_measure(&page.user.actor, id)
        .await
        .map(|status| {
            format!(
                "{}?saved={}",
                back_href(&f.back),
                if status.code() == "at_home" {
                    "at_home"
                } else {
                    "released"
                }
            )
        });
    form_page(&page, next, |flash| {
        back_page(&state, &page, &f.back, flash)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Measures and test tasks

#[derive(Deserialize, Default)]
#[serde(default)]
struct MeasureInput {
    id_number: String,
    category: String,
    day1: String,
    note: String,
}

#[derive(Template)]
#[template(path = "isolation/measures.html")]
struct MeasuresPage {
    layout: Layout,
    measures: fangkong_app::Page<MeasureView>,
    due: Vec<fangkong_app::isolation::DueTestView>,
    status: String,
    statuses: Vec<(&'static str, &'static str)>,
    categories: Vec<(&'static str, &'static str)>,
    can_manage: bool,
    f: MeasureInput,
}

async fn measures_page_with(
    state: &AppState,
    page: &PageUser,
    status: &str,
    f: MeasureInput,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let measures = state
        .app
        .isolation_measures_page(actor, status)
        .await
        .map_err(|e| page.error(e))?;
    let due = state
        .app
        .measure_tests_due(actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("isolation");
    layout.flash = flash;
    Ok(render(&MeasuresPage {
        layout,
        measures,
        due,
        status: status.to_string(),
        statuses: options(
            &fangkong_domain::isolation::MeasureStatus::ALL,
            fangkong_domain::isolation::MeasureStatus::code,
            fangkong_domain::isolation::MeasureStatus::label_zh,
        ),
        categories: PersonCategory::ALL
            .iter()
            .filter(|c| **c != PersonCategory::Case)
            .map(|c| (c.code(), c.label_zh()))
            .collect(),
        can_manage: page.can(Permission::ManageIsolationSites),
        f,
    }))
}

async fn measures_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let f = MeasureInput {
        category: "close_contact".into(),
        ..Default::default()
    };
    measures_page_with(&state, &page, &q.status, f, saved_flash(&q.saved)).await
}

async fn open_measure_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<MeasureInput>,
) -> PageResult {
    let form = MeasureForm {
        id_number: f.id_number.clone(),
        category: f.category.clone(),
        day1: f.day1.clone(),
        note: f.note.clone(),
    };
    let next = state
        .app
        .open_measure_by_hand(&page.user.actor, &form)
        .await
        .map(|id| format!("/isolation/measures/{id}?saved=measure"));
    form_page(&page, next, |flash| {
        measures_page_with(&state, &page, "", f, flash)
    })
    .await
}

#[derive(Template)]
#[template(path = "isolation/measure.html")]
struct MeasurePage {
    layout: Layout,
    d: MeasureDetail,
    can_manage: bool,
    can_reveal: bool,
    /// The full ID number, phone and address, after an audited reveal.
    revealed: Option<fangkong_app::isolation::RevealedPerson>,
    carer: CarerInput,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CarerInput {
    name: String,
    age: String,
    underlying_disease: String,
    pregnant: String,
    seriously_ill: String,
    dependent: String,
}

async fn measure_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    carer: CarerInput,
    flash: Option<Flash>,
) -> PageResult {
    let d = state
        .app
        .measure_detail(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("isolation");
    layout.flash = flash;
    Ok(render(&MeasurePage {
        layout,
        d,
        can_manage: page.can(Permission::ManageIsolationSites),
        can_reveal: page.can(Permission::RevealPersonalData),
        revealed: None,
        carer,
    }))
}

async fn measure_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    measure_page_with(
        &state,
        &page,
        id,
        CarerInput::default(),
        saved_flash(&q.saved),
    )
    .await
}

async fn carer_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<CarerInput>,
) -> PageResult {
    let form = fangkong_app::isolation::CarerForm {
        name: f.name.clone(),
        age: f.age.clone(),
        underlying_disease: !f.underlying_disease.is_empty(),
        pregnant: !f.pregnant.is_empty(),
        seriously_ill: !f.seriously_ill.is_empty(),
        dependent: !f.dependent.is_empty(),
    };
    let next = state
        .app
        .assign_carer(&page.user.actor, id, &form)
        .await
        .map(|_| format!("/isolation/measures/{id}?saved=carer"));
    form_page(&page, next, |flash| {
        measure_page_with(&state, &page, id, f, flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RevealInput {
    reason: String,
}

/// Shows the person's full ID number, phone and address (with a reason, written to the audit log
/// first).
async fn reveal_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<RevealInput>,
) -> PageResult {
    let actor = &page.user.actor;
    let revealed = match state.app.reveal_measure_person(actor, id, &f.reason).await {
        Ok(revealed) => revealed,
        Err(e) => {
            return form_page(&page, Err(e), |flash| {
                measure_page_with(&state, &page, id, CarerInput::default(), flash)
            })
            .await;
        }
    };
    let d = state
        .app
        .measure_detail(actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&MeasurePage {
        layout: page.layout("isolation"),
        d,
        can_manage: page.can(Permission::ManageIsolationSites),
        can_reveal: true,
        revealed: Some(revealed),
        carer: CarerInput::default(),
    }))
}

async fn test_result_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<BackInput>,
) -> PageResult {
    let next = state
        .app
        .record_test_result(&page.user.actor, id, &f.result)
        .await
        .map(|effect| {
            let saved = match effect {
                fangkong_app::isolation::ResultEffect::Positive => "positive",
                fangkong_app::isolation::ResultEffect::Released => "released",
                fangkong_app::isolation::ResultEffect::Recorded => "result",
            };
            format!("{}?saved={saved}", back_href(&f.back))
        });
    form_page(&page, next, |flash| {
        back_page(&state, &page, &f.back, flash)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Allocation

#[derive(Deserialize, Default)]
#[serde(default)]
struct AllocateInput {
    measure_id: String,
    site_id: String,
    room_number: String,
}

#[derive(Template)]
#[template(path = "isolation/allocate.html")]
struct AllocatePage {
    layout: Layout,
    p: AllocationPreview,
    sites: Vec<IsolationSiteSummary>,
    f: AllocateInput,
}

async fn allocate_page_with(
    state: &AppState,
    page: &PageUser,
    f: AllocateInput,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let p = state
        .app
        .allocation_preview(actor, 10_000)
        .await
        .map_err(|e| page.error(e))?;
    let sites = state
        .app
        .isolation_sites(actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("transfers");
    layout.flash = flash;
    Ok(render(&AllocatePage {
        layout,
        p,
        sites,
        f,
    }))
}

async fn allocate_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    allocate_page_with(
        &state,
        &page,
        AllocateInput::default(),
        saved_flash(&q.saved),
    )
    .await
}

async fn allocate_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<AllocateInput>,
) -> PageResult {
    let next = state
        .app
        .confirm_allocation(&page.user.actor, 10_000)
        .await
        .map(|_| "/isolation/allocate?saved=allocated".to_string());
    form_page(&page, next, |flash| {
        allocate_page_with(&state, &page, f, flash)
    })
    .await
}

async fn assign_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<AllocateInput>,
) -> PageResult {
    let (Ok(measure), Ok(site)) = (
        f.measure_id.trim().parse::<i64>(),
        f.site_id.trim().parse::<i64>(),
    ) else {
        let e = AppError::Invalid("请选择待安置人员和隔离点".into());
        return form_page(&page, Err(e), |flash| {
            allocate_page_with(&state, &page, f, flash)
        })
        .await;
    };
    let next = state
        .app
        .assign_room(&page.user.actor, measure, site, &f.room_number)
        .await
        .map(|_| "/isolation/allocate?saved=assigned".to_string());
    form_page(&page, next, |flash| {
        allocate_page_with(&state, &page, f, flash)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Hospitals

#[derive(Deserialize, Default)]
#[serde(default)]
struct HospitalInput {
    name: String,
    kind: String,
    region_code: String,
    beds: String,
}

#[derive(Template)]
#[template(path = "isolation/hospitals.html")]
struct HospitalsPage {
    layout: Layout,
    b: HospitalsBoard,
    can_manage: bool,
    f: HospitalInput,
    kinds: Vec<(&'static str, &'static str)>,
}

async fn hospitals_page_with(
    state: &AppState,
    page: &PageUser,
    f: HospitalInput,
    flash: Option<Flash>,
) -> PageResult {
    let b = state
        .app
        .hospitals_board(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("isolation");
    layout.flash = flash;
    Ok(render(&HospitalsPage {
        layout,
        b,
        can_manage: page.can(Permission::ManageIsolationSites),
        f,
        kinds: options(
            &HospitalKind::ALL,
            HospitalKind::code,
            HospitalKind::label_zh,
        ),
    }))
}

async fn hospitals_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let f = HospitalInput {
        region_code: page.user.actor.jurisdiction.as_str().to_string(),
        kind: "designated".into(),
        ..Default::default()
    };
    hospitals_page_with(&state, &page, f, saved_flash(&q.saved)).await
}

async fn hospital_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<HospitalInput>,
) -> PageResult {
    let form = HospitalForm {
        name: f.name.clone(),
        kind: f.kind.clone(),
        region_code: f.region_code.clone(),
        beds: f.beds.clone(),
    };
    let next = state
        .app
        .add_treatment_hospital(&page.user.actor, &form)
        .await
        .map(|_| "/isolation/hospitals?saved=hospital".to_string());
    form_page(&page, next, |flash| {
        hospitals_page_with(&state, &page, f, flash)
    })
    .await
}

async fn discharge_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> PageResult {
    let next = state
        .app
        .discharge_admission(&page.user.actor, id)
        .await
        .map(|_| "/isolation/hospitals?saved=discharged".to_string());
    form_page(&page, next, |flash| {
        hospitals_page_with(&state, &page, HospitalInput::default(), flash)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Transfers

#[derive(Deserialize, Default)]
#[serde(default)]
struct VehicleInput {
    plate: String,
    kind: String,
    capacity: String,
    region_code: String,
}

#[derive(Template)]
#[template(path = "isolation/transfers.html")]
struct TransfersPage {
    layout: Layout,
    b: TransfersBoard,
    can_dispatch: bool,
    v: VehicleInput,
    kinds: Vec<(&'static str, &'static str)>,
    picked: Vec<i64>,
}

impl TransfersPage {
    fn site_name(&self, id: &Option<i64>) -> String {
        id.and_then(|id| self.b.site_names.get(&id).cloned())
            .unwrap_or_default()
    }

    fn is_picked(&self, id: &i64) -> bool {
        self.picked.contains(id)
    }
}

async fn transfers_page_with(
    state: &AppState,
    page: &PageUser,
    v: VehicleInput,
    picked: Vec<i64>,
    flash: Option<Flash>,
) -> PageResult {
    let b = state
        .app
        .transfers_board(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("transfers");
    layout.flash = flash;
    Ok(render(&TransfersPage {
        layout,
        b,
        can_dispatch: page.can(Permission::DispatchTransfers),
        v,
        kinds: options(&VehicleKind::ALL, VehicleKind::code, VehicleKind::label_zh),
        picked,
    }))
}

async fn transfers_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let v = VehicleInput {
        kind: "coach".into(),
        capacity: "30".into(),
        region_code: page.user.actor.jurisdiction.as_str().to_string(),
        ..Default::default()
    };
    transfers_page_with(&state, &page, v, Vec::new(), saved_flash(&q.saved)).await
}

async fn vehicle_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(v): CsrfForm<VehicleInput>,
) -> PageResult {
    let form = VehicleForm {
        plate: v.plate.clone(),
        kind: v.kind.clone(),
        capacity: v.capacity.clone(),
        region_code: v.region_code.clone(),
    };
    let next = state
        .app
        .add_vehicle(&page.user.actor, &form)
        .await
        .map(|_| "/transfers?saved=vehicle".to_string());
    form_page(&page, next, |flash| {
        transfers_page_with(&state, &page, v, Vec::new(), flash)
    })
    .await
}

/// The transfer form: `vehicle_id`, `hospital_id`, and one `measure_id` per person ticked.
async fn transfer_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let picked: Vec<i64> = fields
        .iter()
        .filter(|(k, _)| k == "measure_id")
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect();
    let form = TransferForm {
        vehicle_id: field("vehicle_id").trim().parse().unwrap_or(0),
        measure_ids: picked.clone(),
        hospital_id: field("hospital_id").trim().parse().ok(),
    };
    let result = if form.vehicle_id == 0 {
        Err(AppError::Invalid("请选择转运车辆".into()))
    } else {
        state.app.create_transfer(&page.user.actor, &form).await
    };
    let next = result.map(|_| "/transfers?saved=transfer".to_string());
    form_page(&page, next, |flash| {
        transfers_page_with(&state, &page, VehicleInput::default(), picked, flash)
    })
    .await
}

async fn disinfect_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> PageResult {
    let next = state
        .app
        .disinfect_vehicle(&page.user.actor, id)
        .await
        .map(|_| "/transfers?saved=disinfected".to_string());
    form_page(&page, next, |flash| {
        transfers_page_with(&state, &page, VehicleInput::default(), Vec::new(), flash)
    })
    .await
}

async fn transfer_status_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<BackInput>,
) -> PageResult {
    let next = state
        .app
        .advance_transfer(&page.user.actor, id, &f.to)
        .await
        .map(|_| "/transfers?saved=status".to_string());
    form_page(&page, next, |flash| {
        transfers_page_with(&state, &page, VehicleInput::default(), Vec::new(), flash)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Home isolation and monitoring

#[derive(Deserialize, Default)]
#[serde(default)]
struct CheckInInput {
    measure_id: String,
    temperature: String,
    symptoms: String,
}

#[derive(Template)]
#[template(path = "isolation/home.html")]
struct HomePage {
    layout: Layout,
    b: HomeBoard,
    f: CheckInInput,
    can_release: bool,
}

async fn home_page_with(
    state: &AppState,
    page: &PageUser,
    f: CheckInInput,
    flash: Option<Flash>,
) -> PageResult {
    let b = state
        .app
        .home_board(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("home_monitoring");
    layout.flash = flash;
    Ok(render(&HomePage {
        layout,
        b,
        f,
        can_release: page.can(Permission::RecordHomeCheckIns),
    }))
}

async fn home_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    home_page_with(
        &state,
        &page,
        CheckInInput::default(),
        saved_flash(&q.saved),
    )
    .await
}

async fn home_check_in_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<CheckInInput>,
) -> PageResult {
    let next = state
        .app
        .home_check_in(&page.user.actor, id, &f.temperature, &f.symptoms)
        .await
        .map(|fever| {
            let saved = if fever { "fever" } else { "check_in" };
            format!("/home-monitoring?saved={saved}")
        });
    let typed = CheckInInput {
        measure_id: id.to_string(),
        ..f
    };
    form_page(&page, next, |flash| {
        home_page_with(&state, &page, typed, flash)
    })
    .await
}

#[derive(Template)]
#[template(path = "isolation/my.html")]
struct MyPage {
    layout: Layout,
    m: MyMeasure,
    f: CheckInInput,
}

async fn my_page_with(
    state: &AppState,
    page: &PageUser,
    f: CheckInInput,
    flash: Option<Flash>,
) -> PageResult {
    let m = state
        .app
        .my_measure(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("my_isolation");
    layout.flash = flash;
    Ok(render(&MyPage { layout, m, f }))
}

async fn my_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    my_page_with(
        &state,
        &page,
        CheckInInput::default(),
        saved_flash(&q.saved),
    )
    .await
}

async fn my_check_in_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<CheckInInput>,
) -> PageResult {
    let next = state
        .app
        .my_home_check_in(&page.user.actor, &f.temperature, &f.symptoms)
        .await
        .map(|fever| {
            format!(
                "/me/isolation?saved={}",
                if fever { "fever" } else { "check_in" }
            )
        });
    form_page(&page, next, |flash| my_page_with(&state, &page, f, flash)).await
}

// ---------------------------------------------------------------------------------------------
// JSON API

type ApiResult<T> = Result<Json<T>, ApiError>;

async fn api_overview(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<IsolationOverview> {
    Ok(Json(state.app.isolation_overview(&user.actor).await?))
}

#[derive(Deserialize)]
struct CheckInBody {
    /// The person's measure; absent when a resident checks in for themself.
    measure_id: Option<i64>,
    temperature: String,
    #[serde(default)]
    symptoms: String,
}

#[derive(Serialize)]
struct CheckInAnswer {
    fever: bool,
}

async fn api_check_in(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<CheckInBody>,
) -> Result<Response, ApiError> {
    let fever = match body.measure_id {
        Some(id) => {
            state
                .app
                .home_check_in(&user.actor, id, &body.temperature, &body.symptoms)
                .await?
        }
        None => {
            state
                .app
                .my_home_check_in(&user.actor, &body.temperature, &body.symptoms)
                .await?
        }
    };
    Ok((StatusCode::CREATED, Json(CheckInAnswer { fever })).into_response())
}

#[derive(Deserialize)]
struct AlarmBody {
    measure_id: i64,
    device_id: String,
    kind: String,
    #[serde(default)]
    note: String,
}

#[derive(Serialize)]
struct IdAnswer {
    id: i64,
}

async fn api_alarm(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<AlarmBody>,
) -> Result<Response, ApiError> {
    let id = state
        .app
        .record_door_alarm(
            &user.actor,
            body.measure_id,
            &body.device_id,
            &body.kind,
            &body.note,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(IdAnswer { id })).into_response())
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
}

#[derive(Serialize)]
struct StatusAnswer {
    id: i64,
    status: String,
}

async fn api_transfer_status(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(body): Json<StatusBody>,
) -> ApiResult<StatusAnswer> {
    state
        .app
        .advance_transfer(&user.actor, id, &body.status)
        .await?;
    Ok(Json(StatusAnswer {
        id,
        status: body.status,
    }))
}
