//! The drill's player: the scenario's injects at their moments and, unattended, the simulated
//! teams' answers, each a call to the app as a person in the pages would make it.

use super::*;

/// How long a simulated team takes, in minutes: `usual` plus up to `spread`, or — one time in
/// `late_one_in` — `late` plus up to four hours (a team that misses its deadline now and then).
fn delay(seed: u64, n: u64, usual: i64, spread: i64, late_one_in: u64, late: i64) -> Duration {
    let r = mix(seed, n);
    let minutes = if r.is_multiple_of(late_one_in) {
        late + (r >> 8) as i64 % 240
    } else {
        usual + (r >> 8) as i64 % spread.max(1)
    };
    Duration::minutes(minutes)
}

impl DrillPlayer {
    /// Picks the drill's people from the county's register, readies the rooms and vehicles, and
    /// lays out the injects (and, with `simulated_teams`, the teams' hourly work).
    pub async fn new(
        app: &App,
        clock: Arc<SimulationClock>,
        scenario: &Scenario,
        simulated_teams: bool,
    ) -> Result<DrillPlayer> {
        let county = RegionCode::parse(&scenario.county).map_err(anyhow::Error::msg)?;
        let (lower, upper) = county.subtree_range();
        let mut grids = app.store_for_tools().grid_codes_in(&lower, &upper).await?;
        grids.sort();
        let need = (scenario.positives
            + scenario.close_contacts
            + scenario.secondary_contacts
            + scenario.key_people) as usize;
        // Each drill in the same sandbox takes new people (the earlier drills' are cases now).
        let earlier = app
            .store_for_tools()
            .drill_runs_in((&lower, &upper), 10_000)
            .await?
            .len()
            .saturating_sub(1);
        let skip = need * earlier;
        let mut people: Vec<ResidentRecord> = Vec::new();
        for grid in &grids {
            if people.len() >= skip + need {
                break;
            }
            people.extend(
                app.store_for_tools()
                    .residents_in_grid(grid, 0, 100_000)
                    .await?,
            );
        }
        people.drain(..skip.min(people.len()));
        if people.len() < need {
            bail!(
                "{} 的户籍资料只有 {} 人，不够演练需要的 {need} 人",
                scenario.county,
                people.len()
            );
        }
        let start = clock_now(&clock);
        let ops = Actor::seeding(
            Role::Administrator,
            county.clone(),
            "drill_ops",
            "演练导调组",
        );
        let township = people[0]
            .grid_code
            .get(..9)
            .unwrap_or(county.as_str())
            .to_string();
        let tag = (start.timestamp() / 3600) % 1000;
        let (coaches, ambulances, hospital) =
            facilities(app, &ops, scenario, &county, &township, tag).await?;

        let mut steps: Vec<(DateTime<Utc>, Inject)> = Vec::new();
        let hours = i64::from(scenario.hours);
        let positives = i64::from(scenario.positives);
        let span = (hours * 60 / 2).min(24 * 60);
        for i in 0..positives {
            let at = start
                + Duration::minutes(30 + i * span / positives)
                + Duration::minutes((mix(scenario.seed, i as u64) % 30) as i64);
            steps.push((at, Inject::Positive(i as usize)));
        }
        let key = i64::from(scenario.key_people);
        let span = (hours * 60 / 2).min(36 * 60);
        for j in 0..key {
            steps.push((
                start + Duration::minutes(60 + j * span / key.max(1)),
                Inject::KeyPerson(j as usize),
            ));
        }
        if simulated_teams {
            for h in 1..=hours {
                steps.push((start + Duration::hours(h), Inject::Hour));
            }
        }
        steps.sort();
        Ok(DrillPlayer {
            epi: Actor::seeding(
                Role::Epidemiologist,
                county.clone(),
                "drill_epi",
                "演练流调队",
            ),
            grid: Actor::seeding(Role::GridWorker, county.clone(), "drill_grid", "演练网格员"),
            ops,
            app: app.clone(),
            clock,
            scenario: scenario.clone(),
            simulated_teams,
            people,
            steps,
            next: 0,
            cases: HashMap::new(),
            contacts: HashMap::new(),
            leads_seen: HashMap::new(),
            trips: Vec::new(),
            coaches,
            ambulances,
            busy: Vec::new(),
            hospital,
            first_case: None,
        })
    }

