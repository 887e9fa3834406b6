//! The demo as a newcomer meets it: `fangkong demo` plays one outbreak of 藁城区 (January 2021)
//! through the app on the simulation clock, and what it leaves behind is one story — cases found
//! day by day from 2 January in 小果庄村 outwards, linked to their infectors, their contacts traced,
//! in rooms, their leads landed, the villages designated — and `fangkong check` finds nothing
//! wrong in it — at the end, and every simulated morning on the way.

use std::process::Command;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use fangkong_app::{App, FixedClock, Store};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fangkong"))
}

#[tokio::test]
async fn the_demo_plays_one_outbreak_in_time_and_the_audit_finds_it_consistent() {
    if !crate::slow_suites_enabled() {
        return;
    }
    let _alone = crate::ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo");
    let seeded = bin()
        .args([
            "demo",
            "--residents",
            "6000",
            "--no-serve",
            "--audit-daily",
            "--database",
        ])
        .arg(&db)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&seeded.stdout);
    assert!(
        seeded.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    assert!(stdout.contains("疫情推演"), "{stdout}");
    // The audit ran every simulated morning, and every one held.
    assert!(
        stdout.contains("每日一致性检查：10 天，0 天有不符"),
        "{stdout}"
    );

    // The audit over the database the demo left: every invariant holds.
    let check = bin()
        .arg("check")
        .arg("--database")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "fangkong check:\n{}",
        String::from_utf8_lossy(&check.stdout)
    );

    // The story, read back through the app at the demo's present.
    let present = Utc.with_ymd_and_hms(2021, 1, 12, 2, 0, 0).unwrap();
    let app = App::new(
        Store::open_sqlite_dir(&db).await.unwrap(),
        Arc::new(FixedClock::new(present)),
    );
    let commander = app.actor_for_user("commander", "test").await.unwrap();
    let mut cases = Vec::new();
    let mut before = None;
    loop {
        let page = app
            .cases(&commander, None, None, false, before)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        cases.extend(page);
    }
    let outbreak: Vec<_> = cases
        .iter()
        .filter(|c| c.kind == "confirmed" || c.kind == "asymptomatic")
        .collect();
    assert!(outbreak.len() >= 5, "{} cases", outbreak.len());
    // Found over days, the first on 2 January 2021 (Beijing), none before.
    let first = outbreak.iter().map(|c| c.found_at).min().unwrap();
    let last = outbreak.iter().map(|c| c.found_at).max().unwrap();
    let discovered = Utc
        .with_ymd_and_hms(2021, 1, 2, 2, 20, 0)
        .unwrap()
        .timestamp();
    assert_eq!(
        first, discovered,
        "the index case is found when the story says"
    );
    assert!(
        last - first >= 3 * 86_400,
        "cases found over days, not at one minute"
    );
    assert!(last <= present.timestamp());
    // Cases are linked to the cases that infected them, and found by more than one channel.
    assert!(outbreak.iter().any(|c| c.infector_case_id.is_some()));
    let channels: std::collections::HashSet<_> =
        outbreak.iter().map(|c| c.found_by_label).collect();
    assert!(channels.len() >= 2, "{channels:?}");
    // The village of the index case is a risk area, designated the day it was found.
    let areas = app.risk_areas(&commander, true).await.unwrap();
    assert!(
        areas.iter().any(|a| a.area.place_name.contains("小果庄")),
        "{:?}",
        areas.iter().map(|a| &a.area.place_name).collect::<Vec<_>>()
    );
    // Contacts were traced and taken into rooms: people checked in at the sites, over days.
    let measures = app
        .store_for_tools()
        .measures_in(("130109", "130109~"), &[], 100_000)
        .await
        .unwrap();
    let check_ins: Vec<i64> = measures.iter().filter_map(|m| m.checked_in_at).collect();
    assert!(!check_ins.is_empty(), "nobody was ever in a room");
    let (earliest, latest) = (
        check_ins.iter().min().unwrap(),
        check_ins.iter().max().unwrap(),
    );
    assert!(latest - earliest >= 2 * 86_400, "check-ins over days");
    assert!(
        *earliest > discovered,
        "nobody checked in before the outbreak was known"
    );
    // Early warning: the fever clinic's alert proposed the switch, the commander accepted it 40
    // minutes after the finding, and the county's checklist is part done, part open.
    let state = app.command_state_view(&commander, "130109").await.unwrap();
    assert!(state.emergency, "the county entered emergency command");
    let switch = state.history.last().expect("the switch");
    let proposal = switch.alert_id.expect("proposed by an alert");
    let alert = app.alert(&commander, proposal).await.unwrap();
    assert_eq!(alert.channel, "发热门诊阳性");
    assert!(!alert.open, "accepting the proposal closed the alert");
    let done = state.tasks.iter().filter(|t| t.done).count();
    assert!(
        done >= 3 && done < state.tasks.len(),
        "a checklist half done: {done} of {}",
        state.tasks.len()
    );
    assert!(state.tasks.iter().any(|t| t.done && t.automatic));
    assert!(state.tasks.iter().any(|t| t.done && !t.automatic));
    // The audit, in process too: clean.
    let report = app
        .check_consistency(chrono::Duration::zero())
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");
}
