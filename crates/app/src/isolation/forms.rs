//! The forms of isolation, transfer and treatment as pages and the API send them.

/// A person put under a measure by hand (or by the demo). Unchecked text: no `Debug`.
#[derive(Clone, Default)]
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

/// A person's check-in at their site (入住): when they arrived, if not now.
#[derive(Debug, Clone, Default)]
pub struct CheckInForm {
    /// Beijing time `YYYY-MM-DD HH:MM` (or `…THH:MM`); empty = now.
    pub occurred_at: String,
}

/// A transfer's next step (接到, 交接 — for an ambulance, the hospital's admission).
#[derive(Debug, Clone, Default)]
pub struct TransferStepForm {
    /// The status code the transfer moves to (`picked_up`, `handed_over`).
    pub to: String,
    /// Beijing time of the step; empty = now.
    pub occurred_at: String,
}

impl From<&str> for TransferStepForm {
    /// A step taken now.
    fn from(to: &str) -> TransferStepForm {
        TransferStepForm {
            to: to.to_string(),
            occurred_at: String::new(),
        }
    }
}

/// A patient's discharge from a designated hospital or fangcang (出院).
#[derive(Debug, Clone, Default)]
pub struct DischargeForm {
    /// Beijing time of the discharge; empty = now.
    pub occurred_at: String,
}
