//! Investigation pages and API (流调溯源) over `app::investigation`: the route tables and the small
//! helpers; the handlers live in one file per sub-area, named as in `crates/app/src/investigation/`.

mod bulletin;
mod cases;
mod chains;
mod contacts;
mod trajectories;

use std::fmt::Write as _;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use fangkong_app::AppError;
use fangkong_app::investigation::{
    CaseAction, CaseDetail, CaseForm, CaseRow, ChainPicture, ContactForm, ContactRow,
    InvestigationOverview, PAGE_SIZE, PLACE_KINDS, StopForm, place_kind_label,
};
use fangkong_domain::investigation::{
    CaseKind, ContactCategory, DeadlineState, ExposureKind, FoundBy, Regime, Severity,
};
use fangkong_domain::role::{Permission, Role};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::forms::{CsrfForm, NoFields, form_page_when, is_typed_mistake, ok_flash};
use crate::health_code::fresh_key;
use crate::mass_testing::{encode, id_types};
use crate::nav::{CapabilityHome, NavEntries, Section, link};
use crate::pages::options;
use crate::pages::{Flash, Layout, PageResult, PageUser, beijing_time, filters, render};
use crate::session::ApiUser;

use self::bulletin::bulletin_page;
use self::cases::{
    CaseForms, action_submit, api_case, api_cases, api_open_case, case_form_page, case_page,
    cases_page, new_case_page, new_case_submit, regime_submit,
};
use self::chains::{api_chains, chains_page, chains_svg};
use self::contacts::{
    ContactInput, IMPORT_LIMIT, api_add_contact, clear_submit, contact_import_submit,
    contact_submit, contact_template, contacts_page,
};
use self::trajectories::{StopInput, itinerary_submit, stop_submit};

/// Cases and chains (under 流调与隔离); the capability's link leads each role to its part of the
/// work: cases, the leads to land, or a resident's own report.
pub(crate) const NAV: NavEntries = NavEntries {
    home: Some(CapabilityHome {
        capability: "investigation",
        href: home_of,
    }),
    links: &[
        link(Section::Work, "病例与密接", "/cases", "cases", views_cases),
        link(Section::Work, "传播链", "/chains", "chains", views_cases),
    ],
};

fn views_cases(role: Role) -> bool {
    role.allows(Permission::ViewInvestigation)
}

/// Where the investigation capability's link leads for a role.
fn home_of(role: Role) -> &'static str {
    if role.allows(Permission::ViewInvestigation) {
        "/cases"
    } else if role.allows(Permission::ViewLeads) {
        "/leads"
    } else if role.allows(Permission::SelfReport) {
        "/me/self-report"
    } else {
        "/modules/investigation"
    }
}

/// Every form and JSON body here is a few fields.
const BODY_LIMIT: usize = 64 * 1024;

/// The bulletin looks back this many days unless told otherwise.
const BULLETIN_DAYS: i64 = 14;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/cases", get(cases_page))
        .route("/cases/regime", post(regime_submit))
        .route("/cases/new", get(new_case_page).post(new_case_submit))
        .route("/cases/bulletin", get(bulletin_page))
        .route("/cases/{id}", get(case_page))
        .route("/cases/{id}/actions", post(action_submit))
        .route("/cases/{id}/stops", post(stop_submit))
        .route("/cases/{id}/itinerary", post(itinerary_submit))
        .route("/cases/{id}/contacts", post(contact_submit))
        .route("/contacts", get(contacts_page))
        .route("/contacts/{id}/clear", post(clear_submit))
        .route("/chains", get(chains_page))
        .route("/chains.svg", get(chains_svg))
        .route("/cases/contacts-template.csv", get(contact_template))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // A passenger manifest or a roster: up to 20,000 rows.
        .route(
            "/cases/{id}/contacts/import",
            post(contact_import_submit).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/cases", get(api_cases).post(api_open_case))
        .route("/cases/{id}", get(api_case))
        .route("/cases/{id}/contacts", post(api_add_contact))
        .route("/chains", get(api_chains))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

fn time_or_dash(unix: Option<i64>) -> String {
    unix.map(beijing_time).unwrap_or_else(|| "—".into())
}

/// The CSS class of a deadline's state: overdue red, late amber, done on time green.
fn deadline_class(state: DeadlineState) -> &'static str {
    match state {
        DeadlineState::Overdue => "deadline-overdue",
        DeadlineState::Late => "warn",
        DeadlineState::OnTime => "good",
        DeadlineState::Open => "",
    }
}

