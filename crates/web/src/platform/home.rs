//! The home page (the jurisdiction's figures and today's tasks) and the page of a capability not
//! built yet (建设中).

use fangkong_app::today::TodayItem;

use super::*;

#[derive(Template)]
#[template(path = "home.html")]
pub(super) struct HomePage {
    layout: Layout,
    greeting: String,
    residents: i64,
    households: i64,
    grids: i64,
    today: Vec<TodayItem>,
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
    // The figures, today's work and (for the command office) the picture and the late list are
    // read side by side: each is a handful of counter queries, and together they are the page.
    let population = async {
        if actor.role.allows(Permission::ViewPopulation) {
            let o = state.app.region_overview(actor, &jurisdiction).await?;
            Ok((o.residents, o.households, o.grids))
        } else {
            Ok::<_, AppError>((0, 0, 0))
        }
    };
    // The command office's home is the picture and the late list (which holds the counted work
    // of the day other roles see as today's work), then the lists a commander watches.
    let ((residents, households, grids), today, command) =
        if matches!(actor.role, Role::Commander | Role::DutyOfficer) {
            let (population, situation, late) = tokio::try_join!(
                population,
                state.app.situation(actor, ""),
                state.app.late_list(actor)
            )
            .map_err(|e| page.error(e))?;
            (population, command_today(), Some((situation, late)))
        } else {
            let (population, today) = tokio::try_join!(population, state.app.todays_work(actor))
                .map_err(|e| page.error(e))?;
            (population, today, None)
        };
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

/// A command office's work of the day beyond what is late (the late list above it on the
/// page): the lists it watches.
fn command_today() -> Vec<TodayItem> {
    [
        ("病例与密接", "/cases"),
        ("健康码赋码与申诉", "/codes"),
        ("风险区域划定与调整", "/risk-areas"),
        ("日报告与零报告", "/command/reports"),
        ("今日值班", "/command/duty"),
    ]
    .into_iter()
    .map(|(label, href)| TodayItem {
        label: label.into(),
        count: None,
        href: href.into(),
        urgent: false,
    })
    .collect()
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
