//! Fever clinics (发热门诊/发热诊室, domain-rules.md §7.2): the closed loop triage → reception →
//! screening → observation → referral or release, and the rule of when a patient may leave.
//!
//! 首诊负责制: nobody is refused at registration — a patient without a valid ID is registered by
//! name and phone and flagged. Every febrile patient gets a PCR swab and a blood count; a patient
//! leaves before the PCR result only where the clinic's risk level allows it (Putian: a low-risk
//! clinic lets a green-code patient without travel history go home and wait; otherwise everyone
//! stays in observation until the result, as in Shenzhen). A positive (antigen at the clinic or the
//! PCR) is referred to a designated hospital by ambulance (§8.5), never released.

use crate::lab_result::TestResult;

crate::coded_enum! {
    /// A clinic's kind: a hospital's fever clinic or a township health centre's fever room.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ClinicKind {
        Clinic => "clinic", "发热门诊",
        Room => "room", "发热诊室",
    }
}

crate::coded_enum! {
    /// A clinic's risk level, which decides who may wait for the PCR result at home.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ClinicRisk {
        /// Green code and no travel history: may go home and wait for the result.
        Low => "low", "低风险（绿码且无旅居史者可居家等待结果）",
        /// Everyone stays until the PCR result is back.
        High => "high", "高风险（全部留观至核酸结果）",
    }
}

crate::coded_enum! {
    /// Where a patient's visit stands. Referred and released are final.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum VisitStage {
        Triage => "triage", "分诊",
        Reception => "reception", "接诊",
        Screening => "screening", "筛查",
        Observation => "observation", "留观",
        Referred => "referred", "已转诊",
        Released => "released", "已离院",
    }
}

crate::coded_enum! {
    /// A blood count's reading (血常规).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum BloodCount {
        Normal => "normal", "血常规正常",
        Abnormal => "abnormal", "血常规异常（白细胞或淋巴细胞减少等）",
    }
}

impl VisitStage {
    /// Referred or released: nothing more happens at the clinic.
    pub fn is_final(self) -> bool {
        matches!(self, VisitStage::Referred | VisitStage::Released)
    }
}

/// Longest designated hospital name (转诊医院) and outcome note.
pub const HOSPITAL_MAX_CHARS: usize = 60;
pub const NOTE_MAX_CHARS: usize = 200;

/// The rule of the clinic's risk level: may this patient leave before the PCR result?
pub fn may_leave_before_result(risk: ClinicRisk, green_code: bool, travel_history: bool) -> bool {
    match risk {
        ClinicRisk::Low => green_code && !travel_history,
        ClinicRisk::High => false,
    }
}

/// What the store loaded of a visit, with its clinic's risk level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitState {
    pub stage: VisitStage,
    pub risk: ClinicRisk,
    pub green_code: bool,
    pub travel_history: bool,
    pub antigen: Option<TestResult>,
    /// A PCR swab was taken (its tube recorded).
    pub pcr_taken: bool,
    /// The PCR result: the lab's (through the clinic's tube) or recorded by the clinic.
    pub pcr: Option<TestResult>,
    pub blood: Option<BloodCount>,
}

impl VisitState {
    /// Known positive: antigen at the clinic or the PCR.
    pub fn positive(&self) -> bool {
        self.antigen == Some(TestResult::Positive) || self.pcr == Some(TestResult::Positive)
    }

    /// A swab taken and no result yet (counts as 待结果).
    pub fn awaiting_result(&self) -> bool {
        self.pcr_taken && self.pcr.is_none()
    }
}

/// What a member of staff does to a visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitInput {
    /// 接诊: a doctor takes the patient from triage.
    Receive,
    /// 开始筛查.
    Screen,
    Antigen(TestResult),
    /// The PCR swab was taken (the tube bound through mass testing, or recorded).
    PcrTaken,
    PcrResult(TestResult),
    Blood(BloodCount),
    /// 留观: kept in the observation room until the result.
    Observe,
    /// 离院.
    Release,
    /// 转诊 to a designated hospital.
    Refer {
        hospital: String,
    },
}

/// What a transition changes. The store writes the stage and the fact together, moves the
/// counters by the flags, and writes the sentinel event when `newly_positive`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitChange {
    pub to: VisitStage,
    /// This input made the patient known positive (it was not before).
    pub newly_positive: bool,
    /// The patient entered (+1) or left (-1) observation.
    pub observation_delta: i64,
    /// The patient started (+1) or stopped (-1) awaiting a PCR result.
    pub awaiting_delta: i64,
    /// Words for the visit's log and the audit record.
    pub note: String,
    /// When it happened (unix seconds): the stage's time.
    pub at: i64,
}

