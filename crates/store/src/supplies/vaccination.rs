//! Supplies: vaccination (see `app::supplies::vaccination`). Doses — at most one of each kind per
//! person, so a retry writes nothing — each written in one transaction with its audit record; the
//! contraindications kept as reasons; coverage by age band and child region counted from the
//! register and the doses; the people of 60 and over not yet vaccinated, per grid.

use fangkong_domain::personal::{Address, DocumentNumber, PersonName};
use fangkong_domain::phone::PhoneNumber;
use fangkong_domain::supplies::vaccination::VaccineProduct;
use sqlx::AssertSqlSafe;

use crate::audit::write_audit;
use crate::typed::StoredPhone;
use crate::{AuditRecord, Store, StoreResult, with_pool};

/// A dose to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoseWrite {
    pub resident_id: i64,
    pub grid_code: String,
    pub dose_kind: String,
    pub product: String,
    pub given_on: String,
    pub site: String,
    pub channel: String,
    pub created_by: String,
    pub created_at: i64,
}

/// A dose as recorded.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct DoseRow {
    pub id: i64,
    pub resident_id: i64,
    pub grid_code: String,
    pub dose_kind: String,
    pub product: String,
    pub given_on: String,
    pub site: String,
    pub channel: String,
    pub created_by: String,
}

const DOSE_COLUMNS: &str =
    "id, resident_id, grid_code, dose_kind, product, given_on, site, channel, created_by";

/// A contraindication to keep (one per person and reason: a second one updates it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContraindicationWrite {
    pub resident_id: i64,
    pub grid_code: String,
    pub reason: String,
    pub until_day: String,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at: i64,
}

/// A contraindication as kept.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ContraindicationRow {
    pub resident_id: i64,
    pub reason: String,
    pub until_day: String,
    pub note: String,
}

/// People and vaccinated people of one child region and age band (`band` indexes
/// `AgeBand::ALL`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct CoverageRow {
    pub region_code: String,
    pub band: i64,
    pub people: i64,
    pub first_dose: i64,
    pub full_course: i64,
    pub booster: i64,
}

/// A person of 60 or over with no dose (the push list). Holds personal data: `Debug` is masked by
/// the field types.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UnvaccinatedRow {
    pub resident_id: i64,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub birth_date: String,
    #[sqlx(try_from = "StoredPhone")]
    pub phone: Option<PhoneNumber>,
    #[sqlx(try_from = "String")]
    pub address: Address,
    pub grid_code: String,
}

/// Birth-date cutoffs of the bands on one day: a person born on or before `born_by[i]` is at
/// least as old as band `i`'s youngest (`AgeBand::ALL` order).
pub type BandCutoffs = [String; 5];

/// Inside [`with_pool!`]: writes dose `$dose` (a [`DoseWrite`]) in transaction `$tx` unless the
/// person already has one of its kind; evaluates to the new id, `None` when nothing was written.
macro_rules! insert_dose {
    ($tx:expr, $dose:expr) => {{
        let dose: &DoseWrite = $dose;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO vaccine_doses (resident_id, grid_code, dose_kind, product, given_on, \
             site, channel, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (resident_id, dose_kind) DO NOTHING RETURNING id",
        )
        .bind(dose.resident_id)
        .bind(&dose.grid_code)
        .bind(&dose.dose_kind)
        .bind(&dose.product)
        .bind(&dose.given_on)
        .bind(&dose.site)
        .bind(&dose.channel)
        .bind(&dose.created_by)
        .bind(dose.created_at)
        .fetch_optional(&mut *$tx)
        .await?;
        id
    }};
}

