//! Routine testing of key groups (重点人群): who is overdue by their schedule.

use super::*;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct KeyGroupQuery {
    region: String,
    group: String,
    schedule: String,
}

#[derive(Template)]
#[template(path = "mass_testing/key_groups.html")]
pub(super) struct KeyGroupsPage {
    layout: crate::pages::Layout,
    region: String,
    group: String,
    schedule: usize,
    groups: Vec<(&'static str, &'static str)>,
    schedules: Vec<(usize, &'static str)>,
    source: String,
    overdue: Option<KeyGroupOverdue>,
    last: Vec<String>,
}

pub(super) async fn key_groups_page(
    State(state): State<AppState>,
    page: PageUser,
    Query(q): Query<KeyGroupQuery>,
) -> PageResult {
    let schedules = state.app.routine_schedules();
    let index = q
        .schedule
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|i| *i < schedules.len())
        .unwrap_or(0);
    let schedule = &schedules[index];
    let group = KeyGroup::ALL
        .into_iter()
        .find(|g| g.code() == q.group.trim())
        .unwrap_or(KeyGroup::ALL[0]);
    let mut layout = page.layout("testing_key_groups");
    let overdue = match state
        .app
        .key_group_overdue(&page.user.actor, &q.region, group, schedule)
        .await
    {
        Ok(o) => Some(o),
        Err(e) if is_form_mistake(&e) => {
            layout.flash = Some(error_flash(&e));
            None
        }
        Err(e) => return Err(page.error(e)),
    };
    let last = overdue
        .as_ref()
        .map(|o| {
            o.people
                .iter()
                .map(|p| {
                    p.last_sampled_at
                        .map(beijing_time)
                        .unwrap_or_else(|| "从未检测".into())
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(render(&KeyGroupsPage {
        layout,
        region: q.region.trim().to_string(),
        group: group.code().to_string(),
        schedule: index,
        groups: KeyGroup::ALL
            .iter()
            .map(|g| (g.code(), g.label_zh()))
            .collect(),
        schedules: schedules
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.name))
            .collect(),
        source: fangkong_domain::basis::for_pages(schedule.source),
        overdue,
        last,
    }))
}
