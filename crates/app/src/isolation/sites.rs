//! Isolation sites and rooms (集中隔离点): sites, room blocks, room states, the allocation of people
//! to rooms, check-in, temperatures.

use fangkong_domain::isolation::measures::{self as measure_rules, MeasureInput, MeasureWork};

use super::measures::{measure_change, measure_state, refused};
use super::*;

impl App {
    pub async fn create_isolation_site(&self, actor: &Actor, form: &SiteForm) -> AppResult<i64> {
        actor.require(Permission::ManageIsolationSites)?;
        let command = CreateSite::try_from(form)?;
        actor.require_within(&command.region)?;
        if self.store.region(command.region.as_str()).await?.is_none() {
            return Err(AppError::field(
                "区划",
                format!("没有区划“{}”", command.region.as_str()),
            ));
        }
        let audit = audit_record(self, actor, "create", "", command.name.as_str());
        let id = self
            .store
            .insert_isolation_site(
                &IsolationSiteRecord {
                    id: 0,
                    name: command.name,
                    region_code: command.region,
                    address: command.address,
                    readiness: command.readiness,
                    staff_count: command.staff_count,
                    note: command.note,
                    created_at: self.now_unix(),
                    created_by: actor.display_name.clone(),
                },
                &audit,
            )
            .await?;
        Ok(id)
    }

    pub(super) async fn site_in_jurisdiction(
        &self,
        actor: &Actor,
        id: i64,
    ) -> AppResult<IsolationSiteRecord> {
        let site = load_within(actor, self.store.isolation_site(id)).await?;
        Ok(site)
    }

    /// Adds a block of rooms (building, floors, room numbers); numbers the site has are kept.
    pub async fn add_rooms(
        &self,
        actor: &Actor,
        site_id: i64,
        form: &RoomBlockForm,
    ) -> AppResult<u64> {
        actor.require(Permission::ManageIsolationSites)?;
        let command = AddRooms::try_from(form)?;
        self.site_in_jurisdiction(actor, site_id).await?;
        // The store puts how many were added in place of `{added}`.
        let audit = audit_record(
            self,
            actor,
            "create",
            format!("isolation_site:{site_id}"),
            "rooms:{added}",
        );
        let added = self
            .store
            .insert_rooms(site_id, &command.rooms, self.now_unix(), &audit)
            .await?;
        Ok(added)
    }

    pub async fn isolation_sites(&self, actor: &Actor) -> AppResult<Vec<IsolationSiteSummary>> {
        actor.require(Permission::ViewIsolation)?;
        let (lower, upper) = actor.jurisdiction_range();
        Ok(self.store.isolation_sites((&lower, &upper)).await?)
    }

    pub async fn isolation_site_detail(&self, actor: &Actor, id: i64) -> AppResult<SiteDetail> {
        actor.require(Permission::ViewIsolation)?;
        let site = self.site_in_jurisdiction(actor, id).await?;
        let temps: HashMap<i64, CheckInRecord> = self
            .store
            .latest_site_temperatures(id)
            .await?
            .into_iter()
            .map(|c| (c.measure_id, c))
            .collect();
        let rooms: Vec<RoomView> = self
            .store
            .isolation_rooms_of(id)
            .await?
            .into_iter()
            .map(|r| {
                let t = r.measure_id.and_then(|m| temps.get(&m));
                RoomView {
                    id: r.id,
                    building: r.building,
                    floor: r.floor,
                    number: r.number,
                    status_label: r.status.label_zh(),
                    status: r.status.code().into(),
                    measure_id: r.measure_id,
                    occupant: r
                        .occupant_name
                        .map(|n| mask_middle(&n, 1, 0))
                        .unwrap_or_default(),
                    occupant_status: r.occupant_status.map_or("", MeasureStatus::label_zh).into(),
                    last_temperature: t.map(|c| celsius(c.tenths)).unwrap_or_default(),
                    fever: t.is_some_and(|c| c.fever),
                }
            })
            .collect();
        let count = |s: &str| rooms.iter().filter(|r| r.status == s).count() as i64;
        let now = self.now_unix();
        let today = self.today();
        // Everyone in the site, wherever they live: the site's staff look after them all (masked).
        let here: Vec<MeasureView> = self
            .store
            .measures_at_site(id)
            .await?
            .iter()
            .map(|m| view(m, now, today))
            .collect();
        Ok(SiteDetail {
            readiness_label: site.readiness.label_zh(),
            free: count("free"),
            occupied: count("occupied"),
            cleaning: count("cleaning"),
            maintenance: count("maintenance"),
            arriving: here
                .iter()
                .filter(|m| m.status == "allocated")
                .cloned()
                .collect(),
            in_site: here.into_iter().filter(|m| m.status == "in_site").collect(),
            site,
            rooms,
        })
    }

