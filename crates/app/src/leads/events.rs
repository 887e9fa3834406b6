//! Investigation events in: contacts registered by investigation become leads to land.

use super::*;
use crate::EventCursor;

impl App {
    /// Turns `close_contact` / `secondary_contact` person events into leads (channel 流调判定),
    /// routed to the event's grid, else the register, else the fallback region as 待分派; a
    /// `resident_moved` event carries the person's open leads to the new grid ([`App::carry_leads_of_move`]).
    /// Remembers how far it read; the `event:<id>` source key makes a repeat harmless anyway.
    /// Returns the number of events read.
    pub async fn sync_lead_events(&self) -> AppResult<usize> {
        let _one_at_a_time = EVENT_SYNC.lock().await;
        let mut cursor = EventCursor::new(EVENT_CURSOR_SETTING, 2_000);
        while let Some(events) = cursor.next(self).await? {
            let mut leads = Vec::new();
            for event in &events {
                if event.kind == RESIDENT_MOVED {
                    // Earlier events first: a lead opened in this batch moves with its person.
                    self.store.insert_leads(&leads).await?;
                    leads.clear();
                    self.carry_leads_of_move(event).await?;
                } else if let Some(lead) = self.lead_of_event(event).await? {
                    leads.push(lead);
                }
            }
            self.store.insert_leads(&leads).await?;
        }
        Ok(cursor.read())
    }

    /// A person moved grid (迁移网格, 迁入): their open leads queued at the old grid go to the new
    /// grid's queue — its grid worker finds them there, the old one no longer — each with a step
    /// saying why. A landed lead stays as it is; a lead queued elsewhere is not this move's to
    /// change. Idempotent: a lead moved is no longer in the old grid.
    pub(super) async fn carry_leads_of_move(&self, event: &PersonEventRecord) -> AppResult<usize> {
        let Ok(moved) = serde_json::from_str::<ResidentMovedEvent>(&event.detail) else {
            tracing::warn!(
                event_id = event.id,
                "move event with an unreadable detail skipped"
            );
            return Ok(0);
        };
        let open = self
            .store
            .open_leads_of_person_in_grid(
                event.resident_id,
                &event.id_type,
                &event.id_number,
                &moved.from_grid,
            )
            .await?;
        if open.is_empty() {
            return Ok(0);
        }
        let name_of = |code: &str, names: &[fangkong_store::RegionRecord]| {
            names
                .iter()
                .find(|r| r.code == code)
                .map(|r| format!("{}（{code}）", r.name))
                .unwrap_or_else(|| code.to_string())
        };
        let names = self
            .store
            .regions_by_codes(&[moved.from_grid.clone(), moved.to_grid.clone()])
            .await?;
        let note = format!(
            "迁移网格：由 {} 转至 {}",
            name_of(&moved.from_grid, &names),
            name_of(&moved.to_grid, &names)
        );
        let now = self.now_unix();
        let mut carried = 0;
        for lead in open {
            let Ok(routed) = fangkong_domain::leads::transition(
                lead.status,
                fangkong_domain::leads::LeadInput::Assigned {
                    route: LeadStatus::Pending,
                },
                now,
            ) else {
                continue;
            };
            let change = LeadChange {
                lead_id: lead.id,
                status: routed.to,
                grid_code: moved.to_grid.clone(),
                resident_id: lead.resident_id.or(event.resident_id),
                closed_at: routed.closed_at,
                measure: lead.measure,
                out_region: lead.out_region.clone(),
                out_note: lead.out_note.clone(),
                step: LeadStepRecord {
                    id: 0,
                    lead_id: lead.id,
                    at: now,
                    step: "moved".into(),
                    actor: "迁移网格（自动）".into(),
                    from_code: moved.from_grid.clone(),
                    to_code: moved.to_grid.clone(),
                    note: note.clone(),
                },
                event: None,
                audit: None,
            };
            if self.store.change_open_lead(&change).await? {
                carried += 1;
            }
        }
        Ok(carried)
    }

