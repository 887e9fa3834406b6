//! Cases (病例): the regime in force, opening a case by hand, its number and infector, updates and
//! steps with their deadlines (2-hour report, 24-hour investigation).

use fangkong_domain::investigation::cases::{
    self as case_rules, CaseInput, CaseRefusal, CaseState,
};

use super::*;

impl App {
    /// The prevention-and-control regime in force: the 9th edition unless switched.
    pub async fn tracing_regime(&self) -> AppResult<Regime> {
        Ok(self
            .store
            .setting(REGIME_SETTING)
            .await?
            .and_then(|code| Regime::from_code(&code))
            .unwrap_or(Regime::Ninth))
    }

    /// Switches the regime (a province-level decision: administrators and commanders of a province).
    pub async fn set_tracing_regime(&self, actor: &Actor, code: &str) -> AppResult<Regime> {
        actor.require(Permission::InvestigateCases)?;
        if actor.jurisdiction.as_str().len() != 2 {
            return Err(AppError::Invalid(
                "防控方案版本由省级指挥部切换，请联系省级管理员".into(),
            ));
        }
        let regime = Regime::from_code(code.trim()).ok_or_else(|| {
            AppError::field(
                "防控方案版本",
                format!("不认识“{}”", fangkong_domain::echo::shown(code.trim())),
            )
        })?;
        self.store
            .put_setting_audited(
                REGIME_SETTING,
                regime.code(),
                &audit_record(
                    self,
                    actor,
                    "set_tracing_regime",
                    regime.code(),
                    regime.label_zh(),
                ),
            )
            .await?;
        Ok(regime)
    }

    /// The person a form names, looked up in the register anywhere: the person's grid routes the
    /// lead, whoever's jurisdiction it is.
    pub(super) async fn identify(&self, person: &NamedPerson) -> AppResult<Identified> {
        let Some(document) = &person.document else {
            return Ok(Identified {
                id_type: String::new(),
                id_number: DocumentNumber::default(),
                phone: person.phone.clone(),
                resident: None,
            });
        };
        let type_code = document.id_type().code().to_string();
        let resident = self
            .resident_by_document(&type_code, document.number())
            .await?;
        Ok(Identified {
            id_type: type_code,
            id_number: document.number().into(),
            phone: person.phone.clone(),
            resident,
        })
    }

    pub(super) async fn case_number_prefix(&self, region: &str) -> AppResult<String> {
        let county = &region[..region.len().min(6)];
        let name = match self.store.region(county).await? {
            Some(r) => r.name,
            None => county.to_string(),
        };
        let trimmed = name
            .trim_end_matches(['区', '县', '市'])
            .chars()
            .take(4)
            .collect::<String>();
        Ok(if trimmed.is_empty() { name } else { trimmed })
    }

    pub(super) async fn visible_case(&self, actor: &Actor, case_id: i64) -> AppResult<CaseRecord> {
        let case = load_within(actor, self.store.case(case_id)).await?;
        Ok(case)
    }

