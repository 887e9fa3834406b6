//! Measuring a drill (评分): each observed item of a step — a case, a contact, a lead, a person to
//! move — gets its deadline from the step's limit, is on time, late, missed or not yet due at the
//! drill's end, and says why when late. The score is transparent: each step's on-time share of its
//! due items, weighted by the step's weight, scaled to 100; a step with nothing due counts for
//! nothing (its weight is left out). A team's score is the same over its own steps.

use serde::{Deserialize, Serialize};

use super::{DrillStep, DrillTeam, Scenario};
use crate::command::late::minutes_words;

crate::coded_enum! {
    /// Where a measured item stands at the drill's end (or now, while it runs).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum StepState {
        OnTime => "on_time", "按时完成",
        Late => "late", "超时完成",
        Missed => "missed", "超时未完成",
        Pending => "pending", "未到期",
    }
}

/// One item the sandbox's records show: when its clock started and when it was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    pub step: DrillStep,
    /// What it is, in words without personal data ("病例 藁城-0003", "线索#12").
    pub subject: String,
    pub started_at: i64,
    pub done_at: Option<i64>,
}

/// An item measured against its deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasuredStep {
    pub step: DrillStep,
    pub team: DrillTeam,
    pub subject: String,
    pub started_at: i64,
    pub due_at: i64,
    pub done_at: Option<i64>,
    pub state: StepState,
    /// Minutes past the deadline (0 when on time or not yet due).
    pub late_minutes: i64,
    /// Why it was late, in words ('' when on time).
    pub why: String,
}

/// Measures the observations at `now` (the drill's end, or the moment the report is read).
pub fn measure(observations: &[Observation], now: i64, scenario: &Scenario) -> Vec<MeasuredStep> {
    let mut out: Vec<MeasuredStep> = observations
        .iter()
        .map(|o| {
            let due_at = o.started_at + o.step.limit_hours() * 3600;
            let (state, late_seconds) = match o.done_at {
                Some(done) if done <= due_at => (StepState::OnTime, 0),
                Some(done) => (StepState::Late, done - due_at),
                None if now > due_at => (StepState::Missed, now - due_at),
                None => (StepState::Pending, 0),
            };
            let late_minutes = late_seconds / 60;
            MeasuredStep {
                step: o.step,
                team: o.step.team(),
                subject: o.subject.clone(),
                started_at: o.started_at,
                due_at,
                done_at: o.done_at,
                state,
                late_minutes,
                why: why(o.step, state, late_minutes, scenario),
            }
        })
        .collect();
    out.sort_by_key(|a| (a.step, a.started_at));
    out
}

fn why(step: DrillStep, state: StepState, late_minutes: i64, scenario: &Scenario) -> String {
    let late = minutes_words(late_minutes);
    let mut words = match state {
        StepState::OnTime | StepState::Pending => return String::new(),
        StepState::Late => format!("超时 {late} 完成"),
        StepState::Missed => format!("演练结束时仍未完成，已超时 {late}"),
    };
    let shortfall = scenario.room_shortfall();
    if matches!(step, DrillStep::Room | DrillStep::Transfer) && shortfall > 0 {
        words.push_str(&format!(
            "；隔离房间不足：预备 {} 间，需集中隔离 {} 人，缺 {shortfall} 间",
            scenario.rooms, scenario.to_transfer
        ));
    } else if step == DrillStep::ContactsListed && state == StepState::Missed {
        words.push_str("；流调未判定或未录入");
    } else if step == DrillStep::LeadLanded && state == StepState::Missed {
        words.push_str("；网格未反馈管控结果");
    }
    words
}

/// A step's figures in the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepScore {
    pub step: DrillStep,
    pub team: DrillTeam,
    pub weight: u32,
    pub items: i64,
    pub on_time: i64,
    pub late: i64,
    pub missed: i64,
    pub pending: i64,
    /// On-time share of the due items, in per mille (None when nothing was due).
    pub on_time_permille: Option<i64>,
}

/// A team's figures: its items and its score over its own steps (tenths of a point, 0–1000).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamScore {
    pub team: DrillTeam,
    pub items: i64,
    pub on_time: i64,
    pub late: i64,
    pub missed: i64,
    pub score_tenths: Option<i64>,
}

