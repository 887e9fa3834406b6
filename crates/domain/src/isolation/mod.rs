//! Isolation, transfer and treatment (隔离管控、转运与救治), by the sub-areas of `app::isolation`:
//! measure plans per regime and person category and their schedules (`plans`), a measure's state
//! changes (`measures`), sites, rooms, carers and the capacity norm (`sites`), the allocation of people
//! to sites and rooms (`allocation`), transfers (`transfers`) and hospitals (`hospitals`).
//! Rules: domain-rules.md §2, §8.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::investigation::Regime;

pub use crate::checkpoint::{FEVER_THRESHOLD_C, TemperatureError, parse_temperature};

pub mod measures;

mod allocation;
mod hospitals;
mod plans;
mod sites;
mod transfers;

pub use allocation::*;
pub use hospitals::*;
pub use measures::MeasureStatus;
pub use plans::*;
pub use sites::*;
pub use transfers::*;
