//! Designated hospitals and fangcang (定点医院、方舱医院): beds, admissions, discharges.

use super::*;

impl App {
    pub async fn add_treatment_hospital(
        &self,
        actor: &Actor,
        form: &HospitalForm,
    ) -> AppResult<i64> {
        actor.require(Permission::ManageIsolationSites)?;
        let command = AddHospital::try_from(form)?;
        actor.require_within(&command.region)?;
        let audit = audit_record(self, actor, "create", "", command.name.as_str());
        let id = self
            .store
            .insert_treatment_hospital(
                &HospitalRecord {
                    id: 0,
                    name: command.name,
                    kind: command.kind,
                    region_code: command.region,
                    beds: command.beds,
                    created_at: self.now_unix(),
                    occupied: 0,
                },
                &audit,
            )
            .await?;
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
                kind_label: h.kind.label_zh(),
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
        // The same people as the transfers board's "to hospitals" list: those already in an
        // ambulance are on their way, not waiting.
        let awaiting = self
            .store
            .measures_awaiting_vehicle((&lower, &upper), &["awaiting_hospital"], LIST_LIMIT)
            .await?
            .iter()
            .map(|m| view(m, now, today))
            .collect();
        let awaiting_total = self
            .store
            .count_measures_awaiting_vehicle((&lower, &upper), &["awaiting_hospital"])
            .await?;
        let admission_count = self
            .store
            .count_hospital_admissions((&lower, &upper))
            .await?;
        Ok(HospitalsBoard {
            hospitals,
            admissions: crate::Page::new(admissions, admission_count),
            awaiting: crate::Page::new(awaiting, awaiting_total),
        })
    }

    /// Discharges a patient (出院), now or at the time entered (补录: not before the admission):
    /// the bed is free again.
    pub async fn discharge_admission(
        &self,
        actor: &Actor,
        admission_id: i64,
        form: &DischargeForm,
    ) -> AppResult<()> {
        actor.require(Permission::ManageIsolationSites)?;
        let command = DischargePatient::try_from(form)?;
        let (hospital_id, discharged, admitted_at) = self
            .store
            .hospital_admission(admission_id)
            .await?
            .ok_or(AppError::NotFound("该收治记录"))?;
        load_within(actor, self.store.treatment_hospital(hospital_id)).await?;
        if discharged.is_some() {
            return Err(AppError::Conflict("该患者已出院".into()));
        }
        let at = self.occurred_at(
            command.occurred_at,
            "出院时间",
            Some(("收治时间", admitted_at)),
        )?;
        if !self
            .store
            .discharge_admission(
                admission_id,
                at,
                &audit_record(
                    self,
                    actor,
                    "update",
                    format!("admission:{admission_id}"),
                    self.occurred_detail("discharged", at),
                ),
            )
            .await?
        {
            return Err(AppError::Conflict("该患者已出院".into()));
        }
        Ok(())
    }
}
