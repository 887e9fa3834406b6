//! What a tube's lab result sets off (§5.2, §5.4): the person event each person in the tube gets,
//! the recheck they then owe, and the status a recheck tube's task takes.

use crate::lab_result::TestResult;

use super::SamplePurpose;

crate::coded_enum! {
    /// The mass-testing person events a result writes (`person_events.kind`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ResultEvent {
        /// A pooled screening tube tested positive: everyone in it must be swabbed again singly.
        PoolPositive => "pool_positive", "混采阳性：须单管复采",
        /// A single tube (a single screening tube or a recheck) tested positive.
        SinglePositive => "single_positive", "单管阳性",
        /// A recheck came back negative: the pool's suspicion is lifted for this person.
        RecheckNegative => "recheck_negative", "复核阴性，已解除",
    }
}

crate::coded_enum! {
    /// Why a person owes a single-tube recheck (`recheck_tasks.reason`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RecheckReason {
        PoolPositive => "pool_positive", "混采阳性复核",
        Invalid => "invalid", "结果无效重采",
        AntigenPositive => "antigen_positive", "抗原阳性核酸复核",
    }
}

crate::coded_enum! {
    /// Where a recheck task is (`recheck_tasks.status`): owed, swabbed, then the recheck's result.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RecheckStatus {
        Pending => "pending", "待复采",
        Sampled => "sampled", "已复采待结果",
        Negative => "negative", "复核阴性（已解除）",
        Positive => "positive", "复核阳性",
        Invalid => "invalid", "复采无效",
    }
}

impl RecheckStatus {
    /// The status a swabbed recheck task takes from its tube's result.
    pub fn of_result(result: TestResult) -> RecheckStatus {
        match result {
            TestResult::Negative => RecheckStatus::Negative,
            TestResult::Positive => RecheckStatus::Positive,
            TestResult::Invalid => RecheckStatus::Invalid,
        }
    }
}

/// What one tube's result sets off for the tube and for each person in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consequence {
    /// The event each person in the tube gets.
    pub event: Option<ResultEvent>,
    /// The recheck each person in the tube then owes.
    pub recheck: Option<RecheckReason>,
    /// A recheck tube's result closes its swabbed tasks with this status.
    pub settles_rechecks: Option<RecheckStatus>,
}

impl Consequence {
    /// Nothing follows (a negative screening tube): the store need not even read the tube's people.
    pub fn is_nothing(&self) -> bool {
        self.event.is_none() && self.recheck.is_none() && self.settles_rechecks.is_none()
    }
}

/// What a result of a tube of `purpose` holding up to `capacity` swabs sets off.
///
/// A positive pool means nobody in it is known positive yet: each owes a single-tube recheck
/// (§5.2). A positive single tube names the person. An invalid tube must be swabbed again,
/// whatever it was. A recheck's result also closes the task it was swabbed for.
pub fn consequence(result: TestResult, purpose: SamplePurpose, capacity: i64) -> Consequence {
    let (event, recheck) = match (result, purpose) {
        (TestResult::Positive, SamplePurpose::Screen) if capacity > 1 => (
            Some(ResultEvent::PoolPositive),
            Some(RecheckReason::PoolPositive),
        ),
        (TestResult::Positive, _) => (Some(ResultEvent::SinglePositive), None),
        (TestResult::Negative, SamplePurpose::Recheck) => {
            (Some(ResultEvent::RecheckNegative), None)
        }
        (TestResult::Negative, SamplePurpose::Screen) => (None, None),
        (TestResult::Invalid, _) => (None, Some(RecheckReason::Invalid)),
    };
    let settles_rechecks =
        (purpose == SamplePurpose::Recheck).then(|| RecheckStatus::of_result(result));
    Consequence {
        event,
        recheck,
        settles_rechecks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_result_purpose_and_capacity_has_its_row() {
        use RecheckReason as R;
        use ResultEvent as E;
        use SamplePurpose::{Recheck, Screen};
        use TestResult::{Invalid, Negative, Positive};
        #[rustfmt::skip]
        let rows: [(TestResult, SamplePurpose, i64, Option<E>, Option<R>, Option<RecheckStatus>); 12] = [
            (Positive, Screen, 10, Some(E::PoolPositive), Some(R::PoolPositive), None),
            (Positive, Screen, 2, Some(E::PoolPositive), Some(R::PoolPositive), None),
            (Positive, Screen, 1, Some(E::SinglePositive), None, None),
            (Positive, Recheck, 1, Some(E::SinglePositive), None, Some(RecheckStatus::Positive)),
            (Negative, Screen, 10, None, None, None),
            (Negative, Screen, 1, None, None, None),
            (Negative, Recheck, 1, Some(E::RecheckNegative), None, Some(RecheckStatus::Negative)),
            (Invalid, Screen, 10, None, Some(R::Invalid), None),
            (Invalid, Screen, 1, None, Some(R::Invalid), None),
            (Invalid, Recheck, 1, None, Some(R::Invalid), Some(RecheckStatus::Invalid)),
            // A recheck tube holds one swab; a larger capacity changes nothing about it.
            (Positive, Recheck, 5, Some(E::SinglePositive), None, Some(RecheckStatus::Positive)),
            (Negative, Recheck, 5, Some(E::RecheckNegative), None, Some(RecheckStatus::Negative)),
        ];
        for (result, purpose, capacity, event, recheck, settles_rechecks) in rows {
            assert_eq!(
                consequence(result, purpose, capacity),
                Consequence {
                    event,
                    recheck,
                    settles_rechecks
                },
                "{result:?} {purpose:?} capacity {capacity}"
            );
        }
    }

    #[test]
    fn only_a_negative_screening_tube_sets_off_nothing() {
        for result in TestResult::ALL {
            for purpose in SamplePurpose::ALL {
                for capacity in [1, 10] {
                    assert_eq!(
                        consequence(result, purpose, capacity).is_nothing(),
                        result == TestResult::Negative && purpose == SamplePurpose::Screen,
                        "{result:?} {purpose:?} {capacity}"
                    );
                }
            }
        }
    }

    #[test]
    fn codes_are_the_stored_ones() {
        assert_eq!(ResultEvent::PoolPositive.code(), "pool_positive");
        assert_eq!(ResultEvent::SinglePositive.code(), "single_positive");
        assert_eq!(ResultEvent::RecheckNegative.code(), "recheck_negative");
        assert_eq!(RecheckReason::Invalid.code(), "invalid");
        for result in TestResult::ALL {
            assert_eq!(RecheckStatus::of_result(result).code(), result.code());
        }
    }
}
