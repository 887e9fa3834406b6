//! Vehicles and transfers: dispatch with its riders, the steps of a trip, riders on live transfers.

use sqlx::{Database, Encode, Type};

use super::*;
use crate::bind::PushList;

impl Store {
    /// Registers a vehicle with its audit record (target: `vehicle:<new id>`), in one
    /// transaction; a plate registered already is a unique violation.
    pub async fn insert_vehicle(
        &self,
        vehicle: &VehicleRecord,
        audit: &crate::AuditRecord,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO vehicles (plate, kind, capacity, region_code, on_trip, awaiting_disinfection, created_at) \
                 VALUES ($1, $2, $3, $4, FALSE, FALSE, $5) RETURNING id",
            )
            .bind(&vehicle.plate)
            .bind(vehicle.kind.code())
            .bind(vehicle.capacity)
            .bind(vehicle.region_code.as_str())
            .bind(vehicle.created_at)
            .fetch_one(&mut *tx)
            .await?;
            crate::audit::write_audit!(&mut *tx, audit, format!("vehicle:{id}"));
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn transfer_vehicle(&self, id: i64) -> StoreResult<Option<VehicleRecord>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, plate, kind, capacity, region_code, on_trip, awaiting_disinfection, created_at \
                 FROM vehicles WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    pub async fn transfer_vehicles(&self, range: (&str, &str)) -> StoreResult<Vec<VehicleRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, plate, kind, capacity, region_code, on_trip, awaiting_disinfection, created_at \
                 FROM vehicles WHERE region_code >= $1 AND region_code < $2 ORDER BY kind, plate",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Dispatches a vehicle with its riders in one transaction (the vehicle must be idle and
    /// disinfected, no rider on another live transfer), with its audit record (target:
    /// `transfer:<new id>`).
    pub async fn create_transfer(
        &self,
        transfer: &NewTransfer,
        audit: &crate::AuditRecord,
    ) -> StoreResult<TransferOutcome> {
        let outcome = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, ISOLATION_WRITER_LOCK);
            let taken = sqlx::query(
                "UPDATE vehicles SET on_trip = TRUE WHERE id = $1 AND on_trip = FALSE AND awaiting_disinfection = FALSE",
            )
            .bind(transfer.vehicle_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if taken == 0 {
                tx.rollback().await?;
                return Ok(TransferOutcome::VehicleBusy);
            }
            let mut busy = QueryBuilder::new(
                "SELECT tr.measure_id FROM transfer_riders tr JOIN transfers t ON t.id = tr.transfer_id \
                 WHERE t.status <> 'handed_over' AND tr.measure_id IN ",
            );
            busy.push_list(transfer.riders.iter().copied());
            busy.push(" LIMIT 1");
            let busy: Option<i64> = busy.build_query_scalar().fetch_optional(&mut *tx).await?;
            if let Some(rider) = busy {
                tx.rollback().await?;
                return Ok(TransferOutcome::RiderBusy(rider));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO transfers (vehicle_id, region_code, site_id, hospital_id, status, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, 'dispatched', $5, $6) RETURNING id",
            )
            .bind(transfer.vehicle_id)
            .bind(&transfer.region_code)
            .bind(transfer.site_id)
            .bind(transfer.hospital_id)
            .bind(transfer.at)
            .bind(&transfer.created_by)
            .fetch_one(&mut *tx)
            .await?;
            let mut riders = QueryBuilder::new("INSERT INTO transfer_riders (transfer_id, measure_id) ");
            riders.push_values(&transfer.riders, |mut b, rider| {
                b.push_bind(id).push_bind(*rider);
            });
            riders.build().execute(&mut *tx).await?;
            crate::audit::write_audit!(&mut *tx, audit, format!("transfer:{id}"));
            tx.commit().await?;
            TransferOutcome::Created(id)
        });
        Ok(outcome)
    }

    pub async fn transfer_task(&self, id: i64) -> StoreResult<Option<TransferRecord>> {
        let sql = format!("{TRANSFER_SELECT} WHERE t.id = $1");
        let row = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// Transfers of the subtree, unfinished first, newest first.
    pub async fn transfer_tasks(
        &self,
        range: (&str, &str),
        limit: i64,
    ) -> StoreResult<Vec<TransferRecord>> {
        let sql = format!(
            "{TRANSFER_SELECT} WHERE t.region_code >= $1 AND t.region_code < $2 \
             ORDER BY CASE WHEN t.status = 'handed_over' THEN 1 ELSE 0 END, t.id DESC LIMIT $3"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(range.0).bind(range.1).bind(limit).fetch_all(pool).await?
        });
        Ok(rows)
    }

    pub async fn transfer_riders(&self, transfer_id: i64) -> StoreResult<Vec<MeasureRecord>> {
        let sql = format!(
            "SELECT {MEASURE_COLUMNS} FROM isolation_measures WHERE id IN \
             (SELECT measure_id FROM transfer_riders WHERE transfer_id = $1) ORDER BY id"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(transfer_id).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// People in `statuses` who still wait for a vehicle: those already riding a transfer not yet
    /// handed over are left out, so the transfers board and the hospitals board count the same
    /// people. Oldest status first, at most `limit`.
    pub async fn measures_awaiting_vehicle(
        &self,
        range: (&str, &str),
        statuses: &[&str],
        limit: i64,
    ) -> StoreResult<Vec<MeasureRecord>> {
        let rows = with_pool!(self, pool => {
            let mut builder = QueryBuilder::new(format!("SELECT {MEASURE_COLUMNS} "));
            push_awaiting_vehicle_where(&mut builder, range, statuses);
            builder.push(" ORDER BY status_since, id LIMIT ").push_bind(limit);
            builder.build_query_as().fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// How many [`Store::measures_awaiting_vehicle`] lists in all.
    pub async fn count_measures_awaiting_vehicle(
        &self,
        range: (&str, &str),
        statuses: &[&str],
    ) -> StoreResult<i64> {
        let count = with_pool!(self, pool => {
            let mut builder = QueryBuilder::new("SELECT COUNT(*) ");
            push_awaiting_vehicle_where(&mut builder, range, statuses);
            builder.build_query_scalar().fetch_one(pool).await?
        });
        Ok(count)
    }

    /// How many transfers [`Store::transfer_tasks`] lists in all.
    pub async fn count_transfer_tasks(&self, range: (&str, &str)) -> StoreResult<i64> {
        let count = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM transfers WHERE region_code >= $1 AND region_code < $2")
                .bind(range.0)
                .bind(range.1)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    /// Moves a transfer from `from` to `to`. Handing over frees the vehicle (awaiting disinfection)
    /// and, for a hospital, admits every rider (measure → hospitalised). False when not in `from`.
    pub async fn advance_transfer(
        &self,
        id: i64,
        from: &str,
        to: &str,
        now: i64,
        audit: &crate::AuditRecord,
    ) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, ISOLATION_WRITER_LOCK);
            let changed = sqlx::query(
                "UPDATE transfers SET status = $1, \
                 picked_up_at = CASE WHEN $1 = 'picked_up' THEN $2 ELSE picked_up_at END, \
                 handed_over_at = CASE WHEN $1 = 'handed_over' THEN $2 ELSE handed_over_at END \
                 WHERE id = $3 AND status = $4",
            )
            .bind(to)
            .bind(now)
            .bind(id)
            .bind(from)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            if to == "handed_over" {
                sqlx::query(
                    "UPDATE vehicles SET on_trip = FALSE, awaiting_disinfection = TRUE \
                     WHERE id = (SELECT vehicle_id FROM transfers WHERE id = $1)",
                )
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let hospital: Option<i64> =
                    sqlx::query_scalar("SELECT hospital_id FROM transfers WHERE id = $1")
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                if let Some(hospital) = hospital {
                    sqlx::query(
                        "INSERT INTO hospital_admissions (hospital_id, measure_id, transfer_id, admitted_at) \
                         SELECT $1, measure_id, transfer_id, $2 FROM transfer_riders WHERE transfer_id = $3",
                    )
                    .bind(hospital)
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE isolation_measures SET status = 'hospitalised', status_since = $1, hospital_id = $2 \
                         WHERE id IN (SELECT measure_id FROM transfer_riders WHERE transfer_id = $3)",
                    )
                    .bind(now)
                    .bind(hospital)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            crate::audit::write_audit!(&mut *tx, audit);
            tx.commit().await?;
            true
        });
        Ok(changed)
    }

    /// Terminal disinfection of a vehicle after its trip, with its audit record; false (nothing
    /// written) when it was not waiting for one.
    pub async fn disinfect_vehicle(
        &self,
        vehicle_id: i64,
        now: i64,
        audit: &crate::AuditRecord,
    ) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE vehicles SET awaiting_disinfection = FALSE WHERE id = $1 AND awaiting_disinfection = TRUE",
            )
            .bind(vehicle_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query(
                "UPDATE transfers SET disinfected_at = $1 WHERE vehicle_id = $2 AND status = 'handed_over' \
                 AND disinfected_at IS NULL",
            )
            .bind(now)
            .bind(vehicle_id)
            .execute(&mut *tx)
            .await?;
            if changed != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            crate::audit::write_audit!(&mut *tx, audit);
            tx.commit().await?;
            true
        });
        Ok(changed)
    }
}

/// `FROM … WHERE …` of the people in `statuses` not riding a live transfer (shared by the list and
/// its count, so the two cannot disagree); no statuses means any status.
fn push_awaiting_vehicle_where<'t, DB: Database>(
    builder: &mut QueryBuilder<DB>,
    range: (&'t str, &'t str),
    statuses: &[&'t str],
) where
    &'t str: Encode<'t, DB> + Type<DB>,
{
    builder
        .push("FROM isolation_measures WHERE grid_code >= ")
        .push_bind(range.0)
        .push(" AND grid_code < ")
        .push_bind(range.1)
        .push(
            " AND id NOT IN (SELECT tr.measure_id FROM transfer_riders tr \
             JOIN transfers t ON t.id = tr.transfer_id WHERE t.status <> 'handed_over')",
        );
    if !statuses.is_empty() {
        builder
            .push(" AND status IN ")
            .push_list(statuses.iter().copied());
    }
}
