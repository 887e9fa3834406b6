//! Server-rendered pages (Chinese first).
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use askama::Template;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Multipart, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{NaiveDate, TimeZone};
use fangkong_app::door_visits::{DoorLedger, DoorVisitForm};
use fangkong_app::import::{FileFormat, ImportReport};
use fangkong_app::population::{
    Destination, GridMoveForm, HouseholdView, MoveInForm, MoveInLists, MoveInView, ResidentView,
};
use fangkong_app::records::{AuditRecord, DoorVisitRecord, ImportRecord, UnvisitedHousehold};
use fangkong_app::regions::RegionOverview;
use fangkong_app::{AppError, china_offset};
use fangkong_domain::region::RegionLevel;
use fangkong_domain::role::{CAPABILITIES, Permission, Role};
use serde::Deserialize;

use crate::forms::{CsrfForm, NoFields, form_page_when, is_typed_mistake};
use crate::session::{ClientAddr, LoggedIn, SESSION_COOKIE, resolve};
pub(crate) use crate::upload::read_upload;
use crate::{AppState, log_if_internal, status_of};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route(
            "/login",
            get(login_page)
                .post(login_submit)
                .layer(DefaultBodyLimit::max(crate::LOGIN_LIMIT_BYTES)),
        )
        .route("/logout", post(logout))
        .route("/regions", get(regions_root))
        .route("/regions/find", get(regions_find))
        .route("/regions/{code}", get(region_page))
        .route("/residents", get(residents_search))
        .route(
            "/residents/new",
            get(resident_new_page).post(resident_new_submit),
        )
        .route("/residents/move-ins", get(move_ins_page))
        .route(
            "/residents/move-ins/new",
            get(move_in_new_page).post(move_in_new_submit),
        )
        .route("/residents/move-ins/{id}", get(move_in_page))
        .route("/residents/move-ins/{id}/decide", post(move_in_decide))
        .route("/residents/{id}", get(resident_page))
        .route("/residents/{id}/reveal", post(resident_reveal))
        .route(
            "/residents/{id}/move",
            get(resident_move_page).post(resident_move_submit),
        )
        .route("/households/{number}", get(household_page))
        .route("/households/{number}/visits", post(household_visit))
        .route("/door-ledger/{grid}", get(door_ledger_page))
        .route(
            "/import",
            get(import_page)
                .post(import_submit)
                .layer(DefaultBodyLimit::max(crate::UPLOAD_LIMIT_BYTES)),
        )
        .route("/imports/{id}/problems.csv", get(import_problems_download))
        .route("/export", post(export_download))
        .route("/audit", get(audit_page))
        .route("/users", get(users_page).post(users_create))
        .route("/users/{id}", get(user_page))
        .route("/users/{id}/disable", post(user_disable))
        .route("/users/{id}/enable", post(user_enable))
        .route("/users/{id}/password", post(user_reset_password))
        .route("/users/{id}/role", post(user_set_role))
        .route("/users/{id}/logout-all", post(user_logout_all))
        .route(
            "/me/password",
            get(own_password_page).post(own_password_submit),
        )
        .route("/modules/{slug}", get(module_page))
}

// ---------------------------------------------------------------------------------------------
// Layout, errors and the page extractor

pub struct ModuleLink {
    pub slug: &'static str,
    pub label: &'static str,
    pub href: &'static str,
    pub built: bool,
}

pub struct Flash {
    pub kind: &'static str,
    pub text: String,
}

/// What every page's frame shows: who is logged in, the navigation, a message.
pub struct Layout {
    pub display_name: String,
    pub role_label: &'static str,
    pub jurisdiction_name: String,
    pub csrf: String,
    pub active: &'static str,
    pub modules: Vec<ModuleLink>,
    pub is_admin: bool,
    /// Resident search (the register) and move-in requests, for the roles that do that work.
    pub register: bool,
    pub move_ins: bool,
    /// The mass-testing links this role may use.
    pub testing: crate::mass_testing::TestingNav,
    /// The health-code, checkpoint and risk-area links this role may use.
    pub codes: crate::health_code::CodeNav,
    /// The investigation, leads and isolation links this role may use.
    pub work: WorkNav,
    pub flash: Option<Flash>,
}

/// Which investigation (流调), lead (落地查人) and isolation (隔离转运) links the navigation shows a role.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkNav {
    /// Cases, contacts, chains (`/cases`, `/chains`).
    pub cases: bool,
    /// Leads and the 24-hour landing view (`/leads`).
    pub leads: bool,
    /// Sites, people under measures, hospitals (`/isolation`).
    pub isolation: bool,
    /// Allocation and transfers (`/transfers`).
    pub transfers: bool,
    /// Home isolation and monitoring check-ins (`/home-monitoring`).
    pub home: bool,
    /// A resident's own self-report (`/me/self-report`).
    pub self_report: bool,
}

impl WorkNav {
    pub fn for_role(role: Role) -> WorkNav {
        WorkNav {
            cases: role.allows(Permission::ViewInvestigation),
            leads: role.allows(Permission::ViewLeads),
            isolation: role.allows(Permission::ViewIsolation),
            transfers: role.allows(Permission::DispatchTransfers),
            home: role.allows(Permission::RecordHomeCheckIns)
                && role.allows(Permission::ViewIsolation),
            self_report: role.allows(Permission::SelfReport),
        }
    }

