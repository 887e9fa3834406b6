//! Today's work (今日待办): what a user's home page puts first, per role — the grid worker's leads to
//! land, people not yet swabbed, rechecks, missed check-ins and door alarms; the lab's boxes on the
//! road and tubes without results; transfers waiting; tests due at the sites; a resident's own
//! code, results and measure. Each item is a count read through the modules' own functions (the
//! same numbers their pages show) and the page that lists it. The commander's situation picture
//! (态势) comes with the command module; until then its home lists the lists a commander watches.

use fangkong_domain::region::RegionLevel;
use fangkong_domain::role::{Permission, Role};
use serde::Serialize;

use crate::leads::LeadFilter;
use crate::{Actor, App, AppError, AppResult};

/// One thing to do today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TodayItem {
    pub label: String,
    /// How many (None for a link with nothing to count).
    pub count: Option<i64>,
    pub href: String,
    /// Past a deadline or an alarm: shown first and in red.
    pub urgent: bool,
}

impl TodayItem {
    fn counted(label: &str, count: i64, href: impl Into<String>, urgent: bool) -> TodayItem {
        TodayItem {
            label: label.into(),
            count: Some(count),
            href: href.into(),
            urgent: urgent && count > 0,
        }
    }

    fn link(label: &str, href: impl Into<String>) -> TodayItem {
        TodayItem {
            label: label.into(),
            count: None,
            href: href.into(),
            urgent: false,
        }
    }
}

/// A count a role may not read is left out rather than failing the whole home page.
pub(crate) fn allowed<T>(result: AppResult<T>) -> AppResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(AppError::Forbidden { .. } | AppError::OutsideJurisdiction | AppError::NotFound(_)) => {
            Ok(None)
        }
        Err(other) => Err(other),
    }
}

