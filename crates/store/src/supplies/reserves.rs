//! Supplies: Reserves (物资储备). Warehouses, the stock on hand moved in the transaction of each
//! ledger line (a line that would leave less than nothing rolls the whole command back), the
//! typed daily rates, the support requests between regions with their dispatch and receipt, and
//! the sums by region the days of cover read (from the stocks, or recomputed from the ledger).

use fangkong_domain::region::RegionCode;
use fangkong_domain::supplies::reserves::{MovementKind, OwnerKind, SupportStatus};
use sqlx::AssertSqlSafe;

use crate::audit::write_audit;
use crate::rows::Row;
use crate::typed::{StoredCode, StoredRegion};
use crate::{AuditRecord, Store, StoreError, StoreResult, begin_locked, with_pool};

/// Serialises the reserves' writers on PostgreSQL (SQLite's BEGIN IMMEDIATE does it there).
const RESERVES_LOCK: i64 = 140_142;

/// One warehouse (储备库).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct WarehouseRecord {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    #[sqlx(try_from = "StoredCode<OwnerKind>")]
    pub owner_kind: OwnerKind,
    pub owner_name: String,
    pub created_by: String,
    pub created_at: i64,
}

const WAREHOUSE_COLUMNS: &str =
    "id, name, region_code, owner_kind, owner_name, created_by, created_at";

/// One ledger line to write. `incoming` marks the receiving side of a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementWrite {
    pub warehouse_id: i64,
    pub region_code: String,
    pub item_code: String,
    pub kind: String,
    pub quantity: i64,
    pub incoming: bool,
    pub counterpart_id: Option<i64>,
    pub note: String,
}

/// A ledger line as the ledger shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct MovementRow {
    pub id: i64,
    pub warehouse_id: i64,
    pub warehouse_name: String,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub item_code: String,
    #[sqlx(try_from = "StoredCode<MovementKind>")]
    pub kind: MovementKind,
    pub delta: i64,
    pub on_hand_after: i64,
    pub counterpart_id: Option<i64>,
    pub support_request_id: Option<i64>,
    pub note: String,
    pub at: i64,
    pub created_by: String,
}

/// One warehouse's stock of one item (储备清单).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct StockRow {
    pub warehouse_id: i64,
    pub warehouse_name: String,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    #[sqlx(try_from = "StoredCode<OwnerKind>")]
    pub owner_kind: OwnerKind,
    pub item_code: String,
    pub on_hand: i64,
    pub updated_at: i64,
}

/// A sum per (region prefix, item).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RegionItemSum {
    pub code: String,
    pub item_code: String,
    pub n: i64,
}

/// A sum per region prefix (the modules' work).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RegionSum {
    pub code: String,
    pub a: i64,
    pub b: i64,
}

/// A daily rate typed for an item in a region.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RateRecord {
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub item_code: String,
    pub daily: i64,
    pub note: String,
    pub set_by: String,
    pub set_at: i64,
}

/// A request for support between regions.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct SupportRecord {
    pub id: i64,
    #[sqlx(try_from = "StoredRegion")]
    pub asker_region: RegionCode,
    #[sqlx(try_from = "StoredRegion")]
    pub giver_region: RegionCode,
    pub item_code: String,
    pub quantity: i64,
    pub to_warehouse_id: i64,
    pub from_warehouse_id: Option<i64>,
    #[sqlx(try_from = "StoredCode<SupportStatus>")]
    pub status: SupportStatus,
    pub reason: String,
    pub answer: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub dispatched_at: Option<i64>,
    pub received_at: Option<i64>,
}

const SUPPORT_COLUMNS: &str = "id, asker_region, giver_region, item_code, quantity, to_warehouse_id, \
     from_warehouse_id, status, reason, answer, requested_by, requested_at, decided_by, decided_at, \
     dispatched_at, received_at";

