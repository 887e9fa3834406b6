//! The command office's picture (态势) and late list (超时事项) over a real flow: a confirmed case
//! with a close contact carried by the passes to a lead, a measure and a red code. Every figure of
//! the picture equals what the module's own page shows; the child regions drill down to a grid;
//! the late list names the case whose report is overdue and, a day on, the lead not landed; the
//! counters the picture sums stay equal to the records (`fangkong check`).

use crate::support::*;
use chrono::Duration;
use fangkong_app::auth::NewUser;
use fangkong_app::investigation::{CaseForm, ContactForm};
use fangkong_app::{App, AppError};
use fangkong_domain::command::late::LateKind;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    the_picture_agrees_with_every_module_and_drills_down_to_a_grid,
    picture_story_sqlite,
    picture_story_postgres
);

fn beijing(app: &App, offset: Duration) -> String {
    (app.now() + offset)
        .with_timezone(&fangkong_app::china_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

async fn user(app: &App, username: &str, role: Role, jurisdiction: &str) -> fangkong_app::Actor {
    app.create_user_unchecked(
        &NewUser {
            username: username.into(),
            display_name: format!("{username} 用户"),
            role,
            jurisdiction: RegionCode::parse(jurisdiction).unwrap(),
            password: PASSWORD.into(),
        },
        "test",
    )
    .await
    .unwrap();
    login(app, username).await
}

async fn the_picture_agrees_with_every_module_and_drills_down_to_a_grid(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let epi = user(&app, "epi", Role::Epidemiologist, COUNTY).await;
    let commander = user(&app, "county_commander", Role::Commander, COUNTY).await;
    let duty = user(&app, "county_duty", Role::DutyOfficer, COUNTY).await;
    let people = population();

    // Before anything happens the picture is empty and nothing is late.
    let empty = app.situation(&commander, "").await.unwrap();
    assert_eq!(empty.today.infections(), 0);
    assert_eq!(empty.control.total(), 0);
    // Nothing is late but the offices' daily reports of yesterday, which nobody filed.
    let late = app.late_list(&commander).await.unwrap();
    assert!(
        late.groups
            .iter()
            .all(|g| g.kind == LateKind::ReportNotFiled),
        "{:?}",
        late.groups
    );

    let case = app
        .open_case(
            &epi,
            &CaseForm {
                kind: "confirmed".into(),
                id_number: people[0].id_number.clone(),
                onset_date: beijing(&app, Duration::days(-1))[..10].to_string(),
                found_by: "fever_clinic".into(),
                isolated_at: beijing(&app, Duration::hours(-1)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.add_contact(
        &epi,
        case,
        &ContactForm {
            id_number: people[1].id_number.clone(),
            exposure_kind: "shared_home".into(),
            first_exposure_at: beijing(&app, Duration::hours(-22)),
            last_exposure_at: beijing(&app, Duration::hours(-20)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    app.try_run_code_events().await.unwrap();
    app.try_run_event_passes().await.unwrap();

    // Each figure equals the module's own page.
    let s = app.situation(&commander, "").await.unwrap();
    let investigation = app.investigation_overview(&commander).await.unwrap();
    assert_eq!(s.today.confirmed, 1);
    assert_eq!(s.yesterday.confirmed, 0);
    assert_eq!(s.cumulative.confirmed, investigation.counts.confirmed);
    assert_eq!(s.active_cases, investigation.counts.active);
    assert_eq!(s.close_contacts, investigation.counts.close_contacts);
    assert_eq!(s.close_contacts, 1);
    let isolation = app.isolation_overview(&commander).await.unwrap();
    assert!(s.control.total() >= 1, "the contact is under a measure");
    assert_eq!(
        s.control.total() - s.control.hospital,
        isolation.under_measure
    );
    assert_eq!(s.control.rooms, isolation.total.rooms);
    assert_eq!(s.control.rooms_free, isolation.total.free);
    let leads = app.leads_overview(&commander, "").await.unwrap();
    assert_eq!(s.leads.total, leads.total.total);
    assert_eq!(s.leads.overdue, leads.total.overdue);
    let codes = app.code_overview(&commander, None).await.unwrap();
    assert!(s.red_codes >= 1, "the case is red");
    assert_eq!(s.red_codes, codes.red);
    assert_eq!(s.yellow_codes, codes.yellow);
    assert_eq!(s.popups, codes.popups);
    // The duty officer sees the same picture.
    let seen_by_duty = app.situation(&duty, "").await.unwrap();
    assert_eq!(seen_by_duty.today, s.today);
    assert_eq!(seen_by_duty.red_codes, s.red_codes);

    // The child regions add up, worst first, and drill down township → village → grid.
    let new_in_children: i64 = s.children.iter().map(|c| c.new_today).sum();
    assert_eq!(new_in_children, s.today.infections());
    let worst = &s.children[0];
    assert_eq!(worst.new_today, 1, "{:?}", s.children);
    let mut region = worst.code.clone();
    loop {
        let below = app.situation(&commander, &region).await.unwrap();
        assert_eq!(below.today.confirmed, 1, "{region}");
        let parent = below
            .parent
            .as_ref()
            .expect("a way back up inside the jurisdiction");
        assert!(region.starts_with(&parent.0) && parent.0.len() < region.len());
        if below.is_grid {
            assert!(below.children.is_empty());
            assert_eq!(region.len(), 15);
            break;
        }
        region = below.children[0].code.clone();
        assert_eq!(below.children[0].new_today, 1);
    }

    // A commander of township A cannot look into township B, nor a resident at anything.
    let refused = app.situation(&world.commander_a, TOWNSHIP_B).await;
    assert!(
        matches!(refused, Err(AppError::OutsideJurisdiction)),
        "{refused:?}"
    );
    assert!(app.situation(&world.resident_user, "").await.is_err());
    assert!(app.late_list(&world.worker_a).await.is_err());

    // Three hours on the case's 2-hour report is overdue: the late list names it by its number.
    guard.clock.advance(Duration::hours(3));
    let late = app.late_list(&commander).await.unwrap();
    let report = late
        .groups
        .iter()
        .find(|g| g.kind == LateKind::CaseReport)
        .expect("the case report is late");
    assert_eq!(report.late, 1);
    assert!(report.items[0].late);
    assert!(report.items[0].what.contains("确诊"), "{:?}", report.items);
    assert!(report.items[0].lateness.starts_with("超时"));
    assert!(
        !report.items[0].what.contains(&people[0].name),
        "no names on the late list"
    );
    assert_eq!(
        report.late,
        app.investigation_overview(&commander)
            .await
            .unwrap()
            .counts
            .report_overdue
    );

    // The counters the picture sums equal the records.
    let audit = app.check_consistency(Duration::zero()).await.unwrap();
    assert!(audit.is_clean(), "{audit}");
}

story!(
    a_bulletin_is_drafted_from_the_day_reviewed_and_published_once,
    bulletin_story_sqlite,
    bulletin_story_postgres
);

async fn a_bulletin_is_drafted_from_the_day_reviewed_and_published_once(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let epi = user(&app, "epi", Role::Epidemiologist, COUNTY).await;
    let commander = user(&app, "county_commander", Role::Commander, COUNTY).await;
    let duty = user(&app, "county_duty", Role::DutyOfficer, COUNTY).await;
    let people = population();
    let case = app
        .open_case(
            &epi,
            &CaseForm {
                kind: "asymptomatic".into(),
                id_number: people[3].id_number.clone(),
                first_positive_at: beijing(&app, Duration::minutes(-30)),
                found_by: "mass_testing".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(case > 0);
    let today = app.today().to_string();

    // Only the office that publishes drafts; a date ahead is refused with the field named.
    assert!(app.draft_bulletin(&duty, &today).await.is_err());
    let ahead = (app.today() + Duration::days(1)).to_string();
    let refused = app.draft_bulletin(&commander, &ahead).await.unwrap_err();
    assert!(refused.to_string().contains("通报日期"), "{refused}");

    // The draft tells the day's figures and the case in anonymised words.
    let id = app.draft_bulletin(&commander, &today).await.unwrap();
    let draft = app.bulletin(&commander, id).await.unwrap();
    assert!(!draft.published);
    assert!(
        draft
            .body
            .contains("新增本土确诊病例0例、本土无症状感染者1例"),
        "{}",
        draft.body
    );
    assert!(draft.body.contains("病例1："), "{}", draft.body);
    assert!(
        !draft.body.contains(&people[3].name),
        "no names in a bulletin"
    );
    assert!(!draft.body.contains(&people[3].id_number), "no ID numbers");
    // Drafting again replaces the draft: still one bulletin for the day.
    assert_eq!(app.draft_bulletin(&commander, &today).await.unwrap(), id);
    assert_eq!(app.bulletins(&duty).await.unwrap().len(), 1);
    assert!(
        app.public_bulletins().await.unwrap().is_empty(),
        "a draft is not public"
    );

    // Review: an empty body is refused, words are kept; then publish, once.
    let empty = app
        .edit_bulletin(&commander, id, "标题", "  ")
        .await
        .unwrap_err();
    assert!(empty.to_string().contains("正文"), "{empty}");
    app.edit_bulletin(
        &commander,
        id,
        &draft.title,
        &format!("{}\n（经审核）", draft.body),
    )
    .await
    .unwrap();
    app.publish_bulletin(&commander, id).await.unwrap();
    let again = app.publish_bulletin(&commander, id).await.unwrap_err();
    assert!(matches!(again, AppError::Conflict(_)), "{again:?}");
    assert!(
        app.draft_bulletin(&commander, &today).await.is_err(),
        "published: no redraft"
    );
    assert!(app.edit_bulletin(&commander, id, "改", "改").await.is_err());
    let public = app.public_bulletins().await.unwrap();
    assert_eq!(public.len(), 1);
    assert!(public[0].body.ends_with("（经审核）"));
    // A township's commander does not see the county's bulletin in the office list.
    assert!(app.bulletin(&world.commander_a, id).await.is_err());
}
