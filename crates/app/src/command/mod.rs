//! The command office (指挥调度与值班报送): the situation picture of a jurisdiction read through the
//! other modules' own counters, what is late across modules, the epidemic curve and the map, daily
//! and zero reports, incident reports, bulletins, and duty with its spot checks. One file per
//! sub-area; each is an `impl App` block.

mod bulletins;
pub mod curve;
pub mod duty;
pub mod incidents;
mod late;
pub mod map;
pub mod report_sheet;
pub mod reports;
mod situation;
pub mod spot_checks;

use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Permission;
use serde::Serialize;

use crate::{Actor, App, AppError, AppResult};

pub use bulletins::{BULLETIN_MAX_CHARS, BulletinEdit, BulletinView, parse_bulletin_day};
pub use curve::Curve;
pub use incidents::{IncidentDetail, IncidentForm, IncidentView};
pub use late::{ITEMS_PER_KIND, LateGroup, LateItem, LateList};
pub use map::{MapRegion, MapRiskArea, RegionMap};
pub use reports::{
    BoardRow, CorrectionForm, DailyReportDetail, DailyReportForm, DailyReportView, MissingReport,
    ReportBoard, ReportDraft,
};
pub use situation::{
    AreaFigure, CheckpointFigures, ChildSituation, ControlFigures, KindCounts, RoundFigure,
    Situation,
};

/// A region as a link: its code and name (a breadcrumb, a child to choose).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionLink {
    pub code: String,
    pub name: String,
}

/// Where a command view looks: the region, its path from the jurisdiction down, its children.
struct Place {
    code: RegionCode,
    name: String,
    path: Vec<RegionLink>,
    children: Vec<RegionLink>,
}

impl App {
    /// The region a command view asks for (`region`, empty = the jurisdiction), refused outside
    /// the actor's jurisdiction, after the permission check.
    async fn command_place(&self, actor: &Actor, region: &str) -> AppResult<Place> {
        actor.require(Permission::ViewCommand)?;
        let region = region.trim();
        let code = if region.is_empty() {
            actor.jurisdiction.clone()
        } else {
            RegionCode::parse(region).map_err(|e| AppError::field("区划", e))?
        };
        if !actor.jurisdiction.contains(&code) {
            return Err(AppError::field(
                "区划",
                "不在您的管辖范围内：只能查看本辖区及其下级区划",
            ));
        }
        let path: Vec<RegionLink> = self
            .region_path_within(actor, code.as_str())
            .await?
            .into_iter()
            .map(|r| RegionLink {
                code: r.code,
                name: r.name,
            })
            .collect();
        let name = path
            .last()
            .filter(|r| r.code == code.as_str())
            .map(|r| r.name.clone())
            .unwrap_or_else(|| code.as_str().to_string());
        let children = self
            .store
            .region_children(code.as_str())
            .await?
            .into_iter()
            .map(|r| RegionLink {
                code: r.code,
                name: r.name,
            })
            .collect();
        Ok(Place {
            code,
            name,
            path,
            children,
        })
    }
}
