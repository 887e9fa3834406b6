//! Facts set by hand (赋码): overrides, another province's colour, ending a fact, 应检未检.

use super::*;
use crate::audit_record;

/// A fact set by hand, every value parsed: whose code, why, the colour an override or another
/// province sets, the words, and since when (None = now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCodeFact {
    pub document: IdDocument,
    pub kind: FactKind,
    /// Set for an override and another province's colour, None otherwise.
    pub colour: Option<CodeColour>,
    pub note: String,
    /// Unix time of the Beijing time typed; None = now.
    pub anchor: Option<i64>,
}

impl TryFrom<&FactForm> for AddCodeFact {
    type Error = AppError;

    fn try_from(form: &FactForm) -> Result<Self, AppError> {
        let document = parse_document(&form.id_type, &form.id_number)?;
        let kind = FactKind::from_code(form.kind.trim()).ok_or_else(|| {
            AppError::Invalid(format!("赋码原因“{}”无法识别，请从列表中选择", form.kind))
        })?;
        let needs_colour = matches!(kind, FactKind::OtherProvince | FactKind::ManualOverride);
        let colour = if needs_colour {
            Some(CodeColour::from_code(form.colour.trim()).ok_or_else(|| {
                AppError::Invalid("请选择要设定的码色（绿码、黄码或红码）".into())
            })?)
        } else {
            None
        };
        let note = form.note.trim();
        if needs_colour && note.is_empty() {
            return Err(AppError::Invalid(if kind == FactKind::ManualOverride {
                "人工转码必须写明理由（将记入审计日志）".into()
            } else {
                "请写明赋码省份及其来函文号".into()
            }));
        }
        let anchor = if form.anchor.trim().is_empty() {
            None
        } else {
            Some(day_start_time(&form.anchor, "时间")?)
        };
        Ok(AddCodeFact {
            document,
            kind,
            colour,
            note: note.to_string(),
            anchor,
        })
    }
}

/// Why a fact ends early: words are required (they go to the code's history and the audit log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndCodeFact {
    pub reason: String,
}

impl TryFrom<&str> for EndCodeFact {
    type Error = AppError;

    fn try_from(reason: &str) -> Result<Self, AppError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::Invalid("请写明结束的理由".into()));
        }
        Ok(EndCodeFact {
            reason: reason.to_string(),
        })
    }
}

impl App {
    /// Adds a fact to a person's code by hand (a close contact named by the investigation, an
    /// arrival, a colour set by another province, a manual override) and recomputes the code.
    pub async fn add_code_fact(
        &self,
        actor: &Actor,
        form: &FactForm,
    ) -> AppResult<HealthCodeRecord> {
        actor.require(Permission::DecideHealthCodes)?;
        let AddCodeFact {
            document,
            kind,
            colour,
            note,
            anchor,
        } = AddCodeFact::try_from(form)?;
        let now = self.now_unix();
        let anchor = anchor.unwrap_or(now);
        if anchor > now + 3600 {
            return Err(AppError::Invalid(format!(
                "时间 {} 在将来，请填写已经发生的时间",
                beijing_label(anchor)
            )));
        }
        let person = CodePerson {
            id_type: document.id_type().code().to_string(),
            id_number: document.number().into(),
        };
        // Someone not in the register belongs to the region of their newest fact; someone nobody
        // recorded yet to the office that codes them first.
        let home = self
            .require_person_within(actor, &person.id_type, &person.id_number)
            .await?;
        let resident = self
            .resident_by_document(&person.id_type, &person.id_number)
            .await?;
        let write = FactWrite {
            fact_key: format!(
                "manual:{}:{}:{}:{}:{}",
                rand::random::<u32>(),
                actor.user_id,
                person.id_number.as_str(),
                kind.code(),
                now
            ),
            person: person.clone(),
            resident_id: resident.as_ref().map(|r| r.id),
            grid_code: home.unwrap_or_else(|| actor.jurisdiction.as_str().to_string()),
            kind,
            anchor,
            ended_at: None,
            colour,
            note: (!note.is_empty()).then(|| note.to_string()),
            source: format!("{}（{}）", actor.display_name, actor.role.label_zh()),
            created_by: actor.username.clone(),
        };
        let codes = self
            .change_code_facts_audited(
                &[write],
                &[],
                &format!("{}：{}", actor.display_name, kind.label_zh()),
                &audit_record(
                    self,
                    actor,
                    "add_code_fact",
                    format!(
                        "{}:{}",
                        person.id_type,
                        mask_document(&person.id_type, &person.id_number)
                    ),
                    format!("{} {}", kind.code(), note),
                ),
            )
            .await?;
        codes
            .into_iter()
            .next()
            .ok_or_else(|| AppError::internal("the code was not recomputed"))
    }

