//! Person events in: contacts, cases and landed leads become measures by the plan of the regime in
//! force; a positive or a release goes back out as an event.

use fangkong_domain::isolation::measures::{self as measure_rules, MeasureInput, MeasureState};

use super::measures::measure_change;
use super::*;
use crate::EventCursor;

impl App {
    /// Turns person events into measures: close/secondary contacts by the plan of their regime,
    /// cases to "awaiting transfer to a hospital", leads put under control; a person's move takes
    /// their current measures to the new grid. Keeps its cursor in the
    /// settings; each measure's source key (`contact:<id>`, `case:<id>`, `lead:<id>`) makes a
    /// re-read harmless. Returns the number of events read.
    pub async fn sync_isolation_events(&self) -> AppResult<usize> {
        let mut cursor = EventCursor::new(EVENT_CURSOR_SETTING, 2_000);
        while let Some(events) = cursor.next(self).await? {
            let regime_in_force = self.tracing_regime().await?;
            let mut opens = Vec::new();
            for event in &events {
                match event.kind.as_str() {
                    person_event::CLOSE_CONTACT | person_event::SECONDARY_CONTACT => {
                        if let Some(m) = self.measure_of_contact(event, regime_in_force).await? {
                            opens.push(m);
                        }
                    }
                    person_event::LEAD_CONTROLLED => {
                        if let Some(m) = self.measure_of_lead(event, regime_in_force).await? {
                            opens.push(m);
                        }
                    }
                    person_event::CONTACT_CLEARED => {
                        self.store.insert_measures(&opens, self.now_unix()).await?;
                        opens.clear();
                        self.end_measure_of_cleared_contact(event).await?;
                    }
                    person_event::CASE_REPORTED => {
                        // Earlier events first: a contact opened in this batch turns into the case.
                        self.store.insert_measures(&opens, self.now_unix()).await?;
                        opens.clear();
                        self.take_case(event).await?;
                    }
                    person_event::CASE_DISCHARGED => {
                        self.store.insert_measures(&opens, self.now_unix()).await?;
                        opens.clear();
                        self.end_wait_of_discharged_case(event).await?;
                    }
                    person_event::RESIDENT_MOVED => {
                        // A measure opened in this batch moves with its person.
                        self.store.insert_measures(&opens, self.now_unix()).await?;
                        opens.clear();
                        self.carry_measures_of_move(event).await?;
                    }
                    _ => {}
                }
            }
            self.store.insert_measures(&opens, self.now_unix()).await?;
        }
        Ok(cursor.read())
    }

    /// A person moved grid (迁移网格, 迁入): their current measures follow to the new grid, household
    /// and address, so a home measure is the new grid worker's to check. Idempotent (guarded by
    /// the old grid).
    async fn carry_measures_of_move(&self, event: &PersonEventRecord) -> AppResult<u64> {
        let Ok(moved) = serde_json::from_str::<person_event::ResidentMovedEvent>(&event.detail)
        else {
            tracing::warn!(
                event_id = event.id,
                "move event with an unreadable detail skipped"
            );
            return Ok(0);
        };
        Ok(self
            .store
            .follow_move_in_measures(&fangkong_store::MeasureMove {
                resident_id: event.resident_id,
                id_type: event.id_type.clone(),
                id_number: event.id_number.as_str().into(),
                from_grid: moved.from_grid,
                to_grid: moved.to_grid,
                household_number: moved.to_household,
                address: moved.to_address,
            })
            .await?)
    }

    pub(super) async fn person_of_event(
        &self,
        event: &PersonEventRecord,
        name: &PersonName,
        phone: &Option<PhoneNumber>,
        address: &Address,
    ) -> AppResult<MeasurePerson> {
        if let Some(id) = event.resident_id
            && let Some(r) = self.store.resident(id).await?
        {
            return Ok(MeasurePerson::of_resident(&r));
        }
        Ok(MeasurePerson {
            id_type: event.id_type.clone(),
            id_number: event.id_number.as_str().into(),
            name: name.clone(),
            phone: phone.clone(),
            resident_id: event.resident_id,
            grid_code: event.grid_code.clone(),
            household_number: String::new(),
            address: address.clone(),
            birth_date: String::new(),
        })
    }

