//! Supplies: Reserves (物资储备). Warehouses kept by a command office, a hospital, an isolation
//! site or a testing site; the ledger (台账) of movements — in, out, transfer, consumption,
//! stocktake — each one transaction with the stock on hand and its audit row, a movement below
//! zero refused with the reason; the daily rates typed where no module's norm knows the use. The
//! days of cover and the lists are in `reserves_cover.rs`, the support between regions in
//! `reserves_support.rs`.

use chrono::DateTime;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Permission;
use fangkong_domain::supplies::reserves::{
    self as rules, Catalogue, Item, MovementKind, OwnerKind,
};
use fangkong_domain::time::beijing_label;
use fangkong_store::supplies::reserves::{
    MovementRow, MovementWrite, RateRecord, StockRow, WarehouseRecord,
};
use serde::{Deserialize, Serialize};

use crate::scope::{Placed, load_within};
use crate::{Actor, App, AppError, AppResult, Page, audit_record, parse_region_code};

/// A ledger line of the benchmark's bulk load (`fangkong bench reserves`).
pub use fangkong_store::supplies::reserves::LoadedLine;

/// Rows of the ledger per page.
pub const LEDGER_PAGE: i64 = 100;
/// Rows of the reserve list (储备清单) at most.
pub const STOCK_ROWS: i64 = 5_000;

impl Placed for WarehouseRecord {
    const WHAT: &'static str = "该仓库";
    fn place(&self) -> &str {
        self.region_code.as_str()
    }
}

/// A warehouse to register.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WarehouseForm {
    pub name: String,
    pub region_code: String,
    pub owner_kind: String,
    pub owner_name: String,
}

/// A movement as typed (the page or the API). `to_warehouse_id` is a transfer's destination;
/// for a stocktake `quantity` is the count.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MovementForm {
    pub warehouse_id: String,
    pub item: String,
    pub kind: String,
    pub quantity: String,
    pub to_warehouse_id: String,
    pub note: String,
}

/// A daily rate typed for an item in a region (where no norm gives the use).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RateForm {
    pub region_code: String,
    pub item: String,
    pub daily: String,
    pub note: String,
}

/// A movement parsed: everything checked but the stock.
#[derive(Debug, Clone, PartialEq)]
pub struct MovementCommand {
    pub warehouse_id: i64,
    pub item: &'static Item,
    pub kind: MovementKind,
    pub quantity: i64,
    pub to_warehouse_id: Option<i64>,
    pub note: String,
}

fn parse_id(label: &str, raw: &str) -> AppResult<i64> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::field(label, "请选择"))
}

pub(crate) fn catalogue_item(raw: &str) -> AppResult<&'static Item> {
    rules::catalogue().item(raw).ok_or_else(|| {
        AppError::field(
            "物资",
            if raw.trim().is_empty() {
                "请选择物资".to_string()
            } else {
                format!(
                    "“{}”不在物资储备目录中",
                    crate::import::shown(raw.trim(), 30)
                )
            },
        )
    })
}

pub(crate) fn note_of(raw: &str) -> AppResult<String> {
    let note = raw.trim();
    if note.chars().count() > 200 {
        return Err(AppError::field("备注", "不能超过200个字"));
    }
    Ok(note.to_string())
}

impl TryFrom<&MovementForm> for MovementCommand {
    type Error = AppError;

    fn try_from(form: &MovementForm) -> AppResult<MovementCommand> {
        let warehouse_id = parse_id("仓库", &form.warehouse_id)?;
        let item = catalogue_item(&form.item)?;
        let kind = MovementKind::from_code(form.kind.trim())
            .ok_or_else(|| AppError::field("类型", "请选择入库、出库、调拨、消耗或盘点"))?;
        let quantity = rules::check_quantity(&form.quantity, kind == MovementKind::Stocktake)
            .map_err(|e| {
                AppError::field(
                    if kind == MovementKind::Stocktake {
                        "盘点数量"
                    } else {
                        "数量"
                    },
                    e,
                )
            })?;
        let to_warehouse_id = if kind == MovementKind::Transfer {
            let to = parse_id("调入仓库", &form.to_warehouse_id)?;
            if to == warehouse_id {
                return Err(AppError::field("调入仓库", "不能调拨到同一仓库"));
            }
            Some(to)
        } else {
            None
        };
        Ok(MovementCommand {
            warehouse_id,
            item,
            kind,
            quantity,
            to_warehouse_id,
            note: note_of(&form.note)?,
        })
    }
}

/// A warehouse as pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct WarehouseView {
    pub id: i64,
    pub name: String,
    pub region_code: String,
    pub owner_kind: &'static str,
    pub owner_name: String,
}

/// A ledger line as the ledger shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MovementView {
    pub id: i64,
    pub at: String,
    pub warehouse_id: i64,
    pub warehouse: String,
    pub region_code: String,
    pub item_code: String,
    pub item: String,
    pub unit: String,
    pub kind: &'static str,
    pub delta: i64,
    pub on_hand_after: i64,
    pub counterpart_id: Option<i64>,
    pub support_request_id: Option<i64>,
    pub note: String,
    pub by: String,
}

