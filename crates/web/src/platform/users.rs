//! Users (用户): the list, creating one, one user's page with disabling, enabling, a new password, a
//! new role and logging out everywhere.

use super::*;

#[derive(Template)]
#[template(path = "users.html")]
pub(super) struct UsersPage {
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
                (
                    u.id,
                    u.username,
                    u.display_name,
                    u.role.label_zh(),
                    u.jurisdiction.to_string(),
                    u.disabled,
                )
            })
            .collect(),
        min_password: fangkong_app::auth::PASSWORD_MIN_CHARS,
        roles: Role::ALL.iter().map(|r| (r.code(), r.label_zh())).collect(),
    }))
}

pub(super) async fn users_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    users_page_with(&state, &page, None).await
}

#[derive(Deserialize)]
pub(super) struct NewUserForm {
    username: String,
    display_name: String,
    role: String,
    jurisdiction: String,
    password: String,
}

pub(super) async fn users_create(
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
pub(super) struct UserPage {
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

pub(super) async fn user_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    user_page_with(&state, &page, id, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct UserChangeForm {
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

pub(super) async fn user_disable(
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

pub(super) async fn user_enable(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> PageResult {
    use fangkong_app::auth::UserChange;
    user_change(&state, &page, id, UserChange::Enable, "已启用该账号").await
}

pub(super) async fn user_reset_password(
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

pub(super) async fn user_set_role(
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

pub(super) async fn user_logout_all(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> PageResult {
    use fangkong_app::auth::UserChange;
    let change = UserChange::LogoutEverywhere;
    user_change(&state, &page, id, change, "该用户的所有会话和令牌已失效").await
}
