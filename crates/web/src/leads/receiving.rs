//! Receiving leads (线索登记): the registration form for screening and assistance letters
//! (`/leads/new`), a resident's own report (`/me/self-report`); the create API.

use super::*;

/// The registration form as typed (kept when it comes back with a problem).
#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub struct LeadInput {
    pub channel: String,
    pub category: String,
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub phone: String,
    pub address: String,
    pub region_code: String,
    pub reason: String,
    pub came_from: String,
    pub arrived_at: String,
    pub sender: String,
    pub sender_scope: String,
    pub reference: String,
    pub out_region: String,
    pub out_region_name: String,
}

impl LeadInput {
    fn to_form(&self) -> LeadForm {
        LeadForm {
            channel: self.channel.clone(),
            category: self.category.clone(),
            name: self.name.clone(),
            id_type: self.id_type.clone(),
            id_number: self.id_number.clone(),
            phone: self.phone.clone(),
            address: self.address.clone(),
            region_code: self.region_code.clone(),
            reason: self.reason.clone(),
            came_from: self.came_from.clone(),
            arrived_at: self.arrived_at.clone(),
            sender: self.sender.clone(),
            sender_scope: self.sender_scope.clone(),
            reference: self.reference.clone(),
            out_region: self.out_region.clone(),
            out_region_name: self.out_region_name.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "leads/new.html")]
pub(super) struct NewLeadPage {
    layout: Layout,
    f: LeadInput,
    channels: Vec<(&'static str, &'static str)>,
    categories: Vec<(&'static str, &'static str)>,
    scopes: Vec<(&'static str, &'static str)>,
    id_types: Vec<(&'static str, &'static str)>,
}

fn new_lead_render(page: &PageUser, f: LeadInput, flash: Option<Flash>) -> Response {
    let mut layout = page.layout("leads");
    layout.flash = flash;
    render(&NewLeadPage {
        layout,
        f,
        channels: [
            Channel::GridScreening,
            Channel::ActiveScreening,
            Channel::AssistIn,
            Channel::AssistOut,
        ]
        .iter()
        .map(|c| (c.code(), c.label_zh()))
        .collect(),
        categories: options(
            &RiskCategory::ALL,
            RiskCategory::code,
            RiskCategory::label_zh,
        ),
        scopes: options(&SenderScope::ALL, SenderScope::code, SenderScope::label_zh),
        id_types: id_types(),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ChannelQuery {
    channel: String,
}

pub(super) async fn new_lead_page(page: PageUser, Query(q): Query<ChannelQuery>) -> PageResult {
    page.user
        .actor
        .require(Permission::SendLeads)
        .map_err(|e| page.error(e))?;
    let f = LeadInput {
        channel: if q.channel.is_empty() {
            Channel::GridScreening.code().into()
        } else {
            q.channel
        },
        category: RiskCategory::Other.code().into(),
        ..LeadInput::default()
    };
    Ok(new_lead_render(&page, f, None))
}

pub(super) async fn new_lead_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<LeadInput>,
) -> PageResult {
    let next = state
        .app
        .create_lead(&page.user.actor, &f.to_form())
        .await
        .map(|id| format!("/leads/{id}?saved=created"));
    form_page(&page, next, |flash| async {
        Ok(new_lead_render(&page, f, flash))
    })
    .await
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(super) struct SelfReportInput {
    name: String,
    id_type: String,
    id_number: String,
    phone: String,
    address: String,
    region_code: String,
    came_from: String,
    arrived_at: String,
    category: String,
    contact_note: String,
}

impl SelfReportInput {
    fn to_form(&self) -> SelfReportForm {
        SelfReportForm {
            name: self.name.clone(),
            id_type: self.id_type.clone(),
            id_number: self.id_number.clone(),
            phone: self.phone.clone(),
            address: self.address.clone(),
            region_code: self.region_code.clone(),
            came_from: self.came_from.clone(),
            arrived_at: self.arrived_at.clone(),
            category: self.category.clone(),
            contact_note: self.contact_note.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "leads/self_report.html")]
pub(super) struct SelfReportPage {
    layout: Layout,
    f: SelfReportInput,
    linked: bool,
    mine: Vec<LeadRow>,
    categories: Vec<(&'static str, &'static str)>,
    id_types: Vec<(&'static str, &'static str)>,
}

async fn self_report_render(
    state: &AppState,
    page: &PageUser,
    f: SelfReportInput,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let mine = state
        .app
        .my_self_reports(actor)
        .await
        .map_err(|e| page.error(e))?;
    let linked = state
        .app
        .is_linked_to_resident(actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut layout = page.layout("self_report");
    layout.flash = flash;
    Ok(render(&SelfReportPage {
        layout,
        f,
        linked,
        mine: mine.into_iter().map(LeadRow::from).collect(),
        categories: [
            RiskCategory::LeftHighRiskArea,
            RiskCategory::LeftMediumRiskArea,
            RiskCategory::CloseContact,
            RiskCategory::Inbound,
            RiskCategory::Other,
        ]
        .iter()
        .map(|c| (c.code(), c.label_zh()))
        .collect(),
        id_types: id_types(),
    }))
}

pub(super) async fn self_report_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let flash = (!q.saved.is_empty()).then(|| Flash {
        kind: "ok",
        text: "报告已提交，社区网格员会在24小时内与您联系".into(),
    });
    let f = SelfReportInput {
        category: RiskCategory::Other.code().into(),
        ..SelfReportInput::default()
    };
    self_report_render(&state, &page, f, flash).await
}

pub(super) async fn self_report_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<SelfReportInput>,
) -> PageResult {
    let next = state
        .app
        .self_report(&page.user.actor, &f.to_form())
        .await
        .map(|_| "/me/self-report?saved=1".to_string());
    form_page(&page, next, |flash| {
        self_report_render(&state, &page, f, flash)
    })
    .await
}

#[derive(Serialize)]
pub(super) struct Created {
    id: i64,
}

pub(super) async fn api_create(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(f): Json<LeadInput>,
) -> ApiResult<Created> {
    let id = state.app.create_lead(&user.actor, &f.to_form()).await?;
    Ok(Json(Created { id }))
}
