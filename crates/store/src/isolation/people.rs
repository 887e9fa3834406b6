//! One person's measures, and each measure's transfers and hospital admissions (一人一档).

use super::*;

impl Store {
    /// Every measure of a person (open or ended), newest first.
    pub async fn measures_of_person(
        &self,
        id_type: &str,
        id_number: &str,
    ) -> StoreResult<Vec<MeasureRecord>> {
        let sql = format!(
            "SELECT {MEASURE_COLUMNS} FROM isolation_measures WHERE id_number = $1 AND id_type = $2 \
             ORDER BY id DESC LIMIT 20"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id_number).bind(id_type).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// The transfers a measure's person rode, newest first.
    pub async fn transfers_of_measure(&self, measure_id: i64) -> StoreResult<Vec<TransferRecord>> {
        let sql = format!(
            "{TRANSFER_SELECT} JOIN transfer_riders rider ON rider.transfer_id = t.id \
             WHERE rider.measure_id = $1 ORDER BY t.id DESC LIMIT 20"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(measure_id).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// A measure's hospital admissions with the hospital's name, newest first.
    pub async fn admissions_of_measure(
        &self,
        measure_id: i64,
    ) -> StoreResult<Vec<(AdmissionRecord, String)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            admission: AdmissionRecord,
            hospital_name: String,
        }
        let rows: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.id, a.hospital_id, a.measure_id, a.transfer_id, a.admitted_at, a.discharged_at, \
                 m.name, m.id_type, m.id_number, m.grid_code, h.name AS hospital_name \
                 FROM hospital_admissions a JOIN hospitals h ON h.id = a.hospital_id \
                 JOIN isolation_measures m ON m.id = a.measure_id \
                 WHERE a.measure_id = $1 ORDER BY a.admitted_at DESC, a.id DESC LIMIT 20",
            )
            .bind(measure_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| (r.admission, r.hospital_name))
            .collect())
    }
}
