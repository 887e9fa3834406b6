//! Isolation, transfer and treatment (隔离管控、转运与救治): measures opened from person events
//! (contacts, cases, leads) by the plan of the regime in force, their test tasks and release, sites
//! and rooms, the allocation of people to rooms, check-in and temperatures, transfers by vehicle,
//! home isolation check-ins and door alarms, designated hospitals and fangcang.
//!
//! Day 1 of a measure: for a contact, the Beijing date of the last exposure (the period counts from
//! it, as the 9th edition does); for a lead put under control, a case, or a measure opened by hand,
//! the day it is opened. Test days already past when a measure opens are due at once (they show as
//! overdue in the task list). A later phase (居家) counts its own days from 1.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{Days, NaiveDate, TimeZone};
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
use crate::{Actor, App, AppError, AppResult, audit_by, china_offset};

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
// Views

/// A person under a measure as pages show them (name and numbers masked).
#[derive(Debug, Clone, Serialize)]
pub struct MeasureView {
    pub id: i64,
    pub name: String,
    pub id_number_masked: String,
    pub phone_masked: String,
    pub age: Option<u32>,
    pub grid_code: String,
    pub household_number: String,
    pub category: String,
    pub category_label: &'static str,
    pub regime_label: &'static str,
    pub status: String,
    pub status_label: &'static str,
    pub status_since: i64,
    /// Minutes in the current status (how long someone has waited).
    pub waiting_minutes: i64,
    pub day1: String,
    pub centralised_end: String,
    pub end_date: String,
    pub site_id: Option<i64>,
    pub room_id: Option<i64>,
}

/// A test task as the task list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DueTestView {
    pub test_id: i64,
    pub measure_id: i64,
    pub name: String,
    pub id_number_masked: String,
    pub phase_label: &'static str,
    pub day: i64,
    pub due_date: String,
    pub overdue: bool,
    pub status_label: &'static str,
    pub place: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestView {
    pub id: i64,
    pub phase_label: &'static str,
    pub day: i64,
    pub due_date: String,
    pub result_label: String,
    pub recorded_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckInView {
    pub at: i64,
    pub place: String,
    pub celsius: String,
    pub fever: bool,
    pub symptoms: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MeasureDetail {
    pub measure: MeasureView,
    pub plan_summary: String,
    pub site_name: String,
    pub room_number: String,
    pub hospital_name: String,
    /// How the measure came and the carer, if any.
    pub note: String,
    pub tests: Vec<TestView>,
    pub check_ins: Vec<CheckInView>,
    /// Why the measure cannot end yet ('' = it can now).
    pub release_blockers: Vec<String>,
}

/// The full personal data of a person under a measure (audited reveal; its Debug shows nothing).
#[derive(Clone, Serialize)]
pub struct RevealedPerson {
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub address: String,
}

impl std::fmt::Debug for RevealedPerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevealedPerson").finish_non_exhaustive()
    }
}

/// Capacity of one region against the norm.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityLine {
    pub code: String,
    pub name: String,
    pub residents: i64,
    pub required: i64,
    pub rooms: i64,
    pub free: i64,
    pub meets_norm: bool,
}

