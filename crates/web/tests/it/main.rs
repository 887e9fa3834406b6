//! The web layer over real HTTP, one test binary (linking the whole stack once instead of ten
//! times): a module per capability, plus the edge (limits, refusals, headers), the route × role ×
//! jurisdiction matrix and the pages. The browser tests are the binary `browser`.

mod support;

mod cold_chain;
mod command;
mod command_reports;
mod curve_map;
mod deliveries;
mod drills;
mod duty;
mod edge;
mod fever_clinics;
mod health_code;
mod investigation;
mod isolation;
mod leads;
mod mass_testing;
mod matrix;
mod pages;
mod passes;
mod person_file;
mod pharmacies;
mod reserves;
mod residents;
mod scope;
mod vaccination;
mod warning;
