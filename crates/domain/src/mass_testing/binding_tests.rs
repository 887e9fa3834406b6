//! Tests of the binding decision: every rule of `decide` as a row of a table, and a group of scans
//! against the same scans one by one.

use super::*;

const ROUND: i64 = 1;
const OTHER_ROUND: i64 = 2;
const NOW: i64 = 1_000_000;

fn barcode(serial: u64) -> TubeBarcode {
    TubeBarcode::from_serial(serial).unwrap()
}

fn tube(serial: u64, purpose: SamplePurpose, capacity: i64, members: i64) -> Tube {
    Tube {
        barcode: barcode(serial).as_str().to_string(),
        round_id: ROUND,
        site_id: 1,
        table_no: 1,
        region_code: "110101001001".into(),
        purpose,
        capacity,
        members,
        opened_at: 10,
        closed_at: None,
    }
}

fn key(number: &str) -> PersonKey {
    (number.to_string(), "id_card".to_string())
}

/// Round 1 issued serials 1–100, round 2 serials 101–200. Tubes: 5 open pool 2/10, 6 closed
/// full, 7 closed by hand at 3/10, 8 open at table 2, 9 an open recheck tube, 150 of round 2.
/// People: "A" 张三 in the round's region, "B" 李四 outside it, "C" owes rechecks 7 and 3,
/// "D" 王五 was swabbed in round 1 already.
fn state() -> BindingState {
    let mut tubes = vec![
        tube(5, SamplePurpose::Screen, 10, 2),
        Tube {
            closed_at: Some(20),
            ..tube(6, SamplePurpose::Screen, 10, 10)
        },
        Tube {
            closed_at: Some(20),
            ..tube(7, SamplePurpose::Screen, 10, 3)
        },
        Tube {
            table_no: 2,
            ..tube(8, SamplePurpose::Screen, 10, 1)
        },
        tube(9, SamplePurpose::Recheck, 1, 0),
        Tube {
            round_id: OTHER_ROUND,
            ..tube(150, SamplePurpose::Screen, 10, 1)
        },
    ];
    let resident = |id: i64, name: &str, grid: &str| RegisteredPerson {
        id,
        name: name.into(),
        grid_code: grid.into(),
        birth_date: NaiveDate::from_ymd_opt(1980, 1, 31),
    };
    BindingState {
        tubes: tubes.drain(..).map(|t| (t.barcode.clone(), t)).collect(),
        batches: vec![
            TubeBatch {
                round_id: ROUND,
                first_serial: 1,
                last_serial: 100,
            },
            TubeBatch {
                round_id: OTHER_ROUND,
                first_serial: 101,
                last_serial: 200,
            },
        ],
        residents: [
            (key("A"), resident(1, "张三", "110101001001")),
            (key("B"), resident(2, "李四", "120101001001")),
            (key("C"), resident(3, "赵六", "110101001001")),
            (key("D"), resident(4, "王五", "110101001001")),
        ]
        .into_iter()
        .collect(),
        taken: [(
            (key("D"), ROUND, 0),
            SampleTaken {
                tube: "000000000042".into(),
                sampled_at: 30,
            },
        )]
        .into_iter()
        .collect(),
        pending: [(key("C"), vec![7, 3])].into_iter().collect(),
    }
}

fn decide(
    state: &mut BindingState,
    serial: u64,
    purpose: SamplePurpose,
    person: Option<(&str, &str)>,
) -> Decision {
    let tube = barcode(serial);
    let scan = Scan {
        round_id: ROUND,
        round_range: ("110101", "110102"),
        screen_occasion: 0,
        site_id: 1,
        site_region: "110101001",
        table_no: 1,
        tube: &tube,
        new_tube_capacity: 10,
        purpose,
        person: person.map(|(id_number, name)| ScannedPerson {
            id_type: "id_card",
            id_number,
            name,
        }),
        sampled_at: 500,
        infant_cutoff: None,
    };
    state.decide(&scan, NOW)
}

