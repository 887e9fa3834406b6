//! The commands of isolation, transfer and treatment: every form parsed into typed values before
//! anything is read or written (`TryFrom<&Form>`), each refusal naming the field as the form
//! labels it. What needs the register (the person, the site, the vehicle's state) is checked after,
//! in the app functions, before the one write that carries the audit record.

use super::*;

/// A person put under a measure by hand, every value parsed: what [`App::open_measure_by_hand`]
/// looks up in the register and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenMeasure {
    /// The number as registered (any document type; `Debug` masks it).
    pub id_number: DocumentNumber,
    pub category: PersonCategory,
    /// None = today.
    pub day1: Option<NaiveDate>,
}

impl TryFrom<&MeasureForm> for OpenMeasure {
    type Error = AppError;

    fn try_from(form: &MeasureForm) -> Result<Self, AppError> {
        let category = PersonCategory::from_code(form.category.trim())
            .ok_or_else(|| AppError::field("人员类别", "请选择人员类别"))?;
        let number = form.id_number.trim().to_uppercase();
        if number.is_empty() {
            return Err(AppError::field("证件号码", "请填写证件号码"));
        }
        let day1 = match form.day1.trim() {
            "" => None,
            typed => Some(parse_date(typed).ok_or_else(|| {
                AppError::field(
                    "第1天",
                    format!(
                        "日期“{}”应写成 2022-11-20",
                        fangkong_domain::echo::shown(typed)
                    ),
                )
            })?),
        };
        Ok(OpenMeasure {
            id_number: number.into(),
            category,
            day1,
        })
    }
}

/// A carer proposed for a person in a site, every value parsed: what [`App::assign_carer`]
/// checks against the rule ("一人一间一卫" exceptions) and notes on the measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignCarer {
    pub name: PersonName,
    /// 1 to 120.
    pub age: u32,
    pub underlying_disease: bool,
    pub needs: CareNeeds,
}

impl TryFrom<&CarerForm> for AssignCarer {
    type Error = AppError;

    fn try_from(form: &CarerForm) -> Result<Self, AppError> {
        let name = form.name.trim();
        if name.is_empty() || name.chars().count() > 30 {
            return Err(AppError::field(
                "陪护人姓名",
                "请填写陪护人姓名（30字以内）",
            ));
        }
        let age = match form.age.trim().parse::<u32>() {
            Ok(a) if (1..=120).contains(&a) => a,
            _ => {
                return Err(AppError::Invalid(format!(
                    "陪护人年龄应填写1到120之间的整数，而不是“{}”",
                    fangkong_domain::echo::shown(form.age.trim())
                )));
            }
        };
        Ok(AssignCarer {
            name: name.into(),
            age,
            underlying_disease: form.underlying_disease,
            needs: CareNeeds {
                pregnant: form.pregnant,
                seriously_ill: form.seriously_ill,
                dependent: form.dependent,
            },
        })
    }
}

/// An isolation site, every value parsed: what [`App::create_isolation_site`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSite {
    /// 1 to 60 characters.
    pub name: String,
    pub region: RegionCode,
    /// 200 characters at most.
    pub address: String,
    pub readiness: Readiness,
    pub staff_count: i64,
    /// 200 characters at most.
    pub note: String,
}

impl TryFrom<&SiteForm> for CreateSite {
    type Error = AppError;

    fn try_from(form: &SiteForm) -> Result<Self, AppError> {
        let name = form.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::Invalid("请填写隔离点名称（60字以内）".into()));
        }
        let region =
            RegionCode::parse(form.region_code.trim()).map_err(|e| AppError::field("区划", e))?;
        let readiness = Readiness::from_code(form.readiness.trim())
            .ok_or_else(|| AppError::field("启用时限", "请选择启用时限（2小时/24小时）"))?;
        let address = form.address.trim();
        if address.is_empty() {
            return Err(AppError::Invalid("请填写隔离点地址".into()));
        }
        let staff_count = if form.staff_count.trim().is_empty() {
            0
        } else {
            parse_count(&form.staff_count, "工作人员数", 5_000)?
        };
        Ok(CreateSite {
            name: name.into(),
            region,
            address: address.chars().take(200).collect(),
            readiness,
            staff_count,
            note: form.note.trim().chars().take(200).collect(),
        })
    }
}

