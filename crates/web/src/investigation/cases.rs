//! Cases (病例): the directory with its deadlines and the regime in force, opening a case, one
//! case's page and its action form; the cases API.

use super::*;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct CasesQuery {
    kind: String,
    status: String,
    overdue: String,
    before: String,
    regime: String,
}

#[derive(Template)]
#[template(path = "investigation/cases.html")]
pub(super) struct CasesPage {
    layout: Layout,
    o: InvestigationOverview,
    rows: Vec<CaseLine>,
    kind: String,
    status: String,
    overdue: bool,
    next_href: Option<String>,
    kinds: Vec<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    regimes: Vec<(&'static str, &'static str)>,
    can_investigate: bool,
    chosen_regime: String,
}

async fn cases_page_with(
    state: &AppState,
    page: &PageUser,
    q: &CasesQuery,
    chosen_regime: String,
    flash: Option<Flash>,
) -> PageResult {
    let actor = &page.user.actor;
    let o = state
        .app
        .investigation_overview(actor)
        .await
        .map_err(|e| page.error(e))?;
    let overdue = truthy(&q.overdue);
    let before = parse_before(&q.before).map_err(|e| page.error(e))?;
    let rows = state
        .app
        .cases(
            actor,
            Some(q.kind.as_str()),
            Some(q.status.as_str()),
            overdue,
            before,
        )
        .await
        .map_err(|e| page.error(e))?;
    let next_href = (rows.len() as i64 >= PAGE_SIZE)
        .then(|| rows.last().map(|r| r.id))
        .flatten()
        .map(|last| {
            format!(
                "/cases?kind={}&status={}&overdue={}&before={last}",
                encode(q.kind.trim()),
                encode(q.status.trim()),
                if overdue { "1" } else { "" }
            )
        });
    let mut layout = page.layout("cases");
    layout.flash = flash;
    Ok(render(&CasesPage {
        layout,
        chosen_regime: if chosen_regime.is_empty() {
            o.regime.code().to_string()
        } else {
            chosen_regime
        },
        o,
        rows: rows.into_iter().map(CaseLine::of).collect(),
        kind: q.kind.trim().to_string(),
        status: q.status.trim().to_string(),
        overdue,
        next_href,
        kinds: case_kinds(),
        statuses: STATUSES.to_vec(),
        regimes: Regime::ALL
            .iter()
            .map(|r| (r.code(), r.label_zh()))
            .collect(),
        can_investigate: page.can(Permission::InvestigateCases),
    }))
}

pub(super) async fn cases_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<CasesQuery>,
) -> PageResult {
    let flash = match Regime::from_code(q.regime.trim()) {
        Some(r) => ok_flash(format!(
            "已切换为{}：新登记的病例和密接按此方案判定",
            r.label_zh()
        )),
        None => None,
    };
    cases_page_with(&state, &page, &q, String::new(), flash).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RegimeInput {
    regime: String,
}

pub(super) async fn regime_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<RegimeInput>,
) -> PageResult {
    let next = state
        .app
        .set_tracing_regime(&page.user.actor, &f.regime)
        .await
        .map(|regime| format!("/cases?regime={}", regime.code()));
    let q = CasesQuery::default();
    form_page_when(is_typed_mistake, &page, next, |flash| {
        cases_page_with(&state, &page, &q, f.regime, flash)
    })
    .await
}

/// The case form as typed (kept when it comes back with a problem).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct CaseInput {
    pub kind: String,
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub region_code: String,
    pub onset_date: String,
    pub first_positive_at: String,
    pub found_by: String,
    pub found_at: String,
    pub severity: String,
    pub hospital: String,
    pub isolated_at: String,
    pub infector: String,
    pub case_key: String,
}

