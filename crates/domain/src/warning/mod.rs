//! Early warning and emergency switching (监测预警与平急转换, domain-rules.md §7.1–7.3, §10.1): the
//! sentinels (fever clinics, pharmacies), the multi-point triggers that turn a signal into an
//! alert, and a region's command state with its emergency checklist. Pure: the store loads the
//! state, these functions decide.

pub mod emergency;
pub mod fever_clinics;
pub mod pharmacies;
pub mod triggers;