fn case_kinds() -> Vec<(&'static str, &'static str)> {
    options(&CaseKind::ALL, CaseKind::code, CaseKind::label_zh)
}

fn found_bys() -> Vec<(&'static str, &'static str)> {
    options(&FoundBy::ALL, FoundBy::code, FoundBy::label_zh)
}

fn severities() -> Vec<(&'static str, &'static str)> {
    options(&Severity::ALL, Severity::code, Severity::label_zh)
}

fn exposure_kinds() -> Vec<(&'static str, &'static str)> {
    options(
        &ExposureKind::ALL,
        ExposureKind::code,
        ExposureKind::label_zh,
    )
}

fn categories() -> Vec<(&'static str, &'static str)> {
    options(
        &ContactCategory::ALL,
        ContactCategory::code,
        ContactCategory::label_zh,
    )
}

const STATUSES: [(&str, &str); 3] = [
    ("active", "在管"),
    ("discharged", "已出院"),
    ("excluded", "已排除"),
];

fn truthy(raw: &str) -> bool {
    matches!(raw.trim(), "1" | "true" | "on" | "yes")
}

/// `?before=` of a directory: empty = the first page.
fn parse_before(raw: &str) -> Result<Option<i64>, AppError> {
    match raw.trim() {
        "" => Ok(None),
        text => text.parse::<i64>().map(Some).map_err(|_| {
            AppError::Invalid(format!(
                "翻页参数“{text}”应为数字（请使用页面上的“下一页”链接）"
            ))
        }),
    }
}

/// Escapes text for XML (SVG) content and attribute values.
fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

/// A case's row as the directory and the case page show it.
pub struct CaseLine {
    pub r: CaseRow,
    pub found_at: String,
    pub report_class: &'static str,
    pub report_label: &'static str,
    pub report_due: String,
    pub investigation_class: &'static str,
    pub investigation_label: &'static str,
    pub investigation_due: String,
}

impl CaseLine {
    fn of(r: CaseRow) -> CaseLine {
        CaseLine {
            found_at: beijing_time(r.found_at),
            report_class: deadline_class(r.report),
            report_label: r.report.label_zh(),
            report_due: beijing_time(r.report_due),
            investigation_class: deadline_class(r.investigation),
            investigation_label: r.investigation.label_zh(),
            investigation_due: beijing_time(r.investigation_due),
            r,
        }
    }

    pub fn age_label(&self) -> String {
        self.r.age.map(|a| format!("{a}岁")).unwrap_or_default()
    }
}

/// A contact's row as the case page and the directory show it.
pub struct ContactLine {
    pub c: ContactRow,
    pub first: String,
    pub last: String,
    pub category_class: &'static str,
}

impl ContactLine {
    fn of(c: ContactRow) -> ContactLine {
        ContactLine {
            first: beijing_time(c.first_exposure_at),
            last: beijing_time(c.last_exposure_at),
            category_class: match c.category.as_str() {
                "close" => "bad",
                "secondary" => "warn",
                _ => "muted",
            },
            c,
        }
    }

    pub fn is_active_close(&self) -> bool {
        self.c.category == ContactCategory::Close.code() && self.c.status == "active"
    }

    pub fn status_label(&self) -> &'static str {
        match self.c.status.as_str() {
            "active" => "在管",
            "cleared" => "已解除",
            _ => "其他",
        }
    }
}

use crate::api::ApiResult;

/// A number field that clients send as a JSON number or a string (or leave out).
fn loose_text(value: &Option<serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}
