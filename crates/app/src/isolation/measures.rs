//! Measures (管控措施): opened by hand or in bulk, their test tasks and results, carers, release.

use fangkong_domain::isolation::measures::{
    self as measure_rules, MeasureInput, MeasureState, MeasureTransition,
};

use super::*;

impl App {
    pub(super) async fn measure_in_jurisdiction(
        &self,
        actor: &Actor,
        id: i64,
    ) -> AppResult<MeasureRecord> {
        let m = load_within(actor, self.store.isolation_measure(id)).await?;
        Ok(m)
    }

    /// A measure the actor may work on at a site: the person lives in the jurisdiction, or is in
    /// (or assigned to) a site that lies in it.
    pub(super) async fn measure_for_site_work(
        &self,
        actor: &Actor,
        id: i64,
    ) -> AppResult<MeasureRecord> {
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
            && actor.jurisdiction.contains(&site.region_code)
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
        let statuses = statuses_listed(status);
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
        let wanted = statuses_listed(status);
        let (lower, upper) = actor.jurisdiction_range();
        let total: i64 = self
            .store
            .measure_status_counts((&lower, &upper), actor.jurisdiction.as_str().len() as i64)
            .await?
            .iter()
            .filter(|c| wanted.contains(&c.status.code()))
            .map(|c| c.people)
            .sum();
        Ok(crate::Page::new(rows, total))
    }

    pub async fn measure_detail(&self, actor: &Actor, id: i64) -> AppResult<MeasureDetail> {
        actor.require(Permission::ViewIsolation)?;
        let m = self.measure_for_site_work(actor, id).await?;
        self.detail_of(&m).await
    }

    /// Where a measure holds its person, in words: the site's name, the room's number and the
    /// hospital's name ('' for each the measure has none of).
    pub(crate) async fn placement_of(
        &self,
        m: &MeasureRecord,
    ) -> AppResult<(String, String, String)> {
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
        Ok((site_name, room_number, hospital_name))
    }

