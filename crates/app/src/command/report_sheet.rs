//! The daily reports' sheet (日报告汇总表): the parent's board as XLSX in the usual layout, one row
//! per office — 单位, 报告日期, 报送时间, 状态 (按时/迟报/漏报/零报告/更正), then the figures.

use fangkong_domain::command::reports::Figure;

use crate::{Actor, App, AppError, AppResult, audit_by};

impl App {
    /// The board as an XLSX sheet in the usual layout: one row per office (单位, 报告日期, 报送时间,
    /// 状态, then the figures), the office's own row last. Audited as an export.
    pub async fn export_report_board(
        &self,
        actor: &Actor,
        office: &str,
        day: &str,
    ) -> AppResult<(String, Vec<u8>)> {
        let board = self.report_board(actor, office, day).await?;
        audit_by(
            self,
            actor,
            "export",
            &format!("region:{}", board.office_code),
            &format!("日报告汇总 {}", board.day),
        )
        .await?;
        let xlsx = |e: rust_xlsxwriter::XlsxError| AppError::internal_in("report xlsx", e);
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.set_name("日报告").map_err(xlsx)?;
        let mut header = vec!["单位", "报告日期", "报送时间", "状态"];
        header.extend(Figure::ALL.iter().map(|f| f.label_zh()));
        header.push("情况说明");
        for (column, title) in header.iter().enumerate() {
            sheet.write_string(0, column as u16, *title).map_err(xlsx)?;
        }
        for (i, row) in board.rows.iter().chain([&board.own]).enumerate() {
            let r = i as u32 + 1;
            sheet.write_string(r, 0, &row.office_name).map_err(xlsx)?;
            sheet.write_string(r, 1, &board.day).map_err(xlsx)?;
            let submitted = row.report.as_ref().map_or(String::new(), |rep| {
                fangkong_domain::time::beijing_label(
                    chrono::DateTime::from_timestamp(rep.submitted_at, 0).unwrap_or_default(),
                )
            });
            sheet.write_string(r, 2, &submitted).map_err(xlsx)?;
            sheet.write_string(r, 3, &row.status).map_err(xlsx)?;
            for (j, figure) in Figure::ALL.iter().enumerate() {
                let column = 4 + j as u16;
                if let Some(report) = &row.report {
                    sheet
                        .write_number(r, column, report.figures.get(*figure) as f64)
                        .map_err(xlsx)?;
                }
            }
            let note = row.report.as_ref().map_or("", |rep| rep.note.as_str());
            sheet
                .write_string(
                    r,
                    4 + Figure::ALL.len() as u16,
                    crate::export::csv_cell(note),
                )
                .map_err(xlsx)?;
        }
        let bytes = workbook.save_to_buffer().map_err(xlsx)?;
        Ok((
            format!("日报告-{}-{}.xlsx", board.office_code, board.day),
            bytes,
        ))
    }
}
