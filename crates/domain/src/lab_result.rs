//! Nucleic-acid (PCR) results uploaded by a testing lab, one per sampling tube,
//! checked into domain values.
//!
//! Labs send results two ways: a CSV/XLSX sheet typed or exported by a lab
//! clerk, or an HL7 FHIR R4 JSON document exported by their LIS ([`fhir`]).
//! Both end as [`LabResultRow`]s. The clerk fixes the sheet (or asks the lab to
//! resend) from our error list, so every problem names the column or FHIR
//! element it is in, quotes what was there, and a row reports all its problems
//! at once.
//!
//! Checks that need the database (is the barcode a tube we issued, was it
//! sampled, does a result already exist) and checks that need the clock (a test
//! time in the future) are done by the caller.
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta};

/// The sheet header fangkong writes in templates, in this order.
pub const RESULT_COLUMNS: [&str; 5] = ["管码", "结果", "检测时间", "检测机构", "CT值"];

const LAB_NAME_MAX: usize = 60;
const CT_VALUE_MAX: usize = 60;
/// Long cells are cut when quoted back, so one pasted paragraph cannot bury
/// the rest of the error list.
const QUOTE_MAX: usize = 30;
/// Sheet times without an offset are Beijing time (UTC+8, no daylight saving).
const BEIJING_OFFSET_SECONDS: i64 = 8 * 3600;
const TIME_EXAMPLE: &str = "2022-01-10 08:00";

crate::coded_enum! {
    /// A PCR result of one tube.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum TestResult {
        Negative => "negative", "阴性",
        Positive => "positive", "阳性",
        /// The tube could not be tested or gave no usable signal: the people in
        /// it must be sampled again (需重采).
        Invalid => "invalid", "无效",
    }
}

impl TestResult {
    /// What a lab types: 阴性/阴/-/negative/neg/N, 阳性/阳/+/positive/pos/P,
    /// 无效/检测无效/invalid/inv/需重采, and the report wordings 未检出/not
    /// detected and 检出/detected. Trimmed; Latin letters in any case;
    /// full-width ＋/－ too. A word with its sign in brackets, as printed on
    /// Chinese reports ("阴性（-）", "阳性(+)"), is accepted only when both
    /// halves agree: a cell that says two things is never guessed at.
    pub fn parse(raw: &str) -> Option<TestResult> {
        let text = raw.trim();
        if let Some((word, inner)) = split_bracketed(text) {
            let outer = TestResult::parse_word(word)?;
            let inner = TestResult::parse_word(inner)?;
            return (outer == inner).then_some(outer);
        }
        TestResult::parse_word(text)
    }

    fn parse_word(text: &str) -> Option<TestResult> {
        let lower = text.trim().to_ascii_lowercase();
        let words: Vec<&str> = lower.split_whitespace().collect();
        match words.join(" ").as_str() {
            "阴性" | "阴" | "-" | "－" | "negative" | "neg" | "n" | "未检出" | "not detected" => {
                Some(TestResult::Negative)
            }
            "阳性" | "阳" | "+" | "＋" | "positive" | "pos" | "p" | "检出" | "detected" => {
                Some(TestResult::Positive)
            }
            "无效" | "检测无效" | "invalid" | "inv" | "需重采" => {
                Some(TestResult::Invalid)
            }
            _ => None,
        }
    }
}

/// "阴性（-）" → ("阴性", "-"); `None` unless the text ends in a bracketed part
/// with something before it.
fn split_bracketed(text: &str) -> Option<(&str, &str)> {
    let body = text.strip_suffix(')').or_else(|| text.strip_suffix('）'))?;
    let open = body.rfind(['(', '（'])?;
    let word = body[..open].trim();
    let open_len = body[open..].chars().next()?.len_utf8();
    let inner = body[open + open_len..].trim();
    (!word.is_empty()).then_some((word, inner))
}

/// One checked result row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabResultRow {
    /// Trimmed, as typed: barcode format is checked where tubes are known.
    pub tube_barcode: String,
    pub result: TestResult,
    /// Unix seconds UTC. Sheet times are Beijing time (UTC+8).
    pub tested_at: Option<i64>,
    /// The testing institution, if the row names one (at most 60 characters).
    pub lab_name: Option<String>,
    /// Free text such as "32.5" or "ORF1ab 33.1; N 34.0" (at most 60 characters).
    pub ct_value: Option<String>,
}

/// A problem with one row or one FHIR entry, in a lab clerk's words.
///
/// For a sheet, `column` is the header cell as the file has it (the clerk
/// looks for "样本编号" if that is what their sheet says). For FHIR it is the
/// element path, e.g. `specimen.identifier`, several joined by "、".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultProblem {
    pub column: String,
    pub message: String,
}

impl fmt::Display for ResultProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}：{}", self.column, self.message)
    }
}

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

/// `text` for quoting in a message, cut to [`QUOTE_MAX`] characters.
fn quote(text: &str) -> String {
    if text.chars().count() <= QUOTE_MAX {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(QUOTE_MAX).collect();
        cut.push('…');
        cut
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeSource {
    Sheet,
    Fhir,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParsedTime {
    /// Unix seconds UTC.
    At(i64),
    /// A valid date (or FHIR partial date) without a time of day.
    DateOnly,
    /// An Excel day number without a fraction: what a date-time cell becomes
    /// when the reader keeps only the day.
    ExcelDay(NaiveDate),
}

/// Naive date-time layouts, read as Beijing time. `%.f` also matches no
/// fraction, so seconds with or without milliseconds both fit.
const SHEET_LAYOUTS: [&str; 6] = [
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
];

/// Reads a test time: RFC 3339 with an offset (any zone), or a date-time
/// without one, which is Beijing time. A sheet may also hold an Excel serial
/// day number with a fraction (a date-time cell read as a number); a FHIR
/// document may hold a partial date (`2022`, `2022-01`, `2022-01-10`).
fn parse_time(text: &str, source: TimeSource) -> Option<ParsedTime> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(ParsedTime::At(t.timestamp()));
    }
    for layout in SHEET_LAYOUTS {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, layout) {
            return Some(ParsedTime::At(beijing_to_utc(naive)));
        }
    }
    for layout in ["%Y-%m-%d", "%Y/%m/%d"] {
        if NaiveDate::parse_from_str(text, layout).is_ok() {
            return Some(ParsedTime::DateOnly);
        }
    }
    match source {
        TimeSource::Sheet => excel_serial(text),
        TimeSource::Fhir => {
            let partial = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").is_ok()
                || (text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()));
            partial.then_some(ParsedTime::DateOnly)
        }
    }
}

