//! The commands of leads: every form parsed into typed values before anything is read or written
//! (`TryFrom<&Form>`), each refusal naming the field as the form labels it. Routing (the register,
//! the jurisdiction) and the lead's state are checked after, in the app functions, before the one
//! write that carries the audit record.

use super::*;

/// How a registered lead arrived, with what each channel needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadArrival {
    /// 基层排查 or 主动甄别: the sender is the actor.
    Screening(Channel),
    /// 区域协查（来函）: who sent the letter, from how far, and its number.
    LetterIn { sender: String, scope: SenderScope },
    /// 区域协查（发函）: the region the letter goes to and its name.
    LetterOut { to: RegionCode, to_name: String },
}

impl LeadArrival {
    pub fn channel(&self) -> Channel {
        match self {
            LeadArrival::Screening(channel) => *channel,
            LeadArrival::LetterIn { .. } => Channel::AssistIn,
            LeadArrival::LetterOut { .. } => Channel::AssistOut,
        }
    }
}

/// A lead as a staff member registers it, every value parsed: what [`App::create_lead`] routes
/// and writes. `Debug` masks the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterLead {
    pub arrival: LeadArrival,
    pub category: RiskCategory,
    pub person: LeadPerson,
    /// Where the person lives when not in the register (for routing); empty = not given.
    pub region_hint: String,
    /// 500 characters at most.
    pub reason: String,
    /// 200 characters at most.
    pub came_from: String,
    pub arrived_at: Option<i64>,
    /// The 协查函文号 (required for a letter in); 100 characters at most.
    pub reference: String,
}

impl TryFrom<&LeadForm> for RegisterLead {
    type Error = AppError;

    fn try_from(form: &LeadForm) -> Result<Self, AppError> {
        let channel = Channel::from_code(form.channel.trim())
            .filter(|c| {
                matches!(
                    c,
                    Channel::GridScreening
                        | Channel::AssistIn
                        | Channel::AssistOut
                        | Channel::ActiveScreening
                )
            })
            .ok_or_else(|| {
                AppError::field(
                    "线索来源",
                    "请选择线索来源：基层排查、主动甄别、区域协查（来函）或区域协查（发函）",
                )
            })?;
        let category =
            RiskCategory::parse(&form.category).map_err(|e| AppError::field("风险类别", e))?;
        let person = check_person(
            &form.name,
            &form.id_type,
            &form.id_number,
            &form.phone,
            &form.address,
        )
        .map_err(invalid)?;
        let reference = text(&form.reference, 100);
        let arrival = match channel {
            Channel::AssistIn => {
                let sender = text(&form.sender, 100);
                if sender.is_empty() || reference.is_empty() {
                    return Err(AppError::field(
                        "来函单位和协查函文号",
                        "协查来函请填写来函单位和协查函文号",
                    ));
                }
                let scope = SenderScope::from_code(form.sender_scope.trim()).ok_or_else(|| {
                    AppError::field(
                        "来函类别",
                        "请选择来函类别：外省协查、本省外市协查或本市外区协查",
                    )
                })?;
                LeadArrival::LetterIn { sender, scope }
            }
            Channel::AssistOut => {
                if form.out_region.trim().is_empty() {
                    return Err(AppError::field(
                        "发函地区",
                        "发函请填写对方地区的区划编码（如 110105 北京市朝阳区）",
                    ));
                }
                LeadArrival::LetterOut {
                    to: RegionCode::parse(form.out_region.trim())
                        .map_err(|e| AppError::field("发函地区", e))?,
                    to_name: text(&form.out_region_name, 100),
                }
            }
            other => LeadArrival::Screening(other),
        };
        Ok(RegisterLead {
            arrival,
            category,
            person,
            region_hint: form.region_code.trim().to_string(),
            reason: text(&form.reason, 500),
            came_from: text(&form.came_from, 200),
            arrived_at: optional_time(&form.arrived_at, "到达时间")?,
            reference,
        })
    }
}

/// A resident's report about themself, every value parsed: what [`App::self_report`] writes.
/// The person typed is parsed only when the account is not linked to a registered resident
/// (the app function decides that from the register).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfReport {
    /// 200 characters at most.
    pub came_from: String,
    pub arrived_at: Option<i64>,
    pub category: RiskCategory,
    /// 500 characters at most.
    pub contact_note: String,
}

