//! Fever clinics (发热门诊/发热诊室): the registry, each patient's visit with the time of each stage,
//! and the counters per clinic and Beijing day (`fever_clinic_days`) and per clinic now
//! (`fever_clinics.in_observation`, `.awaiting_result`), moved in the visit's transaction. A
//! positive's `sentinel_positive` event (and, for an antigen positive with an ID, the
//! `antigen_positive` event with its PCR recheck task, as a self-test's) is written in the same
//! transaction, under the tube writer's lock like every person event.

use serde::Serialize;
use sqlx::QueryBuilder;

use fangkong_domain::lab_result::TestResult;
use fangkong_domain::region::RegionCode;
use fangkong_domain::warning::fever_clinics::{BloodCount, ClinicKind, ClinicRisk, VisitStage};

use super::DayCount;
use crate::audit::write_audit;
use crate::mass_testing::TUBE_WRITER_LOCK;
use crate::typed::{StoredCode, StoredOptionalCode, StoredRegion};
use crate::{AuditRecord, Store, StoreResult, begin_locked, with_pool};

/// A clinic of the registry.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct FeverClinicRecord {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "StoredCode<ClinicKind>")]
    pub kind: ClinicKind,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    #[sqlx(try_from = "StoredCode<ClinicRisk>")]
    pub risk: ClinicRisk,
    pub site_id: Option<i64>,
    pub hospital: String,
    pub in_observation: i64,
    pub awaiting_result: i64,
    pub created_at: i64,
    pub created_by: String,
}

/// A clinic to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFeverClinic {
    pub name: String,
    pub kind: ClinicKind,
    pub region_code: RegionCode,
    pub risk: ClinicRisk,
    pub site_id: Option<i64>,
    pub hospital: String,
    pub created_at: i64,
    pub created_by: String,
}

/// A patient's visit, with its clinic's name, region and risk rule. Personal and health data: no
/// `Debug`.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow, Serialize)]
pub struct FeverVisitRecord {
    pub id: i64,
    pub clinic_id: i64,
    pub clinic_name: String,
    #[sqlx(try_from = "StoredRegion")]
    pub clinic_region: RegionCode,
    #[sqlx(try_from = "StoredCode<ClinicRisk>")]
    pub clinic_risk: ClinicRisk,
    pub id_type: String,
    pub id_number: String,
    pub id_valid: bool,
    pub id_problem: String,
    pub name: String,
    pub phone: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub green_code: bool,
    pub travel_history: bool,
    pub temperature: String,
    pub complaint: String,
    #[sqlx(try_from = "StoredCode<VisitStage>")]
    pub stage: VisitStage,
    pub registered_at: i64,
    pub received_at: Option<i64>,
    pub screening_at: Option<i64>,
    pub observation_at: Option<i64>,
    pub left_at: Option<i64>,
    #[sqlx(try_from = "StoredOptionalCode<TestResult>")]
    pub antigen_result: Option<TestResult>,
    pub antigen_at: Option<i64>,
    pub pcr_tube: Option<String>,
    pub pcr_bound: bool,
    pub pcr_taken_at: Option<i64>,
    #[sqlx(try_from = "StoredOptionalCode<TestResult>")]
    pub pcr_result: Option<TestResult>,
    pub pcr_result_at: Option<i64>,
    #[sqlx(try_from = "StoredOptionalCode<BloodCount>")]
    pub blood_count: Option<BloodCount>,
    pub blood_at: Option<i64>,
    pub positive_at: Option<i64>,
    pub hospital: String,
    pub outcome_note: String,
    pub staff: String,
}

/// A patient to register (the person already parsed and looked up).
#[derive(Clone, PartialEq, Eq)]
pub struct NewFeverVisit {
    pub clinic_id: i64,
    pub clinic_region: RegionCode,
    pub request_key: String,
    pub id_type: String,
    pub id_number: String,
    pub id_valid: bool,
    pub id_problem: String,
    pub name: String,
    pub phone: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub green_code: bool,
    pub travel_history: bool,
    pub temperature: String,
    pub complaint: String,
    pub registered_at: i64,
    /// Beijing day of `registered_at`.
    pub day: String,
    pub staff: String,
}

/// What a stage's change writes besides the stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitFact {
    None,
    Antigen(String),
    PcrTaken { tube: String, bound: bool },
    PcrResult(String),
    Blood(String),
    Referred { hospital: String, note: String },
    Released { note: String },
}