    /// Ends a fact (another province cleared its colour, an override withdrawn, a case discharged).
    /// The end, the code it changes and the audit record are one transaction.
    pub async fn end_code_fact(&self, actor: &Actor, fact_id: i64, reason: &str) -> AppResult<()> {
        actor.require(Permission::DecideHealthCodes)?;
        let EndCodeFact { reason } = EndCodeFact::try_from(reason)?;
        let fact = self
            .store
            .fact(fact_id)
            .await?
            .ok_or(AppError::NotFound("该赋码记录"))?;
        if fact.grid_code.is_empty() {
            self.require_person_within(actor, &fact.id_type, &fact.id_number)
                .await?;
        } else {
            ensure_within(actor, &fact)?;
        }
        if fact.ended_at.is_some() || fact.withdrawn_at.is_some() {
            return Err(AppError::Conflict("该赋码记录已经结束".into()));
        }
        // Kinds whose rules run from an end (discharge, a negative recheck, another province's
        // clearance, an override withdrawn) are ended; for the others (a contact, an arrival …) the
        // rules run from the anchor alone, so ending early means the fact was wrong: withdrawn.
        let ends = matches!(
            fact.kind,
            FactKind::Confirmed
                | FactKind::Asymptomatic
                | FactKind::Suspected
                | FactKind::PoolPositivePending
                | FactKind::InitialScreenPositive
                | FactKind::OtherProvince
                | FactKind::ManualOverride
        );
        let at = self.now_unix();
        let update = if ends {
            FactUpdate::EndOne { fact_id, at }
        } else {
            FactUpdate::Withdraw { fact_id, at }
        };
        self.change_code_facts_audited(
            &[],
            &[update],
            &format!("{}：{}", actor.display_name, reason),
            &audit_record(self, actor, "end_code_fact", fact_id, reason.as_str()),
        )
        .await?;
        Ok(())
    }

    /// Records that the person reported to the community and was checked (a pop-up needs it); the
    /// check, the code it changes and the audit record are one transaction.
    pub async fn record_community_check(
        &self,
        actor: &Actor,
        id_type: &str,
        id_number: &str,
    ) -> AppResult<()> {
        if !(actor.role.allows(Permission::DecideHealthCodes)
            || actor.role.allows(Permission::RecordDoorVisit))
        {
            return Err(AppError::Forbidden { role: actor.role });
        }
        let document = parse_document(id_type, id_number)?;
        let person = CodePerson {
            id_type: document.id_type().code().to_string(),
            id_number: document.number().into(),
        };
        self.require_person_within(actor, &person.id_type, &person.id_number)
            .await?;
        let facts = self.store.facts_of(&person).await?;
        if !facts.iter().any(|f| f.ended_at.is_none()) {
            return Err(AppError::Invalid("此人没有需要报备核查的赋码记录".into()));
        }
        self.change_code_facts_audited(
            &[],
            &[FactUpdate::Checked {
                person: person.clone(),
                at: self.now_unix(),
            }],
            &format!("{}：社区报备核查完成", actor.display_name),
            &audit_record(
                self,
                actor,
                "community_check",
                mask_document(&person.id_type, &person.id_number),
                "",
            ),
        )
        .await?;
        Ok(())
    }

