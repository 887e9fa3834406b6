//! Health code, risk areas, checkpoints and venue codes (健康码、风险区域、卡口、场所码).
//!
//! The store keeps facts, cached codes and logs; it never decides a colour. The application
//! computes codes with the domain's pure function and hands the answers back in [`CodeWrite`]s, so
//! the policy in force lives in one place.
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, QueryBuilder};

use crate::{Store, StoreResult, begin_locked, with_pool};

/// The writer lock of code facts and cached codes: a person's facts and code change together, one
/// writer at a time (also across server processes), so a recompute never overwrites a newer answer.
const CODE_WRITER_LOCK: i64 = 271_828;

/// Rows per multi-row statement (stays under both backends' bound-parameter limits).
const ROWS_PER_STATEMENT: usize = 500;

/// A person as the health code knows them: the ID document, and the register entry when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::FromRow, serde::Serialize)]
pub struct CodePerson {
    pub id_type: String,
    pub id_number: String,
}

/// A step of a risk area, taken only if the area is still as the caller saw it.
#[derive(Debug, Clone, Copy)]
pub struct AreaStep<'a> {
    pub id: i64,
    pub from_tier: &'a str,
    pub seen_infection: Option<i64>,
    /// A tier, or "lifted".
    pub to_tier: &'a str,
    pub at: i64,
    pub actor: &'a str,
    pub note: &'a str,
}

/// Who a QR subject stands for.
#[derive(Clone, PartialEq, Eq)]
pub struct SubjectOwner {
    pub person: CodePerson,
    pub resident_id: Option<i64>,
    pub name: Option<String>,
}

impl std::fmt::Debug for SubjectOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubjectOwner")
            .field("resident_id", &self.resident_id)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Risk areas
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RiskAreaRecord {
    pub id: i64,
    pub scheme: String,
    pub tier: String,
    pub unit: String,
    pub region_code: String,
    pub place_name: String,
    pub reason: String,
    pub designated_at: i64,
    pub designated_by: String,
    pub tier_since: i64,
    pub last_infection_at: Option<i64>,
    pub lifted_at: Option<i64>,
    pub lifted_by: Option<String>,
}

const AREA_COLUMNS: &str = "id, scheme, tier, unit, region_code, place_name, reason, designated_at, designated_by, \
     tier_since, last_infection_at, lifted_at, lifted_by";

#[derive(Debug, Clone)]
pub struct NewRiskArea {
    pub scheme: String,
    pub tier: String,
    pub unit: String,
    pub region_code: String,
    pub place_name: String,
    pub reason: String,
    pub at: i64,
    pub actor: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RiskAreaStepRecord {
    pub id: i64,
    pub area_id: i64,
    pub at: i64,
    pub from_tier: Option<String>,
    pub to_tier: String,
    pub actor: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RiskAreaRoundRecord {
    pub id: i64,
    pub area_id: i64,
    pub finished_at: i64,
    pub round_id: Option<i64>,
    pub note: String,
    pub recorded_by: String,
}

// ---------------------------------------------------------------------------------------------
// Facts and codes
// ---------------------------------------------------------------------------------------------

/// One input of a person's code as stored (see `domain::health_code::CodeFact`).
#[derive(Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct FactRecord {
    pub id: i64,
    pub fact_key: String,
    pub id_type: String,
    pub id_number: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub kind: String,
    pub anchor: i64,
    pub ended_at: Option<i64>,
    pub colour: Option<String>,
    pub checked_at: Option<i64>,
    pub note: Option<String>,
    pub source: String,
    pub created_by: String,
    pub created_at: i64,
    /// Set when the fact was found wrong: it no longer counts.
    pub withdrawn_at: Option<i64>,
}

impl std::fmt::Debug for FactRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("anchor", &self.anchor)
            .field("ended_at", &self.ended_at)
            .finish_non_exhaustive()
    }
}

const FACT_COLUMNS: &str = "id, fact_key, id_type, id_number, resident_id, grid_code, kind, anchor, ended_at, colour, \
     checked_at, note, source, created_by, created_at, withdrawn_at";

/// A fact to add. `fact_key` makes the write idempotent: the same source event never adds twice.
#[derive(Clone)]
pub struct FactWrite {
    pub fact_key: String,
    pub person: CodePerson,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub kind: String,
    pub anchor: i64,
    pub ended_at: Option<i64>,
    pub colour: Option<String>,
    pub note: Option<String>,
    pub source: String,
    pub created_by: String,
}

impl std::fmt::Debug for FactWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactWrite")
            .field("fact_key", &self.fact_key)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A change to facts already stored: close open facts of some kinds (a recheck came back negative,
/// another province cleared its colour), or record the community check a pop-up waits for.
#[derive(Debug, Clone)]
pub enum FactUpdate {
    End {
        person: CodePerson,
        kinds: Vec<String>,
        at: i64,
    },
    EndOne {
        fact_id: i64,
        at: i64,
    },
    Checked {
        person: CodePerson,
        at: i64,
    },
    /// A case's discharge from hospital (the Hebei table's clock for cases starts there).
    Discharged {
        person: CodePerson,
        at: i64,
    },
    /// Nothing changes but the person's code is computed again (time passed, a result came).
    Recompute {
        person: CodePerson,
    },
    /// The fact was wrong (an accepted appeal, a correction): it stops counting.
    Withdraw {
        fact_id: i64,
        at: i64,
    },
}

/// The cached code of a person, as computed by the application.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct HealthCodeRecord {
    pub id_type: String,
    pub id_number: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub colour: String,
    pub popup: Option<String>,
    pub summary: String,
    pub reasons: String,
    pub turns_green_at: Option<i64>,
    pub waits_for_test: bool,
    pub policy_id: String,
    pub computed_at: i64,
}

impl std::fmt::Debug for HealthCodeRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthCodeRecord")
            .field("colour", &self.colour)
            .field("popup", &self.popup)
            .finish_non_exhaustive()
    }
}

const CODE_COLUMNS: &str = "id_type, id_number, resident_id, grid_code, colour, popup, summary, reasons, \
     turns_green_at, waits_for_test, policy_id, computed_at";

