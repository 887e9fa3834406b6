//! Exposures and contact classification by rule (密接/次密接/一般接触者, domain-rules.md §1).

use super::*;

crate::coded_enum! {
    /// The category a person is put in (风险人员类别).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ContactCategory {
        /// 密切接触者
        Close => "close", "密切接触者",
        /// 密接的密接
        Secondary => "secondary", "密接的密接",
        /// 一般接触者
        General => "general", "一般接触者",
    }
}

crate::coded_enum! {
    /// Where a contact stands: under the case's tracing until cleared with a reason.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ContactStatus {
        Active => "active", "在管",
        Cleared => "cleared", "已解除",
    }
}

crate::coded_enum! {
    // Serde as written: an `Exposure`'s JSON says `shared_meal_or_entertainment` and
    // `same_vehicle_within_one_metre` where the codes say `shared_meal` and `same_vehicle_1m`.
    serde = as_written;
    from_code = code_or_label;
    /// How a person was exposed (暴露方式). The first nine are the 9 items of the 判定原则 (§1.1);
    /// vehicles follow the 交通工具密切接触者判定指引; a public place is a general contact (§1.3).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum ExposureKind {
        /// 1. 同住家庭成员
        SharedHome => "shared_home", "同住家庭成员",
        /// 2. 直接照顾者或提供诊疗、护理服务者
        Carer => "carer", "直接照顾或诊疗护理",
        /// 3. 同一空间内实施可能产生气溶胶诊疗操作的医务人员
        AerosolProcedure => "aerosol_procedure", "同空间气溶胶诊疗操作",
        /// 4. 同一办公室、车间、班组、电梯、食堂、教室等密闭空间
        SameEnclosedSpace => "same_enclosed_space", "同办公室/车间/班组/电梯/食堂/教室",
        /// 5. 密闭空间内共同用餐、娱乐及提供服务的人员
        SharedMealOrEntertainment => "shared_meal", "密闭空间共同用餐/娱乐/服务",
        /// 6. 探视的医护人员、家属或其他有近距离接触的人员
        Visitor => "visitor", "探视或近距离接触",
        /// 7. 乘坐同一交通工具并有近距离接触（1米内）的人员，包括陪护及同行人员
        SameVehicleWithinOneMetre => "same_vehicle_1m", "同乘交通工具1米内",
        /// 8. 暴露于可能被污染的环境或物品
        ContaminatedEnvironment => "contaminated_environment", "暴露于被污染的环境或物品",
        /// 9. 现场调查人员评估认为符合其他与密切接触者判定标准的人员
        InvestigatorAssessed => "investigator_assessed", "调查人员评估判定",
        /// 飞机
        Aircraft => "aircraft", "同乘飞机",
        /// 火车
        Train => "train", "同乘火车",
        /// 公交/长途客车
        Bus => "bus", "同乘客车/公交",
        /// 轮船
        Ship => "ship", "同乘轮船",
        /// 商场、市场、车站等公共场所（一般接触）
        PublicPlace => "public_place", "公共场所（商场、市场、车站等）",
    }
}

impl ExposureKind {
    /// The item of the 判定原则 (1–9), for the reason shown.
    fn principle_item(self) -> Option<u8> {
        match self {
            ExposureKind::SharedHome => Some(1),
            ExposureKind::Carer => Some(2),
            ExposureKind::AerosolProcedure => Some(3),
            ExposureKind::SameEnclosedSpace => Some(4),
            ExposureKind::SharedMealOrEntertainment => Some(5),
            ExposureKind::Visitor => Some(6),
            ExposureKind::SameVehicleWithinOneMetre => Some(7),
            ExposureKind::ContaminatedEnvironment => Some(8),
            ExposureKind::InvestigatorAssessed => Some(9),
            _ => None,
        }
    }

    pub fn is_vehicle(self) -> bool {
        matches!(
            self,
            ExposureKind::Aircraft | ExposureKind::Train | ExposureKind::Bus | ExposureKind::Ship
        )
    }

