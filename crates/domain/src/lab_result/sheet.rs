//! Result sheets (CSV/XLSX): the columns found by their headers in any order, and each row checked
//! into a [`LabResultRow`] with all its problems at once.

use super::*;

/// The header names each field is recognised by, most specific first: when a
/// sheet has two of them (say 管码 and the lab's own 样本编号) the first wins,
/// so our tube barcode is preferred over a lab-internal sample number.
const BARCODE_HEADERS: [&str; 7] = [
    "管码",
    "采样管编号",
    "试管编码",
    "样本编号",
    "tube_barcode",
    "tube",
    "barcode",
];
const RESULT_HEADERS: [&str; 3] = ["检测结果", "结果", "result"];
const TESTED_AT_HEADERS: [&str; 3] = ["检测时间", "tested_at", "报告时间"];
const LAB_HEADERS: [&str; 3] = ["检测机构", "lab", "lab_name"];
const CT_HEADERS: [&str; 3] = ["ct值", "ct", "ct_value"];

/// A header cell as compared: BOM, spaces and Latin case do not matter.
fn header_key(cell: &str) -> String {
    cell.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    index: usize,
    /// The header cell as the file has it, trimmed and without BOM.
    name: String,
}

/// Where the fields of a result sheet are, found from its header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultColumns {
    barcode: Column,
    result: Column,
    tested_at: Option<Column>,
    lab_name: Option<Column>,
    ct_value: Option<Column>,
}

impl ResultColumns {
    /// Finds the columns by name. Accepts the Chinese headers
    /// 管码/采样管编号/试管编码/样本编号 (barcode, required), 检测结果/结果
    /// (required), 检测时间/报告时间, 检测机构, CT值 and the English tube/barcode,
    /// result, tested_at, lab, ct (plus the field names tube_barcode, lab_name,
    /// ct_value). Extra columns are ignored. The same header twice is an error:
    /// we cannot know which of the two the lab meant.
    pub fn from_header(header: &[String]) -> Result<ResultColumns, String> {
        let keys: Vec<String> = header.iter().map(|c| header_key(c)).collect();
        let shown = |i: usize| header[i].trim().trim_start_matches('\u{feff}').trim();

        for (i, key) in keys.iter().enumerate() {
            if key.is_empty() {
                continue;
            }
            if let Some(j) = keys[..i].iter().position(|k| k == key) {
                return Err(format!(
                    "表头中“{}”出现了两次（第{}列和第{}列），无法确定用哪一列，请删去其中一列",
                    shown(i),
                    j + 1,
                    i + 1
                ));
            }
        }

        let find = |names: &[&str]| -> Option<Column> {
            names.iter().find_map(|name| {
                let index = keys.iter().position(|k| k == name)?;
                Some(Column {
                    index,
                    name: shown(index).to_string(),
                })
            })
        };

        let barcode = find(&BARCODE_HEADERS);
        let result = find(&RESULT_HEADERS);
        let mut missing: Vec<String> = Vec::new();
        if barcode.is_none() {
            missing.push("“管码”列（也可写作 采样管编号、试管编码、样本编号）".to_string());
        }
        if result.is_none() {
            missing.push("“结果”列（也可写作 检测结果）".to_string());
        }
        match (barcode, result) {
            (Some(barcode), Some(result)) => Ok(ResultColumns {
                barcode,
                result,
                tested_at: find(&TESTED_AT_HEADERS),
                lab_name: find(&LAB_HEADERS),
                ct_value: find(&CT_HEADERS),
            }),
            _ => {
                let present: Vec<&str> = (0..header.len())
                    .map(shown)
                    .filter(|s| !s.is_empty())
                    .collect();
                let present = if present.is_empty() {
                    "表头是空的".to_string()
                } else {
                    format!("表头现有：{}", present.join("、"))
                };
                Err(format!(
                    "表头缺少{}；{present}。请使用模板表头：{}",
                    missing.join("和"),
                    RESULT_COLUMNS.join("、")
                ))
            }
        }
    }
}

