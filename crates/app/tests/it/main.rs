//! The application's stories, one test binary (linking the whole stack once instead of ten times):
//! each module is one capability's stories, on SQLite and, when FANGKONG_TEST_POSTGRES is set, on a
//! brand-new PostgreSQL database. `tests/imports.rs` stays a binary of its own: it measures the
//! process's peak memory, which other tests running beside it would raise.

#[macro_use]
mod support;

mod accounts;
mod analytics;
mod audited_changes;
mod check;
mod cold_chain;
mod command;
mod command_reports;
mod curve_map;
mod deliveries;
mod discharge;
mod drills;
mod duty;
mod fever_clinics;
mod gatherings;
mod health_code;
mod investigation;
mod isolation;
mod leads;
mod mass_testing;
mod moves;
mod passes;
mod past_dated;
mod person_file;
mod pharmacies;
mod reserves;
mod residents;
mod runs;
mod scope;
mod story;
mod today;
mod vaccination;
mod warning;
