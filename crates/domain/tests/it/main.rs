//! The domain's FHIR document tests in one binary.

mod fhir_examples;
mod fhir_fuzz;