/// A step of a support request written with its ledger line: the status it must be in, the one
/// it goes to, and the answer or the dispatching warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportStep {
    pub id: i64,
    pub from_status: String,
    pub to_status: String,
    pub by: String,
    pub at: i64,
    pub answer: Option<String>,
    pub from_warehouse_id: Option<i64>,
}

/// Inside a transaction: locks each line's stock row (creating it at 0), asks `delta` for the
/// change, refuses (returns the reason) when the stock would go below zero, else writes the line
/// and the stock. Evaluates to `Result<Vec<i64>, String>` (the new line ids, or the reason).
macro_rules! apply_lines {
    ($tx:expr, $lines:expr, $delta:expr, $at:expr, $by:expr, $support:expr) => {{
        let mut ids: Vec<i64> = Vec::new();
        let mut refused: Option<String> = None;
        for line in $lines {
            let on_hand: i64 = sqlx::query_scalar(
                "INSERT INTO reserve_stocks (warehouse_id, item_code, region_code, on_hand, updated_at) \
                 VALUES ($1, $2, $3, 0, $4) ON CONFLICT (warehouse_id, item_code) \
                 DO UPDATE SET updated_at = excluded.updated_at RETURNING on_hand",
            )
            .bind(line.warehouse_id)
            .bind(&line.item_code)
            .bind(&line.region_code)
            .bind($at)
            .fetch_one(&mut *$tx)
            .await?;
            let change: i64 = match ($delta)(line, on_hand) {
                Ok(change) => change,
                Err(why) => {
                    refused = Some(why);
                    break;
                }
            };
            let after = on_hand + change;
            if after < 0 {
                refused = Some("库存不能小于零".to_string());
                break;
            }
            sqlx::query(
                "UPDATE reserve_stocks SET on_hand = $3, updated_at = $4 \
                 WHERE warehouse_id = $1 AND item_code = $2",
            )
            .bind(line.warehouse_id)
            .bind(&line.item_code)
            .bind(after)
            .bind($at)
            .execute(&mut *$tx)
            .await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO reserve_movements (warehouse_id, region_code, item_code, kind, delta, \
                 on_hand_after, counterpart_id, support_request_id, note, at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(line.warehouse_id)
            .bind(&line.region_code)
            .bind(&line.item_code)
            .bind(&line.kind)
            .bind(change)
            .bind(after)
            .bind(line.counterpart_id)
            .bind($support)
            .bind(&line.note)
            .bind($at)
            .bind($by)
            .fetch_one(&mut *$tx)
            .await?;
            ids.push(id);
        }
        match refused {
            Some(why) => Err(why),
            None => Ok(ids),
        }
    }};
}

impl Store {
    /// Registers a warehouse with its audit record; `None` when the region has one of that name.
    pub async fn create_warehouse(
        &self,
        w: &WarehouseRecord,
        audit: &AuditRecord,
    ) -> StoreResult<Option<i64>> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO reserve_warehouses (name, region_code, owner_kind, owner_name, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (region_code, name) DO NOTHING RETURNING id",
            )
            .bind(&w.name)
            .bind(w.region_code.as_str())
            .bind(w.owner_kind.code())
            .bind(&w.owner_name)
            .bind(&w.created_by)
            .bind(w.created_at)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                write_audit!(&mut *tx, audit, format!("warehouse:{id}"));
                tx.commit().await?;
            }
            Ok(id)
        })
    }

    pub async fn warehouse(&self, id: i64) -> StoreResult<Option<WarehouseRecord>> {
        self.row_by(WAREHOUSE_COLUMNS, "reserve_warehouses", "id", id)
            .await
    }

    /// The warehouses in a code range, by region and name (at most 2,000).
    pub async fn warehouses_in(&self, range: (&str, &str)) -> StoreResult<Vec<WarehouseRecord>> {
        let sql = format!(
            "SELECT {WAREHOUSE_COLUMNS} FROM reserve_warehouses WHERE region_code >= $1 AND region_code < $2 \
             ORDER BY region_code, name, id LIMIT 2000"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(range.0).bind(range.1).fetch_all(pool).await?
        }))
    }

    /// Writes ledger lines (one command: all or none) with the audit record. `delta` gives each
    /// line's change from the stock on hand, or why it is refused; a refusal writes nothing and
    /// is returned as `Ok(Err(reason))`.
    pub async fn record_movements(
        &self,
        lines: &[MovementWrite],
        delta: impl Fn(&MovementWrite, i64) -> Result<i64, String>,
        at: i64,
        by: &str,
        audit: Option<&AuditRecord>,
    ) -> StoreResult<Result<Vec<i64>, String>> {
        with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, RESERVES_LOCK);
            let written = apply_lines!(tx, lines, &delta, at, by, None::<i64>);
            let ids = match written {
                Ok(ids) => ids,
                Err(why) => return Ok(Err(why)),
            };
            if let Some(audit) = audit {
                let target = ids.first().map(|id| format!("reserve_movement:{id}")).unwrap_or_default();
                write_audit!(&mut *tx, audit, target);
            }
            tx.commit().await?;
            Ok(Ok(ids))
        })
    }

    /// The stock of one warehouse and item (0 when never moved).
    pub async fn stock_on_hand(&self, warehouse_id: i64, item: &str) -> StoreResult<i64> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>(
                "SELECT on_hand FROM reserve_stocks WHERE warehouse_id = $1 AND item_code = $2",
            )
            .bind(warehouse_id)
            .bind(item)
            .fetch_optional(pool)
            .await?
            .unwrap_or(0)
        }))
    }

    /// The stocks of a code range, by region, warehouse and item (the reserve list; at most
    /// `limit`).
    pub async fn stocks_in(&self, range: (&str, &str), limit: i64) -> StoreResult<Vec<StockRow>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.warehouse_id, w.name AS warehouse_name, s.region_code, w.owner_kind, s.item_code, \
                 s.on_hand, s.updated_at FROM reserve_stocks s JOIN reserve_warehouses w ON w.id = s.warehouse_id \
                 WHERE s.region_code >= $1 AND s.region_code < $2 \
                 ORDER BY s.region_code, w.name, s.warehouse_id, s.item_code LIMIT $3",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Stock on hand per (region prefix of `len` characters, item) in a code range.
    pub async fn stock_by_region(
        &self,
        range: (&str, &str),
        len: i64,
    ) -> StoreResult<Vec<RegionItemSum>> {
        self.region_sums(
            "SELECT substr(region_code, 1, CAST($3 AS INTEGER)) AS code, item_code, CAST(SUM(on_hand) AS BIGINT) AS n \
             FROM reserve_stocks WHERE region_code >= $1 AND region_code < $2 GROUP BY 1, 2",
            range,
            len,
            None,
        )
        .await
    }

    /// The same sums recomputed from the ledger (every line since the first, summed per warehouse
    /// and item over the covering index): the benchmark's and the audit's way.
    pub async fn ledger_by_region(
        &self,
        range: (&str, &str),
        len: i64,
    ) -> StoreResult<Vec<RegionItemSum>> {
        self.region_sums(
            "SELECT substr(w.region_code, 1, CAST($3 AS INTEGER)) AS code, l.item_code, \
             CAST(SUM(l.n) AS BIGINT) AS n FROM ( \
               SELECT warehouse_id, item_code, SUM(delta) AS n FROM reserve_movements \
               WHERE warehouse_id IN (SELECT id FROM reserve_warehouses \
                 WHERE region_code >= $1 AND region_code < $2) \
               GROUP BY warehouse_id, item_code \
             ) l JOIN reserve_warehouses w ON w.id = l.warehouse_id GROUP BY 1, 2",
            range,
            len,
            None,
        )
        .await
    }

    /// Consumption per (region prefix, item) since `since` (the ledger's recent use).
    pub async fn consumption_by_region(
        &self,
        range: (&str, &str),
        len: i64,
        since: i64,
    ) -> StoreResult<Vec<RegionItemSum>> {
        self.region_sums(
            "SELECT substr(region_code, 1, CAST($3 AS INTEGER)) AS code, item_code, CAST(-SUM(delta) AS BIGINT) AS n \
             FROM reserve_movements WHERE at >= $4 AND kind = 'consumption' \
             AND substr(region_code, 1, length($1)) = $1 AND CAST($2 AS TEXT) IS NOT NULL GROUP BY 1, 2",
            range,
            len,
            Some(since),
        )
        .await
    }

    /// Tubes bound (`a`) and people in them (`b`) since `since`, per region prefix.
    pub async fn tubes_by_region(
        &self,
        range: (&str, &str),
        len: i64,
        since: i64,
    ) -> StoreResult<Vec<RegionSum>> {
        self.region_sums(
            "SELECT substr(region_code, 1, CAST($3 AS INTEGER)) AS code, COUNT(*) AS a, \
             CAST(COALESCE(SUM(members), 0) AS BIGINT) AS b FROM tubes \
             WHERE region_code >= $1 AND region_code < $2 AND opened_at >= $4 GROUP BY 1",
            range,
            len,
            Some(since),
        )
        .await
    }

    /// Samplers at the sites of open rounds (`a`) and occupied isolation rooms (`b`), per region
    /// prefix.
    pub async fn reserve_load_by_region(
        &self,
        range: (&str, &str),
        len: i64,
    ) -> StoreResult<Vec<RegionSum>> {
        self.region_sums(
            "SELECT code, CAST(SUM(a) AS BIGINT) AS a, CAST(SUM(b) AS BIGINT) AS b FROM ( \
               SELECT substr(s.region_code, 1, CAST($3 AS INTEGER)) AS code, s.staff_count AS a, 0 AS b \
               FROM sampling_sites s JOIN test_rounds r ON r.id = s.round_id \
               WHERE r.closed_at IS NULL AND s.region_code >= $1 AND s.region_code < $2 \
               UNION ALL SELECT substr(i.region_code, 1, CAST($3 AS INTEGER)), 0, 1 \
               FROM isolation_rooms m JOIN isolation_sites i ON i.id = m.site_id \
               WHERE m.status = 'occupied' AND i.region_code >= $1 AND i.region_code < $2 \
             ) l GROUP BY code",
            range,
            len,
            None,
        )
        .await
    }

    /// Sums per region prefix: `sql` binds the code range as `$1`, `$2`, the prefix length as `$3`
    /// and, when given, `since` as `$4`.
    async fn region_sums<R: Row>(
        &self,
        sql: &'static str,
        range: (&str, &str),
        len: i64,
        since: Option<i64>,
    ) -> StoreResult<Vec<R>> {
        Ok(with_pool!(self, pool => {
            let mut query = sqlx::query_as(sql).bind(range.0).bind(range.1).bind(len);
            if let Some(since) = since {
                query = query.bind(since);
            }
            query.fetch_all(pool).await?
        }))
    }

    /// Sets (or replaces) a typed daily rate, with its audit record.
    pub async fn set_reserve_rate(&self, r: &RateRecord, audit: &AuditRecord) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO reserve_rates (region_code, item_code, daily, note, set_by, set_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (region_code, item_code) DO UPDATE SET \
                 daily = excluded.daily, note = excluded.note, set_by = excluded.set_by, set_at = excluded.set_at",
            )
            .bind(r.region_code.as_str())
            .bind(&r.item_code)
            .bind(r.daily)
            .bind(&r.note)
            .bind(&r.set_by)
            .bind(r.set_at)
            .execute(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit);
            tx.commit().await?;
            Ok(())
        })
    }

    /// The typed rates in a code range.
    pub async fn reserve_rates_in(&self, range: (&str, &str)) -> StoreResult<Vec<RateRecord>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT region_code, item_code, daily, note, set_by, set_at FROM reserve_rates \
                 WHERE region_code >= $1 AND region_code < $2 ORDER BY region_code, item_code LIMIT 5000",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The ledger of a code range, newest first: a page and the total (optionally one item or
    /// one warehouse).
    pub async fn movements_in(
        &self,
        range: (&str, &str),
        item: Option<&str>,
        warehouse: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<MovementRow>, i64)> {
        let filter = "m.region_code >= $1 AND m.region_code < $2 \
             AND ($3 = '' OR m.item_code = $3) AND ($4 = 0 OR m.warehouse_id = $4)";
        let rows_sql = format!(
            "SELECT m.id, m.warehouse_id, w.name AS warehouse_name, m.region_code, m.item_code, m.kind, \
             m.delta, m.on_hand_after, m.counterpart_id, m.support_request_id, m.note, m.at, m.created_by \
             FROM reserve_movements m JOIN reserve_warehouses w ON w.id = m.warehouse_id \
             WHERE {filter} ORDER BY m.id DESC LIMIT $5 OFFSET $6"
        );
        let count_sql = format!("SELECT COUNT(*) FROM reserve_movements m WHERE {filter}");
        let item = item.unwrap_or("");
        let warehouse = warehouse.unwrap_or(0);
        Ok(with_pool!(self, pool => {
            let rows = sqlx::query_as(AssertSqlSafe(rows_sql))
                .bind(range.0).bind(range.1).bind(item).bind(warehouse).bind(limit).bind(offset)
                .fetch_all(pool).await?;
            let total: i64 = sqlx::query_scalar(AssertSqlSafe(count_sql))
                .bind(range.0).bind(range.1).bind(item).bind(warehouse)
                .fetch_one(pool).await?;
            (rows, total)
        }))
    }

    /// Files a support request with its audit record.
    pub async fn create_support_request(
        &self,
        r: &SupportRecord,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO reserve_support_requests (asker_region, giver_region, item_code, quantity, \
                 to_warehouse_id, status, reason, requested_by, requested_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(r.asker_region.as_str())
            .bind(r.giver_region.as_str())
            .bind(&r.item_code)
            .bind(r.quantity)
            .bind(r.to_warehouse_id)
            .bind(r.status.code())
            .bind(&r.reason)
            .bind(&r.requested_by)
            .bind(r.requested_at)
            .fetch_one(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit, format!("support_request:{id}"));
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn support_request(&self, id: i64) -> StoreResult<Option<SupportRecord>> {
        self.row_by(SUPPORT_COLUMNS, "reserve_support_requests", "id", id)
            .await
    }

    /// The support requests asked by or of a region in the range, newest first (at most 500).
    pub async fn support_requests_touching(
        &self,
        range: (&str, &str),
    ) -> StoreResult<Vec<SupportRecord>> {
        let sql = format!(
            "SELECT {SUPPORT_COLUMNS} FROM reserve_support_requests \
             WHERE (asker_region >= $1 AND asker_region < $2) OR (giver_region >= $1 AND giver_region < $2) \
             ORDER BY id DESC LIMIT 500"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(range.0).bind(range.1).fetch_all(pool).await?
        }))
    }

    /// A step of a support request, with its ledger lines (none for a decision) and its audit
    /// record, in one transaction. `Ok(Err(reason))`: refused (the status moved on meanwhile, or
    /// a line would leave less than nothing); nothing written.
    pub async fn step_support_request(
        &self,
        step: &SupportStep,
        lines: &[MovementWrite],
        delta: impl Fn(&MovementWrite, i64) -> Result<i64, String>,
        audit: &AuditRecord,
    ) -> StoreResult<Result<(), String>> {
        with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, RESERVES_LOCK);
            let moved = sqlx::query(
                "UPDATE reserve_support_requests SET status = $3, \
                 answer = COALESCE($4, answer), from_warehouse_id = COALESCE($5, from_warehouse_id), \
                 decided_by = CASE WHEN $3 IN ('approved', 'refused') THEN $6 ELSE decided_by END, \
                 decided_at = CASE WHEN $3 IN ('approved', 'refused') THEN $7 ELSE decided_at END, \
                 dispatched_at = CASE WHEN $3 = 'dispatched' THEN $7 ELSE dispatched_at END, \
                 received_at = CASE WHEN $3 = 'received' THEN $7 ELSE received_at END \
                 WHERE id = $1 AND status = $2",
            )
            .bind(step.id)
            .bind(&step.from_status)
            .bind(&step.to_status)
            .bind(step.answer.as_deref())
            .bind(step.from_warehouse_id)
            .bind(&step.by)
            .bind(step.at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved != 1 {
                return Ok(Err("该支援申请的状态已变化，请刷新后再办理".to_string()));
            }
            if let Err(why) = apply_lines!(tx, lines, &delta, step.at, &step.by, Some(step.id)) {
                return Ok(Err(why));
            }
            write_audit!(&mut *tx, audit);
            tx.commit().await?;
            Ok(Ok(()))
        })
    }
}

