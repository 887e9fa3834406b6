//! Risk areas (风险区域): the public list (no login), the staff list, designating an area, one
//! area with its rounds and steps; the public API.

use super::*;

pub struct TierGroup {
    pub label: &'static str,
    pub class: &'static str,
    pub areas: Vec<PublicArea>,
}

#[derive(Template)]
#[template(path = "health_code/public_risk_areas.html")]
pub(super) struct PublicRiskAreasPage {
    groups: Vec<TierGroup>,
    total: usize,
    updated: String,
}

fn tier_class(tier: &str) -> &'static str {
    match tier {
        "high" | "sealed" => "bad",
        "medium" | "controlled" => "warn",
        _ => "good",
    }
}

pub(super) async fn public_risk_areas_page(State(state): State<AppState>) -> Response {
    match state.app.public_risk_areas().await {
        Ok(areas) => {
            let total = areas.len();
            // The app returns them highest tier first: keep that order, one group per tier.
            let mut groups: Vec<TierGroup> = Vec::new();
            for area in areas {
                match groups.last_mut() {
                    Some(g) if g.label == area.tier_label => g.areas.push(area),
                    _ => groups.push(TierGroup {
                        label: area.tier_label,
                        class: tier_class(&area.tier),
                        areas: vec![area],
                    }),
                }
            }
            render(&PublicRiskAreasPage {
                groups,
                total,
                updated: beijing_time(state.app.now_unix()),
            })
        }
        Err(e) => {
            crate::log_if_internal(&e);
            (status_of(&e), e.to_string()).into_response()
        }
    }
}

/// The designate form as typed (kept when it comes back with a problem).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct AreaInput {
    pub scheme: String,
    pub tier: String,
    pub unit: String,
    pub region_code: String,
    pub place_name: String,
    pub reason: String,
    /// When the area was designated (补录); empty = now.
    pub occurred_at: String,
}

impl AreaInput {
    fn to_form(&self) -> RiskAreaForm {
        RiskAreaForm {
            scheme: self.scheme.clone(),
            tier: self.tier.clone(),
            unit: self.unit.clone(),
            region_code: self.region_code.clone(),
            place_name: self.place_name.clone(),
            reason: self.reason.clone(),
            occurred_at: self.occurred_at.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "health_code/risk_areas.html")]
pub(super) struct RiskAreasPage {
    layout: Layout,
    areas: Vec<RiskAreaView>,
    all: bool,
    can_manage: bool,
    f: AreaInput,
    schemes: Vec<(&'static str, &'static str)>,
    tiers: Vec<(&'static str, &'static str)>,
    units: Vec<(&'static str, &'static str)>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AllQuery {
    all: String,
}

async fn risk_areas_page_with(
    state: &AppState,
    page: &PageUser,
    all: bool,
    f: AreaInput,
    flash: Option<Flash>,
) -> PageResult {
    let areas = state
        .app
        .risk_areas(&page.user.actor, all)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("risk_areas");
    layout.flash = flash;
    Ok(render(&RiskAreasPage {
        layout,
        areas,
        all,
        can_manage: page.can(Permission::ManageRiskAreas),
        f,
        schemes: options(&AreaScheme::ALL, AreaScheme::code, AreaScheme::label_zh),
        tiers: options(&AreaTier::ALL, AreaTier::code, AreaTier::label_zh),
        units: options(&AreaUnit::ALL, AreaUnit::code, AreaUnit::label_zh),
    }))
}

pub(super) async fn risk_areas_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<AllQuery>,
) -> PageResult {
    let f = AreaInput {
        scheme: AreaScheme::in_force_on(state.app.today()).code().into(),
        unit: AreaUnit::Village.code().into(),
        region_code: page.user.actor.jurisdiction.as_str().to_string(),
        ..AreaInput::default()
    };
    risk_areas_page_with(&state, &page, !q.all.is_empty(), f, None).await
}

pub(super) async fn designate_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<AreaInput>,
) -> PageResult {
    let next = state
        .app
        .designate_risk_area(&page.user.actor, &f.to_form())
        .await
        .map(|id| format!("/risk-areas/{id}?saved=designated"));
    form_page(&page, next, |flash| {
        risk_areas_page_with(&state, &page, false, f, flash)
    })
    .await
}

