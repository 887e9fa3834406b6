//! Reserves: days of cover (可保障天数) per item and region against the 30-day full-load rule,
//! worst first; the demand list (需求清单) they imply; the command picture's card; the emergency
//! checklist's `check_supplies` task; the lists as CSV.
//!
//! The daily need of an item in a region is what the modules' work implies through the norms
//! (swabs and tubes from the tubes bound in the last 7 days, PPE per occupied isolation room and
//! per sampler of an open round's sites) plus the rates typed for the region; an item neither
//! gives is judged by its consumption in the ledger over the last 7 days.

use std::collections::BTreeMap;

use fangkong_domain::region::RegionCode;
use fangkong_domain::supplies::reserves::{self as rules, ModuleLoad};
use fangkong_store::supplies::reserves::RegionItemSum;
use serde::Serialize;

use super::reserves::{item_of, require_view, reserves_region};
use crate::{Actor, App, AppResult};

/// The days the modules' recent work is averaged over.
const RECENT_DAYS: i64 = 7;

/// Where an item's daily need comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum NeedBasis {
    /// The norms over the modules' work, and any typed rate (定额测算).
    Norms,
    /// A typed rate only (填报).
    Typed,
    /// The ledger's consumption over the last 7 days (台账近7日).
    Ledger,
    /// Nothing uses it.
    None,
}

impl NeedBasis {
    pub fn label_zh(self) -> &'static str {
        match self {
            NeedBasis::Norms => "按定额测算",
            NeedBasis::Typed => "按填报日用量",
            NeedBasis::Ledger => "按近7日台账消耗",
            NeedBasis::None => "无消耗",
        }
    }
}

/// One item's cover in one region.
#[derive(Debug, Clone, Serialize)]
pub struct CoverLine {
    pub region_code: String,
    pub region_name: String,
    pub item_code: String,
    pub item: String,
    pub class: &'static str,
    pub unit: String,
    pub on_hand: i64,
    /// The daily need, one decimal.
    pub daily_need: f64,
    pub basis: &'static str,
    pub days: Option<f64>,
    pub days_label: String,
    /// Under the 30-day rule.
    pub under: bool,
    /// What 30 days at full load take (需求量) and what is missing of it (缺口).
    pub need_30: i64,
    pub shortfall: i64,
}

/// The cover of a region: its items worst first, and each child region's items under the rule.
#[derive(Debug, Clone, Serialize)]
pub struct ReservesCover {
    pub region_code: String,
    pub region_name: String,
    pub full_load_days: i64,
    /// The region's items with stock or need, worst first.
    pub items: Vec<CoverLine>,
    /// The child regions' items (and the region's own warehouses, as its own code) with a need,
    /// worst first.
    pub by_region: Vec<CoverLine>,
    /// The region's items under the rule.
    pub under: i64,
    pub worst_days: Option<f64>,
    pub worst_label: String,
    pub worst_item: String,
}

/// The picture's supplies card.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SuppliesSlot {
    /// Whether any stock or need is known in the region.
    pub tracked: bool,
    pub worst_label: String,
    pub worst_item: String,
    pub under: i64,
}

#[derive(Default)]
struct Cell {
    on_hand: i64,
    norms: f64,
    typed: f64,
    ledger: f64,
}

impl Cell {
    fn need(&self) -> (f64, NeedBasis) {
        if self.norms > 0.0 {
            (self.norms + self.typed, NeedBasis::Norms)
        } else if self.typed > 0.0 {
            (self.typed, NeedBasis::Typed)
        } else if self.ledger > 0.0 {
            (self.ledger, NeedBasis::Ledger)
        } else {
            (0.0, NeedBasis::None)
        }
    }
}

fn line(code: &str, name: &str, item_code: &str, cell: &Cell) -> CoverLine {
    let (need, basis) = cell.need();
    let (item, unit, class) = item_of(item_code);
    let days = rules::days_of_cover(cell.on_hand, need);
    CoverLine {
        region_code: code.to_string(),
        region_name: name.to_string(),
        item_code: item_code.to_string(),
        item,
        class,
        unit,
        on_hand: cell.on_hand,
        daily_need: (need * 10.0).round() / 10.0,
        basis: basis.label_zh(),
        days,
        days_label: rules::days_label(days),
        under: rules::under_rule(days),
        need_30: (need * rules::FULL_LOAD_DAYS as f64).ceil() as i64,
        shortfall: rules::shortfall(cell.on_hand, need),
    }
}

