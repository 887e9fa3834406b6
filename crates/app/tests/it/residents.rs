//! Who a person belongs to: a resident registered elsewhere cannot be taken over (H1), a move between
//! grids is its own audited action, a move-in request (迁入申请) is decided by the person's current
//! jurisdiction, people not in the register have a jurisdiction, and only the roles that reach people
//! search the register. Each story runs on SQLite and, with FANGKONG_TEST_POSTGRES, on PostgreSQL.

use std::fmt::Debug;

use crate::support::*;
use fangkong_app::auth::NewUser;
use fangkong_app::health_code::FactForm;
use fangkong_app::population::{Destination, GridMoveForm, MoveInForm, REGISTERED_ELSEWHERE};
use fangkong_app::{Actor, App, AppError, AppResult};
use fangkong_domain::region::RegionCode;
use fangkong_domain::resident_row::RawResidentRow;
use fangkong_domain::role::Role;

#[track_caller]
/// Refused for lying outside the jurisdiction: a target looked up by id answers exactly like a missing
/// one (`NotFound`, so ids cannot be probed); a person named by a typed ID number is `OutsideJurisdiction`.
fn assert_outside<T: Debug>(result: AppResult<T>, what: &str) {
    match result {
        Err(AppError::OutsideJurisdiction) | Err(AppError::NotFound(_)) => {}
        other => panic!("{what}: expected OutsideJurisdiction or NotFound, got {other:?}"),
    }
}

#[track_caller]
fn assert_forbidden<T: Debug>(result: AppResult<T>, what: &str) {
    match result {
        Err(AppError::Forbidden { .. }) => {}
        other => panic!("{what}: expected Forbidden, got {other:?}"),
    }
}

#[track_caller]
fn message_of<T: Debug>(result: AppResult<T>, what: &str) -> String {
    match result {
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => e.to_string(),
        other => panic!("{what}: expected Invalid or Conflict, got {other:?}"),
    }
}

fn raw(row: &Row) -> RawResidentRow {
    RawResidentRow::from_owned_fields(row.fields().to_vec())
}

async fn user(app: &App, username: &str, role: Role, jurisdiction: &str) -> Actor {
    app.create_user_unchecked(
        &NewUser {
            username: username.to_string(),
            display_name: username.to_string(),
            role,
            jurisdiction: RegionCode::parse(jurisdiction).expect("region code"),
            password: PASSWORD.to_string(),
        },
        "test",
    )
    .await
    .unwrap_or_else(|e| panic!("create user {username}: {e}"));
    login(app, username).await
}

async fn residents_of(app: &App, admin: &Actor, code: &str) -> (i64, i64) {
    let o = app.region_overview(admin, code).await.expect("overview");
    (o.residents, o.households)
}

