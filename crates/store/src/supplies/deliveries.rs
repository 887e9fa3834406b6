//! Supplies: Deliveries (物资配送). Collection points with their slot plans, requests from sealed
//! and isolated households, and each step of a request with its time — a request and its first
//! step, an allocation's slots and steps, a step of the fulfilment: each one transaction with its
//! audit record.

use crate::bind::PushList;
use fangkong_domain::region::RegionCode;
use fangkong_domain::supplies::deliveries::{
    DeliveryCategory, DeliveryStatus, Eligibility, RequestChannel, Urgency,
};
use sqlx::{AssertSqlSafe, QueryBuilder};

use crate::audit::write_audit;
use crate::typed::{StoredCode, StoredRegion};
use crate::{AuditRecord, Store, StoreResult, with_pool};

/// A collection point (收货点) of a compound or village, with its slot plan.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct DeliveryPointRecord {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub address: String,
    pub first_start_minute: i64,
    pub slot_minutes: i64,
    pub slots_per_day: i64,
    pub capacity: i64,
    pub created_by: String,
    pub created_at: i64,
}

const POINT_COLUMNS: &str = "id, name, region_code, address, first_start_minute, slot_minutes, \
     slots_per_day, capacity, created_by, created_at";

/// A request. Holds personal data: `Debug` shows no name, phone or address.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct DeliveryRecord {
    pub id: i64,
    pub grid_code: String,
    pub household_number: String,
    pub resident_id: i64,
    pub name: String,
    pub phone: String,
    pub address: String,
    #[sqlx(try_from = "StoredCode<DeliveryCategory>")]
    pub category: DeliveryCategory,
    #[sqlx(try_from = "StoredCode<Urgency>")]
    pub urgency: Urgency,
    pub items: String,
    #[sqlx(try_from = "StoredCode<RequestChannel>")]
    pub channel: RequestChannel,
    #[sqlx(try_from = "StoredCode<Eligibility>")]
    pub eligibility: Eligibility,
    pub elderly_alone: bool,
    #[sqlx(try_from = "StoredCode<DeliveryStatus>")]
    pub status: DeliveryStatus,
    pub point_id: Option<i64>,
    pub slot_start: Option<i64>,
    pub courier: String,
    pub requested_at: i64,
    pub due_at: i64,
    pub updated_at: i64,
    pub created_by: String,
}

impl std::fmt::Debug for DeliveryRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryRecord")
            .field("id", &self.id)
            .field("grid_code", &self.grid_code)
            .field("category", &self.category)
            .field("status", &self.status)
            .field("eligibility", &self.eligibility)
            .finish_non_exhaustive()
    }
}

const DELIVERY_COLUMNS: &str = "id, grid_code, household_number, resident_id, name, phone, address, \
     category, urgency, items, channel, eligibility, elderly_alone, status, point_id, slot_start, \
     courier, requested_at, due_at, updated_at, created_by";

/// One recorded step of a request.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct DeliveryStepRecord {
    pub id: i64,
    pub request_id: i64,
    #[sqlx(try_from = "StoredCode<DeliveryStatus>")]
    pub status: DeliveryStatus,
    pub at: i64,
    pub by_user: String,
    pub note: String,
}

/// Requests per status in a subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct DeliveryCounts {
    pub requested: i64,
    pub allocated: i64,
    pub out: i64,
    pub delivered: i64,
    pub failed: i64,
    pub flagged_outside: i64,
    pub overdue: i64,
}

/// A slot given by an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotGiven {
    pub request_id: i64,
    pub point_id: i64,
    pub slot_start: i64,
}

/// The filter of a request list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// A status code, or empty for all.
    pub status: String,
    /// Only open requests past their due time at this instant.
    pub overdue_at: Option<i64>,
}

/// One step of the fulfilment to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepWrite {
    pub id: i64,
    /// The status the request must still have.
    pub from: String,
    pub to: String,
    /// The courier or volunteer (kept when `None`).
    pub courier: Option<String>,
    pub note: String,
    pub at: i64,
    pub by_user: String,
}

const OPEN: &str = "('requested', 'allocated', 'out')";

/// Inside [`with_pool!`]: writes request `$request` (a [`DeliveryRecord`]; its id and status are
/// ignored) and its first step, `requested`, in transaction `$tx`; evaluates to the new id.
macro_rules! insert_request {
    ($tx:expr, $request:expr) => {{
        let r: &DeliveryRecord = $request;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO delivery_requests (grid_code, household_number, resident_id, name, phone, address, \
             category, urgency, items, channel, eligibility, elderly_alone, status, requested_at, due_at, \
             updated_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'requested', \
             $13, $14, $13, $15) RETURNING id",
        )
        .bind(&r.grid_code)
        .bind(&r.household_number)
        .bind(r.resident_id)
        .bind(&r.name)
        .bind(&r.phone)
        .bind(&r.address)
        .bind(r.category.code())
        .bind(r.urgency.code())
        .bind(&r.items)
        .bind(r.channel.code())
        .bind(r.eligibility.code())
        .bind(r.elderly_alone)
        .bind(r.requested_at)
        .bind(r.due_at)
        .bind(&r.created_by)
        .fetch_one(&mut *$tx)
        .await?;
        sqlx::query(
            "INSERT INTO delivery_steps (request_id, status, at, by_user, note) VALUES ($1, 'requested', $2, $3, '')",
        )
        .bind(id)
        .bind(r.requested_at)
        .bind(&r.created_by)
        .execute(&mut *$tx)
        .await?;
        id
    }};
}

