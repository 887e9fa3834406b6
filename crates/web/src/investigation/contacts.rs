//! Contacts (密接、次密接): adding one on a case's page (classified by rule), clearing one, the
//! contact directory, the contact-list upload; the contacts API.

use super::*;

/// Largest contact list accepted (20,000 rows of a manifest are a few MB).
pub(super) const IMPORT_LIMIT: usize = 32 * 1024 * 1024;

#[derive(Template)]
#[template(path = "investigation/contact_import.html")]
pub(super) struct ContactImportPage {
    layout: Layout,
    case_id: i64,
    case_number: String,
    r: fangkong_app::investigation::ContactImportReport,
}

/// The contact-list template: the header and one example row.
pub(super) async fn contact_template() -> Response {
    let mut body = String::from("\u{feff}");
    body.push_str(&fangkong_app::investigation::CONTACT_LIST_COLUMNS.join(","));
    body.push_str("\n张三,居民身份证,,13800000000,藁城区某村,130109110212,同乘飞机,2022-11-18 08:00,2022-11-18 10:30,12,14,,,,,\n");
    crate::pages::download(body.into(), "接触者名单模板.csv", "text/csv; charset=utf-8")
}

pub(super) async fn contact_import_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(case_id): Path<i64>,
    mut multipart: axum::extract::Multipart,
) -> PageResult {
    let upload = crate::pages::read_upload(
        &state,
        &page.user,
        Permission::InvestigateCases,
        &mut multipart,
    )
    .await
    .map_err(|e| page.error(e))?;
    let Some((name, temp)) = upload.filter(|(name, _)| !name.is_empty()) else {
        return Err(page.error(AppError::Invalid("请选择要导入的名单文件".into())));
    };
    let format =
        fangkong_app::import::FileFormat::from_file_name(&name).map_err(|e| page.error(e))?;
    let report = state
        .app
        .import_contacts(&page.user.actor, case_id, temp.path(), format)
        .await
        .map_err(|e| page.error(e))?;
    let detail = state
        .app
        .case_detail(&page.user.actor, case_id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&ContactImportPage {
        layout: page.layout("cases"),
        case_id,
        case_number: detail.case.case_number,
        r: report,
    }))
}

/// A contact as typed (checkboxes arrive as "on" or not at all).
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ContactInput {
    pub via_contact_id: String,
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub region_code: String,
    pub exposure_kind: String,
    pub first_exposure_at: String,
    pub last_exposure_at: String,
    pub protected: String,
    pub case_row: String,
    pub contact_row: String,
    pub crew_serving: String,
    pub sealed: String,
    pub same_carriage: String,
    pub same_compartment: String,
    pub bay_offset: String,
    pub place_note: String,
}

impl ContactInput {
    pub(super) fn to_form(&self) -> ContactForm {
        ContactForm {
            via_contact_id: self.via_contact_id.clone(),
            id_type: self.id_type.clone(),
            id_number: self.id_number.clone(),
            name: self.name.clone(),
            phone: self.phone.clone(),
            address: self.address.clone(),
            region_code: self.region_code.clone(),
            exposure_kind: self.exposure_kind.clone(),
            first_exposure_at: self.first_exposure_at.clone(),
            last_exposure_at: self.last_exposure_at.clone(),
            protected: !self.protected.is_empty(),
            case_row: self.case_row.clone(),
            contact_row: self.contact_row.clone(),
            crew_serving: !self.crew_serving.is_empty(),
            sealed: !self.sealed.is_empty(),
            same_carriage: !self.same_carriage.is_empty(),
            same_compartment: !self.same_compartment.is_empty(),
            bay_offset: self.bay_offset.clone(),
            place_note: self.place_note.clone(),
        }
    }

    pub fn vehicle_open(&self) -> bool {
        [
            &self.case_row,
            &self.contact_row,
            &self.crew_serving,
            &self.sealed,
            &self.same_carriage,
            &self.same_compartment,
            &self.bay_offset,
        ]
        .iter()
        .any(|v| !v.is_empty())
    }
}

