//! Supplies: gatherings pages and API (see `app::supplies::gatherings`).

use axum::Router;

use crate::AppState;

pub(super) fn pages() -> Router<AppState> {
    Router::new()
}

pub(super) fn api() -> Router<AppState> {
    Router::new()
}
