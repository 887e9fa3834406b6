//! Receiving leads from every channel (四个渠道): one by one, in bulk, assistance letters.

use super::*;

impl App {
    /// Registers a lead from grassroots screening, active screening or an assistance letter in or
    /// out. Returns its id.
    pub async fn create_lead(&self, actor: &Actor, form: &LeadForm) -> AppResult<i64> {
        actor.require(Permission::SendLeads)?;
        let channel = Channel::from_code(form.channel.trim())
            .filter(|c| {
                matches!(
                    c,
                    Channel::GridScreening
                        | Channel::AssistIn
                        | Channel::AssistOut
                        | Channel::ActiveScreening
                )
            })
            .ok_or_else(|| {
                AppError::Invalid(
                    "请选择线索来源：基层排查、主动甄别、区域协查（来函）或区域协查（发函）".into(),
                )
            })?;
        let category = RiskCategory::parse(&form.category).map_err(AppError::Invalid)?;
        let person = check_person(
            &form.name,
            &form.id_type,
            &form.id_number,
            &form.phone,
            &form.address,
        )
        .map_err(invalid)?;
        let now = self.now_unix();
        let mut lead = blank_lead(channel, category, &person);
        lead.reason = text(&form.reason, 500);
        lead.came_from = text(&form.came_from, 200);
        lead.arrived_at = optional_time(&form.arrived_at, "到达时间")?;
        lead.reference = text(&form.reference, 100);
        lead.sender_region = actor.jurisdiction.as_str().into();
        lead.created_by = actor.username.clone();
        lead.created_at = now;
        lead.received_at = now;
        lead.deadline = deadline_of(now);
        match channel {
            Channel::AssistIn => {
                lead.sender = text(&form.sender, 100);
                if lead.sender.is_empty() || lead.reference.is_empty() {
                    return Err(AppError::Invalid(
                        "协查来函请填写来函单位和协查函文号".into(),
                    ));
                }
                let scope = SenderScope::from_code(form.sender_scope.trim()).ok_or_else(|| {
                    AppError::Invalid("请选择来函类别：外省协查、本省外市协查或本市外区协查".into())
                })?;
                lead.sender_scope = scope.code().into();
            }
            Channel::AssistOut => {
                if form.out_region.trim().is_empty() {
                    return Err(AppError::Invalid(
                        "发函请填写对方地区的区划编码（如 110105 北京市朝阳区）".into(),
                    ));
                }
                let out = parse_region_code(&form.out_region)?;
                if actor.jurisdiction.contains(&out) {
                    return Err(AppError::Invalid(format!(
                        "发函地区 {out} 在您的辖区内：请直接登记为“基层排查”，线索会进入该网格"
                    )));
                }
                lead.sender = actor.display_name.clone();
                lead.status = LeadStatus::LetterOut.code().into();
                lead.grid_code = actor.jurisdiction.as_str().into();
                lead.out_region = out.as_str().into();
                lead.out_note = text(&form.out_region_name, 100);
                lead.closed_at = Some(now);
            }
            _ => lead.sender = actor.display_name.clone(),
        }
        if channel != Channel::AssistOut {
            let route = self.route_person(&person, &form.region_code).await?;
            self.require_route_within(actor, &route.grid_code).await?;
            apply_route(&mut lead, route);
        }
        let id = self
            .store
            .insert_leads(std::slice::from_ref(&lead))
            .await?
            .into_iter()
            .next()
            .flatten()
            .ok_or_else(|| AppError::Internal("lead insert returned no id".into()))?;
        audit_by(self, actor, "create", &format!("lead:{id}"), channel.code()).await?;
        Ok(id)
    }

    /// A resident reports themself (群众自报). A linked account reports the registered person;
    /// otherwise the form must say who and where.
    pub async fn self_report(&self, actor: &Actor, form: &SelfReportForm) -> AppResult<i64> {
        actor.require(Permission::SelfReport)?;
        let came_from = text(&form.came_from, 200);
        if came_from.is_empty() && form.contact_note.trim().is_empty() {
            return Err(AppError::Invalid(
                "请填写从哪里来（或与病例的接触情况）".into(),
            ));
        }
        let category = RiskCategory::parse(&form.category).map_err(AppError::Invalid)?;
        let arrived_at = optional_time(&form.arrived_at, "到达时间")?;
        let now = self.now_unix();
        if arrived_at.is_some_and(|t| t > now + 3600) {
            return Err(AppError::Invalid("到达时间不能晚于现在".into()));
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
        let mut lead = blank_lead(Channel::SelfReport, category, &person);
        lead.came_from = came_from;
        lead.arrived_at = arrived_at;
        lead.reason = text(&form.contact_note, 500);
        lead.sender = actor.display_name.clone();
        lead.sender_region = county_of(&route.grid_code);
        lead.created_by = actor.username.clone();
        lead.created_at = now;
        lead.received_at = now;
        lead.deadline = deadline_of(now);
        apply_route(&mut lead, route);
        let id = self
            .store
            .insert_leads(std::slice::from_ref(&lead))
            .await?
            .into_iter()
            .next()
            .flatten()
            .ok_or_else(|| AppError::Internal("lead insert returned no id".into()))?;
        audit_by(self, actor, "create", &format!("lead:{id}"), "self_report").await?;
        Ok(id)
    }

    /// The reports a resident made, newest first (masked like every view).
    pub async fn my_self_reports(&self, actor: &Actor) -> AppResult<Vec<LeadView>> {
        actor.require(Permission::SelfReport)?;
        let leads = self.store.leads_created_by(&actor.username, 20).await?;
        self.views(&leads).await
    }
}
