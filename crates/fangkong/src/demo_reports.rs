//! The demo's command reports (日报告、零报告、重大事项报告), for the living outbreak to call as its
//! days pass: a duty officer files their office's daily report from the system's figures (a zero
//! report when nothing is new, if asked), on time or a given number of minutes late; an office files
//! an incident's first report, and offices above receive it. Everything goes through the real `app`
//! functions; the only thing done here besides is moving the simulation clock forward to the moment
//! a report is filed (never back).

// The living outbreak (demo_outbreak) calls these once it is wired in; until then only the test
// below does.

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use fangkong_app::command::{DailyReportForm, DailyReportView, IncidentForm};
use fangkong_app::{Actor, App, Clock, SimulationClock};
use fangkong_domain::command::incidents::IncidentKind;
use fangkong_domain::command::reports::{self as rules, Figure, ReportKind};

/// When `office`'s report of `day` is due (its level's due time the next morning, Beijing).
pub async fn report_due_at(app: &App, officer: &Actor, day: NaiveDate) -> Result<DateTime<Utc>> {
    let due = app
        .report_due_time(officer.jurisdiction.level())
        .await
        .context("due time")?;
    Ok(rules::due_at(day, due))
}

/// Files `officer`'s office's report of `day` with the system's figures as of the cut-off: a zero
/// report when `zero_if_nothing` and nothing new happened that day, else a daily report. It is
/// filed `late_by_minutes` after the due time (negative: before it): when `clock` is given and that
/// moment lies ahead, the clock is moved there first; otherwise it is filed now. None when the
/// office has filed that day already.
pub async fn file_daily(
    app: &App,
    clock: Option<&SimulationClock>,
    officer: &Actor,
    day: NaiveDate,
    zero_if_nothing: bool,
    late_by_minutes: i64,
) -> Result<Option<DailyReportView>> {
    if let Some(clock) = clock {
        let at = report_due_at(app, officer, day).await? + Duration::minutes(late_by_minutes);
        if at > clock.now() {
            clock.set(at);
        }
    }
    let draft = app
        .daily_report_draft(officer, &day.to_string())
        .await
        .context("daily report draft")?;
    if draft.submitted.is_some() {
        return Ok(None);
    }
    let nothing_new = Figure::ALL
        .iter()
        .all(|f| !f.is_new() || draft.system.get(*f) == 0);
    let kind = if zero_if_nothing && nothing_new {
        ReportKind::Zero
    } else {
        ReportKind::Daily
    };
    let figures = draft
        .system
        .rows()
        .into_iter()
        .map(|(f, n)| {
            let n = if kind == ReportKind::Zero { 0 } else { n };
            (f.code().to_string(), n.to_string())
        })
        .collect();
    let note = match kind {
        ReportKind::Zero => "本日无新增病例、无新增密接，辖区平稳".to_string(),
        ReportKind::Daily => format!(
            "本日新增确诊{}例、无症状{}例，新增密接{}人，均已落实管控",
            draft.system.get(Figure::NewConfirmed),
            draft.system.get(Figure::NewAsymptomatic),
            draft.system.get(Figure::NewCloseContacts)
        ),
    };
    let report = app
        .submit_daily_report(
            officer,
            &DailyReportForm {
                office: String::new(),
                day: day.to_string(),
                kind: kind.code().to_string(),
                figures,
                difference_reason: String::new(),
                note,
            },
        )
        .await
        .context("submit daily report")?;
    Ok(Some(report))
}

/// Files the first report of an incident in `officer`'s office, now (a first report later than two
/// hours after `occurred_at` is flagged by the app). Returns its id; a repeat returns the same id.
pub async fn file_incident(
    app: &App,
    officer: &Actor,
    kind: IncidentKind,
    occurred_at: DateTime<Utc>,
    place: &str,
    summary: &str,
) -> Result<i64> {
    app.file_incident(
        officer,
        &IncidentForm {
            kind: kind.code().to_string(),
            occurred_at: fangkong_domain::time::beijing_label(occurred_at),
            place: place.to_string(),
            summary: summary.to_string(),
            incident_key: String::new(),
        },
    )
    .await
    .context("file incident")
}

/// Each of `receivers` (duty officers of the offices above) records that it received the incident.
pub async fn acknowledge_up_the_chain(app: &App, id: i64, receivers: &[Actor]) -> Result<()> {
    for receiver in receivers {
        app.acknowledge_incident(receiver, id)
            .await
            .context("acknowledge incident")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use fangkong_app::Store;
    use fangkong_domain::region::RegionCode;
    use fangkong_domain::role::Role;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_quiet_township_files_a_late_zero_report_and_an_incident_is_received() {
        let temp = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_dir(temp.path()).await.unwrap();
        let start = Utc.with_ymd_and_hms(2022, 11, 20, 2, 0, 0).unwrap();
        let clock = Arc::new(SimulationClock::new(start, 1.0));
        let app = App::new(store, clock.clone());
        app.load_divisions().await.unwrap();
        let officer = |code: &str| {
            Actor::seeding(
                Role::DutyOfficer,
                RegionCode::parse(code).unwrap(),
                &format!("duty{code}"),
                "值班员",
            )
        };
        let township = officer("130109100");
        let day = NaiveDate::from_ymd_opt(2022, 11, 20).unwrap();
        let report = file_daily(&app, Some(&clock), &township, day, true, 45)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(report.kind, ReportKind::Zero);
        assert!(report.late);
        assert!(
            file_daily(&app, Some(&clock), &township, day, true, 50)
                .await
                .unwrap()
                .is_none()
        );
        let id = file_incident(
            &app,
            &township,
            IncidentKind::Cluster,
            clock.now() - Duration::hours(3),
            "某村",
            "聚集性疫情",
        )
        .await
        .unwrap();
        acknowledge_up_the_chain(&app, id, &[officer("130109"), officer("1301")])
            .await
            .unwrap();
        let detail = app.incident_detail(&officer("13"), id).await.unwrap();
        assert!(detail.incident.overdue);
        assert_eq!(
            detail
                .receipts
                .iter()
                .filter(|r| r.acknowledged_at.is_some())
                .count(),
            2
        );
    }
}
