//! A resident's move (迁移网格, an approved 迁入申请) as one fact every module acts on: the move writes
//! a `resident_moved` person event in its own transaction (a refused move writes none), and the
//! background passes carry it — an open lead goes to the new grid's worker (a landed one stays), a
//! home measure follows, an open round's target and unswabbed lists follow while a swab already
//! taken counts where it was taken, and the health code (which does not depend on the grid) keeps
//! its colour while its stored row moves to the grid the person lives in. The consistency audit reports what the passes have not carried yet.

use crate::support::*;
use chrono::Duration;
use fangkong_app::auth::NewUser;
use fangkong_app::check::CheckReport;
use fangkong_app::health_code::FactForm;
use fangkong_app::leads::{LeadFilter, LeadForm, OutcomeForm};
use fangkong_app::mass_testing::{RoundForm, SamplingBatch, ScanAction, ScanInput, SiteForm};
use fangkong_app::population::{Destination, GridMoveForm, MoveInForm};
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::mass_testing::TubeBarcode;
use fangkong_domain::person_event::{RESIDENT_MOVED, ResidentMovedEvent};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

story!(
    a_move_takes_open_leads_and_home_measures_to_the_new_grid,
    move_leads_sqlite,
    move_leads_postgres
);
story!(
    a_move_keeps_both_grids_round_progress_right,
    move_round_sqlite,
    move_round_postgres
);
story!(
    an_approved_move_in_carries_the_lead_and_the_round_target,
    move_in_sqlite,
    move_in_postgres
);
story!(
    a_move_is_one_transaction_with_its_event,
    move_event_sqlite,
    move_event_postgres
);

async fn user(app: &App, username: &str, role: Role, region: &str) -> Actor {
    app.create_user_unchecked(
        &NewUser {
            username: username.into(),
            display_name: format!("{username} 用户"),
            role,
            jurisdiction: RegionCode::parse(region).unwrap(),
            password: PASSWORD.into(),
        },
        "test",
    )
    .await
    .unwrap();
    login(app, username).await
}

fn person(name: &str) -> Row {
    population().into_iter().find(|r| r.name == name).unwrap()
}

fn to_grid(grid: &str, household: &str) -> GridMoveForm {
    GridMoveForm {
        to: Destination {
            grid_code: grid.into(),
            household_number: household.into(),
            address: format!("{household}号院"),
            relation: "户主".into(),
        },
        reason: "搬到新住址".into(),
    }
}

fn screening(id_number: &str) -> LeadForm {
    LeadForm {
        channel: "grid_screening".into(),
        category: "left_medium_risk_area".into(),
        id_number: id_number.into(),
        came_from: "北京市朝阳区".into(),
        reason: "敲门排查发现".into(),
        ..LeadForm::default()
    }
}

async fn lead_ids(app: &App, actor: &Actor) -> Vec<i64> {
    app.leads_list(actor, &LeadFilter::default())
        .await
        .unwrap()
        .rows
        .iter()
        .map(|l| l.id)
        .collect()
}

fn count_of(report: &CheckReport, key: &str) -> i64 {
    report
        .results
        .iter()
        .find(|r| r.key == key)
        .unwrap_or_else(|| panic!("no invariant {key}"))
        .violations
        .count
}

async fn passes(app: &App) {
    app.try_run_event_passes().await.expect("event passes");
    app.try_run_code_events().await.expect("code events");
}

async fn moved_events(app: &App) -> Vec<(ResidentMovedEvent, fangkong_store::PersonEventRecord)> {
    app.store_for_tools()
        .person_events_after(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == RESIDENT_MOVED)
        .map(|e| (serde_json::from_str(&e.detail).expect("move detail"), e))
        .collect()
}

