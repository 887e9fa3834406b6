//! Contacts (密接、次密接): classified by the regime in force, one by one; cleared with a reason.

use super::*;

impl App {
    pub(super) fn rules_of(&self, case: &CaseRecord) -> TracingRules {
        case.regime.tracing_rules_in(case.region_code.as_str())
    }

    /// Records a person exposed to the case, classified by rule; returns the contact id and the
    /// classification. A close or secondary contact is told to the other modules at once.
    pub async fn add_contact(
        &self,
        actor: &Actor,
        case_id: i64,
        form: &ContactForm,
    ) -> AppResult<(i64, Classification)> {
        let (id, classification) = self.record_contact(actor, case_id, form).await?;
        if classification.category != ContactCategory::General {
            self.feed_health_codes().await;
        }
        Ok((id, classification))
    }

    /// [`App::add_contact`] without the health-code pass (a list import runs it once at the end).
    /// The form is parsed into [`RecordContact`] before anything is read; the contact, its event
    /// and its audit record are one transaction.
    pub(super) async fn record_contact(
        &self,
        actor: &Actor,
        case_id: i64,
        form: &ContactForm,
    ) -> AppResult<(i64, Classification)> {
        actor.require(Permission::InvestigateCases)?;
        let command = RecordContact::try_from(form)?;
        let case = load_within(actor, self.store.case(case_id))
            .await
            .map_err(|e| match e {
                AppError::NotFound(_) => {
                    AppError::NotFound("该病例：密接必须关联到一个已登记的病例")
                }
                other => other,
            })?;
        if case.status == CaseStatus::Excluded {
            return Err(AppError::Conflict("该病例已排除，不再追踪密接".into()));
        }
        let exposure = command.exposure;
        let kind = exposure.kind;
        let person = self.identify(&command.person).await?;
        if !person.id_number.is_empty()
            && person.id_number == case.id_number.as_str()
            && person.id_type == case.id_type
        {
            return Err(AppError::Invalid("接触者不能是病例本人".into()));
        }
        let regime = self.tracing_regime().await?;
        let rules = regime.tracing_rules_in(case.region_code.as_str());
        let now = self.now_unix();
        let words = |e: fangkong_domain::investigation::ExposureError| {
            AppError::Invalid(e.message_zh(format_beijing))
        };
        let (classification, via) = match command.via_contact_id {
            None => {
                let window = case_window(&rules, window_anchor(&case), case.isolated_at);
                (
                    classify_contact(&rules, &window, &exposure, now).map_err(words)?,
                    None,
                )
            }
            Some(via_id) => {
                let via = self
                    .store
                    .contact(via_id)
                    .await?
                    .filter(|c| c.case_id == case_id)
                    .ok_or_else(|| {
                        AppError::field(
                            "经由的密接",
                            "次密接须关联到本病例的一名密接：没有找到该密接",
                        )
                    })?;
                if via.category != ContactCategory::Close || via.status != ContactStatus::Active {
                    return Err(AppError::field(
                        "经由的密接",
                        "次密接只能关联到密切接触者（该人员不是本病例的在管密接）",
                    ));
                }
                (
                    classify_secondary(
                        &rules,
                        via.first_exposure_at,
                        via.isolated_at,
                        &exposure,
                        now,
                    )
                    .map_err(words)?,
                    Some(via),
                )
            }
        };
        let (grid_code, resident_id, name, address) = match &person.resident {
            Some(r) => (
                r.grid_code.clone(),
                Some(r.id),
                if command.name.is_empty() {
                    r.name.clone()
                } else {
                    command.name.clone()
                },
                if command.address.is_empty() {
                    r.address.clone()
                } else {
                    command.address.clone()
                },
            ),
            None => (
                command
                    .region
                    .as_ref()
                    .map(|r| r.as_str().to_string())
                    .unwrap_or_default(),
                None,
                command.name.clone(),
                command.address.clone(),
            ),
        };
        if name.is_empty() {
            return Err(AppError::field("姓名", "请填写接触者姓名"));
        }
        // Nowhere to route the lead: it waits in the case's county to be assigned (待分派).
        let grid_code = if grid_code.is_empty() {
            let code = case.region_code.as_str();
            code[..code.len().min(6)].to_string()
        } else {
            grid_code
        };
        if address.is_empty() && grid_code.is_empty() && person.resident.is_none() {
            return Err(AppError::Invalid(
                "该人员不在实有人口库中：请填写现住址或区划编码，以便推送到所在网格落地查人".into(),
            ));
        }
        let person_key = if person.id_number.is_empty() {
            format!("phone:{}", person.phone.as_deref().unwrap_or(""))
        } else {
            format!("{}:{}", person.id_type, person.id_number.as_str())
        };
        let event_kind = match classification.category {
            ContactCategory::Close => Some(person_event::CLOSE_CONTACT.to_string()),
            ContactCategory::Secondary => Some(person_event::SECONDARY_CONTACT.to_string()),
            ContactCategory::General => None,
        };
        let event = ContactEvent {
            contact_id: 0,
            case_id,
            via_contact_id: via.as_ref().map(|v| v.id),
            last_exposure: exposure.last_at,
            regime: regime.code().to_string(),
            name: name.clone(),
            phone: person.phone.clone(),
            address: address.clone(),
        };
        let detail = serde_json::json!({
            "vehicle": exposure.vehicle,
            "place_note": command.place_note,
        });
        let write = ContactWrite {
            case_id,
            case_region_code: case.region_code.to_string(),
            via_contact_id: via.as_ref().map(|v| v.id),
            person_key,
            id_type: person.id_type.clone(),
            id_number: person.id_number.clone(),
            resident_id,
            name,
            phone: person
                .phone
                .clone()
                .or_else(|| person.resident.as_ref().and_then(|r| r.phone.clone())),
            address,
            grid_code,
            exposure_kind: kind.code().to_string(),
            exposure_detail: detail.to_string(),
            protected: exposure.protected,
            first_exposure_at: exposure.first_at,
            last_exposure_at: exposure.last_at,
            category: classification.category.code().to_string(),
            reason: classification.reason.clone(),
            regime: regime.code().to_string(),
            created_by: actor.display_name.clone(),
            created_at: now,
            event_kind,
            event_detail: contact_event_template(&event),
        };
        let audit = audit_record(self, actor, "create", "", classification.category.code());
        let id = match self.store.insert_contact(&write, &audit).await {
            Ok(id) => id,
            Err(e) if e.is_duplicate_contact() => {
                return Err(AppError::Conflict(
                    "该人员已登记为本病例的接触者，请在原记录上核对".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        Ok((id, classification))
    }

    /// Withdraws a contact (entered by mistake, or the investigation ruled the exposure out); the
    /// clearing, its event and its audit record are one transaction.
    pub async fn clear_contact(
        &self,
        actor: &Actor,
        contact_id: i64,
        reason: &str,
    ) -> AppResult<()> {
        actor.require(Permission::InvestigateCases)?;
        let command = ClearContact::try_from(reason)?;
        let contact = load_within(actor, self.store.contact(contact_id)).await?;
        let event = ContactEvent {
            contact_id,
            case_id: contact.case_id,
            via_contact_id: contact.via_contact_id,
            last_exposure: contact.last_exposure_at,
            regime: contact.regime.code().into(),
            name: contact.name.clone(),
            phone: contact.phone.clone(),
            address: contact.address.clone(),
        };
        let detail = serde_json::to_string(&event).map_err(AppError::internal)?;
        if !self
            .store
            .clear_contact(
                contact_id,
                &command.reason,
                self.now_unix(),
                &detail,
                &audit_record(
                    self,
                    actor,
                    "clear",
                    format!("contact:{contact_id}"),
                    command.reason.as_str(),
                ),
            )
            .await?
        {
            return Err(AppError::Conflict("该接触者已解除".into()));
        }
        self.feed_health_codes().await;
        Ok(())
    }
}
