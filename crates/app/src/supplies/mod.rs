//! Supplies and livelihood (物资保障与民生): reserves with days of cover and support between
//! regions, the supply whitelist with its vehicle passes (checked at the checkpoints), deliveries
//! to sealed and isolated households, gatherings filed and approved, vaccination coverage, and
//! cold-chain goods traced from port to market. One file per sub-area; each is an `impl App` block.

pub mod cold_chain;
pub mod deliveries;
pub mod gatherings;
pub mod passes;
pub mod reserves;
pub mod reserves_cover;
pub mod reserves_support;
pub mod vaccination;
pub mod vaccination_upload;
