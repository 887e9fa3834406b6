//! Isolation sites and rooms (集中隔离点): sites, a site's rooms grid, room blocks and states,
//! check-in, temperatures, release; the allocation preview and assigning people to rooms.

use super::*;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct SiteInput {
    name: String,
    region_code: String,
    address: String,
    readiness: String,
    staff_count: String,
    note: String,
}

#[derive(Template)]
#[template(path = "isolation/sites.html")]
pub(super) struct SitesPage {
    layout: Layout,
    sites: Vec<IsolationSiteSummary>,
    can_manage: bool,
    f: SiteInput,
    readiness: Vec<(&'static str, &'static str)>,
}

async fn sites_page_with(
    state: &AppState,
    page: &PageUser,
    f: SiteInput,
    flash: Option<Flash>,
) -> PageResult {
    let sites = state
        .app
        .isolation_sites(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("isolation");
    layout.flash = flash;
    Ok(render(&SitesPage {
        layout,
        sites,
        can_manage: page.can(Permission::ManageIsolationSites),
        f,
        readiness: options(&Readiness::ALL, Readiness::code, Readiness::label_zh),
    }))
}

pub(super) async fn sites_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let f = SiteInput {
        region_code: page.user.actor.jurisdiction.as_str().to_string(),
        readiness: "2h".into(),
        ..Default::default()
    };
    sites_page_with(&state, &page, f, saved_flash(&q.saved)).await
}

