//! The command office (指挥调度与值班报送): the situation picture of a jurisdiction read through the
//! other modules' own counters, what is late across modules, the epidemic curve and the map, daily
//! and zero reports, incident reports, bulletins, and duty with its spot checks. One file per
//! sub-area; each is an `impl App` block.

mod bulletins;
mod situation;

pub use bulletins::{BULLETIN_MAX_CHARS, BulletinEdit, BulletinView, parse_bulletin_day};
pub use situation::{
    AreaFigure, CheckpointFigures, ChildSituation, ControlFigures, KindCounts, RoundFigure,
    Situation,
};

mod late;

pub use late::{ITEMS_PER_KIND, LateGroup, LateItem, LateList};
pub mod duty;
pub mod spot_checks;
