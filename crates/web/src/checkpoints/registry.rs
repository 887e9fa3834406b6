//! The checkpoint register (卡口登记): the list and creating a checkpoint.

use super::*;

/// The create-a-checkpoint form as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct CheckpointInput {
    pub name: String,
    pub kind: String,
    pub line: String,
    pub region_code: String,
}

#[derive(Template)]
#[template(path = "health_code/checkpoints.html")]
pub(super) struct CheckpointsPage {
    layout: Layout,
    checkpoints: Vec<CheckpointView>,
    can_manage: bool,
    f: CheckpointInput,
    kinds: Vec<(&'static str, &'static str)>,
    lines: Vec<(&'static str, &'static str)>,
}

async fn checkpoints_page_with(
    state: &AppState,
    page: &PageUser,
    f: CheckpointInput,
    flash: Option<Flash>,
) -> PageResult {
    let checkpoints = state
        .app
        .checkpoints(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("checkpoints");
    layout.flash = flash;
    Ok(render(&CheckpointsPage {
        layout,
        checkpoints,
        can_manage: page.can(Permission::ManageCheckpoints),
        f,
        kinds: options(
            &CheckpointKind::ALL,
            CheckpointKind::code,
            CheckpointKind::label_zh,
        ),
        lines: options(&DefenceLine::ALL, DefenceLine::code, DefenceLine::label_zh),
    }))
}

pub(super) async fn checkpoints_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    let f = CheckpointInput {
        kind: CheckpointKind::CommunityGate.code().into(),
        region_code: page.user.actor.jurisdiction.as_str().to_string(),
        ..CheckpointInput::default()
    };
    checkpoints_page_with(&state, &page, f, None).await
}

pub(super) async fn create_checkpoint_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<CheckpointInput>,
) -> PageResult {
    let form = CheckpointForm {
        name: f.name.clone(),
        kind: f.kind.clone(),
        line: f.line.clone(),
        region_code: f.region_code.clone(),
    };
    let next = state
        .app
        .create_checkpoint(&page.user.actor, &form)
        .await
        .map(|id| format!("/checkpoints/{id}"));
    form_page(&page, next, |flash| {
        checkpoints_page_with(&state, &page, f, flash)
    })
    .await
}
