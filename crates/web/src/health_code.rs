//! Health codes, checkpoints, venue codes and risk areas (健康码、场所码与卡口查验): the pages and the
//! JSON API over `app::health_code`, `app::checkpoints` and `app::risk_areas`.
//!
//! The checking page (`/checkpoints/{id}`) is the one checkpoint staff live in: a single input a
//! scanner types into. It works as a plain form (the server puts a fresh passage key in a hidden
//! field); `assets/checkpoint.js` turns it into JSON calls to `POST /api/checkpoints/{id}/verify`
//! with a fresh key per check, so the page never reloads at a busy post. That API route sits behind
//! a load-shedding gate ([`VerifyGate`]): at most so many checks at once in all, per checkpoint and
//! per session token. A check over a limit is answered at once with 503 and `Retry-After: 1`
//! before its body is read, its session looked up or the database touched, rather than queued
//! until every device times out — so one flooding device or checkpoint cannot starve the others.
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::AppError;
use fangkong_app::checkpoints::{
    CheckOutcome, CheckpointForm, CheckpointScan, CheckpointView, ItineraryRow, PassageView,
    VenueCheckIn, VenueForm, VenueView,
};
use fangkong_app::health_code::{AppealView, CodeOverview, FactForm, MyCode, PersonCode};
use fangkong_app::risk_areas::{PublicArea, RiskAreaDetail, RiskAreaForm, RiskAreaView};
use fangkong_domain::checkpoint::{CheckpointKind, DefenceLine};
use fangkong_domain::health_code::{CodeColour, FactKind};
use fangkong_domain::risk_area::{AreaScheme, AreaTier, AreaUnit};
use fangkong_domain::role::{Permission, Role};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::ApiError;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::mass_testing::{encode, id_types, qr_svg};
use crate::pages::options;
use crate::pages::{Flash, Layout, PageResult, PageUser, beijing_time, filters, render};
use crate::session::ApiUser;
use crate::status_of;

/// Every form here is a few fields.
const FORM_BODY_LIMIT: usize = 64 * 1024;
/// One check is a few hundred bytes of JSON (an EU certificate QR is the longest, ~2 KB).
const VERIFY_BODY_LIMIT: usize = 32 * 1024;
/// The resident's code page reloads itself so the QR code is never older than a minute.
const MY_CODE_REFRESH_SECONDS: u32 = 60;

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/public/risk-areas", get(public_risk_areas_page))
        .route("/risk-areas", get(risk_areas_page).post(designate_submit))
        .route("/risk-areas/{id}", get(risk_area_page))
        .route("/risk-areas/{id}/rounds", post(area_round_submit))
        .route("/risk-areas/{id}/step", post(area_step_submit))
        .route("/codes", get(codes_page))
        .route("/codes/policy", post(policy_submit))
        .route("/codes/untested", post(untested_submit))
        .route("/codes/person", get(person_page))
        .route("/codes/facts", post(add_fact_submit))
        .route("/codes/facts/{id}/end", post(end_fact_submit))
        .route("/codes/check", post(community_check_submit))
        .route("/codes/appeals", get(appeals_page))
        .route("/codes/appeals/{id}", post(decide_appeal_submit))
        .route("/me/code", get(my_code_page))
        .route("/me/code/appeals", post(my_appeal_submit))
        .route(
            "/me/venue",
            get(venue_check_in_page).post(venue_check_in_submit),
        )
        .route(
            "/checkpoints",
            get(checkpoints_page).post(create_checkpoint_submit),
        )
        .route("/checkpoints/offline", get(offline_checkpoint_page))
        .route(
            "/checkpoints/{id}",
            get(checkpoint_page).post(checkpoint_check_submit),
        )
        .route("/venues", get(venues_page).post(create_venue_submit))
        .route("/venues/{id}", get(venue_poster_page))
        .route("/itinerary", get(itinerary_page).post(itinerary_submit))
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
}

/// The API routes; the verify route behind `gate` (see [`crate::WebConfig`]).
pub fn api(gate: Arc<VerifyGate>) -> Router<AppState> {
    Router::new()
        .route(
            "/checkpoints/{id}/verify",
            post(api_verify)
                .layer::<_, std::convert::Infallible>(axum::middleware::from_fn_with_state(
                    gate,
                    verify_gate,
                ))
                .layer(DefaultBodyLimit::max(VERIFY_BODY_LIMIT)),
        )
        .route("/me/code", get(api_my_code))
        .route("/public/risk-areas", get(api_public_risk_areas))
        .route("/trust-list", get(api_trust_list))
}

/// `/assets/checkpoint.js`: the checking page's script, served by the binary like the stylesheet.
pub async fn checkpoint_script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/javascript; charset=utf-8".to_string(),
            ),
            (header::CACHE_CONTROL, "max-age=3600".to_string()),
        ],
        include_str!("../assets/checkpoint.js"),
    )
        .into_response()
}

