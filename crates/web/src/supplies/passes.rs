//! Supplies: passes pages and API (see `app::supplies::passes`).

use axum::Router;

use crate::AppState;

pub(super) fn pages() -> Router<AppState> {
    Router::new()
}

pub(super) fn api() -> Router<AppState> {
    Router::new()
}
