//! Early warning: pharmacies (see `app::warning::pharmacies`). The registry, the real-name sales
//! written in chunks — each chunk one transaction with the buyers' test requirements, the
//! per-pharmacy day counters and the `pharmacy_purchase` code facts with the codes they cause —
//! the requirements' pass (met, or overdue into a lead), the buyer-positive sentinel event, and the
//! counters' sums.

use std::collections::{BTreeMap, HashMap};

use sqlx::QueryBuilder;

use fangkong_domain::person_event;
use fangkong_domain::personal::DocumentNumber;
use fangkong_domain::region::RegionCode;
use fangkong_domain::warning::pharmacies::{DrugClass, RequirementStatus, SaleChannel};

use super::DayCount;
use crate::audit::write_audit;
use crate::health_code::{
    CODE_WRITER_LOCK, FACT_COLUMNS, ROWS_PER_STATEMENT, apply_fact_changes, facts_of_people,
    negatives_of_people, registered_grids, save_codes,
};
use crate::typed::{StoredCode, StoredOptionalCode, StoredRegion};
use crate::{
    AuditRecord, CodePerson, CodeWrite, FactRecord, FactUpdate, FactWrite, HealthCodeRecord, Store,
    StoreResult, begin_locked, with_pool,
};

/// One registered pharmacy.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct PharmacyRecord {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub licence_no: String,
    pub created_by: String,
    pub created_at: i64,
}

const PHARMACY_COLUMNS: &str = "id, name, region_code, licence_no, created_by, created_at";

/// A sale to write. `due_at` is the buyer's test deadline when the sale sets a requirement (a
/// valid ID); `None` for a flagged sale. Holds personal data: `Debug` shows no name, ID or phone.
#[derive(Clone)]
pub struct SaleWrite {
    pub pharmacy_id: i64,
    pub region_code: String,
    pub sale_key: String,
    pub sold_at: i64,
    pub day: String,
    pub drug_code: String,
    pub drug_class: String,
    pub quantity: i64,
    pub buyer_name: String,
    pub id_type: String,
    pub id_number: String,
    pub phone: String,
    pub id_flag: String,
    pub channel: String,
    pub due_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
}

impl std::fmt::Debug for SaleWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaleWrite")
            .field("pharmacy_id", &self.pharmacy_id)
            .field("sale_key", &self.sale_key)
            .field("sold_at", &self.sold_at)
            .field("drug_code", &self.drug_code)
            .field("flagged", &!self.id_flag.is_empty())
            .finish_non_exhaustive()
    }
}

/// What a chunk of sales wrote: per sale given, its new id (`None`: already recorded, nothing
/// written), and the codes the new facts caused.
#[derive(Debug, Clone, Default)]
pub struct SalesWritten {
    pub ids: Vec<Option<i64>>,
    pub codes: Vec<HealthCodeRecord>,
}

/// A sale as the lists show it (personal data masked by the app's views).
#[derive(Clone, sqlx::FromRow, serde::Serialize)]
pub struct SaleRow {
    pub id: i64,
    pub pharmacy_id: i64,
    pub pharmacy_name: String,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub sale_key: String,
    pub sold_at: i64,
    pub drug_code: String,
    #[sqlx(try_from = "StoredCode<DrugClass>")]
    pub drug_class: DrugClass,
    pub quantity: i64,
    pub buyer_name: String,
    pub id_type: String,
    pub id_number: String,
    pub phone: String,
    pub id_flag: String,
    #[sqlx(try_from = "StoredCode<SaleChannel>")]
    pub channel: SaleChannel,
    /// The requirement's status ('' for a flagged sale) and deadline.
    #[sqlx(try_from = "StoredOptionalCode<RequirementStatus>")]
    pub status: Option<RequirementStatus>,
    pub due_at: Option<i64>,
    pub lead_id: Option<i64>,
}