    pub fn any(&self) -> bool {
        self.cases || self.leads || self.isolation || self.transfers || self.home
    }

    /// Where the investigation capability's link leads for a role.
    pub fn investigation_home_of(role: Role) -> &'static str {
        if role.allows(Permission::ViewInvestigation) {
            "/cases"
        } else if role.allows(Permission::ViewLeads) {
            "/leads"
        } else if role.allows(Permission::SelfReport) {
            "/me/self-report"
        } else {
            "/modules/investigation"
        }
    }
}

/// A logged-in user on a page; not logged in → redirect to the login page with the reason.
///
/// Resolved once per request: the first extraction keeps a copy in the request's extensions, so a
/// handler's `PageUser` and its [`crate::forms::CsrfForm`] share one session lookup.
#[derive(Clone)]
pub struct PageUser {
    pub user: LoggedIn,
    pub jurisdiction_name: String,
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(page) = parts.extensions.get::<PageUser>() {
            return Ok(page.clone());
        }
        match resolve(parts, state).await {
            Ok(user) => {
                let jurisdiction_name = state
                    .app
                    .region_name(&user.actor.jurisdiction)
                    .await
                    .unwrap_or_else(|_| user.actor.jurisdiction.as_str().to_string());
                let page = PageUser {
                    user,
                    jurisdiction_name,
                };
                parts.extensions.insert(page.clone());
                Ok(page)
            }
            Err(e) => {
                let reason = if matches!(e, AppError::SessionExpired) {
                    "expired"
                } else {
                    "required"
                };
                log_if_internal(&e);
                Err(Redirect::to(&format!("/login?reason={reason}")).into_response())
            }
        }
    }
}

impl PageUser {
    pub(crate) fn layout(&self, active: &'static str) -> Layout {
        let actor = &self.user.actor;
        Layout {
            display_name: actor.display_name.clone(),
            role_label: actor.role.label_zh(),
            jurisdiction_name: self.jurisdiction_name.clone(),
            csrf: self.user.csrf_token.clone(),
            active,
            modules: CAPABILITIES
                .iter()
                .map(|c| ModuleLink {
                    slug: c.slug,
                    label: c.label_zh,
                    href: match c.slug {
                        "population" => "/regions",
                        "mass_testing" => "/testing",
                        "health_code" => crate::health_code::CodeNav::home_of(actor.role),
                        "investigation" => WorkNav::investigation_home_of(actor.role),
                        "isolation" => "/isolation",
                        "platform" => "/import",
                        _ => "",
                    },
                    built: c.built,
                })
                .collect(),
            is_admin: actor.role.allows(Permission::ViewAuditLog),
            register: actor.role.allows(Permission::SearchRegister),
            move_ins: actor.role.allows(Permission::ImportPopulation),
            testing: crate::mass_testing::TestingNav::for_role(actor.role),
            codes: crate::health_code::CodeNav::for_role(actor.role),
            work: WorkNav::for_role(actor.role),
            flash: None,
        }
    }

    pub(crate) fn can(&self, permission: Permission) -> bool {
        self.user.actor.role.allows(permission)
    }

    /// An error page with the user's frame.
    pub(crate) fn error(&self, error: AppError) -> PageError {
        PageError {
            error,
            layout: Some(self.layout("")),
        }
    }
}

pub struct PageError {
    error: AppError,
    layout: Option<Layout>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        log_if_internal(&self.error);
        let status = status_of(&self.error);
        let message = self.error.to_string();
        match self.layout {
            Some(layout) => match (ErrorPage {
                layout,
                message: message.clone(),
            })
            .render()
            {
                Ok(html) => (status, Html(html)).into_response(),
                Err(_) => (status, message).into_response(),
            },
            None => (status, message).into_response(),
        }
    }
}

pub(crate) type PageResult = Result<Response, PageError>;

pub(crate) fn render<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "页面生成失败").into_response()
        }
    }
}

/// The (code, label) pairs of a select box, in the order of `all` (a domain enum's `ALL`).
pub(crate) fn options<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<(&'static str, &'static str)> {
    all.iter().map(|k| (code(*k), label(*k))).collect()
}

/// The state of an import or upload run as users read it: 已中断 when a crash cut it short (its
/// counters say what it had committed), 已完成, or 进行中.
pub fn run_status(finished_at: Option<i64>, interrupted_at: Option<i64>) -> &'static str {
    match (finished_at, interrupted_at) {
        (_, Some(_)) => "已中断",
        (Some(_), None) => "已完成",
        (None, None) => "进行中",
    }
}

/// Beijing time of a unix timestamp, as users read it.
pub fn beijing_time(unix: i64) -> String {
    china_offset()
        .timestamp_opt(unix, 0)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Login and home

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    message: Option<String>,
    username: String,
}

#[derive(Deserialize)]
struct LoginQuery {
    reason: Option<String>,
}

async fn login_page(Query(query): Query<LoginQuery>) -> Response {
    let message = match query.reason.as_deref() {
        Some("expired") => Some("登录已过期，请重新登录".to_string()),
        Some("required") => Some("请先登录".to_string()),
        Some("logout") => Some("您已退出登录".to_string()),
        _ => None,
    };
    render(&LoginPage {
        message,
        username: String::new(),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
}

/// A login form posted from another site is refused: the browser's Origin must be this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin.split("://").nth(1) == Some(host)
}

/// The session cookie's attributes (`Secure` when the server is configured for HTTPS).
fn cookie_attributes(state: &AppState) -> &'static str {
    if state.config.secure_cookies {
        "Path=/; HttpOnly; SameSite=Lax; Secure"
    } else {
        "Path=/; HttpOnly; SameSite=Lax"
    }
}