/// A block of rooms, checked: the rooms (building, floor, number) it adds, in adjacency order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddRooms {
    pub rooms: Vec<(String, u32, String)>,
}

impl TryFrom<&RoomBlockForm> for AddRooms {
    type Error = AppError;

    fn try_from(form: &RoomBlockForm) -> Result<Self, AppError> {
        let num = |t: &str, label: &str| -> AppResult<u32> {
            t.trim().parse::<u32>().map_err(|_| {
                AppError::Invalid(format!(
                    "“{label}”应填写数字，而不是“{}”",
                    fangkong_domain::echo::shown(t.trim())
                ))
            })
        };
        let block = RoomBlock {
            building: form.building.clone(),
            floors: (
                num(&form.floor_from, "起始楼层")?,
                num(&form.floor_to, "终止楼层")?,
            ),
            rooms: (
                num(&form.room_from, "起始房号")?,
                num(&form.room_to, "终止房号")?,
            ),
        };
        Ok(AddRooms {
            rooms: block.rooms().map_err(AppError::Invalid)?,
        })
    }
}

/// A vehicle, every value parsed: what [`App::add_vehicle`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddVehicle {
    pub plate: String,
    pub kind: VehicleKind,
    /// 1 for an ambulance; 1 to 80 for a coach.
    pub capacity: i64,
    /// None = the actor's jurisdiction.
    pub region: Option<RegionCode>,
}

impl TryFrom<&VehicleForm> for AddVehicle {
    type Error = AppError;

    fn try_from(form: &VehicleForm) -> Result<Self, AppError> {
        let plate = fangkong_domain::checkpoint::parse_plate(&form.plate)
            .map_err(|e| AppError::field("车牌号", e))?;
        let kind = VehicleKind::from_code(form.kind.trim())
            .ok_or_else(|| AppError::field("车辆类型", "请选择车辆类型"))?;
        let capacity = if kind.is_ambulance() {
            1
        } else {
            let n = parse_count(&form.capacity, "核载人数", 80)?;
            if n == 0 {
                return Err(AppError::field("核载人数", "大巴核载人数应至少为1"));
            }
            n
        };
        let region = match form.region_code.trim() {
            "" => None,
            typed => Some(RegionCode::parse(typed).map_err(|e| AppError::field("区划", e))?),
        };
        Ok(AddVehicle {
            plate,
            kind,
            capacity,
            region,
        })
    }
}

/// A dispatch: the vehicle, the riders (each once, in id order) and, for an infected person, the
/// hospital. What [`App::create_transfer`] checks against the transfer rule and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchTransfer {
    pub vehicle_id: i64,
    pub measure_ids: Vec<i64>,
    pub hospital_id: Option<i64>,
}

impl TryFrom<&TransferForm> for DispatchTransfer {
    type Error = AppError;

    fn try_from(form: &TransferForm) -> Result<Self, AppError> {
        let mut measure_ids = form.measure_ids.clone();
        measure_ids.sort_unstable();
        measure_ids.dedup();
        if measure_ids.is_empty() {
            return Err(AppError::field("转运人员", "请至少选择一人"));
        }
        Ok(DispatchTransfer {
            vehicle_id: form.vehicle_id,
            measure_ids,
            hospital_id: form.hospital_id,
        })
    }
}

/// A designated hospital or fangcang, every value parsed: what
/// [`App::add_treatment_hospital`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddHospital {
    /// 1 to 60 characters.
    pub name: String,
    pub kind: HospitalKind,
    pub region: RegionCode,
    pub beds: i64,
}

