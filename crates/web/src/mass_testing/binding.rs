//! Binding (扫码绑定): the sampling table's page and the scans API it sends to.

use super::*;

#[derive(Template)]
#[template(path = "mass_testing/binding.html")]
pub(super) struct BindingPage {
    layout: crate::pages::Layout,
    site: SiteRow,
    round: RoundView,
    table: i64,
    /// People per new screening tube at this site (from the round's areas).
    pool_size: i64,
    open_tubes: Vec<TubeRow>,
    id_types: Vec<(&'static str, &'static str)>,
}

pub(super) async fn binding_page(
    State(state): State<AppState>,
    page: PageUser,
    Path((id, table)): Path<(i64, i64)>,
) -> PageResult {
    let actor = &page.user.actor;
    let site = state
        .app
        .sampling_site(actor, id)
        .await
        .map_err(|e| page.error(e))?;
    if !(1..=site.tables_count).contains(&table) {
        return Err(page.error(AppError::Invalid(format!(
            "采样台号应在1到{}之间",
            site.tables_count
        ))));
    }
    let round = state
        .app
        .round(actor, site.round_id)
        .await
        .map_err(|e| page.error(e))?;
    let pool_size = state
        .app
        .site_pool_size(actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let open_tubes = state
        .app
        .open_tubes_at(actor, id, table)
        .await
        .map_err(|e| page.error(e))?
        .into_iter()
        .map(|t| TubeRow {
            purpose: if t.purpose == fangkong_domain::mass_testing::SamplePurpose::Recheck {
                "单管复采"
            } else {
                "筛查"
            },
            opened: short_time(t.opened_at),
            barcode: t.barcode,
            members: t.members,
            capacity: t.capacity,
        })
        .collect();
    Ok(render(&BindingPage {
        layout: page.layout("mass_testing"),
        site: site_row(site),
        round,
        table,
        pool_size,
        open_tubes,
        id_types: id_types(),
    }))
}

pub(super) async fn api_scans(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(batch): Json<SamplingBatch>,
) -> ApiResult<Vec<ScanResult>> {
    Ok(Json(state.app.submit_scans(&user.actor, &batch).await?))
}
