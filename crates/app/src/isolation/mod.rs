//! Isolation, transfer and treatment (隔离管控、转运与救治): measures opened from person events
//! (contacts, cases, leads) by the plan of the regime in force, their test tasks and release, sites
//! and rooms, the allocation of people to rooms, check-in and temperatures, transfers by vehicle,
//! home isolation check-ins and door alarms, designated hospitals and fangcang.
//!
//! Day 1 of a measure: for a contact, the Beijing date of the last exposure (the period counts from
//! it, as the 9th edition does); for a lead put under control, a case, or a measure opened by hand,
//! the day it is opened. Test days already past when a measure opens are due at once (they show as
//! overdue in the task list). A later phase (居家) counts its own days from 1.

mod commands;
mod events;
mod forms;
mod home;
mod hospitals;
mod measures;
mod overview;
mod sites;
mod transfers;
mod views;

pub use commands::*;
pub use forms::*;
pub use views::*;

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use fangkong_domain::ids::{IdCardNumber, IdType, mask_middle};
use fangkong_domain::investigation::Regime;
use fangkong_domain::isolation::{
    AllocPerson, AllocSite, CARER_CHILD_AGE, CareNeeds, CarerFacts, FEVER_THRESHOLD_C,
    HospitalKind, MeasureKind, MeasurePlan, MeasureStatus, PersonCategory, PlanPhase, Readiness,
    Rider, RoomBlock, RoomStatus, TestOutcome, TransferStatus, VehicleKind, age_on, allocate,
    carer_check, parse_temperature, plan, release_check, required_rooms, schedule, transfer_check,
};
use fangkong_domain::person_event::{
    self, CaseEvent, ContactEvent, LeadControlledEvent, MeasureEvent,
};
use fangkong_domain::personal::{Address, DocumentNumber, PersonName};
use fangkong_domain::phone::PhoneNumber;
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Permission;
use fangkong_store::{
    AllocationOutcome, CheckInRecord, HospitalRecord, IsolationSiteRecord, MeasureChange,
    MeasureEventWrite, MeasureRecord, NewMeasure, NewTransfer, PersonEventRecord, SearchField,
    TransferOutcome, TransferRecord, VehicleRecord,
};
use serde::Serialize;

pub use fangkong_store::{IsolationSiteSummary, MeasureTestRecord, RoomRecord};

use crate::population::{mask_document, mask_phone};
use crate::scope::load_within;
use crate::{
    Actor, App, AppError, AppResult, audit_by, audit_record, china_offset, parse_occurred_at,
};

/// The setting holding the id of the last person event read by [`App::sync_isolation_events`].
const EVENT_CURSOR_SETTING: &str = "isolation_event_cursor";
/// Most rows a list page shows.
const LIST_LIMIT: i64 = 500;

/// The statuses of a measure in force (the measures list without a status chosen).
const MEASURES_IN_FORCE: [&str; 5] = [
    "awaiting_placement",
    "allocated",
    "in_site",
    "at_home",
    "awaiting_hospital",
];

// ---------------------------------------------------------------------------------------------
// Helpers

fn within(actor: &Actor, code: &str) -> bool {
    RegionCode::parse(code).is_ok_and(|c| actor.jurisdiction.contains(&c))
}

