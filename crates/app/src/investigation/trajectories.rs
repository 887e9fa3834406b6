//! Trajectories (轨迹): stops typed, or pulled from the itinerary (checkpoints and venue scans).

use super::*;

impl App {
    /// Pulls the case's passages at checkpoints and venue-code scans over its look-back window into
    /// the trajectory (idempotent). Returns how many stops were new.
    pub async fn pull_case_itinerary(&self, actor: &Actor, case_id: i64) -> AppResult<u64> {
        actor.require(Permission::InvestigateCases)?;
        let case = self.visible_case(actor, case_id).await?;
        let rules = self.rules_of(&case);
        let window = case_window(&rules, window_anchor(&case), case.isolated_at);
        let until = case.isolated_at.unwrap_or_else(|| self.now_unix()) + 1;
        let person = CodePerson {
            id_type: case.id_type.clone(),
            id_number: case.id_number.clone(),
        };
        let stops = self
            .store
            .itinerary_of(&person, window.opens_at, until)
            .await?;
        // A read of the person's passages and venue scans: audited before they are used, like a
        // reveal (the stops it adds are the system's copy of that read).
        audit_by(
            self,
            actor,
            "read_itinerary",
            &format!("case:{case_id}"),
            &format!("{} stops", stops.len()),
        )
        .await?;
        let now = self.now_unix();
        let rows: Vec<CaseStopRecord> = stops
            .iter()
            .map(|s| CaseStopRecord {
                id: 0,
                case_id,
                from_at: s.at,
                to_at: None,
                place_kind: if s.place_kind == "venue" {
                    "venue"
                } else {
                    "checkpoint"
                }
                .into(),
                place_name: s.place_name.clone(),
                address: String::new(),
                region_code: case.region_code.to_string(),
                source: s.place_kind.clone(),
                source_key: format!("{}:{}:{}", s.place_kind, s.place_id, s.at),
                public: s.place_kind == "venue",
                created_by: actor.display_name.clone(),
                created_at: now,
            })
            .collect();
        Ok(self.store.insert_case_stops(&rows, None).await?)
    }
}
