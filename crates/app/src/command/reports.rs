//! Daily and zero reports (日报告、零报告): the form prefilled with the system's figures of the
//! office's subtree as of the cut-off (24:00 Beijing of the day reported), submission (once per office
//! and day; after the due time it is kept and marked 迟报), corrections (误报更正, the original kept
//! with each difference), the parent's board of its child offices (按时 / 迟报 / 漏报, rolled up,
//! with the children's totals beside its own system figures), its XLSX sheet, and the list of
//! reports due and missing for the late list.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use fangkong_domain::command::reports::{
    self as rules, Difference, Figure, Figures, ReportKind, Timing,
};
use fangkong_domain::region::{RegionCode, RegionLevel};
use fangkong_domain::role::Permission;
use fangkong_store::RegionRecord;
use fangkong_store::command::reports::{DailyReportRecord, ReportCorrectionRecord};
use serde::Serialize;

use crate::scope::load_within;
use crate::{Actor, App, AppError, AppResult, audit_record, parse_region_code};

/// The setting holding a level's due time (`HH:MM`), e.g. `command.report_due.county`.
pub const DUE_SETTING_PREFIX: &str = "command.report_due.";

/// How many days back a report may still be filed (late) or corrected.
pub const REPORT_DAYS_BACK: i64 = 30;

const REASON_MAX: usize = 500;
const NOTE_MAX: usize = 2_000;

/// A daily or zero report as typed. `figures` maps a figure's code to the typed number.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct DailyReportForm {
    /// The reporting office (a region code); empty = the user's own office.
    pub office: String,
    /// The day reported, `YYYY-MM-DD`.
    pub day: String,
    /// `daily` or `zero` (or 日报告 / 零报告).
    pub kind: String,
    pub figures: BTreeMap<String, String>,
    /// Why figures differ from the system's (差异说明).
    pub difference_reason: String,
    pub note: String,
}

/// A correction of a submitted report: the corrected figures and why.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct CorrectionForm {
    pub office: String,
    pub day: String,
    pub figures: BTreeMap<String, String>,
    pub reason: String,
}

struct SubmitReport {
    office: Option<RegionCode>,
    day: NaiveDate,
    kind: ReportKind,
    figures: Figures,
    reason: String,
    note: String,
}

fn bounded(text: &str, label: &str, max: usize) -> AppResult<String> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(AppError::field(label, format!("最多{max}个字")));
    }
    Ok(text.to_string())
}

fn parse_day(text: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        AppError::field(
            "报告日期",
            format!(
                "“{}”看不懂：请写成 2022-11-20",
                fangkong_domain::echo::shown(text.trim())
            ),
        )
    })
}

fn parse_office(text: &str) -> AppResult<Option<RegionCode>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    RegionCode::parse(text)
        .map(Some)
        .map_err(|problem| AppError::field("报送单位", problem))
}

fn parse_figures(typed: &BTreeMap<String, String>) -> AppResult<Figures> {
    if let Some(unknown) = typed.keys().find(|k| Figure::from_code(k).is_none()) {
        return Err(AppError::field(
            "统计项",
            format!("没有“{}”这一项", fangkong_domain::echo::shown(unknown)),
        ));
    }
    let mut figures = Figures::default();
    for figure in Figure::ALL {
        let text = typed.get(figure.code()).map(String::as_str).unwrap_or("");
        figures.set(
            figure,
            rules::parse_figure(figure, text).map_err(AppError::Invalid)?,
        );
    }
    Ok(figures)
}

impl TryFrom<&DailyReportForm> for SubmitReport {
    type Error = AppError;
    fn try_from(form: &DailyReportForm) -> AppResult<SubmitReport> {
        let kind = match form.kind.trim() {
            "" => ReportKind::Daily,
            other => ReportKind::from_code(other)
                .or_else(|| ReportKind::ALL.into_iter().find(|k| k.label_zh() == other))
                .ok_or_else(|| AppError::field("报告类型", "请选择日报告或零报告"))?,
        };
        Ok(SubmitReport {
            office: parse_office(&form.office)?,
            day: parse_day(&form.day)?,
            kind,
            figures: parse_figures(&form.figures)?,
            reason: bounded(&form.difference_reason, "差异说明", REASON_MAX)?,
            note: bounded(&form.note, "情况说明", NOTE_MAX)?,
        })
    }
}

