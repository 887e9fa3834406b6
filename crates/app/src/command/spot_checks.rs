//! Spot checks (抽查) of the duty rooms below and the accountability list (督查问责). A checker with
//! `ManageDuty` calls offices of their subtree that have someone on duty now — picked at random, or
//! one named — and records the answer; a failure (not answered, late, not knowing the situation,
//! answered by someone not on the roster) is listed for accountability, worst office first.

use chrono::{DateTime, Duration, Utc};
use fangkong_domain::command::duty::{
    self as rules, AccountabilityItem, AccountabilityKind, OfficeAccountability,
    SPOT_CHECK_MAX_OFFICES, SPOT_NOTE_MAX_CHARS, SpotAnswer,
};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Permission;
use fangkong_store::command::duty::{NewSpotCheck, SpotCheckRecord, SpotResultWrite};
use serde::{Deserialize, Serialize};

use super::duty::parse_office;
use crate::scope::load_within;
use crate::{Actor, App, AppError, AppResult, Page, audit_record, parse_occurred_at};

/// The form that calls spot checks: one office named (`region_code`), or `count` offices picked at
/// random (`region_code` empty); `minutes` to answer (empty: the default); `called_at` only when
/// the call is entered afterwards (补录).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SpotCheckForm {
    pub region_code: String,
    pub count: String,
    pub minutes: String,
    pub called_at: String,
}

/// The result form: whether the duty room answered, when, who (a user id of the office, or empty
/// when the person is no user), whether they knew the situation, a note.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SpotResultForm {
    /// "yes" or "no".
    pub answered: String,
    /// Beijing time; empty = now.
    pub answered_at: String,
    pub answered_by: String,
    /// The name said on the phone when the person is no user of the office.
    pub answered_by_name: String,
    /// "yes" or "no".
    pub knew_situation: String,
    pub note: String,
}

/// A spot check as pages and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpotCheckView {
    pub id: i64,
    pub office_code: String,
    pub office_name: String,
    pub shift_label: &'static str,
    pub duty_date: String,
    pub called_at: i64,
    pub deadline_at: i64,
    pub called_by: String,
    pub recorded: bool,
    pub answered_at: Option<i64>,
    pub answered_by_name: String,
    /// Answered at or before the deadline.
    pub in_time: bool,
    pub knew_situation: bool,
    pub passed: bool,
    /// Why it failed, in words.
    pub failures: Vec<&'static str>,
    pub note: String,
    /// Before the result is recorded: who is on the roster of the shift called, (user id, "李A角
    /// · A角"), for the result form's choice of who answered.
    pub on_duty: Vec<(i64, String)>,
}

/// An office's line of the accountability list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountabilityRow {
    pub office_code: String,
    pub office_name: String,
    pub total: usize,
    /// "抽查未应答 2" …
    pub counts: Vec<(&'static str, usize)>,
    pub last_at: i64,
    pub items: Vec<AccountabilityItem>,
}

fn yes_no(raw: &str, field: &str) -> AppResult<bool> {
    match raw.trim() {
        "yes" | "是" | "true" => Ok(true),
        "no" | "否" | "false" => Ok(false),
        _ => Err(AppError::field(field, "请选择是或否")),
    }
}

fn failure_kinds(codes: &str) -> Vec<AccountabilityKind> {
    codes
        .split(',')
        .filter_map(AccountabilityKind::from_code)
        .collect()
}

