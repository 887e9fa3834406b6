//! Fever clinics (发热门诊/发热诊室, domain-rules.md §7.2): the registry of clinics, each patient's
//! closed loop (triage → reception → screening → observation → referral or release) through the
//! domain's `transition`, the clinic's PCR tube bound in the lab flow (mass testing's binding at the
//! clinic's sampling site), the lab's results brought back to the visits
//! ([`App::sync_fever_clinic_results`], a background pass), and the day's figures.
//!
//! 首诊负责制: a patient without a valid ID is registered by name and phone and flagged, never
//! refused. A positive (antigen at the clinic, or the PCR) writes a `sentinel_positive` event in
//! the transaction that records it; an antigen positive with an ID also writes `antigen_positive`
//! and its PCR recheck task (as a self-test does), so the clinic's PCR tube is bound as that
//! recheck; a positive PCR of a bound tube is mass testing's `single_positive`, from which
//! investigation opens the initial-screen case and isolation queues the ambulance.

use fangkong_domain::lab_result::TestResult;
use fangkong_domain::mass_testing::TubeBarcode;
use fangkong_domain::person_event::SentinelEvent;
use fangkong_domain::role::Permission;
use fangkong_domain::time::beijing_date;
use fangkong_domain::warning::fever_clinics::{VisitChange, VisitInput, transition};
use fangkong_store::warning::fever_clinics::{
    FeverClinicRecord, FeverVisitRecord, NewFeverClinic, NewFeverVisit, PositiveWrite, VisitFact,
    VisitWrite,
};
use serde::Serialize;

pub use super::fever_clinics_forms::{
    AddClinic, ClinicForm, PatientForm, RegisterPatient, StepForm, VisitStep,
};
pub use super::fever_clinics_views::{
    ClinicBoard, ClinicView, ClinicsList, StageColumn, VisitView,
};
use super::fever_clinics_views::{board_columns, clinic_view, state_of, visit_view};
use crate::mass_testing::{SamplingBatch, ScanAction, ScanInput};
use crate::scope::{Placed, load_within};
use crate::{Actor, App, AppError, AppResult, audit_record};

impl Placed for FeverClinicRecord {
    const WHAT: &'static str = "该发热门诊";
    fn place(&self) -> &str {
        self.region_code.as_str()
    }
}

impl Placed for FeverVisitRecord {
    const WHAT: &'static str = "该就诊记录";
    fn place(&self) -> &str {
        self.clinic_region.as_str()
    }
}

/// A patient registered: the visit, whether this request registered it (false: a retry), and
/// the flags the desk must see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisteredPatient {
    pub visit_id: i64,
    pub clinic_id: i64,
    pub created: bool,
    /// Why the ID was not valid (registered anyway by name and phone); empty when valid.
    pub id_problem: String,
    pub in_register: bool,
}