    /// Opens a case (流调登记). Returns the case id; a retry with the same key returns the same id.
    /// The form is parsed into [`OpenCase`] before anything is read; the case, its event and its
    /// audit record are one transaction.
    pub async fn open_case(&self, actor: &Actor, form: &CaseForm) -> AppResult<i64> {
        actor.require(Permission::InvestigateCases)?;
        let command = OpenCase::try_from(form)?;
        let now = self.now_unix();
        let found_at = command.found_at.unwrap_or(now);
        if found_at > now + 600 {
            return Err(AppError::field("发现时间", "在将来，请核对"));
        }
        if let Some(onset) = command.onset_date
            && beijing_midnight(onset) > now
        {
            return Err(AppError::field("发病日期", "在将来，请核对"));
        }
        if command.first_positive_at.is_some_and(|t| t > now + 600) {
            return Err(AppError::field("首次阳性采样时间", "在将来，请核对"));
        }
        let person = self
            .identify(&NamedPerson {
                document: Some(command.document.clone()),
                phone: command.phone.clone(),
            })
            .await?;
        let (grid_code, region_code, name, address, resident_id) = match &person.resident {
            Some(r) => (
                r.grid_code.clone(),
                r.grid_code.clone(),
                if command.name.is_empty() {
                    r.name.clone()
                } else {
                    command.name.clone()
                },
                if command.address.is_empty() {
                    r.address.clone()
                } else {
                    command.address.clone()
                },
                Some(r.id),
            ),
            None => {
                let Some(region) = &command.region else {
                    return Err(AppError::field(
                        "现住地区划编码",
                        "该人员不在实有人口库中：请填写其现住地的区划编码（如 130109110201）",
                    ));
                };
                (
                    String::new(),
                    region.as_str().to_string(),
                    command.name.clone(),
                    command.address.clone(),
                    None,
                )
            }
        };
        if name.is_empty() {
            return Err(AppError::field("姓名", "请填写病例姓名"));
        }
        actor.require_within(&RegionCode::parse(&region_code).map_err(AppError::internal)?)?;
        if let Some(open) = self
            .store
            .open_case_of(&person.id_type, &person.id_number)
            .await?
        {
            let same_retry = !command.case_key.is_empty()
                && open.case_key == format!("client:{}", command.case_key);
            if !same_retry {
                return Err(AppError::Conflict(format!(
                    "该人员已有未结案的病例（{}），请在原病例上更新，不要重复登记",
                    open.case_number
                )));
            }
        }
        let infector_case_id = self
            .resolve_infector(actor, &command.infector, None)
            .await?;
        let regime = self.tracing_regime().await?;
        let (sex, birth_date) = match command.document.mainland() {
            Some(id) => (id.sex().code().to_string(), id.birth_date().to_string()),
            None => (
                person
                    .resident
                    .as_ref()
                    .map(|r| r.sex.code().to_string())
                    .unwrap_or_default(),
                person
                    .resident
                    .as_ref()
                    .map(|r| r.birth_date.clone())
                    .unwrap_or_default(),
            ),
        };
        let case_key = if command.case_key.is_empty() {
            format!(
                "form:{}:{}:{}",
                person.id_type,
                person.id_number.as_str(),
                now
            )
        } else {
            format!("client:{}", command.case_key)
        };
        let event = CaseEvent {
            case_id: 0,
            case_kind: command.kind.code().to_string(),
            name: name.clone(),
            address: address.clone(),
            hospital: command.hospital.clone(),
        };
        let write = CaseWrite {
            case_key,
            case_number_prefix: self.case_number_prefix(&region_code).await?,
            kind: command.kind.code().to_string(),
            id_type: person.id_type.clone(),
            id_number: person.id_number.clone(),
            resident_id,
            name,
            sex,
            birth_date,
            phone: person
                .phone
                .clone()
                .or_else(|| person.resident.as_ref().and_then(|r| r.phone.clone())),
            address,
            grid_code,
            region_code,
            onset_date: command.onset_date.map(|d| d.to_string()),
            first_positive_at: command.first_positive_at,
            found_by: command.found_by.code().to_string(),
            found_at,
            severity: command.severity.code().to_string(),
            hospital: command.hospital.clone(),
            regime: regime.code().to_string(),
            reported_at: None,
            isolated_at: command.isolated_at,
            infector_case_id,
            infector_note: String::new(),
            created_by: actor.display_name.clone(),
            created_at: now,
            event_detail: case_event_template(&event),
        };
        let audit = audit_record(self, actor, "create", "", command.kind.code());
        let (id, created) = self.store.insert_case(&write, Some(&audit)).await?;
        if created {
            self.feed_health_codes().await;
        }
        Ok(id)
    }

