//! Supplies and livelihood (物资保障与民生, domain-rules.md §9, §10.3, §10.5): reserves against the
//! 30-day full-load rule, the supply whitelist and its vehicle passes, deliveries to sealed and
//! isolated households, gatherings filed for approval, vaccination coverage, and cold-chain goods.
//! One file per sub-area, named as in `app::supplies`; each holds that sub-area's pure rules.

pub mod cold_chain;
pub mod deliveries;
pub mod gatherings;
pub mod passes;
pub mod reserves;
pub mod vaccination;
