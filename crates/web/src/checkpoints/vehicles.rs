//! The vehicle check (车辆查验, "两码一证"): the phone page where checkpoint staff scan a supply
//! pass's QR or type its number with the plate and the temperature, and its API.

use fangkong_app::checkpoints::{VehicleOutcome, VehiclePassageView, VehicleScan};

use super::*;

/// The vehicle check form as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(super) struct VehicleInput {
    passage_key: String,
    pass: String,
    plate: String,
    temperature: String,
}

#[derive(Template)]
#[template(path = "checkpoints/vehicles.html")]
pub(super) struct VehiclesPage {
    layout: Layout,
    c: CheckpointView,
    f: VehicleInput,
    passage_key: String,
    outcome: Option<VehicleOutcome>,
    outcome_class: &'static str,
    passages: Vec<VehiclePassageView>,
}

async fn vehicles_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    f: VehicleInput,
    outcome: Option<VehicleOutcome>,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let c = state
        .app
        .checkpoint(actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let passages = state
        .app
        .vehicle_passages(actor, id, 30)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("checkpoints");
    layout.flash = flash;
    Ok(render(&VehiclesPage {
        layout,
        c,
        f,
        passage_key: fresh_key(),
        outcome_class: outcome
            .as_ref()
            .map(|o| decision_class(&o.decision))
            .unwrap_or("idle"),
        outcome,
        passages,
    }))
}

pub(super) async fn vehicles_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    vehicles_page_with(&state, &page, id, VehicleInput::default(), None, None).await
}

pub(super) async fn vehicles_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<VehicleInput>,
) -> PageResult {
    let scan = VehicleScan {
        passage_key: f.passage_key.clone(),
        pass: f.pass.clone(),
        plate: f.plate.clone(),
        temperature: f.temperature.clone(),
    };
    match state
        .app
        .check_vehicle_at_checkpoint(&page.user.actor, id, &scan)
        .await
    {
        Ok(outcome) => {
            vehicles_page_with(
                &state,
                &page,
                id,
                VehicleInput::default(),
                Some(outcome),
                None,
            )
            .await
        }
        Err(e) => {
            form_page(&page, Err(e), |flash| {
                vehicles_page_with(&state, &page, id, f, None, flash)
            })
            .await
        }
    }
}

pub(super) async fn api_vehicle_check(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(scan): Json<VehicleScan>,
) -> ApiResult<VehicleOutcome> {
    Ok(Json(
        state
            .app
            .check_vehicle_at_checkpoint(&user.actor, id, &scan)
            .await?,
    ))
}
