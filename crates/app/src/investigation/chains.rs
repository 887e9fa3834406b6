//! Transmission chains (传播链): cases linked by their infectors, for the chain picture.

use super::*;

impl App {
    /// The transmission chains of the jurisdiction, laid out (SVG is drawn by the web layer).
    pub async fn transmission_chains(&self, actor: &Actor) -> AppResult<ChainPicture> {
        actor.require(Permission::ViewInvestigation)?;
        let started = std::time::Instant::now();
        let (lower, upper) = actor.jurisdiction_range();
        let rows = self.store.chain_cases((&lower, &upper)).await?;
        let cases: Vec<ChainCase> = rows
            .iter()
            .map(|r| ChainCase {
                case_id: r.id,
                infector: r.infector_case_id,
            })
            .collect();
        let layout = layout_chains(&cases, 240);
        let by_id: std::collections::HashMap<i64, &fangkong_store::investigation::ChainCaseRow> =
            rows.iter().map(|r| (r.id, r)).collect();
        let labels = layout
            .cases
            .iter()
            .map(|p| {
                let row = by_id[&p.case_id];
                (
                    row.case_number.clone(),
                    row.kind.code().to_string(),
                    row.contacts,
                )
            })
            .collect();
        Ok(ChainPicture {
            cases: rows.len(),
            contacts: rows.iter().map(|r| r.contacts).sum(),
            layout,
            labels,
            millis: started.elapsed().as_millis(),
        })
    }
}