    /// Exposures through which a close contact passes the risk on to a secondary contact (§1.2:
    /// lived together, worked in the same enclosed space, ate or played together).
    pub fn counts_for_secondary(self) -> bool {
        matches!(
            self,
            ExposureKind::SharedHome
                | ExposureKind::SameEnclosedSpace
                | ExposureKind::SharedMealOrEntertainment
                | ExposureKind::Carer
                | ExposureKind::InvestigatorAssessed
        )
    }
}

/// Where the contact sat relative to the case on a vehicle (the vehicle rules of §1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VehiclePosition {
    /// Seat row of the case and of the contact (aircraft, ventilated bus).
    pub case_row: Option<i64>,
    pub contact_row: Option<i64>,
    /// Cabin crew serving the case's zone / driver and conductor / attendants of the carriage.
    pub crew_serving: bool,
    /// Sealed, air-conditioned train carriage or bus.
    pub sealed: bool,
    /// Same carriage (train), same cabin (ship).
    pub same_carriage: bool,
    /// Same soft-sleeper compartment (train).
    pub same_compartment: bool,
    /// Bays away from the case's bay in a hard-seat/hard-sleeper carriage (0 = the same bay).
    pub bay_offset: Option<i64>,
}

/// One exposure as the epidemiologist records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exposure {
    pub kind: ExposureKind,
    pub first_at: i64,
    pub last_at: i64,
    /// Had effective protection (有效防护): not a close contact.
    pub protected: bool,
    pub vehicle: VehiclePosition,
}

/// The answer of a classification, with the reason a person reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub category: ContactCategory,
    pub reason: String,
}

/// Why an exposure cannot be recorded at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExposureError {
    /// Last exposure before the first.
    Reversed,
    /// Exposure after the case was isolated: nobody can be exposed to an isolated case here.
    AfterIsolation { isolated_at: i64 },
    /// Exposure in the future.
    InFuture,
    /// A vehicle rule needs seat rows and none were given.
    MissingRows(ExposureKind),
    /// The regime identifies no secondary contacts.
    NoSecondaryInRegime(Regime),
    /// The exposure to a close contact happened outside the close contact's own window.
    SecondaryOutsideWindow,
}

impl ExposureError {
    pub fn message_zh(&self, format_time: impl Fn(i64) -> String) -> String {
        match self {
            ExposureError::Reversed => "末次接触时间早于首次接触时间，请核对".to_string(),
            ExposureError::AfterIsolation { isolated_at } => format!(
                "接触时间晚于病例被隔离的时间（{}），隔离后不会再有接触，请核对时间",
                format_time(*isolated_at)
            ),
            ExposureError::InFuture => "接触时间在将来，请核对".to_string(),
            ExposureError::MissingRows(kind) => format!(
                "{}的判定需要病例和接触者的座位排号（前后3排为密接）",
                kind.label_zh()
            ),
            ExposureError::NoSecondaryInRegime(regime) => {
                format!("{}不再判定密接的密接", regime.label_zh())
            }
            ExposureError::SecondaryOutsideWindow => {
                "次密接的接触须在该密接首次接触病例之后、被隔离之前".to_string()
            }
        }
    }
}

fn check_times(exposure: &Exposure, now: i64) -> Result<(), ExposureError> {
    if exposure.last_at < exposure.first_at {
        return Err(ExposureError::Reversed);
    }
    // Ten minutes of slack for clocks of the devices typing the time.
    if exposure.last_at > now + 600 {
        return Err(ExposureError::InFuture);
    }
    Ok(())
}

