//! What the isolation pages and the API show: measures, tests, sites and rooms, allocations,
//! transfers, home monitoring and hospitals.

use super::*;

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
    /// The name of the next step's time on its form (接到时间, 收治时间 …).
    pub time_label: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransfersBoard {
    pub vehicles: Vec<VehicleView>,
    /// Live transfers first, then the newest.
    pub transfers: crate::Page<TransferView>,
    /// Waiting for a coach to their site (allocated), oldest first; riders on the way left out.
    pub to_sites: crate::Page<MeasureView>,
    /// Waiting for an ambulance to a hospital, oldest first; riders on the way left out.
    pub to_hospitals: crate::Page<MeasureView>,
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
    /// People at home, by grid.
    pub people: crate::Page<HomeView>,
    /// People at home without a check-in yesterday or today (all of them, not only the rows shown).
    pub missed: i64,
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
    /// Patients in hospital first, then the newest discharges.
    pub admissions: crate::Page<AdmissionView>,
    /// Waiting for an ambulance (the transfers board's "to hospitals" list, the same people).
    pub awaiting: crate::Page<MeasureView>,
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