/// One ledger line of the benchmark's bulk load (no audit: a tool's load, like the demo's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedLine {
    pub warehouse_id: i64,
    pub region_code: String,
    pub item_code: String,
    pub kind: &'static str,
    pub delta: i64,
    pub on_hand_after: i64,
    pub at: i64,
}

/// Lines per multi-row insert of the bulk load (9 parameters a line).
const LINES_PER_STATEMENT: usize = 1_000;

impl Store {
    /// The benchmark's bulk load: ledger lines written in one transaction per call, without
    /// touching the stocks ([`Store::bench_settle_reserve_stocks`] sets them after the last call).
    pub async fn bench_load_reserve_ledger(
        &self,
        lines: &[LoadedLine],
        by: &str,
    ) -> StoreResult<u64> {
        with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, RESERVES_LOCK);
            for chunk in lines.chunks(LINES_PER_STATEMENT) {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO reserve_movements (warehouse_id, region_code, item_code, kind, delta, \
                     on_hand_after, note, at, created_by) ",
                );
                insert.push_values(chunk, |mut row, l| {
                    row.push_bind(l.warehouse_id)
                        .push_bind(&l.region_code)
                        .push_bind(&l.item_code)
                        .push_bind(l.kind)
                        .push_bind(l.delta)
                        .push_bind(l.on_hand_after)
                        .push_bind("")
                        .push_bind(l.at)
                        .push_bind(by);
                });
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(lines.len() as u64)
        })
    }

    /// After a bulk load: every stock set to the sum of its ledger lines (so the audit holds).
    pub async fn bench_settle_reserve_stocks(&self) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, RESERVES_LOCK);
            sqlx::query(
                "INSERT INTO reserve_stocks (warehouse_id, item_code, region_code, on_hand, updated_at) \
                 SELECT warehouse_id, item_code, MIN(region_code), CAST(SUM(delta) AS BIGINT), MAX(at) \
                 FROM reserve_movements WHERE true GROUP BY warehouse_id, item_code \
                 ON CONFLICT (warehouse_id, item_code) DO UPDATE SET on_hand = excluded.on_hand, \
                 updated_at = excluded.updated_at",
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        // Fresh statistics and (PostgreSQL) the visibility map, so the sums read the covering
        // index only, as on a database that has been running.
        match self {
            Store::Sqlite(pool) => {
                sqlx::query("ANALYZE reserve_movements")
                    .execute(pool)
                    .await?;
            }
            Store::Postgres(pool) => {
                sqlx::query("VACUUM ANALYZE reserve_movements")
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }
}