#[derive(Template)]
#[template(path = "health_code/risk_area.html")]
pub(super) struct RiskAreaPage {
    layout: Layout,
    d: RiskAreaDetail,
    steps: Vec<(String, String, String, String)>,
    rounds: Vec<(String, String, String)>,
    can_manage: bool,
    round_id: String,
    finished: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct SavedQuery {
    saved: String,
}

fn tier_label_of(code: &str) -> String {
    match code {
        "lifted" => "解除".into(),
        other => AreaTier::from_code(other)
            .map(|t| t.label_zh().to_string())
            .unwrap_or_else(|| other.to_string()),
    }
}

async fn risk_area_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    round_id: String,
    finished: String,
    flash: Option<Flash>,
) -> PageResult {
    let d = state
        .app
        .risk_area(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let steps = d
        .steps
        .iter()
        .map(|s| {
            (
                beijing_time(s.at),
                s.from_tier
                    .as_deref()
                    .map(tier_label_of)
                    .unwrap_or_else(|| "划定".into()),
                tier_label_of(&s.to_tier),
                s.note.clone(),
            )
        })
        .collect();
    let rounds = d
        .rounds
        .iter()
        .map(|r| {
            (
                beijing_time(r.finished_at),
                r.round_id
                    .map(|id| format!("第{id}号轮次"))
                    .unwrap_or_else(|| "指挥部确认".into()),
                r.note.clone(),
            )
        })
        .collect();
    let mut layout = page.layout("risk_areas");
    layout.flash = flash;
    Ok(render(&RiskAreaPage {
        layout,
        d,
        steps,
        rounds,
        can_manage: page.can(Permission::ManageRiskAreas),
        round_id,
        finished,
    }))
}

pub(super) async fn risk_area_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "designated" => ok_flash("已划定风险区域，已公布并开始重新计算相关人员的健康码"),
        "round" => ok_flash("已记录一轮全员阴性"),
        "step" => ok_flash("已确认调整，公布名单已更新"),
        _ => None,
    };
    risk_area_page_with(&state, &page, id, String::new(), String::new(), flash).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AreaRoundInput {
    round_id: String,
    finished: String,
}

pub(super) async fn area_round_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<AreaRoundInput>,
) -> PageResult {
    let round_id = match f.round_id.trim() {
        "" => Ok(None),
        text => text.parse::<i64>().map(Some).map_err(|_| {
            AppError::Invalid(format!("轮次编号“{text}”应为数字（见核酸检测轮次页面）"))
        }),
    };
    let result = match round_id {
        Ok(None) if f.finished.trim().is_empty() => Err(AppError::Invalid(
            "请填写检测轮次编号，或填写全员阴性那一轮的完成时间".into(),
        )),
        Ok(round) => {
            state
                .app
                .record_area_round(&page.user.actor, id, round, &f.finished)
                .await
        }
        Err(e) => Err(e),
    };
    let next = result.map(|_| format!("/risk-areas/{id}?saved=round"));
    form_page(&page, next, |flash| {
        risk_area_page_with(&state, &page, id, f.round_id, f.finished, flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct StepInput {
    to: String,
}

pub(super) async fn area_step_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<StepInput>,
) -> PageResult {
    let next = state
        .app
        .confirm_area_step(&page.user.actor, id, f.to.trim())
        .await
        .map(|_| format!("/risk-areas/{id}?saved=step"));
    form_page(&page, next, |flash| {
        risk_area_page_with(&state, &page, id, String::new(), String::new(), flash)
    })
    .await
}

pub(super) async fn api_public_risk_areas(
    State(state): State<AppState>,
) -> ApiResult<Vec<PublicArea>> {
    Ok(Json(state.app.public_risk_areas().await?))
}
