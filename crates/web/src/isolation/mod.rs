//! Isolation, transfer and hospital pages and API (隔离、转运与救治) over `app::isolation`: the route
//! tables, the template filters and the helpers the sub-areas share (the flash after a save, the way
//! back); the handlers live in one file per sub-area, named as in `crates/app/src/isolation/`.

mod home;
mod hospitals;
mod measures;
mod overview;
mod sites;
mod transfers;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::AppError;
use fangkong_app::isolation::IsolationSiteSummary;
use fangkong_app::isolation::{
    AllocationPreview, CheckInForm, DischargeForm, HomeBoard, HospitalForm, HospitalsBoard,
    IsolationOverview, MeasureDetail, MeasureForm, MeasureView, MyMeasure, RoomBlockForm,
    SiteDetail, SiteForm, TransferForm, TransferStepForm, TransfersBoard, VehicleForm,
};
use fangkong_domain::isolation::{HospitalKind, PersonCategory, Readiness, VehicleKind};
use fangkong_domain::role::Permission;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::ApiError;
use crate::forms::{CsrfForm, NoFields, form_page, ok_flash};
use crate::nav::{CapabilityHome, NavEntries, Section, link};
use crate::pages::options;
use crate::pages::{Flash, Layout, PageResult, PageUser, render};
use crate::session::ApiUser;

use self::home::{
    CheckInInput, api_alarm, api_check_in, home_check_in_submit, home_page, home_page_with,
    my_check_in_submit, my_page,
};
use self::hospitals::{discharge_submit, hospital_submit, hospitals_page};
use self::measures::{
    CarerInput, MeasureInput, api_reveal, carer_submit, measure_page, measure_page_with,
    measures_page, measures_page_with, open_measure_submit, reveal_submit, test_result_submit,
};
use self::overview::{api_overview, overview_page};
use self::sites::{
    TempInput, allocate_page, allocate_submit, assign_submit, check_in_submit, create_site_submit,
    release_submit, room_status_submit, rooms_submit, site_page, site_page_with, sites_page,
    temperature_submit,
};
use self::transfers::{
    api_transfer_status, disinfect_submit, transfer_status_submit, transfer_submit, transfers_page,
    vehicle_submit,
};

/// Sites, transfers and home isolation (under 流调与隔离).
pub(crate) const NAV: NavEntries = NavEntries {
    home: Some(CapabilityHome {
        capability: "isolation",
        href: |_| "/isolation",
    }),
    links: &[
        link(
            Section::Work,
            "集中隔离",
            "/isolation",
            "isolation",
            |r| r.allows(Permission::ViewIsolation),
        ),
        link(
            Section::Work,
            "转运调度",
            "/transfers",
            "transfers",
            |r| r.allows(Permission::DispatchTransfers),
        ),
        link(
            Section::Work,
            "居家隔离/监测",
            "/home-monitoring",
            "home_monitoring",
            |r| r.allows(Permission::RecordHomeCheckIns) && r.allows(Permission::ViewIsolation),
        ),
    ],
};

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
    /// When a check-in or a transfer's step happened (补录); empty = now.
    occurred_at: String,
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

use crate::api::ApiResult;
