//! Recomputing codes: one person, the people a change touches, everyone after a policy or risk-area
//! change, and the codes due by time.

use super::*;
use crate::EventCursor;

impl App {
    /// Applies fact writes and updates, recomputing the people they touch in the same transaction,
    /// and refreshes the verifier's memory for them.
    pub(crate) async fn change_code_facts(
        &self,
        writes: &[FactWrite],
        updates: &[FactUpdate],
        cause: &str,
    ) -> AppResult<Vec<HealthCodeRecord>> {
        if writes.is_empty() && updates.is_empty() {
            return Ok(Vec::new());
        }
        self.write_code_facts(writes, updates, cause, None).await
    }

    /// [`App::change_code_facts`] for a change a user made: the facts, the codes they cause and
    /// the audit record `audit` are one transaction (the record is written even when the change
    /// turns out to touch nobody — the user did ask for it).
    pub(crate) async fn change_code_facts_audited(
        &self,
        writes: &[FactWrite],
        updates: &[FactUpdate],
        cause: &str,
        audit: &fangkong_store::AuditRecord,
    ) -> AppResult<Vec<HealthCodeRecord>> {
        self.write_code_facts(writes, updates, cause, Some(audit))
            .await
    }

    async fn write_code_facts(
        &self,
        writes: &[FactWrite],
        updates: &[FactUpdate],
        cause: &str,
        audit: Option<&fangkong_store::AuditRecord>,
    ) -> AppResult<Vec<HealthCodeRecord>> {
        let policy = self.code_policy().await?;
        let now = self.now_unix();
        let codes = self
            .store
            .change_facts(
                writes,
                updates,
                cause,
                now,
                |person, facts, negatives| compute_code(policy, person, facts, negatives, now).1,
                audit,
            )
            .await?;
        self.codes.remember(&codes);
        Ok(codes)
    }

    /// Adds facts without an actor (seeding, the demo and benchmarks), recomputing the people touched.
    pub async fn add_code_facts_unchecked(
        &self,
        writes: &[FactWrite],
        cause: &str,
    ) -> AppResult<usize> {
        Ok(self.change_code_facts(writes, &[], cause).await?.len())
    }

    /// Recomputes everyone who has ever had a fact (a policy change, a risk-area change, the
    /// passing of time). Writes only the codes that changed.
    pub async fn recompute_all_codes(&self, cause: &str) -> AppResult<RecomputeReport> {
        let started = Instant::now();
        let policy = self.code_policy().await?;
        let now = self.now_unix();
        let stored = self.store.stored_code_brief().await?;
        let mut changed: Vec<CodeWrite> = Vec::new();
        let people = self
            .store
            .for_each_fact_person(|person, facts, negatives| {
                let (_, write) = compute_code(policy, person, facts, negatives, now);
                let same = stored.get(person).is_some_and(|(colour, popup, summary)| {
                    colour == write.colour.code()
                        && *popup == write.popup
                        && *summary == write.summary
                });
                if !same {
                    changed.push(write);
                }
            })
            .await?;
        // The changed people are written through the fact writer: it re-reads their facts under the
        // writer lock, so a fact that arrived while this pass was computing is never overwritten
        // with an older answer.
        for chunk in changed.chunks(5_000) {
            let updates: Vec<FactUpdate> = chunk
                .iter()
                .map(|code| FactUpdate::Recompute {
                    person: CodePerson {
                        id_type: code.id_type.clone(),
                        id_number: code.id_number.clone(),
                    },
                })
                .collect();
            self.change_code_facts(&[], &updates, cause).await?;
        }
        Ok(RecomputeReport {
            people,
            changed: changed.len(),
            millis: started.elapsed().as_millis(),
        })
    }

