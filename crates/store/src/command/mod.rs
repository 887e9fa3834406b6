//! The command office's tables: the situation counters, daily and incident reports, bulletins, duty
//! rosters and spot checks. One file per sub-area, named as in `app::command`.

mod bulletins;
mod situation;

pub use bulletins::BulletinRecord;
pub use situation::{ChildCount, MeasureCount};
mod curve;
pub mod duty;
pub mod incidents;
pub mod reports;
