//! Supplies: passes pages and API (see `app::supplies::passes`). `/supplies/passes` is the
//! county supply office's whitelist (enterprises, registering one) and its passes;
//! `/supplies/passes/enterprises/{id}` an enterprise with its vehicles, people and passes and the
//! forms to add them and to issue a pass; `/supplies/passes/{id}` one pass as the printable A4
//! green page with its QR (the electronic pass), and its revocation.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use fangkong_app::Page;
use fangkong_app::supplies::passes::{
    EnterpriseDetail, EnterpriseForm, EnterpriseView, PassDetail, PassForm, PassView, RevokeForm,
    SupplyPersonForm, VehicleForm,
};
use fangkong_domain::role::Permission;
use fangkong_domain::supplies::passes::{
    EnterpriseKind, GoodsCategory, SupplyRole, SupplyVehicleKind,
};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::ApiResult;
use crate::forms::{CsrfForm, form_page, ok_flash};
use crate::mass_testing::qr_svg;
use crate::pages::{Flash, Layout, PageResult, PageUser, render};
use crate::session::ApiUser;

/// Every form here is a few fields.
const FORM_LIMIT: usize = 16 * 1024;

/// The choices of a select: (code, label).
type Choices = Vec<(&'static str, &'static str)>;

fn enterprise_kinds() -> Choices {
    EnterpriseKind::ALL
        .iter()
        .map(|k| (k.code(), k.label_zh()))
        .collect()
}

#[derive(Template)]
#[template(path = "supplies/passes.html")]
struct PassesPage {
    layout: Layout,
    can_issue: bool,
    enterprises: Page<EnterpriseView>,
    passes: Page<PassView>,
    kinds: Choices,
    jurisdiction_code: String,
    page: i64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ListQuery {
    page: i64,
    saved: String,
}

async fn passes_page_with(
    state: &AppState,
    page: &PageUser,
    number: i64,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let enterprises = state
        .app
        .supply_enterprises(actor, number)
        .await
        .map_err(|e| page.error(e))?;
    let passes = state
        .app
        .supply_passes(actor, number)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("supplies_passes");
    layout.flash = flash;
    Ok(render(&PassesPage {
        layout,
        can_issue: page.can(Permission::IssuePasses),
        enterprises,
        passes,
        kinds: enterprise_kinds(),
        jurisdiction_code: actor.jurisdiction.as_str().to_string(),
        page: number.max(0),
    }))
}

async fn passes_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "revoked" => ok_flash("通行证已撤销：卡口在线查验时将不予放行。"),
        _ => None,
    };
    passes_page_with(&state, &page, q.page, flash).await
}

async fn register_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<EnterpriseForm>,
) -> PageResult {
    let next = state
        .app
        .register_supply_enterprise(&page.user.actor, &form)
        .await
        .map(|id| format!("/supplies/passes/enterprises/{id}?saved=registered"));
    form_page(&page, next, |flash| {
        passes_page_with(&state, &page, 0, flash)
    })
    .await
}

#[derive(Template)]
#[template(path = "supplies/passes_enterprise.html")]
struct EnterprisePage {
    layout: Layout,
    can_issue: bool,
    d: EnterpriseDetail,
    vehicle_kinds: Choices,
    roles: Choices,
    goods: Choices,
    county: String,
    today: String,
    until: String,
}

async fn enterprise_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    flash: Option<Flash>,
) -> PageResult {
    let d = state
        .app
        .supply_enterprise(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("supplies_passes");
    layout.flash = flash;
    let today = state.app.today();
    Ok(render(&EnterprisePage {
        layout,
        can_issue: page.can(Permission::IssuePasses),
        county: d.enterprise.region_code.chars().take(6).collect(),
        d,
        vehicle_kinds: SupplyVehicleKind::ALL
            .iter()
            .map(|k| (k.code(), k.label_zh()))
            .collect(),
        roles: SupplyRole::ALL
            .iter()
            .map(|k| (k.code(), k.label_zh()))
            .collect(),
        goods: GoodsCategory::ALL
            .iter()
            .map(|k| (k.code(), k.label_zh()))
            .collect(),
        today: today.to_string(),
        until: (today + chrono::Duration::days(6)).to_string(),
    }))
}

async fn enterprise_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "registered" => ok_flash("已纳入保供白名单：请登记车辆和人员，再签发通行证。"),
        "vehicle" => ok_flash("车辆已登记。"),
        "person" => ok_flash("人员已登记。"),
        _ => None,
    };
    enterprise_page_with(&state, &page, id, flash).await
}