/// Why a transition is refused; `Display` is the Chinese message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VisitRefusal {
    #[error("该患者{0}，不能再变更")]
    Final(&'static str),
    #[error("当前环节是“{current}”，不能{wanted}")]
    WrongStage {
        current: &'static str,
        wanted: &'static str,
    },
    #[error("{0}已记录，不能重复记录")]
    AlreadyRecorded(&'static str),
    #[error("尚未采集核酸，不能{0}：所有发热患者须核酸检测")]
    NoSwab(&'static str),
    #[error("阳性患者不得离院，须转运至定点医院")]
    PositiveMustBeReferred,
    #[error("核酸结果无效，须重新采样，不能离院")]
    InvalidResult,
    #[error("核酸结果未出，本诊室规则不允许离院：{0}，须留观至核酸结果")]
    ResultPending(&'static str),
    #[error("转诊医院：{0}")]
    BadHospital(&'static str),
}

fn stage_is(
    state: &VisitState,
    allowed: &[VisitStage],
    wanted: &'static str,
) -> Result<(), VisitRefusal> {
    if state.stage.is_final() {
        return Err(VisitRefusal::Final(state.stage.label_zh()));
    }
    if allowed.contains(&state.stage) {
        Ok(())
    } else {
        Err(VisitRefusal::WrongStage {
            current: state.stage.label_zh(),
            wanted,
        })
    }
}

const SCREENING: &[VisitStage] = &[VisitStage::Screening, VisitStage::Observation];

/// Why a patient may not wait at home: the words of the refusal.
fn held_because(state: &VisitState) -> &'static str {
    match state.risk {
        ClinicRisk::High => "本诊室为高风险诊室，全部患者留观",
        ClinicRisk::Low if state.travel_history => "患者有旅居史",
        ClinicRisk::Low => "患者非绿码",
    }
}

/// The closed loop's one rule: what `input` does to a visit in `state`. Pure.
pub fn transition(
    state: &VisitState,
    input: &VisitInput,
    now: i64,
) -> Result<VisitChange, VisitRefusal> {
    let keep = |note: String| VisitChange {
        to: state.stage,
        newly_positive: false,
        observation_delta: 0,
        awaiting_delta: 0,
        note,
        at: now,
    };
    let leaving_observation = if state.stage == VisitStage::Observation {
        -1
    } else {
        0
    };
    match input {
        VisitInput::Receive => {
            stage_is(state, &[VisitStage::Triage], "接诊")?;
            Ok(VisitChange {
                to: VisitStage::Reception,
                ..keep("接诊".into())
            })
        }
        VisitInput::Screen => {
            stage_is(state, &[VisitStage::Reception], "开始筛查")?;
            Ok(VisitChange {
                to: VisitStage::Screening,
                ..keep("开始筛查".into())
            })
        }
        VisitInput::Antigen(result) => {
            stage_is(state, SCREENING, "记录抗原结果")?;
            if state.antigen.is_some() {
                return Err(VisitRefusal::AlreadyRecorded("抗原结果"));
            }
            let positive = *result == TestResult::Positive;
            Ok(VisitChange {
                newly_positive: positive && !state.positive(),
                ..keep(format!("抗原{}", result.label_zh()))
            })
        }
        VisitInput::PcrTaken => {
            stage_is(state, SCREENING, "采集核酸")?;
            // An invalid result asks for a new swab: the new tube replaces it.
            if state.pcr_taken && state.pcr != Some(TestResult::Invalid) {
                return Err(VisitRefusal::AlreadyRecorded("核酸采样"));
            }
            Ok(VisitChange {
                awaiting_delta: 1,
                ..keep("已采集核酸".into())
            })
        }
        VisitInput::PcrResult(result) => {
            // A result belongs to the record whatever the stage: it may come after the
            // patient was referred or went home to wait.
            if !state.pcr_taken {
                return Err(VisitRefusal::NoSwab("记录核酸结果"));
            }
            if state.pcr.is_some() {
                return Err(VisitRefusal::AlreadyRecorded("核酸结果"));
            }
            let positive = *result == TestResult::Positive;
            Ok(VisitChange {
                newly_positive: positive && !state.positive(),
                awaiting_delta: -1,
                ..keep(format!("核酸{}", result.label_zh()))
            })
        }
        VisitInput::Blood(blood) => {
            stage_is(state, SCREENING, "记录血常规")?;
            if state.blood.is_some() {
                return Err(VisitRefusal::AlreadyRecorded("血常规"));
            }
            Ok(keep(blood.label_zh().into()))
        }
        VisitInput::Observe => {
            stage_is(state, &[VisitStage::Screening], "转入留观")?;
            if !state.pcr_taken {
                return Err(VisitRefusal::NoSwab("转入留观"));
            }
            Ok(VisitChange {
                to: VisitStage::Observation,
                observation_delta: 1,
                ..keep("转入留观".into())
            })
        }
        VisitInput::Release => {
            stage_is(state, SCREENING, "离院")?;
            if state.positive() {
                return Err(VisitRefusal::PositiveMustBeReferred);
            }
            if !state.pcr_taken {
                return Err(VisitRefusal::NoSwab("离院"));
            }
            let note = match state.pcr {
                Some(TestResult::Invalid) => return Err(VisitRefusal::InvalidResult),
                Some(_) => "核酸阴性，离院".to_string(),
                None if may_leave_before_result(
                    state.risk,
                    state.green_code,
                    state.travel_history,
                ) =>
                {
                    "低风险（绿码、无旅居史），居家等待核酸结果".to_string()
                }
                None => return Err(VisitRefusal::ResultPending(held_because(state))),
            };
            Ok(VisitChange {
                to: VisitStage::Released,
                observation_delta: leaving_observation,
                ..keep(note)
            })
        }
        VisitInput::Refer { hospital } => {
            stage_is(
                state,
                &[
                    VisitStage::Reception,
                    VisitStage::Screening,
                    VisitStage::Observation,
                ],
                "转诊",
            )?;
            let hospital = hospital.trim();
            if hospital.is_empty() {
                return Err(VisitRefusal::BadHospital("请填写转诊的定点医院"));
            }
            if hospital.chars().count() > HOSPITAL_MAX_CHARS {
                return Err(VisitRefusal::BadHospital("医院名称最多60字"));
            }
            Ok(VisitChange {
                to: VisitStage::Referred,
                observation_delta: leaving_observation,
                ..keep(format!(
                    "转运至定点医院：{hospital}（120负压救护车，一车一人）"
                ))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TestResult::{Invalid, Negative, Positive};
    use VisitStage::*;

    fn at(stage: VisitStage) -> VisitState {
        VisitState {
            stage,
            risk: ClinicRisk::High,
            green_code: true,
            travel_history: false,
            antigen: None,
            pcr_taken: false,
            pcr: None,
            blood: None,
        }
    }

    fn swabbed(stage: VisitStage, pcr: Option<TestResult>) -> VisitState {
        VisitState {
            pcr_taken: true,
            pcr,
            ..at(stage)
        }
    }

    fn low(state: VisitState, green: bool, travel: bool) -> VisitState {
        VisitState {
            risk: ClinicRisk::Low,
            green_code: green,
            travel_history: travel,
            ..state
        }
    }

    fn refer() -> VisitInput {
        VisitInput::Refer {
            hospital: "石家庄市第五医院".into(),
        }
    }

    #[test]
    fn the_risk_rule() {
        let table = [
            (ClinicRisk::Low, true, false, true),
            (ClinicRisk::Low, false, false, false),
            (ClinicRisk::Low, true, true, false),
            (ClinicRisk::High, true, false, false),
            (ClinicRisk::High, false, true, false),
        ];
        for (risk, green, travel, may) in table {
            assert_eq!(
                may_leave_before_result(risk, green, travel),
                may,
                "{risk:?} {green} {travel}"
            );
        }
    }

    #[test]
    fn the_loop_table() {
        // (state, input, Ok(stage, newly positive, observation Δ, awaiting Δ) or Err(words))
        type Expect = Result<(VisitStage, bool, i64, i64), &'static str>;
        let table: Vec<(VisitState, VisitInput, Expect)> = vec![
            (
                at(Triage),
                VisitInput::Receive,
                Ok((Reception, false, 0, 0)),
            ),
            (at(Reception), VisitInput::Receive, Err("不能接诊")),
            (at(Triage), VisitInput::Screen, Err("当前环节是“分诊”")),
            (
                at(Reception),
                VisitInput::Screen,
                Ok((Screening, false, 0, 0)),
            ),
            (
                at(Screening),
                VisitInput::Antigen(Negative),
                Ok((Screening, false, 0, 0)),
            ),
            (
                at(Screening),
                VisitInput::Antigen(Positive),
                Ok((Screening, true, 0, 0)),
            ),
            (
                VisitState {
                    antigen: Some(Negative),
                    ..at(Screening)
                },
                VisitInput::Antigen(Positive),
                Err("抗原结果已记录"),
            ),
            (
                at(Reception),
                VisitInput::Antigen(Negative),
                Err("不能记录抗原结果"),
            ),
            (
                at(Screening),
                VisitInput::PcrTaken,
                Ok((Screening, false, 0, 1)),
            ),
            (
                swabbed(Screening, None),
                VisitInput::PcrTaken,
                Err("核酸采样已记录"),
            ),
            (
                swabbed(Observation, Some(Invalid)),
                VisitInput::PcrTaken,
                Ok((Observation, false, 0, 1)),
            ),
            (
                at(Screening),
                VisitInput::PcrResult(Negative),
                Err("尚未采集核酸"),
            ),
            (
                swabbed(Observation, None),
                VisitInput::PcrResult(Negative),
                Ok((Observation, false, 0, -1)),
            ),
            (
                swabbed(Observation, None),
                VisitInput::PcrResult(Positive),
                Ok((Observation, true, 0, -1)),
            ),
            (
                VisitState {
                    antigen: Some(Positive),
                    ..swabbed(Observation, None)
                },
                VisitInput::PcrResult(Positive),
                Ok((Observation, false, 0, -1)),
            ),
            (
                swabbed(Released, None),
                VisitInput::PcrResult(Negative),
                Ok((Released, false, 0, -1)),
            ),
            (
                swabbed(Referred, None),
                VisitInput::PcrResult(Negative),
                Ok((Referred, false, 0, -1)),
            ),
            (
                swabbed(Observation, Some(Negative)),
                VisitInput::PcrResult(Positive),
                Err("核酸结果已记录"),
            ),
            (
                at(Screening),
                VisitInput::Blood(BloodCount::Normal),
                Ok((Screening, false, 0, 0)),
            ),
            (
                VisitState {
                    blood: Some(BloodCount::Normal),
                    ..at(Screening)
                },
                VisitInput::Blood(BloodCount::Abnormal),
                Err("血常规已记录"),
            ),
            (at(Screening), VisitInput::Observe, Err("尚未采集核酸")),
            (
                swabbed(Screening, None),
                VisitInput::Observe,
                Ok((Observation, false, 1, 0)),
            ),
            (
                swabbed(Observation, None),
                VisitInput::Observe,
                Err("不能转入留观"),
            ),
            // Release: the result, the rule, a positive.
            (
                swabbed(Observation, Some(Negative)),
                VisitInput::Release,
                Ok((Released, false, -1, 0)),
            ),
            (
                swabbed(Screening, Some(Negative)),
                VisitInput::Release,
                Ok((Released, false, 0, 0)),
            ),
            (
                swabbed(Observation, None),
                VisitInput::Release,
                Err("本诊室为高风险诊室"),
            ),
            (
                low(swabbed(Screening, None), true, false),
                VisitInput::Release,
                Ok((Released, false, 0, 0)),
            ),
            (
                low(swabbed(Screening, None), false, false),
                VisitInput::Release,
                Err("患者非绿码"),
            ),
            (
                low(swabbed(Screening, None), true, true),
                VisitInput::Release,
                Err("患者有旅居史"),
            ),
            (
                low(at(Screening), true, false),
                VisitInput::Release,
                Err("尚未采集核酸"),
            ),
            (
                swabbed(Observation, Some(Positive)),
                VisitInput::Release,
                Err("阳性患者不得离院"),
            ),
            (
                VisitState {
                    antigen: Some(Positive),
                    ..low(swabbed(Screening, None), true, false)
                },
                VisitInput::Release,
                Err("阳性患者不得离院"),
            ),
            (
                swabbed(Observation, Some(Invalid)),
                VisitInput::Release,
                Err("须重新采样"),
            ),
            (at(Triage), VisitInput::Release, Err("不能离院")),
            (at(Released), VisitInput::Release, Err("已离院")),
            // Referral.
            (
                swabbed(Observation, Some(Positive)),
                refer(),
                Ok((Referred, false, -1, 0)),
            ),
            (at(Reception), refer(), Ok((Referred, false, 0, 0))),
            (at(Triage), refer(), Err("不能转诊")),
            (
                at(Screening),
                VisitInput::Refer {
                    hospital: "  ".into(),
                },
                Err("请填写转诊的定点医院"),
            ),
            (at(Referred), refer(), Err("已转诊")),
        ];
        for (state, input, expect) in table {
            let got = transition(&state, &input, 100);
            match (got, expect) {
                (Ok(change), Ok((to, positive, obs, awaiting))) => {
                    assert_eq!(
                        (
                            change.to,
                            change.newly_positive,
                            change.observation_delta,
                            change.awaiting_delta
                        ),
                        (to, positive, obs, awaiting),
                        "{state:?} {input:?}"
                    );
                }
                (Err(refusal), Err(words)) => {
                    let message = refusal.to_string();
                    assert!(message.contains(words), "{state:?} {input:?}: {message}");
                }
                (got, expect) => panic!("{state:?} {input:?}: got {got:?}, expected {expect:?}"),
            }
        }
    }

    #[test]
    fn a_referral_says_the_ambulance() {
        let change = transition(&swabbed(Observation, Some(Positive)), &refer(), 100).unwrap();
        assert_eq!(change.at, 100);
        assert!(
            change.note.contains("转运至定点医院：石家庄市第五医院"),
            "{}",
            change.note
        );
    }
}