/// `/assets/offline_verify.js`: the offline checking page's script (Base45, inflate with the `FK1:`
/// dictionary, CBOR and Ed25519 through WebCrypto, all in the browser).
pub async fn offline_verify_script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/javascript; charset=utf-8".to_string(),
            ),
            (header::CACHE_CONTROL, "max-age=3600".to_string()),
        ],
        include_str!("../assets/offline_verify.js"),
    )
        .into_response()
}

#[derive(Serialize)]
struct OverloadBody {
    error: &'static str,
    message: &'static str,
}

/// The answer to a check shed by [`VerifyGate`]: cheap, fixed, and the same for every limit.
fn overloaded() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        Json(OverloadBody {
            error: "overloaded",
            message: "查验请求过多，请1秒后重试",
        }),
    )
        .into_response()
}

/// Limits on checks in progress at once: in all, per checkpoint, and per session token (a bearer
/// token or the session cookie). A check that would pass any limit is refused at once; nothing
/// waits in a queue. Keys are hashed with a per-process random key, so no token is kept.
#[derive(Debug)]
pub struct VerifyGate {
    total_limit: usize,
    checkpoint_limit: usize,
    client_limit: usize,
    hasher: std::collections::hash_map::RandomState,
    in_flight: std::sync::Mutex<GateCounts>,
}

#[derive(Debug, Default)]
struct GateCounts {
    total: usize,
    by_key: std::collections::HashMap<u64, usize>,
}

/// A check admitted by [`VerifyGate`]; its place is given back when this is dropped.
#[derive(Debug)]
pub struct GatePass {
    gate: Arc<VerifyGate>,
    keys: [u64; 2],
}

impl VerifyGate {
    pub fn new(total_limit: usize, checkpoint_limit: usize, client_limit: usize) -> VerifyGate {
        VerifyGate {
            total_limit: total_limit.max(1),
            checkpoint_limit: checkpoint_limit.max(1),
            client_limit: client_limit.max(1),
            hasher: Default::default(),
            in_flight: Default::default(),
        }
    }

    fn key(&self, kind: u8, text: &str) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        hasher.write_u8(kind);
        hasher.write(text.as_bytes());
        hasher.finish()
    }

    /// Admits one check at `checkpoint` by `client` (its token), or `None` when a limit is full.
    pub fn try_enter(self: &Arc<Self>, checkpoint: &str, client: &str) -> Option<GatePass> {
        let keys = [self.key(0, checkpoint), self.key(1, client)];
        let mut counts = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let at_checkpoint = counts.by_key.get(&keys[0]).copied().unwrap_or(0);
        let of_client = counts.by_key.get(&keys[1]).copied().unwrap_or(0);
        if counts.total >= self.total_limit
            || at_checkpoint >= self.checkpoint_limit
            || of_client >= self.client_limit
        {
            return None;
        }
        counts.total += 1;
        for key in keys {
            *counts.by_key.entry(key).or_insert(0) += 1;
        }
        Some(GatePass {
            gate: self.clone(),
            keys,
        })
    }

    /// Checks in progress now.
    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.in_flight.lock().map(|c| c.total).unwrap_or(0)
    }
}

impl Drop for GatePass {
    fn drop(&mut self) {
        let mut counts = self
            .gate
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        counts.total = counts.total.saturating_sub(1);
        for key in self.keys {
            if let std::collections::hash_map::Entry::Occupied(mut e) = counts.by_key.entry(key) {
                if *e.get() <= 1 {
                    e.remove();
                } else {
                    *e.get_mut() -= 1;
                }
            }
        }
    }
}

/// The session token a request carries (bearer or cookie), as text; empty when none.
fn client_token(headers: &HeaderMap) -> &str {
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return token.trim();
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("fk_session="))
        .unwrap_or("")
}

/// In front of `POST /api/checkpoints/{id}/verify`: admitted checks run with a [`GatePass`],
/// the rest get [`overloaded`] before the body, the session or the database.
async fn verify_gate(
    State(gate): State<Arc<VerifyGate>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let checkpoint = path.rsplit('/').nth(1).unwrap_or_default().to_string();
    let Some(pass) = gate.try_enter(&checkpoint, client_token(request.headers())) else {
        return overloaded();
    };
    let response = next.run(request).await;
    drop(pass);
    response
}

// ---------------------------------------------------------------------------------------------
// Navigation

/// Which health-code links the navigation shows a role.
#[derive(Debug, Clone, Copy, Default)]
pub struct CodeNav {
    pub risk_areas: bool,
    pub codes: bool,
    pub checkpoints: bool,
    pub venues: bool,
    pub itinerary: bool,
    /// A resident's own code.
    pub own: bool,
}

