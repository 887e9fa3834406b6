//! Codes (健康码): the overview with the colours of a jurisdiction, 应检未检, a resident's own code
//! page and its API.

use super::*;

#[derive(Template)]
#[template(path = "health_code/codes.html")]
pub(super) struct CodesPage {
    layout: Layout,
    o: CodeOverview,
    colour: String,
    colours: Vec<(&'static str, &'static str)>,
    rows: Vec<(String, &'static str)>,
    can_decide: bool,
    id_types: Vec<(&'static str, &'static str)>,
    round_id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct CodesQuery {
    colour: String,
    marked: String,
    policy: String,
}

pub(super) async fn codes_page_with(
    state: &AppState,
    page: &PageUser,
    colour: String,
    round_id: String,
    flash: Option<Flash>,
) -> PageResult {
    let o = state
        .app
        .code_overview(
            &page.user.actor,
            Some(colour.as_str()).filter(|c| !c.is_empty()),
        )
        .await
        .map_err(|e| page.error(e))?;
    let rows = o
        .people
        .rows
        .iter()
        .map(|p| {
            (
                p.turns_green_at
                    .map(beijing_time)
                    .unwrap_or_else(|| "—".into()),
                colour_class(&p.colour),
            )
        })
        .collect();
    let mut layout = page.layout("codes");
    layout.flash = flash;
    Ok(render(&CodesPage {
        layout,
        o,
        colour,
        colours: CodeColour::ALL
            .iter()
            .map(|c| (c.code(), c.label_zh()))
            .collect(),
        rows,
        can_decide: page.can(Permission::DecideHealthCodes),
        id_types: id_types(),
        round_id,
    }))
}

pub(super) async fn codes_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<CodesQuery>,
) -> PageResult {
    let flash = if !q.marked.is_empty() {
        ok_flash(format!(
            "已标记应检未检 {} 人，其健康码已重新计算",
            q.marked
        ))
    } else if !q.policy.is_empty() {
        ok_flash(format!(
            "已切换赋码规则，已重新计算 {} 人，其中 {} 人的健康码有变化",
            q.policy.split('-').next().unwrap_or("0"),
            q.policy.split('-').nth(1).unwrap_or("0")
        ))
    } else {
        None
    };
    codes_page_with(&state, &page, q.colour, String::new(), flash).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct UntestedInput {
    round_id: String,
}

pub(super) async fn untested_submit(
    State(state): State<AppState>,
    page: PageUser,
    CsrfForm(f): CsrfForm<UntestedInput>,
) -> PageResult {
    let result = match f.round_id.trim().parse::<i64>() {
        Ok(round) => state.app.mark_round_untested(&page.user.actor, round).await,
        Err(_) => Err(AppError::Invalid(format!(
            "轮次编号“{}”应为数字（见核酸检测轮次页面）",
            f.round_id.trim()
        ))),
    };
    let next = result.map(|marked| format!("/codes?marked={marked}"));
    form_page(&page, next, |flash| {
        codes_page_with(&state, &page, String::new(), f.round_id, flash)
    })
    .await
}

#[derive(Template)]
#[template(path = "health_code/my_code.html")]
pub(super) struct MyCodePage {
    layout: Layout,
    m: MyCode,
    qr_svg: String,
    colour_class: &'static str,
    badge_class: &'static str,
    expires: String,
    refresh_seconds: u32,
    changes: Vec<(String, &'static str, &'static str)>,
    appeals: Vec<(String, &'static str, String)>,
    reason: String,
}

pub(super) async fn my_code_page_with(
    state: &AppState,
    page: &PageUser,
    reason: String,
    flash: Option<Flash>,
) -> PageResult {
    let m = state
        .app
        .my_code(&page.user.actor)
        .await
        .map_err(|e| page.error(e))?;
    let changes = m
        .changes
        .iter()
        .map(|c| {
            (
                beijing_time(c.at),
                c.to_colour.label_zh(),
                colour_class(c.to_colour.code()),
            )
        })
        .collect();
    let appeals = m
        .appeals
        .iter()
        .map(|a| {
            (
                beijing_time(a.filed_at),
                appeal_status_label(&a.status),
                a.decision.clone().unwrap_or_default(),
            )
        })
        .collect();
    let mut layout = page.layout("my_code");
    layout.flash = flash;
    Ok(render(&MyCodePage {
        layout,
        qr_svg: qr_svg(&m.token),
        colour_class: colour_class(&m.code.colour),
        badge_class: if m.code.badge == "none" {
            "grey"
        } else {
            "fresh"
        },
        expires: beijing_time(m.token_expires_at),
        refresh_seconds: MY_CODE_REFRESH_SECONDS,
        changes,
        appeals,
        reason,
        m,
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct AppealedQuery {
    appealed: String,
}

pub(super) async fn my_code_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<AppealedQuery>,
) -> PageResult {
    let flash = if q.appealed.is_empty() {
        None
    } else {
        ok_flash("申诉已提交，处理结果会显示在本页")
    };
    my_code_page_with(&state, &page, String::new(), flash).await
}

pub(super) async fn api_my_code(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> ApiResult<MyCode> {
    Ok(Json(state.app.my_code(&user.actor).await?))
}
