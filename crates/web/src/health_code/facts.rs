//! One person's code for staff: the facts behind the colour, adding and ending a fact, the
//! community check.

use super::*;
use crate::pages::filters;

/// The add-a-fact form as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct FactInput {
    pub id_type: String,
    pub id_number: String,
    pub kind: String,
    pub anchor: String,
    pub colour: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "health_code/person.html")]
pub(super) struct PersonPage {
    layout: Layout,
    p: PersonCode,
    /// The lookup as typed (the forms below carry it on).
    id_type: String,
    id_number: String,
    facts: Vec<(String, String)>,
    changes: Vec<(String, &'static str, &'static str, &'static str)>,
    appeals: Vec<(String, &'static str)>,
    can_decide: bool,
    can_check: bool,
    f: FactInput,
    fact_kinds: Vec<(&'static str, &'static str)>,
    colours: Vec<(&'static str, &'static str)>,
    colour_class: &'static str,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PersonQuery {
    id_type: String,
    id_number: String,
    saved: String,
}

fn person_href(id_type: &str, id_number: &str) -> String {
    format!(
        "/codes/person?id_type={}&id_number={}",
        encode(id_type),
        encode(id_number.trim())
    )
}

async fn person_page_with(
    state: &AppState,
    page: &PageUser,
    id_type: String,
    id_number: String,
    f: Option<FactInput>,
    flash: Option<Flash>,
) -> PageResult {
    if id_number.trim().is_empty() {
        return Err(page.error(AppError::Invalid("请输入要查询的证件号码".into())));
    }
    let p = state
        .app
        .person_code(&page.user.actor, &id_type, &id_number)
        .await
        .map_err(|e| page.error(e))?;
    let facts = p
        .facts
        .iter()
        .map(|fact| (beijing_time(fact.anchor), time_or_dash(fact.ended_at)))
        .collect();
    let changes = p
        .changes
        .iter()
        .map(|c| {
            (
                beijing_time(c.at),
                c.from_colour.label_zh(),
                c.to_colour.label_zh(),
                colour_class(c.to_colour.code()),
            )
        })
        .collect();
    let appeals = p
        .appeals
        .iter()
        .map(|a| (beijing_time(a.filed_at), appeal_status_label(&a.status)))
        .collect();
    let f = f.unwrap_or_else(|| FactInput {
        id_type: id_type.clone(),
        id_number: id_number.clone(),
        kind: FactKind::CloseContact.code().into(),
        ..FactInput::default()
    });
    let mut layout = page.layout("codes");
    layout.flash = flash;
    Ok(render(&PersonPage {
        layout,
        colour_class: colour_class(&p.code.colour),
        facts,
        changes,
        appeals,
        can_decide: page.can(Permission::DecideHealthCodes),
        can_check: page.can(Permission::DecideHealthCodes) || page.can(Permission::RecordDoorVisit),
        f,
        fact_kinds: options(&FactKind::ALL, FactKind::code, FactKind::label_zh),
        colours: CodeColour::ALL
            .iter()
            .map(|c| (c.code(), c.label_zh()))
            .collect(),
        p,
        id_type,
        id_number,
    }))
}

pub(super) async fn person_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<PersonQuery>,
) -> PageResult {
    let flash = match q.saved.as_str() {
        "fact" => ok_flash("已赋码，健康码已重新计算"),
        "ended" => ok_flash("已结束该赋码记录，健康码已重新计算"),
        "checked" => ok_flash("已记录社区报备核查"),
        _ => None,
    };
    person_page_with(&state, &page, q.id_type, q.id_number, None, flash).await
}

pub(super) async fn add_fact_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<FactInput>,
) -> PageResult {
    let form = FactForm {
        id_type: f.id_type.clone(),
        id_number: f.id_number.clone(),
        kind: f.kind.clone(),
        anchor: f.anchor.clone(),
        colour: f.colour.clone(),
        note: f.note.clone(),
    };
    let next = state
        .app
        .add_code_fact(&page.user.actor, &form)
        .await
        .map(|_| format!("{}&saved=fact", person_href(&f.id_type, &f.id_number)));
    let (id_type, id_number) = (f.id_type.clone(), f.id_number.clone());
    form_page(&page, next, |flash| {
        person_page_with(&state, &page, id_type, id_number, Some(f), flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PersonAction {
    id_type: String,
    id_number: String,
    reason: String,
}

pub(super) async fn end_fact_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<PersonAction>,
) -> PageResult {
    let next = state
        .app
        .end_code_fact(&page.user.actor, id, &f.reason)
        .await
        .map(|_| format!("{}&saved=ended", person_href(&f.id_type, &f.id_number)));
    form_page(&page, next, |flash| {
        person_page_with(&state, &page, f.id_type, f.id_number, None, flash)
    })
    .await
}

pub(super) async fn community_check_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<PersonAction>,
) -> PageResult {
    let next = state
        .app
        .record_community_check(&page.user.actor, &f.id_type, &f.id_number)
        .await
        .map(|_| format!("{}&saved=checked", person_href(&f.id_type, &f.id_number)));
    form_page(&page, next, |flash| {
        person_page_with(&state, &page, f.id_type, f.id_number, None, flash)
    })
    .await
}
