//! The commands of investigation: every form parsed into typed values before anything is read or
//! written (`TryFrom<&Form>`), each refusal naming the field as the form labels it. Checks that
//! need the clock ("not in the future") or the register (the person, the infector) come after, in
//! the app functions; none of them writes.

use super::*;

/// Who a form names: a checked document, or only a phone (a contact may have no document).
/// `Debug` masks both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPerson {
    pub document: Option<IdDocument>,
    pub phone: Option<PhoneNumber>,
}

impl NamedPerson {
    /// Parses the document type, number and phone as typed; at least a number or a phone.
    pub fn parse(id_type: &str, id_number: &str, phone: &str) -> AppResult<NamedPerson> {
        let phone = match phone.trim() {
            "" => None,
            typed => Some(PhoneNumber::parse(typed).map_err(|e| AppError::field("联系电话", e))?),
        };
        let document = if id_number.trim().is_empty() {
            if phone.is_none() {
                return Err(AppError::field(
                    "证件号码",
                    "请至少填写证件号码或联系电话，否则无法落地查人",
                ));
            }
            None
        } else {
            let id_type = IdType::parse(id_type).map_err(|e| AppError::field("证件类型", e))?;
            Some(
                IdDocument::parse(id_type, id_number)
                    .map_err(|e| AppError::field("证件号码", e))?,
            )
        };
        Ok(NamedPerson { document, phone })
    }
}

/// A case as the epidemiologist registers it, every value parsed: what [`App::open_case`] checks
/// against the clock and the register, then writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCase {
    pub kind: CaseKind,
    /// A case always has a document (网络直报 needs it).
    pub document: IdDocument,
    pub phone: Option<PhoneNumber>,
    /// Empty = the registered name.
    pub name: PersonName,
    /// Empty = the registered address.
    pub address: Address,
    /// Where the case belongs when the person is not in the register.
    pub region: Option<RegionCode>,
    pub onset_date: Option<NaiveDate>,
    pub first_positive_at: Option<i64>,
    pub found_by: FoundBy,
    /// None = now.
    pub found_at: Option<i64>,
    pub severity: Severity,
    /// 100 characters at most.
    pub hospital: String,
    pub isolated_at: Option<i64>,
    /// The infector's case number or id as typed (resolved against the register); empty = none.
    pub infector: String,
    /// The client's key; empty = none.
    pub case_key: String,
}

impl TryFrom<&CaseForm> for OpenCase {
    type Error = AppError;

    fn try_from(form: &CaseForm) -> Result<Self, AppError> {
        let kind = case_kind(&form.kind)?;
        let severity = if form.severity.trim().is_empty() {
            if kind == CaseKind::Asymptomatic {
                Severity::None
            } else {
                Severity::Mild
            }
        } else {
            Severity::from_code(form.severity.trim()).ok_or_else(|| {
                AppError::field(
                    "临床分型",
                    format!(
                        "“{}”不认识",
                        fangkong_domain::echo::shown(form.severity.trim())
                    ),
                )
            })?
        };
        let person = NamedPerson::parse(&form.id_type, &form.id_number, &form.phone)?;
        let document = person.document.ok_or_else(|| {
            AppError::field("证件号码", "病例须填写证件号码（网络直报需要身份信息）")
        })?;
        let onset_date = if form.onset_date.trim().is_empty() {
            None
        } else {
            Some(parse_date(&form.onset_date, "发病日期")?)
        };
        let first_positive_at = optional_time(&form.first_positive_at, "首次阳性采样时间")?;
        if kind.has_onset() && onset_date.is_none() && first_positive_at.is_none() {
            return Err(AppError::field(
                "发病日期",
                format!(
                    "{}须填写发病日期（无症状的请选择“无症状感染者”）",
                    kind.label_zh()
                ),
            ));
        }
        if !kind.has_onset() && first_positive_at.is_none() {
            return Err(AppError::field(
                "首次阳性采样时间",
                format!("{}须填写首次阳性标本的采样时间", kind.label_zh()),
            ));
        }
        let region = match form.region_code.trim() {
            "" => None,
            typed => {
                Some(RegionCode::parse(typed).map_err(|e| AppError::field("现住地区划编码", e))?)
            }
        };
        Ok(OpenCase {
            kind,
            document,
            phone: person.phone,
            name: form.name.trim().into(),
            address: form.address.trim().into(),
            region,
            onset_date,
            first_positive_at,
            found_by: FoundBy::from_code(form.found_by.trim()).unwrap_or(FoundBy::Other),
            found_at: optional_time(&form.found_at, "发现时间")?,
            severity,
            hospital: form.hospital.trim().chars().take(100).collect(),
            isolated_at: optional_time(&form.isolated_at, "隔离时间")?,
            infector: form.infector.trim().to_string(),
            case_key: form.case_key.trim().to_string(),
        })
    }
}