    /// A room's housekeeping: cleaning → free (消杀完成), free ↔ maintenance.
    pub async fn set_room_status(&self, actor: &Actor, room_id: i64, to: &str) -> AppResult<()> {
        actor.require(Permission::ManageIsolationSites)?;
        let room = self
            .store
            .isolation_room(room_id)
            .await?
            .ok_or(AppError::NotFound("该房间"))?;
        self.site_in_jurisdiction(actor, room.site_id).await?;
        let to = RoomStatus::from_code(to.trim())
            .ok_or_else(|| AppError::Invalid("未知的房间状态".into()))?;
        let allowed = matches!(
            (room.status, to),
            (RoomStatus::Cleaning, RoomStatus::Free)
                | (RoomStatus::Free, RoomStatus::Maintenance)
                | (RoomStatus::Maintenance, RoomStatus::Free)
        );
        if !allowed {
            return Err(AppError::Conflict(format!(
                "房间{}现在是“{}”，不能改为“{}”",
                room.number,
                room.status.label_zh(),
                to.label_zh()
            )));
        }
        if !self
            .store
            .set_room_status(room_id, room.status.code(), to.code(), self.now_unix())
            .await?
        {
            return Err(conflict_changed());
        }
        Ok(())
    }

    /// Assigns one waiting person to a named room by hand (the dispatcher's choice).
    pub async fn assign_room(
        &self,
        actor: &Actor,
        measure_id: i64,
        site_id: i64,
        room_number: &str,
    ) -> AppResult<()> {
        actor.require(Permission::DispatchTransfers)?;
        let m = self.measure_in_jurisdiction(actor, measure_id).await?;
        let site = self.site_in_jurisdiction(actor, site_id).await?;
        measure_rules::transition(
            measure_state(&m)?,
            MeasureInput::AssignRoom,
            self.now_unix(),
        )
        .map_err(refused)?;
        let number = room_number.trim();
        let room = self
            .store
            .isolation_room_by_number(site_id, number)
            .await?
            .ok_or_else(|| AppError::Invalid(format!("{}没有房间“{number}”", site.name)))?;
        if room.status != RoomStatus::Free {
            return Err(AppError::Conflict(format!(
                "房间{}{}，一人一间：请另选空闲房间",
                room.number,
                if room.status == RoomStatus::Occupied {
                    "已有人入住"
                } else {
                    "不是空闲状态"
                }
            )));
        }
        self.write_assignments(actor, &[(m.id, site_id, room.id)])
            .await?;
        Ok(())
    }

    pub(super) async fn write_assignments(
        &self,
        actor: &Actor,
        rows: &[(i64, i64, i64)],
    ) -> AppResult<u64> {
        // All or nothing: when written, every row was.
        let audit = audit_record(
            self,
            actor,
            "update",
            "isolation_allocation",
            format!("people:{}", rows.len()),
        );
        match self
            .store
            .write_allocation(rows, self.now_unix(), &audit)
            .await?
        {
            AllocationOutcome::Written(n) => Ok(n),
            AllocationOutcome::RoomTaken(number) => Err(AppError::Conflict(format!(
                "房间{number}已有人入住，一人一间：本次分配未保存，请重新生成"
            ))),
            AllocationOutcome::PersonMoved(_) => Err(AppError::Conflict(
                "有人员已不在待安置状态，本次分配未保存，请重新生成".into(),
            )),
        }
    }

