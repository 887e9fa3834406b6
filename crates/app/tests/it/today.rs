//! Today's work on the home page: counts read through the modules, urgent items first.

use crate::support::*;
use chrono::Duration;
use fangkong_app::leads::LeadForm;

story!(
    a_grid_workers_day_starts_with_what_is_late,
    today_sqlite,
    today_postgres
);

fn person(name: &str) -> Row {
    population().into_iter().find(|r| r.name == name).unwrap()
}

async fn a_grid_workers_day_starts_with_what_is_late(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let lead = |id_number: &str| LeadForm {
        channel: "grid_screening".into(),
        category: "left_medium_risk_area".into(),
        id_number: id_number.into(),
        came_from: "北京市朝阳区".into(),
        reason: "敲门排查发现".into(),
        ..LeadForm::default()
    };
    let count_of = |items: &[fangkong_app::today::TodayItem], label: &str| {
        items
            .iter()
            .find(|i| i.label == label)
            .and_then(|i| i.count)
    };
    app.create_lead(&world.worker_a, &lead(&person("王建国").id_number))
        .await
        .unwrap();
    let today = app.todays_work(&world.worker_a).await.unwrap();
    assert_eq!(count_of(&today, "待落地线索"), Some(1));
    assert_eq!(count_of(&today, "超过24小时未落地的线索"), Some(0));
    assert!(
        today.iter().all(|i| !i.urgent),
        "nothing late yet: {today:?}"
    );

    // A day later the lead is late: it comes first, in red, for the grid worker and the commander.
    guard.clock.advance(Duration::hours(25));
    app.create_lead(&world.worker_a, &lead(&person("李华").id_number))
        .await
        .unwrap();
    let today = app.todays_work(&world.worker_a).await.unwrap();
    assert_eq!(today[0].label, "超过24小时未落地的线索");
    assert_eq!((today[0].count, today[0].urgent), (Some(1), true));
    assert_eq!(count_of(&today, "待落地线索"), Some(2));
    let commander = app.todays_work(&world.commander_a).await.unwrap();
    assert_eq!(count_of(&commander, "超过24小时未落地的线索"), Some(1));
    // Another township's grid worker has none of it.
    let other = app.todays_work(&world.worker_b).await.unwrap();
    assert_eq!(count_of(&other, "待落地线索"), Some(0));

    // A resident's home has their own things and no staff lists.
    let mine = app.todays_work(&world.resident_user).await.unwrap();
    assert!(mine.iter().any(|i| i.href == "/me/code"));
    assert!(mine.iter().all(|i| !i.href.starts_with("/leads")));
}
