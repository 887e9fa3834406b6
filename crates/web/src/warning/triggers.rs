//! Early warning: triggers pages and API (see `app::warning::triggers`).

use axum::Router;

use crate::AppState;

pub(super) fn pages() -> Router<AppState> {
    Router::new()
}

pub(super) fn api() -> Router<AppState> {
    Router::new()
}