/// One warehouse's stock of an item (储备清单).
#[derive(Debug, Clone, Serialize)]
pub struct StockView {
    pub warehouse_id: i64,
    pub warehouse: String,
    pub region_code: String,
    pub owner_kind: &'static str,
    pub item_code: String,
    pub item: String,
    pub class: &'static str,
    pub unit: String,
    pub on_hand: i64,
    pub updated: String,
}

pub(crate) fn label(at: i64) -> String {
    DateTime::from_timestamp(at, 0)
        .map(beijing_label)
        .unwrap_or_default()
}

pub(crate) fn item_of(code: &str) -> (String, String, &'static str) {
    match rules::catalogue().item(code) {
        Some(i) => (i.name.clone(), i.unit.clone(), i.class.label_zh()),
        None => (code.to_string(), String::new(), ""),
    }
}

pub(crate) fn view_warehouse(w: WarehouseRecord) -> WarehouseView {
    WarehouseView {
        id: w.id,
        name: w.name,
        region_code: w.region_code.into(),
        owner_kind: w.owner_kind.label_zh(),
        owner_name: w.owner_name,
    }
}

fn view_movement(m: MovementRow) -> MovementView {
    let (item, unit, _) = item_of(&m.item_code);
    MovementView {
        id: m.id,
        at: label(m.at),
        warehouse_id: m.warehouse_id,
        warehouse: m.warehouse_name,
        region_code: m.region_code.into(),
        item_code: m.item_code,
        item,
        unit,
        kind: m.kind.label_zh(),
        delta: m.delta,
        on_hand_after: m.on_hand_after,
        counterpart_id: m.counterpart_id,
        support_request_id: m.support_request_id,
        note: m.note,
        by: crate::scope::masked_username(&m.created_by),
    }
}

fn view_stock(s: StockRow) -> StockView {
    let (item, unit, class) = item_of(&s.item_code);
    StockView {
        warehouse_id: s.warehouse_id,
        warehouse: s.warehouse_name,
        region_code: s.region_code.into(),
        owner_kind: s.owner_kind.label_zh(),
        item_code: s.item_code,
        item,
        class,
        unit,
        on_hand: s.on_hand,
        updated: label(s.updated_at),
    }
}

/// The change a line makes: the receiving side of a transfer adds, the rest by the rule.
pub(crate) fn line_delta(line: &MovementWrite, on_hand: i64) -> Result<i64, String> {
    let kind = MovementKind::from_code(&line.kind).ok_or("未知的出入库类型")?;
    let item = rules::catalogue()
        .item(&line.item_code)
        .ok_or("物资不在目录中")?;
    if line.incoming {
        return Ok(line.quantity);
    }
    rules::movement_delta(kind, line.quantity, on_hand, item)
}

/// The region a reserves page shows: the jurisdiction when `raw` is empty, else one inside it.
pub(crate) fn reserves_region(actor: &Actor, raw: &str) -> AppResult<RegionCode> {
    let region = if raw.trim().is_empty() {
        actor.jurisdiction.clone()
    } else {
        parse_region_code(raw)?
    };
    actor.require_within(&region)?;
    Ok(region)
}

pub(crate) fn require_view(actor: &Actor) -> AppResult<()> {
    if actor.role.allows(Permission::ManageReserves) {
        return Ok(());
    }
    actor.require(Permission::ViewSupplies)
}

