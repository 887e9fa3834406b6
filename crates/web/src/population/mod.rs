//! Divisions, grids and the resident register (区划、网格与实有人口): the route table; the handlers
//! live in one file per sub-area (regions, residents, households, moves, import).

mod households;
mod import;
mod moves;
mod regions;
mod residents;

use askama::Template;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use fangkong_app::AppError;
use fangkong_app::door_visits::{DoorLedger, DoorVisitForm};
use fangkong_app::import::{FileFormat, ImportReport};
use fangkong_app::person_file::{BadgeView, WatchedResident};
use fangkong_app::population::{
    Destination, GridMoveForm, HouseholdView, MoveInForm, MoveInLists, MoveInView, ResidentView,
};
use fangkong_app::records::{DoorVisitRecord, ImportRecord, UnvisitedHousehold};
use fangkong_app::regions::RegionOverview;
use fangkong_domain::region::RegionLevel;
use fangkong_domain::role::Permission;
use serde::Deserialize;

use crate::forms::{CsrfForm, form_page_when, is_typed_mistake};
use crate::nav::{CapabilityHome, NavEntries, Section, link};
use crate::pages::{
    Flash, Layout, PageResult, PageUser, beijing_time, download, filters, options, render,
    run_status,
};
use crate::upload::read_upload;
use crate::{AppState, status_of};

pub(crate) use self::households::parse_since;
use self::households::{door_ledger_page, household_page, household_visit};
use self::import::{export_download, import_page, import_problems_download, import_submit};
use self::moves::{
    move_in_decide, move_in_new_page, move_in_new_submit, move_in_page, move_ins_page,
    resident_move_page, resident_move_submit,
};
use self::regions::{SearchQuery, region_page, regions_find, regions_root};
use self::residents::{
    resident_new_page, resident_new_submit, resident_page, resident_reveal, residents_search,
};

/// The register's links (实有人口): regions for everyone, the search and move-ins for the roles
/// that do that work, import and export.
pub(crate) const NAV: NavEntries = NavEntries {
    home: Some(CapabilityHome {
        capability: "population",
        href: |_| "/regions",
    }),
    links: &[
        link(
            Section::Population,
            "区划与网格",
            "/regions",
            "regions",
            |_| true,
        ),
        link(
            Section::Population,
            "居民查询",
            "/residents",
            "residents",
            |r| r.allows(Permission::SearchRegister),
        ),
        link(
            Section::Population,
            "迁入申请",
            "/residents/move-ins",
            "move_ins",
            |r| r.allows(Permission::ImportPopulation),
        ),
        link(
            Section::Population,
            "导入导出",
            "/import",
            "import",
            |_| true,
        ),
    ],
};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/regions", get(regions_root))
        .route("/regions/find", get(regions_find))
        .route("/regions/{code}", get(region_page))
        .route("/residents", get(residents_search))
        .route(
            "/residents/new",
            get(resident_new_page).post(resident_new_submit),
        )
        .route("/residents/move-ins", get(move_ins_page))
        .route(
            "/residents/move-ins/new",
            get(move_in_new_page).post(move_in_new_submit),
        )
        .route("/residents/move-ins/{id}", get(move_in_page))
        .route("/residents/move-ins/{id}/decide", post(move_in_decide))
        .route("/residents/{id}", get(resident_page))
        .route("/residents/{id}/reveal", post(resident_reveal))
        .route(
            "/residents/{id}/move",
            get(resident_move_page).post(resident_move_submit),
        )
        .route("/households/{number}", get(household_page))
        .route("/households/{number}/visits", post(household_visit))
        .route("/door-ledger/{grid}", get(door_ledger_page))
        .route(
            "/import",
            get(import_page)
                .post(import_submit)
                .layer(DefaultBodyLimit::max(crate::UPLOAD_LIMIT_BYTES)),
        )
        .route("/imports/{id}/problems.csv", get(import_problems_download))
        .route("/export", post(export_download))
}
