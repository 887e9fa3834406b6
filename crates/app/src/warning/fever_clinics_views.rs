//! Fever clinics' views (发热门诊): a patient on the clinic's board with the wait in their stage,
//! a clinic's board by stage, the commanders' list of clinics with the day's figures. Personal
//! data masked (ID number, phone); the name is shown to the clinic's staff who treat the patient.

use fangkong_domain::lab_result::TestResult;
use fangkong_domain::personal::PersonName;
use fangkong_domain::warning::fever_clinics::{
    BloodCount, ClinicRisk, VisitInput, VisitStage, VisitState, may_leave_before_result, transition,
};
use fangkong_store::warning::fever_clinics::{
    ClinicDayFigures, FeverClinicRecord, FeverVisitRecord,
};
use serde::Serialize;

use crate::population::{mask_document, mask_phone};

/// A clinic as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClinicView {
    pub id: i64,
    pub name: String,
    pub kind_label: &'static str,
    pub region_code: String,
    pub risk: ClinicRisk,
    pub risk_label: &'static str,
    pub hospital: String,
    /// PCR tubes join the lab flow at this sampling site (None: results typed by the clinic).
    pub site_id: Option<i64>,
    /// The clinic's figures of today (Beijing).
    pub today: ClinicDayFigures,
}

/// A patient on the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitView {
    pub id: i64,
    pub clinic_id: i64,
    pub stage: VisitStage,
    pub stage_label: &'static str,
    pub name: PersonName,
    /// Masked (`130109********1234`); empty without a valid ID.
    pub id_masked: String,
    pub phone_masked: String,
    /// Registered without a valid ID (首诊负责制: received, flagged).
    pub no_valid_id: bool,
    pub id_problem: String,
    pub in_register: bool,
    pub green_code: bool,
    pub travel_history: bool,
    pub temperature: String,
    pub complaint: String,
    pub registered_at: i64,
    /// When the patient entered the current stage (or left).
    pub stage_since: i64,
    /// Minutes in the current stage (until leaving, for those who left).
    pub waiting_minutes: i64,
    pub antigen: String,
    pub pcr: String,
    /// The PCR tube is bound in the lab flow: its result comes back from the lab.
    pub pcr_in_lab_flow: bool,
    pub pcr_taken: bool,
    pub pcr_result_known: bool,
    pub blood: String,
    pub positive: bool,
    /// May leave now (result back negative, or the clinic's rule lets them wait at home).
    pub may_leave: bool,
    pub hospital: String,
    pub outcome_note: String,
    /// The actions the loop allows now (`receive`, `screen`, `observe`, `release`, `refer`,
    /// `antigen`, `pcr_taken`, `pcr_result`, `blood`).
    pub actions: Vec<&'static str>,
}

/// A clinic's board: patients by stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClinicBoard {
    pub clinic: ClinicView,
    pub now: i64,
    pub stages: Vec<StageColumn>,
}

/// One stage's patients on the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageColumn {
    pub stage: VisitStage,
    pub label: &'static str,
    pub visits: Vec<VisitView>,
}

/// The clinics of a jurisdiction with the day's figures and their total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClinicsList {
    pub day: String,
    pub clinics: Vec<ClinicView>,
    pub total: ClinicDayFigures,
    pub can_add: bool,
}

pub(crate) fn clinic_view(record: &FeverClinicRecord, today: ClinicDayFigures) -> ClinicView {
    let risk = record.risk;
    ClinicView {
        id: record.id,
        name: record.name.clone(),
        kind_label: record.kind.label_zh(),
        region_code: record.region_code.to_string(),
        risk,
        risk_label: risk.label_zh(),
        hospital: record.hospital.clone(),
        site_id: record.site_id,
        today,
    }
}

/// The state the loop's rule decides on.
pub(crate) fn state_of(v: &FeverVisitRecord) -> VisitState {
    VisitState {
        stage: v.stage,
        risk: v.clinic_risk,
        green_code: v.green_code,
        travel_history: v.travel_history,
        antigen: v.antigen_result,
        pcr_taken: v.pcr_tube.is_some(),
        pcr: v.pcr_result,
        blood: v.blood_count,
    }
}

