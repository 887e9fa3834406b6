//! The demo's deliveries (物资配送) to sealed and isolated households, and gatherings (聚集性活动).

use anyhow::Result;
use fangkong_app::App;

use crate::demo_supplies::Place;

/// How each office uses this part: lines printed with the demo's logins.
pub const USAGE: &[&str] = &[];

/// Seeds this part's story and prints what it seeded.
pub async fn story(_app: &App, _place: &Place<'_>) -> Result<()> {
    Ok(())
}
