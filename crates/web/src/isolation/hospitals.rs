//! Designated hospitals and fangcang (定点医院、方舱医院): beds, admissions, discharges.

use super::*;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct HospitalInput {
    name: String,
    kind: String,
    region_code: String,
    beds: String,
}

#[derive(Template)]
#[template(path = "isolation/hospitals.html")]
pub(super) struct HospitalsPage {
    layout: Layout,
    b: HospitalsBoard,
    can_manage: bool,
    f: HospitalInput,
    kinds: Vec<(&'static str, &'static str)>,
}

async fn hospitals_page_with(
    state: &AppState,
    page: &PageUser,
    f: HospitalInput,
    flash: Option<Flash>,
) -> PageResult {
    let b = state
        .app
        .hospitals_board(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("isolation");
    layout.flash = flash;
    Ok(render(&HospitalsPage {
        layout,
        b,
        can_manage: page.can(Permission::ManageIsolationSites),
        f,
        kinds: options(
            &HospitalKind::ALL,
            HospitalKind::code,
            HospitalKind::label_zh,
        ),
    }))
}

pub(super) async fn hospitals_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let f = HospitalInput {
        region_code: page.user.actor.jurisdiction.as_str().to_string(),
        kind: "designated".into(),
        ..Default::default()
    };
    hospitals_page_with(&state, &page, f, saved_flash(&q.saved)).await
}

pub(super) async fn hospital_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<HospitalInput>,
) -> PageResult {
    let form = HospitalForm {
        name: f.name.clone(),
        kind: f.kind.clone(),
        region_code: f.region_code.clone(),
        beds: f.beds.clone(),
    };
    let next = state
        .app
        .add_treatment_hospital(&page.user.actor, &form)
        .await
        .map(|_| "/isolation/hospitals?saved=hospital".to_string());
    form_page(&page, next, |flash| {
        hospitals_page_with(&state, &page, f, flash)
    })
    .await
}

/// A discharge as typed: when it happened (补录); empty = now.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct DischargeInput {
    occurred_at: String,
}

pub(super) async fn discharge_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<DischargeInput>,
) -> PageResult {
    let next = state
        .app
        .discharge_admission(
            &page.user.actor,
            id,
            &DischargeForm {
                occurred_at: f.occurred_at,
            },
        )
        .await
        .map(|_| "/isolation/hospitals?saved=discharged".to_string());
    form_page(&page, next, |flash| {
        hospitals_page_with(&state, &page, HospitalInput::default(), flash)
    })
    .await
}