/// grid_stats agree with the rows, region by region.
async fn assert_counts_true(app: &App, admin: &Actor) {
    for grid in [GRID_A1, GRID_A2, GRID_B1] {
        let code = RegionCode::parse(grid).expect("grid");
        let (lower, upper) = code.subtree_range();
        let scanned = app
            .store_for_tools()
            .count_residents_by_scan((&lower, &upper))
            .await
            .expect("scan");
        assert_eq!(
            residents_of(app, admin, grid).await.0,
            scanned,
            "grid_stats of {grid}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 1. H1: no take-over by the form, the API's save or an import; grid moves are explicit
// ---------------------------------------------------------------------------------------------

story!(
    story_no_takeover,
    sqlite_a_person_registered_elsewhere_cannot_be_taken_over_and_a_grid_move_is_its_own_audited_action,
    postgres_a_person_registered_elsewhere_cannot_be_taken_over_and_a_grid_move_is_its_own_audited_action
);

async fn story_no_takeover(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let victim = population()[0].clone(); // 王建国, grid A1
    let victim_id = resident_id(&app, &world.admin, &victim.id_number).await;
    let before_a1 = residents_of(&app, &world.admin, GRID_A1).await;
    let before_b1 = residents_of(&app, &world.admin, GRID_B1).await;

    // A grid worker of township B registers the same ID number in their own grid.
    let mut takeover = victim.clone();
    takeover.name = "某某".into();
    takeover.phone = String::new();
    takeover.household = "B1-0099".into();
    takeover.address = "增村某处".into();
    takeover.grid = GRID_B1.into();
    let refused = message_of(
        app.save_resident(&world.worker_b, &raw(&takeover)).await,
        "take-over by the form",
    );
    assert_eq!(refused, REGISTERED_ELSEWHERE);
    for leak in [GRID_A1, VILLAGE_A1, TOWNSHIP_A, "西城街", "廉州", "王建国"] {
        assert!(
            !refused.contains(leak),
            "the refusal names {leak}: {refused}"
        );
    }
    // The same through an import, next to a good new row of grid B1.
    let newcomer = Row::person(
        "吴新",
        "19930303",
        121,
        "13900000031",
        "B1-0003",
        "户主",
        GRID_B1,
    );
    let path = guard.path("move.csv");
    write_csv(&path, &[takeover.clone(), newcomer.clone()]);
    let report = app
        .import_residents(&world.worker_b, &path, "move.csv")
        .await
        .expect("import");
    assert_eq!(
        (report.inserted, report.updated, report.problem_rows),
        (1, 0, 1),
        "{report:?}"
    );
    assert_eq!(report.problems[0].row_number, 2);
    assert_eq!(report.problems[0].column, "证件号码");
    assert_eq!(report.problems[0].message, REGISTERED_ELSEWHERE);
    // The person is untouched, still in A1, out of B's sight; the household was not created.
    let still = app.resident(&world.admin, victim_id).await.expect("victim");
    assert_eq!(
        (still.name.as_str(), still.grid_code.as_str()),
        ("王建国", GRID_A1)
    );
    assert_eq!(still.phone_masked, "139****0001");
    assert_outside(
        app.resident(&world.worker_b, victim_id).await,
        "B after the attempts",
    );
    assert_eq!(residents_of(&app, &world.admin, GRID_A1).await, before_a1);
    assert_eq!(
        residents_of(&app, &world.admin, GRID_B1).await,
        (before_b1.0 + 1, before_b1.1 + 1),
        "only the newcomer and their household landed in B1"
    );

    // Inside the jurisdiction, an edit or import cannot move a person to another grid either.
    let commander = &world.commander_a;
    let mut regrid = victim.clone();
    regrid.grid = GRID_A2.into();
    regrid.household = "A2-0001".into();
    let refused = message_of(
        app.save_resident(commander, &raw(&regrid)).await,
        "grid change by an edit",
    );
    assert!(
        refused.contains("迁移网格") && refused.contains(GRID_A1),
        "{refused}"
    );
    let path = guard.path("regrid.csv");
    write_csv(&path, std::slice::from_ref(&regrid));
    let report = app
        .import_residents(commander, &path, "regrid.csv")
        .await
        .expect("import");
    assert_eq!((report.updated, report.problem_rows), (0, 1), "{report:?}");
    assert_eq!(report.problems[0].column, "网格编码");
    assert!(report.problems[0].message.contains("迁移网格"));
    // An ordinary edit in the same grid still lands.
    let mut new_phone = victim.clone();
    new_phone.phone = "13900000099".into();
    let (id, outcome) = app
        .save_resident(commander, &raw(&new_phone))
        .await
        .expect("edit in the same grid");
    assert_eq!(id, victim_id);
    assert_eq!(outcome, fangkong_app::records::RowOutcome::Updated);

    // The move between grids: explicit, with a reason, inside the jurisdiction only.
    let to_a2 = |reason: &str| GridMoveForm {
        to: Destination {
            grid_code: GRID_A2.into(),
            household_number: "A2-0009".into(),
            address: "文源社区9号".into(),
            relation: "户主".into(),
        },
        reason: reason.into(),
    };
    message_of(
        app.move_resident_grid(commander, victim_id, &to_a2(" "))
            .await,
        "a move without a reason",
    );
    assert_outside(
        app.move_resident_grid(&world.worker_b, victim_id, &to_a2("搬家"))
            .await,
        "B moves A's resident",
    );
    let mut to_b1 = to_a2("搬家");
    to_b1.to.grid_code = GRID_B1.into();
    assert_outside(
        app.move_resident_grid(commander, victim_id, &to_b1).await,
        "A moves a resident out to B",
    );
    assert_forbidden(
        app.move_resident_grid(&world.lab, victim_id, &to_a2("搬家"))
            .await,
        "a lab moves a resident",
    );
    let before_a2 = residents_of(&app, &world.admin, GRID_A2).await;
    let before_a1 = residents_of(&app, &world.admin, GRID_A1).await;
    let moved = app
        .move_resident_grid(commander, victim_id, &to_a2("搬到文源社区"))
        .await
        .expect("move");
    assert_eq!(
        (moved.grid_code.as_str(), moved.household_number.as_str()),
        (GRID_A2, "A2-0009")
    );
    assert_eq!(
        moved.phone_masked, "139****0099",
        "the rest of the row stays"
    );
    assert_eq!(
        residents_of(&app, &world.admin, GRID_A1).await,
        (before_a1.0 - 1, before_a1.1)
    );
    assert_eq!(
        residents_of(&app, &world.admin, GRID_A2).await,
        (before_a2.0 + 1, before_a2.1 + 1)
    );
    assert_counts_true(&app, &world.admin).await;
    let audit = app
        .audit_log(&world.admin, "move_grid", None)
        .await
        .expect("audit");
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].target, format!("resident:{victim_id}"));
    for part in [GRID_A1, GRID_A2, "A1-0001", "A2-0009", "搬到文源社区"] {
        assert!(audit[0].detail.contains(part), "{}", audit[0].detail);
    }
    // Re-importing the moved row (as exported) is unchanged: the content hash was recomputed.
    let export = guard.path("a.csv");
    app.export_residents(
        commander,
        GRID_A2,
        fangkong_app::import::FileFormat::Csv,
        &export,
    )
    .await
    .expect("export");
    let report = app
        .import_residents(commander, &export, "a.csv")
        .await
        .expect("re-import");
    assert_eq!((report.updated, report.problem_rows), (0, 0), "{report:?}");
}

// ---------------------------------------------------------------------------------------------
// 2. The move-in request (迁入申请)
// ---------------------------------------------------------------------------------------------

story!(
    story_move_in,
    sqlite_a_move_in_request_is_decided_by_the_current_jurisdiction_and_moves_the_person_audited,
    postgres_a_move_in_request_is_decided_by_the_current_jurisdiction_and_moves_the_person_audited
);

fn move_in_form(row: &Row, name: &str) -> MoveInForm {
    MoveInForm {
        id_type: "mainland_id".into(),
        id_number: row.id_number.clone(),
        name: name.into(),
        to: Destination {
            grid_code: GRID_B1.into(),
            household_number: "B1-0007".into(),
            address: "增村7号".into(),
            relation: "户主".into(),
        },
        reason: "投靠子女".into(),
    }
}

async fn story_move_in(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let person = population()[1].clone(); // 王秀英, A1, phone 13900000002
    let person_id = resident_id(&app, &world.admin, &person.id_number).await;
    let requester = &world.worker_b;
    let current = &world.worker_a;

    // Only for people registered elsewhere; roles that do not register people cannot file.
    let unknown = Row::person("无名", "19910101", 131, "", "B1-0008", "户主", GRID_B1);
    let m = message_of(
        app.file_move_in(requester, &move_in_form(&unknown, "无名"))
            .await,
        "unknown ID number",
    );
    assert!(m.contains("直接登记"), "{m}");
    let own = population_in(TOWNSHIP_B)[0].clone();
    let m = message_of(
        app.file_move_in(requester, &move_in_form(&own, &own.name))
            .await,
        "own resident",
    );
    assert!(m.contains("迁移网格"), "{m}");
    assert_forbidden(
        app.file_move_in(&world.lab, &move_in_form(&person, "王秀英"))
            .await,
        "a lab files a move-in",
    );
    let mut into_a = move_in_form(&person, "王秀英");
    into_a.to.grid_code = GRID_A2.into();
    assert_outside(
        app.file_move_in(requester, &into_a).await,
        "a destination outside the requester's jurisdiction",
    );

    let first = app
        .file_move_in(requester, &move_in_form(&person, "王秀英"))
        .await
        .expect("file");
    let second = app
        .file_move_in(requester, &move_in_form(&person, "王秀"))
        .await
        .expect("file again");

    // The requester sees what they typed and the status, nothing of the register.
    let seen = app.move_in(requester, first).await.expect("requester view");
    assert_eq!(seen.status, "pending");
    assert!(seen.person.is_none() && seen.from_grid.is_none() && !seen.can_decide);
    let json = serde_json::to_string(&seen).expect("json");
    for leak in [
        GRID_A1,
        "A1-0001",
        "13900000002",
        "139****0002",
        "西城街",
        "resident_id",
        "\"person\"",
        "from_grid",
    ] {
        assert!(
            !json.contains(leak),
            "the requester's view shows {leak}: {json}"
        );
    }
    let m = message_of(
        app.decide_move_in(requester, first, true, "").await,
        "the requester approves their own request",
    );
    assert!(m.contains("原登记辖区"), "{m}");
    // Someone of neither side does not see it at all.
    let other = user(&app, "worker_c", Role::GridWorker, VILLAGE_A2).await;
    assert!(matches!(
        app.move_in(&other, first).await,
        Err(AppError::NotFound(_))
    ));

    // The current jurisdiction has both in its inbox, with the registered person.
    let lists = app.move_ins(current).await.expect("inbox");
    assert_eq!(lists.inbox.len(), 2);
    assert!(lists.sent.is_empty());
    let item = app.move_in(current, second).await.expect("current view");
    assert!(item.can_decide);
    assert_eq!(item.from_grid.as_deref(), Some(GRID_A1));
    assert_eq!(
        item.person.as_ref().map(|p| p.name.as_str()),
        Some("王秀英")
    );
    assert_eq!(item.name, "王秀");
    let m = message_of(
        app.decide_move_in(current, second, false, "  ").await,
        "a refusal without a reason",
    );
    assert!(m.contains("原因"), "{m}");
    let refused = app
        .decide_move_in(current, second, false, "姓名不符，请核实")
        .await
        .expect("refuse");
    assert_eq!(refused.status, "refused");
    // The refusal committed with its audit record; a second decision is refused and writes none.
    let target = format!("move_in:{second}");
    assert_eq!(
        audit_rows_of(&app, "move_in_refuse", &target).await.len(),
        1
    );
    assert!(matches!(
        app.decide_move_in(current, second, false, "再次拒绝").await,
        Err(AppError::Conflict(_))
    ));
    assert_eq!(
        audit_rows_of(&app, "move_in_refuse", &target).await.len(),
        1
    );
    let outcome = app.move_in(requester, second).await.expect("outcome");
    assert_eq!(
        (outcome.status.as_str(), outcome.decision_reason.as_str()),
        ("refused", "姓名不符，请核实")
    );
    assert_outside(
        app.resident(requester, person_id).await,
        "refused: still outside",
    );

    // Approval moves the person in one transaction, audited with before and after.
    let a1 = residents_of(&app, &world.admin, GRID_A1).await;
    let b1 = residents_of(&app, &world.admin, GRID_B1).await;
    let approved = app
        .decide_move_in(current, first, true, "已核实搬走")
        .await
        .expect("approve");
    assert_eq!(approved.status, "approved");
    assert!(!approved.can_decide);
    let now_in_b = app.resident(requester, person_id).await.expect("moved in");
    assert_eq!(
        (
            now_in_b.grid_code.as_str(),
            now_in_b.household_number.as_str(),
            now_in_b.address.as_str()
        ),
        (GRID_B1, "B1-0007", "增村7号")
    );
    assert_eq!(now_in_b.name, "王秀英", "the register keeps its own name");
    assert_outside(
        app.resident(current, person_id).await,
        "the old jurisdiction after the move",
    );
    assert_eq!(
        residents_of(&app, &world.admin, GRID_A1).await,
        (a1.0 - 1, a1.1)
    );
    assert_eq!(
        residents_of(&app, &world.admin, GRID_B1).await,
        (b1.0 + 1, b1.1 + 1)
    );
    assert_counts_true(&app, &world.admin).await;
    let audit = app
        .audit_log(&world.admin, "move_in_approve", None)
        .await
        .expect("audit");
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].username, "worker_a");
    for part in [GRID_A1, GRID_B1, "A1-0001", "B1-0007"] {
        assert!(audit[0].detail.contains(part), "{}", audit[0].detail);
    }
    assert_eq!(
        app.audit_log(&world.admin, "move_in_request", None)
            .await
            .expect("audit")
            .len(),
        2
    );
    // Decided once only; the requester now sees the person (they are theirs).
    assert!(matches!(
        app.decide_move_in(current, first, true, "").await,
        Err(AppError::NotFound(_) | AppError::Conflict(_))
    ));
    let seen = app.move_in(requester, first).await.expect("requester");
    assert_eq!(seen.person.map(|p| p.id), Some(person_id));
    // The person is now registered in B: A can no longer register them either.
    let mut back = person.clone();
    back.household = "A1-0001".into();
    assert_eq!(
        message_of(
            app.save_resident(current, &raw(&back)).await,
            "A re-registers the person"
        ),
        REGISTERED_ELSEWHERE
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Each role sees what its work needs
// ---------------------------------------------------------------------------------------------

story!(
    story_register_roles,
    sqlite_labs_checkpoints_and_samplers_cannot_search_the_register_and_a_grid_worker_searches_their_own,
    postgres_labs_checkpoints_and_samplers_cannot_search_the_register_and_a_grid_worker_searches_their_own
);

async fn story_register_roles(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let checkpoint = user(&app, "checkpoint", Role::Checkpoint, COUNTY).await;
    let duty = user(&app, "duty", Role::DutyOfficer, COUNTY).await;
    let epidemiologist = user(&app, "epi_a", Role::Epidemiologist, TOWNSHIP_A).await;
    let someone = population()[0].clone();
    let id = resident_id(&app, &world.admin, &someone.id_number).await;
    for (actor, what) in [
        (&world.lab, "lab"),
        (&checkpoint, "checkpoint"),
        (&world.sampler_a, "sampler"),
        (&duty, "duty officer"),
    ] {
        assert_forbidden(app.search_residents(actor, "王").await, what);
        assert_forbidden(app.resident(actor, id).await, what);
        assert_forbidden(app.household(actor, &someone.household).await, what);
    }
    // Those who reach people search inside their jurisdiction only.
    let names = |found: Vec<fangkong_app::population::ResidentView>| {
        let mut names: Vec<String> = found.into_iter().map(|r| r.name).collect();
        names.sort();
        names
    };
    let a_wang = vec!["王小明", "王建国", "王秀英"];
    assert_eq!(
        names(app.search_residents(&world.worker_a, "王").await.unwrap()),
        a_wang
    );
    assert_eq!(
        names(app.search_residents(&epidemiologist, "王").await.unwrap()),
        a_wang
    );
    assert_eq!(
        names(app.search_residents(&world.worker_b, "王").await.unwrap()),
        vec!["王大力"]
    );
    assert_eq!(
        app.search_residents(&world.admin, "王")
            .await
            .unwrap()
            .len(),
        4
    );
}

// ---------------------------------------------------------------------------------------------
// 4. People not in the register have a jurisdiction
// ---------------------------------------------------------------------------------------------

story!(
    story_unregistered,
    sqlite_a_person_outside_the_register_belongs_to_the_region_that_first_recorded_them,
    postgres_a_person_outside_the_register_belongs_to_the_region_that_first_recorded_them
);

async fn story_unregistered(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let epi_a = user(&app, "epi_a", Role::Epidemiologist, TOWNSHIP_A).await;
    let epi_b = user(&app, "epi_b", Role::Epidemiologist, TOWNSHIP_B).await;
    // An arrival nobody registered: township A codes them first.
    let stranger = Row::person("外来", "19850505", 141, "", "X-1", "户主", GRID_A1);
    let fact = |kind: &str| FactForm {
        id_type: "mainland_id".into(),
        id_number: stranger.id_number.clone(),
        kind: kind.into(),
        anchor: String::new(),
        colour: String::new(),
        note: String::new(),
    };
    app.add_code_fact(&epi_a, &fact("close_contact"))
        .await
        .expect("A codes the stranger");
    // Township B may not add facts, end them, look the code up or record the community check.
    assert_outside(
        app.add_code_fact(&epi_b, &fact("close_contact")).await,
        "B adds a fact",
    );
    let code = app
        .person_code(&epi_a, "mainland_id", &stranger.id_number)
        .await
        .expect("A looks the code up");
    assert_eq!(
        code.grid_code, TOWNSHIP_A,
        "the person belongs to township A"
    );
    let fact_id = code.facts[0].id;
    assert_outside(
        app.person_code(&epi_b, "mainland_id", &stranger.id_number)
            .await,
        "B looks the code up",
    );
    assert_outside(
        app.end_code_fact(&epi_b, fact_id, "误录").await,
        "B ends the fact",
    );
    assert_outside(
        app.record_community_check(&world.worker_b, "mainland_id", &stranger.id_number)
            .await,
        "B's grid worker records the community check",
    );
    // Township A does all of it.
    app.record_community_check(&world.worker_a, "mainland_id", &stranger.id_number)
        .await
        .expect("A's grid worker checks");
    app.end_code_fact(&epi_a, fact_id, "误录")
        .await
        .expect("A ends the fact");
}
