//! Supplies: Deliveries (物资配送, 最后一百米).
//!
//! A household under home measures or inside a sealed or high-risk area asks for goods: the
//! resident on their phone (for their own household), or the grid worker for a resident of their
//! grid without a phone (an elderly person living alone is flagged). A request from outside that
//! set is taken and flagged with the reason. Who is inside comes from the existing modules: an open
//! measure at home (`isolation_measures`) of any member of the household, or a current sealed or
//! high-risk area (`risk_areas`) containing the household's grid. The supply office (or the grid
//! worker) sets collection points per compound or village with staggered slots; an allocation
//! gives each waiting request a slot by `domain::supplies::deliveries::allocate` (medicine and
//! urgent first); volunteers or couriers take them out, and each step is recorded with its time.
//! Open requests past their due time are on the late list (medicine due within 2–6 h).

use chrono::DateTime;
use fangkong_domain::ids::mask_middle;
use fangkong_domain::region::RegionCode;
use fangkong_domain::risk_area::AreaTier;
use fangkong_domain::role::{Permission, Role};
use fangkong_domain::supplies::deliveries::{
    self as rules, DeliveryCategory, DeliveryStatus, Eligibility, RequestChannel, SlotPlan,
    ToAllocate, Urgency,
};
use fangkong_domain::time::{beijing_label, beijing_midnight};
use fangkong_store::ResidentRecord;
/// A request as stored (the demo and the benchmark write households' requests with it).
pub use fangkong_store::supplies::deliveries::DeliveryRecord;
use fangkong_store::supplies::deliveries::{
    DeliveryCounts, DeliveryFilter, DeliveryPointRecord, SlotGiven, StepWrite,
};
use serde::{Deserialize, Serialize};

use crate::scope::{Placed, load_within};
use crate::{Actor, App, AppError, AppResult, Page, audit_record};

/// Rows of one page of the board.
pub const DELIVERIES_PER_PAGE: i64 = 100;
/// The most waiting requests one allocation takes (the oldest first).
pub const ALLOCATE_AT_MOST: i64 = 20_000;

impl Placed for DeliveryRecord {
    const WHAT: &'static str = "该配送需求";
    fn place(&self) -> &str {
        &self.grid_code
    }
}

/// A request as typed: by a resident for their household, or by a grid worker for the resident
/// whose ID number is given.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct DeliveryForm {
    /// The resident's ID number (a grid worker's form; a resident's own form leaves it empty).
    pub id_number: String,
    pub category: String,
    pub urgency: String,
    pub items: String,
}

impl std::fmt::Debug for DeliveryForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryForm")
            .field("category", &self.category)
            .field("urgency", &self.urgency)
            .field("for_someone", &!self.id_number.is_empty())
            .finish_non_exhaustive()
    }
}

/// A collection point to set up.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PointForm {
    pub name: String,
    pub region_code: String,
    pub address: String,
    /// "08:00".
    pub first_start: String,
    pub slot_minutes: String,
    pub slots_per_day: String,
    pub capacity: String,
}

/// A step of the fulfilment: `out` (with the courier), `delivered`, `failed` (with the reason).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StepForm {
    pub status: String,
    pub courier: String,
    pub note: String,
}

/// A request parsed before anything is read.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestDelivery {
    pub id_number: Option<String>,
    pub category: DeliveryCategory,
    pub urgency: Urgency,
    pub items: String,
}

impl std::fmt::Debug for RequestDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestDelivery")
            .field("category", &self.category)
            .field("urgency", &self.urgency)
            .field("for_someone", &self.id_number.is_some())
            .finish_non_exhaustive()
    }
}

impl TryFrom<&DeliveryForm> for RequestDelivery {
    type Error = AppError;
    fn try_from(form: &DeliveryForm) -> AppResult<RequestDelivery> {
        let category = DeliveryCategory::from_code(form.category.trim())
            .ok_or_else(|| AppError::field("需求类别", "请选择：药品、母婴用品、生活物资或其他"))?;
        let urgency = match form.urgency.trim() {
            "" => Urgency::Normal,
            code => Urgency::from_code(code)
                .ok_or_else(|| AppError::field("紧急程度", "请选择紧急或一般"))?,
        };
        let items = rules::check_items(&form.items).map_err(|e| AppError::field("物品", e))?;
        let id_number = form.id_number.trim();
        if id_number.chars().count() > 40 {
            return Err(AppError::field("证件号码", "不能超过40个字符"));
        }
        Ok(RequestDelivery {
            id_number: (!id_number.is_empty()).then(|| id_number.to_string()),
            category,
            urgency,
            items,
        })
    }
}

