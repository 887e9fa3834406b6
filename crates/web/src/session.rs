//! Who is asking: the session cookie (pages) or a bearer token (API), and the CSRF check for forms.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use fangkong_app::{Actor, AppError};

use crate::AppState;

pub const SESSION_COOKIE: &str = "fk_session";

/// A logged-in user with the session's CSRF token and the token itself (for logout).
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub actor: Actor,
    pub csrf_token: String,
    pub token: String,
    /// True when the token came from `Authorization: Bearer` (API clients need no CSRF token).
    pub bearer: bool,
}

impl LoggedIn {
    /// Forms must echo the session's CSRF token; a cross-site form cannot know it.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), AppError> {
        if self.bearer || (!submitted.is_empty() && submitted == self.csrf_token) {
            Ok(())
        } else {
            Err(AppError::Invalid(
                "表单已失效（安全校验未通过），请刷新页面后重新提交".into(),
            ))
        }
    }
}

pub fn client_addr(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

pub fn cookie_value(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

fn bearer_token(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().to_string())
}

/// Resolves the caller: `Err(AppError::NotLoggedIn | SessionExpired)` when there is no live session.
pub async fn resolve(parts: &Parts, state: &AppState) -> Result<LoggedIn, AppError> {
    let (token, bearer) = match bearer_token(parts) {
        Some(token) => (token, true),
        None => (
            cookie_value(parts, SESSION_COOKIE).ok_or(AppError::NotLoggedIn)?,
            false,
        ),
    };
    let info = state.app.session(&token, &client_addr(parts)).await?;
    // The request's span (see `edge`) names the user by id only.
    tracing::Span::current().record("user_id", info.actor.user_id);
    Ok(LoggedIn {
        actor: info.actor,
        csrf_token: info.csrf_token,
        token,
        bearer,
    })
}

/// The extractor for API handlers: a JSON 401 when not logged in.
pub struct ApiUser(pub LoggedIn);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = crate::api::ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = resolve(parts, state).await.map_err(crate::api::ApiError)?;
        // Cookie-authenticated writes through the API need the CSRF header too.
        if !user.bearer && parts.method != axum::http::Method::GET {
            let header_token = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            user.check_csrf(&header_token)
                .map_err(crate::api::ApiError)?;
        }
        Ok(ApiUser(user))
    }
}

/// The client's IP address (for the audit log), available before any session exists.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_addr(parts)))
    }
}
