//! The one reader of uploaded CSV and XLSX files, within bounds.
//!
//! Every import (residents, lab results, big-data pushes, contact lists) reads its file here. The
//! reader never trusts what a file declares about itself: an XLSX is a zip whose parts are
//! inflated once, counted and capped before calamine opens it, and its sheet is read as a stream of
//! cells (never as a dense range sized by the sheet's declared dimension); a CSV is cut into records
//! by `csv_core` with a bounded record buffer. A line, cell or record over its cap becomes a
//! problem for that row, not gigabytes of memory.
//!
//! Longer than 800 lines: the one bounded reader of uploaded CSV and XLSX with its limits and its
//! fuzz tests; the limits must be read together.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use calamine::{DataRef, Reader, Xlsx};

use super::FileFormat;
use crate::{AppError, AppResult};

/// What the reader accepts. A file over one of these is refused with a message naming the limit.
pub(crate) struct Limits;

impl Limits {
    /// Inflated size of one part of an XLSX (a sheet, the shared strings, the styles).
    pub const PART_BYTES: u64 = 64 * 1024 * 1024;
    /// Inflated size of the shared-strings part (every distinct text of the workbook).
    pub const SHARED_STRINGS_BYTES: u64 = 48 * 1024 * 1024;
    /// Number of distinct texts in the shared strings.
    pub const SHARED_STRINGS: u64 = 2_000_000;
    /// Inflated size of all the parts together.
    pub const TOTAL_BYTES: u64 = 256 * 1024 * 1024;
    /// Files inside the zip.
    pub const ZIP_ENTRIES: usize = 2_000;
    /// Rows read from a spreadsheet (a bigger load comes as CSV).
    pub const SHEET_ROWS: u64 = 2_000_000;
    /// Columns read; cells further right are ignored.
    pub const COLUMNS: usize = 64;
    /// Characters of one cell; a longer cell makes its row a problem.
    pub const CELL_CHARS: usize = 1_000;
    /// Bytes of one CSV record (all its fields); a longer record is a problem row.
    pub const RECORD_BYTES: usize = 256 * 1024;
    /// Sheets looked at for the header.
    pub const SHEETS_SEARCHED: usize = 20;
    /// Rows looked at for the header (title rows and merged headers above it).
    pub const HEADER_SEARCH_ROWS: usize = 10;
    /// Lines (blank ones included) looked at while searching for the header.
    pub const HEADER_SEARCH_LINES: usize = 10_000;
}

const MB: u64 = 1024 * 1024;

/// One line of an uploaded file: its row number as the user sees it and its cells, or why it could
/// not be read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FileLine {
    Cells(i64, Vec<String>),
    Unreadable(i64, String),
}

/// What was read: which sheet (a spreadsheet with more than one) and where the header was.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ReadSummary {
    /// The sheet read, when the workbook has more than one sheet.
    pub sheet: Option<String>,
    /// The row number of the header, when one was recognised.
    pub header_row: Option<i64>,
}

impl ReadSummary {
    /// A sentence for the import result, or None when there is nothing to say.
    pub fn note(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(sheet) = &self.sheet {
            parts.push(format!("读取的是工作表“{sheet}”"));
        }
        if let Some(row) = self.header_row.filter(|row| *row > 1) {
            parts.push(format!("表头在第{row}行，上面的标题行已跳过"));
        }
        (!parts.is_empty()).then(|| parts.join("；"))
    }
}

/// Cuts a value to `max` characters (with "…" when cut): for echoing a user's value in a message.
pub fn shown(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        None => value.to_string(),
        Some((at, _)) => format!("{}…", &value[..at]),
    }
}

/// Every line of a small uploaded sheet (a pharmacy's sales, a vaccination point's doses), read on
/// the file-reader pool and held in memory: at most `max_rows` after the header, more is refused
/// with `too_many` (the caller's words) before any line is used.
pub(crate) async fn read_small_sheet(
    path: &Path,
    file_name: &str,
    is_header: fn(&[String]) -> bool,
    max_rows: usize,
    too_many: String,
) -> AppResult<Vec<FileLine>> {
    let format = FileFormat::from_file_name(file_name)?;
    let path = path.to_path_buf();
    let lines = crate::blocking::run(crate::blocking::Heavy::FileReader, move || {
        let mut lines = Vec::new();
        for_each_line(&path, format, is_header, |line| {
            lines.push(line);
            lines.len() <= max_rows + 1
        })
        .map(|_| lines)
    })
    .await??;
    if lines.len() > max_rows + 1 {
        return Err(AppError::TooLarge(too_many));
    }
    Ok(lines)
}

