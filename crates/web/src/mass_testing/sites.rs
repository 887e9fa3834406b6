//! Sampling sites (采样点): the planner with its norms, creating a site, a site's page.

use super::*;

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(super) struct PlanQuery {
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
pub(super) struct PlanPage {
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

pub(super) async fn plan_page(
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

pub(super) async fn create_site_submit(
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
pub(super) struct SitePage {
    layout: crate::pages::Layout,
    site: SiteRow,
    round: RoundView,
    can_sample: bool,
    box_code: String,
    tubes_text: String,
    problems: Vec<String>,
}

pub(super) async fn site_page_with(
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

pub(super) async fn site_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    site_page_with(&state, &page, id, BoxInput::default(), Vec::new(), None).await
}
