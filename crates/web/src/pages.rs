//! The frame every server-rendered page shares (Chinese first): the layout with its navigation, the
//! page extractor (`PageUser`), error pages, rendering, the template filters and small helpers.
//! The pages themselves live with their capability (`population`, `platform`, `mass_testing` …).

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::TimeZone;
use fangkong_app::{AppError, china_offset};
use fangkong_domain::role::{CAPABILITIES, Permission, Role};

use crate::session::{LoggedIn, resolve};
pub(crate) use crate::upload::read_upload;
use crate::{AppState, log_if_internal, status_of};

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