async fn login_submit(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "跨站登录请求已被拒绝").into_response();
    }
    match state.app.login(&form.username, &form.password, &addr).await {
        Ok(session) => (
            [(
                header::SET_COOKIE,
                format!(
                    "{SESSION_COOKIE}={}; {}",
                    session.token,
                    cookie_attributes(&state)
                ),
            )],
            Redirect::to("/"),
        )
            .into_response(),
        Err(e) => {
            log_if_internal(&e);
            let page = LoginPage {
                message: Some(e.to_string()),
                username: form.username,
            };
            (status_of(&e), render(&page)).into_response()
        }
    }
}

async fn logout(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(_): CsrfForm<NoFields>,
) -> PageResult {
    state
        .app
        .logout(&page.user.token, &page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    Ok((
        [(
            header::SET_COOKIE,
            format!(
                "{SESSION_COOKIE}=; {}; Max-Age=0",
                cookie_attributes(&state)
            ),
        )],
        Redirect::to("/login?reason=logout"),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    greeting: String,
    residents: i64,
    households: i64,
    grids: i64,
    tasks: Vec<(String, String)>,
}

async fn home(State(state): State<AppState>, page: PageUser) -> PageResult {
    let actor = &page.user.actor;
    let jurisdiction = actor.jurisdiction.as_str().to_string();
    let (residents, households, grids) = if actor.role.allows(Permission::ViewPopulation) {
        let o = state
            .app
            .region_overview(actor, &jurisdiction)
            .await
            .map_err(|e| page.error(e))?;
        (o.residents, o.households, o.grids)
    } else {
        (0, 0, 0)
    };
    let mut tasks: Vec<(String, String)> = Vec::new();
    let region_link = format!("/regions/{jurisdiction}");
    match actor.role {
        Role::GridWorker => {
            if actor.jurisdiction.level() == RegionLevel::Grid {
                tasks.push((
                    "敲门行动：查看本网格未走访的住户".into(),
                    format!("/door-ledger/{jurisdiction}"),
                ));
            }
            tasks.push(("查看本辖区住户".into(), region_link));
            tasks.push(("查找居民".into(), "/residents".into()));
            tasks.push(("导入本网格居民名单（CSV/Excel）".into(), "/import".into()));
        }
        Role::Commander | Role::DutyOfficer | Role::Epidemiologist => {
            tasks.push(("辖区人口与网格总览".into(), region_link));
            if actor.role.allows(Permission::SearchRegister) {
                tasks.push(("查找居民".into(), "/residents".into()));
            }
            tasks.push(("健康码赋码与申诉".into(), "/codes".into()));
            tasks.push(("风险区域划定与调整".into(), "/risk-areas".into()));
        }
        Role::Checkpoint => {
            tasks.push(("卡口查验".into(), "/checkpoints".into()));
            tasks.push(("查询健康码".into(), "/codes".into()));
        }
        Role::Administrator => {
            tasks.push(("用户与辖区".into(), "/users".into()));
            tasks.push(("审计日志".into(), "/audit".into()));
            tasks.push(("导入居民".into(), "/import".into()));
            tasks.push(("辖区人口与网格总览".into(), region_link));
        }
        Role::Resident => {
            tasks.push(("我的健康码".into(), "/me/code".into()));
            tasks.push(("我的核酸结果".into(), "/me/results".into()));
            tasks.push(("风险区域公布".into(), "/public/risk-areas".into()));
        }
        _ => {
            if actor.role.allows(Permission::SearchRegister) {
                tasks.push(("查找居民".into(), "/residents".into()));
            }
            tasks.push(("辖区人口与网格总览".into(), region_link));
        }
    }
    let greeting = format!("{}，您好", actor.display_name);
    Ok(render(&HomePage {
        layout: page.layout("home"),
        greeting,
        residents,
        households,
        grids,
        tasks,
    }))
}

// ---------------------------------------------------------------------------------------------
// Regions

#[derive(Template)]
#[template(path = "region.html")]
struct RegionPage {
    layout: Layout,
    o: RegionOverview,
    level_label: &'static str,
    is_grid: bool,
    can_export: bool,
}

async fn regions_root(page: PageUser) -> Response {
    Redirect::to(&format!(
        "/regions/{}",
        page.user.actor.jurisdiction.as_str()
    ))
    .into_response()
}

async fn region_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(code): Path<String>,
) -> PageResult {
    let o = state
        .app
        .region_overview(&page.user.actor, &code)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&RegionPage {
        level_label: o.region.level.label_zh(),
        is_grid: o.region.level == RegionLevel::Grid,
        can_export: page.can(Permission::ExportPopulation),
        layout: page.layout("regions"),
        o,
    }))
}

struct FoundRegion {
    code: String,
    name: String,
    level_label: &'static str,
}

