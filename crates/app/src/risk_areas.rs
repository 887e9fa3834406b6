//! Risk areas (风险区域): designation over region units, the lifting state machine per regime
//! (shown as the next possible step and its date, confirmed by a commander), the public list.
//! Mass testing picks pool sizes by these tiers; checkpoints read arrivals from them.

use fangkong_domain::region::{RegionCode, RegionLevel};
use fangkong_domain::risk_area::{
    self as ra, AreaHistory, AreaScheme, AreaTier, AreaUnit, StepTarget,
};
use fangkong_domain::role::Permission;
use fangkong_store::{NewRiskArea, RiskAreaRecord, RiskAreaRoundRecord, RiskAreaStepRecord};
use serde::{Deserialize, Serialize};

use crate::health_code::{beijing_label, day_start_time, unix_to_utc};
use crate::scope::load_within;
use crate::{Actor, App, AppError, AppResult, audit_record, parse_occurred_at};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RiskAreaForm {
    #[serde(default)]
    pub scheme: String,
    pub tier: String,
    pub unit: String,
    pub region_code: String,
    /// The compound or building for units below a village; empty = the region's own name.
    #[serde(default)]
    pub place_name: String,
    pub reason: String,
    /// When the area was designated, if before now (补录): Beijing time; empty = now.
    #[serde(default)]
    pub occurred_at: String,
}

/// The field of a designation's time, as the form labels it.
const DESIGNATED_AT_FIELD: &str = "划定时间";

/// A designation as a commander asked for it, every value parsed: what [`App::designate_risk_area`]
/// checks against the register and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesignateRiskArea {
    pub scheme: AreaScheme,
    pub tier: AreaTier,
    pub unit: AreaUnit,
    pub region: RegionCode,
    /// The compound or building below the region; empty = the region itself.
    pub place_name: String,
    pub reason: String,
    /// When it was designated (补录); None = now. The clean days count from it.
    pub occurred_at: Option<DateTime<Utc>>,
}

impl TryFrom<&RiskAreaForm> for DesignateRiskArea {
    type Error = AppError;

    fn try_from(form: &RiskAreaForm) -> Result<Self, AppError> {
        let tier = AreaTier::from_code(form.tier.trim())
            .ok_or_else(|| AppError::Invalid("请选择风险等级".into()))?;
        let scheme = if form.scheme.trim().is_empty() {
            tier.scheme()
        } else {
            AreaScheme::from_code(form.scheme.trim())
                .ok_or_else(|| AppError::Invalid("划分方案无法识别".into()))?
        };
        if !scheme.tiers().contains(&tier) {
            return Err(AppError::Invalid(format!(
                "{}不属于{}：请选择{}",
                tier.label_zh(),
                scheme.label_zh(),
                scheme
                    .tiers()
                    .iter()
                    .map(|t| t.label_zh())
                    .collect::<Vec<_>>()
                    .join("、")
            )));
        }
        let unit = AreaUnit::from_code(form.unit.trim()).ok_or_else(|| {
            AppError::Invalid("请选择划定单元（区县、乡镇街道、村社区、小区或楼栋）".into())
        })?;
        let region = RegionCode::parse(&form.region_code).map_err(AppError::Invalid)?;
        let reason = form.reason.trim();
        if reason.is_empty() {
            return Err(AppError::Invalid(
                "请写明划定理由（例如：病例居住地）".into(),
            ));
        }
        let occurred_at = parse_occurred_at(&form.occurred_at, DESIGNATED_AT_FIELD)?;
        Ok(DesignateRiskArea {
            scheme,
            tier,
            unit,
            region,
            place_name: form.place_name.trim().to_string(),
            reason: reason.to_string(),
            occurred_at,
        })
    }
}

/// An all-negative round recorded for an area, parsed: from a mass-testing round (checked against
/// its results), or the commander's statement with the time it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordAreaRound {
    FromRound(i64),
    /// Unix time of the Beijing time typed.
    Stated {
        finished_at: i64,
    },
}

impl RecordAreaRound {
    pub fn parse(round_id: Option<i64>, finished: &str) -> AppResult<RecordAreaRound> {
        Ok(match round_id {
            Some(round_id) => RecordAreaRound::FromRound(round_id),
            None => RecordAreaRound::Stated {
                finished_at: day_start_time(finished, "完成时间")?,
            },
        })
    }
}