/// Calls `each` with the header line and every line after it, until `each` returns false.
///
/// The header is the first of the first [`Limits::HEADER_SEARCH_ROWS`] non-empty rows that
/// `is_header` accepts (rows above it, such as a title, are skipped); in a workbook, the first sheet
/// that has such a row is read. When no row is accepted, the lines are given as they are, so that
/// the caller's own header check names what is missing.
pub(crate) fn for_each_line(
    path: &Path,
    format: FileFormat,
    is_header: impl Fn(&[String]) -> bool,
    mut each: impl FnMut(FileLine) -> bool,
) -> AppResult<ReadSummary> {
    match format {
        FileFormat::Csv => {
            let mut lines = CsvLines::open(path)?;
            let header_row = deliver(&mut lines, &is_header, &mut each)?;
            Ok(ReadSummary {
                sheet: None,
                header_row,
            })
        }
        FileFormat::Xlsx => {
            inspect_xlsx(path)?;
            let file =
                std::fs::File::open(path).map_err(|e| AppError::internal_in("open upload", e))?;
            let mut workbook: Xlsx<_> = Xlsx::new(BufReader::new(file)).map_err(|e| {
                AppError::Invalid(format!(
                    "无法打开表格文件（文件可能已损坏或不是Excel的 .xlsx 格式）：{}",
                    shown(&e.to_string(), 200)
                ))
            })?;
            let names = workbook.sheet_names();
            if names.is_empty() {
                return Err(AppError::Invalid("表格文件里没有工作表".into()));
            }
            let mut chosen = 0;
            for (index, name) in names.iter().enumerate().take(Limits::SHEETS_SEARCHED) {
                let mut lines = SheetLines::open(&mut workbook, name)?;
                let mut seen = 0;
                let mut found = false;
                while seen < Limits::HEADER_SEARCH_ROWS {
                    match lines.next_line()? {
                        None => break,
                        Some(FileLine::Cells(_, cells)) if cells.iter().all(|c| c.is_empty()) => {}
                        Some(FileLine::Cells(_, cells)) if is_header(&cells) => {
                            found = true;
                            break;
                        }
                        Some(_) => seen += 1,
                    }
                }
                if found {
                    chosen = index;
                    break;
                }
            }
            let name = names[chosen].clone();
            let mut lines = SheetLines::open(&mut workbook, &name)?;
            let header_row = deliver(&mut lines, &is_header, &mut each)?;
            Ok(ReadSummary {
                sheet: (names.len() > 1).then_some(name),
                header_row,
            })
        }
    }
}

/// A source of lines.
trait Lines {
    fn next_line(&mut self) -> AppResult<Option<FileLine>>;
}

/// Finds the header among the first rows, skips what is above it, then streams the rest.
fn deliver(
    lines: &mut impl Lines,
    is_header: &impl Fn(&[String]) -> bool,
    each: &mut impl FnMut(FileLine) -> bool,
) -> AppResult<Option<i64>> {
    let mut buffered: Vec<FileLine> = Vec::new();
    let mut non_empty = 0;
    let mut scanned = 0;
    let mut header_at = None;
    // Blank lines are neither buffered nor counted as rows (every caller skips them), but they are
    // counted as scanned: a file of nothing but blank lines must not be held in memory.
    while non_empty < Limits::HEADER_SEARCH_ROWS && scanned < Limits::HEADER_SEARCH_LINES {
        let Some(line) = lines.next_line()? else {
            break;
        };
        scanned += 1;
        match &line {
            FileLine::Cells(_, cells) if cells.iter().all(|c| c.is_empty()) => continue,
            FileLine::Cells(row, cells) if is_header(cells) => {
                header_at = Some((buffered.len(), *row));
                buffered.push(line);
                break;
            }
            _ => non_empty += 1,
        }
        buffered.push(line);
    }
    let skip = header_at.map(|(at, _)| at).unwrap_or(0);
    for line in buffered.into_iter().skip(skip) {
        if !each(line) {
            return Ok(header_at.map(|(_, row)| row));
        }
    }
    while let Some(line) = lines.next_line()? {
        if !each(line) {
            break;
        }
    }
    Ok(header_at.map(|(_, row)| row))
}

