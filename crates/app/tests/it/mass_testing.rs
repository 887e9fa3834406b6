//! Mass-testing stories of the application layer, each on SQLite and (when FANGKONG_TEST_POSTGRES is
//! set) on a brand-new PostgreSQL database: a round from opening to rechecks, the chain of custody,
//! lab uploads in every format, antigen self-tests and key-group routine testing.
//!
//! Longer than 800 lines: one capability's stories, each on both backends where it applies; split
//! by sub-area when a new story would not fit.

use crate::support::*;
use fangkong_app::lab_results::ResultInput;
use fangkong_app::mass_testing::{
    AntigenForm, RoundForm, SamplingBatch, ScanAction, ScanInput, ScanResult, SiteForm,
};
use fangkong_app::{Actor, App, AppError};
use fangkong_domain::mass_testing::TubeBarcode;
use fangkong_domain::person::KeyGroup;

story!(
    a_round_from_opening_to_rechecks,
    round_story_sqlite,
    round_story_postgres
);
story!(
    a_round_with_a_bad_tube_count_is_refused_and_nothing_is_written,
    bad_tubes_sqlite,
    bad_tubes_postgres
);
story!(
    boxes_travel_from_site_to_lab,
    boxes_story_sqlite,
    boxes_story_postgres
);
story!(
    labs_upload_csv_xlsx_fhir_and_json,
    lab_formats_sqlite,
    lab_formats_postgres
);
story!(
    antigen_positives_and_key_groups_reach_the_grid,
    antigen_story_sqlite,
    antigen_story_postgres
);
story!(
    fhir_results_come_only_from_sars_cov_2_nucleic_acid_tests,
    fhir_codes_sqlite,
    fhir_codes_postgres
);
story!(
    concurrent_tables_share_commits_without_losing_a_scan,
    concurrent_sqlite,
    concurrent_postgres
);

struct Round {
    id: i64,
    site: i64,
    /// Serial of the first barcode issued to the round.
    first_serial: u64,
}

impl Round {
    fn tube(&self, n: u64) -> String {
        TubeBarcode::from_serial(self.first_serial + n)
            .unwrap()
            .to_string()
    }
}

/// Seeds the world and population; opens a 5-in-1 round over township A with a site in village A1.
async fn open_round(app: &App, guard: &Guard) -> (World, Round) {
    let world = seed(app).await;
    import_population(app, guard, &world.admin).await;
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
    assert_eq!(round.target_population, 8, "township A's register");
    // 2 days for a population under 5 million (3rd edition guide).
    assert_eq!(round.deadline_at, Some(round.opened_at + 48 * 3600));
    let first = TubeBarcode::parse(&round.tube_ranges[0].0).expect("issued barcode");
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
        .expect("create site");
    (
        world,
        Round {
            id,
            site,
            first_serial: first.serial(),
        },
    )
}

static SCAN_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn bind(tube: &str, id_number: &str) -> ScanInput {
    ScanInput {
        scan_id: format!(
            "t-{}",
            SCAN_COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ),
        tube: tube.to_string(),
        action: ScanAction::Bind,
        purpose: None,
        id_type: String::new(),
        id_number: id_number.to_string(),
        name: String::new(),
        scanned_at: None,
        occurred_at: String::new(),
    }
}

fn recheck(tube: &str, id_number: &str) -> ScanInput {
    ScanInput {
        purpose: Some("recheck".into()),
        ..bind(tube, id_number)
    }
}

fn close(tube: &str) -> ScanInput {
    ScanInput {
        action: ScanAction::Close,
        ..bind(tube, "")
    }
}

async fn scan(app: &App, actor: &Actor, round: &Round, scans: Vec<ScanInput>) -> Vec<ScanResult> {
    app.submit_scans(
        actor,
        &SamplingBatch {
            round_id: round.id,
            site_id: round.site,
            table_no: 1,
            scans,
        },
    )
    .await
    .expect("submit scans")
}

#[track_caller]
fn assert_rejected(result: &ScanResult, code: &str, words: &str) {
    assert!(!result.ok, "expected {code}, got {result:?}");
    assert_eq!(result.code, Some(code), "{result:?}");
    assert!(
        result.message.contains(words),
        "message {:?} should say {words:?}",
        result.message
    );
}

fn ids_of_grid(grid: &str) -> Vec<String> {
    population()
        .into_iter()
        .filter(|r| r.grid == grid)
        .map(|r| r.id_number)
        .collect()
}

async fn upload_csv(
    app: &App,
    guard: &Guard,
    lab: &Actor,
    name: &str,
    lines: &[&str],
) -> fangkong_app::lab_results::ResultUploadReport {
    let path = guard.path(name);
    let mut text = String::from("管码,结果,检测时间,检测机构\n");
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(&path, text).expect("write results");
    app.upload_lab_results(lab, &path, name)
        .await
        .expect("upload results")
}

