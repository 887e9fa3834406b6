//! Health codes and risk areas (健康码与风险区域): the pages and the JSON API over
//! `app::health_code` and `app::risk_areas`. This file holds the route tables and the small helpers
//! the sub-areas share; the handlers live in one file per sub-area, named as in
//! `crates/app/src/health_code/`. Checkpoints, venue codes and the itinerary are `crate::checkpoints`.

mod appeals;
mod codes;
mod facts;
mod policy;
mod risk_areas;

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::AppError;
use fangkong_app::health_code::{AppealView, CodeOverview, FactForm, MyCode, PersonCode};
use fangkong_app::risk_areas::{PublicArea, RiskAreaDetail, RiskAreaForm, RiskAreaView};
use fangkong_domain::health_code::{CodeColour, FactKind};
use fangkong_domain::risk_area::{AreaScheme, AreaTier, AreaUnit};
use fangkong_domain::role::{Permission, Role};
use serde::Deserialize;

use crate::AppState;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::mass_testing::{encode, id_types, qr_svg};
use crate::nav::{CapabilityHome, NavEntries, Section, link, plain_link};
use crate::pages::options;
use crate::pages::{Flash, Layout, PageResult, PageUser, beijing_time, filters, render};
use crate::session::ApiUser;
use crate::status_of;

use self::appeals::{appeals_page, decide_appeal_submit, my_appeal_submit};
use self::codes::{
    api_my_code, codes_page, codes_page_with, my_code_page, my_code_page_with, untested_submit,
};
use self::facts::{add_fact_submit, community_check_submit, end_fact_submit, person_page};
use self::policy::policy_submit;
use self::risk_areas::{
    api_public_risk_areas, area_round_submit, area_step_submit, designate_submit,
    public_risk_areas_page, risk_area_page, risk_areas_page,
};

/// Every form here is a few fields.
const FORM_BODY_LIMIT: usize = 64 * 1024;

/// The resident's code page reloads itself so the QR code is never older than a minute.
const MY_CODE_REFRESH_SECONDS: u32 = 60;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/public/risk-areas", get(public_risk_areas_page))
        .route("/risk-areas", get(risk_areas_page).post(designate_submit))
        .route("/risk-areas/{id}", get(risk_area_page))
        .route("/risk-areas/{id}/rounds", post(area_round_submit))
        .route("/risk-areas/{id}/step", post(area_step_submit))
        .route("/codes", get(codes_page))
        .route("/codes/policy", post(policy_submit))
        .route("/codes/untested", post(untested_submit))
        .route("/codes/person", get(person_page))
        .route("/codes/facts", post(add_fact_submit))
        .route("/codes/facts/{id}/end", post(end_fact_submit))
        .route("/codes/check", post(community_check_submit))
        .route("/codes/appeals", get(appeals_page))
        .route("/codes/appeals/{id}", post(decide_appeal_submit))
        .route("/me/code", get(my_code_page))
        .route("/me/code/appeals", post(my_appeal_submit))
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/me/code", get(api_my_code))
        .route("/public/risk-areas", get(api_public_risk_areas))
}

/// The health-code links of staff and a resident's own code; the capability's link leads each role
/// to the page of its work.
pub(crate) const NAV: NavEntries = NavEntries {
    home: Some(CapabilityHome {
        capability: "health_code",
        href: home_of,
    }),
    links: &[
        link(
            Section::Codes,
            "风险区域",
            "/risk-areas",
            "risk_areas",
            |r| r.allows(Permission::ViewPopulation),
        ),
        link(Section::Codes, "健康码", "/codes", "codes", views_codes),
        link(
            Section::Codes,
            "申诉",
            "/codes/appeals",
            "code_appeals",
            views_codes,
        ),
        link(
            Section::OwnCode,
            "我的健康码",
            "/me/code",
            "my_code",
            own_code,
        ),
        plain_link(
            Section::OwnCode,
            "风险区域公布",
            "/public/risk-areas",
            own_code,
        ),
    ],
};

fn views_codes(role: Role) -> bool {
    role.allows(Permission::ViewHealthCodes)
}

fn own_code(role: Role) -> bool {
    role.allows(Permission::ShowOwnCode)
}

/// Where the capability's link in the navigation leads for a role.
fn home_of(role: Role) -> &'static str {
    if role == Role::Checkpoint {
        "/checkpoints"
    } else if role.allows(Permission::ViewHealthCodes) {
        "/codes"
    } else if role.allows(Permission::ShowOwnCode) {
        "/me/code"
    } else if role.allows(Permission::VerifyAtCheckpoint)
        || role.allows(Permission::ManageCheckpoints)
    {
        "/checkpoints"
    } else {
        "/public/risk-areas"
    }
}

pub(crate) fn colour_class(colour: &str) -> &'static str {
    match colour {
        "red" => "red",
        "yellow" => "yellow",
        "green" => "green",
        _ => "grey",
    }
}

fn appeal_status_label(status: &str) -> &'static str {
    match status {
        "open" => "处理中",
        "accepted" => "已核实，已转绿",
        "rejected" => "未通过",
        _ => "其他",
    }
}

/// The CSS class of a decision panel: green to pass, red to turn back or refuse, amber otherwise.
pub(crate) fn decision_class(decision: &str) -> &'static str {
    match decision {
        "pass" => "ok",
        "test_on_spot" => "warn",
        "fever_clinic" => "fever",
        _ => "bad",
    }
}

fn time_or_dash(unix: Option<i64>) -> String {
    unix.map(beijing_time).unwrap_or_else(|| "—".into())
}

/// A fresh key for one check or one venue visit: 128 random bits as hex (the process's random
/// hasher seeds, a counter and the clock; unique is what matters, not secret).
pub(crate) fn fresh_key() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let half = |salt: u64| {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(salt);
        hasher.write_u64(count);
        hasher.write_u128(nanos);
        hasher.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

pub(crate) use crate::api::ApiResult;
