//! The platform (平台：用户、审计与接口): login and logout, the home page, users, the audit log, one's
//! own password, the placeholder page of a capability not built yet. This file holds the route table.

mod audit;
mod auth;
mod home;
mod users;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use fangkong_app::AppError;
use fangkong_app::records::AuditRecord;
use fangkong_domain::role::{CAPABILITIES, Permission, Role};
use serde::Deserialize;

use crate::forms::{CsrfForm, NoFields};
use crate::nav::{CapabilityHome, NavEntries, Section, link};
use crate::pages::{Flash, Layout, PageResult, PageUser, beijing_time, filters, render};
use crate::session::{ClientAddr, SESSION_COOKIE};
use crate::{AppState, log_if_internal, status_of};

use self::audit::audit_page;
use self::auth::{login_page, login_submit, logout, own_password_page, own_password_submit};
use self::home::{home, module_page};
use self::users::{
    user_disable, user_enable, user_logout_all, user_page, user_reset_password, user_set_role,
    users_create, users_page,
};

/// Users and the audit log (管理); the platform's link leads to import and export.
pub(crate) const NAV: NavEntries = NavEntries {
    home: Some(CapabilityHome {
        capability: "platform",
        href: |_| "/import",
    }),
    links: &[
        link(Section::Admin, "用户", "/users", "users", administers),
        link(Section::Admin, "审计日志", "/audit", "audit", administers),
    ],
};

fn administers(role: Role) -> bool {
    role.allows(Permission::ViewAuditLog)
}

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
