//! Early warning and emergency switching (监测预警与平急转换): fever clinics' closed loop,
//! pharmacies' real-name sales, the multi-point triggers and their alerts, and a region's switch
//! between normal and emergency command with its checklist. One file per sub-area; each is an
//! `impl App` block.

pub mod emergency;
pub mod fever_clinics;
pub mod pharmacies;
pub mod pharmacies_upload;
pub mod triggers;
