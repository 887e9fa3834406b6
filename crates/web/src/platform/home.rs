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
    tasks: Vec<(String, String)>,
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
    let mut tasks: Vec<(String, String)> = Vec::new();
    let region_link = format!("/regions/{jurisdiction}");
    match actor.role {
        Role::GridWorker => {
            if actor.jurisdiction.level() == RegionLevel::Grid {
                tasks.push((
                    "敲门行动：查看本网格未走访的住户".into(),
                    format!("/door-ledger/{jurisdiction}"),
                ));
            }
            tasks.push(("查看本辖区住户".into(), region_link));
            tasks.push(("查找居民".into(), "/residents".into()));
            tasks.push(("导入本网格居民名单（CSV/Excel）".into(), "/import".into()));
        }
        Role::Commander | Role::DutyOfficer | Role::Epidemiologist => {
            tasks.push(("辖区人口与网格总览".into(), region_link));
            if actor.role.allows(Permission::SearchRegister) {
                tasks.push(("查找居民".into(), "/residents".into()));
            }
            tasks.push(("健康码赋码与申诉".into(), "/codes".into()));
            tasks.push(("风险区域划定与调整".into(), "/risk-areas".into()));
        }
        Role::Checkpoint => {
            tasks.push(("卡口查验".into(), "/checkpoints".into()));
            tasks.push(("查询健康码".into(), "/codes".into()));
        }
        Role::Administrator => {
            tasks.push(("用户与辖区".into(), "/users".into()));
            tasks.push(("审计日志".into(), "/audit".into()));
            tasks.push(("导入居民".into(), "/import".into()));
            tasks.push(("辖区人口与网格总览".into(), region_link));
        }
        Role::Resident => {
            tasks.push(("我的健康码".into(), "/me/code".into()));
            tasks.push(("我的核酸结果".into(), "/me/results".into()));
            tasks.push(("风险区域公布".into(), "/public/risk-areas".into()));
        }
        _ => {
            if actor.role.allows(Permission::SearchRegister) {
                tasks.push(("查找居民".into(), "/residents".into()));
            }
            tasks.push(("辖区人口与网格总览".into(), region_link));
        }
    }
    let greeting = format!("{}，您好", actor.display_name);
    Ok(render(&HomePage {
        layout: page.layout("home"),
        greeting,
        residents,
        households,
        grids,
        tasks,
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
