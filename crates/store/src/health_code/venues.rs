//! Venues and venue scans (场所码).

use super::*;

impl Store {
    /// A new venue and its audit record (target: the new id), in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_venue(
        &self,
        name: &str,
        kind: &str,
        address: &str,
        region_code: &str,
        at: i64,
        actor: &str,
        audit: &AuditRecord,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO venues (name, kind, address, region_code, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(name)
            .bind(kind)
            .bind(address)
            .bind(region_code)
            .bind(at)
            .bind(actor)
            .fetch_one(&mut *tx)
            .await?;
            write_audit!(&mut *tx, audit, id);
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn venues(&self, range: (&str, &str)) -> StoreResult<Vec<VenueRecord>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, name, kind, address, region_code, created_at, created_by FROM venues \
                 WHERE region_code >= $1 AND region_code < $2 ORDER BY region_code, name LIMIT 5000",
            )
            .bind(range.0)
            .bind(range.1)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn venue(&self, id: i64) -> StoreResult<Option<VenueRecord>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, name, kind, address, region_code, created_at, created_by FROM venues WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Records a venue visit; a retry with the same key returns the stored visit's id.
    pub async fn insert_venue_visit(&self, visit: &VenueVisitRecord) -> StoreResult<(i64, bool)> {
        with_pool!(self, pool => {
            let inserted: Option<(i64,)> = sqlx::query_as(
                "INSERT INTO venue_visits (visit_key, venue_id, at, id_type, id_number, resident_id, colour) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (visit_key) DO NOTHING RETURNING id",
            )
            .bind(&visit.visit_key)
            .bind(visit.venue_id)
            .bind(visit.at)
            .bind(&visit.id_type)
            .bind(visit.id_number.as_str())
            .bind(visit.resident_id)
            .bind(visit.colour.code())
            .fetch_optional(pool)
            .await?;
            match inserted {
                Some((id,)) => Ok((id, true)),
                None => {
                    let (id,): (i64,) = sqlx::query_as("SELECT id FROM venue_visits WHERE visit_key = $1")
                        .bind(&visit.visit_key)
                        .fetch_one(pool)
                        .await?;
                    Ok((id, false))
                }
            }
        })
    }

    /// Who passed a checkpoint or visited a venue between `from` and `to` — the tracing question.
    pub async fn who_was_at(
        &self,
        place_kind: &str,
        place_id: i64,
        from: i64,
        to: i64,
        limit: i64,
    ) -> StoreResult<Vec<ItineraryStop>> {
        let sql = if place_kind == "venue" {
            "SELECT v.at, 'venue' AS place_kind, v.venue_id AS place_id, n.name AS place_name, v.id_type, v.id_number, v.resident_id \
             FROM venue_visits v JOIN venues n ON n.id = v.venue_id \
             WHERE v.venue_id = $1 AND v.at >= $2 AND v.at < $3 ORDER BY v.at LIMIT $4"
        } else {
            "SELECT p.at, 'checkpoint' AS place_kind, p.checkpoint_id AS place_id, c.name AS place_name, p.id_type, p.id_number, p.resident_id \
             FROM passages p JOIN checkpoints c ON c.id = p.checkpoint_id \
             WHERE p.checkpoint_id = $1 AND p.at >= $2 AND p.at < $3 AND p.id_number <> '' ORDER BY p.at LIMIT $4"
        };
        let rows = with_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(place_id)
                .bind(from)
                .bind(to)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// A person's passages and venue visits between `from` and `to`, in time order.
    pub async fn itinerary_of(
        &self,
        person: &CodePerson,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<ItineraryStop>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT p.at, 'checkpoint' AS place_kind, p.checkpoint_id AS place_id, c.name AS place_name, p.id_type, p.id_number, p.resident_id \
                 FROM passages p JOIN checkpoints c ON c.id = p.checkpoint_id \
                 WHERE p.id_number = $1 AND p.id_type = $2 AND p.at >= $3 AND p.at < $4 \
                 UNION ALL \
                 SELECT v.at, 'venue' AS place_kind, v.venue_id AS place_id, n.name AS place_name, v.id_type, v.id_number, v.resident_id \
                 FROM venue_visits v JOIN venues n ON n.id = v.venue_id \
                 WHERE v.id_number = $1 AND v.id_type = $2 AND v.at >= $3 AND v.at < $4 \
                 ORDER BY 1 LIMIT 1000",
            )
            .bind(person.id_number.as_str())
            .bind(&person.id_type)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}
