//! Cases (病例): the regime in force, opening a case by hand, its number and infector, updates and
//! steps with their deadlines (2-hour report, 24-hour investigation).

use fangkong_domain::investigation::cases::{
    self as case_rules, CaseInput, CaseRefusal, CaseState, CaseStatus,
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
        let regime = Regime::from_code(code.trim())
            .ok_or_else(|| AppError::Invalid(format!("不认识的方案版本“{}”", code.trim())))?;
        self.store
            .put_setting(REGIME_SETTING, regime.code())
            .await?;
        audit_by(
            self,
            actor,
            "set_tracing_regime",
            regime.code(),
            regime.label_zh(),
        )
        .await?;
        Ok(regime)
    }

    pub(super) async fn identify(
        &self,
        id_type: &str,
        id_number: &str,
        phone: &str,
    ) -> AppResult<Identified> {
        let phone = phone.trim();
        let phone = if phone.is_empty() {
            None
        } else {
            Some(fangkong_domain::phone::PhoneNumber::parse(phone).map_err(AppError::Invalid)?)
        };
        if id_number.trim().is_empty() {
            if phone.is_none() {
                return Err(AppError::Invalid(
                    "请至少填写证件号码或联系电话，否则无法落地查人".into(),
                ));
            }
            return Ok(Identified {
                id_type: String::new(),
                id_number: DocumentNumber::default(),
                phone,
                resident: None,
            });
        }
        let id_type = if id_type.trim().is_empty() {
            IdType::MainlandId
        } else {
            IdType::parse(id_type).map_err(AppError::Invalid)?
        };
        let document = IdDocument::parse(id_type, id_number).map_err(AppError::Invalid)?;
        let number = document.number().to_string();
        let type_code = document.id_type().code().to_string();
        // The register anywhere: the person's grid routes the lead, whoever's jurisdiction it is.
        let resident = self.resident_by_document(&type_code, &number).await?;
        Ok(Identified {
            id_type: type_code,
            id_number: number.into(),
            phone,
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
    pub async fn open_case(&self, actor: &Actor, form: &CaseForm) -> AppResult<i64> {
        actor.require(Permission::InvestigateCases)?;
        let kind = case_kind(&form.kind)?;
        let found_by = FoundBy::from_code(form.found_by.trim()).unwrap_or(FoundBy::Other);
        let severity = if form.severity.trim().is_empty() {
            if kind == CaseKind::Asymptomatic {
                Severity::None
            } else {
                Severity::Mild
            }
        } else {
            Severity::from_code(form.severity.trim()).ok_or_else(|| {
                AppError::Invalid(format!("临床分型“{}”不认识", form.severity.trim()))
            })?
        };
        let person = self
            .identify(&form.id_type, &form.id_number, &form.phone)
            .await?;
        if person.id_number.is_empty() {
            return Err(AppError::Invalid(
                "病例须填写证件号码（网络直报需要身份信息）".into(),
            ));
        }
        let now = self.now_unix();
        let found_at = optional_time(&form.found_at, "发现时间")?.unwrap_or(now);
        if found_at > now + 600 {
            return Err(AppError::Invalid("发现时间在将来，请核对".into()));
        }
        let onset_date = if form.onset_date.trim().is_empty() {
            None
        } else {
            Some(parse_date(&form.onset_date, "发病日期")?)
        };
        let first_positive_at = optional_time(&form.first_positive_at, "首次阳性采样时间")?;
        if kind.has_onset() && onset_date.is_none() && first_positive_at.is_none() {
            return Err(AppError::Invalid(format!(
                "{}须填写发病日期（无症状的请选择“无症状感染者”）",
                kind.label_zh()
            )));
        }
        if !kind.has_onset() && first_positive_at.is_none() {
            return Err(AppError::Invalid(format!(
                "{}须填写首次阳性标本的采样时间",
                kind.label_zh()
            )));
        }
        if let Some(onset) = onset_date
            && beijing_midnight(onset) > now
        {
            return Err(AppError::Invalid("发病日期在将来，请核对".into()));
        }
        if first_positive_at.is_some_and(|t| t > now + 600) {
            return Err(AppError::Invalid("首次阳性采样时间在将来，请核对".into()));
        }
        let isolated_at = optional_time(&form.isolated_at, "隔离时间")?;
        let (grid_code, region_code, name, address, resident_id) = match &person.resident {
            Some(r) => (
                r.grid_code.clone(),
                r.grid_code.clone(),
                if form.name.trim().is_empty() {
                    r.name.clone()
                } else {
                    form.name.trim().into()
                },
                if form.address.trim().is_empty() {
                    r.address.clone()
                } else {
                    form.address.trim().into()
                },
                Some(r.id),
            ),
            None => {
                if form.region_code.trim().is_empty() {
                    return Err(AppError::Invalid(
                        "该人员不在实有人口库中：请填写其现住地的区划编码（如 130109110201）"
                            .into(),
                    ));
                }
                let region = parse_region_code(&form.region_code)?;
                (
                    String::new(),
                    region.as_str().to_string(),
                    form.name.trim().into(),
                    form.address.trim().into(),
                    None,
                )
            }
        };
        if name.is_empty() {
            return Err(AppError::Invalid("请填写病例姓名".into()));
        }
        actor.require_within(&RegionCode::parse(&region_code).map_err(AppError::Internal)?)?;
        if let Some(open) = self
            .store
            .open_case_of(&person.id_type, &person.id_number)
            .await?
        {
            let same_retry = !form.case_key.trim().is_empty()
                && open.case_key == format!("client:{}", form.case_key.trim());
            if !same_retry {
                return Err(AppError::Conflict(format!(
                    "该人员已有未结案的病例（{}），请在原病例上更新，不要重复登记",
                    open.case_number
                )));
            }
        }
        let infector_case_id = self.resolve_infector(actor, &form.infector, None).await?;
        let regime = self.tracing_regime().await?;
        let (sex, birth_date) = match IdDocument::parse(
            IdType::parse(&person.id_type).map_err(AppError::Internal)?,
            &person.id_number,
        )
        .ok()
        .and_then(|d| d.mainland())
        {
            Some(id) => (id.sex().label_zh().to_string(), id.birth_date().to_string()),
            None => (
                person
                    .resident
                    .as_ref()
                    .map(|r| r.sex.clone())
                    .unwrap_or_default(),
                person
                    .resident
                    .as_ref()
                    .map(|r| r.birth_date.clone())
                    .unwrap_or_default(),
            ),
        };
        let case_key = if form.case_key.trim().is_empty() {
            format!(
                "form:{}:{}:{}",
                person.id_type,
                person.id_number.as_str(),
                now
            )
        } else {
            format!("client:{}", form.case_key.trim())
        };
        let event = CaseEvent {
            case_id: 0,
            case_kind: kind.code().to_string(),
            name: name.clone(),
            address: address.clone(),
            hospital: form.hospital.trim().to_string(),
        };
        let write = CaseWrite {
            case_key,
            case_number_prefix: self.case_number_prefix(&region_code).await?,
            kind: kind.code().to_string(),
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
            onset_date: onset_date.map(|d| d.to_string()),
            first_positive_at,
            found_by: found_by.code().to_string(),
            found_at,
            severity: severity.code().to_string(),
            hospital: form.hospital.trim().chars().take(100).collect(),
            regime: regime.code().to_string(),
            reported_at: None,
            isolated_at,
            infector_case_id,
            infector_note: String::new(),
            created_by: actor.display_name.clone(),
            created_at: now,
            event_detail: case_event_template(&event),
        };
        let (id, created) = self.store.insert_case(&write).await?;
        if created {
            audit_by(self, actor, "create", &format!("case:{id}"), kind.code()).await?;
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
        if !actor
            .jurisdiction
            .contains(&RegionCode::parse(&infector.region_code).map_err(AppError::Internal)?)
        {
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
    /// discharged, excluded, infector, bulletin words.
    pub async fn update_case(
        &self,
        actor: &Actor,
        case_id: i64,
        action: &CaseAction,
    ) -> AppResult<()> {
        actor.require(Permission::InvestigateCases)?;
        let case = self.visible_case(actor, case_id).await?;
        let now = self.now_unix();
        let state = CaseState {
            status: CaseStatus::from_code(&case.status)
                .ok_or_else(|| AppError::Internal("unknown case status".into()))?,
            kind: CaseKind::from_code(&case.kind)
                .ok_or_else(|| AppError::Internal("unknown case kind".into()))?,
        };
        let input = match action {
            CaseAction::PublicSummary { .. } => CaseInput::PublicSummary,
            CaseAction::Discharge => CaseInput::Discharge,
            CaseAction::Exclude => CaseInput::Exclude,
            _ => CaseInput::Edit,
        };
        let step = case_rules::transition(state, input, now).map_err(|refusal| match refusal {
            CaseRefusal::Closed => AppError::Conflict(refusal.message_zh().into()),
            CaseRefusal::InfectedCannotBeExcluded => AppError::Invalid(refusal.message_zh().into()),
        })?;
        let update = match action {
            CaseAction::Reported => CaseUpdate::Reported { at: now },
            CaseAction::Investigated => CaseUpdate::Investigated { at: now },
            CaseAction::Isolated { at } => {
                let at = optional_time(at, "隔离时间")?.unwrap_or(now);
                if at > now + 600 {
                    return Err(AppError::Invalid("隔离时间在将来，请核对".into()));
                }
                CaseUpdate::Isolated { at }
            }
            CaseAction::Clinical { severity, hospital } => CaseUpdate::Clinical {
                severity: Severity::from_code(severity.trim())
                    .ok_or_else(|| {
                        AppError::Invalid(format!("临床分型“{}”不认识", severity.trim()))
                    })?
                    .code()
                    .to_string(),
                hospital: hospital.trim().chars().take(100).collect(),
            },
            CaseAction::Reclassify { kind } => {
                let kind = case_kind(kind)?;
                if kind.code() == case.kind {
                    return Ok(());
                }
                CaseUpdate::Kind {
                    kind: kind.code().to_string(),
                }
            }
            // The domain closed the case and named the event that tells the other modules.
            CaseAction::Discharge | CaseAction::Exclude => CaseUpdate::Closed {
                status: step.to.code().into(),
                at: step.closed_at.unwrap_or(now),
                event_kind: step.event.unwrap_or_default().into(),
                event_detail: format!("{{\"case_id\":{case_id}}}"),
            },
            CaseAction::Infector { infector, note } => CaseUpdate::Infector {
                infector_case_id: self
                    .resolve_infector(actor, infector, Some(case_id))
                    .await?,
                note: note.trim().chars().take(200).collect(),
            },
            CaseAction::PublicSummary { text } => CaseUpdate::PublicSummary {
                text: text.trim().chars().take(2_000).collect(),
            },
        };
        self.store.update_case(case_id, &update).await?;
        if let CaseUpdate::Kind { kind } = &update
            && let Some(fact_kind) = code_fact_kind(kind)
        {
            // A case reclassified (初筛阳性 → 确诊) gets the fact of its new kind at once.
            let write = FactWrite {
                fact_key: format!("case:{case_id}:{kind}"),
                person: CodePerson {
                    id_type: case.id_type.clone(),
                    id_number: case.id_number.clone(),
                },
                resident_id: case.resident_id,
                grid_code: case.grid_code.clone(),
                kind: fact_kind.code().to_string(),
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
        audit_by(
            self,
            actor,
            "update",
            &format!("case:{case_id}"),
            action_name(action),
        )
        .await?;
        if matches!(update, CaseUpdate::Closed { .. }) {
            self.feed_health_codes().await;
        }
        Ok(())
    }

    /// Adds a trajectory stop entered by the epidemiologist.
    pub async fn add_case_stop(
        &self,
        actor: &Actor,
        case_id: i64,
        form: &StopForm,
    ) -> AppResult<()> {
        actor.require(Permission::InvestigateCases)?;
        let case = self.visible_case(actor, case_id).await?;
        let now = self.now_unix();
        let from_at = parse_beijing_time(&form.from_at, "开始时间")?;
        let to_at = optional_time(&form.to_at, "结束时间")?;
        if to_at.is_some_and(|to| to < from_at) {
            return Err(AppError::Invalid("结束时间早于开始时间，请核对".into()));
        }
        if from_at > now + 600 {
            return Err(AppError::Invalid("轨迹时间在将来，请核对".into()));
        }
        if form.place_name.trim().is_empty() {
            return Err(AppError::Invalid(
                "请填写地点名称（如 某某超市、G1234次列车）".into(),
            ));
        }
        let kind = PLACE_KINDS
            .iter()
            .find(|(c, l)| *c == form.place_kind.trim() || *l == form.place_kind.trim())
            .map(|(c, _)| *c)
            .unwrap_or("other");
        let key = if form.key.trim().is_empty() {
            format!("entered:{from_at}:{}", form.place_name.trim())
        } else {
            format!("client:{}", form.key.trim())
        };
        self.store
            .insert_case_stops(&[CaseStopRecord {
                id: 0,
                case_id,
                from_at,
                to_at,
                place_kind: kind.to_string(),
                place_name: form.place_name.trim().chars().take(100).collect(),
                address: form.address.trim().chars().take(200).collect(),
                region_code: case.region_code.clone(),
                source: "entered".into(),
                source_key: key,
                public: form.public,
                created_by: actor.display_name.clone(),
                created_at: now,
            }])
            .await?;
        audit_by(self, actor, "create", &format!("case_stop:{case_id}"), kind).await?;
        Ok(())
    }
}