fn beijing_to_utc(naive: NaiveDateTime) -> i64 {
    naive.and_utc().timestamp() - BEIJING_OFFSET_SECONDS
}

/// Excel's 1900 date system: from day 61 on, day 0 is 1899-12-30. Only days
/// in 2000..2100 are taken as dates, so a stray small number is not.
fn excel_serial(text: &str) -> Option<ParsedTime> {
    let (days_text, fraction_text) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if days_text.is_empty() || !digits(days_text) || !digits(fraction_text) {
        return None;
    }
    let days: i64 = days_text.parse().ok()?;
    if !(36_526..73_051).contains(&days) {
        return None;
    }
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
    let day_start = epoch.checked_add_signed(TimeDelta::days(days))?;
    if fraction_text.bytes().all(|b| b == b'0') {
        return Some(ParsedTime::ExcelDay(day_start.date()));
    }
    let fraction: f64 = format!("0.{fraction_text}").parse().ok()?;
    // Rounded to the second: Excel stores 08:00 as 0.33333333333333331.
    let seconds = (fraction * 86_400.0).round() as i64;
    let at = day_start.checked_add_signed(TimeDelta::seconds(seconds))?;
    Some(ParsedTime::At(beijing_to_utc(at)))
}

/// One code a lab's LIS uses for its SARS-CoV-2 nucleic-acid test when it has no LOINC code
/// (configured per installation). An empty `system` matches a coding without a system.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LocalTestCode {
    #[serde(default)]
    pub system: String,
    pub code: String,
    #[serde(default)]
    pub display: String,
}

/// The Observation codes accepted as a SARS-CoV-2 nucleic-acid result: the LOINC presence tests
/// and panels of `data/lab_result/sars_cov_2_naa_codes.json`, plus a lab's local codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaaCodes {
    /// (system without a trailing `/`, code).
    codes: Vec<(String, String)>,
}

impl NaaCodes {
    /// The LOINC list shipped with fangkong.
    pub fn standard() -> NaaCodes {
        #[derive(serde::Deserialize)]
        struct Entry {
            code: String,
        }
        #[derive(serde::Deserialize)]
        struct File {
            system: String,
            presence: Vec<Entry>,
        }
        static CODES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
        let codes = CODES.get_or_init(|| {
            // Embedded at build time and checked by a test: a broken file cannot ship.
            let file: File =
                serde_json::from_str(include_str!("../data/lab_result/sars_cov_2_naa_codes.json"))
                    .unwrap_or(File {
                        system: String::new(),
                        presence: Vec::new(),
                    });
            file.presence
                .into_iter()
                .map(|e| (file.system.clone(), e.code))
                .collect()
        });
        NaaCodes {
            codes: codes.clone(),
        }
    }

    /// The standard list plus a lab's own codes.
    pub fn with_local(mut self, local: &[LocalTestCode]) -> NaaCodes {
        for c in local {
            let code = c.code.trim();
            if !code.is_empty() {
                self.codes.push((
                    c.system.trim().trim_end_matches('/').to_string(),
                    code.to_string(),
                ));
            }
        }
        self
    }

    /// The number of accepted codes.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Whether `system|code` is a SARS-CoV-2 nucleic-acid test.
    pub fn accepts(&self, system: &str, code: &str) -> bool {
        let system = system.trim().trim_end_matches('/');
        let code = code.trim();
        self.codes.iter().any(|(s, c)| s == system && c == code)
    }
}

impl Default for NaaCodes {
    fn default() -> Self {
        NaaCodes::standard()
    }
}

/// Results exported by a lab's LIS as HL7 FHIR R4 JSON.
///
/// Mapping from an `Observation` to a [`LabResultRow`]:
///
/// - what was tested: `code.coding[]` must hold a SARS-CoV-2 nucleic-acid test of [`NaaCodes`]
///   (LOINC presence tests and panels, plus a lab's local codes). An Observation with another code
///   (a blood culture, an oxygen saturation, an antigen test, the influenza row of a multiplex
///   panel) is one problem "不是新冠病毒核酸检测结果" and nothing else is read from it. In a
///   panel Observation (another code, or a SARS-CoV-2 panel without a value of its own) the
///   result is that of the `component[]`s whose code is accepted (several must agree). A panel
///   whose `hasMember[]` are in the same Bundle is only a grouping: it gives no row, its members
///   are read one by one and inherit its specimen when they have none.
/// - tube barcode: `specimen.identifier.value`; else the first
///   `identifier[].value` (then `accessionIdentifier.value`) of the `Specimen`
///   that `specimen.reference` points to: `#id` for one in `contained`,
///   `Specimen/id` or the entry's `fullUrl` for one in the same Bundle; else an
///   `identifier[]` of the Observation whose `system` ends in `tube` or
///   `barcode`.
/// - result: `valueCodeableConcept.coding[]` — SNOMED CT 260385009 negative,
///   260415000 not detected → 阴性; 10828004 positive, 260373001 detected →
///   阳性; 455371000124106 invalid result, 125154007 specimen unsatisfactory →
///   无效; LOINC LA6577-6 / LA11883-8 → 阴性, LA6576-8 / LA11882-0 → 阳性,
///   LA15841-2 → 无效; then `valueCodeableConcept.text`, `coding[].display`
///   and `valueString` read with [`TestResult::parse`]. If these disagree the
///   entry is refused rather than guessed. Only when none of them gives a
///   result: `interpretation[].coding[].code` N/NEG/ND → 阴性, POS/A/DET →
///   阳性. Inconclusive, equivocal and presumptive-positive codes are refused
///   on purpose: a person decides what they mean, not this code.
/// - `status` must be final, amended or corrected.
/// - tested_at: `effectiveDateTime` (also `effectiveInstant`,
///   `effectivePeriod.start`), RFC 3339 or without offset meaning Beijing time;
///   if it is only a date, `issued`; neither → `None`.
/// - lab_name: `performer[0].display`.
/// - ct_value: the `valueQuantity.value` of `component[]`s whose code says Ct
///   (a word "Ct"/"CT" or "cycle threshold" in its text or display, LOINC
///   94509-7/94510-5/94511-3, or unit `{Ct_value}`); several are joined as
///   "ORF1ab 33.1; N 34.0".
pub mod fhir {
    use serde_json::Value;

    use super::{
        CT_VALUE_MAX, LAB_NAME_MAX, LabResultRow, NaaCodes, ParsedTime, ResultProblem, TestResult,
        TimeSource, parse_time, quote,
    };

