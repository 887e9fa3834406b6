//! Bulletins (信息发布): the command office's daily public notice. The draft is written from the
//! day's figures — new cases by kind, the totals, people under control — and the anonymised text
//! of each case found that day (the case bulletin's words: sex, age, village, public stops; never
//! a name, number or house); the office reviews (edits) and publishes it; the public page lists
//! the published ones without login, like the public risk-area list.

use chrono::{Duration, NaiveDate};
use fangkong_domain::role::Permission;
use fangkong_domain::time::beijing_midnight;
use fangkong_store::command::BulletinRecord;
use serde::Serialize;

use crate::{Actor, App, AppError, AppResult, audit_record};

/// The longest body a reviewer may save (a day's notice with a few hundred case texts).
pub const BULLETIN_MAX_CHARS: usize = 60_000;
const TITLE_MAX_CHARS: usize = 120;

/// A bulletin as pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct BulletinView {
    pub id: i64,
    pub region_code: String,
    pub day: String,
    pub title: String,
    pub body: String,
    pub published: bool,
    pub status_label: &'static str,
    pub published_label: String,
}

fn view(b: BulletinRecord) -> BulletinView {
    BulletinView {
        published: b.status == "published",
        status_label: if b.status == "published" {
            "已发布"
        } else {
            "草稿（待审核发布）"
        },
        published_label: b
            .published_at
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map(fangkong_domain::time::beijing_label)
            .unwrap_or_default(),
        id: b.id,
        region_code: b.region_code.into(),
        day: b.day,
        title: b.title,
        body: b.body,
    }
}

/// The reviewed words of a bulletin: a title and a body, both bounded, neither empty.
pub struct BulletinEdit {
    pub title: String,
    pub body: String,
}

impl BulletinEdit {
    pub fn parse(title: &str, body: &str) -> AppResult<BulletinEdit> {
        let title = title.trim();
        let body = body.trim().replace("\r\n", "\n");
        if title.is_empty() {
            return Err(AppError::field("标题", "不能为空"));
        }
        if title.chars().count() > TITLE_MAX_CHARS {
            return Err(AppError::field(
                "标题",
                format!("不能超过 {TITLE_MAX_CHARS} 个字"),
            ));
        }
        if body.is_empty() {
            return Err(AppError::field("正文", "不能为空"));
        }
        if body.chars().count() > BULLETIN_MAX_CHARS {
            return Err(AppError::field(
                "正文",
                format!("不能超过 {BULLETIN_MAX_CHARS} 个字"),
            ));
        }
        Ok(BulletinEdit {
            title: title.to_string(),
            body,
        })
    }
}

/// Parses the day a bulletin reports ('YYYY-MM-DD'), not after today.
pub fn parse_bulletin_day(raw: &str, today: NaiveDate) -> AppResult<NaiveDate> {
    let day = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::field("通报日期", "请按 2021-01-12 的格式填写"))?;
    if day > today {
        return Err(AppError::field("通报日期", "不能晚于今天"));
    }
    Ok(day)
}