/// Today's Beijing day, as the counters key it.
pub(crate) fn day_of(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|at| beijing_date(at).format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

impl App {
    /// Registers a fever clinic or fever room in the actor's jurisdiction, with its risk rule, its
    /// designated hospital and, optionally, the sampling site of an open single-tube routine round
    /// where its PCR tubes join the lab flow.
    pub async fn add_fever_clinic(&self, actor: &Actor, form: &ClinicForm) -> AppResult<i64> {
        actor.require(Permission::RespondToWarnings)?;
        let command = AddClinic::try_from(form)?;
        actor.require_within(&command.region)?;
        if let Some(site_id) = command.site_id {
            let site = load_within(actor, self.store.site(site_id)).await?;
            let round = self
                .store
                .round(site.round_id)
                .await?
                .ok_or(AppError::NotFound("该检测轮次"))?;
            if round.closed_at.is_some()
                || round.kind != fangkong_domain::mass_testing::RoundKind::Routine
                || round.default_pool_size != 1
            {
                return Err(AppError::field(
                    "采样点",
                    "须为进行中的常态化检测（单管，1人1管）轮次的采样点",
                ));
            }
        }
        let audit = audit_record(
            self,
            actor,
            "create",
            "",
            format!("发热门诊：{}", command.name),
        );
        self.store
            .insert_fever_clinic(
                &NewFeverClinic {
                    name: command.name,
                    kind: command.kind,
                    region_code: command.region.clone(),
                    risk: command.risk,
                    site_id: command.site_id,
                    hospital: command.hospital,
                    created_at: self.now_unix(),
                    created_by: actor.display_name.clone(),
                },
                &audit,
            )
            .await
            .map_err(|e| {
                if e.is_unique_violation() {
                    AppError::field("门诊名称", "本地区已有同名的发热门诊")
                } else {
                    e.into()
                }
            })
    }

    /// The clinics of the actor's jurisdiction with today's figures (commanders, duty rooms and
    /// the clinics' own staff).
    pub async fn fever_clinics(&self, actor: &Actor) -> AppResult<ClinicsList> {
        if !actor.role.allows(Permission::ViewWarning) {
            actor.require(Permission::RunFeverClinic)?;
        }
        let (lower, upper) = actor.jurisdiction.subtree_range();
        let day = day_of(self.now_unix());
        let mut clinics = Vec::new();
        for record in self.store.fever_clinics_in((&lower, &upper)).await? {
            let today = self.store.clinic_day_row(&record, &day).await?;
            clinics.push(clinic_view(&record, today));
        }
        let total = self
            .store
            .clinic_day_figures(actor.jurisdiction.as_str(), &day)
            .await?;
        Ok(ClinicsList {
            day,
            clinics,
            total,
            can_add: actor.role.allows(Permission::RespondToWarnings),
        })
    }

    /// A clinic's board: every patient still there by stage with the wait in their stage, and
    /// those who left today.
    pub async fn fever_clinic_board(
        &self,
        actor: &Actor,
        clinic_id: i64,
    ) -> AppResult<ClinicBoard> {
        actor.require(Permission::RunFeverClinic)?;
        let record = load_within(actor, self.store.fever_clinic(clinic_id)).await?;
        let now = self.now_unix();
        let day = day_of(now);
        let today = self.store.clinic_day_row(&record, &day).await?;
        let midnight = fangkong_domain::time::beijing_midnight(
            chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap_or_default(),
        )
        .timestamp();
        let visits = self
            .store
            .fever_visits_of_clinic(record.id, midnight)
            .await?;
        Ok(ClinicBoard {
            clinic: clinic_view(&record, today),
            now,
            stages: board_columns(&visits, now),
        })
    }

    /// One visit as the board shows it.
    pub async fn fever_visit(&self, actor: &Actor, visit_id: i64) -> AppResult<VisitView> {
        actor.require(Permission::RunFeverClinic)?;
        let visit = load_within(actor, self.store.fever_visit(visit_id)).await?;
        Ok(visit_view(&visit, self.now_unix()))
    }

    /// Registers a patient at triage (分诊). Nobody is refused (首诊负责制): a patient without a
    /// valid ID is registered by name and phone, flagged; a registered resident is linked. A
    /// retry with the same request key registers nobody twice.
    pub async fn register_fever_patient(
        &self,
        actor: &Actor,
        clinic_id: i64,
        form: &PatientForm,
    ) -> AppResult<RegisteredPatient> {
        actor.require(Permission::RunFeverClinic)?;
        let command = RegisterPatient::try_from(form)?;
        let clinic = load_within(actor, self.store.fever_clinic(clinic_id)).await?;
        let (id_type, id_number, id_problem) = match &command.document {
            Ok(doc) => (
                doc.id_type().code().to_string(),
                doc.number().to_string(),
                String::new(),
            ),
            Err(problem) => (String::new(), String::new(), problem.clone()),
        };
        let resident = match &command.document {
            Ok(_) => {
                self.store
                    .resident_of_document(&id_type, &id_number)
                    .await?
            }
            Err(_) => None,
        };
        let now = self.now_unix();
        let flagged = if id_problem.is_empty() {
            ""
        } else {
            "；无有效证件，按姓名和电话登记"
        };
        let audit = audit_record(
            self,
            actor,
            "create",
            "",
            format!("发热门诊登记：{}{flagged}", clinic.name),
        );
        let (visit_id, created) = self
            .store
            .insert_fever_visit(
                &NewFeverVisit {
                    clinic_id: clinic.id,
                    clinic_region: clinic.region_code.clone(),
                    request_key: format!("{}:{}", actor.user_id, command.request_key),
                    id_type,
                    id_number,
                    id_valid: id_problem.is_empty(),
                    id_problem: id_problem.clone(),
                    name: command.name.clone(),
                    phone: command
                        .phone
                        .as_ref()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_default(),
                    resident_id: resident.as_ref().map(|r| r.0),
                    grid_code: resident
                        .as_ref()
                        .map_or_else(|| clinic.region_code.to_string(), |r| r.1.clone()),
                    green_code: command.green_code,
                    travel_history: command.travel_history,
                    temperature: command.temperature.clone(),
                    complaint: command.complaint.clone(),
                    registered_at: now,
                    day: day_of(now),
                    staff: actor.display_name.clone(),
                },
                &audit,
            )
            .await?;
        Ok(RegisteredPatient {
            visit_id,
            clinic_id: clinic.id,
            created,
            id_problem,
            in_register: resident.is_some(),
        })
    }

    /// Moves a visit one step through the loop (the domain's `transition` decides; a refusal
    /// writes nothing). A PCR swab of a patient with a valid ID is bound in the lab flow at the
    /// clinic's sampling site first (a refused binding refuses the step); a positive writes its
    /// sentinel event with the change.
    pub async fn advance_fever_visit(
        &self,
        actor: &Actor,
        visit_id: i64,
        form: &StepForm,
    ) -> AppResult<VisitView> {
        actor.require(Permission::RunFeverClinic)?;
        let step = VisitStep::try_from(form)?;
        let visit = load_within(actor, self.store.fever_visit(visit_id)).await?;
        if matches!(step.input, VisitInput::PcrResult(_)) && visit.pcr_bound {
            return Err(AppError::Conflict(
                "该核酸管已进入检测流程，结果由检测机构上传后自动回传，无需手工录入".into(),
            ));
        }
        let input = match step.input {
            VisitInput::Refer { hospital } if hospital.is_empty() => VisitInput::Refer {
                hospital: self.clinic_hospital(visit.clinic_id).await?,
            },
            other => other,
        };
        let now = self.now_unix();
        let state = state_of(&visit);
        let change =
            transition(&state, &input, now).map_err(|r| AppError::Conflict(r.to_string()))?;
        let fact = match (&input, &step.tube) {
            (VisitInput::Antigen(r), _) => VisitFact::Antigen(r.code().into()),
            (VisitInput::PcrTaken, Some(tube)) => {
                let bound = self.bind_clinic_tube(actor, &visit, tube).await?;
                VisitFact::PcrTaken {
                    tube: tube.to_string(),
                    bound,
                }
            }
            (VisitInput::PcrResult(r), _) => VisitFact::PcrResult(r.code().into()),
            (VisitInput::Blood(b), _) => VisitFact::Blood(b.code().into()),
            (VisitInput::Refer { hospital }, _) => VisitFact::Referred {
                hospital: hospital.clone(),
                note: change.note.clone(),
            },
            (VisitInput::Release, _) => VisitFact::Released {
                note: change.note.clone(),
            },
            _ => VisitFact::None,
        };
        let antigen_recheck = matches!(input, VisitInput::Antigen(TestResult::Positive))
            && visit.id_valid
            && visit.pcr_tube.is_none();
        let audit = audit_record(
            self,
            actor,
            "update",
            format!("fever_visit:{}", visit.id),
            format!("发热门诊：{}", change.note),
        );
        self.write_visit_change(
            &visit,
            change,
            fact,
            antigen_recheck,
            &actor.display_name,
            Some(&audit),
        )
        .await?;
        let visit = load_within(actor, self.store.fever_visit(visit_id)).await?;
        Ok(visit_view(&visit, self.now_unix()))
    }

    async fn clinic_hospital(&self, clinic_id: i64) -> AppResult<String> {
        Ok(self
            .store
            .fever_clinic(clinic_id)
            .await?
            .map(|c| c.hospital)
            .unwrap_or_default())
    }

    async fn write_visit_change(
        &self,
        visit: &FeverVisitRecord,
        change: VisitChange,
        fact: VisitFact,
        antigen_recheck: bool,
        staff: &str,
        audit: Option<&fangkong_store::AuditRecord>,
    ) -> AppResult<()> {
        let positive = if change.newly_positive {
            let detail = SentinelEvent {
                channel: "fever_clinic_positive".into(),
                place: visit.clinic_name.clone(),
                record: format!("clinic_visit:{}", visit.id),
                at: change.at,
            };
            Some(PositiveWrite {
                sentinel_detail: serde_json::to_string(&detail).map_err(AppError::internal)?,
                antigen_recheck,
            })
        } else {
            None
        };
        let written = self
            .store
            .apply_fever_visit_change(
                &VisitWrite {
                    visit_id: visit.id,
                    from_stage: visit.stage.code().into(),
                    to_stage: change.to.code().into(),
                    fact,
                    at: change.at,
                    day: day_of(change.at),
                    observation_delta: change.observation_delta,
                    awaiting_delta: change.awaiting_delta,
                    positive,
                    staff: staff.to_string(),
                },
                audit,
            )
            .await?;
        if !written {
            return Err(AppError::Conflict(
                "该患者的记录刚被他人更新，请刷新后再操作".into(),
            ));
        }
        Ok(())
    }

    /// Binds the clinic's PCR tube to the patient in the lab flow (a single tube at the clinic's
    /// sampling site; as the recheck of a pending recheck task, e.g. of the clinic's antigen
    /// positive). False when it cannot join (no valid ID, or the clinic has no sampling site):
    /// the clinic then records the result itself. A refused binding refuses the step.
    async fn bind_clinic_tube(
        &self,
        actor: &Actor,
        visit: &FeverVisitRecord,
        tube: &TubeBarcode,
    ) -> AppResult<bool> {
        if !visit.id_valid {
            return Ok(false);
        }
        let Some(site_id) = self
            .store
            .fever_clinic(visit.clinic_id)
            .await?
            .and_then(|c| c.site_id)
        else {
            return Ok(false);
        };
        let site = load_within(actor, self.store.site(site_id)).await?;
        let antigen_positive = visit.antigen_result == Some(TestResult::Positive);
        let mut purposes = if antigen_positive {
            vec!["recheck", "screen"]
        } else {
            vec!["screen", "recheck"]
        };
        while let Some(purpose) = purposes.first().copied() {
            purposes.remove(0);
            let scan = ScanInput {
                scan_id: format!("fever-visit-{}-{}-{purpose}", visit.id, tube),
                tube: tube.to_string(),
                action: ScanAction::Bind,
                purpose: Some(purpose.into()),
                id_type: visit.id_type.clone(),
                id_number: visit.id_number.clone(),
                name: visit.name.clone(),
                scanned_at: None,
                occurred_at: String::new(),
            };
            let batch = SamplingBatch {
                round_id: site.round_id,
                site_id: site.id,
                table_no: 1,
                scans: vec![scan],
            };
            let result = self.submit_scans(actor, &batch).await?;
            let Some(result) = result.into_iter().next() else {
                return Err(AppError::internal("no answer for the clinic's scan"));
            };
            if result.ok {
                return Ok(true);
            }
            let retry = matches!(
                result.code,
                Some("recheck_pending") | Some("no_recheck_task")
            );
            if !retry || purposes.is_empty() {
                return Err(AppError::field("核酸管码", result.message));
            }
        }
        Ok(false)
    }

    /// Brings the lab's results of clinics' bound PCR tubes to their visits, each in one
    /// transaction with its counters and, for a positive, the `sentinel_positive` event (the
    /// audit record names the lab's upload as the source). A background pass (jobs); idempotent.
    /// Returns the number of visits updated.
    pub async fn sync_fever_clinic_results(&self) -> AppResult<usize> {
        let mut updated = 0;
        for found in self.store.lab_results_for_fever_visits(500).await? {
            let Some(result) = TestResult::from_code(&found.result) else {
                continue;
            };
            let Some(visit) = self.store.fever_visit(found.visit_id).await? else {
                continue;
            };
            let at = if found.result_at > 0 {
                found.result_at
            } else {
                self.now_unix()
            };
            let Ok(change) = transition(&state_of(&visit), &VisitInput::PcrResult(result), at)
            else {
                continue;
            };
            let audit = fangkong_store::AuditRecord {
                id: 0,
                at: self.now_unix(),
                user_id: None,
                username: "system".into(),
                action: "update".into(),
                target: format!("fever_visit:{}", visit.id),
                detail: format!("发热门诊：检测机构回传{}", change.note),
                client_addr: String::new(),
            };
            match self
                .write_visit_change(
                    &visit,
                    change,
                    VisitFact::PcrResult(result.code().into()),
                    false,
                    "检测机构回传",
                    Some(&audit),
                )
                .await
            {
                Ok(()) => updated += 1,
                Err(AppError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(updated)
    }
}
