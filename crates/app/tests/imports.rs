//! Uploaded files read within bounds and honestly: hostile spreadsheets and CSVs (a sheet that
//! declares A1:XFD1048576, a shared-string bomb, a 50 MB line) cost bounded memory and end as a
//! refusal or a problem row; files from real offices (a title row, data on the second sheet,
//! Excel's scientific notation, a stray byte, an unclosed quote, characters lost to GBK) land or
//! are named in words.

#[macro_use]
#[path = "it/support/mod.rs"]
mod support;

use std::io::Write;
use std::path::Path;

use fangkong_app::AppError;
use fangkong_app::import::ImportReport;
use fangkong_domain::resident_row::COLUMNS;
use support::*;

// ---------------------------------------------------------------------------------------------
// Memory: the process's peak resident set (VmHWM) must not grow by more than this.

const MEMORY_BUDGET_KB: u64 = 200 * 1024;

/// The tests that measure memory run one at a time (the peak is the whole process's).
static MEASURED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

#[track_caller]
fn assert_memory_bounded(before: u64, what: &str) {
    let grown = peak_rss_kb().saturating_sub(before);
    assert!(
        grown < MEMORY_BUDGET_KB,
        "{what}: peak memory grew by {} MB",
        grown / 1024
    );
}

// ---------------------------------------------------------------------------------------------
// Building XLSX files by hand (the hostile ones cannot be written with a spreadsheet library).

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn column_letters(mut column: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (column % 26) as u8);
        if column < 26 {
            break;
        }
        column = column / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap()
}

