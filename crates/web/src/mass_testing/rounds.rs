//! Rounds (检测轮次): the list and opening form, a round's page with its children, sites and boxes,
//! closing it, issuing tubes; the rounds API.

use super::*;

pub struct RoundRow {
    pub r: RoundView,
    pub opened: String,
    pub deadline: String,
    pub status: &'static str,
    pub status_class: &'static str,
}

fn round_status(r: &RoundView, now: i64) -> (&'static str, &'static str) {
    match (r.closed_at, r.deadline_at) {
        (Some(_), _) => ("已结束", "muted"),
        (None, Some(deadline)) if deadline < now => ("已超时限", "bad"),
        _ => ("进行中", "good"),
    }
}

/// The open-a-round form as typed (kept when it comes back with a problem).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct RoundInput {
    pub name: String,
    pub kind: String,
    pub region_code: String,
    pub pool_size: String,
    pub deadline_hours: String,
    pub infant_months: String,
    pub areas: String,
    pub tubes: String,
}

impl RoundInput {
    fn to_form(&self) -> RoundForm {
        RoundForm {
            name: self.name.clone(),
            kind: self.kind.clone(),
            region_code: self.region_code.clone(),
            pool_size: self.pool_size.clone(),
            deadline_hours: self.deadline_hours.clone(),
            infant_months: self.infant_months.clone(),
            areas: self.areas.clone(),
            tubes: self.tubes.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "mass_testing/rounds.html")]
pub(super) struct RoundsPage {
    layout: crate::pages::Layout,
    rounds: Vec<RoundRow>,
    can_manage: bool,
    f: RoundInput,
    kinds: Vec<(&'static str, &'static str)>,
    pools: Vec<(String, String)>,
}

async fn rounds_page_with(
    state: &AppState,
    page: &PageUser,
    f: RoundInput,
    flash: Option<Flash>,
) -> PageResult {
    let rounds = state
        .app
        .rounds(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let now = state.app.now_unix();
    let rounds = rounds
        .into_iter()
        .map(|r| {
            let (status, status_class) = round_status(&r, now);
            RoundRow {
                opened: beijing_time(r.opened_at),
                deadline: r
                    .deadline_at
                    .map(beijing_time)
                    .unwrap_or_else(|| "无（常态化）".into()),
                status,
                status_class,
                r,
            }
        })
        .collect();
    let mut layout = page.layout("mass_testing");
    layout.flash = flash;
    Ok(render(&RoundsPage {
        layout,
        rounds,
        can_manage: page.can(Permission::ManageTestingRounds),
        f,
        kinds: RoundKind::ALL
            .iter()
            .map(|k| (k.code(), k.label_zh()))
            .collect(),
        pools: PoolSize::ALLOWED
            .iter()
            .filter_map(|n| PoolSize::new(i64::from(*n)).ok())
            .map(|p| (p.get().to_string(), p.label_zh()))
            .collect(),
    }))
}

pub(super) async fn rounds_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    let f = RoundInput {
        kind: "whole".into(),
        region_code: page.user.actor.jurisdiction.as_str().to_string(),
        pool_size: "10".into(),
        ..RoundInput::default()
    };
    rounds_page_with(&state, &page, f, None).await
}

pub(super) async fn open_round_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<RoundInput>,
) -> PageResult {
    let next = state
        .app
        .open_round(&page.user.actor, &f.to_form())
        .await
        .map(|id| format!("/testing/rounds/{id}?opened=1"));
    form_page(&page, next, |flash| {
        rounds_page_with(&state, &page, f, flash)
    })
    .await
}

pub struct ChildRow {
    pub line: CoverageLine,
    pub missing: i64,
    pub href: String,
    pub is_grid: bool,
}

pub struct BoxRow {
    pub barcode: String,
    pub tube_count: i64,
    pub packed: String,
    pub picked: String,
    pub waiting: String,
    pub late: bool,
}

pub struct SiteRow {
    pub id: i64,
    pub name: String,
    pub region_code: String,
    pub address: String,
    pub tables: Vec<i64>,
    pub swabs_per_table_hour: i64,
}