pub(super) async fn contact_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<ContactInput>,
) -> PageResult {
    let next = state
        .app
        .add_contact(&page.user.actor, id, &f.to_form())
        .await
        .map(|(contact_id, _)| format!("/cases/{id}?contact={contact_id}#contacts"));
    let forms = CaseForms {
        contact: f,
        ..CaseForms::fresh("")
    };
    case_form_page(&state, &page, id, forms, next).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ClearInput {
    reason: String,
    /// The case page the form sits on (where to go back to).
    case_id: String,
}

pub(super) async fn clear_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(contact_id): Path<i64>,
    CsrfForm(f): CsrfForm<ClearInput>,
) -> PageResult {
    let back: Option<i64> = f.case_id.trim().parse().ok();
    let result = state
        .app
        .clear_contact(&page.user.actor, contact_id, &f.reason)
        .await;
    match back {
        Some(case_id) => {
            let next = result.map(|()| format!("/cases/{case_id}?saved=cleared#contacts"));
            case_form_page(&state, &page, case_id, CaseForms::fresh(""), next).await
        }
        // From the contact directory: there is no form to come back to.
        None => match result {
            Ok(()) => Ok(Redirect::to("/contacts").into_response()),
            Err(e) => Err(page.error(e)),
        },
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ContactsQuery {
    category: String,
    before: String,
}

#[derive(Template)]
#[template(path = "investigation/contacts.html")]
pub(super) struct ContactsPage {
    layout: Layout,
    category: String,
    category_label: &'static str,
    categories: Vec<(&'static str, &'static str)>,
    rows: Vec<ContactLine>,
    next_href: Option<String>,
}

pub(super) async fn contacts_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<ContactsQuery>,
) -> PageResult {
    let category = ContactCategory::from_code(q.category.trim()).unwrap_or(ContactCategory::Close);
    let before = parse_before(&q.before).map_err(|e| page.error(e))?;
    let rows = state
        .app
        .contacts(&page.user.actor, category.code(), before)
        .await
        .map_err(|e| page.error(e))?;
    let next_href = (rows.len() as i64 >= PAGE_SIZE)
        .then(|| rows.last().map(|r| r.id))
        .flatten()
        .map(|last| format!("/contacts?category={}&before={last}", category.code()));
    Ok(render(&ContactsPage {
        layout: page.layout("cases"),
        category: category.code().to_string(),
        category_label: category.label_zh(),
        categories: categories(),
        rows: rows.into_iter().map(ContactLine::of).collect(),
        next_href,
    }))
}

/// `POST /api/cases/{id}/contacts`: the contact form as JSON (flags as booleans).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ContactJson {
    via_contact_id: Option<serde_json::Value>,
    id_type: String,
    id_number: String,
    name: String,
    phone: String,
    address: String,
    region_code: String,
    exposure_kind: String,
    first_exposure_at: String,
    last_exposure_at: String,
    protected: bool,
    case_row: Option<serde_json::Value>,
    contact_row: Option<serde_json::Value>,
    crew_serving: bool,
    sealed: bool,
    same_carriage: bool,
    same_compartment: bool,
    bay_offset: Option<serde_json::Value>,
    place_note: String,
}

impl From<ContactJson> for ContactForm {
    fn from(j: ContactJson) -> ContactForm {
        ContactForm {
            via_contact_id: loose_text(&j.via_contact_id),
            id_type: j.id_type,
            id_number: j.id_number,
            name: j.name,
            phone: j.phone,
            address: j.address,
            region_code: j.region_code,
            exposure_kind: j.exposure_kind,
            first_exposure_at: j.first_exposure_at,
            last_exposure_at: j.last_exposure_at,
            protected: j.protected,
            case_row: loose_text(&j.case_row),
            contact_row: loose_text(&j.contact_row),
            crew_serving: j.crew_serving,
            sealed: j.sealed,
            same_carriage: j.same_carriage,
            same_compartment: j.same_compartment,
            bay_offset: loose_text(&j.bay_offset),
            place_note: j.place_note,
        }
    }
}

#[derive(Serialize)]
pub(super) struct ContactAdded {
    id: i64,
    category: &'static str,
    category_label: &'static str,
    reason: String,
}

pub(super) async fn api_add_contact(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(input): Json<ContactJson>,
) -> ApiResult<ContactAdded> {
    let (contact_id, classification) = state
        .app
        .add_contact(&user.actor, id, &input.into())
        .await?;
    Ok(Json(ContactAdded {
        id: contact_id,
        category: classification.category.code(),
        category_label: classification.category.label_zh(),
        reason: classification.reason,
    }))
}
