//! The command office's tables: the situation counters, daily and incident reports, bulletins, duty
//! rosters and spot checks. One file per sub-area, named as in `app::command`.

pub mod incidents;
pub mod reports;