#[derive(Template)]
#[template(path = "mass_testing/round.html")]
pub(super) struct RoundPage {
    layout: crate::pages::Layout,
    o: RoundOverview,
    missing: i64,
    opened: String,
    deadline: String,
    time_left: String,
    status: &'static str,
    status_class: &'static str,
    finish: String,
    finish_late: bool,
    children: Vec<ChildRow>,
    grid_href: Option<String>,
    chart: Chart,
    boxes: Vec<BoxRow>,
    rechecks: Vec<(&'static str, i64)>,
    mean_to_receipt: String,
    mean_to_result: String,
    sites: Vec<SiteRow>,
    can_manage: bool,
    can_sample: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RoundQuery {
    region: String,
    opened: Option<String>,
    closed: Option<String>,
    issued: Option<String>,
}

/// A site record as the pages show it: its table numbers listed for the links.
pub(super) fn site_row(s: SiteRecord) -> SiteRow {
    SiteRow {
        tables: (1..=s.tables_count).collect(),
        id: s.id,
        name: s.name,
        region_code: s.region_code.to_string(),
        address: s.address,
        swabs_per_table_hour: s.swabs_per_table_hour,
    }
}

pub(super) async fn round_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<RoundQuery>,
) -> PageResult {
    let actor = &page.user.actor;
    let o = state
        .app
        .round_overview(actor, id, &q.region)
        .await
        .map_err(|e| page.error(e))?;
    let now = state.app.now_unix();
    let sites = state
        .app
        .sites(actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let prefix = o.region_code.clone();
    let sites = sites
        .into_iter()
        .filter(|s| s.region_code.as_str().starts_with(&prefix))
        .map(site_row)
        .collect();
    let (status, status_class) = round_status(&o.round, now);
    let time_left = match (o.round.closed_at, o.round.deadline_at) {
        (Some(closed), _) => format!("已于{}结束", beijing_time(closed)),
        (None, Some(deadline)) if deadline >= now => {
            format!("剩余{}", duration_label((deadline - now) as f64))
        }
        (None, Some(deadline)) => format!("已超过时限{}", duration_label((now - deadline) as f64)),
        (None, None) => "常态化检测，无时限".into(),
    };
    let (finish, finish_late) = match o.hours_to_finish {
        Some(hours) => {
            let late = fangkong_domain::mass_testing::will_finish_late(
                o.round.deadline_at,
                o.round.closed_at,
                hours,
                now,
            );
            (
                format!("按现有{}个采样台约需{}", o.tables, hours_label(hours)),
                late,
            )
        }
        None => ("尚未设置采样点，无法估算".into(), false),
    };
    let children = o
        .children
        .iter()
        .map(|c| ChildRow {
            missing: c.missing(),
            href: drill_href(id, &c.code),
            is_grid: is_grid_code(&c.code),
            line: c.clone(),
        })
        .collect();
    let grid_href = (o.region_level == RegionLevel::Grid)
        .then(|| format!("/testing/rounds/{id}/grids/{}", o.region_code));
    let boxes = o
        .boxes_in_transit
        .iter()
        .map(|b| BoxRow {
            barcode: b.barcode.clone(),
            tube_count: b.tube_count,
            packed: short_time(b.packed_at),
            picked: b
                .picked_up_at
                .map(short_time)
                .unwrap_or_else(|| "待揽收".into()),
            waiting: duration_label((now - b.packed_at) as f64),
            late: fangkong_domain::mass_testing::box_is_late(b.packed_at, now),
        })
        .collect();
    let rechecks = o
        .rechecks
        .iter()
        .map(|(s, n)| (recheck_status_label(s), *n))
        .collect();
    let mut layout = page.layout("mass_testing");
    layout.flash = if q.opened.is_some() {
        ok_flash("已开启本轮检测并下发试管条码")
    } else if q.closed.is_some() {
        ok_flash("本轮检测已结束")
    } else {
        q.issued
            .map(|range| format!("已追加下发试管条码：{range}"))
            .and_then(ok_flash)
    };
    Ok(render(&RoundPage {
        missing: o.totals.missing(),
        opened: beijing_time(o.round.opened_at),
        deadline: time_or_dash(o.round.deadline_at),
        time_left,
        status,
        status_class,
        finish,
        finish_late,
        children,
        grid_href,
        chart: Chart::of(
            &o.hourly,
            o.round.opened_at,
            o.round.closed_at.unwrap_or(now),
        ),
        boxes,
        rechecks,
        mean_to_receipt: o
            .chain
            .mean_to_receipt
            .map(duration_label)
            .unwrap_or_else(|| "—".into()),
        mean_to_result: o
            .chain
            .mean_to_result
            .map(duration_label)
            .unwrap_or_else(|| "—".into()),
        sites,
        can_manage: page.can(Permission::ManageTestingRounds),
        can_sample: page.can(Permission::SampleSpecimens),
        layout,
        o,
    }))
}

pub(super) async fn close_round_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> PageResult {
    state
        .app
        .close_round(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(Redirect::to(&format!("/testing/rounds/{id}?closed=1")).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct TubesInput {
    count: String,
}

pub(super) async fn issue_tubes_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<TubesInput>,
) -> PageResult {
    let count = f.count.trim().parse::<i64>().map_err(|_| {
        page.error(AppError::Invalid(format!(
            "下发试管数应为整数，而不是“{}”",
            f.count.trim()
        )))
    })?;
    let (first, last) = state
        .app
        .issue_tubes(&page.user.actor, id, count)
        .await
        .map_err(|e| page.error(e))?;
    Ok(Redirect::to(&format!(
        "/testing/rounds/{id}?issued={}",
        encode(&format!("{first} 至 {last}"))
    ))
    .into_response())
}

pub(super) async fn api_rounds(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Vec<RoundView>> {
    Ok(Json(state.app.rounds(&user.actor).await?))
}

#[derive(Serialize)]
pub(super) struct Created {
    pub(super) id: i64,
}

pub(super) async fn api_open_round(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(form): Json<RoundForm>,
) -> Result<Response, ApiError> {
    let id = state.app.open_round(&user.actor, &form).await?;
    Ok((axum::http::StatusCode::CREATED, Json(Created { id })).into_response())
}

pub(super) async fn api_round(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Query(q): Query<ApiRegionQuery>,
) -> ApiResult<RoundOverview> {
    Ok(Json(
        state.app.round_overview(&user.actor, id, &q.region).await?,
    ))
}