/// Checks one data row against the columns found in the header. Returns every
/// problem of the row, not only the first. Missing trailing cells are empty.
pub fn validate_result_row(
    columns: &ResultColumns,
    fields: &[String],
) -> Result<LabResultRow, Vec<ResultProblem>> {
    let cell = |c: &Column| fields.get(c.index).map(|s| s.trim()).unwrap_or("");
    let mut problems: Vec<ResultProblem> = Vec::new();
    let mut problem = |c: &Column, message: String| {
        problems.push(ResultProblem {
            column: c.name.clone(),
            message,
        });
    };

    let tube_barcode = cell(&columns.barcode).to_string();
    if tube_barcode.is_empty() {
        problem(&columns.barcode, "管码不能为空".to_string());
    }

    let result_text = cell(&columns.result);
    let result = TestResult::parse(result_text);
    if result_text.is_empty() {
        problem(
            &columns.result,
            "检测结果不能为空，请填写阴性、阳性或无效".to_string(),
        );
    } else if result.is_none() {
        problem(
            &columns.result,
            format!(
                "检测结果“{}”无法识别，请填写阴性、阳性或无效",
                quote(result_text)
            ),
        );
    }

    let mut tested_at = None;
    if let Some(c) = &columns.tested_at {
        let text = cell(c);
        if !text.is_empty() {
            match parse_time(text, TimeSource::Sheet) {
                Some(ParsedTime::At(t)) => tested_at = Some(t),
                Some(ParsedTime::DateOnly) => problem(
                    c,
                    format!(
                        "检测时间“{}”只有日期，没有时刻，请按 {TIME_EXAMPLE} 的格式填写（北京时间）",
                        quote(text)
                    ),
                ),
                Some(ParsedTime::ExcelDay(day)) => problem(
                    c,
                    format!(
                        "检测时间“{}”是 Excel 日期（{}），时刻已丢失；请把这一列设为文本，按 {TIME_EXAMPLE} 的格式填写",
                        quote(text),
                        day.format("%Y-%m-%d")
                    ),
                ),
                None => problem(
                    c,
                    format!(
                        "检测时间“{}”无法识别，请按 {TIME_EXAMPLE} 或 2022/01/10 08:00:00 的格式填写（北京时间）",
                        quote(text)
                    ),
                ),
            }
        }
    }

    let mut optional_text = |column: &Option<Column>, what: &str, max: usize| {
        let c = column.as_ref()?;
        let text = cell(c);
        let count = text.chars().count();
        if text.is_empty() {
            None
        } else if count > max {
            problem(c, format!("{what}太长：最多{max}个字，实际为{count}个字"));
            None
        } else {
            Some(text.to_string())
        }
    };
    let lab_name = optional_text(&columns.lab_name, "检测机构名称", LAB_NAME_MAX);
    let ct_value = optional_text(&columns.ct_value, "CT值", CT_VALUE_MAX);

    match result {
        Some(result) if problems.is_empty() => Ok(LabResultRow {
            tube_barcode,
            result,
            tested_at,
            lab_name,
            ct_value,
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| c.to_string()).collect()
    }

    fn template_columns() -> ResultColumns {
        ResultColumns::from_header(&strings(&RESULT_COLUMNS)).unwrap()
    }

    fn row(cells: &[&str]) -> Result<LabResultRow, Vec<ResultProblem>> {
        validate_result_row(&template_columns(), &strings(cells))
    }

    fn problem_columns(problems: &[ResultProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.column.as_str()).collect()
    }

    #[test]
    fn chinese_template_header_is_recognised() {
        let columns = template_columns();
        let r = validate_result_row(
            &columns,
            &strings(&[
                "TB0001",
                "阳性",
                "2022-01-10 08:00",
                "某某医学检验实验室",
                "32.5",
            ]),
        )
        .unwrap();
        assert_eq!(
            r,
            LabResultRow {
                tube_barcode: "TB0001".into(),
                result: TestResult::Positive,
                tested_at: Some(JAN10_0800_BEIJING),
                lab_name: Some("某某医学检验实验室".into()),
                ct_value: Some("32.5".into()),
            }
        );
    }

    #[test]
    fn other_chinese_and_english_headers_in_any_order_with_extra_columns() {
        let header = strings(&["序号", "检测结果", "姓名", "样本编号", "报告时间"]);
        let columns = ResultColumns::from_header(&header).unwrap();
        let r = validate_result_row(
            &columns,
            &strings(&["1", "阴性", "张三", " S-778 ", "2022/01/10 08:00:00"]),
        )
        .unwrap();
        assert_eq!(r.tube_barcode, "S-778");
        assert_eq!(r.result, TestResult::Negative);
        assert_eq!(r.tested_at, Some(JAN10_0800_BEIJING));
        assert_eq!(r.lab_name, None);

        let header = strings(&[" Barcode", "Result ", "Tested_At", "LAB", "Ct"]);
        let columns = ResultColumns::from_header(&header).unwrap();
        let r = validate_result_row(
            &columns,
            &strings(&[
                "B1",
                "neg",
                "2022-01-10T08:00:00+08:00",
                "Lab A",
                "ORF1ab 33.1; N 34.0",
            ]),
        )
        .unwrap();
        assert_eq!(r.tube_barcode, "B1");
        assert_eq!(r.tested_at, Some(JAN10_0800_BEIJING));
        assert_eq!(r.lab_name.as_deref(), Some("Lab A"));
        assert_eq!(r.ct_value.as_deref(), Some("ORF1ab 33.1; N 34.0"));

        let columns = ResultColumns::from_header(&strings(&["tube", "result"])).unwrap();
        assert!(validate_result_row(&columns, &strings(&["T9", "+"])).is_ok());
    }

    #[test]
    fn our_barcode_column_wins_over_a_lab_sample_number() {
        let header = strings(&["样本编号", "管码", "结果"]);
        let columns = ResultColumns::from_header(&header).unwrap();
        let r = validate_result_row(&columns, &strings(&["LAB-77", "TB0001", "阴性"])).unwrap();
        assert_eq!(r.tube_barcode, "TB0001");
    }

    #[test]
    fn a_bom_on_the_first_header_cell_is_ignored_and_problems_use_the_header_as_typed() {
        let header = strings(&["\u{feff}采样管编号", "结果"]);
        let columns = ResultColumns::from_header(&header).unwrap();
        let problems = validate_result_row(&columns, &strings(&["", "阴性"])).unwrap_err();
        assert_eq!(
            problems,
            [ResultProblem {
                column: "采样管编号".into(),
                message: "管码不能为空".into()
            }]
        );
    }

    #[test]
    fn a_missing_required_column_is_named_with_what_the_header_had() {
        let err = ResultColumns::from_header(&strings(&["序号", "姓名", "结果"])).unwrap_err();
        assert!(err.contains("缺少“管码”列"), "{err}");
        assert!(!err.contains("“结果”列"), "{err}");
        assert!(err.contains("表头现有：序号、姓名、结果"), "{err}");

        let err = ResultColumns::from_header(&strings(&["试管编码", "CT值"])).unwrap_err();
        assert!(err.contains("缺少“结果”列"), "{err}");
        assert!(!err.contains("“管码”列"), "{err}");

        let err = ResultColumns::from_header(&strings(&["", " "])).unwrap_err();
        assert!(
            err.contains("“管码”列") && err.contains("“结果”列"),
            "{err}"
        );
        assert!(err.contains("表头是空的"), "{err}");
    }

    #[test]
    fn the_same_header_twice_is_refused() {
        let err = ResultColumns::from_header(&strings(&["管码", "结果", "管码"])).unwrap_err();
        assert!(err.contains("“管码”出现了两次（第1列和第3列）"), "{err}");
    }

    #[test]
    fn missing_trailing_cells_are_empty() {
        let r = row(&["TB0002", "阴性"]).unwrap();
        assert_eq!(r.tested_at, None);
        assert_eq!(r.lab_name, None);
        assert_eq!(r.ct_value, None);
        let problems = row(&["TB0002"]).unwrap_err();
        assert_eq!(problem_columns(&problems), ["结果"]);
        assert!(problems[0].message.contains("不能为空"));
    }

    #[test]
    fn a_row_with_several_problems_reports_them_all_at_once() {
        let long_lab = "检".repeat(61);
        let problems = row(&[
            "  ",
            "弱阳",
            "2022年1月10日",
            &long_lab,
            "3".repeat(61).as_str(),
        ])
        .unwrap_err();
        assert_eq!(
            problem_columns(&problems),
            ["管码", "结果", "检测时间", "检测机构", "CT值"]
        );
        assert_eq!(
            problems[1].message,
            "检测结果“弱阳”无法识别，请填写阴性、阳性或无效"
        );
        assert!(problems[2].message.contains("“2022年1月10日”无法识别"));
        assert!(problems[3].message.contains("实际为61个字"));
    }

    #[test]
    fn beijing_sheet_times_become_utc() {
        for raw in [
            "2022-01-10 08:00",
            "2022-01-10 08:00:00",
            "2022/01/10 08:00",
            "2022/1/10 8:00:00",
            "2022-01-10T08:00:00",
            "2022-01-10 08:00:00.000",
            "2022-01-10T08:00:00+08:00",
            "2022-01-10T00:00:00Z",
            "2022-01-09T19:00:00-05:00",
            "44571.333333333336",
        ] {
            assert_eq!(
                row(&["T", "阴性", raw]).unwrap().tested_at,
                Some(JAN10_0800_BEIJING),
                "{raw}"
            );
        }
        assert_eq!(
            row(&["T", "阴性", "2022-01-10 08:00:59"])
                .unwrap()
                .tested_at,
            Some(JAN10_0800_BEIJING + 59)
        );
    }

    #[test]
    fn bad_times_are_reported_with_the_format_to_use() {
        for raw in [
            "2022-13-10 08:00",
            "明天上午",
            "08:00",
            "2022-01-10 25:00",
            "2022.01.10 08:00",
            "12.5",
        ] {
            let problems = row(&["T", "阴性", raw]).unwrap_err();
            assert_eq!(problem_columns(&problems), ["检测时间"], "{raw}");
            assert!(problems[0].message.contains("无法识别"), "{raw}");
            assert!(problems[0].message.contains(TIME_EXAMPLE), "{raw}");
        }
        let problems = row(&["T", "阴性", "2022-01-10"]).unwrap_err();
        assert!(problems[0].message.contains("只有日期"), "{problems:?}");
        for raw in ["44571", "44571.0"] {
            let problems = row(&["T", "阴性", raw]).unwrap_err();
            assert!(
                problems[0].message.contains("Excel 日期（2022-01-10）"),
                "{problems:?}"
            );
        }
    }

    #[test]
    fn a_long_cell_is_quoted_cut_short() {
        let long = "不".repeat(100);
        let problems = row(&["T", &long]).unwrap_err();
        assert!(
            problems[0]
                .message
                .contains(&format!("“{}…”", "不".repeat(QUOTE_MAX)))
        );
    }
}
