//! Supplies: Gatherings (聚集性活动报批, domain-rules.md §10.3).
//!
//! An organiser (a resident, or the grid worker or command office for them) files an event in
//! their jurisdiction: kind, size, tables for a banquet, the place as a region, the date, and the
//! participants by ID. The policy (`domain::supplies::gatherings::policy`) says who approves it by
//! size and how many days ahead; a filing too late, in a medium or high-risk area (the risk areas
//! in force around the place), or over the banquet limits is refused at once with the reasons. The
//! office of the required level (or above) approves or refuses with words; an approval is refused
//! while the place has become a risk area. Each participant is checked before the date: a green
//! code and a negative sample within 48 hours before the event.

use chrono::NaiveDate;
use fangkong_domain::health_code::CodeColour;
use fangkong_domain::ids::{IdDocument, IdType};
use fangkong_domain::region::RegionCode;
use fangkong_domain::risk_area::AreaTier;
use fangkong_domain::role::Permission;
use fangkong_domain::supplies::gatherings::{
    self as rules, Filing, GatheringKind, GatheringStatus, ParticipantCheck,
};
use fangkong_domain::time::beijing_midnight;
use fangkong_store::CodePerson;
use fangkong_store::supplies::gatherings::GatheringRecord;
use serde::{Deserialize, Serialize};

use crate::scope::{Placed, load_within};
use crate::{Actor, App, AppError, AppResult, Page, audit_record};

/// The most participants one filing lists.
pub const MAX_PARTICIPANTS: usize = 500;

impl Placed for GatheringRecord {
    const WHAT: &'static str = "该聚集性活动";
    // `Placed::place` is the region the record belongs to; the record's own `place` is the venue.
    #[allow(clippy::misnamed_getters)]
    fn place(&self) -> &str {
        self.region_code.as_str()
    }
}

/// A filing as typed.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct GatheringForm {
    pub kind: String,
    pub title: String,
    pub organiser: String,
    pub organiser_phone: String,
    pub size: String,
    pub tables: String,
    pub region_code: String,
    pub place: String,
    /// "2022-12-01".
    pub date: String,
    /// Mainland ID numbers, one a line (or separated by commas).
    pub participants: String,
}

impl std::fmt::Debug for GatheringForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatheringForm")
            .field("kind", &self.kind)
            .field("size", &self.size)
            .field("region_code", &self.region_code)
            .field("date", &self.date)
            .finish_non_exhaustive()
    }
}

/// A decision as typed: `approve` or `refuse`, with words.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DecisionForm {
    pub decision: String,
    pub words: String,
}

/// A filing as pages show it (the organiser's phone masked).
#[derive(Debug, Clone, Serialize)]
pub struct GatheringView {
    pub id: i64,
    pub region_code: String,
    pub place: String,
    pub kind: &'static str,
    pub title: String,
    pub organiser_masked: String,
    pub phone_masked: String,
    pub size: i64,
    pub tables: i64,
    pub date: String,
    pub level: &'static str,
    pub status: &'static str,
    pub status_code: String,
    pub decision: String,
    pub decided_by: String,
    pub participants: i64,
}

/// One participant's check.
#[derive(Debug, Clone, Serialize)]
pub struct ParticipantView {
    pub id_masked: String,
    pub check: &'static str,
    pub ready: bool,
}

/// A filing with its participants checked.
#[derive(Debug, Clone, Serialize)]
pub struct GatheringDetail {
    pub gathering: GatheringView,
    pub participants: Vec<ParticipantView>,
    pub ready: i64,
    pub needs_test: i64,
    pub not_allowed: i64,
}

fn view(g: GatheringRecord, participants: i64) -> GatheringView {
    GatheringView {
        id: g.id,
        kind: g.kind.label_zh(),
        title: g.title,
        organiser_masked: fangkong_domain::ids::mask_middle(&g.organiser, 1, 0),
        phone_masked: fangkong_domain::phone::PhoneNumber::parse(&g.organiser_phone)
            .map(|p| p.masked())
            .unwrap_or_default(),
        size: g.size,
        tables: g.tables,
        date: g.event_date,
        level: g.level.label_zh(),
        status: g.status.label_zh(),
        status_code: g.status.code().to_string(),
        decision: g.decision,
        decided_by: g.decided_by,
        participants,
        place: g.place,
        region_code: g.region_code.into(),
    }
}

