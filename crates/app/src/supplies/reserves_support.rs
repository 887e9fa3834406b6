//! Reserves: support between regions (一方有难、八方支援). The asking region files a request for an
//! item into one of its warehouses; the giving region's side approves or refuses it, then
//! dispatches from one of its warehouses (an out line of the ledger); the asking side signs for
//! it (an in line). Each step is one transaction with its audit row; a dispatch below zero is
//! refused with the reason.

use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Permission;
use fangkong_domain::supplies::reserves::{self as rules, MovementKind, SupportStatus};
use fangkong_store::supplies::reserves::{MovementWrite, SupportRecord, SupportStep};
use serde::{Deserialize, Serialize};

use super::reserves::{catalogue_item, item_of, label, line_delta, note_of, require_view};
use crate::scope::{Placed, load_within};
use crate::{Actor, App, AppError, AppResult, audit_record};

/// A request seen from the giving side (its approval and dispatch).
pub(crate) struct AskedOf(SupportRecord);
/// A request seen from the asking side (its receipt).
pub(crate) struct AskedBy(SupportRecord);

impl Placed for AskedOf {
    const WHAT: &'static str = "该支援申请";
    fn place(&self) -> &str {
        self.0.giver_region.as_str()
    }
}

impl Placed for AskedBy {
    const WHAT: &'static str = "该支援申请";
    fn place(&self) -> &str {
        self.0.asker_region.as_str()
    }
}

/// A request for support as filed by the asking side.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SupportForm {
    /// The asking side's warehouse that receives.
    pub to_warehouse_id: String,
    /// The region asked (a county, a township… outside or inside the asker's).
    pub giver_region: String,
    pub item: String,
    pub quantity: String,
    pub reason: String,
}

/// A step's form: the answer (approval or refusal) and, for a dispatch, the warehouse.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SupportStepForm {
    pub answer: String,
    pub from_warehouse_id: String,
}

/// A request as pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct SupportView {
    pub id: i64,
    pub asker_region: String,
    pub giver_region: String,
    pub item: String,
    pub unit: String,
    pub quantity: i64,
    pub to_warehouse_id: i64,
    pub from_warehouse_id: Option<i64>,
    pub status_code: &'static str,
    pub status: &'static str,
    pub reason: String,
    pub answer: String,
    pub requested: String,
    pub decided: String,
    pub dispatched: String,
    pub received: String,
}

fn view(r: SupportRecord) -> SupportView {
    let (item, unit, _) = item_of(&r.item_code);
    let status = r.status;
    SupportView {
        id: r.id,
        asker_region: r.asker_region.into(),
        giver_region: r.giver_region.into(),
        item,
        unit,
        quantity: r.quantity,
        to_warehouse_id: r.to_warehouse_id,
        from_warehouse_id: r.from_warehouse_id,
        status_code: status.code(),
        status: status.label_zh(),
        reason: r.reason,
        answer: r.answer,
        requested: label(r.requested_at),
        decided: r.decided_at.map(label).unwrap_or_default(),
        dispatched: r.dispatched_at.map(label).unwrap_or_default(),
        received: r.received_at.map(label).unwrap_or_default(),
    }
}

impl App {
    /// Files a request for support into one of the actor's warehouses, asked of another region.
    pub async fn request_support(&self, actor: &Actor, form: &SupportForm) -> AppResult<i64> {
        actor.require(Permission::ManageReserves)?;
        let item = catalogue_item(&form.item)?;
        let quantity =
            rules::check_quantity(&form.quantity, false).map_err(|e| AppError::field("数量", e))?;
        let reason = note_of(&form.reason)?;
        if reason.is_empty() {
            return Err(AppError::field("申请理由", "请写明缺口和用途"));
        }
        let giver = RegionCode::parse(form.giver_region.trim())
            .map_err(|e| AppError::field("支援方区域", e))?;
        let to_id = form
            .to_warehouse_id
            .trim()
            .parse::<i64>()
            .map_err(|_| AppError::field("接收仓库", "请选择"))?;
        let to = load_within(actor, self.store.warehouse(to_id)).await?;
        let asker = actor.jurisdiction.clone();
        if giver.contains(&asker) || asker.contains(&giver) {
            return Err(AppError::field(
                "支援方区域",
                "请选择本辖区以外的地区（辖区内的仓库之间请用调拨）",
            ));
        }
        let giver_name = self.region_name(&giver).await?;
        let record = SupportRecord {
            id: 0,
            asker_region: asker.clone(),
            giver_region: giver.clone(),
            item_code: item.code.clone(),
            quantity,
            to_warehouse_id: to.id,
            from_warehouse_id: None,
            status: SupportStatus::Requested,
            reason,
            answer: String::new(),
            requested_by: actor.username.clone(),
            requested_at: self.now_unix(),
            decided_by: None,
            decided_at: None,
            dispatched_at: None,
            received_at: None,
        };
        let audit = audit_record(
            self,
            actor,
            "request_support",
            "",
            format!("向{giver_name}申请{}{}{}", item.name, quantity, item.unit),
        );
        Ok(self.store.create_support_request(&record, &audit).await?)
    }

