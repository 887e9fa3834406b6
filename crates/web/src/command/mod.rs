//! Command pages and API (指挥调度与值班报送) over `app::command`: the route tables and the
//! navigation; the handlers live in one file per sub-area, named as in `crates/app/src/command/`.

mod duty;
mod spot_checks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use fangkong_domain::role::Permission;

use crate::AppState;
use crate::nav::{NavEntries, Section, link};

/// The command office's links (under 指挥调度).
pub(crate) const NAV: NavEntries = NavEntries {
    home: None,
    links: &[
        link(
            Section::Command,
            "今日值班",
            "/command/duty",
            "duty",
            |r| r.allows(Permission::KeepDuty),
        ),
        link(
            Section::Command,
            "排班表",
            "/command/duty/roster",
            "duty_roster",
            |r| r.allows(Permission::KeepDuty),
        ),
        link(
            Section::Command,
            "值班抽查",
            "/command/duty/spot-checks",
            "spot_checks",
            |r| r.allows(Permission::ManageDuty),
        ),
        link(
            Section::Command,
            "督查问责",
            "/command/duty/accountability",
            "accountability",
            |r| r.allows(Permission::ManageDuty),
        ),
    ],
};

/// A form's body: a handover note of 1,000 characters is a few kilobytes.
const FORM_BODY_LIMIT: usize = 16 * 1024;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/command/duty", get(duty::board_page))
        .route(
            "/command/duty/handover",
            post(duty::handover_submit).layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/command/duty/roster",
            get(duty::roster_page)
                .post(duty::roster_submit)
                .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/command/duty/roster/{id}/remove",
            post(duty::roster_remove).layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/command/duty/spot-checks",
            get(spot_checks::spot_checks_page)
                .post(spot_checks::call_submit)
                .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/command/duty/spot-checks/{id}/result",
            post(spot_checks::result_submit).layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/command/duty/accountability",
            get(spot_checks::accountability_page),
        )
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/command/duty/board", get(duty::api_board))
        .route(
            "/command/duty/rosters",
            get(duty::api_rosters)
                .post(duty::api_add_roster)
                .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/command/duty/spot-checks",
            get(spot_checks::api_spot_checks)
                .post(spot_checks::api_call)
                .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/command/duty/spot-checks/{id}/result",
            post(spot_checks::api_result).layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/command/duty/accountability",
            get(spot_checks::api_accountability),
        )
}
