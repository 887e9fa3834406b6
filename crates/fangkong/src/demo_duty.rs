//! The demo's duty (值班值守): duty officers for the command offices the story names, a complete
//! roster (leader, A and B on both shifts) for each day, and spot checks whose outcome the story
//! decides (so it can show one that fails). Everything goes through the real `app` functions.
//!
//! `demo_outbreak` calls [`seed_rosters`] once the offices exist and [`spot_check`] while the story
//! plays; until the integrator wires them in, only the test below calls them.

use anyhow::{Context, Result, anyhow};
use chrono::{Duration, NaiveDate};
use fangkong_app::auth::NewUser;
use fangkong_app::command::duty::RosterForm;
use fangkong_app::command::spot_checks::{SpotCheckForm, SpotCheckView, SpotResultForm};
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

use crate::demo::DEMO_PASSWORD;

/// What [`seed_rosters`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DutySeeded {
    /// Duty officers created (existing ones are reused).
    pub users_created: usize,
    /// Roster lines written (lines already there are kept).
    pub lines: usize,
}

/// The six people of an office's duty: a day team and a night team (leader, A, B).
const NAMES: [&str; 6] = ["周志刚", "吴敏", "郑海燕", "王立新", "冯静", "陈磊"];
/// The slots of a day, in the order the people rotate through them.
const SLOTS: [(&str, &str); 6] = [
    ("day", "leader"),
    ("day", "a"),
    ("day", "b"),
    ("night", "leader"),
    ("night", "a"),
    ("night", "b"),
];

/// Makes sure each office has six duty officers (`duty_<office>_<n>`, the demo password) and fills
/// a complete roster — leader, A and B on the day and the night shift — for `days` days from
/// `from`, the people rotating one slot a day. `commander` must hold `ManageDuty` over the offices.
/// Lines already on the roster are kept, so a second run adds nothing.
pub async fn seed_rosters(
    app: &App,
    commander: &Actor,
    offices: &[&str],
    from: NaiveDate,
    days: u32,
) -> Result<DutySeeded> {
    let mut seeded = DutySeeded::default();
    for office in offices {
        let code = RegionCode::parse(office).map_err(|e| anyhow!("{office}: {e}"))?;
        let short = fangkong_domain::region::short_name(&app.region_name(&code).await?).to_string();
        let mut people = Vec::with_capacity(NAMES.len());
        for (n, name) in NAMES.iter().enumerate() {
            let username = format!("duty_{office}_{}", n + 1);
            let existing = app.store_for_tools().user_by_username(&username).await?;
            let id = match existing {
                Some(user) => user.id,
                None => {
                    seeded.users_created += 1;
                    app.create_user_unchecked(
                        &NewUser {
                            username: username.clone(),
                            display_name: format!("{short}值班员 {name}"),
                            role: Role::DutyOfficer,
                            jurisdiction: code.clone(),
                            password: DEMO_PASSWORD.to_string(),
                        },
                        "demo",
                    )
                    .await
                    .with_context(|| format!("duty officer {username}"))?
                }
            };
            people.push(id);
        }
        for day in 0..days {
            let date = from + Duration::days(i64::from(day));
            for (slot, (shift, role)) in SLOTS.iter().enumerate() {
                let person = people[(slot + day as usize) % people.len()];
                let line = RosterForm {
                    region_code: office.to_string(),
                    date: date.to_string(),
                    shift: shift.to_string(),
                    role: role.to_string(),
                    user_id: person.to_string(),
                    duty_line: format!("0311-8{:03}{:04}", slot, day % 10_000),
                    ..RosterForm::default()
                };
                match app.add_roster_line(commander, &line).await {
                    Ok(_) => seeded.lines += 1,
                    // Already rostered (a second run): kept as it is.
                    Err(AppError::Conflict(_)) => {}
                    Err(e) => return Err(anyhow!("roster {office} {date} {shift} {role}: {e}")),
                }
            }
        }
    }
    Ok(seeded)
}

