//! Mass testing (全员/区域核酸检测): the pages and the JSON API over `app::mass_testing` and
//! `app::lab_results`.
//!
//! The binding page (`/testing/sites/{id}/tables/{n}`) is the one a sampler lives in: a single input
//! a USB scanner types into; `assets/sampling.js` keeps every scan in a local queue first and sends
//! it to `POST /api/sampling/scans`, so a dropped network loses nothing. Everything else is a
//! server-rendered page in the style of `pages`.
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::TimeZone;
use fangkong_app::lab_results::{ResultInput, ResultUploadReport};
use fangkong_app::mass_testing::{
    AntigenForm, CoverageLine, GridCoverage, KeyGroupOverdue, MissingView, MyResults, PlanLine,
    RecheckView, RoundForm, RoundOverview, RoundView, SamplingBatch, ScanResult, SiteForm,
};
use fangkong_app::records::SiteRecord;
use fangkong_app::{AppError, china_offset};
use fangkong_domain::ids::IdType;
use fangkong_domain::lab_result::RESULT_COLUMNS;
use fangkong_domain::mass_testing::{
    ExemptionKind, NHC_2022_NORMS, PlannerNorms, PoolSize, RoundKind,
};
use fangkong_domain::person::KeyGroup;
use fangkong_domain::region::{RegionCode, RegionLevel};
use fangkong_domain::role::{Permission, Role};
use serde::{Deserialize, Serialize};

use crate::api::ApiError;
use crate::forms::{CsrfForm, NoFields, error_flash, form_page, is_form_mistake, ok_flash};
use crate::pages::{
    Flash, PageResult, PageUser, beijing_time, download, filters, read_upload, render,
};
use crate::session::ApiUser;
use crate::{AppState, status_of};

/// A sampling batch of 5,000 scans is about 1–2 MB of JSON; 8 MB leaves room and stops abuse.
const SCANS_BODY_LIMIT: usize = 8 * 1024 * 1024;
/// JSON result rows (up to 100,000 per request) and FHIR documents sent straight to the API.
const LAB_BODY_LIMIT: usize = 64 * 1024 * 1024;
/// A page form of a few fields (the longest is a box's list of up to 1,000 tube barcodes).
const FORM_BODY_LIMIT: usize = 1024 * 1024;
/// Small JSON bodies (a round, a box, an antigen report).
const SMALL_BODY_LIMIT: usize = 256 * 1024;
/// An antigen photo is at most 4 MB (checked in app); the form around it is small.
const PHOTO_BODY_LIMIT: usize = 6 * 1024 * 1024;

pub fn pages() -> Router<AppState> {
    // Result files stream to disk under the application's upload limit; a photo is small; every
    // other form here is a few fields.
    let uploads = Router::new().route(
        "/testing/results",
        get(results_page)
            .post(results_upload_submit)
            .layer(DefaultBodyLimit::max(crate::UPLOAD_LIMIT_BYTES)),
    );
    let photo = Router::new()
        .route("/me/antigen", get(my_antigen_page).post(my_antigen_submit))
        .layer(DefaultBodyLimit::max(PHOTO_BODY_LIMIT));
    Router::new()
        .route("/testing", get(rounds_page))
        .route("/testing/rounds", post(open_round_submit))
        .route("/testing/rounds/{id}", get(round_page))
        .route("/testing/rounds/{id}/close", post(close_round_submit))
        .route("/testing/rounds/{id}/tubes", post(issue_tubes_submit))
        .route("/testing/rounds/{id}/plan", get(plan_page))
        .route("/testing/rounds/{id}/sites", post(create_site_submit))
        .route("/testing/rounds/{id}/grids/{grid}", get(grid_page))
        .route(
            "/testing/rounds/{id}/grids/{grid}/exemptions",
            post(exemption_submit),
        )
        .route("/testing/sites/{id}", get(site_page))
        .route("/testing/sites/{id}/boxes", post(pack_box_submit))
        .route("/testing/sites/{id}/tables/{table}", get(binding_page))
        .route("/testing/rechecks", get(rechecks_page))
        .route("/testing/positives", get(positives_page))
        .route("/testing/results/template.csv", get(results_template))
        .route("/testing/results/{id}", get(result_upload_page))
        .route("/testing/boxes", get(boxes_page).post(boxes_submit))
        .route("/testing/key-groups", get(key_groups_page))
        .route("/testing/antigen", get(antigen_page).post(antigen_submit))
        .route("/me/results", get(my_results_page))
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .merge(uploads)
        .merge(photo)
}

pub fn api() -> Router<AppState> {
    Router::new()
        .route(
            "/sampling/scans",
            post(api_scans).layer(DefaultBodyLimit::max(SCANS_BODY_LIMIT)),
        )
        .route(
            "/rounds",
            get(api_rounds).post(api_open_round.layer(DefaultBodyLimit::max(SMALL_BODY_LIMIT))),
        )
        .route("/rounds/{id}", get(api_round))
        .route("/rounds/{id}/grids/{grid}", get(api_grid))
        .route(
            "/sites/{id}/boxes",
            post(api_pack_box).layer(DefaultBodyLimit::max(SMALL_BODY_LIMIT)),
        )
        .route("/boxes/{code}/pickup", post(api_box_pickup))
        .route("/boxes/{code}/receive", post(api_box_receive))
        .route(
            "/lab/results",
            post(api_lab_results).layer(DefaultBodyLimit::max(LAB_BODY_LIMIT)),
        )
        .route(
            "/lab/fhir",
            post(api_lab_fhir).layer(DefaultBodyLimit::max(
                fangkong_app::lab_results::FHIR_DOCUMENT_LIMIT,
            )),
        )
        .route(
            "/lab/uploads",
            post(api_lab_upload).layer(DefaultBodyLimit::max(crate::UPLOAD_LIMIT_BYTES)),
        )
        .route("/rechecks", get(api_rechecks))
        .route("/me/results", get(api_my_results))
        .route(
            "/antigen",
            post(api_antigen).layer(DefaultBodyLimit::max(SMALL_BODY_LIMIT)),
        )
}

