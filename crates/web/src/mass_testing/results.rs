//! Lab results (检测结果): uploads with their problem rows, the template, FHIR; a resident's own
//! results with the QR code.

use super::*;

pub struct UploadRow {
    pub id: i64,
    pub started: String,
    pub file_name: String,
    pub format: String,
    pub lab_name: String,
    pub rows_total: i64,
    pub applied: i64,
    pub unchanged: i64,
    pub problems: i64,
    pub positives: i64,
    /// 已完成, 进行中 or 已中断 (a crash cut it short; the counters say what it committed).
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "mass_testing/results.html")]
pub(super) struct ResultsPage {
    layout: crate::pages::Layout,
    columns: String,
    report: Option<ResultUploadReport>,
    uploads: Vec<UploadRow>,
}

async fn results_page_with(
    state: &AppState,
    page: &PageUser,
    report: Option<ResultUploadReport>,
) -> PageResult {
    let uploads = state
        .app
        .recent_result_uploads(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?
        .into_iter()
        .map(|u| UploadRow {
            id: u.id,
            started: beijing_time(u.started_at),
            file_name: u.file_name,
            format: u.format,
            lab_name: u.lab_name,
            rows_total: u.rows_total,
            applied: u.applied,
            unchanged: u.unchanged,
            problems: u.problems,
            positives: u.positives,
            status: crate::pages::run_status(u.finished_at, u.interrupted_at),
        })
        .collect();
    Ok(render(&ResultsPage {
        layout: page.layout("testing_results"),
        columns: RESULT_COLUMNS.join(","),
        report,
        uploads,
    }))
}

pub(super) async fn results_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    results_page_with(&state, &page, None).await
}

pub(super) async fn results_upload_submit(
    State(state): State<AppState>,
    page: PageUser,
    mut multipart: Multipart,
) -> PageResult {
    let upload = read_upload(
        &state,
        &page.user,
        Permission::UploadLabResults,
        &mut multipart,
    )
    .await
    .map_err(|e| page.error(e))?;
    let Some((name, temp)) = upload.filter(|(name, _)| !name.is_empty()) else {
        return Err(page.error(AppError::Invalid(
            "请选择检测结果文件（CSV、Excel 或 FHIR 的 .json）".into(),
        )));
    };
    let report = state
        .app
        .upload_lab_results(&page.user.actor, temp.path(), &name)
        .await
        .map_err(|e| page.error(e))?;
    results_page_with(&state, &page, Some(report)).await
}

pub(super) async fn results_template(page: PageUser) -> PageResult {
    if !page.can(Permission::UploadLabResults) {
        return Err(page.error(AppError::Forbidden {
            role: page.user.actor.role,
        }));
    }
    // A BOM so that Excel in Chinese offices opens the UTF-8 header correctly.
    let body = format!("\u{feff}{}\r\n", RESULT_COLUMNS.join(","));
    Ok(download(
        body.into(),
        "核酸结果上传模板.csv",
        "text/csv; charset=utf-8",
    ))
}

#[derive(Template)]
#[template(path = "mass_testing/result_upload.html")]
pub(super) struct ResultUploadPage {
    layout: crate::pages::Layout,
    r: ResultUploadReport,
    started: String,
    status: &'static str,
}

pub(super) async fn result_upload_page(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    let r = state
        .app
        .result_upload(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&ResultUploadPage {
        layout: page.layout("testing_results"),
        started: beijing_time(r.upload.started_at),
        status: crate::pages::run_status(r.upload.finished_at, r.upload.interrupted_at),
        r,
    }))
}

#[derive(Template)]
#[template(path = "mass_testing/my_results.html")]
pub(super) struct MyResultsPage {
    layout: crate::pages::Layout,
    m: MyResults,
    results: Vec<(String, String, &'static str)>,
    antigen: Vec<(String, &'static str)>,
    events: Vec<(String, &'static str)>,
    /// The personal sampling code as an SVG QR code, drawn here (no outside service).
    qr_svg: String,
}

/// An SVG QR code of `text` (error correction M: a crumpled phone screen still reads).
pub(crate) fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

pub(super) async fn my_results_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    let m = state
        .app
        .my_results(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let results = m
        .results
        .iter()
        .map(|r| {
            (
                beijing_time(r.sampled_at),
                time_or_dash(r.tested_at),
                result_class(r.result_label),
            )
        })
        .collect();
    let antigen = m
        .antigen
        .iter()
        .map(|a| (beijing_time(a.tested_at), a.result.label_zh()))
        .collect();
    let events = m
        .events
        .iter()
        .map(|e| (beijing_time(e.at), event_label(&e.kind)))
        .collect();
    let qr_svg = qr_svg(&m.sampling_code);
    Ok(render(&MyResultsPage {
        layout: page.layout("my_results"),
        m,
        results,
        antigen,
        events,
        qr_svg,
    }))
}

pub(super) async fn api_lab_results(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Json(rows): Json<Vec<ResultInput>>,
) -> ApiResult<ResultUploadReport> {
    Ok(Json(
        state.app.submit_lab_results(&user.actor, &rows).await?,
    ))
}

pub(super) async fn api_lab_fhir(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<ResultUploadReport> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !(content_type.starts_with("application/fhir+json")
        || content_type.starts_with("application/json"))
    {
        return Err(ApiError(AppError::Invalid(
            "请以 Content-Type: application/fhir+json（或 application/json）发送 FHIR R4 文档"
                .into(),
        )));
    }
    Ok(Json(
        state.app.submit_fhir_results(&user.actor, &body).await?,
    ))
}

pub(super) async fn api_lab_upload(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    mut multipart: Multipart,
) -> ApiResult<ResultUploadReport> {
    let upload = read_upload(&state, &user, Permission::UploadLabResults, &mut multipart).await?;
    let (name, temp) = upload.ok_or_else(|| {
        AppError::Invalid("请在 file 字段上传 CSV、XLSX 或 FHIR 的 .json 文件".into())
    })?;
    Ok(Json(
        state
            .app
            .upload_lab_results(&user.actor, temp.path(), &name)
            .await?,
    ))
}

pub(super) async fn api_my_results(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<MyResults> {
    Ok(Json(state.app.my_results(&user.actor).await?))
}