fn date_of(unix: i64) -> NaiveDate {
    china_offset()
        .timestamp_opt(unix, 0)
        .single()
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

fn celsius(tenths: i64) -> String {
    format!("{}.{}", tenths / 10, tenths % 10)
}

fn birth_date_of(id_type: &str, id_number: &str) -> String {
    if IdType::parse(id_type).ok() != Some(IdType::MainlandId) {
        return String::new();
    }
    IdCardNumber::parse(id_number)
        .map(|n| n.birth_date().to_string())
        .unwrap_or_default()
}

fn view(record: &MeasureRecord, now: i64, today: NaiveDate) -> MeasureView {
    MeasureView {
        id: record.id,
        name: mask_middle(&record.name, 1, 0),
        id_number_masked: mask_document(&record.id_type, &record.id_number),
        phone_masked: mask_phone(record.phone.as_deref()),
        age: parse_date(&record.birth_date).map(|b| age_on(b, today)),
        grid_code: record.grid_code.clone(),
        household_number: record.household_number.clone(),
        category: record.category.code().into(),
        category_label: record.category.label_zh(),
        regime_label: record.regime.label_zh(),
        status: record.status.code().into(),
        status_label: record.status.label_zh(),
        status_since: record.status_since,
        waiting_minutes: (now - record.status_since).max(0) / 60,
        day1: record.day1.clone(),
        centralised_end: record.centralised_end.clone(),
        end_date: record.end_date.clone(),
        site_id: record.site_id,
        room_id: record.room_id,
    }
}

/// The person of a measure to open.
#[derive(Debug, Clone)]
pub struct MeasurePerson {
    pub id_type: String,
    pub id_number: DocumentNumber,
    pub name: PersonName,
    pub phone: Option<PhoneNumber>,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub household_number: String,
    pub address: Address,
    pub birth_date: String,
}

impl MeasurePerson {
    /// The person as the register has them.
    pub fn of_resident(r: &fangkong_store::ResidentRecord) -> MeasurePerson {
        MeasurePerson {
            id_type: r.id_type.clone(),
            id_number: r.id_number.clone(),
            name: r.name.clone(),
            phone: r.phone.clone(),
            resident_id: Some(r.id),
            grid_code: r.grid_code.clone(),
            household_number: r.household_number.clone(),
            address: r.address.clone(),
            birth_date: r.birth_date.clone(),
        }
    }
}

/// A measure of `category` laid out by `plan` from `day1`, in its first status.
fn new_measure(
    person: &MeasurePerson,
    source_key: String,
    category: PersonCategory,
    regime: Regime,
    plan: Option<&MeasurePlan>,
    day1: NaiveDate,
    note: &str,
) -> NewMeasure {
    let (status, centralised_end, end_date, tests) = match plan {
        None => (
            MeasureStatus::AwaitingHospital,
            String::new(),
            String::new(),
            Vec::new(),
        ),
        Some(plan) => {
            let s = schedule(plan, day1);
            let first = s.phases.first().map(|p| p.kind);
            let status = if first == Some(MeasureKind::Centralised) {
                MeasureStatus::AwaitingPlacement
            } else {
                MeasureStatus::AtHome
            };
            let tests = s
                .phases
                .iter()
                .flat_map(|p| {
                    p.tests.iter().map(move |(day, date)| {
                        (p.kind.code().to_string(), i64::from(*day), date.to_string())
                    })
                })
                .collect();
            (
                status,
                s.centralised_end()
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                s.end().map(|d| d.to_string()).unwrap_or_default(),
                tests,
            )
        }
    };
    NewMeasure {
        source_key,
        id_type: person.id_type.clone(),
        id_number: person.id_number.clone(),
        name: person.name.clone(),
        phone: person.phone.clone(),
        resident_id: person.resident_id,
        grid_code: person.grid_code.clone(),
        household_number: person.household_number.clone(),
        address: person.address.clone(),
        birth_date: if person.birth_date.is_empty() {
            birth_date_of(&person.id_type, &person.id_number)
        } else {
            person.birth_date.clone()
        },
        category: category.code().to_string(),
        regime: regime.code().to_string(),
        day1: day1.to_string(),
        centralised_end,
        end_date,
        status: status.code().to_string(),
        note: note.chars().take(200).collect(),
        tests,
    }
}

/// The plan a lead gets: the regime's plan for its category with the measure the grid worker chose
/// as its first phase; a category the regime has no plan for gets 7 days of the chosen measure with
/// tests on days 1, 4 and 7 [I].
fn lead_plan(regime: Regime, category: PersonCategory, kind: MeasureKind) -> MeasurePlan {
    match plan(regime, category) {
        Some(p) => {
            let mut p = p.clone();
            if let Some(first) = p.phases.first_mut() {
                first.kind = kind;
            }
            p
        }
        None => MeasurePlan {
            regime,
            category,
            phases: vec![PlanPhase {
                kind,
                days: 7,
                test_days: vec![1, 4, 7],
            }],
            swab_zh: String::new(),
            source: "落地管控：本方案未规定该类人员，按7天、第1、4、7天检测 [I]".into(),
        },
    }
}

fn event_detail(measure: &MeasureRecord) -> String {
    serde_json::to_string(&MeasureEvent {
        measure_id: measure.id,
        category: measure.category.code().into(),
    })
    .unwrap_or_default()
}

fn conflict_changed() -> AppError {
    AppError::Conflict("该人员的状态刚刚被其他人更新，请刷新页面后再操作".into())
}

fn parse_count(text: &str, label: &str, max: i64) -> AppResult<i64> {
    match text.trim().parse::<i64>() {
        Ok(n) if (0..=max).contains(&n) => Ok(n),
        _ => Err(AppError::Invalid(format!(
            "“{label}”应填写0到{max}之间的整数，而不是“{}”",
            text.trim()
        ))),
    }
}

/// The people waiting, the allocation suggested for them, and the free rooms it drew on.
type PlannedAllocation = (
    Vec<MeasureRecord>,
    fangkong_domain::isolation::Allocation,
    Vec<fangkong_store::FreeRoom>,
);

/// A measure to open in bulk: the person, their category, day 1 and the source key.
pub type BulkMeasure = (MeasurePerson, PersonCategory, NaiveDate, String);

/// Door-sensor alarm kinds and their words.
pub const ALARM_KINDS: [(&str, &str); 3] = [
    ("door_opened", "门被打开"),
    ("tamper", "设备被拆动"),
    ("offline", "设备离线"),
];

/// The alarm the big-data push raises when a phone leaves its home cell (`app::analytics`); not a
/// kind a device may post.
pub const FENCE_ALARM: (&str, &str) = ("e_fence", "电子围栏越界");

fn alarm_label(kind: &str) -> &'static str {
    ALARM_KINDS
        .iter()
        .chain([&FENCE_ALARM])
        .find(|(k, _)| *k == kind)
        .map(|(_, l)| *l)
        .unwrap_or("报警")
}