/// The scored after-action figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    /// 0–1000: tenths of a point out of 100 (None when nothing was due yet).
    pub score_tenths: Option<i64>,
    pub steps: Vec<StepScore>,
    pub teams: Vec<TeamScore>,
}

/// The weighted on-time share over `steps` (tenths of a point), None when none had items due.
fn weighted(steps: &[&StepScore]) -> Option<i64> {
    let (mut sum, mut weights) = (0.0f64, 0u32);
    for s in steps {
        if let Some(permille) = s.on_time_permille {
            sum += f64::from(s.weight) * permille as f64;
            weights += s.weight;
        }
    }
    (weights > 0).then(|| (sum / f64::from(weights)).round() as i64)
}

/// Scores the measured items: every step and every team, in the enums' order.
pub fn score(measured: &[MeasuredStep]) -> Scorecard {
    let steps: Vec<StepScore> = DrillStep::ALL
        .iter()
        .map(|&step| {
            let of = |state: StepState| {
                measured
                    .iter()
                    .filter(|m| m.step == step && m.state == state)
                    .count() as i64
            };
            let (on_time, late, missed, pending) = (
                of(StepState::OnTime),
                of(StepState::Late),
                of(StepState::Missed),
                of(StepState::Pending),
            );
            let due = on_time + late + missed;
            StepScore {
                step,
                team: step.team(),
                weight: step.weight(),
                items: due + pending,
                on_time,
                late,
                missed,
                pending,
                on_time_permille: (due > 0).then(|| (on_time * 1000 + due / 2) / due),
            }
        })
        .collect();
    let teams = DrillTeam::ALL
        .iter()
        .map(|&team| {
            let own: Vec<&StepScore> = steps.iter().filter(|s| s.team == team).collect();
            TeamScore {
                team,
                items: own.iter().map(|s| s.items).sum(),
                on_time: own.iter().map(|s| s.on_time).sum(),
                late: own.iter().map(|s| s.late).sum(),
                missed: own.iter().map(|s| s.missed).sum(),
                score_tenths: weighted(&own),
            }
        })
        .collect();
    Scorecard {
        score_tenths: weighted(&steps.iter().collect::<Vec<_>>()),
        steps,
        teams,
    }
}

