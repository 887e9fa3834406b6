//! Contacts: the write with its person event, pages, clearing and the time a contact was isolated.

use super::*;

impl Store {
    /// Writes a contact and, for a close or secondary contact, its event, in one transaction.
    /// The same person twice for one case is a unique violation (the caller words it). The audit
    /// record (target: `contact:<new id>`) commits with it.
    pub async fn insert_contact(
        &self,
        contact: &ContactWrite,
        audit: &crate::AuditRecord,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO contacts (case_id, case_region_code, via_contact_id, person_key, id_type, id_number, \
                 resident_id, name, phone, address, grid_code, exposure_kind, exposure_detail, protected, \
                 first_exposure_at, last_exposure_at, category, reason, regime, status, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
                 'active', $20, $21) RETURNING id",
            )
            .bind(contact.case_id)
            .bind(&contact.case_region_code)
            .bind(contact.via_contact_id)
            .bind(&contact.person_key)
            .bind(&contact.id_type)
            .bind(contact.id_number.as_str())
            .bind(contact.resident_id)
            .bind(contact.name.as_str())
            .bind(contact.phone.as_ref().map(PhoneNumber::as_str))
            .bind(contact.address.as_str())
            .bind(&contact.grid_code)
            .bind(&contact.exposure_kind)
            .bind(&contact.exposure_detail)
            .bind(contact.protected)
            .bind(contact.first_exposure_at)
            .bind(contact.last_exposure_at)
            .bind(&contact.category)
            .bind(&contact.reason)
            .bind(&contact.regime)
            .bind(&contact.created_by)
            .bind(contact.created_at)
            .fetch_one(&mut *tx)
            .await?;
            if let Some(kind) = &contact.event_kind {
                let detail = contact.event_detail.replace("{contact_id}", &id.to_string());
                insert_event!(tx, contact.created_at, kind, &contact.id_type, contact.id_number.as_str(),
                    contact.resident_id, &contact.grid_code, format!("contact:{id}"), &detail);
            }
            bump_count!(tx, &contact.case_region_code, format!("contact:{}:active", contact.category), 1_i64);
            crate::audit::write_audit!(&mut *tx, audit, format!("contact:{id}"));
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn contact(&self, id: i64) -> StoreResult<Option<ContactRecord>> {
        self.row_by(CONTACT_COLUMNS, "contacts", "id", id).await
    }

    /// A case's contacts (close first, then secondary, then general), at most `limit`.
    pub async fn contacts_of_case(
        &self,
        case_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<ContactRecord>> {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE case_id = $1 \
             ORDER BY CASE category WHEN 'close' THEN 0 WHEN 'secondary' THEN 1 ELSE 2 END, id LIMIT $2"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).bind(case_id).bind(limit).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// One page of the contact directory of a jurisdiction (by the case's region), newest first;
    /// `by_id` walks the (category, id) index for a large jurisdiction (see [`Store::cases_page`]).
    pub async fn contacts_page(
        &self,
        range: (&str, &str),
        category: &str,
        before_id: Option<i64>,
        limit: i64,
        by_id: bool,
    ) -> StoreResult<Vec<ContactRecord>> {
        let region = if by_id {
            "case_region_code || ''"
        } else {
            "case_region_code"
        };
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE {region} >= $1 AND {region} < $2 \
             AND category = $3 AND id < $4 ORDER BY id DESC LIMIT $5"
        );
        let rows = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(range.0)
                .bind(range.1)
                .bind(category)
                .bind(before_id.unwrap_or(i64::MAX))
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Marks a contact cleared (reclassified general or entered by mistake) with its event and its
    /// audit record, in one transaction; `false` (nothing written) when it was not active.
    pub async fn clear_contact(
        &self,
        id: i64,
        reason: &str,
        at: i64,
        event_detail: &str,
        audit: &crate::AuditRecord,
    ) -> StoreResult<bool> {
        let changed = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<(String, String, Option<i64>, String, String, String)> = sqlx::query_as(
                "UPDATE contacts SET status = 'cleared', reason = reason || '；已解除：' || $2 \
                 WHERE id = $1 AND status = 'active' \
                 RETURNING id_type, id_number, resident_id, grid_code, category, case_region_code",
            )
            .bind(id)
            .bind(reason)
            .fetch_optional(&mut *tx)
            .await?;
            match row {
                Some((id_type, id_number, resident_id, grid_code, category, region)) => {
                    bump_count!(tx, &region, format!("contact:{category}:active"), -1_i64);
                    bump_count!(tx, &region, format!("contact:{category}:cleared"), 1_i64);
                    if category != "general" {
                        insert_event!(tx, at, "contact_cleared", &id_type, &id_number, resident_id,
                            &grid_code, format!("contact:{id}"), event_detail);
                    }
                    crate::audit::write_audit!(&mut *tx, audit);
                    tx.commit().await?;
                    true
                }
                None => false,
            }
        });
        Ok(changed)
    }

    /// Records when a contact was put under a measure (closes its secondary-contact window).
    pub async fn set_contact_isolated(&self, id: i64, at: i64) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE contacts SET isolated_at = $1 WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
