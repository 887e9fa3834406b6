//! The story tests' fixtures live in the shared test kit (`fangkong_testkit::world`): a fresh
//! database on either backend, the real divisions, a few grids in two townships of 藁城区, users of
//! several roles, a small known population, and `story!`.

pub use fangkong_testkit::story;
pub use fangkong_testkit::world::*;