impl App {
    /// The actor's work for today, urgent items first.
    pub async fn todays_work(&self, actor: &Actor) -> AppResult<Vec<TodayItem>> {
        let mut items = Vec::new();
        let jurisdiction = actor.jurisdiction.as_str().to_string();
        if actor.role.allows(Permission::ViewLeads) && actor.role != Role::Resident {
            self.lead_items(actor, &mut items).await?;
        }
        match actor.role {
            Role::GridWorker => {
                self.testing_items(actor, &jurisdiction, &mut items).await?;
                self.home_items(actor, &mut items).await?;
                self.delivery_items(actor, &mut items).await?;
                if actor.jurisdiction.level() == RegionLevel::Grid
                    && let Some(ledger) =
                        allowed(self.door_ledger(actor, &jurisdiction, self.today()).await)?
                {
                    items.push(TodayItem::counted(
                        "敲门行动：今天还未走访的住户",
                        ledger.households_total - ledger.households_visited,
                        format!("/door-ledger/{jurisdiction}"),
                        false,
                    ));
                }
            }
            Role::Sampler => {
                items.push(TodayItem::link("采样点扫码绑定", "/testing"));
                self.testing_items(actor, &jurisdiction, &mut items).await?;
            }
            Role::Lab => {
                self.lab_items(actor, &mut items).await?;
                items.push(TodayItem::link("上传检测结果", "/testing/results"));
            }
            Role::Transfer => self.transfer_items(actor, &mut items).await?,
            Role::IsolationSite => {
                if let Some(due) = allowed(self.measure_tests_due(actor).await)? {
                    items.push(TodayItem::counted(
                        "今天应做的隔离检测",
                        due.len() as i64,
                        "/isolation/measures",
                        false,
                    ));
                }
                items.push(TodayItem::link("隔离点房间与入住", "/isolation"));
                self.transfer_items(actor, &mut items).await?;
            }
            Role::Checkpoint => {
                items.push(TodayItem::link("卡口查验", "/checkpoints"));
                items.push(TodayItem::link("离线查验", "/checkpoints/offline"));
            }
            Role::Commander | Role::DutyOfficer | Role::Epidemiologist => {
                self.testing_items(actor, &jurisdiction, &mut items).await?;
                self.transfer_items(actor, &mut items).await?;
                self.home_items(actor, &mut items).await?;
                items.push(TodayItem::link("病例与密接", "/cases"));
                items.push(TodayItem::link("健康码赋码与申诉", "/codes"));
                items.push(TodayItem::link("风险区域划定与调整", "/risk-areas"));
            }
            Role::Resident => {
                items.push(TodayItem::link("我的健康码", "/me/code"));
                match self.my_results(actor).await {
                    Ok(mine) => items.push(TodayItem::counted(
                        "待复核（请按通知到采样点单管复检）",
                        mine.pending_rechecks,
                        "/me/results",
                        true,
                    )),
                    // An account not yet linked to the register: the page says what to do.
                    Err(AppError::Invalid(why)) => items.push(TodayItem {
                        label: why,
                        count: None,
                        href: "/me/results".into(),
                        urgent: true,
                    }),
                    Err(other) => return Err(other),
                }
                if let Ok(measure) = self.my_measure(actor).await
                    && measure.measure.is_some()
                {
                    items.push(TodayItem {
                        label: if measure.checked_in_today {
                            "居家隔离：今天已打卡".into()
                        } else {
                            "居家隔离：今天还未打卡".into()
                        },
                        count: None,
                        href: "/me/isolation".into(),
                        urgent: !measure.checked_in_today,
                    });
                }
                items.push(TodayItem::link("上报抗原自测", "/me/antigen"));
                items.push(TodayItem::link("主动报告", "/me/self-report"));
                items.push(TodayItem::link(
                    "生活物资和药品需求（封控、居家隔离）",
                    "/supplies/deliveries",
                ));
            }
            Role::Administrator => {
                items.push(TodayItem::link("用户与辖区", "/users"));
                items.push(TodayItem::link("审计日志", "/audit"));
                items.push(TodayItem::link("导入居民", "/import"));
            }
            Role::Supply => {
                // The reserves first: an item under the 30-day rule is the office's to fix today.
                let slot = self.supplies_slot(&actor.jurisdiction).await?;
                items.push(TodayItem::counted(
                    "物资储备：不足30天的物资",
                    slot.under,
                    "/supplies/reserves",
                    slot.under > 0,
                ));
                self.delivery_items(actor, &mut items).await?;
                items.push(TodayItem::link("保供企业与通行证", "/supplies/passes"));
                items.push(TodayItem::link("冷链食品追溯", "/supplies/cold-chain"));
            }
            Role::Vaccinator => {
                items.push(TodayItem::link("接种登记与导入", "/supplies/vaccination"));
            }
            // The sentinels' own pages add their day's work (early warning).
            Role::Clinic | Role::Pharmacy => {}
        }
        // Urgent first; otherwise the order above (the order of the day's work).
        items.sort_by_key(|item| !item.urgent);
        Ok(items)
    }

    /// Deliveries to the sealed and isolated households of the jurisdiction: past due (urgent),
    /// and still waiting for a slot or a courier.
    async fn delivery_items(&self, actor: &Actor, items: &mut Vec<TodayItem>) -> AppResult<()> {
        let Some(counts) = allowed(self.delivery_counts(actor).await)? else {
            return Ok(());
        };
        items.push(TodayItem::counted(
            "物资配送：超时未送达",
            counts.overdue,
            "/supplies/deliveries?overdue=1",
            true,
        ));
        items.push(TodayItem::counted(
            "物资配送：待排时段和待配送的需求",
            counts.requested + counts.allocated,
            "/supplies/deliveries",
            false,
        ));
        Ok(())
    }

