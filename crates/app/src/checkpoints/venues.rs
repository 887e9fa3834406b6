//! Venue codes (场所码): a venue's signed code and a resident's scan of it.

use super::*;

impl App {
    pub async fn create_venue(&self, actor: &Actor, form: &VenueForm) -> AppResult<i64> {
        actor.require(Permission::ManageCheckpoints)?;
        let name = form.name.trim();
        let kind = form.kind.trim();
        let address = form.address.trim();
        if name.is_empty() || kind.is_empty() || address.is_empty() {
            return Err(AppError::Invalid(
                "场所名称、类型和地址都要填写（场所码里保存这三项）".into(),
            ));
        }
        let region = RegionCode::parse(&form.region_code).map_err(AppError::Invalid)?;
        actor.require_within(&region)?;
        if self.store.region(region.as_str()).await?.is_none() {
            return Err(AppError::Invalid(format!(
                "区划编码“{}”不存在",
                region.as_str()
            )));
        }
        let id = self
            .store
            .insert_venue(
                name,
                kind,
                address,
                region.as_str(),
                self.now_unix(),
                &actor.username,
            )
            .await?;
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "create_venue",
            &id.to_string(),
            name,
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
                colour: state.colour.code().to_string(),
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
