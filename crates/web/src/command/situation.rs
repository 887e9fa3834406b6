//! The situation picture (`/command`, and on the commander's home) with its drill-down by
//! `region`; the late list (`/command/late`); their JSON for big screens.

use super::*;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RegionQuery {
    region: String,
}

#[derive(Template)]
#[template(path = "command/situation.html")]
pub(super) struct SituationPage {
    layout: Layout,
    s: Situation,
    late: LateList,
}

pub(super) async fn situation_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<RegionQuery>,
) -> PageResult {
    let actor = &page.user.actor;
    let s = state
        .app
        .situation(actor, &q.region)
        .await
        .map_err(|e| page.error(e))?;
    let late = state
        .app
        .late_list(actor)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&SituationPage {
        layout: page.layout("situation"),
        s,
        late,
    }))
}

#[derive(Template)]
#[template(path = "command/late.html")]
pub(super) struct LatePage {
    layout: Layout,
    l: LateList,
}

pub(super) async fn late_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    let l = state
        .app
        .late_list(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&LatePage {
        layout: page.layout("late"),
        l,
    }))
}

pub(super) async fn api_situation(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<RegionQuery>,
) -> ApiResult<Situation> {
    Ok(Json(state.app.situation(&user.actor, &q.region).await?))
}

pub(super) async fn api_late(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<LateList> {
    Ok(Json(state.app.late_list(&user.actor).await?))
}
