//! Lab results (结果回传): CSV/XLSX files, HL7 FHIR R4 Observations and JSON rows from a lab, per
//! tube. One reader thread parses and checks rows; chunks of 10,000 are applied in one transaction
//! each, with the recheck tasks and person events a positive or invalid tube sets off. Re-uploads are
//! idempotent (same result: unchanged); unknown tubes and conflicting results are kept as problems.

use std::path::{Path, PathBuf};

use fangkong_domain::lab_result::{
    LabResultRow, LocalTestCode, NaaCodes, ResultColumns, ResultProblem, TestResult, fhir,
    validate_result_row,
};
use fangkong_domain::mass_testing::TubeBarcode;
use fangkong_domain::role::Permission;
use fangkong_store::{ResultOutcome, ResultProblemRecord, ResultUploadRecord, ResultWrite};
use serde::{Deserialize, Serialize};

use crate::import::{FileFormat, FileLine, for_each_line};
use crate::{Actor, App, AppError, AppResult, audit_record};

const ROWS_PER_CHUNK: usize = 10_000;
/// Problems shown on the page after an upload (all are stored and listed on the upload's page).
const PROBLEMS_SHOWN: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ResultFormat {
    Csv,
    Xlsx,
    Fhir,
}

impl ResultFormat {
    pub fn from_file_name(name: &str) -> AppResult<ResultFormat> {
        let lower = name.to_lowercase();
        if lower.ends_with(".json") {
            return Ok(ResultFormat::Fhir);
        }
        match FileFormat::from_file_name(name) {
            Ok(FileFormat::Csv) => Ok(ResultFormat::Csv),
            Ok(FileFormat::Xlsx) => Ok(ResultFormat::Xlsx),
            Err(_) => Err(AppError::Invalid(format!(
                "无法识别文件“{name}”的格式：请上传 .csv、.xlsx 或 FHIR 的 .json 文件"
            ))),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            ResultFormat::Csv => "csv",
            ResultFormat::Xlsx => "xlsx",
            ResultFormat::Fhir => "fhir",
        }
    }
}

/// One result sent as JSON through the API.
#[derive(Debug, Clone, Deserialize)]
pub struct ResultInput {
    pub tube: String,
    pub result: String,
    /// Unix seconds.
    #[serde(default)]
    pub tested_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResultUploadReport {
    pub upload: ResultUploadRecord,
    pub problems: Vec<ResultProblemRecord>,
}

/// A parsed row: ready to apply, or a problem to keep.
enum Parsed {
    Row(ResultWrite),
    Problem(i64, String, String),
}

struct RowCheck {
    now: i64,
    default_lab: String,
}

impl RowCheck {
    fn check(&self, row_number: i64, row: Result<LabResultRow, Vec<ResultProblem>>) -> Parsed {
        let row = match row {
            Ok(row) => row,
            Err(problems) => {
                let message = problems
                    .iter()
                    .map(|p| format!("{}：{}", p.column, p.message))
                    .collect::<Vec<_>>()
                    .join("；");
                return Parsed::Problem(row_number, String::new(), message);
            }
        };
        let barcode = match TubeBarcode::parse(&row.tube_barcode) {
            Ok(code) => code,
            Err(message) => return Parsed::Problem(row_number, row.tube_barcode, message),
        };
        if let Some(t) = row.tested_at
            && t > self.now + 3600
        {
            return Parsed::Problem(
                row_number,
                row.tube_barcode,
                "检测时间晚于现在，请核对日期和时间".into(),
            );
        }
        Parsed::Row(ResultWrite {
            row_number,
            tube_barcode: barcode.to_string(),
            result: row.result,
            tested_at: row.tested_at,
            lab_name: row.lab_name.unwrap_or_else(|| self.default_lab.clone()),
        })
    }
}

type ChunkSender = tokio::sync::mpsc::Sender<AppResult<Vec<Parsed>>>;

/// Reads a CSV/XLSX sheet on a blocking thread and sends checked chunks.
fn read_sheet(path: PathBuf, format: FileFormat, check: RowCheck, sender: ChunkSender) {
    let mut columns: Option<ResultColumns> = None;
    let mut header_error = None;
    let mut chunk = Vec::with_capacity(ROWS_PER_CHUNK);
    let mut writer_gone = false;
    let is_header = |cells: &[String]| ResultColumns::from_header(cells).is_ok();
    let read = for_each_line(&path, format, is_header, |line| {
        match line {
            FileLine::Unreadable(row_number, why) => {
                chunk.push(Parsed::Problem(row_number, String::new(), why))
            }
            FileLine::Cells(row_number, cells) => {
                let Some(current) = &columns else {
                    match ResultColumns::from_header(&cells) {
                        Ok(found) => columns = Some(found),
                        Err(e) => header_error = Some(AppError::Invalid(e)),
                    }
                    return header_error.is_none();
                };
                if cells.iter().all(|c| c.is_empty()) {
                    return true;
                }
                chunk.push(check.check(row_number, validate_result_row(current, &cells)));
            }
        }
        if chunk.len() >= ROWS_PER_CHUNK {
            writer_gone = sender
                .blocking_send(Ok(std::mem::replace(
                    &mut chunk,
                    Vec::with_capacity(ROWS_PER_CHUNK),
                )))
                .is_err();
        }
        !writer_gone
    });
    let last = match (read, header_error) {
        (Err(e), _) | (Ok(_), Some(e)) => Err(e),
        (Ok(_), None) if columns.is_none() => Err(AppError::Invalid(
            "文件是空的：第一行应为表头（管码、结果、检测时间），之后每行一支试管".into(),
        )),
        (Ok(_), None) => Ok(chunk),
    };
    if !writer_gone {
        let _ = sender.blocking_send(last);
    }
}

/// The setting holding a lab's own test codes accepted as SARS-CoV-2 nucleic-acid results (JSON).
const LOCAL_TEST_CODES_SETTING: &str = "lab_results.local_naa_codes";
/// At most this many local codes.
const LOCAL_TEST_CODES_MAX: usize = 50;

/// Parses a FHIR R4 document (an Observation or a Bundle of them) into chunks; only Observations
/// of a SARS-CoV-2 nucleic-acid test (`codes`) give results.
fn read_fhir(bytes: &[u8], check: &RowCheck, codes: &NaaCodes) -> AppResult<Vec<Parsed>> {
    let items = fhir::parse_observations(bytes, codes)
        .map_err(|e| AppError::Invalid(format!("FHIR 文件无法读取：{e}")))?;
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, item)| check.check(i as i64 + 1, item.map_err(|p| vec![p])))
        .collect())
}