impl std::fmt::Debug for SaleRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaleRow")
            .field("id", &self.id)
            .field("pharmacy_id", &self.pharmacy_id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

const SALE_ROW_SELECT: &str = "SELECT s.id, s.pharmacy_id, p.name AS pharmacy_name, s.region_code, s.sale_key, \
     s.sold_at, s.drug_code, s.drug_class, s.quantity, s.buyer_name, s.id_type, s.id_number, s.phone, s.id_flag, \
     s.channel, COALESCE(r.status, '') AS status, r.due_at, r.lead_id \
     FROM pharmacy_sales s JOIN pharmacies p ON p.id = s.pharmacy_id \
     LEFT JOIN pharmacy_test_requirements r ON r.sale_id = s.id";

/// An open requirement the pass looks at, with the earliest negative sample since the sale.
#[derive(Clone, sqlx::FromRow)]
pub struct OpenRequirement {
    pub sale_id: i64,
    pub pharmacy_id: i64,
    pub pharmacy_name: String,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub day: String,
    pub sold_at: i64,
    pub due_at: i64,
    pub drug_code: String,
    pub buyer_name: String,
    pub id_type: String,
    pub id_number: String,
    pub phone: String,
    pub first_negative: Option<i64>,
}

impl std::fmt::Debug for OpenRequirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenRequirement")
            .field("sale_id", &self.sale_id)
            .field("due_at", &self.due_at)
            .finish_non_exhaustive()
    }
}

/// A buyer's sale in the monitoring window of their positive.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BuyerSale {
    pub sale_id: i64,
    pub pharmacy_name: String,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub sold_at: i64,
}

/// A pharmacy with its counters (the commander's list).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct PharmacyCounts {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub licence_no: String,
    pub sales_today: i64,
    pub flagged_today: i64,
    pub sales_total: i64,
    pub awaiting: i64,
    pub overdue: i64,
}

/// A region's pharmacy figures of one day, for the picture and the daily report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sqlx::FromRow, serde::Serialize)]
pub struct PharmacyDayFigures {
    /// Sales reported that day.
    pub sales: i64,
    /// Of them, with an ID that is not valid (accepted and flagged).
    pub flagged_ids: i64,
    /// Buyers still awaiting their test now (all days).
    pub awaiting_test: i64,
    /// Buyers not tested in time whose sale became a lead that day.
    pub overdue_to_leads: i64,
}

/// Adds to a (pharmacy, day) counter row: sales, flagged, requirements, met, overdue, leads.
const BUMP_DAY: &str = "INSERT INTO pharmacy_day_counts (pharmacy_id, region_code, day, sales, flagged_ids, \
     requirements, met, overdue, leads) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (pharmacy_id, day) DO UPDATE SET sales = pharmacy_day_counts.sales + excluded.sales, \
     flagged_ids = pharmacy_day_counts.flagged_ids + excluded.flagged_ids, \
     requirements = pharmacy_day_counts.requirements + excluded.requirements, \
     met = pharmacy_day_counts.met + excluded.met, overdue = pharmacy_day_counts.overdue + excluded.overdue, \
     leads = pharmacy_day_counts.leads + excluded.leads";

/// Rows per multi-row sale insert (18 parameters a row).
const SALES_PER_STATEMENT: usize = 400;

macro_rules! bump_day {
    ($tx:expr, $pharmacy:expr, $region:expr, $day:expr, [$sales:expr, $flagged:expr, $req:expr, $met:expr, $over:expr, $leads:expr]) => {
        sqlx::query(BUMP_DAY)
            .bind($pharmacy)
            .bind($region)
            .bind($day)
            .bind($sales)
            .bind($flagged)
            .bind($req)
            .bind($met)
            .bind($over)
            .bind($leads)
            .execute(&mut *$tx)
            .await?
    };
}