impl App {
    /// Drafts (or redrafts) the actor's office's bulletin of `day` from the system's figures.
    /// A published bulletin is never redrafted.
    pub async fn draft_bulletin(&self, actor: &Actor, day: &str) -> AppResult<i64> {
        actor.require(Permission::PublishBulletins)?;
        let day = parse_bulletin_day(day, self.today())?;
        let region = actor.jurisdiction.clone();
        let (lower, upper) = region.subtree_range();
        let range = (lower.as_str(), upper.as_str());
        let name = self.region_name(&region).await?;
        let start = beijing_midnight(day).timestamp();
        let end = start + Duration::days(1).num_seconds();

        let mut new = crate::command::KindCounts::default();
        for row in self
            .store
            .cases_found_by_child(range, region.as_str().len() as i64, start, end)
            .await?
        {
            new.add(&row.what, row.n);
        }
        let counts = self.store.case_counts(range, end, 2, 24).await?;
        let md = day.format("%-m月%-d日");
        let title = format!(
            "{name}新冠肺炎疫情情况通报（{}）",
            day.format("%Y年%-m月%-d日")
        );
        let mut body = format!(
            "{md}0—24时，{name}新增本土确诊病例{}例、本土无症状感染者{}例。\
             截至发稿时，{name}累计报告本土确诊病例{}例、无症状感染者{}例，\
             尚在医学观察的密切接触者{}人。",
            new.confirmed,
            new.asymptomatic,
            counts.confirmed,
            counts.asymptomatic,
            counts.close_contacts,
        );
        // The day's cases, oldest first, in the case bulletin's anonymised words.
        let mut cases: Vec<_> = self
            .store
            .bulletin_cases(range, start, 1_000)
            .await?
            .into_iter()
            .filter(|c| c.found_at < end)
            .collect();
        cases.reverse();
        if !cases.is_empty() {
            body.push_str("\n\n新增病例活动轨迹：");
        }
        for (i, case) in cases.iter().enumerate() {
            let stops = self.store.case_stops(case.id).await?;
            body.push('\n');
            body.push_str(&self.bulletin_text(case, &stops, i + 1).await?);
        }
        body.push_str(
            "\n\n请广大群众坚持戴口罩、勤洗手、常通风、少聚集，\
             出现发热、干咳等症状及时到就近发热门诊就诊。",
        );
        let draft = BulletinRecord {
            id: 0,
            region_code: region.clone(),
            day: day.to_string(),
            title,
            body,
            status: "draft".into(),
            drafted_by: actor.display_name.clone(),
            drafted_at: self.now_unix(),
            published_by: None,
            published_at: None,
        };
        let audit = audit_record(self, actor, "draft_bulletin", "", format!("通报日期 {day}"));
        self.store
            .save_bulletin_draft(&draft, &audit)
            .await?
            .ok_or_else(|| {
                AppError::Conflict(format!(
                    "{day} 的通报已发布，不能重新生成；如需更正请发布更正通报"
                ))
            })
    }

    /// A bulletin of the actor's office (or an office below).
    async fn bulletin_within(&self, actor: &Actor, id: i64) -> AppResult<BulletinRecord> {
        let bulletin = self
            .store
            .bulletin(id)
            .await?
            .ok_or(AppError::NotFound("该通报"))?;
        if !actor.jurisdiction.contains(&bulletin.region_code) {
            return Err(AppError::NotFound("该通报"));
        }
        Ok(bulletin)
    }

    /// Saves the reviewer's words of a draft.
    pub async fn edit_bulletin(
        &self,
        actor: &Actor,
        id: i64,
        title: &str,
        body: &str,
    ) -> AppResult<()> {
        actor.require(Permission::PublishBulletins)?;
        let edit = BulletinEdit::parse(title, body)?;
        self.bulletin_within(actor, id).await?;
        let audit = audit_record(self, actor, "edit_bulletin", "", "审核修改通报");
        if !self
            .store
            .edit_bulletin(id, &edit.title, &edit.body, &audit)
            .await?
        {
            return Err(AppError::Conflict("该通报已发布，不能再修改".into()));
        }
        Ok(())
    }

    /// Publishes a draft: from now on the public page shows it.
    pub async fn publish_bulletin(&self, actor: &Actor, id: i64) -> AppResult<()> {
        actor.require(Permission::PublishBulletins)?;
        let bulletin = self.bulletin_within(actor, id).await?;
        let audit = audit_record(
            self,
            actor,
            "publish_bulletin",
            "",
            format!("发布 {} 的通报", bulletin.day),
        );
        if !self
            .store
            .publish_bulletin(id, &actor.display_name, self.now_unix(), &audit)
            .await?
        {
            return Err(AppError::Conflict("该通报已发布".into()));
        }
        Ok(())
    }

    /// The bulletins of the jurisdiction, newest day first.
    pub async fn bulletins(&self, actor: &Actor) -> AppResult<Vec<BulletinView>> {
        actor.require(Permission::ViewCommand)?;
        let (lower, upper) = actor.jurisdiction_range();
        Ok(self
            .store
            .bulletins_in((&lower, &upper), 60)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// One bulletin of the jurisdiction.
    pub async fn bulletin(&self, actor: &Actor, id: i64) -> AppResult<BulletinView> {
        actor.require(Permission::ViewCommand)?;
        Ok(view(self.bulletin_within(actor, id).await?))
    }

    /// The published bulletins, newest first (no login).
    pub async fn public_bulletins(&self) -> AppResult<Vec<BulletinView>> {
        Ok(self
            .store
            .published_bulletins(60)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }
}