    /// The suggested allocation of everyone waiting in the jurisdiction (up to `limit` people):
    /// nearest site first (same township, same county), families together in adjacent rooms.
    pub(super) async fn plan_allocation(
        &self,
        actor: &Actor,
        limit: i64,
    ) -> AppResult<PlannedAllocation> {
        let (lower, upper) = actor.jurisdiction_range();
        let waiting = self
            .store
            .measures_in(
                (&lower, &upper),
                &["awaiting_placement"],
                limit.clamp(1, 100_000),
            )
            .await?;
        let free = self.store.free_rooms_in((&lower, &upper)).await?;
        let mut sites: Vec<AllocSite> = Vec::new();
        for room in &free {
            match sites.last_mut() {
                Some(site) if site.site_id == room.site_id => site.free_rooms.push(room.room_id),
                _ => sites.push(AllocSite {
                    site_id: room.site_id,
                    region_code: room.region_code.to_string(),
                    free_rooms: vec![room.room_id],
                }),
            }
        }
        let people: Vec<AllocPerson> = waiting
            .iter()
            .map(|m| AllocPerson {
                key: m.id,
                household: m.household_number.clone(),
                region: m.grid_code.clone(),
            })
            .collect();
        let allocation = allocate(&people, &sites);
        Ok((waiting, allocation, free))
    }

    pub async fn allocation_preview(
        &self,
        actor: &Actor,
        limit: i64,
    ) -> AppResult<AllocationPreview> {
        actor.require(Permission::DispatchTransfers)?;
        let (waiting, allocation, free) = self.plan_allocation(actor, limit).await?;
        let by_id: HashMap<i64, &MeasureRecord> = waiting.iter().map(|m| (m.id, m)).collect();
        let sites: HashMap<i64, String> = self
            .isolation_sites(actor)
            .await?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
        let mut room_numbers: HashMap<i64, String> = HashMap::new();
        for line in allocation.assignments.iter().take(LIST_LIMIT as usize) {
            if let Some(r) = self.store.isolation_room(line.room_id).await? {
                room_numbers.insert(r.id, r.number);
            }
        }
        let now = self.now_unix();
        let today = self.today();
        let lines = allocation
            .assignments
            .iter()
            .take(LIST_LIMIT as usize)
            .filter_map(|a| {
                Some(AllocationLine {
                    measure: view(by_id.get(&a.key)?, now, today),
                    site_name: sites.get(&a.site_id).cloned().unwrap_or_default(),
                    room_number: room_numbers.get(&a.room_id).cloned().unwrap_or_default(),
                    distance_label: a.distance.label_zh(),
                })
            })
            .collect();
        Ok(AllocationPreview {
            waiting: waiting.len(),
            lines,
            unplaced: allocation.unplaced.len(),
            free_rooms: free.len(),
        })
    }

    /// Allocates up to `limit` waiting people of the jurisdiction to rooms in one transaction
    /// (benchmark hook: 10,000 people). Nothing is written when any room or person changed.
    pub async fn confirm_allocation(
        &self,
        actor: &Actor,
        limit: i64,
    ) -> AppResult<AllocationReport> {
        actor.require(Permission::DispatchTransfers)?;
        let started = Instant::now();
        let (_, allocation, _) = self.plan_allocation(actor, limit).await?;
        let rows: Vec<(i64, i64, i64)> = allocation
            .assignments
            .iter()
            .map(|a| (a.key, a.site_id, a.room_id))
            .collect();
        let allocated = if rows.is_empty() {
            0
        } else {
            self.write_assignments(actor, &rows).await?
        };
        Ok(AllocationReport {
            allocated,
            unplaced: allocation.unplaced.len(),
            millis: started.elapsed().as_millis(),
        })
    }