/// A submitted report as pages and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct DailyReportView {
    pub id: i64,
    pub office_code: String,
    pub office_name: String,
    pub day: String,
    pub kind: ReportKind,
    /// The figures as first submitted (kept after corrections).
    pub submitted: Figures,
    /// The figures after the latest correction.
    pub figures: Figures,
    /// The system's figures as of the cut-off, when the report was submitted.
    pub system: Figures,
    /// Submitted against the system.
    pub differences: Vec<Difference>,
    pub difference_reason: String,
    pub note: String,
    pub due_at: i64,
    pub submitted_at: i64,
    pub late: bool,
    pub submitted_by: String,
    pub corrections: i64,
    /// 按时 / 迟报 / 零报告 / 更正 …
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CorrectionView {
    pub corrected_at: i64,
    pub corrected_by: String,
    pub differences: Vec<Difference>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DailyReportDetail {
    pub report: DailyReportView,
    pub corrections: Vec<CorrectionView>,
}

/// The form of the user's own office for a day: the system's figures as of the cut-off, and the
/// report if one was submitted.
#[derive(Debug, Clone, Serialize)]
pub struct ReportDraft {
    pub office_code: String,
    pub office_name: String,
    pub day: String,
    pub cut_off: i64,
    pub due_at: i64,
    /// Whether submitting now would be late.
    pub late_now: bool,
    pub system: Figures,
    pub submitted: Option<DailyReportView>,
}

/// One office on its parent's board.
#[derive(Debug, Clone, Serialize)]
pub struct BoardRow {
    pub office_code: String,
    pub office_name: String,
    /// Whether it has offices below it (a township's villages do not report).
    pub has_children: bool,
    pub due_at: i64,
    pub timing: Timing,
    pub status: String,
    pub report: Option<DailyReportView>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BoardCounts {
    pub offices: i64,
    pub on_time: i64,
    pub late: i64,
    pub missing: i64,
    pub not_due: i64,
    pub zero: i64,
    pub corrected: i64,
}

/// The parent's view of a day: its own report, its child offices, the counts, the children's totals
/// and its own system figures.
#[derive(Debug, Clone, Serialize)]
pub struct ReportBoard {
    pub office_code: String,
    pub office_name: String,
    pub parent_code: Option<String>,
    pub day: String,
    pub own: BoardRow,
    pub rows: Vec<BoardRow>,
    pub counts: BoardCounts,
    pub children_total: Figures,
    pub own_system: Figures,
}

/// An office whose report is due and missing (漏报), for the late list.
#[derive(Debug, Clone, Serialize)]
pub struct MissingReport {
    pub office_code: String,
    pub office_name: String,
    pub day: String,
    pub due_at: i64,
}

fn json<T: Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(AppError::internal)
}

fn figures_of(text: &str) -> Figures {
    serde_json::from_str(text).unwrap_or_default()
}

fn level_code(level: RegionLevel) -> &'static str {
    match level {
        RegionLevel::Province => "province",
        RegionLevel::City => "city",
        RegionLevel::County => "county",
        RegionLevel::Township => "township",
        RegionLevel::Village => "village",
        RegionLevel::Grid => "grid",
    }
}

fn report_view(record: DailyReportRecord, office_name: String) -> DailyReportView {
    let kind = record.kind;
    let timing = if record.late {
        Timing::Late
    } else {
        Timing::OnTime
    };
    DailyReportView {
        status: rules::status_label(Some(kind), timing, record.corrections),
        id: record.id,
        office_name,
        day: record.report_date,
        kind,
        submitted: figures_of(&record.figures),
        figures: figures_of(&record.current_figures),
        system: figures_of(&record.system_figures),
        differences: serde_json::from_str(&record.differences).unwrap_or_default(),
        difference_reason: record.difference_reason,
        note: record.note,
        due_at: record.due_at,
        submitted_at: record.submitted_at,
        late: record.late,
        submitted_by: record.submitted_by,
        corrections: record.corrections,
        office_code: record.office_code.into(),
    }
}