fn sort_worst_first(lines: &mut [CoverLine]) {
    lines.sort_by(|a, b| {
        rules::worst_first((a.days, &a.item_code), (b.days, &b.item_code))
            .then_with(|| a.region_code.cmp(&b.region_code))
    });
}

impl App {
    /// The days of cover of `region` (empty: the jurisdiction), worst first.
    pub async fn reserves_cover(&self, actor: &Actor, region: &str) -> AppResult<ReservesCover> {
        require_view(actor)?;
        let region = reserves_region(actor, region)?;
        self.cover_of(&region, false).await
    }

    /// The days of cover of a region without an actor (the picture reads it for a region already
    /// checked; the benchmark; the checklist). `from_ledger`: the stock recomputed from every
    /// ledger line instead of read from the stock kept with them.
    pub async fn cover_of(
        &self,
        region: &RegionCode,
        from_ledger: bool,
    ) -> AppResult<ReservesCover> {
        let (lower, upper) = region.subtree_range();
        let range = (lower.as_str(), upper.as_str());
        let child_len = region
            .level()
            .child()
            .map_or(region.as_str().len(), |l| l.code_len());
        let len = child_len as i64;
        let since = self.now_unix() - RECENT_DAYS * 86_400;
        let catalogue = rules::catalogue();
        let mut cells: BTreeMap<String, BTreeMap<String, Cell>> = BTreeMap::new();
        let stock: Vec<RegionItemSum> = if from_ledger {
            self.store.ledger_by_region(range, len).await?
        } else {
            self.store.stock_by_region(range, len).await?
        };
        for s in stock {
            cells
                .entry(s.code)
                .or_default()
                .entry(s.item_code)
                .or_default()
                .on_hand += s.n;
        }
        let mut loads: BTreeMap<String, ModuleLoad> = BTreeMap::new();
        for t in self.store.tubes_by_region(range, len, since).await? {
            let load = loads.entry(t.code).or_default();
            load.tubes_per_day += t.a as f64 / RECENT_DAYS as f64;
            load.samples_per_day += t.b as f64 / RECENT_DAYS as f64;
        }
        for l in self.store.reserve_load_by_region(range, len).await? {
            let load = loads.entry(l.code).or_default();
            load.sampler_shifts_per_day += l.a as f64;
            load.occupied_rooms += l.b as f64;
        }
        for (code, load) in &loads {
            for (item, need) in catalogue.norm_need(load) {
                cells
                    .entry(code.clone())
                    .or_default()
                    .entry(item)
                    .or_default()
                    .norms += need;
            }
        }
        for rate in self.store.reserve_rates_in(range).await? {
            let code: String = rate.region_code.as_str().chars().take(child_len).collect();
            cells
                .entry(code)
                .or_default()
                .entry(rate.item_code)
                .or_default()
                .typed += rate.daily as f64;
        }
        for c in self.store.consumption_by_region(range, len, since).await? {
            cells
                .entry(c.code)
                .or_default()
                .entry(c.item_code)
                .or_default()
                .ledger += c.n.max(0) as f64 / RECENT_DAYS as f64;
        }

        let names = self
            .region_names(cells.keys().cloned().chain([region.as_str().to_string()]))
            .await?;
        let region_name = names
            .get(region.as_str())
            .cloned()
            .unwrap_or_else(|| region.as_str().to_string());
        let mut totals: BTreeMap<String, Cell> = BTreeMap::new();
        let mut by_region = Vec::new();
        for (code, items) in &cells {
            let name = names.get(code).cloned().unwrap_or_else(|| code.clone());
            for (item, cell) in items {
                let (need, basis) = cell.need();
                let total = totals.entry(item.clone()).or_default();
                total.on_hand += cell.on_hand;
                // The region's need is its parts' needs, each by its own basis.
                match basis {
                    NeedBasis::Norms => total.norms += need,
                    NeedBasis::Typed => total.typed += need,
                    NeedBasis::Ledger => total.ledger += need,
                    NeedBasis::None => {}
                }
                if need > 0.0 && code != region.as_str() {
                    by_region.push(line(code, &name, item, cell));
                }
            }
        }
        let mut items: Vec<CoverLine> = totals
            .iter()
            .filter(|(_, c)| c.on_hand != 0 || c.need().0 > 0.0)
            .map(|(item, cell)| line(region.as_str(), &region_name, item, cell))
            .collect();
        sort_worst_first(&mut items);
        sort_worst_first(&mut by_region);
        let under = items.iter().filter(|l| l.under).count() as i64;
        let worst = items.first().filter(|l| l.days.is_some());
        Ok(ReservesCover {
            region_code: region.as_str().to_string(),
            region_name,
            full_load_days: rules::FULL_LOAD_DAYS,
            worst_days: worst.and_then(|l| l.days),
            worst_label: worst.map_or_else(|| "—".into(), |l| l.days_label.clone()),
            worst_item: worst.map(|l| l.item.clone()).unwrap_or_default(),
            under,
            items,
            by_region,
        })
    }