    pub(super) async fn measure_of_contact(
        &self,
        event: &PersonEventRecord,
        regime_in_force: Regime,
    ) -> AppResult<Option<NewMeasure>> {
        let Ok(detail) = serde_json::from_str::<ContactEvent>(&event.detail) else {
            tracing::warn!(
                event = event.id,
                "isolation: unreadable contact event skipped"
            );
            return Ok(None);
        };
        let category = if event.kind == person_event::CLOSE_CONTACT {
            PersonCategory::CloseContact
        } else {
            PersonCategory::SecondaryContact
        };
        let regime = Regime::from_code(&detail.regime).unwrap_or(regime_in_force);
        let Some(plan) = plan(regime, category) else {
            return Ok(None);
        };
        let exposure = if detail.last_exposure > 0 {
            detail.last_exposure.min(event.at)
        } else {
            event.at
        };
        let person = self
            .person_of_event(event, &detail.name, &detail.phone, &detail.address)
            .await?;
        Ok(Some(new_measure(
            &person,
            format!("contact:{}", detail.contact_id),
            category,
            regime,
            Some(plan),
            date_of(exposure),
            "",
        )))
    }

    pub(super) async fn measure_of_lead(
        &self,
        event: &PersonEventRecord,
        regime: Regime,
    ) -> AppResult<Option<NewMeasure>> {
        let Ok(detail) = serde_json::from_str::<LeadControlledEvent>(&event.detail) else {
            tracing::warn!(event = event.id, "isolation: unreadable lead event skipped");
            return Ok(None);
        };
        let category = PersonCategory::of_lead_category(&detail.category);
        // "hospital" (医院隔离/救治): the hospital takes the person, no isolation measure.
        let Some(kind) = MeasureKind::from_code(&detail.measure) else {
            return Ok(None);
        };
        let plan = lead_plan(regime, category, kind);
        let person = self
            .person_of_event(event, &detail.name, &None, &detail.address)
            .await?;
        Ok(Some(new_measure(
            &person,
            format!("lead:{}", detail.lead_id),
            category,
            regime,
            Some(&plan),
            date_of(event.at),
            "落地管控",
        )))
    }

    /// A contact reclassified as a general contact or withdrawn: their measure ends (the room goes
    /// to cleaning) without `measure_released`, which means "every test negative".
    pub(super) async fn end_measure_of_cleared_contact(
        &self,
        event: &PersonEventRecord,
    ) -> AppResult<()> {
        let Ok(detail) = serde_json::from_str::<ContactEvent>(&event.detail) else {
            tracing::warn!(
                event = event.id,
                "isolation: unreadable contact event skipped"
            );
            return Ok(());
        };
        let Some(m) = self
            .store
            .measure_by_source(&format!("contact:{}", detail.contact_id))
            .await?
        else {
            return Ok(());
        };
        // A measure already over or handed to a hospital has nothing to end.
        if let Ok(step) = measure_rules::transition(
            MeasureState {
                status: m.status,
                has_room: m.room_id.is_some(),
            },
            MeasureInput::ContactCleared,
            self.now_unix(),
        ) {
            self.store
                .apply_measure_change(&measure_change(&m, &step, ""))
                .await?;
        }
        Ok(())
    }

    /// A case: a person already under a measure leaves their room and awaits a hospital; anyone
    /// else gets a case measure awaiting a hospital.
    /// A case discharged (出院): a wait for an ambulance ends, and a patient in hospital leaves it —
    /// the open admission closes at the discharge time and the bed is free. (A hospitalised
    /// measure counts as closed to the other passes, so it is looked up among all the person's.)
    pub(super) async fn end_wait_of_discharged_case(
        &self,
        event: &PersonEventRecord,
    ) -> AppResult<()> {
        let Some(open) = self
            .store
            .measures_of_person(&event.id_type, event.id_number.as_str())
            .await?
            .into_iter()
            .filter(|m| {
                matches!(
                    m.status,
                    MeasureStatus::AwaitingHospital | MeasureStatus::Hospitalised
                )
            })
            .max_by_key(|m| m.id)
        else {
            return Ok(());
        };
        if let Ok(step) = measure_rules::transition(
            MeasureState {
                status: open.status,
                has_room: open.room_id.is_some(),
            },
            MeasureInput::CaseDischarged,
            event.at.max(open.status_since),
        ) {
            self.store
                .apply_measure_change(&measure_change(&open, &step, ""))
                .await?;
        }
        Ok(())
    }

