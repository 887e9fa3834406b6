//! Rechecks and positives (复核): the recheck tasks and the positives of a jurisdiction; the
//! rechecks API.

use super::*;
use crate::pages::filters;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RegionQuery {
    region: String,
    status: String,
}

#[derive(Template)]
#[template(path = "mass_testing/rechecks.html")]
pub(super) struct RechecksPage {
    layout: crate::pages::Layout,
    region: String,
    status: String,
    statuses: Vec<(&'static str, &'static str)>,
    tasks: Vec<(RecheckView, String)>,
    /// How many tasks the list has in all (the rows are cut at 1,000).
    total: i64,
}

pub(super) async fn rechecks_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<RegionQuery>,
) -> PageResult {
    let status = q.status.trim().to_string();
    let listed = state
        .app
        .recheck_tasks_page(&page.user.actor, &q.region, Some(status.as_str()))
        .await
        .map_err(|e| page.error(e))?;
    let total = listed.total;
    let tasks = listed
        .rows
        .into_iter()
        .map(|t| {
            let created = short_time(t.created_at);
            (t, created)
        })
        .collect();
    Ok(render(&RechecksPage {
        layout: page.layout("testing_rechecks"),
        region: q.region.trim().to_string(),
        status,
        statuses: RECHECK_STATUSES
            .iter()
            .map(|s| (*s, recheck_status_label(s)))
            .collect(),
        tasks,
        total,
    }))
}

pub struct PositiveRow {
    pub at: String,
    pub id_number_masked: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub source: String,
}

#[derive(Template)]
#[template(path = "mass_testing/positives.html")]
pub(super) struct PositivesPage {
    layout: crate::pages::Layout,
    region: String,
    positives: Vec<PositiveRow>,
}

pub(super) async fn positives_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<RegionQuery>,
) -> PageResult {
    let positives = state
        .app
        .single_positives(&page.user.actor, &q.region)
        .await
        .map_err(|e| page.error(e))?
        .into_iter()
        .map(|(e, masked)| PositiveRow {
            at: beijing_time(e.at),
            id_number_masked: masked,
            resident_id: e.resident_id,
            grid_code: e.grid_code,
            source: e.source,
        })
        .collect();
    Ok(render(&PositivesPage {
        layout: page.layout("testing_rechecks"),
        region: q.region.trim().to_string(),
        positives,
    }))
}

pub(super) async fn api_rechecks(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<ApiRegionQuery>,
) -> ApiResult<Vec<RecheckView>> {
    Ok(Json(
        state
            .app
            .recheck_tasks(&user.actor, &q.region, Some(q.status.trim()))
            .await?,
    ))
}
