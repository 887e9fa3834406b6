//! Resident import from CSV and XLSX (what grassroots offices actually have).
//!
//! Streaming and two-stage: a blocking thread reads and validates rows (pure domain rules, grid and
//! jurisdiction checks, duplicates inside the file) and hands chunks to the async side, which writes
//! each chunk in one transaction. The good rows land; every bad row becomes a problem with its row
//! number, column and a Chinese message, stored so the problem rows can be downloaded, fixed and
//! imported again. Importing the same file twice changes nothing (unchanged rows are not written).

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};

use calamine::{Data, Reader};
use chrono::NaiveDate;
use fangkong_domain::region::RegionCode;
use fangkong_domain::resident_row::{
    COLUMNS, FieldProblem, RawResidentRow, WHOLE_ROW, validate_resident_row,
};
use fangkong_domain::role::Permission;
use fangkong_store::{
    ImportCounters, ImportProblemRecord, ImportRecord, ResidentBatch, RowOutcome, WriteMode,
};
use serde::Serialize;

use crate::population::{import_fields, write_of};
use crate::{Actor, App, AppError, AppResult, audit_by};

/// Rows written per transaction.
const ROWS_PER_CHUNK: usize = 10_000;

/// Header of the downloadable problem file: the import columns plus the reason.
pub const PROBLEM_COLUMN: &str = "问题说明";

/// A marker for an ID number that Excel stored as a number (its last digits are already lost).
const EXCEL_NUMBER_MARKER: &str = "\u{0}excel-number";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FileFormat {
    Csv,
    Xlsx,
}

