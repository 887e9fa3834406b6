//! Regions (区划与网格): a region's page with its children and counts, finding a region by name.

use super::*;

#[derive(Template)]
#[template(path = "region.html")]
pub(super) struct RegionPage {
    layout: Layout,
    o: RegionOverview,
    level_label: &'static str,
    is_grid: bool,
    can_export: bool,
    /// A grid's residents with a status now (the register's search roles only).
    watched: Vec<WatchedResident>,
}

pub(super) async fn regions_root(page: PageUser) -> Response {
    Redirect::to(&format!(
        "/regions/{}",
        page.user.actor.jurisdiction.as_str()
    ))
    .into_response()
}

pub(super) async fn region_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(code): Path<String>,
) -> PageResult {
    let o = state
        .app
        .region_overview(&page.user.actor, &code)
        .await
        .map_err(|e| page.error(e))?;
    let is_grid = o.region.level == RegionLevel::Grid;
    let watched = if is_grid && page.can(Permission::SearchRegister) {
        state
            .app
            .grid_watch_list(&page.user.actor, &o.region.code)
            .await
            .map_err(|e| page.error(e))?
    } else {
        Vec::new()
    };
    Ok(render(&RegionPage {
        level_label: o.region.level.label_zh(),
        is_grid,
        watched,
        can_export: page.can(Permission::ExportPopulation),
        layout: page.layout("regions"),
        o,
    }))
}

pub(super) struct FoundRegion {
    code: String,
    name: String,
    level_label: &'static str,
}

#[derive(Template)]
#[template(path = "region_find.html")]
pub(super) struct RegionFindPage {
    layout: Layout,
    q: String,
    found: Vec<FoundRegion>,
}

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    #[serde(default)]
    pub(super) q: String,
}

pub(super) async fn regions_find(
    State(state): State<AppState>,
    page: PageUser,
    Query(query): Query<SearchQuery>,
) -> PageResult {
    let found = state
        .app
        .find_regions(&page.user.actor, &query.q)
        .await
        .map_err(|e| page.error(e))?;
    let found = found
        .into_iter()
        .map(|r| FoundRegion {
            level_label: r.level.label_zh(),
            code: r.code,
            name: r.name,
        })
        .collect();
    Ok(render(&RegionFindPage {
        layout: page.layout("regions"),
        q: query.q,
        found,
    }))
}
