//! Investigation pages and API (流调溯源).

use axum::Router;

use crate::AppState;

pub fn pages() -> Router<AppState> {
    Router::new()
}

pub fn api() -> Router<AppState> {
    Router::new()
}