/// A person exposed to a case, every value parsed: what [`App::add_contact`] classifies by rule
/// and writes.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordContact {
    /// For a secondary contact: the close contact the person met.
    pub via_contact_id: Option<i64>,
    pub person: NamedPerson,
    /// Empty = the registered name.
    pub name: PersonName,
    /// Empty = the registered address.
    pub address: Address,
    /// Where the person lives when not in the register, for routing.
    pub region: Option<RegionCode>,
    pub exposure: Exposure,
    /// 200 characters at most.
    pub place_note: String,
}

impl TryFrom<&ContactForm> for RecordContact {
    type Error = AppError;

    fn try_from(form: &ContactForm) -> Result<Self, AppError> {
        let via_contact_id = match form.via_contact_id.trim() {
            "" => None,
            typed => Some(
                typed
                    .parse::<i64>()
                    .map_err(|_| AppError::field("经由的密接", "应为密接编号"))?,
            ),
        };
        let kind = ExposureKind::from_code(form.exposure_kind.trim()).ok_or_else(|| {
            AppError::field(
                "接触方式",
                format!(
                    "请选择接触方式（“{}”不认识）",
                    fangkong_domain::echo::shown(form.exposure_kind.trim())
                ),
            )
        })?;
        let exposure = Exposure {
            kind,
            first_at: form_time(&form.first_exposure_at, "首次接触时间")?,
            last_at: form_time(&form.last_exposure_at, "末次接触时间")?,
            protected: form.protected,
            vehicle: VehiclePosition {
                case_row: optional_row(&form.case_row, "病例座位排号")?,
                contact_row: optional_row(&form.contact_row, "接触者座位排号")?,
                crew_serving: form.crew_serving,
                sealed: form.sealed,
                same_carriage: form.same_carriage,
                same_compartment: form.same_compartment,
                bay_offset: optional_row(&form.bay_offset, "相隔格数")?,
            },
        };
        let person = NamedPerson::parse(&form.id_type, &form.id_number, &form.phone)?;
        let region = match form.region_code.trim() {
            "" => None,
            typed => Some(RegionCode::parse(typed).map_err(|e| AppError::field("区划编码", e))?),
        };
        Ok(RecordContact {
            via_contact_id,
            person,
            name: form.name.trim().into(),
            address: form.address.trim().into(),
            region,
            exposure,
            place_note: form.place_note.trim().chars().take(200).collect(),
        })
    }
}

/// A trajectory stop, every value parsed: what [`App::add_case_stop`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCaseStop {
    /// One of [`PLACE_KINDS`]' codes (an unknown kind is 其他).
    pub place_kind: &'static str,
    /// 100 characters at most.
    pub place_name: String,
    pub address: Address,
    pub from_at: i64,
    pub to_at: Option<i64>,
    pub public: bool,
    /// The client's key; empty = none.
    pub key: String,
}

impl TryFrom<&StopForm> for AddCaseStop {
    type Error = AppError;

