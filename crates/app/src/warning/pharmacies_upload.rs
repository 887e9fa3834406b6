//! Pharmacies' sales upload (零售药店销售记录表格上传): a CSV or XLSX of one pharmacy's sales, read by
//! the bounded reader on the blocking pool; each row parsed like a typed sale, every bad row kept
//! with its row number, column and a Chinese message; the good rows land in chunks (one
//! transaction each); a re-upload of the same rows writes nothing (the sale key).

use std::path::Path;

use fangkong_domain::warning::pharmacies::SaleChannel;

use super::pharmacies::{SaleInput, SalesReport, parse_sale};
use crate::import::{FileLine, ProblemLine, read_small_sheet};
use crate::{Actor, App, AppError, AppResult, audit_record};

/// The upload's columns, in the template's order.
pub const SALE_COLUMNS: [&str; 8] = [
    "销售单号",
    "销售时间",
    "药品",
    "数量",
    "购药人姓名",
    "证件类型",
    "证件号码",
    "联系电话",
];

/// The most rows one upload may hold.
pub const UPLOAD_MAX_ROWS: usize = 50_000;

fn column_of(header: &str) -> Option<usize> {
    let h = header.trim().trim_start_matches('\u{feff}');
    let canonical = match h {
        "单号" | "销售单号" | "小票号" | "流水号" => "销售单号",
        "时间" | "销售时间" | "购药时间" => "销售时间",
        "药品" | "药品名称" | "药品编码" | "通用名" => "药品",
        "姓名" | "购药人" | "购药人姓名" => "购药人姓名",
        "身份证号" | "证件号码" | "身份证号码" => "证件号码",
        "电话" | "手机号" | "联系电话" => "联系电话",
        other => other,
    };
    SALE_COLUMNS.iter().position(|c| *c == canonical)
}

fn is_header(cells: &[String]) -> bool {
    let columns: Vec<Option<usize>> = cells.iter().map(|c| column_of(c)).collect();
    [0usize, 2, 4].iter().all(|r| columns.contains(&Some(*r)))
}

impl App {
    /// Imports a pharmacy's sales file (CSV or XLSX with [`SALE_COLUMNS`]).
    pub async fn import_pharmacy_sales(
        &self,
        actor: &Actor,
        pharmacy_id: i64,
        path: &Path,
        file_name: &str,
    ) -> AppResult<SalesReport> {
        let (pharmacy, catalogue) = self.reporting_pharmacy(actor, pharmacy_id).await?;
        let lines = read_small_sheet(
            path,
            file_name,
            is_header,
            UPLOAD_MAX_ROWS,
            format!("一次最多上传 {UPLOAD_MAX_ROWS} 条销售记录，请分批上传"),
        )
        .await?;
        let now = self.now_unix();
        let mut report = SalesReport::default();
        let mut columns: Vec<Option<usize>> = Vec::new();
        let mut parsed = Vec::new();
        for line in lines {
            let (row_number, cells) = match line {
                FileLine::Unreadable(row_number, message) => {
                    report.rows += 1;
                    report.problems.push(ProblemLine {
                        row_number,
                        column: "整行".into(),
                        message,
                    });
                    continue;
                }
                FileLine::Cells(row_number, cells) => (row_number, cells),
            };
            if columns.is_empty() {
                columns = cells.iter().map(|c| column_of(c)).collect();
                for required in [0usize, 2, 4] {
                    if !columns.contains(&Some(required)) {
                        return Err(AppError::Invalid(format!(
                            "表头缺少“{}”列；模板列为：{}",
                            SALE_COLUMNS[required],
                            SALE_COLUMNS.join(",")
                        )));
                    }
                }
                continue;
            }
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            report.rows += 1;
            let mut field: [String; 8] = Default::default();
            for (cell, column) in cells.into_iter().zip(&columns) {
                if let Some(c) = column {
                    field[*c] = cell;
                }
            }
            if let Some(lost) = field.iter().position(|f| f.starts_with('\u{0}')) {
                report.problems.push(ProblemLine {
                    row_number,
                    column: SALE_COLUMNS[lost].into(),
                    message: format!(
                        "{}被Excel存成了数字，最后几位已经丢失：请把这一列设置为“文本”格式后重新填写",
                        SALE_COLUMNS[lost]
                    ),
                });
                continue;
            }
            let [
                sale_key,
                sold_at,
                drug,
                quantity,
                buyer_name,
                id_type,
                id_number,
                phone,
            ] = field;
            let input = SaleInput {
                licence_no: pharmacy.licence_no.clone(),
                sale_key,
                sold_at,
                drug,
                quantity,
                buyer_name,
                id_type,
                id_number,
                phone,
            };
            match parse_sale(
                &input,
                &pharmacy,
                catalogue,
                SaleChannel::Upload,
                &actor.username,
                now,
            ) {
                Ok(sale) => parsed.push(sale),
                Err((column, message)) => report.problems.push(ProblemLine {
                    row_number,
                    column: column.into(),
                    message,
                }),
            }
        }
        if columns.is_empty() {
            return Err(AppError::Invalid(format!(
                "文件是空的：第一行应为表头：{}",
                SALE_COLUMNS.join(",")
            )));
        }
        let audit = audit_record(
            self,
            actor,
            "import_pharmacy_sales",
            format!("pharmacy:{}", pharmacy.id),
            format!(
                "{}：{} 行，{} 行有问题",
                crate::import::shown(file_name, 60),
                report.rows,
                report.problems.len()
            ),
        );
        self.land_sales(&parsed, &audit, &mut report).await?;
        Ok(report)
    }
}