    /// Plays every step up to `until`, the clock set to each step's moment.
    pub async fn play_until(&mut self, until: DateTime<Utc>) {
        self.play_steps(until, true).await;
    }

    /// Plays the steps the running clock has passed (served: the clock is never moved back).
    pub async fn play_due(&mut self, now: DateTime<Utc>) {
        self.play_steps(now, false).await;
    }

    async fn play_steps(&mut self, until: DateTime<Utc>, set_clock: bool) {
        while let Some(&(at, step)) = self.steps.get(self.next) {
            if at > until {
                break;
            }
            self.next += 1;
            if set_clock {
                self.clock.set(at);
            }
            if let Err(e) = self.play(step, at).await {
                tracing::warn!(error = format!("{e:#}"), ?step, "drill step refused");
            }
        }
    }

    fn schedule(&mut self, at: DateTime<Utc>, step: Inject) {
        let position = self.steps[self.next..].partition_point(|(t, s)| (*t, *s) <= (at, step));
        self.steps.insert(self.next + position, (at, step));
    }

    async fn play(&mut self, step: Inject, at: DateTime<Utc>) -> Result<()> {
        match step {
            Inject::Positive(i) => self.positive(i, at).await,
            Inject::KeyPerson(j) => self.key_person(j).await,
            Inject::Report(case) => Ok(self
                .app
                .update_case(&self.epi, case, &CaseAction::Reported)
                .await?),
            Inject::Contact(case, k) => self.contact(case, k, at).await,
            Inject::FirstReport => self.first_report().await,
            Inject::Hour => self.hour(at).await,
        }
    }

    /// A positive of the screening found: the case opens (sampled hours earlier — one in five
    /// results comes back late).
    async fn positive(&mut self, i: usize, at: DateTime<Utc>) -> Result<()> {
        let person = self.people[i].clone();
        let seed = self.scenario.seed;
        let sampled = at - delay(seed, 100 + i as u64, 180, 120, 5, 420);
        let form = CaseForm {
            kind: "asymptomatic".into(),
            id_type: person.id_type.clone(),
            id_number: person.id_number.to_string(),
            first_positive_at: beijing_label(sampled),
            found_by: "mass_testing".into(),
            severity: "none".into(),
            hospital: "演练定点医院".into(),
            isolated_at: beijing_label(at),
            case_key: format!("drill-{}-{}", self.steps[0].0.timestamp(), person.id),
            ..Default::default()
        };
        let case = self.app.open_case(&self.epi, &form).await?;
        self.cases.insert(i, (case, at));
        if !self.simulated_teams {
            return Ok(());
        }
        // Reported in the two hours (one in four late); contacts listed over the day (one in
        // seven late); the first report of the outbreak after the first case.
        self.schedule(
            at + delay(seed, 200 + i as u64, 30, 80, 4, 125),
            Inject::Report(case),
        );
        let close = self.scenario.close_contacts as usize;
        let positives = self.scenario.positives as usize;
        for k in (i..close).step_by(positives) {
            let after = delay(seed, 300 + k as u64, 180, 1080, 7, 1500);
            self.schedule(at + after, Inject::Contact(i, k));
        }
        if self.first_case.is_none() {
            self.first_case = Some(at);
            self.schedule(at + Duration::minutes(100), Inject::FirstReport);
        }
        Ok(())
    }

