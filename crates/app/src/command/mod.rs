//! The command office (指挥调度与值班报送): the situation picture of a jurisdiction read through the
//! other modules' own counters, what is late across modules, the epidemic curve and the map, daily
//! and zero reports, incident reports, bulletins, and duty with its spot checks. One file per
//! sub-area; each is an `impl App` block.

pub mod incidents;
pub mod report_sheet;
pub mod reports;

pub use incidents::{IncidentDetail, IncidentForm, IncidentView};
pub use reports::{
    BoardRow, CorrectionForm, DailyReportDetail, DailyReportForm, DailyReportView, MissingReport,
    ReportBoard, ReportDraft,
};
