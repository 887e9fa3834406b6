//! Appeals (申诉): the staff list and decision, a resident's own appeal.

use super::*;

#[derive(Template)]
#[template(path = "health_code/appeals.html")]
pub(super) struct AppealsPage {
    layout: Layout,
    appeals: fangkong_app::Page<AppealView>,
    rows: Vec<(String, &'static str, String)>,
    status: String,
    can_decide: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AppealsQuery {
    status: String,
    decided: String,
}

async fn appeals_page_with(
    state: &AppState,
    page: &PageUser,
    status: String,
    flash: Option<Flash>,
) -> PageResult {
    let filter = match status.as_str() {
        "all" => None,
        "" => Some("open"),
        other => Some(other),
    };
    let appeals = state
        .app
        .appeals(&page.user.actor, filter)
        .await
        .map_err(|e| page.error(e))?;
    let rows = appeals
        .rows
        .iter()
        .map(|a| {
            (
                beijing_time(a.appeal.filed_at),
                appeal_status_label(&a.appeal.status),
                time_or_dash(a.appeal.decided_at),
            )
        })
        .collect();
    let mut layout = page.layout("code_appeals");
    layout.flash = flash;
    Ok(render(&AppealsPage {
        layout,
        appeals,
        rows,
        status,
        can_decide: page.can(Permission::DecideHealthCodes),
    }))
}

pub(super) async fn appeals_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<AppealsQuery>,
) -> PageResult {
    let flash = match q.decided.as_str() {
        "accepted" => ok_flash("已核实通过，申诉人的健康码已转绿"),
        "rejected" => ok_flash("已驳回申诉，处理意见已告知申诉人"),
        _ => None,
    };
    appeals_page_with(&state, &page, q.status, flash).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct DecideInput {
    accept: String,
    decision: String,
}

pub(super) async fn decide_appeal_submit(
    State(state): State<AppState>,
    page: PageUser,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<DecideInput>,
) -> PageResult {
    let accept = f.accept == "1";
    let next = state
        .app
        .decide_appeal(&page.user.actor, id, accept, &f.decision)
        .await
        .map(|_| {
            format!(
                "/codes/appeals?decided={}",
                if accept { "accepted" } else { "rejected" }
            )
        });
    form_page(&page, next, |flash| {
        appeals_page_with(&state, &page, String::new(), flash)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AppealInput {
    reason: String,
}

pub(super) async fn my_appeal_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<AppealInput>,
) -> PageResult {
    let next = state
        .app
        .file_appeal(&page.user.actor, &f.reason)
        .await
        .map(|_| "/me/code?appealed=1".to_string());
    form_page(&page, next, |flash| {
        my_code_page_with(&state, &page, f.reason, flash)
    })
    .await
}
