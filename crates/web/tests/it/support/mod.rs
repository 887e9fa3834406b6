//! The HTTP and browser tests' fixtures live in the shared test kit: a real fangkong server on a
//! free port (`fangkong_testkit::server`) and the WebDriver client (`fangkong_testkit::webdriver`).

pub use fangkong_testkit::server::*;
#[allow(unused_imports)] // the browser tests use it (they share this module)
pub use fangkong_testkit::webdriver;
