//! Deliveries (物资配送, domain-rules.md §9 “最后一百米”): requests from sealed and isolated
//! households, collection points and staggered slots.
//!
//! A household under home measures, or inside a sealed or high-risk area, asks for food, medicine,
//! infant supplies or other goods; the resident on their phone or the grid worker for people
//! without one (an elderly person living alone is flagged). A request from outside that set is
//! taken and flagged. Requests are allocated to the staggered slots of their compound's collection
//! point — medicine first, urgent first, then the oldest — by [`allocate`], a pure function; then
//! a volunteer or courier takes them out and they are delivered or fail. Each step is recorded with
//! its time. An open request past its due time is late; medicine is due sooner.

use chrono::NaiveDate;

crate::coded_enum! {
    /// What a household asks for.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum DeliveryCategory {
        Medicine => "medicine", "药品",
        Infant => "infant", "母婴用品",
        Food => "food", "生活物资",
        Other => "other", "其他",
    }
}

crate::coded_enum! {
    /// How soon.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Urgency {
        Urgent => "urgent", "紧急",
        Normal => "normal", "一般",
    }
}

crate::coded_enum! {
    /// Where a request stands: requested → allocated → out for delivery → delivered / failed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum DeliveryStatus {
        Requested => "requested", "已提交",
        Allocated => "allocated", "已排时段",
        OutForDelivery => "out", "配送中",
        Delivered => "delivered", "已送达",
        Failed => "failed", "未送达",
    }
}

crate::coded_enum! {
    /// Why the household may ask: under home measures, in a sealed or high-risk area, or neither
    /// (taken and flagged).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Eligibility {
        HomeMeasure => "home_measure", "居家隔离/居家健康监测",
        SealedArea => "sealed_area", "封控区/高风险区",
        Outside => "outside", "不在封控隔离范围（已标记，请核实）",
    }
}

crate::coded_enum! {
    /// Who filed the request.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RequestChannel {
        Resident => "resident", "居民手机申请",
        GridWorker => "grid_worker", "网格员代为申请",
    }
}

impl DeliveryStatus {
    /// Still someone's work (on the late list when past due).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            DeliveryStatus::Requested | DeliveryStatus::Allocated | DeliveryStatus::OutForDelivery
        )
    }
}

/// Whether a request may go from `from` to `to`; the reason in words when not. Allocation is
/// [`allocate`]'s (a slot is needed); a request may fail from any open state and be taken out
/// again after a failure (a second attempt).
pub fn check_step(from: DeliveryStatus, to: DeliveryStatus) -> Result<(), String> {
    use DeliveryStatus::*;
    let ok = matches!(
        (from, to),
        (Requested, Allocated)
            | (Allocated, OutForDelivery)
            | (Requested, OutForDelivery)
            | (OutForDelivery, Delivered)
            | (Requested | Allocated | OutForDelivery, Failed)
            | (Failed, OutForDelivery)
    );
    if ok {
        Ok(())
    } else {
        Err(format!(
            "该需求当前为“{}”，不能改为“{}”",
            from.label_zh(),
            to.label_zh()
        ))
    }
}

/// Hours from the request to its due time: medicine escalates faster (2 h urgent, 6 h otherwise),
/// other urgent needs 6 h, the rest 24 h.
pub fn due_hours(category: DeliveryCategory, urgency: Urgency) -> i64 {
    match (category, urgency) {
        (DeliveryCategory::Medicine, Urgency::Urgent) => 2,
        (DeliveryCategory::Medicine, Urgency::Normal) => 6,
        (_, Urgency::Urgent) => 6,
        (_, Urgency::Normal) => 24,
    }
}

/// Whether a resident born on `birth` counts as elderly living alone on `today`: 60 or over and
/// the only member of the household.
pub fn elderly_living_alone(birth: Option<NaiveDate>, today: NaiveDate, members: i64) -> bool {
    members == 1 && birth.is_some_and(|b| crate::person::age_on(b, today) >= 60)
}

/// The items typed: not empty, at most 200 characters.
pub fn check_items(raw: &str) -> Result<String, String> {
    let items = raw.trim();
    if items.is_empty() {
        return Err("请写明需要的物品，如“大米5斤、降压药一盒”".into());
    }
    if items.chars().count() > 200 {
        return Err("不能超过200个字".into());
    }
    Ok(items.to_string())
}