/// A cell's text cut to [`Limits::CELL_CHARS`]; `Err` when it was longer.
fn bounded_text(text: &str) -> Result<String, ()> {
    let trimmed = text.trim();
    match trimmed.char_indices().nth(Limits::CELL_CHARS) {
        None => Ok(trimmed.to_string()),
        Some(_) => Err(()),
    }
}

fn too_long_cell(row: i64, column: usize) -> FileLine {
    FileLine::Unreadable(
        row,
        format!(
            "第{row}行第{}列的内容超过{}个字，这一行没有导入：请检查这一格",
            column + 1,
            Limits::CELL_CHARS
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// XLSX

fn too_big(what: &str, limit: u64) -> AppError {
    AppError::Invalid(format!(
        "表格文件{what}解压后超过{}MB（上限{}MB）：请把数据分成几个文件，或另存为 CSV 后上传",
        limit / MB,
        limit / MB
    ))
}

/// Inflates every part of the zip once, counting, before anything is allocated from what the file
/// declares: refuses parts, shared strings and totals over the limits.
fn inspect_xlsx(path: &Path) -> AppResult<()> {
    let file = std::fs::File::open(path).map_err(|e| AppError::internal_in("open upload", e))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|_| {
        AppError::Invalid(
            "无法打开表格文件：它不是 .xlsx 格式（.xls 请在Excel中另存为 .xlsx 或 .csv）".into(),
        )
    })?;
    if archive.len() > Limits::ZIP_ENTRIES {
        return Err(AppError::Invalid(format!(
            "表格文件内部的部件超过{}个，无法读取：请另存为 CSV 后上传",
            Limits::ZIP_ENTRIES
        )));
    }
    let mut total = 0_u64;
    let mut buffer = vec![0_u8; 64 * 1024];
    for index in 0..archive.len() {
        let mut part = archive.by_index(index).map_err(|e| {
            AppError::Invalid(format!(
                "表格文件已损坏，无法读取：{}",
                shown(&e.to_string(), 100)
            ))
        })?;
        let name = part.name().map(|n| n.to_string()).unwrap_or_default();
        let shared = name.to_lowercase().ends_with("sharedstrings.xml");
        let limit = if shared {
            Limits::SHARED_STRINGS_BYTES
        } else {
            Limits::PART_BYTES
        };
        let mut size = 0_u64;
        let mut strings = SharedStringCounter::default();
        loop {
            let n = match part.read(&mut buffer) {
                Ok(n) => n,
                Err(e) => {
                    return Err(AppError::Invalid(format!(
                        "表格文件已损坏，无法解压：{}",
                        shown(&e.to_string(), 100)
                    )));
                }
            };
            if n == 0 {
                break;
            }
            size += n as u64;
            total += n as u64;
            if size > limit {
                let what = if shared {
                    "中的文字（共享字符串）".to_string()
                } else {
                    format!("中的“{}”", shown(&name, 40))
                };
                return Err(too_big(&what, limit));
            }
            if total > Limits::TOTAL_BYTES {
                return Err(too_big("", Limits::TOTAL_BYTES));
            }
            if shared {
                strings.feed(&buffer[..n]);
                if strings.count > Limits::SHARED_STRINGS
                    || strings.declared.unwrap_or(0) > Limits::SHARED_STRINGS
                {
                    return Err(AppError::Invalid(format!(
                        "表格文件中不同的文字超过{}条（上限{}条）：请把数据分成几个文件，或另存为 CSV 后上传",
                        Limits::SHARED_STRINGS,
                        Limits::SHARED_STRINGS
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Counts `<si` elements in the shared strings and reads the declared `uniqueCount` (which calamine
/// reserves room for).
#[derive(Default)]
struct SharedStringCounter {
    count: u64,
    declared: Option<u64>,
    /// The last bytes of the previous buffer (a tag can straddle two buffers).
    tail: Vec<u8>,
    /// The first bytes of the part, until the `uniqueCount` attribute is found.
    head: Vec<u8>,
}

impl SharedStringCounter {
    fn feed(&mut self, bytes: &[u8]) {
        if self.declared.is_none() && self.head.len() < 8 * 1024 {
            self.head
                .extend_from_slice(&bytes[..bytes.len().min(8 * 1024)]);
            if let Some(at) = find(&self.head, b"uniqueCount=\"") {
                let value = &self.head[at + 13..];
                let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
                // Only once the number is complete (it may continue in the next buffer).
                if digits < value.len() {
                    self.declared = Some(
                        std::str::from_utf8(&value[..digits])
                            .ok()
                            .and_then(|d| d.parse().ok())
                            .unwrap_or(u64::MAX),
                    );
                }
            }
        }
        // The tail holds the last three bytes of the previous buffer, where no match was counted.
        let mut window = std::mem::take(&mut self.tail);
        window.extend_from_slice(bytes);
        for i in 0..window.len().saturating_sub(3) {
            if (window[i] == b'<' || window[i] == b':')
                && window[i + 1] == b's'
                && window[i + 2] == b'i'
                && matches!(window[i + 3], b'>' | b' ' | b'/' | b'\t' | b'\r' | b'\n')
            {
                self.count += 1;
            }
        }
        let keep = window.len().min(3);
        self.tail = window[window.len() - keep..].to_vec();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The rows of one sheet, assembled from its stream of cells: only rows that have cells exist, so a
/// sheet declaring A1:XFD1048576 costs what its cells cost.
struct SheetLines<'a> {
    cells: calamine::XlsxCellReader<'a, BufReader<std::fs::File>>,
    /// The row being assembled (0-based) and its cells.
    current: Option<(u32, Vec<String>, Option<usize>)>,
    rows: u64,
    done: bool,
}

impl<'a> SheetLines<'a> {
    fn open(workbook: &'a mut Xlsx<BufReader<std::fs::File>>, name: &str) -> AppResult<Self> {
        let cells = workbook.worksheet_cells_reader(name).map_err(|e| {
            AppError::Invalid(format!(
                "无法读取工作表“{}”：{}",
                shown(name, 40),
                shown(&e.to_string(), 100)
            ))
        })?;
        Ok(SheetLines {
            cells,
            current: None,
            rows: 0,
            done: false,
        })
    }

    fn finish(&mut self, row: u32, cells: Vec<String>, too_long: Option<usize>) -> FileLine {
        let row_number = i64::from(row) + 1;
        match too_long {
            Some(column) => too_long_cell(row_number, column),
            None => FileLine::Cells(row_number, cells),
        }
    }
}

impl Lines for SheetLines<'_> {
    fn next_line(&mut self) -> AppResult<Option<FileLine>> {
        loop {
            if self.done {
                return Ok(self
                    .current
                    .take()
                    .map(|(row, cells, long)| self.finish(row, cells, long)));
            }
            let cell = match self.cells.next_cell() {
                Ok(Some(cell)) => cell,
                Ok(None) => {
                    self.done = true;
                    continue;
                }
                Err(e) => {
                    return Err(AppError::Invalid(format!(
                        "表格文件中的工作表无法读取（文件可能已损坏）：{}",
                        shown(&e.to_string(), 100)
                    )));
                }
            };
            let (row, column) = cell.get_position();
            let column = column as usize;
            let mut finished = None;
            if self.current.as_ref().is_some_and(|(r, _, _)| *r != row) {
                finished = self.current.take();
            }
            if self.current.is_none() {
                self.rows += 1;
                if self.rows > Limits::SHEET_ROWS {
                    return Err(AppError::Invalid(format!(
                        "表格超过{}行（上限{}行）：更大的数据请另存为 CSV 后上传",
                        Limits::SHEET_ROWS,
                        Limits::SHEET_ROWS
                    )));
                }
                self.current = Some((row, Vec::new(), None));
            }
            if column < Limits::COLUMNS
                && let Some((_, cells, too_long)) = self.current.as_mut()
            {
                match cell_text(cell.get_value()) {
                    Ok(text) => {
                        if !text.is_empty() {
                            if cells.len() <= column {
                                cells.resize(column + 1, String::new());
                            }
                            cells[column] = text;
                        }
                    }
                    Err(()) => {
                        too_long.get_or_insert(column);
                    }
                }
            }
            if let Some((row, cells, long)) = finished {
                return Ok(Some(self.finish(row, cells, long)));
            }
        }
    }
}

/// A spreadsheet cell as text. Excel keeps 15 significant digits: a longer number typed into a
/// number cell (an ID number, a long household number) has already lost its last digits.
fn cell_text(cell: &DataRef<'_>) -> Result<String, ()> {
    Ok(match cell {
        DataRef::Empty => String::new(),
        DataRef::SharedString(s) => return bounded_text(s),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
            return bounded_text(s);
        }
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => {
            if f.abs() >= 1e15 {
                super::EXCEL_NUMBER_MARKER.to_string()
            } else if f.fract() == 0.0 {
                format!("{}", *f as i64)
            } else {
                f.to_string()
            }
        }
        DataRef::Bool(b) => b.to_string(),
        // A date keeps its day number; a date-time keeps its fraction too (lab result times).
        DataRef::DateTime(d) => {
            let serial = d.as_f64();
            if serial.fract() == 0.0 {
                format!("{}", serial as i64)
            } else {
                format!("{serial}")
            }
        }
        DataRef::Error(e) => format!("#{e:?}"),
    })
}

// ---------------------------------------------------------------------------------------------
// CSV

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Utf8,
    Gb18030,
}

/// CSV records cut by `csv_core` from a buffered file, with a bounded record buffer, decoded row by
/// row (a stray byte spoils its own row, not the file).
struct CsvLines {
    file: BufReader<std::fs::File>,
    parser: csv_core::Reader,
    encoding: Encoding,
    output: Vec<u8>,
    ends: Vec<usize>,
    /// The physical line (1-based) where the next record starts.
    line: i64,
    done: bool,
}

impl CsvLines {
    fn open(path: &Path) -> AppResult<Self> {
        let mut file =
            std::fs::File::open(path).map_err(|e| AppError::internal_in("open upload", e))?;
        let mut head = vec![0_u8; 64 * 1024];
        let mut filled = 0;
        while filled < head.len() {
            let n = file.read(&mut head[filled..]).map_err(AppError::internal)?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        head.truncate(filled);
        let encoding = detect_encoding(&head);
        let file =
            std::fs::File::open(path).map_err(|e| AppError::internal_in("open upload", e))?;
        Ok(CsvLines {
            file: BufReader::with_capacity(64 * 1024, file),
            parser: csv_core::ReaderBuilder::new().build(),
            encoding,
            output: vec![0; 4 * 1024],
            ends: vec![0; Limits::COLUMNS * 2],
            line: 1,
            done: false,
        })
    }

    fn decode(&self, row: i64, bytes: &[u8]) -> Result<String, FileLine> {
        match self.encoding {
            Encoding::Utf8 => match std::str::from_utf8(bytes) {
                Ok(text) => Ok(text.to_string()),
                Err(_) => Err(FileLine::Unreadable(
                    row,
                    format!(
                        "第{row}行含无法识别的字符（不是UTF-8文字），这一行没有导入：请检查这一行，或重新另存为“CSV UTF-8”"
                    ),
                )),
            },
            Encoding::Gb18030 => {
                let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
                if had_errors {
                    Err(FileLine::Unreadable(
                        row,
                        format!("第{row}行含无法识别的字符，这一行没有导入：请检查这一行"),
                    ))
                } else {
                    Ok(text.into_owned())
                }
            }
        }
    }
}

/// UTF-8 when the sample is UTF-8, or when its first line (the header) is UTF-8 with Chinese in it
/// (one stray byte further down spoils one row, not the file); otherwise GB18030 (what Excel in a
/// Chinese office saves).
fn detect_encoding(head: &[u8]) -> Encoding {
    let whole = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut at the end of the sample is still UTF-8.
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    };
    if whole {
        return Encoding::Utf8;
    }
    let first_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    match std::str::from_utf8(first_line) {
        Ok(text) if !text.is_ascii() => Encoding::Utf8,
        _ => Encoding::Gb18030,
    }
}

impl Lines for CsvLines {
    fn next_line(&mut self) -> AppResult<Option<FileLine>> {
        use csv_core::ReadRecordResult;
        if self.done {
            return Ok(None);
        }
        let mut start_line: Option<i64> = None;
        let mut out_len = 0;
        let mut ends_len = 0;
        let mut overflow = false;
        loop {
            let input = self
                .file
                .fill_buf()
                .map_err(|e| AppError::internal_in("read upload", e))?;
            let (result, nin, nout, nend) = self.parser.read_record(
                input,
                &mut self.output[out_len..],
                &mut self.ends[ends_len..],
            );
            // The record starts on the line of its first byte that is not a line break.
            for byte in &input[..nin] {
                match byte {
                    b'\n' => self.line += 1,
                    b'\r' => {}
                    _ => {
                        start_line.get_or_insert(self.line);
                    }
                }
            }
            self.file.consume(nin);
            out_len += nout;
            ends_len += nend;
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    if self.output.len() < Limits::RECORD_BYTES {
                        let bigger = (self.output.len() * 2).min(Limits::RECORD_BYTES);
                        self.output.resize(bigger, 0);
                    } else {
                        overflow = true;
                        out_len = 0;
                        ends_len = 0;
                    }
                }
                ReadRecordResult::OutputEndsFull => {
                    overflow = true;
                    out_len = 0;
                    ends_len = 0;
                }
                ReadRecordResult::Record => break,
                ReadRecordResult::End => {
                    self.done = true;
                    return Ok(None);
                }
            }
        }
        let row = start_line.unwrap_or(self.line);
        if overflow {
            return Ok(Some(FileLine::Unreadable(
                row,
                format!(
                    "第{row}行太长（超过{}KB或{}列），这一行没有导入：请检查这一行，可能缺少一个引号",
                    Limits::RECORD_BYTES / 1024,
                    Limits::COLUMNS * 2
                ),
            )));
        }
        let mut fields = Vec::with_capacity(ends_len);
        let mut from = 0;
        for (column, &end) in self.ends[..ends_len].iter().enumerate() {
            let bytes = &self.output[from..end];
            from = end;
            if column >= Limits::COLUMNS {
                continue;
            }
            let text = match self.decode(row, bytes) {
                Ok(text) => text,
                Err(line) => return Ok(Some(line)),
            };
            // A quote that is never closed swallows the following lines into one cell.
            if text.contains('\n') && text.contains(',') {
                return Ok(Some(FileLine::Unreadable(
                    row,
                    format!(
                        "第{row}行有一个不成对的引号（\"），它把后面的行也并进了这一格，这些行都没有导入：请删掉多余的引号或补上另一个后，重新导入这几行"
                    ),
                )));
            }
            match bounded_text(&text) {
                Ok(text) => fields.push(text),
                Err(()) => return Ok(Some(too_long_cell(row, column))),
            }
        }
        Ok(Some(FileLine::Cells(row, fields)))
    }
}

#[cfg(test)]
mod tests {
    //! Property tests of the reader: arbitrary and mutated files never panic, never hang and stay
    //! within bounds. `FANGKONG_FUZZ_CASES` raises the number of cases (default 64 per test).

    use std::io::Write;

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    fn cases() -> u64 {
        std::env::var("FANGKONG_FUZZ_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(64)
    }

    /// Reads the whole file; returns the lines (checking each line's bounds) or the refusal.
    fn read_all(path: &Path, format: FileFormat) -> AppResult<Vec<FileLine>> {
        let mut lines = Vec::new();
        for_each_line(
            path,
            format,
            |cells| cells.first().is_some_and(|c| c == "姓名"),
            |line| {
                if let FileLine::Cells(row, cells) = &line {
                    assert!(*row >= 1);
                    assert!(cells.len() <= Limits::COLUMNS);
                    assert!(
                        cells
                            .iter()
                            .all(|c| c.chars().count() <= Limits::CELL_CHARS)
                    );
                }
                lines.push(line);
                true
            },
        )?;
        Ok(lines)
    }

    fn valid_csv() -> Vec<u8> {
        "姓名,证件号码,户编号,网格编码\n张三,130109198001010011,A-1,130109100013001\n\"李,四\",\"13010919\"\"80\",B-2,130109100013001\r\n王五,x,,\n"
            .as_bytes()
            .to_vec()
    }

    fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, body) in parts {
            zip.start_file(*name, options).unwrap();
            zip.write_all(body).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    const WORKBOOK: &str = r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    const RELS: &str = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;
    const ROOT_RELS: &str = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    const SHEET: &str = r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>证件号码</t></is></c></row><row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2"><v>1.30109198001E+17</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>"#;
    const SHARED: &str = r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="2"><si><t>姓名</t></si><si><t>张三</t></si></sst>"#;

    fn xlsx_of(sheet: &[u8], shared: &[u8]) -> Vec<u8> {
        zip_of(&[
            ("_rels/.rels", ROOT_RELS.as_bytes()),
            ("xl/workbook.xml", WORKBOOK.as_bytes()),
            ("xl/_rels/workbook.xml.rels", RELS.as_bytes()),
            ("xl/worksheets/sheet1.xml", sheet),
            ("xl/sharedStrings.xml", shared),
        ])
    }

    fn mutate(rng: &mut StdRng, bytes: &mut Vec<u8>) {
        for _ in 0..rng.gen_range(1..8) {
            if bytes.is_empty() {
                bytes.push(rng.r#gen());
                continue;
            }
            let at = rng.gen_range(0..bytes.len());
            match rng.gen_range(0..5) {
                0 => bytes[at] = rng.r#gen(),
                1 => {
                    bytes.remove(at);
                }
                2 => bytes.insert(
                    at,
                    *b"\",\n\r<>/\"".get(rng.gen_range(0..8)).unwrap_or(&b'"'),
                ),
                3 => {
                    let end = rng
                        .gen_range(at..bytes.len().min(at + 64) + 1)
                        .min(bytes.len());
                    let copy = bytes[at..end].to_vec();
                    let to = rng.gen_range(0..bytes.len());
                    for (i, b) in copy.into_iter().enumerate() {
                        bytes.insert(to + i, b);
                    }
                }
                _ => bytes.truncate(at),
            }
        }
    }

    #[test]
    fn the_sparse_sheet_is_two_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.xlsx");
        std::fs::write(&path, xlsx_of(SHEET.as_bytes(), SHARED.as_bytes())).unwrap();
        let lines = read_all(&path, FileFormat::Xlsx).unwrap();
        assert_eq!(
            lines,
            vec![
                FileLine::Cells(1, vec!["姓名".into(), "证件号码".into()]),
                FileLine::Cells(
                    2,
                    vec!["张三".into(), super::super::EXCEL_NUMBER_MARKER.into()]
                ),
                FileLine::Cells(1_048_576, vec![]),
            ]
        );
    }

    /// A source of `total` blank lines that counts how many were pulled.
    struct BlankLines {
        total: usize,
        pulled: std::rc::Rc<std::cell::Cell<usize>>,
    }

    impl Lines for BlankLines {
        fn next_line(&mut self) -> AppResult<Option<FileLine>> {
            let n = self.pulled.get();
            if n == self.total {
                return Ok(None);
            }
            self.pulled.set(n + 1);
            Ok(Some(FileLine::Cells(n as i64 + 1, vec![String::new(); 2])))
        }
    }

    #[test]
    fn a_file_of_blank_lines_is_streamed_not_held_while_the_header_is_searched() {
        // Review finding: blank lines were buffered without limit while the header was looked for,
        // so a 1 GiB upload of ",\n" lines held tens of GB. Now the search gives up after
        // HEADER_SEARCH_LINES lines and blank lines are never buffered.
        let pulled = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut source = BlankLines {
            total: 1_000_000,
            pulled: pulled.clone(),
        };
        let mut pulled_at_first_delivery = None;
        let mut delivered = 0;
        deliver(
            &mut source,
            &|cells: &[String]| cells[0] == "姓名",
            &mut |_line| {
                pulled_at_first_delivery.get_or_insert(pulled.get());
                delivered += 1;
                true
            },
        )
        .unwrap();
        assert!(
            pulled_at_first_delivery.is_some_and(|n| n <= Limits::HEADER_SEARCH_LINES + 1),
            "{pulled_at_first_delivery:?} lines pulled before the first was handed on"
        );
        assert_eq!(
            pulled.get(),
            1_000_000,
            "the rest is streamed to the caller"
        );
        assert!(delivered >= 1_000_000 - Limits::HEADER_SEARCH_LINES);
    }

    #[test]
    fn csv_records_quotes_and_line_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        let mut bytes = "\u{feff}".as_bytes().to_vec();
        bytes.extend(valid_csv());
        bytes.extend(b"\n\nlast,\"two\nlines\",x,y\n");
        std::fs::write(&path, bytes).unwrap();
        let lines = read_all(&path, FileFormat::Csv).unwrap();
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert_eq!(
            lines[2],
            FileLine::Cells(
                3,
                vec![
                    "李,四".into(),
                    "13010919\"80".into(),
                    "B-2".into(),
                    "130109100013001".into()
                ]
            )
        );
        assert_eq!(
            lines[4],
            FileLine::Cells(
                7,
                vec!["last".into(), "two\nlines".into(), "x".into(), "y".into()]
            )
        );
    }

    #[test]
    fn arbitrary_and_mutated_csv_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        let mut rng = StdRng::seed_from_u64(11);
        for case in 0..cases() {
            let bytes: Vec<u8> = if case % 3 == 0 {
                (0..rng.gen_range(0..2_000)).map(|_| rng.r#gen()).collect()
            } else {
                let mut bytes = valid_csv();
                mutate(&mut rng, &mut bytes);
                bytes
            };
            std::fs::write(&path, &bytes).unwrap();
            let started = std::time::Instant::now();
            let _ = read_all(&path, FileFormat::Csv);
            assert!(started.elapsed().as_secs() < 5, "case {case} took too long");
        }
    }

    #[test]
    fn arbitrary_and_mutated_xlsx_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.xlsx");
        let mut rng = StdRng::seed_from_u64(13);
        for case in 0..cases() {
            let bytes = match case % 3 {
                // The zip itself mutated.
                0 => {
                    let mut bytes = xlsx_of(SHEET.as_bytes(), SHARED.as_bytes());
                    mutate(&mut rng, &mut bytes);
                    bytes
                }
                // The sheet's XML mutated inside a good zip.
                1 => {
                    let mut sheet = SHEET.as_bytes().to_vec();
                    mutate(&mut rng, &mut sheet);
                    xlsx_of(&sheet, SHARED.as_bytes())
                }
                // The shared strings mutated.
                _ => {
                    let mut shared = SHARED.as_bytes().to_vec();
                    mutate(&mut rng, &mut shared);
                    xlsx_of(SHEET.as_bytes(), &shared)
                }
            };
            std::fs::write(&path, &bytes).unwrap();
            let started = std::time::Instant::now();
            let _ = read_all(&path, FileFormat::Xlsx);
            assert!(started.elapsed().as_secs() < 5, "case {case} took too long");
        }
    }

    #[test]
    fn shared_string_counter_sees_tags_across_buffers() {
        let text = format!(
            r#"<sst uniqueCount="3"><si><t>a</t></si><x:si><t>b</t></x:si>{}</sst>"#,
            "<si/>"
        );
        for split in 1..text.len() {
            let mut counter = SharedStringCounter::default();
            let bytes = text.as_bytes();
            counter.feed(&bytes[..split]);
            counter.feed(&bytes[split..]);
            // Conservative: a prefixed closing tag counts too, never fewer than there are.
            assert_eq!(counter.count, 4, "split at {split}");
            assert_eq!(counter.declared, Some(3));
        }
    }
}