    /// The requests asked by or of the actor's jurisdiction, newest first.
    pub async fn support_requests(&self, actor: &Actor) -> AppResult<Vec<SupportView>> {
        require_view(actor)?;
        let (lower, upper) = actor.jurisdiction.subtree_range();
        Ok(self
            .store
            .support_requests_touching((lower.as_str(), upper.as_str()))
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// The giving side approves (`approve`) or refuses a request.
    pub async fn decide_support(
        &self,
        actor: &Actor,
        id: i64,
        approve: bool,
        form: &SupportStepForm,
    ) -> AppResult<()> {
        actor.require(Permission::ManageReserves)?;
        let answer = note_of(&form.answer)?;
        if !approve && answer.is_empty() {
            return Err(AppError::field("答复", "拒绝时请写明原因"));
        }
        let AskedOf(request) = load_within(actor, async {
            Ok(self.store.support_request(id).await?.map(AskedOf))
        })
        .await?;
        let to = if approve {
            SupportStatus::Approved
        } else {
            SupportStatus::Refused
        };
        self.support_step(actor, &request, to, Some(answer), None, Vec::new())
            .await
    }

    /// The giving side dispatches an approved request from one of its warehouses (an out line).
    pub async fn dispatch_support(
        &self,
        actor: &Actor,
        id: i64,
        form: &SupportStepForm,
    ) -> AppResult<()> {
        actor.require(Permission::ManageReserves)?;
        let from_id = form
            .from_warehouse_id
            .trim()
            .parse::<i64>()
            .map_err(|_| AppError::field("发运仓库", "请选择"))?;
        let AskedOf(request) = load_within(actor, async {
            Ok(self.store.support_request(id).await?.map(AskedOf))
        })
        .await?;
        let from = load_within(actor, self.store.warehouse(from_id)).await?;
        let line = MovementWrite {
            warehouse_id: from.id,
            region_code: from.region_code.to_string(),
            item_code: request.item_code.clone(),
            kind: MovementKind::Out.code().to_string(),
            quantity: request.quantity,
            incoming: false,
            counterpart_id: Some(request.to_warehouse_id),
            note: format!("支援申请 #{} 发运", request.id),
        };
        self.support_step(
            actor,
            &request,
            SupportStatus::Dispatched,
            None,
            Some(from.id),
            vec![line],
        )
        .await
    }

    /// The asking side signs for a dispatched request (an in line at its warehouse).
    pub async fn receive_support(&self, actor: &Actor, id: i64) -> AppResult<()> {
        actor.require(Permission::ManageReserves)?;
        let AskedBy(request) = load_within(actor, async {
            Ok(self.store.support_request(id).await?.map(AskedBy))
        })
        .await?;
        let to = self
            .store
            .warehouse(request.to_warehouse_id)
            .await?
            .ok_or(AppError::NotFound("该仓库"))?;
        let line = MovementWrite {
            warehouse_id: to.id,
            region_code: to.region_code.to_string(),
            item_code: request.item_code.clone(),
            kind: MovementKind::In.code().to_string(),
            quantity: request.quantity,
            incoming: false,
            counterpart_id: request.from_warehouse_id,
            note: format!("支援申请 #{} 签收", request.id),
        };
        self.support_step(
            actor,
            &request,
            SupportStatus::Received,
            None,
            None,
            vec![line],
        )
        .await
    }

    async fn support_step(
        &self,
        actor: &Actor,
        request: &SupportRecord,
        to: SupportStatus,
        answer: Option<String>,
        from_warehouse_id: Option<i64>,
        lines: Vec<MovementWrite>,
    ) -> AppResult<()> {
        let from = request.status;
        rules::support_step(from, to).map_err(AppError::Conflict)?;
        let (item, unit, _) = item_of(&request.item_code);
        let action = match to {
            SupportStatus::Approved => "approve_support",
            SupportStatus::Refused => "refuse_support",
            SupportStatus::Dispatched => "dispatch_support",
            _ => "receive_support",
        };
        let audit = audit_record(
            self,
            actor,
            action,
            format!("support_request:{}", request.id),
            format!("{}{}{}：{}", item, request.quantity, unit, to.label_zh()),
        );
        let step = SupportStep {
            id: request.id,
            from_status: from.code().to_string(),
            to_status: to.code().to_string(),
            by: actor.username.clone(),
            at: self.now_unix(),
            answer,
            from_warehouse_id,
        };
        self.store
            .step_support_request(&step, &lines, line_delta, &audit)
            .await?
            .map_err(AppError::Invalid)
    }
}