impl App {
    async fn spot_view(&self, r: SpotCheckRecord) -> AppResult<SpotCheckView> {
        let office_name = self.region_name(&r.office_code).await?;
        let shift = r.shift;
        let mut on_duty = Vec::new();
        if !r.recorded {
            let roster = self
                .store
                .roster_lines(&[r.office_code.to_string()], &r.duty_date, &r.duty_date)
                .await?;
            on_duty = roster
                .into_iter()
                .filter(|l| l.shift == r.shift)
                .map(|l| {
                    let role = l.role.label_zh();
                    (l.user_id, format!("{} · {role}", l.person_name))
                })
                .collect();
        }
        Ok(SpotCheckView {
            on_duty,
            id: r.id,
            office_name,
            shift_label: shift.label_zh(),
            duty_date: r.duty_date,
            called_at: r.called_at,
            deadline_at: r.deadline_at,
            called_by: r.called_by,
            recorded: r.recorded,
            in_time: r.answered_at.is_some_and(|at| at <= r.deadline_at),
            answered_at: r.answered_at,
            answered_by_name: r.answered_by_name,
            knew_situation: r.knew_situation,
            passed: r.passed,
            failures: failure_kinds(&r.failures)
                .into_iter()
                .map(AccountabilityKind::label_zh)
                .collect(),
            note: r.note,
            office_code: r.office_code.into(),
        })
    }

    /// Calls spot checks: the office named in the form, or `count` offices (1 to
    /// [`SPOT_CHECK_MAX_OFFICES`], default 1) picked at random among the offices below the actor
    /// with someone on duty now. Refused: an office outside the actor's subtree, the actor's own
    /// office, an office with nobody on duty on the shift called.
    pub async fn call_spot_checks(
        &self,
        actor: &Actor,
        form: &SpotCheckForm,
    ) -> AppResult<Vec<SpotCheckView>> {
        actor.require(Permission::ManageDuty)?;
        let named = if form.region_code.trim().is_empty() {
            None
        } else {
            Some(parse_office(&form.region_code)?)
        };
        let count = match form.count.trim() {
            "" => 1,
            text => match text.parse::<usize>() {
                Ok(n) if (1..=SPOT_CHECK_MAX_OFFICES).contains(&n) => n,
                _ => {
                    return Err(AppError::field(
                        "抽查数量",
                        format!("请填写1到{SPOT_CHECK_MAX_OFFICES}之间的整数"),
                    ));
                }
            },
        };
        if let Some(office) = &named {
            actor.require_within(office)?;
        }
        let minutes = rules::parse_minutes(&form.minutes)
            .map_err(|e| AppError::field("应答时限（分钟）", e))?;
        let entered = parse_occurred_at(&form.called_at, "抽查时间")?;
        let called_at = self.occurred_at(entered, "抽查时间", None)?;
        let called = DateTime::<Utc>::from_timestamp(called_at, 0).unwrap_or_else(|| self.now());
        let (date, shift) = rules::shift_at(called);
        let (lower, upper) = actor.jurisdiction_range();
        let rostered = self
            .store
            .rostered_offices((&lower, &upper), &date.to_string(), shift.code())
            .await?;
        let own = actor.jurisdiction.as_str();
        let offices: Vec<String> = match named {
            Some(office) => {
                if office.as_str() == own {
                    return Err(AppError::field(
                        "值班单位",
                        "抽查的是下级值班室，不能抽查本级",
                    ));
                }
                if !rostered.iter().any(|o| o == office.as_str()) {
                    return Err(AppError::Conflict(format!(
                        "{}（{}）{} {}没有排班，无人在岗可抽查：请先督促其排班",
                        self.region_name(&office).await?,
                        office.as_str(),
                        date,
                        shift.label_zh()
                    )));
                }
                vec![office.as_str().to_string()]
            }
            None => {
                let below: Vec<String> = rostered.into_iter().filter(|o| o != own).collect();
                if below.is_empty() {
                    return Err(AppError::Conflict(format!(
                        "辖区内下级值班室{date} {}都没有排班，无可抽查的值班室",
                        shift.label_zh()
                    )));
                }
                let seed = (self.now().timestamp_nanos_opt().unwrap_or(called_at) as u64)
                    ^ (actor.user_id as u64).rotate_left(32)
                    ^ rand::random::<u64>();
                rules::pick(&below, count, seed)
            }
        };
        let deadline_at = (called + Duration::minutes(minutes)).timestamp();
        let checks = offices
            .iter()
            .map(|office| {
                Ok(NewSpotCheck {
                    office_code: RegionCode::parse(office).map_err(AppError::internal)?,
                    duty_date: date.to_string(),
                    shift,
                    called_at,
                    deadline_at,
                    called_by: actor.username.clone(),
                    checker_office: actor.jurisdiction.clone(),
                })
            })
            .collect::<AppResult<Vec<NewSpotCheck>>>()?;
        let detail = self.occurred_detail(format!("{minutes}分钟内应答"), called_at);
        let audit = audit_record(self, actor, "call_spot_check", "", detail);
        let ids = self.store.insert_spot_checks(&checks, &audit).await?;
        let mut views = Vec::with_capacity(ids.len());
        for id in ids {
            let record = load_within(actor, self.store.spot_check(id)).await?;
            views.push(self.spot_view(record).await?);
        }
        Ok(views)
    }