/// A step parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepDelivery {
    pub to: DeliveryStatus,
    pub courier: Option<String>,
    pub note: String,
}

impl TryFrom<&StepForm> for StepDelivery {
    type Error = AppError;
    fn try_from(form: &StepForm) -> AppResult<StepDelivery> {
        let to = match DeliveryStatus::from_code(form.status.trim()) {
            Some(
                s @ (DeliveryStatus::OutForDelivery
                | DeliveryStatus::Delivered
                | DeliveryStatus::Failed),
            ) => s,
            _ => {
                return Err(AppError::field(
                    "配送状态",
                    "请选择：配送中、已送达或未送达",
                ));
            }
        };
        let courier = form.courier.trim();
        if courier.chars().count() > 40 {
            return Err(AppError::field("配送人", "不能超过40个字"));
        }
        if to == DeliveryStatus::OutForDelivery && courier.is_empty() {
            return Err(AppError::field("配送人", "请填写志愿者或快递员姓名"));
        }
        let note = form.note.trim();
        if note.chars().count() > 200 {
            return Err(AppError::field("说明", "不能超过200个字"));
        }
        if to == DeliveryStatus::Failed && note.is_empty() {
            return Err(AppError::field("说明", "请写明未送达的原因"));
        }
        Ok(StepDelivery {
            to,
            courier: (!courier.is_empty()).then(|| courier.to_string()),
            note: note.to_string(),
        })
    }
}

/// A point's plan parsed.
pub(crate) fn parse_point(form: &PointForm) -> AppResult<(String, RegionCode, String, SlotPlan)> {
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(AppError::field("收货点名称", "不能为空，最多60个字"));
    }
    let region = RegionCode::parse(form.region_code.trim())
        .map_err(|e| AppError::field("所在小区/村", e))?;
    let address = form.address.trim();
    if address.chars().count() > 100 {
        return Err(AppError::field("地址", "最多100个字"));
    }
    let first = form.first_start.trim();
    let first_start_minute = match first.split_once(':') {
        Some((h, m)) => match (h.parse::<i64>(), m.parse::<i64>()) {
            (Ok(h), Ok(m)) if (0..24).contains(&h) && (0..60).contains(&m) => h * 60 + m,
            _ => return Err(AppError::field("第一个时段开始", "请写成 08:00 的样子")),
        },
        None if first.is_empty() => 8 * 60,
        None => return Err(AppError::field("第一个时段开始", "请写成 08:00 的样子")),
    };
    let number = |raw: &str, default: i64, label: &str| -> AppResult<i64> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(default);
        }
        raw.parse::<i64>()
            .map_err(|_| AppError::field(label, "请填写整数"))
    };
    let plan = SlotPlan {
        first_start_minute,
        slot_minutes: number(&form.slot_minutes, 30, "每个时段分钟数")?,
        slots_per_day: number(&form.slots_per_day, 8, "每天时段数")?,
        capacity: number(&form.capacity, 20, "每个时段户数")?,
    }
    .check()
    .map_err(|e| AppError::field("时段安排", e))?;
    Ok((name.to_string(), region, address.to_string(), plan))
}

/// A request as pages show it: the name, phone and address masked.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    pub id: i64,
    pub grid_code: String,
    pub household: String,
    pub resident_masked: String,
    pub phone_masked: String,
    pub address_masked: String,
    pub category: &'static str,
    pub category_code: String,
    pub urgent: bool,
    pub items: String,
    pub channel: &'static str,
    pub eligibility: &'static str,
    pub flagged: bool,
    pub elderly_alone: bool,
    pub status: &'static str,
    pub status_code: String,
    pub point: String,
    pub slot: String,
    pub courier: String,
    pub requested_at: String,
    pub due: String,
    pub overdue: bool,
    /// "已提交 11-20 10:00 · 已排时段 11-20 10:05 …" — each step with its time.
    pub steps: Vec<String>,
}