/// A sheet's XML from rows of (1-based row number, cells as inline strings); `extra` goes inside
/// `<sheetData>` after the rows, `dimension` is the declared range.
fn sheet_xml(dimension: &str, rows: &[(u32, Vec<String>)], extra: &str) -> String {
    let mut xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>"#
    );
    for (row, cells) in rows {
        xml.push_str(&format!(r#"<row r="{row}">"#));
        for (column, cell) in cells.iter().enumerate() {
            xml.push_str(&format!(
                r#"<c r="{}{row}" t="inlineStr"><is><t>{}</t></is></c>"#,
                column_letters(column),
                xml_escape(cell)
            ));
        }
        xml.push_str("</row>");
    }
    xml.push_str(extra);
    xml.push_str("</sheetData></worksheet>");
    xml
}

/// Writes an XLSX with the given sheets (name, XML) and optional shared-strings XML.
fn write_xlsx(path: &Path, sheets: &[(&str, String)], shared_strings: Option<&str>) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut put = |name: &str, body: &str| {
        zip.start_file(name, options).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    };
    let mut types = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#,
    );
    let mut workbook = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>"#,
    );
    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    );
    for (index, (name, _)) in sheets.iter().enumerate() {
        let n = index + 1;
        types.push_str(&format!(r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#));
        workbook.push_str(&format!(
            r#"<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>"#
        ));
        rels.push_str(&format!(r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#));
    }
    if shared_strings.is_some() {
        types.push_str(r#"<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>"#);
        rels.push_str(r#"<Relationship Id="rId999" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>"#);
    }
    types.push_str("</Types>");
    workbook.push_str("</sheets></workbook>");
    rels.push_str("</Relationships>");
    put("[Content_Types].xml", &types);
    put(
        "_rels/.rels",
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
    );
    put("xl/workbook.xml", &workbook);
    put("xl/_rels/workbook.xml.rels", &rels);
    for (index, (_, xml)) in sheets.iter().enumerate() {
        put(&format!("xl/worksheets/sheet{}.xml", index + 1), xml);
    }
    if let Some(shared) = shared_strings {
        put("xl/sharedStrings.xml", shared);
    }
    zip.finish().unwrap();
}

fn header() -> Vec<String> {
    COLUMNS.iter().map(|c| c.to_string()).collect()
}

fn person(name: &str, sequence: u32) -> Row {
    Row::person(
        name,
        "19800101",
        sequence,
        "13900000011",
        &format!("T-{sequence:04}"),
        "户主",
        GRID_A1,
    )
}

async fn import(app: &fangkong_app::App, world: &World, path: &Path) -> ImportReport {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    app.import_residents(&world.admin, path, &name)
        .await
        .unwrap_or_else(|e| panic!("import {name}: {e}"))
}

#[track_caller]
fn has_problem(report: &ImportReport, row: i64, words: &[&str]) {
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.row_number == row && words.iter().all(|w| p.message.contains(w))),
        "no problem on row {row} with {words:?}: {:?}",
        report.problems
    );
}

// ---------------------------------------------------------------------------------------------
// C1 and H4: hostile spreadsheets

async fn sparse_sheet_costs_what_its_cells_cost(backend: Backend) {
    let _one_at_a_time = MEASURED.lock().await;
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    let path = guard.path("sparse.xlsx");
    let good = person("稀疏表", 11);
    // Declares A1:XFD1048576 and has a cell at XFD1048576: a dense range would be 512 GiB.
    let sheet = sheet_xml(
        "A1:XFD1048576",
        &[(1, header()), (2, good.fields().to_vec())],
        r#"<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>"#,
    );
    write_xlsx(&path, &[("Sheet1", sheet)], None);
    assert!(std::fs::metadata(&path).unwrap().len() < 4_000);
    let before = peak_rss_kb();
    let report = import(&app, &world, &path).await;
    assert_memory_bounded(before, "sparse sheet");
    assert_eq!(report.inserted, 1, "{:?}", report.problems);
    assert_eq!(report.problem_rows, 0, "{:?}", report.problems);
}
story!(
    sparse_sheet_costs_what_its_cells_cost,
    sparse_sheet_costs_what_its_cells_cost_sqlite,
    sparse_sheet_costs_what_its_cells_cost_postgres
);

async fn shared_string_bomb_is_cut_or_refused(backend: Backend) {
    let _one_at_a_time = MEASURED.lock().await;
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    // One 30 MB shared string used in 11 cells: the row is a problem, memory stays bounded.
    let path = guard.path("sst_bomb30.xlsx");
    let shared = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="11" uniqueCount="1"><si><t>{}</t></si></sst>"#,
        "A".repeat(30 * 1024 * 1024)
    );
    let bomb_row: String = (0..11)
        .map(|c| format!(r#"<c r="{}3" t="s"><v>0</v></c>"#, column_letters(c)))
        .collect();
    let good = person("炸弹邻居", 13);
    let sheet = sheet_xml(
        "A1:K3",
        &[(1, header()), (2, good.fields().to_vec())],
        &format!(r#"<row r="3">{bomb_row}</row>"#),
    );
    write_xlsx(&path, &[("Sheet1", sheet)], Some(&shared));
    assert!(std::fs::metadata(&path).unwrap().len() < 200_000);
    let before = peak_rss_kb();
    let report = import(&app, &world, &path).await;
    assert_memory_bounded(before, "30 MB shared string");
    assert_eq!(report.inserted, 1);
    has_problem(&report, 3, &["超过1000个字"]);
    assert!(
        report
            .problems
            .iter()
            .all(|p| p.message.chars().count() < 200)
    );

    // A 60 MB shared-strings part: refused before it is read, naming the limit.
    let path = guard.path("sst_bomb60.xlsx");
    let shared = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>{}</t></si></sst>"#,
        "A".repeat(60 * 1024 * 1024)
    );
    write_xlsx(
        &path,
        &[("Sheet1", sheet_xml("A1:K1", &[(1, header())], ""))],
        Some(&shared),
    );
    let before = peak_rss_kb();
    let refused = app
        .import_residents(&world.admin, &path, "sst_bomb60.xlsx")
        .await;
    assert_memory_bounded(before, "60 MB shared strings");
    match refused {
        Err(AppError::Invalid(message)) => {
            assert!(message.contains("上限48MB"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    // A tiny part declaring a hundred million distinct strings (calamine would reserve room).
    let path = guard.path("sst_count.xlsx");
    let shared = r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="100000000000"><si><t>x</t></si></sst>"#;
    write_xlsx(
        &path,
        &[("Sheet1", sheet_xml("A1:K1", &[(1, header())], ""))],
        Some(shared),
    );
    match app
        .import_residents(&world.admin, &path, "sst_count.xlsx")
        .await
    {
        Err(AppError::Invalid(message)) => assert!(message.contains("上限"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // An old .xls is refused in words (calamine sizes it from its declared dimensions).
    match app
        .import_residents(&world.admin, &path, "旧表格.xls")
        .await
    {
        Err(AppError::Invalid(message)) => assert!(message.contains(".xlsx"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
story!(
    shared_string_bomb_is_cut_or_refused,
    shared_string_bomb_is_cut_or_refused_sqlite,
    shared_string_bomb_is_cut_or_refused_postgres
);

// ---------------------------------------------------------------------------------------------
// H4: CSV lines and problem storage

fn csv_line(fields: &[String]) -> String {
    fields.join(",")
}

async fn long_csv_line_is_one_small_problem(backend: Backend) {
    let _one_at_a_time = MEASURED.lock().await;
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    let path = guard.path("longline.csv");
    let first = person("长行前", 15);
    let last = person("长行后", 17);
    let mut file = std::fs::File::create(&path).unwrap();
    writeln!(file, "{}", csv_line(&header())).unwrap();
    writeln!(file, "{}", csv_line(&first.fields())).unwrap();
    // Row 3: 11 fields of 5 MB each (55 MB).
    let big = "B".repeat(5 * 1024 * 1024);
    let fields: Vec<&str> = (0..11).map(|_| big.as_str()).collect();
    writeln!(file, "{}", fields.join(",")).unwrap();
    drop(big);
    // Row 4: a 600-character ID type and name: a normal-sized row with echoes to cut.
    let mut echo = last.clone();
    echo.name = "张".repeat(40);
    echo.id_type = "证".repeat(600);
    writeln!(file, "{}", csv_line(&echo.fields())).unwrap();
    writeln!(file, "{}", csv_line(&last.fields())).unwrap();
    drop(file);
    let before = peak_rss_kb();
    let report = import(&app, &world, &path).await;
    assert_memory_bounded(before, "55 MB line");
    assert_eq!(report.inserted, 2, "{:?}", report.problems);
    assert_eq!(report.problem_rows, 2);
    has_problem(&report, 3, &["第3行太长"]);
    // The echoed ID type is cut to 40 characters.
    has_problem(&report, 4, &["证件类型", "…"]);
    for p in &report.problems {
        assert!(p.message.chars().count() < 200, "{}", p.message);
    }
    // The problem file: one line per problem row, its cells once, the messages together.
    let bytes = app
        .import_problem_file(&world.admin, report.import_id)
        .await
        .unwrap();
    assert!(
        bytes.len() < 10_000,
        "problem file is {} bytes",
        bytes.len()
    );
    let records = read_csv_bytes(&bytes);
    assert_eq!(records.len(), 3, "header and two problem rows");
    let row4 = &records[2];
    assert_eq!(row4[0], "张".repeat(40));
    assert!(row4[11].contains("第4行 姓名") && row4[11].contains("第4行 证件类型"));
}
story!(
    long_csv_line_is_one_small_problem,
    long_csv_line_is_one_small_problem_sqlite,
    long_csv_line_is_one_small_problem_postgres
);

// ---------------------------------------------------------------------------------------------
// Files from real offices

async fn title_row_and_second_sheet_are_found(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    let one = person("标题行", 19);
    let two = person("第二表", 21);
    // CSV: a title row and an empty line above a two-level header.
    let path = guard.path("title.csv");
    let mut file = std::fs::File::create(&path).unwrap();
    writeln!(file, "廉州镇西城街社区居民花名册,,,").unwrap();
    writeln!(file, "基本信息,,,,联系方式").unwrap();
    writeln!(file, "{}", csv_line(&header())).unwrap();
    writeln!(file, "{}", csv_line(&one.fields())).unwrap();
    drop(file);
    let report = import(&app, &world, &path).await;
    assert_eq!(report.inserted, 1, "{:?}", report.problems);
    assert!(report.note.as_deref().unwrap_or("").contains("第3行"));

    // XLSX: instructions on the first sheet, the data (under a merged title) on the second.
    let path = guard.path("two_sheets.xlsx");
    let instructions = sheet_xml(
        "A1:A2",
        &[
            (1, vec!["填表说明".into()]),
            (2, vec!["请在“花名册”表中填写".into()]),
        ],
        "",
    );
    let data = sheet_xml(
        "A1:K3",
        &[
            (1, vec!["居民花名册".into()]),
            (2, header()),
            (3, two.fields().to_vec()),
        ],
        "",
    );
    write_xlsx(&path, &[("说明", instructions), ("花名册", data)], None);
    let report = import(&app, &world, &path).await;
    assert_eq!(report.inserted, 1, "{:?}", report.problems);
    let note = report.note.unwrap_or_default();
    assert!(note.contains("花名册"), "{note}");
}
story!(
    title_row_and_second_sheet_are_found,
    title_row_and_second_sheet_are_found_sqlite,
    title_row_and_second_sheet_are_found_postgres
);

async fn office_mistakes_are_named(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    let good = person("好人", 23);
    let mut excel = person("科学计数", 25);
    excel.id_number = "1.30109E+17".into();
    let mut lost = person("刘?", 27);
    lost.household = "T-9027".into();
    let mut province = person("假省份", 29);
    let first17 = format!("990101{}", &province.id_number[6..17]);
    province.id_number = format!(
        "{first17}{}",
        fangkong_domain::ids::gb11643_check_digit(&first17).unwrap()
    );
    let after = person("引号之后", 31);

    let path = guard.path("office.csv");
    let mut bytes = Vec::new();
    writeln!(bytes, "{}", csv_line(&header())).unwrap(); // row 1
    writeln!(bytes, "{}", csv_line(&good.fields())).unwrap(); // row 2
    // Row 3: one stray byte in an otherwise UTF-8 file.
    let mut stray = person("乱码", 33).fields().to_vec();
    stray[6] = "藁城区".into();
    let line = csv_line(&stray);
    let (front, back) = line.split_at(line.find("藁城区").unwrap());
    bytes.extend_from_slice(front.as_bytes());
    bytes.push(0xA0);
    bytes.extend_from_slice(back.as_bytes());
    bytes.push(b'\n');
    writeln!(bytes, "{}", csv_line(&excel.fields())).unwrap(); // row 4
    writeln!(bytes, "{}", csv_line(&lost.fields())).unwrap(); // row 5
    writeln!(bytes, "{}", csv_line(&province.fields())).unwrap(); // row 6
    // Row 7: an unclosed quote swallows row 8.
    let mut quoted = person("引号", 35).fields().to_vec();
    quoted[6] = "\"藁城区一号".into();
    writeln!(bytes, "{}", csv_line(&quoted)).unwrap();
    writeln!(bytes, "{}", csv_line(&after.fields())).unwrap();
    std::fs::write(&path, bytes).unwrap();

    let report = import(&app, &world, &path).await;
    assert_eq!(report.inserted, 1, "{:?}", report.problems);
    has_problem(&report, 3, &["第3行含无法识别的字符"]);
    has_problem(&report, 4, &["Excel", "文本"]);
    has_problem(&report, 5, &["问号", "生僻字"]);
    has_problem(&report, 6, &["地址码", "990101"]);
    has_problem(&report, 7, &["第7行", "引号"]);
}
story!(
    office_mistakes_are_named,
    office_mistakes_are_named_sqlite,
    office_mistakes_are_named_postgres
);

// ---------------------------------------------------------------------------------------------
// M4: CSV cells that Excel would run as formulas

async fn csv_exports_do_not_carry_formulas(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    let mut formula = person("公式", 37);
    formula.address = "=cmd|' /C calc'!A0".into();
    let mut bad = person("=HYPERLINK(\"http://e.vil\",\"点\")", 39);
    bad.address = "@SUM(1+1)".into();
    bad.household = "T-9039".into();
    bad.phone = "123".into();
    let path = guard.path("formula.csv");
    write_csv(&path, &[formula.clone(), bad]);
    let report = import(&app, &world, &path).await;
    assert_eq!(report.inserted, 1, "{:?}", report.problems);

    let out = guard.path("export.csv");
    app.export_residents(
        &world.admin,
        COUNTY,
        fangkong_app::import::FileFormat::Csv,
        &out,
    )
    .await
    .unwrap();
    let records = read_csv_bytes(&std::fs::read(&out).unwrap());
    let row = records
        .iter()
        .find(|r| r[0] == "公式")
        .expect("exported row");
    assert_eq!(row[6], "'=cmd|' /C calc'!A0");
    for record in &records {
        for cell in record {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell}");
        }
    }
    let problems = app
        .import_problem_file(&world.admin, report.import_id)
        .await
        .unwrap();
    let records = read_csv_bytes(&problems);
    assert_eq!(records[1][0], "'=HYPERLINK(\"http://e.vil\",\"点\")");
    assert_eq!(records[1][6], "'@SUM(1+1)");
}
story!(
    csv_exports_do_not_carry_formulas,
    csv_exports_do_not_carry_formulas_sqlite,
    csv_exports_do_not_carry_formulas_postgres
);

/// Review finding: a FHIR document is parsed whole into a JSON tree many times its size, so a large
/// `.json` result file (the upload route takes 1 GiB) could take tens of GB. Now a document over
/// the FHIR limit is refused, as a file or an API body, before it is read.
async fn a_large_fhir_document_is_refused_before_it_is_read(backend: Backend) {
    let (app, guard) = fresh_app(backend).await;
    let world = seed(&app).await;
    let path = guard.path("results.json");
    let limit = fangkong_app::lab_results::FHIR_DOCUMENT_LIMIT;
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(b"[").unwrap();
    let zeros = "0,".repeat(1024 * 1024);
    for _ in 0..(limit / zeros.len() + 1) {
        file.write_all(zeros.as_bytes()).unwrap();
    }
    file.write_all(b"0]").unwrap();
    drop(file);
    let refused = app
        .upload_lab_results(&world.lab, &path, "results.json")
        .await;
    match refused {
        Err(AppError::TooLarge(message)) => assert!(message.contains("16MB"), "{message}"),
        other => panic!(
            "expected TooLarge, got {:?}",
            other.map(|r| r.upload.rows_total)
        ),
    }
    let body = std::fs::read(&path).unwrap();
    let refused = app.submit_fhir_results(&world.lab, &body).await;
    assert!(matches!(refused, Err(AppError::TooLarge(_))));
}
story!(
    a_large_fhir_document_is_refused_before_it_is_read,
    large_fhir_sqlite,
    large_fhir_postgres
);
