//! Early warning: fever_clinics pages and API (see `app::warning::fever_clinics`).

use axum::Router;

use crate::AppState;

pub(super) fn pages() -> Router<AppState> {
    Router::new()
}

pub(super) fn api() -> Router<AppState> {
    Router::new()
}
