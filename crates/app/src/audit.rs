//! Reading the audit log (administrators only), scoped to the administrator's subtree.

use fangkong_domain::region::RegionLevel;
use fangkong_domain::role::Permission;
use fangkong_store::AuditRecord;

use crate::scope::masked_username;
use crate::{Actor, App, AppResult};

impl App {
    /// The newest entries (200 a page) of users inside the actor's jurisdiction; a province-level
    /// administrator also sees entries of nobody known (failed logins with unknown usernames).
    /// Usernames that look like an ID number or a phone are shown masked.
    pub async fn audit_log(
        &self,
        actor: &Actor,
        action: &str,
        before_id: Option<i64>,
    ) -> AppResult<Vec<AuditRecord>> {
        actor.require(Permission::ViewAuditLog)?;
        let before = before_id.unwrap_or(i64::MAX);
        let mut records = if actor.jurisdiction.level() == RegionLevel::Province {
            self.store.audit_page(action.trim(), before, 200).await?
        } else {
            let (lower, upper) = actor.jurisdiction_range();
            self.store
                .audit_page_within(action.trim(), before, 200, (&lower, &upper))
                .await?
        };
        for record in &mut records {
            record.username = masked_username(&record.username);
        }
        Ok(records)
    }
}
