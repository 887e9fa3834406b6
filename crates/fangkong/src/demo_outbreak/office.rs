//! The office's routine in the living outbreak: every three hours the passes, allocation, trips,
//! check-ins and tests; every morning home check-ins, releases and cleaned rooms (and, when asked,
//! the consistency audit); every evening the risk areas reviewed.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use fangkong_app::isolation::TransferForm;
use fangkong_domain::time::{beijing_date, beijing_label};

use super::OutbreakPlayer;

impl OutbreakPlayer {
    /// The work of three hours: the passes carry new cases and contacts into leads and measures;
    /// trips on the road arrive; rooms are allocated; coaches and ambulances leave; tests due are
    /// recorded.
    pub(super) async fn operations(&mut self) -> Result<()> {
        let app = self.app.clone();
        app.try_run_code_events().await?;
        app.try_run_event_passes().await?;
        // The big-data push: companions of the cases just reported, visitors of areas just
        // designated, the e-fence of the last whole day; its leads land at the next pass.
        app.try_run_analytics().await?;
        self.verify_alerts().await?;
        // Trips dispatched at the last round arrive: people check in (temperature taken), patients
        // are handed over to the hospital; vehicles are disinfected and free again.
        for (trip, vehicle, measures, to_hospital) in std::mem::take(&mut self.trips) {
            if app
                .advance_transfer(&self.ops, trip, &"handed_over".into())
                .await
                .is_err()
            {
                continue;
            }
            if to_hospital {
                self.stats.admitted += measures.len();
            } else {
                for id in &measures {
                    if app
                        .site_check_in(&self.ops, *id, &Default::default())
                        .await
                        .is_ok()
                    {
                        self.stats.checked_in += 1;
                        let reading = if id % 41 == 0 { "37.6" } else { "36.5" };
                        app.record_site_temperature(&self.ops, *id, reading).await?;
                    }
                }
            }
            app.disinfect_vehicle(&self.ops, vehicle).await?;
            self.busy.remove(&vehicle);
        }
        app.try_run_event_passes().await?;
        app.confirm_allocation(&self.ops, 10_000).await?;
        // Coaches to the sites (35 seats), the allocated grouped by site.
        let mut by_site: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for m in app.isolation_measures(&self.ops, "allocated").await? {
            if let Some(site) = m.site_id {
                by_site.entry(site).or_default().push(m.id);
            }
        }
        for people in by_site.values() {
            for chunk in people.chunks(35) {
                let Some(coach) = self.free(&self.facilities.coaches.clone()) else {
                    break;
                };
                self.dispatch(coach, chunk.to_vec(), None).await?;
            }
        }
        // Ambulances for cases waiting, to the designated hospitals and the fangcang in turn.
        let awaiting = app
            .isolation_measures(&self.ops, "awaiting_hospital")
            .await?;
        for (n, m) in awaiting.iter().enumerate() {
            let Some(ambulance) = self.free(&self.facilities.ambulances.clone()) else {
                break;
            };
            let hospitals = &self.facilities.hospitals;
            let hospital = hospitals[(m.id as usize + n) % hospitals.len().max(1)];
            self.dispatch(ambulance, vec![m.id], Some(hospital)).await?;
        }
        // Tests due: negative unless the person carries the virus (then the case is found by the
        // same test, as the outbreak says, and no negative is recorded for them).
        let now = self.clock_now();
        let carriers: HashSet<i64> = self
            .outbreak
            .infections
            .iter()
            .filter(|i| i.infected_at + Duration::days(2) <= now)
            .map(|i| self.people[i.person].id)
            .collect();
        for t in app.measure_tests_due(&self.ops).await? {
            let resident = app
                .store_for_tools()
                .isolation_measure(t.measure_id)
                .await?
                .and_then(|m| m.resident_id);
            if resident.is_some_and(|r| carriers.contains(&r)) {
                continue;
            }
            app.record_test_result(&self.ops, t.test_id, "negative")
                .await
                .ok();
        }
        Ok(())
    }

    pub(super) fn clock_now(&self) -> DateTime<Utc> {
        use fangkong_app::Clock as _;
        self.clock.now()
    }

    fn free(&self, vehicles: &[i64]) -> Option<i64> {
        vehicles.iter().copied().find(|v| !self.busy.contains(v))
    }

