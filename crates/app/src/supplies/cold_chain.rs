//! Supplies: cold-chain goods (冷链食品). An office registers an imported batch (goods, origin
//! country and port, quantity, disinfection certificate), its movements down the chain (cold store
//! → distributor → market) and the tests of its goods, packaging and environment. A positive
//! raises the cold-chain trigger of early warning through its environment-positive path — once
//! per test and market the batch reached (a retried result raises nothing new, and raises what a
//! failure left unraised) — and the trace lists the cold-chain workers registered where it went.

use chrono::NaiveDate;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Permission;
use fangkong_domain::supplies::cold_chain::{self as rules, ChainNode, SampleKind, SampleResult};
use fangkong_domain::warning::triggers::{self, SignalChannel};
pub use fangkong_store::supplies::cold_chain::{BatchRecord, MovementRecord, TestRecord};
use fangkong_store::warning::triggers::EnvironmentWrite;
use serde::{Deserialize, Serialize};

use crate::scope::{Placed, load_within};
use crate::warning::triggers::{bounded, write_of};
use crate::{Actor, App, AppError, AppResult, audit_record};

impl Placed for BatchRecord {
    const WHAT: &'static str = "该冷链批次";
    fn place(&self) -> &str {
        self.region_code.as_str()
    }
}

/// A batch as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BatchForm {
    pub batch_no: String,
    pub goods: String,
    pub origin_country: String,
    pub port: String,
    pub quantity: String,
    pub certificate_no: String,
    pub region_code: String,
}

/// A movement as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MovementForm {
    pub batch_id: String,
    pub node: String,
    pub place: String,
    pub region_code: String,
    pub quantity: String,
    pub moved_on: String,
    pub handlers: String,
}

/// A sample's result as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TestForm {
    pub batch_id: String,
    pub sample_no: String,
    pub kind: String,
    pub result: String,
    pub sampled_on: String,
}

/// What became of a result.
#[derive(Debug, Clone, Serialize)]
pub struct TestOutcome {
    pub test_id: i64,
    /// `recorded` or `already_recorded`.
    pub status: &'static str,
    /// The alerts raised now (a positive: one per market reached).
    pub alerts: Vec<i64>,
}

/// A cold-chain worker of a place the batch reached (ID masked).
#[derive(Debug, Clone, Serialize)]
pub struct HandlerView {
    pub name: String,
    pub id_masked: String,
    pub grid_code: String,
}

/// A batch traced: its origin (back), its chain (forward), its tests and who handled it.
#[derive(Debug, Clone, Serialize)]
pub struct TraceView {
    pub batch: BatchRecord,
    pub movements: Vec<(String, MovementRecord)>,
    pub tests: Vec<(String, String, TestRecord)>,
    pub markets: Vec<String>,
    pub handlers: Vec<HandlerView>,
}

fn batch_id(text: &str) -> AppResult<i64> {
    text.trim()
        .parse()
        .map_err(|_| AppError::field("批次", "请选择批次"))
}

fn day(text: &str, field: &str, today: NaiveDate) -> AppResult<String> {
    if text.trim().is_empty() {
        return Ok(today.to_string());
    }
    let d = fangkong_domain::time::parse_beijing_cell(text)
        .map(fangkong_domain::time::beijing_date)
        .map_err(|_| AppError::field(field, "请写成 2021-01-10"))?;
    if d > today {
        return Err(AppError::field(field, "不能晚于今天"));
    }
    Ok(d.to_string())
}

fn quantity(text: &str) -> AppResult<i64> {
    match text.trim().parse::<i64>() {
        Ok(n) if (1..=10_000_000).contains(&n) => Ok(n),
        _ => Err(AppError::field("数量（公斤）", "请填写1—10000000的整数")),
    }
}

impl App {
    fn require_cold_chain_view(actor: &Actor) -> AppResult<()> {
        if !actor.role.allows(Permission::ManageColdChain) {
            actor.require(Permission::ViewSupplies)?;
        }
        Ok(())
    }

