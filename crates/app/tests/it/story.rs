//! Behaviour stories of the application layer, each run on SQLite and, when FANGKONG_TEST_POSTGRES
//! names a server, on a brand-new PostgreSQL database.
//!
//! Longer than 800 lines: one capability's stories, each on both backends where it applies; split
//! by sub-area when a new story would not fit.

use std::fmt::Debug;

use crate::support::*;
use fangkong_app::door_visits::DoorVisitForm;
use fangkong_app::import::{FileFormat, PROBLEM_COLUMN};
use fangkong_app::{AppError, AppResult, auth};
use fangkong_domain::ids::gb11643_check_digit;
use fangkong_domain::region::RegionCode;
use fangkong_domain::resident_row::COLUMNS;
use fangkong_domain::role::Role;

/// Generates the SQLite test and the PostgreSQL test of one story.
fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// A record looked up by id outside the jurisdiction answers exactly like a missing one.
#[track_caller]
fn assert_not_found<T: Debug>(result: AppResult<T>, what: &str) {
    match result {
        Err(AppError::NotFound(_)) => {}
        other => panic!("{what}: expected NotFound (as for a missing id), got {other:?}"),
    }
}

#[track_caller]
fn assert_outside<T: Debug>(result: AppResult<T>, what: &str) {
    match result {
        Err(AppError::OutsideJurisdiction) => {}
        other => panic!("{what}: expected OutsideJurisdiction, got {other:?}"),
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
fn invalid_message<T: Debug>(result: AppResult<T>, what: &str) -> String {
    match result {
        Err(AppError::Invalid(message)) => message,
        other => panic!("{what}: expected Invalid, got {other:?}"),
    }
}

fn township_code() -> RegionCode {
    RegionCode::parse(TOWNSHIP_A).expect("code")
}

// ---------------------------------------------------------------------------------------------
// 1. CSV import with good and bad rows, the problem file, and re-imports
// ---------------------------------------------------------------------------------------------

story!(
    story_csv_import,
    sqlite_a_csv_import_lands_good_rows_reports_each_bad_row_and_takes_back_the_fixed_problem_rows,
    postgres_a_csv_import_lands_good_rows_reports_each_bad_row_and_takes_back_the_fixed_problem_rows
);

async fn story_csv_import(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    let importer = &world.commander_a;

    // Rows 2..=11 (the header is row 1).
    let good_1 = Row::person(
        "王建国",
        "19650312",
        11,
        "13900000001",
        "A1-0001",
        "户主",
        GRID_A1,
    ); // row 2
    let good_2 = Row::person(
        "王秀英",
        "19680521",
        22,
        "13900000002",
        "A1-0001",
        "配偶",
        GRID_A1,
    ); // row 3
    let good_3 = Row::person(
        "李华",
        "19800101",
        41,
        "13900000004",
        "A1-0002",
        "户主",
        GRID_A1,
    ); // row 4
    let mut bad_check = Row::person(
        "陈刚",
        "19770405",
        31,
        "13900000021",
        "A1-0002",
        "兄弟",
        GRID_A1,
    ); // row 5
    bad_check.id_number = with_wrong_check_digit(&bad_check.id_number);
    let mut bad_date = Row::person(
        "韩梅",
        "19990228",
        42,
        "13900000022",
        "A1-0003",
        "户主",
        GRID_A1,
    ); // row 6
    let first17 = format!("{COUNTY}19990230042");
    bad_date.id_number = format!(
        "{first17}{}",
        gb11643_check_digit(&first17).expect("17 digits")
    );
    bad_date.birth_date.clear();
    bad_date.sex.clear();
    let unknown_grid = Row::person(
        "冯军",
        "19850505",
        51,
        "13900000023",
        "A1-0004",
        "户主",
        GRID_UNKNOWN,
    ); // row 7
    let outside = Row::person(
        "杨帆",
        "19860606",
        53,
        "13900000024",
        "B1-0009",
        "户主",
        GRID_B1,
    ); // row 8
    let mut duplicate = good_1.clone(); // row 9: the same ID again, in the same household
    duplicate.name = "王小红".to_string();
    duplicate.relation = "子女".to_string();
    let good_4 = Row::person(
        "赵敏",
        "19881212",
        72,
        "13900000007",
        "A2-0001",
        "户主",
        GRID_A2,
    ); // row 10
    let broken = Row::person(
        "黄蓉",
        "19920303",
        64,
        "13900000025",
        "A2-0001",
        "配偶",
        GRID_A2,
    ); // row 11

    let path = guard.path("居民导入.csv");
    write_csv(
        &path,
        &[
            good_1.clone(),
            good_2.clone(),
            good_3.clone(),
            bad_check.clone(),
            bad_date.clone(),
            unknown_grid.clone(),
            outside.clone(),
            duplicate.clone(),
            good_4.clone(),
        ],
    );
    // Row 11: a quote that is never closed, as a hand-edited file may have.
    {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("append");
        let fields = broken.fields();
        writeln!(file, "\"{}", fields.join(",")).expect("write the broken row");
    }
    let good_rows = [&good_1, &good_2, &good_3, &good_4];

    let report = app
        .import_residents(importer, &path, "居民导入.csv")
        .await
        .expect("import");
    assert_eq!(report.rows_total, 10, "{report:?}");
    assert_eq!(report.inserted, 4, "{report:?}");
    assert_eq!(report.updated, 0);
    assert_eq!(report.unchanged, 0);
    assert_eq!(report.problem_rows, 6, "{:#?}", report.problems);
    for problem in &report.problems {
        assert!(
            has_chinese(&problem.message),
            "message in Chinese: {problem:?}"
        );
        assert!(!problem.column.is_empty());
    }
    let problem_at = |row: i64| {
        report
            .problems
            .iter()
            .find(|p| p.row_number == row)
            .unwrap_or_else(|| panic!("row {row} is reported: {:#?}", report.problems))
    };
    let p = problem_at(5);
    assert_eq!(p.column, "证件号码");
    assert!(p.message.contains("校验位"), "{p:?}");
    let p = problem_at(6);
    assert_eq!(p.column, "证件号码");
    assert!(p.message.contains("19990230"), "{p:?}");
    let p = problem_at(7);
    assert_eq!(p.column, "网格编码");
    assert!(
        p.message.contains(GRID_UNKNOWN) && p.message.contains("不存在"),
        "{p:?}"
    );
    let p = problem_at(8);
    assert_eq!(p.column, "网格编码");
    assert!(p.message.contains("管辖范围"), "{p:?}");
    let p = problem_at(9);
    assert_eq!(p.column, "证件号码");
    assert!(p.message.contains("第 2 行重复"), "{p:?}");
    problem_at(11);
    let reported_rows: std::collections::BTreeSet<i64> =
        report.problems.iter().map(|p| p.row_number).collect();
    assert_eq!(
        reported_rows.into_iter().collect::<Vec<_>>(),
        [5, 6, 7, 8, 9, 11]
    );

    // The good rows landed, in the importer's jurisdiction; nothing else did.
    for row in good_rows {
        let found = app
            .search_residents(importer, &row.id_number)
            .await
            .expect("search");
        assert_eq!(found.len(), 1, "{} landed", row.name);
        assert_eq!(found[0].name, row.name);
    }
    let (lower, upper) = RegionCode::parse(COUNTY).expect("code").subtree_range();
    assert_eq!(
        app.store_for_tools()
            .count_residents_by_scan((&lower, &upper))
            .await
            .expect("scan"),
        4
    );
    let run = app
        .import_run(importer, report.import_id)
        .await
        .expect("import run");
    assert_eq!(run.inserted, 4);

    // The problem file: the import columns plus 问题说明, one line per problem row.
    let bytes = app
        .import_problem_file(importer, report.import_id)
        .await
        .expect("problem file");
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "a byte-order mark for Excel"
    );
    let records = read_csv_bytes(&bytes);
    let mut header: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    header.push(PROBLEM_COLUMN.to_string());
    assert_eq!(records[0], header);
    assert_eq!(records.len(), 1 + 6, "{records:#?}");
    let explanation_at = header.len() - 1;
    let mut fixed_rows: Vec<Vec<String>> = vec![header.clone()];
    for record in &records[1..] {
        let explanation = &record[explanation_at];
        assert!(has_chinese(explanation));
        let row_number: i64 = explanation
            .strip_prefix('第')
            .and_then(|rest| rest.split('行').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("问题说明 names its row: {explanation}"));
        let mut fixed = record.clone();
        match row_number {
            5 => {
                assert_eq!(fixed[0], "陈刚");
                let first17 = fixed[2][..17].to_string();
                fixed[2] = format!(
                    "{first17}{}",
                    gb11643_check_digit(&first17).expect("17 digits")
                );
            }
            6 => {
                assert_eq!(fixed[0], "韩梅");
                fixed[2] = id_number("19990228", 42);
            }
            7 => {
                assert_eq!(fixed[9], GRID_UNKNOWN);
                fixed[9] = GRID_A1.to_string();
            }
            8 => {
                assert_eq!(fixed[0], "杨帆");
                fixed[7] = "A2-0002".to_string();
                fixed[9] = GRID_A2.to_string();
            }
            9 => {
                assert_eq!(fixed[0], "王小红");
                assert_eq!(
                    fixed[2], good_1.id_number,
                    "the problem file keeps the full number to fix"
                );
                fixed[2] = id_number("19650312", 15);
            }
            11 => {
                fixed = broken.fields().to_vec();
                fixed.push(explanation.clone());
            }
            other => panic!("unexpected problem row {other}"),
        }
        fixed_rows.push(fixed);
    }
    let fixed_path = guard.path("问题行_已改.csv");
    {
        let mut writer = csv::Writer::from_path(&fixed_path).expect("create");
        for row in &fixed_rows {
            writer.write_record(row).expect("write");
        }
        writer.flush().expect("flush");
    }
    let again = app
        .import_residents(importer, &fixed_path, "问题行_已改.csv")
        .await
        .expect("import fixed");
    assert_eq!(again.problem_rows, 0, "{:#?}", again.problems);
    assert_eq!(again.inserted, 6, "{again:?}");
    assert_eq!(again.rows_total, 6);
    assert_eq!(
        app.store_for_tools()
            .count_residents_by_scan((&lower, &upper))
            .await
            .expect("scan"),
        10
    );

    // The original file once more: nothing changes.
    let repeat = app
        .import_residents(importer, &path, "居民导入.csv")
        .await
        .expect("re-import");
    assert_eq!(repeat.inserted, 0, "{repeat:?}");
    assert_eq!(repeat.updated, 0, "{repeat:?}");
    assert_eq!(repeat.unchanged, good_rows.len() as i64, "{repeat:?}");
    assert_eq!(
        app.store_for_tools()
            .count_residents_by_scan((&lower, &upper))
            .await
            .expect("scan"),
        10
    );
    let overview = app
        .region_overview(importer, TOWNSHIP_A)
        .await
        .expect("overview");
    assert_eq!(
        overview.residents, 10,
        "maintained counts follow the imports"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. XLSX import
// ---------------------------------------------------------------------------------------------

story!(
    story_xlsx_import,
    sqlite_an_xlsx_import_reads_date_serials_and_explains_an_id_number_that_excel_stored_as_a_number,
    postgres_an_xlsx_import_reads_date_serials_and_explains_an_id_number_that_excel_stored_as_a_number
);

async fn story_xlsx_import(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    let importer = &world.commander_a;

    let text_row = Row::person(
        "王建国",
        "19650312",
        11,
        "13900000001",
        "A1-0001",
        "户主",
        GRID_A1,
    ); // row 2
    let numeric_id = Row::person(
        "王秀英",
        "19680521",
        22,
        "13900000002",
        "A1-0001",
        "配偶",
        GRID_A1,
    ); // row 3
    let date_cell = Row::person(
        "李华",
        "19800101",
        41,
        "13900000004",
        "A1-0002",
        "户主",
        GRID_A1,
    ); // row 4
    let serial_number = Row::person(
        "赵敏",
        "19900101",
        72,
        "13900000007",
        "A2-0001",
        "户主",
        GRID_A2,
    ); // row 5

    let path = guard.path("居民.xlsx");
    {
        use rust_xlsxwriter::{Format, Workbook};
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        for (column, name) in COLUMNS.iter().enumerate() {
            sheet.write_string(0, column as u16, *name).expect("header");
        }
        for (index, row) in [&text_row, &numeric_id, &date_cell, &serial_number]
            .into_iter()
            .enumerate()
        {
            let r = index as u32 + 1;
            for (column, value) in row.fields().iter().enumerate() {
                sheet.write_string(r, column as u16, value).expect("cell");
            }
        }
        // Row 3: the ID number typed into a General cell, so Excel keeps it as a number.
        let as_number: f64 = numeric_id.id_number.parse().expect("all digits");
        sheet.write_number(2, 2, as_number).expect("number cell");
        // Row 2: the phone as a number too (harmless: 11 digits survive).
        sheet
            .write_number(1, 5, 13_900_000_001_f64)
            .expect("phone number cell");
        // Row 4: the birth date as a real Excel date (serial 29221 = 1980-01-01).
        let date_format = Format::new().set_num_format("yyyy-mm-dd");
        sheet
            .write_number_with_format(3, 4, 29221.0, &date_format)
            .expect("date cell");
        // Row 5: the birth date as a bare serial number (32874 = 1990-01-01).
        sheet.write_number(4, 4, 32874.0).expect("serial cell");
        workbook.save(&path).expect("save workbook");
    }

    let report = app
        .import_residents(importer, &path, "居民.xlsx")
        .await
        .expect("import xlsx");
    assert_eq!(report.rows_total, 4, "{report:?}");
    assert_eq!(report.inserted, 3, "{:#?}", report.problems);
    assert_eq!(report.problem_rows, 1, "{:#?}", report.problems);
    let problem = &report.problems[0];
    assert_eq!(problem.row_number, 3);
    assert_eq!(problem.column, "证件号码");
    assert!(
        problem.message.contains("Excel") && problem.message.contains("数字"),
        "{problem:?}"
    );
    assert!(has_chinese(&problem.message));

    for (row, birth) in [
        (&text_row, "1965-03-12"),
        (&date_cell, "1980-01-01"),
        (&serial_number, "1990-01-01"),
    ] {
        let id = resident_id(&app, &world.admin, &row.id_number).await;
        let view = app.resident(importer, id).await.expect("resident");
        assert_eq!(view.name, row.name);
        assert_eq!(view.birth_date, birth);
    }
    let id = resident_id(&app, &world.admin, &text_row.id_number).await;
    let revealed = app
        .reveal_resident(importer, id, "核对导入")
        .await
        .expect("reveal");
    assert_eq!(revealed.phone.as_deref(), Some("13900000001"));
    assert!(
        app.search_residents(importer, &numeric_id.id_number)
            .await
            .expect("search")
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Region overview
// ---------------------------------------------------------------------------------------------

story!(
    story_region_overview,
    sqlite_the_county_page_counts_each_townships_residents_and_a_grid_page_lists_households_and_masked_workers,
    postgres_the_county_page_counts_each_townships_residents_and_a_grid_page_lists_households_and_masked_workers
);

async fn story_region_overview(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let people = population();

    let grid = app
        .region_overview(&world.admin, GRID_A1)
        .await
        .expect("grid page");
    assert_eq!(grid.residents, 6);
    assert_eq!(grid.households, 3);
    assert!(grid.children.is_empty());
    let breadcrumbs: Vec<&str> = grid.breadcrumbs.iter().map(|b| b.code.as_str()).collect();
    assert_eq!(breadcrumbs, [COUNTY, TOWNSHIP_A, VILLAGE_A1]);
    let households: Vec<(&str, i64)> = grid
        .households_page
        .iter()
        .map(|h| (h.number.as_str(), h.members))
        .collect();
    assert_eq!(households, [("A1-0001", 3), ("A1-0002", 2), ("A1-0003", 1)]);
    assert_eq!(grid.grid_workers.len(), 1);
    assert_eq!(grid.grid_workers[0].name, "郑网格");
    assert_eq!(grid.grid_workers[0].phone_masked, "138****2222");
    let json = serde_json::to_string(&grid).expect("json");
    for (_, _, phone) in GRID_WORKERS {
        assert!(
            !json.contains(phone),
            "a worker's full phone is not on the grid page"
        );
    }

    let county = app
        .region_overview(&world.admin, COUNTY)
        .await
        .expect("county page");
    assert_eq!(county.region.code, COUNTY);
    assert_eq!(county.residents, people.len() as i64);
    assert_eq!(county.households, 6);
    assert_eq!(county.grids, 3);
    assert!(
        county.children.len() >= 10,
        "every township of 藁城区 is listed"
    );
    assert!(
        county
            .children
            .iter()
            .any(|c| c.code == TOWNSHIP_B && c.name == "增村镇")
    );
    for child in &county.children {
        let in_township: Vec<&Row> = people
            .iter()
            .filter(|r| r.grid.starts_with(&child.code))
            .collect();
        let households: std::collections::HashSet<&str> =
            in_township.iter().map(|r| r.household.as_str()).collect();
        assert_eq!(
            child.residents,
            in_township.len() as i64,
            "residents of {}",
            child.name
        );
        assert_eq!(
            child.households,
            households.len() as i64,
            "households of {}",
            child.name
        );
        let (lower, upper) = RegionCode::parse(&child.code)
            .expect("code")
            .subtree_range();
        let scanned = app
            .store_for_tools()
            .count_residents_by_scan((&lower, &upper))
            .await
            .expect("scan");
        assert_eq!(
            scanned, child.residents,
            "maintained count of {} equals a scan",
            child.name
        );
    }
    let township_a = county
        .children
        .iter()
        .find(|c| c.code == TOWNSHIP_A)
        .expect("廉州镇");
    assert_eq!(
        (
            township_a.residents,
            township_a.households,
            township_a.grids
        ),
        (8, 4, 2)
    );
    let township_b = county
        .children
        .iter()
        .find(|c| c.code == TOWNSHIP_B)
        .expect("增村镇");
    assert_eq!(
        (
            township_b.residents,
            township_b.households,
            township_b.grids
        ),
        (3, 2, 1)
    );
    let (lower, upper) = RegionCode::parse(COUNTY).expect("code").subtree_range();
    assert_eq!(
        app.store_for_tools()
            .count_residents_by_scan((&lower, &upper))
            .await
            .expect("scan"),
        county.residents
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Jurisdiction and roles
// ---------------------------------------------------------------------------------------------

story!(
    story_jurisdiction,
    sqlite_a_grid_worker_sees_only_their_own_township_a_lab_cannot_reveal_and_a_resident_cannot_view,
    postgres_a_grid_worker_sees_only_their_own_township_a_lab_cannot_reveal_and_a_resident_cannot_view
);

async fn story_jurisdiction(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let worker = &world.worker_a;
    let in_b = population_in(TOWNSHIP_B).remove(0);
    let in_a = population_in(TOWNSHIP_A).remove(0);
    let b_id = resident_id(&app, &world.admin, &in_b.id_number).await;
    let a_id = resident_id(&app, &world.admin, &in_a.id_number).await;
    let today = app.today();

    // Township B is out of reach of township A's grid worker.
    assert_not_found(app.resident(worker, b_id).await, "resident in B");
    assert_not_found(
        app.reveal_resident(worker, b_id, "核实").await,
        "reveal in B",
    );
    assert_not_found(
        app.household(worker, &in_b.household).await,
        "household in B",
    );
    assert_outside(
        app.region_overview(worker, TOWNSHIP_B).await,
        "township B page",
    );
    assert_outside(app.region_overview(worker, GRID_B1).await, "grid B page");
    assert_outside(
        app.region_overview(worker, COUNTY).await,
        "the county above the jurisdiction",
    );
    assert_outside(
        app.door_ledger(worker, GRID_B1, today).await,
        "door ledger of B",
    );
    let visit = DoorVisitForm {
        present_count: "2".into(),
        ..DoorVisitForm::default()
    };
    assert_not_found(
        app.record_door_visit(worker, &in_b.household, &visit).await,
        "visit in B",
    );
    for query in [
        in_b.id_number.as_str(),
        in_b.phone.as_str(),
        in_b.name.as_str(),
    ] {
        let found = app.search_residents(worker, query).await.expect("search");
        assert!(
            found.is_empty(),
            "search for a B resident from A finds nothing ({} results)",
            found.len()
        );
    }
    assert!(
        app.find_regions(worker, "增村")
            .await
            .expect("find regions")
            .is_empty()
    );
    // The failed reveal left no reveal in the audit log.
    assert!(
        app.audit_log(&world.admin, "reveal", None)
            .await
            .expect("audit")
            .is_empty()
    );

    // Township A is theirs.
    assert_eq!(
        app.resident(worker, a_id)
            .await
            .expect("resident in A")
            .name,
        in_a.name
    );
    assert_eq!(
        app.reveal_resident(worker, a_id, "核实")
            .await
            .expect("reveal in A")
            .id_number
            .as_deref(),
        Some(in_a.id_number.as_str())
    );
    assert_eq!(
        app.household(worker, &in_a.household)
            .await
            .expect("household in A")
            .members
            .len(),
        3
    );
    assert_eq!(
        app.door_ledger(worker, GRID_A1, today)
            .await
            .expect("ledger A")
            .households_total,
        3
    );
    assert_eq!(
        app.search_residents(worker, &in_a.id_number)
            .await
            .expect("search")
            .len(),
        1
    );
    // And the other way round.
    assert_not_found(
        app.resident(&world.worker_b, a_id).await,
        "resident in A seen from B",
    );
    assert_eq!(
        app.resident(&world.worker_b, b_id)
            .await
            .expect("resident in B from B")
            .name,
        in_b.name
    );

    // A lab works with tubes: it neither browses the register nor reveals personal data; a grid
    // worker may not export.
    assert_forbidden(app.resident(&world.lab, a_id).await, "lab views");
    assert_forbidden(
        app.reveal_resident(&world.lab, a_id, "检测").await,
        "lab reveal",
    );
    let export_path = guard.path("worker.csv");
    assert_forbidden(
        app.export_residents(worker, TOWNSHIP_A, FileFormat::Csv, &export_path)
            .await,
        "grid worker export",
    );
    assert!(!export_path.exists());

    // A resident-role user cannot view the population at all.
    let resident = &world.resident_user;
    assert_eq!(resident.role, Role::Resident);
    assert_forbidden(
        app.resident(resident, a_id).await,
        "resident views a resident",
    );
    assert_forbidden(
        app.search_residents(resident, &in_a.name).await,
        "resident searches",
    );
    assert_forbidden(
        app.region_overview(resident, COUNTY).await,
        "resident views the county",
    );
    assert_forbidden(
        app.household(resident, &in_a.household).await,
        "resident views a household",
    );
    let error = app
        .region_overview(resident, COUNTY)
        .await
        .expect_err("forbidden");
    assert!(
        error.to_string().contains("居民"),
        "the message names the role: {error}"
    );

    // Last, as it is the only step that needs the per-child counts.
    assert_eq!(
        app.region_overview(worker, TOWNSHIP_A)
            .await
            .expect("township A page")
            .residents,
        8
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Masking, reveal and audit
// ---------------------------------------------------------------------------------------------

story!(
    story_masking_and_audit,
    sqlite_pages_show_masked_numbers_and_a_reveal_or_an_export_is_written_to_the_audit_log,
    postgres_pages_show_masked_numbers_and_a_reveal_or_an_export_is_written_to_the_audit_log
);

async fn story_masking_and_audit(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let person = population().remove(0);
    let id = resident_id(&app, &world.admin, &person.id_number).await;
    let worker = &world.worker_a;

    let view = app.resident(worker, id).await.expect("resident");
    assert_eq!(view.id_number_masked, masked_id(&person.id_number));
    assert!(view.id_number_masked.starts_with("130109********"));
    assert_eq!(view.phone_masked, "139****0001");
    assert_eq!(view.id_number, None);
    assert_eq!(view.phone, None);
    assert_eq!(view.sex_label, "男");
    assert_eq!(view.age, 57, "born 1965-03-12, seen on 2022-11-20");
    assert_eq!(view.key_groups_label, "冷链从业人员、医务人员");
    let json = serde_json::to_string(&view).expect("json");
    assert!(
        !json.contains(&person.id_number) && !json.contains(&person.phone),
        "{json}"
    );
    let household = app
        .household(worker, &person.household)
        .await
        .expect("household");
    let json = serde_json::to_string(&household).expect("json");
    for member in population()
        .iter()
        .filter(|r| r.household == person.household)
    {
        assert!(
            !json.contains(&member.id_number),
            "household page hides ID numbers"
        );
        assert!(
            member.phone.is_empty() || !json.contains(&member.phone),
            "household page hides phones"
        );
    }
    let found = app
        .search_residents(worker, &person.id_number)
        .await
        .expect("search");
    assert_eq!(found[0].id_number, None);
    assert_eq!(found[0].id_number_masked, masked_id(&person.id_number));
    assert!(
        app.audit_log(&world.admin, "reveal", None)
            .await
            .expect("audit")
            .is_empty(),
        "views are not reveals"
    );

    let revealed = app
        .reveal_resident(worker, id, "电话通知核酸检测")
        .await
        .expect("reveal");
    assert_eq!(
        revealed.id_number.as_deref(),
        Some(person.id_number.as_str())
    );
    assert_eq!(revealed.phone.as_deref(), Some(person.phone.as_str()));
    let reveals = app
        .audit_log(&world.admin, "reveal", None)
        .await
        .expect("audit");
    assert_eq!(reveals.len(), 1, "{reveals:?}");
    let entry = &reveals[0];
    assert_eq!(entry.action, "reveal");
    assert_eq!(entry.username, "worker_a");
    assert_eq!(entry.user_id, Some(worker.user_id));
    assert_eq!(entry.target, format!("resident:{id}"));
    assert_eq!(entry.detail, "电话通知核酸检测");
    assert_eq!(entry.client_addr, "127.0.0.1");
    assert_eq!(entry.at, start_time().timestamp());
    assert!(!entry.detail.contains(&person.id_number) && !entry.target.contains(&person.id_number));

    let path = guard.path("廉州镇.csv");
    let rows = app
        .export_residents(&world.commander_a, TOWNSHIP_A, FileFormat::Csv, &path)
        .await
        .expect("export");
    assert_eq!(rows, 8);
    let exports = app
        .audit_log(&world.admin, "export", None)
        .await
        .expect("audit");
    assert_eq!(exports.len(), 1, "{exports:?}");
    assert_eq!(exports[0].username, "commander_a");
    assert_eq!(exports[0].target, format!("region:{TOWNSHIP_A}"));
    assert_eq!(exports[0].detail, "csv");
    // Only administrators read the audit log.
    assert_forbidden(
        app.audit_log(worker, "", None).await,
        "grid worker reads the audit log",
    );
    let everything = app.audit_log(&world.admin, "", None).await.expect("audit");
    assert!(everything.iter().any(|e| e.action == "import"));
    assert!(
        everything.windows(2).all(|w| w[0].id > w[1].id),
        "newest first"
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Login, sessions, expiry and logout
// ---------------------------------------------------------------------------------------------

story!(
    story_login,
    sqlite_a_wrong_password_is_refused_and_audited_and_a_session_expires_after_its_shift_or_at_logout,
    postgres_a_wrong_password_is_refused_and_audited_and_a_session_expires_after_its_shift_or_at_logout
);

async fn story_login(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;

    let wrong = app.login("worker_a", "not-the-password", "10.0.0.9").await;
    assert!(
        matches!(wrong, Err(AppError::BadCredentials)),
        "{:?}",
        wrong.err()
    );
    let unknown = app.login("nobody", PASSWORD, "10.0.0.9").await;
    assert!(
        matches!(unknown, Err(AppError::BadCredentials)),
        "{:?}",
        unknown.err()
    );
    assert_eq!(AppError::BadCredentials.to_string(), "用户名或密码错误");
    // A failure of an unknown username belongs to no jurisdiction: the province's administrator
    // reads it (the county's sees only its own users' entries).
    app.create_user_unchecked(
        &auth::NewUser {
            username: "province_admin".into(),
            display_name: "省管理员".into(),
            role: Role::Administrator,
            jurisdiction: RegionCode::parse("13").expect("province"),
            password: PASSWORD.into(),
        },
        "test",
    )
    .await
    .expect("province administrator");
    let province_admin = login(&app, "province_admin").await;
    let county_view = app
        .audit_log(&world.admin, "login_failed", None)
        .await
        .expect("audit");
    assert_eq!(
        county_view.len(),
        1,
        "only worker_a's failure: {county_view:?}"
    );
    let failures = app
        .audit_log(&province_admin, "login_failed", None)
        .await
        .expect("audit");
    assert_eq!(failures.len(), 2, "{failures:?}");
    let failure = failures
        .iter()
        .find(|f| f.username == "worker_a")
        .expect("worker_a's failure");
    assert_eq!(failure.user_id, None);
    assert_eq!(failure.client_addr, "10.0.0.9");
    assert!(
        !failure.detail.contains("not-the-password"),
        "a typed password is never logged"
    );

    let session = app
        .login("worker_a", PASSWORD, "10.0.0.9")
        .await
        .expect("login");
    assert_eq!(session.actor.username, "worker_a");
    assert_eq!(session.actor.role, Role::GridWorker);
    let info = app
        .session(&session.token, "10.0.0.10")
        .await
        .expect("session");
    assert_eq!(info.actor.user_id, session.actor.user_id);
    assert_eq!(info.actor.jurisdiction.as_str(), TOWNSHIP_A);
    assert_eq!(info.actor.client_addr, "10.0.0.10");
    assert_eq!(info.csrf_token, session.csrf_token);
    assert!(
        matches!(
            app.session("0123456789abcdef", "10.0.0.9").await,
            Err(AppError::NotLoggedIn)
        ),
        "an unknown token is no session"
    );

    guard
        .clock
        .advance(chrono::Duration::seconds(auth::SESSION_SECONDS - 1));
    app.session(&session.token, "10.0.0.9")
        .await
        .expect("still valid just before the end");
    guard.clock.advance(chrono::Duration::seconds(2));
    let expired = app.session(&session.token, "10.0.0.9").await;
    assert!(
        matches!(expired, Err(AppError::SessionExpired)),
        "{expired:?}"
    );

    let second = app
        .login("worker_a", PASSWORD, "10.0.0.9")
        .await
        .expect("login again");
    app.session(&second.token, "10.0.0.9")
        .await
        .expect("the new session works");
    app.logout(&second.token, &second.actor)
        .await
        .expect("logout");
    let after = app.session(&second.token, "10.0.0.9").await;
    assert!(matches!(after, Err(AppError::NotLoggedIn)), "{after:?}");
    let logins = app
        .audit_log(&world.admin, "login", None)
        .await
        .expect("audit");
    assert!(
        logins
            .iter()
            .any(|e| e.username == "worker_a" && e.client_addr == "10.0.0.9")
    );
    assert_eq!(
        app.audit_log(&world.admin, "logout", None)
            .await
            .expect("audit")
            .len(),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Door-to-door visits
// ---------------------------------------------------------------------------------------------

story!(
    story_door_visits,
    sqlite_a_door_visit_takes_its_household_off_the_grids_unvisited_list_and_bad_forms_are_refused,
    postgres_a_door_visit_takes_its_household_off_the_grids_unvisited_list_and_bad_forms_are_refused
);

async fn story_door_visits(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let worker = &world.worker_a;
    let today = app.today();
    assert_eq!(today.to_string(), "2022-11-20");

    let before = app
        .door_ledger(worker, GRID_A1, today)
        .await
        .expect("ledger");
    let unvisited: Vec<&str> = before.unvisited.iter().map(|h| h.number.as_str()).collect();
    assert_eq!(unvisited, ["A1-0001", "A1-0002", "A1-0003"]);
    assert_eq!(before.households_visited, 0);

    let form = DoorVisitForm {
        present_count: "3".into(),
        away_count: "0".into(),
        untested_count: "1".into(),
        note: "已提醒明天做核酸".into(),
        ..DoorVisitForm::default()
    };
    let visit = app
        .record_door_visit(worker, "A1-0001", &form)
        .await
        .expect("visit");
    // The visit committed with its audit record.
    let visit_records = || async {
        audit_rows(&app)
            .await
            .into_iter()
            .filter(|r| r.action == "create" && r.target.starts_with("door_visit:"))
            .map(|r| r.target)
            .collect::<Vec<_>>()
    };
    assert_eq!(visit_records().await, [format!("door_visit:{visit}")]);

    let ledger = app
        .door_ledger(worker, GRID_A1, today)
        .await
        .expect("ledger");
    let unvisited: Vec<&str> = ledger.unvisited.iter().map(|h| h.number.as_str()).collect();
    assert_eq!(unvisited, ["A1-0002", "A1-0003"]);
    assert_eq!(ledger.households_total, 3);
    assert_eq!(ledger.households_visited, 1);
    assert_eq!(ledger.untested, 1);
    assert_eq!(ledger.grid_code, GRID_A1);
    assert_eq!(ledger.grid_name, "西城街第一网格");
    // Counted from tomorrow, nobody has been visited yet.
    let tomorrow = today.succ_opt().expect("date");
    assert_eq!(
        app.door_ledger(worker, GRID_A1, tomorrow)
            .await
            .expect("ledger")
            .unvisited
            .len(),
        3
    );
    // The other grid is untouched.
    assert_eq!(
        app.door_ledger(worker, GRID_A2, today)
            .await
            .expect("ledger")
            .unvisited
            .len(),
        1
    );

    let no_note = DoorVisitForm {
        present_count: "2".into(),
        arrivals_count: "1".into(),
        ..DoorVisitForm::default()
    };
    let message = invalid_message(
        app.record_door_visit(worker, "A1-0002", &no_note).await,
        "arrivals without note",
    );
    assert!(
        has_chinese(&message) && message.contains("来自何处"),
        "{message}"
    );
    let bad_count = DoorVisitForm {
        present_count: "abc".into(),
        ..DoorVisitForm::default()
    };
    let message = invalid_message(
        app.record_door_visit(worker, "A1-0002", &bad_count).await,
        "count abc",
    );
    assert!(
        has_chinese(&message) && message.contains("abc"),
        "{message}"
    );
    assert!(
        app.household(worker, "A1-0002")
            .await
            .expect("household")
            .visits
            .is_empty(),
        "refused visits are not stored"
    );
    let visited = app.household(worker, "A1-0001").await.expect("household");
    assert_eq!(visited.visits.len(), 1);
    assert_eq!(visited.visits[0].visitor, worker.display_name);
    assert_eq!(visited.visits[0].present_count, 3);
    assert_eq!(visited.visits[0].note, "已提醒明天做核酸");

    let with_note = DoorVisitForm {
        present_count: "2".into(),
        arrivals_count: "1".into(),
        arrivals_note: "11月18日从石家庄返回".into(),
        ..DoorVisitForm::default()
    };
    // The refused visits above left no audit record.
    assert_eq!(visit_records().await.len(), 1);
    app.record_door_visit(worker, "A1-0002", &with_note)
        .await
        .expect("visit with arrivals");
    let ledger = app
        .door_ledger(worker, GRID_A1, today)
        .await
        .expect("ledger");
    assert_eq!(
        ledger
            .unvisited
            .iter()
            .map(|h| h.number.as_str())
            .collect::<Vec<_>>(),
        ["A1-0003"]
    );
    assert_eq!(ledger.arrivals, 1);
    assert_eq!(ledger.households_visited, 2);
    let message = invalid_message(
        app.door_ledger(worker, TOWNSHIP_A, today).await,
        "ledger of a township",
    );
    assert!(has_chinese(&message));
}

// ---------------------------------------------------------------------------------------------
// 8. Export round trip
// ---------------------------------------------------------------------------------------------

story!(
    story_export_round_trip,
    sqlite_a_township_exported_to_csv_or_xlsx_and_imported_again_is_unchanged,
    postgres_a_township_exported_to_csv_or_xlsx_and_imported_again_is_unchanged
);

async fn story_export_round_trip(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let commander = &world.commander_a;
    let expected = population_in(TOWNSHIP_A);
    assert!(commander.jurisdiction.contains(&township_code()));

    let csv_path = guard.path("导出.csv");
    let rows = app
        .export_residents(commander, TOWNSHIP_A, FileFormat::Csv, &csv_path)
        .await
        .expect("export csv");
    assert_eq!(rows, expected.len() as u64);
    let records = read_csv_bytes(&std::fs::read(&csv_path).expect("read export"));
    assert_eq!(records[0], COLUMNS.map(str::to_string).to_vec());
    assert_eq!(records.len(), 1 + expected.len());
    for row in &expected {
        let line = records
            .iter()
            .find(|r| r[2] == row.id_number)
            .expect("every resident is exported");
        assert_eq!(line[0], row.name);
        assert_eq!(line[9], row.grid);
    }
    assert!(
        !records.iter().any(|r| r[9].starts_with(TOWNSHIP_B)),
        "only the township is exported"
    );

    let report = app
        .import_residents(commander, &csv_path, "导出.csv")
        .await
        .expect("import csv export");
    assert_eq!(report.problem_rows, 0, "{:#?}", report.problems);
    assert_eq!(
        (report.inserted, report.updated, report.unchanged),
        (0, 0, expected.len() as i64)
    );

    let xlsx_path = guard.path("导出.xlsx");
    let rows = app
        .export_residents(commander, TOWNSHIP_A, FileFormat::Xlsx, &xlsx_path)
        .await
        .expect("export xlsx");
    assert_eq!(rows, expected.len() as u64);
    let report = app
        .import_residents(commander, &xlsx_path, "导出.xlsx")
        .await
        .expect("import xlsx export");
    assert_eq!(report.problem_rows, 0, "{:#?}", report.problems);
    assert_eq!(
        (report.inserted, report.updated, report.unchanged),
        (0, 0, expected.len() as i64)
    );

    let (lower, upper) = township_code().subtree_range();
    assert_eq!(
        app.store_for_tools()
            .count_residents_by_scan((&lower, &upper))
            .await
            .expect("scan"),
        expected.len() as i64
    );
    assert_eq!(
        app.audit_log(&world.admin, "export", None)
            .await
            .expect("audit")
            .len(),
        2
    );
    assert_eq!(
        app.region_overview(commander, TOWNSHIP_A)
            .await
            .expect("overview")
            .residents,
        expected.len() as i64
    );
}

// ---------------------------------------------------------------------------------------------
// 9. Search
// ---------------------------------------------------------------------------------------------

story!(
    story_search,
    sqlite_search_finds_by_full_id_number_phone_or_name_prefix_inside_the_jurisdiction_only,
    postgres_search_finds_by_full_id_number_phone_or_name_prefix_inside_the_jurisdiction_only
);

async fn story_search(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    import_population(&app, &guard, &world.admin).await;
    let people = population();
    let by_name = |name: &str| {
        people
            .iter()
            .find(|r| r.name == name)
            .expect("person")
            .clone()
    };
    let worker = &world.worker_a;

    let xiuying = by_name("王秀英");
    let found = app
        .search_residents(worker, &xiuying.id_number)
        .await
        .expect("by ID");
    assert_eq!(
        found.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["王秀英"]
    );
    assert_eq!(found[0].household_number, "A1-0001");
    let spaced = format!("{} {}", &xiuying.id_number[..6], &xiuying.id_number[6..]);
    assert_eq!(
        app.search_residents(worker, &spaced)
            .await
            .expect("by ID with a space")
            .len(),
        1
    );

    let hua = by_name("李华");
    let found = app
        .search_residents(worker, &hua.phone)
        .await
        .expect("by phone");
    assert_eq!(
        found.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["李华"]
    );
    assert_eq!(found[0].phone_masked, "139****0004");

    let found = app
        .search_residents(worker, "王")
        .await
        .expect("by name prefix");
    let mut expected: Vec<&str> = vec!["王建国", "王秀英", "王小明"];
    expected.sort();
    assert_eq!(
        found.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        expected,
        "only township A's 王"
    );
    let found = app
        .search_residents(worker, "王秀")
        .await
        .expect("by longer prefix");
    assert_eq!(
        found.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["王秀英"]
    );
    assert!(
        app.search_residents(worker, "秀英")
            .await
            .expect("not a prefix")
            .is_empty()
    );

    let dali = by_name("王大力");
    assert!(
        app.search_residents(worker, &dali.id_number)
            .await
            .expect("B's ID")
            .is_empty()
    );
    assert!(
        app.search_residents(worker, &dali.phone)
            .await
            .expect("B's phone")
            .is_empty()
    );
    assert!(
        app.search_residents(worker, "王大")
            .await
            .expect("B's name")
            .is_empty()
    );
    let found = app
        .search_residents(&world.worker_b, "王")
        .await
        .expect("B searches");
    assert_eq!(
        found.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["王大力"]
    );
    assert_eq!(
        app.search_residents(&world.admin, "王")
            .await
            .expect("county")
            .len(),
        4
    );
    assert!(
        app.search_residents(worker, "   ")
            .await
            .expect("blank")
            .is_empty()
    );
}
