//! Command pages and API (指挥调度与值班报送) over `app::command`: the route tables and the
//! navigation; the handlers live in one file per sub-area, named as in `crates/app/src/command/`.

mod bulletins;
mod situation;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::command::{BulletinView, LateList, Situation};
use fangkong_domain::role::{Permission, Role};
use serde::{Deserialize, Serialize};

use crate::api::ApiError;
use crate::forms::{CsrfForm, NoFields, form_page, ok_flash};
use crate::nav::{CapabilityHome, NavEntries, Section, link, plain_link};
use crate::pages::{Flash, Layout, PageResult, PageUser, render};
use crate::session::ApiUser;
use crate::{AppState, status_of};

use self::bulletins::{
    api_bulletins, api_draft, api_public_bulletins, api_publish, bulletin_page, bulletins_page,
    draft_submit, edit_submit, public_bulletins_page, publish_submit,
};

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
        link(
            Section::Command,
            "信息发布",
            "/command/bulletins",
            "bulletins",
            commands,
        ),
        plain_link(Section::OwnCode, "疫情通报", "/public/bulletins", |r| {
            r == Role::Resident
        }),
    ],
};

/// A form body: the draft's date, or a reviewed bulletin (up to 60,000 characters, nine bytes
/// each once URL-encoded).
const FORM_BODY_LIMIT: usize = 640 * 1024;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/command", get(situation_page))
        .route("/command/late", get(late_page))
        .route(
            "/command/bulletins",
            get(bulletins_page)
                .post(draft_submit)
                .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/command/bulletins/{id}",
            get(bulletin_page)
                .post(edit_submit)
                .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route(
            "/command/bulletins/{id}/publish",
            post(publish_submit).layer(DefaultBodyLimit::max(FORM_BODY_LIMIT)),
        )
        .route("/public/bulletins", get(public_bulletins_page))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/command/situation", get(api_situation))
        .route("/command/late", get(api_late))
        .route("/command/bulletins", get(api_bulletins).post(api_draft))
        .route("/command/bulletins/{id}/publish", post(api_publish))
        .route("/public/bulletins", get(api_public_bulletins))
}

/// The template filters the command pages use.
pub(crate) mod filters {
    pub use crate::pages::filters::thousands;
}