impl App {
    /// The catalogue (for forms and the API).
    pub fn reserves_catalogue(&self) -> &'static Catalogue {
        rules::catalogue()
    }

    /// Registers a warehouse in the actor's jurisdiction.
    pub async fn create_warehouse(&self, actor: &Actor, form: &WarehouseForm) -> AppResult<i64> {
        actor.require(Permission::ManageReserves)?;
        let name = form.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::field("仓库名称", "不能为空，最多60个字"));
        }
        let owner = OwnerKind::from_code(form.owner_kind.trim()).ok_or_else(|| {
            AppError::field("储备单位类型", "请选择指挥部、医院、隔离点或采样检测点")
        })?;
        let owner_name = form.owner_name.trim();
        if owner_name.is_empty() || owner_name.chars().count() > 60 {
            return Err(AppError::field("储备单位", "不能为空，最多60个字"));
        }
        let region = RegionCode::parse(form.region_code.trim())
            .map_err(|e| AppError::field("所在区域", e))?;
        actor.require_within(&region)?;
        let record = WarehouseRecord {
            id: 0,
            name: name.to_string(),
            region_code: region.clone(),
            owner_kind: owner,
            owner_name: owner_name.to_string(),
            created_by: actor.username.clone(),
            created_at: self.now_unix(),
        };
        let audit = audit_record(self, actor, "create_warehouse", "", name);
        self.store
            .create_warehouse(&record, &audit)
            .await?
            .ok_or_else(|| AppError::Conflict(format!("该区域已有名为“{name}”的仓库")))
    }

    /// The warehouses of the actor's jurisdiction (or a region inside it).
    pub async fn warehouses(&self, actor: &Actor, region: &str) -> AppResult<Vec<WarehouseView>> {
        require_view(actor)?;
        let region = reserves_region(actor, region)?;
        let (lower, upper) = region.subtree_range();
        Ok(self
            .store
            .warehouses_in((lower.as_str(), upper.as_str()))
            .await?
            .into_iter()
            .map(view_warehouse)
            .collect())
    }

    /// Records one movement (a transfer: its two lines) in one transaction with the stock and the
    /// audit row. A movement that would leave less than nothing is refused with the reason.
    /// Returns the ledger line ids.
    pub async fn record_movement(&self, actor: &Actor, form: &MovementForm) -> AppResult<Vec<i64>> {
        actor.require(Permission::ManageReserves)?;
        let command = MovementCommand::try_from(form)?;
        let warehouse = load_within(actor, self.store.warehouse(command.warehouse_id)).await?;
        let mut lines = vec![MovementWrite {
            warehouse_id: warehouse.id,
            region_code: warehouse.region_code.to_string(),
            item_code: command.item.code.clone(),
            kind: command.kind.code().to_string(),
            quantity: command.quantity,
            incoming: false,
            counterpart_id: command.to_warehouse_id,
            note: command.note.clone(),
        }];
        if let Some(to) = command.to_warehouse_id {
            let to = load_within(actor, self.store.warehouse(to)).await?;
            lines.push(MovementWrite {
                warehouse_id: to.id,
                region_code: to.region_code.to_string(),
                counterpart_id: Some(warehouse.id),
                incoming: true,
                ..lines[0].clone()
            });
        }
        let audit = audit_record(
            self,
            actor,
            "record_reserve_movement",
            "",
            format!(
                "{} {} {} {}{}",
                warehouse.name,
                command.kind.label_zh(),
                command.item.name,
                command.quantity,
                command.item.unit
            ),
        );
        self.store
            .record_movements(
                &lines,
                line_delta,
                self.now_unix(),
                &actor.username,
                Some(&audit),
            )
            .await?
            .map_err(AppError::Invalid)
    }

    /// Writes ledger lines without an actor (the demo and the benchmark), as a warehouse system
    /// would; refused like the page refuses.
    pub async fn record_movements_unchecked(
        &self,
        lines: &[MovementWrite],
        by: &str,
    ) -> AppResult<Vec<i64>> {
        self.store
            .record_movements(lines, line_delta, self.now_unix(), by, None)
            .await?
            .map_err(AppError::Invalid)
    }

    /// Sets the daily rate of an item in a region (typed where no module's norm gives the use;
    /// 0 removes it from the need).
    pub async fn set_reserve_rate(&self, actor: &Actor, form: &RateForm) -> AppResult<()> {
        actor.require(Permission::ManageReserves)?;
        let item = catalogue_item(&form.item)?;
        let daily =
            rules::check_quantity(&form.daily, true).map_err(|e| AppError::field("每日用量", e))?;
        let note = note_of(&form.note)?;
        let region =
            RegionCode::parse(form.region_code.trim()).map_err(|e| AppError::field("区域", e))?;
        actor.require_within(&region)?;
        let record = RateRecord {
            region_code: region.clone(),
            item_code: item.code.clone(),
            daily,
            note,
            set_by: actor.username.clone(),
            set_at: self.now_unix(),
        };
        let audit = audit_record(
            self,
            actor,
            "set_reserve_rate",
            format!("region:{}", region.as_str()),
            format!("{} 每日{}{}", item.name, daily, item.unit),
        );
        self.store.set_reserve_rate(&record, &audit).await?;
        Ok(())
    }

    /// The ledger (台账) of a region, newest first, optionally one item or one warehouse.
    pub async fn reserve_ledger(
        &self,
        actor: &Actor,
        region: &str,
        item: &str,
        warehouse: Option<i64>,
        page: i64,
    ) -> AppResult<Page<MovementView>> {
        require_view(actor)?;
        let region = reserves_region(actor, region)?;
        let item = if item.trim().is_empty() {
            None
        } else {
            Some(catalogue_item(item)?.code.as_str())
        };
        let (lower, upper) = region.subtree_range();
        let offset = page.clamp(0, 10_000) * LEDGER_PAGE;
        let (rows, total) = self
            .store
            .movements_in(
                (lower.as_str(), upper.as_str()),
                item,
                warehouse,
                LEDGER_PAGE,
                offset,
            )
            .await?;
        Ok(Page::new(
            rows.into_iter().map(view_movement).collect(),
            total,
        ))
    }

    /// The reserve list (储备清单): every warehouse's stock of every item in a region.
    pub async fn reserve_stocks(&self, actor: &Actor, region: &str) -> AppResult<Page<StockView>> {
        require_view(actor)?;
        let region = reserves_region(actor, region)?;
        let (lower, upper) = region.subtree_range();
        let rows = self
            .store
            .stocks_in((lower.as_str(), upper.as_str()), STOCK_ROWS)
            .await?;
        let total = rows.len() as i64;
        Ok(Page::new(rows.into_iter().map(view_stock).collect(), total))
    }
}
