//! Resident export as CSV or XLSX, streamed page by page (flat memory), audited.

use std::io::Write;
use std::path::Path;

use fangkong_domain::resident_row::COLUMNS;
use fangkong_domain::role::Permission;
use fangkong_store::ResidentRecord;
use rust_xlsxwriter::Workbook;

use crate::import::FileFormat;
use crate::population::import_fields;
use crate::{Actor, App, AppError, AppResult, audit_by, parse_region_code};

const PAGE: i64 = 5_000;

/// A cell for a CSV that people open in Excel: a value starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return would be read as a formula, so it gets a leading `'` (OWASP "CSV injection").
pub(crate) fn csv_cell(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// A whole CSV record with every cell neutralised by [`csv_cell`].
pub(crate) fn csv_record<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> Vec<String> {
    cells
        .into_iter()
        .map(|cell| csv_cell(cell.as_ref()).into_owned())
        .collect()
}

impl App {
    /// Calls `write` with every resident in the code range (numbered from 1), reading a page at a time
    /// so memory stays flat whatever the size; returns how many there were.
    async fn for_each_resident(
        &self,
        subtree: (&str, &str),
        mut write: impl FnMut(u64, &ResidentRecord) -> AppResult<()>,
    ) -> AppResult<u64> {
        let mut rows = 0_u64;
        let mut after_id = 0;
        loop {
            let page = self.store.residents_page(subtree, after_id, PAGE).await?;
            let Some(last) = page.last() else { break };
            after_id = last.id;
            for resident in &page {
                rows += 1;
                write(rows, resident)?;
            }
        }
        Ok(rows)
    }

    /// Writes every resident of `region_code` (inside the jurisdiction) to `path`; returns the row count.
    /// The export is audited before the first row is read.
    pub async fn export_residents(
        &self,
        actor: &Actor,
        region_code: &str,
        format: FileFormat,
        path: &Path,
    ) -> AppResult<u64> {
        actor.require(Permission::ExportPopulation)?;
        let code = parse_region_code(region_code)?;
        actor.require_within(&code)?;
        audit_by(
            self,
            actor,
            "export",
            &format!("region:{}", code.as_str()),
            format.code(),
        )
        .await?;
        let (lower, upper) = code.subtree_range();
        let io = |e: std::io::Error| AppError::internal_in("export write", e);
        let xlsx = |e: rust_xlsxwriter::XlsxError| AppError::internal_in("export xlsx", e);
        let rows = match format {
            FileFormat::Csv => {
                let file = std::fs::File::create(path).map_err(io)?;
                let mut buffered = std::io::BufWriter::new(file);
                buffered.write_all("\u{feff}".as_bytes()).map_err(io)?;
                let mut writer = csv::Writer::from_writer(buffered);
                let csv_error = |e: csv::Error| AppError::internal(e);
                writer.write_record(COLUMNS).map_err(csv_error)?;
                let rows = self
                    .for_each_resident((&lower, &upper), |_, resident| {
                        writer
                            .write_record(csv_record(import_fields(resident)))
                            .map_err(csv_error)
                    })
                    .await?;
                writer.flush().map_err(io)?;
                rows
            }
            FileFormat::Xlsx => {
                let mut workbook = Workbook::new();
                let sheet = workbook
                    .add_worksheet_with_constant_memory()
                    .map_err(xlsx)?;
                sheet.set_name("居民").map_err(xlsx)?;
                let text = rust_xlsxwriter::Format::new().set_num_format("@");
                for (column, header) in COLUMNS.iter().enumerate() {
                    sheet
                        .write_string(0, column as u16, *header)
                        .map_err(xlsx)?;
                }
                let rows = self
                    .for_each_resident((&lower, &upper), |row, resident| {
                        for (column, value) in import_fields(resident).iter().enumerate() {
                            // Text cells: Excel must never turn an ID number into a float.
                            sheet
                                .write_string_with_format(row as u32, column as u16, value, &text)
                                .map_err(xlsx)?;
                        }
                        Ok(())
                    })
                    .await?;
                workbook.save(path).map_err(xlsx)?;
                rows
            }
        };
        Ok(rows)
    }
}
