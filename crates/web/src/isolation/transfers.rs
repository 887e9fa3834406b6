//! Transfers (转运): vehicles, dispatch, disinfection and the steps of a trip; the status API.

use super::*;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct VehicleInput {
    plate: String,
    kind: String,
    capacity: String,
    region_code: String,
}

#[derive(Template)]
#[template(path = "isolation/transfers.html")]
pub(super) struct TransfersPage {
    layout: Layout,
    b: TransfersBoard,
    can_dispatch: bool,
    v: VehicleInput,
    kinds: Vec<(&'static str, &'static str)>,
    picked: Vec<i64>,
}

impl TransfersPage {
    fn site_name(&self, id: &Option<i64>) -> String {
        id.and_then(|id| self.b.site_names.get(&id).cloned())
            .unwrap_or_default()
    }

    fn is_picked(&self, id: &i64) -> bool {
        self.picked.contains(id)
    }
}

async fn transfers_page_with(
    state: &AppState,
    page: &PageUser,
    v: VehicleInput,
    picked: Vec<i64>,
    flash: Option<Flash>,
) -> PageResult {
    let b = state
        .app
        .transfers_board(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("transfers");
    layout.flash = flash;
    Ok(render(&TransfersPage {
        layout,
        b,
        can_dispatch: page.can(Permission::DispatchTransfers),
        v,
        kinds: options(&VehicleKind::ALL, VehicleKind::code, VehicleKind::label_zh),
        picked,
    }))
}

pub(super) async fn transfers_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let v = VehicleInput {
        kind: "coach".into(),
        capacity: "30".into(),
        region_code: page.user.actor.jurisdiction.as_str().to_string(),
        ..Default::default()
    };
    transfers_page_with(&state, &page, v, Vec::new(), saved_flash(&q.saved)).await
}

pub(super) async fn vehicle_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(v): CsrfForm<VehicleInput>,
) -> PageResult {
    let form = VehicleForm {
        plate: v.plate.clone(),
        kind: v.kind.clone(),
        capacity: v.capacity.clone(),
        region_code: v.region_code.clone(),
    };
    let next = state
        .app
        .add_vehicle(&page.user.actor, &form)
        .await
        .map(|_| "/transfers?saved=vehicle".to_string());
    form_page(&page, next, |flash| {
        transfers_page_with(&state, &page, v, Vec::new(), flash)
    })
    .await
}

/// The transfer form: `vehicle_id`, `hospital_id`, and one `measure_id` per person ticked.
pub(super) async fn transfer_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let picked: Vec<i64> = fields
        .iter()
        .filter(|(k, _)| k == "measure_id")
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect();
    let form = TransferForm {
        vehicle_id: field("vehicle_id").trim().parse().unwrap_or(0),
        measure_ids: picked.clone(),
        hospital_id: field("hospital_id").trim().parse().ok(),
    };
    let result = if form.vehicle_id == 0 {
        Err(AppError::Invalid("请选择转运车辆".into()))
    } else {
        state.app.create_transfer(&page.user.actor, &form).await
    };
    let next = result.map(|_| "/transfers?saved=transfer".to_string());
    form_page(&page, next, |flash| {
        transfers_page_with(&state, &page, VehicleInput::default(), picked, flash)
    })
    .await
}

pub(super) async fn disinfect_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> PageResult {
    let next = state
        .app
        .disinfect_vehicle(&page.user.actor, id)
        .await
        .map(|_| "/transfers?saved=disinfected".to_string());
    form_page(&page, next, |flash| {
        transfers_page_with(&state, &page, VehicleInput::default(), Vec::new(), flash)
    })
    .await
}

pub(super) async fn transfer_status_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<BackInput>,
) -> PageResult {
    let next = state
        .app
        .advance_transfer(
            &page.user.actor,
            id,
            &TransferStepForm {
                to: f.to.clone(),
                occurred_at: f.occurred_at.clone(),
            },
        )
        .await
        .map(|_| "/transfers?saved=status".to_string());
    form_page(&page, next, |flash| {
        transfers_page_with(&state, &page, VehicleInput::default(), Vec::new(), flash)
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct StatusBody {
    status: String,
    /// When the step happened (Beijing time `YYYY-MM-DD HH:MM`); absent or empty = now (补录).
    #[serde(default)]
    occurred_at: String,
}

#[derive(Serialize)]
pub(super) struct StatusAnswer {
    id: i64,
    status: String,
}

pub(super) async fn api_transfer_status(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(body): Json<StatusBody>,
) -> ApiResult<StatusAnswer> {
    state
        .app
        .advance_transfer(
            &user.actor,
            id,
            &TransferStepForm {
                to: body.status.clone(),
                occurred_at: body.occurred_at.clone(),
            },
        )
        .await?;
    Ok(Json(StatusAnswer {
        id,
        status: body.status,
    }))
}