    /// A contact listed: close (k < close contacts) or secondary, via a close contact of the case;
    /// a close contact's own secondary contacts follow hours later.
    async fn contact(&mut self, case_index: usize, k: usize, at: DateTime<Utc>) -> Result<()> {
        let Some(&(case, found)) = self.cases.get(&case_index) else {
            return Ok(());
        };
        let close = self.scenario.close_contacts as usize;
        let person = self.people[self.scenario.positives as usize + k].clone();
        let via = if k >= close {
            match self.contacts.get(&((k - close) % close.max(1))) {
                Some(id) => id.to_string(),
                None => return Ok(()),
            }
        } else {
            String::new()
        };
        let form = ContactForm {
            via_contact_id: via,
            id_type: person.id_type.clone(),
            id_number: person.id_number.to_string(),
            exposure_kind: "shared_home".into(),
            first_exposure_at: beijing_label(found - Duration::hours(48)),
            last_exposure_at: beijing_label(found - Duration::hours(1)),
            ..Default::default()
        };
        let (id, _) = self.app.add_contact(&self.epi, case, &form).await?;
        self.contacts.insert(k, id);
        if k < close {
            let secondary = self.scenario.secondary_contacts as usize;
            for s in (k..secondary).step_by(close.max(1)) {
                let after = delay(self.scenario.seed, 5_000 + s as u64, 120, 360, 9, 840);
                self.schedule(at + after, Inject::Contact(case_index, close + s));
            }
        }
        Ok(())
    }

    /// A key person pushed to their grid (重点人员推送).
    async fn key_person(&mut self, j: usize) -> Result<()> {
        let s = &self.scenario;
        let index = (s.positives + s.close_contacts + s.secondary_contacts) as usize + j;
        let person = self.people[index].clone();
        let form = LeadForm {
            channel: "assist_in".into(),
            category: "left_high_risk_area".into(),
            id_type: person.id_type.clone(),
            id_number: person.id_number.to_string(),
            region_code: person.grid_code.clone(),
            reason: "演练推送：重点人员，近7天有中高风险区旅居史".into(),
            sender: "省疫情防控指挥部大数据专班".into(),
            sender_scope: "other_city".into(),
            reference: format!("演练协查〔{}〕", j + 1),
            ..Default::default()
        };
        self.app.create_lead(&self.ops, &form).await?;
        Ok(())
    }

    async fn first_report(&mut self) -> Result<()> {
        let county = RegionCode::parse(&self.scenario.county).map_err(anyhow::Error::msg)?;
        let officer = Actor::seeding(
            Role::DutyOfficer,
            county.clone(),
            "drill_duty",
            "演练值班室",
        );
        let name = self.app.region_name(&county).await?;
        crate::demo_reports::file_incident(
            &self.app,
            &officer,
            IncidentKind::NewLocalCase,
            self.first_case.unwrap_or_else(|| clock_now(&self.clock)),
            &name,
            "全员核酸检测发现阳性，已转运定点医院，流调、密接排查同步开展（演练）",
        )
        .await?;
        Ok(())
    }

    /// The simulated teams' hour: passes; leads landed (most in hours, one in eight late); trips
    /// of the last round arrive and people check in; rooms allocated, coaches and ambulances sent
    /// every three hours by day.
    async fn hour(&mut self, now: DateTime<Utc>) -> Result<()> {
        let app = self.app.clone();
        app.try_run_event_passes().await?;
        let mut open = Vec::new();
        for page in 1.. {
            let listed = app
                .leads_list(
                    &self.grid,
                    &LeadFilter {
                        status: "pending".into(),
                        page,
                        ..Default::default()
                    },
                )
                .await?;
            open.extend(listed.rows.iter().map(|l| l.id));
            if page >= listed.pages {
                break;
            }
        }
        for id in open {
            let seen = *self.leads_seen.entry(id).or_insert(now);
            if now >= seen + delay(self.scenario.seed, 9_000 + id as u64, 120, 840, 8, 1500) {
                let landed = app
                    .record_lead_outcome(
                        &self.grid,
                        id,
                        &OutcomeForm {
                            kind: "controlled".into(),
                            measure: "centralised".into(),
                            ..Default::default()
                        },
                    )
                    .await;
                if let Err(e) = landed {
                    tracing::debug!(lead = id, error = %e, "lead not landed");
                }
            }
        }
        for (trip, vehicle, measures, to_hospital) in std::mem::take(&mut self.trips) {
            app.advance_transfer(&self.ops, trip, &"handed_over".into())
                .await?;
            if !to_hospital {
                for id in measures {
                    app.site_check_in(&self.ops, id, &Default::default())
                        .await
                        .ok();
                }
            }
            app.disinfect_vehicle(&self.ops, vehicle).await?;
            self.busy.retain(|v| *v != vehicle);
        }
        app.try_run_event_passes().await?;
        let hour = chrono::Timelike::hour(&(now + Duration::hours(8)));
        if !hour.is_multiple_of(3) || hour < 6 {
            return Ok(());
        }
        app.confirm_allocation(&self.ops, 10_000).await?;
        let mut by_site: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for m in app.isolation_measures(&self.ops, "allocated").await? {
            if let Some(site) = m.site_id {
                by_site.entry(site).or_default().push(m.id);
            }
        }
        for people in by_site.values() {
            for chunk in people.chunks(35) {
                let Some(coach) = self.free(false) else { break };
                self.dispatch(coach, chunk.to_vec(), None).await?;
            }
        }
        for m in app
            .isolation_measures(&self.ops, "awaiting_hospital")
            .await?
        {
            let Some(ambulance) = self.free(true) else {
                break;
            };
            self.dispatch(ambulance, vec![m.id], Some(self.hospital))
                .await?;
        }
        Ok(())
    }