/// People per status in one region.
#[derive(Debug, Clone, Serialize)]
pub struct WaitingLine {
    pub code: String,
    pub name: String,
    pub awaiting_placement: i64,
    pub allocated: i64,
    pub awaiting_hospital: i64,
    pub in_site: i64,
    pub at_home: i64,
    /// Minutes the longest-waiting person (placement, transfer, hospital) has waited.
    pub longest_wait_minutes: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct IsolationOverview {
    pub region_name: String,
    pub capacity: Vec<CapacityLine>,
    pub total: CapacityLine,
    pub sites: Vec<IsolationSiteSummary>,
    pub waiting: Vec<WaitingLine>,
    /// Longest waiting first (placement, transfer to a site, transfer to a hospital).
    pub longest_waiting: Vec<MeasureView>,
    pub tests_due_today: i64,
    pub under_measure: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoomView {
    pub id: i64,
    pub building: String,
    pub floor: i64,
    pub number: String,
    pub status: String,
    pub status_label: &'static str,
    pub measure_id: Option<i64>,
    pub occupant: String,
    pub occupant_status: String,
    pub last_temperature: String,
    pub fever: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SiteDetail {
    pub site: IsolationSiteRecord,
    pub readiness_label: &'static str,
    pub rooms: Vec<RoomView>,
    /// People assigned here and not checked in yet.
    pub arriving: Vec<MeasureView>,
    pub in_site: Vec<MeasureView>,
    pub free: i64,
    pub occupied: i64,
    pub cleaning: i64,
    pub maintenance: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AllocationLine {
    pub measure: MeasureView,
    pub site_name: String,
    pub room_number: String,
    pub distance_label: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct AllocationPreview {
    pub waiting: usize,
    pub lines: Vec<AllocationLine>,
    pub unplaced: usize,
    pub free_rooms: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct AllocationReport {
    pub allocated: u64,
    pub unplaced: usize,
    pub millis: u128,
}

#[derive(Debug, Clone, Serialize)]
pub struct VehicleView {
    pub vehicle: VehicleRecord,
    pub kind_label: &'static str,
    pub state_label: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransferView {
    pub transfer: TransferRecord,
    pub kind_label: &'static str,
    pub status_label: &'static str,
    pub next_status: Option<&'static str>,
    pub next_label: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransfersBoard {
    pub vehicles: Vec<VehicleView>,
    pub transfers: Vec<TransferView>,
    /// Waiting for a coach to their site (allocated), oldest first.
    pub to_sites: Vec<MeasureView>,
    /// Waiting for an ambulance to a hospital, oldest first.
    pub to_hospitals: Vec<MeasureView>,
    pub waiting_by_region: Vec<WaitingLine>,
    pub hospitals: Vec<HospitalRecord>,
    pub site_names: HashMap<i64, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HomeView {
    pub measure_id: i64,
    pub name: String,
    pub id_number_masked: String,
    pub grid_code: String,
    pub category_label: &'static str,
    pub end_date: String,
    pub last_check_in_day: String,
    pub missed_today: bool,
    pub missed_yesterday: bool,
    pub last_fever: bool,
    pub alarms: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlarmView {
    pub id: i64,
    pub measure_id: i64,
    pub name: String,
    pub grid_code: String,
    pub device_id: String,
    pub kind_label: String,
    pub at: i64,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HomeBoard {
    pub people: Vec<HomeView>,
    pub missed: usize,
    pub alarms: Vec<AlarmView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HospitalView {
    pub hospital: HospitalRecord,
    pub kind_label: &'static str,
    pub free: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdmissionView {
    pub id: i64,
    pub hospital_name: String,
    pub measure_id: i64,
    pub name: String,
    pub id_number_masked: String,
    pub admitted_at: i64,
    pub discharged_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HospitalsBoard {
    pub hospitals: Vec<HospitalView>,
    pub admissions: Vec<AdmissionView>,
    pub awaiting: Vec<MeasureView>,
}

/// What recording a test result did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ResultEffect {
    Recorded,
    /// The last test: the measure ended (`measure_released`).
    Released,
    /// Positive: the person awaits an ambulance to a hospital (`measure_positive`).
    Positive,
}

/// The resident's own measure page.
#[derive(Debug, Clone, Serialize)]
pub struct MyMeasure {
    pub measure: Option<MeasureDetail>,
    pub checked_in_today: bool,
}

// ---------------------------------------------------------------------------------------------
// Forms

/// A person put under a measure by hand (or by the demo).
#[derive(Debug, Clone, Default)]
pub struct MeasureForm {
    pub id_number: String,
    pub category: String,
    /// 'YYYY-MM-DD'; empty = today.
    pub day1: String,
    pub note: String,
}

/// A carer proposed to stay with a person in a site (陪护).
#[derive(Debug, Clone, Default)]
pub struct CarerForm {
    pub name: String,
    pub age: String,
    pub underlying_disease: bool,
    pub pregnant: bool,
    pub seriously_ill: bool,
    pub dependent: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SiteForm {
    pub name: String,
    pub region_code: String,
    pub address: String,
    pub readiness: String,
    pub staff_count: String,
    pub note: String,
}

#[derive(Debug, Clone, Default)]
pub struct RoomBlockForm {
    pub building: String,
    pub floor_from: String,
    pub floor_to: String,
    pub room_from: String,
    pub room_to: String,
}

#[derive(Debug, Clone, Default)]
pub struct VehicleForm {
    pub plate: String,
    pub kind: String,
    pub capacity: String,
    pub region_code: String,
}

#[derive(Debug, Clone, Default)]
pub struct TransferForm {
    pub vehicle_id: i64,
    pub measure_ids: Vec<i64>,
    /// For cases: the hospital; for people going to a site: None (their allocated site).
    pub hospital_id: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct HospitalForm {
    pub name: String,
    pub kind: String,
    pub region_code: String,
    pub beds: String,
}

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

fn status_label(code: &str) -> &'static str {
    MeasureStatus::from_code(code)
        .map(MeasureStatus::label_zh)
        .unwrap_or("未知状态")
}

fn category_label(code: &str) -> &'static str {
    PersonCategory::from_code(code)
        .map(PersonCategory::label_zh)
        .unwrap_or("其他")
}

fn phase_label(code: &str) -> &'static str {
    MeasureKind::from_code(code)
        .map(MeasureKind::label_zh)
        .unwrap_or("")
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
        phone_masked: mask_phone(
            Some(&record.phone)
                .filter(|p| !p.is_empty())
                .map(|p| p.as_str()),
        ),
        age: parse_date(&record.birth_date).map(|b| age_on(b, today)),
        grid_code: record.grid_code.clone(),
        household_number: record.household_number.clone(),
        category: record.category.clone(),
        category_label: category_label(&record.category),
        regime_label: Regime::from_code(&record.regime)
            .map(Regime::label_zh)
            .unwrap_or(""),
        status: record.status.clone(),
        status_label: status_label(&record.status),
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
#[derive(Clone)]
pub struct MeasurePerson {
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub household_number: String,
    pub address: String,
    pub birth_date: String,
}

impl std::fmt::Debug for MeasurePerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeasurePerson")
            .field("resident_id", &self.resident_id)
            .finish_non_exhaustive()
    }
}

impl MeasurePerson {
    /// The person as the register has them.
    pub fn of_resident(r: &fangkong_store::ResidentRecord) -> MeasurePerson {
        MeasurePerson {
            id_type: r.id_type.clone(),
            id_number: r.id_number.clone(),
            name: r.name.clone(),
            phone: r.phone.clone().unwrap_or_default(),
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
        category: measure.category.clone(),
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

impl App {
    // -- events in -------------------------------------------------------------------------------

    /// Turns person events into measures: close/secondary contacts by the plan of their regime,
    /// cases to "awaiting transfer to a hospital", leads put under control. Keeps its cursor in the
    /// settings; each measure's source key (`contact:<id>`, `case:<id>`, `lead:<id>`) makes a
    /// re-read harmless. Returns the number of events read.
    pub async fn sync_isolation_events(&self) -> AppResult<usize> {
        let mut total = 0;
        loop {
            let events = self
                .unread_person_events(EVENT_CURSOR_SETTING, 2_000)
                .await?;
            let Some(last) = events.last().map(|e| e.id) else {
                return Ok(total);
            };
            let regime_in_force = self.tracing_regime().await?;
            let mut opens = Vec::new();
            for event in &events {
                match event.kind.as_str() {
                    person_event::CLOSE_CONTACT | person_event::SECONDARY_CONTACT => {
                        if let Some(m) = self.measure_of_contact(event, regime_in_force).await? {
                            opens.push(m);
                        }
                    }
                    person_event::LEAD_CONTROLLED => {
                        if let Some(m) = self.measure_of_lead(event, regime_in_force).await? {
                            opens.push(m);
                        }
                    }
                    person_event::CONTACT_CLEARED => {
                        self.store.insert_measures(&opens, self.now_unix()).await?;
                        opens.clear();
                        self.end_measure_of_cleared_contact(event).await?;
                    }
                    person_event::CASE_REPORTED => {
                        // Earlier events first: a contact opened in this batch turns into the case.
                        self.store.insert_measures(&opens, self.now_unix()).await?;
                        opens.clear();
                        self.take_case(event).await?;
                    }
                    _ => {}
                }
            }
            self.store.insert_measures(&opens, self.now_unix()).await?;
            self.mark_person_events_read(EVENT_CURSOR_SETTING, last)
                .await?;
            total += events.len();
        }
    }

    async fn person_of_event(
        &self,
        event: &PersonEventRecord,
        name: &str,
        phone: &str,
        address: &str,
    ) -> AppResult<MeasurePerson> {
        if let Some(id) = event.resident_id
            && let Some(r) = self.store.resident(id).await?
        {
            return Ok(MeasurePerson::of_resident(&r));
        }
        Ok(MeasurePerson {
            id_type: event.id_type.clone(),
            id_number: event.id_number.clone(),
            name: name.to_string(),
            phone: phone.to_string(),
            resident_id: event.resident_id,
            grid_code: event.grid_code.clone(),
            household_number: String::new(),
            address: address.to_string(),
            birth_date: String::new(),
        })
    }

    async fn measure_of_contact(
        &self,
        event: &PersonEventRecord,
        regime_in_force: Regime,
    ) -> AppResult<Option<NewMeasure>> {
        let Ok(detail) = serde_json::from_str::<ContactEvent>(&event.detail) else {
            tracing::warn!(
                event = event.id,
                "isolation: unreadable contact event skipped"
            );
            return Ok(None);
        };
        let category = if event.kind == person_event::CLOSE_CONTACT {
            PersonCategory::CloseContact
        } else {
            PersonCategory::SecondaryContact
        };
        let regime = Regime::from_code(&detail.regime).unwrap_or(regime_in_force);
        let Some(plan) = plan(regime, category) else {
            return Ok(None);
        };
        let exposure = if detail.last_exposure > 0 {
            detail.last_exposure.min(event.at)
        } else {
            event.at
        };
        let person = self
            .person_of_event(event, &detail.name, &detail.phone, &detail.address)
            .await?;
        Ok(Some(new_measure(
            &person,
            format!("contact:{}", detail.contact_id),
            category,
            regime,
            Some(plan),
            date_of(exposure),
            "",
        )))
    }

    async fn measure_of_lead(
        &self,
        event: &PersonEventRecord,
        regime: Regime,
    ) -> AppResult<Option<NewMeasure>> {
        let Ok(detail) = serde_json::from_str::<LeadControlledEvent>(&event.detail) else {
            tracing::warn!(event = event.id, "isolation: unreadable lead event skipped");
            return Ok(None);
        };
        let category = PersonCategory::of_lead_category(&detail.category);
        // "hospital" (医院隔离/救治): the hospital takes the person, no isolation measure.
        let Some(kind) = MeasureKind::from_code(&detail.measure) else {
            return Ok(None);
        };
        let plan = lead_plan(regime, category, kind);
        let person = self
            .person_of_event(event, &detail.name, "", &detail.address)
            .await?;
        Ok(Some(new_measure(
            &person,
            format!("lead:{}", detail.lead_id),
            category,
            regime,
            Some(&plan),
            date_of(event.at),
            "落地管控",
        )))
    }

    /// A contact reclassified as a general contact or withdrawn: their measure ends (the room goes
    /// to cleaning) without `measure_released`, which means "every test negative".
    async fn end_measure_of_cleared_contact(&self, event: &PersonEventRecord) -> AppResult<()> {
        let Ok(detail) = serde_json::from_str::<ContactEvent>(&event.detail) else {
            tracing::warn!(
                event = event.id,
                "isolation: unreadable contact event skipped"
            );
            return Ok(());
        };
        let Some(m) = self
            .store
            .measure_by_source(&format!("contact:{}", detail.contact_id))
            .await?
        else {
            return Ok(());
        };
        if matches!(
            m.status.as_str(),
            "awaiting_placement" | "allocated" | "in_site" | "at_home"
        ) {
            let change = MeasureChange {
                measure_id: m.id,
                expected_status: m.status.clone(),
                new_status: MeasureStatus::Released.code().into(),
                at: self.now_unix(),
                leave_room: m.room_id.is_some(),
                released: true,
                ..Default::default()
            };
            self.store.apply_measure_change(&change).await?;
        }
        Ok(())
    }

    /// A case: a person already under a measure leaves their room and awaits a hospital; anyone
    /// else gets a case measure awaiting a hospital.
    async fn take_case(&self, event: &PersonEventRecord) -> AppResult<()> {
        let Ok(detail) = serde_json::from_str::<CaseEvent>(&event.detail) else {
            tracing::warn!(event = event.id, "isolation: unreadable case event skipped");
            return Ok(());
        };
        if let Some(open) = self
            .store
            .open_measure_of(&event.id_type, &event.id_number)
            .await?
        {
            if open.status != MeasureStatus::AwaitingHospital.code() {
                let change = MeasureChange {
                    measure_id: open.id,
                    expected_status: open.status.clone(),
                    new_status: MeasureStatus::AwaitingHospital.code().into(),
                    at: self.now_unix(),
                    leave_room: true,
                    ..Default::default()
                };
                self.store.apply_measure_change(&change).await?;
            }
            return Ok(());
        }
        let person = self
            .person_of_event(event, &detail.name, "", &detail.address)
            .await?;
        let regime = self.tracing_regime().await?;
        let measure = new_measure(
            &person,
            format!("case:{}", detail.case_id),
            PersonCategory::Case,
            regime,
            None,
            date_of(event.at),
            &detail.case_kind,
        );
        self.store
            .insert_measures(&[measure], self.now_unix())
            .await?;
        Ok(())
    }

    /// Opens a measure without an actor (the demo, imports of an existing ledger). Returns the new
    /// id, or None when the source key exists or the person has an open measure of the category.
    pub async fn place_under_measure_unchecked(
        &self,
        person: &MeasurePerson,
        category: PersonCategory,
        day1: NaiveDate,
        source_key: &str,
    ) -> AppResult<Option<i64>> {
        let regime = self.tracing_regime().await?;
        let plan = plan(regime, category);
        if plan.is_none() && category != PersonCategory::Case {
            return Err(AppError::Invalid(format!(
                "{}不管理{}",
                regime.label_zh(),
                category.label_zh()
            )));
        }
        let m = new_measure(
            person,
            source_key.to_string(),
            category,
            regime,
            plan,
            day1,
            "",
        );
        Ok(self
            .store
            .insert_measures(&[m], self.now_unix())
            .await?
            .first()
            .copied())
    }

    /// Opens many measures at once without an actor, in one transaction (the benchmark's and the
    /// demo's bulk path): (person, category, day 1, source key). Returns how many were opened.
    pub async fn place_many_under_measure_unchecked(
        &self,
        people: &[BulkMeasure],
    ) -> AppResult<usize> {
        let regime = self.tracing_regime().await?;
        let measures: Vec<NewMeasure> = people
            .iter()
            .filter_map(|(person, category, day1, key)| {
                let plan = plan(regime, *category);
                (plan.is_some() || *category == PersonCategory::Case)
                    .then(|| new_measure(person, key.clone(), *category, regime, plan, *day1, ""))
            })
            .collect();
        Ok(self
            .store
            .insert_measures(&measures, self.now_unix())
            .await?
            .len())
    }

    /// Puts a registered resident (by ID number, in the jurisdiction) under a measure by hand.
    pub async fn open_measure_by_hand(&self, actor: &Actor, form: &MeasureForm) -> AppResult<i64> {
        actor.require(Permission::ManageIsolationSites)?;
        let category = PersonCategory::from_code(form.category.trim())
            .ok_or_else(|| AppError::Invalid("请选择人员类别".into()))?;
        let number = form.id_number.trim().to_uppercase();
        if number.is_empty() {
            return Err(AppError::Invalid("请填写证件号码".into()));
        }
        let day1 = if form.day1.trim().is_empty() {
            self.today()
        } else {
            parse_date(&form.day1).ok_or_else(|| {
                AppError::Invalid(format!("日期“{}”应写成 2022-11-20", form.day1.trim()))
            })?
        };
        if day1 > self.today() {
            return Err(AppError::Invalid("第1天不能晚于今天".into()));
        }
        let (lower, upper) = actor.jurisdiction_range();
        let found = self
            .store
            .search_residents(SearchField::IdNumber, &number, (&lower, &upper), 2)
            .await?;
        let Some(resident) = found.first() else {
            return Err(AppError::Invalid(
                "辖区实有人口中没有这个证件号码：请核对，或先登记该居民".into(),
            ));
        };
        let key = format!("manual:{}:{}:{}", category.code(), resident.id, day1);
        let id = self
            .place_under_measure_unchecked(
                &MeasurePerson::of_resident(resident),
                category,
                day1,
                &key,
            )
            .await?
            .ok_or_else(|| {
                AppError::Conflict(format!(
                    "该居民已在{}管控中，不重复登记",
                    category.label_zh()
                ))
            })?;
        audit_by(
            self,
            actor,
            "create",
            &format!("measure:{id}"),
            category.code(),
        )
        .await?;
        Ok(id)
    }

    // -- measures --------------------------------------------------------------------------------

    async fn measure_in_jurisdiction(&self, actor: &Actor, id: i64) -> AppResult<MeasureRecord> {
        let m = load_within(actor, self.store.isolation_measure(id)).await?;
        Ok(m)
    }

    /// A measure the actor may work on at a site: the person lives in the jurisdiction, or is in
    /// (or assigned to) a site that lies in it.
    async fn measure_for_site_work(&self, actor: &Actor, id: i64) -> AppResult<MeasureRecord> {
        let m = self
            .store
            .isolation_measure(id)
            .await?
            .ok_or(AppError::NotFound("该管控人员"))?;
        if within(actor, &m.grid_code) {
            return Ok(m);
        }
        if let Some(site) = m.site_id
            && let Some(site) = self.store.isolation_site(site).await?
            && within(actor, &site.region_code)
        {
            return Ok(m);
        }
        Err(AppError::NotFound("该管控人员"))
    }

    /// People under measures in the jurisdiction (optionally one status), longest in status first.
    pub async fn isolation_measures(
        &self,
        actor: &Actor,
        status: &str,
    ) -> AppResult<Vec<MeasureView>> {
        actor.require(Permission::ViewIsolation)?;
        let statuses: Vec<&str> = match MeasureStatus::from_code(status.trim()) {
            Some(s) => vec![s.code()],
            None => MEASURES_IN_FORCE.to_vec(),
        };
        let (lower, upper) = actor.jurisdiction_range();
        let now = self.now_unix();
        let today = self.today();
        Ok(self
            .store
            .measures_in((&lower, &upper), &statuses, LIST_LIMIT)
            .await?
            .iter()
            .map(|m| view(m, now, today))
            .collect())
    }

    /// [`App::isolation_measures`] as a page: the rows shown and how many there are in all.
    pub async fn isolation_measures_page(
        &self,
        actor: &Actor,
        status: &str,
    ) -> AppResult<crate::Page<MeasureView>> {
        let rows = self.isolation_measures(actor, status).await?;
        let wanted: Vec<&str> = match MeasureStatus::from_code(status.trim()) {
            Some(s) => vec![s.code()],
            None => MEASURES_IN_FORCE.to_vec(),
        };
        let (lower, upper) = actor.jurisdiction_range();
        let total: i64 = self
            .store
            .measure_status_counts((&lower, &upper), actor.jurisdiction.as_str().len() as i64)
            .await?
            .iter()
            .filter(|c| wanted.contains(&c.status.as_str()))
            .map(|c| c.people)
            .sum();
        Ok(crate::Page::new(rows, total))
    }

    pub async fn measure_detail(&self, actor: &Actor, id: i64) -> AppResult<MeasureDetail> {
        actor.require(Permission::ViewIsolation)?;
        let m = self.measure_for_site_work(actor, id).await?;
        self.detail_of(&m).await
    }

    async fn detail_of(&self, m: &MeasureRecord) -> AppResult<MeasureDetail> {
        let tests = self.store.measure_tests_of(m.id).await?;
        let check_ins = self.store.check_ins_of(m.id, 30).await?;
        let site_name = match m.site_id {
            Some(id) => self
                .store
                .isolation_site(id)
                .await?
                .map(|s| s.name)
                .unwrap_or_default(),
            None => String::new(),
        };
        let room_number = match m.room_id {
            Some(id) => self
                .store
                .isolation_room(id)
                .await?
                .map(|r| r.number)
                .unwrap_or_default(),
            None => String::new(),
        };
        let hospital_name = match m.hospital_id {
            Some(id) => self
                .store
                .treatment_hospital(id)
                .await?
                .map(|h| h.name)
                .unwrap_or_default(),
            None => String::new(),
        };
        let plan_summary = match (
            Regime::from_code(&m.regime),
            PersonCategory::from_code(&m.category),
        ) {
            (Some(r), Some(c)) => plan(r, c).map(|p| p.summary_zh()).unwrap_or_default(),
            _ => String::new(),
        };
        let release_blockers = self.release_blockers(m, &tests).err().unwrap_or_default();
        Ok(MeasureDetail {
            measure: view(m, self.now_unix(), self.today()),
            plan_summary,
            site_name,
            room_number,
            hospital_name,
            note: m.note.clone(),
            tests: tests
                .iter()
                .map(|t| TestView {
                    id: t.id,
                    phase_label: phase_label(&t.phase_kind),
                    day: t.day,
                    due_date: t.due_date.clone(),
                    result_label: t
                        .result
                        .as_deref()
                        .and_then(|r| TestOutcome::parse(r).ok())
                        .map(|r| r.label_zh().to_string())
                        .unwrap_or_else(|| "待检测".into()),
                    recorded_at: t.recorded_at,
                })
                .collect(),
            check_ins: check_ins
                .iter()
                .map(|c| CheckInView {
                    at: c.at,
                    place: if c.place == "home" {
                        "居家"
                    } else {
                        "隔离点"
                    }
                    .into(),
                    celsius: celsius(c.tenths),
                    fever: c.fever,
                    symptoms: c.symptoms.clone(),
                })
                .collect(),
            release_blockers,
        })
    }

    /// Shows the full ID number, phone and address of a person under a measure (transfer crews and
    /// sites need them); like every reveal it needs a reason, written with it to the audit log
    /// before anything is returned.
    pub async fn reveal_measure_person(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
    ) -> AppResult<RevealedPerson> {
        actor.require(Permission::RevealPersonalData)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::Invalid(
                "请填写查看原因：查看完整证件号、电话和地址会记入审计日志".into(),
            ));
        }
        if reason.chars().count() > 200 {
            return Err(AppError::Invalid("查看原因最多200个字".into()));
        }
        let m = self.measure_in_jurisdiction(actor, id).await?;
        audit_by(
            self,
            actor,
            "reveal",
            &format!("measure:{id}"),
            &format!("隔离管控人员完整信息：{reason}"),
        )
        .await?;
        Ok(RevealedPerson {
            name: m.name,
            id_number: m.id_number,
            phone: m.phone,
            address: m.address,
        })
    }

    /// Test tasks due today or overdue in the jurisdiction.
    pub async fn measure_tests_due(&self, actor: &Actor) -> AppResult<Vec<DueTestView>> {
        actor.require(Permission::ViewIsolation)?;
        let (lower, upper) = actor.jurisdiction_range();
        let today = self.today().to_string();
        Ok(self
            .store
            .measure_tests_due((&lower, &upper), &today, LIST_LIMIT)
            .await?
            .into_iter()
            .map(|t| DueTestView {
                test_id: t.test_id,
                measure_id: t.measure_id,
                name: mask_middle(&t.name, 1, 0),
                id_number_masked: mask_document(&t.id_type, &t.id_number),
                phase_label: phase_label(&t.phase_kind),
                day: t.day,
                overdue: t.due_date < today,
                due_date: t.due_date,
                status_label: status_label(&t.status),
                place: match (t.site_name, t.room_number) {
                    (Some(s), Some(r)) => format!("{s} {r}"),
                    (Some(s), None) => s,
                    _ => "居家".into(),
                },
            })
            .collect())
    }

    /// Why `m` cannot end today (the phase it is in must be over with every test negative).
    fn release_blockers(
        &self,
        m: &MeasureRecord,
        tests: &[fangkong_store::MeasureTestRecord],
    ) -> Result<(), Vec<String>> {
        let through = match m.status.as_str() {
            "in_site" if !m.centralised_end.is_empty() => &m.centralised_end,
            "in_site" | "at_home" => &m.end_date,
            _ => {
                return Err(vec![format!(
                    "{}的人员不能在此解除",
                    status_label(&m.status)
                )]);
            }
        };
        let Some(through) = parse_date(through) else {
            return Err(vec!["没有管控期限".into()]);
        };
        let tests: Vec<(NaiveDate, Option<TestOutcome>)> = tests
            .iter()
            .filter_map(|t| {
                Some((
                    parse_date(&t.due_date)?,
                    t.result.as_deref().and_then(|r| TestOutcome::parse(r).ok()),
                ))
            })
            .collect();
        release_check(&tests, through, self.today())
    }

    /// Records a test task's result. Positive: `measure_positive`, the person leaves their room and
    /// awaits a hospital. The last negative of a person at home whose period is over ends the
    /// measure (`measure_released`). All in one transaction.
    pub async fn record_test_result(
        &self,
        actor: &Actor,
        test_id: i64,
        result: &str,
    ) -> AppResult<ResultEffect> {
        actor.require(Permission::ManageIsolationSites)?;
        let outcome = TestOutcome::parse(result).map_err(AppError::Invalid)?;
        let test = self
            .store
            .measure_test(test_id)
            .await?
            .ok_or(AppError::NotFound("该检测任务"))?;
        let m = self.measure_for_site_work(actor, test.measure_id).await?;
        if test.result.is_some() {
            return Err(AppError::Conflict(format!(
                "{}的检测已有结果，不能重复录入",
                test.due_date
            )));
        }
        let status = MeasureStatus::from_code(&m.status)
            .ok_or_else(|| AppError::Internal("unknown measure status".into()))?;
        if !status.is_open() || status == MeasureStatus::AwaitingHospital {
            return Err(AppError::Conflict(format!(
                "该人员{}，不再录入管控期检测结果",
                status.label_zh()
            )));
        }
        if parse_date(&test.due_date).is_some_and(|d| d > self.today()) {
            return Err(AppError::Invalid(format!(
                "这次检测排在{}，还没到日子",
                test.due_date
            )));
        }
        let now = self.now_unix();
        let mut change = MeasureChange {
            measure_id: m.id,
            expected_status: m.status.clone(),
            new_status: m.status.clone(),
            at: now,
            test_result: Some((test.id, outcome.code().into(), actor.display_name.clone())),
            ..Default::default()
        };
        let effect = match outcome {
            TestOutcome::Positive => {
                change.new_status = MeasureStatus::AwaitingHospital.code().into();
                change.leave_room = true;
                change.event = Some(MeasureEventWrite {
                    kind: person_event::MEASURE_POSITIVE.into(),
                    source: format!("measure_test:{}", test.id),
                    detail: event_detail(&m),
                });
                ResultEffect::Positive
            }
            TestOutcome::Negative => {
                let mut tests = self.store.measure_tests_of(m.id).await?;
                for t in &mut tests {
                    if t.id == test.id {
                        t.result = Some(outcome.code().into());
                    }
                }
                if status == MeasureStatus::AtHome && self.release_blockers(&m, &tests).is_ok() {
                    change.new_status = MeasureStatus::Released.code().into();
                    change.released = true;
                    change.event = Some(MeasureEventWrite {
                        kind: person_event::MEASURE_RELEASED.into(),
                        source: format!("measure:{}", m.id),
                        detail: event_detail(&m),
                    });
                    ResultEffect::Released
                } else {
                    ResultEffect::Recorded
                }
            }
        };
        if !self.store.apply_measure_change(&change).await? {
            return Err(conflict_changed());
        }
        audit_by(
            self,
            actor,
            "update",
            &format!("measure_test:{}", test.id),
            outcome.code(),
        )
        .await?;
        Ok(effect)
    }

    /// Ends the phase the person is in, when its period is over with every test negative: out of
    /// the site into the home phase (room → cleaning), or the whole measure (`measure_released`).
    /// Returns the new status.
    pub async fn release_measure(&self, actor: &Actor, id: i64) -> AppResult<MeasureStatus> {
        let m = self.measure_for_site_work(actor, id).await?;
        if m.status == "at_home" {
            if !actor.role.allows(Permission::ManageIsolationSites)
                && !actor.role.allows(Permission::RecordHomeCheckIns)
            {
                return Err(AppError::Forbidden { role: actor.role });
            }
        } else {
            actor.require(Permission::ManageIsolationSites)?;
        }
        let tests = self.store.measure_tests_of(m.id).await?;
        self.release_blockers(&m, &tests)
            .map_err(|reasons| AppError::Invalid(format!("还不能解除：{}", reasons.join("；"))))?;
        let home_follows = m.status == "in_site"
            && !m.centralised_end.is_empty()
            && m.end_date > m.centralised_end;
        let next = if home_follows {
            MeasureStatus::AtHome
        } else {
            MeasureStatus::Released
        };
        let change = MeasureChange {
            measure_id: m.id,
            expected_status: m.status.clone(),
            new_status: next.code().into(),
            at: self.now_unix(),
            leave_room: m.room_id.is_some(),
            released: next == MeasureStatus::Released,
            event: (next == MeasureStatus::Released).then(|| MeasureEventWrite {
                kind: person_event::MEASURE_RELEASED.into(),
                source: format!("measure:{}", m.id),
                detail: event_detail(&m),
            }),
            ..Default::default()
        };
        if !self.store.apply_measure_change(&change).await? {
            return Err(conflict_changed());
        }
        audit_by(
            self,
            actor,
            "update",
            &format!("measure:{}", m.id),
            next.code(),
        )
        .await?;
        Ok(next)
    }

    // -- sites and rooms -------------------------------------------------------------------------

    pub async fn create_isolation_site(&self, actor: &Actor, form: &SiteForm) -> AppResult<i64> {
        actor.require(Permission::ManageIsolationSites)?;
        let name = form.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::Invalid("请填写隔离点名称（60字以内）".into()));
        }
        let region = crate::parse_region_code(&form.region_code)?;
        actor.require_within(&region)?;
        if self.store.region(region.as_str()).await?.is_none() {
            return Err(AppError::Invalid(format!("没有区划“{}”", region.as_str())));
        }
        let readiness = Readiness::from_code(form.readiness.trim())
            .ok_or_else(|| AppError::Invalid("请选择启用时限（2小时/24小时）".into()))?;
        let address = form.address.trim();
        if address.is_empty() {
            return Err(AppError::Invalid("请填写隔离点地址".into()));
        }
        let staff = if form.staff_count.trim().is_empty() {
            0
        } else {
            parse_count(&form.staff_count, "工作人员数", 5_000)?
        };
        let id = self
            .store
            .insert_isolation_site(&IsolationSiteRecord {
                id: 0,
                name: name.into(),
                region_code: region.as_str().into(),
                address: address.chars().take(200).collect(),
                readiness: readiness.code().into(),
                staff_count: staff,
                note: form.note.trim().chars().take(200).collect(),
                created_at: self.now_unix(),
                created_by: actor.display_name.clone(),
            })
            .await?;
        audit_by(self, actor, "create", &format!("isolation_site:{id}"), name).await?;
        Ok(id)
    }

    async fn site_in_jurisdiction(&self, actor: &Actor, id: i64) -> AppResult<IsolationSiteRecord> {
        let site = load_within(actor, self.store.isolation_site(id)).await?;
        Ok(site)
    }

    /// Adds a block of rooms (building, floors, room numbers); numbers the site has are kept.
    pub async fn add_rooms(
        &self,
        actor: &Actor,
        site_id: i64,
        form: &RoomBlockForm,
    ) -> AppResult<u64> {
        actor.require(Permission::ManageIsolationSites)?;
        self.site_in_jurisdiction(actor, site_id).await?;
        let num = |t: &str, label: &str| -> AppResult<u32> {
            t.trim().parse::<u32>().map_err(|_| {
                AppError::Invalid(format!("“{label}”应填写数字，而不是“{}”", t.trim()))
            })
        };
        let block = RoomBlock {
            building: form.building.clone(),
            floors: (
                num(&form.floor_from, "起始楼层")?,
                num(&form.floor_to, "终止楼层")?,
            ),
            rooms: (
                num(&form.room_from, "起始房号")?,
                num(&form.room_to, "终止房号")?,
            ),
        };
        let rooms = block.rooms().map_err(AppError::Invalid)?;
        let added = self
            .store
            .insert_rooms(site_id, &rooms, self.now_unix())
            .await?;
        audit_by(
            self,
            actor,
            "create",
            &format!("isolation_site:{site_id}"),
            &format!("rooms:{added}"),
        )
        .await?;
        Ok(added)
    }

    pub async fn isolation_sites(&self, actor: &Actor) -> AppResult<Vec<IsolationSiteSummary>> {
        actor.require(Permission::ViewIsolation)?;
        let (lower, upper) = actor.jurisdiction_range();
        Ok(self.store.isolation_sites((&lower, &upper)).await?)
    }

    pub async fn isolation_site_detail(&self, actor: &Actor, id: i64) -> AppResult<SiteDetail> {
        actor.require(Permission::ViewIsolation)?;
        let site = self.site_in_jurisdiction(actor, id).await?;
        let temps: HashMap<i64, CheckInRecord> = self
            .store
            .latest_site_temperatures(id)
            .await?
            .into_iter()
            .map(|c| (c.measure_id, c))
            .collect();
        let rooms: Vec<RoomView> = self
            .store
            .isolation_rooms_of(id)
            .await?
            .into_iter()
            .map(|r| {
                let t = r.measure_id.and_then(|m| temps.get(&m));
                RoomView {
                    id: r.id,
                    building: r.building,
                    floor: r.floor,
                    number: r.number,
                    status_label: RoomStatus::from_code(&r.status)
                        .map(RoomStatus::label_zh)
                        .unwrap_or(""),
                    status: r.status,
                    measure_id: r.measure_id,
                    occupant: r
                        .occupant_name
                        .map(|n| mask_middle(&n, 1, 0))
                        .unwrap_or_default(),
                    occupant_status: r
                        .occupant_status
                        .as_deref()
                        .map(status_label)
                        .unwrap_or("")
                        .into(),
                    last_temperature: t.map(|c| celsius(c.tenths)).unwrap_or_default(),
                    fever: t.is_some_and(|c| c.fever),
                }
            })
            .collect();
        let count = |s: &str| rooms.iter().filter(|r| r.status == s).count() as i64;
        let now = self.now_unix();
        let today = self.today();
        // Everyone in the site, wherever they live: the site's staff look after them all (masked).
        let here: Vec<MeasureView> = self
            .store
            .measures_at_site(id)
            .await?
            .iter()
            .map(|m| view(m, now, today))
            .collect();
        Ok(SiteDetail {
            readiness_label: Readiness::from_code(&site.readiness)
                .map(Readiness::label_zh)
                .unwrap_or(""),
            free: count("free"),
            occupied: count("occupied"),
            cleaning: count("cleaning"),
            maintenance: count("maintenance"),
            arriving: here
                .iter()
                .filter(|m| m.status == "allocated")
                .cloned()
                .collect(),
            in_site: here.into_iter().filter(|m| m.status == "in_site").collect(),
            site,
            rooms,
        })
    }

    /// A room's housekeeping: cleaning → free (消杀完成), free ↔ maintenance.
    pub async fn set_room_status(&self, actor: &Actor, room_id: i64, to: &str) -> AppResult<()> {
        actor.require(Permission::ManageIsolationSites)?;
        let room = self
            .store
            .isolation_room(room_id)
            .await?
            .ok_or(AppError::NotFound("该房间"))?;
        self.site_in_jurisdiction(actor, room.site_id).await?;
        let to = RoomStatus::from_code(to.trim())
            .ok_or_else(|| AppError::Invalid("未知的房间状态".into()))?;
        let allowed = matches!(
            (room.status.as_str(), to),
            ("cleaning", RoomStatus::Free)
                | ("free", RoomStatus::Maintenance)
                | ("maintenance", RoomStatus::Free)
        );
        if !allowed {
            return Err(AppError::Conflict(format!(
                "房间{}现在是“{}”，不能改为“{}”",
                room.number,
                RoomStatus::from_code(&room.status)
                    .map(RoomStatus::label_zh)
                    .unwrap_or(""),
                to.label_zh()
            )));
        }
        if !self
            .store
            .set_room_status(room_id, &room.status, to.code(), self.now_unix())
            .await?
        {
            return Err(conflict_changed());
        }
        Ok(())
    }

    /// Assigns one waiting person to a named room by hand (the dispatcher's choice).
    pub async fn assign_room(
        &self,
        actor: &Actor,
        measure_id: i64,
        site_id: i64,
        room_number: &str,
    ) -> AppResult<()> {
        actor.require(Permission::DispatchTransfers)?;
        let m = self.measure_in_jurisdiction(actor, measure_id).await?;
        let site = self.site_in_jurisdiction(actor, site_id).await?;
        if m.status != "awaiting_placement" {
            return Err(AppError::Conflict(format!(
                "该人员{}，不是待安置",
                status_label(&m.status)
            )));
        }
        let number = room_number.trim();
        let room = self
            .store
            .isolation_room_by_number(site_id, number)
            .await?
            .ok_or_else(|| AppError::Invalid(format!("{}没有房间“{number}”", site.name)))?;
        if room.status != "free" {
            return Err(AppError::Conflict(format!(
                "房间{}{}，一人一间：请另选空闲房间",
                room.number,
                if room.status == "occupied" {
                    "已有人入住"
                } else {
                    "不是空闲状态"
                }
            )));
        }
        self.write_assignments(actor, &[(m.id, site_id, room.id)])
            .await?;
        Ok(())
    }

    async fn write_assignments(&self, actor: &Actor, rows: &[(i64, i64, i64)]) -> AppResult<u64> {
        match self.store.write_allocation(rows, self.now_unix()).await? {
            AllocationOutcome::Written(n) => {
                audit_by(
                    self,
                    actor,
                    "update",
                    "isolation_allocation",
                    &format!("people:{n}"),
                )
                .await?;
                Ok(n)
            }
            AllocationOutcome::RoomTaken(number) => Err(AppError::Conflict(format!(
                "房间{number}已有人入住，一人一间：本次分配未保存，请重新生成"
            ))),
            AllocationOutcome::PersonMoved(_) => Err(AppError::Conflict(
                "有人员已不在待安置状态，本次分配未保存，请重新生成".into(),
            )),
        }
    }

    /// The suggested allocation of everyone waiting in the jurisdiction (up to `limit` people):
    /// nearest site first (same township, same county), families together in adjacent rooms.
    async fn plan_allocation(&self, actor: &Actor, limit: i64) -> AppResult<PlannedAllocation> {
        let (lower, upper) = actor.jurisdiction_range();
        let waiting = self
            .store
            .measures_in(
                (&lower, &upper),
                &["awaiting_placement"],
                limit.clamp(1, 100_000),
            )
            .await?;
        let free = self.store.free_rooms_in((&lower, &upper)).await?;
        let mut sites: Vec<AllocSite> = Vec::new();
        for room in &free {
            match sites.last_mut() {
                Some(site) if site.site_id == room.site_id => site.free_rooms.push(room.room_id),
                _ => sites.push(AllocSite {
                    site_id: room.site_id,
                    region_code: room.region_code.clone(),
                    free_rooms: vec![room.room_id],
                }),
            }
        }
        let people: Vec<AllocPerson> = waiting
            .iter()
            .map(|m| AllocPerson {
                key: m.id,
                household: m.household_number.clone(),
                region: m.grid_code.clone(),
            })
            .collect();
        let allocation = allocate(&people, &sites);
        Ok((waiting, allocation, free))
    }

    pub async fn allocation_preview(
        &self,
        actor: &Actor,
        limit: i64,
    ) -> AppResult<AllocationPreview> {
        actor.require(Permission::DispatchTransfers)?;
        let (waiting, allocation, free) = self.plan_allocation(actor, limit).await?;
        let by_id: HashMap<i64, &MeasureRecord> = waiting.iter().map(|m| (m.id, m)).collect();
        let sites: HashMap<i64, String> = self
            .isolation_sites(actor)
            .await?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
        let mut room_numbers: HashMap<i64, String> = HashMap::new();
        for line in allocation.assignments.iter().take(LIST_LIMIT as usize) {
            if let Some(r) = self.store.isolation_room(line.room_id).await? {
                room_numbers.insert(r.id, r.number);
            }
        }
        let now = self.now_unix();
        let today = self.today();
        let lines = allocation
            .assignments
            .iter()
            .take(LIST_LIMIT as usize)
            .filter_map(|a| {
                Some(AllocationLine {
                    measure: view(by_id.get(&a.key)?, now, today),
                    site_name: sites.get(&a.site_id).cloned().unwrap_or_default(),
                    room_number: room_numbers.get(&a.room_id).cloned().unwrap_or_default(),
                    distance_label: a.distance.label_zh(),
                })
            })
            .collect();
        Ok(AllocationPreview {
            waiting: waiting.len(),
            lines,
            unplaced: allocation.unplaced.len(),
            free_rooms: free.len(),
        })
    }

    /// Allocates up to `limit` waiting people of the jurisdiction to rooms in one transaction
    /// (benchmark hook: 10,000 people). Nothing is written when any room or person changed.
    pub async fn confirm_allocation(
        &self,
        actor: &Actor,
        limit: i64,
    ) -> AppResult<AllocationReport> {
        actor.require(Permission::DispatchTransfers)?;
        let started = Instant::now();
        let (_, allocation, _) = self.plan_allocation(actor, limit).await?;
        let rows: Vec<(i64, i64, i64)> = allocation
            .assignments
            .iter()
            .map(|a| (a.key, a.site_id, a.room_id))
            .collect();
        let allocated = if rows.is_empty() {
            0
        } else {
            self.write_assignments(actor, &rows).await?
        };
        Ok(AllocationReport {
            allocated,
            unplaced: allocation.unplaced.len(),
            millis: started.elapsed().as_millis(),
        })
    }

    /// The person arrived and is in their room (已分配 → 集中隔离中).
    pub async fn site_check_in(&self, actor: &Actor, measure_id: i64) -> AppResult<()> {
        actor.require(Permission::ManageIsolationSites)?;
        let m = self.measure_for_site_work(actor, measure_id).await?;
        if m.status != "allocated" || m.room_id.is_none() {
            return Err(AppError::Conflict(format!(
                "该人员{}，没有分配房间，不能入住",
                status_label(&m.status)
            )));
        }
        let change = MeasureChange {
            measure_id: m.id,
            expected_status: "allocated".into(),
            new_status: "in_site".into(),
            at: self.now_unix(),
            checked_in: true,
            ..Default::default()
        };
        if !self.store.apply_measure_change(&change).await? {
            return Err(conflict_changed());
        }
        audit_by(
            self,
            actor,
            "update",
            &format!("measure:{}", m.id),
            "check_in",
        )
        .await?;
        Ok(())
    }

    /// Lets a carer stay with a person in a site, when the rule allows it ("一人一间一卫": only for
    /// a child under 14, a pregnant woman, a seriously ill or dependent person; never an elderly
    /// carer or one with an underlying disease). The carer is noted on the measure.
    pub async fn assign_carer(
        &self,
        actor: &Actor,
        measure_id: i64,
        form: &CarerForm,
    ) -> AppResult<()> {
        actor.require(Permission::ManageIsolationSites)?;
        let m = self.measure_for_site_work(actor, measure_id).await?;
        if !matches!(m.status.as_str(), "allocated" | "in_site") {
            return Err(AppError::Conflict(format!(
                "该人员{}，只有集中隔离的人员才安排陪护",
                status_label(&m.status)
            )));
        }
        let name = form.name.trim();
        if name.is_empty() || name.chars().count() > 30 {
            return Err(AppError::Invalid("请填写陪护人姓名".into()));
        }
        let carer_age = match form.age.trim().parse::<u32>() {
            Ok(a) if (1..=120).contains(&a) => a,
            _ => {
                return Err(AppError::Invalid(format!(
                    "陪护人年龄应填写1到120之间的整数，而不是“{}”",
                    form.age.trim()
                )));
            }
        };
        // Unknown birth date: only the needs listed can justify a carer.
        let person_age = parse_date(&m.birth_date)
            .map(|b| age_on(b, self.today()))
            .unwrap_or(u32::MAX);
        let needs = CareNeeds {
            pregnant: form.pregnant,
            seriously_ill: form.seriously_ill,
            dependent: form.dependent,
        };
        carer_check(
            person_age,
            needs,
            CarerFacts {
                age: carer_age,
                underlying_disease: form.underlying_disease,
            },
        )
        .map_err(|reasons| AppError::Invalid(format!("不能安排陪护：{}", reasons.join("；"))))?;
        let why = if person_age < CARER_CHILD_AGE {
            "14岁以下儿童"
        } else if needs.pregnant {
            "孕妇"
        } else if needs.seriously_ill {
            "重症患者"
        } else {
            "半失能/失能"
        };
        let note = format!(
            "{}{}陪护：{}，{}岁（{}）",
            m.note,
            if m.note.is_empty() { "" } else { "；" },
            mask_middle(name, 1, 0),
            carer_age,
            why
        );
        if !self.store.set_measure_note(m.id, &note).await? {
            return Err(AppError::NotFound("该管控人员"));
        }
        audit_by(self, actor, "update", &format!("measure:{}", m.id), "carer").await?;
        Ok(())
    }

    /// A temperature in a site (twice a day); returns whether it is a fever (≥ 37.3 ℃).
    pub async fn record_site_temperature(
        &self,
        actor: &Actor,
        measure_id: i64,
        reading: &str,
    ) -> AppResult<bool> {
        actor.require(Permission::ManageIsolationSites)?;
        let m = self.measure_for_site_work(actor, measure_id).await?;
        if m.status != "in_site" {
            return Err(AppError::Conflict(format!(
                "该人员{}，不在隔离点内",
                status_label(&m.status)
            )));
        }
        self.write_check_in(actor, &m, "site", reading, "").await
    }

    async fn write_check_in(
        &self,
        actor: &Actor,
        m: &MeasureRecord,
        place: &str,
        reading: &str,
        symptoms: &str,
    ) -> AppResult<bool> {
        let celsius = parse_temperature(reading).map_err(|e| AppError::Invalid(e.to_string()))?;
        let tenths = (f64::from(celsius) * 10.0).round() as i64;
        let fever = celsius >= FEVER_THRESHOLD_C - 0.001;
        self.store
            .insert_check_in(&CheckInRecord {
                id: 0,
                measure_id: m.id,
                place: place.into(),
                day: self.today().to_string(),
                at: self.now_unix(),
                tenths,
                fever,
                symptoms: symptoms.trim().chars().take(200).collect(),
                recorded_by: actor.display_name.clone(),
            })
            .await?;
        Ok(fever)
    }

    // -- capacity and overview -------------------------------------------------------------------

    pub async fn isolation_overview(&self, actor: &Actor) -> AppResult<IsolationOverview> {
        actor.require(Permission::ViewIsolation)?;
        let code = &actor.jurisdiction;
        let (lower, upper) = code.subtree_range();
        let child_len = code
            .level()
            .child()
            .map(|l| l.code_len())
            .unwrap_or(code.as_str().len()) as i64;
        let children = self.store.region_children(code.as_str()).await?;
        let names: HashMap<String, String> = children
            .iter()
            .map(|c| (c.code.clone(), c.name.clone()))
            .collect();
        let population: HashMap<String, i64> = self
            .store
            .child_counts((&lower, &upper), child_len)
            .await?
            .into_iter()
            .map(|c| (c.code, c.residents))
            .collect();
        let rooms: HashMap<String, (i64, i64)> = self
            .store
            .rooms_by_region((&lower, &upper), child_len)
            .await?
            .into_iter()
            .map(|r| (r.code, (r.rooms, r.free)))
            .collect();
        let mut codes: Vec<String> = names.keys().cloned().collect();
        for c in population.keys().chain(rooms.keys()) {
            if !names.contains_key(c) {
                codes.push(c.clone());
            }
        }
        codes.sort();
        codes.dedup();
        let line = |code: &str, name: String, residents: i64, (rooms, free): (i64, i64)| {
            let required = required_rooms(residents);
            CapacityLine {
                code: code.to_string(),
                name,
                residents,
                required,
                rooms,
                free,
                meets_norm: rooms >= required,
            }
        };
        let capacity: Vec<CapacityLine> = codes
            .iter()
            .filter(|c| population.get(*c).copied().unwrap_or(0) > 0 || rooms.contains_key(*c))
            .map(|c| {
                line(
                    c,
                    names.get(c).cloned().unwrap_or_else(|| c.clone()),
                    population.get(c).copied().unwrap_or(0),
                    rooms.get(c).copied().unwrap_or((0, 0)),
                )
            })
            .collect();
        let region_name = self.region_name(code).await?;
        let total = line(
            code.as_str(),
            region_name.clone(),
            population.values().sum(),
            (
                rooms.values().map(|r| r.0).sum(),
                rooms.values().map(|r| r.1).sum(),
            ),
        );
        let waiting = self.waiting_lines(actor, &names, child_len).await?;
        let now = self.now_unix();
        let today = self.today();
        let longest_waiting = self
            .store
            .measures_in(
                (&lower, &upper),
                &["awaiting_placement", "allocated", "awaiting_hospital"],
                20,
            )
            .await?
            .iter()
            .map(|m| view(m, now, today))
            .collect();
        let under_measure = waiting
            .iter()
            .map(|w| {
                w.awaiting_placement + w.allocated + w.in_site + w.at_home + w.awaiting_hospital
            })
            .sum();
        Ok(IsolationOverview {
            region_name,
            capacity,
            total,
            sites: self.store.isolation_sites((&lower, &upper)).await?,
            waiting,
            longest_waiting,
            tests_due_today: self
                .store
                .count_measure_tests_due((&lower, &upper), &today.to_string())
                .await?,
            under_measure,
        })
    }

    async fn waiting_lines(
        &self,
        actor: &Actor,
        names: &HashMap<String, String>,
        child_len: i64,
    ) -> AppResult<Vec<WaitingLine>> {
        let (lower, upper) = actor.jurisdiction_range();
        let now = self.now_unix();
        let mut lines: Vec<WaitingLine> = Vec::new();
        for c in self
            .store
            .measure_status_counts((&lower, &upper), child_len)
            .await?
        {
            if lines.last().is_none_or(|l| l.code != c.code) {
                lines.push(WaitingLine {
                    name: names
                        .get(&c.code)
                        .cloned()
                        .unwrap_or_else(|| c.code.clone()),
                    code: c.code.clone(),
                    awaiting_placement: 0,
                    allocated: 0,
                    awaiting_hospital: 0,
                    in_site: 0,
                    at_home: 0,
                    longest_wait_minutes: 0,
                });
            }
            let line = lines.last_mut().expect("pushed above");
            let waits = matches!(
                c.status.as_str(),
                "awaiting_placement" | "allocated" | "awaiting_hospital"
            );
            match c.status.as_str() {
                "awaiting_placement" => line.awaiting_placement = c.people,
                "allocated" => line.allocated = c.people,
                "awaiting_hospital" => line.awaiting_hospital = c.people,
                "in_site" => line.in_site = c.people,
                "at_home" => line.at_home = c.people,
                _ => {}
            }
            if waits {
                line.longest_wait_minutes =
                    line.longest_wait_minutes.max((now - c.oldest).max(0) / 60);
            }
        }
        Ok(lines)
    }

    // -- transfers -------------------------------------------------------------------------------

    pub async fn add_vehicle(&self, actor: &Actor, form: &VehicleForm) -> AppResult<i64> {
        actor.require(Permission::DispatchTransfers)?;
        let plate = fangkong_domain::checkpoint::parse_plate(&form.plate)
            .map_err(|e| AppError::Invalid(e.to_string()))?;
        let kind = VehicleKind::from_code(form.kind.trim())
            .ok_or_else(|| AppError::Invalid("请选择车辆类型".into()))?;
        let capacity = if kind.is_ambulance() {
            1
        } else {
            let n = parse_count(&form.capacity, "核载人数", 80)?;
            if n == 0 {
                return Err(AppError::Invalid("大巴核载人数应至少为1".into()));
            }
            n
        };
        let region = if form.region_code.trim().is_empty() {
            actor.jurisdiction.clone()
        } else {
            crate::parse_region_code(&form.region_code)?
        };
        actor.require_within(&region)?;
        let record = VehicleRecord {
            id: 0,
            plate: plate.clone(),
            kind: kind.code().into(),
            capacity,
            region_code: region.as_str().into(),
            on_trip: false,
            awaiting_disinfection: false,
            created_at: self.now_unix(),
        };
        let id = match self.store.insert_vehicle(&record).await {
            Ok(id) => id,
            Err(e) if e.is_unique_violation() => {
                return Err(AppError::Conflict(format!("车牌{plate}已登记")));
            }
            Err(e) => return Err(e.into()),
        };
        audit_by(self, actor, "create", &format!("vehicle:{id}"), &plate).await?;
        Ok(id)
    }

    async fn vehicle_in_jurisdiction(&self, actor: &Actor, id: i64) -> AppResult<VehicleRecord> {
        let v = load_within(actor, self.store.transfer_vehicle(id)).await?;
        Ok(v)
    }

    /// Dispatches a vehicle with riders: allocated people to their site by coach, or one infected
    /// person (awaiting a hospital) by ambulance to `hospital_id`. Refused, with nothing written,
    /// when the rules (domain `transfer_check`) or the jurisdiction say no.
    pub async fn create_transfer(&self, actor: &Actor, form: &TransferForm) -> AppResult<i64> {
        actor.require(Permission::DispatchTransfers)?;
        let vehicle = self.vehicle_in_jurisdiction(actor, form.vehicle_id).await?;
        let kind = VehicleKind::from_code(&vehicle.kind)
            .ok_or_else(|| AppError::Internal("unknown vehicle kind".into()))?;
        let mut ids = form.measure_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        let mut riders = Vec::new();
        let mut measures = Vec::new();
        for id in &ids {
            let m = self.measure_in_jurisdiction(actor, *id).await?;
            riders.push(match m.status.as_str() {
                "awaiting_hospital" => Rider::Infected,
                "allocated" => Rider::RiskPerson,
                other => {
                    return Err(AppError::Conflict(format!(
                        "{}{}，不需要转运",
                        mask_middle(&m.name, 1, 0),
                        status_label(other)
                    )));
                }
            });
            measures.push(m);
        }
        if vehicle.on_trip {
            return Err(AppError::Conflict(format!(
                "车辆{}正在转运途中",
                vehicle.plate
            )));
        }
        transfer_check(
            kind,
            u32::try_from(vehicle.capacity).unwrap_or(0),
            vehicle.awaiting_disinfection,
            &riders,
        )
        .map_err(AppError::Invalid)?;
        let (site_id, hospital_id) = if riders.contains(&Rider::Infected) {
            let hospital_id = form
                .hospital_id
                .ok_or_else(|| AppError::Invalid("转运感染者请选择定点医院或方舱医院".into()))?;
            let hospital = load_within(actor, self.store.treatment_hospital(hospital_id)).await?;
            if hospital.occupied >= hospital.beds {
                return Err(AppError::Conflict(format!("{}床位已满", hospital.name)));
            }
            (None, Some(hospital_id))
        } else {
            let site = measures.first().and_then(|m| m.site_id);
            if measures.iter().any(|m| m.site_id != site) {
                return Err(AppError::Invalid(
                    "一趟大巴只送往一个隔离点：所选人员分配在不同隔离点".into(),
                ));
            }
            (site, None)
        };
        let outcome = self
            .store
            .create_transfer(&NewTransfer {
                vehicle_id: vehicle.id,
                region_code: vehicle.region_code.clone(),
                site_id,
                hospital_id,
                riders: ids.clone(),
                created_by: actor.display_name.clone(),
                at: self.now_unix(),
            })
            .await?;
        let id = match outcome {
            TransferOutcome::Created(id) => id,
            TransferOutcome::VehicleBusy => {
                return Err(AppError::Conflict(format!(
                    "车辆{}正在转运或尚未消毒",
                    vehicle.plate
                )));
            }
            TransferOutcome::RiderBusy(_) => {
                return Err(AppError::Conflict("所选人员已在另一趟转运中".into()));
            }
        };
        audit_by(
            self,
            actor,
            "create",
            &format!("transfer:{id}"),
            &format!("riders:{}", ids.len()),
        )
        .await?;
        Ok(id)
    }

    /// Moves a transfer on: dispatched → picked_up → handed_over (a hospital admits its rider).
    pub async fn advance_transfer(&self, actor: &Actor, id: i64, to: &str) -> AppResult<()> {
        actor.require(Permission::DispatchTransfers)?;
        let t = load_within(actor, self.store.transfer_task(id)).await?;
        let from = TransferStatus::from_code(&t.status)
            .ok_or_else(|| AppError::Internal("unknown transfer status".into()))?;
        let to = TransferStatus::from_code(to.trim())
            .ok_or_else(|| AppError::Invalid("未知的转运状态".into()))?;
        if from.next() != Some(to) {
            return Err(AppError::Conflict(format!(
                "转运任务现在“{}”，不能改为“{}”",
                from.label_zh(),
                to.label_zh()
            )));
        }
        if !self
            .store
            .advance_transfer(id, from.code(), to.code(), self.now_unix())
            .await?
        {
            return Err(AppError::Conflict(
                "转运任务状态刚刚被更新，请刷新页面".into(),
            ));
        }
        audit_by(self, actor, "update", &format!("transfer:{id}"), to.code()).await?;
        Ok(())
    }

    /// Terminal disinfection of a vehicle after a trip (终末消毒); the next trip may go.
    pub async fn disinfect_vehicle(&self, actor: &Actor, vehicle_id: i64) -> AppResult<()> {
        actor.require(Permission::DispatchTransfers)?;
        let v = self.vehicle_in_jurisdiction(actor, vehicle_id).await?;
        if !self.store.disinfect_vehicle(v.id, self.now_unix()).await? {
            return Err(AppError::Conflict(format!(
                "车辆{}没有待消毒的转运",
                v.plate
            )));
        }
        audit_by(
            self,
            actor,
            "update",
            &format!("vehicle:{}", v.id),
            "disinfected",
        )
        .await?;
        Ok(())
    }

    pub async fn transfers_board(&self, actor: &Actor) -> AppResult<TransfersBoard> {
        actor.require(Permission::ViewIsolation)?;
        let (lower, upper) = actor.jurisdiction_range();
        let now = self.now_unix();
        let today = self.today();
        let on_the_way: std::collections::HashSet<i64> = self
            .store
            .riders_on_live_transfers()
            .await?
            .into_iter()
            .collect();
        let waiting = |statuses: &'static [&'static str]| {
            let (lower, upper) = (lower.clone(), upper.clone());
            let on_the_way = &on_the_way;
            async move {
                Ok::<_, AppError>(
                    self.store
                        .measures_in((&lower, &upper), statuses, LIST_LIMIT)
                        .await?
                        .iter()
                        .filter(|m| !on_the_way.contains(&m.id))
                        .map(|m| view(m, now, today))
                        .collect::<Vec<_>>(),
                )
            }
        };
        let to_sites = waiting(&["allocated"]).await?;
        let to_hospitals = waiting(&["awaiting_hospital"]).await?;
        let code = &actor.jurisdiction;
        let child_len = code
            .level()
            .child()
            .map(|l| l.code_len())
            .unwrap_or(code.as_str().len()) as i64;
        let names: HashMap<String, String> = self
            .store
            .region_children(code.as_str())
            .await?
            .into_iter()
            .map(|c| (c.code, c.name))
            .collect();
        let waiting_by_region = self
            .waiting_lines(actor, &names, child_len)
            .await?
            .into_iter()
            .filter(|l| l.awaiting_placement + l.allocated + l.awaiting_hospital > 0)
            .collect();
        let vehicles = self
            .store
            .transfer_vehicles((&lower, &upper))
            .await?
            .into_iter()
            .map(|v| VehicleView {
                kind_label: VehicleKind::from_code(&v.kind)
                    .map(VehicleKind::label_zh)
                    .unwrap_or(""),
                state_label: if v.on_trip {
                    "转运中"
                } else if v.awaiting_disinfection {
                    "待消毒"
                } else {
                    "待命"
                },
                vehicle: v,
            })
            .collect();
        let transfers = self
            .store
            .transfer_tasks((&lower, &upper), LIST_LIMIT)
            .await?
            .into_iter()
            .map(|t| {
                let status = TransferStatus::from_code(&t.status);
                let next = status.and_then(TransferStatus::next);
                TransferView {
                    kind_label: VehicleKind::from_code(&t.vehicle_kind)
                        .map(VehicleKind::label_zh)
                        .unwrap_or(""),
                    status_label: status.map(TransferStatus::label_zh).unwrap_or(""),
                    next_status: next.map(TransferStatus::code),
                    next_label: match next {
                        Some(TransferStatus::PickedUp) => "确认接到",
                        Some(TransferStatus::HandedOver) => "确认交接",
                        _ => "",
                    },
                    transfer: t,
                }
            })
            .collect();
        let site_names = self
            .store
            .isolation_sites((&lower, &upper))
            .await?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
        Ok(TransfersBoard {
            vehicles,
            transfers,
            to_sites,
            to_hospitals,
            waiting_by_region,
            hospitals: self.store.treatment_hospitals((&lower, &upper)).await?,
            site_names,
        })
    }

    // -- home isolation and monitoring -----------------------------------------------------------

    pub async fn home_board(&self, actor: &Actor) -> AppResult<HomeBoard> {
        actor.require(Permission::ViewIsolation)?;
        actor.require(Permission::RecordHomeCheckIns)?;
        let (lower, upper) = actor.jurisdiction_range();
        let today = self.today();
        let yesterday = (today - Days::new(1)).to_string();
        let today_text = today.to_string();
        let people: Vec<HomeView> = self
            .store
            .home_rows((&lower, &upper), LIST_LIMIT)
            .await?
            .into_iter()
            .map(|h| {
                let last = h.last_check_in_day.clone().unwrap_or_default();
                HomeView {
                    measure_id: h.measure_id,
                    name: mask_middle(&h.name, 1, 0),
                    id_number_masked: mask_document(&h.id_type, &h.id_number),
                    grid_code: h.grid_code,
                    category_label: category_label(&h.category),
                    end_date: h.end_date,
                    missed_today: last < today_text,
                    missed_yesterday: last < yesterday,
                    last_check_in_day: last,
                    last_fever: h.last_fever.unwrap_or(false),
                    alarms: h.alarms,
                }
            })
            .collect();
        let alarms = self
            .store
            .door_alarms((&lower, &upper), 100)
            .await?
            .into_iter()
            .map(|a| AlarmView {
                id: a.id,
                measure_id: a.measure_id,
                name: mask_middle(&a.name, 1, 0),
                grid_code: a.grid_code,
                device_id: a.device_id,
                kind_label: alarm_label(&a.kind).to_string(),
                at: a.at,
                note: a.note,
            })
            .collect();
        Ok(HomeBoard {
            missed: people.iter().filter(|p| p.missed_yesterday).count(),
            people,
            alarms,
        })
    }

    /// A daily check-in of a person at home, by their grid worker (or site staff).
    pub async fn home_check_in(
        &self,
        actor: &Actor,
        measure_id: i64,
        reading: &str,
        symptoms: &str,
    ) -> AppResult<bool> {
        actor.require(Permission::RecordHomeCheckIns)?;
        let m = self.measure_in_jurisdiction(actor, measure_id).await?;
        if m.status != "at_home" {
            return Err(AppError::Conflict(format!(
                "该人员{}，不在居家管控中",
                status_label(&m.status)
            )));
        }
        self.write_check_in(actor, &m, "home", reading, symptoms)
            .await
    }

    /// The resident's own measure (if any).
    pub async fn my_measure(&self, actor: &Actor) -> AppResult<MyMeasure> {
        actor.require(Permission::RecordHomeCheckIns)?;
        let resident = self.own_resident(actor).await?;
        let Some(m) = self
            .store
            .open_measure_of(&resident.id_type, &resident.id_number)
            .await?
        else {
            return Ok(MyMeasure {
                measure: None,
                checked_in_today: false,
            });
        };
        let detail = self.detail_of(&m).await?;
        let today = self.today().to_string();
        let checked_in_today = self
            .store
            .check_ins_of(m.id, 5)
            .await?
            .iter()
            .any(|c| c.place == "home" && c.day == today);
        Ok(MyMeasure {
            measure: Some(detail),
            checked_in_today,
        })
    }

    /// A resident checks in for themself (temperature, symptoms).
    pub async fn my_home_check_in(
        &self,
        actor: &Actor,
        reading: &str,
        symptoms: &str,
    ) -> AppResult<bool> {
        actor.require(Permission::RecordHomeCheckIns)?;
        let resident = self.own_resident(actor).await?;
        let m = self
            .store
            .open_measure_of(&resident.id_type, &resident.id_number)
            .await?
            .filter(|m| m.status == "at_home")
            .ok_or_else(|| {
                AppError::Invalid("您目前不在居家隔离或居家健康监测中，不需要打卡".into())
            })?;
        self.write_check_in(actor, &m, "home", reading, symptoms)
            .await
    }

    /// A door sensor's alarm (技防入户/门磁) at the home of a person isolated at home.
    pub async fn record_door_alarm(
        &self,
        actor: &Actor,
        measure_id: i64,
        device_id: &str,
        kind: &str,
        note: &str,
    ) -> AppResult<i64> {
        actor.require(Permission::RecordHomeCheckIns)?;
        let m = self.measure_in_jurisdiction(actor, measure_id).await?;
        if m.status != "at_home" {
            return Err(AppError::Conflict(format!(
                "该人员{}，不在居家管控中",
                status_label(&m.status)
            )));
        }
        let kind = kind.trim();
        if !ALARM_KINDS.iter().any(|(k, _)| *k == kind) {
            return Err(AppError::Invalid(format!(
                "未知的报警类型“{kind}”，可选：door_opened、tamper、offline"
            )));
        }
        let device = device_id.trim();
        if device.is_empty() || device.len() > 64 {
            return Err(AppError::Invalid("请提供门磁设备编号（64字符以内）".into()));
        }
        let now = self.now_unix();
        let id = self
            .store
            .insert_door_alarm(
                m.id,
                device,
                kind,
                now,
                now,
                &note.trim().chars().take(200).collect::<String>(),
            )
            .await?;
        Ok(id)
    }

    // -- hospitals -------------------------------------------------------------------------------

    pub async fn add_treatment_hospital(
        &self,
        actor: &Actor,
        form: &HospitalForm,
    ) -> AppResult<i64> {
        actor.require(Permission::ManageIsolationSites)?;
        let name = form.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::Invalid("请填写医院名称（60字以内）".into()));
        }
        let kind = HospitalKind::from_code(form.kind.trim())
            .ok_or_else(|| AppError::Invalid("请选择定点医院或方舱医院".into()))?;
        let region = crate::parse_region_code(&form.region_code)?;
        actor.require_within(&region)?;
        let beds = parse_count(&form.beds, "床位数", 100_000)?;
        let id = self
            .store
            .insert_treatment_hospital(&HospitalRecord {
                id: 0,
                name: name.into(),
                kind: kind.code().into(),
                region_code: region.as_str().into(),
                beds,
                created_at: self.now_unix(),
                occupied: 0,
            })
            .await?;
        audit_by(self, actor, "create", &format!("hospital:{id}"), name).await?;
        Ok(id)
    }

    pub async fn hospitals_board(&self, actor: &Actor) -> AppResult<HospitalsBoard> {
        actor.require(Permission::ViewIsolation)?;
        let (lower, upper) = actor.jurisdiction_range();
        let hospitals: Vec<HospitalView> = self
            .store
            .treatment_hospitals((&lower, &upper))
            .await?
            .into_iter()
            .map(|h| HospitalView {
                kind_label: HospitalKind::from_code(&h.kind)
                    .map(HospitalKind::label_zh)
                    .unwrap_or(""),
                free: (h.beds - h.occupied).max(0),
                hospital: h,
            })
            .collect();
        let names: HashMap<i64, String> = hospitals
            .iter()
            .map(|h| (h.hospital.id, h.hospital.name.clone()))
            .collect();
        let admissions = self
            .store
            .hospital_admissions((&lower, &upper), LIST_LIMIT)
            .await?
            .into_iter()
            .map(|a| AdmissionView {
                id: a.id,
                hospital_name: names.get(&a.hospital_id).cloned().unwrap_or_default(),
                measure_id: a.measure_id,
                name: mask_middle(&a.name, 1, 0),
                id_number_masked: mask_document(&a.id_type, &a.id_number),
                admitted_at: a.admitted_at,
                discharged_at: a.discharged_at,
            })
            .collect();
        let now = self.now_unix();
        let today = self.today();
        let awaiting = self
            .store
            .measures_in((&lower, &upper), &["awaiting_hospital"], LIST_LIMIT)
            .await?
            .iter()
            .map(|m| view(m, now, today))
            .collect();
        Ok(HospitalsBoard {
            hospitals,
            admissions,
            awaiting,
        })
    }

    /// Discharges a patient (出院): the bed is free again.
    pub async fn discharge_admission(&self, actor: &Actor, admission_id: i64) -> AppResult<()> {
        actor.require(Permission::ManageIsolationSites)?;
        let (hospital_id, discharged) = self
            .store
            .hospital_admission(admission_id)
            .await?
            .ok_or(AppError::NotFound("该收治记录"))?;
        load_within(actor, self.store.treatment_hospital(hospital_id)).await?;
        if discharged.is_some()
            || !self
                .store
                .discharge_admission(admission_id, self.now_unix())
                .await?
        {
            return Err(AppError::Conflict("该患者已出院".into()));
        }
        audit_by(
            self,
            actor,
            "update",
            &format!("admission:{admission_id}"),
            "discharged",
        )
        .await?;
        Ok(())
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

fn alarm_label(kind: &str) -> &'static str {
    ALARM_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, l)| *l)
        .unwrap_or("报警")
}
