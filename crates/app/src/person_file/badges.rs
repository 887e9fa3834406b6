//! Status badges on the register's lists (household members, a grid's people under watch, search
//! results): one status query per list, never one per row.

use super::*;

/// A resident of a grid with at least one status, as the grid's watch list shows them.
#[derive(Debug, Clone, Serialize)]
pub struct WatchedResident {
    pub resident_id: i64,
    pub name: PersonName,
    pub household_number: String,
    pub relation: String,
    pub badges: Vec<BadgeView>,
}

/// The badges of each resident among `rows` (residents without a status have no entry).
pub(crate) fn badges_by_resident(rows: Vec<ResidentStatusRow>) -> HashMap<i64, Vec<BadgeView>> {
    let mut sources: HashMap<i64, Vec<(StatusSource, String)>> = HashMap::new();
    for row in rows {
        sources
            .entry(row.resident_id)
            .or_default()
            .push((row.source, row.code));
    }
    sources
        .into_iter()
        .filter_map(|(id, rows)| {
            let badges: Vec<BadgeView> = badges_of(rows.iter().map(|(s, c)| (*s, c.as_str())))
                .into_iter()
                .map(BadgeView::from)
                .collect();
            (!badges.is_empty()).then_some((id, badges))
        })
        .collect()
}

impl App {
    /// The badges of a household's members, by resident id (the household inside the
    /// jurisdiction, as its page requires).
    pub async fn household_badges(
        &self,
        actor: &Actor,
        number: &str,
    ) -> AppResult<HashMap<i64, Vec<BadgeView>>> {
        actor.require(Permission::SearchRegister)?;
        let household = load_within(actor, self.store.household(number)).await?;
        Ok(badges_by_resident(
            self.store
                .resident_statuses(StatusScope::Household(&household.number))
                .await?,
        ))
    }

    /// The residents of a grid with any status now (case, contact, measure, non-green code, open
    /// lead), by household, each with their badges: the grid worker's people to watch.
    pub async fn grid_watch_list(
        &self,
        actor: &Actor,
        grid_code: &str,
    ) -> AppResult<Vec<WatchedResident>> {
        actor.require(Permission::SearchRegister)?;
        let grid = crate::parse_region_code(grid_code)?;
        actor.require_within(&grid)?;
        let rows = self
            .store
            .resident_statuses(StatusScope::Grid(grid.as_str()))
            .await?;
        // Rows come by household and resident; keep that order, one entry per resident.
        let mut order: Vec<(i64, PersonName, String, String)> = Vec::new();
        for row in &rows {
            if order.last().is_none_or(|(id, ..)| *id != row.resident_id) {
                order.push((
                    row.resident_id,
                    row.name.clone(),
                    row.household_number.clone(),
                    row.relation.clone(),
                ));
            }
        }
        let mut badges = badges_by_resident(rows);
        Ok(order
            .into_iter()
            .filter_map(|(resident_id, name, household_number, relation)| {
                badges.remove(&resident_id).map(|badges| WatchedResident {
                    resident_id,
                    name,
                    household_number,
                    relation,
                    badges,
                })
            })
            .collect())
    }

    /// [`App::search_residents`] with each result's badges (one status query for the page).
    pub async fn search_residents_badged(
        &self,
        actor: &Actor,
        query: &str,
    ) -> AppResult<Vec<(crate::population::ResidentView, Vec<BadgeView>)>> {
        let results = self.search_residents(actor, query).await?;
        let ids: Vec<i64> = results.iter().map(|r| r.id).collect();
        let mut badges = badges_by_resident(
            self.store
                .resident_statuses(StatusScope::Residents(&ids))
                .await?,
        );
        Ok(results
            .into_iter()
            .map(|r| {
                let b = badges.remove(&r.id).unwrap_or_default();
                (r, b)
            })
            .collect())
    }
}
