//! Supplies: Supply whitelist and passes (保供白名单与通行证). The whitelist (enterprises, vehicles,
//! people), the passes with the county's serial allocated in the issuing transaction (the counter
//! row moves with the pass, so a rolled-back issue leaves no gap and two issues never share a
//! serial), revocation, and the vehicle checks at the checkpoints.

use crate::audit::write_audit;
use crate::rows::RangePage;
use crate::{AuditRecord, Store, StoreResult, begin_locked, with_pool};

/// The issuing transaction's lock on PostgreSQL (SQLite's BEGIN IMMEDIATE serialises by itself).
const PASS_SERIAL_LOCK: i64 = 662_607;

/// A whitelisted enterprise (保供企业). Its contact phone is a person's: no `Debug`.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct SupplyEnterpriseRecord {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub region_code: String,
    pub credit_code: String,
    pub certificate_no: String,
    pub contact_phone: String,
    pub created_by: String,
    pub created_at: i64,
}

const ENTERPRISE_COLUMNS: &str = "id, name, kind, region_code, credit_code, certificate_no, contact_phone, created_by, created_at";

/// A whitelisted vehicle.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct SupplyVehicleRecord {
    pub id: i64,
    pub enterprise_id: i64,
    pub region_code: String,
    pub plate: String,
    pub kind: String,
    pub licence_no: String,
    pub created_by: String,
    pub created_at: i64,
}

const VEHICLE_COLUMNS: &str =
    "id, enterprise_id, region_code, plate, kind, licence_no, created_by, created_at";

/// A whitelisted driver or staff member. Personal data: `Debug` shows no name, ID or phone.
#[derive(Clone, sqlx::FromRow, serde::Serialize)]
pub struct SupplyPersonRecord {
    pub id: i64,
    pub enterprise_id: i64,
    pub region_code: String,
    pub role: String,
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub phone: String,
    pub document_no: String,
    /// The sampling time of the newest negative report registered with the person.
    pub negative_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
}

impl std::fmt::Debug for SupplyPersonRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupplyPersonRecord")
            .field("id", &self.id)
            .field("enterprise_id", &self.enterprise_id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

const PERSON_COLUMNS: &str = "id, enterprise_id, region_code, role, name, id_type, id_number, phone, document_no, \
     negative_at, created_by, created_at";

/// A pass (vehicle or staff).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct SupplyPassRecord {
    pub id: i64,
    pub number: String,
    pub county_code: String,
    pub serial: i64,
    pub kind: String,
    pub enterprise_id: i64,
    pub vehicle_id: Option<i64>,
    pub person_id: Option<i64>,
    pub plate: String,
    pub goods: String,
    pub origin_code: String,
    pub destination_code: String,
    pub route: String,
    pub valid_from: i64,
    pub valid_until: i64,
    pub status: String,
    pub revoked_reason: String,
    pub revoked_by: String,
    pub revoked_at: Option<i64>,
    pub issued_by: String,
    pub issued_at: i64,
}

const PASS_COLUMNS: &str = "id, number, county_code, serial, kind, enterprise_id, vehicle_id, person_id, plate, goods, \
     origin_code, destination_code, route, valid_from, valid_until, status, revoked_reason, revoked_by, revoked_at, \
     issued_by, issued_at";

/// A pass to issue: number and serial are allocated by [`Store::issue_supply_pass`].
#[derive(Debug, Clone)]
pub struct PassIssue {
    pub county_code: String,
    pub kind: String,
    pub enterprise_id: i64,
    pub vehicle_id: Option<i64>,
    pub person_id: Option<i64>,
    pub plate: String,
    pub goods: String,
    pub origin_code: String,
    pub destination_code: String,
    pub route: String,
    pub valid_from: i64,
    pub valid_until: i64,
    pub issued_by: String,
    pub issued_at: i64,
    /// The people bound to a vehicle pass, each with the negative checked at issue.
    pub people: Vec<(i64, i64)>,
}

/// A person bound to a pass, with what the post needs to check them.
#[derive(Clone, sqlx::FromRow)]
pub struct PassPersonRow {
    pub person_id: i64,
    pub role: String,
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub last_negative_at: i64,
}

impl std::fmt::Debug for PassPersonRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassPersonRow")
            .field("person_id", &self.person_id)
            .finish_non_exhaustive()
    }
}

