//! Vaccination: a sheet of doses (接种记录导入), CSV or XLSX as Excel, WPS and LibreOffice write
//! them, read by the bounded reader on the blocking pool. Each row is parsed like a typed dose and
//! checked against the person's earlier doses (rows earlier in the same sheet count: a first and a
//! second dose may arrive together); every bad row — a dose before its interval too — is kept with
//! its row number, column and a Chinese message, and the good rows land, the import's audit
//! record with the first; a re-import writes nothing (one dose of each kind per person).

use std::path::Path;

use fangkong_domain::role::Permission;

use super::vaccination::{DoseForm, DoseImportReport, Landed, parse_dose};
use crate::import::{FileLine, ProblemLine, read_small_sheet};
use crate::{Actor, App, AppError, AppResult, audit_record};

/// The sheet's columns, in the template's order (姓名 is read but not needed: the ID names the
/// person).
pub const DOSE_COLUMNS: [&str; 7] = [
    "姓名",
    "证件类型",
    "证件号码",
    "疫苗",
    "剂次",
    "接种日期",
    "接种单位",
];

/// The most rows one sheet may hold.
pub const DOSE_UPLOAD_MAX_ROWS: usize = 20_000;

fn column_of(header: &str) -> Option<usize> {
    let h = header.trim().trim_start_matches('\u{feff}');
    let canonical = match h {
        "受种者" | "受种者姓名" | "姓名" => "姓名",
        "身份证号" | "身份证号码" | "证件号码" | "证件号" => "证件号码",
        "疫苗" | "疫苗名称" | "疫苗厂家" | "生产企业" => "疫苗",
        "剂次" | "针次" | "第几剂" => "剂次",
        "接种日期" | "接种时间" | "日期" => "接种日期",
        "接种单位" | "接种点" | "接种门诊" => "接种单位",
        other => other,
    };
    DOSE_COLUMNS.iter().position(|c| *c == canonical)
}

/// The columns a sheet cannot do without.
const REQUIRED: [usize; 4] = [2, 3, 4, 5];

fn is_header(cells: &[String]) -> bool {
    let columns: Vec<Option<usize>> = cells.iter().map(|c| column_of(c)).collect();
    REQUIRED.iter().all(|r| columns.contains(&Some(*r)))
}

impl App {
    /// Imports a sheet of doses (CSV or XLSX with [`DOSE_COLUMNS`]).
    pub async fn import_doses(
        &self,
        actor: &Actor,
        path: &Path,
        file_name: &str,
    ) -> AppResult<DoseImportReport> {
        actor.require(Permission::RecordVaccinations)?;
        let lines = read_small_sheet(
            path,
            file_name,
            is_header,
            DOSE_UPLOAD_MAX_ROWS,
            format!("一次最多导入 {DOSE_UPLOAD_MAX_ROWS} 条接种记录，请分批导入"),
        )
        .await?;
        let today = self.today();
        let mut report = DoseImportReport::default();
        let mut columns: Vec<Option<usize>> = Vec::new();
        let mut audit = Some(audit_record(
            self,
            actor,
            "import_vaccine_doses",
            "",
            crate::import::shown(file_name, 60),
        ));
        let problem = |report: &mut DoseImportReport, row_number, column: &str, message| {
            report.problems.push(ProblemLine {
                row_number,
                column: column.into(),
                message,
            })
        };
        for line in lines {
            let (row_number, cells) = match line {
                FileLine::Unreadable(row_number, message) => {
                    report.rows += 1;
                    problem(&mut report, row_number, "整行", message);
                    continue;
                }
                FileLine::Cells(row_number, cells) => (row_number, cells),
            };
            if columns.is_empty() {
                columns = cells.iter().map(|c| column_of(c)).collect();
                for required in REQUIRED {
                    if !columns.contains(&Some(required)) {
                        return Err(AppError::Invalid(format!(
                            "表头缺少“{}”列；模板列为：{}",
                            DOSE_COLUMNS[required],
                            DOSE_COLUMNS.join(",")
                        )));
                    }
                }
                continue;
            }
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            report.rows += 1;
            let mut field: [String; 7] = Default::default();
            for (cell, column) in cells.into_iter().zip(&columns) {
                if let Some(c) = column {
                    field[*c] = cell;
                }
            }
            if field[2].starts_with('\u{0}') {
                problem(
                    &mut report,
                    row_number,
                    "证件号码",
                    "证件号码被Excel存成了数字，最后几位已经丢失：请把这一列设置为“文本”格式后重新填写"
                        .into(),
                );
                continue;
            }
            let [_, id_type, id_number, product, dose_kind, given_on, site] = field;
            let form = DoseForm {
                id_type,
                id_number,
                product,
                dose_kind,
                given_on,
                site,
            };
            let dose = match parse_dose(&form, today) {
                Ok(dose) => dose,
                Err((column, message)) => {
                    problem(&mut report, row_number, column, message);
                    continue;
                }
            };
            match self
                .land_dose(actor, &dose, "upload", audit.as_ref())
                .await?
            {
                Landed::Recorded(_) => {
                    report.recorded += 1;
                    audit = None;
                }
                Landed::AlreadyRecorded => report.already_recorded += 1,
                Landed::Refused(column, message) => {
                    problem(&mut report, row_number, column, message)
                }
            }
        }
        if columns.is_empty() {
            return Err(AppError::Invalid(format!(
                "文件是空的：第一行应为表头：{}",
                DOSE_COLUMNS.join(",")
            )));
        }
        Ok(report)
    }
}
