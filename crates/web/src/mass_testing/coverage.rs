//! Coverage (应检尽检): a grid's missing households and people, exemptions; the grid API.

use super::*;

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
pub(super) struct GridPage {
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
pub(super) struct ExemptionInput {
    resident_id: String,
    kind: String,
    note: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct SavedQuery {
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

pub(super) async fn grid_page(
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

pub(super) async fn exemption_submit(
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

pub(super) async fn api_grid(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path((id, grid)): Path<(i64, String)>,
) -> ApiResult<GridCoverage> {
    Ok(Json(state.app.grid_coverage(&user.actor, id, &grid).await?))
}
