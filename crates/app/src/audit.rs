//! Reading the audit log (administrators only).

use fangkong_domain::role::Permission;
use fangkong_store::AuditRecord;

use crate::{Actor, App, AppResult};

impl App {
    pub async fn audit_log(
        &self,
        actor: &Actor,
        action: &str,
        before_id: Option<i64>,
    ) -> AppResult<Vec<AuditRecord>> {
        actor.require(Permission::ViewAuditLog)?;
        Ok(self
            .store
            .audit_page(action.trim(), before_id.unwrap_or(i64::MAX), 200)
            .await?)
    }
}
