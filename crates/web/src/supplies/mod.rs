//! Supplies and livelihood pages and API (物资保障与民生) over `app::supplies`: the route tables,
//! the navigation and the capability's home (`/supplies`, the sub-areas a role works in); the
//! handlers live in one file per sub-area, named as in `crates/app/src/supplies/`.

mod cold_chain;
mod deliveries;
mod gatherings;
mod passes;
mod reserves;
mod vaccination;

use askama::Template;
use axum::Router;
use axum::routing::get;

use fangkong_domain::role::{Permission, Role};

use crate::AppState;
use crate::nav::{CapabilityHome, NavEntries, NavLink, Section, link};
use crate::pages::{Layout, PageResult, PageUser, render};

fn reserves_roles(role: Role) -> bool {
    role.allows(Permission::ViewSupplies) || role.allows(Permission::ManageReserves)
}

fn passes_roles(role: Role) -> bool {
    role.allows(Permission::ViewSupplies) || role.allows(Permission::IssuePasses)
}

fn deliveries_roles(role: Role) -> bool {
    role.allows(Permission::ViewSupplies)
        || role.allows(Permission::RequestDeliveries)
        || role.allows(Permission::FulfilDeliveries)
}

fn gatherings_roles(role: Role) -> bool {
    role.allows(Permission::ViewSupplies)
        || role.allows(Permission::FileGatherings)
        || role.allows(Permission::ApproveGatherings)
}

fn vaccination_roles(role: Role) -> bool {
    role.allows(Permission::ViewVaccination) || role.allows(Permission::RecordVaccinations)
}

fn cold_chain_roles(role: Role) -> bool {
    role.allows(Permission::ViewSupplies) || role.allows(Permission::ManageColdChain)
}

/// Supplies' links (under 物资保障与民生), and the capability's home.
pub(crate) const NAV: NavEntries = NavEntries {
    home: Some(CapabilityHome {
        capability: "supplies",
        href: |_| "/supplies",
    }),
    links: &LINKS,
};

const LINKS: [NavLink; 6] = [
    link(
        Section::Supplies,
        "物资储备",
        "/supplies/reserves",
        "supplies_reserves",
        reserves_roles,
    ),
    link(
        Section::Supplies,
        "保供通行证",
        "/supplies/passes",
        "supplies_passes",
        passes_roles,
    ),
    link(
        Section::Supplies,
        "物资配送",
        "/supplies/deliveries",
        "supplies_deliveries",
        deliveries_roles,
    ),
    link(
        Section::Supplies,
        "聚集性活动",
        "/supplies/gatherings",
        "supplies_gatherings",
        gatherings_roles,
    ),
    link(
        Section::Supplies,
        "疫苗接种",
        "/supplies/vaccination",
        "supplies_vaccination",
        vaccination_roles,
    ),
    link(
        Section::Supplies,
        "冷链食品",
        "/supplies/cold-chain",
        "supplies_cold_chain",
        cold_chain_roles,
    ),
];

/// What each sub-area is for, in a sentence a grid worker understands (the home's list).
fn purpose(href: &str) -> &'static str {
    match href {
        "/supplies/reserves" => {
            "防护、检测、设备、药品、消杀五类物资的库存台账，按30天满负荷储备算可用天数，跨地区支援调拨。"
        }
        "/supplies/passes" => {
            "保供企业、车辆和人员建档立卡，重点物资运输车辆通行证（一车一证一线路），卡口核验。"
        }
        "/supplies/deliveries" => {
            "封控、居家隔离家庭的生活物资和药品需求，按小区设置收货点、分时段取货，跟踪配送。"
        }
        "/supplies/gatherings" => {
            "婚丧宴请、会议等聚集性活动报备审批，参加人员健康码和48小时核酸查验。"
        }
        "/supplies/vaccination" => {
            "接种记录登记导入，分年龄段接种率，80岁以上和60—79岁老人未接种名单推进。"
        }
        "/supplies/cold-chain" => {
            "进口冷链食品批次、消毒证明和检测结果，从口岸到市场的流向追溯，阳性即预警。"
        }
        _ => "",
    }
}

/// One sub-area on the home page.
struct SubArea {
    label: &'static str,
    href: &'static str,
    purpose: &'static str,
}

#[derive(Template)]
#[template(path = "supplies/home.html")]
struct HomePage {
    layout: Layout,
    areas: Vec<SubArea>,
}

/// The capability's home: the sub-areas this role works in (none for a role with no part in it).
async fn home_page(page: PageUser) -> PageResult {
    let role = page.user.actor.role;
    let areas = LINKS
        .iter()
        .filter(|l| (l.shown)(role))
        .map(|l| SubArea {
            label: l.label,
            href: l.href,
            purpose: purpose(l.href),
        })
        .collect();
    Ok(render(&HomePage {
        layout: page.layout("supplies"),
        areas,
    }))
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/supplies", get(home_page))
        .merge(reserves::pages())
        .merge(passes::pages())
        .merge(deliveries::pages())
        .merge(gatherings::pages())
        .merge(vaccination::pages())
        .merge(cold_chain::pages())
}

pub fn api() -> Router<AppState> {
    Router::new()
        .merge(reserves::api())
        .merge(passes::api())
        .merge(deliveries::api())
        .merge(gatherings::api())
        .merge(vaccination::api())
        .merge(cold_chain::api())
}
