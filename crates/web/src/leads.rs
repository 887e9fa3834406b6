//! Leads pages and API (线索与落地查人).

use axum::Router;

use crate::AppState;

pub fn pages() -> Router<AppState> {
    Router::new()
}

pub fn api() -> Router<AppState> {
    Router::new()
}