    pub(super) async fn take_case(&self, event: &PersonEventRecord) -> AppResult<()> {
        let Ok(detail) = serde_json::from_str::<CaseEvent>(&event.detail) else {
            tracing::warn!(event = event.id, "isolation: unreadable case event skipped");
            return Ok(());
        };
        if let Some(open) = self
            .store
            .open_measure_of(&event.id_type, &event.id_number)
            .await?
        {
            // Already waiting for a hospital: nothing to change.
            if let Ok(step) = measure_rules::transition(
                MeasureState {
                    status: open.status,
                    has_room: open.room_id.is_some(),
                },
                MeasureInput::CaseReported,
                self.now_unix(),
            ) {
                self.store
                    .apply_measure_change(&measure_change(&open, &step, ""))
                    .await?;
            }
            return Ok(());
        }
        let person = self
            .person_of_event(event, &detail.name, &None, &detail.address)
            .await?;
        let regime = self.tracing_regime().await?;
        let measure = new_measure(
            &person,
            format!("case:{}", detail.case_id),
            PersonCategory::Case,
            regime,
            None,
            date_of(event.at),
            &detail.case_kind,
        );
        self.store
            .insert_measures(&[measure], self.now_unix())
            .await?;
        Ok(())
    }

    /// Opens a measure without an actor (the demo, imports of an existing ledger). Returns the new
    /// id, or None when the source key exists or the person has an open measure of the category.
    pub async fn place_under_measure_unchecked(
        &self,
        person: &MeasurePerson,
        category: PersonCategory,
        day1: NaiveDate,
        source_key: &str,
    ) -> AppResult<Option<i64>> {
        self.place_under_measure(person, category, day1, source_key, None)
            .await
    }

    /// Opens a measure; a user's `audit` record commits with it (and is not written when the
    /// person already has one).
    async fn place_under_measure(
        &self,
        person: &MeasurePerson,
        category: PersonCategory,
        day1: NaiveDate,
        source_key: &str,
        audit: Option<&fangkong_store::AuditRecord>,
    ) -> AppResult<Option<i64>> {
        let regime = self.tracing_regime().await?;
        let plan = plan(regime, category);
        if plan.is_none() && category != PersonCategory::Case {
            return Err(AppError::Invalid(format!(
                "{}不管理{}",
                regime.label_zh(),
                category.label_zh()
            )));
        }
        let m = new_measure(
            person,
            source_key.to_string(),
            category,
            regime,
            plan,
            day1,
            "",
        );
        Ok(self
            .store
            .insert_measures_audited(&[m], self.now_unix(), audit)
            .await?
            .first()
            .copied())
    }

    /// Opens many measures at once without an actor, in one transaction (the benchmark's and the
    /// demo's bulk path): (person, category, day 1, source key). Returns how many were opened.
    pub async fn place_many_under_measure_unchecked(
        &self,
        people: &[BulkMeasure],
    ) -> AppResult<usize> {
        let regime = self.tracing_regime().await?;
        let measures: Vec<NewMeasure> = people
            .iter()
            .filter_map(|(person, category, day1, key)| {
                let plan = plan(regime, *category);
                (plan.is_some() || *category == PersonCategory::Case)
                    .then(|| new_measure(person, key.clone(), *category, regime, plan, *day1, ""))
            })
            .collect();
        Ok(self
            .store
            .insert_measures(&measures, self.now_unix())
            .await?
            .len())
    }

    /// Puts a registered resident (by ID number, in the jurisdiction) under a measure by hand. The
    /// form is parsed into [`OpenMeasure`] before anything is read; the measure, its tests and the
    /// audit record are one transaction.
    pub async fn open_measure_by_hand(&self, actor: &Actor, form: &MeasureForm) -> AppResult<i64> {
        actor.require(Permission::ManageIsolationSites)?;
        let command = OpenMeasure::try_from(form)?;
        let category = command.category;
        let day1 = command.day1.unwrap_or_else(|| self.today());
        if day1 > self.today() {
            return Err(AppError::field("第1天", "第1天不能晚于今天"));
        }
        let (lower, upper) = actor.jurisdiction_range();
        let found = self
            .store
            .search_residents(
                SearchField::IdNumber,
                command.id_number.as_str(),
                (&lower, &upper),
                2,
            )
            .await?;
        let Some(resident) = found.first() else {
            return Err(AppError::field(
                "证件号码",
                "辖区实有人口中没有这个证件号码：请核对，或先登记该居民",
            ));
        };
        let key = format!("manual:{}:{}:{}", category.code(), resident.id, day1);
        let audit = audit_record(self, actor, "create", "", category.code());
        let id = self
            .place_under_measure(
                &MeasurePerson::of_resident(resident),
                category,
                day1,
                &key,
                Some(&audit),
            )
            .await?
            .ok_or_else(|| {
                AppError::Conflict(format!(
                    "该居民已在{}管控中，不重复登记",
                    category.label_zh()
                ))
            })?;
        Ok(id)
    }
}
