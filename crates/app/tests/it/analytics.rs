//! Big-data push stories (大数据推送): pings in the day files, a case reported and an area
//! designated; the automatic pass finds the companion and the visitors, and each becomes a push
//! lead routed to the person's grid (a number not in the register waits at the village where it was
//! seen), the companion's code pops up, a rerun adds nothing, and the audit stays clean. On SQLite
//! and (when FANGKONG_TEST_POSTGRES is set) PostgreSQL.

use crate::support::*;
use chrono::{Duration, TimeZone, Utc};
use fangkong_app::App;
use fangkong_app::auth::NewUser;
use fangkong_app::investigation::CaseForm;
use fangkong_app::risk_areas::RiskAreaForm;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;
use fangkong_pings::Ping;

story!(
    cases_and_areas_become_push_leads,
    push_story_sqlite,
    push_story_postgres
);

/// The cells of the story's villages.
const CELL_A1: i64 = 32_004_300;
const CELL_A2: i64 = 32_004_310;
const CELL_B1: i64 = 32_104_400;

const CASE_PHONE: i64 = 13_900_000_001; // 王建国, grid A1
const COMPANION_PHONE: i64 = 13_900_000_007; // grid A2: an hour at the case's cell
const PASSER_PHONE: i64 = 13_900_000_008; // grid A2: five minutes there
const STRANGER_PHONE: i64 = 13_700_000_123; // in no register: an hour there

/// Beijing midnight `days` before the clock's day.
fn midnight(app: &App, days: i64) -> i64 {
    let today = app
        .now()
        .with_timezone(&fangkong_app::china_offset())
        .date_naive();
    let day = today - Duration::days(days);
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
        .timestamp()
        - 8 * 3600
}

/// Every `step` seconds from `from` for `seconds`, in `cell`.
fn stay(person_id: i64, cell_id: i64, from: i64, seconds: i64, step: i64) -> Vec<Ping> {
    (0..seconds / step)
        .map(|i| Ping {
            person_id,
            ts: from + i * step,
            cell_id,
        })
        .collect()
}

fn write_days(app: &App, dir: &std::path::Path) {
    // The case lives in cell A1 (three whole days: far over 30 hours there).
    for days_ago in 1..=3 {
        let day = midnight(app, days_ago);
        let mut pings = stay(CASE_PHONE, CELL_A1, day, 86_400, 1_800);
        pings.extend(stay(PASSER_PHONE, CELL_A2, day, 86_400, 3_600));
        if days_ago == 1 {
            // Yesterday 09:00–10:00 the companion and the stranger are in the case's cell; the
            // passer only pings there once, then is back home five minutes later.
            pings.extend(stay(COMPANION_PHONE, CELL_A1, day + 9 * 3600, 3_600, 600));
            pings.push(Ping {
                person_id: COMPANION_PHONE,
                ts: day + 10 * 3600,
                cell_id: CELL_A2,
            });
            pings.extend(stay(STRANGER_PHONE, CELL_A1, day + 9 * 3600, 3_600, 600));
            pings.push(Ping {
                person_id: STRANGER_PHONE,
                ts: day + 10 * 3600,
                cell_id: CELL_B1,
            });
            pings.push(Ping {
                person_id: PASSER_PHONE,
                ts: day + 9 * 3600 + 60,
                cell_id: CELL_A1,
            });
            pings.push(Ping {
                person_id: PASSER_PHONE,
                ts: day + 9 * 3600 + 360,
                cell_id: CELL_A2,
            });
        }
        fangkong_pings::layout::write_day(dir, day, &mut pings).expect("write a day of pings");
    }
}

