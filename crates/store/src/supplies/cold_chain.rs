//! Supplies: cold-chain goods (see `app::supplies::cold_chain`). Batches, their movements down
//! the chain, their tests (a retried sample writes nothing), the alerts a positive raised per
//! region, and the cold-chain workers of the places a batch reached.

use fangkong_domain::personal::{DocumentNumber, PersonName};
use fangkong_domain::region::RegionCode;
use fangkong_domain::supplies::cold_chain::{ChainNode, SampleKind, SampleResult};
use sqlx::AssertSqlSafe;

use crate::audit::write_audit;
use crate::typed::{StoredCode, StoredRegion};
use crate::{AuditRecord, Store, StoreResult, with_pool};

/// A batch as registered.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct BatchRecord {
    pub id: i64,
    pub batch_no: String,
    pub goods: String,
    pub origin_country: String,
    pub port: String,
    pub quantity: i64,
    pub certificate_no: String,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub created_by: String,
    pub created_at: i64,
}

const BATCH_COLUMNS: &str = "id, batch_no, goods, origin_country, port, quantity, certificate_no, \
     region_code, created_by, created_at";

/// A movement down the chain.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct MovementRecord {
    pub id: i64,
    pub batch_id: i64,
    #[sqlx(try_from = "StoredCode<ChainNode>")]
    pub node: ChainNode,
    pub place: String,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub quantity: i64,
    pub moved_on: String,
    pub handlers: String,
}

/// A sample's result, with the alerts it raised (`alerts`: how many regions).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct TestRecord {
    pub id: i64,
    pub batch_id: i64,
    pub sample_no: String,
    #[sqlx(try_from = "StoredCode<SampleKind>")]
    pub kind: SampleKind,
    #[sqlx(try_from = "StoredCode<SampleResult>")]
    pub result: SampleResult,
    pub sampled_on: String,
    pub alerts: i64,
}

/// A cold-chain worker registered in a place the batch reached (masked by the name's type).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HandlerRow {
    pub resident_id: i64,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    pub id_type: String,
    #[sqlx(try_from = "String")]
    pub id_number: DocumentNumber,
    pub grid_code: String,
}