    /// Turns person events from mass testing into facts (pool positive → red until the recheck;
    /// recheck negative → ended). Remembers how far it read, so each event is taken once; the
    /// fact keys make a repeat harmless anyway. Returns the number of events read.
    pub async fn sync_code_events(&self) -> AppResult<usize> {
        let _one_at_a_time = self.codes.event_sync.lock().await;
        let mut cursor = EventCursor::new(EVENT_CURSOR_SETTING, 5_000);
        while let Some(events) = cursor.next(self).await? {
            let mut writes = Vec::new();
            let mut updates = Vec::new();
            for event in &events {
                // A contact withdrawn, or a suspected case excluded, was wrong: its facts stop
                // counting (withdrawn, as an accepted appeal does), not just end.
                if event.kind == person_event::CONTACT_CLEARED
                    || event.kind == person_event::CASE_EXCLUDED
                {
                    let person = CodePerson {
                        id_type: event.id_type.clone(),
                        id_number: event.id_number.as_str().into(),
                    };
                    let source = format!("流调：{}", event.source);
                    for fact in self.store.facts_of(&person).await? {
                        if fact.source == source && fact.withdrawn_at.is_none() {
                            updates.push(FactUpdate::Withdraw {
                                fact_id: fact.id,
                                at: event.at,
                            });
                        }
                    }
                    // An excluded case was no infection: the screening positive that opened it
                    // (初筛阳性, or a pool waiting for its recheck) ends with it.
                    if event.kind == person_event::CASE_EXCLUDED {
                        updates.push(FactUpdate::End {
                            person,
                            kinds: vec![
                                FactKind::InitialScreenPositive.code().to_string(),
                                FactKind::PoolPositivePending.code().to_string(),
                            ],
                            at: event.at,
                        });
                    }
                    continue;
                }
                // A person moved grid: the colour does not depend on the grid, but a stored code is
                // kept under the grid they live in, so it is written again there. Someone without a
                // code is green by construction and stays without a row.
                if event.kind == person_event::RESIDENT_MOVED {
                    let person = CodePerson {
                        id_type: event.id_type.clone(),
                        id_number: event.id_number.as_str().into(),
                    };
                    if self.store.health_code(&person).await?.is_some() {
                        updates.push(FactUpdate::Recompute { person });
                    }
                    continue;
                }
                let (write, update) = facts_of_event(event);
                writes.extend(write);
                updates.extend(update);
                // Every channel that finds an infection inside a risk area restarts its clean-day
                // count (domain-rules §4): testing, antigen, and cases investigation reports.
                if let Some(found) = infection_found(event) {
                    self.store
                        .record_area_infection(&event.grid_code, event.at, found)
                        .await?;
                }
            }
            self.change_code_facts(&writes, &updates, "核酸检测结果")
                .await?;
        }
        Ok(cursor.read())
    }

    /// Brings new person events into codes; a failure is logged, not returned: the events are
    /// committed and the background pass takes them again.
    pub(crate) async fn feed_health_codes(&self) {
        if let Err(error) = self.sync_code_events().await {
            tracing::warn!(%error, "feeding health codes from person events failed; will retry");
        }
    }

    /// Refreshes the verifier's cached codes (the checkpoint check reads them without a query).
    pub(crate) async fn refresh_verifier_codes(&self) -> AppResult<()> {
        self.codes.refresh_briefs(&self.store).await?;
        Ok(())
    }

    /// Recomputes the codes whose answer may have changed with time alone: a turn-green date passed,
    /// or a negative result a code waits for may have arrived. Run every minute by the server.
    pub async fn refresh_due_codes(&self) -> AppResult<usize> {
        let now = self.now_unix();
        let due = self.store.codes_due(now, 20_000).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let updates: Vec<FactUpdate> = due
            .into_iter()
            .map(|person| FactUpdate::Recompute { person })
            .collect();
        let codes = self.change_code_facts(&[], &updates, "到期重算").await?;
        Ok(codes.len())
    }
}

/// What an event says was found, when it is an infection that restarts a risk area's clean-day
/// count: a positive test or antigen, or a confirmed or asymptomatic case reported by investigation
/// (a suspected case is not yet an infection; an initial-screen positive arrives as its test).
pub fn infection_found(event: &PersonEventRecord) -> Option<&'static str> {
    match event.kind.as_str() {
        "single_positive" => Some("区域内发现核酸阳性"),
        "antigen_positive" => Some("区域内发现抗原阳性"),
        person_event::CASE_REPORTED => {
            let detail: CaseEvent = serde_json::from_str(&event.detail).ok()?;
            match detail.case_kind.as_str() {
                "confirmed" => Some("区域内报告确诊病例"),
                "asymptomatic" => Some("区域内报告无症状感染者"),
                _ => None,
            }
        }
        _ => None,
    }
}
