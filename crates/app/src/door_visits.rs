//! Door-to-door checks (敲门行动, "不漏一户、不落一人"): visits per household, the ledger per grid.

use chrono::{NaiveDate, TimeZone};
use fangkong_domain::region::RegionLevel;
use fangkong_domain::role::Permission;
use fangkong_store::{DoorVisitRecord, UnvisitedHousehold};
use serde::Serialize;

use crate::scope::load_within;
use crate::{Actor, App, AppError, AppResult, audit_record, china_offset, parse_region_code};

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

/// A visit as recorded, every value parsed: what [`App::record_door_visit`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordDoorVisit {
    pub present_count: u8,
    pub away_count: u8,
    pub arrivals_count: u8,
    /// Where the arrivals came from and when (required when there are arrivals; 200 characters).
    pub arrivals_note: String,
    pub untested_count: u8,
    pub unvaccinated_count: u8,
    /// 500 characters at most.
    pub note: String,
}

/// Most people a visit may count in one column of one household.
const MOST_PEOPLE_PER_COLUMN: u8 = 200;

/// A head count typed at the door: empty = 0, else 0 to [`MOST_PEOPLE_PER_COLUMN`].
fn count(field: &str, label: &str) -> AppResult<u8> {
    let field = field.trim();
    if field.is_empty() {
        return Ok(0);
    }
    match field.parse::<u8>() {
        Ok(n) if n <= MOST_PEOPLE_PER_COLUMN => Ok(n),
        _ => Err(AppError::Invalid(format!(
            "“{label}”应填写0到{MOST_PEOPLE_PER_COLUMN}之间的人数，而不是“{field}”"
        ))),
    }
}

impl TryFrom<&DoorVisitForm> for RecordDoorVisit {
    type Error = AppError;

    fn try_from(form: &DoorVisitForm) -> Result<Self, AppError> {
        let visit = RecordDoorVisit {
            present_count: count(&form.present_count, "在家人数")?,
            away_count: count(&form.away_count, "外出人数")?,
            arrivals_count: count(&form.arrivals_count, "外来返乡人数")?,
            arrivals_note: form.arrivals_note.trim().chars().take(200).collect(),
            untested_count: count(&form.untested_count, "未检测人数")?,
            unvaccinated_count: count(&form.unvaccinated_count, "未接种人数")?,
            note: form.note.trim().chars().take(500).collect(),
        };
        if visit.arrivals_count > 0 && visit.arrivals_note.is_empty() {
            return Err(AppError::field(
                "来自何处",
                "有外来返乡人员时，请写明从哪里来、何时到达",
            ));
        }
        Ok(visit)
    }
}

impl App {
    /// Records a visit to a household in the actor's jurisdiction: the form is parsed into
    /// [`RecordDoorVisit`] before anything is read; the visit and its audit record are one
    /// transaction.
    pub async fn record_door_visit(
        &self,
        actor: &Actor,
        household_number: &str,
        form: &DoorVisitForm,
    ) -> AppResult<i64> {
        actor.require(Permission::RecordDoorVisit)?;
        let command = RecordDoorVisit::try_from(form)?;
        let household = load_within(actor, self.store.household(household_number)).await?;
        let visit = DoorVisitRecord {
            id: 0,
            household_number: household.number.clone(),
            grid_code: household.grid_code.clone(),
            visited_at: self.now_unix(),
            visitor: actor.display_name.clone(),
            present_count: command.present_count.into(),
            away_count: command.away_count.into(),
            arrivals_count: command.arrivals_count.into(),
            arrivals_note: command.arrivals_note,
            untested_count: command.untested_count.into(),
            unvaccinated_count: command.unvaccinated_count.into(),
            note: command.note,
        };
        let audit = audit_record(
            self,
            actor,
            "create",
            "",
            format!("household:{}", household.number),
        );
        Ok(self.store.insert_door_visit(&visit, &audit).await?)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> DoorVisitForm {
        DoorVisitForm {
            present_count: " 3 ".into(),
            away_count: "".into(),
            arrivals_count: "1".into(),
            arrivals_note: " 北京朝阳，11月18日到 ".into(),
            untested_count: "0".into(),
            unvaccinated_count: "2".into(),
            note: "老人行动不便".into(),
        }
    }

    #[test]
    fn a_door_visit_form_becomes_a_command_with_counts() {
        assert_eq!(
            RecordDoorVisit::try_from(&good()).unwrap(),
            RecordDoorVisit {
                present_count: 3,
                away_count: 0,
                arrivals_count: 1,
                arrivals_note: "北京朝阳，11月18日到".into(),
                untested_count: 0,
                unvaccinated_count: 2,
                note: "老人行动不便".into(),
            }
        );
    }

    #[test]
    fn each_bad_field_of_a_door_visit_is_named() {
        type Edit = fn(&mut DoorVisitForm);
        let cases: [(Edit, &str); 7] = [
            (|f| f.present_count = "abc".into(), "在家人数"),
            (|f| f.away_count = "-1".into(), "外出人数"),
            (|f| f.arrivals_count = "201".into(), "外来返乡人数"),
            (|f| f.untested_count = "1.5".into(), "未检测人数"),
            (|f| f.unvaccinated_count = "很多".into(), "未接种人数"),
            (|f| f.arrivals_note = "  ".into(), "来自何处"),
            (|f| f.present_count = "9999".into(), "9999"),
        ];
        for (edit, named) in cases {
            let mut form = good();
            edit(&mut form);
            let message = RecordDoorVisit::try_from(&form).unwrap_err().to_string();
            assert!(message.contains(named), "{named}: {message}");
        }
    }
}
