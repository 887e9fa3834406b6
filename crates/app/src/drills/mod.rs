//! Emergency drills (应急演练): scenarios, runs in a sandbox, the measured steps and the scored after-action report.