    /// 应检未检: gives everyone of a round's region who has no swab and no exemption a
    /// due-not-tested fact anchored at the round's deadline. Returns how many were marked. Each
    /// page of 5,000 people is one transaction; the audit record (with the total) is written in
    /// the last page's.
    pub async fn mark_round_untested(&self, actor: &Actor, round_id: i64) -> AppResult<usize> {
        actor.require(Permission::DecideHealthCodes)?;
        let round = load_within(actor, self.store.round(round_id)).await?;
        let Some(deadline) = round.deadline_at else {
            return Err(AppError::Invalid(
                "常态化检测没有截止时间，不能标记应检未检".into(),
            ));
        };
        let now = self.now_unix();
        if now < deadline {
            return Err(AppError::Invalid(format!(
                "本轮截止时间 {} 还没到，到时再标记应检未检",
                beijing_label(deadline)
            )));
        }
        let mut marked = 0;
        let mut after = 0;
        loop {
            let people = self.store.round_untested(round_id, after, 5_000).await?;
            if let Some((_, last, _)) = people.last() {
                after = *last;
            }
            let writes: Vec<FactWrite> = people
                .into_iter()
                .map(|(person, resident_id, grid)| FactWrite {
                    fact_key: format!(
                        "untested:{round_id}:{}:{}",
                        person.id_type,
                        person.id_number.as_str()
                    ),
                    person,
                    resident_id: Some(resident_id),
                    grid_code: grid,
                    kind: FactKind::DueNotTested,
                    anchor: deadline,
                    ended_at: None,
                    colour: None,
                    note: Some(format!("{}应检未检", round.name)),
                    source: format!("检测轮次：{}", round.name),
                    created_by: actor.username.clone(),
                })
                .collect();
            let page = writes.len();
            marked += page;
            let cause = format!("{}应检未检", round.name);
            // Pages follow resident ids, so a short page is the last one: it carries the record.
            if page < 5_000 {
                self.change_code_facts_audited(
                    &writes,
                    &[],
                    &cause,
                    &audit_record(
                        self,
                        actor,
                        "mark_round_untested",
                        round_id,
                        marked.to_string(),
                    ),
                )
                .await?;
                break;
            }
            self.change_code_facts(&writes, &[], &cause).await?;
        }
        Ok(marked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The standard's sample number (valid check digit).
    const ID: &str = "11010519491231002X";

    fn good() -> FactForm {
        FactForm {
            id_type: String::new(),
            id_number: ID.into(),
            kind: "manual_override".into(),
            anchor: "2022-11-20 08:00".into(),
            colour: "red".into(),
            note: " 外省协查函 ".into(),
        }
    }

    #[test]
    fn a_good_form_is_a_fact_with_every_value_typed() {
        let command = AddCodeFact::try_from(&good()).unwrap();
        assert_eq!(command.document.number(), ID);
        assert_eq!(command.kind, FactKind::ManualOverride);
        assert_eq!(command.colour, Some(CodeColour::Red));
        assert_eq!(command.note, "外省协查函");
        assert_eq!(
            command.anchor,
            Some(day_start_time("2022-11-20 08:00", "时间").unwrap())
        );
        // A contact needs no colour and no words; an empty time is now.
        let contact = AddCodeFact::try_from(&FactForm {
            kind: "close_contact".into(),
            colour: "purple".into(),
            note: String::new(),
            anchor: String::new(),
            ..good()
        })
        .unwrap();
        assert_eq!((contact.colour, contact.anchor), (None, None));
    }

    #[test]
    fn each_bad_field_is_refused_by_its_name() {
        type Change = fn(&mut FactForm);
        let table: [(Change, &str); 6] = [
            (|f| f.id_number = "110105194912310021".into(), "校验"),
            (|f| f.kind = "rumour".into(), "赋码原因"),
            (|f| f.colour = "purple".into(), "码色"),
            (|f| f.note = " ".into(), "理由"),
            (
                |f| {
                    f.kind = "other_province".into();
                    f.note = String::new()
                },
                "赋码省份",
            ),
            (|f| f.anchor = "昨天".into(), "时间"),
        ];
        for (change, field) in table {
            let mut form = good();
            change(&mut form);
            match AddCodeFact::try_from(&form) {
                Err(AppError::Invalid(message)) => {
                    assert!(message.contains(field), "{field}: {message}")
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn ending_a_fact_needs_words() {
        assert_eq!(
            EndCodeFact::try_from(" 协查解除 ").unwrap().reason,
            "协查解除"
        );
        assert!(
            matches!(EndCodeFact::try_from("  "), Err(AppError::Invalid(m)) if m.contains("理由"))
        );
    }
}