    /// The picture's card for a region the caller has checked.
    pub(crate) async fn supplies_slot(&self, region: &RegionCode) -> AppResult<SuppliesSlot> {
        let cover = self.cover_of(region, false).await?;
        Ok(SuppliesSlot {
            tracked: !cover.items.is_empty(),
            worst_label: cover.worst_label,
            worst_item: cover.worst_item,
            under: cover.under,
        })
    }

    /// For the checklist's `check_supplies`: the region's tracked items when none is under the
    /// 30-day rule (and some stock is kept), else `None`.
    pub(crate) async fn supplies_covered(&self, region: &RegionCode) -> AppResult<Option<i64>> {
        let cover = self.cover_of(region, false).await?;
        let stocked = cover.items.iter().any(|l| l.on_hand > 0);
        Ok((stocked && cover.under == 0).then_some(cover.items.len() as i64))
    }

    /// One of the lists as CSV (两清单一台账): `demand` (需求清单), `stocks` (储备清单) or
    /// `ledger` (台账, the newest 100 pages at most). Returns the file name and the bytes.
    pub async fn reserves_csv(
        &self,
        actor: &Actor,
        region: &str,
        which: &str,
    ) -> AppResult<(String, Vec<u8>)> {
        require_view(actor)?;
        let mut rows: Vec<Vec<String>> = Vec::new();
        let name = match which {
            "demand" => {
                rows.push(
                    [
                        "区域",
                        "物资",
                        "类别",
                        "单位",
                        "库存",
                        "日需求",
                        "可保障天数",
                        "30天需求",
                        "缺口",
                        "测算依据",
                    ]
                    .map(String::from)
                    .to_vec(),
                );
                let cover = self.reserves_cover(actor, region).await?;
                for l in cover.items.iter().chain(cover.by_region.iter()) {
                    rows.push(vec![
                        l.region_name.clone(),
                        l.item.clone(),
                        l.class.to_string(),
                        l.unit.clone(),
                        l.on_hand.to_string(),
                        l.daily_need.to_string(),
                        l.days_label.clone(),
                        l.need_30.to_string(),
                        l.shortfall.to_string(),
                        l.basis.to_string(),
                    ]);
                }
                "需求清单"
            }
            "stocks" => {
                rows.push(
                    [
                        "区域",
                        "仓库",
                        "储备单位类型",
                        "物资",
                        "类别",
                        "单位",
                        "库存",
                        "更新时间",
                    ]
                    .map(String::from)
                    .to_vec(),
                );
                for s in self.reserve_stocks(actor, region).await?.rows {
                    rows.push(vec![
                        s.region_code,
                        s.warehouse,
                        s.owner_kind.to_string(),
                        s.item,
                        s.class.to_string(),
                        s.unit,
                        s.on_hand.to_string(),
                        s.updated,
                    ]);
                }
                "储备清单"
            }
            "ledger" => {
                rows.push(
                    [
                        "时间",
                        "仓库",
                        "物资",
                        "类型",
                        "变动",
                        "结存",
                        "单位",
                        "支援申请",
                        "备注",
                        "经办",
                    ]
                    .map(String::from)
                    .to_vec(),
                );
                for page in 0..100 {
                    let lines = self.reserve_ledger(actor, region, "", None, page).await?;
                    let done = lines.rows.len() < super::reserves::LEDGER_PAGE as usize;
                    for m in lines.rows {
                        rows.push(vec![
                            m.at,
                            m.warehouse,
                            m.item,
                            m.kind.to_string(),
                            m.delta.to_string(),
                            m.on_hand_after.to_string(),
                            m.unit,
                            m.support_request_id
                                .map(|i| i.to_string())
                                .unwrap_or_default(),
                            m.note,
                            m.by,
                        ]);
                    }
                    if done {
                        break;
                    }
                }
                "台账"
            }
            _ => {
                return Err(crate::AppError::Invalid(
                    "请选择需求清单、储备清单或台账".into(),
                ));
            }
        };
        let mut out = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
        for row in rows {
            out.write_record(crate::export::csv_record(row))
                .map_err(crate::AppError::internal)?;
        }
        let bytes = out.into_inner().map_err(crate::AppError::internal)?;
        Ok((format!("物资{name}.csv"), bytes))
    }
}
