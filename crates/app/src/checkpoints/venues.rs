//! Venue codes (场所码): a venue's signed code and a resident's scan of it.

use super::*;

/// A venue as the form asked for it: name, type and address (what its code holds), and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateVenue {
    pub name: String,
    pub kind: String,
    pub address: String,
    pub region: RegionCode,
}

impl TryFrom<&VenueForm> for CreateVenue {
    type Error = AppError;

    fn try_from(form: &VenueForm) -> Result<Self, AppError> {
        let name = form.name.trim();
        let kind = form.kind.trim();
        let address = form.address.trim();
        if name.is_empty() || kind.is_empty() || address.is_empty() {
            return Err(AppError::Invalid(
                "场所名称、类型和地址都要填写（场所码里保存这三项）".into(),
            ));
        }
        let region = RegionCode::parse(&form.region_code).map_err(AppError::Invalid)?;
        Ok(CreateVenue {
            name: name.to_string(),
            kind: kind.to_string(),
            address: address.to_string(),
            region,
        })
    }
}

impl App {
    /// Registers a venue: the form is parsed into [`CreateVenue`] before anything is read; the
    /// venue and its audit record are one transaction.
    pub async fn create_venue(&self, actor: &Actor, form: &VenueForm) -> AppResult<i64> {
        actor.require(Permission::ManageCheckpoints)?;
        let command = CreateVenue::try_from(form)?;
        actor.require_within(&command.region)?;
        if self.store.region(command.region.as_str()).await?.is_none() {
            return Err(region_unknown(&command.region));
        }
        let id = self
            .store
            .insert_venue(
                &command.name,
                &command.kind,
                &command.address,
                command.region.as_str(),
                self.now_unix(),
                &actor.username,
                &audit_record(self, actor, "create_venue", "", command.name.as_str()),
            )
            .await?;
        Ok(id)
    }

    pub async fn venues(&self, actor: &Actor) -> AppResult<Vec<VenueView>> {
        if !(actor.role.allows(Permission::ManageCheckpoints)
            || actor.role.allows(Permission::QueryItinerary))
        {
            return Err(AppError::Forbidden { role: actor.role });
        }
        let keys = self.code_keys().await?;
        let (lower, upper) = actor.jurisdiction_range();
        Ok(self
            .store
            .venues((&lower, &upper))
            .await?
            .into_iter()
            .map(|venue| VenueView {
                code_text: venue_code_text(&keys.subject_key, venue.id),
                venue,
            })
            .collect())
    }

    pub async fn venue(&self, actor: &Actor, id: i64) -> AppResult<VenueView> {
        if !(actor.role.allows(Permission::ManageCheckpoints)
            || actor.role.allows(Permission::QueryItinerary))
        {
            return Err(AppError::Forbidden { role: actor.role });
        }
        let venue = load_within(actor, self.store.venue(id)).await?;
        let keys = self.code_keys().await?;
        Ok(VenueView {
            code_text: venue_code_text(&keys.subject_key, venue.id),
            venue,
        })
    }

    /// The venue a scanned venue code names, for the resident's check-in page before they confirm
    /// (only what the poster itself shows: name, type, address).
    pub async fn venue_of_code(&self, actor: &Actor, code_text: &str) -> AppResult<VenueView> {
        actor.require(Permission::ShowOwnCode)?;
        let keys = self.code_keys().await?;
        let venue_id = parse_venue_code(&keys.subject_key, code_text)?;
        let venue = self
            .store
            .venue(venue_id)
            .await?
            .ok_or(AppError::NotFound("该场所"))?;
        Ok(VenueView {
            code_text: venue_code_text(&keys.subject_key, venue.id),
            venue,
        })
    }

    /// A resident scans a venue's code: the visit is recorded with their current colour, and the
    /// page shows the colour for the door keeper.
    pub async fn check_in_venue(
        &self,
        actor: &Actor,
        code_text: &str,
        visit_key: &str,
    ) -> AppResult<VenueCheckIn> {
        actor.require(Permission::ShowOwnCode)?;
        let keys = self.code_keys().await?;
        let venue_id = parse_venue_code(&keys.subject_key, code_text)?;
        let venue = self
            .store
            .venue(venue_id)
            .await?
            .ok_or(AppError::NotFound("该场所"))?;
        let resident = self.own_resident(actor).await?;
        let person = CodePerson {
            id_type: resident.id_type.clone(),
            id_number: resident.id_number.clone(),
        };
        let (state, _, _) = self.current_code(&person).await?;
        let now = self.now_unix();
        if visit_key.len() > 100 {
            return Err(AppError::Invalid(
                "登记编号过长，请刷新页面后重新扫码".into(),
            ));
        }
        let key = if visit_key.trim().is_empty() {
            // Without a client key a page reload within the minute is the same visit.
            format!("{venue_id}:{}:{}", resident.id, now / 60)
        } else {
            format!("{venue_id}:{}:{}", resident.id, visit_key.trim())
        };
        let (_, fresh) = self
            .store
            .insert_venue_visit(&VenueVisitRecord {
                id: 0,
                visit_key: key,
                venue_id,
                at: now,
                id_type: person.id_type.clone(),
                id_number: person.id_number.clone(),
                resident_id: Some(resident.id),
                colour: state.colour,
            })
            .await?;
        Ok(VenueCheckIn {
            venue_name: venue.name,
            colour: state.colour.code().to_string(),
            colour_label: state.colour.label_zh(),
            popup: state.popup.is_some(),
            at: now,
            name_masked: fangkong_domain::ids::mask_middle(&resident.name, 1, 0),
            repeated: !fresh,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> VenueForm {
        VenueForm {
            name: " 西城街菜市场 ".into(),
            kind: "农贸市场".into(),
            address: "西城街8号".into(),
            region_code: "130109100013".into(),
        }
    }

    #[test]
    fn a_good_form_is_a_venue() {
        assert_eq!(
            CreateVenue::try_from(&good()).unwrap(),
            CreateVenue {
                name: "西城街菜市场".into(),
                kind: "农贸市场".into(),
                address: "西城街8号".into(),
                region: RegionCode::parse("130109100013").unwrap(),
            }
        );
    }

    #[test]
    fn each_bad_field_is_refused_by_its_name() {
        type Change = fn(&mut VenueForm);
        let table: [(Change, &str); 4] = [
            (|f| f.name = " ".into(), "场所名称"),
            (|f| f.kind = String::new(), "类型"),
            (|f| f.address = String::new(), "地址"),
            (|f| f.region_code = "1301091000".into(), "区划编码"),
        ];
        for (change, field) in table {
            let mut form = good();
            change(&mut form);
            match CreateVenue::try_from(&form) {
                Err(AppError::Invalid(message)) => {
                    assert!(message.contains(field), "{field}: {message}")
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
