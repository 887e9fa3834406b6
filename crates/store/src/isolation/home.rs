//! Home isolation: daily check-ins, missed check-ins and door-sensor alarms; a moved person's
//! measures following them to the new grid.

use super::*;

/// A resident's move as isolation follows it (from a `resident_moved` person event).
#[derive(Debug, Clone)]
pub struct MeasureMove {
    pub resident_id: Option<i64>,
    pub id_type: String,
    pub id_number: DocumentNumber,
    pub from_grid: String,
    pub to_grid: String,
    pub household_number: String,
    pub address: Address,
}

impl Store {
    /// The person's current measures (not released) held by the old grid move to the new grid,
    /// household and address: at home, the new grid's worker checks them in and the old one no
    /// longer lists them; a measure's grid is where its person lives. Guarded by the old grid, so a
    /// repeat changes nothing. Returns the measures moved.
    pub async fn follow_move_in_measures(&self, m: &MeasureMove) -> StoreResult<u64> {
        let moved = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE isolation_measures SET grid_code = $1, household_number = $2, address = $3 \
                 WHERE grid_code = $4 AND status <> 'released' \
                 AND (resident_id = $5 OR (id_number = $6 AND id_type = $7 AND id_number <> ''))",
            )
            .bind(&m.to_grid)
            .bind(&m.household_number)
            .bind(m.address.as_str())
            .bind(&m.from_grid)
            .bind(m.resident_id)
            .bind(m.id_number.as_str())
            .bind(&m.id_type)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(moved)
    }

    pub async fn insert_check_in(&self, check_in: &CheckInRecord) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO measure_check_ins (measure_id, place, day, at, tenths, fever, symptoms, recorded_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(check_in.measure_id)
            .bind(&check_in.place)
            .bind(&check_in.day)
            .bind(check_in.at)
            .bind(check_in.tenths)
            .bind(check_in.fever)
            .bind(&check_in.symptoms)
            .bind(&check_in.recorded_by)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    pub async fn check_ins_of(
        &self,
        measure_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<CheckInRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, measure_id, place, day, at, tenths, fever, symptoms, recorded_by FROM measure_check_ins \
                 WHERE measure_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
            )
            .bind(measure_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// The newest check-in of each person checked in at `site_id` (for the rooms grid).
    pub async fn latest_site_temperatures(&self, site_id: i64) -> StoreResult<Vec<CheckInRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT c.id, c.measure_id, c.place, c.day, c.at, c.tenths, c.fever, c.symptoms, c.recorded_by \
                 FROM measure_check_ins c JOIN isolation_measures m ON m.id = c.measure_id \
                 WHERE m.site_id = $1 AND m.room_id IS NOT NULL AND c.id = \
                 (SELECT MAX(c2.id) FROM measure_check_ins c2 WHERE c2.measure_id = c.measure_id)",
            )
            .bind(site_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// People at home (status at_home) in the subtree, with their last check-in day and alarms.
    pub async fn home_rows(&self, range: (&str, &str), limit: i64) -> StoreResult<Vec<HomeRow>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT m.id AS measure_id, m.name, m.id_type, m.id_number, m.grid_code, m.category, m.end_date, \
                 (SELECT MAX(c.day) FROM measure_check_ins c WHERE c.measure_id = m.id AND c.place = 'home') AS last_check_in_day, \
                 (SELECT c.fever FROM measure_check_ins c WHERE c.measure_id = m.id AND c.place = 'home' ORDER BY c.id DESC LIMIT 1) AS last_fever, \
                 (SELECT COUNT(*) FROM door_alarms a WHERE a.measure_id = m.id) AS alarms \
                 FROM isolation_measures m WHERE m.grid_code >= $1 AND m.grid_code < $2 AND m.status = 'at_home' \
                 ORDER BY m.grid_code, m.id LIMIT $3",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Over everyone at home in the subtree (not only the rows a page shows): how many there are,
    /// and how many have no home check-in on or after `since` (a Beijing date, `YYYY-MM-DD`).
    pub async fn home_counts(&self, range: (&str, &str), since: &str) -> StoreResult<(i64, i64)> {
        let counts = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN COALESCE((SELECT MAX(c.day) FROM measure_check_ins c \
                 WHERE c.measure_id = m.id AND c.place = 'home'), '') < $3 THEN 1 ELSE 0 END), 0) \
                 FROM isolation_measures m WHERE m.grid_code >= $1 AND m.grid_code < $2 AND m.status = 'at_home'",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(since)
            .fetch_one(pool)
            .await?
        });
        Ok(counts)
    }

    pub async fn insert_door_alarm(
        &self,
        measure_id: i64,
        device_id: &str,
        kind: &str,
        at: i64,
        received_at: i64,
        note: &str,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO door_alarms (measure_id, device_id, kind, at, received_at, note) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(measure_id)
            .bind(device_id)
            .bind(kind)
            .bind(at)
            .bind(received_at)
            .bind(note)
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    pub async fn door_alarms(
        &self,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<DoorAlarmRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.id, a.measure_id, a.device_id, a.kind, a.at, a.note, m.name, m.grid_code \
                 FROM door_alarms a JOIN isolation_measures m ON m.id = a.measure_id \
                 WHERE m.grid_code >= $1 AND m.grid_code < $2 ORDER BY a.at DESC, a.id DESC LIMIT $3",
            )
            .bind(range.0)
            .bind(range.1)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}
