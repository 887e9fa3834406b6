//! Residents (居民): the search, one resident with the audited reveal, registering a new one.

use super::*;

#[derive(Template)]
#[template(path = "residents.html")]
pub(super) struct ResidentsPage {
    layout: Layout,
    q: String,
    /// Each result with its status badges (one status query for the page).
    results: Vec<(ResidentView, Vec<BadgeView>)>,
}

pub(super) async fn residents_search(
    State(state): State<AppState>,
    page: PageUser,
    Query(query): Query<SearchQuery>,
) -> PageResult {
    let results = state
        .app
        .search_residents_badged(&page.user.actor, &query.q)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&ResidentsPage {
        layout: page.layout("residents"),
        q: query.q.trim().to_string(),
        results,
    }))
}

#[derive(Template)]
#[template(path = "resident.html")]
pub(super) struct ResidentPage {
    layout: Layout,
    r: ResidentView,
    can_reveal: bool,
    can_move: bool,
}

pub(super) async fn resident_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    let r = state
        .app
        .resident(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&ResidentPage {
        can_reveal: page.can(Permission::RevealPersonalData),
        can_move: page.can(Permission::ImportPopulation),
        layout: page.layout("residents"),
        r,
    }))
}

#[derive(Deserialize)]
pub(super) struct RevealForm {
    #[serde(default)]
    reason: String,
}

pub(super) async fn resident_reveal(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<RevealForm>,
) -> PageResult {
    let r = state
        .app
        .reveal_resident(&page.user.actor, id, &form.reason)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("residents");
    layout.flash = Some(Flash {
        kind: "info",
        text: "已显示完整信息，本次查看已记入审计日志".into(),
    });
    Ok(render(&ResidentPage {
        layout,
        r,
        can_reveal: false,
        can_move: page.can(Permission::ImportPopulation),
    }))
}

/// The register-a-resident form: the import columns, as typed (kept when the form comes back with
/// a problem, so nothing typed is lost).
#[derive(Deserialize, Default)]
pub(super) struct ResidentForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_type: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    household_number: String,
    #[serde(default)]
    relation: String,
    #[serde(default)]
    grid_code: String,
    #[serde(default)]
    key_groups: String,
}

#[derive(Template)]
#[template(path = "resident_new.html")]
pub(super) struct ResidentNewPage {
    layout: Layout,
    f: ResidentForm,
    id_types: Vec<(&'static str, &'static str)>,
}

fn resident_new_page_with(page: &PageUser, f: ResidentForm, flash: Option<Flash>) -> Response {
    let mut layout = page.layout("residents");
    layout.flash = flash;
    let id_types = fangkong_domain::ids::IdType::ALL
        .iter()
        .map(|t| (t.code(), t.label_zh()))
        .collect();
    render(&ResidentNewPage {
        layout,
        f,
        id_types,
    })
}

#[derive(Deserialize)]
pub(super) struct NewResidentQuery {
    household: Option<String>,
}

/// Opened from a household page, the form starts with that household's number, grid and address.
pub(super) async fn resident_new_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(query): Query<NewResidentQuery>,
) -> PageResult {
    let mut form = ResidentForm {
        id_type: "mainland_id".into(),
        ..ResidentForm::default()
    };
    if let Some(number) = query.household.filter(|n| !n.is_empty()) {
        let h = state
            .app
            .household(&page.user.actor, &number)
            .await
            .map_err(|e| page.error(e))?;
        form.household_number = h.household.number;
        form.grid_code = h.household.grid_code;
        form.address = h.household.address;
    }
    Ok(resident_new_page_with(&page, form, None))
}

pub(super) async fn resident_new_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<ResidentForm>,
) -> PageResult {
    let raw = fangkong_domain::resident_row::RawResidentRow {
        name: form.name.clone(),
        id_type: form.id_type.clone(),
        id_number: form.id_number.clone(),
        sex: form.sex.clone(),
        birth_date: form.birth_date.clone(),
        phone: form.phone.clone(),
        address: form.address.clone(),
        household_number: form.household_number.clone(),
        relation: form.relation.clone(),
        grid_code: form.grid_code.clone(),
        key_groups: form.key_groups.clone(),
    };
    let next = state
        .app
        .save_resident(&page.user.actor, &raw)
        .await
        .map(|(id, _)| format!("/residents/{id}"));
    // A mistake in the form comes back with everything typed and the reason on top.
    form_page_when(is_typed_mistake, &page, next, |flash| async {
        Ok(resident_new_page_with(&page, form, flash))
    })
    .await
}