    /// Registers an imported batch in the actor's jurisdiction.
    pub async fn register_cold_chain_batch(
        &self,
        actor: &Actor,
        form: &BatchForm,
    ) -> AppResult<i64> {
        actor.require(Permission::ManageColdChain)?;
        let batch_no =
            rules::check_batch_no(&form.batch_no).map_err(|e| AppError::field("批次号", e))?;
        let goods = bounded(&form.goods, "货品", 60)?;
        let origin_country = bounded(&form.origin_country, "原产国", 40)?;
        let port = bounded(&form.port, "入境口岸", 40)?;
        let quantity = quantity(&form.quantity)?;
        let certificate_no = bounded(&form.certificate_no, "消毒证明编号", 60)?;
        let region = if form.region_code.trim().is_empty() {
            actor.jurisdiction.clone()
        } else {
            RegionCode::parse(form.region_code.trim())
                .map_err(|e| AppError::field("登记区划", e))?
        };
        actor.require_within(&region)?;
        let record = BatchRecord {
            id: 0,
            batch_no: batch_no.clone(),
            goods,
            origin_country,
            port,
            quantity,
            certificate_no,
            region_code: region.clone(),
            created_by: actor.username.clone(),
            created_at: self.now_unix(),
        };
        let audit = audit_record(self, actor, "register_cold_chain_batch", "", &batch_no);
        self.store
            .register_cold_chain_batch(&record, &audit)
            .await?
            .ok_or_else(|| AppError::Conflict(format!("批次号 {batch_no} 已登记")))
    }

    /// Records where a batch went next (a cold store, a distributor, a market) and who handled it.
    pub async fn record_cold_chain_movement(
        &self,
        actor: &Actor,
        form: &MovementForm,
    ) -> AppResult<i64> {
        actor.require(Permission::ManageColdChain)?;
        let id = batch_id(&form.batch_id)?;
        let node = ChainNode::from_code(form.node.trim())
            .ok_or_else(|| AppError::field("去向", "请选择冷库、批发配送商或市场"))?;
        let place = bounded(&form.place, "地点名称", 60)?;
        let region = RegionCode::parse(form.region_code.trim())
            .map_err(|e| AppError::field("所在区划", e))?;
        actor.require_within(&region)?;
        let quantity = quantity(&form.quantity)?;
        let moved_on = day(&form.moved_on, "日期", self.today())?;
        let handlers = form.handlers.trim();
        if handlers.chars().count() > 200 {
            return Err(AppError::field("经手人", "不能超过200个字"));
        }
        let batch = load_within(actor, self.store.cold_chain_batch(id)).await?;
        let audit = audit_record(self, actor, "record_cold_chain_movement", "", &place);
        Ok(self
            .store
            .record_cold_chain_movement(
                &MovementRecord {
                    id: 0,
                    batch_id: batch.id,
                    node,
                    place,
                    region_code: region.clone(),
                    quantity,
                    moved_on,
                    handlers: handlers.into(),
                },
                &actor.username,
                self.now_unix(),
                &audit,
            )
            .await?)
    }