/// A collection point as pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct PointView {
    pub id: i64,
    pub name: String,
    pub region_code: String,
    pub address: String,
    /// "08:00 起，每段30分钟，每天8段，每段20户".
    pub plan: String,
}

/// The board of a jurisdiction: counts, points, the requests.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryBoard {
    pub counts: DeliveryCounts,
    pub points: Vec<PointView>,
    pub requests: Page<DeliveryView>,
}

/// A resident's own household's requests.
#[derive(Debug, Clone, Serialize)]
pub struct MyDeliveries {
    pub eligibility: &'static str,
    pub flagged: bool,
    pub requests: Vec<DeliveryView>,
}

/// What an allocation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AllocationReport {
    pub waiting: i64,
    pub allocated: i64,
    /// Waiting requests whose compound has no collection point in the jurisdiction.
    pub without_point: i64,
    /// Waiting requests left because their point's slots today and tomorrow are full.
    pub slots_full: i64,
}

fn label(at: i64) -> String {
    DateTime::from_timestamp(at, 0)
        .map(beijing_label)
        .unwrap_or_default()
}

fn plan_of(p: &DeliveryPointRecord) -> SlotPlan {
    SlotPlan {
        first_start_minute: p.first_start_minute,
        slot_minutes: p.slot_minutes,
        slots_per_day: p.slots_per_day,
        capacity: p.capacity,
    }
}

fn view_point(p: &DeliveryPointRecord) -> PointView {
    PointView {
        id: p.id,
        name: p.name.clone(),
        region_code: p.region_code.to_string(),
        address: p.address.clone(),
        plan: format!(
            "{:02}:{:02} 起，每段{}分钟，每天{}段，每段{}户",
            p.first_start_minute / 60,
            p.first_start_minute % 60,
            p.slot_minutes,
            p.slots_per_day,
            p.capacity
        ),
    }
}

pub(crate) fn view_delivery(
    r: DeliveryRecord,
    points: &[DeliveryPointRecord],
    steps: &[fangkong_store::supplies::deliveries::DeliveryStepRecord],
    now: i64,
) -> DeliveryView {
    let (status, eligibility) = (r.status, r.eligibility);
    DeliveryView {
        id: r.id,
        household: r.household_number.clone(),
        resident_masked: mask_middle(&r.name, 1, 0),
        phone_masked: fangkong_domain::phone::PhoneNumber::parse(&r.phone)
            .map(|p| p.masked())
            .unwrap_or_default(),
        address_masked: mask_middle(&r.address, 6, 0),
        category: r.category.label_zh(),
        category_code: r.category.code().to_string(),
        urgent: r.urgency == Urgency::Urgent,
        items: r.items.clone(),
        channel: r.channel.label_zh(),
        eligibility: eligibility.label_zh(),
        flagged: eligibility == Eligibility::Outside,
        elderly_alone: r.elderly_alone,
        status: status.label_zh(),
        status_code: status.code().to_string(),
        point: r
            .point_id
            .and_then(|id| points.iter().find(|p| p.id == id))
            .map(|p| p.name.clone())
            .unwrap_or_default(),
        slot: r.slot_start.map(label).unwrap_or_default(),
        courier: r.courier.clone(),
        requested_at: label(r.requested_at),
        due: label(r.due_at),
        overdue: status.is_open() && r.due_at < now,
        steps: steps
            .iter()
            .filter(|s| s.request_id == r.id)
            .map(|s| {
                let words = s.status.label_zh();
                if s.note.is_empty() {
                    format!("{words} {}", label(s.at))
                } else {
                    format!("{words} {}（{}）", label(s.at), s.note)
                }
            })
            .collect(),
        grid_code: r.grid_code,
    }
}

impl App {
    /// The collection points serving the actor's jurisdiction: those inside it, and those of the
    /// village or township above it (a grid worker's village point serves their grid).
    async fn points_serving(&self, actor: &Actor) -> AppResult<Vec<DeliveryPointRecord>> {
        let (lower, upper) = actor.jurisdiction_range();
        let code = actor.jurisdiction.as_str();
        let ancestors: Vec<String> = [6usize, 9, 12]
            .iter()
            .filter(|&&len| code.len() > len)
            .map(|&len| code[..len].to_string())
            .collect();
        let mut points = self.store.delivery_points_at(&ancestors).await?;
        points.extend(self.store.delivery_points_in((&lower, &upper)).await?);
        Ok(points)
    }