impl CodeNav {
    pub fn for_role(role: Role) -> CodeNav {
        CodeNav {
            risk_areas: role.allows(Permission::ViewPopulation),
            codes: role.allows(Permission::ViewHealthCodes),
            checkpoints: role.allows(Permission::VerifyAtCheckpoint)
                || role.allows(Permission::ManageCheckpoints),
            venues: role.allows(Permission::ManageCheckpoints)
                || role.allows(Permission::QueryItinerary),
            itinerary: role.allows(Permission::QueryItinerary),
            own: role.allows(Permission::ShowOwnCode),
        }
    }

    pub fn any(&self) -> bool {
        self.risk_areas || self.codes || self.checkpoints || self.venues || self.itinerary
    }

    /// Where the capability's link in the navigation leads for a role.
    pub fn home_of(role: Role) -> &'static str {
        if role == Role::Checkpoint {
            "/checkpoints"
        } else if role.allows(Permission::ViewHealthCodes) {
            "/codes"
        } else if role.allows(Permission::ShowOwnCode) {
            "/me/code"
        } else if role.allows(Permission::VerifyAtCheckpoint)
            || role.allows(Permission::ManageCheckpoints)
        {
            "/checkpoints"
        } else {
            "/public/risk-areas"
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

fn colour_class(colour: &str) -> &'static str {
    match colour {
        "red" => "red",
        "yellow" => "yellow",
        "green" => "green",
        _ => "grey",
    }
}

fn colour_label(code: &str) -> &'static str {
    CodeColour::from_code(code)
        .map(|c| c.label_zh())
        .unwrap_or("—")
}

fn appeal_status_label(status: &str) -> &'static str {
    match status {
        "open" => "处理中",
        "accepted" => "已核实，已转绿",
        "rejected" => "未通过",
        _ => "其他",
    }
}

/// The CSS class of a decision panel: green to pass, red to turn back or refuse, amber otherwise.
fn decision_class(decision: &str) -> &'static str {
    match decision {
        "pass" => "ok",
        "test_on_spot" => "warn",
        "fever_clinic" => "fever",
        _ => "bad",
    }
}

fn time_or_dash(unix: Option<i64>) -> String {
    unix.map(beijing_time).unwrap_or_else(|| "—".into())
}

/// A fresh key for one check or one venue visit: 128 random bits as hex (the process's random
/// hasher seeds, a counter and the clock; unique is what matters, not secret).
pub(crate) fn fresh_key() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let half = |salt: u64| {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(salt);
        hasher.write_u64(count);
        hasher.write_u128(nanos);
        hasher.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

// ---------------------------------------------------------------------------------------------
// Public risk areas (no login)

pub struct TierGroup {
    pub label: &'static str,
    pub class: &'static str,
    pub areas: Vec<PublicArea>,
}

#[derive(Template)]
#[template(path = "health_code/public_risk_areas.html")]
struct PublicRiskAreasPage {
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

async fn public_risk_areas_page(State(state): State<AppState>) -> Response {
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

// ---------------------------------------------------------------------------------------------
// Risk areas (staff)

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
        }
    }
}

