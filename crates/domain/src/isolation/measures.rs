//! A measure's state changes (管控状态): [`transition`] decides whether an input may move a measure
//! and where to; [`permits`] whether work on a person fits their state. Refusals carry the words
//! the staff read.

use std::fmt;

use crate::person_event;

use super::*;

/// What a change needs to know of a measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasureState {
    pub status: MeasureStatus,
    /// A room of a site is assigned (allocated or occupied).
    pub has_room: bool,
}

/// What may happen to a measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasureInput {
    /// A room is assigned, by hand or by the allocation (安置).
    AssignRoom,
    /// The person arrived and is in their room (入住).
    CheckIn,
    /// A test task's result. `release_due`: with this result every test up to the end of the
    /// period is negative and the period is over (`release_check` passed).
    TestResult {
        outcome: TestOutcome,
        release_due: bool,
    },
    /// Staff end the phase the person is in, its period over with every test negative (解除).
    /// `home_phase_follows`: the plan has a home phase after the site's.
    Release { home_phase_follows: bool },
    /// Investigation withdrew the contact the measure was for (no `measure_released` event: that
    /// means "every test negative").
    ContactCleared,
    /// The person became a case: out of their room, waiting for a hospital.
    CaseReported,
    /// The case was discharged (出院): a wait for an ambulance ends (nobody is to be driven to
    /// hospital any more), and a patient in hospital leaves it — the open admission closes at the
    /// discharge time and the bed is free. No `measure_released`: that means "every test negative".
    /// One fact, one door: the discharge is recorded on the case and reaches the hospital here.
    CaseDischarged,
}

/// A change to write: the status the measure moves to (compare-and-set against `from`) and what
/// goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasureTransition {
    pub from: MeasureStatus,
    pub to: MeasureStatus,
    pub at: i64,
    /// Room → cleaning; the measure keeps the site but not the room.
    pub leave_room: bool,
    /// The open hospital admission closes (出院) at `at`.
    pub leave_hospital: bool,
    pub checked_in: bool,
    pub released: bool,
    /// The person event to write (`person_event::MEASURE_POSITIVE` or `MEASURE_RELEASED`).
    pub event: Option<&'static str>,
}

/// Why a measure may not change (or work may not be done) now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotAwaitingPlacement(MeasureStatus),
    NoRoomToCheckInto(MeasureStatus),
    NoMoreTests(MeasureStatus),
    /// Only a person in a site or at home can be released here.
    NotReleasable(MeasureStatus),
    /// A withdrawn contact's measure is already over or handed to a hospital: nothing to end.
    NothingToEnd(MeasureStatus),
    AlreadyAwaitingHospital,
    NotCentralised(MeasureStatus),
    NotInSite(MeasureStatus),
    NotAtHome(MeasureStatus),
}

impl Refusal {
    /// The words the staff read.
    pub fn message_zh(&self) -> String {
        match self {
            Refusal::NotAwaitingPlacement(s) => format!("该人员{}，不是待安置", s.label_zh()),
            Refusal::NoRoomToCheckInto(s) => {
                format!("该人员{}，没有分配房间，不能入住", s.label_zh())
            }
            Refusal::NoMoreTests(s) => {
                format!("该人员{}，不再录入管控期检测结果", s.label_zh())
            }
            Refusal::NotReleasable(s) => format!("{}的人员不能在此解除", s.label_zh()),
            Refusal::NothingToEnd(s) => format!("该人员{}，没有可结束的管控", s.label_zh()),
            Refusal::AlreadyAwaitingHospital => {
                format!("该人员已{}", MeasureStatus::AwaitingHospital.label_zh())
            }
            Refusal::NotCentralised(s) => {
                format!("该人员{}，只有集中隔离的人员才安排陪护", s.label_zh())
            }
            Refusal::NotInSite(s) => format!("该人员{}，不在隔离点内", s.label_zh()),
            Refusal::NotAtHome(s) => format!("该人员{}，不在居家管控中", s.label_zh()),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_zh())
    }
}