/// The actions offered: those the rule allows now (results are offered while not recorded).
fn actions_of(state: &VisitState, bound: bool) -> Vec<&'static str> {
    let probes: [(&'static str, VisitInput); 9] = [
        ("receive", VisitInput::Receive),
        ("screen", VisitInput::Screen),
        ("antigen", VisitInput::Antigen(TestResult::Negative)),
        ("pcr_taken", VisitInput::PcrTaken),
        ("pcr_result", VisitInput::PcrResult(TestResult::Negative)),
        ("blood", VisitInput::Blood(BloodCount::Normal)),
        ("observe", VisitInput::Observe),
        ("release", VisitInput::Release),
        (
            "refer",
            VisitInput::Refer {
                hospital: "-".into(),
            },
        ),
    ];
    probes
        .iter()
        .filter(|(name, input)| {
            // A bound tube's result comes from the lab; release is offered in screening and
            // observation even when refused now, so the refusal says why.
            match *name {
                "pcr_result" if bound => false,
                "release" => !state.stage.is_final() && state.stage >= VisitStage::Screening,
                _ => transition(state, input, 0).is_ok(),
            }
        })
        .map(|(name, _)| *name)
        .collect()
}

pub(crate) fn visit_view(v: &FeverVisitRecord, now: i64) -> VisitView {
    let state = state_of(v);
    let stage_since = match state.stage {
        VisitStage::Triage => Some(v.registered_at),
        VisitStage::Reception => v.received_at,
        VisitStage::Screening => v.screening_at,
        VisitStage::Observation => v.observation_at,
        VisitStage::Referred | VisitStage::Released => v.left_at,
    }
    .unwrap_or(v.registered_at);
    let until = if state.stage.is_final() {
        v.left_at.unwrap_or(now)
    } else {
        now
    };
    let waiting_from = if state.stage.is_final() {
        v.registered_at
    } else {
        stage_since
    };
    let pcr = match (&v.pcr_tube, state.pcr) {
        (None, _) => "未采样".to_string(),
        (Some(tube), None) => format!("已采样（管码 {tube}），待结果"),
        (Some(tube), Some(result)) => format!("{}（管码 {tube}）", result.label_zh()),
    };
    VisitView {
        id: v.id,
        clinic_id: v.clinic_id,
        stage: state.stage,
        stage_label: state.stage.label_zh(),
        name: PersonName::new(v.name.clone()),
        id_masked: if v.id_valid {
            mask_document(&v.id_type, &v.id_number)
        } else {
            String::new()
        },
        phone_masked: mask_phone(Some(v.phone.as_str()).filter(|p| !p.is_empty())),
        no_valid_id: !v.id_valid,
        id_problem: v.id_problem.clone(),
        in_register: v.resident_id.is_some(),
        green_code: v.green_code,
        travel_history: v.travel_history,
        temperature: v.temperature.clone(),
        complaint: v.complaint.clone(),
        registered_at: v.registered_at,
        stage_since,
        waiting_minutes: (until - waiting_from).max(0) / 60,
        antigen: state
            .antigen
            .map_or("未做", TestResult::label_zh)
            .to_string(),
        pcr,
        pcr_in_lab_flow: v.pcr_bound,
        pcr_taken: state.pcr_taken,
        pcr_result_known: state.pcr.is_some(),
        blood: state.blood.map_or("未做", BloodCount::label_zh).to_string(),
        positive: state.positive(),
        may_leave: !state.positive()
            && state.pcr_taken
            && match state.pcr {
                Some(TestResult::Negative) => true,
                Some(_) => false,
                None => may_leave_before_result(state.risk, state.green_code, state.travel_history),
            },
        hospital: v.hospital.clone(),
        outcome_note: v.outcome_note.clone(),
        actions: actions_of(&state, v.pcr_bound),
    }
}

/// Patients by stage, every stage shown (an empty one says so).
pub(crate) fn board_columns(visits: &[FeverVisitRecord], now: i64) -> Vec<StageColumn> {
    VisitStage::ALL
        .iter()
        .map(|stage| StageColumn {
            stage: *stage,
            label: stage.label_zh(),
            visits: visits
                .iter()
                .filter(|v| v.stage == *stage)
                .map(|v| visit_view(v, now))
                .collect(),
        })
        .collect()
}
