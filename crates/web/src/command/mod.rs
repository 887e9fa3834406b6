//! Command pages and API (指挥调度与值班报送) over `app::command`: the route tables and the
//! navigation; the handlers live in one file per sub-area, named as in `crates/app/src/command/`.

mod incidents;
mod reports;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_domain::role::Permission;

use crate::AppState;
use crate::api::ApiError;
use crate::nav::{NavEntries, Section, link};

/// The command office's links (under 指挥调度).
pub(crate) const NAV: NavEntries = NavEntries {
    home: None,
    links: &[
        link(
            Section::Command,
            "日报告与零报告",
            "/command/reports",
            "command_reports",
            |r| r.allows(Permission::ViewCommand),
        ),
        link(
            Section::Command,
            "重大事项报告",
            "/command/incidents",
            "command_incidents",
            |r| r.allows(Permission::ViewCommand),
        ),
    ],
};

const FORM_BODY_LIMIT: usize = 64 * 1024;

type ApiResult<T> = Result<Json<T>, ApiError>;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/command/reports", get(reports::board_page))
        .route("/command/reports/export.xlsx", get(reports::board_export))
        .route(
            "/command/reports/file",
            get(reports::file_page)
                .post(reports::file_submit)
                .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route("/command/reports/one", get(reports::one_page))
        .route(
            "/command/reports/correct",
            post(reports::correct_submit).layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/command/incidents",
            get(incidents::list_page)
                .post(incidents::file_submit)
                .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route("/command/incidents/{id}", get(incidents::detail_page))
        .route(
            "/command/incidents/{id}/follow-up",
            post(incidents::follow_up_submit).layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/command/incidents/{id}/close",
            post(incidents::close_submit).layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/command/incidents/{id}/acknowledge",
            post(incidents::acknowledge_submit).layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route(
            "/command/reports",
            get(reports::api_board).post(reports::api_submit),
        )
        .route("/command/reports/one", get(reports::api_one))
        .route("/command/reports/correct", post(reports::api_correct))
        .route(
            "/command/incidents",
            get(incidents::api_list).post(incidents::api_file),
        )
        .route("/command/incidents/{id}", get(incidents::api_detail))
        .route(
            "/command/incidents/{id}/follow-up",
            post(incidents::api_follow_up),
        )
        .route("/command/incidents/{id}/close", post(incidents::api_close))
        .route(
            "/command/incidents/{id}/acknowledge",
            post(incidents::api_acknowledge),
        )
}
