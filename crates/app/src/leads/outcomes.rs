//! The outcome on the ground (落地): found, controlled, not found, elsewhere; assignment and
//! re-routing.

use fangkong_domain::leads::{self as lead_rules, LeadInput, LeadRefusal};

use super::*;

/// A change the domain refused: the lead is closed.
fn refused(refusal: LeadRefusal) -> AppError {
    AppError::Conflict(refusal.message_zh())
}

impl App {
    pub(super) async fn lead_within(&self, actor: &Actor, id: i64) -> AppResult<LeadRecord> {
        let lead = load_within(actor, self.store.lead(id)).await?;
        Ok(lead)
    }

    pub(super) fn closed_error(lead: &LeadRecord) -> AppError {
        let label = lead.status.label_zh();
        AppError::Conflict(format!("该线索已办结（{label}），不能再次登记落地结果"))
    }

    /// Records what the grid worker found. Controlled → the lead closes with the measure and a
    /// `lead_controlled` event; not here → forwarded (or an outgoing letter when outside the
    /// sender's reach); left the province → an outgoing letter. Returns the lead as it is now.
    pub async fn record_lead_outcome(
        &self,
        actor: &Actor,
        id: i64,
        form: &OutcomeForm,
    ) -> AppResult<LeadView> {
        actor.require(Permission::LandLeads)?;
        let command = RecordOutcome::try_from(form)?;
        let lead = self.lead_within(actor, id).await?;
        let status = lead.status;
        lead_rules::require_open(status).map_err(refused)?;
        let kind = command.kind();
        let note = command.note.clone();
        let now = self.now_unix();
        let step = |step: &str, to: &str, note: String| LeadStepRecord {
            id: 0,
            lead_id: id,
            at: now,
            step: step.into(),
            actor: actor.display_name.clone(),
            from_code: lead.grid_code.clone(),
            to_code: to.into(),
            note,
        };
        let letter_out = |to: &RegionCode, why: &str| -> AppResult<LeadChange> {
            let moved =
                lead_rules::transition(status, LeadInput::LetterOut, now).map_err(refused)?;
            Ok(LeadChange {
                lead_id: id,
                status: moved.to,
                grid_code: lead.grid_code.clone(),
                resident_id: lead.resident_id,
                closed_at: moved.closed_at,
                measure: None,
                out_region: to.as_str().into(),
                out_note: note.clone(),
                step: step(
                    "letter_out",
                    to.as_str(),
                    if note.is_empty() {
                        why.to_string()
                    } else {
                        format!("{why}：{note}")
                    },
                ),
                event: None,
                audit: None,
            })
        };
        let mut change = match command.outcome {
            LeadOutcome::Controlled { measure } => {
                let detail = LeadControlledEvent {
                    lead_id: id,
                    measure: measure.code().into(),
                    category: lead.category.code().into(),
                    name: lead.name.clone(),
                    address: lead.address.clone(),
                };
                let moved =
                    lead_rules::transition(status, LeadInput::Controlled, now).map_err(refused)?;
                LeadChange {
                    lead_id: id,
                    status: moved.to,
                    grid_code: lead.grid_code.clone(),
                    resident_id: lead.resident_id,
                    closed_at: moved.closed_at,
                    measure: Some(measure),
                    out_region: String::new(),
                    out_note: note.clone(),
                    step: step(
                        "controlled",
                        &lead.grid_code,
                        format!(
                            "{}{}",
                            measure.label_zh(),
                            if note.is_empty() {
                                String::new()
                            } else {
                                format!("：{note}")
                            }
                        ),
                    ),
                    event: Some((
                        LEAD_CONTROLLED.into(),
                        serde_json::to_string(&detail).map_err(AppError::internal)?,
                    )),
                    audit: None,
                }
            }
            LeadOutcome::NotHere { to } => {
                if to.as_str() == lead.grid_code {
                    return Err(AppError::field(
                        "区划编码",
                        "转派地区与当前网格相同：请填写此人实际所在的地区",
                    ));
                }
                let reach = RegionCode::parse(&lead.sender_region).ok();
                let within = actor.jurisdiction.contains(&to)
                    || reach.as_ref().is_some_and(|r| r.contains(&to));
                if within {
                    let route = self.route_by_region(to.as_str()).await?;
                    let moved = lead_rules::transition(
                        status,
                        LeadInput::Forwarded {
                            route: route.status,
                        },
                        now,
                    )
                    .map_err(refused)?;
                    LeadChange {
                        lead_id: id,
                        status: moved.to,
                        grid_code: route.grid_code.clone(),
                        resident_id: None,
                        closed_at: moved.closed_at,
                        measure: None,
                        out_region: String::new(),
                        out_note: String::new(),
                        step: step(
                            "forwarded",
                            &route.grid_code,
                            if note.is_empty() {
                                "不在此地址，转派".into()
                            } else {
                                format!("不在此地址，转派：{note}")
                            },
                        ),
                        event: None,
                        audit: None,
                    }
                } else {
                    letter_out(&to, "不在此地址，所在地超出本辖区，转为协查函")?
                }
            }
            LeadOutcome::LeftProvince { to } => {
                if to.as_str().get(..2) == lead.grid_code.get(..2) {
                    return Err(AppError::field(
                        "区划编码",
                        format!("{to} 属于本省：人员仍在省内时请选择“不在此地址，转派”"),
                    ));
                }
                letter_out(&to, "已离开本省，发协查函")?
            }
        };
        change.audit = Some(audit_record(
            self,
            actor,
            "land",
            format!("lead:{id}"),
            kind.code(),
        ));
        if !self.store.change_open_lead(&change).await? {
            let now_lead = self.store.lead(id).await?.unwrap_or(lead);
            return Err(Self::closed_error(&now_lead));
        }
        let after = self
            .store
            .lead(id)
            .await?
            .ok_or(AppError::NotFound("该线索"))?;
        Ok(self.views(std::slice::from_ref(&after)).await?.remove(0))
    }

    /// Routes an open lead to a grid or region inside the actor's jurisdiction (a 待分派 lead, or
    /// a correction of the routing). The region is parsed before anything is read; the change,
    /// its step and its audit record are one transaction.
    pub async fn assign_lead(&self, actor: &Actor, id: i64, region_code: &str) -> AppResult<()> {
        actor.require(Permission::SendLeads)?;
        let to = parse_region_code(region_code)?;
        let lead = self.lead_within(actor, id).await?;
        let status = lead.status;
        lead_rules::require_open(status).map_err(refused)?;
        let route = self.route_by_region(to.as_str()).await?;
        self.require_route_within(actor, &route.grid_code).await?;
        let now = self.now_unix();
        let moved = lead_rules::transition(
            status,
            LeadInput::Assigned {
                route: route.status,
            },
            now,
        )
        .map_err(refused)?;
        let change = LeadChange {
            lead_id: id,
            status: moved.to,
            grid_code: route.grid_code.clone(),
            resident_id: lead.resident_id,
            closed_at: moved.closed_at,
            measure: None,
            out_region: String::new(),
            out_note: String::new(),
            step: LeadStepRecord {
                id: 0,
                lead_id: id,
                at: now,
                step: "assigned".into(),
                actor: actor.display_name.clone(),
                from_code: lead.grid_code.clone(),
                to_code: route.grid_code.clone(),
                note: String::new(),
            },
            event: None,
            audit: Some(audit_record(
                self,
                actor,
                "assign",
                format!("lead:{id}"),
                route.grid_code.as_str(),
            )),
        };
        if !self.store.change_open_lead(&change).await? {
            return Err(Self::closed_error(&lead));
        }
        Ok(())
    }
}
