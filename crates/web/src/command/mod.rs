//! Command pages and API (指挥调度与值班报送) over `app::command`: the route tables and the
//! navigation; the handlers live in one file per sub-area, named as in `crates/app/src/command/`.

mod situation;

use askama::Template;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use fangkong_app::command::{LateList, Situation};
use fangkong_domain::role::{Permission, Role};
use serde::Deserialize;

use crate::AppState;
use crate::api::ApiError;
use crate::nav::{CapabilityHome, NavEntries, Section, link};
use crate::pages::{Layout, PageResult, PageUser, render};
use crate::session::ApiUser;

use self::situation::{api_late, api_situation, late_page, situation_page};

type ApiResult<T> = Result<Json<T>, ApiError>;

fn commands(role: Role) -> bool {
    role.allows(Permission::ViewCommand)
}

/// The command office's links (under 指挥调度).
pub(crate) const NAV: NavEntries = NavEntries {
    home: Some(CapabilityHome {
        capability: "command",
        href: |_| "/command",
    }),
    links: &[
        link(
            Section::Command,
            "态势总览",
            "/command",
            "situation",
            commands,
        ),
        link(
            Section::Command,
            "超时事项",
            "/command/late",
            "late",
            commands,
        ),
    ],
};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/command", get(situation_page))
        .route("/command/late", get(late_page))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/command/situation", get(api_situation))
        .route("/command/late", get(api_late))
}

/// The template filters the command pages use.
pub(crate) mod filters {
    pub use crate::pages::filters::thousands;
}