async fn a_round_from_opening_to_rechecks(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let (world, round) = open_round(&app, &guard).await;
    let sampler = &world.sampler_a;
    let a1 = ids_of_grid(GRID_A1); // 6 people: 王建国 王秀英 王小明 李华 李娜 张伟
    let t1 = round.tube(0);
    let t2 = round.tube(1);

    // Five people fill a 5-in-1 tube, which closes itself; a sixth is refused.
    let results = scan(
        &app,
        sampler,
        &round,
        a1[..5].iter().map(|id| bind(&t1, id)).collect(),
    )
    .await;
    assert!(results.iter().all(|r| r.ok), "{results:?}");
    assert_eq!(results[4].tube_members, Some(5));
    assert!(results[4].tube_closed, "full tube closes");
    assert!(!results[3].tube_closed);
    let full = scan(&app, sampler, &round, vec![bind(&t1, &a1[5])]).await;
    assert_rejected(&full[0], "tube_full", "已满");

    // Errors caught at entry, each in the sampler's words; the good scans of the batch still land.
    let typo = format!("{}{}", &t2[..11], (t2.as_bytes()[11] - b'0' + 1) % 10);
    let unknown = TubeBarcode::from_serial(99_999_999_999)
        .unwrap()
        .to_string();
    let b1 = ids_of_grid(GRID_B1);
    let mut walk_in_unnamed = bind(&t2, &id_number("19991231", 501));
    walk_in_unnamed.name.clear();
    let mut walk_in = bind(&t2, &id_number("19991231", 503));
    walk_in.name = "过路人".into();
    let mut wrong_name = bind(&t2, &a1[5]);
    wrong_name.name = "李四".into();
    let batch = vec![
        bind(&typo, &a1[5]),
        bind(&unknown, &a1[5]),
        bind(&t2, &with_wrong_check_digit(&a1[5])),
        bind(&t2, &a1[0]),
        walk_in_unnamed,
        wrong_name,
        walk_in,
        bind(&t2, &b1[0]),
    ];
    let retry_of_walk_in = batch[6].clone();
    let results = scan(&app, sampler, &round, batch).await;
    assert_rejected(&results[0], "malformed_barcode", "校验不通过");
    assert_rejected(&results[1], "unknown_tube", "不在本轮下发");
    assert_rejected(&results[2], "bad_document", "校验");
    assert_rejected(&results[3], "already_sampled", "本轮已于");
    assert!(results[3].message.contains(&t1), "names the first tube");
    assert_rejected(&results[4], "name_missing", "不在实有人口登记");
    assert_rejected(&results[5], "name_mismatch", "不一致");
    assert!(results[6].ok && results[6].flags.contains(&"not_in_register"));
    assert!(
        results[7].ok && results[7].flags.contains(&"outside_area"),
        "{:?}",
        results[7]
    );
    assert_eq!(results[7].tube_members, Some(2));

    // A retried scan (same scan_id) is not counted twice.
    let retried = scan(&app, sampler, &round, vec![retry_of_walk_in]).await;
    assert_eq!(retried[0].outcome, "already_recorded");
    let closed = scan(&app, sampler, &round, vec![close(&t2)]).await;
    assert_eq!(closed[0].outcome, "closed");
    assert_eq!(closed[0].tube_members, Some(2));
    let after_close = scan(&app, sampler, &round, vec![bind(&t2, &a1[5])]).await;
    assert_rejected(&after_close[0], "tube_closed", "已封管");

    // Jurisdiction: a grid worker of township B cannot bind at a site of township A.
    let outside = app
        .submit_scans(
            &world.worker_b,
            &SamplingBatch {
                round_id: round.id,
                site_id: round.site,
                table_no: 1,
                scans: vec![bind(&round.tube(5), &a1[5])],
            },
        )
        .await;
    assert!(matches!(outside, Err(AppError::NotFound(_))), "{outside:?}");
    let lab_binds = app
        .submit_scans(
            &world.lab,
            &SamplingBatch {
                round_id: round.id,
                site_id: round.site,
                table_no: 1,
                scans: vec![],
            },
        )
        .await;
    assert!(matches!(lab_binds, Err(AppError::Forbidden { .. })));

    // Coverage: 5 of township A's 8 swabbed (the outsider counts in township B's grid).
    let overview = app
        .round_overview(&world.commander_a, round.id, "")
        .await
        .expect("overview");
    assert_eq!(overview.totals.target, 8);
    assert_eq!(overview.totals.sampled, 5);
    assert_eq!(overview.totals.walk_ins, 1);
    assert_eq!(overview.totals.percent_label(), "62.5%");
    assert_eq!(overview.chain.tubes, 2);
    assert_eq!(overview.chain.closed_not_boxed, 2);
    assert!(overview.hourly.iter().map(|(_, n)| n).sum::<i64>() == 5);

    // The grid's missing list: 张伟; once exempt (bedridden) he moves to the exempted list.
    let coverage = app
        .grid_coverage(&world.worker_a, round.id, GRID_A1)
        .await
        .expect("grid coverage");
    let names: Vec<&str> = coverage.missing.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["张伟"]);
    assert!(coverage.missing[0].id_number_masked.contains("********"));
    let zhang = coverage.missing[0].resident_id;
    let no_proof = app
        .set_exemption(&world.worker_a, round.id, zhang, "away", "")
        .await;
    assert!(matches!(no_proof, Err(AppError::Invalid(m)) if m.contains("证明")));
    app.set_exemption(&world.worker_a, round.id, zhang, "bedridden", "行动不便")
        .await
        .expect("exempt");
    let coverage = app
        .grid_coverage(&world.worker_a, round.id, GRID_A1)
        .await
        .unwrap();
    assert!(coverage.missing.is_empty());
    assert_eq!(coverage.exempted.len(), 1);
    assert_eq!(coverage.line.exempt, 1);
    // Township A's round does not exist for township B (404, like a missing round).
    let denied = app.grid_coverage(&world.worker_b, round.id, GRID_A1).await;
    assert!(matches!(denied, Err(AppError::NotFound(_))));

    // Swabbed at home after all: no longer exempt, counted once as sampled.
    let t8 = round.tube(7);
    let home = scan(&app, sampler, &round, vec![bind(&t8, &a1[5])]).await;
    assert!(home[0].ok, "{home:?}");
    let coverage = app
        .grid_coverage(&world.worker_a, round.id, GRID_A1)
        .await
        .unwrap();
    assert!(coverage.exempted.is_empty() && coverage.missing.is_empty());
    assert_eq!((coverage.line.exempt, coverage.line.sampled), (0, 6));

    // Results, the evening after: a positive pool, a negative tube, an unknown tube and a bad row.
    guard.clock.advance(chrono::Duration::hours(12));
    let report = upload_csv(
        &app,
        &guard,
        &world.lab,
        "r1.csv",
        &[
            &format!("{t1},阳性,2022-11-20 20:00,藁城区疾控"),
            &format!("{t2},阴性,2022-11-20 20:00,藁城区疾控"),
            &format!("{unknown},阴性,2022-11-20 20:00,藁城区疾控"),
            &format!("{t2},好像阴性,2022-11-20 20:00,藁城区疾控"),
        ],
    )
    .await;
    assert_eq!(report.upload.rows_total, 4);
    assert_eq!(report.upload.applied, 2);
    // A result for a tube still open at its table waits: the table may have scans not yet uploaded.
    let early = upload_csv(
        &app,
        &guard,
        &world.lab,
        "r0.csv",
        &[&format!("{t8},阴性,2022-11-20 20:00,藁城区疾控")],
    )
    .await;
    assert_eq!(early.upload.applied, 0);
    assert_eq!(early.problems[0].kind, "not_closed");
    assert!(early.problems[0].message.contains("还没有封管"));
    assert_eq!(report.upload.positives, 1);
    assert_eq!(report.upload.problems, 2);
    let kinds: Vec<&str> = report.problems.iter().map(|p| p.kind.as_str()).collect();
    assert_eq!(kinds, ["unknown_tube", "invalid_row"]);
    assert_eq!(report.problems[0].row_number, 4);
    // A re-upload changes nothing; a different result for a tube is a conflict, not an overwrite.
    let again = upload_csv(
        &app,
        &guard,
        &world.lab,
        "r2.csv",
        &[
            &format!("{t1},阳性,2022-11-20 20:00,藁城区疾控"),
            &format!("{t2},阳性,2022-11-20 21:00,藁城区疾控"),
        ],
    )
    .await;
    assert_eq!(again.upload.unchanged, 1);
    assert_eq!(again.upload.applied, 0);
    assert_eq!(again.problems[0].kind, "conflict");
    assert!(again.problems[0].message.contains("阴性"));

    // The positive pool: five pending single-tube rechecks routed to grid A1, one event each.
    let tasks = app
        .recheck_tasks(&world.worker_a, GRID_A1, Some("pending"))
        .await
        .expect("rechecks");
    assert_eq!(tasks.len(), 5);
    assert!(tasks.iter().all(|t| t.reason_label == "混采阳性复核"));
    // The page counts the same list; another status counts none of these.
    let page = app
        .recheck_tasks_page(&world.worker_a, GRID_A1, Some("pending"))
        .await
        .unwrap();
    assert_eq!((page.total, page.truncated()), (5, false));
    let done = app
        .recheck_tasks_page(&world.worker_a, GRID_A1, Some("sampled"))
        .await
        .unwrap();
    assert_eq!(done.total, done.rows.len() as i64);
    let events = app
        .store_for_tools()
        .person_events_after(0, 100)
        .await
        .unwrap();
    assert_eq!(
        events.iter().filter(|e| e.kind == "pool_positive").count(),
        5
    );
    let overview = app
        .round_overview(&world.commander_a, round.id, "")
        .await
        .unwrap();
    assert_eq!(overview.rechecks_pending, 5);
    assert_eq!(overview.chain.positive, 1);

    // A person who owes a recheck is not screened again into a pool; the recheck takes a new single tube.
    let t3 = round.tube(2);
    let t4 = round.tube(3);
    let results = scan(
        &app,
        sampler,
        &round,
        vec![
            bind(&t3, &a1[0]),
            recheck(&t3, &a1[0]),
            recheck(&t3, &a1[1]),
            recheck(&t4, &a1[1]),
            recheck(&round.tube(4), &a1[5]),
        ],
    )
    .await;
    assert_rejected(&results[0], "recheck_pending", "单管复采");
    assert!(results[1].ok && results[1].tube_closed && results[1].capacity == Some(1));
    assert_rejected(&results[2], "tube_full", "已满");
    assert!(results[3].ok);
    assert_rejected(&results[4], "no_recheck_task", "没有待复采任务");

    // Recheck results the next morning: one negative (released), one positive (a case for tracing).
    guard.clock.advance(chrono::Duration::hours(10));
    upload_csv(
        &app,
        &guard,
        &world.lab,
        "r3.csv",
        &[
            &format!("{t3},阴性,2022-11-21 06:00,藁城区疾控"),
            &format!("{t4},阳性,2022-11-21 06:00,藁城区疾控"),
        ],
    )
    .await;
    let statuses: Vec<String> = app
        .recheck_tasks(&world.worker_a, GRID_A1, None)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.status)
        .collect();
    assert_eq!(statuses.iter().filter(|s| *s == "negative").count(), 1);
    assert_eq!(statuses.iter().filter(|s| *s == "positive").count(), 1);
    assert_eq!(statuses.iter().filter(|s| *s == "pending").count(), 3);
    let positives = app.single_positives(&world.commander_a, "").await.unwrap();
    assert_eq!(positives.len(), 1);
    assert!(positives[0].1.contains("********"));
    let events = app
        .store_for_tools()
        .person_events_after(0, 100)
        .await
        .unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "recheck_negative")
            .count(),
        1
    );

    // The resident sees their own results: pooled positive, then the negative recheck.
    let wang = resident_id(&app, &world.admin, &a1[0]).await;
    let not_linked = app.my_results(&world.resident_user).await;
    assert!(matches!(not_linked, Err(AppError::Invalid(m)) if m.contains("关联")));
    app.link_resident_login(&world.admin, world.resident_user.user_id, wang)
        .await
        .expect("link");
    let mine = app
        .my_results(&world.resident_user)
        .await
        .expect("my results");
    let labels: Vec<&str> = mine.results.iter().map(|r| r.result_label).collect();
    assert_eq!(labels, ["阴性", "阳性"]);
    assert_eq!(mine.results[1].kind_label, "5混1");
    assert_eq!(mine.pending_rechecks, 0);
    // The personal sampling code stands for the person at the table (here: already swabbed), and
    // an altered or made-up code is refused.
    let code = mine.sampling_code.clone();
    assert!(
        code.starts_with("FKS1-") && !code.contains(&a1[0][..6]),
        "no ID number in the code"
    );
    let forged = format!(
        "{}{}",
        &code[..code.len() - 1],
        if code.ends_with('0') { '1' } else { '0' }
    );
    let someone_else = code.replacen(&format!("-{wang}-"), &format!("-{}-", wang + 1), 1);
    let results = scan(
        &app,
        sampler,
        &round,
        vec![
            bind(&round.tube(6), &code),
            bind(&round.tube(6), &forged),
            bind(&round.tube(6), &someone_else),
        ],
    )
    .await;
    assert_rejected(&results[0], "already_sampled", "本轮已于");
    assert_rejected(&results[1], "bad_sampling_code", "校验不通过");
    assert_rejected(&results[2], "bad_sampling_code", "校验不通过");
    let staff_view = app.my_results(&world.worker_a).await;
    assert!(matches!(staff_view, Err(AppError::Forbidden { .. })));

    // Closing the round stops binding.
    app.close_round(&world.commander_a, round.id)
        .await
        .expect("close");
    let late = app
        .submit_scans(
            sampler,
            &SamplingBatch {
                round_id: round.id,
                site_id: round.site,
                table_no: 1,
                scans: vec![bind(&round.tube(9), &a1[5])],
            },
        )
        .await;
    assert!(matches!(late, Err(AppError::Conflict(m)) if m.contains("已结束")));
}

