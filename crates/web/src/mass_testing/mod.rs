//! Mass testing (全员/区域核酸检测): the pages and the JSON API over `app::mass_testing` and
//! `app::lab_results`. This file holds the route tables, the body limits and the small helpers;
//! the handlers live in one file per sub-area, named as in `crates/app/src/mass_testing/`.
//!
//! The binding page (`/testing/sites/{id}/tables/{n}`) is the one a sampler lives in: a single input
//! a USB scanner types into; `assets/sampling.js` keeps every scan in a local queue first and sends
//! it to `POST /api/sampling/scans`, so a dropped network loses nothing. Everything else is a
//! server-rendered page in the style of `pages`.

mod antigen;
mod binding;
mod boxes;
mod coverage;
mod rechecks;
mod results;
mod rounds;
mod routine;
mod sites;
mod views;

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::TimeZone;
use fangkong_app::lab_results::{ResultInput, ResultUploadReport};
use fangkong_app::mass_testing::{
    AntigenForm, CoverageLine, GridCoverage, KeyGroupOverdue, MissingView, MyResults, PlanLine,
    RecheckView, RoundForm, RoundOverview, RoundView, SamplingBatch, ScanResult, SiteForm,
};
use fangkong_app::records::SiteRecord;
use fangkong_app::{AppError, china_offset};
use fangkong_domain::ids::IdType;
use fangkong_domain::lab_result::RESULT_COLUMNS;
use fangkong_domain::mass_testing::{
    ExemptionKind, NHC_2022_NORMS, PlannerNorms, PoolSize, RoundKind,
};
use fangkong_domain::person::KeyGroup;
use fangkong_domain::region::{RegionCode, RegionLevel};
use fangkong_domain::role::{Permission, Role};
use serde::{Deserialize, Serialize};

use crate::api::ApiError;
use crate::forms::{CsrfForm, NoFields, error_flash, form_page, is_form_mistake, ok_flash};
use crate::nav::{CapabilityHome, NavEntries, Section, link};
use crate::pages::{
    Flash, PageResult, PageUser, beijing_time, download, filters, read_upload, render,
};
use crate::session::ApiUser;
use crate::{AppState, status_of};

use self::antigen::{
    antigen_page, antigen_submit, api_antigen, my_antigen_page, my_antigen_submit,
};
use self::binding::{api_scans, binding_page};
use self::boxes::{
    BoxInput, api_box_pickup, api_box_receive, api_pack_box, boxes_page, boxes_submit,
    pack_box_submit,
};
use self::coverage::{api_grid, exemption_submit, grid_page};
use self::rechecks::{api_rechecks, positives_page, rechecks_page};
pub(crate) use self::results::qr_svg;
use self::results::{
    api_lab_fhir, api_lab_results, api_lab_upload, api_my_results, my_results_page,
    result_upload_page, results_page, results_template, results_upload_submit,
};
use self::rounds::{
    Created, SiteRow, api_open_round, api_round, api_rounds, close_round_submit,
    issue_tubes_submit, open_round_submit, round_page, rounds_page, site_row,
};
use self::routine::key_groups_page;
use self::sites::{TubeRow, create_site_submit, plan_page, site_page, site_page_with};
use self::views::Chart;

/// A sampling batch of 5,000 scans is about 1–2 MB of JSON; 8 MB leaves room and stops abuse.
const SCANS_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// JSON result rows (up to 100,000 per request) and FHIR documents sent straight to the API.
const LAB_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// A page form of a few fields (the longest is a box's list of up to 1,000 tube barcodes).
const FORM_BODY_LIMIT: usize = 1024 * 1024;

/// Small JSON bodies (a round, a box, an antigen report).
const SMALL_BODY_LIMIT: usize = 256 * 1024;

/// An antigen photo is at most 4 MB (checked in app); the form around it is small.
const PHOTO_BODY_LIMIT: usize = 6 * 1024 * 1024;

