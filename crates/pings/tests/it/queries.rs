//! The kernels against the by-the-book references on a small generated set: rows identical.

use crate::common;

use fangkong_pings::PingsError;
use fangkong_pings::fence::{FenceRule, HomeFence, fence_breaches};
use fangkong_pings::visitors::{AreaWindow, risk_area_visitors};

#[test]
fn the_generated_set_has_the_analytics_shape() {
    let s = common::small_set();
    let days = 8.0;
    let per_person_day = s.pings.len() as f64 / (3_000.0 * days);
    assert!(
        (9.0..11.0).contains(&per_person_day),
        "{per_person_day} pings per person-day"
    );
    assert_eq!(s.lists.risk_area.cells.len(), 20);
    assert!(!s.lists.cases.is_empty());
    assert_eq!(
        s.lists.fences.len(),
        150,
        "half of the 10 % sample is isolated"
    );
    // A fence window is 7 days and starts at a Beijing midnight.
    for f in &s.lists.fences {
        assert_eq!(f.to - f.from, 7 * 86_400);
        assert_eq!(fangkong_pings::layout::day_start(f.from), f.from);
    }
}

#[test]
fn risk_area_visitors_equal_the_reference() {
    let s = common::small_set();
    let (rows, stats) = risk_area_visitors(&s.dir, &s.lists.risk_area).expect("visitors");
    let want = common::visitors_reference(&s.pings, &s.lists.risk_area);
    assert!(!want.is_empty(), "the risk area has visitors");
    assert_eq!(rows, want);
    assert!(stats.pings_decoded > 0);
    // The window is the last 5 days: the first 3 days' files are not opened.
    assert_eq!(stats.files, 5);
}

#[test]
fn strict_fence_equals_analytics_q3() {
    let s = common::small_set();
    let (rows, stats) = fence_breaches(&s.dir, &s.lists.fences, &FenceRule::STRICT).expect("fence");
    let want = common::fence_reference(&s.pings, &s.lists.fences, &FenceRule::STRICT);
    assert!(!want.is_empty(), "some breachers were seen out");
    assert_eq!(rows, want);
    assert!(stats.row_groups_read > 0);
    // By construction only breachers (the first 10 % of the list) are ever out.
    let breachers: Vec<i64> = s
        .lists
        .fences
        .iter()
        .take(15)
        .map(|f| f.person_id)
        .collect();
    assert!(rows.iter().all(|r| breachers.contains(&r.person_id)));
}

#[test]
fn tolerant_fences_equal_the_reference() {
    let s = common::small_set();
    // Fences around cells people really pass through, so tolerance matters: everyone of the
    // sample fenced at the cell they were first seen in, over the whole period.
    let mut fences: Vec<HomeFence> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for p in &s.pings {
        if p.person_id % 7 == 0 && seen.insert(p.person_id) {
            fences.push(HomeFence {
                person_id: p.person_id,
                home_cell: p.cell_id,
                from: s.lists.risk_area.from - 86_400,
                to: s.lists.risk_area.to,
            });
        }
    }
    assert!(fences.len() > 100);
    for rule in [
        FenceRule::STRICT,
        FenceRule::DEFAULT,
        FenceRule {
            min_out_pings: 3,
            min_out_seconds: 0,
            neighbours_are_home: false,
        },
        FenceRule {
            min_out_pings: 99,
            min_out_seconds: 3_600,
            neighbours_are_home: false,
        },
        FenceRule {
            min_out_pings: 1,
            min_out_seconds: 0,
            neighbours_are_home: true,
        },
    ] {
        let (rows, _) = fence_breaches(&s.dir, &fences, &rule).expect("fence");
        let want = common::fence_reference(&s.pings, &fences, &rule);
        assert!(!want.is_empty(), "{rule:?} finds breaches");
        assert_eq!(rows, want, "{rule:?}");
    }
    // A tolerance never adds rows or pings.
    let (strict, _) = fence_breaches(&s.dir, &fences, &FenceRule::STRICT).expect("strict");
    let (tolerant, _) = fence_breaches(&s.dir, &fences, &FenceRule::DEFAULT).expect("default");
    assert!(tolerant.len() < strict.len());
}

#[test]
fn an_area_with_no_cells_or_no_window_is_refused_in_words() {
    let s = common::small_set();
    let empty = AreaWindow {
        cells: vec![],
        from: 0,
        to: 10,
    };
    match risk_area_visitors(&s.dir, &empty) {
        Err(PingsError::Invalid(why)) => assert!(why.contains("没有划定任何网格"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let backwards = AreaWindow {
        cells: vec![1],
        from: 10,
        to: 10,
    };
    match risk_area_visitors(&s.dir, &backwards) {
        Err(PingsError::Invalid(why)) => assert!(why.contains("时间窗口为空"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let bad_fence = [HomeFence {
        person_id: 1,
        home_cell: 1,
        from: 5,
        to: 5,
    }];
    match fence_breaches(&s.dir, &bad_fence, &FenceRule::STRICT) {
        Err(PingsError::Invalid(why)) => assert!(why.contains("第 1 条"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn lists_round_trip_through_their_csv_files() {
    let s = common::small_set();
    let tmp = tempfile::tempdir().expect("tmp");
    fangkong_pings::synth::write_lists(&s.lists, tmp.path()).expect("write lists");
    let back = fangkong_pings::synth::read_lists(tmp.path()).expect("read lists");
    assert_eq!(back, s.lists);
    let head = std::fs::read_to_string(tmp.path().join("fences.csv")).expect("fences");
    assert!(head.starts_with("person_id,home_cell,from_ts,to_ts\n"));
}

#[test]
fn generation_is_deterministic_by_seed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let plan = fangkong_pings::synth::SynthPlan {
        people: 500,
        days: 2,
        seed: 7,
        start: fangkong_pings::synth::SynthPlan::START,
    };
    let a = fangkong_pings::synth::generate(&plan, &tmp.path().join("a")).expect("a");
    let b = fangkong_pings::synth::generate(&plan, &tmp.path().join("b")).expect("b");
    assert_eq!(a, b);
    for day in ["pings-2020-12-20.parquet", "pings-2020-12-21.parquet"] {
        let pa = fangkong_pings::layout::read_all(&tmp.path().join("a").join(day)).expect("read a");
        let pb = fangkong_pings::layout::read_all(&tmp.path().join("b").join(day)).expect("read b");
        assert!(!pa.is_empty());
        assert_eq!(pa, pb);
    }
    let other = fangkong_pings::synth::SynthPlan { seed: 8, ..plan };
    let c = fangkong_pings::synth::generate(&other, &tmp.path().join("c")).expect("c");
    assert_ne!(a.cases, c.cases);
}