/// `/assets/sampling.js`: the binding page's script, served by the binary like the stylesheet.
pub async fn sampling_script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/javascript; charset=utf-8".to_string(),
            ),
            (header::CACHE_CONTROL, "max-age=3600".to_string()),
        ],
        include_str!("../assets/sampling.js"),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Navigation

/// Which mass-testing links the navigation shows a role.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestingNav {
    /// Rounds, rechecks, key groups (everyone who works the outbreak).
    pub rounds: bool,
    pub results: bool,
    pub boxes: bool,
    /// The antigen list and report form of grid workers.
    pub antigen: bool,
    /// A resident's own results and antigen report.
    pub own: bool,
}

impl TestingNav {
    pub fn for_role(role: Role) -> TestingNav {
        TestingNav {
            rounds: role.allows(Permission::ViewPopulation),
            results: role.allows(Permission::UploadLabResults),
            boxes: role.allows(Permission::HandleSpecimens),
            antigen: role.allows(Permission::ReportAntigen)
                && role.allows(Permission::ViewPopulation),
            own: role.allows(Permission::ViewOwnResults),
        }
    }

    pub fn any(&self) -> bool {
        self.rounds || self.results || self.boxes || self.antigen
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/// Beijing time "11-20 10:05": short enough for tables and the binding page.
fn short_time(unix: i64) -> String {
    china_offset()
        .timestamp_opt(unix, 0)
        .single()
        .map(|t| t.format("%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn time_or_dash(unix: Option<i64>) -> String {
    unix.map(beijing_time).unwrap_or_else(|| "—".into())
}

/// "3小时20分" for a duration in seconds.
fn duration_label(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "—".into();
    }
    let minutes = (seconds / 60.0).round() as i64;
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m}分钟"),
        (h, 0) => format!("{h}小时"),
        (h, m) => format!("{h}小时{m}分"),
    }
}

fn hours_label(hours: f64) -> String {
    duration_label(hours * 3600.0)
}

fn recheck_status_label(status: &str) -> &'static str {
    match status {
        "pending" => "待复采",
        "sampled" => "已复采待结果",
        "negative" => "复核阴性（已解除）",
        "positive" => "复核阳性",
        "invalid" => "复采无效",
        _ => "其他",
    }
}

const RECHECK_STATUSES: [&str; 5] = ["pending", "sampled", "negative", "positive", "invalid"];

fn event_label(kind: &str) -> &'static str {
    match kind {
        "pool_positive" => "混采阳性：须单管复采",
        "single_positive" => "单管阳性",
        "recheck_negative" => "复核阴性，已解除",
        "antigen_positive" => "抗原阳性：须核酸复核",
        _ => "检测事件",
    }
}

fn result_code_label(code: &str) -> &'static str {
    fangkong_domain::lab_result::TestResult::from_code(code)
        .map(|r| r.label_zh())
        .unwrap_or("未知")
}

fn result_class(label: &str) -> &'static str {
    match label {
        "阳性" => "bad",
        "阴性" => "good",
        "无效" => "warn",
        _ => "",
    }
}

/// Percent-encodes a query value (region codes are digits; names may be Chinese).
pub(crate) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn is_grid_code(code: &str) -> bool {
    RegionCode::parse(code).is_ok_and(|c| c.level() == RegionLevel::Grid)
}

/// Where a coverage line of a round leads: the grid's missing list, or one level down.
fn drill_href(round_id: i64, code: &str) -> String {
    if is_grid_code(code) {
        format!("/testing/rounds/{round_id}/grids/{code}")
    } else {
        format!("/testing/rounds/{round_id}?region={code}")
    }
}

