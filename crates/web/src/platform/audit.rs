//! The audit log (审计日志), newest first, filtered by action.

use super::*;

#[derive(Template)]
#[template(path = "audit.html")]
pub(super) struct AuditPage {
    layout: Layout,
    action: String,
    actions: Vec<(&'static str, &'static str)>,
    entries: Vec<(String, AuditRecord)>,
    next_before: Option<i64>,
}

#[derive(Deserialize)]
pub(super) struct AuditQuery {
    #[serde(default)]
    action: String,
    before: Option<i64>,
}

pub(super) async fn audit_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(query): Query<AuditQuery>,
) -> PageResult {
    let entries = state
        .app
        .audit_log(&page.user.actor, &query.action, query.before)
        .await
        .map_err(|e| page.error(e))?;
    let next_before = if entries.len() >= 200 {
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(render(&AuditPage {
        layout: page.layout("audit"),
        actions: vec![
            ("reveal", "查看完整个人信息"),
            ("view_person_file", "查看一人一档"),
            ("export", "导出"),
            ("import", "导入"),
            ("create", "新增"),
            ("update", "修改"),
            ("login", "登录"),
            ("login_failed", "登录失败"),
            ("logout", "退出"),
        ],
        action: query.action,
        entries: entries
            .into_iter()
            .map(|e| (beijing_time(e.at), e))
            .collect(),
        next_before,
    }))
}
