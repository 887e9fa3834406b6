//! The colour policy (赋码规则) in force for a jurisdiction: choosing it.

use super::*;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct PolicyInput {
    policy: String,
}

pub(super) async fn policy_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<PolicyInput>,
) -> PageResult {
    let next = state
        .app
        .set_code_policy(&page.user.actor, f.policy.trim())
        .await
        .map(|report| format!("/codes?policy={}-{}", report.people, report.changed));
    form_page(&page, next, |flash| {
        codes_page_with(&state, &page, String::new(), String::new(), flash)
    })
    .await
}
