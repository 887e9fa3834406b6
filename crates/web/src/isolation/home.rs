//! Home isolation and monitoring (居家隔离): staff check-ins, the resident's own check-in page, and
//! the device API (check-ins, door alarms).

use super::*;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct CheckInInput {
    pub(super) measure_id: String,
    pub(super) temperature: String,
    pub(super) symptoms: String,
}

#[derive(Template)]
#[template(path = "isolation/home.html")]
pub(super) struct HomePage {
    layout: Layout,
    b: HomeBoard,
    f: CheckInInput,
    can_release: bool,
}

pub(super) async fn home_page_with(
    state: &AppState,
    page: &PageUser,
    f: CheckInInput,
    flash: Option<Flash>,
) -> PageResult {
    let b = state
        .app
        .home_board(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("home_monitoring");
    layout.flash = flash;
    Ok(render(&HomePage {
        layout,
        b,
        f,
        can_release: page.can(Permission::RecordHomeCheckIns),
    }))
}

pub(super) async fn home_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    home_page_with(
        &state,
        &page,
        CheckInInput::default(),
        saved_flash(&q.saved),
    )
    .await
}

pub(super) async fn home_check_in_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<CheckInInput>,
) -> PageResult {
    let next = state
        .app
        .home_check_in(&page.user.actor, id, &f.temperature, &f.symptoms)
        .await
        .map(|fever| {
            let saved = if fever { "fever" } else { "check_in" };
            format!("/home-monitoring?saved={saved}")
        });
    let typed = CheckInInput {
        measure_id: id.to_string(),
        ..f
    };
    form_page(&page, next, |flash| {
        home_page_with(&state, &page, typed, flash)
    })
    .await
}

#[derive(Template)]
#[template(path = "isolation/my.html")]
pub(super) struct MyPage {
    layout: Layout,
    m: MyMeasure,
    f: CheckInInput,
}

async fn my_page_with(
    state: &AppState,
    page: &PageUser,
    f: CheckInInput,
    flash: Option<Flash>,
) -> PageResult {
    let m = state
        .app
        .my_measure(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("my_isolation");
    layout.flash = flash;
    Ok(render(&MyPage { layout, m, f }))
}

pub(super) async fn my_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    my_page_with(
        &state,
        &page,
        CheckInInput::default(),
        saved_flash(&q.saved),
    )
    .await
}

pub(super) async fn my_check_in_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<CheckInInput>,
) -> PageResult {
    let next = state
        .app
        .my_home_check_in(&page.user.actor, &f.temperature, &f.symptoms)
        .await
        .map(|fever| {
            format!(
                "/me/isolation?saved={}",
                if fever { "fever" } else { "check_in" }
            )
        });
    form_page(&page, next, |flash| my_page_with(&state, &page, f, flash)).await
}

#[derive(Deserialize)]
pub(super) struct CheckInBody {
    /// The person's measure; absent when a resident checks in for themself.
    measure_id: Option<i64>,
    temperature: String,
    #[serde(default)]
    symptoms: String,
}

#[derive(Serialize)]
pub(super) struct CheckInAnswer {
    fever: bool,
}

pub(super) async fn api_check_in(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<CheckInBody>,
) -> Result<Response, ApiError> {
    let fever = match body.measure_id {
        Some(id) => {
            state
                .app
                .home_check_in(&user.actor, id, &body.temperature, &body.symptoms)
                .await?
        }
        None => {
            state
                .app
                .my_home_check_in(&user.actor, &body.temperature, &body.symptoms)
                .await?
        }
    };
    Ok((StatusCode::CREATED, Json(CheckInAnswer { fever })).into_response())
}

#[derive(Deserialize)]
pub(super) struct AlarmBody {
    measure_id: i64,
    device_id: String,
    kind: String,
    #[serde(default)]
    note: String,
}

#[derive(Serialize)]
pub(super) struct IdAnswer {
    id: i64,
}

pub(super) async fn api_alarm(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(body): Json<AlarmBody>,
) -> Result<Response, ApiError> {
    let id = state
        .app
        .record_door_alarm(
            &user.actor,
            body.measure_id,
            &body.device_id,
            &body.kind,
            &body.note,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(IdAnswer { id })).into_response())
}