    const SNOMED: &str = "http://snomed.info/sct";
    const LOINC: &str = "http://loinc.org";
    /// E, N, ORF1ab gene and RNA Ct values.
    const CT_LOINC_CODES: [&str; 5] = ["94509-7", "94510-5", "94511-3", "94745-7", "94746-5"];
    /// The words of the problem every other test gets.
    pub const NOT_NAA: &str = "不是新冠病毒核酸检测结果";
    const CT_LABEL_MAX: usize = 16;

    /// Parses a FHIR R4 JSON document: a single `Observation`, or a `Bundle` of
    /// any type whose `entry[].resource` are Observations. Other resources in
    /// the bundle are skipped (a `Specimen` may supply a barcode). Returns one
    /// item per Observation, in order; a refused one is named by its position
    /// in `entry[]` counted from 1 ("第3条 Observation：…"), so it can be found
    /// in the file. A document that is not JSON, or is neither an Observation
    /// nor a Bundle, is one error for the whole document. A Bundle without
    /// Observations gives an empty list.
    pub fn parse_observations(
        json: &[u8],
        codes: &NaaCodes,
    ) -> Result<Vec<Result<LabResultRow, ResultProblem>>, String> {
        let json = json.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(json);
        let doc: Value = serde_json::from_slice(json).map_err(|e| {
            format!(
                "文件不是有效的 JSON（第{}行第{}列附近出错），请确认上传的是检测机构导出的 FHIR JSON 文件",
                e.line(),
                e.column()
            )
        })?;
        if !doc.is_object() {
            return Err(
                "文件内容不是 FHIR 资源：应为 Observation 或 Bundle（resourceType）".to_string(),
            );
        }
        match doc.get("resourceType").and_then(Value::as_str) {
            Some("Observation") => Ok(vec![observation_to_row(&doc, 1, &[], codes, None)]),
            Some("Bundle") => parse_bundle(&doc, codes),
            Some(other) => Err(format!(
                "文件中的资源类型是 {}，应为 Observation 或 Bundle",
                quote(other)
            )),
            None => {
                Err("文件缺少 resourceType，不是 FHIR 资源：应为 Observation 或 Bundle".to_string())
            }
        }
    }

