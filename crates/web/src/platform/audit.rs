//! The audit log (审计日志), newest first, filtered by action.

use super::*;

#[derive(Template)]
#[template(path = "audit.html")]
pub(super) struct AuditPage {
    layout: Layout,
    action: String,
    actions: Vec<(&'static str, &'static str)>,
    /// (time, entry, the action in words, the target in words).
    entries: Vec<(String, AuditRecord, &'static str, String)>,
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
        actions: fangkong_app::audit::AUDIT_ACTIONS.to_vec(),
        action: query.action,
        entries: entries
            .into_iter()
            .map(|e| {
                let action = fangkong_app::audit::audit_action_label(&e.action);
                let target = fangkong_app::audit::audit_target_label(&e.target);
                (beijing_time(e.at), e, action, target)
            })
            .collect(),
        next_before,
    }))
}
