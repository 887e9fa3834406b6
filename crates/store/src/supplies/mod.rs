//! Supplies' tables (物资保障与民生): reserves and their ledger, the whitelist and its passes,
//! deliveries, gatherings, vaccine doses, cold-chain batches. One file per sub-area, named as in
//! `app::supplies`.

pub mod cold_chain;
pub mod deliveries;
pub mod gatherings;
pub mod passes;
pub mod reserves;
pub mod vaccination;
