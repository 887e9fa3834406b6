//! The demo's supplies and livelihood (物资保障与民生): each part seeds its story over the outbreak
//! already played (reserves consumed by the testing and the sites, passes checked at the 环京
//! checkpoint, deliveries to the sealed households, a gathering refused, the elderly not yet
//! vaccinated, a traced cold-chain batch) and prints what it seeded; then how each office uses it.

use anyhow::Result;
use fangkong_app::App;
use fangkong_domain::region::RegionCode;

/// Where the supplies' story happens: the demo's county, its outbreak township, the index village
/// and the grid worker's grid.
pub struct Place<'a> {
    pub county: &'a RegionCode,
    pub township: &'a RegionCode,
    pub village: &'a str,
    pub grid: &'a RegionCode,
}

/// Seeds every part, in the order a command office would look at them.
pub async fn story(app: &App, place: &Place<'_>) -> Result<()> {
    crate::demo_reserves::story(app, place).await?;
    crate::demo_passes::story(app, place).await?;
    crate::demo_deliveries::story(app, place).await?;
    crate::demo_vaccination::story(app, place).await?;
    Ok(())
}

/// How each office uses its part (printed with the logins).
pub fn usage() -> Vec<&'static str> {
    [
        crate::demo_reserves::USAGE,
        crate::demo_passes::USAGE,
        crate::demo_deliveries::USAGE,
        crate::demo_vaccination::USAGE,
    ]
    .into_iter()
    .flatten()
    .copied()
    .collect()
}