impl Store {
    pub async fn add_delivery_point(
        &self,
        p: &DeliveryPointRecord,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO delivery_points (name, region_code, address, first_start_minute, slot_minutes, \
                 slots_per_day, capacity, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 RETURNING id",
            )
            .bind(&p.name)
            .bind(p.region_code.as_str())
            .bind(&p.address)
            .bind(p.first_start_minute)
            .bind(p.slot_minutes)
            .bind(p.slots_per_day)
            .bind(p.capacity)
            .bind(&p.created_by)
            .bind(p.created_at)
            .fetch_one(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit, format!("delivery_point:{id}"));
            tx.commit().await?;
            Ok(id)
        })
    }

    /// The points in a code range, by region and name (at most 2,000).
    pub async fn delivery_points_in(
        &self,
        range: (&str, &str),
    ) -> StoreResult<Vec<DeliveryPointRecord>> {
        let sql = format!(
            "SELECT {POINT_COLUMNS} FROM delivery_points WHERE region_code >= $1 AND region_code < $2 \
             ORDER BY region_code, name, id LIMIT 2000"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(range.0).bind(range.1).fetch_all(pool).await?
        }))
    }

    /// The points whose region is exactly one of `codes` (a grid worker's village and township:
    /// points above their grid that serve it).
    pub async fn delivery_points_at(
        &self,
        codes: &[String],
    ) -> StoreResult<Vec<DeliveryPointRecord>> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        Ok(with_pool!(self, pool => {
            let mut builder = QueryBuilder::new(format!(
                "SELECT {POINT_COLUMNS} FROM delivery_points WHERE region_code IN "
            ));
            builder.push_list(codes.iter().take(10));
            builder.push(" ORDER BY region_code, name, id LIMIT 200");
            builder.build_query_as().fetch_all(pool).await?
        }))
    }

    /// A request and its first step (`requested`) with its audit record.
    pub async fn insert_delivery(
        &self,
        r: &DeliveryRecord,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id = insert_request!(tx, r);
            write_audit!(&mut *tx, audit, format!("delivery:{id}"));
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Many requests with their first steps in one transaction, without an audit record: the
    /// demo's and the benchmark's households (no user asked).
    pub async fn insert_deliveries_unchecked(&self, records: &[DeliveryRecord]) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for r in records {
                insert_request!(tx, r);
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn delivery(&self, id: i64) -> StoreResult<Option<DeliveryRecord>> {
        self.row_by(DELIVERY_COLUMNS, "delivery_requests", "id", id)
            .await
    }

    /// A household's requests, newest first (at most 100).
    pub async fn deliveries_of_household(
        &self,
        household: &str,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM delivery_requests WHERE household_number = $1 \
             ORDER BY id DESC LIMIT 100"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(household).fetch_all(pool).await?
        }))
    }

    /// The requests of a grid range by the filter, open ones due first, then the newest; and how
    /// many match in all.
    pub async fn deliveries_page(
        &self,
        range: (&str, &str),
        filter: &DeliveryFilter,
        offset: i64,
        limit: i64,
    ) -> StoreResult<(Vec<DeliveryRecord>, i64)> {
        let mut condition = String::from("grid_code >= $1 AND grid_code < $2");
        if !filter.status.is_empty() {
            condition.push_str(" AND status = $3");
        } else {
            condition.push_str(" AND CAST($3 AS TEXT) IS NOT NULL");
        }
        if filter.overdue_at.is_some() {
            condition.push_str(&format!(" AND status IN {OPEN} AND due_at < $4"));
        } else {
            condition.push_str(" AND CAST($4 AS BIGINT) IS NOT NULL");
        }
        let rows_sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM delivery_requests WHERE {condition} \
             ORDER BY CASE WHEN status IN {OPEN} THEN 0 ELSE 1 END, \
             CASE WHEN status IN {OPEN} THEN due_at ELSE -id END, id LIMIT $5 OFFSET $6"
        );
        let count_sql = format!("SELECT COUNT(*) FROM delivery_requests WHERE {condition}");
        let at = filter.overdue_at.unwrap_or(0);
        Ok(with_pool!(self, pool => {
            let rows: Vec<DeliveryRecord> = sqlx::query_as(AssertSqlSafe(rows_sql))
                .bind(range.0)
                .bind(range.1)
                .bind(&filter.status)
                .bind(at)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(AssertSqlSafe(count_sql))
                .bind(range.0)
                .bind(range.1)
                .bind(&filter.status)
                .bind(at)
                .fetch_one(pool)
                .await?;
            (rows, total)
        }))
    }

    /// Requests per status in a grid range, the flagged ones and the open ones past due at `now`.
    pub async fn delivery_counts(
        &self,
        range: (&str, &str),
        now: i64,
    ) -> StoreResult<DeliveryCounts> {
        let sql = format!(
            "SELECT status, COUNT(*), SUM(CASE WHEN eligibility = 'outside' THEN 1 ELSE 0 END), \
             SUM(CASE WHEN status IN {OPEN} AND due_at < $3 THEN 1 ELSE 0 END) \
             FROM delivery_requests WHERE grid_code >= $1 AND grid_code < $2 GROUP BY status"
        );
        let rows: Vec<(String, i64, i64, i64)> = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(range.0).bind(range.1).bind(now).fetch_all(pool).await?
        });
        let mut c = DeliveryCounts::default();
        for (status, n, outside, overdue) in rows {
            match status.as_str() {
                "requested" => c.requested = n,
                "allocated" => c.allocated = n,
                "out" => c.out = n,
                "delivered" => c.delivered = n,
                "failed" => c.failed = n,
                _ => {}
            }
            c.flagged_outside += outside;
            c.overdue += overdue;
        }
        Ok(c)
    }

    /// Open requests of a grid range due before `before`, soonest first (the late list).
    pub async fn deliveries_due(
        &self,
        range: (&str, &str),
        before: i64,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM delivery_requests WHERE grid_code >= $1 AND grid_code < $2 \
             AND status IN {OPEN} AND due_at < $3 ORDER BY due_at, id LIMIT $4"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(range.0).bind(range.1).bind(before).bind(limit)
                .fetch_all(pool).await?
        }))
    }

    /// Requests of a grid range still waiting for a slot, oldest first (at most `limit`).
    pub async fn deliveries_to_allocate(
        &self,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM delivery_requests WHERE grid_code >= $1 AND grid_code < $2 \
             AND status = 'requested' ORDER BY requested_at, id LIMIT $3"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(range.0).bind(range.1).bind(limit).fetch_all(pool).await?
        }))
    }

    /// How many open requests each (point, slot) holds from `from` on.
    pub async fn slot_loads(&self, from: i64) -> StoreResult<Vec<(i64, i64, i64)>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT point_id, slot_start, COUNT(*) FROM delivery_requests \
                 WHERE point_id IS NOT NULL AND slot_start >= $1 AND status IN ('allocated', 'out') \
                 GROUP BY point_id, slot_start",
            )
            .bind(from)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Writes an allocation: each request still `requested` gets its point and slot and a step,
    /// in one transaction with the audit record. Returns how many were written (a request that
    /// moved meanwhile is left alone).
    pub async fn allocate_deliveries(
        &self,
        given: &[SlotGiven],
        at: i64,
        by_user: &str,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut written = 0i64;
            for g in given {
                let done = sqlx::query(
                    "UPDATE delivery_requests SET status = 'allocated', point_id = $2, slot_start = $3, \
                     updated_at = $4 WHERE id = $1 AND status = 'requested'",
                )
                .bind(g.request_id)
                .bind(g.point_id)
                .bind(g.slot_start)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if done == 1 {
                    written += 1;
                    sqlx::query(
                        "INSERT INTO delivery_steps (request_id, status, at, by_user, note) \
                         VALUES ($1, 'allocated', $2, $3, '')",
                    )
                    .bind(g.request_id)
                    .bind(at)
                    .bind(by_user)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            write_audit!(&mut *tx, audit);
            tx.commit().await?;
            Ok(written)
        })
    }

    /// One step of the fulfilment: the status (only from `from`: a request that moved meanwhile is
    /// not changed, `false`), the courier when given, the step and the audit record.
    pub async fn step_delivery(&self, step: &StepWrite, audit: &AuditRecord) -> StoreResult<bool> {
        let StepWrite {
            id,
            from,
            to,
            courier,
            note,
            at,
            by_user,
        } = step;
        let (id, at) = (*id, *at);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE delivery_requests SET status = $3, courier = COALESCE($4, courier), updated_at = $5 \
                 WHERE id = $1 AND status = $2",
            )
            .bind(id)
            .bind(from)
            .bind(to)
            .bind(courier)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done != 1 {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO delivery_steps (request_id, status, at, by_user, note) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(to)
            .bind(at)
            .bind(by_user)
            .bind(note)
            .execute(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit, format!("delivery:{id}"));
            tx.commit().await?;
            Ok(true)
        })
    }

    /// The steps of some requests, in order.
    pub async fn delivery_steps(&self, ids: &[i64]) -> StoreResult<Vec<DeliveryStepRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(with_pool!(self, pool => {
            let mut builder = QueryBuilder::new(
                "SELECT id, request_id, status, at, by_user, note FROM delivery_steps WHERE request_id IN ",
            );
            builder.push_list(ids.iter().take(500).copied());
            builder.push(" ORDER BY request_id, id");
            builder.build_query_as().fetch_all(pool).await?
        }))
    }
}
