//! Isolation, transfer and hospital pages and API (隔离、转运与救治).

use axum::Router;

use crate::AppState;

pub fn pages() -> Router<AppState> {
    Router::new()
}

pub fn api() -> Router<AppState> {
    Router::new()
}