impl App {
    /// The due time of a level's report: the installation's setting, else the default.
    pub async fn report_due_time(&self, level: RegionLevel) -> AppResult<NaiveTime> {
        let default = rules::default_due_time(level)
            .ok_or_else(|| AppError::Invalid("村社区和网格不报送日报告".into()))?;
        let key = format!("{DUE_SETTING_PREFIX}{}", level_code(level));
        Ok(match self.store.setting(&key).await? {
            Some(text) => rules::parse_due_time(&text).unwrap_or(default),
            None => default,
        })
    }

    /// Sets a level's due time (`HH:MM`); administrators only, audited.
    pub async fn set_report_due_time(
        &self,
        actor: &Actor,
        level: RegionLevel,
        due: &str,
    ) -> AppResult<()> {
        actor.require(Permission::ManageUsers)?;
        let time = rules::parse_due_time(due).map_err(|p| AppError::field("报送时限", p))?;
        if !rules::files_reports(level) {
            return Err(AppError::Invalid("村社区和网格不报送日报告".into()));
        }
        let key = format!("{DUE_SETTING_PREFIX}{}", level_code(level));
        let value = time.format("%H:%M").to_string();
        let audit = audit_record(
            self,
            actor,
            "set_report_due",
            format!("setting:{key}"),
            format!("{}日报告报送时限 {value}", level.label_zh()),
        );
        self.store.put_setting_audited(&key, &value, &audit).await?;
        Ok(())
    }

    /// The user's own office, which must be a reporting level; `typed` (a code from a form) must be
    /// that office: another office inside the jurisdiction is refused in words, one outside as
    /// outside the jurisdiction.
    fn own_office(&self, actor: &Actor, typed: Option<&RegionCode>) -> AppResult<RegionCode> {
        if let Some(code) = typed {
            actor.require_within(code)?;
            if code != &actor.jurisdiction {
                return Err(AppError::field(
                    "报送单位",
                    "只能报送本单位（您的管辖区域）的报告，下级单位由其值班员自行报送",
                ));
            }
        }
        if !rules::files_reports(actor.jurisdiction.level()) {
            return Err(AppError::Invalid(
                "您的管辖区域是村社区或网格，不是报送单位：日报告由乡镇街道及以上报送".into(),
            ));
        }
        Ok(actor.jurisdiction.clone())
    }

    /// The day must be over (its cut-off passed) and at most [`REPORT_DAYS_BACK`] days ago.
    fn reportable_day(&self, day: NaiveDate) -> AppResult<()> {
        let today = self.today();
        if day >= today {
            return Err(AppError::field(
                "报告日期",
                "当日24时截止后才能报送，请选择昨天或更早",
            ));
        }
        if (today - day).num_days() > REPORT_DAYS_BACK {
            return Err(AppError::field(
                "报告日期",
                format!("只能报送最近{REPORT_DAYS_BACK}天的报告"),
            ));
        }
        Ok(())
    }

    /// The system's figures of an office's subtree for a day, as of its cut-off.
    pub(crate) async fn system_figures(
        &self,
        office: &RegionCode,
        day: NaiveDate,
    ) -> AppResult<Figures> {
        let (lower, upper) = office.subtree_range();
        let from = fangkong_domain::time::beijing_midnight(day).timestamp();
        let to = rules::cut_off(day).timestamp();
        let mut figures = self.store.daily_figures((&lower, &upper), from, to).await?;
        // The fever clinics' day (their counters, by the clinic's region).
        let clinics = self
            .store
            .clinic_day_figures(office.as_str(), &day.format("%Y-%m-%d").to_string())
            .await?;
        figures.set(Figure::FeverClinicVisits, clinics.visits);
        figures.set(Figure::FeverClinicPositives, clinics.positives);
        Ok(figures)
    }

