//! Pure types and rules of fangkong.
//!
//! Nothing in this crate touches the disk, the network, the clock or a random
//! source: every rule that depends on "today" takes it as an argument, so the
//! same input always gives the same answer and the rules can be tested exactly.

pub mod analytics;
pub mod basis;
pub mod checkpoint;
pub mod coded_enum;
pub mod command;
pub mod drills;
pub mod echo;
pub mod health_code;
pub mod ids;
pub mod investigation;
pub mod isolation;
pub mod lab_result;
pub mod leads;
pub mod mass_testing;
pub mod person;
pub mod person_event;
pub mod person_status;
pub mod personal;
pub mod phone;
pub mod region;
pub mod resident_row;
pub mod risk_area;
pub mod role;
pub mod supplies;
pub mod time;
pub mod warning;