    /// A Specimen that sits in the bundle next to the Observations.
    struct BundledSpecimen<'a> {
        full_url: Option<&'a str>,
        resource: &'a Value,
    }

    fn parse_bundle(
        doc: &Value,
        codes: &NaaCodes,
    ) -> Result<Vec<Result<LabResultRow, ResultProblem>>, String> {
        let entries = match doc.get("entry") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(entries)) => entries,
            Some(_) => return Err("Bundle 的 entry 应为数组，文件格式不对".to_string()),
        };
        let specimens: Vec<BundledSpecimen> = entries
            .iter()
            .filter_map(|entry| match resource_of(entry) {
                Some(("Specimen", resource)) => Some(BundledSpecimen {
                    full_url: entry.get("fullUrl").and_then(Value::as_str),
                    resource,
                }),
                _ => None,
            })
            .collect();
        // Panels grouping members of this bundle (hasMember): member entry → panel entry.
        let mut parent_of: Vec<Option<usize>> = vec![None; entries.len()];
        let mut is_grouping = vec![false; entries.len()];
        for (p, entry) in entries.iter().enumerate() {
            let Some(("Observation", panel)) = resource_of(entry) else {
                continue;
            };
            if has_value(panel) {
                continue;
            }
            for member in array_at(panel, "hasMember") {
                let Some(reference) = text_at(member, "reference") else {
                    continue;
                };
                let reference = without_history(reference);
                for (m, candidate) in entries.iter().enumerate() {
                    if m != p
                        && parent_of[m].is_none()
                        && matches!(resource_of(candidate), Some(("Observation", _)))
                        && refers_to(reference, candidate, "Observation")
                    {
                        parent_of[m] = Some(p);
                        is_grouping[p] = true;
                    }
                }
            }
        }
        Ok(entries
            .iter()
            .enumerate()
            .filter_map(|(i, entry)| match resource_of(entry) {
                Some(("Observation", resource)) if !is_grouping[i] => {
                    let parent = parent_of[i].and_then(|p| entries[p].get("resource"));
                    Some(observation_to_row(
                        resource,
                        i + 1,
                        &specimens,
                        codes,
                        parent,
                    ))
                }
                _ => None,
            })
            .collect())
    }

    /// Whether bundle `entry` is what `reference` points to: its `fullUrl`, or `Type/id`.
    fn refers_to(reference: &str, entry: &Value, kind: &str) -> bool {
        if entry
            .get("fullUrl")
            .and_then(Value::as_str)
            .is_some_and(|url| without_history(url) == reference)
        {
            return true;
        }
        entry
            .get("resource")
            .and_then(|r| text_at(r, "id"))
            .is_some_and(|id| {
                let relative = format!("{kind}/{id}");
                reference == relative || reference.ends_with(&format!("/{relative}"))
            })
    }

    /// Whether the Observation states a result of its own (any `value[x]`).
    fn has_value(obs: &Value) -> bool {
        obs.as_object()
            .is_some_and(|o| o.keys().any(|k| k.starts_with("value")))
    }

    /// What an Observation's `code` says was tested.
    enum Tested<'a> {
        /// A SARS-CoV-2 nucleic-acid test with its own value.
        Itself,
        /// A panel: the accepted components carry the result.
        Components(Vec<&'a Value>),
        /// Another test, described for the message.
        Other(String),
    }

    fn code_accepted(code: Option<&Value>, codes: &NaaCodes) -> bool {
        code.map_or(&[][..], |c| array_at(c, "coding"))
            .iter()
            .any(|coding| {
                let system = text_at(coding, "system").unwrap_or("");
                text_at(coding, "code").is_some_and(|code| codes.accepts(system, code))
            })
    }

    fn what_was_tested<'a>(obs: &'a Value, codes: &NaaCodes) -> Tested<'a> {
        let components: Vec<&Value> = array_at(obs, "component")
            .iter()
            .filter(|c| code_accepted(c.get("code"), codes))
            .collect();
        let accepted = code_accepted(obs.get("code"), codes);
        if accepted && (has_value(obs) || components.is_empty()) {
            return Tested::Itself;
        }
        if !components.is_empty() {
            return Tested::Components(components);
        }
        let code = obs.get("code");
        let described = code
            .and_then(|c| array_at(c, "coding").first().map(describe_coding))
            .or_else(|| code.and_then(|c| text_at(c, "text")).map(str::to_string));
        Tested::Other(match described {
            Some(d) => format!("检测项目为 {}", quote(&d)),
            None => "没有注明检测项目（code）".to_string(),
        })
    }

    /// The result of a panel's accepted components: all must say the same.
    fn components_result(components: &[&Value]) -> Result<TestResult, String> {
        let mut found: Vec<TestResult> = Vec::new();
        for component in components {
            found.push(observed_result(component)?);
        }
        match found.first() {
            Some(first) if found.iter().all(|r| r == first) => Ok(*first),
            Some(_) => {
                let said: Vec<&str> = found.iter().map(|r| r.label_zh()).collect();
                Err(format!(
                    "同一检测中新冠核酸各项结果不一致（{}），请与检测机构核实",
                    said.join("、")
                ))
            }
            None => Err("没有检测结果".to_string()),
        }
    }

    /// An entry's resource with its type; entries without one (a DELETE in a
    /// transaction, a response) have nothing for us.
    fn resource_of(entry: &Value) -> Option<(&str, &Value)> {
        let resource = entry.get("resource")?;
        Some((resource.get("resourceType")?.as_str()?, resource))
    }

    fn text_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
        value
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    fn array_at<'a>(value: &'a Value, key: &str) -> &'a [Value] {
        value
            .get(key)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn observation_to_row(
        obs: &Value,
        position: usize,
        bundled: &[BundledSpecimen],
        codes: &NaaCodes,
        parent: Option<&Value>,
    ) -> Result<LabResultRow, ResultProblem> {
        let id = text_at(obs, "id")
            .map(|id| format!("（id={}）", quote(id)))
            .unwrap_or_default();
        let tested = what_was_tested(obs, codes);
        if let Tested::Other(what) = &tested {
            return Err(ResultProblem {
                column: "code".to_string(),
                message: format!("第{position}条 Observation{id}：{NOT_NAA}（{what}），未导入"),
            });
        }
        let mut problems: Vec<(&'static str, String)> = Vec::new();

        match obs.get("status").and_then(Value::as_str) {
            Some("final" | "amended" | "corrected") => {}
            Some(s @ ("preliminary" | "registered")) => {
                problems.push(("status", format!("结果尚未最终确认（status={s}）")));
            }
            Some("cancelled") => problems.push((
                "status",
                "检测已取消（status=cancelled），没有可导入的结果".to_string(),
            )),
            Some("entered-in-error") => problems.push((
                "status",
                "检测机构已将此结果标为录入错误（status=entered-in-error），不能导入".to_string(),
            )),
            Some(other) => problems.push((
                "status",
                format!(
                    "结果状态“{}”不是最终结果（应为 final、amended 或 corrected）",
                    quote(other)
                ),
            )),
            None => problems.push((
                "status",
                "缺少结果状态（status），无法确认是否为最终结果".to_string(),
            )),
        }

        let own_barcode = match parent {
            Some(panel) if obs.get("specimen").is_none() => tube_barcode(panel, bundled),
            _ => tube_barcode(obs, bundled),
        };
        let tube_barcode = match own_barcode {
            Ok(barcode) => Some(barcode),
            Err(message) => {
                problems.push(("specimen.identifier", message));
                None
            }
        };

        let result = match &tested {
            Tested::Components(components) => components_result(components),
            _ => observed_result(obs),
        };
        let result = match result {
            Ok(result) => Some(result),
            Err(message) => {
                problems.push(("valueCodeableConcept", message));
                None
            }
        };

        let tested_at = match tested_at(obs) {
            Ok(t) => t,
            Err((column, message)) => {
                problems.push((column, message));
                None
            }
        };

        let lab_name = array_at(obs, "performer")
            .first()
            .and_then(|p| text_at(p, "display"));
        if let Some(name) = lab_name
            && name.chars().count() > LAB_NAME_MAX
        {
            problems.push((
                "performer",
                format!(
                    "检测机构名称太长：最多{LAB_NAME_MAX}个字，实际为{}个字",
                    name.chars().count()
                ),
            ));
        }

        let ct_value = ct_value(obs);
        if let Some(ct) = &ct_value
            && ct.chars().count() > CT_VALUE_MAX
        {
            problems.push((
                "component",
                format!("CT值太长：最多{CT_VALUE_MAX}个字（{}）", quote(ct)),
            ));
        }

        match (tube_barcode, result) {
            (Some(tube_barcode), Some(result)) if problems.is_empty() => Ok(LabResultRow {
                tube_barcode,
                result,
                tested_at,
                lab_name: lab_name.map(str::to_string),
                ct_value,
            }),
            _ => {
                let mut columns: Vec<&str> = Vec::new();
                for (column, _) in &problems {
                    if !columns.contains(column) {
                        columns.push(column);
                    }
                }
                let messages: Vec<&str> = problems.iter().map(|(_, m)| m.as_str()).collect();
                Err(ResultProblem {
                    column: columns.join("、"),
                    message: format!("第{position}条 Observation{id}：{}", messages.join("；")),
                })
            }
        }
    }

    /// The barcode of a Specimen resource: its first identifier with a value,
    /// else its accession identifier.
    fn specimen_barcode(specimen: &Value) -> Option<String> {
        array_at(specimen, "identifier")
            .iter()
            .find_map(|id| text_at(id, "value"))
            .or_else(|| {
                specimen
                    .get("accessionIdentifier")
                    .and_then(|a| text_at(a, "value"))
            })
            .map(str::to_string)
    }

    /// `Specimen/abc/_history/2` → `Specimen/abc`.
    fn without_history(reference: &str) -> &str {
        reference
            .find("/_history/")
            .map_or(reference, |i| &reference[..i])
    }

    fn find_specimen<'a>(
        obs: &'a Value,
        reference: &str,
        bundled: &'a [BundledSpecimen],
    ) -> Option<&'a Value> {
        if let Some(local) = reference.strip_prefix('#') {
            return array_at(obs, "contained").iter().find(|r| {
                r.get("resourceType").and_then(Value::as_str) == Some("Specimen")
                    && r.get("id").and_then(Value::as_str) == Some(local)
            });
        }
        let reference = without_history(reference);
        bundled
            .iter()
            .find(|s| {
                if s.full_url
                    .is_some_and(|url| without_history(url) == reference)
                {
                    return true;
                }
                text_at(s.resource, "id").is_some_and(|id| {
                    let relative = format!("Specimen/{id}");
                    reference == relative || reference.ends_with(&format!("/{relative}"))
                })
            })
            .map(|s| s.resource)
    }

    fn tube_barcode(obs: &Value, bundled: &[BundledSpecimen]) -> Result<String, String> {
        let specimen = obs.get("specimen");
        if let Some(value) = specimen
            .and_then(|s| s.get("identifier"))
            .and_then(|id| text_at(id, "value"))
        {
            return Ok(value.to_string());
        }
        let mut why = String::new();
        if let Some(reference) = specimen.and_then(|s| text_at(s, "reference")) {
            match find_specimen(obs, reference, bundled) {
                Some(found) => match specimen_barcode(found) {
                    Some(barcode) => return Ok(barcode),
                    None => why = format!("：引用的标本 {} 没有编号", quote(reference)),
                },
                None => why = format!("：引用的标本 {} 在文件中找不到", quote(reference)),
            }
        }
        let by_system = array_at(obs, "identifier").iter().find_map(|id| {
            let system = text_at(id, "system")?
                .trim_end_matches('/')
                .to_ascii_lowercase();
            if system.ends_with("tube") || system.ends_with("barcode") {
                text_at(id, "value")
            } else {
                None
            }
        });
        match by_system {
            Some(value) => Ok(value.to_string()),
            None => Err(format!("没有管码（specimen.identifier）{why}")),
        }
    }

    fn coded_result(system: &str, code: &str) -> Option<TestResult> {
        match (system.trim_end_matches('/'), code.trim()) {
            (SNOMED, "260385009" | "260415000") => Some(TestResult::Negative),
            (SNOMED, "10828004" | "260373001") => Some(TestResult::Positive),
            (SNOMED, "455371000124106" | "125154007") => Some(TestResult::Invalid),
            (LOINC, "LA6577-6" | "LA11883-8") => Some(TestResult::Negative),
            (LOINC, "LA6576-8" | "LA11882-0") => Some(TestResult::Positive),
            (LOINC, "LA15841-2") => Some(TestResult::Invalid),
            _ => None,
        }
    }

    fn interpretation_result(code: &str) -> Option<TestResult> {
        match code.trim().to_ascii_uppercase().as_str() {
            "N" | "NEG" | "ND" => Some(TestResult::Negative),
            "POS" | "A" | "DET" => Some(TestResult::Positive),
            _ => None,
        }
    }

    /// "system|code（display）" for quoting a coding back.
    fn describe_coding(coding: &Value) -> String {
        let system = text_at(coding, "system").unwrap_or("");
        let code = text_at(coding, "code").unwrap_or("");
        let mut text = if system.is_empty() {
            code.to_string()
        } else {
            format!("{system}|{code}")
        };
        if let Some(display) = text_at(coding, "display") {
            text.push_str(&format!("（{display}）"));
        }
        text
    }

    /// Every reading of the result the Observation offers must agree: a coded
    /// negative with the text 阳性 is a lab-side error worth a phone call, not
    /// a coin toss.
    fn observed_result(obs: &Value) -> Result<TestResult, String> {
        let concept = obs.get("valueCodeableConcept");
        let codings = concept.map_or(&[][..], |c| array_at(c, "coding"));
        let mut found: Vec<(TestResult, String)> = Vec::new();
        for coding in codings {
            if let (Some(system), Some(code)) = (text_at(coding, "system"), text_at(coding, "code"))
                && let Some(r) = coded_result(system, code)
            {
                found.push((r, describe_coding(coding)));
            }
        }
        let mut texts: Vec<(&str, &str)> = Vec::new();
        if let Some(text) = concept.and_then(|c| text_at(c, "text")) {
            texts.push(("text", text));
        }
        for coding in codings {
            if let Some(display) = text_at(coding, "display") {
                texts.push(("display", display));
            }
        }
        if let Some(text) = text_at(obs, "valueString") {
            texts.push(("valueString", text));
        }
        for (_, text) in &texts {
            if let Some(r) = TestResult::parse(text) {
                found.push((r, format!("“{}”", quote(text))));
            }
        }

        if found.is_empty() {
            for interpretation in array_at(obs, "interpretation") {
                for coding in array_at(interpretation, "coding") {
                    if let Some(code) = text_at(coding, "code")
                        && let Some(r) = interpretation_result(code)
                    {
                        found.push((r, format!("interpretation {code}")));
                    }
                }
            }
        }

        if let Some((first, _)) = found.first() {
            if found.iter().all(|(r, _)| r == first) {
                return Ok(*first);
            }
            let said: Vec<String> = found
                .iter()
                .map(|(r, source)| format!("{source} 表示{}", r.label_zh()))
                .collect();
            return Err(format!(
                "检测结果前后矛盾：{}，请与检测机构核实",
                said.join("，")
            ));
        }

        // Nothing usable: quote what was there.
        let mut seen: Vec<String> = codings.iter().map(describe_coding).collect();
        seen.extend(
            texts
                .iter()
                .map(|(what, t)| format!("{what}“{}”", quote(t))),
        );
        if !seen.is_empty() {
            return Err(format!(
                "看不出检测结果是阴性、阳性还是无效：{}",
                seen.join("、")
            ));
        }
        if let Some(reason) = obs.get("dataAbsentReason") {
            let text = text_at(reason, "text")
                .map(str::to_string)
                .or_else(|| array_at(reason, "coding").first().map(describe_coding))
                .unwrap_or_default();
            return Err(format!(
                "没有检测结果（dataAbsentReason：{}）",
                quote(&text)
            ));
        }
        let other_value = obs
            .as_object()
            .and_then(|o| o.keys().find(|k| k.starts_with("value")));
        match other_value {
            Some(key) => Err(format!(
                "检测结果是 {key}，应为表示阴性、阳性或无效的编码（valueCodeableConcept）"
            )),
            None => Err("没有检测结果（valueCodeableConcept、valueString 都没有）".to_string()),
        }
    }

    /// The first full date-time among the effective[x] elements, then
    /// `issued`. A date without a time falls through to the next; a value that
    /// is not a date at all is an error.
    fn tested_at(obs: &Value) -> Result<Option<i64>, (&'static str, String)> {
        let candidates: [(&'static str, Option<&str>); 4] = [
            ("effectiveDateTime", text_at(obs, "effectiveDateTime")),
            ("effectiveInstant", text_at(obs, "effectiveInstant")),
            (
                "effectivePeriod",
                obs.get("effectivePeriod").and_then(|p| text_at(p, "start")),
            ),
            ("issued", text_at(obs, "issued")),
        ];
        for (column, text) in candidates {
            let Some(text) = text else { continue };
            match parse_time(text, TimeSource::Fhir) {
                Some(ParsedTime::At(t)) => return Ok(Some(t)),
                Some(ParsedTime::DateOnly) => continue,
                Some(ParsedTime::ExcelDay(_)) | None => {
                    return Err((
                        column,
                        format!("检测时间“{}”无法识别（{column}）", quote(text)),
                    ));
                }
            }
        }
        Ok(None)
    }

    fn is_ct_component(component: &Value) -> bool {
        let code = component.get("code");
        let codings = code.map_or(&[][..], |c| array_at(c, "coding"));
        let mut labels: Vec<&str> = code.and_then(|c| text_at(c, "text")).into_iter().collect();
        labels.extend(codings.iter().filter_map(|c| text_at(c, "display")));
        let says_ct = labels.iter().any(|label| {
            label
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|word| word == "Ct" || word == "CT" || word == "ct")
                || label.to_ascii_lowercase().contains("cycle threshold")
        });
        let ct_loinc = codings.iter().any(|c| {
            text_at(c, "system").map(|s| s.trim_end_matches('/')) == Some(LOINC)
                && text_at(c, "code").is_some_and(|code| CT_LOINC_CODES.contains(&code))
        });
        let ct_unit = component
            .get("valueQuantity")
            .and_then(|q| text_at(q, "code"))
            .is_some_and(|unit| unit.eq_ignore_ascii_case("{Ct_value}"));
        says_ct || ct_loinc || ct_unit
    }

    fn component_value(component: &Value) -> Option<String> {
        match component.get("valueQuantity").and_then(|q| q.get("value")) {
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => text_at(component, "valueString").map(str::to_string),
        }
    }

    /// A short name for one Ct value among several ("ORF1ab", "N"): the code's
    /// text if short, else none (LOINC displays are a sentence long).
    fn component_label(component: &Value) -> Option<&str> {
        let code = component.get("code")?;
        text_at(code, "text")
            .or_else(|| {
                array_at(code, "coding")
                    .iter()
                    .find_map(|c| text_at(c, "display"))
            })
            .filter(|label| label.chars().count() <= CT_LABEL_MAX)
    }

    fn ct_value(obs: &Value) -> Option<String> {
        let cts: Vec<(Option<&str>, String)> = array_at(obs, "component")
            .iter()
            .filter(|c| is_ct_component(c))
            .filter_map(|c| Some((component_label(c), component_value(c)?)))
            .collect();
        match cts.as_slice() {
            [] => None,
            [(_, value)] => Some(value.clone()),
            many => {
                let labelled: Vec<String> = many
                    .iter()
                    .map(|(label, value)| match label {
                        Some(label) => format!("{label} {value}"),
                        None => value.clone(),
                    })
                    .collect();
                let labelled = labelled.join("; ");
                if labelled.chars().count() <= CT_VALUE_MAX {
                    Some(labelled)
                } else {
                    let values: Vec<&str> = many.iter().map(|(_, v)| v.as_str()).collect();
                    Some(values.join("; "))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fhir::parse_observations;

    fn parse(json: &[u8]) -> Result<Vec<Result<LabResultRow, ResultProblem>>, String> {
        parse_observations(json, &NaaCodes::standard())
    }
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

    /// 2022-01-10 08:00 Beijing = 2022-01-10 00:00 UTC.
    const JAN10_0800_BEIJING: i64 = 1_641_772_800;

    #[test]
    fn codes_round_trip_and_labels_are_chinese() {
        for r in TestResult::ALL {
            assert_eq!(TestResult::from_code(r.code()), Some(r));
            assert_eq!(TestResult::parse(r.label_zh()), Some(r));
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.code()));
        }
        assert_eq!(TestResult::from_code("Negative"), None);
        assert_eq!(TestResult::Positive.label_zh(), "阳性");
    }

    #[test]
    fn every_result_spelling_is_understood() {
        let cases = [
            (
                TestResult::Negative,
                &[
                    "阴性",
                    "阴",
                    "-",
                    "negative",
                    "NEG",
                    "N",
                    " n ",
                    "Negative",
                    "未检出",
                    "Not Detected",
                    "－",
                    "阴性（-）",
                    "阴性(-)",
                ][..],
            ),
            (
                TestResult::Positive,
                &[
                    "阳性",
                    "阳",
                    "+",
                    "positive",
                    "POS",
                    "P",
                    "p",
                    "检出",
                    "DETECTED",
                    "＋",
                    "阳性（+）",
                    "阳性 (+)",
                ][..],
            ),
            (
                TestResult::Invalid,
                &[
                    "无效",
                    "检测无效",
                    "invalid",
                    "INV",
                    "需重采",
                    "Invalid",
                    "无效（需重采）",
                ][..],
            ),
        ];
        for (expected, spellings) in cases {
            for raw in spellings {
                assert_eq!(TestResult::parse(raw), Some(expected), "{raw:?}");
            }
        }
    }

    #[test]
    fn unknown_or_self_contradicting_results_are_not_guessed() {
        for raw in [
            "",
            "阴阳",
            "弱阳性",
            "可疑",
            "阴性（+）",
            "(-)",
            "nega",
            "1",
            "positive?",
        ] {
            assert_eq!(TestResult::parse(raw), None, "{raw:?}");
        }
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

    // ---- FHIR ----

    /// A realistic LIS export: a batch of one county lab's results with the
    /// patient, a bundled Specimen and Observations in several shapes.
    const LAB_BUNDLE: &str = r##"{
      "resourceType": "Bundle",
      "id": "batch-20220110-001",
      "type": "collection",
      "timestamp": "2022-01-10T12:30:00+08:00",
      "entry": [
        {
          "fullUrl": "urn:uuid:6f1c2d5e-0001-4000-8000-000000000001",
          "resource": {
            "resourceType": "Patient",
            "id": "p1",
            "name": [{ "text": "王秀英" }]
          }
        },
        {
          "fullUrl": "urn:uuid:6f1c2d5e-0002-4000-8000-000000000002",
          "resource": {
            "resourceType": "Specimen",
            "id": "spec-0002",
            "identifier": [{ "system": "http://fangkong.example/tube", "value": "130182000002" }],
            "type": { "text": "鼻咽拭子" }
          }
        },
        {
          "fullUrl": "urn:uuid:6f1c2d5e-0003-4000-8000-000000000003",
          "resource": {
            "resourceType": "Observation",
            "id": "obs-1",
            "contained": [
              {
                "resourceType": "Specimen",
                "id": "tube",
                "identifier": [{ "system": "http://fangkong.example/tube", "value": "130182000001" }]
              }
            ],
            "status": "final",
            "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory" }] }],
            "code": {
              "coding": [{ "system": "http://loinc.org", "code": "94500-6", "display": "SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory specimen by NAA with probe detection" }],
              "text": "新型冠状病毒核酸检测"
            },
            "subject": { "reference": "urn:uuid:6f1c2d5e-0001-4000-8000-000000000001" },
            "effectiveDateTime": "2022-01-10T08:00:00+08:00",
            "issued": "2022-01-10T11:02:13.512+08:00",
            "performer": [{ "reference": "Organization/lab-17", "display": "藁城区疾病预防控制中心实验室" }],
            "valueCodeableConcept": {
              "coding": [{ "system": "http://snomed.info/sct", "code": "260385009", "display": "Negative" }],
              "text": "阴性"
            },
            "specimen": { "reference": "#tube" },
            "component": [
              {
                "code": { "coding": [{ "system": "http://loinc.org", "code": "94511-3" }], "text": "ORF1ab Ct值" },
                "valueQuantity": { "value": 38.2, "system": "http://unitsofmeasure.org", "code": "{Ct_value}" }
              }
            ]
          }
        },
        {
          "fullUrl": "urn:uuid:6f1c2d5e-0004-4000-8000-000000000004",
          "resource": {
            "resourceType": "Observation",
            "id": "obs-2",
            "status": "corrected",
            "code": { "coding": [{ "system": "http://loinc.org", "code": "94500-6" }] },
            "effectiveDateTime": "2022-01-10T08:30:00",
            "performer": [{ "display": "藁城区疾病预防控制中心实验室" }],
            "valueCodeableConcept": {
              "coding": [{ "system": "http://loinc.org", "code": "LA6576-8", "display": "Positive" }]
            },
            "specimen": { "reference": "urn:uuid:6f1c2d5e-0002-4000-8000-000000000002" },
            "component": [
              {
                "code": { "text": "ORF1ab", "coding": [{ "system": "http://loinc.org", "code": "94511-3" }] },
                "valueQuantity": { "value": 28.4 }
              },
              {
                "code": { "text": "N", "coding": [{ "system": "http://loinc.org", "code": "94510-5" }] },
                "valueQuantity": { "value": 27.9 }
              },
              {
                "code": { "text": "内标" },
                "valueString": "通过"
              }
            ]
          }
        },
        {
          "resource": {
            "resourceType": "Observation",
            "id": "obs-3",
            "status": "preliminary",
            "code": { "coding": [{ "system": "http://loinc.org", "code": "94309-2" }] },
            "valueString": "阴性",
            "specimen": { "identifier": { "value": "130182000003" } }
          }
        },
        {
          "resource": {
            "resourceType": "OperationOutcome",
            "issue": [{ "severity": "information", "code": "informational" }]
          }
        },
        {
          "resource": {
            "resourceType": "Observation",
            "id": "obs-4",
            "status": "final",
            "code": { "text": "新冠核酸", "coding": [{ "system": "http://loinc.org/", "code": "94759-8" }] },
            "issued": "2022-01-10T01:00:00Z",
            "valueCodeableConcept": {
              "coding": [{ "system": "http://snomed.info/sct", "code": "455371000124106", "display": "Invalid result" }]
            },
            "specimen": { "reference": "Specimen/spec-0002" }
          }
        }
      ]
    }"##;

    #[test]
    fn a_realistic_bundle_is_read_entry_by_entry() {
        let items = parse(LAB_BUNDLE.as_bytes()).unwrap();
        assert_eq!(
            items.len(),
            4,
            "Patient, Specimen and OperationOutcome are skipped"
        );

        // Contained Specimen, SNOMED negative, Ct by LOINC code.
        let first = items[0].as_ref().unwrap();
        assert_eq!(
            first,
            &LabResultRow {
                tube_barcode: "130182000001".into(),
                result: TestResult::Negative,
                tested_at: Some(JAN10_0800_BEIJING),
                lab_name: Some("藁城区疾病预防控制中心实验室".into()),
                ct_value: Some("38.2".into()),
            }
        );

        // Bundled Specimen through fullUrl, LOINC positive, offset-less Beijing time,
        // two labelled Ct values and a non-Ct component left out.
        let second = items[1].as_ref().unwrap();
        assert_eq!(second.tube_barcode, "130182000002");
        assert_eq!(second.result, TestResult::Positive);
        assert_eq!(second.tested_at, Some(JAN10_0800_BEIJING + 30 * 60));
        assert_eq!(second.ct_value.as_deref(), Some("ORF1ab 28.4; N 27.9"));

        // Preliminary: refused and named by its place in entry[].
        let third = items[2].as_ref().unwrap_err();
        assert_eq!(third.column, "status");
        assert_eq!(
            third.message,
            "第5条 Observation（id=obs-3）：结果尚未最终确认（status=preliminary）"
        );

        // Bundled Specimen through Specimen/id, SNOMED invalid, time from `issued`.
        let fourth = items[3].as_ref().unwrap();
        assert_eq!(fourth.tube_barcode, "130182000002");
        assert_eq!(fourth.result, TestResult::Invalid);
        assert_eq!(fourth.tested_at, Some(JAN10_0800_BEIJING + 3600));
        assert_eq!(fourth.lab_name, None);
        assert_eq!(fourth.ct_value, None);
    }

    #[test]
    fn a_single_observation_is_one_item() {
        let json = r#"{
          "resourceType": "Observation",
          "status": "final",
          "code": { "coding": [{ "system": "http://loinc.org", "code": "94500-6" }] },
          "identifier": [{ "system": "urn:lab:sample", "value": "LAB-1" },
                         { "system": "http://fangkong.example/ns/Barcode/", "value": "130182000009" }],
          "effectiveDateTime": "2022-01-10 08:00:00",
          "valueCodeableConcept": { "coding": [{ "system": "http://snomed.info/sct/", "code": "10828004" }] }
        }"#;
        let items = parse(json.as_bytes()).unwrap();
        assert_eq!(
            items,
            [Ok(LabResultRow {
                tube_barcode: "130182000009".into(),
                result: TestResult::Positive,
                tested_at: Some(JAN10_0800_BEIJING),
                lab_name: None,
                ct_value: None,
            })]
        );
        // With a BOM in front, as Windows tools write it.
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), json.as_bytes()].concat();
        assert_eq!(parse(&with_bom).unwrap(), items);
    }

    /// An Observation of a SARS-CoV-2 PCR test (94500-6) unless `body` names its own code.
    fn observation(body: &str) -> Result<LabResultRow, ResultProblem> {
        let code = if body.contains(r#""code":{"coding""#) {
            ""
        } else {
            r#""code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},"#
        };
        let json = format!(r#"{{"resourceType":"Observation",{code}{body}}}"#);
        let mut items = parse(json.as_bytes()).unwrap();
        assert_eq!(items.len(), 1);
        items.remove(0)
    }

    const TUBE: &str = r#""specimen":{"identifier":{"value":"T1"}}"#;

    #[test]
    fn result_codes_texts_and_interpretations() {
        let cases = [
            (
                r#""valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260415000"}]}"#,
                TestResult::Negative,
            ),
            (
                r#""valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260373001"}]}"#,
                TestResult::Positive,
            ),
            (
                r#""valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"125154007"}]}"#,
                TestResult::Invalid,
            ),
            (
                r#""valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA6577-6"}]}"#,
                TestResult::Negative,
            ),
            (
                r#""valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA11882-0"}]}"#,
                TestResult::Positive,
            ),
            (
                r#""valueCodeableConcept":{"text":"Not detected"}"#,
                TestResult::Negative,
            ),
            (r#""valueString":"阳性""#, TestResult::Positive),
            (
                r#""interpretation":[{"coding":[{"code":"NEG"}]}]"#,
                TestResult::Negative,
            ),
            (
                r#""interpretation":[{"coding":[{"code":"ND"}]}]"#,
                TestResult::Negative,
            ),
            (
                r#""interpretation":[{"coding":[{"code":"DET"}]}]"#,
                TestResult::Positive,
            ),
            (
                r#""interpretation":[{"coding":[{"code":"A"}]}]"#,
                TestResult::Positive,
            ),
            // Interpretation is only a fallback: the value wins.
            (
                r#""valueString":"阴性","interpretation":[{"coding":[{"code":"A"}]}]"#,
                TestResult::Negative,
            ),
        ];
        for (value, expected) in cases {
            let r = observation(&format!(r#""status":"final",{TUBE},{value}"#));
            assert_eq!(r.map(|r| r.result), Ok(expected), "{value}");
        }
    }

    #[test]
    fn unusable_or_contradicting_results_are_refused_quoting_what_was_there() {
        let p = observation(&format!(
            r#""status":"final",{TUBE},"valueCodeableConcept":{{"coding":[{{"system":"http://snomed.info/sct","code":"419984006","display":"Inconclusive"}}]}}"#
        ))
        .unwrap_err();
        assert_eq!(p.column, "valueCodeableConcept");
        assert!(
            p.message
                .contains("http://snomed.info/sct|419984006（Inconclusive）"),
            "{}",
            p.message
        );

        let p = observation(&format!(
            r#""status":"final",{TUBE},"valueCodeableConcept":{{"coding":[{{"system":"http://snomed.info/sct","code":"260385009"}}],"text":"阳性"}}"#
        ))
        .unwrap_err();
        assert!(p.message.contains("前后矛盾"), "{}", p.message);

        let p = observation(&format!(r#""status":"final",{TUBE}"#)).unwrap_err();
        assert!(p.message.contains("没有检测结果"), "{}", p.message);

        let p = observation(&format!(
            r#""status":"final",{TUBE},"valueQuantity":{{"value":1}}"#
        ))
        .unwrap_err();
        assert!(p.message.contains("valueQuantity"), "{}", p.message);
    }

    #[test]
    fn statuses_other_than_final_amended_corrected_are_refused() {
        for ok in ["final", "amended", "corrected"] {
            assert!(
                observation(&format!(r#""status":"{ok}",{TUBE},"valueString":"阴性""#)).is_ok()
            );
        }
        for (status, words) in [
            ("registered", "结果尚未最终确认（status=registered）"),
            ("cancelled", "已取消"),
            ("entered-in-error", "录入错误"),
            ("unknown", "不是最终结果"),
        ] {
            let p = observation(&format!(
                r#""status":"{status}",{TUBE},"valueString":"阴性""#
            ))
            .unwrap_err();
            assert_eq!(p.column, "status");
            assert!(p.message.contains(words), "{}", p.message);
        }
        let p = observation(&format!(r#"{TUBE},"valueString":"阴性""#)).unwrap_err();
        assert!(p.message.contains("缺少结果状态"), "{}", p.message);
    }

    #[test]
    fn a_missing_barcode_is_reported_with_everything_else_wrong() {
        let p =
            observation(r#""id":"x9","status":"preliminary","valueString":"阴性""#).unwrap_err();
        assert_eq!(p.column, "status、specimen.identifier");
        assert_eq!(
            p.message,
            "第1条 Observation（id=x9）：结果尚未最终确认（status=preliminary）；没有管码（specimen.identifier）"
        );

        let p = observation(
            r#""status":"final","valueString":"阴性","specimen":{"reference":"Specimen/nowhere"}"#,
        )
        .unwrap_err();
        assert_eq!(p.column, "specimen.identifier");
        assert!(
            p.message.contains("Specimen/nowhere 在文件中找不到"),
            "{}",
            p.message
        );
        assert!(
            p.message.starts_with("第1条 Observation："),
            "{}",
            p.message
        );
    }

    #[test]
    fn times_in_fhir() {
        let time = |extra: &str| {
            observation(&format!(
                r#""status":"final",{TUBE},"valueString":"阴性",{extra}"#
            ))
        };
        assert_eq!(
            time(r#""effectiveDateTime":"2022-01-10T00:00:00Z""#)
                .unwrap()
                .tested_at,
            Some(JAN10_0800_BEIJING)
        );
        // A date only: `issued` gives the time, else there is none.
        assert_eq!(
            time(r#""effectiveDateTime":"2022-01-10","issued":"2022-01-10T08:00:00+08:00""#)
                .unwrap()
                .tested_at,
            Some(JAN10_0800_BEIJING)
        );
        assert_eq!(
            time(r#""effectiveDateTime":"2022-01""#).unwrap().tested_at,
            None
        );
        assert_eq!(
            time(r#""effectivePeriod":{"start":"2022-01-10T08:00:00"}"#)
                .unwrap()
                .tested_at,
            Some(JAN10_0800_BEIJING)
        );
        let p = time(r#""effectiveDateTime":"yesterday""#).unwrap_err();
        assert_eq!(p.column, "effectiveDateTime");
        assert!(p.message.contains("“yesterday”无法识别"), "{}", p.message);
    }

    #[test]
    fn garbage_and_wrong_documents_are_one_error() {
        let err = parse(b"{not json").unwrap_err();
        assert!(err.contains("不是有效的 JSON"), "{err}");
        let err = parse("管码,结果\nT1,阴性".as_bytes()).unwrap_err();
        assert!(err.contains("不是有效的 JSON"), "{err}");
        let err = parse(br#"{"resourceType":"Patient"}"#).unwrap_err();
        assert!(err.contains("Patient"), "{err}");
        let err = parse(br#"[1,2]"#).unwrap_err();
        assert!(err.contains("不是 FHIR 资源"), "{err}");
        let err = parse(br#"{"status":"final"}"#).unwrap_err();
        assert!(err.contains("缺少 resourceType"), "{err}");
        let err = parse(br#"{"resourceType":"Bundle","entry":{}}"#).unwrap_err();
        assert!(err.contains("entry"), "{err}");
        assert_eq!(
            parse(br#"{"resourceType":"Bundle","type":"searchset","total":0}"#),
            Ok(vec![])
        );
    }
}