    async fn due_at(&self, office: &RegionCode, day: NaiveDate) -> AppResult<i64> {
        let due = self.report_due_time(office.level()).await?;
        Ok(rules::due_at(day, due).timestamp())
    }

    /// The form of the user's own office for `day` (empty = yesterday): the system's figures as
    /// of the cut-off and the report if submitted.
    pub async fn daily_report_draft(&self, actor: &Actor, day: &str) -> AppResult<ReportDraft> {
        actor.require(Permission::FileReports)?;
        let day = if day.trim().is_empty() {
            self.today().pred_opt().unwrap_or(NaiveDate::MIN)
        } else {
            parse_day(day)?
        };
        let office = self.own_office(actor, None)?;
        let due_at = self.due_at(&office, day).await?;
        let office_name = self.region_name(&office).await?;
        let submitted = self
            .store
            .daily_report(office.as_str(), &day.to_string())
            .await?
            .map(|r| report_view(r, office_name.clone()));
        Ok(ReportDraft {
            office_code: office.as_str().to_string(),
            office_name,
            day: day.to_string(),
            cut_off: rules::cut_off(day).timestamp(),
            due_at,
            late_now: self.now_unix() > due_at,
            system: self.system_figures(&office, day).await?,
            submitted,
        })
    }

    /// Submits the daily or zero report of the user's own office. Refused: a second report of the
    /// same day, figures unlike the system's without a reason, a zero report the system contradicts
    /// without a reason, another office. After the due time it is kept and marked late (迟报).
    pub async fn submit_daily_report(
        &self,
        actor: &Actor,
        form: &DailyReportForm,
    ) -> AppResult<DailyReportView> {
        actor.require(Permission::FileReports)?;
        let command = SubmitReport::try_from(form)?;
        let office = self.own_office(actor, command.office.as_ref())?;
        self.reportable_day(command.day)?;
        let day = command.day.to_string();
        let office_name = self.region_name(&office).await?;
        let already = |at: i64| {
            AppError::Conflict(format!(
                "{office_name} {day} 的日报告已报送（{}），不能重复报送；如需更正请提交更正",
                fangkong_domain::time::beijing_label(
                    chrono::DateTime::from_timestamp(at, 0).unwrap_or_default()
                )
            ))
        };
        if let Some(existing) = self.store.daily_report(office.as_str(), &day).await? {
            return Err(already(existing.submitted_at));
        }
        let system = self.system_figures(&office, command.day).await?;
        let differences =
            rules::check_submission(command.kind, &system, &command.figures, &command.reason)
                .map_err(|refusal| AppError::Invalid(refusal.message_zh()))?;
        let due_at = self.due_at(&office, command.day).await?;
        let now = self.now_unix();
        let late = rules::classify(Some(now), due_at, now) == Timing::Late;
        let record = DailyReportRecord {
            id: 0,
            office_code: office.clone(),
            report_date: day.clone(),
            kind: command.kind,
            figures: json(&command.figures)?,
            current_figures: json(&command.figures)?,
            system_figures: json(&system)?,
            differences: json(&differences)?,
            difference_reason: command.reason,
            note: command.note,
            due_at,
            submitted_at: now,
            late,
            submitted_by: actor.display_name.clone(),
            corrections: 0,
        };
        let detail = format!(
            "{}{} {day}{}{}",
            office_name,
            command.kind.label_zh(),
            if late { "（迟报）" } else { "" },
            if differences.is_empty() {
                String::new()
            } else {
                format!(
                    "；与系统不一致：{}",
                    differences
                        .iter()
                        .map(Difference::label_zh)
                        .collect::<Vec<_>>()
                        .join("；")
                )
            }
        );
        let audit = audit_record(self, actor, "file_daily_report", "", detail);
        match self.store.insert_daily_report(&record, &audit).await {
            Ok(id) => Ok(report_view(DailyReportRecord { id, ..record }, office_name)),
            Err(e) if e.is_unique_violation() => Err(already(now)),
            Err(e) => Err(e.into()),
        }
    }

