//! Supplies: Gatherings (聚集性活动). A filing with its participants and its audit record in one
//! transaction; a decision only while the filing still waits.

use fangkong_domain::region::RegionCode;
use fangkong_domain::supplies::gatherings::{ApprovalLevel, GatheringKind, GatheringStatus};

use crate::audit::write_audit;
use crate::rows::RangePage;
use crate::typed::{StoredCode, StoredRegion};
use crate::{AuditRecord, Store, StoreResult, with_pool};

/// A filing. Holds the organiser's phone: `Debug` shows no name or phone.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct GatheringRecord {
    pub id: i64,
    #[sqlx(try_from = "StoredRegion")]
    pub region_code: RegionCode,
    pub place: String,
    #[sqlx(try_from = "StoredCode<GatheringKind>")]
    pub kind: GatheringKind,
    pub title: String,
    pub organiser: String,
    pub organiser_phone: String,
    pub size: i64,
    pub tables: i64,
    pub event_date: String,
    #[sqlx(try_from = "StoredCode<ApprovalLevel>")]
    pub level: ApprovalLevel,
    #[sqlx(try_from = "StoredCode<GatheringStatus>")]
    pub status: GatheringStatus,
    pub decision: String,
    pub decided_by: String,
    pub decided_at: Option<i64>,
    pub filed_by: String,
    pub filed_at: i64,
}

impl std::fmt::Debug for GatheringRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatheringRecord")
            .field("id", &self.id)
            .field("region_code", &self.region_code)
            .field("kind", &self.kind)
            .field("size", &self.size)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

const GATHERING_COLUMNS: &str = "id, region_code, place, kind, title, organiser, organiser_phone, \
     size, tables, event_date, level, status, decision, decided_by, decided_at, filed_by, filed_at";

impl Store {
    /// A filing, its participants (type, number) and the audit record.
    pub async fn file_gathering(
        &self,
        g: &GatheringRecord,
        participants: &[(String, String)],
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO gatherings (region_code, place, kind, title, organiser, organiser_phone, size, tables, \
                 event_date, level, status, decision, decided_by, decided_at, filed_by, filed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
            )
            .bind(g.region_code.as_str())
            .bind(&g.place)
            .bind(g.kind.code())
            .bind(&g.title)
            .bind(&g.organiser)
            .bind(&g.organiser_phone)
            .bind(g.size)
            .bind(g.tables)
            .bind(&g.event_date)
            .bind(g.level.code())
            .bind(g.status.code())
            .bind(&g.decision)
            .bind(&g.decided_by)
            .bind(g.decided_at)
            .bind(&g.filed_by)
            .bind(g.filed_at)
            .fetch_one(&mut *tx)
            .await?;
            for (id_type, id_number) in participants {
                sqlx::query(
                    "INSERT INTO gathering_participants (gathering_id, id_type, id_number) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(id_type)
                .bind(id_number)
                .execute(&mut *tx)
                .await?;
            }
            write_audit!(&mut *tx, audit, format!("gathering:{id}"));
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn gathering(&self, id: i64) -> StoreResult<Option<GatheringRecord>> {
        self.row_by(GATHERING_COLUMNS, "gatherings", "id", id).await
    }

    /// The filings of a code range, newest event first (at most `limit`), and how many in all.
    pub async fn gatherings_in(
        &self,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<(Vec<GatheringRecord>, i64)> {
        let page = RangePage {
            column: "region_code",
            range,
            order: "CASE WHEN status = 'filed' THEN 0 ELSE 1 END, event_date DESC, id DESC",
            limit,
            offset: 0,
        };
        self.range_page(GATHERING_COLUMNS, "gatherings", page).await
    }

    /// A filing's participants (type, number), at most 2,000.
    pub async fn gathering_participants(&self, id: i64) -> StoreResult<Vec<(String, String)>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id_type, id_number FROM gathering_participants WHERE gathering_id = $1 \
                 ORDER BY id_number LIMIT 2000",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Decides a filing still waiting (`false` when it was decided meanwhile), with the audit.
    pub async fn decide_gathering(
        &self,
        id: i64,
        status: &str,
        words: &str,
        by: &str,
        at: i64,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE gatherings SET status = $2, decision = $3, decided_by = $4, decided_at = $5 \
                 WHERE id = $1 AND status = 'filed'",
            )
            .bind(id)
            .bind(status)
            .bind(words)
            .bind(by)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done != 1 {
                return Ok(false);
            }
            write_audit!(&mut *tx, audit, format!("gathering:{id}"));
            tx.commit().await?;
            Ok(true)
        })
    }
}