/// A computed code to store; a history row is added when colour or pop-up differ from the stored one.
pub type CodeWrite = HealthCodeRecord;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct CodeChangeRecord {
    pub id: i64,
    pub at: i64,
    pub from_colour: String,
    pub to_colour: String,
    pub popup: Option<String>,
    pub summary: String,
    pub cause: String,
}

/// Per colour, how many people in a range of grids.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ColourCount {
    pub colour: String,
    pub popups: i64,
    pub people: i64,
}

// ---------------------------------------------------------------------------------------------
// Checkpoints, passages, venues, appeals
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct CheckpointRecord {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub line: String,
    pub region_code: String,
    pub created_at: i64,
    pub created_by: String,
    pub active: bool,
}

#[derive(Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct PassageRecord {
    pub id: i64,
    pub passage_key: String,
    pub checkpoint_id: i64,
    pub at: i64,
    pub method: String,
    pub id_type: String,
    pub id_number: String,
    pub resident_id: Option<i64>,
    pub colour: Option<String>,
    pub popup: bool,
    pub temperature: Option<f64>,
    pub plate: Option<String>,
    pub from_region: Option<String>,
    pub decision: String,
    pub reasons: String,
    pub recorder: String,
}

impl std::fmt::Debug for PassageRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassageRecord")
            .field("id", &self.id)
            .field("decision", &self.decision)
            .finish_non_exhaustive()
    }
}

const PASSAGE_COLUMNS: &str = "id, passage_key, checkpoint_id, at, method, id_type, id_number, resident_id, colour, \
     popup, temperature, plate, from_region, decision, reasons, recorder";

/// A passage to log (the id is assigned by the database).
pub type PassageWrite = PassageRecord;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct VenueRecord {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub address: String,
    pub region_code: String,
    pub created_at: i64,
    pub created_by: String,
}

#[derive(Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct VenueVisitRecord {
    pub id: i64,
    pub visit_key: String,
    pub venue_id: i64,
    pub at: i64,
    pub id_type: String,
    pub id_number: String,
    pub resident_id: Option<i64>,
    pub colour: String,
}

impl std::fmt::Debug for VenueVisitRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VenueVisitRecord")
            .field("id", &self.id)
            .field("venue_id", &self.venue_id)
            .finish_non_exhaustive()
    }
}

/// One stop of a person's itinerary: a checkpoint passage or a venue visit.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ItineraryStop {
    pub at: i64,
    pub place_kind: String,
    pub place_id: i64,
    pub place_name: String,
    pub id_type: String,
    pub id_number: String,
    pub resident_id: Option<i64>,
}

impl std::fmt::Debug for ItineraryStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItineraryStop")
            .field("at", &self.at)
            .field("place_kind", &self.place_kind)
            .field("place_id", &self.place_id)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct AppealRecord {
    pub id: i64,
    pub id_type: String,
    pub id_number: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub filed_at: i64,
    pub filed_by: String,
    pub colour: String,
    pub reason: String,
    pub status: String,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    pub decision: Option<String>,
}

impl std::fmt::Debug for AppealRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppealRecord")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

const APPEAL_COLUMNS: &str = "id, id_type, id_number, resident_id, grid_code, filed_at, filed_by, colour, reason, status, \
     decided_at, decided_by, decision";

impl Store {
    // -- risk areas ------------------------------------------------------------------------------