/// What a positive writes besides the visit (the person is the visit's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositiveWrite {
    /// JSON of `domain::person_event::SentinelEvent`.
    pub sentinel_detail: String,
    /// An antigen positive of a patient with a valid ID: also the `antigen_positive` event and
    /// its PCR recheck task (source `clinic_antigen:<visit id>`), as for a self-test.
    pub antigen_recheck: bool,
}

/// One change of a visit, guarded by the stage it was decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitWrite {
    pub visit_id: i64,
    pub from_stage: String,
    pub to_stage: String,
    pub fact: VisitFact,
    pub at: i64,
    /// Beijing day of `at`.
    pub day: String,
    pub observation_delta: i64,
    pub awaiting_delta: i64,
    pub positive: Option<PositiveWrite>,
    pub staff: String,
}

/// A clinic's day (or a region's, summed): visits, positives, referred and released that day;
/// in observation and awaiting a PCR result now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ClinicDayFigures {
    pub visits: i64,
    pub in_observation: i64,
    pub awaiting_result: i64,
    pub positives: i64,
    pub referred: i64,
    pub released: i64,
}

/// A PCR result the lab uploaded for a clinic's bound tube, not yet on the visit.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LabResultForVisit {
    pub visit_id: i64,
    pub result: String,
    pub result_at: i64,
}

/// A value of the visit's SET list.
enum Value {
    Text(String),
    Int(i64),
    Null,
    IntNull,
}

const CLINIC_COLUMNS: &str = "id, name, kind, region_code, risk, site_id, hospital, in_observation, \
     awaiting_result, created_at, created_by";

const VISIT_COLUMNS: &str = "v.id, v.clinic_id, c.name AS clinic_name, c.region_code AS clinic_region, \
     c.risk AS clinic_risk, v.id_type, v.id_number, (v.id_valid = 1) AS id_valid, v.id_problem, v.name, \
     v.phone, v.resident_id, v.grid_code, (v.green_code = 1) AS green_code, \
     (v.travel_history = 1) AS travel_history, v.temperature, v.complaint, v.stage, v.registered_at, \
     v.received_at, v.screening_at, v.observation_at, v.left_at, v.antigen_result, v.antigen_at, \
     v.pcr_tube, (v.pcr_bound = 1) AS pcr_bound, v.pcr_taken_at, v.pcr_result, v.pcr_result_at, \
     v.blood_count, v.blood_at, v.positive_at, v.hospital, v.outcome_note, v.staff";

/// The code range of the regions starting with `prefix` (digits only; anything else matches none;
/// '' matches every region).
fn prefix_range(prefix: &str) -> (String, String) {
    // '' is every region (the trigger pass reads the whole database).
    if !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return (String::from("~"), String::from("~"));
    }
    (prefix.to_string(), format!("{prefix}~"))
}

impl Store {
    /// Registers a clinic with its audit record (target: the new id); a unique violation when the
    /// region already has a clinic of that name.
    pub async fn insert_fever_clinic(
        &self,
        clinic: &NewFeverClinic,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO fever_clinics (name, kind, region_code, risk, site_id, hospital, \
                 created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(&clinic.name)
            .bind(clinic.kind.code())
            .bind(clinic.region_code.as_str())
            .bind(clinic.risk.code())
            .bind(clinic.site_id)
            .bind(&clinic.hospital)
            .bind(clinic.created_at)
            .bind(&clinic.created_by)
            .fetch_one(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit, format!("fever_clinic:{id}"));
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn fever_clinic(&self, id: i64) -> StoreResult<Option<FeverClinicRecord>> {
        self.row_by(CLINIC_COLUMNS, "fever_clinics", "id", id).await
    }

    /// The clinics of a jurisdiction's code range, by region and name.
    pub async fn fever_clinics_in(
        &self,
        range: (&str, &str),
    ) -> StoreResult<Vec<FeverClinicRecord>> {
        let sql = format!(
            "SELECT {CLINIC_COLUMNS} FROM fever_clinics WHERE region_code >= $1 AND region_code < $2 \
             ORDER BY region_code, name LIMIT 1000"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Registers a patient with the clinic's day counter and the audit record (target: the new
    /// id). A retry of the same request key registers nobody: `(id, false)`.
    pub async fn insert_fever_visit(
        &self,
        visit: &NewFeverVisit,
        audit: &AuditRecord,
    ) -> StoreResult<(i64, bool)> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT id FROM fever_visits WHERE request_key = $1")
                    .bind(&visit.request_key)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(id) = existing {
                return Ok((id, false));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO fever_visits (clinic_id, request_key, id_type, id_number, id_valid, \
                 id_problem, name, phone, resident_id, grid_code, green_code, travel_history, \
                 temperature, complaint, stage, registered_at, staff) VALUES ($1, $2, $3, $4, $5, $6, \
                 $7, $8, $9, $10, $11, $12, $13, $14, 'triage', $15, $16) RETURNING id",
            )
            .bind(visit.clinic_id)
            .bind(&visit.request_key)
            .bind(&visit.id_type)
            .bind(&visit.id_number)
            .bind(i64::from(visit.id_valid))
            .bind(&visit.id_problem)
            .bind(&visit.name)
            .bind(&visit.phone)
            .bind(visit.resident_id)
            .bind(&visit.grid_code)
            .bind(i64::from(visit.green_code))
            .bind(i64::from(visit.travel_history))
            .bind(&visit.temperature)
            .bind(&visit.complaint)
            .bind(visit.registered_at)
            .bind(&visit.staff)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO fever_clinic_days (clinic_id, day, region_code, visits) VALUES ($1, $2, $3, 1) \
                 ON CONFLICT (clinic_id, day) DO UPDATE SET visits = fever_clinic_days.visits + 1",
            )
            .bind(visit.clinic_id)
            .bind(&visit.day)
            .bind(visit.clinic_region.as_str())
            .execute(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit, format!("fever_visit:{id}"));
            tx.commit().await?;
            Ok((id, true))
        })
    }

