//! Tests of the real binary. Kill -9 tests: a server or an import killed mid-way loses nothing it
//! acknowledged, and retries add no duplicate. The demo story: `fangkong demo` plays one outbreak
//! that `fangkong check` finds consistent, and a browser walks it across modules. They take a
//! minute or more each, so they run when FANGKONG_TEST_SLOW is set (`.ci/run` sets it); without it
//! they say so and pass nothing off as run.

mod browser_story;
mod demo_story;
mod drill;
mod import;
mod sampling;

/// The kill tests run one at a time: each times its kill against a loaded server, which a second
/// server beside it on two cores would skew.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Whether the slow suites run; prints why not when they do not.
fn slow_suites_enabled() -> bool {
    let enabled = std::env::var_os("FANGKONG_TEST_SLOW").is_some();
    if !enabled {
        eprintln!("slow test of the binary not run: set FANGKONG_TEST_SLOW=1 (CI does)");
    }
    enabled
}