fn bound(
    occasion: i64,
    settles_tasks: Vec<i64>,
    resident: Option<(i64, &str, &str)>,
    outside_area: bool,
    tube: (i64, i64, bool),
) -> Decision {
    let (resident_id, name, grid_code) = match resident {
        Some((id, name, grid)) => (Some(id), name, grid),
        None => (None, "路人甲", "110101001"),
    };
    Decision::Bound(Binding {
        occasion,
        settles_tasks,
        resident_id,
        name: name.into(),
        grid_code: grid_code.into(),
        outside_area,
        tube_members: tube.0,
        capacity: tube.1,
        tube_closed: tube.2,
        joins_target: false,
    })
}

/// (what the row shows, tube serial, purpose, (ID number, typed name) or a close, decision).
type Row<'a> = (
    &'a str,
    u64,
    SamplePurpose,
    Option<(&'a str, &'a str)>,
    Decision,
);

#[test]
fn each_scan_is_decided_by_the_table() {
    use SamplePurpose::{Recheck, Screen};
    let zhang = Some((1, "张三", "110101001001"));
    let rows: Vec<Row> = vec![
        (
            "a resident joins an open pool",
            5,
            Screen,
            Some(("A", "")),
            bound(0, vec![], zhang, false, (3, 10, false)),
        ),
        (
            "the name typed may repeat the register's",
            5,
            Screen,
            Some(("A", " 张三 ")),
            bound(0, vec![], zhang, false, (3, 10, false)),
        ),
        (
            "a resident from outside the round's region is flagged, not refused",
            5,
            Screen,
            Some(("B", "")),
            bound(
                0,
                vec![],
                Some((2, "李四", "120101001001")),
                true,
                (3, 10, false),
            ),
        ),
        (
            "someone outside the register is bound under the typed name and the site's region",
            5,
            Screen,
            Some(("X", " 路人甲 ")),
            bound(0, vec![], None, false, (3, 10, false)),
        ),
        (
            "a new barcode of this round's batch opens a pool",
            50,
            Screen,
            Some(("A", "")),
            bound(0, vec![], zhang, false, (1, 10, false)),
        ),
        (
            "a recheck swab opens a single tube, closed at once, and settles every task owed",
            51,
            Recheck,
            Some(("C", "")),
            bound(
                3,
                vec![7, 3],
                Some((3, "赵六", "110101001001")),
                false,
                (1, 1, true),
            ),
        ),
        (
            "a barcode never issued",
            250,
            Screen,
            Some(("A", "")),
            Decision::Rejected(ScanRejection::UnknownTube),
        ),
        (
            "a new barcode of another round's batch",
            120,
            Screen,
            Some(("A", "")),
            Decision::Rejected(ScanRejection::TubeOfOtherRound),
        ),
        (
            "a tube of another round",
            150,
            Screen,
            Some(("A", "")),
            Decision::Rejected(ScanRejection::TubeOfOtherRound),
        ),
        (
            "a tube opened at another table",
            8,
            Screen,
            Some(("A", "")),
            Decision::Rejected(ScanRejection::TubeAtOtherTable),
        ),
        (
            "a full tube",
            6,
            Screen,
            Some(("A", "")),
            Decision::Rejected(ScanRejection::TubeFull { capacity: 10 }),
        ),
        (
            "a tube closed by hand",
            7,
            Screen,
            Some(("A", "")),
            Decision::Rejected(ScanRejection::TubeClosed),
        ),
        (
            "a recheck into a pool",
            5,
            Recheck,
            Some(("C", "")),
            Decision::Rejected(ScanRejection::TubePurposeMismatch {
                tube_purpose: Screen,
            }),
        ),
        (
            "a screening swab into a recheck tube",
            9,
            Screen,
            Some(("A", "")),
            Decision::Rejected(ScanRejection::TubePurposeMismatch {
                tube_purpose: Recheck,
            }),
        ),
        (
            "someone outside the register without a name",
            5,
            Screen,
            Some(("X", "  ")),
            Decision::Rejected(ScanRejection::NameMissing),
        ),
        (
            "a name other than the register's",
            5,
            Screen,
            Some(("A", "张四")),
            Decision::Rejected(ScanRejection::NameMismatch {
                registered: "张*".into(),
            }),
        ),
        (
            "screening someone who owes a recheck",
            5,
            Screen,
            Some(("C", "")),
            Decision::Rejected(ScanRejection::RecheckPending),
        ),
        (
            "a recheck for someone who owes none",
            51,
            Recheck,
            Some(("A", "")),
            Decision::Rejected(ScanRejection::NoRecheckTask),
        ),
        (
            "a second screening swab in the same round",
            5,
            Screen,
            Some(("D", "")),
            Decision::Rejected(ScanRejection::AlreadySampled {
                tube: "000000000042".into(),
                sampled_at: 30,
            }),
        ),
        (
            "closing an open tube",
            5,
            Screen,
            None,
            Decision::Closed {
                tube_members: 2,
                newly_closed: true,
            },
        ),
        (
            "closing a closed tube again writes nothing",
            7,
            Screen,
            None,
            Decision::Closed {
                tube_members: 3,
                newly_closed: false,
            },
        ),
        (
            "closing a tube nobody was bound to",
            50,
            Screen,
            None,
            Decision::Rejected(ScanRejection::NothingToClose),
        ),
        (
            "closing another round's tube",
            150,
            Screen,
            None,
            Decision::Rejected(ScanRejection::TubeOfOtherRound),
        ),
    ];
    for (what, serial, purpose, person, expected) in rows {
        let mut state = state();
        assert_eq!(
            decide(&mut state, serial, purpose, person),
            expected,
            "{what}"
        );
    }
}