#[derive(Template)]
#[template(path = "health_code/risk_areas.html")]
struct RiskAreasPage {
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
struct AllQuery {
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

async fn risk_areas_page(
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

async fn designate_submit(
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
struct RiskAreaPage {
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
struct SavedQuery {
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

async fn risk_area_page(
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
struct AreaRoundInput {
    round_id: String,
    finished: String,
}

async fn area_round_submit(
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
struct StepInput {
    to: String,
}

async fn area_step_submit(
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

// ---------------------------------------------------------------------------------------------
// Codes: overview, policy, 应检未检

#[derive(Template)]
#[template(path = "health_code/codes.html")]
struct CodesPage {
    layout: Layout,
    o: CodeOverview,
    colour: String,
    colours: Vec<(&'static str, &'static str)>,
    rows: Vec<(String, &'static str)>,
    can_decide: bool,
    id_types: Vec<(&'static str, &'static str)>,
    round_id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CodesQuery {
    colour: String,
    marked: String,
    policy: String,
}

async fn codes_page_with(
    state: &AppState,
    page: &PageUser,
    colour: String,
    round_id: String,
    flash: Option<Flash>,
) -> PageResult {
    let o = state
        .app
        .code_overview(
            &page.user.actor,
            Some(colour.as_str()).filter(|c| !c.is_empty()),
        )
        .await
        .map_err(|e| page.error(e))?;
    let rows = o
        .people
        .iter()
        .map(|p| {
            (
                p.turns_green_at
                    .map(beijing_time)
                    .unwrap_or_else(|| "—".into()),
                colour_class(&p.colour),
            )
        })
        .collect();
    let mut layout = page.layout("codes");
    layout.flash = flash;
    Ok(render(&CodesPage {
        layout,
        o,
        colour,
        colours: CodeColour::ALL
            .iter()
            .map(|c| (c.code(), c.label_zh()))
            .collect(),
        rows,
        can_decide: page.can(Permission::DecideHealthCodes),
        id_types: id_types(),
        round_id,
    }))
}

async fn codes_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<CodesQuery>,
) -> PageResult {
    let flash = if !q.marked.is_empty() {
        ok_flash(format!(
            "已标记应检未检 {} 人，其健康码已重新计算",
            q.marked
        ))
    } else if !q.policy.is_empty() {
        ok_flash(format!(
            "已切换赋码规则，已重新计算 {} 人，其中 {} 人的健康码有变化",
            q.policy.split('-').next().unwrap_or("0"),
            q.policy.split('-').nth(1).unwrap_or("0")
        ))
    } else {
        None
    };
    codes_page_with(&state, &page, q.colour, String::new(), flash).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PolicyInput {
    policy: String,
}

async fn policy_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<PolicyInput>,
) -> PageResult {
    let next = state
        .app
        .set_code_policy(&page.user.actor, f.policy.trim())
        .await
        .map(|report| format!("/codes?policy={}-{}", report.people, report.changed));
    form_page(&page, next, |flash| {
        codes_page_with(&state, &page, String::new(), String::new(), flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UntestedInput {
    round_id: String,
}

async fn untested_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<UntestedInput>,
) -> PageResult {
    let result = match f.round_id.trim().parse::<i64>() {
        Ok(round) => state.app.mark_round_untested(&page.user.actor, round).await,
        Err(_) => Err(AppError::Invalid(format!(
            "轮次编号“{}”应为数字（见核酸检测轮次页面）",
            f.round_id.trim()
        ))),
    };
    let next = result.map(|marked| format!("/codes?marked={marked}"));
    form_page(&page, next, |flash| {
        codes_page_with(&state, &page, String::new(), f.round_id, flash)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// One person's code (staff)

/// The add-a-fact form as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct FactInput {
    pub id_type: String,
    pub id_number: String,
    pub kind: String,
    pub anchor: String,
    pub colour: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "health_code/person.html")]
struct PersonPage {
    layout: Layout,
    p: PersonCode,
    /// The lookup as typed (the forms below carry it on).
    id_type: String,
    id_number: String,
    facts: Vec<(String, String)>,
    changes: Vec<(String, &'static str, &'static str, &'static str)>,
    appeals: Vec<(String, &'static str)>,
    can_decide: bool,
    can_check: bool,
    f: FactInput,
    fact_kinds: Vec<(&'static str, &'static str)>,
    colours: Vec<(&'static str, &'static str)>,
    colour_class: &'static str,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PersonQuery {
    id_type: String,
    id_number: String,
    saved: String,
}

fn person_href(id_type: &str, id_number: &str) -> String {
    format!(
        "/codes/person?id_type={}&id_number={}",
        encode(id_type),
        encode(id_number.trim())
    )
}

async fn person_page_with(
    state: &AppState,
    page: &PageUser,
    id_type: String,
    id_number: String,
    f: Option<FactInput>,
    flash: Option<Flash>,
) -> PageResult {
    if id_number.trim().is_empty() {
        return Err(page.error(AppError::Invalid("请输入要查询的证件号码".into())));
    }
    let p = state
        .app
        .person_code(&page.user.actor, &id_type, &id_number)
        .await
        .map_err(|e| page.error(e))?;
    let facts = p
        .facts
        .iter()
        .map(|fact| (beijing_time(fact.anchor), time_or_dash(fact.ended_at)))
        .collect();
    let changes = p
        .changes
        .iter()
        .map(|c| {
            (
                beijing_time(c.at),
                colour_label(&c.from_colour),
                colour_label(&c.to_colour),
                colour_class(&c.to_colour),
            )
        })
        .collect();
    let appeals = p
        .appeals
        .iter()
        .map(|a| (beijing_time(a.filed_at), appeal_status_label(&a.status)))
        .collect();
    let f = f.unwrap_or_else(|| FactInput {
        id_type: id_type.clone(),
        id_number: id_number.clone(),
        kind: FactKind::CloseContact.code().into(),
        ..FactInput::default()
    });
    let mut layout = page.layout("codes");
    layout.flash = flash;
    Ok(render(&PersonPage {
        layout,
        colour_class: colour_class(&p.code.colour),
        facts,
        changes,
        appeals,
        can_decide: page.can(Permission::DecideHealthCodes),
        can_check: page.can(Permission::DecideHealthCodes) || page.can(Permission::RecordDoorVisit),
        f,
        fact_kinds: options(&FactKind::ALL, FactKind::code, FactKind::label_zh),
        colours: CodeColour::ALL
            .iter()
            .map(|c| (c.code(), c.label_zh()))
            .collect(),
        p,
        id_type,
        id_number,
    }))
}

async fn person_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<PersonQuery>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "fact" => ok_flash("已赋码，健康码已重新计算"),
        "ended" => ok_flash("已结束该赋码记录，健康码已重新计算"),
        "checked" => ok_flash("已记录社区报备核查"),
        _ => None,
    };
    person_page_with(&state, &page, q.id_type, q.id_number, None, flash).await
}

async fn add_fact_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<FactInput>,
) -> PageResult {
    let form = FactForm {
        id_type: f.id_type.clone(),
        id_number: f.id_number.clone(),
        kind: f.kind.clone(),
        anchor: f.anchor.clone(),
        colour: f.colour.clone(),
        note: f.note.clone(),
    };
    let next = state
        .app
        .add_code_fact(&page.user.actor, &form)
        .await
        .map(|_| format!("{}&saved=fact", person_href(&f.id_type, &f.id_number)));
    let (id_type, id_number) = (f.id_type.clone(), f.id_number.clone());
    form_page(&page, next, |flash| {
        person_page_with(&state, &page, id_type, id_number, Some(f), flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PersonAction {
    id_type: String,
    id_number: String,
    reason: String,
}

async fn end_fact_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<PersonAction>,
) -> PageResult {
    let next = state
        .app
        .end_code_fact(&page.user.actor, id, &f.reason)
        .await
        .map(|_| format!("{}&saved=ended", person_href(&f.id_type, &f.id_number)));
    form_page(&page, next, |flash| {
        person_page_with(&state, &page, f.id_type, f.id_number, None, flash)
    })
    .await
}

async fn community_check_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<PersonAction>,
) -> PageResult {
    let next = state
        .app
        .record_community_check(&page.user.actor, &f.id_type, &f.id_number)
        .await
        .map(|_| format!("{}&saved=checked", person_href(&f.id_type, &f.id_number)));
    form_page(&page, next, |flash| {
        person_page_with(&state, &page, f.id_type, f.id_number, None, flash)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Appeals (staff)

#[derive(Template)]
#[template(path = "health_code/appeals.html")]
struct AppealsPage {
    layout: Layout,
    appeals: Vec<AppealView>,
    rows: Vec<(String, &'static str, String)>,
    status: String,
    can_decide: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AppealsQuery {
    status: String,
    decided: String,
}

async fn appeals_page_with(
    state: &AppState,
    page: &PageUser,
    status: String,
    flash: Option<Flash>,
) -> PageResult {
    let filter = match status.as_str() {
        "all" => None,
        "" => Some("open"),
        other => Some(other),
    };
    let appeals = state
        .app
        .appeals(&page.user.actor, filter)
        .await
        .map_err(|e| page.error(e))?;
    let rows = appeals
        .iter()
        .map(|a| {
            (
                beijing_time(a.appeal.filed_at),
                appeal_status_label(&a.appeal.status),
                time_or_dash(a.appeal.decided_at),
            )
        })
        .collect();
    let mut layout = page.layout("code_appeals");
    layout.flash = flash;
    Ok(render(&AppealsPage {
        layout,
        appeals,
        rows,
        status,
        can_decide: page.can(Permission::DecideHealthCodes),
    }))
}

async fn appeals_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<AppealsQuery>,
) -> PageResult {
    let flash = match q.decided.as_str() {
        "accepted" => ok_flash("已核实通过，申诉人的健康码已转绿"),
        "rejected" => ok_flash("已驳回申诉，处理意见已告知申诉人"),
        _ => None,
    };
    appeals_page_with(&state, &page, q.status, flash).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DecideInput {
    accept: String,
    decision: String,
}

async fn decide_appeal_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<DecideInput>,
) -> PageResult {
    let accept = f.accept == "1";
    let next = state
        .app
        .decide_appeal(&page.user.actor, id, accept, &f.decision)
        .await
        .map(|_| {
            format!(
                "/codes/appeals?decided={}",
                if accept { "accepted" } else { "rejected" }
            )
        });
    form_page(&page, next, |flash| {
        appeals_page_with(&state, &page, String::new(), flash)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Residents: own code, appeal, venue check-in

#[derive(Template)]
#[template(path = "health_code/my_code.html")]
struct MyCodePage {
    layout: Layout,
    m: MyCode,
    qr_svg: String,
    colour_class: &'static str,
    badge_class: &'static str,
    expires: String,
    refresh_seconds: u32,
    changes: Vec<(String, &'static str, &'static str)>,
    appeals: Vec<(String, &'static str, String)>,
    reason: String,
}

async fn my_code_page_with(
    state: &AppState,
    page: &PageUser,
    reason: String,
    flash: Option<Flash>,
) -> PageResult {
    let m = state
        .app
        .my_code(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let changes = m
        .changes
        .iter()
        .map(|c| {
            (
                beijing_time(c.at),
                colour_label(&c.to_colour),
                colour_class(&c.to_colour),
            )
        })
        .collect();
    let appeals = m
        .appeals
        .iter()
        .map(|a| {
            (
                beijing_time(a.filed_at),
                appeal_status_label(&a.status),
                a.decision.clone().unwrap_or_default(),
            )
        })
        .collect();
    let mut layout = page.layout("my_code");
    layout.flash = flash;
    Ok(render(&MyCodePage {
        layout,
        qr_svg: qr_svg(&m.token),
        colour_class: colour_class(&m.code.colour),
        badge_class: if m.code.badge == "none" {
            "grey"
        } else {
            "fresh"
        },
        expires: beijing_time(m.token_expires_at),
        refresh_seconds: MY_CODE_REFRESH_SECONDS,
        changes,
        appeals,
        reason,
        m,
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AppealedQuery {
    appealed: String,
}

async fn my_code_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<AppealedQuery>,
) -> PageResult {
    let flash = if q.appealed.is_empty() {
        None
    } else {
        ok_flash("申诉已提交，处理结果会显示在本页")
    };
    my_code_page_with(&state, &page, String::new(), flash).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AppealInput {
    reason: String,
}

async fn my_appeal_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<AppealInput>,
) -> PageResult {
    let next = state
        .app
        .file_appeal(&page.user.actor, &f.reason)
        .await
        .map(|_| "/me/code?appealed=1".to_string());
    form_page(&page, next, |flash| {
        my_code_page_with(&state, &page, f.reason, flash)
    })
    .await
}

#[derive(Template)]
#[template(path = "health_code/venue_check_in.html")]
struct VenueCheckInPage {
    layout: Layout,
    v: VenueView,
    visit_key: String,
}

#[derive(Template)]
#[template(path = "health_code/venue_checked_in.html")]
struct VenueCheckedInPage {
    layout: Layout,
    c: VenueCheckIn,
    at: String,
    colour_class: &'static str,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VenueQuery {
    c: String,
}

async fn venue_check_in_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<VenueQuery>,
) -> PageResult {
    let v = state
        .app
        .venue_of_code(&page.user.actor, &q.c)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&VenueCheckInPage {
        layout: page.layout("my_code"),
        v,
        visit_key: fresh_key(),
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VenueCheckInInput {
    c: String,
    visit_key: String,
}

async fn venue_check_in_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<VenueCheckInInput>,
) -> PageResult {
    let c = state
        .app
        .check_in_venue(&page.user.actor, &f.c, &f.visit_key)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&VenueCheckedInPage {
        layout: page.layout("my_code"),
        at: beijing_time(c.at),
        colour_class: if c.popup {
            "popup"
        } else {
            colour_class(&c.colour)
        },
        c,
    }))
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

/// The create-a-checkpoint form as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct CheckpointInput {
    pub name: String,
    pub kind: String,
    pub line: String,
    pub region_code: String,
}

#[derive(Template)]
#[template(path = "health_code/checkpoints.html")]
struct CheckpointsPage {
    layout: Layout,
    checkpoints: Vec<CheckpointView>,
    can_manage: bool,
    f: CheckpointInput,
    kinds: Vec<(&'static str, &'static str)>,
    lines: Vec<(&'static str, &'static str)>,
}

async fn checkpoints_page_with(
    state: &AppState,
    page: &PageUser,
    f: CheckpointInput,
    flash: Option<Flash>,
) -> PageResult {
    let checkpoints = state
        .app
        .checkpoints(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("checkpoints");
    layout.flash = flash;
    Ok(render(&CheckpointsPage {
        layout,
        checkpoints,
        can_manage: page.can(Permission::ManageCheckpoints),
        f,
        kinds: options(
            &CheckpointKind::ALL,
            CheckpointKind::code,
            CheckpointKind::label_zh,
        ),
        lines: options(&DefenceLine::ALL, DefenceLine::code, DefenceLine::label_zh),
    }))
}

async fn checkpoints_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    let f = CheckpointInput {
        kind: CheckpointKind::CommunityGate.code().into(),
        region_code: page.user.actor.jurisdiction.as_str().to_string(),
        ..CheckpointInput::default()
    };
    checkpoints_page_with(&state, &page, f, None).await
}

async fn create_checkpoint_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<CheckpointInput>,
) -> PageResult {
    let form = CheckpointForm {
        name: f.name.clone(),
        kind: f.kind.clone(),
        line: f.line.clone(),
        region_code: f.region_code.clone(),
    };
    let next = state
        .app
        .create_checkpoint(&page.user.actor, &form)
        .await
        .map(|id| format!("/checkpoints/{id}"));
    form_page(&page, next, |flash| {
        checkpoints_page_with(&state, &page, f, flash)
    })
    .await
}

/// The check form as typed (the scanner field is emptied after each check; the vehicle's plate and
/// where it comes from stay for the next person in the car).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct CheckInput {
    pub passage_key: String,
    pub code: String,
    pub id_number: String,
    pub temperature: String,
    pub plate: String,
    pub from_region: String,
}

#[derive(Template)]
#[template(path = "health_code/checkpoint.html")]
struct CheckpointPage {
    layout: Layout,
    c: CheckpointView,
    can_verify: bool,
    f: CheckInput,
    /// The server-made key of the next check (the form without JS sends it).
    passage_key: String,
    outcome: Option<CheckOutcome>,
    outcome_class: &'static str,
    passages: Vec<PassageView>,
    counts: Vec<(String, &'static str, i64)>,
    total_today: i64,
}

async fn checkpoint_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    f: CheckInput,
    outcome: Option<CheckOutcome>,
    flash: Option<Flash>,
) -> PageResult {
    let c = state
        .app
        .checkpoint(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let can_verify = page.can(Permission::VerifyAtCheckpoint);
    let (passages, counts) = if can_verify {
        state
            .app
            .checkpoint_passages(&page.user.actor, id, 50)
            .await
            .map_err(|e| page.error(e))?
    } else {
        (Vec::new(), Vec::new())
    };
    let mut layout = page.layout("checkpoints");
    layout.flash = flash;
    Ok(render(&CheckpointPage {
        layout,
        c,
        can_verify,
        f,
        passage_key: fresh_key(),
        outcome_class: outcome
            .as_ref()
            .map(|o| decision_class(&o.decision))
            .unwrap_or("idle"),
        outcome,
        total_today: counts.iter().map(|(_, _, n)| n).sum(),
        passages,
        counts,
    }))
}

async fn checkpoint_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    checkpoint_page_with(&state, &page, id, CheckInput::default(), None, None).await
}

async fn checkpoint_check_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<CheckInput>,
) -> PageResult {
    let scan = CheckpointScan {
        passage_key: f.passage_key.clone(),
        code: f.code.clone(),
        id_number: f.id_number.clone(),
        temperature: f.temperature.clone(),
        plate: f.plate.clone(),
        from_region: f.from_region.clone(),
    };
    match state
        .app
        .verify_at_checkpoint(&page.user.actor, id, &scan)
        .await
    {
        Ok(outcome) => {
            let next = CheckInput {
                plate: f.plate,
                from_region: f.from_region,
                ..CheckInput::default()
            };
            checkpoint_page_with(&state, &page, id, next, Some(outcome), None).await
        }
        Err(e) => {
            form_page(&page, Err(e), |flash| {
                checkpoint_page_with(&state, &page, id, f, None, flash)
            })
            .await
        }
    }
}

/// The offline checking page (离线查验): the browser checks `FK1:` codes by itself with the trust
/// list (fetched once from `/api/trust-list` and kept in localStorage) and the `FK1:` DEFLATE
/// dictionary (written into the page), so a post whose network drops keeps checking. Nothing is
/// logged: a check here is not a passage.
#[derive(Template)]
#[template(path = "health_code/checkpoint_offline.html")]
struct OfflineCheckpointPage {
    layout: Layout,
    /// [`fangkong_app::health_code::FK1_DICTIONARY`] as hex.
    dictionary_hex: String,
    /// The server's clock at page load (Unix seconds): the page judges expiry by it.
    now_unix: i64,
}

async fn offline_checkpoint_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    if !page.can(Permission::VerifyAtCheckpoint) {
        return Err(page.error(AppError::Forbidden {
            role: page.user.actor.role,
        }));
    }
    let dictionary_hex = fangkong_app::health_code::FK1_DICTIONARY
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(render(&OfflineCheckpointPage {
        layout: page.layout("checkpoints"),
        dictionary_hex,
        now_unix: state.app.now_unix(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Venues

/// The create-a-venue form as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct VenueInput {
    pub name: String,
    pub kind: String,
    pub address: String,
    pub region_code: String,
}

#[derive(Template)]
#[template(path = "health_code/venues.html")]
struct VenuesPage {
    layout: Layout,
    venues: Vec<VenueView>,
    can_manage: bool,
    f: VenueInput,
}

async fn venues_page_with(
    state: &AppState,
    page: &PageUser,
    f: VenueInput,
    flash: Option<Flash>,
) -> PageResult {
    let venues = state
        .app
        .venues(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("venues");
    layout.flash = flash;
    Ok(render(&VenuesPage {
        layout,
        venues,
        can_manage: page.can(Permission::ManageCheckpoints),
        f,
    }))
}

async fn venues_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    let f = VenueInput {
        region_code: page.user.actor.jurisdiction.as_str().to_string(),
        ..VenueInput::default()
    };
    venues_page_with(&state, &page, f, None).await
}

async fn create_venue_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<VenueInput>,
) -> PageResult {
    let form = VenueForm {
        name: f.name.clone(),
        kind: f.kind.clone(),
        address: f.address.clone(),
        region_code: f.region_code.clone(),
    };
    let next = state
        .app
        .create_venue(&page.user.actor, &form)
        .await
        .map(|id| format!("/venues/{id}"));
    form_page(&page, next, |flash| {
        venues_page_with(&state, &page, f, flash)
    })
    .await
}

#[derive(Template)]
#[template(path = "health_code/venue_poster.html")]
struct VenuePosterPage {
    layout: Layout,
    v: VenueView,
    url: String,
    qr_svg: String,
}

async fn venue_poster_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> PageResult {
    let v = state
        .app
        .venue(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    // The poster points at this very server, as the visitor's phone reaches it.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let url = format!("http://{host}/me/venue?c={}", encode(&v.code_text));
    Ok(render(&VenuePosterPage {
        layout: page.layout("venues"),
        qr_svg: qr_svg(&url),
        url,
        v,
    }))
}

// ---------------------------------------------------------------------------------------------
// Itinerary (行程查询)

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ItineraryInput {
    /// "place" or "person": which of the two forms was sent.
    pub ask: String,
    pub place_kind: String,
    pub place_id: String,
    pub id_type: String,
    pub id_number: String,
    pub from: String,
    pub to: String,
}

#[derive(Template)]
#[template(path = "health_code/itinerary.html")]
struct ItineraryPage {
    layout: Layout,
    f: ItineraryInput,
    rows: Option<Vec<ItineraryRow>>,
    id_types: Vec<(&'static str, &'static str)>,
}

fn itinerary_page_with(
    page: &PageUser,
    f: ItineraryInput,
    rows: Option<Vec<ItineraryRow>>,
    flash: Option<Flash>,
) -> Response {
    let mut layout = page.layout("itinerary");
    layout.flash = flash;
    render(&ItineraryPage {
        layout,
        f,
        rows,
        id_types: id_types(),
    })
}

async fn itinerary_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    if !page.can(Permission::QueryItinerary) {
        return Err(page.error(AppError::Forbidden {
            role: page.user.actor.role,
        }));
    }
    let today = state.app.today();
    let f = ItineraryInput {
        place_kind: "checkpoint".into(),
        from: format!("{} 00:00", today - chrono::Duration::days(1)),
        to: format!("{} 23:59", today),
        ..ItineraryInput::default()
    };
    Ok(itinerary_page_with(&page, f, None, None))
}

async fn itinerary_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<ItineraryInput>,
) -> PageResult {
    let actor = &page.user.actor;
    let result = if f.ask == "person" {
        state
            .app
            .itinerary_of(actor, &f.id_type, &f.id_number, &f.from, &f.to)
            .await
    } else {
        match f.place_id.trim().parse::<i64>() {
            Ok(place_id) => {
                state
                    .app
                    .who_was_at(actor, f.place_kind.trim(), place_id, &f.from, &f.to)
                    .await
            }
            Err(_) => Err(AppError::Invalid(
                "请填写卡口或场所的编号（见卡口、场所码列表）".into(),
            )),
        }
    };
    match result {
        Ok(rows) => Ok(itinerary_page_with(&page, f, Some(rows), None)),
        Err(e) => {
            form_page(&page, Err(e), |flash| async {
                Ok(itinerary_page_with(&page, f, None, flash))
            })
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The JSON API

type ApiResult<T> = Result<Json<T>, ApiError>;

async fn api_verify(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(scan): Json<CheckpointScan>,
) -> ApiResult<CheckOutcome> {
    Ok(Json(
        state
            .app
            .verify_at_checkpoint(&user.actor, id, &scan)
            .await?,
    ))
}

async fn api_my_code(State(state): State<AppState>, ApiUser(user): ApiUser) -> ApiResult<MyCode> {
    Ok(Json(state.app.my_code(&user.actor).await?))
}

async fn api_public_risk_areas(State(state): State<AppState>) -> ApiResult<Vec<PublicArea>> {
    Ok(Json(state.app.public_risk_areas().await?))
}

async fn api_trust_list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let json = state.app.trust_list_json().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        json,
    )
        .into_response())
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    #[test]
    fn each_limit_sheds_only_its_own_checks_and_a_finished_check_frees_its_place() {
        let gate = Arc::new(VerifyGate::new(3, 2, 1));
        let a = gate.try_enter("1", "token-a").expect("first");
        assert!(
            gate.try_enter("1", "token-a").is_none(),
            "one at a time per device"
        );
        let b = gate.try_enter("1", "token-b").expect("another device");
        assert!(
            gate.try_enter("1", "token-c").is_none(),
            "checkpoint 1 is full"
        );
        let c = gate.try_enter("2", "token-c").expect("another checkpoint");
        assert!(gate.try_enter("3", "token-d").is_none(), "three in all");
        assert_eq!(gate.in_flight(), 3);
        drop(a);
        let a = gate
            .try_enter("1", "token-a")
            .expect("the device's place is free again");
        drop((a, b, c));
        assert_eq!(gate.in_flight(), 0);
        assert!(
            gate.in_flight.lock().unwrap().by_key.is_empty(),
            "no key left behind"
        );
    }

    #[test]
    fn the_token_comes_from_the_bearer_header_or_the_session_cookie() {
        let mut headers = HeaderMap::new();
        assert_eq!(client_token(&headers), "");
        headers.insert(header::COOKIE, "theme=x; fk_session=abc".parse().unwrap());
        assert_eq!(client_token(&headers), "abc");
        headers.insert(header::AUTHORIZATION, "Bearer xyz".parse().unwrap());
        assert_eq!(client_token(&headers), "xyz");
    }
}