/// A collection point's slot plan: the first slot's start (minutes after Beijing midnight), each
/// slot's length, how many slots a day and how many requests a slot takes (错峰取物、分时段配送).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotPlan {
    pub first_start_minute: i64,
    pub slot_minutes: i64,
    pub slots_per_day: i64,
    pub capacity: i64,
}

impl SlotPlan {
    /// A plan typed: slots start between 06:00 and 22:00, 15–240 minutes each, 1–24 a day, 1–500
    /// requests each.
    pub fn check(self) -> Result<SlotPlan, String> {
        if !(360..=1320).contains(&self.first_start_minute) {
            return Err("第一个时段应在06:00到22:00之间开始".into());
        }
        if !(15..=240).contains(&self.slot_minutes) {
            return Err("每个时段应为15到240分钟".into());
        }
        if !(1..=24).contains(&self.slots_per_day)
            || self.first_start_minute + self.slot_minutes * self.slots_per_day > 24 * 60
        {
            return Err("每天1到24个时段，且不能跨过午夜".into());
        }
        if !(1..=500).contains(&self.capacity) {
            return Err("每个时段可配送1到500户".into());
        }
        Ok(self)
    }

    /// The start of slot `n` on the day beginning at `day_start` (unix seconds of Beijing midnight).
    pub fn slot_start(self, day_start: i64, n: i64) -> i64 {
        day_start + (self.first_start_minute + n * self.slot_minutes) * 60
    }
}

/// One open request as [`allocate`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToAllocate {
    /// Index into the points given to [`allocate`].
    pub point: usize,
    pub category: DeliveryCategory,
    pub urgency: Urgency,
    pub requested_at: i64,
    pub id: i64,
}

/// The start times of a point's slots still to come: the rest of today's (from `now`), then
/// tomorrow's. `day_start` is today's Beijing midnight (unix seconds).
pub fn slot_times(plan: SlotPlan, day_start: i64, now: i64) -> Vec<i64> {
    let mut first = 0;
    while first < plan.slots_per_day && plan.slot_start(day_start, first) < now {
        first += 1;
    }
    (first..plan.slots_per_day)
        .map(|n| plan.slot_start(day_start, n))
        .chain((0..plan.slots_per_day).map(|n| plan.slot_start(day_start + 86_400, n)))
        .collect()
}