    fn try_from(form: &StopForm) -> Result<Self, AppError> {
        let from_at = form_time(&form.from_at, "开始时间")?;
        let to_at = optional_time(&form.to_at, "结束时间")?;
        if to_at.is_some_and(|to| to < from_at) {
            return Err(AppError::field("结束时间", "早于开始时间，请核对"));
        }
        let place_name: String = form.place_name.trim().chars().take(100).collect();
        if place_name.is_empty() {
            return Err(AppError::field(
                "地点名称",
                "请填写地点名称（如 某某超市、G1234次列车）",
            ));
        }
        let place_kind = PLACE_KINDS
            .iter()
            .find(|(c, l)| *c == form.place_kind.trim() || *l == form.place_kind.trim())
            .map(|(c, _)| *c)
            .unwrap_or("other");
        Ok(AddCaseStop {
            place_kind,
            place_name,
            address: form
                .address
                .trim()
                .chars()
                .take(200)
                .collect::<String>()
                .into(),
            from_at,
            to_at,
            public: form.public,
            key: form.key.trim().to_string(),
        })
    }
}

/// The field of a case's discharge time, as the form labels it.
pub(super) const DISCHARGE_FIELD: &str = "出院时间";

/// A step on a case, every value parsed: what [`App::update_case`] checks against the case's
/// state and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseStep {
    Reported,
    Investigated,
    /// None = now.
    Isolated {
        at: Option<i64>,
    },
    Clinical {
        severity: Severity,
        hospital: String,
    },
    Reclassify {
        kind: CaseKind,
    },
    /// When the patient was discharged (补录); None = now.
    Discharge {
        occurred_at: Option<DateTime<Utc>>,
    },
    Exclude,
    /// The infector as typed (resolved against the register); empty = none.
    Infector {
        infector: String,
        note: String,
    },
    PublicSummary {
        text: String,
    },
}

impl TryFrom<&CaseAction> for CaseStep {
    type Error = AppError;

    fn try_from(action: &CaseAction) -> Result<Self, AppError> {
        Ok(match action {
            CaseAction::Reported => CaseStep::Reported,
            CaseAction::Investigated => CaseStep::Investigated,
            CaseAction::Isolated { at } => CaseStep::Isolated {
                at: optional_time(at, "隔离时间")?,
            },
            CaseAction::Clinical { severity, hospital } => CaseStep::Clinical {
                severity: Severity::from_code(severity.trim()).ok_or_else(|| {
                    AppError::field(
                        "临床分型",
                        format!("“{}”不认识", fangkong_domain::echo::shown(severity.trim())),
                    )
                })?,
                hospital: hospital.trim().chars().take(100).collect(),
            },
            CaseAction::Reclassify { kind } => CaseStep::Reclassify {
                kind: case_kind(kind)?,
            },
            CaseAction::Discharge { occurred_at } => CaseStep::Discharge {
                occurred_at: parse_occurred_at(occurred_at, DISCHARGE_FIELD)?,
            },
            CaseAction::Exclude => CaseStep::Exclude,
            CaseAction::Infector { infector, note } => CaseStep::Infector {
                infector: infector.trim().to_string(),
                note: note.trim().chars().take(200).collect(),
            },
            CaseAction::PublicSummary { text } => CaseStep::PublicSummary {
                text: text.trim().chars().take(2_000).collect(),
            },
        })
    }
}

/// The reason a contact is withdrawn (required, 200 characters at most).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearContact {
    pub reason: String,
}

impl TryFrom<&str> for ClearContact {
    type Error = AppError;