/// The code of a step's target as pages send it back: a tier's code, or "lifted".
fn step_code(target: StepTarget) -> String {
    match target {
        StepTarget::Tier(t) => t.code().to_string(),
        StepTarget::Lifted => "lifted".to_string(),
    }
}

/// The step a confirmation names, as the page sent it ([`step_code`]).
fn parse_step_target(raw: &str) -> AppResult<StepTarget> {
    match raw.trim() {
        "lifted" => Ok(StepTarget::Lifted),
        code => AreaTier::from_code(code)
            .map(StepTarget::Tier)
            .ok_or_else(|| AppError::field("目标等级", "无法识别，请刷新页面后再确认")),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NextStepView {
    pub to_label: String,
    pub to_code: String,
    pub earliest: String,
    pub ready: bool,
    pub conditions: Vec<(String, bool)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RiskAreaView {
    pub area: RiskAreaRecord,
    pub scheme_label: &'static str,
    pub tier_label: &'static str,
    pub unit_label: &'static str,
    pub measures: &'static str,
    pub region_path: String,
    pub designated_label: String,
    pub next: Option<NextStepView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RiskAreaDetail {
    pub view: RiskAreaView,
    pub steps: Vec<RiskAreaStepRecord>,
    pub rounds: Vec<RiskAreaRoundRecord>,
    /// Who designated the area, as a page names them.
    pub designated_by_name: String,
}

/// One line of the public list (风险区域公布).
#[derive(Debug, Clone, Serialize)]
pub struct PublicArea {
    pub tier: String,
    pub tier_label: &'static str,
    pub place: String,
    pub since: String,
    pub measures: &'static str,
}

/// Higher is stricter: high/sealed 3, medium/controlled 2, low/precaution 1.
pub(crate) fn tier_rank(tier: AreaTier) -> u8 {
    match tier.testing_tier() {
        fangkong_domain::mass_testing::RiskTier::High => 3,
        fangkong_domain::mass_testing::RiskTier::Medium => 2,
        fangkong_domain::mass_testing::RiskTier::Low => 1,
    }
}

fn history_of(area: &RiskAreaRecord, rounds: &[RiskAreaRoundRecord]) -> AreaHistory {
    AreaHistory {
        tier: area.tier,
        designated_at: unix_to_utc(area.tier_since),
        last_infection_at: area.last_infection_at.map(unix_to_utc),
        negative_rounds: rounds
            .iter()
            .filter(|r| r.finished_at >= area.tier_since)
            .map(|r| unix_to_utc(r.finished_at))
            .collect(),
        last_close_contact_exposure: None,
    }
}

impl App {
    async fn region_path(&self, code: &str) -> AppResult<String> {
        let Ok(region) = RegionCode::parse(code) else {
            return Ok(code.to_string());
        };
        let mut names = Vec::new();
        for ancestor in region
            .ancestors()
            .iter()
            .skip(2)
            .chain(std::iter::once(&region))
        {
            if let Some(r) = self.store.region(ancestor.as_str()).await? {
                names.push(r.name);
            }
        }
        Ok(names.join(""))
    }

    async fn area_view(&self, area: RiskAreaRecord) -> AppResult<RiskAreaView> {
        let scheme = area.scheme;
        let tier = area.tier;
        let next = if area.lifted_at.is_some() {
            None
        } else {
            let rounds = self.store.risk_area_rounds(area.id).await?;
            let history = history_of(&area, &rounds);
            // A medium area that was high goes to low after 3 more clean days (9th edition).
            let downgraded =
                self.store.risk_area_steps(area.id).await?.iter().any(|s| {
                    s.from_tier.as_deref() == Some("high") && s.to_tier == area.tier.code()
                });
            let step = if downgraded {
                ra::next_step_after_downgrade(scheme, &history, self.now())
            } else {
                ra::next_step(scheme, &history, self.now())
            };
            step.map(|step| NextStepView {
                to_label: match step.to {
                    StepTarget::Tier(t) => format!("降为{}", t.label_zh()),
                    StepTarget::Lifted => "解除".to_string(),
                },
                to_code: step_code(step.to),
                earliest: step.earliest.format("%Y-%m-%d").to_string(),
                ready: step.ready,
                conditions: step.conditions,
            })
        };
        Ok(RiskAreaView {
            scheme_label: scheme.label_zh(),
            tier_label: tier.label_zh(),
            unit_label: area.unit.label_zh(),
            measures: tier.measures_zh(),
            region_path: self.region_path(area.region_code.as_str()).await?,
            designated_label: beijing_label(area.designated_at),
            next,
            area,
        })
    }

    /// A commander designates an area: the form is parsed into [`DesignateRiskArea`] before anything
    /// is read, then checked against the register; the area, its first step and the audit record
    /// are one transaction.
    pub async fn designate_risk_area(&self, actor: &Actor, form: &RiskAreaForm) -> AppResult<i64> {
        actor.require(Permission::ManageRiskAreas)?;
        let command = DesignateRiskArea::try_from(form)?;
        actor.require_within(&command.region)?;
        let record = self
            .store
            .region(command.region.as_str())
            .await?
            .ok_or_else(|| {
                AppError::field("区划", format!("编码“{}”不存在", command.region.as_str()))
            })?;
        let expected_level = match command.unit {
            AreaUnit::County => RegionLevel::County,
            AreaUnit::Township => RegionLevel::Township,
            AreaUnit::Village | AreaUnit::Compound | AreaUnit::Building => RegionLevel::Village,
        };
        if command.region.level() != expected_level {
            return Err(AppError::Invalid(format!(
                "划定单元是{}，区划应选{}级（所选“{}”是{}级）",
                command.unit.label_zh(),
                expected_level.label_zh(),
                record.name,
                command.region.level().label_zh()
            )));
        }
        if matches!(command.unit, AreaUnit::Compound | AreaUnit::Building)
            && command.place_name.is_empty()
        {
            return Err(AppError::Invalid(format!(
                "按{}划定时请填写具体名称，例如“{}幸福小区3号楼”",
                command.unit.label_zh(),
                record.name
            )));
        }
        let place = format!("{}{}", record.name, command.place_name);
        // A designation entered after the fact (补录) starts the area's days when it was made.
        let at = self.occurred_at(command.occurred_at, DESIGNATED_AT_FIELD, None)?;
        let id = self
            .store
            .insert_risk_area(
                &NewRiskArea {
                    scheme: command.scheme.code().into(),
                    tier: command.tier.code().into(),
                    unit: command.unit.code().into(),
                    region_code: command.region.as_str().into(),
                    place_name: place.clone(),
                    reason: command.reason.clone(),
                    at,
                    actor: actor.username.clone(),
                },
                crate::health_code::infection_found,
                &audit_record(
                    self,
                    actor,
                    "designate_risk_area",
                    "",
                    self.occurred_detail(format!("{} {place}", command.tier.code()), at),
                ),
            )
            .await?;
        self.request_recompute("风险区域调整");
        Ok(id)
    }

    /// Areas in the actor's jurisdiction with each one's next possible step.
    pub async fn risk_areas(
        &self,
        actor: &Actor,
        include_lifted: bool,
    ) -> AppResult<Vec<RiskAreaView>> {
        actor.require(Permission::ViewPopulation)?;
        let (lower, upper) = actor.jurisdiction_range();
        let mut out = Vec::new();
        for area in self
            .store
            .risk_areas((&lower, &upper), include_lifted)
            .await?
        {
            out.push(self.area_view(area).await?);
        }
        Ok(out)
    }

    pub async fn risk_area(&self, actor: &Actor, id: i64) -> AppResult<RiskAreaDetail> {
        actor.require(Permission::ViewPopulation)?;
        let area = load_within(actor, self.store.risk_area(id)).await?;
        let designated_by_name = self
            .actor_names(&[area.designated_by.as_str()])
            .await?
            .remove(&area.designated_by)
            .unwrap_or_default();
        Ok(RiskAreaDetail {
            designated_by_name,
            steps: self.store.risk_area_steps(id).await?,
            rounds: self.store.risk_area_rounds(id).await?,
            view: self.area_view(area).await?,
        })
    }

    /// The list anyone may read: current areas, highest tier first.
    pub async fn public_risk_areas(&self) -> AppResult<Vec<PublicArea>> {
        let mut areas = self.store.risk_areas(("", "~"), false).await?;
        areas.sort_by_key(|a| std::cmp::Reverse(tier_rank(a.tier)));
        let mut out = Vec::with_capacity(areas.len());
        for area in areas {
            let tier = area.tier;
            out.push(PublicArea {
                tier: tier.code().to_string(),
                tier_label: tier.label_zh(),
                place: format!(
                    "{}{}",
                    self.region_path(area.region_code.as_str()).await?,
                    area.place_name
                        .strip_prefix(
                            self.store
                                .region(area.region_code.as_str())
                                .await?
                                .map(|r| r.name)
                                .unwrap_or_default()
                                .as_str()
                        )
                        .unwrap_or("")
                ),
                since: beijing_label(area.tier_since),
                measures: tier.measures_zh(),
            });
        }
        Ok(out)
    }

    /// Records an all-negative round for an area: from a mass-testing round (checked against its
    /// results) or, when `round_id` is None, as the commander's statement with the finishing time.
    pub async fn record_area_round(
        &self,
        actor: &Actor,
        area_id: i64,
        round_id: Option<i64>,
        finished: &str,
    ) -> AppResult<()> {
        actor.require(Permission::ManageRiskAreas)?;
        let command = RecordAreaRound::parse(round_id, finished)?;
        let area = load_within(actor, self.store.risk_area(area_id)).await?;
        let (finished_at, note) = match command {
            RecordAreaRound::FromRound(round_id) => {
                let round = self
                    .store
                    .round(round_id)
                    .await?
                    .ok_or(AppError::NotFound("该检测轮次"))?;
                let finished_at = self
                    .store
                    .round_all_negative_in(round_id, area.region_code.as_str())
                    .await?
                    .ok_or_else(|| {
                        AppError::Invalid(format!(
                            "{}在该区域内还有未出结果或阳性的样本（或没有采样），不能算作全阴轮次",
                            round.name
                        ))
                    })?;
                (finished_at, format!("{}：区域内全部阴性", round.name))
            }
            RecordAreaRound::Stated { finished_at } => {
                (finished_at, "指挥部确认区域核酸全阴".to_string())
            }
        };
        if finished_at > self.now_unix() + 60 {
            return Err(AppError::field("完成时间", "在将来"));
        }
        self.store
            .add_risk_area_round(
                area_id,
                finished_at,
                round_id,
                &note,
                &actor.username,
                &audit_record(self, actor, "record_area_round", area_id, note.as_str()),
            )
            .await?;
        Ok(())
    }

    /// Confirms the area's next step when every condition is met; the step and its audit record
    /// are one transaction.
    pub async fn confirm_area_step(
        &self,
        actor: &Actor,
        area_id: i64,
        expected_to: &str,
    ) -> AppResult<String> {
        actor.require(Permission::ManageRiskAreas)?;
        let expected_to = parse_step_target(expected_to)?;
        let area = load_within(actor, self.store.risk_area(area_id)).await?;
        if area.lifted_at.is_some() {
            return Err(AppError::Conflict("该区域已经解除".into()));
        }
        let view = self.area_view(area.clone()).await?;
        let Some(next) = view.next else {
            return Err(AppError::Invalid(format!(
                "{}没有单独的降级步骤：所在县区的中高风险区全部解除后一并解除",
                view.tier_label
            )));
        };
        if next.to_code != step_code(expected_to) {
            return Err(AppError::Conflict(
                "区域状态已经变化，请刷新页面后再确认".into(),
            ));
        }
        if !next.ready {
            let missing: Vec<String> = next
                .conditions
                .iter()
                .filter(|(_, met)| !met)
                .map(|(w, _)| w.clone())
                .collect();
            return Err(AppError::Invalid(format!(
                "还不能{}：{}（最早 {}）",
                next.to_label,
                missing.join("；"),
                next.earliest
            )));
        }
        let note = format!(
            "{}：{}",
            next.to_label,
            next.conditions
                .iter()
                .map(|(w, _)| w.as_str())
                .collect::<Vec<_>>()
                .join("；")
        );
        // Conditional on what was shown: an infection recorded, or another commander's step, since
        // the page was read makes this a conflict, not a second step.
        if !self
            .store
            .step_risk_area(
                &fangkong_store::AreaStep {
                    id: area_id,
                    from_tier: area.tier.code(),
                    seen_infection: area.last_infection_at,
                    to_tier: &next.to_code,
                    at: self.now_unix(),
                    actor: &actor.username,
                    note: &note,
                },
                &audit_record(self, actor, "risk_area_step", area_id, note.as_str()),
            )
            .await?
        {
            return Err(AppError::Conflict(
                "区域状态已经变化（新增感染者或已被调整），请刷新页面后再确认".into(),
            ));
        }
        self.request_recompute("风险区域调整");
        Ok(next.to_label)
    }

    /// The designated areas a new round inside `range` takes from the risk areas in force: each
    /// area's region with its tier's pool size (the strictest when two cover one region).
    pub(crate) async fn round_areas_from_risk_areas(
        &self,
        range: (&str, &str),
    ) -> AppResult<
        Vec<(
            RegionCode,
            fangkong_domain::mass_testing::RiskTier,
            fangkong_domain::mass_testing::PoolSize,
        )>,
    > {
        let mut by_region: std::collections::BTreeMap<RegionCode, AreaTier> =
            std::collections::BTreeMap::new();
        for area in self.store.risk_areas(range, false).await? {
            let tier = area.tier;
            let entry = by_region.entry(area.region_code).or_insert(tier);
            if tier_rank(tier) > tier_rank(*entry) {
                *entry = tier;
            }
        }
        Ok(by_region
            .into_iter()
            .map(|(code, tier)| {
                let testing = tier.testing_tier();
                (code, testing, testing.default_pool_size())
            })
            .collect())
    }

    /// The pool size a round should use at `code` by the risk areas in force (most specific wins).
    pub async fn risk_tier_at(
        &self,
        code: &str,
    ) -> AppResult<Option<fangkong_domain::mass_testing::RiskTier>> {
        let areas = self.store.active_risk_areas_around(code).await?;
        Ok(areas
            .iter()
            .filter(|a| code.starts_with(a.region_code.as_str()))
            .max_by_key(|a| a.region_code.as_str().len())
            .map(|a| a.tier.testing_tier()))
    }
}

#[cfg(test)]
mod command_tests {
    use super::*;

    #[test]
    fn a_round_for_an_area_is_a_mass_testing_round_or_a_stated_time() {
        assert_eq!(
            RecordAreaRound::parse(Some(7), "whatever").unwrap(),
            RecordAreaRound::FromRound(7)
        );
        assert_eq!(
            RecordAreaRound::parse(None, "2022-11-20 14:30").unwrap(),
            RecordAreaRound::Stated {
                finished_at: day_start_time("2022-11-20 14:30", "完成时间").unwrap()
            }
        );
        assert!(
            matches!(RecordAreaRound::parse(None, "下午"), Err(AppError::Invalid(m)) if m.contains("完成时间"))
        );
    }

    #[test]
    fn a_confirmed_step_names_a_tier_or_lifting() {
        for target in [
            StepTarget::Lifted,
            StepTarget::Tier(AreaTier::Medium),
            StepTarget::Tier(AreaTier::Low),
        ] {
            assert_eq!(
                step_code(parse_step_target(&step_code(target)).unwrap()),
                step_code(target)
            );
        }
        assert!(
            matches!(parse_step_target("gone"), Err(AppError::Invalid(m)) if m.starts_with("目标等级："))
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn form(occurred_at: &str) -> RiskAreaForm {
        RiskAreaForm {
            scheme: String::new(),
            tier: "high".into(),
            unit: "village".into(),
            region_code: "130109100013".into(),
            place_name: String::new(),
            reason: "病例居住地".into(),
            occurred_at: occurred_at.into(),
        }
    }

    #[test]
    fn a_designation_time_is_parsed_with_the_field_named_and_empty_is_now() {
        let at = Utc.with_ymd_and_hms(2022, 11, 17, 2, 0, 0).unwrap();
        for (typed, expected) in [
            ("", None),
            ("2022-11-17 10:00", Some(at)),
            ("2022-11-17T10:00", Some(at)),
        ] {
            assert_eq!(
                DesignateRiskArea::try_from(&form(typed))
                    .unwrap()
                    .occurred_at,
                expected,
                "{typed}"
            );
        }
        let problem = DesignateRiskArea::try_from(&form("上周三"))
            .unwrap_err()
            .to_string();
        assert!(problem.starts_with("划定时间："), "{problem}");
    }
}