/// The participants typed: valid mainland ID numbers, one a line or comma-separated.
fn parse_participants(raw: &str) -> AppResult<Vec<IdDocument>> {
    let mut out: Vec<IdDocument> = Vec::new();
    for (i, item) in raw
        .split(['\n', ',', '，', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
    {
        if out.len() >= MAX_PARTICIPANTS {
            return Err(AppError::field(
                "参加人员",
                format!("一次最多报{MAX_PARTICIPANTS}人"),
            ));
        }
        let doc = IdDocument::parse(IdType::MainlandId, item)
            .map_err(|e| AppError::field("参加人员", format!("第{}个证件号码：{e}", i + 1)))?;
        if !out.iter().any(|d| d.number() == doc.number()) {
            out.push(doc);
        }
    }
    Ok(out)
}

impl App {
    /// The strictest current risk tier whose area contains `code`.
    async fn tier_at(&self, code: &str) -> AppResult<Option<AreaTier>> {
        let rank = |t: AreaTier| match t {
            AreaTier::High | AreaTier::Sealed => 3,
            AreaTier::Medium | AreaTier::Controlled => 2,
            _ => 1,
        };
        Ok(self
            .store
            .active_risk_areas_around(code)
            .await?
            .iter()
            .filter(|a| code.starts_with(a.region_code.as_str()))
            .map(|a| a.tier)
            .max_by_key(|t| rank(*t)))
    }

    /// Files an event; refused at once, with the reasons, when the policy says so.
    pub async fn file_gathering(&self, actor: &Actor, form: &GatheringForm) -> AppResult<i64> {
        actor.require(Permission::FileGatherings)?;
        let kind = GatheringKind::from_code(form.kind.trim())
            .ok_or_else(|| AppError::field("活动类型", "请选择"))?;
        let title = form.title.trim();
        if title.is_empty() || title.chars().count() > 60 {
            return Err(AppError::field("活动名称", "不能为空，最多60个字"));
        }
        let organiser = form.organiser.trim();
        if organiser.is_empty() || organiser.chars().count() > 50 {
            return Err(AppError::field(
                "举办人",
                "不能为空，最多50个字（谁举办谁负责）",
            ));
        }
        let phone = fangkong_domain::phone::PhoneNumber::parse(form.organiser_phone.trim())
            .map_err(|e| AppError::field("联系电话", e))?;
        let (size, tables) =
            rules::check_size(&form.size, &form.tables).map_err(|e| AppError::field("规模", e))?;
        let region = RegionCode::parse(form.region_code.trim())
            .map_err(|e| AppError::field("活动地点区划", e))?;
        let place = form.place.trim();
        if place.chars().count() > 100 {
            return Err(AppError::field("具体地点", "最多100个字"));
        }
        let date = NaiveDate::parse_from_str(form.date.trim(), "%Y-%m-%d")
            .map_err(|_| AppError::field("活动日期", "请写成 2022-12-01 的样子"))?;
        let today = self.today();
        if date < today || (date - today).num_days() > 366 {
            return Err(AppError::field("活动日期", "应在今天到一年之内"));
        }
        let participants = parse_participants(&form.participants)?;
        actor.require_within(&region)?;
        self.region_name(&region).await?;
        let policy = rules::policy();
        let assessment = policy.assess(
            &Filing {
                kind,
                size,
                tables,
                date,
            },
            today,
            self.tier_at(region.as_str()).await?,
        );
        let refused = !assessment.refusals.is_empty();
        let now = self.now_unix();
        let record = GatheringRecord {
            id: 0,
            region_code: region.clone(),
            place: place.to_string(),
            kind,
            title: title.to_string(),
            organiser: organiser.to_string(),
            organiser_phone: phone.as_str().to_string(),
            size,
            tables,
            event_date: date.to_string(),
            level: assessment.level,
            status: if refused {
                GatheringStatus::Refused
            } else {
                GatheringStatus::Filed
            },
            decision: assessment.refusals.join("；"),
            decided_by: if refused {
                "按聚集性活动报批规定".into()
            } else {
                String::new()
            },
            decided_at: refused.then_some(now),
            filed_by: actor.username.clone(),
            filed_at: now,
        };
        let audit = audit_record(
            self,
            actor,
            "file_gathering",
            "",
            format!(
                "{} {}人 {}{}",
                kind.label_zh(),
                size,
                date,
                if refused { "（不予批准）" } else { "" }
            ),
        );
        let documents: Vec<(String, String)> = participants
            .iter()
            .map(|d| (d.id_type().code().to_string(), d.number().to_string()))
            .collect();
        Ok(self
            .store
            .file_gathering(&record, &documents, &audit)
            .await?)
    }

    /// Approves or refuses a waiting filing, at the level its size requires or above.
    pub async fn decide_gathering(
        &self,
        actor: &Actor,
        id: i64,
        form: &DecisionForm,
    ) -> AppResult<()> {
        actor.require(Permission::ApproveGatherings)?;
        let approve = match form.decision.trim() {
            "approve" => true,
            "refuse" => false,
            _ => return Err(AppError::field("审批意见", "请选择批准或不予批准")),
        };
        let words = form.words.trim();
        if words.chars().count() > 300 {
            return Err(AppError::field("审批意见", "最多300个字"));
        }
        if !approve && words.is_empty() {
            return Err(AppError::field("审批意见", "不予批准请写明理由"));
        }
        let g = load_within(actor, self.store.gathering(id)).await?;
        let level = g.level;
        if actor.jurisdiction.level() > level.region_level() {
            return Err(AppError::Conflict(format!(
                "{}人的活动须由{}审批",
                g.size,
                level.label_zh()
            )));
        }
        if g.status != GatheringStatus::Filed {
            return Err(AppError::Conflict("该活动已审批过".into()));
        }
        let mut words = words.to_string();
        if approve
            && let Some(tier) = self.tier_at(g.region_code.as_str()).await?
            && rules::policy()
                .refused_tiers
                .iter()
                .any(|t| t == tier.code())
        {
            return Err(AppError::Conflict(format!(
                "活动地点现在在{}内，不能批准",
                tier.label_zh()
            )));
        }
        if approve && words.is_empty() {
            words = "同意举办；参加人员须绿码并持活动前48小时内核酸阴性证明".into();
        }
        let status = if approve {
            GatheringStatus::Approved
        } else {
            GatheringStatus::Refused
        };
        let audit = audit_record(self, actor, "decide_gathering", "", status.label_zh());
        if self
            .store
            .decide_gathering(
                id,
                status.code(),
                &words,
                &actor.display_name,
                self.now_unix(),
                &audit,
            )
            .await?
        {
            Ok(())
        } else {
            Err(AppError::Conflict("该活动已审批过".into()))
        }
    }

    /// The filings of the actor's jurisdiction, waiting ones first (at most 200).
    pub async fn gatherings(&self, actor: &Actor) -> AppResult<Page<GatheringView>> {
        if !actor.role.allows(Permission::FileGatherings) {
            actor.require(Permission::ViewSupplies)?;
        }
        let (lower, upper) = actor.jurisdiction_range();
        let (rows, total) = self.store.gatherings_in((&lower, &upper), 200).await?;
        Ok(Page::new(
            rows.into_iter().map(|g| view(g, 0)).collect(),
            total,
        ))
    }

    /// A filing with each participant's code and 48-hour negative checked before the date.
    pub async fn gathering_detail(&self, actor: &Actor, id: i64) -> AppResult<GatheringDetail> {
        if !actor.role.allows(Permission::FileGatherings) {
            actor.require(Permission::ViewSupplies)?;
        }
        let g = load_within(actor, self.store.gathering(id)).await?;
        let date =
            NaiveDate::parse_from_str(&g.event_date, "%Y-%m-%d").map_err(AppError::internal)?;
        let start = beijing_midnight(date).timestamp();
        let policy = rules::policy();
        let listed = self.store.gathering_participants(id).await?;
        let mut participants = Vec::with_capacity(listed.len());
        let (mut ready, mut needs_test, mut not_allowed) = (0, 0, 0);
        for (id_type, id_number) in &listed {
            let person = CodePerson {
                id_type: id_type.clone(),
                id_number: fangkong_domain::personal::DocumentNumber::new(id_number.clone()),
            };
            let green = self
                .store
                .health_code(&person)
                .await?
                .is_none_or(|c| c.colour == CodeColour::Green);
            let negatives = self.store.negatives_of(&person).await?;
            let check = policy.check_participant(green, &negatives, start);
            match check {
                ParticipantCheck::Ready => ready += 1,
                ParticipantCheck::NeedsTest => needs_test += 1,
                ParticipantCheck::NotAllowed => not_allowed += 1,
            }
            participants.push(ParticipantView {
                id_masked: crate::population::mask_document(id_type, id_number),
                check: check.label_zh(),
                ready: check == ParticipantCheck::Ready,
            });
        }
        Ok(GatheringDetail {
            gathering: view(g, listed.len() as i64),
            participants,
            ready,
            needs_test,
            not_allowed,
        })
    }
}