#[derive(Template)]
#[template(path = "region_find.html")]
struct RegionFindPage {
    layout: Layout,
    q: String,
    found: Vec<FoundRegion>,
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn regions_find(
    State(state): State<AppState>,
    page: PageUser,
    Query(query): Query<SearchQuery>,
) -> PageResult {
    let found = state
        .app
        .find_regions(&page.user.actor, &query.q)
        .await
        .map_err(|e| page.error(e))?;
    let found = found
        .into_iter()
        .map(|r| FoundRegion {
            level_label: r.level.label_zh(),
            code: r.code,
            name: r.name,
        })
        .collect();
    Ok(render(&RegionFindPage {
        layout: page.layout("regions"),
        q: query.q,
        found,
    }))
}

// ---------------------------------------------------------------------------------------------
// Residents and households

#[derive(Template)]
#[template(path = "residents.html")]
struct ResidentsPage {
    layout: Layout,
    q: String,
    results: Vec<ResidentView>,
}

async fn residents_search(
    State(state): State<AppState>,
    page: PageUser,
    Query(query): Query<SearchQuery>,
) -> PageResult {
    let results = state
        .app
        .search_residents(&page.user.actor, &query.q)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&ResidentsPage {
        layout: page.layout("residents"),
        q: query.q.trim().to_string(),
        results,
    }))
}

#[derive(Template)]
#[template(path = "resident.html")]
struct ResidentPage {
    layout: Layout,
    r: ResidentView,
    can_reveal: bool,
    can_move: bool,
}

async fn resident_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    let r = state
        .app
        .resident(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&ResidentPage {
        can_reveal: page.can(Permission::RevealPersonalData),
        can_move: page.can(Permission::ImportPopulation),
        layout: page.layout("residents"),
        r,
    }))
}

#[derive(Deserialize)]
struct RevealForm {
    #[serde(default)]
    reason: String,
}

async fn resident_reveal(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<RevealForm>,
) -> PageResult {
    let r = state
        .app
        .reveal_resident(&page.user.actor, id, &form.reason)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("residents");
    layout.flash = Some(Flash {
        kind: "info",
        text: "已显示完整信息，本次查看已记入审计日志".into(),
    });
    Ok(render(&ResidentPage {
        layout,
        r,
        can_reveal: false,
        can_move: page.can(Permission::ImportPopulation),
    }))
}

#[derive(Template)]
#[template(path = "household.html")]
struct HouseholdPage {
    layout: Layout,
    h: HouseholdView,
    visits: Vec<(String, DoorVisitRecord)>,
    can_visit: bool,
    can_register: bool,
}

/// The register-a-resident form: the import columns, as typed (kept when the form comes back with
/// a problem, so nothing typed is lost).
#[derive(Deserialize, Default)]
struct ResidentForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_type: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    household_number: String,
    #[serde(default)]
    relation: String,
    #[serde(default)]
    grid_code: String,
    #[serde(default)]
    key_groups: String,
}

#[derive(Template)]
#[template(path = "resident_new.html")]
struct ResidentNewPage {
    layout: Layout,
    f: ResidentForm,
    id_types: Vec<(&'static str, &'static str)>,
}

fn resident_new_page_with(page: &PageUser, f: ResidentForm, flash: Option<Flash>) -> Response {
    let mut layout = page.layout("residents");
    layout.flash = flash;
    let id_types = fangkong_domain::ids::IdType::ALL
        .iter()
        .map(|t| (t.code(), t.label_zh()))
        .collect();
    render(&ResidentNewPage {
        layout,
        f,
        id_types,
    })
}

#[derive(Deserialize)]
struct NewResidentQuery {
    household: Option<String>,
}

/// Opened from a household page, the form starts with that household's number, grid and address.
async fn resident_new_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(query): Query<NewResidentQuery>,
) -> PageResult {
    let mut form = ResidentForm {
        id_type: "mainland_id".into(),
        ..ResidentForm::default()
    };
    if let Some(number) = query.household.filter(|n| !n.is_empty()) {
        let h = state
            .app
            .household(&page.user.actor, &number)
            .await
            .map_err(|e| page.error(e))?;
        form.household_number = h.household.number;
        form.grid_code = h.household.grid_code;
        form.address = h.household.address;
    }
    Ok(resident_new_page_with(&page, form, None))
}

async fn resident_new_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<ResidentForm>,
) -> PageResult {
    let raw = fangkong_domain::resident_row::RawResidentRow {
        name: form.name.clone(),
        id_type: form.id_type.clone(),
        id_number: form.id_number.clone(),
        sex: form.sex.clone(),
        birth_date: form.birth_date.clone(),
        phone: form.phone.clone(),
        address: form.address.clone(),
        household_number: form.household_number.clone(),
        relation: form.relation.clone(),
        grid_code: form.grid_code.clone(),
        key_groups: form.key_groups.clone(),
    };
    let next = state
        .app
        .save_resident(&page.user.actor, &raw)
        .await
        .map(|(id, _)| format!("/residents/{id}"));
    // A mistake in the form comes back with everything typed and the reason on top.
    form_page_when(is_typed_mistake, &page, next, |flash| async {
        Ok(resident_new_page_with(&page, form, flash))
    })
    .await
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

async fn household_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(number): Path<String>,
    Query(saved): Query<SavedQuery>,
) -> PageResult {
    let h = state
        .app
        .household(&page.user.actor, &number)
        .await
        .map_err(|e| page.error(e))?;
    let visits = h
        .visits
        .iter()
        .map(|v| (beijing_time(v.visited_at), v.clone()))
        .collect();
    let mut layout = page.layout("regions");
    if saved.saved.is_some() {
        layout.flash = Some(Flash {
            kind: "ok",
            text: "走访记录已保存".into(),
        });
    }
    Ok(render(&HouseholdPage {
        layout,
        h,
        visits,
        can_visit: page.can(Permission::RecordDoorVisit),
        can_register: page.can(Permission::ImportPopulation),
    }))
}