#[test]
fn a_group_behaves_like_the_same_scans_one_by_one() {
    let mut state = state();
    // The pool fills: members 2 → 10, the tenth closes it, the eleventh is refused as full.
    for n in 0..8 {
        let number = format!("P{n}");
        let decision = decide(
            &mut state,
            5,
            SamplePurpose::Screen,
            Some((&number, "路人甲")),
        );
        assert_eq!(
            decision,
            bound(0, vec![], None, false, (3 + n, 10, n == 7)),
            "swab {n}"
        );
    }
    assert_eq!(state.tubes[barcode(5).as_str()].closed_at, Some(NOW));
    assert_eq!(
        decide(&mut state, 5, SamplePurpose::Screen, Some(("A", ""))),
        Decision::Rejected(ScanRejection::TubeFull { capacity: 10 })
    );
    // A binding counts as taken for the rest of the group.
    assert!(matches!(
        decide(&mut state, 50, SamplePurpose::Screen, Some(("A", ""))),
        Decision::Bound(_)
    ));
    assert_eq!(
        decide(&mut state, 51, SamplePurpose::Screen, Some(("A", ""))),
        Decision::Rejected(ScanRejection::AlreadySampled {
            tube: barcode(50).as_str().to_string(),
            sampled_at: 500,
        })
    );
    // A settled recheck is no longer owed: a second recheck swab has no task, screening is open.
    assert!(matches!(
        decide(&mut state, 52, SamplePurpose::Recheck, Some(("C", ""))),
        Decision::Bound(_)
    ));
    assert_eq!(
        decide(&mut state, 53, SamplePurpose::Recheck, Some(("C", ""))),
        Decision::Rejected(ScanRejection::NoRecheckTask)
    );
    assert!(matches!(
        decide(&mut state, 54, SamplePurpose::Screen, Some(("C", ""))),
        Decision::Bound(_)
    ));
}

