//! Command pages and API (指挥调度与值班报送) over `app::command`: the route tables and the
//! navigation; the handlers live in one file per sub-area, named as in `crates/app/src/command/`.

pub(crate) mod curve;
pub(crate) mod map;

use axum::Router;
use axum::routing::get;
use fangkong_domain::role::Permission;

use crate::AppState;
use crate::nav::{NavEntries, Section, link};

/// The command office's links (under 指挥调度).
pub(crate) const NAV: NavEntries = NavEntries {
    home: None,
    links: &[
        link(
            Section::Command,
            "疫情曲线",
            "/command/curve",
            "command_curve",
            |r| r.allows(Permission::ViewCommand),
        ),
        link(
            Section::Command,
            "专题地图",
            "/command/map",
            "command_map",
            |r| r.allows(Permission::ViewCommand),
        ),
    ],
};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/command/curve", get(curve::curve_page))
        .route("/command/map", get(map::map_page))
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/command/curve", get(curve::api_curve))
        .route("/command/map", get(map::api_map))
}

/// Appends `text` to `out` escaped for SVG/XML text and attribute values.
fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}
