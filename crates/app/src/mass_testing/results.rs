//! A person's results, a resident's own results and their login's link to the register.

use super::*;

impl App {
    /// A resident's swabs and results, for staff (masked).
    pub async fn resident_results(
        &self,
        actor: &Actor,
        resident_id: i64,
    ) -> AppResult<Vec<PersonResultView>> {
        actor.require(Permission::ViewPopulation)?;
        let resident = load_within(actor, self.store.resident(resident_id)).await?;
        Ok(self
            .store
            .person_results(&resident.id_type, &resident.id_number)
            .await?
            .into_iter()
            .map(person_result_view)
            .collect())
    }

    /// A resident's own results (their login is linked to their register entry).
    pub async fn my_results(&self, actor: &Actor) -> AppResult<MyResults> {
        actor.require(Permission::ViewOwnResults)?;
        let resident_id = self
            .store
            .user_resident_id(actor.user_id)
            .await?
            .ok_or_else(|| {
                AppError::Invalid("您的账号还没有关联到实有人口登记，请联系社区网格员".into())
            })?;
        let resident = self
            .store
            .resident(resident_id)
            .await?
            .ok_or(AppError::NotFound("您的登记信息"))?;
        let results = self
            .store
            .person_results(&resident.id_type, &resident.id_number)
            .await?
            .into_iter()
            .map(person_result_view)
            .collect();
        // Masked even on the resident's own page: the page never needs the full number.
        let masked = mask_document(&resident.id_type, &resident.id_number);
        let mut antigen = self
            .store
            .antigen_reports_of(&resident.id_type, &resident.id_number)
            .await?;
        for report in &mut antigen {
            report.id_number = masked.as_str().into();
        }
        let pending_rechecks = self
            .store
            .recheck_tasks(
                (&resident.grid_code, &format!("{}:", resident.grid_code)),
                Some("pending"),
                1000,
            )
            .await?
            .iter()
            .filter(|t| t.id_number == resident.id_number && t.id_type == resident.id_type)
            .count() as i64;
        let mut events = self
            .store
            .person_events_of(&resident.id_type, &resident.id_number)
            .await?;
        for event in &mut events {
            event.id_number = masked.clone();
        }
        let secret = self.sampling_secret().await?;
        let sampling_code = SamplingCode::format(resident.id, &sampling_tag(&secret, resident.id));
        Ok(MyResults {
            sampling_code,
            name: mask_middle(&resident.name, 1, 0),
            id_number_masked: mask_document(&resident.id_type, &resident.id_number),
            results,
            antigen,
            pending_rechecks,
            events,
        })
    }

    /// Links a resident's login to their register entry (administrators and commanders); the link
    /// and its audit record are one transaction.
    pub async fn link_resident_login(
        &self,
        actor: &Actor,
        user_id: i64,
        resident_id: i64,
    ) -> AppResult<()> {
        actor.require(Permission::ManageUsers)?;
        load_within(actor, self.store.resident(resident_id)).await?;
        self.store
            .link_resident_login(
                user_id,
                resident_id,
                &audit_record(
                    self,
                    actor,
                    "update",
                    format!("user:{user_id}"),
                    format!("resident:{resident_id}"),
                ),
            )
            .await?;
        Ok(())
    }
}
