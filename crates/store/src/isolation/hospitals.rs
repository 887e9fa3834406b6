//! Designated hospitals and fangcang: beds, admissions and discharges.

use super::*;

impl Store {
    /// A hospital and its audit record (target: `hospital:<new id>`), in one transaction.
    pub async fn insert_treatment_hospital(
        &self,
        hospital: &HospitalRecord,
        audit: &crate::AuditRecord,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO hospitals (name, kind, region_code, beds, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(&hospital.name)
            .bind(hospital.kind.code())
            .bind(hospital.region_code.as_str())
            .bind(hospital.beds)
            .bind(hospital.created_at)
            .fetch_one(&mut *tx)
            .await?;
            crate::audit::write_audit!(&mut *tx, audit, format!("hospital:{id}"));
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    /// Hospitals of the subtree with their beds occupied (admissions not discharged).
    pub async fn treatment_hospitals(
        &self,
        range: (&str, &str),
    ) -> StoreResult<Vec<HospitalRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT h.id, h.name, h.kind, h.region_code, h.beds, h.created_at, \
                 (SELECT COUNT(*) FROM hospital_admissions a WHERE a.hospital_id = h.id AND a.discharged_at IS NULL) AS occupied \
                 FROM hospitals h WHERE h.region_code >= $1 AND h.region_code < $2 ORDER BY h.kind, h.name",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn treatment_hospital(&self, id: i64) -> StoreResult<Option<HospitalRecord>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT h.id, h.name, h.kind, h.region_code, h.beds, h.created_at, \
                 (SELECT COUNT(*) FROM hospital_admissions a WHERE a.hospital_id = h.id AND a.discharged_at IS NULL) AS occupied \
                 FROM hospitals h WHERE h.id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Admissions of the subtree's hospitals, in hospital first, newest first.
    pub async fn hospital_admissions(
        &self,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<AdmissionRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.id, a.hospital_id, a.measure_id, a.transfer_id, a.admitted_at, a.discharged_at, \
                 m.name, m.id_type, m.id_number, m.grid_code \
                 FROM hospital_admissions a JOIN hospitals h ON h.id = a.hospital_id \
                 JOIN isolation_measures m ON m.id = a.measure_id \
                 WHERE h.region_code >= $1 AND h.region_code < $2 \
                 ORDER BY CASE WHEN a.discharged_at IS NULL THEN 0 ELSE 1 END, a.admitted_at DESC, a.id DESC LIMIT $3",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// How many admissions [`Store::hospital_admissions`] lists in all.
    pub async fn count_hospital_admissions(&self, range: (&str, &str)) -> StoreResult<i64> {
        let count = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM hospital_admissions a JOIN hospitals h ON h.id = a.hospital_id \
                 WHERE h.region_code >= $1 AND h.region_code < $2",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_one(pool)
            .await?
        });
        Ok(count)
    }

    pub async fn hospital_admission(
        &self,
        id: i64,
    ) -> StoreResult<Option<(i64, Option<i64>, i64)>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as("SELECT hospital_id, discharged_at, admitted_at FROM hospital_admissions WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// Discharges an admission with its audit record, and ends the measure that still says
    /// "in hospital", in one transaction; false (nothing written) when it was discharged already.
    pub async fn discharge_admission(
        &self,
        admission_id: i64,
        now: i64,
        audit: &crate::AuditRecord,
    ) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query("UPDATE hospital_admissions SET discharged_at = $1 WHERE id = $2 AND discharged_at IS NULL")
                .bind(now)
                .bind(admission_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed == 1 {
                // The patient has left hospital: a measure that still says so ends with the stay
                // (as `MeasureInput::CaseDischarged` ends it from the case's side), so beds and
                // measures never disagree.
                sqlx::query(
                    "UPDATE isolation_measures SET status = 'released', status_since = $1, released_at = $1 \
                     WHERE status = 'hospitalised' \
                     AND id = (SELECT measure_id FROM hospital_admissions WHERE id = $2)",
                )
                .bind(now)
                .bind(admission_id)
                .execute(&mut *tx)
                .await?;
                crate::audit::write_audit!(&mut *tx, audit);
                tx.commit().await?;
            }
            changed
        });
        Ok(changed == 1)
    }

    /// Appends a person event as another module would (tests and the demo use it to play
    /// investigation's part).
    #[allow(clippy::too_many_arguments)]
    pub async fn append_person_event(
        &self,
        at: i64,
        kind: &str,
        id_type: &str,
        id_number: &str,
        resident_id: Option<i64>,
        grid_code: &str,
        source: &str,
        detail: &str,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO person_events (at, kind, id_type, id_number, resident_id, grid_code, source, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(at)
            .bind(kind)
            .bind(id_type)
            .bind(id_number)
            .bind(resident_id)
            .bind(grid_code)
            .bind(source)
            .bind(detail)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }
}
