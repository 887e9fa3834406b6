//! Typed commands and audit records in the change's own transaction (issue 12), for mass testing,
//! health codes, risk areas and checkpoints, each story on SQLite and (when FANGKONG_TEST_POSTGRES
//! is set) on a brand-new PostgreSQL database: a refused command writes nothing — no change and no
//! audit record — and a change that is kept always has exactly one record.

use crate::support::*;
use fangkong_app::auth::NewUser;
use fangkong_app::checkpoints::CheckpointForm;
use fangkong_app::health_code::FactForm;
use fangkong_app::mass_testing::{RoundForm, SiteForm};
use fangkong_app::population::REGISTERED_ELSEWHERE;
use fangkong_app::records::{AuditRecord, RowOutcome};
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::health_code::CodeColour;
use fangkong_domain::mass_testing::MAX_TUBE_SERIAL;
use fangkong_domain::region::RegionCode;
use fangkong_domain::resident_row::RawResidentRow;
use fangkong_domain::role::Role;

story!(
    a_round_its_tubes_and_its_audit_record_commit_together,
    rounds_sqlite,
    rounds_postgres
);
story!(
    code_facts_appeals_and_checkpoints_commit_with_their_audit_records,
    codes_sqlite,
    codes_postgres
);
story!(
    a_saved_resident_and_its_audit_record_commit_together,
    resident_save_sqlite,
    resident_save_postgres
);

/// The audit records of `action` whose target starts with `target`, newest first.
async fn records(app: &App, admin: &Actor, action: &str, target: &str) -> Vec<AuditRecord> {
    app.audit_log(admin, action, None)
        .await
        .expect("audit log")
        .into_iter()
        .filter(|r| r.target.starts_with(target))
        .collect()
}

async fn rounds(app: &App, admin: &Actor) -> usize {
    app.rounds(admin).await.expect("rounds").len()
}

fn township_round(tubes: &str) -> RoundForm {
    RoundForm {
        name: "廉州镇第1轮全员核酸检测".into(),
        kind: "whole".into(),
        region_code: TOWNSHIP_A.into(),
        pool_size: "10".into(),
        tubes: tubes.into(),
        ..Default::default()
    }
}

async fn a_round_its_tubes_and_its_audit_record_commit_together(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let commander = &world.commander_a;

    // A bad tube count is refused naming the field, before anything is written.
    let bad = app.open_round(commander, &township_round("十支")).await;
    assert!(
        matches!(&bad, Err(AppError::Invalid(m)) if m.contains("下发试管数")),
        "{bad:?}"
    );
    assert_eq!(rounds(&app, &world.admin).await, 0);
    assert!(
        records(&app, &world.admin, "create", "test_round:")
            .await
            .is_empty()
    );

    // A round and its tubes are one transaction: when the tubes cannot be issued (the barcode
    // range is used up by another round), the round written before them in that transaction is
    // rolled back with its audit record.
    let first = app
        .open_round(commander, &township_round("100"))
        .await
        .expect("the first round");
    let top = i64::try_from(MAX_TUBE_SERIAL).unwrap();
    assert!(
        app.store_for_tools()
            .issue_tube_batch(first, top - 9, top - 4, app.now_unix(), "test")
            .await
            .unwrap()
    );
    let used_up = app.open_round(commander, &township_round("100")).await;
    assert!(
        matches!(&used_up, Err(AppError::Conflict(m)) if m.contains("号段已用完")),
        "{used_up:?}"
    );
    assert_eq!(
        rounds(&app, &world.admin).await,
        1,
        "no round was left behind"
    );
    let created = records(&app, &world.admin, "create", "test_round:").await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].target, format!("test_round:{first}"));
    assert_eq!(created[0].username, commander.username);

    // Tubes issued are audited with the batch; a refused request writes neither.
    let refused = app.issue_tubes(commander, first, 10).await;
    assert!(
        matches!(&refused, Err(AppError::Conflict(_))),
        "{refused:?}"
    );
    let too_many = app.issue_tubes(commander, first, 0).await;
    assert!(
        matches!(&too_many, Err(AppError::Invalid(_))),
        "{too_many:?}"
    );
    app.issue_tubes(commander, first, 4)
        .await
        .expect("the last serials that fit");
    let issued = records(&app, &world.admin, "issue_tubes", "test_round:").await;
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(issued[0].detail, "tubes:4");

    // A site: a bad count names its field and writes nothing; a site kept has its record.
    let site_form = |tables: &str| SiteForm {
        region_code: VILLAGE_A1.into(),
        name: "西城街社区卫生站".into(),
        tables: tables.into(),
        ..Default::default()
    };
    let bad_site = app.create_site(commander, first, &site_form("0")).await;
    assert!(
        matches!(&bad_site, Err(AppError::Invalid(m)) if m.contains("采样台数")),
        "{bad_site:?}"
    );
    assert!(app.sites(commander, first).await.unwrap().is_empty());
    let site = app
        .create_site(commander, first, &site_form("2"))
        .await
        .expect("a site");
    let created = records(&app, &world.admin, "create", "sampling_site:").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].target, format!("sampling_site:{site}"));
    assert_eq!(created[0].detail, format!("test_round:{first}"));

    // An exemption without proof is refused before the resident is read; a kept one is audited.
    let zhang = resident_id(&app, &world.admin, &population()[0].id_number).await;
    let no_proof = app
        .set_exemption(&world.worker_a, first, zhang, "away", " ")
        .await;
    assert!(matches!(no_proof, Err(AppError::Invalid(_))));
    assert!(
        records(&app, &world.admin, "update", "resident:")
            .await
            .is_empty()
    );
    app.set_exemption(&world.worker_a, first, zhang, "bedridden", "行动不便")
        .await
        .expect("an exemption");
    assert_eq!(
        records(&app, &world.admin, "update", &format!("resident:{zhang}"))
            .await
            .len(),
        1
    );

    // Closing: once, with one record; the second close is refused and writes nothing.
    app.close_round(commander, first).await.expect("closed");
    let again = app.close_round(commander, first).await;
    assert!(matches!(again, Err(AppError::Conflict(_))));
    let closed: Vec<AuditRecord> = records(&app, &world.admin, "update", "test_round:")
        .await
        .into_iter()
        .filter(|r| r.detail == "closed")
        .collect();
    assert_eq!(closed.len(), 1, "{closed:?}");
    drop(guard);
}

