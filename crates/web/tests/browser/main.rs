//! Real browsers (Debian's chromium driven through chromedriver's WebDriver API), one binary: a
//! commander's drill-down, a checkpoint officer, the offline checking page and a sampler. They run
//! when FANGKONG_TEST_BROWSER is set (CI sets it and installs chromium and chromium-driver); when
//! set, a missing browser fails the tests instead of skipping them. Each test's browser ends with it.

#[path = "../it/support/mod.rs"]
mod support;

mod checkpoint;
mod commander;
mod offline_verify;
mod passes;
mod phone;
mod sampling;
