//! Resident import from CSV and XLSX (what grassroots offices actually have).
//!
//! Streaming and two-stage: a blocking thread reads and validates rows (pure domain rules, grid and
//! jurisdiction checks, duplicates inside the file) and hands chunks to the async side, which writes
//! each chunk in one transaction. The good rows land; every bad row becomes a problem with its row
//! number, column and a Chinese message, stored so the problem rows can be downloaded, fixed and
//! imported again. Importing the same file twice changes nothing (unchanged rows are not written).

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

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
use crate::{Actor, App, AppError, AppResult, audit_by, audit_record};

mod reader;

pub(crate) use reader::{FileLine, ReadSummary, for_each_line, read_small_sheet, shown};

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
        } else if lower.ends_with(".xlsx") {
            Ok(FileFormat::Xlsx)
        } else if lower.ends_with(".xls") || lower.ends_with(".ods") || lower.ends_with(".et") {
            Err(AppError::Invalid(format!(
                "文件“{}”是旧版表格格式，无法安全读取：请在Excel或WPS中“另存为” .xlsx 或 CSV 后上传",
                shown(name, 40)
            )))
        } else {
            Err(AppError::Invalid(format!(
                "无法识别文件“{}”的格式：请上传 .csv 或 .xlsx 文件",
                shown(name, 40)
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
    /// What the reader did that the user should know: which sheet was read, title rows skipped.
    pub note: Option<String>,
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

/// A long number that Excel wrote to a CSV in scientific notation ("1.30109E+17",
/// "1.3010919901028E+017"): its last digits are gone.
fn is_excel_scientific(text: &str) -> bool {
    let Some((mantissa, exponent)) = text.split_once(['E', 'e']) else {
        return false;
    };
    let mut parts = mantissa.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next().unwrap_or("0");
    let exponent = exponent.strip_prefix('+').unwrap_or(exponent);
    !whole.is_empty()
        && whole.len() <= 2
        && whole.bytes().all(|b| b.is_ascii_digit())
        && !fraction.is_empty()
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && !exponent.is_empty()
        && exponent.len() <= 4
        && exponent.bytes().all(|b| b.is_ascii_digit())
        && exponent.parse::<u32>().is_ok_and(|e| e >= 8)
}

/// What the reading thread needs to validate rows.
struct RowChecker {
    today: NaiveDate,
    all_grids: HashSet<String>,
    jurisdiction: RegionCode,
    /// Hash of (ID type, number) → first row number, to report duplicates inside the file.
    seen: HashMap<u64, u32>,
}

/// Characters of one stored cell of a problem row (the row is kept to be fixed and imported again;
/// no column of ours is longer).
const STORED_CELL_CHARS: usize = 300;
/// Characters of a stored problem message.
const STORED_MESSAGE_CHARS: usize = 300;

/// A problem of one row. `fields` are the row's cells: pass them with the row's first problem
/// only (the others pass `&[]`), so a row is stored once however many problems it has.
pub(crate) fn problem(
    row_number: i64,
    column: &str,
    message: String,
    fields: &[String],
) -> ImportProblemRecord {
    let cut: Vec<String> = fields
        .iter()
        .map(|f| match f.char_indices().nth(STORED_CELL_CHARS) {
            None => f.clone(),
            Some((at, _)) => f[..at].to_string(),
        })
        .collect();
    ImportProblemRecord {
        row_number,
        column_name: column.to_string(),
        message: shown(&message, STORED_MESSAGE_CHARS),
        raw_fields: if cut.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&cut).unwrap_or_default()
        },
    }
}

impl RowChecker {
    /// Validates one row (canonical field order); a valid row becomes a write, a bad one problems.
    fn check(&mut self, row_number: i64, mut fields: Vec<String>, chunk: &mut ParsedChunk) {
        let mut problems: Vec<FieldProblem> = Vec::new();
        for (column, field) in COLUMNS.iter().zip(fields.iter_mut()) {
            if field.starts_with(EXCEL_NUMBER_MARKER) || is_excel_scientific(field) {
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
        for (index, p) in problems.into_iter().enumerate() {
            let fields: &[String] = if index == 0 { &canonical } else { &[] };
            chunk
                .problems
                .push(problem(row_number, p.column, p.message, fields));
        }
    }
}

/// Reads the file on a blocking thread, checks every row and sends chunks of rows to the writer.
fn read_and_check(
    path: PathBuf,
    format: FileFormat,
    mut checker: RowChecker,
    sender: tokio::sync::mpsc::Sender<AppResult<ParsedChunk>>,
) -> ReadSummary {
    let mut chunk = ParsedChunk::default();
    let mut map: Option<Vec<Option<usize>>> = None;
    let mut header_error = None;
    let mut writer_gone = false;
    let is_header = |cells: &[String]| column_map(cells).is_ok();
    let read = for_each_line(&path, format, is_header, |line| {
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
    let (outcome, summary) = match (read, header_error) {
        (Err(e), _) => (Err(e), ReadSummary::default()),
        (Ok(summary), Some(e)) => (Err(e), summary),
        (Ok(summary), None) if map.is_none() => (
            Err(AppError::Invalid(
                "文件是空的：第一行应为表头，之后每行一位居民".into(),
            )),
            summary,
        ),
        (Ok(summary), None) => (Ok(std::mem::take(&mut chunk)), summary),
    };
    if !writer_gone {
        let _ = sender.blocking_send(outcome);
    }
    summary
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
        let reader = crate::blocking::start(crate::blocking::Heavy::FileReader, move || {
            read_and_check(path, format, checker, sender)
        })
        .await?;
        let written = self
            .write_import_chunks(actor, import_id, receiver, mode)
            .await;
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
            .map_err(|e| AppError::internal_in("import reader", e));
        let (counters, mut first_problems) = written?;
        rebuilt?;
        let summary = read?;
        // The run's end and its audit record commit together; each chunk's rows committed in their
        // own transactions above (a 10,000-row chunk is the unit of the bulk load).
        self.store
            .finish_import(
                import_id,
                counters,
                self.now_unix(),
                &audit_record(
                    self,
                    actor,
                    "import",
                    format!("import:{import_id}"),
                    format!(
                        "{file_name}: {} 行，新增 {}，更新 {}，未变 {}，问题 {}",
                        counters.rows_total,
                        counters.inserted,
                        counters.updated,
                        counters.unchanged,
                        counters.problems
                    ),
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
            note: summary.note(),
        })
    }

    /// Writes the checked chunks as they arrive; each chunk is one transaction, followed by its
    /// problems and the running totals. A failure of the reader ends the import with its error.
    async fn write_import_chunks(
        &self,
        actor: &Actor,
        import_id: i64,
        mut receiver: tokio::sync::mpsc::Receiver<AppResult<ParsedChunk>>,
        mode: WriteMode,
    ) -> AppResult<(ImportCounters, Vec<ProblemLine>)> {
        let mut counters = ImportCounters::default();
        let mut problem_rows: HashSet<i64> = HashSet::new();
        let mut first_problems: Vec<ProblemLine> = Vec::new();
        // A row of a person registered outside the importer's jurisdiction, or in another of its
        // grids, is a problem row: the store checks it in the chunk's transaction.
        let (lower, upper) = actor.jurisdiction_range();
        while let Some(message) = receiver.recv().await {
            let chunk = match message {
                Ok(chunk) => chunk,
                Err(e) => {
                    self.store
                        .record_import_progress(
                            import_id,
                            &[],
                            counters,
                            Some(self.now_unix()),
                            self.now_unix(),
                        )
                        .await?;
                    return Err(e);
                }
            };
            let mut problems = chunk.problems;
            let outcomes = self
                .store
                .apply_resident_batch(&chunk.batch, self.now_unix(), mode, (&lower, &upper))
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
                        crate::population::household_elsewhere(
                            actor,
                            &write.household_number,
                            &household_grid,
                            &write.grid_code,
                        ),
                        &import_fields(write),
                    )),
                    RowOutcome::RegisteredElsewhere => problems.push(problem(
                        *row_number,
                        "证件号码",
                        crate::population::REGISTERED_ELSEWHERE.to_string(),
                        &import_fields(write),
                    )),
                    RowOutcome::InOtherGrid { grid_code } => problems.push(problem(
                        *row_number,
                        "网格编码",
                        crate::population::in_other_grid(&grid_code),
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
            // The counters follow every committed chunk (written right after its transaction, so
            // at most one chunk behind): a run cut short by a crash still says what it committed,
            // and its heartbeat stops, so a later pass marks it interrupted.
            self.store
                .record_import_progress(import_id, &problems, counters, None, self.now_unix())
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
        let mut bytes = Vec::new();
        self.write_import_problem_file(actor, import_id, &mut bytes)
            .await?;
        Ok(bytes)
    }

    /// Writes the problem file to `out` a page of problems at a time (memory stays flat however
    /// many rows had problems); returns the number of rows written.
    pub async fn write_import_problem_file(
        &self,
        actor: &Actor,
        import_id: i64,
        out: impl std::io::Write,
    ) -> AppResult<u64> {
        const PAGE: i64 = 5_000;
        let run = self.import_run(actor, import_id).await?;
        audit_by(
            self,
            actor,
            "export",
            &format!("import:{import_id}"),
            "问题行",
        )
        .await?;
        let io = |e: std::io::Error| AppError::internal_in("problem file", e);
        let csv_error = |e: csv::Error| AppError::internal(e);
        let mut out = std::io::BufWriter::new(out);
        // A UTF-8 byte-order mark so that Excel opens the Chinese text correctly.
        out.write_all("\u{feff}".as_bytes()).map_err(io)?;
        let mut writer = csv::Writer::from_writer(out);
        let mut header: Vec<&str> = COLUMNS.to_vec();
        header.push(PROBLEM_COLUMN);
        writer.write_record(&header).map_err(csv_error)?;
        let mut rows = 0_u64;
        let mut after_row = 0_i64;
        loop {
            let page = self
                .store
                .import_problems_after(run.id, after_row, PAGE)
                .await?;
            let full = page.len() as i64 == PAGE;
            let Some(last) = page.last().map(|p| p.row_number) else {
                break;
            };
            // A full page may end in the middle of a row's problems: that row comes again next page.
            let complete_up_to = if full && page.iter().any(|p| p.row_number != last) {
                last - 1
            } else {
                last
            };
            for row in page
                .chunk_by(|a, b| a.row_number == b.row_number)
                .filter(|row| row[0].row_number <= complete_up_to)
            {
                let row_number = row[0].row_number;
                let fields: Vec<String> = row
                    .iter()
                    .find(|p| !p.raw_fields.is_empty())
                    .and_then(|p| serde_json::from_str(&p.raw_fields).ok())
                    .unwrap_or_default();
                let messages: Vec<String> = row
                    .iter()
                    .map(|p| format!("第{}行 {}：{}", row_number, p.column_name, p.message))
                    .collect();
                let mut record: Vec<String> = (0..COLUMNS.len())
                    .map(|i| fields.get(i).cloned().unwrap_or_default())
                    .collect();
                record.push(messages.join("；"));
                writer
                    .write_record(crate::export::csv_record(&record))
                    .map_err(csv_error)?;
                rows += 1;
            }
            after_row = complete_up_to;
            if !full {
                break;
            }
        }
        writer.flush().map_err(io)?;
        Ok(rows)
    }
}