impl FileFormat {
    /// The format from the file name's extension (CSV, or a spreadsheet calamine reads).
    pub fn from_file_name(name: &str) -> AppResult<FileFormat> {
        let lower = name.to_lowercase();
        if lower.ends_with(".csv") || lower.ends_with(".txt") {
            Ok(FileFormat::Csv)
        } else if lower.ends_with(".xlsx") || lower.ends_with(".xls") || lower.ends_with(".ods") {
            Ok(FileFormat::Xlsx)
        } else {
            Err(AppError::Invalid(format!(
                "无法识别文件“{name}”的格式：请上传 .csv 或 .xlsx 文件"
            )))
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Xlsx => "xlsx",
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub import_id: i64,
    pub rows_total: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    /// Rows that did not land.
    pub problem_rows: i64,
    /// The first problems (the full list is downloadable).
    pub problems: Vec<ProblemLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProblemLine {
    pub row_number: i64,
    pub column: String,
    pub message: String,
}

/// Header names grassroots spreadsheets use for our columns.
fn canonical_column(header: &str) -> Option<usize> {
    let header = header
        .trim()
        .trim_start_matches('\u{feff}')
        .replace([' ', '\u{3000}'], "");
    let alias = match header.as_str() {
        "身份证号" | "身份证号码" | "证件号" | "公民身份号码" => "证件号码",
        "手机号" | "手机号码" | "电话" | "联系方式" => "联系电话",
        "住址" | "地址" | "居住地址" | "家庭住址" => "现住址",
        "户号" | "户编码" => "户编号",
        "关系" => "与户主关系",
        "网格" | "网格代码" | "所属网格" => "网格编码",
        "重点人群类别" | "人群分类" => "重点人群",
        other => other,
    };
    COLUMNS.iter().position(|c| *c == alias)
}

const REQUIRED_COLUMNS: [&str; 4] = ["姓名", "证件号码", "户编号", "网格编码"];

/// Maps file columns to canonical positions; fails naming the missing required columns.
fn column_map(headers: &[String]) -> AppResult<Vec<Option<usize>>> {
    let map: Vec<Option<usize>> = headers.iter().map(|h| canonical_column(h)).collect();
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .iter()
        .filter(|required| {
            let position = COLUMNS.iter().position(|c| c == *required);
            !map.contains(&position)
        })
        .copied()
        .collect();
    if missing.is_empty() {
        Ok(map)
    } else {
        Err(AppError::Invalid(format!(
            "文件缺少必需的列：{}。第一行应为表头：{}",
            missing.join("、"),
            COLUMNS.join(",")
        )))
    }
}

/// One chunk handed from the reading thread to the writer.
#[derive(Default)]
struct ParsedChunk {
    rows_seen: i64,
    /// The file row number of each write in `batch`, in the same order.
    row_numbers: Vec<i64>,
    batch: ResidentBatch,
    problems: Vec<ImportProblemRecord>,
}

/// What the reading thread needs to validate rows.
struct RowChecker {
    today: NaiveDate,
    all_grids: HashSet<String>,
    jurisdiction: RegionCode,
    /// Hash of (ID type, number) → first row number, to report duplicates inside the file.
    seen: HashMap<u64, u32>,
}

fn problem(
    row_number: i64,
    column: &str,
    message: String,
    fields: &[String],
) -> ImportProblemRecord {
    ImportProblemRecord {
        row_number,
        column_name: column.to_string(),
        message,
        raw_fields: serde_json::to_string(fields).unwrap_or_else(|_| "[]".into()),
    }
}

impl RowChecker {
    /// Validates one row (canonical field order); a valid row becomes a write, a bad one problems.
    fn check(&mut self, row_number: i64, mut fields: Vec<String>, chunk: &mut ParsedChunk) {
        let mut problems: Vec<FieldProblem> = Vec::new();
        for (column, field) in COLUMNS.iter().zip(fields.iter_mut()) {
            if field.starts_with(EXCEL_NUMBER_MARKER) {
                problems.push(FieldProblem {
                    column,
                    message: format!(
                        "{column}被Excel存成了数字，最后几位已经丢失：请把这一列设置为“文本”格式后重新填写"
                    ),
                });
                field.clear();
            }
        }
        let raw = RawResidentRow::from_owned_fields(fields);
        let valid = match validate_resident_row(&raw, self.today) {
            Ok(valid) if problems.is_empty() => Some(valid),
            Ok(_) => None,
            Err(found) => {
                // A number lost to Excel already has its own message: skip e.g. "missing ID number".
                let lost: Vec<&str> = problems.iter().map(|p| p.column).collect();
                problems.extend(found.into_iter().filter(|p| !lost.contains(&p.column)));
                None
            }
        };
        if let Some(valid) = valid {
            let grid = valid.grid_code.as_str();
            if !self.all_grids.contains(grid) {
                problems.push(FieldProblem {
                    column: "网格编码",
                    message: format!("网格编码 {grid} 不存在：请核对，或先由管理员建立该网格"),
                });
            } else if !self.jurisdiction.contains(&valid.grid_code) {
                problems.push(FieldProblem {
                    column: "网格编码",
                    message: format!("网格 {grid} 不在您的管辖范围内，不能导入"),
                });
            } else {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                valid.document.id_type().code().hash(&mut hasher);
                valid.document.number().hash(&mut hasher);
                let key = hasher.finish();
                match self.seen.get(&key) {
                    Some(first) => problems.push(FieldProblem {
                        column: "证件号码",
                        message: format!("证件号码与本文件第 {first} 行重复：同一个人只能登记一次"),
                    }),
                    None => {
                        self.seen.insert(key, row_number as u32);
                        chunk.row_numbers.push(row_number);
                        chunk.batch.rows.push(write_of(&valid));
                        return;
                    }
                }
            }
        }
        // The cells as read (an ID number lost to Excel is left empty for the user to type again).
        let canonical = raw.to_fields().to_vec();
        for p in problems {
            chunk
                .problems
                .push(problem(row_number, p.column, p.message, &canonical));
        }
    }
}

/// Reads a whole CSV file into UTF-8: grassroots offices' Excel saves CSV in GBK/GB18030.
fn csv_reader(path: &Path) -> AppResult<csv::Reader<Box<dyn Read + Send>>> {
    let mut file =
        std::fs::File::open(path).map_err(|e| AppError::Internal(format!("open upload: {e}")))?;
    let mut head = vec![0_u8; 64 * 1024];
    let mut filled = 0;
    while filled < head.len() {
        let n = file
            .read(&mut head[filled..])
            .map_err(|e| AppError::Internal(e.to_string()))?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    head.truncate(filled);
    let utf8 = match std::str::from_utf8(&head) {
        Ok(_) => true,
        // A multi-byte character cut at the end of the sample is still UTF-8.
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    };
    let reader: Box<dyn Read + Send> = if utf8 {
        Box::new(std::io::Cursor::new(head).chain(file))
    } else {
        let mut rest = Vec::new();
        file.read_to_end(&mut rest)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        head.extend_from_slice(&rest);
        let (text, _, _) = encoding_rs::GB18030.decode(&head);
        Box::new(std::io::Cursor::new(text.into_owned().into_bytes()))
    };
    Ok(csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(reader))
}

/// A spreadsheet cell as text. Excel keeps 15 significant digits: a longer number typed into a
/// number cell (an ID number, a long household number) has already lost its last digits.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            if f.abs() >= 1e15 {
                EXCEL_NUMBER_MARKER.to_string()
            } else if f.fract() == 0.0 {
                format!("{}", *f as i64)
            } else {
                f.to_string()
            }
        }
        Data::Bool(b) => b.to_string(),
        // A date keeps its day number; a date-time keeps its fraction too (lab result times).
        Data::DateTime(d) => {
            let serial = d.as_f64();
            if serial.fract() == 0.0 {
                format!("{}", serial as i64)
            } else {
                format!("{serial}")
            }
        }
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// One line of an uploaded file: its row number as the user sees it and its cells, or why it could
/// not be read.
pub(crate) enum FileLine {
    Cells(i64, Vec<String>),
    Unreadable(i64, String),
}

/// Calls `each` with every line of the file, header included, until it returns false.
pub(crate) fn for_each_line(
    path: &Path,
    format: FileFormat,
    mut each: impl FnMut(FileLine) -> bool,
) -> AppResult<()> {
    match format {
        FileFormat::Csv => {
            let mut reader = csv_reader(path)?;
            for (index, record) in reader.records().enumerate() {
                let row_number = index as i64 + 1;
                let line = match record {
                    Ok(record) => FileLine::Cells(
                        row_number,
                        record.iter().map(|s| s.trim().to_string()).collect(),
                    ),
                    Err(e) => FileLine::Unreadable(
                        row_number,
                        format!("这一行无法读取（可能含有不成对的引号或不是文本内容）：{e}"),
                    ),
                };
                if !each(line) {
                    break;
                }
            }
        }
        FileFormat::Xlsx => {
            let mut workbook = calamine::open_workbook_auto(path).map_err(|e| {
                AppError::Invalid(format!(
                    "无法打开表格文件（文件可能已损坏或不是Excel格式）：{e}"
                ))
            })?;
            let range = match workbook.worksheet_range_at(0) {
                Some(Ok(range)) => range,
                Some(Err(e)) => {
                    return Err(AppError::Invalid(format!("无法读取第一个工作表：{e}")));
                }
                None => return Err(AppError::Invalid("表格文件里没有工作表".into())),
            };
            let first_row = i64::from(range.start().map(|(row, _)| row).unwrap_or(0));
            for (index, row) in range.rows().enumerate() {
                let cells = row
                    .iter()
                    .map(|c| cell_text(c).trim().to_string())
                    .collect();
                if !each(FileLine::Cells(first_row + index as i64 + 1, cells)) {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Reads the file on a blocking thread, checks every row and sends chunks of rows to the writer.
fn read_and_check(
    path: PathBuf,
    format: FileFormat,
    mut checker: RowChecker,
    sender: tokio::sync::mpsc::Sender<AppResult<ParsedChunk>>,
) {
    let mut chunk = ParsedChunk::default();
    let mut map: Option<Vec<Option<usize>>> = None;
    let mut header_error = None;
    let mut writer_gone = false;
    let read = for_each_line(&path, format, |line| {
        match line {
            FileLine::Unreadable(row_number, why) => {
                chunk.rows_seen += 1;
                chunk
                    .problems
                    .push(problem(row_number, WHOLE_ROW, why, &[]));
            }
            FileLine::Cells(row_number, cells) => {
                let Some(current) = &map else {
                    match column_map(&cells) {
                        Ok(found) => map = Some(found),
                        Err(e) => header_error = Some(e),
                    }
                    return header_error.is_none();
                };
                if cells.iter().all(|c| c.is_empty()) {
                    return true;
                }
                chunk.rows_seen += 1;
                let mut fields = vec![String::new(); COLUMNS.len()];
                for (i, cell) in cells.into_iter().enumerate() {
                    if let Some(Some(position)) = current.get(i) {
                        fields[*position] = cell;
                    }
                }
                checker.check(row_number, fields, &mut chunk);
            }
        }
        if chunk.rows_seen as usize >= ROWS_PER_CHUNK {
            writer_gone = sender
                .blocking_send(Ok(std::mem::take(&mut chunk)))
                .is_err();
        }
        !writer_gone
    });
    let outcome = match (read, header_error) {
        (Err(e), _) | (Ok(()), Some(e)) => Err(e),
        (Ok(()), None) if map.is_none() => Err(AppError::Invalid(
            "文件是空的：第一行应为表头，之后每行一位居民".into(),
        )),
        (Ok(()), None) => Ok(std::mem::take(&mut chunk)),
    };
    if !writer_gone {
        let _ = sender.blocking_send(outcome);
    }
}

impl App {
    /// Imports residents from a CSV or spreadsheet file on disk.
    pub async fn import_residents(
        &self,
        actor: &Actor,
        path: &Path,
        file_name: &str,
    ) -> AppResult<ImportReport> {
        actor.require(Permission::ImportPopulation)?;
        let format = FileFormat::from_file_name(file_name)?;
        // Every grid of the province (a few tens of thousands): "unknown grid" and "outside your
        // jurisdiction" are different mistakes and get different messages.
        let all_grids: HashSet<String> = self
            .store
            .grid_codes_in("", "~")
            .await?
            .into_iter()
            .collect();
        let checker = RowChecker {
            today: self.today(),
            all_grids,
            jurisdiction: actor.jurisdiction.clone(),
            seen: HashMap::new(),
        };
        let import_id = self
            .store
            .create_import(&actor.username, file_name, format.code(), self.now_unix())
            .await?;
        // A first load into an empty register goes the bulk way: the lookup indexes are dropped and
        // built once at the end (rows are distinct: the checker refuses a second row of one person).
        let mode = if self.store.residents_empty().await? {
            self.store.drop_resident_indexes().await?;
            WriteMode::AllNew
        } else {
            WriteMode::Upsert
        };
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let path = path.to_path_buf();
        let reader =
            tokio::task::spawn_blocking(move || read_and_check(path, format, checker, sender));
        let written = self.write_import_chunks(import_id, receiver, mode).await;
        let rebuilt = match mode {
            WriteMode::AllNew => {
                let started = std::time::Instant::now();
                let rebuilt = match self.store.ensure_resident_indexes().await {
                    Ok(()) => self.store.analyze_population().await,
                    Err(e) => Err(e),
                };
                tracing::info!(
                    import_id,
                    seconds = started.elapsed().as_secs_f64(),
                    "bulk load: lookup indexes rebuilt"
                );
                rebuilt
            }
            WriteMode::Upsert => Ok(()),
        };
        let read = reader
            .await
            .map_err(|e| AppError::Internal(format!("import reader: {e}")));
        let (counters, mut first_problems) = written?;
        rebuilt?;
        read?;
        self.store
            .record_import_progress(import_id, &[], counters, Some(self.now_unix()))
            .await?;
        audit_by(
            self,
            actor,
            "import",
            &format!("import:{import_id}"),
            &format!(
                "{file_name}: {} 行，新增 {}，更新 {}，未变 {}，问题 {}",
                counters.rows_total,
                counters.inserted,
                counters.updated,
                counters.unchanged,
                counters.problems
            ),
        )
        .await?;
        first_problems.sort_by_key(|p| p.row_number);
        Ok(ImportReport {
            import_id,
            rows_total: counters.rows_total,
            inserted: counters.inserted,
            updated: counters.updated,
            unchanged: counters.unchanged,
            problem_rows: counters.problems,
            problems: first_problems,
        })
    }

    /// Writes the checked chunks as they arrive; each chunk is one transaction, followed by its
    /// problems and the running totals. A failure of the reader ends the import with its error.
    async fn write_import_chunks(
        &self,
        import_id: i64,
        mut receiver: tokio::sync::mpsc::Receiver<AppResult<ParsedChunk>>,
        mode: WriteMode,
    ) -> AppResult<(ImportCounters, Vec<ProblemLine>)> {
        let mut counters = ImportCounters::default();
        let mut problem_rows: HashSet<i64> = HashSet::new();
        let mut first_problems: Vec<ProblemLine> = Vec::new();
        while let Some(message) = receiver.recv().await {
            let chunk = match message {
                Ok(chunk) => chunk,
                Err(e) => {
                    self.store
                        .record_import_progress(import_id, &[], counters, Some(self.now_unix()))
                        .await?;
                    return Err(e);
                }
            };
            let mut problems = chunk.problems;
            let outcomes = self
                .store
                .apply_resident_batch(&chunk.batch, self.now_unix(), mode)
                .await?;
            let written = chunk.row_numbers.iter().zip(&chunk.batch.rows);
            for ((row_number, write), outcome) in written.zip(outcomes) {
                match outcome {
                    RowOutcome::Inserted => counters.inserted += 1,
                    RowOutcome::Updated => counters.updated += 1,
                    RowOutcome::Unchanged => counters.unchanged += 1,
                    RowOutcome::HouseholdInOtherGrid { household_grid } => problems.push(problem(
                        *row_number,
                        "户编号",
                        format!(
                            "户编号 {} 已登记在网格 {household_grid}，与本行网格 {} 不一致：同一户只能属于一个网格",
                            write.household_number, write.grid_code
                        ),
                        &import_fields(write),
                    )),
                }
            }
            problems.sort_by_key(|p| p.row_number);
            for p in &problems {
                problem_rows.insert(p.row_number);
                if first_problems.len() < 200 {
                    first_problems.push(ProblemLine {
                        row_number: p.row_number,
                        column: p.column_name.clone(),
                        message: p.message.clone(),
                    });
                }
            }
            counters.rows_total += chunk.rows_seen;
            counters.problems = problem_rows.len() as i64;
            self.store
                .record_import_progress(import_id, &problems, counters, None)
                .await?;
        }
        Ok((counters, first_problems))
    }

    /// An import run, visible to whoever ran it and to administrators whose jurisdiction
    /// contains the importer's; to anyone else it does not exist (its problem rows hold full ID
    /// numbers).
    pub async fn import_run(&self, actor: &Actor, import_id: i64) -> AppResult<ImportRecord> {
        let run = self
            .store
            .import_run(import_id)
            .await?
            .ok_or(AppError::NotFound("该导入记录"))?;
        let visible = run.username == actor.username
            || (actor.role.allows(Permission::ViewAuditLog)
                && self.sees_work_of(actor, &run.username).await?);
        if !visible {
            return Err(AppError::NotFound("该导入记录"));
        }
        Ok(run)
    }

    pub async fn recent_imports(&self, actor: &Actor) -> AppResult<Vec<ImportRecord>> {
        actor.require(Permission::ImportPopulation)?;
        Ok(self.store.recent_imports(&actor.username, 20).await?)
    }

    /// The problem rows of an import as a CSV to fix and import again: the import columns plus
    /// "问题说明". It holds full personal data, so it is audited like an export.
    pub async fn import_problem_file(&self, actor: &Actor, import_id: i64) -> AppResult<Vec<u8>> {
        let run = self.import_run(actor, import_id).await?;
        let problems = self.store.import_problems(run.id, 1_000_000).await?;
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<&str> = COLUMNS.to_vec();
        header.push(PROBLEM_COLUMN);
        let csv_error = |e: csv::Error| AppError::Internal(e.to_string());
        writer.write_record(&header).map_err(csv_error)?;
        let mut index = 0;
        let mut rows = 0;
        while index < problems.len() {
            let row_number = problems[index].row_number;
            let mut messages = Vec::new();
            let fields: Vec<String> =
                serde_json::from_str(&problems[index].raw_fields).unwrap_or_default();
            while index < problems.len() && problems[index].row_number == row_number {
                messages.push(format!(
                    "第{}行 {}：{}",
                    row_number, problems[index].column_name, problems[index].message
                ));
                index += 1;
            }
            let mut record: Vec<String> = (0..COLUMNS.len())
                .map(|i| fields.get(i).cloned().unwrap_or_default())
                .collect();
            record.push(messages.join("；"));
            writer.write_record(&record).map_err(csv_error)?;
            rows += 1;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        audit_by(
            self,
            actor,
            "export",
            &format!("import:{import_id}"),
            &format!("问题行 {rows} 行"),
        )
        .await?;
        // A UTF-8 byte-order mark so that Excel opens the Chinese text correctly.
        let mut with_bom = "\u{feff}".as_bytes().to_vec();
        with_bom.extend(bytes);
        Ok(with_bom)
    }
}