#[derive(Deserialize)]
struct VisitForm {
    #[serde(default)]
    present_count: String,
    #[serde(default)]
    away_count: String,
    #[serde(default)]
    arrivals_count: String,
    #[serde(default)]
    arrivals_note: String,
    #[serde(default)]
    untested_count: String,
    #[serde(default)]
    unvaccinated_count: String,
    #[serde(default)]
    note: String,
}

async fn household_visit(
    State(state): State<AppState>,
    page: PageUser,
    Path(number): Path<String>,
    CsrfForm(form): CsrfForm<VisitForm>,
) -> PageResult {
    let visit = DoorVisitForm {
        present_count: form.present_count,
        away_count: form.away_count,
        arrivals_count: form.arrivals_count,
        arrivals_note: form.arrivals_note,
        untested_count: form.untested_count,
        unvaccinated_count: form.unvaccinated_count,
        note: form.note,
    };
    state
        .app
        .record_door_visit(&page.user.actor, &number, &visit)
        .await
        .map_err(|e| page.error(e))?;
    Ok(Redirect::to(&format!("/households/{number}?saved=1")).into_response())
}

#[derive(Template)]
#[template(path = "door_ledger.html")]
struct DoorLedgerPage {
    layout: Layout,
    l: DoorLedger,
    unvisited: Vec<(UnvisitedHousehold, String)>,
}

#[derive(Deserialize)]
struct SinceQuery {
    since: Option<String>,
}

/// The ledger starts 7 days back unless the user picks the day the current door-to-door action began.
pub(crate) fn parse_since(raw: Option<&str>, today: NaiveDate) -> Result<NaiveDate, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(today - chrono::Duration::days(7)),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            AppError::Invalid(format!(
                "日期“{text}”格式不对，应为 2022-11-20 这样的年-月-日"
            ))
        }),
    }
}

async fn door_ledger_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(grid): Path<String>,
    Query(query): Query<SinceQuery>,
) -> PageResult {
    let since =
        parse_since(query.since.as_deref(), state.app.today()).map_err(|e| page.error(e))?;
    let l = state
        .app
        .door_ledger(&page.user.actor, &grid, since)
        .await
        .map_err(|e| page.error(e))?;
    let unvisited = l
        .unvisited
        .iter()
        .map(|u| {
            (
                u.clone(),
                u.last_visited_at
                    .map(beijing_time)
                    .unwrap_or_else(|| "从未走访".into()),
            )
        })
        .collect();
    Ok(render(&DoorLedgerPage {
        layout: page.layout("regions"),
        l,
        unvisited,
    }))
}

// ---------------------------------------------------------------------------------------------
// Import and export

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    layout: Layout,
    columns: String,
    can_import: bool,
    report: Option<ImportReport>,
    /// (run, start time, 已完成 / 进行中 / 已中断).
    imports: Vec<(ImportRecord, String, &'static str)>,
}

async fn import_page_with(
    state: &AppState,
    page: &PageUser,
    report: Option<ImportReport>,
) -> PageResult {
    let imports = if page.can(Permission::ImportPopulation) {
        state
            .app
            .recent_imports(&page.user.actor)
            .await
            .map_err(|e| page.error(e))?
    } else {
        Vec::new()
    };
    Ok(render(&ImportPage {
        layout: page.layout("import"),
        columns: fangkong_domain::resident_row::COLUMNS.join(","),
        can_import: page.can(Permission::ImportPopulation),
        report,
        imports: imports
            .into_iter()
            .map(|i| {
                let status = run_status(i.finished_at, i.interrupted_at);
                (i.clone(), beijing_time(i.started_at), status)
            })
            .collect(),
    }))
}

async fn import_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    import_page_with(&state, &page, None).await
}

async fn import_submit(
    State(state): State<AppState>,
    page: PageUser,
    mut multipart: Multipart,
) -> PageResult {
    let upload = read_upload(
        &state,
        &page.user,
        Permission::ImportPopulation,
        &mut multipart,
    )
    .await
    .map_err(|e| page.error(e))?;
    let Some((name, temp)) = upload.filter(|(name, _)| !name.is_empty()) else {
        return Err(page.error(AppError::Invalid("请选择要导入的文件".into())));
    };
    let report = state
        .app
        .import_residents(&page.user.actor, temp.path(), &name)
        .await
        .map_err(|e| page.error(e))?;
    import_page_with(&state, &page, Some(report)).await
}

async fn import_problems_download(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    // Written page by page to a temporary file, then streamed: memory stays flat.
    let temp = tempfile::NamedTempFile::new()
        .map_err(|e| page.error(AppError::Internal(e.to_string())))?;
    let file = temp
        .reopen()
        .map_err(|e| page.error(AppError::Internal(e.to_string())))?;
    state
        .app
        .write_import_problem_file(&page.user.actor, id, file)
        .await
        .map_err(|e| page.error(e))?;
    let file = tokio::fs::File::open(temp.path())
        .await
        .map_err(|e| page.error(AppError::Internal(e.to_string())))?;
    drop(temp);
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok(download(
        body,
        &format!("导入问题行-{id}.csv"),
        "text/csv; charset=utf-8",
    ))
}