    fn try_from(reason: &str) -> Result<Self, AppError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::field("解除原因", "解除密接须写明原因"));
        }
        Ok(ClearContact {
            reason: reason.chars().take(200).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "130109198001011236";

    fn valid_id() -> String {
        let first17 = &ID[..17];
        let check = fangkong_domain::ids::gb11643_check_digit(first17).unwrap();
        format!("{first17}{check}")
    }

    fn case_form() -> CaseForm {
        CaseForm {
            kind: "confirmed".into(),
            id_number: valid_id(),
            name: " 张三 ".into(),
            phone: "13911112222".into(),
            onset_date: "2022-11-18".into(),
            found_by: "mass_testing".into(),
            found_at: "2022-11-20 08:30".into(),
            severity: "mild".into(),
            hospital: " 市人民医院 ".into(),
            ..Default::default()
        }
    }

    fn message<T: std::fmt::Debug>(result: AppResult<T>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn a_case_form_becomes_an_open_case() {
        let command = OpenCase::try_from(&case_form()).unwrap();
        assert_eq!(command.kind, CaseKind::Confirmed);
        assert_eq!(command.document.number(), valid_id());
        assert_eq!(command.document.id_type(), IdType::MainlandId);
        assert_eq!(
            command.phone.as_ref().map(|p| p.as_str()),
            Some("13911112222")
        );
        assert_eq!(command.name, "张三");
        assert_eq!(command.onset_date, NaiveDate::from_ymd_opt(2022, 11, 18));
        assert_eq!(command.severity, Severity::Mild);
        assert_eq!(command.hospital, "市人民医院");
        assert_eq!(
            command.found_at,
            Some(form_time("2022-11-20 08:30", "").unwrap())
        );
        assert_eq!(command.region, None);
        // Personal data stays out of Debug.
        let debug = format!("{command:?}");
        assert!(
            !debug.contains(&valid_id()) && !debug.contains("13911112222"),
            "{debug}"
        );
        assert!(!debug.contains("张三"), "{debug}");
    }

    #[test]
    fn each_bad_field_of_a_case_form_is_named() {
        type Edit = fn(&mut CaseForm);
        let cases: [(Edit, &str); 10] = [
            (|f| f.kind = "flu".into(), "病例类型"),
            (|f| f.severity = "很重".into(), "临床分型"),
            (|f| f.id_number = "130109198001011235X".into(), "证件号码"),
            (|f| f.id_number.clear(), "证件号码"),
            (|f| f.id_type = "驾驶证".into(), "证件类型"),
            (|f| f.phone = "12345".into(), "联系电话"),
            (|f| f.onset_date = "11月18日".into(), "发病日期"),
            (|f| f.found_at = "昨天".into(), "发现时间"),
            (|f| f.region_code = "9x".into(), "区划编码"),
            (
                |f| {
                    f.kind = "asymptomatic".into();
                    f.onset_date.clear();
                },
                "首次阳性采样时间",
            ),
        ];
        for (edit, named) in cases {
            let mut form = case_form();
            edit(&mut form);
            let message = message(OpenCase::try_from(&form));
            assert!(message.contains(named), "{named}: {message}");
        }
    }

    fn contact_form() -> ContactForm {
        ContactForm {
            name: "李四".into(),
            phone: "13922223333".into(),
            exposure_kind: "shared_home".into(),
            first_exposure_at: "2022-11-17 08:00".into(),
            last_exposure_at: "2022-11-19 20:00".into(),
            case_row: "3".into(),
            region_code: "130109100013".into(),
            place_note: " 同住 ".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_contact_form_becomes_a_record_contact() {
        let command = RecordContact::try_from(&contact_form()).unwrap();
        assert_eq!(command.via_contact_id, None);
        assert_eq!(command.person.document, None);
        assert_eq!(
            command.person.phone.as_ref().map(|p| p.as_str()),
            Some("13922223333")
        );
        assert_eq!(command.exposure.kind, ExposureKind::SharedHome);
        assert_eq!(command.exposure.vehicle.case_row, Some(3));
        assert_eq!(
            command.region.as_ref().map(|r| r.as_str()),
            Some("130109100013")
        );
        assert_eq!(command.place_note, "同住");
        assert!(!format!("{command:?}").contains("13922223333"));
    }

    #[test]
    fn each_bad_field_of_a_contact_form_is_named() {
        type Edit = fn(&mut ContactForm);
        let cases: [(Edit, &str); 8] = [
            (|f| f.via_contact_id = "第三个".into(), "经由的密接"),
            (|f| f.exposure_kind = "聊天".into(), "接触方式"),
            (|f| f.first_exposure_at = "11-17".into(), "首次接触时间"),
            (|f| f.last_exposure_at = "".into(), "末次接触时间"),
            (|f| f.contact_row = "999".into(), "接触者座位排号"),
            (|f| f.phone = "1".into(), "联系电话"),
            (|f| f.phone.clear(), "证件号码"),
            (|f| f.region_code = "abc".into(), "区划编码"),
        ];
        for (edit, named) in cases {
            let mut form = contact_form();
            edit(&mut form);
            let message = message(RecordContact::try_from(&form));
            assert!(message.contains(named), "{named}: {message}");
        }
    }

    #[test]
    fn a_stop_form_becomes_a_stop_and_its_bad_fields_are_named() {
        let form = StopForm {
            place_kind: "场所".into(),
            place_name: " 某某超市 ".into(),
            from_at: "2022-11-18 10:00".into(),
            to_at: "2022-11-18T11:00".into(),
            public: true,
            ..Default::default()
        };
        let command = AddCaseStop::try_from(&form).unwrap();
        assert_eq!(command.place_kind, "venue");
        assert_eq!(command.place_name, "某某超市");
        assert_eq!(command.to_at, Some(command.from_at + 3600));
        type Edit = fn(&mut StopForm);
        let cases: [(Edit, &str); 4] = [
            (|f| f.from_at = "上午".into(), "开始时间"),
            (|f| f.to_at = "下午".into(), "结束时间"),
            (|f| f.to_at = "2022-11-18 09:00".into(), "结束时间"),
            (|f| f.place_name = " ".into(), "地点名称"),
        ];
        for (edit, named) in cases {
            let mut bad = form.clone();
            edit(&mut bad);
            let message = message(AddCaseStop::try_from(&bad));
            assert!(message.contains(named), "{named}: {message}");
        }
    }

    #[test]
    fn case_steps_and_clearings_are_parsed_with_the_field_named() {
        assert_eq!(
            CaseStep::try_from(&CaseAction::Clinical {
                severity: "severe".into(),
                hospital: " 定点医院 ".into()
            })
            .unwrap(),
            CaseStep::Clinical {
                severity: Severity::Severe,
                hospital: "定点医院".into()
            }
        );
        assert_eq!(
            CaseStep::try_from(&CaseAction::Isolated { at: String::new() }).unwrap(),
            CaseStep::Isolated { at: None }
        );
        for (typed, expected) in [
            ("", None),
            (
                "2022-11-20T08:30",
                Some(
                    chrono::Utc
                        .with_ymd_and_hms(2022, 11, 20, 0, 30, 0)
                        .unwrap(),
                ),
            ),
        ] {
            assert_eq!(
                CaseStep::try_from(&CaseAction::Discharge {
                    occurred_at: typed.into()
                })
                .unwrap(),
                CaseStep::Discharge {
                    occurred_at: expected
                },
                "{typed}"
            );
        }
        for (action, named) in [
            (
                CaseAction::Clinical {
                    severity: "x".into(),
                    hospital: String::new(),
                },
                "临床分型",
            ),
            (CaseAction::Reclassify { kind: "x".into() }, "病例类型"),
            (CaseAction::Isolated { at: "x".into() }, "隔离时间"),
            (
                CaseAction::Discharge {
                    occurred_at: "昨天".into(),
                },
                "出院时间",
            ),
        ] {
            let message = message(CaseStep::try_from(&action));
            assert!(message.contains(named), "{named}: {message}");
        }
        assert_eq!(ClearContact::try_from(" 误报 ").unwrap().reason, "误报");
        assert!(message(ClearContact::try_from("  ")).contains("解除原因"));
    }
}
