//! Mass nucleic-acid testing (全员/区域核酸检测), by the sub-areas of `app::mass_testing`: tube
//! barcodes, rounds (pool sizes, deadlines), the site planner, binding at the table, boxes, results
//! (delay classes, what a result sets off), coverage (infants, exemptions) and routine schedules for
//! key groups. Rules are data with their source (domain-rules.md §5, §7.4); the functions only
//! apply them.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::person::KeyGroup;

pub mod binding;
pub mod results;

mod boxes;
mod coverage;
mod rounds;
mod routine;
mod sites;
mod tubes;

pub use binding::{
    SAMPLING_CODE_PREFIX, SAMPLING_CODE_TAG_LEN, SamplePurpose, SamplingCode, ScanRejection,
};
pub use boxes::*;
pub use coverage::*;
pub use results::{ResultDelay, ResultRejection};
pub use rounds::*;
pub use routine::*;
pub use sites::*;
pub use tubes::*;