/// Where `input` moves a measure in `state`, at `now`.
pub fn transition(
    state: MeasureState,
    input: MeasureInput,
    now: i64,
) -> Result<MeasureTransition, Refusal> {
    use MeasureStatus as S;
    let from = state.status;
    let to = |to: MeasureStatus| MeasureTransition {
        from,
        to,
        at: now,
        leave_room: false,
        leave_hospital: false,
        checked_in: false,
        released: false,
        event: None,
    };
    match input {
        MeasureInput::AssignRoom => match from {
            S::AwaitingPlacement => Ok(to(S::Allocated)),
            _ => Err(Refusal::NotAwaitingPlacement(from)),
        },
        MeasureInput::CheckIn => match from {
            S::Allocated if state.has_room => Ok(MeasureTransition {
                checked_in: true,
                ..to(S::InSite)
            }),
            _ => Err(Refusal::NoRoomToCheckInto(from)),
        },
        MeasureInput::TestResult {
            outcome,
            release_due,
        } => {
            if !from.is_open() || from == S::AwaitingHospital {
                return Err(Refusal::NoMoreTests(from));
            }
            Ok(match outcome {
                // A positive leaves the room at once, whatever the phase: the room is cleaned.
                TestOutcome::Positive => MeasureTransition {
                    leave_room: true,
                    leave_hospital: false,
                    event: Some(person_event::MEASURE_POSITIVE),
                    ..to(S::AwaitingHospital)
                },
                // The last negative at home, the period over, ends the measure; in a site the
                // staff release by hand (the person must be driven home).
                TestOutcome::Negative if from == S::AtHome && release_due => MeasureTransition {
                    released: true,
                    event: Some(person_event::MEASURE_RELEASED),
                    ..to(S::Released)
                },
                TestOutcome::Negative => to(from),
            })
        }
        MeasureInput::Release { home_phase_follows } => {
            let next = match from {
                S::InSite if home_phase_follows => S::AtHome,
                S::InSite | S::AtHome => S::Released,
                _ => return Err(Refusal::NotReleasable(from)),
            };
            let released = next == S::Released;
            Ok(MeasureTransition {
                leave_room: state.has_room,
                released,
                event: released.then_some(person_event::MEASURE_RELEASED),
                ..to(next)
            })
        }
        MeasureInput::ContactCleared => match from {
            S::AwaitingPlacement | S::Allocated | S::InSite | S::AtHome => Ok(MeasureTransition {
                leave_room: state.has_room,
                released: true,
                ..to(S::Released)
            }),
            _ => Err(Refusal::NothingToEnd(from)),
        },
        MeasureInput::CaseReported => match from {
            S::AwaitingHospital => Err(Refusal::AlreadyAwaitingHospital),
            _ => Ok(MeasureTransition {
                leave_room: true,
                leave_hospital: false,
                ..to(S::AwaitingHospital)
            }),
        },
        MeasureInput::CaseDischarged => match from {
            S::AwaitingHospital => Ok(MeasureTransition {
                released: true,
                ..to(S::Released)
            }),
            S::Hospitalised => Ok(MeasureTransition {
                released: true,
                leave_hospital: true,
                ..to(S::Released)
            }),
            _ => Err(Refusal::NothingToEnd(from)),
        },
    }
}

/// Work on a person that does not change their measure but needs them in the right state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasureWork {
    /// A carer stays with the person in a site.
    Carer,
    /// A temperature taken in a site.
    SiteTemperature,
    /// A check-in or a door alarm at home.
    AtHome,
}

/// Whether `work` fits a measure in `status`.
pub fn permits(status: MeasureStatus, work: MeasureWork) -> Result<(), Refusal> {
    use MeasureStatus as S;
    match (work, status) {
        (MeasureWork::Carer, S::Allocated | S::InSite) => Ok(()),
        (MeasureWork::Carer, _) => Err(Refusal::NotCentralised(status)),
        (MeasureWork::SiteTemperature, S::InSite) => Ok(()),
        (MeasureWork::SiteTemperature, _) => Err(Refusal::NotInSite(status)),
        (MeasureWork::AtHome, S::AtHome) => Ok(()),
        (MeasureWork::AtHome, _) => Err(Refusal::NotAtHome(status)),
    }
}

crate::coded_enum! {
    // Serde as written: JSON says the variant's name (`AwaitingPlacement`), not its code.
    serde = as_written;
    /// A person's measure state (管控状态).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    pub enum MeasureStatus {
        /// Waiting for a room in a site (待安置).
        AwaitingPlacement => "awaiting_placement", "待安置",
        /// A room is assigned; waiting for the coach (待转运入住).
        Allocated => "allocated", "已分配待转运",
        /// Checked in at the site (在隔离点).
        InSite => "in_site", "集中隔离中",
        /// At home (居家隔离/健康监测).
        AtHome => "at_home", "居家管控中",
        /// Positive or a case: waiting for the ambulance to a hospital (待转运定点医院).
        AwaitingHospital => "awaiting_hospital", "待转运定点医院",
        /// Admitted to a hospital or fangcang (已收治).
        Hospitalised => "hospitalised", "已收治",
        /// Ended with every test negative (已解除).
        Released => "released", "已解除",
    }
}

