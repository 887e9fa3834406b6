//! Daily and zero reports (日报告、零报告): the parent's board of its child offices
//! (`/command/reports`, printable, with its XLSX sheet), the own office's form prefilled from the
//! system (`/command/reports/file`), one office's report with its corrections and the correction
//! form (`/command/reports/one`); the API of the same.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use fangkong_app::command::{
    BoardRow, CorrectionForm, DailyReportDetail, DailyReportForm, DailyReportView, ReportBoard,
    ReportDraft,
};
use fangkong_domain::command::reports::{Figure, Figures};
use fangkong_domain::role::Permission;
use serde::Deserialize;

use super::ApiResult;
use crate::AppState;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::pages::{Flash, Layout, PageResult, PageUser, beijing_time, download, render};
use crate::session::ApiUser;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct OfficeDay {
    office: String,
    day: String,
    saved: String,
}

/// One figure as a row of a table: label, value, the system's value, and whether they differ.
pub struct FigureRow {
    pub code: &'static str,
    pub label: &'static str,
    pub value: String,
    pub system: i64,
    pub differs: bool,
}

fn figure_rows(values: &Figures, system: &Figures) -> Vec<FigureRow> {
    Figure::ALL
        .iter()
        .map(|f| FigureRow {
            code: f.code(),
            label: f.label_zh(),
            value: values.get(*f).to_string(),
            system: system.get(*f),
            differs: values.get(*f) != system.get(*f),
        })
        .collect()
}

/// A board row as the page shows it.
pub struct BoardLine {
    pub r: BoardRow,
    pub due: String,
    pub submitted: String,
    pub values: Vec<String>,
    pub css: &'static str,
}

fn board_line(r: BoardRow) -> BoardLine {
    let css = match r.timing.code() {
        "on_time" => "ok",
        "late" => "warn",
        "missing" => "bad",
        _ => "muted",
    };
    BoardLine {
        due: beijing_time(r.due_at),
        submitted: r
            .report
            .as_ref()
            .map(|rep| beijing_time(rep.submitted_at))
            .unwrap_or_else(|| "—".into()),
        values: Figure::ALL
            .iter()
            .map(|f| {
                r.report
                    .as_ref()
                    .map(|rep| rep.figures.get(*f).to_string())
                    .unwrap_or_else(|| "—".into())
            })
            .collect(),
        css,
        r,
    }
}

#[derive(Template)]
#[template(path = "command/report_board.html")]
pub(super) struct BoardPage {
    layout: Layout,
    b: ReportBoard,
    own: BoardLine,
    lines: Vec<BoardLine>,
    labels: Vec<&'static str>,
    totals: Vec<(&'static str, i64, i64)>,
    can_file: bool,
}

pub(super) async fn board_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<OfficeDay>,
) -> PageResult {
    let b = state
        .app
        .report_board(&page.user.actor, &q.office, &q.day)
        .await
        .map_err(|e| page.error(e))?;
    let totals = Figure::ALL
        .iter()
        .map(|f| (f.label_zh(), b.children_total.get(*f), b.own_system.get(*f)))
        .collect();
    Ok(render(&BoardPage {
        layout: page.layout("command_reports"),
        own: board_line(b.own.clone()),
        lines: b.rows.iter().cloned().map(board_line).collect(),
        labels: Figure::ALL.iter().map(|f| f.label_zh()).collect(),
        totals,
        can_file: page.can(Permission::FileReports),
        b,
    }))
}

pub(super) async fn board_export(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<OfficeDay>,
) -> PageResult {
    let (name, bytes) = state
        .app
        .export_report_board(&page.user.actor, &q.office, &q.day)
        .await
        .map_err(|e| page.error(e))?;
    Ok(download(
        Body::from(bytes),
        &name,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ))
}

#[derive(Template)]
#[template(path = "command/report_file.html")]
pub(super) struct FilePage {
    layout: Layout,
    d: ReportDraft,
    rows: Vec<FigureRow>,
    kind: String,
    difference_reason: String,
    note: String,
    due: String,
    submitted_at: String,
}

/// The typed form, kept to show it again after a mistake.
#[derive(Clone, Default)]
struct Typed {
    kind: String,
    figures: BTreeMap<String, String>,
    difference_reason: String,
    note: String,
}

async fn file_page_with(
    state: &AppState,
    page: &PageUser,
    day: &str,
    typed: Option<Typed>,
    flash: Option<Flash>,
) -> PageResult {
    let d = state
        .app
        .daily_report_draft(&page.user.actor, day)
        .await
        .map_err(|e| page.error(e))?;
    let typed = typed.unwrap_or_default();
    let mut rows = figure_rows(&d.system, &d.system);
    for row in &mut rows {
        if let Some(value) = typed.figures.get(row.code) {
            row.differs = value.trim() != row.system.to_string();
            row.value = value.clone();
        }
    }
    let mut layout = page.layout("command_reports");
    layout.flash = flash;
    Ok(render(&FilePage {
        layout,
        rows,
        kind: typed.kind,
        difference_reason: typed.difference_reason,
        note: typed.note,
        due: beijing_time(d.due_at),
        submitted_at: d
            .submitted
            .as_ref()
            .map(|s| beijing_time(s.submitted_at))
            .unwrap_or_default(),
        d,
    }))
}

pub(super) async fn file_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<OfficeDay>,
) -> PageResult {
    file_page_with(&state, &page, &q.day, None, None).await
}

fn take(fields: &mut HashMap<String, String>, key: &str) -> String {
    fields.remove(key).unwrap_or_default()
}

/// The figures typed into a form: the fields named by a figure's code.
fn typed_figures(fields: &HashMap<String, String>) -> BTreeMap<String, String> {
    Figure::ALL
        .iter()
        .filter_map(|f| {
            fields
                .get(f.code())
                .map(|v| (f.code().to_string(), v.clone()))
        })
        .collect()
}

