//! The home page (the jurisdiction's figures and today's tasks) and the page of a capability not
//! built yet (建设中).

use super::*;

#[derive(Template)]
#[template(path = "home.html")]
pub(super) struct HomePage {
    layout: Layout,
    greeting: String,
    residents: i64,
    households: i64,
    grids: i64,
    today: Vec<fangkong_app::today::TodayItem>,
    /// Other places the role goes often.
    tasks: Vec<(String, String)>,
    /// The situation picture and what is late, for the command office's roles (their home).
    command: Option<(
        fangkong_app::command::Situation,
        fangkong_app::command::LateList,
    )>,
}

pub(super) async fn home(State(state): State<AppState>, page: PageUser) -> PageResult {
    let actor = &page.user.actor;
    let jurisdiction = actor.jurisdiction.as_str().to_string();
    let (residents, households, grids) = if actor.role.allows(Permission::ViewPopulation) {
        let o = state
            .app
            .region_overview(actor, &jurisdiction)
            .await
            .map_err(|e| page.error(e))?;
        (o.residents, o.households, o.grids)
    } else {
        (0, 0, 0)
    };
    // Today's work first, with counts, from the modules' own functions.
    let today = state
        .app
        .todays_work(actor)
        .await
        .map_err(|e| page.error(e))?;
    let mut tasks: Vec<(String, String)> = Vec::new();
    if actor.role.allows(Permission::ViewPopulation) {
        tasks.push((
            "辖区人口与网格总览".into(),
            format!("/regions/{jurisdiction}"),
        ));
    }
    if actor.role.allows(Permission::SearchRegister) {
        tasks.push(("查找居民".into(), "/residents".into()));
    }
    let command = if matches!(actor.role, Role::Commander | Role::DutyOfficer) {
        let situation = state.app.situation(actor, "").await;
        let late = state.app.late_list(actor).await;
        Some((
            situation.map_err(|e| page.error(e))?,
            late.map_err(|e| page.error(e))?,
        ))
    } else {
        None
    };
    let greeting = format!("{}，您好", actor.display_name);
    Ok(render(&HomePage {
        layout: page.layout("home"),
        greeting,
        residents,
        households,
        grids,
        today,
        tasks,
        command,
    }))
}

#[derive(Template)]
#[template(path = "module.html")]
pub(super) struct ModulePage {
    layout: Layout,
    label: &'static str,
}

pub(super) async fn module_page(page: PageUser, Path(slug): Path<String>) -> PageResult {
    let capability = CAPABILITIES
        .iter()
        .find(|c| c.slug == slug)
        .ok_or_else(|| page.error(AppError::NotFound("该模块")))?;
    let active = capability.slug;
    Ok(render(&ModulePage {
        layout: page.layout(active),
        label: capability.label_zh,
    }))
}
