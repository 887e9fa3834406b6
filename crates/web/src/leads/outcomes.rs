//! One lead (`/leads/{id}`): its history, the grid worker's outcome form, assignment and re-routing,
//! the audited reveal; the outcome API.

use super::*;

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub struct OutcomeInput {
    pub kind: String,
    pub measure: String,
    pub region_code: String,
    pub note: String,
}

impl OutcomeInput {
    fn to_form(&self) -> OutcomeForm {
        OutcomeForm {
            kind: self.kind.clone(),
            measure: self.measure.clone(),
            region_code: self.region_code.clone(),
            note: self.note.clone(),
        }
    }
}

pub struct StepRow {
    pub at: String,
    pub label: &'static str,
    pub actor: String,
    pub from_code: String,
    pub to_code: String,
    pub note: String,
}

fn step_label(step: &str) -> &'static str {
    match step {
        "received" => "接收线索",
        "assigned" => "分派网格",
        "forwarded" => "转派",
        "moved" => "迁移网格",
        "controlled" => "落地管控",
        "letter_out" => "发协查函",
        _ => "其他",
    }
}

fn step_rows(detail: &LeadDetail) -> Vec<StepRow> {
    detail
        .steps
        .iter()
        .map(|s| StepRow {
            at: beijing_time(s.at),
            label: step_label(&s.step),
            actor: detail.name_of(&s.actor).to_string(),
            from_code: s.from_code.clone(),
            to_code: s.to_code.clone(),
            note: s.note.clone(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "leads/detail.html")]
pub(super) struct LeadPage {
    layout: Layout,
    l: LeadRow,
    steps: Vec<StepRow>,
    f: OutcomeInput,
    can_land: bool,
    can_assign: bool,
    can_reveal: bool,
    outcomes: Vec<(&'static str, &'static str)>,
    measures: Vec<(&'static str, &'static str)>,
}

fn lead_render(
    page: &PageUser,
    d: LeadDetail,
    f: OutcomeInput,
    flash: Option<Flash>,
    revealed: bool,
) -> Response {
    let mut layout = page.layout("leads");
    layout.flash = flash;
    let open = d.lead.open;
    render(&LeadPage {
        layout,
        steps: step_rows(&d),
        l: LeadRow::from(d.lead),
        f,
        can_land: open && page.can(Permission::LandLeads),
        can_assign: open && page.can(Permission::SendLeads),
        can_reveal: !revealed && page.can(Permission::RevealPersonalData),
        outcomes: options(&OutcomeKind::ALL, OutcomeKind::code, OutcomeKind::label_zh),
        measures: options(
            &ControlMeasure::ALL,
            ControlMeasure::code,
            ControlMeasure::label_zh,
        ),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct SavedQuery {
    pub(super) saved: String,
}

fn saved_flash(saved: &str) -> Option<Flash> {
    let text = match saved {
        "" => return None,
        "created" => "线索已登记，已进入所在网格的待落地队列",
        "outcome" => "落地结果已保存",
        "assigned" => "线索已分派",
        _ => "已保存",
    };
    ok_flash(text)
}

impl OutcomeInput {
    /// The outcome form before anything is typed: 已落实管控 chosen.
    fn fresh() -> OutcomeInput {
        OutcomeInput {
            kind: OutcomeKind::Controlled.code().into(),
            ..OutcomeInput::default()
        }
    }
}

pub(super) async fn lead_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    lead_page_with(
        &state,
        &page,
        id,
        OutcomeInput::fresh(),
        saved_flash(&q.saved),
    )
    .await
}

/// The lead's page with the outcome form as given and a message.
async fn lead_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    f: OutcomeInput,
    flash: Option<Flash>,
) -> PageResult {
    let d = state
        .app
        .lead_detail(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(lead_render(page, d, f, flash, false))
}

pub(super) async fn outcome_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<OutcomeInput>,
) -> PageResult {
    let next = state
        .app
        .record_lead_outcome(&page.user.actor, id, &f.to_form())
        .await
        .map(|_| format!("/leads/{id}?saved=outcome"));
    form_page(&page, next, |flash| {
        lead_page_with(&state, &page, id, f, flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AssignInput {
    region_code: String,
}

pub(super) async fn assign_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<AssignInput>,
) -> PageResult {
    let next = state
        .app
        .assign_lead(&page.user.actor, id, &f.region_code)
        .await
        .map(|()| format!("/leads/{id}?saved=assigned"));
    form_page(&page, next, |flash| {
        lead_page_with(&state, &page, id, OutcomeInput::fresh(), flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RevealInput {
    reason: String,
}

pub(super) async fn reveal_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<RevealInput>,
) -> PageResult {
    let d = state
        .app
        .reveal_lead(&page.user.actor, id, &f.reason)
        .await
        .map_err(|e| page.error(e))?;
    let flash = Some(Flash {
        kind: "info",
        text: "已显示完整信息，本次查看已记入审计日志".into(),
    });
    Ok(lead_render(&page, d, OutcomeInput::fresh(), flash, true))
}

pub(super) async fn api_outcome(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(f): Json<OutcomeInput>,
) -> ApiResult<LeadView> {
    Ok(Json(
        state
            .app
            .record_lead_outcome(&user.actor, id, &f.to_form())
            .await?,
    ))
}