    pub async fn fever_visit(&self, id: i64) -> StoreResult<Option<FeverVisitRecord>> {
        let sql = format!(
            "SELECT {VISIT_COLUMNS} FROM fever_visits v JOIN fever_clinics c ON c.id = v.clinic_id \
             WHERE v.id = $1"
        );
        let row = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// A clinic's board: every patient still at the clinic, and those who left since `left_since`.
    pub async fn fever_visits_of_clinic(
        &self,
        clinic_id: i64,
        left_since: i64,
    ) -> StoreResult<Vec<FeverVisitRecord>> {
        let sql = format!(
            "SELECT {VISIT_COLUMNS} FROM fever_visits v JOIN fever_clinics c ON c.id = v.clinic_id \
             WHERE v.clinic_id = $1 AND (v.stage IN ('triage', 'reception', 'screening', 'observation') \
             OR v.left_at >= $2) ORDER BY v.registered_at, v.id LIMIT 2000"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(clinic_id)
                .bind(left_since)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Writes one change of a visit: the stage (guarded: false and nothing written when the visit
    /// is no longer at `from_stage` or the fact was recorded meanwhile), its time, the fact, the
    /// counters, a positive's events, and the audit record when one is given — one transaction.
    pub async fn apply_fever_visit_change(
        &self,
        write: &VisitWrite,
        audit: Option<&AuditRecord>,
    ) -> StoreResult<bool> {
        // The SET list as (column, value); the stage's time only when the stage moves.
        let mut sets: Vec<(&str, Value)> = vec![
            ("stage", Value::Text(write.to_stage.clone())),
            ("staff", Value::Text(write.staff.clone())),
        ];
        if write.to_stage != write.from_stage {
            let column = match write.to_stage.as_str() {
                "reception" => "received_at",
                "screening" => "screening_at",
                "observation" => "observation_at",
                _ => "left_at",
            };
            sets.push((column, Value::Int(write.at)));
        }
        let text = |t: &String| Value::Text(t.clone());
        let guard = match &write.fact {
            VisitFact::None => "",
            VisitFact::Antigen(result) => {
                sets.push(("antigen_result", text(result)));
                sets.push(("antigen_at", Value::Int(write.at)));
                " AND antigen_result IS NULL"
            }
            VisitFact::PcrTaken { tube, bound } => {
                sets.push(("pcr_tube", text(tube)));
                sets.push(("pcr_bound", Value::Int(i64::from(*bound))));
                sets.push(("pcr_taken_at", Value::Int(write.at)));
                sets.push(("pcr_result", Value::Null));
                sets.push(("pcr_result_at", Value::IntNull));
                " AND (pcr_tube IS NULL OR pcr_result = 'invalid')"
            }
            VisitFact::PcrResult(result) => {
                sets.push(("pcr_result", text(result)));
                sets.push(("pcr_result_at", Value::Int(write.at)));
                " AND pcr_tube IS NOT NULL AND pcr_result IS NULL"
            }
            VisitFact::Blood(reading) => {
                sets.push(("blood_count", text(reading)));
                sets.push(("blood_at", Value::Int(write.at)));
                " AND blood_count IS NULL"
            }
            VisitFact::Referred { hospital, note } => {
                sets.push(("hospital", text(hospital)));
                sets.push(("outcome_note", text(note)));
                ""
            }
            VisitFact::Released { note } => {
                sets.push(("outcome_note", text(note)));
                ""
            }
        };
        if write.positive.is_some() {
            sets.push(("positive_at", Value::Int(write.at)));
        }
        let referred = i64::from(write.to_stage == "referred" && write.from_stage != "referred");
        let released = i64::from(write.to_stage == "released" && write.from_stage != "released");
        let positives = i64::from(write.positive.is_some());
        with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, TUBE_WRITER_LOCK);
            let mut update = QueryBuilder::new("UPDATE fever_visits SET ");
            for (index, (column, value)) in sets.iter().enumerate() {
                if index > 0 {
                    update.push(", ");
                }
                update.push(*column);
                update.push(" = ");
                match value {
                    Value::Text(t) => update.push_bind(t.clone()),
                    Value::Int(n) => update.push_bind(*n),
                    Value::Null => update.push_bind(None::<String>),
                    Value::IntNull => update.push_bind(None::<i64>),
                };
            }
            update.push(" WHERE id = ");
            update.push_bind(write.visit_id);
            update.push(" AND stage = ");
            update.push_bind(write.from_stage.clone());
            update.push(guard);
            let changed = update.build().execute(&mut *tx).await?.rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            let (clinic_id, region, id_type, id_number, resident_id, grid_code, name): (
                i64,
                String,
                String,
                String,
                Option<i64>,
                String,
                String,
            ) = sqlx::query_as(
                "SELECT v.clinic_id, c.region_code, v.id_type, v.id_number, v.resident_id, v.grid_code, \
                 v.name FROM fever_visits v JOIN fever_clinics c ON c.id = v.clinic_id WHERE v.id = $1",
            )
            .bind(write.visit_id)
            .fetch_one(&mut *tx)
            .await?;
            if write.observation_delta != 0 || write.awaiting_delta != 0 {
                sqlx::query(
                    "UPDATE fever_clinics SET in_observation = in_observation + $2, \
                     awaiting_result = awaiting_result + $3 WHERE id = $1",
                )
                .bind(clinic_id)
                .bind(write.observation_delta)
                .bind(write.awaiting_delta)
                .execute(&mut *tx)
                .await?;
            }
            if referred + released + positives > 0 {
                sqlx::query(
                    "INSERT INTO fever_clinic_days (clinic_id, day, region_code, positives, referred, released) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (clinic_id, day) DO UPDATE SET \
                     positives = fever_clinic_days.positives + $4, referred = fever_clinic_days.referred + $5, \
                     released = fever_clinic_days.released + $6",
                )
                .bind(clinic_id)
                .bind(&write.day)
                .bind(&region)
                .bind(positives)
                .bind(referred)
                .bind(released)
                .execute(&mut *tx)
                .await?;
            }
            if let Some(positive) = &write.positive {
                let record = format!("clinic_visit:{}", write.visit_id);
                sqlx::query(
                    "INSERT INTO person_events (at, kind, id_type, id_number, resident_id, grid_code, source, detail) \
                     VALUES ($1, 'sentinel_positive', $2, $3, $4, $5, $6, $7)",
                )
                .bind(write.at)
                .bind(&id_type)
                .bind(&id_number)
                .bind(resident_id)
                .bind(&grid_code)
                .bind(&record)
                .bind(&positive.sentinel_detail)
                .execute(&mut *tx)
                .await?;
                if positive.antigen_recheck {
                    let source = format!("clinic_antigen:{}", write.visit_id);
                    sqlx::query(
                        "INSERT INTO recheck_tasks (round_id, source, reason, id_type, id_number, name, \
                         resident_id, grid_code, created_at, status) \
                         VALUES (NULL, $1, 'antigen_positive', $2, $3, $4, $5, $6, $7, 'pending')",
                    )
                    .bind(&source)
                    .bind(&id_type)
                    .bind(&id_number)
                    .bind(&name)
                    .bind(resident_id)
                    .bind(&grid_code)
                    .bind(write.at)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO person_events (at, kind, id_type, id_number, resident_id, grid_code, source, detail) \
                         VALUES ($1, 'antigen_positive', $2, $3, $4, $5, $6, '')",
                    )
                    .bind(write.at)
                    .bind(&id_type)
                    .bind(&id_number)
                    .bind(resident_id)
                    .bind(&grid_code)
                    .bind(&source)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            if let Some(audit) = audit {
                write_audit!(&mut *tx, audit, format!("fever_visit:{}", write.visit_id));
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// A registered resident by ID document: (id, grid).
    pub async fn resident_of_document(
        &self,
        id_type: &str,
        id_number: &str,
    ) -> StoreResult<Option<(i64, String)>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as("SELECT id, grid_code FROM residents WHERE id_type = $1 AND id_number = $2")
                .bind(id_type)
                .bind(id_number)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// PCR results the lab uploaded for clinics' bound tubes that the visits do not show yet.
    pub async fn lab_results_for_fever_visits(
        &self,
        limit: i64,
    ) -> StoreResult<Vec<LabResultForVisit>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT v.id AS visit_id, t.result AS result, COALESCE(t.result_at, t.tested_at, 0) AS result_at \
                 FROM fever_visits v JOIN tubes t ON t.barcode = v.pcr_tube \
                 WHERE v.pcr_bound = 1 AND v.pcr_result IS NULL AND t.result IS NOT NULL \
                 ORDER BY v.id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Fever-clinic visits registered per (clinic's region code, Beijing day), days ≥ `since_day`,
    /// of the clinics whose region code starts with `region_prefix` (digits): read from
    /// `fever_clinic_days`, moved in each visit's transaction.
    pub async fn fever_visit_day_counts(
        &self,
        region_prefix: &str,
        since_day: &str,
    ) -> StoreResult<Vec<DayCount>> {
        let (lower, upper) = prefix_range(region_prefix);
        let rows: Vec<(String, String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT region_code, day, CAST(SUM(visits) AS BIGINT) FROM fever_clinic_days \
                 WHERE region_code >= $1 AND region_code < $2 AND day >= $3 \
                 GROUP BY region_code, day ORDER BY region_code, day",
            )
            .bind(&lower)
            .bind(&upper)
            .bind(since_day)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(region_code, day, count)| DayCount {
                region_code,
                day,
                count,
            })
            .collect())
    }

    /// The day's figures of the clinics whose region code starts with `region_prefix`: visits,
    /// positives, referred and released on Beijing day `day` (`YYYY-MM-DD`), and the patients in
    /// observation and awaiting a PCR result now. Counters only.
    pub async fn clinic_day_figures(
        &self,
        region_prefix: &str,
        day: &str,
    ) -> StoreResult<ClinicDayFigures> {
        let (lower, upper) = prefix_range(region_prefix);
        let (days, now): ((i64, i64, i64, i64), (i64, i64)) = with_pool!(self, pool => {
            let days = sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(visits), 0) AS BIGINT), CAST(COALESCE(SUM(positives), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(referred), 0) AS BIGINT), CAST(COALESCE(SUM(released), 0) AS BIGINT) \
                 FROM fever_clinic_days WHERE region_code >= $1 AND region_code < $2 AND day = $3",
            )
            .bind(&lower)
            .bind(&upper)
            .bind(day)
            .fetch_one(pool)
            .await?;
            let now = sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(in_observation), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(awaiting_result), 0) AS BIGINT) FROM fever_clinics \
                 WHERE region_code >= $1 AND region_code < $2",
            )
            .bind(&lower)
            .bind(&upper)
            .fetch_one(pool)
            .await?;
            (days, now)
        });
        Ok(ClinicDayFigures {
            visits: days.0,
            positives: days.1,
            referred: days.2,
            released: days.3,
            in_observation: now.0,
            awaiting_result: now.1,
        })
    }

    /// One clinic's figures of `day` (its counters now for observation and awaiting).
    pub async fn clinic_day_row(
        &self,
        clinic: &FeverClinicRecord,
        day: &str,
    ) -> StoreResult<ClinicDayFigures> {
        let row: Option<(i64, i64, i64, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT visits, positives, referred, released FROM fever_clinic_days \
                 WHERE clinic_id = $1 AND day = $2",
            )
            .bind(clinic.id)
            .bind(day)
            .fetch_optional(pool)
            .await?
        });
        let (visits, positives, referred, released) = row.unwrap_or_default();
        Ok(ClinicDayFigures {
            visits,
            positives,
            referred,
            released,
            in_observation: clinic.in_observation,
            awaiting_result: clinic.awaiting_result,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_range;

    #[test]
    fn prefixes_are_digits_only() {
        assert_eq!(prefix_range("1301"), ("1301".into(), "1301~".into()));
        let none = prefix_range("13' OR 1=1");
        assert_eq!(none.0, none.1, "an empty range");
        // '' is every region: the trigger pass reads the whole database's day counts.
        assert_eq!(prefix_range(""), (String::new(), "~".into()));
    }
}