impl TryFrom<&SelfReportForm> for SelfReport {
    type Error = AppError;

    fn try_from(form: &SelfReportForm) -> Result<Self, AppError> {
        let came_from = text(&form.came_from, 200);
        let contact_note = text(&form.contact_note, 500);
        if came_from.is_empty() && contact_note.is_empty() {
            return Err(AppError::field(
                "从哪里来",
                "请填写从哪里来（或与病例的接触情况）",
            ));
        }
        Ok(SelfReport {
            came_from,
            arrived_at: optional_time(&form.arrived_at, "到达时间")?,
            category: RiskCategory::parse(&form.category)
                .map_err(|e| AppError::field("风险类别", e))?,
            contact_note,
        })
    }
}

/// What the grid worker found, with what each outcome needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadOutcome {
    Controlled {
        measure: ControlMeasure,
    },
    /// Not at this address: where the person is now.
    NotHere {
        to: RegionCode,
    },
    /// Left the province: where the person went.
    LeftProvince {
        to: RegionCode,
    },
}

/// The grid worker's outcome of a lead, every value parsed: what [`App::record_lead_outcome`]
/// checks against the lead and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOutcome {
    pub outcome: LeadOutcome,
    /// 500 characters at most.
    pub note: String,
}

impl RecordOutcome {
    pub fn kind(&self) -> OutcomeKind {
        match self.outcome {
            LeadOutcome::Controlled { .. } => OutcomeKind::Controlled,
            LeadOutcome::NotHere { .. } => OutcomeKind::NotHere,
            LeadOutcome::LeftProvince { .. } => OutcomeKind::LeftProvince,
        }
    }
}

impl TryFrom<&OutcomeForm> for RecordOutcome {
    type Error = AppError;