    pub(super) async fn detail_of(&self, m: &MeasureRecord) -> AppResult<MeasureDetail> {
        let tests = self.store.measure_tests_of(m.id).await?;
        let check_ins = self.store.check_ins_of(m.id, 30).await?;
        let (site_name, room_number, hospital_name) = self.placement_of(m).await?;
        let plan_summary = plan(m.regime, m.category)
            .map(|p| p.summary_zh())
            .unwrap_or_default();
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
                    phase_label: t.phase_kind.label_zh(),
                    day: t.day,
                    due_date: t.due_date.clone(),
                    result_label: t
                        .result
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
            name: m.name.into(),
            id_number: m.id_number.into(),
            phone: m.phone.as_deref().unwrap_or("").to_string(),
            address: m.address.into(),
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
                phase_label: t.phase_kind.label_zh(),
                day: t.day,
                overdue: t.due_date < today,
                due_date: t.due_date,
                status_label: t.status.label_zh(),
                place: match (t.site_name, t.room_number) {
                    (Some(s), Some(r)) => format!("{s} {r}"),
                    (Some(s), None) => s,
                    _ => "居家".into(),
                },
            })
            .collect())
    }

    /// Why `m` cannot end today (the phase it is in must be over with every test negative).
    pub(super) fn release_blockers(
        &self,
        m: &MeasureRecord,
        tests: &[fangkong_store::MeasureTestRecord],
    ) -> Result<(), Vec<String>> {
        let through = match m.status {
            MeasureStatus::InSite if !m.centralised_end.is_empty() => &m.centralised_end,
            MeasureStatus::InSite | MeasureStatus::AtHome => &m.end_date,
            _ => {
                return Err(vec![format!("{}的人员不能在此解除", m.status.label_zh())]);
            }
        };
        let Some(through) = parse_date(through) else {
            return Err(vec!["没有管控期限".into()]);
        };
        let tests: Vec<(NaiveDate, Option<TestOutcome>)> = tests
            .iter()
            .filter_map(|t| Some((parse_date(&t.due_date)?, t.result)))
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
        let state = measure_state(&m)?;
        // With a negative, the period may be over with every test negative (then a person at home
        // is released by this result): the domain decides from that.
        let release_due = match outcome {
            TestOutcome::Positive => false,
            TestOutcome::Negative => {
                let mut tests = self.store.measure_tests_of(m.id).await?;
                for t in &mut tests {
                    if t.id == test.id {
                        t.result = Some(outcome);
                    }
                }
                self.release_blockers(&m, &tests).is_ok()
            }
        };
        let now = self.now_unix();
        let step = measure_rules::transition(
            state,
            MeasureInput::TestResult {
                outcome,
                release_due,
            },
            now,
        )
        .map_err(refused)?;
        if parse_date(&test.due_date).is_some_and(|d| d > self.today()) {
            return Err(AppError::Invalid(format!(
                "这次检测排在{}，还没到日子",
                test.due_date
            )));
        }
        let event_source = match outcome {
            TestOutcome::Positive => format!("measure_test:{}", test.id),
            TestOutcome::Negative => format!("measure:{}", m.id),
        };
        let mut change = measure_change(&m, &step, &event_source);
        change.test_result = Some((test.id, outcome.code().into(), actor.display_name.clone()));
        change.audit = Some(audit_record(
            self,
            actor,
            "update",
            format!("measure_test:{}", test.id),
            outcome.code(),
        ));
        let effect = match outcome {
            TestOutcome::Positive => ResultEffect::Positive,
            TestOutcome::Negative if step.released => ResultEffect::Released,
            TestOutcome::Negative => ResultEffect::Recorded,
        };
        if !self.store.apply_measure_change(&change).await? {
            return Err(conflict_changed());
        }
        Ok(effect)
    }

    /// Ends the phase the person is in, when its period is over with every test negative: out of
    /// the site into the home phase (room → cleaning), or the whole measure (`measure_released`).
    /// Returns the new status.
    pub async fn release_measure(&self, actor: &Actor, id: i64) -> AppResult<MeasureStatus> {
        let m = self.measure_for_site_work(actor, id).await?;
        let state = measure_state(&m)?;
        if state.status == MeasureStatus::AtHome {
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
        let home_phase_follows = !m.centralised_end.is_empty() && m.end_date > m.centralised_end;
        let step = measure_rules::transition(
            state,
            MeasureInput::Release { home_phase_follows },
            self.now_unix(),
        )
        .map_err(|refusal| AppError::Invalid(format!("还不能解除：{}", refusal.message_zh())))?;
        let next = step.to;
        let mut change = measure_change(&m, &step, &format!("measure:{}", m.id));
        change.audit = Some(audit_record(
            self,
            actor,
            "update",
            format!("measure:{}", m.id),
            next.code(),
        ));
        if !self.store.apply_measure_change(&change).await? {
            return Err(conflict_changed());
        }
        Ok(next)
    }
}

/// The measure as the domain's state changes read it.
pub(super) fn measure_state(m: &MeasureRecord) -> AppResult<MeasureState> {
    Ok(MeasureState {
        status: m.status,
        has_room: m.room_id.is_some(),
    })
}

/// A state change the domain refused: the staff read why.
pub(super) fn refused(refusal: measure_rules::Refusal) -> AppError {
    AppError::Conflict(refusal.message_zh())
}

/// The store's compare-and-set write of a transition the domain allowed; its event (if any) gets
/// `event_source`.
pub(super) fn measure_change(
    m: &MeasureRecord,
    step: &MeasureTransition,
    event_source: &str,
) -> MeasureChange {
    MeasureChange {
        measure_id: m.id,
        expected_status: step.from,
        new_status: step.to,
        at: step.at,
        leave_room: step.leave_room,
        leave_hospital: step.leave_hospital,
        checked_in: step.checked_in,
        released: step.released,
        event: step.event.map(|kind| MeasureEventWrite {
            kind: kind.into(),
            source: event_source.into(),
            detail: event_detail(m),
        }),
        test_result: None,
        audit: None,
    }
}

/// The statuses the measures list shows for the status chosen: that one, or every status in force.
fn statuses_listed(status: &str) -> Vec<&'static str> {
    match MeasureStatus::from_code(status.trim()) {
        Some(s) => vec![s.code()],
        None => MEASURES_IN_FORCE.to_vec(),
    }
}