/// A spot check of `office` by `checker` (`ManageDuty`, above the office) whose outcome is given:
/// answered `answered_after_minutes` after the call (the call is entered that many minutes back,
/// so the answer is now; past the 5-minute limit it is late) by the A role on duty, knowing the
/// situation or not; `None`: nobody answered. The office needs someone on duty now.
pub async fn spot_check(
    app: &App,
    checker: &Actor,
    office: &str,
    answered_after_minutes: Option<i64>,
    knew_situation: bool,
) -> Result<SpotCheckView> {
    let back = answered_after_minutes.unwrap_or(0).clamp(0, 60);
    let called_at = if back > 0 {
        fangkong_domain::time::beijing_label(app.now() - Duration::minutes(back))
    } else {
        String::new()
    };
    let called = app
        .call_spot_checks(
            checker,
            &SpotCheckForm {
                region_code: office.to_string(),
                called_at,
                ..SpotCheckForm::default()
            },
        )
        .await
        .map_err(|e| anyhow!("spot check of {office}: {e}"))?;
    let check = called
        .first()
        .ok_or_else(|| anyhow!("spot check of {office}: nothing called"))?;
    let answerer = check
        .on_duty
        .iter()
        .find(|(_, label)| label.ends_with("A角"))
        .or(check.on_duty.first())
        .map(|(id, _)| id.to_string())
        .unwrap_or_default();
    let result = match answered_after_minutes {
        Some(_) => SpotResultForm {
            answered: "yes".into(),
            answered_by: answerer,
            answered_by_name: "值班室".into(),
            knew_situation: if knew_situation { "yes" } else { "no" }.into(),
            note: String::new(),
            ..SpotResultForm::default()
        },
        None => SpotResultForm {
            answered: "no".into(),
            note: "值班电话无人接听".into(),
            ..SpotResultForm::default()
        },
    };
    app.record_spot_check(checker, check.id, &result)
        .await
        .map_err(|e| anyhow!("spot check result of {office}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use fangkong_app::{FixedClock, Store};
    use std::sync::Arc;

    #[tokio::test]
    async fn the_demo_rosters_are_complete_and_a_spot_check_fails_as_told() {
        let temp = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_dir(temp.path()).await.unwrap();
        // 2021-01-06 10:00 Beijing.
        let clock = FixedClock::new(chrono::Utc.with_ymd_and_hms(2021, 1, 6, 2, 0, 0).unwrap());
        let app = App::new(store, Arc::new(clock));
        app.load_divisions().await.unwrap();
        let commander = fangkong_seed::seed_actor_as(Role::Commander, "演示指挥部");
        let county = Actor::seeding(
            Role::Commander,
            RegionCode::parse("130109").unwrap(),
            "c",
            "区指挥部",
        );
        let offices = ["130109100", "130109110"];
        let from = app.today();
        let seeded = seed_rosters(&app, &commander, &offices, from, 3)
            .await
            .unwrap();
        assert_eq!(seeded.users_created, 12);
        assert_eq!(seeded.lines, 2 * 3 * 6);
        let again = seed_rosters(&app, &commander, &offices, from, 3)
            .await
            .unwrap();
        assert_eq!(again, DutySeeded::default(), "a second run adds nothing");
        for office in offices {
            let roster = app.office_roster(&county, office, "", "").await.unwrap();
            for day in roster.days.iter().take(3) {
                assert!(day.gaps.is_empty(), "{office} {}: {:?}", day.date, day.gaps);
                assert_eq!(day.lines.len(), 6);
            }
        }
        let late = spot_check(&app, &county, "130109100", Some(12), true)
            .await
            .unwrap();
        assert!(!late.passed);
        assert_eq!(late.failures, vec!["抽查超时应答"]);
        let good = spot_check(&app, &county, "130109110", Some(2), true)
            .await
            .unwrap();
        assert!(good.passed, "{good:?}");
        let silent = spot_check(&app, &county, "130109110", None, false)
            .await
            .unwrap();
        assert_eq!(silent.failures, vec!["抽查未应答"]);
        let list = app.accountability(&county).await.unwrap();
        assert_eq!(list.len(), 2);
    }
}
