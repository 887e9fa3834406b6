//! The only crate that knows HTTP and HTML.
//!
//! Handlers read like a recipe: extract → parse the form into a command → one `app` call → render or
//! redirect (303 after POST); a page form comes in through `forms::CsrfForm` (its token checked
//! before the handler runs) and is answered by `forms::form_page`. Pages are server-rendered
//! (askama) in Chinese; every asset is served by the binary (no CDN, no web fonts). The JSON API
//! mirrors the pages; its OpenAPI document is served at `/api/openapi.json`.

mod analytics;
mod api;
mod checkpoints;
mod command;
mod drills;
mod edge;
mod forms;
mod health_code;
mod investigation;
mod isolation;
mod leads;
mod mass_testing;
mod nav;
mod pages;
mod person_file;
mod platform;
mod population;
mod session;
mod supplies;
mod upload;
mod warning;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use fangkong_app::{App, AppError};

pub use session::SESSION_COOKIE;

/// Shared state of every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    pub app: App,
    pub(crate) config: Arc<WebConfig>,
}

/// Largest accepted upload (a county's population file as XLSX is a few tens of MB). Only the upload
/// routes take it (`upload::read_upload`, which checks the session, the role and the form token before
/// it reads a file part); every other body is held to [`FORM_LIMIT_BYTES`] or its route's own limit.
pub(crate) const UPLOAD_LIMIT_BYTES: usize = 1024 * 1024 * 1024;
/// Any request body without a limit of its own: a form of a few fields, a small JSON document.
pub(crate) const FORM_LIMIT_BYTES: usize = 64 * 1024;
/// The login form and `POST /api/session`: a username and a password.
pub(crate) const LOGIN_LIMIT_BYTES: usize = 8 * 1024;

/// How the router is built: limits that depend on the machine it runs on.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Checks at checkpoints (`POST /api/checkpoints/{id}/verify`) handled at once; one more is
    /// answered at once with 503 and `Retry-After: 1` instead of queueing behind the others.
    pub verify_concurrency_limit: usize,
    /// Checks handled at once for one checkpoint (all its devices together).
    pub verify_checkpoint_limit: usize,
    /// Checks handled at once for one session token (one device): a scanner sends one at a time.
    pub verify_client_limit: usize,
    /// Marks the session cookie `Secure` (browsers then send it only over HTTPS). Off by default:
    /// intranets often serve plain HTTP, where a `Secure` cookie would never come back.
    pub secure_cookies: bool,
    /// Where uploads are spooled while they are read (the system's temporary directory if `None`).
    pub upload_dir: Option<PathBuf>,
}

/// Default of [`WebConfig::verify_concurrency_limit`]: a few times the database pool, so an
/// admitted check waits for a connection behind at most a few dozen others (milliseconds), and a
/// login or another write behind as few.
pub const DEFAULT_VERIFY_CONCURRENCY_LIMIT: usize = 64;
/// Default of [`WebConfig::verify_checkpoint_limit`].
pub const DEFAULT_VERIFY_CHECKPOINT_LIMIT: usize = 32;
/// Default of [`WebConfig::verify_client_limit`].
pub const DEFAULT_VERIFY_CLIENT_LIMIT: usize = 4;

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            verify_concurrency_limit: DEFAULT_VERIFY_CONCURRENCY_LIMIT,
            verify_checkpoint_limit: DEFAULT_VERIFY_CHECKPOINT_LIMIT,
            verify_client_limit: DEFAULT_VERIFY_CLIENT_LIMIT,
            secure_cookies: false,
            upload_dir: None,
        }
    }
}

/// The whole web application with the default [`WebConfig`].
pub fn router(app: App) -> Router {
    router_with(app, WebConfig::default())
}

/// The whole web application.
pub fn router_with(app: App, config: WebConfig) -> Router {
    let verify_gate = Arc::new(checkpoints::VerifyGate::new(
        config.verify_concurrency_limit,
        config.verify_checkpoint_limit,
        config.verify_client_limit,
    ));
    let state = AppState {
        app,
        config: Arc::new(config),
    };
    Router::new()
        .merge(platform::router())
        .merge(command::pages())
        .merge(warning::pages())
        .merge(supplies::pages())
        .merge(analytics::pages())
        .merge(drills::pages())
        .merge(population::pages())
        .merge(mass_testing::pages())
        .merge(health_code::pages())
        .merge(checkpoints::pages())
        .merge(investigation::pages())
        .merge(leads::pages())
        .merge(isolation::pages())
        .merge(person_file::pages())
        .nest(
            "/api",
            api::router()
                .merge(command::api())
                .merge(warning::api())
                .merge(supplies::api())
                .merge(analytics::api())
                .merge(drills::api())
                .merge(mass_testing::api())
                .merge(health_code::api())
                .merge(checkpoints::api(verify_gate))
                .merge(investigation::api())
                .merge(leads::api())
                .merge(isolation::api())
                .merge(person_file::api()),
        )
        .route("/assets/app.css", axum::routing::get(stylesheet))
        .route(
            "/assets/sampling.js",
            axum::routing::get(mass_testing::sampling_script),
        )
        .route(
            "/assets/checkpoint.js",
            axum::routing::get(checkpoints::checkpoint_script),
        )
        .route(
            "/assets/offline_verify.js",
            axum::routing::get(checkpoints::offline_verify_script),
        )
        .route("/health", axum::routing::get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(FORM_LIMIT_BYTES))
        .layer(axum::middleware::from_fn(edge::finish))
        .with_state(state)
}

/// Serves `router(app)` on `listener` until the process ends; client addresses reach the audit log.
pub async fn serve(app: App, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    serve_with(app, WebConfig::default(), listener).await
}

/// Serves `router_with(app, config)` on `listener` until the process ends.
pub async fn serve_with(
    app: App,
    config: WebConfig,
    listener: tokio::net::TcpListener,
) -> std::io::Result<()> {
    serve_until(app, config, listener, std::future::pending()).await
}

/// Serves until `shutdown` completes, then stops taking connections and lets the requests in
/// flight finish (a scan or passage group commit in flight answers its requests first).
pub async fn serve_until(
    app: App,
    config: WebConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router_with(app, config).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../assets/app.css"),
    )
        .into_response()
}

/// The HTTP status for an application error.
pub(crate) fn status_of(error: &AppError) -> StatusCode {
    match error {
        AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Forbidden { .. } | AppError::OutsideJurisdiction => StatusCode::FORBIDDEN,
        AppError::BadCredentials | AppError::NotLoggedIn | AppError::SessionExpired => {
            StatusCode::UNAUTHORIZED
        }
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        AppError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
        AppError::Store(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Logs internal errors with their chain of causes (`temp write: No space left on device`) and without
/// personal data: database errors are reduced to their message (never the detail, which for a unique
/// violation would contain the duplicated value). See [`AppError::internal_log_text`].
pub(crate) fn log_if_internal(error: &AppError) {
    if let Some(text) = error.internal_log_text() {
        // Inside the request's span: the log line carries the request id and the user id.
        tracing::error!(error = %text, "request failed");
    }
}
