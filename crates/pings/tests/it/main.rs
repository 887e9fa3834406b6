//! The pings crate's tests in one binary (each test file linking arrow and parquet on its own cost a link each).

mod common;
mod companions;
mod feed;
mod layout;
mod queries;
mod watch;
