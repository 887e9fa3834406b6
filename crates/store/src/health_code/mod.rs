//! Health code, risk areas, checkpoints and venue codes (健康码、风险区域、卡口、场所码).
//!
//! The store keeps facts, cached codes and logs; it never decides a colour. The application
//! computes codes with the domain's pure function and hands the answers back in [`CodeWrite`]s, so
//! the policy in force lives in one place.

mod appeals;
mod checkpoints;
mod facts;
mod people;
mod risk_areas;
mod subjects;
mod venues;

pub use people::{PersonPassage, PersonVenueVisit};

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, QueryBuilder};

use fangkong_domain::checkpoint::{CheckpointKind, DefenceLine};
use fangkong_domain::health_code::{CodeColour, FactKind};
use fangkong_domain::personal::{DocumentNumber, PersonName};
use fangkong_domain::region::RegionCode;
use fangkong_domain::risk_area::{AreaScheme, AreaTier, AreaUnit};

use crate::audit::write_audit;
use crate::typed::{StoredCode, StoredOptionalCode, StoredRegion};
use crate::{AuditRecord, Store, StoreResult, begin_locked, with_pool};

/// The writer lock of code facts and cached codes: a person's facts and code change together, one
/// writer at a time (also across server processes), so a recompute never overwrites a newer answer.
pub(crate) const CODE_WRITER_LOCK: i64 = 271_828;

/// Rows per multi-row statement (stays under both backends' bound-parameter limits).
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