async fn boxes_travel_from_site_to_lab(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let (world, round) = open_round(&app, &guard).await;
    let a1 = ids_of_grid(GRID_A1);
    let (t1, t2) = (round.tube(0), round.tube(1));
    scan(
        &app,
        &world.sampler_a,
        &round,
        vec![
            bind(&t1, &a1[0]),
            bind(&t1, &a1[1]),
            close(&t1),
            bind(&t2, &a1[2]),
        ],
    )
    .await;
    // The open tube cannot travel; the closed one can.
    let problems = app
        .pack_box(
            &world.sampler_a,
            round.site,
            "bx-0001",
            &[t1.clone(), t2.clone(), "123".into()],
        )
        .await
        .expect("pack");
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("还没有封管")));
    assert!(problems.iter().any(|p| p.contains("12位")));
    let overview = app
        .round_overview(&world.commander_a, round.id, "")
        .await
        .unwrap();
    assert_eq!(overview.chain.in_transit, 1);
    assert_eq!(overview.boxes_in_transit.len(), 1);
    assert_eq!(overview.boxes_late, 0);
    guard.clock.advance(chrono::Duration::hours(3));
    let overview = app
        .round_overview(&world.commander_a, round.id, "")
        .await
        .unwrap();
    assert_eq!(
        overview.boxes_late, 1,
        "a box not received 3 h after packing is late"
    );

    let picked = app
        .hand_over_box(&world.sampler_a, "BX-0001", false)
        .await
        .expect("pick up");
    assert_eq!(picked.courier.as_deref(), Some("廉州镇采样员"));
    // Only a lab receives.
    let not_lab = app.hand_over_box(&world.sampler_a, "BX-0001", true).await;
    assert!(matches!(not_lab, Err(AppError::Forbidden { .. })));
    let received = app
        .hand_over_box(&world.lab, "BX-0001", true)
        .await
        .expect("receive");
    assert!(received.received_at.is_some());
    let gone = app
        .pack_box(
            &world.sampler_a,
            round.site,
            "BX-0001",
            std::slice::from_ref(&t2),
        )
        .await;
    assert!(matches!(gone, Err(AppError::Conflict(m)) if m.contains("已被取走")));
    let overview = app
        .round_overview(&world.commander_a, round.id, "")
        .await
        .unwrap();
    assert_eq!(overview.chain.in_transit, 0);
    assert_eq!(overview.chain.received_no_result, 1);
    assert!(overview.chain.mean_to_receipt.unwrap() >= 3.0 * 3600.0);
    assert!(overview.boxes_in_transit.is_empty());

    // Without a result 7 hours after closing, the tube is in the 6-hour class.
    guard.clock.advance(chrono::Duration::hours(4));
    let overview = app
        .round_overview(&world.commander_a, round.id, "")
        .await
        .unwrap();
    assert_eq!(overview.delays[0], ("超6小时", 1));
    assert_eq!(overview.delays[1].1, 0);
}