pub fn pages() -> Router<AppState> {
    // Result files stream to disk under the application's upload limit; a photo is small; every
    // other form here is a few fields.
    let uploads = Router::new().route(
        "/testing/results",
        get(results_page)
            .post(results_upload_submit)
            .layer(DefaultBodyLimit::max(crate::UPLOAD_LIMIT_BYTES)),
    );
    let photo = Router::new()
        .route("/me/antigen", get(my_antigen_page).post(my_antigen_submit))
        .layer(DefaultBodyLimit::max(PHOTO_BODY_LIMIT));
    Router::new()
        .route("/testing", get(rounds_page))
        .route("/testing/rounds", post(open_round_submit))
        .route("/testing/rounds/{id}", get(round_page))
        .route("/testing/rounds/{id}/close", post(close_round_submit))
        .route("/testing/rounds/{id}/tubes", post(issue_tubes_submit))
        .route("/testing/rounds/{id}/plan", get(plan_page))
        .route("/testing/rounds/{id}/sites", post(create_site_submit))
        .route("/testing/rounds/{id}/grids/{grid}", get(grid_page))
        .route(
            "/testing/rounds/{id}/grids/{grid}/exemptions",
            post(exemption_submit),
        )
        .route("/testing/sites/{id}", get(site_page))
        .route("/testing/sites/{id}/boxes", post(pack_box_submit))
        .route("/testing/sites/{id}/tables/{table}", get(binding_page))
        .route("/testing/rechecks", get(rechecks_page))
        .route("/testing/positives", get(positives_page))
        .route("/testing/results/template.csv", get(results_template))
        .route("/testing/results/{id}", get(result_upload_page))
        .route("/testing/boxes", get(boxes_page).post(boxes_submit))
        .route("/testing/key-groups", get(key_groups_page))
        .route("/testing/antigen", get(antigen_page).post(antigen_submit))
        .route("/me/results", get(my_results_page))
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .merge(uploads)
        .merge(photo)
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route(
            "/sampling/scans",
            post(api_scans).layer(DefaultBodyLimit::max(SCANS_BODY_LIMIT)),
        )
        .route(
            "/rounds",
            get(api_rounds).post(api_open_round.layer(DefaultBodyLimit::max(SMALL_BODY_LIMIT))),
        )
        .route("/rounds/{id}", get(api_round))
        .route("/rounds/{id}/grids/{grid}", get(api_grid))
        .route(
            "/sites/{id}/boxes",
            post(api_pack_box).layer(DefaultBodyLimit::max(SMALL_BODY_LIMIT)),
        )
        .route("/boxes/{code}/pickup", post(api_box_pickup))
        .route("/boxes/{code}/receive", post(api_box_receive))
        .route(
            "/lab/results",
            post(api_lab_results).layer(DefaultBodyLimit::max(LAB_BODY_LIMIT)),
        )
        .route(
            "/lab/fhir",
            post(api_lab_fhir).layer(DefaultBodyLimit::max(
                fangkong_app::lab_results::FHIR_DOCUMENT_LIMIT,
            )),
        )
        .route(
            "/lab/uploads",
            post(api_lab_upload).layer(DefaultBodyLimit::max(crate::UPLOAD_LIMIT_BYTES)),
        )
        .route("/rechecks", get(api_rechecks))
        .route("/me/results", get(api_my_results))
        .route(
            "/antigen",
            post(api_antigen).layer(DefaultBodyLimit::max(SMALL_BODY_LIMIT)),
        )
}

/// `/assets/sampling.js`: the binding page's script, served by the binary like the stylesheet.
pub async fn sampling_script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/javascript; charset=utf-8".to_string(),
            ),
            (header::CACHE_CONTROL, "max-age=3600".to_string()),
        ],
        include_str!("../../assets/sampling.js"),
    )
        .into_response()
}

