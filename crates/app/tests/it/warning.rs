//! Early warning and the switch (多点触发、平急转换), on SQLite and (when FANGKONG_TEST_POSTGRES is
//! set) PostgreSQL: an antigen positive and a cold-chain positive raise alerts once each, an alert
//! is verified only with words and only once, a switch by the wrong level is refused, a switch
//! opens the township's checklist, a round opened closes its task by itself, a task ticked by hand
//! needs its note, late tasks and alerts reach the late list and the picture, and the switch back
//! needs every condition confirmed; the consistency audit holds throughout.

use crate::support::*;
use chrono::Duration;
use fangkong_app::mass_testing::{AntigenForm, RoundForm};
use fangkong_app::warning::{
    AlertDecisionForm, EnvironmentForm, ReturnForm, SwitchForm, TaskDoneForm,
};
use fangkong_app::{App, AppError};
use fangkong_domain::command::late::LateKind;

story!(
    signals_raise_alerts_and_a_switch_opens_its_checklist,
    warning_story_sqlite,
    warning_story_postgres
);

fn words(result: Result<impl std::fmt::Debug, AppError>) -> String {
    match result {
        Err(AppError::Invalid(m)) | Err(AppError::Conflict(m)) => m,
        other => panic!("expected a refusal in words, got {other:?}"),
    }
}

async fn audit_actions(app: &App, action: &str) -> usize {
    audit_rows(app)
        .await
        .into_iter()
        .filter(|r| r.action == action)
        .count()
}

