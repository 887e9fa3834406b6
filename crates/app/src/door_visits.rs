//! Door-to-door checks (敲门行动, "不漏一户、不落一人"): visits per household, the ledger per grid.

use chrono::{NaiveDate, TimeZone};
use fangkong_domain::region::RegionLevel;
use fangkong_domain::role::Permission;
use fangkong_store::{DoorVisitRecord, UnvisitedHousehold};
use serde::Serialize;

use crate::scope::load_within;
use crate::{Actor, App, AppError, AppResult, audit_by, china_offset, parse_region_code};

/// A visit as the grid worker fills it in at the door.
#[derive(Debug, Clone, Default)]
pub struct DoorVisitForm {
    pub present_count: String,
    pub away_count: String,
    pub arrivals_count: String,
    pub arrivals_note: String,
    pub untested_count: String,
    pub unvaccinated_count: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DoorLedger {
    pub grid_code: String,
    pub grid_name: String,
    pub since: NaiveDate,
    pub households_total: i64,
    pub households_visited: i64,
    pub arrivals: i64,
    pub untested: i64,
    pub unvaccinated: i64,
    pub unvisited: Vec<UnvisitedHousehold>,
}

fn count(field: &str, label: &str) -> AppResult<i64> {
    let field = field.trim();
    if field.is_empty() {
        return Ok(0);
    }
    match field.parse::<i64>() {
        Ok(n) if (0..=200).contains(&n) => Ok(n),
        _ => Err(AppError::Invalid(format!(
            "“{label}”应填写0到200之间的人数，而不是“{field}”"
        ))),
    }
}

impl App {
    /// Records a visit to a household in the actor's jurisdiction.
    pub async fn record_door_visit(
        &self,
        actor: &Actor,
        household_number: &str,
        form: &DoorVisitForm,
    ) -> AppResult<i64> {
        actor.require(Permission::RecordDoorVisit)?;
        let household = load_within(actor, self.store.household(household_number)).await?;
        let visit = DoorVisitRecord {
            id: 0,
            household_number: household.number.clone(),
            grid_code: household.grid_code.clone(),
            visited_at: self.now_unix(),
            visitor: actor.display_name.clone(),
            present_count: count(&form.present_count, "在家人数")?,
            away_count: count(&form.away_count, "外出人数")?,
            arrivals_count: count(&form.arrivals_count, "外来返乡人数")?,
            arrivals_note: form.arrivals_note.trim().chars().take(200).collect(),
            untested_count: count(&form.untested_count, "未检测人数")?,
            unvaccinated_count: count(&form.unvaccinated_count, "未接种人数")?,
            note: form.note.trim().chars().take(500).collect(),
        };
        if visit.arrivals_count > 0 && visit.arrivals_note.is_empty() {
            return Err(AppError::Invalid(
                "有外来返乡人员时，请在“来自何处”里写明从哪里来、何时到达".into(),
            ));
        }
        let id = self.store.insert_door_visit(&visit).await?;
        audit_by(
            self,
            actor,
            "create",
            &format!("door_visit:{id}"),
            &format!("household:{}", household.number),
        )
        .await?;
        Ok(id)
    }

    /// The grid's ledger: households not visited since `since` (a Beijing date), with the totals.
    pub async fn door_ledger(
        &self,
        actor: &Actor,
        grid_code: &str,
        since: NaiveDate,
    ) -> AppResult<DoorLedger> {
        actor.require(Permission::ViewPopulation)?;
        let grid = parse_region_code(grid_code)?;
        if grid.level() != RegionLevel::Grid {
            return Err(AppError::Invalid(
                "敲门台账按网格查看：请选择一个网格（15位编码）".into(),
            ));
        }
        actor.require_within(&grid)?;
        let since_unix = china_offset()
            .from_local_datetime(&since.and_hms_opt(0, 0, 0).expect("midnight exists"))
            .single()
            .map(|t| t.timestamp())
            .ok_or_else(|| AppError::Invalid("日期无效".into()))?;
        let (lower, upper) = grid.subtree_range();
        let totals = self
            .store
            .subtree_counts(grid.as_str(), (&lower, &upper))
            .await?;
        let (visited, arrivals, untested, unvaccinated) = self
            .store
            .door_visit_totals(grid.as_str(), since_unix)
            .await?;
        let unvisited = self
            .store
            .unvisited_households(grid.as_str(), since_unix)
            .await?;
        Ok(DoorLedger {
            grid_name: self.region_name(&grid).await?,
            grid_code: grid.as_str().to_string(),
            since,
            households_total: totals.households,
            households_visited: visited,
            arrivals,
            untested,
            unvaccinated,
            unvisited,
        })
    }
}