    fn try_from(form: &OutcomeForm) -> Result<Self, AppError> {
        let kind = OutcomeKind::parse(&form.kind).map_err(|e| AppError::field("落地结果", e))?;
        let region = |missing: &str| -> AppResult<RegionCode> {
            if form.region_code.trim().is_empty() {
                return Err(AppError::field("区划编码", missing));
            }
            RegionCode::parse(form.region_code.trim()).map_err(|e| AppError::field("区划编码", e))
        };
        let outcome = match kind {
            OutcomeKind::Controlled => LeadOutcome::Controlled {
                measure: ControlMeasure::parse(&form.measure)
                    .map_err(|e| AppError::field("管控措施", e))?,
            },
            OutcomeKind::NotHere => LeadOutcome::NotHere {
                to: region(
                    "请填写此人现在所在地的区划编码（网格、村社区、乡镇、区县，或外地的区县编码）",
                )?,
            },
            OutcomeKind::LeftProvince => LeadOutcome::LeftProvince {
                to: region("请填写此人所去地区的区划编码（如 110105 北京市朝阳区）")?,
            },
        };
        Ok(RecordOutcome {
            outcome,
            note: text(&form.note, 500),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<T>(result: AppResult<T>) -> String {
        match result {
            Ok(_) => panic!("a bad form was accepted"),
            Err(e) => e.to_string(),
        }
    }

    fn lead_form() -> LeadForm {
        LeadForm {
            channel: "assist_in".into(),
            category: "close_contact".into(),
            name: "赵六".into(),
            phone: "13933334444".into(),
            address: "廉州镇XX村".into(),
            region_code: "130109100013".into(),
            came_from: " 北京 ".into(),
            arrived_at: "2022-11-19 18:00".into(),
            sender: "北京市朝阳区疾控".into(),
            sender_scope: SenderScope::ALL[0].code().into(),
            reference: "京协〔2022〕1号".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_lead_form_becomes_a_register_lead() {
        let command = RegisterLead::try_from(&lead_form()).unwrap();
        assert_eq!(command.arrival.channel(), Channel::AssistIn);
        assert_eq!(
            command.arrival,
            LeadArrival::LetterIn {
                sender: "北京市朝阳区疾控".into(),
                scope: SenderScope::ALL[0]
            }
        );
        assert_eq!(
            command.person.phone.as_ref().unwrap().as_str(),
            "13933334444"
        );
        assert_eq!(command.came_from, "北京");
        assert!(command.arrived_at.is_some());
        assert_eq!(command.region_hint, "130109100013");
        assert!(!format!("{command:?}").contains("13933334444"));
        let out = RegisterLead::try_from(&LeadForm {
            channel: "assist_out".into(),
            out_region: "110105".into(),
            out_region_name: "北京市朝阳区".into(),
            ..lead_form()
        })
        .unwrap();
        assert_eq!(
            out.arrival,
            LeadArrival::LetterOut {
                to: RegionCode::parse("110105").unwrap(),
                to_name: "北京市朝阳区".into()
            }
        );
    }

    #[test]
    fn each_bad_field_of_a_lead_form_is_named() {
        type Edit = fn(&mut LeadForm);
        let cases: [(Edit, &str); 9] = [
            (|f| f.channel = "self_report".into(), "线索来源"),
            (|f| f.category = "路人".into(), "风险类别"),
            (|f| f.phone = "123".into(), "联系电话"),
            (|f| f.id_number = "1301".into(), "证件号码"),
            (|f| f.arrived_at = "昨晚".into(), "到达时间"),
            (|f| f.reference.clear(), "协查函文号"),
            (|f| f.sender_scope = "x".into(), "来函类别"),
            (
                |f| {
                    f.channel = "assist_out".into();
                    f.out_region.clear();
                },
                "发函地区",
            ),
            (
                |f| {
                    f.channel = "assist_out".into();
                    f.out_region = "11x".into();
                },
                "发函地区",
            ),
        ];
        for (edit, named) in cases {
            let mut form = lead_form();
            edit(&mut form);
            let message = RegisterLead::try_from(&form)
                .err()
                .unwrap_or_else(|| panic!("accepted without {named}"))
                .to_string();
            assert!(message.contains(named), "{named}: {message}");
        }
    }

    #[test]
    fn a_self_report_form_becomes_a_self_report() {
        let form = SelfReportForm {
            came_from: "上海".into(),
            arrived_at: "2022-11-19 08:00".into(),
            ..Default::default()
        };
        let command = SelfReport::try_from(&form).unwrap();
        assert_eq!(command.came_from, "上海");
        assert_eq!(command.category, RiskCategory::Other);
        type Edit = fn(&mut SelfReportForm);
        let cases: [(Edit, &str); 3] = [
            (|f| f.came_from.clear(), "从哪里来"),
            (|f| f.arrived_at = "x".into(), "到达时间"),
            (|f| f.category = "x".into(), "风险类别"),
        ];
        for (edit, named) in cases {
            let mut bad = form.clone();
            edit(&mut bad);
            let message = message(SelfReport::try_from(&bad));
            assert!(message.contains(named), "{named}: {message}");
        }
    }

    #[test]
    fn an_outcome_form_becomes_a_record_outcome() {
        let controlled = OutcomeForm {
            kind: OutcomeKind::Controlled.code().into(),
            measure: ControlMeasure::ALL[0].code().into(),
            note: " 已转运 ".into(),
            ..Default::default()
        };
        assert_eq!(
            RecordOutcome::try_from(&controlled).unwrap(),
            RecordOutcome {
                outcome: LeadOutcome::Controlled {
                    measure: ControlMeasure::ALL[0]
                },
                note: "已转运".into()
            }
        );
        let not_here = OutcomeForm {
            kind: OutcomeKind::NotHere.code().into(),
            region_code: "130109110201".into(),
            ..Default::default()
        };
        assert_eq!(
            RecordOutcome::try_from(&not_here).unwrap().kind(),
            OutcomeKind::NotHere
        );
        type Edit = fn(&mut OutcomeForm);
        let cases: [(Edit, &str); 4] = [
            (|f| f.kind = "x".into(), "落地结果"),
            (|f| f.measure = "x".into(), "管控措施"),
            (
                |f| f.kind = OutcomeKind::LeftProvince.code().into(),
                "区划编码",
            ),
            (
                |f| {
                    f.kind = OutcomeKind::NotHere.code().into();
                    f.region_code = "abc".into();
                },
                "区划编码",
            ),
        ];
        for (edit, named) in cases {
            let mut bad = controlled.clone();
            edit(&mut bad);
            let message = message(RecordOutcome::try_from(&bad));
            assert!(message.contains(named), "{named}: {message}");
        }
    }
}
