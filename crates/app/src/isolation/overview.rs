//! Capacity and the overview: rooms per region, people waiting and for how long.

use super::*;

impl App {
    pub async fn isolation_overview(&self, actor: &Actor) -> AppResult<IsolationOverview> {
        actor.require(Permission::ViewIsolation)?;
        let code = &actor.jurisdiction;
        let (lower, upper) = code.subtree_range();
        let child_len = code
            .level()
            .child()
            .map(|l| l.code_len())
            .unwrap_or(code.as_str().len()) as i64;
        let children = self.store.region_children(code.as_str()).await?;
        let names: HashMap<String, String> = children
            .iter()
            .map(|c| (c.code.clone(), c.name.clone()))
            .collect();
        let population: HashMap<String, i64> = self
            .store
            .child_counts((&lower, &upper), child_len)
            .await?
            .into_iter()
            .map(|c| (c.code, c.residents))
            .collect();
        let rooms: HashMap<String, (i64, i64)> = self
            .store
            .rooms_by_region((&lower, &upper), child_len)
            .await?
            .into_iter()
            .map(|r| (r.code, (r.rooms, r.free)))
            .collect();
        let mut codes: Vec<String> = names.keys().cloned().collect();
        for c in population.keys().chain(rooms.keys()) {
            if !names.contains_key(c) {
                codes.push(c.clone());
            }
        }
        codes.sort();
        codes.dedup();
        let line = |code: &str, name: String, residents: i64, (rooms, free): (i64, i64)| {
            let required = required_rooms(residents);
            CapacityLine {
                code: code.to_string(),
                name,
                residents,
                required,
                rooms,
                free,
                meets_norm: rooms >= required,
            }
        };
        let capacity: Vec<CapacityLine> = codes
            .iter()
            .filter(|c| population.get(*c).copied().unwrap_or(0) > 0 || rooms.contains_key(*c))
            .map(|c| {
                line(
                    c,
                    names.get(c).cloned().unwrap_or_else(|| c.clone()),
                    population.get(c).copied().unwrap_or(0),
                    rooms.get(c).copied().unwrap_or((0, 0)),
                )
            })
            .collect();
        let region_name = self.region_name(code).await?;
        let total = line(
            code.as_str(),
            region_name.clone(),
            population.values().sum(),
            (
                rooms.values().map(|r| r.0).sum(),
                rooms.values().map(|r| r.1).sum(),
            ),
        );
        let waiting = self.waiting_lines(actor, &names, child_len).await?;
        let now = self.now_unix();
        let today = self.today();
        let longest_waiting = self
            .store
            .measures_in(
                (&lower, &upper),
                &["awaiting_placement", "allocated", "awaiting_hospital"],
                20,
            )
            .await?
            .iter()
            .map(|m| view(m, now, today))
            .collect();
        let under_measure = waiting
            .iter()
            .map(|w| {
                w.awaiting_placement + w.allocated + w.in_site + w.at_home + w.awaiting_hospital
            })
            .sum();
        Ok(IsolationOverview {
            region_name,
            capacity,
            total,
            sites: self.store.isolation_sites((&lower, &upper)).await?,
            waiting,
            longest_waiting,
            tests_due_today: self
                .store
                .count_measure_tests_due((&lower, &upper), &today.to_string())
                .await?,
            under_measure,
        })
    }

    pub(super) async fn waiting_lines(
        &self,
        actor: &Actor,
        names: &HashMap<String, String>,
        child_len: i64,
    ) -> AppResult<Vec<WaitingLine>> {
        let (lower, upper) = actor.jurisdiction_range();
        let now = self.now_unix();
        let mut lines: Vec<WaitingLine> = Vec::new();
        for c in self
            .store
            .measure_status_counts((&lower, &upper), child_len)
            .await?
        {
            if lines.last().is_none_or(|l| l.code != c.code) {
                lines.push(WaitingLine {
                    name: names
                        .get(&c.code)
                        .cloned()
                        .unwrap_or_else(|| c.code.clone()),
                    code: c.code.clone(),
                    awaiting_placement: 0,
                    allocated: 0,
                    awaiting_hospital: 0,
                    in_site: 0,
                    at_home: 0,
                    longest_wait_minutes: 0,
                });
            }
            let line = lines.last_mut().expect("pushed above");
            let waits = matches!(
                c.status,
                MeasureStatus::AwaitingPlacement
                    | MeasureStatus::Allocated
                    | MeasureStatus::AwaitingHospital
            );
            match c.status {
                MeasureStatus::AwaitingPlacement => line.awaiting_placement = c.people,
                MeasureStatus::Allocated => line.allocated = c.people,
                MeasureStatus::AwaitingHospital => line.awaiting_hospital = c.people,
                MeasureStatus::InSite => line.in_site = c.people,
                MeasureStatus::AtHome => line.at_home = c.people,
                MeasureStatus::Hospitalised | MeasureStatus::Released => {}
            }
            if waits {
                line.longest_wait_minutes =
                    line.longest_wait_minutes.max((now - c.oldest).max(0) / 60);
            }
        }
        Ok(lines)
    }
}