    /// Corrects the user's own office's submitted report (误报更正): the original stays, the
    /// correction records each figure's difference and the reason.
    pub async fn correct_daily_report(
        &self,
        actor: &Actor,
        form: &CorrectionForm,
    ) -> AppResult<DailyReportDetail> {
        actor.require(Permission::FileReports)?;
        let typed_office = parse_office(&form.office)?;
        let day = parse_day(&form.day)?;
        let figures = parse_figures(&form.figures)?;
        let reason = bounded(&form.reason, "更正原因", REASON_MAX)?;
        let office = self.own_office(actor, typed_office.as_ref())?;
        self.reportable_day(day)?;
        let report = load_within(
            actor,
            self.store.daily_report(office.as_str(), &day.to_string()),
        )
        .await?;
        let current = figures_of(&report.current_figures);
        let differences =
            rules::check_correction(&current, &figures, &reason).map_err(AppError::Invalid)?;
        let correction = ReportCorrectionRecord {
            id: 0,
            report_id: report.id,
            corrected_at: self.now_unix(),
            corrected_by: actor.display_name.clone(),
            previous: json(&current)?,
            figures: json(&figures)?,
            differences: json(&differences)?,
            reason: reason.clone(),
        };
        let audit = audit_record(
            self,
            actor,
            "correct_daily_report",
            format!("daily_report:{}", report.id),
            format!(
                "更正 {day}：{}；原因：{reason}",
                differences
                    .iter()
                    .map(Difference::label_zh)
                    .collect::<Vec<_>>()
                    .join("；")
            ),
        );
        if !self
            .store
            .correct_daily_report(&correction, report.corrections, &audit)
            .await?
        {
            return Err(AppError::Conflict(
                "该报告刚被他人更正，请刷新后核对再更正".into(),
            ));
        }
        self.daily_report(actor, office.as_str(), &day.to_string())
            .await?
            .ok_or(AppError::NotFound("该日报告"))
    }

    /// One office's report of a day with its corrections (None: not submitted): the office itself
    /// or one below it.
    pub async fn daily_report(
        &self,
        actor: &Actor,
        office: &str,
        day: &str,
    ) -> AppResult<Option<DailyReportDetail>> {
        if !actor.role.allows(Permission::ViewCommand) {
            actor.require(Permission::FileReports)?;
        }
        let office = parse_region_code(office)?;
        let day = parse_day(day)?;
        actor.require_within(&office)?;
        let Some(report) = self
            .store
            .daily_report(office.as_str(), &day.to_string())
            .await?
        else {
            return Ok(None);
        };
        crate::scope::ensure_within(actor, &report)?;
        let corrections = self
            .store
            .daily_report_corrections(report.id)
            .await?
            .into_iter()
            .map(|c| CorrectionView {
                corrected_at: c.corrected_at,
                corrected_by: c.corrected_by,
                differences: serde_json::from_str(&c.differences).unwrap_or_default(),
                reason: c.reason,
            })
            .collect();
        let name = self.region_name(&office).await?;
        Ok(Some(DailyReportDetail {
            report: report_view(report, name),
            corrections,
        }))
    }