/// A person as the health code knows them: the ID document, and the register entry when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::FromRow, serde::Serialize)]
pub struct CodePerson {
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectOwner {
    pub person: CodePerson,
    pub resident_id: Option<i64>,
    pub name: Option<PersonName>,
}

// ---------------------------------------------------------------------------------------------
// Risk areas
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RiskAreaRecord {
    pub id: i64,
    /// Sent in JSON as its code (`ninth`), as before the type.
    #[sqlx(try_from = "StoredCode<AreaScheme>")]
    #[serde(serialize_with = "crate::typed::stored_code")]
    pub scheme: AreaScheme,
    #[sqlx(try_from = "StoredCode<AreaTier>")]
    pub tier: AreaTier,
    #[sqlx(try_from = "StoredCode<AreaUnit>")]
    pub unit: AreaUnit,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
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
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct FactRecord {
    pub id: i64,
    pub fact_key: String,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    #[sqlx(try_from = "StoredCode<FactKind>")]
    pub kind: FactKind,
    pub anchor: i64,
    pub ended_at: Option<i64>,
    #[sqlx(try_from = "StoredOptionalCode<CodeColour>")]
    pub colour: Option<CodeColour>,
    pub checked_at: Option<i64>,
    pub note: Option<String>,
    pub source: String,
    pub created_by: String,
    pub created_at: i64,
    /// Set when the fact was found wrong: it no longer counts.
    pub withdrawn_at: Option<i64>,
}

pub(crate) const FACT_COLUMNS: &str = "id, fact_key, id_type, id_number, resident_id, grid_code, kind, anchor, ended_at, colour, \
     checked_at, note, source, created_by, created_at, withdrawn_at";

/// A fact to add. `fact_key` makes the write idempotent: the same source event never adds twice.
#[derive(Debug, Clone)]
pub struct FactWrite {
    pub fact_key: String,
    pub person: CodePerson,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub kind: FactKind,
    pub anchor: i64,
    pub ended_at: Option<i64>,
    pub colour: Option<CodeColour>,
    pub note: Option<String>,
    pub source: String,
    pub created_by: String,
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
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct HealthCodeRecord {
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    #[sqlx(try_from = "StoredCode<CodeColour>")]
    pub colour: CodeColour,
    pub popup: Option<String>,
    pub summary: String,
    pub reasons: String,
    pub turns_green_at: Option<i64>,
    pub waits_for_test: bool,
    pub policy_id: String,
    pub computed_at: i64,
}

const CODE_COLUMNS: &str = "id_type, id_number, resident_id, grid_code, colour, popup, summary, reasons, \
     turns_green_at, waits_for_test, policy_id, computed_at";

/// A computed code to store; a history row is added when colour or pop-up differ from the stored one.
pub type CodeWrite = HealthCodeRecord;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct CodeChangeRecord {
    pub id: i64,
    pub at: i64,
    #[sqlx(try_from = "StoredCode<CodeColour>")]
    pub from_colour: CodeColour,
    #[sqlx(try_from = "StoredCode<CodeColour>")]
    pub to_colour: CodeColour,
    pub popup: Option<String>,
    pub summary: String,
    pub cause: String,
}

/// Per colour, how many people in a range of grids.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ColourCount {
    #[sqlx(try_from = "StoredCode<CodeColour>")]
    pub colour: CodeColour,
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
    #[sqlx(try_from = "StoredCode<CheckpointKind>")]
    pub kind: CheckpointKind,
    #[sqlx(try_from = "StoredCode<DefenceLine>")]
    pub line: DefenceLine,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
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
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub resident_id: Option<i64>,
    #[sqlx(try_from = "StoredOptionalCode<CodeColour>")]
    pub colour: Option<CodeColour>,
    pub popup: bool,
    pub temperature: Option<f64>,
    pub plate: Option<String>,
    pub from_region: Option<String>,
    /// A post's `Decision` code, or "rejected" for a check refused before any decision.
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
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub created_at: i64,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct VenueVisitRecord {
    pub id: i64,
    pub visit_key: String,
    pub venue_id: i64,
    pub at: i64,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub resident_id: Option<i64>,
    #[sqlx(try_from = "StoredCode<CodeColour>")]
    pub colour: CodeColour,
}

/// One stop of a person's itinerary: a checkpoint passage or a venue visit.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ItineraryStop {
    pub at: i64,
    pub place_kind: String,
    pub place_id: i64,
    pub place_name: String,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub resident_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct AppealRecord {
    pub id: i64,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub filed_at: i64,
    pub filed_by: String,
    #[sqlx(try_from = "StoredCode<CodeColour>")]
    pub colour: CodeColour,
    pub reason: String,
    pub status: String,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    pub decision: Option<String>,
}

const APPEAL_COLUMNS: &str = "id, id_type, id_number, resident_id, grid_code, filed_at, filed_by, colour, reason, status, \
     decided_at, decided_by, decision";

/// Reads the facts of some people inside a transaction, grouped by person (a macro so the body is
/// compiled for each backend's transaction type, like the rest of the store).
macro_rules! facts_of_people {
    ($tx:expr, $people:expr) => {{
        use $crate::bind::PushList as _;
        let mut builder = QueryBuilder::new(format!(
            "SELECT {FACT_COLUMNS} FROM code_facts WHERE id_number IN "
        ));
        builder.push_list($people.iter().map(|person| person.id_number.to_string()));
        builder.push(" ORDER BY anchor, id");
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
pub(crate) use facts_of_people;

/// Reads the negative sampling times of some people inside a transaction, grouped by person.
macro_rules! negatives_of_people {
    ($tx:expr, $people:expr) => {{
        use $crate::bind::PushList as _;
        let mut builder = QueryBuilder::new(
            "SELECT s.id_type, s.id_number, s.sampled_at FROM samples s JOIN tubes t ON t.barcode = s.tube_barcode \
             WHERE t.result = 'negative' AND s.id_number IN ",
        );
        builder.push_list($people.iter().map(|person| person.id_number.to_string()));
        let rows: Vec<(String, String, i64)> = builder.build_query_as().fetch_all(&mut *$tx).await?;
        let mut out: HashMap<CodePerson, Vec<i64>> = HashMap::new();
        for (id_type, id_number, at) in rows {
            out.entry(CodePerson { id_type, id_number: id_number.into() }).or_default().push(at);
        }
        out
    }};
}
pub(crate) use negatives_of_people;

/// The register entries (id, grid) of some people inside a transaction: a registered person's code
/// is kept under the grid they live in now, whatever grid their facts were recorded in, so a move
/// (迁移网格, 迁入) takes the code to the new jurisdiction's lists.
macro_rules! registered_grids {
    ($tx:expr, $people:expr) => {{
        use $crate::bind::PushList as _;
        let mut builder = QueryBuilder::new(
            "SELECT id_type, id_number, id, grid_code FROM residents WHERE id_number IN ",
        );
        builder.push_list($people.iter().map(|person| person.id_number.to_string()));
        let rows: Vec<(String, String, i64, String)> =
            builder.build_query_as().fetch_all(&mut *$tx).await?;
        let mut out: HashMap<CodePerson, (i64, String)> = HashMap::new();
        for (id_type, id_number, id, grid) in rows {
            out.insert(
                CodePerson {
                    id_type,
                    id_number: id_number.into(),
                },
                (id, grid),
            );
        }
        out
    }};
}
pub(crate) use registered_grids;

/// Upserts computed codes inside a transaction and adds a history row for each whose colour or
/// pop-up changed (a person without a stored code was green). Evaluates to the number changed.
macro_rules! save_codes {
    ($tx:expr, $codes:expr, $cause:expr, $now:expr) => {{
        use $crate::bind::PushList as _;
        let codes: &[CodeWrite] = $codes;
        let mut changed = 0usize;
        for chunk in codes.chunks(ROWS_PER_STATEMENT) {
            let mut builder = QueryBuilder::new(
                "SELECT id_type, id_number, colour, popup FROM health_codes WHERE id_number IN ",
            );
            builder.push_list(chunk.iter().map(|code| code.id_number.to_string()));
            let stored: Vec<(String, String, String, Option<String>)> =
                builder.build_query_as().fetch_all(&mut *$tx).await?;
            let stored: HashMap<(String, String), (String, Option<String>)> = stored
                .into_iter()
                .map(|(t, n, c, p)| ((t, n), (c, p)))
                .collect();
            let changes: Vec<(&CodeWrite, String)> = chunk
                .iter()
                .filter_map(|code| {
                    let before = stored.get(&(code.id_type.clone(), code.id_number.to_string()));
                    let (colour, popup) = match before {
                        Some((c, p)) => (c.as_str(), p.as_deref()),
                        None => ("green", None),
                    };
                    (colour != code.colour.code() || popup != code.popup.as_deref())
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
                    .push_bind(c.id_number.as_str())
                    .push_bind(c.resident_id)
                    .push_bind(&c.grid_code)
                    .push_bind(c.colour.code())
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
                        .push_bind(c.id_number.as_str())
                        .push_bind(&c.grid_code)
                        .push_bind($now)
                        .push_bind(from)
                        .push_bind(c.colour.code())
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
pub(crate) use save_codes;

/// Inside a transaction `$tx` holding [`CODE_WRITER_LOCK`]: adds the fact writes (a key already
/// stored is skipped), applies the updates and stores the code `$compute` gives for every person
/// touched; evaluates to those codes. Shared by every write that changes facts
/// ([`Store::change_facts`], an appeal's decision), so each is one transaction with its codes.
macro_rules! apply_fact_changes {
    ($tx:ident, $writes:expr, $updates:expr, $cause:expr, $now:expr, $compute:expr) => {{
        use $crate::bind::PushList as _;
        let (writes, updates, cause, now) = ($writes, $updates, $cause, $now);
        let compute = &$compute;
        let mut people: Vec<CodePerson> = writes.iter().map(|w| w.person.clone()).collect();
        for chunk in writes.chunks(ROWS_PER_STATEMENT) {
            let mut builder = QueryBuilder::new(
                "INSERT INTO code_facts (fact_key, id_type, id_number, resident_id, grid_code, kind, anchor, \
                 ended_at, colour, checked_at, note, source, created_by, created_at) ",
            );
            builder.push_values(chunk, |mut b, w| {
                b.push_bind(&w.fact_key)
                    .push_bind(&w.person.id_type)
                    .push_bind(w.person.id_number.as_str())
                    .push_bind(w.resident_id)
                    .push_bind(&w.grid_code)
                    .push_bind(w.kind.code())
                    .push_bind(w.anchor)
                    .push_bind(w.ended_at)
                    .push_bind(w.colour.map(fangkong_domain::health_code::CodeColour::code))
                    .push_bind(None::<i64>)
                    .push_bind(&w.note)
                    .push_bind(&w.source)
                    .push_bind(&w.created_by)
                    .push_bind(now);
            });
            builder.push(" ON CONFLICT (fact_key) DO NOTHING");
            builder.build().execute(&mut *$tx).await?;
        }
        for update in updates {
            match update {
                FactUpdate::End { person, kinds, at } => {
                    let mut builder = QueryBuilder::new("UPDATE code_facts SET ended_at = ");
                    builder.push_bind(*at);
                    builder.push(" WHERE id_number = ");
                    builder.push_bind(person.id_number.as_str());
                    builder.push(" AND id_type = ");
                    builder.push_bind(&person.id_type);
                    // Only facts that began before the end: a later positive stays open.
                    builder.push(" AND anchor <= ");
                    builder.push_bind(*at);
                    builder.push(" AND ended_at IS NULL AND kind IN ");
                    builder.push_list(kinds.iter());
                    builder.build().execute(&mut *$tx).await?;
                    people.push(person.clone());
                }
                FactUpdate::EndOne { fact_id, at } => {
                    let person: Option<CodePerson> = sqlx::query_as(
                        "UPDATE code_facts SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL RETURNING id_type, id_number",
                    )
                    .bind(fact_id)
                    .bind(at)
                    .fetch_optional(&mut *$tx)
                    .await?;
                    people.extend(person);
                }
                FactUpdate::Checked { person, at } => {
                    sqlx::query(
                        "UPDATE code_facts SET checked_at = $3 WHERE id_number = $1 AND id_type = $2 \
                         AND ended_at IS NULL AND checked_at IS NULL",
                    )
                    .bind(person.id_number.as_str())
                    .bind(&person.id_type)
                    .bind(at)
                    .execute(&mut *$tx)
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
                    .fetch_optional(&mut *$tx)
                    .await?;
                    people.extend(person);
                }
                FactUpdate::Discharged { person, at } => {
                    sqlx::query(
                        "UPDATE code_facts SET ended_at = $3 WHERE id_number = $1 AND id_type = $2 \
                         AND ended_at IS NULL AND kind IN ('confirmed', 'asymptomatic', 'suspected')",
                    )
                    .bind(person.id_number.as_str())
                    .bind(&person.id_type)
                    .bind(at)
                    .execute(&mut *$tx)
                    .await?;
                    people.push(person.clone());
                }
            }
        }
        people.sort();
        people.dedup();
        let mut codes = Vec::with_capacity(people.len());
        for chunk in people.chunks(ROWS_PER_STATEMENT) {
            let facts = facts_of_people!($tx, chunk);
            let negatives = negatives_of_people!($tx, chunk);
            let registered = registered_grids!($tx, chunk);
            let mut computed = Vec::with_capacity(chunk.len());
            for person in chunk {
                let person_facts = facts.get(person).map(Vec::as_slice).unwrap_or(&[]);
                let person_negatives = negatives.get(person).map(Vec::as_slice).unwrap_or(&[]);
                let mut code: CodeWrite = compute(person, person_facts, person_negatives);
                if let Some((id, grid)) = registered.get(person) {
                    code.resident_id = Some(*id);
                    code.grid_code = grid.clone();
                }
                computed.push(code);
            }
            save_codes!($tx, &computed, cause, now);
            codes.extend(computed);
        }
        codes
    }};
}
pub(crate) use apply_fact_changes;