    /// Why a resident's household may ask for deliveries: a member under a measure at home, or a
    /// current sealed or high-risk area around the household's grid; otherwise `Outside`.
    pub(crate) async fn delivery_eligibility(
        &self,
        resident: &ResidentRecord,
    ) -> AppResult<Eligibility> {
        let members = if resident.household_number.is_empty() {
            vec![resident.clone()]
        } else {
            self.store
                .household_members(&resident.household_number)
                .await?
        };
        for m in members.iter().take(30) {
            if let Some(measure) = self
                .store
                .open_measure_of(&m.id_type, m.id_number.as_str())
                .await?
                && measure.status == fangkong_domain::isolation::MeasureStatus::AtHome
            {
                return Ok(Eligibility::HomeMeasure);
            }
        }
        let areas = self
            .store
            .active_risk_areas_around(&resident.grid_code)
            .await?;
        let sealed = areas.iter().any(|a| {
            resident.grid_code.starts_with(a.region_code.as_str())
                && matches!(a.tier, AreaTier::High | AreaTier::Sealed)
        });
        Ok(if sealed {
            Eligibility::SealedArea
        } else {
            Eligibility::Outside
        })
    }

    /// A request for a household: by the resident for their own, or by a grid worker (or the
    /// command office) for the resident named by ID number in their jurisdiction. One
    /// transaction: the request, its first step, the audit record.
    pub async fn request_delivery(&self, actor: &Actor, form: &DeliveryForm) -> AppResult<i64> {
        actor.require(Permission::RequestDeliveries)?;
        let command = RequestDelivery::try_from(form)?;
        let (resident, channel) = if actor.role == Role::Resident {
            (self.own_resident(actor).await?, RequestChannel::Resident)
        } else {
            let Some(number) = &command.id_number else {
                return Err(AppError::field(
                    "证件号码",
                    "请填写要代为申请的居民的证件号码",
                ));
            };
            let (lower, upper) = actor.jurisdiction_range();
            let found = self
                .store
                .search_residents(
                    fangkong_store::SearchField::IdNumber,
                    number,
                    (&lower, &upper),
                    2,
                )
                .await?;
            let first = found.into_iter().next().ok_or(AppError::NotFound(
                "该证件号码的居民（请核对号码，或先登记到实有人口）",
            ))?;
            let resident = load_within(actor, self.store.resident(first.id)).await?;
            (resident, RequestChannel::GridWorker)
        };
        let eligibility = self.delivery_eligibility(&resident).await?;
        let members = match self.store.household(&resident.household_number).await? {
            Some(h) => h.members,
            None => 1,
        };
        let birth = chrono::NaiveDate::parse_from_str(&resident.birth_date, "%Y-%m-%d").ok();
        let now = self.now_unix();
        let address = resident.address.to_string();
        let record = DeliveryRecord {
            id: 0,
            grid_code: resident.grid_code.clone(),
            household_number: resident.household_number.clone(),
            resident_id: resident.id,
            name: resident.name.to_string(),
            phone: resident
                .phone
                .as_ref()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            address,
            category: command.category,
            urgency: command.urgency,
            items: command.items.clone(),
            channel,
            eligibility,
            elderly_alone: rules::elderly_living_alone(birth, self.today(), members),
            status: DeliveryStatus::Requested,
            point_id: None,
            slot_start: None,
            courier: String::new(),
            requested_at: now,
            due_at: now + rules::due_hours(command.category, command.urgency) * 3600,
            updated_at: now,
            created_by: actor.username.clone(),
        };
        let audit = audit_record(
            self,
            actor,
            "request_delivery",
            "",
            format!(
                "{} {}{}",
                command.category.label_zh(),
                command.urgency.label_zh(),
                if eligibility == Eligibility::Outside {
                    "（不在封控隔离范围，已标记）"
                } else {
                    ""
                }
            ),
        );
        Ok(self.store.insert_delivery(&record, &audit).await?)
    }