async fn code_facts_appeals_and_checkpoints_commit_with_their_audit_records(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    app.create_user_unchecked(
        &NewUser {
            username: "commander".into(),
            display_name: "藁城区指挥部".into(),
            role: Role::Commander,
            jurisdiction: RegionCode::parse(COUNTY).unwrap(),
            password: PASSWORD.into(),
        },
        "test",
    )
    .await
    .unwrap();
    let commander = login(&app, "commander").await;
    let wang = population()[0].clone();
    let override_form = |note: &str| FactForm {
        id_type: String::new(),
        id_number: wang.id_number.clone(),
        kind: "manual_override".into(),
        anchor: String::new(),
        colour: "red".into(),
        note: note.into(),
    };

    // An override without words is refused: no fact, no record, the code stays green.
    let silent = app.add_code_fact(&commander, &override_form(" ")).await;
    assert!(matches!(silent, Err(AppError::Invalid(_))), "{silent:?}");
    assert!(
        records(&app, &world.admin, "add_code_fact", "")
            .await
            .is_empty()
    );
    let code = app
        .person_code(&commander, "", &wang.id_number)
        .await
        .unwrap();
    assert_eq!(code.code.colour, "green");
    assert!(code.facts.is_empty());

    // With words: the fact, the code it causes and the record are there together.
    let red = app
        .add_code_fact(&commander, &override_form("外省协查函（演示）"))
        .await
        .expect("an override");
    assert_eq!(red.colour, CodeColour::Red);
    let added = records(&app, &world.admin, "add_code_fact", "").await;
    assert_eq!(added.len(), 1);
    assert!(added[0].detail.starts_with("manual_override"), "{added:?}");

    // Ending it: the reason is parsed first; a second end is refused and writes nothing.
    let fact_id = app
        .person_code(&commander, "", &wang.id_number)
        .await
        .unwrap()
        .facts[0]
        .id;
    let no_reason = app.end_code_fact(&commander, fact_id, "  ").await;
    assert!(matches!(no_reason, Err(AppError::Invalid(_))));
    app.end_code_fact(&commander, fact_id, "协查解除")
        .await
        .expect("ended");
    let twice = app.end_code_fact(&commander, fact_id, "协查解除").await;
    assert!(matches!(twice, Err(AppError::Conflict(_))));
    let ended = records(&app, &world.admin, "end_code_fact", "").await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].target, fact_id.to_string());

    // An appeal and its decision: filed with a record; decided once with a record, the second
    // decision refused without one.
    let wang_id = resident_id(&app, &world.admin, &wang.id_number).await;
    app.link_resident_login(&world.admin, world.resident_user.user_id, wang_id)
        .await
        .expect("linked");
    assert_eq!(
        records(
            &app,
            &world.admin,
            "update",
            &format!("user:{}", world.resident_user.user_id)
        )
        .await
        .len(),
        1
    );
    app.add_code_fact(&commander, &override_form("外省协查函（第二次）"))
        .await
        .unwrap();
    let appeal = app
        .file_appeal(&world.resident_user, "那天我不在现场，有单位考勤为证")
        .await
        .expect("an appeal");
    let filed = records(&app, &world.admin, "file_appeal", "").await;
    assert_eq!(filed.len(), 1);
    assert_eq!(filed[0].target, format!("appeal:{appeal}"));
    app.decide_appeal(&commander, appeal, true, "考勤记录核实无误")
        .await
        .expect("accepted");
    assert_eq!(
        app.person_code(&commander, "", &wang.id_number)
            .await
            .unwrap()
            .code
            .colour,
        "green"
    );
    let again = app
        .decide_appeal(&commander, appeal, false, "重复处理")
        .await;
    assert!(matches!(again, Err(AppError::Conflict(_))), "{again:?}");
    let decided = records(&app, &world.admin, "decide_appeal", "").await;
    assert_eq!(decided.len(), 1, "{decided:?}");
    assert!(decided[0].detail.starts_with("accepted"));

    // A checkpoint: a bad kind is refused naming nothing written; a kept one has its record.
    let form = |kind: &str| CheckpointForm {
        name: "G107冀京界卡口".into(),
        kind: kind.into(),
        line: String::new(),
        region_code: COUNTY.into(),
    };
    let bad = app.create_checkpoint(&commander, &form("tollgate")).await;
    assert!(matches!(bad, Err(AppError::Invalid(_))), "{bad:?}");
    assert!(app.checkpoints(&commander).await.unwrap().is_empty());
    assert!(
        records(&app, &world.admin, "create_checkpoint", "")
            .await
            .is_empty()
    );
    let kind = fangkong_domain::checkpoint::CheckpointKind::ALL[0].code();
    let checkpoint = app
        .create_checkpoint(&commander, &form(kind))
        .await
        .expect("a checkpoint");
    let created = records(&app, &world.admin, "create_checkpoint", "").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].target, checkpoint.to_string());
    drop(guard);
}