impl CaseInput {
    fn to_form(&self) -> CaseForm {
        CaseForm {
            kind: self.kind.clone(),
            id_type: self.id_type.clone(),
            id_number: self.id_number.clone(),
            name: self.name.clone(),
            phone: self.phone.clone(),
            address: self.address.clone(),
            region_code: self.region_code.clone(),
            onset_date: self.onset_date.clone(),
            first_positive_at: self.first_positive_at.clone(),
            found_by: self.found_by.clone(),
            found_at: self.found_at.clone(),
            severity: self.severity.clone(),
            hospital: self.hospital.clone(),
            isolated_at: self.isolated_at.clone(),
            infector: self.infector.clone(),
            case_key: self.case_key.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "investigation/case_new.html")]
pub(super) struct NewCasePage {
    layout: Layout,
    f: CaseInput,
    kinds: Vec<(&'static str, &'static str)>,
    found_bys: Vec<(&'static str, &'static str)>,
    severities: Vec<(&'static str, &'static str)>,
    id_types: Vec<(&'static str, &'static str)>,
}

fn new_case_render(page: &PageUser, f: CaseInput, flash: Option<Flash>) -> Response {
    let mut layout = page.layout("cases");
    layout.flash = flash;
    render(&NewCasePage {
        layout,
        f,
        kinds: case_kinds(),
        found_bys: found_bys(),
        severities: severities(),
        id_types: id_types(),
    })
}

pub(super) async fn new_case_page(page: PageUser) -> PageResult {
    page.user
        .actor
        .require(Permission::InvestigateCases)
        .map_err(|e| page.error(e))?;
    let f = CaseInput {
        kind: CaseKind::Confirmed.code().into(),
        id_type: "mainland_id".into(),
        case_key: fresh_key(),
        ..CaseInput::default()
    };
    Ok(new_case_render(&page, f, None))
}

pub(super) async fn new_case_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<CaseInput>,
) -> PageResult {
    let next = state
        .app
        .open_case(&page.user.actor, &f.to_form())
        .await
        .map(|id| format!("/cases/{id}?saved=opened"));
    form_page_when(is_typed_mistake, &page, next, |flash| async {
        Ok(new_case_render(&page, f, flash))
    })
    .await
}

/// A step on the case as typed: `action` names it, the other fields carry its values.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ActionInput {
    pub action: String,
    pub at: String,
    pub severity: String,
    pub hospital: String,
    pub kind: String,
    pub infector: String,
    pub note: String,
    pub text: String,
    /// When a discharge happened (补录); empty = now.
    pub occurred_at: String,
}

impl ActionInput {
    fn to_action(&self) -> Result<CaseAction, AppError> {
        Ok(match self.action.trim() {
            "reported" => CaseAction::Reported,
            "investigated" => CaseAction::Investigated,
            "isolated" => CaseAction::Isolated {
                at: self.at.clone(),
            },
            "clinical" => CaseAction::Clinical {
                severity: self.severity.clone(),
                hospital: self.hospital.clone(),
            },
            "reclassify" => CaseAction::Reclassify {
                kind: self.kind.clone(),
            },
            "discharge" => CaseAction::Discharge {
                occurred_at: self.occurred_at.clone(),
            },
            "exclude" => CaseAction::Exclude,
            "infector" => CaseAction::Infector {
                infector: self.infector.clone(),
                note: self.note.clone(),
            },
            "public_summary" => CaseAction::PublicSummary {
                text: self.text.clone(),
            },
            other => {
                return Err(AppError::Invalid(format!(
                    "不认识的病例操作“{other}”，请刷新页面后重试"
                )));
            }
        })
    }
}

/// What the case page's forms hold: empty, or what was typed when one came back.
pub(super) struct CaseForms {
    pub(super) action: ActionInput,
    pub(super) stop: StopInput,
    pub(super) contact: ContactInput,
}

impl CaseForms {
    pub(super) fn fresh(via: &str) -> CaseForms {
        CaseForms {
            action: ActionInput::default(),
            stop: StopInput {
                public: "on".into(),
                key: fresh_key(),
                ..StopInput::default()
            },
            contact: ContactInput {
                id_type: "mainland_id".into(),
                via_contact_id: via.trim().to_string(),
                ..ContactInput::default()
            },
        }
    }
}

/// One trajectory stop as the page shows it.
pub struct StopLine {
    pub from: String,
    pub to: String,
    pub kind_label: &'static str,
    pub place_name: String,
    pub address: String,
    pub source_label: &'static str,
    pub public: bool,
}

/// The case's times, as read.
pub struct CaseTimes {
    pub onset: String,
    pub first_positive: String,
    pub reported: String,
    pub investigated: String,
    pub isolated: String,
    pub window_opens: String,
}