impl Store {
    /// Registers a batch with its audit record; `None` when the batch number is taken.
    pub async fn register_cold_chain_batch(
        &self,
        b: &BatchRecord,
        audit: &AuditRecord,
    ) -> StoreResult<Option<i64>> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO cold_chain_batches (batch_no, goods, origin_country, port, quantity, \
                 certificate_no, region_code, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (batch_no) DO NOTHING RETURNING id",
            )
            .bind(&b.batch_no)
            .bind(&b.goods)
            .bind(&b.origin_country)
            .bind(&b.port)
            .bind(b.quantity)
            .bind(&b.certificate_no)
            .bind(b.region_code.as_str())
            .bind(&b.created_by)
            .bind(b.created_at)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = id {
                write_audit!(&mut *tx, audit, format!("cold_chain_batch:{id}"));
                tx.commit().await?;
            }
            Ok(id)
        })
    }

    pub async fn cold_chain_batch(&self, id: i64) -> StoreResult<Option<BatchRecord>> {
        self.row_by(BATCH_COLUMNS, "cold_chain_batches", "id", id)
            .await
    }

    /// The batches registered in a code range or that reached a place in it (the back trace from
    /// a market), newest first.
    pub async fn cold_chain_batches_in(
        &self,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<BatchRecord>> {
        let sql = format!(
            "SELECT {BATCH_COLUMNS} FROM cold_chain_batches b WHERE (b.region_code >= $1 AND b.region_code < $2) \
             OR EXISTS (SELECT 1 FROM cold_chain_movements m WHERE m.batch_id = b.id \
               AND m.region_code >= $1 AND m.region_code < $2) ORDER BY b.id DESC LIMIT $3"
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

    /// Records a movement with its audit record.
    pub async fn record_cold_chain_movement(
        &self,
        m: &MovementRecord,
        created_by: &str,
        at: i64,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO cold_chain_movements (batch_id, node, place, region_code, quantity, \
                 moved_on, handlers, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 RETURNING id",
            )
            .bind(m.batch_id)
            .bind(m.node.code())
            .bind(&m.place)
            .bind(m.region_code.as_str())
            .bind(m.quantity)
            .bind(&m.moved_on)
            .bind(&m.handlers)
            .bind(created_by)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit, format!("cold_chain_batch:{}", m.batch_id));
            tx.commit().await?;
            Ok(id)
        })
    }

    /// A batch's movements in the order they happened (the forward trace).
    pub async fn cold_chain_movements(&self, batch_id: i64) -> StoreResult<Vec<MovementRecord>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, batch_id, node, place, region_code, quantity, moved_on, handlers \
                 FROM cold_chain_movements WHERE batch_id = $1 ORDER BY moved_on, id",
            )
            .bind(batch_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Records a sample's result with its audit record; `(id, new)`: a retried sample number
    /// writes nothing and answers the first one's id.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_cold_chain_test(
        &self,
        batch_id: i64,
        sample_no: &str,
        kind: &str,
        result: &str,
        sampled_on: &str,
        created_by: &str,
        at: i64,
        audit: &AuditRecord,
    ) -> StoreResult<(i64, bool)> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO cold_chain_tests (batch_id, sample_no, kind, result, sampled_on, \
                 created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (batch_id, sample_no) DO NOTHING RETURNING id",
            )
            .bind(batch_id)
            .bind(sample_no)
            .bind(kind)
            .bind(result)
            .bind(sampled_on)
            .bind(created_by)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?;
            let answer = match id {
                Some(id) => {
                    write_audit!(&mut *tx, audit, format!("cold_chain_test:{id}"));
                    (id, true)
                }
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "SELECT id FROM cold_chain_tests WHERE batch_id = $1 AND sample_no = $2",
                    )
                    .bind(batch_id)
                    .bind(sample_no)
                    .fetch_one(&mut *tx)
                    .await?;
                    (id, false)
                }
            };
            tx.commit().await?;
            Ok(answer)
        })
    }

    /// A batch's tests with how many alerts each raised.
    pub async fn cold_chain_tests(&self, batch_id: i64) -> StoreResult<Vec<TestRecord>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT t.id, t.batch_id, t.sample_no, t.kind, t.result, t.sampled_on, \
                 CAST((SELECT COUNT(*) FROM cold_chain_test_alerts a WHERE a.test_id = t.id) AS BIGINT) AS alerts \
                 FROM cold_chain_tests t WHERE t.batch_id = $1 ORDER BY t.sampled_on, t.id",
            )
            .bind(batch_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The regions a positive test already raised its alert in.
    pub async fn cold_chain_test_alert_regions(&self, test_id: i64) -> StoreResult<Vec<String>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT region_code FROM cold_chain_test_alerts WHERE test_id = $1 ORDER BY region_code",
            )
            .bind(test_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Keeps the alert a positive test raised in a region (once per test and region).
    pub async fn link_cold_chain_alert(
        &self,
        test_id: i64,
        region_code: &str,
        alert_id: i64,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO cold_chain_test_alerts (test_id, region_code, alert_id) \
                 VALUES ($1, $2, $3) ON CONFLICT (test_id, region_code) DO NOTHING",
            )
            .bind(test_id)
            .bind(region_code)
            .bind(alert_id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The cold-chain workers (key group `cold_chain`) registered under any of `regions`.
    pub async fn cold_chain_workers_in(&self, regions: &[String]) -> StoreResult<Vec<HandlerRow>> {
        let mut found = Vec::new();
        for region in regions.iter().take(20) {
            let upper = format!("{region}:");
            let rows: Vec<HandlerRow> = with_pool!(self, pool => {
                sqlx::query_as(
                    "SELECT id AS resident_id, name, id_type, id_number, grid_code FROM residents \
                     WHERE grid_code >= $1 AND grid_code < $2 AND key_groups LIKE '%cold_chain%' \
                     ORDER BY grid_code, id LIMIT 200",
                )
                .bind(region)
                .bind(&upper)
                .fetch_all(pool)
                .await?
            });
            for r in rows {
                if !found
                    .iter()
                    .any(|f: &HandlerRow| f.resident_id == r.resident_id)
                {
                    found.push(r);
                }
            }
        }
        Ok(found)
    }
}