async fn labs_upload_csv_xlsx_fhir_and_json(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let (world, round) = open_round(&app, &guard).await;
    let a1 = ids_of_grid(GRID_A1);
    let tubes: Vec<String> = (0..4).map(|n| round.tube(n)).collect();
    let mut scans = Vec::new();
    for (tube, person) in tubes.iter().zip(&a1) {
        scans.push(bind(tube, person));
        scans.push(close(tube));
    }
    scan(&app, &world.sampler_a, &round, scans).await;

    guard.clock.advance(chrono::Duration::hours(12));
    // XLSX, written the way a lab's Excel would.
    let path = guard.path("results.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, head) in ["样本编号", "检测结果", "报告时间"].iter().enumerate() {
        sheet.write_string(0, col as u16, *head).unwrap();
    }
    sheet.write_string(1, 0, &tubes[0]).unwrap();
    sheet.write_string(1, 1, "阴性").unwrap();
    sheet.write_string(1, 2, "2022-11-20 21:00").unwrap();
    book.save(&path).unwrap();
    let report = app
        .upload_lab_results(&world.lab, &path, "results.xlsx")
        .await
        .expect("xlsx");
    assert_eq!(report.upload.applied, 1, "{:?}", report.problems);

    // FHIR R4: a Bundle of Observations with the tube as specimen identifier.
    let observation = |tube: &str, code: &str| {
        serde_json::json!({"resource": {
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "94500-6"}]},
            "specimen": {"identifier": {"value": tube}},
            "effectiveDateTime": "2022-11-20T21:00:00+08:00",
            "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": code}]}
        }})
    };
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        observation(&tubes[1], "260385009"),
        observation(&tubes[2], "10828004"),
    ]});
    let path = guard.path("results.json");
    std::fs::write(&path, serde_json::to_vec(&bundle).unwrap()).unwrap();
    let report = app
        .upload_lab_results(&world.lab, &path, "results.json")
        .await
        .expect("fhir");
    assert_eq!(
        (report.upload.applied, report.upload.positives),
        (2, 1),
        "{:?}",
        report.problems
    );
    // Sent again through the API: idempotent.
    let report = app
        .submit_fhir_results(&world.lab, &serde_json::to_vec(&bundle).unwrap())
        .await
        .expect("fhir api");
    assert_eq!(report.upload.unchanged, 2);
    let broken = app.submit_fhir_results(&world.lab, b"{not json").await;
    assert!(matches!(broken, Err(AppError::Invalid(m)) if m.contains("FHIR")));

    // JSON rows; a single-tube positive (pool of one) is a single positive, not a pool.
    let report = app
        .submit_lab_results(
            &world.lab,
            &[
                ResultInput {
                    tube: tubes[3].clone(),
                    result: "invalid".into(),
                    tested_at: None,
                },
                ResultInput {
                    tube: "12".into(),
                    result: "阴性".into(),
                    tested_at: None,
                },
            ],
        )
        .await
        .expect("json");
    assert_eq!(report.upload.applied, 1);
    assert!(report.problems[0].message.contains("12位"));
    // An invalid tube's member must be swabbed again.
    // The positive tube was a 5-in-1 pool closed with one member: its member owes a recheck too.
    let tasks = app
        .recheck_tasks(&world.worker_a, GRID_A1, Some("pending"))
        .await
        .unwrap();
    let mut reasons: Vec<&str> = tasks.iter().map(|t| t.reason_label).collect();
    reasons.sort();
    assert_eq!(reasons, ["混采阳性复核", "结果无效重采"]);
    let events = app
        .store_for_tools()
        .person_events_after(0, 100)
        .await
        .unwrap();
    assert_eq!(
        events.iter().filter(|e| e.kind == "pool_positive").count(),
        1
    );
    // A grid worker may not upload results.
    let denied = app.submit_lab_results(&world.worker_a, &[]).await;
    assert!(matches!(denied, Err(AppError::Forbidden { .. })));
    // A lab outside the tubes' region is told so per row.
    let uploads = app.recent_result_uploads(&world.lab).await.unwrap();
    assert_eq!(uploads.len(), 4);
}

