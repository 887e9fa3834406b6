//! What a tube's lab result sets off (§5.2, §5.4): the person event each person in the tube gets,
//! the recheck they then owe, and the status a recheck tube's task takes.

use crate::lab_result::TestResult;

use super::*;

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
        SinglePositive => "single_positive", "单管初筛阳性复核",
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
        // A single screening tube names the person, but only as an initial-screen positive
        // (初筛阳性): a single-tube recheck confirms it or, negative, ends it.
        (TestResult::Positive, SamplePurpose::Screen) => (
            Some(ResultEvent::SinglePositive),
            Some(RecheckReason::SinglePositive),
        ),
        (TestResult::Positive, SamplePurpose::Recheck) => (Some(ResultEvent::SinglePositive), None),
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

// Not a `coded_enum!`: a delay class is computed and shown, never stored or parsed, so it has no code.
/// Result-delay classes of the turnaround rules (§5.3: fever clinics 6 h, outpatients 12 h,
/// screening 24 h): a tube still without a result is counted in the highest class it has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum ResultDelay {
    Over6h,
    Over12h,
    Over24h,
}

impl ResultDelay {
    pub const ALL: [ResultDelay; 3] = [
        ResultDelay::Over6h,
        ResultDelay::Over12h,
        ResultDelay::Over24h,
    ];

    pub fn hours(self) -> i64 {
        match self {
            ResultDelay::Over6h => 6,
            ResultDelay::Over12h => 12,
            ResultDelay::Over24h => 24,
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ResultDelay::Over6h => "超6小时",
            ResultDelay::Over12h => "超12小时",
            ResultDelay::Over24h => "超24小时",
        }
    }

    /// The class of a tube sampled `seconds_waiting` seconds ago with no result.
    pub fn of(seconds_waiting: i64) -> Option<ResultDelay> {
        Self::ALL
            .into_iter()
            .rev()
            .find(|class| seconds_waiting > class.hours() * 3600)
    }
}

/// Why a lab's result row was not applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ResultRejection {
    UnknownTube,
    /// The tube already has another result; a correction needs a person, not a re-upload.
    Conflict {
        existing: String,
        new: String,
    },
    OutsideJurisdiction,
    /// The tube is still open in fangkong: its site may have bindings not yet uploaded (an offline
    /// table), and a result now would leave those people without one.
    TubeOpen,
}

impl ResultRejection {
    pub fn kind(&self) -> &'static str {
        match self {
            ResultRejection::UnknownTube => "unknown_tube",
            ResultRejection::Conflict { .. } => "conflict",
            ResultRejection::OutsideJurisdiction => "outside",
            ResultRejection::TubeOpen => "not_closed",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            ResultRejection::UnknownTube => {
                "系统中没有这个管码（没有任何人绑定到这支试管）；请核对管码是否录错".into()
            }
            ResultRejection::Conflict { existing, new } => {
                let label = |code: &str| {
                    crate::lab_result::TestResult::from_code(code)
                        .map_or_else(|| code.to_string(), |r| r.label_zh().to_string())
                };
                format!(
                    "这支试管已有结果“{}”，本次上传为“{}”，两者不一致，未覆盖；如需更正请联系指挥部",
                    label(existing),
                    label(new)
                )
            }
            ResultRejection::OutsideJurisdiction => {
                "这支试管的采样点不在本检测机构的服务范围内".into()
            }
            ResultRejection::TubeOpen => {
                "这支试管在系统中还没有封管（采样台可能还有未上传的扫码），结果暂未采用；请采样点封管后重新上传这一行".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (result, tube purpose, capacity, event, recheck owed, recheck task status).
    type Row = (
        TestResult,
        SamplePurpose,
        i64,
        Option<ResultEvent>,
        Option<RecheckReason>,
        Option<RecheckStatus>,
    );

    #[test]
    fn every_result_purpose_and_capacity_has_its_row() {
        use RecheckReason as R;
        use ResultEvent as E;
        use SamplePurpose::{Recheck, Screen};
        use TestResult::{Invalid, Negative, Positive};
        #[rustfmt::skip]
        let rows: [Row; 12] = [
            (Positive, Screen, 10, Some(E::PoolPositive), Some(R::PoolPositive), None),
            (Positive, Screen, 2, Some(E::PoolPositive), Some(R::PoolPositive), None),
            (Positive, Screen, 1, Some(E::SinglePositive), Some(R::SinglePositive), None),
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

    #[test]
    fn result_delays_are_classed_by_the_highest_limit_passed() {
        assert_eq!(ResultDelay::of(5 * 3600), None);
        assert_eq!(ResultDelay::of(6 * 3600 + 1), Some(ResultDelay::Over6h));
        assert_eq!(ResultDelay::of(13 * 3600), Some(ResultDelay::Over12h));
        assert_eq!(ResultDelay::of(30 * 3600), Some(ResultDelay::Over24h));
    }
}
