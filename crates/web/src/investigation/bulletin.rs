//! The public case bulletin (病例通报) since a date.

use super::*;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct BulletinQuery {
    since: String,
}

#[derive(Template)]
#[template(path = "investigation/bulletin.html")]
pub(super) struct BulletinPage {
    layout: Layout,
    since: String,
    /// The texts, oldest first, and how many cases there are in all.
    bulletin: fangkong_app::Page<String>,
    joined: String,
}

fn parse_bulletin_since(raw: &str, today: NaiveDate) -> Result<NaiveDate, AppError> {
    match raw.trim() {
        "" => Ok(today - chrono::Duration::days(BULLETIN_DAYS)),
        text => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            AppError::Invalid(format!(
                "日期“{text}”格式不对，应为 2022-11-20 这样的年-月-日"
            ))
        }),
    }
}

pub(super) async fn bulletin_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<BulletinQuery>,
) -> PageResult {
    let since = parse_bulletin_since(&q.since, state.app.today()).map_err(|e| page.error(e))?;
    let bulletin = state
        .app
        .case_bulletin(&page.user.actor, since)
        .await
        .map_err(|e| page.error(e))?;
    Ok(render(&BulletinPage {
        layout: page.layout("cases"),
        since: since.to_string(),
        joined: bulletin.rows.join("\n"),
        bulletin,
    }))
}