pub(super) async fn create_site_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<SiteInput>,
) -> PageResult {
    let form = SiteForm {
        name: f.name.clone(),
        region_code: f.region_code.clone(),
        address: f.address.clone(),
        readiness: f.readiness.clone(),
        staff_count: f.staff_count.clone(),
        note: f.note.clone(),
    };
    let next = state
        .app
        .create_isolation_site(&page.user.actor, &form)
        .await
        .map(|id| format!("/isolation/sites/{id}?saved=site"));
    form_page(&page, next, |flash| {
        sites_page_with(&state, &page, f, flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct TempInput {
    pub(super) measure_id: String,
    pub(super) temperature: String,
    pub(super) building: String,
    pub(super) floor_from: String,
    pub(super) floor_to: String,
    pub(super) room_from: String,
    pub(super) room_to: String,
}

/// One floor of one building in the rooms grid.
pub(super) struct FloorRow {
    label: String,
    rooms: Vec<fangkong_app::isolation::RoomView>,
}

#[derive(Template)]
#[template(path = "isolation/site.html")]
pub(super) struct SitePage {
    layout: Layout,
    d: SiteDetail,
    floors: Vec<FloorRow>,
    can_manage: bool,
    f: TempInput,
}

pub(super) async fn site_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    mut f: TempInput,
    flash: Option<Flash>,
) -> PageResult {
    let d = state
        .app
        .isolation_site_detail(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let mut floors: Vec<FloorRow> = Vec::new();
    for room in &d.rooms {
        let label = format!("{} 栋 {} 层", room.building, room.floor);
        match floors.last_mut() {
            Some(row) if row.label == label => row.rooms.push(room.clone()),
            _ => floors.push(FloorRow {
                label,
                rooms: vec![room.clone()],
            }),
        }
    }
    if f.building.is_empty() {
        f.building = "A".into();
        f.floor_from = "1".into();
        f.floor_to = "6".into();
        f.room_from = "1".into();
        f.room_to = "20".into();
    }
    let mut layout = page.layout("isolation");
    layout.flash = flash;
    Ok(render(&SitePage {
        layout,
        d,
        floors,
        can_manage: page.can(Permission::ManageIsolationSites),
        f,
    }))
}

pub(super) async fn site_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    site_page_with(
        &state,
        &page,
        id,
        TempInput::default(),
        saved_flash(&q.saved),
    )
    .await
}

pub(super) async fn rooms_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<TempInput>,
) -> PageResult {
    let form = RoomBlockForm {
        building: f.building.clone(),
        floor_from: f.floor_from.clone(),
        floor_to: f.floor_to.clone(),
        room_from: f.room_from.clone(),
        room_to: f.room_to.clone(),
    };
    let next = state
        .app
        .add_rooms(&page.user.actor, id, &form)
        .await
        .map(|_| format!("/isolation/sites/{id}?saved=rooms"));
    form_page(&page, next, |flash| {
        site_page_with(&state, &page, id, f, flash)
    })
    .await
}

pub(super) async fn room_status_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<BackInput>,
) -> PageResult {
    let next = state
        .app
        .set_room_status(&page.user.actor, id, &f.to)
        .await
        .map(|_| format!("{}?saved=room", back_href(&f.back)));
    form_page(&page, next, |flash| {
        back_page(&state, &page, &f.back, flash)
    })
    .await
}

pub(super) async fn check_in_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<BackInput>,
) -> PageResult {
    let next = state
        .app
        .site_check_in(
            &page.user.actor,
            id,
            &CheckInForm {
                occurred_at: f.occurred_at.clone(),
            },
        )
        .await
        .map(|_| format!("{}?saved=checked_in", back_href(&f.back)));
    form_page(&page, next, |flash| {
        back_page(&state, &page, &f.back, flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct TemperatureInput {
    back: String,
    temperature: String,
}

pub(super) async fn temperature_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<TemperatureInput>,
) -> PageResult {
    let next = state
        .app
        .record_site_temperature(&page.user.actor, id, &f.temperature)
        .await
        .map(|fever| {
            let saved = if fever { "fever" } else { "temperature" };
            format!("{}?saved={saved}", back_href(&f.back))
        });
    // From a site's page the temperature comes back into its row; elsewhere the page is shown again.
    let site = f
        .back
        .strip_prefix("site:")
        .and_then(|i| i.parse::<i64>().ok());
    match site {
        Some(site) => {
            let typed = TempInput {
                measure_id: id.to_string(),
                temperature: f.temperature.clone(),
                ..Default::default()
            };
            form_page(&page, next, |flash| {
                site_page_with(&state, &page, site, typed, flash)
            })
            .await
        }
        None => {
            form_page(&page, next, |flash| {
                back_page(&state, &page, &f.back, flash)
            })
            .await
        }
    }
}

pub(super) async fn release_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<BackInput>,
) -> PageResult {
    let next = state
        .app
        .release_measure(&page.user.actor, id)
        .await
        .map(|status| {
            format!(
                "{}?saved={}",
                back_href(&f.back),
                if status.code() == "at_home" {
                    "at_home"
                } else {
                    "released"
                }
            )
        });
    form_page(&page, next, |flash| {
        back_page(&state, &page, &f.back, flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AllocateInput {
    measure_id: String,
    site_id: String,
    room_number: String,
}

#[derive(Template)]
#[template(path = "isolation/allocate.html")]
pub(super) struct AllocatePage {
    layout: Layout,
    p: AllocationPreview,
    sites: Vec<IsolationSiteSummary>,
    f: AllocateInput,
}

async fn allocate_page_with(
    state: &AppState,
    page: &PageUser,
    f: AllocateInput,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let p = state
        .app
        .allocation_preview(actor, 10_000)
        .await
        .map_err(|e| page.error(e))?;
    let sites = state
        .app
        .isolation_sites(actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("transfers");
    layout.flash = flash;
    Ok(render(&AllocatePage {
        layout,
        p,
        sites,
        f,
    }))
}

pub(super) async fn allocate_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    allocate_page_with(
        &state,
        &page,
        AllocateInput::default(),
        saved_flash(&q.saved),
    )
    .await
}

pub(super) async fn allocate_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<AllocateInput>,
) -> PageResult {
    let next = state
        .app
        .confirm_allocation(&page.user.actor, 10_000)
        .await
        .map(|_| "/isolation/allocate?saved=allocated".to_string());
    form_page(&page, next, |flash| {
        allocate_page_with(&state, &page, f, flash)
    })
    .await
}

pub(super) async fn assign_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<AllocateInput>,
) -> PageResult {
    let (Ok(measure), Ok(site)) = (
        f.measure_id.trim().parse::<i64>(),
        f.site_id.trim().parse::<i64>(),
    ) else {
        let e = AppError::Invalid("请选择待安置人员和隔离点".into());
        return form_page(&page, Err(e), |flash| {
            allocate_page_with(&state, &page, f, flash)
        })
        .await;
    };
    let next = state
        .app
        .assign_room(&page.user.actor, measure, site, &f.room_number)
        .await
        .map(|_| "/isolation/allocate?saved=assigned".to_string());
    form_page(&page, next, |flash| {
        allocate_page_with(&state, &page, f, flash)
    })
    .await
}