pub(crate) fn id_types() -> Vec<(&'static str, &'static str)> {
    IdType::ALL
        .iter()
        .map(|t| (t.code(), t.label_zh()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The swabs-per-hour chart, drawn by the server as SVG

pub struct ChartBar {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
    pub title: String,
}

pub struct ChartLabel {
    pub x: i64,
    pub text: String,
}

pub struct Chart {
    pub width: i64,
    pub height: i64,
    /// The y of the bars' base line.
    pub base: i64,
    pub max: i64,
    pub bars: Vec<ChartBar>,
    pub labels: Vec<ChartLabel>,
    pub total: i64,
}

impl Chart {
    const WIDTH: i64 = 720;
    const HEIGHT: i64 = 200;
    const LEFT: i64 = 44;
    const TOP: i64 = 14;
    const BOTTOM: i64 = 24;
    /// The chart shows at most the last three days, hour by hour, and at least twelve hours.
    const MAX_HOURS: i64 = 72;
    const MIN_HOURS: i64 = 12;

    fn of(hourly: &[(i64, i64)]) -> Chart {
        let mut chart = Chart {
            width: Self::WIDTH,
            height: Self::HEIGHT,
            base: Self::HEIGHT - Self::BOTTOM,
            max: 0,
            bars: Vec::new(),
            labels: Vec::new(),
            total: hourly.iter().map(|(_, n)| n).sum(),
        };
        let (Some(first), Some(last)) = (hourly.first(), hourly.last()) else {
            return chart;
        };
        let last_hour = last.0 - last.0.rem_euclid(3600);
        // At least half a day is shown, so one busy hour is a bar and not the whole chart.
        let first_hour = (first.0 - first.0.rem_euclid(3600))
            .min(last_hour - (Self::MIN_HOURS - 1) * 3600)
            .max(last_hour - (Self::MAX_HOURS - 1) * 3600);
        let slots = ((last_hour - first_hour) / 3600 + 1).max(1);
        let mut counts = vec![0i64; slots as usize];
        for (hour, n) in hourly {
            let slot = (hour - hour.rem_euclid(3600) - first_hour) / 3600;
            if (0..slots).contains(&slot) {
                counts[slot as usize] += n;
            }
        }
        chart.max = counts.iter().copied().max().unwrap_or(0).max(1);
        let plot_width = Self::WIDTH - Self::LEFT - 8;
        let plot_height = chart.base - Self::TOP;
        let slot_width = plot_width / slots;
        let label_every = (slots / 12).max(1);
        for (i, n) in counts.iter().enumerate() {
            let i = i as i64;
            let hour = first_hour + i * 3600;
            let h = n * plot_height / chart.max;
            let x = Self::LEFT + i * slot_width;
            chart.bars.push(ChartBar {
                x: x + 1,
                y: chart.base - h,
                w: (slot_width - 2).max(1),
                h,
                title: format!("{} 起1小时：{n}人", short_time(hour)),
            });
            if i % label_every == 0 {
                let text = china_offset()
                    .timestamp_opt(hour, 0)
                    .single()
                    .map(|t| t.format("%H时").to_string())
                    .unwrap_or_default();
                chart.labels.push(ChartLabel {
                    x: x + slot_width / 2,
                    text,
                });
            }
        }
        chart
    }
}

// ---------------------------------------------------------------------------------------------
// Rounds

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
struct RoundsPage {
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

async fn rounds_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    let f = RoundInput {
        kind: "whole".into(),
        region_code: page.user.actor.jurisdiction.as_str().to_string(),
        pool_size: "10".into(),
        ..RoundInput::default()
    };
    rounds_page_with(&state, &page, f, None).await
}

async fn open_round_submit(
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
struct RoundPage {
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
struct RoundQuery {
    region: String,
    opened: Option<String>,
    closed: Option<String>,
    issued: Option<String>,
}

/// A site record as the pages show it: its table numbers listed for the links.
fn site_row(s: SiteRecord) -> SiteRow {
    SiteRow {
        tables: (1..=s.tables_count).collect(),
        id: s.id,
        name: s.name,
        region_code: s.region_code,
        address: s.address,
        swabs_per_table_hour: s.swabs_per_table_hour,
    }
}

async fn round_page(
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
        .filter(|s| s.region_code.starts_with(&prefix))
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
            let late = o
                .round
                .deadline_at
                .is_some_and(|d| o.round.closed_at.is_none() && now + (hours * 3600.0) as i64 > d);
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
            late: now - b.packed_at > fangkong_app::mass_testing::BOX_LATE_AFTER_SECONDS,
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
        chart: Chart::of(&o.hourly),
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

async fn close_round_submit(
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
struct TubesInput {
    count: String,
}

async fn issue_tubes_submit(
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

// ---------------------------------------------------------------------------------------------
// The planner and sites

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct PlanQuery {
    region: String,
    people_per_site: String,
    people_per_table: String,
    swabs_per_table_hour: String,
    site: Option<i64>,
}

fn parse_norm(raw: &str, label: &str, default: i64) -> Result<i64, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(default);
    }
    raw.parse::<i64>()
        .map_err(|_| AppError::Invalid(format!("“{label}”应为整数，而不是“{raw}”")))
}

impl PlanQuery {
    fn norms(&self) -> Result<PlannerNorms, AppError> {
        Ok(PlannerNorms {
            people_per_site: parse_norm(
                &self.people_per_site,
                "每个采样点服务人数",
                NHC_2022_NORMS.people_per_site,
            )?,
            people_per_table: parse_norm(
                &self.people_per_table,
                "每个采样台服务人数",
                NHC_2022_NORMS.people_per_table,
            )?,
            swabs_per_table_hour: parse_norm(
                &self.swabs_per_table_hour,
                "每台每小时采样人数",
                NHC_2022_NORMS.swabs_per_table_hour,
            )?,
        })
    }
}

pub struct PlanRow {
    pub l: PlanLine,
    pub hours_plan: String,
    pub hours_now: String,
    pub short: bool,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct SiteInput {
    pub region_code: String,
    pub name: String,
    pub address: String,
    pub tables: String,
    pub staff: String,
    pub swabs_per_table_hour: String,
}

#[derive(Template)]
#[template(path = "mass_testing/plan.html")]
struct PlanPage {
    layout: crate::pages::Layout,
    round: RoundView,
    q: PlanQuery,
    norms: PlannerNorms,
    lines: Vec<PlanRow>,
    sites: Vec<SiteRow>,
    can_manage: bool,
    f: SiteInput,
}

async fn plan_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    q: PlanQuery,
    f: SiteInput,
    mut flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let round = state
        .app
        .round(actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let (norms, lines) = match q.norms() {
        Ok(norms) => match state.app.site_plan(actor, id, &q.region, norms).await {
            Ok(lines) => (norms, lines),
            Err(e) if is_form_mistake(&e) => {
                flash = Some(error_flash(&e));
                (norms, Vec::new())
            }
            Err(e) => return Err(page.error(e)),
        },
        Err(e) => {
            flash = Some(error_flash(&e));
            (NHC_2022_NORMS, Vec::new())
        }
    };
    let lines = lines
        .into_iter()
        .map(|l| PlanRow {
            hours_plan: hours_label(l.plan.hours),
            hours_now: l.hours_now.map(hours_label).unwrap_or_else(|| "—".into()),
            short: l.tables_now < l.plan.tables,
            l,
        })
        .collect();
    let sites = state
        .app
        .sites(actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let sites = sites.into_iter().map(site_row).collect();
    let mut layout = page.layout("mass_testing");
    layout.flash = flash;
    Ok(render(&PlanPage {
        layout,
        round,
        q,
        norms,
        lines,
        sites,
        can_manage: page.can(Permission::ManageTestingRounds),
        f,
    }))
}

async fn plan_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<PlanQuery>,
) -> PageResult {
    let flash = q
        .site
        .map(|site| format!("已设立采样点（编号{site}），可在下方列表进入各采样台"))
        .and_then(ok_flash);
    let f = SiteInput {
        region_code: q.region.clone(),
        tables: "2".into(),
        ..SiteInput::default()
    };
    plan_page_with(&state, &page, id, q, f, flash).await
}

async fn create_site_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<PlanQuery>,
    CsrfForm(f): CsrfForm<SiteInput>,
) -> PageResult {
    let form = SiteForm {
        region_code: f.region_code.clone(),
        name: f.name.clone(),
        address: f.address.clone(),
        tables: f.tables.clone(),
        staff: f.staff.clone(),
        swabs_per_table_hour: f.swabs_per_table_hour.clone(),
    };
    let next = state
        .app
        .create_site(&page.user.actor, id, &form)
        .await
        .map(|site| {
            format!(
                "/testing/rounds/{id}/plan?region={}&site={site}",
                encode(&q.region)
            )
        });
    form_page(&page, next, |flash| {
        plan_page_with(&state, &page, id, q, f, flash)
    })
    .await
}

pub struct TubeRow {
    pub barcode: String,
    pub members: i64,
    pub capacity: i64,
    pub purpose: &'static str,
    pub opened: String,
}

#[derive(Template)]
#[template(path = "mass_testing/site.html")]
struct SitePage {
    layout: crate::pages::Layout,
    site: SiteRow,
    round: RoundView,
    can_sample: bool,
    box_code: String,
    tubes_text: String,
    problems: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BoxInput {
    box_code: String,
    tubes: String,
}

async fn site_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    input: BoxInput,
    problems: Vec<String>,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let site = state
        .app
        .sampling_site(actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let round = state
        .app
        .round(actor, site.round_id)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("mass_testing");
    layout.flash = flash;
    Ok(render(&SitePage {
        layout,
        site: site_row(site),
        round,
        can_sample: page.can(Permission::SampleSpecimens),
        box_code: input.box_code,
        tubes_text: input.tubes,
        problems,
    }))
}

async fn site_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    site_page_with(&state, &page, id, BoxInput::default(), Vec::new(), None).await
}

fn tube_lines(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == '，')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

async fn pack_box_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<BoxInput>,
) -> PageResult {
    let tubes = tube_lines(&f.tubes);
    match state
        .app
        .pack_box(&page.user.actor, id, &f.box_code, &tubes)
        .await
    {
        Ok(problems) => {
            let packed = tubes.len() - problems.len().min(tubes.len());
            let flash = Flash {
                kind: if problems.is_empty() { "ok" } else { "error" },
                text: if problems.is_empty() {
                    format!(
                        "转运箱{}已装入{packed}支试管",
                        f.box_code.trim().to_uppercase()
                    )
                } else {
                    format!(
                        "转运箱{}：{}支试管未能装箱，见下方原因；其余已装箱",
                        f.box_code.trim().to_uppercase(),
                        problems.len()
                    )
                },
            };
            // A clean box starts the next one empty; otherwise keep what was scanned to fix it.
            let input = if problems.is_empty() {
                BoxInput::default()
            } else {
                f
            };
            site_page_with(&state, &page, id, input, problems, Some(flash)).await
        }
        Err(e) => {
            form_page(&page, Err(e), |flash| {
                site_page_with(&state, &page, id, f, Vec::new(), flash)
            })
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "mass_testing/binding.html")]
struct BindingPage {
    layout: crate::pages::Layout,
    site: SiteRow,
    round: RoundView,
    table: i64,
    /// People per new screening tube at this site (from the round's areas).
    pool_size: i64,
    open_tubes: Vec<TubeRow>,
    id_types: Vec<(&'static str, &'static str)>,
}

async fn binding_page(
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
            purpose: if t.purpose == "recheck" {
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

// ---------------------------------------------------------------------------------------------
// Grid coverage and exemptions

pub struct HouseholdGroup {
    pub number: String,
    pub address: String,
    pub people: Vec<MissingRow>,
}

pub struct MissingRow {
    pub p: MissingView,
    /// The exemption form as typed, when it came back with a problem.
    pub kind: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "mass_testing/grid.html")]
struct GridPage {
    layout: crate::pages::Layout,
    c: GridCoverage,
    /// The grid's village/community (the first 12 digits), for the way back up.
    village: String,
    households: Vec<HouseholdGroup>,
    can_exempt: bool,
    can_antigen: bool,
    kinds: Vec<(&'static str, &'static str)>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct ExemptionInput {
    resident_id: String,
    kind: String,
    note: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SavedQuery {
    saved: Option<String>,
}

async fn grid_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    grid: &str,
    typed: Option<ExemptionInput>,
    flash: Option<Flash>,
) -> PageResult {
    let c = state
        .app
        .grid_coverage(&page.user.actor, id, grid)
        .await
        .map_err(|e| page.error(e))?;
    let mut households: Vec<HouseholdGroup> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for p in &c.missing {
        let at = *index.entry(p.household_number.clone()).or_insert_with(|| {
            households.push(HouseholdGroup {
                number: p.household_number.clone(),
                address: p.address.clone(),
                people: Vec::new(),
            });
            households.len() - 1
        });
        let (kind, note) = match &typed {
            Some(t) if t.resident_id.trim() == p.resident_id.to_string() => {
                (t.kind.clone(), t.note.clone())
            }
            _ => (String::new(), String::new()),
        };
        households[at].people.push(MissingRow {
            p: p.clone(),
            kind,
            note,
        });
    }
    let mut layout = page.layout("mass_testing");
    layout.flash = flash;
    Ok(render(&GridPage {
        layout,
        village: c.grid_code.chars().take(12).collect(),
        households,
        can_exempt: page.can(Permission::SampleSpecimens),
        can_antigen: page.can(Permission::ReportAntigen),
        kinds: ExemptionKind::ALL
            .iter()
            .map(|k| (k.code(), k.label_zh()))
            .collect(),
        c,
    }))
}

async fn grid_page(
    State(state): State<AppState>,
    page: PageUser,
    Path((id, grid)): Path<(i64, String)>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let flash = q
        .saved
        .map(|_| "已登记免采（上门采样/不在本地），此人已移出未采样名单".to_string())
        .and_then(ok_flash);
    grid_page_with(&state, &page, id, &grid, None, flash).await
}

async fn exemption_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path((id, grid)): Path<(i64, String)>,
    CsrfForm(f): CsrfForm<ExemptionInput>,
) -> PageResult {
    let resident_id = f
        .resident_id
        .trim()
        .parse::<i64>()
        .map_err(|_| page.error(AppError::Invalid("请从未采样名单中选择居民".into())))?;
    let next = state
        .app
        .set_exemption(&page.user.actor, id, resident_id, &f.kind, &f.note)
        .await
        .map(|_| format!("/testing/rounds/{id}/grids/{grid}?saved=1#exempted"));
    form_page(&page, next, |flash| {
        grid_page_with(&state, &page, id, &grid, Some(f), flash)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Rechecks and positives

#[derive(Deserialize, Default)]
#[serde(default)]
struct RegionQuery {
    region: String,
    status: String,
}

#[derive(Template)]
#[template(path = "mass_testing/rechecks.html")]
struct RechecksPage {
    layout: crate::pages::Layout,
    region: String,
    status: String,
    statuses: Vec<(&'static str, &'static str)>,
    tasks: Vec<(RecheckView, String)>,
    /// How many tasks the list has in all (the rows are cut at 1,000).
    total: i64,
}

async fn rechecks_page(
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
struct PositivesPage {
    layout: crate::pages::Layout,
    region: String,
    positives: Vec<PositiveRow>,
}

async fn positives_page(
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

// ---------------------------------------------------------------------------------------------
// Lab results

pub struct UploadRow {
    pub id: i64,
    pub started: String,
    pub file_name: String,
    pub format: String,
    pub lab_name: String,
    pub rows_total: i64,
    pub applied: i64,
    pub unchanged: i64,
    pub problems: i64,
    pub positives: i64,
    /// 已完成, 进行中 or 已中断 (a crash cut it short; the counters say what it committed).
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "mass_testing/results.html")]
struct ResultsPage {
    layout: crate::pages::Layout,
    columns: String,
    report: Option<ResultUploadReport>,
    uploads: Vec<UploadRow>,
}

async fn results_page_with(
    state: &AppState,
    page: &PageUser,
    report: Option<ResultUploadReport>,
) -> PageResult {
    let uploads = state
        .app
        .recent_result_uploads(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?
        .into_iter()
        .map(|u| UploadRow {
            id: u.id,
            started: beijing_time(u.started_at),
            file_name: u.file_name,
            format: u.format,
            lab_name: u.lab_name,
            rows_total: u.rows_total,
            applied: u.applied,
            unchanged: u.unchanged,
            problems: u.problems,
            positives: u.positives,
            status: crate::pages::run_status(u.finished_at, u.interrupted_at),
        })
        .collect();
    Ok(render(&ResultsPage {
        layout: page.layout("testing_results"),
        columns: RESULT_COLUMNS.join(","),
        report,
        uploads,
    }))
}

async fn results_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    results_page_with(&state, &page, None).await
}

async fn results_upload_submit(
    State(state): State<AppState>,
    page: PageUser,
    mut multipart: Multipart,
) -> PageResult {
    let upload = read_upload(
        &state,
        &page.user,
        Permission::UploadLabResults,
        &mut multipart,
    )
    .await
    .map_err(|e| page.error(e))?;
    let Some((name, temp)) = upload.filter(|(name, _)| !name.is_empty()) else {
        return Err(page.error(AppError::Invalid(
            "请选择检测结果文件（CSV、Excel 或 FHIR 的 .json）".into(),
        )));
    };
    let report = state
        .app
        .upload_lab_results(&page.user.actor, temp.path(), &name)
        .await
        .map_err(|e| page.error(e))?;
    results_page_with(&state, &page, Some(report)).await
}

async fn results_template(page: PageUser) -> PageResult {
    if !page.can(Permission::UploadLabResults) {
        return Err(page.error(AppError::Forbidden {
            role: page.user.actor.role,
        }));
    }
    // A BOM so that Excel in Chinese offices opens the UTF-8 header correctly.
    let body = format!("\u{feff}{}\r\n", RESULT_COLUMNS.join(","));
    Ok(download(
        body.into(),
        "核酸结果上传模板.csv",
        "text/csv; charset=utf-8",
    ))
}

#[derive(Template)]
#[template(path = "mass_testing/result_upload.html")]
struct ResultUploadPage {
    layout: crate::pages::Layout,
    r: ResultUploadReport,
    started: String,
    status: &'static str,
}

async fn result_upload_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    let r = state
        .app
        .result_upload(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&ResultUploadPage {
        layout: page.layout("testing_results"),
        started: beijing_time(r.upload.started_at),
        status: crate::pages::run_status(r.upload.finished_at, r.upload.interrupted_at),
        r,
    }))
}

// ---------------------------------------------------------------------------------------------
// Boxes: courier pick-up and lab receipt

pub struct BoxView {
    pub barcode: String,
    pub tube_count: i64,
    pub packed: String,
    pub packed_by: String,
    pub picked: String,
    pub courier: String,
    pub received: String,
    pub received_by: String,
}

#[derive(Template)]
#[template(path = "mass_testing/boxes.html")]
struct BoxesPage {
    layout: crate::pages::Layout,
    mode: String,
    can_receive: bool,
    code: String,
    handled: Option<BoxView>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BoxesQuery {
    mode: String,
}

fn default_mode(role: Role) -> &'static str {
    if role == Role::Lab {
        "receive"
    } else {
        "pickup"
    }
}

fn can_receive(role: Role) -> bool {
    matches!(role, Role::Lab | Role::Commander | Role::Administrator)
}

async fn boxes_page(page: PageUser, Query(q): Query<BoxesQuery>) -> PageResult {
    if !page.can(Permission::HandleSpecimens) {
        return Err(page.error(AppError::Forbidden {
            role: page.user.actor.role,
        }));
    }
    let role = page.user.actor.role;
    let mode = match q.mode.as_str() {
        "pickup" | "receive" => q.mode.clone(),
        _ => default_mode(role).to_string(),
    };
    Ok(render(&BoxesPage {
        layout: page.layout("testing_boxes"),
        mode,
        can_receive: can_receive(role),
        code: String::new(),
        handled: None,
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BoxScanInput {
    code: String,
    mode: String,
}

async fn boxes_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<BoxScanInput>,
) -> PageResult {
    let receive = f.mode == "receive";
    let role = page.user.actor.role;
    let mut layout = page.layout("testing_boxes");
    let (status, code, handled) = match state
        .app
        .hand_over_box(&page.user.actor, &f.code, receive)
        .await
    {
        Ok(b) => {
            layout.flash = ok_flash(format!(
                "转运箱{}（{}支试管）已{}",
                b.barcode,
                b.tube_count,
                if receive { "签收" } else { "揽收" }
            ));
            let view = BoxView {
                packed: beijing_time(b.packed_at),
                picked: time_or_dash(b.picked_up_at),
                received: time_or_dash(b.received_at),
                barcode: b.barcode,
                tube_count: b.tube_count,
                packed_by: b.packed_by,
                courier: b.courier.unwrap_or_default(),
                received_by: b.received_by.unwrap_or_default(),
            };
            (axum::http::StatusCode::OK, String::new(), Some(view))
        }
        Err(e) if is_form_mistake(&e) => {
            layout.flash = Some(error_flash(&e));
            (status_of(&e), f.code.clone(), None)
        }
        Err(e) => return Err(page.error(e)),
    };
    let page = BoxesPage {
        layout,
        mode: if receive { "receive" } else { "pickup" }.to_string(),
        can_receive: can_receive(role),
        code,
        handled,
    };
    Ok((status, render(&page)).into_response())
}

// ---------------------------------------------------------------------------------------------
// Key groups (routine testing)

#[derive(Deserialize, Default)]
#[serde(default)]
struct KeyGroupQuery {
    region: String,
    group: String,
    schedule: String,
}

#[derive(Template)]
#[template(path = "mass_testing/key_groups.html")]
struct KeyGroupsPage {
    layout: crate::pages::Layout,
    region: String,
    group: String,
    schedule: usize,
    groups: Vec<(&'static str, &'static str)>,
    schedules: Vec<(usize, &'static str)>,
    source: &'static str,
    overdue: Option<KeyGroupOverdue>,
    last: Vec<String>,
}

async fn key_groups_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<KeyGroupQuery>,
) -> PageResult {
    let schedules = state.app.routine_schedules();
    let index = q
        .schedule
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|i| *i < schedules.len())
        .unwrap_or(0);
    let schedule = &schedules[index];
    let group = KeyGroup::ALL
        .into_iter()
        .find(|g| g.code() == q.group.trim())
        .unwrap_or(KeyGroup::ALL[0]);
    let mut layout = page.layout("testing_key_groups");
    let overdue = match state
        .app
        .key_group_overdue(&page.user.actor, &q.region, group, schedule)
        .await
    {
        Ok(o) => Some(o),
        Err(e) if is_form_mistake(&e) => {
            layout.flash = Some(error_flash(&e));
            None
        }
        Err(e) => return Err(page.error(e)),
    };
    let last = overdue
        .as_ref()
        .map(|o| {
            o.people
                .iter()
                .map(|p| {
                    p.last_sampled_at
                        .map(beijing_time)
                        .unwrap_or_else(|| "从未检测".into())
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(render(&KeyGroupsPage {
        layout,
        region: q.region.trim().to_string(),
        group: group.code().to_string(),
        schedule: index,
        groups: KeyGroup::ALL
            .iter()
            .map(|g| (g.code(), g.label_zh()))
            .collect(),
        schedules: schedules
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.name))
            .collect(),
        source: schedule.source,
        overdue,
        last,
    }))
}

// ---------------------------------------------------------------------------------------------
// Antigen self-tests

pub struct AntigenRow {
    pub tested: String,
    pub reported: String,
    pub id_number_masked: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub result: &'static str,
    pub has_photo: bool,
    pub reporter: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct AntigenInput {
    resident_id: String,
    result: String,
    tested_at: String,
    /// Prefills the form from a link (grid coverage page).
    resident: String,
    region: String,
}

#[derive(Template)]
#[template(path = "mass_testing/antigen.html")]
struct AntigenPage {
    layout: crate::pages::Layout,
    region: String,
    reports: Vec<AntigenRow>,
    f: AntigenInput,
    can_report: bool,
}

async fn antigen_page_with(
    state: &AppState,
    page: &PageUser,
    f: AntigenInput,
    flash: Option<Flash>,
) -> PageResult {
    let reports = state
        .app
        .antigen_reports(&page.user.actor, &f.region)
        .await
        .map_err(|e| page.error(e))?
        .into_iter()
        .map(|(r, masked)| AntigenRow {
            tested: beijing_time(r.tested_at),
            reported: beijing_time(r.reported_at),
            id_number_masked: masked,
            resident_id: r.resident_id,
            grid_code: r.grid_code,
            result: result_code_label(&r.result),
            has_photo: r.has_photo,
            reporter: r.reporter,
        })
        .collect();
    let mut layout = page.layout("testing_antigen");
    layout.flash = flash;
    Ok(render(&AntigenPage {
        layout,
        region: f.region.trim().to_string(),
        reports,
        can_report: page.can(Permission::ReportAntigen),
        f,
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AntigenQuery {
    region: String,
    resident: String,
    saved: Option<String>,
}

async fn antigen_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<AntigenQuery>,
) -> PageResult {
    let f = AntigenInput {
        resident_id: q.resident.clone(),
        region: q.region,
        ..AntigenInput::default()
    };
    let flash = q
        .saved
        .map(|_| "抗原结果已登记".to_string())
        .and_then(ok_flash);
    antigen_page_with(&state, &page, f, flash).await
}

async fn antigen_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<AntigenInput>,
) -> PageResult {
    let form = AntigenForm {
        resident_id: f.resident_id.clone(),
        result: f.result.clone(),
        tested_at: f.tested_at.clone(),
    };
    let next = state
        .app
        .report_antigen(&page.user.actor, &form, None)
        .await
        .map(|_| format!("/testing/antigen?saved=1&region={}", encode(&f.region)));
    form_page(&page, next, |flash| {
        antigen_page_with(&state, &page, f, flash)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Residents: own results and antigen report

#[derive(Template)]
#[template(path = "mass_testing/my_results.html")]
struct MyResultsPage {
    layout: crate::pages::Layout,
    m: MyResults,
    results: Vec<(String, String, &'static str)>,
    antigen: Vec<(String, &'static str)>,
    events: Vec<(String, &'static str)>,
    /// The personal sampling code as an SVG QR code, drawn here (no outside service).
    qr_svg: String,
}

/// An SVG QR code of `text` (error correction M: a crumpled phone screen still reads).
pub(crate) fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

async fn my_results_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    let m = state
        .app
        .my_results(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let results = m
        .results
        .iter()
        .map(|r| {
            (
                beijing_time(r.sampled_at),
                time_or_dash(r.tested_at),
                result_class(r.result_label),
            )
        })
        .collect();
    let antigen = m
        .antigen
        .iter()
        .map(|a| (beijing_time(a.tested_at), result_code_label(&a.result)))
        .collect();
    let events = m
        .events
        .iter()
        .map(|e| (beijing_time(e.at), event_label(&e.kind)))
        .collect();
    let qr_svg = qr_svg(&m.sampling_code);
    Ok(render(&MyResultsPage {
        layout: page.layout("my_results"),
        m,
        results,
        antigen,
        events,
        qr_svg,
    }))
}

#[derive(Template)]
#[template(path = "mass_testing/my_antigen.html")]
struct MyAntigenPage {
    layout: crate::pages::Layout,
    result: String,
    tested_at: String,
}

async fn my_antigen_page(page: PageUser, Query(q): Query<AntigenQuery>) -> PageResult {
    if !page.can(Permission::ReportAntigen) {
        return Err(page.error(AppError::Forbidden {
            role: page.user.actor.role,
        }));
    }
    let mut layout = page.layout("my_antigen");
    layout.flash = q
        .saved
        .map(|_| "已上报，谢谢配合。阳性结果会通知社区安排核酸复核。".to_string())
        .and_then(ok_flash);
    Ok(render(&MyAntigenPage {
        layout,
        result: String::new(),
        tested_at: String::new(),
    }))
}

/// The resident's antigen form: result, time and an optional photo (kept in memory, ≤ 4 MB).
struct AntigenUpload {
    form: AntigenForm,
    photo: Option<(Vec<u8>, String)>,
}

/// Reads the antigen form in the order of [`crate::upload`]: the role is checked and the form token
/// must be the first field before any photo byte is read, so nobody can make the server take a
/// photo it will refuse anyway.
async fn read_antigen_upload(
    user: &crate::session::LoggedIn,
    multipart: &mut Multipart,
) -> Result<AntigenUpload, AppError> {
    user.actor.require(Permission::ReportAntigen)?;
    crate::upload::check_first_field_token(user, multipart).await?;
    let mut upload = AntigenUpload {
        form: AntigenForm::default(),
        photo: None,
    };
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::Invalid(format!("上传内容无法读取（照片不能超过4MB）：{e}")))?
    {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "photo" => {
                let has_file = field.file_name().is_some_and(|n| !n.is_empty());
                let kind = field.content_type().unwrap_or_default().to_string();
                let bytes = field.bytes().await.map_err(|e| {
                    AppError::Invalid(format!("照片上传中断或超过4MB，请重新选择：{e}"))
                })?;
                if has_file && !bytes.is_empty() {
                    upload.photo = Some((bytes.to_vec(), kind));
                }
            }
            _ => {
                let text = field.text().await.unwrap_or_default();
                match name.as_str() {
                    "result" => upload.form.result = text,
                    "tested_at" => upload.form.tested_at = text,
                    _ => {}
                }
            }
        }
    }
    Ok(upload)
}

async fn my_antigen_submit(
    State(state): State<AppState>,
    page: PageUser,
    mut multipart: Multipart,
) -> PageResult {
    let upload = read_antigen_upload(&page.user, &mut multipart)
        .await
        .map_err(|e| page.error(e))?;
    let photo = upload
        .photo
        .as_ref()
        .map(|(bytes, kind)| (bytes.as_slice(), kind.as_str()));
    let next = state
        .app
        .report_antigen(&page.user.actor, &upload.form, photo)
        .await
        .map(|_| "/me/antigen?saved=1".to_string());
    form_page(&page, next, |flash| async {
        let mut layout = page.layout("my_antigen");
        layout.flash = flash;
        Ok(render(&MyAntigenPage {
            layout,
            result: upload.form.result,
            tested_at: upload.form.tested_at,
        }))
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// The JSON API

type ApiResult<T> = Result<Json<T>, ApiError>;

async fn api_scans(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(batch): Json<SamplingBatch>,
) -> ApiResult<Vec<ScanResult>> {
    Ok(Json(state.app.submit_scans(&user.actor, &batch).await?))
}

async fn api_rounds(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<Vec<RoundView>> {
    Ok(Json(state.app.rounds(&user.actor).await?))
}

#[derive(Serialize)]
struct Created {
    id: i64,
}

async fn api_open_round(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(form): Json<RoundForm>,
) -> Result<Response, ApiError> {
    let id = state.app.open_round(&user.actor, &form).await?;
    Ok((axum::http::StatusCode::CREATED, Json(Created { id })).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ApiRegionQuery {
    region: String,
    status: String,
}

async fn api_round(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Query(q): Query<ApiRegionQuery>,
) -> ApiResult<RoundOverview> {
    Ok(Json(
        state.app.round_overview(&user.actor, id, &q.region).await?,
    ))
}

async fn api_grid(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path((id, grid)): Path<(i64, String)>,
) -> ApiResult<GridCoverage> {
    Ok(Json(state.app.grid_coverage(&user.actor, id, &grid).await?))
}

#[derive(Deserialize)]
struct PackRequest {
    #[serde(rename = "box")]
    box_code: String,
    tubes: Vec<String>,
}

#[derive(Serialize)]
struct PackResponse {
    packed: usize,
    problems: Vec<String>,
}

async fn api_pack_box(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(request): Json<PackRequest>,
) -> ApiResult<PackResponse> {
    let problems = state
        .app
        .pack_box(&user.actor, id, &request.box_code, &request.tubes)
        .await?;
    Ok(Json(PackResponse {
        packed: request.tubes.len().saturating_sub(problems.len()),
        problems,
    }))
}

#[derive(Serialize)]
struct BoxResponse {
    barcode: String,
    round_id: i64,
    site_id: i64,
    tube_count: i64,
    packed_at: i64,
    picked_up_at: Option<i64>,
    courier: Option<String>,
    received_at: Option<i64>,
    received_by: Option<String>,
}

async fn hand_over(
    state: &AppState,
    user: &crate::session::LoggedIn,
    code: &str,
    receive: bool,
) -> ApiResult<BoxResponse> {
    let b = state.app.hand_over_box(&user.actor, code, receive).await?;
    Ok(Json(BoxResponse {
        barcode: b.barcode,
        round_id: b.round_id,
        site_id: b.site_id,
        tube_count: b.tube_count,
        packed_at: b.packed_at,
        picked_up_at: b.picked_up_at,
        courier: b.courier,
        received_at: b.received_at,
        received_by: b.received_by,
    }))
}

async fn api_box_pickup(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(code): Path<String>,
) -> ApiResult<BoxResponse> {
    hand_over(&state, &user, &code, false).await
}

async fn api_box_receive(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(code): Path<String>,
) -> ApiResult<BoxResponse> {
    hand_over(&state, &user, &code, true).await
}

async fn api_lab_results(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(rows): Json<Vec<ResultInput>>,
) -> ApiResult<ResultUploadReport> {
    Ok(Json(
        state.app.submit_lab_results(&user.actor, &rows).await?,
    ))
}

async fn api_lab_fhir(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<ResultUploadReport> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !(content_type.starts_with("application/fhir+json")
        || content_type.starts_with("application/json"))
    {
        return Err(ApiError(AppError::Invalid(
            "请以 Content-Type: application/fhir+json（或 application/json）发送 FHIR R4 文档"
                .into(),
        )));
    }
    Ok(Json(
        state.app.submit_fhir_results(&user.actor, &body).await?,
    ))
}

async fn api_lab_upload(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    mut multipart: Multipart,
) -> ApiResult<ResultUploadReport> {
    let upload = read_upload(&state, &user, Permission::UploadLabResults, &mut multipart).await?;
    let (name, temp) = upload.ok_or_else(|| {
        AppError::Invalid("请在 file 字段上传 CSV、XLSX 或 FHIR 的 .json 文件".into())
    })?;
    Ok(Json(
        state
            .app
            .upload_lab_results(&user.actor, temp.path(), &name)
            .await?,
    ))
}

async fn api_rechecks(
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

async fn api_my_results(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<MyResults> {
    Ok(Json(state.app.my_results(&user.actor).await?))
}

async fn api_antigen(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(form): Json<AntigenForm>,
) -> Result<Response, ApiError> {
    let id = state.app.report_antigen(&user.actor, &form, None).await?;
    Ok((axum::http::StatusCode::CREATED, Json(Created { id })).into_response())
}
