//! Duty (值班值守): rosters with their gaps and overlaps, the board of who is on duty now, handover
//! notes, spot checks and the accountability list, within the jurisdiction.

use crate::support::*;
use chrono::Duration;
use fangkong_app::AppError;
use fangkong_app::auth::NewUser;
use fangkong_app::command::duty::{HandoverForm, RosterForm};
use fangkong_app::command::spot_checks::{SpotCheckForm, SpotResultForm};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    a_roster_is_checked_and_the_board_shows_who_is_on_duty_now,
    duty_roster_sqlite,
    duty_roster_postgres
);
story!(
    spot_checks_fail_into_the_accountability_list,
    duty_spot_checks_sqlite,
    duty_spot_checks_postgres
);

/// A user of `office` with `role`; its id.
async fn user(
    app: &fangkong_app::App,
    username: &str,
    name: &str,
    role: Role,
    office: &str,
) -> i64 {
    app.create_user_unchecked(
        &NewUser {
            username: username.into(),
            display_name: name.into(),
            role,
            jurisdiction: RegionCode::parse(office).unwrap(),
            password: PASSWORD.into(),
        },
        "test",
    )
    .await
    .unwrap()
}

fn line(office: &str, date: &str, shift: &str, role: &str, user_id: i64) -> RosterForm {
    RosterForm {
        region_code: office.into(),
        date: date.into(),
        shift: shift.into(),
        post: String::new(),
        role: role.into(),
        user_id: user_id.to_string(),
        duty_line: "13912345678".into(),
    }
}

struct Duty {
    county: fangkong_app::Actor,
    /// Township A's staff: leader, A, B of the day; leader, A of the night.
    a: [i64; 5],
    b_staff: i64,
}

async fn duty_world(app: &fangkong_app::App) -> (World, Duty) {
    let world = seed(app).await;
    user(app, "county_cmd", "藁城区指挥部", Role::Commander, COUNTY).await;
    let mut a = [0; 5];
    for (i, name) in ["张带班", "李A角", "王B角", "赵夜带班", "钱夜A角"]
        .iter()
        .enumerate()
    {
        a[i] = user(
            app,
            &format!("duty_a{i}"),
            name,
            Role::DutyOfficer,
            TOWNSHIP_A,
        )
        .await;
    }
    let b_staff = user(
        app,
        "duty_b0",
        "增村镇值班员",
        Role::DutyOfficer,
        TOWNSHIP_B,
    )
    .await;
    let county = login(app, "county_cmd").await;
    (world, Duty { county, a, b_staff })
}

const TODAY: &str = "2022-11-20";

async fn fill_township_a(app: &fangkong_app::App, d: &Duty) {
    for (shift, role, who) in [
        ("day", "leader", d.a[0]),
        ("day", "a", d.a[1]),
        ("day", "b", d.a[2]),
        ("night", "leader", d.a[3]),
        ("night", "a", d.a[4]),
    ] {
        app.add_roster_line(&d.county, &line(TOWNSHIP_A, TODAY, shift, role, who))
            .await
            .unwrap_or_else(|e| panic!("{shift} {role}: {e}"));
    }
}

