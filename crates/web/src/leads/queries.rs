//! The command view with the 24-hour landing rate and the filtered lists (`/leads`); the list,
//! overdue, overview and detail API.

use super::*;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(super) struct ListQuery {
    region: String,
    status: String,
    channel: String,
    overdue: String,
    page: i64,
}

impl ListQuery {
    fn filter(&self) -> LeadFilter {
        LeadFilter {
            region: self.region.clone(),
            status: self.status.clone(),
            channel: self.channel.clone(),
            overdue: !self.overdue.is_empty(),
            page: self.page,
        }
    }

    /// The query string of this list on another page.
    fn href(&self, page: i64) -> String {
        format!(
            "/leads?region={}&status={}&channel={}&overdue={}&page={page}",
            encode(&self.region),
            encode(&self.status),
            encode(&self.channel),
            encode(&self.overdue)
        )
    }
}

#[derive(Template)]
#[template(path = "leads/index.html")]
pub(super) struct LeadsPage {
    layout: Layout,
    o: LeadOverview,
    children: Vec<(RegionLeadCounts, String)>,
    total_rate: String,
    list: LeadListPage,
    rows: Vec<LeadRow>,
    q: ListQuery,
    statuses: Vec<(&'static str, &'static str)>,
    channels: Vec<(&'static str, &'static str)>,
    prev: Option<String>,
    next: Option<String>,
    can_send: bool,
    crumbs: Vec<RegionRecord>,
}

pub(super) async fn leads_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let actor = &page.user.actor;
    let o = state
        .app
        .leads_overview(actor, &q.region)
        .await
        .map_err(|e| page.error(e))?;
    let list = state
        .app
        .leads_list(actor, &q.filter())
        .await
        .map_err(|e| page.error(e))?;
    let children = o
        .children
        .iter()
        .map(|c| (c.clone(), c.rate_label()))
        .collect();
    // The path from the jurisdiction down to the region shown.
    let crumbs = state
        .app
        .region_path_within(actor, &o.region_code)
        .await
        .map_err(|e| page.error(e))?;
    let q = ListQuery {
        region: o.region_code.clone(),
        ..q
    };
    Ok(render(&LeadsPage {
        layout: page.layout("leads"),
        total_rate: o.total.rate_label(),
        children,
        prev: (list.page > 1).then(|| q.href(list.page - 1)),
        next: (list.page < list.pages).then(|| q.href(list.page + 1)),
        rows: list.rows.iter().cloned().map(LeadRow::from).collect(),
        o,
        list,
        q,
        statuses: options(&LeadStatus::ALL, LeadStatus::code, LeadStatus::label_zh),
        channels: options(&Channel::ALL, Channel::code, Channel::label_zh),
        can_send: page.can(Permission::SendLeads),
        crumbs,
    }))
}

pub(super) async fn api_list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<LeadListPage> {
    Ok(Json(state.app.leads_list(&user.actor, &q.filter()).await?))
}

pub(super) async fn api_overdue(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<LeadListPage> {
    Ok(Json(
        state
            .app
            .overdue_leads(&user.actor, &q.region, q.page)
            .await?,
    ))
}

pub(super) async fn api_overview(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<LeadOverview> {
    Ok(Json(
        state.app.leads_overview(&user.actor, &q.region).await?,
    ))
}

pub(super) async fn api_detail(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<LeadDetail> {
    Ok(Json(state.app.lead_detail(&user.actor, id).await?))
}