async fn cases_and_areas_become_push_leads(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let dir = guard.path("pings");
    std::fs::create_dir_all(&dir).unwrap();
    let app = app.with_pings_dir(dir.clone());
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    app.create_user_unchecked(
        &NewUser {
            username: "epi".into(),
            display_name: "藁城区流调队".into(),
            role: Role::Epidemiologist,
            jurisdiction: RegionCode::parse(COUNTY).unwrap(),
            password: PASSWORD.into(),
        },
        "test",
    )
    .await
    .unwrap();
    let epi = login(&app, "epi").await;
    app.store_for_tools()
        .put_ping_cells(&[
            (CELL_A1, VILLAGE_A1.to_string()),
            (CELL_A2, VILLAGE_A2.to_string()),
            (CELL_B1, VILLAGE_B1.to_string()),
        ])
        .await
        .unwrap();
    write_days(&app, &dir);

    // Nothing designated, nobody reported: the pass runs only the e-fence of the days (nobody is
    // at home under a measure) and finds nobody.
    app.try_run_analytics().await.unwrap();
    let overview = app.analytics_overview(&epi).await.unwrap();
    assert_eq!(overview.days.len(), 3);
    assert!(overview.jobs.iter().all(|j| j.people_found == 0));

    // 王建国 is confirmed; the event pass makes the case, the analytics pass its companions.
    let case_id = population()
        .into_iter()
        .find(|r| r.phone == CASE_PHONE.to_string())
        .unwrap()
        .id_number;
    app.open_case(
        &epi,
        &CaseForm {
            kind: "confirmed".into(),
            id_number: case_id,
            onset_date: (app.now() - Duration::days(1))
                .with_timezone(&fangkong_app::china_offset())
                .format("%Y-%m-%d")
                .to_string(),
            found_by: "fever_clinic".into(),
            isolated_at: (app.now() - Duration::hours(1))
                .with_timezone(&fangkong_app::china_offset())
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    app.try_run_event_passes().await.unwrap();
    app.try_run_analytics().await.unwrap();
    let overview = app.analytics_overview(&epi).await.unwrap();
    let job = overview
        .jobs
        .iter()
        .find(|j| j.analysis == "companions")
        .expect("a companion job ran for the reported case");
    assert_eq!(job.status, "finished", "{}", job.failure);
    let detail = app.analytics_job(&epi, job.id).await.unwrap();
    // The companion and the stranger: an hour in the case's cell. The passer's five minutes do
    // not count.
    assert_eq!(detail.job.people_found, 2, "{:?}", detail.results);
    assert_eq!(detail.job.leads_created, 2);
    let companion = detail
        .results
        .iter()
        .find(|r| r.region_code == GRID_A2)
        .expect("the companion's lead went to the grid of the register");
    let lead = app
        .lead_detail(&world.admin, companion.lead_id.unwrap())
        .await
        .unwrap();
    assert_eq!(lead.lead.channel, "big_data_push");
    assert_eq!(lead.lead.category, "companion");
    assert!(
        lead.lead.reason.contains("共同停留"),
        "{}",
        lead.lead.reason
    );
    // The stranger is in no register: the lead waits at the village of the cell.
    assert!(
        detail.results.iter().any(|r| r.region_code == VILLAGE_A1),
        "{:?}",
        detail.results
    );
    // The push reaches the companion's health code (the Hebei pop-up).
    app.try_run_code_events().await.unwrap();
    let companion_id = population()
        .into_iter()
        .find(|r| r.phone == COMPANION_PHONE.to_string())
        .unwrap()
        .id_number;
    let code = app
        .person_code(&world.admin, "", &companion_id)
        .await
        .unwrap();
    assert!(code.code.popup.is_some(), "the companion's code pops up");

    // The case's village is designated a risk area: its visitors are pushed too.
    app.designate_risk_area(
        &world.admin,
        &RiskAreaForm {
            scheme: String::new(),
            tier: "high".into(),
            unit: "village".into(),
            region_code: VILLAGE_A1.into(),
            place_name: String::new(),
            reason: "病例居住地".into(),
            occurred_at: String::new(),
        },
    )
    .await
    .unwrap();
    app.try_run_analytics().await.unwrap();
    let overview = app.analytics_overview(&epi).await.unwrap();
    let visitors = overview
        .jobs
        .iter()
        .find(|j| j.analysis == "risk_area_visitors")
        .expect("a visitors job ran for the new area");
    // The case, the companion, the passer and the stranger were all in A1's cell.
    assert_eq!(visitors.people_found, 4);
    assert_eq!(visitors.leads_created + visitors.leads_existed, 4);

    // Running the passes again adds no job and no lead; the audit agrees with itself.
    let jobs_before = overview.jobs.len();
    app.try_run_analytics().await.unwrap();
    assert_eq!(
        app.analytics_overview(&epi).await.unwrap().jobs.len(),
        jobs_before
    );
    // The server's passes carry the new pushes into codes before the audit reads them.
    app.try_run_code_events().await.unwrap();
    app.try_run_event_passes().await.unwrap();
    let report = app
        .check_consistency(chrono::Duration::zero())
        .await
        .unwrap();
    assert!(report.is_clean(), "{report}");

    // Scope: a grid worker of township B cannot read the county's jobs at all.
    assert!(app.analytics_overview(&world.worker_b).await.is_err());
}