    async fn lead_items(&self, actor: &Actor, items: &mut Vec<TodayItem>) -> AppResult<()> {
        let filter = |status: &str, overdue: bool| LeadFilter {
            status: status.into(),
            overdue,
            page: 1,
            ..LeadFilter::default()
        };
        if let Some(overdue) = allowed(self.leads_list(actor, &filter("", true)).await)? {
            items.push(TodayItem::counted(
                "超过24小时未落地的线索",
                overdue.total,
                "/leads?overdue=1",
                true,
            ));
        }
        if let Some(pending) = allowed(self.leads_list(actor, &filter("pending", false)).await)? {
            items.push(TodayItem::counted(
                "待落地线索",
                pending.total,
                "/leads?status=pending",
                false,
            ));
        }
        Ok(())
    }

    async fn testing_items(
        &self,
        actor: &Actor,
        jurisdiction: &str,
        items: &mut Vec<TodayItem>,
    ) -> AppResult<()> {
        if !actor.role.allows(Permission::ViewPopulation) {
            return Ok(());
        }
        if let Some(rechecks) = allowed(
            self.recheck_tasks_page(actor, jurisdiction, Some("pending"))
                .await,
        )? {
            items.push(TodayItem::counted(
                "待复核人员（单管复检）",
                rechecks.total,
                "/testing/rechecks",
                true,
            ));
        }
        let Some(rounds) = allowed(self.rounds(actor).await)? else {
            return Ok(());
        };
        for round in rounds.iter().filter(|r| r.is_open()) {
            if actor.jurisdiction.level() == RegionLevel::Grid {
                if let Some(grid) =
                    allowed(self.grid_coverage(actor, round.id, jurisdiction).await)?
                {
                    items.push(TodayItem::counted(
                        &format!("{}：本网格未采样", round.name),
                        grid.line.missing(),
                        format!("/testing/rounds/{}/grids/{jurisdiction}", round.id),
                        false,
                    ));
                }
            } else if let Some(overview) = allowed(self.round_overview(actor, round.id, "").await)?
            {
                items.push(TodayItem::counted(
                    &format!("{}：未采样", round.name),
                    overview.totals.missing(),
                    format!("/testing/rounds/{}", round.id),
                    false,
                ));
            }
        }
        Ok(())
    }

    async fn home_items(&self, actor: &Actor, items: &mut Vec<TodayItem>) -> AppResult<()> {
        if let Some(board) = allowed(self.home_board(actor).await)? {
            items.push(TodayItem::counted(
                "门磁报警",
                board.alarms.len() as i64,
                "/home-monitoring",
                true,
            ));
            items.push(TodayItem::counted(
                "居家隔离：昨天和今天都未打卡",
                board.missed,
                "/home-monitoring",
                true,
            ));
        }
        Ok(())
    }

    async fn lab_items(&self, actor: &Actor, items: &mut Vec<TodayItem>) -> AppResult<()> {
        let Some(rounds) = allowed(self.rounds(actor).await)? else {
            return Ok(());
        };
        let (mut on_road, mut late, mut waiting) = (0, 0, 0);
        for round in rounds.iter().filter(|r| r.is_open()) {
            if let Some(o) = allowed(self.round_overview(actor, round.id, "").await)? {
                on_road += o.boxes_in_transit.len() as i64;
                late += o.boxes_late;
                waiting += o.chain.received_no_result;
            }
        }
        items.push(TodayItem::counted(
            "超过2小时未送达的转运箱",
            late,
            "/testing/boxes",
            true,
        ));
        items.push(TodayItem::counted(
            "在途转运箱",
            on_road,
            "/testing/boxes",
            false,
        ));
        items.push(TodayItem::counted(
            "已接收未出结果的试管",
            waiting,
            "/testing/results",
            false,
        ));
        Ok(())
    }

    async fn transfer_items(&self, actor: &Actor, items: &mut Vec<TodayItem>) -> AppResult<()> {
        if let Some(board) = allowed(self.transfers_board(actor).await)? {
            items.push(TodayItem::counted(
                "等待救护车送医",
                board.to_hospitals.total,
                "/transfers",
                true,
            ));
            items.push(TodayItem::counted(
                "等待转运到隔离点",
                board.to_sites.total,
                "/transfers",
                false,
            ));
        }
        Ok(())
    }
}
