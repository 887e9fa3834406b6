//! Login, logout and one's own password (the session cookie, the same-origin check of the login form).

use super::*;

#[derive(Template)]
#[template(path = "login.html")]
pub(super) struct LoginPage {
    message: Option<String>,
    username: String,
}

#[derive(Deserialize)]
pub(super) struct LoginQuery {
    reason: Option<String>,
}

pub(super) async fn login_page(Query(query): Query<LoginQuery>) -> Response {
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
pub(super) struct LoginForm {
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

pub(super) async fn login_submit(
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

pub(super) async fn logout(
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
#[template(path = "me_password.html")]
pub(super) struct OwnPasswordPage {
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

pub(super) async fn own_password_page(page: PageUser) -> Response {
    own_password_page_with(&page, None)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct OwnPasswordForm {
    current: String,
    new_password: String,
    repeat: String,
}

pub(super) async fn own_password_submit(
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