    /// The person arrived and is in their room (已分配 → 集中隔离中), now or at the time entered
    /// (补录: not before the allocation); the stay (status and `checked_in_at`) starts then.
    pub async fn site_check_in(
        &self,
        actor: &Actor,
        measure_id: i64,
        form: &CheckInForm,
    ) -> AppResult<()> {
        actor.require(Permission::ManageIsolationSites)?;
        let command = SiteCheckIn::try_from(form)?;
        let m = self.measure_for_site_work(actor, measure_id).await?;
        let state = measure_state(&m)?;
        // Only an allocated person checks in; their allocation is the status's start.
        let follows =
            (state.status == MeasureStatus::Allocated).then_some(("分配时间", m.status_since));
        let at = self.occurred_at(command.occurred_at, CHECK_IN_FIELD, follows)?;
        let step = measure_rules::transition(state, MeasureInput::CheckIn, at).map_err(refused)?;
        let mut change = measure_change(&m, &step, "");
        change.audit = Some(audit_record(
            self,
            actor,
            "update",
            format!("measure:{}", m.id),
            self.occurred_detail("check_in", at),
        ));
        if !self.store.apply_measure_change(&change).await? {
            return Err(conflict_changed());
        }
        Ok(())
    }

    /// Lets a carer stay with a person in a site, when the rule allows it ("一人一间一卫": only for
    /// a child under 14, a pregnant woman, a seriously ill or dependent person; never an elderly
    /// carer or one with an underlying disease). The carer is noted on the measure.
    pub async fn assign_carer(
        &self,
        actor: &Actor,
        measure_id: i64,
        form: &CarerForm,
    ) -> AppResult<()> {
        actor.require(Permission::ManageIsolationSites)?;
        let command = AssignCarer::try_from(form)?;
        let m = self.measure_for_site_work(actor, measure_id).await?;
        measure_rules::permits(measure_state(&m)?.status, MeasureWork::Carer).map_err(refused)?;
        let carer_age = command.age;
        // Unknown birth date: only the needs listed can justify a carer.
        let person_age = parse_date(&m.birth_date)
            .map(|b| age_on(b, self.today()))
            .unwrap_or(u32::MAX);
        let needs = command.needs;
        carer_check(
            person_age,
            needs,
            CarerFacts {
                age: carer_age,
                underlying_disease: command.underlying_disease,
            },
        )
        .map_err(|reasons| AppError::Invalid(format!("不能安排陪护：{}", reasons.join("；"))))?;
        let why = if person_age < CARER_CHILD_AGE {
            "14岁以下儿童"
        } else if needs.pregnant {
            "孕妇"
        } else if needs.seriously_ill {
            "重症患者"
        } else {
            "半失能/失能"
        };
        let note = format!(
            "{}{}陪护：{}，{}岁（{}）",
            m.note,
            if m.note.is_empty() { "" } else { "；" },
            command.name.masked(),
            carer_age,
            why
        );
        let audit = audit_record(self, actor, "update", format!("measure:{}", m.id), "carer");
        if !self.store.set_measure_note(m.id, &note, &audit).await? {
            return Err(AppError::NotFound("该管控人员"));
        }
        Ok(())
    }

    /// A temperature in a site (twice a day); returns whether it is a fever (≥ 37.3 ℃).
    pub async fn record_site_temperature(
        &self,
        actor: &Actor,
        measure_id: i64,
        reading: &str,
    ) -> AppResult<bool> {
        actor.require(Permission::ManageIsolationSites)?;
        let m = self.measure_for_site_work(actor, measure_id).await?;
        measure_rules::permits(measure_state(&m)?.status, MeasureWork::SiteTemperature)
            .map_err(refused)?;
        self.write_check_in(actor, &m, "site", reading, "").await
    }

    pub(super) async fn write_check_in(
        &self,
        actor: &Actor,
        m: &MeasureRecord,
        place: &str,
        reading: &str,
        symptoms: &str,
    ) -> AppResult<bool> {
        let celsius = parse_temperature(reading).map_err(|e| AppError::Invalid(e.to_string()))?;
        let tenths = (f64::from(celsius) * 10.0).round() as i64;
        let fever = celsius >= FEVER_THRESHOLD_C - 0.001;
        self.store
            .insert_check_in(&CheckInRecord {
                id: 0,
                measure_id: m.id,
                place: place.into(),
                day: self.today().to_string(),
                at: self.now_unix(),
                tenths,
                fever,
                symptoms: symptoms.trim().chars().take(200).collect(),
                recorded_by: actor.display_name.clone(),
            })
            .await?;
        Ok(fever)
    }
}