async fn a_roster_is_checked_and_the_board_shows_who_is_on_duty_now(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let (world, d) = duty_world(&app).await;

    // The day shift alone: the night is a gap, with its reasons.
    for (role, who) in [("leader", d.a[0]), ("a", d.a[1]), ("b", d.a[2])] {
        app.add_roster_line(&d.county, &line(TOWNSHIP_A, TODAY, "day", role, who))
            .await
            .unwrap();
    }
    let roster = app
        .office_roster(&d.county, TOWNSHIP_A, TODAY, TODAY)
        .await
        .unwrap();
    assert_eq!(roster.days[0].lines.len(), 3);
    assert_eq!(
        roster.days[0].gaps,
        vec!["2022-11-20 夜班缺带班领导", "2022-11-20 夜班值班室缺A角"]
    );

    // Overlaps are refused with the reason; nothing is written.
    let twice = app
        .add_roster_line(&d.county, &line(TOWNSHIP_A, TODAY, "day", "b", d.a[1]))
        .await
        .unwrap_err();
    assert!(
        matches!(&twice, AppError::Conflict(m) if m.contains("李A角已在")),
        "{twice}"
    );
    let second_a = app
        .add_roster_line(&d.county, &line(TOWNSHIP_A, TODAY, "day", "a", d.a[3]))
        .await
        .unwrap_err();
    assert!(second_a.to_string().contains("只能有一名A角"), "{second_a}");
    // Someone of another office, a bad shift, a bad duty_line, a date long past.
    let stranger = app
        .add_roster_line(&d.county, &line(TOWNSHIP_A, TODAY, "night", "a", d.b_staff))
        .await
        .unwrap_err();
    assert!(stranger.to_string().starts_with("值班人员："), "{stranger}");
    let mut bad = line(TOWNSHIP_A, TODAY, "evening", "a", d.a[4]);
    assert!(
        app.add_roster_line(&d.county, &bad)
            .await
            .unwrap_err()
            .to_string()
            .starts_with("班次：")
    );
    bad = line(TOWNSHIP_A, TODAY, "night", "a", d.a[4]);
    bad.duty_line = "12345".into();
    assert!(
        app.add_roster_line(&d.county, &bad)
            .await
            .unwrap_err()
            .to_string()
            .starts_with("值班电话：")
    );
    let past = app
        .add_roster_line(
            &d.county,
            &line(TOWNSHIP_A, "2022-11-01", "night", "a", d.a[4]),
        )
        .await
        .unwrap_err();
    assert!(past.to_string().starts_with("日期："), "{past}");

    // Jurisdiction: township A's commander cannot roster township B or the county; a grid worker
    // cannot roster at all.
    let outside = app
        .add_roster_line(
            &world.commander_a,
            &line(TOWNSHIP_B, TODAY, "day", "a", d.b_staff),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(outside, AppError::OutsideJurisdiction),
        "{outside}"
    );
    let above = app
        .add_roster_line(
            &world.commander_a,
            &line(COUNTY, TODAY, "day", "a", d.b_staff),
        )
        .await
        .unwrap_err();
    assert!(matches!(above, AppError::OutsideJurisdiction), "{above}");
    let worker = app
        .add_roster_line(
            &world.worker_a,
            &line(TOWNSHIP_A, TODAY, "night", "a", d.a[4]),
        )
        .await
        .unwrap_err();
    assert!(matches!(worker, AppError::Forbidden { .. }), "{worker}");

    // Township A's own commander fills the night: no gaps left.
    for (role, who) in [("leader", d.a[3]), ("a", d.a[4])] {
        app.add_roster_line(
            &world.commander_a,
            &line(TOWNSHIP_A, TODAY, "night", role, who),
        )
        .await
        .unwrap();
    }
    let roster = app
        .office_roster(&d.county, TOWNSHIP_A, TODAY, TODAY)
        .await
        .unwrap();
    assert!(roster.days[0].gaps.is_empty(), "{:?}", roster.days[0].gaps);
    let adds = audit_rows(&app)
        .await
        .into_iter()
        .filter(|r| r.action == "add_duty_roster")
        .count();
    assert_eq!(
        adds, 5,
        "one audit row per line written, none for the refusals"
    );

    // The board at 10:00: the day shift of township A; township B has no roster today.
    let board = app.duty_board(&d.county).await.unwrap();
    assert_eq!(board.shift.code(), "day");
    assert_eq!(board.offices[0].office_code, COUNTY);
    assert!(board.offices[0].own);
    let a = board
        .offices
        .iter()
        .find(|o| o.office_code == TOWNSHIP_A)
        .unwrap();
    assert_eq!(a.leaders[0].name, "张带班");
    assert_eq!(a.a_roles[0].name, "李A角");
    assert_eq!(a.b_roles[0].name, "王B角");
    assert_eq!(
        a.leaders[0].duty_line, "13912345678",
        "a commander sees the duty line"
    );
    assert!(!a.no_roster_today);
    let b = board
        .offices
        .iter()
        .find(|o| o.office_code == TOWNSHIP_B)
        .unwrap();
    assert!(b.no_roster_today && b.leaders.is_empty());

    // A duty officer of township A sees its own board, the duty_line masked.
    let officer = login(&app, "duty_a1").await;
    let own = app.duty_board(&officer).await.unwrap();
    assert_eq!(own.offices.len(), 1, "a township has no offices below");
    assert_eq!(own.offices[0].a_roles[0].duty_line, "139****5678");
    assert!(matches!(
        app.duty_board(&world.worker_a).await.unwrap_err(),
        AppError::Forbidden { .. }
    ));

    // The outgoing day shift writes its handover; a retry does not duplicate it.
    guard.clock.advance(Duration::hours(9)); // 19:00
    let note = HandoverForm {
        note: "密接转运3人已完成，夜班跟进2人核酸结果".into(),
    };
    assert!(app.write_handover(&officer, &note).await.unwrap());
    assert!(!app.write_handover(&officer, &note).await.unwrap());
    let empty = app
        .write_handover(&officer, &HandoverForm::default())
        .await
        .unwrap_err();
    assert!(empty.to_string().starts_with("交接班记录："), "{empty}");
    let too_long = HandoverForm {
        note: "字".repeat(1001),
    };
    assert!(app.write_handover(&officer, &too_long).await.is_err());

    // At 21:00 (the night shift) the board shows the night people and the day's note.
    guard.clock.advance(Duration::hours(2));
    let board = app.duty_board(&d.county).await.unwrap();
    assert_eq!(board.shift.code(), "night");
    let a = board
        .offices
        .iter()
        .find(|o| o.office_code == TOWNSHIP_A)
        .unwrap();
    assert_eq!(a.leaders[0].name, "赵夜带班");
    assert!(a.b_roles.is_empty());
    assert_eq!(board.handovers.len(), 1);
    assert_eq!(board.handovers[0].author, "李A角");
    // At 03:00 the next morning it is still the 20th's night shift.
    guard.clock.advance(Duration::hours(6));
    let board = app.duty_board(&d.county).await.unwrap();
    assert_eq!((board.date.as_str(), board.shift.code()), (TODAY, "night"));
    let a = board
        .offices
        .iter()
        .find(|o| o.office_code == TOWNSHIP_A)
        .unwrap();
    assert_eq!(a.a_roles[0].name, "钱夜A角");
}

