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
