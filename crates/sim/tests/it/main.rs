//! The simulation's tests in one binary.

mod pings;
mod population;
