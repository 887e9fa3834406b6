//! A case's state changes (病例状态): [`transition`] decides whether an action on a case is allowed
//! and whether it closes the case (出院, 排除), with the event that tells the other modules.

use crate::person_event;

use super::CaseKind;

crate::coded_enum! {
    /// Where a case stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum CaseStatus {
        /// 在管: under investigation and treatment.
        Active => "active", "在管",
        /// 已出院: discharged from hospital or fangcang (closed).
        Discharged => "discharged", "已出院",
        /// 已排除: a suspected or initial-screen-positive case excluded (closed).
        Excluded => "excluded", "已排除",
    }
}

/// What a change needs to know of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseState {
    pub status: CaseStatus,
    pub kind: CaseKind,
}

/// What may happen to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseInput {
    /// A step that keeps the case open (reported, investigated, isolated, clinical change,
    /// reclassified, infector).
    Edit,
    /// The words of the public bulletin: may be corrected after the case closed.
    PublicSummary,
    /// 出院.
    Discharge,
    /// 排除.
    Exclude,
}

/// The status a case moves to, and for a closing the time and the person event to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseTransition {
    pub from: CaseStatus,
    pub to: CaseStatus,
    pub closed_at: Option<i64>,
    /// `person_event::CASE_DISCHARGED` or `CASE_EXCLUDED`.
    pub event: Option<&'static str>,
}

/// Why an action on a case is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseRefusal {
    /// The case is discharged or excluded.
    Closed,
    /// A confirmed case or an asymptomatic infection is never excluded: it is discharged when cured.
    InfectedCannotBeExcluded,
}

impl CaseRefusal {
    pub fn message_zh(&self) -> &'static str {
        match self {
            CaseRefusal::Closed => "该病例已结案，不能再修改",
            CaseRefusal::InfectedCannotBeExcluded => {
                "确诊病例和无症状感染者不能排除；治愈请选择“出院”"
            }
        }
    }
}

/// Where `input` moves a case in `state`, at `now`.
pub fn transition(
    state: CaseState,
    input: CaseInput,
    now: i64,
) -> Result<CaseTransition, CaseRefusal> {
    let from = state.status;
    if from != CaseStatus::Active && input != CaseInput::PublicSummary {
        return Err(CaseRefusal::Closed);
    }
    let close = |to: CaseStatus, event: &'static str| CaseTransition {
        from,
        to,
        closed_at: Some(now),
        event: Some(event),
    };
    match input {
        CaseInput::Edit | CaseInput::PublicSummary => Ok(CaseTransition {
            from,
            to: from,
            closed_at: None,
            event: None,
        }),
        CaseInput::Discharge => Ok(close(CaseStatus::Discharged, person_event::CASE_DISCHARGED)),
        CaseInput::Exclude => match state.kind {
            CaseKind::Confirmed | CaseKind::Asymptomatic => {
                Err(CaseRefusal::InfectedCannotBeExcluded)
            }
            CaseKind::Suspected | CaseKind::InitialScreenPositive => {
                Ok(close(CaseStatus::Excluded, person_event::CASE_EXCLUDED))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CaseKind::{Asymptomatic, Confirmed, InitialScreenPositive, Suspected};
    use CaseStatus::{Active, Discharged, Excluded};

    #[test]
    fn every_action_on_every_case_has_its_row() {
        let now = 1_000;
        let kept = |status| {
            Ok(CaseTransition {
                from: status,
                to: status,
                closed_at: None,
                event: None,
            })
        };
        let closed = |to, event| {
            Ok(CaseTransition {
                from: Active,
                to,
                closed_at: Some(now),
                event: Some(event),
            })
        };
        let discharged = closed(Discharged, person_event::CASE_DISCHARGED);
        let excluded = closed(Excluded, person_event::CASE_EXCLUDED);
        let rows: Vec<(
            CaseStatus,
            CaseKind,
            CaseInput,
            Result<CaseTransition, CaseRefusal>,
        )> = vec![
            (Active, Confirmed, CaseInput::Edit, kept(Active)),
            (Active, Confirmed, CaseInput::PublicSummary, kept(Active)),
            (Active, Confirmed, CaseInput::Discharge, discharged),
            (Active, Asymptomatic, CaseInput::Discharge, discharged),
            (Active, Suspected, CaseInput::Discharge, discharged),
            (Active, Suspected, CaseInput::Exclude, excluded),
            (Active, InitialScreenPositive, CaseInput::Exclude, excluded),
            (
                Active,
                Confirmed,
                CaseInput::Exclude,
                Err(CaseRefusal::InfectedCannotBeExcluded),
            ),
            (
                Active,
                Asymptomatic,
                CaseInput::Exclude,
                Err(CaseRefusal::InfectedCannotBeExcluded),
            ),
            (
                Discharged,
                Confirmed,
                CaseInput::PublicSummary,
                kept(Discharged),
            ),
            (
                Excluded,
                Suspected,
                CaseInput::PublicSummary,
                kept(Excluded),
            ),
            (
                Discharged,
                Confirmed,
                CaseInput::Edit,
                Err(CaseRefusal::Closed),
            ),
            (
                Discharged,
                Confirmed,
                CaseInput::Discharge,
                Err(CaseRefusal::Closed),
            ),
            (
                Excluded,
                Suspected,
                CaseInput::Exclude,
                Err(CaseRefusal::Closed),
            ),
            (
                Excluded,
                Confirmed,
                CaseInput::Exclude,
                Err(CaseRefusal::Closed),
            ),
        ];
        for (status, kind, input, expected) in rows {
            assert_eq!(
                transition(CaseState { status, kind }, input, now),
                expected,
                "{status:?} {kind:?} {input:?}"
            );
        }
    }
}
