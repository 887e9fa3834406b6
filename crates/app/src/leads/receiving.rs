//! Receiving leads from every channel (四个渠道): one by one, in bulk, assistance letters.

use super::*;

impl App {
    /// Registers a lead from grassroots screening, active screening or an assistance letter in or
    /// out. Returns its id. The form is parsed into [`RegisterLead`] before anything is read; the
    /// lead, its first step and its audit record are one transaction.
    pub async fn create_lead(&self, actor: &Actor, form: &LeadForm) -> AppResult<i64> {
        actor.require(Permission::SendLeads)?;
        let command = RegisterLead::try_from(form)?;
        let channel = command.arrival.channel();
        let now = self.now_unix();
        let mut lead = blank_lead(channel, command.category, &command.person);
        lead.reason = command.reason.clone();
        lead.came_from = command.came_from.clone();
        lead.arrived_at = command.arrived_at;
        lead.reference = command.reference.clone();
        lead.sender_region = actor.jurisdiction.as_str().into();
        lead.created_by = actor.username.clone();
        lead.created_at = now;
        lead.received_at = now;
        lead.deadline = deadline_of(now);
        match &command.arrival {
            LeadArrival::LetterIn { sender, scope } => {
                lead.sender = sender.clone();
                lead.sender_scope = Some(*scope);
            }
            LeadArrival::LetterOut { to, to_name } => {
                if actor.jurisdiction.contains(to) {
                    return Err(AppError::field(
                        "发函地区",
                        format!("{to} 在您的辖区内：请直接登记为“基层排查”，线索会进入该网格"),
                    ));
                }
                lead.sender = actor.display_name.clone();
                lead.status = LeadStatus::LetterOut;
                lead.grid_code = actor.jurisdiction.as_str().into();
                lead.out_region = to.as_str().into();
                lead.out_note = to_name.clone();
                lead.closed_at = Some(now);
            }
            LeadArrival::Screening(_) => lead.sender = actor.display_name.clone(),
        }
        if channel != Channel::AssistOut {
            let route = self
                .route_person(&command.person, &command.region_hint)
                .await?;
            self.require_route_within(actor, &route.grid_code).await?;
            apply_route(&mut lead, route);
        }
        let audit = audit_record(self, actor, "create", "", channel.code());
        let id = self
            .store
            .insert_leads_audited(std::slice::from_ref(&lead), Some(&audit))
            .await?
            .into_iter()
            .next()
            .flatten()
            .ok_or_else(|| AppError::internal("lead insert returned no id"))?;
        Ok(id)
    }

    /// A resident reports themself (群众自报). A linked account reports the registered person;
    /// otherwise the form must say who and where. The form is parsed into [`SelfReport`] before
    /// anything is read; the lead and its audit record are one transaction.
    pub async fn self_report(&self, actor: &Actor, form: &SelfReportForm) -> AppResult<i64> {
        actor.require(Permission::SelfReport)?;
        let command = SelfReport::try_from(form)?;
        let now = self.now_unix();
        if command.arrived_at.is_some_and(|t| t > now + 3600) {
            return Err(AppError::field("到达时间", "到达时间不能晚于现在"));
        }
        let linked = match self.store.user_resident_id(actor.user_id).await? {
            Some(id) => self.store.resident(id).await?,
            None => None,
        };
        let (person, route) = match linked {
            Some(r) => {
                let person = check_person(
                    &r.name,
                    &r.id_type,
                    &r.id_number,
                    r.phone.as_deref().unwrap_or(""),
                    &r.address,
                )
                .map_err(invalid)?;
                let route = Route {
                    grid_code: r.grid_code.clone(),
                    status: LeadStatus::Pending,
                    resident_id: Some(r.id),
                    resident: None,
                };
                (person, route)
            }
            None => {
                // Not linked: who and where come from the form (parsed like any lead's person).
                let person = check_person(
                    &form.name,
                    &form.id_type,
                    &form.id_number,
                    &form.phone,
                    &form.address,
                )
                .map_err(invalid)?;
                let route = self.route_person(&person, &form.region_code).await?;
                (person, route)
            }
        };
        self.require_route_within(actor, &route.grid_code).await?;
        let mut lead = blank_lead(Channel::SelfReport, command.category, &person);
        lead.came_from = command.came_from;
        lead.arrived_at = command.arrived_at;
        lead.reason = command.contact_note;
        lead.sender = actor.display_name.clone();
        lead.sender_region = county_of(&route.grid_code);
        lead.created_by = actor.username.clone();
        lead.created_at = now;
        lead.received_at = now;
        lead.deadline = deadline_of(now);
        apply_route(&mut lead, route);
        let audit = audit_record(self, actor, "create", "", "self_report");
        let id = self
            .store
            .insert_leads_audited(std::slice::from_ref(&lead), Some(&audit))
            .await?
            .into_iter()
            .next()
            .flatten()
            .ok_or_else(|| AppError::internal("lead insert returned no id"))?;
        Ok(id)
    }

    /// The reports a resident made, newest first (masked like every view).
    pub async fn my_self_reports(&self, actor: &Actor) -> AppResult<Vec<LeadView>> {
        actor.require(Permission::SelfReport)?;
        let leads = self.store.leads_created_by(&actor.username, 20).await?;
        self.views(&leads).await
    }
}