fn answered(by: i64, knew: bool) -> SpotResultForm {
    SpotResultForm {
        answered: "yes".into(),
        answered_by: by.to_string(),
        knew_situation: if knew { "yes" } else { "no" }.into(),
        ..SpotResultForm::default()
    }
}

async fn spot_checks_fail_into_the_accountability_list(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let (world, d) = duty_world(&app).await;
    fill_township_a(&app, &d).await;

    // Township B has no roster: a spot check of it is refused with the reason.
    let named = |office: &str| SpotCheckForm {
        region_code: office.into(),
        ..SpotCheckForm::default()
    };
    let refused = app
        .call_spot_checks(&d.county, &named(TOWNSHIP_B))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, AppError::Conflict(m) if m.contains("没有排班")),
        "{refused}"
    );
    let bad_minutes = SpotCheckForm {
        minutes: "0".into(),
        ..named(TOWNSHIP_A)
    };
    let refused = app
        .call_spot_checks(&d.county, &bad_minutes)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().starts_with("应答时限（分钟）："),
        "{refused}"
    );
    // A duty officer keeps duty but does not spot-check; nobody checks outside their subtree.
    let officer = login(&app, "duty_a1").await;
    assert!(matches!(
        app.call_spot_checks(&officer, &named(TOWNSHIP_A))
            .await
            .unwrap_err(),
        AppError::Forbidden { .. }
    ));
    assert!(matches!(
        app.call_spot_checks(&world.commander_a, &named(TOWNSHIP_B))
            .await
            .unwrap_err(),
        AppError::OutsideJurisdiction
    ));

    // At random: township A is the only office below with someone on duty.
    let random = SpotCheckForm {
        count: "3".into(),
        ..SpotCheckForm::default()
    };
    let called = app.call_spot_checks(&d.county, &random).await.unwrap();
    assert_eq!(called.len(), 1);
    assert_eq!(called[0].office_code, TOWNSHIP_A);
    assert_eq!(
        called[0].deadline_at - called[0].called_at,
        5 * 60,
        "5 minutes by default"
    );
    let late = called[0].id;
    // The duty room sees it was called.
    let board = app.duty_board(&officer).await.unwrap();
    assert_eq!(board.open_spot_checks.len(), 1);

    // Answered after 7 minutes by the A role who knew the situation: late, so failed.
    guard.clock.advance(Duration::minutes(7));
    // The office checked cannot record its own result.
    let own = app
        .record_spot_check(&world.commander_a, late, &answered(d.a[1], true))
        .await
        .unwrap_err();
    assert!(matches!(own, AppError::Conflict(_)), "{own}");
    let result = app
        .record_spot_check(&d.county, late, &answered(d.a[1], true))
        .await
        .unwrap();
    assert!(!result.passed && !result.in_time);
    assert_eq!(result.failures, vec!["抽查超时应答"]);
    let twice = app
        .record_spot_check(&d.county, late, &answered(d.a[1], true))
        .await
        .unwrap_err();
    assert!(twice.to_string().contains("已经记录过"), "{twice}");

    // In time, by the leader on duty, knowing the situation: passed.
    let good = app
        .call_spot_checks(&d.county, &named(TOWNSHIP_A))
        .await
        .unwrap()[0]
        .id;
    guard.clock.advance(Duration::minutes(2));
    let result = app
        .record_spot_check(&d.county, good, &answered(d.a[0], true))
        .await
        .unwrap();
    assert!(result.passed && result.in_time, "{result:?}");
    // In time, but the night leader (not on the day shift) answered and did not know.
    let wrong = app
        .call_spot_checks(&d.county, &named(TOWNSHIP_A))
        .await
        .unwrap()[0]
        .id;
    let result = app
        .record_spot_check(&d.county, wrong, &answered(d.a[3], false))
        .await
        .unwrap();
    assert_eq!(result.failures, vec!["非在班人员应答", "不掌握情况"]);
    // Not answered at all.
    let silent = app
        .call_spot_checks(&d.county, &named(TOWNSHIP_A))
        .await
        .unwrap()[0]
        .id;
    let none = SpotResultForm {
        answered: "no".into(),
        ..SpotResultForm::default()
    };
    let result = app
        .record_spot_check(&d.county, silent, &none)
        .await
        .unwrap();
    assert_eq!(result.failures, vec!["抽查未应答"]);
    let unclear = SpotResultForm {
        answered: "maybe".into(),
        ..SpotResultForm::default()
    };
    assert!(
        app.record_spot_check(&d.county, silent, &unclear)
            .await
            .unwrap_err()
            .to_string()
            .starts_with("是否应答：")
    );

    // The accountability list: township A with its four failures, not the passed check.
    let list = app.accountability(&d.county).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].office_code, TOWNSHIP_A);
    assert_eq!(list[0].office_name, "廉州镇");
    assert_eq!(list[0].total, 4);
    assert!(list[0].counts.contains(&("抽查未应答", 1)));
    assert!(list[0].counts.contains(&("抽查超时应答", 1)));
    // Township A's commander sees it too (it is in their subtree); township B's user does not.
    assert_eq!(
        app.accountability(&world.commander_a).await.unwrap().len(),
        1
    );
    let checks = app.spot_checks(&d.county).await.unwrap();
    assert_eq!(checks.total, 4);
    let audits = audit_rows(&app).await;
    assert_eq!(
        audits
            .iter()
            .filter(|r| r.action == "call_spot_check")
            .count(),
        4
    );
    assert_eq!(
        audits
            .iter()
            .filter(|r| r.action == "record_spot_check")
            .count(),
        4
    );
    // Ids outside the subtree answer like missing ones.
    let b_commander_id = user(&app, "cmd_b", "增村镇指挥部", Role::Commander, TOWNSHIP_B).await;
    assert!(b_commander_id > 0);
    let cmd_b = login(&app, "cmd_b").await;
    assert!(matches!(
        app.record_spot_check(&cmd_b, silent, &none)
            .await
            .unwrap_err(),
        AppError::NotFound(_)
    ));
    assert!(app.accountability(&cmd_b).await.unwrap().is_empty());
}