/// Classifies a person exposed to a case, by rule (§1.1). `window` is the case's look-back window.
pub fn classify_contact(
    rules: &TracingRules,
    window: &CaseWindow,
    exposure: &Exposure,
    now: i64,
) -> Result<Classification, ExposureError> {
    check_times(exposure, now)?;
    // Nobody meets an isolated case: an exposure that runs past the isolation is a typing mistake.
    if let Some(isolated_at) = window.closes_at
        && exposure.last_at > isolated_at + 600
    {
        return Err(ExposureError::AfterIsolation { isolated_at });
    }
    let general = |reason: String| {
        Ok(Classification {
            category: ContactCategory::General,
            reason,
        })
    };
    if exposure.last_at < window.opens_at {
        return general(format!(
            "末次接触在病例发病（或首次阳性采样）前{}天之前，不在追踪时间窗内（{}）",
            rules.look_back_days,
            rules.regime.label_zh()
        ));
    }
    if exposure.protected {
        return general("接触时采取了有效防护".to_string());
    }
    let close = |reason: String| {
        Ok(Classification {
            category: ContactCategory::Close,
            reason,
        })
    };
    if let Some(item) = exposure.kind.principle_item() {
        return close(format!(
            "{}（密切接触者判定原则第{}条），末次接触在追踪时间窗内，未采取有效防护",
            exposure.kind.label_zh(),
            item
        ));
    }
    let v = exposure.vehicle;
    let rows_apart = || match (v.case_row, v.contact_row) {
        (Some(a), Some(b)) => Some((a - b).abs()),
        _ => None,
    };
    match exposure.kind {
        ExposureKind::Aircraft => {
            if v.crew_serving {
                return close("为病例所在区域提供服务的机组人员（交通工具判定指引：飞机）".into());
            }
            match rows_apart() {
                None => Err(ExposureError::MissingRows(exposure.kind)),
                Some(d) if d <= 3 => close(format!(
                    "同机病例座位前后3排内（相距{d}排）（交通工具判定指引：飞机）"
                )),
                Some(d) => general(format!(
                    "同机但距病例{d}排，超出前后3排（交通工具判定指引：飞机）"
                )),
            }
        }
        ExposureKind::Train => {
            if v.crew_serving && (v.same_carriage || v.same_compartment) {
                return close("为病例所在车厢服务的乘务人员（交通工具判定指引：火车）".into());
            }
            if v.sealed && v.same_carriage {
                return close("全封闭空调列车同一车厢（交通工具判定指引：火车）".into());
            }
            if v.same_compartment {
                return close("同一软卧包厢（交通工具判定指引：火车）".into());
            }
            if !v.sealed && v.same_carriage && v.bay_offset.is_some_and(|b| b.abs() <= 1) {
                return close(
                    "非全封闭列车同一硬座/硬卧车厢的同格及前后邻格（交通工具判定指引：火车）"
                        .into(),
                );
            }
            general("同乘火车但不在判定范围内的车厢或隔间（一般接触者）".into())
        }
        ExposureKind::Bus => {
            if v.sealed {
                return close("全封闭空调客车，同车人员均为密接（交通工具判定指引：客车）".into());
            }
            if v.crew_serving {
                return close("非封闭客车的司机和售票员（交通工具判定指引：客车）".into());
            }
            match rows_apart() {
                None => Err(ExposureError::MissingRows(exposure.kind)),
                Some(d) if d <= 3 => close(format!(
                    "通风客车病例前后3排内（相距{d}排）（交通工具判定指引：客车）"
                )),
                Some(d) => general(format!(
                    "通风客车距病例{d}排，超出前后3排（交通工具判定指引：客车）"
                )),
            }
        }
        ExposureKind::Ship => {
            if v.same_carriage || v.crew_serving {
                close("同一舱室或为该舱室服务的船员（交通工具判定指引：轮船）".into())
            } else {
                general("同乘轮船但不在同一舱室（一般接触者）".into())
            }
        }
        ExposureKind::PublicPlace => {
            general("在商场、市场、车站等公共场所有暴露，但不符合密接判定标准".into())
        }
        // The nine principle items returned above.
        _ => close(exposure.kind.label_zh().to_string()),
    }
}

