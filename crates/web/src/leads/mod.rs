//! Leads pages and API (线索与落地查人) over `app::leads`: the route tables and the row shown in every
//! list; the handlers live in one file per sub-area, named as in `crates/app/src/leads/`.

mod outcomes;
mod push_import;
mod queries;
mod receiving;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::AppError;
use fangkong_app::leads::{
    LeadDetail, LeadFilter, LeadForm, LeadImportReport, LeadImportRun as LeadImportRecord,
    LeadListPage, LeadOverview, LeadView, OutcomeForm, RegionLeadCounts, SelfReportForm,
    push_template,
};
use fangkong_app::records::RegionRecord;
use fangkong_domain::leads::{
    Channel, ControlMeasure, LeadStatus, OutcomeKind, PUSH_COLUMNS, RiskCategory, SenderScope,
};
use fangkong_domain::role::Permission;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::mass_testing::{encode, id_types};
use crate::nav::{NavEntries, Section, link};
use crate::pages::options;
use crate::pages::{
    Flash, Layout, PageResult, PageUser, beijing_time, download, read_upload, render,
};
use crate::session::ApiUser;

use self::outcomes::{
    SavedQuery, api_outcome, assign_submit, lead_page, outcome_submit, reveal_submit,
};
use self::push_import::{import_page, import_submit, problems_download, template_download};
use self::queries::{api_detail, api_list, api_overdue, api_overview, leads_page};
use self::receiving::{
    api_create, new_lead_page, new_lead_submit, self_report_page, self_report_submit,
};

/// Leads to land (under 流调与隔离) and a resident's own report.
pub(crate) const NAV: NavEntries = NavEntries {
    home: None,
    links: &[
        link(Section::Work, "落地查人", "/leads", "leads", |r| {
            r.allows(Permission::ViewLeads)
        }),
        link(
            Section::OwnReport,
            "主动报告",
            "/me/self-report",
            "self_report",
            |r| r.allows(Permission::SelfReport),
        ),
    ],
};

const FORM_BODY_LIMIT: usize = 64 * 1024;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/leads", get(leads_page))
        .route(
            "/leads/new",
            get(new_lead_page)
                .post(new_lead_submit)
                .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/leads/import",
            get(import_page)
                .post(import_submit)
                .layer(DefaultBodyLimit::max(crate::UPLOAD_LIMIT_BYTES)),
        )
        .route("/leads/import/template.csv", get(template_download))
        .route("/leads/imports/{id}/problems.csv", get(problems_download))
        .route("/leads/{id}", get(lead_page))
        .route(
            "/leads/{id}/outcome",
            post(outcome_submit).layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/leads/{id}/assign",
            post(assign_submit).layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/leads/{id}/reveal",
            post(reveal_submit).layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/me/self-report",
            get(self_report_page)
                .post(self_report_submit)
                .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/leads", get(api_list).post(api_create))
        .route("/leads/overdue", get(api_overdue))
        .route("/leads/overview", get(api_overview))
        .route("/leads/{id}", get(api_detail))
        .route("/leads/{id}/outcome", post(api_outcome))
}

fn time_or_dash(t: Option<i64>) -> String {
    t.map(beijing_time).unwrap_or_else(|| "—".into())
}

/// A lead with its times as users read them.
pub struct LeadRow {
    pub v: LeadView,
    pub received: String,
    pub deadline: String,
    pub closed: String,
    pub arrived: String,
}

impl From<LeadView> for LeadRow {
    fn from(v: LeadView) -> LeadRow {
        LeadRow {
            received: beijing_time(v.received_at),
            deadline: beijing_time(v.deadline),
            closed: time_or_dash(v.closed_at),
            arrived: time_or_dash(v.arrived_at),
            v,
        }
    }
}

use crate::api::ApiResult;
