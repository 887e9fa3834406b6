//! Epidemiological investigation (流调溯源), by the sub-areas of `app::investigation`: the regimes and
//! their tracing rules (`regimes`), cases with their kinds, deadlines, windows and state changes
//! (`cases`), exposures and contact classification by rule (`contacts`), transmission chains
//! (`chains`) and the public bulletin (`bulletin`). Rules: domain-rules.md §1 (contacts), §2
//! (regimes), §6 (2 h report, 24 h investigation).

use serde::{Deserialize, Serialize};

pub mod cases;

mod bulletin;
mod chains;
mod contacts;
mod regimes;

pub use bulletin::*;
pub use cases::{
    CaseDeadlines, CaseKind, CaseStatus, CaseWindow, DeadlineState, FoundBy, Severity,
    case_deadlines, case_window,
};
pub use chains::*;
pub use contacts::*;
pub use regimes::*;