pub(super) async fn file_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(mut fields): CsrfForm<HashMap<String, String>>,
) -> PageResult {
    let form = DailyReportForm {
        office: take(&mut fields, "region_code"),
        day: take(&mut fields, "day"),
        kind: take(&mut fields, "kind"),
        figures: typed_figures(&fields),
        difference_reason: take(&mut fields, "difference_reason"),
        note: take(&mut fields, "note"),
    };
    let next = state
        .app
        .submit_daily_report(&page.user.actor, &form)
        .await
        .map(|r| {
            format!(
                "/command/reports/one?office={}&day={}&saved=filed",
                r.office_code, r.day
            )
        });
    let typed = Typed {
        kind: form.kind.clone(),
        figures: form.figures.clone(),
        difference_reason: form.difference_reason.clone(),
        note: form.note.clone(),
    };
    form_page(&page, next, |flash| {
        file_page_with(&state, &page, &form.day, Some(typed), flash)
    })
    .await
}

#[derive(Template)]
#[template(path = "command/report_one.html")]
pub(super) struct OnePage {
    layout: Layout,
    office: String,
    day: String,
    detail: Option<DailyReportDetail>,
    rows: Vec<FigureRow>,
    original: Vec<FigureRow>,
    submitted_at: String,
    due: String,
    corrections: Vec<(String, String, String, String)>,
    can_correct: bool,
}

async fn one_page_with(
    state: &AppState,
    page: &PageUser,
    office: &str,
    day: &str,
    flash: Option<Flash>,
) -> PageResult {
    let detail = state
        .app
        .daily_report(&page.user.actor, office, day)
        .await
        .map_err(|e| page.error(e))?;
    let (rows, original, submitted_at, due) = match &detail {
        Some(d) => (
            figure_rows(&d.report.figures, &d.report.system),
            figure_rows(&d.report.submitted, &d.report.system),
            beijing_time(d.report.submitted_at),
            beijing_time(d.report.due_at),
        ),
        None => (Vec::new(), Vec::new(), String::new(), String::new()),
    };
    let corrections = detail
        .as_ref()
        .map(|d| {
            d.corrections
                .iter()
                .map(|c| {
                    (
                        beijing_time(c.corrected_at),
                        c.corrected_by.clone(),
                        c.differences
                            .iter()
                            .map(|x| x.label_zh())
                            .collect::<Vec<_>>()
                            .join("；"),
                        c.reason.clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let can_correct = detail.is_some()
        && page.can(Permission::FileReports)
        && page.user.actor.jurisdiction.as_str() == office;
    let mut layout = page.layout("command_reports");
    layout.flash = flash;
    Ok(render(&OnePage {
        layout,
        office: office.to_string(),
        day: day.to_string(),
        detail,
        rows,
        original,
        submitted_at,
        due,
        corrections,
        can_correct,
    }))
}

fn saved_flash(saved: &str) -> Option<Flash> {
    match saved {
        "filed" => ok_flash("已报送"),
        "corrected" => ok_flash("更正已记录，原报送数字保留"),
        _ => None,
    }
}

pub(super) async fn one_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<OfficeDay>,
) -> PageResult {
    one_page_with(&state, &page, &q.office, &q.day, saved_flash(&q.saved)).await
}

pub(super) async fn correct_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(mut fields): CsrfForm<HashMap<String, String>>,
) -> PageResult {
    let form = CorrectionForm {
        office: take(&mut fields, "region_code"),
        day: take(&mut fields, "day"),
        figures: typed_figures(&fields),
        reason: take(&mut fields, "reason"),
    };
    let next = state
        .app
        .correct_daily_report(&page.user.actor, &form)
        .await
        .map(|d| {
            format!(
                "/command/reports/one?office={}&day={}&saved=corrected",
                d.report.office_code, d.report.day
            )
        });
    form_page(&page, next, |flash| {
        one_page_with(&state, &page, &form.office, &form.day, flash)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// API

pub(super) async fn api_board(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<OfficeDay>,
) -> ApiResult<ReportBoard> {
    Ok(Json(
        state
            .app
            .report_board(&user.actor, &q.office, &q.day)
            .await?,
    ))
}

#[derive(serde::Serialize)]
pub(super) struct OneReport {
    report: Option<DailyReportDetail>,
}

pub(super) async fn api_one(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<OfficeDay>,
) -> ApiResult<OneReport> {
    Ok(Json(OneReport {
        report: state
            .app
            .daily_report(&user.actor, &q.office, &q.day)
            .await?,
    }))
}

/// A JSON body's figures: numbers or strings.
fn json_figures(map: &BTreeMap<String, serde_json::Value>) -> BTreeMap<String, String> {
    map.iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ReportBody {
    region_code: String,
    day: String,
    kind: String,
    figures: BTreeMap<String, serde_json::Value>,
    difference_reason: String,
    note: String,
    reason: String,
}

pub(super) async fn api_submit(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<ReportBody>,
) -> ApiResult<DailyReportView> {
    let form = DailyReportForm {
        office: body.region_code,
        day: body.day,
        kind: body.kind,
        figures: json_figures(&body.figures),
        difference_reason: body.difference_reason,
        note: body.note,
    };
    Ok(Json(
        state.app.submit_daily_report(&user.actor, &form).await?,
    ))
}

pub(super) async fn api_correct(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<ReportBody>,
) -> ApiResult<DailyReportDetail> {
    let form = CorrectionForm {
        office: body.region_code,
        day: body.day,
        figures: json_figures(&body.figures),
        reason: body.reason,
    };
    Ok(Json(
        state.app.correct_daily_report(&user.actor, &form).await?,
    ))
}