#[derive(Template)]
#[template(path = "investigation/case.html")]
pub(super) struct CasePage {
    layout: Layout,
    d: CaseDetail,
    line: CaseLine,
    times: CaseTimes,
    infector: Option<CaseLine>,
    infectees: Vec<CaseLine>,
    stops: Vec<StopLine>,
    contacts: Vec<ContactLine>,
    close_contacts: Vec<(String, String)>,
    can_investigate: bool,
    active: bool,
    can_exclude: bool,
    severity_code: String,
    a: ActionInput,
    s: StopInput,
    c: ContactInput,
    kinds: Vec<(&'static str, &'static str)>,
    severities: Vec<(&'static str, &'static str)>,
    exposure_kinds: Vec<(&'static str, &'static str)>,
    place_kinds: Vec<(&'static str, &'static str)>,
    id_types: Vec<(&'static str, &'static str)>,
}

async fn case_page_with(
    state: &AppState,
    page: &PageUser,
    id: i64,
    forms: CaseForms,
    flash: impl FnOnce(&CaseDetail) -> Option<Flash>,
) -> PageResult {
    let d = state
        .app
        .case_detail(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    let flash = flash(&d);
    let times = CaseTimes {
        onset: d.onset_date.clone().unwrap_or_else(|| "—".into()),
        first_positive: time_or_dash(d.first_positive_at),
        reported: time_or_dash(d.reported_at),
        investigated: time_or_dash(d.investigated_at),
        isolated: time_or_dash(d.isolated_at),
        window_opens: beijing_time(d.window_opens_at),
    };
    let stops = d
        .stops
        .iter()
        .map(|s| StopLine {
            from: beijing_time(s.from_at),
            to: time_or_dash(s.to_at),
            kind_label: place_kind_label(&s.place_kind),
            place_name: s.place_name.clone(),
            address: s.address.clone(),
            source_label: match s.source.as_str() {
                "entered" => "流调录入",
                "venue" => "场所码",
                "checkpoint" => "卡口",
                _ => "导入",
            },
            public: s.public,
        })
        .collect();
    let contacts: Vec<ContactLine> = d.contacts.iter().cloned().map(ContactLine::of).collect();
    let close_contacts = contacts
        .iter()
        .filter(|c| c.is_active_close())
        .map(|c| {
            (
                c.c.id.to_string(),
                format!("#{} {}（{}）", c.c.id, c.c.name, c.c.phone_masked),
            )
        })
        .collect();
    let active = d.case.status == "active";
    let can_exclude = active
        && d.case.kind != CaseKind::Confirmed.code()
        && d.case.kind != CaseKind::Asymptomatic.code();
    let severity_code = Severity::ALL
        .iter()
        .find(|s| s.label_zh() == d.case.severity_label)
        .map(|s| s.code().to_string())
        .unwrap_or_default();
    let mut action = forms.action;
    if action.text.is_empty() {
        action.text = d.public_summary.clone();
    }
    if action.hospital.is_empty() {
        action.hospital = d.case.hospital.clone();
    }
    let mut layout = page.layout("cases");
    layout.flash = flash;
    Ok(render(&CasePage {
        layout,
        line: CaseLine::of(d.case.clone()),
        times,
        infector: d.infector.clone().map(CaseLine::of),
        infectees: d.infectees.iter().cloned().map(CaseLine::of).collect(),
        stops,
        contacts,
        close_contacts,
        can_investigate: page.can(Permission::InvestigateCases),
        active,
        can_exclude,
        severity_code,
        a: action,
        s: forms.stop,
        c: forms.contact,
        kinds: case_kinds(),
        severities: severities(),
        exposure_kinds: exposure_kinds(),
        place_kinds: PLACE_KINDS.to_vec(),
        id_types: id_types(),
        d,
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct CaseQuery {
    saved: String,
    contact: String,
    pulled: String,
    via: String,
}

fn saved_flash(saved: &str, pulled: &str) -> Option<Flash> {
    let text = match saved {
        "opened" => "已登记病例：2小时内完成网络直报，24小时内完成流调".to_string(),
        "reported" => "已记录网络直报".into(),
        "investigated" => "已记录流调完成".into(),
        "isolated" => "已记录隔离时间：此后的接触不再判定".into(),
        "clinical" => "已更新临床分型和收治医院".into(),
        "reclassify" => "已订正病例类型，健康码已按新类型赋码".into(),
        "discharge" => "已登记出院".into(),
        "exclude" => "已排除".into(),
        "infector" => "已更新传染来源".into(),
        "public_summary" => "已保存公布用文字".into(),
        "stop" => "已添加轨迹".into(),
        "itinerary" => format!(
            "已从卡口和场所码记录导入 {} 条新轨迹",
            pulled.parse::<u64>().unwrap_or(0)
        ),
        "cleared" => "已解除该接触者".into(),
        _ => return None,
    };
    ok_flash(text)
}

pub(super) async fn case_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<CaseQuery>,
) -> PageResult {
    let added: Option<i64> = q.contact.trim().parse().ok();
    let forms = CaseForms::fresh(&q.via);
    case_page_with(&state, &page, id, forms, |d| match added {
        Some(contact_id) => Some(
            d.contacts
                .iter()
                .find(|c| c.id == contact_id)
                .map(|c| Flash {
                    kind: if c.category == ContactCategory::General.code() {
                        "ok"
                    } else {
                        "warn"
                    },
                    text: format!("判定为{}：{}", c.category_label, c.reason),
                })
                .unwrap_or(Flash {
                    kind: "ok",
                    text: "已登记接触者".into(),
                }),
        ),
        None => saved_flash(q.saved.as_str(), &q.pulled),
    })
    .await
}

/// The answer to one of the case page's forms: 303 to `next`, or after a form mistake the case page
/// again (its status, the message, what was typed).
pub(super) async fn case_form_page(
    state: &AppState,
    page: &PageUser,
    id: i64,
    forms: CaseForms,
    next: Result<String, AppError>,
) -> PageResult {
    form_page_when(is_typed_mistake, page, next, |flash| {
        case_page_with(state, page, id, forms, move |_| flash)
    })
    .await
}

pub(super) async fn action_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<ActionInput>,
) -> PageResult {
    let result = match f.to_action() {
        Ok(action) => state.app.update_case(&page.user.actor, id, &action).await,
        Err(e) => Err(e),
    };
    let next = result.map(|()| format!("/cases/{id}?saved={}", encode(f.action.trim())));
    let forms = CaseForms {
        action: f,
        ..CaseForms::fresh("")
    };
    case_form_page(&state, &page, id, forms, next).await
}

/// `POST /api/cases`: the case form's fields as JSON strings.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct CaseJson {
    kind: String,
    id_type: String,
    id_number: String,
    name: String,
    phone: String,
    address: String,
    region_code: String,
    onset_date: String,
    first_positive_at: String,
    found_by: String,
    found_at: String,
    severity: String,
    hospital: String,
    isolated_at: String,
    infector: String,
    case_key: String,
}

impl From<CaseJson> for CaseForm {
    fn from(j: CaseJson) -> CaseForm {
        CaseForm {
            kind: j.kind,
            id_type: j.id_type,
            id_number: j.id_number,
            name: j.name,
            phone: j.phone,
            address: j.address,
            region_code: j.region_code,
            onset_date: j.onset_date,
            first_positive_at: j.first_positive_at,
            found_by: j.found_by,
            found_at: j.found_at,
            severity: j.severity,
            hospital: j.hospital,
            isolated_at: j.isolated_at,
            infector: j.infector,
            case_key: j.case_key,
        }
    }
}

#[derive(Serialize)]
pub(super) struct Opened {
    id: i64,
}

pub(super) async fn api_open_case(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(input): Json<CaseJson>,
) -> ApiResult<Opened> {
    let id = state.app.open_case(&user.actor, &input.into()).await?;
    Ok(Json(Opened { id }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct CasesApiQuery {
    kind: String,
    status: String,
    overdue: String,
    before: String,
}

pub(super) async fn api_cases(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<CasesApiQuery>,
) -> ApiResult<Vec<CaseRow>> {
    let before = parse_before(&q.before)?;
    Ok(Json(
        state
            .app
            .cases(
                &user.actor,
                Some(q.kind.as_str()),
                Some(q.status.as_str()),
                truthy(&q.overdue),
                before,
            )
            .await?,
    ))
}

pub(super) async fn api_case(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<CaseDetail> {
    Ok(Json(state.app.case_detail(&user.actor, id).await?))
}