/// A score in tenths as people read it ("87.5", or "—" when nothing was due).
pub fn score_words(tenths: Option<i64>) -> String {
    match tenths {
        Some(t) => format!("{}.{}", t / 10, t % 10),
        None => "—".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::shipped_scenario;
    use super::*;

    const H: i64 = 3600;

    fn obs(step: DrillStep, started: i64, done: Option<i64>) -> Observation {
        Observation {
            step,
            subject: "x".into(),
            started_at: started,
            done_at: done,
        }
    }

    #[test]
    fn each_item_is_on_time_late_missed_or_pending_by_its_steps_limit() {
        let small = shipped_scenario("small").unwrap();
        let now = 100 * H;
        // (step, started, done, state, late minutes)
        let table: &[(DrillStep, i64, Option<i64>, StepState, i64)] = &[
            (DrillStep::CaseReport, 0, Some(2 * H), StepState::OnTime, 0),
            (
                DrillStep::CaseReport,
                0,
                Some(2 * H + 600),
                StepState::Late,
                10,
            ),
            (DrillStep::CaseReport, 0, None, StepState::Missed, 98 * 60),
            (DrillStep::CaseReport, 99 * H, None, StepState::Pending, 0),
            (
                DrillStep::ContactsListed,
                0,
                Some(24 * H),
                StepState::OnTime,
                0,
            ),
            (
                DrillStep::ContactsListed,
                0,
                Some(30 * H),
                StepState::Late,
                360,
            ),
            (DrillStep::LeadLanded, 80 * H, None, StepState::Pending, 0),
            (DrillStep::LeadLanded, 70 * H, None, StepState::Missed, 360),
            (DrillStep::Transfer, 0, Some(12 * H), StepState::OnTime, 0),
            (DrillStep::Transfer, 0, Some(13 * H), StepState::Late, 60),
            (DrillStep::Room, 0, Some(25 * H), StepState::Late, 60),
            (
                DrillStep::PositiveToCase,
                0,
                Some(6 * H + 60),
                StepState::Late,
                1,
            ),
            (DrillStep::FirstReport, 0, Some(H), StepState::OnTime, 0),
        ];
        for &(step, started, done, state, late) in table {
            let m = &measure(&[obs(step, started, done)], now, &small)[0];
            assert_eq!(
                (m.state, m.late_minutes),
                (state, late),
                "{step:?} {started} {done:?}"
            );
            assert_eq!(m.team, step.team());
            assert_eq!(m.due_at, started + step.limit_hours() * H);
            assert_eq!(
                m.why.is_empty(),
                matches!(state, StepState::OnTime | StepState::Pending)
            );
        }
    }

    #[test]
    fn a_late_room_says_the_rooms_were_short_when_the_scenario_has_too_few() {
        let full = shipped_scenario("henan_full").unwrap();
        let m = &measure(&[obs(DrillStep::Room, 0, None)], 100 * H, &full)[0];
        assert!(m.why.contains("隔离房间不足"), "{}", m.why);
        assert!(m.why.contains("缺 300 间"), "{}", m.why);
        let enough = shipped_scenario("city_district").unwrap();
        let m = &measure(&[obs(DrillStep::Room, 0, None)], 100 * H, &enough)[0];
        assert!(!m.why.contains("隔离房间不足"), "{}", m.why);
        assert!(m.why.contains("仍未完成"));
    }

    #[test]
    fn the_score_weights_each_steps_on_time_share_and_leaves_out_steps_with_nothing_due() {
        let small = shipped_scenario("small").unwrap();
        let now = 100 * H;
        // (observations, expected total in tenths)
        let table: Vec<(Vec<Observation>, Option<i64>)> = vec![
            (vec![], None),
            // Only what is not yet due: no score.
            (vec![obs(DrillStep::CaseReport, 99 * H, None)], None),
            // Everything on time: 100.
            (
                vec![
                    obs(DrillStep::CaseReport, 0, Some(H)),
                    obs(DrillStep::LeadLanded, 0, Some(H)),
                ],
                Some(1000),
            ),
            // Case reports half on time (weight 15), leads all on time (weight 20):
            // (15 × 500 + 20 × 1000) / 35 = 785.7 → 786.
            (
                vec![
                    obs(DrillStep::CaseReport, 0, Some(H)),
                    obs(DrillStep::CaseReport, 0, Some(3 * H)),
                    obs(DrillStep::LeadLanded, 0, Some(H)),
                ],
                Some(786),
            ),
            // A missed item scores like a late one: nothing.
            (vec![obs(DrillStep::Room, 0, None)], Some(0)),
            // One of three on time: 333.
            (
                vec![
                    obs(DrillStep::Transfer, 0, Some(H)),
                    obs(DrillStep::Transfer, 0, Some(20 * H)),
                    obs(DrillStep::Transfer, 0, None),
                ],
                Some(333),
            ),
        ];
        for (observations, expected) in table {
            let card = score(&measure(&observations, now, &small));
            assert_eq!(card.score_tenths, expected, "{observations:?}");
        }
    }

    #[test]
    fn each_team_is_scored_over_its_own_steps() {
        let small = shipped_scenario("small").unwrap();
        let card = score(&measure(
            &[
                obs(DrillStep::CaseReport, 0, Some(H)),
                obs(DrillStep::ContactsListed, 0, Some(30 * H)),
                obs(DrillStep::LeadLanded, 0, None),
            ],
            100 * H,
            &small,
        ));
        let team = |t: DrillTeam| card.teams.iter().find(|s| s.team == t).unwrap().clone();
        // 流调队: report on time (15), contacts late (20): 15 × 1000 / 35 = 428.6 → 429.
        let epi = team(DrillTeam::Epidemiology);
        assert_eq!(
            (epi.items, epi.on_time, epi.late, epi.score_tenths),
            (2, 1, 1, Some(429))
        );
        let grid = team(DrillTeam::Grid);
        assert_eq!((grid.missed, grid.score_tenths), (1, Some(0)));
        assert_eq!(team(DrillTeam::Site).score_tenths, None);
        assert_eq!(card.steps.len(), DrillStep::ALL.len());
        assert_eq!(score_words(Some(786)), "78.6");
        assert_eq!(score_words(None), "—");
    }
}
