//! Moves: between grids of the jurisdiction (迁移网格) and move-in requests (迁入申请).

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct MoveForm {
    #[serde(default)]
    grid_code: String,
    #[serde(default)]
    household_number: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    relation: String,
    #[serde(default)]
    reason: String,
}

impl MoveForm {
    fn destination(&self) -> Destination {
        Destination {
            grid_code: self.grid_code.clone(),
            household_number: self.household_number.clone(),
            address: self.address.clone(),
            relation: self.relation.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "resident_move.html")]
pub(super) struct ResidentMovePage {
    layout: Layout,
    r: ResidentView,
    f: MoveForm,
}

pub(super) async fn resident_move_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    if !page.can(Permission::ImportPopulation) {
        return Err(page.error(AppError::Forbidden {
            role: page.user.actor.role,
        }));
    }
    let r = state
        .app
        .resident(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let f = MoveForm {
        relation: r.relation.clone(),
        ..MoveForm::default()
    };
    Ok(render(&ResidentMovePage {
        layout: page.layout("residents"),
        r,
        f,
    }))
}

pub(super) async fn resident_move_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<MoveForm>,
) -> PageResult {
    let request = GridMoveForm {
        to: form.destination(),
        reason: form.reason.clone(),
    };
    let next = state
        .app
        .move_resident_grid(&page.user.actor, id, &request)
        .await
        .map(|_| format!("/residents/{id}"));
    form_page_when(is_typed_mistake, &page, next, |flash| async {
        let r = state
            .app
            .resident(&page.user.actor, id)
            .await
            .map_err(|e| page.error(e))?;
        let mut layout = page.layout("residents");
        layout.flash = flash;
        Ok(render(&ResidentMovePage { layout, r, f: form }))
    })
    .await
}

#[derive(Template)]
#[template(path = "move_ins/index.html")]
pub(super) struct MoveInsPage {
    layout: Layout,
    lists: MoveInLists,
}

pub(super) async fn move_ins_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    let lists = state
        .app
        .move_ins(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&MoveInsPage {
        layout: page.layout("move_ins"),
        lists,
    }))
}

#[derive(Deserialize, Default)]
pub(super) struct MoveInPageForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_type: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    grid_code: String,
    #[serde(default)]
    household_number: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    relation: String,
    #[serde(default)]
    reason: String,
}

#[derive(Template)]
#[template(path = "move_ins/new.html")]
pub(super) struct MoveInNewPage {
    layout: Layout,
    f: MoveInPageForm,
    id_types: Vec<(&'static str, &'static str)>,
}

fn move_in_new_with(page: &PageUser, f: MoveInPageForm, flash: Option<Flash>) -> Response {
    let mut layout = page.layout("move_ins");
    layout.flash = flash;
    render(&MoveInNewPage {
        layout,
        f,
        id_types: options(
            &fangkong_domain::ids::IdType::ALL,
            |t| t.code(),
            |t| t.label_zh(),
        ),
    })
}

pub(super) async fn move_in_new_page(page: PageUser) -> PageResult {
    if !page.can(Permission::ImportPopulation) {
        return Err(page.error(AppError::Forbidden {
            role: page.user.actor.role,
        }));
    }
    let f = MoveInPageForm {
        id_type: "mainland_id".into(),
        ..MoveInPageForm::default()
    };
    Ok(move_in_new_with(&page, f, None))
}

pub(super) async fn move_in_new_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<MoveInPageForm>,
) -> PageResult {
    let request = MoveInForm {
        id_type: form.id_type.clone(),
        id_number: form.id_number.clone(),
        name: form.name.clone(),
        to: Destination {
            grid_code: form.grid_code.clone(),
            household_number: form.household_number.clone(),
            address: form.address.clone(),
            relation: form.relation.clone(),
        },
        reason: form.reason.clone(),
    };
    let next = state
        .app
        .file_move_in(&page.user.actor, &request)
        .await
        .map(|id| format!("/residents/move-ins/{id}"));
    form_page_when(is_typed_mistake, &page, next, |flash| async {
        Ok(move_in_new_with(&page, form, flash))
    })
    .await
}

#[derive(Template)]
#[template(path = "move_ins/detail.html")]
pub(super) struct MoveInPage {
    layout: Layout,
    requested_at: String,
    decided_at: String,
    m: MoveInView,
}

fn move_in_page_with(page: &PageUser, m: MoveInView, flash: Option<Flash>) -> Response {
    let mut layout = page.layout("move_ins");
    layout.flash = flash;
    render(&MoveInPage {
        layout,
        requested_at: beijing_time(m.requested_at),
        decided_at: m.decided_at.map(beijing_time).unwrap_or_default(),
        m,
    })
}

pub(super) async fn move_in_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    let m = state
        .app
        .move_in(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(move_in_page_with(&page, m, None))
}

#[derive(Deserialize)]
pub(super) struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn move_in_decide(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<DecideForm>,
) -> PageResult {
    let approve = match form.decision.as_str() {
        "approve" => true,
        "refuse" => false,
        _ => {
            return Err(page.error(AppError::Invalid("请选择“同意迁出”或“不同意”".into())));
        }
    };
    match state
        .app
        .decide_move_in(&page.user.actor, id, approve, &form.reason)
        .await
    {
        Ok(m) => {
            let text = if approve {
                "已同意：此人已迁往申请的网格，已记入审计日志"
            } else {
                "已不同意，申请方会看到您的意见"
            };
            Ok(move_in_page_with(
                &page,
                m,
                Some(Flash {
                    kind: "ok",
                    text: text.into(),
                }),
            ))
        }
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let m = state
                .app
                .move_in(&page.user.actor, id)
                .await
                .map_err(|e| page.error(e))?;
            let status = status_of(&e);
            let flash = Flash {
                kind: "error",
                text: e.to_string(),
            };
            Ok((status, move_in_page_with(&page, m, Some(flash))).into_response())
        }
        Err(e) => Err(page.error(e)),
    }
}
