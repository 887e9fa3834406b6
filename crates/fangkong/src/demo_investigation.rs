//! The demo's outbreak investigation (流调): the single positives of the demo round become cases,
//! and an outbreak that began in 小果庄村 a week ago is traced through the app exactly as an
//! epidemiologist would enter it — cases in several generations with their infectors, trajectories,
//! household and workplace close contacts, secondary contacts at home, general contacts, cases
//! reported late and investigations still open.

use anyhow::Result;
use chrono::{Duration, Utc};
use fangkong_app::investigation::{CaseAction, CaseForm, ContactForm, StopForm};
use fangkong_app::records::ResidentRecord;
use fangkong_app::{App, china_offset};

/// What the demo traced.
pub struct SeededInvestigation {
    pub cases: usize,
    pub contacts: usize,
}

fn at(hours_ago: i64) -> String {
    (Utc::now() - Duration::hours(hours_ago))
        .with_timezone(&china_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn date(hours_ago: i64) -> String {
    (Utc::now() - Duration::hours(hours_ago))
        .with_timezone(&china_offset())
        .format("%Y-%m-%d")
        .to_string()
}

/// Households of `grids` (in order), each a list of residents.
async fn households(app: &App, grids: &[String]) -> Result<Vec<Vec<ResidentRecord>>> {
    let mut out: Vec<Vec<ResidentRecord>> = Vec::new();
    for grid in grids {
        let people = app
            .store_for_tools()
            .residents_in_grid(grid, 0, 2_000)
            .await?;
        let mut current: Vec<ResidentRecord> = Vec::new();
        for person in people {
            if current
                .first()
                .is_some_and(|p| p.household_number != person.household_number)
            {
                out.push(std::mem::take(&mut current));
            }
            current.push(person);
        }
        if !current.is_empty() {
            out.push(current);
        }
    }
    Ok(out)
}

/// Traces the outbreak. `grids` are grids of the outbreak township, the outbreak village's first.
pub async fn seed(app: &App, grids: &[String]) -> Result<SeededInvestigation> {
    let epi = app.actor_for_user("epidemiologist", "demo").await?;
    // The demo round's single positives open initial-screen cases first.
    app.sync_case_events().await?;
    let homes = households(app, grids).await?;
    if homes.len() < 40 {
        return Ok(SeededInvestigation {
            cases: 0,
            contacts: 0,
        });
    }
    let mut contacts = 0usize;
    let mut cases: Vec<(i64, usize, i64)> = Vec::new(); // (case id, household index, found hours ago)
    // 36 cases in four generations over a week: the index case, then each case infects the next
    // ones (a household member or a workmate in another household), found ever more recently.
    let generations: [(usize, i64); 4] = [(1, 168), (5, 130), (12, 80), (18, 30)];
    let mut household_cursor = 0usize;
    for (generation, (count, found_hours_ago)) in generations.iter().enumerate() {
        for k in 0..*count {
            let home = household_cursor % homes.len();
            // A small demo population wraps round its households: take the next member, so no one
            // is opened a second case.
            let round = household_cursor / homes.len();
            household_cursor += 3;
            let Some(person) = homes[home].get(round) else {
                continue;
            };
            let found = found_hours_ago - (k as i64 % 6) * 4;
            let infector = if generation == 0 {
                String::new()
            } else {
                // Infected by a case of the previous generation.
                let previous: Vec<_> = cases.iter().filter(|(_, _, h)| *h > found + 12).collect();
                previous
                    .get(k % previous.len().max(1))
                    .map(|(id, _, _)| id.to_string())
                    .unwrap_or_default()
            };
            let asymptomatic = k % 3 == 2;
            let form = CaseForm {
                kind: if asymptomatic {
                    "asymptomatic"
                } else {
                    "confirmed"
                }
                .into(),
                id_number: person.id_number.to_string(),
                id_type: person.id_type.clone(),
                onset_date: if asymptomatic {
                    String::new()
                } else {
                    date(found + 24)
                },
                first_positive_at: if asymptomatic {
                    at(found + 2)
                } else {
                    String::new()
                },
                found_by: match k % 4 {
                    0 => "fever_clinic",
                    1 => "contact_screening",
                    2 => "mass_testing",
                    _ => "isolation_site_test",
                }
                .into(),
                found_at: at(found),
                severity: if asymptomatic { "none" } else { "mild" }.into(),
                hospital: "石家庄市第五医院".into(),
                isolated_at: at(found),
                infector,
                case_key: format!("demo-case-{generation}-{k}"),
                ..Default::default()
            };
            let case = match app.open_case(&epi, &form).await {
                Ok(case) => case,
                Err(refused) => {
                    println!("  （病例 {generation}-{k} 未登记：{refused}）");
                    continue;
                }
            };
            // Older cases were reported and investigated (one late); the newest wait.
            if found > 40 {
                app.update_case(&epi, case, &CaseAction::Reported).await?;
                app.update_case(&epi, case, &CaseAction::Investigated)
                    .await?;
            } else if k % 2 == 0 {
                app.update_case(&epi, case, &CaseAction::Reported).await?;
            }
            cases.push((case, home, found));
        }
    }
    for (n, (case, home, found)) in cases.iter().enumerate() {
        let household = &homes[*home];
        // Trajectory: home, work, a market (public), a clinic for the symptomatic.
        let stops = [
            ("home", "居住地", found + 60, found + 50, false),
            ("work", "工作单位（车间）", found + 48, found + 40, false),
            ("venue", "增村镇综合市场", found + 30, found + 29, true),
            (
                "medical",
                "藁城区人民医院发热门诊",
                found + 3,
                found + 2,
                true,
            ),
        ];
        for (kind, name, from, to, public) in stops {
            app.add_case_stop(
                &epi,
                *case,
                &StopForm {
                    place_kind: kind.into(),
                    place_name: name.into(),
                    from_at: at(from),
                    to_at: at(to),
                    public,
                    key: format!("demo-{case}-{kind}"),
                    ..Default::default()
                },
            )
            .await?;
        }
        // Household: close contacts (同住).
        let mut close_ids = Vec::new();
        for member in household.iter().skip(1) {
            if let Ok((id, _)) = app
                .add_contact(
                    &epi,
                    *case,
                    &exposure(member, "shared_home", found + 30, found + 1),
                )
                .await
            {
                contacts += 1;
                close_ids.push((id, *found));
            }
        }
        // Workmates from the next households: close contacts (同车间), one protected (general).
        for (j, other) in homes
            .iter()
            .skip(home + 1)
            .take(3)
            .filter_map(|h| h.first())
            .enumerate()
        {
            let mut form = exposure(other, "same_enclosed_space", found + 48, found + 40);
            form.protected = j == 2;
            if let Ok((id, c)) = app.add_contact(&epi, *case, &form).await {
                contacts += 1;
                if c.category.code() == "close" {
                    close_ids.push((id, *found));
                }
            }
        }
        // A market visitor: a general contact.
        if let Some(visitor) = homes.get(home + 5).and_then(|h| h.get(1))
            && app
                .add_contact(
                    &epi,
                    *case,
                    &exposure(visitor, "public_place", found + 30, found + 29),
                )
                .await
                .is_ok()
        {
            contacts += 1;
        }
        // Secondary contacts: the household of a workmate who is a close contact.
        if let Some((via, _)) = close_ids.last() {
            let workmate_home = homes.get(home + 2).cloned().unwrap_or_default();
            for member in workmate_home.iter().skip(1).take(3) {
                let mut form = exposure(member, "shared_home", found + 35, found + 2);
                form.via_contact_id = via.to_string();
                if app.add_contact(&epi, *case, &form).await.is_ok() {
                    contacts += 1;
                }
            }
        }
        // The first cases have recovered.
        if n < 2 {
            app.update_case(
                &epi,
                *case,
                &CaseAction::Discharge {
                    occurred_at: String::new(),
                },
            )
            .await?;
        }
    }
    Ok(SeededInvestigation {
        cases: cases.len(),
        contacts,
    })
}

fn exposure(
    person: &ResidentRecord,
    kind: &str,
    first_hours_ago: i64,
    last_hours_ago: i64,
) -> ContactForm {
    ContactForm {
        id_type: person.id_type.clone(),
        id_number: person.id_number.to_string(),
        exposure_kind: kind.into(),
        first_exposure_at: at(first_hours_ago),
        last_exposure_at: at(last_hours_ago),
        ..Default::default()
    }
}
