//! Big-data push imports (大数据推送, `/leads/import`): the upload, its report and problem rows, the
//! template.

use super::*;

#[derive(Template)]
#[template(path = "leads/import.html")]
pub(super) struct ImportPage {
    layout: Layout,
    report: Option<LeadImportReport>,
    /// (run, start time, 已完成 / 进行中 / 已中断).
    recent: Vec<(LeadImportRecord, String, &'static str)>,
    columns: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ReportQuery {
    report: Option<i64>,
}

async fn import_page_with(
    state: &AppState,
    page: &PageUser,
    report: Option<LeadImportReport>,
    flash: Option<Flash>,
) -> PageResult {
    let recent = state
        .app
        .recent_lead_imports(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?
        .into_iter()
        .map(|r| {
            let at = beijing_time(r.started_at);
            let status = crate::pages::run_status(r.finished_at, r.interrupted_at);
            (r, at, status)
        })
        .collect();
    let mut layout = page.layout("leads");
    layout.flash = flash;
    Ok(render(&ImportPage {
        layout,
        report,
        recent,
        columns: PUSH_COLUMNS.join(","),
    }))
}

pub(super) async fn import_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<ReportQuery>,
) -> PageResult {
    let report = match q.report {
        Some(id) => Some(
            state
                .app
                .lead_import_report(&page.user.actor, id)
                .await
                .map_err(|e| page.error(e))?,
        ),
        None => None,
    };
    import_page_with(&state, &page, report, None).await
}

pub(super) async fn import_submit(
    State(state): State<AppState>,
    page: PageUser,
    mut multipart: Multipart,
) -> PageResult {
    let upload = read_upload(&state, &page.user, Permission::SendLeads, &mut multipart)
        .await
        .map_err(|e| page.error(e))?;
    let Some((name, temp)) = upload.filter(|(name, _)| !name.is_empty()) else {
        let e = AppError::Invalid("请选择要导入的推送文件（.csv 或 .xlsx）".into());
        return form_page(&page, Err(e), |flash| {
            import_page_with(&state, &page, None, flash)
        })
        .await;
    };
    let next = state
        .app
        .import_leads(&page.user.actor, temp.path(), &name)
        .await
        .map(|report| format!("/leads/import?report={}", report.import_id));
    form_page(&page, next, |flash| {
        import_page_with(&state, &page, None, flash)
    })
    .await
}

pub(super) async fn problems_download(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    let bytes = state
        .app
        .lead_import_problem_file(&page.user.actor, id)
        .await
        .map_err(|e| page.error(e))?;
    Ok(download(
        bytes.into(),
        &format!("推送问题行-{id}.csv"),
        "text/csv; charset=utf-8",
    ))
}

pub(super) async fn template_download(page: PageUser) -> PageResult {
    page.user
        .actor
        .require(Permission::SendLeads)
        .map_err(|e| page.error(e))?;
    Ok(download(
        push_template().into(),
        "大数据推送模板.csv",
        "text/csv; charset=utf-8",
    ))
}