/// Every record a resident's save can leave on `target` (`resident:<id>`): created, updated,
/// saved unchanged.
async fn resident_records(app: &App, admin: &Actor, target: &str) -> Vec<AuditRecord> {
    let mut all = Vec::new();
    for action in ["create", "update", "unchanged"] {
        all.extend(
            records(app, admin, action, target)
                .await
                .into_iter()
                .filter(|r| r.target == target),
        );
    }
    all
}

async fn a_saved_resident_and_its_audit_record_commit_together(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let raw = |row: &Row| RawResidentRow::from_owned_fields(row.fields().to_vec());
    let victim = population()[0].clone(); // 王建国, grid A1
    let victim_id = resident_id(&app, &world.admin, &victim.id_number).await;
    let victim_target = format!("resident:{victim_id}");
    assert!(
        resident_records(&app, &world.admin, &victim_target)
            .await
            .is_empty()
    );

    // Refused by the store inside the write's transaction: registered in another jurisdiction.
    let mut takeover = victim.clone();
    takeover.household = "B1-0099".into();
    takeover.grid = GRID_B1.into();
    let refused = app.save_resident(&world.worker_b, &raw(&takeover)).await;
    assert!(
        matches!(&refused, Err(AppError::Conflict(m)) if m == REGISTERED_ELSEWHERE),
        "{refused:?}"
    );
    // Refused the same way: a new person in a household of another grid.
    let commander = &world.commander_a;
    let mut stray = Row::person(
        "赵新",
        "19900101",
        131,
        "13900000041",
        "A1-0001",
        "户主",
        GRID_A2,
    );
    let refused = app.save_resident(commander, &raw(&stray)).await;
    assert!(
        matches!(&refused, Err(AppError::Conflict(_))),
        "{refused:?}"
    );
    // Neither left a record, on the person or anywhere (the stray row has no id to name).
    assert!(
        resident_records(&app, &world.admin, &victim_target)
            .await
            .is_empty()
    );
    for action in ["create", "update", "unchanged"] {
        assert!(
            records(&app, &world.admin, action, "resident:")
                .await
                .is_empty(),
            "a refused save left a {action} record"
        );
    }

    // Saved: exactly one record per save, naming the person and what happened.
    stray.household = "A2-0099".into();
    let (id, outcome) = app
        .save_resident(commander, &raw(&stray))
        .await
        .expect("a new person in their own household");
    assert_eq!(outcome, RowOutcome::Inserted);
    assert_eq!(id, resident_id(&app, &world.admin, &stray.id_number).await);
    let target = format!("resident:{id}");
    let saved = resident_records(&app, &world.admin, &target).await;
    assert_eq!(saved.len(), 1, "{saved:?}");
    assert_eq!(
        (saved[0].action.as_str(), saved[0].user_id),
        ("create", Some(commander.user_id))
    );

    let (again, outcome) = app
        .save_resident(commander, &raw(&stray))
        .await
        .expect("the same row again");
    assert_eq!((again, outcome), (id, RowOutcome::Unchanged));
    let mut moved_phone = stray.clone();
    moved_phone.phone = "13900000042".into();
    let (again, outcome) = app
        .save_resident(commander, &raw(&moved_phone))
        .await
        .expect("a new phone");
    assert_eq!((again, outcome), (id, RowOutcome::Updated));
    let mut actions: Vec<String> = resident_records(&app, &world.admin, &target)
        .await
        .into_iter()
        .map(|r| r.action)
        .collect();
    actions.sort();
    assert_eq!(actions, ["create", "unchanged", "update"]);
    assert!(
        resident_records(&app, &world.admin, &victim_target)
            .await
            .is_empty()
    );
}