async fn a_move_takes_open_leads_and_home_measures_to_the_new_grid(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let old_worker = user(&app, "grid_a1", Role::GridWorker, GRID_A1).await;
    let new_worker = user(&app, "grid_a2", Role::GridWorker, GRID_A2).await;
    let epi = user(&app, "epi", Role::Epidemiologist, COUNTY).await;
    let commander = &world.commander_a;
    let zhang = person("张伟"); // A1, will move with an open lead
    let wang = person("王秀英"); // A1, will move with a landed lead and a home measure

    let open = app
        .create_lead(commander, &screening(&zhang.id_number))
        .await
        .expect("open lead");
    let landed = app
        .create_lead(commander, &screening(&wang.id_number))
        .await
        .expect("lead to land");
    app.record_lead_outcome(
        &old_worker,
        landed,
        &OutcomeForm {
            kind: "controlled".into(),
            measure: "home_isolation".into(),
            ..OutcomeForm::default()
        },
    )
    .await
    .expect("landed at home");
    // 王秀英 has a code fact too: her colour must survive the move.
    app.add_code_fact(
        &epi,
        &FactForm {
            id_type: "mainland_id".into(),
            id_number: wang.id_number.clone(),
            kind: "close_contact".into(),
            anchor: String::new(),
            colour: String::new(),
            note: String::new(),
        },
    )
    .await
    .expect("fact");
    passes(&app).await;
    let code_before = app
        .person_code(&epi, "mainland_id", &wang.id_number)
        .await
        .expect("code before");
    assert_ne!(code_before.code.colour, "green", "{:?}", code_before.code);
    let stored_grid = |app: &App| {
        let person = fangkong_store::CodePerson {
            id_type: "mainland_id".into(),
            id_number: wang.id_number.as_str().into(),
        };
        let store = app.store_for_tools().clone();
        async move {
            store
                .health_code(&person)
                .await
                .unwrap()
                .expect("a stored code")
                .grid_code
        }
    };
    assert_eq!(stored_grid(&app).await, GRID_A1);
    let home_a1 = app.home_board(&old_worker).await.unwrap();
    assert_eq!(home_a1.people.rows.len(), 1, "the home measure is A1's");
    let measure = home_a1.people.rows[0].measure_id;
    assert_eq!(lead_ids(&app, &old_worker).await, [landed, open]);
    assert!(lead_ids(&app, &new_worker).await.is_empty());
    let clean = app.check_consistency(Duration::zero()).await.unwrap();
    assert!(clean.is_clean(), "{clean}");

    // Both move to A2 (文源社区).
    let zhang_id = resident_id(&app, &world.admin, &zhang.id_number).await;
    let wang_id = resident_id(&app, &world.admin, &wang.id_number).await;
    app.move_resident_grid(commander, zhang_id, &to_grid(GRID_A2, "A2-0031"))
        .await
        .expect("move 张伟");
    app.move_resident_grid(commander, wang_id, &to_grid(GRID_A2, "A2-0032"))
        .await
        .expect("move 王秀英");

    // Until the passes carry the move, the audit says so in words.
    let before = app.check_consistency(Duration::zero()).await.unwrap();
    assert_eq!(count_of(&before, "open_lead_follows_move"), 1, "{before}");
    assert_eq!(count_of(&before, "measure_follows_move"), 1, "{before}");
    assert!(
        before.to_string().contains(&format!("线索#{open}")),
        "{before}"
    );
    // Settling: a move just made is not reported while the passes have time to carry it.
    let settling = app
        .check_consistency(fangkong_app::check::SETTLING)
        .await
        .unwrap();
    assert!(settling.is_clean(), "{settling}");

    passes(&app).await;
    let after = app.check_consistency(Duration::zero()).await.unwrap();
    assert!(after.is_clean(), "{after}");

    // The open lead is the new grid worker's, and no longer the old one's; the landed one stays.
    assert_eq!(lead_ids(&app, &new_worker).await, [open]);
    assert_eq!(lead_ids(&app, &old_worker).await, [landed]);
    assert!(matches!(
        app.lead_detail(&old_worker, open).await,
        Err(AppError::NotFound(_))
    ));
    let detail = app.lead_detail(&new_worker, open).await.expect("detail");
    assert_eq!(detail.lead.grid_code, GRID_A2);
    assert_eq!(detail.lead.status, "pending");
    let step = detail.steps.last().expect("a step");
    assert_eq!(
        (
            step.step.as_str(),
            step.from_code.as_str(),
            step.to_code.as_str()
        ),
        ("moved", GRID_A1, GRID_A2)
    );
    assert!(
        step.note.starts_with("迁移网格：由 西城街第一网格")
            && step.note.contains("转至 文源第一网格"),
        "{}",
        step.note
    );
    let kept = app.lead_detail(&world.admin, landed).await.expect("landed");
    assert_eq!(
        (kept.lead.grid_code.as_str(), kept.lead.status.as_str()),
        (GRID_A1, "controlled")
    );
    assert!(kept.steps.iter().all(|s| s.step != "moved"));

    // The home measure is checked in by the new grid's worker.
    assert!(
        app.home_board(&old_worker)
            .await
            .unwrap()
            .people
            .rows
            .is_empty()
    );
    let home_a2 = app.home_board(&new_worker).await.unwrap();
    assert_eq!(home_a2.people.rows.len(), 1);
    assert_eq!(home_a2.people.rows[0].measure_id, measure);
    assert_eq!(home_a2.people.rows[0].grid_code, GRID_A2);

    // The code does not depend on the grid: the same colour and reasons, now shown where she lives.
    let code_after = app
        .person_code(&epi, "mainland_id", &wang.id_number)
        .await
        .expect("code after");
    assert_eq!(code_after.grid_code, GRID_A2);
    // The stored code (what the jurisdictions' colour counts and lists read) is kept where she lives.
    assert_eq!(stored_grid(&app).await, GRID_A2);
    assert_eq!(
        (
            code_after.code.colour.as_str(),
            code_after.code.summary.as_str()
        ),
        (
            code_before.code.colour.as_str(),
            code_before.code.summary.as_str()
        )
    );

    // A second pass changes nothing (each event is carried once).
    passes(&app).await;
    let again = app.lead_detail(&new_worker, open).await.unwrap();
    assert_eq!(again.steps.len(), detail.steps.len());
}