    pub(super) async fn lead_of_event(
        &self,
        event: &PersonEventRecord,
    ) -> AppResult<Option<LeadRecord>> {
        let category = match event.kind.as_str() {
            CLOSE_CONTACT => RiskCategory::CloseContact,
            SECONDARY_CONTACT => RiskCategory::SecondaryContact,
            _ => return Ok(None),
        };
        let Ok(detail) = serde_json::from_str::<ContactEvent>(&event.detail) else {
            tracing::warn!(
                event_id = event.id,
                "contact event with an unreadable detail skipped"
            );
            return Ok(None);
        };
        // The person as investigation knows them; a number it could not check is kept as typed.
        let person = check_person(
            &detail.name,
            &event.id_type,
            &event.id_number,
            detail.phone.as_deref().unwrap_or(""),
            &detail.address,
        )
        .unwrap_or_else(|_| LeadPerson {
            name: text(&detail.name, 60),
            document: None,
            // The contact record's phone was checked when it was recorded: the grid worker calls
            // it first, even when the document number could not be verified.
            phone: detail.phone.clone(),
            address: text(&detail.address, 200),
        });
        let mut lead = blank_lead(Channel::Investigation, category, &person);
        if person.document.is_none() && !event.id_number.is_empty() {
            lead.id_type = IdType::from_code(&event.id_type);
            lead.id_number = event.id_number.as_str().into();
        }
        let route = match RegionCode::parse(&event.grid_code) {
            Ok(code) if code.level() == RegionLevel::Grid => Route {
                grid_code: code.as_str().into(),
                status: LeadStatus::Pending,
                resident_id: event.resident_id,
                resident: None,
            },
            Ok(code) => Route {
                grid_code: code.as_str().into(),
                status: LeadStatus::Unrouted,
                resident_id: event.resident_id,
                resident: None,
            },
            Err(_) => match self
                .resident_by_document(&event.id_type, &event.id_number)
                .await?
            {
                Some(r) => Route {
                    grid_code: r.grid_code.clone(),
                    status: LeadStatus::Pending,
                    resident_id: Some(r.id),
                    resident: Some(r),
                },
                None => {
                    let fallback = self
                        .store
                        .setting(FALLBACK_REGION_SETTING)
                        .await?
                        .filter(|c| RegionCode::parse(c).is_ok())
                        .unwrap_or_else(|| "13".into());
                    Route {
                        grid_code: fallback,
                        status: LeadStatus::Unrouted,
                        resident_id: None,
                        resident: None,
                    }
                }
            },
        };
        let exposure = chrono::DateTime::from_timestamp(detail.last_exposure, 0)
            .map(|t| {
                t.with_timezone(&china_offset())
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default();
        lead.reason = format!("流调判定为{}，末次暴露 {exposure}", category.label_zh());
        lead.sender = format!("流调判定（病例 {}）", detail.case_id);
        lead.reference = format!("接触者 #{}", detail.contact_id);
        lead.sender_region = county_of(&route.grid_code);
        lead.source_key = Some(format!("event:{}", event.id));
        lead.received_at = event.at;
        lead.deadline = deadline_of(event.at);
        lead.created_by = "investigation".into();
        lead.created_at = self.now_unix();
        apply_route(&mut lead, route);
        Ok(Some(lead))
    }
}

impl App {
    /// Lands the open leads about people isolation already holds: a contact placed in a site, at
    /// home or in hospital has been found, so their lead closes as controlled with that measure and
    /// the time it began — the grid worker is not sent to look for someone already in a room.
    /// Idempotent: a landed lead is no longer open. Returns how many landed.
    pub async fn land_leads_of_controlled_people(&self) -> AppResult<usize> {
        let mut landed = 0;
        loop {
            let found = self.store.open_leads_of_controlled_people(1_000).await?;
            if found.is_empty() {
                return Ok(landed);
            }
            let mut progressed = false;
            for lead in found {
                // The domain's rules: which control the measure is, and whether the lead may land.
                let Some(measure) = ControlMeasure::of_measure(lead.measure_status) else {
                    continue;
                };
                let Ok(moved) = fangkong_domain::leads::transition(
                    lead.lead_status,
                    fangkong_domain::leads::LeadInput::Controlled,
                    lead.since,
                ) else {
                    continue;
                };
                let change = LeadChange {
                    lead_id: lead.lead_id,
                    status: moved.to,
                    grid_code: lead.grid_code.clone(),
                    resident_id: lead.resident_id,
                    closed_at: moved.closed_at,
                    measure: Some(measure),
                    out_region: String::new(),
                    out_note: String::new(),
                    step: LeadStepRecord {
                        id: 0,
                        lead_id: lead.lead_id,
                        at: lead.since,
                        step: "controlled".into(),
                        actor: "隔离管控（自动）".into(),
                        from_code: lead.grid_code.clone(),
                        to_code: lead.grid_code,
                        note: format!("{}：已在管控中，线索自动落地", measure.label_zh()),
                    },
                    // No `lead_controlled` event: the person already has the measure it would open.
                    event: None,
                    audit: None,
                };
                if self.store.change_open_lead(&change).await? {
                    landed += 1;
                    progressed = true;
                }
            }
            if !progressed {
                return Ok(landed);
            }
        }
    }
}