    fn free(&self, ambulance: bool) -> Option<i64> {
        let fleet = if ambulance {
            &self.ambulances
        } else {
            &self.coaches
        };
        fleet.iter().copied().find(|v| !self.busy.contains(v))
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
        self.busy.push(vehicle);
        self.trips
            .push((trip, vehicle, measures, hospital.is_some()));
        Ok(())
    }
}

/// The rooms, vehicles and hospital the scenario readies: one site with the scenario's rooms
/// (twenty a floor), coaches and ambulances for the numbers to move, a fangcang for the cases.
async fn facilities(
    app: &App,
    ops: &Actor,
    scenario: &Scenario,
    county: &RegionCode,
    township: &str,
    tag: i64,
) -> Result<(Vec<i64>, Vec<i64>, i64)> {
    let site = app
        .create_isolation_site(
            ops,
            &SiteForm {
                name: format!("演练集中隔离点（{}）", scenario.name),
                region_code: township.into(),
                address: "演练地址".into(),
                readiness: "2h".into(),
                staff_count: "20".into(),
                note: "应急演练".into(),
            },
        )
        .await?;
    let (floors, rest) = (scenario.rooms / 20, scenario.rooms % 20);
    let mut building = 0;
    let mut floor = 0;
    while floor < floors {
        let to = (floor + 30).min(floors);
        building += 1;
        app.add_rooms(
            ops,
            site,
            &RoomBlockForm {
                building: format!("A{building}"),
                floor_from: "1".into(),
                floor_to: (to - floor).to_string(),
                room_from: "1".into(),
                room_to: "20".into(),
            },
        )
        .await?;
        floor = to;
    }
    if rest > 0 {
        app.add_rooms(
            ops,
            site,
            &RoomBlockForm {
                building: "B".into(),
                floor_from: "1".into(),
                floor_to: "1".into(),
                room_from: "1".into(),
                room_to: rest.to_string(),
            },
        )
        .await?;
    }
    let hospital = app
        .add_treatment_hospital(
            ops,
            &HospitalForm {
                name: format!("演练方舱医院（{}）", scenario.name),
                kind: "fangcang".into(),
                region_code: county.as_str().into(),
                beds: (scenario.positives * 2 + 50).to_string(),
            },
        )
        .await?;
    let vehicle = |n: u32, kind: &'static str, capacity: &'static str, prefix: u32| {
        let app = app.clone();
        let ops = ops.clone();
        let region = county.as_str().to_string();
        async move {
            let mut ids = Vec::new();
            for i in 0..n {
                ids.push(
                    app.add_vehicle(
                        &ops,
                        &VehicleForm {
                            plate: format!("冀A{prefix}{:02}{i:02}", tag % 100),
                            kind: kind.into(),
                            capacity: capacity.into(),
                            region_code: region.clone(),
                        },
                    )
                    .await?,
                );
            }
            anyhow::Ok(ids)
        }
    };
    let coaches = vehicle((scenario.to_transfer / 70 + 2).min(60), "coach", "35", 8).await?;
    let ambulances = vehicle(
        (scenario.positives / 3 + 2).min(30),
        "negative_pressure_ambulance",
        "1",
        9,
    )
    .await?;
    Ok((coaches, ambulances, hospital))
}