    /// The resident's own household: why it may ask, and its requests.
    pub async fn my_deliveries(&self, actor: &Actor) -> AppResult<MyDeliveries> {
        actor.require(Permission::RequestDeliveries)?;
        let resident = self.own_resident(actor).await?;
        let eligibility = self.delivery_eligibility(&resident).await?;
        let rows = if resident.household_number.is_empty() {
            Vec::new()
        } else {
            self.store
                .deliveries_of_household(&resident.household_number)
                .await?
        };
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let steps = self.store.delivery_steps(&ids).await?;
        // The points of the household's township (a point of its compound or village among them).
        let township: String = resident.grid_code.chars().take(9).collect();
        let points = self
            .store
            .delivery_points_in((&township, &format!("{township}:")))
            .await?;
        let now = self.now_unix();
        Ok(MyDeliveries {
            eligibility: eligibility.label_zh(),
            flagged: eligibility == Eligibility::Outside,
            requests: rows
                .into_iter()
                .map(|r| view_delivery(r, &points, &steps, now))
                .collect(),
        })
    }

    /// May the actor see the jurisdiction's requests (the supply office, the grid worker, the
    /// command office)?
    fn require_delivery_board(actor: &Actor) -> AppResult<()> {
        if actor.role.allows(Permission::FulfilDeliveries) {
            Ok(())
        } else {
            actor.require(Permission::ViewSupplies)
        }
    }

    /// Requests per status in the actor's jurisdiction, the flagged and the overdue.
    pub async fn delivery_counts(&self, actor: &Actor) -> AppResult<DeliveryCounts> {
        Self::require_delivery_board(actor)?;
        let (lower, upper) = actor.jurisdiction_range();
        Ok(self
            .store
            .delivery_counts((&lower, &upper), self.now_unix())
            .await?)
    }

    /// The jurisdiction's board: counts, collection points, one page of requests (open ones due
    /// first).
    pub async fn delivery_board(
        &self,
        actor: &Actor,
        status: &str,
        overdue: bool,
        page: i64,
    ) -> AppResult<DeliveryBoard> {
        Self::require_delivery_board(actor)?;
        let status = match status.trim() {
            "" => String::new(),
            code => DeliveryStatus::from_code(code)
                .ok_or_else(|| AppError::field("状态", "没有这个状态"))?
                .code()
                .to_string(),
        };
        let now = self.now_unix();
        let (lower, upper) = actor.jurisdiction_range();
        let range = (lower.as_str(), upper.as_str());
        let page = page.clamp(1, 10_000);
        let (rows, total) = self
            .store
            .deliveries_page(
                range,
                &DeliveryFilter {
                    status,
                    overdue_at: overdue.then_some(now),
                },
                (page - 1) * DELIVERIES_PER_PAGE,
                DELIVERIES_PER_PAGE,
            )
            .await?;
        let points = self.points_serving(actor).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let steps = self.store.delivery_steps(&ids).await?;
        Ok(DeliveryBoard {
            counts: self.store.delivery_counts(range, now).await?,
            points: points.iter().map(view_point).collect(),
            requests: Page::new(
                rows.into_iter()
                    .map(|r| view_delivery(r, &points, &steps, now))
                    .collect(),
                total,
            ),
        })
    }

    /// Sets up a collection point in the actor's jurisdiction.
    pub async fn add_delivery_point(&self, actor: &Actor, form: &PointForm) -> AppResult<i64> {
        actor.require(Permission::FulfilDeliveries)?;
        let (name, region, address, plan) = parse_point(form)?;
        actor.require_within(&region)?;
        self.region_name(&region).await?;
        let record = DeliveryPointRecord {
            id: 0,
            name: name.clone(),
            region_code: region.clone(),
            address,
            first_start_minute: plan.first_start_minute,
            slot_minutes: plan.slot_minutes,
            slots_per_day: plan.slots_per_day,
            capacity: plan.capacity,
            created_by: actor.username.clone(),
            created_at: self.now_unix(),
        };
        let audit = audit_record(self, actor, "add_delivery_point", "", name);
        Ok(self.store.add_delivery_point(&record, &audit).await?)
    }