impl TryFrom<&HospitalForm> for AddHospital {
    type Error = AppError;

    fn try_from(form: &HospitalForm) -> Result<Self, AppError> {
        let name = form.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::Invalid("请填写医院名称（60字以内）".into()));
        }
        let kind = HospitalKind::from_code(form.kind.trim())
            .ok_or_else(|| AppError::field("医院类型", "请选择定点医院或方舱医院"))?;
        let region =
            RegionCode::parse(form.region_code.trim()).map_err(|e| AppError::field("区划", e))?;
        Ok(AddHospital {
            name: name.into(),
            kind,
            region,
            beds: parse_count(&form.beds, "床位数", 100_000)?,
        })
    }
}

/// A check-in as entered: when the person arrived (None = now), bounded in
/// [`App::site_check_in`] by the allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteCheckIn {
    pub occurred_at: Option<DateTime<Utc>>,
}

impl TryFrom<&CheckInForm> for SiteCheckIn {
    type Error = AppError;

    fn try_from(form: &CheckInForm) -> Result<Self, AppError> {
        Ok(SiteCheckIn {
            occurred_at: parse_occurred_at(&form.occurred_at, CHECK_IN_FIELD)?,
        })
    }
}

/// The field of a check-in's time, as the form labels it.
pub(super) const CHECK_IN_FIELD: &str = "入住时间";

/// A transfer's next step as entered: where it moves and when (None = now), bounded in
/// [`App::advance_transfer`] by the step before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvanceTransfer {
    pub to: TransferStatus,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// The name of the time a transfer's step records (a hospital's handing over is its admission).
pub(super) fn step_field(to: TransferStatus, to_hospital: bool) -> &'static str {
    match to {
        TransferStatus::PickedUp => "接到时间",
        TransferStatus::HandedOver if to_hospital => "收治时间",
        TransferStatus::HandedOver => "交接时间",
        TransferStatus::Dispatched => "派车时间",
    }
}

impl TryFrom<&TransferStepForm> for AdvanceTransfer {
    type Error = AppError;

    fn try_from(form: &TransferStepForm) -> Result<Self, AppError> {
        let to = TransferStatus::from_code(form.to.trim())
            .ok_or_else(|| AppError::field("转运状态", "未知的转运状态"))?;
        Ok(AdvanceTransfer {
            to,
            occurred_at: parse_occurred_at(&form.occurred_at, "实际时间")?,
        })
    }
}

/// A hospital discharge as entered: when (None = now), bounded in
/// [`App::discharge_admission`] by the admission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DischargePatient {
    pub occurred_at: Option<DateTime<Utc>>,
}

impl TryFrom<&DischargeForm> for DischargePatient {
    type Error = AppError;

