//! The overview: capacity, people waiting and for how long; its API.

use super::*;

#[derive(Template)]
#[template(path = "isolation/overview.html")]
pub(super) struct OverviewPage {
    layout: Layout,
    o: IsolationOverview,
    can_dispatch: bool,
}

#[derive(Template)]
#[template(path = "isolation/no_access.html")]
pub(super) struct NoAccessPage {
    layout: Layout,
}

pub(super) async fn overview_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    // The capability's link is in every role's navigation: a resident goes to their own page, other
    // roles without access are told so.
    if !page.can(Permission::ViewIsolation) {
        if page.can(Permission::RecordHomeCheckIns) {
            return Ok(Redirect::to("/me/isolation").into_response());
        }
        return Ok(render(&NoAccessPage {
            layout: page.layout("isolation"),
        }));
    }
    let o = state
        .app
        .isolation_overview(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&OverviewPage {
        layout: page.layout("isolation"),
        o,
        can_dispatch: page.can(Permission::DispatchTransfers),
    }))
}

pub(super) async fn api_overview(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<IsolationOverview> {
    Ok(Json(state.app.isolation_overview(&user.actor).await?))
}
