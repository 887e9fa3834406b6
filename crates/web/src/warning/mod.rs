//! Early-warning pages and API (监测预警与平急转换) over `app::warning`: the route tables and the
//! navigation; the handlers live in one file per sub-area, named as in `crates/app/src/warning/`.

mod emergency;
mod fever_clinics;
mod pharmacies;
mod triggers;

use axum::Router;

use fangkong_domain::role::{Permission, Role};

use crate::AppState;
use crate::nav::{NavEntries, Section, link};

fn watches(role: Role) -> bool {
    role.allows(Permission::ViewWarning)
}

/// Fever clinics: their staff, and the commanders and duty rooms that watch them.
fn fever_clinics(role: Role) -> bool {
    role.allows(Permission::RunFeverClinic) || role.allows(Permission::ViewWarning)
}

/// Pharmacies: their staff, and the commanders and duty rooms that watch them.
fn pharmacy_roles(role: Role) -> bool {
    role.allows(Permission::ReportPharmacySales) || role.allows(Permission::ViewWarning)
}

/// Early warning's links (under 监测预警); each sub-area adds its own. The capability's home stays
/// the command office's (product.md §8 holds both).
pub(crate) const NAV: NavEntries = NavEntries {
    home: None,
    links: &[
        link(
            Section::Warning,
            "预警信息",
            "/warning/alerts",
            "warning_alerts",
            watches,
        ),
        link(
            Section::Warning,
            "平急转换",
            "/warning/emergency",
            "warning_emergency",
            watches,
        ),
        link(
            Section::Warning,
            "发热门诊",
            "/warning/clinics",
            "fever_clinics",
            fever_clinics,
        ),
        link(
            Section::Warning,
            "零售药店",
            "/warning/pharmacies",
            "pharmacies",
            pharmacy_roles,
        ),
    ],
};

pub fn pages() -> Router<AppState> {
    Router::new()
        .merge(fever_clinics::pages())
        .merge(pharmacies::pages())
        .merge(triggers::pages())
        .merge(emergency::pages())
}

pub fn api() -> Router<AppState> {
    Router::new()
        .merge(fever_clinics::api())
        .merge(pharmacies::api())
        .merge(triggers::api())
        .merge(emergency::api())
}

/// The template filters early warning's pages use.
pub(crate) mod filters {
    pub use crate::pages::filters::thousands;
}