#[test]
fn a_screened_infant_the_round_left_out_joins_its_target() {
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
    let cutoff = date(2021, 11, 20); // a round opened 2022-11-20 leaving out the under-12-months
    let mut state = state();
    for (key_of, born) in [
        ("baby", date(2022, 3, 1)),
        ("on the day", date(2021, 11, 20)),
        ("no birth date", None),
    ] {
        state.residents.insert(
            key(key_of),
            RegisteredPerson {
                id: 10,
                name: "小宝".into(),
                grid_code: "110101001001".into(),
                birth_date: born,
            },
        );
    }
    state.pending.insert(key("baby owes"), vec![11]);
    state.residents.insert(
        key("baby owes"),
        RegisteredPerson {
            id: 11,
            name: "小贝".into(),
            grid_code: "110101001001".into(),
            birth_date: date(2022, 5, 1),
        },
    );
    let joins = |state: &mut BindingState, serial, purpose, who: &str, cutoff| {
        let tube = barcode(serial);
        let scan = Scan {
            round_id: ROUND,
            round_range: ("110101", "110102"),
            screen_occasion: 0,
            site_id: 1,
            site_region: "110101001",
            table_no: 1,
            tube: &tube,
            new_tube_capacity: 10,
            purpose,
            person: Some(ScannedPerson {
                id_type: "id_card",
                id_number: who,
                name: if who == "walk-in" { "路人甲" } else { "" },
            }),
            sampled_at: 500,
            infant_cutoff: cutoff,
        };
        match state.decide(&scan, NOW) {
            Decision::Bound(binding) => binding.joins_target,
            other => panic!("{who}: {other:?}"),
        }
    };
    use SamplePurpose::{Recheck, Screen};
    // (who, tube, purpose, the round's cutoff, joins the target)
    let table = [
        ("baby", 60, Screen, cutoff, true),
        ("on the day", 61, Screen, cutoff, false),
        ("no birth date", 62, Screen, cutoff, false),
        ("A", 63, Screen, cutoff, false),
        ("walk-in", 64, Screen, cutoff, false),
        ("baby owes", 9, Recheck, cutoff, false),
    ];
    for (who, serial, purpose, cutoff, expected) in table {
        assert_eq!(
            joins(&mut state, serial, purpose, who, cutoff),
            expected,
            "{who}"
        );
    }
    // A round that leaves nobody out: a baby is in the target already.
    let mut state = self::state();
    state.residents.insert(
        key("baby"),
        RegisteredPerson {
            id: 10,
            name: "小宝".into(),
            grid_code: "110101001001".into(),
            birth_date: date(2022, 3, 1),
        },
    );
    assert!(!joins(&mut state, 60, Screen, "baby", None));
}

#[test]
fn debug_masks_the_people() {
    let mut state = state();
    let decision = decide(&mut state, 5, SamplePurpose::Screen, Some(("A", "")));
    let text = format!("{decision:?} {:?}", state.residents[&key("A")]);
    assert!(!text.contains("张三"), "{text}");
}

#[test]
fn sampling_codes_parse_back_and_garbage_is_refused() {
    let text = SamplingCode::format(42, "0a1b2c3d4e");
    assert_eq!(text, "FKS1-42-0A1B2C3D4E");
    assert!(SamplingCode::looks_like(&text.to_lowercase()));
    assert!(!SamplingCode::looks_like("130109199001011234"));
    assert_eq!(
        SamplingCode::parse(&text),
        Ok(SamplingCode {
            resident_id: 42,
            tag: "0a1b2c3d4e".into()
        })
    );
    for bad in [
        "FKS1-42",
        "FKS1-x-0a1b2c3d4e",
        "FKS1-42-0a1b",
        "FKS1-42-zzzzzzzzzz",
        "FKS1-0-0a1b2c3d4e",
    ] {
        assert!(
            SamplingCode::parse(bad).unwrap_err().contains("采样码"),
            "{bad}"
        );
    }
}