    /// Records a sample's result; a positive raises the cold-chain alert for every market the
    /// batch reached (the batch's own region when none yet), once per test and region.
    pub async fn record_cold_chain_test(
        &self,
        actor: &Actor,
        form: &TestForm,
    ) -> AppResult<TestOutcome> {
        actor.require(Permission::ManageColdChain)?;
        let id = batch_id(&form.batch_id)?;
        let sample_no = bounded(&form.sample_no, "样本编号", 40)?;
        let kind = SampleKind::from_code(form.kind.trim())
            .ok_or_else(|| AppError::field("样本类型", "请选择货品、外包装或环境"))?;
        let result = SampleResult::from_code(form.result.trim())
            .ok_or_else(|| AppError::field("检测结果", "请选择阴性或阳性"))?;
        let sampled_on = day(&form.sampled_on, "采样日期", self.today())?;
        let batch = load_within(actor, self.store.cold_chain_batch(id)).await?;
        let now = self.now_unix();
        let audit = audit_record(self, actor, "record_cold_chain_test", "", &sample_no);
        let (test_id, new) = self
            .store
            .record_cold_chain_test(
                batch.id,
                &sample_no,
                kind.code(),
                result.code(),
                &sampled_on,
                &actor.username,
                now,
                &audit,
            )
            .await?;
        let stored = self
            .store
            .cold_chain_tests(batch.id)
            .await?
            .into_iter()
            .find(|t| t.id == test_id);
        let positive = stored
            .as_ref()
            .is_some_and(|t| rules::raises_alert(t.result));
        let mut alerts = Vec::new();
        if positive {
            let kind = stored.as_ref().map_or(kind, |t| t.kind);
            let raised = self.store.cold_chain_test_alert_regions(test_id).await?;
            let movements = self.store.cold_chain_movements(batch.id).await?;
            let mut targets: Vec<(String, String)> = movements
                .iter()
                .filter(|m| m.node == ChainNode::Market)
                .map(|m| (m.region_code.to_string(), m.place.clone()))
                .collect();
            if targets.is_empty() {
                targets.push((
                    batch.region_code.to_string(),
                    format!("{}（{}）", batch.port, batch.goods),
                ));
            }
            targets.dedup_by(|a, b| a.0 == b.0);
            for (region, place) in targets {
                if raised.contains(&region) {
                    continue;
                }
                let sample = format!(
                    "冷链批次 {} {}样本 {}",
                    batch.batch_no,
                    kind.label_zh(),
                    sample_no
                );
                let alert = triggers::alert_for(
                    SignalChannel::EnvironmentPositive,
                    &region,
                    format!("{place}：{sample} 核酸检测阳性"),
                    String::new(),
                    None,
                    now,
                );
                let report = EnvironmentWrite {
                    region_code: region.clone(),
                    place: place.clone(),
                    sample,
                    detected_at: now,
                    reported_by: actor.username.clone(),
                    reported_at: now,
                };
                let audit = audit_record(self, actor, "environment_positive", &region, &place);
                let alert_id = self
                    .store
                    .report_environment_positive(&report, &write_of(alert), &audit)
                    .await?;
                self.store
                    .link_cold_chain_alert(test_id, &region, alert_id)
                    .await?;
                alerts.push(alert_id);
            }
        }
        Ok(TestOutcome {
            test_id,
            status: if new { "recorded" } else { "already_recorded" },
            alerts,
        })
    }

    /// The batches registered in the jurisdiction or that reached a place in it (newest first).
    pub async fn cold_chain_batches(&self, actor: &Actor) -> AppResult<Vec<BatchRecord>> {
        Self::require_cold_chain_view(actor)?;
        let (lower, upper) = actor.jurisdiction.subtree_range();
        Ok(self
            .store
            .cold_chain_batches_in((&lower, &upper), 200)
            .await?)
    }

    /// A batch traced back to its origin and forward down its chain, with its tests and the
    /// cold-chain workers registered in the places it reached.
    pub async fn cold_chain_trace(&self, actor: &Actor, id: i64) -> AppResult<TraceView> {
        Self::require_cold_chain_view(actor)?;
        let batch = load_within(actor, self.store.cold_chain_batch(id)).await?;
        let movements = self.store.cold_chain_movements(batch.id).await?;
        let tests = self.store.cold_chain_tests(batch.id).await?;
        let mut regions: Vec<String> = movements
            .iter()
            .filter(|m| actor.jurisdiction.contains(&m.region_code))
            .map(|m| m.region_code.to_string())
            .collect();
        regions.sort();
        regions.dedup();
        let handlers = self
            .store
            .cold_chain_workers_in(&regions)
            .await?
            .into_iter()
            .map(|h| HandlerView {
                name: h.name.as_str().to_string(),
                id_masked: crate::population::mask_document(&h.id_type, h.id_number.as_str()),
                grid_code: h.grid_code,
            })
            .collect();
        Ok(TraceView {
            markets: movements
                .iter()
                .filter(|m| m.node == ChainNode::Market)
                .map(|m| m.place.clone())
                .collect(),
            movements: movements
                .into_iter()
                .map(|m| (m.node.label_zh().to_string(), m))
                .collect(),
            tests: tests
                .into_iter()
                .map(|t| {
                    (
                        t.kind.label_zh().to_string(),
                        t.result.label_zh().to_string(),
                        t,
                    )
                })
                .collect(),
            handlers,
            batch,
        })
    }
}
