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
use fangkong_domain::role::Permission;

use crate::nav::{self, ModuleLink, NavSection};
use crate::session::{LoggedIn, resolve};
pub(crate) use crate::upload::read_upload;
use crate::{AppState, log_if_internal, status_of};

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
    /// The nine capabilities (九大功能模块), each leading where its module says for the role.
    pub modules: Vec<ModuleLink>,
    /// The headings and links of the role, from `nav::REGISTRY`.
    pub sections: Vec<NavSection>,
    pub flash: Option<Flash>,
    /// On a training or drill instance: the simulated Beijing time, shown in a band on every page
    /// so nobody takes the sandbox's time (or data) for the real one.
    pub simulated_now: Option<String>,
}

/// A logged-in user on a page; not logged in → redirect to the login page with the reason.
///
/// Resolved once per request: the first extraction keeps a copy in the request's extensions, so a
/// handler's `PageUser` and its [`crate::forms::CsrfForm`] share one session lookup.
#[derive(Clone)]
pub struct PageUser {
    pub user: LoggedIn,
    pub jurisdiction_name: String,
    /// The simulated time when the instance runs a simulation clock (read at the request).
    pub simulated_now: Option<String>,
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
                let simulated_now = state
                    .app
                    .clock_is_simulated()
                    .then(|| fangkong_domain::time::beijing_label(state.app.now()));
                let page = PageUser {
                    user,
                    jurisdiction_name,
                    simulated_now,
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

impl Layout {
    /// Whether the navigation shows the role a link to `href` (a page offering the same place
    /// again, like the home page's cards, asks this rather than the role).
    pub fn links_to(&self, href: &str) -> bool {
        self.sections
            .iter()
            .any(|s| s.links.iter().any(|l| l.href == href))
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
            modules: nav::modules(actor.role),
            sections: nav::sections(actor.role, active),
            flash: None,
            simulated_now: self.simulated_now.clone(),
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

    /// "流调：case:26" → "流调：病例 #26": a record's source key in words
    /// ([`fangkong_domain::person_event::source_words`]).
    #[askama::filter_fn]
    pub fn source_words(
        value: &dyn std::fmt::Display,
        _: &dyn askama::Values,
    ) -> askama::Result<String> {
        Ok(fangkong_domain::person_event::source_words(
            &value.to_string(),
        ))
    }
}