/// The testing links: the outbreak's work, and a resident's own results and antigen report.
pub(crate) const NAV: NavEntries = NavEntries {
    home: Some(CapabilityHome {
        capability: "mass_testing",
        href: |_| "/testing",
    }),
    links: &[
        link(
            Section::Testing,
            "检测轮次",
            "/testing",
            "mass_testing",
            works_rounds,
        ),
        link(
            Section::Testing,
            "复核任务",
            "/testing/rechecks",
            "testing_rechecks",
            works_rounds,
        ),
        link(
            Section::Testing,
            "结果上传",
            "/testing/results",
            "testing_results",
            |r| r.allows(Permission::UploadLabResults),
        ),
        link(
            Section::Testing,
            "转运箱",
            "/testing/boxes",
            "testing_boxes",
            |r| r.allows(Permission::HandleSpecimens),
        ),
        link(
            Section::Testing,
            "重点人群",
            "/testing/key-groups",
            "testing_key_groups",
            works_rounds,
        ),
        link(
            Section::Testing,
            "抗原",
            "/testing/antigen",
            "testing_antigen",
            |r| r.allows(Permission::ReportAntigen) && r.allows(Permission::ViewPopulation),
        ),
        link(
            Section::OwnTesting,
            "我的核酸结果",
            "/me/results",
            "my_results",
            own_results,
        ),
        link(
            Section::OwnTesting,
            "上报抗原",
            "/me/antigen",
            "my_antigen",
            own_results,
        ),
    ],
};

/// Rounds, rechecks, key groups: everyone who works the outbreak.
fn works_rounds(role: Role) -> bool {
    role.allows(Permission::ViewPopulation)
}

fn own_results(role: Role) -> bool {
    role.allows(Permission::ViewOwnResults)
}

/// Beijing time "11-20 10:05": short enough for tables and the binding page.
fn short_time(unix: i64) -> String {
    china_offset()
        .timestamp_opt(unix, 0)
        .single()
        .map(|t| t.format("%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn time_or_dash(unix: Option<i64>) -> String {
    unix.map(beijing_time).unwrap_or_else(|| "—".into())
}

/// "3小时20分" for a duration in seconds.
fn duration_label(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "—".into();
    }
    let minutes = (seconds / 60.0).round() as i64;
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m}分钟"),
        (h, 0) => format!("{h}小时"),
        (h, m) => format!("{h}小时{m}分"),
    }
}

fn hours_label(hours: f64) -> String {
    duration_label(hours * 3600.0)
}

fn recheck_status_label(status: &str) -> &'static str {
    match status {
        "pending" => "待复采",
        "sampled" => "已复采待结果",
        "negative" => "复核阴性（已解除）",
        "positive" => "复核阳性",
        "invalid" => "复采无效",
        _ => "其他",
    }
}

const RECHECK_STATUSES: [&str; 5] = ["pending", "sampled", "negative", "positive", "invalid"];

fn event_label(kind: &str) -> &'static str {
    match kind {
        "pool_positive" => "混采阳性：须单管复采",
        "single_positive" => "单管阳性",
        "recheck_negative" => "复核阴性，已解除",
        "antigen_positive" => "抗原阳性：须核酸复核",
        _ => "检测事件",
    }
}

fn result_class(label: &str) -> &'static str {
    match label {
        "阳性" => "bad",
        "阴性" => "good",
        "无效" => "warn",
        _ => "",
    }
}

/// Percent-encodes a query value (region codes are digits; names may be Chinese).
pub(crate) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn is_grid_code(code: &str) -> bool {
    RegionCode::parse(code).is_ok_and(|c| c.level() == RegionLevel::Grid)
}

/// Where a coverage line of a round leads: the grid's missing list, or one level down.
fn drill_href(round_id: i64, code: &str) -> String {
    if is_grid_code(code) {
        format!("/testing/rounds/{round_id}/grids/{code}")
    } else {
        format!("/testing/rounds/{round_id}?region={code}")
    }
}

pub(crate) fn id_types() -> Vec<(&'static str, &'static str)> {
    IdType::ALL
        .iter()
        .map(|t| (t.code(), t.label_zh()))
        .collect()
}

use crate::api::ApiResult;

#[derive(Deserialize, Default)]
#[serde(default)]
struct ApiRegionQuery {
    region: String,
    status: String,
}
