//! Specimen boxes: packing at the site, pick-up and receipt at the lab.

use super::*;

impl Store {
    /// Packs closed tubes of a round into a box at a site. Returns, per barcode, None when packed
    /// or the reason it was not (unknown, other round, still open, already in another box). The
    /// packing and its audit record commit together; a box that cannot take tubes writes neither.
    #[allow(clippy::too_many_arguments)]
    pub async fn pack_box(
        &self,
        box_barcode: &str,
        round_id: i64,
        site_id: i64,
        barcodes: &[String],
        now: i64,
        by: &str,
        audit: &AuditRecord,
    ) -> StoreResult<Result<Vec<Option<&'static str>>, &'static str>> {
        let result = with_pool!(self, pool => {
            let mut tx = begin_locked!(self, pool, TUBE_WRITER_LOCK);
            let existing: Option<(i64, Option<i64>)> = sqlx::query_as(
                "SELECT round_id, picked_up_at FROM specimen_boxes WHERE barcode = $1",
            )
            .bind(box_barcode)
            .fetch_optional(&mut *tx)
            .await?;
            match existing {
                Some((_, Some(_))) => Err("box_gone"),
                Some((box_round, None)) if box_round != round_id => Err("box_other_round"),
                _ => {
                    let mut verdicts = Vec::with_capacity(barcodes.len());
                    let mut packed = 0i64;
                    for code in barcodes {
                        let tube: Option<(i64, Option<i64>, Option<String>)> = sqlx::query_as(
                            "SELECT round_id, closed_at, box_barcode FROM tubes WHERE barcode = $1",
                        )
                        .bind(code)
                        .fetch_optional(&mut *tx)
                        .await?;
                        let verdict = match tube {
                            None => Some("unknown_tube"),
                            Some((r, _, _)) if r != round_id => Some("tube_of_other_round"),
                            Some((_, None, _)) => Some("tube_open"),
                            Some((_, _, Some(b))) if b != box_barcode => Some("in_other_box"),
                            Some((_, _, Some(_))) => None,
                            Some(_) => {
                                sqlx::query("UPDATE tubes SET box_barcode = $1 WHERE barcode = $2")
                                    .bind(box_barcode)
                                    .bind(code)
                                    .execute(&mut *tx)
                                    .await?;
                                packed += 1;
                                None
                            }
                        };
                        verdicts.push(verdict);
                    }
                    sqlx::query(
                        "INSERT INTO specimen_boxes (barcode, round_id, site_id, tube_count, packed_at, packed_by) \
                         VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (barcode) DO UPDATE SET tube_count = specimen_boxes.tube_count + excluded.tube_count",
                    )
                    .bind(box_barcode)
                    .bind(round_id)
                    .bind(site_id)
                    .bind(packed)
                    .bind(now)
                    .bind(by)
                    .execute(&mut *tx)
                    .await?;
                    write_audit!(&mut *tx, audit);
                    tx.commit().await?;
                    Ok(verdicts)
                }
            }
        });
        Ok(result)
    }

    pub async fn specimen_box(&self, barcode: &str) -> StoreResult<Option<BoxRecord>> {
        self.row_by(BOX_COLUMNS, "specimen_boxes", "barcode", barcode)
            .await
    }

    /// The courier takes the box (first pick-up wins; a repeated scan changes nothing and writes
    /// no audit record). The pick-up and its audit record commit together.
    pub async fn box_picked_up(
        &self,
        barcode: &str,
        courier: &str,
        now: i64,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE specimen_boxes SET picked_up_at = $1, courier = $2 WHERE barcode = $3 AND picked_up_at IS NULL",
            )
            .bind(now)
            .bind(courier)
            .bind(barcode)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 1 {
                write_audit!(&mut *tx, audit);
            }
            tx.commit().await?;
            changed
        });
        Ok(changed == 1)
    }

    /// The lab receives the box: the box and all its tubes get the receipt time, with the audit
    /// record in the same transaction (none for a box received before).
    pub async fn box_received(
        &self,
        barcode: &str,
        lab: &str,
        now: i64,
        audit: &AuditRecord,
    ) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE specimen_boxes SET received_at = $1, received_by = $2, \
                 picked_up_at = COALESCE(picked_up_at, $1) WHERE barcode = $3 AND received_at IS NULL",
            )
            .bind(now)
            .bind(lab)
            .bind(barcode)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query("UPDATE tubes SET received_at = $1 WHERE box_barcode = $2 AND received_at IS NULL")
                .bind(now)
                .bind(barcode)
                .execute(&mut *tx)
                .await?;
            if changed == 1 {
                write_audit!(&mut *tx, audit);
            }
            tx.commit().await?;
            changed
        });
        Ok(changed == 1)
    }

    /// Boxes of a round not yet received, oldest first.
    pub async fn boxes_in_transit(&self, round_id: i64) -> StoreResult<Vec<BoxRecord>> {
        let sql = format!(
            "SELECT {BOX_COLUMNS} FROM specimen_boxes WHERE round_id = $1 AND received_at IS NULL \
             ORDER BY packed_at LIMIT 500"
        );
        let boxes = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(round_id).fetch_all(pool).await?
        });
        Ok(boxes)
    }
}
