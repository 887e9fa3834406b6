//! Duty (值班值守): rosters of the command offices, today's duty board and handover notes. A
//! command office is a region of province, city, county or township level; its staff are the users
//! whose jurisdiction it is. Only `ManageDuty` edits a roster, and only of an office in the actor's
//! subtree. Spot checks and the accountability list are in `spot_checks.rs`.

use chrono::NaiveDate;
use fangkong_domain::command::duty::{
    self as rules, DutyRole, HANDOVER_MAX_CHARS, RosterLine, Shift,
};
use fangkong_domain::phone::PhoneNumber;
use fangkong_domain::region::{RegionCode, RegionLevel};
use fangkong_domain::role::Permission;
use fangkong_store::command::duty::{HandoverRecord, NewRosterLine, RosterRecord};
use serde::{Deserialize, Serialize};

use crate::population::mask_phone;
use crate::scope::load_within;
use crate::{Actor, App, AppError, AppResult, audit_record};

/// The roster form (one line), as typed. `region_code` is the office.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct RosterForm {
    pub region_code: String,
    pub date: String,
    pub shift: String,
    pub post: String,
    pub role: String,
    pub user_id: String,
    pub duty_line: String,
}

/// A roster line as asked for, every value parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddRosterLine {
    pub office: RegionCode,
    pub date: NaiveDate,
    pub shift: Shift,
    pub post: String,
    pub role: DutyRole,
    pub user_id: i64,
    /// Bare digits, or empty.
    pub duty_line: String,
}

/// A date typed as `2021-01-06`, its refusal naming `field`.
pub(crate) fn parse_day(raw: &str, field: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::field(field, "请按 2021-01-06 的格式填写日期"))
}

/// An office typed or sent: a region code of province to township level.
pub(crate) fn parse_office(raw: &str) -> AppResult<RegionCode> {
    let office = RegionCode::parse(raw.trim()).map_err(|e| AppError::field("值班单位", e))?;
    if office.level() > RegionLevel::Township {
        return Err(AppError::field(
            "值班单位",
            "值班单位是省、市、县、乡镇（街道）的指挥部，村和网格不排班",
        ));
    }
    Ok(office)
}

impl TryFrom<&RosterForm> for AddRosterLine {
    type Error = AppError;

    fn try_from(form: &RosterForm) -> Result<Self, AppError> {
        let office = parse_office(&form.region_code)?;
        let date = parse_day(&form.date, "日期")?;
        let shift = Shift::from_code(form.shift.trim())
            .ok_or_else(|| AppError::field("班次", "请选择白班或夜班"))?;
        let role = DutyRole::from_code(form.role.trim())
            .ok_or_else(|| AppError::field("值班角色", "请选择带班领导、A角或B角"))?;
        let post = rules::parse_post(&form.post).map_err(|e| AppError::field("岗位", e))?;
        let user_id = form
            .user_id
            .trim()
            .parse::<i64>()
            .map_err(|_| AppError::field("值班人员", "请选择本单位的一名人员"))?;
        let duty_line = if form.duty_line.trim().is_empty() {
            String::new()
        } else {
            PhoneNumber::parse(&form.duty_line)
                .map_err(|e| AppError::field("值班电话", e))?
                .as_str()
                .to_string()
        };
        Ok(AddRosterLine {
            office,
            date,
            shift,
            post,
            role,
            user_id,
            duty_line,
        })
    }
}

/// One roster line as pages and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RosterLineView {
    pub id: i64,
    pub office_code: String,
    pub date: String,
    pub shift: Shift,
    pub shift_label: &'static str,
    pub post: String,
    pub role: DutyRole,
    pub role_label: &'static str,
    pub user_id: i64,
    pub name: String,
    /// The duty room's line (值班电话): in full for the roles that may call people, else masked.
    pub duty_line: String,
}

/// One day of an office's roster with its gaps (缺岗), each a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayRoster {
    pub date: String,
    pub lines: Vec<RosterLineView>,
    pub gaps: Vec<String>,
}

/// A user of the office who may be put on the roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffOption {
    pub user_id: i64,
    pub name: String,
    pub role_label: &'static str,
}

/// An office's roster over a range of dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfficeRoster {
    pub office_code: String,
    pub office_name: String,
    pub days: Vec<DayRoster>,
    pub staff: Vec<StaffOption>,
    pub can_edit: bool,
}