    /// Records what the duty room answered. Only a checker above the office (not the office
    /// itself) records it, once. Passed = answered in time by someone on the roster of the shift
    /// called, knowing the situation.
    pub async fn record_spot_check(
        &self,
        actor: &Actor,
        id: i64,
        form: &SpotResultForm,
    ) -> AppResult<SpotCheckView> {
        actor.require(Permission::ManageDuty)?;
        let answered = yes_no(&form.answered, "是否应答")?;
        let knew = if answered {
            yes_no(&form.knew_situation, "是否掌握情况")?
        } else {
            false
        };
        let entered = if answered {
            parse_occurred_at(&form.answered_at, "应答时间")?
        } else {
            None
        };
        let answered_by: Option<i64> = match form.answered_by.trim() {
            "" => None,
            text => Some(
                text.parse()
                    .map_err(|_| AppError::field("应答人", "请选择该单位的人员"))?,
            ),
        };
        let typed_name = form.answered_by_name.trim();
        if typed_name.chars().count() > 20 {
            return Err(AppError::field("应答人姓名", "最多20个字"));
        }
        let note = form.note.trim();
        if note.chars().count() > SPOT_NOTE_MAX_CHARS {
            return Err(AppError::field(
                "备注",
                format!("最多{SPOT_NOTE_MAX_CHARS}个字"),
            ));
        }
        if answered && answered_by.is_none() && typed_name.is_empty() {
            return Err(AppError::field("应答人", "请选择或填写接电话的人"));
        }
        let check = load_within(actor, self.store.spot_check(id)).await?;
        if check.office_code == actor.jurisdiction {
            return Err(AppError::Conflict(
                "抽查结果由上级抽查人员记录，被抽查的值班室不能记录自己的结果".into(),
            ));
        }
        if check.recorded {
            return Err(AppError::Conflict(
                "该抽查的结果已经记录过，不能重复记录".into(),
            ));
        }
        let answered_at = if answered {
            Some(self.occurred_at(entered, "应答时间", Some(("抽查时间", check.called_at)))?)
        } else {
            None
        };
        let roster = self
            .store
            .roster_lines(
                &[check.office_code.to_string()],
                &check.duty_date,
                &check.duty_date,
            )
            .await?;
        let on_shift: Vec<_> = roster.iter().filter(|r| r.shift == check.shift).collect();
        let mut name = typed_name.to_string();
        if let Some(user) = answered_by {
            let staff = self.store.office_users(check.office_code.as_str()).await?;
            let Some((_, staff_name, _, _)) = staff.iter().find(|(uid, ..)| *uid == user) else {
                return Err(AppError::field("应答人", "不是该单位的人员"));
            };
            name = staff_name.clone();
        }
        let answer = SpotAnswer {
            answered_at: answered_at.and_then(|at| DateTime::from_timestamp(at, 0)),
            answerer_on_roster: answered_by
                .is_some_and(|u| on_shift.iter().any(|r| r.user_id == u)),
            knew_situation: knew,
        };
        let deadline = DateTime::from_timestamp(check.deadline_at, 0).unwrap_or_else(|| self.now());
        let failures = rules::spot_check_failures(deadline, &answer);
        let write = SpotResultWrite {
            id,
            answered_at,
            answered_by_user_id: answered_by,
            answered_by_name: name,
            knew_situation: knew,
            passed: failures.is_empty(),
            failures: failures
                .iter()
                .map(|k| k.code())
                .collect::<Vec<_>>()
                .join(","),
            note: note.to_string(),
            recorded_by: actor.username.clone(),
            recorded_at: self.now_unix(),
        };
        let words = if failures.is_empty() {
            "合格".to_string()
        } else {
            let why: Vec<&str> = failures.iter().map(|k| k.label_zh()).collect();
            format!("不合格：{}", why.join("、"))
        };
        let audit = audit_record(
            self,
            actor,
            "record_spot_check",
            format!("spot_check:{id}"),
            format!("{}；{words}", check.office_code),
        );
        if !self.store.record_spot_check(&write, &audit).await? {
            return Err(AppError::Conflict(
                "该抽查的结果已经记录过，不能重复记录".into(),
            ));
        }
        let record = load_within(actor, self.store.spot_check(id)).await?;
        self.spot_view(record).await
    }

