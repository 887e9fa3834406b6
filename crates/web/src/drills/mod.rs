//! Drill pages and API (应急演练) over `app::drills`: scenarios, runs and their after-action
//! reports.

use axum::Router;

use crate::AppState;
use crate::nav::NavEntries;

/// The drills' links (under 指挥调度).
pub(crate) const NAV: NavEntries = NavEntries {
    home: None,
    links: &[],
};

pub fn pages() -> Router<AppState> {
    Router::new()
}

pub fn api() -> Router<AppState> {
    Router::new()
}
