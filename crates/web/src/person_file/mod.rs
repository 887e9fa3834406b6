//! One person, one file (一人一档) over `app::person_file`: the route tables; the handlers of the
//! page and the API live in `file.rs`. The file is reached from every list that names a person,
//! so it has no link of its own in the side bar (its pages mark 居民查询).

mod file;

use askama::Template;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use fangkong_app::person_file::{PersonCodeBrief, PersonFile, PersonRef};
use fangkong_domain::role::Permission;

use crate::AppState;
use crate::pages::{Layout, PageResult, PageUser, render};
use crate::session::ApiUser;

use self::file::{api_person, api_person_code, person_page};

pub fn pages() -> Router<AppState> {
    Router::new().route("/people/{key}", get(person_page))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/people/{key}", get(api_person))
        .route("/people/{key}/code", get(api_person_code))
}

use crate::api::ApiResult;