async fn antigen_positives_and_key_groups_reach_the_grid(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let a1 = ids_of_grid(GRID_A1);
    let wang = resident_id(&app, &world.admin, &a1[0]).await;
    app.link_resident_login(&world.admin, world.resident_user.user_id, wang)
        .await
        .unwrap();

    // 王建国 is cold-chain and medical staff: overdue for routine testing until swabbed.
    let schedule = &app.routine_schedules()[0];
    let overdue = app
        .key_group_overdue(&world.worker_a, TOWNSHIP_A, KeyGroup::ColdChain, schedule)
        .await
        .unwrap();
    assert_eq!(overdue.interval_hours, 24);
    assert_eq!(overdue.people.len(), 1);
    assert_eq!(overdue.people[0].resident_id, wang);
    let routine = app
        .open_round(
            &world.commander_a,
            &RoundForm {
                name: "重点人群常态化检测".into(),
                kind: "routine".into(),
                region_code: TOWNSHIP_A.into(),
                pool_size: "1".into(),
                tubes: "10".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let view = app.round(&world.commander_a, routine).await.unwrap();
    assert_eq!(view.deadline_at, None, "routine testing has no deadline");
    let site = app
        .create_site(
            &world.commander_a,
            routine,
            &SiteForm {
                region_code: VILLAGE_A1.into(),
                name: "卫生院".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let round = Round {
        id: routine,
        site,
        first_serial: TubeBarcode::parse(&view.tube_ranges[0].0).unwrap().serial(),
    };
    let first = scan(
        &app,
        &world.sampler_a,
        &round,
        vec![bind(&round.tube(0), &a1[0])],
    )
    .await;
    assert!(
        first[0].ok && first[0].tube_closed,
        "single tube: {first:?}"
    );
    // Routine testing takes one swab a day: a second the same day is refused, the next day accepted.
    let same_day = scan(
        &app,
        &world.sampler_a,
        &round,
        vec![bind(&round.tube(1), &a1[0])],
    )
    .await;
    assert_rejected(&same_day[0], "already_sampled", "本轮已于");
    let overdue = app
        .key_group_overdue(&world.worker_a, TOWNSHIP_A, KeyGroup::ColdChain, schedule)
        .await
        .unwrap();
    assert!(overdue.people.is_empty());
    guard.clock.advance(chrono::Duration::hours(25));
    let overdue = app
        .key_group_overdue(&world.worker_a, TOWNSHIP_A, KeyGroup::ColdChain, schedule)
        .await
        .unwrap();
    assert_eq!(
        overdue.people.len(),
        1,
        "daily testing is due again after 24 h"
    );
    let next_day = scan(
        &app,
        &world.sampler_a,
        &round,
        vec![bind(&round.tube(1), &a1[0])],
    )
    .await;
    assert!(next_day[0].ok, "{next_day:?}");

    // An antigen positive reported by the resident becomes a PCR task for grid A1.
    let bad = app
        .report_antigen(
            &world.resident_user,
            &AntigenForm {
                result: "两道杠".into(),
                ..Default::default()
            },
            None,
        )
        .await;
    assert!(matches!(bad, Err(AppError::Invalid(m)) if m.contains("阴性、阳性或无效")));
    app.report_antigen(
        &world.resident_user,
        &AntigenForm {
            result: "阳性".into(),
            ..Default::default()
        },
        Some((b"\xff\xd8\xff photo", "image/jpeg")),
    )
    .await
    .expect("report antigen");
    let tasks = app
        .recheck_tasks(&world.worker_a, GRID_A1, Some("pending"))
        .await
        .unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].reason_label, "抗原阳性核酸复核");
    let reports = app.antigen_reports(&world.worker_a, GRID_A1).await.unwrap();
    assert!(reports.rows[0].0.has_photo);
    assert_eq!((reports.rows.len(), reports.total), (1, 1));
    assert_eq!(reports.count_label("份"), "1 份");
    let denied = app.antigen_reports(&world.worker_b, GRID_A1).await;
    assert!(matches!(denied, Err(AppError::OutsideJurisdiction)));
    let mine = app.my_results(&world.resident_user).await.unwrap();
    assert_eq!(mine.pending_rechecks, 1);
    assert_eq!(mine.antigen.len(), 1);
    // A grid worker reports for someone outside their grid: refused.
    let b1 = ids_of_grid(GRID_B1);
    let outsider = resident_id(&app, &world.admin, &b1[0]).await;
    let refused = app
        .report_antigen(
            &world.worker_a,
            &AntigenForm {
                resident_id: outsider.to_string(),
                result: "阴性".into(),
                ..Default::default()
            },
            None,
        )
        .await;
    assert!(matches!(refused, Err(AppError::NotFound(_))));
    // One on behalf of a resident of the grid: the grid's and the township's list count both.
    let neighbour = resident_id(&app, &world.admin, &a1[1]).await;
    app.report_antigen(
        &world.worker_a,
        &AntigenForm {
            resident_id: neighbour.to_string(),
            result: "阴性".into(),
            ..Default::default()
        },
        None,
    )
    .await
    .expect("report for a neighbour");
    for region in [GRID_A1, TOWNSHIP_A] {
        let reports = app.antigen_reports(&world.worker_a, region).await.unwrap();
        assert_eq!((reports.rows.len(), reports.total), (2, 2), "{region}");
        assert!(!reports.truncated());
    }
}

async fn concurrent_tables_share_commits_without_losing_a_scan(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let (world, round) = open_round(&app, &guard).await;
    // 40 tables' worth of requests at once: walk-ins with distinct ID numbers, 5 per tube.
    let mut handles = Vec::new();
    for request in 0..40u32 {
        let app = app.clone();
        let sampler = world.sampler_a.clone();
        let tube = round.tube(10 + u64::from(request));
        let (round_id, site) = (round.id, round.site);
        handles.push(tokio::spawn(async move {
            let scans: Vec<ScanInput> = (0..5u32)
                .map(|k| {
                    let mut s = bind(&tube, &id_number("19990101", request * 5 + k + 1));
                    s.name = format!("外来{request}-{k}");
                    s
                })
                .collect();
            let batch = SamplingBatch {
                round_id,
                site_id: site,
                table_no: 2,
                scans,
            };
            let first = app.submit_scans(&sampler, &batch).await.expect("scans");
            // Every table retries its whole batch (a lost answer): nothing doubles.
            let retry = app.submit_scans(&sampler, &batch).await.expect("retry");
            (first, retry)
        }));
    }
    for handle in handles {
        let (first, retry) = handle.await.unwrap();
        assert!(first.iter().all(|r| r.outcome == "bound"), "{first:?}");
        assert!(
            retry.iter().all(|r| r.outcome == "already_recorded"),
            "{retry:?}"
        );
    }
    let overview = app
        .round_overview(&world.commander_a, round.id, "")
        .await
        .unwrap();
    assert_eq!(overview.totals.walk_ins, 200);
    assert_eq!(overview.chain.tubes, 40);
    assert_eq!(overview.chain.open, 0, "every tube filled to 5 and closed");
}

/// The conformance finding: an oxygen saturation ("Normal"), an antigen test and the influenza row
/// of a multiplex panel were recorded as tubes' PCR results. Now only SARS-CoV-2 nucleic-acid
/// Observations reach a tube; a lab's local code counts once an administrator configures it.
async fn fhir_results_come_only_from_sars_cov_2_nucleic_acid_tests(backend: Backend) {
    use fangkong_domain::lab_result::LocalTestCode;
    let (app, guard) = fresh_app(backend).await;
    let (world, round) = open_round(&app, &guard).await;
    let a1 = ids_of_grid(GRID_A1);
    let tubes: Vec<String> = (0..3).map(|n| round.tube(n)).collect();
    let mut scans = Vec::new();
    for (tube, person) in tubes.iter().zip(&a1) {
        scans.push(bind(tube, person));
        scans.push(close(tube));
    }
    scan(&app, &world.sampler_a, &round, scans).await;
    guard.clock.advance(chrono::Duration::hours(6));

    let coded = |system: &str, code: &str| serde_json::json!({"coding": [{"system": system, "code": code}]});
    let loinc = |code: &str| coded("http://loinc.org", code);
    let snomed = |code: &str| coded("http://snomed.info/sct", code);
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
        // HL7's oxygen saturation example: interpretation "Normal".
        {"resource": {"resourceType": "Observation", "status": "final", "code": loinc("2708-6"),
            "specimen": {"identifier": {"value": tubes[0]}},
            "valueQuantity": {"value": 95, "unit": "%"},
            "interpretation": [{"coding": [{"code": "N", "display": "Normal"}]}]}},
        // A multiplex panel: Flu A "Not detected" first, then SARS-CoV-2 "Detected".
        {"fullUrl": "urn:uuid:panel", "resource": {"resourceType": "Observation", "status": "final",
            "code": loinc("95941-1"), "specimen": {"identifier": {"value": tubes[1]}},
            "hasMember": [{"reference": "urn:uuid:flu-a"}, {"reference": "urn:uuid:cov2"}]}},
        {"fullUrl": "urn:uuid:flu-a", "resource": {"resourceType": "Observation", "status": "final",
            "code": loinc("92142-9"), "valueCodeableConcept": snomed("260415000")}},
        {"fullUrl": "urn:uuid:cov2", "resource": {"resourceType": "Observation", "status": "final",
            "code": loinc("94500-6"), "valueCodeableConcept": snomed("260373001")}},
        // A rapid antigen test and a lab's local code, not configured yet.
        {"resource": {"resourceType": "Observation", "status": "final", "code": loinc("94558-4"),
            "specimen": {"identifier": {"value": tubes[2]}}, "valueCodeableConcept": snomed("260415000")}},
        {"resource": {"resourceType": "Observation", "status": "final",
            "code": coded("urn:lis:gaocheng", "XG-NAT"),
            "specimen": {"identifier": {"value": tubes[2]}}, "valueString": "阴性"}}
    ]});
    let report = app
        .submit_fhir_results(&world.lab, &serde_json::to_vec(&bundle).unwrap())
        .await
        .expect("fhir");
    assert_eq!(
        (report.upload.applied, report.upload.positives),
        (1, 1),
        "only the SARS-CoV-2 member: {:?}",
        report.problems
    );
    let not_naa = report
        .problems
        .iter()
        .filter(|p| p.message.contains("不是新冠病毒核酸检测结果"))
        .count();
    assert_eq!(not_naa, 4, "{:?}", report.problems);
    // Tube 0 was not touched: its real result lands as new, not as "unchanged" or a conflict.
    let real = serde_json::json!({"resourceType": "Observation", "status": "final",
        "code": loinc("94309-2"), "specimen": {"identifier": {"value": tubes[0]}},
        "valueCodeableConcept": snomed("260385009")});
    let report = app
        .submit_fhir_results(&world.lab, &serde_json::to_vec(&real).unwrap())
        .await
        .expect("fhir");
    assert_eq!(report.upload.applied, 1, "{:?}", report.problems);

    // Local codes: administrators only, never LOINC (an antigen code cannot be slipped in).
    let local = vec![LocalTestCode {
        system: "urn:lis:gaocheng".into(),
        code: "XG-NAT".into(),
        display: "新冠核酸".into(),
    }];
    let denied = app
        .set_local_lab_test_codes(&world.lab, local.clone())
        .await;
    assert!(
        matches!(denied, Err(AppError::Forbidden { .. })),
        "{denied:?}"
    );
    let loinc_refused = app
        .set_local_lab_test_codes(
            &world.admin,
            vec![LocalTestCode {
                system: "http://loinc.org".into(),
                code: "94558-4".into(),
                display: String::new(),
            }],
        )
        .await;
    assert!(matches!(loinc_refused, Err(AppError::Invalid(m)) if m.contains("LOINC")));
    app.set_local_lab_test_codes(&world.admin, local.clone())
        .await
        .expect("local codes");
    assert_eq!(app.local_lab_test_codes().await.unwrap(), local);
    let report = app
        .submit_fhir_results(&world.lab, &serde_json::to_vec(&bundle).unwrap())
        .await
        .expect("fhir again");
    assert_eq!(
        (report.upload.applied, report.upload.unchanged),
        (1, 1),
        "the local code now counts: {:?}",
        report.problems
    );
}