pub(crate) fn download(body: axum::body::Body, file_name: &str, content_type: &str) -> Response {
    let encoded: String = file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename*=UTF-8''{encoded}"),
            ),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
struct ExportForm {
    region: String,
    #[serde(default)]
    format: String,
}

async fn export_download(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<ExportForm>,
) -> PageResult {
    let format = if form.format == "xlsx" {
        FileFormat::Xlsx
    } else {
        FileFormat::Csv
    };
    let temp = tempfile::NamedTempFile::new()
        .map_err(|e| page.error(AppError::Internal(e.to_string())))?;
    state
        .app
        .export_residents(&page.user.actor, &form.region, format, temp.path())
        .await
        .map_err(|e| page.error(e))?;
    // Open, then let the temporary path go: the open file streams out and disappears when done.
    let file = tokio::fs::File::open(temp.path())
        .await
        .map_err(|e| page.error(AppError::Internal(e.to_string())))?;
    drop(temp);
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let (name, content_type) = match format {
        FileFormat::Csv => (
            format!("居民-{}.csv", form.region),
            "text/csv; charset=utf-8",
        ),
        FileFormat::Xlsx => (
            format!("居民-{}.xlsx", form.region),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    };
    Ok(download(body, &name, content_type))
}

// ---------------------------------------------------------------------------------------------
// Administration

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    action: String,
    actions: Vec<(&'static str, &'static str)>,
    entries: Vec<(String, AuditRecord)>,
    next_before: Option<i64>,
}

#[derive(Deserialize)]
struct AuditQuery {
    #[serde(default)]
    action: String,
    before: Option<i64>,
}