/// Allocates requests to slots: per point (`points[i]`: its plan and its slots' start times with
/// how many requests each already holds, earliest first), medicine first, then urgent, then the
/// oldest, each into the earliest slot with room. Answers, per request given (same order), the
/// slot's start, or `None` when the point's slots are full. Pure: O(n log n).
pub fn allocate(
    requests: &[ToAllocate],
    points: &[(SlotPlan, Vec<(i64, i64)>)],
) -> Vec<Option<i64>> {
    let mut order: Vec<usize> = (0..requests.len()).collect();
    order.sort_by_key(|&i| {
        let r = &requests[i];
        (
            r.point,
            r.category != DeliveryCategory::Medicine,
            r.urgency != Urgency::Urgent,
            r.requested_at,
            r.id,
        )
    });
    let mut state: Vec<(usize, Vec<(i64, i64)>)> =
        points.iter().map(|(_, slots)| (0, slots.clone())).collect();
    let mut out = vec![None; requests.len()];
    for i in order {
        let p = requests[i].point;
        let (Some((plan, _)), Some((cursor, slots))) = (points.get(p), state.get_mut(p)) else {
            continue;
        };
        while let Some((start, used)) = slots.get_mut(*cursor) {
            if *used < plan.capacity {
                *used += 1;
                out[i] = Some(*start);
                break;
            }
            *cursor += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryStatus::*;

    const PLAN: SlotPlan = SlotPlan {
        first_start_minute: 8 * 60,
        slot_minutes: 30,
        slots_per_day: 4,
        capacity: 2,
    };

    fn req(id: i64, point: usize, category: DeliveryCategory, urgency: Urgency) -> ToAllocate {
        ToAllocate {
            point,
            category,
            urgency,
            requested_at: 1000 + id,
            id,
        }
    }

    #[test]
    fn steps_follow_the_delivery_and_a_failed_one_may_go_out_again() {
        let table = [
            (Requested, Allocated, true),
            (Allocated, OutForDelivery, true),
            (Requested, OutForDelivery, true),
            (OutForDelivery, Delivered, true),
            (Allocated, Failed, true),
            (Failed, OutForDelivery, true),
            (Requested, Delivered, false),
            (Delivered, Failed, false),
            (Delivered, OutForDelivery, false),
            (Allocated, Requested, false),
        ];
        for (from, to, ok) in table {
            assert_eq!(check_step(from, to).is_ok(), ok, "{from:?} → {to:?}");
        }
        assert!(
            check_step(Delivered, Failed)
                .unwrap_err()
                .contains("已送达")
        );
    }

    #[test]
    fn medicine_is_due_sooner_and_urgent_sooner_than_normal() {
        use DeliveryCategory::*;
        assert_eq!(due_hours(Medicine, Urgency::Urgent), 2);
        assert_eq!(due_hours(Medicine, Urgency::Normal), 6);
        assert_eq!(due_hours(Food, Urgency::Urgent), 6);
        assert_eq!(due_hours(Food, Urgency::Normal), 24);
        assert!(due_hours(Medicine, Urgency::Normal) < due_hours(Infant, Urgency::Normal));
    }

    #[test]
    fn the_elderly_alone_are_sixty_or_over_in_a_household_of_one() {
        let today = NaiveDate::from_ymd_opt(2022, 11, 20).unwrap();
        let born = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert!(elderly_living_alone(born(1960, 10, 10), today, 1));
        assert!(!elderly_living_alone(born(1960, 10, 10), today, 2));
        assert!(!elderly_living_alone(born(1962, 11, 21), today, 1));
        assert!(!elderly_living_alone(None, today, 1));
    }

    #[test]
    fn medicine_and_urgent_go_first_into_the_earliest_slot_with_room() {
        use DeliveryCategory::*;
        let slots: Vec<(i64, i64)> = (0..3).map(|n| (10_000 + n * 1800, 0)).collect();
        let requests = [
            req(1, 0, Food, Urgency::Normal),
            req(2, 0, Food, Urgency::Urgent),
            req(3, 0, Medicine, Urgency::Normal),
            req(4, 0, Infant, Urgency::Normal),
            req(5, 0, Medicine, Urgency::Urgent),
            req(6, 0, Other, Urgency::Normal),
            req(7, 0, Food, Urgency::Normal),
        ];
        let got = allocate(&requests, &[(PLAN, slots)]);
        // Slot 1: the two medicines (urgent first); slot 2: the urgent food, then the oldest.
        assert_eq!(got[4], Some(10_000));
        assert_eq!(got[2], Some(10_000));
        assert_eq!(got[1], Some(11_800));
        assert_eq!(got[0], Some(11_800));
        assert_eq!(got[3], Some(13_600));
        assert_eq!(got[5], Some(13_600));
        // No room left: the newest waits.
        assert_eq!(got[6], None);
    }

    #[test]
    fn slots_already_taken_are_respected_and_points_are_apart() {
        use DeliveryCategory::*;
        let a = vec![(100, 2), (200, 1)];
        let b = vec![(100, 0)];
        let requests = [
            req(1, 0, Food, Urgency::Normal),
            req(2, 1, Food, Urgency::Normal),
        ];
        assert_eq!(
            allocate(&requests, &[(PLAN, a), (PLAN, b)]),
            vec![Some(200), Some(100)]
        );
        // A request naming no point given is left alone.
        assert_eq!(
            allocate(&[req(3, 5, Food, Urgency::Normal)], &[]),
            vec![None]
        );
    }

    #[test]
    fn the_slots_are_the_rest_of_today_and_tomorrow() {
        let day = 1_668_873_600; // a Beijing midnight
        let now = PLAN.slot_start(day, 1) + 60;
        let times = slot_times(PLAN, day, now);
        assert_eq!(times.len(), 2 + 4);
        assert_eq!(times[0], PLAN.slot_start(day, 2));
        assert_eq!(times[2], PLAN.slot_start(day + 86_400, 0));
    }

    #[test]
    fn a_slot_plan_is_bounded() {
        assert!(PLAN.check().is_ok());
        for bad in [
            SlotPlan {
                first_start_minute: 60,
                ..PLAN
            },
            SlotPlan {
                slot_minutes: 5,
                ..PLAN
            },
            SlotPlan {
                slots_per_day: 40,
                ..PLAN
            },
            SlotPlan {
                capacity: 0,
                ..PLAN
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn items_are_required_and_bounded() {
        assert!(check_items("  ").is_err());
        assert!(check_items(&"米".repeat(201)).is_err());
        assert_eq!(check_items(" 大米 ").unwrap(), "大米");
    }
}