    fn try_from(form: &DischargeForm) -> Result<Self, AppError> {
        Ok(DischargePatient {
            occurred_at: parse_occurred_at(&form.occurred_at, "出院时间")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<T: std::fmt::Debug>(result: AppResult<T>) -> String {
        result.unwrap_err().to_string()
    }

    /// An edit of a good form, and the words its refusal must hold.
    type BadField<F> = (fn(&mut F), &'static str);

    /// Each edit of a good form must be refused with a message holding the words given.
    fn refused<F: Clone, C: std::fmt::Debug>(
        good: &F,
        parse: impl Fn(&F) -> AppResult<C>,
        cases: &[BadField<F>],
    ) {
        for (edit, named) in cases {
            let mut form = good.clone();
            edit(&mut form);
            let message = message(parse(&form));
            assert!(message.contains(named), "{named}: {message}");
        }
    }

    #[test]
    fn a_measure_form_becomes_an_open_measure() {
        let form = MeasureForm {
            id_number: " e12345678 ".into(),
            category: "close_contact".into(),
            day1: "2022-11-18".into(),
            note: String::new(),
        };
        let command = OpenMeasure::try_from(&form).unwrap();
        assert_eq!(command.id_number, "E12345678");
        assert_eq!(command.category, PersonCategory::CloseContact);
        assert_eq!(command.day1, NaiveDate::from_ymd_opt(2022, 11, 18));
        assert!(!format!("{command:?}").contains("12345678"));
        refused(
            &form,
            |f| OpenMeasure::try_from(f),
            &[
                (|f| f.category = "x".into(), "人员类别"),
                (|f| f.id_number = " ".into(), "证件号码"),
                (|f| f.day1 = "11月18日".into(), "第1天"),
            ],
        );
    }

    #[test]
    fn a_carer_form_becomes_an_assign_carer() {
        let form = CarerForm {
            name: " 王五 ".into(),
            age: "35".into(),
            pregnant: true,
            ..Default::default()
        };
        let command = AssignCarer::try_from(&form).unwrap();
        assert_eq!(command.name, "王五");
        assert_eq!(command.age, 35);
        assert!(command.needs.pregnant && !command.needs.dependent);
        assert!(!format!("{command:?}").contains("王五"));
        refused(
            &form,
            |f| AssignCarer::try_from(f),
            &[
                (|f| f.name = "".into(), "陪护人姓名"),
                (|f| f.age = "0".into(), "陪护人年龄"),
                (|f| f.age = "三十".into(), "陪护人年龄"),
            ],
        );
    }

    #[test]
    fn a_site_form_becomes_a_create_site() {
        let form = SiteForm {
            name: " 廉州镇隔离点 ".into(),
            region_code: "130109100".into(),
            address: "廉州镇XX路1号".into(),
            readiness: "h2".into(),
            staff_count: "".into(),
            note: String::new(),
        };
        let readiness = Readiness::ALL[0];
        let form = SiteForm {
            readiness: readiness.code().into(),
            ..form
        };
        let command = CreateSite::try_from(&form).unwrap();
        assert_eq!(command.name, "廉州镇隔离点");
        assert_eq!(command.region.as_str(), "130109100");
        assert_eq!(command.readiness, readiness);
        assert_eq!(command.staff_count, 0);
        refused(
            &form,
            |f| CreateSite::try_from(f),
            &[
                (|f| f.name = " ".into(), "隔离点名称"),
                (|f| f.region_code = "13010".into(), "区划"),
                (|f| f.readiness = "soon".into(), "启用时限"),
                (|f| f.address = "".into(), "隔离点地址"),
                (|f| f.staff_count = "many".into(), "工作人员数"),
            ],
        );
    }

    #[test]
    fn a_room_block_form_becomes_its_rooms() {
        let form = RoomBlockForm {
            building: "A".into(),
            floor_from: "1".into(),
            floor_to: "2".into(),
            room_from: "1".into(),
            room_to: "3".into(),
        };
        assert_eq!(AddRooms::try_from(&form).unwrap().rooms.len(), 6);
        refused(
            &form,
            |f| AddRooms::try_from(f),
            &[
                (|f| f.floor_from = "一".into(), "起始楼层"),
                (|f| f.floor_to = "".into(), "终止楼层"),
                (|f| f.room_from = "x".into(), "起始房号"),
                (|f| f.room_to = "y".into(), "终止房号"),
                (|f| f.building = "".into(), "楼栋名称"),
            ],
        );
    }

    #[test]
    fn a_vehicle_form_becomes_an_add_vehicle() {
        let kind = VehicleKind::ALL
            .iter()
            .copied()
            .find(|k| !k.is_ambulance())
            .unwrap();
        let form = VehicleForm {
            plate: "冀A·12345".into(),
            kind: kind.code().into(),
            capacity: "35".into(),
            region_code: String::new(),
        };
        let command = AddVehicle::try_from(&form).unwrap();
        assert_eq!(command.plate, "冀A12345");
        assert_eq!(command.capacity, 35);
        assert_eq!(command.region, None);
        refused(
            &form,
            |f| AddVehicle::try_from(f),
            &[
                (|f| f.plate = "12".into(), "车牌"),
                (|f| f.kind = "tank".into(), "车辆类型"),
                (|f| f.capacity = "0".into(), "核载人数"),
                (|f| f.capacity = "81".into(), "核载人数"),
                (|f| f.region_code = "1".into(), "区划"),
            ],
        );
    }

    #[test]
    fn a_transfer_form_lists_each_rider_once() {
        let form = TransferForm {
            vehicle_id: 3,
            measure_ids: vec![9, 2, 9],
            hospital_id: None,
        };
        assert_eq!(
            DispatchTransfer::try_from(&form).unwrap(),
            DispatchTransfer {
                vehicle_id: 3,
                measure_ids: vec![2, 9],
                hospital_id: None
            }
        );
        refused(
            &form,
            |f| DispatchTransfer::try_from(f),
            &[(|f| f.measure_ids.clear(), "转运人员")],
        );
    }

    #[test]
    fn a_hospital_form_becomes_an_add_hospital() {
        let kind = HospitalKind::ALL[0];
        let form = HospitalForm {
            name: "藁城区方舱".into(),
            kind: kind.code().into(),
            region_code: "130109".into(),
            beds: "500".into(),
        };
        let command = AddHospital::try_from(&form).unwrap();
        assert_eq!(command.kind, kind);
        assert_eq!(command.beds, 500);
        refused(
            &form,
            |f| AddHospital::try_from(f),
            &[
                (|f| f.name = "".into(), "医院名称"),
                (|f| f.kind = "clinic".into(), "医院类型"),
                (|f| f.region_code = "x".into(), "区划"),
                (|f| f.beds = "-1".into(), "床位数"),
            ],
        );
    }

    #[test]
    fn a_past_dated_step_is_parsed_and_empty_is_now() {
        let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2021, 1, 5, 6, 0, 0).unwrap();
        for (text, expected) in [
            ("", None),
            ("2021-01-05T14:00", Some(at)),
            ("2021-01-05 14:00", Some(at)),
        ] {
            let form = CheckInForm {
                occurred_at: text.into(),
            };
            assert_eq!(
                SiteCheckIn::try_from(&form).unwrap().occurred_at,
                expected,
                "{text}"
            );
            let form = DischargeForm {
                occurred_at: text.into(),
            };
            assert_eq!(
                DischargePatient::try_from(&form).unwrap().occurred_at,
                expected,
                "{text}"
            );
            let form = TransferStepForm {
                to: "handed_over".into(),
                occurred_at: text.into(),
            };
            assert_eq!(
                AdvanceTransfer::try_from(&form).unwrap(),
                AdvanceTransfer {
                    to: TransferStatus::HandedOver,
                    occurred_at: expected
                }
            );
        }
        let message = |e: AppError| e.to_string();
        assert!(
            message(
                SiteCheckIn::try_from(&CheckInForm {
                    occurred_at: "昨天".into()
                })
                .unwrap_err()
            )
            .starts_with("入住时间：")
        );
        assert!(
            message(
                DischargePatient::try_from(&DischargeForm {
                    occurred_at: "x".into()
                })
                .unwrap_err()
            )
            .starts_with("出院时间：")
        );
        assert!(
            message(
                AdvanceTransfer::try_from(&TransferStepForm {
                    to: "gone".into(),
                    occurred_at: String::new()
                })
                .unwrap_err()
            )
            .starts_with("转运状态：")
        );
        assert!(
            message(
                AdvanceTransfer::try_from(&TransferStepForm {
                    to: "picked_up".into(),
                    occurred_at: "x".into()
                })
                .unwrap_err()
            )
            .starts_with("实际时间：")
        );
    }
}
