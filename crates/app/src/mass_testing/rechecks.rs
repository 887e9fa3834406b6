//! Rechecks (复核): the tasks a positive pool or a single positive opens.

use super::*;

impl App {
    pub async fn recheck_tasks(
        &self,
        actor: &Actor,
        region_code: &str,
        status: Option<&str>,
    ) -> AppResult<Vec<RecheckView>> {
        actor.require(Permission::ViewPopulation)?;
        let code = region_in_jurisdiction(actor, region_code)?;
        let (lower, upper) = code.subtree_range();
        Ok(self
            .store
            .recheck_tasks((&lower, &upper), status.filter(|s| !s.is_empty()), 1000)
            .await?
            .into_iter()
            .map(recheck_view)
            .collect())
    }

    /// [`App::recheck_tasks`] as a page: the rows shown and how many there are in all.
    pub async fn recheck_tasks_page(
        &self,
        actor: &Actor,
        region_code: &str,
        status: Option<&str>,
    ) -> AppResult<crate::Page<RecheckView>> {
        let rows = self.recheck_tasks(actor, region_code, status).await?;
        let code = region_in_jurisdiction(actor, region_code)?;
        let (lower, upper) = code.subtree_range();
        let total = self
            .store
            .count_recheck_tasks((&lower, &upper), status.filter(|s| !s.is_empty()))
            .await?;
        Ok(crate::Page::new(rows, total))
    }

    /// Single-tube positives in the region: cases the tracing module opens.
    pub async fn single_positives(
        &self,
        actor: &Actor,
        region_code: &str,
    ) -> AppResult<Vec<(PersonEventRecord, String)>> {
        actor.require(Permission::ViewPopulation)?;
        let code = region_in_jurisdiction(actor, region_code)?;
        let (lower, upper) = code.subtree_range();
        Ok(self
            .store
            .person_events("single_positive", (&lower, &upper), 1000)
            .await?
            .into_iter()
            .map(|e| {
                let masked = mask_document(&e.id_type, &e.id_number);
                (e, masked)
            })
            .collect())
    }
}