impl Store {
    /// Registers a pharmacy with its audit record; `None` when the licence number is registered
    /// already (nothing written).
    pub async fn register_pharmacy(
        &self,
        p: &PharmacyRecord,
        audit: &AuditRecord,
    ) -> StoreResult<Option<i64>> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO pharmacies (name, region_code, licence_no, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (licence_no) DO NOTHING RETURNING id",
            )
            .bind(&p.name)
            .bind(p.region_code.as_str())
            .bind(&p.licence_no)
            .bind(&p.created_by)
            .bind(p.created_at)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                write_audit!(&mut *tx, audit, format!("pharmacy:{id}"));
                tx.commit().await?;
            }
            Ok(id)
        })
    }

    pub async fn pharmacy(&self, id: i64) -> StoreResult<Option<PharmacyRecord>> {
        self.row_by(PHARMACY_COLUMNS, "pharmacies", "id", id).await
    }

    pub async fn pharmacy_by_licence(&self, licence: &str) -> StoreResult<Option<PharmacyRecord>> {
        self.row_by(PHARMACY_COLUMNS, "pharmacies", "licence_no", licence)
            .await
    }

    /// The pharmacies in a code range, by name.
    pub async fn pharmacies_in(&self, range: (&str, &str)) -> StoreResult<Vec<PharmacyRecord>> {
        let sql = format!(
            "SELECT {PHARMACY_COLUMNS} FROM pharmacies WHERE region_code >= $1 AND region_code < $2 \
             ORDER BY name, id LIMIT 2000"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Writes a chunk of sales in one transaction under the code writer's lock: each new sale (a
    /// sale whose (pharmacy, key) is stored already is skipped and writes nothing), its buyer's
    /// test requirement, the day counters, and — for a buyer with a valid ID — the
    /// `pharmacy_purchase` fact with the code `compute` gives (as in [`Store::change_facts`]).
    /// `audit` (a user's single sale, an upload's chunk) commits with them.
    pub async fn record_pharmacy_sales<F>(
        &self,
        sales: &[SaleWrite],
        now: i64,
        compute: F,
        audit: Option<&AuditRecord>,
    ) -> StoreResult<SalesWritten>
    where
        F: Fn(&CodePerson, &[FactRecord], &[i64]) -> CodeWrite,
    {
        let mut written = SalesWritten {
            ids: vec![None; sales.len()],
            codes: Vec::new(),
        };
        if sales.is_empty() {
            return Ok(written);
        }
        // One row of a (pharmacy, key) within the chunk: the first is written, a repeat is a retry.
        let mut position: HashMap<(i64, &str), usize> = HashMap::with_capacity(sales.len());
        for (i, s) in sales.iter().enumerate() {
            position
                .entry((s.pharmacy_id, s.sale_key.as_str()))
                .or_insert(i);
        }
        with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, CODE_WRITER_LOCK);
            for chunk in sales.chunks(SALES_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO pharmacy_sales (pharmacy_id, region_code, sale_key, sold_at, day, drug_code, \
                     drug_class, quantity, buyer_name, id_type, id_number, phone, id_flag, channel, created_by, \
                     created_at) ",
                );
                builder.push_values(chunk, |mut b, s| {
                    b.push_bind(s.pharmacy_id)
                        .push_bind(&s.region_code)
                        .push_bind(&s.sale_key)
                        .push_bind(s.sold_at)
                        .push_bind(&s.day)
                        .push_bind(&s.drug_code)
                        .push_bind(&s.drug_class)
                        .push_bind(s.quantity)
                        .push_bind(&s.buyer_name)
                        .push_bind(&s.id_type)
                        .push_bind(&s.id_number)
                        .push_bind(&s.phone)
                        .push_bind(&s.id_flag)
                        .push_bind(&s.channel)
                        .push_bind(&s.created_by)
                        .push_bind(s.created_at);
                });
                builder.push(" ON CONFLICT (pharmacy_id, sale_key) DO NOTHING RETURNING id, pharmacy_id, sale_key");
                let rows: Vec<(i64, i64, String)> =
                    builder.build_query_as().fetch_all(&mut *tx).await?;
                for (id, pharmacy_id, key) in rows {
                    if let Some(&i) = position.get(&(pharmacy_id, key.as_str())) {
                        written.ids[i] = Some(id);
                    }
                }
            }
            let new: Vec<(i64, &SaleWrite)> = written
                .ids
                .iter()
                .zip(sales)
                .filter_map(|(id, s)| id.map(|id| (id, s)))
                .collect();
            let with_requirement: Vec<&(i64, &SaleWrite)> =
                new.iter().filter(|(_, s)| s.due_at.is_some()).collect();
            for chunk in with_requirement.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO pharmacy_test_requirements (sale_id, pharmacy_id, region_code, id_type, id_number, \
                     sold_at, due_at, status) ",
                );
                builder.push_values(chunk, |mut b, (id, s)| {
                    b.push_bind(*id)
                        .push_bind(s.pharmacy_id)
                        .push_bind(&s.region_code)
                        .push_bind(&s.id_type)
                        .push_bind(&s.id_number)
                        .push_bind(s.sold_at)
                        .push_bind(s.due_at)
                        .push_bind("awaiting");
                });
                builder.build().execute(&mut *tx).await?;
            }
            let mut days: BTreeMap<(i64, &str, &str), [i64; 3]> = BTreeMap::new();
            for (_, s) in &new {
                let counts = days
                    .entry((s.pharmacy_id, s.region_code.as_str(), s.day.as_str()))
                    .or_default();
                counts[0] += 1;
                counts[1] += i64::from(!s.id_flag.is_empty());
                counts[2] += i64::from(s.due_at.is_some());
            }
            for ((pharmacy, region, day), [n, flagged, req]) in days {
                bump_day!(tx, pharmacy, region, day, [n, flagged, req, 0_i64, 0_i64, 0_i64]);
            }
            let facts: Vec<FactWrite> = with_requirement
                .iter()
                .map(|(id, s)| FactWrite {
                    fact_key: format!("pharmacy_sale:{id}"),
                    person: CodePerson {
                        id_type: s.id_type.clone(),
                        id_number: DocumentNumber::from(s.id_number.as_str()),
                    },
                    resident_id: None,
                    grid_code: s.region_code.clone(),
                    kind: fangkong_domain::health_code::FactKind::PharmacyPurchase,
                    anchor: s.sold_at,
                    ended_at: None,
                    colour: None,
                    note: None,
                    source: format!("pharmacy_sale:{id}"),
                    created_by: s.created_by.clone(),
                })
                .collect();
            if !facts.is_empty() {
                let no_updates: &[FactUpdate] = &[];
                written.codes =
                    apply_fact_changes!(tx, facts.as_slice(), no_updates, "药店购药实名登记", now, compute);
            }
            if let Some(audit) = audit {
                write_audit!(&mut *tx, audit);
            }
            tx.commit().await?;
        });
        Ok(written)
    }

    /// Open requirements that are due by `now` or already met by a negative sample since the sale,
    /// oldest deadline first.
    pub async fn pharmacy_requirements_to_close(
        &self,
        now: i64,
        limit: i64,
    ) -> StoreResult<Vec<OpenRequirement>> {
        let sql = "SELECT * FROM (SELECT r.sale_id, r.pharmacy_id, p.name AS pharmacy_name, r.region_code, s.day, \
             r.sold_at, r.due_at, s.drug_code, s.buyer_name, r.id_type, r.id_number, s.phone, \
             (SELECT MIN(x.sampled_at) FROM samples x JOIN tubes t ON t.barcode = x.tube_barcode \
              WHERE x.id_number = r.id_number AND x.id_type = r.id_type AND t.result = 'negative' \
              AND x.sampled_at >= r.sold_at) AS first_negative \
             FROM pharmacy_test_requirements r JOIN pharmacy_sales s ON s.id = r.sale_id \
             JOIN pharmacies p ON p.id = r.pharmacy_id WHERE r.status = 'awaiting') q \
             WHERE q.due_at <= $1 OR q.first_negative IS NOT NULL ORDER BY q.due_at, q.sale_id LIMIT $2";
        Ok(with_pool!(self, pool => {
            sqlx::query_as(sql).bind(now).bind(limit).fetch_all(pool).await?
        }))
    }

    /// Closes an open requirement as met (tested at `tested_at`); false when it was closed before.
    pub async fn pharmacy_requirement_met(
        &self,
        req: &OpenRequirement,
        tested_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE pharmacy_test_requirements SET status = 'tested', tested_at = $2, closed_at = $3 \
                 WHERE sale_id = $1 AND status = 'awaiting'",
            )
            .bind(req.sale_id)
            .bind(tested_at)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                bump_day!(tx, req.pharmacy_id, req.region_code.as_str(), &req.day, [0_i64, 0_i64, 0_i64, 1_i64, 0_i64, 0_i64]);
                tx.commit().await?;
            }
            Ok(done)
        })
    }

    /// The lead made from a sale (its `source_key`), if one was made.
    pub async fn lead_id_by_source_key(&self, key: &str) -> StoreResult<Option<i64>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM leads WHERE source_key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Closes an open requirement as overdue with the lead made for it (counted on `lead_day`);
    /// false when it was closed before.
    pub async fn pharmacy_requirement_overdue(
        &self,
        req: &OpenRequirement,
        lead_id: i64,
        now: i64,
        lead_day: &str,
    ) -> StoreResult<bool> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE pharmacy_test_requirements SET status = 'overdue', lead_id = $2, closed_at = $3 \
                 WHERE sale_id = $1 AND status = 'awaiting'",
            )
            .bind(req.sale_id)
            .bind(lead_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                bump_day!(tx, req.pharmacy_id, req.region_code.as_str(), &req.day, [0_i64, 0_i64, 0_i64, 0_i64, 1_i64, 0_i64]);
                bump_day!(tx, req.pharmacy_id, req.region_code.as_str(), lead_day, [0_i64, 0_i64, 0_i64, 0_i64, 0_i64, 1_i64]);
                tx.commit().await?;
            }
            Ok(done)
        })
    }

    /// A buyer's sales at or after `since` whose positive has not been passed on.
    pub async fn pharmacy_sales_of_buyer(
        &self,
        id_type: &str,
        id_number: &str,
        since: i64,
    ) -> StoreResult<Vec<BuyerSale>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.id AS sale_id, p.name AS pharmacy_name, s.region_code, s.sold_at \
                 FROM pharmacy_sales s JOIN pharmacies p ON p.id = s.pharmacy_id \
                 WHERE s.id_number = $1 AND s.id_type = $2 AND s.sold_at >= $3 AND s.positive_at IS NULL \
                 AND s.id_flag = '' ORDER BY s.sold_at LIMIT 100",
            )
            .bind(id_number)
            .bind(id_type)
            .bind(since)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Passes a buyer's positive on once per sale: marks the sale and writes the
    /// `SENTINEL_POSITIVE` person event (`detail`, source `pharmacy_sale:<id>`) in one
    /// transaction. False when this sale's positive was passed on before (nothing written).
    #[allow(clippy::too_many_arguments)]
    pub async fn record_pharmacy_buyer_positive(
        &self,
        sale_id: i64,
        at: i64,
        id_type: &str,
        id_number: &str,
        resident_id: Option<i64>,
        grid_code: &str,
        detail: &str,
    ) -> StoreResult<bool> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE pharmacy_sales SET positive_at = $2 WHERE id = $1 AND positive_at IS NULL",
            )
            .bind(sale_id)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                sqlx::query(
                    "INSERT INTO person_events (at, kind, id_type, id_number, resident_id, grid_code, source, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(at)
                .bind(person_event::SENTINEL_POSITIVE)
                .bind(id_type)
                .bind(id_number)
                .bind(resident_id)
                .bind(grid_code)
                .bind(format!("pharmacy_sale:{sale_id}"))
                .bind(detail)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }
            Ok(done)
        })
    }

    /// Sales per (pharmacy's region code, Beijing day), days ≥ `since_day`, region codes starting
    /// with `region_prefix` — from the day counters, never counting sales.
    pub async fn pharmacy_sale_day_counts(
        &self,
        region_prefix: &str,
        since_day: &str,
    ) -> StoreResult<Vec<DayCount>> {
        let rows: Vec<(String, String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT region_code, day, CAST(SUM(sales) AS BIGINT) FROM pharmacy_day_counts \
                 WHERE substr(region_code, 1, length($1)) = $1 AND day >= $2 \
                 GROUP BY region_code, day HAVING SUM(sales) > 0 ORDER BY day, region_code",
            )
            .bind(region_prefix)
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

    /// A region's pharmacy figures of `day` (Beijing, `YYYY-MM-DD`), from the day counters.
    pub async fn pharmacy_day_figures(
        &self,
        region_prefix: &str,
        day: &str,
    ) -> StoreResult<PharmacyDayFigures> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(CASE WHEN day = $2 THEN sales ELSE 0 END), 0) AS BIGINT) AS sales, \
                 CAST(COALESCE(SUM(CASE WHEN day = $2 THEN flagged_ids ELSE 0 END), 0) AS BIGINT) AS flagged_ids, \
                 CAST(COALESCE(SUM(requirements - met - overdue), 0) AS BIGINT) AS awaiting_test, \
                 CAST(COALESCE(SUM(CASE WHEN day = $2 THEN leads ELSE 0 END), 0) AS BIGINT) AS overdue_to_leads \
                 FROM pharmacy_day_counts WHERE substr(region_code, 1, length($1)) = $1",
            )
            .bind(region_prefix)
            .bind(day)
            .fetch_one(pool)
            .await?
        }))
    }

    /// The pharmacies of a code range with their counters (today's sales and flagged IDs, all
    /// sales, buyers awaiting a test, buyers overdue).
    pub async fn pharmacy_counts_in(
        &self,
        range: (&str, &str),
        today: &str,
    ) -> StoreResult<Vec<PharmacyCounts>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT p.id, p.name, p.region_code, p.licence_no, \
                 CAST(COALESCE(SUM(CASE WHEN c.day = $3 THEN c.sales ELSE 0 END), 0) AS BIGINT) AS sales_today, \
                 CAST(COALESCE(SUM(CASE WHEN c.day = $3 THEN c.flagged_ids ELSE 0 END), 0) AS BIGINT) AS flagged_today, \
                 CAST(COALESCE(SUM(c.sales), 0) AS BIGINT) AS sales_total, \
                 CAST(COALESCE(SUM(c.requirements - c.met - c.overdue), 0) AS BIGINT) AS awaiting, \
                 CAST(COALESCE(SUM(c.overdue), 0) AS BIGINT) AS overdue \
                 FROM pharmacies p LEFT JOIN pharmacy_day_counts c ON c.pharmacy_id = p.id \
                 WHERE p.region_code >= $1 AND p.region_code < $2 \
                 GROUP BY p.id, p.name, p.region_code, p.licence_no ORDER BY p.name, p.id LIMIT 2000",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(today)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Sales of a code range: `status` '' = the newest of every kind, `flagged` = IDs not valid,
    /// `awaiting` / `overdue` = buyers by their requirement (oldest deadline first).
    pub async fn pharmacy_sales_in(
        &self,
        range: (&str, &str),
        status: &str,
        pharmacy_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<SaleRow>> {
        let (filter, order) = match status {
            "flagged" => (
                " AND s.id_flag <> '' AND $5 = 'flagged'",
                "s.sold_at DESC, s.id DESC",
            ),
            "awaiting" | "overdue" | "tested" => (" AND r.status = $5", "r.due_at, s.id"),
            _ => (" AND $5 = ''", "s.sold_at DESC, s.id DESC"),
        };
        let sql = format!(
            "{SALE_ROW_SELECT} WHERE s.region_code >= $1 AND s.region_code < $2 \
             AND ($3 = 0 OR s.pharmacy_id = $3){filter} ORDER BY {order} LIMIT $4"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(pharmacy_id.unwrap_or(0))
                .bind(limit)
                .bind(status)
                .fetch_all(pool)
                .await?
        }))
    }
}