/// Who is on duty now at one office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfficeOnDuty {
    pub office_code: String,
    pub office_name: String,
    /// The actor's own office (the rest are the offices directly below).
    pub own: bool,
    pub leaders: Vec<RosterLineView>,
    pub a_roles: Vec<RosterLineView>,
    pub b_roles: Vec<RosterLineView>,
    /// Nobody rostered on today's date at all (flagged on the board).
    pub no_roster_today: bool,
    /// Today's gaps, each a reason.
    pub gaps: Vec<String>,
}

/// A handover note as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandoverView {
    pub office_code: String,
    pub date: String,
    pub shift_label: &'static str,
    pub author: String,
    pub note: String,
    pub written_at: i64,
}

/// Today's duty board (今日值班).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DutyBoard {
    pub date: String,
    pub shift: Shift,
    pub shift_label: &'static str,
    pub offices: Vec<OfficeOnDuty>,
    /// The notes of the shift before and of this one, at these offices.
    pub handovers: Vec<HandoverView>,
    /// Spot checks of the actor's own office still waiting for their result.
    pub open_spot_checks: Vec<crate::command::spot_checks::SpotCheckView>,
}

/// The handover form.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct HandoverForm {
    pub note: String,
}

pub(crate) fn roster_line(r: &RosterRecord) -> RosterLine {
    RosterLine {
        date: NaiveDate::parse_from_str(&r.duty_date, "%Y-%m-%d").unwrap_or_default(),
        shift: r.shift,
        post: r.post.clone(),
        role: r.role,
        user_id: r.user_id,
        name: r.person_name.clone(),
    }
}

fn line_view(actor: &Actor, r: &RosterRecord) -> RosterLineView {
    let (shift, role) = (r.shift, r.role);
    let duty_line = if r.duty_line.is_empty() || actor.role.allows(Permission::RevealPersonalData) {
        r.duty_line.clone()
    } else {
        mask_phone(Some(&r.duty_line))
    };
    RosterLineView {
        id: r.id,
        office_code: r.office_code.to_string(),
        date: r.duty_date.clone(),
        shift,
        shift_label: shift.label_zh(),
        post: r.post.clone(),
        role,
        role_label: role.label_zh(),
        user_id: r.user_id,
        name: r.person_name.clone(),
        duty_line,
    }
}

impl App {
    /// The duty day and shift now, by the app's clock.
    pub fn current_shift(&self) -> (NaiveDate, Shift) {
        rules::shift_at(self.now())
    }