    pub(super) async fn resolve_infector(
        &self,
        actor: &Actor,
        raw: &str,
        case_id: Option<i64>,
    ) -> AppResult<Option<i64>> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        // A case number ends in its id ("藁城-00012"); a bare number is the id.
        let id = raw
            .rsplit('-')
            .next()
            .and_then(|tail| tail.trim_start_matches('0').parse::<i64>().ok())
            .ok_or_else(|| AppError::Invalid(format!("传染来源“{raw}”不是病例编号")))?;
        let infector = self
            .store
            .case(id)
            .await?
            .ok_or_else(|| AppError::Invalid(format!("没有找到传染来源病例“{raw}”")))?;
        // A case of another jurisdiction answers like a missing one.
        if !actor.jurisdiction.contains(&infector.region_code) {
            return Err(AppError::Invalid(format!("没有找到传染来源病例“{raw}”")));
        }
        if let Some(case_id) = case_id {
            if infector.id == case_id {
                return Err(AppError::Invalid("病例不能是自己的传染来源".into()));
            }
            let ancestors = self.store.infector_ancestors(infector.id, 100_000).await?;
            if ancestors.contains(&case_id) {
                return Err(AppError::Invalid(format!(
                    "{}是由本病例传染的（在其传播链下游），不能再作为本病例的传染来源",
                    infector.case_number
                )));
            }
        }
        Ok(Some(infector.id))
    }

    /// A step on a case: report done, investigation done, isolated, clinical change, reclassified,
    /// discharged, excluded, infector, bulletin words. The action is parsed into [`CaseStep`]
    /// before anything is read; the change, its event and its audit record are one transaction.
    pub async fn update_case(
        &self,
        actor: &Actor,
        case_id: i64,
        action: &CaseAction,
    ) -> AppResult<()> {
        actor.require(Permission::InvestigateCases)?;
        let command = CaseStep::try_from(action)?;
        let case = self.visible_case(actor, case_id).await?;
        let now = self.now_unix();
        let state = CaseState {
            status: case.status,
            kind: case.kind,
        };
        let input = match command {
            CaseStep::PublicSummary { .. } => CaseInput::PublicSummary,
            CaseStep::Discharge { .. } => CaseInput::Discharge,
            CaseStep::Exclude => CaseInput::Exclude,
            _ => CaseInput::Edit,
        };
        // A discharge entered after the fact (补录) closes the case at the time it happened: not
        // before the case was found, or isolated when that came later.
        let at = match command {
            CaseStep::Discharge { occurred_at } => {
                let follows = match case.isolated_at {
                    Some(isolated) if isolated > case.found_at => ("隔离时间", isolated),
                    _ => ("发现时间", case.found_at),
                };
                self.occurred_at(occurred_at, super::commands::DISCHARGE_FIELD, Some(follows))?
            }
            _ => now,
        };
        let step = case_rules::transition(state, input, at).map_err(|refusal| match refusal {
            CaseRefusal::Closed => AppError::Conflict(refusal.message_zh().into()),
            CaseRefusal::InfectedCannotBeExcluded => AppError::Invalid(refusal.message_zh().into()),
        })?;
        let update = match command {
            CaseStep::Reported => CaseUpdate::Reported { at: now },
            CaseStep::Investigated => CaseUpdate::Investigated { at: now },
            CaseStep::Isolated { at } => {
                let at = at.unwrap_or(now);
                if at > now + 600 {
                    return Err(AppError::field("隔离时间", "在将来，请核对"));
                }
                CaseUpdate::Isolated { at }
            }
            CaseStep::Clinical { severity, hospital } => CaseUpdate::Clinical {
                severity: severity.code().to_string(),
                hospital,
            },
            CaseStep::Reclassify { kind } => {
                if kind == case.kind {
                    return Ok(());
                }
                CaseUpdate::Kind {
                    kind: kind.code().to_string(),
                }
            }
            // The domain closed the case and named the event that tells the other modules.
            CaseStep::Discharge { .. } | CaseStep::Exclude => CaseUpdate::Closed {
                status: step.to.code().into(),
                at: step.closed_at.unwrap_or(at),
                event_kind: step.event.unwrap_or_default().into(),
                event_detail: format!("{{\"case_id\":{case_id}}}"),
            },
            CaseStep::Infector { infector, note } => CaseUpdate::Infector {
                infector_case_id: self
                    .resolve_infector(actor, &infector, Some(case_id))
                    .await?,
                note,
            },
            CaseStep::PublicSummary { text } => CaseUpdate::PublicSummary { text },
        };
        let audit = audit_record(
            self,
            actor,
            "update",
            format!("case:{case_id}"),
            self.occurred_detail(action_name(action), at),
        );
        self.store.update_case(case_id, &update, &audit).await?;
        if let CaseUpdate::Kind { kind } = &update
            && let Some(fact_kind) = code_fact_kind(kind)
        {
            // A case reclassified (初筛阳性 → 确诊) gets the fact of its new kind at once. The
            // fact is the health code's own write (it recomputes the person's code in its
            // transaction); the case's change and its audit record are already committed.
            let write = FactWrite {
                fact_key: format!("case:{case_id}:{kind}"),
                person: CodePerson {
                    id_type: case.id_type.clone(),
                    id_number: case.id_number.clone(),
                },
                resident_id: case.resident_id,
                grid_code: case.grid_code.clone(),
                kind: fact_kind,
                anchor: now,
                ended_at: None,
                colour: None,
                note: Some(format!("流调订正为{}", case_kind(kind)?.label_zh())),
                source: format!("流调：病例{}", case.case_number),
                created_by: actor.display_name.clone(),
            };
            self.change_code_facts(&[write], &[], "流调订正病例类型")
                .await?;
        }
        if matches!(update, CaseUpdate::Closed { .. }) {
            self.feed_health_codes().await;
        }
        Ok(())
    }

    /// Adds a trajectory stop entered by the epidemiologist: the form is parsed into
    /// [`AddCaseStop`] before anything is read; the stop and its audit record are one transaction.
    pub async fn add_case_stop(
        &self,
        actor: &Actor,
        case_id: i64,
        form: &StopForm,
    ) -> AppResult<()> {
        actor.require(Permission::InvestigateCases)?;
        let command = AddCaseStop::try_from(form)?;
        let now = self.now_unix();
        if command.from_at > now + 600 {
            return Err(AppError::field("开始时间", "轨迹时间在将来，请核对"));
        }
        let case = self.visible_case(actor, case_id).await?;
        let key = if command.key.is_empty() {
            format!("entered:{}:{}", command.from_at, command.place_name)
        } else {
            format!("client:{}", command.key)
        };
        self.store
            .insert_case_stops(
                &[CaseStopRecord {
                    id: 0,
                    case_id,
                    from_at: command.from_at,
                    to_at: command.to_at,
                    place_kind: command.place_kind.to_string(),
                    place_name: command.place_name,
                    address: command.address.into_string(),
                    region_code: case.region_code.to_string(),
                    source: "entered".into(),
                    source_key: key,
                    public: command.public,
                    created_by: actor.display_name.clone(),
                    created_at: now,
                }],
                Some(&audit_record(
                    self,
                    actor,
                    "create",
                    format!("case_stop:{case_id}"),
                    command.place_kind,
                )),
            )
            .await?;
        Ok(())
    }
}
