//! Bulletins (信息发布): the office's list with the draft form (`/command/bulletins`), one
//! bulletin's review and publication (`/command/bulletins/{id}`), the public page without login
//! (`/public/bulletins`), and the API.

use super::*;

#[derive(Template)]
#[template(path = "command/bulletins.html")]
pub(super) struct BulletinsPage {
    layout: Layout,
    flash: Option<Flash>,
    bulletins: Vec<BulletinView>,
    can_publish: bool,
    day: String,
}

async fn bulletins_page_with(
    state: &AppState,
    page: &PageUser,
    day: String,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let bulletins = state
        .app
        .bulletins(actor)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&BulletinsPage {
        layout: page.layout("bulletins"),
        flash,
        bulletins,
        can_publish: actor.role.allows(Permission::PublishBulletins),
        day,
    }))
}

pub(super) async fn bulletins_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    let yesterday = (state.app.today() - chrono::Duration::days(1)).to_string();
    bulletins_page_with(&state, &page, yesterday, None).await
}

#[derive(Deserialize)]
pub(super) struct DraftForm {
    #[serde(default)]
    day: String,
}

pub(super) async fn draft_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<DraftForm>,
) -> PageResult {
    let next = state
        .app
        .draft_bulletin(&page.user.actor, &form.day)
        .await
        .map(|id| format!("/command/bulletins/{id}"));
    form_page(&page, next, |flash| {
        bulletins_page_with(&state, &page, form.day.clone(), flash)
    })
    .await
}

#[derive(Template)]
#[template(path = "command/bulletin.html")]
pub(super) struct BulletinPage {
    layout: Layout,
    flash: Option<Flash>,
    b: BulletinView,
    title: String,
    body: String,
    can_publish: bool,
}

async fn bulletin_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    typed: Option<(String, String)>,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let b = state
        .app
        .bulletin(actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let (title, body) = typed.unwrap_or_else(|| (b.title.clone(), b.body.clone()));
    Ok(render(&BulletinPage {
        layout: page.layout("bulletins"),
        flash,
        title,
        body,
        can_publish: actor.role.allows(Permission::PublishBulletins) && !b.published,
        b,
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct BulletinQuery {
    saved: String,
}

pub(super) async fn bulletin_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<BulletinQuery>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "published" => ok_flash("已发布：公众可在“疫情通报”公开页面看到这份通报。"),
        "edited" => ok_flash("修改已保存。"),
        _ => None,
    };
    bulletin_page_with(&state, &page, id, None, flash).await
}

#[derive(Deserialize)]
pub(super) struct EditForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

pub(super) async fn edit_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<EditForm>,
) -> PageResult {
    let next = state
        .app
        .edit_bulletin(&page.user.actor, id, &form.title, &form.body)
        .await
        .map(|()| format!("/command/bulletins/{id}?saved=edited"));
    form_page(&page, next, |flash| {
        bulletin_page_with(
            &state,
            &page,
            id,
            Some((form.title.clone(), form.body.clone())),
            flash,
        )
    })
    .await
}

pub(super) async fn publish_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> PageResult {
    let next = state
        .app
        .publish_bulletin(&page.user.actor, id)
        .await
        .map(|()| format!("/command/bulletins/{id}?saved=published"));
    form_page(&page, next, |flash| {
        bulletin_page_with(&state, &page, id, None, flash)
    })
    .await
}

#[derive(Template)]
#[template(path = "command/public_bulletins.html")]
pub(super) struct PublicBulletinsPage {
    bulletins: Vec<BulletinView>,
}

pub(super) async fn public_bulletins_page(State(state): State<AppState>) -> Response {
    match state.app.public_bulletins().await {
        Ok(bulletins) => render(&PublicBulletinsPage { bulletins }),
        Err(e) => {
            crate::log_if_internal(&e);
            (status_of(&e), e.to_string()).into_response()
        }
    }
}

pub(super) async fn api_bulletins(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Vec<BulletinView>> {
    Ok(Json(state.app.bulletins(&user.actor).await?))
}

#[derive(Deserialize, Serialize)]
pub(super) struct DraftBody {
    day: String,
}

#[derive(Serialize)]
pub(super) struct Created {
    id: i64,
}

pub(super) async fn api_draft(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<DraftBody>,
) -> ApiResult<Created> {
    let id = state.app.draft_bulletin(&user.actor, &body.day).await?;
    Ok(Json(Created { id }))
}

pub(super) async fn api_publish(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<BulletinView> {
    state.app.publish_bulletin(&user.actor, id).await?;
    Ok(Json(state.app.bulletin(&user.actor, id).await?))
}

pub(super) async fn api_public_bulletins(
    State(state): State<AppState>,
) -> ApiResult<Vec<BulletinView>> {
    Ok(Json(state.app.public_bulletins().await?))
}