// ---------------------------------------------------------------------------------------------
// Mass testing
// ---------------------------------------------------------------------------------------------

struct Round {
    id: i64,
    site: i64,
    first_serial: u64,
}

/// A 5-in-1 round over township A (A1: 6 residents, A2: 2) with a site in village A1.
async fn open_round(app: &App, world: &World) -> Round {
    let id = app
        .open_round(
            &world.commander_a,
            &RoundForm {
                name: "廉州镇第1轮全员核酸检测".into(),
                kind: "whole".into(),
                region_code: TOWNSHIP_A.into(),
                pool_size: "5".into(),
                tubes: "100".into(),
                ..Default::default()
            },
        )
        .await
        .expect("open round");
    let round = app.round(&world.commander_a, id).await.expect("round");
    let first = TubeBarcode::parse(&round.tube_ranges[0].0).expect("barcode");
    let site = app
        .create_site(
            &world.commander_a,
            id,
            &SiteForm {
                region_code: VILLAGE_A1.into(),
                name: "西城街社区广场采样点".into(),
                tables: "2".into(),
                ..Default::default()
            },
        )
        .await
        .expect("site");
    Round {
        id,
        site,
        first_serial: first.serial(),
    }
}

static SCANS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Swabs the people into tube `n` of the round.
async fn swab(app: &App, world: &World, round: &Round, n: u64, people: &[&Row]) {
    let tube = TubeBarcode::from_serial(round.first_serial + n)
        .unwrap()
        .to_string();
    let scans = people
        .iter()
        .map(|p| ScanInput {
            scan_id: format!(
                "move-{}",
                SCANS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            ),
            tube: tube.clone(),
            action: ScanAction::Bind,
            purpose: None,
            id_type: String::new(),
            id_number: p.id_number.clone(),
            name: String::new(),
            scanned_at: None,
            occurred_at: String::new(),
        })
        .collect();
    let results = app
        .submit_scans(
            &world.sampler_a,
            &SamplingBatch {
                round_id: round.id,
                site_id: round.site,
                table_no: 1,
                scans,
            },
        )
        .await
        .expect("scans");
    assert!(results.iter().all(|r| r.ok), "{results:?}");
}