    /// The spot checks of offices in the actor's subtree, newest first.
    pub async fn spot_checks(&self, actor: &Actor) -> AppResult<Page<SpotCheckView>> {
        actor.require(Permission::ManageDuty)?;
        let (lower, upper) = actor.jurisdiction_range();
        let records = self
            .store
            .spot_checks_in((&lower, &upper), false, 201)
            .await?;
        let total = records.len() as i64;
        let mut views = Vec::new();
        for r in records.into_iter().take(200) {
            views.push(self.spot_view(r).await?);
        }
        Ok(Page::new(views, total))
    }

    /// The spot checks of the actor's own office not yet recorded (the duty room sees it was called).
    pub(crate) async fn open_spot_checks_of_own_office(
        &self,
        actor: &Actor,
    ) -> AppResult<Vec<SpotCheckView>> {
        let own = actor.jurisdiction.as_str();
        let upper = format!("{own}:");
        let records = self.store.spot_checks_in((own, &upper), false, 20).await?;
        let mut views = Vec::new();
        for r in records
            .into_iter()
            .filter(|r| !r.recorded && r.office_code == actor.jurisdiction)
        {
            views.push(self.spot_view(r).await?);
        }
        Ok(views)
    }

    /// The duty failures of the actor's subtree as accountability items. Other modules' failures
    /// (the daily reports' late and missing reports) are fed to [`App::accountability`] the same
    /// way: a function returning `Vec<AccountabilityItem>` for a subtree.
    pub(crate) async fn spot_check_accountability_items(
        &self,
        range: (&str, &str),
    ) -> AppResult<Vec<AccountabilityItem>> {
        let failed = self.store.spot_checks_in(range, true, 5000).await?;
        Ok(failed
            .into_iter()
            .flat_map(|r| {
                failure_kinds(&r.failures)
                    .into_iter()
                    .map(move |kind| AccountabilityItem {
                        office: r.office_code.to_string(),
                        kind,
                        at: r.called_at,
                        source: format!("抽查 #{}", r.id),
                    })
            })
            .collect())
    }

    /// The accountability list (督查问责) of the actor's subtree: failures rolled up per office,
    /// worst first. Its items come from every source listed here.
    pub async fn accountability(&self, actor: &Actor) -> AppResult<Vec<AccountabilityRow>> {
        actor.require(Permission::ManageDuty)?;
        let (lower, upper) = actor.jurisdiction_range();
        let items = self
            .spot_check_accountability_items((&lower, &upper))
            .await?;
        let mut rows = Vec::new();
        for office in rules::roll_up(items) {
            rows.push(self.accountability_row(office).await?);
        }
        Ok(rows)
    }

    async fn accountability_row(&self, o: OfficeAccountability) -> AppResult<AccountabilityRow> {
        let office_name = match fangkong_domain::region::RegionCode::parse(&o.office) {
            Ok(code) => self.region_name(&code).await?,
            Err(_) => o.office.clone(),
        };
        Ok(AccountabilityRow {
            office_name,
            office_code: o.office,
            total: o.total,
            counts: o.counts.iter().map(|(k, n)| (k.label_zh(), *n)).collect(),
            last_at: o.last_at,
            items: o.items,
        })
    }
}
