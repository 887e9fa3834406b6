//! The command office's own rules (指挥调度与值班报送, domain-rules.md §10.1–10.2): what counts as
//! late and for whom, report deadlines, duty shifts and spot checks. Pure: the store loads the
//! state, these functions decide.

pub mod curve;
pub mod duty;
pub mod incidents;
pub mod late;
pub mod map;
pub mod reports;