/// (target, sampled, exempt) of a grid and the names on its unswabbed list.
async fn grid_line(
    app: &App,
    world: &World,
    round: &Round,
    grid: &str,
) -> ((i64, i64, i64), Vec<String>) {
    let coverage = app
        .grid_coverage(&world.commander_a, round.id, grid)
        .await
        .expect("coverage");
    let mut names: Vec<String> = coverage
        .missing
        .iter()
        .chain(coverage.exempted.iter())
        .map(|m| m.name.clone())
        .collect();
    names.sort();
    (
        (
            coverage.line.target,
            coverage.line.sampled,
            coverage.line.exempt,
        ),
        names,
    )
}

fn names(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

async fn a_move_keeps_both_grids_round_progress_right(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let round = open_round(&app, &world).await;
    let commander = &world.commander_a;
    let (jianguo, xiuying, xiaoming, lihua, lina, zhangwei, zhaomin, liuyang) = (
        person("王建国"),
        person("王秀英"),
        person("王小明"),
        person("李华"),
        person("李娜"),
        person("张伟"),
        person("赵敏"),
        person("刘洋"),
    );
    // A1: 王建国 swabbed; A2: both swabbed (sampled = target).
    swab(&app, &world, &round, 0, &[&jianguo, &zhaomin, &liuyang]).await;
    // 李娜 is exempt (bedridden): her exemption moves with her.
    let lina_id = resident_id(&app, &world.admin, &lina.id_number).await;
    app.set_exemption(&world.worker_a, round.id, lina_id, "bedridden", "行动不便")
        .await
        .expect("exempt");
    assert_eq!(
        grid_line(&app, &world, &round, GRID_A1).await,
        (
            (6, 1, 1),
            names(&["王秀英", "王小明", "李华", "李娜", "张伟"])
        )
    );
    assert_eq!(
        grid_line(&app, &world, &round, GRID_A2).await,
        ((2, 2, 0), vec![])
    );

    // 王建国, already swabbed in A1, moves: his swab and his place in the target stay in A1, and
    // he is on neither unswabbed list. 张伟 and 李娜, not swabbed, take their place to A2.
    for (row, household) in [
        (&jianguo, "A2-0041"),
        (&zhangwei, "A2-0042"),
        (&lina, "A2-0043"),
    ] {
        app.move_resident_grid(
            commander,
            resident_id(&app, &world.admin, &row.id_number).await,
            &to_grid(GRID_A2, household),
        )
        .await
        .expect("move");
    }
    // Before the pass the lists already follow the register (they are read from it).
    let (_, a2_list) = grid_line(&app, &world, &round, GRID_A2).await;
    assert_eq!(a2_list, names(&["张伟", "李娜"]));
    passes(&app).await;
    assert_eq!(
        grid_line(&app, &world, &round, GRID_A1).await,
        ((4, 1, 0), names(&["王秀英", "王小明", "李华"]))
    );
    assert_eq!(
        grid_line(&app, &world, &round, GRID_A2).await,
        ((4, 2, 1), names(&["张伟", "李娜"]))
    );

    // 李华 moves and is swabbed before the pass has run: the swab counts in A2, where he lives
    // now, and for a moment A2 has more swabbed than due — the audit reports it.
    let clean = app.check_consistency(Duration::zero()).await.unwrap();
    assert!(clean.is_clean(), "{clean}");
    app.move_resident_grid(
        commander,
        resident_id(&app, &world.admin, &lihua.id_number).await,
        &to_grid(GRID_A2, "A2-0044"),
    )
    .await
    .expect("move 李华");
    swab(&app, &world, &round, 1, &[&lihua, &zhangwei]).await;
    swab(&app, &world, &round, 2, &[&xiuying]).await;
    let a2 = grid_line(&app, &world, &round, GRID_A2).await;
    assert_eq!(a2.0, (4, 4, 1));
    app.move_resident_grid(
        commander,
        resident_id(&app, &world.admin, &xiaoming.id_number).await,
        &to_grid(GRID_A2, "A2-0045"),
    )
    .await
    .expect("move 王小明");
    swab(&app, &world, &round, 3, &[&xiaoming]).await;
    let broken = app.check_consistency(Duration::zero()).await.unwrap();
    assert_eq!(
        count_of(&broken, "round_swabbed_within_target"),
        1,
        "{broken}"
    );
    assert!(
        broken
            .to_string()
            .contains(&format!("轮次#{} 网格 {GRID_A2}", round.id)),
        "{broken}"
    );
    passes(&app).await;
    let carried = app.check_consistency(Duration::zero()).await.unwrap();
    assert!(carried.is_clean(), "{carried}");
    // A1: 王建国 and 王秀英 swabbed there, nobody left to swab; A2: everyone but 李娜 (exempt).
    assert_eq!(
        grid_line(&app, &world, &round, GRID_A1).await,
        ((2, 2, 0), vec![])
    );
    assert_eq!(
        grid_line(&app, &world, &round, GRID_A2).await,
        ((6, 5, 1), names(&["李娜"]))
    );
    // Township A's totals never moved: every move stayed inside the round's region.
    let overview = app
        .round_overview(commander, round.id, "")
        .await
        .expect("overview");
    assert_eq!((overview.totals.target, overview.totals.sampled), (8, 7));
    let round_view = app.round(commander, round.id).await.unwrap();
    assert_eq!(round_view.target_population, 8);
    // Each event is counted once: another pass changes nothing.
    passes(&app).await;
    assert_eq!(grid_line(&app, &world, &round, GRID_A2).await.0, (6, 5, 1));
}

async fn an_approved_move_in_carries_the_lead_and_the_round_target(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let round = open_round(&app, &world).await;
    let zhang = person("张伟"); // A1, unswabbed, with an open lead
    let lead = app
        .create_lead(&world.commander_a, &screening(&zhang.id_number))
        .await
        .expect("lead");
    passes(&app).await;
    assert_eq!(grid_line(&app, &world, &round, GRID_A1).await.0, (6, 0, 0));

    // 增村镇 asks for him; 廉州镇, where he is registered, approves.
    let request = app
        .file_move_in(
            &world.worker_b,
            &MoveInForm {
                id_type: "mainland_id".into(),
                id_number: zhang.id_number.clone(),
                name: zhang.name.clone(),
                to: Destination {
                    grid_code: GRID_B1.into(),
                    household_number: "B1-0009".into(),
                    address: "增村9号".into(),
                    relation: "户主".into(),
                },
                reason: "投靠子女".into(),
            },
        )
        .await
        .expect("file");
    app.decide_move_in(&world.worker_a, request, true, "")
        .await
        .expect("approve");
    let events = moved_events(&app).await;
    assert_eq!(events.len(), 1);
    let (detail, event) = &events[0];
    assert_eq!(
        (
            detail.from_grid.as_str(),
            detail.to_grid.as_str(),
            detail.move_in
        ),
        (GRID_A1, GRID_B1, Some(request))
    );
    assert_eq!(event.source, format!("move_in:{request}"));
    let before = app.check_consistency(Duration::zero()).await.unwrap();
    assert_eq!(count_of(&before, "open_lead_follows_move"), 1, "{before}");

    passes(&app).await;
    let after = app.check_consistency(Duration::zero()).await.unwrap();
    assert!(after.is_clean(), "{after}");
    // The lead is now 增村镇's to land; 廉州镇 no longer sees it.
    assert_eq!(lead_ids(&app, &world.worker_b).await, [lead]);
    assert!(lead_ids(&app, &world.worker_a).await.is_empty());
    let detail = app.lead_detail(&world.worker_b, lead).await.unwrap();
    assert_eq!(detail.lead.grid_code, GRID_B1);
    assert!(
        detail
            .steps
            .last()
            .unwrap()
            .note
            .contains("转至 增村第一网格"),
        "{:?}",
        detail.steps
    );
    // He left township A's round: A1's target drops, and he is due nowhere in it.
    assert_eq!(
        grid_line(&app, &world, &round, GRID_A1).await,
        (
            (5, 0, 0),
            names(&["王建国", "王秀英", "王小明", "李华", "李娜"])
        )
    );
    assert_eq!(
        app.round(&world.commander_a, round.id)
            .await
            .unwrap()
            .target_population,
        7
    );
}

async fn a_move_is_one_transaction_with_its_event(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let commander = &world.commander_a;
    let zhang = person("张伟");
    let zhang_id = resident_id(&app, &world.admin, &zhang.id_number).await;

    // Refused inside the move's transaction (the household belongs to A1): nothing is written,
    // the event included.
    let refused = app
        .move_resident_grid(commander, zhang_id, &to_grid(GRID_A2, "A1-0001"))
        .await;
    assert!(matches!(refused, Err(AppError::Conflict(_))), "{refused:?}");
    assert!(moved_events(&app).await.is_empty());
    assert!(
        app.audit_log(&world.admin, "move_grid", None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.resident(&world.admin, zhang_id)
            .await
            .unwrap()
            .grid_code,
        GRID_A1
    );

    // The move itself writes exactly one event, with both grids and households.
    app.move_resident_grid(commander, zhang_id, &to_grid(GRID_A2, "A2-0051"))
        .await
        .expect("move");
    let events = moved_events(&app).await;
    assert_eq!(events.len(), 1);
    let (detail, event) = &events[0];
    assert_eq!(
        (
            detail.from_grid.as_str(),
            detail.to_grid.as_str(),
            detail.from_household.as_str(),
            detail.to_household.as_str(),
            detail.move_in
        ),
        (GRID_A1, GRID_A2, "A1-0003", "A2-0051", None)
    );
    assert_eq!(
        (
            event.grid_code.as_str(),
            event.resident_id,
            event.source.clone()
        ),
        (GRID_A2, Some(zhang_id), format!("resident:{zhang_id}"))
    );
    assert_eq!(event.id_number, zhang.id_number);

    // A stale move (the person is no longer where the move expects) writes nothing either: an
    // approval of a move-in filed before the grid move.
    let request = app
        .file_move_in(
            &world.worker_b,
            &MoveInForm {
                id_type: "mainland_id".into(),
                id_number: zhang.id_number.clone(),
                name: zhang.name.clone(),
                to: Destination {
                    grid_code: GRID_B1.into(),
                    household_number: "B1-0009".into(),
                    address: "增村9号".into(),
                    relation: "户主".into(),
                },
                reason: "投靠子女".into(),
            },
        )
        .await
        .expect("file");
    app.move_resident_grid(commander, zhang_id, &to_grid(GRID_A1, "A1-0052"))
        .await
        .expect("move back");
    assert_eq!(moved_events(&app).await.len(), 2);
    let stale = app.decide_move_in(&world.worker_a, request, true, "").await;
    assert!(matches!(stale, Err(AppError::Conflict(_))), "{stale:?}");
    assert_eq!(moved_events(&app).await.len(), 2);
}
