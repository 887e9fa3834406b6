//! Supplies: cold_chain pages and API (see `app::supplies::cold_chain`).

use axum::Router;

use crate::AppState;

pub(super) fn pages() -> Router<AppState> {
    Router::new()
}

pub(super) fn api() -> Router<AppState> {
    Router::new()
}