/// [`read_fhir`] on the bounded blocking pool: parsing up to 16 MB of JSON takes a core for a while.
async fn read_fhir_pooled(
    bytes: Vec<u8>,
    check: RowCheck,
    codes: NaaCodes,
) -> AppResult<Vec<Parsed>> {
    crate::blocking::run(crate::blocking::Heavy::FileReader, move || {
        read_fhir(&bytes, &check, &codes)
    })
    .await?
}

/// The largest FHIR document read (file or API body): its JSON tree is held whole while it is
/// checked, so this bounds the memory one upload can take.
pub const FHIR_DOCUMENT_LIMIT: usize = 16 * 1024 * 1024;

/// A lab's own test codes as an administrator set them: each trimmed, within its length, none a
/// LOINC code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetLocalTestCodes {
    pub codes: Vec<LocalTestCode>,
}

impl TryFrom<&[LocalTestCode]> for SetLocalTestCodes {
    type Error = AppError;

    fn try_from(codes: &[LocalTestCode]) -> Result<Self, AppError> {
        if codes.len() > LOCAL_TEST_CODES_MAX {
            return Err(AppError::Invalid(format!(
                "本地检测项目编码最多{LOCAL_TEST_CODES_MAX}个，实际为{}个",
                codes.len()
            )));
        }
        let mut cleaned = Vec::with_capacity(codes.len());
        for c in codes {
            let system = c.system.trim().to_string();
            let code = c.code.trim().to_string();
            let display = c.display.trim().to_string();
            if code.is_empty() || code.chars().count() > 64 {
                return Err(AppError::Invalid(
                    "检测项目编码不能为空，最多64个字符".into(),
                ));
            }
            if system.chars().count() > 200 || display.chars().count() > 100 {
                return Err(AppError::Invalid(
                    "编码体系最多200个字符，名称最多100个字".into(),
                ));
            }
            if system
                .trim_end_matches('/')
                .eq_ignore_ascii_case("http://loinc.org")
            {
                return Err(AppError::Invalid(format!(
                    "LOINC 编码（{code}）由系统统一维护，这里只填写检测机构自己的编码"
                )));
            }
            cleaned.push(LocalTestCode {
                system,
                code,
                display,
            });
        }
        Ok(SetLocalTestCodes { codes: cleaned })
    }
}

