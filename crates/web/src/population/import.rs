//! Import and export of the register (导入导出): the upload with its report and problem rows, the
//! export download.

use super::*;

#[derive(Template)]
#[template(path = "import.html")]
pub(super) struct ImportPage {
    layout: Layout,
    columns: String,
    can_import: bool,
    report: Option<ImportReport>,
    /// (run, start time, 已完成 / 进行中 / 已中断).
    imports: Vec<(ImportRecord, String, &'static str)>,
}

async fn import_page_with(
    state: &AppState,
    page: &PageUser,
    report: Option<ImportReport>,
) -> PageResult {
    let imports = if page.can(Permission::ImportPopulation) {
        state
            .app
            .recent_imports(&page.user.actor)
            .await
            .map_err(|e| page.error(e))?
    } else {
        Vec::new()
    };
    Ok(render(&ImportPage {
        layout: page.layout("import"),
        columns: fangkong_domain::resident_row::COLUMNS.join(","),
        can_import: page.can(Permission::ImportPopulation),
        report,
        imports: imports
            .into_iter()
            .map(|i| {
                let status = run_status(i.finished_at, i.interrupted_at);
                (i.clone(), beijing_time(i.started_at), status)
            })
            .collect(),
    }))
}

pub(super) async fn import_page(State(state): State<AppState>, page: PageUser) -> PageResult {
    import_page_with(&state, &page, None).await
}

pub(super) async fn import_submit(
    State(state): State<AppState>,
    page: PageUser,
    mut multipart: Multipart,
) -> PageResult {
    let upload = read_upload(
        &state,
        &page.user,
        Permission::ImportPopulation,
        &mut multipart,
    )
    .await
    .map_err(|e| page.error(e))?;
    let Some((name, temp)) = upload.filter(|(name, _)| !name.is_empty()) else {
        return Err(page.error(AppError::Invalid("请选择要导入的文件".into())));
    };
    let report = state
        .app
        .import_residents(&page.user.actor, temp.path(), &name)
        .await
        .map_err(|e| page.error(e))?;
    import_page_with(&state, &page, Some(report)).await
}

pub(super) async fn import_problems_download(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    // Written page by page to a temporary file, then streamed: memory stays flat.
    let temp = tempfile::NamedTempFile::new().map_err(|e| page.error(AppError::internal(e)))?;
    let file = temp
        .reopen()
        .map_err(|e| page.error(AppError::internal(e)))?;
    state
        .app
        .write_import_problem_file(&page.user.actor, id, file)
        .await
        .map_err(|e| page.error(e))?;
    let file = tokio::fs::File::open(temp.path())
        .await
        .map_err(|e| page.error(AppError::internal(e)))?;
    drop(temp);
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok(download(
        body,
        &format!("导入问题行-{id}.csv"),
        "text/csv; charset=utf-8",
    ))
}

#[derive(Deserialize)]
pub(super) struct ExportForm {
    region: String,
    #[serde(default)]
    format: String,
}

pub(super) async fn export_download(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(form): CsrfForm<ExportForm>,
) -> PageResult {
    let format = if form.format == "xlsx" {
        FileFormat::Xlsx
    } else {
        FileFormat::Csv
    };
    let temp = tempfile::NamedTempFile::new().map_err(|e| page.error(AppError::internal(e)))?;
    state
        .app
        .export_residents(&page.user.actor, &form.region, format, temp.path())
        .await
        .map_err(|e| page.error(e))?;
    // Open, then let the temporary path go: the open file streams out and disappears when done.
    let file = tokio::fs::File::open(temp.path())
        .await
        .map_err(|e| page.error(AppError::internal(e)))?;
    drop(temp);
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let (name, content_type) = match format {
        FileFormat::Csv => (
            format!("居民-{}.csv", form.region),
            "text/csv; charset=utf-8",
        ),
        FileFormat::Xlsx => (
            format!("居民-{}.xlsx", form.region),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    };
    Ok(download(body, &name, content_type))
}