    /// Puts one person on an office's roster. Refused: an office outside the actor's subtree, a
    /// person who is not staff of the office, a past shift, an overlap (the same person twice on a
    /// shift, a second leader, a second A role for a post).
    pub async fn add_roster_line(
        &self,
        actor: &Actor,
        form: &RosterForm,
    ) -> AppResult<RosterLineView> {
        actor.require(Permission::ManageDuty)?;
        // The office first: one outside the subtree is refused before anything else is said.
        actor.require_within(&parse_office(&form.region_code)?)?;
        let line = AddRosterLine::try_from(form)?;
        rules::check_roster_date(line.date, self.today())
            .map_err(|e| AppError::field("日期", e))?;
        if self.store.region(line.office.as_str()).await?.is_none() {
            return Err(AppError::field("值班单位", "没有这个区划"));
        }
        let staff = self.store.office_users(line.office.as_str()).await?;
        let Some((_, name, _, _)) = staff
            .iter()
            .find(|(id, _, _, disabled)| *id == line.user_id && !disabled)
        else {
            return Err(AppError::field(
                "值班人员",
                "只能安排本单位（辖区为该单位）的在用账号值班",
            ));
        };
        let date = line.date.to_string();
        let existing = self
            .store
            .roster_lines(&[line.office.as_str().to_string()], &date, &date)
            .await?;
        let existing: Vec<RosterLine> = existing.iter().map(roster_line).collect();
        let new = RosterLine {
            date: line.date,
            shift: line.shift,
            post: line.post.clone(),
            role: line.role,
            user_id: line.user_id,
            name: name.clone(),
        };
        rules::check_overlap(&existing, &new).map_err(AppError::Conflict)?;
        let write = NewRosterLine {
            office_code: line.office.clone(),
            duty_date: date.clone(),
            shift: line.shift,
            post: line.post.clone(),
            role: line.role,
            user_id: line.user_id,
            person_name: name.clone(),
            duty_line: line.duty_line.clone(),
            created_by: actor.username.clone(),
            created_at: self.now_unix(),
        };
        let detail = format!(
            "{} {} {} {} {}：{}",
            write.office_code,
            date,
            line.shift.label_zh(),
            line.post,
            line.role.label_zh(),
            name
        );
        let audit = audit_record(self, actor, "add_duty_roster", "", detail);
        let id = match self.store.insert_roster_line(&write, &audit).await {
            Ok(id) => id,
            // A race past the check above, or a retry: the unique keys hold the same rule.
            Err(e) if e.is_unique_violation() => {
                return Err(AppError::Conflict(
                    "排班重叠：该班次已有此人，或已有带班领导、该岗位已有A角".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let record = RosterRecord {
            id,
            office_code: write.office_code,
            duty_date: write.duty_date,
            shift: write.shift,
            post: write.post,
            role: write.role,
            user_id: write.user_id,
            person_name: write.person_name,
            duty_line: write.duty_line,
            created_by: write.created_by,
            created_at: write.created_at,
        };
        Ok(line_view(actor, &record))
    }

    /// Takes a line off a roster (a wrong person, a swap); answers the office. Past shifts stay as
    /// they were.
    pub async fn remove_roster_line(&self, actor: &Actor, id: i64) -> AppResult<String> {
        actor.require(Permission::ManageDuty)?;
        let line = load_within(actor, self.store.roster_line(id)).await?;
        let date =
            NaiveDate::parse_from_str(&line.duty_date, "%Y-%m-%d").map_err(AppError::internal)?;
        let (_, end) = rules::shift_window(date, line.shift);
        if end <= self.now() {
            return Err(AppError::Conflict(
                "该班次已经结束，排班记录不能再撤销".into(),
            ));
        }
        let detail = format!(
            "{} {} {} {}：{}",
            line.office_code,
            line.duty_date,
            line.role.label_zh(),
            line.post,
            line.person_name
        );
        let audit = audit_record(
            self,
            actor,
            "remove_duty_roster",
            format!("duty_roster:{id}"),
            detail,
        );
        if !self.store.delete_roster_line(id, &audit).await? {
            return Err(AppError::NotFound("该排班"));
        }
        Ok(line.office_code.into())
    }

    /// An office's roster from `from` to `to` (dates; empty: today and the next 6 days), each day
    /// with its gaps, and the staff who may be rostered. `KeepDuty` sees its own office and those
    /// below; only `ManageDuty` may edit.
    pub async fn office_roster(
        &self,
        actor: &Actor,
        office: &str,
        from: &str,
        to: &str,
    ) -> AppResult<OfficeRoster> {
        actor.require(Permission::KeepDuty)?;
        let office = if office.trim().is_empty() {
            actor.jurisdiction.clone()
        } else {
            parse_office(office)?
        };
        actor.require_within(&office)?;
        let from = if from.trim().is_empty() {
            self.today()
        } else {
            parse_day(from, "开始日期")?
        };
        let to = if to.trim().is_empty() {
            from + chrono::Duration::days(6)
        } else {
            parse_day(to, "结束日期")?
        };
        let dates = rules::date_range(from, to).map_err(|e| AppError::field("日期范围", e))?;
        let records = self
            .store
            .roster_lines(
                &[office.as_str().to_string()],
                &from.to_string(),
                &to.to_string(),
            )
            .await?;
        let lines: Vec<RosterLine> = records.iter().map(roster_line).collect();
        let days = dates
            .into_iter()
            .map(|date| {
                let text = date.to_string();
                DayRoster {
                    lines: records
                        .iter()
                        .filter(|r| r.duty_date == text)
                        .map(|r| line_view(actor, r))
                        .collect(),
                    gaps: rules::roster_gaps(date, &lines),
                    date: text,
                }
            })
            .collect();
        let staff = self
            .store
            .office_users(office.as_str())
            .await?
            .into_iter()
            .filter(|(_, _, _, disabled)| !disabled)
            .map(|(user_id, name, role, _)| StaffOption {
                user_id,
                name,
                role_label: fangkong_domain::role::Role::from_code(&role)
                    .map(|r| r.label_zh())
                    .unwrap_or(""),
            })
            .collect();
        Ok(OfficeRoster {
            office_name: self.region_name(&office).await?,
            office_code: office.as_str().to_string(),
            days,
            staff,
            can_edit: actor.role.allows(Permission::ManageDuty),
        })
    }

    /// The offices the actor's board shows: their own and the offices directly below.
    async fn board_offices(&self, actor: &Actor) -> AppResult<Vec<(String, String)>> {
        let own = actor.jurisdiction.as_str().to_string();
        let mut offices = vec![(own.clone(), self.region_name(&actor.jurisdiction).await?)];
        if actor.jurisdiction.level() < RegionLevel::Township {
            for child in self.store.region_children(&own).await? {
                offices.push((child.code, child.name));
            }
        }
        Ok(offices)
    }

    /// Today's duty board (今日值班): who is on duty now (leader, A, B, duty_line) at the actor's office
    /// and the offices directly below, those with no roster today flagged; the handover notes of
    /// the shift before and this one; the actor's office's spot checks waiting for a result.
    pub async fn duty_board(&self, actor: &Actor) -> AppResult<DutyBoard> {
        actor.require(Permission::KeepDuty)?;
        let (date, shift) = self.current_shift();
        let offices = self.board_offices(actor).await?;
        let codes: Vec<String> = offices.iter().map(|(c, _)| c.clone()).collect();
        let (before_date, _) = rules::previous_shift(date, shift);
        let records = self
            .store
            .roster_lines(&codes, &before_date.to_string(), &date.to_string())
            .await?;
        let today = date.to_string();
        let board = offices
            .into_iter()
            .map(|(code, name)| {
                let of_office: Vec<&RosterRecord> = records
                    .iter()
                    .filter(|r| r.office_code.as_str() == code)
                    .collect();
                let today_lines: Vec<RosterLine> = of_office
                    .iter()
                    .filter(|r| r.duty_date == today)
                    .map(|r| roster_line(r))
                    .collect();
                let now_on = |role: DutyRole| -> Vec<RosterLineView> {
                    of_office
                        .iter()
                        .filter(|r| r.duty_date == today && r.shift == shift && r.role == role)
                        .map(|r| line_view(actor, r))
                        .collect()
                };
                OfficeOnDuty {
                    own: code == actor.jurisdiction.as_str(),
                    leaders: now_on(DutyRole::Leader),
                    a_roles: now_on(DutyRole::A),
                    b_roles: now_on(DutyRole::B),
                    no_roster_today: today_lines.is_empty(),
                    gaps: rules::roster_gaps(date, &today_lines),
                    office_code: code,
                    office_name: name,
                }
            })
            .collect();
        let (previous_date, previous_shift) = rules::previous_shift(date, shift);
        let handovers = self
            .store
            .handovers(&codes, &previous_date.to_string(), &today)
            .await?
            .into_iter()
            .filter(|h| {
                (h.duty_date == today && h.shift == shift)
                    || (h.duty_date == previous_date.to_string() && h.shift == previous_shift)
            })
            .map(|h| HandoverView {
                office_code: h.office_code.into(),
                date: h.duty_date,
                shift_label: h.shift.label_zh(),
                author: h.author_name,
                note: h.note,
                written_at: h.written_at,
            })
            .collect();
        let open_spot_checks = self.open_spot_checks_of_own_office(actor).await?;
        Ok(DutyBoard {
            date: today,
            shift,
            shift_label: shift.label_zh(),
            offices: board,
            handovers,
            open_spot_checks,
        })
    }

    /// The outgoing shift's handover note (交接班记录) for the actor's office and the shift now.
    /// One per author and shift: a retry (or a second note) writes nothing and answers false.
    pub async fn write_handover(&self, actor: &Actor, form: &HandoverForm) -> AppResult<bool> {
        actor.require(Permission::KeepDuty)?;
        let note = form.note.trim();
        if note.is_empty() {
            return Err(AppError::field("交接班记录", "请填写交接事项"));
        }
        if note.chars().count() > HANDOVER_MAX_CHARS {
            return Err(AppError::field(
                "交接班记录",
                format!("最多{HANDOVER_MAX_CHARS}个字"),
            ));
        }
        let office = parse_office(actor.jurisdiction.as_str())?;
        let (date, shift) = self.current_shift();
        let record = HandoverRecord {
            id: 0,
            office_code: office.clone(),
            duty_date: date.to_string(),
            shift,
            author_id: actor.user_id,
            author_name: actor.display_name.clone(),
            note: note.to_string(),
            written_at: self.now_unix(),
        };
        let audit = audit_record(
            self,
            actor,
            "write_handover",
            format!("duty_handover:{}", office.as_str()),
            format!("{date} {}", shift.label_zh()),
        );
        Ok(self.store.insert_handover(&record, &audit).await?)
    }
}