impl MeasureStatus {
    /// Still under the measure (not released nor handed to a hospital).
    pub fn is_open(self) -> bool {
        !matches!(self, MeasureStatus::Released | MeasureStatus::Hospitalised)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MeasureStatus as S;

    const NOW: i64 = 1_000;

    fn state(status: MeasureStatus, has_room: bool) -> MeasureState {
        MeasureState { status, has_room }
    }

    fn change(from: MeasureStatus, to: MeasureStatus) -> MeasureTransition {
        MeasureTransition {
            from,
            to,
            at: NOW,
            leave_room: false,
            leave_hospital: false,
            checked_in: false,
            released: false,
            event: None,
        }
    }

    #[test]
    fn every_input_from_every_status_has_its_row() {
        let negative = |release_due| MeasureInput::TestResult {
            outcome: TestOutcome::Negative,
            release_due,
        };
        let positive = MeasureInput::TestResult {
            outcome: TestOutcome::Positive,
            release_due: false,
        };
        let released = |from, leave_room| MeasureTransition {
            leave_room,
            released: true,
            event: Some(person_event::MEASURE_RELEASED),
            ..change(from, S::Released)
        };
        let to_hospital = |from| MeasureTransition {
            leave_room: true,
            leave_hospital: false,
            event: Some(person_event::MEASURE_POSITIVE),
            ..change(from, S::AwaitingHospital)
        };
        let cleared = |from, leave_room| MeasureTransition {
            leave_room,
            released: true,
            ..change(from, S::Released)
        };
        let case = |from| MeasureTransition {
            leave_room: true,
            leave_hospital: false,
            ..change(from, S::AwaitingHospital)
        };
        let home_follows = MeasureInput::Release {
            home_phase_follows: true,
        };
        let last_phase = MeasureInput::Release {
            home_phase_follows: false,
        };
        let rows: Vec<(
            MeasureState,
            MeasureInput,
            Result<MeasureTransition, Refusal>,
        )> = vec![
            // 安置
            (
                state(S::AwaitingPlacement, false),
                MeasureInput::AssignRoom,
                Ok(change(S::AwaitingPlacement, S::Allocated)),
            ),
            (
                state(S::Allocated, true),
                MeasureInput::AssignRoom,
                Err(Refusal::NotAwaitingPlacement(S::Allocated)),
            ),
            (
                state(S::AtHome, false),
                MeasureInput::AssignRoom,
                Err(Refusal::NotAwaitingPlacement(S::AtHome)),
            ),
            // 入住
            (
                state(S::Allocated, true),
                MeasureInput::CheckIn,
                Ok(MeasureTransition {
                    checked_in: true,
                    ..change(S::Allocated, S::InSite)
                }),
            ),
            (
                state(S::Allocated, false),
                MeasureInput::CheckIn,
                Err(Refusal::NoRoomToCheckInto(S::Allocated)),
            ),
            (
                state(S::InSite, true),
                MeasureInput::CheckIn,
                Err(Refusal::NoRoomToCheckInto(S::InSite)),
            ),
            (
                state(S::AwaitingPlacement, false),
                MeasureInput::CheckIn,
                Err(Refusal::NoRoomToCheckInto(S::AwaitingPlacement)),
            ),
            // Test results
            (state(S::InSite, true), positive, Ok(to_hospital(S::InSite))),
            (
                state(S::AtHome, false),
                positive,
                Ok(to_hospital(S::AtHome)),
            ),
            (
                state(S::AwaitingPlacement, false),
                positive,
                Ok(to_hospital(S::AwaitingPlacement)),
            ),
            (
                state(S::InSite, true),
                negative(true),
                Ok(change(S::InSite, S::InSite)),
            ),
            (
                state(S::AtHome, false),
                negative(false),
                Ok(change(S::AtHome, S::AtHome)),
            ),
            (
                state(S::AtHome, false),
                negative(true),
                Ok(released(S::AtHome, false)),
            ),
            (
                state(S::AwaitingHospital, false),
                negative(false),
                Err(Refusal::NoMoreTests(S::AwaitingHospital)),
            ),
            (
                state(S::Hospitalised, false),
                positive,
                Err(Refusal::NoMoreTests(S::Hospitalised)),
            ),
            (
                state(S::Released, false),
                negative(true),
                Err(Refusal::NoMoreTests(S::Released)),
            ),
            // 解除
            (
                state(S::InSite, true),
                home_follows,
                Ok(MeasureTransition {
                    leave_room: true,
                    leave_hospital: false,
                    ..change(S::InSite, S::AtHome)
                }),
            ),
            (
                state(S::InSite, true),
                last_phase,
                Ok(released(S::InSite, true)),
            ),
            (
                state(S::AtHome, false),
                home_follows,
                Ok(released(S::AtHome, false)),
            ),
            (
                state(S::Allocated, true),
                last_phase,
                Err(Refusal::NotReleasable(S::Allocated)),
            ),
            (
                state(S::AwaitingHospital, false),
                last_phase,
                Err(Refusal::NotReleasable(S::AwaitingHospital)),
            ),
            // A withdrawn contact
            (
                state(S::AwaitingPlacement, false),
                MeasureInput::ContactCleared,
                Ok(cleared(S::AwaitingPlacement, false)),
            ),
            (
                state(S::Allocated, true),
                MeasureInput::ContactCleared,
                Ok(cleared(S::Allocated, true)),
            ),
            (
                state(S::InSite, true),
                MeasureInput::ContactCleared,
                Ok(cleared(S::InSite, true)),
            ),
            (
                state(S::AtHome, false),
                MeasureInput::ContactCleared,
                Ok(cleared(S::AtHome, false)),
            ),
            (
                state(S::AwaitingHospital, false),
                MeasureInput::ContactCleared,
                Err(Refusal::NothingToEnd(S::AwaitingHospital)),
            ),
            (
                state(S::Hospitalised, false),
                MeasureInput::ContactCleared,
                Err(Refusal::NothingToEnd(S::Hospitalised)),
            ),
            (
                state(S::Released, false),
                MeasureInput::ContactCleared,
                Err(Refusal::NothingToEnd(S::Released)),
            ),
            // A case
            (
                state(S::InSite, true),
                MeasureInput::CaseReported,
                Ok(case(S::InSite)),
            ),
            (
                state(S::AtHome, false),
                MeasureInput::CaseReported,
                Ok(case(S::AtHome)),
            ),
            (
                state(S::AwaitingHospital, false),
                MeasureInput::CaseReported,
                Err(Refusal::AlreadyAwaitingHospital),
            ),
            // A case discharged: a wait for an ambulance ends; a patient leaves hospital.
            (
                state(S::AwaitingHospital, false),
                MeasureInput::CaseDischarged,
                Ok(MeasureTransition {
                    from: S::AwaitingHospital,
                    to: S::Released,
                    at: NOW,
                    leave_room: false,
                    leave_hospital: false,
                    checked_in: false,
                    released: true,
                    event: None,
                }),
            ),
            (
                state(S::Hospitalised, false),
                MeasureInput::CaseDischarged,
                Ok(MeasureTransition {
                    from: S::Hospitalised,
                    to: S::Released,
                    at: NOW,
                    leave_room: false,
                    leave_hospital: true,
                    checked_in: false,
                    released: true,
                    event: None,
                }),
            ),
            (
                state(S::InSite, true),
                MeasureInput::CaseDischarged,
                Err(Refusal::NothingToEnd(S::InSite)),
            ),
        ];
        for (state, input, expected) in rows {
            assert_eq!(
                transition(state, input, NOW),
                expected,
                "{state:?} {input:?}"
            );
        }
    }

    #[test]
    fn work_fits_only_its_states() {
        for status in MeasureStatus::ALL {
            assert_eq!(
                permits(status, MeasureWork::Carer).is_ok(),
                matches!(status, S::Allocated | S::InSite),
                "{status:?}"
            );
            assert_eq!(
                permits(status, MeasureWork::SiteTemperature).is_ok(),
                status == S::InSite
            );
            assert_eq!(
                permits(status, MeasureWork::AtHome).is_ok(),
                status == S::AtHome
            );
        }
    }

    #[test]
    fn refusals_keep_the_words_staff_know() {
        let rows = [
            (
                Refusal::NotAwaitingPlacement(S::Allocated),
                "该人员已分配待转运，不是待安置",
            ),
            (
                Refusal::NoRoomToCheckInto(S::AwaitingPlacement),
                "该人员待安置，没有分配房间，不能入住",
            ),
            (
                Refusal::NoMoreTests(S::Released),
                "该人员已解除，不再录入管控期检测结果",
            ),
            (
                Refusal::NotReleasable(S::Allocated),
                "已分配待转运的人员不能在此解除",
            ),
            (
                Refusal::NotCentralised(S::AtHome),
                "该人员居家管控中，只有集中隔离的人员才安排陪护",
            ),
            (
                Refusal::NotInSite(S::AtHome),
                "该人员居家管控中，不在隔离点内",
            ),
            (
                Refusal::NotAtHome(S::InSite),
                "该人员集中隔离中，不在居家管控中",
            ),
        ];
        for (refusal, words) in rows {
            assert_eq!(refusal.message_zh(), words);
        }
    }
}
