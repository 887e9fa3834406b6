//! Early warning's tables: fever clinics and their visits, pharmacies and their sales, alerts, and
//! each region's command state with its emergency checklist. One file per sub-area, named as in
//! `app::warning`.

pub mod emergency;
pub mod fever_clinics;
pub mod pharmacies;
pub mod triggers;

use serde::Serialize;

/// A sentinel's count for one region and one Beijing day (`YYYY-MM-DD`): fever-clinic visits or
/// pharmacy sales, read by the spike triggers against their baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCount {
    pub region_code: String,
    pub day: String,
    pub count: i64,
}
