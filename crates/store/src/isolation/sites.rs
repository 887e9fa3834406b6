//! Isolation sites and rooms: sites, room blocks, room states, allocation (all or nothing), check-in.

use super::*;
use crate::bind::PushList;

impl Store {
    /// A site and its audit record (target: `isolation_site:<new id>`), in one transaction.
    pub async fn insert_isolation_site(
        &self,
        site: &IsolationSiteRecord,
        audit: &crate::AuditRecord,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO isolation_sites (name, region_code, address, readiness, staff_count, note, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(&site.name)
            .bind(site.region_code.as_str())
            .bind(&site.address)
            .bind(site.readiness.code())
            .bind(site.staff_count)
            .bind(&site.note)
            .bind(site.created_at)
            .bind(&site.created_by)
            .fetch_one(&mut *tx)
            .await?;
            crate::audit::write_audit!(&mut *tx, audit, format!("isolation_site:{id}"));
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn isolation_site(&self, id: i64) -> StoreResult<Option<IsolationSiteRecord>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, name, region_code, address, readiness, staff_count, note, created_at, created_by \
                 FROM isolation_sites WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Sites of the subtree with their rooms counted by status, in name order.
    pub async fn isolation_sites(
        &self,
        range: (&str, &str),
    ) -> StoreResult<Vec<IsolationSiteSummary>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.id, s.name, s.region_code, s.address, s.readiness, s.staff_count, \
                 COUNT(r.id) AS rooms, \
                 COALESCE(SUM(CASE WHEN r.status = 'free' THEN 1 ELSE 0 END), 0) AS free, \
                 COALESCE(SUM(CASE WHEN r.status = 'occupied' THEN 1 ELSE 0 END), 0) AS occupied, \
                 COALESCE(SUM(CASE WHEN r.status = 'cleaning' THEN 1 ELSE 0 END), 0) AS cleaning, \
                 COALESCE(SUM(CASE WHEN r.status = 'maintenance' THEN 1 ELSE 0 END), 0) AS maintenance \
                 FROM isolation_sites s LEFT JOIN isolation_rooms r ON r.site_id = s.id \
                 WHERE s.region_code >= $1 AND s.region_code < $2 \
                 GROUP BY s.id, s.name, s.region_code, s.address, s.readiness, s.staff_count ORDER BY s.name, s.id",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Rooms and free rooms of the sites per child region of the subtree.
    pub async fn rooms_by_region(
        &self,
        range: (&str, &str),
        child_len: i64,
    ) -> StoreResult<Vec<RegionRooms>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT substr(s.region_code, 1, CAST($3 AS INTEGER)) AS code, COUNT(r.id) AS rooms, \
                 COALESCE(SUM(CASE WHEN r.status = 'free' THEN 1 ELSE 0 END), 0) AS free \
                 FROM isolation_sites s JOIN isolation_rooms r ON r.site_id = s.id \
                 WHERE s.region_code >= $1 AND s.region_code < $2 GROUP BY 1 ORDER BY 1",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(child_len)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Adds rooms (building, floor, number) to a site; numbers the site has already are skipped.
    /// The audit record says how many were added (`{added}` in its detail is replaced by the
    /// count) and commits with them.
    pub async fn insert_rooms(
        &self,
        site_id: i64,
        rooms: &[(String, u32, String)],
        now: i64,
        audit: &crate::AuditRecord,
    ) -> StoreResult<u64> {
        let mut inserted = 0;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in rooms.chunks(ROWS_PER_STATEMENT) {
                let mut builder = QueryBuilder::new(
                    "INSERT INTO isolation_rooms (site_id, building, floor, number, status, status_since) ",
                );
                builder.push_values(chunk, |mut b, (building, floor, number)| {
                    b.push_bind(site_id)
                        .push_bind(building)
                        .push_bind(i64::from(*floor))
                        .push_bind(number)
                        .push_bind("free")
                        .push_bind(now);
                });
                builder.push(" ON CONFLICT (site_id, number) DO NOTHING");
                inserted += builder.build().execute(&mut *tx).await?.rows_affected();
            }
            let audit = crate::AuditRecord {
                detail: audit.detail.replace("{added}", &inserted.to_string()),
                ..audit.clone()
            };
            crate::audit::write_audit!(&mut *tx, &audit);
            tx.commit().await?;
        });
        Ok(inserted)
    }

