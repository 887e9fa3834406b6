//! Measures (管控措施): people under measures and today's tests, opening a measure, one measure
//! with its carer, test results and the audited reveal (page and API).

use super::*;

#[derive(Deserialize)]
pub(super) struct ApiRevealBody {
    #[serde(default)]
    reason: String,
}

/// The full ID number, phone and address of a person under a measure; a reason is required and
/// audited, as for residents.
pub(super) async fn api_reveal(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(body): Json<ApiRevealBody>,
) -> ApiResult<fangkong_app::isolation::RevealedPerson> {
    Ok(Json(
        state
            .app
            .reveal_measure_person(&user.actor, id, &body.reason)
            .await?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct MeasureInput {
    pub(super) id_number: String,
    pub(super) category: String,
    pub(super) day1: String,
    pub(super) note: String,
}

#[derive(Template)]
#[template(path = "isolation/measures.html")]
pub(super) struct MeasuresPage {
    layout: Layout,
    measures: fangkong_app::Page<MeasureView>,
    due: Vec<fangkong_app::isolation::DueTestView>,
    status: String,
    statuses: Vec<(&'static str, &'static str)>,
    categories: Vec<(&'static str, &'static str)>,
    can_manage: bool,
    f: MeasureInput,
}

pub(super) async fn measures_page_with(
    state: &AppState,
    page: &PageUser,
    status: &str,
    f: MeasureInput,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let measures = state
        .app
        .isolation_measures_page(actor, status)
        .await
        .map_err(|e| page.error(e))?;
    let due = state
        .app
        .measure_tests_due(actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("isolation");
    layout.flash = flash;
    Ok(render(&MeasuresPage {
        layout,
        measures,
        due,
        status: status.to_string(),
        statuses: options(
            &fangkong_domain::isolation::MeasureStatus::ALL,
            fangkong_domain::isolation::MeasureStatus::code,
            fangkong_domain::isolation::MeasureStatus::label_zh,
        ),
        categories: PersonCategory::ALL
            .iter()
            .filter(|c| **c != PersonCategory::Case)
            .map(|c| (c.code(), c.label_zh()))
            .collect(),
        can_manage: page.can(Permission::ManageIsolationSites),
        f,
    }))
}

pub(super) async fn measures_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let f = MeasureInput {
        category: "close_contact".into(),
        ..Default::default()
    };
    measures_page_with(&state, &page, &q.status, f, saved_flash(&q.saved)).await
}

pub(super) async fn open_measure_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<MeasureInput>,
) -> PageResult {
    let form = MeasureForm {
        id_number: f.id_number.clone(),
        category: f.category.clone(),
        day1: f.day1.clone(),
        note: f.note.clone(),
    };
    let next = state
        .app
        .open_measure_by_hand(&page.user.actor, &form)
        .await
        .map(|id| format!("/isolation/measures/{id}?saved=measure"));
    form_page(&page, next, |flash| {
        measures_page_with(&state, &page, "", f, flash)
    })
    .await
}

#[derive(Template)]
#[template(path = "isolation/measure.html")]
pub(super) struct MeasurePage {
    layout: Layout,
    d: MeasureDetail,
    can_manage: bool,
    can_reveal: bool,
    /// The full ID number, phone and address, after an audited reveal.
    revealed: Option<fangkong_app::isolation::RevealedPerson>,
    carer: CarerInput,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct CarerInput {
    pub(super) name: String,
    pub(super) age: String,
    pub(super) underlying_disease: String,
    pub(super) pregnant: String,
    pub(super) seriously_ill: String,
    pub(super) dependent: String,
}

pub(super) async fn measure_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    carer: CarerInput,
    flash: Option<Flash>,
) -> PageResult {
    let d = state
        .app
        .measure_detail(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("isolation");
    layout.flash = flash;
    Ok(render(&MeasurePage {
        layout,
        d,
        can_manage: page.can(Permission::ManageIsolationSites),
        can_reveal: page.can(Permission::RevealPersonalData),
        revealed: None,
        carer,
    }))
}

pub(super) async fn measure_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    measure_page_with(
        &state,
        &page,
        id,
        CarerInput::default(),
        saved_flash(&q.saved),
    )
    .await
}

pub(super) async fn carer_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<CarerInput>,
) -> PageResult {
    let form = fangkong_app::isolation::CarerForm {
        name: f.name.clone(),
        age: f.age.clone(),
        underlying_disease: !f.underlying_disease.is_empty(),
        pregnant: !f.pregnant.is_empty(),
        seriously_ill: !f.seriously_ill.is_empty(),
        dependent: !f.dependent.is_empty(),
    };
    let next = state
        .app
        .assign_carer(&page.user.actor, id, &form)
        .await
        .map(|_| format!("/isolation/measures/{id}?saved=carer"));
    form_page(&page, next, |flash| {
        measure_page_with(&state, &page, id, f, flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RevealInput {
    reason: String,
}

/// Shows the person's full ID number, phone and address (with a reason, written to the audit log
/// first).
pub(super) async fn reveal_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<RevealInput>,
) -> PageResult {
    let actor = &page.user.actor;
    let revealed = match state.app.reveal_measure_person(actor, id, &f.reason).await {
        Ok(revealed) => revealed,
        Err(e) => {
            return form_page(&page, Err(e), |flash| {
                measure_page_with(&state, &page, id, CarerInput::default(), flash)
            })
            .await;
        }
    };
    let d = state
        .app
        .measure_detail(actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&MeasurePage {
        layout: page.layout("isolation"),
        d,
        can_manage: page.can(Permission::ManageIsolationSites),
        can_reveal: true,
        revealed: Some(revealed),
        carer: CarerInput::default(),
    }))
}

pub(super) async fn test_result_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<BackInput>,
) -> PageResult {
    let next = state
        .app
        .record_test_result(&page.user.actor, id, &f.result)
        .await
        .map(|effect| {
            let saved = match effect {
                fangkong_app::isolation::ResultEffect::Positive => "positive",
                fangkong_app::isolation::ResultEffect::Released => "released",
                fangkong_app::isolation::ResultEffect::Recorded => "result",
            };
            format!("{}?saved={saved}", back_href(&f.back))
        });
    form_page(&page, next, |flash| {
        back_page(&state, &page, &f.back, flash)
    })
    .await
}
