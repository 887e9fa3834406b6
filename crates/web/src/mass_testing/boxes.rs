//! Specimen boxes (转运箱): packing at the site, courier pick-up and lab receipt, pages and API.

use super::*;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct BoxInput {
    pub(super) box_code: String,
    pub(super) tubes: String,
}

fn tube_lines(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == '，')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

pub(super) async fn pack_box_submit(
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
pub(super) struct BoxesPage {
    layout: crate::pages::Layout,
    mode: String,
    can_receive: bool,
    code: String,
    handled: Option<BoxView>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct BoxesQuery {
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

pub(super) async fn boxes_page(page: PageUser, Query(q): Query<BoxesQuery>) -> PageResult {
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
pub(super) struct BoxScanInput {
    code: String,
    mode: String,
}

pub(super) async fn boxes_submit(
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

#[derive(Deserialize)]
pub(super) struct PackRequest {
    #[serde(rename = "box")]
    box_code: String,
    tubes: Vec<String>,
}

#[derive(Serialize)]
pub(super) struct PackResponse {
    packed: usize,
    problems: Vec<String>,
}

pub(super) async fn api_pack_box(
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
pub(super) struct BoxResponse {
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

pub(super) async fn api_box_pickup(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(code): Path<String>,
) -> ApiResult<BoxResponse> {
    hand_over(&state, &user, &code, false).await
}

pub(super) async fn api_box_receive(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(code): Path<String>,
) -> ApiResult<BoxResponse> {
    hand_over(&state, &user, &code, true).await
}