/// Everything of a new round is checked before anything is written (aesthetics review: `POST
/// /api/rounds` with `"tubes": "abc"` answered 422 and left a round behind).
async fn a_round_with_a_bad_tube_count_is_refused_and_nothing_is_written(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let form = |tubes: &str| RoundForm {
        name: "廉州镇第1轮全员核酸检测".into(),
        kind: "whole".into(),
        region_code: TOWNSHIP_A.into(),
        pool_size: "5".into(),
        tubes: tubes.into(),
        ..Default::default()
    };
    // Not a number; over the round's ceiling (8 residents: 2 × 8 + 1,000,000).
    for tubes in ["abc", "1000017"] {
        let refused = app.open_round(&world.commander_a, &form(tubes)).await;
        assert!(
            matches!(refused, Err(AppError::Invalid(_))),
            "{tubes}: {refused:?}"
        );
        assert!(
            app.rounds(&world.commander_a).await.unwrap().is_empty(),
            "{tubes}: a refused round left a round behind"
        );
    }
    // The ceiling itself is accepted.
    let id = app
        .open_round(&world.commander_a, &form("1000016"))
        .await
        .expect("a round at its ceiling");
    assert_eq!(app.rounds(&world.commander_a).await.unwrap().len(), 1);
    assert!(app.round(&world.commander_a, id).await.is_ok());
}