    pub async fn isolation_rooms_of(&self, site_id: i64) -> StoreResult<Vec<RoomRecord>> {
        let sql =
            format!("{ROOM_SELECT} WHERE r.site_id = $1 ORDER BY r.building, r.floor, r.number");
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(site_id).fetch_all(pool).await?
        });
        Ok(rows)
    }

    pub async fn isolation_room(&self, id: i64) -> StoreResult<Option<RoomRecord>> {
        let sql = format!("{ROOM_SELECT} WHERE r.id = $1");
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        Ok(row)
    }

    pub async fn isolation_room_by_number(
        &self,
        site_id: i64,
        number: &str,
    ) -> StoreResult<Option<RoomRecord>> {
        let sql = format!("{ROOM_SELECT} WHERE r.site_id = $1 AND r.number = $2");
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(site_id).bind(number).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// Moves a room from `from` to `to` (cleaning → free, free ↔ maintenance); false when it was
    /// not in `from`.
    pub async fn set_room_status(
        &self,
        room_id: i64,
        from: &str,
        to: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            sqlx::query("UPDATE isolation_rooms SET status = $1, status_since = $2 WHERE id = $3 AND status = $4")
                .bind(to)
                .bind(now)
                .bind(room_id)
                .bind(from)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Free rooms of the subtree's sites in adjacency order (site, building, floor, number).
    pub async fn free_rooms_in(&self, range: (&str, &str)) -> StoreResult<Vec<FreeRoom>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.id AS site_id, s.region_code, r.id AS room_id FROM isolation_rooms r \
                 JOIN isolation_sites s ON s.id = r.site_id \
                 WHERE s.region_code >= $1 AND s.region_code < $2 AND r.status = 'free' \
                 ORDER BY s.id, r.building, r.floor, r.number",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Writes an allocation (measure, site, room) in one transaction: each room free → occupied,
    /// each measure awaiting_placement → allocated. If any room is not free or any person no longer
    /// waits, nothing is written.
    pub async fn write_allocation(
        &self,
        assignments: &[(i64, i64, i64)],
        now: i64,
        audit: &crate::AuditRecord,
    ) -> StoreResult<AllocationOutcome> {
        let outcome = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, ISOLATION_WRITER_LOCK);
            let mut written = 0;
            for chunk in assignments.chunks(ROWS_PER_STATEMENT) {
                let mut taken = QueryBuilder::new(
                    "SELECT number FROM isolation_rooms WHERE status <> 'free' AND id IN ",
                );
                taken.push_list(chunk.iter().map(|(_, _, room)| *room));
                taken.push(" LIMIT 1");
                let number: Option<String> =
                    taken.build_query_scalar().fetch_optional(&mut *tx).await?;
                if let Some(number) = number {
                    tx.rollback().await?;
                    return Ok(AllocationOutcome::RoomTaken(number));
                }
                let mut rooms = QueryBuilder::new(
                    "UPDATE isolation_rooms SET status = 'occupied', status_since = ",
                );
                rooms.push_bind(now).push(" WHERE status = 'free' AND id IN ");
                rooms.push_list(chunk.iter().map(|(_, _, room)| *room));
                let changed = rooms.build().execute(&mut *tx).await?.rows_affected();
                if changed != chunk.len() as u64 {
                    tx.rollback().await?;
                    return Ok(AllocationOutcome::RoomTaken(String::new()));
                }
                let mut people = QueryBuilder::new("WITH v (mid, site, room) AS (");
                people.push_values(chunk, |mut b, (measure, site, room)| {
                    b.push_bind(*measure).push_bind(*site).push_bind(*room);
                });
                people.push(
                    ") UPDATE isolation_measures SET status = 'allocated', site_id = v.site, room_id = v.room, \
                     status_since = ",
                );
                people.push_bind(now).push(
                    " FROM v WHERE isolation_measures.id = v.mid AND isolation_measures.status = 'awaiting_placement'",
                );
                let changed = people.build().execute(&mut *tx).await?.rows_affected();
                if changed != chunk.len() as u64 {
                    let mut moved = QueryBuilder::new(
                        "SELECT id FROM isolation_measures WHERE status <> 'allocated' AND id IN ",
                    );
                    moved.push_list(chunk.iter().map(|(measure, _, _)| *measure));
                    moved.push(" LIMIT 1");
                    let id: Option<i64> = moved.build_query_scalar().fetch_optional(&mut *tx).await?;
                    tx.rollback().await?;
                    return Ok(AllocationOutcome::PersonMoved(id.unwrap_or_default()));
                }
                written += changed;
            }
            crate::audit::write_audit!(&mut *tx, audit);
            tx.commit().await?;
            AllocationOutcome::Written(written)
        });
        Ok(outcome)
    }
}
