//! The signed code's conformance and fuzz tests in one binary.

mod dcc_vectors;
mod fuzz;
