//! Regions (the administrative hierarchy plus fangkong's grids), grid workers and per-grid counts.

use crate::bind::PushList;
use sqlx::{AssertSqlSafe, QueryBuilder};

use fangkong_domain::personal::PersonName;
use fangkong_domain::phone::PhoneNumber;

use crate::typed::StoredPhone;
use crate::{Store, StoreResult, with_pool};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RegionRecord {
    pub code: String,
    pub name: String,
    pub level: i64,
    pub parent_code: Option<String>,
    pub is_community: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct GridWorkerRecord {
    pub grid_code: String,
    #[sqlx(try_from = "String")]
    pub name: PersonName,
    #[sqlx(try_from = "StoredPhone")]
    pub phone: Option<PhoneNumber>,
    pub username: Option<String>,
}

/// Population counts of one region (or of one child of a region), summed from `grid_stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct ChildCount {
    pub code: String,
    pub residents: i64,
    pub households: i64,
    pub grids: i64,
}

const REGION_COLUMNS: &str = "code, name, level, parent_code, is_community";

impl Store {
    /// Inserts regions that are not there yet (existing codes are left alone, so loading twice is a no-op).
    pub async fn insert_regions(&self, regions: &[RegionRecord]) -> StoreResult<u64> {
        let mut inserted = 0;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in regions.chunks(1000) {
                let mut builder = QueryBuilder::new(format!("INSERT INTO regions ({REGION_COLUMNS}) "));
                builder.push_values(chunk, |mut row, region| {
                    row.push_bind(&region.code)
                        .push_bind(region.name.as_str())
                        .push_bind(region.level)
                        .push_bind(&region.parent_code)
                        .push_bind(region.is_community);
                });
                builder.push(" ON CONFLICT (code) DO NOTHING");
                inserted += builder.build().execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
        });
        Ok(inserted)
    }

    pub async fn count_regions(&self) -> StoreResult<i64> {
        let count: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM regions").fetch_one(pool).await?
        });
        Ok(count)
    }

    pub async fn region(&self, code: &str) -> StoreResult<Option<RegionRecord>> {
        self.row_by(REGION_COLUMNS, "regions", "code", code).await
    }

    /// The named regions in code order (unknown codes are simply absent).
    pub async fn regions_by_codes(&self, codes: &[String]) -> StoreResult<Vec<RegionRecord>> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let regions = with_pool!(self, pool => {
            let mut builder = QueryBuilder::new(format!("SELECT {REGION_COLUMNS} FROM regions WHERE code IN "));
            builder.push_list(codes.iter());
            builder.push(" ORDER BY code");
            builder.build_query_as().fetch_all(pool).await?
        });
        Ok(regions)
    }

    pub async fn region_children(&self, code: &str) -> StoreResult<Vec<RegionRecord>> {
        let sql =
            format!("SELECT {REGION_COLUMNS} FROM regions WHERE parent_code = $1 ORDER BY code");
        let children = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(code).fetch_all(pool).await?
        });
        Ok(children)
    }

    /// Regions of one level whose name contains `text`, inside the code range (jurisdiction).
    pub async fn find_regions_by_name(
        &self,
        text: &str,
        subtree: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<RegionRecord>> {
        let sql = format!(
            "SELECT {REGION_COLUMNS} FROM regions WHERE code >= $1 AND code < $2 AND name LIKE $3 \
             ORDER BY level, code LIMIT $4"
        );
        let pattern = format!("%{text}%");
        let regions = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(subtree.0)
                .bind(subtree.1)
                .bind(&pattern)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(regions)
    }

    /// Codes of every grid in the code range `[lower, upper)`.
    pub async fn grid_codes_in(&self, lower: &str, upper: &str) -> StoreResult<Vec<String>> {
        let codes = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT code FROM regions WHERE level = 5 AND code >= $1 AND code < $2")
                .bind(lower)
                .bind(upper)
                .fetch_all(pool)
                .await?
        });
        Ok(codes)
    }

    /// Villages and communities (level 4) in the code range, for the population generator.
    pub async fn villages_in(&self, lower: &str, upper: &str) -> StoreResult<Vec<RegionRecord>> {
        let sql = format!(
            "SELECT {REGION_COLUMNS} FROM regions WHERE level = 4 AND code >= $1 AND code < $2 ORDER BY code"
        );
        let villages = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(lower).bind(upper).fetch_all(pool).await?
        });
        Ok(villages)
    }

    /// Counts per child of a region: `child_code_len` is the length of the children's codes.
    /// Reads only `grid_stats` (one row per grid), never the residents table.
    pub async fn child_counts(
        &self,
        subtree: (&str, &str),
        child_code_len: i64,
    ) -> StoreResult<Vec<ChildCount>> {
        let counts = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT substr(grid_code, 1, CAST($3 AS INTEGER)) AS code, \
                        CAST(SUM(residents) AS BIGINT) AS residents, \
                        CAST(SUM(households) AS BIGINT) AS households, \
                        COUNT(*) AS grids \
                 FROM grid_stats WHERE grid_code >= $1 AND grid_code < $2 \
                 GROUP BY 1 ORDER BY 1",
            )
            .bind(subtree.0)
            .bind(subtree.1)
            .bind(child_code_len)
            .fetch_all(pool)
            .await?
        });
        Ok(counts)
    }

    /// Totals of a whole subtree.
    pub async fn subtree_counts(
        &self,
        code: &str,
        subtree: (&str, &str),
    ) -> StoreResult<ChildCount> {
        let (residents, households, grids): (Option<i64>, Option<i64>, i64) = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT CAST(SUM(residents) AS BIGINT), CAST(SUM(households) AS BIGINT), COUNT(*) \
                 FROM grid_stats WHERE grid_code >= $1 AND grid_code < $2",
            )
            .bind(subtree.0)
            .bind(subtree.1)
            .fetch_one(pool)
            .await?
        });
        Ok(ChildCount {
            code: code.to_string(),
            residents: residents.unwrap_or(0),
            households: households.unwrap_or(0),
            grids,
        })
    }

    /// Creates grids (regions of level 5) with their workers and an empty `grid_stats` row.
    pub async fn insert_grids(
        &self,
        grids: &[RegionRecord],
        workers: &[GridWorkerRecord],
    ) -> StoreResult<()> {
        self.insert_regions(grids).await?;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in grids.chunks(1000) {
                let mut builder = QueryBuilder::new("INSERT INTO grid_stats (grid_code, residents, households) ");
                builder.push_values(chunk, |mut row, grid| {
                    row.push_bind(&grid.code).push_bind(0_i64).push_bind(0_i64);
                });
                builder.push(" ON CONFLICT (grid_code) DO NOTHING");
                builder.build().execute(&mut *tx).await?;
            }
            for chunk in workers.chunks(1000) {
                let mut builder = QueryBuilder::new("INSERT INTO grid_workers (grid_code, name, phone, username) ");
                builder.push_values(chunk, |mut row, worker| {
                    row.push_bind(&worker.grid_code)
                        .push_bind(worker.name.as_str())
                        .push_bind(worker.phone.as_ref().map_or("", PhoneNumber::as_str))
                        .push_bind(&worker.username);
                });
                builder.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn grid_workers(&self, grid_code: &str) -> StoreResult<Vec<GridWorkerRecord>> {
        let workers = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT grid_code, name, phone, username FROM grid_workers WHERE grid_code = $1 ORDER BY id",
            )
            .bind(grid_code)
            .fetch_all(pool)
            .await?
        });
        Ok(workers)
    }
}