    /// Gives every waiting request of the jurisdiction a slot at its compound's collection point
    /// (the most specific point whose region contains the household's grid), medicine and urgent
    /// first, in the slots still to come today and tomorrow. One transaction.
    pub async fn allocate_deliveries(&self, actor: &Actor) -> AppResult<AllocationReport> {
        actor.require(Permission::FulfilDeliveries)?;
        let (lower, upper) = actor.jurisdiction_range();
        let range = (lower.as_str(), upper.as_str());
        let now = self.now_unix();
        let waiting = self
            .store
            .deliveries_to_allocate(range, ALLOCATE_AT_MOST)
            .await?;
        let points = self.points_serving(actor).await?;
        let day_start = beijing_midnight(self.today()).timestamp();
        let loads = self.store.slot_loads(now).await?;
        let slots: Vec<(SlotPlan, Vec<(i64, i64)>)> = points
            .iter()
            .map(|p| {
                let plan = plan_of(p);
                let times = rules::slot_times(plan, day_start, now)
                    .into_iter()
                    .map(|t| {
                        let used = loads
                            .iter()
                            .find(|(point, start, _)| *point == p.id && *start == t)
                            .map_or(0, |(_, _, n)| *n);
                        (t, used)
                    })
                    .collect();
                (plan, times)
            })
            .collect();
        let mut report = AllocationReport {
            waiting: waiting.len() as i64,
            ..AllocationReport::default()
        };
        let mut requests = Vec::with_capacity(waiting.len());
        let mut ids = Vec::with_capacity(waiting.len());
        for r in &waiting {
            let point = points
                .iter()
                .enumerate()
                .filter(|(_, p)| r.grid_code.starts_with(p.region_code.as_str()))
                .max_by_key(|(_, p)| p.region_code.as_str().len())
                .map(|(i, _)| i);
            let Some(point) = point else {
                report.without_point += 1;
                continue;
            };
            let (category, urgency) = (r.category, r.urgency);
            requests.push(ToAllocate {
                point,
                category,
                urgency,
                requested_at: r.requested_at,
                id: r.id,
            });
            ids.push(r.id);
        }
        let given: Vec<SlotGiven> = rules::allocate(&requests, &slots)
            .into_iter()
            .zip(&requests)
            .filter_map(|(slot, r)| {
                slot.map(|slot_start| SlotGiven {
                    request_id: r.id,
                    point_id: points[r.point].id,
                    slot_start,
                })
            })
            .collect();
        report.slots_full = requests.len() as i64 - given.len() as i64;
        let audit = audit_record(
            self,
            actor,
            "allocate_deliveries",
            "",
            format!("{} 条需求排入收货时段", given.len()),
        );
        report.allocated = self
            .store
            .allocate_deliveries(&given, now, &actor.username, &audit)
            .await?;
        Ok(report)
    }

    /// One step of the fulfilment of a request in the actor's jurisdiction: out for delivery (with
    /// the courier), delivered, or failed (with the reason), recorded with its time.
    pub async fn step_delivery(&self, actor: &Actor, id: i64, form: &StepForm) -> AppResult<()> {
        actor.require(Permission::FulfilDeliveries)?;
        let command = StepDelivery::try_from(form)?;
        let request = load_within(actor, self.store.delivery(id)).await?;
        let from = request.status;
        rules::check_step(from, command.to).map_err(AppError::Conflict)?;
        let audit = audit_record(
            self,
            actor,
            "step_delivery",
            "",
            format!("{} → {}", from.label_zh(), command.to.label_zh()),
        );
        let written = self
            .store
            .step_delivery(
                &StepWrite {
                    id,
                    from: from.code().to_string(),
                    to: command.to.code().to_string(),
                    courier: command.courier,
                    note: command.note,
                    at: self.now_unix(),
                    by_user: actor.display_name.clone(),
                },
                &audit,
            )
            .await?;
        if written {
            Ok(())
        } else {
            Err(AppError::Conflict(
                "该需求刚被他人更新，请刷新后再试".into(),
            ))
        }
    }

    /// The open requests of the jurisdiction past due before `before` (the late list, the
    /// grid worker's today), soonest first.
    pub(crate) async fn deliveries_due(
        &self,
        actor: &Actor,
        before: i64,
        limit: i64,
    ) -> AppResult<Vec<DeliveryRecord>> {
        let (lower, upper) = actor.jurisdiction_range();
        Ok(self
            .store
            .deliveries_due((&lower, &upper), before, limit)
            .await?)
    }
}