story!(
    an_infant_swabbed_after_all_joins_the_target,
    infant_target_sqlite,
    infant_target_postgres
);

/// An infant below the round's age limit is left out of the target; swabbed after all, they join
/// it, so a grid never shows more swabbed than due, or 100 % while people are still unswabbed.
async fn an_infant_swabbed_after_all_joins_the_target(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let infant = Row::person("赵小宝", "20220301", 85, "", "A2-0001", "子女", GRID_A2);
    app.save_resident(
        &world.admin,
        &fangkong_domain::resident_row::RawResidentRow::from_owned_fields(infant.fields().to_vec()),
    )
    .await
    .expect("register the infant");
    let id = app
        .open_round(
            &world.commander_a,
            &RoundForm {
                name: "廉州镇第2轮".into(),
                kind: "whole".into(),
                region_code: TOWNSHIP_A.into(),
                pool_size: "5".into(),
                tubes: "20".into(),
                infant_months: "12".into(),
                ..Default::default()
            },
        )
        .await
        .expect("open round");
    let opened = app.round(&world.commander_a, id).await.unwrap();
    assert_eq!(opened.target_population, 8, "the infant is left out");
    let site = app
        .create_site(
            &world.commander_a,
            id,
            &SiteForm {
                region_code: VILLAGE_A2.into(),
                name: "文源社区采样点".into(),
                tables: "1".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let round = Round {
        id,
        site,
        first_serial: TubeBarcode::parse(&opened.tube_ranges[0].0)
            .unwrap()
            .serial(),
    };
    let results = scan(
        &app,
        &world.sampler_a,
        &round,
        vec![bind(&round.tube(0), &infant.id_number)],
    )
    .await;
    assert!(results[0].ok, "{:?}", results[0]);
    let overview = app
        .round_overview(&world.commander_a, id, "")
        .await
        .unwrap();
    assert_eq!(
        (overview.totals.target, overview.totals.sampled),
        (9, 1),
        "the swabbed infant counts in the target"
    );
    assert_eq!(overview.totals.missing(), 8);
    assert!(
        overview
            .children
            .iter()
            .all(|line| line.sampled <= line.target - line.exempt)
    );
    assert_eq!(
        app.round(&world.commander_a, id)
            .await
            .unwrap()
            .target_population,
        9
    );
}
