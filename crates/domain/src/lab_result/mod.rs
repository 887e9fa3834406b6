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
//! The sheet's columns and rows are [`sheet`]'s, the FHIR documents [`fhir`]'s; the result, the row,
//! the problems, the time formats and the accepted test codes are shared here.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta};

pub mod fhir;
mod sheet;

pub use sheet::*;

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
            let file: File = serde_json::from_str(include_str!(
                "../../data/lab_result/sars_cov_2_naa_codes.json"
            ))
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

/// 2022-01-10 08:00 Beijing = 2022-01-10 00:00 UTC (the time the sheet and FHIR tests write).
#[cfg(test)]
const JAN10_0800_BEIJING: i64 = 1_641_772_800;

#[cfg(test)]
mod tests {
    use super::*;

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
}