async fn audit_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(query): Query<AuditQuery>,
) -> PageResult {
    let entries = state
        .app
        .audit_log(&page.user.actor, &query.action, query.before)
        .await
        .map_err(|e| page.error(e))?;
    let next_before = if entries.len() >= 200 {
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(render(&AuditPage {
        layout: page.layout("audit"),
        actions: vec![
            ("reveal", "查看完整个人信息"),
            ("export", "导出"),
            ("import", "导入"),
            ("create", "新增"),
            ("update", "修改"),
            ("login", "登录"),
            ("login_failed", "登录失败"),
            ("logout", "退出"),
        ],
        action: query.action,
        entries: entries
            .into_iter()
            .map(|e| (beijing_time(e.at), e))
            .collect(),
        next_before,
    }))
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<(i64, String, String, &'static str, String, bool)>,
    min_password: usize,
    roles: Vec<(&'static str, &'static str)>,
}

async fn users_page_with(state: &AppState, page: &PageUser, flash: Option<Flash>) -> PageResult {
    let users = state
        .app
        .list_users(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("users");
    layout.flash = flash;
    Ok(render(&UsersPage {
        layout,
        users: users
            .into_iter()
            .map(|u| {
                let role = Role::parse(&u.role).map(|r| r.label_zh()).unwrap_or("未知");
                (
                    u.id,
                    u.username,
                    u.display_name,
                    role,
                    u.jurisdiction,
                    u.disabled,
                )
            })
            .collect(),
        min_password: fangkong_app::auth::PASSWORD_MIN_CHARS,
        roles: Role::ALL.iter().map(|r| (r.code(), r.label_zh())).collect(),
    }))
}

async fn users_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    users_page_with(&state, &page, None).await
}

#[derive(Deserialize)]
struct NewUserForm {
    username: String,
    display_name: String,
    role: String,
    jurisdiction: String,
    password: String,
}

async fn users_create(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<NewUserForm>,
) -> PageResult {
    let role = Role::parse(&form.role).map_err(|e| page.error(AppError::Invalid(e)))?;
    let jurisdiction =
        fangkong_app::parse_region_code(&form.jurisdiction).map_err(|e| page.error(e))?;
    let user = fangkong_app::auth::NewUser {
        username: form.username.trim().to_string(),
        display_name: form.display_name,
        role,
        jurisdiction,
        password: form.password,
    };
    state
        .app
        .create_user(&page.user.actor, &user)
        .await
        .map_err(|e| page.error(e))?;
    let flash = Flash {
        kind: "ok",
        text: format!("已创建用户 {}", user.username),
    };
    users_page_with(&state, &page, Some(flash)).await
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    layout: Layout,
    u: fangkong_app::auth::UserView,
    role_label: &'static str,
    roles: Vec<(&'static str, &'static str)>,
    min_password: usize,
}

async fn user_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    flash: Option<Flash>,
) -> PageResult {
    let u = state
        .app
        .user_detail(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("users");
    layout.flash = flash;
    Ok(render(&UserPage {
        layout,
        role_label: u.role.label_zh(),
        u,
        roles: Role::ALL.iter().map(|r| (r.code(), r.label_zh())).collect(),
        min_password: fangkong_app::auth::PASSWORD_MIN_CHARS,
    }))
}

async fn user_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    user_page_with(&state, &page, id, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UserChangeForm {
    password: String,
    role: String,
    jurisdiction: String,
}

/// Applies one account change from the user page and shows the page again with what happened.
async fn user_change(
    state: &AppState,
    page: &PageUser,
    id: i64,
    change: fangkong_app::auth::UserChange,
    done: &str,
) -> PageResult {
    match state.app.change_user(&page.user.actor, id, change).await {
        Ok(()) => {
            let flash = Flash {
                kind: "ok",
                text: done.to_string(),
            };
            user_page_with(state, page, id, Some(flash)).await
        }
        Err(e @ AppError::Invalid(_)) => {
            let status = status_of(&e);
            let flash = Flash {
                kind: "error",
                text: e.to_string(),
            };
            let body = user_page_with(state, page, id, Some(flash)).await?;
            Ok((status, body).into_response())
        }
        Err(e) => Err(page.error(e)),
    }
}

async fn user_disable(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> PageResult {
    use fangkong_app::auth::UserChange;
    user_change(
        &state,
        &page,
        id,
        UserChange::Disable,
        "已停用该账号，其所有会话和令牌已失效",
    )
    .await
}

async fn user_enable(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> PageResult {
    use fangkong_app::auth::UserChange;
    user_change(&state, &page, id, UserChange::Enable, "已启用该账号").await
}

async fn user_reset_password(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<UserChangeForm>,
) -> PageResult {
    use fangkong_app::auth::UserChange;
    let change = UserChange::ResetPassword(form.password.clone());
    user_change(
        &state,
        &page,
        id,
        change,
        "已重置密码，该用户需用新密码重新登录",
    )
    .await
}

async fn user_set_role(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<UserChangeForm>,
) -> PageResult {
    use fangkong_app::auth::UserChange;
    let role = Role::parse(&form.role).map_err(|e| page.error(AppError::Invalid(e)))?;
    let jurisdiction =
        fangkong_app::parse_region_code(&form.jurisdiction).map_err(|e| page.error(e))?;
    let change = UserChange::SetRole { role, jurisdiction };
    user_change(
        &state,
        &page,
        id,
        change,
        "已修改角色和辖区，该用户需重新登录",
    )
    .await
}

async fn user_logout_all(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> PageResult {
    use fangkong_app::auth::UserChange;
    let change = UserChange::LogoutEverywhere;
    user_change(&state, &page, id, change, "该用户的所有会话和令牌已失效").await
}

#[derive(Template)]
#[template(path = "me_password.html")]
struct OwnPasswordPage {
    layout: Layout,
    min_password: usize,
}

fn own_password_page_with(page: &PageUser, flash: Option<Flash>) -> Response {
    let mut layout = page.layout("");
    layout.flash = flash;
    render(&OwnPasswordPage {
        layout,
        min_password: fangkong_app::auth::PASSWORD_MIN_CHARS,
    })
}

async fn own_password_page(page: PageUser) -> Response {
    own_password_page_with(&page, None)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OwnPasswordForm {
    current: String,
    new_password: String,
    repeat: String,
}

async fn own_password_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<OwnPasswordForm>,
) -> PageResult {
    let result = if form.new_password != form.repeat {
        Err(AppError::Invalid("两次输入的新密码不一致".into()))
    } else {
        state
            .app
            .change_own_password(
                &page.user.actor,
                &page.user.token,
                &form.current,
                &form.new_password,
            )
            .await
    };
    match result {
        Ok(()) => Ok(own_password_page_with(
            &page,
            Some(Flash {
                kind: "ok",
                text: "密码已修改；您在其他设备上的登录已退出".into(),
            }),
        )),
        Err(e @ (AppError::Invalid(_) | AppError::TooManyAttempts(_))) => {
            let status = status_of(&e);
            let body = own_password_page_with(
                &page,
                Some(Flash {
                    kind: "error",
                    text: e.to_string(),
                }),
            );
            Ok((status, body).into_response())
        }
        Err(e) => Err(page.error(e)),
    }
}

#[derive(Template)]
#[template(path = "module.html")]
struct ModulePage {
    layout: Layout,
    label: &'static str,
}

async fn module_page(page: PageUser, Path(slug): Path<String>) -> PageResult {
    let capability = CAPABILITIES
        .iter()
        .find(|c| c.slug == slug)
        .ok_or_else(|| page.error(AppError::NotFound("该模块")))?;
    let active = capability.slug;
    Ok(render(&ModulePage {
        layout: page.layout(active),
        label: capability.label_zh,
    }))
}

/// Template filters.
pub(crate) mod filters {
    /// 737580 → "737,580": counts a commander reads at a glance.
    #[askama::filter_fn]
    pub fn thousands(
        value: &dyn std::fmt::Display,
        _: &dyn askama::Values,
    ) -> askama::Result<String> {
        let digits = value.to_string();
        let (sign, digits) = match digits.strip_prefix('-') {
            Some(rest) => ("-", rest.to_string()),
            None => ("", digits),
        };
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        Ok(format!("{sign}{grouped}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Moves: between grids of the jurisdiction (迁移网格) and move-in requests (迁入申请)

#[derive(Deserialize, Default)]
struct MoveForm {
    #[serde(default)]
    grid_code: String,
    #[serde(default)]
    household_number: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    relation: String,
    #[serde(default)]
    reason: String,
}

impl MoveForm {
    fn destination(&self) -> Destination {
        Destination {
            grid_code: self.grid_code.clone(),
            household_number: self.household_number.clone(),
            address: self.address.clone(),
            relation: self.relation.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "resident_move.html")]
struct ResidentMovePage {
    layout: Layout,
    r: ResidentView,
    f: MoveForm,
}

async fn resident_move_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    if !page.can(Permission::ImportPopulation) {
        return Err(page.error(AppError::Forbidden {
            role: page.user.actor.role,
        }));
    }
    let r = state
        .app
        .resident(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let f = MoveForm {
        relation: r.relation.clone(),
        ..MoveForm::default()
    };
    Ok(render(&ResidentMovePage {
        layout: page.layout("residents"),
        r,
        f,
    }))
}

async fn resident_move_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<MoveForm>,
) -> PageResult {
    let request = GridMoveForm {
        to: form.destination(),
        reason: form.reason.clone(),
    };
    let next = state
        .app
        .move_resident_grid(&page.user.actor, id, &request)
        .await
        .map(|_| format!("/residents/{id}"));
    form_page_when(is_typed_mistake, &page, next, |flash| async {
        let r = state
            .app
            .resident(&page.user.actor, id)
            .await
            .map_err(|e| page.error(e))?;
        let mut layout = page.layout("residents");
        layout.flash = flash;
        Ok(render(&ResidentMovePage { layout, r, f: form }))
    })
    .await
}

#[derive(Template)]
#[template(path = "move_ins/index.html")]
struct MoveInsPage {
    layout: Layout,
    lists: MoveInLists,
}

async fn move_ins_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    let lists = state
        .app
        .move_ins(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&MoveInsPage {
        layout: page.layout("move_ins"),
        lists,
    }))
}

#[derive(Deserialize, Default)]
struct MoveInPageForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_type: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    grid_code: String,
    #[serde(default)]
    household_number: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    relation: String,
    #[serde(default)]
    reason: String,
}

#[derive(Template)]
#[template(path = "move_ins/new.html")]
struct MoveInNewPage {
    layout: Layout,
    f: MoveInPageForm,
    id_types: Vec<(&'static str, &'static str)>,
}

fn move_in_new_with(page: &PageUser, f: MoveInPageForm, flash: Option<Flash>) -> Response {
    let mut layout = page.layout("move_ins");
    layout.flash = flash;
    render(&MoveInNewPage {
        layout,
        f,
        id_types: options(
            &fangkong_domain::ids::IdType::ALL,
            |t| t.code(),
            |t| t.label_zh(),
        ),
    })
}

async fn move_in_new_page(page: PageUser) -> PageResult {
    if !page.can(Permission::ImportPopulation) {
        return Err(page.error(AppError::Forbidden {
            role: page.user.actor.role,
        }));
    }
    let f = MoveInPageForm {
        id_type: "mainland_id".into(),
        ..MoveInPageForm::default()
    };
    Ok(move_in_new_with(&page, f, None))
}

async fn move_in_new_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<MoveInPageForm>,
) -> PageResult {
    let request = MoveInForm {
        id_type: form.id_type.clone(),
        id_number: form.id_number.clone(),
        name: form.name.clone(),
        to: Destination {
            grid_code: form.grid_code.clone(),
            household_number: form.household_number.clone(),
            address: form.address.clone(),
            relation: form.relation.clone(),
        },
        reason: form.reason.clone(),
    };
    let next = state
        .app
        .file_move_in(&page.user.actor, &request)
        .await
        .map(|id| format!("/residents/move-ins/{id}"));
    form_page_when(is_typed_mistake, &page, next, |flash| async {
        Ok(move_in_new_with(&page, form, flash))
    })
    .await
}

#[derive(Template)]
#[template(path = "move_ins/detail.html")]
struct MoveInPage {
    layout: Layout,
    requested_at: String,
    decided_at: String,
    m: MoveInView,
}

fn move_in_page_with(page: &PageUser, m: MoveInView, flash: Option<Flash>) -> Response {
    let mut layout = page.layout("move_ins");
    layout.flash = flash;
    render(&MoveInPage {
        layout,
        requested_at: beijing_time(m.requested_at),
        decided_at: m.decided_at.map(beijing_time).unwrap_or_default(),
        m,
    })
}

async fn move_in_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    let m = state
        .app
        .move_in(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(move_in_page_with(&page, m, None))
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

async fn move_in_decide(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<DecideForm>,
) -> PageResult {
    let approve = match form.decision.as_str() {
        "approve" => true,
        "refuse" => false,
        _ => {
            return Err(page.error(AppError::Invalid("请选择“同意迁出”或“不同意”".into())));
        }
    };
    match state
        .app
        .decide_move_in(&page.user.actor, id, approve, &form.reason)
        .await
    {
        Ok(m) => {
            let text = if approve {
                "已同意：此人已迁往申请的网格，已记入审计日志"
            } else {
                "已不同意，申请方会看到您的意见"
            };
            Ok(move_in_page_with(
                &page,
                m,
                Some(Flash {
                    kind: "ok",
                    text: text.into(),
                }),
            ))
        }
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let m = state
                .app
                .move_in(&page.user.actor, id)
                .await
                .map_err(|e| page.error(e))?;
            let status = status_of(&e);
            let flash = Flash {
                kind: "error",
                text: e.to_string(),
            };
            Ok((status, move_in_page_with(&page, m, Some(flash))).into_response())
        }
        Err(e) => Err(page.error(e)),
    }
}