fn fhir_too_large() -> AppError {
    AppError::TooLarge(format!(
        "FHIR文件最大{}MB：请分成几个文件上传，或用CSV/Excel上传大批结果",
        FHIR_DOCUMENT_LIMIT / (1024 * 1024)
    ))
}

impl App {
    /// The lab's own test codes accepted besides the LOINC list (installation-wide).
    pub async fn local_lab_test_codes(&self) -> AppResult<Vec<LocalTestCode>> {
        match self.store.setting(LOCAL_TEST_CODES_SETTING).await? {
            None => Ok(Vec::new()),
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                AppError::internal_in(format!("setting {LOCAL_TEST_CODES_SETTING} unreadable"), e)
            }),
        }
    }

    /// The codes a FHIR upload accepts: the LOINC list plus the local codes.
    pub async fn lab_test_codes(&self) -> AppResult<NaaCodes> {
        Ok(NaaCodes::standard().with_local(&self.local_lab_test_codes().await?))
    }

    /// Replaces the lab's own test codes (administrators; audited). LOINC codes are not taken:
    /// their list is maintained with fangkong, so an antigen or influenza code cannot be added here.
    /// The list is parsed into [`SetLocalTestCodes`] first; the setting and its audit record are one
    /// transaction.
    pub async fn set_local_lab_test_codes(
        &self,
        actor: &Actor,
        codes: Vec<LocalTestCode>,
    ) -> AppResult<()> {
        actor.require(Permission::ManageUsers)?;
        let command = SetLocalTestCodes::try_from(codes.as_slice())?;
        let json = serde_json::to_string(&command.codes)
            .map_err(|e| AppError::internal_in("local codes", e))?;
        self.store
            .put_setting_audited(
                LOCAL_TEST_CODES_SETTING,
                &json,
                &audit_record(self, actor, "set_local_test_codes", "lab_results", &json),
            )
            .await?;
        Ok(())
    }

    fn lab_check(&self, actor: &Actor) -> RowCheck {
        RowCheck {
            now: self.now_unix(),
            default_lab: actor.display_name.clone(),
        }
    }

    /// Ingests a results file on disk (CSV, XLSX or FHIR JSON) uploaded by a lab.
    pub async fn upload_lab_results(
        &self,
        actor: &Actor,
        path: &Path,
        file_name: &str,
    ) -> AppResult<ResultUploadReport> {
        actor.require(Permission::UploadLabResults)?;
        let format = ResultFormat::from_file_name(file_name)?;
        let check = self.lab_check(actor);
        let sheet = match format {
            ResultFormat::Csv => FileFormat::Csv,
            ResultFormat::Xlsx => FileFormat::Xlsx,
            ResultFormat::Fhir => {
                // A FHIR document is JSON, parsed whole into a tree that can take many times the
                // file's size: refuse a large one before reading it (big volumes come as CSV).
                let size = tokio::fs::metadata(path)
                    .await
                    .map_err(|e| AppError::internal_in("read upload", e))?
                    .len();
                if size > FHIR_DOCUMENT_LIMIT as u64 {
                    return Err(fhir_too_large());
                }
                let bytes = tokio::fs::read(path)
                    .await
                    .map_err(|e| AppError::internal_in("read upload", e))?;
                let codes = self.lab_test_codes().await?;
                let parsed = read_fhir_pooled(bytes, check, codes).await?;
                return self
                    .ingest_parsed(actor, file_name, format.code(), parsed)
                    .await;
            }
        };
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let path = path.to_path_buf();
        crate::blocking::start(crate::blocking::Heavy::FileReader, move || {
            read_sheet(path, sheet, check, sender)
        })
        .await?;
        self.ingest_results(actor, file_name, format.code(), receiver)
            .await
    }

    /// Ingests a FHIR R4 document sent to the API.
    pub async fn submit_fhir_results(
        &self,
        actor: &Actor,
        body: &[u8],
    ) -> AppResult<ResultUploadReport> {
        actor.require(Permission::UploadLabResults)?;
        if body.len() > FHIR_DOCUMENT_LIMIT {
            return Err(fhir_too_large());
        }
        let codes = self.lab_test_codes().await?;
        let parsed = read_fhir_pooled(body.to_vec(), self.lab_check(actor), codes).await?;
        self.ingest_parsed(actor, "api", "fhir", parsed).await
    }

    /// Ingests results sent as JSON rows through the API.
    pub async fn submit_lab_results(
        &self,
        actor: &Actor,
        rows: &[ResultInput],
    ) -> AppResult<ResultUploadReport> {
        actor.require(Permission::UploadLabResults)?;
        if rows.len() > 100_000 {
            return Err(AppError::Invalid(
                "一次最多上传10万条结果；更多请分批或上传文件".into(),
            ));
        }
        let check = self.lab_check(actor);
        let parsed = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let row = match TestResult::parse(&r.result) {
                    Some(result) => Ok(LabResultRow {
                        tube_barcode: r.tube.trim().to_string(),
                        result,
                        tested_at: r.tested_at,
                        lab_name: None,
                        ct_value: None,
                    }),
                    None => Err(vec![ResultProblem {
                        column: "result".into(),
                        message: format!("结果“{}”无法识别，应为阴性、阳性或无效", r.result),
                    }]),
                };
                check.check(i as i64 + 1, row)
            })
            .collect();
        self.ingest_parsed(actor, "api", "api", parsed).await
    }

    async fn ingest_parsed(
        &self,
        actor: &Actor,
        file_name: &str,
        format: &str,
        parsed: Vec<Parsed>,
    ) -> AppResult<ResultUploadReport> {
        // The rows are in memory already: queue them all as chunks (no task needed to feed them).
        let chunks = parsed.len().div_ceil(ROWS_PER_CHUNK).max(1);
        let (sender, receiver) = tokio::sync::mpsc::channel(chunks);
        let mut parsed = parsed.into_iter().peekable();
        while parsed.peek().is_some() {
            let chunk: Vec<Parsed> = parsed.by_ref().take(ROWS_PER_CHUNK).collect();
            if sender.try_send(Ok(chunk)).is_err() {
                break;
            }
        }
        drop(sender);
        self.ingest_results(actor, file_name, format, receiver)
            .await
    }

    async fn ingest_results(
        &self,
        actor: &Actor,
        file_name: &str,
        format: &str,
        mut receiver: tokio::sync::mpsc::Receiver<AppResult<Vec<Parsed>>>,
    ) -> AppResult<ResultUploadReport> {
        let mut upload = ResultUploadRecord {
            id: 0,
            started_at: self.now_unix(),
            finished_at: None,
            username: actor.username.clone(),
            lab_name: actor.display_name.clone(),
            file_name: file_name.chars().take(200).collect(),
            format: format.to_string(),
            rows_total: 0,
            applied: 0,
            unchanged: 0,
            problems: 0,
            positives: 0,
            interrupted_at: None,
        };
        upload.id = self.store.insert_result_upload(&upload).await?;
        let (lower, upper) = actor.jurisdiction_range();
        let mut shown = Vec::new();
        let mut failure = None;
        while let Some(chunk) = receiver.recv().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            let mut problems = Vec::new();
            let mut rows = Vec::with_capacity(chunk.len());
            for parsed in chunk {
                upload.rows_total += 1;
                match parsed {
                    Parsed::Row(row) => rows.push(row),
                    Parsed::Problem(row_number, tube_barcode, message) => {
                        problems.push(ResultProblemRecord {
                            upload_id: upload.id,
                            row_number,
                            tube_barcode,
                            kind: "invalid_row".into(),
                            message,
                        })
                    }
                }
            }
            // A chunk that fails stops the upload, but what earlier chunks committed is still
            // recorded and audited below.
            let outcomes = match self
                .store
                .apply_results(&rows, (&lower, &upper), self.now_unix())
                .await
            {
                Ok(outcomes) => outcomes,
                Err(e) => {
                    failure = Some(AppError::from(e));
                    break;
                }
            };
            for (row, outcome) in rows.iter().zip(outcomes) {
                match outcome {
                    ResultOutcome::Applied { positive } => {
                        upload.applied += 1;
                        upload.positives += i64::from(positive);
                    }
                    ResultOutcome::Unchanged => upload.unchanged += 1,
                    ResultOutcome::Rejected(rejection) => problems.push(ResultProblemRecord {
                        upload_id: upload.id,
                        row_number: row.row_number,
                        tube_barcode: row.tube_barcode.clone(),
                        kind: rejection.kind().into(),
                        message: rejection.message_zh(),
                    }),
                }
            }
            problems.sort_by_key(|p| p.row_number);
            upload.problems += problems.len() as i64;
            if let Err(e) = self.store.insert_result_problems(&problems).await {
                failure = Some(AppError::from(e));
                break;
            }
            // The counters follow every committed chunk: a run cut short by a crash still says
            // what it committed.
            if let Err(e) = self
                .store
                .finish_result_upload(&upload, self.now_unix())
                .await
            {
                failure = Some(AppError::from(e));
                break;
            }
            let room = PROBLEMS_SHOWN.saturating_sub(shown.len());
            shown.extend(problems.into_iter().take(room));
        }
        // The run's record: its last counters, its end and its audit record commit together (each
        // chunk's results committed in their own transactions above, as the group commit needs).
        upload.finished_at = Some(self.now_unix());
        self.store
            .close_result_upload(
                &upload,
                self.now_unix(),
                &audit_record(
                    self,
                    actor,
                    "import",
                    format!("result_upload:{}", upload.id),
                    format!(
                        "{format} rows={} applied={} problems={}",
                        upload.rows_total, upload.applied, upload.problems
                    ),
                ),
            )
            .await?;
        if upload.applied >= 10_000 {
            self.store.refresh_testing_statistics().await?;
        }
        // Positive pools and rechecks change people's codes now, not at the next background pass.
        self.feed_health_codes().await;
        if let Some(e) = failure {
            return Err(e);
        }
        shown.sort_by_key(|p| p.row_number);
        Ok(ResultUploadReport {
            upload,
            problems: shown,
        })
    }

    /// An upload's record and its problems: the lab that sent it, and commanders and
    /// administrators whose jurisdiction contains the uploader's. To anyone else it does not exist.
    pub async fn result_upload(
        &self,
        actor: &Actor,
        upload_id: i64,
    ) -> AppResult<ResultUploadReport> {
        actor.require(Permission::UploadLabResults)?;
        let upload = self
            .store
            .result_upload(upload_id)
            .await?
            .ok_or(AppError::NotFound("该结果上传记录"))?;
        let own = upload.username == actor.username;
        if !own
            && (actor.role == fangkong_domain::role::Role::Lab
                || !self.sees_work_of(actor, &upload.username).await?)
        {
            return Err(AppError::NotFound("该结果上传记录"));
        }
        let problems = self.store.result_problems(upload_id, 5000).await?;
        Ok(ResultUploadReport { upload, problems })
    }

    pub async fn recent_result_uploads(&self, actor: &Actor) -> AppResult<Vec<ResultUploadRecord>> {
        actor.require(Permission::UploadLabResults)?;
        let uploads: Vec<ResultUploadRecord> = self
            .store
            .result_uploads(50)
            .await?
            .into_iter()
            .filter(|u| {
                actor.role != fangkong_domain::role::Role::Lab || u.username == actor.username
            })
            .collect();
        self.filter_seen(actor, uploads, |u| u.username.as_str())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(system: &str, code: &str, display: &str) -> LocalTestCode {
        LocalTestCode {
            system: system.into(),
            code: code.into(),
            display: display.into(),
        }
    }

    #[test]
    fn local_codes_are_trimmed_bounded_and_never_loinc() {
        assert_eq!(
            SetLocalTestCodes::try_from(&[code(" urn:lis ", " NAT-01 ", " 新冠核酸 ")][..])
                .unwrap(),
            SetLocalTestCodes {
                codes: vec![code("urn:lis", "NAT-01", "新冠核酸")]
            }
        );
        let too_many = vec![code("", "A", ""); LOCAL_TEST_CODES_MAX + 1];
        let table: [(&[LocalTestCode], &str); 5] = [
            (&too_many, "最多"),
            (&[code("", " ", "")], "检测项目编码"),
            (&[code(&"s".repeat(201), "A", "")], "编码体系"),
            (&[code("", "A", &"名".repeat(101))], "名称"),
            (&[code("http://loinc.org/", "94500-6", "")], "LOINC"),
        ];
        for (codes, words) in table {
            match SetLocalTestCodes::try_from(codes) {
                Err(AppError::Invalid(message)) => {
                    assert!(message.contains(words), "{words}: {message}")
                }
                other => panic!("{words}: {other:?}"),
            }
        }
    }
}