async fn signals_raise_alerts_and_a_switch_opens_its_checklist(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let commander = &world.commander_a;

    // An antigen positive reported by a resident raises one orange alert, due in 2 hours; a
    // second pass raises nothing more.
    let first_in_a1 = population()
        .into_iter()
        .find(|r| r.grid == GRID_A1)
        .expect("a resident of A1")
        .id_number;
    let wang = resident_id(&app, &world.admin, &first_in_a1).await;
    app.link_resident_login(&world.admin, world.resident_user.user_id, wang)
        .await
        .expect("link");
    app.report_antigen(
        &world.resident_user,
        &AntigenForm {
            result: "阳性".into(),
            ..Default::default()
        },
        None,
    )
    .await
    .expect("antigen");
    app.try_run_event_passes().await.expect("passes");
    app.try_run_event_passes().await.expect("passes again");
    let list = app.alerts(&world.admin, "", "").await.expect("alerts");
    assert_eq!(list.alerts.total, 1, "{:?}", list.alerts.rows);
    let antigen = &list.alerts.rows[0];
    assert_eq!(antigen.channel, "抗原检测阳性");
    assert_eq!(antigen.level, "orange");
    assert!(antigen.open && !antigen.late && antigen.lateness.starts_with("还有"));
    assert!(!antigen.proposes_switch);

    // A cold-chain positive in 廉州镇 raises a proposal-free orange alert; 增村镇 is not the
    // township commander's to report for.
    let env = EnvironmentForm {
        region: TOWNSHIP_A.into(),
        place: "廉州冷库".into(),
        sample: "进口冷冻带鱼外包装".into(),
    };
    let cold = app
        .report_environment_positive(commander, &env)
        .await
        .expect("environment");
    let outside = EnvironmentForm {
        region: TOWNSHIP_B.into(),
        ..env.clone()
    };
    assert!(matches!(
        app.report_environment_positive(commander, &outside).await,
        Err(AppError::OutsideJurisdiction)
    ));
    assert_eq!(
        app.alerts(commander, "", "open")
            .await
            .unwrap()
            .alerts
            .total,
        2,
        "the antigen alert (grid A1) and the cold chain's, both in 廉州镇"
    );
    assert!(matches!(
        app.alerts(commander, TOWNSHIP_B, "").await,
        Err(AppError::OutsideJurisdiction)
    ));
    assert!(antigen.region_code.starts_with(GRID_A1));
    let worker_b = &world.worker_b;
    assert!(matches!(
        app.alert(worker_b, antigen.id).await,
        Err(AppError::Forbidden { .. })
    ));

    // Verification needs words, closes once, and is audited.
    let empty = AlertDecisionForm {
        decision: "verify".into(),
        note: "  ".into(),
    };
    assert_eq!(
        words(app.decide_alert(commander, cold, &empty).await),
        "请填写核实与处置情况"
    );
    assert!(
        app.alert(commander, cold).await.unwrap().open,
        "nothing written"
    );
    let done = AlertDecisionForm {
        decision: "verify".into(),
        note: "已封存货品、消杀冷库，接触人员已采样".into(),
    };
    app.decide_alert(commander, cold, &done)
        .await
        .expect("verify");
    let closed = app.alert(commander, cold).await.unwrap();
    assert!(!closed.open && closed.note.contains("封存"));
    assert!(words(app.decide_alert(commander, cold, &done).await).contains("已核实处置"));
    assert_eq!(audit_actions(&app, "alert_close").await, 1);

    // The switch: a township commander cannot switch the county; a grid worker cannot switch.
    let reason = |r: &str| SwitchForm {
        region: r.into(),
        reason: "冷链阳性，启动应急响应".into(),
        alert: String::new(),
    };
    assert!(matches!(
        app.switch_to_emergency(commander, &reason(COUNTY)).await,
        Err(AppError::OutsideJurisdiction)
    ));
    assert!(matches!(
        app.switch_to_emergency(&world.worker_a, &reason(TOWNSHIP_A))
            .await,
        Err(AppError::Forbidden { .. })
    ));
    assert!(
        words(
            app.switch_to_emergency(&world.admin, &reason(GRID_A1))
                .await
        )
        .contains("乡镇")
    );
    app.switch_to_emergency(commander, &reason(TOWNSHIP_A))
        .await
        .expect("switch");
    assert!(
        words(
            app.switch_to_emergency(commander, &reason(TOWNSHIP_A))
                .await
        )
        .contains("已处于应急状态")
    );
    let state = app.command_state_view(commander, TOWNSHIP_A).await.unwrap();
    assert!(state.emergency);
    let template = fangkong_domain::warning::emergency::checklist(
        fangkong_domain::region::RegionLevel::Township,
        0,
    );
    assert_eq!(state.tasks.len(), template.len());
    assert_eq!(state.tasks_done, 0);

    // A round opened over the township closes "组织辖区全员核酸检测" by itself.
    app.open_round(
        &world.admin,
        &RoundForm {
            name: "廉州镇应急全员核酸检测".into(),
            kind: "whole".into(),
            region_code: TOWNSHIP_A.into(),
            pool_size: "10".into(),
            tubes: "50".into(),
            ..Default::default()
        },
    )
    .await
    .expect("round");
    assert_eq!(app.refresh_emergency_tasks().await.unwrap(), 1);
    assert_eq!(
        app.refresh_emergency_tasks().await.unwrap(),
        0,
        "closed once"
    );
    let state = app.command_state_view(commander, TOWNSHIP_A).await.unwrap();
    let testing = state
        .tasks
        .iter()
        .find(|t| t.title.contains("全员核酸"))
        .unwrap();
    assert!(
        testing.done && testing.automatic && testing.how.contains("核酸检测轮次"),
        "{testing:?}"
    );

    // A task ticked by hand needs its note.
    let door = state
        .tasks
        .iter()
        .find(|t| t.title.contains("敲门"))
        .unwrap()
        .id;
    let blank = TaskDoneForm {
        note: String::new(),
    };
    assert!(matches!(
        app.complete_emergency_task(commander, door, &blank).await,
        Err(AppError::Invalid(m)) if m.contains("完成情况")
    ));
    let note = TaskDoneForm {
        note: "全镇已走访".into(),
    };
    app.complete_emergency_task(commander, door, &note)
        .await
        .expect("tick");
    assert!(matches!(
        app.complete_emergency_task(commander, door, &note).await,
        Err(AppError::Conflict(_))
    ));

    // Three hours on: the 2-hour tasks and the antigen alert are late, on the late list and in
    // the picture.
    guard.clock.advance(Duration::hours(3));
    let late = app.late_list(&world.admin).await.unwrap();
    let tasks = late
        .groups
        .iter()
        .find(|g| g.kind == LateKind::EmergencyTask)
        .expect("tasks late");
    assert!(tasks.late >= 2, "{tasks:?}");
    let alerts = late
        .groups
        .iter()
        .find(|g| g.kind == LateKind::Alert)
        .expect("alert late");
    assert_eq!(alerts.late, 1);
    let picture = app.situation(&world.admin, TOWNSHIP_A).await.unwrap();
    assert!(picture.warning.emergency);
    assert_eq!(picture.warning.tasks_done, 2);
    assert_eq!(picture.warning.tasks_total as usize, template.len());
    let county = app.situation(&world.admin, "").await.unwrap();
    assert!(!county.warning.emergency);
    assert_eq!(county.warning.emergencies_below, 1);
    assert_eq!(county.warning.alerts.overdue, 1);

    // Back to normal: every condition confirmed; the open tasks close as ended.
    let partial = ReturnForm {
        region: TOWNSHIP_A.into(),
        reason: "疫情平稳".into(),
        confirmed: vec!["no_new_cases".into()],
    };
    assert!(words(app.switch_to_normal(commander, &partial).await).starts_with("请确认条件"));
    let all = ReturnForm {
        confirmed: vec!["no_new_cases".into(), "areas_lifted".into()],
        ..partial
    };
    app.switch_to_normal(commander, &all)
        .await
        .expect("back to normal");
    let state = app.command_state_view(commander, TOWNSHIP_A).await.unwrap();
    assert!(!state.emergency && state.tasks.is_empty());
    assert_eq!(state.history.len(), 2);
    assert!(
        !state.history[0].conditions.is_empty(),
        "the conditions met are kept"
    );
    assert_eq!(audit_actions(&app, "command_switch").await, 2);
    assert!(matches!(
        app.switch_to_normal(commander, &all).await,
        Err(AppError::Invalid(_)) | Err(AppError::Conflict(_))
    ));

    let report = app.check_consistency(Duration::zero()).await.unwrap();
    assert!(
        report.is_clean(),
        "{:?}",
        report.broken().collect::<Vec<_>>()
    );
}