    async fn dispatch(
        &mut self,
        vehicle: i64,
        measures: Vec<i64>,
        hospital: Option<i64>,
    ) -> Result<()> {
        let trip = self
            .app
            .create_transfer(
                &self.ops,
                &TransferForm {
                    vehicle_id: vehicle,
                    measure_ids: measures.clone(),
                    hospital_id: hospital,
                },
            )
            .await?;
        self.app
            .advance_transfer(&self.ops, trip, &"picked_up".into())
            .await?;
        self.busy.insert(vehicle);
        self.trips
            .push((trip, vehicle, measures, hospital.is_some()));
        self.stats.trips += 1;
        Ok(())
    }

    /// 09:00: people at home check in (one in five forgets), releases due, half the rooms left
    /// yesterday cleaned.
    pub(super) async fn morning(&mut self) -> Result<()> {
        let app = self.app.clone();
        if self.audit_daily {
            // What the three-hourly passes have not carried yet is left out (three hours).
            let report = app.check_consistency(Duration::hours(3)).await?;
            let broken = report
                .broken()
                .map(|r| {
                    format!(
                        "{}：{} 处（{}）",
                        r.rule_zh,
                        r.violations.count,
                        r.violations.examples.join("、")
                    )
                })
                .collect::<Vec<_>>();
            let day = beijing_date(self.clock_now())
                .format("%Y-%m-%d")
                .to_string();
            self.daily_audits.push((day, broken));
        }
        let home = app.home_board(&self.ops).await?;
        let day = self.clock_now().timestamp() / 86_400;
        for p in &home.people.rows {
            if (p.measure_id + day) % 5 == 4 {
                continue;
            }
            let fever = (p.measure_id + day) % 53 == 0;
            app.home_check_in(
                &self.ops,
                p.measure_id,
                if fever { "37.4" } else { "36.4" },
                if fever { "咽痛" } else { "" },
            )
            .await?;
            if (p.measure_id + day) % 97 == 7 {
                app.record_door_alarm(
                    &self.ops,
                    p.measure_id,
                    &format!("MC-{:05}", p.measure_id),
                    "door_opened",
                    "夜间门磁开启",
                )
                .await?;
            }
        }
        for m in app.isolation_measures(&self.ops, "in_site").await? {
            if app.release_measure(&self.ops, m.id).await.is_ok() {
                self.stats.released += 1;
            }
        }
        for site in &self.facilities.sites {
            let detail = app.isolation_site_detail(&self.ops, *site).await?;
            for room in detail.rooms.iter().filter(|r| r.status == "cleaning") {
                app.set_room_status(&self.ops, room.id, "free").await.ok();
            }
        }
        // The county's bulletin of yesterday: drafted from the figures, reviewed, published.
        let yesterday = (beijing_date(self.clock_now()) - Duration::days(1)).to_string();
        let bulletin = app.draft_bulletin(&self.commander, &yesterday).await?;
        app.publish_bulletin(&self.commander, bulletin).await?;
        Ok(())
    }

    /// 17:00: each area without a case for two days gets the day's all-negative round; an area
    /// whose conditions are met steps down.
    pub(super) async fn area_review(&mut self) -> Result<()> {
        let app = self.app.clone();
        let now = self.clock_now();
        let mut latest: HashMap<String, DateTime<Utc>> = HashMap::new();
        for infection in &self.outbreak.infections {
            if let Some((found, _)) = infection.found.filter(|f| f.0 <= now) {
                let village = self.people[infection.person].grid_code[..12].to_string();
                let entry = latest.entry(village).or_insert(found);
                *entry = (*entry).max(found);
            }
        }
        for (village, area) in self.areas.clone() {
            if latest
                .get(&village)
                .is_some_and(|last| now - *last < Duration::days(2))
            {
                continue;
            }
            app.record_area_round(&self.commander, area, None, &beijing_label(now))
                .await
                .ok();
            let view = app.risk_area(&self.commander, area).await?;
            if let Some(next) = view.view.next.filter(|n| n.ready) {
                app.confirm_area_step(&self.commander, area, &next.to_code)
                    .await
                    .ok();
            }
        }
        Ok(())
    }
}
