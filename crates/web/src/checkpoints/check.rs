//! Checking at a checkpoint (查验): the checking page and its form, the offline page, the verify
//! and trust-list API, the scripts they load.

use super::*;

/// One check is a few hundred bytes of JSON (an EU certificate QR is the longest, ~2 KB).
pub(super) const VERIFY_BODY_LIMIT: usize = 32 * 1024;

/// `/assets/checkpoint.js`: the checking page's script, served by the binary like the stylesheet.
pub async fn checkpoint_script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/javascript; charset=utf-8".to_string(),
            ),
            (header::CACHE_CONTROL, "max-age=3600".to_string()),
        ],
        include_str!("../../assets/checkpoint.js"),
    )
        .into_response()
}

/// `/assets/offline_verify.js`: the offline checking page's script (Base45, inflate with the `FK1:`
/// dictionary, CBOR and Ed25519 through WebCrypto, all in the browser).
pub async fn offline_verify_script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/javascript; charset=utf-8".to_string(),
            ),
            (header::CACHE_CONTROL, "max-age=3600".to_string()),
        ],
        include_str!("../../assets/offline_verify.js"),
    )
        .into_response()
}

/// The check form as typed (the scanner field is emptied after each check; the vehicle's plate and
/// where it comes from stay for the next person in the car).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct CheckInput {
    pub passage_key: String,
    pub code: String,
    pub id_number: String,
    pub temperature: String,
    pub plate: String,
    pub from_region: String,
}

#[derive(Template)]
#[template(path = "health_code/checkpoint.html")]
pub(super) struct CheckpointPage {
    layout: Layout,
    c: CheckpointView,
    can_verify: bool,
    f: CheckInput,
    /// The server-made key of the next check (the form without JS sends it).
    passage_key: String,
    outcome: Option<CheckOutcome>,
    outcome_class: &'static str,
    passages: Vec<PassageView>,
    counts: Vec<(String, &'static str, i64)>,
    total_today: i64,
}

async fn checkpoint_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    f: CheckInput,
    outcome: Option<CheckOutcome>,
    flash: Option<Flash>,
) -> PageResult {
    let c = state
        .app
        .checkpoint(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let can_verify = page.can(Permission::VerifyAtCheckpoint);
    let (passages, counts) = if can_verify {
        state
            .app
            .checkpoint_passages(&page.user.actor, id, 50)
            .await
            .map_err(|e| page.error(e))?
    } else {
        (Vec::new(), Vec::new())
    };
    let mut layout = page.layout("checkpoints");
    layout.flash = flash;
    Ok(render(&CheckpointPage {
        layout,
        c,
        can_verify,
        f,
        passage_key: fresh_key(),
        outcome_class: outcome
            .as_ref()
            .map(|o| decision_class(&o.decision))
            .unwrap_or("idle"),
        outcome,
        total_today: counts.iter().map(|(_, _, n)| n).sum(),
        passages,
        counts,
    }))
}

pub(super) async fn checkpoint_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    checkpoint_page_with(&state, &page, id, CheckInput::default(), None, None).await
}

pub(super) async fn checkpoint_check_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<CheckInput>,
) -> PageResult {
    let scan = CheckpointScan {
        passage_key: f.passage_key.clone(),
        code: f.code.clone(),
        id_number: f.id_number.clone(),
        temperature: f.temperature.clone(),
        plate: f.plate.clone(),
        from_region: f.from_region.clone(),
    };
    match state
        .app
        .verify_at_checkpoint(&page.user.actor, id, &scan)
        .await
    {
        Ok(outcome) => {
            let next = CheckInput {
                plate: f.plate,
                from_region: f.from_region,
                ..CheckInput::default()
            };
            checkpoint_page_with(&state, &page, id, next, Some(outcome), None).await
        }
        Err(e) => {
            form_page(&page, Err(e), |flash| {
                checkpoint_page_with(&state, &page, id, f, None, flash)
            })
            .await
        }
    }
}

/// The offline checking page (离线查验): the browser checks `FK1:` codes by itself with the trust
/// list (fetched once from `/api/trust-list` and kept in localStorage) and the `FK1:` DEFLATE
/// dictionary (written into the page), so a post whose network drops keeps checking. Nothing is
/// logged: a check here is not a passage.
#[derive(Template)]
#[template(path = "health_code/checkpoint_offline.html")]
pub(super) struct OfflineCheckpointPage {
    layout: Layout,
    /// [`fangkong_app::health_code::FK1_DICTIONARY`] as hex.
    dictionary_hex: String,
    /// The server's clock at page load (Unix seconds): the page judges expiry by it.
    now_unix: i64,
}

pub(super) async fn offline_checkpoint_page(
    State(state): State<AppState>,
    page: PageUser,
) -> PageResult {
    if !page.can(Permission::VerifyAtCheckpoint) {
        return Err(page.error(AppError::Forbidden {
            role: page.user.actor.role,
        }));
    }
    let dictionary_hex = fangkong_app::health_code::FK1_DICTIONARY
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(render(&OfflineCheckpointPage {
        layout: page.layout("checkpoints"),
        dictionary_hex,
        now_unix: state.app.now_unix(),
    }))
}

pub(super) async fn api_verify(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(scan): Json<CheckpointScan>,
) -> ApiResult<CheckOutcome> {
    Ok(Json(
        state
            .app
            .verify_at_checkpoint(&user.actor, id, &scan)
            .await?,
    ))
}

pub(super) async fn api_trust_list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let json = state.app.trust_list_json().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        json,
    )
        .into_response())
}