/// A vehicle check as logged.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct VehiclePassageRecord {
    pub id: i64,
    pub passage_key: String,
    pub checkpoint_id: i64,
    pub at: i64,
    pub method: String,
    pub pass_id: Option<i64>,
    pub pass_number: String,
    pub plate: String,
    pub temperature: Option<f64>,
    pub people: i64,
    pub decision: String,
    pub reasons: String,
    pub recorder: String,
}

/// One person on board a checked vehicle: written as a checkpoint passage of its own, so the
/// itinerary questions (who passed this checkpoint, where was this person) see drivers and staff
/// like everyone else checked there (逢人必核、逢检必录).
#[derive(Debug, Clone)]
pub struct Rider {
    pub id_type: String,
    pub id_number: fangkong_domain::personal::DocumentNumber,
    /// The code colour read at the check (`Colour` code).
    pub colour: String,
}

const PASSAGE_COLUMNS: &str = "id, passage_key, checkpoint_id, at, method, pass_id, pass_number, plate, temperature, \
     people, decision, reasons, recorder";

impl Store {
    /// Whitelists an enterprise; `None` when its credit code is registered already.
    pub async fn insert_supply_enterprise(
        &self,
        e: &SupplyEnterpriseRecord,
        audit: &AuditRecord,
    ) -> StoreResult<Option<i64>> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO supply_enterprises (name, kind, region_code, credit_code, certificate_no, contact_phone, \
                 created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (credit_code) DO NOTHING RETURNING id",
            )
            .bind(&e.name)
            .bind(&e.kind)
            .bind(&e.region_code)
            .bind(&e.credit_code)
            .bind(&e.certificate_no)
            .bind(&e.contact_phone)
            .bind(&e.created_by)
            .bind(e.created_at)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                write_audit!(&mut *tx, audit, format!("supply_enterprise:{id}"));
                tx.commit().await?;
            }
            Ok(id)
        })
    }

    pub async fn supply_enterprise(&self, id: i64) -> StoreResult<Option<SupplyEnterpriseRecord>> {
        self.row_by(ENTERPRISE_COLUMNS, "supply_enterprises", "id", id)
            .await
    }

    /// The enterprises in a code range, by name (a page), and their total.
    pub async fn supply_enterprises_in(
        &self,
        range: (&str, &str),
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<SupplyEnterpriseRecord>, i64)> {
        let page = RangePage {
            column: "region_code",
            range,
            order: "name, id",
            limit,
            offset,
        };
        self.range_page(ENTERPRISE_COLUMNS, "supply_enterprises", page)
            .await
    }

    /// Whitelists a vehicle; `None` when its plate is whitelisted already.
    pub async fn insert_supply_vehicle(
        &self,
        v: &SupplyVehicleRecord,
        audit: &AuditRecord,
    ) -> StoreResult<Option<i64>> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO supply_vehicles (enterprise_id, region_code, plate, kind, licence_no, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (plate) DO NOTHING RETURNING id",
            )
            .bind(v.enterprise_id)
            .bind(&v.region_code)
            .bind(&v.plate)
            .bind(&v.kind)
            .bind(&v.licence_no)
            .bind(&v.created_by)
            .bind(v.created_at)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                write_audit!(&mut *tx, audit, format!("supply_vehicle:{id}"));
                tx.commit().await?;
            }
            Ok(id)
        })
    }

    pub async fn supply_vehicle(&self, id: i64) -> StoreResult<Option<SupplyVehicleRecord>> {
        self.row_by(VEHICLE_COLUMNS, "supply_vehicles", "id", id)
            .await
    }

    pub async fn supply_vehicles_of(
        &self,
        enterprise_id: i64,
    ) -> StoreResult<Vec<SupplyVehicleRecord>> {
        let sql = format!(
            "SELECT {VEHICLE_COLUMNS} FROM supply_vehicles WHERE enterprise_id = $1 ORDER BY plate LIMIT 1000"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(enterprise_id).fetch_all(pool).await?
        }))
    }

    /// Whitelists a person; `None` when the enterprise has them already.
    pub async fn insert_supply_person(
        &self,
        p: &SupplyPersonRecord,
        audit: &AuditRecord,
    ) -> StoreResult<Option<i64>> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO supply_people (enterprise_id, region_code, role, name, id_type, id_number, phone, \
                 document_no, negative_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (enterprise_id, id_type, id_number) DO NOTHING RETURNING id",
            )
            .bind(p.enterprise_id)
            .bind(&p.region_code)
            .bind(&p.role)
            .bind(&p.name)
            .bind(&p.id_type)
            .bind(&p.id_number)
            .bind(&p.phone)
            .bind(&p.document_no)
            .bind(p.negative_at)
            .bind(&p.created_by)
            .bind(p.created_at)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                write_audit!(&mut *tx, audit, format!("supply_person:{id}"));
                tx.commit().await?;
            }
            Ok(id)
        })
    }

    pub async fn supply_person(&self, id: i64) -> StoreResult<Option<SupplyPersonRecord>> {
        self.row_by(PERSON_COLUMNS, "supply_people", "id", id).await
    }

    /// Registers a newer negative report of a person (an older one changes nothing), with its audit.
    pub async fn record_supply_person_negative(
        &self,
        id: i64,
        sampled_at: i64,
        audit: &AuditRecord,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE supply_people SET negative_at = $2 WHERE id = $1 \
                 AND (negative_at IS NULL OR negative_at < $2)",
            )
            .bind(id)
            .bind(sampled_at)
            .execute(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit, format!("supply_person:{id}"));
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn supply_people_of(
        &self,
        enterprise_id: i64,
    ) -> StoreResult<Vec<SupplyPersonRecord>> {
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM supply_people WHERE enterprise_id = $1 ORDER BY role, name, id LIMIT 1000"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(enterprise_id).fetch_all(pool).await?
        }))
    }

    /// Issues a pass: in one transaction the county's next serial (from 0), the pass with its
    /// number, the people bound to it and the audit record. Returns the stored pass.
    pub async fn issue_supply_pass(
        &self,
        issue: &PassIssue,
        audit: &AuditRecord,
    ) -> StoreResult<SupplyPassRecord> {
        with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, PASS_SERIAL_LOCK);
            let next: i64 = sqlx::query_scalar(
                "INSERT INTO supply_pass_serials (county_code, next_serial) VALUES ($1, 1) \
                 ON CONFLICT (county_code) DO UPDATE SET next_serial = supply_pass_serials.next_serial + 1 \
                 RETURNING next_serial",
            )
            .bind(&issue.county_code)
            .fetch_one(&mut *tx)
            .await?;
            let serial = next - 1;
            let number = format!("{}{serial:06}", issue.county_code);
            let sql = format!(
                "INSERT INTO supply_passes (number, county_code, serial, kind, enterprise_id, vehicle_id, person_id, \
                 plate, goods, origin_code, destination_code, route, valid_from, valid_until, status, issued_by, \
                 issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'valid', $15, $16) \
                 RETURNING {PASS_COLUMNS}"
            );
            let pass: SupplyPassRecord = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&number)
                .bind(&issue.county_code)
                .bind(serial)
                .bind(&issue.kind)
                .bind(issue.enterprise_id)
                .bind(issue.vehicle_id)
                .bind(issue.person_id)
                .bind(&issue.plate)
                .bind(&issue.goods)
                .bind(&issue.origin_code)
                .bind(&issue.destination_code)
                .bind(&issue.route)
                .bind(issue.valid_from)
                .bind(issue.valid_until)
                .bind(&issue.issued_by)
                .bind(issue.issued_at)
                .fetch_one(&mut *tx)
                .await?;
            for (person_id, last_negative_at) in &issue.people {
                sqlx::query(
                    "INSERT INTO supply_pass_people (pass_id, person_id, last_negative_at) VALUES ($1, $2, $3)",
                )
                .bind(pass.id)
                .bind(person_id)
                .bind(last_negative_at)
                .execute(&mut *tx)
                .await?;
            }
            write_audit!(&mut *tx, audit, format!("supply_pass:{}", pass.id));
            tx.commit().await?;
            Ok(pass)
        })
    }

    pub async fn supply_pass(&self, id: i64) -> StoreResult<Option<SupplyPassRecord>> {
        self.row_by(PASS_COLUMNS, "supply_passes", "id", id).await
    }

    pub async fn supply_pass_by_number(
        &self,
        number: &str,
    ) -> StoreResult<Option<SupplyPassRecord>> {
        self.row_by(PASS_COLUMNS, "supply_passes", "number", number)
            .await
    }

    /// The passes issued in a code range of counties, newest first (a page), and their total.
    pub async fn supply_passes_in(
        &self,
        range: (&str, &str),
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<SupplyPassRecord>, i64)> {
        let page = RangePage {
            column: "county_code",
            range,
            order: "id DESC",
            limit,
            offset,
        };
        self.range_page(PASS_COLUMNS, "supply_passes", page).await
    }

    /// An enterprise's passes, newest first (at most 1,000).
    pub async fn supply_passes_of_enterprise(
        &self,
        enterprise_id: i64,
    ) -> StoreResult<Vec<SupplyPassRecord>> {
        let sql = format!(
            "SELECT {PASS_COLUMNS} FROM supply_passes WHERE enterprise_id = $1 ORDER BY id DESC LIMIT 1000"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(enterprise_id).fetch_all(pool).await?
        }))
    }

    /// The people bound to a pass (a vehicle pass's crew; a staff pass's holder).
    pub async fn supply_pass_people(&self, pass_id: i64) -> StoreResult<Vec<PassPersonRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT p.id AS person_id, p.role, p.name, p.id_type, p.id_number, \
                 CASE WHEN p.negative_at > pp.last_negative_at THEN p.negative_at ELSE pp.last_negative_at END \
                 AS last_negative_at \
                 FROM supply_pass_people pp JOIN supply_people p ON p.id = pp.person_id \
                 WHERE pp.pass_id = $1 ORDER BY p.id",
            )
            .bind(pass_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Revokes a valid pass with its audit record; false when it was revoked already.
    pub async fn revoke_supply_pass(
        &self,
        id: i64,
        reason: &str,
        by: &str,
        at: i64,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE supply_passes SET status = 'revoked', revoked_reason = $2, revoked_by = $3, revoked_at = $4 \
                 WHERE id = $1 AND status = 'valid'",
            )
            .bind(id)
            .bind(reason)
            .bind(by)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            write_audit!(&mut *tx, audit, format!("supply_pass:{id}"));
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Logs a vehicle check; false when its key was logged already (a retry: nothing written).
    /// Logs a vehicle check once (by its key) with one checkpoint passage per person on board, in
    /// one transaction; `false` when the key was logged before (nothing written).
    pub async fn insert_vehicle_passage(
        &self,
        p: &VehiclePassageRecord,
        riders: &[Rider],
    ) -> StoreResult<bool> {
        Ok(with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let logged = sqlx::query(
                "INSERT INTO supply_vehicle_passages (passage_key, checkpoint_id, at, method, pass_id, pass_number, \
                 plate, temperature, people, decision, reasons, recorder) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (passage_key) DO NOTHING",
            )
            .bind(&p.passage_key)
            .bind(p.checkpoint_id)
            .bind(p.at)
            .bind(&p.method)
            .bind(p.pass_id)
            .bind(&p.pass_number)
            .bind(&p.plate)
            .bind(p.temperature)
            .bind(p.people)
            .bind(&p.decision)
            .bind(&p.reasons)
            .bind(&p.recorder)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if logged {
                for (i, rider) in riders.iter().enumerate() {
                    // Identified by the ID document on the pass (method `id`); the passage
                    // counters move by trigger like every other passage's.
                    sqlx::query(
                        "INSERT INTO passages (passage_key, checkpoint_id, at, method, id_type, id_number, \
                         resident_id, colour, popup, temperature, plate, from_region, decision, reasons, recorder) \
                         VALUES ($1, $2, $3, 'id', $4, $5, \
                         (SELECT id FROM residents WHERE id_type = $4 AND id_number = $5), \
                         $6, $12, $7, $8, NULL, $9, $10, $11) ON CONFLICT (passage_key) DO NOTHING",
                    )
                    .bind(format!("{}:{i}", p.passage_key))
                    .bind(p.checkpoint_id)
                    .bind(p.at)
                    .bind(&rider.id_type)
                    .bind(rider.id_number.as_str())
                    .bind(&rider.colour)
                    .bind(p.temperature)
                    .bind(&p.plate)
                    .bind(&p.decision)
                    .bind(&p.reasons)
                    .bind(&p.recorder)
                    .bind(false)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            logged
        }))
    }

    pub async fn vehicle_passage_by_key(
        &self,
        key: &str,
    ) -> StoreResult<Option<VehiclePassageRecord>> {
        self.row_by(
            PASSAGE_COLUMNS,
            "supply_vehicle_passages",
            "passage_key",
            key,
        )
        .await
    }

    /// A checkpoint's latest vehicle checks.
    pub async fn vehicle_passages_at(
        &self,
        checkpoint_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<VehiclePassageRecord>> {
        let sql = format!(
            "SELECT {PASSAGE_COLUMNS} FROM supply_vehicle_passages WHERE checkpoint_id = $1 ORDER BY at DESC, id DESC LIMIT $2"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(checkpoint_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }
}
