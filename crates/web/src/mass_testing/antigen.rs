//! Antigen self-tests (抗原自测): a grid's reports and form, a resident's own report with a photo;
//! the antigen API.

use super::*;

pub struct AntigenRow {
    pub tested: String,
    pub reported: String,
    pub id_number_masked: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub result: &'static str,
    pub has_photo: bool,
    pub reporter: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(super) struct AntigenInput {
    resident_id: String,
    result: String,
    tested_at: String,
    /// Prefills the form from a link (grid coverage page).
    resident: String,
    region: String,
}

#[derive(Template)]
#[template(path = "mass_testing/antigen.html")]
pub(super) struct AntigenPage {
    layout: crate::pages::Layout,
    region: String,
    reports: fangkong_app::Page<AntigenRow>,
    f: AntigenInput,
    can_report: bool,
}

async fn antigen_page_with(
    state: &AppState,
    page: &PageUser,
    f: AntigenInput,
    flash: Option<Flash>,
) -> PageResult {
    let reports = state
        .app
        .antigen_reports(&page.user.actor, &f.region)
        .await
        .map_err(|e| page.error(e))?
        .map(|(r, masked)| AntigenRow {
            tested: beijing_time(r.tested_at),
            reported: beijing_time(r.reported_at),
            id_number_masked: masked,
            resident_id: r.resident_id,
            grid_code: r.grid_code,
            result: r.result.label_zh(),
            has_photo: r.has_photo,
            reporter: r.reporter,
        });
    let mut layout = page.layout("testing_antigen");
    layout.flash = flash;
    Ok(render(&AntigenPage {
        layout,
        region: f.region.trim().to_string(),
        reports,
        can_report: page.can(Permission::ReportAntigen),
        f,
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AntigenQuery {
    region: String,
    resident: String,
    saved: Option<String>,
}

pub(super) async fn antigen_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<AntigenQuery>,
) -> PageResult {
    let f = AntigenInput {
        resident_id: q.resident.clone(),
        region: q.region,
        ..AntigenInput::default()
    };
    let flash = q
        .saved
        .map(|_| "抗原结果已登记".to_string())
        .and_then(ok_flash);
    antigen_page_with(&state, &page, f, flash).await
}

pub(super) async fn antigen_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<AntigenInput>,
) -> PageResult {
    let form = AntigenForm {
        resident_id: f.resident_id.clone(),
        result: f.result.clone(),
        tested_at: f.tested_at.clone(),
    };
    let next = state
        .app
        .report_antigen(&page.user.actor, &form, None)
        .await
        .map(|_| format!("/testing/antigen?saved=1&region={}", encode(&f.region)));
    form_page(&page, next, |flash| {
        antigen_page_with(&state, &page, f, flash)
    })
    .await
}

#[derive(Template)]
#[template(path = "mass_testing/my_antigen.html")]
pub(super) struct MyAntigenPage {
    layout: crate::pages::Layout,
    result: String,
    tested_at: String,
}

pub(super) async fn my_antigen_page(page: PageUser, Query(q): Query<AntigenQuery>) -> PageResult {
    if !page.can(Permission::ReportAntigen) {
        return Err(page.error(AppError::Forbidden {
            role: page.user.actor.role,
        }));
    }
    let mut layout = page.layout("my_antigen");
    layout.flash = q
        .saved
        .map(|_| "已上报，谢谢配合。阳性结果会通知社区安排核酸复核。".to_string())
        .and_then(ok_flash);
    Ok(render(&MyAntigenPage {
        layout,
        result: String::new(),
        tested_at: String::new(),
    }))
}

/// The resident's antigen form: result, time and an optional photo (kept in memory, ≤ 4 MB).
pub(super) struct AntigenUpload {
    form: AntigenForm,
    photo: Option<(Vec<u8>, String)>,
}

/// Reads the antigen form in the order of [`crate::upload`]: the role is checked and the form token
/// must be the first field before any photo byte is read, so nobody can make the server take a
/// photo it will refuse anyway.
async fn read_antigen_upload(
    user: &crate::session::LoggedIn,
    multipart: &mut Multipart,
) -> Result<AntigenUpload, AppError> {
    user.actor.require(Permission::ReportAntigen)?;
    crate::upload::check_first_field_token(user, multipart).await?;
    let mut upload = AntigenUpload {
        form: AntigenForm::default(),
        photo: None,
    };
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::Invalid(format!("上传内容无法读取（照片不能超过4MB）：{e}")))?
    {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "photo" => {
                let has_file = field.file_name().is_some_and(|n| !n.is_empty());
                let kind = field.content_type().unwrap_or_default().to_string();
                let bytes = field.bytes().await.map_err(|e| {
                    AppError::Invalid(format!("照片上传中断或超过4MB，请重新选择：{e}"))
                })?;
                if has_file && !bytes.is_empty() {
                    upload.photo = Some((bytes.to_vec(), kind));
                }
            }
            _ => {
                let text = field.text().await.unwrap_or_default();
                match name.as_str() {
                    "result" => upload.form.result = text,
                    "tested_at" => upload.form.tested_at = text,
                    _ => {}
                }
            }
        }
    }
    Ok(upload)
}

pub(super) async fn my_antigen_submit(
    State(state): State<AppState>,
    page: PageUser,
    mut multipart: Multipart,
) -> PageResult {
    let upload = read_antigen_upload(&page.user, &mut multipart)
        .await
        .map_err(|e| page.error(e))?;
    let photo = upload
        .photo
        .as_ref()
        .map(|(bytes, kind)| (bytes.as_slice(), kind.as_str()));
    let next = state
        .app
        .report_antigen(&page.user.actor, &upload.form, photo)
        .await
        .map(|_| "/me/antigen?saved=1".to_string());
    form_page(&page, next, |flash| async {
        let mut layout = page.layout("my_antigen");
        layout.flash = flash;
        Ok(render(&MyAntigenPage {
            layout,
            result: upload.form.result,
            tested_at: upload.form.tested_at,
        }))
    })
    .await
}

pub(super) async fn api_antigen(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(form): Json<AntigenForm>,
) -> Result<Response, ApiError> {
    let id = state.app.report_antigen(&user.actor, &form, None).await?;
    Ok((axum::http::StatusCode::CREATED, Json(Created { id })).into_response())
}