async fn vehicle_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<VehicleForm>,
) -> PageResult {
    let next = state
        .app
        .add_supply_vehicle(&page.user.actor, id, &form)
        .await
        .map(|_| format!("/supplies/passes/enterprises/{id}?saved=vehicle"));
    form_page(&page, next, |flash| {
        enterprise_page_with(&state, &page, id, flash)
    })
    .await
}

async fn person_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<SupplyPersonForm>,
) -> PageResult {
    let next = state
        .app
        .add_supply_person(&page.user.actor, id, &form)
        .await
        .map(|_| format!("/supplies/passes/enterprises/{id}?saved=person"));
    form_page(&page, next, |flash| {
        enterprise_page_with(&state, &page, id, flash)
    })
    .await
}

async fn issue_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<PassForm>,
) -> PageResult {
    let next = state
        .app
        .issue_supply_pass(&page.user.actor, id, &form)
        .await
        .map(|pass| format!("/supplies/passes/{}?saved=issued", pass.id));
    form_page(&page, next, |flash| {
        enterprise_page_with(&state, &page, id, flash)
    })
    .await
}

#[derive(Template)]
#[template(path = "supplies/passes_pass.html")]
struct PassPage {
    layout: Layout,
    can_issue: bool,
    d: PassDetail,
    qr: String,
}

async fn pass_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    flash: Option<Flash>,
) -> PageResult {
    let d = state
        .app
        .supply_pass(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("supplies_passes");
    layout.flash = flash;
    Ok(render(&PassPage {
        layout,
        can_issue: page.can(Permission::IssuePasses),
        qr: qr_svg(&d.qr_text),
        d,
    }))
}

async fn pass_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "issued" => ok_flash("通行证已签发：可打印（A4）或让司机保存电子通行证二维码。"),
        _ => None,
    };
    pass_page_with(&state, &page, id, flash).await
}

async fn revoke_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<RevokeForm>,
) -> PageResult {
    let next = state
        .app
        .revoke_supply_pass(&page.user.actor, id, &form)
        .await
        .map(|_| "/supplies/passes?saved=revoked".to_string());
    form_page(&page, next, |flash| {
        pass_page_with(&state, &page, id, flash)
    })
    .await
}

#[derive(Serialize)]
struct Created {
    id: i64,
}

async fn api_passes(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<Page<PassView>> {
    Ok(Json(state.app.supply_passes(&user.actor, q.page).await?))
}

async fn api_register(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<EnterpriseForm>,
) -> ApiResult<Created> {
    let id = state
        .app
        .register_supply_enterprise(&user.actor, &body)
        .await?;
    Ok(Json(Created { id }))
}

async fn api_issue(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(body): Json<PassForm>,
) -> ApiResult<PassView> {
    Ok(Json(
        state.app.issue_supply_pass(&user.actor, id, &body).await?,
    ))
}

async fn api_pass(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<PassDetail> {
    Ok(Json(state.app.supply_pass(&user.actor, id).await?))
}

pub(super) fn pages() -> Router<AppState> {
    Router::new()
        .route("/supplies/passes", get(passes_page))
        .route("/supplies/passes/enterprises", post(register_submit))
        .route("/supplies/passes/enterprises/{id}", get(enterprise_page))
        .route(
            "/supplies/passes/enterprises/{id}/vehicles",
            post(vehicle_submit),
        )
        .route(
            "/supplies/passes/enterprises/{id}/people",
            post(person_submit),
        )
        .route(
            "/supplies/passes/enterprises/{id}/passes",
            post(issue_submit),
        )
        .route("/supplies/passes/{id}", get(pass_page))
        .route("/supplies/passes/{id}/revoke", post(revoke_submit))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
}

pub(super) fn api() -> Router<AppState> {
    Router::new()
        .route("/supplies/passes", get(api_passes))
        .route("/supplies/passes/enterprises", post(api_register))
        .route("/supplies/passes/enterprises/{id}/passes", post(api_issue))
        .route("/supplies/passes/{id}", get(api_pass))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
}