impl Store {
    /// Writes a dose unless the person already has one of its kind; the audit record in the same
    /// transaction. `None`: already recorded, nothing written.
    pub async fn insert_vaccine_dose(
        &self,
        dose: &DoseWrite,
        audit: Option<&AuditRecord>,
    ) -> StoreResult<Option<i64>> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id = insert_dose!(tx, dose);
            if let Some(id) = id {
                if let Some(audit) = audit {
                    write_audit!(&mut *tx, audit, format!("vaccine_dose:{id}"));
                }
                tx.commit().await?;
            }
            Ok(id)
        })
    }

    /// Writes many doses in one transaction, each unless the person already has one of its kind
    /// (the demo's history); returns how many were written.
    pub async fn insert_vaccine_doses(&self, doses: &[DoseWrite]) -> StoreResult<u64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut written = 0;
            for dose in doses {
                written += u64::from(insert_dose!(tx, dose).is_some());
            }
            tx.commit().await?;
            Ok(written)
        })
    }

    /// The doses of one person, in series order.
    pub async fn vaccine_doses_of(&self, resident_id: i64) -> StoreResult<Vec<DoseRow>> {
        let sql = format!(
            "SELECT {DOSE_COLUMNS} FROM vaccine_doses WHERE resident_id = $1 ORDER BY given_on, id"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(resident_id).fetch_all(pool).await?
        }))
    }

    /// The newest doses recorded in a code range.
    pub async fn recent_vaccine_doses(
        &self,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<DoseRow>> {
        let sql = format!(
            "SELECT {DOSE_COLUMNS} FROM vaccine_doses WHERE grid_code >= $1 AND grid_code < $2 \
             ORDER BY id DESC LIMIT $3"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Keeps a contraindication (a second one for the same person and reason updates its end and
    /// note), with the audit record in the same transaction.
    pub async fn keep_contraindication(
        &self,
        c: &ContraindicationWrite,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO vaccine_contraindications (resident_id, grid_code, reason, until_day, \
                 note, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (resident_id, reason) DO UPDATE SET until_day = excluded.until_day, \
                 note = excluded.note, recorded_by = excluded.recorded_by, \
                 recorded_at = excluded.recorded_at RETURNING id",
            )
            .bind(c.resident_id)
            .bind(&c.grid_code)
            .bind(&c.reason)
            .bind(&c.until_day)
            .bind(&c.note)
            .bind(&c.recorded_by)
            .bind(c.recorded_at)
            .fetch_one(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit, format!("vaccine_contraindication:{id}"));
            tx.commit().await?;
            Ok(id)
        })
    }

    /// The contraindications of the people of a code range still in force on `today` (a
    /// postponing one until its day has passed).
    pub async fn contraindications_in(
        &self,
        range: (&str, &str),
        today: &str,
    ) -> StoreResult<Vec<ContraindicationRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT resident_id, reason, until_day, note FROM vaccine_contraindications \
                 WHERE grid_code >= $1 AND grid_code < $2 AND (until_day = '' OR until_day >= $3) \
                 ORDER BY resident_id, reason LIMIT 20000",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(today)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Coverage of a code range by child region (the first `child_len` characters of the grid
    /// code) and age band: the registered people of 3 and over, those with a first dose, a full
    /// course (a second dose, or a one-dose product's first) and a booster.
    pub async fn vaccination_coverage(
        &self,
        range: (&str, &str),
        child_len: usize,
        born_by: &BandCutoffs,
    ) -> StoreResult<Vec<CoverageRow>> {
        let single = VaccineProduct::single_dose_sql();
        let sql = format!(
            "SELECT substr(x.grid_code, 1, {child_len}) AS region_code, CAST(x.band AS BIGINT) AS band, \
             CAST(COUNT(*) AS BIGINT) AS people, CAST(SUM(x.f) AS BIGINT) AS first_dose, \
             CAST(SUM(x.c) AS BIGINT) AS full_course, CAST(SUM(x.b) AS BIGINT) AS booster FROM ( \
               SELECT r.grid_code, CASE WHEN r.birth_date <= $7 THEN 4 WHEN r.birth_date <= $6 THEN 3 \
                 WHEN r.birth_date <= $5 THEN 2 WHEN r.birth_date <= $4 THEN 1 ELSE 0 END AS band, \
                 CASE WHEN EXISTS (SELECT 1 FROM vaccine_doses d WHERE d.resident_id = r.id) \
                   THEN 1 ELSE 0 END AS f, \
                 CASE WHEN EXISTS (SELECT 1 FROM vaccine_doses d WHERE d.resident_id = r.id \
                   AND (d.dose_kind = 'second' OR (d.dose_kind = 'first' AND d.product IN {single}))) \
                   THEN 1 ELSE 0 END AS c, \
                 CASE WHEN EXISTS (SELECT 1 FROM vaccine_doses d WHERE d.resident_id = r.id \
                   AND d.dose_kind = 'booster') THEN 1 ELSE 0 END AS b \
               FROM residents r WHERE r.grid_code >= $1 AND r.grid_code < $2 AND r.birth_date <= $3 \
             ) x GROUP BY 1, 2 ORDER BY 1, 2"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(&born_by[0])
                .bind(&born_by[1])
                .bind(&born_by[2])
                .bind(&born_by[3])
                .bind(&born_by[4])
                .fetch_all(pool)
                .await?
        }))
    }

    /// The people of a code range born on or before `born_by` (60 and over) with no dose, oldest
    /// first (80 and over lead), a page of them and how many there are.
    pub async fn unvaccinated_elderly(
        &self,
        range: (&str, &str),
        born_by: &str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<UnvaccinatedRow>, i64)> {
        const FROM: &str = "FROM residents r WHERE r.grid_code >= $1 AND r.grid_code < $2 \
             AND r.birth_date <= $3 \
             AND NOT EXISTS (SELECT 1 FROM vaccine_doses d WHERE d.resident_id = r.id)";
        let rows_sql = format!(
            "SELECT r.id AS resident_id, r.name, r.id_type, r.id_number, r.birth_date, r.phone, \
             r.address, r.grid_code {FROM} ORDER BY r.grid_code, r.birth_date, r.id LIMIT $4 OFFSET $5"
        );
        let count_sql = format!("SELECT COUNT(*) {FROM}");
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query_as(AssertSqlSafe(rows_sql))
                .bind(range.0)
                .bind(range.1)
                .bind(born_by)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(AssertSqlSafe(count_sql))
                .bind(range.0)
                .bind(range.1)
                .bind(born_by)
                .fetch_one(pool)
                .await?;
            (rows, total)
        }))
    }
}