    pub async fn insert_risk_area(&self, area: &NewRiskArea) -> StoreResult<i64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO risk_areas (scheme, tier, unit, region_code, place_name, reason, designated_at, \
                 designated_by, tier_since) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7) RETURNING id",
            )
            .bind(&area.scheme)
            .bind(&area.tier)
            .bind(&area.unit)
            .bind(&area.region_code)
            .bind(&area.place_name)
            .bind(&area.reason)
            .bind(area.at)
            .bind(&area.actor)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO risk_area_steps (area_id, at, from_tier, to_tier, actor, note) VALUES ($1, $2, NULL, $3, $4, $5)",
            )
            .bind(id)
            .bind(area.at)
            .bind(&area.tier)
            .bind(&area.actor)
            .bind(&area.reason)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Areas whose region lies in `range` (a jurisdiction's subtree), current ones first.
    pub async fn risk_areas(
        &self,
        range: (&str, &str),
        include_lifted: bool,
    ) -> StoreResult<Vec<RiskAreaRecord>> {
        let lifted = if include_lifted {
            ""
        } else {
            " AND lifted_at IS NULL"
        };
        let sql = format!(
            "SELECT {AREA_COLUMNS} FROM risk_areas WHERE region_code >= $1 AND region_code < $2{lifted} \
             ORDER BY lifted_at IS NOT NULL, designated_at DESC, id DESC LIMIT 2000"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(range.0).bind(range.1).fetch_all(pool).await?
        });
        Ok(rows)
    }

    pub async fn risk_area(&self, id: i64) -> StoreResult<Option<RiskAreaRecord>> {
        let sql = format!("SELECT {AREA_COLUMNS} FROM risk_areas WHERE id = $1");
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// Current areas whose region is `code` or one of its ancestors or descendants — what a person
    /// living at `code` (or arriving from it) may be inside.
    pub async fn active_risk_areas_around(&self, code: &str) -> StoreResult<Vec<RiskAreaRecord>> {
        // Region codes are prefixes of their children (2/4/6/9/12/15 digits): a code's ancestors are
        // its shorter prefixes, its descendants the range [code, code + ":").
        let mut ancestors: Vec<String> = [2usize, 4, 6, 9, 12]
            .iter()
            .filter(|&&len| code.len() > len)
            .map(|&len| code[..len].to_string())
            .collect();
        ancestors.push(code.to_string());
        let prefix = code;
        let upper = format!("{code}:");
        let rows = with_pool!(self, pool => {
            let mut builder = QueryBuilder::new(format!(
                "SELECT {AREA_COLUMNS} FROM risk_areas WHERE lifted_at IS NULL AND (region_code IN ("
            ));
            let mut list = builder.separated(", ");
            for ancestor in &ancestors {
                list.push_bind(ancestor.clone());
            }
            builder.push(") OR (region_code >= ");
            builder.push_bind(prefix.to_string());
            builder.push(" AND region_code < ");
            builder.push_bind(upper.clone());
            builder.push(")) ORDER BY id");
            builder.build_query_as().fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Moves an area from `from_tier` to another tier, or lifts it (`to_tier` = "lifted"), unless it
    /// changed since the caller looked (another tier, lifted, or a newer infection than
    /// `seen_infection`): then nothing is written and the answer is false.
    pub async fn step_risk_area(&self, step: &AreaStep<'_>) -> StoreResult<bool> {
        let AreaStep {
            id,
            from_tier,
            seen_infection,
            to_tier,
            at,
            actor,
            note,
        } = *step;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = if to_tier == "lifted" {
                sqlx::query(
                    "UPDATE risk_areas SET lifted_at = $2, lifted_by = $3 WHERE id = $1 AND tier = $4 \
                     AND lifted_at IS NULL AND COALESCE(last_infection_at, 0) = $5",
                )
                .bind(id)
                .bind(at)
                .bind(actor)
                .bind(from_tier)
                .bind(seen_infection.unwrap_or(0))
                .execute(&mut *tx)
                .await?
                .rows_affected()
            } else {
                sqlx::query(
                    "UPDATE risk_areas SET tier = $2, tier_since = $3 WHERE id = $1 AND tier = $4 \
                     AND lifted_at IS NULL AND COALESCE(last_infection_at, 0) = $5",
                )
                .bind(id)
                .bind(to_tier)
                .bind(at)
                .bind(from_tier)
                .bind(seen_infection.unwrap_or(0))
                .execute(&mut *tx)
                .await?
                .rows_affected()
            };
            if changed == 0 {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO risk_area_steps (area_id, at, from_tier, to_tier, actor, note) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(at)
            .bind(from_tier)
            .bind(to_tier)
            .bind(actor)
            .bind(note)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// An infection found in `grid_code` resets the clean-day count of every current area holding it.
    /// Returns the areas touched.
    pub async fn record_area_infection(
        &self,
        grid_code: &str,
        at: i64,
        note: &str,
    ) -> StoreResult<Vec<i64>> {
        let areas = self.active_risk_areas_around(grid_code).await?;
        let holding: Vec<i64> = areas
            .iter()
            .filter(|a| grid_code.starts_with(&a.region_code))
            .filter(|a| a.last_infection_at.is_none_or(|last| last < at))
            .map(|a| a.id)
            .collect();
        if holding.is_empty() {
            return Ok(holding);
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for id in &holding {
                let changed = sqlx::query("UPDATE risk_areas SET last_infection_at = $2 WHERE id = $1 AND (last_infection_at IS NULL OR last_infection_at < $2)")
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                // Two passes over the same event (an upload and the background pass) record one step.
                if changed == 0 {
                    continue;
                }
                sqlx::query(
                    "INSERT INTO risk_area_steps (area_id, at, from_tier, to_tier, actor, note) \
                     SELECT id, $2, tier, tier, 'system', $3 FROM risk_areas WHERE id = $1",
                )
                .bind(id)
                .bind(at)
                .bind(note)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(holding)
    }

    pub async fn add_risk_area_round(
        &self,
        area_id: i64,
        finished_at: i64,
        round_id: Option<i64>,
        note: &str,
        actor: &str,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO risk_area_rounds (area_id, finished_at, round_id, note, recorded_by) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(area_id)
            .bind(finished_at)
            .bind(round_id)
            .bind(note)
            .bind(actor)
            .fetch_one(pool)
            .await?;
            id
        });
        Ok(id)
    }

    pub async fn risk_area_rounds(&self, area_id: i64) -> StoreResult<Vec<RiskAreaRoundRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, area_id, finished_at, round_id, note, recorded_by FROM risk_area_rounds \
                 WHERE area_id = $1 ORDER BY finished_at",
            )
            .bind(area_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn risk_area_steps(&self, area_id: i64) -> StoreResult<Vec<RiskAreaStepRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, area_id, at, from_tier, to_tier, actor, note FROM risk_area_steps \
                 WHERE area_id = $1 ORDER BY at, id",
            )
            .bind(area_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Whether every swab taken in `round_id` from people living under `region_code` has a negative
    /// result, and when the last result came (None when some are missing or positive, or no swabs).
    pub async fn round_all_negative_in(
        &self,
        round_id: i64,
        region_code: &str,
    ) -> StoreResult<Option<i64>> {
        let upper = format!("{region_code}:");
        let (swabs, negatives, last): (i64, i64, Option<i64>) = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN t.result = 'negative' THEN 1 ELSE 0 END), 0), MAX(t.tested_at) \
                 FROM samples s JOIN tubes t ON t.barcode = s.tube_barcode \
                 WHERE s.round_id = $1 AND s.grid_code >= $2 AND s.grid_code < $3",
            )
            .bind(round_id)
            .bind(region_code)
            .bind(&upper)
            .fetch_one(pool)
            .await?
        });
        // Everyone due must have been swabbed too: one negative swab is not an all-negative round.
        let (due, sampled): (i64, i64) = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COALESCE(SUM(target - exempt), 0), COALESCE(SUM(sampled), 0) FROM round_grid_progress \
                 WHERE round_id = $1 AND grid_code >= $2 AND grid_code < $3",
            )
            .bind(round_id)
            .bind(region_code)
            .bind(&upper)
            .fetch_one(pool)
            .await?
        });
        Ok(if swabs > 0 && swabs == negatives && sampled >= due {
            last
        } else {
            None
        })
    }

    // -- facts and codes -------------------------------------------------------------------------

    /// Adds facts (a fact whose key is already stored is skipped) and applies updates, then stores the
    /// codes `compute` gives for every person touched — all in one transaction, so a fact and the
    /// code it causes are never seen apart. `compute` gets each person's facts and the sampling
    /// times of their negative results and returns the code to store.
    pub async fn change_facts<F>(
        &self,
        writes: &[FactWrite],
        updates: &[FactUpdate],
        cause: &str,
        now: i64,
        compute: F,
    ) -> StoreResult<Vec<HealthCodeRecord>>
    where
        F: Fn(&CodePerson, &[FactRecord], &[i64]) -> CodeWrite,
    {
        let mut people: Vec<CodePerson> = writes.iter().map(|w| w.person.clone()).collect();
        with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, CODE_WRITER_LOCK);
            for chunk in writes.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO code_facts (fact_key, id_type, id_number, resident_id, grid_code, kind, anchor, \
                     ended_at, colour, checked_at, note, source, created_by, created_at) ",
                );
                builder.push_values(chunk, |mut b, w| {
                    b.push_bind(&w.fact_key)
                        .push_bind(&w.person.id_type)
                        .push_bind(&w.person.id_number)
                        .push_bind(w.resident_id)
                        .push_bind(&w.grid_code)
                        .push_bind(&w.kind)
                        .push_bind(w.anchor)
                        .push_bind(w.ended_at)
                        .push_bind(&w.colour)
                        .push_bind(None::<i64>)
                        .push_bind(&w.note)
                        .push_bind(&w.source)
                        .push_bind(&w.created_by)
                        .push_bind(now);
                });
                builder.push(" ON CONFLICT (fact_key) DO NOTHING");
                builder.build().execute(&mut *tx).await?;
            }
            for update in updates {
                match update {
                    FactUpdate::End { person, kinds, at } => {
                        let mut builder = QueryBuilder::new("UPDATE code_facts SET ended_at = ");
                        builder.push_bind(*at);
                        builder.push(" WHERE id_number = ");
                        builder.push_bind(&person.id_number);
                        builder.push(" AND id_type = ");
                        builder.push_bind(&person.id_type);
                        // Only facts that began before the end: a later positive stays open.
                        builder.push(" AND anchor <= ");
                        builder.push_bind(*at);
                        builder.push(" AND ended_at IS NULL AND kind IN (");
                        let mut list = builder.separated(", ");
                        for kind in kinds {
                            list.push_bind(kind);
                        }
                        builder.push(")");
                        builder.build().execute(&mut *tx).await?;
                        people.push(person.clone());
                    }
                    FactUpdate::EndOne { fact_id, at } => {
                        let person: Option<CodePerson> = sqlx::query_as(
                            "UPDATE code_facts SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL RETURNING id_type, id_number",
                        )
                        .bind(fact_id)
                        .bind(at)
                        .fetch_optional(&mut *tx)
                        .await?;
                        people.extend(person);
                    }
                    FactUpdate::Checked { person, at } => {
                        sqlx::query(
                            "UPDATE code_facts SET checked_at = $3 WHERE id_number = $1 AND id_type = $2 \
                             AND ended_at IS NULL AND checked_at IS NULL",
                        )
                        .bind(&person.id_number)
                        .bind(&person.id_type)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                        people.push(person.clone());
                    }
                    FactUpdate::Recompute { person } => people.push(person.clone()),
                    FactUpdate::Withdraw { fact_id, at } => {
                        let person: Option<CodePerson> = sqlx::query_as(
                            "UPDATE code_facts SET withdrawn_at = $2 WHERE id = $1 AND withdrawn_at IS NULL RETURNING id_type, id_number",
                        )
                        .bind(fact_id)
                        .bind(at)
                        .fetch_optional(&mut *tx)
                        .await?;
                        people.extend(person);
                    }
                    FactUpdate::Discharged { person, at } => {
                        sqlx::query(
                            "UPDATE code_facts SET ended_at = $3 WHERE id_number = $1 AND id_type = $2 \
                             AND ended_at IS NULL AND kind IN ('confirmed', 'asymptomatic', 'suspected')",
                        )
                        .bind(&person.id_number)
                        .bind(&person.id_type)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                        people.push(person.clone());
                    }
                }
            }
            people.sort();
            people.dedup();
            let mut codes = Vec::with_capacity(people.len());
            for chunk in people.chunks(ROWS_PER_STATEMENT) {
                let facts = facts_of_people!(tx, chunk);
                let negatives = negatives_of_people!(tx, chunk);
                let mut computed = Vec::with_capacity(chunk.len());
                for person in chunk {
                    let person_facts = facts.get(person).map(Vec::as_slice).unwrap_or(&[]);
                    let person_negatives = negatives.get(person).map(Vec::as_slice).unwrap_or(&[]);
                    computed.push(compute(person, person_facts, person_negatives));
                }
                save_codes!(tx, &computed, cause, now);
                codes.extend(computed);
            }
            tx.commit().await?;
            Ok(codes)
        })
    }

    /// Stores codes computed outside a fact change (a policy or risk-area change: everyone's again).
    /// Only the rows given are written; a history row is added where colour or pop-up changed.
    pub async fn save_health_codes(
        &self,
        codes: &[CodeWrite],
        cause: &str,
        now: i64,
    ) -> StoreResult<usize> {
        with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, CODE_WRITER_LOCK);
            let changed = save_codes!(tx, codes, cause, now);
            tx.commit().await?;
            Ok(changed)
        })
    }

    /// People whose stored code may be out of date by now: a turn-green time passed, or the code
    /// waits for a negative result that may have come.
    pub async fn codes_due(&self, now: i64, limit: i64) -> StoreResult<Vec<CodePerson>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id_type, id_number FROM health_codes WHERE turns_green_at <= $1 \
                 UNION SELECT id_type, id_number FROM health_codes WHERE waits_for_test AND computed_at <= $2 \
                 LIMIT $3",
            )
            .bind(now)
            .bind(now - 60)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn facts_of(&self, person: &CodePerson) -> StoreResult<Vec<FactRecord>> {
        let sql = format!(
            "SELECT {FACT_COLUMNS} FROM code_facts WHERE id_number = $1 AND id_type = $2 ORDER BY anchor, id"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(&person.id_number)
                .bind(&person.id_type)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    pub async fn fact(&self, id: i64) -> StoreResult<Option<FactRecord>> {
        let sql = format!("SELECT {FACT_COLUMNS} FROM code_facts WHERE id = $1");
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// Sampling times of a person's negative results (newest first, at most 50).
    pub async fn negatives_of(&self, person: &CodePerson) -> StoreResult<Vec<i64>> {
        let rows: Vec<(i64,)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.sampled_at FROM samples s JOIN tubes t ON t.barcode = s.tube_barcode \
                 WHERE s.id_number = $1 AND s.id_type = $2 AND t.result = 'negative' \
                 ORDER BY s.sampled_at DESC LIMIT 50",
            )
            .bind(&person.id_number)
            .bind(&person.id_type)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(t,)| t).collect())
    }

    pub async fn health_code(&self, person: &CodePerson) -> StoreResult<Option<HealthCodeRecord>> {
        let sql = format!(
            "SELECT {CODE_COLUMNS} FROM health_codes WHERE id_number = $1 AND id_type = $2"
        );
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(&person.id_number)
                .bind(&person.id_type)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// Every stored code that is not plain green (the verifier's in-memory table is loaded from it).
    pub async fn coloured_codes(&self) -> StoreResult<Vec<HealthCodeRecord>> {
        let sql = format!(
            "SELECT {CODE_COLUMNS} FROM health_codes WHERE colour <> 'green' OR popup IS NOT NULL"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Codes computed at or after `since` (the verifier's memory catches up with other writers).
    pub async fn codes_computed_since(&self, since: i64) -> StoreResult<Vec<HealthCodeRecord>> {
        let sql = format!("SELECT {CODE_COLUMNS} FROM health_codes WHERE computed_at >= $1");
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(since).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Codes in a range of grids, worst first (the grid and command lists).
    pub async fn health_codes_in(
        &self,
        range: (&str, &str),
        colour: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<HealthCodeRecord>> {
        let filter = if colour.is_some() {
            " AND colour = $3"
        } else {
            " AND (colour <> 'green' OR popup IS NOT NULL OR $3 = '')"
        };
        let sql = format!(
            "SELECT {CODE_COLUMNS} FROM health_codes WHERE grid_code >= $1 AND grid_code < $2{filter} \
             ORDER BY CASE colour WHEN 'red' THEN 0 WHEN 'yellow' THEN 1 ELSE 2 END, computed_at DESC LIMIT $4"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(colour.unwrap_or(""))
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    pub async fn colour_counts(&self, range: (&str, &str)) -> StoreResult<Vec<ColourCount>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT colour, COALESCE(SUM(CASE WHEN popup IS NULL THEN 0 ELSE 1 END), 0) AS popups, COUNT(*) AS people \
                 FROM health_codes WHERE grid_code >= $1 AND grid_code < $2 GROUP BY colour ORDER BY colour",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn code_changes_of(&self, person: &CodePerson) -> StoreResult<Vec<CodeChangeRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, at, from_colour, to_colour, popup, summary, cause FROM health_code_changes \
                 WHERE id_number = $1 AND id_type = $2 ORDER BY at DESC, id DESC LIMIT 200",
            )
            .bind(&person.id_number)
            .bind(&person.id_type)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Every fact, people in order, for a recompute of everyone; `visit` is called once per person.
    pub async fn for_each_fact_person<F>(&self, mut visit: F) -> StoreResult<usize>
    where
        F: FnMut(&CodePerson, &[FactRecord], &[i64]),
    {
        use futures::TryStreamExt;
        // The negatives of everyone with a fact, in memory (people with facts are few next to the
        // register; their swabs a handful each).
        let mut negatives: HashMap<CodePerson, Vec<i64>> = HashMap::new();
        let facts_sql = format!(
            "SELECT {FACT_COLUMNS} FROM code_facts ORDER BY id_number, id_type, anchor, id"
        );
        let mut people = 0usize;
        with_pool!(self, pool => {
            {
                let mut rows = sqlx::query_as::<_, (String, String, i64)>(
                    "SELECT s.id_type, s.id_number, s.sampled_at FROM samples s JOIN tubes t ON t.barcode = s.tube_barcode \
                     WHERE t.result = 'negative' AND s.id_number IN (SELECT id_number FROM code_facts)",
                )
                .fetch(pool);
                while let Some((id_type, id_number, at)) = rows.try_next().await? {
                    negatives.entry(CodePerson { id_type, id_number }).or_default().push(at);
                }
            }
            let mut rows = sqlx::query_as::<_, FactRecord>(AssertSqlSafe(facts_sql)).fetch(pool);
            let mut current: Vec<FactRecord> = Vec::new();
            while let Some(fact) = rows.try_next().await? {
                if let Some(first) = current.first()
                    && (first.id_number != fact.id_number || first.id_type != fact.id_type)
                {
                    let person = CodePerson { id_type: first.id_type.clone(), id_number: first.id_number.clone() };
                    visit(&person, &current, negatives.get(&person).map(Vec::as_slice).unwrap_or(&[]));
                    people += 1;
                    current.clear();
                }
                current.push(fact);
            }
            if let Some(first) = current.first() {
                let person = CodePerson { id_type: first.id_type.clone(), id_number: first.id_number.clone() };
                visit(&person, &current, negatives.get(&person).map(Vec::as_slice).unwrap_or(&[]));
                people += 1;
            }
        });
        Ok(people)
    }

    /// The stored colour and pop-up of everyone with a stored code (to diff a recompute against).
    pub async fn stored_code_brief(
        &self,
    ) -> StoreResult<HashMap<CodePerson, (String, Option<String>, String)>> {
        use futures::TryStreamExt;
        let mut out = HashMap::new();
        with_pool!(self, pool => {
            let mut rows = sqlx::query_as::<_, (String, String, String, Option<String>, String)>(
                "SELECT id_type, id_number, colour, popup, summary FROM health_codes",
            )
            .fetch(pool);
            while let Some((id_type, id_number, colour, popup, summary)) = rows.try_next().await? {
                out.insert(CodePerson { id_type, id_number }, (colour, popup, summary));
            }
        });
        Ok(out)
    }

    /// People of a round's region due for a swab who have none and no exemption — 应检未检.
    /// People already marked for this round (fact key `untested:<round>:…`) are left out.
    /// Returns (person, resident id, grid) for at most `limit` people.
    pub async fn round_untested(
        &self,
        round_id: i64,
        after_resident: i64,
        limit: i64,
    ) -> StoreResult<Vec<(CodePerson, i64, String)>> {
        // Keyset by resident id: each page starts where the last ended (no rescan of marked people).
        let rows: Vec<(String, String, i64, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT r.id_type, r.id_number, r.id, r.grid_code FROM residents r \
                 JOIN test_rounds tr ON tr.id = $1 \
                 WHERE r.id > $4 AND r.grid_code >= tr.region_code AND r.grid_code < tr.region_code || ':' \
                 AND NOT EXISTS (SELECT 1 FROM samples s WHERE s.id_number = r.id_number AND s.id_type = r.id_type AND s.round_id = $1) \
                 AND NOT EXISTS (SELECT 1 FROM sampling_exemptions e WHERE e.round_id = $1 AND e.resident_id = r.id) \
                 AND NOT EXISTS (SELECT 1 FROM code_facts f WHERE f.fact_key = $3 || r.id_type || ':' || r.id_number) \
                 ORDER BY r.id LIMIT $2",
            )
            .bind(round_id)
            .bind(limit)
            .bind(format!("untested:{round_id}:"))
            .bind(after_resident)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id_type, id_number, id, grid)| (CodePerson { id_type, id_number }, id, grid))
            .collect())
    }

    // -- code subjects ---------------------------------------------------------------------------

    /// The pseudonymous subject of a person's signed code, issuing `candidate` on first use.
    pub async fn code_subject(
        &self,
        person: &CodePerson,
        resident_id: Option<i64>,
        candidate: &str,
        now: i64,
    ) -> StoreResult<String> {
        with_pool!(self, pool => {
            // Read first: a resident's code page refreshes every minute, and a write per view would
            // queue behind the checkpoints' passages for the write lock.
            let found: Option<(String,)> = sqlx::query_as(
                "SELECT subject FROM code_subjects WHERE id_number = $1 AND id_type = $2",
            )
            .bind(&person.id_number)
            .bind(&person.id_type)
            .fetch_optional(pool)
            .await?;
            if let Some((subject,)) = found {
                return Ok(subject);
            }
            sqlx::query(
                "INSERT INTO code_subjects (subject, id_type, id_number, resident_id, issued_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(candidate)
            .bind(&person.id_type)
            .bind(&person.id_number)
            .bind(resident_id)
            .bind(now)
            .execute(pool)
            .await?;
            let (subject,): (String,) = sqlx::query_as(
                "SELECT subject FROM code_subjects WHERE id_number = $1 AND id_type = $2",
            )
            .bind(&person.id_number)
            .bind(&person.id_type)
            .fetch_one(pool)
            .await?;
            Ok(subject)
        })
    }

    /// Issues many subjects at once (benchmarks and the demo): `(subject, person, resident id)`.
    pub async fn issue_code_subjects(
        &self,
        rows: &[(String, CodePerson, Option<i64>)],
        now: i64,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO code_subjects (subject, id_type, id_number, resident_id, issued_at) ",
                );
                builder.push_values(chunk, |mut b, (subject, person, resident_id)| {
                    b.push_bind(subject)
                        .push_bind(&person.id_type)
                        .push_bind(&person.id_number)
                        .push_bind(*resident_id)
                        .push_bind(now);
                });
                builder.push(" ON CONFLICT DO NOTHING");
                builder.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// The person behind a QR subject, with their register entry and name when registered.
    pub async fn person_of_subject(&self, subject: &str) -> StoreResult<Option<SubjectOwner>> {
        let row: Option<(String, String, Option<i64>, Option<String>)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.id_type, s.id_number, s.resident_id, r.name FROM code_subjects s \
                 LEFT JOIN residents r ON r.id = s.resident_id WHERE s.subject = $1",
            )
            .bind(subject)
            .fetch_optional(pool)
            .await?
        });
        Ok(
            row.map(|(id_type, id_number, resident_id, name)| SubjectOwner {
                person: CodePerson { id_type, id_number },
                resident_id,
                name,
            }),
        )
    }

    // -- checkpoints and passages ----------------------------------------------------------------

    pub async fn insert_checkpoint(
        &self,
        name: &str,
        kind: &str,
        line: &str,
        region_code: &str,
        at: i64,
        actor: &str,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO checkpoints (name, kind, line, region_code, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(name)
            .bind(kind)
            .bind(line)
            .bind(region_code)
            .bind(at)
            .bind(actor)
            .fetch_one(pool)
            .await?;
            id
        });
        Ok(id)
    }

    pub async fn checkpoints(&self, range: (&str, &str)) -> StoreResult<Vec<CheckpointRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, name, kind, line, region_code, created_at, created_by, active FROM checkpoints \
                 WHERE region_code >= $1 AND region_code < $2 ORDER BY line, kind, name LIMIT 5000",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn checkpoint(&self, id: i64) -> StoreResult<Option<CheckpointRecord>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, name, kind, line, region_code, created_at, created_by, active FROM checkpoints WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Logs passages in one transaction; a passage whose key is already stored is left as it was.
    /// Returns, per passage in order, whether it was new.
    pub async fn insert_passages(&self, passages: &[PassageWrite]) -> StoreResult<Vec<bool>> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut fresh = Vec::with_capacity(passages.len());
            for chunk in passages.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO passages (passage_key, checkpoint_id, at, method, id_type, id_number, resident_id, colour, \
                     popup, temperature, plate, from_region, decision, reasons, recorder) ",
                );
                builder.push_values(chunk, |mut b, p| {
                    b.push_bind(&p.passage_key)
                        .push_bind(p.checkpoint_id)
                        .push_bind(p.at)
                        .push_bind(&p.method)
                        .push_bind(&p.id_type)
                        .push_bind(&p.id_number)
                        .push_bind(p.resident_id)
                        .push_bind(&p.colour)
                        .push_bind(p.popup)
                        .push_bind(p.temperature)
                        .push_bind(&p.plate)
                        .push_bind(&p.from_region)
                        .push_bind(&p.decision)
                        .push_bind(&p.reasons)
                        .push_bind(&p.recorder);
                });
                builder.push(" ON CONFLICT (passage_key) DO NOTHING RETURNING passage_key");
                let inserted: Vec<(String,)> = builder.build_query_as().fetch_all(&mut *tx).await?;
                let inserted: std::collections::HashSet<String> = inserted.into_iter().map(|(k,)| k).collect();
                fresh.extend(chunk.iter().map(|p| inserted.contains(&p.passage_key)));
            }
            tx.commit().await?;
            Ok(fresh)
        })
    }

    pub async fn passages_at(
        &self,
        checkpoint_id: i64,
        from: i64,
        to: i64,
        limit: i64,
    ) -> StoreResult<Vec<PassageRecord>> {
        let sql = format!(
            "SELECT {PASSAGE_COLUMNS} FROM passages WHERE checkpoint_id = $1 AND at >= $2 AND at < $3 ORDER BY at DESC, id DESC LIMIT $4"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(checkpoint_id)
                .bind(from)
                .bind(to)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    pub async fn passage_by_key(&self, key: &str) -> StoreResult<Option<PassageRecord>> {
        let sql = format!("SELECT {PASSAGE_COLUMNS} FROM passages WHERE passage_key = $1");
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(key).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// Counts per decision at a checkpoint since `from`.
    pub async fn passage_counts(
        &self,
        checkpoint_id: i64,
        from: i64,
    ) -> StoreResult<Vec<(String, i64)>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT decision, COUNT(*) FROM passages WHERE checkpoint_id = $1 AND at >= $2 GROUP BY decision ORDER BY decision",
            )
            .bind(checkpoint_id)
            .bind(from)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    // -- venues ----------------------------------------------------------------------------------

    pub async fn insert_venue(
        &self,
        name: &str,
        kind: &str,
        address: &str,
        region_code: &str,
        at: i64,
        actor: &str,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO venues (name, kind, address, region_code, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(name)
            .bind(kind)
            .bind(address)
            .bind(region_code)
            .bind(at)
            .bind(actor)
            .fetch_one(pool)
            .await?;
            id
        });
        Ok(id)
    }

    pub async fn venues(&self, range: (&str, &str)) -> StoreResult<Vec<VenueRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, name, kind, address, region_code, created_at, created_by FROM venues \
                 WHERE region_code >= $1 AND region_code < $2 ORDER BY region_code, name LIMIT 5000",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn venue(&self, id: i64) -> StoreResult<Option<VenueRecord>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, name, kind, address, region_code, created_at, created_by FROM venues WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Records a venue visit; a retry with the same key returns the stored visit's id.
    pub async fn insert_venue_visit(&self, visit: &VenueVisitRecord) -> StoreResult<(i64, bool)> {
        with_pool!(self, pool => {
            let inserted: Option<(i64,)> = sqlx::query_as(
                "INSERT INTO venue_visits (visit_key, venue_id, at, id_type, id_number, resident_id, colour) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (visit_key) DO NOTHING RETURNING id",
            )
            .bind(&visit.visit_key)
            .bind(visit.venue_id)
            .bind(visit.at)
            .bind(&visit.id_type)
            .bind(&visit.id_number)
            .bind(visit.resident_id)
            .bind(&visit.colour)
            .fetch_optional(pool)
            .await?;
            match inserted {
                Some((id,)) => Ok((id, true)),
                None => {
                    let (id,): (i64,) = sqlx::query_as("SELECT id FROM venue_visits WHERE visit_key = $1")
                        .bind(&visit.visit_key)
                        .fetch_one(pool)
                        .await?;
                    Ok((id, false))
                }
            }
        })
    }

    /// Who passed a checkpoint or visited a venue between `from` and `to` — the tracing question.
    pub async fn who_was_at(
        &self,
        place_kind: &str,
        place_id: i64,
        from: i64,
        to: i64,
        limit: i64,
    ) -> StoreResult<Vec<ItineraryStop>> {
        let sql = if place_kind == "venue" {
            "SELECT v.at, 'venue' AS place_kind, v.venue_id AS place_id, n.name AS place_name, v.id_type, v.id_number, v.resident_id \
             FROM venue_visits v JOIN venues n ON n.id = v.venue_id \
             WHERE v.venue_id = $1 AND v.at >= $2 AND v.at < $3 ORDER BY v.at LIMIT $4"
        } else {
            "SELECT p.at, 'checkpoint' AS place_kind, p.checkpoint_id AS place_id, c.name AS place_name, p.id_type, p.id_number, p.resident_id \
             FROM passages p JOIN checkpoints c ON c.id = p.checkpoint_id \
             WHERE p.checkpoint_id = $1 AND p.at >= $2 AND p.at < $3 AND p.id_number <> '' ORDER BY p.at LIMIT $4"
        };
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(place_id)
                .bind(from)
                .bind(to)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// A person's passages and venue visits between `from` and `to`, in time order.
    pub async fn itinerary_of(
        &self,
        person: &CodePerson,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<ItineraryStop>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT p.at, 'checkpoint' AS place_kind, p.checkpoint_id AS place_id, c.name AS place_name, p.id_type, p.id_number, p.resident_id \
                 FROM passages p JOIN checkpoints c ON c.id = p.checkpoint_id \
                 WHERE p.id_number = $1 AND p.id_type = $2 AND p.at >= $3 AND p.at < $4 \
                 UNION ALL \
                 SELECT v.at, 'venue' AS place_kind, v.venue_id AS place_id, n.name AS place_name, v.id_type, v.id_number, v.resident_id \
                 FROM venue_visits v JOIN venues n ON n.id = v.venue_id \
                 WHERE v.id_number = $1 AND v.id_type = $2 AND v.at >= $3 AND v.at < $4 \
                 ORDER BY 1 LIMIT 1000",
            )
            .bind(&person.id_number)
            .bind(&person.id_type)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    // -- appeals ---------------------------------------------------------------------------------

    pub async fn insert_appeal(&self, appeal: &AppealRecord) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO code_appeals (id_type, id_number, resident_id, grid_code, filed_at, filed_by, colour, reason, status) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open') RETURNING id",
            )
            .bind(&appeal.id_type)
            .bind(&appeal.id_number)
            .bind(appeal.resident_id)
            .bind(&appeal.grid_code)
            .bind(appeal.filed_at)
            .bind(&appeal.filed_by)
            .bind(&appeal.colour)
            .bind(&appeal.reason)
            .fetch_one(pool)
            .await?;
            id
        });
        Ok(id)
    }

    pub async fn appeals(
        &self,
        range: (&str, &str),
        status: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<AppealRecord>> {
        let sql = format!(
            "SELECT {APPEAL_COLUMNS} FROM code_appeals WHERE grid_code >= $1 AND grid_code < $2 AND ($3 = '' OR status = $3) \
             ORDER BY status = 'open' DESC, filed_at DESC LIMIT $4"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(status.unwrap_or(""))
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    pub async fn appeals_of(&self, person: &CodePerson) -> StoreResult<Vec<AppealRecord>> {
        let sql = format!(
            "SELECT {APPEAL_COLUMNS} FROM code_appeals WHERE id_number = $1 AND id_type = $2 ORDER BY filed_at DESC LIMIT 50"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(&person.id_number)
                .bind(&person.id_type)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    pub async fn appeal(&self, id: i64) -> StoreResult<Option<AppealRecord>> {
        let sql = format!("SELECT {APPEAL_COLUMNS} FROM code_appeals WHERE id = $1");
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// Decides an open appeal; false when it was already decided (a second click changes nothing).
    pub async fn decide_appeal(
        &self,
        id: i64,
        status: &str,
        decision: &str,
        actor: &str,
        at: i64,
    ) -> StoreResult<bool> {
        let done = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE code_appeals SET status = $2, decision = $3, decided_by = $4, decided_at = $5 \
                 WHERE id = $1 AND status = 'open'",
            )
            .bind(id)
            .bind(status)
            .bind(decision)
            .bind(actor)
            .bind(at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }
}

/// Reads the facts of some people inside a transaction, grouped by person (a macro so the body is
/// compiled for each backend's transaction type, like the rest of the store).
macro_rules! facts_of_people {
    ($tx:expr, $people:expr) => {{
        let mut builder = QueryBuilder::new(format!(
            "SELECT {FACT_COLUMNS} FROM code_facts WHERE id_number IN ("
        ));
        let mut list = builder.separated(", ");
        for person in $people {
            list.push_bind(person.id_number.clone());
        }
        builder.push(") ORDER BY anchor, id");
        let rows: Vec<FactRecord> = builder.build_query_as().fetch_all(&mut *$tx).await?;
        let mut out: HashMap<CodePerson, Vec<FactRecord>> = HashMap::new();
        for row in rows {
            let person = CodePerson {
                id_type: row.id_type.clone(),
                id_number: row.id_number.clone(),
            };
            out.entry(person).or_default().push(row);
        }
        out
    }};
}
use facts_of_people;

/// Reads the negative sampling times of some people inside a transaction, grouped by person.
macro_rules! negatives_of_people {
    ($tx:expr, $people:expr) => {{
        let mut builder = QueryBuilder::new(
            "SELECT s.id_type, s.id_number, s.sampled_at FROM samples s JOIN tubes t ON t.barcode = s.tube_barcode \
             WHERE t.result = 'negative' AND s.id_number IN (",
        );
        let mut list = builder.separated(", ");
        for person in $people {
            list.push_bind(person.id_number.clone());
        }
        builder.push(")");
        let rows: Vec<(String, String, i64)> = builder.build_query_as().fetch_all(&mut *$tx).await?;
        let mut out: HashMap<CodePerson, Vec<i64>> = HashMap::new();
        for (id_type, id_number, at) in rows {
            out.entry(CodePerson { id_type, id_number }).or_default().push(at);
        }
        out
    }};
}
use negatives_of_people;

/// Upserts computed codes inside a transaction and adds a history row for each whose colour or
/// pop-up changed (a person without a stored code was green). Evaluates to the number changed.
macro_rules! save_codes {
    ($tx:expr, $codes:expr, $cause:expr, $now:expr) => {{
        let codes: &[CodeWrite] = $codes;
        let mut changed = 0usize;
        for chunk in codes.chunks(ROWS_PER_STATEMENT) {
            let mut builder = QueryBuilder::new(
                "SELECT id_type, id_number, colour, popup FROM health_codes WHERE id_number IN (",
            );
            let mut list = builder.separated(", ");
            for code in chunk {
                list.push_bind(code.id_number.clone());
            }
            builder.push(")");
            let stored: Vec<(String, String, String, Option<String>)> =
                builder.build_query_as().fetch_all(&mut *$tx).await?;
            let stored: HashMap<(String, String), (String, Option<String>)> = stored
                .into_iter()
                .map(|(t, n, c, p)| ((t, n), (c, p)))
                .collect();
            let changes: Vec<(&CodeWrite, String)> = chunk
                .iter()
                .filter_map(|code| {
                    let before = stored.get(&(code.id_type.clone(), code.id_number.clone()));
                    let (colour, popup) = match before {
                        Some((c, p)) => (c.as_str(), p.as_deref()),
                        None => ("green", None),
                    };
                    (colour != code.colour || popup != code.popup.as_deref())
                        .then(|| (code, colour.to_string()))
                })
                .collect();
            changed += changes.len();
            let mut builder = QueryBuilder::new(
                "INSERT INTO health_codes (id_type, id_number, resident_id, grid_code, colour, popup, summary, reasons, \
                 turns_green_at, waits_for_test, policy_id, computed_at) ",
            );
            builder.push_values(chunk, |mut b, c| {
                b.push_bind(&c.id_type)
                    .push_bind(&c.id_number)
                    .push_bind(c.resident_id)
                    .push_bind(&c.grid_code)
                    .push_bind(&c.colour)
                    .push_bind(&c.popup)
                    .push_bind(&c.summary)
                    .push_bind(&c.reasons)
                    .push_bind(c.turns_green_at)
                    .push_bind(c.waits_for_test)
                    .push_bind(&c.policy_id)
                    .push_bind(c.computed_at);
            });
            builder.push(
                " ON CONFLICT (id_number, id_type) DO UPDATE SET resident_id = excluded.resident_id, \
                 grid_code = excluded.grid_code, colour = excluded.colour, popup = excluded.popup, \
                 summary = excluded.summary, reasons = excluded.reasons, turns_green_at = excluded.turns_green_at, \
                 waits_for_test = excluded.waits_for_test, policy_id = excluded.policy_id, computed_at = excluded.computed_at",
            );
            builder.build().execute(&mut *$tx).await?;
            if !changes.is_empty() {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO health_code_changes (id_type, id_number, grid_code, at, from_colour, to_colour, popup, summary, cause) ",
                );
                builder.push_values(&changes, |mut b, (c, from)| {
                    b.push_bind(&c.id_type)
                        .push_bind(&c.id_number)
                        .push_bind(&c.grid_code)
                        .push_bind($now)
                        .push_bind(from)
                        .push_bind(&c.colour)
                        .push_bind(&c.popup)
                        .push_bind(&c.summary)
                        .push_bind($cause);
                });
                builder.build().execute(&mut *$tx).await?;
            }
        }
        changed
    }};
}
use save_codes;