/// Classifies a person exposed to a close contact (§1.2): a secondary contact when the regime
/// identifies them, the exposure is of a kind that counts (lived, worked in an enclosed space, ate
/// or played together) and it fell between the close contact's first exposure to the case and the
/// close contact's isolation.
pub fn classify_secondary(
    rules: &TracingRules,
    close_first_exposure: i64,
    close_isolated_at: Option<i64>,
    exposure: &Exposure,
    now: i64,
) -> Result<Classification, ExposureError> {
    if !rules.identifies_secondary {
        return Err(ExposureError::NoSecondaryInRegime(rules.regime));
    }
    check_times(exposure, now)?;
    if exposure.last_at < close_first_exposure
        || close_isolated_at.is_some_and(|isolated| exposure.first_at > isolated)
    {
        return Err(ExposureError::SecondaryOutsideWindow);
    }
    if exposure.protected {
        return Ok(Classification {
            category: ContactCategory::General,
            reason: "与密接接触时采取了有效防护".to_string(),
        });
    }
    if exposure.kind.counts_for_secondary() {
        Ok(Classification {
            category: ContactCategory::Secondary,
            reason: format!(
                "与密接{}，在该密接首次接触病例之后、被隔离之前（{}）",
                exposure.kind.label_zh(),
                rules.regime.label_zh()
            ),
        })
    } else {
        Ok(Classification {
            category: ContactCategory::General,
            reason: format!(
                "与密接的接触方式（{}）不属于同住、同工作、同餐娱乐，不判为次密接",
                exposure.kind.label_zh()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;
    const DAY: i64 = 86_400;
    /// 2022-11-20 00:00 Beijing.
    const ONSET_DAY: i64 = 1_668_873_600;

    fn exposure(kind: ExposureKind, at: i64) -> Exposure {
        Exposure {
            kind,
            first_at: at - HOUR,
            last_at: at,
            protected: false,
            vehicle: VehiclePosition::default(),
        }
    }

    fn ninth_window() -> (TracingRules, CaseWindow) {
        let rules = Regime::Ninth.tracing_rules();
        let window = case_window(&rules, ONSET_DAY + 10 * HOUR, Some(ONSET_DAY + 2 * DAY));
        (rules, window)
    }

    #[test]
    fn a_family_member_in_the_window_is_a_close_contact_with_the_principle_item_as_reason() {
        let (rules, window) = ninth_window();
        let c = classify_contact(
            &rules,
            &window,
            &exposure(ExposureKind::SharedHome, ONSET_DAY),
            ONSET_DAY + 3 * DAY,
        )
        .unwrap();
        assert_eq!(c.category, ContactCategory::Close);
        assert!(c.reason.contains("第1条"), "{}", c.reason);
    }

    #[test]
    fn an_exposure_before_the_window_or_with_protection_is_a_general_contact() {
        let (rules, window) = ninth_window();
        let early = classify_contact(
            &rules,
            &window,
            &exposure(ExposureKind::SharedHome, ONSET_DAY - 5 * DAY),
            ONSET_DAY,
        )
        .unwrap();
        assert_eq!(early.category, ContactCategory::General);
        assert!(early.reason.contains("4天"));
        let mut protected = exposure(ExposureKind::Carer, ONSET_DAY);
        protected.protected = true;
        let c = classify_contact(&rules, &window, &protected, ONSET_DAY + DAY).unwrap();
        assert_eq!(c.category, ContactCategory::General);
        let market = classify_contact(
            &rules,
            &window,
            &exposure(ExposureKind::PublicPlace, ONSET_DAY),
            ONSET_DAY + DAY,
        )
        .unwrap();
        assert_eq!(market.category, ContactCategory::General);
    }

    #[test]
    fn an_exposure_after_the_case_was_isolated_or_in_the_future_is_refused() {
        let (rules, window) = ninth_window();
        let late = exposure(ExposureKind::SharedHome, ONSET_DAY + 3 * DAY);
        assert_eq!(
            classify_contact(&rules, &window, &late, ONSET_DAY + 4 * DAY),
            Err(ExposureError::AfterIsolation {
                isolated_at: ONSET_DAY + 2 * DAY
            })
        );
        let future = exposure(ExposureKind::SharedHome, ONSET_DAY + DAY);
        assert_eq!(
            classify_contact(&rules, &window, &future, ONSET_DAY),
            Err(ExposureError::InFuture)
        );
        let mut reversed = exposure(ExposureKind::SharedHome, ONSET_DAY);
        reversed.first_at = reversed.last_at + 1;
        assert_eq!(
            classify_contact(&rules, &window, &reversed, ONSET_DAY + DAY),
            Err(ExposureError::Reversed)
        );
    }

    #[test]
    fn on_an_aircraft_three_rows_either_side_and_the_serving_crew_are_close_contacts() {
        let (rules, window) = ninth_window();
        let seat = |case_row, contact_row| {
            let mut e = exposure(ExposureKind::Aircraft, ONSET_DAY);
            e.vehicle.case_row = Some(case_row);
            e.vehicle.contact_row = Some(contact_row);
            classify_contact(&rules, &window, &e, ONSET_DAY + DAY)
                .unwrap()
                .category
        };
        assert_eq!(seat(20, 23), ContactCategory::Close);
        assert_eq!(seat(20, 17), ContactCategory::Close);
        assert_eq!(seat(20, 24), ContactCategory::General);
        let mut no_rows = exposure(ExposureKind::Aircraft, ONSET_DAY);
        assert_eq!(
            classify_contact(&rules, &window, &no_rows, ONSET_DAY + DAY),
            Err(ExposureError::MissingRows(ExposureKind::Aircraft))
        );
        no_rows.vehicle.crew_serving = true;
        assert_eq!(
            classify_contact(&rules, &window, &no_rows, ONSET_DAY + DAY)
                .unwrap()
                .category,
            ContactCategory::Close
        );
    }

    #[test]
    fn a_sealed_carriage_or_bus_makes_everyone_aboard_a_close_contact() {
        let (rules, window) = ninth_window();
        let mut train = exposure(ExposureKind::Train, ONSET_DAY);
        train.vehicle.same_carriage = true;
        train.vehicle.sealed = true;
        assert_eq!(
            classify_contact(&rules, &window, &train, ONSET_DAY + DAY)
                .unwrap()
                .category,
            ContactCategory::Close
        );
        train.vehicle.sealed = false;
        train.vehicle.bay_offset = Some(3);
        assert_eq!(
            classify_contact(&rules, &window, &train, ONSET_DAY + DAY)
                .unwrap()
                .category,
            ContactCategory::General
        );
        train.vehicle.bay_offset = Some(1);
        assert_eq!(
            classify_contact(&rules, &window, &train, ONSET_DAY + DAY)
                .unwrap()
                .category,
            ContactCategory::Close
        );
        let mut bus = exposure(ExposureKind::Bus, ONSET_DAY);
        bus.vehicle.sealed = true;
        assert_eq!(
            classify_contact(&rules, &window, &bus, ONSET_DAY + DAY)
                .unwrap()
                .category,
            ContactCategory::Close
        );
        bus.vehicle.sealed = false;
        bus.vehicle.case_row = Some(2);
        bus.vehicle.contact_row = Some(9);
        assert_eq!(
            classify_contact(&rules, &window, &bus, ONSET_DAY + DAY)
                .unwrap()
                .category,
            ContactCategory::General
        );
    }

    #[test]
    fn secondary_contacts_need_the_close_contacts_window_and_are_not_identified_under_the_twenty_measures()
     {
        let rules = Regime::Ninth.tracing_rules();
        let e = exposure(ExposureKind::SharedHome, ONSET_DAY + DAY);
        let c = classify_secondary(
            &rules,
            ONSET_DAY,
            Some(ONSET_DAY + 2 * DAY),
            &e,
            ONSET_DAY + 3 * DAY,
        )
        .unwrap();
        assert_eq!(c.category, ContactCategory::Secondary);
        let before = exposure(ExposureKind::SharedHome, ONSET_DAY - DAY);
        assert_eq!(
            classify_secondary(&rules, ONSET_DAY, None, &before, ONSET_DAY + 3 * DAY),
            Err(ExposureError::SecondaryOutsideWindow)
        );
        let lift = exposure(ExposureKind::PublicPlace, ONSET_DAY + DAY);
        assert_eq!(
            classify_secondary(&rules, ONSET_DAY, None, &lift, ONSET_DAY + 3 * DAY)
                .unwrap()
                .category,
            ContactCategory::General
        );
        let twenty = Regime::Twenty.tracing_rules();
        assert_eq!(
            classify_secondary(&twenty, ONSET_DAY, None, &e, ONSET_DAY + 3 * DAY),
            Err(ExposureError::NoSecondaryInRegime(Regime::Twenty))
        );
    }
}
