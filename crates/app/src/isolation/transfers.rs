//! Transfers (转运): vehicles, dispatch with the transfer rule, the steps of a trip.

use super::*;

impl App {
    pub async fn add_vehicle(&self, actor: &Actor, form: &VehicleForm) -> AppResult<i64> {
        actor.require(Permission::DispatchTransfers)?;
        let command = AddVehicle::try_from(form)?;
        let region = command
            .region
            .clone()
            .unwrap_or_else(|| actor.jurisdiction.clone());
        actor.require_within(&region)?;
        let plate = command.plate.clone();
        let record = VehicleRecord {
            id: 0,
            plate: plate.clone(),
            kind: command.kind,
            capacity: command.capacity,
            region_code: region,
            on_trip: false,
            awaiting_disinfection: false,
            created_at: self.now_unix(),
        };
        let audit = audit_record(self, actor, "create", "", plate.as_str());
        let id = match self.store.insert_vehicle(&record, &audit).await {
            Ok(id) => id,
            Err(e) if e.is_unique_violation() => {
                return Err(AppError::Conflict(format!("车牌{plate}已登记")));
            }
            Err(e) => return Err(e.into()),
        };
        Ok(id)
    }

    pub(super) async fn vehicle_in_jurisdiction(
        &self,
        actor: &Actor,
        id: i64,
    ) -> AppResult<VehicleRecord> {
        let v = load_within(actor, self.store.transfer_vehicle(id)).await?;
        Ok(v)
    }

    /// Dispatches a vehicle with riders: allocated people to their site by coach, or one infected
    /// person (awaiting a hospital) by ambulance to `hospital_id`. Refused, with nothing written,
    /// when the rules (domain `transfer_check`) or the jurisdiction say no.
    pub async fn create_transfer(&self, actor: &Actor, form: &TransferForm) -> AppResult<i64> {
        actor.require(Permission::DispatchTransfers)?;
        let command = DispatchTransfer::try_from(form)?;
        let vehicle = self
            .vehicle_in_jurisdiction(actor, command.vehicle_id)
            .await?;
        let kind = vehicle.kind;
        let ids = command.measure_ids;
        let mut riders = Vec::new();
        let mut measures = Vec::new();
        for id in &ids {
            let m = self.measure_in_jurisdiction(actor, *id).await?;
            riders.push(match m.status {
                MeasureStatus::AwaitingHospital => Rider::Infected,
                MeasureStatus::Allocated => Rider::RiskPerson,
                other => {
                    return Err(AppError::Conflict(format!(
                        "{}{}，不需要转运",
                        mask_middle(&m.name, 1, 0),
                        other.label_zh()
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
            let hospital_id = command
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
            .create_transfer(
                &NewTransfer {
                    vehicle_id: vehicle.id,
                    region_code: vehicle.region_code.to_string(),
                    site_id,
                    hospital_id,
                    riders: ids.clone(),
                    created_by: actor.display_name.clone(),
                    at: self.now_unix(),
                },
                &audit_record(self, actor, "create", "", format!("riders:{}", ids.len())),
            )
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
        Ok(id)
    }

    /// Moves a transfer on: dispatched → picked_up → handed_over (a hospital admits its rider),
    /// now or at the time entered (补录: not before the step before). An admission's time is the
    /// admission's, the measure's hospital stay's and the transfer's.
    pub async fn advance_transfer(
        &self,
        actor: &Actor,
        id: i64,
        form: &TransferStepForm,
    ) -> AppResult<()> {
        actor.require(Permission::DispatchTransfers)?;
        let command = AdvanceTransfer::try_from(form)?;
        let to = command.to;
        let t = load_within(actor, self.store.transfer_task(id)).await?;
        let from = t.status;
        if from.next() != Some(to) {
            return Err(AppError::Conflict(format!(
                "转运任务现在“{}”，不能改为“{}”",
                from.label_zh(),
                to.label_zh()
            )));
        }
        let before = match from {
            TransferStatus::PickedUp => t.picked_up_at.map(|at| ("接到时间", at)),
            _ => Some(("派车时间", t.created_at)),
        };
        let at = self.occurred_at(
            command.occurred_at,
            step_field(to, t.hospital_id.is_some()),
            before,
        )?;
        if !self
            .store
            .advance_transfer(
                id,
                from.code(),
                to.code(),
                at,
                &audit_record(
                    self,
                    actor,
                    "update",
                    format!("transfer:{id}"),
                    self.occurred_detail(to.code(), at),
                ),
            )
            .await?
        {
            return Err(AppError::Conflict(
                "转运任务状态刚刚被更新，请刷新页面".into(),
            ));
        }
        Ok(())
    }

    /// Terminal disinfection of a vehicle after a trip (终末消毒); the next trip may go.
    pub async fn disinfect_vehicle(&self, actor: &Actor, vehicle_id: i64) -> AppResult<()> {
        actor.require(Permission::DispatchTransfers)?;
        let v = self.vehicle_in_jurisdiction(actor, vehicle_id).await?;
        let audit = audit_record(
            self,
            actor,
            "update",
            format!("vehicle:{}", v.id),
            "disinfected",
        );
        if !self
            .store
            .disinfect_vehicle(v.id, self.now_unix(), &audit)
            .await?
        {
            return Err(AppError::Conflict(format!(
                "车辆{}没有待消毒的转运",
                v.plate
            )));
        }
        Ok(())
    }

    pub async fn transfers_board(&self, actor: &Actor) -> AppResult<TransfersBoard> {
        actor.require(Permission::ViewIsolation)?;
        let (lower, upper) = actor.jurisdiction_range();
        let now = self.now_unix();
        let today = self.today();
        // People already riding a transfer are on their way, not waiting (the store leaves them
        // out of the list and its count alike).
        let waiting = |statuses: &'static [&'static str]| {
            let (lower, upper) = (lower.clone(), upper.clone());
            async move {
                let rows = self
                    .store
                    .measures_awaiting_vehicle((&lower, &upper), statuses, LIST_LIMIT)
                    .await?
                    .iter()
                    .map(|m| view(m, now, today))
                    .collect::<Vec<_>>();
                let total = self
                    .store
                    .count_measures_awaiting_vehicle((&lower, &upper), statuses)
                    .await?;
                Ok::<_, AppError>(crate::Page::new(rows, total))
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
                kind_label: v.kind.label_zh(),
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
        let transfer_count = self.store.count_transfer_tasks((&lower, &upper)).await?;
        let transfers = self
            .store
            .transfer_tasks((&lower, &upper), LIST_LIMIT)
            .await?
            .into_iter()
            .map(|t| {
                let next = t.status.next();
                TransferView {
                    kind_label: t.vehicle_kind.label_zh(),
                    status_label: t.status.label_zh(),
                    next_status: next.map(TransferStatus::code),
                    next_label: match next {
                        Some(TransferStatus::PickedUp) => "确认接到",
                        Some(TransferStatus::HandedOver) => "确认交接",
                        _ => "",
                    },
                    time_label: next
                        .map(|n| step_field(n, t.hospital_id.is_some()))
                        .unwrap_or(""),
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
            transfers: crate::Page::new(transfers, transfer_count),
            to_sites,
            to_hospitals,
            waiting_by_region,
            hospitals: self.store.treatment_hospitals((&lower, &upper)).await?,
            site_names,
        })
    }
}