    /// The parent's board of a day (empty = yesterday) for `office` (empty = the user's own):
    /// every child office with its status, the counts, the children's totals and the office's own
    /// system figures.
    pub async fn report_board(
        &self,
        actor: &Actor,
        office: &str,
        day: &str,
    ) -> AppResult<ReportBoard> {
        actor.require(Permission::ViewCommand)?;
        let office = match office.trim() {
            "" => actor.jurisdiction.clone(),
            typed => parse_region_code(typed)?,
        };
        actor.require_within(&office)?;
        if !rules::files_reports(office.level()) {
            return Err(AppError::Invalid(
                "村社区和网格不报送日报告：请选择乡镇街道及以上".into(),
            ));
        }
        let day = if day.trim().is_empty() {
            self.today().pred_opt().unwrap_or(NaiveDate::MIN)
        } else {
            parse_day(day)?
        };
        let date = day.to_string();
        let now = self.now_unix();
        let (lower, upper) = office.subtree_range();
        let reports: BTreeMap<String, DailyReportRecord> = self
            .store
            .daily_reports_in((&lower, &upper), &date)
            .await?
            .into_iter()
            .map(|r| (r.office_code.to_string(), r))
            .collect();
        let children: Vec<RegionRecord> = match office.level() {
            RegionLevel::Township => Vec::new(),
            _ => self.store.region_children(office.as_str()).await?,
        };
        let mut rows = Vec::new();
        let mut counts = BoardCounts::default();
        let mut children_total = Figures::default();
        for child in children {
            let code = parse_region_code(&child.code)?;
            let row = self
                .board_row(&code, child.name, day, now, reports.get(&child.code))
                .await?;
            counts.offices += 1;
            match row.timing {
                Timing::OnTime => counts.on_time += 1,
                Timing::Late => counts.late += 1,
                Timing::Missing => counts.missing += 1,
                Timing::NotDue => counts.not_due += 1,
            }
            if let Some(report) = &row.report {
                children_total.add(&report.figures);
                if report.kind == ReportKind::Zero {
                    counts.zero += 1;
                }
                if report.corrections > 0 {
                    counts.corrected += 1;
                }
            }
            rows.push(row);
        }
        let office_name = self.region_name(&office).await?;
        let own = self
            .board_row(
                &office,
                office_name.clone(),
                day,
                now,
                reports.get(office.as_str()),
            )
            .await?;
        Ok(ReportBoard {
            office_code: office.as_str().to_string(),
            parent_code: office
                .parent()
                .filter(|p| actor.jurisdiction.contains(p))
                .map(|p| p.as_str().to_string()),
            office_name,
            day: date,
            own,
            rows,
            counts,
            children_total,
            own_system: self.system_figures(&office, day).await?,
        })
    }

    async fn board_row(
        &self,
        office: &RegionCode,
        name: String,
        day: NaiveDate,
        now: i64,
        report: Option<&DailyReportRecord>,
    ) -> AppResult<BoardRow> {
        let due_at = self.due_at(office, day).await?;
        let timing = rules::classify(report.map(|r| r.submitted_at), due_at, now);
        let report = report.map(|r| report_view(r.clone(), name.clone()));
        Ok(BoardRow {
            office_code: office.as_str().to_string(),
            status: rules::status_label(
                report.as_ref().map(|r| r.kind),
                timing,
                report.as_ref().map_or(0, |r| r.corrections),
            ),
            office_name: name,
            has_children: office.level() < RegionLevel::Township,
            due_at,
            timing,
            report,
        })
    }

    /// For the late list (超时事项): offices in the user's jurisdiction (itself and every office
    /// below it down to the townships) whose report of yesterday is past its due time and not
    /// submitted (漏报), with the due time. Before the due times nothing is listed.
    pub async fn reports_not_filed(&self, actor: &Actor) -> AppResult<Vec<MissingReport>> {
        actor.require(Permission::ViewCommand)?;
        let day = self.today().pred_opt().unwrap_or(NaiveDate::MIN);
        let date = day.to_string();
        let now = self.now_unix();
        let (lower, upper) = actor.jurisdiction_range();
        let filed: std::collections::BTreeSet<String> = self
            .store
            .daily_reports_in((&lower, &upper), &date)
            .await?
            .into_iter()
            .map(|r| r.office_code.into())
            .collect();
        let offices = self
            .store
            .report_offices_in((&lower, &upper), i64::from(RegionLevel::Township.as_i16()))
            .await?;
        let mut due_by_level = BTreeMap::new();
        let mut missing = Vec::new();
        for office in offices {
            if filed.contains(&office.code) {
                continue;
            }
            let Ok(code) = RegionCode::parse(&office.code) else {
                continue;
            };
            let level = code.level();
            let due_at = match due_by_level.get(&level) {
                Some(at) => *at,
                None => {
                    let at = self.due_at(&code, day).await?;
                    due_by_level.insert(level, at);
                    at
                }
            };
            if rules::classify(None, due_at, now) == Timing::Missing {
                missing.push(MissingReport {
                    office_code: office.code,
                    office_name: office.name,
                    day: date.clone(),
                    due_at,
                });
            }
        }
        Ok(missing)
    }
}
